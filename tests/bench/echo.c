/*
 * echo.c: the floor of a cheap request: a bare Unix-socket ping-pong
 * server that reads one frame and answers with one frame of a fixed
 * size, one thread per connection, in a child process like acctd.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "bench.h"

static uint8_t *reply;
static size_t reply_len;

static int
recv_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *
serve(void *arg)
{
	uint8_t hdr[PROTO_HDR_LEN], buf[PROTO_MAX_REQUEST];
	int fd = (int)(intptr_t)arg;
	uint32_t n;

	while (recv_all(fd, hdr, sizeof(hdr)) == 0 &&
	    (n = proto_get_len(hdr)) <= sizeof(buf) &&
	    recv_all(fd, buf, n) == 0)
		if (send(fd, reply, reply_len, MSG_NOSIGNAL) !=
		    (ssize_t)reply_len)
			break;
	close(fd);
	return NULL;
}

static void
accept_loop(int lfd)
{
	pthread_attr_t attr;
	pthread_t t;
	int fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1 ||
	    errno == EINTR || errno == ECONNABORTED)
		if (fd != -1 && pthread_create(&t, &attr, serve,
		    (void *)(intptr_t)fd) != 0)
			close(fd);
	_exit(1);
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, 128) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The server's pid once it listens on path, or -1. */
pid_t
echo_start(const char *path, size_t len, int cpu)
{
	pid_t pid;
	int lfd;

	if (len < PROTO_HDR_LEN || (lfd = listen_on(path)) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(lfd);
		return -1;
	}
	if (pid == 0) {
		bench_pin(cpu);
		if ((reply = calloc(1, len)) == NULL)
			_exit(1);
		reply_len = len;
		proto_put_len(reply, (uint32_t)(len - PROTO_HDR_LEN));
		accept_loop(lfd);
	}
	close(lfd);
	return pid;
}

void
echo_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}
