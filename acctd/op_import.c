/*
 * op_import.c: the users import handler: accounts with hashes from elsewhere, as CSV
 * (header: username,name,email,role,hash; more columns ignored) or as
 * "user:hash" lines (htpasswd, or shadow's user:hash:...). Each line is
 * checked on its own and a bad one is skipped with its reason; the good
 * ones go in one transaction, so nothing is half imported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "../common/log.h"
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

static void
skip(struct import *im, int lineno, const char *reason)
{
	im->skipped++;
	if (im->nerrors >= MAX_REPORTED)
		return;
	msgpack_pack_map(&im->errors.pk, 2);
	proto_pack_cstr(&im->errors.pk, "line");
	msgpack_pack_int64(&im->errors.pk, lineno);
	proto_pack_cstr(&im->errors.pk, "reason");
	proto_pack_cstr(&im->errors.pk, reason);
	im->nerrors++;
}

static const char *
field(char *f[], int n, int col)
{
	return col >= 0 && col < n ? f[col] : "";
}

/* Check one record and insert it (inside the batch); a reason or NULL. */
static const char *
add_one(struct import *im, char *user, const char *name, char *email,
    const char *role, const char *hash, char *why, size_t whysz)
{
	struct account a;
	int rc;

	if (validate_username(user, why, whysz) == -1)
		return why;
	if (hash[0] == '\0' || hash[0] == '!' || hash[0] == '*')
		return "no password hash (locked or empty)";
	if (!hash_supported(hash))
		return "unsupported hash scheme or cost over the limits";
	if (email[0] != '\0' && validate_email(email, why, whysz) == -1)
		return why;
	if (role[0] != '\0' && validate_role(role, why, whysz) == -1)
		return why;
	if (validate_text("name", name, why, whysz) == -1)
		return why;
	memset(&a, 0, sizeof(a));
	a.username = user;
	a.name = (char *)name;
	a.email = email[0] ? email : NULL;
	a.role = (char *)(role[0] ? role : "user");
	a.upload_path = a.auth_id = (char *)"";
	a.auth_provider = (char *)"local";
	a.hash = (char *)hash;
	a.login = a.activated = true;
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

static void
one_line(struct import *im, char *line, int lineno, bool csv)
{
	char *f[MAX_FIELDS], why[256], empty[1] = "";
	const char *reason;
	int n;

	if (csv) {
		if ((n = split_csv(line, ',', f)) < 0) {
			skip(im, lineno, "malformed CSV");
			return;
		}
	} else {
		/* user:hash, then shadow's other fields, ignored */
		char *colon = strchr(line, ':');
		if (colon == NULL) {
			skip(im, lineno, "expected user:hash");
			return;
		}
		*colon = '\0';
		f[0] = line;
		f[1] = colon + 1;
		if ((colon = strchr(f[1], ':')) != NULL)
			*colon = '\0';
		n = 2;
	}
	if (csv) {
		char *email = (char *)field(f, n, im->map[C_EMAIL]);
		reason = add_one(im, (char *)field(f, n, im->map[C_USERNAME]),
		    field(f, n, im->map[C_NAME]), email[0] ? email : empty,
		    field(f, n, im->map[C_ROLE]), field(f, n, im->map[C_HASH]),
		    why, sizeof(why));
	} else
		reason = add_one(im, f[0], "", empty, "", f[1], why,
		    sizeof(why));
	if (reason != NULL)
		skip(im, lineno, reason);
}

static int
run(struct import *im, char *text)
{
	char *line, *next;
	int lineno = 0, rc = ACCT_OK;
	bool csv = false, first = true;

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
		if (first && strncasecmp(line, "username,", 9) == 0) {
			csv = true;
			first = false;
			rc = header(im, line);
			continue;
		}
		first = false;
		one_line(im, line, lineno, csv);
	}
	return rc == ACCT_OK ? im->rc : rc;
}

struct batch {
	struct import	*im;
	char		*text;
};

static int
batch(void *arg)
{
	struct batch *b = arg;
	int rc = run(b->im, b->text);

	return rc == ACCT_OK && b->im->errors.failed ? ACCT_ERR_NOMEM : rc;
}

int
h_user_import(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	struct import im = { .x = x };
	struct batch b = { &im, req->arg[F_DATA].str };
	int rc;

	proto_msg_init(&im.errors);
	if ((rc = account_batch(batch, &b)) == ACCT_OK) {
		log_info("uid %u: imported %lld accounts, skipped %lld",
		    (unsigned)x->peer->uid, (long long)im.imported,
		    (long long)im.skipped);
		proto_kv_int(res, "imported", im.imported);
		proto_kv_int(res, "skipped", im.skipped);
		msgpack_pack_array(proto_kv_begin(res, "errors"), im.nerrors);
		proto_msg_raw(res, im.errors.data, im.errors.len);
	}
	proto_msg_free(&im.errors);
	return rc;
}
