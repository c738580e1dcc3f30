/*
 * passwd.c: setting and removing passwords. An admin sets any password
 * directly; the account's own Unix user, or an authenticator acting for
 * a user, must give the current password first.
 */
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

enum who { WHO_ADMIN, WHO_OWNER, WHO_AUTH, WHO_NOBODY };

static enum who
who(const struct ctx *x, const char *target)
{
	if (x->classes & PEER_ADMIN)
		return WHO_ADMIN;
	if (x->peer->creds_ok && x->peer->login[0] != '\0' &&
	    strcmp(x->peer->login, target) == 0)
		return WHO_OWNER;
	if (x->classes & PEER_AUTH)
		return WHO_AUTH;
	return WHO_NOBODY;
}

/*
 * Check the current password. Every failure (no account, no password,
 * wrong password) is the same auth_failed and costs one hash.
 */
static int
check_current(struct ctx *x, struct proto_request *req, int found,
    const struct account *a)
{
	const struct proto_value *pw = &req->arg[F_PASSWORD];
	char owner[33];
	int rc;

	/* An SSO account proves itself with one of its sessions. */
	if (PROTO_HAS(req, F_TOKEN) && !PROTO_HAS(req, F_PASSWORD))
		return found == ACCT_OK && token_check(req->arg[F_TOKEN].str,
		    "session", NULL, owner, NULL) == ACCT_OK &&
		    strcmp(owner, a->id) == 0 ? ACCT_OK : ctx_fail(x,
		    ACCT_ERR_AUTH_FAILED, "authentication failed");
	if (!PROTO_HAS(req, F_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "the current password "
		    "(or a session token) is required");
	if (found != ACCT_OK || a->hash == NULL) {
		if (found != ACCT_OK && found != ACCT_ERR_NOT_FOUND)
			return found;
		hash_dummy_verify(&x->cfg, pw->str, pw->len);
		return ACCT_ERR_AUTH_FAILED;
	}
	rc = hash_check(a->hash, pw->str, pw->len);
	if (rc == ACCT_ERR_AUTH_FAILED)
		log_info("uid %u: passwd %s: wrong current password",
		    (unsigned)x->peer->uid, a->username);
	return rc;
}

int
h_passwd(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct proto_value *npw = &req->arg[F_NEW_PASSWORD];
	bool remove = PROTO_HAS(req, F_REMOVE) && req->arg[F_REMOVE].b;
	struct account a;
	char *target, *hash = NULL;
	enum who w;
	int rc, found;

	if (PROTO_HAS(req, F_USERNAME))
		target = req->arg[F_USERNAME].str;
	else if ((target = (char *)x->peer->login)[0] == '\0')
		return ctx_fail(x, ACCT_ERR_INVALID, "no username given and "
		    "your uid has no login name");
	if (PROTO_HAS(req, F_USERNAME) &&
	    validate_username(target, x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	if ((w = who(x, target)) == WHO_NOBODY) {
		log_info("uid %u (%s): passwd %s refused", (unsigned)x->peer->uid,
		    x->peer->comm, target);
		return ctx_fail(x, ACCT_ERR_DENIED, "permission denied: you "
		    "may change only your own password");
	}
	if (remove == PROTO_HAS(req, F_NEW_PASSWORD))
		return ctx_fail(x, ACCT_ERR_INVALID, "give either a new "
		    "password or remove=true");
	if (!remove && validate_password(&x->cfg, npw->str, npw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;

	found = account_get(target, &a);
	if (w == WHO_ADMIN) {
		if (found == ACCT_ERR_NOT_FOUND)
			return ctx_fail(x, found, "no account named '%s'",
			    target);
		rc = found;
	} else
		rc = check_current(x, req, found, &a);
	if (rc == ACCT_OK && !remove)
		rc = hash_password(&x->cfg, npw->str, npw->len, &hash);
	if (rc == ACCT_OK)
		rc = account_set_hash(a.id, a.hash, hash);
	if (rc == ACCT_ERR_BUSY)
		ctx_fail(x, rc, "the password was changed concurrently; "
		    "try again");
	if (rc == ACCT_OK) {
		int64_t n = 0;

		/* Sessions opened with the old password end with it. */
		token_delete_account(a.id, "session", &n);
		log_info("uid %u: %s password of %s, ended %lld sessions",
		    (unsigned)x->peer->uid, remove ? "removed" : "changed",
		    a.username, (long long)n);
		proto_kv_str(res, "username", a.username);
		proto_kv_bool(res, "has_password", !remove);
	}
	if (hash != NULL)
		freezero(hash, strlen(hash));
	if (found == ACCT_OK)
		account_free(&a);
	return rc;
}
