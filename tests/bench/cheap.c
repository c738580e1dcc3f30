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
#define BLOCK		500	/* round trips before switching sides */

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

/* One server as the latency runs see it. */
struct side {
	const char	*sock;
	bool		 check;		/* decode replies: acctd, not echo */
	struct frames	 fs;
	int		 fd;
	double		*t;
	size_t		 len;		/* median reply frame */
	unsigned	 errors;
};

static int
side_open(struct side *s, const char *sock, bool check, const char *op,
    uint32_t n, uint32_t nkeys, size_t samples)
{
	memset(s, 0, sizeof(*s));
	s->sock = sock;
	s->check = check;
	s->fd = -1;
	if ((s->t = calloc(samples, sizeof(*s->t))) == NULL ||
	    frames_make(&s->fs, op, n, nkeys) == -1 ||
	    (s->fd = wire_connect(sock)) == -1)
		return -1;
	return 0;
}

static void
side_close(struct side *s)
{
	if (s->fd != -1)
		close(s->fd);
	frames_free(&s->fs);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

/* One untimed pass over every frame: warms caches, finds the reply size. */
static int
side_warm(struct side *s)
{
	size_t *len = calloc(s->fs.n, sizeof(*len));
	struct wbuf w = { 0 };
	int rc = 0;

	if (len == NULL)
		return -1;
	for (uint32_t j = 0; j < s->fs.n && rc == 0; j++) {
		if ((rc = wire_call(s->fd, &s->fs.f[j], &w)) == 0)
			len[j] = w.len;
		if (rc == 0 && s->check && wire_code(&w) != ACCT_OK)
			s->errors++;
	}
	qsort(len, s->fs.n, sizeof(*len), cmp_size);
	s->len = len[s->fs.n / 2];
	wbuf_free(&w);
	free(len);
	return rc;
}

/* Samples [from, to): each round trip timed, its reply checked after. */
static int
side_block(struct side *s, size_t from, size_t to, struct wbuf *w)
{
	for (size_t k = from; k < to; k++) {
		double t0 = now_s();
		if (wire_call(s->fd, &s->fs.f[k % s->fs.n], w) == -1)
			return -1;
		s->t[k] = now_s() - t0;
		if (s->check && wire_code(w) != ACCT_OK)
			s->errors++;
	}
	return 0;
}

static void
side_result(struct side *s, size_t samples, struct lat *out)
{
	qsort(s->t, samples, sizeof(*s->t), cmp_double);
	out->median = s->t[samples / 2];
	out->p99 = s->t[samples * 99 / 100];
	out->n = samples;
	out->reply_len = s->len;
	out->errors = s->errors;
}

/*
 * Both sides in alternating blocks, so load from elsewhere on the
 * machine falls on both alike.
 */
static int
alternate(struct side *a, struct side *b, size_t samples, struct lat *la,
    struct lat *lb)
{
	struct wbuf w = { 0 };
	int rc = 0;

	bench_pin(CPU_CLIENT);
	for (size_t k = 0; k < samples && rc == 0; k += BLOCK) {
		size_t end = k + BLOCK < samples ? k + BLOCK : samples;
		rc = side_block(a, k, end, &w);
		if (rc == 0)
			rc = side_block(b, k, end, &w);
	}
	bench_pin(-1);
	wbuf_free(&w);
	if (rc == 0) {
		side_result(a, samples, la);
		side_result(b, samples, lb);
	}
	return rc;
}

int
cheap_vs_bare(const char *sock, const char *dir, const char *op, uint32_t n,
    uint32_t nkeys, size_t samples, struct lat *out, struct lat *bare)
{
	struct side a, b = { .fd = -1 };
	char path[128];
	pid_t pid = -1;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/echo.sock", dir);
	if (side_open(&a, sock, true, op, n, nkeys, samples) == 0 &&
	    side_warm(&a) == 0 && (pid = echo_start(path, a.len, CPU_SERVER)) != -1 &&
	    side_open(&b, path, false, op, n, nkeys, samples) == 0 &&
	    side_warm(&b) == 0)
		rc = alternate(&a, &b, samples, out, bare);
	side_close(&a);
	side_close(&b);
	echo_stop(pid);
	unlink(path);
	return rc;
}

int
cheap_vs_cheap(const char *sock, uint32_t n, uint32_t nkeys,
    const char *sock2, uint32_t n2, uint32_t nkeys2, const char *op,
    size_t samples, struct lat *out, struct lat *out2)
{
	struct side a, b = { .fd = -1 };
	int rc = -1;

	if (side_open(&a, sock, true, op, n, nkeys, samples) == 0 &&
	    side_warm(&a) == 0 &&
	    side_open(&b, sock2, true, op, n2, nkeys2, samples) == 0 &&
	    side_warm(&b) == 0)
		rc = alternate(&a, &b, samples, out, out2);
	side_close(&a);
	side_close(&b);
	return rc;
}

/*
 * Round trips of op on one connection from CPU_CLIENT, until samples
 * are taken or *stop is set; no bare side (the other half of the
 * figure is the same call on an idle acctd).
 */
int
cheap_alone(const char *sock, const char *op, uint32_t n, size_t samples,
    const _Atomic bool *stop, struct lat *out)
{
	struct side a;
	struct wbuf w = { 0 };
	size_t k = 0;
	int rc = -1;

	if (side_open(&a, sock, true, op, n, n, samples) == 0 &&
	    side_warm(&a) == 0) {
		bench_pin(CPU_CLIENT);
		for (rc = 0; k < samples && rc == 0 && (stop == NULL ||
		    !*stop); k += BLOCK)
			rc = side_block(&a, k, k + BLOCK < samples ? k + BLOCK :
			    samples, &w);
		bench_pin(-1);
		if (rc == 0 && k > samples)
			k = samples;
		if (rc == 0 && k > 0)
			side_result(&a, k, out);
		else
			rc = -1;
	}
	wbuf_free(&w);
	side_close(&a);
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
	if ((pid = echo_start(path, reply_len, -1)) == -1)
		return 0;
	v = rate(path, op, n, nconn, secs, false, &errors);
	echo_stop(pid);
	unlink(path);
	return errors ? 0 : v;
}
