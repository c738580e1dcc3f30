/*
 * codec.c: encoding of requests and replies, and the strict decoder of
 * requests that the daemon runs on every frame.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/text.h"
#include "proto.h"

#define REPLY_MAX_DEPTH	8
#define REQUEST_ZONE_CHUNK 512	/* a usual request's objects fit in one */

/* ---- building messages ---- */

/*
 * The first buffer of a message: most replies fit, and it stays below
 * glibc's large-bin sizes (1024 bytes and up), whose every allocation
 * first consolidates the fast bins.
 */
#define MSG_FIRST_CAP	1000

/*
 * Room for len more bytes. Our own buffer instead of msgpack_sbuffer: it
 * wipes the old copy when it grows (messages may carry passwords) and
 * records allocation failure so finish() can refuse a truncated message.
 */
static int
msg_reserve(struct proto_msg *m, size_t len)
{
	size_t cap = m->cap ? m->cap : MSG_FIRST_CAP;
	uint8_t *n;

	if (m->failed)
		return -1;
	if (len <= m->cap - m->len)
		return 0;
	while (len > cap - m->len) {
		if (cap > PROTO_MAX_REPLY) {
			m->failed = true;
			return -1;
		}
		cap *= 2;
	}
	if ((n = malloc(cap)) == NULL) {
		m->failed = true;
		return -1;
	}
	if (m->len > 0)
		memcpy(n, m->data, m->len);
	if (m->data != NULL) {
		explicit_bzero(m->data, m->cap);
		free(m->data);
	}
	m->data = n;
	m->cap = cap;
	return 0;
}

static int
msg_write(void *data, const char *buf, size_t len)
{
	struct proto_msg *m = data;

	if (len == 0)		/* an empty body: buf may be NULL */
		return m->failed ? -1 : 0;
	if (msg_reserve(m, len) == -1)
		return -1;
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

void
proto_msg_init(struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	msgpack_packer_init(&m->pk, m, msg_write);
}

void
proto_msg_free(struct proto_msg *m)
{
	if (m->data != NULL) {
		explicit_bzero(m->data, m->cap);
		free(m->data);
	}
	memset(m, 0, sizeof(*m));
}

void
proto_msg_raw(struct proto_msg *m, const void *data, size_t len)
{
	msg_write(m, data, len);
}

void
proto_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

msgpack_packer *
proto_kv_begin(struct proto_msg *m, const char *key)
{
	m->npairs++;
	proto_pack_cstr(&m->pk, key);
	return &m->pk;
}

void
proto_kv_str(struct proto_msg *m, const char *key, const char *val)
{
	proto_pack_cstr(proto_kv_begin(m, key), val);
}

void
proto_kv_int(struct proto_msg *m, const char *key, int64_t val)
{
	msgpack_pack_int64(proto_kv_begin(m, key), val);
}

void
proto_kv_bool(struct proto_msg *m, const char *key, bool val)
{
	msgpack_packer *pk = proto_kv_begin(m, key);

	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
proto_kv_nil(struct proto_msg *m, const char *key)
{
	msgpack_pack_nil(proto_kv_begin(m, key));
}

/*
 * A clamped field (context a client reports) is cut here as the daemon
 * would cut it, at a character's first byte: the request stays small
 * and an older daemon does not refuse it.
 */
void
proto_kv_str_f(struct proto_msg *m, enum proto_field f, const char *val)
{
	const struct proto_field_def *d = &proto_fields[f];
	msgpack_packer *pk = proto_kv_begin(m, d->name);
	size_t n = strlen(val);

	if (d->clamp && n > d->max)
		for (n = d->max; n > 0 && ((uint8_t)val[n] & 0xc0) == 0x80; n--)
			;
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, val, n);
}

void
proto_kv_int_f(struct proto_msg *m, enum proto_field f, int64_t val)
{
	proto_kv_int(m, proto_fields[f].name, val);
}

void
proto_kv_bool_f(struct proto_msg *m, enum proto_field f, bool val)
{
	proto_kv_bool(m, proto_fields[f].name, val);
}

/*
 * Frame = length header, then map { "v": 1, "id": id, <tail> }, where
 * tail is the caller's key plus the body map built in *body.
 */
static int
finish(struct proto_msg *body, uint64_t id, const char *op,
    const char *bodykey, size_t max, struct proto_frame *out)
{
	struct proto_msg f;
	uint8_t hdr[PROTO_HDR_LEN] = { 0 };
	int rc = ACCT_OK;

	out->data = NULL;
	out->len = 0;
	if (body->failed)
		return ACCT_ERR_NOMEM;
	proto_msg_init(&f);
	/* One allocation: the map's head takes less than 64 bytes. */
	(void)msg_reserve(&f, sizeof(hdr) + 64 + (op ? strlen(op) : 0) +
	    strlen(bodykey) + body->len);
	msg_write(&f, (const char *)hdr, sizeof(hdr));
	msgpack_pack_map(&f.pk, op ? 4 : 3);
	proto_pack_cstr(&f.pk, "v");
	msgpack_pack_uint32(&f.pk, PROTO_VERSION);
	proto_pack_cstr(&f.pk, "id");
	msgpack_pack_uint64(&f.pk, id);
	if (op != NULL) {
		proto_pack_cstr(&f.pk, "op");
		proto_pack_cstr(&f.pk, op);
	}
	proto_pack_cstr(&f.pk, bodykey);
	msgpack_pack_map(&f.pk, body->npairs);
	msg_write(&f, (const char *)body->data, body->len);
	if (f.failed)
		rc = ACCT_ERR_NOMEM;
	else if (f.len - PROTO_HDR_LEN > max)
		rc = ACCT_ERR_INVALID;
	if (rc != ACCT_OK) {
		proto_msg_free(&f);
		return rc;
	}
	proto_put_len(f.data, (uint32_t)(f.len - PROTO_HDR_LEN));
	out->data = f.data;
	out->len = f.len;
	return ACCT_OK;
}

int
proto_request_finish(struct proto_msg *args, uint64_t id, const char *op,
    struct proto_frame *out)
{
	return finish(args, id, op, "args", PROTO_MAX_REQUEST, out);
}

int
proto_reply_finish(struct proto_msg *result, uint64_t id,
    struct proto_frame *out)
{
	return finish(result, id, NULL, "result", PROTO_MAX_REPLY, out);
}

int
proto_error_finish(uint64_t id, int code, const char *message,
    struct proto_frame *out)
{
	return proto_error_finish_kv(id, code, message, NULL, out);
}

int
proto_error_finish_kv(uint64_t id, int code, const char *message,
    const char *const *kv, struct proto_frame *out)
{
	struct proto_msg e;
	int rc;

	proto_msg_init(&e);
	proto_kv_int(&e, "code", code);
	proto_kv_str(&e, "name", acct_errname(code));
	proto_kv_str(&e, "message", message ? message : acct_strerror(code));
	for (; kv != NULL && kv[0] != NULL && kv[1] != NULL; kv += 2)
		proto_kv_str(&e, kv[0], kv[1]);
	rc = finish(&e, id, NULL, "error", PROTO_MAX_REPLY, out);
	proto_msg_free(&e);
	return rc;
}

void
proto_frame_free(struct proto_frame *f)
{
	if (f->data != NULL) {
		explicit_bzero(f->data, f->len);
		free(f->data);
	}
	f->data = NULL;
	f->len = 0;
}

void
proto_put_len(uint8_t hdr[PROTO_HDR_LEN], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

uint32_t
proto_get_len(const uint8_t hdr[PROTO_HDR_LEN])
{
	return (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
}

/* ---- decoding ---- */

static bool
keyis(const msgpack_object *k, const char *s)
{
	size_t n = strlen(s);

	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	    memcmp(k->via.str.ptr, s, n) == 0;
}

const msgpack_object *
proto_map_get(const msgpack_object *map, const char *key)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (keyis(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}


static int fail(char *, size_t, int, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *msg, size_t msgsz, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msgsz, fmt, ap);
	va_end(ap);
	return code;
}

static int
field_lookup(const msgpack_object *k)
{
	for (int f = 0; f < F__COUNT; f++)
		if (keyis(k, proto_fields[f].name))
			return f;
	return -1;
}

static int
decode_value(enum proto_field f, const msgpack_object *v,
    struct proto_value *out, char *msg, size_t msgsz)
{
	const struct proto_field_def *d = &proto_fields[f];
	size_t n;

	switch (d->type) {
	case PT_STR:
	case PT_SECRET:
		if (v->type != MSGPACK_OBJECT_STR)
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' must be a string", d->name);
		n = v->via.str.size;
		if (n > d->max && !d->clamp)
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' is longer than %zu bytes",
			    d->name, d->max);
		if (memchr(v->via.str.ptr, '\0', n) != NULL ||
		    !text_utf8_valid(v->via.str.ptr, n))
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' is not valid UTF-8 text", d->name);
		if (n > d->max)	/* clamp: back to a character's first byte */
			for (n = d->max; n > 0 &&
			    ((uint8_t)v->via.str.ptr[n] & 0xc0) == 0x80; n--)
				;
		if ((out->str = malloc(n + 1)) == NULL)
			return fail(msg, msgsz, ACCT_ERR_NOMEM, "out of memory");
		memcpy(out->str, v->via.str.ptr, n);
		out->str[n] = '\0';
		out->len = n;
		return ACCT_OK;
	case PT_INT:
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
		    v->via.u64 > d->max)
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' must be an integer from 0 to %zu",
			    d->name, d->max);
		out->i = (int64_t)v->via.u64;
		return ACCT_OK;
	case PT_BOOL:
		if (v->type != MSGPACK_OBJECT_BOOLEAN)
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' must be a boolean", d->name);
		out->b = v->via.boolean;
		return ACCT_OK;
	}
	return fail(msg, msgsz, ACCT_ERR_INTERNAL, "bad schema");
}

static int
decode_args(const msgpack_object *args, struct proto_request *req,
    char *msg, size_t msgsz)
{
	const struct proto_op_def *op = &proto_ops[req->op];
	int rc;

	if (args->type != MSGPACK_OBJECT_MAP)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "'args' must be a map");
	if (args->via.map.size > PROTO_MAX_ARGS)
		return fail(msg, msgsz, ACCT_ERR_INVALID, "too many arguments");
	for (uint32_t i = 0; i < args->via.map.size; i++) {
		const msgpack_object_kv *kv = &args->via.map.ptr[i];
		int f = field_lookup(&kv->key);

		if (f < 0 || (op->allowed & FB(f)) == 0)
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "unknown argument for %s", op->name);
		if (req->present & FB(f))
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "argument '%s' given twice", proto_fields[f].name);
		if ((rc = decode_value(f, &kv->val, &req->arg[f], msg,
		    msgsz)) != ACCT_OK)
			return rc;
		req->present |= FB(f);
	}
	for (int f = 0; f < F__COUNT; f++)
		if ((op->required & FB(f)) && !(req->present & FB(f)))
			return fail(msg, msgsz, ACCT_ERR_INVALID,
			    "missing argument '%s'", proto_fields[f].name);
	return ACCT_OK;
}

/* The envelope's four keys, each once, and nothing else. */
static int
envelope(const msgpack_object *top, const msgpack_object *slot[4],
    const char *const names[4], char *msg, size_t msgsz)
{
	if (top->type != MSGPACK_OBJECT_MAP)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "message must be a map");
	for (uint32_t i = 0; i < top->via.map.size; i++) {
		const msgpack_object_kv *kv = &top->via.map.ptr[i];
		int k;

		for (k = 0; k < 4; k++)
			if (names[k] != NULL && keyis(&kv->key, names[k]))
				break;
		if (k == 4)
			return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
			    "unknown key in envelope");
		if (slot[k] != NULL)
			return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
			    "duplicate key in envelope");
		slot[k] = &kv->val;
	}
	return ACCT_OK;
}

static int
decode_request(const msgpack_object *top, struct proto_request *req,
    char *msg, size_t msgsz)
{
	static const char *const names[4] = { "v", "id", "op", "args" };
	const msgpack_object *s[4] = { NULL, NULL, NULL, NULL };
	int rc, op;

	if ((rc = envelope(top, s, names, msg, msgsz)) != ACCT_OK)
		return rc;
	if (s[1] == NULL || s[1]->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "'id' must be a non-negative integer");
	req->id = s[1]->via.u64;
	if (s[0] == NULL || s[0]->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "'v' must be a non-negative integer");
	if (s[0]->via.u64 != PROTO_VERSION)
		return fail(msg, msgsz, ACCT_ERR_VERSION,
		    "protocol version %d required", PROTO_VERSION);
	if (s[2] == NULL || s[2]->type != MSGPACK_OBJECT_STR)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "'op' must be a string");
	if ((op = proto_op_lookup(s[2]->via.str.ptr, s[2]->via.str.size)) < 0)
		return fail(msg, msgsz, ACCT_ERR_UNKNOWN_OP,
		    "unknown operation");
	req->op = (enum proto_op)op;
	if (s[3] == NULL)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL, "'args' missing");
	return decode_args(s[3], req, msg, msgsz);
}

int
proto_request_decode(const void *buf, size_t len, struct proto_request *req,
    char *msg, size_t msgsz)
{
	msgpack_object obj;
	msgpack_zone z;
	size_t off = 0;
	int rc;

	memset(req, 0, sizeof(*req));
	if (len > PROTO_MAX_REQUEST)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL, "request too large");
	if (proto_prescan(buf, len, PROTO_MAX_DEPTH) != 0)
		return fail(msg, msgsz, ACCT_ERR_PROTOCOL,
		    "not a well-formed MessagePack value within limits");
	/* A zone of small chunks: msgpack_unpack_next()'s 8 KiB one per
	 * request made malloc consolidate its free lists every time. */
	if (!msgpack_zone_init(&z, REQUEST_ZONE_CHUNK))
		return fail(msg, msgsz, ACCT_ERR_NOMEM, "out of memory");
	if (msgpack_unpack(buf, len, &off, &z, &obj) != MSGPACK_UNPACK_SUCCESS ||
	    off != len)
		rc = fail(msg, msgsz, ACCT_ERR_PROTOCOL, "cannot decode message");
	else
		rc = decode_request(&obj, req, msg, msgsz);
	msgpack_zone_destroy(&z);
	if (rc != ACCT_OK) {
		uint64_t id = req->id;

		proto_request_free(req);
		req->id = id;
	}
	return rc;
}

void
proto_request_free(struct proto_request *req)
{
	for (int f = 0; f < F__COUNT; f++) {
		struct proto_value *v = &req->arg[f];

		if (v->str != NULL) {
			explicit_bzero(v->str, v->len);
			free(v->str);
		}
	}
	memset(req, 0, sizeof(*req));
}

/* Copy an error message, replacing control characters: it is printed. */
static void
copy_message(char *dst, size_t dstsz, const msgpack_object *o)
{
	size_t n = o->via.str.size < dstsz - 1 ? o->via.str.size : dstsz - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)o->via.str.ptr[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[n] = '\0';
}

static int
decode_reply(const msgpack_object *top, struct proto_reply *rep)
{
	static const char *const names[4] = { "v", "id", "result", "error" };
	const msgpack_object *s[4] = { NULL, NULL, NULL, NULL };
	char scratch[64];

	if (envelope(top, s, names, scratch, sizeof(scratch)) != ACCT_OK ||
	    s[0] == NULL || s[0]->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    s[0]->via.u64 != PROTO_VERSION ||
	    s[1] == NULL || s[1]->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    (s[2] == NULL) == (s[3] == NULL))
		return ACCT_ERR_PROTOCOL;
	rep->id = s[1]->via.u64;
	if (s[2] != NULL) {
		if (s[2]->type != MSGPACK_OBJECT_MAP)
			return ACCT_ERR_PROTOCOL;
		rep->code = ACCT_OK;
		rep->result = s[2];
		return ACCT_OK;
	}
	const msgpack_object *code = proto_map_get(s[3], "code");
	const msgpack_object *text = proto_map_get(s[3], "message");
	if (code == NULL || code->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    code->via.u64 == ACCT_OK || code->via.u64 >= ACCT_ERR_CONNECT ||
	    text == NULL || text->type != MSGPACK_OBJECT_STR)
		return ACCT_ERR_PROTOCOL;
	rep->code = (int)code->via.u64;
	rep->error = s[3];
	copy_message(rep->message, sizeof(rep->message), text);
	return ACCT_OK;
}

int
proto_reply_decode(void *buf, size_t len, struct proto_reply *rep)
{
	size_t off = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->raw = buf;
	rep->rawlen = len;
	rep->code = ACCT_ERR_PROTOCOL;
	msgpack_unpacked_init(&rep->un);
	if (len > PROTO_MAX_REPLY ||
	    proto_prescan(buf, len, REPLY_MAX_DEPTH) != 0 ||
	    msgpack_unpack_next(&rep->un, buf, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len)
		return ACCT_ERR_PROTOCOL;
	if ((rc = decode_reply(&rep->un.data, rep)) != ACCT_OK) {
		rep->code = ACCT_ERR_PROTOCOL;
		rep->result = NULL;
		rep->error = NULL;
	}
	return rc;
}

void
proto_reply_free(struct proto_reply *rep)
{
	msgpack_unpacked_destroy(&rep->un);
	/* Replies carry new tokens and secrets, shown once. */
	if (rep->raw != NULL)
		explicit_bzero(rep->raw, rep->rawlen);
	free(rep->raw);
	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
}
