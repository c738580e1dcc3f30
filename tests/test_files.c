/*
 * test_files.c: files acctd creates and trusts (SPEC 10): safe
 * modes, refusal of unsafe ownership, modes and symlinks with a clear
 * message, and systemd's socket activation and readiness protocol.
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
		cmocka_unit_test_setup_teardown(test_socket_activation,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_activation_mismatch,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
