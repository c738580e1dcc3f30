/*
 * test_authz.c: who may do what, tested as real distinct uids and
 * gids against the real acctd: plain user, admin group, auth group; and
 * what acctc says to one refused: the command typed and the way out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ALICE_PW	"alice-password"
#define NOBODY_PW	"nobody-password"

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
static const struct th_cred admin_sup = { TH_NOBODY, TH_NOBODY, 1,
    { TH_ADMIN_GID } };
static const struct th_cred admin_pri = { TH_NOBODY, TH_ADMIN_GID, 0,
    { 0 } };
static const struct th_cred auth_sup = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };
static const struct th_cred auth_pri = { TH_NOBODY, TH_AUTH_GID, 0,
    { 0 } };
/* A uid with no passwd entry: no login name, so no own account. */
static const struct th_cred nameless = { 54321, 54321, 0, { 0 } };

#define S	TH_S
#define B	TH_B
#define I	TH_I
#define req	th_req
#define assert_as(cred, want, ...) \
	th_assert_as(d->sock, (cred), (want), __VA_ARGS__)

/* Run r as cred; the reply code, with the message in msg. */
static int
as_req(const struct th_cred *cred, struct th_req *r, char *msg, size_t msgsz)
{
	int rc = th_req_as(cred, r, msg, msgsz);

	if (rc == -1)
		fail_msg("could not run as uid %u", (unsigned)cred->uid);
	return rc;
}

/* In the child: hello, and print uid, gid, username and classes. */
static int
do_hello(void *p, FILE *out)
{
	const char *sock = p;
	struct proto_reply rep;
	const msgpack_object *cl, *u;
	int rc = th_call(sock, "hello", NULL, &rep);

	if (rc == ACCT_OK)
		rc = rep.code;
	if (rc != ACCT_OK) {
		proto_reply_free(&rep);
		return rc;
	}
	fprintf(out, "uid=%lld gid=%lld user=", (long long)th_int(rep.result,
	    "uid", -2), (long long)th_int(rep.result, "gid", -2));
	u = proto_map_get(rep.result, "username");
	if (u != NULL && u->type == MSGPACK_OBJECT_STR)
		fprintf(out, "%.*s", (int)u->via.str.size, u->via.str.ptr);
	else if (u != NULL && u->type == MSGPACK_OBJECT_NIL)
		fputs("(nil)", out);
	fputs(" classes=", out);
	cl = proto_map_get(rep.result, "classes");
	if (cl != NULL && cl->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t i = 0; i < cl->via.array.size; i++) {
			const msgpack_object *s = &cl->via.array.ptr[i];
			if (s->type == MSGPACK_OBJECT_STR)
				fprintf(out, "%s%.*s", i ? "," : "",
				    (int)s->via.str.size, s->via.str.ptr);
		}
	proto_reply_free(&rep);
	return 0;
}

static void
hello_as(const struct th_daemon *d, const struct th_cred *cred,
    const char *want)
{
	char buf[512];

	assert_int_equal(th_as(cred, do_hello, (void *)d->sock, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static char *
dump(const struct th_daemon *d)
{
	char *s = th_keep(th_db_dump(d));

	assert_non_null(s);
	return s;
}

/* The accounts' state, without the counters a failed attempt moves. */
static char *
dump_state(const struct th_daemon *d)
{
	char *s = th_keep(th_db_dump_state(d));

	assert_non_null(s);
	return s;
}

static void
state_unchanged(const struct th_daemon *d, const char *before)
{
	char *after = dump_state(d);

	if (strcmp(before, after) != 0)
		print_error("accounts changed:\n--- before\n%s--- after\n%s",
		    before, after);
	assert_string_equal(before, after);
	th_free(after);
}

/* Audit rows of a realm and status for a name as given. */
static int64_t
audited(const struct th_daemon *d, const char *realm, const char *user,
    const char *status)
{
	return th_db_int(d, "SELECT count(*) FROM audit_logins WHERE "
	    "realm = ?1 AND username = ?2 AND status = ?3", realm, user,
	    status, NULL);
}

static int64_t
failures(const struct th_daemon *d, const char *user)
{
	return th_db_int(d, "SELECT failed_logins FROM accounts WHERE "
	    "username = ?1 AND deleted_at IS NULL", user, NULL);
}

static void
unchanged(const struct th_daemon *d, const char *before)
{
	char *after = dump(d);

	if (strcmp(before, after) != 0)
		print_error("database changed:\n--- before\n%s--- after\n%s",
		    before, after);
	assert_string_equal(before, after);
	th_free(after);
}

/* Root check, a daemon, and the accounts alice and nobody. */
static int
setup(void **state)
{
	struct th_daemon *d;

	if (!th_is_root())
		return 0;	/* the tests skip */
	if (th_setup(state) != 0)
		return -1;
	d = *state;
	if (th_add_user(d->sock, "alice", ALICE_PW) != ACCT_OK ||
	    th_add_user(d->sock, "nobody", NOBODY_PW) != ACCT_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	return th_teardown(state);
}

/* ---- a plain local user ---- */

static void
test_plain_hello(void **state)
{
	TH_NEED_ROOT();
	hello_as(*state, &plain, "uid=65534 gid=65534 user=nobody "
	    "classes=user");
	/* Unknown uid: no login name. */
	hello_as(*state, &nameless, "uid=54321 gid=54321 user=(nil) "
	    "classes=user");
}

static void
test_plain_denied(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	before = dump(d);
	assert_as(&plain, ACCT_ERR_DENIED, "user_list", { { NULL } });
	assert_as(&plain, ACCT_ERR_DENIED, "user_list",
	    { S("search", "alice") });
	assert_as(&plain, ACCT_ERR_DENIED, "user_add",
	    { S("username", "mallory"), S("new_password", "mallory-pw-1"),
	    B("superadmin", 1) });
	assert_as(&plain, ACCT_ERR_DENIED, "user_show",
	    { S("username", "alice") });
	/* Not even one's own account. */
	assert_as(&plain, ACCT_ERR_DENIED, "user_show",
	    { S("username", "nobody") });
	assert_as(&plain, ACCT_ERR_DENIED, "user_mod",
	    { S("username", "nobody"), S("role", "admin"),
	    B("superadmin", 1) });
	assert_as(&plain, ACCT_ERR_DENIED, "user_mod",
	    { S("username", "alice"), B("login", 0) });
	assert_as(&plain, ACCT_ERR_DENIED, "user_rm",
	    { S("username", "alice") });
	assert_as(&plain, ACCT_ERR_DENIED, "users_reset",
	    { B("confirm", 1) });
	/* Nor test passwords, nor read or clear the audit log. */
	assert_as(&plain, ACCT_ERR_DENIED, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
	assert_as(&plain, ACCT_ERR_DENIED, "audit_logins", { { NULL } });
	assert_as(&plain, ACCT_ERR_DENIED, "audit_reset", { B("confirm", 1) });
	/* Nobody in the auth group is an admin either. */
	assert_as(&auth_sup, ACCT_ERR_DENIED, "user_list", { { NULL } });
	assert_as(&auth_sup, ACCT_ERR_DENIED, "user_add",
	    { S("username", "mallory") });
	assert_as(&auth_sup, ACCT_ERR_DENIED, "users_reset",
	    { B("confirm", 1) });
	unchanged(d, before);
	th_free(before);
}

static void
test_plain_passwd_other(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	before = dump(d);
	/* Even with alice's right password: not his account. */
	assert_as(&plain, ACCT_ERR_DENIED, "passwd",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("new_password", "hijacked-password") });
	assert_as(&plain, ACCT_ERR_DENIED, "passwd",
	    { S("username", "alice"), S("new_password", "hijacked-password") });
	assert_as(&plain, ACCT_ERR_DENIED, "passwd",
	    { S("username", "alice"), B("remove", 1) });
	assert_as(&plain, ACCT_ERR_DENIED, "passwd",
	    { S("username", "ALICE"), S("password", ALICE_PW),
	    S("new_password", "hijacked-password") });
	/* A uid without a login name has no own account. */
	assert_as(&nameless, ACCT_ERR_DENIED, "passwd",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("new_password", "hijacked-password") });
	assert_as(&nameless, ACCT_ERR_INVALID, "passwd",
	    { S("password", ALICE_PW), S("new_password", "hijacked-pw-2") });
	unchanged(d, before);
	th_free(before);
}

static void
test_plain_passwd_self(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	before = dump_state(d);
	/* A wrong current password: refused, counted and audited like a
	 * failed login, and nothing else written. */
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "nobody"), S("password", "not-the-password"),
	    S("new_password", "brand-new-password") });
	assert_int_equal(failures(d, "nobody"), 1);
	assert_int_equal(audited(d, "passwd", "nobody", "FAILED"), 1);
	/* None at all: the request is incomplete, nothing is tried. */
	assert_as(&plain, ACCT_ERR_INVALID, "passwd",
	    { S("username", "nobody"), S("new_password", "brand-new-pw") });
	/* The policy still applies to one's own password. */
	assert_as(&plain, ACCT_ERR_POLICY, "passwd",
	    { S("username", "nobody"), S("password", NOBODY_PW),
	    S("new_password", "short") });
	/* Removing one's own password needs it too. */
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "nobody"), S("password", "not-the-password"),
	    B("remove", 1) });
	assert_int_equal(failures(d, "nobody"), 2);
	state_unchanged(d, before);
	th_free(before);

	/* The right one: changed, and the counter is cleared. */
	assert_as(&plain, ACCT_OK, "passwd",
	    { S("username", "nobody"), S("password", NOBODY_PW),
	    S("new_password", "brand-new-password") });
	assert_int_equal(failures(d, "nobody"), 0);
	assert_int_equal(audited(d, "passwd", "nobody", "OK"), 1);
	/* The old one no longer works, the new one does; no username
	 * means one's own account. */
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", NOBODY_PW), S("new_password", "third-password") });
	assert_as(&plain, ACCT_OK, "passwd",
	    { S("password", "brand-new-password"),
	    S("new_password", "third-password") });
	/* Checked independently, as an authenticator would. */
	assert_as(&auth_sup, ACCT_OK, "login",
	    { S("username", "nobody"), S("password", "third-password") });
	/* With the right one, the owner may remove it (an SSO account
	 * from then on); the account then has no password to log in. */
	assert_as(&plain, ACCT_OK, "passwd",
	    { S("password", "third-password"), B("remove", 1) });
	assert_as(&auth_sup, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "nobody"), S("password", "third-password") });
}

/* Own account missing, or without a password: auth_failed. */
static void
test_plain_passwd_self_missing(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;

	TH_NEED_ROOT();
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "nobody");
	proto_kv_bool(&m, "remove", true);
	assert_int_equal(th_call_code(d->sock, "passwd", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", NOBODY_PW), S("new_password", "whatever-pw-1") });
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", ""), S("new_password", "whatever-pw-1") });
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "nobody");
	assert_int_equal(th_call_code(d->sock, "user_rm", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_as(&plain, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("password", NOBODY_PW), S("new_password", "whatever-pw-1") });
}

/* ---- admins by group ---- */

static void
admin_can(const struct th_daemon *d, const struct th_cred *cred,
    const char *newuser)
{
	assert_as(cred, ACCT_OK, "user_list", { { NULL } });
	assert_as(cred, ACCT_OK, "user_add",
	    { S("username", newuser), S("new_password", "new-user-pw") });
	assert_as(cred, ACCT_OK, "user_show", { S("username", newuser) });
	assert_as(cred, ACCT_OK, "user_mod",
	    { S("username", newuser), S("name", "Made By Group") });
	/* An admin sets any password without the current one. */
	assert_as(cred, ACCT_OK, "passwd",
	    { S("username", "alice"), S("new_password", "set-by-admin") });
	assert_as(&auth_sup, ACCT_OK, "login",
	    { S("username", "alice"), S("password", "set-by-admin") });
	assert_as(cred, ACCT_OK, "user_rm", { S("username", newuser) });
	assert_false(th_user_exists(d->sock, newuser));
}

static void
test_admin_supplementary(void **state)
{
	TH_NEED_ROOT();
	hello_as(*state, &admin_sup, "uid=65534 gid=65534 user=nobody "
	    "classes=admin,authenticator,user");
	admin_can(*state, &admin_sup, "made-by-sup");
}

static void
test_admin_primary(void **state)
{
	TH_NEED_ROOT();
	hello_as(*state, &admin_pri, "uid=65534 gid=4242 user=nobody "
	    "classes=admin,authenticator,user");
	admin_can(*state, &admin_pri, "made-by-pri");
}

/* Some other group, with the admin gid not among them: not an admin. */
static void
test_other_groups(void **state)
{
	static const struct th_cred many = { TH_NOBODY, 100, 4,
	    { 4241, 4244, 42420, 24 } };
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	hello_as(d, &many, "uid=65534 gid=100 user=nobody classes=user");
	assert_as(&many, ACCT_ERR_DENIED, "user_list", { { NULL } });
}

/* ---- authenticators ---- */

static void
test_auth_group(void **state)
{
	struct th_daemon *d = *state;
	char *before;

	TH_NEED_ROOT();
	hello_as(d, &auth_sup, "uid=65534 gid=65534 user=nobody "
	    "classes=authenticator,user");
	hello_as(d, &auth_pri, "uid=65534 gid=4243 user=nobody "
	    "classes=authenticator,user");
	before = dump(d);
	assert_as(&auth_sup, ACCT_ERR_DENIED, "user_list", { { NULL } });
	assert_as(&auth_pri, ACCT_ERR_DENIED, "user_show",
	    { S("username", "alice") });
	unchanged(d, before);
	th_free(before);
	before = dump_state(d);
	/* For another user: only with that user's current password, and a
	 * wrong one is a counted, audited failure. */
	assert_as(&auth_sup, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "alice"), S("password", "wrong-password"),
	    S("new_password", "changed-by-auth") });
	assert_int_equal(failures(d, "alice"), 1);
	assert_int_equal(audited(d, "passwd", "alice", "FAILED"), 1);
	assert_as(&auth_sup, ACCT_ERR_INVALID, "passwd",
	    { S("username", "alice"), S("new_password", "changed-by-auth") });
	/* Unknown account: the same auth_failed, no hint it is unknown. */
	assert_as(&auth_sup, ACCT_ERR_AUTH_FAILED, "passwd",
	    { S("username", "ghost"), S("password", "any-password"),
	    S("new_password", "changed-by-auth") });
	assert_int_equal(audited(d, "passwd", "ghost", "FAILED"), 1);
	state_unchanged(d, before);
	th_free(before);
	assert_as(&auth_sup, ACCT_OK, "passwd",
	    { S("username", "alice"), S("password", ALICE_PW),
	    S("new_password", "changed-by-auth") });
	assert_as(&auth_pri, ACCT_OK, "passwd",
	    { S("username", "alice"), S("password", "changed-by-auth"),
	    S("new_password", "changed-again") });
	assert_as(&auth_sup, ACCT_ERR_AUTH_FAILED, "login",
	    { S("username", "alice"), S("password", ALICE_PW) });
	assert_as(&auth_sup, ACCT_OK, "login",
	    { S("username", "alice"), S("password", "changed-again") });
}

/* Wait (bounded) until user_list as cred gives want: a reload landed. */
static void
wait_for(const struct th_daemon *d, const struct th_cred *cred, int want)
{
	struct req r = { d->sock, "user_list", { { NULL } } };
	int rc = -1;

	for (int i = 0; i < TH_WAIT_MS / 10; i++) {
		if ((rc = as_req(cred, &r, NULL, 0)) == want)
			return;
		usleep(10000);
	}
	th_print_log(d);
	assert_int_equal(rc, want);
}

/* The admin_group / auth_group settings follow SIGHUP. */
static void
test_groups_reload(void **state)
{
	struct th_daemon *d = *state;

	TH_NEED_ROOT();
	assert_as(&plain, ACCT_ERR_DENIED, "user_list", { { NULL } });
	/* Make nobody's own group the admin group. */
	d->admin_gid = TH_NOBODY;
	assert_int_equal(th_write_config(d, NULL), 0);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	wait_for(d, &plain, ACCT_OK);
	/* And the old admin group no longer is one. */
	{
		static const struct th_cred old = { 54321, 100, 1,
		    { TH_ADMIN_GID } };
		assert_as(&old, ACCT_ERR_DENIED, "user_list", { { NULL } });
	}
	d->admin_gid = TH_ADMIN_GID;
	assert_int_equal(th_write_config(d, NULL), 0);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	wait_for(d, &plain, ACCT_ERR_DENIED);
	assert_as(&admin_sup, ACCT_OK, "user_list", { { NULL } });
}

/* ---- connection limits per uid ---- */

/* Connect as cred by switching effective ids for the connect() only. */
static int
connect_as(const struct th_cred *c, const char *sock)
{
	gid_t none[1] = { 0 };
	int fd = -1, ok = 0;

	if (setgroups((size_t)c->ngroups, c->groups) == 0 &&
	    setegid(c->gid) == 0 && seteuid(c->uid) == 0) {
		fd = th_connect(sock);
		ok = 1;
	}
	if (seteuid(0) == -1 || setegid(0) == -1 ||
	    setgroups(0, none) == -1)
		abort();	/* cannot go on as the wrong user */
	return ok ? fd : -1;
}

static void
test_per_uid_limit(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	int fds[3], fd;

	TH_NEED_ROOT();
	assert_int_equal(th_up(d, "max_connections_per_uid = 2\n"), 0);
	for (int i = 0; i < 2; i++) {
		fds[i] = connect_as(&plain, d->sock);
		assert_true(fds[i] >= 0);
		assert_int_equal(th_send_request(fds[i], 1, "hello", NULL), 0);
		assert_int_equal(th_recv(fds[i], 10000, &rep), TH_REPLY);
		assert_int_equal(rep.code, ACCT_OK);
		proto_reply_free(&rep);
	}
	/* The third from the same uid: busy, closed. */
	fds[2] = connect_as(&plain, d->sock);
	assert_true(fds[2] >= 0);
	(void)th_send_request(fds[2], 1, "hello", NULL);
	assert_int_equal(th_recv(fds[2], 10000, &rep), TH_REPLY);
	assert_int_equal(rep.code, ACCT_ERR_BUSY);
	proto_reply_free(&rep);
	assert_int_equal(th_wait_closed(fds[2], 10000), 0);
	close(fds[2]);
	/* Others are not affected: another uid, and an admin. */
	fd = connect_as(&nameless, d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send_request(fd, 1, "hello", NULL), 0);
	assert_int_equal(th_recv(fd, 10000, &rep), TH_REPLY);
	assert_int_equal(rep.code, ACCT_OK);
	proto_reply_free(&rep);
	close(fd);
	assert_int_equal(th_call(d->sock, "user_list", NULL, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	proto_reply_free(&rep);
	/* One closes: there is room again. */
	close(fds[0]);
	{
		int ok = 0;
		/* The daemon notices the close when its thread wakes:
		 * bounded retries. Until then it refuses and closes at
		 * once, so the request may not even be sent. */
		for (int i = 0; i < 200 && !ok; i++) {
			fd = connect_as(&plain, d->sock);
			assert_true(fd >= 0);
			if (th_send_request(fd, 1, "hello", NULL) == 0) {
				ok = th_recv(fd, 10000, &rep) == TH_REPLY &&
				    rep.code == ACCT_OK;
				proto_reply_free(&rep);
			}
			close(fd);
			if (!ok)
				usleep(10000);
		}
		assert_true(ok);
	}
	close(fds[1]);
	assert_int_equal(th_stop(d), 0);
	th_cleanup(d);
}

/* Another uid in the admin group. */
static const struct th_cred admin_other = { 54322, 54322, 1,
    { TH_ADMIN_GID } };

/*
 * A connection as c (NULL: as root), kept open in *fd, and the answer to
 * hello on it: the reply code (its message in msg), or the th_recv code.
 * A refused connection gets its busy reply at once, then is closed.
 */
static int
hello_held(const struct th_cred *c, const char *sock, int *fd, char *msg,
    size_t msgsz)
{
	struct proto_reply rep;
	int rc;

	*fd = c != NULL ? connect_as(c, sock) : th_connect(sock);
	assert_true(*fd >= 0);
	(void)th_send_request(*fd, 1, "hello", NULL);
	if ((rc = th_recv(*fd, 10000, &rep)) == TH_REPLY) {
		rc = rep.code;
		snprintf(msg, msgsz, "%s", rep.message);
		proto_reply_free(&rep);
	}
	return rc;
}

/* Admins have the per-uid cap too; another admin uid is not held up. */
static void
test_per_uid_limit_admins(void **state)
{
	struct th_daemon *d = *state;
	char msg[256];
	int held[2], fd;

	TH_NEED_ROOT();
	assert_int_equal(th_up(d, "max_connections_per_uid = 2\n"), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(hello_held(&admin_sup, d->sock, &held[i], msg,
		    sizeof(msg)), ACCT_OK);
	assert_int_equal(hello_held(&admin_sup, d->sock, &fd, msg,
	    sizeof(msg)), ACCT_ERR_BUSY);
	assert_true(th_contains(msg, "too many connections from this user"));
	close(fd);
	assert_int_equal(hello_held(&admin_other, d->sock, &fd, msg,
	    sizeof(msg)), ACCT_OK);
	close(fd);
	assert_int_equal(hello_held(NULL, d->sock, &fd, msg, sizeof(msg)),
	    ACCT_OK);
	close(fd);
	for (int i = 0; i < 2; i++)
		close(held[i]);
}

/*
 * Past max_connections, where only admins get in, one admin uid gets
 * in while it holds fewer than 8 (half of the 16 admins may add): the
 * others still find room.
 */
static void
test_admin_reserve_per_uid(void **state)
{
	struct th_daemon *d = *state;
	char msg[256];
	int full[2], held[8], fd;

	TH_NEED_ROOT();
	assert_int_equal(th_up(d, "max_connections = 2\n"), 0);
	/* Full, by a uid that is not the admins' (plain is nobody, as
	 * admin_sup is). */
	for (int i = 0; i < 2; i++)
		assert_int_equal(hello_held(&nameless, d->sock, &full[i], msg,
		    sizeof(msg)), ACCT_OK);
	assert_int_equal(hello_held(&nameless, d->sock, &fd, msg,
	    sizeof(msg)), ACCT_ERR_BUSY);
	close(fd);
	for (int i = 0; i < 8; i++)
		assert_int_equal(hello_held(&admin_sup, d->sock, &held[i], msg,
		    sizeof(msg)), ACCT_OK);
	assert_int_equal(hello_held(&admin_sup, d->sock, &fd, msg,
	    sizeof(msg)), ACCT_ERR_BUSY);
	assert_true(th_contains(msg, "too many connections from this user"));
	close(fd);
	assert_int_equal(hello_held(&admin_other, d->sock, &fd, msg,
	    sizeof(msg)), ACCT_OK);
	close(fd);
	assert_int_equal(hello_held(NULL, d->sock, &fd, msg, sizeof(msg)),
	    ACCT_OK);
	close(fd);
	for (int i = 0; i < 8; i++)
		close(held[i]);
	for (int i = 0; i < 2; i++)
		close(full[i]);
}

/* ---- acctc as a plain user ---- */

static void
test_acctc_as_nobody(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r;

	TH_NEED_ROOT();
	if (th_acctc_bin() == NULL) {
		print_message("ACCTC_BIN not set\n");
		skip();
	}
	th_acctc_as(d, &plain, NULL, &r, "hello", NULL);
	if (r.status == 127 || r.status == 126) {
		print_message("acctc not executable as nobody: %s\n", r.err);
		th_result_free(&r);
		skip();
	}
	assert_int_equal(r.status, 0);
	th_result_free(&r);

	th_acctc_as(d, &plain, NULL, &r, "users", "ls", NULL);
	assert_int_equal(r.status, 1);
	assert_true(th_contains(r.err, "permission denied"));
	assert_false(th_contains(r.out, "alice"));
	th_result_free(&r);
	th_acctc_as(d, &plain, NULL, &r, "users", "add", "mallory", NULL);
	assert_int_equal(r.status, 1);
	assert_true(th_contains(r.err, "permission denied"));
	th_result_free(&r);
	assert_false(th_user_exists(d->sock, "mallory"));

	/* Own password, current one and new one twice on stdin. */
	th_acctc_as(d, &plain, NOBODY_PW "\nfrom-acctc-pw\n",
	    &r, "passwd", "--password-stdin", NULL);
	if (r.status != 0)
		print_error("stdout: %s\nstderr: %s\n", r.out, r.err);
	assert_int_equal(r.status, 0);
	th_result_free(&r);
	assert_as(&auth_sup, ACCT_OK, "login",
	    { S("username", "nobody"), S("password", "from-acctc-pw") });
	/* Someone else's: refused. */
	th_acctc_as(d, &plain, ALICE_PW "\nfrom-acctc-pw\n",
	    &r, "passwd", "--password-stdin", "alice", NULL);
	assert_int_equal(r.status, 1);
	assert_true(th_contains(r.err, "permission denied"));
	th_result_free(&r);

	/* In the admin group, the same binary lists accounts. */
	th_acctc_as(d, &admin_sup, NULL, &r, "users", "ls", NULL);
	assert_int_equal(r.status, 0);
	assert_true(th_contains(r.out, "alice"));
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

/*
 * A refusal names the command typed, never the protocol operation, and
 * the way out: the admin group by its name (a gid without one as
 * "group N"); --json gives the error's stable name. Exit 1 each time.
 */
static void
test_refusal_says_the_way_out(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct group *users = getgrgid(100);
	char want[256];

	TH_NEED_ROOT();
	TH_RUN_AS(d, &plain, NULL, 1, "users", "ls");
	assert_string_equal(r.err, "acctc: permission denied: users ls needs "
	    "an admin: run it as root or as a member of group 4242\n");
	TH_RUN_AS(d, &plain, NULL, 1, "audit", "events");
	assert_true(th_contains(r.err, ": audit events needs an admin: "));
	TH_RUN_AS(d, &plain, "x\n", 1, "auth", "test", "--password-stdin",
	    "alice");
	assert_true(th_contains(r.err, "auth test needs an admin or an "
	    "authenticator: run it as root or as a member of group 4242 or "
	    "of group 4243\n"));
	TH_RUN_AS(d, &plain, ALICE_PW "\nnew-password-1\n", 1, "passwd",
	    "--password-stdin", "alice");
	assert_true(th_contains(r.err, "passwd on an account not your own "
	    "(named like your login name) needs an admin: run it as root"));
	TH_RUN_AS(d, &nameless, NULL, 1, "auth", "ls");
	assert_true(th_contains(r.err, "auth ls needs an account named like "
	    "your login name, or an admin: run it as root"));
	th_assert_not_said("user_list");
	TH_RUN_AS(d, &plain, NULL, 1, "--json", "users", "ls");
	assert_string_equal(r.out, "");
	assert_true(th_json_valid(r.err));
	assert_string_equal(th_json_must(r.err, "d['error']['name']"),
	    "permission_denied");
	assert_string_equal(th_json_must(r.err, "d['error']['code']"), "6");
	assert_true(th_contains(th_json_must(r.err, "d['error']['message']"),
	    "users ls needs an admin"));
	/* Other failures carry their names too, the local ones included. */
	TH_RUN(d, NULL, 1, "--json", "users", "show", "ghost");
	assert_string_equal(th_json_must(r.err, "d['error']['name']"),
	    "not_found");
	th_result_free(&r);
	{
		const char *argv[] = { "--socket", "/nonexistent/sock",
		    "--json", "hello", NULL };

		assert_int_equal(th_acctc_v(NULL, NULL, NULL, argv, &r), 3);
		assert_string_equal(th_json_must(r.err, "d['error']['name']"),
		    "connect");
	}
	/* A group the system names is named so. */
	if (users == NULL) {
		print_message("no group 100: the named group is not tried\n");
		th_result_free(&r);
		return;
	}
	snprintf(want, sizeof(want), "users ls needs an admin: run it as root "
	    "or as a member of %s\n", users->gr_name);
	assert_int_equal(th_stop(d), 0);
	d->admin_gid = 100;
	assert_int_equal(th_write_config(d, NULL), 0);
	assert_int_equal(th_start(d), 0);
	TH_RUN_AS(d, &plain, NULL, 1, "users", "ls");
	assert_true(th_contains(r.err, want));
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_plain_hello),
		T(test_plain_denied),
		T(test_plain_passwd_other),
		T(test_plain_passwd_self),
		T(test_plain_passwd_self_missing),
		T(test_admin_supplementary),
		T(test_admin_primary),
		T(test_other_groups),
		T(test_auth_group),
		T(test_groups_reload),
		cmocka_unit_test_setup_teardown(test_per_uid_limit,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_per_uid_limit_admins,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_admin_reserve_per_uid,
		    th_setup_lazy, th_teardown),
		T(test_acctc_as_nobody),
		T(test_refusal_says_the_way_out),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("authz", tests, NULL, NULL);
}
