/*
 * test_purge.c: deleted accounts, as an admin keeps them for years:
 * users ls --deleted, users rm --purge leaving nothing secret in the
 * database file (its hash and email searched for in the raw bytes),
 * several deleted accounts of one name told apart by id, and
 * purge_deleted_after_days at work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define PW	"bob-password-1"

/* The raw database file and its log, for what may not be in either. */
static bool
in_files(const struct th_daemon *d, const char *needle)
{
	char path[160];
	const char *suffix[] = { "", "-wal" };
	bool found = false;

	for (int i = 0; i < 2; i++) {
		size_t len = 0;
		char *buf;

		snprintf(path, sizeof(path), "%s%s", d->db, suffix[i]);
		if ((buf = th_slurp(path, &len)) != NULL &&
		    th_memmem(buf, len, needle))
			found = true;
	}
	return found;
}

/* The one Argon2id hash in the database (bob's, the only account). */
static char *
hash_of(const struct th_daemon *d)
{
	char *h = th_keep(th_db_dump(d));

	assert_non_null(h);
	assert_non_null(h = strstr(h, "$argon2id$"));
	return th_keep(strndup(h, strcspn(h, "|\n")));
}

static void
test_purge_leaves_nothing(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct th_mail m;
	char conf[512], *hash;

	/* A real mailer, so that the audit records the address it sent to. */
	assert_int_equal(th_mail_start(&m), 0);
	assert_int_equal(th_mail_config(&m, conf, sizeof(conf)), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_write_config(d, conf), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_add_user(d->sock, "bob", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "users", "mod", "-m", "bob.secret@example.org",
	    "bob");
	assert_int_equal(th_call_strs(d->sock, "password_forgot", "email",
	    "bob.secret@example.org", (char *)NULL), ACCT_OK);
	assert_non_null(th_mail_wait(&m, 1));
	th_mail_stop(&m);
	/* Recorded once the mailer has returned, a moment after delivery. */
	for (int i = 0; i < 300 && th_db_int(d, "SELECT count(*) FROM "
	    "audit_events WHERE subject = 'bob.secret@example.org'", NULL) == 0;
	    i++)
		usleep(10000);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_events "
	    "WHERE event = 'mail_sent' AND subject = 'bob.secret@example.org'",
	    NULL), 1);
	assert_int_equal(th_call_strs(d->sock, "login", "username", "bob",
	    "password", PW, (char *)NULL), ACCT_OK);
	TH_RUN(d, NULL, 0, "auth", "add", "--name", "mail", "bob");
	hash = hash_of(d);
	TH_RUN(d, NULL, 0, "users", "rm", "bob");
	TH_RUN(d, NULL, 0, "users", "ls", "--deleted");
	assert_true(th_contains(r.out, " bob "));
	/* Deleted, the hash and the address are still there. */
	assert_int_equal(th_stop(d), 0);
	assert_true(in_files(d, hash));
	assert_true(in_files(d, "bob.secret@example.org"));
	assert_int_equal(th_start(d), 0);
	TH_RUN(d, NULL, 0, "users", "rm", "--purge", "bob");
	assert_true(th_contains(r.out, "purged"));
	TH_RUN(d, NULL, 0, "users", "ls", "--deleted");
	assert_false(th_contains(r.out, " bob "));
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM tokens", NULL), 0);
	/* Not in the files, the log folded in or not. */
	assert_false(in_files(d, hash));
	assert_false(in_files(d, "bob.secret@example.org"));
	assert_int_equal(th_stop(d), 0);
	assert_false(in_files(d, hash));
	assert_false(in_files(d, "bob.secret@example.org"));
	assert_int_equal(th_db_integrity(d), 0);
	assert_int_equal(th_start(d), 0);
	/* The audit keeps the username, in the mail record too. */
	TH_RUN(d, NULL, 0, "audit", "logins", "bob");
	assert_true(th_contains(r.out, "bob"));
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_events "
	    "WHERE event = 'mail_sent' AND subject = 'bob'", NULL), 1);
	TH_RUN(d, NULL, 1, "users", "rm", "--purge", "bob");
	th_result_free(&r);
}

/* A live account purged at once: deleted and erased in one go. */
static void
test_purge_live(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(th_add_user(d->sock, "ann", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "users", "rm", "--purge", "ann");
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'ann'", NULL), 0);
	TH_RUN(d, NULL, 2, "users", "rm", "--id", "x", "ann");
	th_result_free(&r);
}

/* The id of the deleted account of name deleted at index i (0 newest). */
static char *
deleted_id(const struct th_daemon *d, const char *name, int i)
{
	struct th_result r = { 0 };
	char expr[128], *id;

	TH_RUN(d, NULL, 0, "--json", "users", "ls", "--deleted", name);
	snprintf(expr, sizeof(expr), "sorted(d['users'], key=lambda u: "
	    "-u['deleted_at'])[%d]['id']", i);
	id = th_json_must(r.out, expr);
	th_result_free(&r);
	return id;
}

/* Two deleted accounts of one name: no silent choice, by id either. */
static void
test_several_deleted(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *older, *newer;

	assert_int_equal(th_add_user(d->sock, "carol", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "users", "mod", "-n", "Carol One", "carol");
	TH_RUN(d, NULL, 0, "users", "rm", "carol");
	assert_int_equal(th_db_exec(d, "UPDATE accounts SET deleted_at = "
	    "deleted_at - 100 WHERE username = 'carol'"), 0);
	TH_RUN(d, NULL, 0, "users", "add", "--no-restore", "-p", PW, "carol");
	TH_RUN(d, NULL, 0, "users", "mod", "-n", "Carol Two", "carol");
	TH_RUN(d, NULL, 0, "users", "rm", "carol");
	older = deleted_id(d, "carol", 1);
	newer = deleted_id(d, "carol", 0);
	assert_string_not_equal(older, newer);
	/* Restoring without saying which: refused, naming the way. */
	TH_RUN(d, NULL, 1, "users", "add", "--restore", "carol");
	assert_true(th_contains(r.err, "2 deleted accounts named 'carol'"));
	assert_true(th_contains(r.err, "users ls --deleted carol"));
	TH_RUN(d, NULL, 1, "users", "add", "carol");
	TH_RUN(d, NULL, 1, "users", "rm", "--purge", "carol");
	/* By id: the older one back, the newer one purged. */
	TH_RUN(d, NULL, 0, "users", "add", "--restore", older, "carol");
	assert_true(th_contains(r.out, "restored"));
	TH_RUN(d, NULL, 0, "users", "show", "carol");
	assert_string_equal(th_show_val(r.out, "Name"), "Carol One");
	TH_RUN(d, NULL, 0, "users", "rm", "--purge", "--id", newer, "carol");
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'carol'", NULL), 1);
	TH_RUN(d, NULL, 1, "users", "rm", "--purge", "--id", newer, "carol");
	th_result_free(&r);
}

/* Accounts deleted more than purge_deleted_after_days ago go by
 * themselves (the purge runs at start and hourly). */
static void
test_purge_after_days(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(th_add_user(d->sock, "dave", PW), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "erin", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "users", "rm", "dave");
	TH_RUN(d, NULL, 0, "users", "rm", "erin");
	assert_int_equal(th_db_exec(d, "UPDATE accounts SET deleted_at = "
	    "deleted_at - 3 * 86400 WHERE username = 'dave'"), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_write_config(d, "purge_deleted_after_days = 2\n"),
	    0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_wait_log(d, 0, "purged 1 accounts deleted more "
	    "than 2 days ago", TH_WAIT_MS), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'dave'", NULL), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'erin'", NULL), 1);
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_purge_leaves_nothing,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_purge_live, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_several_deleted, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_purge_after_days,
		    th_setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
