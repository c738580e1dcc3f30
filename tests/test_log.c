/*
 * test_log.c: common/log.c and common/journal.c in this process: an
 * event's line (one word per value, whatever it holds), its entry in a
 * journal played by a socket the test binds (fields, MESSAGE_ID, the
 * binary form of a value with a newline), and the line on stderr when
 * stderr is not the journal's or the journal does not take the entry,
 * at once or, when it is full, after a bounded wait.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

#include "../common/journal.h"
#include "../common/log.h"
#include "harness.h"

#define ID	"1b3cfd8756044238a25e5cbe11b46c65"

struct env {
	char	 dir[64];
	char	 err[96];	/* what stderr is while captured */
	char	 sock[96];	/* the fake journal */
	int	 saved;		/* our stderr */
	int	 jfd;		/* bound at sock, or -1 */
	char	 dgram[65536];
	ssize_t	 dlen;
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	*state = e;
	e->saved = e->jfd = -1;
	strcpy(e->dir, "/tmp/acctd-log.XXXXXX");
	if (mkdtemp(e->dir) == NULL)
		return -1;
	snprintf(e->err, sizeof(e->err), "%s/stderr", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/journal", e->dir);
	unsetenv("JOURNAL_STREAM");
	unsetenv("ACCT_JOURNAL_SOCKET");
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	th_free_all();
	if (e->saved != -1) {
		dup2(e->saved, STDERR_FILENO);
		close(e->saved);
	}
	if (e->jfd != -1)
		close(e->jfd);
	unlink(e->sock);
	unlink(e->err);
	rmdir(e->dir);
	unsetenv("JOURNAL_STREAM");
	unsetenv("ACCT_JOURNAL_SOCKET");
	log_init("test_log", LOG_LVL_INFO);
	free(e);
	return 0;
}

/* The journal's part: a datagram socket at e->sock. */
static void
bind_journal(struct env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->sock);
	assert_true((e->jfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC,
	    0)) >= 0);
	assert_int_equal(bind(e->jfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("ACCT_JOURNAL_SOCKET", e->sock, 1);
}

/* stderr to a fresh file; with journal, JOURNAL_STREAM names it. */
static void
capture(struct env *e, bool journal)
{
	struct stat st;
	char v[64];
	int fd;

	fflush(stderr);
	assert_true((fd = open(e->err, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) >= 0);
	if (e->saved == -1)
		assert_true((e->saved = dup(STDERR_FILENO)) >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%lu:%lu", (unsigned long)st.st_dev,
	    (unsigned long)st.st_ino);
	if (journal)
		setenv("JOURNAL_STREAM", v, 1);
}

/* stderr back; what was written to it. */
static char *
captured(struct env *e)
{
	fflush(stderr);
	assert_int_equal(dup2(e->saved, STDERR_FILENO), STDERR_FILENO);
	return th_slurp(e->err, NULL);
}

/* The next datagram within ms into e->dgram: its length, or -1. */
static ssize_t
datagram(struct env *e, int ms)
{
	struct pollfd p = { .fd = e->jfd, .events = POLLIN };

	e->dlen = -1;
	if (poll(&p, 1, ms) == 1)
		e->dlen = recv(e->jfd, e->dgram, sizeof(e->dgram) - 1, 0);
	return e->dlen;
}

/*
 * The value of key in the datagram, in either form of the protocol,
 * th_keep'd (NULL: no such field; "?" a malformed datagram, which fails
 * whatever the test wants of it).
 */
static char *
field(const struct env *e, const char *key)
{
	const char *p = e->dgram, *end = e->dgram + e->dlen;
	size_t klen = strlen(key);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *v;
		uint64_t n;

		if (nl == NULL)
			return "?";
		if (eq != NULL && eq < nl) {
			v = eq + 1;
			n = (uint64_t)(nl - v);
		} else {
			/* KEY\n, 64-bit little-endian size, bytes, \n */
			if (end - nl < 9)
				return "?";
			memcpy(&n, nl + 1, 8);
			n = le64toh(n);
			v = nl + 9;
			if ((uint64_t)(end - v) < n + 1 || v[n] != '\n')
				return "?";
			eq = nl;
			nl = v + n;
		}
		if ((size_t)(eq - p) == klen && memcmp(p, key, klen) == 0)
			return th_keep(strndup(v, n));
		p = nl + 1;
	}
	return NULL;
}

static const struct log_field hostile[] = {
	{ "rhost", "ACCTD_RHOST", "203.0.113.5" },
	{ "service", "ACCTD_SERVICE", "smtp x=1" },
	{ "user", "ACCTD_USER", "al ice\nrhost=198.51.100.9" },
	{ "uid", "ACCTD_UID", "0" },
	{ "outcome", "ACCTD_OUTCOME", "FAILED" },
};
#define HOSTILE_LINE	"login failed: rhost=203.0.113.5 " \
	"service=smtp\\040x=1 user=al\\040ice\\012rhost=198.51.100.9 " \
	"uid=0 outcome=FAILED"

/* Off the journal: "PROG[PID]: LEVEL: EVENT: key=value ...", each value
 * one word whatever it holds; below the level, nothing. */
static void
test_event_line(void **state)
{
	struct env *e = *state;
	const struct log_field odd[] = {
		{ "a", "A", "tab\tnbsp\xc2\xa0ls\xe2\x80\xa8" "cjk\xe3\x80\x80" },
		{ "b", "B", "back\\slash \xff" },
		{ "c", "C", "" },
		{ "d", "D", "caf\xc3\xa9" },
	};
	char want[512], *out;

	capture(e, false);
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	log_event(LOG_LVL_INFO, "odd", NULL, odd, 4);
	log_event(LOG_LVL_DEBUG, "not at info", NULL, odd, 4);
	out = captured(e);
	snprintf(want, sizeof(want), "acctd[%ld]: info: " HOSTILE_LINE "\n"
	    "acctd[%ld]: info: odd: a=tab\\011nbsp\\302\\240ls\\342\\200\\250"
	    "cjk\\343\\200\\200 b=back\\134slash\\040\\377 c= d=caf\xc3\xa9\n",
	    (long)getpid(), (long)getpid());
	assert_string_equal(out, want);
}

/* A value longer than LOG_VALUE_MAX is cut, and the keys after it are
 * still all there: a fail2ban regex sees the whole form. */
static void
test_event_long_values(void **state)
{
	struct env *e = *state;
	char big[4 * LOG_VALUE_MAX], *out, *p;
	struct log_field f[LOG_FIELDS_MAX];

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < LOG_FIELDS_MAX; i++)
		f[i] = (struct log_field){ "k", "K", big };
	f[LOG_FIELDS_MAX - 1].value = "end";
	capture(e, false);
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "long", NULL, f, LOG_FIELDS_MAX);
	out = captured(e);
	assert_int_equal(th_count(out, " k="), LOG_FIELDS_MAX);
	assert_non_null(p = strstr(out, " k=end\n"));
	assert_int_equal(p[7], '\0');
	/* Cut on a whole escape: 64 of \040 is 256 bytes. */
	assert_non_null(strstr(out, " k=\\040"));
	assert_null(strstr(out, "\\04 "));
}

/* stderr is the journal's stream and its socket is there: one datagram
 * with the line as MESSAGE, the level, the name, the MESSAGE_ID and
 * each value as the line has it; nothing on stderr. */
static void
test_journal_entry(void **state)
{
	struct env *e = *state;

	bind_journal(e);
	capture(e, true);
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	log_msg(LOG_LVL_WARN, "plain %s", "line\x1b");
	assert_string_equal(captured(e), "");
	assert_true(datagram(e, 5000) > 0);
	assert_string_equal(field(e, "MESSAGE"), HOSTILE_LINE);
	assert_string_equal(field(e, "PRIORITY"), "6");
	assert_string_equal(field(e, "SYSLOG_IDENTIFIER"), "acctd");
	assert_string_equal(field(e, "MESSAGE_ID"), ID);
	assert_string_equal(field(e, "ACCTD_RHOST"), "203.0.113.5");
	assert_string_equal(field(e, "ACCTD_SERVICE"), "smtp\\040x=1");
	assert_string_equal(field(e, "ACCTD_USER"),
	    "al\\040ice\\012rhost=198.51.100.9");
	assert_string_equal(field(e, "ACCTD_UID"), "0");
	assert_string_equal(field(e, "ACCTD_OUTCOME"), "FAILED");
	/* Any line goes there too, escaped as ever, without an id. */
	assert_true(datagram(e, 5000) > 0);
	assert_string_equal(field(e, "MESSAGE"), "plain line\\033");
	assert_string_equal(field(e, "PRIORITY"), "4");
	assert_null(field(e, "MESSAGE_ID"));
	assert_int_equal(datagram(e, 0), -1);
}

/* The protocol's two forms, byte for byte: KEY=value, and for a value
 * with a newline KEY, newline, its size (64-bit little-endian), value. */
static void
test_journal_binary_form(void **state)
{
	static const char want[] = "A=b c\nMULTI\n\x06\0\0\0\0\0\0\0x\ny=\0z\n"
	    "E=\n";
	struct env *e = *state;
	struct journal j;
	struct journal_entry en;

	bind_journal(e);
	assert_int_equal(journal_open(&j, e->sock), 0);
	journal_entry_init(&en);
	journal_add(&en, "A", "b c", 3);
	journal_add(&en, "MULTI", "x\ny=\0z", 6);
	journal_add(&en, "E", "", 0);
	assert_int_equal(journal_send(&j, &en), 0);
	journal_close(&j);
	assert_int_equal(datagram(e, 5000), (ssize_t)sizeof(want) - 1);
	assert_memory_equal(e->dgram, want, sizeof(want) - 1);
	assert_string_equal(field(e, "A"), "b c");
	assert_string_equal(field(e, "E"), "");
	/* An entry with more fields than it holds is not sent cut. */
	journal_entry_init(&en);
	for (int i = 0; i <= JOURNAL_FIELDS; i++)
		journal_add(&en, "A", "b", 1);
	assert_int_equal(journal_open(&j, e->sock), 0);
	assert_int_equal(journal_send(&j, &en), -1);
	journal_close(&j);
	/* Nor to a path that is no socket. */
	assert_int_equal(journal_open(&j, e->dir), -1);
	assert_int_equal(j.fd, -1);
}

/* JOURNAL_STREAM inherited by a process whose stderr is something else
 * (a shell started from a service): the plain line, no journal. */
static void
test_stream_not_stderr(void **state)
{
	struct env *e = *state;
	char want[256];

	bind_journal(e);
	capture(e, false);
	setenv("JOURNAL_STREAM", "8:12345", 1);
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	snprintf(want, sizeof(want), "acctd[%ld]: info: " HOSTILE_LINE "\n",
	    (long)getpid());
	assert_string_equal(captured(e), want);
	assert_int_equal(datagram(e, 0), -1);
	/* Nor anything that is not two numbers. */
	for (const char *const *v = (const char *const[]){ "", ":", "8:",
	    ":1", "8:1x", "-8:1", "x", NULL }; *v != NULL; v++) {
		capture(e, true);
		setenv("JOURNAL_STREAM", *v, 1);
		log_init("acctd", LOG_LVL_INFO);
		log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
		assert_string_equal(captured(e), want);
	}
	assert_int_equal(datagram(e, 0), -1);
}

/* The stream is the journal's but its socket is not there, or no longer
 * takes entries: the line on the stream, after its priority. */
static void
test_journal_fallback(void **state)
{
	struct env *e = *state;

	capture(e, true);
	setenv("ACCT_JOURNAL_SOCKET", e->sock, 1);	/* not bound */
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	assert_string_equal(captured(e), "<6>" HOSTILE_LINE "\n");

	bind_journal(e);
	capture(e, true);
	log_init("acctd", LOG_LVL_INFO);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	close(e->jfd);
	e->jfd = -1;
	unlink(e->sock);
	log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
	assert_string_equal(captured(e), "<6>" HOSTILE_LINE "\n");
}

/* A journal that takes nothing more: each entry waits JOURNAL_WAIT_S
 * at most for room, then its line goes to the stream; none is lost. */
static void
test_journal_full(void **state)
{
	struct env *e = *state;
	struct timespec t0, t1;
	char *out = NULL;
	int sent = 0;
	long ms;

	bind_journal(e);
	capture(e, true);
	log_init("acctd", LOG_LVL_INFO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The queue's length is net.unix.max_dgram_qlen, 10 to 512. */
	/* Bounded in time too: a send that never gives up must fail the
	 * test, not hang it. */
	for (ms = 0; sent < 5000 && ms < (JOURNAL_WAIT_S + 5) * 1000;
	    sent++) {
		log_event(LOG_LVL_INFO, "login failed", ID, hostile, 5);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000;
		if (lseek(STDERR_FILENO, 0, SEEK_END) > 0)
			break;
	}
	out = captured(e);
	assert_string_equal(out, "<6>" HOSTILE_LINE "\n");
	assert_true(sent > 0 && sent < 5000);
	assert_true(ms >= JOURNAL_WAIT_S * 1000 - 50);
	assert_true(ms <= JOURNAL_WAIT_S * 1000 + 5000);
	/* What the journal took is there, whole. */
	for (int i = 0; i < sent; i++) {
		assert_true(datagram(e, 1000) > 0);
		assert_string_equal(field(e, "MESSAGE"), HOSTILE_LINE);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_line, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_event_long_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_entry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_binary_form,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_not_stderr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_fallback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_journal_full, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
