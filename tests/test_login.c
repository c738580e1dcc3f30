/*
 * test_login.c: the login operation against a real acctd: one answer for
 * every failure, throttling (also under parallel attempts and across a
 * restart), the login audit, who may call it, rehash and hash caps,
 * cheap requests answered while every hash worker is busy (hashes run
 * on threads of a lower priority), and the WAL's size under logins.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

#define SECRET	"Sup3r-Secret-Pw!"

/* One login on a fresh connection; the reply in *rep (caller frees). */
static int
login(const struct th_daemon *d, const char *user, const char *pw,
    const char *remote, struct proto_reply *rep)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	proto_kv_str(&m, "service", "imap");
	if (remote != NULL)
		proto_kv_str(&m, "remote_addr", remote);
	rc = th_call(d->sock, "login", &m, rep);
	proto_msg_free(&m);
	return rc == ACCT_OK ? rep->code : rc;
}

static int
login_code(const struct th_daemon *d, const char *user, const char *pw,
    const char *remote)
{
	struct proto_reply rep;
	int rc = login(d, user, pw, remote, &rep);

	proto_reply_free(&rep);
	return rc;
}

static int
mod_bool(const struct th_daemon *d, const char *user, const char *key,
    bool val)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_bool(&m, key, val);
	rc = th_call_code(d->sock, "user_mod", &m);
	proto_msg_free(&m);
	return rc;
}

/* Count raw audit rows with this status for user, read from the file. */
static int64_t
audit_attempts(const struct th_daemon *d, const char *user,
    const char *status)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
	    "audit_logins WHERE username = ?1 AND status = ?2", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int
setup_lockout(void **state)
{
	struct th_daemon *d = calloc(1, sizeof(*d));

	if (d == NULL || th_up(d, "lockout_failures = 3\n"
	    "source_lockout_failures = 100\n"
	    "lockout_base = 600\nlockout_max = 600\n") == -1)
		return -1;
	*state = d;
	return th_add_user(d->sock, "alice", SECRET) == ACCT_OK ? 0 : -1;
}

static int
setup_plain(void **state)
{
	if (th_setup(state) == -1)
		return -1;
	return th_add_user(((struct th_daemon *)*state)->sock, "alice",
	    SECRET) == ACCT_OK ? 0 : -1;
}

static void
test_success_returns_account(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	const msgpack_object *u;

	assert_int_equal(login(d, "alice", SECRET, "192.0.2.1", &rep), ACCT_OK);
	u = proto_map_get(rep.result, "user");
	assert_non_null(u);
	assert_true(th_str_is(u, "username", "alice"));
	assert_false(th_is_nil(u, "last_login_at"));
	proto_reply_free(&rep);
	/* Names are case-insensitive on input. */
	assert_int_equal(login_code(d, "ALICE", SECRET, NULL), ACCT_OK);
}

static void
test_login_by_email(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "email", "alice@example.org");
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(login_code(d, "Alice@Example.org", SECRET, NULL),
	    ACCT_OK);
	assert_int_equal(login_code(d, "alice@example.org", "wrong-pw-1",
	    NULL), ACCT_ERR_AUTH_FAILED);
}

/* Unknown user, wrong password, disabled: one code, one message. */
static void
test_one_answer_for_every_failure(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply a, b, c;

	assert_int_equal(mod_bool(d, "alice", "login", true), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "dora", SECRET), ACCT_OK);
	assert_int_equal(mod_bool(d, "dora", "login", false), ACCT_OK);
	assert_int_equal(login(d, "alice", "wrong-password", NULL, &a),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, "nosuchuser", "wrong-password", NULL, &b),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, "dora", SECRET, NULL, &c),
	    ACCT_ERR_AUTH_FAILED);
	assert_string_equal(a.message, b.message);
	assert_string_equal(a.message, c.message);
	assert_null(a.result);
	assert_null(b.result);
	assert_null(c.result);
	proto_reply_free(&a);
	proto_reply_free(&b);
	proto_reply_free(&c);
	/* The audit tells them apart; the client never does. */
	assert_int_equal(audit_attempts(d, "dora", "DISABLED"), 1);
	assert_int_equal(audit_attempts(d, "nosuchuser", "FAILED"), 1);
}

static void
test_lockout_engages_and_unlock(void **state)
{
	struct th_daemon *d = *state;

	for (int i = 0; i < 3; i++)
		assert_int_equal(login_code(d, "alice", "wrong-pw-1", NULL),
		    ACCT_ERR_AUTH_FAILED);
	/* Locked: even the right password fails, and is audited LOCKED. */
	assert_int_equal(login_code(d, "alice", SECRET, NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(audit_attempts(d, "alice", "LOCKED"), 1);
	/* The lock survives a restart: counters are in the database. */
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(login_code(d, "alice", SECRET, NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(mod_bool(d, "alice", "unlock", true), ACCT_OK);
	assert_int_equal(login_code(d, "alice", SECRET, NULL), ACCT_OK);
}

/* users mod writes what the admin changed, not a stale copy of the rest. */
static void
test_mod_keeps_counters(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	struct proto_reply rep;

	assert_int_equal(login_code(d, "alice", "wrong-pw-6", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", "wrong-pw-6", NULL),
	    ACCT_ERR_AUTH_FAILED);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "name", "Alice A.");
	assert_int_equal(th_call(d->sock, "user_mod", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	proto_reply_free(&rep);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_int(proto_map_get(rep.result, "user"),
	    "failed_logins", -1), 2);
	proto_reply_free(&rep);
	/* The third failure still locks: the count was not reset. */
	assert_int_equal(login_code(d, "alice", "wrong-pw-6", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", SECRET, NULL),
	    ACCT_ERR_AUTH_FAILED);
}

/* Twelve attempts at once: only lockout_failures of them get a verify. */
static void
test_parallel_attempts_do_not_slip_past(void **state)
{
	struct th_daemon *d = *state;
	pid_t kids[12];

	for (size_t i = 0; i < 12; i++) {
		if ((kids[i] = fork()) == 0)
			_exit(login_code(d, "alice", "wrong-pw-2", NULL) ==
			    ACCT_ERR_AUTH_FAILED ? 0 : 1);
		assert_true(kids[i] > 0);
	}
	for (size_t i = 0; i < 12; i++) {
		int st;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_int_equal(audit_attempts(d, "alice", "FAILED"), 3);
	assert_int_equal(audit_attempts(d, "alice", "LOCKED"), 9);
}

/* A short lock expires by itself: bounded wait for it, no timing check. */
static void
test_lock_expires(void **state)
{
	struct th_daemon *d = *state;
	int rc = ACCT_ERR_AUTH_FAILED;

	assert_int_equal(th_write_config(d, "lockout_failures = 2\n"
	    "lockout_base = 1\nlockout_max = 1\n"), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(login_code(d, "alice", "wrong-pw-3", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", "wrong-pw-3", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", SECRET, NULL),
	    ACCT_ERR_AUTH_FAILED);
	for (int i = 0; i < 100 && rc != ACCT_OK; i++) {
		usleep(100 * 1000);
		rc = login_code(d, "alice", SECRET, NULL);
	}
	assert_int_equal(rc, ACCT_OK);
	/* Success reset the counter: two more failures are needed again. */
	assert_int_equal(login_code(d, "alice", "wrong-pw-3", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", SECRET, NULL), ACCT_OK);
}

/* Per-source lock: many names from one address lock the address. */
static void
test_source_lockout(void **state)
{
	struct th_daemon *d = *state;
	char name[32];

	assert_int_equal(th_write_config(d, "source_lockout_failures = 4\n"
	    "lockout_base = 600\nlockout_max = 600\n"), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "guess%d", i);
		assert_int_equal(login_code(d, name, "x-password", "203.0.113.9"),
		    ACCT_ERR_AUTH_FAILED);
	}
	assert_int_equal(login_code(d, "alice", SECRET, "203.0.113.9"),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(audit_attempts(d, "alice", "LOCKED"), 1);
	/* Another address is not affected. */
	assert_int_equal(login_code(d, "alice", SECRET, "203.0.113.10"),
	    ACCT_OK);
}

static bool
file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	size_t n = strlen(needle), len = 0, cap = 0;
	char *buf = NULL, chunk[65536];
	bool found = false;

	if (f == NULL)
		return false;
	while ((len = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *nb = realloc(buf, cap + len);
		assert_non_null(nb);
		buf = nb;
		memcpy(buf + cap, chunk, len);
		cap += len;
	}
	fclose(f);
	for (size_t i = 0; !found && i + n <= cap; i++)
		found = memcmp(buf + i, needle, n) == 0;
	free(buf);
	return found;
}

static void
test_audit_rows_and_no_secrets(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *rows, *r = NULL;
	char path[256];

	assert_int_equal(login_code(d, "alice", SECRET, "198.51.100.7"),
	    ACCT_OK);
	assert_int_equal(login_code(d, "alice", "Wrong-" SECRET,
	    "198.51.100.7"), ACCT_ERR_AUTH_FAILED);
	proto_msg_init(&m);
	proto_kv_int(&m, "limit", 10);
	assert_int_equal(th_call(d->sock, "audit_logins", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	rows = proto_map_get(rep.result, "logins");
	assert_non_null(rows);
	for (uint32_t i = 0; i < rows->via.array.size; i++)
		if (th_str_is(&rows->via.array.ptr[i], "client",
		    "198.51.100.7"))
			r = &rows->via.array.ptr[i];
	assert_non_null(r);
	assert_true(th_str_is(r, "username", "alice"));
	assert_true(th_str_is(r, "realm", "imap"));
	assert_true(th_str_is(r, "status", "FAILED"));	/* the latest */
	assert_false(th_is_nil(r, "last_login"));
	assert_false(th_is_nil(r, "failed_at"));
	assert_int_equal(th_int(r, "attempts", 0), 2);
	proto_reply_free(&rep);
	/* The password is nowhere: not in the log, database or WAL. */
	assert_false(file_contains(d->log, SECRET));
	assert_false(file_contains(d->db, SECRET));
	snprintf(path, sizeof(path), "%s-wal", d->db);
	assert_false(file_contains(path, SECRET));
	/* audit_reset needs confirm, then empties the log. */
	proto_msg_init(&m);
	proto_kv_bool(&m, "confirm", false);
	assert_int_equal(th_call_code(d->sock, "audit_reset", &m),
	    ACCT_ERR_CONFIRM);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_bool(&m, "confirm", true);
	assert_int_equal(th_call_code(d->sock, "audit_reset", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(audit_attempts(d, "alice", "OK"), 0);
}

struct as_arg {
	const struct th_daemon	*d;
	const char		*op;
};

static int
as_login(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;

	fprintf(out, "%d", login_code(d, "alice", SECRET, NULL));
	return 0;
}

static int
as_audit(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;
	struct proto_msg m;

	proto_msg_init(&m);
	fprintf(out, "%d", th_call_code(d->sock, "audit_logins", &m));
	proto_msg_free(&m);
	return 0;
}

static void
test_who_may_login(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1, { TH_AUTH_GID } };
	char buf[32];

	if (!th_is_root())
		skip();
	assert_int_equal(th_as(&plain, as_login, d, buf, sizeof(buf)), 0);
	assert_int_equal(atoi(buf), ACCT_ERR_DENIED);
	assert_int_equal(th_as(&authn, as_login, d, buf, sizeof(buf)), 0);
	assert_int_equal(atoi(buf), ACCT_OK);
	/* The audit log is for admins only. */
	assert_int_equal(th_as(&authn, as_audit, d, buf, sizeof(buf)), 0);
	assert_int_equal(atoi(buf), ACCT_ERR_DENIED);
	assert_int_equal(th_as(&plain, as_audit, d, buf, sizeof(buf)), 0);
	assert_int_equal(atoi(buf), ACCT_ERR_DENIED);
}

static char *
stored_hash(const struct th_daemon *d, const char *user)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *h = NULL;

	assert_int_equal(sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT password_hash FROM "
	    "accounts WHERE username = ?1 AND deleted_at IS NULL", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		h = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_non_null(h);
	return h;
}

static void
set_stored_hash(const struct th_daemon *d, const char *user, const char *h)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(d->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE accounts SET "
	    "password_hash = ?1 WHERE username = ?2", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(th_db_changed(d), 0);
}

static void
test_rehash_on_login(void **state)
{
	struct th_daemon *d = *state;
	char *h;

	h = stored_hash(d, "alice");
	assert_non_null(strstr(h, "$m=64,t=1,p=1$"));
	free(h);
	assert_int_equal(th_write_config(d, "argon2_memory_kib = 128\n"), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	/* A failed login changes nothing. */
	assert_int_equal(login_code(d, "alice", "wrong-pw-4", NULL),
	    ACCT_ERR_AUTH_FAILED);
	h = stored_hash(d, "alice");
	assert_non_null(strstr(h, "$m=64,t=1,p=1$"));
	free(h);
	assert_int_equal(login_code(d, "alice", SECRET, NULL), ACCT_OK);
	h = stored_hash(d, "alice");
	assert_non_null(strstr(h, "$m=128,t=1,p=1$"));
	free(h);
	assert_int_equal(login_code(d, "alice", SECRET, NULL), ACCT_OK);
}

/* An edited row asking for 4 GiB is refused, not obeyed. */
static void
test_stored_params_capped(void **state)
{
	struct th_daemon *d = *state;
	char *h = stored_hash(d, "alice"), *p = strstr(h, "$m=64,");
	char bomb[512];

	assert_non_null(p);
	*p = '\0';
	snprintf(bomb, sizeof(bomb), "%s$m=4194304,%s", h, p + 6);
	set_stored_hash(d, "alice", bomb);
	assert_int_equal(login_code(d, "alice", SECRET, NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_int(NULL, "x", 7), 7);	/* harness sanity */
	free(h);
	/* Still serving. */
	assert_true(th_user_exists(d->sock, "alice"));
}

/* Slow hashes, one worker: user_show must not wait behind them. */
static void
test_cheap_request_while_workers_busy(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	pid_t kids[8];
	int still_running = 0;

	assert_int_equal(th_write_config(d, "argon2_memory_kib = 65536\n"
	    "argon2_time = 3\nhash_workers = 1\n"
	    "source_lockout_failures = 100\nlockout_failures = 100\n"), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	for (size_t i = 0; i < 8; i++) {
		/* Unknown users cost a hash at the configured 64 MiB. */
		if ((kids[i] = fork()) == 0)
			_exit(login_code(d, "ghost", "wrong-pw-5", NULL) ==
			    ACCT_ERR_AUTH_FAILED ? 0 : 1);
		assert_true(kids[i] > 0);
	}
	/* Give them a moment to queue; correctness doesn't depend on it. */
	usleep(200 * 1000);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call_code(d->sock, "user_show", &m), ACCT_OK);
	proto_msg_free(&m);
	/* Eight 64 MiB hashes on one worker take over a second: the show
	 * came back while most of them were still queued. */
	for (size_t i = 0; i < 8; i++)
		if (waitpid(kids[i], NULL, WNOHANG) == 0)
			still_running++;
	for (size_t i = 0; i < 8; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) == kids[i])
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	assert_true(still_running > 0);
}

/*
 * The threads of pid by nice value, counted: [0] at the main thread's,
 * [1] HASH_NICE (10) below it (at most 19), [2] any other.
 */
static void
thread_nices(pid_t pid, int counts[3])
{
	char path[320], line[1024], *p;
	int nices[256], n = 0, base = 99;
	struct dirent *e;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	assert_non_null(dir = opendir(path));
	while ((e = readdir(dir)) != NULL && n < 256) {
		int nice = 99, field = 3;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
		    e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;	/* gone meanwhile */
		if (fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL)
			for (p = strtok(p + 1, " "); p != NULL;
			    p = strtok(NULL, " "))
				if (field++ == 19)
					nice = atoi(p);
		fclose(f);
		if (atoi(e->d_name) == (int)pid)
			base = nice;
		nices[n++] = nice;
	}
	closedir(dir);
	/* make check itself may run under nice: all is relative to it. */
	assert_true(base < 19);
	counts[0] = counts[1] = counts[2] = 0;
	for (int i = 0; i < n; i++)
		counts[nices[i] == base ? 0 : nices[i] == (base + 10 < 19 ?
		    base + 10 : 19) ? 1 : 2]++;
}

/*
 * A steady stream of logins, each a commit, keeps the WAL bounded: the
 * checkpoint at a commit must find no reader's kept snapshot from just
 * before it, or it can copy none of the pages every login rewrites, and
 * the WAL grows by a login's pages each time until acctd stops.
 */
static void
test_wal_bounded_under_logins(void **state)
{
	/* SQLite checkpoints at 1000 pages; the WAL restarts after that. */
	const off_t bound = 1100 * (4096 + 24) + 32;
	struct th_daemon *d = *state;
	char path[4096];
	struct stat sb;
	int i;

	for (i = 0; i < 800; i++)
		assert_int_equal(login_code(d, "alice", SECRET, NULL),
		    ACCT_OK);
	snprintf(path, sizeof(path), "%s-wal", d->db);
	assert_int_equal(stat(path, &sb), 0);
	print_message("WAL after %d logins: %lld bytes\n", i,
	    (long long)sb.st_size);
	assert_true(sb.st_size <= bound);
}

/*
 * Slow hashes run on threads 10 nice levels below the rest, and nothing
 * else does: a token check that arrives while every CPU hashes is
 * scheduled at once. (How much
 * sooner is a figure of make bench, not of a test.)
 */
static void
test_hashes_run_below_requests(void **state)
{
	struct th_daemon *d = *state;
	int n[3];

	/* A hash that costs more than a millisecond (cheaper ones run in
	 * place); the test's usual parameters cost less. */
	assert_int_equal(th_write_config(d, "argon2_memory_kib = 16384\n"),
	    0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(login_code(d, "alice", SECRET, NULL), ACCT_OK);
	assert_int_equal(login_code(d, "alice", "wrong-pw-9", NULL),
	    ACCT_ERR_AUTH_FAILED);
	thread_nices(d->pid, n);
	assert_true(n[0] >= 1);		/* the main thread */
	assert_true(n[1] >= 1);		/* a hash runner, kept */
	assert_int_equal(n[2], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success_returns_account,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_login_by_email,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_answer_for_every_failure, setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_lockout_engages_and_unlock,
		    setup_lockout, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_parallel_attempts_do_not_slip_past, setup_lockout,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_mod_keeps_counters,
		    setup_lockout, th_teardown),
		cmocka_unit_test_setup_teardown(test_lock_expires,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_source_lockout,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_audit_rows_and_no_secrets,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_who_may_login,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_rehash_on_login,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_stored_params_capped,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_cheap_request_while_workers_busy, setup_plain,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_wal_bounded_under_logins,
		    setup_plain, th_teardown),
		cmocka_unit_test_setup_teardown(test_hashes_run_below_requests,
		    setup_plain, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
