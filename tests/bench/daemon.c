/*
 * daemon.c: start and stop a real acctd on a temporary socket and
 * database, and read its memory figures from /proc.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define START_WAIT_S	60
#define STOP_WAIT_S	60

const char *bench_acctd;

int
bd_init(struct bd *d)
{
	memset(d, 0, sizeof(*d));
	d->cpu = -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/acctd-bench.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		bench_log("mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(d->conf, sizeof(d->conf), "%s/acctd.conf", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);
	snprintf(d->db, sizeof(d->db), "%s/db/acctd.db", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/acctd.log", d->dir);
	return bd_config(d, NULL);
}

/*
 * Defaults throughout, but our own group is the admin group, and one
 * uid may hold 1000 connections: every client here is ours, and the
 * per-uid cap holds for admins too.
 */
int
bd_config(const struct bd *d, const char *extra)
{
	FILE *f;

	if ((f = fopen(d->conf, "w")) == NULL) {
		bench_log("%s: %s", d->conf, strerror(errno));
		return -1;
	}
	fprintf(f, "admin_group = %u\nauth_group = %u\n"
	    "max_connections_per_uid = 1000\n%s",
	    (unsigned)getegid(), (unsigned)getegid(), extra ? extra : "");
	return fclose(f) == 0 ? 0 : -1;
}

static bool
answers(const char *path)
{
	int fd = wire_connect(path);

	if (fd == -1)
		return false;
	close(fd);
	return true;
}

static void
exec_acctd(const struct bd *d)
{
	int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd == -1 || dup2(fd, 2) == -1)
		_exit(127);
	fd = open("/dev/null", O_RDWR);
	dup2(fd, 0);
	dup2(fd, 1);
	bench_pin(d->cpu);	/* every thread of acctd inherits it */
	execl(bench_acctd, "acctd", "-f", "-c", d->conf, "-s", d->sock,
	    "-d", d->db, (char *)NULL);
	_exit(127);
}

int
bd_start(struct bd *d)
{
	double until = now_s() + START_WAIT_S;
	int st;

	if ((d->pid = fork()) == -1)
		return -1;
	if (d->pid == 0)
		exec_acctd(d);
	while (now_s() < until) {
		if (answers(d->sock))
			return 0;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			bench_log("acctd exited at start; see %s", d->log);
			d->pid = 0;
			return -1;
		}
		usleep(10 * 1000);
	}
	bench_log("acctd did not answer within %d s", START_WAIT_S);
	return -1;
}

int
bd_stop(struct bd *d)
{
	double until = now_s() + STOP_WAIT_S;
	int st;

	if (d->pid <= 0)
		return 0;
	kill(d->pid, SIGTERM);
	while (waitpid(d->pid, &st, WNOHANG) != d->pid) {
		if (now_s() > until) {
			bench_log("acctd did not stop within %d s", STOP_WAIT_S);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			d->pid = 0;
			return -1;
		}
		usleep(10 * 1000);
	}
	d->pid = 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	bench_log("acctd did not exit cleanly (status %#x); see %s", st,
	    d->log);
	return -1;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
bd_cleanup(struct bd *d)
{
	if (d->pid > 0)
		bd_stop(d);
	if (d->dir[0] != '\0' && getenv("BENCH_KEEP") != NULL)
		bench_log("kept %s", d->dir);
	else if (d->dir[0] != '\0')
		nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

/* A "Key:   123 kB" line of /proc/PID/status, in KiB; -1 if absent. */
long
bd_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

void
bench_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (unsigned i = 0; i < bd_workers(); i++)
		if (cpu < 0 || (unsigned)cpu == i)
			CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

unsigned
bd_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}
