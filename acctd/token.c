/*
 * token.c: the tokens table: sessions, access tokens, app passwords and
 * OAuth2 client secrets. A token is "ID_SECRET": the id is public, the
 * 256-bit secret is shown once and stored only as its SHA-256, so
 * checking one costs a hash lookup, never Argon2.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>
#include <sha2.h>
#include <sqlite3.h>

#include "../common/log.h"
#include "../common/mem.h"
#include "acctd.h"

#define TOKEN_ID_BYTES		8
#define TOKEN_SECRET_BYTES	32
#define LAST_USED_GRANULE	300	/* seconds: bounds writes per token */

/* The kinds listed and shown; reset and activation tokens are internal. */
static const char *const public_types[] = {
	"session", "access_token", "app_password", "client", NULL
};

bool
token_type_public(const char *type)
{
	for (const char *const *t = public_types; *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

/* Types that stand for their account on their own (type NULL checks). */
static bool
bearer_type(const char *t)
{
	return strcmp(t, "session") == 0 || strcmp(t, "access_token") == 0 ||
	    strcmp(t, "app_password") == 0;
}

static void
secret_digest(const char *secret, char out[SHA256_DIGEST_STRING_LENGTH])
{
	SHA256Data((const uint8_t *)secret, strlen(secret), out);
}

/*
 * Split "ID_SECRET" in place checking the shape: 16 + 1 + 64 hex digits.
 * Returns false for anything else, without saying which part was wrong.
 */
static bool
split(char *token, char **id, char **secret)
{
	size_t n = strlen(token);

	if (n != 2 * TOKEN_ID_BYTES + 1 + 2 * TOKEN_SECRET_BYTES ||
	    token[2 * TOKEN_ID_BYTES] != '_')
		return false;
	for (size_t i = 0; i < n; i++)
		if (i != 2 * TOKEN_ID_BYTES &&
		    strchr("0123456789abcdef", token[i]) == NULL)
			return false;
	token[2 * TOKEN_ID_BYTES] = '\0';
	*id = token;
	*secret = token + 2 * TOKEN_ID_BYTES + 1;
	return true;
}

#define TCOLS "t.id, t.type, a.username, t.name, t.scope, t.created_at, " \
	"t.created_by_uid, t.expires_at, t.last_used_at, t.account_id, " \
	"t.secret_sha256"

/* The public view of a token row (TCOLS order): never the digest. */
static void
pack_row(msgpack_packer *pk, sqlite3_stmt *st)
{
	msgpack_pack_map(pk, 9);
	db_pack_text(pk, "id", st, 0);
	db_pack_text(pk, "type", st, 1);
	db_pack_text(pk, "username", st, 2);
	db_pack_text(pk, "name", st, 3);
	db_pack_text(pk, "scope", st, 4);
	db_pack_int(pk, "created_at", st, 5);
	db_pack_int(pk, "created_by_uid", st, 6);
	db_pack_int(pk, "expires_at", st, 7);
	db_pack_int(pk, "last_used_at", st, 8);
}

int
token_create(const struct token_spec *s, char out[TOKEN_STRING_LEN],
    struct proto_msg *res, const char *key)
{
	char id[2 * TOKEN_ID_BYTES + 1], secret[2 * TOKEN_SECRET_BYTES + 1];
	char digest[SHA256_DIGEST_STRING_LENGTH];
	sqlite3_stmt *st;
	int64_t now = now_unix();
	int rc;

	random_hex(id, TOKEN_ID_BYTES);
	random_hex(secret, TOKEN_SECRET_BYTES);
	secret_digest(secret, digest);
	snprintf(out, TOKEN_STRING_LEN, "%s_%s", id, secret);
	explicit_bzero(secret, sizeof(secret));
	db_lock();
	rc = db_exec(NULL, "INSERT INTO tokens (id, type, account_id, "
	    "secret_sha256, name, scope, created_at, created_by_uid, "
	    "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "nullif(?9, 0))", "ssssssiii", id, s->type, s->account_id, digest,
	    s->name, s->scope, now, (int64_t)s->created_by,
	    s->lifetime > 0 ? now + s->lifetime : 0);
	if (rc == ACCT_OK && res != NULL &&
	    (rc = db_prepare(&st, "SELECT " TCOLS " FROM tokens t LEFT JOIN "
	    "accounts a ON a.id = t.account_id WHERE t.id = ?1", "s", id)) ==
	    ACCT_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			pack_row(proto_kv_begin(res, key), st);
		else
			rc = ACCT_ERR_INTERNAL;
		sqlite3_finalize(st);
	}
	db_unlock();
	explicit_bzero(digest, sizeof(digest));
	if (rc != ACCT_OK)
		explicit_bzero(out, TOKEN_STRING_LEN);
	return rc;
}

/* Does a space-separated scope admit service? "*" admits all. */
bool
scope_allows(const char *scope, const char *service)
{
	size_t n = strlen(service);

	for (const char *p = scope; *p != '\0';) {
		size_t w;

		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if ((w == 1 && *p == '*') || (w == n && w > 0 &&
		    strncmp(p, service, n) == 0))
			return true;
		p += w;
	}
	return false;
}

static int
check_row(sqlite3_stmt *st, const char *secret, const char *type,
    const char *service, int64_t now)
{
	const char *t = (const char *)sqlite3_column_text(st, 1);
	const char *scope = (const char *)sqlite3_column_text(st, 4);
	const char *digest = (const char *)sqlite3_column_text(st, 10);
	char want[SHA256_DIGEST_STRING_LENGTH];
	bool ok;

	secret_digest(secret, want);
	ok = digest != NULL && strlen(digest) == strlen(want) &&
	    mem_equal_ct(digest, want, strlen(want));
	explicit_bzero(want, sizeof(want));
	if (!ok || t == NULL || scope == NULL)
		return ACCT_ERR_INVALID_TOKEN;
	if (type != NULL && strcmp(t, type) != 0)
		return ACCT_ERR_INVALID_TOKEN;
	if (sqlite3_column_type(st, 7) != SQLITE_NULL &&
	    sqlite3_column_int64(st, 7) <= now)
		return ACCT_ERR_INVALID_TOKEN;
	if (service != NULL && !scope_allows(scope, service))
		return ACCT_ERR_INVALID_TOKEN;
	return ACCT_OK;
}

/*
 * Check a token string. type: NULL for a session, access token or app
 * password, else the one type it must be. On success packs "token" into res (if given) and
 * copies the owner's account id (may be "" for a client) into owner.
 */
int
token_check(const char *token, const char *type, const char *service,
    char owner[33], struct proto_msg *res)
{
	char copy[TOKEN_STRING_LEN], *id, *secret;
	sqlite3_stmt *st;
	int64_t now = now_unix(), last = 0;
	int rc;

	owner[0] = '\0';
	if (strlcpy(copy, token, sizeof(copy)) >= sizeof(copy) ||
	    !split(copy, &id, &secret)) {
		explicit_bzero(copy, sizeof(copy));
		return ACCT_ERR_INVALID_TOKEN;
	}
	db_lock();
	rc = db_prepare_cached(&st, "SELECT " TCOLS " FROM tokens t LEFT JOIN "
	    "accounts a ON a.id = t.account_id WHERE t.id = ?1 AND "
	    "(t.account_id IS NULL OR (a.deleted_at IS NULL AND "
	    "a.login_allowed AND (a.activated OR t.type = 'activation')))",
	    "s", id);
	if (rc == ACCT_OK) {
		rc = sqlite3_step(st) == SQLITE_ROW ? check_row(st, secret,
		    type, service, now) : ACCT_ERR_INVALID_TOKEN;
		if (rc == ACCT_OK && type == NULL &&
		    !bearer_type((const char *)sqlite3_column_text(st, 1)))
			rc = ACCT_ERR_INVALID_TOKEN;
		if (rc == ACCT_OK) {
			const unsigned char *o = sqlite3_column_text(st, 9);
			strlcpy(owner, o ? (const char *)o : "", 33);
			last = sqlite3_column_int64(st, 8);
			if (res != NULL)
				pack_row(proto_kv_begin(res, "token"), st);
		}
		db_release(st);
	}
	/* At most one write per token per granule, not one per check. */
	if (rc == ACCT_OK && now - last >= LAST_USED_GRANULE)
		db_exec(NULL, "UPDATE tokens SET last_used_at = ?1 WHERE "
		    "id = ?2", "is", now, id);
	db_unlock();
	explicit_bzero(copy, sizeof(copy));
	return rc;
}

int
token_list(const char *account_id, const char *type, const char *search,
    int64_t limit, struct proto_msg *res)
{
	struct proto_msg rows;
	sqlite3_stmt *st;
	uint32_t n = 0;
	int rc;

	proto_msg_init(&rows);
	db_lock();
	rc = db_prepare(&st, "SELECT " TCOLS " FROM tokens t LEFT JOIN "
	    "accounts a ON a.id = t.account_id WHERE "
	    "(?1 IS NULL OR t.account_id = ?1) AND (?2 IS NULL OR "
	    "t.type = ?2) AND t.type IN ('session', 'access_token', "
	    "'app_password', 'client') AND (?3 IS NULL OR instr(t.id, ?3) OR "
	    "instr(coalesce(a.username, ''), ?3) OR instr(t.name, ?3)) "
	    "ORDER BY t.created_at DESC, t.id LIMIT ?4", "sssi", account_id,
	    type, search, limit);
	if (rc == ACCT_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			pack_row(&rows.pk, st);
			n++;
		}
		rc = rc == SQLITE_DONE ? ACCT_OK : db_error(rc);
		sqlite3_finalize(st);
	}
	db_unlock();
	if (rc == ACCT_OK && rows.failed)
		rc = ACCT_ERR_NOMEM;
	if (rc == ACCT_OK) {
		msgpack_pack_array(proto_kv_begin(res, "tokens"), n);
		proto_msg_raw(res, rows.data, rows.len);
	}
	proto_msg_free(&rows);
	return rc;
}

/* One token by id: owner's account id ("" for none), type, row as key. */
int
token_show(const char *id, char owner[33], char type[16],
    struct proto_msg *res, const char *key)
{
	sqlite3_stmt *st;
	int rc;

	owner[0] = type[0] = '\0';
	db_lock();
	if ((rc = db_prepare(&st, "SELECT " TCOLS " FROM tokens t LEFT JOIN "
	    "accounts a ON a.id = t.account_id WHERE t.id = ?1", "s", id)) ==
	    ACCT_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *o = sqlite3_column_text(st, 9);
			const unsigned char *t = sqlite3_column_text(st, 1);
			strlcpy(owner, o ? (const char *)o : "", 33);
			strlcpy(type, t ? (const char *)t : "", 16);
			if (res != NULL)
				pack_row(proto_kv_begin(res, key), st);
		} else
			rc = ACCT_ERR_NOT_FOUND;
		sqlite3_finalize(st);
	}
	db_unlock();
	return rc;
}

/* The id of a whole token string, if it is well formed ("" if not). */
void
token_id_of(const char *token, char id[TOKEN_ID_LEN])
{
	char copy[TOKEN_STRING_LEN], *i, *s;

	id[0] = '\0';
	if (strlcpy(copy, token, sizeof(copy)) < sizeof(copy) &&
	    split(copy, &i, &s))
		strlcpy(id, i, TOKEN_ID_LEN);
	explicit_bzero(copy, sizeof(copy));
}

int
token_delete(const char *id)
{
	int64_t n = 0;
	int rc;

	db_lock();
	rc = db_exec(&n, "DELETE FROM tokens WHERE id = ?1", "s", id);
	db_unlock();
	return rc == ACCT_OK && n == 0 ? ACCT_ERR_NOT_FOUND : rc;
}

/* End an account's tokens: all, or only those of one type. */
int
token_delete_account(const char *account_id, const char *type,
    int64_t *removed)
{
	int rc;

	db_lock();
	rc = db_exec(removed, "DELETE FROM tokens WHERE account_id = ?1 AND "
	    "(?2 IS NULL OR type = ?2)", "ss", account_id, type);
	db_unlock();
	return rc;
}

int
token_reset_all(int64_t *removed)
{
	int rc;

	db_lock();
	rc = db_exec(removed, "DELETE FROM tokens", "");
	db_unlock();
	return rc;
}

/* With db_lock() held, from the periodic purge. */
int
token_purge_expired(int64_t now, int64_t *removed)
{
	return db_exec(removed, "DELETE FROM tokens WHERE expires_at <= ?1",
	    "i", now);
}
