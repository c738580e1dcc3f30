/*
 * auditlog.c: the login audit table. One row per attempt; never a
 * password, only the name as given, sanitised and bounded.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../common/log.h"
#include "acctd.h"

/* Printable copy: control characters become '?'. */
static char *
sanitise(const char *s)
{
	char *c = strdup(s ? s : "");

	for (char *p = c; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

int
auditlog_purge(const struct config *c, int64_t now)
{
	int64_t n = 0;
	int rc;

	if (c->audit_retention_days == 0)
		return ACCT_OK;
	rc = db_exec(&n, "DELETE FROM audit_logins WHERE at < ?1", "i",
	    now - (int64_t)c->audit_retention_days * 86400);
	if (rc == ACCT_OK)
		rc = db_exec(NULL, "DELETE FROM audit_events WHERE at < ?1",
		    "i", now - (int64_t)c->audit_retention_days * 86400);
	if (rc == ACCT_OK && n > 0)
		log_info("audit: purged %lld login records older than %u days",
		    (long long)n, c->audit_retention_days);
	return rc;
}

int
auditlog_add(const struct audit_login *e)
{
	char *user = sanitise(e->username), *realm = sanitise(e->realm);
	char *remote = sanitise(e->remote);
	int64_t now = now_unix();
	int rc = ACCT_ERR_NOMEM;

	if (user != NULL && realm != NULL && remote != NULL) {
		db_lock();
		rc = db_exec(NULL, "INSERT INTO audit_logins (at, peer_uid, "
		    "peer_pid, peer_comm, realm, remote_addr, username, "
		    "account_id, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		    "?8, ?9)", "iiissssss", now, (int64_t)e->peer->uid,
		    (int64_t)e->peer->pid, e->peer->comm, realm, remote, user,
		    e->account_id, e->status);
		db_unlock();
	}
	if (rc != ACCT_OK)
		log_err("audit: cannot record a login attempt");
	free(user);
	free(realm);
	free(remote);
	return rc;
}

/*
 * One row per (client, username, realm), newest first, like PhotoPrism's
 * report. The client is the remote address, or the local peer when the
 * caller gave none; the status is that of the group's latest attempt.
 */
#define LIST_SQL \
	"SELECT g.client, g.username, g.realm, a.status, g.last_ok, " \
	" g.last_fail, g.n FROM " \
	"(SELECT client, username, realm, max(id) AS last_id, " \
	"  max(CASE WHEN status = 'OK' THEN at END) AS last_ok, " \
	"  max(CASE WHEN status <> 'OK' THEN at END) AS last_fail, " \
	"  count(*) AS n FROM " \
	"  (SELECT CASE WHEN remote_addr <> '' THEN remote_addr " \
	"   ELSE 'uid ' || peer_uid || ' (' || peer_comm || ')' END AS client," \
	"   id, username, realm, status, at FROM audit_logins " \
	"   WHERE ?1 IS NULL OR lower(username) = lower(?1) OR account_id = " \
	"   (SELECT id FROM accounts WHERE username = lower(?1) AND " \
	"   deleted_at IS NULL)) " \
	" GROUP BY client, username, realm) AS g " \
	"JOIN audit_logins AS a ON a.id = g.last_id " \
	"ORDER BY g.last_id DESC LIMIT ?2"

static int
list_rows(sqlite3_stmt *st, struct proto_msg *tmp, uint32_t *n)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		msgpack_packer *pk = &tmp->pk;

		msgpack_pack_map(pk, 7);
		db_pack_text(pk, "client", st, 0);
		db_pack_text(pk, "username", st, 1);
		db_pack_text(pk, "realm", st, 2);
		db_pack_text(pk, "status", st, 3);
		db_pack_int(pk, "last_login", st, 4);
		db_pack_int(pk, "failed_at", st, 5);
		proto_pack_cstr(pk, "attempts");
		msgpack_pack_int64(pk, sqlite3_column_int64(st, 6));
		(*n)++;
	}
	return rc == SQLITE_DONE ? ACCT_OK : db_error(rc);
}

int
auditlog_list(const char *username, int64_t limit, struct proto_msg *res)
{
	struct proto_msg rows;
	sqlite3_stmt *st;
	uint32_t n = 0;
	int rc;

	/* Rows go to a scratch message first: the array needs its count. */
	proto_msg_init(&rows);
	db_lock();
	if ((rc = db_prepare(&st, LIST_SQL, "si", username, limit)) ==
	    ACCT_OK) {
		rc = list_rows(st, &rows, &n);
		sqlite3_finalize(st);
	}
	db_unlock();
	if (rc == ACCT_OK && rows.failed)
		rc = ACCT_ERR_NOMEM;
	if (rc == ACCT_OK) {
		msgpack_packer *pk = proto_kv_begin(res, "logins");
		msgpack_pack_array(pk, n);
		proto_msg_raw(res, rows.data, rows.len);
	}
	proto_msg_free(&rows);
	return rc;
}

int
auditlog_reset(int64_t *removed)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(removed, "DELETE FROM audit_logins", "");
		if (rc == ACCT_OK)
			rc = db_exec(NULL, "DELETE FROM audit_events", "");
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
		    "iisss", now_unix(), (int64_t)uid, event, s, d);
		db_unlock();
	}
	if (rc != ACCT_OK)
		log_err("audit: cannot record event %s", event);
	free(s);
	free(d);
}
