/*
 * test_aging.c: account expiry and password aging against a real acctd,
 * as shadow-utils users know them (useradd -e, chage -M, passwd -e):
 * an expired account is one more auth_failed, its tokens stop; a
 * password past its age, or flagged by an admin, still logs in but
 * must be changed, and a change clears it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

#define PW	"bob-password-1"

static int
setup(void **state)
{
	if (th_setup(state) != 0)
		return -1;
	return th_add_user(((struct th_daemon *)*state)->sock, "bob", PW) ==
	    ACCT_OK ? 0 : -1;
}

/* A login's code, and its must_change in *mc (-1 when absent). */
static int
login(const struct th_daemon *d, const char *pw, int *mc)
{
	struct proto_msg m;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "password", pw);
	rc = th_call(d->sock, "login", &m, &rep);
	proto_msg_free(&m);
	if (rc == ACCT_OK)
		rc = rep.code;
	*mc = rc == ACCT_OK ? th_bool(rep.result, "must_change") : -1;
	proto_reply_free(&rep);
	return rc;
}

static int
mod_int(const struct th_daemon *d, const char *key, int64_t v)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_int(&m, key, v);
	rc = th_call_code(d->sock, "user_mod", &m);
	proto_msg_free(&m);
	return rc;
}

/* Past expires_at: the one auth_failed, audited EXPIRED, and its
 * tokens no longer stand for it; "never" undoes it. */
static void
test_expired_account(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	char *tok;
	int mc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "type", "access_token");
	assert_int_equal(th_call(d->sock, "token_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	tok = th_keep(strndup(proto_map_get(rep.result, "token")->via.str.ptr,
	    proto_map_get(rep.result, "token")->via.str.size));
	proto_reply_free(&rep);
	/* Expiring in a day: nothing changes yet. */
	assert_int_equal(mod_int(d, "expires_at", time(NULL) + 86400),
	    ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token", tok,
	    (char *)NULL), ACCT_OK);
	/* Expired a second ago. */
	assert_int_equal(mod_int(d, "expires_at", time(NULL) - 1), ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_logins "
	    "WHERE username = 'bob' AND status = 'EXPIRED'", NULL), 1);
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token", tok,
	    (char *)NULL), ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(th_call_strs(d->sock, "session_add", "username", "bob",
	    (char *)NULL), ACCT_ERR_DENIED);
	/* A wrong password is the same answer: nothing tells them apart. */
	assert_int_equal(login(d, "wrong", &mc), ACCT_ERR_AUTH_FAILED);
	/* A later date lets the account in again, but its old session
	 * ended when it expired: it stays ended. */
	assert_int_equal(mod_int(d, "expires_at", 0), ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token", tok,
	    (char *)NULL), ACCT_ERR_INVALID_TOKEN);
}

/* An admin's must_change: logins succeed and say so, until the owner
 * changes the password. */
static void
test_must_change(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct proto_msg m;
	int mc;

	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 0);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_bool(&m, "must_change", true);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 1);
	assert_int_equal(th_acctc(d, PW "\n", &r, "auth", "test",
	    "--password-stdin", "bob", (char *)NULL), 0);
	assert_string_equal(r.out, "Password for bob is valid; it must be "
	    "changed now.\n");
	th_result_free(&r);
	assert_int_equal(th_acctc(d, NULL, &r, "users", "show", "bob",
	    (char *)NULL), 0);
	assert_string_equal(th_show_val(r.out, "Must Change Password"), "yes");
	th_result_free(&r);
	assert_int_equal(th_call_strs(d->sock, "passwd", "username", "bob",
	    "password", PW, "new_password", "bob-password-2", (char *)NULL),
	    ACCT_OK);
	assert_int_equal(login(d, "bob-password-2", &mc), ACCT_OK);
	assert_int_equal(mc, 0);
}

/* A password older than its maximum age must be changed: the
 * account's own, else the config's; "never" exempts it. */
static void
test_password_max_age(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	int mc;

	/* Set ten days ago. */
	assert_int_equal(th_db_exec(d, "UPDATE accounts SET "
	    "password_changed_at = strftime('%s', 'now') - 10 * 86400 "
	    "WHERE username = 'bob'"), 0);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 0);	/* the config's default: off */
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "password_max_age", "30", (char *)NULL), ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 0);
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "password_max_age", "7", (char *)NULL), ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 1);
	assert_int_equal(th_acctc(d, NULL, &r, "users", "show", "bob",
	    (char *)NULL), 0);
	assert_string_equal(th_show_val(r.out, "Password Max Age"), "7 days");
	th_result_free(&r);
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "password_max_age", "never", (char *)NULL), ACCT_OK);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 0);
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "password_max_age", "soon", (char *)NULL), ACCT_ERR_INVALID);
	/* The config's, for an account without one of its own. */
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "password_max_age", "default", (char *)NULL), ACCT_OK);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_write_config(d, "password_max_age_days = 5\n"), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(mc, 1);
	/* A new password starts its age anew. */
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "bob",
	    "new_password", "bob-password-3", (char *)NULL), ACCT_OK);
	assert_int_equal(login(d, "bob-password-3", &mc), ACCT_OK);
	assert_int_equal(mc, 0);
}

/* acctc: --expires DATE|never, and users show's lines. */
static void
test_acctc_flags(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	int mc;

	assert_int_equal(th_acctc(d, NULL, &r, "users", "mod", "--expires",
	    "2001-02-03", "bob", (char *)NULL), 0);
	th_result_free(&r);
	assert_int_equal(login(d, PW, &mc), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_acctc(d, NULL, &r, "users", "show", "bob",
	    (char *)NULL), 0);
	assert_string_equal(th_show_val(r.out, "Expires"),
	    "2001-02-03 00:00:00 UTC");
	assert_non_null(th_show_val(r.out, "Password Changed"));
	assert_string_equal(th_show_val(r.out, "Password Max Age"), "default");
	th_result_free(&r);
	assert_int_equal(th_acctc(d, NULL, &r, "users", "mod", "--expires",
	    "never", "bob", (char *)NULL), 0);
	th_result_free(&r);
	assert_int_equal(login(d, PW, &mc), ACCT_OK);
	assert_int_equal(th_acctc(d, NULL, &r, "users", "mod", "--expires",
	    "next week", "bob", (char *)NULL), 2);
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expired_account, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_must_change, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_password_max_age, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_acctc_flags, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
