/*
 * op_login.c: handlers that open sessions: login (password verification
 * for local services, through the one credential check) and session_add
 * (a service vouching for a user it authenticated itself).
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

/* Names and addresses are stored lowercased; the audit keeps the input. */
static int
find(const char *name, struct account *a)
{
	char *lc = strdup(name);
	int rc;

	memset(a, 0, sizeof(*a));
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

	if (!hash_needs_rehash(x->cfg, a->hash))
		return;
	if (hash_password(x->cfg, &x->hc, pw->str, pw->len, &phc) != ACCT_OK)
		return;
	if (account_rehash(a->id, a->hash, phc) == ACCT_OK)
		log_info("login %s: password re-hashed with current "
		    "parameters", a->username);
	freezero(phc, strlen(phc));
}

static int
check_scope(struct ctx *x, struct proto_request *req)
{
	if (PROTO_HAS(req, F_SCOPE) && validate_scope(req->arg[F_SCOPE].str,
	    x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	return ACCT_OK;
}

/* A new session for a, shown once, while guard still holds; its id in
 * id unless NULL (the token itself never leaves the reply). */
static int
session_create(struct ctx *x, struct proto_request *req,
    const struct account *a, enum token_guard guard, const char *guard_arg,
    struct proto_msg *res, char *id)
{
	struct token_spec s = { .type = TOKEN_SESSION, .account_id = a->id,
	    .name = proto_str_or(req, F_SERVICE, ""),
	    .scope = PROTO_HAS(req, F_SCOPE) ? req->arg[F_SCOPE].str : "*",
	    .lifetime = PROTO_HAS(req, F_LIFETIME) && req->arg[F_LIFETIME].i ?
	    req->arg[F_LIFETIME].i : x->cfg->session_lifetime,
	    .created_by = x->peer->uid, .guard = guard,
	    .guard_arg = guard_arg };
	char token[TOKEN_STRING_LEN];
	int rc;

	if ((rc = token_create(&s, token, res, "session")) == ACCT_OK) {
		proto_kv_str(res, "token", token);
		if (id != NULL)
			token_id_of(token, id);
	} else if (rc == ACCT_ERR_AUTH_FAILED)
		ctx_fail(x, rc, "authentication failed");
	explicit_bzero(token, sizeof(token));
	return rc;
}

int
h_login(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct proto_value *pw = &req->arg[F_PASSWORD];
	struct cred_check c = { .name = req->arg[F_USERNAME].str,
	    .realm = proto_str_or(req, F_SERVICE, ""),
	    .remote = proto_str_or(req, F_REMOTE_ADDR, ""), .password = pw,
	    .code = PROTO_HAS(req, F_CODE) ? req->arg[F_CODE].str : NULL,
	    .flags = CRED_APP_PASSWORDS | CRED_SECOND_FACTOR |
	    CRED_STAMP_LOGIN };
	struct account a;
	int found, rc;

	if (PROTO_HAS(req, F_NO_CODE) && req->arg[F_NO_CODE].b)
		c.flags |= CRED_NO_CODE;
	/* Refuse a bad request before it costs a hash or counts. */
	if ((rc = check_scope(x, req)) != ACCT_OK)
		return rc;
	/* A service's name that is no account's exact username is an
	 * unknown name: it costs, counts and is audited like one. */
	if (PROTO_HAS(req, F_EXACT_NAME) && req->arg[F_EXACT_NAME].b) {
		memset(&a, 0, sizeof(a));
		found = validate_service_name(c.name) ?
		    account_get(c.name, &a) : ACCT_ERR_NOT_FOUND;
	} else
		found = find(c.name, &a);
	if ((rc = cred_verify(x, &c, found, &a)) != ACCT_OK)
		goto out;
	a.failed_logins = 0;
	a.locked_until = 0;
	a.last_login_at = now_unix();
	/* The session before the re-hash: it needs the verified hash. */
	if (PROTO_HAS(req, F_SESSION) && req->arg[F_SESSION].b)
		rc = c.app ? session_create(x, req, &a, GUARD_APP, c.app_id,
		    res, NULL) : session_create(x, req, &a, GUARD_HASH, a.hash,
		    res, NULL);
	if (rc != ACCT_OK)
		goto out;
	/* Only the account password is re-hashed, never an app's. */
	if (a.hash != NULL && !c.app)
		rehash(x, &a, pw);
	account_pack(proto_kv_begin(res, "user"), &a);
	/* Right, but to be changed now (an admin's flag, or its age). */
	proto_kv_bool(res, "must_change", c.must_change);
out:
	account_free(&a);
	return rc;
}

int
h_session_add(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct account *a = &x->account;
	char id[TOKEN_ID_LEN];
	int rc;

	if (x->found != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no account named '%s'",
		    x->username);
	if ((rc = check_scope(x, req)) != ACCT_OK)
		return rc;
	if (account_may_log_in(a, now_unix()) != ACCOUNT_MAY)
		return ctx_fail(x, ACCT_ERR_DENIED, "account '%s' may not log "
		    "in", a->username);
	if ((rc = session_create(x, req, a, GUARD_LIVE, NULL, res, id)) ==
	    ACCT_OK) {
		log_info("uid %u: session for %s", (unsigned)x->peer->uid,
		    a->username);
		/* Vouched for, not logged in: the login audit has no row. */
		auditlog_eventf(x->peer->uid, "token_issued", a->username,
		    "session %s, by the caller's word", id);
		account_pack(proto_kv_begin(res, "user"), a);
	} else if (rc == ACCT_ERR_AUTH_FAILED)
		rc = ctx_fail(x, ACCT_ERR_DENIED, "account '%s' may not log "
		    "in", a->username);
	return rc;
}
