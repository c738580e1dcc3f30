/*
 * io.c: framed socket I/O. The header is read before anything is
 * allocated, and the allocation is exactly the declared, capped length.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../proto/proto.h"
#include "io.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
io_wait_readable(int fd, int64_t deadline, int wake_fd)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = fd, .events = POLLIN },
			{ .fd = wake_fd, .events = POLLIN },
		};
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			timeout = left > 60000 ? 60000 : (int)left;
		}
		int n = poll(p, wake_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (p[0].revents != 0)
			return 1;
		if (wake_fd >= 0 && p[1].revents != 0)
			return 2;
	}
}

int64_t
io_deadline(int ms)
{
	return ms < 0 ? -1 : now_ms() + ms;
}

/* Read exactly len bytes before deadline. 0, or a frame_status. */
int
io_read_full(int fd, void *out, size_t len, int64_t deadline)
{
	uint8_t *buf = out;
	size_t got = 0;

	/* Read what is there; wait (and watch the deadline) only if none. */
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = io_wait_readable(fd, deadline, -1);
			if (w == 0)
				return FRAME_SLOW;
			if (w < 0)
				return FRAME_ERROR;
			continue;
		}
		if (n <= 0)
			return FRAME_ERROR;
		got += (size_t)n;
	}
	return 0;
}

/* Up to len bytes, and a descriptor that came with them into *passed
 * (-1 if none). Any more are closed; those the control buffer had no
 * room for, the kernel closes. */
static ssize_t
recv_fd(int fd, void *buf, size_t len, int *passed)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n;

	*passed = -1;
	if ((n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0)
		return n;
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*passed == -1)
				*passed = got;
			else
				close(got);
		}
	}
	return n;
}

void
frame_reader_init(struct frame_reader *r, int fd)
{
	r->fd = fd;
	r->n = 0;
}

void
frame_reader_wipe(struct frame_reader *r)
{
	explicit_bzero(r->buf, sizeof(r->buf));
	r->n = 0;
}

/*
 * Read what the socket has into the free end of r's buffer: > 0 bytes,
 * 0 at EOF, -1 with errno (EAGAIN: nothing there). A descriptor that
 * came along goes to *fd if fd is not NULL and the buffer was empty.
 */
static ssize_t
fill(struct frame_reader *r, int *fd)
{
	void *p = r->buf + r->n;
	size_t room = sizeof(r->buf) - r->n;
	int got = -1;
	ssize_t n;

	do
		n = fd != NULL ? recv_fd(r->fd, p, room, &got) :
		    recv(r->fd, p, room, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (got >= 0) {
		if (n > 0 && r->n == 0 && *fd == -1)
			*fd = got;
		else
			close(got);
	}
	if (n > 0)
		r->n += (size_t)n;
	return n;
}

/* Give up the first n buffered bytes: the rest to the front, wiped after. */
static void
consume(struct frame_reader *r, size_t n)
{
	size_t left = r->n - n;

	memmove(r->buf, r->buf + n, left);
	explicit_bzero(r->buf + left, n);
	r->n = left;
}

/*
 * Buffer at least want bytes, or give a frame_status. Between frames the
 * idle limit and the wake fd apply; from a frame's first byte, the
 * frame's deadline, which is set then.
 */
static int
buffer_up_to(struct frame_reader *r, size_t want, int idle_ms, int frame_ms,
    int64_t *deadline, int wake_fd, int *fd)
{
	while (r->n < want) {
		bool between = r->n == 0;
		ssize_t n;
		int w;

		w = io_wait_readable(r->fd, !between ? *deadline : idle_ms < 0 ?
		    -1 : now_ms() + idle_ms, between ? wake_fd : -1);
		if (w == 0)
			return between ? FRAME_IDLE : FRAME_SLOW;
		if (w == 2)
			return FRAME_STOP;
		if (w < 0)
			return FRAME_ERROR;
		if ((n = fill(r, fd)) == 0)
			return between ? FRAME_EOF : FRAME_ERROR;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return FRAME_ERROR;
		if (between && n > 0)
			*deadline = io_deadline(frame_ms);
	}
	return 0;
}

enum frame_status
frame_recv(struct frame_reader *r, size_t max, int idle_ms, int frame_ms,
    int wake_fd, uint8_t **out, size_t *outlen, int *passed)
{
	int64_t deadline = r->n > 0 ? io_deadline(frame_ms) : -1;
	size_t have, fd_end = 0;
	int rc, fd = -1;
	uint8_t *buf;
	uint32_t len;

	*out = NULL;
	*outlen = 0;
	if (passed != NULL)
		*passed = -1;
	rc = buffer_up_to(r, PROTO_HDR_LEN, idle_ms, frame_ms, &deadline,
	    wake_fd, passed != NULL ? &fd : NULL);
	if (fd >= 0)
		fd_end = r->n;	/* where the bytes it came with end */
	if (rc != 0)
		goto fail;
	len = proto_get_len(r->buf);
	if (len == 0 || len > max) {
		rc = FRAME_TOOBIG;
		goto fail;
	}
	/* A small frame is completed in the buffer, a big one in its own. */
	if (PROTO_HDR_LEN + (size_t)len <= sizeof(r->buf) &&
	    (rc = buffer_up_to(r, PROTO_HDR_LEN + (size_t)len, idle_ms,
	    frame_ms, &deadline, -1, NULL)) != 0)
		goto fail;
	if ((buf = malloc(len)) == NULL) {
		rc = FRAME_ERROR;
		goto fail;
	}
	have = r->n - PROTO_HDR_LEN;
	if (have > len)
		have = len;
	memcpy(buf, r->buf + PROTO_HDR_LEN, have);
	/* A descriptor whose recv also brought the next frame's first
	 * bytes may be the next frame's: it is no one's. */
	if (fd >= 0 && fd_end > PROTO_HDR_LEN + (size_t)len) {
		close(fd);
		fd = -1;
	}
	consume(r, PROTO_HDR_LEN + have);
	if (have < len && (rc = io_read_full(r->fd, buf + have, len - have,
	    deadline)) != 0) {
		explicit_bzero(buf, len);
		free(buf);
		goto fail;
	}
	*out = buf;
	*outlen = len;
	if (passed != NULL)
		*passed = fd;
	return FRAME_OK;
fail:
	if (fd >= 0)
		close(fd);
	return (enum frame_status)rc;
}

int
io_write_all_fd(int fd, const void *buf, size_t len, int passfd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
	    .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ssize_t n;

	memset(ctl.buf, 0, sizeof(ctl.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	do
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return io_write_all(fd, (const uint8_t *)buf + n, len - (size_t)n);
}

int
io_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)	/* a file or pipe */
			n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
