/*
 * test_libacct.c: builds tests/libacct/demo.c and lifecycle.c against
 * the staged install (ACCT_STAGE, from 'make install DESTDIR=...') with
 * pkg-config, and authenticates and runs the password lifecycle through
 * the installed library against a real acctd and a real mailer.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char demo[256], lifecycle[256];

/* Run a shell command, capturing the first line of its output. */
static int
sh(const char *cmd, char *out, size_t outsz)
{
	FILE *p = popen(cmd, "r");
	int st;

	if (p == NULL)
		return -1;
	out[0] = '\0';
	if (fgets(out, (int)outsz, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Where the staged install put libacct.so and libacct.pc. */
static const char *
libdir(void)
{
	return getenv("ACCT_STAGE_LIBDIR");
}

static int
build_one(const char *src, const char *bin)
{
	const char *stage = getenv("ACCT_STAGE");
	char cmd[2048], out[512];

	/* SYSROOT prefixes the .pc file's /usr paths with the stage. */
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_PATH=%s/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s cc -Wall -Wextra -Werror -o %s %s "
	    "$(PKG_CONFIG_PATH=%s/pkgconfig PKG_CONFIG_SYSROOT_DIR=%s "
	    "pkg-config --cflags --libs libacct) 2>&1", libdir(), stage, bin,
	    src, libdir(), stage);
	if (sh(cmd, out, sizeof(out)) != 0) {
		fprintf(stderr, "building %s failed: %s\n", src, out);
		return -1;
	}
	return 0;
}

static int
build_demo(void **state)
{
	const char *stage = getenv("ACCT_STAGE");

	(void)state;
	if (stage == NULL || libdir() == NULL) {
		fprintf(stderr, "ACCT_STAGE or ACCT_STAGE_LIBDIR is not set: "
		    "run through make test\n");
		return -1;
	}
	snprintf(demo, sizeof(demo), "%s/demo", stage);
	snprintf(lifecycle, sizeof(lifecycle), "%s/lifecycle", stage);
	if (build_one("tests/libacct/demo.c", demo) == -1 ||
	    build_one("tests/libacct/lifecycle.c", lifecycle) == -1)
		return -1;
	return 0;
}

static int
run_demo_mode(const struct th_daemon *d, const char *user, const char *pw,
    const char *mode, char *out, size_t outsz)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' | "
	    "LD_LIBRARY_PATH=%s %s %s %s %s", pw, libdir(),
	    demo, d->sock, user, mode);
	return sh(cmd, out, outsz);
}

static int
run_demo(const struct th_daemon *d, const char *user, const char *pw,
    char *out, size_t outsz)
{
	return run_demo_mode(d, user, pw, "", out, outsz);
}

/* The demo must load the staged library, not something else. */
static void
test_links_staged_soname(void **state)
{
	char cmd[1024], out[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "LD_LIBRARY_PATH=%s ldd %s | "
	    "grep libacct", libdir(), demo);
	assert_int_equal(sh(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "libacct.so.0 => "));
	assert_non_null(strstr(out, getenv("ACCT_STAGE")));
}

static void
test_login_through_library(void **state)
{
	struct th_daemon *d = *state;
	char out[512];

	assert_int_equal(th_add_user(d->sock, "carol", "carol-pass-1"),
	    ACCT_OK);
	assert_int_equal(run_demo(d, "carol", "carol-pass-1", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "ok carol user");
	assert_int_equal(run_demo(d, "carol", "wrong-pass-1", out,
	    sizeof(out)), 1);
	assert_non_null(strstr(out, "fail auth_failed"));
	/* Unknown user: the very same answer. */
	assert_int_equal(run_demo(d, "nosuchuser", "wrong-pass-1", out,
	    sizeof(out)), 1);
	assert_non_null(strstr(out, "fail auth_failed"));
}

/* Session create, validate (and scope), revoke through the library. */
static void
test_session_through_library(void **state)
{
	struct th_daemon *d = *state;
	char out[512];

	assert_int_equal(th_add_user(d->sock, "carol", "carol-pass-1"),
	    ACCT_OK);
	assert_int_equal(run_demo_mode(d, "carol", "carol-pass-1", "session",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "session 81 validate=ok user=carol "
	    "other_scope=invalid_token revoke=ok after=invalid_token");
}

static void
test_unreachable(void **state)
{
	struct th_daemon *d = *state;
	struct th_daemon gone = *d;
	char out[512];

	snprintf(gone.sock, sizeof(gone.sock), "%s/no-such-socket", d->dir);
	assert_int_equal(run_demo(&gone, "carol", "x", out, sizeof(out)), 3);
	assert_string_equal(out, "fail connect");
}

/* ---- the password lifecycle, as an authenticator (a web app) ---- */

struct run {
	const char	*sock;
	const char	*stdin_text;
	const char	*args;
};

static int
run_lifecycle_fn(void *arg, FILE *out)
{
	const struct run *r = arg;
	char cmd[1024], line[512];

	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | LD_LIBRARY_PATH=%s "
	    "%s %s %s", r->stdin_text, libdir(), lifecycle, r->sock, r->args);
	sh(cmd, line, sizeof(line));
	fputs(line, out);
	return 0;
}

/* One step as uid 1500 in auth_group; its line of outcomes into out. */
static void
step(const char *sock, const char *stdin_text, const char *args, char *out,
    size_t outsz)
{
	static const struct th_cred web = { .uid = 1500,
	    .gid = TH_AUTH_GID };
	struct run r = { sock, stdin_text, args };

	assert_int_equal(th_as(&web, run_lifecycle_fn, &r, out, outsz), 0);
}

struct lifeenv {
	struct th_daemon	d;
	struct th_mail		m;
};

static int life_teardown(void **state);

static int
life_setup(void **state)
{
	struct lifeenv *e = calloc(1, sizeof(*e));
	char conf[1024];

	if (e == NULL)
		return -1;
	*state = e;
	if (!th_is_root())
		fprintf(stderr, "test_libacct: the lifecycle runs as an "
		    "authenticator uid: run as root\n");
	else if (th_mail_start(&e->m) == 0 &&
	    th_mail_config(&e->m, conf, sizeof(conf)) == 0 &&
	    th_up(&e->d, conf) == 0)
		return 0;
	/* cmocka skips the teardown of a failed setup: undo it here. */
	life_teardown(state);
	return -1;
}

static int
life_teardown(void **state)
{
	struct lifeenv *e = *state;
	int rc;

	if (e == NULL)
		return 0;
	rc = th_stop_with_mail(&e->d, &e->m);
	free(e);
	*state = NULL;
	th_free_all();
	return rc;
}

/*
 * What a web application does with acctd besides login: a session for
 * an account signed in by SSO, a change with the current password, a
 * reset request and its confirmation with the token from the real mail.
 */
static void
test_lifecycle_through_library(void **state)
{
	struct lifeenv *e = *state;
	const char *sock = e->d.sock;
	char out[512], tok[128], in[256], *text;

	assert_int_equal(th_call_strs(sock, "user_add", "username", "sam",
	    "auth_provider", "oidc", "auth_id", "sub-1234", (char *)NULL),
	    ACCT_OK);
	assert_int_equal(th_call_strs(sock, "user_add", "username", "alice",
	    "email", "alice@example.org", "new_password", "alice-pass-1",
	    (char *)NULL), ACCT_OK);

	/* SSO: session_add, validate, the first local password with it. */
	step(sock, "sam-local-pass-1\n", "sso sam", out, sizeof(out));
	assert_string_equal(out, "session=81 user=sam auth=oidc validate=ok "
	    "as=sam passwd=ok after=invalid_token login=ok");

	/* Change with the current password; a wrong one is refused. */
	step(sock, "wrong-pass-9\nalice-pass-2\n", "passwd alice", out,
	    sizeof(out));
	assert_string_equal(out, "passwd=auth_failed");
	step(sock, "alice-pass-1\nshort\n", "passwd alice", out, sizeof(out));
	assert_true(th_contains(out, "passwd=password_policy ("));
	assert_true(th_contains(out, "8"));
	step(sock, "alice-pass-1\nalice-pass-2\n", "passwd alice", out,
	    sizeof(out));
	assert_string_equal(out, "passwd=ok");
	step(sock, "alice-pass-1\n", "login alice", out, sizeof(out));
	assert_string_equal(out, "login=auth_failed");
	step(sock, "alice-pass-2\n", "login alice", out, sizeof(out));
	assert_string_equal(out, "login=ok");

	/* Forgot: the same answer for an unknown address, and no mail. */
	step(sock, "", "forgot nobody@example.org 192.0.2.8", out,
	    sizeof(out));
	assert_string_equal(out, "forgot=ok");
	step(sock, "", "forgot alice@example.org 192.0.2.8", out,
	    sizeof(out));
	assert_string_equal(out, "forgot=ok");
	assert_non_null(text = th_mail_wait(&e->m, 1));
	assert_true(th_contains(text, "\nTo: alice@example.org\n"));
	assert_int_equal(th_mail_token(text, tok, sizeof(tok)), 0);

	/* Confirm with the mailed token: once. */
	snprintf(in, sizeof(in), "%s\nalice-pass-3\n", tok);
	step(sock, in, "reset", out, sizeof(out));
	assert_string_equal(out, "reset=ok user=alice activated=no");
	step(sock, in, "reset", out, sizeof(out));
	assert_string_equal(out, "reset=invalid_token");
	step(sock, "alice-pass-3\n", "login alice", out, sizeof(out));
	assert_string_equal(out, "login=ok");
	step(sock, "alice-pass-2\n", "login alice", out, sizeof(out));
	assert_string_equal(out, "login=auth_failed");
}

/* The new calls are in their own version node; the old keep theirs. */
static void
test_symbol_versions(void **state)
{
	char cmd[1024], out[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "objdump -T %s/libacct.so.0 | "
	    "awk '$NF == \"acct_passwd\" || $NF == \"acct_login\" "
	    "{ print $(NF-1), $NF }' | sort | tr '\\n' ' '", libdir());
	assert_int_equal(sh(cmd, out, sizeof(out)), 0);
	assert_string_equal(out, "LIBACCT_0 acct_login LIBACCT_0.2 "
	    "acct_passwd ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_staged_soname),
		cmocka_unit_test_setup_teardown(test_login_through_library,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_session_through_library,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_unreachable,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_through_library,
		    life_setup, life_teardown),
		cmocka_unit_test(test_symbol_versions),
	};

	return cmocka_run_group_tests(tests, build_demo, NULL);
}
