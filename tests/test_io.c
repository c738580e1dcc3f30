/*
 * test_io.c: common/io.c: frame_recv over a real socketpair (good and
 * pipelined frames, bad lengths, EOF, slow and idle peers, the wake fd,
 * passed descriptors, the buffer wiped) and io_write_all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/io.h"
#include "../proto/proto.h"

#define SHORT_MS	50	/* timeouts we expect to expire */
#define LONG_MS		5000	/* never expire: the data is already sent */
#define THREAD_MS	60000	/* never expire: a thread is sending */
#define WATCHDOG_S	120	/* a test that hangs is killed by SIGALRM */

struct pair {
	int	r;	/* frame_recv reads here */
	int	w;	/* the peer writes here */
	struct frame_reader rd;	/* on r */
};

static int
setup_pair(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	if (p == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		free(p);
		return -1;
	}
	p->r = sv[0];
	p->w = sv[1];
	frame_reader_init(&p->rd, p->r);
	*state = p;
	alarm(WATCHDOG_S);
	return 0;
}

static int
teardown_pair(void **state)
{
	struct pair *p = *state;

	alarm(0);
	if (p->r >= 0)
		close(p->r);
	if (p->w >= 0)
		close(p->w);
	free(p);
	return 0;
}

static void
close_writer(struct pair *p)
{
	close(p->w);
	p->w = -1;
}

static void
send_bytes(int fd, const void *buf, size_t len)
{
	assert_int_equal(io_write_all(fd, buf, len), 0);
}

static void
send_hdr(int fd, uint32_t len)
{
	uint8_t h[PROTO_HDR_LEN];

	proto_put_len(h, len);
	send_bytes(fd, h, sizeof(h));
}

/* frame_recv with out-parameters preset to garbage; checks them on failure. */
static enum frame_status
recv_frame(struct frame_reader *rd, size_t max, int idle_ms, int frame_ms, int wake_fd,
    uint8_t **out, size_t *outlen)
{
	enum frame_status st;

	*out = (uint8_t *)"garbage";
	*outlen = 12345;
	st = frame_recv(rd, max, idle_ms, frame_ms, wake_fd, out, outlen, NULL);
	if (st != FRAME_OK) {
		assert_null(*out);
		assert_int_equal(*outlen, 0);
	}
	return st;
}

static void
expect_status(struct frame_reader *rd, size_t max, int idle_ms, int frame_ms, int wake_fd,
    enum frame_status want)
{
	uint8_t *buf;
	size_t len;

	assert_int_equal(recv_frame(rd, max, idle_ms, frame_ms, wake_fd, &buf,
	    &len), want);
	free(buf);
}

static void
test_good_frame(void **state)
{
	struct pair *p = *state;
	uint8_t *buf;
	size_t len;

	send_hdr(p->w, 5);
	send_bytes(p->w, "hello", 5);
	assert_int_equal(recv_frame(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len), FRAME_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(buf, "hello", 5);
	free(buf);

	/* A one-byte frame, and no timeouts at all (-1). */
	send_hdr(p->w, 1);
	send_bytes(p->w, "x", 1);
	assert_int_equal(recv_frame(&p->rd, 1024, -1, -1, -1, &buf, &len),
	    FRAME_OK);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 'x');
	free(buf);
}

/* Append one frame of len bytes of c to all at *n. */
static void
put_frame(uint8_t *all, size_t *n, uint32_t len, int c)
{
	proto_put_len(all + *n, len);
	memset(all + *n + PROTO_HDR_LEN, c, len);
	*n += PROTO_HDR_LEN + len;
}

/* Frames back to back in one write come out one at a time, then EOF. */
static void
test_frames_back_to_back(void **state)
{
	struct pair *p = *state;
	uint8_t all[64], *buf;
	size_t n = 0, len;

	for (int i = 1; i <= 3; i++)
		put_frame(all, &n, (uint32_t)i, '0' + i);
	send_bytes(p->w, all, n);
	close_writer(p);
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(recv_frame(&p->rd, 1024, LONG_MS, LONG_MS, -1,
		    &buf, &len), FRAME_OK);
		assert_int_equal(len, (size_t)i);
		for (int k = 0; k < i; k++)
			assert_int_equal(buf[k], '0' + i);
		free(buf);
	}
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_EOF);
}

/* Small and big frames in one write: a big one is finished outside the
 * reader's buffer, and what follows it is not lost. */
static void
test_pipelined_sizes(void **state)
{
	static const uint32_t sizes[] = { 3, FRAME_READER_LEN * 5 + 7, 1,
	    FRAME_READER_LEN - PROTO_HDR_LEN, FRAME_READER_LEN -
	    PROTO_HDR_LEN + 1, 2 };
	struct pair *p = *state;
	uint8_t *all = malloc(8 * FRAME_READER_LEN + 64), *buf;
	size_t n = 0, len;

	assert_non_null(all);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		put_frame(all, &n, sizes[i], 'a' + (int)i);
	send_bytes(p->w, all, n);
	close_writer(p);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(recv_frame(&p->rd, 8 * FRAME_READER_LEN,
		    LONG_MS, LONG_MS, -1, &buf, &len), FRAME_OK);
		assert_int_equal(len, sizes[i]);
		for (size_t k = 0; k < len; k++)
			assert_int_equal(buf[k], 'a' + (int)i);
		free(buf);
	}
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_EOF);
	free(all);
}

/* A frame's bytes (a password, say) do not stay in the reader's buffer
 * once it is returned; those of the next, until it is. */
static void
test_buffer_wiped(void **state)
{
	struct pair *p = *state;
	uint8_t all[64], *buf;
	size_t n = 0, len;

	put_frame(all, &n, 16, 'S');	/* longer than what moves up */
	put_frame(all, &n, 2, 'T');
	send_bytes(p->w, all, n);
	assert_int_equal(recv_frame(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len), FRAME_OK);
	free(buf);
	assert_null(memchr(p->rd.buf, 'S', sizeof(p->rd.buf)));
	assert_non_null(memchr(p->rd.buf, 'T', sizeof(p->rd.buf)));
	frame_reader_wipe(&p->rd);
	assert_null(memchr(p->rd.buf, 'T', sizeof(p->rd.buf)));
}

/* A frame of exactly max bytes is fine. */
static void
test_exactly_max(void **state)
{
	struct pair *p = *state;
	uint8_t payload[300], *buf;
	size_t len;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	send_hdr(p->w, sizeof(payload));
	send_bytes(p->w, payload, sizeof(payload));
	assert_int_equal(recv_frame(&p->rd, sizeof(payload), LONG_MS, LONG_MS,
	    -1, &buf, &len), FRAME_OK);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(buf, payload, sizeof(payload));
	free(buf);
}

static void
test_zero_length(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 0);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_TOOBIG);
}

static void
test_over_max(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 1025);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_TOOBIG);
}

/* 4 GiB - 1 declared: refused from the header alone, nothing reserved. */
static void
test_huge_length(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, UINT32_MAX);
	expect_status(&p->rd, PROTO_MAX_REQUEST, LONG_MS, LONG_MS, -1,
	    FRAME_TOOBIG);
	send_hdr(p->w, PROTO_MAX_REQUEST + 1);
	expect_status(&p->rd, PROTO_MAX_REQUEST, LONG_MS, LONG_MS, -1,
	    FRAME_TOOBIG);
	/* The reply limit is bigger but not unbounded. */
	send_hdr(p->w, PROTO_MAX_REPLY + 1);
	expect_status(&p->rd, PROTO_MAX_REPLY, LONG_MS, LONG_MS, -1,
	    FRAME_TOOBIG);
}

static void
test_eof_before_frame(void **state)
{
	struct pair *p = *state;

	close_writer(p);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_EOF);
	/* Also with no idle timeout: EOF is not a wait. */
	expect_status(&p->rd, 1024, -1, -1, -1, FRAME_EOF);
}

static void
test_eof_mid_header(void **state)
{
	struct pair *p = *state;

	send_bytes(p->w, "\x00\x00", 2);
	close_writer(p);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_ERROR);
}

static void
test_eof_after_one_header_byte(void **state)
{
	struct pair *p = *state;

	send_bytes(p->w, "\x00", 1);
	close_writer(p);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_ERROR);
}

static void
test_eof_after_header(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 10);
	close_writer(p);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_ERROR);
}

static void
test_eof_mid_payload(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 10);
	send_bytes(p->w, "12345", 5);
	close_writer(p);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_ERROR);
}

static void
test_slow_header(void **state)
{
	struct pair *p = *state;

	send_bytes(p->w, "\x00\x00", 2);
	expect_status(&p->rd, 1024, LONG_MS, SHORT_MS, -1, FRAME_SLOW);
}

static void
test_slow_payload(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 100);
	send_bytes(p->w, "part", 4);
	expect_status(&p->rd, 1024, LONG_MS, SHORT_MS, -1, FRAME_SLOW);
}

/* Only the header arrived; the payload never starts. */
static void
test_slow_no_payload(void **state)
{
	struct pair *p = *state;

	send_hdr(p->w, 3);
	expect_status(&p->rd, 1024, LONG_MS, SHORT_MS, -1, FRAME_SLOW);
}

/* A slow frame is SLOW even when the idle timeout is infinite. */
static void
test_slow_with_no_idle_limit(void **state)
{
	struct pair *p = *state;

	send_bytes(p->w, "\x00", 1);
	expect_status(&p->rd, 1024, -1, SHORT_MS, -1, FRAME_SLOW);
}

static void
test_idle(void **state)
{
	struct pair *p = *state;

	expect_status(&p->rd, 1024, SHORT_MS, LONG_MS, -1, FRAME_IDLE);
	expect_status(&p->rd, 1024, 0, LONG_MS, -1, FRAME_IDLE);
	/* The connection still works afterwards. */
	send_hdr(p->w, 2);
	send_bytes(p->w, "ok", 2);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, -1, FRAME_OK);
}

static void
test_wake_fd(void **state)
{
	struct pair *p = *state;
	int pfd[2];

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	/* Not readable yet: idle as usual. */
	expect_status(&p->rd, 1024, SHORT_MS, LONG_MS, pfd[0], FRAME_IDLE);
	assert_int_equal(write(pfd[1], "x", 1), 1);
	expect_status(&p->rd, 1024, LONG_MS, LONG_MS, pfd[0], FRAME_STOP);
	/* With no idle limit, the wake fd is the only way out. */
	expect_status(&p->rd, 1024, -1, -1, pfd[0], FRAME_STOP);
	/* A closed write end makes the pipe readable (EOF) too. */
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &(char){ 0 }, 1), 1);
	expect_status(&p->rd, 1024, -1, -1, pfd[0], FRAME_STOP);
	close(pfd[0]);
}

/* A reader whose peer cannot send: a closed fd is an error, not a hang. */
static void
test_bad_fd(void **state)
{
	struct pair *p = *state;
	struct frame_reader rd;
	int fd = dup(p->r);

	assert_true(fd >= 0);
	close(fd);
	frame_reader_init(&rd, fd);
	expect_status(&rd, 1024, SHORT_MS, SHORT_MS, -1, FRAME_ERROR);
}

/* ---- a writer thread ---- */

struct writer {
	int		 fd;
	const uint8_t	*data;
	size_t		 len;
	size_t		 chunk;
	int		 rc;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	w->rc = 0;
	while (off < w->len) {
		size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;

		if (io_write_all(w->fd, w->data + off, n) != 0) {
			w->rc = -1;
			break;
		}
		off += n;
		if ((off / w->chunk) % 16 == 0)
			usleep(100);	/* let the reader catch up */
		else
			sched_yield();
	}
	return NULL;
}

static void
big_frame_in_pieces(struct pair *p, size_t payload_len, size_t chunk)
{
	size_t total = PROTO_HDR_LEN + payload_len;
	uint8_t *data = malloc(total), *buf;
	struct writer w = { p->w, data, total, chunk, -1 };
	pthread_t t;
	size_t len;

	assert_non_null(data);
	proto_put_len(data, (uint32_t)payload_len);
	for (size_t i = 0; i < payload_len; i++)
		data[PROTO_HDR_LEN + i] = (uint8_t)(i * 31 + (i >> 11));
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	assert_int_equal(recv_frame(&p->rd, PROTO_MAX_REPLY, THREAD_MS,
	    THREAD_MS, -1, &buf, &len), FRAME_OK);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_int_equal(len, payload_len);
	assert_memory_equal(buf, data + PROTO_HDR_LEN, payload_len);
	free(buf);
	free(data);
}

static void
test_large_frame_in_pieces(void **state)
{
	big_frame_in_pieces(*state, 3 * 1024 * 1024 + 17, 4093);
}

/* Header and payload dribbled a byte at a time. */
static void
test_frame_byte_by_byte(void **state)
{
	big_frame_in_pieces(*state, 200, 1);
}

/* ---- io_write_all ---- */

static void
test_write_all_large(void **state)
{
	struct pair *p = *state;
	size_t n = 4 * 1024 * 1024;
	uint8_t *data = malloc(n), *got = malloc(n);
	struct writer w = { p->w, data, n, n, -1 };
	pthread_t t;
	size_t off = 0;

	assert_non_null(data);
	assert_non_null(got);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i ^ (i >> 9));
	/* One call with the whole buffer: it must loop over short sends. */
	assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);
	while (off < n) {
		ssize_t r = read(p->r, got + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r > 0);
		off += (size_t)r;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.rc, 0);
	assert_memory_equal(got, data, n);
	free(data);
	free(got);
}

/* Writing to a closed peer fails with EPIPE instead of killing us. */
static void
test_write_all_epipe(void **state)
{
	struct pair *p = *state;
	struct sigaction sa, old;

	/* Default SIGPIPE disposition: a raised SIGPIPE would end the test
	 * binary, which the runner counts as a failure. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &sa, &old), 0);
	close(p->r);
	p->r = -1;
	errno = 0;
	assert_int_equal(io_write_all(p->w, "abc", 3), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

static void
test_write_all_empty(void **state)
{
	struct pair *p = *state;

	assert_int_equal(io_write_all(p->w, "", 0), 0);
	/* Nothing was sent: the reader is still idle. */
	expect_status(&p->rd, 1024, SHORT_MS, LONG_MS, -1, FRAME_IDLE);
}

/* Open descriptors of this process. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* A frame with descriptors: where they are wanted, one is taken and
 * any others closed; where they are not, none is left open. */
static void
test_passed_descriptors(void **state)
{
	struct pair *p = *state;
	uint8_t frame[PROTO_HDR_LEN + 2], *buf;
	size_t len;
	int passed, before, two[2], fds[2];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = frame, .iov_len = sizeof(frame) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	struct stat a, b;

	proto_put_len(frame, 2);
	memcpy(frame + PROTO_HDR_LEN, "hi", 2);
	assert_int_equal(pipe(fds), 0);
	before = open_fds();
	/* Wanted: the same open file comes out. */
	assert_int_equal(io_write_all_fd(p->w, frame, sizeof(frame), fds[1]),
	    0);
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len, &passed), FRAME_OK);
	free(buf);
	assert_true(passed >= 0);
	assert_int_equal(fstat(passed, &a), 0);
	assert_int_equal(fstat(fds[1], &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(fcntl(passed, F_GETFD) & FD_CLOEXEC);
	close(passed);
	assert_int_equal(open_fds(), before);
	/* Not wanted: dropped by the kernel. */
	assert_int_equal(io_write_all_fd(p->w, frame, sizeof(frame), fds[1]),
	    0);
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len, NULL), FRAME_OK);
	free(buf);
	assert_int_equal(open_fds(), before);
	/* Two at once: the first taken, the second closed. */
	two[0] = fds[0];
	two[1] = fds[1];
	memset(ctl.buf, 0, sizeof(ctl.buf));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(two));
	memcpy(CMSG_DATA(c), two, sizeof(two));
	assert_int_equal(sendmsg(p->w, &m, 0), (ssize_t)sizeof(frame));
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len, &passed), FRAME_OK);
	free(buf);
	assert_true(passed >= 0);
	close(passed);
	assert_int_equal(open_fds(), before);
	/* Sent with a frame that is refused: closed too. */
	proto_put_len(frame, 0);
	assert_int_equal(io_write_all_fd(p->w, frame, PROTO_HDR_LEN, fds[1]),
	    0);
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len, &passed), FRAME_TOOBIG);
	assert_int_equal(passed, -1);
	assert_int_equal(open_fds(), before);
	/* The stream is over after a bad length: begin a new one. */
	frame_reader_wipe(&p->rd);
	/* Behind another frame, in the same recv: it may be either's, so
	 * it is neither's. */
	proto_put_len(frame, 2);
	assert_int_equal(io_write_all(p->w, frame, sizeof(frame)), 0);
	assert_int_equal(io_write_all_fd(p->w, frame, sizeof(frame), fds[1]),
	    0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1,
		    &buf, &len, &passed), FRAME_OK);
		free(buf);
		assert_int_equal(passed, -1);
	}
	assert_int_equal(open_fds(), before);
	/* With a frame's later bytes, once its first are read: not the
	 * frame's (the first call times out holding 3 bytes). */
	assert_int_equal(io_write_all(p->w, frame, 3), 0);
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, SHORT_MS, -1, &buf,
	    &len, &passed), FRAME_SLOW);
	assert_int_equal(p->rd.n, 3);
	assert_int_equal(io_write_all_fd(p->w, frame + 3, sizeof(frame) - 3,
	    fds[1]), 0);
	assert_int_equal(frame_recv(&p->rd, 1024, LONG_MS, LONG_MS, -1, &buf,
	    &len, &passed), FRAME_OK);
	free(buf);
	assert_int_equal(passed, -1);
	assert_int_equal(open_fds(), before);
	close(fds[0]);
	close(fds[1]);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_frame),
		T(test_frames_back_to_back),
		T(test_pipelined_sizes),
		T(test_buffer_wiped),
		T(test_exactly_max),
		T(test_zero_length),
		T(test_over_max),
		T(test_huge_length),
		T(test_eof_before_frame),
		T(test_eof_mid_header),
		T(test_eof_after_one_header_byte),
		T(test_eof_after_header),
		T(test_eof_mid_payload),
		T(test_slow_header),
		T(test_slow_payload),
		T(test_slow_no_payload),
		T(test_slow_with_no_idle_limit),
		T(test_idle),
		T(test_wake_fd),
		T(test_bad_fd),
		T(test_large_frame_in_pieces),
		T(test_frame_byte_by_byte),
		T(test_write_all_large),
		T(test_write_all_epipe),
		T(test_write_all_empty),
		T(test_passed_descriptors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
