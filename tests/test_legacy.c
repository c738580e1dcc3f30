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

#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
