/*
 * harness.h: helpers for the integration tests: a real acctd on a
 * temporary socket and database, the real acctc, raw frames, other uids.
 */
#ifndef ACCT_TEST_HARNESS_H
#define ACCT_TEST_HARNESS_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../proto/client.h"
#include "../proto/proto.h"

#define TH_ADMIN_GID	4242	/* admin_group of the test daemons */
#define TH_AUTH_GID	4243	/* auth_group */
#define TH_NOBODY	65534	/* uid and gid of "nobody" */
#define TH_WAIT_MS	20000	/* bound on every wait for readiness */

/* One test daemon and its temporary directory. */
struct th_daemon {
	char	 dir[64];	/* /tmp/acctd-test.XXXXXX, mode 0755 */
	char	 conf[128];	/* DIR/acctd.conf */
	char	 sock[128];	/* DIR/sock */
	char	 db[128];	/* DIR/db/acctd.db */
	char	 log[128];	/* DIR/acctd.log, the daemon's stderr */
	pid_t	 pid;		/* 0 when not running */
	gid_t	 admin_gid;
	gid_t	 auth_gid;
};

/* Temp dir and config (base lines plus extra, which may be NULL). */
int	th_init(struct th_daemon *d, const char *extra);
/* Write text to path (made with mode if new, else emptied first). 0 or -1. */
int	th_write_file(const char *path, const char *text, mode_t mode);
/* Rewrite the config file: base lines plus extra. */
int	th_write_config(const struct th_daemon *d, const char *extra);
/* Start acctd and wait until its socket accepts. 0 or -1 (log printed). */
int	th_start(struct th_daemon *d);
/* th_init + th_start. */
int	th_up(struct th_daemon *d, const char *extra);
/* Start another acctd on d's paths without waiting; its pid or -1. */
pid_t	th_spawn(const struct th_daemon *d);
/* Wait up to ms for pid to exit: its wait status, or -1 if still running. */
int	th_wait_pid(pid_t pid, int ms);
/* SIGTERM and wait: the exit code (0 clean), 128+signal, or -1. */
int	th_stop(struct th_daemon *d);
/* SIGKILL and reap. */
void	th_kill9(struct th_daemon *d);
/* Kill if still running, remove the temp dir. */
void	th_cleanup(struct th_daemon *d);
void	th_print_log(const struct th_daemon *d);
/* Read the log into a malloc'd string (NULL on error). */
char	*th_read_log(const struct th_daemon *d);
/* Wait until the log, from byte offset on, contains needle. 0 or -1. */
int	th_wait_log(const struct th_daemon *d, size_t offset,
	    const char *needle, int ms);
size_t	th_log_size(const struct th_daemon *d);

/* cmocka fixtures: a daemon with the default config in *state. */
int	th_setup(void **state);
/* A struct th_daemon in *state, not started: the test calls th_up(). */
int	th_setup_lazy(void **state);
/* Stops acctd if running (fails unless it exits 0), cleans up, th_free_all. */
int	th_teardown(void **state);

/*
 * Memory a failing assertion would leak (it longjmps out of the test):
 * th_keep() registers p, th_free() frees it early, th_teardown() frees
 * whatever is left. Both take NULL.
 */
void	*th_keep(void *p);
void	th_free(void *p);
void	th_free_all(void);

/* A process identity for th_as() and th_acctc_as(). */
struct th_cred {
	uid_t		 uid;
	gid_t		 gid;
	int		 ngroups;
	gid_t		 groups[8];
};
bool	th_is_root(void);
/* In a cmocka test that must take other uids: skipped, and said, if not root. */
#define TH_NEED_ROOT() do {						\
	if (!th_is_root()) {						\
		print_message("not root: cannot take other uids\n");	\
		skip();							\
	}								\
} while (0)
/*
 * Fork; the child takes cred and runs fn(arg, out), exiting with its
 * return value (0..255); what it writes to out comes back in buf
 * (NUL-terminated, may be NULL). Returns the child's exit code, or -1
 * if it died or could not take the identity.
 */
typedef int th_fn(void *arg, FILE *out);
int	th_as(const struct th_cred *cred, th_fn *fn, void *arg,
	    char *buf, size_t bufsz);
/* th_as in two halves, for children that must run at the same time. */
struct th_child {
	pid_t	 pid;
	int	 fd;
};
int	th_as_start(const struct th_cred *cred, th_fn *fn, void *arg,
	    struct th_child *c);
int	th_as_wait(struct th_child *c, char *buf, size_t bufsz);

/* One request, described so that a child under another uid sends it. */
#define TH_REQ_ARGS	8
struct th_arg {
	const char	*key;
	char		 type;	/* 's' string, 'b' bool, 'i' int */
	const char	*s;
	int64_t		 i;
};
struct th_req {
	const char	*sock;
	const char	*op;
	struct th_arg	 a[TH_REQ_ARGS];
};
#define TH_S(k, v)	{ (k), 's', (v), 0 }
#define TH_B(k, v)	{ (k), 'b', NULL, (v) }
#define TH_I(k, v)	{ (k), 'i', NULL, (v) }
/* r sent as cred (NULL: as ourselves): the reply code (or the local
 * error, or -1 when the child could not run), "code message" in msg. */
int	th_req_as(const struct th_cred *cred, struct th_req *r, char *msg,
	    size_t msgsz);
int	th_req_start(const struct th_cred *cred, struct th_req *r,
	    struct th_child *c);
int	th_req_wait(struct th_child *c, char *msg, size_t msgsz);
/* In a test: r as cred must get want, else the message is shown. */
#define th_assert_as(sock, cred, want, ...) do {			\
	struct th_req r_ = { (sock), __VA_ARGS__ };			\
	const struct th_cred *k_ = (cred);				\
	char m_[512];							\
	int c_ = th_req_as(k_, &r_, m_, sizeof(m_));			\
	if (c_ != (want))						\
		print_error("%s as uid %u: got %s, want %s\n", r_.op,	\
		    (unsigned)(k_ != NULL ? k_->uid : 0), m_,		\
		    acct_errname(want));				\
	assert_int_equal(c_, (want));					\
} while (0)

/* Results of running acctc. */
struct th_result {
	int	 status;	/* exit code, 128+signal, -1: not run */
	char	*out;		/* stdout, NUL-terminated, th_keep'd */
	char	*err;		/* stderr, likewise */
};
void	th_result_free(struct th_result *r);
/*
 * Run ACCTC_BIN --socket SOCK ARGS... (NULL-terminated), optionally as
 * cred (NULL: as ourselves), with stdin_text (NULL: /dev/null).
 * sock NULL: no --socket flag. Returns r->status.
 */
/*
 * Run argv (argv[0] a path) like th_acctc_v(): as cred, with stdin_text,
 * no controlling terminal, and env (NULL-terminated; "NAME=VALUE" sets,
 * "NAME" unsets) changed. Returns r->status.
 */
int	th_run_v(const char *const *argv, const struct th_cred *cred,
	    const char *stdin_text, const char *const *env,
	    struct th_result *r);
int	th_acctc_v(const char *sock, const struct th_cred *cred,
	    const char *stdin_text, const char *const *args,
	    struct th_result *r);
int	th_acctc(const struct th_daemon *d, const char *stdin_text,
	    struct th_result *r, ...) __attribute__((sentinel));
int	th_acctc_as(const struct th_daemon *d, const struct th_cred *cred,
	    const char *stdin_text, struct th_result *r, ...)
	    __attribute__((sentinel));
const char *th_acctc_bin(void);	/* NULL if ACCTC_BIN unset or missing */
const char *th_acctd_bin(void);	/* NULL if ACCTD_BIN unset or missing */
/* Put NAME=VALUE in the environment of the acctc runs that follow;
 * NULL clears them all. */
void	th_acctc_env(const char *assignment);

/*
 * One request of the saslauthd protocol on mux, connected as cred (NULL:
 * ourselves): n counted strings, field i of len[i] bytes (NULL len:
 * strlen, so a field may hold NUL bytes only with len); the reply's
 * text in out, "" when the connection closed without one.
 */
void	th_sasl_request(const char *mux, const struct th_cred *cred,
	    const char *const *f, const size_t *len, int n, char *out,
	    size_t outsz);

/* Raw frames. */
enum th_recv {
	TH_REPLY	=  0,	/* a well-formed reply in *rep */
	TH_EOF		= -1,	/* connection closed (EOF, reset) */
	TH_TIMEOUT	= -2,
	TH_ERROR	= -3,	/* local error */
	TH_MALFORMED	= -4,	/* a frame that is not a valid reply */
};
int	th_connect(const char *sock);			/* fd or -1 */
/* A connection made by a child that took cred (NULL: ourselves) and
 * handed it back: the daemon sees cred's uid and groups on it, and we
 * send on it without a fork per request. fd or -1. */
int	th_connect_as(const struct th_cred *cred, const char *sock);
int	th_send(int fd, const void *buf, size_t len);	/* 0 or -1 */
int	th_send_frame(int fd, const void *payload, size_t len);
/* One reply frame within ms; rep must be freed after TH_REPLY. */
int	th_recv(int fd, int ms, struct proto_reply *rep);
/* Read until the peer closes, ignoring data; 0 closed, -1 timed out. */
int	th_wait_closed(int fd, int ms);
/* Send a request frame built from args (may be NULL). */
int	th_send_request(int fd, uint64_t id, const char *op,
	    struct proto_msg *args);

/*
 * The uid th_call() trusts to serve a socket besides root: our own by
 * default (a test daemon not run as root runs as we do); a test that
 * starts acctd as another uid names it here.
 */
void	th_trust_server(uid_t uid);
/* One request on a fresh connection; acct_conn_call's return value. */
int	th_call(const char *sock, const char *op, struct proto_msg *args,
	    struct proto_reply *rep);
/* The same, returning the reply code (or the local error) only. */
/* One request of string arguments, key, value, ..., NULL: the code. */
int	th_call_strs(const char *sock, const char *op, ...)
	    __attribute__((sentinel));
int	th_call_code(const char *sock, const char *op,
	    struct proto_msg *args);
/* Admin helpers. ACCT_OK or the error code. */
int	th_add_user(const char *sock, const char *username,
	    const char *password);
bool	th_user_exists(const char *sock, const char *username);

/* Reading result maps. */
bool	th_str_is(const msgpack_object *map, const char *key,
	    const char *want);
bool	th_is_nil(const msgpack_object *map, const char *key);
int	th_bool(const msgpack_object *map, const char *key); /* 0, 1, -1 */
int64_t	th_int(const msgpack_object *map, const char *key, int64_t dflt);
/* True if the map has exactly these keys (NULL-terminated list). */
bool	th_has_keys(const msgpack_object *map, const char *const *keys);

/*
 * Every row of the accounts table and the schema version, as text, read
 * with a read-only connection: for before/after comparisons. malloc'd.
 */
char	*th_db_dump(const struct th_daemon *d);
/* The same without what a failed attempt writes by design (failure
 * counters, locks, audit records, mail limits): the accounts' state. */
char	*th_db_dump_state(const struct th_daemon *d);
/* The integer sql gives, read from the file, its ?1, ?2 ... bound to the
 * strings that follow (NULL ends them); -1 on error. */
int64_t	th_db_int(const struct th_daemon *d, const char *sql, ...)
	    __attribute__((sentinel));
/* Run sql on the database file beside the daemon, then th_db_changed():
 * for states no request can make, such as an old password. 0 or -1
 * (printed). */
int	th_db_exec(const struct th_daemon *d, const char *sql);
/* Tell a running daemon that the file was changed behind its back
 * (SIGHUP, as acctd(8) says), and wait until it has reloaded. 0 or -1. */
int	th_db_changed(const struct th_daemon *d);
/* PRAGMA integrity_check says ok: 0, else -1. */
int	th_db_integrity(const struct th_daemon *d);
/* The same two on another database file (a backup). */
int64_t	th_file_int(const char *path, const char *sql);
int	th_file_integrity(const char *path);
/* acctd --restore file, on d's config and database paths. */
int	th_acctd_restore(const struct th_daemon *d, const char *file,
	    struct th_result *r);
/* A read-only connection to the database (sqlite3_close() it), or NULL
 * (printed): for a check that reads many rows at once. */
struct sqlite3;
struct sqlite3	*th_db_open(const struct th_daemon *d);
/* The text sql gives, likewise: th_keep'd, NULL for no row or SQL NULL. */
char	*th_db_str(const struct th_daemon *d, const char *sql, ...)
	    __attribute__((sentinel));
/* Copy the database to path, or put such a copy back (its WAL and
 * shared-memory files removed), acctd stopped: each run of a loop
 * starts from the same state. 0 or -1. */
int	th_db_save(const struct th_daemon *d, const char *path);
int	th_db_restore(const struct th_daemon *d, const char *path);
/* Whether pw matches a stored hash (Argon2id PHC, or any crypt(3)
 * scheme), checked here, without the daemon. */
bool	th_hash_is(const char *hash, const char *pw);

/* The code of a TOTP secret (base32) at offset steps from now. */
void	th_totp_code(const char *secret, int offset, char out[8]);

/* A seed for a test's random choices: $ACCT_SEED when set, so that a
 * failing run can be repeated, else a new one (print it). */
unsigned th_seed(void);
/* The next number of a generator (splitmix64) started at *s = seed:
 * the same sequence for the same seed, whatever libc does. */
uint64_t th_rand(uint64_t *s);

/* Strings. */
bool	th_contains(const char *hay, const char *needle);

/*
 * A squatter: a process of another uid that binds a socket path before
 * acctd does, in a sticky world-writable directory, and counts the
 * bytes every connection sends it. With answer set it replies to each
 * request with an empty result (a "server" a client may be told to
 * trust); else it reads until the client hangs up.
 */
struct th_squatter {
	char	 dir[64];	/* /tmp/acctd-squat.XXXXXX, mode 1777 */
	char	 sock[96];	/* DIR/acctd.sock */
	pid_t	 pid;
	int	 report;	/* read end: one "BYTES\n" line per connection */
};
int	th_squatter_start(struct th_squatter *sq, uid_t uid, bool answer);
/*
 * Stop it; *conns connections were made, *bytes the total they sent.
 * 0, or -1 if it did not report.
 */
int	th_squatter_stop(struct th_squatter *sq, int *conns, long *bytes);

/*
 * Mail as the mail tests receive it: msmtp (acctd's sendmail_command)
 * delivers to an aiosmtpd on 127.0.0.1, which writes a Maildir.
 */
#define TH_MAX_MAIL	8
struct th_mail {
	char	 dir[64];	/* /tmp/acctd-mail.XXXXXX */
	char	 maildir[96];	/* DIR/box */
	int	 port;
	pid_t	 pid;		/* the aiosmtpd */
	char	 seen[TH_MAX_MAIL][256];
	int	 nseen;
	bool	 keep_raw;	/* th_mail_config: keep what acctd wrote */
};
int	th_mail_start(struct th_mail *m);	/* 0 or -1 (printed) */
void	th_mail_stop(struct th_mail *m);	/* stops it, removes DIR */
/* A teardown's: stop acctd if running (-1 unless it exits 0), clean up
 * its files, then th_mail_stop(m). */
int	th_stop_with_mail(struct th_daemon *d, struct th_mail *m);
/* The acctd.conf lines that send mail through it, into buf. 0 or -1.
 * With keep_raw set, the mailer first keeps each message as acctd
 * wrote it (aiosmtpd's Maildir has it rewritten): th_mail_raw(). */
int	th_mail_config(const struct th_mail *m, char *buf, size_t bufsz);
/* The text of a message not read before, once want have arrived
 * (within 30 s), th_keep'd; NULL if they did not. */
char	*th_mail_wait(struct th_mail *m, int want);
/* The i-th message (from 0) acctd handed to the mailer, th_keep'd;
 * NULL if there is none. */
char	*th_mail_raw(const struct th_mail *m, int i);
/* The messages delivered so far. */
int	th_mail_count(const struct th_mail *m);
/* The first 81-character token (ID_SECRET) in text, as in its link. */
int	th_mail_token(const char *text, char *tok, size_t toksz);
/*
 * Python statements (asserts) about a mail's text, run with m (the
 * message as Python's email module reads it, policy.default), head (its
 * header lines, raw), body (the decoded text) and lines (the body's
 * lines): "ok", or what failed, th_keep'd.
 */
char	*th_mail_check(const char *text, const char *asserts);
/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int	th_free_port(void);
/* Whether something accepts on 127.0.0.1:port. */
bool	th_port_open(int port);

/*
 * PAM: service files in /etc/pam.d naming the staged pam_acct.so, each
 * removed by th_pam_remove() (and, should a test binary die first, by
 * the next run), and pamtester with pam_syslog() lines captured.
 */
struct th_pam {
	char	 service[64];	/* acctd-test-PID-N */
	char	 path[96];	/* /etc/pam.d/SERVICE */
	char	 syslog[128];	/* DIR/pam-syslog-N: what pam_syslog() said */
	bool	 build;		/* the build's module, not the staged one */
};
/* The staged $(PAMDIR)/pam_acct.so, or NULL (printed). */
const char *th_pam_module(void);
/* Write /etc/pam.d/SERVICE: text, with each "MODULE" the module's path.
 * The syslog file goes in dir. 0 or -1. */
int	th_pam_service(struct th_pam *p, const char *dir, const char *text);
/* The same with the build's own module ($ACCT_PAM_MODULE: under SAN=1
 * the sanitized one, which th_pamtester() loads with $ACCT_PAM_PRELOAD
 * first); the staged one when that is unset. For pamtester only. */
int	th_pam_service_build(struct th_pam *p, const char *dir,
	    const char *text);
void	th_pam_remove(struct th_pam *p);
/* pamtester [-I rhost=RHOST] SERVICE USER OPS (space separated), as cred
 * (NULL: root), with stdin_text. Returns r->status (0: all OPS passed). */
int	th_pamtester(const struct th_pam *p, const struct th_cred *cred,
	    const char *user, const char *stdin_text, const char *rhost,
	    const char *ops, struct th_result *r);
/* What pam_syslog() wrote so far, th_keep'd ("" if nothing). */
char	*th_pam_syslog(const struct th_pam *p);

/* Enrol user in TOTP as an admin and confirm it: the base32 secret and
 * the first recovery code out. 0 or -1. */
int	th_totp_enrol(const char *sock, const char *user, char secret[64],
	    char recovery[32]);

/* ---- hardening tests: limits, files, secrets, failing closed ---- */

/* Start acctd on d's paths under wrap (argv prefix, NULL-terminated,
 * e.g. strace ...), waiting like th_start(); d->pid is the wrapper's. */
int	th_start_wrapped(struct th_daemon *d, const char *const *wrap);
/* The first child of pid (from /proc), or -1 within ms. */
pid_t	th_child_pid(pid_t pid, int ms);
/* Entries in /proc/PID/fd, or -1. */
int	th_proc_fds(pid_t pid);
/* VmRSS of /proc/PID/status in KiB, or -1. */
long	th_proc_rss_kb(pid_t pid);
/* Raise our RLIMIT_NOFILE soft limit to want (or the hard limit); the
 * new soft limit. Children, acctd included, inherit it. */
long	th_raise_nofile(long want);
/* Append opt to ASAN_OPTIONS for the processes we start from now on. */
void	th_asan_option(const char *opt);
/* Read a whole file into a th_keep'd string; NULL if unreadable. *len
 * (may be NULL) gets its length: files may hold NUL bytes. */
char	*th_slurp(const char *path, size_t *len);
/* True if needle occurs in the len bytes at hay. */
bool	th_memmem(const void *hay, size_t len, const char *needle);


/* The source tree: $ACCT_SRCDIR (set by make test), else ".". */
const char *th_srcdir(void);
/* make -s -C SRCDIR ARGS... (NULL-terminated) as ourselves, outside the
 * make that runs the tests (its MAKEFLAGS unset). Returns r->status. */
int	th_make(const char *const *args, struct th_result *r);

/* What acctc printed, read as other programs read it. */
/* python3 -c code with input on stdin: its stdout without the last
 * newline (th_keep'd), or NULL if it failed (the input did not parse). */
char	*th_python(const char *input, const char *code);
/* Exactly one JSON document, an object, on one line, as Python's json
 * reads it (NaN and Infinity refused). */
bool	th_json_valid(const char *s);
/* expr on the document d, e.g. "d['info']['id']" (NULL: not JSON). */
char	*th_json_get(const char *s, const char *expr);
/* The value on the "Label   value" line labelled label, or NULL. */
char	*th_show_val(const char *out, const char *label);
/* The rest of the first line of s that starts with prefix, or NULL. */
char	*th_line_after(const char *s, const char *prefix);
int	th_count(const char *hay, const char *needle);
/* The same, failing the test (cmocka's fail_msg) when there is none. */
#define th_must(x, ...)	__extension__ ({ char *v_ = (x);		\
	if (v_ == NULL)							\
		fail_msg(__VA_ARGS__);					\
	v_; })
#define th_json_must(s, expr)	th_must(th_json_get((s), (expr)),	\
	"cannot get %s from:\n%s", (expr), (s))
#define th_line_must(s, prefix)	th_must(th_line_after((s), (prefix)),	\
	"no line '%s' in:\n%s", (prefix), (s))
/* Run acctc (r: a struct th_result in scope), show what it said when
 * its status is not want. */
#define TH_RUN(d, in, want, ...) do {					\
	th_result_free(&r);						\
	th_acctc((d), (in), &r, __VA_ARGS__, NULL);			\
	if (r.status != (want))						\
		print_error("acctc %s: status %d, want %d\n"		\
		    "stdout:\n%s\nstderr:\n%s\n", #__VA_ARGS__,		\
		    r.status, (want), r.out, r.err);			\
	assert_int_equal(r.status, (want));				\
} while (0)
#define TH_RUN_AS(d, cred, in, want, ...) do {				\
	th_result_free(&r);						\
	th_acctc_as((d), (cred), (in), &r, __VA_ARGS__, NULL);		\
	if (r.status != (want))						\
		print_error("acctc %s: status %d, want %d\n"		\
		    "stdout:\n%s\nstderr:\n%s\n", #__VA_ARGS__,		\
		    r.status, (want), r.out, r.err);			\
	assert_int_equal(r.status, (want));				\
} while (0)

/* Neither stdout nor stderr of the last TH_RUN holds s. */
#define th_assert_not_said(s) do {					\
	assert_false(th_contains(r.out, (s)));				\
	assert_false(th_contains(r.err, (s)));				\
} while (0)

/* An account as the daemon has it (user_show), by key: a string
 * (th_keep'd, NULL if none), an int or a bool as 0/1 (-2: no account). */
char	*th_account_str(const struct th_daemon *d, const char *user,
	    const char *key);
int64_t	th_account_int(const struct th_daemon *d, const char *user,
	    const char *key);
/* Whether pw logs user in. */
bool	th_password_is(const struct th_daemon *d, const char *user,
	    const char *pw);

#endif
