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

#include "../common/log.h"
#include "../common/mem.h"
#include "acctd.h"

#define TOKEN_ID_BYTES		8
#define TOKEN_SECRET_BYTES	32
#define LAST_USED_GRANULE	300	/* seconds: bounds writes per token */

const char *const token_type_names[TOKEN__COUNT] = {
	[TOKEN_SESSION]		= "session",
	[TOKEN_ACCESS]		= "access_token",
	[TOKEN_APP_PASSWORD]	= "app_password",
	[TOKEN_CLIENT]		= "client",
	[TOKEN_RESET]		= "reset",
	[TOKEN_ACTIVATION]	= "activation",
};

int
token_type_parse(const char *s)
{
	for (int t = 0; s != NULL && t < TOKEN__COUNT; t++)
		if (strcmp(s, token_type_names[t]) == 0)
			return t;
	return -1;
}

/* The stored name of a kind; NULL for TOKEN_ALL and TOKEN_BEARER, which
 * the queries read as "any". */
static const char *
type_name(enum token_type t)
{
	return t < TOKEN__COUNT ? token_type_names[t] : NULL;
}

bool
token_type_public(enum token_type t)
{
	return t == TOKEN_SESSION || t == TOKEN_ACCESS ||
	    t == TOKEN_APP_PASSWORD || t == TOKEN_CLIENT;
}

/* Kinds that stand for their account on their own. */
static bool
bearer_type(const char *name)
{
	int t = token_type_parse(name);

	return t == TOKEN_SESSION || t == TOKEN_ACCESS ||
	    t == TOKEN_APP_PASSWORD;
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
pack_row(msgpack_packer *pk, const struct db_query *q)
{
	msgpack_pack_map(pk, 9);
	db_pack_text(pk, "id", q, 0);
	db_pack_text(pk, "type", q, 1);
	db_pack_text(pk, "username", q, 2);
	db_pack_text(pk, "name", q, 3);
	db_pack_text(pk, "scope", q, 4);
	db_pack_int(pk, "created_at", q, 5);
	db_pack_int(pk, "created_by_uid", q, 6);
	db_pack_int(pk, "expires_at", q, 7);
	db_pack_int(pk, "last_used_at", q, 8);
}

#define ROW_SQL "SELECT " TCOLS " FROM tokens t LEFT JOIN accounts a ON " \
	"a.id = t.account_id WHERE t.id = ?1"

/*
 * A session is inserted only while its account is still as the caller
 * verified it (live, login allowed, activated, and with the same hash or
 * app password): a password change that lands during a login's hash
 * leaves no session behind.
 */
#define INSERT_SQL "INSERT INTO tokens (id, type, account_id, " \
	"secret_sha256, name, scope, created_at, created_by_uid, expires_at) " \
	"SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0) WHERE ?10 = 0 " \
	"OR EXISTS (SELECT 1 FROM accounts WHERE id = ?3 AND " \
	ACCOUNT_MAY_LOG_IN_SQL("", "?7") " AND (?10 <> 2 OR " \
	"password_hash IS ?11) AND (?10 <> 3 OR EXISTS (SELECT 1 FROM " \
	"tokens WHERE id = ?11 AND account_id = ?3)))"

int
token_create(const struct token_spec *s, char out[TOKEN_STRING_LEN],
    struct proto_msg *res, const char *key)
{
	char id[2 * TOKEN_ID_BYTES + 1], secret[2 * TOKEN_SECRET_BYTES + 1];
	char digest[SHA256_DIGEST_STRING_LENGTH];
	struct db_query q;
	int64_t now = now_unix(), n = 0;
	int rc;

	random_hex(id, TOKEN_ID_BYTES);
	random_hex(secret, TOKEN_SECRET_BYTES);
	secret_digest(secret, digest);
	snprintf(out, TOKEN_STRING_LEN, "%s_%s", id, secret);
	explicit_bzero(secret, sizeof(secret));
	db_lock();
	rc = db_exec(&n, INSERT_SQL, DB_ARGS(DB_TEXT(id), DB_TEXT(type_name(s->type)),
	    DB_TEXT(s->account_id), DB_TEXT(digest), DB_TEXT(s->name),
	    DB_TEXT(s->scope), DB_INT(now), DB_INT(s->created_by),
	    DB_INT(s->lifetime > 0 ? now + s->lifetime : 0),
	    DB_INT(s->guard), DB_TEXT(s->guard_arg)));
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_AUTH_FAILED;	/* the guard no longer holds */
	if (rc == ACCT_OK && res != NULL) {
		if ((rc = db_one(&q, ROW_SQL, DB_ARGS(DB_TEXT(id)))) ==
		    ACCT_OK)
			pack_row(proto_kv_begin(res, key), &q);
		(void)db_done(&q);
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
check_row(const struct db_query *q, const char *secret,
    enum token_type type, const char *service, int64_t now)
{
	const char *t = db_text(q, 1);
	const char *scope = db_text(q, 4);
	const char *digest = db_text(q, 10);
	char want[SHA256_DIGEST_STRING_LENGTH];
	bool ok;

	secret_digest(secret, want);
	ok = digest != NULL && strlen(digest) == strlen(want) &&
	    mem_equal_ct(digest, want, strlen(want));
	explicit_bzero(want, sizeof(want));
	if (!ok || t == NULL || scope == NULL)
		return ACCT_ERR_INVALID_TOKEN;
	if (type == TOKEN_BEARER ? !bearer_type(t) :
	    strcmp(t, token_type_names[type]) != 0)
		return ACCT_ERR_INVALID_TOKEN;
	if (!db_null(q, 7) && db_int(q, 7) <= now)
		return ACCT_ERR_INVALID_TOKEN;
	if (service != NULL && !scope_allows(scope, service))
		return ACCT_ERR_INVALID_TOKEN;
	return ACCT_OK;
}

/* The query of a check, with the account's columns after TCOLS or not. */
#define CHECK_FROM " FROM tokens t LEFT JOIN accounts a ON " \
	"a.id = t.account_id WHERE t.id = ?1 AND (t.account_id IS NULL OR " \
	"(" ACCOUNT_OPEN_SQL("a.", "?2") " AND (a.activated OR " \
	"t.type = 'activation')))"
#define TCOLS_N	11	/* the columns TCOLS names */

/*
 * Check a token string. type: TOKEN_BEARER for a session, access token
 * or app password, else the one kind it must be. On success packs "token" into
 * res (if given), copies the owner's account id (may be "" for a client)
 * into owner, and with acct reads the account into it.
 */
static int
check(const char *token, enum token_type type, const char *service,
    char owner[33], struct account *acct, struct proto_msg *res)
{
	char copy[TOKEN_STRING_LEN], *id, *secret;
	struct db_query q;
	int64_t now = now_unix(), last = 0;
	int rc;

	owner[0] = '\0';
	if (acct != NULL)
		memset(acct, 0, sizeof(*acct));
	if (strlcpy(copy, token, sizeof(copy)) >= sizeof(copy) ||
	    !split(copy, &id, &secret)) {
		explicit_bzero(copy, sizeof(copy));
		return ACCT_ERR_INVALID_TOKEN;
	}
	db_read();
	rc = db_one(&q, acct != NULL ? "SELECT " TCOLS ", " ACCOUNT_COLUMNS("a.")
	    CHECK_FROM : "SELECT " TCOLS CHECK_FROM,
	    DB_ARGS(DB_TEXT(id), DB_INT(now)));
	if (rc == ACCT_ERR_NOT_FOUND)
		rc = ACCT_ERR_INVALID_TOKEN;
	if (rc == ACCT_OK)
		rc = check_row(&q, secret, type, service, now);
	if (rc == ACCT_OK && acct != NULL && db_null(&q, TCOLS_N))
		rc = ACCT_ERR_INVALID_TOKEN;	/* no account to stand for */
	if (rc == ACCT_OK && acct != NULL)
		rc = account_from_row(&q, TCOLS_N, acct);
	if (rc == ACCT_OK) {
		const char *o = db_text(&q, 9);

		strlcpy(owner, o ? o : "", 33);
		last = db_int(&q, 8);
		if (res != NULL)
			pack_row(proto_kv_begin(res, "token"), &q);
	}
	(void)db_done(&q);
	db_read_end();
	/* At most one write per token per granule, not one per check. */
	if (rc == ACCT_OK && now - last >= LAST_USED_GRANULE) {
		db_lock();
		(void)db_exec(NULL, "UPDATE tokens SET last_used_at = ?1 "
		    "WHERE id = ?2", DB_ARGS(DB_INT(now), DB_TEXT(id)));
		db_unlock();
	}
	explicit_bzero(copy, sizeof(copy));
	return rc;
}

int
token_check(const char *token, enum token_type type, const char *service,
    char owner[33], struct proto_msg *res)
{
	return check(token, type, service, owner, NULL, res);
}

int
token_check_account(const char *token, const char *service,
    struct account *a, struct proto_msg *res)
{
	char owner[33];

	return check(token, TOKEN_BEARER, service, owner, a, res);
}

/* pack_row() in the shape page_list() calls. */
static void
pack_listed(msgpack_packer *pk, const struct db_query *q, void *arg)
{
	(void)arg;
	pack_row(pk, q);
}

#define LIST_WHERE " FROM tokens t LEFT JOIN accounts a ON " \
	"a.id = t.account_id WHERE (?1 IS NULL OR t.account_id = ?1) AND " \
	"(?2 IS NULL OR t.type = ?2) AND t.type IN ('session', " \
	"'access_token', 'app_password', 'client') AND (?3 IS NULL OR " \
	"instr(t.id, ?3) OR instr(coalesce(a.username, ''), ?3) OR " \
	"instr(t.name, ?3))"

int
token_list(const char *account_id, enum token_type type,
    const char *search, int64_t limit, int64_t offset, struct proto_msg *res)
{
	const struct db_arg args[] = { DB_TEXT(account_id),
	    DB_TEXT(type_name(type)),
	    DB_TEXT(search) };
	const struct page_query pq = { .key = "tokens",
	    .count_sql = "SELECT count(*)" LIST_WHERE,
	    .rows_sql = "SELECT " TCOLS LIST_WHERE " ORDER BY t.created_at "
	    "DESC, t.id LIMIT ?4 OFFSET ?5",
	    .args = args, .nargs = 3, .limit = limit, .offset = offset,
	    .pack = pack_listed };

	return page_list(&pq, res);
}

/* One token by id: owner's account id ("" for none), type, row as key. */
int
token_show(const char *id, char owner[33], enum token_type *type,
    struct proto_msg *res, const char *key)
{
	struct db_query q;
	int rc, t;

	owner[0] = '\0';
	db_read();
	if ((rc = db_one(&q, ROW_SQL, DB_ARGS(DB_TEXT(id)))) == ACCT_OK) {
		const char *o = db_text(&q, 9);

		strlcpy(owner, o ? o : "", 33);
		/* A kind this acctd does not know is no token of its. */
		if ((t = token_type_parse(db_text(&q, 1))) < 0)
			rc = ACCT_ERR_NOT_FOUND;
		else if (type != NULL)
			*type = (enum token_type)t;
		if (rc == ACCT_OK && res != NULL)
			pack_row(proto_kv_begin(res, key), &q);
	}
	(void)db_done(&q);
	db_read_end();
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
	rc = db_exec(&n, "DELETE FROM tokens WHERE id = ?1",
	    DB_ARGS(DB_TEXT(id)));
	db_unlock();
	return rc == ACCT_OK && n == 0 ? ACCT_ERR_NOT_FOUND : rc;
}

/* End an account's tokens: all, or only those of one type. */
int
token_delete_account_locked(const char *account_id, enum token_type type,
    int64_t *removed)
{
	return db_exec(removed, "DELETE FROM tokens WHERE account_id = ?1 AND "
	    "(?2 IS NULL OR type = ?2)", DB_ARGS(DB_TEXT(account_id),
	    DB_TEXT(type_name(type))));
}

int
token_reset_all(int64_t *removed)
{
	int rc;

	db_lock();
	rc = db_exec(removed, "DELETE FROM tokens", DB_NOARGS);
	db_unlock();
	return rc;
}

/* From the periodic purge. */
int
token_purge_expired_locked(int64_t now, int64_t *removed)
{
	return db_exec(removed, "DELETE FROM tokens WHERE expires_at <= ?1",
	    DB_ARGS(DB_INT(now)));
}
