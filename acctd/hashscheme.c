/*
 * hashscheme.c: every password hash scheme acctd verifies: the current
 * Argon2id (hash.c), Argon2 with other parameters or variants, and
 * imported bcrypt, sha512-crypt and yescrypt (through libcrypt's
 * crypt_r). Costs are capped so an imported or edited row cannot stall
 * a worker; a successful login re-hashes the others.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <crypt.h>

#include "../common/log.h"
#include "../common/mem.h"
#include "acctd.h"

/*
 * The cost limits of stored hashes, one per scheme: a hash over its
 * limit is refused at import and never verified, so that no row can
 * stall a worker. Each is about twice the verify of the default
 * Argon2id (m=64 MiB, t=3, p=1, the unit of hash_work() below), as
 * measured on a 2-CPU x86-64 VM: bcrypt cost 12 took 1.2-1.9 times it,
 * sha512-crypt of 1,000,000 rounds 1.2-2.4 times, yescrypt N=2^14 r=32
 * (64 MiB) 1.3 times. Argon2 of any variant may cost twice the default
 * in memory and in memory x passes, or as much as the configured
 * parameters when those are higher: a current hash always passes.
 */
#define COST_LIMIT		2.0	/* in units of the default verify */
#define BCRYPT_MAX_COST		12
#define SHA512_MAX_ROUNDS	1000000
#define SHA512_DEFAULT_ROUNDS	5000
#define YESCRYPT_MAX_WORK	(UINT64_C(1) << 19)	/* N x r x p x (t+1) */
#define YESCRYPT_MAX_BYTES	(UINT64_C(64) << 20)	/* 128 x N x r x p */
#define ARGON2_DEFAULT_M	65536
#define ARGON2_DEFAULT_T	3
/* What each costs against the default Argon2id, from the same runs. */
#define BCRYPT12_WORK		1.5
#define SHA512_1M_WORK		1.8
#define YESCRYPT_MAX_WORK_UNITS	1.3

const char *const hash_scheme_names[HS__COUNT] = {
	[HS_ARGON2ID]	= "argon2id",
	[HS_ARGON2I]	= "argon2i",
	[HS_ARGON2D]	= "argon2d",
	[HS_BCRYPT]	= "bcrypt",
	[HS_SHA512]	= "sha512-crypt",
	[HS_YESCRYPT]	= "yescrypt",
};

static const struct {
	const char	*prefix;
	enum hash_scheme_id id;
} schemes[] = {
	{ "$argon2id$",	HS_ARGON2ID },
	{ "$argon2i$",	HS_ARGON2I },
	{ "$argon2d$",	HS_ARGON2D },
	{ "$2a$",	HS_BCRYPT },
	{ "$2b$",	HS_BCRYPT },
	{ "$2y$",	HS_BCRYPT },
	{ "$6$",	HS_SHA512 },
	{ "$y$",	HS_YESCRYPT },
};

int
hash_scheme_id(const char *h)
{
	for (size_t i = 0; h != NULL && i < sizeof(schemes) /
	    sizeof(schemes[0]); i++)
		if (strncmp(h, schemes[i].prefix, strlen(schemes[i].prefix)) == 0)
			return (int)schemes[i].id;
	return -1;
}

const char *
hash_scheme(const char *h)
{
	int id = hash_scheme_id(h);

	if (id >= 0)
		return hash_scheme_names[id];
	return h == NULL ? "none" : "unknown";
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

/* A hash's parameters, as its cost needs them. */
struct cost {
	double		 work;		/* in units of the default verify */
	unsigned	 m, t;		/* Argon2 */
};

/*
 * Argon2 of any variant, within the same caps as current hashes:
 * $argon2X$v=19$m=M,t=T,p=P$SALT$HASH, a salt of at least 8 bytes and
 * an output of at least 4, as libargon2 writes them.
 */
static bool
argon2_ok(const char *h, argon2_type *type, struct cost *cost)
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
	cost->m = m;
	cost->t = t;
	cost->work = (double)m * t / (ARGON2_DEFAULT_M * ARGON2_DEFAULT_T);
	return (v == 16 || v == 19) && m >= 8 && m <= ACCTD_ARGON2_MAX_M &&
	    t >= 1 && t <= ACCTD_ARGON2_MAX_T && lanes >= 1 &&
	    lanes <= ACCTD_ARGON2_MAX_P && m >= 8 * lanes;
}

/*
 * yescrypt's variable-length numbers in its parameter field, as its
 * reference code reads them: the first character's value picks how
 * many more follow; min is added.
 */
static bool
yes_number(const char **p, uint32_t min, uint64_t *out)
{
	uint32_t start = 0, end = 47, chars = 1, bits = 0;
	const char *c = strchr(CRYPT64, **p);
	uint64_t v;

	if (**p == '\0' || c == NULL)
		return false;
	v = (uint64_t)(c - CRYPT64);
	(*p)++;
	*out = min;
	while (v > end) {
		*out += (uint64_t)(end + 1 - start) << bits;
		start = end + 1;
		end = start + (62 - end) / 2;
		chars++;
		bits += 6;
	}
	*out += (v - start) << bits;
	while (--chars) {
		if (**p == '\0' || (c = strchr(CRYPT64, **p)) == NULL)
			return false;
		(*p)++;
		bits -= 6;
		*out += (uint64_t)(c - CRYPT64) << bits;
	}
	return true;
}

/* yescrypt's flavor, N, r and the optional p and t of $y$PARAMS$. */
static bool
yescrypt_cost(const char *h, struct cost *cost)
{
	const char *p = h + 3;
	uint64_t flavor, nlog, r, have = 0, lanes = 1, t = 0, g = 0;
	uint64_t work, bytes;

	if (!yes_number(&p, 0, &flavor) || !yes_number(&p, 1, &nlog) ||
	    nlog > 40 || !yes_number(&p, 1, &r) || r > (1 << 20))
		return false;
	if (*p != '$' && (!yes_number(&p, 1, &have) || have > 15 ||
	    ((have & 1) && !yes_number(&p, 2, &lanes)) ||
	    ((have & 2) && !yes_number(&p, 1, &t)) ||
	    ((have & 4) && !yes_number(&p, 1, &g)) || (have & 8)))
		return false;	/* (a ROM is for servers that have one) */
	if (*p != '$' || lanes > 64 || t > 64 || g > 0)
		return false;
	work = ((uint64_t)1 << nlog) * r * lanes * (t + 1);
	bytes = ((uint64_t)128 << nlog) * r * lanes;
	cost->work = YESCRYPT_MAX_WORK_UNITS * (double)work /
	    (double)YESCRYPT_MAX_WORK;
	return work <= YESCRYPT_MAX_WORK && bytes <= YESCRYPT_MAX_BYTES;
}

/*
 * The crypt(3) schemes, as libcrypt writes them: anything else (a
 * short or long checksum, a salt crypt would cut) can never verify,
 * and is refused when it arrives rather than at the first login.
 */
static bool
crypt_ok(const char *h, const char *scheme, struct cost *c)
{
	const char *p = h + 3;
	unsigned cost;

	if (strcmp(scheme, "bcrypt") == 0) {
		p = h + 4;	/* $2b$NN$, 22 of salt and 31 of checksum */
		if (strspn(p, "0123456789") != 2 || p[2] != '$' ||
		    (cost = (unsigned)(p[0] - '0') * 10 +
		    (unsigned)(p[1] - '0')) < 4 || cost > 31)
			return false;
		c->work = BCRYPT12_WORK * (double)(UINT64_C(1) << cost) /
		    (double)(1 << 12);
		return cost <= BCRYPT_MAX_COST && strlen(p + 3) == 53 &&
		    strspn(p + 3, CRYPT64) == 53;
	}
	if (strcmp(scheme, "sha512-crypt") == 0) {
		/* $6$[rounds=N$]SALT$ and 86 of checksum */
		cost = SHA512_DEFAULT_ROUNDS;
		if (literal(&p, "rounds=") && (!number(&p, &cost) ||
		    cost < 1000 || !literal(&p, "$")))
			return false;
		c->work = SHA512_1M_WORK * cost / 1e6;
		return cost <= SHA512_MAX_ROUNDS && field64(&p, CRYPT64, 1, 16) &&
		    literal(&p, "$") && field64(&p, CRYPT64, 86, 86) &&
		    *p == '\0';
	}
	/* yescrypt: $y$PARAMS$SALT$ and 43 of checksum. */
	return yescrypt_cost(h, c) && field64(&p, CRYPT64, 1, 64) &&
	    literal(&p, "$") && field64(&p, CRYPT64, 1, 86) &&
	    literal(&p, "$") && field64(&p, CRYPT64, 43, 43) && *p == '\0';
}

/* Well formed, and its cost: false for anything acctd cannot verify. */
static bool
parse(const char *h, struct cost *c)
{
	const char *s = hash_scheme(h);
	argon2_type type;

	memset(c, 0, sizeof(*c));
	if (strncmp(s, "argon2", 6) == 0)
		return argon2_ok(h, &type, c);
	if (strcmp(s, "unknown") == 0 || strcmp(s, "none") == 0)
		return false;
	return strlen(h) < CRYPT_OUTPUT_SIZE && crypt_ok(h, s, c);
}

bool
hash_supported(const struct config *cfg, const char *h)
{
	struct cost c;

	if (!parse(h, &c))
		return false;
	if (strncmp(h, "$argon2", 7) != 0)
		return c.work <= COST_LIMIT;
	/* Twice the default, or what the config asks of its own. */
	return (c.m <= 2 * ARGON2_DEFAULT_M || c.m <= cfg->argon2_m) &&
	    ((double)c.m * c.t <= COST_LIMIT * ARGON2_DEFAULT_M *
	    ARGON2_DEFAULT_T || (double)c.m * c.t <=
	    (double)cfg->argon2_m * cfg->argon2_t);
}

double
hash_work(const char *h)
{
	struct cost c;

	return h != NULL && parse(h, &c) ? c.work : 0;
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
		struct cost c;

		argon2_ok(j->stored, &type, &c);
		return argon2_verify(j->stored, j->pw, j->len, type) ==
		    ARGON2_OK ? ACCT_OK : ACCT_ERR_AUTH_FAILED;
	}
	return crypt_verify(j->stored, j->pw);
}

/* Verify against a hash of any supported scheme, in a worker slot. A
 * hash over the limits is never tried: it fails, and the caller's
 * padding makes that take what a verify would. */
int
hash_check(const struct config *cfg, const struct hash_client *who,
    const char *h, const char *pw, size_t len)
{
	const char *s = hash_scheme(h);
	int rc;

	if (!hash_supported(cfg, h)) {
		log_warn("a stored password hash (%s) is malformed or over the "
		    "cost limits: not tried; set a new password", s);
		return ACCT_ERR_AUTH_FAILED;
	}
	if (strcmp(s, "argon2id") == 0)
		return hash_verify(who, h, pw, len);
	if (strlen(pw) != len)
		return ACCT_ERR_AUTH_FAILED;
	if ((rc = hash_slot_take(who)) != ACCT_OK)
		return rc;
	rc = hash_run(&(struct hash_job){ .stored = h, .pw = pw,
	    .len = len }, job_verify);
	stats_hash(hash_scheme_id(h));
	hash_slot_give(who);
	return rc;
}
