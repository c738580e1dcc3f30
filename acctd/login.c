/*
 * login.c: password verification for local daemons. Every failure is the
 * same auth_failed after the same work (one Argon2id hash), every attempt
 * is throttled and audited, and a success re-hashes old parameters.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

static const char *
arg_or_empty(struct proto_request *req, enum proto_field f)
{
	return PROTO_HAS(req, f) ? req->arg[f].str : "";
}

/* Names and addresses are stored lowercased; the audit keeps the input. */
static int
find(const char *name, struct account *a)
{
	char *lc = strdup(name);
	int rc;

	if (lc == NULL)
		return ACCT_ERR_NOMEM;
	for (char *p = lc; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	rc = account_find(lc, a);
	free(lc);
	return rc;
}

/* Upgrade the stored hash to the configured parameters; best effort. */
static void
rehash(struct ctx *x, const struct account *a, const struct proto_value *pw)
{
	char *phc = NULL;

	if (!hash_needs_rehash(&x->cfg, a->hash))
		return;
	if (hash_password(&x->cfg, pw->str, pw->len, &phc) != ACCT_OK)
		return;
	if (account_set_hash(a->id, a->hash, phc) == ACCT_OK)
		log_info("login %s: password re-hashed with current "
		    "parameters", a->username);
	freezero(phc, strlen(phc));
}

/*
 * Decide the outcome. The hash is computed whatever the account's state,
 * so the time taken does not tell a locked or unknown account apart.
 */
/* An app password of this account whose scope names the service. */
static bool
app_password(const struct account *a, const char *pw, const char *service)
{
	char owner[33];

	return token_check(pw, "app_password", service, owner, NULL) ==
	    ACCT_OK && strcmp(owner, a->id) == 0;
}

static const char *
verify(struct ctx *x, const struct proto_value *pw, const char *service,
    const char *code, int found, const struct account *a, bool locked,
    bool *app, int *rc)
{
	int v;

	*rc = ACCT_OK;
	*app = false;
	if (found != ACCT_OK || locked) {
		hash_dummy_verify(&x->cfg, pw->str, pw->len);
		return locked ? "LOCKED" : "FAILED";
	}
	if (a->hash == NULL) {
		hash_dummy_verify(&x->cfg, pw->str, pw->len);
		v = ACCT_ERR_AUTH_FAILED;
	} else
		v = hash_check(a->hash, pw->str, pw->len);
	/* App passwords stand in for password and code: they exist for
	 * clients (IMAP, WebDAV) that cannot ask for a code. */
	if (v == ACCT_ERR_AUTH_FAILED && app_password(a, pw->str, service)) {
		*app = true;
		v = ACCT_OK;
	}
	if (v != ACCT_OK) {
		if (v != ACCT_ERR_AUTH_FAILED)
			*rc = v;	/* busy, out of memory */
		return v == ACCT_ERR_AUTH_FAILED ? "FAILED" : "ERROR";
	}
	if (!a->login)
		return "DISABLED";
	if (!a->activated)
		return "PENDING";
	/* Only now, with the password right, may the code be asked for. */
	if (a->two_factor && !*app && code == NULL)
		return "CODE_REQUIRED";
	if (a->two_factor && !*app && twofa_check(a->id, code) != ACCT_OK)
		return "BAD_CODE";
	return "OK";
}

/* login with session=true: a session token, shown once. */
int
session_create(struct ctx *x, struct proto_request *req,
    const struct account *a, struct proto_msg *res)
{
	struct token_spec s = { .type = "session", .account_id = a->id,
	    .name = arg_or_empty(req, F_SERVICE),
	    .scope = PROTO_HAS(req, F_SCOPE) ? req->arg[F_SCOPE].str : "*",
	    .lifetime = PROTO_HAS(req, F_LIFETIME) && req->arg[F_LIFETIME].i ?
	    req->arg[F_LIFETIME].i : x->cfg.session_lifetime,
	    .created_by = x->peer->uid };
	char token[TOKEN_STRING_LEN];
	int rc;

	if (validate_text("scope", s.scope, x->err, sizeof(x->err)) == -1 ||
	    s.scope[0] == '\0')
		return ctx_fail(x, ACCT_ERR_INVALID, "invalid scope");
	if ((rc = token_create(&s, token, res, "session")) == ACCT_OK)
		proto_kv_str(res, "token", token);
	explicit_bzero(token, sizeof(token));
	return rc;
}

int
h_login(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct proto_value *pw = &req->arg[F_PASSWORD];
	const char *name = req->arg[F_USERNAME].str;
	const char *remote = arg_or_empty(req, F_REMOTE_ADDR);
	struct audit_login e = { .peer = x->peer, .username = name,
	    .realm = arg_or_empty(req, F_SERVICE), .remote = remote };
	struct account a;
	bool locked = false, app = false;
	int found, rc;

	/* Refuse a bad request before it costs a hash or counts. */
	if (PROTO_HAS(req, F_SCOPE) && (validate_text("scope",
	    req->arg[F_SCOPE].str, x->err, sizeof(x->err)) == -1 ||
	    req->arg[F_SCOPE].str[0] == '\0'))
		return ctx_fail(x, ACCT_ERR_INVALID, "invalid scope: give "
		    "service names separated by spaces, or *");
	memset(&a, 0, sizeof(a));
	found = find(name, &a);
	if (found != ACCT_OK && found != ACCT_ERR_NOT_FOUND)
		return found;
	e.account_id = found == ACCT_OK ? a.id : NULL;
	if ((rc = throttle_charge(&x->cfg, e.account_id, x->peer->uid, remote,
	    &locked)) != ACCT_OK)
		goto out;
	e.status = verify(x, pw, e.realm, PROTO_HAS(req, F_CODE) ?
	    req->arg[F_CODE].str : NULL, found, &a, locked, &app, &rc);
	if (rc != ACCT_OK)	/* undecided (busy): not a failure */
		throttle_refund(&x->cfg, e.account_id, x->peer->uid, remote);
	if (rc == ACCT_OK && strcmp(e.status, "OK") == 0) {
		rc = throttle_success(a.id, x->peer->uid, remote);
		/* Only the account password is re-hashed, never an app's. */
		if (a.hash != NULL && !app)
			rehash(x, &a, pw);
		a.failed_logins = 0;
		a.locked_until = 0;
		a.last_login_at = now_unix();
	}
	auditlog_add(&e);
	log_info("login %s service '%s' by uid %u: %s", found == ACCT_OK ?
	    a.username : "(unknown)", e.realm, (unsigned)x->peer->uid,
	    e.status);
	/* The failure stays charged: the code prompt is no free oracle. */
	if (rc == ACCT_OK && strcmp(e.status, "CODE_REQUIRED") == 0)
		rc = ctx_fail(x, ACCT_ERR_CODE_REQUIRED, "a two-factor code "
		    "is required");
	else if (rc == ACCT_OK && strcmp(e.status, "OK") != 0)
		rc = ctx_fail(x, ACCT_ERR_AUTH_FAILED, "authentication failed");
	if (rc == ACCT_OK && PROTO_HAS(req, F_SESSION) &&
	    req->arg[F_SESSION].b)
		rc = session_create(x, req, &a, res);
	if (rc == ACCT_OK)
		account_pack(proto_kv_begin(res, "user"), &a);
out:
	if (found == ACCT_OK)
		account_free(&a);
	return rc;
}
