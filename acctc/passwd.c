/*
 * passwd.c: `acctc passwd`: change or remove a password, one's own with
 * the current one (or, for an SSO account, a session token), anyone's
 * as admin; ask for a reset mail (--forgot) and set a password with
 * the mailed token (--token).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acctc.h"

/* What hello told us about the caller. */
struct caller {
	bool	admin;
	bool	authenticator;
	char	login[256];	/* "" when the uid has no login name */
};

static bool
has_class(const msgpack_object *classes, const char *name)
{
	size_t n = strlen(name);

	if (classes == NULL || classes->type != MSGPACK_OBJECT_ARRAY)
		return false;
	for (uint32_t i = 0; i < classes->via.array.size; i++) {
		const msgpack_object *c = &classes->via.array.ptr[i];

		if (c->type == MSGPACK_OBJECT_STR && c->via.str.size == n &&
		    memcmp(c->via.str.ptr, name, n) == 0)
			return true;
	}
	return false;
}

static int
who_am_i(struct acctc *a, struct caller *me)
{
	struct proto_reply rep;
	const msgpack_object *u;
	int rc;

	memset(me, 0, sizeof(*me));
	if ((rc = acctc_call(a, OP_HELLO, NULL, &rep)) == ACCTC_EXIT_OK) {
		const msgpack_object *cl = proto_map_get(rep.result, "classes");

		me->admin = has_class(cl, "admin");
		me->authenticator = has_class(cl, "authenticator");
		u = proto_map_get(rep.result, "username");
		if (u != NULL && u->type == MSGPACK_OBJECT_STR &&
		    u->via.str.size < sizeof(me->login))
			memcpy(me->login, u->via.str.ptr, u->via.str.size);
	}
	proto_reply_free(&rep);
	return rc;
}

/*
 * A plain user names another account: ask the daemon, with no secret
 * and nothing to change, before prompting for passwords it would not
 * check: the daemon decides, and refuses in its own words.
 */
static int
may_not(struct acctc *a, const char *user)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, user);
	/* Allowed, it says the request lacks a password: go on. */
	rc = acctc_call_quiet(a, OP_PASSWD, &args, &rep, ACCT_ERR_INVALID);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* One secret from standard input or, with no echo, from the terminal. */
static int
read_current(bool from_stdin, char *buf, size_t bufsz)
{
	if (from_stdin)
		return prompt_stdin_line(buf, bufsz);
	return prompt_password("Current password: ", buf, bufsz);
}

/*
 * acctc_call_quiet(), but a refusal with the code quiet is said here
 * too, and gives PROMPT_AGAIN: the prompt asks again.
 */
static int
call_again(struct acctc *a, enum proto_op op, struct proto_msg *args,
    struct proto_reply *rep, int quiet)
{
	int rc = acctc_call_quiet(a, op, args, rep, quiet);

	if (rc == ACCTC_EXIT_OK && rep->code != ACCT_OK) {
		(void)acctc_refused(rep);
		rc = PROMPT_AGAIN;
	}
	return rc;
}

/* What one passwd request carries besides the new password. */
struct passwd_req {
	struct acctc	*a;
	const char	*user;
	const char	*cur;		/* the current password, or NULL */
	const char	*session;	/* or a session token, or NULL */
	bool		 rm;
};

/*
 * Send it: ACCTC_EXIT_OK and the result printed, or the exit status;
 * PROMPT_AGAIN for a refusal with the code quiet (call_again()).
 * dry_run: only prove cur or session, before the new one is asked.
 */
static int
send_passwd(const struct passwd_req *p, const char *new, bool dry_run,
    int quiet)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, p->user);
	if (p->cur != NULL)
		proto_kv_str_f(&args, F_PASSWORD, p->cur);
	if (p->session != NULL)
		proto_kv_str_f(&args, F_TOKEN, p->session);
	/* Neither, or both: the daemon refuses, and nothing changes. */
	if (dry_run)
		proto_kv_bool_f(&args, F_DRY_RUN, true);
	else if (p->rm)
		proto_kv_bool_f(&args, F_REMOVE, true);
	if (!dry_run && new != NULL)
		proto_kv_str_f(&args, F_NEW_PASSWORD, new);
	if ((rc = call_again(p->a, OP_PASSWD, &args, &rep, quiet)) ==
	    ACCTC_EXIT_OK && !dry_run && !acctc_json(p->a, &rep)) {
		printf("Password of ");
		out_str(stdout, proto_map_get(rep.result, "username"));
		printf(" %s.\n", p->rm ? "removed" : "changed");
	}
	proto_msg_free(&args);	/* wipes the packed secrets */
	proto_reply_free(&rep);
	return rc;
}

/* A new password from the prompt: one the policy refuses is asked again. */
static int
use_passwd(void *arg, const char *new)
{
	return send_passwd(arg, new, false, ACCT_ERR_POLICY);
}

/*
 * --forgot EMAIL: the daemon answers the same whether or not the
 * address is known, and so does this. --json: {accepted: true}
 */
static int
forgot(struct acctc *a, const char *email)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_EMAIL, email);
	if ((rc = acctc_call(a, OP_PASSWORD_FORGOT, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("If ");
		out_sanitize(stdout, email, strlen(email));
		printf(" belongs to an active account, a reset link has been "
		    "sent.\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* One password_reset request: the mailed token, and what it sets. */
struct reset_req {
	struct acctc	*a;
	const char	*token;
};

/*
 * Send it, as send_passwd() does; dry_run: only whether the token is
 * good, so that a terminal is not asked for a password in vain.
 */
static int
send_reset(const struct reset_req *p, const char *new, bool dry_run,
    int quiet)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *act;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_TOKEN, p->token);
	if (dry_run)
		proto_kv_bool_f(&args, F_DRY_RUN, true);
	else if (new != NULL)
		proto_kv_str_f(&args, F_NEW_PASSWORD, new);
	if ((rc = call_again(p->a, OP_PASSWORD_RESET, &args, &rep, quiet)) ==
	    ACCTC_EXIT_OK && !dry_run && !acctc_json(p->a, &rep)) {
		act = proto_map_get(rep.result, "activated");
		if (act != NULL && act->type == MSGPACK_OBJECT_BOOLEAN &&
		    act->via.boolean) {
			printf("Account ");
			out_str(stdout, proto_map_get(rep.result, "username"));
			printf(" activated.\n");
		} else {
			printf("Password set for ");
			out_str(stdout, proto_map_get(rep.result, "username"));
			printf(".\n");
		}
	}
	proto_msg_free(&args);	/* wipes the packed secrets */
	proto_reply_free(&rep);
	return rc;
}

static int
use_reset(void *arg, const char *new)
{
	return send_reset(arg, new, false, ACCT_ERR_POLICY);
}

/*
 * --token TOKEN: a new password with a mailed reset or activation
 * token. The token names the account. --json: {username, activated}
 * On a terminal the token is checked first, and a new password the
 * policy refuses is asked again.
 */
static int
reset_with_token(struct acctc *a, char *token_arg, bool from_stdin)
{
	char token[ACCTC_SECRET_MAX], new[ACCTC_SECRET_MAX];
	struct reset_req req = { .a = a, .token = token };
	int rc, later;

	new[0] = '\0';
	if ((later = acctc_secret_arg(token_arg, token, sizeof(token))) == -1)
		return ACCTC_EXIT_FAIL;
	/* "-" on a pipe and no --password-stdin: no terminal to ask. */
	if (!from_stdin && !prompt_isatty()) {
		rc = acctc_usage(a, "standard input is not a terminal: "
		    "use --password-stdin");
		goto out;
	}
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		goto out;
	rc = ACCTC_EXIT_FAIL;
	if (later && prompt_secret("Token: ", "token", token,
	    sizeof(token)) == -1)
		goto out;
	if (from_stdin) {
		if (prompt_stdin_line(new, sizeof(new)) == 0)
			rc = send_reset(&req, new, false, ACCT_OK);
		goto out;
	}
	if ((rc = send_reset(&req, NULL, true, ACCT_OK)) == ACCTC_EXIT_OK)
		rc = prompt_new_password("New password: ",
		    "Retype new password: ", false, use_reset, &req);
out:
	explicit_bzero(token, sizeof(token));
	explicit_bzero(new, sizeof(new));
	return rc;
}

/*
 * Change or remove the password of the account named (argv[optind]),
 * by default the caller's. session: a session token of the account
 * instead of the current password, or NULL; read_session: it is to be
 * read now (it was given as "-"). On a terminal the current password
 * (or the session) is checked before a new one is asked for, as
 * passwd(1) does, and a new one is asked again on a mismatch or when
 * the policy refuses it.
 */
static int
passwd_account(struct acctc *a, int argc, char **argv, bool rm,
    bool from_stdin, char *session, int read_session)
{
	char cur[ACCTC_SECRET_MAX], new[ACCTC_SECRET_MAX];
	struct passwd_req req = { .a = a, .session = session, .rm = rm };
	struct caller me;
	bool need_cur;
	int rc;

	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if ((rc = who_am_i(a, &me)) != ACCTC_EXIT_OK)
		return rc;
	req.user = optind < argc ? argv[optind] : me.login;
	if (*req.user == '\0') {
		acctc_warnx("your uid has no login name: name the account");
		return ACCTC_EXIT_FAIL;
	}
	if (!me.admin && !me.authenticator &&
	    strcasecmp(req.user, me.login) != 0 &&
	    (rc = may_not(a, req.user)) != ACCTC_EXIT_OK)
		return rc;
	need_cur = !me.admin && session == NULL;
	if (!from_stdin && (need_cur || !rm) && !prompt_isatty())
		return acctc_usage(a, "standard input is not a terminal: "
		    "use --password-stdin");
	if (read_session && prompt_secret("Session token: ", "token",
	    session, ACCTC_SECRET_MAX) == -1)
		return ACCTC_EXIT_FAIL;
	rc = ACCTC_EXIT_FAIL;
	new[0] = '\0';
	if (need_cur && read_current(from_stdin, cur, sizeof(cur)) == -1)
		goto out;
	req.cur = need_cur ? cur : NULL;
	if (rm)
		rc = send_passwd(&req, NULL, false, ACCT_OK);
	else if (from_stdin) {
		if (prompt_stdin_line(new, sizeof(new)) == 0)
			rc = send_passwd(&req, new, false, ACCT_OK);
	} else if ((req.cur == NULL && req.session == NULL) ||
	    (rc = send_passwd(&req, NULL, true, ACCT_OK)) == ACCTC_EXIT_OK)
		rc = prompt_new_password("New password: ",
		    "Retype new password: ", false, use_passwd, &req);
out:
	explicit_bzero(cur, sizeof(cur));
	explicit_bzero(new, sizeof(new));
	return rc;
}

/*
 * --json: {username: str, has_password: bool}
 * --password-stdin reads the current password (only when one is
 * needed: the caller is not an admin and gave no --session), then the
 * new one (unless --rm), one line each, with no retyping. --session -
 * and --token - read the token first: without echo from a terminal,
 * else as the first line of standard input.
 */
int
cmd_passwd(struct acctc *a, int argc, char **argv)
{
	enum {
		OPT_RM = ACCTC_OPT__NEXT, OPT_STDIN, OPT_FORGOT, OPT_TOKEN,
		OPT_SESSION
	};
	static const struct option lopts[] = {
		{ "rm",		    no_argument,	NULL, OPT_RM },
		{ "password-stdin", no_argument,	NULL, OPT_STDIN },
		{ "forgot",	    required_argument,	NULL, OPT_FORGOT },
		{ "token",	    required_argument,	NULL, OPT_TOKEN },
		{ "session",	    required_argument,	NULL, OPT_SESSION },
		{ NULL, 0, NULL, 0 }
	};
	char session[ACCTC_SECRET_MAX];
	const char *email = NULL;
	char *token_arg = NULL, *session_arg = NULL;
	bool rm = false, from_stdin = false;
	int ch, rc, later = 0;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1) {
		if (ch == OPT_RM)
			rm = true;
		else if (ch == OPT_STDIN)
			from_stdin = true;
		else if (ch == OPT_FORGOT)
			email = optarg;
		else if (ch == OPT_TOKEN)
			token_arg = optarg;
		else if (ch == OPT_SESSION)
			session_arg = optarg;
	}
	/* Wipe a token given on the command line whatever happens next. */
	if (rc >= 0 || email != NULL) {
		if (token_arg != NULL)
			explicit_bzero(token_arg, strlen(token_arg));
		if (session_arg != NULL)
			explicit_bzero(session_arg, strlen(session_arg));
	}
	if (rc >= 0)
		return rc;
	if (email != NULL) {
		if (rm || from_stdin || token_arg != NULL ||
		    session_arg != NULL)
			return acctc_usage(a, "--forgot takes no other flags");
		if (optind != argc)
			return acctc_usage(a, "too many arguments");
		return forgot(a, email);
	}
	if (token_arg != NULL) {
		if (rm || session_arg != NULL || optind != argc) {
			explicit_bzero(token_arg, strlen(token_arg));
			if (session_arg != NULL)
				explicit_bzero(session_arg,
				    strlen(session_arg));
			return acctc_usage(a, "--token takes no USERNAME, "
			    "--rm or --session: the token names the "
			    "account");
		}
		return reset_with_token(a, token_arg, from_stdin);
	}
	session[0] = '\0';
	if (session_arg != NULL &&
	    (later = acctc_secret_arg(session_arg, session,
	    sizeof(session))) == -1)
		return ACCTC_EXIT_FAIL;
	rc = passwd_account(a, argc, argv, rm, from_stdin,
	    session_arg != NULL ? session : NULL, later);
	explicit_bzero(session, sizeof(session));
	return rc;
}
