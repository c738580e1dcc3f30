/*
 * test_dispatch.c: the policy table of acctd/dispatch.c: every operation
 * has a row and a handler, and the authorization matrix of acctd(8) is
 * the table's, line for line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define MAN	"man/acctd.8"
#define MARK	".It Em operation Ta"

static void
test_every_operation_has_a_row(void **state)
{
	(void)state;
	assert_int_equal(dispatch_init(), 0);
}

/* The matrix rows the table renders. */
static char *
rendered(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	dispatch_matrix(f);
	assert_int_equal(fclose(f), 0);
	return th_keep(buf);
}

/* The rows of the man page's matrix: the .It lines after the header. */
static char *
documented(void)
{
	char *page = th_slurp(MAN, NULL), *p, *end, *out;

	assert_non_null(page);
	assert_non_null(p = strstr(page, MARK));
	p = strchr(p, '\n') + 1;
	while (strncmp(p, ".\\\"", 3) == 0)	/* comments */
		p = strchr(p, '\n') + 1;
	assert_non_null(end = strstr(p, "\n.El\n"));
	out = th_keep(strndup(p, (size_t)(end - p) + 1));
	return out;
}

static void
test_man_page_matrix_is_the_table(void **state)
{
	char *want = rendered(), *got = documented();

	(void)state;
	if (strcmp(want, got) != 0) {
		/* The rows to paste, whole: a message would cut them. */
		const char *dir = getenv("ACCT_BUILD");
		char path[512];
		FILE *f;

		snprintf(path, sizeof(path), "%s/matrix.mdoc",
		    dir ? dir : ".");
		if ((f = fopen(path, "w")) != NULL) {
			fputs(want, f);
			fclose(f);
		}
		fail_msg("the matrix in " MAN " is not the table of "
		    "acctd/dispatch.c; its rows are in %s", path);
	}
	/* One row per operation, in the order of the protocol. */
	for (int op = 0; op < OP__COUNT; op++) {
		char row[64];

		snprintf(row, sizeof(row), ".It Ic %s Ta ", proto_ops[op].name);
		assert_non_null(strstr(got, row));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_operation_has_a_row),
		cmocka_unit_test_teardown(test_man_page_matrix_is_the_table,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
