/*
 * fair.c: what one local user's flood costs a service, and what a failed
 * login costs whatever the account's hash: the figures of the fair hash
 * pool and of the padding of failures (acctd/hash.c, credential.c).
 */
#include <sys/wait.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crypt.h>

#include "bench.h"

#define AUTH_GID	4243	/* the service's group in this part */
#define SERVICE_UID	1	/* "daemon": the service */
#define OTHER_UID	2	/* "bin": another service */
#define FLOOD_UID	65534	/* "nobody": the local user */
#define FLOODERS	4	/* its connections */
#define LOGINS		15	/* timed, one after another */
#define FAILURES	9	/* timed, per kind of account */

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

/* One request on a new connection; its reply code, or -1. */
static int
call(const char *sock, const char *op, struct proto_msg *args)
{
	struct proto_frame f;
	struct wbuf w = { 0 };
	int fd, rc = -1;

	if ((fd = wire_connect(sock)) == -1)
		return -1;
	if (wire_request(op, args, &f) == ACCT_OK) {
		if (wire_call(fd, &f, &w) == 0)
			rc = wire_code(&w);
		proto_frame_free(&f);
	}
	wbuf_free(&w);
	close(fd);
	return rc;
}

/* Seconds one login takes; its code in *code. */
static double
timed_login(const char *sock, const char *user, const char *pw,
    const char *addr, int *code)
{
	struct proto_msg m;
	double t0;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	proto_kv_str(&m, "service", "bench");
	proto_kv_str(&m, "remote_addr", addr);
	t0 = now_s();
	*code = call(sock, "login", &m);
	t0 = now_s() - t0;
	proto_msg_free(&m);
	return t0;
}

static int
become(uid_t uid, const gid_t *groups, int ngroups)
{
	return setgroups((size_t)ngroups, groups) == 0 &&
	    setgid(uid) == 0 && setuid(uid) == 0 ? 0 : -1;
}

/* The local user: passwd on its own account, a wrong password, forever. */
static pid_t
flooder(const char *sock)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (become(FLOOD_UID, NULL, 0) == -1)
		_exit(1);
	for (;;) {
		struct proto_msg m;

		proto_msg_init(&m);
		proto_kv_str(&m, "password", "not the password");
		proto_kv_str(&m, "new_password", "never to be set");
		(void)call(sock, "passwd", &m);
		proto_msg_free(&m);
	}
}

/* Another service, logging in one of its users without a pause: what
 * the machine itself costs a login when both cores hash. */
static pid_t
competitor(const char *sock)
{
	static const gid_t groups[] = { AUTH_GID };
	pid_t pid = fork();
	char user[16];
	int code;

	if (pid != 0)
		return pid;
	if (become(OTHER_UID, groups, 1) == -1)
		_exit(1);
	seed_username(3, user);
	for (;;)
		(void)timed_login(sock, user, BENCH_PASSWORD, "198.51.100.2",
		    &code);
}

static void
stop_all(pid_t *kids, int n)
{
	for (int i = 0; i < n; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
}

/* The service: LOGINS logins of a seeded account; the median out. */
static int
service(const char *sock, double *med, int *errors)
{
	static const gid_t groups[] = { AUTH_GID };
	int p[2], n = 0;
	double t[LOGINS];
	pid_t pid;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		char user[16];
		int code, bad = 0;

		close(p[0]);
		if (become(SERVICE_UID, groups, 1) == -1)
			_exit(1);
		seed_username(1, user);
		for (int i = 0; i < LOGINS; i++) {
			t[i] = timed_login(sock, user, BENCH_PASSWORD,
			    "198.51.100.1", &code);
			bad += code != ACCT_OK;
		}
		t[0] = median(t, LOGINS);
		if (write(p[1], t, sizeof(t[0])) != sizeof(t[0]) ||
		    write(p[1], &bad, sizeof(bad)) != sizeof(bad))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = (int)read(p[0], med, sizeof(*med));
	n += (int)read(p[0], errors, sizeof(*errors));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return n == (int)(sizeof(*med) + sizeof(*errors)) ? 0 : -1;
}

/*
 * The service's login latency while a local user floods, against the
 * same while another service keeps the other core hashing: the pool
 * gives the flooder no more than a fair share of the workers, so the
 * two should be alike (idle, for scale, in the notes).
 */
static int
flood_row(const struct bd *d)
{
	pid_t kids[FLOODERS], other;
	double idle, busy, shared;
	int e1, e2, e3;

	if (service(d->sock, &idle, &e1) == -1)
		return -1;
	other = competitor(d->sock);
	usleep(300 * 1000);
	e2 = service(d->sock, &shared, &e2) == -1 ? -1 : e2;
	stop_all(&other, 1);
	for (int i = 0; i < FLOODERS; i++)
		kids[i] = flooder(d->sock);
	usleep(300 * 1000);
	e3 = service(d->sock, &busy, &e3) == -1 ? -1 : e3;
	stop_all(kids, FLOODERS);
	if (e2 < 0 || e3 < 0)
		return -1;
	table_row("service login, a local user flooding", busy,
	    "the same, another service busy", shared, "ms", "<= 1.25",
	    busy <= 1.25 * shared);
	table_note("fair pool: %d logins of an authenticator (uid %d) one "
	    "after another: %.1f ms idle; %.1f ms while another service "
	    "(uid %d) logs in without a pause; %.1f ms while uid %d runs "
	    "passwd with wrong passwords on %d connections; %d failed",
	    LOGINS, SERVICE_UID, idle * 1e3, shared * 1e3, OTHER_UID,
	    busy * 1e3, FLOOD_UID, FLOODERS, e1 + e2 + e3);
	return e1 + e2 + e3 ? -1 : 0;
}

/* A crypt(3) hash of BENCH_PASSWORD in the scheme of prefix. */
static char *
crypt_hash(const char *prefix, unsigned long cost)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	if (crypt_gensalt_rn(prefix, cost, NULL, 0, setting,
	    sizeof(setting)) == NULL ||
	    (h = crypt_r(BENCH_PASSWORD, setting, &cd)) == NULL || h[0] != '$')
		return NULL;
	return strdup(h);
}

static int
import(const char *sock, const char *bc, const char *sx)
{
	struct proto_msg m;
	char data[512];
	int rc;

	snprintf(data, sizeof(data), "legacy-bcrypt:%s\nlegacy-sha512:%s\n",
	    bc, sx);
	proto_msg_init(&m);
	proto_kv_str(&m, "data", data);
	rc = call(sock, "user_import", &m);
	proto_msg_free(&m);
	return rc;
}

static int
failure_rows(const struct bd *d)
{
	/* The first is the floor: an account with a current hash. */
	static const char *const kinds[][2] = {
		{ "failed login, Argon2id account", NULL },
		{ "failed login, unknown account", "no-such-account" },
		{ "failed login, bcrypt cost 10", "legacy-bcrypt" },
		{ "failed login, sha512-crypt", "legacy-sha512" },
	};
	enum { NKINDS = sizeof(kinds) / sizeof(kinds[0]) };
	char *bc = crypt_hash("$2b$", 10), *sx = crypt_hash("$6$", 5000);
	double t[NKINDS][FAILURES];
	char user[16], addr[32];
	int errors = 0, code;

	seed_username(2, user);
	if (bc == NULL || sx == NULL || import(d->sock, bc, sx) != ACCT_OK) {
		free(bc);
		free(sx);
		return -1;
	}
	free(bc);
	free(sx);
	/* Round by round, so that drift in the machine's load falls on
	 * every kind alike. */
	for (int i = 0; i < FAILURES; i++)
		for (int k = 0; k < NKINDS; k++) {
			snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
			t[k][i] = timed_login(d->sock, kinds[k][1] ?
			    kinds[k][1] : user, "not the password", addr,
			    &code);
			errors += code != ACCT_ERR_AUTH_FAILED;
		}
	for (int k = 1; k < NKINDS; k++) {
		double v = median(t[k], FAILURES), fl = median(t[0], FAILURES);

		table_row(kinds[k][0], v, kinds[0][0], fl, "ms", "0.9 to 1.1",
		    v >= 0.9 * fl && v <= 1.1 * fl);
	}
	table_note("failure cost: median of %d wrong passwords per kind of "
	    "account, in rounds over the kinds, each from its own address, "
	    "lockout off; %d unexpected answers", FAILURES, errors);
	return errors ? -1 : 0;
}

int
fair_rows(struct bd *d)
{
	int rc;

	if (bd_config(d, "auth_group = 4243\nlockout_failures = 100\n") ==
	    -1 || bd_start(d) == -1)
		return -1;
	rc = flood_row(d);
	if (rc == 0)
		rc = failure_rows(d);
	return bd_stop(d) == 0 ? rc : -1;
}
