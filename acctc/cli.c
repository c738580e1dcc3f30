/*
 * cli.c: what every command shares: the daemon connection, the common
 * options, usage messages, and the mapping of failures to exit status.
 */
#include <sys/ioctl.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "acctc.h"

static char stdout_buf[BUFSIZ];
/* The run, for the failures reported without it (acctc_refused). */
static const struct acctc *run;

void
acctc_init(struct acctc *a)
{
	const char *env = getenv("ACCTC_SOCKET");

	memset(a, 0, sizeof(*a));
	run = a;
	a->socket = (env != NULL && *env != '\0') ? env : ACCT_DEFAULT_SOCKET;
	a->limit = a->offset = -1;
	/* The buffering stdio would choose, in a buffer we can wipe. */
	setvbuf(stdout, stdout_buf, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF,
	    sizeof(stdout_buf));
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
 * A failure: its message on stderr, with --json as one line of
 * {"error": {"code", "name", "message"}}, the code's stable name too;
 * stdout holds results only.
 */
static int
fail(int code, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail(int code, int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (run == NULL || !run->json) {
		acctc_warnx("%s", msg);
		return status;
	}
	fflush(stdout);
	fprintf(stderr, "{\"error\":{\"code\":%d,\"name\":", code);
	out_json_string(stderr, acct_errname(code), strlen(acct_errname(code)));
	fputs(",\"message\":", stderr);
	out_json_string(stderr, msg, strlen(msg));
	fputs("}}\n", stderr);
	return status;
}

/*
 * ACCTC_SERVER_UID: the uid besides root that may serve the socket (a
 * daemon run by hand for tests); 0 when unset. -1 to go on, else exit 2.
 */
static int
server_uid(uid_t *uid)
{
	const char *env = getenv("ACCTC_SERVER_UID"), *err;

	*uid = 0;
	if (env == NULL || *env == '\0')
		return -1;
	*uid = (uid_t)strtonum(env, 0, UINT32_MAX - 1, &err);
	if (err != NULL) {
		acctc_warnx("ACCTC_SERVER_UID is %s: %s (a numeric uid)", err,
		    env);
		return ACCTC_EXIT_USAGE;
	}
	return -1;
}

/*
 * Connect now rather than at the first request, so that commands which
 * prompt can fail before asking for a password nobody will check.
 */
int
acctc_connect(struct acctc *a)
{
	uid_t want, found;
	int rc;

	if (a->conn != NULL)
		return ACCTC_EXIT_OK;
	if ((rc = server_uid(&want)) != -1)
		return rc;
	if ((rc = acct_conn_open(a->socket, want, &found, &a->conn)) ==
	    ACCT_OK)
		return ACCTC_EXIT_OK;
	if (rc == ACCT_ERR_CONNECT)
		return fail(rc, ACCTC_EXIT_CONNECT, "cannot connect to %s: %s",
		    a->socket, strerror(errno));
	if (rc == ACCT_ERR_UNTRUSTED) {
		if (found == (uid_t)-1)
			return fail(rc, ACCTC_EXIT_CONNECT, "%s: cannot tell "
			    "which uid serves it: nothing sent", a->socket);
		return fail(rc, ACCTC_EXIT_CONNECT, "%s is served by uid %u, "
		    "not root: nothing sent (if that is the acctd you mean, "
		    "set ACCTC_SERVER_UID=%u)", a->socket, (unsigned)found,
		    (unsigned)found);
	}
	return fail(rc, ACCTC_EXIT_FAIL, "%s", acct_strerror(rc));
}

/* A failure on our side of the socket: say what and pick the exit. */
static int
local_error(const struct acctc *a, int code)
{
	switch (code) {
	case ACCT_ERR_IO:
		return fail(code, ACCTC_EXIT_CONNECT, "connection to %s lost",
		    a->socket);
	case ACCT_ERR_PROTOCOL:
		return fail(code, ACCTC_EXIT_FAIL, "malformed reply from acctd");
	case ACCT_ERR_INVALID:
		return fail(code, ACCTC_EXIT_FAIL, "request too large");
	default:
		return fail(code, ACCTC_EXIT_FAIL, "%s", acct_strerror(code));
	}
}

/*
 * Send one request. ACCTC_EXIT_OK means a reply arrived: rep->code says
 * whether the daemon did it. Local failures are reported here and give
 * their exit status. rep is always safe to free.
 */
static int
request(struct acctc *a, enum proto_op op, struct proto_msg *args,
    int passfd, struct proto_reply *rep)
{
	int rc;

	memset(rep, 0, sizeof(*rep));
	msgpack_unpacked_init(&rep->un);
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		return rc;
	if ((rc = acct_conn_call_fd(a->conn, op, args, passfd, rep)) !=
	    ACCT_OK)
		return local_error(a, rc);
	return ACCTC_EXIT_OK;
}

/* Who gives a class: the group the daemon named, sanitized, "group N"
 * for a gid without a name, or where to look. */
static void
group_words(const msgpack_object *err, const char *key, const char *dflt,
    char *buf, size_t bufsz)
{
	const msgpack_object *o = proto_map_get(err, key);
	char *g = o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size > 0 ? out_text(o, OUT_STR) : NULL;

	if (g == NULL)
		strlcpy(buf, dflt, bufsz);
	else
		snprintf(buf, bufsz, "%s%s", strspn(g, "0123456789") ==
		    strlen(g) ? "group " : "", g);
	free(g);
}

/*
 * A refusal of the dispatch table, in the words of the command typed:
 * who may, and how to become one. false when the daemon did not say
 * who may (an older one, or a refusal of another kind).
 */
static bool
refusal(const struct proto_reply *rep, char *buf, size_t bufsz)
{
	const msgpack_object *n = proto_map_get(rep->error, "needs");
	const char *cmd = run != NULL && run->cmd != NULL ? run->cmd->name :
	    "this command";
	char admin[300], auth[300], how[700];
	int needs = -1;

	for (int i = 1; n != NULL && n->type == MSGPACK_OBJECT_STR &&
	    i < PROTO_NEEDS__COUNT; i++)
		if (n->via.str.size == strlen(proto_needs[i]) &&
		    memcmp(n->via.str.ptr, proto_needs[i], n->via.str.size) == 0)
			needs = i;
	if (rep->code != ACCT_ERR_DENIED || needs == -1)
		return false;
	group_words(rep->error, "admin_group", "the admin group (admin_group "
	    "in acctd.conf)", admin, sizeof(admin));
	group_words(rep->error, "auth_group", "the authenticator group "
	    "(auth_group in acctd.conf)", auth, sizeof(auth));
	snprintf(how, sizeof(how), "run it as root or as a member of %s%s%s",
	    admin, needs == PROTO_NEEDS_AUTH ? " or of " : "",
	    needs == PROTO_NEEDS_AUTH ? auth : "");
	switch (needs) {
	case PROTO_NEEDS_AUTH:
		snprintf(buf, bufsz, "%s needs an admin or an authenticator: "
		    "%s", cmd, how);
		break;
	case PROTO_NEEDS_SELF:
		snprintf(buf, bufsz, "%s on an account not your own (named "
		    "like your login name) needs an admin: %s", cmd, how);
		break;
	case PROTO_NEEDS_ACCOUNT:
		snprintf(buf, bufsz, "%s needs an account named like your "
		    "login name, or an admin: %s", cmd, how);
		break;
	default:
		snprintf(buf, bufsz, "%s needs an admin: %s", cmd, how);
	}
	return true;
}

/* Print the daemon's refusal; its message was sanitized by proto/. */
int
acctc_refused(const struct proto_reply *rep)
{
	char msg[1024];

	if (refusal(rep, msg, sizeof(msg)))
		return fail(rep->code, ACCTC_EXIT_FAIL, "permission denied: "
		    "%s", msg);
	return fail(rep->code, ACCTC_EXIT_FAIL, "%s", rep->message[0] !=
	    '\0' ? rep->message : acct_strerror(rep->code));
}

/*
 * Send one request and report any failure, except a daemon error with
 * the code quiet, which the caller handles: that gives ACCTC_EXIT_OK
 * with rep->code set, and nothing is printed.
 */
int
acctc_call_quiet(struct acctc *a, enum proto_op op, struct proto_msg *args,
    struct proto_reply *rep, int quiet)
{
	int rc;

	if ((rc = request(a, op, args, -1, rep)) != ACCTC_EXIT_OK)
		return rc;
	if (rep->code != ACCT_OK && rep->code != quiet)
		return acctc_refused(rep);
	return ACCTC_EXIT_OK;
}

/* acctc_call(), with a descriptor of ours for the daemon to write to. */
int
acctc_call_fd(struct acctc *a, enum proto_op op, struct proto_msg *args,
    int fd, struct proto_reply *rep)
{
	int rc;

	if ((rc = request(a, op, args, fd, rep)) != ACCTC_EXIT_OK)
		return rc;
	return rep->code != ACCT_OK ? acctc_refused(rep) : ACCTC_EXIT_OK;
}

/* Send one request; any failure is reported and gives the exit status. */
int
acctc_call(struct acctc *a, enum proto_op op, struct proto_msg *args,
    struct proto_reply *rep)
{
	return acctc_call_quiet(a, op, args, rep, ACCT_OK);
}

/* A result's error name (mail_error) is that of code. */
bool
acctc_errname_is(const msgpack_object *o, int code)
{
	const char *name = acct_errname(code);

	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(name) &&
	    memcmp(o->via.str.ptr, name, o->via.str.size) == 0;
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
	if (full)
		fputs("Flags of every command:\n" ACCTC_COMMON_HELP, f);
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
		case ACCTC_OPT_LOCAL:
			out_local_time(true);
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

/* ---- argument helpers shared by the commands ---- */

/* A number from the command line, 0 to max. -1 to go on, else exit 2. */
int
acctc_number(struct acctc *a, const char *what, const char *s,
    long long max, int64_t *out)
{
	const char *err;

	*out = strtonum(s, 0, max, &err);
	if (err != NULL)
		return acctc_usage(a, "%s is %s: %s", what, err, s);
	return -1;
}

/*
 * --expires DURATION: seconds, or a number with one of the units s, m,
 * h, d, w; "never" or 0 is no expiry (*out = 0). The daemon has the
 * last word on the maximum. -1 to go on, else exit 2.
 */
int
acctc_duration(struct acctc *a, const char *s, int64_t *out)
{
	static const struct {
		char	 unit;
		int64_t	 secs;
	} units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	const char *p = s;
	int64_t n = 0, mult = 1;
	size_t i;

	*out = 0;
	if (strcmp(s, "never") == 0)
		return -1;
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - 9) / 10)
			goto big;
		n = n * 10 + (*p - '0');
	}
	if (*p != '\0') {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (units[i].unit == *p)
				break;
		if (i == sizeof(units) / sizeof(units[0]) || p[1] != '\0')
			goto bad;
		mult = units[i].secs;
	}
	if (n > INT64_MAX / mult)
		goto big;
	*out = n * mult;
	return -1;
big:
	return acctc_usage(a, "DURATION is too large: %s", s);
bad:
	return acctc_usage(a, "DURATION is invalid: %s (seconds, or a number "
	    "followed by s, m, h, d or w; 0 or never for no expiry)", s);
}

/* -m, -c, -t: note the format. False if ch is not one of them. */
static bool
acctc_format_opt(struct acctc *a, int ch)
{
	switch (ch) {
	case 'm':
		a->format = OUT_FMT_MD;
		break;
	case 'c':
		a->format = OUT_FMT_CSV;
		break;
	case 't':
		a->format = OUT_FMT_TSV;
		break;
	default:
		return false;
	}
	a->formats |= 1u << a->format;
	return true;
}

/* After the options: one format at most. -1 to go on, else exit 2. */
int
acctc_format_check(struct acctc *a)
{
	if ((a->formats & (a->formats - 1)) != 0)
		return acctc_usage(a, "--md, --csv and --tsv exclude each "
		    "other");
	if (a->formats != 0 && a->json)
		return acctc_usage(a, "--json excludes --md, --csv and --tsv");
	if (a->no_header && (a->format == OUT_FMT_MD || a->json))
		return acctc_usage(a, "--no-header is for tables, CSV and TSV");
	return -1;
}

bool
acctc_list_opt(struct acctc *a, int ch, const char *arg, int *bad)
{
	int rc = -1;

	if (acctc_format_opt(a, ch))
		return true;
	switch (ch) {
	case 'n':
		rc = acctc_number(a, "LIMIT", arg, 10000, &a->limit);
		break;
	case ACCTC_OPT_OFFSET:
		rc = acctc_number(a, "OFFSET", arg, INT32_MAX, &a->offset);
		break;
	case ACCTC_OPT_NO_HEADER:
		a->no_header = true;
		break;
	default:
		return false;
	}
	if (*bad < 0)
		*bad = rc;
	return true;
}

void
acctc_list_pack(const struct acctc *a, struct proto_msg *args)
{
	if (a->limit >= 0)
		proto_kv_int_f(args, F_LIMIT, a->limit);
	if (a->offset >= 0)
		proto_kv_int_f(args, F_OFFSET, a->offset);
}

/* The terminal's width when stdout is one (else 0: nothing is cut):
 * its window size, or $COLUMNS, or 80. */
static size_t
terminal_width(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS"), *err;
	long long n;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env != NULL && (n = strtonum(env, 1, 10000, &err)) > 0 &&
	    err == NULL)
		return (size_t)n;
	return 80;
}

/* Rows of a list command, in the format asked for; a table for a
 * terminal fits its width, long cells cut with an ellipsis. */
int
acctc_print_rows(const struct acctc *a, const msgpack_object *rows,
    const struct out_field *cols, size_t ncols)
{
	struct out_opts o = { .fmt = a->format, .header = !a->no_header,
	    .width = a->format == OUT_FMT_TABLE ? terminal_width() : 0 };

	if (out_rows(stdout, &o, rows, cols, ncols) == -1) {
		acctc_warnx("out of memory");
		return ACCTC_EXIT_FAIL;
	}
	return ACCTC_EXIT_OK;
}

/* A word of the command line as the shell would need it typed. */
static void
shell_word(FILE *f, const char *w)
{
	if (*w != '\0' && strspn(w, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@%+=:,-") == strlen(w)) {
		out_sanitize(f, w, strlen(w));
		return;
	}
	putc('\'', f);
	for (; *w != '\0'; w++) {
		if (*w == '\'')
			fputs("'\\''", f);
		else
			out_sanitize(f, w, 1);
	}
	putc('\'', f);
}

/* --offset N and --offset=N: the hint puts its own. */
static int
offset_words(char **w, int i, int n)
{
	if (strcmp(w[i], "--offset") == 0)
		return i + 1 < n ? 2 : 1;
	return strncmp(w[i], "--offset=", 9) == 0 ? 1 : 0;
}

/*
 * The command of the next page: the line as typed, with --offset N
 * last among the options (before a "--"), where it overrides any other.
 */
static void
next_command(FILE *f, const struct acctc *a, int64_t offset)
{
	char **w = a->line_argv;
	int n = a->line_argc, i = 0, k;
	bool done = false;

	fputs("acctc", f);
	for (; i < n; i++) {
		if (!done && strcmp(w[i], "--") == 0) {
			fprintf(f, " --offset %lld", (long long)offset);
			done = true;
		}
		if (!done && (k = offset_words(w, i, n)) > 0) {
			i += k - 1;
			continue;
		}
		putc(' ', f);
		shell_word(f, w[i]);
	}
	if (!done)
		fprintf(f, " --offset %lld", (long long)offset);
}

int
acctc_print_page(const struct acctc *a, const msgpack_object *result,
    const char *key, const char *what, const struct out_field *cols,
    size_t ncols)
{
	const msgpack_object *rows = proto_map_get(result, key);
	const msgpack_object *total = proto_map_get(result, "total");
	int64_t first = a->offset > 0 ? a->offset : 0, shown, all, last;
	int rc;

	if ((rc = acctc_print_rows(a, rows, cols, ncols)) != ACCTC_EXIT_OK ||
	    rows == NULL || rows->type != MSGPACK_OBJECT_ARRAY ||
	    total == NULL || total->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return rc;
	shown = rows->via.array.size;
	all = (int64_t)total->via.u64;
	fflush(stdout);
	if (shown == 0 && first > 0 && all > 0)
		fprintf(stderr, "acctc: no %s past the first %lld (--offset "
		    "%lld)\n", what, (long long)all, (long long)first);
	if (shown == 0 || first + shown >= all)
		return rc;
	last = first + shown;
	fprintf(stderr, "acctc: showing %lld-%lld of %lld %s; next page: ",
	    (long long)first + 1, (long long)last, (long long)all, what);
	next_command(stderr, a, last);
	fputc('\n', stderr);
	return rc;
}

/*
 * Commands that take exactly one argument (what names it in messages)
 * and no options of their own. -1 to go on, else the exit status.
 */
int
acctc_one_arg(struct acctc *a, int argc, char **argv, const char *what,
    char **arg)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	int rc;

	while (acctc_getopt(a, argc, argv, "", none, &rc) != -1)
		;
	if (rc >= 0)
		return rc;
	if (optind >= argc)
		return acctc_usage(a, "%s missing", what);
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	*arg = argv[optind];
	return -1;
}

/*
 * users reset, audit reset, auth reset: nothing happens without --yes
 * (exit 2, saying why); then "<verb> N <what>." --json: {removed: int}
 */
int
acctc_reset(struct acctc *a, int argc, char **argv, enum proto_op op,
    const char *why, const char *verb, const char *what)
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
		return acctc_usage(a, "--yes is required: %s", why);
	proto_msg_init(&args);
	proto_kv_bool_f(&args, F_CONFIRM, true);
	if ((rc = acctc_call(a, op, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		printf("%s ", verb);
		out_str(stdout, proto_map_get(rep.result, "removed"));
		printf(" %s.\n", what);
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* ---- secrets ---- */

/*
 * A secret given as an argument (a token): copy it to buf and wipe the
 * argument at once, so it leaves the process's command line. "-" means
 * "read it later" (prompt_secret()): returns 1. 0 when copied, -1 when
 * too long (reported).
 */
int
acctc_secret_arg(char *arg, char *buf, size_t bufsz)
{
	size_t n = strlen(arg);

	buf[0] = '\0';
	if (strcmp(arg, "-") == 0)
		return 1;
	if (n >= bufsz) {
		explicit_bzero(arg, n);
		acctc_warnx("token too long");
		return -1;
	}
	memcpy(buf, arg, n + 1);
	explicit_bzero(arg, n);
	return 0;
}

/*
 * Wipe a secret string of a reply (a new token) in place: its bytes
 * are those of the reply buffer, which proto_reply_free() only frees.
 */
void
acctc_wipe_str(const msgpack_object *o)
{
	if (o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0)
		explicit_bzero((void *)(uintptr_t)o->via.str.ptr,
		    o->via.str.size);
}

/*
 * stdout's buffer is ours (acctc_init()), so that a secret printed
 * once does not stay behind in it: flush, then wipe.
 */
void
acctc_flush_secret(void)
{
	fflush(stdout);
	explicit_bzero(stdout_buf, sizeof(stdout_buf));
}

/*
 * The options of a list command (ACCTC_LIST_LONGOPTS), then at most one
 * operand, left at optind. Returns -1 to go on, else the exit status.
 */
int
acctc_list_args(struct acctc *a, int argc, char **argv)
{
	static const struct option lopts[] = {
		ACCTC_LIST_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int ch, rc, bad = -1;

	/* Parse to the end even after a bad number: getopt keeps state. */
	while ((ch = acctc_getopt(a, argc, argv, ACCTC_LIST_SHORTOPTS, lopts,
	    &rc)) != -1)
		(void)acctc_list_opt(a, ch, optarg, &bad);
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if ((rc = acctc_format_check(a)) >= 0)
		return rc;
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	return -1;
}
