/*
 * test_cli.c: the real acctc against the real acctd: every users command
 * and flag, passwd, --json, --help, exit status 0/1/2/3, safe output.
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

/* Run acctc; print what it said if the status is not the one wanted. */
#define RUN(d, in, want, ...) do {					\
	th_result_free(&r);						\
	th_acctc((d), (in), &r, __VA_ARGS__, NULL);			\
	if (r.status != (want))						\
		print_error("acctc %s: status %d, want %d\n"		\
		    "stdout:\n%s\nstderr:\n%s\n", #__VA_ARGS__, r.status,	\
		    (want), r.out, r.err);				\
	assert_int_equal(r.status, (want));				\
} while (0)

static int
setup(void **state)
{
	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_cli: ACCTC_BIN is not set to the acctc "
		    "under test\n");
		return -1;
	}
	return th_setup(state);
}

/* ---- a JSON checker, strict enough to catch broken output ---- */

struct json {
	const char	*p;
	int		 depth;
};

static bool json_value(struct json *j);

static void
json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
	    *j->p == '\r')
		j->p++;
}

static bool
json_string(struct json *j)
{
	if (*j->p++ != '"')
		return false;
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"')
			return true;
		if (c < 0x20)
			return false;	/* also the end of the text */
		if (c != '\\')
			continue;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++)
				if (!isxdigit((unsigned char)*j->p++))
					return false;
		} else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return false;
	}
}

static bool
json_number(struct json *j)
{
	const char *s = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (isdigit((unsigned char)*j->p))
			j->p++;
	else
		return false;
	if (*j->p == '.') {
		j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (!isdigit((unsigned char)*j->p))
			return false;
		while (isdigit((unsigned char)*j->p))
			j->p++;
	}
	return j->p > s;
}

static bool
json_seq(struct json *j, char close, bool object)
{
	j->p++;
	if (++j->depth > 64)
		return false;
	json_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != close)
			return false;
		j->depth--;
		return true;
	}
}

static bool
json_value(struct json *j)
{
	json_ws(j);
	switch (*j->p) {
	case '{':
		return json_seq(j, '}', true);
	case '[':
		return json_seq(j, ']', false);
	case '"':
		return json_string(j);
	case 't':
		return strncmp(j->p, "true", 4) == 0 && (j->p += 4);
	case 'f':
		return strncmp(j->p, "false", 5) == 0 && (j->p += 5);
	case 'n':
		return strncmp(j->p, "null", 4) == 0 && (j->p += 4);
	default:
		return json_number(j);
	}
}

/* One JSON document (an object), then only white space. */
static bool
json_valid(const char *s)
{
	struct json j = { s, 0 };

	json_ws(&j);
	if (*j.p != '{' || !json_value(&j))
		return false;
	json_ws(&j);
	return *j.p == '\0';
}

static void
self_test_json(void)
{
	assert_true(json_valid("{\"a\":[1,-2.5e3,true,false,null,"
	    "\"x\\u00e9\"]}\n"));
	assert_false(json_valid("{\"a\":1,}"));
	assert_false(json_valid("{\"a\":\"\x01\"}"));
	assert_false(json_valid("{\"a\":1}{"));
	assert_false(json_valid("{\"a\":\"\\x\"}"));
	assert_false(json_valid("{a:1}"));
}

/* ---- reading "Label   value" lines of users show ---- */

/* The value on the line labelled label (malloc'd), or NULL. */
static char *
show_val(const char *out, const char *label)
{
	size_t n = strlen(label);
	const char *line = out;

	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len >= n && strncmp(line, label, n) == 0 &&
		    (len == n || line[n] == ' ')) {
			const char *v = line + n;
			while (v < line + len && *v == ' ')
				v++;
			return strndup(v, (size_t)(line + len - v));
		}
		line = end ? end + 1 : NULL;
	}
	return NULL;
}

#define assert_show(out, label, want) do {				\
	char *v_ = th_keep(show_val((out), (label)));			\
	if (v_ == NULL)							\
		fail_msg("no line '%s' in:\n%s", (label), (out));	\
	assert_string_equal(v_, (want));				\
	th_free(v_);							\
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

/* Whether password pw is the one set, checked by the daemon. */
static bool
password_is(const struct th_daemon *d, const char *user, const char *pw)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	rc = th_call_code(d->sock, "login", &m);
	proto_msg_free(&m);
	return rc == ACCT_OK;
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
	RUN(d, NULL, 0, "--version");
	assert_true(th_contains(r.out, "0.1.0"));
	RUN(d, NULL, 0, "--help");
	assert_true(th_contains(r.out, "usage"));
	assert_true(th_contains(r.out, "users add"));
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i][1] == NULL)
			RUN(d, NULL, 0, cmds[i][0], "--help");
		else
			RUN(d, NULL, 0, cmds[i][0], cmds[i][1], "--help");
		assert_true(th_contains(r.out, "usage"));
		assert_true(th_contains(r.out, cmds[i][0]));
		assert_string_equal(r.err, "");
	}
	/* The flags of the spec are documented where they are taken. */
	RUN(d, NULL, 0, "users", "add", "--help");
	static const char *const flags[] = { "--name", "--email",
	    "--password", "--role", "--auth", "--auth-id", "--superadmin",
	    "--no-login", "--webdav", "--upload-path", "--restore",
	    "--no-restore" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		assert_true(th_contains(r.out, flags[i]));
	RUN(d, NULL, 0, "users", "mod", "--help");
	assert_true(th_contains(r.out, "--disable-2fa"));
	RUN(d, NULL, 0, "passwd", "--help");
	assert_true(th_contains(r.out, "--rm"));
	assert_true(th_contains(r.out, "--password-stdin"));
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
	RUN(d, NULL, 2, "frobnicate");
	assert_true(th_contains(r.err, "frobnicate"));
	RUN(d, NULL, 2, "users");
	RUN(d, NULL, 2, "users", "frob");
	RUN(d, NULL, 2, "users", "show");
	assert_true(th_contains(r.err, "usage"));
	RUN(d, NULL, 2, "users", "show", "alice", "bob");
	RUN(d, NULL, 2, "users", "add");
	RUN(d, NULL, 2, "users", "rm");
	RUN(d, NULL, 2, "users", "mod", "alice");	/* nothing to change */
	RUN(d, NULL, 2, "users", "ls", "--bogus");
	RUN(d, NULL, 2, "users", "ls", "-n", "many");
	RUN(d, NULL, 2, "users", "ls", "-n", "-1");
	RUN(d, NULL, 2, "users", "add", "--name");	/* missing value */
	RUN(d, NULL, 2, "users", "add", "-p", "secret-pw", "--password-stdin",
	    "bob");
	RUN(d, NULL, 2, "users", "reset");
	assert_true(th_contains(r.err, "--yes"));
	RUN(d, NULL, 2, "passwd", "alice", "bob");
	/* A password is needed and stdin is no terminal: say how. */
	RUN(d, NULL, 2, "passwd", "alice");
	assert_true(th_contains(r.err, "--password-stdin"));
	RUN(d, NULL, 2, "--bogus", "hello");
	RUN(d, NULL, 2, "hello", "extra");
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
	assert_true(password_is(d, "alice", "alice-password"));
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
	RUN(d, NULL, 3, "users", "ls");
	assert_int_equal(th_start(d), 0);
	th_result_free(&r);
}

static void
test_hello(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	RUN(d, NULL, 0, "hello");
	assert_show(r.out, "Server", "acctd");
	assert_show(r.out, "Version", "0.1.0");
	assert_true(th_contains(r.out, "admin"));
	RUN(d, NULL, 0, "--json", "hello");
	assert_true(json_valid(r.out));
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

	RUN(d, NULL, 0, "users", "add", "-p", "alice-secret-1", "--name",
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
	assert_true(password_is(d, "alice", "alice-secret-1"));

	/* Short flags, no login, and no password at all. */
	RUN(d, NULL, 0, "users", "add", "-n", "Bob", "-m", "bob@example.org",
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
	RUN(d, "carol-secret-1\n", 0, "users", "add", "--password-stdin",
	    "carol");
	assert_true(password_is(d, "carol", "carol-secret-1"));

	RUN(d, NULL, 0, "users", "show", "alice");
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

	RUN(d, NULL, 0, "users", "add", "-p", "Very-Secret-77", "dora");
	id = proto_map_get(user_of(d, "dora"), "id");
	assert_non_null(id);
	snprintf(idbuf, sizeof(idbuf), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	RUN(d, NULL, 0, "users", "show", "dora");
	assert_show(r.out, "ID", idbuf);
	assert_show(r.out, "Username", "dora");
	assert_show(r.out, "Password", "set");
	assert_show(r.out, "Login", "enabled");
	assert_show(r.out, "Super Admin", "no");
	assert_false(th_contains(r.out, "Very-Secret-77"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	assert_false(th_contains(r.out, "$"));
	assert_false(th_contains(r.out, "hash"));
	RUN(d, NULL, 0, "--json", "users", "show", "dora");
	assert_true(json_valid(r.out));
	assert_false(th_contains(r.out, "Very-Secret-77"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	assert_false(th_contains(r.out, "hash"));
	assert_true(th_contains(r.out, "\"has_password\":true"));
	RUN(d, NULL, 0, "users", "ls", "--json");
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	/* After removing it. */
	RUN(d, NULL, 0, "passwd", "--rm", "dora");
	RUN(d, NULL, 0, "users", "show", "dora");
	assert_show(r.out, "Password", "not set");
	th_result_free(&r);
}

static void
test_users_ls(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	RUN(d, NULL, 0, "users", "ls");		/* empty is fine */
	RUN(d, NULL, 0, "users", "add", "-n", "Alice Liddell", "alice");
	RUN(d, NULL, 0, "users", "add", "-m", "robert@example.org", "bob");
	RUN(d, NULL, 0, "users", "add", "carol");
	RUN(d, NULL, 0, "users", "ls");
	assert_true(th_contains(r.out, "Username"));
	assert_true(th_contains(r.out, "alice"));
	assert_true(th_contains(r.out, "Alice Liddell"));
	assert_true(th_contains(r.out, "robert@example.org"));
	assert_true(th_contains(r.out, "carol"));
	/* Sorted by username. */
	assert_true(strstr(r.out, "alice") < strstr(r.out, "bob"));
	assert_true(strstr(r.out, "bob") < strstr(r.out, "carol"));
	/* Search: username, name, email, any case. */
	RUN(d, NULL, 0, "users", "ls", "LIDDELL");
	assert_true(th_contains(r.out, "alice"));
	assert_false(th_contains(r.out, "bob"));
	assert_false(th_contains(r.out, "carol"));
	RUN(d, NULL, 0, "users", "ls", "robert");
	assert_true(th_contains(r.out, "bob"));
	assert_false(th_contains(r.out, "alice"));
	RUN(d, NULL, 0, "users", "ls", "zzz");
	assert_false(th_contains(r.out, "alice"));
	/* A limit says the list is cut short. */
	RUN(d, NULL, 0, "users", "ls", "-n", "1");
	assert_true(th_contains(r.out, "alice"));
	assert_false(th_contains(r.out, "carol"));
	assert_true(th_contains(r.err, "1 of 3"));
	RUN(d, NULL, 0, "users", "ls", "--json", "-n", "2", "--offset", "1");
	assert_true(json_valid(r.out));
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

	RUN(d, NULL, 0, "users", "add", "-p", "erin-secret-1", "-m",
	    "erin@example.org", "erin");
	RUN(d, NULL, 0, "users", "mod", "--name", "Erin E", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "name", "Erin E"));
	RUN(d, NULL, 0, "users", "mod", "-m", "Erin@New.Example.org", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "email",
	    "erin@new.example.org"));
	RUN(d, NULL, 0, "users", "mod", "--email", "", "erin");
	assert_true(th_is_nil(user_of(d, "erin"), "email"));
	RUN(d, NULL, 0, "users", "mod", "-r", "guest", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "role", "guest"));
	RUN(d, NULL, 0, "users", "mod", "-A", "none", "--auth-id", "x-1",
	    "erin");
	u = user_of(d, "erin");
	assert_true(th_str_is(u, "auth_provider", "none"));
	assert_true(th_str_is(u, "auth_id", "x-1"));
	RUN(d, NULL, 0, "users", "mod", "-s", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "superadmin"), 1);
	RUN(d, NULL, 0, "users", "mod", "--no-superadmin", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "superadmin"), 0);
	RUN(d, NULL, 0, "users", "mod", "-l", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "login"), 0);
	RUN(d, NULL, 0, "users", "mod", "--login", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "login"), 1);
	RUN(d, NULL, 0, "users", "mod", "-w", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "webdav"), 1);
	RUN(d, NULL, 0, "users", "mod", "--no-webdav", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "webdav"), 0);
	RUN(d, NULL, 0, "users", "mod", "-u", "erin/files", "erin");
	assert_true(th_str_is(user_of(d, "erin"), "upload_path",
	    "erin/files"));
	RUN(d, NULL, 0, "users", "mod", "--disable-2fa", "erin");
	assert_int_equal(th_bool(user_of(d, "erin"), "two_factor"), 0);
	/* Several at once, long forms. */
	RUN(d, NULL, 0, "users", "mod", "--name", "Erin F", "--role", "user",
	    "--webdav", "--upload-path", "", "erin");
	u = user_of(d, "erin");
	assert_true(th_str_is(u, "name", "Erin F"));
	assert_true(th_str_is(u, "role", "user"));
	assert_true(th_str_is(u, "upload_path", ""));
	assert_int_equal(th_bool(u, "webdav"), 1);
	/* A password. */
	RUN(d, NULL, 0, "users", "mod", "-p", "erin-secret-2", "erin");
	assert_true(password_is(d, "erin", "erin-secret-2"));
	RUN(d, "erin-secret-3\n", 0, "users", "mod", "--password-stdin",
	    "erin");
	assert_true(password_is(d, "erin", "erin-secret-3"));
	assert_false(password_is(d, "erin", "erin-secret-2"));

	/* Refusals: exit 1, the daemon's reason, nothing changed. */
	before = dump(d);
	RUN(d, NULL, 1, "users", "mod", "-r", "emperor", "erin");
	assert_true(th_contains(r.err, "acctc: "));
	assert_true(th_contains(r.err, "role"));
	RUN(d, NULL, 1, "users", "mod", "-m", "not-an-email", "erin");
	assert_true(th_contains(r.err, "email"));
	RUN(d, NULL, 1, "users", "mod", "-n", "X", "ghost");
	RUN(d, NULL, 1, "users", "mod", "-p", "short", "-n", "Changed",
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

	RUN(d, NULL, 0, "users", "add", "-m", "frank@example.org", "frank");
	RUN(d, NULL, 1, "users", "show", "nosuchuser");
	assert_true(strncmp(r.err, "acctc: ", 7) == 0);
	assert_true(th_contains(r.err, "nosuchuser"));
	assert_string_equal(r.out, "");
	RUN(d, NULL, 1, "users", "add", "frank");
	assert_true(th_contains(r.err, "exists"));
	RUN(d, NULL, 1, "users", "add", "-m", "FRANK@example.org", "frank2");
	assert_true(th_contains(r.err, "email"));
	assert_false(th_user_exists(d->sock, "frank2"));
	RUN(d, NULL, 1, "users", "add", "Bad Name");
	assert_true(th_contains(r.err, "username"));
	RUN(d, NULL, 1, "users", "add", "-p", "short", "gina");
	assert_true(th_contains(r.err, "8"));
	assert_false(th_user_exists(d->sock, "gina"));
	RUN(d, NULL, 1, "users", "rm", "nosuchuser");
	RUN(d, NULL, 1, "passwd", "--rm", "nosuchuser");
	th_result_free(&r);
}

static void
test_rm_and_restore(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char id1[33], id2[33];
	const msgpack_object *id;

	RUN(d, NULL, 0, "users", "add", "-n", "Henry One", "henry");
	id = proto_map_get(user_of(d, "henry"), "id");
	snprintf(id1, sizeof(id1), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	RUN(d, NULL, 0, "users", "rm", "henry");
	assert_true(th_contains(r.out, "henry"));
	assert_false(th_user_exists(d->sock, "henry"));
	RUN(d, NULL, 1, "users", "show", "henry");
	RUN(d, NULL, 0, "users", "ls");
	assert_false(th_contains(r.out, "henry"));
	RUN(d, NULL, 1, "users", "rm", "henry");

	/* Not a terminal, neither flag: refuse and say why. */
	RUN(d, NULL, 1, "users", "add", "henry");
	assert_true(th_contains(r.err, "deleted"));
	assert_false(th_user_exists(d->sock, "henry"));
	/* No terminal, no question: a "y" on stdin is not an answer. */
	RUN(d, "y\n", 1, "users", "add", "henry");
	assert_false(th_user_exists(d->sock, "henry"));

	/* --no-restore: a new account. */
	RUN(d, NULL, 0, "users", "add", "--no-restore", "-n", "Henry Two",
	    "henry");
	assert_true(th_contains(r.out, "created"));
	id = proto_map_get(user_of(d, "henry"), "id");
	snprintf(id2, sizeof(id2), "%.*s", (int)id->via.str.size,
	    id->via.str.ptr);
	assert_string_not_equal(id1, id2);
	assert_true(th_str_is(user_of(d, "henry"), "name", "Henry Two"));

	/* --restore: the deleted one comes back, with the given fields. */
	RUN(d, NULL, 0, "users", "rm", "henry");
	RUN(d, NULL, 0, "users", "add", "--restore", "-m",
	    "henry@example.org", "henry");
	assert_true(th_contains(r.out, "restored"));
	assert_true(th_str_is(user_of(d, "henry"), "id", id2));
	assert_true(th_str_is(user_of(d, "henry"), "name", "Henry Two"));
	assert_true(th_str_is(user_of(d, "henry"), "email",
	    "henry@example.org"));
	/* --restore with nothing deleted: just created. */
	RUN(d, NULL, 0, "users", "add", "--restore", "ivy");
	assert_true(th_user_exists(d->sock, "ivy"));
	RUN(d, NULL, 0, "--json", "users", "rm", "ivy");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"username\":\"ivy\""));
	RUN(d, NULL, 0, "users", "add", "--json", "--restore", "ivy");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"restored\":true"));
	th_result_free(&r);
}

static void
test_users_reset(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	RUN(d, NULL, 0, "users", "add", "jack");
	RUN(d, NULL, 0, "users", "add", "jill");
	RUN(d, NULL, 2, "users", "reset");
	assert_true(th_user_exists(d->sock, "jack"));
	RUN(d, "yes\n", 2, "users", "reset");
	assert_true(th_user_exists(d->sock, "jill"));
	RUN(d, NULL, 0, "users", "reset", "--yes");
	assert_true(th_contains(r.out, "2"));
	assert_false(th_user_exists(d->sock, "jack"));
	assert_false(th_user_exists(d->sock, "jill"));
	RUN(d, NULL, 0, "users", "add", "jack");
	RUN(d, NULL, 0, "--json", "users", "reset", "--yes");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"removed\":1"));
	th_result_free(&r);
}

static void
test_passwd_admin(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	RUN(d, NULL, 0, "users", "add", "-p", "kate-secret-1", "kate");
	/* An admin needs no current password: one line, the new one. */
	RUN(d, "kate-secret-2\n", 0, "passwd", "--password-stdin", "kate");
	assert_true(th_contains(r.out, "kate"));
	assert_false(th_contains(r.out, "kate-secret"));
	assert_false(th_contains(r.err, "kate-secret"));
	assert_true(password_is(d, "kate", "kate-secret-2"));
	assert_false(password_is(d, "kate", "kate-secret-1"));
	/* A CRLF line end is not part of the password. */
	RUN(d, "kate-secret-3\r\n", 0, "passwd", "--password-stdin", "kate");
	assert_true(password_is(d, "kate", "kate-secret-3"));
	/* Policy. */
	RUN(d, "short\n", 1, "passwd", "--password-stdin", "kate");
	assert_true(th_contains(r.err, "password"));
	assert_false(th_contains(r.err, "short\n"));
	assert_true(password_is(d, "kate", "kate-secret-3"));
	/* Nothing on stdin. */
	RUN(d, "", 1, "passwd", "--password-stdin", "kate");
	assert_true(password_is(d, "kate", "kate-secret-3"));
	/* Unknown account. */
	RUN(d, "whatever-pw-1\n", 1, "passwd", "--password-stdin", "ghost");
	/* --json. */
	RUN(d, "kate-secret-4\n", 0, "--json", "passwd", "--password-stdin",
	    "kate");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"has_password\":true"));
	assert_false(th_contains(r.out, "kate-secret"));
	/* --rm. */
	RUN(d, NULL, 0, "passwd", "--rm", "kate");
	assert_int_equal(th_bool(user_of(d, "kate"), "has_password"), 0);
	assert_false(password_is(d, "kate", "kate-secret-4"));
	RUN(d, NULL, 0, "--json", "passwd", "--rm", "kate");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"has_password\":false"));
	th_result_free(&r);
}

static void
test_json_everywhere(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	/* Quotes, backslashes and non-ASCII in a value stay valid JSON. */
	RUN(d, NULL, 0, "--json", "users", "add", "-p", "Json-Secret-1",
	    "-n", "Quote \" Back \\ Caf\xc3\xa9 \xe2\x80\xae", "leo");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"restored\":false"));
	assert_true(th_contains(r.out, "Quote \\\" Back \\\\ Caf"));
	assert_false(th_contains(r.out, "Json-Secret-1"));
	assert_false(th_contains(r.out, "$argon2"));	/* a PHC hash */
	RUN(d, NULL, 0, "users", "show", "--json", "leo");
	assert_true(json_valid(r.out));
	RUN(d, NULL, 0, "--json", "users", "ls");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"total\":1"));
	RUN(d, NULL, 0, "--json", "users", "mod", "-w", "leo");
	assert_true(json_valid(r.out));
	assert_true(th_contains(r.out, "\"webdav\":true"));
	RUN(d, NULL, 0, "--json", "users", "mod", "-p", "Json-Secret-2",
	    "leo");
	assert_true(json_valid(r.out));
	assert_false(th_contains(r.out, "Json-Secret"));
	/* Errors go to stderr, not into the JSON on stdout. */
	RUN(d, NULL, 1, "--json", "users", "show", "ghost");
	assert_string_equal(r.out, "");
	th_result_free(&r);
}

/* Names that would drive a terminal are shown defused. */
static void
test_terminal_safe(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	/* U+202E (right-to-left override) is no C0 control: it gets in. */
	RUN(d, NULL, 0, "users", "add", "-n", "evil\xe2\x80\xaegnp.exe",
	    "mia");
	RUN(d, NULL, 0, "users", "show", "mia");
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	assert_true(th_contains(r.out, "evil"));
	RUN(d, NULL, 0, "users", "ls");
	assert_false(th_contains(r.out, "\xe2\x80\xae"));
	/* Control characters do not get in at all. */
	RUN(d, NULL, 1, "users", "add", "-n", "bad\x1b[2Jname", "nia");
	assert_false(th_user_exists(d->sock, "nia"));
	th_result_free(&r);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, th_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_help_version),
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
