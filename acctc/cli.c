/*
 * cli.c: what every command shares: the daemon connection, the common
 * options, usage messages, and the mapping of failures to exit status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctc.h"

void
acctc_init(struct acctc *a)
{
	const char *env = getenv("ACCTC_SOCKET");

	memset(a, 0, sizeof(*a));
	a->socket = (env != NULL && *env != '\0') ? env : ACCT_DEFAULT_SOCKET;
}

void
acctc_close(struct acctc *a)
{
	acct_conn_close(a->conn);
	a->conn = NULL;
}

void
acctc_warnx(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("acctc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Connect now rather than at the first request, so that commands which
 * prompt can fail before asking for a password nobody will check.
 */
int
acctc_connect(struct acctc *a)
{
	int rc;

	if (a->conn != NULL)
		return ACCTC_EXIT_OK;
	if ((rc = acct_conn_open(a->socket, &a->conn)) == ACCT_OK)
		return ACCTC_EXIT_OK;
	if (rc == ACCT_ERR_CONNECT) {
		acctc_warnx("cannot connect to %s: %s", a->socket,
		    strerror(errno));
		return ACCTC_EXIT_CONNECT;
	}
	acctc_warnx("%s", acct_strerror(rc));
	return ACCTC_EXIT_FAIL;
}

/* A failure on our side of the socket: say what and pick the exit. */
static int
local_error(const struct acctc *a, int code)
{
	switch (code) {
	case ACCT_ERR_IO:
		acctc_warnx("connection to %s lost", a->socket);
		return ACCTC_EXIT_CONNECT;
	case ACCT_ERR_PROTOCOL:
		acctc_warnx("malformed reply from acctd");
		return ACCTC_EXIT_FAIL;
	case ACCT_ERR_INVALID:
		acctc_warnx("request too large");
		return ACCTC_EXIT_FAIL;
	default:
		acctc_warnx("%s", acct_strerror(code));
		return ACCTC_EXIT_FAIL;
	}
}

/*
 * Send one request. ACCTC_EXIT_OK means a reply arrived: rep->code says
 * whether the daemon did it. Local failures are reported here and give
 * their exit status. rep is always safe to free.
 */
static int
request(struct acctc *a, const char *op, struct proto_msg *args,
    struct proto_reply *rep)
{
	int rc;

	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		return rc;
	if ((rc = acct_conn_call(a->conn, op, args, rep)) != ACCT_OK)
		return local_error(a, rc);
	return ACCTC_EXIT_OK;
}

/* Print the daemon's refusal; its message was sanitized by proto/. */
int
acctc_refused(const struct proto_reply *rep)
{
	acctc_warnx("%s", rep->message[0] != '\0' ? rep->message :
	    acct_strerror(rep->code));
	return ACCTC_EXIT_FAIL;
}

/*
 * Send one request and report any failure, except a daemon error with
 * the code quiet, which the caller handles: that gives ACCTC_EXIT_OK
 * with rep->code set, and nothing is printed.
 */
int
acctc_call_quiet(struct acctc *a, const char *op, struct proto_msg *args,
    struct proto_reply *rep, int quiet)
{
	int rc;

	if ((rc = request(a, op, args, rep)) != ACCTC_EXIT_OK)
		return rc;
	if (rep->code != ACCT_OK && rep->code != quiet)
		return acctc_refused(rep);
	return ACCTC_EXIT_OK;
}

/* Send one request; any failure is reported and gives the exit status. */
int
acctc_call(struct acctc *a, const char *op, struct proto_msg *args,
    struct proto_reply *rep)
{
	return acctc_call_quiet(a, op, args, rep, ACCT_OK);
}

/* With --json, print the result map and say so. */
bool
acctc_json(const struct acctc *a, const struct proto_reply *rep)
{
	if (!a->json)
		return false;
	out_json(stdout, rep->result);
	putchar('\n');
	return true;
}

void
acctc_print_usage(FILE *f, const struct acctc_cmd *cmd, bool full)
{
	fprintf(f, "usage: acctc [--socket PATH] [--json] %s%s%s\n",
	    cmd->name, *cmd->args ? " " : "", cmd->args);
	if (full && cmd->help != NULL)
		fputs(cmd->help, f);
}

/* A usage error: say why, show the synopsis, exit 2. */
int
acctc_usage(const struct acctc *a, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (fmt != NULL) {
		fprintf(stderr, "acctc: %s: ", a->cmd->name);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	acctc_print_usage(stderr, a->cmd, false);
	return ACCTC_EXIT_USAGE;
}

/*
 * getopt_long() for a command, with --help, --json and --socket added.
 * Returns the command's next option, or -1 when they are done: then
 * *ret is -1 to go on, or the exit status to return at once.
 */
int
acctc_getopt(struct acctc *a, int argc, char **argv, const char *shortopts,
    const struct option *longopts, int *ret)
{
	static const struct option common[] = { ACCTC_COMMON_LONGOPTS };
	struct option all[64];
	char sopts[64];
	size_t n = 0;
	int ch;

	*ret = -1;
	for (const struct option *o = longopts; o && o->name; o++)
		if (n < sizeof(all) / sizeof(all[0]) - 4)
			all[n++] = *o;
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		all[n++] = common[i];
	memset(&all[n], 0, sizeof(all[n]));
	/* Leading ':' is not used: getopt's own messages are fine. */
	snprintf(sopts, sizeof(sopts), "%sh", shortopts);
	if (!a->in_getopt) {
		optind = 0;	/* glibc: start over, a new argv */
		a->in_getopt = true;
	}
	for (;;) {
		ch = getopt_long(argc, argv, sopts, all, NULL);
		switch (ch) {
		case ACCTC_OPT_JSON:
			a->json = true;
			continue;
		case ACCTC_OPT_SOCKET:
			a->socket = optarg;
			continue;
		case 'h':
			acctc_print_usage(stdout, a->cmd, true);
			*ret = ACCTC_EXIT_OK;
			break;
		case '?':
		case ':':
			*ret = acctc_usage(a, NULL);
			break;
		case -1:
			break;
		default:
			return ch;
		}
		a->in_getopt = false;
		return -1;
	}
}
