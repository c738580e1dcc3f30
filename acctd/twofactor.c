/*
 * twofactor.c: the two-factor secrets of accounts: TOTP (RFC 6238, SHA-1,
 * six digits, 30 s) enrolment and codes that are refused once used, and
 * one-time recovery codes of 100 bits, each stored as the SHA-256 of a
 * salt of its own and the code.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <sha2.h>

#include "../common/mem.h"
#include "acctd.h"

#define SECRET_BYTES	20
#define RECOVERY_CODES	10
#define RECOVERY_GROUPS	4	/* of 5 characters, 5 bits each: 100 bits */
#define RECOVERY_LEN	(RECOVERY_GROUPS * 6 - 1)
#define SALT_BYTES	16
#define WINDOW		1	/* steps either side: clock drift */

/* Crockford's base32 in lower case: no i, l, o or u to misread. */
static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

/* The step within the window whose code matches, after last; or -1. */
static int64_t
match_step(const char *secret, const char *code, int64_t last)
{
	uint8_t key[64];
	int keylen = totp_unbase32(secret, key, sizeof(key));
	int64_t now = now_unix() / TOTP_PERIOD, found = -1;
	char want[16];

	if (keylen <= 0 || strlen(code) != TOTP_DIGITS ||
	    strspn(code, "0123456789") != TOTP_DIGITS) {
		explicit_bzero(key, sizeof(key));
		return -1;
	}
	for (int64_t s = now - WINDOW; s <= now + WINDOW; s++) {
		snprintf(want, sizeof(want), "%0*u", TOTP_DIGITS,
		    totp_hotp(TOTP_SHA1, key, (size_t)keylen, (uint64_t)s,
		    TOTP_DIGITS));
		if (s > last && mem_equal_ct(want, code, TOTP_DIGITS))
			found = s;
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(want, sizeof(want));
	return found;
}

int
twofactor_begin(const char *account_id, char secret[TWOFACTOR_SECRET_LEN])
{
	uint8_t raw[SECRET_BYTES];
	int64_t n = 0;
	int rc;

	_Static_assert(TWOFACTOR_SECRET_LEN > (SECRET_BYTES * 8 + 4) / 5,
	    "room for the base32 secret");
	arc4random_buf(raw, sizeof(raw));
	totp_base32(raw, sizeof(raw), secret);
	explicit_bzero(raw, sizeof(raw));
	db_lock();
	rc = db_exec(&n, "UPDATE accounts SET totp_pending = ?1 WHERE "
	    "id = ?2 AND deleted_at IS NULL", DB_ARGS(DB_TEXT(secret),
	    DB_TEXT(account_id)));
	db_unlock();
	if (rc == ACCT_OK && n != 1)
		rc = ACCT_ERR_NOT_FOUND;
	if (rc != ACCT_OK)
		explicit_bzero(secret, TWOFACTOR_SECRET_LEN);
	return rc;
}

/* Read one secret column of the account's row; NOT_FOUND when NULL.
 * Under db_read() or db_lock(), either. */
static int
read_secret(const char *sql, const char *id, char *out, size_t outsz,
    int64_t *last)
{
	struct db_query q;
	int rc;

	out[0] = '\0';
	if ((rc = db_one(&q, sql, DB_ARGS(DB_TEXT(id)))) == ACCT_OK) {
		if (db_null(&q, 0))
			rc = ACCT_ERR_NOT_FOUND;
		else
			strlcpy(out, db_text(&q, 0), outsz);
		*last = db_int(&q, 1);
	}
	(void)db_done(&q);
	return rc;
}

int
twofactor_pending_step(const char *account_id, const char *code,
    int64_t *step)
{
	char pending[TWOFACTOR_SECRET_LEN];
	int64_t last = 0;
	int rc;

	db_read();
	rc = read_secret("SELECT totp_pending, 0 FROM accounts WHERE "
	    "id = ?1", account_id, pending, sizeof(pending), &last);
	db_read_end();
	if (rc == ACCT_OK && (*step = match_step(pending, code, 0)) < 0)
		rc = ACCT_ERR_AUTH_FAILED;
	explicit_bzero(pending, sizeof(pending));
	return rc;
}

static void
recovery_digest(const char *salt, const char *code,
    char out[SHA256_DIGEST_STRING_LENGTH])
{
	SHA2_CTX c;

	SHA256Init(&c);
	SHA256Update(&c, (const uint8_t *)salt, strlen(salt));
	SHA256Update(&c, (const uint8_t *)code, strlen(code));
	SHA256End(&c, out);
	explicit_bzero(&c, sizeof(c));
}

/* Ten fresh recovery codes: stored salted and hashed, returned once. */
static int
new_recovery_codes_locked(const char *id, struct proto_msg *res)
{
	char codes[RECOVERY_CODES][RECOVERY_LEN + 1];
	char salt[2 * SALT_BYTES + 1], digest[SHA256_DIGEST_STRING_LENGTH];
	char plain[RECOVERY_GROUPS * 5 + 1];
	msgpack_packer *pk;
	int rc;

	rc = db_exec(NULL, "DELETE FROM recovery_codes WHERE account_id = ?1",
	    DB_ARGS(DB_TEXT(id)));
	for (int i = 0; rc == ACCT_OK && i < RECOVERY_CODES; i++) {
		size_t k = 0, p = 0;

		for (int g = 0; g < RECOVERY_GROUPS; g++) {
			if (g > 0)
				codes[i][k++] = '-';
			for (int c = 0; c < 5; c++)
				codes[i][k++] = plain[p++] =
				    alphabet[arc4random_uniform(32)];
		}
		codes[i][k] = plain[p] = '\0';
		random_hex(salt, SALT_BYTES);
		recovery_digest(salt, plain, digest);
		rc = db_exec(NULL, "INSERT INTO recovery_codes (account_id, "
		    "salt, code_sha256) VALUES (?1, ?2, ?3)",
		    DB_ARGS(DB_TEXT(id), DB_TEXT(salt), DB_TEXT(digest)));
	}
	if (rc == ACCT_OK) {
		pk = proto_kv_begin(res, "recovery_codes");
		msgpack_pack_array(pk, RECOVERY_CODES);
		for (int i = 0; i < RECOVERY_CODES; i++)
			proto_pack_cstr(pk, codes[i]);
	}
	explicit_bzero(codes, sizeof(codes));
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(digest, sizeof(digest));
	return rc;
}

int
twofactor_enable(const char *account_id, int64_t step, struct proto_msg *res)
{
	int64_t n = 0;
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		/* Of two confirmations of one enrolment, one turns it on. */
		rc = db_exec(&n, "UPDATE accounts SET totp_secret = "
		    "totp_pending, totp_pending = NULL, totp_enabled = 1, "
		    "totp_last_step = ?1 WHERE id = ?2 AND totp_pending IS NOT "
		    "NULL", DB_ARGS(DB_INT(step), DB_TEXT(account_id)));
		if (rc == ACCT_OK && n != 1)
			rc = ACCT_ERR_AUTH_FAILED;
		if (rc == ACCT_OK)
			rc = new_recovery_codes_locked(account_id, res);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

/* Case, spaces and dashes as typed do not matter. */
static void
normalise(const char *code, char *out, size_t outsz)
{
	size_t k = 0;

	for (const char *p = code; *p != '\0' && k < outsz - 1; p++)
		if (*p != ' ' && *p != '-')
			out[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 :
			    *p);
	out[k] = '\0';
}

/* Spend the recovery code that matches, if one does. */
static int
check_recovery_locked(const char *id, const char *code)
{
	char norm[RECOVERY_GROUPS * 5 + 2], digest[SHA256_DIGEST_STRING_LENGTH];
	int64_t row = -1, n = 0;
	struct db_query q;
	int rc;

	normalise(code, norm, sizeof(norm));
	if (db_query(&q, "SELECT rowid, salt, code_sha256 FROM recovery_codes "
	    "WHERE account_id = ?1", DB_ARGS(DB_TEXT(id))) == ACCT_OK)
		while (db_next(&q)) {
			const char *want = db_text(&q, 2);

			recovery_digest(db_text(&q, 1), norm, digest);
			/* Every row compared in full: no early exit. */
			if (want != NULL && strlen(want) == strlen(digest) &&
			    mem_equal_ct(want, digest, strlen(digest)))
				row = db_int(&q, 0);
		}
	rc = db_done(&q);
	explicit_bzero(norm, sizeof(norm));
	explicit_bzero(digest, sizeof(digest));
	if (rc == ACCT_OK && row >= 0)
		rc = db_exec(&n, "DELETE FROM recovery_codes WHERE rowid = ?1",
		    DB_ARGS(DB_INT(row)));
	if (rc != ACCT_OK)
		return rc;
	return row >= 0 && n == 1 ? ACCT_OK : ACCT_ERR_AUTH_FAILED;
}

int
twofactor_spend_locked(const char *account_id, const char *code)
{
	char secret[TWOFACTOR_SECRET_LEN];
	int64_t last = 0, step, n = 0;
	int rc;

	rc = read_secret("SELECT totp_secret, totp_last_step FROM "
	    "accounts WHERE id = ?1", account_id, secret, sizeof(secret),
	    &last);
	if (rc == ACCT_OK && (step = match_step(secret, code, last)) >= 0) {
		/* Spend the step: the same code cannot be used twice. */
		rc = db_exec(&n, "UPDATE accounts SET totp_last_step = ?1 WHERE "
		    "id = ?2 AND totp_last_step < ?1", DB_ARGS(DB_INT(step),
		    DB_TEXT(account_id)));
		if (rc == ACCT_OK && n != 1)
			rc = ACCT_ERR_AUTH_FAILED;
	} else if (rc == ACCT_OK)
		rc = check_recovery_locked(account_id, code);
	explicit_bzero(secret, sizeof(secret));
	return rc == ACCT_ERR_NOT_FOUND ? ACCT_ERR_AUTH_FAILED : rc;
}
