/*
 * acctc.c: main(): the global options, the table of commands, and
 * finding the command named on the command line.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctc.h"

#define TOKEN_FLAGS \
"  -n, --name NAME          a name to tell it by (default: none)\n" \
"  -s, --scope SCOPE        services it is good for, space separated\n" \
"                           (default: *, all of them)\n" \
"  -e, --expires DURATION   lifetime: seconds, or a number followed by\n" \
"                           s, m, h, d or w (30d); 0 or never: no expiry\n" \
"                           (default: never)\n"

#define LIST_SYNOPSIS	"[-n LIMIT] [--offset N] [flags]"

/* Continuation lines of the help, aligned under a flag's text. */
#define MORE	"                           "

/*
 * The flags users add and users mod share. D(x) is what a flag's help
 * says of its default x: users add's new account takes it; users mod
 * leaves what a flag does not name as it is, which its help says once.
 */
#define ACCOUNT_FLAGS(D) \
"  -n, --name NAME          display name\n" D("none") \
"  -m, --email EMAIL        email address (\"\" removes it)\n" D("none") \
"  -p, --password PASSWORD  password (others see it in ps: prefer the\n" \
MORE "prompt or --password-stdin)\n" D("asked on a terminal, else none") \
"      --password-stdin     read the password from a line of stdin\n" \
"  -r, --role ROLE          admin, user, viewer or guest\n" D("user") \
"  -A, --auth PROVIDER      default, local, oidc or none\n" \
D("\"default\"") \
"      --auth-id ID         identifier at the provider (OIDC subject)\n" \
D("none") \
"  -s, --superadmin         make a super admin (--no-superadmin undoes)\n" \
D("no") \
"  -l, --no-login           disallow login (--login allows it)\n" \
D("allowed") \
"  -w, --webdav             allow WebDAV (--no-webdav disallows it)\n" \
D("disallowed") \
"  -u, --upload-path PATH   upload path\n" D("none") \
"      --expires DATE       no login from DATE (YYYY-MM-DD, UTC) on;\n" \
MORE "never for none\n" D("never") \
"      --password-max-age DAYS\n" \
MORE "the password must be changed when older;\n" \
MORE "never, or default (password_max_age_days)\n" \
D("\"default\"") \
"      --must-change        the next login must change the password\n" \
MORE "(--no-must-change undoes)\n" D("no") \
"      --disable-2fa        turn two-factor authentication off\n"
#define ADD_DEFAULT(x)	MORE "(default: " x ")\n"
#define MOD_DEFAULT(x)	""

static const struct acctc_cmd cmds[] = {
	{ "hello", cmd_hello, "",
	  "Show the daemon's version and who it takes you to be.\n" },
	{ "users ls", cmd_users_ls,
	  LIST_SYNOPSIS " [SEARCH]",
	  "List accounts whose username, name or email contains SEARCH.\n"
	  ACCTC_LIST_HELP("accounts", "1000")
	  "      --locked             only those locked by failed logins\n"
	  "      --pending            only those waiting for activation\n"
	  "      --disabled           only those with login disallowed\n"
	  "      --deleted            only deleted ones, with their IDs\n"
	  MORE "(default: every account not deleted)\n" },
	{ "users show", cmd_users_show, "USERNAME",
	  "Show every property of an account.\n" },
	{ "users add", cmd_users_add, "[flags] USERNAME",
	  "Create an account; a deleted one of that name may be restored.\n"
	  "Without a password flag a terminal is asked for one.\n"
	  ACCOUNT_FLAGS(ADD_DEFAULT)
	  MORE "(default: off, as for any new account; a\n"
	  MORE "restored one loses its two-factor secret)\n"
	  "      --restore [ID]       restore the deleted account of that name\n"
	  MORE "(of several, the one with ID: see users\n"
	  MORE "ls --deleted)\n"
	  "      --no-restore         create a new account even so\n"
	  MORE "(default: ask on a terminal, else fail)\n"
	  "      --activate           pending until the user follows a mailed\n"
	  MORE "activation link (needs --email)\n"
	  MORE "(default: activated now)\n" },
	{ "users mod", cmd_users_mod, "[flags] USERNAME",
	  "Change properties of an account: only those the flags name, the\n"
	  "others stay as they are (the default of every flag).\n"
	  ACCOUNT_FLAGS(MOD_DEFAULT)
	  "      --unlock             clear failed logins and the lock\n" },
	{ "users rm", cmd_users_rm, "[--purge [--id ID]] USERNAME",
	  "Delete an account (it can be restored with users add).\n"
	  "      --purge              erase it for good, with its tokens and\n"
	  MORE "two-factor secrets; a deleted one too\n"
	  MORE "(default: a soft delete, undone by restoring)\n"
	  "      --id ID              of several deleted accounts of the name,\n"
	  MORE "the one to purge (see users ls --deleted)\n"
	  MORE "(default: the only one)\n" },
	{ "users reset", cmd_users_reset, "--yes",
	  "Delete every account and reset the database.\n"
	  "  -y, --yes                really do it (default: no, do nothing)\n" },
	{ "users reset-password", cmd_users_reset_password, "USERNAME",
	  "Mail the account a link to choose a new password (a pending\n"
	  "account gets its activation link again).\n" },
	{ "users legacy", cmd_users_legacy, LIST_SYNOPSIS " [SEARCH]",
	  "List accounts whose password hash is of another scheme or older\n"
	  "parameters (imported): their next login upgrades it.\n"
	  ACCTC_LIST_HELP("accounts", "1000") },
	{ "users import", cmd_users_import,
	  "[--dry-run] [--from-line N] FILE|-",
	  "Create accounts with password hashes made elsewhere (bcrypt,\n"
	  "sha512-crypt, yescrypt, Argon2) from CSV (header line\n"
	  "username,name,email,role,hash) or user:hash lines (htpasswd,\n"
	  "/etc/shadow with its aging fields). FILE (- for standard input)\n"
	  "may be of any size. Bad lines are skipped and listed; the others\n"
	  "are imported.\n"
	  "      --dry-run            check every line, write nothing\n"
	  MORE "(default: import)\n"
	  "      --from-line N        go on from line N of a stopped import\n"
	  MORE "(default: 1)\n" },
	{ "users 2fa enable", cmd_users_2fa_enable,
	  "[--password-stdin] [--code CODE] [USERNAME]",
	  "Turn on two-factor authentication (TOTP) for your account or,\n"
	  "as an admin, USERNAME's: show the secret for the authenticator\n"
	  "app, then ask for its current code and show recovery codes.\n"
	  "      --password-stdin     read the current password (unless you\n"
	  MORE "are an admin) and then the code, one\n"
	  MORE "line each; no code line leaves the\n"
	  MORE "enrolment pending (default: the terminal)\n"
	  "      --code CODE          confirm a pending enrolment with CODE\n"
	  MORE "(default: start one, and ask for the code)\n" },
	{ "users 2fa disable", cmd_users_2fa_disable, "USERNAME",
	  "Turn off two-factor authentication (as users mod --disable-2fa).\n" },
	{ "passwd", cmd_passwd, "[flags] [USERNAME]",
	  "Change a password: your own, or as an admin anyone's; ask for a\n"
	  "reset mail; set a password with a mailed reset or activation\n"
	  "token.\n"
	  "  acctc passwd [--rm] [--password-stdin] [--session TOKEN] "
	  "[USERNAME]\n"
	  "  acctc passwd --forgot EMAIL\n"
	  "  acctc passwd --token TOKEN [--password-stdin]\n"
	  "      --rm                 remove the password\n"
	  "      --password-stdin     read the current password (if needed)\n"
	  MORE "and the new one, one line each (default:\n"
	  MORE "ask on the terminal, the new one twice)\n"
	  "      --session TOKEN      a session token of the account instead\n"
	  MORE "of the current password (SSO accounts)\n"
	  MORE "(default: the current password)\n"
	  "      --forgot EMAIL       mail a reset link to EMAIL's account\n"
	  "      --token TOKEN        set the password with a mailed reset\n"
	  MORE "or activation token\n"
	  "USERNAME defaults to the account named like your login name.\n"
	  "A TOKEN of - is read from standard input (its first line), or\n"
	  "asked for without echo on a terminal: others see arguments in\n"
	  "ps.\n" },
	{ "audit logins", cmd_audit_logins, LIST_SYNOPSIS " [USERNAME]",
	  "Show login attempts: one row per client, username and realm,\n"
	  "newest first.\n"
	  ACCTC_LIST_HELP("rows", "100") },
	{ "audit events", cmd_audit_events, LIST_SYNOPSIS " [SEARCH]",
	  "Show what else the daemon recorded, newest first: mail sent or\n"
	  "failed, passwords changed, accounts created and removed, tokens\n"
	  "issued and revoked...; SEARCH is a part of the event, its subject\n"
	  "or detail.\n"
	  ACCTC_LIST_HELP("events", "100") },
	{ "audit locks", cmd_audit_locks, LIST_SYNOPSIS " | --clear [ID]",
	  "Show the sources the daemon locked (a caller's uid and the address\n"
	  "it reported) and the services it slows down (no address), with\n"
	  "their failures and lock's end; or clear them.\n"
	  ACCTC_LIST_HELP("sources", "1000")
	  "      --clear [ID]         clear source ID, or all of them\n"
	  MORE "(default: list them)\n" },
	{ "db backup", cmd_db_backup, "FILE|-",
	  "Write a consistent copy of the database, taken while the daemon\n"
	  "serves, to FILE (made here, mode 0600; an existing file is not\n"
	  "overwritten) or, for -, to standard output (a pipe or a file).\n"
	  "It holds every password hash: keep it as safe as the database.\n" },
	{ "stats", cmd_stats, "[--openmetrics]",
	  "Show the daemon's counters since it started: requests and their\n"
	  "latency, logins by service and outcome, hashes, locks, mail,\n"
	  "connections, database commits.\n"
	  "      --openmetrics        print them in the OpenMetrics text format\n"
	  MORE "(default: a summary and tables)\n" },
	{ "audit reset", cmd_audit_reset, "--yes",
	  "Clear the audit log.\n"
	  "  -y, --yes                really do it (default: no, do nothing)\n" },
	{ "auth test", cmd_auth_test,
	  "[--password-stdin] [--code CODE] [--service NAME] USERNAME",
	  "Check a password the way a daemon would (audited as a login).\n"
	  "An account with two-factor authentication on is asked for a code.\n"
	  "      --password-stdin     read the password from a line of stdin,\n"
	  MORE "and the code, if one is needed, from\n"
	  MORE "the next (default: the terminal)\n"
	  "      --code CODE          the two-factor code (TOTP or recovery)\n"
	  MORE "(default: asked for when one is needed)\n"
	  "      --service NAME       the service (realm) to log in to\n"
	  MORE "(default: none)\n" },
	{ "auth ls", cmd_auth_ls, LIST_SYNOPSIS " [--type TYPE] [SEARCH]",
	  "List sessions, access tokens, app passwords and clients whose\n"
	  "id, username or name contains SEARCH, newest first.\n"
	  ACCTC_LIST_HELP("tokens", "1000")
	  "      --type TYPE          session, access_token, app_password or\n"
	  MORE "client (default: all of them)\n" },
	{ "auth add", cmd_auth_add,
	  "[--session] [--name APP] [--scope SCOPE] [--expires DURATION] "
	  "USERNAME",
	  "Create an access token, or with --name an app password, or with\n"
	  "--session a session (as an SSO service opens one after its own\n"
	  "sign-in; --name then names it, as a login's service does); the\n"
	  "secret is printed this once.\n"
	  "      --session            a session (expires after the daemon's\n"
	  MORE "session_lifetime unless --expires)\n"
	  MORE "(default: an access token)\n"
	  TOKEN_FLAGS },
	{ "auth show", cmd_auth_show, "ID",
	  "Show a session or token.\n" },
	{ "auth rm", cmd_auth_rm, "ID|TOKEN|-",
	  "Revoke a session or token, by its id or by the token itself\n"
	  "(- reads it from standard input).\n" },
	{ "auth reset", cmd_auth_reset, "--yes",
	  "Revoke every session and token.\n"
	  "  -y, --yes                really do it (default: no, do nothing)\n" },
	{ "clients add", cmd_clients_add,
	  "[--name NAME] [--scope SCOPE] [--expires DURATION] [USERNAME]",
	  "Create OAuth2 client credentials; the secret is printed this\n"
	  "once.\n"
	  TOKEN_FLAGS },
	{ "clients ls", cmd_clients_ls, LIST_SYNOPSIS " [SEARCH]",
	  "List clients whose id, username or name contains SEARCH, newest\n"
	  "first.\n"
	  ACCTC_LIST_HELP("clients", "1000") },
	{ "clients show", cmd_clients_show, "ID",
	  "Show a client.\n" },
	{ "clients rm", cmd_clients_rm, "ID",
	  "Revoke a client's credentials.\n" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	fputs("usage: acctc [--socket PATH] [--json] [--local] COMMAND [ARGS]\n"
	    "       acctc --help | --version\n"
	    "commands:\n", f);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %s%s%s\n", cmds[i].name, *cmds[i].args ? " " : "",
		    cmds[i].args);
	fputs("COMMAND --help describes a command. The socket is "
	    "$ACCTC_SOCKET or " ACCT_DEFAULT_SOCKET ".\n", f);
}

/* Words of argv that spell a command's name; 0 if they do not. */
static int
match(const char *name, int argc, char **argv)
{
	int n = 0;

	while (*name != '\0') {
		size_t len = strcspn(name, " ");

		if (n >= argc || strlen(argv[n]) != len ||
		    strncmp(argv[n], name, len) != 0)
			return 0;
		n++;
		name += len;
		name += strspn(name, " ");
	}
	return n;
}

/* Whether the command's name begins with the words of group. */
static bool
in_group(const struct acctc_cmd *cmd, const char *group)
{
	size_t len = strlen(group);

	return strncmp(cmd->name, group, len) == 0 && cmd->name[len] == ' ';
}

/*
 * The longest run of argv's first words (up to max) that begins the
 * names of commands without being one, as "users 2fa": into group,
 * its number of words; 0 if the first word begins none.
 */
static int
find_group(int argc, char **argv, char *group, size_t groupsz)
{
	for (int n = argc < 3 ? argc : 3; n > 0; n--) {
		size_t o = 0;

		group[0] = '\0';
		for (int i = 0; i < n && o < groupsz; i++)
			o += (size_t)snprintf(group + o, groupsz - o, "%s%s",
			    i > 0 ? " " : "", argv[i]);
		if (o >= groupsz)
			continue;
		for (size_t i = 0; i < NCMDS; i++)
			if (in_group(&cmds[i], group))
				return n;
	}
	return 0;
}

/* A command's description: its help up to the first indented line. */
static void
print_summary(FILE *f, const char *help)
{
	for (const char *l = help; l != NULL && *l != '\0' && *l != ' ';) {
		size_t n = strcspn(l, "\n");

		fprintf(f, "      %.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

/*
 * The commands of a group. Not full (after a usage error): their
 * synopses. Full (--help): each with what it does, and the flags all
 * of them take.
 */
static void
group_usage(FILE *f, const char *group, bool full)
{
	if (full)
		fprintf(f, "usage: acctc [--socket PATH] [--json] %s COMMAND "
		    "[ARGS]\ncommands:\n", group);
	for (size_t i = 0; i < NCMDS; i++) {
		if (!in_group(&cmds[i], group))
			continue;
		if (!full) {
			acctc_print_usage(f, &cmds[i], false);
			continue;
		}
		fprintf(f, "  %s%s%s\n", cmds[i].name, *cmds[i].args ? " " :
		    "", cmds[i].args);
		print_summary(f, cmds[i].help);
	}
	if (full)
		fprintf(f, "Flags of every command:\n" ACCTC_COMMON_HELP
		    "'acctc %s COMMAND --help' describes a command and its "
		    "flags.\n", group);
}

static bool
is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static int
dispatch(struct acctc *a, int argc, char **argv)
{
	static char prog[64];
	char group[128];
	int n;

	for (size_t i = 0; i < NCMDS; i++) {
		if ((n = match(cmds[i].name, argc, argv)) == 0)
			continue;
		a->cmd = &cmds[i];
		/* getopt names the command in its messages. */
		snprintf(prog, sizeof(prog), "acctc %s", cmds[i].name);
		argv[n - 1] = prog;
		return cmds[i].fn(a, argc - n + 1, argv + n - 1);
	}
	if ((n = find_group(argc, argv, group, sizeof(group))) == 0) {
		acctc_warnx("unknown command: %s", argv[0]);
		usage(stderr);
		return ACCTC_EXIT_USAGE;
	}
	/* A group's name alone, as in `acctc users 2fa --help`. */
	if (argc > n && is_help(argv[n])) {
		group_usage(stdout, group, true);
		return ACCTC_EXIT_OK;
	}
	if (argc > n)
		acctc_warnx("unknown command: %s %s", group, argv[n]);
	else
		acctc_warnx("%s: command missing", group);
	group_usage(stderr, group, false);
	return ACCTC_EXIT_USAGE;
}

/* `acctc help [COMMAND]`, for those who type it that way. */
static int
help(int argc, char **argv)
{
	char group[128];

	if (argc == 0) {
		usage(stdout);
		return ACCTC_EXIT_OK;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (match(cmds[i].name, argc, argv) == argc) {
			acctc_print_usage(stdout, &cmds[i], true);
			return ACCTC_EXIT_OK;
		}
	if (find_group(argc, argv, group, sizeof(group)) == argc) {
		group_usage(stdout, group, true);
		return ACCTC_EXIT_OK;
	}
	acctc_warnx("unknown command: %s%s%s", argv[0], argc > 1 ? " " : "",
	    argc > 1 ? argv[1] : "");
	return ACCTC_EXIT_USAGE;
}

/* The command line as typed, kept for the hint of a list's next page. */
static char **line;

/* At exit, so that LeakSanitizer sees no leak: the compiler may keep
 * the only pointer in a register, and a static is no root then. */
static void
free_line(void)
{
	free(line);
	line = NULL;
}

/* stdout may be a full disk or a closed pipe: a lost result is a failure. */
static int
finish(int rc)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		acctc_warnx("standard output: write error");
		if (rc == ACCTC_EXIT_OK)
			rc = ACCTC_EXIT_FAIL;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		ACCTC_COMMON_LONGOPTS,
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct acctc a;
	int ch, rc;

	/* Only the character set: table widths of non-ASCII names. */
	setlocale(LC_CTYPE, "");
	acctc_init(&a);
	/* The line as typed (getopt reorders argv), for as long as the
	 * process runs. */
	if ((line = calloc((size_t)argc, sizeof(*line))) == NULL) {
		acctc_warnx("out of memory");
		return ACCTC_EXIT_FAIL;
	}
	memcpy(line, argv + 1, (size_t)(argc - 1) * sizeof(*line));
	atexit(free_line);
	a.line_argv = line;
	a.line_argc = argc - 1;
	/* Not in the usage: the bash completion's question. */
	if (argc >= 2 && strcmp(argv[1], "--complete") == 0) {
		rc = acctc_complete(&a, cmds, NCMDS, argc - 2, argv + 2);
		acctc_close(&a);
		return finish(rc);
	}
	argv[0] = (char *)"acctc";	/* for getopt's messages */
	/* '+': global options end at the command's name. */
	while ((ch = getopt_long(argc, argv, "+hV", lopts, NULL)) != -1) {
		switch (ch) {
		case ACCTC_OPT_JSON:
			a.json = true;
			break;
		case ACCTC_OPT_SOCKET:
			a.socket = optarg;
			break;
		case ACCTC_OPT_LOCAL:
			out_local_time(true);
			break;
		case 'h':
			usage(stdout);
			return finish(ACCTC_EXIT_OK);
		case 'V':
			printf("acctc %s\n", ACCT_VERSION);
			return finish(ACCTC_EXIT_OK);
		default:
			usage(stderr);
			return ACCTC_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return ACCTC_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0)
		return finish(help(argc - 1, argv + 1));
	rc = dispatch(&a, argc, argv);
	acctc_close(&a);
	return finish(rc);
}
