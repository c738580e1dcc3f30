/*
 * cheap.c: cheap requests (token_validate, user_show) on persistent
 * connections: round trips one at a time, and requests per second over
 * several connections; the same frames against the bare echo server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define CHECK_EVERY	64	/* replies decoded during a rate run */

struct frames {
	struct proto_frame	*f;
	uint32_t		 n;
};

static int
frame_for(const char *op, uint32_t i, struct proto_frame *out)
{
	struct proto_msg m;
	char s[96];
	int rc;

	proto_msg_init(&m);
	if (strcmp(op, "token_validate") == 0) {
		seed_token(i, s);
		proto_kv_str(&m, "token", s);
		proto_kv_str(&m, "service", "bench");
	} else {
		seed_username(i, s);
		proto_kv_str(&m, "username", s);
	}
	rc = wire_request(op, &m, out);
	proto_msg_free(&m);
	return rc;
}

/* Requests for nkeys accounts spread over all n, in a fixed order. */
static int
frames_make(struct frames *fs, const char *op, uint32_t n, uint32_t nkeys)
{
	uint64_t x = 88172645463325252ULL;

	if ((fs->f = calloc(nkeys, sizeof(*fs->f))) == NULL)
		return -1;
	fs->n = nkeys;
	for (uint32_t j = 0; j < nkeys; j++) {
		uint32_t i = nkeys >= n ? j : (uint32_t)(x % n);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (frame_for(op, i, &fs->f[j]) != ACCT_OK)
			return -1;
	}
	return 0;
}

static void
frames_free(struct frames *fs)
{
	for (uint32_t j = 0; fs->f != NULL && j < fs->n; j++)
		proto_frame_free(&fs->f[j]);
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * One pass untimed (warms the caches, finds the reply size), then
 * samples round trips; check decodes each reply outside the timing.
 */
static int
measure(int fd, const struct frames *fs, size_t samples, bool check,
    struct lat *out)
{
	double *t = calloc(samples, sizeof(*t));
	size_t *len = calloc(fs->n, sizeof(*len));
	struct wbuf w = { 0 };
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (t == NULL || len == NULL)
		goto done;
	for (uint32_t j = 0; j < fs->n; j++) {
		if (wire_call(fd, &fs->f[j], &w) == -1)
			goto done;
		len[j] = w.len;
		if (check && wire_code(&w) != ACCT_OK)
			out->errors++;
	}
	for (size_t s = 0; s < samples; s++) {
		double t0 = now_s();
		if (wire_call(fd, &fs->f[s % fs->n], &w) == -1)
			goto done;
		t[s] = now_s() - t0;
		if (check && wire_code(&w) != ACCT_OK)
			out->errors++;
	}
	qsort(t, samples, sizeof(*t), cmp_double);
	qsort(len, fs->n, sizeof(*len), cmp_size);
	out->median = t[samples / 2];
	out->p99 = t[samples * 99 / 100];
	out->n = samples;
	out->reply_len = len[fs->n / 2];
	rc = 0;
done:
	wbuf_free(&w);
	free(t);
	free(len);
	return rc;
}

static int
latency(const char *sock, const char *op, uint32_t n, uint32_t nkeys,
    size_t samples, bool check, struct lat *out)
{
	struct frames fs = { 0 };
	int fd = -1, rc = -1;

	if (frames_make(&fs, op, n, nkeys) == 0 &&
	    (fd = wire_connect(sock)) != -1)
		rc = measure(fd, &fs, samples, check, out);
	if (fd != -1)
		close(fd);
	frames_free(&fs);
	return rc;
}

int
cheap_latency(const char *sock, const char *op, uint32_t n, uint32_t nkeys,
    size_t samples, struct lat *out)
{
	return latency(sock, op, n, nkeys, samples, true, out);
}

int
bare_latency(const char *dir, const char *op, uint32_t n, uint32_t nkeys,
    size_t samples, size_t reply_len, struct lat *out)
{
	char path[128];
	pid_t pid;
	int rc;

	snprintf(path, sizeof(path), "%s/echo.sock", dir);
	if ((pid = echo_start(path, reply_len)) == -1)
		return -1;
	rc = latency(path, op, n, nkeys, samples, false, out);
	echo_stop(pid);
	unlink(path);
	return rc;
}

/* Rates: each stream cycles over the shared frames from its own offset. */
struct rctx {
	const char	*sock;
	struct frames	 fs;
	bool		 check;
};

struct rstream {
	const struct rctx *r;
	int		 fd;
	uint32_t	 next;
	struct wbuf	 w;
};

static void
r_close(void *state)
{
	struct rstream *s = state;

	if (s->fd != -1)
		close(s->fd);
	wbuf_free(&s->w);
	free(s);
}

static void *
r_open(int i, void *ctx)
{
	struct rstream *s = calloc(1, sizeof(*s));
	struct rctx *r = ctx;

	if (s == NULL)
		return NULL;
	s->r = r;
	s->next = (uint32_t)i * 997 % r->fs.n;
	if ((s->fd = wire_connect(r->sock)) == -1) {
		r_close(s);
		return NULL;
	}
	return s;
}

static int
r_op(void *state)
{
	struct rstream *s = state;
	uint32_t j = s->next++ % s->r->fs.n;

	if (wire_call(s->fd, &s->r->fs.f[j], &s->w) == -1)
		return -1;
	if (s->r->check && j % CHECK_EVERY == 0 &&
	    wire_code(&s->w) != ACCT_OK)
		return -1;
	return 0;
}

static double
rate(const char *sock, const char *op, uint32_t n, int nconn, double secs,
    bool check, unsigned *errors)
{
	struct rctx r = { .sock = sock, .check = check };
	struct load l = { r_open, r_op, r_close, &r };
	unsigned count;
	double v = 0;

	*errors = 1;
	if (frames_make(&r.fs, op, n, n < 1000 ? n : 1000) == 0)
		v = load_run(&l, nconn, 0.3, secs, &count, errors);
	frames_free(&r.fs);
	return v;
}

double
cheap_rate(const char *sock, const char *op, uint32_t n, int nconn,
    double secs, unsigned *errors)
{
	return rate(sock, op, n, nconn, secs, true, errors);
}

double
bare_rate(const char *dir, const char *op, uint32_t n, int nconn,
    double secs, size_t reply_len)
{
	char path[128];
	unsigned errors;
	double v;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/echo.sock", dir);
	if ((pid = echo_start(path, reply_len)) == -1)
		return 0;
	v = rate(path, op, n, nconn, secs, false, &errors);
	echo_stop(pid);
	unlink(path);
	return errors ? 0 : v;
}
