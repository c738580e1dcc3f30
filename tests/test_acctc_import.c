/*
 * test_acctc_import.c: the real acctc against the real acctd for hashes
 * made elsewhere: users import (hashes made by mkpasswd and htpasswd),
 * users legacy and the upgrade at login, users show's password scheme.
 * Exit status, --json, and that no password is printed where it does
 * not belong.
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

#define MKPASSWD	"/usr/bin/mkpasswd"
#define HTPASSWD	"/usr/bin/htpasswd"

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_acctc_import: ACCTC_BIN is not set to the acctc "
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
		fprintf(stderr, "test_acctc_import: %s missing\n", argv[0]);
		skip();
	}
	h = run_tool(argv, NULL);
	if (h == NULL)
		fail_msg("%s failed", argv[0]);
	return h;
}

/* ---- reading acctc's output ---- */

/* The line of a table whose first column is user, spaces made one. */
static char *
row(const char *table, const char *user)
{
	char prefix[128], *l, *o;

	snprintf(prefix, sizeof(prefix), "%s ", user);
	l = th_line_must(table, prefix);
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
	char *v = th_line_must(out, label);

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

/* ---- the daemon, directly ---- */

/* ---- TOTP, with the daemon's own arithmetic ---- */

/* ---- tests ---- */

static void
test_help_and_usage(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "import", "--help");
	assert_true(th_contains(r.out, "60000 bytes"));
	TH_RUN(d, NULL, 0, "users", "legacy", "--help");
	TH_RUN(d, NULL, 0, "users", "2fa", "enable", "--help");
	assert_true(th_contains(r.out, "--code CODE"));
	TH_RUN(d, NULL, 0, "users", "2fa", "disable", "--help");
	TH_RUN(d, NULL, 0, "auth", "test", "--help");
	assert_true(th_contains(r.out, "--code CODE"));
	TH_RUN(d, NULL, 0, "users", "--help");
	assert_true(th_contains(r.out, "users 2fa enable"));
	assert_true(th_contains(r.out, "users import"));
	assert_true(th_contains(r.out, "users legacy"));
	TH_RUN(d, NULL, 2, "users", "import");
	assert_true(th_contains(r.err, "FILE missing"));
	TH_RUN(d, NULL, 2, "users", "import", "a", "b");
	TH_RUN(d, NULL, 2, "users", "legacy", "-n", "x");
	TH_RUN(d, NULL, 2, "users", "legacy", "--md", "--csv");
	TH_RUN(d, NULL, 2, "users", "legacy", "a", "b");
	TH_RUN(d, NULL, 2, "users", "2fa", "disable");
	TH_RUN(d, NULL, 2, "users", "2fa", "enable", "a", "b");
	TH_RUN(d, NULL, 2, "users", "2fa", "enable", "--password-stdin",
	    "--code", "123456", "a");
	th_assert_not_said("123456");
	TH_RUN(d, NULL, 2, "auth", "test", "--code", "123456");
	th_assert_not_said("123456");
	TH_RUN(d, NULL, 2, "users", "2fa", "frob");
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
	TH_RUN(d, NULL, 0, "users", "import", path);
	assert_string_equal(r.out, "Imported 3 accounts, skipped 2.\n"
	    "  line 4: expected user:hash\n"
	    "  line 6: no password hash (locked or empty)\n");
	assert_string_equal(r.err, "");
	/* The same again: every line skipped, still a success. */
	TH_RUN(d, NULL, 0, "users", "import", path);
	assert_true(th_contains(r.out, "Imported 0 accounts, skipped 5.\n"));
	assert_true(th_contains(r.out, "  line 2: an account with that name "
	    "or email exists\n"));

	/* CSV on standard input, quoted fields, extra columns, --json. */
	assert_true(asprintf(&text, "username,name,email,role,hash,note\n"
	    "carla,\"Lopez, Carla\",carla@example.org,viewer,%s,x\n"
	    "Bad Name,,,,%s,\n"
	    "dora,Dora,,user,$1$abc$def,\n", sha, sha) > 0);
	th_keep(text);
	TH_RUN(d, text, 0, "--json", "users", "import", "-");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['imported']"), "1");
	assert_string_equal(th_json_must(r.out, "d['skipped']"), "2");
	assert_string_equal(th_json_must(r.out, "d['errors'][0]['line']"), "3");
	assert_string_equal(th_json_must(r.out, "d['errors'][1]['reason']"),
	    "unsupported hash scheme or cost over the limits");
	assert_string_equal(th_json_must(r.out, "len(d['errors'])"), "2");
	assert_string_equal(th_account_str(d, "carla", "name"), "Lopez, Carla");
	assert_string_equal(th_account_str(d, "carla", "role"), "viewer");
	assert_false(th_user_exists(d->sock, "dora"));

	/* users show names the scheme; users legacy lists them. */
	TH_RUN(d, NULL, 0, "users", "show", "ann");
	assert_string_equal(show_val(r.out, "Password Scheme"),
	    "bcrypt");
	assert_false(th_contains(r.out, "password_scheme"));
	assert_false(th_contains(r.out, "$2y$"));
	TH_RUN(d, NULL, 0, "users", "legacy");
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
	TH_RUN(d, NULL, 0, "users", "legacy", "ann");
	assert_true(listed(r.out, "ann"));
	assert_false(listed(r.out, "sam"));
	TH_RUN(d, NULL, 0, "users", "legacy", "--csv", "-n", "1");
	assert_true(strncmp(r.out, "Username;Name;Email;Scheme;Created At;"
	    "Last Login\n", 48) == 0);
	assert_true(th_contains(r.err, "showing 1 of 4 accounts"));
	TH_RUN(d, NULL, 0, "--json", "users", "legacy");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['total']"), "4");
	assert_string_equal(th_json_must(r.out, "sorted(u['password_scheme'] "
	    "for u in d['users'])"),
	    "['bcrypt', 'sha512-crypt', 'sha512-crypt', 'yescrypt']");

	/* A login upgrades the hash: the account leaves the list. */
	TH_RUN(d, "Bcrypt-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "ann");
	assert_string_equal(r.out, "Password for ann is valid.\n");
	th_assert_not_said("Bcrypt-Pass-1");
	TH_RUN(d, "Sha-Pass-1\n", 0, "auth", "test", "--password-stdin", "sam");
	TH_RUN(d, "Yes-Pass-2\n", 1, "auth", "test", "--password-stdin", "yuri");
	th_assert_not_said("Yes-Pass-2");
	TH_RUN(d, NULL, 0, "users", "legacy");
	assert_false(listed(r.out, "ann"));
	assert_false(listed(r.out, "sam"));
	assert_true(listed(r.out, "yuri"));
	assert_true(listed(r.out, "carla"));
	assert_string_equal(th_account_str(d, "ann", "password_scheme"),
	    "argon2id");
	TH_RUN(d, NULL, 0, "users", "show", "sam");
	assert_string_equal(show_val(r.out, "Password Scheme"),
	    "argon2id");
	TH_RUN(d, "Bcrypt-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "ann");

	/* Not for a plain user. */
	if (th_is_root()) {
		assert_int_equal(chmod(path, 0644), 0);
		TH_RUN_AS(d, &plain, NULL, 1, "users", "import", path);
		assert_true(th_contains(r.err, "permission denied"));
		TH_RUN_AS(d, &plain, NULL, 1, "users", "legacy");
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
	TH_RUN(d, NULL, 0, "users", "import", path);
	assert_string_equal(r.out, "Imported 0 accounts, skipped 0.\n");
	TH_RUN(d, big, 0, "users", "import", "-");
	/* One byte more: refused here, with the way out. */
	big[n] = '#';
	big[n + 1] = '\0';
	TH_RUN(d, big, 1, "users", "import", "-");
	assert_string_equal(r.out, "");
	assert_true(th_contains(r.err, "standard input: more than 60000 "
	    "bytes"));
	assert_true(th_contains(r.err, "split it"));
	assert_non_null(f = fopen(path, "a"));
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	TH_RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.err, "split it"));
	/* Not there; not text. */
	TH_RUN(d, NULL, 1, "users", "import", "/nonexistent/file");
	assert_true(th_contains(r.err, "/nonexistent/file: No such file"));
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite("a:b\0c\n", 1, 6, f), 6);
	assert_int_equal(fclose(f), 0);
	TH_RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.err, "NUL byte"));
	/* Empty: nothing to do, done. */
	TH_RUN(d, "", 0, "users", "import", "-");
	assert_string_equal(r.out, "Imported 0 accounts, skipped 0.\n");
	th_result_free(&r);
}

/* A plain user turns it on for their own account, with the password. */
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_usage),
		T(test_import),
		T(test_import_limits),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("acctc_import", tests, NULL, NULL);
}
