/*
 * test_acctc_twofa.c: the real acctc against the real acctd for
 * two-factor authentication: users 2fa enable/disable, for oneself and
 * as an admin, users add --disable-2fa, auth test with a two-factor
 * code, recovery codes. Exit
 * status, --json, and that no secret is printed where it does not
 * belong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../acctd/acctd.h"
#include "harness.h"


static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_acctc_twofa: ACCTC_BIN is not set to the acctc "
		    "under test\n");
		return -1;
	}
	return th_setup(state);
}

/* ---- other programs: the reference hash tools, python3 for JSON ---- */

/* ---- reading acctc's output ---- */

/* The value on the line labelled label in users show (kept). */
static char *
show_val(const char *out, const char *label)
{
	char *v = th_line_must(out, label);

	while (*v == ' ')
		v++;
	return v;
}

/* ---- the daemon, directly ---- */

/* ---- TOTP, with the daemon's own arithmetic ---- */

/* The code of base32 secret for a 30-second step. */
static void
totp_code(const char *secret, int64_t step, char out[8])
{
	uint8_t key[64];
	int n = totp_unbase32(secret, key, sizeof(key));

	assert_true(n > 0);
	snprintf(out, 8, "%0*u", TOTP_DIGITS, totp_hotp(TOTP_SHA1, key,
	    (size_t)n, (uint64_t)step, TOTP_DIGITS));
}

static int64_t
step_now(void)
{
	return (int64_t)time(NULL) / TOTP_PERIOD;
}

/*
 * Far from a step's end, so that a code computed now is still the
 * current one when the daemon checks it (the window is one step either
 * side, but a test should not lean on it more than it has to).
 */
static void
settle(void)
{
	while (time(NULL) % TOTP_PERIOD > TOTP_PERIOD - 4)
		sleep(1);
}

/* A six-digit code valid for no step of the window around now. */
static void
wrong_code(const char *secret, char out[8])
{
	char c[3][8];
	int64_t s = step_now();

	for (int i = 0; i < 3; i++)
		totp_code(secret, s - 1 + i, c[i]);
	for (unsigned v = 0;; v++) {
		snprintf(out, 8, "%06u", v);
		if (strcmp(out, c[0]) && strcmp(out, c[1]) && strcmp(out, c[2]))
			return;
	}
}

/* ---- tests ---- */

/* Enrol user as admin (no password): the secret printed (kept). */
static char *
enrol_admin(const struct th_daemon *d, const char *user)
{
	struct th_result r = { 0 };
	char *secret, *uri, want[128];

	TH_RUN(d, NULL, 0, "users", "2fa", "enable", user);
	secret = th_line_must(r.out, "  Secret:  ");
	uri = th_line_must(r.out, "  URI:     ");
	snprintf(want, sizeof(want), "otpauth://totp/acctd:%s?secret=", user);
	assert_true(strncmp(uri, want, strlen(want)) == 0);
	assert_true(th_contains(uri, secret));
	assert_int_equal(strlen(secret), 32);
	assert_int_equal(th_count(r.out, secret), 2);	/* URI and line */
	assert_false(th_contains(r.err, secret));
	/* No code on a pipe: pending, and how to finish says so. */
	assert_true(th_contains(r.out, "acctc users 2fa enable --code CODE"));
	assert_int_equal(th_account_int(d, user, "two_factor"), 0);
	th_result_free(&r);
	return secret;
}

/* The recovery codes printed (kept), checked for form and number. */
static char *
recovery_code(const char *out, int which)
{
	const char *p = strstr(out, "shown again.\n");
	char *code = NULL;
	int n = 0;

	assert_non_null(p);
	for (p += strlen("shown again.\n"); strncmp(p, "  ", 2) == 0;
	    p = strchrnul(p, '\n') + (*strchrnul(p, '\n') != '\0')) {
		/* 100 bits: four groups of five base32 characters. */
		assert_int_equal(strcspn(p + 2, "\n"), 23);
		for (int g = 1; g < 4; g++)
			assert_int_equal(p[2 + 6 * g - 1], '-');
		if (n++ == which)
			code = th_keep(strndup(p + 2, 23));
	}
	assert_int_equal(n, 10);
	return code;
}

static void
test_2fa(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *secret, *rc1, *rc2, code[8], bad[8], in[128];
	int64_t step;

	assert_int_equal(th_add_user(d->sock, "bob", "Bob-Pass-1"), ACCT_OK);
	secret = enrol_admin(d, "bob");
	/* A wrong code: refused, still pending, and how to go on. */
	wrong_code(secret, bad);
	TH_RUN(d, NULL, 1, "users", "2fa", "enable", "--code", bad, "bob");
	assert_true(th_contains(r.err, "wrong code"));
	assert_string_equal(r.out, "");
	assert_int_equal(th_account_int(d, "bob", "two_factor"), 0);
	/* The right one: on, with ten recovery codes shown once. */
	settle();
	step = step_now();
	totp_code(secret, step, code);
	TH_RUN(d, NULL, 0, "users", "2fa", "enable", "--code", code, "bob");
	assert_true(th_contains(r.out, "Two-factor authentication is on for "
	    "bob.\n"));
	rc1 = recovery_code(r.out, 0);
	rc2 = recovery_code(r.out, 9);
	th_assert_not_said(secret);
	assert_int_equal(th_account_int(d, "bob", "two_factor"), 1);
	TH_RUN(d, NULL, 0, "users", "show", "bob");
	assert_string_equal(show_val(r.out, "Two-Factor"), "enabled");
	th_assert_not_said(secret);
	th_assert_not_said(rc1);
	/* Already on: the daemon says how to start over. */
	TH_RUN(d, NULL, 1, "users", "2fa", "enable", "bob");
	assert_true(th_contains(r.err, "already on"));

	/* auth test: the password alone is not enough. */
	TH_RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_true(th_contains(r.err, "no two-factor code on standard "
	    "input"));
	assert_string_equal(r.out, "");
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", bad);
	TH_RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.err, "acctc: authentication failed\n");
	/* The step confirm spent is refused. */
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", code);
	TH_RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	/* The right password that still needs its code is no failure;
	 * the wrong code and the spent one are. */
	assert_int_equal(th_account_int(d, "bob", "failed_logins"), 2);
	TH_RUN(d, NULL, 0, "users", "mod", "--unlock", "bob");
	/* The next step works. */
	totp_code(secret, step + 1, code);
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", code);
	TH_RUN(d, in, 0, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.out, "Password for bob is valid.\n");
	th_assert_not_said(code);
	th_assert_not_said("Bob-Pass-1");
	/* ...once. */
	TH_RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	/* --code: a recovery code, good once, case and spaces aside. */
	TH_RUN(d, "Bob-Pass-1\n", 0, "--json", "auth", "test",
	    "--password-stdin", "--code", rc1, "bob");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['user']['two_factor']"),
	    "True");
	th_assert_not_said(rc1);
	TH_RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin",
	    "--code", rc1, "bob");
	for (char *p = rc2; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", rc2);
	TH_RUN(d, in, 0, "auth", "test", "--password-stdin", "bob");
	/* A wrong password never gets as far as the code. */
	TH_RUN(d, "Bob-Pass-2\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.err, "acctc: authentication failed\n");

	/* Off again: the password alone logs in. */
	TH_RUN(d, NULL, 0, "users", "2fa", "disable", "bob");
	assert_string_equal(r.out, "Two-factor authentication is off for "
	    "bob.\n");
	assert_int_equal(th_account_int(d, "bob", "two_factor"), 0);
	TH_RUN(d, "Bob-Pass-1\n", 0, "auth", "test", "--password-stdin", "bob");
	TH_RUN(d, NULL, 1, "users", "2fa", "disable", "nobody-here");
	/* And on again from scratch: a new secret. */
	assert_string_not_equal(enrol_admin(d, "bob"), secret);
	th_result_free(&r);
}

static void
test_2fa_json(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *secret, *uri, code[8];

	assert_int_equal(th_add_user(d->sock, "carl", "Carl-Pass-1"),
	    ACCT_OK);
	TH_RUN(d, NULL, 0, "--json", "users", "2fa", "enable", "carl");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['username']"), "carl");
	assert_string_equal(th_json_must(r.out, "sorted(d)"),
	    "['secret', 'uri', 'username']");
	secret = th_json_must(r.out, "d['secret']");
	uri = th_json_must(r.out, "d['uri']");
	assert_true(th_contains(uri, secret));
	assert_string_equal(r.err, "");
	settle();
	totp_code(secret, step_now(), code);
	TH_RUN(d, NULL, 0, "users", "2fa", "enable", "--json", "--code", code,
	    "carl");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['username']"), "carl");
	assert_string_equal(th_json_must(r.out, "len(d['recovery_codes'])"),
	    "10");
	th_assert_not_said(secret);
	TH_RUN(d, NULL, 0, "--json", "users", "2fa", "disable", "carl");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['user']['username']"), "carl");
	assert_int_equal(th_account_int(d, "carl", "two_factor"), 0);
	th_result_free(&r);
}

/* A plain user turns it on for their own account, with the password. */
static void
test_2fa_self(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *secret, code[8], in[128];

	if (!th_is_root())
		skip();
	assert_int_equal(th_add_user(d->sock, "nobody", "Nobody-Pass-1"),
	    ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "mona", "Mona-Pass-1"),
	    ACCT_OK);
	/* No terminal, no --password-stdin: nothing to ask with. */
	TH_RUN_AS(d, &plain, NULL, 2, "users", "2fa", "enable");
	assert_true(th_contains(r.err, "use --password-stdin"));
	TH_RUN_AS(d, &plain, "Nobody-Pass-2\n", 1, "users", "2fa", "enable",
	    "--password-stdin");
	assert_true(th_contains(r.err, "authentication failed"));
	th_assert_not_said("Nobody-Pass-2");
	/* Another account: refused whatever the password. */
	TH_RUN_AS(d, &plain, "Mona-Pass-1\n", 1, "users", "2fa", "enable",
	    "--password-stdin", "mona");
	assert_true(th_contains(r.err, "permission denied"));
	TH_RUN_AS(d, &plain, NULL, 1, "users", "2fa", "disable", "nobody");
	assert_true(th_contains(r.err, "permission denied"));
	/* The password, then a wrong code on the next line. */
	TH_RUN_AS(d, &plain, "Nobody-Pass-1\nabcdef\n", 1, "users", "2fa",
	    "enable", "--password-stdin");
	assert_true(th_contains(r.out, "  Secret:  "));
	assert_true(th_contains(r.err, "wrong code"));
	assert_true(th_contains(r.err, "--code CODE nobody"));
	th_assert_not_said("Nobody-Pass-1");
	/* The password and no code: pending; --code finishes it. */
	TH_RUN_AS(d, &plain, "Nobody-Pass-1\n", 0, "users", "2fa", "enable",
	    "--password-stdin", "nobody");
	secret = th_line_must(r.out, "  Secret:  ");
	th_assert_not_said("Nobody-Pass-1");
	settle();
	totp_code(secret, step_now(), code);
	TH_RUN_AS(d, &plain, NULL, 0, "users", "2fa", "enable", "--code", code);
	assert_true(th_contains(r.out, "is on for nobody.\n"));
	(void)recovery_code(r.out, 0);
	th_assert_not_said(secret);
	assert_int_equal(th_account_int(d, "nobody", "two_factor"), 1);
	/* The admin tests the login: the code is asked for after the
	 * password, as the next line. */
	totp_code(secret, step_now() + 1, code);
	snprintf(in, sizeof(in), "Nobody-Pass-1\n%s\n", code);
	TH_RUN(d, in, 0, "auth", "test", "--password-stdin", "nobody");
	th_result_free(&r);
}

/*
 * users add --disable-2fa, as PhotoPrism's: a new account has
 * two-factor authentication off anyway; a restored one would keep the
 * secret it had when deleted, and loses it with the flag.
 */
static void
test_add_disable_2fa(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *secret, code[8];

	TH_RUN(d, NULL, 0, "users", "add", "--disable-2fa", "-p",
	    "Fay-Pass-1", "fay");
	assert_string_equal(r.out, "Account fay created.\n");
	assert_int_equal(th_account_int(d, "fay", "two_factor"), 0);
	secret = enrol_admin(d, "fay");
	settle();
	totp_code(secret, step_now(), code);
	TH_RUN(d, NULL, 0, "users", "2fa", "enable", "--code", code, "fay");
	assert_int_equal(th_account_int(d, "fay", "two_factor"), 1);
	/* Deleted and restored, it is still on... */
	TH_RUN(d, NULL, 0, "users", "rm", "fay");
	TH_RUN(d, NULL, 0, "users", "add", "--restore", "fay");
	assert_int_equal(th_account_int(d, "fay", "two_factor"), 1);
	/* ...unless the restore says --disable-2fa. */
	TH_RUN(d, NULL, 0, "users", "rm", "fay");
	TH_RUN(d, NULL, 0, "users", "add", "--restore", "--disable-2fa", "fay");
	assert_string_equal(r.out, "Account fay restored.\n");
	assert_int_equal(th_account_int(d, "fay", "two_factor"), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM recovery_codes r "
	    "JOIN accounts a ON a.id = r.account_id WHERE a.username = 'fay' "
	    "AND a.deleted_at IS NULL", NULL), 0);
	assert_int_equal(th_db_int(d, "SELECT totp_secret IS NULL FROM "
	    "accounts WHERE username = 'fay' AND deleted_at IS NULL", NULL), 1);
	/* No code asked for. */
	TH_RUN(d, "Fay-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "fay");
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_2fa),
		T(test_2fa_json),
		T(test_2fa_self),
		T(test_add_disable_2fa),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("acctc_twofa", tests, NULL, NULL);
}
