/*
 * hashing.c: the floor of a password verify: Argon2id itself, verifying
 * one PHC string in n threads, with libsodium or with libargon2.
 */
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <sodium.h>

#include "bench.h"

/* One real PHC string of the bench password at t and m KiB. */
char *
bench_phc_at(unsigned t, unsigned m_kib)
{
	char *s = calloc(1, crypto_pwhash_argon2id_STRBYTES);

	if (s == NULL || sodium_init() < 0 ||
	    crypto_pwhash_argon2id_str(s, BENCH_PASSWORD,
	    strlen(BENCH_PASSWORD), t, (size_t)m_kib * 1024) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* At acctd's default parameters. */
char *
bench_phc(void)
{
	return bench_phc_at(BENCH_T, BENCH_M_KIB);
}

struct vctx {
	const char	*phc;
	bool		 sodium;
};

static void *
v_open(int i, void *ctx)
{
	(void)i;
	return ctx;
}

static int
v_op(void *state)
{
	const struct vctx *v = state;
	size_t n = strlen(BENCH_PASSWORD);

	if (v->sodium)
		return crypto_pwhash_argon2id_str_verify(v->phc,
		    BENCH_PASSWORD, n) == 0 ? 0 : -1;
	return argon2id_verify(v->phc, BENCH_PASSWORD, n) == ARGON2_OK ?
	    0 : -1;
}

static void
v_close(void *state)
{
	(void)state;
}

double
floor_verifies(const char *phc, bool sodium, int nthreads, double secs,
    unsigned *count)
{
	struct vctx v = { phc, sodium };
	struct load l = { v_open, v_op, v_close, &v };
	unsigned errors;
	double r;

	r = load_run(&l, nthreads, 1.0, secs, count, &errors);
	return errors ? 0 : r;
}
