/*
 * db.c: the SQLite connections, their pragmas, the schema migrations,
 * and typed statements. One connection writes, under db_lock(); a small
 * pool of read-only ones serves reads beside it (WAL lets readers run
 * while the writer commits), each lent to one thread between db_read()
 * and db_read_end(). SQLite's result codes never leave this file.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "acctd.h"

/*
 * Prepared statements, kept per connection: compiling the SQL costs
 * several times more than running acctd's usual one-row queries. Keyed
 * by the address of the SQL text (acctd's SQL are literals), checked
 * against the text. A statement in use is lent to no one else;
 * release() resets it.
 */
#define CACHE_SLOTS	64

struct cached {
	const char	*sql;
	sqlite3_stmt	*st;
	bool		 busy;
};

/* A connection and what belongs to it. */
struct dbc {
	sqlite3		*db;
	sqlite3_stmt	*rollback_st;	/* see rollback() */
	bool		 in_txn;	/* between db_begin*() and db_end() */
	bool		 reader;	/* of the pool: query_only */
	bool		 held;		/* a reader's, kept open: see db_read() */
	uint64_t	 gen;		/* write_gen when it was opened */
	unsigned	 cache_next;	/* the slot replaced next when full */
	struct cached	 cache[CACHE_SLOTS];
};

static struct dbc writer;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int claim_fd = -1;	/* the lock on DB.lock, held until exit */

/* The readers: a stack of the free ones, taken and given back whole. */
#define READERS_MIN	4
#define READERS_MAX	16
static struct dbc *readers;
static int *idle;		/* indices into readers */
static int nreaders, nidle;
static bool pool_closed;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_free = PTHREAD_COND_INITIALIZER;

/* This thread's: whether it holds db_lock(), and its reader. */
static _Thread_local bool i_hold_lock;
static _Thread_local struct dbc *my_reader;
static _Thread_local unsigned my_reads;	/* db_read() depth */
/* Bumped as db_lock() is given back: whatever it covered is committed. */
static _Atomic uint64_t write_gen;

static int	rollback(struct dbc *c);
static int	exec_plain(struct dbc *c, const char *sql);

/*
 * Migrations, applied in order; PRAGMA user_version counts those done.
 * Never edit one that has shipped: append a new one.
 */
static const char *const migrations[] = {
	/* 1: accounts */
	"CREATE TABLE accounts ("
	" id TEXT PRIMARY KEY,"
	" username TEXT NOT NULL,"
	" display_name TEXT NOT NULL DEFAULT '',"
	" email TEXT,"
	" role TEXT NOT NULL DEFAULT 'user',"
	" super_admin INTEGER NOT NULL DEFAULT 0,"
	" login_allowed INTEGER NOT NULL DEFAULT 1,"
	" webdav INTEGER NOT NULL DEFAULT 0,"
	" upload_path TEXT NOT NULL DEFAULT '',"
	" auth_provider TEXT NOT NULL DEFAULT 'default',"
	" auth_id TEXT NOT NULL DEFAULT '',"
	" totp_enabled INTEGER NOT NULL DEFAULT 0,"
	" password_hash TEXT,"
	" activated INTEGER NOT NULL DEFAULT 1,"
	" failed_logins INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" last_login_at INTEGER,"
	" deleted_at INTEGER);"
	/* Names and addresses are unique among live accounts only, so a
	 * deleted account can be restored or its name reused. */
	"CREATE UNIQUE INDEX accounts_username ON accounts(username)"
	" WHERE deleted_at IS NULL;"
	"CREATE UNIQUE INDEX accounts_email ON accounts(email)"
	" WHERE deleted_at IS NULL AND email IS NOT NULL;"
	"CREATE INDEX accounts_deleted ON accounts(username, deleted_at);",

	/* 2: login audit and per-source throttling */
	"CREATE TABLE audit_logins ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" peer_uid INTEGER NOT NULL,"
	" peer_pid INTEGER NOT NULL,"
	" peer_comm TEXT NOT NULL,"
	" realm TEXT NOT NULL,"
	" remote_addr TEXT NOT NULL,"
	" username TEXT NOT NULL,"	/* as given, sanitised */
	" account_id TEXT,"
	" status TEXT NOT NULL);"
	"CREATE INDEX audit_logins_at ON audit_logins(at);"
	"CREATE INDEX audit_logins_username ON audit_logins(username, at);"
	"CREATE TABLE throttle_sources ("
	" peer_uid INTEGER NOT NULL,"
	" remote_addr TEXT NOT NULL,"
	" failures INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (peer_uid, remote_addr));",

	/* 3: sessions, access tokens, app passwords, OAuth2 clients */
	"CREATE TABLE tokens ("
	" id TEXT PRIMARY KEY,"
	" type TEXT NOT NULL,"
	" account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,"
	" secret_sha256 TEXT NOT NULL,"	/* hex; the secret is never stored */
	" name TEXT NOT NULL DEFAULT '',"
	" scope TEXT NOT NULL DEFAULT '*',"
	" created_at INTEGER NOT NULL,"
	" created_by_uid INTEGER NOT NULL,"
	" expires_at INTEGER,"
	" last_used_at INTEGER);"
	"CREATE INDEX tokens_account ON tokens(account_id);"
	"CREATE INDEX tokens_expires ON tokens(expires_at);",

	/* 4: events other than logins: mail, resets, activations */
	"CREATE TABLE audit_events ("
	" id INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" peer_uid INTEGER NOT NULL,"
	" event TEXT NOT NULL,"
	" subject TEXT NOT NULL,"	/* a username or an address */
	" detail TEXT NOT NULL);"
	"CREATE INDEX audit_events_at ON audit_events(at);",

	/* 5: two-factor secrets and recovery codes */
	"ALTER TABLE accounts ADD COLUMN totp_secret TEXT;"	/* base32 */
	"ALTER TABLE accounts ADD COLUMN totp_pending TEXT;"	/* enrolling */
	"ALTER TABLE accounts ADD COLUMN totp_last_step INTEGER NOT NULL "
	" DEFAULT 0;"		/* codes at or before it were used */
	"CREATE TABLE recovery_codes ("
	" account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" code_sha256 TEXT NOT NULL,"
	" PRIMARY KEY (account_id, code_sha256));",

	/* 6: sources without an address keyed by service as well; recovery
	 * codes of 100 bits, salted (the 50-bit unsalted ones are dropped);
	 * rate limits of reset and activation mail */
	"CREATE TABLE throttle_sources_6 ("
	" peer_uid INTEGER NOT NULL,"
	" remote_addr TEXT NOT NULL,"
	" service TEXT NOT NULL,"	/* '' when remote_addr is given */
	" failures INTEGER NOT NULL DEFAULT 0,"
	" locked_until INTEGER,"
	" updated_at INTEGER NOT NULL,"
	" PRIMARY KEY (peer_uid, remote_addr, service));"
	"INSERT INTO throttle_sources_6 SELECT peer_uid, remote_addr, '',"
	" failures, locked_until, updated_at FROM throttle_sources;"
	"DROP TABLE throttle_sources;"
	"ALTER TABLE throttle_sources_6 RENAME TO throttle_sources;"
	"DROP TABLE recovery_codes;"
	"CREATE TABLE recovery_codes ("
	" account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" salt TEXT NOT NULL,"		/* hex, per code */
	" code_sha256 TEXT NOT NULL);"	/* of salt and code */
	"CREATE INDEX recovery_codes_account ON recovery_codes(account_id);"
	"CREATE TABLE mail_limits ("
	" key TEXT PRIMARY KEY,"	/* account:ID or source:UID:ADDRESS */
	" window_start INTEGER NOT NULL,"
	" sent INTEGER NOT NULL);",

	/* 7: account expiry and password aging, as shadow has them */
	"ALTER TABLE accounts ADD COLUMN expires_at INTEGER;"	/* NULL: never */
	"ALTER TABLE accounts ADD COLUMN password_changed_at INTEGER;"
	"ALTER TABLE accounts ADD COLUMN password_max_age_days INTEGER;"
	" -- NULL: the config's; 0: never\n"
	"ALTER TABLE accounts ADD COLUMN must_change INTEGER NOT NULL "
	" DEFAULT 0;"
	/* Before, a password's age was not kept: count from now. */
	"UPDATE accounts SET password_changed_at = updated_at WHERE"
	" password_hash IS NOT NULL;",
};

#define NMIGRATIONS	(int)(sizeof(migrations) / sizeof(migrations[0]))

/* Migrations from..to-1 on ref, a database in memory (see below). */
static int
schema_migrate(sqlite3 *ref, int from, int to, char *err, size_t errsz)
{
	char *msg = NULL;
	int rc = SQLITE_OK;

	for (int i = from; rc == SQLITE_OK && i < to && i < NMIGRATIONS; i++)
		rc = sqlite3_exec(ref, migrations[i], NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "acctd's own schema: %s", msg != NULL ?
		    msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * The schema acctd's migrations 1..version make, on a database in
 * memory: SQLite keeps each CREATE as written and ALTER TABLE rewrites
 * it, so only the same steps give the same text. NULL, err, on failure.
 */
static sqlite3 *
schema_made(int version, char *err, size_t errsz)
{
	sqlite3 *ref = NULL;
	int rc;

	rc = sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "acctd's own schema: %s",
		    sqlite3_errstr(rc));
		sqlite3_close(ref);
		return NULL;
	}
	if (schema_migrate(ref, 0, version, err, errsz) == -1) {
		sqlite3_close(ref);
		return NULL;
	}
	return ref;
}

/* The next row of the schema into row[]; SQLITE_ROW, SQLITE_DONE, or an
 * error (a column SQLite could not give is one: out of memory). */
static int
schema_row(sqlite3_stmt *st, const char *row[4])
{
	int rc = sqlite3_step(st);

	for (int i = 0; rc == SQLITE_ROW && i < 4; i++)
		if ((row[i] = (const char *)sqlite3_column_text(st, i)) ==
		    NULL && sqlite3_column_type(st, i) != SQLITE_NULL)
			rc = SQLITE_NOMEM;
	return rc;
}

static bool
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Rows in the order both queries read them: type, then name, BINARY. */
static int
key_cmp(const char *const a[4], const char *const b[4])
{
	int c = strcmp(a[0] ? a[0] : "", b[0] ? b[0] : "");

	return c != 0 ? c : strcmp(a[1] ? a[1] : "", b[1] ? b[1] : "");
}

/*
 * Whether db's schema is exactly ref's, that of version: every table,
 * index, view and trigger, SQLite's own among them (sqlite_stat1 from
 * ANALYZE, sqlite_sequence from AUTOINCREMENT: acctd uses neither), by
 * type, name, table and CREATE text. 0, or -1 with the first
 * difference in err, what naming db.
 */
static int
schema_check(sqlite3 *db, sqlite3 *ref, int version, const char *what,
    char *err, size_t errsz)
{
	static const char sql[] = "SELECT type, name, tbl_name, sql FROM "
	    "sqlite_master ORDER BY type, name";
	sqlite3_stmt *fs = NULL, *rs = NULL;
	const char *f[4], *r[4], *const *odd = NULL, *type, *name;
	int frc = SQLITE_ERROR, rrc = SQLITE_ERROR, c = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &fs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ref, sql, -1, &rs, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: reading the schema: %s", what,
		    sqlite3_errmsg(fs == NULL ? db : ref));
		sqlite3_finalize(fs);
		return -1;
	}
	frc = schema_row(fs, f);
	rrc = schema_row(rs, r);
	while ((frc == SQLITE_ROW || frc == SQLITE_DONE) &&
	    (rrc == SQLITE_ROW || rrc == SQLITE_DONE) &&
	    (frc == SQLITE_ROW || rrc == SQLITE_ROW)) {
		c = frc != SQLITE_ROW ? 1 : rrc != SQLITE_ROW ? -1 :
		    key_cmp(f, r);
		if (c != 0 || !same(f[2], r[2]) || !same(f[3], r[3])) {
			odd = c > 0 ? r : f;
			break;
		}
		frc = schema_row(fs, f);
		rrc = schema_row(rs, r);
	}
	/* The log and the reply escape what a name holds; it is cut short
	 * here, so that the difference is still said. */
	if (odd != NULL) {
		type = odd[0] ? odd[0] : "";
		name = odd[1] ? odd[1] : "";
		if (c < 0)
			snprintf(err, errsz, "%s: unexpected %.20s %.80s: "
			    "acctd's schema version %d has none", what, type,
			    name, version);
		else if (c > 0)
			snprintf(err, errsz, "%s: missing %.20s %.80s of "
			    "acctd's schema version %d", what, type, name,
			    version);
		else
			snprintf(err, errsz, "%s: %.20s %.80s differs from "
			    "acctd's schema version %d", what, type, name,
			    version);
	} else if (frc != SQLITE_DONE || rrc != SQLITE_DONE)
		snprintf(err, errsz, "%s: reading the schema: %s", what,
		    sqlite3_errstr(frc != SQLITE_DONE ? frc : rrc));
	sqlite3_finalize(fs);
	sqlite3_finalize(rs);
	return odd == NULL && frc == SQLITE_DONE && rrc == SQLITE_DONE ? 0 :
	    -1;
}

static struct cached *
cache_find(struct dbc *c, const char *sql)
{
	for (size_t i = 0; i < CACHE_SLOTS && c->cache[i].st != NULL; i++)
		if (c->cache[i].sql == sql && !c->cache[i].busy &&
		    strcmp(sqlite3_sql(c->cache[i].st), sql) == 0)
			return &c->cache[i];
	return NULL;
}

/* A free slot, or the next idle one in turn (its statement finalized). */
static struct cached *
cache_slot(struct dbc *c)
{
	for (unsigned n = 0; n < CACHE_SLOTS; n++) {
		struct cached *k = &c->cache[(c->cache_next + n) % CACHE_SLOTS];
		if (k->st == NULL || !k->busy) {
			c->cache_next = (c->cache_next + n + 1) % CACHE_SLOTS;
			sqlite3_finalize(k->st);
			memset(k, 0, sizeof(*k));
			return k;
		}
	}
	return NULL;
}

static int
cache_get(struct dbc *c, const char *sql, sqlite3_stmt **out)
{
	struct cached *k;
	int rc;

	*out = NULL;
	if ((k = cache_find(c, sql)) == NULL) {
		rc = sqlite3_prepare_v3(c->db, sql, -1,
		    SQLITE_PREPARE_PERSISTENT, out, NULL);
		if (rc != SQLITE_OK || (k = cache_slot(c)) == NULL)
			return rc;	/* uncached: release() finalizes */
		k->sql = sql;
		k->st = *out;
	}
	k->busy = true;
	*out = k->st;
	return SQLITE_OK;
}

static void
cache_clear(struct dbc *c)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		sqlite3_finalize(c->cache[i].st);
	memset(c->cache, 0, sizeof(c->cache));
}

static void
release(struct dbc *c, sqlite3_stmt *st)
{
	for (size_t i = 0; st != NULL && i < CACHE_SLOTS; i++)
		if (c->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			c->cache[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

/* End the kept read transactions of the idle readers, whose snapshots
 * would otherwise hold back checkpoints (and show erased rows). */
static void
release_idle(void)
{
	pthread_mutex_lock(&pool_lock);
	for (int i = 0; i < nidle; i++) {
		struct dbc *c = &readers[idle[i]];

		if (c->held) {
			c->held = false;
			(void)rollback(c);
		}
	}
	pthread_mutex_unlock(&pool_lock);
}

/*
 * Idle readers give up their kept snapshots before every write: the
 * checkpoint SQLite runs at a commit copies a page only if no reader's
 * snapshot predates its newest copy. A reader kept from this very
 * request's reads would predate every page the write rewrites, and a
 * stream of logins, each rewriting the same few pages, would grow the
 * WAL without end.
 */
void
db_lock(void)
{
	pthread_mutex_lock(&lock);
	i_hold_lock = true;
	release_idle();
}

void
db_invalidate(void)
{
	atomic_fetch_add(&write_gen, 1);
	release_idle();
}

void
db_unlock(void)
{
	struct dbc *r = my_reader;

	atomic_fetch_add(&write_gen, 1);
	i_hold_lock = false;
	pthread_mutex_unlock(&lock);
	/* Idle readers were released in db_lock(); one that took a
	 * snapshot since is renewed by its next borrower (write_gen moved
	 * on) or released by the next write. The caller's own reader is
	 * ended here, unless it asked for one moment with db_begin_read():
	 * its next reads see what it just wrote. */
	if (r != NULL && r->held && !r->in_txn) {
		r->held = false;
		(void)rollback(r);
	}
}

/*
 * A reader keeps its read transaction from one borrower to the next
 * while nothing was written: each write bumps write_gen after its commit
 * and before its answer, so a request that starts after an answer sees
 * a newer gen and opens a fresh snapshot (a revoked token is refused on
 * the very next request). Beginning a read transaction costs locks and
 * system calls on the WAL index that a cheap request would otherwise
 * pay twice per query.
 */
static void
reader_refresh(struct dbc *c)
{
	uint64_t g = atomic_load(&write_gen);

	if (c->held && (c->gen != g || sqlite3_get_autocommit(c->db))) {
		c->held = false;
		(void)rollback(c);
	}
	/* gen read before the snapshot is taken: it can only be newer. */
	if (!c->held && rollback(c) == ACCT_OK &&
	    exec_plain(c, "BEGIN") == ACCT_OK) {
		c->held = true;
		c->gen = g;
	}
}

/*
 * A reader for this thread until the matching db_read_end(); calls
 * nest. Under db_lock() the writer serves the reads instead: a thread
 * that holds the lock never waits for a reader, so the two cannot
 * deadlock (the other order, a reader then the lock, is allowed).
 */
void
db_read(void)
{
	if (my_reads++ > 0 || i_hold_lock)
		return;
	pthread_mutex_lock(&pool_lock);
	while (nidle == 0 && !pool_closed)
		pthread_cond_wait(&pool_free, &pool_lock);
	if (!pool_closed)
		my_reader = &readers[idle[--nidle]];
	pthread_mutex_unlock(&pool_lock);
	if (my_reader != NULL)
		reader_refresh(my_reader);
}

void
db_read_end(void)
{
	struct dbc *c = my_reader;

	if (my_reads == 0 || --my_reads > 0 || c == NULL)
		return;
	/* Only the kept one stays open (reader_refresh() decides whether
	 * the next borrower may use it); any other would show an old state
	 * of the database, and one that cannot be ended now, prepare()
	 * tries again and refuses to run in. */
	my_reader = NULL;
	if (!c->held || sqlite3_get_autocommit(c->db)) {
		c->held = false;
		(void)rollback(c);
	}
	pthread_mutex_lock(&pool_lock);
	idle[nidle++] = (int)(c - readers);
	pthread_cond_signal(&pool_free);
	pthread_mutex_unlock(&pool_lock);
}

/* The connection this thread's statements go to, or NULL: none held. */
static struct dbc *
mine(void)
{
	return i_hold_lock ? &writer : my_reader;
}

/* What went wrong in this thread's last failed statement, for the reply. */
static _Thread_local const char *last_problem;

const char *
db_problem(void)
{
	const char *p = last_problem;

	last_problem = NULL;
	return p;
}

/* SQLite's result code as an ACCT_ERR_* code: they never leave db.c. */
static int
db_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return ACCT_OK;
	case SQLITE_CONSTRAINT:
		return ACCT_ERR_EXISTS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		last_problem = "the database is locked by another process; "
		    "try again later";
		log_warn("database: %s", sqlite3_errstr(rc));
		return ACCT_ERR_BUSY;
	case SQLITE_NOMEM:
		return ACCT_ERR_NOMEM;
	case SQLITE_FULL:
		last_problem = "the database or its disk is full: nothing "
		    "was written";
		log_err("database: %s", sqlite3_errstr(rc));
		return ACCT_ERR_STORAGE;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		last_problem = "the database is damaged: see the daemon's log";
		log_err("database: %s", sqlite3_errstr(rc));
		return ACCT_ERR_STORAGE;
	default:
		/* IOERR, READONLY, CANTOPEN ... */
		last_problem = "database error: see the daemon's log";
		log_err("database: %s", sqlite3_errstr(rc));
		return ACCT_ERR_STORAGE;
	}
}

int
db_schema_version(void)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(writer.db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Accounts with recovery codes of the old, 50-bit kind (schema 5). */
static int
weak_recovery_codes(void)
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(writer.db, "SELECT count(DISTINCT account_id) FROM "
	    "recovery_codes", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * The schema is checked against what the migrations make for its
 * version before any migration runs (an UPDATE in one would fire a
 * trigger planted in the file), and again after.
 */
static int
migrate(const char *path, char *err, size_t errsz)
{
	int v = db_schema_version(), from = v;
	char *msg = NULL;
	sqlite3 *ref;

	if (v < 0 || v > NMIGRATIONS) {
		snprintf(err, errsz, "database schema version %d is not one "
		    "this acctd knows (1..%d)", v, NMIGRATIONS);
		return -1;
	}
	if ((ref = schema_made(v, err, errsz)) == NULL)
		return -1;
	if (schema_check(writer.db, ref, v, path, err, errsz) == -1) {
		sqlite3_close(ref);
		return -1;
	}
	for (; v < NMIGRATIONS; v++) {
		char sql[64];
		int rc, weak = v == 5 ? weak_recovery_codes() : 0;

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
		rc = sqlite3_exec(writer.db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(writer.db, migrations[v], NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(writer.db, sql, NULL, NULL, &msg);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(writer.db, "COMMIT", NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			snprintf(err, errsz, "migration %d: %s", v + 1,
			    msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			sqlite3_exec(writer.db, "ROLLBACK", NULL, NULL, NULL);
			sqlite3_close(ref);
			return -1;
		}
		log_info("database schema migrated to version %d", v + 1);
		if (weak > 0)
			log_warn("the recovery codes of %d accounts were too "
			    "short and are gone: their owners make new ones "
			    "by turning two-factor authentication off and on",
			    weak);
	}
	if (from < NMIGRATIONS && (schema_migrate(ref, from, NMIGRATIONS, err,
	    errsz) == -1 || schema_check(writer.db, ref, NMIGRATIONS, path,
	    err, errsz) == -1)) {
		sqlite3_close(ref);
		return -1;
	}
	sqlite3_close(ref);
	return 0;
}

/* The directory holding the database must be ours alone. */
static int
check_dir(const char *path, char *err, size_t errsz)
{
	char copy[PATH_MAX], *dir;
	struct stat sb;

	if (strlen(path) >= sizeof(copy)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	memcpy(copy, path, strlen(path) + 1);
	dir = dirname(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 0022) != 0) {
		snprintf(err, errsz, "%s: must be a directory owned by uid %u "
		    "and not writable by group or others", dir,
		    (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/* An existing database must be a plain file of ours, private. */
static int
check_file(const char *path, char *err, size_t errsz)
{
	struct stat sb;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : (snprintf(err, errsz, "%s: %s",
		    path, strerror(errno)), -1);
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file (a symbolic link "
		    "is refused)", path);
		return -1;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 0077) != 0) {
		snprintf(err, errsz, "%s: must be owned by uid %u with mode "
		    "0600 (it holds password hashes)", path,
		    (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/* Reads map the file: no read() and copy per page missed. */
#define MMAP_SQL	"PRAGMA mmap_size = 1073741824;"

static int
pragmas(struct dbc *c, char *err, size_t errsz)
{
	static const char wsql[] =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"	/* acknowledged = on disk */
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;"	/* no old hashes in free pages */
	    "PRAGMA trusted_schema = OFF;" MMAP_SQL;
	/* A reader refuses to write, whatever it is asked. */
	static const char rsql[] =
	    "PRAGMA query_only = ON;"
	    "PRAGMA trusted_schema = OFF;" MMAP_SQL;
	char *msg = NULL;

	sqlite3_busy_timeout(c->db, 5000);
	if (sqlite3_exec(c->db, c->reader ? rsql : wsql, NULL, NULL, &msg) !=
	    SQLITE_OK) {
		snprintf(err, errsz, "%s", msg ? msg : "pragma failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static void
conn_close(struct dbc *c)
{
	cache_clear(c);
	sqlite3_finalize(c->rollback_st);
	sqlite3_close(c->db);
	memset(c, 0, sizeof(*c));
}

/* Open c on path; the writer (creating the file) migrates it first. */
static int
conn_open(struct dbc *c, const char *path, bool reader, char *err,
    size_t errsz)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->reader = reader;
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    (reader ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path,
		    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		conn_close(c);
		return -1;
	}
	sqlite3_extended_result_codes(c->db, 1);
	if (pragmas(c, err, errsz) == 0 && (reader || migrate(path, err,
	    errsz) == 0) && sqlite3_prepare_v3(c->db, "ROLLBACK", -1,
	    SQLITE_PREPARE_PERSISTENT, &c->rollback_st, NULL) != SQLITE_OK)
		snprintf(err, errsz, "%s", sqlite3_errmsg(c->db));
	if (c->rollback_st == NULL) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* Two readers per CPU, within bounds: enough that a reader is rarely
 * waited for, few enough that their caches and maps stay small (each
 * maps the database: 8 instead of 4 cost 500 waiting logins 1.5 MiB). */
static int
readers_wanted(void)
{
	long n = 2 * sysconf(_SC_NPROCESSORS_ONLN);

	return n < READERS_MIN ? READERS_MIN : n > READERS_MAX ? READERS_MAX :
	    (int)n;
}

static void
readers_close(void)
{
	pthread_mutex_lock(&pool_lock);
	pool_closed = true;
	/* Wait until every reader lent out is back. */
	while (nidle < nreaders)
		pthread_cond_wait(&pool_free, &pool_lock);
	for (int i = 0; i < nreaders; i++)
		conn_close(&readers[i]);
	free(readers);
	free(idle);
	readers = NULL;
	idle = NULL;
	nreaders = nidle = 0;
	pthread_cond_broadcast(&pool_free);
	pthread_mutex_unlock(&pool_lock);
}

static int
readers_open(const char *path, char *err, size_t errsz)
{
	int n = readers_wanted();

	if ((readers = calloc((size_t)n, sizeof(*readers))) == NULL ||
	    (idle = calloc((size_t)n, sizeof(*idle))) == NULL) {
		snprintf(err, errsz, "out of memory");
		free(readers);
		readers = NULL;
		return -1;
	}
	for (nreaders = 0; nreaders < n; nreaders++) {
		if (conn_open(&readers[nreaders], path, true, err, errsz) ==
		    -1) {
			readers_close();
			return -1;
		}
		idle[nidle++] = nreaders;
	}
	pool_closed = false;
	return 0;
}

int
db_open(const char *path, char *err, size_t errsz)
{
	mode_t old;
	int rc;

	if (check_dir(path, err, errsz) == -1 ||
	    check_file(path, err, errsz) == -1)
		return -1;
	/* SQLite's allocation counters take one process-wide mutex on
	 * every allocation; nothing here reads them. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	old = umask(0077);	/* database, WAL and shm files: 0600 */
	rc = conn_open(&writer, path, false, err, errsz);
	umask(old);
	if (rc == -1)
		return -1;
	/* After the writer: the schema is migrated, the WAL is there. */
	if (readers_open(path, err, errsz) == -1) {
		conn_close(&writer);
		return -1;
	}
	return 0;
}

int
db_schema_latest(void)
{
	return NMIGRATIONS;
}

const char *
db_migration(int i)
{
	return i >= 0 && i < NMIGRATIONS ? migrations[i] : NULL;
}

int
db_claim(const char *path, char *err, size_t errsz)
{
	char lockpath[PATH_MAX + 8], pid[32];
	ssize_t n;
	int fd;

	if (check_dir(path, err, errsz) == -1)
		return -1;
	if ((size_t)snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >=
	    sizeof(lockpath)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errsz, "%s: %s", lockpath, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = errno == EWOULDBLOCK ? pread(fd, pid, sizeof(pid) - 1, 0) :
		    -1;
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (n > 0)
			snprintf(err, errsz, "%s is held by another acctd "
			    "(or acctd --restore), process %s: stop it first",
			    path, pid);
		else
			snprintf(err, errsz, "%s: %s", lockpath,
			    strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("%s: cannot write the pid: %s", lockpath,
		    strerror(errno));
	claim_fd = fd;
	return 0;
}

/* A connection of its own to another file (or the database itself, for
 * a backup), never written through. */
static sqlite3 *
open_other(const char *path, char *err, size_t errsz)
{
	sqlite3 *o = NULL;

	if (sqlite3_open_v2(path, &o, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		snprintf(err, errsz, "%s: %s", path, o != NULL ?
		    sqlite3_errmsg(o) : "cannot open");
		sqlite3_close(o);
		return NULL;
	}
	sqlite3_extended_result_codes(o, 1);
	sqlite3_busy_timeout(o, 5000);
	/* A file from elsewhere runs none of its schema's code. */
	(void)sqlite3_exec(o, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL);
	return o;
}

int
db_copy(const char *src, const char *dst, char *err, size_t errsz)
{
	sqlite3 *o = open_other(src, err, errsz);
	sqlite3_stmt *st = NULL;
	int rc;

	if (o == NULL)
		return -1;
	/* VACUUM INTO reads in one transaction: a snapshot, compacted. */
	rc = sqlite3_prepare_v2(o, "VACUUM INTO ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, dst, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		snprintf(err, errsz, "copying %s: %s", src, sqlite3_errmsg(o));
	sqlite3_finalize(st);
	sqlite3_close(o);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The integer sql gives on o, or -1. */
static int64_t
file_int(sqlite3 *o, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(o, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int
db_file_check(const char *path, int *version, int64_t *accounts, char *err,
    size_t errsz)
{
	sqlite3 *o = open_other(path, err, errsz), *ref = NULL;
	sqlite3_stmt *st = NULL;
	const char *res = NULL;
	int64_t v;
	int rc = -1;

	*version = -1;
	*accounts = -1;
	if (o == NULL)
		return -1;
	if (sqlite3_prepare_v2(o, "PRAGMA integrity_check(1)", -1, &st,
	    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		res = (const char *)sqlite3_column_text(st, 0);
	if (res == NULL || strcmp(res, "ok") != 0)
		snprintf(err, errsz, "%s: %s", path, res != NULL ?
		    "damaged (integrity_check fails)" : sqlite3_errmsg(o));
	else if ((v = file_int(o, "PRAGMA user_version")) < 1)
		snprintf(err, errsz, "%s: not an acctd database", path);
	else if (v > NMIGRATIONS)
		snprintf(err, errsz, "%s has schema version %lld; this acctd "
		    "(%s) knows versions up to %d: restore it with an acctd "
		    "that knows version %lld (the one that made it, or a later "
		    "one)", path, (long long)v, ACCT_VERSION, NMIGRATIONS,
		    (long long)v);
	/* Its rows are read only once its tables are known to be acctd's. */
	else if ((ref = schema_made((int)v, err, errsz)) != NULL &&
	    schema_check(o, ref, (int)v, path, err, errsz) == 0) {
		*version = (int)v;
		if ((*accounts = file_int(o, "SELECT count(*) FROM "
		    "accounts")) < 0)
			snprintf(err, errsz, "%s: %s", path, sqlite3_errmsg(o));
		else
			rc = 0;
	}
	sqlite3_finalize(st);
	sqlite3_close(ref);
	sqlite3_close(o);
	return rc;
}

void
db_close(void)
{
	readers_close();
	db_lock();
	if (writer.db != NULL) {
		/* Fold the WAL back so the file stands alone. */
		sqlite3_wal_checkpoint_v2(writer.db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		conn_close(&writer);
	}
	db_unlock();
}

/* The connection a statement of ours was prepared on. */
static struct dbc *
conn_of(sqlite3_stmt *st)
{
	sqlite3 *h = sqlite3_db_handle(st);

	if (h == writer.db)
		return &writer;
	for (int i = 0; i < nreaders; i++)
		if (h == readers[i].db)
			return &readers[i];
	return NULL;
}

static void
release_st(sqlite3_stmt *st)
{
	struct dbc *c;

	if (st == NULL)
		return;
	if ((c = conn_of(st)) != NULL)
		release(c, st);
	else
		sqlite3_finalize(st);
}

/*
 * Prepare sql (from the cache) and bind args, checking that their number
 * is the statement's: a missing bind would quietly compare with NULL.
 */
static int
prepare(sqlite3_stmt **out, const char *sql, const struct db_arg *args,
    size_t nargs)
{
	struct dbc *c = mine();
	int rc = SQLITE_OK;

	*out = NULL;
	if (c == NULL || c->db == NULL) {
		log_err("database: statement without db_lock() or db_read(): "
		    "%.60s", sql);
		return ACCT_ERR_INTERNAL;
	}
	/* Outside db_begin(), no statement may join a transaction left
	 * open by a rollback that failed; inside, none may run on its own
	 * once SQLite has rolled the transaction back after an error. */
	if (!c->in_txn && !c->held && rollback(c) != ACCT_OK)
		return ACCT_ERR_STORAGE;
	if ((c->in_txn || c->held) && sqlite3_get_autocommit(c->db)) {
		c->held = false;
		log_err("database: the transaction was rolled back: %.60s",
		    sql);
		last_problem = "database error: see the daemon's log";
		return ACCT_ERR_STORAGE;
	}
	if ((rc = cache_get(c, sql, out)) != SQLITE_OK) {
		release(c, *out);
		*out = NULL;
		return db_error(rc);
	}
	/* Writes go through the writer alone, serialised by db_lock(). */
	if (c->reader && !sqlite3_stmt_readonly(*out)) {
		log_err("database: a write without db_lock(): %.60s", sql);
		release(c, *out);
		*out = NULL;
		return ACCT_ERR_INTERNAL;
	}
	if ((size_t)sqlite3_bind_parameter_count(*out) != nargs) {
		log_err("database: %d parameters, %zu given: %.60s",
		    sqlite3_bind_parameter_count(*out), nargs, sql);
		release(c, *out);
		*out = NULL;
		return ACCT_ERR_INTERNAL;
	}
	for (size_t i = 0; rc == SQLITE_OK && i < nargs; i++) {
		const struct db_arg *a = &args[i];
		int k = (int)i + 1;

		if (a->type == DB_T_INT)
			rc = sqlite3_bind_int64(*out, k, a->i);
		else if (a->type == DB_T_TEXT && a->text != NULL)
			rc = sqlite3_bind_text(*out, k, a->text, -1,
			    SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(*out, k);
	}
	if (rc != SQLITE_OK) {
		release(c, *out);
		*out = NULL;
	}
	return db_error(rc);
}

int
db_exec(int64_t *changes, const char *sql, const struct db_arg *args,
    size_t nargs)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(&st, sql, args, nargs)) != ACCT_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (changes != NULL)
			*changes = sqlite3_changes(sqlite3_db_handle(st));
	}
	release_st(st);
	return db_error(rc);
}

int
db_query(struct db_query *q, const char *sql, const struct db_arg *args,
    size_t nargs)
{
	q->rc = prepare(&q->st, sql, args, nargs);
	return q->rc;
}

bool
db_next(struct db_query *q)
{
	int rc;

	if (q->rc != ACCT_OK || q->st == NULL)
		return false;
	if ((rc = sqlite3_step(q->st)) == SQLITE_ROW)
		return true;
	q->rc = db_error(rc);
	release_st(q->st);
	q->st = NULL;
	return false;
}

int
db_done(struct db_query *q)
{
	release_st(q->st);
	q->st = NULL;
	return q->rc;
}

int
db_one(struct db_query *q, const char *sql, const struct db_arg *args,
    size_t nargs)
{
	if (db_query(q, sql, args, nargs) != ACCT_OK)
		return q->rc;
	if (db_next(q))
		return ACCT_OK;
	return q->rc != ACCT_OK ? q->rc : ACCT_ERR_NOT_FOUND;
}

const char *
db_text(const struct db_query *q, int col)
{
	return (const char *)sqlite3_column_text(q->st, col);
}

int64_t
db_int(const struct db_query *q, int col)
{
	return sqlite3_column_int64(q->st, col);
}

bool
db_null(const struct db_query *q, int col)
{
	return sqlite3_column_type(q->st, col) == SQLITE_NULL;
}

/* BEGIN or COMMIT, prepared once per connection like the others. */
static int
exec_plain(struct dbc *c, const char *sql)
{
	sqlite3_stmt *st;
	int rc;

	if (c == NULL || c->db == NULL) {
		log_err("database: %s without db_lock() or db_read()", sql);
		return ACCT_ERR_INTERNAL;
	}
	if ((rc = cache_get(c, sql, &st)) == SQLITE_OK &&
	    (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	release(c, st);
	return db_error(rc);
}

/*
 * Undo the open transaction, if SQLite has not already. Prepared at
 * open, so that one failed for want of memory can still be undone:
 * sqlite3_exec("ROLLBACK") must allocate to parse, and a transaction it
 * leaves open would hold the write lock (or, on a reader, an old
 * snapshot) and show its state to every later statement.
 */
static int
rollback(struct dbc *c)
{
	int rc;

	if (sqlite3_get_autocommit(c->db))
		return ACCT_OK;
	rc = sqlite3_step(c->rollback_st);
	sqlite3_reset(c->rollback_st);
	if (!sqlite3_get_autocommit(c->db)) {
		log_err("database: cannot roll back: %s", sqlite3_errstr(rc));
		last_problem = "database error: see the daemon's log";
		return ACCT_ERR_STORAGE;
	}
	return ACCT_OK;
}

static int
begin(struct dbc *c, const char *sql)
{
	int rc;

	if (c == NULL)
		return exec_plain(c, sql);	/* refused and logged there */
	/* One left open by a rollback that failed goes first. */
	if ((rc = rollback(c)) == ACCT_OK &&
	    (rc = exec_plain(c, sql)) == ACCT_OK)
		c->in_txn = true;
	return rc;
}

/* A write transaction: the writer's, under db_lock(). */
int
db_begin(void)
{
	return begin(i_hold_lock ? &writer : NULL, "BEGIN IMMEDIATE");
}

/* Fold the write-ahead log into the database and empty it, so that
 * what was just erased is in neither file. */
int
db_checkpoint_locked(void)
{
	if (!i_hold_lock)
		return ACCT_ERR_INTERNAL;
	release_idle();
	return db_error(sqlite3_wal_checkpoint_v2(writer.db, NULL,
	    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));
}

/* A read transaction: several queries see one state of the database. */
int
db_begin_read(void)
{
	struct dbc *c = mine();

	if (c != NULL && c->held) {
		c->in_txn = true;	/* one already: see reader_refresh() */
		return ACCT_OK;
	}
	return begin(c, "BEGIN");
}

void
db_rollback(void)
{
	struct dbc *c = mine();

	if (c == NULL)
		return;
	c->in_txn = c->held = false;
	(void)rollback(c);
}

/* Commit when rc is ACCT_OK, else roll back; returns the outcome. */
int
db_end(int rc)
{
	struct dbc *c = mine();
	int64_t t0 = 0;

	if (c == NULL)
		return ACCT_ERR_INTERNAL;
	c->in_txn = false;
	if (c->held)
		return rc;	/* the reader's, kept: see reader_refresh() */
	/* Only a write's commit is timed: a read's end is not one. */
	if (c->db != NULL &&
	    sqlite3_txn_state(c->db, NULL) == SQLITE_TXN_WRITE)
		t0 = mono_us();
	if (rc == ACCT_OK && (rc = exec_plain(c, "COMMIT")) == ACCT_OK) {
		if (t0 != 0)
			stats_commit(mono_us() - t0);
		return ACCT_OK;
	}
	(void)rollback(c);
	return rc;
}

/* A column as a key and value of a reply map; SQL NULL packs nil. */
void
db_pack_text(msgpack_packer *pk, const char *key, const struct db_query *q,
    int col)
{
	const char *t = db_text(q, col);

	proto_pack_cstr(pk, key);
	if (t == NULL)
		msgpack_pack_nil(pk);
	else
		proto_pack_cstr(pk, t);
}

void
db_pack_int(msgpack_packer *pk, const char *key, const struct db_query *q,
    int col)
{
	proto_pack_cstr(pk, key);
	if (db_null(q, col))
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, db_int(q, col));
}
