/*
 * auditlog.c: the audit tables: logins, one row per attempt, and the
 * other events. Never a password or token, only names as given,
 * sanitised and bounded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/log.h"
#include "../common/text.h"
#include "acctd.h"

/* A copy that is valid UTF-8 without control characters ('?' for each
 * byte that is not): a process name is whatever bytes its owner chose,
 * and a strict client must be able to decode every record. */
static char *
sanitise(const char *s)
{
	char *c = strdup(s ? s : "");

	if (c != NULL)
		text_sanitise(c);
	return c;
}

int
auditlog_purge_locked(const struct config *c, int64_t now)
{
	int64_t n = 0, before = now - (int64_t)c->audit_retention_days * 86400;
	int rc;

	if (c->audit_retention_days == 0)
		return ACCT_OK;
	rc = db_exec(&n, "DELETE FROM audit_logins WHERE at < ?1",
	    DB_ARGS(DB_INT(before)));
	if (rc == ACCT_OK)
		rc = db_exec(NULL, "DELETE FROM audit_events WHERE at < ?1",
		    DB_ARGS(DB_INT(before)));
	if (rc == ACCT_OK && n > 0)
		log_info("audit: purged %lld login records older than %u days",
		    (long long)n, c->audit_retention_days);
	return rc;
}

int
auditlog_add_locked(const struct audit_login *e)
{
	char *user = sanitise(e->username), *realm = sanitise(e->realm);
	char *remote = sanitise(e->remote), *comm = sanitise(e->peer->comm);
	int rc = ACCT_ERR_NOMEM;

	if (user != NULL && realm != NULL && remote != NULL && comm != NULL)
		rc = db_exec(NULL, "INSERT INTO audit_logins (at, peer_uid, "
		    "peer_pid, peer_comm, realm, remote_addr, username, "
		    "account_id, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		    "?8, ?9)", DB_ARGS(DB_INT(now_unix()),
		    DB_INT(e->peer->uid), DB_INT(e->peer->pid), DB_TEXT(comm),
		    DB_TEXT(realm), DB_TEXT(remote), DB_TEXT(user),
		    DB_TEXT(e->account_id), DB_TEXT(e->status)));
	if (rc != ACCT_OK)
		log_err("audit: cannot record a login attempt");
	free(user);
	free(realm);
	free(remote);
	free(comm);
	return rc;
}

/*
 * One row per (client, username, realm), newest first, like PhotoPrism's
 * report. The client is the remote address, or the local peer when the
 * caller gave none; the status is that of the group's latest attempt.
 */
#define ATTEMPTS \
	"(SELECT CASE WHEN remote_addr <> '' THEN remote_addr " \
	" ELSE 'uid ' || peer_uid || ' (' || peer_comm || ')' END AS client, " \
	" id, username, realm, status, at FROM audit_logins " \
	" WHERE ?1 IS NULL OR lower(username) = lower(?1) OR account_id = " \
	" (SELECT id FROM accounts WHERE username = lower(?1) AND " \
	" deleted_at IS NULL))"
#define GROUPS \
	"(SELECT client, username, realm, max(id) AS last_id, " \
	" max(CASE WHEN status = 'OK' THEN at END) AS last_ok, " \
	" max(CASE WHEN status <> 'OK' THEN at END) AS last_fail, " \
	" count(*) AS n FROM " ATTEMPTS " GROUP BY client, username, realm)"
#define LIST_SQL \
	"SELECT g.client, g.username, g.realm, a.status, g.last_ok, " \
	" g.last_fail, g.n FROM " GROUPS " AS g " \
	"JOIN audit_logins AS a ON a.id = g.last_id " \
	"ORDER BY g.last_id DESC LIMIT ?2 OFFSET ?3"

static void
pack_login(msgpack_packer *pk, const struct db_query *q, void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 7);
	db_pack_text(pk, "client", q, 0);
	db_pack_text(pk, "username", q, 1);
	db_pack_text(pk, "realm", q, 2);
	db_pack_text(pk, "status", q, 3);
	db_pack_int(pk, "last_login", q, 4);
	db_pack_int(pk, "failed_at", q, 5);
	proto_pack_cstr(pk, "attempts");
	msgpack_pack_int64(pk, db_int(q, 6));
}

int
auditlog_list(const char *username, int64_t limit, int64_t offset,
    struct proto_msg *res)
{
	const struct db_arg args[] = { DB_TEXT(username) };
	const struct page_query pq = { .key = "logins",
	    .count_sql = "SELECT count(*) FROM " GROUPS,
	    .rows_sql = LIST_SQL, .args = args, .nargs = 1, .limit = limit,
	    .offset = offset, .pack = pack_login };

	return page_list(&pq, res);
}

int
auditlog_reset(int64_t *removed)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(removed, "DELETE FROM audit_logins", DB_NOARGS);
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "DELETE FROM audit_events",
			    DB_NOARGS);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

void
auditlog_event(uid_t uid, const char *event, const char *subject,
    const char *detail)
{
	char *s = sanitise(subject), *d = sanitise(detail);
	int rc = ACCT_ERR_NOMEM;

	if (s != NULL && d != NULL) {
		db_lock();
		rc = db_exec(NULL, "INSERT INTO audit_events (at, peer_uid, "
		    "event, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
		    DB_ARGS(DB_INT(now_unix()), DB_INT(uid), DB_TEXT(event),
		    DB_TEXT(s), DB_TEXT(d)));
		db_unlock();
	}
	if (rc != ACCT_OK)
		log_err("audit: cannot record event %s", event);
	free(s);
	free(d);
}

void
auditlog_eventf(uid_t uid, const char *event, const char *subject,
    const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	auditlog_event(uid, event, subject, detail);
}

/* search: a part of the event's name, subject or detail. */
#define EVENTS_WHERE " FROM audit_events WHERE ?1 IS NULL OR " \
	"instr(event, ?1) OR instr(subject, ?1) OR instr(detail, ?1)"

static void
pack_event(msgpack_packer *pk, const struct db_query *q, void *arg)
{
	(void)arg;
	msgpack_pack_map(pk, 6);
	db_pack_int(pk, "id", q, 0);
	db_pack_int(pk, "at", q, 1);
	db_pack_int(pk, "peer_uid", q, 2);
	db_pack_text(pk, "event", q, 3);
	db_pack_text(pk, "subject", q, 4);
	db_pack_text(pk, "detail", q, 5);
}

int
auditlog_events(const char *search, int64_t limit, int64_t offset,
    struct proto_msg *res)
{
	const struct db_arg args[] = { DB_TEXT(search) };
	const struct page_query pq = { .key = "events",
	    .count_sql = "SELECT count(*)" EVENTS_WHERE,
	    .rows_sql = "SELECT id, at, peer_uid, event, subject, detail"
	    EVENTS_WHERE " ORDER BY id DESC LIMIT ?2 OFFSET ?3",
	    .args = args, .nargs = 1, .limit = limit, .offset = offset,
	    .pack = pack_event };

	return page_list(&pq, res);
}
