/*
 * op_accounts.c: handlers for hello and the users commands (add, show,
 * list, mod, rm, reset). Writes name only the columns a request changes.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

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
	n = 1 + !!(x->classes & C_AUTH) + !!(x->classes & C_ADMIN);
	msgpack_pack_array(pk, (size_t)n);
	if (x->classes & C_ADMIN)
		proto_pack_cstr(pk, "admin");
	if (x->classes & C_AUTH)
		proto_pack_cstr(pk, "authenticator");
	proto_pack_cstr(pk, "user");
	return ACCT_OK;
}

/* The text properties: argument, check, change bit and member. */
static const struct {
	const char	*what;
	int		(*check)(const char *, char *, size_t);
	size_t		 off;
	enum proto_field f;
	unsigned	 bit;
} texts[] = {
	{ "name", NULL, offsetof(struct account_change, name), F_NAME,
	    AC_NAME },
	{ "role", validate_role, offsetof(struct account_change, role),
	    F_ROLE, AC_ROLE },
	{ "auth provider", validate_provider,
	    offsetof(struct account_change, auth_provider), F_AUTH_PROVIDER,
	    AC_AUTH_PROVIDER },
	{ "auth id", NULL, offsetof(struct account_change, auth_id),
	    F_AUTH_ID, AC_AUTH_ID },
	{ "upload path", NULL, offsetof(struct account_change, upload_path),
	    F_UPLOAD_PATH, AC_UPLOAD_PATH },
};

static const struct {
	enum proto_field f;
	unsigned	 bit;
	size_t		 off;
} bools[] = {
	{ F_SUPERADMIN, AC_SUPERADMIN,
	    offsetof(struct account_change, superadmin) },
	{ F_LOGIN, AC_LOGIN, offsetof(struct account_change, login) },
	{ F_WEBDAV, AC_WEBDAV, offsetof(struct account_change, webdav) },
};

/* "default" -1 (the config's), "never" 0, or 1 to 36500 days. */
static int
max_age(const char *s, int64_t *days)
{
	char *end;
	long v;

	if (strcmp(s, "default") == 0 || strcmp(s, "never") == 0) {
		*days = s[0] == 'd' ? -1 : 0;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v > 36500)
		return -1;
	*days = v;
	return 0;
}

/* The property arguments of users add / users mod, checked. */
static int
change_from(struct ctx *x, struct proto_request *req,
    struct account_change *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const char *v = req->arg[texts[i].f].str;

		if (!PROTO_HAS(req, texts[i].f))
			continue;
		if ((texts[i].check != NULL ? texts[i].check(v, x->err,
		    sizeof(x->err)) : validate_text(texts[i].what, v, x->err,
		    sizeof(x->err))) == -1)
			return ACCT_ERR_INVALID;
		*(const char **)(void *)((char *)c + texts[i].off) = v;
		c->set |= texts[i].bit;
	}
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (PROTO_HAS(req, bools[i].f)) {
			*(bool *)(void *)((char *)c + bools[i].off) =
			    req->arg[bools[i].f].b;
			c->set |= bools[i].bit;
		}
	if (PROTO_HAS(req, F_EMAIL)) {
		char *e = req->arg[F_EMAIL].str;

		if (e[0] != '\0' &&
		    validate_email(e, x->err, sizeof(x->err)) == -1)
			return ACCT_ERR_INVALID;
		c->email = e[0] != '\0' ? e : NULL;
		c->set |= AC_EMAIL;
	}
	if (PROTO_HAS(req, F_EXPIRES_AT)) {
		c->expires_at = req->arg[F_EXPIRES_AT].i;
		c->set |= AC_EXPIRES;
	}
	if (PROTO_HAS(req, F_MUST_CHANGE)) {
		c->must_change = req->arg[F_MUST_CHANGE].b;
		c->set |= AC_MUST_CHANGE;
	}
	if (PROTO_HAS(req, F_PASSWORD_MAX_AGE)) {
		if (max_age(req->arg[F_PASSWORD_MAX_AGE].str,
		    &c->max_age_days) == -1)
			return ctx_fail(x, ACCT_ERR_INVALID, "password max age "
			    "must be a number of days (1 to 36500), never or "
			    "default");
		c->set |= AC_MAX_AGE;
	}
	if (PROTO_HAS(req, F_DISABLE_2FA) && req->arg[F_DISABLE_2FA].b)
		c->set |= AC_NO2FA;
	if (PROTO_HAS(req, F_UNLOCK) && req->arg[F_UNLOCK].b)
		c->set |= AC_UNLOCK;
	return ACCT_OK;
}

/* Hash the new password of users add or mod, after the policy check. */
static int
new_hash(struct ctx *x, struct proto_request *req, struct account_change *c,
    char **hash)
{
	const struct proto_value *pw = &req->arg[F_NEW_PASSWORD];
	int rc;

	*hash = NULL;
	if (!PROTO_HAS(req, F_NEW_PASSWORD))
		return ACCT_OK;
	if (validate_password(x->cfg, pw->str, pw->len, x->err,
	    sizeof(x->err)) == -1)
		return ACCT_ERR_POLICY;
	if ((rc = hash_password(x->cfg, &x->hc, pw->str, pw->len, hash)) ==
	    ACCT_OK) {
		c->hash = *hash;
		c->set |= AC_HASH;
	}
	return rc;
}

/* A write refused by a unique index: say which one. */
static int
exists_error(struct ctx *x, const char *username, const char *id)
{
	struct account other;

	if (account_get(username, &other) == ACCT_OK &&
	    strcmp(other.id, id) != 0) {
		account_free(&other);
		return ctx_fail(x, ACCT_ERR_EXISTS, "account '%s' already "
		    "exists", username);
	}
	account_free(&other);
	return ctx_fail(x, ACCT_ERR_EXISTS, "email address is already used "
	    "by another account");
}

/* users add --activate: pending until the mailed token is confirmed. */
static int
want_pending(struct ctx *x, struct proto_request *req,
    const struct account_change *c, bool *pending)
{
	*pending = PROTO_HAS(req, F_ACTIVATE) && req->arg[F_ACTIVATE].b;
	if (!*pending)
		return ACCT_OK;
	if (!(c->set & AC_EMAIL) || c->email == NULL)
		return ctx_fail(x, ACCT_ERR_INVALID, "activation needs an "
		    "email address");
	if (x->cfg->mail_from[0] == '\0' || x->cfg->activation_url[0] == '\0')
		return ctx_fail(x, ACCT_ERR_NOT_CONFIGURED, "mail is not "
		    "configured: set mail_from and activation_url in "
		    "acctd.conf");
	return ACCT_OK;
}

/* A new account: the defaults, then what the change names. */
static int
insert_new(const char *name, const struct account_change *c, bool pending,
    char id[33])
{
#define OR(bit, v, dflt)	((c->set & (bit)) ? (v) : (dflt))
	struct account a = {
		.username = (char *)name,
		.name = (char *)OR(AC_NAME, c->name, ""),
		.email = (char *)OR(AC_EMAIL, c->email, NULL),
		.role = (char *)OR(AC_ROLE, c->role, "user"),
		.superadmin = OR(AC_SUPERADMIN, c->superadmin, false),
		.login = OR(AC_LOGIN, c->login, true),
		.webdav = OR(AC_WEBDAV, c->webdav, false),
		.upload_path = (char *)OR(AC_UPLOAD_PATH, c->upload_path, ""),
		.auth_provider = (char *)OR(AC_AUTH_PROVIDER,
		    c->auth_provider, "default"),
		.auth_id = (char *)OR(AC_AUTH_ID, c->auth_id, ""),
		.hash = (char *)OR(AC_HASH, c->hash, NULL),
		.activated = !pending,
		.expires_at = OR(AC_EXPIRES, c->expires_at, 0),
		.max_age_days = OR(AC_MAX_AGE, c->max_age_days, -1),
		.must_change = OR(AC_MUST_CHANGE, c->must_change, false),
	};
#undef OR
	int rc = account_insert(&a);

	memcpy(id, a.id, 33);
	return rc;
}

#define DELETED_MAX	16

/*
 * The deleted account of the name that the request means: the one of
 * its id, or the only one. Several and no id: say so, never choose.
 */
static int
which_deleted(struct ctx *x, struct proto_request *req, const char *name,
    const char *verb, struct account *a)
{
	struct deleted_account d[DELETED_MAX];
	const char *id = proto_str_or(req, F_ID, NULL);
	int n, rc;

	memset(a, 0, sizeof(*a));
	if ((rc = account_deleted(name, d, DELETED_MAX, &n)) != ACCT_OK)
		return rc;
	if (n == 0)
		return ACCT_ERR_NOT_FOUND;
	for (int i = 0; id != NULL && i < n && i < DELETED_MAX; i++)
		if (strcmp(d[i].id, id) == 0)
			return account_get_any_id(id, a);
	if (id != NULL)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no deleted account "
		    "named '%s' has the id %s", name, id);
	if (n > 1)
		return ctx_fail(x, ACCT_ERR_DELETED, "%d deleted accounts named "
		    "'%s' exist: %s one by its id (acctc users ls --deleted "
		    "%s)", n, name, verb, name);
	return account_get_any_id(d[0].id, a);
}

/* Undelete the deleted account of the name, if asked to. */
static int
restore(struct ctx *x, struct proto_request *req, const char *name,
    struct account_change *c, bool pending, char id[33], bool *restored)
{
	struct account old;
	int rc;

	*restored = false;
	if (PROTO_HAS(req, F_ID) && !(PROTO_HAS(req, F_RESTORE) &&
	    req->arg[F_RESTORE].b))
		return ctx_fail(x, ACCT_ERR_INVALID, "an id is only for "
		    "restore=true");
	if ((rc = which_deleted(x, req, name, "restore", &old)) ==
	    ACCT_ERR_NOT_FOUND && x->err[0] == '\0')
		return ACCT_OK;
	if (rc == ACCT_ERR_DELETED && PROTO_HAS(req, F_RESTORE) &&
	    !req->arg[F_RESTORE].b)
		rc = ACCT_OK;	/* several, and none is wanted */
	else if (rc == ACCT_OK && !PROTO_HAS(req, F_RESTORE))
		rc = ctx_fail(x, ACCT_ERR_DELETED, "a deleted account named "
		    "'%s' exists: restore it, or create a new one", name);
	else if (rc == ACCT_OK && req->arg[F_RESTORE].b) {
		c->set |= AC_ACTIVATED;
		c->activated = !pending;
		rc = account_restore(old.id, old.deleted_at, c);
		if (rc == ACCT_ERR_NOT_FOUND)
			rc = ctx_fail(x, ACCT_ERR_BUSY, "the deleted account "
			    "changed meanwhile; try again");
		memcpy(id, old.id, 33);
		*restored = rc == ACCT_OK;
	}
	account_free(&old);
	return rc;
}

int
h_user_add(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	char *name = req->arg[F_USERNAME].str, *hash = NULL, id[33] = "";
	struct account_change c;
	struct account a;
	bool restored = false, pending;
	int rc;

	memset(&a, 0, sizeof(a));
	if (validate_username(name, x->err, sizeof(x->err)) == -1)
		return ACCT_ERR_INVALID;
	if ((rc = change_from(x, req, &c)) != ACCT_OK ||
	    (rc = want_pending(x, req, &c, &pending)) != ACCT_OK)
		return rc;
	if ((rc = account_get(name, &a)) == ACCT_OK)
		rc = ctx_fail(x, ACCT_ERR_EXISTS, "account '%s' already "
		    "exists", name);
	account_free(&a);
	if (rc != ACCT_ERR_NOT_FOUND ||
	    (rc = new_hash(x, req, &c, &hash)) != ACCT_OK ||
	    (rc = restore(x, req, name, &c, pending, id, &restored)) !=
	    ACCT_OK)
		goto out;
	if (!restored)
		rc = insert_new(name, &c, pending, id);
	if (rc == ACCT_ERR_EXISTS)
		rc = exists_error(x, name, id);
	if (rc == ACCT_OK && (rc = account_get_id(id, &a)) == ACCT_OK) {
		log_info("uid %u: %s account %s", (unsigned)x->peer->uid,
		    restored ? "restored" : "added", a.username);
		auditlog_eventf(x->peer->uid, restored ? "account_restored" :
		    "account_created", a.username, "role %s, %s%s", a.role,
		    a.hash != NULL ? "a password" : "no password",
		    pending ? ", pending activation" : "");
		account_pack(proto_kv_begin(res, "user"), &a);
		proto_kv_bool(res, "restored", restored);
		/* The account exists either way: say whether the mail went,
		 * and users reset-password sends it again. */
		if (pending) {
			bool sent;
			int mrc = resetlink_mail(x, &a, true, false, "", &sent);

			proto_kv_bool(res, "activation_mailed", mrc == ACCT_OK);
			proto_kv_str(res, "mail", mrc != ACCT_OK ? "failed" :
			    sent ? "sent" : "queued");
			if (mrc != ACCT_OK) {
				proto_kv_str(res, "warning", x->err);
				proto_kv_str(res, "mail_error",
				    acct_errname(mrc));
			}
			x->err[0] = '\0';
		}
	}
out:
	if (hash != NULL)
		freezero(hash, strlen(hash));
	account_free(&a);
	return rc;
}

static int
no_account(struct ctx *x)
{
	return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no account named '%s'",
	    x->username);
}

int
h_user_show(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	(void)req;
	if (x->found != ACCT_OK)
		return no_account(x);
	account_pack(proto_kv_begin(res, "user"), &x->account);
	return ACCT_OK;
}

int
h_user_list(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	static const char *const filters[] = { "locked", "pending",
	    "disabled", "deleted", NULL };
	const char *filter = proto_str_or(req, F_FILTER, NULL);
	char current[96];
	size_t i;

	for (i = 0; filter != NULL && filters[i] != NULL &&
	    strcmp(filters[i], filter) != 0; i++)
		;
	if (filter != NULL && filters[i] == NULL)
		return ctx_fail(x, ACCT_ERR_INVALID, "filter must be locked, "
		    "pending, disabled or deleted");
	hash_current_prefix(x->cfg, current, sizeof(current));
	return account_list(proto_str_or(req, F_SEARCH, NULL),
	    PROTO_HAS(req, F_LEGACY) && req->arg[F_LEGACY].b ? current : NULL,
	    filter, PROTO_HAS(req, F_LIMIT) ? req->arg[F_LIMIT].i :
	    LIST_DEFAULT_LIMIT, PROTO_HAS(req, F_OFFSET) ?
	    req->arg[F_OFFSET].i : 0, res);
}

/* users mod: which properties it changed, by their argument names;
 * a new password is an event of its own. */
static void
audit_change(const struct ctx *x, const struct proto_request *req,
    const char *username)
{
	char what[256] = "";

	for (int f = 0; f < F__COUNT; f++)
		if (PROTO_HAS(req, f) && f != F_USERNAME &&
		    f != F_NEW_PASSWORD) {
			if (what[0] != '\0')
				strlcat(what, ", ", sizeof(what));
			strlcat(what, proto_fields[f].name, sizeof(what));
		}
	if (PROTO_HAS(req, F_NEW_PASSWORD))
		auditlog_event(x->peer->uid, "password_changed", username,
		    "by an admin (user_mod)");
	if (what[0] != '\0')
		auditlog_event(x->peer->uid, "account_changed", username, what);
}

int
h_user_mod(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account_change c;
	struct account a;
	char *hash = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	if (x->found != ACCT_OK)
		return no_account(x);
	if ((rc = change_from(x, req, &c)) != ACCT_OK ||
	    (rc = new_hash(x, req, &c, &hash)) != ACCT_OK)
		goto out;
	/* Only what the request names is written, to the row as it is
	 * now: an edit made while the password hashed is kept. */
	if ((rc = account_change(x->account.id, &c)) == ACCT_ERR_NOT_FOUND)
		rc = ctx_fail(x, rc, "account '%s' was deleted meanwhile",
		    x->username);
	else if (rc == ACCT_ERR_EXISTS)
		rc = exists_error(x, x->username, x->account.id);
	if (rc == ACCT_OK && (rc = account_get_id(x->account.id, &a)) ==
	    ACCT_OK) {
		log_info("uid %u: modified account %s%s",
		    (unsigned)x->peer->uid, a.username, hash != NULL ?
		    ", a new password" : "");
		audit_change(x, req, a.username);
		account_pack(proto_kv_begin(res, "user"), &a);
		/* What the unlock cleared, as it was read before. */
		if (c.set & AC_UNLOCK) {
			msgpack_packer *pk = proto_kv_begin(res, "unlocked");

			msgpack_pack_map(pk, 2);
			proto_pack_cstr(pk, "failed_logins");
			msgpack_pack_int64(pk, x->account.failed_logins);
			proto_pack_cstr(pk, "locked_until");
			if (x->account.locked_until > now_unix())
				msgpack_pack_int64(pk, x->account.locked_until);
			else
				msgpack_pack_nil(pk);
		}
	}
out:
	if (hash != NULL)
		freezero(hash, strlen(hash));
	account_free(&a);
	return rc;
}

/* users rm --purge: the live account of the name, or a deleted one. */
static int
purge(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct account a;
	int64_t n = 0;
	int rc;

	if (x->found == ACCT_OK && !PROTO_HAS(req, F_ID)) {
		if ((rc = account_delete(x->account.id, &n)) != ACCT_OK)
			return rc;
		rc = account_get_any_id(x->account.id, &a);
	} else if ((rc = which_deleted(x, req, x->username, "purge", &a)) ==
	    ACCT_ERR_NOT_FOUND && x->err[0] == '\0')
		rc = no_account(x);
	if (rc == ACCT_OK && (rc = account_purge(a.id)) == ACCT_OK) {
		log_warn("uid %u: purged account %s (%s)",
		    (unsigned)x->peer->uid, a.username, a.id);
		auditlog_event(x->peer->uid, "account_purged", a.username, "");
		proto_kv_str(res, "username", a.username);
		proto_kv_str(res, "id", a.id);
		proto_kv_bool(res, "purged", true);
	}
	account_free(&a);
	return rc;
}

int
h_user_rm(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	int64_t n = 0;
	int rc;

	if (PROTO_HAS(req, F_PURGE) && req->arg[F_PURGE].b)
		return purge(x, req, res);
	if (PROTO_HAS(req, F_ID))
		return ctx_fail(x, ACCT_ERR_INVALID, "an id is only for "
		    "purge=true");
	if (x->found != ACCT_OK)
		return no_account(x);
	if ((rc = account_delete(x->account.id, &n)) == ACCT_OK) {
		log_info("uid %u: deleted account %s and its %lld tokens",
		    (unsigned)x->peer->uid, x->username, (long long)n);
		auditlog_eventf(x->peer->uid, "account_removed", x->username,
		    "%lld sessions and tokens ended", (long long)n);
		proto_kv_str(res, "username", x->username);
	} else if (rc == ACCT_ERR_NOT_FOUND)
		rc = no_account(x);
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
	auditlog_eventf(x->peer->uid, "accounts_reset", "", "%lld accounts, "
	    "every token and client", (long long)removed);
	proto_kv_int(res, "removed", removed);
	return ACCT_OK;
}
