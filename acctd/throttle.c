/*
 * throttle.c: consecutive failures per account and per source. Past the
 * threshold the key is locked for lockout_base seconds, doubling with
 * each further failure up to lockout_max; a source that gave no address
 * is slowed down instead, so failures on made-up names cannot lock out
 * every user of a service.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Attempts between their check and the commit of their outcome, counted
 * in memory as if they had failed: parallel attempts cannot slip past
 * the limit, and no commit is spent before the hash. An attempt whose
 * outcome never commits was never answered, so it need not count.
 */
struct pending {
	char		*key;
	unsigned	 n;
};

static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pend;
static size_t npend, cappend;

static struct pending *
pending_find(const char *key)
{
	for (size_t i = 0; key != NULL && i < npend; i++)
		if (strcmp(pend[i].key, key) == 0)
			return &pend[i];
	return NULL;
}

static int64_t
pending_count(const char *key)
{
	struct pending *p = pending_find(key);

	return p != NULL ? p->n : 0;
}

static int
pending_add(const char *key)
{
	struct pending *p;

	if (key == NULL)
		return ACCT_OK;
	if ((p = pending_find(key)) != NULL) {
		p->n++;
		return ACCT_OK;
	}
	if (npend == cappend) {
		size_t n = cappend ? 2 * cappend : 16;

		if ((p = reallocarray(pend, n, sizeof(*pend))) == NULL)
			return ACCT_ERR_NOMEM;
		pend = p;
		cappend = n;
	}
	if ((pend[npend].key = strdup(key)) == NULL)
		return ACCT_ERR_NOMEM;
	pend[npend++].n = 1;
	return ACCT_OK;
}

static void
pending_drop(const char *key)
{
	struct pending *p = pending_find(key);

	if (p == NULL || --p->n > 0)
		return;
	free(p->key);
	*p = pend[--npend];
}

static int
attempt_keys(struct throttle_attempt *t)
{
	const struct throttle_source *s = t->src;

	t->held = false;
	t->key[0] = t->key[1] = NULL;
	if ((t->account_id != NULL && asprintf(&t->key[0], "a%s",
	    t->account_id) == -1) || asprintf(&t->key[1], "s%u:%zu:%s:%s",
	    (unsigned)s->uid, strlen(s->service), s->service, s->remote) ==
	    -1) {
		free(t->key[0]);
		t->key[0] = t->key[1] = NULL;
		return ACCT_ERR_NOMEM;
	}
	return ACCT_OK;
}

/* The stored counters of the account (if any) and the source. */
static int
counters(const struct throttle_attempt *t, int64_t *af, int64_t *al,
    int64_t *sf, int64_t *sl)
{
	struct db_query q;
	int rc = ACCT_OK;

	*af = *al = *sf = *sl = 0;
	db_read();
	if (t->account_id != NULL) {
		if ((rc = db_one(&q, "SELECT failed_logins, locked_until "
		    "FROM accounts WHERE id = ?1",
		    DB_ARGS(DB_TEXT(t->account_id)))) == ACCT_OK) {
			*af = db_int(&q, 0);
			*al = db_int(&q, 1);
		}
		(void)db_done(&q);
	}
	if (rc == ACCT_OK || rc == ACCT_ERR_NOT_FOUND) {
		if ((rc = db_one(&q, "SELECT failures, locked_until FROM "
		    "throttle_sources WHERE peer_uid = ?1 AND remote_addr = ?2 "
		    "AND service = ?3", DB_ARGS(SOURCE_KEY(t->src)))) ==
		    ACCT_OK) {
			*sf = db_int(&q, 0);
			*sl = db_int(&q, 1);
		}
		(void)db_done(&q);
	}
	db_read_end();
	return rc == ACCT_ERR_NOT_FOUND ? ACCT_OK : rc;
}

int
throttle_begin(const struct config *c, struct throttle_attempt *t,
    bool *locked, unsigned *delay_ms)
{
	int64_t now = now_unix(), af, al, sf, sl, pa, ps;
	const struct throttle_source *s = t->src;
	int rc;

	*locked = false;
	*delay_ms = 0;
	if ((rc = attempt_keys(t)) != ACCT_OK)
		return rc;
	/* Read and counted at once: an outcome that commits in between
	 * would otherwise be in neither the table nor the count. */
	pthread_mutex_lock(&pending_lock);
	if ((rc = counters(t, &af, &al, &sf, &sl)) != ACCT_OK)
		goto out;
	pa = pending_count(t->key[0]);
	ps = pending_count(t->key[1]);
	/* Locked, or would be once the attempts in flight have failed. */
	if (al > now || sl > now || (pa > 0 && af + pa >=
	    c->lockout_failures) || (s->locks && ps > 0 && sf + ps >=
	    c->source_lockout_failures)) {
		*locked = true;
		goto out;
	}
	if (!s->locks && sf + ps >= c->source_lockout_failures)
		*delay_ms = SLOWDOWN_MS;
	if ((rc = pending_add(t->key[0])) == ACCT_OK &&
	    (rc = pending_add(t->key[1])) != ACCT_OK)
		pending_drop(t->key[0]);
	t->held = rc == ACCT_OK;
out:
	pthread_mutex_unlock(&pending_lock);
	if (rc != ACCT_OK)
		throttle_end(t);
	return rc;
}

void
throttle_end(struct throttle_attempt *t)
{
	if (t->held) {
		pthread_mutex_lock(&pending_lock);
		pending_drop(t->key[0]);
		pending_drop(t->key[1]);
		pthread_mutex_unlock(&pending_lock);
		t->held = false;
	}
	free(t->key[0]);
	free(t->key[1]);
	t->key[0] = t->key[1] = NULL;
}

/* One more failure on both counters, locking past the threshold. */
static int
fail_locked(const struct config *c, const struct throttle_attempt *t)
{
	const struct throttle_source *s = t->src;
	int64_t now = now_unix(), af, al, sf, sl;
	int rc;

	/* Under db_lock() the reads go to the writer: the counts of now. */
	if ((rc = counters(t, &af, &al, &sf, &sl)) != ACCT_OK)
		return rc;
	if (t->account_id != NULL && (rc = db_exec(NULL, "UPDATE accounts "
	    "SET failed_logins = ?1, locked_until = nullif(?2, 0) WHERE "
	    "id = ?3", DB_ARGS(DB_INT(af + 1), DB_INT(lock_until(c, now,
	    af + 1, c->lockout_failures)), DB_TEXT(t->account_id)))) !=
	    ACCT_OK)
		return rc;
	return db_exec(NULL, "INSERT INTO throttle_sources (peer_uid, "
	    "remote_addr, service, failures, locked_until, updated_at) VALUES "
	    "(?1, ?2, ?3, ?4, nullif(?5, 0), ?6) ON CONFLICT DO UPDATE SET "
	    "failures = ?4, locked_until = nullif(?5, 0), updated_at = ?6",
	    DB_ARGS(SOURCE_KEY(s), DB_INT(sf + 1), DB_INT(s->locks ?
	    lock_until(c, now, sf + 1, c->source_lockout_failures) : 0),
	    DB_INT(now)));
}

/* Both counters cleared; the login stamped when asked. */
static int
clear_locked(const struct throttle_attempt *t, bool stamp_login)
{
	int rc;

	rc = db_exec(NULL, "UPDATE accounts SET failed_logins = 0, "
	    "locked_until = NULL, last_login_at = CASE WHEN ?1 THEN "
	    "?2 ELSE last_login_at END WHERE id = ?3",
	    DB_ARGS(DB_INT(stamp_login), DB_INT(now_unix()),
	    DB_TEXT(t->account_id)));
	if (rc == ACCT_OK)
		rc = db_exec(NULL, "DELETE FROM throttle_sources WHERE "
		    "peer_uid = ?1 AND remote_addr = ?2 AND service = ?3",
		    DB_ARGS(SOURCE_KEY(t->src)));
	return rc;
}

int
throttle_record_locked(const struct config *c,
    const struct throttle_attempt *t, enum throttle_outcome o,
    bool stamp_login)
{
	switch (o) {
	case THROTTLE_FAILED:
		return fail_locked(c, t);
	case THROTTLE_CLEARED:
		return t->account_id != NULL ? clear_locked(t, stamp_login) :
		    ACCT_ERR_INTERNAL;
	case THROTTLE_UNCOUNTED:
		break;
	}
	return ACCT_OK;
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

static void
pack_source(msgpack_packer *pk, const struct db_query *q, void *arg)
{
	const int64_t *now = arg;
	bool locked = !db_null(q, 5) && db_int(q, 5) > *now;

	msgpack_pack_map(pk, 7);
	proto_pack_cstr(pk, "id");
	msgpack_pack_int64(pk, db_int(q, 0));
	db_pack_int(pk, "peer_uid", q, 1);
	db_pack_text(pk, "remote_addr", q, 2);
	db_pack_text(pk, "service", q, 3);
	db_pack_int(pk, "failures", q, 4);
	db_pack_int(pk, "locked_until", q, 5);
	proto_pack_cstr(pk, "state");
	proto_pack_cstr(pk, locked ? "locked" : "slowed");
}

int
throttle_list(const struct config *c, int64_t limit, int64_t offset,
    struct proto_msg *res)
{
	int64_t now = now_unix();
	const struct db_arg args[] = { DB_INT(now),
	    DB_INT(c->source_lockout_failures) };
	const struct page_query pq = { .key = "sources",
	    .count_sql = "SELECT count(*)" HELD_WHERE,
	    .rows_sql = "SELECT rowid, peer_uid, remote_addr, service, "
	    "failures, locked_until" HELD_WHERE " ORDER BY updated_at DESC, "
	    "rowid DESC LIMIT ?3 OFFSET ?4",
	    .args = args, .nargs = 2, .limit = limit, .offset = offset,
	    .pack = pack_source, .arg = &now };

	return page_list(&pq, res);
}

int
throttle_count_held(const struct config *c, int64_t now, int64_t *locked,
    int64_t *slowed)
{
	struct db_query q;
	int rc;

	db_read();
	if ((rc = db_one(&q, "SELECT coalesce(sum(locked_until > ?1), 0), "
	    "count(*)" HELD_WHERE, DB_ARGS(DB_INT(now),
	    DB_INT(c->source_lockout_failures)))) == ACCT_OK) {
		*locked = db_int(&q, 0);
		*slowed = db_int(&q, 1) - *locked;
	}
	(void)db_done(&q);
	db_read_end();
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
