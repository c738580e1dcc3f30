/*
 * test_tokens.c: sessions, access tokens, app passwords and OAuth2 clients
 * against a real acctd: validation, expiry, revocation, scope, ownership,
 * lifecycle (users rm, password change, reset) and bad tokens.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

#define PW	"tok-password-1"

struct tok {
	char	token[128];
	char	id[32];
};

static void
copy_str(const msgpack_object *map, const char *key, char *out, size_t n)
{
	const msgpack_object *o = proto_map_get(map, key);

	assert_non_null(o);
	assert_int_equal(o->type, MSGPACK_OBJECT_STR);
	assert_true(o->via.str.size < n);
	memcpy(out, o->via.str.ptr, o->via.str.size);
	out[o->via.str.size] = '\0';
}

/* token_add; returns the code, fills *t on success. */
static int
add(const struct th_daemon *d, const char *user, const char *type,
    const char *name, const char *scope, int64_t lifetime, struct tok *t)
{
	struct proto_msg m;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&m);
	if (user != NULL)
		proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "type", type);
	if (name != NULL)
		proto_kv_str(&m, "name", name);
	if (scope != NULL)
		proto_kv_str(&m, "scope", scope);
	if (lifetime > 0)
		proto_kv_int(&m, "lifetime", lifetime);
	rc = th_call(d->sock, "token_add", &m, &rep);
	proto_msg_free(&m);
	if (rc == ACCT_OK && (rc = rep.code) == ACCT_OK) {
		copy_str(rep.result, "token", t->token, sizeof(t->token));
		copy_str(proto_map_get(rep.result, "info"), "id", t->id,
		    sizeof(t->id));
		/* The secret appears once: as "token", not in the info. */
		assert_null(proto_map_get(proto_map_get(rep.result, "info"),
		    "token"));
	}
	proto_reply_free(&rep);
	return rc;
}

static int
validate(const struct th_daemon *d, const char *token, const char *service,
    char *user, size_t usersz)
{
	struct proto_msg m;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "token", token);
	if (service != NULL)
		proto_kv_str(&m, "service", service);
	rc = th_call(d->sock, "token_validate", &m, &rep);
	proto_msg_free(&m);
	if (rc == ACCT_OK && (rc = rep.code) == ACCT_OK && user != NULL)
		copy_str(proto_map_get(rep.result, "user"), "username", user,
		    usersz);
	if (rc == ACCT_ERR_INVALID_TOKEN)
		assert_string_equal(rep.message, "invalid token");
	proto_reply_free(&rep);
	return rc;
}

static int
login_session(const struct th_daemon *d, const char *user, const char *pw,
    const char *service, struct tok *t)
{
	struct proto_msg m;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", user);
	proto_kv_str(&m, "password", pw);
	proto_kv_str(&m, "service", service);
	proto_kv_bool(&m, "session", t != NULL);
	rc = th_call(d->sock, "login", &m, &rep);
	proto_msg_free(&m);
	if (rc == ACCT_OK && (rc = rep.code) == ACCT_OK && t != NULL) {
		copy_str(rep.result, "token", t->token, sizeof(t->token));
		copy_str(proto_map_get(rep.result, "session"), "id", t->id,
		    sizeof(t->id));
	}
	proto_reply_free(&rep);
	return rc;
}

static int
revoke_tok(const struct th_daemon *d, const char *key, const char *val)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, key, val);
	rc = th_call_code(d->sock, "token_revoke", &m);
	proto_msg_free(&m);
	return rc;
}

static int
setup(void **state)
{
	struct th_daemon *d;

	if (th_setup(state) == -1)
		return -1;
	d = *state;
	return th_add_user(d->sock, "alice", PW) == ACCT_OK &&
	    th_add_user(d->sock, "nobody", PW) == ACCT_OK ? 0 : -1;
}

static void
test_session_from_login(void **state)
{
	struct th_daemon *d = *state;
	struct tok s;
	char user[65];

	assert_int_equal(login_session(d, "alice", PW, "web", &s), ACCT_OK);
	assert_int_equal(strlen(s.token), 81);
	assert_int_equal(validate(d, s.token, NULL, user, sizeof(user)),
	    ACCT_OK);
	assert_string_equal(user, "alice");
	/* A session is refused once revoked, by id. */
	assert_int_equal(revoke_tok(d, "id", s.id), ACCT_OK);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(revoke_tok(d, "id", s.id), ACCT_ERR_NOT_FOUND);
	/* ... or by the token itself. */
	assert_int_equal(login_session(d, "alice", PW, "web", &s), ACCT_OK);
	assert_int_equal(revoke_tok(d, "token", s.token), ACCT_OK);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
}

/* Every malformed or unknown token gets the same answer. */
static void
test_bad_tokens_one_answer(void **state)
{
	struct th_daemon *d = *state;
	struct tok s, c;
	char forged[128];
	const char *bad[] = {
		"", "x", "0123456789abcdef",
		"0123456789abcdef_",
		"0123456789abcdef_0000000000000000000000000000000000000000000000000000000000000000",
		"0123456789ABCDEF_0000000000000000000000000000000000000000000000000000000000000000",
		"0123456789abcdef-0000000000000000000000000000000000000000000000000000000000000000",
		"0123456789abcdef_00000000000000000000000000000000000000000000000000000000000000000",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(validate(d, bad[i], NULL, NULL, 0),
		    ACCT_ERR_INVALID_TOKEN);
	/* A real id with a wrong secret. */
	assert_int_equal(login_session(d, "alice", PW, "web", &s), ACCT_OK);
	snprintf(forged, sizeof(forged), "%s", s.token);
	forged[80] = forged[80] == '0' ? '1' : '0';
	assert_int_equal(validate(d, forged, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	/* A client secret is not a token of validate's kind. */
	assert_int_equal(add(d, NULL, "client", "cli", NULL, 0, &c), ACCT_OK);
	assert_int_equal(validate(d, c.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	/* Nor is a session an app password at login. */
	assert_int_equal(login_session(d, "alice", s.token, "web", NULL),
	    ACCT_ERR_AUTH_FAILED);
}

static void
test_expiry(void **state)
{
	struct th_daemon *d = *state;
	struct tok t;
	int rc = ACCT_OK;

	assert_int_equal(add(d, "alice", "access_token", NULL, NULL, 1, &t),
	    ACCT_OK);
	/* Bounded wait for the one-second lifetime to pass. */
	for (int i = 0; i < 60 && rc == ACCT_OK; i++) {
		usleep(100 * 1000);
		rc = validate(d, t.token, NULL, NULL, 0);
	}
	assert_int_equal(rc, ACCT_ERR_INVALID_TOKEN);
}

static void
test_scope(void **state)
{
	struct th_daemon *d = *state;
	struct tok t;

	assert_int_equal(add(d, "alice", "access_token", NULL, "webdav imap",
	    0, &t), ACCT_OK);
	assert_int_equal(validate(d, t.token, "webdav", NULL, 0), ACCT_OK);
	assert_int_equal(validate(d, t.token, "imap", NULL, 0), ACCT_OK);
	assert_int_equal(validate(d, t.token, "smtp", NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(validate(d, t.token, "web", NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(validate(d, t.token, NULL, NULL, 0), ACCT_OK);
}

static void
test_app_password_login(void **state)
{
	struct th_daemon *d = *state;
	struct tok t, other;

	assert_int_equal(add(d, "alice", "app_password", NULL, "imap", 0, &t),
	    ACCT_ERR_INVALID);	/* needs a name */
	assert_int_equal(add(d, "alice", "app_password", "phone", "imap", 0,
	    &t), ACCT_OK);
	assert_int_equal(login_session(d, "alice", t.token, "imap", NULL),
	    ACCT_OK);
	assert_int_equal(login_session(d, "alice", t.token, "webdav", NULL),
	    ACCT_ERR_AUTH_FAILED);
	/* Another account's app password opens nothing here. */
	assert_int_equal(add(d, "nobody", "app_password", "x", "*", 0,
	    &other), ACCT_OK);
	assert_int_equal(login_session(d, "alice", other.token, "imap", NULL),
	    ACCT_ERR_AUTH_FAILED);
	assert_int_equal(revoke_tok(d, "id", t.id), ACCT_OK);
	assert_int_equal(login_session(d, "alice", t.token, "imap", NULL),
	    ACCT_ERR_AUTH_FAILED);
}

static void
test_clients(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	struct proto_reply rep;
	struct tok c;

	assert_int_equal(add(d, NULL, "client", "backup", "sync", 0, &c),
	    ACCT_OK);
	c.token[16] = '\0';	/* id_secret: split in two */
	proto_msg_init(&m);
	proto_kv_str(&m, "client_id", c.token);
	proto_kv_str(&m, "client_secret", c.token + 17);
	proto_kv_str(&m, "scope", "sync");
	assert_int_equal(th_call(d->sock, "client_verify", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	assert_true(th_str_is(proto_map_get(rep.result, "client"), "name",
	    "backup"));
	proto_reply_free(&rep);
	proto_msg_init(&m);
	proto_kv_str(&m, "client_id", c.token);
	proto_kv_str(&m, "client_secret", c.token + 17);
	proto_kv_str(&m, "scope", "admin");
	assert_int_equal(th_call_code(d->sock, "client_verify", &m),
	    ACCT_ERR_INVALID_TOKEN);
	proto_msg_free(&m);
	c.token[17] ^= 1;
	proto_msg_init(&m);
	proto_kv_str(&m, "client_id", c.token);
	proto_kv_str(&m, "client_secret", c.token + 17);
	assert_int_equal(th_call_code(d->sock, "client_verify", &m),
	    ACCT_ERR_INVALID_TOKEN);
	proto_msg_free(&m);
}

static int
count_type(const struct th_daemon *d, const char *type)
{
	struct proto_msg m;
	struct proto_reply rep;
	int n;

	proto_msg_init(&m);
	if (type != NULL)
		proto_kv_str(&m, "type", type);
	assert_int_equal(th_call(d->sock, "token_list", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	n = (int)proto_map_get(rep.result, "tokens")->via.array.size;
	proto_reply_free(&rep);
	return n;
}

static void
test_lifecycle(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	struct tok s, t;

	assert_int_equal(login_session(d, "alice", PW, "web", &s), ACCT_OK);
	assert_int_equal(add(d, "alice", "access_token", NULL, NULL, 0, &t),
	    ACCT_OK);
	/* A password change ends sessions, not access tokens. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "new_password", "tok-password-2");
	assert_int_equal(th_call_code(d->sock, "passwd", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(validate(d, t.token, NULL, NULL, 0), ACCT_OK);
	/* Disabling login ends its tokens: allowing it again brings none
	 * back. */
	assert_int_equal(login_session(d, "alice", "tok-password-2", "web",
	    &s), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", false);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(validate(d, t.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", true);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(validate(d, t.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	/* So does an end date in the past, and a later one revives none. */
	assert_int_equal(login_session(d, "alice", "tok-password-2", "web",
	    &s), ACCT_OK);
	assert_int_equal(add(d, "alice", "access_token", NULL, NULL, 0, &t),
	    ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_int(&m, "expires_at", 1000);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_int(&m, "expires_at", 0);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(validate(d, t.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(count_type(d, NULL), 0);
	/* users rm ends everything the account had. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call_code(d->sock, "user_rm", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(count_type(d, NULL), 0);
	/* tokens_reset ends all. */
	assert_int_equal(login_session(d, "nobody", PW, "web", &s), ACCT_OK);
	assert_int_equal(count_type(d, "session"), 1);
	proto_msg_init(&m);
	proto_kv_bool(&m, "confirm", true);
	assert_int_equal(th_call_code(d->sock, "tokens_reset", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(count_type(d, NULL), 0);
	assert_int_equal(validate(d, s.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
}

/* The secret is stored only as a digest. */
static void
test_secret_not_stored(void **state)
{
	struct th_daemon *d = *state;
	struct tok t;
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	assert_int_equal(add(d, "alice", "access_token", NULL, NULL, 0, &t),
	    ACCT_OK);
	assert_int_equal(sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM tokens "
	    "WHERE instr(id || name || scope || secret_sha256, ?1) > 0", -1,
	    &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, t.token + 17, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(n, 0);
}

/* As uid nobody (account "nobody"): own tokens only. */
static int
as_user(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;
	struct proto_msg m;
	struct proto_reply rep;
	const char *ids = getenv("TEST_IDS");	/* "ALICE_ID NOBODY_ID" */
	char alice[32], mine[32];
	int n = -1, rc;

	if (ids == NULL || sscanf(ids, "%31s %31s", alice, mine) != 2)
		return 90;
	proto_msg_init(&m);
	if (th_call(d->sock, "token_list", &m, &rep) == ACCT_OK &&
	    rep.code == ACCT_OK)
		n = (int)proto_map_get(rep.result, "tokens")->via.array.size;
	proto_reply_free(&rep);
	proto_msg_free(&m);
	fprintf(out, "list=%d ", n);
	proto_msg_init(&m);
	proto_kv_str(&m, "id", alice);
	fprintf(out, "show_other=%d ", th_call_code(d->sock, "token_show", &m));
	fprintf(out, "rm_other=%d ", th_call_code(d->sock, "token_revoke", &m));
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "id", mine);
	fprintf(out, "show_own=%d ", th_call_code(d->sock, "token_show", &m));
	fprintf(out, "rm_own=%d ", th_call_code(d->sock, "token_revoke", &m));
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "nobody");
	proto_kv_str(&m, "type", "access_token");
	rc = th_call_code(d->sock, "token_add", &m);
	proto_msg_free(&m);
	fprintf(out, "add=%d", rc);
	return 0;
}

static void
test_ownership(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	struct tok a, b, c;
	char ids[80], buf[256], want[256];

	if (!th_is_root())
		skip();
	assert_int_equal(login_session(d, "alice", PW, "web", &a), ACCT_OK);
	assert_int_equal(login_session(d, "nobody", PW, "web", &b), ACCT_OK);
	assert_int_equal(login_session(d, "nobody", PW, "web", &c), ACCT_OK);
	snprintf(ids, sizeof(ids), "%s %s", a.id, b.id);
	setenv("TEST_IDS", ids, 1);
	assert_int_equal(th_as(&plain, as_user, d, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "list=2 show_other=%d rm_other=%d "
	    "show_own=%d rm_own=%d add=%d", ACCT_ERR_NOT_FOUND,
	    ACCT_ERR_NOT_FOUND, ACCT_OK, ACCT_OK, ACCT_ERR_DENIED);
	assert_string_equal(buf, want);
	/* Alice's session was untouched. */
	assert_int_equal(validate(d, a.token, NULL, NULL, 0), ACCT_OK);
	assert_int_equal(validate(d, b.token, NULL, NULL, 0),
	    ACCT_ERR_INVALID_TOKEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_from_login,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_bad_tokens_one_answer,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_scope, setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_app_password_login,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_clients, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_secret_not_stored, setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_ownership, setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
