/*
 * test_interop.c: real services on pam_acct.so, each a private instance
 * on 127.0.0.1 or a temporary socket: Dovecot (passdb pam: IMAP LOGIN
 * through imaplib, doveadm auth test) and saslauthd -a pam with
 * testsaslauthd; two-factor accounts through app passwords (nocode).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#include "harness.h"

#define DOVECOT		"/usr/sbin/dovecot"
#define DOVEADM		"/usr/bin/doveadm"
#define SASLAUTHD	"/usr/sbin/saslauthd"
#define TESTSASLAUTHD	"/usr/sbin/testsaslauthd"
#define PYTHON		"/usr/bin/python3"

#define ALICE_PW	"alice-pass-1"
#define BOB_PW		"bob-pass-1"

/* One set of services for the whole file: Dovecot takes a while. */
struct interop {
	struct th_daemon	d;
	struct th_pam		p;
	char			dir[64];	/* /tmp/acctd-interop.XXXXXX */
	char			conf[128];	/* DIR/dovecot.conf */
	char			instance[64];
	char			mux[128];	/* DIR/sasl/mux */
	int			imap_port;
	pid_t			dovecot;	/* its master, -F */
	pid_t			saslauthd;	/* -d: no fork */
	char			bob_app[128];	/* bob's app password */
};

static struct interop *env;

static int
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return -1;
	rc = fputs(text, f) == EOF ? -1 : 0;
	return fclose(f) == 0 ? rc : -1;
}

/* Start argv[0] in the background in a session of its own, its output
 * to log. */
static pid_t
spawn(const char *const *argv, const char *log)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) != 0)
		return pid;
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd == -1 || nul == -1 || dup2(nul, 0) == -1 ||
	    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		_exit(126);
	/* Its own process group: saslauthd signals its whole group on
	 * exit, which would otherwise be the test's (and make's). */
	if (setsid() == -1)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	execv(argv[0], (char *const *)(uintptr_t)argv);
	dprintf(2, "test_interop: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Processes whose command line contains needle (Dovecot's children
 * name themselves dovecot-INSTANCE/...): how many, SIGKILLed if kill. */
static int
processes_of(const char *needle, bool kill_them)
{
	struct dirent *de;
	DIR *dir = opendir("/proc");
	char path[300], buf[512];
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		pid_t pid = (pid_t)atoi(de->d_name);
		ssize_t len;
		int fd;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (strstr(buf, needle) == NULL)
			continue;
		n++;
		if (kill_them)
			kill(pid, SIGKILL);
	}
	closedir(dir);
	return n;
}

static int
start_dovecot(struct interop *e)
{
	char text[4096], log[160], mail[128];
	const char *const argv[] = { DOVECOT, "-F", "-c", e->conf, NULL };

	if (access(DOVECOT, X_OK) == -1) {
		fprintf(stderr, "test_interop: no %s: make deps installs "
		    "dovecot-imapd\n", DOVECOT);
		return -1;
	}
	snprintf(e->conf, sizeof(e->conf), "%s/dovecot.conf", e->dir);
	snprintf(e->instance, sizeof(e->instance), "acctd-test-%ld",
	    (long)getpid());
	snprintf(mail, sizeof(mail), "%s/mail", e->dir);
	if (mkdir(mail, 01777) == -1 || chmod(mail, 01777) == -1 ||
	    (e->imap_port = th_free_port()) < 0)
		return -1;
	/* Its own base_dir, state and log: not the system's instance. */
	snprintf(text, sizeof(text),
	    "base_dir = %s/run\n"
	    "state_dir = %s/state\n"
	    "instance_name = %s\n"
	    "log_path = %s/dovecot.log\n"
	    "protocols = imap\n"
	    "listen = 127.0.0.1\n"
	    "ssl = no\n"
	    "disable_plaintext_auth = no\n"
	    "auth_mechanisms = plain login\n"
	    "auth_failure_delay = 0\n"
	    "mail_location = maildir:%s/%%u\n"
	    "passdb {\n"
	    "  driver = pam\n"
	    "  args = %s\n"
	    "}\n"
	    "userdb {\n"
	    "  driver = static\n"
	    "  args = uid=%u gid=%u home=%s/%%u\n"
	    "}\n"
	    "service imap-login {\n"
	    "  inet_listener imap {\n"
	    "    address = 127.0.0.1\n"
	    "    port = %d\n"
	    "  }\n"
	    "  inet_listener imaps {\n"
	    "    port = 0\n"
	    "  }\n"
	    "}\n", e->dir, e->dir, e->instance, e->dir, mail, e->p.service,
	    TH_NOBODY, TH_NOBODY, mail, e->imap_port);
	snprintf(log, sizeof(log), "%s/dovecot.out", e->dir);
	if (write_text(e->conf, text) == -1 ||
	    (e->dovecot = spawn(argv, log)) == -1)
		return -1;
	for (int i = 0; i < 400; i++) {
		if (th_port_open(e->imap_port))
			return 0;
		if (waitpid(e->dovecot, NULL, WNOHANG) == e->dovecot) {
			fprintf(stderr, "test_interop: dovecot exited; see "
			    "%s\n", log);
			e->dovecot = 0;
			return -1;
		}
		nap_ms(50);
	}
	fprintf(stderr, "test_interop: dovecot did not listen\n");
	return -1;
}

/* SIGTERM to the master, and none of its processes left behind. */
static int
stop_dovecot(struct interop *e)
{
	int rc = 0;

	if (e->dovecot <= 0)
		return 0;
	kill(e->dovecot, SIGTERM);
	if (th_wait_pid(e->dovecot, TH_WAIT_MS) == -1) {
		kill(e->dovecot, SIGKILL);
		waitpid(e->dovecot, NULL, 0);
		rc = -1;
	}
	e->dovecot = 0;
	for (int i = 0; i < 100 && processes_of(e->instance, false) > 0; i++)
		nap_ms(50);
	if (processes_of(e->instance, true) > 0) {
		fprintf(stderr, "test_interop: dovecot processes outlived "
		    "their master\n");
		rc = -1;
	}
	return rc;
}

static int
start_saslauthd(struct interop *e)
{
	char run[96], log[160];
	const char *const argv[] = { SASLAUTHD, "-a", "pam", "-m", run, "-n",
	    "1", "-d", NULL };

	if (access(SASLAUTHD, X_OK) == -1 || access(TESTSASLAUTHD, X_OK)) {
		fprintf(stderr, "test_interop: no %s or %s: make deps "
		    "installs sasl2-bin\n", SASLAUTHD, TESTSASLAUTHD);
		return -1;
	}
	snprintf(run, sizeof(run), "%s/sasl", e->dir);
	snprintf(e->mux, sizeof(e->mux), "%s/mux", run);
	snprintf(log, sizeof(log), "%s/saslauthd.out", e->dir);
	if (mkdir(run, 0755) == -1 || (e->saslauthd = spawn(argv, log)) == -1)
		return -1;
	for (int i = 0; i < 400; i++) {
		if (access(e->mux, F_OK) == 0)
			return 0;
		if (waitpid(e->saslauthd, NULL, WNOHANG) == e->saslauthd) {
			fprintf(stderr, "test_interop: saslauthd exited; see "
			    "%s\n", log);
			e->saslauthd = 0;
			return -1;
		}
		nap_ms(50);
	}
	return -1;
}

static int
stop_saslauthd(struct interop *e)
{
	if (e->saslauthd <= 0)
		return 0;
	kill(e->saslauthd, SIGTERM);
	if (th_wait_pid(e->saslauthd, TH_WAIT_MS) == -1) {
		kill(e->saslauthd, SIGKILL);
		waitpid(e->saslauthd, NULL, 0);
		e->saslauthd = 0;
		return -1;
	}
	e->saslauthd = 0;
	return 0;
}

/* bob: two-factor on, and an app password for the mail services. */
static int
bob_2fa(struct interop *e)
{
	const char *const args[] = { "auth", "add", "--name", "imap",
	    "--scope", "*", "bob", NULL };
	char secret[64], recovery[32];
	struct th_result r;
	const char *p;
	int rc = -1;

	if (th_add_user(e->d.sock, "bob", BOB_PW) != ACCT_OK ||
	    th_totp_enrol(e->d.sock, "bob", secret, recovery) == -1)
		return -1;
	if (th_acctc_v(e->d.sock, NULL, NULL, args, &r) == 0 &&
	    (p = strstr(r.out, "App password: ")) != NULL &&
	    sscanf(p, "App password: %127s", e->bob_app) == 1)
		rc = 0;
	th_result_free(&r);
	return rc;
}

static int group_teardown(void **state);

static int
group_setup(void **state)
{
	struct interop *e = calloc(1, sizeof(*e));
	char pam[1024];

	signal(SIGPIPE, SIG_IGN);
	if ((*state = env = e) == NULL)
		return -1;
	strcpy(e->dir, "/tmp/acctd-interop.XXXXXX");
	if (!th_is_root())
		fprintf(stderr, "test_interop: needs root (services, "
		    "pam.d)\n");
	else if (mkdtemp(e->dir) != NULL && chmod(e->dir, 0755) == 0 &&
	    th_up(&e->d, NULL) == 0 &&
	    snprintf(pam, sizeof(pam), "auth required MODULE socket=%s "
	    "nocode\naccount required MODULE socket=%s\n", e->d.sock,
	    e->d.sock) > 0 &&
	    th_pam_service(&e->p, e->dir, pam) == 0 &&
	    th_add_user(e->d.sock, "alice", ALICE_PW) == ACCT_OK &&
	    bob_2fa(e) == 0 && start_dovecot(e) == 0 &&
	    start_saslauthd(e) == 0)
		return 0;
	/* cmocka skips the teardown of a failed setup. */
	group_teardown(state);
	return -1;
}

static int
group_teardown(void **state)
{
	struct interop *e = *state;
	int rc = 0;
	char cmd[128];

	if (e == NULL)
		return 0;
	if (stop_dovecot(e) == -1 || stop_saslauthd(e) == -1)
		rc = -1;
	th_pam_remove(&e->p);
	if (e->d.pid > 0 && th_stop(&e->d) != 0)
		rc = -1;
	th_cleanup(&e->d);
	if (e->dir[0] != '\0' && strncmp(e->dir, "/tmp/acctd-interop.", 19)
	    == 0 && getenv("ACCT_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->dir);
		if (system(cmd) != 0)
			rc = -1;
	}
	free(e);
	*state = env = NULL;
	th_free_all();
	return rc;
}

/* The audit's status for (user, client) in our realm; NULL if none. */
static const char *
audit_status(const char *user, const char *client, const char *realm)
{
	static char status[32];
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *rows;
	const char *found = NULL;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(env->d.sock, "audit_logins", &m, &rep),
	    ACCT_OK);
	proto_msg_free(&m);
	rows = proto_map_get(rep.result, "logins");
	for (uint32_t i = 0; rows != NULL && i < rows->via.array.size; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i];
		const msgpack_object *st = proto_map_get(row, "status");

		if (th_str_is(row, "client", client) &&
		    th_str_is(row, "realm", realm) && st != NULL &&
		    found == NULL) {
			snprintf(status, sizeof(status), "%.*s",
			    (int)st->via.str.size, st->via.str.ptr);
			found = status;
		}
	}
	proto_reply_free(&rep);
	return found;
}

/* IMAP LOGIN with Python's imaplib: "OK" or "NO ...". */
static const char *
imap_login(const char *user, const char *pw)
{
	static const char script[] =
	    "import imaplib, sys\n"
	    "user, pw = sys.stdin.read().split('\\n')[:2]\n"
	    "m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))\n"
	    "try:\n"
	    "    typ, data = m.login(user, pw)\n"
	    "    print(typ)\n"
	    "    m.logout()\n"
	    "except imaplib.IMAP4.error as e:\n"
	    "    print('NO', e)\n";
	char port[16], in[256];
	const char *const argv[] = { PYTHON, "-c", script, port, NULL };
	struct th_result r;

	snprintf(port, sizeof(port), "%d", env->imap_port);
	snprintf(in, sizeof(in), "%s\n%s\n", user, pw);
	assert_int_equal(th_run_v(argv, NULL, in, NULL, &r), 0);
	return r.out;
}

static void
test_imap_login(void **state)
{
	(void)state;
	assert_string_equal(imap_login("alice", ALICE_PW), "OK\n");
	assert_string_equal(audit_status("alice", "127.0.0.1", env->p.service),
	    "OK");
	assert_true(th_contains(imap_login("alice", "wrong-pass-1"),
	    "NO b'[AUTHENTICATIONFAILED]"));
	assert_string_equal(audit_status("alice", "127.0.0.1", env->p.service),
	    "FAILED");
	assert_true(th_contains(imap_login("nosuchuser", ALICE_PW), "NO "));
}

/* A two-factor account: its password is refused, its app password not. */
static void
test_imap_2fa_app_password(void **state)
{
	(void)state;
	assert_true(th_contains(imap_login("bob", BOB_PW), "NO "));
	assert_string_equal(imap_login("bob", env->bob_app), "OK\n");
}

/* doveadm auth test -x rip=...: the address reaches the audit log. */
static void
test_doveadm_rip(void **state)
{
	const char *const ok[] = { DOVEADM, "-c", env->conf, "auth", "test",
	    "-x", "rip=192.0.2.9", "alice", ALICE_PW, NULL };
	const char *const bad[] = { DOVEADM, "-c", env->conf, "auth", "test",
	    "-x", "rip=192.0.2.10", "alice", "wrong-pass-1", NULL };
	struct th_result r;

	(void)state;
	assert_int_equal(th_run_v(ok, NULL, NULL, NULL, &r), 0);
	assert_true(th_contains(r.out, "passdb: alice auth succeeded"));
	assert_string_equal(audit_status("alice", "192.0.2.9", env->p.service),
	    "OK");
	assert_int_not_equal(th_run_v(bad, NULL, NULL, NULL, &r), 0);
	assert_true(th_contains(r.out, "auth failed") ||
	    th_contains(r.err, "auth failed"));
	assert_string_equal(audit_status("alice", "192.0.2.10",
	    env->p.service), "FAILED");
}

/* testsaslauthd against saslauthd -a pam: its first output line. */
static const char *
sasl(const char *user, const char *pw, const char *service)
{
	const char *const argv[] = { TESTSASLAUTHD, "-u", user, "-p", pw,
	    "-s", service, "-f", env->mux, NULL };
	struct th_result r;

	th_run_v(argv, NULL, NULL, NULL, &r);
	return r.out;
}

static void
test_saslauthd_pam(void **state)
{
	(void)state;
	assert_string_equal(sasl("alice", ALICE_PW, env->p.service),
	    "0: OK \"Success.\"\n");
	assert_string_equal(sasl("alice", "wrong-pass-1", env->p.service),
	    "0: NO \"authentication failed\"\n");
	assert_string_equal(sasl("bob", BOB_PW, env->p.service),
	    "0: NO \"authentication failed\"\n");
	assert_string_equal(sasl("bob", env->bob_app, env->p.service),
	    "0: OK \"Success.\"\n");
	/* The service names the realm; saslauthd gives no address. */
	assert_string_equal(audit_status("bob", "local:uid=0",
	    env->p.service), "OK");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_login),
		cmocka_unit_test(test_imap_2fa_app_password),
		cmocka_unit_test(test_doveadm_rip),
		cmocka_unit_test(test_saslauthd_pam),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
