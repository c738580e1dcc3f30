/*
 * saslauthd.c: the saslauthd "mux" protocol, for Cyrus SASL's
 * pwcheck_method saslauthd (Postfix, Cyrus IMAP, testsaslauthd): one
 * request per connection, counted strings in, "OK" or "NO reason" out.
 * Each request is turned into a login of acctd's own protocol and goes
 * through dispatch: the same policy, limits, throttle and audit; that
 * turn, service_login(), is dovecot.c's too.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/io.h"
#include "../common/log.h"
#include "acctd.h"

#define FIELD_MAX	4096	/* a password may be this long */
#define FIELDS		5	/* login, password, service, realm, address */

struct field {
	char	*s;
	size_t	 len;
};

static void
fields_free(struct field *f)
{
	for (int i = 0; i < FIELDS; i++)
		if (f[i].s != NULL)
			freezero(f[i].s, f[i].len + 1);
	memset(f, 0, FIELDS * sizeof(*f));
}

/* One counted string: a 16-bit big-endian length, then the bytes. */
static int
read_field(int fd, int64_t deadline, struct field *f)
{
	uint8_t n[2];

	if (io_read_full(fd, n, sizeof(n), deadline) != 0)
		return -1;
	f->len = (size_t)n[0] << 8 | n[1];
	if (f->len > FIELD_MAX || (f->s = malloc(f->len + 1)) == NULL)
		return -1;
	if (io_read_full(fd, f->s, f->len, deadline) != 0)
		return -1;
	f->s[f->len] = '\0';
	return 0;
}

/*
 * The four strings every client sends, and the fifth, the client's
 * address, that newer ones add: there if its length is already waiting
 * behind the fourth, as a client writes its request all at once.
 */
static int
read_request(int fd, int timeout_ms, struct field *f)
{
	int64_t deadline = io_deadline(timeout_ms);
	uint8_t peek[2];

	for (int i = 0; i < FIELDS - 1; i++)
		if (read_field(fd, deadline, &f[i]) == -1)
			return -1;
	if (recv(fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT) ==
	    (ssize_t)sizeof(peek) && read_field(fd, deadline, &f[4]) == -1)
		return -1;
	return 0;
}

static void
reply(int fd, const char *text)
{
	uint8_t buf[2 + 256];
	size_t n = strnlen(text, sizeof(buf) - 2);

	buf[0] = (uint8_t)(n >> 8);
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, text, n);
	(void)io_write_all(fd, buf, n + 2);
}

int
service_login(const struct peer *peer, const char *user, size_t ulen,
    const char *pw, size_t plen, const char *service, const char *remote,
    char *msg, size_t msgsz)
{
	struct proto_msg args;
	struct proto_frame req, out;
	struct proto_reply rep;
	uint8_t *copy;
	int rc;

	msg[0] = '\0';
	if (ulen == 0 || plen == 0) {
		strlcpy(msg, "empty login or password", msgsz);
		return ACCT_ERR_INVALID;
	}
	/* As C strings they would be cut short: "alice\0admin" is not
	 * alice, and a password is all its bytes. No name or password of
	 * acctd's holds one, so nothing is checked. */
	if (memchr(user, '\0', ulen) != NULL || memchr(pw, '\0', plen) !=
	    NULL) {
		log_info("service login: uid %u (%s): a NUL byte in the login "
		    "or password: refused", (unsigned)peer->uid, peer->comm);
		return ACCT_ERR_AUTH_FAILED;
	}
	proto_msg_init(&args);
	proto_kv_str(&args, proto_fields[F_USERNAME].name, user);
	proto_kv_str(&args, proto_fields[F_PASSWORD].name, pw);
	proto_kv_str(&args, proto_fields[F_SERVICE].name, service);
	if (remote != NULL && remote[0] != '\0')
		proto_kv_str(&args, proto_fields[F_REMOTE_ADDR].name, remote);
	/* pam_acct's rules: the exact name, and no code can be asked. */
	proto_kv_bool(&args, proto_fields[F_EXACT_NAME].name, true);
	proto_kv_bool(&args, proto_fields[F_NO_CODE].name, true);
	rc = proto_request_finish(&args, 1, proto_ops[OP_LOGIN].name, &req);
	proto_msg_free(&args);
	if (rc != ACCT_OK)
		return rc;
	dispatch(peer, req.data + PROTO_HDR_LEN, req.len - PROTO_HDR_LEN, -1,
	    &out);
	proto_frame_free(&req);
	if (out.data == NULL)
		return ACCT_ERR_INTERNAL;
	/* proto_reply_decode() takes a buffer of its own. */
	if ((copy = malloc(out.len - PROTO_HDR_LEN)) == NULL) {
		proto_frame_free(&out);
		return ACCT_ERR_NOMEM;
	}
	memcpy(copy, out.data + PROTO_HDR_LEN, out.len - PROTO_HDR_LEN);
	rc = proto_reply_decode(copy, out.len - PROTO_HDR_LEN, &rep);
	proto_frame_free(&out);
	if (rc == ACCT_OK) {
		rc = rep.code;
		strlcpy(msg, rep.message, msgsz);
	}
	proto_reply_free(&rep);
	return rc;
}

void
saslauthd_serve(int fd, const struct peer *peer, int timeout_ms)
{
	struct field f[FIELDS];
	char msg[256], text[260];
	int rc;

	memset(f, 0, sizeof(f));
	/* Malformed or too long: this connection ends, nothing else. */
	if (read_request(fd, timeout_ms, f) == -1) {
		log_info("saslauthd: uid %u (%s): malformed request, closing",
		    (unsigned)peer->uid, peer->comm);
		fields_free(f);
		return;
	}
	rc = service_login(peer, f[0].s, f[0].len, f[1].s, f[1].len, f[2].s,
	    f[4].s, msg, sizeof(msg));
	fields_free(f);
	if (rc == ACCT_OK)
		reply(fd, "OK");
	else {
		snprintf(text, sizeof(text), "NO %s", msg[0] ? msg :
		    acct_strerror(rc));
		reply(fd, text);
	}
}
