/*
 * pam_acct.c: pam_acct.so, a Linux-PAM module that checks and changes
 * acctd passwords through libacct's public calls. See pam_acct(8).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#define PAM_SM_PASSWORD
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "acct.h"

#define USERNAME_MAX	64	/* acctd's rule, checked before asking it */
#define LOCAL_MAX	32	/* "local:uid=4294967295" */
#define REPLY_MS	60000	/* a login waits for a hash, not forever */
#define CODE_PROMPT	"Verification code: "
#define DATA_PREFIX	"pam_acct:auth:"	/* + user name */

/* The module's arguments (pam_acct(8)). */
struct opts {
	const char	*socket;	/* NULL: ACCT_DEFAULT_SOCKET */
	const char	*service;	/* NULL: PAM_SERVICE */
	uid_t		 server_uid;	/* trusted besides root; 0: none */
	bool		 nocode;	/* never prompt for a second factor */
	bool		 debug;
};

static void
parse_opts(pam_handle_t *pamh, int argc, const char **argv, struct opts *o)
{
	char *end;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "socket=", 7) == 0 && a[7] == '/')
			o->socket = a + 7;
		else if (strncmp(a, "service=", 8) == 0 && a[8] != '\0')
			o->service = a + 8;
		else if (strncmp(a, "server_uid=", 11) == 0) {
			unsigned long u;

			errno = 0;
			u = strtoul(a + 11, &end, 10);
			if (errno != 0 || end == a + 11 || *end != '\0' ||
			    u >= (unsigned long)(uid_t)-1)
				pam_syslog(pamh, LOG_ERR, "ignoring %s: not a "
				    "uid", a);
			else
				o->server_uid = (uid_t)u;
		} else if (strcmp(a, "nocode") == 0)
			o->nocode = true;
		else if (strcmp(a, "debug") == 0)
			o->debug = true;
		/* pam_get_authtok() reads these itself. */
		else if (strcmp(a, "use_first_pass") != 0 &&
		    strcmp(a, "try_first_pass") != 0 &&
		    strcmp(a, "use_authtok") != 0 &&
		    strncmp(a, "authtok_type=", 13) != 0)
			pam_syslog(pamh, LOG_ERR, "unknown option: %s", a);
	}
}

/*
 * An acctd username (1-64 of a-z 0-9 . _ - @, a letter or digit
 * first), not root. Upper case is refused, not folded: the service
 * would otherwise know one account under several names.
 */
static bool
acctd_name(const char *u)
{
	size_t n = strlen(u);

	if (n < 1 || n > USERNAME_MAX || strcmp(u, "root") == 0)
		return false;
	if (!islower((unsigned char)u[0]) && !isdigit((unsigned char)u[0]))
		return false;
	for (; *u != '\0'; u++)
		if (!(*u >= 'a' && *u <= 'z') && !(*u >= '0' && *u <= '9') &&
		    strchr("._-@", *u) == NULL)
			return false;
	return true;
}

/* The user, if acctd could know it; else PAM_USER_UNKNOWN, unasked. */
static int
get_user(pam_handle_t *pamh, const struct opts *o, const char **user)
{
	int rc;

	if ((rc = pam_get_user(pamh, user, NULL)) != PAM_SUCCESS)
		return rc;
	if (*user == NULL || !acctd_name(*user)) {
		if (o->debug)
			pam_syslog(pamh, LOG_DEBUG, "not an acctd user name: "
			    "refused without asking acctd");
		return PAM_USER_UNKNOWN;
	}
	return PAM_SUCCESS;
}

/* One connection for this call; the caller closes it before returning. */
static int
connect_acctd(const struct opts *o, acct_t **a)
{
	struct acct_options ao = { .path = o->socket,
	    .server_uid = o->server_uid, .timeout_ms = REPLY_MS };

	return acct_open_ex(&ao, a);
}

/*
 * A failure of acctd or of the way there, as PAM sees it, with a line
 * in syslog that tells the admin which (never a secret: acctd's
 * messages quote none).
 */
static int
pam_code(pam_handle_t *pamh, const struct opts *o, const char *what,
    int rc, const acct_t *a)
{
	const char *path = o->socket ? o->socket : ACCT_DEFAULT_SOCKET;
	const char *msg = a != NULL ? acct_last_message(a) : "";

	switch (rc) {
	case ACCT_ERR_AUTH_FAILED:
		return PAM_AUTH_ERR;
	case ACCT_ERR_CONNECT:
		pam_syslog(pamh, LOG_ERR, "%s: acctd unreachable at %s: %s",
		    what, path, strerror(errno));
		return PAM_AUTHINFO_UNAVAIL;
	case ACCT_ERR_UNTRUSTED:
		pam_syslog(pamh, LOG_ERR, "%s: acctd unreachable: %s is not "
		    "served by root%s: nothing sent", what, path,
		    o->server_uid ? " or server_uid" : "");
		return PAM_AUTHINFO_UNAVAIL;
	case ACCT_ERR_IO:
	case ACCT_ERR_UNAVAILABLE:
	case ACCT_ERR_BUSY:
		pam_syslog(pamh, LOG_ERR, "%s: acctd unreachable: %s", what,
		    acct_errname(rc));
		return PAM_AUTHINFO_UNAVAIL;
	case ACCT_ERR_DENIED:
		pam_syslog(pamh, LOG_ERR, "%s: permission_denied: uid %u may "
		    "not do this (acctd's auth_group)", what,
		    (unsigned)geteuid());
		return PAM_AUTHINFO_UNAVAIL;
	default:
		pam_syslog(pamh, LOG_ERR, "%s: acctd: %s%s%s", what,
		    acct_errname(rc), *msg ? ": " : "", msg);
		return PAM_SERVICE_ERR;
	}
}

/* Bytes of the UTF-8 character at s (RFC 3629), 0 if it is not one. */
static size_t
utf8_char(const unsigned char *s)
{
	size_t n;
	unsigned c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1fu;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07u;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 ||
	    c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/*
 * The end user's address for acctd's audit and throttle: PAM_RHOST with
 * bytes that are not UTF-8 (or are control characters) as '?' (libacct
 * cuts it to the protocol's limit), or "local:uid=N" naming who asks.
 */
static char *
remote_of(pam_handle_t *pamh)
{
	const void *item = NULL;
	const unsigned char *s;
	char *out, *p;

	if (pam_get_item(pamh, PAM_RHOST, &item) != PAM_SUCCESS ||
	    item == NULL || *(const char *)item == '\0') {
		if ((out = malloc(LOCAL_MAX)) != NULL)
			snprintf(out, LOCAL_MAX, "local:uid=%u",
			    (unsigned)getuid());
		return out;
	}
	s = item;
	if ((out = p = malloc(strlen(item) + 1)) == NULL)
		return NULL;
	while (*s != '\0') {
		size_t n = utf8_char(s);

		if (n == 0 || (n == 1 && iscntrl(*s))) {
			*p++ = '?';
			s++;
			continue;
		}
		memcpy(p, s, n);
		p += n;
		s += n;
	}
	*p = '\0';
	return out;
}

static const char *
service_of(pam_handle_t *pamh, const struct opts *o)
{
	const void *item = NULL;

	if (o->service != NULL)
		return o->service;
	if (pam_get_item(pamh, PAM_SERVICE, &item) != PAM_SUCCESS)
		return NULL;
	return item;
}

/*
 * The second factor, asked for with echo off. Never a reply equal to
 * the password or the user name: services that answer every prompt
 * with one of those (Dovecot, saslauthd) must not send it as a code.
 * NULL when there is none to send.
 */
static char *
ask_code(pam_handle_t *pamh, const struct opts *o, const char *user,
    const char *pw)
{
	char *code = NULL;

	if (pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &code, "%s",
	    CODE_PROMPT) != PAM_SUCCESS || code == NULL)
		return NULL;
	if (*code == '\0' || strcmp(code, pw) == 0 ||
	    strcmp(code, user) == 0) {
		if (o->debug)
			pam_syslog(pamh, LOG_DEBUG, "the code prompt was "
			    "answered with nothing, the password or the user "
			    "name: not sent");
		explicit_bzero(code, strlen(code));
		free(code);
		return NULL;
	}
	return code;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Remember, on this handle, that user passed our auth phase, and
 * whether acctd said the password must be changed now. */
static int
mark_authenticated(pam_handle_t *pamh, const char *user, bool change)
{
	static char ok[] = "ok", expired[] = "change";
	char key[sizeof(DATA_PREFIX) + USERNAME_MAX];

	snprintf(key, sizeof(key), DATA_PREFIX "%s", user);
	return pam_set_data(pamh, key, change ? expired : ok, NULL);
}

/* PAM_SUCCESS, PAM_NEW_AUTHTOK_REQD, or PAM_USER_UNKNOWN when user did
 * not pass our auth phase on this handle. */
static int
authenticated(pam_handle_t *pamh, const char *user)
{
	char key[sizeof(DATA_PREFIX) + USERNAME_MAX];
	const void *data = NULL;

	snprintf(key, sizeof(key), DATA_PREFIX "%s", user);
	if (pam_get_data(pamh, key, &data) != PAM_SUCCESS || data == NULL)
		return PAM_USER_UNKNOWN;
	return strcmp(data, "change") == 0 ? PAM_NEW_AUTHTOK_REQD :
	    PAM_SUCCESS;
}

/*
 * login, and when acctd wants the second factor, again with the code.
 * acctd is told the service's rules, so that its audit says what this
 * module answers: the name is the account's exactly (acctd also takes
 * an email address, and the service must not know an account under
 * another's name), nocode (a right password alone fails there), and in
 * a setuid program the real user, whose limits apply.
 */
static int
login(pam_handle_t *pamh, const struct opts *o, acct_t *a, const char *user,
    const char *pw)
{
	struct acct_login_req r = { .username = user, .password = pw,
	    .service = service_of(pamh, o) };
	struct acct_user u;
	char *remote, *code = NULL;
	unsigned flags = ACCT_LOGIN_EXACT_NAME | ACCT_LOGIN_REAL_UID |
	    (o->nocode ? ACCT_LOGIN_NO_CODE : 0);
	int rc;

	if ((remote = remote_of(pamh)) == NULL)
		return PAM_BUF_ERR;
	r.remote_addr = remote;
	rc = acct_login_flags(a, &r, flags, &u, NULL);
	if (rc == ACCT_ERR_CODE_REQUIRED) {
		if ((code = ask_code(pamh, o, user, pw)) == NULL)
			rc = ACCT_ERR_AUTH_FAILED;
		else {
			r.code = code;
			rc = acct_login_flags(a, &r, flags, &u, NULL);
			free_secret(code);
		}
	}
	free(remote);
	if (rc != ACCT_OK)
		return pam_code(pamh, o, "auth", rc, a);
	if (strcmp(u.username, user) != 0) {
		pam_syslog(pamh, LOG_NOTICE, "%s is not the name of the "
		    "account it logged in to: refused", user);
		rc = PAM_AUTH_ERR;
	} else
		rc = mark_authenticated(pamh, user, acct_must_change(a));
	acct_user_free(&u);
	return rc;
}

int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct opts o;
	const char *user, *pw = NULL;
	acct_t *a = NULL;
	int rc;

	(void)flags;
	parse_opts(pamh, argc, argv, &o);
	if ((rc = get_user(pamh, &o, &user)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_get_authtok(pamh, PAM_AUTHTOK, &pw, NULL)) !=
	    PAM_SUCCESS)
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	if (pw == NULL)
		return PAM_AUTH_ERR;
	if ((rc = connect_acctd(&o, &a)) != ACCT_OK)
		return pam_code(pamh, &o, "auth", rc, NULL);
	rc = login(pamh, &o, a, user, pw);
	acct_close(a);
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "auth %s: %s", user,
		    pam_strerror(pamh, rc));
	return rc;
}

/*
 * No credentials to set: success without side effects, so that a stack
 * with this module alone (PAM_IGNORE from all would be a failure) works
 * for services that call pam_setcred() after a login, as sshd does.
 */
int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/*
 * Only a user this module authenticated on this handle: PAM_USER may
 * have changed since (sudo), and acctd was not asked about anyone else.
 */
int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct opts o;
	const char *user;
	int rc;

	(void)flags;
	parse_opts(pamh, argc, argv, &o);
	if ((rc = get_user(pamh, &o, &user)) != PAM_SUCCESS)
		return rc;
	if ((rc = authenticated(pamh, user)) != PAM_USER_UNKNOWN)
		return rc;
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "account %s: not authenticated by "
		    "pam_acct on this handle", user);
	return PAM_USER_UNKNOWN;
}

/* The change itself: current password, new one, through acctd. */
static int
change(pam_handle_t *pamh, const struct opts *o, const char *user,
    const char *old, const char *new)
{
	acct_t *a = NULL;
	int rc;

	if ((rc = connect_acctd(o, &a)) != ACCT_OK)
		return pam_code(pamh, o, "password", rc, NULL);
	rc = acct_passwd(a, user, old, NULL, new);
	if (rc == ACCT_OK)
		rc = PAM_SUCCESS;
	else if (rc == ACCT_ERR_POLICY) {
		/* acctd states the rule; the user reads it. */
		pam_error(pamh, "%s", acct_last_message(a));
		rc = PAM_AUTHTOK_ERR;
	} else
		rc = pam_code(pamh, o, "password", rc, a);
	acct_close(a);
	return rc;
}

/*
 * A self-service change with the current password, also when the
 * caller is root: the module acts for the user. The first pass asks
 * for the current password (so that a module stacked after this one,
 * e.g. pam_pwquality, asks for the new one in its order); the second
 * asks for the new one twice and sends both.
 */
int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct opts o;
	const char *user, *old = NULL, *new = NULL;
	int rc;

	parse_opts(pamh, argc, argv, &o);
	if ((rc = get_user(pamh, &o, &user)) != PAM_SUCCESS)
		return rc;
	if ((rc = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &old, NULL)) !=
	    PAM_SUCCESS)
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	if (flags & PAM_PRELIM_CHECK)
		return PAM_SUCCESS;
	if (!(flags & PAM_UPDATE_AUTHTOK))
		return PAM_SERVICE_ERR;
	if ((rc = pam_get_authtok(pamh, PAM_AUTHTOK, &new, NULL)) !=
	    PAM_SUCCESS) {
		pam_set_item(pamh, PAM_AUTHTOK, NULL);
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	}
	if (old == NULL || new == NULL)
		return PAM_AUTHTOK_ERR;
	rc = change(pamh, &o, user, old, new);
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "password %s: %s", user,
		    pam_strerror(pamh, rc));
	return rc;
}

/*
 * Sessions are the service's business (no acctd session is opened):
 * success without side effects, as for setcred.
 */
int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
