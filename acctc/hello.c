/*
 * hello.c: `acctc hello`: which daemon answers, and who it takes the
 * caller to be (uid, login name, classes).
 */
#include <getopt.h>
#include <stdio.h>

#include "acctc.h"

static const struct out_field hello_fields[] = {
	{ "server",	"Server",	OUT_STR },
	{ "version",	"Version",	OUT_STR },
	{ "protocol",	"Protocol",	OUT_INT },
	{ "uid",	"UID",		OUT_INT },
	{ "gid",	"GID",		OUT_INT },
	{ "pid",	"PID",		OUT_INT },
	{ "username",	"Username",	OUT_STR },
	{ "classes",	"Classes",	OUT_LIST },
};

/* --json: {server, version, protocol, uid, gid, pid, username, classes} */
int
cmd_hello(struct acctc *a, int argc, char **argv)
{
	static const struct option lopts[] = { { NULL, 0, NULL, 0 } };
	struct proto_reply rep;
	int rc;

	while (acctc_getopt(a, argc, argv, "", lopts, &rc) != -1)
		;
	if (rc >= 0)
		return rc;
	if (optind != argc)
		return acctc_usage(a, "too many arguments");
	if ((rc = acctc_call(a, OP_HELLO, NULL, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep))
		out_show(stdout, rep.result, hello_fields,
		    sizeof(hello_fields) / sizeof(hello_fields[0]));
	proto_reply_free(&rep);
	return rc;
}
