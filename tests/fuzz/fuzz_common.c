/*
 * fuzz_common.c: the bodies of the libFuzzer harnesses, also replayed over
 * the corpus by tests/test_fuzzregress.c in the gcc and ASan builds.
 */
#include <sys/socket.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../acctd/acctd.h"
#include "../../common/io.h"
#include "fuzz.h"

#define CHECK(c)	do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

/* An error message must be a NUL-terminated, non-empty C string. */
static void
check_msg(const char *msg, size_t sz)
{
	CHECK(memchr(msg, '\0', sz) != NULL);
	CHECK(msg[0] != '\0');
}

/* Each validator on a copy, as the handlers call them. */
static void
validate_args(const struct proto_request *req)
{
	static const enum proto_field text[] = { F_NAME, F_UPLOAD_PATH,
	    F_AUTH_ID, F_SEARCH, F_SERVICE, F_REMOTE_ADDR, F_SCOPE, F_ID,
	    F_CLIENT_ID };
	struct config cfg;
	char err[256], *s;

	config_defaults(&cfg);
	if (PROTO_HAS(req, F_USERNAME)) {
		CHECK((s = strdup(req->arg[F_USERNAME].str)) != NULL);
		if (validate_username(s, err, sizeof(err)) == 0) {
			/* Lowercased, and only the allowed characters. */
			CHECK(strlen(s) >= 1 && strlen(s) <= 64);
			CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789"
			    "._-@") == strlen(s));
		} else
			check_msg(err, sizeof(err));
		free(s);
	}
	if (PROTO_HAS(req, F_EMAIL)) {
		CHECK((s = strdup(req->arg[F_EMAIL].str)) != NULL);
		if (validate_email(s, err, sizeof(err)) == 0) {
			CHECK(strchr(s, '@') != NULL);
			CHECK(strpbrk(s, " \t\r\n\"<>,;") == NULL);
		} else
			check_msg(err, sizeof(err));
		free(s);
	}
	if (PROTO_HAS(req, F_ROLE) &&
	    validate_role(req->arg[F_ROLE].str, err, sizeof(err)) == -1)
		check_msg(err, sizeof(err));
	if (PROTO_HAS(req, F_AUTH_PROVIDER) &&
	    validate_provider(req->arg[F_AUTH_PROVIDER].str, err,
	    sizeof(err)) == -1)
		check_msg(err, sizeof(err));
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		if (!PROTO_HAS(req, text[i]))
			continue;
		if (validate_text(proto_fields[text[i]].name,
		    req->arg[text[i]].str, err, sizeof(err)) == -1)
			check_msg(err, sizeof(err));
		else
			CHECK(strpbrk(req->arg[text[i]].str,
			    "\x01\x1b\n\r\x7f") == NULL);
	}
	for (int f = F_PASSWORD; f <= F_NEW_PASSWORD; f++)
		if (PROTO_HAS(req, f) && validate_password(&cfg,
		    req->arg[f].str, req->arg[f].len, err, sizeof(err)) == -1) {
			check_msg(err, sizeof(err));
			/* The rule, never the password. */
			CHECK(req->arg[f].len < 8 ||
			    strstr(err, req->arg[f].str) == NULL);
		}
	if (PROTO_HAS(req, F_TYPE)) {
		int t = token_type_parse(req->arg[F_TYPE].str);

		/* A name parses to its kind, and the kind names it back. */
		CHECK(t < 0 || strcmp(token_type_names[t],
		    req->arg[F_TYPE].str) == 0);
	}
	if (PROTO_HAS(req, F_SCOPE))
		(void)scope_allows(req->arg[F_SCOPE].str,
		    PROTO_HAS(req, F_SERVICE) ? req->arg[F_SERVICE].str :
		    "imap");
	if (PROTO_HAS(req, F_TOKEN)) {
		char id[TOKEN_ID_LEN];

		token_id_of(req->arg[F_TOKEN].str, id);
		CHECK(strlen(id) < TOKEN_ID_LEN);
	}
}

/* Encode the decoded request again: it must decode to the same. */
static void
roundtrip(const struct proto_request *req)
{
	struct proto_msg m;
	struct proto_frame f;
	struct proto_request again;
	char msg[256];

	proto_msg_init(&m);
	for (int i = 0; i < F__COUNT; i++) {
		const struct proto_value *v = &req->arg[i];
		msgpack_packer *pk;

		if (!PROTO_HAS(req, i))
			continue;
		switch (proto_fields[i].type) {
		case PT_STR:
		case PT_SECRET:
			pk = proto_kv_begin(&m, proto_fields[i].name);
			msgpack_pack_str(pk, v->len);
			msgpack_pack_str_body(pk, v->str, v->len);
			break;
		case PT_INT:
			proto_kv_int(&m, proto_fields[i].name, v->i);
			break;
		case PT_BOOL:
			proto_kv_bool(&m, proto_fields[i].name, v->b);
			break;
		}
	}
	CHECK(proto_request_finish(&m, req->id, proto_ops[req->op].name,
	    &f) == ACCT_OK);
	proto_msg_free(&m);
	CHECK(proto_get_len(f.data) == f.len - PROTO_HDR_LEN);
	CHECK(proto_request_decode(f.data + PROTO_HDR_LEN,
	    f.len - PROTO_HDR_LEN, &again, msg, sizeof(msg)) == ACCT_OK);
	CHECK(again.id == req->id && again.op == req->op &&
	    again.present == req->present);
	for (int i = 0; i < F__COUNT; i++) {
		const struct proto_value *a = &req->arg[i], *b = &again.arg[i];

		CHECK(a->len == b->len && a->i == b->i && a->b == b->b);
		CHECK((a->str == NULL) == (b->str == NULL));
		CHECK(a->str == NULL || memcmp(a->str, b->str, a->len) == 0);
	}
	proto_request_free(&again);
	proto_frame_free(&f);
}

static void
reply(const uint8_t *data, size_t len)
{
	struct proto_reply rep;
	void *copy;

	if (len == 0 || (copy = malloc(len)) == NULL)
		return;
	memcpy(copy, data, len);
	if (proto_reply_decode(copy, len, &rep) == ACCT_OK) {
		CHECK(rep.code != ACCT_OK || (rep.result != NULL &&
		    rep.result->type == MSGPACK_OBJECT_MAP));
		CHECK(memchr(rep.message, '\0', sizeof(rep.message)) != NULL);
		for (const char *c = rep.message; *c; c++)
			CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	proto_reply_free(&rep);
}

void
fuzz_payload(const uint8_t *data, size_t len)
{
	struct proto_request req;
	char msg[256];
	int rc;

	memset(msg, 'x', sizeof(msg));
	rc = proto_request_decode(data, len, &req, msg, sizeof(msg));
	if (rc == ACCT_OK) {
		CHECK(req.op < OP__COUNT);
		CHECK((req.present & proto_ops[req.op].required) ==
		    proto_ops[req.op].required);
		CHECK((req.present & ~proto_ops[req.op].allowed) == 0);
		for (int i = 0; i < F__COUNT; i++) {
			const struct proto_value *v = &req.arg[i];
			enum proto_type t = proto_fields[i].type;

			if (!PROTO_HAS(&req, i) || (t != PT_STR &&
			    t != PT_SECRET)) {
				CHECK(v->str == NULL);
				continue;
			}
			CHECK(v->str != NULL && v->str[v->len] == '\0');
			CHECK(strlen(v->str) == v->len);
			CHECK(v->len <= proto_fields[i].max);
		}
		validate_args(&req);
		roundtrip(&req);
	} else {
		check_msg(msg, sizeof(msg));
		CHECK(rc == ACCT_ERR_NOMEM ||
		    (rc > ACCT_OK && rc < ACCT_ERR__WIRE_MAX));
		CHECK(req.present == 0);
	}
	proto_request_free(&req);
	reply(data, len);
}

/* ---- fuzz_frame: bytes from a client socket ---- */

struct feed {
	int		 fd;
	const uint8_t	*data;
	size_t		 len;
};

static void *
writer(void *arg)
{
	struct feed *f = arg;

	(void)io_write_all(f->fd, f->data, f->len);
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

void
fuzz_frame(const uint8_t *data, size_t size)
{
	struct feed f = { -1, data, size };
	enum frame_status st;
	struct frame_reader rd;
	pthread_t t;
	uint8_t *buf;
	size_t len;
	int sv[2], frames = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	f.fd = sv[1];
	if (pthread_create(&t, NULL, writer, &f) != 0)
		abort();
	/* Bounded waits only trigger if a read blocks: all is sent. */
	frame_reader_init(&rd, sv[0]);
	while ((st = frame_recv(&rd, PROTO_MAX_REQUEST, 5000, 5000, -1,
	    &buf, &len, NULL)) == FRAME_OK) {
		if (buf == NULL || len == 0 || len > PROTO_MAX_REQUEST)
			abort();
		fuzz_payload(buf, len);
		free(buf);
		frames++;
	}
	if (buf != NULL || st == FRAME_IDLE || st == FRAME_SLOW ||
	    st == FRAME_STOP) {
		fprintf(stderr, "frame_recv: status %d after %d frames\n",
		    (int)st, frames);
		abort();
	}
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
}

/* ---- fuzz_config: acctd.conf text ---- */

void
fuzz_config(const uint8_t *data, size_t size)
{
	struct config c;
	char *text, err[512];

	/* config_load() refuses NUL bytes; the text ends at the first. */
	if ((text = malloc(size + 1)) == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(&c);
	memset(err, 'x', sizeof(err));
	if (config_parse(&c, "fuzz.conf", text, err, sizeof(err)) == 0) {
		CHECK(c.socket_path[0] == '/');
		CHECK(memchr(c.socket_path, '\0', sizeof(c.socket_path)));
		CHECK(c.db_path[0] == '/');
		CHECK(memchr(c.db_path, '\0', sizeof(c.db_path)));
		CHECK(memchr(c.admin_group, '\0', sizeof(c.admin_group)));
		CHECK(memchr(c.auth_group, '\0', sizeof(c.auth_group)));
		CHECK(c.admin_group[0] != '\0' && c.auth_group[0] != '\0');
		CHECK(c.pw_min >= 1 && c.pw_min <= c.pw_max);
		CHECK(c.argon2_m <= ACCTD_ARGON2_MAX_M &&
		    c.argon2_t >= 1 && c.argon2_t <= ACCTD_ARGON2_MAX_T &&
		    c.argon2_p >= 1 && c.argon2_p <= ACCTD_ARGON2_MAX_P &&
		    c.argon2_m >= 8 * c.argon2_p);
		CHECK(c.max_conn >= 1 && c.max_conn_uid >= 1);
		CHECK(c.idle_timeout >= 1 && c.frame_timeout >= 1);
		CHECK(c.log_level >= 0 && c.log_level <= 3);
		CHECK(c.lockout_base <= c.lockout_max);
		CHECK(memchr(c.sendmail_command, '\0',
		    sizeof(c.sendmail_command)));
		CHECK(c.sendmail_command[0] == '/' &&
		    strpbrk(c.sendmail_command, "\r\n\t") == NULL);
		CHECK(memchr(c.mail_from, '\0', sizeof(c.mail_from)));
		CHECK(strpbrk(c.mail_from, " \r\n") == NULL);
		CHECK(strpbrk(c.reset_url, " \r\n") == NULL);
		CHECK(strpbrk(c.activation_url, " \r\n") == NULL);
	} else {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		CHECK(strncmp(err, "fuzz.conf", 9) == 0);
	}
	free(text);
}
