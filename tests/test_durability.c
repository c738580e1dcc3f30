/*
 * test_durability.c: kill -9 at random moments while a client keeps
 * changing accounts; after every restart each acknowledged change is
 * there and PRAGMA integrity_check says ok (SPEC 10, issue 6).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define KILLS		24
#define MAX_USERS	400

/* What the client knows. pending: an unacknowledged change that may or
 * may not have happened (the daemon died during the call). */
struct user {
	char	name[32];	/* display name */
	char	pw[32];
	bool	exists;
	bool	pw_checked;	/* password verified since it last changed */
};

struct model {
	struct user	u[MAX_USERS];
	int		n;
	int		acked;
	/* The one change in flight when the daemon died, if any. */
	int		pend_user;	/* -1: none */
	char		pend_kind;	/* 'a' add, 'm' name, 'p' password */
	char		pend_val[32];
};

struct killer {
	pid_t		pid;
	int		delay_ms;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;
	struct timespec ts = { k->delay_ms / 1000,
	    (long)(k->delay_ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	kill(k->pid, SIGKILL);
	return NULL;
}

static void
uname_of(int i, char *buf, size_t sz)
{
	snprintf(buf, sz, "dur%d", i);
}

/* One change; returns th_call's result, the reply code in *code. */
static int
one_change(struct th_daemon *d, struct model *m, unsigned seq, int *code)
{
	struct proto_msg a;
	struct proto_reply rep;
	char uname[32];
	const char *op;
	int i, rc;

	proto_msg_init(&a);
	if (m->n < 3 || (seq % 3 == 0 && m->n < MAX_USERS)) {
		i = m->n;
		m->pend_kind = 'a';
		snprintf(m->pend_val, sizeof(m->pend_val), "password-add-%u", seq);
		uname_of(i, uname, sizeof(uname));
		proto_kv_str(&a, "username", uname);
		proto_kv_str(&a, "new_password", m->pend_val);
		op = "user_add";
	} else {
		i = (int)(random() % m->n);
		uname_of(i, uname, sizeof(uname));
		proto_kv_str(&a, "username", uname);
		if (seq % 3 == 1) {
			m->pend_kind = 'm';
			snprintf(m->pend_val, sizeof(m->pend_val), "name %u",
			    seq);
			proto_kv_str(&a, "name", m->pend_val);
			op = "user_mod";
		} else {
			m->pend_kind = 'p';
			snprintf(m->pend_val, sizeof(m->pend_val), "password-%u",
			    seq);
			proto_kv_str(&a, "new_password", m->pend_val);
			op = "passwd";
		}
	}
	m->pend_user = i;
	rc = th_call(d->sock, op, &a, &rep);
	proto_msg_free(&a);
	*code = rc == ACCT_OK ? rep.code : rc;
	proto_reply_free(&rep);
	return rc;
}

/* Record the acknowledged pending change in the model. */
static void
apply_pending(struct model *m)
{
	struct user *u = &m->u[m->pend_user];

	switch (m->pend_kind) {
	case 'a':
		memset(u, 0, sizeof(*u));
		u->exists = true;
		strcpy(u->pw, m->pend_val);
		if (m->pend_user == m->n)
			m->n++;
		break;
	case 'm':
		strcpy(u->name, m->pend_val);
		break;
	case 'p':
		strcpy(u->pw, m->pend_val);
		u->pw_checked = false;
		break;
	}
	m->pend_user = -1;
	m->acked++;
}

static int
login_code(const char *sock, const char *uname, const char *pw)
{
	struct proto_msg a;
	int rc;

	proto_msg_init(&a);
	proto_kv_str(&a, "username", uname);
	proto_kv_str(&a, "password", pw);
	rc = th_call_code(sock, "login", &a);
	proto_msg_free(&a);
	return rc;
}

/*
 * After a restart: resolve the change in flight from what the daemon
 * shows, then check every account against the model.
 */
static void
verify(struct th_daemon *d, struct model *m)
{
	struct proto_reply rep;
	struct proto_msg a;
	const msgpack_object *users;
	char uname[32];

	if (m->pend_user >= 0) {
		struct user *u = &m->u[m->pend_user];
		bool done = false;

		uname_of(m->pend_user, uname, sizeof(uname));
		if (m->pend_kind == 'a')
			done = th_user_exists(d->sock, uname);
		else if (m->pend_kind == 'p')
			done = login_code(d->sock, uname, m->pend_val) ==
			    ACCT_OK;
		else {
			proto_msg_init(&a);
			proto_kv_str(&a, "username", uname);
			assert_int_equal(th_call(d->sock, "user_show", &a,
			    &rep), ACCT_OK);
			proto_msg_free(&a);
			assert_int_equal(rep.code, ACCT_OK);
			done = th_str_is(proto_map_get(rep.result, "user"),
			    "name", m->pend_val);
			proto_reply_free(&rep);
		}
		if (done) {
			apply_pending(m);
			m->acked--;	/* it was not acknowledged */
			if (m->pend_kind == 'p')
				u->pw_checked = true;
		}
		m->pend_user = -1;
	}
	/* Names of all accounts in one listing. */
	proto_msg_init(&a);
	proto_kv_int(&a, "limit", 10000);
	assert_int_equal(th_call(d->sock, "user_list", &a, &rep), ACCT_OK);
	proto_msg_free(&a);
	assert_int_equal(rep.code, ACCT_OK);
	users = proto_map_get(rep.result, "users");
	assert_non_null(users);
	assert_int_equal(users->type, MSGPACK_OBJECT_ARRAY);
	if (users->via.array.size != (uint32_t)m->n)
		fail_msg("%u accounts listed, %d expected",
		    users->via.array.size, m->n);
	for (int i = 0; i < m->n; i++) {
		const msgpack_object *acct = NULL;

		uname_of(i, uname, sizeof(uname));
		for (uint32_t k = 0; k < users->via.array.size; k++)
			if (th_str_is(&users->via.array.ptr[k], "username",
			    uname))
				acct = &users->via.array.ptr[k];
		if (acct == NULL)
			fail_msg("acknowledged account %s is missing", uname);
		if (!th_str_is(acct, "name", m->u[i].name))
			fail_msg("%s: acknowledged name '%s' is lost", uname,
			    m->u[i].name);
	}
	proto_reply_free(&rep);
	/* Passwords changed since the last check. */
	for (int i = 0; i < m->n; i++) {
		if (m->u[i].pw_checked)
			continue;
		uname_of(i, uname, sizeof(uname));
		if (login_code(d->sock, uname, m->u[i].pw) != ACCT_OK)
			fail_msg("%s: acknowledged password is lost", uname);
		m->u[i].pw_checked = true;
	}
}

static void
test_kill9_keeps_acknowledged_changes(void **state)
{
	struct th_daemon *d = *state;
	struct model *m = th_keep(calloc(1, sizeof(*m)));
	unsigned seq = 0, seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	int mid_call = 0;

	assert_non_null(m);
	srandom(seed);
	print_message("seed %u\n", seed);
	m->pend_user = -1;
	assert_int_equal(th_up(d, "lockout_failures = 100\n"
	    "source_lockout_failures = 100\nlog_level = info\n"), 0);
	for (int kill_no = 0; kill_no < KILLS; kill_no++) {
		struct killer k = { d->pid, 5 + (int)(random() % 250) };
		pthread_t t;

		assert_int_equal(pthread_create(&t, NULL, killer_main, &k), 0);
		for (;;) {
			int code, rc = one_change(d, m, seq++, &code);

			if (rc == ACCT_OK && code == ACCT_OK) {
				apply_pending(m);
				continue;
			}
			if (rc == ACCT_OK)
				fail_msg("change %u refused: %s", seq - 1,
				    acct_errname(code));
			/* Not connected: nothing was sent. */
			if (rc == ACCT_ERR_CONNECT)
				m->pend_user = -1;
			else
				mid_call++;
			break;
		}
		pthread_join(t, NULL);
		th_kill9(d);
		assert_int_equal(th_start(d), 0);
		assert_int_equal(th_db_integrity(d), 0);
		verify(d, m);
	}
	print_message("%d kills (%d during a call), %d acknowledged changes, "
	    "%d accounts\n", KILLS, mid_call, m->acked, m->n);
	assert_true(m->acked > KILLS);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_db_integrity(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_kill9_keeps_acknowledged_changes, th_setup_lazy,
		    th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
