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

/* Argon2 of any variant, within the same caps as current hashes. */
static bool
argon2_ok(const char *h, argon2_type *type)
{
	const char *p = strchr(h + 1, '$');
	unsigned v, m, t, lanes;
	int n = 0;

	*type = strncmp(h, "$argon2id$", 10) == 0 ? Argon2_id :
	    strncmp(h, "$argon2i$", 9) == 0 ? Argon2_i : Argon2_d;
	if (p == NULL || sscanf(p, "$v=%u$m=%u,t=%u,p=%u$%n", &v, &m, &t,
	    &lanes, &n) != 4 || n == 0)
		return false;
	return (v == 16 || v == 19) && m >= 8 && m <= ACCTD_ARGON2_MAX_M &&
	    t >= 1 && t <= ACCTD_ARGON2_MAX_T && lanes >= 1 &&
	    lanes <= ACCTD_ARGON2_MAX_P;
}

static bool
crypt_cost_ok(const char *h, const char *scheme)
{
	unsigned cost;

	if (strcmp(scheme, "bcrypt") == 0)
		return sscanf(h + 4, "%2u$", &cost) == 1 &&
		    cost <= BCRYPT_MAX_COST;
	if (strcmp(scheme, "sha512-crypt") == 0 &&
	    strncmp(h, "$6$rounds=", 10) == 0)
		return sscanf(h + 10, "%u$", &cost) == 1 &&
		    cost <= SHA512_MAX_ROUNDS;
	return true;	/* yescrypt: libcrypt bounds its parameters */
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
	return crypt_cost_ok(h, s) && strlen(h) < CRYPT_OUTPUT_SIZE;
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

/* Verify against a hash of any supported scheme, in a worker slot. */
int
hash_check(const struct hash_client *who, const char *h, const char *pw,
    size_t len)
{
	const char *s = hash_scheme(h);
	argon2_type type;
	int rc;

	if (strcmp(s, "argon2id") == 0)
		return hash_verify(who, h, pw, len);
	if (!hash_supported(h) || strlen(pw) != len)
		return ACCT_ERR_AUTH_FAILED;
	if ((rc = hash_slot_take(who)) != ACCT_OK)
		return rc;
	if (strncmp(s, "argon2", 6) == 0) {
		argon2_ok(h, &type);
		rc = argon2_verify(h, pw, len, type) == ARGON2_OK ? ACCT_OK :
		    ACCT_ERR_AUTH_FAILED;
	} else
		rc = crypt_verify(h, pw);
	hash_slot_give(who);
	return rc;
}
