/*
 * hashscheme.c: every password hash scheme acctd verifies: the current
 * Argon2id (hash.c), Argon2 with other parameters or variants, and
 * imported bcrypt, sha512-crypt and yescrypt (through libcrypt's
 * crypt_r). Costs are capped so an imported or edited row cannot stall
 * a worker; a successful login re-hashes the others.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <crypt.h>

#include "../common/mem.h"
#include "acctd.h"

#define BCRYPT_MAX_COST		16
#define SHA512_MAX_ROUNDS	5000000

static const struct {
	const char	*prefix;
	const char	*name;
} schemes[] = {
	{ "$argon2id$",	"argon2id" },
	{ "$argon2i$",	"argon2i" },
	{ "$argon2d$",	"argon2d" },
	{ "$2a$",	"bcrypt" },
	{ "$2b$",	"bcrypt" },
	{ "$2y$",	"bcrypt" },
	{ "$6$",	"sha512-crypt" },
	{ "$y$",	"yescrypt" },
};

const char *
hash_scheme(const char *h)
{
	if (h == NULL)
		return "none";
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(h, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			return schemes[i].name;
	return "unknown";
}

/* crypt(3)'s base-64 alphabet, and the standard one of PHC strings. */
#define CRYPT64	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define B64	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/*
 * A decimal number of 1 to 9 digits at *p, and nothing else (no sign,
 * no space, no leading zero), moving *p past it.
 */
static bool
number(const char **p, unsigned *out)
{
	size_t n = strspn(*p, "0123456789");

	if (n == 0 || n > 9 || (n > 1 && **p == '0'))
		return false;
	*out = (unsigned)strtoul(*p, NULL, 10);
	*p += n;
	return true;
}

/* s at *p, moving past it. */
static bool
literal(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

/* A run of min to max characters of set at *p, then end (the next
 * character is '$' or NUL), moving past it. */
static bool
field64(const char **p, const char *set, size_t min, size_t max)
{
	size_t n = strspn(*p, set);

	if (n < min || n > max || ((*p)[n] != '$' && (*p)[n] != '\0'))
		return false;
	*p += n;
	return true;
}

/*
 * Base-64 without padding, as libargon2 decodes it: 4k, 4k+2 or 4k+3
 * characters, the bits past the last whole byte zero. (An Argon2 tag
 * has no fixed length: this is all that tells a cut one.)
 */
static bool
b64_field(const char **p, size_t min_bytes)
{
	const char *s = *p;
	size_t n;
	unsigned last;

	if (!field64(p, B64, (min_bytes * 4 + 2) / 3, 4096))
		return false;
	n = (size_t)(*p - s);
	last = (unsigned)(strchr(B64, s[n - 1]) - B64);	/* its value */
	return n % 4 != 1 && (n % 4 != 2 || (last & 15) == 0) &&
	    (n % 4 != 3 || (last & 3) == 0);
}

/*
 * Argon2 of any variant, within the same caps as current hashes:
 * $argon2X$v=19$m=M,t=T,p=P$SALT$HASH, a salt of at least 8 bytes and
 * an output of at least 4, as libargon2 writes them.
 */
static bool
argon2_ok(const char *h, argon2_type *type)
{
	const char *p = strchr(h + 1, '$');
	unsigned v, m, t, lanes;

	*type = strncmp(h, "$argon2id$", 10) == 0 ? Argon2_id :
	    strncmp(h, "$argon2i$", 9) == 0 ? Argon2_i : Argon2_d;
	if (p == NULL || !literal(&p, "$v=") || !number(&p, &v) ||
	    !literal(&p, "$m=") || !number(&p, &m) || !literal(&p, ",t=") ||
	    !number(&p, &t) || !literal(&p, ",p=") || !number(&p, &lanes) ||
	    !literal(&p, "$") || !b64_field(&p, 8) || !literal(&p, "$") ||
	    !b64_field(&p, 4) || *p != '\0')
		return false;
	return (v == 16 || v == 19) && m >= 8 && m <= ACCTD_ARGON2_MAX_M &&
	    t >= 1 && t <= ACCTD_ARGON2_MAX_T && lanes >= 1 &&
	    lanes <= ACCTD_ARGON2_MAX_P && m >= 8 * lanes;
}

/*
 * The crypt(3) schemes, as libcrypt writes them: anything else (a
 * short or long checksum, a salt crypt would cut) can never verify,
 * and is refused when it arrives rather than at the first login.
 */
static bool
crypt_ok(const char *h, const char *scheme)
{
	const char *p = h + 3;
	unsigned cost;

	if (strcmp(scheme, "bcrypt") == 0) {
		p = h + 4;	/* $2b$NN$, 22 of salt and 31 of checksum */
		return strspn(p, "0123456789") == 2 && p[2] == '$' &&
		    (cost = (unsigned)(p[0] - '0') * 10 +
		    (unsigned)(p[1] - '0')) >= 4 && cost <= BCRYPT_MAX_COST &&
		    strlen(p + 3) == 53 && strspn(p + 3, CRYPT64) == 53;
	}
	if (strcmp(scheme, "sha512-crypt") == 0) {
		/* $6$[rounds=N$]SALT$ and 86 of checksum */
		if (literal(&p, "rounds=") && (!number(&p, &cost) ||
		    cost < 1000 || cost > SHA512_MAX_ROUNDS || !literal(&p, "$")))
			return false;
		return field64(&p, CRYPT64, 1, 16) && literal(&p, "$") &&
		    field64(&p, CRYPT64, 86, 86) && *p == '\0';
	}
	/* yescrypt: $y$PARAMS$SALT$ and 43 of checksum; libcrypt bounds
	 * the parameters. */
	return field64(&p, CRYPT64, 1, 64) && literal(&p, "$") &&
	    field64(&p, CRYPT64, 1, 86) && literal(&p, "$") &&
	    field64(&p, CRYPT64, 43, 43) && *p == '\0';
}

bool
hash_supported(const char *h)
{
	const char *s = hash_scheme(h);
	argon2_type type;

	if (strncmp(s, "argon2", 6) == 0)
		return argon2_ok(h, &type);
	if (strcmp(s, "unknown") == 0 || strcmp(s, "none") == 0)
		return false;
	return crypt_ok(h, s) && strlen(h) < CRYPT_OUTPUT_SIZE;
}

static int
crypt_verify(const char *h, const char *pw)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *out;
	int rc = ACCT_ERR_AUTH_FAILED;

	if (cd == NULL)
		return ACCT_ERR_NOMEM;
	out = crypt_r(pw, h, cd);
	/* crypt_r returns "*0"-style failure tokens, never the setting. */
	if (out != NULL && out[0] == '$' && strlen(out) == strlen(h) &&
	    mem_equal_ct(out, h, strlen(h)))
		rc = ACCT_OK;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* A hash of a scheme other than argon2id, on a hash runner. */
static int
job_verify(struct hash_job *j)
{
	argon2_type type;

	if (strncmp(hash_scheme(j->stored), "argon2", 6) == 0) {
		argon2_ok(j->stored, &type);
		return argon2_verify(j->stored, j->pw, j->len, type) ==
		    ARGON2_OK ? ACCT_OK : ACCT_ERR_AUTH_FAILED;
	}
	return crypt_verify(j->stored, j->pw);
}

/* Verify against a hash of any supported scheme, in a worker slot. */
int
hash_check(const struct hash_client *who, const char *h, const char *pw,
    size_t len)
{
	const char *s = hash_scheme(h);
	int rc;

	if (strcmp(s, "argon2id") == 0)
		return hash_verify(who, h, pw, len);
	if (!hash_supported(h) || strlen(pw) != len)
		return ACCT_ERR_AUTH_FAILED;
	if ((rc = hash_slot_take(who)) != ACCT_OK)
		return rc;
	rc = hash_run(&(struct hash_job){ .stored = h, .pw = pw,
	    .len = len }, job_verify);
	hash_slot_give(who);
	return rc;
}
