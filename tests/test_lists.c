/*
 * test_lists.c: every list command of acctc pages: -n and --offset
 * reach every row once, the hint on stderr names the command of the
 * next page (and running it gives that page), --no-header drops the
 * column names of tables, CSV and TSV; times say their zone, UTC or the
 * local one with --local; a table for a terminal cuts long cells to
 * its width, nothing else is cut.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NROWS	5	/* of each kind */
#define PAGE	2

/* The command a hint in err names, as a shell command line for sh -c
 * with the acctc under test in place of "acctc"; NULL when none. */
static char *
hinted(const char *err)
{
	const char *p = strstr(err, "; next page: acctc ");
	char *cmd;
	size_t n;

	if (p == NULL)
		return NULL;
	p += strlen("; next page: acctc ");
	n = strcspn(p, "\n");
	if (asprintf(&cmd, "%s %.*s", th_acctc_bin(), (int)n, p) < 0)
		return NULL;
	return th_keep(cmd);
}

/*
 * Page through a list: args (NULL-terminated, after the command's
 * words) in CSV without a header, PAGE rows at a time, following each
 * hint. Every row comes once; there are want of them.
 */
static void
page_through(const struct th_daemon *d, const char *const *words,
    int want)
{
	const char *args[32];
	char *seen = th_keep(strdup("")), *cmd;
	struct th_result r = { 0 };
	int n = 0, pages = 0, rows = 0;

	for (int i = 0; words[i] != NULL; i++)
		args[n++] = words[i];
	args[n++] = "-n";
	args[n++] = "2";
	args[n++] = "--csv";
	args[n++] = "--no-header";
	args[n] = NULL;
	assert_int_equal(th_acctc_v(d->sock, NULL, NULL, args, &r), 0);
	for (;;) {
		pages++;
		for (char *l = r.out; *l != '\0'; l += strcspn(l, "\n") + 1) {
			char line[512];

			snprintf(line, sizeof(line), "\n%.*s\n",
			    (int)strcspn(l, "\n"), l);
			if (th_contains(seen, line))
				fail_msg("row twice: %s", line + 1);
			/* No header line: it would name a column. */
			assert_false(th_contains(line, ";Created At") ||
			    th_contains(line, "Client;") ||
			    th_contains(line, "Time;") ||
			    th_contains(line, "ID;"));
			{
				char *more;

				assert_true(asprintf(&more, "%s%s", seen,
				    line + 1) > 0);
				seen = th_keep(more);
			}
			rows++;
		}
		if ((cmd = hinted(r.err)) == NULL)
			break;
		{
			const char *sh[] = { "/bin/sh", "-c", cmd, NULL };

			th_result_free(&r);
			assert_int_equal(th_run_v(sh, NULL, NULL, NULL, &r),
			    0);
		}
		assert_true(pages < 100);
	}
	assert_int_equal(rows, want);
	assert_int_equal(pages, (want + PAGE - 1) / PAGE);
	th_result_free(&r);
}

static int
setup(void **state)
{
	struct th_daemon *d;
	char name[32], addr[32];

	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	/* One failure locks a source, for audit locks. */
	if (th_up(d, "source_lockout_failures = 1\n") != 0)
		return -1;
	for (int i = 0; i < NROWS; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
		if (th_add_user(d->sock, name, "password-1") != ACCT_OK ||
		    th_call_strs(d->sock, "login", "username", name,
		    "password", "wrong", "remote_addr", addr,
		    (char *)NULL) != ACCT_ERR_AUTH_FAILED ||
		    th_call_strs(d->sock, "token_add", "type", "access_token",
		    "username", name, (char *)NULL) != ACCT_OK ||
		    th_call_strs(d->sock, "token_add", "type", "client",
		    "name", name, (char *)NULL) != ACCT_OK)
			return -1;
	}
	/* Hashes of another scheme, for users legacy: the list reads only
	 * the prefix. */
	return th_db_exec(d, "UPDATE accounts SET password_hash = "
	    "'$2b$10$' || id");
}

static void
test_every_list_pages(void **state)
{
	struct th_daemon *d = *state;
	static const char *const users_ls[] = { "users", "ls", NULL };
	static const char *const legacy[] = { "users", "legacy", NULL };
	static const char *const logins[] = { "audit", "logins", NULL };
	static const char *const locks[] = { "audit", "locks", NULL };
	static const char *const events[] = { "audit", "events", NULL };
	static const char *const auth[] = { "auth", "ls", "--type",
	    "access_token", NULL };
	static const char *const tokens[] = { "auth", "ls", NULL };
	static const char *const clients[] = { "clients", "ls", NULL };

	page_through(d, users_ls, NROWS);
	page_through(d, legacy, NROWS);
	page_through(d, logins, NROWS);
	page_through(d, locks, NROWS);
	/* Each account created, its access token and its client. */
	page_through(d, events, 3 * NROWS);
	page_through(d, auth, NROWS);
	page_through(d, tokens, 2 * NROWS);
	page_through(d, clients, NROWS);
}

/* The hint keeps what was typed, puts --offset last, quotes for sh. */
static void
test_hint_is_the_next_command(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char want[512];

	TH_RUN(d, NULL, 0, "users", "ls", "--offset=1", "-n", "1", "user");
	snprintf(want, sizeof(want), "acctc: showing 2-2 of %d accounts; "
	    "next page: acctc --socket %s users ls -n 1 user --offset 2\n",
	    NROWS, d->sock);
	assert_string_equal(r.err, want);
	/* A word the shell needs quoted, after "--". */
	for (int i = 0; i < 2; i++)
		assert_int_equal(th_call_strs(d->sock, "token_add", "type",
		    "access_token", "username", "user0", "name", "o'brien",
		    (char *)NULL), ACCT_OK);
	TH_RUN(d, NULL, 0, "auth", "ls", "-n", "1", "--", "o'brien");
	assert_true(th_contains(r.err, "of 2 sessions and tokens; next page: "
	    "acctc --socket "));
	assert_true(th_contains(r.err, " auth ls -n 1 --offset 1 -- "
	    "'o'\\''brien'\n"));
	{
		const char *sh[] = { "/bin/sh", "-c", hinted(r.err), NULL };
		char *first = th_keep(strdup(r.out));

		th_result_free(&r);
		assert_int_equal(th_run_v(sh, NULL, NULL, NULL, &r), 0);
		assert_true(th_contains(r.out, "o'brien"));
		assert_string_not_equal(r.out, first);
		assert_string_equal(r.err, "");
	}
	/* Past the end: said, not an error. */
	TH_RUN(d, NULL, 0, "users", "ls", "--offset", "50");
	assert_true(th_contains(r.err, "no accounts past the first 5"));
	/* All shown: no hint. */
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_string_equal(r.err, "");
	th_result_free(&r);
}

/* --no-header: tables too; not with --md or --json. */
static void
test_no_header(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "ls", "user1");
	assert_true(th_contains(r.out, "Username"));
	assert_true(th_contains(r.out, "--------"));
	TH_RUN(d, NULL, 0, "users", "ls", "--no-header", "user1");
	assert_false(th_contains(r.out, "Username"));
	assert_false(th_contains(r.out, "---"));
	assert_true(strncmp(r.out, "user1 ", 6) == 0);
	TH_RUN(d, NULL, 0, "audit", "logins", "--tsv", "--no-header", "user1");
	assert_true(strncmp(r.out, "192.0.2.2\tuser1\t", 16) == 0);
	TH_RUN(d, NULL, 2, "users", "ls", "--md", "--no-header");
	TH_RUN(d, NULL, 2, "users", "ls", "--json", "--no-header");
	TH_RUN(d, NULL, 2, "users", "ls", "--offset", "-1");
	TH_RUN(d, NULL, 2, "audit", "locks", "--clear", "-n", "1");
	th_result_free(&r);
}

/* Times in UTC, said so; --local, before or after the command, in the
 * zone of TZ, by its abbreviation. */
static void
test_times_say_their_zone(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "mod", "--expires", "2001-02-03", "user1");
	TH_RUN(d, NULL, 0, "users", "show", "user1");
	assert_string_equal(th_show_val(r.out, "Expires"),
	    "2001-02-03 00:00:00 UTC");
	TH_RUN(d, NULL, 0, "users", "ls", "--csv", "--no-header", "user1");
	assert_true(th_contains(r.out, " UTC"));
	th_acctc_env("TZ=Asia/Tokyo");
	TH_RUN(d, NULL, 0, "users", "show", "--local", "user1");
	assert_string_equal(th_show_val(r.out, "Expires"),
	    "2001-02-03 09:00:00 JST");
	TH_RUN(d, NULL, 0, "--local", "audit", "events", "--tsv");
	assert_true(th_contains(r.out, " JST\t"));
	assert_false(th_contains(r.out, "UTC"));
	/* Without --local, TZ changes nothing. */
	TH_RUN(d, NULL, 0, "users", "show", "user1");
	assert_string_equal(th_show_val(r.out, "Expires"),
	    "2001-02-03 00:00:00 UTC");
	th_acctc_env(NULL);
	th_result_free(&r);
}

/* Display columns of a line of UTF-8. */
static size_t
columns(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* acctc under a terminal of cols columns, through script(1). */
static void
on_terminal(const struct th_daemon *d, int cols, const char *args,
    struct th_result *r)
{
	char *cmd;
	const char *argv[] = { "/usr/bin/script", "-qec", NULL, "/dev/null",
	    NULL };

	assert_true(asprintf(&cmd, "stty cols %d; LC_ALL=C.UTF-8 %s --socket "
	    "%s %s", cols, th_acctc_bin(), d->sock, args) > 0);
	argv[2] = th_keep(cmd);
	th_result_free(r);
	assert_int_equal(th_run_v(argv, NULL, NULL, NULL, r), 0);
}

/* On a terminal a table fits its width, long text cut with an
 * ellipsis, times whole; piped, and in CSV, TSV, Markdown or JSON,
 * every byte is there. */
static void
test_long_cells_cut_on_terminals(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	static const char longname[] = "Ambrose Gwinnett Bierce, "
	    "of the Devil's Dictionary";

	TH_RUN(d, NULL, 0, "users", "mod", "-n", longname, "user2");
	on_terminal(d, 60, "audit events", &r);
	assert_true(th_contains(r.out, "\xe2\x80\xa6"));
	assert_true(th_contains(r.out, "name\r\n"));
	assert_false(th_contains(r.out, longname));
	for (char *l = r.out; *l != '\0'; l += strcspn(l, "\n") + 1) {
		size_t n = strcspn(l, "\r\n");

		if (columns(l, n) > 60)
			fail_msg("wider than 60: %.*s", (int)n, l);
		/* Times are never cut. */
		if (strncmp(l, "20", 2) == 0)
			assert_true(strncmp(l + 19, " UTC  ", 6) == 0);
	}
	on_terminal(d, 60, "users ls --csv user2", &r);
	assert_true(th_contains(r.out, longname));
	on_terminal(d, 60, "users ls --md user2", &r);
	assert_true(th_contains(r.out, longname));
	on_terminal(d, 60, "--json users ls user2", &r);
	assert_true(th_contains(r.out, longname));
	/* Not a terminal: a pipe gets the whole table. */
	TH_RUN(d, NULL, 0, "users", "ls", "user2");
	assert_true(th_contains(r.out, longname));
	assert_false(th_contains(r.out, "\xe2\x80\xa6"));
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_list_pages, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_hint_is_the_next_command,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_no_header, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_times_say_their_zone,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_long_cells_cut_on_terminals, setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
