/*
 * test_cli3.c: the real acctc against the real acctd, for issue 8:
 * users import (hashes made by mkpasswd and htpasswd), users legacy and
 * the upgrade at login, users 2fa enable/disable, auth test with a
 * two-factor code, users show's password scheme. Exit status, --json,
 * and that no password or secret is printed where it does not belong.
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

#define PYTHON		"/usr/bin/python3"
#define MKPASSWD	"/usr/bin/mkpasswd"
#define HTPASSWD	"/usr/bin/htpasswd"

/* Run acctc; print what it said if the status is not the one wanted. */
#define RUN(d, in, want, ...) do {					\
	th_result_free(&r);						\
	th_acctc((d), (in), &r, __VA_ARGS__, NULL);			\
	if (r.status != (want))						\
		print_error("acctc %s: status %d, want %d\n"		\
		    "stdout:\n%s\nstderr:\n%s\n", #__VA_ARGS__,		\
		    r.status, (want), r.out, r.err);			\
	assert_int_equal(r.status, (want));				\
} while (0)

/* The same as another uid. */
#define RUN_AS(d, cred, in, want, ...) do {				\
	th_result_free(&r);						\
	th_acctc_as((d), (cred), (in), &r, __VA_ARGS__, NULL);		\
	if (r.status != (want))						\
		print_error("acctc %s: status %d, want %d\n"		\
		    "stdout:\n%s\nstderr:\n%s\n", #__VA_ARGS__,		\
		    r.status, (want), r.out, r.err);			\
	assert_int_equal(r.status, (want));				\
} while (0)

/* Neither stdout nor stderr of the last run holds s. */
#define assert_not_said(s) do {						\
	assert_false(th_contains(r.out, (s)));				\
	assert_false(th_contains(r.err, (s)));				\
} while (0)

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_cli3: ACCTC_BIN is not set to the acctc "
		    "under test\n");
		return -1;
	}
	return th_setup(state);
}

/* ---- other programs: the reference hash tools, python3 for JSON ---- */

/*
 * Run argv with input (may be NULL) on its stdin; its stdout without
 * the last newline (th_keep'd), or NULL if it did not exit 0.
 */
static char *
run_tool(const char *const *argv, const char *input)
{
	FILE *in = tmpfile(), *out = tmpfile();
	char *buf = NULL;
	long len;
	pid_t pid;
	int st = -1;

	assert_non_null(in);
	assert_non_null(out);
	if (input != NULL)
		assert_true(fputs(input, in) >= 0 && fflush(in) == 0);
	rewind(in);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (dup2(fileno(in), 0) == -1 || dup2(fileno(out), 1) == -1 ||
		    null == -1 || dup2(null, 2) == -1)
			_exit(126);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_true(waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    fseek(out, 0, SEEK_END) == 0 && (len = ftell(out)) >= 0 &&
	    (buf = calloc(1, (size_t)len + 1)) != NULL) {
		rewind(out);
		if (fread(buf, 1, (size_t)len, out) != (size_t)len) {
			free(buf);
			buf = NULL;
		}
		while (buf != NULL && len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
	}
	fclose(in);
	fclose(out);
	return th_keep(buf);
}

/* A hash by a reference tool; the test is skipped without the tool. */
static char *
tool_hash(const char *const *argv)
{
	char *h;

	if (access(argv[0], X_OK) != 0) {
		fprintf(stderr, "test_cli3: %s missing\n", argv[0]);
		skip();
	}
	h = run_tool(argv, NULL);
	if (h == NULL)
		fail_msg("%s failed", argv[0]);
	return h;
}

/* Exactly one JSON document, an object, on one line. */
static bool
json_valid(const char *s)
{
	static const char *const argv[] = { PYTHON, "-c",
	    "import json,sys\n"
	    "d = json.load(sys.stdin)\n"
	    "assert isinstance(d, dict)\n", NULL };
	size_t n = strlen(s);

	if (n == 0 || s[n - 1] != '\n' || strchr(s, '\n') != s + n - 1)
		return false;
	return run_tool(argv, s) != NULL;
}

/* A value of a JSON document: expr on d, e.g. "d['user']['id']". */
static char *
json_get(const char *s, const char *expr)
{
	char code[512];
	const char *argv[] = { PYTHON, "-c", code, NULL };
	char *v;

	snprintf(code, sizeof(code), "import json,sys\n"
	    "d = json.load(sys.stdin)\n"
	    "v = %s\n"
	    "print('null' if v is None else v)\n", expr);
	if ((v = run_tool(argv, s)) == NULL)
		fail_msg("cannot get %s from:\n%s", expr, s);
	return v;
}

/* ---- reading acctc's output ---- */

/* The first line of s that starts with prefix, without it (kept). */
static char *
line_after(const char *s, const char *prefix)
{
	const char *p = strstr(s, prefix), *end;

	while (p != NULL && p != s && p[-1] != '\n')
		p = strstr(p + 1, prefix);
	if (p == NULL)
		fail_msg("no line '%s' in:\n%s", prefix, s);
	p += strlen(prefix);
	end = strchrnul(p, '\n');
	return th_keep(strndup(p, (size_t)(end - p)));
}

/* The line of a table whose first column is user, spaces made one. */
static char *
row(const char *table, const char *user)
{
	char prefix[128], *l, *o;

	snprintf(prefix, sizeof(prefix), "%s ", user);
	l = line_after(table, prefix);
	o = l;
	for (const char *p = l; *p != '\0'; p++)
		if (*p != ' ' || o == l || o[-1] != ' ')
			*o++ = *p;
	*o = '\0';
	return l;
}

/* The value on the line labelled label in users show (kept). */
static char *
show_val(const char *out, const char *label)
{
	char *v = line_after(out, label);

	while (*v == ' ')
		v++;
	return v;
}

static bool
listed(const char *table, const char *user)
{
	char prefix[128];
	const char *p;

	snprintf(prefix, sizeof(prefix), "\n%s ", user);
	p = strstr(table, prefix);
	return p != NULL;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* ---- the daemon, directly ---- */

/* A string of the account as acctd has it (kept), or NULL. */
static char *
account_str(const struct th_daemon *d, const char *user, const char *key)
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *v;
	char *s = NULL;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	v = proto_map_get(proto_map_get(rep.result, "user"), key);
	if (v != NULL && v->type == MSGPACK_OBJECT_STR)
		s = strndup(v->via.str.ptr, v->via.str.size);
	proto_reply_free(&rep);
	return th_keep(s);
}

static int64_t
account_int(const struct th_daemon *d, const char *user, const char *key)
{
	struct proto_msg m;
	struct proto_reply rep;
	int64_t v;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	v = th_int(proto_map_get(rep.result, "user"), key, -1);
	proto_reply_free(&rep);
	return v;
}

static int
account_bool(const struct th_daemon *d, const char *user, const char *key)
{
	struct proto_msg m;
	struct proto_reply rep;
	int v;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	v = th_bool(proto_map_get(rep.result, "user"), key);
	proto_reply_free(&rep);
	return v;
}

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

static void
test_help_and_usage(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	RUN(d, NULL, 0, "users", "import", "--help");
	assert_true(th_contains(r.out, "60000 bytes"));
	RUN(d, NULL, 0, "users", "legacy", "--help");
	RUN(d, NULL, 0, "users", "2fa", "enable", "--help");
	assert_true(th_contains(r.out, "--code CODE"));
	RUN(d, NULL, 0, "users", "2fa", "disable", "--help");
	RUN(d, NULL, 0, "auth", "test", "--help");
	assert_true(th_contains(r.out, "--code CODE"));
	RUN(d, NULL, 0, "users", "--help");
	assert_true(th_contains(r.out, "users 2fa enable"));
	assert_true(th_contains(r.out, "users import"));
	assert_true(th_contains(r.out, "users legacy"));
	RUN(d, NULL, 2, "users", "import");
	assert_true(th_contains(r.err, "FILE missing"));
	RUN(d, NULL, 2, "users", "import", "a", "b");
	RUN(d, NULL, 2, "users", "legacy", "-n", "x");
	RUN(d, NULL, 2, "users", "legacy", "--md", "--csv");
	RUN(d, NULL, 2, "users", "legacy", "a", "b");
	RUN(d, NULL, 2, "users", "2fa", "disable");
	RUN(d, NULL, 2, "users", "2fa", "enable", "a", "b");
	RUN(d, NULL, 2, "users", "2fa", "enable", "--password-stdin",
	    "--code", "123456", "a");
	assert_not_said("123456");
	RUN(d, NULL, 2, "auth", "test", "--code", "123456");
	assert_not_said("123456");
	RUN(d, NULL, 2, "users", "2fa", "frob");
	th_result_free(&r);
}

static void
test_import(void **state)
{
	static const char *const sha_argv[] = { MKPASSWD, "-m", "sha512crypt",
	    "Sha-Pass-1", NULL };
	static const char *const yes_argv[] = { MKPASSWD, "-m", "yescrypt",
	    "Yes-Pass-1", NULL };
	static const char *const bc_argv[] = { HTPASSWD, "-nbB", "ann",
	    "Bcrypt-Pass-1", NULL };
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *sha, *yes, *bc, *text, *v, path[256];
	FILE *f;

	sha = tool_hash(sha_argv);
	yes = tool_hash(yes_argv);
	bc = tool_hash(bc_argv);		/* "ann:$2y$..." */
	assert_true(strncmp(sha, "$6$", 3) == 0);
	assert_true(strncmp(yes, "$y$", 3) == 0);
	assert_true(strncmp(bc, "ann:$2y$", 8) == 0);

	/* user:hash lines, a shadow line, a bad line, a comment. */
	snprintf(path, sizeof(path), "%s/import.txt", d->dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "# from the old server\n%s\nsam:%s:19000:0:99999:7:::\n"
	    "just a line\nyuri:%s\nlocked:!%s\n", bc, sha, yes, sha);
	assert_int_equal(fclose(f), 0);
	RUN(d, NULL, 0, "users", "import", path);
	assert_string_equal(r.out, "Imported 3 accounts, skipped 2.\n"
	    "  line 4: expected user:hash\n"
	    "  line 6: no password hash (locked or empty)\n");
	assert_string_equal(r.err, "");
	/* The same again: every line skipped, still a success. */
	RUN(d, NULL, 0, "users", "import", path);
	assert_true(th_contains(r.out, "Imported 0 accounts, skipped 5.\n"));
	assert_true(th_contains(r.out, "  line 2: an account with that name "
	    "or email exists\n"));

	/* CSV on standard input, quoted fields, extra columns, --json. */
	assert_true(asprintf(&text, "username,name,email,role,hash,note\n"
	    "carla,\"Lopez, Carla\",carla@example.org,viewer,%s,x\n"
	    "Bad Name,,,,%s,\n"
	    "dora,Dora,,user,$1$abc$def,\n", sha, sha) > 0);
	th_keep(text);
	RUN(d, text, 0, "--json", "users", "import", "-");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['imported']"), "1");
	assert_string_equal(json_get(r.out, "d['skipped']"), "2");
	assert_string_equal(json_get(r.out, "d['errors'][0]['line']"), "3");
	assert_string_equal(json_get(r.out, "d['errors'][1]['reason']"),
	    "unsupported hash scheme or cost over the limits");
	assert_string_equal(json_get(r.out, "len(d['errors'])"), "2");
	assert_string_equal(account_str(d, "carla", "name"), "Lopez, Carla");
	assert_string_equal(account_str(d, "carla", "role"), "viewer");
	assert_false(th_user_exists(d->sock, "dora"));

	/* users show names the scheme; users legacy lists them. */
	RUN(d, NULL, 0, "users", "show", "ann");
	assert_string_equal(show_val(r.out, "Password Scheme"),
	    "bcrypt");
	assert_false(th_contains(r.out, "password_scheme"));
	assert_false(th_contains(r.out, "$2y$"));
	RUN(d, NULL, 0, "users", "legacy");
	assert_true(strncmp(r.out, "Username", 8) == 0);
	v = th_keep(strndup(r.out, strcspn(r.out, "\n")));
	assert_true(th_contains(v, "Name"));
	assert_true(th_contains(v, "Email"));
	assert_true(th_contains(v, "Scheme"));
	assert_true(th_contains(v, "Created At"));
	assert_true(th_contains(v, "Last Login"));
	assert_true(th_contains(row(r.out, "ann"), " bcrypt "));
	assert_true(th_contains(row(r.out, "ann"), " never"));
	assert_true(th_contains(row(r.out, "sam"), " sha512-crypt "));
	assert_true(th_contains(row(r.out, "yuri"), " yescrypt "));
	assert_true(strncmp(row(r.out, "carla"),
	    " Lopez, Carla carla@example.org sha512-crypt ", 44) == 0);
	assert_false(th_contains(r.out, "$6$"));
	assert_false(th_contains(r.out, "$y$"));
	RUN(d, NULL, 0, "users", "legacy", "ann");
	assert_true(listed(r.out, "ann"));
	assert_false(listed(r.out, "sam"));
	RUN(d, NULL, 0, "users", "legacy", "--csv", "-n", "1");
	assert_true(strncmp(r.out, "Username;Name;Email;Scheme;Created At;"
	    "Last Login\n", 48) == 0);
	assert_true(th_contains(r.err, "showing 1 of 4 accounts"));
	RUN(d, NULL, 0, "--json", "users", "legacy");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['total']"), "4");
	assert_string_equal(json_get(r.out, "sorted(u['password_scheme'] "
	    "for u in d['users'])"),
	    "['bcrypt', 'sha512-crypt', 'sha512-crypt', 'yescrypt']");

	/* A login upgrades the hash: the account leaves the list. */
	RUN(d, "Bcrypt-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "ann");
	assert_string_equal(r.out, "Password for ann is valid.\n");
	assert_not_said("Bcrypt-Pass-1");
	RUN(d, "Sha-Pass-1\n", 0, "auth", "test", "--password-stdin", "sam");
	RUN(d, "Yes-Pass-2\n", 1, "auth", "test", "--password-stdin", "yuri");
	assert_not_said("Yes-Pass-2");
	RUN(d, NULL, 0, "users", "legacy");
	assert_false(listed(r.out, "ann"));
	assert_false(listed(r.out, "sam"));
	assert_true(listed(r.out, "yuri"));
	assert_true(listed(r.out, "carla"));
	assert_string_equal(account_str(d, "ann", "password_scheme"),
	    "argon2id");
	RUN(d, NULL, 0, "users", "show", "sam");
	assert_string_equal(show_val(r.out, "Password Scheme"),
	    "argon2id");
	RUN(d, "Bcrypt-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "ann");

	/* Not for a plain user. */
	if (th_is_root()) {
		assert_int_equal(chmod(path, 0644), 0);
		RUN_AS(d, &plain, NULL, 1, "users", "import", path);
		assert_true(th_contains(r.err, "permission denied"));
		RUN_AS(d, &plain, NULL, 1, "users", "legacy");
		assert_true(th_contains(r.err, "permission denied"));
	}
	th_result_free(&r);
}

static void
test_import_limits(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char path[256], *big;
	size_t n = 60000;
	FILE *f;

	/* Exactly the limit: comment lines, sent and accepted. */
	assert_non_null(big = th_keep(malloc(n + 2)));
	memset(big, '#', n);
	for (size_t i = 99; i < n; i += 100)
		big[i] = '\n';
	big[n] = '\0';
	snprintf(path, sizeof(path), "%s/big.txt", d->dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(big, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
	RUN(d, NULL, 0, "users", "import", path);
	assert_string_equal(r.out, "Imported 0 accounts, skipped 0.\n");
	RUN(d, big, 0, "users", "import", "-");
	/* One byte more: refused here, with the way out. */
	big[n] = '#';
	big[n + 1] = '\0';
	RUN(d, big, 1, "users", "import", "-");
	assert_string_equal(r.out, "");
	assert_true(th_contains(r.err, "standard input: more than 60000 "
	    "bytes"));
	assert_true(th_contains(r.err, "split it"));
	assert_non_null(f = fopen(path, "a"));
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.err, "split it"));
	/* Not there; not text. */
	RUN(d, NULL, 1, "users", "import", "/nonexistent/file");
	assert_true(th_contains(r.err, "/nonexistent/file: No such file"));
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite("a:b\0c\n", 1, 6, f), 6);
	assert_int_equal(fclose(f), 0);
	RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.err, "NUL byte"));
	/* Empty: nothing to do, done. */
	RUN(d, "", 0, "users", "import", "-");
	assert_string_equal(r.out, "Imported 0 accounts, skipped 0.\n");
	th_result_free(&r);
}

/* Enrol user as admin (no password): the secret printed (kept). */
static char *
enrol_admin(const struct th_daemon *d, const char *user)
{
	struct th_result r = { 0 };
	char *secret, *uri, want[128];

	RUN(d, NULL, 0, "users", "2fa", "enable", user);
	secret = line_after(r.out, "  Secret:  ");
	uri = line_after(r.out, "  URI:     ");
	snprintf(want, sizeof(want), "otpauth://totp/acctd:%s?secret=", user);
	assert_true(strncmp(uri, want, strlen(want)) == 0);
	assert_true(th_contains(uri, secret));
	assert_int_equal(strlen(secret), 32);
	assert_int_equal(count(r.out, secret), 2);	/* URI and line */
	assert_false(th_contains(r.err, secret));
	/* No code on a pipe: pending, and how to finish says so. */
	assert_true(th_contains(r.out, "acctc users 2fa enable --code CODE"));
	assert_int_equal(account_bool(d, user, "two_factor"), 0);
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
	RUN(d, NULL, 1, "users", "2fa", "enable", "--code", bad, "bob");
	assert_true(th_contains(r.err, "wrong code"));
	assert_string_equal(r.out, "");
	assert_int_equal(account_bool(d, "bob", "two_factor"), 0);
	/* The right one: on, with ten recovery codes shown once. */
	settle();
	step = step_now();
	totp_code(secret, step, code);
	RUN(d, NULL, 0, "users", "2fa", "enable", "--code", code, "bob");
	assert_true(th_contains(r.out, "Two-factor authentication is on for "
	    "bob.\n"));
	rc1 = recovery_code(r.out, 0);
	rc2 = recovery_code(r.out, 9);
	assert_not_said(secret);
	assert_int_equal(account_bool(d, "bob", "two_factor"), 1);
	RUN(d, NULL, 0, "users", "show", "bob");
	assert_string_equal(show_val(r.out, "Two-Factor"), "enabled");
	assert_not_said(secret);
	assert_not_said(rc1);
	/* Already on: the daemon says how to start over. */
	RUN(d, NULL, 1, "users", "2fa", "enable", "bob");
	assert_true(th_contains(r.err, "already on"));

	/* auth test: the password alone is not enough. */
	RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_true(th_contains(r.err, "no two-factor code on standard "
	    "input"));
	assert_string_equal(r.out, "");
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", bad);
	RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.err, "acctc: authentication failed\n");
	/* The step confirm spent is refused. */
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", code);
	RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	/* The right password that still needs its code is no failure;
	 * the wrong code and the spent one are. */
	assert_int_equal(account_int(d, "bob", "failed_logins"), 2);
	RUN(d, NULL, 0, "users", "mod", "--unlock", "bob");
	/* The next step works. */
	totp_code(secret, step + 1, code);
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", code);
	RUN(d, in, 0, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.out, "Password for bob is valid.\n");
	assert_not_said(code);
	assert_not_said("Bob-Pass-1");
	/* ...once. */
	RUN(d, in, 1, "auth", "test", "--password-stdin", "bob");
	/* --code: a recovery code, good once, case and spaces aside. */
	RUN(d, "Bob-Pass-1\n", 0, "--json", "auth", "test",
	    "--password-stdin", "--code", rc1, "bob");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['user']['two_factor']"),
	    "True");
	assert_not_said(rc1);
	RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin",
	    "--code", rc1, "bob");
	for (char *p = rc2; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	snprintf(in, sizeof(in), "Bob-Pass-1\n%s\n", rc2);
	RUN(d, in, 0, "auth", "test", "--password-stdin", "bob");
	/* A wrong password never gets as far as the code. */
	RUN(d, "Bob-Pass-2\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.err, "acctc: authentication failed\n");

	/* Off again: the password alone logs in. */
	RUN(d, NULL, 0, "users", "2fa", "disable", "bob");
	assert_string_equal(r.out, "Two-factor authentication is off for "
	    "bob.\n");
	assert_int_equal(account_bool(d, "bob", "two_factor"), 0);
	RUN(d, "Bob-Pass-1\n", 0, "auth", "test", "--password-stdin", "bob");
	RUN(d, NULL, 1, "users", "2fa", "disable", "nobody-here");
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
	RUN(d, NULL, 0, "--json", "users", "2fa", "enable", "carl");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['username']"), "carl");
	assert_string_equal(json_get(r.out, "sorted(d)"),
	    "['secret', 'uri', 'username']");
	secret = json_get(r.out, "d['secret']");
	uri = json_get(r.out, "d['uri']");
	assert_true(th_contains(uri, secret));
	assert_string_equal(r.err, "");
	settle();
	totp_code(secret, step_now(), code);
	RUN(d, NULL, 0, "users", "2fa", "enable", "--json", "--code", code,
	    "carl");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['username']"), "carl");
	assert_string_equal(json_get(r.out, "len(d['recovery_codes'])"),
	    "10");
	assert_not_said(secret);
	RUN(d, NULL, 0, "--json", "users", "2fa", "disable", "carl");
	assert_true(json_valid(r.out));
	assert_string_equal(json_get(r.out, "d['user']['username']"), "carl");
	assert_int_equal(account_bool(d, "carl", "two_factor"), 0);
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
	RUN_AS(d, &plain, NULL, 2, "users", "2fa", "enable");
	assert_true(th_contains(r.err, "use --password-stdin"));
	RUN_AS(d, &plain, "Nobody-Pass-2\n", 1, "users", "2fa", "enable",
	    "--password-stdin");
	assert_true(th_contains(r.err, "authentication failed"));
	assert_not_said("Nobody-Pass-2");
	/* Another account: refused whatever the password. */
	RUN_AS(d, &plain, "Mona-Pass-1\n", 1, "users", "2fa", "enable",
	    "--password-stdin", "mona");
	assert_true(th_contains(r.err, "permission denied"));
	RUN_AS(d, &plain, NULL, 1, "users", "2fa", "disable", "nobody");
	assert_true(th_contains(r.err, "permission denied"));
	/* The password, then a wrong code on the next line. */
	RUN_AS(d, &plain, "Nobody-Pass-1\nabcdef\n", 1, "users", "2fa",
	    "enable", "--password-stdin");
	assert_true(th_contains(r.out, "  Secret:  "));
	assert_true(th_contains(r.err, "wrong code"));
	assert_true(th_contains(r.err, "--code CODE nobody"));
	assert_not_said("Nobody-Pass-1");
	/* The password and no code: pending; --code finishes it. */
	RUN_AS(d, &plain, "Nobody-Pass-1\n", 0, "users", "2fa", "enable",
	    "--password-stdin", "nobody");
	secret = line_after(r.out, "  Secret:  ");
	assert_not_said("Nobody-Pass-1");
	settle();
	totp_code(secret, step_now(), code);
	RUN_AS(d, &plain, NULL, 0, "users", "2fa", "enable", "--code", code);
	assert_true(th_contains(r.out, "is on for nobody.\n"));
	(void)recovery_code(r.out, 0);
	assert_not_said(secret);
	assert_int_equal(account_bool(d, "nobody", "two_factor"), 1);
	/* The admin tests the login: the code is asked for after the
	 * password, as the next line. */
	totp_code(secret, step_now() + 1, code);
	snprintf(in, sizeof(in), "Nobody-Pass-1\n%s\n", code);
	RUN(d, in, 0, "auth", "test", "--password-stdin", "nobody");
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_usage),
		T(test_import),
		T(test_import_limits),
		T(test_2fa),
		T(test_2fa_json),
		T(test_2fa_self),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("cli3", tests, NULL, NULL);
}
