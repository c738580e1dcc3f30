/*
 * test_dovecot_auth.c: acctd's dovecot_auth_socket against the real
 * clients of Dovecot's authentication protocol: doveadm auth test, and
 * Postfix's smtpd (smtpd_sasl_type = dovecot) in a private instance
 * driven by Python's smtplib; raw lines for what they never send: LOGIN
 * step by step, many requests on one connection, and garbage that must
 * harm nothing.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "harness.h"

#define DOVEADM		"/usr/bin/doveadm"
#define POSTFIX		"/usr/sbin/postfix"
#define GROUPADD	"/usr/sbin/groupadd"
#define GROUPDEL	"/usr/sbin/groupdel"
#define GPASSWD		"/usr/bin/gpasswd"
#define PYTHON		"/usr/bin/python3"

#define ALICE_PW	"alice-password"
#define BOB_PW		"bob-password"
#define GROUP_PREFIX	"acctd-pf-"

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

struct env {
	struct th_daemon d;
	char		 sock[160];	/* the Dovecot auth socket */
	char		 doveconf[160];	/* an empty dovecot.conf for doveadm */
	char		 bob_app[128];	/* bob's app password (bob has 2FA) */
	/* The Postfix instance, when the test has one. */
	char		 pf[160];	/* DIR/postfix */
	char		 group[32];	/* auth_group, postfix a member */
	int		 port;
	bool		 pf_up;
};

static int teardown(void **state);

/* bob: two-factor on, and an app password for smtp. */
static int
bob_2fa(struct env *e)
{
	char secret[64], recovery[32];
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o;
	int rc;

	if (th_add_user(e->d.sock, "bob", BOB_PW) != ACCT_OK ||
	    th_totp_enrol(e->d.sock, "bob", secret, recovery) != 0)
		return -1;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "type", "app_password");
	proto_kv_str(&m, "name", "mail client");
	proto_kv_str(&m, "scope", "smtp");
	rc = th_call(e->d.sock, "token_add", &m, &rep);
	proto_msg_free(&m);
	if (rc != ACCT_OK)
		return -1;
	rc = -1;
	if ((o = proto_map_get(rep.result, "token")) != NULL &&
	    o->via.str.size < sizeof(e->bob_app)) {
		snprintf(e->bob_app, sizeof(e->bob_app), "%.*s",
		    (int)o->via.str.size, o->via.str.ptr);
		rc = 0;
	}
	proto_reply_free(&rep);
	return rc;
}

/* acctd with the socket at sock (DIR/auth if NULL), more config lines
 * in extra, and the accounts alice and bob. */
static int
up(void **state, const char *sock, const char *extra)
{
	struct env *e = *state;
	char conf[512];

	if (e == NULL && (*state = e = calloc(1, sizeof(*e))) == NULL)
		return -1;
	if (e->d.dir[0] == '\0' && th_init(&e->d, NULL) != 0)
		goto fail;
	if (sock != NULL)
		snprintf(e->sock, sizeof(e->sock), "%s", sock);
	else
		snprintf(e->sock, sizeof(e->sock), "%s/auth", e->d.dir);
	snprintf(e->doveconf, sizeof(e->doveconf), "%s/dovecot.conf",
	    e->d.dir);
	snprintf(conf, sizeof(conf), "dovecot_auth_socket = %s\n"
	    "frame_timeout = 1\nidle_timeout = 4\n%s", e->sock,
	    extra != NULL ? extra : "");
	if (th_write_file(e->doveconf, "", 0644) == -1 ||
	    chmod(e->doveconf, 0644) == -1 ||
	    th_write_config(&e->d, conf) != 0 || th_start(&e->d) != 0 ||
	    th_add_user(e->d.sock, "alice", ALICE_PW) != ACCT_OK ||
	    bob_2fa(e) != 0)
		goto fail;
	return 0;
fail:
	teardown(state);
	return -1;
}

static int
setup(void **state)
{
	*state = NULL;
	if (access(DOVEADM, X_OK) != 0) {
		fprintf(stderr, "%s is missing: make deps installs "
		    "dovecot-core\n", DOVEADM);
		return -1;
	}
	return up(state, NULL, NULL);
}

/* Run argv as ourselves: its exit status; what it said is dropped. */
static int
run(const char *const *argv)
{
	struct th_result r;
	int st = th_run_v(argv, NULL, NULL, NULL, &r);

	if (st != 0)
		fprintf(stderr, "%s: status %d\n%s%s", argv[0], st,
		    r.out ? r.out : "", r.err ? r.err : "");
	th_result_free(&r);
	return st;
}

/* Groups a run that died left behind: GROUP_PREFIX and a dead pid (or
 * ours, reused). */
static void
remove_stale_groups(void)
{
	FILE *f = fopen("/etc/group", "r");
	char line[1024], name[64];
	long pid;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *const argv[] = { GROUPDEL, name, NULL };

		if (sscanf(line, GROUP_PREFIX "%ld:", &pid) != 1 || pid <= 0 ||
		    (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)))
			continue;
		snprintf(name, sizeof(name), GROUP_PREFIX "%ld", pid);
		(void)run(argv);
	}
	fclose(f);
}

static int
postfix_write_config(struct env *e, const char *conf, const char *queue,
    const char *data)
{
	char path[256], text[2048];

	snprintf(path, sizeof(path), "%s/main.cf", conf);
	/* The socket as the README has it: relative to the queue
	 * directory, so that it is the same path chrooted or not. */
	snprintf(text, sizeof(text),
	    "compatibility_level = 3.6\n"
	    "queue_directory = %s\n"
	    "data_directory = %s\n"
	    "mail_owner = postfix\n"
	    "setgid_group = postdrop\n"
	    "inet_interfaces = 127.0.0.1\n"
	    "inet_protocols = ipv4\n"
	    "myhostname = acctd-test.localdomain\n"
	    "mydestination =\n"
	    "alias_maps =\n"
	    "alias_database =\n"
	    "maillog_file = %s/maillog\n"
	    "maillog_file_prefixes = %s\n"
	    "smtpd_tls_security_level = none\n"
	    "smtpd_sasl_auth_enable = yes\n"
	    "smtpd_sasl_type = dovecot\n"
	    "smtpd_sasl_path = var/run/acctd/auth\n"
	    "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
	    /* XCLIENT gives the SMTP client another address. */
	    "smtpd_authorized_xclient_hosts = 127.0.0.1\n",
	    queue, data, e->pf, e->pf);
	if (th_write_file(path, text, 0644) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/master.cf", conf);
	snprintf(text, sizeof(text),
	    "127.0.0.1:%d inet n - n - - smtpd\n"
	    "proxymap unix - - n - - proxymap\n"
	    "rewrite unix - - n - - trivial-rewrite\n"
	    "anvil unix - - n - 1 anvil\n"
	    "postlog unix-dgram n - n - 1 postlogd\n", e->port);
	return th_write_file(path, text, 0644);
}

/*
 * A private Postfix on 127.0.0.1 (its own config, queue and data
 * directories under DIR/postfix), and acctd's socket inside its queue
 * directory as the README says. Its smtpd runs as postfix, made a
 * member of a group of this run's, acctd's auth_group here: the README's
 * usermod -aG, without touching the group the other tests use.
 */
static int
setup_postfix(void **state)
{
	struct env *e;
	struct passwd *pw;
	char conf[192], queue[192], data[192], sock[256], extra[128];
	const char *const start[] = { POSTFIX, "-c", conf, "start", NULL };

	*state = NULL;
	if (!th_is_root())
		return setup(state);	/* the test skips itself */
	if (access(POSTFIX, X_OK) != 0 || (pw = getpwnam("postfix")) ==
	    NULL) {
		fprintf(stderr, "%s or the postfix user is missing: make deps "
		    "installs postfix\n", POSTFIX);
		return -1;
	}
	if ((*state = e = calloc(1, sizeof(*e))) == NULL ||
	    th_init(&e->d, NULL) != 0)
		goto fail;
	remove_stale_groups();
	snprintf(e->group, sizeof(e->group), GROUP_PREFIX "%ld",
	    (long)getpid());
	{
		const char *const add[] = { GROUPADD, e->group, NULL };
		const char *const member[] = { GPASSWD, "-a", "postfix",
		    e->group, NULL };

		if (run(add) != 0) {
			e->group[0] = '\0';
			goto fail;
		}
		if (run(member) != 0)
			goto fail;
	}
	snprintf(e->pf, sizeof(e->pf), "%s/postfix", e->d.dir);
	snprintf(conf, sizeof(conf), "%s/conf", e->pf);
	snprintf(queue, sizeof(queue), "%s/queue", e->pf);
	snprintf(data, sizeof(data), "%s/data", e->pf);
	if (mkdir(e->pf, 0755) == -1 || mkdir(conf, 0755) == -1 ||
	    mkdir(queue, 0755) == -1 || mkdir(data, 0700) == -1 ||
	    chown(data, pw->pw_uid, pw->pw_gid) == -1)
		goto fail;
	/* The socket's directory, made as the README has it made. */
	for (int i = 0; i < 3; i++) {
		static const char *const sub[] = { "var", "var/run",
		    "var/run/acctd" };

		snprintf(sock, sizeof(sock), "%s/%s", queue, sub[i]);
		if (mkdir(sock, 0755) == -1)
			goto fail;
	}
	snprintf(sock, sizeof(sock), "%s/var/run/acctd/auth", queue);
	if ((e->port = th_free_port()) < 0 ||
	    postfix_write_config(e, conf, queue, data) == -1)
		goto fail;
	snprintf(extra, sizeof(extra), "auth_group = %s\n", e->group);
	if (up(state, sock, extra) != 0)
		return -1;	/* up() tore it down */
	/* Its smtpd asks for the mechanisms as it starts: acctd first. */
	if (run(start) != 0)
		goto fail;
	e->pf_up = true;
	for (int i = 0; i < 400 && !th_port_open(e->port); i++)
		usleep(50 * 1000);
	if (!th_port_open(e->port)) {
		fprintf(stderr, "test_dovecot_auth: postfix did not listen; "
		    "see %s/maillog\n", e->pf);
		goto fail;
	}
	return 0;
fail:
	teardown(state);
	return -1;
}

/* postfix stop, and its master gone; the group removed. */
static int
postfix_down(struct env *e)
{
	char conf[192], pidfile[192], *text;
	const char *const stop[] = { POSTFIX, "-c", conf, "stop", NULL };
	const char *const del[] = { GROUPDEL, e->group, NULL };
	long pid = 0;
	int rc = 0;

	snprintf(conf, sizeof(conf), "%s/conf", e->pf);
	snprintf(pidfile, sizeof(pidfile), "%s/queue/pid/master.pid", e->pf);
	if (e->pf_up) {
		if ((text = th_slurp(pidfile, NULL)) != NULL)
			pid = strtol(text, NULL, 10);
		if (run(stop) != 0)
			rc = -1;
		for (int i = 0; pid > 0 && i < 400 && kill((pid_t)pid, 0) == 0;
		    i++)
			usleep(50 * 1000);
		if (pid > 0 && kill((pid_t)pid, 0) == 0) {
			fprintf(stderr, "test_dovecot_auth: postfix master %ld "
			    "did not stop\n", pid);
			kill((pid_t)pid, SIGKILL);
			rc = -1;
		}
		e->pf_up = false;
	}
	if (e->group[0] != '\0' && run(del) != 0)
		rc = -1;
	e->group[0] = '\0';
	return rc;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	int rc = 0;

	th_free_all();
	if (e == NULL)
		return 0;
	if (postfix_down(e) != 0)
		rc = -1;
	if (e->d.pid > 0 && th_stop(&e->d) != 0)
		rc = -1;
	th_cleanup(&e->d);
	free(e);
	*state = NULL;
	return rc;
}

/* doveadm auth test as cred, with -x rip=RIP (NULL: none) and more
 * arguments before the user (NULL-terminated): its exit status, and
 * what it said in out. */
static int
doveadm(const struct env *e, const struct th_cred *cred, const char *rip,
    const char *user, const char *pw, char *out, size_t outsz, ...)
{
	const char *argv[24] = { DOVEADM, "-c", e->doveconf, "auth", "test",
	    "-a", e->sock, "-x", "service=smtp" };
	char x[80];
	struct th_result r;
	const char *a;
	va_list ap;
	int n = 9, st;

	if (rip != NULL) {
		snprintf(x, sizeof(x), "rip=%s", rip);
		argv[n++] = "-x";
		argv[n++] = x;
	}
	va_start(ap, outsz);
	while ((a = va_arg(ap, const char *)) != NULL && n < 20)
		argv[n++] = a;
	va_end(ap);
	argv[n++] = user;
	argv[n++] = pw;
	argv[n] = NULL;
	st = th_run_v(argv, cred, NULL, NULL, &r);
	snprintf(out, outsz, "%s%s", r.out ? r.out : "", r.err ? r.err : "");
	th_result_free(&r);
	return st;
}

static int64_t
audited(const struct env *e, const char *user, const char *remote,
    const char *status)
{
	return th_db_int(&e->d, "SELECT count(*) FROM audit_logins WHERE "
	    "realm = 'smtp' AND username = ?1 AND remote_addr = ?2 AND "
	    "status = ?3", user, remote, status, NULL);
}

static int64_t
failed_logins(const struct env *e, const char *user)
{
	return th_db_int(&e->d, "SELECT failed_logins FROM accounts WHERE "
	    "username = ?1", user, NULL);
}

/* doveadm as an authenticator: right and wrong, each audited with the
 * rip it gave, each wrong one counted once, by its address. */
static void
test_doveadm(void **state)
{
	struct env *e = *state;
	char out[2048];

	TH_NEED_ROOT();
	assert_int_equal(doveadm(e, &authn, "192.0.2.9", "alice", ALICE_PW,
	    out, sizeof(out), NULL), 0);
	assert_true(th_contains(out, "passdb: alice auth succeeded"));
	assert_true(th_contains(out, "user=alice"));
	assert_int_equal(audited(e, "alice", "192.0.2.9", "OK"), 1);
	assert_int_not_equal(doveadm(e, &authn, "192.0.2.10", "alice",
	    "wrong-password", out, sizeof(out), NULL), 0);
	assert_true(th_contains(out, "auth failed"));
	assert_int_equal(audited(e, "alice", "192.0.2.10", "FAILED"), 1);
	assert_int_equal(failed_logins(e, "alice"), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT failures FROM "
	    "throttle_sources WHERE remote_addr = '192.0.2.10'", NULL), 1);
	/* A two-factor account: its password fails like a wrong one, its
	 * app password logs in. */
	assert_int_not_equal(doveadm(e, &authn, "192.0.2.11", "bob", BOB_PW,
	    out, sizeof(out), NULL), 0);
	assert_false(th_contains(out, "code"));
	assert_int_equal(doveadm(e, &authn, "192.0.2.11", "bob", e->bob_app,
	    out, sizeof(out), NULL), 0);
}

/* A plain uid is answered FAIL before any check: nothing audited. */
static void
test_plain_uid_refused(void **state)
{
	struct env *e = *state;
	char out[2048];

	TH_NEED_ROOT();
	assert_int_not_equal(doveadm(e, &plain, "192.0.2.9", "alice",
	    ALICE_PW, out, sizeof(out), NULL), 0);
	assert_true(th_contains(out, "permission denied"));
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE realm = 'smtp'", NULL), 0);
	assert_int_equal(th_wait_log(&e->d, 0, "login refused", TH_WAIT_MS),
	    0);
}

/* PLAIN's authorization identity (doveadm -M): another user's is
 * refused before any check; the user's own is the user. */
static void
test_authzid(void **state)
{
	struct env *e = *state;
	char out[2048];

	TH_NEED_ROOT();
	assert_int_not_equal(doveadm(e, &authn, NULL, "alice", ALICE_PW, out,
	    sizeof(out), "-M", "bob", NULL), 0);
	assert_true(th_contains(out, "authorization identity not allowed"));
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE realm = 'smtp'", NULL), 0);
	assert_int_equal(doveadm(e, &authn, NULL, "alice", ALICE_PW, out,
	    sizeof(out), "-M", "alice", NULL), 0);
}

/* ---- raw lines ---- */

/* One line from fd within TH_WAIT_MS, without its newline: 0, or -1 at
 * EOF or timeout. */
static int
get_line(int fd, char *buf, size_t bufsz)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;

		if (poll(&p, 1, TH_WAIT_MS) != 1 || recv(fd, &c, 1, 0) != 1)
			return -1;
		if (c == '\n')
			break;
		if (n + 1 < bufsz)
			buf[n++] = c;
	}
	buf[n] = '\0';
	return 0;
}

static void
say(int fd, const char *fmt, ...)
{
	char buf[16384];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(th_send(fd, buf, (size_t)n), 0);
}

/* The next line must be want. */
static void
expect(int fd, const char *want)
{
	char got[1024];

	if (get_line(fd, got, sizeof(got)) == -1)
		fail_msg("no line, want \"%s\"", want);
	if (strcmp(got, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", got, want);
}

/* base64 of len bytes, th_keep'd. */
static char *
b64(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *s = th_keep(malloc(n));

	assert_non_null(s);
	return sodium_bin2base64(s, n, data, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* PLAIN's response: authzid NUL user NUL password. */
static char *
plain_resp(const char *authz, const char *user, const char *pw)
{
	char buf[8192];
	size_t a = strlen(authz), u = strlen(user), p = strlen(pw);

	assert_true(a + u + p + 2 <= sizeof(buf));
	memcpy(buf, authz, a);
	buf[a] = '\0';
	memcpy(buf + a + 1, user, u);
	buf[a + 1 + u] = '\0';
	memcpy(buf + a + u + 2, pw, p);
	return b64(buf, a + u + p + 2);
}

/* A connection as cred through the handshake: the server's lines
 * checked, the client's (VERSION with minor, CPID) sent. */
static int
dv_open(const struct env *e, const struct th_cred *cred, int minor)
{
	char line[256], want[64];
	int fd;

	assert_true((fd = th_connect_as(cred, e->sock)) >= 0);
	expect(fd, "VERSION\t1\t2");
	expect(fd, "MECH\tPLAIN\tplaintext");
	expect(fd, "MECH\tLOGIN\tplaintext");
	snprintf(want, sizeof(want), "SPID\t%ld", (long)e->d.pid);
	expect(fd, want);
	assert_int_equal(get_line(fd, line, sizeof(line)), 0);
	assert_true(strncmp(line, "CUID\t", 5) == 0 && line[5] != '\0' &&
	    strspn(line + 5, "0123456789") == strlen(line + 5));
	assert_int_equal(get_line(fd, line, sizeof(line)), 0);
	assert_true(strncmp(line, "COOKIE\t", 7) == 0 &&
	    strlen(line + 7) == 32 &&
	    strspn(line + 7, "0123456789abcdef") == 32);
	expect(fd, "DONE");
	say(fd, "VERSION\t1\t%d\nCPID\t%ld\n", minor, (long)getpid());
	return fd;
}

/*
 * Many requests on one connection, as Postfix keeps it: PLAIN with and
 * without an initial response, LOGIN step by step and with the name
 * first, a two-factor account, and the answers Dovecot gives.
 */
static void
test_one_connection(void **state)
{
	struct env *e = *state;
	const char *user_ch = b64("Username:", 9), *pw_ch = b64("Password:", 9);
	char want[64];
	int fd;

	TH_NEED_ROOT();
	fd = dv_open(e, &authn, 2);
	say(fd, "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\t"
	    "rip=198.51.100.7\tsecured\tresp=%s\n",
	    plain_resp("", "alice", ALICE_PW));
	expect(fd, "OK\t1\tuser=alice");
	/* LOGIN: name and password asked in turn. */
	say(fd, "AUTH\t2\tLOGIN\tservice=smtp\trip=198.51.100.7\n");
	snprintf(want, sizeof(want), "CONT\t2\t%s", user_ch);
	expect(fd, want);
	say(fd, "CONT\t2\t%s\n", b64("alice", 5));
	snprintf(want, sizeof(want), "CONT\t2\t%s", pw_ch);
	expect(fd, want);
	say(fd, "CONT\t2\t%s\n", b64(ALICE_PW, strlen(ALICE_PW)));
	expect(fd, "OK\t2\tuser=alice");
	/* LOGIN with the name as initial response; mechanisms in any
	 * case. */
	say(fd, "AUTH\t3\tlogin\tservice=smtp\trip=198.51.100.7\tresp=%s\n",
	    b64("alice", 5));
	snprintf(want, sizeof(want), "CONT\t3\t%s", pw_ch);
	expect(fd, want);
	say(fd, "CONT\t3\t%s\n", b64(ALICE_PW, strlen(ALICE_PW)));
	expect(fd, "OK\t3\tuser=alice");
	/* PLAIN without one: an empty challenge first. A wrong password
	 * counts once. */
	say(fd, "AUTH\t4\tPLAIN\tservice=smtp\trip=198.51.100.8\n");
	expect(fd, "CONT\t4\t");
	say(fd, "CONT\t4\t%s\n", plain_resp("alice", "alice", "wrong-pw"));
	expect(fd, "FAIL\t4\treason=authentication failed");
	assert_int_equal(failed_logins(e, "alice"), 1);
	assert_int_equal(audited(e, "alice", "198.51.100.7", "OK"), 3);
	assert_int_equal(audited(e, "alice", "198.51.100.8", "FAILED"), 1);
	/* bob has two-factor on: his password fails as a wrong one does,
	 * his app password is taken. */
	say(fd, "AUTH\t5\tPLAIN\tservice=smtp\tresp=%s\n",
	    plain_resp("", "bob", BOB_PW));
	expect(fd, "FAIL\t5\treason=authentication failed");
	say(fd, "AUTH\t6\tPLAIN\tservice=smtp\tresp=%s\n",
	    plain_resp("", "bob", e->bob_app));
	expect(fd, "OK\t6\tuser=bob");
	/* pam_acct's name rules: the exact name only. */
	say(fd, "AUTH\t7\tPLAIN\tservice=smtp\tresp=%s\n",
	    plain_resp("", "ALICE", ALICE_PW));
	expect(fd, "FAIL\t7\treason=authentication failed");
	/* Refused without a check: another authzid, an empty or broken
	 * response, a NUL in a LOGIN name, an unknown mechanism. */
	say(fd, "AUTH\t8\tPLAIN\tservice=smtp\tresp=%s\n",
	    plain_resp("bob", "alice", ALICE_PW));
	expect(fd, "FAIL\t8\treason=authorization identity not allowed");
	say(fd, "AUTH\t9\tPLAIN\tservice=smtp\tresp=\n");
	expect(fd, "FAIL\t9\treason=invalid PLAIN response");
	say(fd, "AUTH\t10\tPLAIN\tservice=smtp\tresp==\n");
	expect(fd, "FAIL\t10\treason=invalid PLAIN response");
	say(fd, "AUTH\t11\tPLAIN\tservice=smtp\tresp=*\n");
	expect(fd, "FAIL\t11\treason=invalid base64 data");
	say(fd, "AUTH\t12\tLOGIN\tservice=smtp\tresp=%s\n",
	    b64("alice\0x", 7));
	snprintf(want, sizeof(want), "CONT\t12\t%s", pw_ch);
	expect(fd, want);
	say(fd, "CONT\t12\t%s\n", b64(ALICE_PW, strlen(ALICE_PW)));
	expect(fd, "FAIL\t12\treason=authentication failed");
	say(fd, "AUTH\t13\tCRAM-MD5\tservice=smtp\n");
	expect(fd, "FAIL\t13\treason=unsupported mechanism");
	/* A CONT for no request (given up, or never begun). */
	say(fd, "CONT\t99\t%s\n", b64("alice", 5));
	expect(fd, "FAIL\t99\treason=no such request");
	/* None of those was checked: the audit has what it had, and
	 * alice's counter too. */
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE realm = 'smtp'", NULL), 7);
	assert_int_equal(failed_logins(e, "alice"), 1);
	/* The connection still serves. */
	say(fd, "AUTH\t14\tPLAIN\tservice=smtp\tresp=%s\n",
	    plain_resp("", "alice", ALICE_PW));
	expect(fd, "OK\t14\tuser=alice");
	close(fd);
}

/* Eight requests may wait on a CONT; a ninth takes the oldest's place
 * (its client gave up on it), and the others still go on. */
static void
test_waiting_requests(void **state)
{
	struct env *e = *state;
	const char *user_ch = b64("Username:", 9), *pw_ch = b64("Password:", 9);
	char want[64];
	int fd;

	TH_NEED_ROOT();
	fd = dv_open(e, &authn, 2);
	for (int id = 1; id <= 9; id++) {
		say(fd, "AUTH\t%d\tLOGIN\tservice=smtp\n", id);
		snprintf(want, sizeof(want), "CONT\t%d\t%s", id, user_ch);
		expect(fd, want);
	}
	say(fd, "CONT\t1\t%s\n", b64("alice", 5));
	expect(fd, "FAIL\t1\treason=no such request");
	for (int id = 2; id <= 9; id++) {
		say(fd, "CONT\t%d\t%s\n", id, b64("alice", 5));
		snprintf(want, sizeof(want), "CONT\t%d\t%s", id, pw_ch);
		expect(fd, want);
	}
	say(fd, "CONT\t9\t%s\n", b64(ALICE_PW, strlen(ALICE_PW)));
	expect(fd, "OK\t9\tuser=alice");
	close(fd);
}

/* Clients of minor version 0 and 1 (Postfix, Exim) send "resp=" for no
 * initial response; it is none, not an empty one. */
static void
test_old_client_empty_resp(void **state)
{
	struct env *e = *state;
	int fd;

	TH_NEED_ROOT();
	fd = dv_open(e, &authn, 0);
	say(fd, "AUTH\t1\tPLAIN\tservice=smtp\tresp=\n");
	expect(fd, "CONT\t1\t");
	say(fd, "CONT\t1\t%s\n", plain_resp("", "alice", ALICE_PW));
	expect(fd, "OK\t1\tuser=alice");
	close(fd);
}

/* The longest password a login takes fits in a line; one byte more is
 * refused by the login, not by the line. */
static void
test_longest_password(void **state)
{
	struct env *e = *state;
	char pw[4098];
	int fd;

	TH_NEED_ROOT();
	memset(pw, 'p', sizeof(pw) - 1);
	pw[4096] = '\0';
	fd = dv_open(e, &authn, 2);
	say(fd, "AUTH\t1\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=%s\n",
	    plain_resp("", "alice", pw));
	expect(fd, "FAIL\t1\treason=authentication failed");
	pw[4096] = 'p';
	pw[4097] = '\0';
	say(fd, "AUTH\t2\tPLAIN\tservice=smtp\trip=192.0.2.1\tresp=%s\n",
	    plain_resp("", "alice", pw));
	assert_int_equal(get_line(fd, pw, sizeof(pw)), 0);
	assert_true(strncmp(pw, "FAIL\t2\treason=", 14) == 0);
	assert_int_equal(failed_logins(e, "alice"), 1);
	close(fd);
}

/* Bytes sent after the server's handshake, and the client's too when
 * after_handshake: the connection must end within ms. */
static void
must_close(const struct env *e, bool after_handshake, const void *bytes,
    size_t len, int ms)
{
	char line[256];
	int fd;

	if (after_handshake)
		fd = dv_open(e, &authn, 2);
	else {
		assert_true((fd = th_connect_as(&authn, e->sock)) >= 0);
		do
			assert_int_equal(get_line(fd, line, sizeof(line)), 0);
		while (strcmp(line, "DONE") != 0);
	}
	if (len > 0)
		assert_int_equal(th_send(fd, bytes, len), 0);
	if (th_wait_closed(fd, ms) != 0)
		fail_msg("still open after %d ms: %.*s", ms, (int)(len < 60 ?
		    len : 60), (const char *)bytes);
	close(fd);
}

/* Well before idle_timeout (4 s), which would close it anyway. */
#define CLOSE_MS	2500
#define CLOSES(after, s)	must_close(e, (after), (s), sizeof(s) - 1, \
				    CLOSE_MS)

/* Garbage ends that connection and harms nothing. */
static void
test_garbage(void **state)
{
	struct env *e = *state;
	char big[9000], many[512];
	int fd, n;

	TH_NEED_ROOT();
	CLOSES(false, "AUTH\t1\tPLAIN\tservice=smtp\n");
	CLOSES(false, "VERSION\t2\t0\n");
	CLOSES(false, "VERSION\t1\n");
	CLOSES(false, "VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\n");
	CLOSES(true, "HELLO\n");
	CLOSES(true, "CPID\t7\n");		/* a second one */
	CLOSES(true, "\n");
	CLOSES(true, "AUTH\t1\tPLAIN\n");	/* no service */
	CLOSES(true, "AUTH\tx\tPLAIN\tservice=smtp\n");
	CLOSES(true, "AUTH\t4294967296\tPLAIN\tservice=smtp\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=sm tp\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=smtp\001x\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=smtp\001\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=smtp\0010\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=smtp\001t\n");
	CLOSES(true, "AUTH\t1\tPLAIN\tservice=s\0mtp\n");
	CLOSES(true, "CONT\t1\n");
	/* An id still waiting on its CONT may not begin again. */
	CLOSES(true, "AUTH\t1\tLOGIN\tservice=smtp\n"
	    "AUTH\t1\tLOGIN\tservice=smtp\n");
	/* Too many fields. */
	n = snprintf(many, sizeof(many), "AUTH\t1\tPLAIN\tservice=smtp");
	for (int i = 0; i < 70; i++)
		n += snprintf(many + n, sizeof(many) - (size_t)n, "\tx");
	n += snprintf(many + n, sizeof(many) - (size_t)n, "\n");
	must_close(e, true, many, (size_t)n, CLOSE_MS);
	/* A line over 8192 bytes: closed as its 8193rd byte comes. */
	memset(big, 'A', sizeof(big));
	must_close(e, true, big, sizeof(big), CLOSE_MS);
	/* A line begun and never ended: frame_timeout (1 s), not
	 * idle_timeout (4 s). */
	must_close(e, true, "AUTH\t1\tPL", 9, CLOSE_MS);
	/* Nothing at all: idle_timeout. */
	must_close(e, true, "", 0, 10000);
	/* A request with a CR before its newline is a line like any. */
	fd = dv_open(e, &authn, 2);
	say(fd, "AUTH\t1\tPLAIN\tservice=smtp\tresp=%s\r\n",
	    plain_resp("", "alice", ALICE_PW));
	expect(fd, "OK\t1\tuser=alice");
	close(fd);
	/* acctd is still there, and nothing counted. */
	assert_int_equal(th_call_code(e->d.sock, "hello", NULL), ACCT_OK);
	assert_int_equal(failed_logins(e, "alice"), 0);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE status <> 'OK'", NULL), 0);
}

/* SIGTERM closes an idle connection at once, without waiting for
 * idle_timeout (4 s): a stop is not held up by Postfix's connections. */
static void
test_stop_closes(void **state)
{
	struct env *e = *state;
	struct timespec t0, t1;
	int fd;

	TH_NEED_ROOT();
	fd = dv_open(e, &authn, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(th_stop(&e->d), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000 < 2500);
	assert_int_equal(th_wait_closed(fd, TH_WAIT_MS), 0);
	close(fd);
}

static int
setup_limited(void **state)
{
	*state = NULL;
	return up(state, NULL, "max_connections_per_uid = 2\n");
}

/* A connection over a limit is closed with nothing said: an acctd
 * error frame would be garbage to a Dovecot client. */
static void
test_limit_closes(void **state)
{
	struct env *e = *state;
	int fd[2], over;
	char byte;

	TH_NEED_ROOT();
	fd[0] = dv_open(e, &authn, 2);
	fd[1] = dv_open(e, &authn, 2);
	assert_true((over = th_connect_as(&authn, e->sock)) >= 0);
	assert_int_equal(recv(over, &byte, 1, 0), 0);
	close(over);
	assert_int_equal(th_wait_log(&e->d, 0, "too many connections from "
	    "this user", TH_WAIT_MS), 0);
	close(fd[0]);
	close(fd[1]);
}

/*
 * Postfix's smtpd with smtpd_sasl_type = dovecot, driven by smtplib:
 * each line of input "MECH USER PASSWORD IR [ADDRESS]" is one SMTP
 * session (XCLIENT ADDR=ADDRESS first when given) and prints the AUTH
 * reply's code.
 */
static const char *
smtp(const struct env *e, const char *input)
{
	static const char script[] =
	    "import smtplib, sys\n"
	    "for line in sys.stdin.read().splitlines():\n"
	    "    mech, user, pw, ir, *addr = line.split()\n"
	    "    s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=60)\n"
	    "    s.ehlo()\n"
	    "    if addr:\n"
	    "        code, _ = s.docmd('XCLIENT', 'ADDR=' + addr[0])\n"
	    "        assert code == 220, code\n"
	    "        s.ehlo()\n"
	    "    s.user, s.password = user, pw\n"
	    "    auth = getattr(s, 'auth_' + mech.lower())\n"
	    "    try:\n"
	    "        code, _ = s.auth(mech, auth, initial_response_ok=ir == "
	    "'ir')\n"
	    "    except smtplib.SMTPAuthenticationError as x:\n"
	    "        code = x.smtp_code\n"
	    "    print(code, flush=True)\n"
	    "    s.quit()\n";
	char port[16];
	const char *const argv[] = { PYTHON, "-c", script, port, NULL };
	struct th_result r;

	snprintf(port, sizeof(port), "%d", e->port);
	if (th_run_v(argv, NULL, input, NULL, &r) != 0)
		fail_msg("smtplib: %s\n%s", r.out, r.err);
	return r.out;
}

static void
test_postfix(void **state)
{
	struct env *e = *state;
	struct passwd *pw;

	TH_NEED_ROOT();
	assert_non_null(pw = getpwnam("postfix"));
	assert_string_equal(smtp(e,
	    "PLAIN alice " ALICE_PW " ir\n"
	    "PLAIN alice wrong-password ir\n"
	    "LOGIN alice " ALICE_PW " -\n"
	    "LOGIN alice " ALICE_PW " ir\n"
	    "PLAIN bob " BOB_PW " -\n"), "235\n535\n235\n235\n535\n");
	/* smtpd asked, as postfix, with the SMTP client's address. */
	assert_int_equal(audited(e, "alice", "127.0.0.1", "OK"), 3);
	assert_int_equal(audited(e, "alice", "127.0.0.1", "FAILED"), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT count(DISTINCT peer_uid) "
	    "FROM audit_logins WHERE realm = 'smtp'", NULL), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT max(peer_uid) FROM "
	    "audit_logins WHERE realm = 'smtp'", NULL), (int64_t)pw->pw_uid);
	/* Another client address (XCLIENT): its failure is audited and
	 * counted by that address, once. */
	assert_string_equal(smtp(e, "PLAIN alice wrong-password ir "
	    "192.0.2.33\n"), "535\n");
	assert_int_equal(audited(e, "alice", "192.0.2.33", "FAILED"), 1);
	assert_int_equal(failed_logins(e, "alice"), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT failures FROM "
	    "throttle_sources WHERE remote_addr = '192.0.2.33'", NULL), 1);
	/* bob's app password through Postfix too. */
	{
		char line[256];

		snprintf(line, sizeof(line), "PLAIN bob %s ir\n", e->bob_app);
		assert_string_equal(smtp(e, line), "235\n");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_doveadm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_uid_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_authzid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_connection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiting_requests, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_old_client_empty_resp,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_longest_password, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_closes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limit_closes,
		    setup_limited, teardown),
		cmocka_unit_test_setup_teardown(test_postfix, setup_postfix,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
