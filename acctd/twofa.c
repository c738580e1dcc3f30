/*
 * twofa.c: two-factor authentication with TOTP (RFC 6238, SHA-1, six
 * digits, 30 s): enrolment with a confirming first code, checks at login
 * that refuse a code already used, and one-time recovery codes stored
 * only as SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <sha2.h>
#include <sqlite3.h>

#include "../common/log.h"
#include "../common/mem.h"
#include "acctd.h"

#define SECRET_BYTES	20
#define RECOVERY_CODES	10
#define WINDOW		1	/* steps either side: clock drift */

/* Whose enrolment: the caller's own account, or any for an admin. */
static int
target(struct ctx *x, struct proto_request *req, struct account *a)
{
	char *name;
	int rc;

	memset(a, 0, sizeof(*a));
	if (!PROTO_HAS(req, F_USERNAME))
		rc = self_account(x, a);
	else {
		name = req->arg[F_USERNAME].str;
		if (validate_username(name, x->err, sizeof(x->err)) == -1)
			return ACCT_ERR_INVALID;
		if (!(x->classes & PEER_ADMIN) &&
		    strcmp(name, x->peer->login) != 0)
			return ctx_fail(x, ACCT_ERR_DENIED, "permission denied: "
			    "you may set up two-factor authentication only for "
			    "your own account");
		rc = account_get(name, a);
	}
	if (rc == ACCT_ERR_NOT_FOUND)
		return ctx_fail(x, rc, "no such account");
	return rc;
}

/* Read one text column of the account's row (caller holds db_lock). */
static int
read_secret(const char *id, const char *col, char *out, size_t outsz,
    int64_t *last)
{
	char sql[128];
	sqlite3_stmt *st;
	int rc;

	out[0] = '\0';
	snprintf(sql, sizeof(sql), "SELECT %s, totp_last_step FROM accounts "
	    "WHERE id = ?1", col);
	if ((rc = db_prepare(&st, sql, "s", id)) != ACCT_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL) {
		strlcpy(out, (const char *)sqlite3_column_text(st, 0), outsz);
		if (last != NULL)
			*last = sqlite3_column_int64(st, 1);
	} else
		rc = ACCT_ERR_NOT_FOUND;
	sqlite3_finalize(st);
	return rc;
}

/* The step within the window whose code matches, after last; or -1. */
static int64_t
match_step(const char *secret, const char *code, int64_t last)
{
	uint8_t key[64];
	int keylen = totp_unbase32(secret, key, sizeof(key));
	int64_t now = now_unix() / TOTP_PERIOD, found = -1;
	char want[16];

	if (keylen <= 0 || strlen(code) != TOTP_DIGITS ||
	    strspn(code, "0123456789") != TOTP_DIGITS)
		return -1;
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

/* Like passwd: on their own account, users prove it with the password. */
static int
check_password(struct ctx *x, struct proto_request *req,
    const struct account *a)
{
	const struct proto_value *pw = &req->arg[F_PASSWORD];

	if (x->classes & PEER_ADMIN)
		return ACCT_OK;
	if (!PROTO_HAS(req, F_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "the current password "
		    "is required");
	if (a->hash == NULL ||
	    hash_check(a->hash, pw->str, pw->len) != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_AUTH_FAILED, "authentication "
		    "failed");
	return ACCT_OK;
}

int
h_totp_enroll(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	uint8_t raw[SECRET_BYTES];
	char secret[64], uri[256];
	struct account a;
	int rc;

	if ((rc = target(x, req, &a)) != ACCT_OK)
		return rc;
	if ((rc = check_password(x, req, &a)) != ACCT_OK) {
		account_free(&a);
		return rc;
	}
	if (a.two_factor) {
		account_free(&a);
		return ctx_fail(x, ACCT_ERR_EXISTS, "two-factor authentication "
		    "is already on; turn it off first (users mod --disable-2fa)");
	}
	arc4random_buf(raw, sizeof(raw));
	totp_base32(raw, sizeof(raw), secret);
	explicit_bzero(raw, sizeof(raw));
	db_lock();
	rc = db_exec(NULL, "UPDATE accounts SET totp_pending = ?1 WHERE "
	    "id = ?2", "ss", secret, a.id);
	db_unlock();
	if (rc == ACCT_OK) {
		snprintf(uri, sizeof(uri), "otpauth://totp/acctd:%s?secret=%s&"
		    "issuer=acctd&algorithm=SHA1&digits=%d&period=%d",
		    a.username, secret, TOTP_DIGITS, TOTP_PERIOD);
		proto_kv_str(res, "username", a.username);
		proto_kv_str(res, "secret", secret);
		proto_kv_str(res, "uri", uri);
		log_info("uid %u: two-factor enrolment started for %s",
		    (unsigned)x->peer->uid, a.username);
	}
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(uri, sizeof(uri));
	account_free(&a);
	return rc;
}

/* Ten fresh recovery codes: stored hashed, returned once. */
static int
new_recovery_codes(const char *id, struct proto_msg *res)
{
	static const char alpha[] = "abcdefghjkmnpqrstuvwxyz23456789";
	char codes[RECOVERY_CODES][12], digest[SHA256_DIGEST_STRING_LENGTH];
	msgpack_packer *pk;
	int rc;

	rc = db_exec(NULL, "DELETE FROM recovery_codes WHERE account_id = ?1",
	    "s", id);
	for (int i = 0; rc == ACCT_OK && i < RECOVERY_CODES; i++) {
		for (int k = 0; k < 11; k++)
			codes[i][k] = k == 5 ? '-' :
			    alpha[arc4random_uniform(sizeof(alpha) - 1)];
		codes[i][11] = '\0';
		SHA256Data((const uint8_t *)codes[i], 11, digest);
		rc = db_exec(NULL, "INSERT INTO recovery_codes (account_id, "
		    "code_sha256) VALUES (?1, ?2)", "ss", id, digest);
	}
	if (rc == ACCT_OK) {
		pk = proto_kv_begin(res, "recovery_codes");
		msgpack_pack_array(pk, RECOVERY_CODES);
		for (int i = 0; i < RECOVERY_CODES; i++)
			proto_pack_cstr(pk, codes[i]);
	}
	explicit_bzero(codes, sizeof(codes));
	return rc;
}

static int
confirm(struct ctx *x, const struct account *a, const char *code,
    struct proto_msg *res)
{
	char pending[64];
	int64_t step;
	int rc;

	if ((rc = read_secret(a->id, "totp_pending", pending,
	    sizeof(pending), NULL)) == ACCT_ERR_NOT_FOUND)
		return ctx_fail(x, ACCT_ERR_INVALID, "no enrolment in progress: "
		    "start with totp_enroll");
	if (rc != ACCT_OK)
		return rc;
	if ((step = match_step(pending, code, 0)) < 0)
		rc = ctx_fail(x, ACCT_ERR_AUTH_FAILED, "wrong code: check the "
		    "authenticator's clock and try the current code");
	else if ((rc = db_begin()) == ACCT_OK) {
		rc = db_exec(NULL, "UPDATE accounts SET totp_secret = "
		    "totp_pending, totp_pending = NULL, totp_enabled = 1, "
		    "totp_last_step = ?1 WHERE id = ?2", "is", step, a->id);
		if (rc == ACCT_OK)
			rc = new_recovery_codes(a->id, res);
		rc = db_end(rc);
	}
	explicit_bzero(pending, sizeof(pending));
	return rc;
}

int
h_totp_confirm(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	struct account a;
	int rc;

	if ((rc = target(x, req, &a)) != ACCT_OK)
		return rc;
	db_lock();
	rc = confirm(x, &a, req->arg[F_CODE].str, res);
	db_unlock();
	if (rc == ACCT_OK) {
		proto_kv_str(res, "username", a.username);
		log_info("uid %u: two-factor authentication on for %s",
		    (unsigned)x->peer->uid, a.username);
	}
	account_free(&a);
	return rc;
}

static int
check_recovery(const char *id, const char *code)
{
	char norm[16], digest[SHA256_DIGEST_STRING_LENGTH];
	int64_t n = 0;
	size_t k = 0;
	int rc;

	/* Case and spaces as typed do not matter. */
	for (const char *p = code; *p != '\0' && k < sizeof(norm) - 1; p++)
		if (*p != ' ')
			norm[k++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	norm[k] = '\0';
	SHA256Data((const uint8_t *)norm, k, digest);
	explicit_bzero(norm, sizeof(norm));
	rc = db_exec(&n, "DELETE FROM recovery_codes WHERE account_id = ?1 "
	    "AND code_sha256 = ?2", "ss", id, digest);
	return rc == ACCT_OK && n == 1 ? ACCT_OK : ACCT_ERR_AUTH_FAILED;
}

int
twofa_check(const char *account_id, const char *code)
{
	char secret[64];
	int64_t last = 0, step, n = 0;
	int rc;

	db_lock();
	rc = read_secret(account_id, "totp_secret", secret, sizeof(secret),
	    &last);
	if (rc == ACCT_OK && (step = match_step(secret, code, last)) >= 0) {
		/* Spend the step: the same code cannot be used twice. */
		rc = db_exec(&n, "UPDATE accounts SET totp_last_step = ?1 WHERE "
		    "id = ?2 AND totp_last_step < ?1", "is", step, account_id);
		if (rc == ACCT_OK && n != 1)
			rc = ACCT_ERR_AUTH_FAILED;
	} else if (rc == ACCT_OK)
		rc = check_recovery(account_id, code);
	db_unlock();
	explicit_bzero(secret, sizeof(secret));
	return rc == ACCT_OK ? ACCT_OK : ACCT_ERR_AUTH_FAILED;
}
