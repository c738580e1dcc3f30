/*
 * test_concurrency.c: writes that overlap a slow hash, against a real
 * acctd: a user_mod that sets a password writes only what it changes,
 * to the row as it is when the hash is done, and a login's session is
 * written only if the password it verified is still the account's.
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

#define ALICE_PW	"alice-password"
#define NEW_PW		"a-new-password"

#define S	TH_S
#define B	TH_B

/* About half a second a hash: long enough for a write to land in it. */
static int
setup(void **state)
{
	struct th_daemon *d;

	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	if (th_up(d, "argon2_memory_kib = 65536\nargon2_time = 16\n") != 0 ||
	    th_add_user(d->sock, "alice", ALICE_PW) != ACCT_OK)
		return -1;
	return 0;
}

static int64_t
column(const struct th_daemon *d, const char *col)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM accounts WHERE "
	    "username = 'alice' ORDER BY rowid DESC LIMIT 1", col);
	return th_db_int(d, sql, NULL);
}

/* The request r (as root), started now; its result later. */
static void
start(struct th_req *r, struct th_child *c)
{
	assert_int_equal(th_req_start(NULL, r, c), 0);
	usleep(150 * 1000);	/* it is hashing now */
}

/* A user_rm while user_mod hashes: the account stays deleted. */
static void
test_mod_does_not_undo_rm(void **state)
{
	struct th_daemon *d = *state;
	struct th_req mod = { d->sock, "user_mod", { S("username", "alice"),
	    S("new_password", NEW_PW) } };
	struct th_child c;

	start(&mod, &c);
	assert_int_equal(th_call_strs(d->sock, "user_rm", "username", "alice",
	    (char *)NULL), ACCT_OK);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_ERR_NOT_FOUND);
	assert_false(th_user_exists(d->sock, "alice"));
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'alice' AND deleted_at IS NULL", NULL), 0);
}

/* login=false set while another user_mod hashes a password: both stay. */
static void
test_mod_keeps_other_mod(void **state)
{
	struct th_daemon *d = *state;
	struct th_req mod = { d->sock, "user_mod", { S("username", "alice"),
	    S("new_password", NEW_PW) } };
	struct th_child c;
	struct proto_msg m;

	start(&mod, &c);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", false);
	proto_kv_str(&m, "name", "Alice Meanwhile");
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_OK);
	assert_int_equal(column(d, "login_allowed"), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "display_name = 'Alice Meanwhile'", NULL), 1);
	/* And the new password is the account's. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", true);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_call_strs(d->sock, "login", "username", "alice",
	    "password", NEW_PW, (char *)NULL), ACCT_OK);
}

/*
 * A login with session=true whose hash overlaps the password's removal
 * leaves no session that validates: the removal ended the sessions
 * there were, and the login's is not written once the hash is gone.
 */
static void
test_session_after_password_removed(void **state)
{
	struct th_daemon *d = *state;
	struct th_req login = { d->sock, "login", { S("username", "alice"),
	    S("password", ALICE_PW), B("session", 1) } };
	struct th_child c;
	struct proto_msg m;

	start(&login, &c);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "remove", true);
	assert_int_equal(th_call_code(d->sock, "passwd", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM tokens WHERE "
	    "type = 'session'", NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mod_does_not_undo_rm,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_mod_keeps_other_mod,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_after_password_removed, setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
