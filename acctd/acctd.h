/*
 * acctd.h: the map of the daemon. One section per file, in the order a
 * request travels: config, socket, server, peer, dispatch (the policy),
 * the handlers (op_*.c), then the layers they call, which never call
 * upward: credential, throttle, hash, accounts, tokens, two-factor,
 * reset links, mail, audit, and the database under them all.
 */
#ifndef ACCTD_H
#define ACCTD_H

/*
 * Locks, each static to the file named, what it guards, and the order:
 * a thread holding one may take only those listed below it, never one
 * above. A function named *_locked runs under db_lock() (db.c's lock),
 * inside the caller's write transaction; nothing else is meant by it.
 *
 *   hash.c stored_lock	the timing of the dearest stored hash; held
 *			across that one verify (start, import)
 *   db.c lock		the writer connection; db_lock()..db_unlock().
 *			The only lock held across SQLite I/O by design
 *   throttle.c pending_lock  attempts in flight; held across the read of
 *			their counters (db_read(), never db_lock()), so
 *			that no outcome falls between read and count
 *   db.c pool_lock	the reader pool (pool_free waits on it)
 *   hash.c lock	hash slots, queue counts, in-flight uids
 *			(reserved_turn, plain_turn wait on it)
 *   config.c current_lock  (rwlock) the live config; briefly, under
 *			any of those above (hash.c reads its limits in
 *			its waits by config_hold(), a reference, no copy)
 *   hash.c jlock	the runners' job queue (jwork, each job's cv)
 *   hash.c cost_lock	the learnt cost of a verify
 *   mail.c lock	the mail queue (wake, outcome wait on it)
 *   server.c lock	connection counts per uid (drained waits on it)
 *
 *   stats.c service_lock  the first sight of a service name; a leaf
 *
 * Atomics, read without a lock: db.c write_gen, hash.c cost_us and
 * stored_us, server.c draining, dovecot.c next_cuid, config.c's held
 * snapshots' reference counts, and every counter of stats.c.
 */

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../proto/proto.h"

struct sqlite3_stmt;

#define ACCTD_DEFAULT_CONFIG	"/etc/acctd/acctd.conf"
#define ACCTD_DEFAULT_SOCKET	ACCT_DEFAULT_SOCKET
#define ACCTD_DEFAULT_DB	"/var/lib/acctd/acctd.db"
#define ACCTD_SOCKET_MAX	108	/* sizeof(sun_path) */

/* The largest mail template file, and so the longest text of one. */
#define MAILTEXT_MAX	4096

/* Hard caps on stored Argon2 parameters, so an edited row or config
 * cannot turn one verify into a memory or CPU bomb. */
#define ACCTD_ARGON2_MAX_M	(1024 * 1024)	/* 1 GiB */
#define ACCTD_ARGON2_MAX_T		64
#define ACCTD_ARGON2_MAX_P	16

/* config.c */
struct config {
	char		socket_path[ACCTD_SOCKET_MAX];
	char		saslauthd_socket[ACCTD_SOCKET_MAX]; /* "": none */
	char		dovecot_auth_socket[ACCTD_SOCKET_MAX]; /* "": none */
	char		db_path[PATH_MAX];
	char		admin_group[64];
	char		auth_group[64];
	uint32_t	argon2_m;		/* KiB */
	uint32_t	argon2_t;
	uint32_t	argon2_p;
	uint32_t	pw_min;
	uint32_t	pw_max;
	uint32_t	hash_workers;		/* 0: one per CPU */
	uint32_t	hash_queue;
	uint32_t	max_conn;
	uint32_t	max_conn_uid;
	uint32_t	idle_timeout;		/* seconds */
	uint32_t	frame_timeout;		/* seconds */
	int		log_level;		/* enum log_level */
	uint32_t	lockout_failures;	/* per account */
	uint32_t	source_lockout_failures; /* per (peer uid, address) */
	uint32_t	lockout_base;		/* seconds, doubles */
	uint32_t	lockout_max;		/* seconds */
	uint32_t	audit_retention_days;	/* 0: keep forever */
	uint32_t	session_lifetime;	/* seconds */
	char		sendmail_command[1024];
	char		mail_from[256];		/* as written: Name <addr> */
	char		mail_from_name[256];	/* its display name, "": none */
	char		mail_from_addr[256];	/* its address */
	char		site_name[128];		/* "": the link's host */
	char		reset_template[256];	/* file, "": built in */
	char		activation_template[256];
	/* The templates' text as read and checked at load (mailtext.c). */
	char		reset_text[MAILTEXT_MAX];
	char		activation_text[MAILTEXT_MAX];
	char		reset_url[1024];	/* with {token} */
	char		activation_url[1024];	/* with {token} */
	uint32_t	mail_timeout;		/* seconds per message */
	uint32_t	mail_queue;		/* messages waiting at most */
	uint32_t	mail_wait;		/* seconds an admin waits for it */
	uint32_t	reset_token_lifetime;	/* seconds */
	uint32_t	activation_token_lifetime; /* seconds */
	uint32_t	reset_mail_interval;	/* seconds between two, per account */
	uint32_t	reset_mail_per_source;	/* an hour, per source */
	uint32_t	password_max_age_days;	/* 0: passwords do not age */
	uint32_t	purge_deleted_after_days; /* 0: deleted accounts stay */
	/* Resolved from the group names when loaded. */
	gid_t		admin_gid;
	gid_t		auth_gid;
	bool		admin_gid_ok;
	bool		auth_gid_ok;
};

void	config_defaults(struct config *c);
/* Parse text (as read from a file called name). 0, or -1 with err set. */
int	config_parse(struct config *c, const char *name, const char *text,
	    char *err, size_t errsz);
/* Defaults, then the file. A missing file is fine unless required. */
int	config_load(struct config *c, const char *path, bool required,
	    char *err, size_t errsz);
/* Every key and the value in force, one "key = value" line each. */
void	config_print(FILE *f, const struct config *c);
/* Resolve group names or numeric gids; warns for unknown groups, and
 * then returns false. */
bool	config_resolve_groups(struct config *c);
/* An admin_group or auth_group value as a person knows the group: the
 * name of a numeric gid that has one, else as written. */
void	config_group_name(const char *value, char *buf, size_t bufsz);
/* The live config: set at start and on SIGHUP, copied per request. */
void	config_set_current(const struct config *c);
void	config_current(struct config *out);
/* The live config, shared until config_release(); NULL: out of memory. */
const struct config *config_hold(void);
void	config_release(const struct config *c);
/* The live config's idle and frame timeouts, without a copy of it. */
void	config_timeouts(int *idle_ms, int *frame_ms);

/* listen.c: a socket of mode 0666, its directory made 0755 if missing. */
int	listen_open(const char *path, char *err, size_t errsz);
void	listen_close(int fd, const char *path);

/* sdnotify.c: socket activation and readiness, systemd's protocol. */
int	sd_listen_fd(void);	/* fd, -1 not activated, -2 unusable */
void	sd_notify_state(const char *state);

/* server.c */
/* Serve until SIGTERM/SIGINT; SIGHUP re-reads config_path. sasl_fd and
 * dovecot_fd: the saslauthd and Dovecot sockets, -1 when off. */
int	server_run(int listen_fd, int sasl_fd, int dovecot_fd,
	    const char *config_path, bool required);
/* After the listener is closed: finish in-flight requests. */
void	server_drain(void);

/* peer.c */
enum peer_class {
	PEER_ANYONE	= 1 << 0,
	PEER_AUTH	= 1 << 1,
	PEER_ADMIN	= 1 << 2,
};

struct peer {
	bool	 creds_ok;	/* false: least privilege, whatever uid says */
	pid_t	 pid;
	uid_t	 uid;
	gid_t	 gid;
	gid_t	*groups;
	int	 ngroups;
	char	 login[64];	/* Unix login name of uid, "" if none */
	char	 comm[32];	/* process name, for the log */
};

int	peer_read(int fd, struct peer *p);
void	peer_free(struct peer *p);
unsigned peer_classes(const struct peer *p, const struct config *c);

/* saslauthd.c: one request of the saslauthd protocol on fd, answered
 * through dispatch as a login, within timeout_ms. */
void	saslauthd_serve(int fd, const struct peer *peer, int timeout_ms);
/* A service's password check as the login operation, through dispatch,
 * with pam_acct's rules (exact_name, no_code); user and pw are their
 * lengths' bytes, each NUL-terminated after them, and refused when empty
 * or holding a NUL; remote may be NULL or "". Its reply code, and the
 * reply's message in msg. */
int	service_login(const struct peer *peer, const char *user, size_t ulen,
	    const char *pw, size_t plen, const char *service,
	    const char *remote, char *msg, size_t msgsz);

/* dovecot.c: the server side of Dovecot's authentication protocol on fd
 * (many requests, PLAIN and LOGIN), each a service_login(), until the
 * peer leaves, breaks the protocol or idles, or wake_fd is readable. */
void	dovecot_serve(int fd, const struct peer *peer, int wake_fd);

/* ---- Types the sections below share ---- */

/* account.c: a row of the accounts table. */
struct account {
	char	 id[33];
	bool	 superadmin;
	bool	 login;
	bool	 webdav;
	bool	 two_factor;
	bool	 activated;
	bool	 must_change;	/* set by an admin, cleared by a change */
	char	*username;
	char	*name;
	char	*email;		/* NULL when none */
	char	*role;
	char	*upload_path;
	char	*auth_provider;
	char	*auth_id;
	char	*hash;		/* PHC string; NULL when none; wiped on free */
	int64_t	 failed_logins;
	int64_t	 locked_until;	/* 0: not locked */
	int64_t	 created_at;
	int64_t	 updated_at;
	int64_t	 last_login_at;	/* 0: never */
	int64_t	 deleted_at;	/* 0: active */
	int64_t	 expires_at;	/* 0: never; no login from then on */
	int64_t	 password_changed_at;	/* 0: not known */
	int64_t	 max_age_days;	/* -1: the config's; 0: never */
};

/* A caller of the hash pool (hash.c). */
struct hash_client {
	bool	 reserved;
	uid_t	 uid;
};

/* The kinds of token, stored by name (token_type_names). */
enum token_type {
	TOKEN_SESSION,
	TOKEN_ACCESS,		/* access_token */
	TOKEN_APP_PASSWORD,
	TOKEN_CLIENT,		/* an OAuth2 client's credentials */
	TOKEN_RESET,		/* a mailed reset link's */
	TOKEN_ACTIVATION,	/* a mailed activation link's */
	TOKEN__COUNT,
	/* Not kinds, but what a call may ask for: */
	TOKEN_BEARER = TOKEN__COUNT,	/* check: one that stands for its
					 * account (session, access, app) */
	TOKEN_ALL,			/* list, delete: every kind */
};
extern const char *const token_type_names[TOKEN__COUNT];
/* The kind named s, or -1 for a name that is none. */
int	token_type_parse(const char *s);

/* Tokens are "ID_SECRET" (token.c). */
#define TOKEN_ID_LEN		17		/* 16 hex + NUL */
#define TOKEN_STRING_LEN	(16 + 1 + 64 + 1)	/* ID_SECRET + NUL */

/*
 * dispatch.c: the policy table, one row per operation: what it acts on,
 * which classes may call it, which of them must prove the account's
 * secret, and its handler. The classes of a request are the peer's and
 * two more that depend on what the request names, resolved here once.
 */
#define C_ANYONE	PEER_ANYONE
#define C_AUTH		PEER_AUTH
#define C_ADMIN		PEER_ADMIN
#define C_SELF		(1u << 3)	/* the account named like the caller */
#define C_AUTH_SESSION	(1u << 4)	/* an authenticator, on a session */

struct ctx {
	const struct peer	*peer;
	unsigned		 classes;	/* C_* bits of this request */
	bool			 must_prove;	/* allowed only with the secret */
	/* The caller, to the hash pool and the throttle: the peer, or the
	 * real user a setuid-root peer acts for (dispatch.c). */
	struct hash_client	 hc;
	const struct config	*cfg;		/* held for this request */
	/* What the request acts on, resolved before the handler runs. */
	const char		*username;	/* an account: its name, */
	int			 found;		/* ACCT_OK or NOT_FOUND, */
	struct account		 account;	/* and its row when found */
	char			 token_id[TOKEN_ID_LEN];	/* a token */
	enum token_type		 token_type;
	char			 token_owner[33];	/* its account, "" */
	const char		*only_account;	/* own tokens: NULL for all */
	char			 self_id[33];	/* the caller's account, "" */
	int			 passed_fd;	/* sent with the request, or -1 */
	char			 err[256];	/* message for an error reply */
	enum proto_needs	 needs;		/* who may, when refused */
};

/* At start-up: every operation has a row and a handler. 0 or -1. */
int	dispatch_init(void);
/* Handle one request payload, and the descriptor sent with it (-1 none;
 * the caller closes it); returns the framed reply in *out. */
void	dispatch(const struct peer *peer, const void *payload, size_t len,
	    int passed_fd, struct proto_frame *out);
/* The authorization matrix of acctd(8), as mdoc lines. */
void	dispatch_matrix(FILE *f);
int	ctx_fail(struct ctx *x, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* op_*.c: the handlers, by resource; each fills *res or returns an
 * error, and calls only the layers below (credential, account, token,
 * twofactor, resetlink, auditlog, hash, throttle). */
typedef int handler_fn(struct ctx *, struct proto_request *,
	    struct proto_msg *res);
/* op_accounts.c */
handler_fn h_hello, h_user_add, h_user_show, h_user_list, h_user_mod,
	   h_user_rm, h_users_reset;
/* op_passwords.c */
handler_fn h_passwd, h_password_forgot, h_password_reset,
	   h_user_reset_password;
/* op_login.c */
handler_fn h_login, h_session_add;
/* op_tokens.c */
handler_fn h_token_add, h_token_validate, h_token_list, h_token_show,
	   h_token_revoke, h_tokens_reset, h_client_verify;
/* op_twofa.c */
handler_fn h_totp_enroll, h_totp_confirm;
/* op_audit.c */
handler_fn h_audit_logins, h_audit_reset, h_audit_locks, h_audit_events;
/* op_import.c */
handler_fn h_user_import;
/* op_backup.c */
handler_fn h_db_backup;
/* op_stats.c */
handler_fn h_stats;

/* ---- The layers the handlers call, each only downward ---- */

/* credential.c: the one check of an account's secrets. */
enum cred_status {
	CRED_OK,
	CRED_FAILED,		/* wrong secret, or no such account */
	CRED_LOCKED,		/* account or source locked */
	CRED_DISABLED,		/* right password, login not allowed */
	CRED_PENDING,		/* right password, not activated */
	CRED_EXPIRED,		/* right password, the account expired */
	CRED_CODE_REQUIRED,	/* right password, the code missing */
	CRED_BAD_CODE,
	CRED_ERROR,		/* undecided: busy, out of memory */
	CRED__COUNT
};
extern const char *const cred_status_names[CRED__COUNT]; /* the audit's */

#define CRED_APP_PASSWORDS	0x1	/* an app password may stand in */
#define CRED_SECOND_FACTOR	0x2	/* a 2FA account needs its code */
#define CRED_STAMP_LOGIN	0x4	/* a success is a login */
#define CRED_NO_CODE		0x8	/* no code can be asked for: a 2FA
					 * account's password alone fails */
struct cred_check {
	const char		*realm;		/* the service or operation */
	const char		*remote;	/* the user's address, or "" */
	const char		*name;		/* as given, for the audit */
	/* The password, or NULL to check code against the enrolment in
	 * progress (the first code of totp_confirm). */
	const struct proto_value *password;
	const char		*code;		/* second factor, or NULL */
	unsigned		 flags;
	/* Results. */
	enum cred_status	 status;
	bool			 app;		/* an app password matched */
	char			 app_id[TOKEN_ID_LEN];
	int64_t			 step;		/* of the enrolment's code */
	bool			 must_change;	/* OK, but change it now */
};
/*
 * Check c against account a (found: ACCT_OK, or NOT_FOUND for a name
 * that matches no account, which costs the same). ACCT_OK,
 * ACCT_ERR_AUTH_FAILED for every kind of failure, ACCT_ERR_CODE_REQUIRED,
 * or an error that decided nothing (busy, storage).
 */
int	cred_verify(struct ctx *x, struct cred_check *c, int found,
	    const struct account *a);

/* throttle.c: failure counters per account and per source. */
struct throttle_source {
	uid_t		 uid;		/* the caller */
	const char	*remote;	/* the end user's address, "" if none */
	const char	*service;	/* keys the sources without an address */
	bool		 locks;		/* false: slowed down, never locked */
};
/* One attempt on an account (NULL: none matched) from a source. */
struct throttle_attempt {
	const char	*account_id;
	const struct throttle_source *src;
	bool		 held;		/* counted in flight */
	char		*key[2];
};
enum throttle_outcome {
	THROTTLE_FAILED,	/* one more failure on both counters */
	THROTTLE_CLEARED,	/* a success: both cleared */
	THROTTLE_UNCOUNTED,	/* locked, undecided or waiting for a code */
};
/*
 * Before the hash, without a write: sets *locked when the account or the
 * source is locked (or would be, once the attempts in flight have
 * failed), and *delay_ms when a source that does not lock is past its
 * threshold; otherwise counts the attempt in flight until throttle_end(),
 * which comes after its outcome is committed (throttle_record_locked(),
 * in the transaction of the login's audit row).
 */
int	throttle_begin(const struct config *c, struct throttle_attempt *t,
	    bool *locked, unsigned *delay_ms);
int	throttle_record_locked(const struct config *c,
	    const struct throttle_attempt *t, enum throttle_outcome o,
	    bool stamp_login);
void	throttle_end(struct throttle_attempt *t);
/* The locked and the slowed sources, as "sources" in res. */
int	throttle_list(const struct config *c, int64_t limit, int64_t offset,
	    struct proto_msg *res);
/* Clear one of them (id, as listed) or, id < 0, all of them. */
int	throttle_clear(const struct config *c, int64_t id, int64_t *cleared);
int	throttle_purge_locked(const struct config *c, int64_t now);
int	throttle_reset_all(void);
/* Sources locked now, and those slowed down (as throttle_list()). */
int	throttle_count_held(const struct config *c, int64_t now,
	    int64_t *locked, int64_t *slowed);


/*
 * hash.c: Argon2id on a bounded pool of hash_workers. Reserved callers
 * (admins, authenticators) are served first and have workers and queue
 * places the others cannot take; each other uid has one hash at most.
 * The hashes themselves run on threads of a lower priority.
 */
int	hash_init(const struct config *c);
int	hash_password(const struct config *c, const struct hash_client *who,
	    const char *pw, size_t len, char **phc);
/* ACCT_OK on match, ACCT_ERR_AUTH_FAILED on mismatch, else an error. */
int	hash_verify(const struct hash_client *who, const char *phc,
	    const char *pw, size_t len);
/* A verify's cost against nothing, for unknown users: AUTH_FAILED, or
 * the pool's answer (busy) as a real verify would get it. */
int	hash_dummy(const struct config *c, const struct hash_client *who,
	    const char *pw, size_t len);
/* ACCT_ERR_BUSY when a slot would be refused now: a cheap answer before
 * any other work for a request that needs one. */
int	hash_admit(const struct hash_client *who);
/* A hashing slot: ACCT_ERR_BUSY when the caller's queue is full. Every
 * slow hash runs inside one. */
/* One hash or verify, with what it works on, for hash_run(). */
struct hash_job {
	int		(*fn)(struct hash_job *);
	const struct config *c;
	const char	*pw;
	size_t		 len;
	char		**phc;		/* a new hash */
	const char	*stored;	/* the hash verified against */
	unsigned	 p;
};
/* j->fn = fn, run at a lower priority than requests; its result. With
 * a slot taken. */
int	hash_run(struct hash_job *j, int (*fn)(struct hash_job *));
int	hash_slot_take(const struct hash_client *who);
void	hash_slot_give(const struct hash_client *who);
/* What one verify at the current parameters takes, as measured. */
int64_t	hash_cost_us(void);
/* Time a verify of stored hash h if it is dearer than any timed yet
 * (at start, of the dearest stored; at import, of each new one). */
void	hash_time_stored(const struct config *c, const char *h);
/* What every failure takes at least: the current verify, or the
 * slowest stored hash's when that is dearer. */
int64_t	hash_fail_us(void);
/* The PHC prefix of hashes made with the current parameters. */
void	hash_current_prefix(const struct config *c, char *out, size_t n);
/* True when phc was made with other parameters than the config's. */
bool	hash_needs_rehash(const struct config *c, const char *phc);

/* hashscheme.c: every supported scheme (imported bcrypt, sha512-crypt,
 * yescrypt, Argon2 of other variants or parameters). */
enum hash_scheme_id {
	HS_ARGON2ID, HS_ARGON2I, HS_ARGON2D, HS_BCRYPT, HS_SHA512,
	HS_YESCRYPT, HS__COUNT
};
extern const char *const hash_scheme_names[HS__COUNT];
int	hash_scheme_id(const char *h);	/* -1: none, or unknown */
const char *hash_scheme(const char *h);	/* "bcrypt", ..., "none" */
/* Known, well formed, within the cost limits (a current hash always). */
bool	hash_supported(const struct config *c, const char *h);
/* Its cost against a verify of the default Argon2id; 0: unsupported. */
double	hash_work(const char *h);
int	hash_check(const struct config *c, const struct hash_client *who,
	    const char *h, const char *pw, size_t len);

/* account.c: the accounts table (struct account above). The columns
 * account_from_row() reads from column first on, each name after p. */
#define ACCOUNT_COLUMNS(p) p "id, " p "username, " p "display_name, " \
	p "email, " p "role, " p "super_admin, " p "login_allowed, " \
	p "webdav, " p "upload_path, " p "auth_provider, " p "auth_id, " \
	p "totp_enabled, " p "password_hash, " p "activated, " \
	p "failed_logins, " p "locked_until, " p "created_at, " \
	p "updated_at, " p "last_login_at, " p "deleted_at, " \
	p "expires_at, " p "password_changed_at, " \
	p "password_max_age_days, " p "must_change"
struct db_query;
int	account_from_row(const struct db_query *q, int first,
	    struct account *a);
/*
 * The one rule of who may log in: what bars an account at now, the first
 * that applies, or ACCOUNT_MAY when nothing does. The same rule in SQL,
 * over the accounts columns named with prefix p ("" or "a."), now being
 * the SQL of the time (a parameter): ACCOUNT_OPEN_SQL is all of it but
 * activation, which activation links do without.
 */
enum account_bar {
	ACCOUNT_MAY,
	ACCOUNT_DELETED,
	ACCOUNT_EXPIRED,
	ACCOUNT_DISABLED,	/* login not allowed */
	ACCOUNT_PENDING,	/* not activated */
};
enum account_bar account_may_log_in(const struct account *a, int64_t now);
#define ACCOUNT_OPEN_SQL(p, now) "(" p "deleted_at IS NULL AND " p \
	"login_allowed AND (" p "expires_at IS NULL OR " p "expires_at > " \
	now "))"
#define ACCOUNT_MAY_LOG_IN_SQL(p, now) "(" ACCOUNT_OPEN_SQL(p, now) \
	" AND " p "activated)"
void	account_free(struct account *a);
void	account_pack(msgpack_packer *pk, const struct account *a);
int	account_get(const char *username, struct account *a);
/* The stored hash dearest to verify of those not at the current
 * parameters (NULL: none; freezero it), and in *over how many are over
 * the cost limits (never verified). */
int	account_dearest_hash(const struct config *c, char **hash,
	    int64_t *over);
/* By username, or by email when name holds an '@' and no username matches. */
int	account_find(const char *name, struct account *a);
int	account_get_id(const char *id, struct account *a);
int	account_get_email(const char *email, struct account *a);
int	account_activate(const char *id);
int	account_insert(struct account *a);
/* fn runs inside one write transaction; it may call the _locked calls. */
/* fn inside one write transaction, committed if commit and fn succeeds. */
int	account_batch(int (*fn)(void *), void *arg, bool commit);
int	account_insert_locked(struct account *a);

/* A change of some columns: set says which; the others stay as they are
 * in the row, whatever the caller read before. */
#define AC_NAME		0x0001
#define AC_EMAIL	0x0002	/* email NULL removes it */
#define AC_ROLE		0x0004
#define AC_SUPERADMIN	0x0008
#define AC_LOGIN	0x0010	/* off: every token of the account ends */
#define AC_WEBDAV	0x0020
#define AC_UPLOAD_PATH	0x0040
#define AC_AUTH_PROVIDER 0x0080
#define AC_AUTH_ID	0x0100
#define AC_HASH		0x0200	/* a password change: ends sessions and
				 * reset links; hash NULL removes it */
#define AC_ACTIVATED	0x0400
#define AC_UNLOCK	0x0800	/* clear failures and the lock */
#define AC_NO2FA	0x1000	/* two-factor off, secrets and codes gone */
#define AC_MUST_CHANGE	0x2000
#define AC_EXPIRES	0x4000	/* expires_at 0: never; past: as AC_LOGIN
				 * off */
#define AC_MAX_AGE	0x8000	/* max_age_days -1: the config's */
struct account_change {
	unsigned	 set;
	const char	*name, *email, *role, *upload_path, *auth_provider,
			*auth_id, *hash;
	bool		 superadmin, login, webdav, activated, must_change;
	int64_t		 expires_at, max_age_days;
};
/* ACCT_ERR_NOT_FOUND when the account is gone (deleted meanwhile). */
int	account_change(const char *id, const struct account_change *c);
/* Undelete the row deleted at deleted_at, if it still is, with c. */
int	account_restore(const char *id, int64_t deleted_at,
	    const struct account_change *c);
/*
 * A new password (NULL: none). With check_old, only if the hash is still
 * old_hash (ACCT_ERR_BUSY if not). Ends the account's sessions and reset
 * links in the same transaction.
 */
int	account_set_password(const char *id, bool check_old,
	    const char *old_hash, const char *new_hash);
/* The same password under current parameters: nothing else ends. */
int	account_rehash(const char *id, const char *old_hash,
	    const char *new_hash);
/* Soft delete, ending every token of the account (*tokens: how many). */
int	account_delete(const char *id, int64_t *tokens);
/* current: a hash prefix; when given, only accounts not on it (legacy).
 * filter: NULL, or "locked", "pending", "disabled", "deleted" (only the
 * deleted, which are otherwise left out). */
int	account_list(const char *search, const char *current,
	    const char *filter, int64_t limit, int64_t offset,
	    struct proto_msg *res);
int	account_reset_all(int64_t *removed);
/* Accounts (not deleted) locked by failed logins now. */
int	account_count_locked(int64_t now, int64_t *n);
/* The deleted accounts of a name, newest first: at most max in out,
 * how many there are in *n. */
struct deleted_account {
	char	 id[33];
	int64_t	 deleted_at;
};
int	account_deleted(const char *username, struct deleted_account *out,
	    int max, int *n);
/* A row by id, live or deleted. */
int	account_get_any_id(const char *id, struct account *a);
/* Erase an account for good, with its tokens, 2FA secrets and recovery
 * codes; the audit keeps the username but not the email address. */
int	account_purge(const char *id);
/* From the periodic purge: those deleted before the time given. */
int	account_purge_deleted_locked(int64_t before, int64_t *n);

/* token.c: sessions, access tokens, app passwords, OAuth2 clients. */
/* What a new session still needs when it is inserted (token_create). */
enum token_guard {
	GUARD_NONE,	/* not a session of an account */
	GUARD_LIVE,	/* account live, login allowed, activated */
	GUARD_HASH,	/* ... and its hash still guard_arg (NULL: none) */
	GUARD_APP,	/* ... and the app password guard_arg still there */
};

struct token_spec {
	enum token_type	 type;
	const char	*account_id;	/* NULL: a client of no account */
	const char	*name;
	const char	*scope;
	int64_t		 lifetime;	/* seconds; 0: never expires */
	uid_t		 created_by;
	enum token_guard guard;
	const char	*guard_arg;
};

/* Listed and shown (reset and activation tokens are internal). */
bool	token_type_public(enum token_type type);
bool	scope_allows(const char *scope, const char *service);
/* New token; the string (shown once) in out, its row as key in res.
 * ACCT_ERR_AUTH_FAILED when the guard no longer holds. */
int	token_create(const struct token_spec *s, char out[TOKEN_STRING_LEN],
	    struct proto_msg *res, const char *key);
/* ACCT_OK or ACCT_ERR_INVALID_TOKEN; type TOKEN_BEARER: a bearer. */
int	token_check(const char *token, enum token_type type,
	    const char *service, char owner[33], struct proto_msg *res);
/* token_check() of a bearer token, and the account it stands for read
 * in the same query; a token with no account is invalid here. */
int	token_check_account(const char *token, const char *service,
	    struct account *a, struct proto_msg *res);
/* type: one public kind, or TOKEN_ALL for all of them. */
int	token_list(const char *account_id, enum token_type type,
	    const char *search, int64_t limit, int64_t offset,
	    struct proto_msg *res);
int	token_show(const char *id, char owner[33], enum token_type *type,
	    struct proto_msg *res, const char *key);
void	token_id_of(const char *token, char id[TOKEN_ID_LEN]);
int	token_delete(const char *id);
int	token_delete_account_locked(const char *account_id,
	    enum token_type type, int64_t *removed);	/* or TOKEN_ALL */
int	token_reset_all(int64_t *removed);
int	token_purge_expired_locked(int64_t now, int64_t *removed);

/* twofactor.c: TOTP secrets and recovery codes of accounts. */
#define TWOFACTOR_SECRET_LEN	64	/* base32 text and its NUL */
/* A new enrolment: its secret, stored as pending, in secret. */
int	twofactor_begin(const char *account_id,
	    char secret[TWOFACTOR_SECRET_LEN]);
/* The step of code under the pending secret: ACCT_ERR_AUTH_FAILED if
 * it does not match, ACCT_ERR_NOT_FOUND if nothing is pending. */
int	twofactor_pending_step(const char *account_id, const char *code,
	    int64_t *step);
/* Turn the pending secret on, with ten new recovery codes in res. */
int	twofactor_enable(const char *account_id, int64_t step,
	    struct proto_msg *res);
/*
 * Under db_lock(), in the caller's transaction: ACCT_OK when code is a
 * fresh TOTP code of the account (never one already used) or an unused
 * recovery code, which is then spent; ACCT_ERR_AUTH_FAILED when it is
 * neither; or a storage error.
 */
int	twofactor_spend_locked(const char *account_id, const char *code);

/* totp.c: HOTP/TOTP codes (RFC 4226, 6238) and base32. */
enum totp_alg { TOTP_SHA1, TOTP_SHA256, TOTP_SHA512 };
#define TOTP_PERIOD	30
#define TOTP_DIGITS	6
uint32_t totp_hotp(enum totp_alg alg, const uint8_t *key, size_t keylen,
	    uint64_t counter, int digits);
void	totp_base32(const uint8_t *in, size_t len, char *out);
int	totp_unbase32(const char *in, uint8_t *out, size_t cap);

/* resetlink.c: reset and activation links, by mail. */
/*
 * Mail an activation (or, for an active account, a reset) link. With
 * limited (the public "forgot password" path), at most one per account
 * per reset_mail_interval and reset_mail_per_source an hour from one
 * source (the caller and the address it reports, when it reports one).
 * With sent (an admin's request), waits up to mail_wait seconds for the
 * mailer: *sent is true when it sent the mail, false when it is still
 * queued; ACCT_ERR_MAIL_FAILED, the reason in x->err, when it failed
 * (the link is void). Without, the mail is only queued: the public path
 * answers at once, whatever the mailer does.
 */
int	resetlink_mail(struct ctx *x, const struct account *a,
	    bool activation, bool limited, const char *remote, bool *sent);
/* A live reset or activation token: its account's id, and which. */
int	resetlink_check(const char *token, char owner[33], bool *activation);
/* Use it up: ACCT_OK for the one caller that deletes it. */
int	resetlink_claim(const char *token);
int	resetlink_purge_locked(const struct config *c, int64_t now);

/* mail.c: one mailer thread; a slow mailer never holds a request. */
int	mail_start(void);
void	mail_stop(void);
/* Queue a message (the body is wiped once sent): ACCT_OK, or
 * ACCT_ERR_BUSY when the queue is full or already holds a message to
 * that address (one account cannot hold up the others' mail),
 * ACCT_ERR_INVALID for a header value that could inject headers.
 * With w, the caller may then wait for the outcome with mail_wait(). */
struct mail;
struct mail_wait {
	struct mail	*m;		/* while queued or being sent */
	bool		 done;
	char		 why[64];	/* when done: "" sent, or why not */
};
int	mail_queue(const struct config *c, const char *to,
	    const char *to_name, const char *subject, const char *body,
	    struct mail_wait *w);
/* Wait up to ms for w's outcome: true when it is known (w->why). */
bool	mail_wait(struct mail_wait *w, unsigned ms);

/* mailtext.c: the words of reset and activation mail. */
struct mailtext_vars {
	const char	*name;		/* the account's display name */
	const char	*username;
	const char	*site;		/* site_name, or the link's host */
	const char	*lifetime;	/* in words: mailtext_lifetime() */
	const char	*link;
	const char	*token;
};
/* A template as acctd.conf names it: 0, or -1 with why set. */
int	mailtext_check(const char *text, char *why, size_t whysz);
/* Subject and body from text ("": the built-in one of the kind), lines
 * wrapped at 78 characters; both malloc'd. 0, or -1 out of memory. */
int	mailtext_render(const char *text, bool activation,
	    const struct mailtext_vars *v, char **subject, char **body);
/* "30 minutes", "24 hours", "2 days". */
void	mailtext_lifetime(uint32_t seconds, char *buf, size_t bufsz);
/* The host of url (between :// and the path), or the host's name. */
void	mailtext_site(const char *url, char *buf, size_t bufsz);

/* auditlog.c: the login audit table. */
struct audit_login {
	const struct peer *peer;
	const char	*realm;
	const char	*remote;
	const char	*username;	/* as given; sanitised on insert */
	const char	*account_id;	/* NULL if none matched */
	const char	*status;	/* OK, FAILED, LOCKED, DISABLED, PENDING */
};

int	auditlog_add_locked(const struct audit_login *e);
int	auditlog_list(const char *username, int64_t limit, int64_t offset,
	    struct proto_msg *res);
int	auditlog_reset(int64_t *removed);
int	auditlog_purge_locked(const struct config *c, int64_t now);
/*
 * Other events, by uid (0 for the daemon's own): what happened, to
 * whom (a username or an address, "" for none) and the rest of it, never
 * a secret: mail sent or failed, links mailed, passwords changed, reset
 * or removed, accounts created, changed, removed, purged, tokens issued
 * and revoked, two-factor turned on, audit and locks cleared, imports,
 * backups. auditlog_events() lists them, newest first, as "events".
 */
void	auditlog_event(uid_t uid, const char *event, const char *subject,
	    const char *detail);
void	auditlog_eventf(uid_t uid, const char *event, const char *subject,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int	auditlog_events(const char *search, int64_t limit, int64_t offset,
	    struct proto_msg *res);

/* purge.c: expired tokens, old audit rows, stale throttle counters. */
#define PURGE_INTERVAL	3600	/* seconds */
void	purge_run(const struct config *c);

/* validate.c: every check returns 0 or -1 with a message for the user. */
int	validate_username(char *name, char *err, size_t errsz); /* lowercases */
/* A name as a service (PAM, saslauthd) must give it: an account's
 * username exactly, never folded, never an email address, not root. */
bool	validate_service_name(const char *name);
int	validate_email(char *email, char *err, size_t errsz);	/* lowercases */
int	validate_role(const char *role, char *err, size_t errsz);
int	validate_provider(const char *p, char *err, size_t errsz);
int	validate_text(const char *what, const char *s, char *err, size_t errsz);
int	validate_scope(const char *scope, char *err, size_t errsz);
int	validate_password(const struct config *c, const char *pw, size_t len,
	    char *err, size_t errsz);

/*
 * db.c: one SQLite connection that writes, serialised by db_lock(), and
 * a pool of read-only ones, one lent to a thread between db_read() and
 * db_read_end(), so that reads never wait for the writer (WAL). A
 * thread may take the lock while it holds a reader, never the other
 * way round; under the lock its reads go to the writer. Statements bind
 * typed arguments, checked against the statement's parameter count:
 *	db_exec(&n, "UPDATE t SET a = ?1 WHERE id = ?2",
 *	    DB_ARGS(DB_INT(a), DB_TEXT(id)));
 * Every call returns ACCT_OK or an ACCT_ERR_* code, never SQLite's.
 */
enum db_type { DB_T_NULL, DB_T_TEXT, DB_T_INT };
struct db_arg {
	enum db_type	 type;
	const char	*text;
	int64_t		 i;
};
#define DB_TEXT(s)	((struct db_arg){ .type = DB_T_TEXT, .text = (s) })
#define DB_INT(v)	((struct db_arg){ .type = DB_T_INT, .i = (int64_t)(v) })
#define DB_NULL		((struct db_arg){ .type = DB_T_NULL })
#define DB_ARGS(...)	(const struct db_arg[]){ __VA_ARGS__ }, \
	(sizeof((const struct db_arg[]){ __VA_ARGS__ }) / sizeof(struct db_arg))
#define DB_NOARGS	NULL, 0

/* Rows of a query: while (db_next(&q)) ...; rc = db_done(&q); */
struct db_query {
	struct sqlite3_stmt	*st;
	int			 rc;
};

/* The database at path, migrated to the latest schema. Its schema must
 * be exactly what the migrations make for its version, before they run
 * and after: else -1, err naming the first difference. */
int	db_open(const char *path, char *err, size_t errsz);
void	db_close(void);
/*
 * Hold the database at path for this process, until it exits, by a lock
 * on PATH.lock (made, with its directory, if need be): one acctd, or one
 * acctd --restore, per database. 0, or -1 with the holder's pid in err.
 */
int	db_claim(const char *path, char *err, size_t errsz);
/* The schema version this acctd migrates to (its migrations' count),
 * and the SQL of migration i (from 0), which the upgrade tests replay to
 * make the databases of earlier versions; NULL past the last. */
int	db_schema_latest(void);
const char *db_migration(int i);
/* A consistent copy of the database at src into dst (absent or empty),
 * on a connection of its own: writers go on meanwhile. 0 or -1, err. */
int	db_copy(const char *src, const char *dst, char *err, size_t errsz);
/* An acctd database: it passes integrity_check, and its schema is one
 * this acctd's migrations make, checked as db_open() checks it. Its
 * schema version and the number of its accounts; 0, or -1 with err. */
int	db_file_check(const char *path, int *version, int64_t *accounts,
	    char *err, size_t errsz);
void	db_lock(void);
void	db_unlock(void);
void	db_read(void);		/* calls nest */
void	db_read_end(void);
/* Every reader renews its snapshot: another program changed the file. */
void	db_invalidate(void);
/* The reason behind this thread's last database error, once; or NULL. */
const char *db_problem(void);
int	db_schema_version(void);
/* With db_lock() or db_read() held, as every call below; writes and
 * db_begin() under db_lock() alone. */
int	db_exec(int64_t *changes, const char *sql, const struct db_arg *args,
	    size_t nargs);
int	db_query(struct db_query *q, const char *sql,
	    const struct db_arg *args, size_t nargs);
bool	db_next(struct db_query *q);
int	db_done(struct db_query *q);	/* ACCT_OK or the query's error */
/* The first row in q (ACCT_OK), ACCT_ERR_NOT_FOUND, or an error; the
 * caller calls db_done() whatever the answer. */
int	db_one(struct db_query *q, const char *sql,
	    const struct db_arg *args, size_t nargs);
const char *db_text(const struct db_query *q, int col);	/* NULL: NULL */
int64_t	db_int(const struct db_query *q, int col);
bool	db_null(const struct db_query *q, int col);
void	db_pack_text(msgpack_packer *pk, const char *key,
	    const struct db_query *q, int col);
void	db_pack_int(msgpack_packer *pk, const char *key,
	    const struct db_query *q, int col);
int	db_begin(void);		/* a write transaction */
int	db_begin_read(void);
int	db_end(int rc);		/* commit if rc is ACCT_OK, else roll back */
void	db_rollback(void);
int	db_checkpoint_locked(void);	/* WAL into the file, and emptied */

/*
 * page.c: a page of a list, over db.c: count_sql counts every row that
 * args select; rows_sql gives them, in order, with ?N+1 the limit and
 * ?N+2 the offset after the N args; each row is packed by pack. In res:
 * key, the array of the page's rows, and total, the count.
 */
#define PAGE_MAX_ARGS	6
struct page_query {
	const char		*key;
	const char		*count_sql;
	const char		*rows_sql;
	const struct db_arg	*args;
	size_t			 nargs;
	int64_t			 limit;
	int64_t			 offset;
	void			(*pack)(msgpack_packer *, const struct db_query *,
				    void *);
	void			*arg;
};
int	page_list(const struct page_query *pq, struct proto_msg *res);

/* backup.c: a backup while serving, to a descriptor the client opened;
 * the offline restore. */
struct backup_info {
	int64_t	 bytes;
	int64_t	 accounts;
	int	 schema_version;
};
/* fd: an empty regular file (not of /proc, /sys or the kernel's other
 * file systems) or a pipe, else ACCT_ERR_INVALID. ACCT_OK or an error,
 * err. */
int	backup_to_fd(const char *dbpath, int fd, struct backup_info *bi,
	    char *err, size_t errsz);
/* Check file, copy it beside dbpath, migrate the copy, set the old
 * database aside and put the copy in its place. 0 or -1; msg says. */
int	backup_restore(const char *file, const char *dbpath, char *msg,
	    size_t msgsz);
void	backup_remove_stale(const char *dbpath);

/*
 * stats.c: counters and histograms of the running daemon, for the stats
 * operation. Every call that counts is lock-free (relaxed atomics), never
 * allocates and makes no system call, so any request path may count; the
 * layers above call down into it, it calls nothing of theirs.
 */
#define STATS_BOUNDS	10	/* a histogram's bounds; one bucket more */
extern const int64_t stats_bounds_us[STATS_BOUNDS];	/* upper, inclusive */
#define STATS_SERVICES	32	/* services named; the others "(other)" */
#define STATS_SERVICE_LEN 33	/* a service's name as counted, and NUL */
enum stats_conn { STATS_CONN_ADMIN, STATS_CONN_AUTH, STATS_CONN_USER,
	STATS_CONN__COUNT };

void	stats_started(int64_t now);
/* op < 0: a request that did not decode. */
void	stats_request(int op, bool error, int64_t us);
void	stats_login(const char *svc, enum cred_status s);
void	stats_hash(int scheme);			/* hash_scheme_id() */
void	stats_hash_wait(int64_t us);
void	stats_hash_queue(unsigned waiting);
void	stats_mail(bool sent);
void	stats_mail_queue(unsigned queued);
void	stats_conn_open(enum stats_conn c);
void	stats_conn_close(void);
void	stats_conn_refused(void);
void	stats_commit(int64_t us);
/* A service as stats_login() names it: sanitized, cut, "(none)". */
void	stats_service_name(const char *service, char out[STATS_SERVICE_LEN]);

/* The counters as they are now, copied out (not one instant: each
 * counter is read once, while others go on counting). */
struct stats_hist {
	uint64_t	 count[STATS_BOUNDS + 1];	/* per bucket */
	uint64_t	 sum_us;
};
struct stats_snapshot {
	int64_t		 started;
	struct {
		uint64_t		 n, errors;
		struct stats_hist	 latency;
	}		 req[OP__COUNT];
	uint64_t	 malformed;
	unsigned	 nservices;	/* and "(other)" after them */
	struct {
		char		 name[STATS_SERVICE_LEN];
		uint64_t	 n[CRED__COUNT];
	}		 service[STATS_SERVICES + 1];
	uint64_t	 hashes[HS__COUNT];
	uint64_t	 hash_waiting;
	struct stats_hist hash_wait;
	uint64_t	 mail_sent, mail_failed, mail_queued;
	uint64_t	 conn[STATS_CONN__COUNT], conn_refused, conn_open;
	struct stats_hist commit;
};
void	stats_snapshot(struct stats_snapshot *s);

/* util.c: clocks, random ids, and small files read whole. */
int64_t	now_unix(void);
int64_t	mono_us(void);
void	random_hex(char *out, size_t nbytes);	/* writes 2*nbytes+1 chars */
/*
 * Every file acctd opens by name to read (acctd.conf, the mail
 * templates, a backup to restore): opened without blocking and refused
 * unless it is a regular file, so that a FIFO, socket, directory or
 * device in its place never holds the caller. A symbolic link (the last
 * part of path) is refused unless FILE_FOLLOW. The descriptor, or -1
 * with the reason in err, naming path, and errno (ENOENT: absent).
 */
#define FILE_FOLLOW	0x1	/* follow a symbolic link */
#define FILE_NULL_OK	0x2	/* /dev/null reads as an empty file */
int	file_open_regular(const char *path, unsigned flags, char *err,
	    size_t errsz);
/* The same file read whole, at most max bytes, into buf (max + 1 bytes:
 * it ends in a NUL), its length in *len. 0, or -1 with err and errno
 * (EFBIG: larger than max). */
int	file_read_small(const char *path, unsigned flags, char *buf,
	    size_t max, size_t *len, char *err, size_t errsz);

#endif
