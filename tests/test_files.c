/*
 * test_files.c: files acctd creates and trusts: safe
 * modes, refusal of unsafe ownership, modes and symlinks with a clear
 * message, the socket's directory, systemd's socket activation and
 * readiness protocol, and the files it reads by name (acctd.conf, the
 * mail templates): regular files only, never waited on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void
assert_mode(const char *path, mode_t type, mode_t perm)
{
	struct stat sb;

	if (lstat(path, &sb) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if ((sb.st_mode & S_IFMT) != type || (sb.st_mode & 07777) != perm)
		fail_msg("%s: mode %o, expected %o", path,
		    (unsigned)sb.st_mode, (unsigned)(type | perm));
}

static void
test_created_modes(void **state)
{
	struct th_daemon *d = *state;
	char path[200];

	assert_int_equal(th_up(d, NULL), 0);
	assert_int_equal(th_add_user(d->sock, "someone", "a-good-password"),
	    ACCT_OK);
	assert_mode(d->db, S_IFREG, 0600);
	snprintf(path, sizeof(path), "%s/db", d->dir);
	assert_mode(path, S_IFDIR, 0700);
	assert_mode(d->sock, S_IFSOCK, 0666);
	snprintf(path, sizeof(path), "%s-wal", d->db);
	if (access(path, F_OK) == 0)
		assert_mode(path, S_IFREG, 0600);
	snprintf(path, sizeof(path), "%s-shm", d->db);
	if (access(path, F_OK) == 0)
		assert_mode(path, S_IFREG, 0600);
}

/* acctd must exit non-zero, saying why (the log holds needle). */
static void
assert_refuses(struct th_daemon *d, const char *needle)
{
	size_t off = th_log_size(d);
	pid_t pid = th_spawn(d);
	int st;
	char *log;

	assert_true(pid > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("acctd started although %s", needle);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		fail_msg("acctd exited 0 although %s", needle);
	log = th_keep(th_read_log(d));
	if (log == NULL || strlen(log) < off ||
	    strstr(log + off, needle) == NULL) {
		th_print_log(d);
		fail_msg("no '%s' in the log", needle);
	}
	assert_int_equal(access(d->sock, F_OK), -1);
}

static void
test_refuses_unsafe_db_dir(void **state)
{
	struct th_daemon *d = *state;
	char dir[200], real[200];

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/db", d->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_refuses(d, "not writable by group or others");
	assert_int_equal(chmod(dir, 0770), 0);
	assert_refuses(d, "not writable by group or others");
	assert_int_equal(chmod(dir, 0700), 0);
	if (th_is_root()) {
		assert_int_equal(chown(dir, TH_NOBODY, TH_NOBODY), 0);
		assert_refuses(d, "must be a directory owned by");
	}
	/* The directory itself a symlink (to a safe-looking one). */
	assert_int_equal(rmdir(dir), 0);
	snprintf(real, sizeof(real), "%s/elsewhere", d->dir);
	assert_int_equal(mkdir(real, 0700), 0);
	assert_int_equal(symlink(real, dir), 0);
	assert_refuses(d, "must be a directory");
	assert_int_equal(access(real, F_OK), 0);
	/* And with a safe directory it starts. */
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(th_start(d), 0);
}

static void
test_refuses_unsafe_db_file(void **state)
{
	struct th_daemon *d = *state;
	char dir[200], target[200];
	struct stat sb;
	int fd;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/db", d->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* A symlink planted where the database goes: refused, and the
	 * file it points to is left alone. */
	snprintf(target, sizeof(target), "%s/victim", d->dir);
	assert_true((fd = open(target, O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	assert_int_equal(symlink(target, d->db), 0);
	assert_refuses(d, "symbolic link");
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 8);
	assert_int_equal(unlink(d->db), 0);
	/* A database readable by others. */
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(chmod(d->db, 0644), 0);
	assert_refuses(d, "0600");
	assert_int_equal(chmod(d->db, 0660), 0);
	assert_refuses(d, "0600");
	assert_int_equal(chmod(d->db, 0600), 0);
	if (th_is_root()) {
		assert_int_equal(chown(d->db, TH_NOBODY, TH_NOBODY), 0);
		assert_refuses(d, "must be owned by");
		assert_int_equal(chown(d->db, 0, 0), 0);
	}
	assert_int_equal(th_start(d), 0);
}

static void
test_refuses_socket_symlink(void **state)
{
	struct th_daemon *d = *state;
	char target[200];
	struct stat sb;
	int fd;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(target, sizeof(target), "%s/victim", d->dir);
	assert_true((fd = open(target, O_WRONLY | O_CREAT, 0600)) != -1);
	close(fd);
	assert_int_equal(symlink(target, d->sock), 0);
	{
		size_t off = th_log_size(d);
		pid_t pid = th_spawn(d);
		int st = th_wait_pid(pid, TH_WAIT_MS);

		if (st == -1) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			fail_msg("acctd started on a symlinked socket path");
		}
		assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		assert_int_equal(th_wait_log(d, off, "not a socket", 1000),
		    0);
	}
	/* Still a symlink, and its target a plain file. */
	assert_int_equal(lstat(d->sock, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(stat(target, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
}

/*
 * Without systemd, under the unit's UMask=0077: the socket's directory,
 * and the saslauthd socket's, made by acctd 0755 all the same, so that
 * a uid that is neither root nor acctd's reaches both sockets. One that
 * exists keeps its mode.
 */
static void
test_socket_dir_mode(void **state)
{
	struct th_daemon *d = *state;
	const struct th_cred nobody = { .uid = TH_NOBODY, .gid = TH_NOBODY };
	char run[80], sasl_dir[80], sasl[96], extra[256];
	mode_t old;
	int rc, fd;

	TH_NEED_ROOT();
	assert_int_equal(th_init(d, NULL), 0);
	snprintf(run, sizeof(run), "%s/run", d->dir);
	snprintf(sasl_dir, sizeof(sasl_dir), "%s/sasl", d->dir);
	snprintf(sasl, sizeof(sasl), "%s/mux", sasl_dir);
	snprintf(extra, sizeof(extra), "saslauthd_socket = %s\n", sasl);
	assert_int_equal(th_write_config(d, extra), 0);
	snprintf(d->sock, sizeof(d->sock), "%s/acctd.sock", run);
	old = umask(0077);
	rc = th_start(d);
	umask(old);
	assert_int_equal(rc, 0);
	assert_mode(run, S_IFDIR, 0755);
	assert_mode(sasl_dir, S_IFDIR, 0755);
	assert_mode(d->sock, S_IFSOCK, 0666);
	assert_mode(sasl, S_IFSOCK, 0666);
	th_assert_as(d->sock, &nobody, ACCT_OK, "hello");
	assert_true((fd = th_connect_as(&nobody, sasl)) >= 0);
	close(fd);

	/* Now they exist: an admin's mode stays. */
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(chmod(run, 0750), 0);
	assert_int_equal(chmod(sasl_dir, 0710), 0);
	assert_int_equal(th_start(d), 0);
	assert_mode(run, S_IFDIR, 0750);
	assert_mode(sasl_dir, S_IFDIR, 0710);
}

/* ---- socket activation and readiness ---- */

static int
unix_socket(const char *path, int type)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 16) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait for a datagram on the notify socket; it in buf. */
static int
notify_recv(int fd, char *buf, size_t sz)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, TH_WAIT_MS) != 1)
		return -1;
	if ((n = recv(fd, buf, sz - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Start acctd as systemd would: the socket on fd 3. */
static pid_t
spawn_activated(const struct th_daemon *d, int lfd, const char *nfds,
    bool our_pid, const char *notify)
{
	const char *bin = getenv("ACCTD_BIN");
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) != 0)
		return pid;
	{
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char buf[32];

		if (log == -1 || dup2(log, 1) == -1 || dup2(log, 2) == -1)
			_exit(126);
		/* dup2() onto itself would keep close-on-exec. */
		if (lfd == 3 ? fcntl(3, F_SETFD, 0) == -1 :
		    dup2(lfd, 3) == -1)
			_exit(126);
		snprintf(buf, sizeof(buf), "%ld", (long)getpid() +
		    (our_pid ? 0 : 1));
		setenv("LISTEN_PID", buf, 1);
		setenv("LISTEN_FDS", nfds, 1);
		setenv("LISTEN_FDNAMES", "acctd.socket", 1);
		setenv("NOTIFY_SOCKET", notify, 1);
		signal(SIGPIPE, SIG_DFL);
		execl(bin, bin, "-f", "-c", d->conf, "-s", d->sock, "-d",
		    d->db, (char *)NULL);
		_exit(127);
	}
}

static void
test_socket_activation(void **state)
{
	struct th_daemon *d = *state;
	char act[200], notify[200], msg[256];
	struct proto_reply rep;
	int lfd, nfd, st;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(act, sizeof(act), "%s/activated.sock", d->dir);
	snprintf(notify, sizeof(notify), "%s/notify", d->dir);
	assert_true((lfd = unix_socket(act, SOCK_STREAM)) != -1);
	assert_true((nfd = unix_socket(notify, SOCK_DGRAM)) != -1);

	d->pid = spawn_activated(d, lfd, "1", true, notify);
	assert_true(d->pid > 0);
	if (notify_recv(nfd, msg, sizeof(msg)) == -1) {
		th_print_log(d);
		fail_msg("no readiness notification");
	}
	assert_string_equal(msg, "READY=1");
	/* Served on the passed socket; its own path never made. */
	assert_int_equal(th_call(act, "hello", NULL, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	proto_reply_free(&rep);
	assert_int_equal(access(d->sock, F_OK), -1);
	assert_int_equal(th_add_user(act, "activated", NULL), ACCT_OK);

	/* SIGHUP: reloading, then ready again. */
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	assert_int_equal(notify_recv(nfd, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "RELOADING=1");
	assert_int_equal(notify_recv(nfd, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "READY=1");

	/* SIGTERM: stopping; systemd's socket file stays. */
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	assert_int_equal(notify_recv(nfd, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "STOPPING=1");
	st = th_wait_pid(d->pid, TH_WAIT_MS * 2);
	d->pid = 0;
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	{
		struct stat sb;

		assert_int_equal(lstat(act, &sb), 0);
		assert_true(S_ISSOCK(sb.st_mode));
	}
	close(lfd);
	close(nfd);
}

static void
test_activation_mismatch(void **state)
{
	struct th_daemon *d = *state;
	char act[200], notify[200], msg[256];
	int lfd, nfd, st;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(act, sizeof(act), "%s/activated.sock", d->dir);
	snprintf(notify, sizeof(notify), "%s/notify", d->dir);
	assert_true((lfd = unix_socket(act, SOCK_STREAM)) != -1);
	assert_true((nfd = unix_socket(notify, SOCK_DGRAM)) != -1);

	/* Two sockets where one is expected: refuse to start. */
	d->pid = spawn_activated(d, lfd, "2", true, notify);
	st = th_wait_pid(d->pid, TH_WAIT_MS);
	d->pid = 0;
	assert_true(st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0));
	assert_int_equal(th_wait_log(d, 0, "expected 1 socket", 1000), 0);

	/* LISTEN_PID of another process: not ours, ignored; acctd makes
	 * its own socket. */
	d->pid = spawn_activated(d, lfd, "1", false, notify);
	assert_int_equal(notify_recv(nfd, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "READY=1");
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
	assert_int_equal(th_stop(d), 0);
	close(lfd);
	close(nfd);
}

/* ---- files read by name: regular files only, never waited on ---- */

/* A template mailtext_check() accepts. */
#define TEMPLATE	"Hallo {name},\n\n{link}\n"

static void
put_file(const char *path, const char *text)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/*
 * acctd -t -c conf, killed if it has not finished in 10 s: a FIFO opened
 * with a blocking open() waits for a writer that never comes, and that
 * shows as timeout's status instead of acctd's 0 or 1. KILL, because
 * acctd blocks SIGTERM from the start.
 */
static int
acctd_t(const char *conf, struct th_result *r)
{
	const char *const argv[] = { "/usr/bin/timeout", "-s", "KILL", "10",
	    th_acctd_bin(), "-t", "-c", conf, NULL };

	assert_non_null(th_acctd_bin());
	return th_run_v(argv, NULL, NULL, NULL, r);
}

/* acctd -t exits 1 at once, its message holding want. */
static void
assert_t_refuses(const char *conf, const char *want)
{
	struct th_result r;

	acctd_t(conf, &r);
	if (r.status != 1 || !th_contains(r.err, want))
		fail_msg("acctd -t -c %s: status %d (1 wanted), stderr:\n%s\n"
		    "without '%s'", conf, r.status, r.err, want);
	th_result_free(&r);
}

/* Each thing that is not a regular file, put at path in turn; the
 * symbolic link names link_to, the device is /dev/zero through one. */
enum not_regular { NR_FIFO, NR_SOCKET, NR_DIR, NR_DEVICE, NR_SYMLINK,
	NR__COUNT };

static const char *const nr_names[NR__COUNT] = { "a FIFO", "a socket",
	"a directory", "a device", "a symbolic link" };

static int
put_not_regular(enum not_regular k, const char *path, const char *link_to)
{
	int fd;

	unlink(path);
	switch (k) {
	case NR_FIFO:
		return mkfifo(path, 0644);
	case NR_SOCKET:
		/* Closed, the socket file stays. */
		if ((fd = unix_socket(path, SOCK_STREAM)) == -1)
			return -1;
		close(fd);
		return 0;
	case NR_DIR:
		return mkdir(path, 0755);
	case NR_DEVICE:
		return symlink("/dev/zero", path) == -1 ? -1 : 0;
	case NR_SYMLINK:
	case NR__COUNT:
		break;
	}
	return symlink(link_to, path);
}

static void
remove_any(const char *path)
{
	if (unlink(path) == -1)
		rmdir(path);
}

/*
 * A mail template is a regular file, and only that: a FIFO (whose
 * open() would wait for a writer), a socket, a directory or a device
 * in its place is refused at once, naming it; so is a symbolic link,
 * even to a good template, as acctd.conf(5) says.
 */
static void
test_template_must_be_regular(void **state)
{
	struct th_daemon *d = *state;
	char tpl[160], real[160], extra[256], want[512];

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(tpl, sizeof(tpl), "%s/reset.txt", d->dir);
	snprintf(real, sizeof(real), "%s/real-reset.txt", d->dir);
	put_file(real, TEMPLATE);
	snprintf(extra, sizeof(extra), "reset_template = %s\n", tpl);
	assert_int_equal(th_write_config(d, extra), 0);
	for (int k = 0; k < NR__COUNT; k++) {
		if (put_not_regular(k, tpl, real) == -1)
			fail_msg("%s as %s: %s", tpl, nr_names[k],
			    strerror(errno));
		/* The device: /dev/zero through a link, which is refused
		 * as a link before it is looked at. */
		snprintf(want, sizeof(want), "reset_template %s: not a "
		    "regular file but %s", tpl, k == NR_DEVICE ?
		    "a symbolic link" : nr_names[k]);
		assert_t_refuses(d->conf, want);
		remove_any(tpl);
	}
	/* The device itself, by its own name. */
	snprintf(extra, sizeof(extra), "reset_template = /dev/zero\n");
	assert_int_equal(th_write_config(d, extra), 0);
	assert_t_refuses(d->conf, "/dev/zero: not a regular file but a "
	    "device");
	/* The real file is fine. */
	snprintf(extra, sizeof(extra), "reset_template = %s\n", real);
	assert_int_equal(th_write_config(d, extra), 0);
	{
		struct th_result r;

		assert_int_equal(acctd_t(d->conf, &r), 0);
		th_result_free(&r);
	}
}

/*
 * The same for acctd.conf, but for two things: a symbolic link is
 * followed (to a regular file), since /etc/acctd/acctd.conf is often
 * one; and /dev/null is an empty configuration.
 */
static void
test_config_must_be_regular(void **state)
{
	struct th_daemon *d = *state;
	char conf[160], want[512];
	struct th_result r;

	assert_int_equal(th_init(d, "lockout_failures = 7"), 0);
	snprintf(conf, sizeof(conf), "%s/link.conf", d->dir);
	for (int k = 0; k < NR__COUNT; k++) {
		if (put_not_regular(k, conf, d->conf) == -1)
			fail_msg("%s as %s: %s", conf, nr_names[k],
			    strerror(errno));
		if (k == NR_SYMLINK) {
			assert_int_equal(acctd_t(conf, &r), 0);
			assert_true(th_contains(r.out,
			    "lockout_failures = 7\n"));
			th_result_free(&r);
		} else {
			/* Through the link to /dev/zero: the device. */
			snprintf(want, sizeof(want), "%s: not a regular file "
			    "but %s", conf, nr_names[k]);
			assert_t_refuses(conf, want);
		}
		remove_any(conf);
	}
	/* A link is followed to what it names, and that is checked. */
	assert_int_equal(unlink(d->conf), 0);
	assert_int_equal(mkfifo(d->conf, 0644), 0);
	assert_int_equal(symlink(d->conf, conf), 0);
	snprintf(want, sizeof(want), "%s: not a regular file but a FIFO",
	    conf);
	assert_t_refuses(conf, want);
	/* /dev/null is an empty config, not refused as a device; -t may
	 * still refuse its default groups where they do not exist. */
	if (acctd_t("/dev/null", &r) == 0)
		assert_true(th_contains(r.out, "lockout_failures = 5\n"));
	else
		assert_true(th_contains(r.err, "an unknown group"));
	assert_false(th_contains(r.err, "not a regular file"));
	th_result_free(&r);
}

/*
 * SIGHUP with a FIFO in place of the template, then of acctd.conf: the
 * main thread, which also accepts connections, refuses it at once and
 * logs why; the configuration in force stays whole (a longer
 * password_min_length in the new file does not apply) and requests are
 * served.
 */
static void
test_reload_refuses_fifos(void **state)
{
	struct th_daemon *d = *state;
	char tpl[160], aside[160], extra[256], want[512];
	size_t off;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(tpl, sizeof(tpl), "%s/reset.txt", d->dir);
	snprintf(aside, sizeof(aside), "%s/aside.conf", d->dir);
	put_file(tpl, TEMPLATE);
	snprintf(extra, sizeof(extra), "reset_template = %s\n", tpl);
	assert_int_equal(th_write_config(d, extra), 0);
	assert_int_equal(th_start(d), 0);

	/* The template. */
	snprintf(extra, sizeof(extra), "reset_template = %s\n"
	    "password_min_length = 40\n", tpl);
	assert_int_equal(th_write_config(d, extra), 0);
	assert_int_equal(unlink(tpl), 0);
	assert_int_equal(mkfifo(tpl, 0644), 0);
	off = th_log_size(d);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "reset_template %s: not a regular file "
	    "but a FIFO", tpl);
	if (th_wait_log(d, off, want, TH_WAIT_MS) != 0) {
		th_print_log(d);
		fail_msg("no '%s' in the log", want);
	}
	snprintf(want, sizeof(want), "keeping the old configuration: %s:",
	    d->conf);
	assert_int_equal(th_wait_log(d, off, want, 0), 0);
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "short", "short-pw-1"),
	    ACCT_OK);

	/* acctd.conf itself. */
	assert_int_equal(rename(d->conf, aside), 0);
	assert_int_equal(mkfifo(d->conf, 0644), 0);
	off = th_log_size(d);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "keeping the old configuration: %s: "
	    "not a regular file but a FIFO", d->conf);
	if (th_wait_log(d, off, want, TH_WAIT_MS) != 0) {
		th_print_log(d);
		fail_msg("no '%s' in the log", want);
	}
	assert_int_equal(th_add_user(d->sock, "short2", "short-pw-2"),
	    ACCT_OK);

	/* Both regular again: the new file is read, its length applies. */
	assert_int_equal(unlink(d->conf), 0);
	assert_int_equal(rename(aside, d->conf), 0);
	assert_int_equal(unlink(tpl), 0);
	put_file(tpl, TEMPLATE);
	off = th_log_size(d);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	assert_int_equal(th_wait_log(d, off, "configuration reloaded",
	    TH_WAIT_MS), 0);
	assert_int_equal(th_add_user(d->sock, "short3", "short-pw-3"),
	    ACCT_ERR_POLICY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_created_modes,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unsafe_db_dir,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_unsafe_db_file,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_refuses_socket_symlink,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_socket_dir_mode,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_socket_activation,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_activation_mismatch,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_template_must_be_regular,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_config_must_be_regular,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_reload_refuses_fifos,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
