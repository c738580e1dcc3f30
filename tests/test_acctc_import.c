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

#include <errno.h>
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

/* ---- tests ---- */

static void
test_help_and_usage(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "import", "--help");
	assert_true(th_contains(r.out, "--dry-run"));
	assert_true(th_contains(r.out, "--from-line N"));
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
	TH_RUN(d, NULL, 2, "users", "import", "--from-line", "0", "a");
	TH_RUN(d, NULL, 2, "users", "import", "--from-line", "x", "a");
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
	assert_string_equal(r.out, "Imported 4 accounts, skipped 1.\n"
	    "  line 4: expected user:hash\n");
	assert_string_equal(r.err, "");
	/* The locked one: login disallowed, its hash kept. */
	TH_RUN(d, NULL, 0, "users", "show", "locked");
	assert_string_equal(show_val(r.out, "Login"), "disabled");
	assert_string_equal(show_val(r.out, "Password Scheme"), "sha512-crypt");
	/* The same again: every line skipped, named, still a success. */
	TH_RUN(d, NULL, 0, "users", "import", path);
	assert_true(th_contains(r.out, "Imported 0 accounts, skipped 5.\n"));
	assert_true(th_contains(r.out, "  line 2 (ann): an account with that "
	    "name or email exists\n"));
	assert_true(th_contains(r.out, "  line 6 (locked): an account"));

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
	assert_string_equal(th_json_must(r.out, "d['errors'][0]['username']"),
	    "Bad Name");
	assert_string_equal(th_json_must(r.out, "d['errors'][1]['reason']"),
	    "unsupported hash scheme");
	assert_string_equal(th_json_must(r.out, "d['dry_run']"), "False");
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
	assert_true(th_contains(r.err, "showing 1-1 of 5 accounts; next page: "
	    "acctc "));
	assert_true(th_contains(r.err, " users legacy --csv -n 1 --offset 1\n"));
	TH_RUN(d, NULL, 0, "--json", "users", "legacy");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['total']"), "5");
	assert_string_equal(th_json_must(r.out, "sorted(u['password_scheme'] "
	    "for u in d['users'])"),
	    "['bcrypt', 'sha512-crypt', 'sha512-crypt', 'sha512-crypt', "
	    "'yescrypt']");

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

/* Write text to DIR/name; the path, kept. */
static char *
write_file(const struct th_daemon *d, const char *name, const char *text,
    size_t len)
{
	char *path;
	FILE *f;

	assert_true(asprintf(&path, "%s/%s", d->dir, name) > 0);
	th_keep(path);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Shadow lines u00001.. of one hash, from line first on, into a kept
 * buffer of at least bytes; *n lines. */
static char *
shadow_lines(const char *hash, size_t bytes, int *n)
{
	size_t cap = bytes + 4096, off = 0;
	char *buf = th_keep(malloc(cap));

	assert_non_null(buf);
	for (*n = 0; off < bytes; )
		off += (size_t)snprintf(buf + off, cap - off,
		    "u%05d:%s:19000:0:99999:7:::\n", ++*n, hash);
	return buf;
}

/* Several megabytes, in many requests of one transaction each; a dry
 * run first; a line too long for a request and a bad one skipped by
 * number. */
static void
test_import_large(void **state)
{
	static const char *const sha_argv[] = { MKPASSWD, "-m", "sha512crypt",
	    "Big-Pass-1", NULL };
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *sha = tool_hash(sha_argv), *body, *text, *path, *log, want[256];
	size_t len, off, lines = 0;
	int n, pieces = 0;

	body = shadow_lines(sha, 2 * 1024 * 1024, &n);
	/* Line 1 a comment, then n accounts with two bad lines among them:
	 * one longer than a request takes, one not user:hash. */
	len = strlen(body) + 80000;
	assert_non_null(text = th_keep(malloc(len)));
	off = (size_t)snprintf(text, len, "# exported\n");
	for (const char *p = body; *p != '\0'; p = strchr(p, '\n') + 1) {
		size_t l = strcspn(p, "\n") + 1;

		memcpy(text + off, p, l);
		off += l;
		if (++lines == 1000) {
			memset(text + off, 'x', 70000);
			off += 70000;
			text[off++] = '\n';
		} else if (lines == 9000)
			off += (size_t)sprintf(text + off, "no colon here\n");
	}
	text[off] = '\0';
	assert_true(off > 2 * 1024 * 1024);
	path = write_file(d, "big.txt", text, off);

	TH_RUN(d, NULL, 0, "users", "import", "--dry-run", path);
	snprintf(want, sizeof(want), "Would import %d accounts, skip 2 (a dry "
	    "run: nothing was written).\n  line 1002: longer than a request "
	    "takes\n  line 9003: expected user:hash\n", n);
	assert_string_equal(r.out, want);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts", NULL),
	    0);

	TH_RUN(d, NULL, 0, "users", "import", path);
	snprintf(want, sizeof(want), "Imported %d accounts, skipped 2.\n"
	    "  line 1002: longer than a request takes\n"
	    "  line 9003: expected user:hash\n", n);
	assert_string_equal(r.out, want);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts", NULL),
	    n);
	/* One request, and one transaction, per piece of at most 60000. */
	assert_non_null(log = th_keep(th_read_log(d)));
	for (const char *p = log; (p = strstr(p, ": imported ")) != NULL; p++)
		pieces++;
	assert_true(pieces >= (int)(off / 60000));
	TH_RUN(d, "Big-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "u00001");
	snprintf(want, sizeof(want), "u%05d", n);
	TH_RUN(d, "Big-Pass-1\n", 0, "auth", "test", "--password-stdin", want);
	th_result_free(&r);
}

/* CSV over several requests: each carries the header. */
static void
test_import_csv_pieces(void **state)
{
	static const char *const bc_argv[] = { MKPASSWD, "-m", "bcrypt",
	    "Csv-Pass-1", NULL };
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *bc = tool_hash(bc_argv), *text, *path;
	size_t cap = 400000, off;
	int rows = 2500;

	assert_non_null(text = th_keep(malloc(cap)));
	off = (size_t)snprintf(text, cap, "\n# header next\nUSERNAME,Email,"
	    "Hash,Name\n");
	for (int i = 1; i <= rows; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "c%d,c%d@example.org,%s,\"Row %d, of the CSV\"\n", i, i, bc,
		    i);
	assert_true(off > 3 * 60000);
	path = write_file(d, "users.csv", text, off);
	TH_RUN(d, NULL, 0, "--json", "users", "import", path);
	assert_string_equal(th_json_must(r.out, "d['imported']"), "2500");
	assert_string_equal(th_account_str(d, "c2500", "name"),
	    "Row 2500, of the CSV");
	assert_string_equal(th_account_str(d, "c2500", "email"),
	    "c2500@example.org");
	TH_RUN(d, "Csv-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "c2000@example.org");
	th_result_free(&r);
}

struct feeder {
	const struct th_daemon	*d;
	const char		*path;
};

/* acctc users import on a FIFO, its output and exit status to out. */
static int
import_fifo(void *arg, FILE *out)
{
	struct feeder *f = arg;
	struct th_result r = { 0 };
	int st = th_acctc(f->d, NULL, &r, "users", "import", f->path,
	    (char *)NULL);

	fprintf(out, "%d\n%s%s", st, r.out, r.err);
	th_result_free(&r);
	return 0;
}

/*
 * The daemon goes away in the middle: acctc says which line to go on
 * from, and going on from it imports the rest, none of it twice and
 * nothing missed.
 */
static void
test_import_resume(void **state)
{
	static const char *const sha_argv[] = { MKPASSWD, "-m", "sha512crypt",
	    "Re-Pass-1", NULL };
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct th_child c;
	struct feeder f = { d, NULL };
	char *sha = tool_hash(sha_argv), *text, *cut, *path, fifo[160];
	char out[4096], *from, cmd[256];
	size_t half;
	int n, fd;
	int64_t got = 0;

	text = shadow_lines(sha, 200000, &n);
	path = write_file(d, "all.txt", text, strlen(text));
	snprintf(fifo, sizeof(fifo), "%s/fifo", d->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	f.path = fifo;
	assert_int_equal(th_as_start(NULL, import_fifo, &f, &c), 0);
	assert_true((fd = open(fifo, O_WRONLY)) >= 0);
	/* A piece and a line more: the first piece goes, and lands. */
	cut = text + 70000;
	cut = strchr(cut, '\n') + 1;
	half = (size_t)(cut - text);
	assert_int_equal(write(fd, text, half), (ssize_t)half);
	for (int i = 0; i < 1000 && (got = th_db_int(d, "SELECT count(*) "
	    "FROM accounts", NULL)) == 0; i++)
		usleep(10000);
	assert_true(got > 0);
	assert_int_equal(th_stop(d), 0);
	/* acctc stops reading once a piece fails: the rest may not go. */
	if (write(fd, cut, strlen(cut)) == -1)
		assert_int_equal(errno, EPIPE);
	assert_int_equal(close(fd), 0);
	assert_int_equal(th_as_wait(&c, out, sizeof(out)), 0);
	/* Stopped, with the summary of what was done and the way on. */
	assert_true(strncmp(out, "1\n", 2) == 0 || strncmp(out, "3\n", 2) == 0);
	snprintf(cmd, sizeof(cmd), "Imported %lld accounts, skipped 0.",
	    (long long)got);
	assert_true(th_contains(out, cmd));
	assert_non_null(from = strstr(out, "--from-line "));
	from += strlen("--from-line ");
	assert_true(th_contains(from, fifo));
	assert_int_equal(strtoll(from, NULL, 10), got + 1);
	assert_int_equal(th_start(d), 0);
	TH_RUN(d, NULL, 0, "users", "import", "--from-line",
	    th_keep(strndup(from, strcspn(from, " "))), path);
	snprintf(cmd, sizeof(cmd), "Imported %lld accounts, skipped 0.\n",
	    (long long)(n - got));
	assert_string_equal(r.out, cmd);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts", NULL),
	    n);
	th_result_free(&r);
}

/*
 * /etc/shadow as it is: a locked hash imports as a disabled account
 * that an unlock brings back; the aging fields map to expiry, maximum
 * age and must-change; accounts without a hash are skipped by name.
 */
static void
test_import_shadow(void **state)
{
	static const char *const sha_argv[] = { MKPASSWD, "-m", "sha512crypt",
	    "Shadow-Pass-1", NULL };
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *h = tool_hash(sha_argv), *text, *path;

	assert_true(asprintf(&text,
	    "root:*:19000:0:99999:7:::\n"
	    "daemon:!:19000:0:99999:7:::\n"
	    "fresh:%s:0:0:99999:7:::\n"
	    "aged:%s:19000:0:30:7:::\n"
	    "gone:%s:19000:0:99999:7::19001:\n"
	    "later:%s:19000:0:99999:7::40000:\n"
	    "plain:%s:19000:0::7:::\n"
	    "lockd:!%s:19000:0:99999:7:::\n"
	    "baddy:%s:x19000:0:99999:7:::\n", h, h, h, h, h, h, h) > 0);
	th_keep(text);
	path = write_file(d, "shadow", text, strlen(text));
	TH_RUN(d, NULL, 0, "users", "import", path);
	assert_string_equal(r.out, "Imported 6 accounts, skipped 3.\n"
	    "  line 1 (root): no password hash (locked or empty)\n"
	    "  line 2 (daemon): no password hash (locked or empty)\n"
	    "  line 9 (baddy): a shadow date or age field is not a number of "
	    "days\n");

	/* lastchg 0: the password must be changed at the next login. */
	TH_RUN(d, NULL, 0, "users", "show", "fresh");
	assert_string_equal(show_val(r.out, "Must Change Password"), "yes");
	TH_RUN(d, "Shadow-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "fresh");
	assert_true(th_contains(r.out, "it must be changed now"));
	/* A maximum age of 30 days, the password changed in 2022. */
	TH_RUN(d, NULL, 0, "users", "show", "aged");
	assert_string_equal(show_val(r.out, "Password Max Age"), "30 days");
	assert_true(strncmp(show_val(r.out, "Password Changed"), "2022-01-08",
	    10) == 0);
	assert_string_equal(show_val(r.out, "Must Change Password"), "no");
	TH_RUN(d, "Shadow-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "aged");
	assert_true(th_contains(r.out, "it must be changed now"));
	/* Expired on day 19001; the other one not before 2079. */
	TH_RUN(d, "Shadow-Pass-1\n", 1, "auth", "test", "--password-stdin",
	    "gone");
	TH_RUN(d, NULL, 0, "audit", "logins", "gone");
	assert_true(th_contains(r.out, "EXPIRED"));
	TH_RUN(d, NULL, 0, "users", "show", "later");
	assert_true(strncmp(show_val(r.out, "Expires"), "2079-07-08", 10) ==
	    0);
	TH_RUN(d, "Shadow-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "later");
	assert_false(th_contains(r.out, "must be changed"));
	/* No maximum in the file: the daemon's default. */
	TH_RUN(d, NULL, 0, "users", "show", "plain");
	assert_string_equal(show_val(r.out, "Password Max Age"), "default");
	/* Locked: no login until unlocked, then the old password works. */
	TH_RUN(d, NULL, 0, "users", "show", "lockd");
	assert_string_equal(show_val(r.out, "Login"), "disabled");
	TH_RUN(d, "Shadow-Pass-1\n", 1, "auth", "test", "--password-stdin",
	    "lockd");
	TH_RUN(d, NULL, 0, "users", "mod", "--login", "lockd");
	TH_RUN(d, "Shadow-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "lockd");
	th_result_free(&r);
}

static void
test_import_limits(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *path;

	/* Not there; not text; not UTF-8 (that line only). */
	TH_RUN(d, NULL, 1, "users", "import", "/nonexistent/file");
	assert_true(th_contains(r.err, "/nonexistent/file: No such file"));
	path = write_file(d, "nul.txt", "\0c\n", 3);
	TH_RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.err, "line 1 holds a NUL byte"));
	assert_false(th_contains(r.err, "--from-line"));
	/* After a line the daemon saw: what it did, and the line. */
	path = write_file(d, "nul.txt", "a:b\n\0c\n", 7);
	TH_RUN(d, NULL, 1, "users", "import", path);
	assert_true(th_contains(r.out, "Imported 0 accounts, skipped 1.\n"
	    "  line 1 (a): "));
	assert_true(th_contains(r.err, "line 2 holds a NUL byte"));
	assert_true(th_contains(r.err, "--from-line 2 "));
	TH_RUN(d, "x\xff:y\nok\n", 0, "users", "import", "-");
	assert_string_equal(r.out, "Imported 0 accounts, skipped 2.\n"
	    "  line 1: not valid UTF-8\n  line 2: expected user:hash\n");
	/* Empty: nothing to do, done. */
	TH_RUN(d, "", 0, "users", "import", "-");
	assert_string_equal(r.out, "Imported 0 accounts, skipped 0.\n");
	/* A CSV header the daemon refuses: said once, nothing to go on
	 * from. */
	TH_RUN(d, "username,name\nx,y\n", 1, "users", "import", "-");
	assert_true(th_contains(r.err, "username and hash columns"));
	assert_false(th_contains(r.err, "--from-line"));
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_and_usage),
		T(test_import),
		T(test_import_large),
		T(test_import_csv_pieces),
		T(test_import_resume),
		T(test_import_shadow),
		T(test_import_limits),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("acctc_import", tests, NULL, NULL);
}
