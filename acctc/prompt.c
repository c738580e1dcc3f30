/*
 * prompt.c: reading secrets and answers: from the terminal without
 * echo, or one line at a time from standard input for scripts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <bsd/readpassphrase.h>

#include "acctc.h"

bool
prompt_isatty(void)
{
	return isatty(STDIN_FILENO) == 1;
}

/* Reject what readpassphrase() silently cut at bufsz - 1 bytes. */
static int
too_long(const char *what, char *buf, size_t bufsz)
{
	if (strlen(buf) < bufsz - 1)
		return 0;
	explicit_bzero(buf, bufsz);
	acctc_warnx("%s too long", what);
	return -1;
}

/* One secret (what: "password", "token") from the terminal, no echo. */
static int
read_tty(const char *prompt, const char *what, char *buf, size_t bufsz)
{
	fflush(stdout);
	if (readpassphrase(prompt, buf, bufsz, RPP_REQUIRE_TTY) == NULL) {
		explicit_bzero(buf, bufsz);
		acctc_warnx("cannot read %s: %s", what, strerror(errno));
		return -1;
	}
	return too_long(what, buf, bufsz);
}

/*
 * One password from the terminal, without echo. Returns 0, or -1 with
 * the reason printed. buf is wiped on failure.
 */
int
prompt_password(const char *prompt, char *buf, size_t bufsz)
{
	return read_tty(prompt, "password", buf, bufsz);
}

/*
 * A secret given as "-" (acctc_secret_arg()): asked for without echo
 * when standard input is a terminal, else its next line.
 */
int
prompt_secret(const char *prompt, const char *what, char *buf, size_t bufsz)
{
	if (prompt_isatty())
		return read_tty(prompt, what, buf, bufsz);
	return prompt_stdin_secret(what, buf, bufsz);
}

/*
 * A new password, typed twice. 0 when they match (or, with
 * allow_empty, when the first is empty: no password); 1 when they do
 * not, or it is empty, said on stderr: ask again; -1 when the terminal
 * cannot be read. buf is wiped unless 0.
 */
static int
new_password_once(const char *prompt, const char *again, bool allow_empty,
    char *buf, size_t bufsz)
{
	char check[ACCTC_SECRET_MAX];
	int rc = 0;

	if (prompt_password(prompt, buf, bufsz) == -1)
		return -1;
	if (*buf == '\0') {
		if (allow_empty)
			return 0;
		acctc_warnx("empty password (--rm removes a password)");
		return 1;
	}
	if (prompt_password(again, check, sizeof(check)) == -1)
		rc = -1;
	else if (strcmp(buf, check) != 0) {
		acctc_warnx("passwords do not match");
		rc = 1;
	}
	explicit_bzero(check, sizeof(check));
	if (rc != 0)
		explicit_bzero(buf, bufsz);
	return rc;
}

/*
 * Ask for a new password as passwd(1) does: typed twice, and asked
 * again on a mismatch or when use() refuses it (a policy the daemon
 * states), PROMPT_TRIES times in all. use(arg, buf) sends it: it
 * returns PROMPT_AGAIN after saying why, or the exit status. Returns
 * the last use()'s status, or ACCTC_EXIT_FAIL.
 */
int
prompt_new_password(const char *prompt, const char *again, bool allow_empty,
    prompt_use_fn *use, void *arg)
{
	char buf[ACCTC_SECRET_MAX];
	int rc = PROMPT_AGAIN;

	for (int i = 0; i < PROMPT_TRIES && rc == PROMPT_AGAIN; i++) {
		switch (new_password_once(prompt, again, allow_empty, buf,
		    sizeof(buf))) {
		case 0:
			rc = use(arg, buf);
			break;
		case 1:
			break;
		default:
			rc = ACCTC_EXIT_FAIL;
			break;
		}
		explicit_bzero(buf, sizeof(buf));
	}
	if (rc == PROMPT_AGAIN) {
		acctc_warnx("%d tries: nothing changed", PROMPT_TRIES);
		rc = ACCTC_EXIT_FAIL;
	}
	return rc;
}

/* One password from a line of standard input. */
int
prompt_stdin_line(char *buf, size_t bufsz)
{
	return prompt_stdin_secret("password", buf, bufsz);
}

/*
 * One line of standard input, without its newline (or CR LF). Read a
 * byte at a time with read(2): stdio would keep the rest of the
 * secrets in its buffer, and the next line belongs to the next call.
 * what names the secret in messages.
 */
int
prompt_stdin_secret(const char *what, char *buf, size_t bufsz)
{
	size_t n = 0;
	bool any = false, over = false;
	ssize_t r;
	char c;

	for (;;) {
		r = read(STDIN_FILENO, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			explicit_bzero(buf, bufsz);
			acctc_warnx("standard input: %s", strerror(errno));
			return -1;
		}
		if (r == 0 || c == '\n')
			break;
		any = true;
		if (n < bufsz - 1)
			buf[n++] = c;
		else
			over = true;
	}
	explicit_bzero(&c, sizeof(c));
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (over) {
		explicit_bzero(buf, bufsz);
		acctc_warnx("%s too long", what);
		return -1;
	}
	if (!any && r == 0) {
		acctc_warnx("no %s on standard input", what);
		return -1;
	}
	return 0;
}

/*
 * Ask a yes/no question on the terminal: 1 for y or yes, 0 for any
 * other answer, -1 when the terminal cannot be read.
 */
int
prompt_confirm(const char *question)
{
	char ans[16];

	fflush(stdout);
	if (readpassphrase(question, ans, sizeof(ans),
	    RPP_ECHO_ON | RPP_REQUIRE_TTY) == NULL) {
		acctc_warnx("cannot read answer: %s", strerror(errno));
		return -1;
	}
	return strcasecmp(ans, "y") == 0 || strcasecmp(ans, "yes") == 0;
}
