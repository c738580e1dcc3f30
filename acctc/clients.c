/*
 * clients.c: `acctc clients`: OAuth2 client credentials. A client is a
 * token of type "client": its id is the client id, the part of the
 * token after '_' the client secret, shown once.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* clients ls: the type column would always say "client". */
static const struct out_field client_columns[] = {
	{ "id",			"ID",		OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "username",		"Username",	OUT_STR },
	{ "scope",		"Scope",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "expires_at",		"Expires At",	OUT_TIME_NEVER },
	{ "last_used_at",	"Last Used",	OUT_TIME_NEVER },
};

/* "ID_SECRET": the client id, then the secret, each on its line. */
static void
print_credentials(const msgpack_object *token)
{
	const char *p, *sep;
	size_t n;

	if (token == NULL || token->type != MSGPACK_OBJECT_STR)
		return;
	p = token->via.str.ptr;
	n = token->via.str.size;
	if ((sep = memchr(p, '_', n)) == NULL)
		return;
	printf("Client ID: ");
	out_sanitize(stdout, p, (size_t)(sep - p));
	printf("\nClient Secret: ");
	out_sanitize(stdout, sep + 1, n - (size_t)(sep - p) - 1);
	printf("\nCopy the secret now: it will not be shown again.\n\n");
}

/*
 * A client, optionally on behalf of USERNAME. --json: {info: TOKEN,
 * token: "ID_SECRET"}
 */
int
cmd_clients_add(struct acctc *a, int argc, char **argv)
{
	struct acctc_token_opts o;
	struct proto_reply rep;
	const msgpack_object *token;
	int rc;

	if ((rc = acctc_token_args(a, argc, argv, &o, false)) >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	rc = acctc_token_add(a, "client", &o, optind < argc ? argv[optind] :
	    NULL, &rep);
	token = rc == ACCTC_EXIT_OK ? proto_map_get(rep.result, "token") :
	    NULL;
	if (rc == ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		print_credentials(token);
		acctc_token_print(proto_map_get(rep.result, "info"));
	}
	acctc_flush_secret();
	acctc_wipe_str(token);
	proto_reply_free(&rep);
	return rc;
}

/* --json: {tokens: [TOKEN...]} */
int
cmd_clients_ls(struct acctc *a, int argc, char **argv)
{
	return acctc_token_list(a, argc, argv, "client", client_columns,
	    NELEM(client_columns));
}

/* --json: {token: TOKEN} */
int
cmd_clients_show(struct acctc *a, int argc, char **argv)
{
	struct proto_reply rep;
	char *id;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "ID", &id)) >= 0)
		return rc;
	if ((rc = acctc_token_show(a, id, "client", &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep))
		acctc_token_print(proto_map_get(rep.result, "token"));
	proto_reply_free(&rep);
	return rc;
}

/* Only clients: a session id given here by mistake is left alone. */
int
cmd_clients_rm(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	char *id;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "ID", &id)) >= 0)
		return rc;
	rc = acctc_token_show(a, id, "client", &rep);
	proto_reply_free(&rep);
	if (rc != ACCTC_EXIT_OK)
		return rc;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_ID, id);
	if ((rc = acctc_call(a, OP_TOKEN_REVOKE, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		printf("Revoked client ");
		out_str(stdout, proto_map_get(rep.result, "id"));
		printf(".\n");
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
