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
	const msgpack_object *users, *total;
	int64_t limit;
	int rc;

	if ((rc = acctc_list_args(a, argc, argv, &limit)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_bool_f(&args, F_LEGACY, true);
	if (optind < argc)
		proto_kv_str_f(&args, F_SEARCH, argv[optind]);
	if (limit >= 0)
		proto_kv_int_f(&args, F_LIMIT, limit);
	if ((rc = acctc_call(a, OP_USER_LIST, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		users = proto_map_get(rep.result, "users");
		total = proto_map_get(rep.result, "total");
		rc = acctc_print_rows(a, users, legacy_columns,
		    NELEM(legacy_columns));
		if (rc == ACCTC_EXIT_OK && users != NULL &&
		    users->type == MSGPACK_OBJECT_ARRAY && total != NULL &&
		    total->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    total->via.u64 > users->via.array.size)
			acctc_warnx("showing %u of %llu accounts",
			    users->via.array.size,
			    (unsigned long long)total->via.u64);
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
