/*
 * harness.c: runs the real acctd and acctc for the integration tests,
 * talks raw frames to the daemon, and runs code as other uids/gids.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "../common/io.h"
#include "../acctd/acctd.h"
#include "harness.h"

#define TH_MAX_ARGS	64

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

bool
th_contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

bool
th_is_root(void)
{
	return geteuid() == 0;
}

/* ---- the daemon ---- */

const char *
th_acctd_bin(void)
{
	const char *b = getenv("ACCTD_BIN");

	if (b == NULL || *b == '\0' || access(b, X_OK) == -1) {
		fprintf(stderr, "harness: ACCTD_BIN (%s) is not an executable: "
		    "set it to the absolute path of the acctd under test\n",
		    b ? b : "unset");
		return NULL;
	}
	return b;
}

const char *
th_acctc_bin(void)
{
	const char *b = getenv("ACCTC_BIN");

	if (b == NULL || *b == '\0' || access(b, X_OK) == -1)
		return NULL;
	return b;
}

int
th_write_file(const char *path, const char *text, mode_t mode)
{
	int fd;
	size_t len = strlen(text);

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1)
		return -1;
	if (io_write_all(fd, text, len) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
th_write_config(const struct th_daemon *d, const char *extra)
{
	char text[8192];
	int n;

	n = snprintf(text, sizeof(text),
	    "# written by tests/harness.c\n"
	    "argon2_memory_kib = 64\n"
	    "argon2_time = 1\n"
	    "hash_workers = 2\n"
	    "admin_group = %u\n"
	    "auth_group = %u\n"
	    "log_level = debug\n"
	    "%s%s",
	    (unsigned)d->admin_gid, (unsigned)d->auth_gid,
	    extra ? extra : "", extra && *extra &&
	    extra[strlen(extra) - 1] != '\n' ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return th_write_file(d->conf, text, 0644);
}

int
th_init(struct th_daemon *d, const char *extra)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->dir, "/tmp/acctd-test.XXXXXX");
	if (mkdtemp(d->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		d->dir[0] = '\0';
		return -1;
	}
	/* Other uids must reach the socket inside. */
	if (chmod(d->dir, 0755) == -1)
		return -1;
	snprintf(d->conf, sizeof(d->conf), "%s/acctd.conf", d->dir);
	snprintf(d->sock, sizeof(d->sock), "%s/sock", d->dir);
	snprintf(d->db, sizeof(d->db), "%s/db/acctd.db", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/acctd.log", d->dir);
	/* Not root: make our own gid the admin group, so tests can admin. */
	d->admin_gid = th_is_root() ? TH_ADMIN_GID : getegid();
	d->auth_gid = TH_AUTH_GID;
	return th_write_config(d, extra);
}

pid_t
th_spawn(const struct th_daemon *d)
{
	const char *bin = th_acctd_bin();
	pid_t pid;
	int fd, nul;

	if (bin == NULL)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid > 0)
		return pid;
	fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd == -1 || nul == -1 || dup2(nul, 0) == -1 ||
	    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	execl(bin, bin, "-f", "-c", d->conf, "-s", d->sock, "-d", d->db,
	    (char *)NULL);
	dprintf(2, "harness: exec %s: %s\n", bin, strerror(errno));
	_exit(127);
}

int
th_wait_pid(pid_t pid, int ms)
{
	int64_t until = mono_ms() + ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -1;
		if (mono_ms() >= until)
			return -1;
		nap_ms(5);
	}
}

static int
exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static int
can_connect(const char *sock)
{
	int fd = th_connect(sock);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

int
th_start(struct th_daemon *d)
{
	int64_t until;

	if ((d->pid = th_spawn(d)) == -1) {
		d->pid = 0;
		return -1;
	}
	until = mono_ms() + TH_WAIT_MS;
	for (;;) {
		int st;
		pid_t r = waitpid(d->pid, &st, WNOHANG);

		if (r == d->pid) {
			fprintf(stderr, "harness: acctd exited during start-up "
			    "(status %d)\n", exit_code(st));
			d->pid = 0;
			th_print_log(d);
			return -1;
		}
		if (can_connect(d->sock))
			return 0;
		if (mono_ms() >= until) {
			fprintf(stderr, "harness: acctd did not accept on %s "
			    "within %d ms\n", d->sock, TH_WAIT_MS);
			th_print_log(d);
			th_kill9(d);
			return -1;
		}
		nap_ms(5);
	}
}

int
th_up(struct th_daemon *d, const char *extra)
{
	if (th_init(d, extra) == -1) {
		fprintf(stderr, "harness: cannot set up %s: %s\n", d->dir,
		    strerror(errno));
		return -1;
	}
	return th_start(d);
}

int
th_stop(struct th_daemon *d)
{
	int st, code;

	if (d->pid <= 0)
		return -1;
	if (kill(d->pid, SIGTERM) == -1)
		return -1;
	if ((st = th_wait_pid(d->pid, TH_WAIT_MS * 2)) == -1) {
		fprintf(stderr, "harness: acctd did not stop after SIGTERM\n");
		th_print_log(d);
		th_kill9(d);
		return -1;
	}
	d->pid = 0;
	code = exit_code(st);
	if (code != 0) {
		fprintf(stderr, "harness: acctd exited with status %d\n", code);
		th_print_log(d);
	}
	return code;
}

void
th_kill9(struct th_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, NULL, 0) == -1 && errno == EINTR)
		;
	d->pid = 0;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
th_cleanup(struct th_daemon *d)
{
	th_kill9(d);
	if (d->dir[0] != '\0' && getenv("ACCT_TEST_KEEP") == NULL)
		nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}

static char *
read_all(int fd, size_t *lenp)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t n;

	if (buf == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
th_read_log(const struct th_daemon *d)
{
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd == -1)
		return NULL;
	s = read_all(fd, NULL);
	close(fd);
	return s;
}

size_t
th_log_size(const struct th_daemon *d)
{
	struct stat sb;

	return stat(d->log, &sb) == 0 ? (size_t)sb.st_size : 0;
}

int
th_wait_log(const struct th_daemon *d, size_t offset, const char *needle,
    int ms)
{
	int64_t until = mono_ms() + ms;

	for (;;) {
		char *s = th_read_log(d);
		bool found = s != NULL && strlen(s) >= offset &&
		    strstr(s + offset, needle) != NULL;

		free(s);
		if (found)
			return 0;
		if (mono_ms() >= until)
			return -1;
		nap_ms(10);
	}
}

void
th_print_log(const struct th_daemon *d)
{
	char *s = th_read_log(d);

	fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", d->log,
	    s ? s : "(unreadable)\n");
	free(s);
}

int
th_setup(void **state)
{
	struct th_daemon *d = calloc(1, sizeof(*d));

	signal(SIGPIPE, SIG_IGN);
	if (d == NULL)
		return -1;
	if (th_up(d, NULL) == -1) {
		th_cleanup(d);
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

int
th_setup_lazy(void **state)
{
	signal(SIGPIPE, SIG_IGN);
	return (*state = calloc(1, sizeof(struct th_daemon))) ? 0 : -1;
}

int
th_teardown(void **state)
{
	struct th_daemon *d = *state;
	int rc;

	th_free_all();
	if (d == NULL)
		return 0;
	rc = d->pid > 0 ? th_stop(d) : 0;
	th_cleanup(d);
	free(d);
	*state = NULL;
	return rc == 0 ? 0 : -1;
}

/* ---- memory that outlives a failed assertion ---- */

static void	**kept;
static size_t	  nkept, capkept;

void *
th_keep(void *p)
{
	if (p == NULL)
		return NULL;
	if (nkept == capkept) {
		size_t cap = capkept ? capkept * 2 : 32;
		void **n = realloc(kept, cap * sizeof(*kept));
		if (n == NULL)
			return p;	/* a leak on failure, no worse */
		kept = n;
		capkept = cap;
	}
	kept[nkept++] = p;
	return p;
}

void
th_free(void *p)
{
	for (size_t i = nkept; i-- > 0;)
		if (kept[i] == p) {
			kept[i] = kept[--nkept];
			break;
		}
	free(p);
}

void
th_free_all(void)
{
	while (nkept > 0)
		free(kept[--nkept]);
	free(kept);
	kept = NULL;
	capkept = 0;
}

/* ---- other identities ---- */

static int
take_cred(const struct th_cred *c)
{
	if (setgroups((size_t)c->ngroups, c->groups) == -1 ||
	    setgid(c->gid) == -1 || setuid(c->uid) == -1)
		return -1;
	/* Check it took: no way back to root. */
	if (c->uid != 0 && (setuid(0) == 0 || geteuid() != c->uid))
		return -1;
	return 0;
}

int
th_as_start(const struct th_cred *cred, th_fn *fn, void *arg,
    struct th_child *c)
{
	int p[2];

	c->pid = -1;
	c->fd = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((c->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (c->pid == 0) {
		FILE *out;
		int rc;

		close(p[0]);
		/* A hung daemon must not hang the test: die, be reported. */
		alarm(TH_WAIT_MS / 1000);
		if ((out = fdopen(p[1], "w")) == NULL)
			_exit(250);
		if (cred != NULL && take_cred(cred) == -1) {
			fprintf(stderr, "harness: cannot become uid %u gid %u: "
			    "%s\n", (unsigned)cred->uid, (unsigned)cred->gid,
			    strerror(errno));
			_exit(251);
		}
		rc = fn(arg, out);
		fclose(out);
		_exit(rc & 0xff);
	}
	close(p[1]);
	c->fd = p[0];
	return 0;
}

int
th_as_wait(struct th_child *c, char *buf, size_t bufsz)
{
	size_t len = 0;
	char *s;
	int st;

	if (buf != NULL && bufsz > 0)
		buf[0] = '\0';
	if (c->pid <= 0)
		return -1;
	s = read_all(c->fd, &len);
	if (buf != NULL && bufsz > 0 && s != NULL) {
		size_t n = len < bufsz - 1 ? len : bufsz - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
	}
	free(s);
	close(c->fd);
	while (waitpid(c->pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	c->pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 250 ||
	    WEXITSTATUS(st) == 251)
		return -1;
	return WEXITSTATUS(st);
}

int
th_as(const struct th_cred *cred, th_fn *fn, void *arg, char *buf,
    size_t bufsz)
{
	struct th_child c;

	if (buf != NULL && bufsz > 0)
		buf[0] = '\0';
	if (th_as_start(cred, fn, arg, &c) == -1)
		return -1;
	return th_as_wait(&c, buf, bufsz);
}

/*
 * In the child: send the request, write "code message" to out, return
 * the reply code (or the local error, 100+).
 */
static int
do_req(void *p, FILE *out)
{
	struct th_req *r = p;
	struct proto_msg m;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&m);
	for (size_t i = 0; i < TH_REQ_ARGS && r->a[i].key != NULL; i++) {
		const struct th_arg *a = &r->a[i];

		if (a->type == 's')
			proto_kv_str(&m, a->key, a->s);
		else if (a->type == 'b')
			proto_kv_bool(&m, a->key, a->i != 0);
		else
			proto_kv_int(&m, a->key, a->i);
	}
	rc = th_call(r->sock, r->op, &m, &rep);
	proto_msg_free(&m);
	if (rc == ACCT_OK)
		rc = rep.code;
	fprintf(out, "%d %s", rc, rep.message);
	proto_reply_free(&rep);
	return rc;
}

int
th_req_start(const struct th_cred *cred, struct th_req *r,
    struct th_child *c)
{
	return th_as_start(cred, do_req, r, c);
}

int
th_req_wait(struct th_child *c, char *msg, size_t msgsz)
{
	return th_as_wait(c, msg, msgsz);
}

int
th_req_as(const struct th_cred *cred, struct th_req *r, char *msg,
    size_t msgsz)
{
	return th_as(cred, do_req, r, msg, msgsz);
}

unsigned
th_seed(void)
{
	const char *s = getenv("ACCT_SEED");

	if (s != NULL && *s != '\0')
		return (unsigned)strtoul(s, NULL, 10);
	return (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
}

uint64_t
th_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The code of a TOTP secret (base32) at offset steps from now. */
void
th_totp_code(const char *secret, int offset, char out[8])
{
	uint8_t key[64];
	int n = totp_unbase32(secret, key, sizeof(key));

	snprintf(out, 8, "%06u", n <= 0 ? 0 : totp_hotp(TOTP_SHA1, key,
	    (size_t)n, (uint64_t)(time(NULL) / TOTP_PERIOD + offset),
	    TOTP_DIGITS));
}

/* ---- acctc ---- */

void
th_result_free(struct th_result *r)
{
	th_free(r->out);
	th_free(r->err);
	r->out = r->err = NULL;
}

static char *
slurp_tmp(FILE *f)
{
	char *s;

	fflush(f);
	if (lseek(fileno(f), 0, SEEK_SET) == -1)
		return th_keep(strdup(""));
	s = read_all(fileno(f), NULL);
	return th_keep(s ? s : strdup(""));
}

/* NAME=VALUE strings for the next acctc runs, from th_acctc_env(). */
static char	*extra_env[8];
static size_t	 nextra_env;

void
th_acctc_env(const char *assignment)
{
	if (assignment == NULL) {
		while (nextra_env > 0)
			free(extra_env[--nextra_env]);
		return;
	}
	if (nextra_env < sizeof(extra_env) / sizeof(extra_env[0]))
		extra_env[nextra_env++] = strdup(assignment);
}

int
th_run_v(const char *const *argv, const struct th_cred *cred,
    const char *stdin_text, const char *const *env, struct th_result *r)
{
	FILE *in = NULL, *out = NULL, *err = NULL;
	pid_t pid;
	int st;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if ((out = tmpfile()) == NULL || (err = tmpfile()) == NULL)
		goto fail;
	if (stdin_text != NULL) {
		if ((in = tmpfile()) == NULL ||
		    fputs(stdin_text, in) == EOF || fflush(in) == EOF ||
		    lseek(fileno(in), 0, SEEK_SET) == -1)
			goto fail;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0) {
		int infd = in ? fileno(in) : open("/dev/null", O_RDONLY);

		if (infd == -1 || dup2(infd, 0) == -1 ||
		    dup2(fileno(out), 1) == -1 || dup2(fileno(err), 2) == -1)
			_exit(126);
		/* No controlling terminal: nothing may prompt on one. */
		(void)setsid();
		for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
			if (strchr(env[i], '=') != NULL)
				putenv((char *)(uintptr_t)env[i]);
			else
				unsetenv(env[i]);
		}
		signal(SIGPIPE, SIG_DFL);
		if (cred != NULL && take_cred(cred) == -1) {
			dprintf(2, "harness: cannot become uid %u: %s\n",
			    (unsigned)cred->uid, strerror(errno));
			_exit(126);
		}
		execv(argv[0], (char *const *)(uintptr_t)argv);
		dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if ((st = th_wait_pid(pid, TH_WAIT_MS)) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r->status = -1;
		fprintf(stderr, "harness: %s did not finish in %d ms\n",
		    argv[0], TH_WAIT_MS);
	} else
		r->status = exit_code(st);
	r->out = slurp_tmp(out);
	r->err = slurp_tmp(err);
	if (in)
		fclose(in);
	fclose(out);
	fclose(err);
	return r->status;
fail:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	r->out = th_keep(strdup(""));
	r->err = th_keep(strdup("harness: cannot run the program"));
	return -1;
}

int
th_acctc_v(const char *sock, const struct th_cred *cred,
    const char *stdin_text, const char *const *args, struct th_result *r)
{
	const char *bin = th_acctc_bin();
	const char *argv[TH_MAX_ARGS + 4];
	const char *env[4 + sizeof(extra_env) / sizeof(extra_env[0])];
	char uid[48];
	size_t n = 0, e = 0;

	if (bin == NULL) {
		memset(r, 0, sizeof(*r));
		r->status = -1;
		r->out = th_keep(strdup(""));
		r->err = th_keep(strdup("harness: ACCTC_BIN unset or not "
		    "executable"));
		return -1;
	}
	argv[n++] = bin;
	if (sock != NULL) {
		argv[n++] = "--socket";
		argv[n++] = sock;
	}
	for (size_t i = 0; args[i] != NULL && n < TH_MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	env[e++] = "ACCTC_SOCKET";
	/* A test daemon not run as root runs as we do. */
	snprintf(uid, sizeof(uid), "ACCTC_SERVER_UID=%u", (unsigned)geteuid());
	env[e++] = geteuid() != 0 ? uid : "ACCTC_SERVER_UID";
	for (size_t i = 0; i < nextra_env; i++)
		env[e++] = extra_env[i];
	env[e] = NULL;
	return th_run_v(argv, cred, stdin_text, env, r);
}

static int
acctc_va(const struct th_daemon *d, const struct th_cred *cred,
    const char *stdin_text, struct th_result *r, va_list ap)
{
	const char *args[TH_MAX_ARGS + 1];
	const char *a;
	size_t n = 0;

	while ((a = va_arg(ap, const char *)) != NULL && n < TH_MAX_ARGS)
		args[n++] = a;
	args[n] = NULL;
	return th_acctc_v(d->sock, cred, stdin_text, args, r);
}

int
th_acctc(const struct th_daemon *d, const char *stdin_text,
    struct th_result *r, ...)
{
	va_list ap;
	int rc;

	va_start(ap, r);
	rc = acctc_va(d, NULL, stdin_text, r, ap);
	va_end(ap);
	return rc;
}

int
th_acctc_as(const struct th_daemon *d, const struct th_cred *cred,
    const char *stdin_text, struct th_result *r, ...)
{
	va_list ap;
	int rc;

	va_start(ap, r);
	rc = acctc_va(d, cred, stdin_text, r, ap);
	va_end(ap);
	return rc;
}

/* ---- raw frames ---- */

int
th_connect(const char *sock)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(sock) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* In the child of th_connect_as(): connect, pass the fd up the pipe. */
static int
connect_and_pass(void *arg, FILE *out)
{
	const void *const *a = arg;
	const char *sock = a[0];
	int up = *(const int *)a[1], fd = th_connect(sock);
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'f';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	(void)out;
	if (fd == -1)
		return 1;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(up, &mh, 0) == 1 ? 0 : 1;
}

int
th_connect_as(const struct th_cred *cred, const char *sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	const void *arg[2];
	int sv[2], fd = -1;

	if (cred == NULL)
		return th_connect(sock);
	/* The credentials are the connecting process's, taken at
	 * connect(2): they stay with the socket after the child exits. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	arg[0] = sock;
	arg[1] = &sv[1];
	if (th_as(cred, connect_and_pass, arg, NULL, 0) == 0 &&
	    recvmsg(sv[0], &mh, MSG_CMSG_CLOEXEC) == 1 &&
	    (cm = CMSG_FIRSTHDR(&mh)) != NULL &&
	    cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	close(sv[0]);
	close(sv[1]);
	return fd;
}

int
th_send(int fd, const void *buf, size_t len)
{
	return io_write_all(fd, buf, len);
}

int
th_send_frame(int fd, const void *payload, size_t len)
{
	uint8_t hdr[PROTO_HDR_LEN];

	proto_put_len(hdr, (uint32_t)len);
	if (io_write_all(fd, hdr, sizeof(hdr)) == -1)
		return -1;
	return len ? io_write_all(fd, payload, len) : 0;
}

int
th_send_request(int fd, uint64_t id, const char *op, struct proto_msg *args)
{
	struct proto_msg none;
	struct proto_frame f;
	int rc;

	if (args == NULL) {
		proto_msg_init(&none);
		args = &none;
	}
	rc = proto_request_finish(args, id, op, &f);
	if (args == &none)
		proto_msg_free(&none);
	if (rc != ACCT_OK)
		return -1;
	rc = io_write_all(fd, f.data, f.len);
	proto_frame_free(&f);
	return rc;
}

/* Read exactly len bytes by the deadline: TH_REPLY(0), or a th_recv code. */
static int
recv_full(int fd, uint8_t *buf, size_t len, int64_t until, bool first)
{
	size_t got = 0;

	while (got < len) {
		int64_t left = until - mono_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return TH_TIMEOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && (errno == ECONNRESET ||
		    errno == EPIPE)))
			return first && got == 0 ? TH_EOF : TH_MALFORMED;
		if (n < 0)
			return TH_ERROR;
		got += (size_t)n;
	}
	return TH_REPLY;
}

int
th_recv(int fd, int ms, struct proto_reply *rep)
{
	int64_t until = mono_ms() + ms;
	uint8_t hdr[PROTO_HDR_LEN], *buf;
	uint32_t len;
	int rc;

	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
	if ((rc = recv_full(fd, hdr, sizeof(hdr), until, true)) != TH_REPLY)
		return rc;
	len = proto_get_len(hdr);
	if (len == 0 || len > PROTO_MAX_REPLY)
		return TH_MALFORMED;
	if ((buf = malloc(len)) == NULL)
		return TH_ERROR;
	if ((rc = recv_full(fd, buf, len, until, false)) != TH_REPLY) {
		free(buf);
		return rc;
	}
	if (proto_reply_decode(buf, len, rep) != ACCT_OK)
		return TH_MALFORMED;
	return TH_REPLY;
}

int
th_wait_closed(int fd, int ms)
{
	int64_t until = mono_ms() + ms;
	uint8_t buf[4096];

	for (;;) {
		int64_t left = until - mono_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
	}
}

/* ---- requests ---- */

/* An operation the schema does not know, sent as the wire would have it. */
static int
call_raw(const char *sock, const char *op, struct proto_msg *args,
    struct proto_reply *rep)
{
	int fd = th_connect(sock), rc;

	if (fd == -1)
		return ACCT_ERR_CONNECT;
	rc = th_send_request(fd, 1, op, args) == -1 ? ACCT_ERR_IO :
	    th_recv(fd, TH_WAIT_MS, rep) == TH_REPLY ? ACCT_OK : ACCT_ERR_IO;
	close(fd);
	return rc;
}

static bool	trust_set;
static uid_t	trusted;

void
th_trust_server(uid_t uid)
{
	trust_set = true;
	trusted = uid;
}

int
th_call(const char *sock, const char *op, struct proto_msg *args,
    struct proto_reply *rep)
{
	struct acct_conn *c;
	int rc, o = proto_op_lookup(op, strlen(op));

	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
	rep->code = ACCT_ERR_CONNECT;
	if (o < 0)
		return call_raw(sock, op, args, rep);
	if ((rc = acct_conn_open(sock, trust_set ? trusted : geteuid(), NULL,
	    &c)) != ACCT_OK)
		return rc;
	rc = acct_conn_call(c, (enum proto_op)o, args, rep);
	acct_conn_close(c);
	return rc;
}

int
th_call_code(const char *sock, const char *op, struct proto_msg *args)
{
	struct proto_reply rep;
	int rc = th_call(sock, op, args, &rep);

	if (rc == ACCT_OK)
		rc = rep.code;
	proto_reply_free(&rep);
	return rc;
}

int
th_call_strs(const char *sock, const char *op, ...)
{
	struct proto_msg m;
	const char *k, *v;
	va_list ap;
	int rc;

	proto_msg_init(&m);
	va_start(ap, op);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		proto_kv_str(&m, k, v);
	}
	va_end(ap);
	rc = th_call_code(sock, op, &m);
	proto_msg_free(&m);
	return rc;
}

int
th_add_user(const char *sock, const char *username, const char *password)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", username);
	if (password != NULL)
		proto_kv_str(&m, "new_password", password);
	rc = th_call_code(sock, "user_add", &m);
	proto_msg_free(&m);
	return rc;
}

bool
th_user_exists(const char *sock, const char *username)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", username);
	rc = th_call_code(sock, "user_show", &m);
	proto_msg_free(&m);
	return rc == ACCT_OK;
}

/* ---- result maps ---- */

bool
th_str_is(const msgpack_object *map, const char *key, const char *want)
{
	const msgpack_object *o = proto_map_get(map, key);

	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(want) &&
	    memcmp(o->via.str.ptr, want, o->via.str.size) == 0;
}

bool
th_is_nil(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = proto_map_get(map, key);

	return o != NULL && o->type == MSGPACK_OBJECT_NIL;
}

int
th_bool(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = proto_map_get(map, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_BOOLEAN)
		return -1;
	return o->via.boolean ? 1 : 0;
}

int64_t
th_int(const msgpack_object *map, const char *key, int64_t dflt)
{
	const msgpack_object *o = proto_map_get(map, key);

	if (o == NULL)
		return dflt;
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (int64_t)o->via.u64;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return o->via.i64;
	return dflt;
}

bool
th_has_keys(const msgpack_object *map, const char *const *keys)
{
	size_t n = 0;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return false;
	for (; keys[n] != NULL; n++)
		if (proto_map_get(map, keys[n]) == NULL)
			return false;
	return map->via.map.size == n;
}

/* ---- the database file ---- */

struct buf {
	char	*s;
	size_t	 len, cap;
	bool	 oom;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (b->len + n + 1 > cap)
			cap *= 2;
		char *ns = realloc(b->s, cap);
		if (ns == NULL) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static sqlite3 *
db_open_ro(const struct th_daemon *d)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "harness: open %s: %s\n", d->db,
		    db ? sqlite3_errmsg(db) : "failed");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

sqlite3 *
th_db_open(const struct th_daemon *d)
{
	return db_open_ro(d);
}

/* Append every row of a query, columns separated by '|', rows by '\n'. */
static int
dump_query(sqlite3 *db, const char *sql, struct buf *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *t;

			if (i > 0)
				buf_add(b, "|", 1);
			if (sqlite3_column_type(st, i) == SQLITE_NULL) {
				buf_add(b, "NULL", 4);
				continue;
			}
			t = (const char *)sqlite3_column_text(st, i);
			buf_add(b, t ? t : "", t ? strlen(t) : 0);
		}
		buf_add(b, "\n", 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One table's rows in a stable order (rowid, or the first column). */
static int
dump_table(sqlite3 *db, const char *table, struct buf *b)
{
	char *sql;
	sqlite3_stmt *st;
	int rc;

	buf_add(b, "== ", 3);
	buf_add(b, table, strlen(table));
	buf_add(b, "\n", 1);
	sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY rowid", table);
	if (sql != NULL && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK)
		sqlite3_finalize(st);
	else {
		sqlite3_free(sql);
		sql = sqlite3_mprintf("SELECT * FROM \"%w\" ORDER BY 1",
		    table);
	}
	rc = sql != NULL ? dump_query(db, sql, b) : -1;
	sqlite3_free(sql);
	return rc;
}

/* What a failed attempt writes, by design: its counters and records. */
static bool
attempt_table(const char *t)
{
	return strcmp(t, "audit_logins") == 0 ||
	    strcmp(t, "audit_events") == 0 ||
	    strcmp(t, "throttle_sources") == 0 ||
	    strcmp(t, "mail_limits") == 0;
}

static int
dump_accounts_state(sqlite3 *db, struct buf *b)
{
	buf_add(b, "== accounts\n", 12);
	return dump_query(db, "SELECT id, username, display_name, email, "
	    "role, super_admin, login_allowed, webdav, upload_path, "
	    "auth_provider, auth_id, totp_enabled, password_hash, activated, "
	    "created_at, updated_at, last_login_at, deleted_at, totp_secret, "
	    "totp_pending, totp_last_step FROM accounts ORDER BY rowid", b);
}

static char *
dump(const struct th_daemon *d, bool state_only)
{
	struct buf b = { 0 };
	sqlite3 *db = db_open_ro(d);
	int rc;

	if (db == NULL)
		return NULL;
	buf_add(&b, "", 0);
	rc = dump_query(db, "PRAGMA user_version", &b);
	/* Every table's rows, so a write anywhere shows. */
	if (rc == 0) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master "
		    "WHERE type = 'table' ORDER BY name", -1, &st, NULL) !=
		    SQLITE_OK)
			rc = -1;
		else {
			while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
				const char *t = (const char *)
				    sqlite3_column_text(st, 0);
				if (!state_only)
					rc = dump_table(db, t, &b);
				else if (strcmp(t, "accounts") == 0)
					rc = dump_accounts_state(db, &b);
				else if (!attempt_table(t))
					rc = dump_table(db, t, &b);
			}
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	if (rc != 0 || b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

char *
th_db_dump(const struct th_daemon *d)
{
	return dump(d, false);
}

char *
th_db_dump_state(const struct th_daemon *d)
{
	return dump(d, true);
}

/* sql prepared on a read-only connection, the strings of ap bound. */
static sqlite3_stmt *
db_prepare_ro(const struct th_daemon *d, const char *sql, va_list ap,
    sqlite3 **dbp)
{
	sqlite3 *db = db_open_ro(d);
	sqlite3_stmt *st;
	const char *arg;
	int i = 1;

	if ((*dbp = db) == NULL)
		return NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "harness: %s: %s\n", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
		*dbp = NULL;
		return NULL;
	}
	while ((arg = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, arg, -1, SQLITE_TRANSIENT);
	return st;
}

int64_t
th_db_int(const struct th_daemon *d, const char *sql, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;
	va_list ap;

	va_start(ap, sql);
	st = db_prepare_ro(d, sql, ap, &db);
	va_end(ap);
	if (st == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

char *
th_db_str(const struct th_daemon *d, const char *sql, ...)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	const char *t;
	char *s = NULL;
	va_list ap;

	va_start(ap, sql);
	st = db_prepare_ro(d, sql, ap, &db);
	va_end(ap);
	if (st == NULL)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = (const char *)sqlite3_column_text(st, 0)) != NULL)
		s = th_keep(strdup(t));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return s;
}

int
th_db_exec(const struct th_daemon *d, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;
	int rc;

	if (sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 5000);
	if ((rc = sqlite3_exec(db, sql, NULL, NULL, &err)) != SQLITE_OK)
		fprintf(stderr, "harness: %s: %s\n", sql, err ? err : "?");
	sqlite3_free(err);
	sqlite3_close(db);
	if (rc != SQLITE_OK || th_db_changed(d) != 0)
		return -1;
	return 0;
}

int
th_db_changed(const struct th_daemon *d)
{
	size_t off = th_log_size(d);

	if (d->pid <= 0)
		return 0;	/* it reads the file when it starts */
	if (kill(d->pid, SIGHUP) == -1 ||
	    th_wait_log(d, off, "configuration reloaded", 10000) != 0) {
		fprintf(stderr, "harness: acctd did not reload\n");
		return -1;
	}
	return 0;
}

int
th_db_integrity(const struct th_daemon *d)
{
	struct buf b = { 0 };
	sqlite3 *db = db_open_ro(d);
	int rc;

	if (db == NULL)
		return -1;
	rc = dump_query(db, "PRAGMA integrity_check", &b);
	sqlite3_close(db);
	if (rc == 0 && (b.s == NULL || strcmp(b.s, "ok\n") != 0))
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "harness: integrity_check: %s\n",
		    b.s ? b.s : "(nothing)");
	free(b.s);
	return rc;
}

/* A daemon record whose database is path, for the two below. */
static struct th_daemon
on_file(const char *path)
{
	struct th_daemon f;

	memset(&f, 0, sizeof(f));
	snprintf(f.db, sizeof(f.db), "%s", path);
	return f;
}

int64_t
th_file_int(const char *path, const char *sql)
{
	struct th_daemon f = on_file(path);

	return th_db_int(&f, sql, NULL);
}

int
th_file_integrity(const char *path)
{
	struct th_daemon f = on_file(path);

	return th_db_integrity(&f);
}

int
th_acctd_restore(const struct th_daemon *d, const char *file,
    struct th_result *r)
{
	const char *bin = th_acctd_bin();
	const char *argv[] = { bin, "-c", d->conf, "-d", d->db, "--restore",
	    file, NULL };

	if (bin == NULL) {
		memset(r, 0, sizeof(*r));
		r->status = -1;
		return -1;
	}
	return th_run_v(argv, NULL, NULL, NULL, r);
}

static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (io_write_all(out, buf, (size_t)n) == -1)
			rc = -1;
	if (n == -1 || fchmod(out, 0600) == -1 || fsync(out) == -1)
		rc = -1;
	close(in);
	if (close(out) == -1)
		rc = -1;
	return rc;
}

int
th_db_save(const struct th_daemon *d, const char *path)
{
	return copy_file(d->db, path);
}

int
th_db_restore(const struct th_daemon *d, const char *path)
{
	char side[sizeof(d->db) + 8];

	/* A WAL left beside the copy would be replayed onto it. */
	snprintf(side, sizeof(side), "%s-wal", d->db);
	if (unlink(side) == -1 && errno != ENOENT)
		return -1;
	snprintf(side, sizeof(side), "%s-shm", d->db);
	if (unlink(side) == -1 && errno != ENOENT)
		return -1;
	return copy_file(path, d->db);
}

bool
th_hash_is(const char *hash, const char *pw)
{
	struct crypt_data *cd;
	const char *h;
	bool ok;

	if (hash == NULL)
		return false;
	if (strncmp(hash, "$argon2id$", 10) == 0)
		return sodium_init() >= 0 &&
		    crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return false;
	h = crypt_r(pw, hash, cd);
	ok = h != NULL && h[0] != '*' && strcmp(h, hash) == 0;
	free(cd);
	return ok;
}

/* ---- a squatter on the socket path ---- */

/* Answer each request frame on fd with an empty result; bytes read. */
static long
squat_answer(int fd)
{
	struct proto_request req;
	struct frame_reader rd;
	struct proto_frame f;
	struct proto_msg none;
	uint8_t *buf;
	size_t len;
	char why[128];
	long total = 0;

	frame_reader_init(&rd, fd);
	while (frame_recv(&rd, PROTO_MAX_REQUEST, 5000, 5000, -1, &buf,
	    &len, NULL) == FRAME_OK) {
		total += (long)(len + PROTO_HDR_LEN);
		if (proto_request_decode(buf, len, &req, why, sizeof(why)) !=
		    ACCT_OK)
			req.id = 0;
		free(buf);
		proto_msg_init(&none);
		if (proto_reply_finish(&none, req.id, &f) == ACCT_OK) {
			io_write_all(fd, f.data, f.len);
			proto_frame_free(&f);
		}
		proto_msg_free(&none);
		proto_request_free(&req);
	}
	return total;
}

/* Read until the client hangs up (or 5 s pass); bytes read. */
static long
squat_listen(int fd)
{
	char buf[4096];
	long total = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += n;
	}
	return total;
}

static void
squat_serve(const struct th_squatter *sq, uid_t uid, bool answer, int out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct th_cred c = { .uid = uid, .gid = uid };
	int lfd, fd;

	int nul = open("/dev/null", O_RDWR);

	/* Hold none of the test's pipes, and die with the test. */
	if (nul == -1 || dup2(nul, 0) == -1 || dup2(nul, 1) == -1 ||
	    dup2(nul, 2) == -1)
		_exit(126);
	if (th_is_root() && take_cred(&c) == -1)
		_exit(126);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() == 1)
		_exit(126);
	memcpy(sun.sun_path, sq->sock, strlen(sq->sock) + 1);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(sq->sock, 0777) == -1 || listen(lfd, 16) == -1)
		_exit(125);
	dprintf(out, "ready\n");
	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		dprintf(out, "%ld\n", answer ? squat_answer(fd) :
		    squat_listen(fd));
		close(fd);
	}
	_exit(0);
}

int
th_squatter_start(struct th_squatter *sq, uid_t uid, bool answer)
{
	char line[16];
	int p[2];
	ssize_t n;

	memset(sq, 0, sizeof(*sq));
	sq->report = -1;
	strcpy(sq->dir, "/tmp/acctd-squat.XXXXXX");
	if (mkdtemp(sq->dir) == NULL || chmod(sq->dir, 01777) == -1)
		return -1;
	snprintf(sq->sock, sizeof(sq->sock), "%s/acctd.sock", sq->dir);
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((sq->pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (sq->pid == 0) {
		close(p[0]);
		signal(SIGTERM, SIG_DFL);
		squat_serve(sq, uid, answer, p[1]);
	}
	close(p[1]);
	sq->report = p[0];
	/* "ready\n" once it listens. */
	n = read(sq->report, line, 6);
	return n == 6 && memcmp(line, "ready\n", 6) == 0 ? 0 : -1;
}

int
th_squatter_stop(struct th_squatter *sq, int *conns, long *bytes)
{
	char *text, *line, *save;
	int rc = -1;

	*conns = 0;
	*bytes = 0;
	if (sq->pid > 0) {
		/* A last connection may still be read: give it a moment. */
		nap_ms(100);
		kill(sq->pid, SIGTERM);
		while (waitpid(sq->pid, NULL, 0) == -1 && errno == EINTR)
			;
		sq->pid = 0;
	}
	if (sq->report != -1 && (text = read_all(sq->report, NULL)) != NULL) {
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			(*conns)++;
			*bytes += strtol(line, NULL, 10);
		}
		free(text);
		rc = 0;
	}
	if (sq->report != -1)
		close(sq->report);
	sq->report = -1;
	if (sq->dir[0] != '\0') {
		unlink(sq->sock);
		rmdir(sq->dir);
	}
	sq->dir[0] = '\0';
	return rc;
}

/* ---- mail ---- */

int
th_free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

bool
th_port_open(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 &&
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

int
th_mail_start(struct th_mail *m)
{
	char listen[64];

	memset(m, 0, sizeof(*m));
	strcpy(m->dir, "/tmp/acctd-mail.XXXXXX");
	if (mkdtemp(m->dir) == NULL || (m->port = th_free_port()) < 0) {
		m->dir[0] = '\0';
		return -1;
	}
	snprintf(m->maildir, sizeof(m->maildir), "%s/box", m->dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", m->port);
	fflush(stdout);
	fflush(stderr);
	if ((m->pid = fork()) == -1)
		return -1;
	if (m->pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		execl("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n",
		    "-l", listen, "-c", "aiosmtpd.handlers.Mailbox",
		    m->maildir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		if (th_port_open(m->port))
			return 0;
		if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
			fprintf(stderr, "harness: aiosmtpd exited: is "
			    "python3-aiosmtpd installed (make deps)?\n");
			m->pid = 0;
			return -1;
		}
		nap_ms(50);
	}
	fprintf(stderr, "harness: aiosmtpd did not listen on %s\n", listen);
	return -1;
}

void
th_mail_stop(struct th_mail *m)
{
	if (m->pid > 0) {
		kill(m->pid, SIGTERM);
		while (waitpid(m->pid, NULL, 0) == -1 && errno == EINTR)
			;
		m->pid = 0;
	}
	if (m->dir[0] != '\0')
		nftw(m->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	m->dir[0] = '\0';
}

int
th_stop_with_mail(struct th_daemon *d, struct th_mail *m)
{
	int rc = 0;

	if (d->pid > 0 && th_stop(d) != 0)
		rc = -1;
	th_cleanup(d);
	th_mail_stop(m);
	return rc;
}

int
th_mail_config(const struct th_mail *m, char *buf, size_t bufsz)
{
	char mailer[128], script[512];
	FILE *f;
	int n;

	snprintf(mailer, sizeof(mailer), "/usr/bin/msmtp");
	if (m->keep_raw) {
		snprintf(mailer, sizeof(mailer), "%s/mailer", m->dir);
		snprintf(script, sizeof(script), "#!/bin/sh\n"
		    "mkdir -p %s/raw && f=%s/raw/$(date +%%s%%N) &&\n"
		    "cat >\"$f\" && exec /usr/bin/msmtp \"$@\" <\"$f\"\n",
		    m->dir, m->dir);
		if ((f = fopen(mailer, "w")) == NULL)
			return -1;
		fputs(script, f);
		if (fclose(f) != 0 || chmod(mailer, 0755) == -1)
			return -1;
	}
	n = snprintf(buf, bufsz, "sendmail_command = %s "
	    "--host=127.0.0.1 --port=%d --from=acctd@example.org -t\n"
	    "mail_from = acctd@example.org\n"
	    "reset_url = https://example.org/reset?t={token}\n"
	    "activation_url = https://example.org/activate?t={token}\n"
	    "mail_timeout = 20\n", mailer, m->port);
	return n > 0 && (size_t)n < bufsz ? 0 : -1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
th_mail_raw(const struct th_mail *m, int i)
{
	char path[160], *names[64], *text = NULL;
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/raw", m->dir);
	if ((dir = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(dir)) != NULL && n < 64)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(dir);
	qsort(names, (size_t)n, sizeof(names[0]), name_cmp);
	if (i >= 0 && i < n) {
		snprintf(path, sizeof(path), "%s/raw/%s", m->dir, names[i]);
		text = th_slurp(path, NULL);
	}
	for (int k = 0; k < n; k++)
		free(names[k]);
	return text;
}

int
th_mail_count(const struct th_mail *m)
{
	char path[128];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "%s/new", m->maildir);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

static bool
mail_seen(const struct th_mail *m, const char *name)
{
	for (int i = 0; i < m->nseen; i++)
		if (strcmp(m->seen[i], name) == 0)
			return true;
	return false;
}

char *
th_mail_wait(struct th_mail *m, int want)
{
	char path[128], file[512];
	struct dirent *de;
	DIR *dir;

	for (int i = 0; i < 600 && th_mail_count(m) < want; i++)
		nap_ms(50);
	if (th_mail_count(m) < want || m->nseen >= TH_MAX_MAIL) {
		fprintf(stderr, "harness: %d mails arrived, %d awaited\n",
		    th_mail_count(m), want);
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/new", m->maildir);
	if ((dir = opendir(path)) == NULL)
		return NULL;
	file[0] = '\0';
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && !mail_seen(m, de->d_name)) {
			snprintf(m->seen[m->nseen++], sizeof(m->seen[0]), "%s",
			    de->d_name);
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			break;
		}
	closedir(dir);
	return file[0] != '\0' ? th_slurp(file, NULL) : NULL;
}

int
th_mail_token(const char *text, char *tok, size_t toksz)
{
	static const char hex[] = "0123456789abcdef";
	const char *p = text;

	if (text == NULL || toksz < 82)
		return -1;
	/* ID_SECRET: 16 hex, '_', 64 hex, with no hex or '_' on either
	 * side (the link's "?t=" before it, a newline after). */
	for (; (p = strchr(p, '_')) != NULL; p++) {
		const char *s = p - 16;

		if (p - text < 16 || strspn(s, hex) != 16 ||
		    strspn(p + 1, hex) != 64 || p[65] == '_' ||
		    (s > text && (strchr(hex, s[-1]) || s[-1] == '_')))
			continue;
		memcpy(tok, s, 81);
		tok[81] = '\0';
		return 0;
	}
	return -1;
}

char *
th_mail_check(const char *text, const char *asserts)
{
	static const char pre[] =
	    "import sys, email, traceback\n"
	    "from email import policy\n"
	    "raw = sys.stdin.buffer.read()\n"
	    "m = email.message_from_bytes(raw, policy=policy.default)\n"
	    "head = raw.partition(b'\\n\\n')[0].split(b'\\n')\n"
	    "body = m.get_content()\n"
	    "lines = body.rstrip('\\n').split('\\n')\n"
	    "try:\n"
	    "    exec(sys.argv[1] if len(sys.argv) > 1 else '')\n"
	    "    print('ok')\n"
	    "except AssertionError as e:\n"
	    "    tb = traceback.extract_tb(e.__traceback__)[-1]\n"
	    "    print('line %d of the checks: %s' % (tb.lineno, e))\n";
	const char *const argv[] = { "/usr/bin/python3", "-c", pre, asserts,
	    NULL };
	struct th_result r;
	char *out;
	size_t n;

	if (text == NULL)
		return "no mail";
	if (th_run_v(argv, NULL, text, NULL, &r) != 0) {
		fprintf(stderr, "th_mail_check: python3 failed:\n%s\n", r.err);
		th_result_free(&r);
		return "python3 failed";
	}
	out = r.out;
	r.out = NULL;
	th_result_free(&r);
	if (out != NULL && (n = strlen(out)) > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

/* ---- PAM ---- */

#define PAMTESTER	"/usr/bin/pamtester"
#define PAM_DIR		"/etc/pam.d"
#define PAM_PREFIX	"acctd-test-"

const char *
th_pam_module(void)
{
	static char path[512];
	const char *lib = getenv("ACCT_STAGE_LIBDIR");

	if (lib == NULL) {
		fprintf(stderr, "harness: ACCT_STAGE_LIBDIR is not set: run "
		    "through make test\n");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/security/pam_acct.so", lib);
	if (access(path, R_OK) == -1) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	return path;
}

/* Service files of test runs that died before removing theirs. */
static void
pam_sweep(void)
{
	struct dirent *de;
	char path[512];
	DIR *dir;
	long pid;

	if ((dir = opendir(PAM_DIR)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, PAM_PREFIX, strlen(PAM_PREFIX)) != 0)
			continue;
		pid = strtol(de->d_name + strlen(PAM_PREFIX), NULL, 10);
		if (pid > 0 && kill((pid_t)pid, 0) == -1 && errno == ESRCH) {
			snprintf(path, sizeof(path), PAM_DIR "/%s", de->d_name);
			unlink(path);
		}
	}
	closedir(dir);
}

static int
pam_service(struct th_pam *p, const char *dir, const char *text,
    const char *mod)
{
	static int serial;
	char body[8192], *o = body;
	const char *t;
	int fd;

	if (mod == NULL)
		return -1;
	pam_sweep();
	for (t = text; *t != '\0' && o < body + sizeof(body) - 600; )
		if (strncmp(t, "MODULE", 6) == 0) {
			o += snprintf(o, 600, "%s", mod);
			t += 6;
		} else
			*o++ = *t++;
	*o = '\0';
	serial++;
	snprintf(p->service, sizeof(p->service), PAM_PREFIX "%ld-%d",
	    (long)getpid(), serial);
	snprintf(p->path, sizeof(p->path), PAM_DIR "/%s", p->service);
	snprintf(p->syslog, sizeof(p->syslog), "%s/pam-syslog-%d", dir,
	    serial);
	/* pamtester runs as other uids too: it must append here. */
	if ((fd = open(p->syslog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) == -1 || fchmod(fd, 0666) == -1) {
		fprintf(stderr, "harness: %s: %s\n", p->syslog,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	if (th_write_file(p->path, body, 0644) == -1) {
		fprintf(stderr, "harness: %s: %s\n", p->path, strerror(errno));
		unlink(p->path);
		p->path[0] = '\0';
		return -1;
	}
	return 0;
}

int
th_pam_service(struct th_pam *p, const char *dir, const char *text)
{
	memset(p, 0, sizeof(*p));
	return pam_service(p, dir, text, th_pam_module());
}

int
th_pam_service_build(struct th_pam *p, const char *dir, const char *text)
{
	const char *mod = getenv("ACCT_PAM_MODULE");

	memset(p, 0, sizeof(*p));
	if (mod == NULL || *mod == '\0')
		return pam_service(p, dir, text, th_pam_module());
	p->build = true;
	return pam_service(p, dir, text, mod);
}

void
th_pam_remove(struct th_pam *p)
{
	if (p->path[0] != '\0')
		unlink(p->path);
	p->path[0] = '\0';
}

int
th_pamtester(const struct th_pam *p, const struct th_cred *cred,
    const char *user, const char *stdin_text, const char *rhost,
    const char *ops, struct th_result *r)
{
	const char *argv[TH_MAX_ARGS], *env[3];
	char opbuf[256], item[1024], shim[512], logenv[160], *save, *op;
	const char *build = getenv("ACCT_BUILD");
	size_t n = 0;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (access(PAMTESTER, X_OK) == -1 || build == NULL) {
		r->out = th_keep(strdup(""));
		r->err = th_keep(strdup("harness: no " PAMTESTER " (make "
		    "deps installs pamtester) or ACCT_BUILD unset"));
		fprintf(stderr, "%s\n", r->err);
		return -1;
	}
	/* A sanitized module needs its runtime loaded first. */
	snprintf(shim, sizeof(shim), "LD_PRELOAD=%s%s%s/tests/pam/"
	    "syslog_shim.so", p->build && getenv("ACCT_PAM_PRELOAD") ?
	    getenv("ACCT_PAM_PRELOAD") : "", p->build &&
	    getenv("ACCT_PAM_PRELOAD") ? " " : "", build);
	snprintf(logenv, sizeof(logenv), "TH_SYSLOG=%s", p->syslog);
	env[0] = shim;
	env[1] = logenv;
	env[2] = NULL;
	argv[n++] = PAMTESTER;
	if (rhost != NULL) {
		snprintf(item, sizeof(item), "rhost=%s", rhost);
		argv[n++] = "-I";
		argv[n++] = item;
	}
	argv[n++] = p->service;
	argv[n++] = user;
	snprintf(opbuf, sizeof(opbuf), "%s", ops);
	for (op = strtok_r(opbuf, " ", &save); op != NULL &&
	    n < TH_MAX_ARGS - 1; op = strtok_r(NULL, " ", &save))
		argv[n++] = op;
	argv[n] = NULL;
	return th_run_v(argv, cred, stdin_text, env, r);
}

char *
th_pam_syslog(const struct th_pam *p)
{
	char *s = th_slurp(p->syslog, NULL);

	return s != NULL ? s : th_keep(strdup(""));
}

/* ---- TOTP enrolment ---- */

/* A string member of a reply's result into buf. 0 or -1. */
static int
result_copy(const msgpack_object *o, char *buf, size_t bufsz)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    o->via.str.size >= bufsz)
		return -1;
	memcpy(buf, o->via.str.ptr, o->via.str.size);
	buf[o->via.str.size] = '\0';
	return 0;
}

int
th_totp_enrol(const char *sock, const char *user, char secret[64],
    char recovery[32])
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *codes;
	char code[8];
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	rc = th_call(sock, "totp_enroll", &m, &rep);
	proto_msg_free(&m);
	if (rc != ACCT_OK || rep.code != ACCT_OK ||
	    result_copy(proto_map_get(rep.result, "secret"), secret, 64) ==
	    -1) {
		proto_reply_free(&rep);
		return -1;
	}
	proto_reply_free(&rep);
	th_totp_code(secret, 0, code);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "code", code);
	rc = th_call(sock, "totp_confirm", &m, &rep);
	proto_msg_free(&m);
	codes = rc == ACCT_OK && rep.code == ACCT_OK ?
	    proto_map_get(rep.result, "recovery_codes") : NULL;
	rc = codes != NULL && codes->type == MSGPACK_OBJECT_ARRAY &&
	    codes->via.array.size > 0 && result_copy(&codes->via.array.ptr[0],
	    recovery, 32) == 0 ? 0 : -1;
	proto_reply_free(&rep);
	return rc;
}

/* ---- hardening tests: limits, files, secrets, failing closed ---- */

int
th_start_wrapped(struct th_daemon *d, const char *const *wrap)
{
	const char *bin = th_acctd_bin();
	const char *argv[TH_MAX_ARGS];
	int64_t until;
	size_t n = 0;
	pid_t pid;

	if (bin == NULL)
		return -1;
	for (; wrap[n] != NULL && n < TH_MAX_ARGS - 10; n++)
		argv[n] = wrap[n];
	argv[n++] = bin;
	argv[n++] = "-f";
	argv[n++] = "-c";
	argv[n++] = d->conf;
	argv[n++] = "-s";
	argv[n++] = d->sock;
	argv[n++] = "-d";
	argv[n++] = d->db;
	argv[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd == -1 || nul == -1 || dup2(nul, 0) == -1 ||
		    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	d->pid = pid;
	until = mono_ms() + TH_WAIT_MS;
	while (!can_connect(d->sock)) {
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "harness: %s exited during start-up "
			    "(status %d)\n", argv[0], exit_code(st));
			d->pid = 0;
			th_print_log(d);
			return -1;
		}
		if (mono_ms() >= until) {
			fprintf(stderr, "harness: %s did not accept within "
			    "%d ms\n", argv[0], TH_WAIT_MS);
			th_print_log(d);
			th_kill9(d);
			return -1;
		}
		nap_ms(10);
	}
	return 0;
}

pid_t
th_child_pid(pid_t pid, int ms)
{
	int64_t until = mono_ms() + ms;
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
	    (long)pid, (long)pid);
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd == -1 ? -1 : read(fd, buf, sizeof(buf) - 1);

		if (fd != -1)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			return (pid_t)strtol(buf, NULL, 10);
		}
		if (mono_ms() >= until)
			return -1;
		nap_ms(10);
	}
}

int
th_proc_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

long
th_proc_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long
th_raise_nofile(long want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= (rlim_t)want)
		return (long)rl.rlim_cur;
	if (rl.rlim_max < (rlim_t)want && th_is_root())
		rl.rlim_max = (rlim_t)want;	/* root may raise it */
	rl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max :
	    (rlim_t)want;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    (rl.rlim_cur = rl.rlim_max, setrlimit(RLIMIT_NOFILE, &rl)) == -1))
		return -1;
	return (long)rl.rlim_cur;
}

void
th_asan_option(const char *opt)
{
	const char *old = getenv("ASAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s%s", old ? old : "",
	    old && *old ? ":" : "", opt);
	setenv("ASAN_OPTIONS", buf, 1);
}

char *
th_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *s;

	if (fd == -1)
		return NULL;
	s = read_all(fd, len);
	close(fd);
	return th_keep(s);
}

bool
th_memmem(const void *hay, size_t len, const char *needle)
{
	return hay != NULL && memmem(hay, len, needle, strlen(needle)) !=
	    NULL;
}

/* ---- output, as other programs read it ---- */

char *
th_python(const char *input, const char *code)
{
	const char *const argv[] = { "/usr/bin/python3", "-c", code, NULL };
	struct th_result r;
	char *out;
	size_t n;

	if (th_run_v(argv, NULL, input, NULL, &r) != 0) {
		th_result_free(&r);
		return NULL;
	}
	out = r.out;
	r.out = NULL;
	th_result_free(&r);
	if (out != NULL && (n = strlen(out)) > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

/* Python's json refuses nothing it can read: NaN and Infinity too. */
#define JSON_LOAD "import json,sys\n" \
	"def no(c): raise ValueError(c)\n" \
	"d = json.load(sys.stdin, parse_constant=no)\n"

bool
th_json_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[n - 1] != '\n' || strchr(s, '\n') != s + n - 1)
		return false;
	return th_python(s, JSON_LOAD "assert isinstance(d, dict)\n") != NULL;
}

char *
th_json_get(const char *s, const char *expr)
{
	char code[1024];

	snprintf(code, sizeof(code), JSON_LOAD "v = %s\n"
	    "print('null' if v is None else v)\n", expr);
	return th_python(s, code);
}

char *
th_show_val(const char *out, const char *label)
{
	size_t n = strlen(label);
	const char *line = out;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len >= n && strncmp(line, label, n) == 0 &&
		    (len == n || line[n] == ' ')) {
			const char *v = line + n;

			while (v < line + len && *v == ' ')
				v++;
			return th_keep(strndup(v, (size_t)(line + len - v)));
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

char *
th_line_after(const char *s, const char *prefix)
{
	const char *p = s, *end;

	while ((p = strstr(p, prefix)) != NULL && p != s && p[-1] != '\n')
		p++;
	if (p == NULL)
		return NULL;
	p += strlen(prefix);
	end = strchrnul(p, '\n');
	return th_keep(strndup(p, (size_t)(end - p)));
}

int
th_count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ---- accounts, as the daemon has them ---- */

static const msgpack_object *
show_user(const struct th_daemon *d, const char *user,
    struct proto_reply *rep)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	rc = th_call(d->sock, "user_show", &m, rep);
	proto_msg_free(&m);
	return rc == ACCT_OK && rep->code == ACCT_OK ?
	    proto_map_get(rep->result, "user") : NULL;
}

char *
th_account_str(const struct th_daemon *d, const char *user, const char *key)
{
	struct proto_reply rep;
	const msgpack_object *v = proto_map_get(show_user(d, user, &rep), key);
	char *s = NULL;

	if (v != NULL && v->type == MSGPACK_OBJECT_STR)
		s = strndup(v->via.str.ptr, v->via.str.size);
	proto_reply_free(&rep);
	return th_keep(s);
}

int64_t
th_account_int(const struct th_daemon *d, const char *user, const char *key)
{
	struct proto_reply rep;
	const msgpack_object *u = show_user(d, user, &rep);
	int64_t v = u == NULL ? -2 : th_int(u, key, -1);

	if (u != NULL && v == -1)
		v = th_bool(u, key);
	proto_reply_free(&rep);
	return v;
}

bool
th_password_is(const struct th_daemon *d, const char *user, const char *pw)
{
	return th_call_strs(d->sock, "login", "username", user, "password",
	    pw, (char *)NULL) == ACCT_OK;
}

/* ---- the source tree ---- */

const char *
th_srcdir(void)
{
	const char *d = getenv("ACCT_SRCDIR");

	return d != NULL && d[0] != '\0' ? d : ".";
}

int
th_make(const char *const *args, struct th_result *r)
{
	const char *argv[32] = { "/usr/bin/make", "-s", "-C", th_srcdir() };
	static const char *const env[] = { "MAKEFLAGS", "MAKELEVEL", "MFLAGS",
	    NULL };
	size_t n = 4;

	for (; *args != NULL && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	return th_run_v(argv, NULL, NULL, env, r);
}

void
th_sasl_request(const char *mux, const struct th_cred *cred,
    const char *const *f, const size_t *len, int n, char *out, size_t outsz)
{
	uint8_t buf[8192], rep[260];
	size_t used = 0;
	int fd;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t k = len != NULL ? len[i] : strlen(f[i]);

		if (k > 0xffff || used + 2 + k > sizeof(buf))
			return;
		buf[used++] = (uint8_t)(k >> 8);
		buf[used++] = (uint8_t)k;
		memcpy(buf + used, f[i], k);
		used += k;
	}
	fd = cred != NULL ? th_connect_as(cred, mux) : th_connect(mux);
	if (fd < 0)
		return;
	if (th_send(fd, buf, used) == 0 &&
	    recv(fd, rep, 2, MSG_WAITALL) == 2) {
		size_t k = (size_t)rep[0] << 8 | rep[1];
		ssize_t got = recv(fd, rep, k < sizeof(rep) ? k : sizeof(rep),
		    MSG_WAITALL);

		if (got > 0)
			snprintf(out, outsz, "%.*s", (int)got, rep);
	}
	close(fd);
}
