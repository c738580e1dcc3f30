/*
 * account.c: the accounts table. Every function takes db_lock() itself
 * and returns ACCT_OK or an ACCT_ERR_* code.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <sqlite3.h>

#include "acctd.h"

#define COLUMNS	"id, username, display_name, email, role, super_admin, " \
	"login_allowed, webdav, upload_path, auth_provider, auth_id, " \
	"totp_enabled, password_hash, activated, failed_logins, " \
	"locked_until, created_at, updated_at, last_login_at, deleted_at"

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
col_text(sqlite3_stmt *st, int i, bool *oom)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	char *s;

	if (t == NULL)
		return NULL;
	if ((s = strdup((const char *)t)) == NULL)
		*oom = true;
	return s;
}

static int
from_row(sqlite3_stmt *st, struct account *a)
{
	bool oom = false;
	const unsigned char *id = sqlite3_column_text(st, 0);

	memset(a, 0, sizeof(*a));
	strlcpy(a->id, id ? (const char *)id : "", sizeof(a->id));
	a->username = col_text(st, 1, &oom);
	a->name = col_text(st, 2, &oom);
	a->email = col_text(st, 3, &oom);
	a->role = col_text(st, 4, &oom);
	a->superadmin = sqlite3_column_int(st, 5) != 0;
	a->login = sqlite3_column_int(st, 6) != 0;
	a->webdav = sqlite3_column_int(st, 7) != 0;
	a->upload_path = col_text(st, 8, &oom);
	a->auth_provider = col_text(st, 9, &oom);
	a->auth_id = col_text(st, 10, &oom);
	a->two_factor = sqlite3_column_int(st, 11) != 0;
	a->hash = col_text(st, 12, &oom);
	a->activated = sqlite3_column_int(st, 13) != 0;
	a->failed_logins = sqlite3_column_int64(st, 14);
	a->locked_until = sqlite3_column_int64(st, 15);
	a->created_at = sqlite3_column_int64(st, 16);
	a->updated_at = sqlite3_column_int64(st, 17);
	a->last_login_at = sqlite3_column_int64(st, 18);
	a->deleted_at = sqlite3_column_int64(st, 19);
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

/* The public view of an account: never the hash, only whether one is set. */
void
account_pack(msgpack_packer *pk, const struct account *a)
{
	msgpack_pack_map(pk, 21);
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
}

static int exec_changes(const char *, const char *, const char *,
    const char *, int64_t, int64_t *);

static int
get_one(const char *sql, const char *username, struct account *a)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	db_lock();
	if ((rc = db_prepare_cached(&st, sql, "s", username)) != ACCT_OK) {
		db_unlock();
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = from_row(st, a);
	else if (rc == SQLITE_DONE)
		rc = ACCT_ERR_NOT_FOUND;
	else
		rc = db_error(rc);
	db_release(st);
	db_unlock();
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

	rc = exec_changes("UPDATE accounts SET activated = 1, updated_at = ?4 "
	    "WHERE id = ?1 AND deleted_at IS NULL", id, NULL, NULL,
	    now_unix(), &n);
	return rc == ACCT_OK && n != 1 ? ACCT_ERR_NOT_FOUND : rc;
}

int
account_get_deleted(const char *username, struct account *a)
{
	return get_one("SELECT " COLUMNS " FROM accounts "
	    "WHERE username = ?1 AND deleted_at IS NOT NULL "
	    "ORDER BY deleted_at DESC LIMIT 1", username, a);
}

static void
bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	if (t == 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, t);
}

/* Bind every column in COLUMNS order, 1-based. */
static int
bind_all(sqlite3_stmt *st, const struct account *a)
{
	int rc = SQLITE_OK;

#define B(x) do { if (rc == SQLITE_OK) rc = (x); } while (0)
	B(sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 2, a->username, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 3, a->name, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 4, a->email, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 5, a->role, -1, SQLITE_STATIC));
	B(sqlite3_bind_int(st, 6, a->superadmin));
	B(sqlite3_bind_int(st, 7, a->login));
	B(sqlite3_bind_int(st, 8, a->webdav));
	B(sqlite3_bind_text(st, 9, a->upload_path, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 10, a->auth_provider, -1, SQLITE_STATIC));
	B(sqlite3_bind_text(st, 11, a->auth_id, -1, SQLITE_STATIC));
	B(sqlite3_bind_int(st, 12, a->two_factor));
	B(sqlite3_bind_text(st, 13, a->hash, -1, SQLITE_STATIC));
	B(sqlite3_bind_int(st, 14, a->activated));
	B(sqlite3_bind_int64(st, 15, a->failed_logins));
	if (rc == SQLITE_OK) {
		bind_time(st, 16, a->locked_until);
		B(sqlite3_bind_int64(st, 17, a->created_at));
		B(sqlite3_bind_int64(st, 18, a->updated_at));
		bind_time(st, 19, a->last_login_at);
		bind_time(st, 20, a->deleted_at);
	}
#undef B
	return rc;
}

/* With db_lock() held. */
static int
write_row_locked(const char *sql, const struct account *a)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db_handle(), sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = bind_all(st, a);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		rc = sqlite3_changes(db_handle()) == 1 ? ACCT_OK :
		    ACCT_ERR_NOT_FOUND;
	else
		rc = db_error(rc);
	sqlite3_finalize(st);
	return rc;
}

static int
write_row(const char *sql, const struct account *a)
{
	int rc;

	db_lock();
	rc = write_row_locked(sql, a);
	db_unlock();
	return rc;
}

#define INSERT_SQL "INSERT INTO accounts (" COLUMNS ") VALUES (?1, ?2, " \
	"?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, " \
	"?18, ?19, ?20)"

int
account_insert(struct account *a)
{
	random_hex(a->id, 16);
	a->created_at = a->updated_at = now_unix();
	return write_row(INSERT_SQL, a);
}

/* The same inside a caller's transaction (db_lock() held). */
int
account_insert_locked(struct account *a)
{
	random_hex(a->id, 16);
	a->created_at = a->updated_at = now_unix();
	return write_row_locked(INSERT_SQL, a);
}

/*
 * Write the properties an admin edits, and of the rest only what what
 * names, in one transaction: a login's failure count, a password change
 * or a 2FA confirmation that lands meanwhile is not overwritten.
 */
int
account_update(const struct account *a, unsigned what)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) != ACCT_OK) {
		db_unlock();
		return rc;
	}
	rc = write_row_locked("UPDATE accounts SET username = ?2, "
	    "display_name = ?3, email = ?4, role = ?5, super_admin = ?6, "
	    "login_allowed = ?7, webdav = ?8, upload_path = ?9, "
	    "auth_provider = ?10, auth_id = ?11, updated_at = ?18, "
	    "deleted_at = ?20 WHERE id = ?1", a);
	if (rc == ACCT_OK && (what & UPD_HASH))
		rc = db_exec(NULL, "UPDATE accounts SET password_hash = ?1 "
		    "WHERE id = ?2", "ss", a->hash, a->id);
	if (rc == ACCT_OK && (what & UPD_ACTIVATED))
		rc = db_exec(NULL, "UPDATE accounts SET activated = ?1 WHERE "
		    "id = ?2", "is", (int64_t)a->activated, a->id);
	if (rc == ACCT_OK && (what & UPD_UNLOCK))
		rc = db_exec(NULL, "UPDATE accounts SET failed_logins = 0, "
		    "locked_until = NULL WHERE id = ?1", "s", a->id);
	if (rc == ACCT_OK && (what & UPD_NO2FA))
		rc = db_exec(NULL, "UPDATE accounts SET totp_enabled = 0, "
		    "totp_secret = NULL, totp_pending = NULL, "
		    "totp_last_step = 0 WHERE id = ?1", "s", a->id);
	if (rc == ACCT_OK && (what & UPD_NO2FA))
		rc = db_exec(NULL, "DELETE FROM recovery_codes WHERE "
		    "account_id = ?1", "s", a->id);
	rc = db_end(rc);
	db_unlock();
	return rc;
}

static int
exec_changes(const char *sql, const char *a1, const char *a2,
    const char *a3, int64_t t, int64_t *changes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	db_lock();
	rc = sqlite3_prepare_v2(db_handle(), sql, -1, &st, NULL);
	if (rc == SQLITE_OK && a1 != NULL)
		rc = sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && a2 != NULL)
		rc = sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && a3 != NULL)
		rc = sqlite3_bind_text(st, 3, a3, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && t != 0)
		rc = sqlite3_bind_int64(st, 4, t);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*changes = sqlite3_changes(db_handle());
		rc = ACCT_OK;
	} else
		rc = db_error(rc);
	sqlite3_finalize(st);
	db_unlock();
	return rc;
}

/*
 * Replace the hash only if it is still the one the caller verified
 * against (old_hash, NULL for none): a concurrent change wins.
 */
int
account_set_hash(const char *id, const char *old_hash, const char *new_hash)
{
	int64_t n = 0;
	int rc;

	rc = exec_changes("UPDATE accounts SET password_hash = ?2, "
	    "updated_at = ?4 WHERE id = ?1 AND deleted_at IS NULL AND "
	    "password_hash IS ?3", id, new_hash ? new_hash : NULL,
	    old_hash ? old_hash : NULL, now_unix(), &n);
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_BUSY;
	return rc;
}

int
account_delete(const char *id)
{
	int64_t n = 0;
	int rc;

	rc = exec_changes("UPDATE accounts SET deleted_at = ?4, "
	    "updated_at = ?4 WHERE id = ?1 AND deleted_at IS NULL",
	    id, NULL, NULL, now_unix(), &n);
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_NOT_FOUND;
	return rc;
}

int
account_reset_all(int64_t *removed)
{
	return exec_changes("DELETE FROM accounts", NULL, NULL, NULL, 0,
	    removed);
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

/* ?4, when given, keeps only hashes not starting with it: legacy ones. */
#define LIST_WHERE " FROM accounts WHERE deleted_at IS NULL AND " \
	"(username LIKE ?1 ESCAPE '\\' OR display_name LIKE ?1 ESCAPE '\\' " \
	"OR email LIKE ?1 ESCAPE '\\') AND (?4 IS NULL OR " \
	"(password_hash IS NOT NULL AND " \
	"substr(password_hash, 1, length(?4)) <> ?4))"

static int
list_count(const char *pat, const char *current, int64_t *total)
{
	sqlite3_stmt *st;
	int rc;

	/* ?2 and ?3 (limit, offset) are not used here: bound as NULL. */
	if ((rc = db_prepare(&st, "SELECT count(*)" LIST_WHERE, "ssss", pat,
	    NULL, NULL, current)) != ACCT_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*total = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return db_error(rc);
}

static int
list_rows(const char *pat, const char *current, int64_t limit,
    int64_t offset, int64_t total, struct proto_msg *res)
{
	sqlite3_stmt *st = NULL;
	msgpack_packer *pk;
	int64_t n = total - offset;
	int rc;

	if (n < 0)
		n = 0;
	if (n > limit)
		n = limit;
	pk = proto_kv_begin(res, "users");
	msgpack_pack_array(pk, (size_t)n);
	rc = sqlite3_prepare_v2(db_handle(), "SELECT " COLUMNS LIST_WHERE
	    " ORDER BY username LIMIT ?2 OFFSET ?3", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, pat, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, offset);
	if (rc == SQLITE_OK)
		rc = current ? sqlite3_bind_text(st, 4, current, -1,
		    SQLITE_STATIC) : sqlite3_bind_null(st, 4);
	/* The count and the rows are read in one transaction: n matches. */
	for (int64_t i = 0; rc == SQLITE_OK && i < n; i++) {
		struct account a;

		if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
			if (rc == SQLITE_DONE)	/* fewer rows than counted */
				rc = SQLITE_INTERNAL;
			break;
		}
		if ((rc = from_row(st, &a)) != ACCT_OK) {
			sqlite3_finalize(st);
			return rc;
		}
		account_pack(pk, &a);
		account_free(&a);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return db_error(rc);
}

int
account_list(const char *search, const char *current, int64_t limit,
    int64_t offset, struct proto_msg *res)
{
	char *pat = like_pattern(search ? search : "");
	int64_t total = 0;
	int rc;

	if (pat == NULL)
		return ACCT_ERR_NOMEM;
	db_lock();
	rc = db_error(sqlite3_exec(db_handle(), "BEGIN", NULL, NULL, NULL));
	if (rc == ACCT_OK)
		rc = list_count(pat, current, &total);
	if (rc == ACCT_OK)
		rc = list_rows(pat, current, limit, offset, total, res);
	sqlite3_exec(db_handle(), "COMMIT", NULL, NULL, NULL);
	db_unlock();
	free(pat);
	if (rc == ACCT_OK)
		proto_kv_int(res, "total", total);
	return rc;
}
