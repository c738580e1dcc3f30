/*
 * login.c: logins through acctd: n clients, each logging in as its own
 * account from its own address (so no throttle trips), one login after
 * another on a persistent connection, with the account's password or
 * with an app password made for it first; and the memory of acctd
 * while many clients wait on verifies.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct lctx {
	const char	*sock;
	bool		 app;		/* with an app password */
};

struct lclient {
	int			 fd;
	struct proto_frame	 req;
	struct wbuf		 rep;
};

/* A new app password of account i, made on fd, into pw. */
static int
app_password(int fd, int i, char *pw, size_t n)
{
	struct proto_frame f;
	struct proto_msg m;
	struct wbuf w = { 0 };
	char user[16];
	int rc = -1;

	seed_username((uint32_t)i, user);
	proto_msg_init(&m);
	proto_kv_str(&m, "type", "app_password");
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "name", "bench");
	if (wire_request("token_add", &m, &f) == ACCT_OK) {
		if (wire_call(fd, &f, &w) == 0)
			rc = wire_str(&w, "token", pw, n);
		proto_frame_free(&f);
	}
	proto_msg_free(&m);
	wbuf_free(&w);
	return rc;
}

static int
login_frame(int i, const char *pw, struct proto_frame *out)
{
	struct proto_msg m;
	char user[16], addr[32];
	int rc;

	seed_username((uint32_t)i, user);
	snprintf(addr, sizeof(addr), "198.51.%d.%d", i / 250, i % 250 + 1);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	proto_kv_str(&m, "service", "bench");
	proto_kv_str(&m, "remote_addr", addr);
	rc = wire_request("login", &m, out);
	proto_msg_free(&m);
	return rc;
}

static void
lc_close(void *state)
{
	struct lclient *c = state;

	if (c->fd != -1)
		close(c->fd);
	proto_frame_free(&c->req);
	wbuf_free(&c->rep);
	free(c);
}

static void *
lc_open(int i, void *ctx)
{
	struct lclient *c = calloc(1, sizeof(*c));
	const struct lctx *l = ctx;
	char pw[128] = BENCH_PASSWORD;

	if (c == NULL)
		return NULL;
	c->fd = wire_connect(l->sock);
	if (c->fd == -1 || (l->app && app_password(c->fd, i, pw,
	    sizeof(pw)) == -1) || login_frame(i, pw, &c->req) != ACCT_OK) {
		lc_close(c);
		return NULL;
	}
	return c;
}

static int
lc_op(void *state)
{
	struct lclient *c = state;

	if (wire_call(c->fd, &c->req, &c->rep) == -1)
		return -1;
	return wire_code(&c->rep) == ACCT_OK ? 0 : -1;
}

double
login_rate(const char *sock, int nclients, double secs, bool app,
    unsigned *count, unsigned *errors)
{
	struct lctx ctx = { sock, app };
	struct load l = { lc_open, lc_op, lc_close, &ctx };

	return load_run(&l, nclients, 1.0, secs, count, errors);
}

/* Send every login, then read the replies as they come, watching RSS. */
static unsigned
all_at_once(struct lclient **c, int n)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	unsigned errors = 0;
	int left = n;

	if (p == NULL)
		return (unsigned)n;
	for (int i = 0; i < n; i++) {
		p[i].fd = c[i]->fd;
		p[i].events = POLLIN;
		if (send(c[i]->fd, c[i]->req.data, c[i]->req.len,
		    MSG_NOSIGNAL) != (ssize_t)c[i]->req.len) {
			p[i].fd = -1;
			errors++;
			left--;
		}
	}
	while (left > 0 && poll(p, (nfds_t)n, 120 * 1000) > 0) {
		for (int i = 0; i < n; i++) {
			if (p[i].fd == -1 || !(p[i].revents & (POLLIN |
			    POLLHUP | POLLERR)))
				continue;
			if (wire_recv(p[i].fd, &c[i]->rep) == -1 ||
			    wire_code(&c[i]->rep) != ACCT_OK)
				errors++;
			p[i].fd = -1;
			left--;
		}
	}
	free(p);
	return errors + (unsigned)left;
}

/*
 * Peak resident memory (VmHWM) of a freshly started acctd while n
 * clients wait on verifies; its resident memory at rest in *base.
 */
long
login_peak_kib(struct bd *d, int n, long *base, unsigned *errors)
{
	struct lclient **c = calloc((size_t)n, sizeof(*c));
	struct lctx ctx = { d->sock, false };
	long peak = -1;
	int i;

	*errors = (unsigned)n;
	if (c == NULL)
		return -1;
	*base = bd_status_kib(d->pid, "VmRSS");
	for (i = 0; i < n; i++)
		if ((c[i] = lc_open(i, &ctx)) == NULL)
			break;
	if (i == n) {
		*errors = all_at_once(c, n);
		peak = bd_status_kib(d->pid, "VmHWM");
	}
	while (i-- > 0)
		lc_close(c[i]);
	free(c);
	return peak;
}
