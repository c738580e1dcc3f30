/*
 * test_legacy.c: users import with hashes made by the reference tools
 * (mkpasswd for yescrypt, sha512-crypt and bcrypt; htpasswd -B; the
 * argon2 command for Argon2i/d/id with other parameters). Each imported
 * account logs in, is re-hashed to the current Argon2id, and leaves the
 * legacy list; bad lines are skipped with reasons, never silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <cmocka.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define PW	"legacy-pass-1"

/* First line of a shell command's output, th_keep'd. */
static char *
run(const char *cmd)
{
	char buf[512];
	FILE *p = popen(cmd, "r");

	assert_non_null(p);
	if (fgets(buf, sizeof(buf), p) == NULL)
		buf[0] = '\0';
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	assert_true(buf[0] != '\0');
	return th_keep(strdup(buf));
}

static int
import(const struct th_daemon *d, const char *data, struct proto_reply *rep)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "data", data);
	rc = th_call(d->sock, "user_import", &m, rep);
	proto_msg_free(&m);
	return rc == ACCT_OK ? rep->code : rc;
}

static int
login(const struct th_daemon *d, const char *user, const char *pw)
{
	return th_call_strs(d->sock, "login", "username", user, "password",
	    pw, (char *)NULL);
}

static char *
scheme(const struct th_daemon *d, const char *user)
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *o;
	char *s;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	assert_int_equal(th_call(d->sock, "user_show", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	o = proto_map_get(proto_map_get(rep.result, "user"),
	    "password_scheme");
	assert_non_null(o);
	s = th_keep(strndup(o->via.str.ptr, o->via.str.size));
	proto_reply_free(&rep);
	return s;
}

static int
legacy_count(const struct th_daemon *d)
{
	struct proto_msg m;
	struct proto_reply rep;
	int n;

	proto_msg_init(&m);
	proto_kv_bool(&m, "legacy", true);
	assert_int_equal(th_call(d->sock, "user_list", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	n = (int)th_int(rep.result, "total", -1);
	proto_reply_free(&rep);
	return n;
}

static const struct {
	const char	*user;
	const char	*scheme;
	const char	*cmd;
} tools[] = {
	{ "yes", "yescrypt", "mkpasswd -m yescrypt '" PW "'" },
	{ "sha", "sha512-crypt", "mkpasswd -m sha512crypt '" PW "'" },
	{ "bcr", "bcrypt", "mkpasswd -m bcrypt '" PW "'" },
	{ "htp", "bcrypt", "htpasswd -nbB x '" PW "' | cut -d: -f2" },
	{ "a2i", "argon2i", "printf %s '" PW "' | argon2 saltsaltsalt16 -i "
	    "-t 2 -m 10 -p 2 -e" },
	{ "a2d", "argon2d", "printf %s '" PW "' | argon2 saltsaltsalt16 -d "
	    "-t 1 -m 8 -p 1 -e" },
	{ "a2id", "argon2id", "printf %s '" PW "' | argon2 saltsaltsalt16 "
	    "-id -t 2 -m 9 -p 1 -e" },
};

#define NTOOLS	(sizeof(tools) / sizeof(tools[0]))

static void
test_import_login_upgrade(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	char data[8192];
	size_t off = 0;

	/* user:hash lines, a shadow line, and lines that must be skipped. */
	for (size_t i = 0; i < NTOOLS; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off,
		    "%s:%s\n", tools[i].user, run(tools[i].cmd));
	off += (size_t)snprintf(data + off, sizeof(data) - off,
	    "# a comment\n"
	    "shadowed:%s:19000:0:99999:7:::\n"
	    "locked:!$6$abc$def:19000::::::\n"
	    "md5:$1$saltsalt$hKZBhLgZk9FFCz2hkEh1T.\n"
	    "Bad User:$6$x$y\n"
	    "nocolon\n", run("mkpasswd -m sha512crypt '" PW "'"));
	assert_int_equal(import(d, data, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), NTOOLS + 1);
	assert_int_equal(th_int(rep.result, "skipped", -1), 4);
	assert_int_equal(proto_map_get(rep.result, "errors")->via.array.size,
	    4);
	proto_reply_free(&rep);
	assert_int_equal(legacy_count(d), NTOOLS + 1);
	for (size_t i = 0; i < NTOOLS; i++) {
		assert_string_equal(scheme(d, tools[i].user), tools[i].scheme);
		assert_int_equal(login(d, tools[i].user, "wrong-pass"),
		    ACCT_ERR_AUTH_FAILED);
		assert_string_equal(scheme(d, tools[i].user), tools[i].scheme);
		assert_int_equal(login(d, tools[i].user, PW), ACCT_OK);
		/* Upgraded on that login, and it still opens. */
		assert_string_equal(scheme(d, tools[i].user), "argon2id");
		assert_int_equal(login(d, tools[i].user, PW), ACCT_OK);
	}
	assert_int_equal(login(d, "shadowed", PW), ACCT_OK);
	assert_int_equal(legacy_count(d), 0);
}

static void
test_csv_import(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	char data[4096];

	snprintf(data, sizeof(data),
	    "username,name,email,role,hash,extra\r\n"
	    "carol,\"Carol, C.\",carol@example.org,admin,%s,x\r\n"
	    "dave,Dave,not-an-email,user,%s,\r\n"
	    "erin,Erin,,viewer,%s\r\n"
	    "carol,Dup,,user,%s\r\n"
	    "\"unterminated,x,y,z,w\r\n",
	    run("mkpasswd -m bcrypt '" PW "'"),
	    run("mkpasswd -m bcrypt '" PW "'"),
	    run("mkpasswd -m yescrypt '" PW "'"),
	    run("mkpasswd -m yescrypt '" PW "'"));
	assert_int_equal(import(d, data, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), 2);
	assert_int_equal(th_int(rep.result, "skipped", -1), 3);
	proto_reply_free(&rep);
	assert_true(th_user_exists(d->sock, "carol"));
	assert_true(th_user_exists(d->sock, "erin"));
	assert_false(th_user_exists(d->sock, "dave"));
	assert_int_equal(login(d, "carol@example.org", PW), ACCT_OK);
	/* A CSV without the needed columns is refused whole. */
	assert_int_equal(import(d, "username,name\nx,y\n", &rep),
	    ACCT_ERR_INVALID);
	proto_reply_free(&rep);
}

/* An Argon2 string asking for more than the caps is not imported. */
static void
test_caps_on_import(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;

	assert_int_equal(import(d, "big:$argon2id$v=19$m=4194304,t=1,p=1$"
	    "c2FsdHNhbHRzYWx0MTY$T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM\n"
	    "slow:$2b$31$abcdefghijklmnopqrstuu1234567890123456789012345678901\n",
	    &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), 0);
	assert_int_equal(th_int(rep.result, "skipped", -1), 2);
	proto_reply_free(&rep);
}

/* A line name:hash with the hash made of parts, th_keep'd. */
static char *
line(const char *name, const char *a, const char *b, const char *c)
{
	char *s;

	assert_true(asprintf(&s, "%s:%s%s%s\n", name, a, b, c) > 0);
	return th_keep(s);
}

/*
 * The cost table: at its limit a hash is imported, one step past it is
 * refused, for every scheme; and a dear hash already stored is never
 * tried: its account fails as a wrong password does, and acctd says so.
 */
static void
test_cost_limits_on_import(void **state)
{
	static const char c53[] = "abcdefghijklmnopqrstuu12345678901234567890"
	    "12345678901", c43[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDE"
	    "FG", c86[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", a2[] = "$c2FsdHNhbHRzYWx0"
	    "MTY$T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM";
	const struct {
		const char	*name;
		const char	*a, *b, *c;
		bool		 ok;
	} rows[] = {
		{ "bc12", "$2b$12$", c53, "", true },
		{ "bc13", "$2b$13$", c53, "", false },
		{ "sha1m", "$6$rounds=1000000$salt$", c86, "", true },
		{ "sha1m1", "$6$rounds=1000001$salt$", c86, "", false },
		/* yescrypt N=2^14 r=32 (64 MiB), then N=2^15, then N=2^22
		 * (16 GiB), then Debian's default with t raised to millions */
		{ "yesb", "$y$jBT$saltsalt$", c43, "", true },
		{ "yesc", "$y$jCT$saltsalt$", c43, "", false },
		{ "yesj", "$y$jJT$saltsalt$", c43, "", false },
		{ "yest", "$y$j9T/yuy5D$saltsalt$", c43, "", false },
		/* Argon2: twice the default's memory x passes, or more */
		{ "a2ok", "$argon2id$v=19$m=131072,t=3,p=1", a2, "", true },
		{ "a2t", "$argon2id$v=19$m=131072,t=4,p=1", a2, "", false },
		{ "a2m", "$argon2i$v=19$m=262144,t=1,p=1", a2, "", false },
		{ "a2big", "$argon2id$v=19$m=1048576,t=64,p=1", a2, "", false },
	};
	struct th_daemon *d = *state;
	struct proto_reply rep;
	char data[8192] = "";
	size_t nok = 0, n = sizeof(rows) / sizeof(rows[0]);

	for (size_t i = 0; i < n; i++) {
		strlcat(data, line(rows[i].name, rows[i].a, rows[i].b,
		    rows[i].c), sizeof(data));
		nok += rows[i].ok;
	}
	assert_int_equal(import(d, data, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), (int64_t)nok);
	proto_reply_free(&rep);
	for (size_t i = 0; i < n; i++)
		if (th_user_exists(d->sock, rows[i].name) != rows[i].ok)
			fail_msg("%s: %s", rows[i].name, rows[i].ok ?
			    "refused under the limit" : "imported over it");
	/* Stored by other means (an old acctd's import): never tried. */
	assert_int_equal(th_db_exec(d, "UPDATE accounts SET password_hash = "
	    "'$y$j9T/yuy5D$saltsalt$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' "
	    "WHERE username = 'yesb'"), 0);
	assert_int_equal(login(d, "yesb", PW), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_wait_log(d, 0, "over the cost limits: not tried",
	    TH_WAIT_MS), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_wait_log(d, 0, "1 accounts have a password hash "
	    "over the cost limits", TH_WAIT_MS), 0);
}

/* The least of n tries of a failed login, in microseconds. */
static int64_t
fail_us(const struct th_daemon *d, const char *user, int n)
{
	int64_t best = INT64_MAX;

	for (int i = 0; i < n; i++) {
		int64_t t0 = mono_us(), us;

		assert_int_equal(login(d, user, "not-the-password"),
		    ACCT_ERR_AUTH_FAILED);
		if ((us = mono_us() - t0) < best)
			best = us;
	}
	return best;
}

/*
 * An account of a dear imported scheme (bcrypt 10, a hundred times the
 * tests' Argon2id) fails no later than an unknown name: every failure
 * waits for the dearest stored hash, timed at import and at start.
 * Waits are lower bounds: a failure can be late on a busy machine,
 * never early, so only "the unknown name takes at least about as long"
 * is asserted, against the least of several tries.
 */
static void
test_failure_reveals_no_scheme(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	char *data;
	int64_t known, unknown;

	assert_true(asprintf(&data, "dear:%s\n", run("mkpasswd -m bcrypt -R "
	    "10 '" PW "'")) > 0);
	th_keep(data);
	assert_int_equal(import(d, data, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), 1);
	proto_reply_free(&rep);
	for (int round = 0; round < 2; round++) {
		known = fail_us(d, "dear", 5);
		unknown = fail_us(d, "nobody-by-this-name", 5);
		print_message("%s: wrong password %lld us, unknown name %lld "
		    "us\n", round ? "after a restart" : "after the import",
		    (long long)known, (long long)unknown);
		assert_true(unknown * 2 >= known);
		/* Timed again at start, from the stored hashes. */
		assert_int_equal(th_stop(d), 0);
		assert_int_equal(th_start(d), 0);
	}
}

/*
 * A hash that could never verify is refused when it arrives, not at
 * the first login: checksums a character short or long, a salt crypt
 * would cut, numbers written in ways the tools never write.
 */
static void
test_malformed_on_import(void **state)
{
	struct th_daemon *d = *state;
	const char *good[] = {
		run("mkpasswd -m sha512crypt '" PW "'"),
		run("mkpasswd -m sha512crypt -R 5000 '" PW "'"),
		run("mkpasswd -m bcrypt '" PW "'"),
		run("mkpasswd -m yescrypt '" PW "'"),
		run("printf %s '" PW "' | argon2 saltsaltsalt16 -id -t 2 -m 9 "
		    "-p 1 -e"),
	};
	const char *x86 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	char data[16384], *bad[32];
	size_t nbad = 0, off = 0;
	struct proto_reply rep;
	const msgpack_object *errors;

	for (size_t i = 0; i < 5; i++) {
		size_t n = strlen(good[i]);

		/* One character short, two long (an Argon2 tag's length
		 * varies: only one base-64 cannot end in is wrong). */
		bad[nbad++] = th_keep(strndup(good[i], n - 1));
		assert_true(asprintf(&bad[nbad], "%sAB", good[i]) > 0);
		th_keep(bad[nbad++]);
	}
	bad[nbad++] = "$6$abc$def";
	assert_true(asprintf(&bad[nbad], "$6$salt!$%s", x86) > 0);
	th_keep(bad[nbad++]);
	assert_true(asprintf(&bad[nbad], "$6$saltsaltsaltsalts$%s", x86) > 0);
	th_keep(bad[nbad++]);
	assert_true(asprintf(&bad[nbad], "$6$rounds=999$salt$%s", x86) > 0);
	th_keep(bad[nbad++]);
	assert_true(asprintf(&bad[nbad], "$6$rounds=05000$salt$%s", x86) > 0);
	th_keep(bad[nbad++]);
	bad[nbad++] = "$2b$03$abcdefghijklmnopqrstuu1234567890123456789012345678901";
	bad[nbad++] = "$2b$1$abcdefghijklmnopqrstuu12345678901234567890123456789012";
	bad[nbad++] = "$argon2id$v=019$m=512,t=2,p=1$c2FsdHNhbHRzYWx0MTY$"
	    "T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM";
	bad[nbad++] = "$argon2id$v=19$m=512,t=2,p=1$c2FsdA$"
	    "T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM";
	bad[nbad++] = "$argon2id$v=19$m=512,t=2,p=1$c2FsdHNhbHRzYWx0MTY$"
	    "T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM=";
	bad[nbad++] = "$argon2id$v=19$m=512,t=+2,p=1$c2FsdHNhbHRzYWx0MTY$"
	    "T/5+nM8ldMJppNrr+Hxhm7CBDAn/c8K3XaFMHxYy/BM";
	for (size_t i = 0; i < 5; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off,
		    "good%zu:%s\n", i, good[i]);
	for (size_t i = 0; i < nbad; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off,
		    "bad%zu:%s\n", i, bad[i]);
	assert_true(off < sizeof(data) - 1);
	assert_int_equal(import(d, data, &rep), ACCT_OK);
	assert_int_equal(th_int(rep.result, "imported", -1), 5);
	assert_int_equal(th_int(rep.result, "skipped", -1), (int64_t)nbad);
	errors = proto_map_get(rep.result, "errors");
	assert_non_null(errors);
	assert_int_equal(errors->via.array.size, nbad);
	for (uint32_t i = 0; i < errors->via.array.size; i++) {
		const msgpack_object *e = &errors->via.array.ptr[i];
		char user[16];

		snprintf(user, sizeof(user), "bad%u", i);
		if (!th_str_is(e, "reason", "malformed hash, or its cost over "
		    "the limits") || !th_str_is(e, "username", user))
			fail_msg("%s: %s not refused as malformed", user,
			    bad[i]);
	}
	proto_reply_free(&rep);
	for (size_t i = 0; i < 5; i++) {
		char user[16];

		snprintf(user, sizeof(user), "good%zu", i);
		assert_int_equal(login(d, user, PW), ACCT_OK);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_import_login_upgrade,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_csv_import, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_caps_on_import, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_on_import,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_cost_limits_on_import,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_failure_reveals_no_scheme,
		    th_setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
