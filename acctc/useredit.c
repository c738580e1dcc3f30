/*
 * useredit.c: users add and users mod: the account flags they share,
 * the password they may set, and restoring a deleted account.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acctc.h"

#define UNSET	(-1)

/* The account fields a command line gives; UNSET or NULL when absent. */
struct user_opts {
	const char	*name;
	const char	*email;
	const char	*role;
	const char	*auth;
	const char	*auth_id;
	const char	*upload_path;
	int		 superadmin;
	int		 login;
	int		 webdav;
	int		 restore;
	const char	*restore_id;	/* users add --restore ID */
	bool		 disable_2fa;
	bool		 unlock;	/* users mod */
	const char	*expires;	/* DATE or never */
	int64_t		 expires_at;	/* its unix time; 0: never */
	const char	*max_age;	/* DAYS, never or default */
	int		 must_change;
	bool		 activate;	/* users add */
	bool		 pw_stdin;
	char		*pw_arg;	/* -p, in argv: wiped once sent */
	const char	*password;	/* pw_arg, pwbuf or the prompt's */
	char		 pwbuf[ACCTC_SECRET_MAX];
};

enum {
	OPT_AUTH_ID = ACCTC_OPT__NEXT,
	OPT_NO_SUPERADMIN,
	OPT_LOGIN,
	OPT_NO_WEBDAV,
	OPT_DISABLE_2FA,
	OPT_RESTORE,
	OPT_NO_RESTORE,
	OPT_PASSWORD_STDIN,
	OPT_UNLOCK,
	OPT_ACTIVATE,
	OPT_EXPIRES,
	OPT_MAX_AGE,
	OPT_MUST_CHANGE,
	OPT_NO_MUST_CHANGE,
};

#define USER_SHORTOPTS	"n:m:p:r:A:slwu:"
#define ARG	required_argument
#define NOARG	no_argument
#define USER_LONGOPTS \
	{ "name",		ARG,	NULL, 'n' }, \
	{ "email",		ARG,	NULL, 'm' }, \
	{ "password",		ARG,	NULL, 'p' }, \
	{ "password-stdin",	NOARG,	NULL, OPT_PASSWORD_STDIN }, \
	{ "role",		ARG,	NULL, 'r' }, \
	{ "auth",		ARG,	NULL, 'A' }, \
	{ "auth-id",		ARG,	NULL, OPT_AUTH_ID }, \
	{ "superadmin",		NOARG,	NULL, 's' }, \
	{ "no-superadmin",	NOARG,	NULL, OPT_NO_SUPERADMIN }, \
	{ "no-login",		NOARG,	NULL, 'l' }, \
	{ "login",		NOARG,	NULL, OPT_LOGIN }, \
	{ "webdav",		NOARG,	NULL, 'w' }, \
	{ "no-webdav",		NOARG,	NULL, OPT_NO_WEBDAV }, \
	{ "upload-path",	ARG,	NULL, 'u' }, \
	{ "expires",		ARG,	NULL, OPT_EXPIRES }, \
	{ "password-max-age",	ARG,	NULL, OPT_MAX_AGE }, \
	{ "must-change",	NOARG,	NULL, OPT_MUST_CHANGE }, \
	{ "no-must-change",	NOARG,	NULL, OPT_NO_MUST_CHANGE }, \
	{ "disable-2fa",	NOARG,	NULL, OPT_DISABLE_2FA }

static const struct option add_lopts[] = {
	USER_LONGOPTS,
	{ "restore",		NOARG,	NULL, OPT_RESTORE },
	{ "no-restore",		NOARG,	NULL, OPT_NO_RESTORE },
	{ "activate",		NOARG,	NULL, OPT_ACTIVATE },
	{ NULL, 0, NULL, 0 }
};

static const struct option mod_lopts[] = {
	USER_LONGOPTS,
	{ "unlock",		NOARG,	NULL, OPT_UNLOCK },
	{ NULL, 0, NULL, 0 }
};

static void
opt_set(struct user_opts *o, int ch, char *arg)
{
	switch (ch) {
	case 'n': o->name = arg; break;
	case 'm': o->email = arg; break;
	case 'p': o->pw_arg = arg; break;
	case 'r': o->role = arg; break;
	case 'A': o->auth = arg; break;
	case 'u': o->upload_path = arg; break;
	case 's': o->superadmin = 1; break;
	case 'l': o->login = 0; break;
	case 'w': o->webdav = 1; break;
	case OPT_AUTH_ID: o->auth_id = arg; break;
	case OPT_NO_SUPERADMIN: o->superadmin = 0; break;
	case OPT_LOGIN: o->login = 1; break;
	case OPT_NO_WEBDAV: o->webdav = 0; break;
	case OPT_DISABLE_2FA: o->disable_2fa = true; break;
	case OPT_RESTORE: o->restore = 1; break;
	case OPT_NO_RESTORE: o->restore = 0; break;
	case OPT_PASSWORD_STDIN: o->pw_stdin = true; break;
	case OPT_UNLOCK: o->unlock = true; break;
	case OPT_ACTIVATE: o->activate = true; break;
	case OPT_EXPIRES: o->expires = arg; break;
	case OPT_MAX_AGE: o->max_age = arg; break;
	case OPT_MUST_CHANGE: o->must_change = 1; break;
	case OPT_NO_MUST_CHANGE: o->must_change = 0; break;
	}
}

/* YYYY-MM-DD (00:00 UTC, as shadow's expire day) or "never" (0). */
static int
expiry(const char *s, int64_t *t)
{
	struct tm tm;
	const char *end;

	if (strcmp(s, "never") == 0) {
		*t = 0;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%d", &tm)) == NULL || *end != '\0' ||
	    tm.tm_year < 70)
		return -1;
	*t = (int64_t)timegm(&tm);
	return *t > 0 ? 0 : -1;
}

/* Flags, then exactly one USERNAME. Returns -1 to go on, or an exit. */
static int
opts_parse(struct acctc *a, int argc, char **argv,
    const struct option *lopts, struct user_opts *o, const char **user)
{
	int ch, rc;

	memset(o, 0, sizeof(*o));
	o->superadmin = o->login = o->webdav = o->restore = UNSET;
	o->must_change = UNSET;
	while ((ch = acctc_getopt(a, argc, argv, USER_SHORTOPTS, lopts,
	    &rc)) != -1)
		opt_set(o, ch, optarg);
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return acctc_usage(a, "USERNAME missing");
	/* users add --restore ID USERNAME: which of several deleted ones. */
	if (o->restore == 1 && argc - optind == 2)
		o->restore_id = argv[optind++];
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if (o->pw_arg != NULL && o->pw_stdin)
		return acctc_usage(a,
		    "--password and --password-stdin exclude each other");
	if (o->expires != NULL && expiry(o->expires, &o->expires_at) == -1)
		return acctc_usage(a, "--expires takes a date, YYYY-MM-DD "
		    "(the account expires at its start, UTC), or never");
	*user = argv[optind];
	return -1;
}

static void
kv_str(struct proto_msg *m, enum proto_field f, const char *val)
{
	if (val != NULL)
		proto_kv_str_f(m, f, val);
}

static void
kv_bool(struct proto_msg *m, enum proto_field f, int val)
{
	if (val != UNSET)
		proto_kv_bool_f(m, f, val == 1);
}

/* The fields both operations take; each key packed once at most. */
static int
pack_fields(const struct user_opts *o, struct proto_msg *m)
{
	uint32_t before = m->npairs;

	kv_str(m, F_NAME, o->name);
	kv_str(m, F_EMAIL, o->email);
	kv_str(m, F_ROLE, o->role);
	kv_str(m, F_AUTH_PROVIDER, o->auth);
	kv_str(m, F_AUTH_ID, o->auth_id);
	kv_str(m, F_UPLOAD_PATH, o->upload_path);
	kv_bool(m, F_SUPERADMIN, o->superadmin);
	kv_bool(m, F_LOGIN, o->login);
	kv_bool(m, F_WEBDAV, o->webdav);
	if (o->disable_2fa)
		proto_kv_bool_f(m, F_DISABLE_2FA, true);
	if (o->unlock)
		proto_kv_bool_f(m, F_UNLOCK, true);
	if (o->expires != NULL)
		proto_kv_int_f(m, F_EXPIRES_AT, o->expires_at);
	kv_str(m, F_PASSWORD_MAX_AGE, o->max_age);
	kv_bool(m, F_MUST_CHANGE, o->must_change);
	return (int)(m->npairs - before);
}

/* Take the password from -p or standard input. Returns 0 or -1. */
static int
password_given(struct user_opts *o)
{
	if (o->pw_arg != NULL)
		o->password = o->pw_arg;
	else if (o->pw_stdin) {
		if (prompt_stdin_line(o->pwbuf, sizeof(o->pwbuf)) == -1)
			return -1;
		o->password = o->pwbuf;
	}
	return 0;
}

/* Wipe every copy of the password this process holds. */
static void
opts_wipe(struct user_opts *o)
{
	if (o->pw_arg != NULL)
		explicit_bzero(o->pw_arg, strlen(o->pw_arg));
	explicit_bzero(o->pwbuf, sizeof(o->pwbuf));
	o->password = NULL;
}

static int
add_call(struct acctc *a, const char *user, const struct user_opts *o,
    int restore, struct proto_reply *rep)
{
	struct proto_msg args;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, user);
	pack_fields(o, &args);
	if (o->password != NULL)
		proto_kv_str_f(&args, F_NEW_PASSWORD, o->password);
	kv_bool(&args, F_RESTORE, restore);
	if (restore == 1 && o->restore_id != NULL)
		proto_kv_str_f(&args, F_ID, o->restore_id);
	if (o->activate)
		proto_kv_bool_f(&args, F_ACTIVATE, true);
	rc = acctc_call_quiet(a, OP_USER_ADD, &args, rep,
	    restore == UNSET ? ACCT_ERR_DELETED : ACCT_OK);
	proto_msg_free(&args);
	return rc;
}

/*
 * A deleted account has the name and no --restore or --no-restore was
 * given: ask on a terminal; a script gets the daemon's message.
 */
static int
ask_restore(const char *user)
{
	char q[512], *name = NULL;
	size_t len = 0;
	FILE *m;
	int yes;

	if (!prompt_isatty())
		return UNSET;
	if ((m = open_memstream(&name, &len)) == NULL)
		return UNSET;
	out_sanitize(m, user, strlen(user));
	if (fclose(m) != 0) {
		free(name);
		return UNSET;
	}
	snprintf(q, sizeof(q),
	    "A deleted account named %s exists. Restore it? [y/N] ", name);
	free(name);
	/* No answer at all is not a "no": better stop than create. */
	if ((yes = prompt_confirm(q)) == -1)
		return UNSET;
	return yes;
}

/*
 * A deleted account stands in the way (or several, among which the
 * daemon will not choose): list them on standard error, each with the
 * id --restore takes.
 */
static void
list_deleted(struct acctc *a, const char *user)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *users;
	char when[64];

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_SEARCH, user);
	proto_kv_str_f(&args, F_FILTER, "deleted");
	if (acctc_call(a, OP_USER_LIST, &args, &rep) == ACCTC_EXIT_OK &&
	    (users = proto_map_get(rep.result, "users")) != NULL &&
	    users->type == MSGPACK_OBJECT_ARRAY) {
		fprintf(stderr, "Deleted accounts of the name (acctc users "
		    "add --restore ID ");
		out_sanitize(stderr, user, strlen(user));
		fprintf(stderr, "):\n");
		for (uint32_t i = 0; i < users->via.array.size; i++) {
			const msgpack_object *u = &users->via.array.ptr[i];
			const msgpack_object *t = proto_map_get(u, "deleted_at");
			const msgpack_object *n = proto_map_get(u, "username");

			/* The search also finds names that contain it. */
			if (n == NULL || n->type != MSGPACK_OBJECT_STR ||
			    n->via.str.size != strlen(user) ||
			    memcmp(n->via.str.ptr, user, strlen(user)) != 0)
				continue;
			out_time(t != NULL && t->type ==
			    MSGPACK_OBJECT_POSITIVE_INTEGER ?
			    (int64_t)t->via.u64 : 0, when, sizeof(when));
			fprintf(stderr, "  ");
			out_str(stderr, proto_map_get(u, "id"));
			fprintf(stderr, "  deleted %s", when);
			if ((n = proto_map_get(u, "name")) != NULL &&
			    n->type == MSGPACK_OBJECT_STR && n->via.str.size > 0) {
				fprintf(stderr, "  ");
				out_str(stderr, n);
			}
			fputc('\n', stderr);
		}
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
}

static void
print_account_done(const struct proto_reply *rep, const char *what)
{
	const msgpack_object *u = proto_map_get(rep->result, "user");

	printf("Account ");
	out_str(stdout, proto_map_get(u, "username"));
	printf(" %s.\n", what);
}

/* users mod --unlock: what it cleared, as the daemon read it. */
static void
print_unlocked(const msgpack_object *u)
{
	const msgpack_object *f = proto_map_get(u, "failed_logins");
	const msgpack_object *t = proto_map_get(u, "locked_until");
	char when[64];

	if (u == NULL)
		return;
	if (f != NULL && f->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    f->via.u64 > 0)
		printf("Cleared %llu failed logins.\n",
		    (unsigned long long)f->via.u64);
	if (t != NULL && t->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		out_time((int64_t)t->via.u64, when, sizeof(when));
		printf("Cleared the lock until %s.\n", when);
	}
	if ((f == NULL || f->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    f->via.u64 == 0) && (t == NULL ||
	    t->type != MSGPACK_OBJECT_POSITIVE_INTEGER))
		printf("It was not locked.\n");
}

static bool
is_false(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN &&
	    !o->via.boolean;
}

/*
 * users add --activate: where the daemon mailed the activation link.
 * The account exists even when the mail was not sent: say so, how to
 * send it again, and exit 1.
 */
static int
print_activation(const struct proto_reply *rep)
{
	const msgpack_object *u = proto_map_get(rep->result, "user");
	char *why, *name;

	if (!is_false(proto_map_get(u, "activated")))
		return ACCTC_EXIT_OK;
	if (!is_false(proto_map_get(rep->result, "activation_mailed"))) {
		acctc_print_mailed("Activation", proto_map_get(u, "email"),
		    proto_map_get(rep->result, "mail"));
		return ACCTC_EXIT_OK;
	}
	why = out_text(proto_map_get(rep->result, "warning"), OUT_STR);
	name = out_text(proto_map_get(u, "username"), OUT_STR);
	/* The mailer's failure says so itself. */
	acctc_warnx("%s%s; 'acctc users reset-password %s' sends it again",
	    acctc_errname_is(proto_map_get(rep->result, "mail_error"),
	    ACCT_ERR_MAIL_FAILED) ? "" : "the activation link was not sent: ",
	    why != NULL && *why != '\0' ? why : "unknown error",
	    name != NULL ? name : "");
	free(why);
	free(name);
	return ACCTC_EXIT_FAIL;
}

/* One users add: the request, and its answer printed. */
struct add_req {
	struct acctc		*a;
	const char		*user;
	struct user_opts	*o;
	bool			 asked;	/* the password is the prompt's */
};

/*
 * Create (or restore) the account, asking whether to restore when a
 * deleted one has the name. The exit status, or PROMPT_AGAIN when the
 * policy refused a password the prompt asked for (the daemon's words,
 * which state the rule, are printed).
 */
static int
add_account(const struct add_req *q)
{
	const struct user_opts *o = q->o;
	const msgpack_object *restored;
	struct proto_reply rep;
	int rc, restore = o->restore;

	if ((rc = add_call(q->a, q->user, o, restore, &rep)) ==
	    ACCTC_EXIT_OK && rep.code == ACCT_ERR_DELETED) {
		if ((restore = ask_restore(q->user)) == UNSET)
			rc = acctc_refused(&rep);
		else {
			proto_reply_free(&rep);
			rc = add_call(q->a, q->user, o, restore, &rep);
		}
	}
	if (rc != ACCTC_EXIT_OK) {
		if (rep.code == ACCT_ERR_DELETED)
			list_deleted(q->a, q->user);
		if (rep.code == ACCT_ERR_POLICY && q->asked)
			rc = PROMPT_AGAIN;
	} else if (!acctc_json(q->a, &rep)) {
		restored = proto_map_get(rep.result, "restored");
		print_account_done(&rep, restored != NULL &&
		    restored->type == MSGPACK_OBJECT_BOOLEAN &&
		    restored->via.boolean ? "restored" : "created");
		if (o->activate)
			rc = print_activation(&rep);
	} else if (is_false(proto_map_get(rep.result, "activation_mailed")))
		rc = ACCTC_EXIT_FAIL;
	proto_reply_free(&rep);
	return rc;
}

/* The prompt's password: empty is none. */
static int
add_prompted(void *arg, const char *pw)
{
	const struct add_req *q = arg;

	q->o->password = *pw != '\0' ? pw : NULL;
	return add_account(q);
}

/*
 * --json: {user: ACCOUNT, restored: bool}, and with --activate
 * activation_mailed: bool, mail: "sent", "queued" or "failed" and, when
 * not mailed, warning and mail_error (an error name); exit 1 then.
 * Without -p or --password-stdin a terminal is asked for the password
 * (empty: none), again on a mismatch or a policy refusal; anything
 * else creates the account without one. With --activate nobody is
 * asked: the user chooses it with the mailed link.
 */
int
cmd_users_add(struct acctc *a, int argc, char **argv)
{
	struct user_opts o;
	/* user is set when opts_parse() returns -1. */
	struct add_req q = { .a = a, .o = &o, .user = "" };
	int rc;

	if ((rc = opts_parse(a, argc, argv, add_lopts, &o, &q.user)) >= 0) {
		opts_wipe(&o);
		return rc;
	}
	/* Fail on an absent daemon before asking for any password. */
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		goto out;
	rc = ACCTC_EXIT_FAIL;
	if (password_given(&o) == -1)
		goto out;
	q.asked = o.password == NULL && !o.pw_stdin && !o.activate &&
	    prompt_isatty();
	if (q.asked)
		rc = prompt_new_password("Password (empty for none): ",
		    "Retype password: ", true, add_prompted, &q);
	else
		rc = add_account(&q);
out:
	opts_wipe(&o);
	return rc;
}

/*
 * --json: {user: ACCOUNT}, the account after the change.
 * A password goes in the same request: the daemon checks it against
 * the policy before it changes anything, so a refused one changes
 * nothing.
 */
int
cmd_users_mod(struct acctc *a, int argc, char **argv)
{
	struct user_opts o;
	struct proto_msg args;
	struct proto_reply rep;
	const char *user = NULL;	/* set when opts_parse() returns -1 */
	int rc, nfields;

	if ((rc = opts_parse(a, argc, argv, mod_lopts, &o, &user)) >= 0) {
		opts_wipe(&o);
		return rc;
	}
	proto_msg_init(&args);
	memset(&rep, 0, sizeof(rep));
	msgpack_unpacked_init(&rep.un);
	proto_kv_str_f(&args, F_USERNAME, user);
	nfields = pack_fields(&o, &args);
	if (nfields == 0 && o.pw_arg == NULL && !o.pw_stdin) {
		rc = acctc_usage(a, "nothing to change");
		goto out;
	}
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		goto out;
	rc = ACCTC_EXIT_FAIL;
	if (password_given(&o) == -1)
		goto out;
	if (o.password != NULL)
		proto_kv_str_f(&args, F_NEW_PASSWORD, o.password);
	if ((rc = acctc_call(a, OP_USER_MOD, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		print_account_done(&rep, "updated");
		print_unlocked(proto_map_get(rep.result, "unlocked"));
	}
out:
	opts_wipe(&o);
	proto_msg_free(&args);	/* wipes the packed password */
	proto_reply_free(&rep);
	return rc;
}
