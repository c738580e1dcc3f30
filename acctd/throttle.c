/*
 * throttle.c: consecutive failures per account and per source. Past the
 * threshold the key is locked for lockout_base seconds, doubling with
 * each further failure up to lockout_max; a source that gave no address
 * is slowed down instead, so failures on made-up names cannot lock out
 * every user of a service.
 */
#include <string.h>

#include "acctd.h"

/* A source past its threshold that does not lock waits this long. */
#define SLOWDOWN_MS	1000

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

#define SOURCE_KEY(s)	DB_INT((s)->uid), DB_TEXT((s)->remote), \
	DB_TEXT((s)->service)

static int
charge_locked(const struct config *c, const char *id,
    const struct throttle_source *s, bool *locked, unsigned *delay_ms)
{
	int64_t now = now_unix(), af = 0, al = 0, sf = 0, sl = 0;
	struct db_query q;
	int rc;

	if (id != NULL) {
		if ((rc = db_one(&q, "SELECT failed_logins, locked_until "
		    "FROM accounts WHERE id = ?1", DB_ARGS(DB_TEXT(id)))) ==
		    ACCT_OK) {
			af = db_int(&q, 0);
			al = db_int(&q, 1);
		}
		(void)db_done(&q);
		if (rc != ACCT_OK && rc != ACCT_ERR_NOT_FOUND)
			return rc;
	}
	if ((rc = db_one(&q, "SELECT failures, locked_until FROM "
	    "throttle_sources WHERE peer_uid = ?1 AND remote_addr = ?2 AND "
	    "service = ?3", DB_ARGS(SOURCE_KEY(s)))) == ACCT_OK) {
		sf = db_int(&q, 0);
		sl = db_int(&q, 1);
	}
	(void)db_done(&q);
	if (rc != ACCT_OK && rc != ACCT_ERR_NOT_FOUND)
		return rc;
	if (al > now || sl > now) {
		*locked = true;
		return ACCT_OK;
	}
	if (!s->locks && sf >= c->source_lockout_failures)
		*delay_ms = SLOWDOWN_MS;
	if (id != NULL && (rc = db_exec(NULL, "UPDATE accounts SET "
	    "failed_logins = ?1, locked_until = nullif(?2, 0) WHERE id = ?3",
	    DB_ARGS(DB_INT(af + 1), DB_INT(lock_until(c, now, af + 1,
	    c->lockout_failures)), DB_TEXT(id)))) != ACCT_OK)
		return rc;
	return db_exec(NULL, "INSERT INTO throttle_sources (peer_uid, "
	    "remote_addr, service, failures, locked_until, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, nullif(?5, 0), ?6) ON CONFLICT DO UPDATE SET "
	    "failures = ?4, locked_until = nullif(?5, 0), updated_at = ?6",
	    DB_ARGS(SOURCE_KEY(s), DB_INT(sf + 1), DB_INT(s->locks ?
	    lock_until(c, now, sf + 1, c->source_lockout_failures) : 0),
	    DB_INT(now)));
}

int
throttle_charge(const struct config *c, const char *account_id,
    const struct throttle_source *s, bool *locked, unsigned *delay_ms)
{
	int rc;

	*locked = false;
	*delay_ms = 0;
	db_lock();
	if ((rc = db_begin()) == ACCT_OK)
		rc = db_end(charge_locked(c, account_id, s, locked,
		    delay_ms));
	db_unlock();
	return rc;
}

int
throttle_success(const char *account_id, const struct throttle_source *s,
    bool stamp_login)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(NULL, "UPDATE accounts SET failed_logins = 0, "
		    "locked_until = NULL, last_login_at = CASE WHEN ?1 THEN "
		    "?2 ELSE last_login_at END WHERE id = ?3",
		    DB_ARGS(DB_INT(stamp_login), DB_INT(now_unix()),
		    DB_TEXT(account_id)));
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "DELETE FROM throttle_sources WHERE "
			    "peer_uid = ?1 AND remote_addr = ?2 AND service = ?3",
			    DB_ARGS(SOURCE_KEY(s)));
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

/*
 * Give back the charge of an attempt that was not a failure: one the
 * busy hash pool never decided, or a right password that still needs
 * its code. Earlier failures stay counted.
 */
int
throttle_refund(const struct config *c, const char *account_id,
    const struct throttle_source *s)
{
	int rc = ACCT_OK;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		if (account_id != NULL)
			rc = db_exec(NULL, "UPDATE accounts SET failed_logins = "
			    "max(failed_logins - 1, 0), locked_until = CASE "
			    "WHEN failed_logins - 1 < ?1 THEN NULL ELSE "
			    "locked_until END WHERE id = ?2",
			    DB_ARGS(DB_INT(c->lockout_failures),
			    DB_TEXT(account_id)));
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "UPDATE throttle_sources SET "
			    "failures = max(failures - 1, 0), locked_until = "
			    "CASE WHEN failures - 1 < ?1 THEN NULL ELSE "
			    "locked_until END WHERE peer_uid = ?2 AND "
			    "remote_addr = ?3 AND service = ?4",
			    DB_ARGS(DB_INT(c->source_lockout_failures),
			    SOURCE_KEY(s)));
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
	    "locked_until = NULL WHERE id = ?1", DB_ARGS(DB_TEXT(account_id)));
	db_unlock();
	return rc;
}

/* Counters of sources that failed long ago and are not locked. */
int
throttle_purge_locked(const struct config *c, int64_t now)
{
	return db_exec(NULL, "DELETE FROM throttle_sources WHERE "
	    "updated_at < ?1 AND (locked_until IS NULL OR locked_until < ?2)",
	    DB_ARGS(DB_INT(now - (int64_t)c->lockout_max), DB_INT(now)));
}

/*
 * The sources an admin should know of: locked ones, and those without
 * an address that are slowed down, past the threshold.
 */
#define HELD_WHERE " FROM throttle_sources WHERE (locked_until > ?1 OR " \
	"(remote_addr = '' AND service <> '' AND failures >= ?2))"

int
throttle_list(const struct config *c, struct proto_msg *res)
{
	struct proto_msg rows;
	struct db_query q;
	int64_t now = now_unix();
	uint32_t n = 0;
	int rc;

	proto_msg_init(&rows);
	db_read();
	if (db_query(&q, "SELECT rowid, peer_uid, remote_addr, service, "
	    "failures, locked_until" HELD_WHERE " ORDER BY updated_at DESC "
	    "LIMIT 1000", DB_ARGS(DB_INT(now),
	    DB_INT(c->source_lockout_failures))) == ACCT_OK)
		for (; db_next(&q); n++) {
			msgpack_packer *pk = &rows.pk;
			bool locked = !db_null(&q, 5) && db_int(&q, 5) > now;

			msgpack_pack_map(pk, 7);
			proto_pack_cstr(pk, "id");
			msgpack_pack_int64(pk, db_int(&q, 0));
			db_pack_int(pk, "peer_uid", &q, 1);
			db_pack_text(pk, "remote_addr", &q, 2);
			db_pack_text(pk, "service", &q, 3);
			db_pack_int(pk, "failures", &q, 4);
			db_pack_int(pk, "locked_until", &q, 5);
			proto_pack_cstr(pk, "state");
			proto_pack_cstr(pk, locked ? "locked" : "slowed");
		}
	rc = db_done(&q);
	db_read_end();
	if (rc == ACCT_OK && rows.failed)
		rc = ACCT_ERR_NOMEM;
	if (rc == ACCT_OK) {
		msgpack_pack_array(proto_kv_begin(res, "sources"), n);
		proto_msg_raw(res, rows.data, rows.len);
	}
	proto_msg_free(&rows);
	return rc;
}

int
throttle_clear(const struct config *c, int64_t id, int64_t *cleared)
{
	int rc;

	db_lock();
	rc = db_exec(cleared, "DELETE" HELD_WHERE " AND (?3 < 0 OR rowid = ?3)",
	    DB_ARGS(DB_INT(now_unix()), DB_INT(c->source_lockout_failures),
	    DB_INT(id)));
	db_unlock();
	return rc;
}

/* users reset: every source counter goes with the accounts. */
int
throttle_reset_all(void)
{
	int rc;

	db_lock();
	rc = db_exec(NULL, "DELETE FROM throttle_sources", DB_NOARGS);
	db_unlock();
	return rc;
}
