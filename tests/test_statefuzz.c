/*
 * test_statefuzz.c: a stateful fuzzer. Random sequences of valid and
 * invalid requests go to a live acctd from three peers (root as admin,
 * a uid in auth_group, and nobody, a plain uid with an account of its
 * name), and after every step the invariants are checked: a peer gets
 * nothing its class may not have (a plain uid never sees another
 * account's data), a revoked, ended or expired token never validates,
 * failure counters never go down without a success or an unlock, and
 * the daemon answers hello within a second.
 *
 * Deterministic from the printed seed (ACCT_SEED=S repeats the choices;
 * the clock's part, expiry and locks, may differ). ACCT_FUZZ_STEPS sets
 * the length, 2000 steps by default (make check), or ACCT_FUZZ_SECONDS
 * (make fuzz runs it for FUZZ_SECONDS).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define STEPS		2000
#define REPLY_MS	10000	/* a reply later than this is a hang */
#define HELLO_MS	1000
#define MAX_TOKENS	512
#define MAX_ACCTS	512	/* rows, deleted ones too */
#define MAX_SRC		256
#define POOL		8	/* account names drawn from */
#define AUTH_UID	4301	/* in auth_group, no passwd entry */
#define PLAIN		"nobody"
#define IMPORT_PW	"imported-password"

/* The peers. */
enum { P_ADMIN, P_AUTH, P_PLAIN, P__COUNT };
static const char *const peer_names[P__COUNT] = {
	"admin", "authenticator", "plain uid"
};
static const struct th_cred auth_cred = { AUTH_UID, TH_AUTH_GID, 1,
    { TH_AUTH_GID } };
static const struct th_cred plain_cred = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

/* What each class may succeed at, from the product description (who
 * may do what), not from dispatch.c. */
static const uint64_t may[P__COUNT] = {
	[P_ADMIN] = ~UINT64_C(0),
	[P_AUTH] = FB(OP_HELLO) | FB(OP_PASSWD) | FB(OP_LOGIN) |
	    FB(OP_TOKEN_VALIDATE) | FB(OP_TOKEN_REVOKE) | FB(OP_CLIENT_VERIFY) |
	    FB(OP_PASSWORD_FORGOT) | FB(OP_PASSWORD_RESET) |
	    FB(OP_SESSION_ADD) | FB(OP_STATS),
	[P_PLAIN] = FB(OP_HELLO) | FB(OP_PASSWD) | FB(OP_TOKEN_LIST) |
	    FB(OP_TOKEN_SHOW) | FB(OP_TOKEN_REVOKE) | FB(OP_TOTP_ENROLL) |
	    FB(OP_TOTP_CONFIRM) | FB(OP_PASSWORD_RESET),
};

static const char *const names[POOL] = {
	PLAIN, "alice", "bob", "carol", "dave", "erin", "frank", "grace"
};

/* A token the fuzzer was given. */
struct tok {
	char	 secret[TOKEN_STRING_LEN];
	char	 id[TOKEN_ID_LEN];
	char	 type;		/* s, a (access), p (app password), c (client) */
	char	 owner[33];	/* account id, "" for a client of none */
	int64_t	 expires;	/* 0: never */
	bool	 dead;		/* revoked or ended: never valid again */
	char	 why[48];	/* what ended it */
};

/* An account, as the database has it after the last step. */
struct acct {
	char	 id[33];
	char	 name[65];
	char	 email[256];
	bool	 live, login, activated;
	int64_t	 failures;
};

/* A failure counter of a source. */
struct src {
	int64_t	 uid;
	char	 key[140];	/* remote_addr, service */
	int64_t	 failures;
};

struct fz {
	struct th_daemon	*d;
	uint64_t		 rng;
	unsigned		 seed;
	int			 step;
	int			 fd[P__COUNT];
	uint64_t		 id;
	struct tok		 tok[MAX_TOKENS];
	int			 ntok;
	struct acct		 acct[MAX_ACCTS], after[MAX_ACCTS];
	int			 nacct, nlive;
	int64_t			 audit_seen;	/* audit_logins rows read */
	struct src		 src[MAX_SRC], safter[MAX_SRC];
	int			 nsrc;
	/* Passwords and TOTP secrets last set, by name. */
	char			 pw[POOL][64];
	char			 totp[POOL][64];
	int			 ok[P__COUNT], refused[P__COUNT];
	int			 dead_checked, live_checked, garbage;
	int			 waits, expired_checked;
	bool			 verbose;	/* ACCT_FUZZ_VERBOSE: each step */
	/* What the request being made set. */
	char			 new_pw[64];
	bool			 remove, unlock, sent_user, dry_run;
	/* The step being checked. */
	int			 peer;
	int			 op;		/* enum proto_op, -1 unknown */
	char			 desc[512];
};

static unsigned
pick(struct fz *f, unsigned n)
{
	return n == 0 ? 0 : (unsigned)(th_rand(&f->rng) % n);
}

static bool
chance(struct fz *f, unsigned percent)
{
	return pick(f, 100) < percent;
}

#define BAD(f, ...) do {						\
	print_error("step %d, seed %u (ACCT_SEED=%u repeats it): %s as "\
	    "%s\n", (f)->step, (f)->seed, (f)->seed, (f)->desc,		\
	    peer_names[(f)->peer]);					\
	fail_msg(__VA_ARGS__);						\
} while (0)

static int
name_index(const char *name)
{
	for (int i = 0; i < POOL; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static struct acct *
acct_by_name(struct fz *f, const char *name)
{
	for (int i = 0; i < f->nacct; i++)
		if (f->acct[i].live && strcmp(f->acct[i].name, name) == 0)
			return &f->acct[i];
	return NULL;
}

static struct acct *
acct_by_id(struct fz *f, const char *id)
{
	for (int i = 0; i < f->nacct; i++)
		if (strcmp(f->acct[i].id, id) == 0)
			return &f->acct[i];
	return NULL;
}

/* ---- the database's view, after each step ---- */

static void
snapshot(struct fz *f, struct acct *acct, int *nacct, struct src *src,
    int *nsrc)
{
	sqlite3 *db = th_db_open(f->d);
	sqlite3_stmt *st;

	assert_non_null(db);
	*nacct = *nsrc = 0;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, username, "
	    "coalesce(email, ''), deleted_at IS NULL, login_allowed, "
	    "activated, failed_logins FROM accounts ORDER BY rowid", -1, &st,
	    NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct acct *a;

		if (*nacct == MAX_ACCTS)
			BAD(f, "more than %d accounts: raise MAX_ACCTS",
			    MAX_ACCTS);
		a = &acct[(*nacct)++];
		snprintf(a->id, sizeof(a->id), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		snprintf(a->name, sizeof(a->name), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		snprintf(a->email, sizeof(a->email), "%s",
		    (const char *)sqlite3_column_text(st, 2));
		a->live = sqlite3_column_int(st, 3) != 0;
		a->login = sqlite3_column_int(st, 4) != 0;
		a->activated = sqlite3_column_int(st, 5) != 0;
		a->failures = sqlite3_column_int64(st, 6);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT peer_uid, remote_addr "
	    "|| '/' || service, failures FROM throttle_sources", -1, &st,
	    NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct src *s;

		if (*nsrc == MAX_SRC)
			BAD(f, "more than %d sources: raise MAX_SRC", MAX_SRC);
		s = &src[(*nsrc)++];
		s->uid = sqlite3_column_int64(st, 0);
		snprintf(s->key, sizeof(s->key), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		s->failures = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- requests ---- */

static int
conn(struct fz *f, int p)
{
	if (f->fd[p] == -1)
		f->fd[p] = th_connect_as(p == P_ADMIN ? NULL : p == P_AUTH ?
		    &auth_cred : &plain_cred, f->d->sock);
	if (f->fd[p] == -1)
		BAD(f, "cannot connect as %s", peer_names[p]);
	return f->fd[p];
}

/* Send m as op from peer p; the reply in rep (code -1: connection
 * closed). A late or malformed reply fails. */
static void
call(struct fz *f, int p, const char *op, struct proto_msg *m,
    struct proto_reply *rep)
{
	int r, fd = conn(f, p);

	r = th_send_request(fd, ++f->id, op, m);
	if (r == 0)
		r = th_recv(fd, REPLY_MS, rep);
	else
		r = TH_EOF;
	if (r == TH_TIMEOUT)
		BAD(f, "no reply within %d ms", REPLY_MS);
	if (r == TH_MALFORMED || r == TH_ERROR)
		BAD(f, "a malformed reply");
	if (r == TH_EOF) {
		close(fd);
		f->fd[p] = -1;
		memset(rep, 0, sizeof(*rep));
		msgpack_unpacked_init(&rep->un);
		rep->code = -1;
		return;
	}
	if (rep->code != ACCT_OK && (rep->code < 1 || rep->code > 18 ||
	    rep->message[0] == '\0'))
		BAD(f, "error %d without a known code and a message",
		    rep->code);
}

/* An admin's request whose code alone matters. */
static int
admin_code(struct fz *f, const char *op, struct proto_msg *m)
{
	struct proto_reply rep;
	int code;

	call(f, P_ADMIN, op, m, &rep);
	code = rep.code;
	proto_reply_free(&rep);
	return code;
}

/* ---- arguments ---- */

static const char *
a_name(struct fz *f)
{
	static char buf[80];
	unsigned r = pick(f, 100);

	if (r < 85)
		return names[pick(f, POOL)];
	if (r < 90)
		return "Alice";		/* lowercased */
	if (r < 94)
		return "no such name";
	if (r < 97)
		return "";
	memset(buf, 'n', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	return buf;			/* over 64 bytes */
}

static void
a_password(struct fz *f, const char *user, char *buf, size_t sz)
{
	int i = user != NULL ? name_index(user) : -1;
	unsigned r = pick(f, 100);

	if (r < 55 && i >= 0 && f->pw[i][0] != '\0')
		snprintf(buf, sz, "%s", f->pw[i]);
	else if (r < 65)
		snprintf(buf, sz, "%s", IMPORT_PW);
	else if (r < 70)
		snprintf(buf, sz, "short");
	else
		snprintf(buf, sz, "wrong-password-%u", pick(f, 3));
}

static const struct tok *
a_token(struct fz *f)
{
	return f->ntok > 0 ? &f->tok[pick(f, (unsigned)f->ntok)] : NULL;
}

static void
kv_token(struct fz *f, struct proto_msg *m, const char *key)
{
	const struct tok *t = a_token(f);
	char buf[TOKEN_STRING_LEN];

	if (t != NULL && chance(f, 80)) {
		proto_kv_str(m, key, t->secret);
		return;
	}
	/* The shape of a token, or not. */
	snprintf(buf, sizeof(buf), "%016x_%064x", pick(f, 1u << 30),
	    pick(f, 1000));
	proto_kv_str(m, key, chance(f, 70) ? buf : "not-a-token");
}

static void
kv_id(struct fz *f, struct proto_msg *m)
{
	const struct tok *t = a_token(f);
	char buf[24];

	if (t != NULL && chance(f, 85)) {
		proto_kv_str(m, "id", t->id);
		return;
	}
	snprintf(buf, sizeof(buf), "%016x", pick(f, 1u << 30));
	proto_kv_str(m, "id", buf);
}

static const char *
one_of(struct fz *f, const char *const *v, unsigned n)
{
	return v[pick(f, n)];
}

#define ONE_OF(f, ...) __extension__ ({					\
	static const char *const v_[] = { __VA_ARGS__ };		\
	one_of((f), v_, sizeof(v_) / sizeof(v_[0]));			\
})

/* A value for field k of a request naming user. */
static void
kv_field(struct fz *f, struct proto_msg *m, enum proto_field k,
    const char *user)
{
	const char *key = proto_fields[k].name;
	char buf[256];

	/* Now and then the wrong type: refused before any handler. */
	if (chance(f, 2)) {
		if (proto_fields[k].type == PT_STR ||
		    proto_fields[k].type == PT_SECRET)
			proto_kv_int(m, key, 7);
		else
			proto_kv_str(m, key, "7");
		return;
	}
	switch (k) {
	case F_USERNAME:
		proto_kv_str(m, key, user);
		f->sent_user = true;
		return;
	case F_PASSWORD:
		a_password(f, user, buf, sizeof(buf));
		proto_kv_str(m, key, buf);
		return;
	case F_NEW_PASSWORD:
		snprintf(buf, sizeof(buf), chance(f, 90) ? "new-password-%u" :
		    "pw%u", pick(f, 1000));
		proto_kv_str(m, key, buf);
		snprintf(f->new_pw, sizeof(f->new_pw), "%.63s", buf);
		return;
	case F_NAME:
		snprintf(buf, sizeof(buf), "Name %u", pick(f, 100));
		proto_kv_str(m, key, chance(f, 97) ? buf : "bad\001name");
		return;
	case F_EMAIL:
		snprintf(buf, sizeof(buf), "%s@example.org",
		    names[pick(f, POOL)]);
		proto_kv_str(m, key, chance(f, 80) ? buf : ONE_OF(f, "",
		    "not-an-address", "A@EXAMPLE.ORG"));
		return;
	case F_ROLE:
		proto_kv_str(m, key, ONE_OF(f, "admin", "user", "viewer",
		    "guest", "root"));
		return;
	case F_AUTH_PROVIDER:
		proto_kv_str(m, key, ONE_OF(f, "default", "local", "oidc",
		    "none", "ldap"));
		return;
	case F_SEARCH:
		proto_kv_str(m, key, ONE_OF(f, "a", "o", "%", "_", "nobody",
		    ""));
		return;
	case F_LIMIT:
	case F_OFFSET:
		proto_kv_int(m, key, chance(f, 90) ? pick(f, 5) :
		    pick(f, 20000));
		return;
	case F_SERVICE:
		proto_kv_str(m, key, ONE_OF(f, "web", "imap", "", "dav"));
		return;
	case F_REMOTE_ADDR:
		snprintf(buf, sizeof(buf), "192.0.2.%u", 1 + pick(f, 3));
		proto_kv_str(m, key, buf);
		return;
	case F_TOKEN:
		kv_token(f, m, key);
		return;
	case F_SCOPE:
		proto_kv_str(m, key, ONE_OF(f, "*", "web", "imap web", "dav",
		    "bad\001scope"));
		return;
	case F_LIFETIME: {
		static const int life[] = { 1, 2, 3, 60, 0 };

		proto_kv_int(m, key, life[pick(f, 5)]);
		return;
	}
	case F_TYPE:
		proto_kv_str(m, key, ONE_OF(f, "access_token", "app_password",
		    "client", "session", "access_token", "app_password",
		    "bogus"));
		return;
	case F_ID:
		kv_id(f, m);
		return;
	case F_CLIENT_ID:
	case F_CLIENT_SECRET: {
		const struct tok *t = a_token(f);
		const char *us = t != NULL ? strchr(t->secret, '_') : NULL;

		if (us == NULL)
			proto_kv_str(m, key, "0123456789abcdef");
		else if (k == F_CLIENT_ID)
			proto_kv_str(m, key, t->id);
		else
			proto_kv_str(m, key, us + 1);
		return;
	}
	case F_CODE: {
		int i = user != NULL ? name_index(user) : -1;

		if (i >= 0 && f->totp[i][0] != '\0' && chance(f, 70)) {
			th_totp_code(f->totp[i], 0, buf);
			proto_kv_str(m, key, buf);
		} else
			proto_kv_str(m, key, ONE_OF(f, "123456", "000000",
			    "abcde-fghij"));
		return;
	}
	case F_DATA:
		snprintf(buf, sizeof(buf), "%s:%s\n%s:%s\n", names[pick(f,
		    POOL)], "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$"
		    "bm90IGEgcmVhbCBoYXNo", names[pick(f, POOL)],
		    chance(f, 50) ? "!locked" : "garbage");
		proto_kv_str(m, key, buf);
		return;
	case F_CONFIRM:
		/* A reset now and then, so that it is reached at all. */
		proto_kv_bool(m, key, chance(f, 3));
		return;
	case F_ACTIVATE:
		proto_kv_bool(m, key, chance(f, 10));
		return;
	case F_LOGIN:
		proto_kv_bool(m, key, chance(f, 75));
		return;
	case F_REMOVE:
	case F_UNLOCK:
	case F_DRY_RUN: {
		bool b = chance(f, 50);

		proto_kv_bool(m, key, b);
		if (k == F_REMOVE)
			f->remove = b;
		else if (k == F_UNLOCK)
			f->unlock = b;
		else
			f->dry_run = b;
		return;
	}
	default:
		if (proto_fields[k].type == PT_BOOL)
			proto_kv_bool(m, key, chance(f, 50));
		else {
			snprintf(buf, sizeof(buf), "v%u", pick(f, 10));
			proto_kv_str(m, key, buf);
		}
		return;
	}
}

/* How often a request carries a field its operation takes. */
static unsigned
field_chance(enum proto_op op, enum proto_field k)
{
	switch (k) {
	case F_USERNAME:
		return op == OP_TOKEN_ADD ? 97 : 90;
	case F_NAME:
		return op == OP_TOKEN_ADD ? 70 : 25;
	case F_RESTORE:
		return 40;
	case F_LIFETIME:
		return 50;
	case F_PASSWORD:
		return 70;
	case F_NEW_PASSWORD:
		return op == OP_USER_MOD ? 30 : 70;
	case F_REMOVE:
		return 10;
	case F_SESSION:
		return 60;
	default:
		return 25;
	}
}

/* The operations each peer tries most, the ones that change state. */
static enum proto_op
choose_op(struct fz *f)
{
	static const enum proto_op admin[] = {
		OP_USER_ADD, OP_USER_ADD, OP_USER_ADD, OP_USER_MOD, OP_USER_MOD,
		OP_USER_RM, OP_PASSWD, OP_PASSWD, OP_LOGIN, OP_LOGIN, OP_LOGIN,
		OP_TOKEN_ADD, OP_TOKEN_ADD, OP_TOKEN_ADD, OP_TOKEN_REVOKE,
		OP_TOKEN_REVOKE, OP_SESSION_ADD, OP_TOTP_ENROLL,
		OP_TOTP_CONFIRM, OP_USER_IMPORT, OP_USER_SHOW, OP_USER_LIST,
		OP_TOKEN_LIST, OP_TOKEN_SHOW, OP_CLIENT_VERIFY,
	};
	static const enum proto_op auth[] = {
		OP_LOGIN, OP_LOGIN, OP_LOGIN, OP_LOGIN, OP_PASSWD, OP_PASSWD,
		OP_TOKEN_VALIDATE, OP_TOKEN_REVOKE, OP_SESSION_ADD,
		OP_CLIENT_VERIFY, OP_PASSWORD_FORGOT,
	};
	static const enum proto_op plain[] = {
		OP_PASSWD, OP_PASSWD, OP_TOKEN_LIST, OP_TOKEN_SHOW,
		OP_TOKEN_REVOKE, OP_TOTP_ENROLL, OP_TOTP_CONFIRM,
		OP_PASSWORD_RESET,
	};

	/* Accounts first, or most requests would find none. */
	if (f->peer == P_ADMIN && f->nlive < 4 && chance(f, 60))
		return OP_USER_ADD;
	if (chance(f, 30))
		return (enum proto_op)pick(f, OP__COUNT);
	switch (f->peer) {
	case P_ADMIN:
		return admin[pick(f, sizeof(admin) / sizeof(admin[0]))];
	case P_AUTH:
		return auth[pick(f, sizeof(auth) / sizeof(auth[0]))];
	default:
		return plain[pick(f, sizeof(plain) / sizeof(plain[0]))];
	}
}

/*
 * A request: an operation, mostly one that exists, with the fields it
 * takes (the required ones nearly always), sometimes one it does not
 * take or does not know. Returns the op name; *opp is its enum or -1.
 */
static const char *
make_request(struct fz *f, struct proto_msg *m, int *opp, char *user,
    size_t usersz)
{
	int op = chance(f, 2) ? -1 : (int)choose_op(f);
	uint64_t allowed, required;
	size_t len;

	/* The plain peer mostly acts on its own account, or it would
	 * mostly be refused. */
	snprintf(user, usersz, "%s", f->peer == P_PLAIN && chance(f, 60) ?
	    PLAIN : a_name(f));
	*opp = op;
	f->new_pw[0] = '\0';
	f->remove = f->unlock = f->sent_user = f->dry_run = false;
	if (op < 0)
		return ONE_OF(f, "user_drop", "HELLO", "");
	allowed = proto_ops[op].allowed;
	required = proto_ops[op].required;
	/* token_revoke takes an id or a token, exactly one. */
	if (op == OP_TOKEN_REVOKE && chance(f, 90)) {
		allowed &= ~(FB(F_ID) | FB(F_TOKEN));
		required |= chance(f, 50) ? FB(F_ID) : FB(F_TOKEN);
	}
	for (int k = 0; k < F__COUNT; k++) {
		uint64_t b = FB(k);

		if ((required & b) ? chance(f, 97) : (allowed & b) &&
		    chance(f, field_chance((enum proto_op)op,
		    (enum proto_field)k)))
			kv_field(f, m, (enum proto_field)k, user);
	}
	/* A field the operation does not take, or that nothing does. */
	if (chance(f, 2)) {
		enum proto_field k = (enum proto_field)pick(f, F__COUNT);

		if (!(allowed & FB(k)))
			kv_field(f, m, k, user);
	}
	if (chance(f, 1))
		proto_kv_str(m, "bogus", "x");
	len = strlen(f->desc);
	snprintf(f->desc + len, sizeof(f->desc) - len, "%s", proto_ops[op].name);
	return proto_ops[op].name;
}

/* ---- what the replies teach the model ---- */

static const msgpack_object *
get(const msgpack_object *map, const char *key)
{
	return map != NULL ? proto_map_get(map, key) : NULL;
}

static void
str_of(const msgpack_object *o, char *buf, size_t sz)
{
	buf[0] = '\0';
	if (o != NULL && o->type == MSGPACK_OBJECT_STR)
		snprintf(buf, sz, "%.*s", (int)o->via.str.size,
		    o->via.str.ptr);
}

/* A token the reply gave: its secret at key, its map at info. */
static void
learn_token(struct fz *f, const msgpack_object *res, const char *info)
{
	const msgpack_object *t = get(res, info);
	char type[24], user[80];
	struct tok *k;
	struct acct *a;

	if (get(res, "token") == NULL || t == NULL)
		return;
	/* A long run forgets the oldest token that can no longer be
	 * valid, to make room. */
	for (int i = 0; f->ntok == MAX_TOKENS && i < f->ntok; i++)
		if (f->tok[i].dead || (f->tok[i].expires != 0 &&
		    f->tok[i].expires < (int64_t)time(NULL))) {
			memmove(&f->tok[i], &f->tok[i + 1],
			    sizeof(f->tok[0]) * (size_t)(f->ntok - i - 1));
			f->ntok--;
		}
	if (f->ntok == MAX_TOKENS)
		return;
	k = &f->tok[f->ntok++];
	memset(k, 0, sizeof(*k));
	str_of(get(res, "token"), k->secret, sizeof(k->secret));
	memcpy(k->id, k->secret, sizeof(k->id) - 1);
	str_of(get(t, "type"), type, sizeof(type));
	k->type = strcmp(type, "session") == 0 ? 's' :
	    strcmp(type, "access_token") == 0 ? 'a' :
	    strcmp(type, "app_password") == 0 ? 'p' : 'c';
	str_of(get(t, "username"), user, sizeof(user));
	if ((a = acct_by_name(f, user)) != NULL)
		memcpy(k->owner, a->id, sizeof(k->owner));
	k->expires = th_int(t, "expires_at", 0);
}

static void
end_tokens(struct fz *f, const char *owner, char only, const char *why)
{
	for (int i = 0; i < f->ntok; i++) {
		struct tok *t = &f->tok[i];

		if (t->dead || (owner != NULL && strcmp(t->owner, owner) != 0) ||
		    (only != '\0' && t->type != only))
			continue;
		t->dead = true;
		snprintf(t->why, sizeof(t->why), "%s", why);
	}
}

/* The account an answer names: its user map's, or its username. */
static void
named(const msgpack_object *res, char *buf, size_t sz)
{
	str_of(get(get(res, "user"), "username"), buf, sz);
	if (buf[0] == '\0')
		str_of(get(res, "username"), buf, sz);
}

/*
 * The model after a successful request: tokens given and ended, the
 * passwords and TOTP secrets set. Accounts come from the database.
 */
static void
learn(struct fz *f, int op, const msgpack_object *res)
{
	char user[80], id[TOKEN_ID_LEN + 8];
	struct acct *a;
	int i;

	named(res, user, sizeof(user));
	a = acct_by_name(f, user);
	i = name_index(user);
	switch (op) {
	case OP_USER_ADD:
		/* A restored account keeps its password unless given. */
		if (i >= 0 && (f->new_pw[0] != '\0' ||
		    th_bool(res, "restored") != 1))
			snprintf(f->pw[i], sizeof(f->pw[i]), "%s", f->new_pw);
		if (i >= 0 && th_bool(res, "restored") != 1)
			f->totp[i][0] = '\0';
		break;
	case OP_USER_MOD:
	case OP_PASSWD:
		/* A dry run of passwd only checked the current one. */
		if ((op == OP_USER_MOD && f->new_pw[0] == '\0') ||
		    (op == OP_PASSWD && f->dry_run))
			break;
		if (i >= 0)
			snprintf(f->pw[i], sizeof(f->pw[i]), "%s",
			    f->remove ? "" : f->new_pw);
		if (a != NULL)
			end_tokens(f, a->id, 's', op == OP_PASSWD ? "passwd" :
			    "user_mod new_password");
		break;
	case OP_USER_RM:
		if (a != NULL)
			end_tokens(f, a->id, '\0', "user_rm");
		break;
	case OP_USERS_RESET:
		end_tokens(f, NULL, '\0', "users_reset");
		memset(f->pw, 0, sizeof(f->pw));
		memset(f->totp, 0, sizeof(f->totp));
		break;
	case OP_TOKENS_RESET:
		end_tokens(f, NULL, '\0', "tokens_reset");
		break;
	case OP_AUDIT_RESET:
		/* Row ids start again from 1. */
		f->audit_seen = 0;
		break;
	case OP_TOKEN_REVOKE:
		str_of(get(res, "id"), id, sizeof(id));
		for (int t = 0; t < f->ntok; t++)
			if (strcmp(f->tok[t].id, id) == 0 && !f->tok[t].dead) {
				if (f->peer == P_AUTH && f->tok[t].type != 's')
					BAD(f, "an authenticator revoked a "
					    "token (%c) that is no session",
					    f->tok[t].type);
				f->tok[t].dead = true;
				snprintf(f->tok[t].why, sizeof(f->tok[t].why),
				    "token_revoke");
			}
		break;
	case OP_LOGIN:
	case OP_SESSION_ADD:
		learn_token(f, res, "session");
		break;
	case OP_TOKEN_ADD:
		learn_token(f, res, "info");
		break;
	case OP_TOTP_ENROLL:
		if (i >= 0)
			str_of(get(res, "secret"), f->totp[i],
			    sizeof(f->totp[i]));
		break;
	default:
		break;
	}
}

/* ---- the invariants ---- */

/* Every string in o, recursively, is none of the forbidden ones. */
static void
scan(struct fz *f, const msgpack_object *o, const char *const *bad,
    int nbad)
{
	if (o == NULL)
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		for (int i = 0; i < nbad; i++)
			if (o->via.str.size == strlen(bad[i]) &&
			    memcmp(o->via.str.ptr, bad[i], o->via.str.size) ==
			    0)
				BAD(f, "the plain uid was shown '%s', of "
				    "another account", bad[i]);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (uint32_t i = 0; i < o->via.array.size; i++)
			scan(f, &o->via.array.ptr[i], bad, nbad);
		break;
	case MSGPACK_OBJECT_MAP:
		for (uint32_t i = 0; i < o->via.map.size; i++)
			scan(f, &o->via.map.ptr[i].val, bad, nbad);
		break;
	default:
		break;
	}
}

/* Of another account than the plain uid's: names, ids, addresses and
 * the ids of their tokens. */
static void
check_plain_result(struct fz *f, const msgpack_object *res)
{
	const char *bad[MAX_ACCTS * 3 + MAX_TOKENS];
	const struct acct *own = acct_by_name(f, PLAIN);
	int n = 0;

	for (int i = 0; i < f->nacct; i++) {
		const struct acct *a = &f->acct[i];

		if (strcmp(a->name, PLAIN) == 0)
			continue;
		bad[n++] = a->id;
		if (own == NULL || strcmp(a->name, own->name) != 0)
			bad[n++] = a->name;
		if (a->email[0] != '\0' && (own == NULL ||
		    strcmp(a->email, own->email) != 0))
			bad[n++] = a->email;
	}
	for (int i = 0; i < f->ntok; i++)
		if (own == NULL || strcmp(f->tok[i].owner, own->id) != 0)
			bad[n++] = f->tok[i].id;
	scan(f, res, bad, n);
}

/* What was allowed to bring a counter down in this step. */
struct resets {
	char	 ids[4][33];	/* accounts whose secret was proven */
	int	 n;
	bool	 source;	/* a success: its source's counter clears */
	bool	 all;		/* users_reset */
};

static bool
reset_allowed(const struct resets *r, const char *id)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->ids[i], id) == 0)
			return true;
	return r->all;
}

static void
check_counters(struct fz *f, const struct acct *after, int nafter,
    const struct src *safter, int nsafter, const struct resets *r)
{
	for (int i = 0; i < nafter; i++) {
		const struct acct *b = acct_by_id(f, after[i].id);

		if (b != NULL && after[i].failures < b->failures &&
		    !reset_allowed(r, b->id))
			BAD(f, "%s: failure count went from %lld to %lld "
			    "without a success or an unlock", b->name,
			    (long long)b->failures,
			    (long long)after[i].failures);
	}
	for (int j = 0; j < f->nsrc; j++) {
		const struct src *b = &f->src[j];
		int64_t now = 0;

		for (int i = 0; i < nsafter; i++)
			if (safter[i].uid == b->uid &&
			    strcmp(safter[i].key, b->key) == 0)
				now = safter[i].failures;
		if (now < b->failures && !r->all && !(r->source &&
		    b->uid == (int64_t)(f->peer == P_ADMIN ? 0 : f->peer ==
		    P_AUTH ? AUTH_UID : TH_NOBODY)))
			BAD(f, "source uid %lld %s: failure count went from "
			    "%lld to %lld without a success", (long long)b->uid,
			    b->key, (long long)b->failures, (long long)now);
	}
}

/* Whether the account lets its tokens stand for it. */
static bool
owner_ok(struct fz *f, const struct tok *t)
{
	const struct acct *a = acct_by_id(f, t->owner);

	return a != NULL && a->live && a->login && a->activated;
}

/* Dead and expired tokens never validate; a sample of live ones do. */
static void
check_tokens(struct fz *f, int64_t now)
{
	struct proto_msg m;
	int checks = 0;

	for (int i = 0; i < f->ntok && checks < 6; i++) {
		struct tok *t = &f->tok[(i + f->step) % f->ntok];
		bool expired = t->expires != 0 && now > t->expires;
		bool live = !t->dead && !expired && owner_ok(f, t) &&
		    (t->expires == 0 || now + 1 < t->expires);
		int code;

		/* Clients are checked by client_verify, not here; tokens
		 * about to expire are left alone. */
		if (t->type == 'c' || (!t->dead && !expired && !live))
			continue;
		if (!t->dead && !expired && !chance(f, 30))
			continue;
		checks++;
		proto_msg_init(&m);
		proto_kv_str(&m, "token", t->secret);
		code = admin_code(f, "token_validate", &m);
		proto_msg_free(&m);
		if ((t->dead || expired) && code != ACCT_ERR_INVALID_TOKEN)
			BAD(f, "token %s (%c), %s, validates: %s", t->id,
			    t->type, t->dead ? t->why : "expired",
			    acct_errname(code));
		if (live && code != ACCT_OK)
			BAD(f, "live token %s (%c) does not validate: %s",
			    t->id, t->type, acct_errname(code));
		if (live)
			f->live_checked++;
		else
			f->dead_checked++;
	}
}

/*
 * Time passes: sleep until the next token that expires within two
 * seconds has, then check every expired one. Without this a brief run
 * would end before any lifetime (1 to 3 seconds) does.
 */
static void
let_expire(struct fz *f)
{
	int64_t now = (int64_t)time(NULL), next = 0;
	struct proto_msg m;

	for (int i = 0; i < f->ntok; i++) {
		const struct tok *t = &f->tok[i];

		if (!t->dead && t->expires > now && t->expires <= now + 2 &&
		    (next == 0 || t->expires < next))
			next = t->expires;
	}
	if (next == 0)
		return;
	while ((now = (int64_t)time(NULL)) <= next)
		usleep(100 * 1000);
	for (int i = 0; i < f->ntok; i++) {
		const struct tok *t = &f->tok[i];
		int code;

		if (t->type == 'c' || t->expires == 0 || now <= t->expires)
			continue;
		proto_msg_init(&m);
		proto_kv_str(&m, "token", t->secret);
		code = admin_code(f, "token_validate", &m);
		proto_msg_free(&m);
		if (code != ACCT_ERR_INVALID_TOKEN)
			BAD(f, "token %s (%c) expired at %lld, now %lld, "
			    "validates: %s", t->id, t->type,
			    (long long)t->expires, (long long)now,
			    acct_errname(code));
		f->expired_checked++;
	}
	f->waits++;
}

static void
check_hello(struct fz *f)
{
	struct proto_reply rep;
	struct timespec t0, t1;
	int fd = th_connect(f->d->sock), r = TH_ERROR;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fd != -1 && th_send_request(fd, 1, "hello", NULL) == 0)
		r = th_recv(fd, HELLO_MS, &rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (fd != -1)
		close(fd);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) /
	    1000000;
	if (r != TH_REPLY)
		BAD(f, "no answer to hello (%d)", r);
	if (rep.code != ACCT_OK || ms > HELLO_MS)
		BAD(f, "hello: %s after %ld ms", acct_errname(rep.code), ms);
	proto_reply_free(&rep);
}

/* Bytes that are not a request, on a connection of their own. */
static void
garbage(struct fz *f)
{
	uint8_t buf[64];
	int fd = th_connect_as(f->peer == P_ADMIN ? NULL : f->peer == P_AUTH ?
	    &auth_cred : &plain_cred, f->d->sock);
	size_t n = 1 + pick(f, sizeof(buf) - 4);
	struct proto_reply rep;

	if (fd == -1)
		BAD(f, "cannot connect");
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)pick(f, 256);
	if (chance(f, 50)) {
		/* A frame header that says what follows. */
		buf[0] = buf[1] = 0;
		buf[2] = (uint8_t)((n - 4) >> 8);
		buf[3] = (uint8_t)(n - 4);
	}
	(void)th_send(fd, buf, n);
	/* A reply, or the close, or nothing yet: each is an answer. */
	if (th_recv(fd, 200, &rep) == TH_REPLY)
		proto_reply_free(&rep);
	close(fd);
	f->garbage++;
	snprintf(f->desc, sizeof(f->desc), "%zu bytes of garbage", n);
}

/* The attempts audited since the last step: those that succeeded. */
static void
audited(struct fz *f, struct resets *r)
{
	sqlite3 *db = th_db_open(f->d);
	sqlite3_stmt *st;

	assert_non_null(db);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, "
	    "coalesce(account_id, ''), status FROM audit_logins WHERE id > ?1 "
	    "ORDER BY id", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, f->audit_seen);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *status = (const char *)sqlite3_column_text(st, 2);

		f->audit_seen = sqlite3_column_int64(st, 0);
		if (strcmp(status, "OK") != 0 || r->n >= 4)
			continue;
		snprintf(r->ids[r->n++], sizeof(r->ids[0]), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		r->source = true;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- one step ---- */

static void
step(struct fz *f)
{
	struct acct *after = f->after;
	struct src *safter = f->safter;
	struct resets r = { .n = 0 };
	struct proto_msg m;
	struct proto_reply rep;
	char user[96];
	const char *opname;
	int nafter, nsafter;

	f->peer = (int)pick(f, 10) < 4 ? P_ADMIN : pick(f, 2) ? P_AUTH :
	    P_PLAIN;
	f->desc[0] = '\0';
	if (chance(f, 2)) {
		garbage(f);
		rep.code = -1;
		goto checks;
	}
	proto_msg_init(&m);
	opname = make_request(f, &m, &f->op, user, sizeof(user));
	if (f->op < 0)
		snprintf(f->desc, sizeof(f->desc), "unknown operation '%s'",
		    opname);
	else {
		size_t len = strlen(f->desc);

		if (f->sent_user)
			snprintf(f->desc + len, sizeof(f->desc) - len,
			    " of '%s'", user);
	}
	call(f, f->peer, opname, &m, &rep);
	proto_msg_free(&m);
	if (f->verbose)
		print_message("%d %s as %s: %s %s\n", f->step, f->desc,
		    peer_names[f->peer], rep.code == ACCT_OK ? "ok" :
		    acct_errname(rep.code), rep.code > 0 ? rep.message : "");
	if (rep.code == ACCT_OK) {
		f->ok[f->peer]++;
		if (f->op < 0 || !(may[f->peer] & FB(f->op)))
			BAD(f, "succeeded, which a %s may not do",
			    peer_names[f->peer]);
		if (f->peer == P_PLAIN)
			check_plain_result(f, rep.result);
	} else
		f->refused[f->peer]++;
	if (rep.code == ACCT_OK && f->op >= 0) {
		struct acct *a;

		learn(f, f->op, rep.result);
		/* An admin's unlock clears the account's counter. */
		named(rep.result, user, sizeof(user));
		if ((a = acct_by_name(f, user)) != NULL &&
		    f->op == OP_USER_MOD && f->unlock)
			snprintf(r.ids[r.n++], sizeof(r.ids[0]), "%s", a->id);
		r.all = f->op == OP_USERS_RESET;
	}
	/* A secret proven right clears its account's and source's
	 * counters, whatever the reply then says (totp_enroll checks the
	 * password, then finds two-factor on already): the audit says
	 * which attempts succeeded. */
	audited(f, &r);
	if (rep.code == ACCT_OK && f->op == OP_LOGIN && r.n == 0)
		BAD(f, "a login succeeded with no successful attempt in the "
		    "audit log");
	proto_reply_free(&rep);
checks:
	snapshot(f, after, &nafter, safter, &nsafter);
	check_counters(f, after, nafter, safter, nsafter, &r);
	memcpy(f->acct, after, sizeof(after[0]) * (size_t)nafter);
	f->nacct = nafter;
	f->nlive = 0;
	for (int i = 0; i < nafter; i++)
		f->nlive += after[i].live;
	memcpy(f->src, safter, sizeof(safter[0]) * (size_t)nsafter);
	f->nsrc = nsafter;
	check_tokens(f, (int64_t)time(NULL));
	if (pick(f, 400) == 0)
		let_expire(f);
	check_hello(f);
}

/* ---- the run ---- */

/* ACCT_FUZZ_STEPS steps, or as many as ACCT_FUZZ_SECONDS allow. */
static int
steps_wanted(int *seconds)
{
	const char *s = getenv("ACCT_FUZZ_STEPS");
	const char *t = getenv("ACCT_FUZZ_SECONDS");

	*seconds = t != NULL && atoi(t) > 0 ? atoi(t) : 0;
	if (*seconds > 0)
		return INT_MAX;
	return s != NULL && atoi(s) > 0 ? atoi(s) : STEPS;
}

static void
test_random_sequences(void **state)
{
	struct th_daemon *d = *state;
	struct fz *f = th_keep(calloc(1, sizeof(*f)));
	int seconds, steps = steps_wanted(&seconds);
	time_t until = time(NULL) + seconds;

	if (!th_is_root())
		skip();		/* the other peers are other uids */
	assert_non_null(f);
	f->d = d;
	f->seed = th_seed();
	f->rng = f->seed;
	f->verbose = getenv("ACCT_FUZZ_VERBOSE") != NULL;
	for (int p = 0; p < P__COUNT; p++)
		f->fd[p] = -1;
	if (seconds > 0)
		print_message("%d seconds, seed %u (ACCT_SEED=%u repeats "
		    "it)\n", seconds, f->seed, f->seed);
	else
		print_message("%d steps, seed %u (ACCT_SEED=%u repeats it)\n",
		    steps, f->seed, f->seed);
	/* Locks that end within the run; no source slowed down by a second
	 * an attempt, which would only make the run slower. */
	assert_int_equal(th_up(d, "log_level = info\nlockout_failures = 3\n"
	    "lockout_base = 2\nlockout_max = 4\n"
	    "source_lockout_failures = 100\n"), 0);
	for (f->step = 1; f->step <= steps; f->step++) {
		step(f);
		if (seconds > 0 && time(NULL) >= until)
			break;
	}
	steps = f->step < steps ? f->step : steps;
	f->step = steps;
	snprintf(f->desc, sizeof(f->desc), "the end of the run");
	let_expire(f);
	for (int p = 0; p < P__COUNT; p++)
		if (f->fd[p] != -1)
			close(f->fd[p]);
	print_message("%d steps: %d/%d/%d requests succeeded and %d/%d/%d "
	    "were refused (admin/authenticator/plain), %d garbage frames; "
	    "%d tokens, %d checks of ended or expired ones, %d of live "
	    "ones, %d of expired ones after %d waits\n", steps,
	    f->ok[P_ADMIN], f->ok[P_AUTH], f->ok[P_PLAIN],
	    f->refused[P_ADMIN], f->refused[P_AUTH], f->refused[P_PLAIN],
	    f->garbage, f->ntok, f->dead_checked, f->live_checked,
	    f->expired_checked, f->waits);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_db_integrity(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_random_sequences,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
