/*
 * test_client.c: the client's check of who serves the socket (proto/
 * client.c), through acctc and libacct: a squatter of another uid on the
 * path gets not one byte, unless the client is told to trust that uid.
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

#define SECRET	"squatted-password-1"

static const struct th_cred other = { .uid = 1234, .gid = 1234 };

static int
setup(void **state)
{
	struct th_squatter *sq = calloc(1, sizeof(*sq));

	if (sq == NULL || !th_is_root()) {
		fprintf(stderr, "test_client: needs root, to run the squatter "
		    "and the clients as other uids\n");
		free(sq);
		return -1;
	}
	*state = sq;
	return 0;
}

static int
teardown(void **state)
{
	struct th_squatter *sq = *state;
	int conns;
	long bytes;

	th_acctc_env(NULL);
	if (sq != NULL && sq->pid > 0)
		th_squatter_stop(sq, &conns, &bytes);
	free(sq);
	th_free_all();
	return 0;
}

/* acctc as cred (NULL: root) sends a password: refused, exit 3. */
static void
assert_acctc_refuses(const struct th_squatter *sq,
    const struct th_cred *cred)
{
	const char *const args[] = { "auth", "test", "--password-stdin",
	    "alice", NULL };
	struct th_result r;

	assert_int_equal(th_acctc_v(sq->sock, cred, SECRET "\n", args, &r),
	    3);
	assert_true(th_contains(r.err, sq->sock));
	assert_true(th_contains(r.err, "served by uid 65534, not root"));
	assert_true(th_contains(r.err, "ACCTC_SERVER_UID=65534"));
	assert_false(th_contains(r.err, SECRET));
	assert_string_equal(r.out, "");
	th_result_free(&r);
}

/* The squatter as nobody: root's acctc and another uid's send nothing. */
static void
test_acctc_sends_nothing_to_a_squatter(void **state)
{
	struct th_squatter *sq = *state;
	int conns;
	long bytes;

	assert_int_equal(th_squatter_start(sq, TH_NOBODY, false), 0);
	assert_acctc_refuses(sq, NULL);
	assert_acctc_refuses(sq, &other);
	assert_int_equal(th_squatter_stop(sq, &conns, &bytes), 0);
	/* They did connect (so the check is after connect) ... */
	assert_int_equal(conns, 2);
	/* ... and sent not one byte. */
	assert_int_equal(bytes, 0);
}

/* A uid named in ACCTC_SERVER_UID is trusted: the request goes out. */
static void
test_acctc_override_proceeds(void **state)
{
	const char *const args[] = { "--json", "hello", NULL };
	struct th_squatter *sq = *state;
	struct th_result r;
	int conns;
	long bytes;

	assert_int_equal(th_squatter_start(sq, TH_NOBODY, true), 0);
	th_acctc_env("ACCTC_SERVER_UID=65534");
	assert_int_equal(th_acctc_v(sq->sock, NULL, NULL, args, &r), 0);
	assert_string_equal(r.out, "{}\n");
	th_result_free(&r);
	/* Another uid is not the one named: still refused. */
	th_acctc_env(NULL);
	th_acctc_env("ACCTC_SERVER_UID=1234");
	assert_int_equal(th_acctc_v(sq->sock, NULL, NULL, args, &r), 3);
	th_result_free(&r);
	th_acctc_env(NULL);
	th_acctc_env("ACCTC_SERVER_UID=nobody");
	assert_int_equal(th_acctc_v(sq->sock, NULL, NULL, args, &r), 2);
	assert_true(th_contains(r.err, "ACCTC_SERVER_UID"));
	th_result_free(&r);
	assert_int_equal(th_squatter_stop(sq, &conns, &bytes), 0);
	assert_int_equal(conns, 2);	/* "nobody" never connected */
	assert_true(bytes > 0);
}

/* libacct: acct_open() refuses; acct_open_ex() with server_uid trusts. */
static void
test_libacct_checks_the_server(void **state)
{
	struct th_squatter *sq = *state;
	struct acct_options o = { 0 };
	acct_t *a = NULL;
	int conns;
	long bytes;

	assert_int_equal(th_squatter_start(sq, TH_NOBODY, true), 0);
	assert_int_equal(acct_open(sq->sock, &a), ACCT_ERR_UNTRUSTED);
	assert_null(a);
	assert_string_equal(acct_errname(ACCT_ERR_UNTRUSTED),
	    "untrusted_server");
	o.path = sq->sock;
	o.server_uid = 1234;
	assert_int_equal(acct_open_ex(&o, &a), ACCT_ERR_UNTRUSTED);
	assert_int_equal(th_squatter_stop(sq, &conns, &bytes), 0);
	assert_int_equal(conns, 2);
	assert_int_equal(bytes, 0);

	assert_int_equal(th_squatter_start(sq, TH_NOBODY, true), 0);
	o.path = sq->sock;
	o.server_uid = TH_NOBODY;
	o.timeout_ms = 5000;
	assert_int_equal(acct_open_ex(&o, &a), ACCT_OK);
	/* The fake's empty result has no user: the call went through. */
	assert_int_equal(acct_validate(a, "0123456789abcdef_x", NULL, NULL),
	    ACCT_OK);
	acct_close(a);
	assert_int_equal(th_squatter_stop(sq, &conns, &bytes), 0);
	assert_int_equal(conns, 1);
	assert_true(bytes > 0);
}

/* The real acctd, run by root, is trusted with no option at all. */
static void
test_root_daemon_trusted(void **state)
{
	struct th_daemon d;
	struct th_result r;
	acct_t *a = NULL;

	(void)state;
	assert_int_equal(th_up(&d, NULL), 0);
	assert_int_equal(acct_open(d.sock, &a), ACCT_OK);
	acct_close(a);
	assert_int_equal(th_acctc_as(&d, &other, NULL, &r, "hello", NULL), 0);
	th_result_free(&r);
	assert_int_equal(th_stop(&d), 0);
	th_cleanup(&d);
}

/* Context fields are cut as the daemon would, between characters. */
static void
test_clamp_at_character(void **state)
{
	char val[300];
	struct proto_msg m;
	msgpack_unpacked un;
	size_t off = 0;

	(void)state;
	val[0] = 'x';
	for (int i = 0; i < 140; i++)
		memcpy(val + 1 + 2 * i, "\xc3\xa9", 2);
	val[281] = '\0';
	proto_msg_init(&m);
	proto_kv_str_f(&m, F_REMOTE_ADDR, val);
	proto_kv_str_f(&m, F_USERNAME, "x");	/* not clamped: as given */
	msgpack_unpacked_init(&un);
	assert_int_equal(msgpack_unpack_next(&un, (const char *)m.data, m.len,
	    &off), MSGPACK_UNPACK_SUCCESS);	/* the key */
	assert_int_equal(msgpack_unpack_next(&un, (const char *)m.data, m.len,
	    &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(un.data.type, MSGPACK_OBJECT_STR);
	/* 64 bytes would end inside a character: 63. */
	assert_int_equal(un.data.via.str.size, 63);
	assert_memory_equal(un.data.via.str.ptr, val, 63);
	msgpack_unpacked_destroy(&un);
	proto_msg_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_acctc_sends_nothing_to_a_squatter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acctc_override_proceeds,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_libacct_checks_the_server,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_daemon_trusted,
		    setup, teardown),
		cmocka_unit_test(test_clamp_at_character),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
