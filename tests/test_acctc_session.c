/*
 * test_acctc_session.c: `acctc auth add --session`, the command line's
 * way to open a session for an account (SSO tests and scripts), against
 * a real acctd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static int
setup(void **state)
{
	if (th_setup(state) == -1)
		return -1;
	if (th_call_strs(((struct th_daemon *)*state)->sock, "user_add",
	    "username", "sam", "auth_provider", "oidc", "auth_id", "sub-1",
	    (char *)NULL) == ACCT_OK)
		return 0;
	/* cmocka skips the teardown of a failed setup. */
	th_teardown(state);
	return -1;
}

/* The token printed after "Session token: ", validated as a session. */
static void
test_session_opened(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r;
	struct proto_msg m;
	struct proto_reply rep;
	char token[128];
	const char *p;

	assert_int_equal(th_acctc(d, NULL, &r, "auth", "add", "--session",
	    "--name", "portal", "--scope", "portal", "--expires", "1h", "sam",
	    NULL), 0);
	assert_non_null(p = strstr(r.out, "Session token: "));
	assert_int_equal(sscanf(p, "Session token: %127s", token), 1);
	assert_int_equal(strlen(token), 81);
	assert_true(th_contains(r.out, "it will not be shown again"));
	assert_true(th_contains(r.out, "session"));
	assert_true(th_contains(r.out, "portal"));
	proto_msg_init(&m);
	proto_kv_str(&m, "token", token);
	proto_kv_str(&m, "service", "portal");
	assert_int_equal(th_call(d->sock, "token_validate", &m, &rep),
	    ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	assert_true(th_str_is(proto_map_get(rep.result, "user"), "username",
	    "sam"));
	proto_reply_free(&rep);
	/* Out of its scope, it is no good. */
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token",
	    token, "service", "webdav", (char *)NULL),
	    ACCT_ERR_INVALID_TOKEN);
	/* A session, listed as one. */
	assert_int_equal(th_acctc(d, NULL, &r, "auth", "ls", "--type",
	    "session", "--tsv", NULL), 0);
	assert_true(th_contains(r.out, "\tsession\tsam\tportal\t"));
}

static void
test_session_json(void **state)
{
	static const char *const keys[] = { "session", "token", "user",
	    NULL };
	struct th_daemon *d = *state;
	struct th_result r;

	assert_int_equal(th_acctc(d, NULL, &r, "--json", "auth", "add",
	    "--session", "sam", NULL), 0);
	for (size_t i = 0; keys[i] != NULL; i++) {
		char k[32];

		snprintf(k, sizeof(k), "\"%s\":", keys[i]);
		assert_true(th_contains(r.out, k));
	}
	assert_false(th_contains(r.out, "Copy it now"));
}

/* Admins and authenticators only; and only auth add has the flag. */
static void
test_session_refusals(void **state)
{
	static const struct th_cred plain = { .uid = 1234, .gid = 1234 };
	struct th_daemon *d = *state;
	struct th_result r;

	assert_int_equal(th_acctc_as(d, &plain, NULL, &r, "auth", "add",
	    "--session", "sam", NULL), 1);
	assert_true(th_contains(r.err, "permission denied"));
	assert_false(th_contains(r.out, "Session token"));
	assert_int_equal(th_acctc(d, NULL, &r, "auth", "add", "--session",
	    "nosuchuser", NULL), 1);
	assert_int_equal(th_acctc(d, NULL, &r, "clients", "add", "--session",
	    "sam", NULL), 2);
	assert_int_equal(th_acctc(d, NULL, &r, "auth", "add", "--session",
	    NULL), 2);
	assert_true(th_contains(r.err, "USERNAME missing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_opened, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_session_json, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_session_refusals, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
