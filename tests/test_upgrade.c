/*
 * test_upgrade.c: databases of every earlier schema version, made by
 * replaying the daemon's own migrations up to that version and filling
 * each table that version has, are migrated by the current acctd, at
 * start-up (a package upgrade) and by acctd --restore (an old backup),
 * and everything in them still works: logins, tokens, two-factor, the
 * audit, locks, deleted accounts. A database newer than acctd, or with
 * a schema its migrations did not make, is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <crypt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sha2.h>
#include <sqlite3.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define PW	"Old-Pass-1"
#define ID	"0123456789abcdef0123456789abcdef"
#define TOTP	"JBSWY3DPEHPK3PXP"
#define TOKEN_ID "0123456789abcdef"
#define SECRET	"abababababababababababababababababababababababababababababababab"

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/*
 * The database at path as acctd at schema version v left it: the
 * migrations up to v, and rows in every table v has, as that version
 * wrote them.
 */
static void
build(const char *path, int v)
{
	struct crypt_data cd;
	char sql[1024], digest[SHA256_DIGEST_STRING_LENGTH];
	const char *hash;
	sqlite3 *db;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(hash = crypt_r(PW, "$6$upgradesaltsalt$", &cd));
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < v; i++)
		exec_sql(db, db_migration(i));
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	exec_sql(db, sql);
	snprintf(sql, sizeof(sql), "INSERT INTO accounts (id, username, "
	    "display_name, email, role, password_hash, created_at, updated_at) "
	    "VALUES ('%s', 'olduser', 'Old User', 'old@example.org', 'admin', "
	    "'%s', 1600000000, 1600000000)", ID, hash);
	exec_sql(db, sql);
	exec_sql(db, "INSERT INTO accounts (id, username, created_at, "
	    "updated_at, deleted_at) VALUES ('ffffffffffffffffffffffffffffffff',"
	    " 'gone', 1600000000, 1600000000, 1600000100)");
	if (v >= 2) {
		exec_sql(db, "INSERT INTO audit_logins (at, peer_uid, peer_pid, "
		    "peer_comm, realm, remote_addr, username, account_id, "
		    "status) VALUES (strftime('%s','now'), 0, 1, 'dovecot', "
		    "'imap', '192.0.2.1', 'olduser', '" ID "', 'OK')");
		exec_sql(db, v < 6 ? "INSERT INTO throttle_sources (peer_uid, "
		    "remote_addr, failures, locked_until, updated_at) VALUES "
		    "(1234, '198.51.100.7', 9, strftime('%s','now') + 3600, "
		    "strftime('%s','now'))" : "INSERT INTO throttle_sources "
		    "(peer_uid, remote_addr, service, failures, locked_until, "
		    "updated_at) VALUES (1234, '198.51.100.7', '', 9, "
		    "strftime('%s','now') + 3600, strftime('%s','now'))");
	}
	if (v >= 3) {
		SHA256Data((const uint8_t *)SECRET, strlen(SECRET), digest);
		snprintf(sql, sizeof(sql), "INSERT INTO tokens (id, type, "
		    "account_id, secret_sha256, name, created_at, "
		    "created_by_uid) VALUES ('" TOKEN_ID "', 'access_token', "
		    "'" ID "', '%s', 'old token', 1600000000, 0)", digest);
		exec_sql(db, sql);
	}
	if (v >= 4)
		exec_sql(db, "INSERT INTO audit_events (at, peer_uid, event, "
		    "subject, detail) VALUES (strftime('%s','now'), 0, "
		    "'mail_sent', 'old@example.org', 'Reset your password')");
	if (v >= 5) {
		exec_sql(db, "UPDATE accounts SET totp_secret = '" TOTP "', "
		    "totp_enabled = 1 WHERE id = '" ID "'");
		exec_sql(db, v == 5 ? "INSERT INTO recovery_codes (account_id, "
		    "code_sha256) VALUES ('" ID "', 'weak')" :
		    "INSERT INTO recovery_codes (account_id, salt, code_sha256) "
		    "VALUES ('" ID "', '00', 'strong')");
	}
	if (v >= 6)
		exec_sql(db, "INSERT INTO mail_limits (key, window_start, sent) "
		    "VALUES ('account:" ID "', strftime('%s','now'), 1)");
	if (v >= 7)
		exec_sql(db, "UPDATE accounts SET expires_at = 4102444800, "
		    "password_max_age_days = 90, must_change = 1 WHERE id = '"
		    ID "'");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* What version v had is all there, through the daemon; log is what
 * the migration wrote. */
static void
survived(struct th_daemon *d, int v, const char *log)
{
	struct th_result r = { 0 };
	struct proto_msg m;
	struct proto_reply rep;
	char code[8];
	int want;

	assert_int_equal(th_db_int(d, "PRAGMA user_version", NULL),
	    db_schema_latest());
	TH_RUN(d, NULL, 0, "users", "show", "olduser");
	assert_true(th_contains(r.out, "Old User"));
	assert_true(th_contains(r.out, "old@example.org"));
	assert_true(th_contains(r.out, "sha512-crypt"));
	TH_RUN(d, NULL, 0, "users", "ls", "--deleted", "gone");
	assert_true(th_contains(r.out, "gone"));
	/* The password; with two-factor from version 5, a code too. */
	want = v >= 5 ? ACCT_ERR_CODE_REQUIRED : ACCT_OK;
	assert_int_equal(th_call_strs(d->sock, "login", "username", "olduser",
	    "password", PW, (char *)NULL), want);
	if (v >= 5) {
		th_totp_code(TOTP, 0, code);
		proto_msg_init(&m);
		proto_kv_str(&m, "username", "olduser");
		proto_kv_str(&m, "password", PW);
		proto_kv_str(&m, "code", code);
		assert_int_equal(th_call(d->sock, "login", &m, &rep), ACCT_OK);
		assert_int_equal(rep.code, ACCT_OK);
		/* Set at 7: the result says the password must change. */
		assert_int_equal(th_bool(rep.result, "must_change"), v >= 7);
		proto_reply_free(&rep);
		proto_msg_free(&m);
	}
	if (v >= 2) {
		TH_RUN(d, NULL, 0, "audit", "logins", "olduser");
		assert_true(th_contains(r.out, "192.0.2.1"));
		TH_RUN(d, NULL, 0, "audit", "locks", "--csv");
		assert_true(th_contains(r.out, ";1234;198.51.100.7;;9;locked;"));
	}
	if (v >= 3)
		assert_int_equal(th_call_strs(d->sock, "token_validate",
		    "token", TOKEN_ID "_" SECRET, (char *)NULL), ACCT_OK);
	if (v >= 4)
		assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_events "
		    "WHERE event = 'mail_sent'", NULL), 1);
	/* The 50-bit codes of version 5 go, said in the log; later ones
	 * stay. */
	if (v >= 5)
		assert_int_equal(th_db_int(d, "SELECT count(*) FROM "
		    "recovery_codes", NULL), v == 5 ? 0 : 1);
	if (v == 5)
		assert_true(th_contains(log, "too short and are gone"));
	if (v >= 6)
		assert_int_equal(th_db_int(d, "SELECT count(*) FROM mail_limits",
		    NULL), 1);
	if (v >= 7) {
		TH_RUN(d, NULL, 0, "users", "show", "olduser");
		assert_true(th_contains(r.out, "2100-01-01"));
		assert_true(th_contains(r.out, "90 days"));
	}
	th_result_free(&r);
}

/* At start-up, in place: the package was upgraded. */
static void
test_upgrade_in_place(void **state)
{
	struct th_daemon *d = *state;
	char dir[160], want[64];

	for (int v = 1; v < db_schema_latest(); v++) {
		assert_int_equal(th_init(d, NULL), 0);
		snprintf(dir, sizeof(dir), "%s/db", d->dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		build(d->db, v);
		assert_int_equal(chmod(d->db, 0600), 0);
		assert_int_equal(th_start(d), 0);
		snprintf(want, sizeof(want), "schema migrated to version %d",
		    db_schema_latest());
		assert_int_equal(th_wait_log(d, 0, want, TH_WAIT_MS), 0);
		survived(d, v, th_keep(th_read_log(d)));
		assert_int_equal(th_stop(d), 0);
		th_cleanup(d);
	}
}

/* From an old backup, by acctd --restore, into an empty place. */
static void
test_upgrade_by_restore(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char old[160], want[64];

	for (int v = 1; v < db_schema_latest(); v++) {
		assert_int_equal(th_init(d, NULL), 0);
		snprintf(old, sizeof(old), "%s/old.db", d->dir);
		build(old, v);
		th_result_free(&r);
		assert_int_equal(th_acctd_restore(d, old, &r), 0);
		snprintf(want, sizeof(want), "schema version %d, migrated", v);
		assert_true(th_contains(r.err, want));
		/* The file restored from is left as it was. */
		assert_int_equal(th_file_int(old, "PRAGMA user_version"), v);
		assert_int_equal(th_start(d), 0);
		survived(d, v, r.err);
		assert_int_equal(th_stop(d), 0);
		th_cleanup(d);
	}
	th_result_free(&r);
}

/* A database newer than this acctd: it does not start, and says so. */
static void
test_newer_refused(void **state)
{
	struct th_daemon *d = *state;
	char dir[160], want[128], *log;
	pid_t pid;
	int st;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/db", d->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	build(d->db, db_schema_latest());
	{
		sqlite3 *db;
		char sql[64];

		assert_int_equal(sqlite3_open(d->db, &db), SQLITE_OK);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    db_schema_latest() + 1);
		exec_sql(db, sql);
		sqlite3_close(db);
	}
	assert_int_equal(chmod(d->db, 0600), 0);
	pid = th_spawn(d);
	assert_true(pid > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	snprintf(want, sizeof(want), "schema version %d is not one this acctd "
	    "knows", db_schema_latest() + 1);
	assert_non_null(log = th_keep(th_read_log(d)));
	assert_true(th_contains(log, want));
	assert_int_equal(th_file_int(d->db, "SELECT count(*) FROM accounts"),
	    2);
}

/*
 * A trigger planted in the database while acctd was stopped: it does
 * not start, and names it. At the version before the latest, it is
 * refused before migration 7's UPDATE of accounts could fire it.
 */
static void
test_planted_refused(void **state)
{
	struct th_daemon *d = *state;
	char dir[160], *log;
	pid_t pid;
	int st;

	for (int v = db_schema_latest() - 1; v <= db_schema_latest(); v++) {
		sqlite3 *db;

		assert_int_equal(th_init(d, NULL), 0);
		snprintf(dir, sizeof(dir), "%s/db", d->dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		build(d->db, v);
		assert_int_equal(sqlite3_open(d->db, &db), SQLITE_OK);
		exec_sql(db, "CREATE TRIGGER t_evil AFTER UPDATE ON accounts "
		    "BEGIN INSERT INTO mail_limits VALUES ('fired', 0, 0); "
		    "END");
		sqlite3_close(db);
		assert_int_equal(chmod(d->db, 0600), 0);
		pid = th_spawn(d);
		assert_true(pid > 0);
		if ((st = th_wait_pid(pid, TH_WAIT_MS)) == -1) {
			kill(pid, SIGKILL);
			(void)th_wait_pid(pid, TH_WAIT_MS);
		}
		assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
		assert_non_null(log = th_keep(th_read_log(d)));
		assert_true(th_contains(log, "unexpected trigger t_evil"));
		assert_true(th_contains(log, d->db));
		assert_int_equal(th_file_int(d->db, "PRAGMA user_version"), v);
		assert_int_equal(th_file_int(d->db, "SELECT count(*) FROM "
		    "mail_limits WHERE key = 'fired'"), 0);
		th_cleanup(d);
	}
}

#define T(f)	cmocka_unit_test_setup_teardown(f, th_setup_lazy, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_upgrade_in_place),
		T(test_upgrade_by_restore),
		T(test_newer_refused),
		T(test_planted_refused),
	};

	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_upgrade: ACCTC_BIN is not set\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("upgrade", tests, NULL, NULL);
}
