/*
 * acctd.h: the map of the daemon. One section per file, in the order a
 * request travels: config, listening socket, server, peer, dispatch,
 * handlers, accounts, database, hashing.
 */
#ifndef ACCTD_H
#define ACCTD_H

#include <sys/types.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../proto/proto.h"

struct account;
struct sqlite3;
struct sqlite3_stmt;

#define ACCTD_DEFAULT_CONFIG	"/etc/acctd/acctd.conf"
#define ACCTD_DEFAULT_SOCKET	ACCT_DEFAULT_SOCKET
#define ACCTD_DEFAULT_DB	"/var/lib/acctd/acctd.db"
#define ACCTD_SOCKET_MAX	108	/* sizeof(sun_path) */

/* Hard caps on stored Argon2 parameters, so an edited row or config
 * cannot turn one verify into a memory or CPU bomb. */
#define ACCTD_ARGON2_MAX_M	(1024 * 1024)	/* 1 GiB */
#define ACCTD_ARGON2_MAX_T		64
#define ACCTD_ARGON2_MAX_P	16

/* config.c */
struct config {
	char		socket_path[ACCTD_SOCKET_MAX];
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
	char		mail_from[256];
	char		reset_url[1024];	/* with {token} */
	char		activation_url[1024];	/* with {token} */
	uint32_t	mail_timeout;		/* seconds per message */
	uint32_t	mail_queue;		/* messages waiting at most */
	uint32_t	reset_token_lifetime;	/* seconds */
	uint32_t	activation_token_lifetime; /* seconds */
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
/* Resolve group names or numeric gids; warns for unknown groups. */
void	config_resolve_groups(struct config *c);
/* The live config: set at start and on SIGHUP, copied per request. */
void	config_set_current(const struct config *c);
void	config_current(struct config *out);

/* validate.c: every check returns 0 or -1 with a message for the user. */
int	validate_username(char *name, char *err, size_t errsz); /* lowercases */
int	validate_email(char *email, char *err, size_t errsz);	/* lowercases */
int	validate_role(const char *role, char *err, size_t errsz);
int	validate_provider(const char *p, char *err, size_t errsz);
int	validate_text(const char *what, const char *s, char *err, size_t errsz);
int	validate_password(const struct config *c, const char *pw, size_t len,
	    char *err, size_t errsz);

/* listen.c */
int	listen_open(const char *path, char *err, size_t errsz);
void	listen_close(int fd, const char *path);

/* sdnotify.c: socket activation and readiness, systemd's protocol. */
int	sd_listen_fd(void);	/* fd, -1 not activated, -2 unusable */
void	sd_notify_state(const char *state);

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

/* server.c */
/* Serve until SIGTERM/SIGINT; SIGHUP re-reads config_path. */
int	server_run(int listen_fd, const char *config_path, bool required);
/* After the listener is closed: finish in-flight requests. */
void	server_drain(void);

/* dispatch.c */
struct ctx {
	const struct peer	*peer;
	unsigned		 classes;	/* enum peer_class bits */
	struct config		 cfg;		/* snapshot for this request */
	char			 err[256];	/* message for an error reply */
};

/* Handle one request payload; returns the framed reply in *out. */
void	dispatch(const struct peer *peer, const void *payload, size_t len,
	    struct proto_frame *out);
int	ctx_fail(struct ctx *x, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* users.c and passwd.c: handlers, each fills *res or returns an error. */
typedef int handler_fn(struct ctx *, struct proto_request *,
	    struct proto_msg *res);
handler_fn h_hello, h_user_add, h_user_show, h_user_list, h_user_mod,
	   h_user_rm, h_users_reset, h_passwd, h_login, h_audit_logins,
	   h_audit_reset, h_token_add, h_token_validate, h_token_list,
	   h_token_show, h_token_revoke, h_tokens_reset, h_client_verify,
	   h_password_forgot, h_password_reset, h_user_reset_password,
	   h_session_add, h_totp_enroll, h_totp_confirm, h_user_import;
/* login.c: a new session for a, shown once; also used by session_add. */
int	session_create(struct ctx *x, struct proto_request *req,
	    const struct account *a, struct proto_msg *res);
/* The live account the request's username names (not_found says so). */
int	named_account(struct ctx *x, struct proto_request *req,
	    struct account *a);
/* The account named like the caller's Unix login; ACCT_ERR_NOT_FOUND. */
int	self_account(const struct ctx *x, struct account *a);

/* account.c: rows of the accounts table. */
struct account {
	char	 id[33];
	char	*username;
	char	*name;
	char	*email;		/* NULL when none */
	char	*role;
	bool	 superadmin;
	bool	 login;
	bool	 webdav;
	char	*upload_path;
	char	*auth_provider;
	char	*auth_id;
	bool	 two_factor;
	char	*hash;		/* PHC string; NULL when none; wiped on free */
	bool	 activated;
	int64_t	 failed_logins;
	int64_t	 locked_until;	/* 0: not locked */
	int64_t	 created_at;
	int64_t	 updated_at;
	int64_t	 last_login_at;	/* 0: never */
	int64_t	 deleted_at;	/* 0: active */
};

void	account_free(struct account *a);
void	account_pack(msgpack_packer *pk, const struct account *a);
int	account_get(const char *username, struct account *a);
int	account_get_deleted(const char *username, struct account *a);
/* By username, or by email when name holds an '@' and no username matches. */
int	account_find(const char *name, struct account *a);
int	account_get_id(const char *id, struct account *a);
int	account_get_email(const char *email, struct account *a);
int	account_activate(const char *id);
int	account_insert(struct account *a);
int	account_insert_locked(struct account *a);	/* db_lock() held */
/* What account_update() writes beyond the editable properties. */
#define UPD_HASH	0x01	/* a->hash */
#define UPD_ACTIVATED	0x02	/* a->activated */
#define UPD_UNLOCK	0x04	/* clear failures and lock */
#define UPD_NO2FA	0x08	/* two-factor off, secrets and codes gone */
int	account_update(const struct account *a, unsigned what);
int	account_set_hash(const char *id, const char *old_hash,
	    const char *new_hash);
int	account_delete(const char *id);
/* current: a hash prefix; when given, only accounts not on it (legacy). */
int	account_list(const char *search, const char *current, int64_t limit,
	    int64_t offset, struct proto_msg *res);
int	account_reset_all(int64_t *removed);

/* throttle.c: failure counters per account and per (peer uid, address). */
/*
 * Count one attempt as failed before it is verified, so parallel attempts
 * cannot slip past the limit; throttle_success() refunds it. Sets *locked
 * (and charges nothing) when the account or the source is locked.
 */
int	throttle_charge(const struct config *c, const char *account_id,
	    uid_t uid, const char *remote, bool *locked);
int	throttle_success(const char *account_id, uid_t uid, const char *remote);
int	throttle_unlock(const char *account_id);
int	throttle_purge(const struct config *c, int64_t now);	/* db locked */
int	throttle_reset_all(void);
int	throttle_refund(const struct config *c, const char *account_id,
	    uid_t uid, const char *remote);

/* token.c: sessions, access tokens, app passwords, OAuth2 clients. */
#define TOKEN_ID_LEN		17		/* 16 hex + NUL */
#define TOKEN_STRING_LEN	(16 + 1 + 64 + 1)	/* ID_SECRET + NUL */

struct token_spec {
	const char	*type;		/* session, access_token, ... */
	const char	*account_id;	/* NULL: a client of no account */
	const char	*name;
	const char	*scope;
	int64_t		 lifetime;	/* seconds; 0: never expires */
	uid_t		 created_by;
};

bool	token_type_public(const char *type);
bool	scope_allows(const char *scope, const char *service);
/* New token; the string (shown once) in out, its row as key in res. */
int	token_create(const struct token_spec *s, char out[TOKEN_STRING_LEN],
	    struct proto_msg *res, const char *key);
/* ACCT_OK or ACCT_ERR_INVALID_TOKEN; type NULL: any but "client". */
int	token_check(const char *token, const char *type, const char *service,
	    char owner[33], struct proto_msg *res);
int	token_list(const char *account_id, const char *type,
	    const char *search, int64_t limit, struct proto_msg *res);
int	token_show(const char *id, char owner[33], char type[16],
	    struct proto_msg *res, const char *key);
void	token_id_of(const char *token, char id[TOKEN_ID_LEN]);
int	token_delete(const char *id);
int	token_delete_account(const char *account_id, const char *type,
	    int64_t *removed);
int	token_reset_all(int64_t *removed);
int	token_purge_expired(int64_t now, int64_t *removed);

/* mail.c: one mailer thread; a slow mailer never holds a request. */
int	mail_start(void);
void	mail_stop(void);
/* Queue a message (the body is wiped once sent): ACCT_OK, or
 * ACCT_ERR_BUSY when the queue is full, ACCT_ERR_INVALID for a header
 * value that could inject headers. */
int	mail_queue(const struct config *c, const char *to,
	    const char *subject, const char *body);

/* reset.c: reset and activation tokens, by mail. */
/* Mail an activation (or, for an active account, a reset) link. */
int	reset_mail(struct ctx *x, const struct account *a, bool activation);

/* totp.c: HOTP/TOTP codes (RFC 4226, 6238) and base32. */
enum totp_alg { TOTP_SHA1, TOTP_SHA256, TOTP_SHA512 };
#define TOTP_PERIOD	30
#define TOTP_DIGITS	6
uint32_t totp_hotp(enum totp_alg alg, const uint8_t *key, size_t keylen,
	    uint64_t counter, int digits);
void	totp_base32(const uint8_t *in, size_t len, char *out);
int	totp_unbase32(const char *in, uint8_t *out, size_t cap);

/* twofa.c: enrolment, checks at login, recovery codes. */
/*
 * ACCT_OK when code is a fresh TOTP code of the account (never one
 * already used) or an unused recovery code, which is then spent.
 */
int	twofa_check(const char *account_id, const char *code);

/* purge.c: expired tokens, old audit rows, stale throttle counters. */
#define PURGE_INTERVAL	3600	/* seconds */
void	purge_run(const struct config *c);

/* auditlog.c: the login audit table. */
struct audit_login {
	const struct peer *peer;
	const char	*realm;
	const char	*remote;
	const char	*username;	/* as given; sanitised on insert */
	const char	*account_id;	/* NULL if none matched */
	const char	*status;	/* OK, FAILED, LOCKED, DISABLED, PENDING */
};

int	auditlog_add(const struct audit_login *e);
int	auditlog_list(const char *username, int64_t limit,
	    struct proto_msg *res);
int	auditlog_reset(int64_t *removed);
int	auditlog_purge(const struct config *c, int64_t now);	/* db locked */
/* Other events: mail sent or failed, password reset, activation. */
void	auditlog_event(uid_t uid, const char *event, const char *username,
	    const char *detail);

/* db.c: one SQLite connection, serialized by db_lock(). */
int	db_open(const char *path, char *err, size_t errsz);
void	db_close(void);
struct sqlite3 *db_handle(void);
void	db_lock(void);
void	db_unlock(void);
int	db_error(int sqlite_rc);	/* SQLite result -> ACCT_ERR_* */
/* The reason behind this thread's last database error, once; or NULL. */
const char *db_problem(void);
int	db_schema_version(void);
/* With db_lock() held. types: 's' text (NULL: null), 'i' int64_t. */
int	db_prepare(struct sqlite3_stmt **out, const char *sql,
	    const char *types, ...);
/* The same, kept prepared for next time: give it back with db_release(). */
int	db_prepare_cached(struct sqlite3_stmt **out, const char *sql,
	    const char *types, ...);
void	db_release(struct sqlite3_stmt *st);	/* reset, or finalize */
int	db_exec(int64_t *changes, const char *sql, const char *types, ...);
void	db_pack_text(msgpack_packer *pk, const char *key,
	    struct sqlite3_stmt *st, int col);
void	db_pack_int(msgpack_packer *pk, const char *key,
	    struct sqlite3_stmt *st, int col);
int	db_begin(void);
int	db_end(int rc);		/* commit if rc is ACCT_OK, else roll back */

/* hash.c: Argon2id, at most hash_workers at a time. */
int	hash_init(const struct config *c);
int	hash_password(const struct config *c, const char *pw, size_t len,
	    char **phc);
/* ACCT_OK on match, ACCT_ERR_AUTH_FAILED on mismatch, else an error. */
int	hash_verify(const char *phc, const char *pw, size_t len);
/* A hashing slot (at most hash_workers at once): ACCT_ERR_BUSY when
 * hash_queue are already waiting. Every slow hash runs inside one. */
int	hash_slot_take(void);
void	hash_slot_give(void);
/* The PHC prefix of hashes made with the current parameters. */
void	hash_current_prefix(const struct config *c, char *out, size_t n);
/* True when phc was made with other parameters than the config's. */
bool	hash_needs_rehash(const struct config *c, const char *phc);
/* Cost one verify against a dummy hash, for unknown users. */
void	hash_dummy_verify(const struct config *c, const char *pw, size_t len);

/* legacy.c: every supported scheme (imported bcrypt, sha512-crypt,
 * yescrypt, Argon2 of other variants or parameters). */
const char *hash_scheme(const char *h);	/* "bcrypt", ..., "none" */
bool	hash_supported(const char *h);		/* known and within caps */
int	hash_check(const char *h, const char *pw, size_t len);

/* util: time and random ids. */
int64_t	now_unix(void);
void	random_hex(char *out, size_t nbytes);	/* writes 2*nbytes+1 chars */

#endif
