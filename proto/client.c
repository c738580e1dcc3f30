/*
 * client.c: a blocking connection to acctd carrying many requests.
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
};

int
acct_conn_open(const char *path, struct acct_conn **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct acct_conn *c;
	int fd;

	*out = NULL;
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
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return ACCT_ERR_NOMEM;
	}
	c->fd = fd;
	c->next_id = 1;
	*out = c;
	return ACCT_OK;
}

void
acct_conn_close(struct acct_conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c);
}

int
acct_conn_call(struct acct_conn *c, const char *op, struct proto_msg *args,
    struct proto_reply *rep)
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
	if (args == NULL) {
		proto_msg_init(&none);
		args = &none;
	}
	rc = proto_request_finish(args, id, op, &f);
	if (args == &none)
		proto_msg_free(&none);
	if (rc != ACCT_OK)
		return rc;
	rc = io_write_all(c->fd, f.data, f.len);
	proto_frame_free(&f);
	if (rc != 0)
		return ACCT_ERR_IO;
	if (frame_recv(c->fd, PROTO_MAX_REPLY, -1, -1, -1, &buf, &len) !=
	    FRAME_OK)
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
