/*
 * client.c: a blocking connection to acctd carrying many requests, made
 * only once the kernel says root (or the uid asked for) serves it.
 * Not thread-safe: one connection per thread, or a lock around calls.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/io.h"
#include "client.h"

struct acct_conn {
	int		fd;
	uint64_t	next_id;
	int		timeout_ms;	/* per reply; -1: none */
	struct frame_reader rd;
};

/* The uid of the process that listens on fd, or (uid_t)-1. */
static uid_t
server_of(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 ||
	    len != sizeof(cr))
		return (uid_t)-1;
	return cr.uid;
}

int
acct_conn_open(const char *path, uid_t server_uid, uid_t *peer_uid,
    struct acct_conn **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct acct_conn *c;
	uid_t peer;
	int fd;

	*out = NULL;
	if (peer_uid != NULL)
		*peer_uid = (uid_t)-1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return ACCT_ERR_CONNECT;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return ACCT_ERR_CONNECT;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;
		close(fd);
		errno = saved;
		return ACCT_ERR_CONNECT;
	}
	/* A squatter on the path must get nothing, not even a hello. */
	peer = server_of(fd);
	if (peer_uid != NULL)
		*peer_uid = peer;
	if (peer == (uid_t)-1 || (peer != 0 && peer != server_uid)) {
		close(fd);
		errno = EPERM;
		return ACCT_ERR_UNTRUSTED;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return ACCT_ERR_NOMEM;
	}
	c->fd = fd;
	frame_reader_init(&c->rd, fd);
	c->next_id = 1;
	c->timeout_ms = -1;
	*out = c;
	return ACCT_OK;
}

void
acct_conn_set_timeout(struct acct_conn *c, int ms)
{
	c->timeout_ms = ms > 0 ? ms : -1;
}

void
acct_conn_close(struct acct_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	frame_reader_wipe(&c->rd);
	free(c);
}

int
acct_conn_call(struct acct_conn *c, enum proto_op op, struct proto_msg *args,
    struct proto_reply *rep)
{
	return acct_conn_call_fd(c, op, args, -1, rep);
}

int
acct_conn_call_fd(struct acct_conn *c, enum proto_op op,
    struct proto_msg *args, int passfd, struct proto_reply *rep)
{
	struct proto_msg none;
	struct proto_frame f;
	uint8_t *buf;
	size_t len;
	uint64_t id = c->next_id++;
	int rc;

	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
	rep->code = ACCT_ERR_IO;
	if ((unsigned)op >= OP__COUNT)
		return ACCT_ERR_INVALID;
	if (args == NULL) {
		proto_msg_init(&none);
		args = &none;
	}
	rc = proto_request_finish(args, id, proto_ops[op].name, &f);
	if (args == &none)
		proto_msg_free(&none);
	if (rc != ACCT_OK)
		return rc;
	rc = passfd >= 0 ? io_write_all_fd(c->fd, f.data, f.len, passfd) :
	    io_write_all(c->fd, f.data, f.len);
	proto_frame_free(&f);
	if (rc != 0)
		return ACCT_ERR_IO;
	if (frame_recv(&c->rd, PROTO_MAX_REPLY, c->timeout_ms, c->timeout_ms,
	    -1, &buf, &len, NULL) != FRAME_OK)
		return ACCT_ERR_IO;
	if ((rc = proto_reply_decode(buf, len, rep)) != ACCT_OK)
		return rc;
	if (rep->id != id) {
		proto_reply_free(rep);
		rep->code = ACCT_ERR_PROTOCOL;
		return ACCT_ERR_PROTOCOL;
	}
	return ACCT_OK;
}
