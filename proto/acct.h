/*
 * acct.h: libacct, the C client library of acctd. Local daemons use it to
 * authenticate users without reading the credential store. See libacct(3).
 */
#ifndef ACCT_H
#define ACCT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

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
	ACCT_ERR__WIRE_MAX,
	/* Local to the client side, never sent on the wire. */
	ACCT_ERR_CONNECT	= 100,	/* cannot reach the daemon */
	ACCT_ERR_IO		= 101,	/* connection broke mid-request */
	ACCT_ERR_NOMEM		= 102,
};

const char *acct_errname(int code);	/* "not_found" */
const char *acct_strerror(int code);	/* "no such account" */

/*
 * A connection to acctd. One handle must not be used by two threads at
 * once; separate handles are independent. Requests on a handle are
 * answered in order.
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

/* Connect; path NULL means ACCT_DEFAULT_SOCKET. Returns ACCT_OK or an error. */
int	acct_open(const char *path, acct_t **out);
void	acct_close(acct_t *a);

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
 * Check a session or access token: ACCT_OK with *user (if not NULL),
 * or ACCT_ERR_INVALID_TOKEN for anything expired, revoked, malformed
 * or unknown. service (may be NULL) must be in the token's scope.
 */
int	acct_validate(acct_t *a, const char *token, const char *service,
	    struct acct_user *user);

/* End a session or token (log out). */
int	acct_revoke(acct_t *a, const char *token);

/* Wipe and free a secret the library returned. NULL is allowed. */
void	acct_secret_free(char *s);

/* The daemon's message for the last failed call on this handle. */
const char *acct_last_message(const acct_t *a);
/* The library's version, e.g. "0.1.0". */
const char *acct_version(void);

#ifdef __cplusplus
}
#endif

#endif
