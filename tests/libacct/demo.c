/*
 * demo.c: a minimal daemon-side user of libacct, built by test_libacct
 * against a staged 'make install' through pkg-config. Reads the password
 * from stdin. "demo SOCK USER" logs in: "ok USERNAME ROLE" or "fail
 * ERRNAME". "demo SOCK USER session" also opens a session, validates,
 * revokes and validates it again, printing each outcome.
 */
#include <stdio.h>
#include <string.h>

#include <acct.h>

static int
session(acct_t *a, const char *user, const char *pw)
{
	struct acct_login_req r = { .username = user, .password = pw,
	    .service = "demo", .session = true, .scope = "demo" };
	struct acct_user u;
	char *token = NULL;
	int rc;

	if ((rc = acct_login_ex(a, &r, &u, &token)) != ACCT_OK) {
		printf("fail %s\n", acct_errname(rc));
		return 1;
	}
	acct_user_free(&u);
	printf("session %zu", strlen(token));
	rc = acct_validate(a, token, "demo", &u);
	printf(" validate=%s", acct_errname(rc));
	if (rc == ACCT_OK) {
		printf(" user=%s", u.username);
		acct_user_free(&u);
	}
	printf(" other_scope=%s", acct_errname(acct_validate(a, token,
	    "webdav", NULL)));
	printf(" revoke=%s", acct_errname(acct_revoke(a, token)));
	printf(" after=%s\n", acct_errname(acct_validate(a, token, NULL,
	    NULL)));
	acct_secret_free(token);
	return 0;
}

int
main(int argc, char **argv)
{
	struct acct_user u;
	char pw[256];
	acct_t *a;
	int rc;

	if (argc < 3 || argc > 4 || fgets(pw, sizeof(pw), stdin) == NULL)
		return 2;
	pw[strcspn(pw, "\n")] = '\0';
	if ((rc = acct_open(argv[1], &a)) != ACCT_OK) {
		printf("fail %s\n", acct_errname(rc));
		return 3;
	}
	if (argc == 4)
		rc = session(a, argv[2], pw);
	else if ((rc = acct_login(a, argv[2], pw, "demo", "192.0.2.1",
	    &u)) == ACCT_OK) {
		printf("ok %s %s\n", u.username, u.role);
		acct_user_free(&u);
	} else
		printf("fail %s %s\n", acct_errname(rc), acct_last_message(a));
	acct_close(a);
	return rc == ACCT_OK ? 0 : 1;
}
