/*
 * dispatch.c: the whole authorization policy. One row per operation says
 * what it acts on, which classes may call it and which of those must
 * prove the account's secret; a request is refused here or not at all.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

#define ADMIN		C_ADMIN
#define AUTH		C_AUTH
#define SELF		C_SELF
#define AUTH_SESSION	C_AUTH_SESSION
#define ANYONE		C_ANYONE

/* What a request acts on, which decides SELF and AUTH_SESSION. */
enum target {
	T_NONE,
	T_ACCOUNT,	/* username, or without it the caller's own */
	T_TOKEN,	/* id or token; a refusal is not_found */
	T_OWN,		/* the caller's own account, or all for an admin */
};

static const struct row {
	enum target	 target;
	unsigned	 allow;		/* classes that may call it */
	unsigned	 prove;		/* those that must give the secret */
	handler_fn	*fn;
} policy[OP__COUNT] = {
	[OP_HELLO]		= { T_NONE, ANYONE, 0, h_hello },
	[OP_USER_ADD]		= { T_NONE, ADMIN, 0, h_user_add },
	[OP_USER_SHOW]		= { T_ACCOUNT, ADMIN, 0, h_user_show },
	[OP_USER_LIST]		= { T_NONE, ADMIN, 0, h_user_list },
	[OP_USER_MOD]		= { T_ACCOUNT, ADMIN, 0, h_user_mod },
	[OP_USER_RM]		= { T_ACCOUNT, ADMIN, 0, h_user_rm },
	[OP_USERS_RESET]	= { T_NONE, ADMIN, 0, h_users_reset },
	/* A user changes their own; a service acts for a user; both with
	 * the current password (or a session, for an SSO account). */
	[OP_PASSWD]		= { T_ACCOUNT, ADMIN | AUTH | SELF, AUTH | SELF,
				    h_passwd },
	[OP_LOGIN]		= { T_NONE, ADMIN | AUTH, 0, h_login },
	[OP_AUDIT_LOGINS]	= { T_NONE, ADMIN, 0, h_audit_logins },
	[OP_AUDIT_RESET]	= { T_NONE, ADMIN, 0, h_audit_reset },
	[OP_TOKEN_ADD]		= { T_NONE, ADMIN, 0, h_token_add },
	[OP_TOKEN_VALIDATE]	= { T_NONE, ADMIN | AUTH, 0, h_token_validate },
	[OP_TOKEN_LIST]		= { T_OWN, ADMIN | SELF, 0, h_token_list },
	[OP_TOKEN_SHOW]		= { T_TOKEN, ADMIN | SELF, 0, h_token_show },
	/* A service logs its users out. */
	[OP_TOKEN_REVOKE]	= { T_TOKEN, ADMIN | SELF | AUTH_SESSION, 0,
				    h_token_revoke },
	[OP_TOKENS_RESET]	= { T_NONE, ADMIN, 0, h_tokens_reset },
	[OP_CLIENT_VERIFY]	= { T_NONE, ADMIN | AUTH, 0, h_client_verify },
	[OP_PASSWORD_FORGOT]	= { T_NONE, ADMIN | AUTH, 0, h_password_forgot },
	/* Holding a mailed token is the credential. */
	[OP_PASSWORD_RESET]	= { T_NONE, ANYONE, 0, h_password_reset },
	[OP_USER_RESET_PASSWORD] = { T_ACCOUNT, ADMIN, 0,
				    h_user_reset_password },
	/* A service vouches for a user it authenticated itself (SSO). */
	[OP_SESSION_ADD]	= { T_ACCOUNT, ADMIN | AUTH, 0, h_session_add },
	[OP_TOTP_ENROLL]	= { T_ACCOUNT, ADMIN | SELF, SELF,
				    h_totp_enroll },
	/* The code itself is checked, whoever confirms. */
	[OP_TOTP_CONFIRM]	= { T_ACCOUNT, ADMIN | SELF, 0, h_totp_confirm },
	[OP_USER_IMPORT]	= { T_NONE, ADMIN, 0, h_user_import },
	[OP_AUDIT_LOCKS]	= { T_NONE, ADMIN, 0, h_audit_locks },
	[OP_DB_BACKUP]		= { T_NONE, ADMIN, 0, h_db_backup },
	[OP_AUDIT_EVENTS]	= { T_NONE, ADMIN, 0, h_audit_events },
	/* Counters, no account's data: a service's monitoring may ask. */
	[OP_STATS]		= { T_NONE, ADMIN | AUTH, 0, h_stats },
};

int
dispatch_init(void)
{
	for (int op = 0; op < OP__COUNT; op++)
		if (policy[op].fn == NULL || policy[op].allow == 0) {
			log_err("operation %s has no handler or no row in the "
			    "policy table", proto_ops[op].name);
			return -1;
		}
	return 0;
}

int
ctx_fail(struct ctx *x, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(x->err, sizeof(x->err), fmt, ap);
	va_end(ap);
	return code;
}

/* The caller's own account: the one named like its Unix login. */
static bool
self_named(const struct ctx *x, const char *username)
{
	return x->peer->creds_ok && x->peer->login[0] != '\0' &&
	    strcmp(x->peer->login, username) == 0;
}

static int
resolve_self_id(struct ctx *x)
{
	struct account a;
	int rc;

	x->self_id[0] = '\0';
	if (!x->peer->creds_ok || x->peer->login[0] == '\0')
		return ACCT_OK;
	if ((rc = account_get(x->peer->login, &a)) == ACCT_OK)
		strlcpy(x->self_id, a.id, sizeof(x->self_id));
	account_free(&a);
	return rc == ACCT_ERR_NOT_FOUND ? ACCT_OK : rc;
}

/* The token a request names by id or whole, its type and owner. */
static int
resolve_token(struct ctx *x, struct proto_request *req)
{
	char owner[33];
	int rc;

	if (PROTO_HAS(req, F_ID) == PROTO_HAS(req, F_TOKEN))
		return ctx_fail(x, ACCT_ERR_INVALID, "give either an id or a "
		    "token");
	if (PROTO_HAS(req, F_TOKEN)) {
		if (token_check(req->arg[F_TOKEN].str, TOKEN_BEARER, NULL, owner,
		    NULL) != ACCT_OK)
			return ctx_fail(x, ACCT_ERR_INVALID_TOKEN,
			    "invalid token");
		token_id_of(req->arg[F_TOKEN].str, x->token_id);
	} else
		strlcpy(x->token_id, req->arg[F_ID].str, sizeof(x->token_id));
	if ((rc = token_show(x->token_id, owner, &x->token_type, NULL,
	    NULL)) == ACCT_ERR_NOT_FOUND)
		return ctx_fail(x, rc, "no such token");
	strlcpy(x->token_owner, owner, sizeof(x->token_owner));
	if (rc == ACCT_OK && (rc = resolve_self_id(x)) == ACCT_OK) {
		if (x->self_id[0] != '\0' && strcmp(owner, x->self_id) == 0)
			x->classes |= SELF;
		if ((x->classes & AUTH) && x->token_type == TOKEN_SESSION)
			x->classes |= AUTH_SESSION;
	}
	return rc;
}

/* The account a request names; its row is read once allowed. */
static int
resolve_account(struct ctx *x, struct proto_request *req)
{
	if (PROTO_HAS(req, F_USERNAME)) {
		x->username = req->arg[F_USERNAME].str;
		if (validate_username(req->arg[F_USERNAME].str, x->err,
		    sizeof(x->err)) == -1)
			return ACCT_ERR_INVALID;
	} else if (x->peer->creds_ok && x->peer->login[0] != '\0')
		x->username = x->peer->login;
	else
		return ctx_fail(x, ACCT_ERR_INVALID, "no username given and "
		    "your uid has no login name");
	if (self_named(x, x->username))
		x->classes |= SELF;
	return ACCT_OK;
}

static int
resolve(struct ctx *x, struct proto_request *req, enum target t)
{
	int rc;

	switch (t) {
	case T_ACCOUNT:
		return resolve_account(x, req);
	case T_TOKEN:
		return resolve_token(x, req);
	case T_OWN:
		if ((rc = resolve_self_id(x)) == ACCT_OK &&
		    x->self_id[0] != '\0')
			x->classes |= SELF;
		return rc;
	case T_NONE:
		break;
	}
	return ACCT_OK;
}

static enum proto_needs
who_may(unsigned allow)
{
	if (allow & (SELF | AUTH_SESSION))
		return PROTO_NEEDS_SELF;
	if (allow & AUTH)
		return PROTO_NEEDS_AUTH;
	return PROTO_NEEDS_ADMIN;
}

/*
 * A refusal says who may, in the error's needs and in words, with the
 * groups that give the classes, so that the caller sees the way out.
 */
static int
refuse(struct ctx *x, enum proto_op op, enum target t)
{
	static const char *const words[PROTO_NEEDS__COUNT] = {
		[PROTO_NEEDS_ADMIN] = "admins",
		[PROTO_NEEDS_AUTH] = "admins and authenticators",
		[PROTO_NEEDS_SELF] = "admins, and others on their own account",
	};
	char group[256], auth[256];

	config_group_name(x->cfg->admin_group, group, sizeof(group));
	config_group_name(x->cfg->auth_group, auth, sizeof(auth));
	/* The admin reading this wants the way out: which groups. */
	log_info("uid %u (%s): %s refused: for %s (admins: root and members "
	    "of %s; authenticators: members of %s)", (unsigned)x->peer->uid,
	    x->peer->comm, proto_ops[op].name,
	    words[who_may(policy[op].allow)], group, auth);
	/* Whether someone else's token exists is not told. */
	if (t == T_TOKEN)
		return ctx_fail(x, ACCT_ERR_NOT_FOUND, "no such token");
	if (t == T_OWN) {
		x->needs = PROTO_NEEDS_ACCOUNT;
		return ctx_fail(x, ACCT_ERR_DENIED, "permission denied: your "
		    "login name has no account (admins: root and members of "
		    "%s)", group);
	}
	x->needs = who_may(policy[op].allow);
	return ctx_fail(x, ACCT_ERR_DENIED, "permission denied: %s is for "
	    "%s (admins: root and members of %s)", proto_ops[op].name,
	    words[x->needs], group);
}

/* The error reply; a refusal's with needs and the groups' names. */
static int
error_finish(const struct ctx *x, uint64_t id, int rc,
    struct proto_frame *out)
{
	char admin[256], auth[256];
	const char *kv[] = { "needs", proto_needs[x->needs], "admin_group",
	    admin, "auth_group", auth, NULL };

	if (rc != ACCT_ERR_DENIED || x->needs == PROTO_NEEDS_NONE)
		return proto_error_finish(id, rc, x->err, out);
	config_group_name(x->cfg->admin_group, admin, sizeof(admin));
	config_group_name(x->cfg->auth_group, auth, sizeof(auth));
	return proto_error_finish_kv(id, rc, x->err, kv, out);
}

static int
run(struct ctx *x, struct proto_request *req, struct proto_frame *out)
{
	const struct row *r = &policy[req->op];
	struct proto_msg res;
	int rc;

	if ((rc = resolve(x, req, r->target)) != ACCT_OK)
		return rc;
	if ((r->allow & x->classes) == 0)
		return refuse(x, req->op, r->target);
	/* Proof is owed unless a class that needs none allows it. */
	x->must_prove = (r->allow & x->classes & ~r->prove) == 0;
	x->only_account = r->target == T_OWN && !(x->classes & ADMIN) ?
	    x->self_id : NULL;
	if (r->target == T_ACCOUNT &&
	    (x->found = account_get(x->username, &x->account)) != ACCT_OK &&
	    x->found != ACCT_ERR_NOT_FOUND)
		return x->found;
	proto_msg_init(&res);
	rc = r->fn(x, req, &res);
	if (rc == ACCT_OK &&
	    (rc = proto_reply_finish(&res, req->id, out)) == ACCT_ERR_INVALID)
		rc = ctx_fail(x, ACCT_ERR_INTERNAL, "reply too large; ask for "
		    "fewer items");
	proto_msg_free(&res);
	return rc;
}

/*
 * A root peer acting for a real user: pam_acct in a setuid program (su,
 * a setuid-root PAM client run by anyone) connects with its effective
 * uid, 0, and names the real one. Believed from uid 0 alone: root could
 * act as any uid anyway, and the claim only gives up root's reserve;
 * from another uid it would charge a third party's limits. The request
 * is then charged as that uid's: its hash limit and its failure
 * throttle, as if the user had asked acctd directly.
 */
static void
acting_for(struct ctx *x, const struct proto_request *req)
{
	uid_t real;

	if (!PROTO_HAS(req, F_REAL_UID) || !x->peer->creds_ok ||
	    x->peer->uid != 0 || (real = (uid_t)req->arg[F_REAL_UID].i) == 0)
		return;
	x->hc.reserved = false;
	x->hc.uid = real;
	log_info("uid 0 (%s): acting for uid %u", x->peer->comm,
	    (unsigned)real);
}

void
dispatch(const struct peer *peer, const void *payload, size_t len,
    int passed_fd, struct proto_frame *out)
{
	struct proto_request req;
	const char *problem;
	struct ctx *x;
	int64_t t0 = mono_us();
	bool decoded;
	int rc;

	(void)db_problem();	/* none left over from a request before */
	out->data = NULL;
	out->len = 0;
	/* On the heap, and the config shared rather than copied: hundreds
	 * of threads may wait on a hash, each with its request. */
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->cfg = config_hold()) == NULL) {
		free(x);
		if (proto_error_finish(0, ACCT_ERR_INTERNAL, "out of memory",
		    out) != ACCT_OK)
			out->data = NULL;
		return;
	}
	x->peer = peer;
	x->passed_fd = passed_fd;
	x->classes = peer_classes(peer, x->cfg);
	x->hc.reserved = (x->classes & (ADMIN | AUTH)) != 0;
	x->hc.uid = peer->uid;
	x->found = ACCT_ERR_NOT_FOUND;
	rc = proto_request_decode(payload, len, &req, x->err, sizeof(x->err));
	if ((decoded = rc == ACCT_OK)) {
		acting_for(x, &req);
		rc = run(x, &req, out);
	}
	if (rc != ACCT_OK) {
		/* Client-side codes never go on the wire. */
		if (rc >= ACCT_ERR__WIRE_MAX) {	/* ACCT_ERR_NOMEM too */
			rc = ACCT_ERR_INTERNAL;
			strlcpy(x->err, "out of memory", sizeof(x->err));
		}
		if (x->err[0] == '\0' && (rc == ACCT_ERR_STORAGE ||
		    rc == ACCT_ERR_BUSY) && (problem = db_problem()) != NULL)
			strlcpy(x->err, problem, sizeof(x->err));
		if (x->err[0] == '\0')
			strlcpy(x->err, acct_strerror(rc), sizeof(x->err));
		log_debug("uid %u: request %llu: %s: %s", (unsigned)peer->uid,
		    (unsigned long long)req.id, acct_errname(rc), x->err);
		if (error_finish(x, req.id, rc, out) != ACCT_OK)
			out->data = NULL;
	}
	/* Only what decoded names an operation. */
	stats_request(decoded ? (int)req.op : -1, rc != ACCT_OK,
	    mono_us() - t0);
	proto_request_free(&req);
	account_free(&x->account);
	config_release(x->cfg);
	free(x);
}

/*
 * One cell of the matrix: what a peer of the column's classes (base),
 * which may also gain the classes of own (on targets of its own), may do.
 */
static void
cell(FILE *f, const struct row *r, unsigned base, unsigned own)
{
	unsigned got = r->allow & base, more = r->allow & own;

	if (got)
		fputs((got & ~r->prove) ? "yes" : "yes (P)", f);
	else if (more) {
		fputs((more & SELF) ? "own" : "", f);
		fputs((more & SELF) && (more & AUTH_SESSION) ? ", " : "", f);
		fputs((more & AUTH_SESSION) ? "sessions" : "", f);
		fputs((more & ~r->prove) ? "" : " (P)", f);
	} else
		fputs("no", f);
}

void
dispatch_matrix(FILE *f)
{
	for (int op = 0; op < OP__COUNT; op++) {
		const struct row *r = &policy[op];

		fprintf(f, ".It Ic %s Ta ", proto_ops[op].name);
		cell(f, r, ADMIN | AUTH | ANYONE, SELF);
		fputs(" Ta ", f);
		cell(f, r, AUTH | ANYONE, SELF | AUTH_SESSION);
		fputs(" Ta ", f);
		cell(f, r, ANYONE, SELF);
		fputs(" Ta ", f);
		cell(f, r, ANYONE, 0);
		fputc('\n', f);
	}
}
