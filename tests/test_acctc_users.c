/*
 * test_acctc_users.c: the real acctc against the real acctd: every users
 * command and flag, passwd, --json, --help, exit status 0/1/2/3, safe
 * output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_acctc_users: ACCTC_BIN is not set to the acctc "
		    "under test\n");
		return -1;
	}
	return th_setup(state);
}

/* The JSON checker of the harness refuses what it should. */
static void
self_test_json(void)
{
	assert_true(th_json_valid("{\"a\":[1,-2.5e3,true,false,null,"
	    "\"x\\u00e9\"]}\n"));
	/* Each on its one line, so that the parser, not the newline
	 * rule, refuses it. */
	assert_false(th_json_valid("{\"a\":1,}\n"));
	assert_false(th_json_valid("{\"a\":\"\x01\"}\n"));
	assert_false(th_json_valid("{\"a\":1}{\n"));
	assert_false(th_json_valid("{\"a\":\"\\x\"}\n"));
	assert_false(th_json_valid("{a:1}\n"));
	assert_false(th_json_valid("{\"a\":NaN}\n"));
	assert_false(th_json_valid("[1]\n"));
	assert_false(th_json_valid("{\"a\":1}\n{\"b\":2}\n"));
}

#define assert_show(out, label, want) do {				\
	char *v_ = th_show_val((out), (label));				\
	if (v_ == NULL)							\
		fail_msg("no line '%s' in:\n%s", (label), (out));	\
	assert_string_equal(v_, (want));				\
} while (0)

/* The account as the daemon has it, for checking what acctc did. */
static struct proto_reply *
show(const struct th_daemon *d, const char *user)
{
	static struct proto_reply rep;
	struct proto_msg m;

	proto_reply_free(&rep);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	return &rep;
}

static const msgpack_object *
user_of(const struct th_daemon *d, const char *user)
{
	return proto_map_get(show(d, user)->result, "user");
}

static char *
dump(const struct th_daemon *d)
{
	char *s = th_keep(th_db_dump(d));

	assert_non_null(s);
	return s;
}

/* ---- tests ---- */

static void
test_help_version(void **state)
{
	static const char *const cmds[][2] = {
		{ "hello", NULL }, { "users", "ls" }, { "users", "show" },
		{ "users", "add" }, { "users", "mod" }, { "users", "rm" },
		{ "users", "reset" }, { "passwd", NULL },
	};
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	self_test_json();
	TH_RUN(d, NULL, 0, "--version");
	assert_true(th_contains(r.out, "0.1.0"));
	TH_RUN(d, NULL, 0, "--help");
	assert_true(th_contains(r.out, "usage"));
	assert_true(th_contains(r.out, "users add"));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i][1] == NULL)
			TH_RUN(d, NULL, 0, cmds[i][0], "--help");
		else
			TH_RUN(d, NULL, 0, cmds[i][0], cmds[i][1], "--help");
		assert_true(th_contains(r.out, "usage"));
		assert_true(th_contains(r.out, cmds[i][0]));
		assert_string_equal(r.err, "");
	}
	/* The flags of the spec are documented where they are taken. */
	TH_RUN(d, NULL, 0, "users", "add", "--help");
	static const char *const flags[] = { "--name", "--email",
	    "--password", "--role", "--auth", "--auth-id", "--superadmin",
	    "--no-login", "--webdav", "--upload-path", "--restore",
	    "--no-restore" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_true(th_contains(r.out, flags[i]));
	TH_RUN(d, NULL, 0, "users", "mod", "--help");
	assert_true(th_contains(r.out, "--disable-2fa"));
	TH_RUN(d, NULL, 0, "passwd", "--help");
	assert_true(th_contains(r.out, "--rm"));
	assert_true(th_contains(r.out, "--password-stdin"));
	th_result_free(&r);
}

static bool
name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * The names of the commands `acctc --help` lists (th_keep'd, at most
 * max): the words of a line up to the first that is no name's, such as
 * USERNAME, [flags] or --yes.
 */
static int
command_names(char **names, int max)
{
	struct th_result r = { 0 };
	const char *l;
	int n = 0;

	assert_int_equal(th_acctc_v(NULL, NULL, NULL, (const char *const[]){
	    "--help", NULL }, &r), 0);
	assert_non_null(l = strstr(r.out, "\ncommands:\n"));
	for (l += 11; strncmp(l, "  ", 2) == 0 && n < max;
	    l += strcspn(l, "\n") + 1) {
		const char *p = l + 2, *e = p;

		/* Name words start with a lower-case letter or digit. */
		while (name_start(*e)) {
			e += strcspn(e, " \n");
			if (*e == ' ' && name_start(e[1]))
				e++;
		}
		names[n++] = th_keep(strndup(p, (size_t)(e - p)));
	}
	th_result_free(&r);
	return n;
}

/* Run acctc with the words of cmd, then more (NULL-terminated). */
static int
run_words(const char *cmd, const char *const *more, struct th_result *r)
{
	const char *args[16];
	char *copy = th_keep(strdup(cmd)), *save, *w;
	int n = 0;

	for (w = strtok_r(copy, " ", &save); w != NULL && n < 8;
	    w = strtok_r(NULL, " ", &save))
		args[n++] = w;
	for (; *more != NULL && n < 15; more++)
		args[n++] = *more;
	args[n] = NULL;
	return th_acctc_v(NULL, NULL, NULL, args, r);
}

/*
 * In the help of a command, each flag that takes a value says its
 * default, on its line or the lines under it; users mod says once that
 * a flag not given leaves its property as it is, and passwd's --forgot
 * and --token choose what it does, with nothing to default to.
 */
static void
assert_defaults_shown(const char *cmd, const char *help)
{
	for (const char *l = help; *l != '\0'; l += strcspn(l, "\n") +
	    (l[strcspn(l, "\n")] != '\0')) {
		const char *p = l + strspn(l, " "), *m, *end = l;
		char flag[64];

		if (*p != '-' || l == p)
			continue;
		/* "-n, --count LIMIT": the last flag of the line. */
		while ((m = strstr(p, ", -")) != NULL && m < l + strcspn(l,
		    "\n"))
			p = m + 2;
		snprintf(flag, sizeof(flag), "%.*s", (int)strcspn(p, " \n"), p);
		m = p + strlen(flag);
		if (*m != ' ' || m[1] < 'A' || m[1] > 'Z')
			continue;	/* no value */
		if (strcmp(cmd, "users mod") == 0 || (strcmp(cmd, "passwd") ==
		    0 && (strcmp(flag, "--forgot") == 0 ||
		    strcmp(flag, "--token") == 0)))
			continue;
		/* The block: this line and those indented under its text. */
		do
			end += strcspn(end, "\n") + 1;
		while (strncmp(end, "                           ", 27) == 0);
		if (!th_memmem(l, (size_t)(end - l), "default"))
			fail_msg("%s --help: %s says no default:\n%.*s", cmd,
			    flag, (int)(end - l), l);
	}
}

/*
 * Every command and every group of them (users, users 2fa, audit...)
 * answers --help, and help NAME, on stdout with exit 0: a command with
 * its usage, its flags and their defaults, and the flags all take; a
 * group with each of its commands and what it does.
 */
static void
test_help_everywhere(void **state)
{
	struct th_result r = { 0 };
	char *names[64], group[64], help[80];
	int n = command_names(names, 64), groups = 0;

	(void)state;
	assert_true(n >= 25);
	for (int i = 0; i < n; i++) {
		assert_int_equal(run_words(names[i], (const char *const[]){
		    "--help", NULL }, &r), 0);
		assert_string_equal(r.err, "");
		assert_true(strncmp(r.out, "usage: acctc ", 13) == 0);
		assert_true(th_contains(r.out, names[i]));
		assert_true(th_contains(r.out, "--socket PATH        the daemon's "
		    "socket (default: $ACCTC_SOCKET,"));
		assert_true(th_contains(r.out, "--json "));
		assert_defaults_shown(names[i], r.out);
		/* Each proper prefix of the name is a group. */
		for (const char *sp = names[i]; (sp = strchr(sp, ' ')) != NULL;
		    sp++) {
			snprintf(group, sizeof(group), "%.*s",
			    (int)(sp - names[i]), names[i]);
			assert_int_equal(run_words(group, (const char *const[]){
			    "--help", NULL }, &r), 0);
			assert_string_equal(r.err, "");
			for (int j = 0; j < n; j++)
				if (strncmp(names[j], group, strlen(group)) ==
				    0 && names[j][strlen(group)] == ' ' &&
				    !th_contains(r.out, names[j]))
					fail_msg("%s --help does not list %s:\n%s",
					    group, names[j], r.out);
			assert_true(th_contains(r.out, "default"));
			snprintf(help, sizeof(help), "help %s", group);
			assert_int_equal(run_words(help, (const char *const[]){
			    NULL }, &r), 0);
			assert_true(th_contains(r.out, names[i]));
			groups++;
		}
	}
	assert_true(groups >= 10);
	/* The two-word group, with what its commands do. */
	assert_int_equal(run_words("users 2fa --help", (const char *const[]){
	    NULL }, &r), 0);
	assert_true(th_contains(r.out, "  users 2fa enable "));
	assert_true(th_contains(r.out, "      Turn off two-factor"));
	assert_int_equal(run_words("help users 2fa", (const char *const[]){
	    NULL }, &r), 0);
	assert_true(th_contains(r.out, "  users 2fa disable USERNAME\n"));
	assert_int_equal(run_words("users 2fa", (const char *const[]){
	    NULL }, &r), 2);
	assert_true(th_contains(r.err, "users 2fa: command missing"));
	assert_int_equal(run_words("users 2fa on", (const char *const[]){
	    NULL }, &r), 2);
	assert_true(th_contains(r.err, "unknown command: users 2fa on"));
	/* A default as PhotoPrism's help shows it. */
	assert_int_equal(run_words("users add --help", (const char *const[]){
	    NULL }, &r), 0);
	assert_true(th_contains(r.out, "admin, user, viewer or guest\n"
	    "                           (default: user)\n"));
	th_result_free(&r);
}

static void
test_usage_errors(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *before;

	assert_int_equal(th_add_user(d->sock, "alice", "alice-password"),
	    ACCT_OK);
	before = dump(d);
	TH_RUN(d, NULL, 2, "frobnicate");
	assert_true(th_contains(r.err, "frobnicate"));
	TH_RUN(d, NULL, 2, "users");
	TH_RUN(d, NULL, 2, "users", "frob");
	TH_RUN(d, NULL, 2, "users", "show");
	assert_true(th_contains(r.err, "usage"));
	TH_RUN(d, NULL, 2, "users", "show", "alice", "bob");
	TH_RUN(d, NULL, 2, "users", "add");
	TH_RUN(d, NULL, 2, "users", "rm");
	TH_RUN(d, NULL, 2, "users", "mod", "alice");	/* nothing to change */
	TH_RUN(d, NULL, 2, "users", "ls", "--bogus");
	TH_RUN(d, NULL, 2, "users", "ls", "-n", "many");
	TH_RUN(d, NULL, 2, "users", "ls", "-n", "-1");
	TH_RUN(d, NULL, 2, "users", "add", "--name");	/* missing value */
	TH_RUN(d, NULL, 2, "users", "add", "-p", "secret-pw", "--password-stdin",
	    "bob");
	TH_RUN(d, NULL, 2, "users", "reset");
	assert_true(th_contains(r.err, "--yes"));
	TH_RUN(d, NULL, 2, "passwd", "alice", "bob");
	/* A password is needed and stdin is no terminal: say how. */
	TH_RUN(d, NULL, 2, "passwd", "alice");
	assert_true(th_contains(r.err, "--password-stdin"));
	TH_RUN(d, NULL, 2, "--bogus", "hello");
	TH_RUN(d, NULL, 2, "hello", "extra");
	{
		const char *none[] = { NULL };
		th_result_free(&r);
		assert_int_equal(th_acctc_v(d->sock, NULL, NULL, none, &r), 2);
	}
	/* None of it reached the database. */
	{
		char *after = dump(d);
		assert_string_equal(before, after);
		th_free(after);
	}
	assert_true(th_password_is(d, "alice", "alice-password"));
	th_free(before);
	th_result_free(&r);
}

static void
test_unreachable(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char path[200];

	snprintf(path, sizeof(path), "%s/no-such-dir/sock", d->dir);
	{
		const char *args[] = { "hello", NULL };
		assert_int_equal(th_acctc_v(path, NULL, NULL, args, &r), 3);
		assert_true(th_contains(r.err, "acctc: "));
		assert_true(th_contains(r.err, path));
		th_result_free(&r);
	}
	{
		const char *args[] = { "users", "add", "-p", "secret-pw-1",
		    "bob", NULL };
		assert_int_equal(th_acctc_v(path, NULL, NULL, args, &r), 3);
		th_result_free(&r);
	}
	{
		const char *args[] = { "passwd", "--password-stdin", "bob",
		    NULL };
		assert_int_equal(th_acctc_v(path, NULL, "new-password-1\n",
		    args, &r), 3);
		th_result_free(&r);
	}
	/* A socket file nobody listens on any more. */
	assert_int_equal(th_stop(d), 0);
	th_kill9(d);
	{
		const char *args[] = { "users", "ls", NULL };
		assert_int_equal(th_acctc_v(d->sock, NULL, NULL, args, &r), 3);
		th_result_free(&r);
	}
	/* The same with a stale socket file left by kill -9. */
	assert_int_equal(th_start(d), 0);
	th_kill9(d);
	TH_RUN(d, NULL, 3, "users", "ls");
	assert_int_equal(th_start(d), 0);
	th_result_free(&r);
}

static void
test_hello(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "hello");
	assert_show(r.out, "Server", "acctd");
	assert_show(r.out, "Version", "0.1.0");
	assert_true(th_contains(r.out, "admin"));
	TH_RUN(d, NULL, 0, "--json", "hello");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"server\":\"acctd\""));
	assert_true(th_contains(r.out, "\"classes\":[\"admin\""));
	th_result_free(&r);
}

static void
test_users_add_show(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const msgpack_object *u;

	TH_RUN(d, NULL, 0, "users", "add", "-p", "alice-secret-1", "--name",
	    "Alice Liddell", "--email", "Alice@Example.org", "--role",
	    "admin", "--superadmin", "--webdav", "--upload-path",
	    "alice/up", "--auth", "local", "--auth-id", "alice-sub",
	    "alice");
	assert_true(th_contains(r.out, "alice"));
	assert_false(th_contains(r.out, "alice-secret-1"));
	u = user_of(d, "alice");
	assert_true(th_str_is(u, "name", "Alice Liddell"));
	assert_true(th_str_is(u, "email", "alice@example.org"));
	assert_true(th_str_is(u, "role", "admin"));
	assert_true(th_str_is(u, "upload_path", "alice/up"));
	assert_true(th_str_is(u, "auth_provider", "local"));
	assert_true(th_str_is(u, "auth_id", "alice-sub"));
	assert_int_equal(th_bool(u, "superadmin"), 1);
	assert_int_equal(th_bool(u, "webdav"), 1);
	assert_int_equal(th_bool(u, "login"), 1);
	assert_int_equal(th_bool(u, "has_password"), 1);
	assert_true(th_password_is(d, "alice", "alice-secret-1"));

	/* Short flags, no login, and no password at all. */
	TH_RUN(d, NULL, 0, "users", "add", "-n", "Bob", "-m", "bob@example.org",
	    "-r", "viewer", "-l", "-w", "-u", "bob/up", "-A", "oidc", "bob");
	u = user_of(d, "bob");
	assert_true(th_str_is(u, "name", "Bob"));
	assert_true(th_str_is(u, "role", "viewer"));
	assert_true(th_str_is(u, "auth_provider", "oidc"));
	assert_int_equal(th_bool(u, "login"), 0);
	assert_int_equal(th_bool(u, "webdav"), 1);
	assert_int_equal(th_bool(u, "superadmin"), 0);
	assert_int_equal(th_bool(u, "has_password"), 0);

	/* The password from stdin. */
	TH_RUN(d, "carol-secret-1\n", 0, "users", "add", "--password-stdin",
	    "carol");
	assert_true(th_password_is(d, "carol", "carol-secret-1"));

	TH_RUN(d, NULL, 0, "users", "show", "alice");
	assert_show(r.out, "Username", "alice");
	assert_show(r.out, "Name", "Alice Liddell");
	assert_show(r.out, "Email", "alice@example.org");
	assert_show(r.out, "Role", "admin");
	assert_show(r.out, "Super Admin", "yes");
	assert_show(r.out, "Login", "enabled");
	assert_show(r.out, "WebDAV", "enabled");
	assert_show(r.out, "Upload Path", "alice/up");
	assert_show(r.out, "Auth Provider", "local");
	assert_show(r.out, "Auth ID", "alice-sub");
	assert_show(r.out, "Password", "set");
	th_result_free(&r);
}

static void
test_show_no_secrets(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const msgpack_object *id;
	char idbuf[33];

	TH_RUN(d, NULL, 0, "users", "add", "-p", "Very-Secret-77", "dora");
	id = proto_map_get(user_of(d, "dora"), "id");
	assert_non_null(id);
	snprintf(idbuf, sizeof(idbuf), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	TH_RUN(d, NULL, 0, "users", "show", "dora");
	assert_show(r.out, "ID", idbuf);
	assert_show(r.out, "Username", "dora");
	assert_show(r.out, "Password", "set");
	assert_show(r.out, "Login", "enabled");
	assert_show(r.out, "Super Admin", "no");
	assert_false(th_contains(r.out, "Very-Secret-77"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	assert_false(th_contains(r.out, "$"));
	assert_false(th_contains(r.out, "hash"));
	TH_RUN(d, NULL, 0, "--json", "users", "show", "dora");
	assert_true(th_json_valid(r.out));
	assert_false(th_contains(r.out, "Very-Secret-77"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	assert_false(th_contains(r.out, "hash"));
	assert_true(th_contains(r.out, "\"has_password\":true"));
	TH_RUN(d, NULL, 0, "users", "ls", "--json");
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	/* After removing it. */
	TH_RUN(d, NULL, 0, "passwd", "--rm", "dora");
	TH_RUN(d, NULL, 0, "users", "show", "dora");
	assert_show(r.out, "Password", "not set");
	th_result_free(&r);
}

static void
test_users_ls(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "ls");		/* empty is fine */
	TH_RUN(d, NULL, 0, "users", "add", "-n", "Alice Liddell", "alice");
	TH_RUN(d, NULL, 0, "users", "add", "-m", "robert@example.org", "bob");
	TH_RUN(d, NULL, 0, "users", "add", "carol");
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_true(th_contains(r.out, "Username"));
	assert_true(th_contains(r.out, "alice"));
	assert_true(th_contains(r.out, "Alice Liddell"));
	assert_true(th_contains(r.out, "robert@example.org"));
	assert_true(th_contains(r.out, "carol"));
	/* Sorted by username. */
	assert_true(strstr(r.out, "alice") < strstr(r.out, "bob"));
	assert_true(strstr(r.out, "bob") < strstr(r.out, "carol"));
	/* Search: username, name, email, any case. */
	TH_RUN(d, NULL, 0, "users", "ls", "LIDDELL");
	assert_true(th_contains(r.out, "alice"));
	assert_false(th_contains(r.out, "bob"));
	assert_false(th_contains(r.out, "carol"));
	TH_RUN(d, NULL, 0, "users", "ls", "robert");
	assert_true(th_contains(r.out, "bob"));
	assert_false(th_contains(r.out, "alice"));
	TH_RUN(d, NULL, 0, "users", "ls", "zzz");
	assert_false(th_contains(r.out, "alice"));
	/* A limit says the list is cut short. */
	TH_RUN(d, NULL, 0, "users", "ls", "-n", "1");
	assert_true(th_contains(r.out, "alice"));
	assert_false(th_contains(r.out, "carol"));
	assert_true(th_contains(r.err, "1 of 3"));
	TH_RUN(d, NULL, 0, "users", "ls", "--json", "-n", "2", "--offset", "1");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"total\":3"));
	assert_true(th_contains(r.out, "\"username\":\"bob\""));
	assert_false(th_contains(r.out, "\"username\":\"alice\""));
	th_result_free(&r);
}

static void
test_users_mod(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	const msgpack_object *u;
	char *before;

	TH_RUN(d, NULL, 0, "users", "add", "-p", "erin-secret-1", "-m",
	    "erin@example.org", "erin");
	TH_RUN(d, NULL, 0, "users", "mod", "--name", "Erin E", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "name", "Erin E"));
	TH_RUN(d, NULL, 0, "users", "mod", "-m", "Erin@New.Example.org", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "email",
	    "erin@new.example.org"));
	TH_RUN(d, NULL, 0, "users", "mod", "--email", "", "erin");
	assert_true(th_is_nil(user_of(d, "erin"), "email"));
	TH_RUN(d, NULL, 0, "users", "mod", "-r", "guest", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "role", "guest"));
	TH_RUN(d, NULL, 0, "users", "mod", "-A", "none", "--auth-id", "x-1",
	    "erin");
	u = user_of(d, "erin");
	assert_true(th_str_is(u, "auth_provider", "none"));
	assert_true(th_str_is(u, "auth_id", "x-1"));
	TH_RUN(d, NULL, 0, "users", "mod", "-s", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "superadmin"), 1);
	TH_RUN(d, NULL, 0, "users", "mod", "--no-superadmin", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "superadmin"), 0);
	TH_RUN(d, NULL, 0, "users", "mod", "-l", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "login"), 0);
	TH_RUN(d, NULL, 0, "users", "mod", "--login", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "login"), 1);
	TH_RUN(d, NULL, 0, "users", "mod", "-w", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "webdav"), 1);
	TH_RUN(d, NULL, 0, "users", "mod", "--no-webdav", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "webdav"), 0);
	TH_RUN(d, NULL, 0, "users", "mod", "-u", "erin/files", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "upload_path",
	    "erin/files"));
	TH_RUN(d, NULL, 0, "users", "mod", "--disable-2fa", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "two_factor"), 0);
	/* Several at once, long forms. */
	TH_RUN(d, NULL, 0, "users", "mod", "--name", "Erin F", "--role", "user",
	    "--webdav", "--upload-path", "", "erin");
	u = user_of(d, "erin");
	assert_true(th_str_is(u, "name", "Erin F"));
	assert_true(th_str_is(u, "role", "user"));
	assert_true(th_str_is(u, "upload_path", ""));
	assert_int_equal(th_bool(u, "webdav"), 1);
	/* A password. */
	TH_RUN(d, NULL, 0, "users", "mod", "-p", "erin-secret-2", "erin");
	assert_true(th_password_is(d, "erin", "erin-secret-2"));
	TH_RUN(d, "erin-secret-3\n", 0, "users", "mod", "--password-stdin",
	    "erin");
	assert_true(th_password_is(d, "erin", "erin-secret-3"));
	assert_false(th_password_is(d, "erin", "erin-secret-2"));

	/* Refusals: exit 1, the daemon's reason, nothing changed. */
	before = dump(d);
	TH_RUN(d, NULL, 1, "users", "mod", "-r", "emperor", "erin");
	assert_true(th_contains(r.err, "acctc: "));
	assert_true(th_contains(r.err, "role"));
	TH_RUN(d, NULL, 1, "users", "mod", "-m", "not-an-email", "erin");
	assert_true(th_contains(r.err, "email"));
	TH_RUN(d, NULL, 1, "users", "mod", "-n", "X", "ghost");
	TH_RUN(d, NULL, 1, "users", "mod", "-p", "short", "-n", "Changed",
	    "erin");
	assert_true(th_contains(r.err, "password"));
	{
		char *after = dump(d);
		assert_string_equal(before, after);
		th_free(after);
	}
	th_free(before);
	th_result_free(&r);
}

static void
test_refusals(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "add", "-m", "frank@example.org", "frank");
	TH_RUN(d, NULL, 1, "users", "show", "nosuchuser");
	assert_true(strncmp(r.err, "acctc: ", 7) == 0);
	assert_true(th_contains(r.err, "nosuchuser"));
	assert_string_equal(r.out, "");
	TH_RUN(d, NULL, 1, "users", "add", "frank");
	assert_true(th_contains(r.err, "exists"));
	TH_RUN(d, NULL, 1, "users", "add", "-m", "FRANK@example.org", "frank2");
	assert_true(th_contains(r.err, "email"));
	assert_false(th_user_exists(d->sock, "frank2"));
	TH_RUN(d, NULL, 1, "users", "add", "Bad Name");
	assert_true(th_contains(r.err, "username"));
	TH_RUN(d, NULL, 1, "users", "add", "-p", "short", "gina");
	assert_true(th_contains(r.err, "8"));
	assert_false(th_user_exists(d->sock, "gina"));
	TH_RUN(d, NULL, 1, "users", "rm", "nosuchuser");
	TH_RUN(d, NULL, 1, "passwd", "--rm", "nosuchuser");
	th_result_free(&r);
}

static void
test_rm_and_restore(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char id1[33], id2[33];
	const msgpack_object *id;

	TH_RUN(d, NULL, 0, "users", "add", "-n", "Henry One", "henry");
	id = proto_map_get(user_of(d, "henry"), "id");
	snprintf(id1, sizeof(id1), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	TH_RUN(d, NULL, 0, "users", "rm", "henry");
	assert_true(th_contains(r.out, "henry"));
	assert_false(th_user_exists(d->sock, "henry"));
	TH_RUN(d, NULL, 1, "users", "show", "henry");
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_false(th_contains(r.out, "henry"));
	TH_RUN(d, NULL, 1, "users", "rm", "henry");

	/* Not a terminal, neither flag: refuse and say why. */
	TH_RUN(d, NULL, 1, "users", "add", "henry");
	assert_true(th_contains(r.err, "deleted"));
	assert_false(th_user_exists(d->sock, "henry"));
	/* No terminal, no question: a "y" on stdin is not an answer. */
	TH_RUN(d, "y\n", 1, "users", "add", "henry");
	assert_false(th_user_exists(d->sock, "henry"));

	/* --no-restore: a new account. */
	TH_RUN(d, NULL, 0, "users", "add", "--no-restore", "-n", "Henry Two",
	    "henry");
	assert_true(th_contains(r.out, "created"));
	id = proto_map_get(user_of(d, "henry"), "id");
	snprintf(id2, sizeof(id2), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	assert_string_not_equal(id1, id2);
	assert_true(th_str_is(user_of(d, "henry"), "name", "Henry Two"));

	/* Two deleted now: --restore alone picks neither, and lists them
	 * with their ids; --restore ID brings that one back, with the
	 * given fields. */
	TH_RUN(d, NULL, 0, "users", "rm", "henry");
	TH_RUN(d, NULL, 1, "users", "add", "--restore", "-m",
	    "henry@example.org", "henry");
	assert_true(th_contains(r.err, "2 deleted accounts named 'henry'"));
	assert_true(th_contains(r.err, id1));
	assert_true(th_contains(r.err, id2));
	assert_false(th_user_exists(d->sock, "henry"));
	TH_RUN(d, NULL, 0, "users", "add", "--restore", id2, "-m",
	    "henry@example.org", "henry");
	assert_true(th_contains(r.out, "restored"));
	assert_true(th_str_is(user_of(d, "henry"), "id", id2));
	assert_true(th_str_is(user_of(d, "henry"), "name", "Henry Two"));
	assert_true(th_str_is(user_of(d, "henry"), "email",
	    "henry@example.org"));
	/* --restore with nothing deleted: just created. */
	TH_RUN(d, NULL, 0, "users", "add", "--restore", "ivy");
	assert_true(th_user_exists(d->sock, "ivy"));
	TH_RUN(d, NULL, 0, "--json", "users", "rm", "ivy");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"username\":\"ivy\""));
	TH_RUN(d, NULL, 0, "users", "add", "--json", "--restore", "ivy");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"restored\":true"));
	th_result_free(&r);
}

static void
test_users_reset(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "add", "jack");
	TH_RUN(d, NULL, 0, "users", "add", "jill");
	TH_RUN(d, NULL, 2, "users", "reset");
	assert_true(th_user_exists(d->sock, "jack"));
	TH_RUN(d, "yes\n", 2, "users", "reset");
	assert_true(th_user_exists(d->sock, "jill"));
	TH_RUN(d, NULL, 0, "users", "reset", "--yes");
	assert_true(th_contains(r.out, "2"));
	assert_false(th_user_exists(d->sock, "jack"));
	assert_false(th_user_exists(d->sock, "jill"));
	TH_RUN(d, NULL, 0, "users", "add", "jack");
	TH_RUN(d, NULL, 0, "--json", "users", "reset", "--yes");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"removed\":1"));
	th_result_free(&r);
}

static void
test_passwd_admin(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_RUN(d, NULL, 0, "users", "add", "-p", "kate-secret-1", "kate");
	/* An admin needs no current password: one line, the new one. */
	TH_RUN(d, "kate-secret-2\n", 0, "passwd", "--password-stdin", "kate");
	assert_true(th_contains(r.out, "kate"));
	assert_false(th_contains(r.out, "kate-secret"));
	assert_false(th_contains(r.err, "kate-secret"));
	assert_true(th_password_is(d, "kate", "kate-secret-2"));
	assert_false(th_password_is(d, "kate", "kate-secret-1"));
	/* A CRLF line end is not part of the password. */
	TH_RUN(d, "kate-secret-3\r\n", 0, "passwd", "--password-stdin", "kate");
	assert_true(th_password_is(d, "kate", "kate-secret-3"));
	/* Policy. */
	TH_RUN(d, "short\n", 1, "passwd", "--password-stdin", "kate");
	assert_true(th_contains(r.err, "password"));
	assert_false(th_contains(r.err, "short\n"));
	assert_true(th_password_is(d, "kate", "kate-secret-3"));
	/* Nothing on stdin. */
	TH_RUN(d, "", 1, "passwd", "--password-stdin", "kate");
	assert_true(th_password_is(d, "kate", "kate-secret-3"));
	/* Unknown account. */
	TH_RUN(d, "whatever-pw-1\n", 1, "passwd", "--password-stdin", "ghost");
	/* --json. */
	TH_RUN(d, "kate-secret-4\n", 0, "--json", "passwd", "--password-stdin",
	    "kate");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"has_password\":true"));
	assert_false(th_contains(r.out, "kate-secret"));
	/* --rm. */
	TH_RUN(d, NULL, 0, "passwd", "--rm", "kate");
	assert_int_equal(th_bool(user_of(d, "kate"), "has_password"), 0);
	assert_false(th_password_is(d, "kate", "kate-secret-4"));
	TH_RUN(d, NULL, 0, "--json", "passwd", "--rm", "kate");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"has_password\":false"));
	th_result_free(&r);
}

static void
test_json_everywhere(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	/* Quotes, backslashes and non-ASCII in a value stay valid JSON. */
	TH_RUN(d, NULL, 0, "--json", "users", "add", "-p", "Json-Secret-1",
	    "-n", "Quote \" Back \\ Caf\xc3\xa9 \xe2\x80\xae", "leo");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"restored\":false"));
	assert_true(th_contains(r.out, "Quote \\\" Back \\\\ Caf"));
	assert_false(th_contains(r.out, "Json-Secret-1"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	TH_RUN(d, NULL, 0, "users", "show", "--json", "leo");
	assert_true(th_json_valid(r.out));
	TH_RUN(d, NULL, 0, "--json", "users", "ls");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"total\":1"));
	TH_RUN(d, NULL, 0, "--json", "users", "mod", "-w", "leo");
	assert_true(th_json_valid(r.out));
	assert_true(th_contains(r.out, "\"webdav\":true"));
	TH_RUN(d, NULL, 0, "--json", "users", "mod", "-p", "Json-Secret-2",
	    "leo");
	assert_true(th_json_valid(r.out));
	assert_false(th_contains(r.out, "Json-Secret"));
	/* Errors go to stderr, not into the JSON on stdout: as JSON, with
	 * the error's stable name. */
	TH_RUN(d, NULL, 1, "--json", "users", "show", "ghost");
	assert_string_equal(r.out, "");
	assert_true(th_json_valid(r.err));
	assert_string_equal(th_json_must(r.err, "d['error']['name']"),
	    "not_found");
	th_result_free(&r);
}

/* Names that would drive a terminal are shown defused. */
static void
test_terminal_safe(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	/* U+202E (right-to-left override) is no C0 control: it gets in. */
	TH_RUN(d, NULL, 0, "users", "add", "-n", "evil\xe2\x80\xaegnp.exe",
	    "mia");
	TH_RUN(d, NULL, 0, "users", "show", "mia");
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	assert_true(th_contains(r.out, "evil"));
	TH_RUN(d, NULL, 0, "users", "ls");
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	/* Control characters do not get in at all. */
	TH_RUN(d, NULL, 1, "users", "add", "-n", "bad\x1b[2Jname", "nia");
	assert_false(th_user_exists(d->sock, "nia"));
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_version),
		T(test_help_everywhere),
		T(test_usage_errors),
		T(test_unreachable),
		T(test_hello),
		T(test_users_add_show),
		T(test_show_no_secrets),
		T(test_users_ls),
		T(test_users_mod),
		T(test_refusals),
		T(test_rm_and_restore),
		T(test_users_reset),
		T(test_passwd_admin),
		T(test_json_everywhere),
		T(test_terminal_safe),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
