/*
 * test_may_log_in.c: the one rule of who may log in, written in C
 * (account_may_log_in()) and in SQL (ACCOUNT_MAY_LOG_IN_SQL and
 * ACCOUNT_OPEN_SQL), gives the same answer for every combination of
 * deleted, login allowed, activated and expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../acctd/acctd.h"

#define NOW	INT64_C(1800000000)

/* What the SQL says of one row at NOW: may (all of it), open (all but
 * activation). */
static void
sql_says(sqlite3 *db, const struct account *a, bool *may, bool *open)
{
	static const char sql[] = "SELECT " ACCOUNT_MAY_LOG_IN_SQL("a.", "?5")
	    ", " ACCOUNT_OPEN_SQL("a.", "?5") " FROM (SELECT ?1 AS "
	    "deleted_at, ?2 AS login_allowed, ?3 AS activated, ?4 AS "
	    "expires_at) a";
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (a->deleted_at != 0)
		sqlite3_bind_int64(st, 1, a->deleted_at);
	sqlite3_bind_int(st, 2, a->login);
	sqlite3_bind_int(st, 3, a->activated);
	if (a->expires_at != 0)
		sqlite3_bind_int64(st, 4, a->expires_at);
	sqlite3_bind_int64(st, 5, NOW);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*may = sqlite3_column_int(st, 0) != 0;
	*open = sqlite3_column_int(st, 1) != 0;
	sqlite3_finalize(st);
}

static void
test_c_and_sql_agree(void **state)
{
	static const int64_t deleted[] = { 0, NOW - 10 };
	static const int64_t expires[] = { 0, NOW - 1, NOW, NOW + 1 };
	sqlite3 *db;
	int n = 0;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (int d = 0; d < 2; d++)
		for (int l = 0; l < 2; l++)
			for (int act = 0; act < 2; act++)
				for (int e = 0; e < 4; e++) {
		struct account a = { .deleted_at = deleted[d], .login = l,
		    .activated = act, .expires_at = expires[e] };
		enum account_bar b = account_may_log_in(&a, NOW);
		bool may, open;

		sql_says(db, &a, &may, &open);
		if (may != (b == ACCOUNT_MAY) || open != (b == ACCOUNT_MAY ||
		    b == ACCOUNT_PENDING))
			fail_msg("deleted %lld login %d activated %d expires "
			    "%lld: C says %d, SQL may %d open %d",
			    (long long)a.deleted_at, l, act,
			    (long long)a.expires_at, b, may, open);
		n++;
	}
	assert_int_equal(n, 32);
	sqlite3_close(db);
}

/* The order of the bars: the account's status word, the audit's. */
static void
test_first_bar_wins(void **state)
{
	struct account a = { .deleted_at = 5, .expires_at = NOW - 1 };

	(void)state;
	assert_int_equal(account_may_log_in(&a, NOW), ACCOUNT_DELETED);
	a.deleted_at = 0;
	assert_int_equal(account_may_log_in(&a, NOW), ACCOUNT_EXPIRED);
	a.expires_at = 0;
	assert_int_equal(account_may_log_in(&a, NOW), ACCOUNT_DISABLED);
	a.login = true;
	assert_int_equal(account_may_log_in(&a, NOW), ACCOUNT_PENDING);
	a.activated = true;
	assert_int_equal(account_may_log_in(&a, NOW), ACCOUNT_MAY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_and_sql_agree),
		cmocka_unit_test(test_first_bar_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
