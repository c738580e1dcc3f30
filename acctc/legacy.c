/*
 * legacy.c: users legacy: the accounts with a password hash from
 * elsewhere (users import) or of older parameters, which the next login
 * will upgrade.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* users legacy: who still has a hash of another scheme. */
static const struct out_field legacy_columns[] = {
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "password_scheme",	"Scheme",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "last_login_at",	"Last Login",	OUT_TIME_NEVER },
};

/*
 * The accounts not on the current Argon2id parameters: their next
 * login re-hashes the password. --json: {users: [ACCOUNT...], total}
 */
int
cmd_users_legacy(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if ((rc = acctc_list_args(a, argc, argv)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_bool_f(&args, F_LEGACY, true);
	if (optind < argc)
		proto_kv_str_f(&args, F_SEARCH, argv[optind]);
	acctc_list_pack(a, &args);
	if ((rc = acctc_call(a, OP_USER_LIST, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		rc = acctc_print_page(a, rep.result, "users", "accounts",
		    legacy_columns, NELEM(legacy_columns));
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
