/*
 * account.c: the accounts table. Every function takes db_lock() itself
 * (those named _locked expect it held) and returns ACCT_OK or an
 * ACCT_ERR_* code. Writes name the columns they change, never the row.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "acctd.h"

#define COLUMNS	ACCOUNT_COLUMNS("")

void
account_free(struct account *a)
{
	free(a->username);
	free(a->name);
	free(a->email);
	free(a->role);
	free(a->upload_path);
	free(a->auth_provider);
	free(a->auth_id);
	if (a->hash != NULL)
		freezero(a->hash, strlen(a->hash));
	memset(a, 0, sizeof(*a));
}

static char *
col_text(const struct db_query *q, int i, bool *oom)
{
	const char *t = db_text(q, i);
	char *s;

	if (t == NULL)
		return NULL;
	if ((s = strdup(t)) == NULL)
		*oom = true;
	return s;
}

int
account_from_row(const struct db_query *q, int o, struct account *a)
{
	bool oom = false;
	const char *id = db_text(q, o);

	memset(a, 0, sizeof(*a));
	strlcpy(a->id, id ? id : "", sizeof(a->id));
	a->username = col_text(q, o + 1, &oom);
	a->name = col_text(q, o + 2, &oom);
	a->email = col_text(q, o + 3, &oom);
	a->role = col_text(q, o + 4, &oom);
	a->superadmin = db_int(q, o + 5) != 0;
	a->login = db_int(q, o + 6) != 0;
	a->webdav = db_int(q, o + 7) != 0;
	a->upload_path = col_text(q, o + 8, &oom);
	a->auth_provider = col_text(q, o + 9, &oom);
	a->auth_id = col_text(q, o + 10, &oom);
	a->two_factor = db_int(q, o + 11) != 0;
	a->hash = col_text(q, o + 12, &oom);
	a->activated = db_int(q, o + 13) != 0;
	a->failed_logins = db_int(q, o + 14);
	a->locked_until = db_int(q, o + 15);
	a->created_at = db_int(q, o + 16);
	a->updated_at = db_int(q, o + 17);
	a->last_login_at = db_int(q, o + 18);
	a->deleted_at = db_int(q, o + 19);
	a->expires_at = db_int(q, o + 20);
	a->password_changed_at = db_int(q, o + 21);
	a->max_age_days = db_null(q, o + 22) ? -1 : db_int(q, o + 22);
	a->must_change = db_int(q, o + 23) != 0;
	if (oom || a->username == NULL || a->name == NULL ||
	    a->role == NULL || a->upload_path == NULL ||
	    a->auth_provider == NULL || a->auth_id == NULL) {
		account_free(a);
		return ACCT_ERR_NOMEM;
	}
	return ACCT_OK;
}

static void
pack_str(msgpack_packer *pk, const char *key, const char *val)
{
	proto_pack_cstr(pk, key);
	if (val == NULL)
		msgpack_pack_nil(pk);
	else
		proto_pack_cstr(pk, val);
}

static void
pack_bool(msgpack_packer *pk, const char *key, bool val)
{
	proto_pack_cstr(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* Times are unix seconds; 0 in the row struct means "never" -> nil. */
static void
pack_time(msgpack_packer *pk, const char *key, int64_t t)
{
	proto_pack_cstr(pk, key);
	if (t == 0)
		msgpack_pack_nil(pk);
	else
		msgpack_pack_int64(pk, t);
}

enum account_bar
account_may_log_in(const struct account *a, int64_t now)
{
	if (a->deleted_at != 0)
		return ACCOUNT_DELETED;
	if (a->expires_at != 0 && now >= a->expires_at)
		return ACCOUNT_EXPIRED;
	if (!a->login)
		return ACCOUNT_DISABLED;
	if (!a->activated)
		return ACCOUNT_PENDING;
	return ACCOUNT_MAY;
}

/* One word for the account's state, the first that applies. */
static const char *
status(const struct account *a)
{
	static const char *const bar[] = { [ACCOUNT_MAY] = "active",
	    [ACCOUNT_DELETED] = "deleted", [ACCOUNT_EXPIRED] = "expired",
	    [ACCOUNT_DISABLED] = "disabled", [ACCOUNT_PENDING] = "pending" };
	int64_t now = now_unix();
	enum account_bar b = account_may_log_in(a, now);

	if (b == ACCOUNT_MAY && a->locked_until > now)
		return "locked";
	return bar[b];
}

/* The public view of an account: never the hash, only whether one is set. */
void
account_pack(msgpack_packer *pk, const struct account *a)
{
	msgpack_pack_map(pk, 26);
	pack_str(pk, "id", a->id);
	pack_str(pk, "username", a->username);
	pack_str(pk, "name", a->name);
	pack_str(pk, "email", a->email);
	pack_str(pk, "role", a->role);
	pack_bool(pk, "superadmin", a->superadmin);
	pack_bool(pk, "login", a->login);
	pack_bool(pk, "webdav", a->webdav);
	pack_str(pk, "upload_path", a->upload_path);
	pack_str(pk, "auth_provider", a->auth_provider);
	pack_str(pk, "auth_id", a->auth_id);
	pack_bool(pk, "two_factor", a->two_factor);
	pack_bool(pk, "has_password", a->hash != NULL);
	/* The scheme, never the hash: "argon2id", "bcrypt", ..., "none". */
	pack_str(pk, "password_scheme", hash_scheme(a->hash));
	pack_bool(pk, "activated", a->activated);
	proto_pack_cstr(pk, "failed_logins");
	msgpack_pack_int64(pk, a->failed_logins);
	pack_time(pk, "locked_until", a->locked_until);
	pack_time(pk, "created_at", a->created_at);
	pack_time(pk, "updated_at", a->updated_at);
	pack_time(pk, "last_login_at", a->last_login_at);
	pack_time(pk, "deleted_at", a->deleted_at);
	pack_time(pk, "expires_at", a->expires_at);
	pack_time(pk, "password_changed_at", a->password_changed_at);
	proto_pack_cstr(pk, "password_max_age_days");
	if (a->max_age_days < 0)
		msgpack_pack_nil(pk);	/* the config's */
	else
		msgpack_pack_int64(pk, a->max_age_days);
	pack_bool(pk, "must_change", a->must_change);
	pack_str(pk, "status", status(a));
}

/* One row by sql with one text parameter. */
static int
get_one(const char *sql, const char *key, struct account *a)
{
	struct db_query q;
	int rc;

	memset(a, 0, sizeof(*a));
	db_read();
	if ((rc = db_one(&q, sql, DB_ARGS(DB_TEXT(key)))) == ACCT_OK)
		rc = account_from_row(&q, 0, a);
	(void)db_done(&q);
	db_read_end();
	return rc;
}

int
account_dearest_hash(const struct config *c, char **hash, int64_t *over)
{
	struct db_query q;
	double best = 0, w;
	const char *h;
	int rc;

	*hash = NULL;
	*over = 0;
	db_read();
	if ((rc = db_query(&q, "SELECT password_hash FROM accounts WHERE "
	    "password_hash IS NOT NULL AND deleted_at IS NULL", DB_NOARGS)) ==
	    ACCT_OK)
		while (rc == ACCT_OK && db_next(&q)) {
			if ((h = db_text(&q, 0)) == NULL ||
			    !hash_needs_rehash(c, h))
				continue;
			if (!hash_supported(c, h))
				(*over)++;
			else if ((w = hash_work(h)) > best) {
				freezero(*hash, *hash ? strlen(*hash) : 0);
				if ((*hash = strdup(h)) == NULL)
					rc = ACCT_ERR_NOMEM;
				best = w;
			}
		}
	if (rc == ACCT_OK)
		rc = db_done(&q);
	else
		(void)db_done(&q);
	db_read_end();
	return rc;
}

int
account_get(const char *username, struct account *a)
{
	return get_one("SELECT " COLUMNS " FROM accounts "
	    "WHERE username = ?1 AND deleted_at IS NULL", username, a);
}

int
account_find(const char *name, struct account *a)
{
	int rc = account_get(name, a);

	if (rc == ACCT_ERR_NOT_FOUND && strchr(name, '@') != NULL)
		rc = get_one("SELECT " COLUMNS " FROM accounts "
		    "WHERE email = lower(?1) AND deleted_at IS NULL", name, a);
	return rc;
}

int
account_get_id(const char *id, struct account *a)
{
	return get_one("SELECT " COLUMNS " FROM accounts "
	    "WHERE id = ?1 AND deleted_at IS NULL", id, a);
}

int
account_get_email(const char *email, struct account *a)
{
	return get_one("SELECT " COLUMNS " FROM accounts "
	    "WHERE email = ?1 AND deleted_at IS NULL", email, a);
}

int
account_activate(const char *id)
{
	int64_t n = 0;
	int rc;

	db_lock();
	rc = db_exec(&n, "UPDATE accounts SET activated = 1, updated_at = ?1 "
	    "WHERE id = ?2 AND deleted_at IS NULL",
	    DB_ARGS(DB_INT(now_unix()), DB_TEXT(id)));
	db_unlock();
	return rc == ACCT_OK && n != 1 ? ACCT_ERR_NOT_FOUND : rc;
}

/* A time column: 0 is stored as NULL. */
static struct db_arg
db_time(int64_t t)
{
	return t == 0 ? DB_NULL : DB_INT(t);
}

int
account_insert_locked(struct account *a)
{
	random_hex(a->id, 16);
	a->created_at = a->updated_at = now_unix();
	return db_exec(NULL, "INSERT INTO accounts (" COLUMNS ") VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
	    "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
	    DB_ARGS(DB_TEXT(a->id),
	    DB_TEXT(a->username), DB_TEXT(a->name), DB_TEXT(a->email),
	    DB_TEXT(a->role), DB_INT(a->superadmin), DB_INT(a->login),
	    DB_INT(a->webdav), DB_TEXT(a->upload_path),
	    DB_TEXT(a->auth_provider), DB_TEXT(a->auth_id),
	    DB_INT(a->two_factor), DB_TEXT(a->hash), DB_INT(a->activated),
	    DB_INT(a->failed_logins), db_time(a->locked_until),
	    DB_INT(a->created_at), DB_INT(a->updated_at),
	    db_time(a->last_login_at), db_time(a->deleted_at),
	    db_time(a->expires_at), db_time(a->hash != NULL &&
	    a->password_changed_at == 0 ? a->created_at :
	    a->password_changed_at), a->max_age_days < 0 ? DB_NULL :
	    DB_INT(a->max_age_days), DB_INT(a->must_change)));
}

/* fn inside one write transaction: all of it lands, or none (and none
 * when not commit: a dry run). */
int
account_batch(int (*fn)(void *), void *arg, bool commit)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		if ((rc = fn(arg)) == ACCT_OK && !commit)
			db_rollback();
		else
			rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

int
account_insert(struct account *a)
{
	int rc;

	db_lock();
	rc = account_insert_locked(a);
	db_unlock();
	return rc;
}

/*
 * What a password change ends, in the transaction that writes it:
 * sessions opened with the old password, and the reset and activation
 * links mailed before, which would set it again.
 */
static int
password_changed_locked(const char *id)
{
	static const enum token_type ended[] = { TOKEN_SESSION, TOKEN_RESET,
	    TOKEN_ACTIVATION };
	int rc = ACCT_OK;

	for (size_t i = 0; rc == ACCT_OK && i < 3; i++)
		rc = token_delete_account_locked(id, ended[i], NULL);
	return rc;
}

/*
 * The columns a change names, and only those; "CASE WHEN ?k" leaves a
 * column as it is in the row when the change does not name it.
 */
#define CHANGE_SQL "UPDATE accounts SET " \
	"display_name = CASE WHEN ?2 THEN ?3 ELSE display_name END, " \
	"email = CASE WHEN ?4 THEN ?5 ELSE email END, " \
	"role = CASE WHEN ?6 THEN ?7 ELSE role END, " \
	"super_admin = CASE WHEN ?8 THEN ?9 ELSE super_admin END, " \
	"login_allowed = CASE WHEN ?10 THEN ?11 ELSE login_allowed END, " \
	"webdav = CASE WHEN ?12 THEN ?13 ELSE webdav END, " \
	"upload_path = CASE WHEN ?14 THEN ?15 ELSE upload_path END, " \
	"auth_provider = CASE WHEN ?16 THEN ?17 ELSE auth_provider END, " \
	"auth_id = CASE WHEN ?18 THEN ?19 ELSE auth_id END, " \
	"password_hash = CASE WHEN ?20 THEN ?21 ELSE password_hash END, " \
	"password_changed_at = CASE WHEN ?20 THEN ?27 ELSE " \
	" password_changed_at END, " \
	"must_change = CASE WHEN ?29 THEN ?30 WHEN ?20 THEN 0 ELSE " \
	" must_change END, " \
	"expires_at = CASE WHEN ?31 THEN nullif(?32, 0) ELSE expires_at END, " \
	"password_max_age_days = CASE WHEN ?33 THEN ?34 ELSE " \
	" password_max_age_days END, " \
	"activated = CASE WHEN ?22 THEN ?23 ELSE activated END, " \
	"failed_logins = CASE WHEN ?24 THEN 0 ELSE failed_logins END, " \
	"locked_until = CASE WHEN ?24 THEN NULL ELSE locked_until END, " \
	"totp_enabled = CASE WHEN ?25 THEN 0 ELSE totp_enabled END, " \
	"totp_secret = CASE WHEN ?25 THEN NULL ELSE totp_secret END, " \
	"totp_pending = CASE WHEN ?25 THEN NULL ELSE totp_pending END, " \
	"totp_last_step = CASE WHEN ?25 THEN 0 ELSE totp_last_step END, " \
	"deleted_at = CASE WHEN ?26 THEN NULL ELSE deleted_at END, " \
	"updated_at = ?27 WHERE id = ?1 AND CASE WHEN ?26 " \
	"THEN deleted_at = ?28 ELSE deleted_at IS NULL END"

/*
 * An account that may not log in (logins off, or its end date past) has
 * no tokens: what earlier logins opened ends with them, as on delete.
 * Asked before a change of either (an account that was disabled or
 * expired comes back without its old sessions) and after it.
 */
static int
logins_ended_locked(const char *id)
{
	return db_exec(NULL, "DELETE FROM tokens WHERE account_id = ?1 AND "
	    "EXISTS (SELECT 1 FROM accounts WHERE id = ?1 AND NOT "
	    ACCOUNT_OPEN_SQL("", "?2") ")",
	    DB_ARGS(DB_TEXT(id), DB_INT(now_unix())));
}

static int
change_locked(const char *id, const struct account_change *c,
    bool restore, int64_t deleted_at)
{
	unsigned s = c->set;
	int64_t n = 0;
	int rc;

#define ON(bit)	DB_INT((s & (bit)) != 0)
	const struct db_arg args[] = {
		DB_TEXT(id),
		ON(AC_NAME), DB_TEXT(c->name),
		ON(AC_EMAIL), DB_TEXT(c->email),
		ON(AC_ROLE), DB_TEXT(c->role),
		ON(AC_SUPERADMIN), DB_INT(c->superadmin),
		ON(AC_LOGIN), DB_INT(c->login),
		ON(AC_WEBDAV), DB_INT(c->webdav),
		ON(AC_UPLOAD_PATH), DB_TEXT(c->upload_path),
		ON(AC_AUTH_PROVIDER), DB_TEXT(c->auth_provider),
		ON(AC_AUTH_ID), DB_TEXT(c->auth_id),
		ON(AC_HASH), DB_TEXT(c->hash),
		ON(AC_ACTIVATED), DB_INT(c->activated),
		ON(AC_UNLOCK),
		ON(AC_NO2FA),
		DB_INT(restore),
		DB_INT(now_unix()),
		DB_INT(deleted_at),
		ON(AC_MUST_CHANGE), DB_INT(c->must_change),
		ON(AC_EXPIRES), DB_INT(c->expires_at),
		ON(AC_MAX_AGE), c->max_age_days < 0 ? DB_NULL :
		    DB_INT(c->max_age_days),
	};
#undef ON

	if ((s & (AC_LOGIN | AC_EXPIRES)) &&
	    (rc = logins_ended_locked(id)) != ACCT_OK)
		return rc;
	/* A restore claims the deleted row it read; a change needs a live
	 * one: a row deleted meanwhile is not brought back. */
	rc = db_exec(&n, CHANGE_SQL, args, sizeof(args) / sizeof(args[0]));
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_NOT_FOUND;
	if (rc == ACCT_OK && (s & AC_NO2FA))
		rc = db_exec(NULL, "DELETE FROM recovery_codes WHERE "
		    "account_id = ?1", DB_ARGS(DB_TEXT(id)));
	if (rc == ACCT_OK && (s & AC_HASH))
		rc = password_changed_locked(id);
	if (rc == ACCT_OK && (s & (AC_LOGIN | AC_EXPIRES)))
		rc = logins_ended_locked(id);
	return rc;
}

static int
change(const char *id, const struct account_change *c, bool restore,
    int64_t deleted_at)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK)
		rc = db_end(change_locked(id, c, restore, deleted_at));
	db_unlock();
	return rc;
}

int
account_change(const char *id, const struct account_change *c)
{
	return change(id, c, false, 0);
}

int
account_restore(const char *id, int64_t deleted_at,
    const struct account_change *c)
{
	return change(id, c, true, deleted_at);
}

/*
 * Replace the hash only if it is still the one the caller verified
 * against (old_hash, NULL for none): a concurrent change wins. change:
 * a new password (its age starts, must_change ends), not a re-hash.
 */
static int
set_hash_locked(const char *id, bool check_old, const char *old_hash,
    const char *new_hash, bool change)
{
	int64_t n = 0;
	int rc;

	rc = db_exec(&n, "UPDATE accounts SET password_hash = ?1, "
	    "updated_at = ?2, password_changed_at = CASE WHEN ?6 THEN ?2 "
	    "ELSE password_changed_at END, must_change = CASE WHEN ?6 THEN 0 "
	    "ELSE must_change END WHERE id = ?3 AND deleted_at IS NULL AND "
	    "(?4 = 0 OR password_hash IS ?5)", DB_ARGS(DB_TEXT(new_hash),
	    DB_INT(now_unix()), DB_TEXT(id), DB_INT(check_old),
	    DB_TEXT(old_hash), DB_INT(change)));
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_BUSY;
	return rc;
}

int
account_set_password(const char *id, bool check_old, const char *old_hash,
    const char *new_hash)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = set_hash_locked(id, check_old, old_hash, new_hash, true);
		if (rc == ACCT_OK)
			rc = password_changed_locked(id);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

int
account_rehash(const char *id, const char *old_hash, const char *new_hash)
{
	int rc;

	db_lock();
	rc = set_hash_locked(id, true, old_hash, new_hash, false);
	db_unlock();
	return rc;
}

/* Soft delete; a deleted account keeps no way in: its tokens go. */
int
account_delete(const char *id, int64_t *tokens)
{
	int64_t n = 0, now = now_unix();
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(&n, "UPDATE accounts SET deleted_at = ?1, "
		    "updated_at = ?1 WHERE id = ?2 AND deleted_at IS NULL",
		    DB_ARGS(DB_INT(now), DB_TEXT(id)));
		if (rc == ACCT_OK && n != 1)
			rc = ACCT_ERR_NOT_FOUND;
		if (rc == ACCT_OK)
			rc = token_delete_account_locked(id, TOKEN_ALL, tokens);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

int
account_deleted(const char *username, struct deleted_account *out,
    int max, int *n)
{
	struct db_query q;
	int rc;

	*n = 0;
	db_read();
	if (db_query(&q, "SELECT id, deleted_at FROM accounts WHERE "
	    "username = ?1 AND deleted_at IS NOT NULL ORDER BY deleted_at "
	    "DESC", DB_ARGS(DB_TEXT(username))) == ACCT_OK)
		while (db_next(&q)) {
			if (*n < max) {
				strlcpy(out[*n].id, db_text(&q, 0),
				    sizeof(out[*n].id));
				out[*n].deleted_at = db_int(&q, 1);
			}
			(*n)++;
		}
	rc = db_done(&q);
	db_read_end();
	return rc;
}

int
account_get_any_id(const char *id, struct account *a)
{
	return get_one("SELECT " COLUMNS " FROM accounts WHERE id = ?1", id,
	    a);
}

/*
 * Erase the row and what hangs on it (tokens and recovery codes go by
 * their foreign keys); audit records keep the username, but the email
 * address is taken out of them. Then the log is folded in, so that the
 * hash and the address are in neither file (secure_delete zeroes the
 * freed pages).
 */
static int
purge_locked(const char *id)
{
	struct db_query q;
	char key[48], *email = NULL, *name = NULL;
	int rc;

	if ((rc = db_one(&q, "SELECT username, email FROM accounts WHERE "
	    "id = ?1", DB_ARGS(DB_TEXT(id)))) == ACCT_OK) {
		name = strdup(db_text(&q, 0));
		email = db_null(&q, 1) ? NULL : strdup(db_text(&q, 1));
		if (name == NULL || (!db_null(&q, 1) && email == NULL))
			rc = ACCT_ERR_NOMEM;
	}
	(void)db_done(&q);
	snprintf(key, sizeof(key), "account:%s", id);
	if (rc == ACCT_OK)
		rc = db_exec(NULL, "DELETE FROM accounts WHERE id = ?1",
		    DB_ARGS(DB_TEXT(id)));
	if (rc == ACCT_OK)
		rc = db_exec(NULL, "DELETE FROM mail_limits WHERE key = ?1",
		    DB_ARGS(DB_TEXT(key)));
	if (rc == ACCT_OK && email != NULL)
		rc = db_exec(NULL, "UPDATE audit_events SET subject = CASE "
		    "WHEN subject = ?1 THEN ?2 ELSE subject END, detail = CASE "
		    "WHEN detail = ?1 THEN '' ELSE detail END WHERE subject = ?1 "
		    "OR detail = ?1", DB_ARGS(DB_TEXT(email), DB_TEXT(name)));
	free(name);
	free(email);
	return rc;
}

int
account_purge(const char *id)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK)
		rc = db_end(purge_locked(id));
	if (rc == ACCT_OK)
		(void)db_checkpoint_locked();
	db_unlock();
	return rc;
}

int
account_purge_deleted_locked(int64_t before, int64_t *n)
{
	char ids[64][33];
	struct db_query q;
	int rc, k;

	*n = 0;
	/* In batches: the query ends before the rows go. */
	do {
		k = 0;
		if (db_query(&q, "SELECT id FROM accounts WHERE deleted_at < ?1 "
		    "LIMIT 64", DB_ARGS(DB_INT(before))) == ACCT_OK)
			while (db_next(&q))
				strlcpy(ids[k++], db_text(&q, 0), 33);
		if ((rc = db_done(&q)) != ACCT_OK || k == 0)
			break;
		if ((rc = db_begin()) != ACCT_OK)
			break;
		for (int i = 0; rc == ACCT_OK && i < k; i++)
			rc = purge_locked(ids[i]);
		if ((rc = db_end(rc)) == ACCT_OK)
			*n += k;
	} while (rc == ACCT_OK && k == 64);
	if (*n > 0)
		(void)db_checkpoint_locked();
	return rc;
}

int
account_reset_all(int64_t *removed)
{
	int rc;

	db_lock();
	rc = db_exec(removed, "DELETE FROM accounts", DB_NOARGS);
	db_unlock();
	return rc;
}

int
account_count_locked(int64_t now, int64_t *n)
{
	struct db_query q;
	int rc;

	db_read();
	if ((rc = db_one(&q, "SELECT count(*) FROM accounts WHERE "
	    "deleted_at IS NULL AND locked_until > ?1",
	    DB_ARGS(DB_INT(now)))) == ACCT_OK)
		*n = db_int(&q, 0);
	(void)db_done(&q);
	db_read_end();
	return rc;
}

/* LIKE pattern matching s anywhere, with % _ \ taken literally. */
static char *
like_pattern(const char *s)
{
	size_t n = strlen(s);
	char *p = malloc(2 * n + 3), *o = p;

	if (p == NULL)
		return NULL;
	*o++ = '%';
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

/*
 * ?2, when given, keeps only hashes not starting with it: legacy ones.
 * ?3 a filter (account_list()), ?4 now.
 */
#define LIST_WHERE " FROM accounts WHERE CASE WHEN ?3 IS 'deleted' THEN " \
	"deleted_at IS NOT NULL ELSE deleted_at IS NULL END AND " \
	"(username LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\' " \
	"OR email LIKE ?1 ESCAPE '\\') AND (?2 IS NULL OR " \
	"(password_hash IS NOT NULL AND " \
	"substr(password_hash, 1, length(?2)) <> ?2)) AND (?3 IS NULL OR " \
	"?3 = 'deleted' OR (?3 = 'locked' AND locked_until > ?4) OR " \
	"(?3 = 'pending' AND activated = 0) OR " \
	"(?3 = 'disabled' AND login_allowed = 0))"

static int
list_read(const char *pat, const char *current, const char *filter,
    int64_t limit, int64_t offset, int64_t *total, struct proto_msg *res)
{
	struct db_query q;
	msgpack_packer *pk;
	int64_t n, now = now_unix();
	int rc;

	if ((rc = db_one(&q, "SELECT count(*)" LIST_WHERE,
	    DB_ARGS(DB_TEXT(pat), DB_TEXT(current), DB_TEXT(filter),
	    DB_INT(now)))) == ACCT_OK)
		*total = db_int(&q, 0);
	(void)db_done(&q);
	if (rc != ACCT_OK)
		return rc;
	n = *total - offset < 0 ? 0 : *total - offset;
	if (n > limit)
		n = limit;
	pk = proto_kv_begin(res, "users");
	msgpack_pack_array(pk, (size_t)n);
	if (db_query(&q, "SELECT " COLUMNS LIST_WHERE " ORDER BY username, "
	    "deleted_at LIMIT ?5 OFFSET ?6", DB_ARGS(DB_TEXT(pat),
	    DB_TEXT(current), DB_TEXT(filter), DB_INT(now), DB_INT(n),
	    DB_INT(offset))) != ACCT_OK)
		return db_done(&q);
	/* The count and the rows are read in one transaction: n matches. */
	for (int64_t i = 0; i < n; i++) {
		struct account a;

		if (!db_next(&q)) {
			rc = db_done(&q);
			return rc != ACCT_OK ? rc : ACCT_ERR_INTERNAL;
		}
		if ((rc = account_from_row(&q, 0, &a)) != ACCT_OK) {
			(void)db_done(&q);
			return rc;
		}
		account_pack(pk, &a);
		account_free(&a);
	}
	return db_done(&q);
}

int
account_list(const char *search, const char *current, const char *filter,
    int64_t limit, int64_t offset, struct proto_msg *res)
{
	char *pat = like_pattern(search ? search : "");
	int64_t total = 0;
	int rc;

	if (pat == NULL)
		return ACCT_ERR_NOMEM;
	db_read();
	if ((rc = db_begin_read()) == ACCT_OK)
		rc = db_end(list_read(pat, current, filter, limit, offset,
		    &total, res));
	db_read_end();
	free(pat);
	if (rc == ACCT_OK)
		proto_kv_int(res, "total", total);
	return rc;
}
