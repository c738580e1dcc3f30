/*
 * wire.c: raw protocol frames for the bench clients. Requests are built
 * once and replies are read as bytes, so a timed round trip costs the
 * client the same against acctd as against the bare echo server.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "bench.h"

int
wire_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
wire_request(const char *op, struct proto_msg *args, struct proto_frame *out)
{
	static uint64_t id;

	return proto_request_finish(args, __atomic_add_fetch(&id, 1,
	    __ATOMIC_RELAXED), op, out);
}

static int
send_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
grow(struct wbuf *w, size_t need)
{
	uint8_t *p;

	if (need <= w->cap)
		return 0;
	if ((p = realloc(w->data, need)) == NULL)
		return -1;
	w->data = p;
	w->cap = need;
	return 0;
}

/*
 * Read until w holds one whole frame; usually one recv. It waits in
 * poll() for POLLIN first, as libacct's frame_recv() does: a client
 * asleep in recv() is also woken when the server takes its request off
 * the socket (the kernel's write-space wake-up), a context switch that
 * no libacct client pays and that a bare server, which answers at once,
 * hides.
 */
int
wire_recv(int fd, struct wbuf *w)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t want = PROTO_HDR_LEN;

	w->len = 0;
	if (grow(w, 4096) == -1)
		return -1;
	while (w->len < want) {
		if (poll(&p, 1, -1) == -1 && errno != EINTR)
			return -1;
		ssize_t n = recv(fd, w->data + w->len, w->cap - w->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		w->len += (size_t)n;
		if (w->len >= PROTO_HDR_LEN) {
			want = PROTO_HDR_LEN + proto_get_len(w->data);
			if (grow(w, want) == -1)
				return -1;
		}
	}
	return w->len == want ? 0 : -1;
}

int
wire_call(int fd, const struct proto_frame *req, struct wbuf *rep)
{
	if (send_all(fd, req->data, req->len) == -1)
		return -1;
	return wire_recv(fd, rep);
}

int
wire_code(const struct wbuf *w)
{
	struct proto_reply rep;
	size_t n = w->len - PROTO_HDR_LEN;
	uint8_t *copy;
	int rc;

	if (w->len < PROTO_HDR_LEN || (copy = malloc(n ? n : 1)) == NULL)
		return ACCT_ERR_PROTOCOL;
	memcpy(copy, w->data + PROTO_HDR_LEN, n);
	rc = proto_reply_decode(copy, n, &rep);
	if (rc == ACCT_OK)
		rc = rep.code;
	proto_reply_free(&rep);
	return rc;
}

int
wire_str(const struct wbuf *w, const char *key, char *out, size_t n)
{
	struct proto_reply rep;
	const msgpack_object *o;
	size_t len = w->len - PROTO_HDR_LEN;
	uint8_t *copy;
	int rc = -1;

	if (w->len < PROTO_HDR_LEN || (copy = malloc(len ? len : 1)) == NULL)
		return -1;
	memcpy(copy, w->data + PROTO_HDR_LEN, len);
	if (proto_reply_decode(copy, len, &rep) == ACCT_OK &&
	    rep.code == ACCT_OK && (o = proto_map_get(rep.result, key)) !=
	    NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size < n) {
		memcpy(out, o->via.str.ptr, o->via.str.size);
		out[o->via.str.size] = '\0';
		rc = 0;
	}
	proto_reply_free(&rep);
	return rc;
}

void
wbuf_free(struct wbuf *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}
