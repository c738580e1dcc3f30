/*
 * test_validate.c: acctd/validate.c against the contract: usernames, emails,
 * roles, auth providers, free text and the password length policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../acctd/acctd.h"

#define ERRSZ	256

/* Run a validator that may rewrite its input on a writable copy. */
typedef int rewriting_fn(char *, char *, size_t);

static int
check_copy(rewriting_fn *fn, const char *in, char *out, size_t outsz,
    char *err)
{
	assert_true(strlen(in) < outsz);
	strcpy(out, in);
	memset(err, 0, ERRSZ);
	return fn(out, err, ERRSZ);
}

static void
expect_ok(rewriting_fn *fn, const char *in, const char *want)
{
	char buf[1024], err[ERRSZ];

	if (check_copy(fn, in, buf, sizeof(buf), err) != 0)
		fail_msg("\"%s\" refused: %s", in, err);
	assert_string_equal(buf, want);
}

static void
expect_bad(rewriting_fn *fn, const char *in, const char *rule)
{
	char buf[1024], err[ERRSZ];

	if (check_copy(fn, in, buf, sizeof(buf), err) != -1)
		fail_msg("\"%s\" accepted as \"%s\"", in, buf);
	if (err[0] == '\0')
		fail_msg("\"%s\": no message", in);
	if (rule != NULL && strstr(err, rule) == NULL)
		fail_msg("\"%s\": message \"%s\" does not mention %s", in, err,
		    rule);
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

/* ---- username ---- */

static void
test_username_ok(void **state)
{
	char *s64 = repeat('a', 64);

	(void)state;
	expect_ok(validate_username, "alice", "alice");
	expect_ok(validate_username, "a", "a");
	expect_ok(validate_username, "7", "7");
	expect_ok(validate_username, "0day", "0day");
	expect_ok(validate_username, "a.b_c-d@e", "a.b_c-d@e");
	expect_ok(validate_username, "bob@example.org", "bob@example.org");
	expect_ok(validate_username, "x-", "x-");
	expect_ok(validate_username, s64, s64);
	free(s64);
}

static void
test_username_lowercased(void **state)
{
	char *up = repeat('Q', 64), *low = repeat('q', 64);

	(void)state;
	expect_ok(validate_username, "Alice", "alice");
	expect_ok(validate_username, "ALICE.SMITH", "alice.smith");
	expect_ok(validate_username, "MiXeD_Case-9@X", "mixed_case-9@x");
	expect_ok(validate_username, "Z", "z");
	expect_ok(validate_username, up, low);
	free(up);
	free(low);
}

static void
test_username_bad(void **state)
{
	static const char *const bad[] = {
		"", ".alice", "_alice", "-alice", "@alice", "al ice", " alice",
		"alice ", "al\tice", "alice\n", "al/ice", "al+ice", "al:ice",
		"al!ice", "al*ice", "al,ice", "al;ice", "al'ice", "al\"ice",
		"al\\ice", "al$ice", "al%ice", "al#ice", "al~ice", "al=ice",
		"al(ice)", "al[ice]", "al{ice}", "al<ice>", "al|ice", "al?ice",
		"\xc3\xa4lice",			/* UTF-8 a-umlaut */
		"alic\xc3\xa9",
		"al\x7f" "ice", "al\x01ice", "\x1b[31m",
		"..", ".", "-", "@",
	};
	char *s65 = repeat('a', 65), *u65 = repeat('A', 65);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(validate_username, bad[i], NULL);
	/* Too long: the message states the limit. */
	expect_bad(validate_username, s65, "64");
	expect_bad(validate_username, u65, "64");
	free(s65);
	free(u65);
}

/* Every byte as the first and as a later character. */
static void
test_username_every_byte(void **state)
{
	(void)state;
	for (int b = 1; b <= 0xff; b++) {
		char in[4], buf[8], err[ERRSZ];
		bool letter = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
		bool digit = b >= '0' && b <= '9';
		bool punct = b == '.' || b == '_' || b == '-' || b == '@';
		int rc;

		/* Later position. */
		in[0] = 'x';
		in[1] = (char)b;
		in[2] = '\0';
		rc = check_copy(validate_username, in, buf, sizeof(buf), err);
		if ((rc == 0) != (letter || digit || punct))
			fail_msg("byte 0x%02x after a letter: %d", b, rc);
		if (rc == 0 && b >= 'A' && b <= 'Z')
			assert_int_equal(buf[1], b - 'A' + 'a');
		/* First position. */
		in[0] = (char)b;
		in[1] = 'x';
		rc = check_copy(validate_username, in, buf, sizeof(buf), err);
		if ((rc == 0) != (letter || digit))
			fail_msg("byte 0x%02x first: %d", b, rc);
		if (rc != 0)
			assert_true(err[0] != '\0');
	}
}

/* ---- email ---- */

/* An address of exactly n bytes: "user@", labels of 40, a last label. */
static char *
long_email(size_t n)
{
	char *s = malloc(n + 1);
	size_t i = 5, r;

	assert_non_null(s);
	assert_true(n >= 9);
	memcpy(s, "user@", 5);
	for (r = n - i; r > 44; r -= 41) {
		memset(s + i, 'd', 40);
		i += 40;
		s[i++] = '.';
	}
	memset(s + i, 'o', r);
	s[n] = '\0';
	assert_int_equal(strlen(s), n);
	assert_non_null(strchr(s + 5, '.'));
	return s;
}

static void
test_email_ok(void **state)
{
	char *e254 = long_email(254);

	(void)state;
	expect_ok(validate_email, "bob@example.org", "bob@example.org");
	expect_ok(validate_email, "a@b.co", "a@b.co");
	expect_ok(validate_email, "first.last+tag@mail.example.com",
	    "first.last+tag@mail.example.com");
	expect_ok(validate_email, "x_y-z@sub-domain.example.net",
	    "x_y-z@sub-domain.example.net");
	expect_ok(validate_email, e254, e254);
	free(e254);
}

static void
test_email_lowercased(void **state)
{
	(void)state;
	expect_ok(validate_email, "Bob@Example.ORG", "bob@example.org");
	expect_ok(validate_email, "ALICE@MAIL.EXAMPLE.COM",
	    "alice@mail.example.com");
}

static void
test_email_bad(void **state)
{
	static const char *const bad[] = {
		"bob",				/* no @ */
		"bob.example.org",
		"bob@@example.org",		/* two @ */
		"bob@ex@ample.org",
		"b@b@example.org",
		"bob@localhost",		/* domain without a dot */
		"bob@",				/* no domain */
		"@example.org",			/* no local part */
		"@",
		"bob @example.org",		/* spaces */
		"bob@exa mple.org",
		" bob@example.org",
		"bob@example.org ",
		"bob\t@example.org",		/* control characters */
		"bob@example.org\n",
		"bob\r\n@example.org",
		"bob\x01@example.org",
		"bob@example.org\x7f",
		"bob\x1b[2J@example.org",
	};
	char *e255 = long_email(255);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_bad(validate_email, bad[i], NULL);
	expect_bad(validate_email, e255, NULL);
	free(e255);
}

/* ---- role and auth provider ---- */

static void
test_role(void **state)
{
	static const char *const good[] = { "admin", "user", "viewer", "guest" };
	static const char *const bad[] = {
		"", "root", "superadmin", "admins", "admi", "adminx", " admin",
		"admin ", "user\n", "guest\t", "viewer\x01", "nobody", "default",
		"local",
	};
	char err[ERRSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(err, 0, sizeof(err));
		if (validate_role(good[i], err, sizeof(err)) != 0)
			fail_msg("role %s refused: %s", good[i], err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		if (validate_role(bad[i], err, sizeof(err)) != -1)
			fail_msg("role \"%s\" accepted", bad[i]);
		/* The message states the rule: the roles there are. */
		for (size_t g = 0; g < sizeof(good) / sizeof(good[0]); g++)
			if (strstr(err, good[g]) == NULL)
				fail_msg("role message \"%s\" lacks %s", err,
				    good[g]);
	}
}

static void
test_provider(void **state)
{
	static const char *const good[] = { "default", "local", "oidc", "none" };
	static const char *const bad[] = {
		"", "ldap", "oauth", "defaults", "oid", "local ", " none",
		"none\n", "admin", "user", "oidc\x01",
	};
	char err[ERRSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(err, 0, sizeof(err));
		if (validate_provider(good[i], err, sizeof(err)) != 0)
			fail_msg("provider %s refused: %s", good[i], err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err, 0, sizeof(err));
		if (validate_provider(bad[i], err, sizeof(err)) != -1)
			fail_msg("provider \"%s\" accepted", bad[i]);
		for (size_t g = 0; g < sizeof(good) / sizeof(good[0]); g++)
			if (strstr(err, good[g]) == NULL)
				fail_msg("provider message \"%s\" lacks %s",
				    err, good[g]);
	}
}

/* ---- free text ---- */

static void
test_text_ok(void **state)
{
	static const char *const good[] = {
		"", "Alice Liddell", "/srv/upload/alice", "Zo\xc3\xab",
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80",
		"a ~!@#$%^&*()_+`-={}[]|\\:\";'<>?,./ z", "  spaces  ",
	};
	char err[ERRSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (validate_text("name", good[i], err, sizeof(err)) != 0)
			fail_msg("text \"%s\" refused: %s", good[i], err);
}

static void
test_text_control_chars(void **state)
{
	char s[8], err[ERRSZ];

	(void)state;
	/* Every C0 control character and DEL, at the start, middle, end. */
	for (int c = 1; c <= 0x7f; c++) {
		if (c >= 0x20 && c < 0x7f)
			continue;
		for (int pos = 0; pos < 3; pos++) {
			strcpy(s, "abc");
			if (pos == 0)
				s[0] = (char)c;
			else if (pos == 1)
				s[1] = (char)c;
			else {
				s[3] = (char)c;
				s[4] = '\0';
			}
			memset(err, 0, sizeof(err));
			if (validate_text("upload_path", s, err,
			    sizeof(err)) != -1)
				fail_msg("control 0x%02x at %d accepted", c,
				    pos);
			/* The message names the field. */
			if (strstr(err, "upload_path") == NULL)
				fail_msg("message \"%s\" lacks the field", err);
		}
	}
}

/* U+0080..U+009F are control characters too (Unicode category Cc). */
static void
test_text_c1_controls(void **state)
{
	char err[ERRSZ];

	(void)state;
	assert_int_equal(validate_text("name", "a\xc2\x85z", err, sizeof(err)),
	    -1);	/* NEL */
	assert_int_equal(validate_text("name", "\xc2\x9b" "31m", err,
	    sizeof(err)), -1);	/* CSI */
	assert_int_equal(validate_text("name", "\xc2\x80", err, sizeof(err)),
	    -1);
	assert_int_equal(validate_text("name", "\xc2\x9f", err, sizeof(err)),
	    -1);
	/* Neighbours that are not controls. */
	assert_int_equal(validate_text("name", "\xc2\xa0", err, sizeof(err)),
	    0);	/* NBSP */
	assert_int_equal(validate_text("name", "\xc3\x85", err, sizeof(err)),
	    0);	/* A-ring */
}

/* ---- password ---- */

static void
test_password_default_policy(void **state)
{
	struct config c;
	char err[ERRSZ];
	char *pw = repeat('p', 300);

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.pw_min, 8);
	assert_int_equal(c.pw_max, 256);
	for (size_t n = 0; n <= 300; n++) {
		int want = n >= 8 && n <= 256 ? 0 : -1;

		memset(err, 0, sizeof(err));
		if (validate_password(&c, pw, n, err, sizeof(err)) != want)
			fail_msg("length %zu: want %d", n, want);
		if (want == -1 && strstr(err,
		    "password must be 8 to 256 bytes long") == NULL)
			fail_msg("length %zu: message \"%s\"", n, err);
	}
	free(pw);
}

static void
test_password_custom_policy(void **state)
{
	struct config c;
	char err[ERRSZ];

	(void)state;
	config_defaults(&c);
	c.pw_min = 4;
	c.pw_max = 72;
	assert_int_equal(validate_password(&c, "abc", 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "password must be 4 to 72 bytes long"));
	assert_int_equal(validate_password(&c, "abcd", 4, err, sizeof(err)), 0);
	{
		char *s = repeat('x', 73);
		assert_int_equal(validate_password(&c, s, 72, err,
		    sizeof(err)), 0);
		assert_int_equal(validate_password(&c, s, 73, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "4 to 72"));
		free(s);
	}
	/* min == max */
	c.pw_min = c.pw_max = 10;
	assert_int_equal(validate_password(&c, "0123456789", 10, err,
	    sizeof(err)), 0);
	assert_int_equal(validate_password(&c, "012345678", 9, err,
	    sizeof(err)), -1);
	assert_int_equal(validate_password(&c, "0123456789a", 11, err,
	    sizeof(err)), -1);
}

/* Bytes, not characters, and the given length, not strlen(). */
static void
test_password_counts_bytes(void **state)
{
	struct config c;
	char err[ERRSZ];
	/* 4 characters, 8 bytes. */
	const char *pw = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";

	(void)state;
	config_defaults(&c);
	assert_int_equal(validate_password(&c, pw, strlen(pw), err,
	    sizeof(err)), 0);
	assert_int_equal(validate_password(&c, "0123456789", 7, err,
	    sizeof(err)), -1);
	assert_int_equal(validate_password(&c, "0123456789", 8, err,
	    sizeof(err)), 0);
}

/* The message states the rule and never the password. */
static void
test_password_not_echoed(void **state)
{
	struct config c;
	char err[ERRSZ];
	char *longpw = malloc(4097);

	(void)state;
	assert_non_null(longpw);
	for (size_t i = 0; i < 4096; i++)
		longpw[i] = "hunter2"[i % 7];
	longpw[4096] = '\0';
	config_defaults(&c);
	assert_int_equal(validate_password(&c, "hunter2", 7, err, sizeof(err)),
	    -1);
	assert_null(strstr(err, "hunter"));
	assert_int_equal(validate_password(&c, longpw, 4096, err, sizeof(err)),
	    -1);
	assert_null(strstr(err, "hunter"));
	assert_null(strstr(err, "nter2h"));
	free(longpw);
}

/* A small error buffer is still terminated. */
static void
test_small_err_buffer(void **state)
{
	char err[6], name[8] = "-bad";
	struct config c;

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_int_equal(validate_username(name, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	memset(err, 'X', sizeof(err));
	assert_int_equal(validate_role("nope", err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	config_defaults(&c);
	memset(err, 'X', sizeof(err));
	assert_int_equal(validate_password(&c, "x", 1, err, sizeof(err)), -1);
	assert_non_null(memchr(err, '\0', sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_username_ok),
		cmocka_unit_test(test_username_lowercased),
		cmocka_unit_test(test_username_bad),
		cmocka_unit_test(test_username_every_byte),
		cmocka_unit_test(test_email_ok),
		cmocka_unit_test(test_email_lowercased),
		cmocka_unit_test(test_email_bad),
		cmocka_unit_test(test_role),
		cmocka_unit_test(test_provider),
		cmocka_unit_test(test_text_ok),
		cmocka_unit_test(test_text_control_chars),
		cmocka_unit_test(test_text_c1_controls),
		cmocka_unit_test(test_password_default_policy),
		cmocka_unit_test(test_password_custom_policy),
		cmocka_unit_test(test_password_counts_bytes),
		cmocka_unit_test(test_password_not_echoed),
		cmocka_unit_test(test_small_err_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
