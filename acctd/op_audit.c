/*
 * op_audit.c: handlers for the audit commands (admin only): logins,
 * the other events, locked sources, and clearing them.
 */
#include <stdlib.h>

#include "../common/log.h"
#include "acctd.h"

#define AUDIT_DEFAULT_LIMIT	100
#define LOCKS_DEFAULT_LIMIT	1000

static int64_t
limit_of(const struct proto_request *req, int64_t dflt)
{
	return PROTO_HAS(req, F_LIMIT) ? req->arg[F_LIMIT].i : dflt;
}

static int64_t
offset_of(const struct proto_request *req)
{
	return PROTO_HAS(req, F_OFFSET) ? req->arg[F_OFFSET].i : 0;
}

int
h_audit_logins(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	(void)x;
	return auditlog_list(proto_str_or(req, F_USERNAME, NULL),
	    limit_of(req, AUDIT_DEFAULT_LIMIT), offset_of(req), res);
}

int
h_audit_events(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	(void)x;
	return auditlog_events(proto_str_or(req, F_SEARCH, NULL),
	    limit_of(req, AUDIT_DEFAULT_LIMIT), offset_of(req), res);
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
		return throttle_list(x->cfg, limit_of(req,
		    LOCKS_DEFAULT_LIMIT), offset_of(req), res);
	}
	if (PROTO_HAS(req, F_LIMIT) || PROTO_HAS(req, F_OFFSET))
		return ctx_fail(x, ACCT_ERR_INVALID, "limit and offset are for "
		    "listing, not for clear=true");
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
	auditlog_eventf(x->peer->uid, "locks_cleared", "", "%lld sources%s%s",
	    (long long)n, id != NULL ? ": source " : "", id != NULL ? id : "");
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
	/* What was cleared, who cleared it: the first row of the new log. */
	auditlog_eventf(x->peer->uid, "audit_reset", "", "%lld login records",
	    (long long)removed);
	proto_kv_int(res, "removed", removed);
	return ACCT_OK;
}
