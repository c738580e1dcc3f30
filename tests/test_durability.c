/*
 * test_durability.c: kill -9 at random moments of a mixed write load and
 * restart, again and again. Two clients, each on accounts of
 * its own, add, change and delete accounts, set passwords, make and
 * revoke tokens, fail and succeed at logins (moving the throttle) and
 * import accounts. After every restart PRAGMA integrity_check is ok,
 * every acknowledged change is in the database, and the one change each
 * client had in flight is there whole or not at all: a changed password
 * ended its sessions, a deleted account has no tokens, an account's
 * tokens are exactly those made and not ended, failure counters moved
 * only by attempts.
 *
 * ACCT_KILLS is the number of kills (25 by default, as make check runs
 * it; make torture runs 500); ACCT_SEED repeats the printed seed's
 * choices of operations and of moments to kill.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define KILLS		25
#define CLIENTS		2
#define MAX_ACCTS	120	/* per client */
#define MAX_TOK		6	/* per account */
#define MAX_FAILURES	40	/* kept below the lockout thresholds */
#define REPLY_MS	20000
#define IMPORT_PW	"import-pass-1"

enum work {
	W_ADD, W_IMPORT, W_NAME, W_PASSWD, W_RM, W_TOKEN, W_REVOKE,
	W_FAIL, W_LOGIN, W_APPLOGIN, W__COUNT
};

static const char *const op_names[W__COUNT] = {
	"user_add", "user_import", "user_mod", "passwd", "user_rm",
	"token_add", "token_revoke", "login (wrong)", "login", "login (app)",
};

struct tok {
	char	id[TOKEN_ID_LEN];
	char	secret[TOKEN_STRING_LEN];	/* "" when never seen */
	char	type;		/* 's' session, 'a' access, 'p' app password */
};

/* What a client knows of one of its accounts. */
struct acct {
	char		name[24];
	char		display[32];
	char		pw[32];
	bool		live;		/* added, not deleted */
	bool		deleted;
	bool		pw_checked;	/* the hash checked since it changed */
	int64_t		failures;
	struct tok	tok[MAX_TOK];
	int		ntok;
};

/* The request a client sent when the daemon died, its reply unread. */
struct pending {
	enum work		op;
	int		acct;		/* its account, or an import's first */
	int		n;		/* accounts an import adds */
	char		val[32];	/* a new name or password */
	char		tok_type;	/* token_add */
	char		tok_id[TOKEN_ID_LEN];	/* token_revoke */
};

struct client {
	int		 k;
	const char	*sock;
	const char	*import_hash;
	struct acct	 a[MAX_ACCTS];
	int		 n;
	int		 ndeleted;
	int64_t		 src_failures;	/* of its source, 192.0.2.K */
	char		 remote[24];
	uint64_t	 rng;
	unsigned	 seq;
	int		 fd;
	uint64_t	 id;
	bool		 in_flight;
	bool		 was_in_flight;	/* at the last kill */
	struct pending	 p;
	char		 bad[512];	/* an unexpected reply, for main */
	int		 acked[W__COUNT];
	int		 unacked_whole, unacked_absent;
};

/* ---- the load, on the client threads ---- */

static unsigned
pick(struct client *c, unsigned n)
{
	return (unsigned)(th_rand(&c->rng) % n);
}

/* A live account, or -1. */
static int
live_acct(struct client *c)
{
	int start = (int)pick(c, (unsigned)(c->n > 0 ? c->n : 1));

	for (int j = 0; j < c->n; j++) {
		int i = (start + j) % c->n;

		if (c->a[i].live)
			return i;
	}
	return -1;
}

static int
app_password(const struct acct *a)
{
	for (int t = 0; t < a->ntok; t++)
		if (a->tok[t].type == 'p' && a->tok[t].secret[0] != '\0')
			return t;
	return -1;
}

/* The next operation and its account. */
static enum work
choose(struct client *c, int *ip)
{
	static const int weight[W__COUNT] = {
		[W_ADD] = 8, [W_IMPORT] = 2, [W_NAME] = 8,
		[W_PASSWD] = 7, [W_RM] = 2, [W_TOKEN] = 8,
		[W_REVOKE] = 5, [W_FAIL] = 14, [W_LOGIN] = 12,
		[W_APPLOGIN] = 4,
	};
	int i = live_acct(c);

	*ip = i;
	if (i < 0 || c->n < 3)
		return c->n + 1 < MAX_ACCTS ? W_ADD : W_NAME;
	for (;;) {
		unsigned r = pick(c, 70);
		enum work op = W_ADD;
		const struct acct *a = &c->a[i];

		for (int k = 0; k < W__COUNT; k++) {
			if (r < (unsigned)weight[k]) {
				op = (enum work)k;
				break;
			}
			r -= (unsigned)weight[k];
		}
		switch (op) {
		case W_ADD:
			if (c->n + 1 >= MAX_ACCTS)
				continue;
			break;
		case W_IMPORT:
			if (c->n + 2 >= MAX_ACCTS)
				continue;
			break;
		case W_TOKEN:
		case W_LOGIN:
			if (a->ntok >= MAX_TOK)
				continue;
			break;
		case W_REVOKE:
			if (a->ntok == 0)
				continue;
			break;
		case W_RM:
			/* Names are not reused: keep most accounts live. */
			if (c->ndeleted >= MAX_ACCTS / 4)
				continue;
			break;
		case W_FAIL:
			/* Below both lockouts, so a failure is one. */
			if (a->failures >= MAX_FAILURES ||
			    c->src_failures >= MAX_FAILURES)
				continue;
			break;
		case W_APPLOGIN:
			if (app_password(a) < 0)
				continue;
			break;
		default:
			break;
		}
		return op;
	}
}

static void
name_acct(const struct client *c, int i, char *buf, size_t sz)
{
	snprintf(buf, sz, "c%du%d", c->k, i);
}

/* The request for the pending operation c->p. */
static const char *
build(struct client *c, struct proto_msg *m)
{
	struct pending *p = &c->p;
	struct acct *a = &c->a[p->acct];
	char data[2048];
	size_t len = 0;

	switch (p->op) {
	case W_ADD:
		proto_kv_str(m, "username", a->name);
		proto_kv_str(m, "new_password", p->val);
		return "user_add";
	case W_IMPORT:
		for (int j = 0; j < p->n; j++)
			len += (size_t)snprintf(data + len, sizeof(data) - len,
			    "%s:%s\n", c->a[p->acct + j].name, c->import_hash);
		proto_kv_str(m, "data", data);
		return "user_import";
	case W_NAME:
		proto_kv_str(m, "username", a->name);
		proto_kv_str(m, "name", p->val);
		return "user_mod";
	case W_PASSWD:
		proto_kv_str(m, "username", a->name);
		proto_kv_str(m, "new_password", p->val);
		return "passwd";
	case W_RM:
		proto_kv_str(m, "username", a->name);
		return "user_rm";
	case W_TOKEN:
		proto_kv_str(m, "type", p->tok_type == 'a' ? "access_token" :
		    "app_password");
		proto_kv_str(m, "username", a->name);
		proto_kv_str(m, "name", "dav");
		return "token_add";
	case W_REVOKE:
		proto_kv_str(m, "id", p->tok_id);
		return "token_revoke";
	case W_FAIL:
	case W_LOGIN:
	case W_APPLOGIN:
		proto_kv_str(m, "username", a->name);
		proto_kv_str(m, "password", p->op == W_FAIL ? "wrong-password" :
		    p->op == W_LOGIN ? a->pw :
		    a->tok[app_password(a)].secret);
		proto_kv_str(m, "remote_addr", c->remote);
		if (p->op == W_LOGIN)
			proto_kv_bool(m, "session", true);
		return "login";
	case W__COUNT:
		break;
	}
	return "hello";
}

static void
new_acct(struct client *c, int i, const char *pw)
{
	struct acct *a = &c->a[i];

	memset(a, 0, sizeof(*a));
	name_acct(c, i, a->name, sizeof(a->name));
	snprintf(a->pw, sizeof(a->pw), "%s", pw);
	a->live = true;
}

static void
drop_token(struct acct *a, int t)
{
	a->tok[t] = a->tok[--a->ntok];
}

static void
add_token(struct acct *a, char type, const char *secret, const char *id)
{
	struct tok *t = &a->tok[a->ntok++];

	memset(t, 0, sizeof(*t));
	t->type = type;
	snprintf(t->secret, sizeof(t->secret), "%s", secret);
	snprintf(t->id, sizeof(t->id), "%.16s", id);
}

static void
end_sessions(struct acct *a)
{
	for (int t = a->ntok - 1; t >= 0; t--)
		if (a->tok[t].type == 's')
			drop_token(a, t);
}

/* The pending operation happened: the model follows. token: the new
 * token's secret, or its id alone when it was never seen. */
static void
apply(struct client *c, const char *token)
{
	struct pending *p = &c->p;
	struct acct *a = &c->a[p->acct];

	switch (p->op) {
	case W_ADD:
		new_acct(c, p->acct, p->val);
		c->n = p->acct + 1;
		break;
	case W_IMPORT:
		for (int j = 0; j < p->n; j++)
			new_acct(c, p->acct + j, IMPORT_PW);
		c->n = p->acct + p->n;
		break;
	case W_NAME:
		snprintf(a->display, sizeof(a->display), "%s", p->val);
		break;
	case W_PASSWD:
		snprintf(a->pw, sizeof(a->pw), "%s", p->val);
		a->pw_checked = false;
		end_sessions(a);
		break;
	case W_RM:
		a->live = false;
		a->deleted = true;
		a->ntok = 0;
		c->ndeleted++;
		break;
	case W_TOKEN:
		add_token(a, p->tok_type, strlen(token) > 16 ? token : "",
		    token);
		break;
	case W_REVOKE:
		for (int t = 0; t < a->ntok; t++)
			if (strcmp(a->tok[t].id, p->tok_id) == 0)
				drop_token(a, t--);
		break;
	case W_FAIL:
		a->failures++;
		c->src_failures++;
		break;
	case W_LOGIN:
	case W_APPLOGIN:
		a->failures = 0;
		c->src_failures = 0;
		if (p->op == W_LOGIN && token != NULL)
			add_token(a, 's', strlen(token) > 16 ? token : "",
			    token);
		break;
	case W__COUNT:
		break;
	}
}

static void
prepare_op(struct client *c)
{
	struct pending *p = &c->p;
	int i;

	memset(p, 0, sizeof(*p));
	p->op = choose(c, &i);
	p->acct = i;
	c->seq++;
	switch (p->op) {
	case W_ADD:
		p->acct = c->n;
		name_acct(c, p->acct, c->a[p->acct].name,
		    sizeof(c->a[p->acct].name));
		snprintf(p->val, sizeof(p->val), "password-%d-%u", c->k, c->seq);
		break;
	case W_IMPORT:
		p->acct = c->n;
		p->n = 2;
		for (int j = 0; j < p->n; j++)
			name_acct(c, p->acct + j, c->a[p->acct + j].name,
			    sizeof(c->a[p->acct + j].name));
		break;
	case W_NAME:
		snprintf(p->val, sizeof(p->val), "name %u", c->seq);
		break;
	case W_PASSWD:
		snprintf(p->val, sizeof(p->val), "password-%d-%u", c->k, c->seq);
		break;
	case W_TOKEN:
		p->tok_type = pick(c, 2) ? 'a' : 'p';
		break;
	case W_REVOKE:
		snprintf(p->tok_id, sizeof(p->tok_id), "%s",
		    c->a[i].tok[pick(c, (unsigned)c->a[i].ntok)].id);
		break;
	default:
		break;
	}
}

/* One request; false when the daemon is gone (c->in_flight says
 * whether a request was sent) or the reply was not the one expected. */
static bool
one_op(struct client *c)
{
	struct proto_msg m;
	struct proto_reply rep;
	const msgpack_object *t;
	char token[TOKEN_STRING_LEN] = "";
	const char *op;
	int r, want;

	prepare_op(c);
	proto_msg_init(&m);
	op = build(c, &m);
	c->in_flight = true;
	r = th_send_request(c->fd, ++c->id, op, &m) == -1 ? TH_EOF :
	    th_recv(c->fd, REPLY_MS, &rep);
	proto_msg_free(&m);
	if (r == TH_EOF)
		return false;
	c->in_flight = false;
	if (r != TH_REPLY) {
		snprintf(c->bad, sizeof(c->bad), "%s: no reply (%d)", op, r);
		return false;
	}
	want = c->p.op == W_FAIL ? ACCT_ERR_AUTH_FAILED : ACCT_OK;
	if (rep.code != want) {
		snprintf(c->bad, sizeof(c->bad), "%s of %s: %s: %s",
		    op_names[c->p.op], c->a[c->p.acct].name,
		    acct_errname(rep.code), rep.message);
		proto_reply_free(&rep);
		return false;
	}
	if (rep.code == ACCT_OK && (t = proto_map_get(rep.result, "token")) !=
	    NULL && t->type == MSGPACK_OBJECT_STR &&
	    t->via.str.size < sizeof(token))
		memcpy(token, t->via.str.ptr, t->via.str.size);
	if (c->p.op == W_IMPORT &&
	    th_int(rep.result, "imported", -1) != c->p.n)
		snprintf(c->bad, sizeof(c->bad), "import: %lld of %d",
		    (long long)th_int(rep.result, "imported", -1), c->p.n);
	proto_reply_free(&rep);
	if (c->bad[0] != '\0')
		return false;
	apply(c, token);
	c->acked[c->p.op]++;
	return true;
}

static void *
client_main(void *arg)
{
	struct client *c = arg;

	c->in_flight = false;
	if ((c->fd = th_connect(c->sock)) == -1)
		return NULL;
	while (one_op(c))
		;
	close(c->fd);
	return NULL;
}

/* ---- after a restart, on the main thread ---- */

struct row {
	bool	found;
	bool	deleted;
	char	id[33];
	char	display[64];
	char	hash[256];
	int64_t	failures;
	int	ntok;
	struct tok tok[MAX_TOK + 2];
};

struct db {
	sqlite3		*db;
	sqlite3_stmt	*acct, *toks, *src;
};

static void
text_col(sqlite3_stmt *st, int col, char *buf, size_t sz)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	snprintf(buf, sz, "%s", t != NULL ? t : "");
}

static void
read_row(struct db *db, const char *name, struct row *r)
{
	memset(r, 0, sizeof(*r));
	sqlite3_reset(db->acct);
	sqlite3_bind_text(db->acct, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(db->acct) != SQLITE_ROW)
		return;
	r->found = true;
	text_col(db->acct, 0, r->id, sizeof(r->id));
	text_col(db->acct, 1, r->display, sizeof(r->display));
	r->deleted = sqlite3_column_int(db->acct, 2) != 0;
	r->failures = sqlite3_column_int64(db->acct, 3);
	text_col(db->acct, 4, r->hash, sizeof(r->hash));
	sqlite3_reset(db->toks);
	sqlite3_bind_text(db->toks, 1, r->id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(db->toks) == SQLITE_ROW && r->ntok < MAX_TOK + 2) {
		struct tok *t = &r->tok[r->ntok++];
		const char *type = (const char *)sqlite3_column_text(db->toks,
		    1);

		text_col(db->toks, 0, t->id, sizeof(t->id));
		t->type = type == NULL ? '?' : strcmp(type, "session") == 0 ?
		    's' : strcmp(type, "access_token") == 0 ? 'a' :
		    strcmp(type, "app_password") == 0 ? 'p' : '?';
	}
}

static int64_t
src_failures(struct db *db, const char *remote)
{
	int64_t n = 0;

	sqlite3_reset(db->src);
	sqlite3_bind_text(db->src, 1, remote, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(db->src) == SQLITE_ROW)
		n = sqlite3_column_int64(db->src, 0);
	return n;
}

static bool
has_token(const struct row *r, const char *id)
{
	for (int t = 0; t < r->ntok; t++)
		if (strcmp(r->tok[t].id, id) == 0)
			return true;
	return false;
}

/* A token of the row the account's model does not have, or NULL. */
static const struct tok *
extra_token(const struct acct *a, const struct row *r)
{
	for (int t = 0; t < r->ntok; t++) {
		bool known = false;

		for (int u = 0; u < a->ntok; u++)
			known |= strcmp(a->tok[u].id, r->tok[t].id) == 0;
		if (!known)
			return &r->tok[t];
	}
	return NULL;
}

static unsigned seed;

#define BAD(c, ...) do {						\
	print_error("client %d, seed %u (ACCT_SEED repeats it); in "	\
	    "flight at the kill: %s of %s\n", (c)->k, seed,		\
	    (c)->was_in_flight ? op_names[(c)->p.op] : "nothing",	\
	    (c)->was_in_flight ? (c)->a[(c)->p.acct].name : "-");	\
	fail_msg(__VA_ARGS__);						\
} while (0)

/*
 * The change in flight: find out from the database whether it happened,
 * check that it happened whole, and follow it in the model.
 */
static void
resolve(struct db *db, struct client *c)
{
	struct pending *p = &c->p;
	struct acct *a = &c->a[p->acct];
	struct row r;
	const struct tok *x;
	int64_t sf;
	bool done = false;
	int n = 0;

	c->was_in_flight = c->in_flight;
	if (!c->in_flight)
		return;
	read_row(db, a->name, &r);
	sf = src_failures(db, c->remote);
	switch (p->op) {
	case W_ADD:
		done = r.found;
		break;
	case W_IMPORT:
		for (int j = 0; j < p->n; j++) {
			struct row o;

			read_row(db, c->a[p->acct + j].name, &o);
			n += o.found;
		}
		if (n != 0 && n != p->n)
			BAD(c, "%d of the %d accounts of an import", n, p->n);
		done = n == p->n;
		break;
	case W_NAME:
		done = strcmp(r.display, p->val) == 0;
		if (!done && strcmp(r.display, a->display) != 0)
			BAD(c, "%s: name '%s'", a->name, r.display);
		break;
	case W_PASSWD:
		done = th_hash_is(r.hash, p->val);
		break;
	case W_RM:
		done = r.deleted;
		break;
	case W_TOKEN:
		if ((x = extra_token(a, &r)) != NULL) {
			if (x->type != p->tok_type)
				BAD(c, "%s: a token of type %c appeared",
				    a->name, x->type);
			apply(c, x->id);
			c->unacked_whole++;
			c->in_flight = false;
			return;
		}
		break;
	case W_REVOKE:
		done = !has_token(&r, p->tok_id);
		break;
	case W_FAIL:
		/* Charged (both counters, in one transaction) or not. */
		done = r.failures == a->failures + 1 &&
		    sf == c->src_failures + 1;
		if (!done && (r.failures != a->failures ||
		    sf != c->src_failures))
			BAD(c, "%s: failures %lld (was %lld), source %lld (was "
			    "%lld) after one attempt", a->name,
			    (long long)r.failures, (long long)a->failures,
			    (long long)sf, (long long)c->src_failures);
		break;
	case W_LOGIN:
	case W_APPLOGIN:
		/* Not charged; charged and not yet cleared; or cleared,
		 * and then perhaps a session. */
		if (r.failures == 0 && sf == 0) {
			if ((x = extra_token(a, &r)) != NULL && x->type != 's')
				BAD(c, "%s: a token of type %c appeared at "
				    "login", a->name, x->type);
			apply(c, x != NULL ? x->id : NULL);
			c->unacked_whole++;
			c->in_flight = false;
			return;
		}
		if (r.failures == a->failures + 1 &&
		    sf == c->src_failures + 1) {
			a->failures++;
			c->src_failures++;
		} else if (r.failures != a->failures ||
		    sf != c->src_failures)
			BAD(c, "%s: failures %lld (was %lld), source %lld (was "
			    "%lld) after one login", a->name,
			    (long long)r.failures, (long long)a->failures,
			    (long long)sf, (long long)c->src_failures);
		c->unacked_absent++;
		c->in_flight = false;
		return;
	case W__COUNT:
		break;
	}
	if (done) {
		apply(c, NULL);
		c->unacked_whole++;
	} else
		c->unacked_absent++;
	c->in_flight = false;
}

/* Every account of the client as the model has it. */
static void
compare(struct db *db, struct client *c)
{
	struct row r;
	int64_t sf = src_failures(db, c->remote);

	if (sf != c->src_failures)
		BAD(c, "source %s: %lld failures, %lld expected", c->remote,
		    (long long)sf, (long long)c->src_failures);
	for (int i = 0; i < c->n; i++) {
		struct acct *a = &c->a[i];
		const struct tok *x;

		read_row(db, a->name, &r);
		if (!r.found)
			BAD(c, "acknowledged account %s is missing", a->name);
		if (r.deleted != a->deleted)
			BAD(c, "%s is %s", a->name, r.deleted ? "deleted" :
			    "not deleted");
		if (strcmp(r.display, a->display) != 0)
			BAD(c, "%s: name '%s', '%s' expected", a->name,
			    r.display, a->display);
		if (r.failures != a->failures)
			BAD(c, "%s: %lld failures, %lld expected", a->name,
			    (long long)r.failures, (long long)a->failures);
		if (!a->pw_checked) {
			if (!th_hash_is(r.hash, a->pw))
				BAD(c, "%s: acknowledged password lost",
				    a->name);
			a->pw_checked = true;
		}
		if ((x = extra_token(a, &r)) != NULL)
			BAD(c, "%s: token %s (%c) should not be there",
			    a->name, x->id, x->type);
		for (int t = 0; t < a->ntok; t++)
			if (!has_token(&r, a->tok[t].id))
				BAD(c, "%s: acknowledged token %s (%c) is gone",
				    a->name, a->tok[t].id, a->tok[t].type);
	}
}

static void
verify(const struct th_daemon *d, struct client *cl)
{
	struct db db = { 0 };
	int64_t model = 0;

	if (th_db_integrity(d) != 0)
		fail_msg("integrity_check failed (seed %u)", seed);
	assert_non_null(db.db = th_db_open(d));
	assert_int_equal(sqlite3_prepare_v2(db.db, "SELECT id, display_name, "
	    "deleted_at IS NOT NULL, failed_logins, password_hash FROM "
	    "accounts WHERE username = ?1", -1, &db.acct, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db.db, "SELECT id, type FROM "
	    "tokens WHERE account_id = ?1", -1, &db.toks, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db.db, "SELECT failures FROM "
	    "throttle_sources WHERE peer_uid = 0 AND remote_addr = ?1 AND "
	    "service = ''", -1, &db.src, NULL), SQLITE_OK);
	for (int k = 0; k < CLIENTS; k++) {
		resolve(&db, &cl[k]);
		compare(&db, &cl[k]);
		model += cl[k].n;
	}
	sqlite3_finalize(db.acct);
	sqlite3_finalize(db.toks);
	sqlite3_finalize(db.src);
	sqlite3_close(db.db);
	if (th_db_int(d, "SELECT count(*) FROM accounts", (char *)NULL) !=
	    model)
		fail_msg("accounts nobody made are in the database (seed %u)",
		    seed);
	if (th_db_int(d, "SELECT count(*) FROM tokens t LEFT JOIN accounts a "
	    "ON a.id = t.account_id WHERE a.id IS NULL OR a.deleted_at IS NOT "
	    "NULL", (char *)NULL) != 0)
		fail_msg("tokens outlive their account (seed %u)", seed);
}

static int
kills_wanted(void)
{
	const char *s = getenv("ACCT_KILLS");

	return s != NULL && atoi(s) > 0 ? atoi(s) : KILLS;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1)
		;
}

static void
test_kill9_mixed_load(void **state)
{
	struct th_daemon *d = *state;
	struct client *cl = th_keep(calloc(CLIENTS, sizeof(*cl)));
	struct crypt_data *cd = th_keep(calloc(1, sizeof(*cd)));
	int kills = kills_wanted(), mid_call = 0, acked[W__COUNT] = { 0 };
	int whole = 0, absent = 0, total = 0;
	uint64_t rs;
	char *hash;

	assert_non_null(cl);
	assert_non_null(cd);
	seed = th_seed();
	rs = seed;
	print_message("%d kills, seed %u\n", kills, seed);
	hash = th_keep(strdup(crypt_r(IMPORT_PW, "$6$durability$", cd)));
	for (int k = 0; k < CLIENTS; k++) {
		cl[k].k = k;
		cl[k].sock = d->sock;
		cl[k].import_hash = hash;
		cl[k].rng = seed ^ ((uint64_t)(k + 1) << 40);
		snprintf(cl[k].remote, sizeof(cl[k].remote), "192.0.2.%d",
		    k + 1);
	}
	/* Counters far from the locks; no purge of idle source counters. */
	assert_int_equal(th_up(d, "log_level = info\nlockout_failures = 100\n"
	    "source_lockout_failures = 100\nlockout_max = 604800\n"), 0);
	for (int kill_no = 0; kill_no < kills; kill_no++) {
		pthread_t t[CLIENTS];

		for (int k = 0; k < CLIENTS; k++)
			assert_int_equal(pthread_create(&t[k], NULL,
			    client_main, &cl[k]), 0);
		nap_ms(5 + (int)(th_rand(&rs) % 250));
		th_kill9(d);
		for (int k = 0; k < CLIENTS; k++) {
			pthread_join(t[k], NULL);
			if (cl[k].bad[0] != '\0')
				fail_msg("client %d: %s (seed %u)", k,
				    cl[k].bad, seed);
			mid_call += cl[k].in_flight;
		}
		assert_int_equal(th_start(d), 0);
		verify(d, cl);
	}
	for (int k = 0; k < CLIENTS; k++) {
		for (int o = 0; o < W__COUNT; o++) {
			acked[o] += cl[k].acked[o];
			total += cl[k].acked[o];
		}
		whole += cl[k].unacked_whole;
		absent += cl[k].unacked_absent;
	}
	print_message("%d kills survived, %d with a request in flight (%d "
	    "there whole after the restart, %d not at all); %d acknowledged "
	    "changes:", kills, mid_call, whole, absent, total);
	for (int o = 0; o < W__COUNT; o++)
		print_message(" %s %d%s", op_names[o], acked[o],
		    o + 1 < W__COUNT ? "," : "\n");
	assert_true(total > kills);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_db_integrity(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_mixed_load,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
