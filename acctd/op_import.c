/*
 * op_import.c: the users import handler: accounts with hashes from
 * elsewhere, as CSV (header: username,name,email,role,hash; more columns
 * ignored) or as "user:hash" lines (htpasswd, or shadow(5) with its
 * aging fields). Each line is checked on its own and a bad one skipped
 * with its reason; the good ones of one request go in one transaction.
 * A file of any size comes as several requests, each saying where in
 * the file it starts and, for CSV, the header it is under.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/log.h"
#include "../common/text.h"
#include "acctd.h"

#define MAX_FIELDS	16
#define MAX_REPORTED	100	/* skipped lines listed in the reply */

enum col { C_USERNAME, C_NAME, C_EMAIL, C_ROLE, C_HASH, C__COUNT };

static const char *const colnames[C__COUNT] = {
	"username", "name", "email", "role", "hash"
};

struct import {
	struct ctx		*x;
	int			 map[C__COUNT];	/* column of each, -1 none */
	int64_t			 imported, skipped;
	int			 rc;		/* a failure that ends the batch */
	struct proto_msg	 errors;	/* [{line, reason}] body */
	uint32_t		 nerrors;
	char			*dearest;	/* hash, timed after commit */
};

/*
 * Split one CSV line in place: fields separated by sep, a field may be
 * "quoted" with "" for a quote. Returns the field count or -1.
 */
static int
split_csv(char *line, char sep, char *f[MAX_FIELDS])
{
	int n = 0;
	char *r = line, *w;

	for (;;) {
		if (n == MAX_FIELDS)
			return -1;
		f[n++] = w = r;
		if (*r == '"') {
			for (r++;; r++) {
				if (*r == '\0')
					return -1;	/* unterminated */
				if (*r == '"' && r[1] == '"')
					*w++ = *r++;
				else if (*r == '"')
					break;
				else
					*w++ = *r;
			}
			r++;
			if (*r != sep && *r != '\0')
				return -1;
		} else
			while (*r != sep && *r != '\0')
				*w++ = *r++;
		if (*r == '\0') {
			*w = '\0';
			return n;
		}
		*w = '\0';
		r++;
	}
}

/* A skipped line: its number, the username as given, and why. */
static void
skip(struct import *im, int64_t lineno, const char *user, const char *reason)
{
	char name[65];

	im->skipped++;
	if (im->nerrors >= MAX_REPORTED)
		return;
	/* Cut to what a username can be (by the caller); a character cut
	 * in two becomes '?'. */
	strlcpy(name, user, sizeof(name));
	text_sanitise(name);
	msgpack_pack_map(&im->errors.pk, 3);
	proto_pack_cstr(&im->errors.pk, "line");
	msgpack_pack_int64(&im->errors.pk, lineno);
	proto_pack_cstr(&im->errors.pk, "username");
	proto_pack_cstr(&im->errors.pk, name);
	proto_pack_cstr(&im->errors.pk, "reason");
	proto_pack_cstr(&im->errors.pk, reason);
	im->nerrors++;
}

static const char *
field(char *f[], int n, int col)
{
	return col >= 0 && col < n ? f[col] : "";
}

/* One line's account, before it is checked. */
struct record {
	char		*user;
	const char	*name;
	char		*email;
	const char	*role;
	const char	*hash;
	bool		 locked;	/* "!" or "*" before the hash */
	bool		 must_change;
	int64_t		 changed_at;	/* 0: not known */
	int64_t		 max_age_days;	/* -1: the config's */
	int64_t		 expires_at;	/* 0: never */
};

/* Check one record and insert it (inside the batch); a reason or NULL. */
static const char *
add_one(struct import *im, struct record *r, char *why, size_t whysz)
{
	struct account a;
	int rc;

	if (validate_username(r->user, why, whysz) == -1)
		return why;
	/* A locked password (passwd -l, usermod -L) keeps its hash behind
	 * the marks, for the day the account is unlocked. */
	r->locked = r->hash[0] == '!' || r->hash[0] == '*';
	r->hash += strspn(r->hash, "!*");
	if (r->hash[0] == '\0')
		return "no password hash (locked or empty)";
	if (strcmp(hash_scheme(r->hash), "unknown") == 0)
		return "unsupported hash scheme";
	if (!hash_supported(im->x->cfg, r->hash))
		return "malformed hash, or its cost over the limits";
	if (r->email[0] != '\0' && validate_email(r->email, why, whysz) == -1)
		return why;
	if (r->role[0] != '\0' && validate_role(r->role, why, whysz) == -1)
		return why;
	if (validate_text("name", r->name, why, whysz) == -1)
		return why;
	memset(&a, 0, sizeof(a));
	a.username = r->user;
	a.name = (char *)r->name;
	a.email = r->email[0] ? r->email : NULL;
	a.role = (char *)(r->role[0] ? r->role : "user");
	a.upload_path = a.auth_id = (char *)"";
	a.auth_provider = (char *)"local";
	a.hash = (char *)r->hash;
	a.login = !r->locked;
	a.activated = true;
	a.must_change = r->must_change;
	a.password_changed_at = r->changed_at;
	a.max_age_days = r->max_age_days;
	a.expires_at = r->expires_at;
	/* A taken name or email undoes its own statement only: skip the
	 * line. Any other failure (memory, I/O, busy) may have rolled back
	 * the whole transaction, and each line after it would then commit
	 * on its own: the batch stops. */
	if ((rc = account_insert_locked(&a)) == ACCT_ERR_EXISTS)
		return "an account with that name or email exists";
	if (rc != ACCT_OK) {
		im->rc = rc;
		return NULL;
	}
	im->imported++;
	if (hash_work(r->hash) > hash_work(im->dearest)) {
		freezero(im->dearest, im->dearest ? strlen(im->dearest) : 0);
		im->dearest = strdup(r->hash);	/* none: not timed, no harm */
	}
	return NULL;
}

static int
header(struct import *im, char *line)
{
	char *f[MAX_FIELDS];
	int n = split_csv(line, ',', f);

	for (int c = 0; c < C__COUNT; c++) {
		im->map[c] = -1;
		for (int i = 0; i < n; i++)
			if (strcasecmp(f[i], colnames[c]) == 0)
				im->map[c] = i;
	}
	if (im->map[C_USERNAME] < 0 || im->map[C_HASH] < 0)
		return ctx_fail(im->x, ACCT_ERR_INVALID, "CSV header needs "
		    "username and hash columns");
	return ACCT_OK;
}

/* A shadow(5) day count: empty is -1, else 0 to 99999999 days. */
static bool
days(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");

	if (s[0] == '\0') {
		*out = -1;
		return true;
	}
	if (n == 0 || n > 8 || s[n] != '\0')
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

/*
 * shadow(5)'s aging fields, as shadow-utils reads them: the last change
 * (0: change it at the next login), the maximum age (empty or 99999:
 * none, so the account follows password_max_age_days) and the account's
 * expiry (the day it ends). The minimum age, warning and inactivity
 * fields have no counterpart and are ignored.
 */
static const char *
shadow_fields(char *f[], int n, struct record *r)
{
	int64_t lastchg = -1, max = -1, expire = -1;

	if ((n > 2 && !days(f[2], &lastchg)) || (n > 4 && !days(f[4], &max)) ||
	    (n > 7 && !days(f[7], &expire)))
		return "a shadow date or age field is not a number of days";
	if (lastchg == 0)
		r->must_change = true;
	else if (lastchg > 0)
		r->changed_at = lastchg * 86400;
	if (max == 0)
		r->must_change = true;
	else if (max > 0 && max < 99999)
		r->max_age_days = max;
	/* Day 0 has passed: shadow-utils takes it as expired. */
	if (expire >= 0)
		r->expires_at = expire == 0 ? 1 : expire * 86400;
	return NULL;
}

static void
one_line(struct import *im, char *line, int64_t lineno, bool csv)
{
	char *f[MAX_FIELDS], why[256], empty[1] = "", given[65];
	struct record r = { .max_age_days = -1 };
	const char *reason = NULL;
	int n;

	if (csv) {
		if ((n = split_csv(line, ',', f)) < 0) {
			skip(im, lineno, "", "malformed CSV");
			return;
		}
		r.user = (char *)field(f, n, im->map[C_USERNAME]);
		r.name = field(f, n, im->map[C_NAME]);
		r.email = (char *)field(f, n, im->map[C_EMAIL]);
		r.role = field(f, n, im->map[C_ROLE]);
		r.hash = field(f, n, im->map[C_HASH]);
	} else {
		/* user:hash, then shadow's other fields */
		char *p = line;

		for (n = 0; n < MAX_FIELDS && p != NULL; n++) {
			f[n] = p;
			if ((p = strchr(p, ':')) != NULL)
				*p++ = '\0';
		}
		if (n < 2 || p != NULL) {
			skip(im, lineno, n < 2 ? "" : f[0], n < 2 ?
			    "expected user:hash" : "too many fields");
			return;
		}
		r.user = f[0];
		r.hash = f[1];
		r.name = r.role = r.email = empty;
		reason = shadow_fields(f, n, &r);
	}
	/* As given: the check makes it lower case. */
	strlcpy(given, r.user, sizeof(given));
	if (reason == NULL)
		reason = add_one(im, &r, why, sizeof(why));
	if (reason != NULL)
		skip(im, lineno, given, reason);
}

/*
 * The lines of text, the first being line first of the file. A later
 * piece of a CSV file comes with its header as columns; otherwise a
 * first line "username,..." is the header.
 */
static int
run(struct import *im, char *text, int64_t first, char *columns)
{
	char *line, *next;
	int64_t lineno = first - 1;
	int rc = ACCT_OK;
	bool csv = false, start = true;

	if (columns != NULL) {
		if ((rc = header(im, columns)) != ACCT_OK)
			return rc;
		csv = true;
		start = false;
	}
	for (line = text; line != NULL && rc == ACCT_OK && im->rc == ACCT_OK;
	    line = next) {
		size_t len;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (start && strncasecmp(line, "username,", 9) == 0) {
			csv = true;
			start = false;
			rc = header(im, line);
			continue;
		}
		start = false;
		one_line(im, line, lineno, csv);
	}
	return rc == ACCT_OK ? im->rc : rc;
}

struct batch {
	struct import	*im;
	char		*text;
	int64_t		 first;		/* its first line's number */
	char		*columns;	/* the CSV header, or NULL */
};

static int
batch(void *arg)
{
	struct batch *b = arg;
	int rc = run(b->im, b->text, b->first, b->columns);

	return rc == ACCT_OK && b->im->errors.failed ? ACCT_ERR_NOMEM : rc;
}

int
h_user_import(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct import im = { .x = x };
	struct batch b = { &im, req->arg[F_DATA].str,
	    PROTO_HAS(req, F_FIRST_LINE) ? req->arg[F_FIRST_LINE].i : 1,
	    PROTO_HAS(req, F_COLUMNS) ? req->arg[F_COLUMNS].str : NULL };
	bool dry = PROTO_HAS(req, F_DRY_RUN) && req->arg[F_DRY_RUN].b;
	int rc;

	if (b.first < 1)
		return ctx_fail(x, ACCT_ERR_INVALID, "first_line starts at 1");
	proto_msg_init(&im.errors);
	/* A dry run checks every line against the database and the lines
	 * before it, then rolls back. */
	if ((rc = account_batch(batch, &b, !dry)) == ACCT_OK) {
		log_info("uid %u: %s %lld accounts, skipped %lld",
		    (unsigned)x->peer->uid, dry ? "dry run: would import" :
		    "imported", (long long)im.imported, (long long)im.skipped);
		proto_kv_int(res, "imported", im.imported);
		proto_kv_int(res, "skipped", im.skipped);
		msgpack_pack_array(proto_kv_begin(res, "errors"), im.nerrors);
		proto_msg_raw(res, im.errors.data, im.errors.len);
		proto_kv_bool(res, "dry_run", dry);
		if (!dry)
			auditlog_eventf(x->peer->uid, "accounts_imported", "",
			    "%lld imported, %lld skipped, from line %lld",
			    (long long)im.imported, (long long)im.skipped,
			    (long long)b.first);
		/* Failures now wait as long as the dearest new hash takes,
		 * timed outside the transaction. */
		if (!dry && im.dearest != NULL)
			hash_time_stored(x->cfg, im.dearest);
	}
	if (im.dearest != NULL)
		freezero(im.dearest, strlen(im.dearest));
	proto_msg_free(&im.errors);
	return rc;
}
