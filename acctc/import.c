/*
 * import.c: users import: a file of accounts with hashes made elsewhere
 * (CSV, htpasswd or shadow lines), sent in pieces of whole lines, one
 * transaction each, so that a file of any size goes in and an import
 * that stops can go on from the line it stopped at.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bsd/stdlib.h>

#include "../common/text.h"
#include "acctc.h"

/* The skipped lines kept for the summary; more are only counted. */
#define KEEP_SKIPPED	10000

struct skipped {
	int64_t	 line;
	char	*user;		/* as the daemon sanitised it; "" unknown */
	char	*reason;
};

struct import {
	struct acctc	*a;
	const char	*name;		/* the file, for messages */
	bool		 dry;
	char		*columns;	/* the CSV header, NULL if not CSV */
	char		*piece;		/* whole lines, NUL-terminated */
	size_t		 len, max;
	int64_t		 first;		/* the line piece starts at */
	int64_t		 imported, skipped, unlisted;
	struct skipped	*err;
	size_t		 nerr;
	int64_t		 stopped;	/* the line to go on from, 0 done */
	int64_t		 sent;		/* pieces the daemon took */
};

static void
keep(struct import *im, int64_t line, const char *user, const char *reason)
{
	struct skipped *e;

	if (im->nerr == KEEP_SKIPPED || (e = reallocarray(im->err,
	    im->nerr + 1, sizeof(*e))) == NULL) {
		im->unlisted++;
		return;
	}
	im->err = e;
	e += im->nerr;
	e->line = line;
	e->user = strdup(user);
	e->reason = strdup(reason);
	if (e->user == NULL || e->reason == NULL) {
		free(e->user);
		free(e->reason);
		im->unlisted++;
		return;
	}
	im->nerr++;
}

/* A line skipped here, before the daemon saw it. */
static void
skip_here(struct import *im, int64_t line, const char *reason)
{
	im->skipped++;
	keep(im, line, "", reason);
}

/* What one piece's reply adds to the totals. */
static void
tally(struct import *im, const msgpack_object *res)
{
	const msgpack_object *errors = proto_map_get(res, "errors");
	const msgpack_object *v;
	int64_t skipped = 0;
	uint32_t n = 0;

	if ((v = proto_map_get(res, "imported")) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		im->imported += (int64_t)v->via.u64;
	if ((v = proto_map_get(res, "skipped")) != NULL &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		skipped = (int64_t)v->via.u64;
	if (errors != NULL && errors->type == MSGPACK_OBJECT_ARRAY)
		n = errors->via.array.size;
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *e = &errors->via.array.ptr[i];
		char *user = out_text(proto_map_get(e, "username"), OUT_STR);
		char *why = out_text(proto_map_get(e, "reason"), OUT_STR);

		v = proto_map_get(e, "line");
		keep(im, v != NULL && v->type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)v->via.u64 : 0,
		    user != NULL ? user : "", why != NULL ? why : "");
		free(user);
		free(why);
	}
	im->skipped += skipped;
	if (skipped > (int64_t)n)
		im->unlisted += skipped - (int64_t)n;
}

/* Send the piece gathered so far; on failure the import stops at its
 * first line, which nothing of was written. */
static int
flush(struct import *im)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (im->len == 0)
		return ACCTC_EXIT_OK;
	im->piece[im->len] = '\0';
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_DATA, im->piece);
	proto_kv_int_f(&args, F_FIRST_LINE, im->first);
	if (im->columns != NULL)
		proto_kv_str_f(&args, F_COLUMNS, im->columns);
	if (im->dry)
		proto_kv_bool_f(&args, F_DRY_RUN, true);
	/* Hashes are not passwords, but no copy need stay behind. */
	explicit_bzero(im->piece, im->len);
	im->len = 0;
	if ((rc = acctc_call(im->a, OP_USER_IMPORT, &args, &rep)) ==
	    ACCTC_EXIT_OK) {
		tally(im, rep.result);
		im->sent++;
	} else
		im->stopped = im->first;
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/* Strip the newline (and a CR before it) off a copy of the header. */
static int
header(struct import *im, const char *line, int64_t lineno)
{
	size_t n = strcspn(line, "\r\n");

	if (n > proto_fields[F_COLUMNS].max) {
		acctc_warnx("%s: line %" PRId64 ": a CSV header longer than "
		    "%zu bytes", im->name, lineno, proto_fields[F_COLUMNS].max);
		return ACCTC_EXIT_FAIL;
	}
	if ((im->columns = strndup(line, n)) == NULL) {
		acctc_warnx("%s", strerror(ENOMEM));
		return ACCTC_EXIT_FAIL;
	}
	return ACCTC_EXIT_OK;
}

/* A line that is neither empty nor a comment, as the daemon sees it. */
static bool
content(const char *line)
{
	return line[strspn(line, "\r\n")] != '\0' && line[0] != '#';
}

/*
 * Read in, line by line, into pieces the daemon takes; lines before
 * from are read (for the CSV header) but not sent. Stops at the first
 * failed piece or at a NUL byte, with im->stopped the line to go on
 * from.
 */
static int
feed(struct import *im, FILE *in, int64_t from)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t lineno = 0;
	bool started = false;
	int rc = ACCTC_EXIT_OK;

	while (rc == ACCTC_EXIT_OK && (n = getline(&line, &cap, in)) != -1) {
		lineno++;
		if (memchr(line, '\0', (size_t)n) != NULL) {
			if ((rc = flush(im)) == ACCTC_EXIT_OK) {
				acctc_warnx("%s: line %" PRId64 " holds a NUL "
				    "byte: not a text file", im->name, lineno);
				im->stopped = lineno;
				rc = ACCTC_EXIT_FAIL;
			}
			break;
		}
		if (!started && content(line)) {
			started = true;
			if (strncasecmp(line, "username,", 9) == 0) {
				rc = header(im, line, lineno);
				continue;
			}
		}
		if (lineno < from)
			continue;
		if ((size_t)n > im->max || !text_utf8_valid(line, (size_t)n)) {
			if ((rc = flush(im)) == ACCTC_EXIT_OK)
				skip_here(im, lineno, (size_t)n > im->max ?
				    "longer than a request takes" :
				    "not valid UTF-8");
			continue;
		}
		if (im->len + (size_t)n > im->max &&
		    (rc = flush(im)) != ACCTC_EXIT_OK)
			break;
		if (im->len == 0)
			im->first = lineno;
		memcpy(im->piece + im->len, line, (size_t)n);
		im->len += (size_t)n;
	}
	if (rc == ACCTC_EXIT_OK && ferror(in)) {
		acctc_warnx("%s: %s", im->name, strerror(errno));
		if ((rc = flush(im)) == ACCTC_EXIT_OK) {
			im->stopped = lineno + 1;
			rc = ACCTC_EXIT_FAIL;
		}
	} else if (rc == ACCTC_EXIT_OK)
		rc = flush(im);
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}

static void
print_text(const struct import *im)
{
	if (im->dry)
		printf("Would import %" PRId64 " accounts, skip %" PRId64
		    " (a dry run: nothing was written).\n", im->imported,
		    im->skipped);
	else
		printf("Imported %" PRId64 " accounts, skipped %" PRId64 ".\n",
		    im->imported, im->skipped);
	for (size_t i = 0; i < im->nerr; i++) {
		printf("  line %" PRId64, im->err[i].line);
		if (im->err[i].user[0] != '\0') {
			printf(" (");
			out_sanitize(stdout, im->err[i].user,
			    strlen(im->err[i].user));
			putchar(')');
		}
		printf(": ");
		out_sanitize(stdout, im->err[i].reason,
		    strlen(im->err[i].reason));
		putchar('\n');
	}
	if (im->unlisted > 0)
		printf("  (and %" PRId64 " more skipped lines not listed)\n",
		    im->unlisted);
}

/* {imported, skipped, errors: [{line, username, reason}], dry_run} and,
 * when it stopped, stopped_at_line. */
static void
print_json(const struct import *im)
{
	printf("{\"imported\":%" PRId64 ",\"skipped\":%" PRId64 ",\"errors\":[",
	    im->imported, im->skipped);
	for (size_t i = 0; i < im->nerr; i++) {
		printf("%s{\"line\":%" PRId64 ",\"username\":", i ? "," : "",
		    im->err[i].line);
		out_json_string(stdout, im->err[i].user,
		    strlen(im->err[i].user));
		printf(",\"reason\":");
		out_json_string(stdout, im->err[i].reason,
		    strlen(im->err[i].reason));
		putchar('}');
	}
	printf("],\"dry_run\":%s", im->dry ? "true" : "false");
	if (im->stopped > 0)
		printf(",\"stopped_at_line\":%" PRId64, im->stopped);
	printf("}\n");
}

/*
 * Lines the daemon skips (bad username, hash, taken name...) are
 * reported, and the import still succeeds: exit 0 with the good ones
 * imported. A piece the daemon refuses, or a lost connection, stops it
 * (exit 1) with the line to go on from.
 */
int
cmd_users_import(struct acctc *a, int argc, char **argv)
{
	enum { OPT_DRY_RUN = ACCTC_OPT__NEXT, OPT_FROM_LINE };
	static const struct option lopts[] = {
		{ "dry-run",	no_argument,		NULL, OPT_DRY_RUN },
		{ "from-line",	required_argument,	NULL, OPT_FROM_LINE },
		{ NULL, 0, NULL, 0 }
	};
	struct import im = { .a = a };
	const char *path;
	int64_t from = 1;
	FILE *in = stdin;
	int ch, rc, bad = -1;

	while ((ch = acctc_getopt(a, argc, argv, "", lopts, &rc)) != -1)
		if (ch == OPT_DRY_RUN)
			im.dry = true;
		else if (ch == OPT_FROM_LINE)
			bad = acctc_number(a, "LINE", optarg, INT32_MAX, &from);
	if (rc >= 0)
		return rc;
	if (bad >= 0)
		return bad;
	if (from < 1)
		return acctc_usage(a, "--from-line starts at 1");
	if (optind >= argc)
		return acctc_usage(a, "FILE missing");
	if (argc - optind > 1)
		return acctc_usage(a, "too many arguments");
	path = argv[optind];
	im.name = strcmp(path, "-") == 0 ? "standard input" : path;
	/* Fail on an absent daemon before reading a whole file. */
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		return rc;
	if (strcmp(path, "-") != 0 && (in = fopen(path, "re")) == NULL) {
		acctc_warnx("%s: %s", path, strerror(errno));
		return ACCTC_EXIT_FAIL;
	}
	im.max = proto_fields[F_DATA].max;
	if ((im.piece = malloc(im.max + 1)) == NULL) {
		acctc_warnx("%s", strerror(ENOMEM));
		rc = ACCTC_EXIT_FAIL;
	} else
		rc = feed(&im, in, from);
	if (in != stdin)
		fclose(in);
	/* Whatever was done is said, a stop included. */
	if (a->json)
		print_json(&im);
	else
		print_text(&im);
	/* Nothing to go on from when nothing was done. */
	if (im.stopped > 0 && im.sent > 0) {
		fflush(stdout);
		acctc_warnx("stopped at line %" PRId64 ": the lines before it "
		    "are %s; go on with: acctc users import%s --from-line %"
		    PRId64 " %s", im.stopped, im.dry ? "checked" : "imported",
		    im.dry ? " --dry-run" : "", im.stopped, path);
	}
	freezero(im.piece, im.max + 1);
	free(im.columns);
	for (size_t i = 0; i < im.nerr; i++) {
		free(im.err[i].user);
		free(im.err[i].reason);
	}
	free(im.err);
	return rc;
}
