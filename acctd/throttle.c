/*
 * throttle.c: consecutive login failures per account and per (peer uid,
 * remote address). Past the threshold the key is locked for lockout_base
 * seconds, doubling with each further failure up to lockout_max.
 */
#include <string.h>

#include <sqlite3.h>

#include "acctd.h"

/* Lock end for f consecutive failures, or 0 below the threshold. */
static int64_t
lock_until(const struct config *c, int64_t now, int64_t f, uint32_t limit)
{
	int64_t secs, extra;

	if (f < limit)
		return 0;
	extra = f - limit;
	secs = extra >= 31 ? c->lockout_max :
	    (int64_t)c->lockout_base << extra;
	if (secs > c->lockout_max)
		secs = c->lockout_max;
	return now + secs;
}

/* Read (failures, locked_until) of one row; zeros when there is none. */
static int
read_pair(int64_t *f, int64_t *until, const char *sql, const char *types,
    const char *s, int64_t i)
{
	sqlite3_stmt *st;
	int rc;

	*f = *until = 0;
	if (types[0] == 's')
		rc = db_prepare_cached(&st, sql, types, s);
	else
		rc = db_prepare_cached(&st, sql, types, i, s);
	if (rc != ACCT_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*f = sqlite3_column_int64(st, 0);
		*until = sqlite3_column_int64(st, 1);
	}
	db_release(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ACCT_OK : db_error(rc);
}

static int
charge(const struct config *c, const char *id, uid_t uid, const char *remote,
    bool *locked)
{
	int64_t now = now_unix(), af = 0, al = 0, sf, sl;
	int rc;

	if (id != NULL && (rc = read_pair(&af, &al, "SELECT failed_logins, "
	    "locked_until FROM accounts WHERE id = ?1", "s", id, 0)) != ACCT_OK)
		return rc;
	if ((rc = read_pair(&sf, &sl, "SELECT failures, locked_until FROM "
	    "throttle_sources WHERE peer_uid = ?1 AND remote_addr = ?2", "is",
	    remote, (int64_t)uid)) != ACCT_OK)
		return rc;
	if (al > now || sl > now) {
		*locked = true;
		return ACCT_OK;
	}
	if (id != NULL && (rc = db_exec(NULL, "UPDATE accounts SET "
	    "failed_logins = ?1, locked_until = nullif(?2, 0) WHERE id = ?3",
	    "iis", af + 1, lock_until(c, now, af + 1, c->lockout_failures),
	    id)) != ACCT_OK)
		return rc;
	return db_exec(NULL, "INSERT INTO throttle_sources (peer_uid, "
	    "remote_addr, failures, locked_until, updated_at) VALUES "
	    "(?1, ?2, ?3, nullif(?4, 0), ?5) ON CONFLICT DO UPDATE SET "
	    "failures = ?3, locked_until = nullif(?4, 0), updated_at = ?5",
	    "isiii", (int64_t)uid, remote, sf + 1,
	    lock_until(c, now, sf + 1, c->source_lockout_failures), now);
}

int
throttle_charge(const struct config *c, const char *account_id, uid_t uid,
    const char *remote, bool *locked)
{
	int rc;

	*locked = false;
	db_lock();
	if ((rc = db_begin()) == ACCT_OK)
		rc = db_end(charge(c, account_id, uid, remote, locked));
	db_unlock();
	return rc;
}

int
throttle_success(const char *account_id, uid_t uid, const char *remote)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(NULL, "UPDATE accounts SET failed_logins = 0, "
		    "locked_until = NULL, last_login_at = ?1 WHERE id = ?2",
		    "is", now_unix(), account_id);
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "DELETE FROM throttle_sources WHERE "
			    "peer_uid = ?1 AND remote_addr = ?2", "is",
			    (int64_t)uid, remote);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

int
throttle_unlock(const char *account_id)
{
	int rc;

	db_lock();
	rc = db_exec(NULL, "UPDATE accounts SET failed_logins = 0, "
	    "locked_until = NULL WHERE id = ?1", "s", account_id);
	db_unlock();
	return rc;
}

/* Counters of sources that failed long ago and are not locked. */
int
throttle_purge(const struct config *c, int64_t now)
{
	return db_exec(NULL, "DELETE FROM throttle_sources WHERE "
	    "updated_at < ?1 AND (locked_until IS NULL OR locked_until < ?2)",
	    "ii", now - (int64_t)c->lockout_max, now);
}

/* users reset: every source counter goes with the accounts. */
int
throttle_reset_all(void)
{
	int rc;

	db_lock();
	rc = db_exec(NULL, "DELETE FROM throttle_sources", "");
	db_unlock();
	return rc;
}

/*
 * Give back a charge for an attempt that was never decided (the hash
 * pool was busy): an overloaded daemon must not lock accounts out.
 */
int
throttle_refund(const struct config *c, const char *account_id, uid_t uid,
    const char *remote)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		if (account_id != NULL)
			rc = db_exec(NULL, "UPDATE accounts SET failed_logins = "
			    "max(failed_logins - 1, 0), locked_until = CASE "
			    "WHEN failed_logins - 1 < ?1 THEN NULL ELSE "
			    "locked_until END WHERE id = ?2", "is",
			    (int64_t)c->lockout_failures, account_id);
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "UPDATE throttle_sources SET failures = "
			    "max(failures - 1, 0), locked_until = CASE WHEN "
			    "failures - 1 < ?1 THEN NULL ELSE locked_until END "
			    "WHERE peer_uid = ?2 AND remote_addr = ?3", "iis",
			    (int64_t)c->source_lockout_failures, (int64_t)uid,
			    remote);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}
