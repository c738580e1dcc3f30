/*
 * twofa.c: two-factor authentication (TOTP): users 2fa enable and
 * disable, and the login that asks for a code when the daemon says
 * one is required (auth test).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/readpassphrase.h>

#include "acctc.h"

#define CODE_MAX	64	/* a TOTP or recovery code; the wire takes 32 */
#define CONFIRM_TRIES	3	/* codes asked for on a terminal */

/* Whether hello lists the caller in the admin class. */
static int
caller_is_admin(struct acctc *a, bool *admin)
{
	struct proto_reply rep;
	const msgpack_object *cl;
	int rc;

	*admin = false;
	if ((rc = acctc_call(a, OP_HELLO, NULL, &rep)) == ACCTC_EXIT_OK &&
	    (cl = proto_map_get(rep.result, "classes")) != NULL &&
	    cl->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t i = 0; i < cl->via.array.size; i++) {
			const msgpack_object *c = &cl->via.array.ptr[i];

			if (c->type == MSGPACK_OBJECT_STR &&
			    c->via.str.size == 5 &&
			    memcmp(c->via.str.ptr, "admin", 5) == 0)
				*admin = true;
		}
	proto_reply_free(&rep);
	return rc;
}

/* A code from the terminal, echoed: it is good for seconds only. */
static int
read_code_tty(const char *prompt, char *buf, size_t bufsz)
{
	fflush(stdout);
	if (readpassphrase(prompt, buf, bufsz, RPP_ECHO_ON |
	    RPP_REQUIRE_TTY) == NULL) {
		explicit_bzero(buf, bufsz);
		acctc_warnx("cannot read the code: %s", strerror(errno));
		return -1;
	}
	if (strlen(buf) >= bufsz - 1) {
		explicit_bzero(buf, bufsz);
		acctc_warnx("code too long");
		return -1;
	}
	return 0;
}

/*
 * The next line of standard input, read a byte at a time like
 * prompt_stdin_secret(), but where the input may simply have ended:
 * 1 with a line in buf, 0 when there was none or it was empty, -1 on
 * an error (printed).
 */
static int
read_code_stdin(char *buf, size_t bufsz)
{
	size_t n = 0;
	bool over = false;
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
		acctc_warnx("code too long");
		return -1;
	}
	return n > 0;
}

/*
 * --code CODE: copied to buf and wiped in argv at once, as others see
 * arguments in ps (a recovery code is good until used). 0 or -1.
 */
int
acctc_code_arg(char *arg, char *buf, size_t bufsz)
{
	size_t n = strlen(arg);

	buf[0] = '\0';
	if (n >= bufsz || n == 0) {
		explicit_bzero(arg, n);
		acctc_warnx(n == 0 ? "empty code" : "code too long");
		return -1;
	}
	memcpy(buf, arg, n + 1);
	explicit_bzero(arg, n);
	return 0;
}

/* How to finish an enrolment left pending. */
static void
print_pending(FILE *f, const msgpack_object *user)
{
	fflush(stdout);
	fprintf(f, "Two-factor authentication is not on until a code "
	    "confirms it:\n  acctc users 2fa enable --code CODE ");
	out_str(f, user);
	putc('\n', f);
}

/*
 * The recovery codes of a totp_confirm reply, shown this once, then
 * wiped from the reply and from stdout's buffer.
 */
static void
print_confirmed(const struct acctc *a, const struct proto_reply *rep)
{
	const msgpack_object *codes = proto_map_get(rep->result,
	    "recovery_codes");

	if (!acctc_json(a, rep)) {
		printf("Two-factor authentication is on for ");
		out_str(stdout, proto_map_get(rep->result, "username"));
		printf(".\nRecovery codes: each logs in once in place of a "
		    "code. Store them\nsomewhere safe now: they will not be "
		    "shown again.\n");
		if (codes != NULL && codes->type == MSGPACK_OBJECT_ARRAY)
			for (uint32_t i = 0; i < codes->via.array.size; i++) {
				printf("  ");
				out_str(stdout, &codes->via.array.ptr[i]);
				putchar('\n');
			}
	}
	acctc_flush_secret();
	if (codes != NULL && codes->type == MSGPACK_OBJECT_ARRAY)
		for (uint32_t i = 0; i < codes->via.array.size; i++)
			acctc_wipe_str(&codes->via.array.ptr[i]);
}

/*
 * totp_confirm for user (NULL: the caller's account) with code. With
 * quiet ACCT_ERR_AUTH_FAILED a wrong code is returned in rep->code
 * after the daemon's message is printed, for the caller to ask again.
 */
static int
confirm(struct acctc *a, const char *user, char *code,
    struct proto_reply *rep, int quiet)
{
	struct proto_msg args;
	int rc;

	proto_msg_init(&args);
	if (user != NULL)
		proto_kv_str_f(&args, F_USERNAME, user);
	proto_kv_str_f(&args, F_CODE, code);
	explicit_bzero(code, strlen(code));
	rc = acctc_call_quiet(a, OP_TOTP_CONFIRM, &args, rep, quiet);
	proto_msg_free(&args);	/* wipes the packed code */
	if (rc == ACCTC_EXIT_OK && rep->code == ACCT_OK)
		print_confirmed(a, rep);
	else if (rc == ACCTC_EXIT_OK)
		acctc_refused(rep);
	return rc;
}

/*
 * The enrolment is pending (totp_enroll succeeded): ask for the first
 * code on the terminal, up to CONFIRM_TRIES times, or read it from the
 * next line of standard input (from_stdin); none there, or no terminal
 * to ask, leaves the enrolment pending with a note on how to finish.
 */
static int
ask_and_confirm(struct acctc *a, const char *user, bool from_stdin,
    const msgpack_object *enrolled)
{
	char code[CODE_MAX];
	struct proto_reply rep;
	int rc = ACCTC_EXIT_FAIL, got;

	memset(&rep, 0, sizeof(rep));
	msgpack_unpacked_init(&rep.un);
	if (from_stdin) {
		if ((got = read_code_stdin(code, sizeof(code))) == 1)
			rc = confirm(a, user, code, &rep, ACCT_OK);
		else if (got == 0) {
			if (!a->json)
				print_pending(stdout, enrolled);
			rc = ACCTC_EXIT_OK;
		}
	} else if (!prompt_isatty()) {
		if (!a->json)
			print_pending(stdout, enrolled);
		rc = ACCTC_EXIT_OK;
	} else
		for (int i = 0; i < CONFIRM_TRIES; i++) {
			proto_reply_free(&rep);
			if (read_code_tty("Code from your authenticator app: ",
			    code, sizeof(code)) == -1)
				break;
			rc = confirm(a, user, code, &rep,
			    i + 1 < CONFIRM_TRIES ? ACCT_ERR_AUTH_FAILED :
			    ACCT_OK);
			if (rc != ACCTC_EXIT_OK || rep.code != ACCT_ERR_AUTH_FAILED)
				break;
			rc = ACCTC_EXIT_FAIL;
		}
	if (rc == ACCTC_EXIT_OK && rep.code != ACCT_OK)
		rc = ACCTC_EXIT_FAIL;
	if (rc != ACCTC_EXIT_OK)
		print_pending(stderr, enrolled);
	explicit_bzero(code, sizeof(code));
	proto_reply_free(&rep);
	return rc;
}

/* Show the new secret (once) and wipe it. */
static void
print_enrolled(const struct acctc *a, const struct proto_reply *rep)
{
	const msgpack_object *uri = proto_map_get(rep->result, "uri");
	const msgpack_object *secret = proto_map_get(rep->result, "secret");

	if (!acctc_json(a, rep)) {
		printf("Add this account to your authenticator app with the "
		    "URI (as a QR code)\nor the secret:\n  URI:     ");
		out_str(stdout, uri);
		printf("\n  Secret:  ");
		out_str(stdout, secret);
		putchar('\n');
	}
	acctc_flush_secret();
	acctc_wipe_str(uri);
	acctc_wipe_str(secret);
}

/*
 * Start turning on two-factor authentication (totp_enroll: the caller
 * not an admin gives the current password), show the secret, then
 * confirm it with a first code (totp_confirm) and show the recovery
 * codes. --code CODE only confirms an enrolment already pending.
 * --json: the totp_enroll result {username, secret, uri}, then, on its
 * own line, the totp_confirm result {username, recovery_codes}.
 */
int
cmd_users_2fa_enable(struct acctc *a, int argc, char **argv)
{
	enum { OPT_STDIN = ACCTC_OPT__NEXT, OPT_CODE };
	static const struct option lopts[] = {
		{ "password-stdin", no_argument,	NULL, OPT_STDIN },
		{ "code",	    required_argument,	NULL, OPT_CODE },
		{ NULL, 0, NULL, 0 }
	};
	char pw[ACCTC_SECRET_MAX], code[CODE_MAX];
	struct proto_msg args;
	struct proto_reply rep;
	const char *user;
	char *carg = NULL;
	bool from_stdin = false, admin;
	int ch, rc;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1) {
		if (ch == OPT_STDIN)
			from_stdin = true;
		else if (ch == OPT_CODE)
			carg = optarg;
	}
	if (carg != NULL && acctc_code_arg(carg, code, sizeof(code)) == -1)
		return rc >= 0 ? rc : ACCTC_EXIT_FAIL;
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	user = optind < argc ? argv[optind] : NULL;
	if (carg != NULL) {
		if (from_stdin) {
			explicit_bzero(code, sizeof(code));
			return acctc_usage(a, "--code confirms a pending "
			    "enrolment: it takes no --password-stdin");
		}
		rc = confirm(a, user, code, &rep, ACCT_OK);
		if (rc == ACCTC_EXIT_OK && rep.code != ACCT_OK)
			rc = ACCTC_EXIT_FAIL;
		explicit_bzero(code, sizeof(code));
		proto_reply_free(&rep);
		return rc;
	}
	if ((rc = caller_is_admin(a, &admin)) != ACCTC_EXIT_OK)
		return rc;
	if (!admin && !from_stdin && !prompt_isatty())
		return acctc_usage(a, "standard input is not a terminal: "
		    "use --password-stdin");
	if (!admin && (from_stdin ? prompt_stdin_line(pw, sizeof(pw)) :
	    prompt_password("Current password: ", pw, sizeof(pw))) == -1)
		return ACCTC_EXIT_FAIL;
	proto_msg_init(&args);
	if (user != NULL)
		proto_kv_str_f(&args, F_USERNAME, user);
	if (!admin)
		proto_kv_str_f(&args, F_PASSWORD, pw);
	explicit_bzero(pw, sizeof(pw));
	if ((rc = acctc_call(a, OP_TOTP_ENROLL, &args, &rep)) ==
	    ACCTC_EXIT_OK) {
		print_enrolled(a, &rep);
		rc = ask_and_confirm(a, user, from_stdin,
		    proto_map_get(rep.result, "username"));
	}
	proto_msg_free(&args);	/* wipes the packed password */
	proto_reply_free(&rep);
	return rc;
}

/*
 * Turn two-factor authentication off (admin): user_mod disable_2fa,
 * which also spends the recovery codes and any pending enrolment.
 * --json: the user_mod result {user: ACCOUNT}
 */
int
cmd_users_2fa_disable(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	char *user;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "USERNAME", &user)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, user);
	proto_kv_bool_f(&args, F_DISABLE_2FA, true);
	if ((rc = acctc_call(a, OP_USER_MOD, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		printf("Two-factor authentication is off for ");
		out_str(stdout, proto_map_get(proto_map_get(rep.result,
		    "user"), "username"));
		printf(".\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/*
 * login with args; when the daemon answers code_required (the password
 * was right and the account has two-factor authentication on), get the
 * code and send the request again with it. code: given on the command
 * line (--code, sent at once), or NULL: then the next line of standard
 * input (code_stdin) or the terminal. Any failure is reported.
 */
int
acctc_login(struct acctc *a, struct proto_msg *args, struct proto_reply *rep,
    char *code, bool code_stdin)
{
	char buf[CODE_MAX];
	int rc;

	if (code != NULL) {
		proto_kv_str_f(args, F_CODE, code);
		explicit_bzero(code, strlen(code));
		return acctc_call(a, OP_LOGIN, args, rep);
	}
	if ((rc = acctc_call_quiet(a, OP_LOGIN, args, rep,
	    ACCT_ERR_CODE_REQUIRED)) != ACCTC_EXIT_OK ||
	    rep->code == ACCT_OK)
		return rc;
	proto_reply_free(rep);
	if ((code_stdin ? prompt_stdin_secret("two-factor code", buf,
	    sizeof(buf)) : read_code_tty("Two-factor code: ", buf,
	    sizeof(buf))) == -1)
		return ACCTC_EXIT_FAIL;
	proto_kv_str_f(args, F_CODE, buf);
	explicit_bzero(buf, sizeof(buf));
	return acctc_call(a, OP_LOGIN, args, rep);
}
