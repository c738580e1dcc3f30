/*
 * op_twofa.c: handlers of two-factor enrolment: totp_enroll shows a new
 * secret (the owner proves the password first), totp_confirm turns it
 * on with a first code. Both checks go through the credential check.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

int
h_totp_enroll(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct cred_check c = { .realm = "totp_enroll", .name = x->username,
	    .remote = proto_str_or(req, F_REMOTE_ADDR, ""),
	    .password = &req->arg[F_PASSWORD] };
	char secret[TWOFACTOR_SECRET_LEN], uri[256];
	int rc;

	if (x->must_prove) {
		if (!PROTO_HAS(req, F_PASSWORD))
			return ctx_fail(x, ACCT_ERR_INVALID, "the current "
			    "password is required");
		if ((rc = cred_verify(x, &c, x->found, &x->account)) !=
		    ACCT_OK)
			return rc;
	} else if (x->found != ACCT_OK)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no such account");
	if (x->account.two_factor)
		return ctx_fail(x, ACCT_ERR_EXISTS, "two-factor authentication "
		    "is already on; turn it off first (users mod --disable-2fa)");
	if ((rc = twofactor_begin(x->account.id, secret)) != ACCT_OK)
		return rc;
	snprintf(uri, sizeof(uri), "otpauth://totp/acctd:%s?secret=%s&"
	    "issuer=acctd&algorithm=SHA1&digits=%d&period=%d",
	    x->account.username, secret, TOTP_DIGITS, TOTP_PERIOD);
	proto_kv_str(res, "username", x->account.username);
	proto_kv_str(res, "secret", secret);
	proto_kv_str(res, "uri", uri);
	log_info("uid %u: two-factor enrolment started for %s",
	    (unsigned)x->peer->uid, x->account.username);
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(uri, sizeof(uri));
	return ACCT_OK;
}

int
h_totp_confirm(struct ctx *x, struct proto_request *req,
    struct proto_msg *res)
{
	struct cred_check c = { .realm = "totp_confirm", .name = x->username,
	    .remote = "", .code = req->arg[F_CODE].str };
	int rc;

	if (x->found != ACCT_OK && !(x->classes & C_SELF))
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no such account");
	if ((rc = cred_verify(x, &c, x->found, &x->account)) != ACCT_OK) {
		if (rc == ACCT_ERR_AUTH_FAILED)
			ctx_fail(x, rc, "wrong code: check the "
			    "authenticator's clock and try the current code");
		return rc;
	}
	if ((rc = twofactor_enable(x->account.id, c.step, res)) != ACCT_OK)
		return rc == ACCT_ERR_AUTH_FAILED ? ctx_fail(x, ACCT_ERR_INVALID,
		    "no enrolment in progress: start with totp_enroll") : rc;
	proto_kv_str(res, "username", x->account.username);
	log_info("uid %u: two-factor authentication on for %s",
	    (unsigned)x->peer->uid, x->account.username);
	auditlog_event(x->peer->uid, "two_factor_enabled",
	    x->account.username, "");
	return ACCT_OK;
}
