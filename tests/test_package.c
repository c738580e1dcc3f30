/*
 * test_package.c: the ways acctd is installed. `make deb`: lintian has
 * nothing to say, dpkg -i puts each file where Debian keeps its kind,
 * the groups, directories and socket come with it, the installed acctd
 * runs on the shipped sample config, fail2ban's filter is a conffile,
 * and dpkg -r and dpkg -P leave the machine as it was (the test removes
 * the groups the package made: Debian keeps system groups on purge).
 * `make uninstall` undoes `make install`. This machine is also the
 * developers': a package already installed here is a failure, not
 * something to remove.
 */
#include <sys/stat.h>

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

#define MULTIARCH	"x86_64-linux-gnu"

/* Run argv; fail the test unless it exits want. r keeps its output. */
static void
run_want(int want, struct th_result *r, const char *const *argv)
{
	th_result_free(r);
	if (th_run_v(argv, NULL, NULL, NULL, r) != want)
		fail_msg("%s %s: status %d, want %d\n%s%s", argv[0],
		    argv[1] ? argv[1] : "", r->status, want, r->out, r->err);
}
#define RUN(want, r, ...)	run_want((want), (r),			\
	(const char *const[]){ __VA_ARGS__, NULL })

static bool
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool
group_exists(const char *name)
{
	struct th_result r = { 0 };
	const char *const argv[] = { "/usr/bin/getent", "group", name, NULL };
	bool yes = th_run_v(argv, NULL, NULL, NULL, &r) == 0;

	th_result_free(&r);
	return yes;
}

static bool
installed(void)
{
	struct th_result r = { 0 };
	const char *const argv[] = { "/usr/bin/dpkg-query", "-W", "-f",
	    "${Status}", "acctd", NULL };
	bool yes = th_run_v(argv, NULL, NULL, NULL, &r) == 0 &&
	    th_contains(r.out, "installed") &&
	    !th_contains(r.out, "not-installed");

	th_result_free(&r);
	return yes;
}

/* What the package may touch outside its own files, as one string. */
static char *
snapshot(void)
{
	struct th_result r = { 0 };
	const char *const argv[] = { "/bin/sh", "-c",
	    "find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled"
	    " /var/lib/systemd/deb-systemd-helper-masked /etc/acctd"
	    " /var/lib/acctd /usr/share/bash-completion/completions/acctc"
	    " /etc/fail2ban/filter.d/acctd.conf"
	    " -printf '%p %l\\n' 2>/dev/null | sort;"
	    " getent group acctadm acctauth; true", NULL };
	char *s;

	assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r), 0);
	s = r.out;
	r.out = NULL;
	th_result_free(&r);
	return s;
}

struct pkgenv {
	bool	 ours;			/* we installed it: remove it */
	bool	 had_group[2];		/* acctadm, acctauth before */
	char	 tmp[64];
};

static const char *const groups[2] = { "acctadm", "acctauth" };

static int
setup(void **state)
{
	struct pkgenv *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -1;
	*state = e;
	for (int i = 0; i < 2; i++)
		e->had_group[i] = group_exists(groups[i]);
	strcpy(e->tmp, "/tmp/acctd-pkg.XXXXXX");
	return mkdtemp(e->tmp) != NULL ? 0 : -1;
}

/* Whatever happened, the machine as it was. */
static int
teardown(void **state)
{
	struct pkgenv *e = *state;
	struct th_result r = { 0 };
	int rc = 0;

	if (e == NULL)
		return 0;
	if (e->ours && installed()) {
		const char *const argv[] = { "/usr/bin/dpkg", "--purge",
		    "acctd", NULL };
		if (th_run_v(argv, NULL, NULL, NULL, &r) != 0)
			rc = -1;
		th_result_free(&r);
	}
	for (int i = 0; e->ours && i < 2; i++)
		if (!e->had_group[i] && group_exists(groups[i])) {
			const char *const argv[] = { "/usr/sbin/groupdel",
			    groups[i], NULL };
			if (th_run_v(argv, NULL, NULL, NULL, &r) != 0)
				rc = -1;
			th_result_free(&r);
		}
	{
		const char *const argv[] = { "/bin/rm", "-rf", e->tmp, NULL };
		(void)th_run_v(argv, NULL, NULL, NULL, &r);
		th_result_free(&r);
	}
	free(e);
	th_free_all();
	return rc;
}

static const char *
deb_path(void)
{
	static char path[512];
	struct th_result r = { 0 };
	const char *const args[] = { "deb", NULL };

	/* Builds from the normal build, whichever pass runs the tests. */
	if (th_make(args, &r) != 0)
		fail_msg("make deb: status %d\n%s%s", r.status, r.out, r.err);
	th_result_free(&r);
	snprintf(path, sizeof(path), "%s/build/acctd_0.1.0_amd64.deb",
	    th_srcdir());
	assert_true(exists(path));
	return path;
}

/* lintian, as a user (it warns about root), with nothing unexplained:
 * the package's overrides carry the reasons. */
static void
test_lintian(void **state)
{
	struct th_cred nobody = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	struct th_result r = { 0 };
	const char *deb = deb_path();
	const char *const argv[] = { "/usr/bin/lintian", "--tag-display-limit",
	    "0", "-I", "-E", "--pedantic", "--fail-on",
	    "error,warning,info,pedantic", deb, NULL };
	const char *const env[] = { "HOME=/tmp", "TMPDIR=/tmp", NULL };

	(void)state;
	if (!th_is_root())
		skip();
	if (th_run_v(argv, &nobody, NULL, env, &r) != 0 || r.out[0] != '\0')
		fail_msg("lintian: status %d\n%s%s", r.status, r.out, r.err);
	th_result_free(&r);
}

/* A Debian path: in the package and on disk. */
static void
assert_file(const char *list, const char *path)
{
	char line[300];

	snprintf(line, sizeof(line), "\n%s\n", path);
	if (!th_contains(list, line))
		fail_msg("%s is not in the package:\n%s", path, list);
	if (!exists(path))
		fail_msg("%s is not on disk", path);
}

static void
test_install_remove_purge(void **state)
{
	struct pkgenv *e = *state;
	struct th_result r = { 0 };
	struct stat st;
	char *before, *list, sock[128], db[128];
	const char *deb;
	static const char *const files[] = {
		"/usr/sbin/acctd", "/usr/bin/acctc",
		"/usr/lib/" MULTIARCH "/libacct.so.0.1.0",
		"/usr/lib/" MULTIARCH "/libacct.so.0",
		"/usr/lib/" MULTIARCH "/libacct.so",
		"/usr/lib/" MULTIARCH "/pkgconfig/libacct.pc",
		"/usr/include/acct.h",
		"/lib/" MULTIARCH "/security/pam_acct.so",
		"/lib/systemd/system/acctd.service",
		"/lib/systemd/system/acctd.socket",
		"/usr/lib/sysusers.d/acctd.conf",
		"/usr/lib/tmpfiles.d/acctd.conf",
		"/usr/share/man/man1/acctc.1.gz",
		"/usr/share/man/man3/libacct.3.gz",
		"/usr/share/man/man5/acctd.conf.5.gz",
		"/usr/share/man/man7/acctd-protocol.7.gz",
		"/usr/share/man/man8/acctd.8.gz",
		"/usr/share/man/man8/pam_acct.8.gz",
		"/usr/share/bash-completion/completions/acctc",
		"/usr/share/doc/acctd/copyright",
		"/usr/share/doc/acctd/examples/mailer-postfix.conf",
		"/usr/share/doc/acctd/examples/mailer-smtp.conf",
		"/usr/share/doc/acctd/examples/fail2ban-jail.local",
		"/etc/acctd/acctd.conf",
	};

	if (!th_is_root())
		skip();
	if (installed())
		fail_msg("a package acctd is installed on this machine: this "
		    "test would remove it; dpkg -r acctd first");
	deb = deb_path();
	before = snapshot();
	e->ours = true;
	RUN(0, &r, "/usr/bin/dpkg", "-i", deb);
	assert_true(installed());

	RUN(0, &r, "/usr/bin/dpkg", "-L", "acctd");
	list = th_keep(malloc(strlen(r.out) + 2));
	sprintf(list, "\n%s", r.out);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		assert_file(list, files[i]);
	RUN(0, &r, "/usr/bin/dpkg-query", "-W", "-f", "${Conffiles}", "acctd");
	assert_true(th_contains(r.out, "/etc/acctd/acctd.conf "));
	assert_file(list, "/etc/fail2ban/filter.d/acctd.conf");
	assert_true(th_contains(r.out, "/etc/fail2ban/filter.d/acctd.conf "));
	/* The library where the loader and pkg-config find it. */
	RUN(0, &r, "/sbin/ldconfig", "-p");
	assert_true(th_contains(r.out, "libacct.so.0 (libc6,x86-64) => "
	    "/lib/" MULTIARCH "/libacct.so.0") ||
	    th_contains(r.out, "libacct.so.0 (libc6,x86-64) => "
	    "/usr/lib/" MULTIARCH "/libacct.so.0"));
	RUN(0, &r, "/usr/bin/pkg-config", "--variable=libdir", "libacct");
	assert_string_equal(r.out, "/usr/lib/" MULTIARCH "\n");
	RUN(0, &r, "/usr/bin/pkg-config", "--print-requires-private",
	    "libacct");
	assert_string_equal(r.out, "msgpack\nlibbsd\n");
	/* What the maintainer scripts made. */
	assert_true(group_exists("acctadm") && group_exists("acctauth"));
	assert_int_equal(stat("/var/lib/acctd", &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(lstat("/etc/systemd/system/sockets.target.wants/"
	    "acctd.socket", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	/* The installed daemon on the shipped config, privately. */
	snprintf(sock, sizeof(sock), "%s/sock", e->tmp);
	snprintf(db, sizeof(db), "%s/db/acctd.db", e->tmp);
	RUN(0, &r, "/usr/sbin/acctd", "--version");
	assert_string_equal(r.out, "acctd 0.1.0\n");
	{
		const char *const argv[] = { "/bin/sh", "-c",
		    "/usr/sbin/acctd -f -c /etc/acctd/acctd.conf -s \"$0\" "
		    "-d \"$1\" 2>/dev/null & pid=$!; i=0; "
		    "while [ ! -S \"$0\" ] && [ $i -lt 200 ]; do sleep 0.05; "
		    "i=$((i + 1)); done; /usr/bin/acctc --socket \"$0\" hello; "
		    "rc=$?; kill $pid; wait $pid; echo \"acctd $?\"; exit $rc",
		    sock, db, NULL };
		assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r), 0);
		assert_true(th_contains(r.out, "acctd 0\n"));
	}

	/* Remove: the files go, the conffile stays. */
	RUN(0, &r, "/usr/bin/dpkg", "-r", "acctd");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) - 1; i++)
		if (exists(files[i]))
			fail_msg("%s is still there after dpkg -r", files[i]);
	assert_true(exists("/etc/acctd/acctd.conf"));
	assert_true(exists("/etc/fail2ban/filter.d/acctd.conf"));
	/* Purge: nothing of it. */
	RUN(0, &r, "/usr/bin/dpkg", "-P", "acctd");
	assert_false(installed());
	assert_false(exists("/etc/acctd"));
	assert_false(exists("/etc/fail2ban/filter.d/acctd.conf"));
	assert_false(exists("/var/lib/acctd"));
	/* The groups are ours to remove (Debian's packages keep them). */
	for (int i = 0; i < 2; i++)
		if (!e->had_group[i])
			RUN(0, &r, "/usr/sbin/groupdel", groups[i]);
	e->ours = false;
	assert_string_equal(snapshot(), before);
	th_result_free(&r);
}

/* make uninstall removes what make install put, and keeps an edited
 * configuration. */
static void
test_uninstall(void **state)
{
	struct pkgenv *e = *state;
	struct th_result r = { 0 };
	char dest[128], conf[192], *left;
	FILE *f;

	snprintf(dest, sizeof(dest), "DESTDIR=%s/stage", e->tmp);
	snprintf(conf, sizeof(conf), "%s/stage/etc/acctd/acctd.conf", e->tmp);
	const char *const install[] = { "install", dest, "PREFIX=/usr/local",
	    NULL };
	const char *const uninstall[] = { "uninstall", dest,
	    "PREFIX=/usr/local", NULL };
	char find[256];
	snprintf(find, sizeof(find), "find %s/stage ! -type d", e->tmp);
	const char *const sh[] = { "/bin/sh", "-c", find, NULL };

	if (th_make(install, &r) != 0)
		fail_msg("make install: %s%s", r.out, r.err);
	RUN(0, &r, "/bin/sh", "-c", find);
	assert_true(th_count(r.out, "\n") >= 20);
	assert_true(th_contains(r.out, "/usr/local/sbin/acctd\n"));
	assert_true(exists(conf));
	th_result_free(&r);
	if (th_make(uninstall, &r) != 0)
		fail_msg("make uninstall: %s%s", r.out, r.err);
	th_result_free(&r);
	assert_int_equal(th_run_v(sh, NULL, NULL, NULL, &r), 0);
	if (r.out[0] != '\0')
		fail_msg("left after make uninstall:\n%s", r.out);

	/* An edited acctd.conf is the admin's. */
	th_result_free(&r);
	assert_int_equal(th_make(install, &r), 0);
	assert_non_null(f = fopen(conf, "a"));
	fputs("site_name = Mine\n", f);
	assert_int_equal(fclose(f), 0);
	th_result_free(&r);
	assert_int_equal(th_make(uninstall, &r), 0);
	assert_true(th_contains(r.out, "keeping"));
	th_result_free(&r);
	assert_int_equal(th_run_v(sh, NULL, NULL, NULL, &r), 0);
	left = r.out;
	snprintf(find, sizeof(find), "%s\n", conf);
	assert_string_equal(left, find);
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lintian),
		cmocka_unit_test_setup_teardown(test_install_remove_purge,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_uninstall, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
