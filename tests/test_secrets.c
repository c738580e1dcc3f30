/*
 * test_secrets.c: passwords and tokens never reach the log, the audit
 * tables, acctc --json output or the database outside hash columns; the
 * daemon can not dump core and is not dumpable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_SECRETS	32

struct secrets {
	char	 s[MAX_SECRETS][160];
	int	 n;
};

static void
add_secret(struct secrets *k, const char *s)
{
	const char *u;

	assert_true(k->n < MAX_SECRETS - 1);
	snprintf(k->s[k->n++], sizeof(k->s[0]), "%s", s);
	/* A token's secret part (after the id) on its own, too. */
	if ((u = strchr(s, '_')) != NULL && strlen(u + 1) >= 16)
		snprintf(k->s[k->n++], sizeof(k->s[0]), "%s", u + 1);
}

/* Fail naming where a secret was found. */
static void
assert_clean(const struct secrets *k, const char *where, const void *buf,
    size_t len)
{
	assert_non_null(buf);
	for (int i = 0; i < k->n; i++)
		if (th_memmem(buf, len, k->s[i]))
			fail_msg("secret #%d found in %s", i, where);
}

static void
assert_file_clean(const struct secrets *k, const char *path, bool must)
{
	size_t len = 0;
	char *s = th_slurp(path, &len);

	if (s == NULL && !must)
		return;
	if (s == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	assert_clean(k, path, s, len);
}

/* A string result field of op(args) into out; the reply code. */
static int
call_get(const char *sock, const char *op, struct proto_msg *a,
    const char *key, char *out, size_t outsz)
{
	struct proto_reply rep;
	const msgpack_object *o;
	int rc = th_call(sock, op, a, &rep);

	if (rc == ACCT_OK)
		rc = rep.code;
	out[0] = '\0';
	if (rc == ACCT_OK && (o = proto_map_get(rep.result, key)) != NULL &&
	    o->type == MSGPACK_OBJECT_STR && o->via.str.size < outsz) {
		memcpy(out, o->via.str.ptr, o->via.str.size);
		out[o->via.str.size] = '\0';
	}
	proto_reply_free(&rep);
	return rc;
}

static void
test_no_secret_anywhere(void **state)
{
	struct th_daemon *d = *state;
	struct secrets *k = th_keep(calloc(1, sizeof(*k)));
	struct proto_msg a;
	struct th_result r;
	char pw1[64], pw2[64], bad[64], tok[160], path[200];
	char access_id[64] = "", app_id[64] = "";
	unsigned salt = (unsigned)time(NULL) ^ (unsigned)getpid();

	assert_non_null(k);
	snprintf(pw1, sizeof(pw1), "First-Secret-%08x", salt);
	snprintf(pw2, sizeof(pw2), "Second-Secret-%08x", salt * 7);
	snprintf(bad, sizeof(bad), "Wrong-Guess-%08x", salt * 13);
	add_secret(k, pw1);
	add_secret(k, pw2);
	add_secret(k, bad);
	assert_int_equal(th_up(d, "log_level = debug\n"), 0);

	/* The scenario: create with a password, change it (admin, then
	 * self-service style with the current one through acctc), log in
	 * with a session, fail a login, make tokens, validate, revoke. */
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "email", "carol@example.org");
	proto_kv_str(&a, "new_password", pw1);
	assert_int_equal(th_call_code(d->sock, "user_add", &a), ACCT_OK);
	proto_msg_free(&a);
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "new_password", pw2);
	assert_int_equal(th_call_code(d->sock, "passwd", &a), ACCT_OK);
	proto_msg_free(&a);

	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "password", pw2);
	proto_kv_str(&a, "service", "imap");
	proto_kv_bool(&a, "session", true);
	assert_int_equal(call_get(d->sock, "login", &a, "session", tok,
	    sizeof(tok)), ACCT_OK);
	proto_msg_free(&a);
	if (tok[0] != '\0')
		add_secret(k, tok);
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "password", bad);
	assert_int_equal(th_call_code(d->sock, "login", &a),
	    ACCT_ERR_AUTH_FAILED);
	proto_msg_free(&a);

	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "type", "access_token");
	assert_int_equal(call_get(d->sock, "token_add", &a, "token", tok,
	    sizeof(tok)), ACCT_OK);
	proto_msg_free(&a);
	assert_true(strlen(tok) > 16);
	add_secret(k, tok);
	snprintf(access_id, sizeof(access_id), "%.*s",
	    (int)strcspn(tok, "_"), tok);
	proto_msg_init(&a);
	proto_kv_str(&a, "token", tok);
	assert_int_equal(th_call_code(d->sock, "token_validate", &a),
	    ACCT_OK);
	proto_msg_free(&a);
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "type", "app_password");
	proto_kv_str(&a, "name", "phone");
	assert_int_equal(call_get(d->sock, "token_add", &a, "token", tok,
	    sizeof(tok)), ACCT_OK);
	proto_msg_free(&a);
	add_secret(k, tok);
	snprintf(app_id, sizeof(app_id), "%.*s", (int)strcspn(tok, "_"),
	    tok);
	/* An app password logs in as a password would. */
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "carol");
	proto_kv_str(&a, "password", tok);
	(void)th_call_code(d->sock, "login", &a);
	proto_msg_free(&a);

	/* Every --json output acctc gives about this state. */
	{
		const char *const cmds[][6] = {
			{ "hello" },
			{ "users", "ls" },
			{ "users", "show", "carol" },
			{ "audit", "logins" },
			{ "audit", "logins", "carol" },
			{ "auth", "ls" },
			{ "auth", "show", access_id },
			{ "auth", "show", app_id },
			{ "clients", "ls" },
		};

		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
			const char *args[8] = { "--json" };

			for (int j = 0; j < 6 && cmds[i][j]; j++)
				args[j + 1] = cmds[i][j];
			th_acctc_v(d->sock, NULL, NULL, args, &r);
			if (r.status != 0)
				fail_msg("acctc --json %s %s: %d: %s",
				    args[1], args[2] ? args[2] : "",
				    r.status, r.err);
			snprintf(path, sizeof(path), "acctc --json %s %s",
			    args[1], args[2] ? args[2] : "");
			assert_clean(k, path, r.out, strlen(r.out));
			assert_clean(k, path, r.err, strlen(r.err));
			th_result_free(&r);
		}
	}
	/* Failures too: a wrong password through acctc, its error in
	 * JSON mode, and the right one. */
	th_acctc(d, bad, &r, "--json", "auth", "test", "--password-stdin",
	    "carol", NULL);
	assert_int_equal(r.status, 1);
	assert_clean(k, "acctc auth test (wrong)", r.out, strlen(r.out));
	assert_clean(k, "acctc auth test (wrong)", r.err, strlen(r.err));
	th_result_free(&r);
	th_acctc(d, pw2, &r, "--json", "auth", "test", "--password-stdin",
	    "carol", NULL);
	assert_int_equal(r.status, 0);
	assert_clean(k, "acctc auth test", r.out, strlen(r.out));
	th_result_free(&r);

	/* Revoke one token by the token itself: not logged either. */
	proto_msg_init(&a);
	proto_kv_str(&a, "token", k->s[k->n - 2]);
	assert_int_equal(th_call_code(d->sock, "token_revoke", &a), ACCT_OK);
	proto_msg_free(&a);

	/* The log, every table (audit included) and the raw files. */
	assert_file_clean(k, d->log, true);
	{
		char *dump = th_keep(th_db_dump(d));

		assert_non_null(dump);
		assert_true(th_contains(dump, "audit"));
		assert_clean(k, "the database tables", dump, strlen(dump));
	}
	assert_int_equal(th_stop(d), 0);
	assert_file_clean(k, d->log, true);
	assert_file_clean(k, d->db, true);
	snprintf(path, sizeof(path), "%s-wal", d->db);
	assert_file_clean(k, path, false);
	snprintf(path, sizeof(path), "%s-shm", d->db);
	assert_file_clean(k, path, false);
}

/* Max core file size 0 in /proc/PID/limits. */
static void
test_no_core_dumps(void **state)
{
	struct th_daemon *d = *state;
	char path[64], *lim;

	assert_int_equal(th_up(d, NULL), 0);
	snprintf(path, sizeof(path), "/proc/%ld/limits", (long)d->pid);
	assert_non_null(lim = th_slurp(path, NULL));
	assert_non_null(strstr(lim, "Max core file size"));
	if (!th_contains(strstr(lim, "Max core file size"),
	    "Max core file size        0                    0"))
		fail_msg("core dumps possible:\n%s", lim);
}

/*
 * Not dumpable (PR_SET_DUMPABLE 0): even the daemon's own uid may not
 * read its memory or environment, and the kernel shows its /proc files
 * as root's. Run acctd as nobody to see it.
 */
static int
open_environ(void *arg, FILE *out)
{
	int fd = open(arg, O_RDONLY);

	fprintf(out, "%s", fd == -1 ? strerror(errno) : "readable");
	return fd == -1 && errno == EACCES ? 0 : 1;
}

/* Running, and not a zombie left to an init that does not reap. */
static bool
alive(pid_t pid)
{
	char path[64], buf[256], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int
start_as(void *arg, FILE *out)
{
	struct th_daemon *d = arg;

	if (th_start(d) == -1)
		return 1;
	fprintf(out, "%ld", (long)d->pid);
	return 0;
}

static void
test_not_dumpable(void **state)
{
	struct th_daemon *d = *state;
	const struct th_cred nobody = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	char path[64], msg[128];
	struct stat sb;

	if (!th_is_root())
		skip();		/* needs another uid to run acctd as */
	assert_int_equal(th_init(d, NULL), 0);
	assert_int_equal(chown(d->dir, TH_NOBODY, TH_NOBODY), 0);
	/* th_start() as nobody; acctd outlives that child. */
	assert_int_equal(th_as(&nobody, start_as, d, msg, sizeof(msg)), 0);
	d->pid = (pid_t)atol(msg);
	th_trust_server(TH_NOBODY);	/* clients trust only root else */
	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
	assert_true(d->pid > 0);
	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)d->pid);
	assert_int_equal(stat(path, &sb), 0);
	/* Dumpable processes' /proc files belong to their uid. */
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(th_as(&nobody, open_environ, path, msg, sizeof(msg)),
	    0);
	/* Stop it: it is not our child, so no exit status to check. */
	assert_int_equal(kill(d->pid, SIGTERM), 0);
	for (int i = 0; i < 200 && alive(d->pid); i++)
		usleep(50 * 1000);
	assert_false(alive(d->pid));
	d->pid = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_no_secret_anywhere,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_no_core_dumps,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_not_dumpable,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
