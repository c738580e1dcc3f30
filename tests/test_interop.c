/*
 * test_interop.c: real services on pam_acct.so, each a private instance
 * on 127.0.0.1 or a temporary socket: Dovecot (passdb pam: IMAP LOGIN
 * through imaplib, doveadm auth test), Dovecot again on Debian's stock
 * configuration changed as the README says, and saslauthd -a pam with
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
#define UNSHARE		"/usr/bin/unshare"
#define SASLAUTHD	"/usr/sbin/saslauthd"
#define TESTSASLAUTHD	"/usr/sbin/testsaslauthd"
#define PYTHON		"/usr/bin/python3"

#define ALICE_PW	"alice-pass-1"
#define BOB_PW		"bob-pass-1"
#define CAROL_PW	"carol-pass-1"

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
	/* Dovecot on Debian's stock files and the README's changes. */
	char			stock_instance[64];
	pid_t			stock;
};

static struct interop *env;

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
	DIR *dir;
	char path[300], buf[512];
	int n = 0;

	/* "" is in every command line. */
	if (needle[0] == '\0' || (dir = opendir("/proc")) == NULL)
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

/* Dovecot's master started by argv, its output to log: 0 once it
 * listens on port. */
static int
run_dovecot_argv(const char *const *argv, const char *log, int port,
    pid_t *pid)
{
	if ((*pid = spawn(argv, log)) == -1)
		return -1;
	for (int i = 0; i < 400; i++) {
		if (th_port_open(port))
			return 0;
		if (waitpid(*pid, NULL, WNOHANG) == *pid) {
			fprintf(stderr, "test_interop: dovecot exited; see "
			    "%s\n", log);
			*pid = 0;
			return -1;
		}
		nap_ms(50);
	}
	fprintf(stderr, "test_interop: dovecot did not listen\n");
	return -1;
}

/* dovecot -F -c conf. */
static int
run_dovecot(const char *conf, const char *log, int port, pid_t *pid)
{
	const char *const argv[] = { DOVECOT, "-F", "-c", conf, NULL };

	return run_dovecot_argv(argv, log, port, pid);
}

static int
start_dovecot(struct interop *e)
{
	char text[4096], log[160], mail[128];

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
	if (th_write_file(e->conf, text, 0644) == -1)
		return -1;
	return run_dovecot(e->conf, log, e->imap_port, &e->dovecot);
}

/* SIGTERM to the master *pid, and none of instance's processes left
 * behind. */
static int
stop_dovecot(pid_t *pid, const char *instance)
{
	int rc = 0;

	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	if (th_wait_pid(*pid, TH_WAIT_MS) == -1) {
		kill(*pid, SIGKILL);
		waitpid(*pid, NULL, 0);
		rc = -1;
	}
	*pid = 0;
	for (int i = 0; i < 100 && processes_of(instance, false) > 0; i++)
		nap_ms(50);
	if (processes_of(instance, true) > 0) {
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
	if (stop_dovecot(&e->dovecot, e->instance) == -1 ||
	    stop_dovecot(&e->stock, e->stock_instance) == -1 ||
	    stop_saslauthd(e) == -1)
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

/* IMAP LOGIN with Python's imaplib on port, and with select a SELECT
 * INBOX after it (the mail process at work): "OK" or "NO ...". */
static const char *
imap_login_at(int port_no, const char *user, const char *pw, bool select)
{
	static const char script[] =
	    "import imaplib, sys\n"
	    "user, pw = sys.stdin.read().split('\\n')[:2]\n"
	    "m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))\n"
	    "try:\n"
	    "    typ, data = m.login(user, pw)\n"
	    "    if len(sys.argv) > 2:\n"
	    "        typ, data = m.select('INBOX')\n"
	    "    print(typ)\n"
	    "    m.logout()\n"
	    "except imaplib.IMAP4.error as e:\n"
	    "    print('NO', e)\n";
	char port[16], in[256];
	const char *const argv[] = { PYTHON, "-c", script, port,
	    select ? "select" : NULL, NULL };
	struct th_result r;

	snprintf(port, sizeof(port), "%d", port_no);
	snprintf(in, sizeof(in), "%s\n%s\n", user, pw);
	assert_int_equal(th_run_v(argv, NULL, in, NULL, &r), 0);
	return r.out;
}

static const char *
imap_login(const char *user, const char *pw)
{
	return imap_login_at(env->imap_port, user, pw, false);
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

/* s with every from replaced by to, th_keep'd. */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t n = 0, fl = strlen(from), tl = strlen(to);
	const char *p;
	char *out, *o;

	for (p = s; (p = strstr(p, from)) != NULL; p += fl)
		n++;
	assert_non_null(out = th_keep(malloc(strlen(s) + n * tl + 1)));
	for (o = out; (p = strstr(s, from)) != NULL; s = p + fl) {
		memcpy(o, s, (size_t)(p - s));
		o += p - s;
		memcpy(o, to, tl);
		o += tl;
	}
	strcpy(o, s);
	return out;
}

/*
 * The README's code between "<!-- test_interop: NAME begin -->" and its
 * end: the lines of its indented blocks, their indent taken off, so
 * that what the README shows is what runs. th_keep'd.
 */
static char *
readme_block(const char *name)
{
	char path[1024], begin[96], end[96], *text, *b = NULL, *e = NULL;
	char *out, *o;

	snprintf(path, sizeof(path), "%s/README.md", th_srcdir());
	snprintf(begin, sizeof(begin), "<!-- test_interop: %s begin -->\n",
	    name);
	snprintf(end, sizeof(end), "<!-- test_interop: %s end -->", name);
	if ((text = th_slurp(path, NULL)) == NULL ||
	    (b = strstr(text, begin)) == NULL || (e = strstr(b, end)) == NULL)
		fail_msg("%s: no block '%s'", path, name);
	b += strlen(begin);
	assert_non_null(out = o = th_keep(malloc((size_t)(e - b) + 1)));
	while (b < e) {
		size_t len = strcspn(b, "\n");

		if (len >= 4 && strncmp(b, "    ", 4) == 0) {
			memcpy(o, b + 4, len - 4);
			o += len - 4;
			*o++ = '\n';
		} else if (len > 0)
			fail_msg("README block '%s': not code: %.*s", name,
			    (int)len, b);
		b += len + (b[len] == '\n');
	}
	*o = '\0';
	return out;
}

/* The stock files the README's commands change, as Debian ships them:
 * else an admin's edits would be tested, not the README. */
static void
assert_stock(const char *file)
{
	char mine[256], debian[256], *a, *b;
	size_t la, lb;

	snprintf(mine, sizeof(mine), "/etc/dovecot/%s", file);
	snprintf(debian, sizeof(debian), "/usr/share/dovecot/%s", file);
	assert_non_null(a = th_slurp(mine, &la));
	assert_non_null(b = th_slurp(debian, &lb));
	if (la != lb || memcmp(a, b, la) != 0)
		fail_msg("%s is not Debian's %s: this test runs the README on "
		    "the stock configuration", mine, debian);
}

/*
 * The README's Dovecot section, on Debian's stock configuration: its
 * commands run by sh on a copy of /etc/dovecot, and Dovecot started on
 * the result, in a mount namespace of its own where the README's pam.d
 * file is /etc/pam.d/dovecot (Debian's auth-system.conf.ext names that
 * service too). The instance's own settings are in local.conf, which
 * Debian's dovecot.conf reads last. What the test must have its own is
 * replaced in the README's text: the paths /etc/dovecot (in the copy's
 * files too) and /var/vmail, and the module's path and socket. A right
 * password logs in over IMAP and opens the INBOX (a userdb knows the
 * account, and gives the mail process its uid and home); a wrong one
 * counts once (one passdb pam, not two).
 */
static void
test_readme_stock_dovecot(void **state)
{
	struct interop *e = env;
	char conf[128], vmail[128], main_conf[160], local[160], log[160];
	char pam[160], module[256], text[2048];
	const char *cmds, *out, *mod;
	struct th_result r;
	int port;

	(void)state;
	assert_stock("conf.d/10-auth.conf");
	assert_stock("conf.d/auth-system.conf.ext");
	assert_stock("conf.d/10-mail.conf");
	assert_stock("dovecot.conf");
	snprintf(conf, sizeof(conf), "%s/etc-dovecot", e->dir);
	snprintf(vmail, sizeof(vmail), "%s/vmail", e->dir);
	{
		const char *const cp[] = { "/bin/cp", "-a", "/etc/dovecot",
		    conf, NULL };
		/* The copy stands in for /etc/dovecot: its files name it,
		 * and it has the certificate Debian's postinst links to
		 * ssl-cert's snakeoil pair, which this host may lack (the
		 * stock 10-ssl.conf does not parse without it). */
		const char *const own[] = { "/bin/sh", "-ec",
		    "sed -i \"s|/etc/dovecot|$1|g\" \"$1\"/dovecot.conf "
		    "\"$1\"/conf.d/*\n"
		    "[ -e \"$1\"/private/dovecot.pem ] || openssl req -x509 "
		    "-nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
		    "-days 2 -subj /CN=localhost -keyout "
		    "\"$1\"/private/dovecot.key "
		    "-out \"$1\"/private/dovecot.pem\n", "sh", conf, NULL };

		assert_int_equal(th_run_v(cp, NULL, NULL, NULL, &r), 0);
		if (th_run_v(own, NULL, NULL, NULL, &r) != 0)
			fail_msg("%s: %s%s", conf, r.out, r.err);
	}
	assert_non_null(mod = th_pam_module());
	snprintf(module, sizeof(module), "%s socket=%s", mod, e->d.sock);
	snprintf(pam, sizeof(pam), "%s/pam.d-dovecot", e->dir);
	assert_int_equal(th_write_file(pam, replace(readme_block("pam.d"),
	    "pam_acct.so", module), 0644), 0);
	cmds = replace(readme_block("dovecot"), "/etc/dovecot", conf);
	cmds = replace(cmds, "/var/vmail", vmail);
	{
		const char *const sh[] = { "/bin/sh", "-ec", cmds, NULL };

		if (th_run_v(sh, NULL, NULL, NULL, &r) != 0)
			fail_msg("the README's commands:\n%s\n%s%s", cmds,
			    r.out, r.err);
	}
	assert_true((port = th_free_port()) > 0);
	snprintf(e->stock_instance, sizeof(e->stock_instance),
	    "acctd-stock-%ld", (long)getpid());
	snprintf(text, sizeof(text),
	    "base_dir = %s/stock-run\n"
	    "state_dir = %s/stock-state\n"
	    "instance_name = %s\n"
	    "log_path = %s/stock.log\n"
	    "listen = 127.0.0.1\n"
	    "ssl = no\n"
	    "service imap-login {\n"
	    "  inet_listener imap {\n"
	    "    address = 127.0.0.1\n"
	    "    port = %d\n"
	    "  }\n"
	    "  inet_listener imaps {\n"
	    "    port = 0\n"
	    "  }\n"
	    "}\n", e->dir, e->dir, e->stock_instance, e->dir, port);
	snprintf(local, sizeof(local), "%s/local.conf", conf);
	snprintf(main_conf, sizeof(main_conf), "%s/dovecot.conf", conf);
	snprintf(log, sizeof(log), "%s/stock.out", e->dir);
	assert_int_equal(th_write_file(local, text, 0644), 0);
	{
		/* unshare -m makes its mounts private: the host's
		 * /etc/pam.d/dovecot is untouched. */
		const char *const argv[] = { UNSHARE, "-m", "/bin/sh", "-ec",
		    "mount --bind \"$1\" /etc/pam.d/dovecot\n"
		    "exec " DOVECOT " -F -c \"$2\"\n", "sh", pam, main_conf,
		    NULL };

		assert_int_equal(run_dovecot_argv(argv, log, port, &e->stock),
		    0);
	}
	assert_int_equal(th_add_user(e->d.sock, "carol", CAROL_PW), ACCT_OK);

	out = imap_login_at(port, "carol", CAROL_PW, true);
	if (strcmp(out, "OK\n") != 0)
		fail_msg("right password: %s(see %s/stock.log)", out, e->dir);
	assert_true(th_contains(imap_login_at(port, "carol", "wrong-pass-1",
	    false), "NO b'[AUTHENTICATIONFAILED]"));
	assert_int_equal(th_db_int(&e->d, "SELECT failed_logins FROM accounts "
	    "WHERE username = 'carol'", NULL), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE username = 'carol' AND status = 'FAILED'", NULL), 1);
	assert_int_equal(stop_dovecot(&e->stock, e->stock_instance), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imap_login),
		cmocka_unit_test(test_imap_2fa_app_password),
		cmocka_unit_test(test_doveadm_rip),
		cmocka_unit_test(test_saslauthd_pam),
		cmocka_unit_test(test_readme_stock_dovecot),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
