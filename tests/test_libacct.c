/*
 * test_libacct.c: builds tests/libacct/demo.c against the staged install
 * (ACCT_STAGE, from 'make install DESTDIR=...') with pkg-config, and
 * authenticates through the installed library against a real acctd.
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

static char demo[256];

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

static int
build_demo(void **state)
{
	const char *stage = getenv("ACCT_STAGE");
	char cmd[2048], out[512];

	(void)state;
	if (stage == NULL) {
		fprintf(stderr, "ACCT_STAGE is not set: run through make test\n");
		return -1;
	}
	snprintf(demo, sizeof(demo), "%s/demo", stage);
	/* SYSROOT prefixes the .pc file's /usr paths with the stage. */
	snprintf(cmd, sizeof(cmd), "PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s cc -Wall -Werror -o %s "
	    "tests/libacct/demo.c $(PKG_CONFIG_PATH=%s/usr/lib/pkgconfig "
	    "PKG_CONFIG_SYSROOT_DIR=%s pkg-config --cflags --libs libacct) "
	    "2>&1", stage, stage, demo, stage, stage);
	if (sh(cmd, out, sizeof(out)) != 0) {
		fprintf(stderr, "building the demo failed: %s\n", out);
		return -1;
	}
	return 0;
}

static int
run_demo_mode(const struct th_daemon *d, const char *user, const char *pw,
    const char *mode, char *out, size_t outsz)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' | "
	    "LD_LIBRARY_PATH=%s/usr/lib %s %s %s %s", pw, getenv("ACCT_STAGE"),
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
	snprintf(cmd, sizeof(cmd), "LD_LIBRARY_PATH=%s/usr/lib ldd %s | "
	    "grep libacct", getenv("ACCT_STAGE"), demo);
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
	};

	return cmocka_run_group_tests(tests, build_demo, NULL);
}
