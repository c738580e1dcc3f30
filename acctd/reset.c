/*
 * reset.c: password reset and account activation by mail, rpodder-style:
 * a one-time token (24 h for resets, 48 h for activations by default) is
 * mailed as a link; confirming it sets the password, deletes the token
 * and ends the account's sessions. Asking never tells whether an address
 * is known.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

/* url with its first {token} replaced by token; malloc'd. */
static char *
make_link(const char *url, const char *token)
{
	const char *at = strstr(url, "{token}");
	char *out = NULL;

	if (at == NULL || asprintf(&out, "%.*s%s%s", (int)(at - url), url,
	    token, at + strlen("{token}")) < 0)
		return NULL;
	return out;
}

static char *
make_body(const struct account *a, const char *link, const char *token,
    bool activation, uint32_t lifetime)
{
	char *body = NULL;
	unsigned hours = (lifetime + 3599) / 3600;
	int n;

	if (activation)
		n = asprintf(&body, "Hello %s,\n\nan account named \"%s\" was "
		    "created for you. To activate it and choose a password, "
		    "open this link within %u hours:\n\n%s\n\nor run\n\n    "
		    "acctc passwd --token -\n\nand paste this token: %s\n",
		    a->name[0] ? a->name :
		    a->username, a->username, hours, link, token);
	else
		n = asprintf(&body, "Hello %s,\n\nsomeone asked to reset the "
		    "password of the account \"%s\". To choose a new password, "
		    "open this link within %u hours:\n\n%s\n\nor run\n\n    "
		    "acctc passwd --token -\n\nand paste this token: %s\n\n"
		    "If it was not you, ignore this "
		    "message: the password stays as it is.\n", a->name[0] ?
		    a->name : a->username, a->username, hours, link, token);
	return n < 0 ? NULL : body;
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

int
reset_mail(struct ctx *x, const struct account *a, bool activation)
{
	const char *url = activation ? x->cfg.activation_url : x->cfg.reset_url;
	uint32_t life = activation ? x->cfg.activation_token_lifetime :
	    x->cfg.reset_token_lifetime;
	struct token_spec s = { .type = activation ? "activation" : "reset",
	    .account_id = a->id, .name = "", .scope = "", .lifetime = life,
	    .created_by = x->peer->uid };
	char token[TOKEN_STRING_LEN], *link = NULL, *body = NULL;
	int rc;

	if (a->email == NULL)
		return ctx_fail(x, ACCT_ERR_INVALID, "account '%s' has no "
		    "email address", a->username);
	if (x->cfg.mail_from[0] == '\0' || url[0] == '\0')
		return ctx_fail(x, ACCT_ERR_NOT_CONFIGURED, "mail is not "
		    "configured: set mail_from and %s in acctd.conf",
		    activation ? "activation_url" : "reset_url");
	/* One outstanding token of a kind: a new request voids the old. */
	if ((rc = token_delete_account(a->id, s.type, NULL)) != ACCT_OK ||
	    (rc = token_create(&s, token, NULL, NULL)) != ACCT_OK)
		return rc;
	if ((link = make_link(url, token)) == NULL ||
	    (body = make_body(a, link, token, activation, life)) == NULL)
		rc = ACCT_ERR_NOMEM;
	else
		rc = mail_queue(&x->cfg, a->email, activation ?
		    "Activate your account" : "Reset your password", body);
	explicit_bzero(token, sizeof(token));
	wipe_free(link);
	wipe_free(body);
	if (rc == ACCT_ERR_BUSY)
		return ctx_fail(x, rc, "the mail queue is full; try again "
		    "later");
	if (rc == ACCT_OK)
		auditlog_event(x->peer->uid, activation ? "activation_mailed" :
		    "reset_mailed", a->username, a->email);
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
	rc = account_get_email(email, &a);
	if (rc == ACCT_OK && a.login && a.activated) {
		/* Failures are logged, never told: the answer is the same. */
		if (reset_mail(x, &a, false) != ACCT_OK)
			log_warn("password reset for %s not mailed: %s",
			    a.username, x->err);
		x->err[0] = '\0';
	} else
		log_info("password reset asked for %s: no active account",
		    email);
	if (rc == ACCT_OK)
		account_free(&a);
	proto_kv_bool(res, "accepted", true);
	return ACCT_OK;
}

/* Which kind of one-time token this is, or ACCT_ERR_INVALID_TOKEN. */
static int
one_time(const char *token, char owner[33], bool *activation)
{
	*activation = false;
	if (token_check(token, "reset", NULL, owner, NULL) == ACCT_OK)
		return ACCT_OK;
	*activation = true;
	return token_check(token, "activation", NULL, owner, NULL);
}

int
h_password_reset(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	const struct proto_value *pw = &req->arg[F_NEW_PASSWORD];
	char owner[33], id[TOKEN_ID_LEN], *hash = NULL;
	struct account a;
	bool activation;
	int rc;

	if (validate_password(&x->cfg, pw->str, pw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;
	if (one_time(req->arg[F_TOKEN].str, owner, &activation) != ACCT_OK ||
	    account_get_id(owner, &a) != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid or expired "
		    "token");
	token_id_of(req->arg[F_TOKEN].str, id);
	rc = hash_password(&x->cfg, pw->str, pw->len, &hash);
	/* Claim the token: of two confirmations, one deletes it. */
	if (rc == ACCT_OK && token_delete(id) != ACCT_OK)
		rc = ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid or expired "
		    "token");
	if (rc == ACCT_OK)
		rc = account_set_hash(a.id, a.hash, hash);
	if (rc == ACCT_OK && activation)
		rc = account_activate(a.id);
	if (rc == ACCT_OK) {
		token_delete_account(a.id, "session", NULL);
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
	struct account a;
	int rc;

	if ((rc = named_account(x, req, &a)) != ACCT_OK)
		return rc;
	/* A pending account gets its activation link again. */
	if ((rc = reset_mail(x, &a, !a.activated)) == ACCT_OK) {
		proto_kv_str(res, "email", a.email);
		proto_kv_bool(res, "activation", !a.activated);
	}
	account_free(&a);
	return rc;
}
