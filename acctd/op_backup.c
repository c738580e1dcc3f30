/*
 * op_backup.c: the db backup handler: a copy of the database, written to
 * the descriptor the caller sent with the request, which it opened with
 * its own rights.
 */
#include <stdio.h>

#include "../common/log.h"
#include "acctd.h"

int
h_db_backup(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct backup_info bi;
	char detail[64];
	int rc;

	(void)req;
	if (x->passed_fd < 0)
		return ctx_fail(x, ACCT_ERR_INVALID, "db_backup writes to a "
		    "descriptor sent with the request (SCM_RIGHTS), never to "
		    "a path: acctc db backup FILE opens it");
	if ((rc = backup_to_fd(x->cfg->db_path, x->passed_fd, &bi, x->err,
	    sizeof(x->err))) != ACCT_OK) {
		log_warn("uid %u: database backup failed: %s",
		    (unsigned)x->peer->uid, x->err);
		return rc;
	}
	log_info("uid %u: database backup, %lld bytes, %lld accounts",
	    (unsigned)x->peer->uid, (long long)bi.bytes,
	    (long long)bi.accounts);
	snprintf(detail, sizeof(detail), "%lld bytes, %lld accounts",
	    (long long)bi.bytes, (long long)bi.accounts);
	auditlog_event(x->peer->uid, "db_backup", "", detail);
	proto_kv_int(res, "bytes", bi.bytes);
	proto_kv_int(res, "accounts", bi.accounts);
	proto_kv_int(res, "schema_version", bi.schema_version);
	return ACCT_OK;
}
