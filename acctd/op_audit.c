/*
 * op_audit.c: handlers for the audit commands (admin only).
 */
#include <stdlib.h>

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
h_audit_locks(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const char *id = proto_str_or(req, F_ID, NULL);
	int64_t n = 0, which = -1;
	char *end;
	int rc;

	if (!PROTO_HAS(req, F_CLEAR) || !req->arg[F_CLEAR].b) {
		if (id != NULL)
			return ctx_fail(x, ACCT_ERR_INVALID, "an id is only "
			    "for clear=true");
		return throttle_list(x->cfg, res);
	}
	if (id != NULL) {
		which = strtoll(id, &end, 10);
		if (*id < '0' || *id > '9' || *end != '\0' || which < 0)
			return ctx_fail(x, ACCT_ERR_INVALID, "id must be a "
			    "source's number, as audit_locks lists it");
	}
	if ((rc = throttle_clear(x->cfg, which, &n)) != ACCT_OK)
		return rc;
	if (id != NULL && n == 0)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no locked or slowed "
		    "source %s", id);
	log_warn("uid %u: cleared %lld locked or slowed sources",
	    (unsigned)x->peer->uid, (long long)n);
	proto_kv_int(res, "cleared", n);
	return ACCT_OK;
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
