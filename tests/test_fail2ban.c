/*
 * test_fail2ban.c: the one line of each attempt (acctd/credential.c) as
 * a real acctd writes it, to stderr and to a journal the test plays, and
 * fail2ban's filter and jail (systemd/fail2ban/) run by the real
 * fail2ban-regex and fail2ban-client on those lines: every failure from
 * an address matched, with that address; no success, nothing without an
 * address; and no name, service or address a client chose bans another.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
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

#define F2B_REGEX	"/usr/bin/fail2ban-regex"
#define F2B_CLIENT	"/usr/bin/fail2ban-client"
#define F2B_ETC		"/etc/fail2ban"
#define ALICE_PW	"alice-password"
#define NOBODY_PW	"nobody-password"

/* The MESSAGE_ID of each event, as acctd(8) lists them. */
static const struct {
	const char	*event;
	const char	*id;
} ids[] = {
	{ "login ok", "6d37f35f9a8248e9a30e740adae4f098" },
	{ "login failed", "1b3cfd8756044238a25e5cbe11b46c65" },
	{ "login locked", "805f06b304184982a1424e2c030231f0" },
	{ "login code required", "e1a4e86e5b22465198b8c23167e64aa5" },
	{ "login error", "899e814605a04d779228c7ff21365968" },
};

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

struct env {
	struct th_daemon d;
	char		 mux[160];
	char		 f2b[160];	/* filter.d: common.conf and ours */
	char		 secret[64];	/* dave's TOTP secret */
	/* The journal, when the daemon logs there: every datagram, each
	 * after its size (a size_t), read as it comes. */
	char		 jsock[96];
	int		 jfd;
	pthread_t	 reader;
	bool		 reading;
	pthread_mutex_t	 mu;
	char		*jbuf;
	size_t		 jlen;
	volatile bool	 stop;
};

static void *
read_journal(void *arg)
{
	struct env *e = arg;
	static char buf[65536];

	while (!e->stop) {
		struct pollfd p = { .fd = e->jfd, .events = POLLIN };
		ssize_t n;
		char *nb;

		if (poll(&p, 1, 50) != 1 ||
		    (n = recv(e->jfd, buf, sizeof(buf), 0)) <= 0)
			continue;
		pthread_mutex_lock(&e->mu);
		if ((nb = realloc(e->jbuf, e->jlen + sizeof(size_t) +
		    (size_t)n)) != NULL) {
			e->jbuf = nb;
			memcpy(e->jbuf + e->jlen, &(size_t){ (size_t)n },
			    sizeof(size_t));
			memcpy(e->jbuf + e->jlen + sizeof(size_t), buf,
			    (size_t)n);
			e->jlen += sizeof(size_t) + (size_t)n;
		}
		pthread_mutex_unlock(&e->mu);
	}
	return NULL;
}

/* Write text to path. 0 or -1. */
static int
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state);

/* fail2ban's filter beside the common.conf it includes, as installed. */
static int
filter_dir(struct env *e)
{
	char path[256], *text;

	snprintf(e->f2b, sizeof(e->f2b), "%s/filter.d", e->d.dir);
	snprintf(path, sizeof(path), "%s/systemd/fail2ban/filter.d/acctd.conf",
	    th_srcdir());
	if (mkdir(e->f2b, 0755) == -1 || (text = th_slurp(path, NULL)) ==
	    NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/acctd.conf", e->f2b);
	if (put(path, text) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/common.conf", e->f2b);
	return symlink(F2B_ETC "/filter.d/common.conf", path);
}

/* A daemon logging to stderr, or with journal to a journal of ours:
 * stderr is its stream (JOURNAL_STREAM) and ACCT_JOURNAL_SOCKET our
 * socket. Accounts: alice, carol, dave (two-factor), erin (no login),
 * nobody (the local user of uid 65534). */
static int
up(void **state, bool journal)
{
	struct env *e = calloc(1, sizeof(*e));
	char extra[256], stream[64];
	struct proto_msg m;
	char recovery[32];
	struct stat st;
	int fd, rc;

	if ((*state = e) == NULL)
		return -1;
	e->jfd = -1;
	pthread_mutex_init(&e->mu, NULL);
	if (access(F2B_REGEX, X_OK) != 0) {
		fprintf(stderr, "%s is missing: make deps installs fail2ban\n",
		    F2B_REGEX);
		return -1;
	}
	if (th_init(&e->d, NULL) != 0 || filter_dir(e) != 0)
		goto fail;
	snprintf(e->mux, sizeof(e->mux), "%s/mux", e->d.dir);
	snprintf(extra, sizeof(extra), "saslauthd_socket = %s\n"
	    "lockout_failures = 3\n", e->mux);
	if (th_write_config(&e->d, extra) != 0)
		goto fail;
	if (journal) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(e->jsock, sizeof(e->jsock), "%s/journal", e->d.dir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->jsock);
		if ((e->jfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
		    -1 || bind(e->jfd, (struct sockaddr *)&sa, sizeof(sa)) ==
		    -1 || pthread_create(&e->reader, NULL, read_journal, e) !=
		    0)
			goto fail;
		e->reading = true;
		/* The daemon's stderr, made first to be named. */
		if ((fd = open(e->d.log, O_WRONLY | O_CREAT | O_CLOEXEC,
		    0644)) == -1 || fstat(fd, &st) == -1)
			goto fail;
		close(fd);
		snprintf(stream, sizeof(stream), "%lu:%lu",
		    (unsigned long)st.st_dev, (unsigned long)st.st_ino);
		setenv("JOURNAL_STREAM", stream, 1);
		setenv("ACCT_JOURNAL_SOCKET", e->jsock, 1);
	}
	rc = th_start(&e->d);
	unsetenv("JOURNAL_STREAM");
	unsetenv("ACCT_JOURNAL_SOCKET");
	if (rc != 0 || th_add_user(e->d.sock, "alice", ALICE_PW) != ACCT_OK ||
	    th_add_user(e->d.sock, "carol", ALICE_PW) != ACCT_OK ||
	    th_add_user(e->d.sock, "dave", ALICE_PW) != ACCT_OK ||
	    th_totp_enrol(e->d.sock, "dave", e->secret, recovery) != 0 ||
	    th_add_user(e->d.sock, "erin", ALICE_PW) != ACCT_OK ||
	    th_add_user(e->d.sock, "nobody", NOBODY_PW) != ACCT_OK)
		goto fail;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "erin");
	proto_kv_bool(&m, "login", false);
	rc = th_call_code(e->d.sock, "user_mod", &m);
	proto_msg_free(&m);
	if (rc != ACCT_OK)
		goto fail;
	return 0;
fail:
	teardown(state);
	*state = NULL;
	return -1;
}

static int
setup(void **state)
{
	return up(state, false);
}

static int
setup_journal(void **state)
{
	return up(state, true);
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
	if (e->reading) {
		e->stop = true;
		pthread_join(e->reader, NULL);
	}
	if (e->jfd != -1)
		close(e->jfd);
	th_cleanup(&e->d);
	free(e->jbuf);
	pthread_mutex_destroy(&e->mu);
	free(e);
	return rc;
}

/* A login as an admin (root): a service that reports remote. */
static int
login(const struct env *e, const char *user, const char *pw,
    const char *service, const char *remote, const char *code, bool no_code)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	proto_kv_str(&m, "service", service);
	if (remote != NULL)
		proto_kv_str(&m, "remote_addr", remote);
	if (code != NULL)
		proto_kv_str(&m, "code", code);
	if (no_code)
		proto_kv_bool(&m, "no_code", true);
	rc = th_call_code(e->d.sock, "login", &m);
	proto_msg_free(&m);
	return rc;
}

/* The same through the saslauthd socket, with the fifth string (the
 * client's address) that newer clients send: "OK", or "NO ...". */
static void
sasl(const struct env *e, const char *user, const char *pw,
    const char *service, const char *remote, char *out, size_t outsz)
{
	const char *const fields[] = { user, pw, service, "", remote };
	uint8_t buf[1024], rep[260];
	size_t len = 0;
	int fd;

	for (int i = 0; i < 5; i++) {
		size_t k = strlen(fields[i]);

		buf[len++] = (uint8_t)(k >> 8);
		buf[len++] = (uint8_t)k;
		memcpy(buf + len, fields[i], k);
		len += k;
	}
	assert_true((fd = th_connect(e->mux)) >= 0);
	assert_int_equal(th_send(fd, buf, len), 0);
	out[0] = '\0';
	if (recv(fd, rep, 2, MSG_WAITALL) == 2) {
		size_t k = (size_t)rep[0] << 8 | rep[1];
		ssize_t got = recv(fd, rep, k < sizeof(rep) ? k : sizeof(rep),
		    MSG_WAITALL);

		if (got > 0)
			snprintf(out, outsz, "%.*s", (int)got, rep);
	}
	close(fd);
}

/* The local user nobody, changing its own password through passwd and
 * naming an address, which is not its to name: its uid is the source. */
static int
passwd_local(const struct env *e, const char *pw, const char *remote)
{
	struct th_req r = { e->d.sock, "passwd", { TH_S("password", pw),
	    TH_S("new_password", "nobody-new-password"),
	    TH_S("remote_addr", remote) } };
	char msg[256];

	return th_req_as(&plain, &r, msg, sizeof(msg));
}

/* A code dave's authenticator does not show now, nor a step before or
 * after (the window a check allows). */
static void
wrong_code(const struct env *e, char out[8])
{
	char near[3][8];

	for (int i = 0; i < 3; i++)
		th_totp_code(e->secret, i - 1, near[i]);
	snprintf(out, 8, "%s", near[1]);
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < 6; i++)
			out[i] = (char)('0' + (near[1][i] - '0' + 1 + k) % 10);
		if (strcmp(out, near[0]) && strcmp(out, near[1]) &&
		    strcmp(out, near[2]))
			return;
	}
	fail_msg("no wrong code");
}

/*
 * One attempt of each kind, each with the line acctd must write for it
 * and the address fail2ban must take from that line (NULL: none).
 */
#define OK	ACCT_OK
#define NO	ACCT_ERR_AUTH_FAILED
static const struct attempt {
	char		 how;	/* l login, s saslauthd, p passwd (local) */
	const char	*user, *pw, *service, *remote, *code;
	int		 want;
	const char	*line;
	const char	*ban;
} scenario[] = {
	{ 'l', "alice", ALICE_PW, "smtp", "203.0.113.5", NULL, OK,
	  "login ok: rhost=203.0.113.5 service=smtp user=alice uid=0 "
	  "outcome=OK", NULL },
	{ 'l', "alice", "wrong", "smtp", "203.0.113.5", NULL, NO,
	  "login failed: rhost=203.0.113.5 service=smtp user=alice uid=0 "
	  "outcome=FAILED", "203.0.113.5" },
	/* An unknown name is not logged: it may be a password. */
	{ 'l', "mallory", "wrong", "imap", "2001:db8::7", NULL, NO,
	  "login failed: rhost=2001:db8::7 service=imap user= uid=0 "
	  "outcome=FAILED", "2001:db8::7" },
	{ 's', "alice", "wrong", "smtp", "192.0.2.20", NULL, NO,
	  "login failed: rhost=192.0.2.20 service=smtp user=alice uid=0 "
	  "outcome=FAILED", "192.0.2.20" },
	{ 's', "alice", ALICE_PW, "smtp", "192.0.2.20", NULL, OK,
	  "login ok: rhost=192.0.2.20 service=smtp user=alice uid=0 "
	  "outcome=OK", NULL },
	/* A service that reports no address: nothing to ban. */
	{ 'l', "alice", "wrong", "smtp", NULL, NULL, NO,
	  "login failed: rhost= service=smtp user=alice uid=0 "
	  "outcome=FAILED", NULL },
	/* A local user: its uid is the source, whatever it names. */
	{ 'p', "nobody", "wrong", NULL, "203.0.113.99", NULL, NO,
	  "login failed: rhost= service=passwd user=nobody uid=65534 "
	  "outcome=FAILED", NULL },
	{ 'l', "carol", "wrong", "smtp", "192.0.2.44", NULL, NO,
	  "login failed: rhost=192.0.2.44 service=smtp user=carol uid=0 "
	  "outcome=FAILED", "192.0.2.44" },
	{ 'l', "carol", "wrong", "smtp", "192.0.2.44", NULL, NO,
	  "login failed: rhost=192.0.2.44 service=smtp user=carol uid=0 "
	  "outcome=FAILED", "192.0.2.44" },
	{ 'l', "carol", "wrong", "smtp", "192.0.2.44", NULL, NO,
	  "login failed: rhost=192.0.2.44 service=smtp user=carol uid=0 "
	  "outcome=FAILED", "192.0.2.44" },
	/* Locked now (lockout_failures = 3): refused, and still a failed
	 * attempt of that address. */
	{ 'l', "carol", ALICE_PW, "smtp", "192.0.2.44", NULL, NO,
	  "login locked: rhost=192.0.2.44 service=smtp user=carol uid=0 "
	  "outcome=LOCKED", "192.0.2.44" },
	/* The first step of a two-factor login is no failure. */
	{ 'l', "dave", ALICE_PW, "imap", "203.0.113.30", NULL,
	  ACCT_ERR_CODE_REQUIRED,
	  "login code required: rhost=203.0.113.30 service=imap user=dave "
	  "uid=0 outcome=CODE_REQUIRED", NULL },
	{ 'l', "dave", ALICE_PW, "imap", "203.0.113.30", "wrong", NO,
	  "login failed: rhost=203.0.113.30 service=imap user=dave uid=0 "
	  "outcome=BAD_CODE", "203.0.113.30" },
	{ 'l', "erin", ALICE_PW, "smtp", "203.0.113.40", NULL, NO,
	  "login failed: rhost=203.0.113.40 service=smtp user=erin uid=0 "
	  "outcome=DISABLED", "203.0.113.40" },
	/* An IPv4 address as IPv6 gives it: fail2ban bans the IPv4 one. */
	{ 'l', "alice", "wrong", "pop3", "::ffff:192.0.2.60", NULL, NO,
	  "login failed: rhost=::ffff:192.0.2.60 service=pop3 user=alice "
	  "uid=0 outcome=FAILED", "192.0.2.60" },
};

/*
 * Attacks: names, services and addresses shaped like a line of another
 * address (198.51.100.x, which must never be banned), and a local user
 * naming one. Each is a real failure, banned when it has a real address.
 */
static const struct attempt attacks[] = {
	{ 'l', "x rhost=198.51.100.1 service=smtp user=x uid=0 "
	  "outcome=FAILED", "pw", "smtp", "203.0.113.70", NULL, NO,
	  "login failed: rhost=203.0.113.70 service=smtp user= uid=0 "
	  "outcome=FAILED", "203.0.113.70" },
	{ 'l', "x\nacctd[1]: info: login failed: rhost=198.51.100.2 "
	  "service=smtp user=x uid=0 outcome=FAILED", "pw", "smtp",
	  "203.0.113.71", NULL, NO,
	  "login failed: rhost=203.0.113.71 service=smtp user= uid=0 "
	  "outcome=FAILED", "203.0.113.71" },
	/* An address a web application copied from a header: not one. */
	{ 'l', "alice", "wrong", "smtp",
	  "\nlogin locked: rhost=198.51.100.3 service= user= uid=0 outcome=X",
	  NULL, NO,
	  "login failed: rhost=\\012login\\040locked:\\040rhost=198.51.100.3"
	  "\\040service=\\040user=\\040uid=0\\040outcome=X service=smtp "
	  "user=alice uid=0 outcome=FAILED", NULL },
	{ 'l', "alice", "wrong", "smtp", "198.51.100.4 service=smtp", NULL,
	  NO, "login failed: rhost=198.51.100.4\\040service=smtp "
	  "service=smtp user=alice uid=0 outcome=FAILED", NULL },
	{ 'l', "alice", "wrong",
	  "\nlogin failed: rhost=198.51.100.5 service= user= uid=0 outcome=X",
	  "203.0.113.73", NULL, NO,
	  "login failed: rhost=203.0.113.73 service=\\012login\\040failed:"
	  "\\040rhost=198.51.100.5\\040service=\\040user=\\040uid=0\\040"
	  "outcome=X user=alice uid=0 outcome=FAILED", "203.0.113.73" },
	/* A service a line of its own starts with (dave's password alone,
	 * where no code can be asked): that line must not match either. */
	{ 'n', "dave", ALICE_PW,
	  "login failed: rhost=198.51.100.6 service=x user= uid=0 outcome=X",
	  "203.0.113.74", NULL, NO,
	  "login failed: rhost=203.0.113.74 service=login\\040failed:\\040"
	  "rhost=198.51.100.6\\040service=x\\040user=\\040uid=0\\040"
	  "outcome=X user=dave uid=0 outcome=FAILED", "203.0.113.74" },
	{ 'p', "nobody", "wrong", NULL, "198.51.100.7", NULL, NO,
	  "login failed: rhost= service=passwd user=nobody uid=65534 "
	  "outcome=FAILED", NULL },
};
#undef OK
#undef NO

static void
run(struct env *e, const struct attempt *a, size_t n)
{
	char out[256], code[8];
	int rc = ACCT_OK;

	for (size_t i = 0; i < n; i++, a++) {
		const char *c = a->code;

		if (c != NULL && strcmp(c, "wrong") == 0) {
			wrong_code(e, code);
			c = code;
		}
		switch (a->how) {
		case 'l':
		case 'n':
			rc = login(e, a->user, a->pw, a->service, a->remote, c,
			    a->how == 'n');
			break;
		case 's':
			sasl(e, a->user, a->pw, a->service, a->remote, out,
			    sizeof(out));
			rc = strcmp(out, "OK") == 0 ? ACCT_OK :
			    ACCT_ERR_AUTH_FAILED;
			break;
		case 'p':
			rc = passwd_local(e, a->pw, a->remote);
			break;
		}
		if (rc != a->want)
			fail_msg("attempt %zu (%s): %s, want %s", i, a->line,
			    acct_errname(rc), acct_errname(a->want));
	}
}

/* The event lines of a log, from offset on, without what comes before
 * the event ("acctd[PID]: info: "), one per line, th_keep'd. */
static char *
event_lines(const char *log)
{
	char *out = th_keep(calloc(1, strlen(log) + 1)), *o = out;

	for (const char *p = log; *p != '\0';) {
		const char *nl = strchr(p, '\n'), *ev;
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if ((ev = strstr(p, "]: info: login ")) != NULL &&
		    ev < p + n) {
			ev += strlen("]: info: ");
			memcpy(o, ev, (size_t)(p + n - ev));
			o += p + n - ev;
			*o++ = '\n';
		}
		p += n + (nl != NULL);
	}
	return out;
}

/* The lines of attempts, one each. */
static char *
want_lines(const struct attempt *a, size_t n)
{
	size_t len = 1;
	char *s;

	for (size_t i = 0; i < n; i++)
		len += strlen(a[i].line) + 1;
	s = th_keep(calloc(1, len));
	for (size_t i = 0; i < n; i++) {
		strcat(s, a[i].line);
		strcat(s, "\n");
	}
	return s;
}

/* The addresses fail2ban must take, one a line. */
static char *
want_bans(const struct attempt *a, size_t n)
{
	char *s = th_keep(calloc(1, n * 64 + 1));

	for (size_t i = 0; i < n; i++)
		if (a[i].ban != NULL) {
			strcat(s, a[i].ban);
			strcat(s, "\n");
		}
	return s;
}

/* What fail2ban-regex finds in the log at path with our filter (opts:
 * the filter's, e.g. "logtype=journal", or NULL): the address of each
 * match, one a line. */
static char *
bans(const struct env *e, const char *path, const char *opts)
{
	char filter[256];
	struct th_result r;
	char *out;

	snprintf(filter, sizeof(filter), "%s/acctd.conf%s%s%s", e->f2b,
	    opts ? "[" : "", opts ? opts : "", opts ? "]" : "");
	const char *const argv[] = { F2B_REGEX, "-o", "ip", path, filter,
	    NULL };
	if (th_run_v(argv, NULL, NULL, NULL, &r) != 0)
		fail_msg("fail2ban-regex: status %d\n%s%s", r.status, r.out,
		    r.err);
	out = r.out;		/* th_keep'd */
	r.out = NULL;
	th_result_free(&r);
	return out;
}

/* The stable form, on stderr: one line per attempt, as documented, the
 * address being the one the throttle keyed on. */
static void
test_lines(void **state)
{
	struct env *e = *state;
	size_t off;

	TH_NEED_ROOT();
	off = th_log_size(&e->d);
	run(e, scenario, sizeof(scenario) / sizeof(scenario[0]));
	assert_string_equal(event_lines((char *)th_keep(th_read_log(&e->d)) +
	    off),
	    want_lines(scenario, sizeof(scenario) / sizeof(scenario[0])));
}

/* fail2ban-regex on the daemon's whole stderr (at log_level debug, with
 * every other line it writes): each failure with an address matched,
 * with it; no success; nothing without an address. */
static void
test_filter_stderr(void **state)
{
	struct env *e = *state;
	char *log;

	TH_NEED_ROOT();
	run(e, scenario, sizeof(scenario) / sizeof(scenario[0]));
	log = th_keep(th_read_log(&e->d));
	/* Successes are there, to be left alone. */
	assert_true(th_count(log, ": info: login ok: ") >= 3);
	assert_string_equal(bans(e, e->d.log, NULL),
	    want_bans(scenario, sizeof(scenario) / sizeof(scenario[0])));
}

/* The attacks, in either order of the fields' reader: no injected
 * address, each real one; the log has every line it should. */
static void
test_filter_injection(void **state)
{
	struct env *e = *state;
	const size_t n = sizeof(attacks) / sizeof(attacks[0]);
	char *log, *b;
	size_t off;

	TH_NEED_ROOT();
	off = th_log_size(&e->d);
	run(e, attacks, n);
	log = th_keep(th_read_log(&e->d));
	assert_string_equal(event_lines(log + off), want_lines(attacks, n));
	/* Other lines name the service too, never first. */
	assert_true(th_contains(log + off, "]: info: two-factor account dave: "
	    "service login failed: rhost=198.51.100.6 service=x user= uid=0 "
	    "outcome=X cannot ask"));
	b = bans(e, e->d.log, NULL);
	assert_false(th_contains(b, "198.51.100."));
	assert_string_equal(b, want_bans(attacks, n));
}

/* Every datagram the journal got with a MESSAGE_ID: field values of each
 * in turn. */
struct entry {
	char	*f[9];
};
static const char *const keys[9] = { "MESSAGE", "MESSAGE_ID", "PRIORITY",
    "SYSLOG_IDENTIFIER", "ACCTD_RHOST", "ACCTD_SERVICE", "ACCTD_USER",
    "ACCTD_UID", "ACCTD_OUTCOME" };

/* KEY=value lines only: acctd escapes newlines out of every value. */
static char *
dfield(const char *d, size_t n, const char *key)
{
	size_t k = strlen(key);

	for (const char *p = d, *end = d + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			fail_msg("a datagram without its last newline");
		if ((size_t)(nl - p) > k && memcmp(p, key, k) == 0 &&
		    p[k] == '=')
			return th_keep(strndup(p + k + 1,
			    (size_t)(nl - p) - k - 1));
		if (memchr(p, '=', (size_t)(nl - p)) == NULL)
			fail_msg("a field in the binary form: %.*s",
			    (int)(nl - p), p);
		p = nl + 1;
	}
	return NULL;
}

/* The entries, after the first skip of them, once want have come. */
static int
entries(struct env *e, int skip, int want, struct entry *out)
{
	for (int tries = 0; tries < 400; tries++) {
		int n = 0;

		pthread_mutex_lock(&e->mu);
		for (size_t o = 0; o < e->jlen;) {
			size_t len;
			const char *d = e->jbuf + o + sizeof(size_t);

			memcpy(&len, e->jbuf + o, sizeof(len));
			o += sizeof(size_t) + len;
			if (dfield(d, len, "MESSAGE_ID") == NULL)
				continue;
			if (n >= skip && n - skip < want)
				for (int i = 0; i < 9; i++)
					out[n - skip].f[i] = dfield(d, len,
					    keys[i]);
			n++;
		}
		pthread_mutex_unlock(&e->mu);
		if (n >= skip + want)
			return n - skip;
		usleep(25000);
	}
	return -1;
}

/* One word's value in a line of the stable form. */
static char *
value_in(const char *line, const char *key)
{
	char k[32];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	assert_non_null(p = strstr(line, k));
	p += strlen(k);
	return th_keep(strndup(p, strcspn(p, " ")));
}

/*
 * Under the journal: each attempt one entry, its line the MESSAGE, the
 * MESSAGE_ID of its event (as acctd(8) lists them), the values in
 * ACCTD_* fields; nothing of them on stderr.
 */
static void
test_journal_fields(void **state)
{
	struct env *e = *state;
	const size_t n = sizeof(scenario) / sizeof(scenario[0]);
	struct entry got[sizeof(scenario) / sizeof(scenario[0])];
	char path[256], *man;
	int before;

	TH_NEED_ROOT();
	/* What setup did: dave's enrolment confirmed with a code. */
	before = entries(e, 0, 1, got);
	assert_int_equal(before, 1);
	run(e, scenario, n);
	assert_int_equal(entries(e, before, (int)n, got), (int)n);
	for (size_t i = 0; i < n; i++) {
		const char *line = scenario[i].line, *id = NULL;
		char **f = got[i].f;

		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
			if (strncmp(line, ids[k].event, strlen(ids[k].event))
			    == 0 && line[strlen(ids[k].event)] == ':')
				id = ids[k].id;
		assert_non_null(id);
		assert_string_equal(f[0], line);
		assert_string_equal(f[1], id);
		assert_string_equal(f[2], "6");
		assert_string_equal(f[3], "acctd");
		assert_string_equal(f[4], value_in(line, "rhost"));
		assert_string_equal(f[5], value_in(line, "service"));
		assert_string_equal(f[6], value_in(line, "user"));
		assert_string_equal(f[7], value_in(line, "uid"));
		assert_string_equal(f[8], value_in(line, "outcome"));
	}
	assert_false(th_contains(th_keep(th_read_log(&e->d)), "login "));
	/* The ids are the ones the manual gives admins. */
	snprintf(path, sizeof(path), "%s/man/acctd.8", th_srcdir());
	assert_non_null(man = th_slurp(path, NULL));
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
		assert_true(th_contains(man, ids[k].id));
}

/*
 * The journal's entries as fail2ban's systemd backend reads them
 * (HOST IDENT[PID]: MESSAGE, dated), and as a syslog daemon writes them
 * to a file: the same addresses matched as on stderr.
 */
static void
test_filter_journal(void **state)
{
	struct env *e = *state;
	const size_t n = sizeof(scenario) / sizeof(scenario[0]);
	struct entry got[sizeof(scenario) / sizeof(scenario[0])];
	char path[256], date[64], host[64];
	time_t now = time(NULL);
	FILE *f;

	TH_NEED_ROOT();
	run(e, scenario, n);
	assert_int_equal(entries(e, 1, (int)n, got), (int)n);
	/* Every entry, not only the events: all of the daemon's lines. */
	strftime(date, sizeof(date), "%b %e %H:%M:%S", localtime(&now));
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/journal.log", e->d.dir);
	assert_non_null(f = fopen(path, "w"));
	pthread_mutex_lock(&e->mu);
	for (size_t o = 0; o < e->jlen;) {
		size_t len;
		const char *d = e->jbuf + o + sizeof(size_t);

		memcpy(&len, e->jbuf + o, sizeof(len));
		o += sizeof(size_t) + len;
		fprintf(f, "%s %s %s[%ld]: %s\n", date, host,
		    dfield(d, len, "SYSLOG_IDENTIFIER"), (long)e->d.pid,
		    dfield(d, len, "MESSAGE"));
	}
	pthread_mutex_unlock(&e->mu);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(bans(e, path, "logtype=journal"),
	    want_bans(scenario, n));
	assert_string_equal(bans(e, path, NULL), want_bans(scenario, n));
}

/* The example jail, alone in a copy of this machine's fail2ban
 * configuration with our filter: fail2ban-client takes it, on the
 * journal of acctd's unit, banning on every port. */
static void
test_jail_example(void **state)
{
	struct env *e = *state;
	struct th_result r;
	char etc[160], cmd[1024];
	const char *p;

	snprintf(etc, sizeof(etc), "%s/etc-fail2ban", e->d.dir);
	snprintf(cmd, sizeof(cmd), "set -e; cp -r " F2B_ETC " \"$0\"; "
	    "cp \"$1\"/systemd/fail2ban/filter.d/acctd.conf \"$0\"/filter.d/; "
	    "rm -f \"$0\"/jail.local \"$0\"/jail.d/*; "
	    "cp \"$1\"/systemd/fail2ban/jail.d/acctd.local \"$0\"/jail.d/; "
	    F2B_CLIENT " -c \"$0\" -t; " F2B_CLIENT " -c \"$0\" -d");
	const char *const argv[] = { "/bin/sh", "-c", cmd, etc, th_srcdir(),
	    NULL };
	if (th_run_v(argv, NULL, NULL, NULL, &r) != 0)
		fail_msg("fail2ban-client: status %d\n%s%s", r.status, r.out,
		    r.err);
	assert_true(th_contains(r.out, "['add', 'acctd', 'systemd']"));
	assert_true(th_contains(r.out, "['set', 'acctd', 'addjournalmatch', "
	    "'_SYSTEMD_UNIT=acctd.service', '+', '_COMM=acctd']"));
	/* Every port: the *-allports action the machine's jail.conf names
	 * as banaction_allports, whatever firewall it is. */
	assert_non_null(p = strstr(r.out, "['set', 'acctd', 'addaction', '"));
	p += strlen("['set', 'acctd', 'addaction', '");
	assert_true(strncmp(p + strcspn(p, "'") - strlen("-allports"),
	    "-allports'", strlen("-allports'")) == 0);
	assert_true(th_contains(r.out, "['start', 'acctd']"));
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter_stderr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_filter_injection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_fields,
		    setup_journal, teardown),
		cmocka_unit_test_setup_teardown(test_filter_journal,
		    setup_journal, teardown),
		cmocka_unit_test_setup_teardown(test_jail_example, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
