/*
 * test_totp.c: TOTP arithmetic against the RFC 6238 (and RFC 4226) test
 * vectors and base32, then two-factor login end to end against a real
 * acctd: enrolment, codes, replay, recovery codes, disabling, self-service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sha2.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define PW	"twofa-password-1"

/* RFC 6238 appendix B. */
static void
test_rfc6238_vectors(void **state)
{
	static const uint8_t k1[] = "12345678901234567890";
	static const uint8_t k256[] = "12345678901234567890123456789012";
	static const uint8_t k512[] = "1234567890123456789012345678901234567890"
	    "123456789012345678901234";
	static const struct {
		uint64_t	t;
		uint32_t	sha1, sha256, sha512;
	} v[] = {
		{ 59,          94287082, 46119246, 90693936 },
		{ 1111111109,   7081804, 68084774, 25091201 },
		{ 1111111111,  14050471, 67062674, 99943326 },
		{ 1234567890,  89005924, 91819424, 93441116 },
		{ 2000000000,  69279037, 90698825, 38618901 },
		{ 20000000000ULL, 65353130, 77737706, 47863826 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint64_t step = v[i].t / 30;

		assert_int_equal(totp_hotp(TOTP_SHA1, k1, 20, step, 8),
		    v[i].sha1);
		assert_int_equal(totp_hotp(TOTP_SHA256, k256, 32, step, 8),
		    v[i].sha256);
		assert_int_equal(totp_hotp(TOTP_SHA512, k512, 64, step, 8),
		    v[i].sha512);
	}
}

/* RFC 4226 appendix D: HOTP with six digits. */
static void
test_rfc4226_vectors(void **state)
{
	static const uint8_t k[] = "12345678901234567890";
	static const uint32_t want[] = {
		755224, 287082, 359152, 969429, 338314,
		254676, 287922, 162583, 399871, 520489,
	};

	(void)state;
	for (uint64_t c = 0; c < 10; c++)
		assert_int_equal(totp_hotp(TOTP_SHA1, k, 20, c, 6), want[c]);
}

/* RFC 4648 section 10, without padding. */
static void
test_base32(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "", "" }, { "f", "MY" }, { "fo", "MZXQ" }, { "foo", "MZXW6" },
		{ "foob", "MZXW6YQ" }, { "fooba", "MZXW6YTB" },
		{ "foobar", "MZXW6YTBOI" },
	};
	char out[32];
	uint8_t back[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		totp_base32((const uint8_t *)v[i].in, strlen(v[i].in), out);
		assert_string_equal(out, v[i].out);
		assert_int_equal(totp_unbase32(v[i].out, back, sizeof(back)),
		    (int)strlen(v[i].in));
		assert_memory_equal(back, v[i].in, strlen(v[i].in));
	}
	assert_int_equal(totp_unbase32("mzxw6", back, sizeof(back)), 3);
	assert_int_equal(totp_unbase32("MZ1W", back, sizeof(back)), -1);
	assert_int_equal(totp_unbase32("MZXW6YTBOI", back, 2), -1);
}

static int
login_code(const struct th_daemon *d, const char *user, const char *pw,
    const char *code)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	if (code != NULL)
		proto_kv_str(&m, "code", code);
	rc = th_call_code(d->sock, "login", &m);
	proto_msg_free(&m);
	return rc;
}

/* Enrol and confirm; the secret and the first recovery code out. */
static void
enrol(const struct th_daemon *d, const char *user, char secret[64],
    char recovery[2][32])
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o, *codes;
	char code[8];

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "totp_enroll", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	o = proto_map_get(rep.result, "secret");
	assert_non_null(o);
	snprintf(secret, 64, "%.*s", (int)o->via.str.size, o->via.str.ptr);
	o = proto_map_get(rep.result, "uri");
	assert_non_null(o);
	assert_int_equal(strncmp(o->via.str.ptr, "otpauth://totp/acctd:", 21),
	    0);
	proto_reply_free(&rep);
	/* A wrong first code does not switch it on. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "code", "000000");
	th_totp_code(secret, 0, code);
	if (strcmp(code, "000000") != 0)
		assert_int_equal(th_call_code(d->sock, "totp_confirm", &m),
		    ACCT_ERR_AUTH_FAILED);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "code", code);
	assert_int_equal(th_call(d->sock, "totp_confirm", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	codes = proto_map_get(rep.result, "recovery_codes");
	assert_non_null(codes);
	assert_int_equal(codes->via.array.size, 10);
	for (int i = 0; i < 2; i++)
		snprintf(recovery[i], 32, "%.*s",
		    (int)codes->via.array.ptr[i].via.str.size,
		    codes->via.array.ptr[i].via.str.ptr);
	proto_reply_free(&rep);
}

static int
setup(void **state)
{
	if (th_setup(state) == -1)
		return -1;
	return th_add_user(((struct th_daemon *)*state)->sock, "alice", PW) ==
	    ACCT_OK ? 0 : -1;
}

static void
test_login_with_totp(void **state)
{
	struct th_daemon *d = *state;
	char secret[64], rec[2][32], code[8], next[8];
	struct proto_msg m;

	enrol(d, "alice", secret, rec);
	/* Right password, no code: asked for one; wrong password: as ever. */
	assert_int_equal(login_code(d, "alice", PW, NULL),
	    ACCT_ERR_CODE_REQUIRED);
	assert_int_equal(login_code(d, "alice", "wrong-password", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", PW, "12345"),
	    ACCT_ERR_AUTH_FAILED);
	/* The confirming code was spent: wait for a fresh step if needed. */
	th_totp_code(secret, 1, next);
	assert_int_equal(login_code(d, "alice", PW, next), ACCT_OK);
	/* The same code twice: refused. */
	assert_int_equal(login_code(d, "alice", PW, next),
	    ACCT_ERR_AUTH_FAILED);
	/* An older step than one used: refused. */
	th_totp_code(secret, 0, code);
	if (strcmp(code, next) != 0)
		assert_int_equal(login_code(d, "alice", PW, code),
		    ACCT_ERR_AUTH_FAILED);
	/* Recovery codes: once each, case and spaces forgiven. */
	for (char *p = rec[0]; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	assert_int_equal(login_code(d, "alice", PW, rec[0]), ACCT_OK);
	assert_int_equal(login_code(d, "alice", PW, rec[0]),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login_code(d, "alice", PW, rec[1]), ACCT_OK);
	/* --disable-2fa turns it off. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "disable_2fa", true);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(login_code(d, "alice", PW, NULL), ACCT_OK);
}

/* The recovery codes of a fresh enrolment (all ten), as given. */
static void
enrol_codes(const struct th_daemon *d, const char *user, char codes[10][32])
{
	struct proto_reply rep;
	const msgpack_object *o;
	char secret[64], code[8];

	{
		struct proto_msg m;

		proto_msg_init(&m);
		proto_kv_str(&m, "username", user);
		assert_int_equal(th_call(d->sock, "totp_enroll", &m, &rep),
		    ACCT_OK);
		proto_msg_free(&m);
	}
	assert_non_null(o = proto_map_get(rep.result, "secret"));
	snprintf(secret, sizeof(secret), "%.*s", (int)o->via.str.size,
	    o->via.str.ptr);
	proto_reply_free(&rep);
	th_totp_code(secret, 0, code);
	{
		struct proto_msg m;

		proto_msg_init(&m);
		proto_kv_str(&m, "username", user);
		proto_kv_str(&m, "code", code);
		assert_int_equal(th_call(d->sock, "totp_confirm", &m, &rep),
		    ACCT_OK);
		proto_msg_free(&m);
	}
	assert_int_equal(rep.code, ACCT_OK);
	assert_non_null(o = proto_map_get(rep.result, "recovery_codes"));
	assert_int_equal(o->via.array.size, 10);
	for (int i = 0; i < 10; i++)
		snprintf(codes[i], 32, "%.*s",
		    (int)o->via.array.ptr[i].via.str.size,
		    o->via.array.ptr[i].via.str.ptr);
	proto_reply_free(&rep);
}

/*
 * Recovery codes are 100 bits (four groups of five characters of
 * Crockford's base32) and stored salted: the file holds neither a code
 * nor its plain SHA-256, and no two codes share a salt.
 */
static void
test_recovery_codes_strength(void **state)
{
	static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
	struct th_daemon *d = *state;
	char codes[10][32], digest[SHA256_DIGEST_STRING_LENGTH];
	char plain[24], *file;
	size_t len;

	enrol_codes(d, "alice", codes);
	for (int i = 0; i < 10; i++) {
		size_t k = 0;

		assert_int_equal(strlen(codes[i]), 23);
		for (int c = 0; c < 23; c++) {
			if (c % 6 == 5) {
				assert_int_equal(codes[i][c], '-');
				continue;
			}
			assert_non_null(strchr(b32, codes[i][c]));
			plain[k++] = codes[i][c];
		}
		plain[k] = '\0';
		for (int j = 0; j < i; j++)
			assert_string_not_equal(codes[i], codes[j]);
		SHA256Data((const uint8_t *)plain, strlen(plain), digest);
		assert_int_equal(th_db_int(d, "SELECT count(*) FROM "
		    "recovery_codes WHERE code_sha256 = ?1", digest, NULL), 0);
	}
	assert_int_equal(th_db_int(d, "SELECT count(DISTINCT salt) FROM "
	    "recovery_codes WHERE length(salt) >= 32", NULL), 10);
	/* The WAL folded back, the file holds no code in any form. */
	assert_int_equal(th_stop(d), 0);
	assert_non_null(file = th_slurp(d->db, &len));
	for (int i = 0; i < 10; i++)
		assert_false(th_memmem(file, len, codes[i]));
	assert_int_equal(th_start(d), 0);
	/* And a code still works, once, with or without its dashes. */
	for (char *p = codes[3]; *p; p++)
		if (*p == '-')
			*p = ' ';
	assert_int_equal(login_code(d, "alice", PW, codes[3]), ACCT_OK);
	assert_int_equal(login_code(d, "alice", PW, codes[3]),
	    ACCT_ERR_AUTH_FAILED);
}

/* App passwords are for clients that cannot ask for a code. */
static void
test_app_password_skips_code(void **state)
{
	struct th_daemon *d = *state;
	char secret[64], rec[2][32], tok[128];
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o;

	enrol(d, "alice", secret, rec);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "type", "app_password");
	proto_kv_str(&m, "name", "mail");
	proto_kv_str(&m, "scope", "*");
	assert_int_equal(th_call(d->sock, "token_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_non_null(o = proto_map_get(rep.result, "token"));
	snprintf(tok, sizeof(tok), "%.*s", (int)o->via.str.size, o->via.str.ptr);
	proto_reply_free(&rep);
	assert_int_equal(login_code(d, "alice", tok, NULL), ACCT_OK);
}

static int
as_self(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;
	struct proto_msg m;
	int a, b;

	proto_msg_init(&m);
	a = th_call_code(d->sock, "totp_enroll", &m);	/* no password */
	proto_kv_str(&m, "password", "wrong-password");
	a = a * 100 + th_call_code(d->sock, "totp_enroll", &m);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "password", PW);
	a = a * 100 + th_call_code(d->sock, "totp_enroll", &m);	/* own */
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	b = th_call_code(d->sock, "totp_enroll", &m);
	proto_msg_free(&m);
	fprintf(out, "%d %d", a, b);
	return 0;
}

static void
test_self_service_only(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	char buf[32], want[32];

	if (!th_is_root())
		skip();
	assert_int_equal(th_add_user(d->sock, "nobody", PW), ACCT_OK);
	assert_int_equal(th_as(&plain, as_self, d, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%d %d", ACCT_ERR_INVALID * 10000 +
	    ACCT_ERR_AUTH_FAILED * 100 + ACCT_OK, ACCT_ERR_DENIED);
	assert_string_equal(buf, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6238_vectors),
		cmocka_unit_test(test_rfc4226_vectors),
		cmocka_unit_test(test_base32),
		cmocka_unit_test_setup_teardown(test_login_with_totp, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_codes_strength,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_app_password_skips_code,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_self_service_only, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
