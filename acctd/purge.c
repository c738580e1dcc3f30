/*
 * purge.c: periodic clean-up, run by the server loop every PURGE_INTERVAL:
 * expired tokens, audit rows past retention, stale throttle counters,
 * mail limits, and accounts deleted longer ago than configured.
 */
#include "../common/log.h"
#include "acctd.h"

void
purge_run(const struct config *c)
{
	int64_t now = now_unix(), n = 0;

	db_lock();
	if (token_purge_expired_locked(now, &n) == ACCT_OK && n > 0)
		log_info("purged %lld expired tokens", (long long)n);
	auditlog_purge_locked(c, now);
	throttle_purge_locked(c, now);
	resetlink_purge_locked(c, now);
	if (c->purge_deleted_after_days > 0 && account_purge_deleted_locked(
	    now - (int64_t)c->purge_deleted_after_days * 86400, &n) ==
	    ACCT_OK && n > 0)
		log_info("purged %lld accounts deleted more than %u days ago",
		    (long long)n, c->purge_deleted_after_days);
	db_unlock();
}
