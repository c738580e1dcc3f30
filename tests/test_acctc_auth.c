/*
 * test_acctc_auth.c: the real acctc against the real acctd for tokens and
 * what surrounds them: audit, auth, clients, users reset-password,
 * users add --activate, users mod --unlock and -p, passwd --forgot,
 * --token and --session. Exit status, --json, the list formats and
 * their escaping, and that no secret is printed but a new one, once.
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

#include "harness.h"

static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_acctc_auth: ACCTC_BIN is not set to the acctc "
		    "under test\n");
		return -1;
	}
	return th_setup(state);
}

/* ---- CSV, the way other programs read it ---- */

/* CSV as Python's csv module reads it: one row per line, fields "|". */
static char *
csv_rows(const char *s)
{
	char *v = th_python(s, "import csv,sys\n"
	    "for row in csv.reader(sys.stdin, delimiter=';', strict=True):\n"
	    "    print('|'.join(row))\n");

	if (v == NULL)
		fail_msg("not CSV:\n%s", s);
	return v;
}

/* ---- the daemon, directly ---- */

/* A session of user: its token in out. */
static void
session(const struct th_daemon *d, const char *user, char *out, size_t n)
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *t;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "session_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	t = proto_map_get(rep.result, "token");
	assert_non_null(t);
	assert_true(t->type == MSGPACK_OBJECT_STR && t->via.str.size < n);
	memcpy(out, t->via.str.ptr, t->via.str.size);
	out[t->via.str.size] = '\0';
	proto_reply_free(&rep);
}

/* token_validate's code for a token (session, access token...). */
static int
validate(const struct th_daemon *d, const char *token)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "token", token);
	rc = th_call_code(d->sock, "token_validate", &m);
	proto_msg_free(&m);
	return rc;
}

/* client_verify's code for an id and a secret. */
static int
client_verify(const struct th_daemon *d, const char *id, const char *secret)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "client_id", id);
	proto_kv_str(&m, "client_secret", secret);
	rc = th_call_code(d->sock, "client_verify", &m);
	proto_msg_free(&m);
	return rc;
}

#define assert_show(out, label, want) do {				\
	char *v_ = th_show_val((out), (label));				\
	if (v_ == NULL)							\
		fail_msg("no line '%s' in:\n%s", (label), (out));	\
	assert_string_equal(v_, (want));				\
} while (0)

/* The first line of s with each run of spaces made one (kept). */
static char *
header(const char *s)
{
	char *h = th_keep(strndup(s, strcspn(s, "\n"))), *o = h;

	assert_non_null(h);
	for (const char *p = h; *p != '\0'; p++)
		if (*p != ' ' || o == h || o[-1] != ' ')
			*o++ = *p;
	*o = '\0';
	return h;
}

#define starts_with(s, lit)	(strncmp((s), (lit), strlen(lit)) == 0)

/* ---- mail: a daemon whose sendmail is tee into DIR/mail.txt ---- */

static void
up_with_mail(struct th_daemon *d)
{
	char extra[512];

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(extra, sizeof(extra),
	    "sendmail_command = /usr/bin/tee %s/mail.txt\n"
	    "mail_from = acctd@example.org\n"
	    "reset_url = https://example.org/reset?t={token}\n"
	    "activation_url = https://example.org/activate?t={token}\n",
	    d->dir);
	assert_int_equal(th_write_config(d, extra), 0);
	assert_int_equal(th_start(d), 0);
}

/*
 * The token of the newest mail, once it differs from prev (the token
 * of the mail before, "" for none); its subject must contain subject.
 */
static void
mailed_token(const struct th_daemon *d, const char *prev, const char *subject,
    char out[128])
{
	char path[200], buf[8192];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	snprintf(path, sizeof(path), "%s/mail.txt", d->dir);
	for (int ms = 0; ms < TH_WAIT_MS; ms += 20) {
		FILE *f = fopen(path, "r");
		size_t n = 0;
		const char *p;

		if (f != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
		}
		buf[n] = '\0';
		/* The link: ...?t=ID_SECRET */
		if ((p = strstr(buf, "?t=")) != NULL &&
		    strlen(p + 3) >= 81 && strncmp(p + 3, prev, 81) != 0 &&
		    strchr(buf, '\n') != NULL && th_contains(buf, subject)) {
			memcpy(out, p + 3, 81);
			out[81] = '\0';
			return;
		}
		nanosleep(&ts, NULL);
	}
	fail_msg("no new mail '%s' in %s:\n%s", subject, path, buf);
}

/* ---- tests ---- */

static void
test_help(void **state)
{
	static const char *const cmds[][2] = {
		{ "audit", "logins" }, { "audit", "reset" },
		{ "auth", "test" }, { "auth", "ls" }, { "auth", "add" },
		{ "auth", "show" }, { "auth", "rm" }, { "auth", "reset" },
		{ "clients", "add" }, { "clients", "ls" },
		{ "clients", "show" }, { "clients", "rm" },
		{ "users", "reset-password" },
	};
	static const struct {
		const char	*cmd[2];
		const char	*flag;
	} flags[] = {
		{ { "audit", "logins" }, "--md" },
		{ { "audit", "logins" }, "--csv" },
		{ { "audit", "logins" }, "--tsv" },
		{ { "audit", "logins" }, "-n" },
		{ { "audit", "reset" }, "--yes" },
		{ { "auth", "test" }, "--password-stdin" },
		{ { "auth", "test" }, "--service" },
		{ { "auth", "ls" }, "--type" },
		{ { "auth", "ls" }, "--csv" },
		{ { "auth", "add" }, "--scope" },
		{ { "auth", "add" }, "--expires" },
		{ { "auth", "add" }, "--name" },
		{ { "clients", "add" }, "--expires" },
		{ { "users", "mod" }, "--unlock" },
		{ { "users", "add" }, "--activate" },
		{ { "users", "ls" }, "--md" },
		{ { "passwd", NULL }, "--forgot" },
		{ { "passwd", NULL }, "--token" },
		{ { "passwd", NULL }, "--session" },
	};
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		TH_RUN(d, NULL, 0, cmds[i][0], cmds[i][1], "--help");
		assert_true(th_contains(r.out, "usage"));
		assert_true(th_contains(r.out, cmds[i][1]));
		assert_string_equal(r.err, "");
		TH_RUN(d, NULL, 0, "help", cmds[i][0], cmds[i][1]);
		assert_true(th_contains(r.out, cmds[i][1]));
	}
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (flags[i].cmd[1] == NULL)
			TH_RUN(d, NULL, 0, flags[i].cmd[0], "--help");
		else
			TH_RUN(d, NULL, 0, flags[i].cmd[0], flags[i].cmd[1],
			    "--help");
		if (!th_contains(r.out, flags[i].flag))
			fail_msg("%s %s --help does not name %s",
			    flags[i].cmd[0], flags[i].cmd[1], flags[i].flag);
	}
	/* `acctc help` lists every command. */
	TH_RUN(d, NULL, 0, "help");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "  %s %s", cmds[i][0],
		    cmds[i][1]);
		assert_true(th_contains(r.out, line));
	}
	/* A group's commands. */
	TH_RUN(d, NULL, 0, "auth", "--help");
	assert_true(th_contains(r.out, "auth rm"));
	TH_RUN(d, NULL, 2, "clients");
	assert_true(th_contains(r.err, "clients ls"));
	th_result_free(&r);
}

static void
test_usage_errors(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *before, *after;

	assert_int_equal(th_add_user(d->sock, "alice", "alice-password"),
	    ACCT_OK);
	before = th_keep(th_db_dump(d));
	assert_non_null(before);
	TH_RUN(d, NULL, 2, "audit", "reset");
	assert_true(th_contains(r.err, "--yes"));
	TH_RUN(d, "yes\n", 2, "auth", "reset");
	assert_true(th_contains(r.err, "--yes"));
	TH_RUN(d, NULL, 2, "audit", "reset", "--yes", "extra");
	TH_RUN(d, NULL, 2, "audit", "logins", "-n", "many");
	TH_RUN(d, NULL, 2, "audit", "logins", "-n", "10001");
	TH_RUN(d, NULL, 2, "audit", "logins", "a", "b");
	TH_RUN(d, NULL, 2, "audit", "logins", "--md", "--csv");
	TH_RUN(d, NULL, 2, "--json", "audit", "logins", "--tsv");
	TH_RUN(d, NULL, 2, "users", "ls", "--csv", "--bogus");
	TH_RUN(d, NULL, 2, "auth", "ls", "--type", "bogus");
	TH_RUN(d, NULL, 2, "auth", "add");
	TH_RUN(d, NULL, 2, "auth", "add", "alice", "bob");
	TH_RUN(d, NULL, 2, "auth", "add", "--expires", "5x", "alice");
	TH_RUN(d, NULL, 2, "auth", "add", "-e", "", "alice");
	TH_RUN(d, NULL, 2, "auth", "add", "-e", "-1", "alice");
	TH_RUN(d, NULL, 2, "auth", "add", "-e", "1d2h", "alice");
	TH_RUN(d, NULL, 2, "auth", "add", "-e", "99999999999999999999", "alice");
	TH_RUN(d, NULL, 2, "auth", "show");
	TH_RUN(d, NULL, 2, "auth", "rm");
	TH_RUN(d, NULL, 2, "auth", "rm", "0123456789abcdef", "x");
	TH_RUN(d, NULL, 2, "clients", "add", "alice", "bob");
	TH_RUN(d, NULL, 2, "clients", "show");
	TH_RUN(d, NULL, 2, "clients", "rm");
	TH_RUN(d, NULL, 2, "clients", "ls", "--type", "session");
	TH_RUN(d, NULL, 2, "users", "reset-password");
	TH_RUN(d, NULL, 2, "users", "reset-password", "alice", "bob");
	/* A password to read and no terminal: say how. */
	TH_RUN(d, NULL, 2, "auth", "test", "alice");
	assert_true(th_contains(r.err, "--password-stdin"));
	TH_RUN(d, "x\n", 2, "auth", "test", "--password-stdin");
	TH_RUN(d, NULL, 2, "passwd", "--token", "0123456789abcdef_00");
	assert_true(th_contains(r.err, "--password-stdin"));
	TH_RUN(d, NULL, 2, "passwd", "--token", "abc", "alice");
	TH_RUN(d, NULL, 2, "passwd", "--token", "abc", "--rm");
	TH_RUN(d, NULL, 2, "passwd", "--token", "abc", "--session", "def");
	TH_RUN(d, NULL, 2, "passwd", "--forgot", "a@example.org", "alice");
	TH_RUN(d, NULL, 2, "passwd", "--forgot", "a@example.org", "--rm");
	TH_RUN(d, NULL, 2, "passwd", "--forgot");
	TH_RUN(d, NULL, 2, "passwd", "--session", "abc", "alice");
	/* The tokens of those lines are not repeated back. */
	TH_RUN(d, NULL, 2, "passwd", "--token", "Tok3n-Secret-77", "alice");
	th_assert_not_said("Tok3n-Secret-77");
	TH_RUN(d, NULL, 2, "auth", "rm", "Tok3n-Secret-78", "x");
	th_assert_not_said("Tok3n-Secret-78");
	/* None of it reached the database. */
	after = th_keep(th_db_dump(d));
	assert_non_null(after);
	assert_string_equal(before, after);
	th_result_free(&r);
}

static void
test_unreachable(void **state)
{
	static const char *const cmds[][6] = {
		{ "audit", "logins", NULL },
		{ "audit", "reset", "--yes", NULL },
		{ "auth", "ls", NULL },
		{ "auth", "add", "alice", NULL },
		{ "auth", "show", "0123456789abcdef", NULL },
		{ "auth", "rm", "0123456789abcdef", NULL },
		{ "auth", "reset", "--yes", NULL },
		{ "clients", "add", NULL },
		{ "clients", "ls", NULL },
		{ "clients", "rm", "0123456789abcdef", NULL },
		{ "users", "reset-password", "alice", NULL },
		{ "passwd", "--forgot", "a@example.org", NULL },
		{ "auth", "test", "--password-stdin", "alice", NULL },
		{ "passwd", "--token", "-", "--password-stdin", NULL },
	};
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char path[200];

	snprintf(path, sizeof(path), "%s/no-such-dir/sock", d->dir);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(th_acctc_v(path, NULL, "tok\npassword-1\n",
		    cmds[i], &r), 3);
		assert_true(th_contains(r.err, path));
		th_result_free(&r);
	}
}

static void
test_audit_logins(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *rows;

	TH_RUN(d, NULL, 0, "audit", "logins");	/* empty is fine */
	assert_int_equal(th_add_user(d->sock, "alice", "Alice-Pass-1"),
	    ACCT_OK);
	TH_RUN(d, "Alice-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "--service", "webdav", "alice");
	TH_RUN(d, "Wrong-Pass-1\n", 1, "auth", "test", "--password-stdin",
	    "--service", "webdav", "alice");
	/* Names with every separator, as an attacker would send them. */
	TH_RUN(d, "Wrong-Pass-2\n", 1, "auth", "test", "--password-stdin",
	    "--service", "imap;x", "semi;colon\"quote");
	TH_RUN(d, "Wrong-Pass-3\n", 1, "auth", "test", "--password-stdin",
	    "pipe|star*_<b>`x`");
	TH_RUN(d, "Wrong-Pass-4\n", 1, "auth", "test", "--password-stdin",
	    "rtl\xe2\x80\xaeX");

	/* The table: PhotoPrism's columns, newest first. */
	TH_RUN(d, NULL, 0, "audit", "logins");
	assert_string_equal(header(r.out), "Client Username Realm Status "
	    "Last Login Failed At");
	assert_true(starts_with(r.out + strcspn(r.out, "\n") + 1, "------"));
	assert_true(th_contains(r.out, "\nuid "));
	assert_true(th_contains(r.out, " (acctc)  "));
	assert_true(th_contains(r.out, "webdav"));
	assert_true(th_contains(r.out, "FAILED"));
	assert_true(strstr(r.out, "rtl") < strstr(r.out, "alice"));
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	assert_true(th_contains(r.out, "rtl?X"));
	for (int i = 1; i <= 4; i++) {
		char pw[32];

		snprintf(pw, sizeof(pw), "Pass-%d", i);
		th_assert_not_said(pw);
	}
	/* -n and USERNAME. */
	TH_RUN(d, NULL, 0, "audit", "logins", "-n", "1");
	assert_int_equal(th_count(r.out, "\n"), 3);
	assert_true(th_contains(r.out, "rtl"));
	TH_RUN(d, NULL, 0, "audit", "logins", "alice");
	assert_int_equal(th_count(r.out, "\n"), 3);	/* one row per realm */
	assert_true(th_contains(r.out, "webdav  FAILED"));
	assert_false(th_contains(r.out, "semi"));

	/* CSV: quoted where needed, quotes doubled; Python reads it back. */
	TH_RUN(d, NULL, 0, "audit", "logins", "--csv");
	assert_true(starts_with(r.out, "Client;Username;Realm;Status;"
	    "Last Login;Failed At\n"));
	assert_true(th_contains(r.out, ";\"semi;colon\"\"quote\";"
	    "\"imap;x\";FAILED;;"));
	assert_true(th_contains(r.out, ";pipe|star*_<b>`x`;;FAILED;;"));
	rows = csv_rows(r.out);
	assert_true(th_contains(rows, "|semi;colon\"quote|imap;x|FAILED||"));
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	TH_RUN(d, NULL, 0, "audit", "logins", "-c", "-n", "0");
	assert_string_equal(r.out, "Client;Username;Realm;Status;Last Login;"
	    "Failed At\n");

	/* TSV: tabs only between fields. */
	TH_RUN(d, NULL, 0, "audit", "logins", "--tsv");
	assert_true(starts_with(r.out, "Client\tUsername\tRealm\tStatus\t"
	    "Last Login\tFailed At\n"));
	assert_true(th_contains(r.out, "\tsemi;colon\"quote\timap;x\tFAILED"
	    "\t\t"));
	for (const char *l = r.out; *l != '\0'; l = strchr(l, '\n') + 1) {
		size_t len = strcspn(l, "\n");
		int tabs = 0;

		for (size_t i = 0; i < len; i++)
			tabs += l[i] == '\t';
		assert_int_equal(tabs, 5);
	}

	/* Markdown: a table whose markup in values is escaped. */
	TH_RUN(d, NULL, 0, "audit", "logins", "--md");
	assert_true(starts_with(r.out, "| Client "));
	assert_true(th_contains(r.out, " | Failed At               |\n|---"));
	assert_true(th_contains(r.out, "| pipe\\|star\\*\\_\\<b\\>\\`x\\` "));
	/* Four rows: alice's two attempts are one (client, name, realm). */
	assert_int_equal(th_count(r.out, "\n"), 2 + 4);

	/* --json */
	TH_RUN(d, NULL, 0, "--json", "audit", "logins", "-n", "2");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "len(d['logins'])"), "2");
	assert_string_equal(th_json_must(r.out, "d['logins'][0]['username']"),
	    "rtl\xe2\x80\xaeX");
	assert_string_equal(th_json_must(r.out, "d['logins'][1]['status']"),
	    "FAILED");

	/* audit reset */
	TH_RUN(d, NULL, 0, "audit", "reset", "--yes");
	assert_string_equal(r.out, "Removed 5 audit records.\n");
	TH_RUN(d, NULL, 0, "audit", "logins", "--csv");
	assert_int_equal(th_count(r.out, "\n"), 1);
	TH_RUN(d, NULL, 0, "--json", "audit", "reset", "-y");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['removed']"), "0");

	/* USERNAME: that name in any case, and the account's attempts. */
	TH_RUN(d, NULL, 0, "users", "mod", "-m", "alice@example.org", "alice");
	TH_RUN(d, "Alice-Pass-1\n", 0, "auth", "test", "--password-stdin",
	    "ALICE@example.org");
	TH_RUN(d, "Wrong-Pass-5\n", 1, "auth", "test", "--password-stdin",
	    "Alice");
	TH_RUN(d, "Wrong-Pass-6\n", 1, "auth", "test", "--password-stdin",
	    "bob");
	TH_RUN(d, NULL, 0, "audit", "logins", "--csv", "alice");
	assert_int_equal(th_count(r.out, "\n"), 3);
	assert_true(th_contains(r.out, ";ALICE@example.org;;OK;"));
	assert_true(th_contains(r.out, ";Alice;;FAILED;;"));
	assert_false(th_contains(r.out, "bob"));
	th_result_free(&r);
}

static void
test_auth_test(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(th_add_user(d->sock, "bob", "Bob-Pass-1"), ACCT_OK);
	TH_RUN(d, "Bob-Pass-1\n", 0, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.out, "Password for bob is valid.\n");
	th_assert_not_said("Bob-Pass-1");
	TH_RUN(d, "Bob-Pass-1\r\n", 0, "auth", "test", "--password-stdin", "BOB");
	TH_RUN(d, "Bob-Pass-2\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "acctc: authentication failed\n");
	/* Unknown: the same answer. */
	TH_RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin", "carl");
	assert_string_equal(r.err, "acctc: authentication failed\n");
	TH_RUN(d, "", 1, "auth", "test", "--password-stdin", "bob");
	assert_true(th_contains(r.err, "no password"));
	TH_RUN(d, "Bob-Pass-1\n", 0, "--json", "auth", "test",
	    "--password-stdin", "--service", "imap", "bob");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['user']['username']"), "bob");
	th_assert_not_said("Bob-Pass-1");
	assert_false(th_contains(r.out, "argon2id$"));
	/* Login disabled: the same answer again. */
	TH_RUN(d, NULL, 0, "users", "mod", "--no-login", "bob");
	TH_RUN(d, "Bob-Pass-1\n", 1, "auth", "test", "--password-stdin", "bob");
	assert_string_equal(r.err, "acctc: authentication failed\n");
	/* A plain user may not test passwords. */
	if (th_is_root()) {
		TH_RUN_AS(d, &plain, "Bob-Pass-1\n", 1, "auth", "test",
		    "--password-stdin", "bob");
		assert_true(th_contains(r.err, "permission denied"));
	}
	th_result_free(&r);
}

static void
test_auth_tokens(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *tok1, *id1, *tok2, *id2, *tok3, *id3, *v;

	assert_int_equal(th_add_user(d->sock, "carol", "Carol-Pass-1"),
	    ACCT_OK);
	/* An access token: printed once, with the note. */
	TH_RUN(d, NULL, 0, "auth", "add", "--scope", "api metrics", "--expires",
	    "30d", "carol");
	tok1 = th_line_must(r.out, "Access token: ");
	assert_int_equal(strlen(tok1), 81);
	assert_int_equal(th_count(r.out, tok1), 1);
	assert_true(th_contains(r.out, "not be shown again"));
	id1 = th_keep(strndup(tok1, 16));
	assert_show(r.out, "ID", id1);
	assert_show(r.out, "Type", "access_token");
	assert_show(r.out, "Username", "carol");
	assert_show(r.out, "Scope", "api metrics");
	assert_show(r.out, "Last Used", "never");
	assert_int_equal(validate(d, tok1), ACCT_OK);

	/* An app password (--name), never expiring, as JSON. */
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "-n", "Sync;\"Phone\"", "-s",
	    "webdav", "-e", "never", "carol");
	assert_true(th_json_valid(r.out));
	tok2 = th_json_must(r.out, "d['token']");
	id2 = th_json_must(r.out, "d['info']['id']");
	assert_true(strncmp(tok2, id2, 16) == 0);
	assert_string_equal(th_json_must(r.out, "d['info']['type']"),
	    "app_password");
	assert_string_equal(th_json_must(r.out, "d['info']['expires_at']"),
	    "null");
	assert_false(th_contains(r.out, tok1));
	/* It logs in like the password, for its scope. */
	TH_RUN(d, tok2, 0, "auth", "test", "--password-stdin", "--service",
	    "webdav", "carol");
	TH_RUN(d, tok2, 1, "auth", "test", "--password-stdin", "--service",
	    "imap", "carol");
	th_assert_not_said(tok2);

	/* Units of --expires. */
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "-e", "12h", "carol");
	tok3 = th_json_must(r.out, "d['token']");
	id3 = th_json_must(r.out, "d['info']['id']");
	assert_string_equal(th_json_must(r.out, "d['info']['expires_at'] - "
	    "d['info']['created_at']"), "43200");
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "-e", "2w", "carol");
	assert_string_equal(th_json_must(r.out, "d['info']['expires_at'] - "
	    "d['info']['created_at']"), "1209600");
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "-e", "90", "carol");
	assert_string_equal(th_json_must(r.out, "d['info']['expires_at'] - "
	    "d['info']['created_at']"), "90");
	/* Refusals. */
	TH_RUN(d, NULL, 1, "auth", "add", "ghost");
	TH_RUN(d, NULL, 1, "auth", "add", "--name", "", "carol");
	TH_RUN(d, NULL, 1, "auth", "add", "-e", "1000w", "carol");
	assert_true(th_contains(r.err, "lifetime"));

	/* ls: the columns, the filters, no secret. */
	TH_RUN(d, NULL, 0, "auth", "ls");
	assert_string_equal(header(r.out), "ID Type Username Name Scope "
	    "Created At Expires At Last Used");
	assert_true(th_contains(r.out, id1));
	assert_true(th_contains(r.out, id2));
	assert_true(th_contains(r.out, "app_password"));
	th_assert_not_said(tok1 + 17);
	th_assert_not_said(tok2 + 17);
	TH_RUN(d, NULL, 0, "auth", "ls", "--type", "app_password");
	assert_false(th_contains(r.out, id1));
	assert_true(th_contains(r.out, id2));
	TH_RUN(d, NULL, 0, "auth", "ls", "Sync");
	assert_false(th_contains(r.out, id1));
	assert_true(th_contains(r.out, id2));
	TH_RUN(d, NULL, 0, "auth", "ls", "-n", "1", "--csv");
	assert_int_equal(th_count(r.out, "\n"), 2);
	TH_RUN(d, NULL, 0, "auth", "ls", "--csv", "--type", "app_password");
	assert_true(starts_with(r.out, "ID;Type;Username;Name;Scope;"
	    "Created At;Expires At;Last Used\n"));
	assert_true(th_contains(r.out,
	    ";carol;\"Sync;\"\"Phone\"\"\";webdav;"));
	TH_RUN(d, NULL, 0, "--json", "auth", "ls");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "len(d['tokens'])"), "5");
	th_assert_not_said(tok1 + 17);
	th_assert_not_said(tok2 + 17);

	/* show */
	TH_RUN(d, NULL, 0, "auth", "show", id2);
	assert_show(r.out, "ID", id2);
	assert_show(r.out, "Type", "app_password");
	assert_show(r.out, "Name", "Sync;\"Phone\"");
	assert_show(r.out, "Expires At", "never");
	th_assert_not_said(tok2 + 17);
	TH_RUN(d, NULL, 0, "--json", "auth", "show", id1);
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['token']['scope']"),
	    "api metrics");
	assert_false(th_contains(r.out, tok1 + 17));
	TH_RUN(d, NULL, 1, "auth", "show", "0000000000000000");
	TH_RUN(d, NULL, 1, "auth", "show", "nonsense");

	/* rm by id, by the token itself, by "-": never echoed. */
	v = th_keep(strdup(id1));
	for (char *p = v; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	TH_RUN(d, NULL, 0, "auth", "rm", v);	/* any case */
	assert_true(th_contains(r.out, id1));
	assert_int_equal(validate(d, tok1), ACCT_ERR_INVALID_TOKEN);
	TH_RUN(d, NULL, 1, "auth", "rm", id1);
	TH_RUN(d, NULL, 0, "--json", "auth", "rm", tok3);
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['id']"), id3);
	th_assert_not_said(tok3 + 17);
	assert_int_equal(validate(d, tok3), ACCT_ERR_INVALID_TOKEN);
	{
		char in[128];

		char want[64];

		snprintf(in, sizeof(in), "%s\n", tok2);
		TH_RUN(d, in, 0, "auth", "rm", "-");
		th_assert_not_said(tok2 + 17);
		snprintf(want, sizeof(want), "Revoked %s.\n", id2);
		assert_string_equal(r.out, want);
	}
	th_result_free(&r);
}

static void
test_auth_rm_and_reset(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char sess[128], other[128], in[160];

	assert_int_equal(th_add_user(d->sock, "dave", "Dave-Pass-1"), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "erin", "Erin-Pass-1"), ACCT_OK);
	session(d, "dave", sess, sizeof(sess));
	session(d, "erin", other, sizeof(other));
	/* A session appears in ls; rm - reads the token from stdin. */
	TH_RUN(d, NULL, 0, "auth", "ls", "--type", "session", "dave");
	assert_true(th_contains(r.out, "session"));
	assert_true(starts_with(r.out + strcspn(r.out, "\n") + 1, "----"));
	snprintf(in, sizeof(in), "%s\r\n", sess);
	TH_RUN(d, in, 0, "auth", "rm", "-");
	th_assert_not_said(sess + 17);
	assert_int_equal(validate(d, sess), ACCT_ERR_INVALID_TOKEN);
	/* Wrong and malformed tokens. */
	TH_RUN(d, in, 1, "auth", "rm", "-");
	th_assert_not_said(sess + 17);
	TH_RUN(d, "", 1, "auth", "rm", "-");
	assert_true(th_contains(r.err, "no token"));
	TH_RUN(d, NULL, 1, "auth", "rm", "0123456789abcdef_0000");
	th_assert_not_said("0123456789abcdef_0000");

	/* A plain user lists and revokes the own only (root only). */
	if (th_is_root()) {
		char mine[128];

		assert_int_equal(th_add_user(d->sock, "nobody",
		    "Nobody-Pass-1"), ACCT_OK);
		session(d, "nobody", mine, sizeof(mine));
		TH_RUN_AS(d, &plain, NULL, 0, "auth", "ls");
		assert_true(th_contains(r.out, "nobody"));
		assert_false(th_contains(r.out, "erin"));
		snprintf(in, sizeof(in), "%.16s", other);
		TH_RUN_AS(d, &plain, NULL, 1, "auth", "rm", in);
		assert_int_equal(validate(d, other), ACCT_OK);
		TH_RUN_AS(d, &plain, NULL, 1, "auth", "show", in);
		snprintf(in, sizeof(in), "%s\n", mine);
		TH_RUN_AS(d, &plain, in, 0, "auth", "rm", "-");
		assert_int_equal(validate(d, mine), ACCT_ERR_INVALID_TOKEN);
		TH_RUN_AS(d, &plain, NULL, 1, "auth", "reset", "--yes");
		TH_RUN_AS(d, &plain, NULL, 1, "auth", "add", "nobody");
	}

	/* reset */
	TH_RUN(d, NULL, 2, "auth", "reset");
	assert_int_equal(validate(d, other), ACCT_OK);
	TH_RUN(d, NULL, 0, "auth", "reset", "--yes");
	assert_string_equal(r.out, "Revoked 1 sessions and tokens.\n");
	assert_int_equal(validate(d, other), ACCT_ERR_INVALID_TOKEN);
	TH_RUN(d, NULL, 0, "--json", "auth", "reset", "--yes");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['removed']"), "0");
	th_result_free(&r);
}

static void
test_clients(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *id, *secret, *id2, *tok2, *acc;

	assert_int_equal(th_add_user(d->sock, "frank", "Frank-Pass-1"),
	    ACCT_OK);
	TH_RUN(d, NULL, 0, "clients", "add", "--name", "Backup Bot", "--scope",
	    "metrics", "--expires", "1w");
	id = th_line_must(r.out, "Client ID: ");
	secret = th_line_must(r.out, "Client Secret: ");
	assert_int_equal(strlen(id), 16);
	assert_int_equal(strlen(secret), 64);
	assert_int_equal(th_count(r.out, secret), 1);
	assert_true(th_contains(r.out, "not be shown again"));
	assert_show(r.out, "Type", "client");
	assert_show(r.out, "Name", "Backup Bot");
	assert_int_equal(client_verify(d, id, secret), ACCT_OK);
	/* For an account, as JSON: the token is ID_SECRET. */
	TH_RUN(d, NULL, 0, "--json", "clients", "add", "-n", "app", "frank");
	assert_true(th_json_valid(r.out));
	id2 = th_json_must(r.out, "d['info']['id']");
	tok2 = th_json_must(r.out, "d['token']");
	assert_string_equal(th_json_must(r.out, "d['info']['username']"),
	    "frank");
	assert_int_equal(client_verify(d, id2, tok2 + 17), ACCT_OK);
	assert_false(th_contains(r.out, secret));
	TH_RUN(d, NULL, 1, "clients", "add", "ghost");

	/* Only clients are listed, shown and removed here. */
	TH_RUN(d, NULL, 0, "--json", "auth", "add", "frank");
	acc = th_json_must(r.out, "d['info']['id']");
	TH_RUN(d, NULL, 0, "clients", "ls");
	assert_string_equal(header(r.out), "ID Name Username Scope Created At "
	    "Expires At Last Used");
	assert_true(th_contains(r.out, id));
	assert_true(th_contains(r.out, id2));
	assert_false(th_contains(r.out, acc));
	th_assert_not_said(secret);
	th_assert_not_said(tok2 + 17);
	TH_RUN(d, NULL, 0, "clients", "ls", "Backup", "--md");
	assert_true(th_contains(r.out, "| Backup Bot |"));
	assert_false(th_contains(r.out, id2));
	TH_RUN(d, NULL, 0, "--json", "clients", "ls");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "sorted(set(t['type'] for t in "
	    "d['tokens']))"), "['client']");
	TH_RUN(d, NULL, 0, "clients", "show", id);
	assert_show(r.out, "ID", id);
	assert_show(r.out, "Scope", "metrics");
	th_assert_not_said(secret);
	TH_RUN(d, NULL, 0, "--json", "clients", "show", id);
	assert_true(th_json_valid(r.out));
	TH_RUN(d, NULL, 1, "clients", "show", acc);
	assert_string_equal(r.err, "acctc: no such client\n");
	TH_RUN(d, NULL, 1, "clients", "rm", acc);
	TH_RUN(d, NULL, 0, "auth", "show", acc);	/* still there */
	TH_RUN(d, NULL, 0, "clients", "rm", id);
	assert_true(th_contains(r.out, id));
	assert_int_equal(client_verify(d, id, secret),
	    ACCT_ERR_INVALID_TOKEN);
	TH_RUN(d, NULL, 1, "clients", "rm", id);
	TH_RUN(d, NULL, 0, "--json", "clients", "rm", id2);
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['id']"), id2);
	th_result_free(&r);
}

static void
test_users_mod_unlock_password(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char sess[128], *log;
	size_t off;

	assert_int_equal(th_add_user(d->sock, "gina", "Gina-Pass-1"),
	    ACCT_OK);
	/* Five failures lock the account (lockout_failures default). */
	for (int i = 0; i < 5; i++)
		TH_RUN(d, "Gina-Wrong-1\n", 1, "auth", "test", "--password-stdin",
		    "gina");
	assert_int_equal(th_account_int(d, "gina", "failed_logins"), 5);
	TH_RUN(d, "Gina-Pass-1\n", 1, "auth", "test", "--password-stdin", "gina");
	TH_RUN(d, NULL, 0, "audit", "logins", "-n", "1", "--tsv");
	assert_true(th_contains(r.out, "\tgina\t\tLOCKED\t"));
	TH_RUN(d, NULL, 0, "users", "mod", "--unlock", "gina");
	assert_true(starts_with(r.out, "Account gina updated.\nCleared 5 failed "
	    "logins.\nCleared the lock until "));
	assert_int_equal(th_account_int(d, "gina", "failed_logins"), 0);
	TH_RUN(d, "Gina-Pass-1\n", 0, "auth", "test", "--password-stdin", "gina");
	TH_RUN(d, NULL, 0, "--json", "users", "mod", "--unlock", "gina");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['user']['locked_until']"),
	    "null");

	/* -p: one user_mod, which ends the sessions; no passwd request. */
	session(d, "gina", sess, sizeof(sess));
	off = th_log_size(d);
	TH_RUN(d, NULL, 0, "users", "mod", "-p", "Gina-Pass-2", "gina");
	th_assert_not_said("Gina-Pass-2");
	assert_true(th_password_is(d, "gina", "Gina-Pass-2"));
	assert_int_equal(validate(d, sess), ACCT_ERR_INVALID_TOKEN);
	log = th_keep(th_read_log(d));
	assert_non_null(log);
	/* What acctd logs for a passwd request (the old workaround). */
	assert_false(th_contains(log + off, "changed password of gina"));
	assert_true(th_contains(log + off, "modified account gina"));
	assert_false(th_contains(log, "Gina-Pass-2"));
	TH_RUN(d, "Gina-Pass-3\n", 0, "--json", "users", "mod",
	    "--password-stdin", "-n", "Gina G", "gina");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['user']['name']"), "Gina G");
	th_assert_not_said("Gina-Pass-3");
	assert_true(th_password_is(d, "gina", "Gina-Pass-3"));
	/* A refused password changes nothing. */
	TH_RUN(d, NULL, 1, "users", "mod", "-p", "short", "-n", "Other", "gina");
	assert_true(th_contains(r.err, "password"));
	assert_true(th_password_is(d, "gina", "Gina-Pass-3"));
	TH_RUN(d, NULL, 0, "--json", "users", "show", "gina");
	assert_string_equal(th_json_must(r.out, "d['user']['name']"), "Gina G");
	TH_RUN(d, NULL, 1, "users", "mod", "--unlock", "ghost");
	th_result_free(&r);
}

/* users ls in the list formats: the separators of names escaped. */
static void
test_users_ls_formats(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *rows;

	TH_RUN(d, NULL, 0, "users", "add", "-n", "Semi;colon \"Q\" |pipe|",
	    "-m", "hank@example.org", "hank");
	TH_RUN(d, NULL, 0, "users", "ls", "--csv");
	assert_true(starts_with(r.out, "Username;Status;Name;Email;Role;Auth;"
	    "Super Admin;Login;WebDAV;Created At\n"));
	assert_true(th_contains(r.out, "\nhank;active;\"Semi;colon \"\"Q\"\" "
	    "|pipe|\";hank@example.org;user;default;no;enabled;disabled;"));
	rows = csv_rows(r.out);
	assert_true(th_contains(rows, "hank|active|Semi;colon \"Q\" |pipe||"
	    "hank@example.org|"));
	TH_RUN(d, NULL, 0, "users", "ls", "-t");
	assert_true(th_contains(r.out, "\nhank\tactive\tSemi;colon \"Q\" "
	    "|pipe|\thank@example.org\t"));
	TH_RUN(d, NULL, 0, "users", "ls", "-m");
	assert_true(th_contains(r.out, "| hank     | active | Semi;colon \"Q\" "
	    "\\|pipe\\| | hank@example.org |"));
	TH_RUN(d, NULL, 0, "users", "ls", "--md", "zzz");
	assert_int_equal(th_count(r.out, "\n"), 2);
	/* The table is unchanged. */
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_true(starts_with(r.out, "Username  Status  Name"));
	th_result_free(&r);
}

/* Mail: activation, reset by an admin, forgot, confirming a token. */
static void
test_mail_flows(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char tok[128], prev[128], in[256];
	char *log;

	up_with_mail(d);
	/* --activate needs an address; nothing is created without. */
	TH_RUN(d, NULL, 1, "users", "add", "--activate", "ivy");
	assert_true(th_contains(r.err, "email"));
	assert_false(th_user_exists(d->sock, "ivy"));
	TH_RUN(d, NULL, 0, "users", "add", "--activate", "-m", "ivy@example.org",
	    "ivy");
	assert_string_equal(r.out, "Account ivy created.\n"
	    "Activation link sent to ivy@example.org.\n");
	mailed_token(d, "", "Activate", tok);
	assert_int_equal(th_account_int(d, "ivy", "activated"), 0);
	TH_RUN(d, "Ivy-Pass-0\n", 1, "auth", "test", "--password-stdin", "ivy");

	/* The activation link again; the first stays good until one of
	 * them is used. */
	TH_RUN(d, NULL, 0, "users", "reset-password", "ivy");
	assert_string_equal(r.out, "Activation link sent to "
	    "ivy@example.org.\n");
	strcpy(prev, tok);
	mailed_token(d, prev, "Activate", tok);
	/* A refused password leaves the token valid. */
	snprintf(in, sizeof(in), "%s\nshort\n", tok);
	TH_RUN(d, in, 1, "passwd", "--token", "-", "--password-stdin");
	snprintf(in, sizeof(in), "%s\nIvy-Pass-1\n", tok);
	TH_RUN(d, in, 0, "passwd", "--token", "-", "--password-stdin");
	assert_string_equal(r.out, "Account ivy activated.\n");
	th_assert_not_said(tok + 17);
	th_assert_not_said("Ivy-Pass-1");
	/* Setting the password ended the other link. */
	snprintf(in, sizeof(in), "%s\nIvy-Pass-9\n", prev);
	TH_RUN(d, in, 1, "passwd", "--token", "-", "--password-stdin");
	assert_true(th_contains(r.err, "invalid or expired token"));
	th_assert_not_said(prev + 17);
	assert_true(th_password_is(d, "ivy", "Ivy-Pass-1"));
	TH_RUN(d, in, 1, "passwd", "--token", "-", "--password-stdin");

	/* An admin's reset; the token as an argument, --json. */
	TH_RUN(d, NULL, 0, "--json", "users", "reset-password", "ivy");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['email']"), "ivy@example.org");
	assert_string_equal(th_json_must(r.out, "d['activation']"), "False");
	strcpy(prev, tok);
	mailed_token(d, prev, "Reset", tok);
	TH_RUN(d, "Ivy-Pass-2\n", 0, "--json", "passwd", "--token", tok,
	    "--password-stdin");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['username']"), "ivy");
	assert_string_equal(th_json_must(r.out, "d['activated']"), "False");
	th_assert_not_said(tok + 17);
	assert_true(th_password_is(d, "ivy", "Ivy-Pass-2"));

	/* forgot: the same answer for a known and an unknown address. */
	TH_RUN(d, NULL, 0, "users", "reset-password", "ivy");
	assert_string_equal(r.out, "Reset link sent to ivy@example.org.\n");
	strcpy(prev, tok);
	mailed_token(d, prev, "Reset", tok);
	TH_RUN(d, NULL, 0, "passwd", "--forgot", "ivy@example.org");
	assert_string_equal(r.out, "If ivy@example.org belongs to an active "
	    "account, a reset link has been sent.\n");
	strcpy(prev, tok);
	mailed_token(d, prev, "Reset", tok);
	TH_RUN(d, NULL, 0, "passwd", "--forgot", "nobody-here@example.org");
	assert_string_equal(r.out, "If nobody-here@example.org belongs to an "
	    "active account, a reset link has been sent.\n");
	TH_RUN(d, NULL, 0, "--json", "passwd", "--forgot", "x@example.org");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['accepted']"), "True");
	TH_RUN(d, NULL, 1, "passwd", "--forgot", "not-an-address");
	snprintf(in, sizeof(in), "%s\nIvy-Pass-3\n", tok);
	TH_RUN(d, in, 0, "passwd", "--token", "-", "--password-stdin");
	assert_string_equal(r.out, "Password set for ivy.\n");
	assert_true(th_password_is(d, "ivy", "Ivy-Pass-3"));

	/* Refusals. */
	TH_RUN(d, NULL, 0, "users", "add", "jack");
	TH_RUN(d, NULL, 1, "users", "reset-password", "jack");
	assert_true(th_contains(r.err, "email"));
	TH_RUN(d, NULL, 1, "users", "reset-password", "ghost");
	TH_RUN(d, "Jack-Pass-1\n", 1, "passwd", "--token",
	    "0123456789abcdef_0123456789abcdef0123456789abcdef"
	    "0123456789abcdef", "--password-stdin");
	if (th_is_root()) {
		TH_RUN_AS(d, &plain, NULL, 1, "passwd", "--forgot",
		    "ivy@example.org");
		TH_RUN_AS(d, &plain, NULL, 1, "users", "reset-password", "ivy");
	}
	/* No secret in the daemon's log either. */
	log = th_keep(th_read_log(d));
	assert_non_null(log);
	for (int i = 0; i <= 3; i++) {
		char pw[32];

		snprintf(pw, sizeof(pw), "Ivy-Pass-%d", i);
		assert_false(th_contains(log, pw));
	}
	th_result_free(&r);
}

/*
 * A mail queue that is full: the account is made all the same, and
 * acctc says the link was not sent and how to send it, exit 1. Nobody
 * waits for the mailer here (mail_wait = 0), so a link that is queued
 * is said to be.
 */
static void
test_activation_not_mailed(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	int sent = 0, unsent = 0;

	assert_int_equal(th_up(d, "sendmail_command = /usr/bin/sleep 2\n"
	    "mail_queue = 1\nmail_wait = 0\n"
	    "mail_from = acctd@example.org\n"
	    "activation_url = https://example.org/a?t={token}\n"), 0);
	for (int i = 0; i < 4; i++) {
		char name[16], mail[64];

		snprintf(name, sizeof(name), "pat%d", i);
		snprintf(mail, sizeof(mail), "%s@example.org", name);
		th_result_free(&r);
		th_acctc(d, NULL, &r, "users", "add", "--activate", "-m", mail,
		    name, (char *)NULL);
		assert_true(th_user_exists(d->sock, name));
		assert_true(starts_with(r.out, "Account pat"));
		if (th_contains(r.out, "Activation link queued for pat")) {
			assert_int_equal(r.status, 0);
			assert_true(th_contains(r.err, "'acctc audit events "
			    "pat"));
			sent++;
		} else {
			assert_int_equal(r.status, 1);
			assert_true(th_contains(r.err, "not sent"));
			assert_true(th_contains(r.err, "queue is full"));
			assert_true(th_contains(r.err,
			    "acctc users reset-password pat"));
			unsent++;
		}
	}
	assert_true(sent >= 1);
	assert_true(unsent >= 1);
	th_result_free(&r);
}

/* Without mail in the configuration the mail commands say so. */
static void
test_mail_not_configured(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "add", "-m", "kim@example.org", "kim");
	TH_RUN(d, NULL, 1, "users", "reset-password", "kim");
	assert_true(th_contains(r.err, "not configured"));
	TH_RUN(d, NULL, 1, "users", "add", "--activate", "-m",
	    "lee@example.org", "lee");
	assert_true(th_contains(r.err, "not configured"));
	assert_false(th_user_exists(d->sock, "lee"));
	/* forgot says so too, for any address alike: no promise of a
	 * mail that never leaves. */
	TH_RUN(d, NULL, 1, "passwd", "--forgot", "kim@example.org");
	assert_true(th_contains(r.err, "not configured"));
	TH_RUN(d, NULL, 1, "passwd", "--forgot", "nobody@example.org");
	assert_true(th_contains(r.err, "not configured"));
	th_result_free(&r);
}

/* passwd --session: an SSO account proves itself with a session. */
static void
test_passwd_session(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char sess[128], other[128], in[256];

	if (!th_is_root())
		skip();
	TH_RUN(d, NULL, 0, "users", "add", "-A", "oidc", "nobody");
	assert_int_equal(th_add_user(d->sock, "mona", "Mona-Pass-1"), ACCT_OK);
	session(d, "nobody", sess, sizeof(sess));
	session(d, "mona", other, sizeof(other));
	/* Another account's session is no proof. */
	TH_RUN_AS(d, &plain, "Nobody-Pass-1\n", 1, "passwd", "--session", other,
	    "--password-stdin");
	assert_true(th_contains(r.err, "authentication failed"));
	th_assert_not_said(other + 17);
	/* Nor is a garbled one. */
	TH_RUN_AS(d, &plain, "x\nNobody-Pass-1\n", 1, "passwd", "--session", "-",
	    "--password-stdin");
	/* The own: from stdin, then the new password. */
	snprintf(in, sizeof(in), "%s\nNobody-Pass-1\n", sess);
	TH_RUN_AS(d, &plain, in, 0, "passwd", "--session", "-",
	    "--password-stdin");
	assert_string_equal(r.out, "Password of nobody changed.\n");
	th_assert_not_said(sess + 17);
	th_assert_not_said("Nobody-Pass-1");
	assert_true(th_password_is(d, "nobody", "Nobody-Pass-1"));
	/* The change ended that session. */
	assert_int_equal(validate(d, sess), ACCT_ERR_INVALID_TOKEN);
	/* Now that it has a password, a session no longer changes it:
	 * only the current password does. */
	session(d, "nobody", sess, sizeof(sess));
	TH_RUN_AS(d, &plain, "Nobody-Pass-2\n", 1, "passwd", "--session", sess,
	    "--password-stdin", "nobody");
	assert_true(th_contains(r.err, "without one (single sign-on)"));
	assert_true(th_password_is(d, "nobody", "Nobody-Pass-1"));
	/* As an argument, with --json, once it is an SSO account again. */
	TH_RUN(d, NULL, 0, "passwd", "--rm", "nobody");
	session(d, "nobody", sess, sizeof(sess));
	TH_RUN_AS(d, &plain, "Nobody-Pass-2\n", 0, "--json", "passwd",
	    "--session", sess, "--password-stdin", "nobody");
	assert_true(th_json_valid(r.out));
	assert_string_equal(th_json_must(r.out, "d['username']"), "nobody");
	th_assert_not_said(sess + 17);
	assert_true(th_password_is(d, "nobody", "Nobody-Pass-2"));
	/* Not for another account, whatever the token. */
	session(d, "nobody", sess, sizeof(sess));
	TH_RUN_AS(d, &plain, "Mona-Pass-2\n", 1, "passwd", "--session", sess,
	    "--password-stdin", "mona");
	assert_true(th_password_is(d, "mona", "Mona-Pass-1"));
	/* No terminal and no --password-stdin: usage. */
	snprintf(in, sizeof(in), "%s\n", sess);
	TH_RUN_AS(d, &plain, in, 2, "passwd", "--session", "-");
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)
#define L(f)	cmocka_unit_test_setup_teardown(f, th_setup_lazy, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help),
		T(test_usage_errors),
		T(test_unreachable),
		T(test_audit_logins),
		T(test_auth_test),
		T(test_auth_tokens),
		T(test_auth_rm_and_reset),
		T(test_clients),
		T(test_users_mod_unlock_password),
		T(test_users_ls_formats),
		L(test_mail_flows),
		L(test_activation_not_mailed),
		T(test_mail_not_configured),
		T(test_passwd_session),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("cli2", tests, NULL, NULL);
}
