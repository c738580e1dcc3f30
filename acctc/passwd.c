/*
 * passwd.c: `acctc passwd`: change or remove a password, one's own with
 * the current one, anyone's as admin.
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
	if ((rc = acctc_call(a, "hello", NULL, &rep)) == ACCTC_EXIT_OK) {
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
	proto_kv_str(&args, "username", user);
	/* Allowed, it says the request lacks a password: go on. */
	rc = acctc_call_quiet(a, "passwd", &args, &rep, ACCT_ERR_INVALID);
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

static int
read_new(bool from_stdin, char *buf, size_t bufsz)
{
	if (from_stdin)
		return prompt_stdin_line(buf, bufsz);
	return prompt_new_password("New password: ", "Retype new password: ",
	    false, buf, bufsz);
}

static int
send_passwd(struct acctc *a, const char *user, const char *cur,
    const char *new, bool rm)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	proto_msg_init(&args);
	proto_kv_str(&args, "username", user);
	if (cur != NULL)
		proto_kv_str(&args, "password", cur);
	if (rm)
		proto_kv_bool(&args, "remove", true);
	else
		proto_kv_str(&args, "new_password", new);
	if ((rc = acctc_call(a, "passwd", &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		printf("Password of ");
		out_str(stdout, proto_map_get(rep.result, "username"));
		printf(" %s.\n", rm ? "removed" : "changed");
	}
	proto_msg_free(&args);	/* wipes the packed secrets */
	proto_reply_free(&rep);
	return rc;
}

/*
 * --json: {username: str, has_password: bool}
 * --password-stdin reads the current password (only when one is
 * needed: the caller is not an admin), then the new one (unless --rm),
 * one line each, with no retyping.
 */
int
cmd_passwd(struct acctc *a, int argc, char **argv)
{
	enum { OPT_RM = ACCTC_OPT__NEXT, OPT_STDIN };
	static const struct option lopts[] = {
		{ "rm",		    no_argument, NULL, OPT_RM },
		{ "password-stdin", no_argument, NULL, OPT_STDIN },
		{ NULL, 0, NULL, 0 }
	};
	char cur[ACCTC_SECRET_MAX], new[ACCTC_SECRET_MAX];
	struct caller me;
	const char *user;
	bool rm = false, from_stdin = false, need_cur;
	int ch, rc;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1) {
		if (ch == OPT_RM)
			rm = true;
		else if (ch == OPT_STDIN)
			from_stdin = true;
	}
	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if ((rc = who_am_i(a, &me)) != ACCTC_EXIT_OK)
		return rc;
	user = optind < argc ? argv[optind] : me.login;
	if (*user == '\0') {
		acctc_warnx("your uid has no login name: name the account");
		return ACCTC_EXIT_FAIL;
	}
	if (!me.admin && !me.authenticator && strcasecmp(user, me.login) != 0 &&
	    (rc = may_not(a, user)) != ACCTC_EXIT_OK)
		return rc;
	need_cur = !me.admin;
	if (!from_stdin && (need_cur || !rm) && !prompt_isatty())
		return acctc_usage(a, "standard input is not a terminal: "
		    "use --password-stdin");
	rc = ACCTC_EXIT_FAIL;
	if ((!need_cur || read_current(from_stdin, cur, sizeof(cur)) == 0) &&
	    (rm || read_new(from_stdin, new, sizeof(new)) == 0))
		rc = send_passwd(a, user, need_cur ? cur : NULL, new, rm);
	explicit_bzero(cur, sizeof(cur));
	explicit_bzero(new, sizeof(new));
	return rc;
}
