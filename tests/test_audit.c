/*
 * test_audit.c: what acctd writes of client-chosen text, and what acctc
 * prints of it: log lines with escaped control bytes, audit records of
 * valid UTF-8 whatever a process calls itself, CSV/TSV cells that a
 * spreadsheet cannot run as formulas, and the other events (accounts,
 * passwords, tokens) that audit events lists, without their secrets.
 */
#include <sys/prctl.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define ALICE_PW	"alice-password"

static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

static int
setup(void **state)
{
	if (th_setup(state) != 0)
		return -1;
	return th_add_user(((struct th_daemon *)*state)->sock, "alice",
	    ALICE_PW) == ACCT_OK ? 0 : -1;
}

static int
login_service(const struct th_daemon *d, const char *service,
    const char *remote)
{
	return th_call_strs(d->sock, "login", "username", "alice", "password",
	    "wrong", "service", service, "remote_addr", remote, (char *)NULL);
}

/* An escape sequence in a service name reaches the log escaped. */
static void
test_log_escapes_control_bytes(void **state)
{
	struct th_daemon *d = *state;
	char *log;

	assert_int_equal(login_service(d, "imap\x1b[2J\x07\x7f", "::1"),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_wait_log(d, 0, "imap\\033[2J\\007\\177",
	    TH_WAIT_MS), 0);
	log = th_keep(th_read_log(d));
	assert_non_null(log);
	assert_null(strchr(log, '\x1b'));
	assert_null(strchr(log, '\x07'));
	assert_null(strchr(log, '\x7f'));
}

/* In a child: take a process name of invalid UTF-8 and controls, then
 * try a login, so the audit records that name. */
static int
odd_comm_login(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;

	(void)out;
	if (prctl(PR_SET_NAME, "\xff\xfemy\x1b[1m", 0, 0, 0) == -1)
		return 1;
	return th_call_strs(d->sock, "login", "username", "alice", "password",
	    ALICE_PW, (char *)NULL) == ACCT_OK ? 0 : 2;
}

/*
 * Whatever bytes a peer's process name holds, the audit stores valid
 * UTF-8 ('?' for each byte that is not, or is a control), and a strict
 * client reads the log back.
 */
static void
test_audit_comm_is_utf8(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	if (!th_is_root()) {
		print_message("not root: cannot take another uid\n");
		skip();
	}
	assert_int_equal(th_as(&authn, odd_comm_login, d, NULL, 0), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_logins "
	    "WHERE peer_comm = '??my?[1m'", NULL), 1);
	assert_int_equal(th_acctc(d, NULL, &r, "--json", "audit", "logins",
	    (char *)NULL), 0);
	assert_true(th_contains(r.out, "??my?[1m"));
	th_result_free(&r);
}

/* Cells a spreadsheet would run start with a quote, in CSV and TSV. */
static void
test_csv_formula_cells(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(login_service(d, "=HYPERLINK(\"http://x.example\")",
	    "+1-555"), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_service(d, "@SUM(A1)", "-2"),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_acctc(d, NULL, &r, "audit", "logins", "--csv",
	    (char *)NULL), 0);
	assert_true(th_contains(r.out,
	    "\"'=HYPERLINK(\"\"http://x.example\"\")\""));
	assert_true(th_contains(r.out, "\"'+1-555\""));
	assert_true(th_contains(r.out, "\"'@SUM(A1)\""));
	assert_true(th_contains(r.out, "\"'-2\""));
	assert_false(th_contains(r.out, ";=") || th_contains(r.out, ";@") ||
	    th_contains(r.out, ";+") || th_contains(r.out, "\n="));
	th_result_free(&r);
	assert_int_equal(th_acctc(d, NULL, &r, "audit", "logins", "--tsv",
	    (char *)NULL), 0);
	assert_true(th_contains(r.out, "\t'=HYPERLINK("));
	assert_true(th_contains(r.out, "'+1-555\t"));
	assert_false(th_contains(r.out, "\t=") || th_contains(r.out, "\n+"));
	th_result_free(&r);
}

/* What an admin did, as audit events shows it: who, to whom, never the
 * token's secret; searchable, in the formats of audit logins. */
static void
test_audit_events(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *token, *id;
	static const char *const said[] = { "account_created\tbob\t",
	    "account_changed\tbob\tname", "password_changed\tbob\t",
	    "token_issued\tbob\taccess_token ", "token_revoked\tbob\t",
	    "account_removed\tbob\t" };

	TH_RUN(d, "bob-password-1\n", 0, "users", "add", "--password-stdin",
	    "bob");
	TH_RUN(d, NULL, 0, "users", "mod", "-n", "Bob", "bob");
	TH_RUN(d, "bob-password-2\n", 0, "passwd", "--password-stdin", "bob");
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "bob");
	token = th_json_must(r.out, "d['token']");
	id = th_json_must(r.out, "d['info']['id']");
	TH_RUN(d, NULL, 0, "auth", "rm", id);
	TH_RUN(d, NULL, 0, "users", "rm", "bob");
	TH_RUN(d, NULL, 0, "audit", "events", "--tsv", "--no-header");
	for (size_t i = 0; i < sizeof(said) / sizeof(said[0]); i++)
		if (!th_contains(r.out, said[i]))
			fail_msg("no '%s' in:\n%s", said[i], r.out);
	/* Newest first, the uid that asked in its column. */
	if (th_is_root())
		assert_true(th_contains(r.out, "\t0\taccount_removed\tbob\t"));
	assert_true(strstr(r.out, "account_removed") <
	    strstr(r.out, "account_created"));
	assert_true(th_contains(r.out, id));
	th_assert_not_said(token);
	TH_RUN(d, NULL, 0, "--json", "audit", "events");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['events'][0]['event']"),
	    "account_removed");
	assert_string_equal(th_json_must(r.out, "d['total']"), "6");
	th_assert_not_said(token);
	/* Search: a part of the event, subject or detail. */
	TH_RUN(d, NULL, 0, "audit", "events", "--csv", "token_");
	assert_int_equal(th_count(r.out, "\n"), 3);
	assert_true(th_contains(r.out, "Time;UID;Event;Subject;Detail\n"));
	TH_RUN(d, NULL, 0, "audit", "events", "--md", "-n", "1");
	assert_true(th_contains(r.out, "| Time "));
	assert_true(th_contains(r.err, "next page: acctc "));
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_log_escapes_control_bytes,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_audit_comm_is_utf8, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_csv_formula_cells, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_audit_events, th_setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
