/*
 * test_backup.c: acctc db backup and acctd --restore, as an admin runs
 * them: a backup taken while another client writes is consistent and
 * restores into a fresh state directory; the file is the caller's own,
 * mode 0600, and so is a file on standard output (another uid's is
 * refused); the daemon writes only to a descriptor it was sent, never
 * to a path, and only to an empty file or a pipe (not a socket, a
 * device or a file of /proc); a write that takes nothing ends it; a
 * restore checks, migrates and keeps the database it replaces, and
 * refuses a running daemon, a newer schema, a damaged file, one that is
 * not a regular file and a schema acctd did not make.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../acctd/acctd.h"
#include "../common/io.h"
#include "harness.h"
#include "faults/fault_shim.h"

#define PW	"backup-pass-1"
#define WRITERS	200

static const struct th_cred admin_nobody = { TH_NOBODY, TH_NOBODY, 1,
    { TH_ADMIN_GID } };
static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_backup: ACCTC_BIN is not set to the "
		    "acctc under test\n");
		return -1;
	}
	return th_setup(state);
}

/* DIR/name, kept. */
static char *
in_dir(const struct th_daemon *d, const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", d->dir, name) > 0);
	return th_keep(p);
}

static int
add_many(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;
	char name[16];

	(void)out;
	for (int i = 0; i < WRITERS; i++) {
		snprintf(name, sizeof(name), "w%03d", i);
		if (th_add_user(d->sock, name, PW) != ACCT_OK)
			return 1;
	}
	return 0;
}

/*
 * The accounts of a backup taken during the writes are w000 to w(n-1):
 * one state of the database, not a mix. Returns n.
 */
static int64_t
consistent(const char *path)
{
	int64_t n;
	char sql[160];

	assert_int_equal(th_file_integrity(path), 0);
	assert_int_equal(th_file_int(path, "PRAGMA user_version"),
	    db_schema_latest());
	n = th_file_int(path, "SELECT count(*) FROM accounts");
	assert_true(n >= 0 && n <= WRITERS);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM accounts WHERE "
	    "username BETWEEN 'w000' AND 'w%03lld'", (long long)n - 1);
	if (n > 0)
		assert_int_equal(th_file_int(path, sql), n);
	/* A file of its own: not in WAL mode, needing no -wal beside it. */
	{
		size_t len = 0;
		char *h = th_slurp(path, &len);

		assert_non_null(h);
		assert_true(len > 100 && h[18] == 1 && h[19] == 1);
		th_free(h);
	}
	return n;
}

/* Taken while another client adds 200 accounts; restored elsewhere. */
static void
test_backup_while_writing(void **state)
{
	struct th_daemon *d = *state, fresh;
	struct th_result r = { 0 };
	struct th_child c;
	char *path, *first = NULL, want[160];
	struct stat sb;
	int64_t n, n_first = 0;
	int taken = 0, st = -1;
	bool done = false;

	assert_int_equal(th_as_start(NULL, add_many, d, &c), 0);
	/* Backups one after the other while the writer writes, and one
	 * after it is done. */
	while (!done || taken == 0) {
		char name[32];

		done = waitpid(c.pid, &st, WNOHANG) == c.pid;
		snprintf(name, sizeof(name), "b%d.db", taken++);
		path = in_dir(d, name);
		TH_RUN(d, NULL, 0, "db", "backup", path);
		n = consistent(path);
		snprintf(want, sizeof(want), "Backed up %lld accounts (schema "
		    "version %d, ", (long long)n, db_schema_latest());
		assert_true(th_contains(r.out, want));
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
		assert_int_equal(sb.st_uid, geteuid());
		if (first == NULL) {
			first = path;
			n_first = n;
		}
	}
	close(c.fd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(n, WRITERS);
	print_message("%d backups, the first with %lld accounts\n", taken,
	    (long long)n_first);
	/* The first, into a state directory that does not exist yet. */
	n = n_first;
	assert_int_equal(th_init(&fresh, NULL), 0);
	th_result_free(&r);
	assert_int_equal(th_acctd_restore(&fresh, first, &r), 0);
	snprintf(want, sizeof(want), "%lld accounts", (long long)n);
	assert_true(th_contains(r.err, want));
	assert_false(th_contains(r.err, "before-restore"));
	assert_int_equal(stat(fresh.db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(th_start(&fresh), 0);
	assert_int_equal(th_db_int(&fresh, "SELECT count(*) FROM accounts",
	    NULL), n);
	if (n > 0)
		assert_int_equal(th_call_strs(fresh.sock, "login", "username",
		    "w000", "password", PW, (char *)NULL), ACCT_OK);
	assert_int_equal(th_stop(&fresh), 0);
	th_cleanup(&fresh);
	th_result_free(&r);
}

/* The caller's file, made with the caller's rights; nothing else. */
static void
test_backup_file_rights(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *mine = in_dir(d, "nobody"), *path, *denied;
	struct stat sb;

	if (!th_is_root()) {
		print_message("not root: cannot take another uid\n");
		skip();
	}
	assert_int_equal(mkdir(mine, 0700), 0);
	assert_int_equal(chown(mine, TH_NOBODY, TH_NOBODY), 0);
	assert_true(asprintf(&path, "%s/acctd.db", mine) > 0);
	th_keep(path);
	/* An admin_group member who is not root: the file is theirs. */
	TH_RUN_AS(d, &admin_nobody, NULL, 0, "db", "backup", path);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, TH_NOBODY);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(th_file_integrity(path), 0);
	/* Where they may not write, the root daemon does not either. */
	denied = in_dir(d, "db/copy.db");
	TH_RUN_AS(d, &admin_nobody, NULL, 1, "db", "backup", denied);
	assert_true(th_contains(r.err, "Permission denied"));
	assert_int_equal(access(denied, F_OK), -1);
	/* Not an admin: refused, and the file it made is gone again. */
	assert_int_equal(unlink(path), 0);
	TH_RUN_AS(d, &plain, NULL, 1, "db", "backup", path);
	assert_true(th_contains(r.err, "permission denied"));
	assert_int_equal(access(path, F_OK), -1);
	th_result_free(&r);
}

/* An existing file is not overwritten; - writes to a pipe. */
static void
test_backup_targets(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *path = in_dir(d, "kept"), *cmd, *text, uid[48];
	const char *argv[4] = { "/bin/sh", "-c", NULL, NULL };
	const char *env[2] = { uid, NULL };
	size_t len;
	FILE *f;

	assert_int_equal(th_add_user(d->sock, "ann", PW), ACCT_OK);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs("precious\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	TH_RUN(d, NULL, 1, "db", "backup", path);
	assert_true(th_contains(r.err, "not overwritten"));
	assert_non_null(text = th_slurp(path, &len));
	assert_string_equal(text, "precious\n");
	/* Standard output: a pipe here; the summary goes to stderr. */
	path = in_dir(d, "piped.db");
	assert_true(asprintf(&cmd, "'%s' --socket '%s' db backup - | cat > "
	    "'%s'", th_acctc_bin(), d->sock, path) > 0);
	argv[2] = th_keep(cmd);
	th_result_free(&r);
	/* A test daemon not run as root runs as we do. */
	snprintf(uid, sizeof(uid), "ACCTC_SERVER_UID=%u", (unsigned)geteuid());
	assert_int_equal(th_run_v(argv, NULL, NULL, env, &r), 0);
	assert_true(th_contains(r.err, "Backed up 1 accounts"));
	assert_true(th_contains(r.err, "to standard output"));
	assert_int_equal(th_file_integrity(path), 0);
	assert_int_equal(th_file_int(path, "SELECT count(*) FROM accounts "
	    "WHERE username = 'ann'"), 1);
	/* --json would be mixed into the backup. */
	TH_RUN(d, NULL, 2, "--json", "db", "backup", "-");
	TH_RUN(d, NULL, 2, "db", "backup");
	th_result_free(&r);
}

/* db_backup on a raw connection, with what a hostile client could send. */
static int
raw_backup(const struct th_daemon *d, struct proto_msg *args, int fd,
    char *msg, size_t msgsz)
{
	struct acct_conn *c;
	struct proto_reply rep;
	int rc;

	assert_int_equal(acct_conn_open(d->sock, geteuid(), NULL, &c),
	    ACCT_OK);
	rc = acct_conn_call_fd(c, OP_DB_BACKUP, args, fd, &rep);
	if (rc == ACCT_OK) {
		rc = rep.code;
		snprintf(msg, msgsz, "%s", rep.message);
	}
	proto_reply_free(&rep);
	acct_conn_close(c);
	return rc;
}

struct plain_call {
	const struct th_daemon	*d;
	int			 fd;
};

static int
backup_as_plain(void *arg, FILE *out)
{
	struct plain_call *p = arg;
	char msg[256];

	(void)out;
	return raw_backup(p->d, NULL, p->fd, msg, sizeof(msg)) ==
	    ACCT_ERR_DENIED ? 0 : 1;
}

static void
test_backup_no_path(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg args;
	char msg[256], *path = in_dir(d, "t.db");
	struct stat sb;
	int fd;

	/* There is no argument to name a path with. */
	proto_msg_init(&args);
	proto_kv_str(&args, "path", "/etc/shadow");
	assert_int_equal(raw_backup(d, &args, -1, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	proto_msg_free(&args);
	proto_msg_init(&args);
	proto_kv_str(&args, "data", "/etc/shadow");
	assert_int_equal(raw_backup(d, &args, -1, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	proto_msg_free(&args);
	/* No descriptor: said how it is done. */
	assert_int_equal(raw_backup(d, NULL, -1, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	assert_true(th_contains(msg, "descriptor"));
	/* A file with something in it is not written over. */
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(raw_backup(d, NULL, fd, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	assert_true(th_contains(msg, "empty file or a pipe"));
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 1);
	close(fd);
	/* Read-only, appending: refused. */
	assert_int_equal(unlink(path), 0);
	assert_true((fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(raw_backup(d, NULL, fd, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	assert_true(th_contains(msg, "not open for writing"));
	close(fd);
	assert_true((fd = open(path, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(raw_backup(d, NULL, fd, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	close(fd);
	/* A socket, a device: refused, nothing sent. */
	{
		int sv[2];
		char c;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, sv), 0);
		assert_int_equal(raw_backup(d, NULL, sv[0], msg, sizeof(msg)),
		    ACCT_ERR_INVALID);
		assert_true(th_contains(msg, "empty file or a pipe"));
		close(sv[0]);
		assert_int_equal(read(sv[1], &c, 1), 0);
		close(sv[1]);
	}
	assert_true((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(raw_backup(d, NULL, fd, msg, sizeof(msg)),
	    ACCT_ERR_INVALID);
	assert_true(th_contains(msg, "empty file or a pipe"));
	close(fd);
	/* A good one works on the raw connection too. */
	assert_int_equal(unlink(path), 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(raw_backup(d, NULL, fd, msg, sizeof(msg)), ACCT_OK);
	close(fd);
	assert_int_equal(th_file_integrity(path), 0);
	/* Not an admin: denied, descriptor and all; nothing written. */
	if (th_is_root()) {
		struct plain_call p = { d, -1 };

		assert_int_equal(unlink(path), 0);
		assert_true((p.fd = open(path, O_WRONLY | O_CREAT | O_EXCL,
		    0666)) >= 0);
		assert_int_equal(th_as(&plain, backup_as_plain, &p, NULL, 0),
		    0);
		assert_int_equal(fstat(p.fd, &sb), 0);
		assert_int_equal(sb.st_size, 0);
		close(p.fd);
	}
}

/*
 * db_backup with passfd, on a connection of its own, its reply awaited
 * TH_WAIT_MS at most (a thread that spins never answers): the reply's
 * code, with its message in msg, or the th_recv code.
 */
static int
backup_within(const struct th_daemon *d, int passfd, char *msg,
    size_t msgsz)
{
	struct proto_msg none;
	struct proto_frame f;
	struct proto_reply rep;
	int fd, rc;

	assert_true((fd = th_connect(d->sock)) >= 0);
	proto_msg_init(&none);
	rc = proto_request_finish(&none, 1, "db_backup", &f);
	proto_msg_free(&none);
	assert_int_equal(rc, ACCT_OK);
	rc = io_write_all_fd(fd, f.data, f.len, passfd);
	proto_frame_free(&f);
	assert_int_equal(rc, 0);
	snprintf(msg, msgsz, "(no reply)");
	if ((rc = th_recv(fd, TH_WAIT_MS, &rep)) == TH_REPLY) {
		rc = rep.code;
		snprintf(msg, msgsz, "%s", rep.message);
		proto_reply_free(&rep);
	}
	close(fd);
	return rc;
}

/* Wait until acctd holds at most want descriptors; true if it does. */
static bool
fds_back_to(const struct th_daemon *d, int want)
{
	struct timespec ts = { 0, 50 * 1000000L };

	for (int waited = 0; waited <= TH_WAIT_MS; waited += 50) {
		int n = th_proc_fds(d->pid);

		if (n >= 0 && n <= want)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * /proc/PID/mem of a process that is gone: an empty regular file on
 * which a write takes nothing, for ever. Refused before any write, and
 * the request's thread is done: its descriptors closed, the daemon
 * answering. Then as it was found, acctc's own /proc/self/mem on its
 * standard output, opened by the shell before the exec.
 */
static void
test_backup_proc_mem(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const char *argv[] = { "/usr/bin/timeout", "60", "/bin/sh", "-c", NULL,
	    NULL };
	const char *env[2] = { NULL, NULL };
	char path[64], msg[256], *cmd, uid[48];
	int fd, base, code;
	pid_t pid;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%ld/mem", (long)pid);
	fd = open(path, O_RDWR | O_CLOEXEC);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_true(fd >= 0);
	print_message("a write on %s returns %zd\n", path, write(fd, "x", 1));
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
	base = th_proc_fds(d->pid);
	assert_true(base > 0);
	code = backup_within(d, fd, msg, sizeof(msg));
	close(fd);
	if (code != ACCT_ERR_INVALID)
		fail_msg("db_backup to %s: %d (%s), want invalid_argument",
		    path, code, msg);
	assert_true(th_contains(msg, "/proc"));
	assert_true(fds_back_to(d, base));
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);

	assert_true(asprintf(&cmd, "exec '%s' --socket '%s' db backup - "
	    "1<>/proc/self/mem", th_acctc_bin(), d->sock) > 0);
	argv[4] = th_keep(cmd);
	snprintf(uid, sizeof(uid), "ACCTC_SERVER_UID=%u", (unsigned)geteuid());
	env[0] = uid;
	assert_int_equal(th_run_v(argv, NULL, NULL, env, &r), 1);
	assert_true(th_contains(r.err, "a file of the kernel's"));
	assert_true(fds_back_to(d, base));
	th_result_free(&r);
}

/*
 * A descriptor on which write() takes nothing (the fault shim's zero
 * mode: no file a client may pass does this now that /proc is refused):
 * the backup ends at the first such write, with an error, instead of
 * asking again for good.
 */
static void
test_backup_no_progress(void **state)
{
	struct th_daemon *d = *state;
	const char *shim = getenv("ACCT_FAULT_SHIM");
	char ctl_path[192], preload[512], ctl_env[256], msg[256], *path;
	const char *wrap[] = { "env", preload, ctl_env, NULL };
	struct fault_ctl *ctl;
	struct stat sb;
	int fd, code;

	if (shim == NULL || access(shim, R_OK) == -1)
		fail_msg("ACCT_FAULT_SHIM (%s) names no shim: run through make "
		    "test", shim ? shim : "unset");
	assert_int_equal(th_stop(d), 0);
	snprintf(ctl_path, sizeof(ctl_path), "%s/fault.ctl", d->dir);
	assert_true((fd = open(ctl_path, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600)) >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	ctl = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(ctl != MAP_FAILED);
	ctl->magic = FAULT_MAGIC;
	atomic_store(&ctl->kind, -1);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);
	snprintf(ctl_env, sizeof(ctl_env), "%s=%s", FAULT_CTL_ENV, ctl_path);
	/* The shim is preloaded before a sanitizer's runtime. */
	th_asan_option("verify_asan_link_order=0");
	assert_int_equal(th_start_wrapped(d, wrap), 0);

	path = in_dir(d, "stuck.db");
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) >= 0);
	/* Every write() from now on takes nothing. */
	atomic_store(&ctl->injected, 0);
	atomic_store(&ctl->kind, FAULT_WRITE);
	atomic_store(&ctl->target, 1);
	atomic_store(&ctl->persist, 1);
	atomic_store(&ctl->zero, 1);
	atomic_store(&ctl->counting, 1);
	code = backup_within(d, fd, msg, sizeof(msg));
	atomic_store(&ctl->counting, 0);
	atomic_store(&ctl->kind, -1);
	if (code != ACCT_ERR_STORAGE)
		fail_msg("db_backup on a descriptor that takes nothing: %d "
		    "(%s), want storage", code, msg);
	assert_true(th_contains(msg, "took no bytes"));
	/* Asked once, not again. */
	assert_int_equal(atomic_load(&ctl->injected), 1);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	close(fd);
	/* The daemon is none the worse: the next backup is whole. */
	assert_int_equal(unlink(path), 0);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) >= 0);
	assert_int_equal(backup_within(d, fd, msg, sizeof(msg)), ACCT_OK);
	close(fd);
	assert_int_equal(th_file_integrity(path), 0);
	munmap(ctl, 4096);
}

/*
 * - with a file on standard output: the caller's own is made 0600 before
 * the backup goes in; another uid's is refused, nothing written to it.
 */
static void
test_backup_stdout_file(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	const char *env[2] = { NULL, NULL };
	char *mine = in_dir(d, "mine.db"), *theirs = in_dir(d, "theirs.db");
	char *cmd, uid[48];
	struct stat sb;

	snprintf(uid, sizeof(uid), "ACCTC_SERVER_UID=%u", (unsigned)geteuid());
	env[0] = uid;
	assert_int_equal(th_add_user(d->sock, "ann", PW), ACCT_OK);
	assert_int_equal(close(open(mine, O_WRONLY | O_CREAT | O_EXCL, 0600)),
	    0);
	assert_int_equal(chmod(mine, 0644), 0);
	assert_true(asprintf(&cmd, "'%s' --socket '%s' db backup - > '%s'",
	    th_acctc_bin(), d->sock, mine) > 0);
	argv[2] = th_keep(cmd);
	assert_int_equal(th_run_v(argv, NULL, NULL, env, &r), 0);
	assert_true(th_contains(r.err, "Backed up 1 accounts"));
	assert_int_equal(stat(mine, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(th_file_integrity(mine), 0);
	assert_int_equal(th_file_int(mine, "SELECT count(*) FROM accounts "
	    "WHERE username = 'ann'"), 1);
	th_result_free(&r);

	if (!th_is_root()) {
		print_message("not root: cannot make a file of another uid\n");
		skip();
	}
	/* Root's shell, nobody's file: root could chmod it, but it is not
	 * root's to keep private. */
	assert_int_equal(close(open(theirs, O_WRONLY | O_CREAT | O_EXCL,
	    0600)), 0);
	assert_int_equal(chown(theirs, TH_NOBODY, TH_NOBODY), 0);
	assert_int_equal(chmod(theirs, 0666), 0);
	assert_true(asprintf(&cmd, "'%s' --socket '%s' db backup - > '%s'",
	    th_acctc_bin(), d->sock, theirs) > 0);
	argv[2] = th_keep(cmd);
	assert_int_equal(th_run_v(argv, NULL, NULL, env, &r), 1);
	assert_true(th_contains(r.err, "standard output is a file of uid "
	    "65534, not yours"));
	assert_int_equal(stat(theirs, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 07777, 0666);
	th_result_free(&r);
	/* An admin who is not root, with root's file. */
	assert_int_equal(chown(theirs, 0, 0), 0);
	assert_int_equal(chmod(theirs, 0666), 0);
	assert_int_equal(th_run_v(argv, &admin_nobody, NULL, env, &r), 1);
	assert_true(th_contains(r.err, "standard output is a file of uid 0, "
	    "not yours"));
	assert_int_equal(stat(theirs, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 07777, 0666);
	th_result_free(&r);
}

/* Restore: refuses a running daemon; keeps what it replaces. */
static void
test_restore(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *path = in_dir(d, "two.db"), *aside, *stale;
	char want[256];
	struct stat sb;

	assert_int_equal(th_add_user(d->sock, "ann", PW), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "bob", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "db", "backup", path);
	assert_int_equal(th_add_user(d->sock, "carol", PW), ACCT_OK);
	/* Not under a running daemon. */
	th_result_free(&r);
	assert_int_equal(th_acctd_restore(d, path, &r), 1);
	assert_true(th_contains(r.err, "held by another acctd"));
	assert_true(th_user_exists(d->sock, "carol"));
	assert_int_equal(th_stop(d), 0);

	th_result_free(&r);
	assert_int_equal(th_acctd_restore(d, path, &r), 0);
	assert_true(th_contains(r.err, "2 accounts"));
	assert_true(asprintf(&aside, "%s.before-restore", d->db) > 0);
	th_keep(aside);
	assert_true(th_contains(r.err, aside));
	assert_int_equal(th_file_int(aside, "SELECT count(*) FROM accounts "
	    "WHERE username = 'carol'"), 1);
	assert_int_equal(stat(d->db, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	/* A file a crash left beside it goes at the next start. */
	stale = in_dir(d, "db/.acctd-backup-Xy12Zw");
	assert_int_equal(close(open(stale, O_WRONLY | O_CREAT, 0600)), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(access(stale, F_OK), -1);
	assert_true(th_user_exists(d->sock, "ann"));
	assert_true(th_user_exists(d->sock, "bob"));
	assert_false(th_user_exists(d->sock, "carol"));
	assert_int_equal(th_call_strs(d->sock, "login", "username", "bob",
	    "password", PW, (char *)NULL), ACCT_OK);
	assert_int_equal(th_stop(d), 0);

	/* A newer schema: refused, saying which version it needs. */
	{
		struct th_daemon f = *d;
		char sql[64];

		snprintf(f.db, sizeof(f.db), "%s", path);
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    db_schema_latest() + 1);
		assert_int_equal(th_db_exec(&f, sql), 0);
	}
	th_result_free(&r);
	assert_int_equal(th_acctd_restore(d, path, &r), 1);
	snprintf(want, sizeof(want), "has schema version %d; this acctd (%s) "
	    "knows versions up to %d", db_schema_latest() + 1, ACCT_VERSION,
	    db_schema_latest());
	assert_true(th_contains(r.err, want));
	/* Not a database at all; the database itself. */
	assert_int_equal(truncate(path, 0), 0);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_true(fputs("not a database, just text\n", f) >= 0);
		assert_int_equal(fclose(f), 0);
	}
	th_result_free(&r);
	assert_int_equal(th_acctd_restore(d, path, &r), 1);
	assert_true(th_contains(r.err, "restore:"));
	th_result_free(&r);
	assert_int_equal(th_acctd_restore(d, d->db, &r), 1);
	assert_true(th_contains(r.err, "is the database itself"));
	/* A FIFO, which SQLite's open would wait on for a writer (the
	 * harness kills a run after 20 s), and a link to the backup. */
	{
		char *fifo = in_dir(d, "fifo.db"), *link = in_dir(d, "link.db");

		assert_int_equal(mkfifo(fifo, 0600), 0);
		th_result_free(&r);
		assert_int_equal(th_acctd_restore(d, fifo, &r), 1);
		snprintf(want, sizeof(want), "%s: not a regular file but a "
		    "FIFO", fifo);
		assert_true(th_contains(r.err, want));
		assert_int_equal(symlink(path, link), 0);
		th_result_free(&r);
		assert_int_equal(th_acctd_restore(d, link, &r), 1);
		snprintf(want, sizeof(want), "%s: not a regular file but a "
		    "symbolic link", link);
		assert_true(th_contains(r.err, want));
	}
	/* None of it touched the database. */
	assert_int_equal(th_start(d), 0);
	assert_true(th_user_exists(d->sock, "ann"));
	assert_false(th_user_exists(d->sock, "carol"));
	th_result_free(&r);
}

/* sql run on the file at path, made if need be; stops the test with
 * SQLite's message if it fails. */
static void
file_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
	sqlite3_free(msg);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* A backup with sql run on it by whoever could write the file. */
struct tampered {
	const char	*sql;
	const char	*want;	/* in the refusal, as is the version */
	bool		 bare;	/* on an empty file instead, made the
				 * current version */
};

static const struct tampered tampered[] = {
	/* Lockout off for every account and the audit gone, as each
	 * login's update fires it. */
	{ "CREATE TRIGGER t_evil AFTER UPDATE ON accounts BEGIN "
	  "UPDATE accounts SET failed_logins = 0, locked_until = NULL "
	  "WHERE id = new.id; DELETE FROM audit_logins; END",
	  "unexpected trigger t_evil: acctd's schema version", false },
	{ "CREATE TABLE loot (h TEXT)", "unexpected table loot", false },
	{ "CREATE INDEX accounts_role ON accounts(role)",
	  "unexpected index accounts_role", false },
	{ "CREATE VIEW hashes AS SELECT username, password_hash FROM accounts",
	  "unexpected view hashes", false },
	{ "ALTER TABLE accounts ADD COLUMN note TEXT",
	  "table accounts differs from acctd's schema version", false },
	{ "DROP INDEX tokens_expires; CREATE INDEX tokens_expires ON "
	  "tokens(expires_at) WHERE 0",
	  "index tokens_expires differs from acctd's schema version", false },
	{ "DROP INDEX audit_events_at",
	  "missing index audit_events_at of acctd's schema version", false },
	/* Statistics steer SQLite's plans; acctd never makes them. */
	{ "ANALYZE", "unexpected table sqlite_stat1", false },
	/* A name is shown escaped, on one line. */
	{ "CREATE TABLE \"a\nb\" (x)", "unexpected table a\\012b:", false },
	/* Nothing but a table of that name: the first of what it lacks. */
	{ "CREATE TABLE accounts(x)",
	  "missing index accounts_deleted of acctd's schema version", true },
};

/* Whether acctd --restore refuses path, saying want; if not, why not. */
static bool
refused(const struct th_daemon *d, const char *path, const char *sql,
    const char *want)
{
	struct th_result r = { 0 };
	char version[64];
	bool ok;

	snprintf(version, sizeof(version), "acctd's schema version %d",
	    db_schema_latest());
	ok = th_acctd_restore(d, path, &r) == 1 && th_contains(r.err, want) &&
	    th_contains(r.err, version) && th_contains(r.err, path);
	if (!ok)
		print_error("%s: status %d, want 1 and \"%s\"; stderr:\n%s\n",
		    sql, r.status, want, r.err);
	th_result_free(&r);
	return ok;
}

/*
 * A restore takes only a schema acctd made: a backup with anything
 * added, changed or dropped is refused, naming the first difference,
 * and so is a file with just a table called accounts; the database is
 * left as it was. The backup as taken restores.
 */
static void
test_restore_schema(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	size_t n = sizeof(tampered) / sizeof(tampered[0]), bad = 0;
	char *good = in_dir(d, "good.db"), *paths[sizeof(tampered) /
	    sizeof(tampered[0])], *aside, name[32], sql[64];

	assert_int_equal(th_add_user(d->sock, "ann", PW), ACCT_OK);
	TH_RUN(d, NULL, 0, "db", "backup", good);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "tampered%zu.db", i);
		paths[i] = in_dir(d, name);
		if (!tampered[i].bare)
			TH_RUN(d, NULL, 0, "db", "backup", paths[i]);
	}
	assert_int_equal(th_add_user(d->sock, "carol", PW), ACCT_OK);
	assert_int_equal(th_stop(d), 0);

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    db_schema_latest());
	for (size_t i = 0; i < n; i++) {
		file_exec(paths[i], tampered[i].sql);
		if (tampered[i].bare)
			file_exec(paths[i], sql);
		bad += !refused(d, paths[i], tampered[i].sql, tampered[i].want);
	}
	assert_int_equal(bad, 0);

	/* None of it touched the database. */
	assert_true(asprintf(&aside, "%s.before-restore", d->db) > 0);
	th_keep(aside);
	assert_int_equal(access(aside, F_OK), -1);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'trigger'", NULL), 0);
	assert_int_equal(th_start(d), 0);
	assert_true(th_user_exists(d->sock, "carol"));
	assert_int_equal(th_stop(d), 0);
	/* The backup as acctd wrote it. */
	assert_int_equal(th_acctd_restore(d, good, &r), 0);
	assert_true(th_contains(r.err, "1 accounts"));
	assert_int_equal(th_start(d), 0);
	assert_true(th_user_exists(d->sock, "ann"));
	assert_false(th_user_exists(d->sock, "carol"));
	assert_int_equal(th_call_strs(d->sock, "login", "username", "ann",
	    "password", PW, (char *)NULL), ACCT_OK);
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_backup_while_writing),
		T(test_backup_file_rights),
		T(test_backup_targets),
		T(test_backup_no_path),
		T(test_backup_proc_mem),
		T(test_backup_no_progress),
		T(test_backup_stdout_file),
		T(test_restore),
		T(test_restore_schema),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("backup", tests, NULL, NULL);
}
