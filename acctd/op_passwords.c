/*
 * op_passwords.c: handlers that set passwords: passwd (an admin sets any
 * directly; the account's owner, or a service for its user, proves the
 * current one first), and reset or activation by a mailed link.
 */
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

/*
 * A session proves only an account without a local password (single
 * sign-on): a stolen or vouched-for session must not replace a password
 * its holder does not know.
 */
static int
session_proof(struct ctx *x, const char *token)
{
	char owner[33];

	if (x->found != ACCT_OK || token_check(token, TOKEN_SESSION, NULL, owner,
	    NULL) != ACCT_OK || strcmp(owner, x->account.id) != 0)
		return ctx_fail(x, ACCT_ERR_AUTH_FAILED, "authentication "
		    "failed");
	if (x->account.hash != NULL)
		return ctx_fail(x, ACCT_ERR_AUTH_FAILED, "a session changes "
		    "only the password of an account without one (single "
		    "sign-on): give the current password");
	return ACCT_OK;
}

/* The current password, through the one credential check. */
static int
prove(struct ctx *x, struct proto_request *req)
{
	struct cred_check c = { .realm = "passwd", .name = x->username,
	    .remote = proto_str_or(req, F_REMOTE_ADDR, ""),
	    .password = &req->arg[F_PASSWORD] };

	if (PROTO_HAS(req, F_PASSWORD))
		return cred_verify(x, &c, x->found, &x->account);
	if (PROTO_HAS(req, F_TOKEN))
		return session_proof(x, req->arg[F_TOKEN].str);
	return ctx_fail(x, ACCT_ERR_INVALID, "the current password (or a "
	    "session token) is required");
}

/*
 * dry_run: the proof alone, so that a prompt can stop at a wrong
 * current password before it asks for a new one. The same check as a
 * change (throttled, audited), and nothing written but what it writes.
 */
static int
check_only(struct ctx *x, struct proto_request *req, struct proto_msg *res,
    bool remove)
{
	int rc;

	if (remove || PROTO_HAS(req, F_NEW_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "dry_run checks the "
		    "current password only: no new password or remove");
	if (!PROTO_HAS(req, F_PASSWORD) && !PROTO_HAS(req, F_TOKEN))
		return ctx_fail(x, ACCT_ERR_INVALID, "dry_run needs the "
		    "current password (or a session token) to check");
	if ((rc = prove(x, req)) != ACCT_OK)
		return rc;
	proto_kv_str(res, "username", x->username);
	return ACCT_OK;
}

int
h_passwd(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct proto_value *npw = &req->arg[F_NEW_PASSWORD];
	bool remove = PROTO_HAS(req, F_REMOVE) && req->arg[F_REMOVE].b;
	/* A current password sent is checked, an admin's too: a service
	 * running as root acts for its user, not as the admin it is. */
	bool proving = x->must_prove || PROTO_HAS(req, F_PASSWORD) ||
	    PROTO_HAS(req, F_TOKEN);
	char *hash = NULL;
	int rc;

	if (PROTO_HAS(req, F_DRY_RUN) && req->arg[F_DRY_RUN].b)
		return check_only(x, req, res, remove);
	if (remove == PROTO_HAS(req, F_NEW_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "give either a new "
		    "password or remove=true");
	if (!remove && validate_password(x->cfg, npw->str, npw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;
	if (!proving && x->found != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no account named '%s'",
		    x->username);
	if (proving && (rc = prove(x, req)) != ACCT_OK)
		return rc;
	if (!remove && (rc = hash_password(x->cfg, &x->hc, npw->str,
	    npw->len, &hash)) != ACCT_OK)
		return rc;
	/* What was proven is the hash read before: it must still be it. */
	rc = account_set_password(x->account.id, proving, x->account.hash,
	    hash);
	if (rc == ACCT_ERR_BUSY)
		ctx_fail(x, rc, "the password was changed concurrently; "
		    "try again");
	if (rc == ACCT_OK) {
		auditlog_event(x->peer->uid, remove ? "password_removed" :
		    "password_changed", x->username, proving ?
		    "with the current password" : "by an admin");
		log_info("uid %u: %s password of %s, ended its sessions",
		    (unsigned)x->peer->uid, remove ? "removed" : "changed",
		    x->username);
		proto_kv_str(res, "username", x->username);
		proto_kv_bool(res, "has_password", !remove);
	}
	if (hash != NULL)
		freezero(hash, strlen(hash));
	return rc;
}

int
h_password_forgot(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	char *email = req->arg[F_EMAIL].str;
	struct account a;
	int rc;

	if (validate_email(email, x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	/* Said whatever the address: it tells nothing of any account, and
	 * the admin or the service would otherwise promise a mail that
	 * never leaves. */
	if (x->cfg->mail_from[0] == '\0' || x->cfg->reset_url[0] == '\0')
		return ctx_fail(x, ACCT_ERR_NOT_CONFIGURED, "mail is not "
		    "configured: set mail_from and reset_url in acctd.conf");
	rc = account_get_email(email, &a);
	if (rc == ACCT_OK && account_may_log_in(&a, now_unix()) ==
	    ACCOUNT_MAY) {
		/* Failures are logged, never told: the answer is the same. */
		if (resetlink_mail(x, &a, false, true,
		    proto_str_or(req, F_REMOTE_ADDR, ""), NULL) != ACCT_OK)
			log_info("password reset for %s not mailed: %s",
			    a.username, x->err);
		x->err[0] = '\0';
	} else
		log_info("password reset asked for %s: no active account",
		    email);
	account_free(&a);
	proto_kv_bool(res, "accepted", true);
	return ACCT_OK;
}

int
h_password_reset(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	const struct proto_value *pw = &req->arg[F_NEW_PASSWORD];
	bool dry_run = PROTO_HAS(req, F_DRY_RUN) && req->arg[F_DRY_RUN].b;
	char owner[33], *hash = NULL;
	struct account a;
	bool activation;
	int rc;

	memset(&a, 0, sizeof(a));
	if (dry_run && PROTO_HAS(req, F_NEW_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "dry_run checks the "
		    "token only: no new password");
	if (!dry_run && !PROTO_HAS(req, F_NEW_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "missing argument "
		    "'new_password'");
	if (!dry_run && validate_password(x->cfg, pw->str, pw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;
	if (resetlink_check(req->arg[F_TOKEN].str, owner, &activation) !=
	    ACCT_OK || account_get_id(owner, &a) != ACCT_OK) {
		account_free(&a);
		return ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid or expired "
		    "token");
	}
	/* Whoever holds the token may set the password and learn the
	 * name that way: telling it without using the token tells no
	 * more, and a guess at a token gets the same answer either way. */
	if (dry_run) {
		proto_kv_str(res, "username", a.username);
		proto_kv_bool(res, "activation", activation);
		account_free(&a);
		return ACCT_OK;
	}
	rc = hash_password(x->cfg, &x->hc, pw->str, pw->len, &hash);
	/* Claim the token: of two confirmations, one deletes it. */
	if (rc == ACCT_OK && resetlink_claim(req->arg[F_TOKEN].str) !=
	    ACCT_OK)
		rc = ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid or expired "
		    "token");
	if (rc == ACCT_OK)
		rc = account_set_password(a.id, false, NULL, hash);
	if (rc == ACCT_OK && activation)
		rc = account_activate(a.id);
	if (rc == ACCT_OK) {
		auditlog_event(x->peer->uid, activation ? "activated" :
		    "password_reset", a.username, "");
		log_info("uid %u: %s %s with a mailed token",
		    (unsigned)x->peer->uid, activation ? "activated" :
		    "reset the password of", a.username);
		proto_kv_str(res, "username", a.username);
		proto_kv_bool(res, "activated", activation);
	}
	if (hash != NULL)
		freezero(hash, strlen(hash));
	account_free(&a);
	return rc;
}

int
h_user_reset_password(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	bool sent;
	int rc;

	(void)req;
	if (x->found != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no account named '%s'",
		    x->username);
	/* A pending account gets its activation link again. */
	if ((rc = resetlink_mail(x, &x->account, !x->account.activated,
	    false, "", &sent)) == ACCT_OK) {
		proto_kv_str(res, "email", x->account.email);
		proto_kv_bool(res, "activation", !x->account.activated);
		proto_kv_str(res, "mail", sent ? "sent" : "queued");
	}
	return rc;
}
