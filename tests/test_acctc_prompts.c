/*
 * test_acctc_prompts.c: acctc's password prompts on a real terminal (a
 * pseudo-terminal), as passwd(1) users know them: a wrong current
 * password or token stops before a new password is asked for; a
 * mismatch or a password the policy refuses is asked again, three
 * times in all, with the daemon's statement of the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NOBODY_PW	"Nobody-Pass-1"
#define MIN_LENGTH	"10"	/* the policy of the test daemons */
/* How the daemon states it, which the prompt shows as it is. */
#define RULE		MIN_LENGTH " to 256 bytes"

/* uid 65534 is "nobody": its own account is the account "nobody". */
static const struct th_cred plain = { TH_NOBODY, TH_NOBODY, 0, { 0 } };

/* One turn of a dialogue: wait for the text, then type the answer
 * and Enter (NULL: type nothing). */
struct turn {
	const char	*expect;
	const char	*answer;
};

/* What the terminal showed: prompts, messages and output, in order. */
static char screen[16384];
static size_t screen_len;

/* Read what the terminal shows until want is on it since from, or ms. */
static bool
read_until(int fd, size_t from, const char *want, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	for (int waited = 0; waited < ms; waited += 50) {
		if (want != NULL && strstr(screen + from, want) != NULL)
			return true;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = read(fd, screen + screen_len, sizeof(screen) - 1 -
		    screen_len);
		if (n <= 0)
			return false;	/* EIO: the program closed it */
		screen_len += (size_t)n;
		screen[screen_len] = '\0';
	}
	return want != NULL && strstr(screen + from, want) != NULL;
}

/*
 * Run acctc on a new pseudo-terminal as its controlling terminal, as
 * cred (NULL: ourselves), and hold the dialogue; the exit status. A
 * prompt that does not come fails the test with the screen so far.
 */
static int
converse(const struct th_daemon *d, const struct th_cred *cred,
    const struct turn *turns, const char *const *args)
{
	const char *argv[16] = { th_acctc_bin(), "--socket", d->sock };
	size_t n = 3, at = 0;
	int master, slave, st;
	pid_t pid;

	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	screen_len = 0;
	screen[0] = '\0';
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	if (cred != NULL)
		assert_int_equal(fchown(slave, cred->uid, cred->gid), 0);
	fflush(stdout);
	fflush(stderr);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		close(master);
		if (setsid() == -1 || ioctl(slave, TIOCSCTTY, 0) == -1 ||
		    dup2(slave, 0) == -1 || dup2(slave, 1) == -1 ||
		    dup2(slave, 2) == -1)
			_exit(126);
		close(slave);
		unsetenv("ACCTC_SOCKET");
		unsetenv("ACCTC_SERVER_UID");
		if (cred != NULL && (setgroups((size_t)cred->ngroups,
		    cred->groups) == -1 || setgid(cred->gid) == -1 ||
		    setuid(cred->uid) == -1))
			_exit(126);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(slave);
	for (const struct turn *t = turns; t->expect != NULL; t++) {
		if (!read_until(master, at, t->expect, TH_WAIT_MS)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(master);
			fail_msg("no '%s' on the terminal; it showed:\n%s",
			    t->expect, screen);
		}
		at = (size_t)(strstr(screen + at, t->expect) - screen) +
		    strlen(t->expect);
		if (t->answer != NULL) {
			/* The program may still be setting the terminal up:
			 * what is typed before echo is off would show. */
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
			assert_true(write(master, t->answer,
			    strlen(t->answer)) == (ssize_t)strlen(t->answer));
			assert_true(write(master, "\r", 1) == 1);
		}
	}
	(void)read_until(master, at, NULL, TH_WAIT_MS);	/* to the end */
	close(master);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define ARGS(...)	((const char *const[]){ __VA_ARGS__, NULL })

/* Nothing typed shows: the prompts read without echo. */
static void
assert_not_shown(const char *secret)
{
	if (strstr(screen, secret) != NULL)
		fail_msg("'%s' shown on the terminal:\n%s", secret, screen);
}

static int
setup(void **state)
{
	struct th_daemon *d;

	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_acctc_prompts: ACCTC_BIN is not set\n");
		return -1;
	}
	if (th_setup_lazy(state) != 0)
		return -1;
	d = *state;
	if (th_init(d, "password_min_length = " MIN_LENGTH "\n"
	    "lockout_failures = 5\n") != 0)
		return -1;
	return th_start(d) == 0 &&
	    th_add_user(d->sock, "nobody", NOBODY_PW) == ACCT_OK ? 0 : -1;
}

/* passwd as the owner: a wrong current password ends it at once. */
static void
test_wrong_current_stops(void **state)
{
	struct th_daemon *d = *state;
	const struct turn turns[] = {
		{ "Current password: ", "Not-The-Password" },
		{ "authentication failed", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	assert_int_equal(converse(d, &plain, turns, ARGS("passwd")), 1);
	if (strstr(screen, "New password") != NULL)
		fail_msg("a new password was asked for:\n%s", screen);
	assert_not_shown("Not-The-Password");
	/* The same check as a change: it counts, and it is audited. */
	assert_int_equal(th_account_int(d, "nobody", "failed_logins"), 1);
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM audit_logins "
	    "WHERE realm = 'passwd' AND username = 'nobody' AND "
	    "status = 'FAILED'", NULL), 1);
	assert_true(th_password_is(d, "nobody", NOBODY_PW));
}

/* A mismatch asks for the new password again, not the current one. */
static void
test_mismatch_asks_again(void **state)
{
	struct th_daemon *d = *state;
	const struct turn turns[] = {
		{ "Current password: ", NOBODY_PW },
		{ "New password: ", "Nobody-Pass-2" },
		{ "Retype new password: ", "Nobody-Pass-3" },
		{ "passwords do not match", NULL },
		{ "New password: ", "Nobody-Pass-2" },
		{ "Retype new password: ", "Nobody-Pass-2" },
		{ "Password of nobody changed.", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	assert_int_equal(converse(d, &plain, turns, ARGS("passwd")), 0);
	assert_int_equal(th_count(screen, "Current password: "), 1);
	assert_int_equal(th_count(screen, "New password: "), 2);
	assert_not_shown("Nobody-Pass");
	assert_true(th_password_is(d, "nobody", "Nobody-Pass-2"));
}

/*
 * A password the policy refuses: the daemon's words, with the rule of
 * its configuration, and the question again; three tries in all, then
 * nothing is changed.
 */
static void
test_policy_asks_again(void **state)
{
	struct th_daemon *d = *state;
	const struct turn turns[] = {
		{ "Current password: ", NOBODY_PW },
		{ "New password: ", "short-1" },
		{ "Retype new password: ", "short-1" },
		{ RULE, NULL },
		{ "New password: ", "short-2" },
		{ "Retype new password: ", "other-2" },
		{ "do not match", NULL },
		{ "New password: ", "short-3" },
		{ "Retype new password: ", "short-3" },
		{ RULE, NULL },
		{ "3 tries", NULL },
		{ NULL, NULL },
	};
	const struct turn ok[] = {
		{ "Current password: ", NOBODY_PW },
		{ "New password: ", "short" },
		{ "Retype new password: ", "short" },
		{ RULE, NULL },
		{ "New password: ", "Long-Enough-Pass" },
		{ "Retype new password: ", "Long-Enough-Pass" },
		{ "changed.", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	assert_int_equal(converse(d, &plain, turns, ARGS("passwd")), 1);
	assert_int_equal(th_count(screen, "New password: "), 3);
	assert_true(th_password_is(d, "nobody", NOBODY_PW));
	assert_int_equal(th_account_int(d, "nobody", "failed_logins"), 0);
	assert_int_equal(converse(d, &plain, ok, ARGS("passwd")), 0);
	assert_true(th_password_is(d, "nobody", "Long-Enough-Pass"));
}

/* An admin is asked no current password, and is asked again too. */
static void
test_admin_sets(void **state)
{
	struct th_daemon *d = *state;
	const struct turn turns[] = {
		{ "New password: ", "Admin-Set-Pass-1" },
		{ "Retype new password: ", "Admin-Set-Pass-2" },
		{ "do not match", NULL },
		{ "New password: ", "Admin-Set-Pass-1" },
		{ "Retype new password: ", "Admin-Set-Pass-1" },
		{ "Password of nobody changed.", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	assert_int_equal(converse(d, NULL, turns, ARGS("passwd", "nobody")),
	    0);
	assert_false(th_contains(screen, "Current password"));
	assert_true(th_password_is(d, "nobody", "Admin-Set-Pass-1"));
}

/* users add: the same questions; empty is no password. */
static void
test_users_add(void **state)
{
	struct th_daemon *d = *state;
	const struct turn turns[] = {
		{ "Password (empty for none): ", "Carol-Pass-1" },
		{ "Retype password: ", "Carol-Pass-2" },
		{ "do not match", NULL },
		{ "Password (empty for none): ", "short" },
		{ "Retype password: ", "short" },
		{ RULE, NULL },
		{ "Password (empty for none): ", "Carol-Pass-1" },
		{ "Retype password: ", "Carol-Pass-1" },
		{ "Account carol created.", NULL },
		{ NULL, NULL },
	};
	const struct turn none[] = {
		{ "Password (empty for none): ", "" },
		{ "Account dave created.", NULL },
		{ NULL, NULL },
	};
	const struct turn three[] = {
		{ "Password (empty for none): ", "a-1" },
		{ "Retype password: ", "a-2" },
		{ "Password (empty for none): ", "short" },
		{ "Retype password: ", "short" },
		{ "Password (empty for none): ", "b-1" },
		{ "Retype password: ", "b-2" },
		{ "3 tries", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	assert_int_equal(converse(d, NULL, turns, ARGS("users", "add",
	    "carol")), 0);
	assert_not_shown("Carol-Pass");
	assert_true(th_password_is(d, "carol", "Carol-Pass-1"));
	assert_int_equal(converse(d, NULL, none, ARGS("users", "add",
	    "dave")), 0);
	assert_true(th_user_exists(d->sock, "dave"));
	assert_int_equal(converse(d, NULL, three, ARGS("users", "add",
	    "erin")), 1);
	assert_false(th_user_exists(d->sock, "erin"));
}

/* The token of the newest mail in DIR/mail.txt, once there is one. */
static void
mailed_token(const struct th_daemon *d, char out[128])
{
	char path[200], *buf, *p;

	snprintf(path, sizeof(path), "%s/mail.txt", d->dir);
	for (int ms = 0; ms < TH_WAIT_MS; ms += 20) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if ((buf = th_slurp(path, NULL)) != NULL &&
		    (p = strstr(buf, "?t=")) != NULL && strlen(p + 3) >= 81) {
			memcpy(out, p + 3, 81);
			out[81] = '\0';
			th_free(buf);
			return;
		}
		th_free(buf);
		nanosleep(&ts, NULL);
	}
	fail_msg("no token mailed to %s", path);
}

/* passwd --token -: a bad token stops before the new password. */
static void
test_token_checked_first(void **state)
{
	struct th_daemon *d = *state;
	char extra[512], tok[128], bad[128];
	const struct turn wrong[] = {
		{ "Token: ", bad },
		{ "invalid or expired token", NULL },
		{ NULL, NULL },
	};
	const struct turn right[] = {
		{ "Token: ", tok },
		{ "New password: ", "short" },
		{ "Retype new password: ", "short" },
		{ RULE, NULL },
		{ "New password: ", "Reset-Pass-1" },
		{ "Retype new password: ", "Reset-Pass-2" },
		{ "do not match", NULL },
		{ "New password: ", "Reset-Pass-1" },
		{ "Retype new password: ", "Reset-Pass-1" },
		{ "Password set for nobody.", NULL },
		{ NULL, NULL },
	};
	const struct turn used[] = {
		{ "Token: ", tok },
		{ "invalid or expired token", NULL },
		{ NULL, NULL },
	};

	TH_NEED_ROOT();
	snprintf(extra, sizeof(extra), "password_min_length = " MIN_LENGTH
	    "\nsendmail_command = /usr/bin/tee %s/mail.txt\n"
	    "mail_from = acctd@example.org\n"
	    "reset_url = https://example.org/reset?t={token}\n", d->dir);
	assert_int_equal(th_write_config(d, extra), 0);
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username",
	    "nobody", "email", "nobody@example.org", NULL), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "user_reset_password",
	    "username", "nobody", NULL), ACCT_OK);
	mailed_token(d, tok);
	/* A token of the right form, one character off. */
	strcpy(bad, tok);
	bad[80] = bad[80] == 'a' ? 'b' : 'a';
	assert_int_equal(converse(d, &plain, wrong, ARGS("passwd", "--token",
	    "-")), 1);
	assert_false(th_contains(screen, "New password"));
	assert_int_equal(converse(d, &plain, right, ARGS("passwd", "--token",
	    "-")), 0);
	assert_not_shown(tok + 17);
	assert_true(th_password_is(d, "nobody", "Reset-Pass-1"));
	/* Used: the same token is refused before any question. */
	assert_int_equal(converse(d, &plain, used, ARGS("passwd", "--token",
	    "-")), 1);
	assert_false(th_contains(screen, "New password"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wrong_current_stops,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_mismatch_asks_again,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_policy_asks_again,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_admin_sets,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_users_add,
		    setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_token_checked_first,
		    setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
