/*
 * audit.c: `acctc audit logins` and `audit reset`: the login attempts
 * the daemon recorded, as PhotoPrism's report shows them.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* One row per client, username and realm, newest first. */
static const struct out_field login_columns[] = {
	{ "client",	"Client",	OUT_STR },
	{ "username",	"Username",	OUT_STR },
	{ "realm",	"Realm",	OUT_STR },
	{ "status",	"Status",	OUT_STR },
	{ "last_login",	"Last Login",	OUT_TIME },
	{ "failed_at",	"Failed At",	OUT_TIME },
};

/*
 * --json: {logins: [{client, username, realm, status, last_login,
 * failed_at, attempts}...]}. USERNAME is matched exactly as it was
 * given at login.
 */
int
cmd_audit_logins(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	int64_t limit;
	int rc;

	if ((rc = acctc_list_args(a, argc, argv, &limit)) >= 0)
		return rc;
	proto_msg_init(&args);
	if (optind < argc)
		proto_kv_str_f(&args, F_USERNAME, argv[optind]);
	if (limit >= 0)
		proto_kv_int_f(&args, F_LIMIT, limit);
	if ((rc = acctc_call(a, OP_AUDIT_LOGINS, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep))
		rc = acctc_print_rows(a, proto_map_get(rep.result, "logins"),
		    login_columns, NELEM(login_columns));
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {removed: int} */
int
cmd_audit_reset(struct acctc *a, int argc, char **argv)
{
	return acctc_reset(a, argc, argv, OP_AUDIT_RESET,
	    "this clears the audit log", "Removed", "audit records");
}
