/*
 * test_service_logins.c: the rules every service path applies alike, one
 * table of names and passwords sent through pam_acct (the real
 * pamtester), the saslauthd socket (raw, for the bytes PAM cannot carry)
 * and the Dovecot auth socket (the real doveadm): the exact name only,
 * no email, no root, no NUL, and a two-factor account's password
 * answered like any failure; and pam_acct in a setuid program, whose
 * real user's limits apply.
 */
#include <sys/stat.h>
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

#define PW		"alice-pass-1"
#define BOB_PW		"bob-pass-1"
#define PAMTESTER	"/usr/bin/pamtester"
#define DOVEADM		"/usr/bin/doveadm"

static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

struct env {
	struct th_daemon d;
	struct th_pam	 p;
	char		 mux[160];
	char		 dove[160];	/* the Dovecot auth socket */
	char		 doveconf[160];	/* an empty dovecot.conf for doveadm */
	char		 suid_dir[64];	/* a setuid pamtester, or "" */
};

static int teardown(void **state);

static int
up(void **state, const char *conf, bool staged)
{
	struct env *e = calloc(1, sizeof(*e));
	char extra[512], text[512], secret[64], recovery[32];
	int rc;

	if ((*state = e) == NULL)
		return -1;
	if (!th_is_root()) {
		fprintf(stderr, "test_service_logins: needs root (pam.d, "
		    "other uids)\n");
		return -1;
	}
	if (th_init(&e->d, NULL) != 0)
		goto fail;
	snprintf(e->mux, sizeof(e->mux), "%s/mux", e->d.dir);
	snprintf(e->dove, sizeof(e->dove), "%s/dovecot", e->d.dir);
	snprintf(e->doveconf, sizeof(e->doveconf), "%s/dovecot.conf",
	    e->d.dir);
	snprintf(extra, sizeof(extra), "saslauthd_socket = %s\n"
	    "dovecot_auth_socket = %s\n%s", e->mux, e->dove,
	    conf ? conf : "");
	{
		FILE *f = fopen(e->doveconf, "w");

		if (f == NULL || fclose(f) != 0 || chmod(e->doveconf, 0644))
			goto fail;
	}
	snprintf(text, sizeof(text), "auth required MODULE socket=%s "
	    "nocode\naccount required MODULE socket=%s\n", e->d.sock,
	    e->d.sock);
	/* A setuid program loads no sanitizer runtime: the plain module. */
	rc = staged ? th_pam_service(&e->p, e->d.dir, text) :
	    th_pam_service_build(&e->p, e->d.dir, text);
	if (rc != 0 || th_write_config(&e->d, extra) != 0 ||
	    th_start(&e->d) != 0 ||
	    th_add_user(e->d.sock, "alice", PW) != ACCT_OK ||
	    th_call_strs(e->d.sock, "user_mod", "username", "alice", "email",
	    "alice@example.org", (char *)NULL) != ACCT_OK ||
	    th_add_user(e->d.sock, "root", PW) != ACCT_OK ||
	    th_add_user(e->d.sock, "bob", BOB_PW) != ACCT_OK ||
	    th_totp_enrol(e->d.sock, "bob", secret, recovery) != 0)
		goto fail;
	return 0;
fail:
	teardown(state);
	return -1;
}

static int
setup(void **state)
{
	return up(state, NULL, false);
}

static int
teardown(void **state)
{
	struct env *e = *state;
	char path[128];
	int rc = 0;

	if (e == NULL)
		return 0;
	th_pam_remove(&e->p);
	if (e->suid_dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/pamtester", e->suid_dir);
		unlink(path);
		rmdir(e->suid_dir);
	}
	if (e->d.pid > 0 && th_stop(&e->d) != 0)
		rc = -1;
	th_cleanup(&e->d);
	free(e);
	*state = NULL;
	th_free_all();
	return rc;
}

/* One saslauthd request of counted strings with the lengths given (so
 * they may hold NUL bytes); the reply's text, "" if none. */
static void
mux(const struct env *e, const char *user, size_t ulen, const char *pw,
    size_t plen, char *out, size_t outsz)
{
	const char *f[] = { user, pw, "smtp", "" };
	size_t len[] = { ulen, plen, 4, 0 };

	th_sasl_request(e->mux, &authn, f, len, 4, out, outsz);
}

/* pamtester authenticate as root: true when it passed. */
static bool
pam_ok(struct env *e, const char *user, const char *pw)
{
	char in[160];
	struct th_result r;
	int st;

	snprintf(in, sizeof(in), "%s\n", pw);
	st = th_pamtester(&e->p, NULL, user, in, NULL, "authenticate", &r);
	th_result_free(&r);
	return st == 0;
}

/* doveadm auth test as an authenticator: true when it passed; what it
 * said in out. */
static bool
dove_ok(const struct env *e, const char *user, const char *pw, char *out,
    size_t outsz)
{
	const char *const argv[] = { DOVEADM, "-c", e->doveconf, "auth",
	    "test", "-a", e->dove, "-x", "service=smtp", user, pw, NULL };
	struct th_result r;
	int st = th_run_v(argv, &authn, NULL, NULL, &r);

	snprintf(out, outsz, "%s%s", r.out ? r.out : "", r.err ? r.err : "");
	th_result_free(&r);
	return st == 0;
}

/*
 * The table: each name and password through the three paths, and the
 * same outcome from each. Every refusal of the saslauthd socket reads
 * as a wrong password does, the two-factor account's right password
 * too, and Dovecot's never mentions a code.
 */
static void
test_same_rules_every_path(void **state)
{
	static const struct {
		const char	*user;
		const char	*pw;
		bool		 ok;
	} table[] = {
		{ "alice",		PW,		true },
		{ "alice",		"wrong-pass",	false },
		{ "ALICE",		PW,		false },
		{ "Alice",		PW,		false },
		{ "alice@example.org",	PW,		false },
		{ "root",		PW,		false },
		{ "bob",		BOB_PW,		false },
		{ "nobody-here",	PW,		false },
	};
	struct env *e = *state;
	char out[256], wrong[256], dove[1024];

	TH_NEED_ROOT();
	mux(e, "alice", 5, "wrong-pass", 10, wrong, sizeof(wrong));
	assert_true(strncmp(wrong, "NO ", 3) == 0);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		bool pam = pam_ok(e, table[i].user, table[i].pw);

		mux(e, table[i].user, strlen(table[i].user), table[i].pw,
		    strlen(table[i].pw), out, sizeof(out));
		bool dv = dove_ok(e, table[i].user, table[i].pw, dove,
		    sizeof(dove));

		print_message("%s: pam %s, saslauthd \"%s\", dovecot %s\n",
		    table[i].user, pam ? "OK" : "refused", out, dv ? "OK" :
		    "refused");
		assert_true(pam == table[i].ok);
		assert_true(dv == table[i].ok);
		assert_false(th_contains(dove, "code"));
		if (table[i].ok)
			assert_string_equal(out, "OK");
		else
			assert_string_equal(out, wrong);
	}
	/* What PAM cannot carry: a name or password cut by a NUL. */
	mux(e, "alice\0admin", 11, PW, strlen(PW), out, sizeof(out));
	assert_string_equal(out, wrong);
	mux(e, "alice", 5, PW "\0junk", strlen(PW) + 5, out, sizeof(out));
	assert_string_equal(out, wrong);
	/* Nothing of the refused names logged in, on either path. */
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE status = 'OK' AND username <> 'alice' AND "
	    "realm <> 'totp_confirm'", NULL), 0);
}

/* The module's refusal of an email address is the audit's too: acctd
 * itself refused it, so no row says OK. */
static void
test_email_refusal_audited(void **state)
{
	struct env *e = *state;

	TH_NEED_ROOT();
	assert_false(pam_ok(e, "alice@example.org", PW));
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE username = 'alice@example.org' AND status = 'FAILED'",
	    NULL), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM audit_logins "
	    "WHERE status = 'OK' AND realm = ?1", e->p.service, NULL), 0);
	/* And it counted, as an unknown name does. */
	assert_int_equal(th_db_int(&e->d, "SELECT failed_logins FROM accounts "
	    "WHERE username = 'alice'", NULL), 0);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM "
	    "throttle_sources WHERE failures = 1", NULL), 1);
}

/* A copy of pamtester, setuid root, in a directory anyone may enter. */
static const char *
suid_pamtester(struct env *e)
{
	static char path[128];
	char cmd[256];

	snprintf(e->suid_dir, sizeof(e->suid_dir), "/tmp/acctd-suid-XXXXXX");
	if (mkdtemp(e->suid_dir) == NULL || chmod(e->suid_dir, 0755) == -1)
		return NULL;
	snprintf(path, sizeof(path), "%s/pamtester", e->suid_dir);
	snprintf(cmd, sizeof(cmd), "cp " PAMTESTER " %s", path);
	if (system(cmd) != 0 || chown(path, 0, 0) == -1 ||
	    chmod(path, 04755) == -1)
		return NULL;
	return path;
}

static int
setup_suid(void **state)
{
	/* Hashes slow enough that two logins overlap. */
	return up(state, "argon2_memory_kib = 65536\nargon2_time = 24\n",
	    true);
}

/* The setuid pamtester as uid 1234: its exit status. */
static int
suid_login(struct env *e, const char *prog, const char *pw)
{
	static const struct th_cred user = { .uid = 1234, .gid = 1234 };
	const char *const argv[] = { prog, e->p.service, "alice",
	    "authenticate", NULL };
	char in[64];
	struct th_result r;
	int st;

	snprintf(in, sizeof(in), "%s\n", pw);
	st = th_run_v(argv, &user, in, NULL, &r);
	th_result_free(&r);
	return st;
}

/*
 * su and its kind run pam_acct as root for a plain user: acctd charges
 * that user. Failures count against the user's uid, not root's service
 * source; and two hashes at once are one more than the user may have.
 */
static void
test_setuid_caller_is_its_user(void **state)
{
	struct env *e = *state;
	const char *prog;
	pid_t kid[2];
	int st, busy = 0;

	TH_NEED_ROOT();
	assert_non_null(prog = suid_pamtester(e));
	assert_int_not_equal(suid_login(e, prog, "wrong-pass"), 0);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM "
	    "throttle_sources WHERE peer_uid = 1234 AND remote_addr = '' "
	    "AND failures = 1", NULL), 1);
	assert_int_equal(th_db_int(&e->d, "SELECT count(*) FROM "
	    "throttle_sources WHERE peer_uid = 0", NULL), 0);
	/* Two at once: the second is refused as busy (one hash a uid). */
	for (int i = 0; i < 2; i++) {
		if ((kid[i] = fork()) == 0)
			_exit(suid_login(e, prog, "wrong-pass") & 0xff);
		assert_true(kid[i] > 0);
		if (i == 0)
			assert_int_equal(th_wait_log(&e->d, 0, "acting for "
			    "uid 1234", TH_WAIT_MS), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(kid[i], &st, 0), kid[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	}
	busy = th_wait_log(&e->d, 0, "uid 1234: no hash worker free",
	    TH_WAIT_MS) == 0;
	assert_true(busy);
	/* Root itself, not setuid, is still a service with its reserve. */
	assert_true(pam_ok(e, "alice", PW));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_rules_every_path,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_email_refusal_audited,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_setuid_caller_is_its_user,
		    setup_suid, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
