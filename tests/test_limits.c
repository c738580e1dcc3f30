/*
 * test_limits.c: resource limits of the real acctd:
 * 1,000 idle connections and 50 slow senders from ten uids while an admin
 * is still answered; fds and memory return afterwards; idle and slow
 * peers are cut; hostile headers and nesting cost no memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NUIDS		10
#define IDLE_PER_UID	100	/* 1,000 idle connections */
#define SLOW_PER_UID	5	/* 50 slow senders */
#define PER_UID		(IDLE_PER_UID + SLOW_PER_UID)
#define TOTAL		(NUIDS * PER_UID)
#define FIRST_UID	20001
#define FRAME_LIMIT	(64 * 1024)	/* PROTO_MAX_REQUEST */

static void
nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until acctd holds want fds; the last count seen. */
static int
wait_fds(pid_t pid, int want, int ms)
{
	int n = -1;

	for (int waited = 0; waited <= ms; waited += 50) {
		if ((n = th_proc_fds(pid)) == want)
			break;
		nap(50);
	}
	return n;
}

struct crowd {
	pid_t	pid[NUIDS];
	int	release[NUIDS];	/* write end: closing it lets the child go */
};

/*
 * Child for one uid: open the idle connections and the slow senders
 * (a header announcing 100 bytes, then 10 of them), say "ok" on ready,
 * wait for release to close, exit (closing every connection).
 */
static void
crowd_child(const char *sock, uid_t uid, int ready, int release)
{
	static int fds[PER_UID];
	uint8_t part[14] = { 0, 0, 0, 100, 0x84 };
	char c;

	if (setgroups(0, NULL) == -1 || setgid(uid) == -1 ||
	    setuid(uid) == -1)
		_exit(3);
	for (int i = 0; i < PER_UID; i++) {
		if ((fds[i] = th_connect(sock)) == -1)
			_exit(4);
		if (i >= IDLE_PER_UID && th_send(fds[i], part,
		    sizeof(part)) == -1)
			_exit(5);
	}
	if (write(ready, "ok", 2) != 2)
		_exit(6);
	while (read(release, &c, 1) == -1 && errno == EINTR)
		;
	_exit(0);
}

static void
crowd_start(struct crowd *cr, const char *sock)
{
	for (int i = 0; i < NUIDS; i++) {
		int ready[2], rel[2];
		char ok[2];

		assert_int_equal(pipe(ready), 0);
		assert_int_equal(pipe(rel), 0);
		fflush(stdout);
		fflush(stderr);
		assert_true((cr->pid[i] = fork()) != -1);
		if (cr->pid[i] == 0) {
			close(ready[0]);
			close(rel[1]);
			for (int j = 0; j < i; j++)
				close(cr->release[j]);
			alarm(300);	/* never outlive a hung test */
			crowd_child(sock, (uid_t)(FIRST_UID + i), ready[1],
			    rel[0]);
		}
		close(ready[1]);
		close(rel[0]);
		cr->release[i] = rel[1];
		if (read(ready[0], ok, 2) != 2)
			fail_msg("crowd child %d (uid %d) failed", i,
			    FIRST_UID + i);
		close(ready[0]);
	}
}

static void
crowd_stop(struct crowd *cr)
{
	for (int i = 0; i < NUIDS; i++) {
		if (cr->pid[i] <= 0)
			continue;
		close(cr->release[i]);
		waitpid(cr->pid[i], NULL, 0);
		cr->pid[i] = 0;
	}
}

/* hello as uid, on a fresh connection: the reply code (or a TH_ code). */
static int
hello_as(void *arg, FILE *out)
{
	const char *sock = arg;
	struct proto_reply rep;
	int fd, rc;

	if ((fd = th_connect(sock)) == -1)
		return 200;
	if (th_send_request(fd, 1, "hello", NULL) == -1) {
		/* Refused before we could send: the reply is waiting. */
	}
	rc = th_recv(fd, TH_WAIT_MS, &rep);
	close(fd);
	if (rc != TH_REPLY)
		return 210 + (-rc);
	fprintf(out, "%s", rep.message);
	rc = rep.code;
	proto_reply_free(&rep);
	return rc;
}

static void
test_thousand_idle_fifty_slow(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred extra = { FIRST_UID + NUIDS, FIRST_UID + NUIDS, 0,
	    { 0 } };
	struct crowd cr;
	char conf[256], msg[256];
	long base_rss, peak_rss, rss = 0;
	int base_fds, n;

	if (!th_is_root())
		skip();	/* needs ten uids */
	th_asan_option("quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
	assert_true(th_raise_nofile(8192) >= TOTAL + 256);
	/* Room for exactly the crowd: one more non-admin is refused. */
	snprintf(conf, sizeof(conf), "max_connections = %d\n"
	    "max_connections_per_uid = %d\nidle_timeout = 600\n"
	    "frame_timeout = 600\n", TOTAL, PER_UID);
	assert_int_equal(th_up(d, conf), 0);
	/* Warm up: threads, arenas and the database are in use. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(th_add_user(d->sock, i % 2 ? "warm" : "up",
		    NULL) == ACCT_OK || i >= 2, 1);
	nap(200);
	base_fds = th_proc_fds(d->pid);
	base_rss = th_proc_rss_kb(d->pid);
	assert_true(base_fds > 0 && base_rss > 0);

	memset(&cr, 0, sizeof(cr));
	crowd_start(&cr, d->sock);
	n = wait_fds(d->pid, base_fds + TOTAL, TH_WAIT_MS * 3);
	if (n != base_fds + TOTAL) {
		crowd_stop(&cr);
		fail_msg("acctd holds %d fds, expected %d + %d", n, base_fds,
		    TOTAL);
	}
	print_message("acctd holds %d connections (%d idle, %d slow)\n",
	    TOTAL, NUIDS * IDLE_PER_UID, NUIDS * SLOW_PER_UID);
	peak_rss = th_proc_rss_kb(d->pid);

	/* One more ordinary user: refused with a clear busy error. */
	n = th_as(&extra, hello_as, d->sock, msg, sizeof(msg));
	if (n != ACCT_ERR_BUSY) {
		crowd_stop(&cr);
		fail_msg("extra connection: %d (%s), expected busy", n, msg);
	}
	assert_true(th_contains(msg, "too many connections"));
	/* The admin (root) still gets in and is answered. */
	n = th_add_user(d->sock, "admin-still-served", "a-good-password");
	if (n != ACCT_OK || !th_user_exists(d->sock, "admin-still-served")) {
		crowd_stop(&cr);
		fail_msg("admin request during the flood: %s",
		    acct_errname(n));
	}
	crowd_stop(&cr);

	/* Every fd comes back, exactly. */
	n = wait_fds(d->pid, base_fds, TH_WAIT_MS * 3);
	assert_int_equal(n, base_fds);
	/*
	 * Memory: the peak held 1,050 threads. After they end, glibc keeps
	 * up to 40 MiB of thread stacks cached for reuse (their touched
	 * pages stay resident), malloc keeps its per-thread arenas' pages,
	 * and under ASan its allocator keeps freed chunks' pages in its
	 * size classes and the stacks' shadow stays mapped. So RSS need
	 * not fall to the byte: we ask that at least half of the growth
	 * comes back (8 MiB slack at least). A leak per connection is
	 * caught by the second crowd below, which must not grow RSS again
	 * (1,050 x 2 KiB would), and by LeakSanitizer in the ASan run.
	 */
	long tol = (peak_rss - base_rss) / 2;
	if (tol < 8192)
		tol = 8192;
	for (int waited = 0; waited < TH_WAIT_MS; waited += 100) {
		if ((rss = th_proc_rss_kb(d->pid)) <= base_rss + tol)
			break;
		nap(100);
	}
	print_message("RSS KiB: before %ld, with the crowd %ld, after %ld "
	    "(tolerance %ld)\n", base_rss, peak_rss, rss, tol);
	assert_true(rss <= base_rss + tol);

	/* A second crowd reuses what the first left: no new growth. */
	long after_first = rss;
	crowd_start(&cr, d->sock);
	n = wait_fds(d->pid, base_fds + TOTAL, TH_WAIT_MS * 3);
	crowd_stop(&cr);
	assert_int_equal(n, base_fds + TOTAL);
	assert_int_equal(wait_fds(d->pid, base_fds, TH_WAIT_MS * 3),
	    base_fds);
	for (int waited = 0; waited < TH_WAIT_MS; waited += 100) {
		if ((rss = th_proc_rss_kb(d->pid)) <= after_first + 2048)
			break;
		nap(100);
	}
	print_message("RSS KiB after a second crowd: %ld\n", rss);
	assert_true(rss <= after_first + 2048);
}

/* An idle connection, and a sender that dribbles, are both cut. */
static void
test_idle_and_slow_are_cut(void **state)
{
	struct th_daemon *d = *state;
	uint8_t hdr[4] = { 0, 0, 0, 200 };
	int idle, slow, sent = 0;

	assert_int_equal(th_up(d, "idle_timeout = 1\nframe_timeout = 2\n"),
	    0);
	assert_true((idle = th_connect(d->sock)) != -1);
	assert_true((slow = th_connect(d->sock)) != -1);
	assert_int_equal(th_send(slow, hdr, sizeof(hdr)), 0);
	/* One byte every 100 ms keeps it busy but never completes 200
	 * bytes before the frame deadline: the whole frame has one. */
	for (; sent < 200; sent++) {
		struct pollfd p = { .fd = slow, .events = POLLIN };

		if (poll(&p, 1, 100) == 1)
			break;			/* closed by acctd */
		if (th_send(slow, "\x80", 1) == -1)
			break;
	}
	assert_true(sent < 200);
	assert_int_equal(th_wait_closed(slow, TH_WAIT_MS), 0);
	assert_int_equal(th_wait_closed(idle, TH_WAIT_MS), 0);
	close(idle);
	close(slow);
	assert_int_equal(th_wait_log(d, 0, "frame not completed in time",
	    TH_WAIT_MS), 0);
	/* And the daemon is none the worse. */
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
}

/* Send payload as one frame on fd and expect a protocol error reply. */
static void
hostile(int fd, const void *payload, size_t len)
{
	struct proto_reply rep;

	assert_int_equal(th_send_frame(fd, payload, len), 0);
	assert_int_equal(th_recv(fd, TH_WAIT_MS, &rep), TH_REPLY);
	assert_int_equal(rep.code, ACCT_ERR_PROTOCOL);
	proto_reply_free(&rep);
}

/*
 * msgpack-c reserves memory for a container from its declared count:
 * dd 01 00 00 00 (an array of 16M items) is 5 bytes that would cost
 * hundreds of MiB. acctd checks counts against the bytes first, so its
 * RSS stays within twice the frame limit of where it was.
 */
static void
test_hostile_headers_cost_nothing(void **state)
{
	struct th_daemon *d = *state;
	static const uint8_t arr32[] = { 0xdd, 0x01, 0x00, 0x00, 0x00 };
	static const uint8_t map32[] = { 0xdf, 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t str32[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t bin32[] = { 0xc6, 0x7f, 0xff, 0xff, 0xff };
	uint8_t *deep = th_keep(malloc(FRAME_LIMIT));
	uint8_t *big = th_keep(malloc(FRAME_LIMIT));
	long base, rss, peak = 0;
	int fd;

	/* ASan's quarantine keeps freed blocks on purpose; without it the
	 * sanitized daemon's RSS means what the plain one's does. */
	th_asan_option("quarantine_size_mb=0:thread_local_quarantine_size_kb=0");
	assert_non_null(deep);
	assert_non_null(big);
	/* Nesting: arrays of one within arrays of one, to the frame's end;
	 * and a map of 16M pairs followed by a frame's worth of bytes. */
	memset(deep, 0x91, FRAME_LIMIT);
	deep[FRAME_LIMIT - 1] = 0xc0;
	memset(big, 0xc0, FRAME_LIMIT);
	memcpy(big, "\xdf\x00\xff\xff\xff", 5);
	assert_int_equal(th_up(d, NULL), 0);
	assert_true((fd = th_connect(d->sock)) != -1);
	/* Warm up this connection's thread with each kind once. */
	hostile(fd, arr32, sizeof(arr32));
	hostile(fd, deep, FRAME_LIMIT);
	hostile(fd, big, FRAME_LIMIT);
	for (int i = 0; i < 6; i++) {
		int w = th_connect(d->sock);

		assert_true(w != -1);
		hostile(w, deep + i, FRAME_LIMIT - (size_t)i);
		hostile(w, big, FRAME_LIMIT);
		close(w);
	}
	nap(200);	/* those threads end */
	base = th_proc_rss_kb(d->pid);
	for (int i = 0; i < 300; i++) {
		switch (i % 6) {
		case 0: hostile(fd, arr32, sizeof(arr32)); break;
		case 1: hostile(fd, map32, sizeof(map32)); break;
		case 2: hostile(fd, str32, sizeof(str32)); break;
		case 3: hostile(fd, bin32, sizeof(bin32)); break;
		case 4: hostile(fd, deep, FRAME_LIMIT - (size_t)i); break;
		default: hostile(fd, big, FRAME_LIMIT); break;
		}
		if ((rss = th_proc_rss_kb(d->pid)) > peak)
			peak = rss;
	}
	close(fd);
	/* Many connections, each with a header, deep nesting, and a
	 * header that claims more bytes than the frame limit. */
	for (int i = 0; i < 50; i++) {
		assert_true((fd = th_connect(d->sock)) != -1);
		hostile(fd, arr32, sizeof(arr32));
		hostile(fd, deep + i, FRAME_LIMIT - (size_t)i);
		assert_int_equal(th_send(fd, "\x7f\xff\xff\xff", 4), 0);
		assert_int_equal(th_wait_closed(fd, TH_WAIT_MS), 0);
		close(fd);
		if ((rss = th_proc_rss_kb(d->pid)) > peak)
			peak = rss;
	}
	print_message("RSS KiB: baseline %ld, peak %ld (limit +%d)\n", base,
	    peak, 2 * FRAME_LIMIT / 1024);
	assert_true(peak - base <= 2 * FRAME_LIMIT / 1024);
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thousand_idle_fifty_slow,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_idle_and_slow_are_cut,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_hostile_headers_cost_nothing, th_setup_lazy,
		    th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
