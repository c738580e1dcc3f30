/*
 * dovecot.c: the server side of Dovecot's authentication protocol, as
 * Postfix (smtpd_sasl_type = dovecot) and Exim's dovecot authenticator
 * speak it: a handshake, then AUTH requests for PLAIN and LOGIN on one
 * long-lived connection, in lines of tab-separated fields. Each attempt
 * is a service_login() through dispatch, as saslauthd.c's are.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <sodium.h>

#include "../common/io.h"
#include "../common/log.h"
#include "acctd.h"

/*
 * The longest line: a PLAIN response of the longest names and password
 * a login takes (254 + 254 + 4096 bytes, 6144 in base64) with room for
 * the other fields of an AUTH. Exim's client reads no longer lines.
 */
#define LINE_MAX_LEN	8192
#define FIELDS_MAX	64	/* Dovecot's own client sends about 20 */
#define PENDING_MAX	8	/* requests waiting on the client's CONT */
#define SERVICE_MAX	64	/* as the login's service field */
#define OUT_MAX		2048	/* a reply: an id, a name or a reason */

/* Clients of minor version 2 and up tell an empty initial response
 * from none; older ones (Postfix, Exim: 0) send "resp=" for none. */
#define MINOR_EMPTY_RESP	2

/* base64 of the LOGIN mechanism's two prompts. */
#define LOGIN_USERNAME	"VXNlcm5hbWU6"	/* "Username:" */
#define LOGIN_PASSWORD	"UGFzc3dvcmQ6"	/* "Password:" */

enum mech { MECH_PLAIN, MECH_LOGIN };

/* An AUTH that is waiting for the client's CONT. */
struct request {
	bool		 used;
	uint32_t	 id;
	enum mech	 mech;
	char		*user;		/* LOGIN: the name, for the password */
	size_t		 user_len;
	char		 service[SERVICE_MAX + 1];
	char		 remote[INET6_ADDRSTRLEN];	/* "": none given */
	uint64_t	 seq;		/* the oldest gives way to a new one */
};

struct session {
	int			 fd;
	const struct peer	*peer;
	int			 wake_fd;
	bool			 version, cpid;	/* the client's handshake */
	uint32_t		 minor;
	uint64_t		 seq;
	struct request		 req[PENDING_MAX];
	/* Read side: buf[0..n) buffered, the line last given ends at used. */
	size_t			 n, used;
	int64_t			 deadline;	/* of the line begun */
	char			 buf[LINE_MAX_LEN];
};

/* Connection ids for CUID: unique while acctd runs, as Dovecot's are. */
static _Atomic unsigned next_cuid = 1;

/* The protocol broken: logged (never what was sent), then closed. */
static int
bad(const struct session *s, const char *why)
{
	log_info("dovecot: uid %u (%s): %s, closing",
	    (unsigned)s->peer->uid, s->peer->comm, why);
	return -1;
}

static bool
woken(int wake_fd)
{
	struct pollfd p = { .fd = wake_fd, .events = POLLIN };

	return wake_fd >= 0 && poll(&p, 1, 0) == 1;
}

/*
 * The next line, its newline (and a CR before it) cut. idle_timeout
 * applies between lines, and frame_timeout from a line's first byte to
 * its end, as on the other sockets.
 */
static enum frame_status
read_line(struct session *s, char **line, size_t *len)
{
	int idle_ms, frame_ms, w;
	char *nl;
	ssize_t got;

	/* The last line goes, wiped: it may have held a password. */
	if (s->used > 0) {
		memmove(s->buf, s->buf + s->used, s->n - s->used);
		explicit_bzero(s->buf + s->n - s->used, s->used);
		s->n -= s->used;
		s->used = 0;
	}
	/* A client that never pauses still stops with the daemon. */
	if (woken(s->wake_fd))
		return FRAME_STOP;
	config_timeouts(&idle_ms, &frame_ms);
	if (s->n > 0)
		s->deadline = io_deadline(frame_ms);
	for (;;) {
		if ((nl = memchr(s->buf, '\n', s->n)) != NULL) {
			*nl = '\0';
			s->used = (size_t)(nl - s->buf) + 1;
			if (nl > s->buf && nl[-1] == '\r')
				*--nl = '\0';
			*line = s->buf;
			*len = (size_t)(nl - s->buf);
			return FRAME_OK;
		}
		if (s->n == sizeof(s->buf))
			return FRAME_TOOBIG;
		bool between = s->n == 0;

		w = io_wait_readable(s->fd, between ? io_deadline(idle_ms) :
		    s->deadline, between ? s->wake_fd : -1);
		if (w == 0)
			return between ? FRAME_IDLE : FRAME_SLOW;
		if (w == 2)
			return FRAME_STOP;
		if (w < 0)
			return FRAME_ERROR;
		got = recv(s->fd, s->buf + s->n, sizeof(s->buf) - s->n,
		    MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (got <= 0)
			return between && got == 0 ? FRAME_EOF : FRAME_ERROR;
		if (between)
			s->deadline = io_deadline(frame_ms);
		s->n += (size_t)got;
	}
}

/* Split at tabs in place: the number of fields, -1 if too many. */
static int
split(char *line, char **f)
{
	int n = 0;

	for (char *p = line;;) {
		if (n == FIELDS_MAX)
			return -1;
		f[n++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			return n;
		*p++ = '\0';
	}
}

/*
 * Dovecot's str_tabescape() undone in place: \001 then 1, t, r or n is
 * \001, tab, CR or LF. Any other (\0010 would be a NUL, which no value
 * of ours may hold) breaks the line: -1.
 */
static int
unescape(char *s)
{
	char *w = s;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p != '\001') {
			*w++ = *p;
			continue;
		}
		switch (*++p) {
		case '1':
			*w++ = '\001';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		default:
			return -1;
		}
	}
	*w = '\0';
	return 0;
}

/* A decimal number of 32 bits, digits only. */
static int
parse_u32(const char *s, uint32_t *v)
{
	uint64_t n = 0;
	size_t len = strlen(s);

	if (len == 0 || len > 10 || strspn(s, "0123456789") != len)
		return -1;
	for (; *s != '\0'; s++)
		n = n * 10 + (uint64_t)(*s - '0');
	if (n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* A reply line being built; over marks one that would not fit. */
struct out {
	char	 s[OUT_MAX];
	size_t	 n;
	bool	 over;
};

static void
put(struct out *o, const char *s)
{
	size_t k = strlen(s);

	if (o->n + k >= sizeof(o->s))
		o->over = true;
	else {
		memcpy(o->s + o->n, s, k);
		o->n += k;
	}
}

/* A value as str_tabescape() writes it: no tab, CR or LF survives. */
static void
put_escaped(struct out *o, const char *s)
{
	char two[3] = { '\001', 0, 0 }, one[2] = { 0, 0 };

	for (; *s != '\0'; s++) {
		switch (*s) {
		case '\001':
			two[1] = '1';
			break;
		case '\t':
			two[1] = 't';
			break;
		case '\r':
			two[1] = 'r';
			break;
		case '\n':
			two[1] = 'n';
			break;
		default:
			one[0] = *s;
			put(o, one);
			continue;
		}
		put(o, two);
	}
}

static int
send_out(const struct session *s, struct out *o)
{
	put(o, "\n");
	if (o->over)
		return bad(s, "reply too long");
	return io_write_all(s->fd, o->s, o->n) == 0 ? 0 : -1;
}

static int
send_cont(const struct session *s, uint32_t id, const char *challenge)
{
	struct out o = { .n = 0 };
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)id);
	put(&o, "CONT\t");
	put(&o, num);
	put(&o, "\t");
	put(&o, challenge);
	return send_out(s, &o);
}

/* Temporary failures (busy, storage): the client may try again. */
static bool
undecided(int rc)
{
	return rc == ACCT_ERR_INTERNAL || rc == ACCT_ERR_BUSY ||
	    rc == ACCT_ERR_STORAGE || rc == ACCT_ERR_UNAVAILABLE ||
	    rc == ACCT_ERR_NOMEM;
}

static int
send_fail(const struct session *s, uint32_t id, int rc, const char *reason)
{
	struct out o = { .n = 0 };
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)id);
	put(&o, "FAIL\t");
	put(&o, num);
	if (undecided(rc))
		put(&o, "\ttemp");
	put(&o, "\treason=");
	put_escaped(&o, reason[0] != '\0' ? reason : acct_strerror(rc));
	return send_out(s, &o);
}

static int
send_ok(const struct session *s, uint32_t id, const char *user)
{
	struct out o = { .n = 0 };
	char num[16];

	snprintf(num, sizeof(num), "%u", (unsigned)id);
	put(&o, "OK\t");
	put(&o, num);
	put(&o, "\tuser=");
	put_escaped(&o, user);
	return send_out(s, &o);
}

static int
handshake(const struct session *s)
{
	uint8_t cookie[16];
	char text[256], hex[2 * sizeof(cookie) + 1];
	int n;

	/* The cookie is for a master socket's REQUEST, which acctd has
	 * none of; clients expect the line. */
	arc4random_buf(cookie, sizeof(cookie));
	for (size_t i = 0; i < sizeof(cookie); i++)
		snprintf(hex + 2 * i, 3, "%02x", cookie[i]);
	n = snprintf(text, sizeof(text), "VERSION\t1\t2\n"
	    "MECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\n"
	    "SPID\t%ld\nCUID\t%u\nCOOKIE\t%s\nDONE\n", (long)getpid(),
	    atomic_fetch_add(&next_cuid, 1), hex);
	return io_write_all(s->fd, text, (size_t)n);
}

static void
request_clear(struct request *r)
{
	if (r->user != NULL)
		freezero(r->user, r->user_len + 1);
	memset(r, 0, sizeof(*r));
}

static struct request *
pending(struct session *s, uint32_t id)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (s->req[i].used && s->req[i].id == id)
			return &s->req[i];
	return NULL;
}

/* Keep r until the client's CONT: a free slot, or the oldest one's,
 * whose client gave up on it (Postfix and Exim wait on one at a time). */
static void
keep(struct session *s, struct request *r)
{
	struct request *slot = &s->req[0];

	for (int i = 0; i < PENDING_MAX; i++) {
		if (!s->req[i].used) {
			slot = &s->req[i];
			break;
		}
		if (s->req[i].seq < slot->seq)
			slot = &s->req[i];
	}
	if (slot != r) {
		request_clear(slot);
		*slot = *r;
		memset(r, 0, sizeof(*r));
	}
	slot->used = true;
}

/*
 * A name and password, as bytes that may hold anything: checked as the
 * login operation, answered OK or FAIL.
 */
static int
check(const struct session *s, const struct request *r, const char *user,
    size_t ulen, const char *pw, size_t plen)
{
	char msg[256] = "", *u = NULL, *p = NULL;
	int rc;

	/* Copies that end in a NUL; service_login() refuses one inside. */
	if ((u = malloc(ulen + 1)) == NULL || (p = malloc(plen + 1)) == NULL)
		rc = ACCT_ERR_NOMEM;
	else {
		memcpy(u, user, ulen);
		u[ulen] = '\0';
		memcpy(p, pw, plen);
		p[plen] = '\0';
		rc = service_login(s->peer, u, ulen, p, plen, r->service,
		    r->remote, msg, sizeof(msg));
	}
	if (p != NULL)
		freezero(p, plen + 1);
	if (rc == ACCT_OK)
		rc = send_ok(s, r->id, u);
	else
		rc = send_fail(s, r->id, rc, msg);
	if (u != NULL)
		freezero(u, ulen + 1);
	return rc;
}

/* PLAIN: authzid NUL authcid NUL password, exactly two NULs. */
static int
plain(const struct session *s, const struct request *r, const char *d,
    size_t len)
{
	const char *nul1, *nul2;
	size_t zlen, ulen;

	if ((nul1 = memchr(d, '\0', len)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - d))) ==
	    NULL || memchr(nul2 + 1, '\0', len - (size_t)(nul2 + 1 - d)) !=
	    NULL)
		return send_fail(s, r->id, ACCT_ERR_INVALID,
		    "invalid PLAIN response");
	zlen = (size_t)(nul1 - d);
	ulen = (size_t)(nul2 - nul1 - 1);
	/* Acting as another user is not offered: an authzid is the
	 * authcid or nothing. */
	if (zlen > 0 && (zlen != ulen || memcmp(d, nul1 + 1, zlen) != 0)) {
		log_info("dovecot: uid %u (%s): PLAIN with another "
		    "authorization identity: refused",
		    (unsigned)s->peer->uid, s->peer->comm);
		return send_fail(s, r->id, ACCT_ERR_DENIED,
		    "authorization identity not allowed");
	}
	return check(s, r, nul1 + 1, ulen, nul2 + 1,
	    len - (size_t)(nul2 + 1 - d));
}

/*
 * The next step of r with the client's data (none: the AUTH had no
 * initial response). Returns 1 when r waits on a CONT, 0 when it is
 * answered, -1 to close.
 */
static int
step(struct session *s, struct request *r, const char *d, size_t len,
    bool have)
{
	if (r->mech == MECH_PLAIN) {
		if (!have)
			return send_cont(s, r->id, "") == 0 ? 1 : -1;
		return plain(s, r, d, len);
	}
	if (r->user == NULL) {
		/* Dovecot asks for the name when the initial response is
		 * empty too. */
		if (!have || len == 0)
			return send_cont(s, r->id, LOGIN_USERNAME) == 0 ?
			    1 : -1;
		if ((r->user = malloc(len + 1)) == NULL)
			return send_fail(s, r->id, ACCT_ERR_NOMEM, "");
		memcpy(r->user, d, len);
		r->user[len] = '\0';
		r->user_len = len;
		return send_cont(s, r->id, LOGIN_PASSWORD) == 0 ? 1 : -1;
	}
	return check(s, r, r->user, r->user_len, d, have ? len : 0);
}

/*
 * base64 into a buffer of its own (wiped by the caller with freezero),
 * or NULL: not base64, or out of memory.
 */
static char *
decode(const char *b64, size_t *len)
{
	size_t n = strlen(b64), cap = n / 4 * 3 + 1;
	const char *end;
	char *d;

	if ((d = malloc(cap)) == NULL)
		return NULL;
	if (sodium_base642bin((unsigned char *)d, cap, b64, n, NULL, len,
	    &end, sodium_base64_VARIANT_ORIGINAL) != 0 || end != b64 + n) {
		freezero(d, cap);
		return NULL;
	}
	return d;
}

/* step() with base64 data; -1 to close, else answered or kept. */
static int
step_b64(struct session *s, struct request *r, const char *b64)
{
	size_t len = 0, cap = strlen(b64) / 4 * 3 + 1;
	char *d;
	int rc;

	if ((d = decode(b64, &len)) == NULL)
		return send_fail(s, r->id, ACCT_ERR_INVALID,
		    "invalid base64 data");
	rc = step(s, r, d, len, true);
	freezero(d, cap);
	return rc;
}

/* rip: an address, written the one way inet_ntop writes it, so that
 * one client is one throttle source; anything else is no address. */
static void
address(const char *s, char *out)
{
	unsigned char a[sizeof(struct in6_addr)];

	out[0] = '\0';
	if (inet_pton(AF_INET, s, a) == 1)
		inet_ntop(AF_INET, a, out, INET6_ADDRSTRLEN);
	else if (inet_pton(AF_INET6, s, a) == 1)
		inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
}

/* A service name as the client's configuration gives it: printable
 * ASCII without spaces, as the audit's realm and app password scopes
 * know it. */
static bool
service_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > SERVICE_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

/* AUTH <id> <mech> [service=..] [rip=..] [resp=..] and more. */
static int
on_auth(struct session *s, char **f, int n)
{
	struct request r = { .seq = ++s->seq };
	const char *service = NULL, *resp = NULL;
	int rc;

	if (n < 3 || parse_u32(f[1], &r.id) == -1 || unescape(f[2]) == -1)
		return bad(s, "AUTH without an id and a mechanism");
	if (pending(s, r.id) != NULL)
		return bad(s, "a request id already in use");
	for (int i = 3; i < n; i++) {
		if (unescape(f[i]) == -1)
			return bad(s, "a broken escape");
		if (strncmp(f[i], "service=", 8) == 0)
			service = f[i] + 8;
		else if (strncmp(f[i], "rip=", 4) == 0)
			address(f[i] + 4, r.remote);
		else if (strncmp(f[i], "resp=", 5) == 0)
			resp = f[i] + 5;
		/* lip, secured, nologin, no-penalty and the rest say what
		 * the client knows of its connection: the policy is
		 * acctd's, and the throttle is not the client's to skip. */
	}
	if (service == NULL || !service_ok(service))
		return bad(s, "AUTH without a valid service");
	strlcpy(r.service, service, sizeof(r.service));
	if (strcasecmp(f[2], "PLAIN") == 0)
		r.mech = MECH_PLAIN;
	else if (strcasecmp(f[2], "LOGIN") == 0)
		r.mech = MECH_LOGIN;
	else
		return send_fail(s, r.id, ACCT_ERR_INVALID,
		    "unsupported mechanism");
	if (resp != NULL && resp[0] == '\0' && s->minor < MINOR_EMPTY_RESP)
		resp = NULL;
	/* "=" is SASL's empty response, when a client passes it on. */
	if (resp != NULL && strcmp(resp, "=") == 0)
		resp = "";
	rc = resp != NULL ? step_b64(s, &r, resp) : step(s, &r, "", 0, false);
	if (rc == 1)
		keep(s, &r);
	request_clear(&r);
	return rc < 0 ? -1 : 0;
}

/* CONT <id> <base64>: the client's answer to our CONT. */
static int
on_cont(struct session *s, char **f, int n)
{
	struct request *r;
	uint32_t id;
	int rc;

	if (n != 3 || parse_u32(f[1], &id) == -1 || unescape(f[2]) == -1)
		return bad(s, "CONT without an id and data");
	if ((r = pending(s, id)) == NULL)
		return send_fail(s, id, ACCT_ERR_INVALID, "no such request");
	rc = step_b64(s, r, f[2]);
	if (rc != 1)
		request_clear(r);
	return rc < 0 ? -1 : 0;
}

/* One line from the client: 0 to go on, -1 to close. */
static int
on_line(struct session *s, char *line, size_t len)
{
	char *f[FIELDS_MAX];
	uint32_t v;
	int n;

	if (memchr(line, '\0', len) != NULL)
		return bad(s, "a NUL byte in a line");
	if ((n = split(line, f)) == -1)
		return bad(s, "too many fields");
	if (!s->version) {
		if (strcmp(f[0], "VERSION") != 0 || n != 3 ||
		    parse_u32(f[1], &v) == -1 ||
		    parse_u32(f[2], &s->minor) == -1)
			return bad(s, "no VERSION first");
		if (v != 1)
			return bad(s, "protocol major version not 1");
		s->version = true;
		return 0;
	}
	if (strcmp(f[0], "CPID") == 0) {
		if (s->cpid || n != 2 || parse_u32(f[1], &v) == -1 || v == 0)
			return bad(s, "a bad CPID");
		s->cpid = true;
		return 0;
	}
	if (!s->cpid)
		return bad(s, "no CPID after VERSION");
	if (strcmp(f[0], "AUTH") == 0)
		return on_auth(s, f, n);
	if (strcmp(f[0], "CONT") == 0)
		return on_cont(s, f, n);
	return bad(s, "an unknown command");
}

void
dovecot_serve(int fd, const struct peer *peer, int wake_fd)
{
	struct session *s = calloc(1, sizeof(*s));
	enum frame_status st = FRAME_OK;
	char *line;
	size_t len;

	if (s == NULL)
		return;
	s->fd = fd;
	s->peer = peer;
	s->wake_fd = wake_fd;
	if (handshake(s) == 0)
		while ((st = read_line(s, &line, &len)) == FRAME_OK &&
		    on_line(s, line, len) == 0)
			;
	switch (st) {
	case FRAME_TOOBIG:
		bad(s, "a line over 8192 bytes");
		break;
	case FRAME_SLOW:
		bad(s, "a line not completed in time");
		break;
	case FRAME_IDLE:
		log_debug("dovecot: uid %u: idle, closing",
		    (unsigned)peer->uid);
		break;
	default:
		break;
	}
	for (int i = 0; i < PENDING_MAX; i++)
		request_clear(&s->req[i]);
	freezero(s, sizeof(*s));
}
