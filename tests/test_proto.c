/*
 * test_proto.c: proto/: request and reply round trips, the strict request
 * decoder and proto_prescan against every malformed input we could think of.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../proto/proto.h"
#include "harness.h"

#define SECRET	"hunter2"	/* must never show up in an error message */
#define ID_ANY	UINT64_C(0xfeedfacecafebeef)	/* expect_fail: any id */
#define B(s)	s, sizeof(s) - 1		/* a byte string and its length */

/* ---- helpers ---- */

/* A copy of exactly len bytes on the heap, so ASan sees any overread. */
static uint8_t *
heap_copy(const void *p, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	assert_non_null(c);
	if (len > 0)
		memcpy(c, p, len);
	return c;
}

static void
pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void
pk_bin(msgpack_packer *pk, const char *s)
{
	msgpack_pack_bin(pk, strlen(s));
	msgpack_pack_bin_body(pk, s, strlen(s));
}

static char *
repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A string of n bytes that starts with SECRET repeated. */
static char *
secret_string(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = SECRET[i % strlen(SECRET)];
	s[n] = '\0';
	return s;
}

static bool
req_is_empty(const struct proto_request *req)
{
	if (req->present != 0)
		return false;
	for (int f = 0; f < F__COUNT; f++)
		if (req->arg[f].str != NULL)
			return false;
	return true;
}

/*
 * Decode payload (copied to an exact-size heap buffer) into a request
 * that starts out full of garbage, as a caller's stack would be.
 */
static int
decode(const void *buf, size_t len, struct proto_request *req, char *msg,
    size_t msgsz)
{
	uint8_t *copy = heap_copy(buf, len);
	int rc;

	memset(req, 0xa5, sizeof(*req));
	memset(msg, 'X', msgsz);
	rc = proto_request_decode(copy, len, req, msg, msgsz);
	free(copy);
	return rc;
}

/*
 * Decoding must fail with code, leave *req empty and safe to free (twice),
 * keep the id when it was readable, and give a message without secrets.
 */
static void
expect_fail_raw(const char *what, const void *buf, size_t len, int code,
    uint64_t id)
{
	struct proto_request req;
	char msg[256];
	int rc = decode(buf, len, &req, msg, sizeof(msg));

	if (rc != code)
		fail_msg("%s: got %d (%s: %.*s), want %d", what, rc,
		    acct_errname(rc), (int)sizeof(msg) - 1, msg, code);
	if (id != ID_ANY && req.id != id)
		fail_msg("%s: id %llu, want %llu", what,
		    (unsigned long long)req.id, (unsigned long long)id);
	if (!req_is_empty(&req))
		fail_msg("%s: request not empty after failure", what);
	if (memchr(msg, '\0', sizeof(msg)) == NULL || msg[0] == '\0')
		fail_msg("%s: no error message", what);
	if (strstr(msg, SECRET) != NULL)
		fail_msg("%s: message quotes a value: %s", what, msg);
	proto_request_free(&req);
	proto_request_free(&req);
	assert_true(req_is_empty(&req));
}

static void
expect_fail_msg(const char *what, const struct proto_msg *m, int code,
    uint64_t id)
{
	assert_false(m->failed);
	expect_fail_raw(what, m->data, m->len, code, id);
}

/* Build a framed request; *payload and *len point past the header. */
static void
finish_req(struct proto_msg *args, uint64_t id, const char *op,
    struct proto_frame *f)
{
	assert_int_equal(proto_request_finish(args, id, op, f), ACCT_OK);
	assert_non_null(f->data);
	assert_true(f->len > PROTO_HDR_LEN);
	assert_int_equal(proto_get_len(f->data), f->len - PROTO_HDR_LEN);
}

/* Finish args into a request for op, decode it, expect failure. */
static void
expect_fail_args(const char *what, struct proto_msg *args, const char *op,
    int code, uint64_t id)
{
	struct proto_frame f;

	finish_req(args, id, op, &f);
	expect_fail_raw(what, f.data + PROTO_HDR_LEN, f.len - PROTO_HDR_LEN,
	    code, id);
	proto_frame_free(&f);
	proto_msg_free(args);
}

/* Finish args into a request for op and decode it; must succeed. */
static void
decode_args_ok(const char *what, struct proto_msg *args, const char *op,
    uint64_t id, struct proto_request *req)
{
	struct proto_frame f;
	char msg[256];
	int rc;

	finish_req(args, id, op, &f);
	rc = decode(f.data + PROTO_HDR_LEN, f.len - PROTO_HDR_LEN, req, msg,
	    sizeof(msg));
	if (rc != ACCT_OK)
		fail_msg("%s: got %d (%s: %s)", what, rc, acct_errname(rc),
		    msg);
	assert_int_equal(req->id, id);
	assert_int_equal(proto_op_lookup(op, strlen(op)), (int)req->op);
	proto_frame_free(&f);
	proto_msg_free(args);
}

static const char *
op_name(int op)
{
	return proto_ops[op].name;
}

/* Pack a valid value for field f: the kind of thing a client sends. */
static void
put_valid(struct proto_msg *m, int f)
{
	switch (proto_fields[f].type) {
	case PT_STR:
	case PT_SECRET:
		proto_kv_str(m, proto_fields[f].name, "bob");
		break;
	case PT_INT:
		proto_kv_int(m, proto_fields[f].name, 1);
		break;
	case PT_BOOL:
		proto_kv_bool(m, proto_fields[f].name, true);
		break;
	}
}

/* The required arguments of op, except skip. */
static void
put_required(struct proto_msg *m, int op, int skip)
{
	for (int f = 0; f < F__COUNT; f++)
		if ((proto_ops[op].required & FB(f)) && f != skip)
			put_valid(m, f);
}

/* An op that allows field f, preferring one that does not require it. */
static int
op_allowing(int f)
{
	int found = -1;

	for (int op = 0; op < OP__COUNT; op++) {
		if ((proto_ops[op].allowed & FB(f)) == 0)
			continue;
		if ((proto_ops[op].required & FB(f)) == 0)
			return op;
		if (found < 0)
			found = op;
	}
	return found;
}

/*
 * {"v": v, "id": id, "op": op, "args": {}} packed by hand, with each
 * part optional (NULL / negative = left out) for envelope tests.
 */
struct env {
	int		 nkeys;		/* map size to declare; -1: count */
	bool		 has_v, has_id, has_op, has_args;
	int64_t		 v;
	int64_t		 id;
	const char	*op;
};

static void
pack_env(struct proto_msg *m, const struct env *e)
{
	int n = e->has_v + e->has_id + e->has_op + e->has_args;

	proto_msg_init(m);
	msgpack_pack_map(&m->pk, e->nkeys >= 0 ? (size_t)e->nkeys : (size_t)n);
	if (e->has_v) {
		proto_pack_cstr(&m->pk, "v");
		msgpack_pack_int64(&m->pk, e->v);
	}
	if (e->has_id) {
		proto_pack_cstr(&m->pk, "id");
		msgpack_pack_int64(&m->pk, e->id);
	}
	if (e->has_op) {
		proto_pack_cstr(&m->pk, "op");
		proto_pack_cstr(&m->pk, e->op);
	}
	if (e->has_args) {
		proto_pack_cstr(&m->pk, "args");
		msgpack_pack_map(&m->pk, 0);
	}
}

static const struct env good_env = {
	-1, true, true, true, true, 1, 7, "hello"
};

/* ---- round trips ---- */

static void
test_roundtrip_all_types(void **state)
{
	struct proto_msg m;
	struct proto_request req;
	const char *pw = "s3cr\xc3\xa9t \xf0\x9f\x94\x91";	/* UTF-8 */

	(void)state;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "name", "Alice Liddell");
	proto_kv_str(&m, "email", "alice@example.org");
	proto_kv_str(&m, "new_password", pw);
	proto_kv_str(&m, "role", "admin");
	proto_kv_str(&m, "auth_provider", "oidc");
	proto_kv_str(&m, "auth_id", "");
	proto_kv_bool(&m, "superadmin", true);
	proto_kv_bool(&m, "login", false);
	proto_kv_bool(&m, "webdav", true);
	proto_kv_str(&m, "upload_path", "/srv/up/alice");
	proto_kv_bool(&m, "restore", false);
	decode_args_ok("user_add", &m, "user_add", 42, &req);

	assert_int_equal(req.op, OP_USER_ADD);
	assert_int_equal(req.present, FB(F_USERNAME) | FB(F_NAME) |
	    FB(F_EMAIL) | FB(F_NEW_PASSWORD) | FB(F_ROLE) |
	    FB(F_AUTH_PROVIDER) | FB(F_AUTH_ID) | FB(F_SUPERADMIN) |
	    FB(F_LOGIN) | FB(F_WEBDAV) | FB(F_UPLOAD_PATH) | FB(F_RESTORE));
	assert_string_equal(req.arg[F_USERNAME].str, "alice");
	assert_int_equal(req.arg[F_USERNAME].len, 5);
	assert_string_equal(req.arg[F_NAME].str, "Alice Liddell");
	assert_string_equal(req.arg[F_EMAIL].str, "alice@example.org");
	assert_string_equal(req.arg[F_NEW_PASSWORD].str, pw);
	assert_int_equal(req.arg[F_NEW_PASSWORD].len, strlen(pw));
	assert_string_equal(req.arg[F_ROLE].str, "admin");
	assert_string_equal(req.arg[F_AUTH_PROVIDER].str, "oidc");
	assert_non_null(req.arg[F_AUTH_ID].str);	/* "" is present */
	assert_string_equal(req.arg[F_AUTH_ID].str, "");
	assert_int_equal(req.arg[F_AUTH_ID].len, 0);
	assert_true(req.arg[F_SUPERADMIN].b);
	assert_false(req.arg[F_LOGIN].b);
	assert_true(req.arg[F_WEBDAV].b);
	assert_string_equal(req.arg[F_UPLOAD_PATH].str, "/srv/up/alice");
	assert_false(req.arg[F_RESTORE].b);
	assert_true(PROTO_HAS(&req, F_RESTORE));
	assert_false(PROTO_HAS(&req, F_PASSWORD));
	assert_null(req.arg[F_PASSWORD].str);
	proto_request_free(&req);
	assert_true(req_is_empty(&req));
	proto_request_free(&req);	/* twice is harmless */
}

static void
test_roundtrip_ints_and_ids(void **state)
{
	static const uint64_t ids[] = {
		0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
		(uint64_t)UINT32_MAX + 1, INT64_MAX, UINT64_MAX
	};
	struct proto_msg m;
	struct proto_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		proto_msg_init(&m);
		proto_kv_str(&m, "search", "ali");
		proto_kv_int(&m, "limit", 10000);
		proto_kv_int(&m, "offset", INT32_MAX);
		decode_args_ok("user_list", &m, "user_list", ids[i], &req);
		assert_true(req.id == ids[i]);
		assert_int_equal(req.op, OP_USER_LIST);
		assert_int_equal(req.present,
		    FB(F_SEARCH) | FB(F_LIMIT) | FB(F_OFFSET));
		assert_string_equal(req.arg[F_SEARCH].str, "ali");
		assert_int_equal(req.arg[F_LIMIT].i, 10000);
		assert_int_equal(req.arg[F_OFFSET].i, INT32_MAX);
		proto_request_free(&req);
	}
	/* Zero, in every encoding width the packer may choose. */
	proto_msg_init(&m);
	proto_kv_int(&m, "limit", 0);
	proto_kv_int(&m, "offset", 0);
	decode_args_ok("zeros", &m, "user_list", 1, &req);
	assert_int_equal(req.arg[F_LIMIT].i, 0);
	assert_int_equal(req.arg[F_OFFSET].i, 0);
	assert_int_equal(req.present, FB(F_LIMIT) | FB(F_OFFSET));
	proto_request_free(&req);
	/* An int encoded as uint64 on the wire (0xcf) is still an int. */
	proto_msg_init(&m);
	msgpack_pack_uint64(proto_kv_begin(&m, "limit"), 9999);
	msgpack_pack_uint8(proto_kv_begin(&m, "offset"), 3);
	decode_args_ok("uint widths", &m, "user_list", 1, &req);
	assert_int_equal(req.arg[F_LIMIT].i, 9999);
	assert_int_equal(req.arg[F_OFFSET].i, 3);
	proto_request_free(&req);
}

/* Every op, with only its required arguments, then with all it allows. */
static void
test_roundtrip_every_op(void **state)
{
	(void)state;
	for (int op = 0; op < OP__COUNT; op++) {
		struct proto_msg m;
		struct proto_request req;

		assert_int_equal(proto_op_lookup(op_name(op),
		    strlen(op_name(op))), op);
		assert_true((proto_ops[op].required &
		    ~proto_ops[op].allowed) == 0);

		proto_msg_init(&m);
		put_required(&m, op, -1);
		decode_args_ok(op_name(op), &m, op_name(op), (uint64_t)op + 1,
		    &req);
		assert_int_equal(req.op, op);
		assert_int_equal(req.present, proto_ops[op].required);
		proto_request_free(&req);

		proto_msg_init(&m);
		for (int f = 0; f < F__COUNT; f++)
			if (proto_ops[op].allowed & FB(f))
				put_valid(&m, f);
		decode_args_ok(op_name(op), &m, op_name(op), 99, &req);
		assert_int_equal(req.present, proto_ops[op].allowed);
		for (int f = 0; f < F__COUNT; f++) {
			if (!(proto_ops[op].allowed & FB(f)))
				continue;
			if (proto_fields[f].type == PT_STR ||
			    proto_fields[f].type == PT_SECRET)
				assert_string_equal(req.arg[f].str, "bob");
			else if (proto_fields[f].type == PT_INT)
				assert_int_equal(req.arg[f].i, 1);
			else
				assert_true(req.arg[f].b);
		}
		proto_request_free(&req);
	}
	assert_int_equal(proto_op_lookup("nope", 4), -1);
	assert_int_equal(proto_op_lookup("hello", 4), -1);	/* prefix */
	assert_int_equal(proto_op_lookup("hellox", 6), -1);
	assert_int_equal(proto_op_lookup("", 0), -1);
}

/* The schema table agrees with the contract. */
static void
test_schema_matches_contract(void **state)
{
	static const struct {
		int f;
		const char *name;
		enum proto_type type;
		size_t max;
	} want[] = {
		{ F_USERNAME, "username", PT_STR, 0 },	/* see below */
		{ F_PASSWORD, "password", PT_SECRET, 4096 },
		{ F_NEW_PASSWORD, "new_password", PT_SECRET, 4096 },
		{ F_NAME, "name", PT_STR, 200 },
		{ F_EMAIL, "email", PT_STR, 254 },
		{ F_ROLE, "role", PT_STR, 16 },
		{ F_AUTH_PROVIDER, "auth_provider", PT_STR, 16 },
		{ F_AUTH_ID, "auth_id", PT_STR, 255 },
		{ F_SUPERADMIN, "superadmin", PT_BOOL, 0 },
		{ F_LOGIN, "login", PT_BOOL, 0 },
		{ F_WEBDAV, "webdav", PT_BOOL, 0 },
		{ F_UPLOAD_PATH, "upload_path", PT_STR, 1024 },
		{ F_DISABLE_2FA, "disable_2fa", PT_BOOL, 0 },
		{ F_SEARCH, "search", PT_STR, 128 },
		{ F_RESTORE, "restore", PT_BOOL, 0 },
		{ F_CONFIRM, "confirm", PT_BOOL, 0 },
		{ F_REMOVE, "remove", PT_BOOL, 0 },
		{ F_LIMIT, "limit", PT_INT, 10000 },
	};

	(void)state;
	assert_true(F__COUNT <= 64);	/* fits FB() */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct proto_field_def *d = &proto_fields[want[i].f];

		assert_string_equal(d->name, want[i].name);
		assert_int_equal(d->type, want[i].type);
		if (d->type != PT_BOOL && want[i].max != 0)
			assert_int_equal(d->max, want[i].max);
	}
	/* The contract says 64; the login op ("username (or email)")
	 * widened it to carry an email. At least a whole username fits. */
	assert_true(proto_fields[F_USERNAME].max >= 64);
	assert_string_equal(proto_fields[F_OFFSET].name, "offset");
	assert_int_equal(proto_fields[F_OFFSET].type, PT_INT);
	/* Names are unique. */
	for (int a = 0; a < F__COUNT; a++)
		for (int b = a + 1; b < F__COUNT; b++)
			assert_string_not_equal(proto_fields[a].name,
			    proto_fields[b].name);
	assert_string_equal(op_name(OP_HELLO), "hello");
	assert_int_equal(proto_ops[OP_HELLO].allowed, 0);
	assert_int_equal(proto_ops[OP_USER_ADD].required, FB(F_USERNAME));
	assert_int_equal(proto_ops[OP_USERS_RESET].required, FB(F_CONFIRM));
	assert_int_equal(proto_ops[OP_PASSWD].required, 0);
	assert_int_equal(proto_ops[OP_USER_LIST].allowed,
	    FB(F_SEARCH) | FB(F_LIMIT) | FB(F_OFFSET) | FB(F_LEGACY) |
	    FB(F_FILTER));
	/* token: a session proves an SSO account;
	 * remote_addr: the user's address, for the throttle and audit;
	 * dry_run: the current password checked before a prompt asks for
	 * the new one. */
	assert_int_equal(proto_ops[OP_PASSWD].allowed, FB(F_USERNAME) |
	    FB(F_PASSWORD) | FB(F_NEW_PASSWORD) | FB(F_REMOVE) | FB(F_TOKEN) |
	    FB(F_REMOTE_ADDR) | FB(F_DRY_RUN));
}

/* acctd-protocol(7)'s table of arguments is the schema's, row for row. */
static void
test_man_page_arguments_are_the_schema(void **state)
{
	static const char mark[] = ".It Em name Ta Em type Ta Em maximum\n";
	static const char *const types[] = { [PT_STR] = "str",
	    [PT_SECRET] = "secret", [PT_INT] = "int", [PT_BOOL] = "bool" };
	char *page = th_keep(th_slurp("man/acctd-protocol.7", NULL));
	char *p, *end, *want = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&want, &len);

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < F__COUNT; i++) {
		const struct proto_field_def *d = &proto_fields[i];

		fprintf(f, ".It Ic %s Ta %s Ta ", d->name, types[d->type]);
		if (d->type == PT_BOOL)
			fprintf(f, "\\&\n");
		else if (d->type == PT_INT && d->max % 86400 == 0)
			fprintf(f, "%zu (%zu days)\n", d->max, d->max / 86400);
		else if (d->type == PT_INT)
			fprintf(f, "%zu\n", d->max);
		else
			fprintf(f, "%zu bytes%s\n", d->max, d->clamp ? ", cut" :
			    "");
	}
	assert_int_equal(fclose(f), 0);
	th_keep(want);
	assert_non_null(page);
	assert_non_null(p = strstr(page, mark));
	p += strlen(mark);
	assert_non_null(end = strstr(p, ".El\n"));
	*end = '\0';
	if (strcmp(p, want) != 0) {
		fprintf(stderr, "man/acctd-protocol.7's arguments differ from "
		    "proto/schema.c; the table should read:\n%s", want);
		fail();
	}
}

/* Multi-byte UTF-8, the edges of each sequence length. */
static void
test_utf8_valid_edges(void **state)
{
	static const char *const good[] = {
		"\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xed\x9f\xbf",			/* U+D7FF */
		"\xee\x80\x80",			/* U+E000 */
		"\xef\xbf\xbf",			/* U+FFFF */
		"\xf0\x90\x80\x80",		/* U+10000 */
		"\xf4\x8f\xbf\xbf",		/* U+10FFFF */
		"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct proto_msg m;
		struct proto_request req;

		proto_msg_init(&m);
		proto_kv_str(&m, "username", "u");
		proto_kv_str(&m, "name", good[i]);
		decode_args_ok(good[i], &m, "user_mod", 3, &req);
		assert_string_equal(req.arg[F_NAME].str, good[i]);
		assert_int_equal(req.arg[F_NAME].len, strlen(good[i]));
		proto_request_free(&req);
	}
}

/* Each field: at its limit (accepted), over it and of every wrong type. */
/*
 * A clamped field (the context a client reports) over its limit is cut
 * at a character boundary, never inside a UTF-8 sequence; the secret
 * fields are never clamped.
 */
static void
test_clamp_at_character_boundary(void **state)
{
	const struct proto_field_def *d = &proto_fields[F_REMOTE_ADDR];
	struct proto_request req;
	struct proto_msg m;
	char *s;

	(void)state;
	assert_true(d->clamp);
	assert_false(proto_fields[F_PASSWORD].clamp);
	assert_false(proto_fields[F_USERNAME].clamp);
	/* max - 1 ASCII bytes, then a 2-byte character across the limit. */
	s = repeat('a', d->max + 8);
	s[d->max - 1] = (char)0xc3;
	s[d->max] = (char)0xa9;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "password", "pw");
	proto_kv_str(&m, d->name, s);
	decode_args_ok("clamp", &m, "login", 7, &req);
	assert_int_equal(req.arg[F_REMOTE_ADDR].len, d->max - 1);
	assert_int_equal(strspn(req.arg[F_REMOTE_ADDR].str, "a"), d->max - 1);
	proto_request_free(&req);
	free(s);
}

static void
test_every_field_limits_and_types(void **state)
{
	(void)state;
	for (int f = 0; f < F__COUNT; f++) {
		const struct proto_field_def *d = &proto_fields[f];
		int op = op_allowing(f);
		struct proto_msg m;
		struct proto_request req;
		char what[96];

		assert_true(op >= 0);	/* every field is used by some op */
		snprintf(what, sizeof(what), "%s.%s", op_name(op), d->name);

		/* At the limit. */
		proto_msg_init(&m);
		put_required(&m, op, f);
		if (d->type == PT_STR || d->type == PT_SECRET) {
			char *s = repeat('a', d->max);
			proto_kv_str(&m, d->name, s);
			decode_args_ok(what, &m, op_name(op), 5, &req);
			assert_int_equal(req.arg[f].len, d->max);
			assert_string_equal(req.arg[f].str, s);
			free(s);
		} else if (d->type == PT_INT) {
			proto_kv_int(&m, d->name, (int64_t)d->max);
			decode_args_ok(what, &m, op_name(op), 5, &req);
			assert_int_equal(req.arg[f].i, (int64_t)d->max);
		} else {
			proto_kv_bool(&m, d->name, false);
			decode_args_ok(what, &m, op_name(op), 5, &req);
			assert_false(req.arg[f].b);
		}
		assert_true(PROTO_HAS(&req, f));
		assert_int_equal(req.present,
		    proto_ops[op].required | FB(f));
		proto_request_free(&req);

		/* One over the limit: refused, or cut to it when clamped. */
		if ((d->type == PT_STR || d->type == PT_SECRET) && d->clamp) {
			char *s = repeat('b', d->max + 1);
			proto_msg_init(&m);
			put_required(&m, op, f);
			proto_kv_str(&m, d->name, s);
			decode_args_ok(what, &m, op_name(op), 5, &req);
			assert_int_equal(req.arg[f].len, d->max);
			s[d->max] = '\0';
			assert_string_equal(req.arg[f].str, s);
			proto_request_free(&req);
			free(s);
		} else if (d->type == PT_STR || d->type == PT_SECRET) {
			char *s = secret_string(d->max + 1);
			proto_msg_init(&m);
			put_required(&m, op, f);
			proto_kv_str(&m, d->name, s);
			expect_fail_args(what, &m, op_name(op),
			    ACCT_ERR_INVALID, 5);
			free(s);
		} else if (d->type == PT_INT) {
			proto_msg_init(&m);
			put_required(&m, op, f);
			proto_kv_int(&m, d->name, (int64_t)d->max + 1);
			expect_fail_args(what, &m, op_name(op),
			    ACCT_ERR_INVALID, 5);
		}

		/* Wrong types: every msgpack type but the right one. */
		for (int t = 0; t < 9; t++) {
			msgpack_packer *pk;

			proto_msg_init(&m);
			put_required(&m, op, f);
			pk = proto_kv_begin(&m, d->name);
			switch (t) {
			case 0:
				msgpack_pack_nil(pk);
				break;
			case 1:
				msgpack_pack_true(pk);
				break;
			case 2:
				msgpack_pack_int64(pk, 1);
				break;
			case 3:
				msgpack_pack_int64(pk, -1);
				break;
			case 4:
				msgpack_pack_double(pk, 1.0);
				break;
			case 5:
				proto_pack_cstr(pk, "1");
				break;
			case 6:
				pk_bin(pk, SECRET);
				break;
			case 7:
				msgpack_pack_array(pk, 1);
				proto_pack_cstr(pk, SECRET);
				break;
			case 8:
				msgpack_pack_ext(pk, 1, 1);
				msgpack_pack_ext_body(pk, "x", 1);
				break;
			}
			if ((t == 1 && d->type == PT_BOOL) ||
			    (t == 2 && d->type == PT_INT) ||
			    (t == 5 && (d->type == PT_STR ||
			    d->type == PT_SECRET))) {
				proto_msg_free(&m);
				continue;
			}
			char w2[128];
			snprintf(w2, sizeof(w2), "%s type %d", what, t);
			expect_fail_args(w2, &m, op_name(op),
			    ACCT_ERR_INVALID, 5);
		}
	}
}

/* ---- malformed requests ---- */

static void
test_truncated_every_prefix(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	const uint8_t *p;
	size_t len;

	(void)state;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "new_password", SECRET SECRET);
	proto_kv_bool(&m, "login", true);
	proto_kv_str(&m, "name", "\xc3\xa9l\xc3\xa8ve");
	finish_req(&m, 0x0102030405060708ULL, "user_add", &f);
	proto_msg_free(&m);
	p = f.data + PROTO_HDR_LEN;
	len = f.len - PROTO_HDR_LEN;

	for (size_t n = 0; n < len; n++) {
		char what[32];
		uint8_t *c = heap_copy(p, n);

		snprintf(what, sizeof(what), "prefix %zu", n);
		assert_int_not_equal(proto_prescan(c, n, PROTO_MAX_DEPTH), 0);
		free(c);
		expect_fail_raw(what, p, n, ACCT_ERR_PROTOCOL, 0);
	}
	/* The whole thing is fine. */
	assert_int_equal(proto_prescan(p, len, PROTO_MAX_DEPTH), 0);
	proto_frame_free(&f);
	proto_frame_free(&f);

	/* Same for an op with an int argument. */
	proto_msg_init(&m);
	proto_kv_int(&m, "limit", 300);
	proto_kv_int(&m, "offset", 70000);
	finish_req(&m, 9, "user_list", &f);
	proto_msg_free(&m);
	for (size_t n = 0; n < f.len - PROTO_HDR_LEN; n++)
		expect_fail_raw("list prefix", f.data + PROTO_HDR_LEN, n,
		    ACCT_ERR_PROTOCOL, 0);
	proto_frame_free(&f);
}

static void
test_trailing_garbage(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	uint8_t *buf;
	size_t len;
	static const uint8_t tails[] = { 0xc0, 0x00, 0x80, 0xc1, 0xff, 0x91 };

	(void)state;
	proto_msg_init(&m);
	finish_req(&m, 5, "hello", &f);
	proto_msg_free(&m);
	len = f.len - PROTO_HDR_LEN;
	buf = malloc(2 * len);
	assert_non_null(buf);
	memcpy(buf, f.data + PROTO_HDR_LEN, len);

	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		buf[len] = tails[i];
		assert_int_not_equal(proto_prescan(buf, len + 1,
		    PROTO_MAX_DEPTH), 0);
		expect_fail_raw("one byte", buf, len + 1, ACCT_ERR_PROTOCOL, 0);
	}
	/* Two whole requests in one payload. */
	memcpy(buf + len, f.data + PROTO_HDR_LEN, len);
	assert_int_not_equal(proto_prescan(buf, 2 * len, PROTO_MAX_DEPTH), 0);
	expect_fail_raw("two requests", buf, 2 * len, ACCT_ERR_PROTOCOL, 0);
	/* A NUL byte after the message. */
	buf[len] = '\0';
	expect_fail_raw("NUL", buf, len + 1, ACCT_ERR_PROTOCOL, 0);
	free(buf);
	proto_frame_free(&f);
}

static void
test_top_level_not_a_map(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "nil", B("\xc0") },
		{ "true", B("\xc3") },
		{ "int", B("\x01") },
		{ "negative", B("\xff") },
		{ "float", B("\xcb\x3f\xf0\0\0\0\0\0\0") },
		{ "str", B("\xa5hello") },
		{ "bin", B("\xc4\x02hi") },
		{ "empty array", B("\x90") },
		{ "array of envelope",
		  B("\x91\x84\xa1v\x01\xa2id\x01\xa2op\xa5hello\xa4" "args\x80") },
		{ "ext", B("\xd4\x01\x00") },
		{ "empty map", B("\x80") },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(proto_prescan(cases[i].bytes, cases[i].len,
		    PROTO_MAX_DEPTH), 0);
		expect_fail_raw(cases[i].what, cases[i].bytes, cases[i].len,
		    ACCT_ERR_PROTOCOL, 0);
	}
}

static void
test_envelope_keys(void **state)
{
	struct proto_msg m;
	struct env e;

	(void)state;
	/* The good one, for reference. */
	pack_env(&m, &good_env);
	{
		struct proto_request req;
		char msg[128];
		assert_int_equal(decode(m.data, m.len, &req, msg, sizeof(msg)),
		    ACCT_OK);
		assert_int_equal(req.id, 7);
		assert_int_equal(req.op, OP_HELLO);
		assert_int_equal(req.present, 0);
		proto_request_free(&req);
	}
	proto_msg_free(&m);

	/* Each key missing. */
	e = good_env; e.has_v = false;
	pack_env(&m, &e);
	expect_fail_msg("no v", &m, ACCT_ERR_PROTOCOL, 7);
	proto_msg_free(&m);
	e = good_env; e.has_id = false;
	pack_env(&m, &e);
	expect_fail_msg("no id", &m, ACCT_ERR_PROTOCOL, 0);
	proto_msg_free(&m);
	e = good_env; e.has_op = false;
	pack_env(&m, &e);
	expect_fail_msg("no op", &m, ACCT_ERR_PROTOCOL, 7);
	proto_msg_free(&m);
	e = good_env; e.has_args = false;
	pack_env(&m, &e);
	expect_fail_msg("no args", &m, ACCT_ERR_PROTOCOL, 7);
	proto_msg_free(&m);

	/* Each key twice (same value both times). */
	static const char *const keys[] = { "v", "id", "op", "args" };
	for (int k = 0; k < 4; k++) {
		e = good_env; e.nkeys = 5;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, keys[k]);
		switch (k) {
		case 0: msgpack_pack_int64(&m.pk, 1); break;
		case 1: msgpack_pack_int64(&m.pk, 7); break;
		case 2: proto_pack_cstr(&m.pk, "hello"); break;
		case 3: msgpack_pack_map(&m.pk, 0); break;
		}
		expect_fail_msg(keys[k], &m, ACCT_ERR_PROTOCOL,
		    k == 1 ? 0 : ID_ANY);
		proto_msg_free(&m);
	}

	/* Unknown keys: names, near misses, a non-string key. */
	static const struct {
		const char *k;
		size_t len;
	} extra[] = {
		{ B("x") }, { B("V") }, { B("ids") }, { B("arg") }, { B("") },
		{ B("result") }, { B("error") }, { B("id\0") }, { NULL, 0 },
	};
	for (size_t k = 0; k < sizeof(extra) / sizeof(extra[0]); k++) {
		e = good_env; e.nkeys = 5;
		pack_env(&m, &e);
		if (extra[k].k == NULL)
			msgpack_pack_int64(&m.pk, 1);	/* int key */
		else
			pk_strn(&m.pk, extra[k].k, extra[k].len);
		msgpack_pack_int64(&m.pk, 1);
		expect_fail_msg(extra[k].k ? extra[k].k : "int key", &m,
		    ACCT_ERR_PROTOCOL, ID_ANY);
		proto_msg_free(&m);
	}
	/* A bin "v" key is not the string "v". */
	proto_msg_init(&m);
	msgpack_pack_map(&m.pk, 4);
	pk_bin(&m.pk, "v");
	msgpack_pack_int64(&m.pk, 1);
	proto_pack_cstr(&m.pk, "id");
	msgpack_pack_int64(&m.pk, 1);
	proto_pack_cstr(&m.pk, "op");
	proto_pack_cstr(&m.pk, "hello");
	proto_pack_cstr(&m.pk, "args");
	msgpack_pack_map(&m.pk, 0);
	expect_fail_msg("bin key", &m, ACCT_ERR_PROTOCOL, ID_ANY);
	proto_msg_free(&m);

	/* Map declares more pairs than it has. */
	e = good_env; e.nkeys = 5;
	pack_env(&m, &e);
	expect_fail_msg("short map", &m, ACCT_ERR_PROTOCOL, 0);
	proto_msg_free(&m);
}

static void
test_version(void **state)
{
	struct proto_msg m;
	struct env e;
	static const int64_t bad[] = { 0, 2, 3, 255, 256, 65536, INT64_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = good_env; e.v = bad[i];
		pack_env(&m, &e);
		expect_fail_msg("wrong version", &m, ACCT_ERR_VERSION, 7);
		proto_msg_free(&m);
	}
	/* Version check comes before the op: an unknown op in v2 is v. */
	e = good_env; e.v = 2; e.op = "no_such_op";
	pack_env(&m, &e);
	expect_fail_msg("v2 unknown op", &m, ACCT_ERR_VERSION, 7);
	proto_msg_free(&m);

	/* v of the wrong type: malformed, not another version. */
	e = good_env; e.v = -1;
	pack_env(&m, &e);
	expect_fail_msg("v -1", &m, ACCT_ERR_PROTOCOL, 7);
	proto_msg_free(&m);
	for (int t = 0; t < 5; t++) {
		e = good_env; e.has_v = false; e.nkeys = 4;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, "v");
		switch (t) {
		case 0: proto_pack_cstr(&m.pk, "1"); break;
		case 1: msgpack_pack_double(&m.pk, 1.0); break;
		case 2: msgpack_pack_nil(&m.pk); break;
		case 3: msgpack_pack_true(&m.pk); break;
		case 4: msgpack_pack_array(&m.pk, 1);
			msgpack_pack_int64(&m.pk, 1); break;
		}
		expect_fail_msg("v type", &m, ACCT_ERR_PROTOCOL, 7);
		proto_msg_free(&m);
	}
}

static void
test_id(void **state)
{
	struct proto_msg m;
	struct env e;

	(void)state;
	e = good_env; e.id = -1;
	pack_env(&m, &e);
	expect_fail_msg("id -1", &m, ACCT_ERR_PROTOCOL, 0);
	proto_msg_free(&m);
	e = good_env; e.id = INT64_MIN;
	pack_env(&m, &e);
	expect_fail_msg("id min", &m, ACCT_ERR_PROTOCOL, 0);
	proto_msg_free(&m);
	for (int t = 0; t < 5; t++) {
		e = good_env; e.has_id = false; e.nkeys = 4;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, "id");
		switch (t) {
		case 0: proto_pack_cstr(&m.pk, "7"); break;
		case 1: msgpack_pack_double(&m.pk, 7.0); break;
		case 2: msgpack_pack_nil(&m.pk); break;
		case 3: msgpack_pack_false(&m.pk); break;
		case 4: msgpack_pack_map(&m.pk, 0); break;
		}
		expect_fail_msg("id type", &m, ACCT_ERR_PROTOCOL, 0);
		proto_msg_free(&m);
	}
	/* id 0 and the largest id are fine. */
	e = good_env; e.id = 0;
	pack_env(&m, &e);
	{
		struct proto_request req;
		char msg[64];
		assert_int_equal(decode(m.data, m.len, &req, msg, sizeof(msg)),
		    ACCT_OK);
		assert_int_equal(req.id, 0);
		proto_request_free(&req);
	}
	proto_msg_free(&m);
}

static void
test_op(void **state)
{
	struct proto_msg m;
	struct env e;
	static const char *const unknown[] = {
		"nope", "", "HELLO", "hello ", " hello", "hell", "user",
		"user_add2", "users_add", "h\xc3\xa9llo", "\xff\xfe",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		e = good_env; e.op = unknown[i]; e.id = 12;
		pack_env(&m, &e);
		expect_fail_msg(unknown[i], &m, ACCT_ERR_UNKNOWN_OP, 12);
		proto_msg_free(&m);
	}
	/* "hello\0": a NUL inside the op name. */
	e = good_env; e.has_op = false; e.nkeys = 4; e.id = 12;
	pack_env(&m, &e);
	proto_pack_cstr(&m.pk, "op");
	pk_strn(&m.pk, "hello\0", 6);
	expect_fail_msg("hello NUL", &m, ACCT_ERR_UNKNOWN_OP, 12);
	proto_msg_free(&m);
	/* A long unknown op name is not quoted back. */
	{
		char *s = secret_string(1000);
		e = good_env; e.op = s; e.id = 12;
		pack_env(&m, &e);
		expect_fail_msg("long op", &m, ACCT_ERR_UNKNOWN_OP, 12);
		proto_msg_free(&m);
		free(s);
	}
	/* op of the wrong type. */
	for (int t = 0; t < 5; t++) {
		e = good_env; e.has_op = false; e.nkeys = 4; e.id = 12;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, "op");
		switch (t) {
		case 0: pk_bin(&m.pk, "hello"); break;
		case 1: msgpack_pack_int64(&m.pk, OP_HELLO); break;
		case 2: msgpack_pack_nil(&m.pk); break;
		case 3: msgpack_pack_array(&m.pk, 1);
			proto_pack_cstr(&m.pk, "hello"); break;
		case 4: msgpack_pack_true(&m.pk); break;
		}
		expect_fail_msg("op type", &m, ACCT_ERR_PROTOCOL, 12);
		proto_msg_free(&m);
	}
}

static void
test_args_not_a_map(void **state)
{
	struct proto_msg m;
	struct env e;

	(void)state;
	for (int t = 0; t < 6; t++) {
		e = good_env; e.has_args = false; e.nkeys = 4; e.id = 3;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, "args");
		switch (t) {
		case 0: msgpack_pack_nil(&m.pk); break;
		case 1: msgpack_pack_array(&m.pk, 0); break;
		case 2: proto_pack_cstr(&m.pk, ""); break;
		case 3: msgpack_pack_int64(&m.pk, 0); break;
		case 4: msgpack_pack_false(&m.pk); break;
		case 5: msgpack_pack_array(&m.pk, 2);
			proto_pack_cstr(&m.pk, "username");
			proto_pack_cstr(&m.pk, "bob"); break;
		}
		expect_fail_msg("args type", &m, ACCT_ERR_PROTOCOL, 3);
		proto_msg_free(&m);
	}
}

static void
test_unknown_and_disallowed_args(void **state)
{
	struct proto_msg m;

	(void)state;
	/* Not a field at all. */
	static const char *const names[] = {
		"bogus", "", "Username", "username ", "user", "v", "id",
		"passwd", SECRET,
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		proto_msg_init(&m);
		proto_kv_str(&m, "username", "bob");
		proto_kv_str(&m, names[i], "x");
		expect_fail_args(names[i], &m, "user_show", ACCT_ERR_INVALID, 8);
	}
	/* Keys that are not strings. */
	for (int t = 0; t < 3; t++) {
		proto_msg_init(&m);
		proto_kv_str(&m, "username", "bob");
		m.npairs++;
		if (t == 0)
			msgpack_pack_int64(&m.pk, F_USERNAME);
		else if (t == 1)
			pk_bin(&m.pk, "username");
		else
			msgpack_pack_nil(&m.pk);
		proto_pack_cstr(&m.pk, "x");
		expect_fail_args("key type", &m, "user_show",
		    ACCT_ERR_INVALID, 8);
	}
	/* A field name with a NUL at the end is not the field. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	m.npairs++;
	pk_strn(&m.pk, "login\0", 6);
	msgpack_pack_true(&m.pk);
	expect_fail_args("key NUL", &m, "user_mod", ACCT_ERR_INVALID, 8);

	/* Every field an op does not allow, for every op. */
	for (int op = 0; op < OP__COUNT; op++) {
		for (int f = 0; f < F__COUNT; f++) {
			char what[64];

			if (proto_ops[op].allowed & FB(f))
				continue;
			snprintf(what, sizeof(what), "%s.%s", op_name(op),
			    proto_fields[f].name);
			proto_msg_init(&m);
			put_required(&m, op, -1);
			put_valid(&m, f);
			expect_fail_args(what, &m, op_name(op),
			    ACCT_ERR_INVALID, 8);
		}
	}
}

static void
test_duplicate_args(void **state)
{
	struct proto_msg m;

	(void)state;
	for (int f = 0; f < F__COUNT; f++) {
		int op = op_allowing(f);
		char what[64];

		snprintf(what, sizeof(what), "twice %s", proto_fields[f].name);
		proto_msg_init(&m);
		put_required(&m, op, f);
		put_valid(&m, f);
		put_valid(&m, f);
		expect_fail_args(what, &m, op_name(op), ACCT_ERR_INVALID, 4);
	}
	/* First good, second of the wrong type; and the other way round. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_bool(&m, "username", true);
	expect_fail_args("good then bad", &m, "user_show", ACCT_ERR_INVALID, 4);
	proto_msg_init(&m);
	proto_kv_bool(&m, "username", true);
	proto_kv_str(&m, "username", "bob");
	expect_fail_args("bad then good", &m, "user_show", ACCT_ERR_INVALID, 4);
	/* The same secret twice: the first copy must not leak (ASan). */
	proto_msg_init(&m);
	proto_kv_str(&m, "password", SECRET);
	proto_kv_str(&m, "password", SECRET);
	expect_fail_args("secret twice", &m, "passwd", ACCT_ERR_INVALID, 4);
}

/* Strings that decode fine as msgpack but are not acceptable text. */
static void
test_bad_text(void **state)
{
	static const struct {
		const char *what;
		const char *s;
		size_t len;
	} cases[] = {
		{ "NUL inside", B("a\0b") },
		{ "NUL only", B("\0") },
		{ "NUL at end", B("bob\0") },
		{ "overlong /", B("\xc0\xaf") },
		{ "overlong NUL", B("\xc0\x80") },
		{ "overlong 2", B("\xc1\xbf") },
		{ "overlong 3", B("\xe0\x80\xaf") },
		{ "overlong 3 max", B("\xe0\x9f\xbf") },
		{ "overlong 4", B("\xf0\x80\x80\xaf") },
		{ "overlong 4 max", B("\xf0\x8f\xbf\xbf") },
		{ "surrogate lo", B("\xed\xa0\x80") },
		{ "surrogate hi", B("\xed\xbf\xbf") },
		{ "surrogate pair", B("\xed\xa0\xbd\xed\xb8\x80") },
		{ "over 10FFFF", B("\xf4\x90\x80\x80") },
		{ "f5", B("\xf5\x80\x80\x80") },
		{ "f7", B("\xf7\xbf\xbf\xbf") },
		{ "5-byte", B("\xf8\x88\x80\x80\x80") },
		{ "6-byte", B("\xfc\x84\x80\x80\x80\x80") },
		{ "fe", B("\xfe") },
		{ "ff", B("\xff") },
		{ "lone continuation", B("\x80") },
		{ "continuation after ascii", B("a\xbf") },
		{ "truncated 2", B("\xc3") },
		{ "truncated 3", B("\xe6\x97") },
		{ "truncated 4", B("\xf0\x9f\x98") },
		{ "truncated then ascii", B("\xc3" "A") },
		{ "truncated at end", B(SECRET "\xe6") },
		{ "bad continuation", B("\xe6\x41\x97") },
		{ "secret then ff", B(SECRET "\xff" SECRET) },
	};
	struct proto_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* A plain string field and a secret one. */
		proto_msg_init(&m);
		proto_kv_str(&m, "username", "bob");
		pk_strn(proto_kv_begin(&m, "name"), cases[i].s, cases[i].len);
		expect_fail_args(cases[i].what, &m, "user_mod",
		    ACCT_ERR_INVALID, 77);
		proto_msg_init(&m);
		pk_strn(proto_kv_begin(&m, "password"), cases[i].s,
		    cases[i].len);
		proto_kv_str(&m, "new_password", SECRET);
		expect_fail_args(cases[i].what, &m, "passwd",
		    ACCT_ERR_INVALID, 77);
	}
}

static void
test_missing_required(void **state)
{
	(void)state;
	for (int op = 0; op < OP__COUNT; op++) {
		for (int f = 0; f < F__COUNT; f++) {
			struct proto_msg m;
			struct proto_frame fr;
			struct proto_request req;
			char msg[256];

			if (!(proto_ops[op].required & FB(f)))
				continue;
			proto_msg_init(&m);
			put_required(&m, op, f);
			finish_req(&m, 31, op_name(op), &fr);
			proto_msg_free(&m);
			assert_int_equal(decode(fr.data + PROTO_HDR_LEN,
			    fr.len - PROTO_HDR_LEN, &req, msg, sizeof(msg)),
			    ACCT_ERR_INVALID);
			assert_int_equal(req.id, 31);
			assert_true(req_is_empty(&req));
			/* The message names the missing field. */
			assert_non_null(strstr(msg, proto_fields[f].name));
			proto_request_free(&req);
			proto_frame_free(&fr);
		}
	}
}

static void
test_too_many_args(void **state)
{
	struct proto_msg m;

	(void)state;
	/* PROTO_MAX_ARGS + 1 keys: refused before looking at them. */
	proto_msg_init(&m);
	for (int i = 0; i < PROTO_MAX_ARGS + 1; i++)
		proto_kv_str(&m, "search", SECRET);
	expect_fail_args("max+1", &m, "user_list", ACCT_ERR_INVALID, 2);
	/* Many more, each a distinct unknown key. */
	proto_msg_init(&m);
	for (int i = 0; i < 5000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		proto_kv_bool(&m, k, true);
	}
	expect_fail_args("5000", &m, "user_list", ACCT_ERR_INVALID, 2);
	/* A map16 / map32 header with few entries behind it. */
	{
		static const uint8_t big[][6] = {
			{ 0xde, 0xff, 0xff },
			{ 0xdf, 0xff, 0xff, 0xff, 0xff },
			{ 0xdf, 0x00, 0x00, 0x00, 0x21 },
		};
		for (size_t i = 0; i < 3; i++) {
			struct env e = good_env;
			e.has_args = false; e.nkeys = 4;
			pack_env(&m, &e);
			proto_pack_cstr(&m.pk, "args");
			msgpack_pack_str_body(&m.pk, big[i],
			    big[i][0] == 0xde ? 3 : 5);
			proto_pack_cstr(&m.pk, "limit");
			msgpack_pack_int64(&m.pk, 1);
			expect_fail_msg("big map header", &m,
			    ACCT_ERR_PROTOCOL, 0);
			proto_msg_free(&m);
		}
	}
}

/* Nesting: the request is a map (1) holding args (2); two more allowed. */
static void
test_nesting(void **state)
{
	(void)state;
	for (int extra = 1; extra <= 40; extra++) {
		struct proto_msg m;
		msgpack_packer *pk;

		proto_msg_init(&m);
		pk = proto_kv_begin(&m, "search");
		for (int i = 0; i < extra; i++)
			msgpack_pack_array(pk, 1);
		msgpack_pack_int64(pk, 1);
		/* Depth 2 + extra: up to PROTO_MAX_DEPTH it is well formed
		 * (but no argument takes an array), beyond it malformed. */
		if (2 + extra <= PROTO_MAX_DEPTH)
			expect_fail_args("nesting", &m, "user_list",
			    ACCT_ERR_INVALID, 6);
		else
			expect_fail_args("too deep", &m, "user_list",
			    ACCT_ERR_PROTOCOL, 0);
	}
}

/* The id is recovered when the envelope gave one; 0 when it did not. */
static void
test_id_recovered(void **state)
{
	struct proto_msg m;

	(void)state;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "password", SECRET);
	proto_kv_bool(&m, "remove", false);
	proto_kv_int(&m, "limit", 3);	/* not for passwd */
	expect_fail_args("disallowed", &m, "passwd", ACCT_ERR_INVALID,
	    UINT64_MAX);
	proto_msg_init(&m);
	expect_fail_args("unknown op", &m, "frobnicate", ACCT_ERR_UNKNOWN_OP,
	    123456789);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "password", SECRET);
	proto_kv_str(&m, "new_password", "x");
	proto_kv_bool(&m, "remove", false);
	proto_kv_int(&m, "remove", 1);	/* after three good ones */
	expect_fail_args("late failure", &m, "passwd", ACCT_ERR_INVALID,
	    4242);
}

/* An argument's value never appears in the error message. */
static void
test_message_never_quotes_values(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	struct proto_request req;
	char msg[1024];
	char *s = secret_string(4097);

	(void)state;
	proto_msg_init(&m);
	proto_kv_str(&m, "password", s);
	proto_kv_str(&m, "new_password", "new");
	finish_req(&m, 1, "passwd", &f);
	proto_msg_free(&m);
	assert_int_equal(decode(f.data + PROTO_HDR_LEN, f.len - PROTO_HDR_LEN,
	    &req, msg, sizeof(msg)), ACCT_ERR_INVALID);
	assert_null(strstr(msg, "hunter"));
	assert_non_null(strstr(msg, "password"));	/* names the field */
	assert_non_null(strstr(msg, "4096"));		/* states the rule */
	proto_request_free(&req);
	proto_frame_free(&f);

	/* Too long in a plain field too: a too-long username. */
	assert_true(proto_fields[F_USERNAME].max < 4032);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", s + 4032 - proto_fields[F_USERNAME].max);
	finish_req(&m, 1, "user_show", &f);
	proto_msg_free(&m);
	assert_int_equal(decode(f.data + PROTO_HDR_LEN, f.len - PROTO_HDR_LEN,
	    &req, msg, sizeof(msg)), ACCT_ERR_INVALID);
	assert_null(strstr(msg, "hunter"));
	assert_null(strstr(msg, "nter2h"));
	{
		char max[16];
		snprintf(max, sizeof(max), "%zu", proto_fields[F_USERNAME].max);
		assert_non_null(strstr(msg, max));	/* states the rule */
	}
	proto_request_free(&req);
	proto_frame_free(&f);
	free(s);

	/* A tiny message buffer is still terminated. */
	proto_msg_init(&m);
	proto_kv_str(&m, "bogus", SECRET);
	finish_req(&m, 1, "hello", &f);
	proto_msg_free(&m);
	{
		char small[8];
		uint8_t *c = heap_copy(f.data + PROTO_HDR_LEN,
		    f.len - PROTO_HDR_LEN);
		memset(small, 'X', sizeof(small));
		assert_int_equal(proto_request_decode(c, f.len - PROTO_HDR_LEN,
		    &req, small, sizeof(small)), ACCT_ERR_INVALID);
		assert_non_null(memchr(small, '\0', sizeof(small)));
		free(c);
	}
	proto_request_free(&req);
	proto_frame_free(&f);
}

/* ---- prescan ---- */

static void
test_prescan_huge_headers(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "array32 16M", B("\xdd\x01\x00\x00\x00") },
		{ "array32 4G", B("\xdd\xff\xff\xff\xff") },
		{ "map32 4G", B("\xdf\xff\xff\xff\xff") },
		{ "map32 16M", B("\xdf\x01\x00\x00\x00") },
		{ "array16 64K", B("\xdc\xff\xff") },
		{ "map16 64K", B("\xde\xff\xff") },
		{ "str32 4G", B("\xdb\xff\xff\xff\xff") },
		{ "str16 64K", B("\xda\xff\xff") },
		{ "str8 255", B("\xd9\xff") },
		{ "bin32 4G", B("\xc6\xff\xff\xff\xff") },
		{ "bin16 64K", B("\xc5\xff\xff") },
		{ "bin8 255", B("\xc4\xff") },
		{ "ext32 4G", B("\xc9\xff\xff\xff\xff\x01") },
		{ "ext16 64K", B("\xc8\xff\xff\x01") },
		{ "ext8 255", B("\xc7\xff\x01") },
		{ "array32 4G, some items", B("\xdd\xff\xff\xff\xff\x01\x02\x03") },
		{ "array of 4G arrays", B("\x93\xdd\xff\xff\xff\xff\x90\x90") },
		{ "str32 just over", B("\xdb\x00\x00\x00\x04" "abc") },
		{ "array16 one short", B("\xdc\x00\x03\x01\x02") },
		{ "map32 one value short", B("\xdf\x00\x00\x00\x01\x01") },
		{ "array32 length cut", B("\xdd\xff\xff") },
		{ "str32 length cut", B("\xdb\x00") },
		{ "ext32 type missing", B("\xc9\x00\x00\x00\x00") },
		{ "fixext16 short", B("\xd8\x01" "0123456789abcde") },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *c = heap_copy(cases[i].bytes, cases[i].len);

		if (proto_prescan(c, cases[i].len, PROTO_MAX_DEPTH) == 0)
			fail_msg("prescan accepted %s", cases[i].what);
		if (proto_prescan(c, cases[i].len, 8) == 0)
			fail_msg("prescan(8) accepted %s", cases[i].what);
		free(c);
		expect_fail_raw(cases[i].what, cases[i].bytes, cases[i].len,
		    ACCT_ERR_PROTOCOL, 0);
	}
	/* The same headers as the args value of a real request. */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_msg m;
		struct env e = good_env;

		e.has_args = false;
		e.nkeys = 4;
		pack_env(&m, &e);
		proto_pack_cstr(&m.pk, "args");
		msgpack_pack_str_body(&m.pk, cases[i].bytes, cases[i].len);
		assert_int_not_equal(proto_prescan(m.data, m.len,
		    PROTO_MAX_DEPTH), 0);
		expect_fail_msg(cases[i].what, &m, ACCT_ERR_PROTOCOL, 0);
		proto_msg_free(&m);
	}
	/* The edges that fit are accepted. */
	assert_int_equal(proto_prescan("\xdb\x00\x00\x00\x03" "abc", 8, 1), 0);
	assert_int_equal(proto_prescan("\xc9\x00\x00\x00\x00\x01", 6, 1), 0);
	assert_int_equal(proto_prescan("\xdd\x00\x00\x00\x02\x01\x02", 7, 1),
	    0);
	assert_int_equal(proto_prescan("\xdf\x00\x00\x00\x01\x01\x02", 7, 1),
	    0);
	assert_int_equal(proto_prescan("\xd8\x01" "0123456789abcdef", 18, 0),
	    0);
}

/* Every type byte alone: only complete one-byte values pass. */
static void
test_prescan_every_lone_byte(void **state)
{
	(void)state;
	for (int b = 0; b <= 0xff; b++) {
		uint8_t *c = heap_copy(&(uint8_t){ (uint8_t)b }, 1);
		bool complete = b <= 0x7f || b >= 0xe0 || b == 0x80 ||
		    b == 0x90 || b == 0xa0 || b == 0xc0 || b == 0xc2 ||
		    b == 0xc3;
		int rc = proto_prescan(c, 1, PROTO_MAX_DEPTH);
		char what[16];

		if ((rc == 0) != complete)
			fail_msg("byte 0x%02x: prescan %d", b, rc);
		free(c);
		snprintf(what, sizeof(what), "byte 0x%02x", b);
		/* None of them is a request. */
		expect_fail_raw(what, &(uint8_t){ (uint8_t)b }, 1,
		    ACCT_ERR_PROTOCOL, 0);
	}
	/* Empty input. */
	assert_int_not_equal(proto_prescan("", 0, PROTO_MAX_DEPTH), 0);
	expect_fail_raw("empty", "", 0, ACCT_ERR_PROTOCOL, 0);
}

static void
test_prescan_reserved_c1(void **state)
{
	struct proto_msg m;

	(void)state;
	assert_int_not_equal(proto_prescan("\xc1", 1, 4), 0);
	assert_int_not_equal(proto_prescan("\x91\xc1", 2, 4), 0);
	assert_int_not_equal(proto_prescan("\x81\xc1\x01", 3, 4), 0);
	assert_int_not_equal(proto_prescan("\x81\x01\xc1", 3, 4), 0);
	/* As an argument value inside a real request. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	m.npairs++;
	proto_pack_cstr(&m.pk, "login");
	msgpack_pack_str_body(&m.pk, "\xc1", 1);
	expect_fail_args("c1 value", &m, "user_mod", ACCT_ERR_PROTOCOL, 0);
}

static void
test_prescan_depth(void **state)
{
	uint8_t buf[64];

	(void)state;
	/* n nested one-element arrays around an int need depth n. */
	for (int n = 0; n <= 20; n++) {
		memset(buf, 0x91, (size_t)n);
		buf[n] = 0x01;
		for (int d = 0; d <= 16; d++)
			assert_int_equal(proto_prescan(buf, (size_t)n + 1, d) == 0,
			    n <= d);
		/* An empty innermost container is a level too. */
		buf[n] = 0x90;
		for (int d = 0; d <= 16; d++)
			if ((proto_prescan(buf, (size_t)n + 1, d) == 0) !=
			    (n + 1 <= d))
				fail_msg("%d arrays around [], depth %d", n, d);
		buf[n] = 0x80;
		for (int d = 0; d <= 16; d++)
			assert_int_equal(proto_prescan(buf, (size_t)n + 1, d) == 0,
			    n + 1 <= d);
	}
	/* Maps count as well, keys included. */
	assert_int_equal(proto_prescan("\x81\x91\x01\x01", 4, 2), 0);
	assert_int_not_equal(proto_prescan("\x81\x91\x01\x01", 4, 1), 0);
	assert_int_equal(proto_prescan("\x81\x01\x81\x01\x01", 5, 2), 0);
	assert_int_not_equal(proto_prescan("\x81\x01\x81\x01\x01", 5, 1), 0);
	/* Siblings do not add up. */
	assert_int_equal(proto_prescan("\x93\x91\x01\x91\x01\x91\x01", 7, 2), 0);
	/* Bad max_depth values are refused, not trusted. */
	assert_int_not_equal(proto_prescan("\x01", 1, -1), 0);
	assert_int_not_equal(proto_prescan("\x01", 1, INT_MAX), 0);
	assert_int_not_equal(proto_prescan("\x01", 1, 1000), 0);
}

/* Depth of a decoded object, counting empty containers as a level. */
static int
obj_depth(const msgpack_object *o)
{
	int d = 0;

	if (o->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			int c = obj_depth(&o->via.array.ptr[i]);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	if (o->type == MSGPACK_OBJECT_MAP) {
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			int c = obj_depth(&o->via.map.ptr[i].key);
			d = c > d ? c : d;
			c = obj_depth(&o->via.map.ptr[i].val);
			d = c > d ? c : d;
		}
		return d + 1;
	}
	return 0;
}

/*
 * Could msgpack-c be made to reserve a lot of memory by this input? It
 * allocates an array or map32 of up to 2^32 entries from the header
 * alone; any 0xdd or 0xdf byte could be such a header after a desync.
 * (array16 and map16 reserve at most a few MB: fine.)
 */
static bool
msgpack_c_unsafe(const uint8_t *buf, size_t len)
{
	return memchr(buf, 0xdd, len) != NULL || memchr(buf, 0xdf, len) != NULL;
}

static void
hexdump(char *out, size_t outsz, const uint8_t *buf, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < len && 3 * i + 4 <= outsz; i++)
		snprintf(out + 3 * i, 4, "%02x ", buf[i]);
}

/*
 * prescan agrees with msgpack-c: whatever prescan accepts, msgpack-c
 * decodes as one whole value within the depth; whatever msgpack-c
 * decodes whole within the depth, prescan accepts.
 */
static void
check_against_msgpack(const uint8_t *buf, size_t len, int depth)
{
	uint8_t *c = heap_copy(buf, len);
	int ps = proto_prescan(c, len, depth);
	msgpack_unpacked un;
	size_t off = 0;
	msgpack_unpack_return r;
	bool whole;
	char hex[200];

	if (ps != 0 && msgpack_c_unsafe(c, len)) {
		free(c);
		return;
	}
	msgpack_unpacked_init(&un);
	r = msgpack_unpack_next(&un, (const char *)c, len, &off);
	whole = r == MSGPACK_UNPACK_SUCCESS && off == len &&
	    obj_depth(&un.data) <= depth;
	msgpack_unpacked_destroy(&un);
	free(c);
	if ((ps == 0) != whole) {
		hexdump(hex, sizeof(hex), buf, len);
		fail_msg("prescan %d, msgpack-c %d (off %zu of %zu), depth %d: "
		    "%s", ps, (int)r, off, len, depth, hex);
	}
}

static void
test_prescan_vs_msgpack_two_bytes(void **state)
{
	(void)state;
	for (int a = 0; a <= 0xff; a++) {
		uint8_t one[1] = { (uint8_t)a };

		check_against_msgpack(one, 1, PROTO_MAX_DEPTH);
		for (int b = 0; b <= 0xff; b++) {
			uint8_t two[2] = { (uint8_t)a, (uint8_t)b };

			check_against_msgpack(two, 2, PROTO_MAX_DEPTH);
			check_against_msgpack(two, 2, 0);
		}
	}
}

/* A small deterministic PRNG: the fuzz below is reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* Append a random, mostly well-formed value. */
static void
gen_value(msgpack_packer *pk, int depth)
{
	uint32_t k = rng() % (depth > 5 ? 8 : 11);
	uint32_t n;
	char s[40];

	switch (k) {
	case 0: msgpack_pack_nil(pk); break;
	case 1: msgpack_pack_true(pk); break;
	case 2: msgpack_pack_int64(pk, (int64_t)rng() - (int64_t)(rng() % 3) *
		    (int64_t)rng() * 65536); break;
	case 3: msgpack_pack_uint64(pk, (uint64_t)rng() << (rng() % 32)); break;
	case 4: msgpack_pack_double(pk, 1.5); break;
	case 5: msgpack_pack_float(pk, 2.5f); break;
	case 6:
		n = rng() % 40;
		memset(s, 'a', n);
		pk_strn(pk, s, n);
		break;
	case 7:
		n = rng() % 20;
		memset(s, 'b', n);
		if (rng() % 2) {
			msgpack_pack_bin(pk, n);
			msgpack_pack_bin_body(pk, s, n);
		} else {
			msgpack_pack_ext(pk, n, (int8_t)(rng() % 256 - 128));
			msgpack_pack_ext_body(pk, s, n);
		}
		break;
	case 8:
	case 9:
		n = rng() % 4;
		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			gen_value(pk, depth + 1);
		break;
	case 10:
		n = rng() % 3;
		msgpack_pack_map(pk, n);
		for (uint32_t i = 0; i < 2 * n; i++)
			gen_value(pk, depth + 1);
		break;
	}
}

static void
test_prescan_fuzz(void **state)
{
	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		struct proto_msg m;
		size_t len;

		proto_msg_init(&m);
		gen_value(&m.pk, 0);
		assert_false(m.failed);
		len = m.len;
		/* As generated; then cut, then with a byte changed. */
		check_against_msgpack(m.data, len, PROTO_MAX_DEPTH);
		check_against_msgpack(m.data, len, 8);
		if (len > 1)
			check_against_msgpack(m.data, rng() % len,
			    PROTO_MAX_DEPTH);
		for (int j = 0; j < 4; j++) {
			size_t at = rng() % len;
			uint8_t was = m.data[at];
			uint8_t b = (uint8_t)rng();

			m.data[at] = b;
			check_against_msgpack(m.data, len, PROTO_MAX_DEPTH);
			m.data[at] = was;
		}
		proto_msg_free(&m);
	}
}

/*
 * Every byte of a valid request replaced by every value: the decoder
 * never crashes, never reports success for a request the schema would
 * refuse, and on failure leaves nothing behind.
 */
static void
test_decode_byte_mutations(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	uint8_t *p;
	size_t len;

	(void)state;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "password", SECRET);
	proto_kv_str(&m, "new_password", SECRET "x");
	proto_kv_bool(&m, "remove", false);
	finish_req(&m, 300, "passwd", &f);
	proto_msg_free(&m);
	len = f.len - PROTO_HDR_LEN;
	p = heap_copy(f.data + PROTO_HDR_LEN, len);

	for (size_t at = 0; at < len; at++) {
		uint8_t was = p[at];

		for (int b = 0; b <= 0xff; b++) {
			struct proto_request req;
			char msg[256];
			int rc;

			p[at] = (uint8_t)b;
			memset(&req, 0x5a, sizeof(req));
			rc = proto_request_decode(p, len, &req, msg,
			    sizeof(msg));
			if (rc == ACCT_OK) {
				assert_true(req.op < OP__COUNT);
				assert_int_equal(req.present &
				    ~proto_ops[req.op].allowed, 0);
				assert_int_equal(req.present &
				    proto_ops[req.op].required,
				    proto_ops[req.op].required);
				for (int fl = 0; fl < F__COUNT; fl++) {
					const struct proto_value *v =
					    &req.arg[fl];
					bool s = proto_fields[fl].type ==
					    PT_STR || proto_fields[fl].type ==
					    PT_SECRET;
					if (!PROTO_HAS(&req, fl) || !s) {
						assert_null(v->str);
						continue;
					}
					assert_non_null(v->str);
					assert_int_equal(strlen(v->str), v->len);
					assert_true(v->len <=
					    proto_fields[fl].max);
				}
			} else {
				assert_true(rc == ACCT_ERR_PROTOCOL ||
				    rc == ACCT_ERR_VERSION ||
				    rc == ACCT_ERR_UNKNOWN_OP ||
				    rc == ACCT_ERR_INVALID);
				assert_true(req_is_empty(&req));
				assert_null(strstr(msg, SECRET));
			}
			proto_request_free(&req);
		}
		p[at] = was;
	}
	free(p);
	proto_frame_free(&f);
}

/* ---- sizes ---- */

static void
test_request_size_limit(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	size_t base, n;
	char *s;

	(void)state;
	/* Measure the envelope around a str16 value, then fill to the max. */
	s = repeat('n', 70000);
	proto_msg_init(&m);
	pk_strn(proto_kv_begin(&m, "name"), s, 1000);
	finish_req(&m, 1, "user_mod", &f);
	base = f.len - PROTO_HDR_LEN - 1000;
	proto_frame_free(&f);
	proto_msg_free(&m);
	n = PROTO_MAX_REQUEST - base;
	assert_true(n > 1000 && n <= 65535);	/* still a str16 */

	proto_msg_init(&m);
	pk_strn(proto_kv_begin(&m, "name"), s, n);
	assert_int_equal(proto_request_finish(&m, 1, "user_mod", &f), ACCT_OK);
	assert_int_equal(f.len, PROTO_HDR_LEN + PROTO_MAX_REQUEST);
	assert_int_equal(proto_get_len(f.data), PROTO_MAX_REQUEST);
	/* The decoder takes a request of exactly the max size and judges
	 * its contents (name too long); one byte more is not looked at. */
	{
		struct proto_request req;
		char msg[256];
		uint8_t *big = malloc(PROTO_MAX_REQUEST + 1);

		assert_non_null(big);
		assert_int_equal(decode(f.data + PROTO_HDR_LEN,
		    PROTO_MAX_REQUEST, &req, msg, sizeof(msg)),
		    ACCT_ERR_INVALID);
		memcpy(big, f.data + PROTO_HDR_LEN, PROTO_MAX_REQUEST);
		big[PROTO_MAX_REQUEST] = 0xc0;
		expect_fail_raw("max+1", big, PROTO_MAX_REQUEST + 1,
		    ACCT_ERR_PROTOCOL, 0);
		free(big);
		proto_request_free(&req);
	}
	/* A well-formed request one byte over, packed by hand: refused as
	 * a whole (protocol), not judged by its contents. */
	{
		struct proto_msg raw;
		struct env e = good_env;

		e.has_args = false;
		e.nkeys = 4;
		e.op = "user_mod";
		e.id = 1;
		pack_env(&raw, &e);
		proto_pack_cstr(&raw.pk, "args");
		msgpack_pack_map(&raw.pk, 1);
		proto_pack_cstr(&raw.pk, "name");
		pk_strn(&raw.pk, s, n + 1);
		assert_int_equal(raw.len, PROTO_MAX_REQUEST + 1);
		expect_fail_msg("well-formed max+1", &raw, ACCT_ERR_PROTOCOL,
		    ID_ANY);
		proto_msg_free(&raw);
	}
	proto_frame_free(&f);
	proto_msg_free(&m);

	proto_msg_init(&m);
	pk_strn(proto_kv_begin(&m, "name"), s, n + 1);
	f.data = (uint8_t *)"junk";
	f.len = 99;
	assert_int_not_equal(proto_request_finish(&m, 1, "user_mod", &f),
	    ACCT_OK);
	assert_null(f.data);
	assert_int_equal(f.len, 0);
	proto_frame_free(&f);
	proto_msg_free(&m);

	proto_msg_init(&m);
	pk_strn(proto_kv_begin(&m, "name"), s, 70000);
	assert_int_equal(proto_request_finish(&m, 1, "user_mod", &f),
	    ACCT_ERR_INVALID);
	assert_null(f.data);
	proto_msg_free(&m);
	free(s);

	/* A message whose buffer failed is never finished. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	m.failed = true;
	assert_int_equal(proto_request_finish(&m, 1, "user_show", &f),
	    ACCT_ERR_NOMEM);
	assert_null(f.data);
	assert_int_equal(proto_reply_finish(&m, 1, &f), ACCT_ERR_NOMEM);
	assert_null(f.data);
	proto_msg_free(&m);
	proto_msg_free(&m);
}

static void
test_len_header(void **state)
{
	static const uint32_t vals[] = {
		0, 1, 0xff, 0x100, 0xffff, 0x10000, 0x01020304, 0x7fffffff,
		0x80000000, 0xfffffffe, 0xffffffff
	};
	uint8_t h[PROTO_HDR_LEN];

	(void)state;
	proto_put_len(h, 0x01020304);
	assert_int_equal(h[0], 1);
	assert_int_equal(h[1], 2);
	assert_int_equal(h[2], 3);
	assert_int_equal(h[3], 4);
	proto_put_len(h, 0xa0b0c0d0);
	assert_memory_equal(h, "\xa0\xb0\xc0\xd0", 4);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		proto_put_len(h, vals[i]);
		assert_true(proto_get_len(h) == vals[i]);
	}
	assert_true(proto_get_len((const uint8_t *)"\xff\x00\x00\x01") ==
	    0xff000001u);
	assert_int_equal(proto_get_len((const uint8_t *)"\x00\x01\x00\x00"),
	    PROTO_MAX_REQUEST);
}

/* ---- replies ---- */

/* Decode a frame's payload as a reply (the decoder owns a heap copy). */
static int
reply_decode_frame(const struct proto_frame *f, struct proto_reply *rep)
{
	size_t len = f->len - PROTO_HDR_LEN;

	assert_int_equal(proto_get_len(f->data), len);
	return proto_reply_decode(heap_copy(f->data + PROTO_HDR_LEN, len), len,
	    rep);
}

static int
reply_decode_raw(const void *p, size_t len, struct proto_reply *rep)
{
	return proto_reply_decode(heap_copy(p, len), len, rep);
}

static void
test_reply_roundtrip(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	struct proto_reply rep;
	const msgpack_object *o, *u;
	msgpack_packer *pk;

	(void)state;
	proto_msg_init(&m);
	pk = proto_kv_begin(&m, "user");
	msgpack_pack_map(pk, 3);
	proto_pack_cstr(pk, "username");
	proto_pack_cstr(pk, "alice");
	proto_pack_cstr(pk, "email");
	msgpack_pack_nil(pk);
	proto_pack_cstr(pk, "superadmin");
	msgpack_pack_true(pk);
	proto_kv_int(&m, "total", 3);
	proto_kv_bool(&m, "restored", false);
	proto_kv_nil(&m, "deleted_at");
	proto_kv_str(&m, "name", "\xc3\xa9");
	assert_int_equal(proto_reply_finish(&m, 77, &f), ACCT_OK);
	proto_msg_free(&m);

	assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	assert_int_equal(rep.id, 77);
	assert_non_null(rep.result);
	assert_int_equal(rep.result->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(rep.result->via.map.size, 5);
	u = proto_map_get(rep.result, "user");
	assert_non_null(u);
	assert_int_equal(u->type, MSGPACK_OBJECT_MAP);
	o = proto_map_get(u, "username");
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_STR);
	assert_int_equal(o->via.str.size, 5);
	assert_memory_equal(o->via.str.ptr, "alice", 5);
	o = proto_map_get(u, "email");
	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_NIL);
	o = proto_map_get(u, "superadmin");
	assert_true(o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN &&
	    o->via.boolean);
	o = proto_map_get(rep.result, "total");
	assert_true(o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 == 3);
	o = proto_map_get(rep.result, "restored");
	assert_true(o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN &&
	    !o->via.boolean);
	o = proto_map_get(rep.result, "deleted_at");
	assert_true(o != NULL && o->type == MSGPACK_OBJECT_NIL);
	assert_null(proto_map_get(rep.result, "missing"));
	assert_null(proto_map_get(rep.result, "use"));
	assert_null(proto_map_get(rep.result, "users"));
	assert_null(proto_map_get(NULL, "user"));
	assert_null(proto_map_get(proto_map_get(rep.result, "total"), "x"));
	proto_reply_free(&rep);
	proto_reply_free(&rep);		/* twice is harmless */
	proto_frame_free(&f);
	proto_frame_free(&f);

	/* An empty result, the largest id. */
	proto_msg_init(&m);
	assert_int_equal(proto_reply_finish(&m, UINT64_MAX, &f), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	assert_true(rep.id == UINT64_MAX);
	assert_int_equal(rep.result->via.map.size, 0);
	proto_reply_free(&rep);
	proto_frame_free(&f);
}

static void
test_error_roundtrip(void **state)
{
	struct proto_frame f;
	struct proto_reply rep;

	(void)state;
	for (int code = 1; code < ACCT_ERR__WIRE_MAX; code++) {
		assert_int_equal(proto_error_finish(9, code, "some text", &f),
		    ACCT_OK);
		assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
		assert_int_equal(rep.code, code);
		assert_int_equal(rep.id, 9);
		assert_null(rep.result);
		assert_string_equal(rep.message, "some text");
		proto_reply_free(&rep);
		proto_frame_free(&f);

		/* NULL message: the standard text for the code. */
		assert_int_equal(proto_error_finish(0, code, NULL, &f), ACCT_OK);
		assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
		assert_int_equal(rep.code, code);
		assert_int_equal(rep.id, 0);
		assert_string_equal(rep.message, acct_strerror(code));
		proto_reply_free(&rep);
		proto_frame_free(&f);
	}
	/* The error map carries the name too. */
	assert_int_equal(proto_error_finish(1, ACCT_ERR_NOT_FOUND, "gone", &f),
	    ACCT_OK);
	{
		msgpack_unpacked un;
		size_t off = 0;
		const msgpack_object *e, *o;

		msgpack_unpacked_init(&un);
		assert_int_equal(msgpack_unpack_next(&un,
		    (const char *)f.data + PROTO_HDR_LEN, f.len - PROTO_HDR_LEN,
		    &off), MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(un.data.via.map.size, 3);
		e = proto_map_get(&un.data, "error");
		assert_non_null(e);
		assert_int_equal(e->via.map.size, 3);
		o = proto_map_get(e, "name");
		assert_non_null(o);
		assert_int_equal(o->via.str.size, strlen("not_found"));
		assert_memory_equal(o->via.str.ptr, "not_found", 9);
		o = proto_map_get(&un.data, "v");
		assert_true(o != NULL && o->via.u64 == PROTO_VERSION);
		msgpack_unpacked_destroy(&un);
	}
	proto_frame_free(&f);

	/* Control characters in a message are made harmless for printing. */
	assert_int_equal(proto_error_finish(2, ACCT_ERR_INVALID,
	    "bad\n\x1b[31mred\x7f\t!", &f), ACCT_OK);
	assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
	assert_string_equal(rep.message, "bad??[31mred?" "?!");
	proto_reply_free(&rep);
	proto_frame_free(&f);

	/* A long message is cut to fit, and terminated. */
	{
		char *s = repeat('m', 5000);
		assert_int_equal(proto_error_finish(2, ACCT_ERR_INVALID, s, &f),
		    ACCT_OK);
		assert_int_equal(reply_decode_frame(&f, &rep), ACCT_OK);
		assert_int_equal(strlen(rep.message), sizeof(rep.message) - 1);
		assert_memory_equal(rep.message, s, sizeof(rep.message) - 1);
		proto_reply_free(&rep);
		proto_frame_free(&f);
		free(s);
	}
}

/* Pack a reply envelope by hand. parts: bitmask of what to include. */
enum { R_V = 1, R_ID = 2, R_RESULT = 4, R_ERROR = 8 };

static void
pack_reply(struct proto_msg *m, int parts, int64_t v, int64_t id,
    int64_t code, bool msg_is_str)
{
	int n = !!(parts & R_V) + !!(parts & R_ID) + !!(parts & R_RESULT) +
	    !!(parts & R_ERROR);

	proto_msg_init(m);
	msgpack_pack_map(&m->pk, (size_t)n);
	if (parts & R_V) {
		proto_pack_cstr(&m->pk, "v");
		msgpack_pack_int64(&m->pk, v);
	}
	if (parts & R_ID) {
		proto_pack_cstr(&m->pk, "id");
		msgpack_pack_int64(&m->pk, id);
	}
	if (parts & R_RESULT) {
		proto_pack_cstr(&m->pk, "result");
		msgpack_pack_map(&m->pk, 0);
	}
	if (parts & R_ERROR) {
		proto_pack_cstr(&m->pk, "error");
		msgpack_pack_map(&m->pk, 3);
		proto_pack_cstr(&m->pk, "code");
		msgpack_pack_int64(&m->pk, code);
		proto_pack_cstr(&m->pk, "name");
		proto_pack_cstr(&m->pk, "x");
		proto_pack_cstr(&m->pk, "message");
		if (msg_is_str)
			proto_pack_cstr(&m->pk, "text");
		else
			msgpack_pack_int64(&m->pk, 1);
	}
}

static void
expect_reply_fail(const char *what, const void *p, size_t len)
{
	struct proto_reply rep;
	int rc = reply_decode_raw(p, len, &rep);

	if (rc != ACCT_ERR_PROTOCOL)
		fail_msg("%s: reply decode gave %d", what, rc);
	assert_int_equal(rep.code, ACCT_ERR_PROTOCOL);
	assert_null(rep.result);
	proto_reply_free(&rep);
	proto_reply_free(&rep);
}

static void
test_reply_malformed(void **state)
{
	static const struct {
		const char *what;
		int parts;
		int64_t v, id, code;
		bool str;
	} cases[] = {
		{ "neither result nor error", R_V | R_ID, 1, 1, 0, true },
		{ "both", R_V | R_ID | R_RESULT | R_ERROR, 1, 1, 5, true },
		{ "no v", R_ID | R_RESULT, 1, 1, 0, true },
		{ "no id", R_V | R_RESULT, 1, 1, 0, true },
		{ "v 2", R_V | R_ID | R_RESULT, 2, 1, 0, true },
		{ "v 0", R_V | R_ID | R_RESULT, 0, 1, 0, true },
		{ "v -1", R_V | R_ID | R_RESULT, -1, 1, 0, true },
		{ "id -1", R_V | R_ID | R_RESULT, 1, -1, 0, true },
		{ "code 0", R_V | R_ID | R_ERROR, 1, 1, 0, true },
		{ "code -1", R_V | R_ID | R_ERROR, 1, 1, -1, true },
		{ "local code", R_V | R_ID | R_ERROR, 1, 1, ACCT_ERR_CONNECT,
		  true },
		{ "nomem code", R_V | R_ID | R_ERROR, 1, 1, ACCT_ERR_NOMEM,
		  true },
		{ "huge code", R_V | R_ID | R_ERROR, 1, 1, INT64_MAX, true },
		{ "message not str", R_V | R_ID | R_ERROR, 1, 1, 5, false },
	};
	struct proto_msg m;
	struct proto_reply rep;

	(void)state;
	/* The hand packer makes good replies when asked. */
	pack_reply(&m, R_V | R_ID | R_ERROR, 1, 5, ACCT_ERR_BUSY, true);
	assert_int_equal(reply_decode_raw(m.data, m.len, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_ERR_BUSY);
	assert_string_equal(rep.message, "text");
	proto_reply_free(&rep);
	proto_msg_free(&m);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pack_reply(&m, cases[i].parts, cases[i].v, cases[i].id,
		    cases[i].code, cases[i].str);
		expect_reply_fail(cases[i].what, m.data, m.len);
		proto_msg_free(&m);
	}

	/* result not a map; error not a map; error without code/message. */
	static const struct {
		const char *what;
		const char *b;
		size_t len;
	} raw[] = {
		{ "result array", B("\x83\xa1v\x01\xa2id\x01\xa6result\x90") },
		{ "result nil", B("\x83\xa1v\x01\xa2id\x01\xa6result\xc0") },
		{ "error str", B("\x83\xa1v\x01\xa2id\x01\xa5" "error\xa1x") },
		{ "error empty", B("\x83\xa1v\x01\xa2id\x01\xa5" "error\x80") },
		{ "error no message",
		  B("\x83\xa1v\x01\xa2id\x01\xa5" "error\x81\xa4" "code\x05") },
		{ "error no code",
		  B("\x83\xa1v\x01\xa2id\x01\xa5" "error\x81\xa7message\xa1x") },
		{ "unknown key",
		  B("\x84\xa1v\x01\xa2id\x01\xa6result\x80\xa1x\x01") },
		{ "dup id", B("\x84\xa1v\x01\xa2id\x01\xa2id\x02\xa6result\x80") },
		{ "not a map", B("\x93\x01\x01\x80") },
		{ "nil", B("\xc0") },
		{ "empty", B("") },
		{ "c1", B("\xc1") },
		{ "trailing", B("\x83\xa1v\x01\xa2id\x01\xa6result\x80\xc0") },
		{ "huge map", B("\xdf\xff\xff\xff\xff") },
		{ "huge str", B("\x83\xa1v\x01\xa2id\x01\xa6result\xdb\xff\xff\xff"
		  "\xff") },
	};
	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		expect_reply_fail(raw[i].what, raw[i].b, raw[i].len);

	/* Nesting beyond the reply limit (8). */
	{
		uint8_t b[64];
		size_t n = 0;

		memcpy(b, "\x83\xa1v\x01\xa2id\x01\xa6result\x81\xa1k", 17);
		n = 17;
		for (int i = 0; i < 20; i++)
			b[n++] = 0x91;
		b[n++] = 0x01;
		expect_reply_fail("deep", b, n);
	}
}

static void
test_reply_truncated(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	msgpack_packer *pk;

	(void)state;
	proto_msg_init(&m);
	pk = proto_kv_begin(&m, "users");
	msgpack_pack_array(pk, 2);
	msgpack_pack_map(pk, 1);
	proto_pack_cstr(pk, "username");
	proto_pack_cstr(pk, "a");
	msgpack_pack_map(pk, 0);
	proto_kv_int(&m, "total", 100000);
	assert_int_equal(proto_reply_finish(&m, 3, &f), ACCT_OK);
	proto_msg_free(&m);
	for (size_t n = 0; n < f.len - PROTO_HDR_LEN; n++)
		expect_reply_fail("prefix", f.data + PROTO_HDR_LEN, n);
	proto_frame_free(&f);

	assert_int_equal(proto_error_finish(3, ACCT_ERR_DENIED, "no", &f),
	    ACCT_OK);
	for (size_t n = 0; n < f.len - PROTO_HDR_LEN; n++)
		expect_reply_fail("error prefix", f.data + PROTO_HDR_LEN, n);
	proto_frame_free(&f);
}

static void
test_reply_size_limit(void **state)
{
	struct proto_msg m;
	struct proto_frame f;
	size_t n = PROTO_MAX_REPLY + 16;
	char *s = malloc(n);

	(void)state;
	assert_non_null(s);
	memset(s, 'r', n);
	proto_msg_init(&m);
	pk_strn(proto_kv_begin(&m, "blob"), s, n);
	f.data = (uint8_t *)"junk";
	assert_int_not_equal(proto_reply_finish(&m, 1, &f), ACCT_OK);
	assert_null(f.data);
	proto_msg_free(&m);
	/* A reply payload over the limit is not decoded. */
	expect_reply_fail("over max", s, PROTO_MAX_REPLY + 1);
	free(s);
}

/* ---- error codes ---- */

static void
test_error_names(void **state)
{
	static const struct {
		int code;
		const char *name;
	} want[] = {
		{ ACCT_OK, "ok" },
		{ 1, "internal" }, { 2, "protocol" }, { 3, "version" },
		{ 4, "unknown_operation" }, { 5, "invalid_argument" },
		{ 6, "permission_denied" }, { 7, "not_found" },
		{ 8, "exists" }, { 9, "deleted_exists" },
		{ 10, "auth_failed" }, { 11, "busy" }, { 12, "storage" },
		{ 13, "invalid_token" }, { 14, "password_policy" },
		{ 15, "confirmation_required" }, { 16, "unavailable" },
		{ 100, "connect" }, { 101, "io" }, { 102, "nomem" },
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	static const int unknown[] = {
		-1, INT_MIN, INT_MAX, ACCT_ERR__WIRE_MAX, 99, 103, 1000,
	};

	(void)state;
	/* Codes are only ever appended; any added since have names too. */
	assert_true(ACCT_ERR__WIRE_MAX >= 17 && ACCT_ERR__WIRE_MAX < 100);
	for (int code = 1; code < ACCT_ERR__WIRE_MAX; code++) {
		assert_string_not_equal(acct_errname(code), acct_errname(-1));
		for (int other = 0; other < code; other++)
			assert_string_not_equal(acct_errname(code),
			    acct_errname(other));
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = acct_errname(want[i].code);
		const char *text = acct_strerror(want[i].code);

		assert_non_null(name);
		assert_string_equal(name, want[i].name);
		assert_non_null(text);
		assert_true(text[0] != '\0');
		assert_string_not_equal(text, acct_strerror(-1));
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(name,
			    acct_errname(want[j].code));
			assert_string_not_equal(text,
			    acct_strerror(want[j].code));
		}
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		const char *name = acct_errname(unknown[i]);
		const char *text = acct_strerror(unknown[i]);

		assert_non_null(name);
		assert_non_null(text);
		assert_true(text[0] != '\0');
		for (size_t j = 0; j < n; j++)
			assert_string_not_equal(name, want[j].name);
	}
	assert_string_equal(acct_errname(12345), acct_errname(-7));
}

/* ---- message building ---- */

static void
test_msg_building(void **state)
{
	struct proto_msg m;
	msgpack_unpacked un;
	size_t off = 0;
	char *big = repeat('z', 100000);

	(void)state;
	proto_msg_init(&m);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.npairs, 0);
	proto_kv_str(&m, "a", "x");
	proto_kv_int(&m, "b", -5);
	proto_kv_bool(&m, "c", true);
	proto_kv_nil(&m, "d");
	proto_kv_str(&m, "e", big);	/* grows the buffer several times */
	assert_int_equal(m.npairs, 5);
	assert_false(m.failed);
	/* The body is the map's pairs: wrap it to check them. */
	{
		uint8_t *buf = malloc(m.len + 1);
		assert_non_null(buf);
		buf[0] = 0x85;
		memcpy(buf + 1, m.data, m.len);
		msgpack_unpacked_init(&un);
		assert_int_equal(msgpack_unpack_next(&un, (const char *)buf,
		    m.len + 1, &off), MSGPACK_UNPACK_SUCCESS);
		assert_int_equal(off, m.len + 1);
		const msgpack_object *o = proto_map_get(&un.data, "b");
		assert_true(o != NULL &&
		    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		    o->via.i64 == -5);
		o = proto_map_get(&un.data, "e");
		assert_true(o != NULL && o->via.str.size == 100000);
		assert_memory_equal(o->via.str.ptr, big, 100000);
		msgpack_unpacked_destroy(&un);
		free(buf);
	}
	proto_msg_free(&m);
	assert_null(m.data);
	assert_int_equal(m.len, 0);
	proto_msg_free(&m);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_types),
		cmocka_unit_test(test_roundtrip_ints_and_ids),
		cmocka_unit_test(test_roundtrip_every_op),
		cmocka_unit_test(test_schema_matches_contract),
		cmocka_unit_test(test_man_page_arguments_are_the_schema),
		cmocka_unit_test(test_utf8_valid_edges),
		cmocka_unit_test(test_every_field_limits_and_types),
		cmocka_unit_test(test_clamp_at_character_boundary),
		cmocka_unit_test(test_truncated_every_prefix),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_top_level_not_a_map),
		cmocka_unit_test(test_envelope_keys),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_op),
		cmocka_unit_test(test_args_not_a_map),
		cmocka_unit_test(test_unknown_and_disallowed_args),
		cmocka_unit_test(test_duplicate_args),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_too_many_args),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_id_recovered),
		cmocka_unit_test(test_message_never_quotes_values),
		cmocka_unit_test(test_prescan_huge_headers),
		cmocka_unit_test(test_prescan_every_lone_byte),
		cmocka_unit_test(test_prescan_reserved_c1),
		cmocka_unit_test(test_prescan_depth),
		cmocka_unit_test(test_prescan_vs_msgpack_two_bytes),
		cmocka_unit_test(test_prescan_fuzz),
		cmocka_unit_test(test_decode_byte_mutations),
		cmocka_unit_test(test_request_size_limit),
		cmocka_unit_test(test_len_header),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_reply_malformed),
		cmocka_unit_test(test_reply_truncated),
		cmocka_unit_test(test_reply_size_limit),
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_msg_building),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
