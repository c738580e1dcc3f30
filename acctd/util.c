/*
 * util.c: clocks, random identifiers, and the small files acctd reads
 * by name.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "acctd.h"

int64_t
now_unix(void)
{
	return (int64_t)time(NULL);
}

/* Microseconds of the monotonic clock: for durations, never dates. */
int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	arc4random_buf(b, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0xf];
	}
	out[2 * nbytes] = '\0';
}

static const char *
file_kind(mode_t m)
{
	return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" :
	    S_ISDIR(m) ? "a directory" : S_ISCHR(m) || S_ISBLK(m) ?
	    "a device" : S_ISLNK(m) ? "a symbolic link" : "something else";
}

static bool
file_ok(const struct stat *st, unsigned flags)
{
	return S_ISREG(st->st_mode) || ((flags & FILE_NULL_OK) &&
	    S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3));
}

static int
file_refuse(const char *path, const struct stat *st, char *err,
    size_t errsz)
{
	if (S_ISLNK(st->st_mode))
		snprintf(err, errsz, "%s: not a regular file but a symbolic "
		    "link, which is not followed", path);
	else
		snprintf(err, errsz, "%s: not a regular file but %s", path,
		    file_kind(st->st_mode));
	errno = EINVAL;
	return -1;
}

int
file_open_regular(const char *path, unsigned flags, char *err, size_t errsz)
{
	bool follow = (flags & FILE_FOLLOW) != 0;
	struct stat st;
	int fd, e;

	/* Looked at first, so that a device in its place is never even
	 * opened: opening some has effects (a tape rewinds). */
	if ((follow ? stat(path, &st) : lstat(path, &st)) == -1)
		goto fail;
	if (!file_ok(&st, flags))
		return file_refuse(path, &st, err, errsz);
	/* Without O_NONBLOCK a FIFO swapped in since would hold the caller
	 * (the main thread, on SIGHUP) until a writer came. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY |
	    (follow ? 0 : O_NOFOLLOW))) == -1) {
		e = errno;
		if ((e == ELOOP || e == ENXIO) && lstat(path, &st) == 0 &&
		    !S_ISREG(st.st_mode))
			return file_refuse(path, &st, err, errsz);
		errno = e;
		goto fail;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	/* What was opened is what counts: the path may have changed. */
	if (!file_ok(&st, flags)) {
		close(fd);
		return file_refuse(path, &st, err, errsz);
	}
	return fd;
fail:
	e = errno;
	snprintf(err, errsz, "%s: %s", path, strerror(e));
	errno = e;
	return -1;
}

int
file_read_small(const char *path, unsigned flags, char *buf, size_t max,
    size_t *len, char *err, size_t errsz)
{
	size_t n = 0;
	ssize_t r;
	char extra;
	int fd, e;

	buf[0] = '\0';
	*len = 0;
	if ((fd = file_open_regular(path, flags, err, errsz)) == -1)
		return -1;
	while (n < max && (r = read(fd, buf + n, max - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		n += (size_t)r;
	}
	/* One byte past max tells a file of exactly max from a longer one. */
	while (n == max && (r = read(fd, &extra, 1)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		close(fd);
		buf[0] = '\0';
		snprintf(err, errsz, "%s: larger than %zu bytes", path, max);
		errno = EFBIG;
		return -1;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return 0;
fail:
	e = errno;
	close(fd);
	buf[0] = '\0';
	snprintf(err, errsz, "%s: %s", path, strerror(e));
	errno = e;
	return -1;
}
