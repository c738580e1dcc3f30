/*
 * acct.h: libacct, the C client library of acctd. Local daemons use it to
 * authenticate users without reading the credential store. See libacct(3).
 */
#ifndef ACCT_H
#define ACCT_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The interface version of this header: 0.2 added the calls of the
 * LIBACCT_0.2 symbol node (acct_open_ex, acct_session_add, acct_passwd,
 * acct_password_forgot, acct_password_reset). Test it with
 * #if LIBACCT_VERSION_NUM >= 2. acct_version() gives the package's.
 */
#define LIBACCT_VERSION_MAJOR	0
#define LIBACCT_VERSION_MINOR	2
#define LIBACCT_VERSION_NUM	(LIBACCT_VERSION_MAJOR * 100 + \
				 LIBACCT_VERSION_MINOR)

#define ACCT_DEFAULT_SOCKET	"/run/acctd/acctd.sock"

/*
 * Error codes. The numbers are part of the protocol: never renumber,
 * only append. acct_strerror() gives the stable name and a message.
 */
enum acct_err {
	ACCT_OK			= 0,
	ACCT_ERR_INTERNAL	= 1,	/* daemon bug or unexpected failure */
	ACCT_ERR_PROTOCOL	= 2,	/* malformed message */
	ACCT_ERR_VERSION	= 3,	/* unsupported protocol version */
	ACCT_ERR_UNKNOWN_OP	= 4,	/* operation not known */
	ACCT_ERR_INVALID	= 5,	/* bad, missing or unknown argument */
	ACCT_ERR_DENIED		= 6,	/* peer may not do this */
	ACCT_ERR_NOT_FOUND	= 7,	/* no such account or object */
	ACCT_ERR_EXISTS		= 8,	/* name or email already taken */
	ACCT_ERR_DELETED	= 9,	/* a deleted account has that name */
	ACCT_ERR_AUTH_FAILED	= 10,	/* credentials not accepted */
	ACCT_ERR_BUSY		= 11,	/* try again later */
	ACCT_ERR_STORAGE	= 12,	/* database error, disk full */
	ACCT_ERR_INVALID_TOKEN	= 13,	/* token unknown, expired, revoked */
	ACCT_ERR_POLICY		= 14,	/* password refused by policy */
	ACCT_ERR_CONFIRM	= 15,	/* destructive op needs confirm=true */
	ACCT_ERR_UNAVAILABLE	= 16,	/* daemon shutting down */
	ACCT_ERR_NOT_CONFIGURED	= 17,	/* e.g. mail settings missing */
	ACCT_ERR_CODE_REQUIRED	= 18,	/* login: give the 2FA code too */
	ACCT_ERR_MAIL_FAILED	= 19,	/* the mailer did not send it */
	ACCT_ERR__WIRE_MAX,
	/* Local to the client side, never sent on the wire. */
	ACCT_ERR_CONNECT	= 100,	/* cannot reach the daemon */
	ACCT_ERR_IO		= 101,	/* connection broke mid-request */
	ACCT_ERR_NOMEM		= 102,
	ACCT_ERR_UNTRUSTED	= 103,	/* the socket is not served by root */
};

const char *acct_errname(int code);	/* "not_found" */
const char *acct_strerror(int code);	/* "no such account" */

/*
 * A connection to acctd. Thread safety: one handle must not be used by
 * two threads at once; separate handles are independent, and every
 * call may run in many threads at once on their own handles (the
 * library has no global state). Requests on a handle are answered in
 * order.
 */
typedef struct acct acct_t;

/* The public properties of an account. Strings are owned by the struct. */
struct acct_user {
	char		 id[33];
	char		*username;
	char		*name;
	char		*email;		/* NULL when none */
	char		*role;		/* admin, user, viewer, guest */
	bool		 superadmin;
	bool		 webdav;
	char		*upload_path;
	char		*auth_provider;
	char		*auth_id;
	bool		 two_factor;
};

/*
 * Connect; path NULL means ACCT_DEFAULT_SOCKET. Returns ACCT_OK or an
 * error; ACCT_ERR_UNTRUSTED when the socket is served by a uid other
 * than root, before anything is sent.
 */
int	acct_open(const char *path, acct_t **out);
void	acct_close(acct_t *a);

/* Options of acct_open_ex(); members left 0 or NULL are the defaults. */
struct acct_options {
	const char	*path;		/* NULL: ACCT_DEFAULT_SOCKET */
	uid_t		 server_uid;	/* accepted besides root; 0: root only */
	int		 timeout_ms;	/* per reply; 0: wait as long as it takes */
};

/* acct_open() with options: a test daemon, a deadline. */
int	acct_open_ex(const struct acct_options *opt, acct_t **out);

/*
 * Verify a password. service and remote_addr (may be NULL) are recorded
 * in the audit log and key the throttle. On ACCT_OK, *user (if not NULL)
 * holds the account; free it with acct_user_free(). Wrong password,
 * unknown user, locked or disabled account: ACCT_ERR_AUTH_FAILED.
 */
int	acct_login(acct_t *a, const char *username, const char *password,
	    const char *service, const char *remote_addr,
	    struct acct_user *user);
void	acct_user_free(struct acct_user *u);

/* Everything a login may carry; unused members NULL or 0. */
struct acct_login_req {
	const char	*username;	/* or email; required */
	const char	*password;	/* or an app password; required */
	const char	*code;		/* two-factor code, when asked */
	const char	*service;
	const char	*remote_addr;
	bool		 session;	/* also open a session */
	const char	*scope;		/* of the session; NULL: "*" */
	int64_t		 lifetime;	/* seconds; 0: the daemon's default */
};

/*
 * acct_login() with every option. ACCT_ERR_CODE_REQUIRED means the
 * password was right and the account wants its two-factor code: ask
 * for it and call again with code set. With session, *token receives
 * the new session token (shown once; free it with acct_secret_free()).
 */
int	acct_login_ex(acct_t *a, const struct acct_login_req *req,
	    struct acct_user *user, char **token);

/*
 * acct_login_ex() for a service that stands between acctd and its
 * users, with flags of what it is:
 * ACCT_LOGIN_EXACT_NAME: username is an account's username exactly as
 *	typed: no case folding, no email address, never "root"; any other
 *	name fails like an unknown one (counted and audited).
 * ACCT_LOGIN_NO_CODE: the service cannot ask for a two-factor code: a
 *	right password of a two-factor account fails like a wrong one
 *	(no ACCT_ERR_CODE_REQUIRED, which would tell the password).
 * ACCT_LOGIN_REAL_UID: when this process is setuid (getuid() differs
 *	from geteuid()), name its real uid; a root caller is then limited
 *	and throttled as that user (pam_acct in su, say).
 */
#define ACCT_LOGIN_EXACT_NAME	0x1u
#define ACCT_LOGIN_NO_CODE	0x2u
#define ACCT_LOGIN_REAL_UID	0x4u
int	acct_login_flags(acct_t *a, const struct acct_login_req *req,
	    unsigned flags, struct acct_user *user, char **token);

/*
 * Check a session or access token: ACCT_OK with *user (if not NULL),
 * or ACCT_ERR_INVALID_TOKEN for anything expired, revoked, malformed
 * or unknown. service (may be NULL) must be in the token's scope.
 */
int	acct_validate(acct_t *a, const char *token, const char *service,
	    struct acct_user *user);

/* End a session or token (log out). */
int	acct_revoke(acct_t *a, const char *token);

/* A session for an account the caller authenticated itself (SSO). */
struct acct_session_req {
	const char	*username;	/* required */
	const char	*service;	/* names the session; may be NULL */
	const char	*scope;		/* NULL: "*" */
	int64_t		 lifetime;	/* seconds; 0: the daemon's default */
};

/*
 * Open a session for req->username without a password (authenticators
 * and admins only): *token receives it (acct_secret_free() it), *user
 * (if not NULL) the account.
 */
int	acct_session_add(acct_t *a, const struct acct_session_req *req,
	    struct acct_user *user, char **token);

/*
 * Change username's password to new_password, proven by exactly one of
 * password (the current one) or token (a session of the account, for
 * SSO accounts without a local password). A wrong proof is
 * ACCT_ERR_AUTH_FAILED; a new password the policy refuses is
 * ACCT_ERR_POLICY with the rule in acct_last_message(). The account's
 * sessions end.
 */
int	acct_passwd(acct_t *a, const char *username, const char *password,
	    const char *token, const char *new_password);

/*
 * Ask for a reset mail to the account with that email address. The
 * answer is ACCT_OK whether or not the address is known. remote_addr
 * (may be NULL) is the end user's, for the daemon's per-source limit.
 */
int	acct_password_forgot(acct_t *a, const char *email,
	    const char *remote_addr);

/*
 * Set a password with a mailed reset or activation token. On ACCT_OK
 * *username (if not NULL) receives the account's name (free() it) and
 * *activated (if not NULL) whether the token activated the account.
 */
int	acct_password_reset(acct_t *a, const char *token,
	    const char *new_password, char **username, bool *activated);

/* Wipe and free a secret the library returned. NULL is allowed. */
void	acct_secret_free(char *s);

/* The daemon's message for the last failed call on this handle. */
const char *acct_last_message(const acct_t *a);
/*
 * After a successful acct_login() or acct_login_ex() on this handle:
 * whether the password must be changed now (an admin asked for it, or
 * it is older than its maximum age). The login itself succeeded.
 */
bool	acct_must_change(const acct_t *a);
/* The library's version, e.g. "0.1.0". */
const char *acct_version(void);

#ifdef __cplusplus
}
#endif

#endif
