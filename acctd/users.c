/*
 * users.c: handlers for hello and the users commands (add, show, list,
 * mod, rm, reset). Admin only, as the dispatch table says.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

#define LIST_DEFAULT_LIMIT	1000

int
h_hello(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	const struct peer *p = x->peer;
	msgpack_packer *pk;
	int n = 0;

	(void)req;
	proto_kv_str(res, "server", "acctd");
	proto_kv_str(res, "version", ACCT_VERSION);
	proto_kv_int(res, "protocol", PROTO_VERSION);
	proto_kv_int(res, "uid", p->creds_ok ? (int64_t)p->uid : -1);
	proto_kv_int(res, "gid", p->creds_ok ? (int64_t)p->gid : -1);
	proto_kv_int(res, "pid", p->creds_ok ? (int64_t)p->pid : -1);
	if (p->login[0] != '\0')
		proto_kv_str(res, "username", p->login);
	else
		proto_kv_nil(res, "username");
	pk = proto_kv_begin(res, "classes");
	n = 1 + !!(x->classes & PEER_AUTH) + !!(x->classes & PEER_ADMIN);
	msgpack_pack_array(pk, (size_t)n);
	if (x->classes & PEER_ADMIN)
		proto_pack_cstr(pk, "admin");
	if (x->classes & PEER_AUTH)
		proto_pack_cstr(pk, "authenticator");
	proto_pack_cstr(pk, "user");
	return ACCT_OK;
}

static int
set_str(char **dst, const char *src)
{
	char *s = strdup(src);

	if (s == NULL)
		return ACCT_ERR_NOMEM;
	free(*dst);
	*dst = s;
	return ACCT_OK;
}

/* The text fields of an account: which check, which struct member. */
static int
apply_text(struct ctx *x, struct proto_request *req, struct account *a)
{
	static const struct {
		enum proto_field f;
		const char	*what;
		size_t		 off;
	} t[] = {
		{ F_NAME,	 "name",	offsetof(struct account, name) },
		{ F_ROLE,	 "role",	offsetof(struct account, role) },
		{ F_AUTH_PROVIDER, "auth provider",
		    offsetof(struct account, auth_provider) },
		{ F_AUTH_ID,	 "auth id",	offsetof(struct account, auth_id) },
		{ F_UPLOAD_PATH, "upload path",
		    offsetof(struct account, upload_path) },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *v = req->arg[t[i].f].str;
		int rc;

		if (!PROTO_HAS(req, t[i].f))
			continue;
		if (t[i].f == F_ROLE)
			rc = validate_role(v, x->err, sizeof(x->err));
		else if (t[i].f == F_AUTH_PROVIDER)
			rc = validate_provider(v, x->err, sizeof(x->err));
		else
			rc = validate_text(t[i].what, v, x->err,
			    sizeof(x->err));
		if (rc == -1)
			return ACCT_ERR_INVALID;
		if (set_str((char **)(void *)((char *)a + t[i].off), v) != 0)
			return ACCT_ERR_NOMEM;
	}
	return ACCT_OK;
}

/* Apply the property arguments of users add / users mod to *a. */
static int
apply_fields(struct ctx *x, struct proto_request *req, struct account *a)
{
	int rc;

	if ((rc = apply_text(x, req, a)) != ACCT_OK)
		return rc;
	if (PROTO_HAS(req, F_EMAIL)) {
		char *e = req->arg[F_EMAIL].str;

		free(a->email);
		a->email = NULL;
		if (e[0] != '\0') {
			if (validate_email(e, x->err, sizeof(x->err)) == -1)
				return ACCT_ERR_INVALID;
			if ((a->email = strdup(e)) == NULL)
				return ACCT_ERR_NOMEM;
		}
	}
	if (PROTO_HAS(req, F_SUPERADMIN))
		a->superadmin = req->arg[F_SUPERADMIN].b;
	if (PROTO_HAS(req, F_LOGIN))
		a->login = req->arg[F_LOGIN].b;
	if (PROTO_HAS(req, F_WEBDAV))
		a->webdav = req->arg[F_WEBDAV].b;
	if (PROTO_HAS(req, F_DISABLE_2FA) && req->arg[F_DISABLE_2FA].b)
		a->two_factor = false;
	if (PROTO_HAS(req, F_UNLOCK) && req->arg[F_UNLOCK].b) {
		a->failed_logins = 0;
		a->locked_until = 0;
	}
	return ACCT_OK;
}

static int
account_defaults(struct account *a, const char *username)
{
	memset(a, 0, sizeof(*a));
	a->login = true;
	a->activated = true;
	if (set_str(&a->username, username) || set_str(&a->name, "") ||
	    set_str(&a->role, "user") || set_str(&a->upload_path, "") ||
	    set_str(&a->auth_provider, "default") || set_str(&a->auth_id, ""))
		return ACCT_ERR_NOMEM;
	return ACCT_OK;
}

static int
username_arg(struct ctx *x, struct proto_request *req, char **out)
{
	*out = req->arg[F_USERNAME].str;
	if (validate_username(*out, x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	return ACCT_OK;
}

int
named_account(struct ctx *x, struct proto_request *req, struct account *a)
{
	char *name;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = username_arg(x, req, &name)) != ACCT_OK)
		return rc;
	if ((rc = account_get(name, a)) == ACCT_ERR_NOT_FOUND)
		return ctx_fail(x, rc, "no account named '%s'", name);
	return rc;
}

static int
result_user(struct proto_msg *res, const struct account *a)
{
	account_pack(proto_kv_begin(res, "user"), a);
	return ACCT_OK;
}

/* A write refused by a unique index: say which one. */
static int
exists_error(struct ctx *x, const struct account *a)
{
	struct account other;

	if (account_get(a->username, &other) == ACCT_OK &&
	    strcmp(other.id, a->id) != 0) {
		account_free(&other);
		return ctx_fail(x, ACCT_ERR_EXISTS, "account '%s' already "
		    "exists", a->username);
	}
	account_free(&other);
	return ctx_fail(x, ACCT_ERR_EXISTS, "email address is already used "
	    "by another account");
}

/* Hash the new password of users add, after the policy check. */
static int
new_hash(struct ctx *x, struct proto_request *req, char **hash)
{
	const struct proto_value *pw = &req->arg[F_NEW_PASSWORD];

	*hash = NULL;
	if (!PROTO_HAS(req, F_NEW_PASSWORD))
		return ACCT_OK;
	if (validate_password(&x->cfg, pw->str, pw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;
	return hash_password(&x->cfg, pw->str, pw->len, hash);
}

/* users add --activate: pending until the mailed token is confirmed. */
static int
check_activate(struct ctx *x, struct proto_request *req, struct account *a)
{
	if (!PROTO_HAS(req, F_ACTIVATE) || !req->arg[F_ACTIVATE].b)
		return ACCT_OK;
	if (a->email == NULL)
		return ctx_fail(x, ACCT_ERR_INVALID, "activation needs an "
		    "email address");
	if (x->cfg.mail_from[0] == '\0' || x->cfg.activation_url[0] == '\0')
		return ctx_fail(x, ACCT_ERR_NOT_CONFIGURED, "mail is not "
		    "configured: set mail_from and activation_url in "
		    "acctd.conf");
	a->activated = false;
	return ACCT_OK;
}

static int
add_or_restore(struct ctx *x, struct proto_request *req, const char *name,
    struct account *a, bool *restored)
{
	int rc;

	*restored = false;
	if ((rc = account_get(name, a)) == ACCT_OK)
		return ctx_fail(x, ACCT_ERR_EXISTS, "account '%s' already "
		    "exists", name);
	if (rc != ACCT_ERR_NOT_FOUND)
		return rc;
	rc = account_get_deleted(name, a);
	if (rc == ACCT_OK && !PROTO_HAS(req, F_RESTORE))
		return ctx_fail(x, ACCT_ERR_DELETED, "a deleted account named "
		    "'%s' exists: restore it, or create a new one", name);
	if (rc == ACCT_OK && req->arg[F_RESTORE].b) {
		*restored = true;
		a->deleted_at = 0;
		return ACCT_OK;
	}
	if (rc == ACCT_OK)
		account_free(a);
	else if (rc != ACCT_ERR_NOT_FOUND)
		return rc;
	return account_defaults(a, name);
}

int
h_user_add(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account a;
	char *name, *hash = NULL;
	bool restored;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = username_arg(x, req, &name)) != ACCT_OK)
		return rc;
	if ((rc = add_or_restore(x, req, name, &a, &restored)) != ACCT_OK ||
	    (rc = apply_fields(x, req, &a)) != ACCT_OK ||
	    (rc = check_activate(x, req, &a)) != ACCT_OK ||
	    (rc = new_hash(x, req, &hash)) != ACCT_OK)
		goto out;
	if (hash != NULL) {
		if (a.hash != NULL)
			freezero(a.hash, strlen(a.hash));
		a.hash = hash;
	}
	if (restored) {
		a.updated_at = now_unix();
		rc = account_update(&a, UPD_ACTIVATED |
		    (hash != NULL ? UPD_HASH : 0));
	} else
		rc = account_insert(&a);
	if (rc == ACCT_ERR_EXISTS)
		rc = exists_error(x, &a);
	if (rc != ACCT_OK)
		goto out;
	log_info("uid %u: %s account %s", (unsigned)x->peer->uid,
	    restored ? "restored" : "added", a.username);
	result_user(res, &a);
	proto_kv_bool(res, "restored", restored);
	/* The account exists either way: say whether the mail went, and
	 * users reset-password sends it again. */
	if (!a.activated) {
		bool sent = reset_mail(x, &a, true) == ACCT_OK;

		proto_kv_bool(res, "activation_mailed", sent);
		if (!sent)
			proto_kv_str(res, "warning", x->err);
		x->err[0] = '\0';
	}
out:
	account_free(&a);
	return rc;
}

int
h_user_show(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account a;
	int rc;

	if ((rc = named_account(x, req, &a)) != ACCT_OK)
		return rc;
	result_user(res, &a);
	account_free(&a);
	return ACCT_OK;
}

int
h_user_list(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	char current[96];

	hash_current_prefix(&x->cfg, current, sizeof(current));
	return account_list(PROTO_HAS(req, F_SEARCH) ?
	    req->arg[F_SEARCH].str : NULL, PROTO_HAS(req, F_LEGACY) &&
	    req->arg[F_LEGACY].b ? current : NULL,
	    PROTO_HAS(req, F_LIMIT) ? req->arg[F_LIMIT].i : LIST_DEFAULT_LIMIT,
	    PROTO_HAS(req, F_OFFSET) ? req->arg[F_OFFSET].i : 0, res);
}

static unsigned
mod_flags(struct proto_request *req, bool newpw)
{
	return (newpw ? UPD_HASH : 0) |
	    (PROTO_HAS(req, F_UNLOCK) && req->arg[F_UNLOCK].b ? UPD_UNLOCK : 0) |
	    (PROTO_HAS(req, F_DISABLE_2FA) && req->arg[F_DISABLE_2FA].b ?
	    UPD_NO2FA : 0);
}

int
h_user_mod(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account a;
	char *hash = NULL;
	int rc;

	if ((rc = named_account(x, req, &a)) != ACCT_OK)
		return rc;
	if ((rc = apply_fields(x, req, &a)) == ACCT_OK &&
	    (rc = new_hash(x, req, &hash)) == ACCT_OK) {
		bool newpw = hash != NULL;

		if (newpw) {
			if (a.hash != NULL)
				freezero(a.hash, strlen(a.hash));
			a.hash = hash;
			hash = NULL;
		}
		a.updated_at = now_unix();
		/* Sessions opened with the old password end with it. */
		if ((rc = account_update(&a, mod_flags(req, newpw))) ==
		    ACCT_OK && newpw)
			token_delete_account(a.id, "session", NULL);
		if (rc == ACCT_ERR_EXISTS)
			rc = exists_error(x, &a);
	}
	if (rc == ACCT_OK) {
		log_info("uid %u: modified account %s",
		    (unsigned)x->peer->uid, a.username);
		result_user(res, &a);
	}
	account_free(&a);
	return rc;
}

int
h_user_rm(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account a;
	int rc;

	if ((rc = named_account(x, req, &a)) != ACCT_OK)
		return rc;
	if ((rc = account_delete(a.id)) == ACCT_OK) {
		int64_t n = 0;

		/* A deleted account keeps no way in. */
		token_delete_account(a.id, NULL, &n);
		log_info("uid %u: deleted account %s and its %lld tokens",
		    (unsigned)x->peer->uid, a.username, (long long)n);
		proto_kv_str(res, "username", a.username);
	}
	account_free(&a);
	return rc;
}

int
h_users_reset(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	int64_t removed = 0;
	int rc;

	if (!req->arg[F_CONFIRM].b)
		return ctx_fail(x, ACCT_ERR_CONFIRM, "users_reset removes "
		    "every account: send confirm=true");
	if ((rc = account_reset_all(&removed)) != ACCT_OK)
		return rc;
	/* Clients belong to no account: they go too, and the failure
	 * counters. The audit log stays: audit reset clears it. */
	if ((rc = token_reset_all(NULL)) != ACCT_OK ||
	    (rc = throttle_reset_all()) != ACCT_OK)
		return rc;
	log_warn("uid %u: removed all %lld accounts", (unsigned)x->peer->uid,
	    (long long)removed);
	proto_kv_int(res, "removed", removed);
	return ACCT_OK;
}
