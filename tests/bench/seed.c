/*
 * seed.c: a database of n accounts and n tokens, fast: acctd creates the
 * schema on an empty database, then SQLite fills it in one transaction
 * with realistic rows (one real PHC string for all, real SHA-256 token
 * digests), and acctd is started on it afterwards.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sha2.h>
#include <sqlite3.h>

#include "bench.h"

static uint64_t
mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

void
seed_username(uint32_t i, char out[16])
{
	snprintf(out, 16, "user%07" PRIu32, i);
}

/* Bijective mixes of distinct inputs: ids never collide. */
static void
account_id(uint32_t i, char out[33])
{
	snprintf(out, 33, "%016" PRIx64 "%016" PRIx64, mix(i),
	    mix(i | UINT64_C(1) << 40));
}

static void
token_parts(uint32_t i, char id[17], char secret[65])
{
	uint64_t base = (UINT64_C(2) << 40) + 4 * (uint64_t)i;

	snprintf(id, 17, "%016" PRIx64, mix(i | UINT64_C(3) << 40));
	snprintf(secret, 65, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64
	    "%016" PRIx64, mix(base), mix(base + 1), mix(base + 2),
	    mix(base + 3));
}

void
seed_token(uint32_t i, char out[96])
{
	char id[17], secret[65];

	token_parts(i, id, secret);
	snprintf(out, 96, "%s_%s", id, secret);
}

static int
exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	bench_log("seed: %s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
	return -1;
}

static int
add_account(sqlite3_stmt *st, uint32_t i, const char *phc, int64_t now)
{
	char id[33], user[16], email[64], name[32];

	account_id(i, id);
	seed_username(i, user);
	snprintf(email, sizeof(email), "%s@example.org", user);
	snprintf(name, sizeof(name), "Bench User %" PRIu32, i);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, email, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, phc, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* A session token; last used now, so checking it writes nothing. */
static int
add_token(sqlite3_stmt *st, uint32_t i, int64_t now)
{
	char id[17], secret[65], owner[33];
	char digest[SHA256_DIGEST_STRING_LENGTH];

	token_parts(i, id, secret);
	account_id(i, owner);
	SHA256Data((const uint8_t *)secret, strlen(secret), digest);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, digest, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
fill(sqlite3 *db, uint32_t n, const char *phc)
{
	sqlite3_stmt *a = NULL, *t = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc = -1;

	if (sqlite3_prepare_v2(db, "INSERT INTO accounts (id, username, "
	    "display_name, email, password_hash, created_at, updated_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", -1, &a, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO tokens (id, type, account_id, "
	    "secret_sha256, name, scope, created_at, created_by_uid, "
	    "last_used_at) VALUES (?1, 'session', ?2, ?3, 'bench', '*', ?4, "
	    "0, ?4)", -1, &t, NULL) != SQLITE_OK) {
		bench_log("seed: %s", sqlite3_errmsg(db));
		goto out;
	}
	for (uint32_t i = 0; i < n; i++)
		if (add_account(a, i, phc, now) == -1 ||
		    add_token(t, i, now) == -1) {
			bench_log("seed: row %" PRIu32 ": %s", i,
			    sqlite3_errmsg(db));
			goto out;
		}
	rc = 0;
out:
	sqlite3_finalize(a);
	sqlite3_finalize(t);
	return rc;
}

static int
bulk_insert(const char *path, uint32_t n, const char *phc)
{
	sqlite3 *db;
	int rc = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		bench_log("seed: %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	/* Built once, then synced: no journal needed while filling. */
	if (exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
	    "PRAGMA cache_size = -2000000; BEGIN") == 0 &&
	    fill(db, n, phc) == 0 && exec(db, "COMMIT") == 0 &&
	    exec(db, "PRAGMA journal_mode = WAL") == 0)
		rc = 0;
	sqlite3_close(db);
	if (rc == 0) {
		int fd = open(path, O_RDONLY);
		if (fd == -1 || fsync(fd) == -1)
			rc = -1;
		if (fd != -1)
			close(fd);
	}
	return rc;
}

int
seed_db(struct bd *d, uint32_t n, const char *phc, double *secs)
{
	double t0 = now_s();

	if (bd_start(d) == -1 || bd_stop(d) == -1 ||
	    bulk_insert(d->db, n, phc) == -1)
		return -1;
	*secs = now_s() - t0;
	return 0;
}

/* Writing as many bytes as the database holds, and syncing them. */
double
seed_floor(const char *dir, uint64_t bytes)
{
	static char buf[1 << 20];
	char path[128];
	double t0 = now_s();
	int fd;

	snprintf(path, sizeof(path), "%s/floor", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return 0;
	memset(buf, 0x5a, sizeof(buf));
	for (uint64_t left = bytes; left > 0;) {
		size_t k = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		if (write(fd, buf, k) != (ssize_t)k)
			break;
		left -= k;
	}
	fsync(fd);
	close(fd);
	unlink(path);
	return now_s() - t0;
}

/*
 * The floor of a login's write: one small row committed per
 * transaction, in WAL with synchronous=FULL as acctd writes, on the
 * same disk. Commits per second over secs.
 */
double
commit_floor(const char *dir, double secs, unsigned *count)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char path[128];
	double t0, t = 0;
	unsigned k = 0;

	*count = 0;
	snprintf(path, sizeof(path), "%s/floor.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK || exec(db, "PRAGMA "
	    "journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t "
	    "(id INTEGER PRIMARY KEY, at INTEGER, what TEXT)") == -1 ||
	    sqlite3_prepare_v2(db, "INSERT INTO t (at, what) VALUES (?1, "
	    "'a login of about this size')", -1, &st, NULL) != SQLITE_OK)
		goto out;
	t0 = now_s();
	while ((t = now_s()) - t0 < secs) {
		sqlite3_bind_int64(st, 1, (int64_t)t);
		if (exec(db, "BEGIN IMMEDIATE") == -1 ||
		    sqlite3_step(st) != SQLITE_DONE || exec(db, "COMMIT") == -1)
			break;
		sqlite3_reset(st);
		k++;
	}
	*count = k;
	t -= t0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	snprintf(path, sizeof(path), "%s/floor.db", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/floor.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/floor.db-shm", dir);
	unlink(path);
	return k > 0 && t > 0 ? k / t : 0;
}
