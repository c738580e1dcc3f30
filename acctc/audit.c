/*
 * audit.c: `acctc audit logins`, `audit events`, `audit locks` and
 * `audit reset`: the login attempts the daemon recorded, as PhotoPrism's
 * report shows them, and everything else it did.
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
 * A list of one optional operand, in field: the rows of result[key],
 * what names them in the hint.
 */
static int
audit_list(struct acctc *a, int argc, char **argv, enum proto_op op,
    enum proto_field field, const char *key, const char *what,
    const struct out_field *cols, size_t ncols)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if ((rc = acctc_list_args(a, argc, argv)) >= 0)
		return rc;
	proto_msg_init(&args);
	if (optind < argc)
		proto_kv_str_f(&args, field, argv[optind]);
	acctc_list_pack(a, &args);
	if ((rc = acctc_call(a, op, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep))
		rc = acctc_print_page(a, rep.result, key, what, cols, ncols);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/*
 * --json: {logins: [{client, username, realm, status, last_login,
 * failed_at, attempts}...], total: int}. USERNAME is matched exactly as
 * it was given at login.
 */
int
cmd_audit_logins(struct acctc *a, int argc, char **argv)
{
	return audit_list(a, argc, argv, OP_AUDIT_LOGINS, F_USERNAME,
	    "logins", "rows", login_columns, NELEM(login_columns));
}

/* The other events, newest first: what happened, to whom, by which uid
 * (0 for the daemon's own, such as the mailer's outcome). */
static const struct out_field event_columns[] = {
	{ "at",		"Time",		OUT_TIME },
	{ "peer_uid",	"UID",		OUT_INT },
	{ "event",	"Event",	OUT_STR },
	{ "subject",	"Subject",	OUT_STR },
	{ "detail",	"Detail",	OUT_STR },
};

/*
 * --json: {events: [{id, at, peer_uid, event, subject, detail}...],
 * total: int}. SEARCH is a part of the event, subject or detail.
 */
int
cmd_audit_events(struct acctc *a, int argc, char **argv)
{
	return audit_list(a, argc, argv, OP_AUDIT_EVENTS, F_SEARCH, "events",
	    "events", event_columns, NELEM(event_columns));
}

/* Locked and slowed sources: the caller's uid and the address it
 * reported, or the service that reported none. */
static const struct out_field lock_columns[] = {
	{ "id",			"ID",		OUT_INT },
	{ "peer_uid",		"UID",		OUT_INT },
	{ "remote_addr",	"Address",	OUT_STR },
	{ "service",		"Service",	OUT_STR },
	{ "failures",		"Failures",	OUT_INT },
	{ "state",		"State",	OUT_STR },
	{ "locked_until",	"Locked Until",	OUT_TIME },
};

/*
 * --json: {sources: [{id, peer_uid, remote_addr, service, failures,
 * locked_until, state}...], total: int}, or with --clear {cleared: int}.
 */
int
cmd_audit_locks(struct acctc *a, int argc, char **argv)
{
	enum { OPT_CLEAR = ACCTC_OPT__NEXT };
	static const struct option lopts[] = {
		{ "clear",	no_argument,	NULL, OPT_CLEAR },
		ACCTC_LIST_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct proto_msg args;
	struct proto_reply rep;
	bool clear = false, listing = false;
	int ch, rc, bad = -1;

	while ((ch = acctc_getopt(a, argc, argv, ACCTC_LIST_SHORTOPTS, lopts,
	    &rc)) != -1)
		if (ch == OPT_CLEAR)
			clear = true;
		else if (acctc_list_opt(a, ch, optarg, &bad) &&
		    (ch == 'n' || ch == ACCTC_OPT_OFFSET ||
		    ch == ACCTC_OPT_NO_HEADER))
			listing = true;
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if ((rc = acctc_format_check(a)) >= 0)
		return rc;
	if (clear && listing)
		return acctc_usage(a, "-n, --offset and --no-header are for "
		    "the list, not for --clear");
	if (argc - optind > (clear ? 1 : 0))
		return acctc_usage(a, clear ? "too many arguments" :
		    "an ID goes with --clear");
	proto_msg_init(&args);
	if (clear)
		proto_kv_bool_f(&args, F_CLEAR, true);
	if (optind < argc)
		proto_kv_str_f(&args, F_ID, argv[optind]);
	acctc_list_pack(a, &args);
	if ((rc = acctc_call(a, OP_AUDIT_LOCKS, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		if (clear)
			printf("Cleared %lld sources.\n", (long long)
			    proto_map_get(rep.result, "cleared")->via.i64);
		else
			rc = acctc_print_page(a, rep.result, "sources",
			    "sources", lock_columns, NELEM(lock_columns));
	}
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
