/*
 * io.c: framed socket I/O. The header is read before anything is
 * allocated, and the allocation is exactly the declared, capped length.
 */
#include <sys/socket.h>

#include <errno.h>
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

/*
 * Wait until fd is readable. Returns 1 readable, 0 timed out,
 * 2 wake_fd readable, -1 error. deadline < 0 means none.
 */
static int
wait_readable(int fd, int64_t deadline, int wake_fd)
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
			int w = wait_readable(fd, deadline, -1);
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
	if ((n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC)) < 0)
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

enum frame_status
frame_recv(int fd, size_t max, int idle_ms, int frame_ms, int wake_fd,
    uint8_t **out, size_t *outlen, int *passed)
{
	uint8_t hdr[PROTO_HDR_LEN], *buf;
	int64_t deadline;
	int w, rc, got = -1;
	ssize_t n;

	*out = NULL;
	*outlen = 0;
	if (passed != NULL)
		*passed = -1;
	w = wait_readable(fd, idle_ms < 0 ? -1 : now_ms() + idle_ms, wake_fd);
	if (w == 0)
		return FRAME_IDLE;
	if (w == 2)
		return FRAME_STOP;
	if (w < 0)
		return FRAME_ERROR;
	/* Up to the whole header at once; nothing at all is a clean EOF. */
	do
		n = passed != NULL ? recv_fd(fd, hdr, sizeof(hdr), &got) :
		    recv(fd, hdr, sizeof(hdr), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0 && got >= 0)
		close(got);
	if (n == 0)
		return FRAME_EOF;
	if (n < 0)
		return FRAME_ERROR;
	deadline = io_deadline(frame_ms);
	if ((rc = io_read_full(fd, hdr + n, sizeof(hdr) - (size_t)n,
	    deadline)) != 0) {
		if (got >= 0)
			close(got);
		return (enum frame_status)rc;
	}
	uint32_t len = proto_get_len(hdr);
	if (len == 0 || len > max || (buf = malloc(len)) == NULL) {
		if (got >= 0)
			close(got);
		return len == 0 || len > max ? FRAME_TOOBIG : FRAME_ERROR;
	}
	if ((rc = io_read_full(fd, buf, len, deadline)) != 0) {
		free(buf);
		if (got >= 0)
			close(got);
		return (enum frame_status)rc;
	}
	*out = buf;
	*outlen = len;
	if (passed != NULL)
		*passed = got;
	return FRAME_OK;
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
