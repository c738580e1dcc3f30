/*
 * journal.c: systemd's native journal protocol without libsystemd: one
 * datagram of KEY=value fields per entry, sent to the journal's socket.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

/* A decimal number that fills s up to end, or -1. */
static int
number(const char *s, const char *end, unsigned long long *out)
{
	unsigned long long v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' || v > (~0ULL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

bool
journal_stream_is_stderr(void)
{
	const char *v = getenv("JOURNAL_STREAM"), *colon;
	unsigned long long dev, ino;
	struct stat st;

	if (v == NULL || (colon = strchr(v, ':')) == NULL ||
	    number(v, colon, &dev) == -1 ||
	    number(colon + 1, colon + strlen(colon), &ino) == -1)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

int
journal_open(struct journal *j, const char *path)
{
	const struct timeval wait = { .tv_sec = JOURNAL_WAIT_S };
	struct stat st;
	size_t n = strlen(path);

	j->fd = -1;
	if (n >= sizeof(j->sa.sun_path) || stat(path, &st) == -1 ||
	    !S_ISSOCK(st.st_mode))
		return -1;
	memset(&j->sa, 0, sizeof(j->sa));
	j->sa.sun_family = AF_UNIX;
	memcpy(j->sa.sun_path, path, n + 1);
	j->salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	if ((j->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* A busy journal makes the daemon wait, as its stream would; one
	 * that does not drain at all gets the line on stderr instead. */
	if (setsockopt(j->fd, SOL_SOCKET, SO_SNDTIMEO, &wait,
	    sizeof(wait)) == -1) {
		journal_close(j);
		return -1;
	}
	return 0;
}

void
journal_close(struct journal *j)
{
	if (j->fd != -1)
		close(j->fd);
	j->fd = -1;
}

void
journal_entry_init(struct journal_entry *e)
{
	e->niov = 0;
	e->nfields = 0;
	e->full = false;
}

static void
iov(struct journal_entry *e, const void *p, size_t len)
{
	e->iov[e->niov].iov_base = (void *)(uintptr_t)p;
	e->iov[e->niov++].iov_len = len;
}

void
journal_add(struct journal_entry *e, const char *key, const char *value,
    size_t len)
{
	if (e->nfields == JOURNAL_FIELDS) {
		e->full = true;
		return;
	}
	iov(e, key, strlen(key));
	if (memchr(value, '\n', len) != NULL) {
		e->len[e->nfields] = htole64((uint64_t)len);
		iov(e, "\n", 1);
		iov(e, &e->len[e->nfields], sizeof(e->len[0]));
	} else
		iov(e, "=", 1);
	iov(e, value, len);
	iov(e, "\n", 1);
	e->nfields++;
}

int
journal_send(const struct journal *j, const struct journal_entry *e)
{
	struct msghdr m = { .msg_name = (void *)(uintptr_t)&j->sa,
	    .msg_namelen = j->salen, .msg_iov = (struct iovec *)e->iov,
	    .msg_iovlen = (size_t)e->niov };
	ssize_t n;

	if (j->fd == -1 || e->full)
		return -1;
	while ((n = sendmsg(j->fd, &m, MSG_NOSIGNAL)) == -1 &&
	    errno == EINTR)
		;
	return n == -1 ? -1 : 0;
}
