/*
 * test_saslauthd.c: acctd's saslauthd_socket against the real
 * testsaslauthd of Cyrus SASL (sasl2-bin), run as an authenticator and
 * as a plain uid, with app passwords for 2FA accounts, the optional
 * client address, and garbage that must harm nothing.
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

#define TESTSASLAUTHD	"/usr/sbin/testsaslauthd"
#define ALICE_PW	"alice-password"

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

struct env {
	struct th_daemon d;
	char		 mux[160];
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char extra[256];

	if (e == NULL || access(TESTSASLAUTHD, X_OK) != 0) {
		fprintf(stderr, "%s is missing: make deps installs "
		    "sasl2-bin\n", TESTSASLAUTHD);
		free(e);
		return -1;
	}
	*state = e;
	if (th_init(&e->d, NULL) != 0)
		return -1;
	snprintf(e->mux, sizeof(e->mux), "%s/mux", e->d.dir);
	snprintf(extra, sizeof(extra), "saslauthd_socket = %s\n"
	    "frame_timeout = 1\n", e->mux);
	if (th_write_config(&e->d, extra) != 0 || th_start(&e->d) != 0 ||
	    th_add_user(e->d.sock, "alice", ALICE_PW) != ACCT_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	int rc = 0;

	th_free_all();
	if (e == NULL)
		return 0;
	if (e->d.pid > 0 && th_stop(&e->d) != 0)
		rc = -1;
	th_cleanup(&e->d);
	free(e);
	return rc;
}

/* testsaslauthd as cred: its exit status; what it printed in out. */
static int
sasl(const struct env *e, const struct th_cred *cred, const char *user,
    const char *pw, char *out, size_t outsz)
{
	const char *const argv[] = { TESTSASLAUTHD, "-u", user, "-p", pw,
	    "-s", "smtp", "-f", e->mux, NULL };
	struct th_result r;
	int st = th_run_v(argv, cred, NULL, NULL, &r);

	snprintf(out, outsz, "%s", r.out ? r.out : "");
	th_result_free(&r);
	return st;
}

static int64_t
audited(const struct th_daemon *d, const char *status)
{
	return th_db_int(d, "SELECT count(*) FROM audit_logins WHERE realm = "
	    "'smtp' AND username = 'alice' AND status = ?1", status, NULL);
}

/* An authenticator's testsaslauthd: right, wrong, audited as smtp. */
static void
test_authenticator(void **state)
{
	struct env *e = *state;
	char out[256];

	TH_NEED_ROOT();
	assert_int_equal(sasl(e, &authn, "alice", ALICE_PW, out, sizeof(out)),
	    0);
	assert_true(th_contains(out, "OK"));
	assert_int_equal(sasl(e, &authn, "alice", "wrong-password", out,
	    sizeof(out)), 255);
	assert_true(th_contains(out, "NO"));
	assert_int_equal(audited(&e->d, "OK"), 1);
	assert_int_equal(audited(&e->d, "FAILED"), 1);
	/* The failure counts like any other. */
	assert_int_equal(th_db_int(&e->d, "SELECT failed_logins FROM "
	    "accounts WHERE username = 'alice'", NULL), 1);
}

/* A plain uid gets no password oracle: refused before any check. */
static void
test_plain_uid_refused(void **state)
{
	struct env *e = *state;
	char out[256];

	TH_NEED_ROOT();
	assert_int_equal(sasl(e, &plain, "alice", ALICE_PW, out, sizeof(out)),
	    255);
	assert_true(th_contains(out, "NO"));
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins",
	    NULL), 0);
	/* The log names the group that would let it in. */
	assert_int_equal(th_wait_log(&e->d, 0, "login refused: for admins and "
	    "authenticators", TH_WAIT_MS), 0);
	assert_int_equal(th_wait_log(&e->d, 0, "authenticators: members of ",
	    TH_WAIT_MS),
	    0);
}

/* A 2FA account: its password alone is refused (no code can be given
 * here), one of its app passwords is accepted. */
static void
test_two_factor_app_password(void **state)
{
	struct env *e = *state;
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o;
	char out[256], secret[64], code[8], *app;

	TH_NEED_ROOT();
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call(e->d.sock, "totp_enroll", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_non_null(o = proto_map_get(rep.result, "secret"));
	snprintf(secret, sizeof(secret), "%.*s", (int)o->via.str.size,
	    o->via.str.ptr);
	proto_reply_free(&rep);
	th_totp_code(secret, 0, code);
	assert_int_equal(th_call_strs(e->d.sock, "totp_confirm", "username",
	    "alice", "code", code, (char *)NULL), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "type", "app_password");
	proto_kv_str(&m, "name", "mail client");
	proto_kv_str(&m, "scope", "smtp imap");
	assert_int_equal(th_call(e->d.sock, "token_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_non_null(o = proto_map_get(rep.result, "token"));
	app = th_keep(strndup(o->via.str.ptr, o->via.str.size));
	proto_reply_free(&rep);

	/* Refused like a wrong password: no "code required" oracle. */
	assert_int_equal(sasl(e, &authn, "alice", ALICE_PW, out, sizeof(out)),
	    255);
	assert_false(th_contains(out, "code"));
	assert_int_equal(audited(&e->d, "CODE_REQUIRED"), 0);
	assert_int_equal(audited(&e->d, "FAILED"), 1);
	assert_int_equal(sasl(e, &authn, "alice", app, out, sizeof(out)), 0);
	assert_true(th_contains(out, "OK"));
}

/* A request of counted strings, sent raw; the reply's text (or ""). */
static void
raw(const char *mux, const char *const *fields, int n, char *out,
    size_t outsz)
{
	th_sasl_request(mux, NULL, fields, NULL, n, out, outsz);
}

/* The fifth string, of newer clients: the user's address, audited and
 * keying the source; the realm is not part of the name. */
static void
test_client_address(void **state)
{
	static const char *const req[] = { "alice", ALICE_PW, "smtp",
	    "example.org", "203.0.113.5" };
	struct env *e = *state;
	char out[256];

	raw(e->mux, req, 5, out, sizeof(out));
	assert_string_equal(out, "OK");
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE remote_addr = '203.0.113.5' AND status = 'OK'", NULL), 1);
	raw(e->mux, req, 4, out, sizeof(out));
	assert_string_equal(out, "OK");
}

/* Garbage on the socket ends that connection and harms nothing. */
static void
test_garbage(void **state)
{
	static const uint8_t cut[] = { 0x00, 0x05, 'a', 'l' };
	struct env *e = *state;
	char out[256], big[5000];
	const char *req[] = { big, "pw", "smtp", "" };
	int fd;

	/* A string over the limit (4096 bytes), sent whole: the
	 * connection ends without an answer. */
	memset(big, 'a', 4097);
	big[4097] = '\0';
	raw(e->mux, req, 4, out, sizeof(out));
	assert_string_equal(out, "");
	/* A request that stops halfway: closed after frame_timeout. */
	assert_true((fd = th_connect(e->mux)) >= 0);
	assert_int_equal(th_send(fd, cut, sizeof(cut)), 0);
	assert_int_equal(th_wait_closed(fd, TH_WAIT_MS), 0);
	close(fd);
	/* A name longer than any account's: a plain NO. */
	memset(big, 'a', 300);
	big[300] = '\0';
	raw(e->mux, req, 4, out, sizeof(out));
	assert_true(strncmp(out, "NO ", 3) == 0);
	/* Empty login or password. */
	req[0] = "";
	raw(e->mux, req, 4, out, sizeof(out));
	assert_true(strncmp(out, "NO ", 3) == 0);
	/* acctd is still there, on both sockets. */
	assert_int_equal(th_call_code(e->d.sock, "hello", NULL), ACCT_OK);
	req[0] = "alice";
	req[1] = ALICE_PW;
	raw(e->mux, req, 4, out, sizeof(out));
	assert_string_equal(out, "OK");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_authenticator, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plain_uid_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_factor_app_password,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_address, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
