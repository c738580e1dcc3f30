/*
 * users.c: the read and delete commands on accounts: users ls, show,
 * rm, reset and reset-password. Creating and changing accounts is in
 * useredit.c.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ "password_scheme",	"Password Scheme", OUT_STR },
	{ "activated",		"Activated",	OUT_YESNO },
	{ "failed_logins",	"Failed Logins", OUT_INT },
	{ "locked_until",	"Locked Until",	OUT_TIME },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "updated_at",		"Updated At",	OUT_TIME },
	{ "last_login_at",	"Last Login",	OUT_TIME_NEVER },
	{ "deleted_at",		"Deleted At",	OUT_TIME },
	{ "expires_at",		"Expires",	OUT_TIME_NEVER },
	{ "password_changed_at", "Password Changed", OUT_TIME },
	{ "password_max_age_days", "Password Max Age", OUT_DAYS },
	{ "must_change",	"Must Change Password", OUT_YESNO },
	{ "status",		"Status",	OUT_STR },
};

/* users ls: the columns of PhotoPrism's `users ls`, plus name, email
 * and the account's state (locked, pending, disabled, expired...). */
static const struct out_field list_columns[] = {
	{ "username",		"Username",	OUT_STR },
	{ "status",		"Status",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "role",		"Role",		OUT_STR },
	{ "auth_provider",	"Auth",		OUT_STR },
	{ "superadmin",		"Super Admin",	OUT_YESNO },
	{ "login",		"Login",	OUT_ENABLED },
	{ "webdav",		"WebDAV",	OUT_ENABLED },
	{ "created_at",		"Created At",	OUT_TIME },
};

/* Commands that take exactly one USERNAME and no options of their own. */
static int
one_username(struct acctc *a, int argc, char **argv, const char **name)
{
	char *arg;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "USERNAME", &arg)) >= 0)
		return rc;
	*name = arg;
	return -1;
}

/* users ls --deleted: which of them to restore or purge, by id. */
static const struct out_field deleted_columns[] = {
	{ "id",			"ID",		OUT_STR },
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "deleted_at",		"Deleted At",	OUT_TIME },
};

/*
 * --json: {users: [ACCOUNT...], total: int}. total counts every match,
 * so a table cut short by the limit says so on stderr, with the command
 * of the next page.
 */
int
cmd_users_ls(struct acctc *a, int argc, char **argv)
{
	enum { OPT_LOCKED = ACCTC_OPT__NEXT, OPT_PENDING, OPT_DISABLED,
	    OPT_DELETED };
	static const struct option lopts[] = {
		ACCTC_LIST_LONGOPTS,
		{ "locked",	no_argument,		NULL, OPT_LOCKED },
		{ "pending",	no_argument,		NULL, OPT_PENDING },
		{ "disabled",	no_argument,		NULL, OPT_DISABLED },
		{ "deleted",	no_argument,		NULL, OPT_DELETED },
		{ NULL, 0, NULL, 0 }
	};
	/* In the order of OPT_LOCKED ... OPT_DELETED. */
	static const char *const filters[] = { "locked", "pending",
	    "disabled", "deleted" };
	struct proto_msg args;
	struct proto_reply rep;
	const char *filter = NULL;
	bool deleted;
	int ch, rc, bad = -1;

	/* Parse to the end even after a bad number: getopt keeps state. */
	while ((ch = acctc_getopt(a, argc, argv, ACCTC_LIST_SHORTOPTS, lopts,
	    &rc)) != -1) {
		if (acctc_list_opt(a, ch, optarg, &bad) || bad >= 0)
			continue;
		if (ch >= OPT_LOCKED && ch <= OPT_DELETED) {
			if (filter != NULL)
				bad = acctc_usage(a, "--locked, --pending, "
				    "--disabled and --deleted exclude each "
				    "other");
			filter = filters[ch - OPT_LOCKED];
		}
	}
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if ((rc = acctc_format_check(a)) >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	proto_msg_init(&args);
	if (optind < argc)
		proto_kv_str_f(&args, F_SEARCH, argv[optind]);
	acctc_list_pack(a, &args);
	if (filter != NULL)
		proto_kv_str_f(&args, F_FILTER, filter);
	deleted = filter != NULL && strcmp(filter, "deleted") == 0;
	if ((rc = acctc_call(a, OP_USER_LIST, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		rc = deleted ? acctc_print_page(a, rep.result, "users",
		    "accounts", deleted_columns, NELEM(deleted_columns)) :
		    acctc_print_page(a, rep.result, "users", "accounts",
		    list_columns, NELEM(list_columns));
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
	proto_kv_str_f(&args, F_USERNAME, name);
	if ((rc = acctc_call(a, OP_USER_SHOW, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		out_show(stdout, proto_map_get(rep.result, "user"),
		    account_fields, NELEM(account_fields));
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {username: str}; with --purge {username, id, purged: true} */
int
cmd_users_rm(struct acctc *a, int argc, char **argv)
{
	enum { OPT_PURGE = ACCTC_OPT__NEXT, OPT_ID };
	static const struct option lopts[] = {
		{ "purge",	no_argument,		NULL, OPT_PURGE },
		{ "id",		required_argument,	NULL, OPT_ID },
		{ NULL, 0, NULL, 0 }
	};
	struct proto_msg args;
	struct proto_reply rep;
	const char *name, *id = NULL;
	bool purge = false;
	int ch, rc;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1)
		if (ch == OPT_PURGE)
			purge = true;
		else if (ch == OPT_ID)
			id = optarg;
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return acctc_usage(a, "USERNAME missing");
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	if (id != NULL && !purge)
		return acctc_usage(a, "--id goes with --purge");
	name = argv[optind];
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, name);
	if (purge)
		proto_kv_bool_f(&args, F_PURGE, true);
	if (id != NULL)
		proto_kv_str_f(&args, F_ID, id);
	if ((rc = acctc_call(a, OP_USER_RM, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		printf("Account ");
		out_str(stdout, proto_map_get(rep.result, "username"));
		printf(purge ? " purged: nothing of it is left but its name in "
		    "the audit log.\n" : " deleted.\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {removed: int} */
int
cmd_users_reset(struct acctc *a, int argc, char **argv)
{
	return acctc_reset(a, argc, argv, OP_USERS_RESET,
	    "this deletes every account", "Removed", "accounts");
}

void
acctc_print_mailed(const char *what, const msgpack_object *email,
    const msgpack_object *mail)
{
	char *to = out_text(email, OUT_STR);
	bool queued = mail != NULL && mail->type == MSGPACK_OBJECT_STR &&
	    mail->via.str.size == 6 && memcmp(mail->via.str.ptr, "queued",
	    6) == 0;

	printf("%s link %s %s.\n", what, queued ? "queued for" : "sent to",
	    to != NULL ? to : "");
	if (queued)
		acctc_warnx("the mailer has not finished with it yet; "
		    "'acctc audit events %s' shows whether it went",
		    to != NULL ? to : "");
	free(to);
}

/*
 * Mail the account a link to set a new password; a pending account
 * gets its activation link again. The daemon waits a few seconds for
 * the mailer: a failure is its refusal (exit 1); a mail still queued
 * then is said, and is no failure. --json: {email, activation: bool,
 * mail: "sent" or "queued"}
 */
int
cmd_users_reset_password(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *act;
	const char *name;
	int rc;

	if ((rc = one_username(a, argc, argv, &name)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, name);
	if ((rc = acctc_call(a, OP_USER_RESET_PASSWORD, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		act = proto_map_get(rep.result, "activation");
		acctc_print_mailed(act != NULL && act->type ==
		    MSGPACK_OBJECT_BOOLEAN && act->via.boolean ? "Activation" :
		    "Reset", proto_map_get(rep.result, "email"),
		    proto_map_get(rep.result, "mail"));
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
