/*
 * op_tokens.c: handlers for tokens and clients (acctc auth and clients):
 * add, validate, list, show, revoke, reset, and the client-credentials
 * check. Which tokens a caller may see or revoke is decided in dispatch.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

#define LIST_DEFAULT_LIMIT	1000

int
h_token_add(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	int type = token_type_parse(req->arg[F_TYPE].str);
	struct token_spec s = {
	    .name = proto_str_or(req, F_NAME, ""), .scope = proto_str_or(req, F_SCOPE, "*"),
	    .lifetime = PROTO_HAS(req, F_LIFETIME) ? req->arg[F_LIFETIME].i : 0,
	    .created_by = x->peer->uid };
	char token[TOKEN_STRING_LEN], *name;
	struct account a;
	int rc;

	memset(&a, 0, sizeof(a));
	/* Sessions come from login, links from the mail calls. */
	if (type != TOKEN_ACCESS && type != TOKEN_APP_PASSWORD &&
	    type != TOKEN_CLIENT)
		return ctx_fail(x, ACCT_ERR_INVALID, "invalid type: must be "
		    "access_token, app_password or client");
	s.type = (enum token_type)type;
	if (validate_scope(s.scope, x->err, sizeof(x->err)) == -1 ||
	    validate_text("name", s.name, x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	if (s.type == TOKEN_APP_PASSWORD && s.name[0] == '\0')
		return ctx_fail(x, ACCT_ERR_INVALID, "an app password needs "
		    "a name");
	if (PROTO_HAS(req, F_USERNAME)) {
		name = req->arg[F_USERNAME].str;
		if (validate_username(name, x->err, sizeof(x->err)) == -1)
			return ACCT_ERR_INVALID;
		if ((rc = account_get(name, &a)) == ACCT_ERR_NOT_FOUND)
			return ctx_fail(x, rc, "no account named '%s'", name);
		if (rc != ACCT_OK)
			return rc;
		s.account_id = a.id;
	} else if (s.type != TOKEN_CLIENT)
		return ctx_fail(x, ACCT_ERR_INVALID, "missing argument "
		    "'username'");
	rc = token_create(&s, token, res, "info");
	if (rc == ACCT_OK) {
		char id[TOKEN_ID_LEN];

		proto_kv_str(res, "token", token);
		log_info("uid %u: created %s for %s", (unsigned)x->peer->uid,
		    token_type_names[s.type], a.username ? a.username :
		    "no account");
		token_id_of(token, id);
		auditlog_eventf(x->peer->uid, "token_issued", a.username ?
		    a.username : "", "%s %s%s%s", token_type_names[s.type], id,
		    s.name[0] ?
		    ", name " : "", s.name);
	}
	explicit_bzero(token, sizeof(token));
	account_free(&a);
	return rc;
}

/* Validate a token and return the account it stands for. */
int
h_token_validate(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	struct account a;
	int rc;

	/* The token and its account as of one moment: one query. */
	rc = token_check_account(req->arg[F_TOKEN].str,
	    proto_str_or(req, F_SERVICE, NULL), &a, res);
	if (rc != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid token");
	account_pack(proto_kv_begin(res, "user"), &a);
	account_free(&a);
	return ACCT_OK;
}

int
h_client_verify(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	char token[2 * TOKEN_STRING_LEN], owner[33];
	int rc;

	snprintf(token, sizeof(token), "%s_%s", req->arg[F_CLIENT_ID].str,
	    req->arg[F_CLIENT_SECRET].str);
	rc = token_check(token, TOKEN_CLIENT, proto_str_or(req, F_SCOPE, NULL),
	    owner, NULL);
	explicit_bzero(token, sizeof(token));
	if (rc != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_INVALID_TOKEN, "invalid client "
		    "credentials");
	return token_show(req->arg[F_CLIENT_ID].str, owner, NULL, res,
	    "client");
}

int
h_token_list(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	int type = PROTO_HAS(req, F_TYPE) ?
	    token_type_parse(req->arg[F_TYPE].str) : TOKEN_ALL;

	/* One-time reset and activation tokens are not listed. */
	if (type != TOKEN_ALL && (type < 0 ||
	    !token_type_public((enum token_type)type)))
		return ctx_fail(x, ACCT_ERR_INVALID, "invalid type: must be "
		    "session, access_token, app_password or client");
	return token_list(x->only_account, (enum token_type)type,
	    proto_str_or(req, F_SEARCH, NULL), PROTO_HAS(req, F_LIMIT) ?
	    req->arg[F_LIMIT].i : LIST_DEFAULT_LIMIT, PROTO_HAS(req, F_OFFSET) ?
	    req->arg[F_OFFSET].i : 0, res);
}

int
h_token_show(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	char owner[33];
	int rc;

	(void)req;
	if ((rc = token_show(x->token_id, owner, NULL, res, "token")) ==
	    ACCT_ERR_NOT_FOUND)
		return ctx_fail(x, rc, "no such token");
	return rc;
}

/* The revoked token's type and id, under its account's name. */
static void
audit_revoked(const struct ctx *x)
{
	struct account a;

	memset(&a, 0, sizeof(a));
	if (x->token_owner[0] != '\0')
		(void)account_get_any_id(x->token_owner, &a);
	auditlog_eventf(x->peer->uid, "token_revoked", a.username != NULL ?
	    a.username : "", "%s %s", token_type_names[x->token_type],
	    x->token_id);
	account_free(&a);
}

int
h_token_revoke(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	int rc;

	(void)req;
	if ((rc = token_delete(x->token_id)) != ACCT_OK)
		return rc == ACCT_ERR_NOT_FOUND ? ctx_fail(x, rc,
		    "no such token") : rc;
	log_info("uid %u: revoked %s %s", (unsigned)x->peer->uid,
	    token_type_names[x->token_type], x->token_id);
	audit_revoked(x);
	proto_kv_str(res, "id", x->token_id);
	return ACCT_OK;
}

int
h_tokens_reset(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	int64_t n = 0;
	int rc;

	if (!req->arg[F_CONFIRM].b)
		return ctx_fail(x, ACCT_ERR_CONFIRM, "tokens_reset revokes "
		    "every session and token: send confirm=true");
	if ((rc = token_reset_all(&n)) != ACCT_OK)
		return rc;
	log_warn("uid %u: revoked all %lld sessions and tokens",
	    (unsigned)x->peer->uid, (long long)n);
	auditlog_eventf(x->peer->uid, "tokens_reset", "", "%lld sessions and "
	    "tokens", (long long)n);
	proto_kv_int(res, "removed", n);
	return ACCT_OK;
}
