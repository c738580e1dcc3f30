/*
 * acctc.h: the map of the command-line client. One section per file:
 * the shared command state, the commands, output formatting, prompts.
 */
#ifndef ACCTC_H
#define ACCTC_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../proto/client.h"

/* Exit status, part of the documented interface of acctc(1). */
#define ACCTC_EXIT_OK		0	/* success */
#define ACCTC_EXIT_FAIL		1	/* refused or failed */
#define ACCTC_EXIT_USAGE	2	/* bad command line */
#define ACCTC_EXIT_CONNECT	3	/* the daemon cannot be reached */

/* Buffers for secrets: the wire maximum plus room to notice overflow. */
#define ACCTC_SECRET_MAX	(4096 + 2)

struct acctc;
struct out_field;
typedef int acctc_cmd_fn(struct acctc *, int, char **);

/* How list commands print their rows: --md, --csv, --tsv or a table. */
enum out_format {
	OUT_FMT_TABLE,	/* aligned columns for a terminal */
	OUT_FMT_MD,	/* a Markdown (GFM) table */
	OUT_FMT_CSV,	/* semicolon-separated values, header first */
	OUT_FMT_TSV,	/* tab-separated values, header first */
};

/* One entry of the command table in acctc.c. */
struct acctc_cmd {
	const char	*name;		/* "users add" */
	acctc_cmd_fn	*fn;
	const char	*args;		/* "[flags] USERNAME" */
	const char	*help;		/* option lines, may be NULL */
};

/* State of one acctc run: global options and the daemon connection. */
struct acctc {
	const char		*socket;
	bool			 json;
	const struct acctc_cmd	*cmd;	/* the command being run */
	struct acct_conn	*conn;	/* opened on first use */
	bool			 in_getopt; /* acctc_getopt() has begun */
	enum out_format		 format; /* list commands: --md, --csv... */
	unsigned		 formats; /* bit per format flag given */
	/* List commands: -n, --offset (-1 when not given), --no-header. */
	int64_t			 limit;
	int64_t			 offset;
	bool			 no_header;
	/* The command line as typed, after "acctc", for the hint that
	 * shows the command of a list's next page. */
	int			 line_argc;
	char			**line_argv;
};

/*
 * Long options every command accepts besides its own, so that
 * `acctc users ls --json` works as well as `acctc --json users ls`.
 */
enum {
	ACCTC_OPT_JSON = 0x100,
	ACCTC_OPT_SOCKET,
	ACCTC_OPT_LOCAL,
	ACCTC_OPT_OFFSET,	/* the list options below */
	ACCTC_OPT_NO_HEADER,
	ACCTC_OPT__NEXT		/* the first free for a command's own */
};
#define ACCTC_COMMON_LONGOPTS \
	{ "help",	no_argument,		NULL, 'h' }, \
	{ "json",	no_argument,		NULL, ACCTC_OPT_JSON }, \
	{ "socket",	required_argument,	NULL, ACCTC_OPT_SOCKET }, \
	{ "local",	no_argument,		NULL, ACCTC_OPT_LOCAL }
/* Their help, at the end of every command's and group's. */
#define ACCTC_COMMON_HELP \
"      --json               print the result as JSON (default: text)\n" \
"      --local              times in the local zone (default: UTC)\n" \
"      --socket PATH        the daemon's socket (default: $ACCTC_SOCKET,\n" \
"                           else " ACCT_DEFAULT_SOCKET ")\n" \
"  -h, --help               show this help\n"

/* The output formats of list commands (PhotoPrism's -m, -c, -t). */
#define ACCTC_FORMAT_SHORTOPTS	"mct"
#define ACCTC_FORMAT_LONGOPTS \
	{ "md",		no_argument,		NULL, 'm' }, \
	{ "csv",	no_argument,		NULL, 'c' }, \
	{ "tsv",	no_argument,		NULL, 't' }
#define ACCTC_FORMAT_HELP \
"  -m, --md                 print a Markdown table\n" \
"  -c, --csv                print semicolon-separated values\n" \
"  -t, --tsv                print tab-separated values\n" \
"                           (default: an aligned table)\n"

/* The options of every list: a page of rows, and how they are printed. */
#define ACCTC_LIST_SHORTOPTS	"n:" ACCTC_FORMAT_SHORTOPTS
#define ACCTC_LIST_LONGOPTS \
	{ "count",	required_argument,	NULL, 'n' }, \
	{ "offset",	required_argument,	NULL, ACCTC_OPT_OFFSET }, \
	{ "no-header",	no_argument,		NULL, ACCTC_OPT_NO_HEADER }, \
	ACCTC_FORMAT_LONGOPTS
/* what: "accounts", "rows"...; dflt: the daemon's limit, a string. */
#define ACCTC_LIST_HELP(what, dflt) \
"  -n, --count LIMIT        show at most LIMIT " what " (0-10000,\n" \
"                           default: " dflt ")\n" \
"      --offset N           skip the first N (default: 0)\n" \
"      --no-header          no line of column names (not with --md)\n" \
"                           (default: a header line)\n" \
ACCTC_FORMAT_HELP

/* cli.c: connection, common options, usage, mapping errors to exits. */
void	acctc_init(struct acctc *a);
void	acctc_close(struct acctc *a);
int	acctc_connect(struct acctc *a);
int	acctc_call(struct acctc *a, enum proto_op op, struct proto_msg *args,
	    struct proto_reply *rep);
int	acctc_call_quiet(struct acctc *a, enum proto_op op,
	    struct proto_msg *args, struct proto_reply *rep, int quiet);
int	acctc_call_fd(struct acctc *a, enum proto_op op,
	    struct proto_msg *args, int fd, struct proto_reply *rep);
int	acctc_refused(const struct proto_reply *rep);
bool	acctc_json(const struct acctc *a, const struct proto_reply *rep);
bool	acctc_errname_is(const msgpack_object *o, int code);
int	acctc_getopt(struct acctc *a, int argc, char **argv,
	    const char *shortopts, const struct option *longopts, int *ret);
/* The synopsis; full: the help too, with ACCTC_COMMON_HELP. */
void	acctc_print_usage(FILE *f, const struct acctc_cmd *cmd, bool full);
int	acctc_usage(const struct acctc *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	acctc_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
int	acctc_number(struct acctc *a, const char *what, const char *s,
	    long long max, int64_t *out);
int	acctc_duration(struct acctc *a, const char *s, int64_t *out);
int	acctc_format_check(struct acctc *a);
/* An option of ACCTC_LIST_LONGOPTS: false if ch is not one. *bad is
 * set to the exit status of a bad value (once: the first one). */
bool	acctc_list_opt(struct acctc *a, int ch, const char *arg, int *bad);
/* -n and --offset, when given, into the request. */
void	acctc_list_pack(const struct acctc *a, struct proto_msg *args);
int	acctc_print_rows(const struct acctc *a, const msgpack_object *rows,
	    const struct out_field *cols, size_t ncols);
/* Rows of result[key] and, when result's total says there are more,
 * the hint on stderr with the command of the next page; what names
 * the rows ("accounts"). */
int	acctc_print_page(const struct acctc *a, const msgpack_object *result,
	    const char *key, const char *what, const struct out_field *cols,
	    size_t ncols);
int	acctc_one_arg(struct acctc *a, int argc, char **argv,
	    const char *what, char **arg);
int	acctc_reset(struct acctc *a, int argc, char **argv, enum proto_op op,
	    const char *why, const char *verb, const char *what);
int	acctc_secret_arg(char *arg, char *buf, size_t bufsz);
void	acctc_wipe_str(const msgpack_object *o);
void	acctc_flush_secret(void);

/* complete.c: what the bash completion asks (acctc --complete). */
int	acctc_complete(struct acctc *a, const struct acctc_cmd *cmds,
	    size_t ncmds, int argc, char **argv);

/* hello.c, users.c, useredit.c, passwd.c: one function per command. */
int	cmd_hello(struct acctc *, int, char **);
int	cmd_users_ls(struct acctc *, int, char **);
int	cmd_users_show(struct acctc *, int, char **);
int	cmd_users_add(struct acctc *, int, char **);
int	cmd_users_mod(struct acctc *, int, char **);
int	cmd_users_rm(struct acctc *, int, char **);
int	cmd_users_reset(struct acctc *, int, char **);
int	cmd_users_reset_password(struct acctc *, int, char **);
int	cmd_passwd(struct acctc *, int, char **);
/* "Reset link sent to ADDRESS." or, for a mail the daemon still had
 * queued when it answered, "queued for", and on stderr how to follow it. */
void	acctc_print_mailed(const char *what, const msgpack_object *email,
	    const msgpack_object *mail);

/* import.c, legacy.c: hashes made elsewhere, and their upgrade. */
int	cmd_users_import(struct acctc *, int, char **);
int	cmd_users_legacy(struct acctc *, int, char **);

/* twofa.c: users 2fa enable/disable; the login of auth test, which
 * asks for a two-factor code when the daemon wants one. */
int	cmd_users_2fa_enable(struct acctc *, int, char **);
int	cmd_users_2fa_disable(struct acctc *, int, char **);
int	acctc_code_arg(char *arg, char *buf, size_t bufsz);
int	acctc_login(struct acctc *a, struct proto_msg *args,
	    struct proto_reply *rep, char *code, bool code_stdin);

/* db.c: the database as a whole. */
int	cmd_db_backup(struct acctc *, int, char **);

/* stats.c: the daemon's counters. */
int	cmd_stats(struct acctc *, int, char **);

/* audit.c */
int	cmd_audit_logins(struct acctc *, int, char **);
int	cmd_audit_events(struct acctc *, int, char **);
int	cmd_audit_reset(struct acctc *, int, char **);
int	cmd_audit_locks(struct acctc *, int, char **);

/* auth.c: sessions, access tokens, app passwords; and what clients.c
 * shares with it: the token flags, token_add, showing one token. */
int	cmd_auth_test(struct acctc *, int, char **);
int	cmd_auth_ls(struct acctc *, int, char **);
int	cmd_auth_add(struct acctc *, int, char **);
int	cmd_auth_show(struct acctc *, int, char **);
int	cmd_auth_rm(struct acctc *, int, char **);
int	cmd_auth_reset(struct acctc *, int, char **);

/* The flags of auth add and clients add. */
struct acctc_token_opts {
	const char	*name;		/* --name, NULL: none */
	const char	*scope;		/* --scope, NULL: the daemon's "*" */
	int64_t		 lifetime;	/* --expires in seconds, 0: never */
	bool		 session;	/* auth add --session */
};
/* sessions: --session is one of the flags (auth add). */
int	acctc_token_args(struct acctc *a, int argc, char **argv,
	    struct acctc_token_opts *o, bool sessions);
/* The list options and one optional operand: -1, or exit status. */
int	acctc_list_args(struct acctc *a, int argc, char **argv);
int	acctc_token_add(struct acctc *a, const char *type,
	    const struct acctc_token_opts *o, const char *user,
	    struct proto_reply *rep);
int	acctc_token_show(struct acctc *a, const char *id, const char *type,
	    struct proto_reply *rep);
void	acctc_token_print(const msgpack_object *token);
int	acctc_token_list(struct acctc *a, int argc, char **argv,
	    const char *type, const struct out_field *cols, size_t ncols);

/* clients.c: OAuth2 client credentials. */
int	cmd_clients_add(struct acctc *, int, char **);
int	cmd_clients_ls(struct acctc *, int, char **);
int	cmd_clients_show(struct acctc *, int, char **);
int	cmd_clients_rm(struct acctc *, int, char **);

/* output.c: every byte acctc prints about a result goes through here. */
enum out_kind {
	OUT_ANY,	/* scalars as text, containers as JSON */
	OUT_STR,
	OUT_INT,
	OUT_YESNO,	/* bool: yes / no */
	OUT_ENABLED,	/* bool: enabled / disabled */
	OUT_SET,	/* bool: set / not set */
	OUT_TIME,	/* unix seconds, nil empty */
	OUT_TIME_NEVER,	/* unix seconds, nil "never" */
	OUT_LIST,	/* array of strings, comma separated */
	OUT_DAYS,	/* int days, 0 "never", nil "default" */
};

/* How one result field is labelled and shown. */
struct out_field {
	const char	*key;
	const char	*label;
	enum out_kind	 kind;
};

void	out_json(FILE *f, const msgpack_object *o);
void	out_json_string(FILE *f, const char *s, size_t len);
void	out_sanitize(FILE *f, const char *s, size_t len);
size_t	out_width(const char *s);
/* Times in UTC, or from now on in the local zone (--local). */
void	out_local_time(bool on);
void	out_time(int64_t t, char *buf, size_t bufsz);
char	*out_text(const msgpack_object *o, enum out_kind kind);
/* How out_rows() prints: the format, and whether with the header. */
struct out_opts {
	enum out_format	 fmt;
	bool		 header;
	size_t		 width;	/* a table's cells cut to fit, 0: never */
};
int	out_rows(FILE *f, const struct out_opts *o, const msgpack_object *rows,
	    const struct out_field *cols, size_t ncols);
int	out_show(FILE *f, const msgpack_object *map,
	    const struct out_field *fields, size_t nfields);
void	out_str(FILE *f, const msgpack_object *o);
/* The stats result: for people, a summary and tables; for collectors,
 * OpenMetrics text. 0, or -1 when out of memory or not a result. */
int	out_stats(FILE *f, const msgpack_object *res);
int	out_openmetrics(FILE *f, const msgpack_object *res);

/* prompt.c: secrets from the terminal or from standard input. */
bool	prompt_isatty(void);
int	prompt_password(const char *prompt, char *buf, size_t bufsz);
/* prompt_new_password(): how often, and what use() returns to ask
 * again (no exit status is negative). */
#define PROMPT_TRIES	3
#define PROMPT_AGAIN	(-1)
typedef int prompt_use_fn(void *arg, const char *password);
int	prompt_new_password(const char *prompt, const char *again,
	    bool allow_empty, prompt_use_fn *use, void *arg);
int	prompt_stdin_line(char *buf, size_t bufsz);
int	prompt_stdin_secret(const char *what, char *buf, size_t bufsz);
int	prompt_secret(const char *prompt, const char *what, char *buf,
	    size_t bufsz);
int	prompt_confirm(const char *question);

#endif
