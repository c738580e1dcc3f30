/*
 * test_locks.c: locks an admin can see and clear, through the real
 * acctc: users ls --locked/--pending/--disabled and its Status column,
 * users mod --unlock saying what it cleared, audit locks listing the
 * locked and slowed sources and clearing one or all.
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

#define PW	"bob-password-1"

static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

static int
setup(void **state)
{
	struct th_daemon *d;

	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	if (th_up(d, "lockout_failures = 3\nsource_lockout_failures = 3\n") !=
	    0 || th_add_user(d->sock, "bob", PW) != ACCT_OK ||
	    th_add_user(d->sock, "carol", PW) != ACCT_OK)
		return -1;
	return 0;
}

static void
fail_logins(const struct th_daemon *d, const char *user, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(th_call_strs(d->sock, "login", "username",
		    user, "password", "wrong", (char *)NULL),
		    ACCT_ERR_AUTH_FAILED);
}

/* The account's line of a users ls table, spaces made one. */
static char *
row(const char *table, const char *user)
{
	char prefix[64], *l, *o;

	snprintf(prefix, sizeof(prefix), "%s ", user);
	if ((l = th_line_after(table, prefix)) == NULL)
		return NULL;
	while (*l == ' ')
		l++;
	o = l;
	for (const char *p = l; *p != '\0'; p++)
		if (*p != ' ' || o == l || o[-1] != ' ')
			*o++ = *p;
	*o = '\0';
	return l;
}

static void
test_users_ls_filters(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct proto_msg m;

	fail_logins(d, "bob", 3);
	assert_int_equal(th_add_user(d->sock, "dave", PW), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "dave");
	proto_kv_bool(&m, "login", false);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_true(strncmp(row(r.out, "bob"), "locked ", 7) == 0);
	assert_true(strncmp(row(r.out, "carol"), "active ", 7) == 0);
	assert_true(strncmp(row(r.out, "dave"), "disabled ", 9) == 0);
	TH_RUN(d, NULL, 0, "users", "ls", "--locked");
	assert_non_null(row(r.out, "bob"));
	assert_null(row(r.out, "carol"));
	assert_null(row(r.out, "dave"));
	TH_RUN(d, NULL, 0, "users", "ls", "--disabled");
	assert_non_null(row(r.out, "dave"));
	assert_null(row(r.out, "bob"));
	TH_RUN(d, NULL, 0, "users", "ls", "--pending");
	assert_null(row(r.out, "bob"));
	TH_RUN(d, NULL, 2, "users", "ls", "--locked", "--deleted");
	TH_RUN(d, NULL, 0, "--json", "users", "show", "bob");
	assert_string_equal(th_json_must(r.out, "d['user']['status']"),
	    "locked");
	/* --unlock says what it cleared. */
	TH_RUN(d, NULL, 0, "users", "mod", "--unlock", "bob");
	assert_true(th_contains(r.out, "Cleared 3 failed logins.\n"));
	assert_true(th_contains(r.out, "Cleared the lock until "));
	TH_RUN(d, NULL, 0, "users", "mod", "--unlock", "bob");
	assert_true(th_contains(r.out, "It was not locked.\n"));
	TH_RUN(d, NULL, 0, "users", "ls", "--locked");
	assert_null(row(r.out, "bob"));
	th_result_free(&r);
}

/* As an authenticator: n wrong logins for made-up names, from addr
 * (NULL: none, so the service is the source). */
static int
spray(void *arg, FILE *out)
{
	const char *const *a = arg;

	(void)out;
	for (int i = 0; i < 3; i++) {
		struct th_req r = { a[0], "login", { TH_S("username", "nope"),
		    TH_S("password", "x"), TH_S("service", "imap") } };

		if (a[1] != NULL)
			r.a[3] = (struct th_arg)TH_S("remote_addr", a[1]);
		if (th_req_as(NULL, &r, NULL, 0) != ACCT_ERR_AUTH_FAILED)
			return 1;
	}
	return 0;
}

static void
test_audit_locks(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const char *locked[] = { d->sock, "203.0.113.9" };
	const char *other[] = { d->sock, "198.51.100.4" };
	const char *slowed[] = { d->sock, NULL };
	char *id;

	if (!th_is_root()) {
		print_message("not root: cannot take another uid\n");
		skip();
	}
	assert_int_equal(th_as(&authn, spray, locked, NULL, 0), 0);
	assert_int_equal(th_as(&authn, spray, other, NULL, 0), 0);
	assert_int_equal(th_as(&authn, spray, slowed, NULL, 0), 0);
	TH_RUN(d, NULL, 0, "--json", "audit", "locks");
	assert_string_equal(th_json_must(r.out, "len(d['sources'])"), "3");
	TH_RUN(d, NULL, 0, "audit", "locks", "--csv");
	assert_true(th_contains(r.out, ";65534;203.0.113.9;;3;locked;"));
	assert_true(th_contains(r.out, ";65534;;imap;3;slowed;"));
	/* The locked address keeps the right password out. */
	th_assert_as(d->sock, &authn, ACCT_ERR_AUTH_FAILED, "login",
	    { TH_S("username", "carol"), TH_S("password", PW),
	    TH_S("remote_addr", "203.0.113.9") });
	/* Clear that one by its ID: the other two stay. */
	TH_RUN(d, NULL, 0, "--json", "audit", "locks");
	id = th_json_must(r.out, "[s['id'] for s in d['sources'] if "
	    "s['remote_addr'] == '203.0.113.9'][0]");
	TH_RUN(d, NULL, 0, "audit", "locks", "--clear", id);
	assert_string_equal(r.out, "Cleared 1 sources.\n");
	TH_RUN(d, NULL, 1, "audit", "locks", "--clear", id);
	TH_RUN(d, NULL, 0, "--json", "audit", "locks");
	assert_string_equal(th_json_must(r.out, "len(d['sources'])"), "2");
	th_assert_as(d->sock, &authn, ACCT_OK, "login",
	    { TH_S("username", "carol"), TH_S("password", PW),
	    TH_S("remote_addr", "203.0.113.9") });
	/* All of them. */
	TH_RUN(d, NULL, 0, "audit", "locks", "--clear");
	assert_string_equal(r.out, "Cleared 2 sources.\n");
	TH_RUN(d, NULL, 0, "--json", "audit", "locks");
	assert_string_equal(th_json_must(r.out, "len(d['sources'])"), "0");
	TH_RUN(d, NULL, 2, "audit", "locks", "7");
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users_ls_filters, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_audit_locks, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
