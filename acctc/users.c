/*
 * users.c: the read and delete commands on accounts: users ls, show,
 * rm and reset. Creating and changing accounts is in useredit.c.
 */
#include <getopt.h>
#include <stdio.h>

#include <bsd/stdlib.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* users show: every property of ACCOUNT, in this order. */
static const struct out_field account_fields[] = {
	{ "id",			"ID",		OUT_STR },
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "role",		"Role",		OUT_STR },
	{ "superadmin",		"Super Admin",	OUT_YESNO },
	{ "login",		"Login",	OUT_ENABLED },
	{ "webdav",		"WebDAV",	OUT_ENABLED },
	{ "upload_path",	"Upload Path",	OUT_STR },
	{ "auth_provider",	"Auth Provider", OUT_STR },
	{ "auth_id",		"Auth ID",	OUT_STR },
	{ "two_factor",		"Two-Factor",	OUT_ENABLED },
	{ "has_password",	"Password",	OUT_SET },
	{ "activated",		"Activated",	OUT_YESNO },
	{ "failed_logins",	"Failed Logins", OUT_INT },
	{ "locked_until",	"Locked Until",	OUT_TIME },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "updated_at",		"Updated At",	OUT_TIME },
	{ "last_login_at",	"Last Login",	OUT_TIME_NEVER },
	{ "deleted_at",		"Deleted At",	OUT_TIME },
};

/* users ls: the columns of PhotoPrism's `users ls`, plus name and email. */
static const struct out_field list_columns[] = {
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "role",		"Role",		OUT_STR },
	{ "auth_provider",	"Auth",		OUT_STR },
	{ "superadmin",		"Super Admin",	OUT_YESNO },
	{ "login",		"Login",	OUT_ENABLED },
	{ "webdav",		"WebDAV",	OUT_ENABLED },
	{ "created_at",		"Created At",	OUT_TIME },
};

static const struct option no_lopts[] = { { NULL, 0, NULL, 0 } };

/* Commands that take exactly one USERNAME and no options of their own. */
static int
one_username(struct acctc *a, int argc, char **argv, const char **name)
{
	int rc;

	while (acctc_getopt(a, argc, argv, "", no_lopts, &rc) != -1)
		;
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return acctc_usage(a, "USERNAME missing");
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	*name = argv[optind];
	return -1;
}

static int
number(struct acctc *a, const char *what, const char *s, long long max,
    int64_t *out)
{
	const char *err;

	*out = strtonum(s, 0, max, &err);
	if (err != NULL)
		return acctc_usage(a, "%s is %s: %s", what, err, s);
	return -1;
}

static void
print_list(const msgpack_object *result)
{
	const msgpack_object *users = proto_map_get(result, "users");
	const msgpack_object *total = proto_map_get(result, "total");

	out_table(stdout, users, list_columns, NELEM(list_columns));
	if (users != NULL && users->type == MSGPACK_OBJECT_ARRAY &&
	    total != NULL && total->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    total->via.u64 > users->via.array.size)
		acctc_warnx("showing %u of %llu accounts",
		    users->via.array.size, (unsigned long long)total->via.u64);
}

/*
 * --json: {users: [ACCOUNT...], total: int}. total counts every match,
 * so a table cut short by the limit says so on stderr.
 */
int
cmd_users_ls(struct acctc *a, int argc, char **argv)
{
	enum { OPT_OFFSET = ACCTC_OPT__NEXT };
	static const struct option lopts[] = {
		{ "count",	required_argument,	NULL, 'n' },
		{ "offset",	required_argument,	NULL, OPT_OFFSET },
		{ NULL, 0, NULL, 0 }
	};
	struct proto_msg args;
	struct proto_reply rep;
	int64_t limit = -1, offset = -1;
	int ch, rc, bad = -1;

	/* Parse to the end even after a bad number: getopt keeps state. */
	while ((ch = acctc_getopt(a, argc, argv, "n:", lopts, &rc)) != -1) {
		if (bad >= 0)
			continue;
		if (ch == 'n')
			bad = number(a, "LIMIT", optarg, 10000, &limit);
		else if (ch == OPT_OFFSET)
			bad = number(a, "OFFSET", optarg, INT32_MAX, &offset);
	}
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	proto_msg_init(&args);
	if (optind < argc)
		proto_kv_str(&args, "search", argv[optind]);
	if (limit >= 0)
		proto_kv_int(&args, "limit", limit);
	if (offset >= 0)
		proto_kv_int(&args, "offset", offset);
	if ((rc = acctc_call(a, "user_list", &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		print_list(rep.result);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {user: ACCOUNT} */
int
cmd_users_show(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	const char *name;
	int rc;

	if ((rc = one_username(a, argc, argv, &name)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_str(&args, "username", name);
	if ((rc = acctc_call(a, "user_show", &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		out_show(stdout, proto_map_get(rep.result, "user"),
		    account_fields, NELEM(account_fields));
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {username: str} */
int
cmd_users_rm(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	const char *name;
	int rc;

	if ((rc = one_username(a, argc, argv, &name)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_str(&args, "username", name);
	if ((rc = acctc_call(a, "user_rm", &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		printf("Account ");
		out_str(stdout, proto_map_get(rep.result, "username"));
		printf(" deleted.\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {removed: int} */
int
cmd_users_reset(struct acctc *a, int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "yes",	no_argument,	NULL, 'y' },
		{ NULL, 0, NULL, 0 }
	};
	struct proto_msg args;
	struct proto_reply rep;
	bool yes = false;
	int rc;

	while (acctc_getopt(a, argc, argv, "y", lopts, &rc) == 'y')
		yes = true;
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return acctc_usage(a, "too many arguments");
	if (!yes)
		return acctc_usage(a, "--yes is required: this deletes "
		    "every account");
	proto_msg_init(&args);
	proto_kv_bool(&args, "confirm", true);
	if ((rc = acctc_call(a, "users_reset", &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("Removed ");
		out_str(stdout, proto_map_get(rep.result, "removed"));
		printf(" accounts.\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
