/*
 * test_faults.c: fault loops as SQLite runs them. A fixed script of
 * requests runs from the same database again and again, with the Nth
 * write, pwrite, fsync, fdatasync or allocation of acctd failing, for N
 * from 1 until the script no longer reaches a fault. After each run the
 * daemon answered every request or failed it with a clear error, still
 * serves (or exited cleanly and starts again), stops cleanly (or, in
 * every other run, is killed and recovers), and the database is intact
 * and holds every acknowledged change, whole.
 *
 * Each N is tried twice: call N alone fails, and call N and every later
 * one fail (the disk or the memory stays gone until the script ends).
 * ACCT_FAULTS=full (make torture) tries every N; otherwise a sample of
 * them, chosen from a seed that is printed (ACCT_SEED=S repeats it);
 * ACCT_FAULT_AT=KIND:N (or N+) runs one and shows the daemon's log.
 * Last, a failed commit of a two-factor login leaves its code unspent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/wait.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../acctd/acctd.h"
#include "harness.h"
#include "faults/fault_shim.h"

#define REPLY_MS	10000	/* a reply later than this is a hang */
#define HELLO_MS	1000	/* after a fault, hello answers within this */
#define SAMPLE_SYSCALL	40	/* runs per syscall kind in the short loop */
#define SAMPLE_ALLOC	200	/* and for allocations; a quarter of these
				 * with the fault persisting */

static const char *const kind_names[FAULT_NKINDS] = {
	[FAULT_WRITE] = "write", [FAULT_PWRITE] = "pwrite",
	[FAULT_FSYNC] = "fsync", [FAULT_FDATASYNC] = "fdatasync",
	[FAULT_ALLOC] = "allocation",
};

/* The script, in order. */
enum step {
	S_ADD_DAVE, S_MOD_ALICE, S_PASSWD_BOB, S_TOKEN_DAVE, S_REVOKE_ALICE,
	S_FAIL_CAROL, S_LOGIN_ALICE, S_RM_CAROL, S_IMPORT, S_LOGIN_ERIN,
	S_APP_ALICE, S_NOLOGIN_DAVE, S_PASSWD_ALICE, S_HELLO, S__COUNT
};

static const char *const step_names[S__COUNT] = {
	"user_add dave", "user_mod alice", "passwd bob", "token_add dave",
	"token_revoke alice's", "login carol (wrong)", "login alice",
	"user_rm carol", "user_import erin frank", "login erin",
	"token_add alice app", "user_mod dave no login", "passwd alice",
	"hello",
};

#define CLOSED	(-1)	/* no reply: the connection closed */

struct outcome {
	int	code;			/* ACCT_OK, an error code, CLOSED */
	int64_t	syncs;			/* fsync and fdatasync calls it made */
	char	token[TOKEN_STRING_LEN];/* a token the reply gave */
};

/* What the database holds before the script: tokens made in setup. */
struct base {
	char	path[160];		/* the database file to start from */
	char	sess_alice[TOKEN_STRING_LEN];
	char	sess_bob[TOKEN_STRING_LEN];
	char	access_alice[TOKEN_STRING_LEN];
	char	app_carol[TOKEN_STRING_LEN];
	char	import[512];		/* user_import data: erin, frank */
	int64_t	carol_failures;
};

struct fx {
	struct th_daemon	 d;
	struct base		 b;
	char			 ctl_path[160];
	struct fault_ctl	*ctl;
	const char		*shim;
	char			 preload[512];
	char			 ctl_env[192];
	int64_t			 calls[FAULT_NKINDS];	/* in the last run */
	bool			 full;		/* every N, not a sample */
	bool			 verbose;	/* each run's replies */
	int			 only_kind;	/* ACCT_FAULT_AT, or -1 */
	int64_t			 only_n;
	bool			 only_persist;
	unsigned		 seed;
};

/* Figures of one kind's loop. */
struct tally {
	int	runs;
	int	injected;	/* runs in which the fault was reached */
	int	errors;		/* requests answered with an error */
	int	closed;		/* requests whose connection closed */
	int	fatal;		/* runs after which acctd had exited */
};

/* ---- the daemon under the shim ---- */

static int
start_shimmed(struct fx *f)
{
	const char *wrap[] = { "env", f->preload, f->ctl_env, NULL };

	return th_start_wrapped(&f->d, wrap);
}

static void
arm(struct fx *f, int kind, int64_t target, bool persist)
{
	struct fault_ctl *c = f->ctl;

	atomic_store(&c->counting, 0);
	for (int k = 0; k < FAULT_NKINDS; k++)
		atomic_store(&c->calls[k], 0);
	atomic_store(&c->injected, 0);
	atomic_store(&c->kind, kind);
	atomic_store(&c->target, target);
	atomic_store(&c->persist, persist);
	atomic_store(&c->counting, 1);
}

static void
disarm(struct fx *f)
{
	atomic_store(&f->ctl->counting, 0);
	atomic_store(&f->ctl->kind, -1);
}

/* The syncs counted so far. */
static int64_t
synced(const struct fx *f)
{
	return atomic_load(&f->ctl->calls[FAULT_FSYNC]) +
	    atomic_load(&f->ctl->calls[FAULT_FDATASYNC]);
}

/* ---- requests on one connection ---- */

struct conn {
	const char	*sock;
	int		 fd;
	uint64_t	 id;
};

/*
 * One request: its reply code, CLOSED when the daemon closed the
 * connection instead (the next request reconnects). A reply that is
 * late, malformed or of an unknown code fails the test.
 */
static int
request(struct conn *c, const char *op, struct proto_msg *args,
    struct outcome *o)
{
	struct proto_reply rep;
	const msgpack_object *t;
	int r;

	memset(o, 0, sizeof(*o));
	if (c->fd == -1 && (c->fd = th_connect(c->sock)) == -1)
		return o->code = CLOSED;
	if (th_send_request(c->fd, ++c->id, op, args) == -1)
		r = TH_EOF;
	else
		r = th_recv(c->fd, REPLY_MS, &rep);
	if (r == TH_TIMEOUT)
		fail_msg("%s: no reply within %d ms", op, REPLY_MS);
	if (r == TH_MALFORMED)
		fail_msg("%s: malformed reply", op);
	if (r != TH_REPLY) {
		close(c->fd);
		c->fd = -1;
		return o->code = CLOSED;
	}
	o->code = rep.code;
	if (rep.code != ACCT_OK && (rep.code < 1 || rep.code > 18 ||
	    rep.message[0] == '\0'))
		fail_msg("%s: error %d without a known code and a message",
		    op, rep.code);
	if (rep.code == ACCT_OK && (t = proto_map_get(rep.result, "token")) !=
	    NULL && t->type == MSGPACK_OBJECT_STR &&
	    t->via.str.size < sizeof(o->token))
		memcpy(o->token, t->via.str.ptr, t->via.str.size);
	proto_reply_free(&rep);
	return o->code;
}

static void
token_id(const char *token, char id[TOKEN_ID_LEN])
{
	snprintf(id, TOKEN_ID_LEN, "%.16s", token);
}

/* Step i of the script. */
static void
run_step(struct fx *f, struct conn *c, enum step i, struct outcome *o)
{
	const struct base *b = &f->b;
	struct proto_msg a;
	char id[TOKEN_ID_LEN];
	const char *op = NULL;

	proto_msg_init(&a);
	switch (i) {
	case S_ADD_DAVE:
		op = "user_add";
		proto_kv_str(&a, "username", "dave");
		proto_kv_str(&a, "email", "dave@example.org");
		proto_kv_str(&a, "new_password", "dave-pass-1");
		break;
	case S_MOD_ALICE:
		op = "user_mod";
		proto_kv_str(&a, "username", "alice");
		proto_kv_str(&a, "name", "Alice Changed");
		break;
	case S_PASSWD_BOB:
		op = "passwd";
		proto_kv_str(&a, "username", "bob");
		proto_kv_str(&a, "new_password", "bob-pass-2");
		break;
	case S_TOKEN_DAVE:
		op = "token_add";
		proto_kv_str(&a, "type", "access_token");
		proto_kv_str(&a, "username", "dave");
		break;
	case S_REVOKE_ALICE:
		op = "token_revoke";
		token_id(b->access_alice, id);
		proto_kv_str(&a, "id", id);
		break;
	case S_FAIL_CAROL:
		op = "login";
		proto_kv_str(&a, "username", "carol");
		proto_kv_str(&a, "password", "not-carols-password");
		proto_kv_str(&a, "remote_addr", "192.0.2.7");
		break;
	case S_LOGIN_ALICE:
		op = "login";
		proto_kv_str(&a, "username", "alice");
		proto_kv_str(&a, "password", "alice-pass-1");
		proto_kv_str(&a, "remote_addr", "192.0.2.8");
		proto_kv_bool(&a, "session", true);
		break;
	case S_RM_CAROL:
		op = "user_rm";
		proto_kv_str(&a, "username", "carol");
		break;
	case S_IMPORT:
		op = "user_import";
		proto_kv_str(&a, "data", b->import);
		break;
	case S_LOGIN_ERIN:
		op = "login";
		proto_kv_str(&a, "username", "erin");
		proto_kv_str(&a, "password", "erin-pass-1");
		proto_kv_str(&a, "remote_addr", "192.0.2.9");
		break;
	case S_APP_ALICE:
		op = "token_add";
		proto_kv_str(&a, "type", "app_password");
		proto_kv_str(&a, "username", "alice");
		proto_kv_str(&a, "name", "imap");
		break;
	case S_NOLOGIN_DAVE:
		op = "user_mod";
		proto_kv_str(&a, "username", "dave");
		proto_kv_bool(&a, "login", false);
		break;
	case S_PASSWD_ALICE:
		op = "passwd";
		proto_kv_str(&a, "username", "alice");
		proto_kv_str(&a, "new_password", "alice-pass-2");
		break;
	case S_HELLO:
	case S__COUNT:
		op = "hello";
		break;
	}
	request(c, op, &a, o);
	proto_msg_free(&a);
}

/* ---- what the database holds, read from the file ---- */

static int64_t
q_int(const struct th_daemon *d, const char *sql, const char *arg)
{
	int64_t n = th_db_int(d, sql, arg, (char *)NULL);

	if (n == -1)
		fail_msg("cannot read the database: %s", sql);
	return n;
}

static bool
active(const struct th_daemon *d, const char *user)
{
	return q_int(d, "SELECT count(*) FROM accounts WHERE username = ?1 "
	    "AND deleted_at IS NULL", user) == 1;
}

/* A token's row is there (revoked and ended tokens are deleted). */
static bool
token_row(const struct th_daemon *d, const char *token)
{
	char id[TOKEN_ID_LEN];

	token_id(token, id);
	return q_int(d, "SELECT count(*) FROM tokens WHERE id = ?1", id) == 1;
}


static char *
q_str(const struct th_daemon *d, const char *sql, const char *arg)
{
	return th_db_str(d, sql, arg, (char *)NULL);
}

/* Whether pw matches the user's stored hash (deleted or not). */
static bool
password_is(const struct th_daemon *d, const char *user, const char *pw)
{
	return th_hash_is(q_str(d, "SELECT password_hash FROM accounts WHERE "
	    "username = ?1 ORDER BY created_at DESC LIMIT 1", user), pw);
}

static int64_t
account_int(const struct th_daemon *d, const char *user, const char *col)
{
	char sql[160];

	snprintf(sql, sizeof(sql), "SELECT coalesce(%s, -1) FROM accounts "
	    "WHERE username = ?1 ORDER BY created_at DESC LIMIT 1", col);
	return q_int(d, sql, user);
}

/* ---- the checks ---- */

static char run_desc[96];	/* the run being checked, for messages */
static const struct outcome *run_out;
static const struct th_daemon *run_log;	/* shown on failure, or NULL */

static void
print_outcomes(void)
{
	if (run_log != NULL)
		th_print_log(run_log);
	print_error("%s: the script's replies:\n", run_desc);
	for (int i = 0; i < S__COUNT; i++)
		print_error("  %-24s %s\n", step_names[i],
		    run_out[i].code == CLOSED ? "(connection closed)" :
		    acct_errname(run_out[i].code));
}

#define WANT(cond, ...) do {						\
	if (!(cond)) {							\
		print_outcomes();					\
		print_error("%s: ", run_desc);				\
		fail_msg(__VA_ARGS__);					\
	}								\
} while (0)

static bool
acked(const struct outcome *o, enum step i)
{
	return o[i].code == (i == S_FAIL_CAROL ? ACCT_ERR_AUTH_FAILED :
	    ACCT_OK);
}

/*
 * The database after a run, the daemon stopped: every acknowledged
 * change is there, and every other one is there whole or not at all.
 */
static void
check_state(const struct fx *f, const struct outcome *o)
{
	const struct th_daemon *d = &f->d;
	const struct base *b = &f->b;
	bool dave = active(d, "dave"), newpw, gone, nologin;
	char *name;
	int64_t n;

	WANT(th_db_integrity(d) == 0, "integrity_check failed");
	WANT(q_int(d, "SELECT count(*) FROM tokens t LEFT JOIN accounts a "
	    "ON a.id = t.account_id WHERE t.account_id IS NOT NULL AND "
	    "(a.id IS NULL OR a.deleted_at IS NOT NULL)", NULL) == 0,
	    "tokens outlive their account");
	WANT(q_int(d, "SELECT count(*) FROM accounts WHERE failed_logins < 0",
	    NULL) == 0, "a failure counter below zero");

	WANT(dave || !acked(o, S_ADD_DAVE), "acknowledged account dave lost");
	if (dave) {
		WANT(password_is(d, "dave", "dave-pass-1"),
		    "dave exists without his password");
		name = q_str(d, "SELECT email FROM accounts WHERE username = "
		    "?1", "dave");
		WANT(name != NULL && strcmp(name, "dave@example.org") == 0,
		    "dave exists without his email");
	}

	name = q_str(d, "SELECT display_name FROM accounts WHERE username = "
	    "?1", "alice");
	WANT(name != NULL, "alice is gone");
	WANT(strcmp(name, "Alice Changed") == 0 || (!acked(o, S_MOD_ALICE) &&
	    strcmp(name, "Alice") == 0), "alice's name is '%s'", name);

	newpw = password_is(d, "bob", "bob-pass-2");
	WANT(newpw || !acked(o, S_PASSWD_BOB), "bob's new password lost");
	WANT(newpw || password_is(d, "bob", "bob-pass-1"),
	    "bob has neither password");
	WANT(newpw != token_row(d, b->sess_bob), "%s", newpw ? "bob's "
	    "password changed, his session did not end" : "bob's session "
	    "ended, his password did not change");

	n = q_int(d, "SELECT count(*) FROM tokens t JOIN accounts a ON "
	    "a.id = t.account_id WHERE a.username = ?1", "dave");
	WANT(n <= (dave ? 1 : 0), "dave has %lld tokens", (long long)n);
	/* Logins turned off end the tokens in the same commit. */
	nologin = dave && account_int(d, "dave", "login_allowed") == 0;
	WANT(!nologin || n == 0, "dave may not log in but has %lld tokens",
	    (long long)n);
	WANT(nologin || !acked(o, S_TOKEN_DAVE) ||
	    token_row(d, o[S_TOKEN_DAVE].token),
	    "dave's acknowledged access token lost");

	WANT(!acked(o, S_REVOKE_ALICE) || !token_row(d, b->access_alice),
	    "an acknowledged revocation is undone");

	n = account_int(d, "carol", "failed_logins");
	WANT(n == b->carol_failures + 1 || (!acked(o, S_FAIL_CAROL) &&
	    n == b->carol_failures), "carol's failure count is %lld, was "
	    "%lld before one attempt", (long long)n,
	    (long long)b->carol_failures);

	newpw = password_is(d, "alice", "alice-pass-2");
	if (acked(o, S_LOGIN_ALICE)) {
		WANT(account_int(d, "alice", "failed_logins") == 0,
		    "alice logged in, her failure count stays");
		WANT(account_int(d, "alice", "last_login_at") > 0,
		    "alice logged in, her last login is not recorded");
		WANT(newpw != token_row(d, o[S_LOGIN_ALICE].token),
		    "alice's new session %s", newpw ? "outlived her password" :
		    "is lost");
	} else
		WANT(account_int(d, "alice", "failed_logins") <= 1,
		    "one login of alice counted as more than one failure");

	gone = !active(d, "carol");
	WANT(gone || !acked(o, S_RM_CAROL), "acknowledged user_rm undone");
	WANT(gone != token_row(d, b->app_carol), "%s", gone ? "carol "
	    "deleted, her app password stays" : "carol's app password "
	    "ended, carol stays");

	n = active(d, "erin") + active(d, "frank");
	WANT(n == 2 || (n == 0 && !acked(o, S_IMPORT)),
	    "%lld of the 2 imported accounts", (long long)n);
	WANT(n == 0 || (password_is(d, "erin", "erin-pass-1") &&
	    password_is(d, "frank", "frank-pass-1")),
	    "an imported password does not match");

	WANT(!acked(o, S_APP_ALICE) || token_row(d, o[S_APP_ALICE].token),
	    "alice's acknowledged app password lost");
	WANT(!acked(o, S_NOLOGIN_DAVE) || account_int(d, "dave",
	    "login_allowed") == 0, "dave's acknowledged login=false lost");

	WANT(newpw || !acked(o, S_PASSWD_ALICE), "alice's new password lost");
	WANT(newpw || password_is(d, "alice", "alice-pass-1"),
	    "alice has neither password");
	WANT(newpw != token_row(d, b->sess_alice), "%s", newpw ? "alice's "
	    "password changed, her session did not end" : "alice's session "
	    "ended, her password did not change");
}

/* ---- one run ---- */

static bool
exited_cleanly(const struct th_daemon *d, int st)
{
	char *log = th_keep(th_read_log(d));

	return WIFEXITED(st) && !th_contains(log, "Sanitizer") &&
	    !th_contains(log, "runtime error");
}

/* After the script: hello within a second, then a write goes through. */
static void
still_serves(struct fx *f)
{
	struct conn c = { f->d.sock, -1, 0 };
	struct timespec t0, t1;
	struct outcome o;
	struct proto_msg a;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	request(&c, "hello", NULL, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	WANT(o.code == ACCT_OK, "hello after the fault: %s",
	    o.code == CLOSED ? "closed" : acct_errname(o.code));
	WANT(ms <= HELLO_MS, "hello took %ld ms after the fault", ms);
	/* A transaction or lock left behind by the fault stops this. */
	proto_msg_init(&a);
	proto_kv_str(&a, "username", "probe");
	proto_kv_str(&a, "upload_path", run_desc);
	request(&c, "user_mod", &a, &o);
	proto_msg_free(&a);
	WANT(o.code == ACCT_OK, "a write after the fault: %s",
	    o.code == CLOSED ? "closed" : acct_errname(o.code));
	if (c.fd != -1)
		close(c.fd);
}

/*
 * The script with call target of kind failing (kind -1: none, only
 * counted), and with persist every call after it too, as a disk or
 * memory that stays gone until the script ends; then the checks.
 * Returns whether the fault was reached.
 */
static bool
run_once(struct fx *f, int kind, int64_t target, bool persist,
    struct tally *t)
{
	struct outcome out[S__COUNT], o;
	struct conn c = { f->d.sock, -1, 0 };
	bool hit;
	int st;

	if (kind >= 0)
		snprintf(run_desc, sizeof(run_desc), "%s fault at call %lld%s",
		    kind_names[kind], (long long)target, persist ? " and after" :
		    "");
	else
		snprintf(run_desc, sizeof(run_desc), "run without a fault");
	run_out = out;
	run_log = f->only_kind >= 0 ? &f->d : NULL;
	assert_int_equal(th_db_restore(&f->d, f->b.path), 0);
	/* The log of this run alone, to show when it fails. */
	assert_int_equal(truncate(f->d.log, 0), 0);
	assert_int_equal(start_shimmed(f), 0);
	/* Once hello is answered, start-up work (the purge) is done. */
	assert_int_equal(request(&c, "hello", NULL, &o), ACCT_OK);
	arm(f, kind, target, persist);
	for (int i = 0; i < S__COUNT; i++) {
		int64_t syncs = synced(f);

		run_step(f, &c, (enum step)i, &out[i]);
		out[i].syncs = synced(f) - syncs;
	}
	disarm(f);
	if (c.fd != -1)
		close(c.fd);
	hit = atomic_load(&f->ctl->injected) > 0;
	for (int k = 0; k < FAULT_NKINDS; k++)
		f->calls[k] = atomic_load(&f->ctl->calls[k]);
	for (int i = 0; i < S__COUNT; i++) {
		t->errors += out[i].code != CLOSED && !acked(out, i);
		t->closed += out[i].code == CLOSED;
	}
	if (waitpid(f->d.pid, &st, WNOHANG) == f->d.pid) {
		f->d.pid = 0;
		if (!exited_cleanly(&f->d, st)) {
			th_print_log(&f->d);
			WANT(0, "acctd died (wait status %#x)", st);
		}
		t->fatal++;
		WANT(th_start(&f->d) == 0, "acctd does not start again");
	} else
		still_serves(f);
	/* Every other run ends in kill -9 and a restart instead: what the
	 * fault left in the WAL must recover whole, too. */
	if (target % 2 == 1) {
		th_kill9(&f->d);
		WANT(th_start(&f->d) == 0, "acctd does not start after a kill");
	}
	if (th_stop(&f->d) != 0)
		WANT(0, "acctd did not stop cleanly");
	if (!hit)
		for (int i = 0; i < S__COUNT; i++) {
			WANT(acked(out, i), "without a fault, %s failed",
			    step_names[i]);
			/* synchronous=FULL: on disk before it is answered.
			 * A kill cannot tell (the page cache outlives the
			 * process); a power cut would. */
			WANT(i == S_HELLO || out[i].syncs > 0, "%s was "
			    "answered before anything was synced to disk",
			    step_names[i]);
		}
	/* A login is one commit (its counters, last-login stamp and audit
	 * row); with a session, one more. A user_mod is two: the change,
	 * then its row in audit_events. */
	if (!hit) {
		int64_t one = out[S_NOLOGIN_DAVE].syncs / 2;

		WANT(one > 0 && out[S_NOLOGIN_DAVE].syncs == 2 * one, "a "
		    "user_mod synced %lld times", (long long)
		    out[S_NOLOGIN_DAVE].syncs);
		WANT(out[S_FAIL_CAROL].syncs == one, "a failed login synced %lld "
		    "times, a commit %lld", (long long)out[S_FAIL_CAROL].syncs,
		    (long long)one);
		WANT(out[S_LOGIN_ALICE].syncs == 2 * one, "a login with a "
		    "session synced %lld times, a commit %lld",
		    (long long)out[S_LOGIN_ALICE].syncs, (long long)one);
	}
	check_state(f, out);
	if (f->verbose) {
		char line[256];
		size_t len = 0;

		for (int i = 0; i < S__COUNT; i++)
			len += (size_t)snprintf(line + len, sizeof(line) - len,
			    " %d", out[i].code);
		print_message("%s%s:%s\n", run_desc, hit ? "" :
		    " (not reached)", line);
	}
	t->runs++;
	t->injected += hit;
	return hit;
}

/* ---- the loops ---- */

static void
print_tally(enum fault_kind kind, bool persist, int64_t total,
    const struct tally *t)
{
	print_message("%s%s: %lld calls in the script; %d runs, %d faults "
	    "injected and survived (%d requests failed with an error, %d "
	    "connections closed, %d times acctd exited and restarted)\n",
	    kind_names[kind], persist ? ", failing from call N on" : "",
	    (long long)total, t->runs, t->injected, t->errors, t->closed,
	    t->fatal);
}

/* The runs of one kind, each call failing once or from then on. */
static void
loop_mode(struct fx *f, enum fault_kind kind, bool persist, int64_t total)
{
	struct tally t = { 0 };
	uint64_t rs = f->seed ^ ((uint64_t)kind << 32) ^ persist;
	int sample = kind == FAULT_ALLOC ? SAMPLE_ALLOC : SAMPLE_SYSCALL;
	int64_t n;

	if (persist)
		sample /= 4;
	if (f->only_kind >= 0) {
		/* ACCT_FAULT_AT=KIND:N: that one run, to look at it. */
		if (f->only_kind == (int)kind && f->only_persist == persist)
			(void)run_once(f, (int)kind, f->only_n, persist, &t);
		return;
	}
	if (f->full) {
		/* Every N, until the script no longer reaches call N. */
		for (n = 1; run_once(f, (int)kind, n, persist, &t); n++)
			;
	} else if (total <= sample) {
		for (n = 1; n <= total; n++)
			(void)run_once(f, (int)kind, n, persist, &t);
	} else {
		/* One N from each of sample equal stretches of the calls. */
		for (int i = 0; i < sample; i++) {
			int64_t lo = 1 + total * i / sample;
			int64_t hi = total * (i + 1) / sample;

			n = lo + (int64_t)(th_rand(&rs) % (uint64_t)(hi - lo + 1));
			(void)run_once(f, (int)kind, n, persist, &t);
		}
	}
	print_tally(kind, persist, total, &t);
	if (total > 0)
		assert_true(t.injected > 0);
}

static void
fault_loop(struct fx *f, enum fault_kind kind)
{
	struct tally base = { 0 };
	int64_t total;

	/* The script without a fault: every step succeeds; the calls. */
	(void)run_once(f, -1, 0, false, &base);
	total = f->calls[kind];
	loop_mode(f, kind, false, total);
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer's runtime aborts a thread it cannot describe
	 * (pthread_getattr_np failing for memory at thread start), where
	 * glibc alone fails pthread_create and acctd answers busy: with
	 * memory gone for good, only the plain build can go on. */
	if (kind == FAULT_ALLOC) {
		print_message("%s, failing from call N on: not under "
		    "AddressSanitizer (the plain build runs it)\n",
		    kind_names[kind]);
		return;
	}
#endif
	loop_mode(f, kind, true, total);
}

static void test_write_faults(void **state) { fault_loop(*state, FAULT_WRITE); }
static void test_pwrite_faults(void **state) { fault_loop(*state, FAULT_PWRITE); }
static void test_fsync_faults(void **state) { fault_loop(*state, FAULT_FSYNC); }
static void test_fdatasync_faults(void **state) { fault_loop(*state, FAULT_FDATASYNC); }
static void test_alloc_faults(void **state) { fault_loop(*state, FAULT_ALLOC); }

/* The secret of a fresh two-factor enrolment of user, confirmed. */
static void
enrol_totp(const char *sock, const char *user, char secret[64])
{
	struct proto_reply rep;
	struct proto_msg a;
	const msgpack_object *o;
	char code[8];

	proto_msg_init(&a);
	proto_kv_str(&a, "username", user);
	assert_int_equal(th_call(sock, "totp_enroll", &a, &rep), ACCT_OK);
	proto_msg_free(&a);
	assert_int_equal(rep.code, ACCT_OK);
	assert_non_null(o = proto_map_get(rep.result, "secret"));
	snprintf(secret, 64, "%.*s", (int)o->via.str.size, o->via.str.ptr);
	proto_reply_free(&rep);
	th_totp_code(secret, 0, code);
	assert_int_equal(th_call_strs(sock, "totp_confirm", "username", user,
	    "code", code, (char *)NULL), ACCT_OK);
}

static int
login_2fa(struct conn *c, const char *code, struct outcome *o)
{
	struct proto_msg a;

	proto_msg_init(&a);
	proto_kv_str(&a, "username", "bob");
	proto_kv_str(&a, "password", "bob-pass-1");
	proto_kv_str(&a, "code", code);
	request(c, "login", &a, o);
	proto_msg_free(&a);
	return o->code;
}

/*
 * A login with a second factor is one commit too: its code is checked
 * and spent in the transaction that records the login. So a login whose
 * commit fails leaves the code unspent, and the same code then gets in,
 * once.
 */
static void
test_second_factor_one_commit(void **state)
{
	struct fx *f = *state;
	struct conn c = { f->d.sock, -1, 0 };
	struct outcome o;
	char secret[64], code[8];
	int64_t one, syncs;

	assert_int_equal(th_db_restore(&f->d, f->b.path), 0);
	assert_int_equal(start_shimmed(f), 0);
	enrol_totp(f->d.sock, "bob", secret);
	th_totp_code(secret, 1, code);	/* after the confirming one */
	/* What one commit syncs: a failed login. */
	arm(f, -1, 0, false);
	syncs = synced(f);
	assert_int_equal(th_call_strs(f->d.sock, "login", "username", "carol",
	    "password", "wrong", (char *)NULL), ACCT_ERR_AUTH_FAILED);
	one = synced(f) - syncs;
	assert_true(one > 0);
	/* The login's commit fails: an error, and nothing spent. */
	arm(f, FAULT_FDATASYNC, 1, false);
	assert_int_equal(login_2fa(&c, code, &o), ACCT_ERR_STORAGE);
	assert_true(atomic_load(&f->ctl->injected) > 0);
	arm(f, -1, 0, false);
	syncs = synced(f);
	assert_int_equal(login_2fa(&c, code, &o), ACCT_OK);
	assert_int_equal(synced(f) - syncs, one);
	disarm(f);
	assert_int_equal(login_2fa(&c, code, &o), ACCT_ERR_AUTH_FAILED);
	if (c.fd != -1)
		close(c.fd);
	assert_int_equal(th_stop(&f->d), 0);
}

/* ---- the starting database ---- */

/* The token of rc's reply into out (the reply freed): rc, the reply's
 * code, or ACCT_ERR_INTERNAL when it has no token that fits. */
static int
reply_token(int rc, struct proto_reply *rep, char out[TOKEN_STRING_LEN])
{
	const msgpack_object *t;

	if (rc == ACCT_OK && (rc = rep->code) == ACCT_OK &&
	    ((t = proto_map_get(rep->result, "token")) == NULL ||
	    t->type != MSGPACK_OBJECT_STR ||
	    t->via.str.size >= TOKEN_STRING_LEN))
		rc = ACCT_ERR_INTERNAL;
	if (rc == ACCT_OK)
		snprintf(out, TOKEN_STRING_LEN, "%.*s", (int)t->via.str.size,
		    t->via.str.ptr);
	proto_reply_free(rep);
	return rc;
}

static int
login_token(const char *sock, const char *user, const char *pw,
    char out[TOKEN_STRING_LEN])
{
	struct proto_reply rep;
	struct proto_msg a;
	int rc;

	proto_msg_init(&a);
	proto_kv_str(&a, "username", user);
	proto_kv_str(&a, "password", pw);
	proto_kv_bool(&a, "session", true);
	rc = th_call(sock, "login", &a, &rep);
	proto_msg_free(&a);
	return reply_token(rc, &rep, out);
}

static int
new_token(const char *sock, const char *type, const char *user,
    char out[TOKEN_STRING_LEN])
{
	struct proto_reply rep;
	struct proto_msg a;
	int rc;

	proto_msg_init(&a);
	proto_kv_str(&a, "type", type);
	proto_kv_str(&a, "username", user);
	proto_kv_str(&a, "name", "dav");
	rc = th_call(sock, "token_add", &a, &rep);
	proto_msg_free(&a);
	return reply_token(rc, &rep, out);
}

/* alice, bob, carol (two failures) and probe, with tokens; saved. */
static int
make_base(struct fx *f)
{
	struct th_daemon *d = &f->d;
	struct base *b = &f->b;
	struct crypt_data cd;
	const char *sock = d->sock;
	char erin[160], frank[160];
	int bad = 0;

	bad |= th_call_strs(sock, "user_add", "username", "alice", "name",
	    "Alice", "new_password", "alice-pass-1", (char *)NULL);
	bad |= th_add_user(sock, "bob", "bob-pass-1");
	bad |= th_add_user(sock, "carol", "carol-pass-1");
	bad |= th_add_user(sock, "probe", NULL);
	bad |= login_token(sock, "alice", "alice-pass-1", b->sess_alice);
	bad |= login_token(sock, "bob", "bob-pass-1", b->sess_bob);
	bad |= new_token(sock, "access_token", "alice", b->access_alice);
	bad |= new_token(sock, "app_password", "carol", b->app_carol);
	for (int i = 0; i < 2; i++)
		if (th_call_strs(sock, "login", "username", "carol", "password",
		    "wrong", "remote_addr", "192.0.2.7", (char *)NULL) !=
		    ACCT_ERR_AUTH_FAILED)
			bad = 1;
	if (bad != 0)
		return -1;
	b->carol_failures = 2;
	memset(&cd, 0, sizeof(cd));
	snprintf(erin, sizeof(erin), "%s", crypt_r("erin-pass-1",
	    "$6$erinsalt$", &cd));
	snprintf(frank, sizeof(frank), "%s", crypt_r("frank-pass-1",
	    "$6$franksalt$", &cd));
	snprintf(b->import, sizeof(b->import), "erin:%s\nfrank:%s\n", erin,
	    frank);
	snprintf(b->path, sizeof(b->path), "%s/base.db", d->dir);
	if (th_stop(d) != 0 || th_db_save(d, b->path) == -1)
		return -1;
	return 0;
}

static int
group_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *mode = getenv("ACCT_FAULTS"), *at;
	char *end;
	int fd;

	if (f == NULL)
		return -1;
	*state = f;
	f->shim = getenv("ACCT_FAULT_SHIM");
	if (f->shim == NULL || access(f->shim, R_OK) == -1) {
		print_error("ACCT_FAULT_SHIM (%s) names no shim: run through "
		    "make check\n", f->shim ? f->shim : "unset");
		return -1;
	}
	f->full = mode != NULL && strcmp(mode, "full") == 0;
	f->seed = th_seed();
	f->verbose = getenv("ACCT_FAULT_VERBOSE") != NULL;
	f->only_kind = -1;
	if ((at = getenv("ACCT_FAULT_AT")) != NULL) {
		const char *colon = strchr(at, ':');

		for (int k = 0; colon != NULL && k < FAULT_NKINDS; k++)
			if (strncmp(at, kind_names[k], (size_t)(colon - at)) ==
			    0 && kind_names[k][colon - at] == '\0')
				f->only_kind = k;
		if (f->only_kind < 0) {
			print_error("ACCT_FAULT_AT=%s: want KIND:N (N+ for "
			    "call N and after), KIND one of write, pwrite, "
			    "fsync, fdatasync, allocation\n", at);
			return -1;
		}
		f->only_n = strtoll(colon + 1, &end, 10);
		f->only_persist = *end == '+';
		f->verbose = true;
	}
	print_message("%s loop, seed %u (ACCT_SEED=%u repeats it)\n",
	    f->full ? "full" : "sampled", f->seed, f->seed);
	/* The shim is preloaded before a sanitizer's runtime. */
	th_asan_option("verify_asan_link_order=0");
	if (th_up(&f->d, "log_level = info\nlockout_failures = 100\n"
	    "source_lockout_failures = 100\n") != 0 || make_base(f) == -1)
		return -1;
	snprintf(f->ctl_path, sizeof(f->ctl_path), "%s/fault.ctl", f->d.dir);
	if ((fd = open(f->ctl_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || ftruncate(fd, 4096) == -1)
		return -1;
	f->ctl = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f->ctl == MAP_FAILED)
		return -1;
	f->ctl->magic = FAULT_MAGIC;
	atomic_store(&f->ctl->kind, -1);
	snprintf(f->preload, sizeof(f->preload), "LD_PRELOAD=%s", f->shim);
	snprintf(f->ctl_env, sizeof(f->ctl_env), "%s=%s", FAULT_CTL_ENV,
	    f->ctl_path);
	return 0;
}

static int
group_teardown(void **state)
{
	struct fx *f = *state;

	if (f != NULL) {
		th_cleanup(&f->d);
		free(f);
	}
	th_free_all();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_faults),
		cmocka_unit_test(test_pwrite_faults),
		cmocka_unit_test(test_fsync_faults),
		cmocka_unit_test(test_fdatasync_faults),
		cmocka_unit_test(test_alloc_faults),
		cmocka_unit_test(test_second_factor_one_commit),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
