/*
 * lifecycle.c: a web application's use of libacct for the password
 * lifecycle, built by test_libacct against the staged install. One step
 * per run, secrets one a line on stdin, one line of outcomes out:
 *   lifecycle SOCK sso USER        (stdin: new password)
 *   lifecycle SOCK passwd USER     (stdin: current, new)
 *   lifecycle SOCK login USER      (stdin: password)
 *   lifecycle SOCK forgot EMAIL ADDR
 *   lifecycle SOCK reset           (stdin: mailed token, new password)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <acct.h>

#if !defined(LIBACCT_VERSION_NUM) || LIBACCT_VERSION_NUM < 2
#error "acct.h is older than 0.2: no lifecycle calls"
#endif

static char *
line(char *buf, size_t n)
{
	if (fgets(buf, (int)n, stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* errname, and the daemon's message when there is one worth showing. */
static void
outcome(acct_t *a, const char *what, int rc)
{
	printf("%s=%s", what, acct_errname(rc));
	if (rc == ACCT_ERR_POLICY)
		printf(" (%s)", acct_last_message(a));
}

/*
 * An SSO user signed in elsewhere: open a session for it, check it,
 * set the account's first local password with the session as proof;
 * the change ends the session.
 */
static int
sso(acct_t *a, const char *user, const char *pw)
{
	struct acct_session_req r = { .username = user, .service = "webapp",
	    .scope = "webapp", .lifetime = 3600 };
	struct acct_user u;
	char *token = NULL;
	int rc;

	if ((rc = acct_session_add(a, &r, &u, &token)) != ACCT_OK) {
		outcome(a, "session", rc);
		putchar('\n');
		return 1;
	}
	printf("session=%zu user=%s auth=%s", strlen(token), u.username,
	    u.auth_provider);
	acct_user_free(&u);
	rc = acct_validate(a, token, "webapp", &u);
	outcome(a, " validate", rc);
	if (rc == ACCT_OK) {
		printf(" as=%s", u.username);
		acct_user_free(&u);
	}
	outcome(a, " passwd", acct_passwd(a, user, NULL, token, pw));
	outcome(a, " after", acct_validate(a, token, "webapp", NULL));
	outcome(a, " login", acct_login(a, user, pw, "webapp", NULL, NULL));
	putchar('\n');
	acct_secret_free(token);
	return 0;
}

int
main(int argc, char **argv)
{
	char s1[512], s2[512];
	acct_t *a;
	char *who = NULL;
	bool activated;
	int rc;

	if (argc < 3)
		return 2;
	if ((rc = acct_open(argv[1], &a)) != ACCT_OK) {
		printf("open=%s\n", acct_errname(rc));
		return 3;
	}
	rc = 0;
	if (strcmp(argv[2], "sso") == 0 && argc == 4 && line(s1, sizeof(s1)))
		rc = sso(a, argv[3], s1);
	else if (strcmp(argv[2], "passwd") == 0 && argc == 4 &&
	    line(s1, sizeof(s1)) && line(s2, sizeof(s2)))
		outcome(a, "passwd", acct_passwd(a, argv[3], s1, NULL, s2));
	else if (strcmp(argv[2], "login") == 0 && argc == 4 &&
	    line(s1, sizeof(s1)))
		outcome(a, "login", acct_login(a, argv[3], s1, "webapp",
		    "192.0.2.7", NULL));
	else if (strcmp(argv[2], "forgot") == 0 && argc == 5)
		outcome(a, "forgot", acct_password_forgot(a, argv[3],
		    argv[4]));
	else if (strcmp(argv[2], "reset") == 0 && argc == 3 &&
	    line(s1, sizeof(s1)) && line(s2, sizeof(s2))) {
		outcome(a, "reset", rc = acct_password_reset(a, s1, s2, &who,
		    &activated));
		if (rc == ACCT_OK)
			printf(" user=%s activated=%s", who,
			    activated ? "yes" : "no");
		free(who);
		rc = 0;
	} else
		rc = 2;
	if (rc != 2 && strcmp(argv[2], "sso") != 0)
		putchar('\n');
	acct_close(a);
	return rc;
}
