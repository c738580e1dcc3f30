/*
 * backup.c: copies of the database. A backup is taken while the daemon
 * serves and written only to a descriptor the admin's client opened
 * (never to a path a request names); a restore (acctd --restore) runs
 * with the daemon stopped and swaps a checked, migrated copy in.
 */
#include <sys/stat.h>
#include <sys/vfs.h>

#include <linux/magic.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

#define TMP_BACKUP	".acctd-backup-XXXXXX"
#define TMP_RESTORE	".acctd-restore-XXXXXX"
#define WRITE_WAIT_MS	30000	/* a reader this slow has gone away */

/* DIR/pattern in out, for mkstemp: DIR is the database's directory. */
static int
beside(const char *dbpath, const char *pattern, char *out, size_t outsz)
{
	char copy[PATH_MAX];

	if (strlcpy(copy, dbpath, sizeof(copy)) >= sizeof(copy))
		return -1;
	return (size_t)snprintf(out, outsz, "%s/%s", dirname(copy),
	    pattern) < outsz ? 0 : -1;
}

/* An empty 0600 file of ours beside the database; 0 or -1. */
static int
make_temp(const char *dbpath, const char *pattern, char *out, size_t outsz,
    char *err, size_t errsz)
{
	int fd;

	if (beside(dbpath, pattern, out, outsz) == -1 ||
	    (fd = mkostemp(out, O_CLOEXEC)) == -1) {
		snprintf(err, errsz, "a file beside %s: %s", dbpath,
		    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

void
backup_remove_stale(const char *dbpath)
{
	const char *const patterns[] = { TMP_BACKUP, TMP_RESTORE };
	char pat[PATH_MAX];
	glob_t g;

	/* What a backup or restore cut short by a crash left. */
	for (size_t i = 0; i < 2; i++) {
		if (beside(dbpath, patterns[i], pat, sizeof(pat)) == -1)
			continue;
		pat[strlen(pat) - 6] = '*';
		pat[strlen(pat) - 5] = '\0';
		if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++)
			if (unlink(g.gl_pathv[k]) == 0)
				log_info("removed %s, left by a backup or "
				    "restore that did not finish",
				    g.gl_pathv[k]);
		globfree(&g);
	}
}

/* Not in <linux/magic.h>. */
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC		0x62656570
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC	0x65735543
#endif

/*
 * The kernel's own interfaces, /proc, /sys and what is mounted under
 * them: their files look empty and regular, but a write there is an act
 * of the daemon's (on /proc/PID/mem, one that takes no bytes and never
 * ends), not a backup kept.
 */
static bool
kernel_fs(unsigned long type)
{
	static const unsigned long magic[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
		SECURITYFS_MAGIC, SELINUX_MAGIC, SMACK_MAGIC, AAFS_MAGIC,
		CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, BPF_FS_MAGIC,
		EFIVARFS_MAGIC, PSTOREFS_MAGIC, BINFMTFS_MAGIC,
		RDTGROUP_SUPER_MAGIC, CONFIGFS_MAGIC, FUSECTL_SUPER_MAGIC,
	};

	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if (type == magic[i])
			return true;
	return false;
}

/*
 * What the client may pass: an empty file it just made, or a pipe
 * (`acctc db backup - | gzip`, or ssh's, which are pipes too). Not a
 * socket: a write on one can carry the daemon's credentials to whatever
 * listens (SCM_CREDENTIALS), and no shell pipe or file needs it. Not a
 * device, not a file of the kernel's.
 */
static int
check_target(int fd, bool *regular, char *err, size_t errsz)
{
	struct stat sb;
	struct statfs fs;
	int fl;

	if (fstat(fd, &sb) == -1 || (fl = fcntl(fd, F_GETFL)) == -1) {
		snprintf(err, errsz, "the descriptor sent: %s", strerror(errno));
		return -1;
	}
	*regular = S_ISREG(sb.st_mode);
	if ((fl & O_ACCMODE) == O_RDONLY) {
		snprintf(err, errsz, "the descriptor sent is not open for "
		    "writing");
		return -1;
	}
	if (!(*regular && sb.st_size == 0 && (fl & O_APPEND) == 0) &&
	    !S_ISFIFO(sb.st_mode)) {
		snprintf(err, errsz, "the descriptor sent must be an empty "
		    "file or a pipe");
		return -1;
	}
	if (*regular && fstatfs(fd, &fs) == -1) {
		snprintf(err, errsz, "the descriptor sent: %s", strerror(errno));
		return -1;
	}
	if (*regular && kernel_fs((unsigned long)fs.f_type)) {
		snprintf(err, errsz, "the descriptor sent is a file of the "
		    "kernel's (under /proc or /sys), not one to keep a backup "
		    "in");
		return -1;
	}
	return 0;
}

/*
 * All of in onto out. A pipe is written PIPE_BUF bytes at a time once
 * poll says there is room, so that a reader that stops stalls this
 * thread WRITE_WAIT_MS at most.
 */
static int
copy_out(int in, int out, bool regular, int64_t *bytes, char *err,
    size_t errsz)
{
	char buf[65536];
	size_t step = regular ? sizeof(buf) : 4096;
	ssize_t n;
	int rc = -1;

	*bytes = 0;
	while ((n = read(in, buf, step)) > 0) {
		for (ssize_t off = 0, w; off < n; off += w) {
			struct pollfd p = { .fd = out, .events = POLLOUT };

			if (!regular && poll(&p, 1, WRITE_WAIT_MS) != 1) {
				snprintf(err, errsz, "the reader of the backup "
				    "stopped reading");
				goto out;
			}
			if ((w = write(out, buf + off, (size_t)(n - off))) < 0 &&
			    errno == EINTR)
				w = 0;
			else if (w < 0) {
				snprintf(err, errsz, "writing the backup: %s",
				    strerror(errno));
				goto out;
			} else if (w == 0) {
				/* Asked again, it would take nothing again:
				 * this thread would spin for good. */
				snprintf(err, errsz, "writing the backup: the "
				    "descriptor took no bytes");
				goto out;
			}
		}
		*bytes += n;
	}
	if (n < 0)
		snprintf(err, errsz, "reading the copy: %s", strerror(errno));
	else if (regular && fdatasync(out) == -1)
		snprintf(err, errsz, "writing the backup: %s", strerror(errno));
	else
		rc = 0;
out:
	/* The copy's bytes hold every hash: wiped however this ends. */
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int
backup_to_fd(const char *dbpath, int fd, struct backup_info *bi, char *err,
    size_t errsz)
{
	char tmp[PATH_MAX];
	bool regular;
	int in = -1, rc = ACCT_ERR_STORAGE;

	memset(bi, 0, sizeof(*bi));
	if (check_target(fd, &regular, err, errsz) == -1)
		return ACCT_ERR_INVALID;
	if (make_temp(dbpath, TMP_BACKUP, tmp, sizeof(tmp), err, errsz) == -1)
		return ACCT_ERR_STORAGE;
	/* Copied, then checked as a restore will check it, then sent. */
	if (db_copy(dbpath, tmp, err, errsz) == 0 &&
	    db_file_check(tmp, &bi->schema_version, &bi->accounts, err,
	    errsz) == 0 && (in = open(tmp, O_RDONLY | O_CLOEXEC)) == -1)
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
	(void)unlink(tmp);
	if (in >= 0) {
		if (copy_out(in, fd, regular, &bi->bytes, err, errsz) == 0)
			rc = ACCT_OK;
		close(in);
	}
	return rc;
}

/* a and b, as one path; 0, or -1 if it would not fit. */
static int
join(char out[PATH_MAX], const char *a, const char *b)
{
	return (size_t)snprintf(out, PATH_MAX, "%s%s", a, b) < PATH_MAX ? 0 :
	    -1;
}

/*
 * The database and its WAL, each if there, to PATH.before-restore (and
 * its -wal): a WAL left by an unclean stop belongs with its file. The
 * shared-memory index is rebuilt from them, and goes.
 */
static int
set_aside(const char *dbpath, char aside[PATH_MAX], char *err, size_t errsz)
{
	const char *const suffix[] = { "", "-wal" };
	char from[PATH_MAX], to[PATH_MAX];

	if (join(aside, dbpath, ".before-restore") == -1) {
		snprintf(err, errsz, "%s: path too long", dbpath);
		return -1;
	}
	for (size_t i = 0; i < 2; i++) {
		if (join(from, dbpath, suffix[i]) == -1 ||
		    join(to, aside, suffix[i]) == -1) {
			snprintf(err, errsz, "%s: path too long", dbpath);
			return -1;
		}
		if ((unlink(to) == -1 && errno != ENOENT) ||
		    (rename(from, to) == -1 && errno != ENOENT)) {
			snprintf(err, errsz, "setting %s aside: %s", from,
			    strerror(errno));
			return -1;
		}
	}
	if (join(from, dbpath, "-shm") == 0)
		(void)unlink(from);
	if (join(to, aside, "-shm") == 0)
		(void)unlink(to);
	return 0;
}

/* A copy that will not be used, with what SQLite made beside it. */
static void
remove_temp(const char *tmp)
{
	char p[PATH_MAX];

	(void)unlink(tmp);
	if (join(p, tmp, "-wal") == 0)
		(void)unlink(p);
	if (join(p, tmp, "-shm") == 0)
		(void)unlink(p);
}

static void
sync_dir(const char *dbpath)
{
	char copy[PATH_MAX];
	int fd;

	strlcpy(copy, dbpath, sizeof(copy));
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
	    0) {
		(void)fsync(fd);
		close(fd);
	}
}

int
backup_restore(const char *file, const char *dbpath, char *msg,
    size_t msgsz)
{
	char tmp[PATH_MAX], aside[PATH_MAX], real1[PATH_MAX];
	char real2[PATH_MAX], err[512];
	int64_t accounts;
	int fd, version, latest = db_schema_latest();

	if (db_claim(dbpath, msg, msgsz) == -1)
		return -1;
	/* SQLite opens it by name, and would wait on a FIFO for a writer:
	 * what is there is looked at first (as SQLite is told, a link is
	 * not followed). */
	if ((fd = file_open_regular(file, 0, msg, msgsz)) == -1)
		return -1;
	close(fd);
	if (realpath(file, real1) != NULL && realpath(dbpath, real2) != NULL &&
	    strcmp(real1, real2) == 0) {
		snprintf(msg, msgsz, "%s is the database itself", file);
		return -1;
	}
	/* A schema acctd did not make is refused here, and the copy's
	 * again when db_open() migrates it: the file may change between. */
	if (db_file_check(file, &version, &accounts, msg, msgsz) == -1)
		return -1;
	if (make_temp(dbpath, TMP_RESTORE, tmp, sizeof(tmp), msg, msgsz) == -1)
		return -1;
	/* The copy is migrated before anything is replaced. */
	if (db_copy(file, tmp, msg, msgsz) == -1) {
		remove_temp(tmp);
		return -1;
	}
	if (db_open(tmp, err, sizeof(err)) == -1) {
		snprintf(msg, msgsz, "%s: migrating a copy: %s", file, err);
		remove_temp(tmp);
		return -1;
	}
	db_close();
	aside[0] = '\0';
	if (access(dbpath, F_OK) == 0 &&
	    set_aside(dbpath, aside, msg, msgsz) == -1) {
		remove_temp(tmp);
		return -1;
	}
	if (rename(tmp, dbpath) == -1) {
		snprintf(msg, msgsz, "%s: %s (the database it was to replace "
		    "is %s)", dbpath, strerror(errno), aside);
		remove_temp(tmp);
		return -1;
	}
	sync_dir(dbpath);
	snprintf(msg, msgsz, "restored %s into %s: %lld accounts, schema "
	    "version %d%s%s%s", file, dbpath, (long long)accounts, version,
	    version < latest ? ", migrated to the current one" : "",
	    aside[0] != '\0' ? "; the database it replaced is " : "", aside);
	return 0;
}
