/*
 * purge.c: periodic clean-up, run by the server loop every PURGE_INTERVAL:
 * expired tokens, audit rows past retention, stale throttle counters
 * and mail limits.
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
	db_unlock();
}
