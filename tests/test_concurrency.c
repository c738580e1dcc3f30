/*
 * test_concurrency.c: writes that overlap a slow hash, against a real
 * acctd: a user_mod that sets a password writes only what it changes,
 * to the row as it is when the hash is done, and a login's session is
 * written only if the password it verified is still the account's. And
 * reads beside writes: while other connections keep every reader busy,
 * a revoked token is refused on the very next request, on any
 * connection.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define BUSY_READERS	6	/* connections reading all along */
#define PROBES		3	/* connections the revoked token is tried on */
#define ROUNDS		40
#define REPLY_MS	10000

#define ALICE_PW	"alice-password"
#define NEW_PW		"a-new-password"

#define S	TH_S
#define B	TH_B

/* About half a second a hash: long enough for a write to land in it. */
static int
setup(void **state)
{
	struct th_daemon *d;

	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	if (th_up(d, "argon2_memory_kib = 65536\nargon2_time = 16\n") != 0 ||
	    th_add_user(d->sock, "alice", ALICE_PW) != ACCT_OK)
		return -1;
	return 0;
}

static int64_t
column(const struct th_daemon *d, const char *col)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM accounts WHERE "
	    "username = 'alice' ORDER BY rowid DESC LIMIT 1", col);
	return th_db_int(d, sql, NULL);
}

/* The request r (as root), started now; its result later. */
static void
start(struct th_req *r, struct th_child *c)
{
	assert_int_equal(th_req_start(NULL, r, c), 0);
	usleep(150 * 1000);	/* it is hashing now */
}

/* A user_rm while user_mod hashes: the account stays deleted. */
static void
test_mod_does_not_undo_rm(void **state)
{
	struct th_daemon *d = *state;
	struct th_req mod = { d->sock, "user_mod", { S("username", "alice"),
	    S("new_password", NEW_PW) } };
	struct th_child c;

	start(&mod, &c);
	assert_int_equal(th_call_strs(d->sock, "user_rm", "username", "alice",
	    (char *)NULL), ACCT_OK);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_ERR_NOT_FOUND);
	assert_false(th_user_exists(d->sock, "alice"));
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "username = 'alice' AND deleted_at IS NULL", NULL), 0);
}

/* login=false set while another user_mod hashes a password: both stay. */
static void
test_mod_keeps_other_mod(void **state)
{
	struct th_daemon *d = *state;
	struct th_req mod = { d->sock, "user_mod", { S("username", "alice"),
	    S("new_password", NEW_PW) } };
	struct th_child c;
	struct proto_msg m;

	start(&mod, &c);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", false);
	proto_kv_str(&m, "name", "Alice Meanwhile");
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_OK);
	assert_int_equal(column(d, "login_allowed"), 0);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM accounts WHERE "
	    "display_name = 'Alice Meanwhile'", NULL), 1);
	/* And the new password is the account's. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "login", true);
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_call_strs(d->sock, "login", "username", "alice",
	    "password", NEW_PW, (char *)NULL), ACCT_OK);
}

/*
 * A login with session=true whose hash overlaps the password's removal
 * leaves no session that validates: the removal ended the sessions
 * there were, and the login's is not written once the hash is gone.
 */
static void
test_session_after_password_removed(void **state)
{
	struct th_daemon *d = *state;
	struct th_req login = { d->sock, "login", { S("username", "alice"),
	    S("password", ALICE_PW), B("session", 1) } };
	struct th_child c;
	struct proto_msg m;

	start(&login, &c);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_bool(&m, "remove", true);
	assert_int_equal(th_call_code(d->sock, "passwd", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(th_req_wait(&c, NULL, 0), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM tokens WHERE "
	    "type = 'session'", NULL), 0);
}

/* One request on a connection of our own: the reply code, or -1. */
static int
call_on(int fd, const char *op, struct proto_msg *args, char *token,
    size_t tokensz)
{
	static uint64_t id;
	struct proto_reply rep;
	const msgpack_object *t;
	int rc;

	if (th_send_request(fd, __atomic_add_fetch(&id, 1, __ATOMIC_RELAXED),
	    op, args) == -1 || th_recv(fd, REPLY_MS, &rep) != TH_REPLY)
		return -1;
	rc = rep.code;
	if (token != NULL && rc == ACCT_OK && ((t = proto_map_get(rep.result,
	    "token")) == NULL || t->type != MSGPACK_OBJECT_STR ||
	    t->via.str.size >= tokensz))
		rc = -1;
	else if (token != NULL && rc == ACCT_OK)
		snprintf(token, tokensz, "%.*s", (int)t->via.str.size,
		    t->via.str.ptr);
	proto_reply_free(&rep);
	return rc;
}

static int
validate_on(int fd, const char *token)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "token", token);
	rc = call_on(fd, "token_validate", &m, NULL, 0);
	proto_msg_free(&m);
	return rc;
}

struct busy {
	const char	*sock;
	const char	*token;		/* stays valid throughout */
	_Atomic bool	*stop;
	unsigned	 requests;
	unsigned	 wrong;		/* answers other than OK */
};

/* Validations and user_show, one after another, until told to stop. */
static void *
busy_reader(void *arg)
{
	struct busy *b = arg;
	struct proto_msg m;
	int fd = th_connect(b->sock);

	while (fd != -1 && !*b->stop) {
		proto_msg_init(&m);
		proto_kv_str(&m, "username", "alice");
		if (validate_on(fd, b->token) != ACCT_OK ||
		    call_on(fd, "user_show", &m, NULL, 0) != ACCT_OK)
			b->wrong++;
		proto_msg_free(&m);
		b->requests += 2;
	}
	if (fd == -1)
		b->wrong++;
	else
		close(fd);
	return NULL;
}

static int
new_token(int fd, char *token, size_t n)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "type", "access_token");
	proto_kv_str(&m, "username", "alice");
	rc = call_on(fd, "token_add", &m, token, n);
	proto_msg_free(&m);
	return rc;
}

/*
 * Tokens made, seen valid, and revoked on one connection after another
 * while six others read without pause: the very next validation of a
 * revoked token, on any connection, refuses it. A reader that kept an
 * old view of the database (a transaction left open, a snapshot reused)
 * would still accept it.
 */
static void
test_revoked_at_once_everywhere(void **state)
{
	struct th_daemon *d = *state;
	struct busy b[BUSY_READERS];
	pthread_t t[BUSY_READERS];
	_Atomic bool stop = false;
	char keep[128], tok[128], id[20], bad[160] = "";
	int probe[PROBES];
	unsigned total = 0, wrong = 0;

	for (int i = 0; i < PROBES; i++)
		assert_int_not_equal(probe[i] = th_connect(d->sock), -1);
	assert_int_equal(new_token(probe[0], keep, sizeof(keep)), ACCT_OK);
	for (int i = 0; i < BUSY_READERS; i++) {
		b[i] = (struct busy){ .sock = d->sock, .token = keep,
		    .stop = &stop };
		assert_int_equal(pthread_create(&t[i], NULL, busy_reader,
		    &b[i]), 0);
	}
	/* Failures are told once the readers have stopped. */
	for (int r = 0; r < ROUNDS && bad[0] == '\0'; r++) {
		struct proto_msg m;
		int rc;

		if (new_token(probe[r % PROBES], tok, sizeof(tok)) != ACCT_OK) {
			snprintf(bad, sizeof(bad), "round %d: token_add", r);
			break;
		}
		/* Seen valid everywhere first: each reader has read it. */
		for (int i = 0; i < PROBES && bad[0] == '\0'; i++)
			if ((rc = validate_on(probe[i], tok)) != ACCT_OK)
				snprintf(bad, sizeof(bad), "round %d: a new token "
				    "refused on connection %d (%d)", r, i, rc);
		snprintf(id, sizeof(id), "%.16s", tok);
		proto_msg_init(&m);
		proto_kv_str(&m, "id", id);
		if (bad[0] == '\0' && call_on(probe[(r + 1) % PROBES],
		    "token_revoke", &m, NULL, 0) != ACCT_OK)
			snprintf(bad, sizeof(bad), "round %d: token_revoke", r);
		proto_msg_free(&m);
		for (int i = 0; i < PROBES && bad[0] == '\0'; i++)
			if ((rc = validate_on(probe[(r + i) % PROBES], tok)) !=
			    ACCT_ERR_INVALID_TOKEN)
				snprintf(bad, sizeof(bad), "round %d: the revoked "
				    "token answered %d on connection %d", r, rc,
				    (r + i) % PROBES);
	}
	stop = true;
	for (int i = 0; i < BUSY_READERS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		wrong += b[i].wrong;
		total += b[i].requests;
	}
	if (bad[0] != '\0')
		fail_msg("%s", bad);
	assert_int_equal(wrong, 0);
	/* The readers did read meanwhile. */
	assert_true(total > BUSY_READERS);
	for (int i = 0; i < PROBES; i++)
		close(probe[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mod_does_not_undo_rm,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_mod_keeps_other_mod,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_after_password_removed, setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoked_at_once_everywhere, setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
