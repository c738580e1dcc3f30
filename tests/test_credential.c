/*
 * test_credential.c: the one credential check (acctd/credential.c), as
 * real peers under distinct uids meet it: guessing through passwd
 * (its dry run too), totp_enroll and totp_confirm is locked, counted
 * and audited like a login; sessions do not replace passwords; busy answers do not tell
 * accounts apart; a local user's flood leaves services their workers;
 * a service without addresses is slowed, not locked; a right password
 * and code never lock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define ALICE_PW	"alice-password"
#define NOBODY_PW	"nobody-password"

/* uid 65534 is "nobody": its own account is the account "nobody". */
static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

#define S	TH_S
#define B	TH_B
#define as(cred, want, ...)	th_assert_as(d->sock, (cred), (want), \
	__VA_ARGS__)

static int
up(void **state, const char *extra)
{
	struct th_daemon *d;

	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	if (th_up(d, extra) != 0 ||
	    th_add_user(d->sock, "alice", ALICE_PW) != ACCT_OK ||
	    th_add_user(d->sock, "nobody", NOBODY_PW) != ACCT_OK)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	return up(state, "lockout_failures = 3\n");
}

/* Hashes slow enough to overlap; no lockout to end a flood. */
#define POOL	"argon2_memory_kib = 4096\nargon2_time = 8\n" \
	"lockout_failures = 100\nsource_lockout_failures = 100\n"

static int
setup_pool(void **state)
{
	return up(state, POOL);
}

static int
setup_pool_no_queue(void **state)
{
	return up(state, POOL "hash_queue = 0\n");
}

static int
setup_no_queue(void **state)
{
	return up(state, "argon2_memory_kib = 65536\nargon2_time = 16\n"
	    "hash_workers = 1\nhash_queue = 0\nlockout_failures = 100\n"
	    "source_lockout_failures = 100\n");
}

static int
setup_sources(void **state)
{
	return up(state, "source_lockout_failures = 5\n"
	    "lockout_failures = 100\n");
}

static int64_t
failures(const struct th_daemon *d, const char *user)
{
	return th_db_int(d, "SELECT failed_logins FROM accounts WHERE "
	    "username = ?1 AND deleted_at IS NULL", user, NULL);
}

static int64_t
audited(const struct th_daemon *d, const char *realm, const char *user,
    const char *status)
{
	return th_db_int(d, "SELECT count(*) FROM audit_logins WHERE "
	    "realm = ?1 AND username = ?2 AND status = ?3", realm, user,
	    status, NULL);
}

static char *
hash_of(const struct th_daemon *d, const char *user)
{
	char *dump = th_keep(th_db_dump_state(d)), *p;

	assert_non_null(dump);
	assert_non_null(p = strstr(dump, user));
	return p;
}

static int
unlock(const struct th_daemon *d, const char *user)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_bool(&m, "unlock", true);
	rc = th_call_code(d->sock, "user_mod", &m);
	proto_msg_free(&m);
	return rc;
}

/*
 * The owner of a Unix login guessing its own account's password through
 * passwd: counted towards the lock, and once locked even the right
 * password is refused, audited as LOCKED, and nothing is changed.
 */
static void
test_passwd_guessing_locks(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	before = th_keep(strdup(hash_of(d, "nobody")));
	for (int i = 0; i < 3; i++)
		as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
		    { S("password", "guess-number-x"),
		    S("new_password", "taken-over-pw") });
	assert_int_equal(failures(d, "nobody"), 3);
	assert_int_equal(audited(d, "passwd", "nobody", "FAILED"), 3);
	as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", NOBODY_PW), S("new_password", "taken-over-pw") });
	assert_int_equal(audited(d, "passwd", "nobody", "LOCKED"), 1);
	assert_string_equal(hash_of(d, "nobody"), before);
	/* A login is locked out by the same count. */
	as(&authn, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "nobody"), S("password", NOBODY_PW) });
	assert_int_equal(unlock(d, "nobody"), ACCT_OK);
	as(&plain, ACCT_OK, "passwd",
	    { S("password", NOBODY_PW), S("new_password", "changed-at-last") });
	assert_int_equal(failures(d, "nobody"), 0);
}

/*
 * passwd's dry run, which lets a prompt stop at a wrong current
 * password before it asks for a new one, is the same check: counted,
 * locked, audited; right, it resets the count and changes nothing.
 */
static void
test_passwd_dry_run_is_the_check(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	before = th_keep(strdup(hash_of(d, "nobody")));
	as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", "guess-number-x"), B("dry_run", true) });
	assert_int_equal(failures(d, "nobody"), 1);
	assert_int_equal(audited(d, "passwd", "nobody", "FAILED"), 1);
	as(&plain, ACCT_OK, "passwd",
	    { S("password", NOBODY_PW), B("dry_run", true) });
	assert_int_equal(failures(d, "nobody"), 0);
	assert_int_equal(audited(d, "passwd", "nobody", "OK"), 1);
	assert_string_equal(hash_of(d, "nobody"), before);
	/* Only a check: nothing to set or remove with it, and something
	 * to check. */
	as(&plain, ACCT_ERR_INVALID, "passwd", { S("password", NOBODY_PW),
	    S("new_password", "taken-over-pw"), B("dry_run", true) });
	as(&plain, ACCT_ERR_INVALID, "passwd", { S("password", NOBODY_PW),
	    B("remove", true), B("dry_run", true) });
	as(NULL, ACCT_ERR_INVALID, "passwd", { S("username", "nobody"),
	    B("dry_run", true) });
	/* Others' accounts are refused as before. */
	as(&plain, ACCT_ERR_DENIED, "passwd", { S("username", "alice"),
	    S("password", ALICE_PW), B("dry_run", true) });
	for (int i = 0; i < 3; i++)
		as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
		    { S("password", "guess-number-y"), B("dry_run", true) });
	as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", NOBODY_PW), B("dry_run", true) });
	assert_int_equal(audited(d, "passwd", "nobody", "LOCKED"), 1);
	assert_string_equal(hash_of(d, "nobody"), before);
}

/* A service acting for a user meets the lock a login set. */
static void
test_authenticator_passwd_honours_lock(void **state)
{
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	for (int i = 0; i < 3; i++)
		as(&authn, ACCT_ERR_AUTH_FAILED, "login",
		    { S("username", "alice"), S("password", "wrong"),
		    S("remote_addr", "203.0.113.1") });
	as(&authn, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("new_password", "hijacked-password") });
	assert_int_equal(audited(d, "passwd", "alice", "LOCKED"), 1);
	assert_int_equal(unlock(d, "alice"), ACCT_OK);
	th_assert_as(d->sock, NULL, ACCT_OK, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
}

/* totp_enroll checks the password the same way. */
static void
test_totp_enroll_guessing_locks(void **state)
{
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	for (int i = 0; i < 3; i++)
		as(&plain, ACCT_ERR_AUTH_FAILED, "totp_enroll",
		    { S("password", "guess-number-y") });
	assert_int_equal(audited(d, "totp_enroll", "nobody", "FAILED"), 3);
	as(&plain, ACCT_ERR_AUTH_FAILED, "totp_enroll",
	    { S("password", NOBODY_PW) });
	assert_int_equal(audited(d, "totp_enroll", "nobody", "LOCKED"), 1);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "totp_pending IS NOT NULL", NULL), 0);
	assert_int_equal(unlock(d, "nobody"), ACCT_OK);
	as(&plain, ACCT_OK, "totp_enroll", { S("password", NOBODY_PW) });
}

/* The first code of an enrolment: counted and audited too. */
static void
test_totp_confirm_counted(void **state)
{
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	as(&plain, ACCT_OK, "totp_enroll", { S("password", NOBODY_PW) });
	as(&plain, ACCT_ERR_AUTH_FAILED, "totp_confirm", { S("code", "12") });
	assert_int_equal(failures(d, "nobody"), 1);
	assert_int_equal(audited(d, "totp_confirm", "nobody", "BAD_CODE"), 1);
}

/*
 * A session an authenticator opened (session_add, for single sign-on)
 * proves nothing about a local password: it cannot replace one.
 */
static void
test_session_cannot_replace_password(void **state)
{
	struct th_daemon *d = *state;
	struct th_req r = { d->sock, "session_add", { S("username", "alice") } };
	char msg[512], *tok;

	TH_NEED_ROOT();
	/* The session token comes back in the reply: ask as root. */
	{
		struct proto_msg m;
		struct proto_reply rep;
		const msgpack_object *o;

		proto_msg_init(&m);
		proto_kv_str(&m, "username", "alice");
		assert_int_equal(th_call(d->sock, "session_add", &m, &rep),
		    ACCT_OK);
		proto_msg_free(&m);
		assert_int_equal(rep.code, ACCT_OK);
		assert_non_null(o = proto_map_get(rep.result, "token"));
		tok = th_keep(strndup(o->via.str.ptr, o->via.str.size));
		proto_reply_free(&rep);
	}
	assert_int_equal(th_req_as(&authn, &r, msg, sizeof(msg)), ACCT_OK);
	as(&authn, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "alice"), S("token", tok),
	    S("new_password", "taken-over-pw") });
	as(&authn, ACCT_OK, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
	as(&authn, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "alice"), S("password", "taken-over-pw") });
}

/* Is the child still running? */
static bool
running(const struct th_child *c)
{
	return c->pid > 0 && waitpid(c->pid, NULL, WNOHANG) == 0;
}

/*
 * With the one worker busy and no queue, a login for an account that
 * exists and one for a name that does not are both answered busy: the
 * pool's answer tells nothing about the account, and decides nothing.
 */
static void
test_busy_alike(void **state)
{
	struct th_daemon *d = *state;
	struct th_req hold = { d->sock, "login", { S("username", "nobody"),
	    S("password", "holds-the-worker") } };
	struct th_req known = { d->sock, "login", { S("username", "alice"),
	    S("password", "y") } };
	struct th_req unknown = { d->sock, "login", {
	    S("username", "nobody-here"), S("password", "y") } };
	struct th_child c;
	bool both = false;

	TH_NEED_ROOT();
	for (int round = 0; round < 5 && !both; round++) {
		int k, u;

		assert_int_equal(th_req_start(&authn, &hold, &c), 0);
		usleep(150 * 1000);	/* the holder has the worker */
		k = th_req_as(&authn, &known, NULL, 0);
		u = th_req_as(&authn, &unknown, NULL, 0);
		/* Both asked while the holder hashed: both must be busy. */
		if (running(&c)) {
			assert_int_equal(k, ACCT_ERR_BUSY);
			assert_int_equal(u, ACCT_ERR_BUSY);
			both = true;
		}
		(void)th_req_wait(&c, NULL, 0);
	}
	assert_true(both);
	/* Refused before anything was looked at: nothing counted, nothing
	 * recorded, for either. */
	assert_int_equal(failures(d, "alice"), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_logins "
	    "WHERE username IN ('alice', 'nobody-here')", NULL), 0);
}

/* A plain uid sends passwd requests for its own account in a loop: how
 * many were answered busy. */
static int
flood(void *arg, FILE *out)
{
	const char *sock = arg;
	int busy = 0;

	for (int i = 0; i < 12; i++) {
		struct th_req r = { sock, "passwd", { S("password", "flood-pw"),
		    S("new_password", "never-set-pw") } };
		int rc = th_req_as(NULL, &r, NULL, 0);

		if (rc == ACCT_ERR_BUSY)
			busy++;
		else if (rc != ACCT_ERR_AUTH_FAILED)
			return 1;
	}
	fprintf(out, "%d", busy);
	return 0;
}

/* Local users with login names (Debian's daemon and bin), each its own
 * principal; and nobody. */
static const struct th_cred daemon_uid = { 1, 1, 0, { 0 } };
static const struct th_cred bin_uid = { 2, 2, 0, { 0 } };

/* Flood as each of creds at once, then the busy answers they had. */
static void
flood_start(const struct th_daemon *d, const struct th_cred *const *creds,
    int n, struct th_child *kids)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(th_as_start(creds[i], flood, (void *)d->sock,
		    &kids[i]), 0);
}

static int
flood_wait(struct th_child *kids, int n)
{
	int busy = 0;

	for (int i = 0; i < n; i++) {
		char buf[32];

		assert_int_equal(th_as_wait(&kids[i], buf, sizeof(buf)), 0);
		busy += atoi(buf);
	}
	return busy;
}

/*
 * Local users flooding with passwd take at most the workers that are not
 * kept for services: with no queue at all, every one of an
 * authenticator's logins meanwhile finds a worker, none is busy.
 */
static void
test_flood_spares_services(void **state)
{
	static const struct th_cred *const creds[] = { &plain, &daemon_uid,
	    &bin_uid, &plain };
	struct th_daemon *d = *state;
	struct th_child kids[4];

	TH_NEED_ROOT();
	flood_start(d, creds, 4, kids);
	usleep(100 * 1000);
	for (int i = 0; i < 8; i++)
		as(&authn, ACCT_OK, "login",
		    { S("username", "alice"), S("password", ALICE_PW) });
	(void)flood_wait(kids, 4);
}

/* One uid has one hash in flight: its other connections are told busy
 * at once, while other uids' requests wait their turn in the queue. */
static void
test_one_hash_per_uid(void **state)
{
	static const struct th_cred *const same[] = { &plain, &plain };
	static const struct th_cred *const others[] = { &daemon_uid, &bin_uid };
	struct th_daemon *d = *state;
	struct th_child kids[2];

	TH_NEED_ROOT();
	flood_start(d, same, 2, kids);
	assert_true(flood_wait(kids, 2) > 0);
	flood_start(d, others, 2, kids);
	assert_int_equal(flood_wait(kids, 2), 0);
}

/* A self-service call on an own account that does not exist is a
 * failure of the caller's source like any other. */
static void
test_self_service_without_account(void **state)
{
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	assert_int_equal(th_call_strs(d->sock, "user_rm", "username",
	    "nobody", (char *)NULL), ACCT_OK);
	for (int i = 0; i < 2; i++)
		as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
		    { S("password", NOBODY_PW), S("new_password", "whatever-1") });
	assert_int_equal(audited(d, "passwd", "nobody", "FAILED"), 2);
	assert_int_equal(th_db_int(d, "SELECT failures FROM throttle_sources "
	    "WHERE peer_uid = 65534 AND remote_addr = '' AND service = ''",
	    NULL), 2);
}

/*
 * A service that reports no address: failures on made-up names slow it
 * down but lock out none of its users. One that reports addresses has
 * the address locked, not the service.
 */
static void
test_source_without_address(void **state)
{
	struct th_daemon *d = *state;
	char name[32];

	TH_NEED_ROOT();
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "made-up-%d", i);
		as(&authn, ACCT_ERR_AUTH_FAILED, "login",
		    { S("username", name), S("password", "spray"),
		    S("service", "imap") });
	}
	as(&authn, ACCT_OK, "login",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("service", "imap") });
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "made-up-%d", i);
		as(&authn, ACCT_ERR_AUTH_FAILED, "login",
		    { S("username", name), S("password", "spray"),
		    S("service", "imap"), S("remote_addr", "203.0.113.7") });
	}
	as(&authn, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("service", "imap"), S("remote_addr", "203.0.113.7") });
	assert_int_equal(audited(d, "imap", "alice", "LOCKED"), 1);
	as(&authn, ACCT_OK, "login",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("service", "imap"), S("remote_addr", "198.51.100.1") });
}

/* Enrol alice in 2FA as root; her TOTP secret out. */
static void
enrol(const struct th_daemon *d, char secret[64])
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o;
	char code[8];

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call(d->sock, "totp_enroll", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_non_null(o = proto_map_get(rep.result, "secret"));
	snprintf(secret, 64, "%.*s", (int)o->via.str.size, o->via.str.ptr);
	proto_reply_free(&rep);
	th_totp_code(secret, -1, code);
	assert_int_equal(th_call_strs(d->sock, "totp_confirm", "username",
	    "alice", "code", code, (char *)NULL), ACCT_OK);
}

/*
 * With lockout_failures - 1 failures counted, the two steps of a right
 * 2FA login (password, code_required, then password and code) neither
 * lock the account nor count: the code prompt is no failure.
 */
static void
test_two_step_login_never_locks(void **state)
{
	struct th_daemon *d = *state;
	char secret[64], code[8];

	TH_NEED_ROOT();
	enrol(d, secret);
	for (int i = 0; i < 2; i++)
		as(&authn, ACCT_ERR_AUTH_FAILED, "login",
		    { S("username", "alice"), S("password", "wrong") });
	as(&authn, ACCT_ERR_CODE_REQUIRED, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
	assert_int_equal(failures(d, "alice"), 2);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'alice' AND locked_until IS NOT NULL", NULL), 0);
	th_totp_code(secret, 1, code);
	as(&authn, ACCT_OK, "login",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("code", code) });
	assert_int_equal(failures(d, "alice"), 0);
	/* Wrong codes still count. */
	for (int i = 0; i < 3; i++)
		as(&authn, ACCT_ERR_AUTH_FAILED, "login",
		    { S("username", "alice"), S("password", ALICE_PW),
		    S("code", "000000") });
	assert_int_equal(failures(d, "alice"), 3);
	as(&authn, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
	assert_int_equal(audited(d, "", "alice", "LOCKED"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passwd_dry_run_is_the_check,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_passwd_guessing_locks,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_authenticator_passwd_honours_lock, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_totp_enroll_guessing_locks,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_totp_confirm_counted,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_cannot_replace_password, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_busy_alike,
		    setup_no_queue, th_teardown),
		cmocka_unit_test_setup_teardown(test_flood_spares_services,
		    setup_pool_no_queue, th_teardown),
		cmocka_unit_test_setup_teardown(test_one_hash_per_uid,
		    setup_pool, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_self_service_without_account, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_source_without_address,
		    setup_sources, th_teardown),
		cmocka_unit_test_setup_teardown(test_two_step_login_never_locks,
		    setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
