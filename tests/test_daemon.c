/*
 * test_daemon.c: the real acctd over raw frames: hello, many requests per
 * connection, malformed input of every kind, signals, stale sockets, modes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RECV_MS		10000

static const char *const account_keys[] = {
	"id", "username", "name", "email", "role", "superadmin", "login",
	"webdav", "upload_path", "auth_provider", "auth_id", "two_factor",
	"has_password", "password_scheme", "activated", "failed_logins",
	"locked_until", "created_at", "updated_at", "last_login_at",
	"deleted_at", "expires_at", "password_changed_at",
	"password_max_age_days", "must_change", "status", NULL
};

#define assert_code(rep, want) do {					\
	if ((rep).code != (want))					\
		print_error("got %d (%s): %s, want %d (%s)\n",		\
		    (rep).code, acct_errname((rep).code), (rep).message,	\
		    (want), acct_errname(want));				\
	assert_int_equal((rep).code, (want));				\
} while (0)

/*
 * A tiny MessagePack writer from a format string, so each malformed
 * request below reads as what it is. Tokens, separated by spaces:
 *   {N map of N pairs   [N array of N   s:text string   i:N unsigned
 *   n:N negative int    d:N double      t true   f false   z nil
 *   x:HEX raw bytes, as they are
 */
static size_t
mp(uint8_t *out, size_t cap, const char *fmt)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *copy = strdup(fmt), *tok, *save = NULL;
	size_t n;

	assert_non_null(copy);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		const char *v = tok + 2;

		switch (tok[0]) {
		case '{':
			msgpack_pack_map(&pk, strtoul(tok + 1, NULL, 10));
			break;
		case '[':
			msgpack_pack_array(&pk, strtoul(tok + 1, NULL, 10));
			break;
		case 's':
			proto_pack_cstr(&pk, v);
			break;
		case 'i':
			msgpack_pack_uint64(&pk, strtoull(v, NULL, 10));
			break;
		case 'n':
			msgpack_pack_int64(&pk, strtoll(v, NULL, 10));
			break;
		case 'd':
			msgpack_pack_double(&pk, strtod(v, NULL));
			break;
		case 't':
			msgpack_pack_true(&pk);
			break;
		case 'f':
			msgpack_pack_false(&pk);
			break;
		case 'z':
			msgpack_pack_nil(&pk);
			break;
		case 'x':
			for (; isxdigit((unsigned char)v[0]) &&
			    isxdigit((unsigned char)v[1]); v += 2) {
				char h[3] = { v[0], v[1], 0 };
				uint8_t b = (uint8_t)strtoul(h, NULL, 16);
				msgpack_sbuffer_write(&sb, (const char *)&b, 1);
			}
			break;
		default:
			fail_msg("bad mp token '%s'", tok);
		}
	}
	free(copy);
	assert_true(sb.size <= cap);
	memcpy(out, sb.data, sb.size);
	n = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/* The accounts (and every other table) as text, for before/after. */
static char *
dump(const struct th_daemon *d)
{
	char *s = th_keep(th_db_dump(d));

	assert_non_null(s);
	return s;
}

/* The daemon still serves a new client, and the database is as before. */
static void
still_fine(const struct th_daemon *d, const char *before)
{
	struct proto_reply rep;
	char *after;

	assert_int_equal(th_call(d->sock, "hello", NULL, &rep), ACCT_OK);
	assert_code(rep, ACCT_OK);
	assert_true(th_str_is(rep.result, "server", "acctd"));
	proto_reply_free(&rep);
	after = dump(d);
	if (strcmp(before, after) != 0)
		print_error("database changed:\n--- before\n%s--- after\n%s",
		    before, after);
	assert_string_equal(before, after);
	th_free(after);
}

/* Seed an account, so "unchanged" is about something. */
static char *
seed(const struct th_daemon *d)
{
	assert_int_equal(th_add_user(d->sock, "alice", "alice-password"),
	    ACCT_OK);
	return dump(d);
}

/* Send payload as one frame; expect an error reply with code and id. */
static void
expect_error(const struct th_daemon *d, const uint8_t *p, size_t n,
    int code, uint64_t id)
{
	struct proto_reply rep;
	int fd = th_connect(d->sock);

	assert_true(fd >= 0);
	assert_int_equal(th_send_frame(fd, p, n), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, code);
	assert_true(rep.message[0] != '\0');
	/* "id: the request's, or 0 if it could not be read". */
	if (code == ACCT_ERR_PROTOCOL && rep.id == 0)
		id = 0;
	assert_int_equal(rep.id, id);
	proto_reply_free(&rep);
	close(fd);
}

static void
expect_error_fmt(const struct th_daemon *d, const char *fmt, int code,
    uint64_t id)
{
	uint8_t buf[4096];
	size_t n = mp(buf, sizeof(buf), fmt);

	expect_error(d, buf, n, code, id);
}

/*
 * The connection is closed, after at most one reply, which must be a
 * protocol error.
 */
static void
expect_closed(int fd)
{
	struct proto_reply rep;
	int r = th_recv(fd, RECV_MS, &rep);

	if (r == TH_REPLY) {
		assert_code(rep, ACCT_ERR_PROTOCOL);
		proto_reply_free(&rep);
		r = th_recv(fd, RECV_MS, &rep);
	}
	assert_int_equal(r, TH_EOF);
}

/* ---- hello and the envelope ---- */

static void
test_hello(void **state)
{
	static const char *const keys[] = { "server", "version", "protocol",
	    "uid", "gid", "pid", "username", "classes", NULL };
	struct th_daemon *d = *state;
	struct proto_reply rep;
	const msgpack_object *cl;
	uint8_t buf[256];
	size_t n;
	int fd;

	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	n = mp(buf, sizeof(buf),
	    "{4 s:v i:1 s:id i:4242424242 s:op s:hello s:args {0");
	assert_int_equal(th_send_frame(fd, buf, n), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, ACCT_OK);
	assert_int_equal(rep.id, 4242424242ULL);
	assert_true(th_has_keys(rep.result, keys));
	assert_true(th_str_is(rep.result, "server", "acctd"));
	assert_true(th_str_is(rep.result, "version", "0.1.0"));
	assert_int_equal(th_int(rep.result, "protocol", -1), 1);
	assert_int_equal(th_int(rep.result, "uid", -1), getuid());
	assert_int_equal(th_int(rep.result, "gid", -1), getgid());
	assert_int_equal(th_int(rep.result, "pid", -1), getpid());
	if (getuid() == 0)
		assert_true(th_str_is(rep.result, "username", "root"));
	cl = proto_map_get(rep.result, "classes");
	assert_non_null(cl);
	assert_int_equal(cl->type, MSGPACK_OBJECT_ARRAY);
	/* We are admin (root, or our gid is the admin group). */
	assert_int_equal(cl->via.array.size, 3);
	assert_true(cl->via.array.ptr[0].type == MSGPACK_OBJECT_STR);
	assert_memory_equal(cl->via.array.ptr[0].via.str.ptr, "admin", 5);
	proto_reply_free(&rep);
	close(fd);
}

/* Pipelined requests, some failing, all answered in order on one socket. */
static void
test_many_requests(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	char name[32];
	int fd = th_connect(d->sock);
	const int N = 40;

	assert_true(fd >= 0);
	for (int i = 0; i < N; i++) {
		proto_msg_init(&m);
		switch (i % 4) {
		case 0:
			assert_int_equal(th_send_request(fd, 1000 + i,
			    "hello", NULL), 0);
			break;
		case 1:
			snprintf(name, sizeof(name), "user%02d", i);
			proto_kv_str(&m, "username", name);
			assert_int_equal(th_send_request(fd, 1000 + i,
			    "user_add", &m), 0);
			break;
		case 2:		/* not_found: an error does not end it */
			proto_kv_str(&m, "username", "nosuchuser");
			assert_int_equal(th_send_request(fd, 1000 + i,
			    "user_show", &m), 0);
			break;
		case 3:		/* invalid_argument */
			proto_kv_str(&m, "username", "Not Valid!");
			assert_int_equal(th_send_request(fd, 1000 + i,
			    "user_add", &m), 0);
			break;
		}
		proto_msg_free(&m);
	}
	for (int i = 0; i < N; i++) {
		static const int want[4] = { ACCT_OK, ACCT_OK,
		    ACCT_ERR_NOT_FOUND, ACCT_ERR_INVALID };

		assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
		assert_int_equal(rep.id, 1000 + i);
		assert_code(rep, want[i % 4]);
		proto_reply_free(&rep);
	}
	/* And the connection still works, one at a time. */
	proto_msg_init(&m);
	assert_int_equal(th_send_request(fd, 7, "user_list", &m), 0);
	proto_msg_free(&m);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, ACCT_OK);
	assert_int_equal(th_int(rep.result, "total", -1), N / 4);
	proto_reply_free(&rep);
	close(fd);
}

/* Clients that leave early: the daemon carries on. */
static void
test_client_vanishes(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	char *before = seed(d);
	int fd;

	/* Many requests, then gone without reading a reply. */
	for (int k = 0; k < 5; k++) {
		fd = th_connect(d->sock);
		assert_true(fd >= 0);
		for (int i = 0; i < 50; i++) {
			proto_msg_init(&m);
			proto_kv_str(&m, "username", "alice");
			assert_int_equal(th_send_request(fd, (uint64_t)i + 1,
			    "user_show", &m), 0);
			proto_msg_free(&m);
		}
		close(fd);
	}
	/* Request, then shutdown(SHUT_WR): the reply still comes. */
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send_request(fd, 99, "hello", NULL), 0);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, ACCT_OK);
	assert_int_equal(rep.id, 99);
	proto_reply_free(&rep);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_EOF);
	close(fd);
	still_fine(d, before);
	th_free(before);
}

/* ---- framing ---- */

static void
test_truncated_frame(void **state)
{
	struct th_daemon *d = *state;
	char *before = seed(d);
	uint8_t buf[256];
	size_t n;
	int fd;

	/* Header says 100 bytes, 10 arrive, then the client goes away. */
	n = mp(buf, sizeof(buf), "x:00000064 x:84a17601a269640ba26f70");
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send(fd, buf, n), 0);
	close(fd);
	/* Half a header, then gone. */
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send(fd, "\0\0", 2), 0);
	close(fd);
	/* A whole request but the last byte, then shutdown(SHUT_WR). */
	n = mp(buf, sizeof(buf), "{4 s:v i:1 s:id i:9 s:op s:hello s:args {0");
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send_frame(fd, buf, n - 1), 0);
	shutdown(fd, SHUT_WR);
	expect_closed(fd);
	close(fd);
	still_fine(d, before);
	th_free(before);
}

static void
test_frame_length_zero(void **state)
{
	struct th_daemon *d = *state;
	char *before = seed(d);
	int fd = th_connect(d->sock);

	assert_true(fd >= 0);
	assert_int_equal(th_send(fd, "\0\0\0\0", 4), 0);
	expect_closed(fd);
	close(fd);
	still_fine(d, before);
	th_free(before);
}

static void
test_frame_too_long(void **state)
{
	static const char *const hdrs[] = {
		"\x00\x01\x00\x01",	/* 64 KiB + 1 */
		"\x00\x10\x00\x00",	/* 1 MiB */
		"\xff\xff\xff\xff",	/* 4 GiB - 1 */
	};
	struct th_daemon *d = *state;
	char *before = seed(d);

	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		int fd = th_connect(d->sock);

		assert_true(fd >= 0);
		assert_int_equal(th_send(fd, hdrs[i], 4), 0);
		expect_closed(fd);
		close(fd);
	}
	/* Over the limit with the payload really sent. */
	{
		size_t len = PROTO_MAX_REQUEST + 1;
		uint8_t *big = th_keep(calloc(1, len));
		int fd = th_connect(d->sock);

		assert_non_null(big);
		assert_true(fd >= 0);
		/* The daemon may close before reading it all: ignore EPIPE. */
		(void)th_send_frame(fd, big, len);
		expect_closed(fd);
		close(fd);
		th_free(big);
	}
	still_fine(d, before);
	th_free(before);
}

/* Exactly 64 KiB is a frame the daemon reads and answers. */
static void
test_frame_max_accepted(void **state)
{
	struct th_daemon *d = *state;
	char *before = seed(d);
	struct proto_reply rep;
	uint8_t head[128], *buf;
	size_t hn, len = PROTO_MAX_REQUEST, slen;
	int fd;

	/* user_add with a username string that fills the frame. */
	hn = mp(head, sizeof(head), "{4 s:v i:1 s:id i:5 s:op s:user_add "
	    "s:args {1 s:username");
	slen = len - hn - 5;		/* str32 header is 5 bytes */
	buf = th_keep(malloc(len));
	assert_non_null(buf);
	memcpy(buf, head, hn);
	buf[hn] = 0xdb;
	buf[hn + 1] = (uint8_t)(slen >> 24);
	buf[hn + 2] = (uint8_t)(slen >> 16);
	buf[hn + 3] = (uint8_t)(slen >> 8);
	buf[hn + 4] = (uint8_t)slen;
	memset(buf + hn + 5, 'a', slen);
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send_frame(fd, buf, len), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, ACCT_ERR_INVALID);
	assert_int_equal(rep.id, 5);
	proto_reply_free(&rep);
	th_free(buf);
	/* The connection goes on. */
	assert_int_equal(th_send_request(fd, 6, "hello", NULL), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	assert_code(rep, ACCT_OK);
	assert_int_equal(rep.id, 6);
	proto_reply_free(&rep);
	close(fd);
	still_fine(d, before);
	th_free(before);
}

/* ---- malformed payloads ---- */

struct bad {
	const char	*what;
	const char	*fmt;	/* for mp() */
	int		 code;
	uint64_t	 id;	/* expected in the reply */
};

/* Like expect_error_fmt(), but reports a mismatch and returns 1. */
static int
check_error(const struct th_daemon *d, const struct bad *b)
{
	struct proto_reply rep;
	uint8_t buf[4096];
	size_t n = mp(buf, sizeof(buf), b->fmt);
	int fd = th_connect(d->sock), r, bad = 0;

	assert_true(fd >= 0);
	assert_int_equal(th_send_frame(fd, buf, n), 0);
	if ((r = th_recv(fd, RECV_MS, &rep)) != TH_REPLY) {
		print_error("  %s: no reply (%d)\n", b->what, r);
		close(fd);
		return 1;
	}
	if (rep.code != b->code) {
		print_error("  %s: got %d (%s) \"%s\", want %d (%s)\n",
		    b->what, rep.code, acct_errname(rep.code), rep.message,
		    b->code, acct_errname(b->code));
		bad = 1;
	} else if (rep.message[0] == '\0') {
		print_error("  %s: error without a message\n", b->what);
		bad = 1;
	} else if (rep.id != b->id &&
	    !(b->code == ACCT_ERR_PROTOCOL && rep.id == 0)) {
		print_error("  %s: reply id %llu, want %llu\n", b->what,
		    (unsigned long long)rep.id, (unsigned long long)b->id);
		bad = 1;
	}
	proto_reply_free(&rep);
	close(fd);
	return bad;
}

/* Every case is tried; then the count of mismatches, then the database. */
static void
run_bad(struct th_daemon *d, const struct bad *b, size_t n)
{
	char *before = seed(d);
	int failed = 0;

	for (size_t i = 0; i < n; i++)
		failed += check_error(d, &b[i]);
	assert_int_equal(failed, 0);
	still_fine(d, before);
	th_free(before);
}

static void
test_garbage(void **state)
{
	static const struct bad cases[] = {
		{ "0xc1 (never used)", "x:c1", ACCT_ERR_PROTOCOL, 0 },
		{ "text", "x:68656c6c6f20776f726c640a", ACCT_ERR_PROTOCOL, 0 },
		{ "zero bytes", "x:0000000000000000", ACCT_ERR_PROTOCOL, 0 },
		{ "map cut short", "x:84a17601a26964", ACCT_ERR_PROTOCOL, 0 },
		{ "string cut short", "x:84a17601a26964 x:07a26f70a5686568",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "trailing byte after a valid request",
		    "{4 s:v i:1 s:id i:3 s:op s:hello s:args {0 x:c0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "two requests in one frame",
		    "{4 s:v i:1 s:id i:3 s:op s:hello s:args {0 "
		    "{4 s:v i:1 s:id i:4 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "map32 of 16M pairs in 5 bytes", "x:dd01000000",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "map32 of 4G pairs", "x:dfffffffff", ACCT_ERR_PROTOCOL, 0 },
		{ "array32 of 4G", "x:ddffffffff", ACCT_ERR_PROTOCOL, 0 },
		{ "array16 of 64K", "x:dcffff", ACCT_ERR_PROTOCOL, 0 },
		{ "str32 of 4G", "x:dbffffffff41", ACCT_ERR_PROTOCOL, 0 },
		{ "bin32 of 4G", "x:c6ffffffff41", ACCT_ERR_PROTOCOL, 0 },
		{ "ext32 of 4G", "x:c9ffffffff0141", ACCT_ERR_PROTOCOL, 0 },
		{ "args claims 4G pairs",
		    "{4 s:v i:1 s:id i:3 s:op s:hello s:args x:dfffffffff",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "username claims 4G bytes",
		    "{4 s:v i:1 s:id i:3 s:op s:user_show s:args {1 "
		    "s:username x:dbffffffff616c",
		    ACCT_ERR_PROTOCOL, 0 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_deep_nesting(void **state)
{
	struct th_daemon *d = *state;
	char *before = seed(d);
	uint8_t buf[512];
	size_t n;

	/* 100 nested arrays, alone. */
	memset(buf, 0x91, 100);
	buf[100] = 0xc0;
	expect_error(d, buf, 101, ACCT_ERR_PROTOCOL, 0);
	/* 100 nested maps. */
	for (int i = 0; i < 100; i++) {
		buf[2 * i] = 0x81;
		buf[2 * i + 1] = 0x00;	/* key 0 */
	}
	buf[200] = 0xc0;
	expect_error(d, buf, 201, ACCT_ERR_PROTOCOL, 0);
	/* 100 nested arrays as an argument of a valid envelope. */
	n = mp(buf, sizeof(buf), "{4 s:v i:1 s:id i:8 s:op s:user_add s:args "
	    "{1 s:username");
	memset(buf + n, 0x91, 100);
	buf[n + 100] = 0xc0;
	expect_error(d, buf, n + 101, ACCT_ERR_PROTOCOL, 0);
	/* 100000 nested arrays: no stack to spare for recursion. */
	{
		size_t big = 60000;
		uint8_t *p = th_keep(malloc(big + 1));

		assert_non_null(p);
		memset(p, 0x91, big);
		p[big] = 0xc0;
		expect_error(d, p, big + 1, ACCT_ERR_PROTOCOL, 0);
		th_free(p);
	}
	still_fine(d, before);
	th_free(before);
}

static void
test_wrong_types(void **state)
{
	static const struct bad cases[] = {
		{ "top level array", "[4 i:1 i:7 s:hello {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "top level string", "s:hello", ACCT_ERR_PROTOCOL, 0 },
		{ "top level nil", "z", ACCT_ERR_PROTOCOL, 0 },
		{ "top level int", "i:1", ACCT_ERR_PROTOCOL, 0 },
		{ "integer key", "{4 i:1 i:1 s:id i:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "v a string", "{4 s:v s:1 s:id i:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "v a double", "{4 s:v d:1 s:id i:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "v negative", "{4 s:v n:-1 s:id i:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "v missing", "{3 s:id i:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "id negative", "{4 s:v i:1 s:id n:-7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "id a string", "{4 s:v i:1 s:id s:7 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "id a bool", "{4 s:v i:1 s:id t s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "id missing", "{3 s:v i:1 s:op s:hello s:args {0",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "op an int", "{4 s:v i:1 s:id i:7 s:op i:1 s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "op nil", "{4 s:v i:1 s:id i:7 s:op z s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "op missing", "{3 s:v i:1 s:id i:7 s:args {0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "args an array", "{4 s:v i:1 s:id i:7 s:op s:hello s:args [0",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "args nil", "{4 s:v i:1 s:id i:7 s:op s:hello s:args z",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "args missing", "{3 s:v i:1 s:id i:7 s:op s:hello",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "extra envelope key",
		    "{5 s:v i:1 s:id i:7 s:op s:hello s:args {0 s:x i:1",
		    ACCT_ERR_PROTOCOL, 7 },
		{ "duplicate envelope key",
		    "{5 s:v i:1 s:id i:7 s:op s:hello s:args {0 s:id i:8",
		    ACCT_ERR_PROTOCOL, 0 },
		{ "username an int",
		    "{4 s:v i:1 s:id i:7 s:op s:user_show s:args {1 s:username "
		    "i:5", ACCT_ERR_INVALID, 7 },
		{ "username nil",
		    "{4 s:v i:1 s:id i:7 s:op s:user_show s:args {1 s:username "
		    "z", ACCT_ERR_INVALID, 7 },
		{ "username binary",
		    "{4 s:v i:1 s:id i:7 s:op s:user_show s:args {1 s:username "
		    "x:c40561646d696e", ACCT_ERR_INVALID, 7 },
		{ "username with NUL",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {1 s:username "
		    "x:a4616c0069", ACCT_ERR_INVALID, 7 },
		{ "username not UTF-8",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {1 s:username "
		    "x:a4616cc328", ACCT_ERR_INVALID, 7 },
		{ "overlong UTF-8 in name",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {2 s:username "
		    "s:bob s:name x:a2c0af", ACCT_ERR_INVALID, 7 },
		{ "login a string",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {2 s:username "
		    "s:bob s:login s:yes", ACCT_ERR_INVALID, 7 },
		{ "login an int",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {2 s:username "
		    "s:bob s:login i:1", ACCT_ERR_INVALID, 7 },
		{ "limit negative",
		    "{4 s:v i:1 s:id i:7 s:op s:user_list s:args {1 s:limit "
		    "n:-1", ACCT_ERR_INVALID, 7 },
		{ "limit over the max",
		    "{4 s:v i:1 s:id i:7 s:op s:user_list s:args {1 s:limit "
		    "i:10001", ACCT_ERR_INVALID, 7 },
		{ "limit a double",
		    "{4 s:v i:1 s:id i:7 s:op s:user_list s:args {1 s:limit "
		    "d:5", ACCT_ERR_INVALID, 7 },
		{ "limit a string",
		    "{4 s:v i:1 s:id i:7 s:op s:user_list s:args {1 s:limit "
		    "s:5", ACCT_ERR_INVALID, 7 },
		{ "offset huge",
		    "{4 s:v i:1 s:id i:7 s:op s:user_list s:args {1 s:offset "
		    "i:18446744073709551615", ACCT_ERR_INVALID, 7 },
		{ "confirm a string",
		    "{4 s:v i:1 s:id i:7 s:op s:users_reset s:args {1 "
		    "s:confirm s:true", ACCT_ERR_INVALID, 7 },
		{ "new_password an int",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {2 s:username "
		    "s:bob s:new_password i:12345678", ACCT_ERR_INVALID, 7 },
		{ "missing required username",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {1 s:name "
		    "s:Bob", ACCT_ERR_INVALID, 7 },
		{ "argument given twice",
		    "{4 s:v i:1 s:id i:7 s:op s:user_add s:args {2 s:username "
		    "s:bob s:username s:carol", ACCT_ERR_INVALID, 7 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_unknown_op(void **state)
{
	static const struct bad cases[] = {
		{ "frobnicate", "{4 s:v i:1 s:id i:77 s:op s:frobnicate "
		    "s:args {0", ACCT_ERR_UNKNOWN_OP, 77 },
		{ "empty op", "{4 s:v i:1 s:id i:78 s:op x:a0 s:args {0",
		    ACCT_ERR_UNKNOWN_OP, 78 },
		{ "case differs", "{4 s:v i:1 s:id i:79 s:op s:HELLO s:args {0",
		    ACCT_ERR_UNKNOWN_OP, 79 },
		{ "prefix of an op", "{4 s:v i:1 s:id i:80 s:op s:user "
		    "s:args {0", ACCT_ERR_UNKNOWN_OP, 80 },
		{ "op with NUL", "{4 s:v i:1 s:id i:81 s:op x:a668656c6c6f00 "
		    "s:args {0", ACCT_ERR_UNKNOWN_OP, 81 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_unknown_field(void **state)
{
	static const struct bad cases[] = {
		{ "hello takes no arguments", "{4 s:v i:1 s:id i:7 s:op "
		    "s:hello s:args {1 s:username s:root", ACCT_ERR_INVALID, 7 },
		{ "unknown argument", "{4 s:v i:1 s:id i:7 s:op s:user_list "
		    "s:args {1 s:bogus i:1", ACCT_ERR_INVALID, 7 },
		{ "a field of another op", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_show s:args {2 s:username s:alice s:confirm t",
		    ACCT_ERR_INVALID, 7 },
		{ "setting the hash directly", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:mallory "
		    "s:password_hash s:$argon2id$x", ACCT_ERR_INVALID, 7 },
		{ "id as an argument", "{4 s:v i:1 s:id i:7 s:op s:user_mod "
		    "s:args {2 s:username s:alice s:id s:0", ACCT_ERR_INVALID,
		    7 },
		{ "non-string key in args", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_list s:args {1 i:1 i:1", ACCT_ERR_INVALID, 7 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

static void
test_too_many_args(void **state)
{
	struct th_daemon *d = *state;
	char fmt[2048];
	size_t off;

	/* 33 keys: more than any op takes, and over PROTO_MAX_ARGS. */
	off = (size_t)snprintf(fmt, sizeof(fmt), "{4 s:v i:1 s:id i:7 s:op "
	    "s:user_list s:args {33");
	for (int i = 0; i < 33; i++)
		off += (size_t)snprintf(fmt + off, sizeof(fmt) - off,
		    " s:search s:x");
	{
		char *before = seed(d);

		expect_error_fmt(d, fmt, ACCT_ERR_INVALID, 7);
		still_fine(d, before);
		th_free(before);
	}
}

static void
test_wrong_version(void **state)
{
	static const struct bad cases[] = {
		{ "v 2", "{4 s:v i:2 s:id i:12 s:op s:hello s:args {0",
		    ACCT_ERR_VERSION, 12 },
		{ "v 0", "{4 s:v i:0 s:id i:13 s:op s:hello s:args {0",
		    ACCT_ERR_VERSION, 13 },
		{ "v 2 with a write", "{4 s:v i:2 s:id i:14 s:op s:user_add "
		    "s:args {1 s:username s:bob", ACCT_ERR_VERSION, 14 },
		{ "v huge", "{4 s:v i:4294967297 s:id i:15 s:op s:hello "
		    "s:args {0", ACCT_ERR_VERSION, 15 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Requests of the right shape with values the daemon must refuse. */
static void
test_invalid_values(void **state)
{
	static const struct bad cases[] = {
		{ "space in username", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {1 s:username x:a7626f62206d6f62",
		    ACCT_ERR_INVALID, 7 },
		{ "username starting with '-'", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {1 s:username s:-rf", ACCT_ERR_INVALID,
		    7 },
		{ "username starting with '.'", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {1 s:username s:.hidden",
		    ACCT_ERR_INVALID, 7 },
		{ "username with '/'", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {1 s:username s:a/b", ACCT_ERR_INVALID, 7 },
		{ "empty username", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {1 s:username x:a0", ACCT_ERR_INVALID, 7 },
		{ "non-ASCII username", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {1 s:username x:a6c3a9c3a9c3a9", ACCT_ERR_INVALID,
		    7 },
		{ "65-byte username", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {1 s:username s:"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaa", ACCT_ERR_INVALID, 7 },
		{ "invalid username, other fields fine", "{4 s:v i:1 s:id i:7 "
		    "s:op s:user_add s:args {3 s:username s:Bad! s:name s:Bob "
		    "s:new_password s:long-enough-password", ACCT_ERR_INVALID,
		    7 },
		{ "email without @", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {2 s:username s:bob s:email s:bob.example.org",
		    ACCT_ERR_INVALID, 7 },
		{ "email with two @", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {2 s:username s:bob s:email s:b@b@example.org",
		    ACCT_ERR_INVALID, 7 },
		{ "email domain without dot", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob s:email "
		    "s:bob@localhost", ACCT_ERR_INVALID, 7 },
		{ "email with a space", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {2 s:username s:bob s:email x:b2626f62206a7240"
		    "6578616d706c652e6f7267", ACCT_ERR_INVALID, 7 },
		{ "unknown role", "{4 s:v i:1 s:id i:7 s:op s:user_add s:args "
		    "{2 s:username s:bob s:role s:root", ACCT_ERR_INVALID, 7 },
		{ "unknown auth provider", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob s:auth_provider "
		    "s:ldap", ACCT_ERR_INVALID, 7 },
		{ "control character in name", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob s:name x:a3420a62",
		    ACCT_ERR_INVALID, 7 },
		{ "DEL in name", "{4 s:v i:1 s:id i:7 s:op s:user_add s:args "
		    "{2 s:username s:bob s:name x:a3417f42", ACCT_ERR_INVALID,
		    7 },
		{ "escape sequence in upload path", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob s:upload_path "
		    "x:a51b5b326a78", ACCT_ERR_INVALID, 7 },
		{ "password too short", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {2 s:username s:bob s:new_password s:short",
		    ACCT_ERR_POLICY, 7 },
		{ "mod: invalid email", "{4 s:v i:1 s:id i:7 s:op s:user_mod "
		    "s:args {2 s:username s:alice s:email s:nope",
		    ACCT_ERR_INVALID, 7 },
		{ "mod: unknown role with a valid name", "{4 s:v i:1 s:id i:7 "
		    "s:op s:user_mod s:args {3 s:username s:alice s:name "
		    "s:Alice s:role s:god", ACCT_ERR_INVALID, 7 },
		{ "mod: unknown account", "{4 s:v i:1 s:id i:7 s:op s:user_mod "
		    "s:args {2 s:username s:nobody-here s:name s:X",
		    ACCT_ERR_NOT_FOUND, 7 },
		{ "rm: invalid username", "{4 s:v i:1 s:id i:7 s:op s:user_rm "
		    "s:args {1 s:username s:ALICE!", ACCT_ERR_INVALID, 7 },
		{ "rm: unknown account", "{4 s:v i:1 s:id i:7 s:op s:user_rm "
		    "s:args {1 s:username s:ghost", ACCT_ERR_NOT_FOUND, 7 },
		{ "add: existing name", "{4 s:v i:1 s:id i:7 s:op s:user_add "
		    "s:args {2 s:username s:alice s:name s:Other",
		    ACCT_ERR_EXISTS, 7 },
		{ "add: existing name in capitals", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {1 s:username s:ALICE",
		    ACCT_ERR_EXISTS, 7 },
		{ "reset without confirm", "{4 s:v i:1 s:id i:7 s:op "
		    "s:users_reset s:args {0", ACCT_ERR_INVALID, 7 },
		{ "reset with confirm false", "{4 s:v i:1 s:id i:7 s:op "
		    "s:users_reset s:args {1 s:confirm f", ACCT_ERR_CONFIRM,
		    7 },
		{ "passwd: new password and remove", "{4 s:v i:1 s:id i:7 s:op "
		    "s:passwd s:args {3 s:username s:alice s:new_password "
		    "s:another-password s:remove t", ACCT_ERR_INVALID, 7 },
		{ "passwd: neither", "{4 s:v i:1 s:id i:7 s:op s:passwd "
		    "s:args {1 s:username s:alice", ACCT_ERR_INVALID, 7 },
		{ "passwd: too short", "{4 s:v i:1 s:id i:7 s:op s:passwd "
		    "s:args {2 s:username s:alice s:new_password s:1234567",
		    ACCT_ERR_POLICY, 7 },
		{ "passwd: unknown account", "{4 s:v i:1 s:id i:7 s:op "
		    "s:passwd s:args {2 s:username s:ghost s:new_password "
		    "s:long-enough-password", ACCT_ERR_NOT_FOUND, 7 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/*
 * "name, upload_path, auth_id: no control characters": the C1 controls
 * U+0080..U+009F are control characters too (Unicode category Cc), and
 * U+009B is a CSI that some terminals act on.
 */
static void
test_c1_controls(void **state)
{
	static const struct bad cases[] = {
		{ "C1 NEL (U+0085) in name", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob s:name x:a461c28562",
		    ACCT_ERR_INVALID, 7 },
		{ "C1 CSI (U+009B) in auth id", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob2 s:auth_id "
		    "x:a5c29b324a78", ACCT_ERR_INVALID, 7 },
		{ "C1 (U+0080) in upload path", "{4 s:v i:1 s:id i:7 s:op "
		    "s:user_add s:args {2 s:username s:bob3 s:upload_path "
		    "x:a3c28041", ACCT_ERR_INVALID, 7 },
		{ "C1 CSI (U+009B) in name, user_mod", "{4 s:v i:1 s:id i:7 "
		    "s:op s:user_mod s:args {2 s:username s:alice s:name "
		    "x:a5c29b324a78", ACCT_ERR_INVALID, 7 },
	};

	run_bad(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- the account record over the wire ---- */

static void
test_account_record(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	const msgpack_object *u, *id;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "Bob.Smith");
	proto_kv_str(&m, "name", "Bob Smith");
	proto_kv_str(&m, "email", "Bob@Example.ORG");
	proto_kv_str(&m, "new_password", "bob-secret-pw");
	proto_kv_str(&m, "role", "viewer");
	proto_kv_bool(&m, "webdav", true);
	proto_kv_str(&m, "upload_path", "bob/uploads");
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	assert_int_equal(th_bool(rep.result, "restored"), 0);
	u = proto_map_get(rep.result, "user");
	assert_non_null(u);
	assert_true(th_has_keys(u, account_keys));
	id = proto_map_get(u, "id");
	assert_int_equal(id->type, MSGPACK_OBJECT_STR);
	assert_int_equal(id->via.str.size, 32);
	for (size_t i = 0; i < 32; i++)
		assert_true(strchr("0123456789abcdef", id->via.str.ptr[i]));
	assert_true(th_str_is(u, "username", "bob.smith"));
	assert_true(th_str_is(u, "name", "Bob Smith"));
	assert_true(th_str_is(u, "email", "bob@example.org"));
	assert_true(th_str_is(u, "role", "viewer"));
	assert_true(th_str_is(u, "auth_provider", "default"));
	assert_true(th_str_is(u, "upload_path", "bob/uploads"));
	assert_int_equal(th_bool(u, "superadmin"), 0);
	assert_int_equal(th_bool(u, "login"), 1);
	assert_int_equal(th_bool(u, "webdav"), 1);
	assert_int_equal(th_bool(u, "has_password"), 1);
	assert_true(th_is_nil(u, "deleted_at"));
	assert_true(th_int(u, "created_at", 0) > 1600000000);
	proto_reply_free(&rep);

	/* show: the same, never the hash. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "BOB.SMITH");
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	u = proto_map_get(rep.result, "user");
	assert_true(th_has_keys(u, account_keys));
	assert_true(th_str_is(u, "username", "bob.smith"));
	proto_reply_free(&rep);

	/* mod: email "" removes it; disable login; role. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob.smith");
	proto_kv_str(&m, "email", "");
	proto_kv_bool(&m, "login", false);
	proto_kv_bool(&m, "superadmin", true);
	proto_kv_str(&m, "role", "admin");
	assert_int_equal(th_call(d->sock, "user_mod", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	u = proto_map_get(rep.result, "user");
	assert_true(th_is_nil(u, "email"));
	assert_int_equal(th_bool(u, "login"), 0);
	assert_int_equal(th_bool(u, "superadmin"), 1);
	assert_true(th_str_is(u, "role", "admin"));
	assert_true(th_str_is(u, "name", "Bob Smith"));	/* untouched */
	proto_reply_free(&rep);
}

/* user_list: search, sort, paging, deleted accounts hidden. */
static void
test_user_list(void **state)
{
	static const char *const names[] = { "zed", "carol", "alice", "bob",
	    "dave" };
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	const msgpack_object *users;

	for (size_t i = 0; i < 5; i++)
		assert_int_equal(th_add_user(d->sock, names[i], NULL), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "carol");
	proto_kv_str(&m, "name", "Carol Danvers");
	proto_kv_str(&m, "email", "captain@marvel.example");
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "dave");
	assert_int_equal(th_call_code(d->sock, "user_rm", &m), ACCT_OK);
	proto_msg_free(&m);

	/* Sorted, deleted one missing. */
	assert_int_equal(th_call(d->sock, "user_list", NULL, &rep), ACCT_OK);
	assert_code(rep, ACCT_OK);
	assert_int_equal(th_int(rep.result, "total", -1), 4);
	users = proto_map_get(rep.result, "users");
	assert_non_null(users);
	assert_int_equal(users->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(users->via.array.size, 4);
	assert_true(th_str_is(&users->via.array.ptr[0], "username", "alice"));
	assert_true(th_str_is(&users->via.array.ptr[1], "username", "bob"));
	assert_true(th_str_is(&users->via.array.ptr[2], "username", "carol"));
	assert_true(th_str_is(&users->via.array.ptr[3], "username", "zed"));
	for (uint32_t i = 0; i < 4; i++)
		assert_true(th_has_keys(&users->via.array.ptr[i],
		    account_keys));
	proto_reply_free(&rep);

	/* Search by name and by email, case-insensitive. */
	static const char *const searches[] = { "DANVERS", "MARVEL", "aro" };
	for (size_t i = 0; i < 3; i++) {
		proto_msg_init(&m);
		proto_kv_str(&m, "search", searches[i]);
		assert_int_equal(th_call(d->sock, "user_list", &m, &rep),
		    ACCT_OK);
		proto_msg_free(&m);
		assert_code(rep, ACCT_OK);
		users = proto_map_get(rep.result, "users");
		assert_int_equal(users->via.array.size, 1);
		assert_true(th_str_is(&users->via.array.ptr[0], "username",
		    "carol"));
		proto_reply_free(&rep);
	}
	/* A search for the deleted one finds nothing. */
	proto_msg_init(&m);
	proto_kv_str(&m, "search", "dave");
	assert_int_equal(th_call(d->sock, "user_list", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(proto_map_get(rep.result, "users")->via.array.size,
	    0);
	proto_reply_free(&rep);
	/* Wildcards are not wildcards. */
	proto_msg_init(&m);
	proto_kv_str(&m, "search", "%");
	assert_int_equal(th_call(d->sock, "user_list", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	assert_int_equal(proto_map_get(rep.result, "users")->via.array.size,
	    0);
	proto_reply_free(&rep);

	/* Paging. */
	proto_msg_init(&m);
	proto_kv_int(&m, "limit", 2);
	proto_kv_int(&m, "offset", 1);
	assert_int_equal(th_call(d->sock, "user_list", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	users = proto_map_get(rep.result, "users");
	assert_int_equal(users->via.array.size, 2);
	assert_true(th_str_is(&users->via.array.ptr[0], "username", "bob"));
	assert_true(th_str_is(&users->via.array.ptr[1], "username", "carol"));
	assert_int_equal(th_int(rep.result, "total", -1), 4);
	proto_reply_free(&rep);
}

/* Soft delete, then add the same name: deleted_exists, restore or new. */
static void
test_deleted_restore(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	char id1[33] = "", id2[33] = "";
	const msgpack_object *u;
	char *before;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "erin");
	proto_kv_str(&m, "name", "Erin One");
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	u = proto_map_get(proto_map_get(rep.result, "user"), "id");
	memcpy(id1, u->via.str.ptr, 32);
	proto_reply_free(&rep);

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "erin");
	assert_int_equal(th_call(d->sock, "user_rm", &m, &rep), ACCT_OK);
	assert_code(rep, ACCT_OK);
	assert_true(th_str_is(rep.result, "username", "erin"));
	proto_reply_free(&rep);
	/* Gone for show, and a second rm is not_found. */
	assert_int_equal(th_call_code(d->sock, "user_show", &m),
	    ACCT_ERR_NOT_FOUND);
	assert_int_equal(th_call_code(d->sock, "user_rm", &m),
	    ACCT_ERR_NOT_FOUND);
	proto_msg_free(&m);

	/* Add without restore: deleted_exists, nothing written. */
	before = dump(d);
	assert_int_equal(th_add_user(d->sock, "erin", NULL),
	    ACCT_ERR_DELETED);
	still_fine(d, before);
	th_free(before);

	/* restore=false: a new account, new id, the old fields gone. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "erin");
	proto_kv_bool(&m, "restore", false);
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	assert_int_equal(th_bool(rep.result, "restored"), 0);
	u = proto_map_get(rep.result, "user");
	memcpy(id2, proto_map_get(u, "id")->via.str.ptr, 32);
	assert_string_not_equal(id1, id2);
	assert_true(th_str_is(u, "name", ""));
	proto_reply_free(&rep);

	/* Delete that one too: two deleted, restore=true alone picks
	 * neither; with the id, that one comes back. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "erin");
	assert_int_equal(th_call_code(d->sock, "user_rm", &m), ACCT_OK);
	proto_kv_bool(&m, "restore", true);
	proto_kv_str(&m, "email", "erin@example.org");
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	assert_code(rep, ACCT_ERR_DELETED);
	assert_true(th_contains(rep.message, "2 deleted accounts"));
	proto_reply_free(&rep);
	proto_kv_str(&m, "id", id2);
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	assert_int_equal(th_bool(rep.result, "restored"), 1);
	u = proto_map_get(rep.result, "user");
	assert_true(th_str_is(u, "id", id2));
	assert_true(th_str_is(u, "email", "erin@example.org"));
	assert_true(th_is_nil(u, "deleted_at"));
	proto_reply_free(&rep);
	assert_true(th_user_exists(d->sock, "erin"));
}

/* users_reset removes every account. */
static void
test_users_reset(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;

	assert_int_equal(th_add_user(d->sock, "u1", NULL), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "u2", "u2-password"), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_bool(&m, "confirm", true);
	assert_int_equal(th_call(d->sock, "users_reset", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_OK);
	assert_true(th_int(rep.result, "removed", -1) >= 2);
	proto_reply_free(&rep);
	assert_false(th_user_exists(d->sock, "u1"));
	assert_int_equal(th_call(d->sock, "user_list", NULL, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "total", -1), 0);
	proto_reply_free(&rep);
	/* A name can be taken again without a deleted_exists question. */
	assert_int_equal(th_add_user(d->sock, "u1", NULL), ACCT_OK);
}

/* ---- signals, sockets, files ---- */

/* kill -9: the socket file stays behind; a new daemon takes it over. */
static void
test_stale_socket(void **state)
{
	struct th_daemon *d = *state;
	struct stat sb;

	assert_int_equal(th_add_user(d->sock, "keeper", "keeper-password"),
	    ACCT_OK);
	th_kill9(d);
	assert_int_equal(lstat(d->sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(th_connect(d->sock), -1);	/* nobody there */
	assert_int_equal(th_start(d), 0);
	/* The acknowledged write survived, and the file is sound. */
	assert_true(th_user_exists(d->sock, "keeper"));
	assert_int_equal(th_db_integrity(d), 0);
}

/* A second daemon on a live socket refuses to start; the first serves. */
static void
test_second_daemon(void **state)
{
	struct th_daemon *d = *state;
	struct stat before_st, after_st;
	char *before;
	pid_t pid;
	int st;

	assert_int_equal(th_add_user(d->sock, "first", NULL), ACCT_OK);
	before = dump(d);
	assert_int_equal(lstat(d->sock, &before_st), 0);
	pid = th_spawn(d);
	assert_true(pid > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("a second acctd on a live socket kept running");
	}
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 0);
	/* The live socket was not replaced or removed. */
	assert_int_equal(lstat(d->sock, &after_st), 0);
	assert_int_equal(before_st.st_ino, after_st.st_ino);
	{
		char *log = th_keep(th_read_log(d));
		assert_true(th_contains(log, "another acctd"));
		th_free(log);
	}
	still_fine(d, before);
	assert_true(th_user_exists(d->sock, "first"));
	assert_int_equal(th_add_user(d->sock, "second", NULL), ACCT_OK);
	th_free(before);
}

/* Not a socket at the path: refuse, and leave the file alone. */
static void
test_socket_path_not_socket(void **state)
{
	struct th_daemon *d = *state;
	struct stat sb;
	pid_t pid;
	int st, fd;

	assert_int_equal(th_init(d, NULL), 0);
	fd = open(d->sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious\n", 9), 9);
	close(fd);
	pid = th_spawn(d);
	assert_true(pid > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_int_equal(lstat(d->sock, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_size, 9);
}

/* Admin passwd with a new password: status code only. */
static int
set_password(const struct th_daemon *d, const char *user, const char *pw)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "new_password", pw);
	rc = th_call_code(d->sock, "passwd", &m);
	proto_msg_free(&m);
	return rc;
}

static void
test_sighup(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	size_t off;

	assert_int_equal(th_add_user(d->sock, "hup", "0123456789"), ACCT_OK);
	assert_int_equal(set_password(d, "hup", "abcdefghij"), ACCT_OK);

	assert_int_equal(th_write_config(d, "password_min_length = 12\n"), 0);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	/*
	 * Wait (bounded) until the new minimum is in force. Until then
	 * the admin's passwd below just succeeds, which changes nothing
	 * this test looks at.
	 */
	{
		int rc = ACCT_OK;
		for (int i = 0; i < TH_WAIT_MS / 10; i++) {
			rc = set_password(d, "hup", "0123456789");
			if (rc != ACCT_OK)
				break;
			usleep(10000);
		}
		if (rc != ACCT_ERR_POLICY)
			th_print_log(d);
		assert_int_equal(rc, ACCT_ERR_POLICY);
	}
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "hup");
	proto_kv_str(&m, "new_password", "0123456789");
	assert_int_equal(th_call(d->sock, "passwd", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_code(rep, ACCT_ERR_POLICY);
	assert_true(th_contains(rep.message, "12"));
	proto_reply_free(&rep);
	/* users add too, and nothing is created. */
	assert_int_equal(th_add_user(d->sock, "hup2", "0123456789"),
	    ACCT_ERR_POLICY);
	assert_false(th_user_exists(d->sock, "hup2"));
	assert_int_equal(th_add_user(d->sock, "hup2", "0123456789ab"),
	    ACCT_OK);

	/* A broken config on SIGHUP: the old one stays, the daemon serves. */
	assert_int_equal(th_write_config(d, "password_min_length = 12\n"
	    "no_such_key = 1\n"), 0);
	off = th_log_size(d);
	assert_int_equal(kill(d->pid, SIGHUP), 0);
	if (th_wait_log(d, off, "no_such_key", TH_WAIT_MS) == -1) {
		th_print_log(d);
		fail_msg("no complaint about the bad key after SIGHUP");
	}
	assert_int_equal(set_password(d, "hup", "0123456789"),
	    ACCT_ERR_POLICY);
	assert_int_equal(set_password(d, "hup", "0123456789ab"), ACCT_OK);
	{
		char *log = th_keep(th_read_log(d));
		/* Secrets never reach the log. */
		assert_false(th_contains(log, "0123456789"));
		assert_false(th_contains(log, "abcdefghij"));
		th_free(log);
	}
}

/* SIGTERM, SIGINT: exit 0, socket removed, data kept; idle clients woken. */
static void
test_sigterm(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct stat sb;
	int fd, st;

	assert_int_equal(th_add_user(d->sock, "survivor", "survivor-pw"),
	    ACCT_OK);
	/* A connection that did one request and then idles. */
	fd = th_connect(d->sock);
	assert_true(fd >= 0);
	assert_int_equal(th_send_request(fd, 1, "hello", NULL), 0);
	assert_int_equal(th_recv(fd, RECV_MS, &rep), TH_REPLY);
	proto_reply_free(&rep);

	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_wait_closed(fd, RECV_MS), 0);
	close(fd);
	assert_int_equal(lstat(d->sock, &sb), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(lstat(d->db, &sb), 0);
	assert_int_equal(th_db_integrity(d), 0);

	/* Again, with SIGINT. */
	assert_int_equal(th_start(d), 0);
	assert_true(th_user_exists(d->sock, "survivor"));
	assert_int_equal(kill(d->pid, SIGINT), 0);
	st = th_wait_pid(d->pid, TH_WAIT_MS);
	assert_int_not_equal(st, -1);
	d->pid = 0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(lstat(d->sock, &sb), -1);
	/* Restart for the teardown's clean stop. */
	assert_int_equal(th_start(d), 0);
	assert_true(th_user_exists(d->sock, "survivor"));
}

static void
test_file_modes(void **state)
{
	struct th_daemon *d = *state;
	char dir[160], path[200];
	struct stat sb;

	assert_int_equal(th_add_user(d->sock, "modes", "modes-password"),
	    ACCT_OK);
	assert_int_equal(lstat(d->db, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(dir, sizeof(dir), "%s/db", d->dir);
	assert_int_equal(lstat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(lstat(d->sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0666);
	/* WAL and shared-memory files, when there, are private too. */
	static const char *const sfx[] = { "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", d->db, sfx[i]);
		if (lstat(path, &sb) == 0)
			assert_int_equal(sb.st_mode & 0077, 0);
	}
}

/* A database directory others may write to is refused at start. */
static void
test_db_dir_unsafe(void **state)
{
	struct th_daemon *d = *state;
	char dir[160];
	pid_t pid;
	int st;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(dir, sizeof(dir), "%s/db", d->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	pid = th_spawn(d);
	assert_true(pid > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	if (st == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_int_equal(th_connect(d->sock), -1);
}

/* Secrets appear in no log line and not in clear in the database. */
static void
test_secrets_stay_secret(void **state)
{
	struct th_daemon *d = *state;
	const char *pw1 = "Sekrit-One-4711", *pw2 = "Sekrit-Two-0815";
	struct proto_msg m;
	char *log, *db;
	int fd;

	assert_int_equal(th_add_user(d->sock, "carl", pw1), ACCT_OK);
	assert_int_equal(set_password(d, "carl", pw2), ACCT_OK);
	/* Failures that carry a password. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "Not Valid");
	proto_kv_str(&m, "new_password", pw1);
	assert_int_equal(th_call_code(d->sock, "user_add", &m),
	    ACCT_ERR_INVALID);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "carl");
	proto_kv_str(&m, "new_password", "Sekrit");
	assert_int_equal(th_call_code(d->sock, "passwd", &m), ACCT_ERR_POLICY);
	proto_msg_free(&m);
	/* And the database file, read raw after a clean stop. */
	assert_int_equal(th_stop(d), 0);
	log = th_keep(th_read_log(d));
	assert_non_null(log);
	assert_false(th_contains(log, "Sekrit"));
	th_free(log);
	fd = open(d->db, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	{
		struct stat sb;
		assert_int_equal(fstat(fd, &sb), 0);
		db = th_keep(malloc((size_t)sb.st_size + 1));
		assert_non_null(db);
		assert_int_equal(read(fd, db, (size_t)sb.st_size),
		    sb.st_size);
		assert_null(memmem(db, (size_t)sb.st_size, "Sekrit", 6));
		assert_non_null(memmem(db, (size_t)sb.st_size, "$argon2id$",
		    10));
		th_free(db);
	}
	close(fd);
	assert_int_equal(th_start(d), 0);
}

/* Idle and slow clients are timed out; others are served meanwhile. */
static void
test_idle_and_slow(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	int idle, slow;

	assert_int_equal(th_up(d, "idle_timeout = 1\nframe_timeout = 1\n"),
	    0);
	idle = th_connect(d->sock);
	slow = th_connect(d->sock);
	assert_true(idle >= 0 && slow >= 0);
	assert_int_equal(th_send(slow, "\0\0\0", 3), 0);	/* 3 of 4 */
	/* While they hang around, an admin is answered. */
	assert_int_equal(th_call(d->sock, "user_list", NULL, &rep), ACCT_OK);
	assert_code(rep, ACCT_OK);
	proto_reply_free(&rep);
	assert_int_equal(th_wait_closed(idle, TH_WAIT_MS), 0);
	assert_int_equal(th_wait_closed(slow, TH_WAIT_MS), 0);
	close(idle);
	close(slow);
	assert_int_equal(th_call(d->sock, "hello", NULL, &rep), ACCT_OK);
	assert_code(rep, ACCT_OK);
	proto_reply_free(&rep);
	assert_int_equal(th_stop(d), 0);
}

/* Many clients at once, each with a request: all answered. */
static void
test_many_clients(void **state)
{
	struct th_daemon *d = *state;
	enum { N = 100 };
	int fds[N];

	/* All are ours, one uid: the cap on one uid's connections (for
	 * admins too) is raised to let them all in. */
	assert_int_equal(th_up(d, "max_connections_per_uid = 100\n"), 0);
	for (int i = 0; i < N; i++) {
		fds[i] = th_connect(d->sock);
		assert_true(fds[i] >= 0);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(th_send_request(fds[i], (uint64_t)i + 1,
		    "hello", NULL), 0);
	for (int i = N - 1; i >= 0; i--) {
		struct proto_reply rep;

		assert_int_equal(th_recv(fds[i], RECV_MS, &rep), TH_REPLY);
		assert_code(rep, ACCT_OK);
		assert_int_equal(rep.id, (uint64_t)i + 1);
		proto_reply_free(&rep);
		close(fds[i]);
	}
}

#define T(f)	cmocka_unit_test_setup_teardown(f, th_setup, th_teardown)
/* Tests that start their own daemon, with their own config. */
#define L(f)	cmocka_unit_test_setup_teardown(f, th_setup_lazy, \
		    th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_hello),
		T(test_many_requests),
		T(test_client_vanishes),
		T(test_truncated_frame),
		T(test_frame_length_zero),
		T(test_frame_too_long),
		T(test_frame_max_accepted),
		T(test_garbage),
		T(test_deep_nesting),
		T(test_wrong_types),
		T(test_unknown_op),
		T(test_unknown_field),
		T(test_too_many_args),
		T(test_wrong_version),
		T(test_invalid_values),
		T(test_c1_controls),
		T(test_account_record),
		T(test_user_list),
		T(test_deleted_restore),
		T(test_users_reset),
		T(test_stale_socket),
		T(test_second_daemon),
		L(test_socket_path_not_socket),
		T(test_sighup),
		T(test_sigterm),
		T(test_file_modes),
		L(test_db_dir_unsafe),
		T(test_secrets_stay_secret),
		L(test_idle_and_slow),
		L(test_many_clients),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
