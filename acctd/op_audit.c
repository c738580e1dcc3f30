/*
 * op_audit.c: handlers for the audit commands (admin only).
 */
#include "../common/log.h"
#include "acctd.h"

#define AUDIT_DEFAULT_LIMIT	100

int
h_audit_logins(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	(void)x;
	return auditlog_list(PROTO_HAS(req, F_USERNAME) ?
	    req->arg[F_USERNAME].str : NULL, PROTO_HAS(req, F_LIMIT) ?
	    req->arg[F_LIMIT].i : AUDIT_DEFAULT_LIMIT, res);
}

int
h_audit_reset(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	int64_t removed = 0;
	int rc;

	if (!req->arg[F_CONFIRM].b)
		return ctx_fail(x, ACCT_ERR_CONFIRM, "audit_reset clears the "
		    "audit log: send confirm=true");
	if ((rc = auditlog_reset(&removed)) != ACCT_OK)
		return rc;
	log_warn("uid %u: cleared the login audit log (%lld records)",
	    (unsigned)x->peer->uid, (long long)removed);
	proto_kv_int(res, "removed", removed);
	return ACCT_OK;
}
