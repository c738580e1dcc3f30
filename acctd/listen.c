/*
 * listen.c: the listening socket. A stale socket file is replaced; a live
 * daemon on the same path, or anything that is not a socket, is not.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "acctd.h"

static int
fill(struct sockaddr_un *sun, const char *path, char *err, size_t errsz)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		snprintf(err, errsz, "%s: socket path too long", path);
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* 0: nothing there or a stale socket now removed; -1: leave it alone. */
static int
clear_stale(const struct sockaddr_un *sun, const char *path, char *err,
    size_t errsz)
{
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errsz, "%s exists and is not a socket; "
		    "not replacing it", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		snprintf(err, errsz, "%s: another acctd is listening there",
		    path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errsz, "unlink %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The socket's directory: a real directory (not a link someone planted),
 * owned by root or by us, and if others may write to it, sticky, so no
 * one else can swap the socket file.
 */
static int
check_dir(const char *dir, char *err, size_t errsz)
{
	struct stat sb;

	if (lstat(dir, &sb) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode) ||
	    (sb.st_uid != 0 && sb.st_uid != geteuid()) ||
	    ((sb.st_mode & 0022) != 0 && (sb.st_mode & S_ISVTX) == 0)) {
		snprintf(err, errsz, "%s: the socket's directory must be a "
		    "directory owned by root or uid %u, not writable by others "
		    "unless sticky", dir, (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/*
 * A missing directory is made 0755 whatever the umask (the unit's is
 * 0077, which would leave it 0700 and the socket out of every other
 * uid's reach); one that exists keeps the mode its owner gave it.
 */
static int
make_dir(const char *dir, char *err, size_t errsz)
{
	struct stat sb;
	int fd, rc = -1;

	if (mkdir(dir, 0755) == -1)
		return errno == EEXIST ? 0 : (snprintf(err, errsz,
		    "mkdir %s: %s", dir, strerror(errno)), -1);
	/* By descriptor: what is chmod'ed is the directory just made. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || sb.st_uid != geteuid())
		snprintf(err, errsz, "%s: changed while being made", dir);
	else if ((rc = fchmod(fd, 0755)) == -1)
		snprintf(err, errsz, "chmod %s: %s", dir, strerror(errno));
	close(fd);
	return rc;
}

int
listen_open(const char *path, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	char dir[ACCTD_SOCKET_MAX];
	mode_t old;
	int fd;

	if (fill(&sun, path, err, errsz) == -1)
		return -1;
	memcpy(dir, path, strlen(path) + 1);
	if (make_dir(dirname(dir), err, errsz) == -1 ||
	    check_dir(dir, err, errsz) == -1)
		return -1;
	if (clear_stale(&sun, path, err, errsz) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	/* Everyone may connect: what they may do is decided per peer. */
	old = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errsz, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if (listen(fd, 128) == -1) {
		snprintf(err, errsz, "listen: %s", strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

void
listen_close(int fd, const char *path)
{
	struct stat sb;

	close(fd);
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path);
}
