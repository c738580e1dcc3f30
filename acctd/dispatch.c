/*
 * dispatch.c: the one table of operations, who may call each, and the
 * handler. A request whose peer class is not listed is refused here.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

#define ADMIN	PEER_ADMIN
#define AUTH	PEER_AUTH
#define ANYONE	PEER_ANYONE

static const struct handler {
	enum proto_op	 op;
	unsigned	 classes;
	handler_fn	*fn;
} handlers[OP__COUNT] = {
	{ OP_HELLO,	  ANYONE,	h_hello },
	{ OP_USER_ADD,	  ADMIN,	h_user_add },
	{ OP_USER_SHOW,	  ADMIN,	h_user_show },
	{ OP_USER_LIST,	  ADMIN,	h_user_list },
	{ OP_USER_MOD,	  ADMIN,	h_user_mod },
	{ OP_USER_RM,	  ADMIN,	h_user_rm },
	{ OP_USERS_RESET, ADMIN,	h_users_reset },
	/* Anyone for their own account; the handler tells who is who. */
	{ OP_PASSWD,	  ANYONE,	h_passwd },
	{ OP_LOGIN,	  ADMIN | AUTH,	h_login },
	{ OP_AUDIT_LOGINS, ADMIN,	h_audit_logins },
	{ OP_AUDIT_RESET, ADMIN,	h_audit_reset },
	{ OP_TOKEN_ADD,	  ADMIN,	h_token_add },
	{ OP_TOKEN_VALIDATE, ADMIN | AUTH, h_token_validate },
	/* Own tokens for anyone; the handlers narrow it. */
	{ OP_TOKEN_LIST,  ANYONE,	h_token_list },
	{ OP_TOKEN_SHOW,  ANYONE,	h_token_show },
	{ OP_TOKEN_REVOKE, ANYONE,	h_token_revoke },
	{ OP_TOKENS_RESET, ADMIN,	h_tokens_reset },
	{ OP_CLIENT_VERIFY, ADMIN | AUTH, h_client_verify },
	{ OP_PASSWORD_FORGOT, ADMIN | AUTH, h_password_forgot },
	/* Holding a mailed token is the credential. */
	{ OP_PASSWORD_RESET, ANYONE,	h_password_reset },
	{ OP_USER_RESET_PASSWORD, ADMIN, h_user_reset_password },
	{ OP_SESSION_ADD, ADMIN | AUTH,	h_session_add },
	/* Own account, or an admin's for anyone. */
	{ OP_TOTP_ENROLL, ANYONE,	h_totp_enroll },
	{ OP_TOTP_CONFIRM, ANYONE,	h_totp_confirm },
	{ OP_USER_IMPORT, ADMIN,	h_user_import },
};

int
ctx_fail(struct ctx *x, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return code;
}

static const struct handler *
lookup(enum proto_op op)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].op == op)
			return &handlers[i];
	return NULL;
}

static int
run(struct ctx *x, struct proto_request *req, struct proto_frame *out)
{
	const struct handler *h = lookup(req->op);
	struct proto_msg res;
	int rc;

	if (h == NULL)
		return ctx_fail(x, ACCT_ERR_UNKNOWN_OP, "unknown operation");
	if ((h->classes & x->classes) == 0) {
		log_info("uid %u (%s): %s refused", (unsigned)x->peer->uid,
		    x->peer->comm, proto_ops[req->op].name);
		return ctx_fail(x, ACCT_ERR_DENIED, "permission denied: %s "
		    "is for %s", proto_ops[req->op].name,
		    (h->classes & AUTH) ? "admins and authenticators" :
		    "admins");
	}
	proto_msg_init(&res);
	rc = h->fn(x, req, &res);
	if (rc == ACCT_OK &&
	    (rc = proto_reply_finish(&res, req->id, out)) == ACCT_ERR_INVALID)
		rc = ctx_fail(x, ACCT_ERR_INTERNAL, "reply too large; ask for "
		    "fewer items");
	proto_msg_free(&res);
	return rc;
}

void
dispatch(const struct peer *peer, const void *payload, size_t len,
    struct proto_frame *out)
{
	struct proto_request req;
	const char *problem;
	struct ctx *x;
	int rc;

	(void)db_problem();	/* none left over from a request before */
	out->data = NULL;
	out->len = 0;
	/* On the heap: the config snapshot is 8 KiB, and hundreds of
	 * threads waiting on a hash should not each hold one on a stack. */
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		if (proto_error_finish(0, ACCT_ERR_INTERNAL, "out of memory",
		    out) != ACCT_OK)
			out->data = NULL;
		return;
	}
	x->peer = peer;
	config_current(&x->cfg);
	x->classes = peer_classes(peer, &x->cfg);
	rc = proto_request_decode(payload, len, &req, x->err, sizeof(x->err));
	if (rc == ACCT_OK)
		rc = run(x, &req, out);
	if (rc != ACCT_OK) {
		/* Client-side codes never go on the wire. */
		if (rc >= ACCT_ERR__WIRE_MAX) {	/* ACCT_ERR_NOMEM too */
			rc = ACCT_ERR_INTERNAL;
			strlcpy(x->err, "out of memory", sizeof(x->err));
		}
		if (x->err[0] == '\0' && (rc == ACCT_ERR_STORAGE ||
		    rc == ACCT_ERR_BUSY) && (problem = db_problem()) != NULL)
			strlcpy(x->err, problem, sizeof(x->err));
		if (x->err[0] == '\0')
			strlcpy(x->err, acct_strerror(rc), sizeof(x->err));
		log_debug("uid %u: request %llu: %s: %s", (unsigned)peer->uid,
		    (unsigned long long)req.id, acct_errname(rc), x->err);
		if (proto_error_finish(req.id, rc, x->err, out) != ACCT_OK)
			out->data = NULL;
	}
	proto_request_free(&req);
	free(x);
}
