/*
 * auth.c: `acctc auth`: test a password the way a daemon would, and
 * list, create, show and revoke sessions, access tokens and app
 * passwords. The token helpers here serve clients.c too.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define ID_LEN		16	/* hex digits of a token id */

/* auth show, clients show, and the details after auth add: TOKEN. */
static const struct out_field token_fields[] = {
	{ "id",			"ID",		OUT_STR },
	{ "type",		"Type",		OUT_STR },
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "scope",		"Scope",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "created_by_uid",	"Created By UID", OUT_INT },
	{ "expires_at",		"Expires At",	OUT_TIME_NEVER },
	{ "last_used_at",	"Last Used",	OUT_TIME_NEVER },
};

/* auth ls */
static const struct out_field token_columns[] = {
	{ "id",			"ID",		OUT_STR },
	{ "type",		"Type",		OUT_STR },
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "scope",		"Scope",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "expires_at",		"Expires At",	OUT_TIME_NEVER },
	{ "last_used_at",	"Last Used",	OUT_TIME_NEVER },
};

/* The types a TOKEN map may have (acctd-protocol(7)). */
static const char *const token_types[] = {
	"session", "access_token", "app_password", "client", NULL
};

static bool
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

/* A token id: 16 hex digits (a whole token is "ID_SECRET"). */
static bool
is_id(const char *s)
{
	if (strlen(s) != ID_LEN)
		return false;
	for (; *s != '\0'; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

/* -n, -s, -e of auth add and clients add. -1 to go on, else exit 2. */
static int
token_opt(struct acctc *a, int ch, const char *arg,
    struct acctc_token_opts *o)
{
	switch (ch) {
	case 'n':
		o->name = arg;
		return -1;
	case 's':
		o->scope = arg;
		return -1;
	case 'e':
		return acctc_duration(a, arg, &o->lifetime);
	default:
		return -1;
	}
}

/*
 * The options of auth add and clients add into *o, leaving optind at
 * the first operand: -1 to go on, else the exit status.
 */
int
acctc_token_args(struct acctc *a, int argc, char **argv,
    struct acctc_token_opts *o, bool sessions)
{
	enum { OPT_SESSION = ACCTC_OPT__NEXT };
#define TOKEN_LONGOPTS \
		{ "name",	required_argument,	NULL, 'n' }, \
		{ "scope",	required_argument,	NULL, 's' }, \
		{ "expires",	required_argument,	NULL, 'e' }
	static const struct option plain[] = {
		TOKEN_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	static const struct option with_session[] = {
		TOKEN_LONGOPTS,
		{ "session",	no_argument,		NULL, OPT_SESSION },
		{ NULL, 0, NULL, 0 }
	};
#undef TOKEN_LONGOPTS
	int ch, rc, bad = -1;

	memset(o, 0, sizeof(*o));
	while ((ch = acctc_getopt(a, argc, argv, "n:s:e:", sessions ?
	    with_session : plain, &rc)) != -1) {
		if (ch == OPT_SESSION)
			o->session = true;
		else if (bad < 0)
			bad = token_opt(a, ch, optarg, o);
	}
	return rc >= 0 ? rc : bad;
}

/*
 * token_add of type for user (NULL: none, for a client). The reply
 * holds the new token: the caller prints it once, then wipes it with
 * acctc_wipe_str() and acctc_flush_secret().
 */
int
acctc_token_add(struct acctc *a, const char *type,
    const struct acctc_token_opts *o, const char *user,
    struct proto_reply *rep)
{
	struct proto_msg args;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_TYPE, type);
	if (user != NULL)
		proto_kv_str_f(&args, F_USERNAME, user);
	if (o->name != NULL)
		proto_kv_str_f(&args, F_NAME, o->name);
	if (o->scope != NULL)
		proto_kv_str_f(&args, F_SCOPE, o->scope);
	if (o->lifetime > 0)
		proto_kv_int_f(&args, F_LIFETIME, o->lifetime);
	rc = acctc_call(a, OP_TOKEN_ADD, &args, rep);
	proto_msg_free(&args);
	return rc;
}

/*
 * token_show of id. type (e.g. "client"), if given, is the one type
 * the command deals with: any other is "no such client".
 */
int
acctc_token_show(struct acctc *a, const char *id, const char *type,
    struct proto_reply *rep)
{
	struct proto_msg args;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_ID, id);
	rc = acctc_call_quiet(a, OP_TOKEN_SHOW, &args, rep,
	    type != NULL ? ACCT_ERR_NOT_FOUND : ACCT_OK);
	proto_msg_free(&args);
	if (rc != ACCTC_EXIT_OK || type == NULL)
		return rc;
	if (rep->code != ACCT_OK || !str_is(proto_map_get(proto_map_get(
	    rep->result, "token"), "type"), type)) {
		acctc_warnx("no such %s", type);
		return ACCTC_EXIT_FAIL;
	}
	return ACCTC_EXIT_OK;
}

/* Every property of a TOKEN map, one per line. */
void
acctc_token_print(const msgpack_object *token)
{
	out_show(stdout, token, token_fields, NELEM(token_fields));
}

/*
 * auth ls and clients ls: the list options and [SEARCH], and for auth
 * ls [--type T]; clients ls gives the type. SEARCH matches the id,
 * username or name. --json: {tokens: [TOKEN...], total: int}
 */
int
acctc_token_list(struct acctc *a, int argc, char **argv, const char *type,
    const struct out_field *cols, size_t ncols)
{
	enum { OPT_TYPE = ACCTC_OPT__NEXT };
	static const struct option all_lopts[] = {
		ACCTC_LIST_LONGOPTS,
		{ "type",	required_argument,	NULL, OPT_TYPE },
		{ NULL, 0, NULL, 0 }
	};
	static const struct option typed_lopts[] = {
		ACCTC_LIST_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *what = type == NULL ? "sessions and tokens" : "clients";
	struct proto_msg args;
	struct proto_reply rep;
	int ch, rc, bad = -1;

	while ((ch = acctc_getopt(a, argc, argv, ACCTC_LIST_SHORTOPTS,
	    type == NULL ? all_lopts : typed_lopts, &rc)) != -1)
		if (!acctc_list_opt(a, ch, optarg, &bad) && ch == OPT_TYPE)
			type = optarg;
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if ((rc = acctc_format_check(a)) >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if (type != NULL) {
		const char *const *t;

		for (t = token_types; *t != NULL && strcmp(*t, type) != 0; t++)
			;
		if (*t == NULL)
			return acctc_usage(a, "TYPE must be session, "
			    "access_token, app_password or client: %s", type);
	}
	proto_msg_init(&args);
	if (optind < argc)
		proto_kv_str_f(&args, F_SEARCH, argv[optind]);
	if (type != NULL)
		proto_kv_str_f(&args, F_TYPE, type);
	acctc_list_pack(a, &args);
	if ((rc = acctc_call(a, OP_TOKEN_LIST, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep))
		rc = acctc_print_page(a, rep.result, "tokens", what, cols,
		    ncols);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/*
 * Verify a password as a daemon would (the login operation, audited
 * like any other); a two-factor code when the daemon asks for one
 * (acctc_login()). --json: {user: ACCOUNT}
 */
int
cmd_auth_test(struct acctc *a, int argc, char **argv)
{
	enum { OPT_STDIN = ACCTC_OPT__NEXT, OPT_SERVICE, OPT_CODE };
	static const struct option lopts[] = {
		{ "password-stdin", no_argument,	NULL, OPT_STDIN },
		{ "service",	    required_argument,	NULL, OPT_SERVICE },
		{ "code",	    required_argument,	NULL, OPT_CODE },
		{ NULL, 0, NULL, 0 }
	};
	char pw[ACCTC_SECRET_MAX], code[64];
	char *carg = NULL;
	struct proto_msg args;
	struct proto_reply rep;
	const char *service = NULL, *user;
	bool from_stdin = false;
	int ch, rc;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1) {
		if (ch == OPT_STDIN)
			from_stdin = true;
		else if (ch == OPT_SERVICE)
			service = optarg;
		else if (ch == OPT_CODE)
			carg = optarg;
	}
	code[0] = '\0';
	if (carg != NULL && acctc_code_arg(carg, code, sizeof(code)) == -1)
		return rc >= 0 ? rc : ACCTC_EXIT_FAIL;
	if (rc >= 0) {		/* --help, or a usage error */
		explicit_bzero(code, sizeof(code));
		return rc;
	}
	if (optind >= argc)
		rc = acctc_usage(a, "USERNAME missing");
	else if (argc - optind > 1)
		rc = acctc_usage(a, "too many arguments");
	else if (!from_stdin && !prompt_isatty())
		rc = acctc_usage(a, "standard input is not a terminal: "
		    "use --password-stdin");
	/* Fail on an absent daemon before asking for the password. */
	else if ((rc = acctc_connect(a)) == ACCTC_EXIT_OK &&
	    (from_stdin ? prompt_stdin_line(pw, sizeof(pw)) :
	    prompt_password("Password: ", pw, sizeof(pw))) == -1)
		rc = ACCTC_EXIT_FAIL;
	if (rc != ACCTC_EXIT_OK) {
		explicit_bzero(code, sizeof(code));
		return rc;
	}
	user = argv[optind];
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, user);
	proto_kv_str_f(&args, F_PASSWORD, pw);
	explicit_bzero(pw, sizeof(pw));
	if (service != NULL)
		proto_kv_str_f(&args, F_SERVICE, service);
	if ((rc = acctc_login(a, &args, &rep, carg != NULL ? code : NULL,
	    from_stdin)) == ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		const msgpack_object *mc = proto_map_get(rep.result,
		    "must_change");

		printf("Password for ");
		out_str(stdout, proto_map_get(proto_map_get(rep.result,
		    "user"), "username"));
		printf(" is valid%s.\n", mc != NULL &&
		    mc->type == MSGPACK_OBJECT_BOOLEAN && mc->via.boolean ?
		    "; it must be changed now" : "");
	}
	explicit_bzero(code, sizeof(code));
	proto_msg_free(&args);	/* wipes the packed password */
	proto_reply_free(&rep);
	return rc;
}

/* --json: {tokens: [TOKEN...]} */
int
cmd_auth_ls(struct acctc *a, int argc, char **argv)
{
	return acctc_token_list(a, argc, argv, NULL, token_columns,
	    NELEM(token_columns));
}

/*
 * --session: a session for user, as an SSO service opens one after its
 * own sign-in (session_add); --name names it, as a login's service does.
 * --json: {session: TOKEN, token: str, user: ACCOUNT}
 */
static int
session_add(struct acctc *a, const struct acctc_token_opts *o,
    const char *user)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *token;
	int rc;

	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, user);
	if (o->name != NULL)
		proto_kv_str_f(&args, F_SERVICE, o->name);
	if (o->scope != NULL)
		proto_kv_str_f(&args, F_SCOPE, o->scope);
	if (o->lifetime > 0)
		proto_kv_int_f(&args, F_LIFETIME, o->lifetime);
	rc = acctc_call(a, OP_SESSION_ADD, &args, &rep);
	proto_msg_free(&args);
	token = rc == ACCTC_EXIT_OK ? proto_map_get(rep.result, "token") :
	    NULL;
	if (rc == ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("Session token: ");
		out_str(stdout, token);
		printf("\nCopy it now: it will not be shown again.\n\n");
		acctc_token_print(proto_map_get(rep.result, "session"));
	}
	acctc_flush_secret();
	acctc_wipe_str(token);
	proto_reply_free(&rep);
	return rc;
}

/*
 * An access token for USERNAME, or with --name an app password (which
 * logs in like the password, for the services of its scope), or with
 * --session a session. The secret is printed this once. --json:
 * {info: TOKEN, token: str}
 */
int
cmd_auth_add(struct acctc *a, int argc, char **argv)
{
	struct acctc_token_opts o;
	struct proto_reply rep;
	const msgpack_object *token;
	int rc;

	if ((rc = acctc_token_args(a, argc, argv, &o, true)) >= 0)
		return rc;
	if (optind >= argc)
		return acctc_usage(a, "USERNAME missing");
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if (o.session)
		return session_add(a, &o, argv[optind]);
	rc = acctc_token_add(a, o.name != NULL ? "app_password" :
	    "access_token", &o, argv[optind], &rep);
	token = rc == ACCTC_EXIT_OK ? proto_map_get(rep.result, "token") :
	    NULL;
	if (rc == ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("%s: ", o.name != NULL ? "App password" :
		    "Access token");
		out_str(stdout, token);
		printf("\nCopy it now: it will not be shown again.\n\n");
		acctc_token_print(proto_map_get(rep.result, "info"));
	}
	acctc_flush_secret();
	acctc_wipe_str(token);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {token: TOKEN} */
int
cmd_auth_show(struct acctc *a, int argc, char **argv)
{
	struct proto_reply rep;
	char *id;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "ID", &id)) >= 0)
		return rc;
	if ((rc = acctc_token_show(a, id, NULL, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		acctc_token_print(proto_map_get(rep.result, "token"));
	proto_reply_free(&rep);
	return rc;
}

/*
 * Revoke by id (16 hex digits) or by the whole token, which goes to
 * the daemon and nowhere else; "-" reads it from standard input (or,
 * on a terminal, asks without echo). --json: {id: str}
 */
int
cmd_auth_rm(struct acctc *a, int argc, char **argv)
{
	char secret[ACCTC_SECRET_MAX];
	struct proto_msg args;
	struct proto_reply rep;
	char *arg;
	int rc, later;

	if ((rc = acctc_one_arg(a, argc, argv, "ID or token", &arg)) >= 0) {
		/* A usage error must not leave a token in ps either. */
		for (int i = optind; i < argc; i++)
			if (!is_id(argv[i]))
				explicit_bzero(argv[i], strlen(argv[i]));
		return rc;
	}
	memset(&rep, 0, sizeof(rep));
	msgpack_unpacked_init(&rep.un);
	proto_msg_init(&args);
	if ((later = acctc_secret_arg(arg, secret, sizeof(secret))) == -1) {
		rc = ACCTC_EXIT_FAIL;
		goto out;
	}
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		goto out;
	if (later && prompt_secret("Token: ", "token", secret,
	    sizeof(secret)) == -1) {
		rc = ACCTC_EXIT_FAIL;
		goto out;
	}
	if (is_id(secret)) {
		for (char *p = secret; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		proto_kv_str_f(&args, F_ID, secret);
	} else
		proto_kv_str_f(&args, F_TOKEN, secret);
	explicit_bzero(secret, sizeof(secret));
	if ((rc = acctc_call(a, OP_TOKEN_REVOKE, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("Revoked ");
		out_str(stdout, proto_map_get(rep.result, "id"));
		printf(".\n");
	}
out:
	explicit_bzero(secret, sizeof(secret));
	proto_msg_free(&args);	/* wipes a packed token */
	proto_reply_free(&rep);
	return rc;
}

/* --json: {removed: int} */
int
cmd_auth_reset(struct acctc *a, int argc, char **argv)
{
	return acctc_reset(a, argc, argv, OP_TOKENS_RESET,
	    "this revokes every session and token", "Revoked",
	    "sessions and tokens");
}
