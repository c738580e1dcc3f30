/*
 * demo.c: a minimal daemon-side user of libacct, built by test_libacct
 * against a staged 'make install' through pkg-config. Reads the password
 * from stdin; prints "ok USERNAME ROLE" or "fail ERRNAME".
 */
#include <stdio.h>
#include <string.h>

#include <acct.h>

int
main(int argc, char **argv)
{
	struct acct_user u;
	char pw[256];
	acct_t *a;
	int rc;

	if (argc != 3 || fgets(pw, sizeof(pw), stdin) == NULL)
		return 2;
	pw[strcspn(pw, "\n")] = '\0';
	if ((rc = acct_open(argv[1], &a)) != ACCT_OK) {
		printf("fail %s\n", acct_errname(rc));
		return 3;
	}
	rc = acct_login(a, argv[2], pw, "demo", "192.0.2.1", &u);
	if (rc == ACCT_OK) {
		printf("ok %s %s\n", u.username, u.role);
		acct_user_free(&u);
	} else
		printf("fail %s %s\n", acct_errname(rc), acct_last_message(a));
	acct_close(a);
	return rc == ACCT_OK ? 0 : 1;
}
