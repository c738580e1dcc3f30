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
"  -n, --name NAME          a name to tell it by\n" \
"  -s, --scope SCOPE        services it is good for, space separated\n" \
"                           (default *: all)\n" \
"  -e, --expires DURATION   lifetime: seconds, or a number followed by\n" \
"                           s, m, h, d or w (30d); 0 or never: no expiry\n" \
"                           (the default)\n"

#define LIST_FLAGS \
"  -n, --count LIMIT        show at most LIMIT (0-10000)\n" \
ACCTC_FORMAT_HELP

#define ACCOUNT_FLAGS \
"  -n, --name NAME          display name\n" \
"  -m, --email EMAIL        email address (\"\" removes it)\n" \
"  -p, --password PASSWORD  password (others see it in ps: prefer the\n" \
"                           prompt or --password-stdin)\n" \
"      --password-stdin     read the password from a line of stdin\n" \
"  -r, --role ROLE          admin, user, viewer or guest\n" \
"  -A, --auth PROVIDER      default, local, oidc or none\n" \
"      --auth-id ID         identifier at the provider (OIDC subject)\n" \
"  -s, --superadmin         make a super admin (--no-superadmin undoes)\n" \
"  -l, --no-login           disallow login (--login allows it)\n" \
"  -w, --webdav             allow WebDAV (--no-webdav disallows it)\n" \
"  -u, --upload-path PATH   upload path\n" \
"      --expires DATE       no login from DATE (YYYY-MM-DD, UTC) on;\n" \
"                           never (the default) for none\n" \
"      --password-max-age DAYS\n" \
"                           the password must be changed when older;\n" \
"                           never, or default (password_max_age_days)\n" \
"      --must-change        the next login must change the password\n" \
"                           (--no-must-change undoes)\n"

static const struct acctc_cmd cmds[] = {
	{ "hello", cmd_hello, "",
	  "Show the daemon's version and who it takes you to be.\n" },
	{ "users ls", cmd_users_ls,
	  "[-n LIMIT] [--offset N] [--locked|--pending|--disabled|--deleted]\n"
	  "         [--md|--csv|--tsv] [SEARCH]",
	  "List accounts whose username, name or email contains SEARCH.\n"
	  "  -n, --count LIMIT        show at most LIMIT accounts (0-10000)\n"
	  "      --offset N           skip the first N\n"
	  "      --locked             only those locked by failed logins\n"
	  "      --pending            only those waiting for activation\n"
	  "      --disabled           only those with login disallowed\n"
	  "      --deleted            only deleted ones, with their IDs\n"
	  ACCTC_FORMAT_HELP },
	{ "users show", cmd_users_show, "USERNAME",
	  "Show every property of an account.\n" },
	{ "users add", cmd_users_add, "[flags] USERNAME",
	  "Create an account; a deleted one of that name may be restored.\n"
	  "Without a password flag a terminal is asked for one.\n"
	  ACCOUNT_FLAGS
	  "      --restore [ID]       restore the deleted account of that name\n"
	  "                           (of several, the one with ID: see users\n"
	  "                           ls --deleted)\n"
	  "      --no-restore         create a new account even so\n"
	  "      --activate           pending until the user follows a mailed\n"
	  "                           activation link (needs --email)\n" },
	{ "users mod", cmd_users_mod, "[flags] USERNAME",
	  "Change properties of an account.\n"
	  ACCOUNT_FLAGS
	  "      --disable-2fa        turn two-factor authentication off\n"
	  "      --unlock             clear failed logins and the lock\n" },
	{ "users rm", cmd_users_rm, "[--purge [--id ID]] USERNAME",
	  "Delete an account (it can be restored with users add).\n"
	  "      --purge              erase it for good, with its tokens and\n"
	  "                           two-factor secrets; a deleted one too\n"
	  "      --id ID              of several deleted accounts of the name,\n"
	  "                           the one to purge (see users ls --deleted)\n" },
	{ "users reset", cmd_users_reset, "--yes",
	  "Delete every account and reset the database.\n"
	  "  -y, --yes                really do it\n" },
	{ "users reset-password", cmd_users_reset_password, "USERNAME",
	  "Mail the account a link to choose a new password (a pending\n"
	  "account gets its activation link again).\n" },
	{ "users legacy", cmd_users_legacy,
	  "[-n LIMIT] [--md|--csv|--tsv] [SEARCH]",
	  "List accounts whose password hash is of another scheme or older\n"
	  "parameters (imported): their next login upgrades it.\n"
	  "  -n, --count LIMIT        show at most LIMIT accounts (0-10000)\n"
	  ACCTC_FORMAT_HELP },
	{ "users import", cmd_users_import,
	  "[--dry-run] [--from-line N] FILE|-",
	  "Create accounts with password hashes made elsewhere (bcrypt,\n"
	  "sha512-crypt, yescrypt, Argon2) from CSV (header line\n"
	  "username,name,email,role,hash) or user:hash lines (htpasswd,\n"
	  "/etc/shadow with its aging fields). FILE (- for standard input)\n"
	  "may be of any size. Bad lines are skipped and listed; the others\n"
	  "are imported.\n"
	  "      --dry-run            check every line, write nothing\n"
	  "      --from-line N        go on from line N of a stopped import\n" },
	{ "users 2fa enable", cmd_users_2fa_enable,
	  "[--password-stdin] [--code CODE] [USERNAME]",
	  "Turn on two-factor authentication (TOTP) for your account or,\n"
	  "as an admin, USERNAME's: show the secret for the authenticator\n"
	  "app, then ask for its current code and show recovery codes.\n"
	  "      --password-stdin     read the current password (unless you\n"
	  "                           are an admin) and then the code, one\n"
	  "                           line each; no code line leaves the\n"
	  "                           enrolment pending\n"
	  "      --code CODE          confirm a pending enrolment with CODE\n" },
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
	  "                           and the new one, one line each\n"
	  "      --session TOKEN      a session token of the account instead\n"
	  "                           of the current password (SSO accounts)\n"
	  "      --forgot EMAIL       mail a reset link to EMAIL's account\n"
	  "      --token TOKEN        set the password with a mailed reset\n"
	  "                           or activation token\n"
	  "A TOKEN of - is read from standard input (its first line), or\n"
	  "asked for without echo on a terminal: others see arguments in\n"
	  "ps.\n" },
	{ "audit logins", cmd_audit_logins,
	  "[-n LIMIT] [--md|--csv|--tsv] [USERNAME]",
	  "Show login attempts: one row per client, username and realm.\n"
	  "  -n, --count LIMIT        show at most LIMIT rows (0-10000,\n"
	  "                           default 100)\n"
	  ACCTC_FORMAT_HELP },
	{ "audit locks", cmd_audit_locks, "[--md|--csv|--tsv] [--clear [ID]]",
	  "Show the sources the daemon locked (a caller's uid and the address\n"
	  "it reported) and the services it slows down (no address), with\n"
	  "their failures and lock's end; or clear them.\n"
	  "      --clear [ID]         clear source ID, or all of them\n"
	  ACCTC_FORMAT_HELP },
	{ "db backup", cmd_db_backup, "FILE|-",
	  "Write a consistent copy of the database, taken while the daemon\n"
	  "serves, to FILE (made here, mode 0600; an existing file is not\n"
	  "overwritten) or, for -, to standard output (a pipe or a file).\n"
	  "It holds every password hash: keep it as safe as the database.\n" },
	{ "audit reset", cmd_audit_reset, "--yes",
	  "Clear the audit log.\n"
	  "  -y, --yes                really do it\n" },
	{ "auth test", cmd_auth_test,
	  "[--password-stdin] [--code CODE] [--service NAME] USERNAME",
	  "Check a password the way a daemon would (audited as a login).\n"
	  "An account with two-factor authentication on is asked for a code.\n"
	  "      --password-stdin     read the password from a line of stdin,\n"
	  "                           and the code, if one is needed, from\n"
	  "                           the next\n"
	  "      --code CODE          the two-factor code (TOTP or recovery)\n"
	  "      --service NAME       the service (realm) to log in to\n" },
	{ "auth ls", cmd_auth_ls,
	  "[-n LIMIT] [--type TYPE] [--md|--csv|--tsv] [SEARCH]",
	  "List sessions, access tokens, app passwords and clients whose\n"
	  "id, username or name contains SEARCH.\n"
	  LIST_FLAGS
	  "      --type TYPE          session, access_token, app_password or\n"
	  "                           client\n" },
	{ "auth add", cmd_auth_add,
	  "[--session] [--name APP] [--scope SCOPE] [--expires DURATION] "
	  "USERNAME",
	  "Create an access token, or with --name an app password, or with\n"
	  "--session a session (as an SSO service opens one after its own\n"
	  "sign-in; --name then names it, as a login's service does); the\n"
	  "secret is printed this once.\n"
	  "      --session            a session (expires after the daemon's\n"
	  "                           session_lifetime unless --expires)\n"
	  TOKEN_FLAGS },
	{ "auth show", cmd_auth_show, "ID",
	  "Show a session or token.\n" },
	{ "auth rm", cmd_auth_rm, "ID|TOKEN|-",
	  "Revoke a session or token, by its id or by the token itself\n"
	  "(- reads it from standard input).\n" },
	{ "auth reset", cmd_auth_reset, "--yes",
	  "Revoke every session and token.\n"
	  "  -y, --yes                really do it\n" },
	{ "clients add", cmd_clients_add,
	  "[--name NAME] [--scope SCOPE] [--expires DURATION] [USERNAME]",
	  "Create OAuth2 client credentials; the secret is printed this\n"
	  "once.\n"
	  TOKEN_FLAGS },
	{ "clients ls", cmd_clients_ls,
	  "[-n LIMIT] [--md|--csv|--tsv] [SEARCH]",
	  "List clients whose id, username or name contains SEARCH.\n"
	  LIST_FLAGS },
	{ "clients show", cmd_clients_show, "ID",
	  "Show a client.\n" },
	{ "clients rm", cmd_clients_rm, "ID",
	  "Revoke a client's credentials.\n" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static void
usage(FILE *f)
{
	fputs("usage: acctc [--socket PATH] [--json] COMMAND [ARGS]\n"
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

/* Print (if f) the commands that begin with word, e.g. "users ..." */
static int
group_usage(FILE *f, const char *word)
{
	size_t len = strlen(word);
	int n = 0;

	for (size_t i = 0; i < NCMDS; i++)
		if (strncmp(cmds[i].name, word, len) == 0 &&
		    cmds[i].name[len] == ' ') {
			if (f != NULL)
				acctc_print_usage(f, &cmds[i], false);
			n++;
		}
	return n;
}

static int
dispatch(struct acctc *a, int argc, char **argv)
{
	static char prog[64];
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
	if (group_usage(NULL, argv[0]) == 0) {
		acctc_warnx("unknown command: %s", argv[0]);
		usage(stderr);
		return ACCTC_EXIT_USAGE;
	}
	/* A group's name alone, as in `acctc users --help`. */
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		group_usage(stdout, argv[0]);
		return ACCTC_EXIT_OK;
	}
	if (argc >= 2)
		acctc_warnx("unknown command: %s %s", argv[0], argv[1]);
	else
		acctc_warnx("%s: command missing", argv[0]);
	group_usage(stderr, argv[0]);
	return ACCTC_EXIT_USAGE;
}

/* `acctc help [COMMAND]`, for those who type it that way. */
static int
help(int argc, char **argv)
{
	if (argc == 0) {
		usage(stdout);
		return ACCTC_EXIT_OK;
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (match(cmds[i].name, argc, argv) == argc) {
			acctc_print_usage(stdout, &cmds[i], true);
			return ACCTC_EXIT_OK;
		}
	if (group_usage(stdout, argv[0]) > 0)
		return ACCTC_EXIT_OK;
	acctc_warnx("unknown command: %s", argv[0]);
	return ACCTC_EXIT_USAGE;
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
