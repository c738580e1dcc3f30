/*
 * hash.c: Argon2id password hashes as PHC strings. At most hash_workers
 * hashes run at once and at most hash_queue wait, so memory stays below
 * workers x m_cost above the base however many clients ask.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <bsd/stdlib.h>
#include <sodium.h>

#include "../common/log.h"
#include "acctd.h"

#define SALT_LEN	16
#define HASH_LEN	32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static unsigned running, waiting;

/*
 * Two backends, one format. libsodium picks SIMD code (AVX2, AVX-512)
 * at run time and is about twice as fast as Debian's portable libargon2
 * (README), so it hashes and verifies every p=1 string. libargon2 does
 * p > 1 (in threads, for hashing and verifying alike, so a dummy hash
 * costs what a verify does) and any string libsodium cannot read.
 */
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static bool sodium_ok;

static void
sodium_start(void)
{
	sodium_ok = sodium_init() >= 0;
}

static bool
use_sodium(uint32_t p)
{
	pthread_once(&sodium_once, sodium_start);
	return p == 1 && sodium_ok;
}

static unsigned
workers(const struct config *c)
{
	long n;

	if (c->hash_workers > 0)
		return c->hash_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int
hash_init(const struct config *c)
{
	if (!use_sodium(1))
		log_warn("libsodium cannot start; hashing with libargon2");
	log_info("hashing: argon2id m=%u KiB t=%u p=%u, %u workers, %s",
	    c->argon2_m, c->argon2_t, c->argon2_p, workers(c),
	    use_sodium(c->argon2_p) ? "libsodium" : "libargon2");
	return 0;
}

/*
 * Workers and queue length of the live config, copied through the heap:
 * hundreds of threads wait here, each would keep 8 KiB of stack for it.
 */
static int
limits(unsigned *nworkers, unsigned *queue)
{
	struct config *c;

	if ((c = malloc(sizeof(*c))) == NULL)
		return -1;
	config_current(c);
	*nworkers = workers(c);
	*queue = c->hash_queue;
	free(c);
	return 0;
}

/* Take a worker slot, or ACCT_ERR_BUSY when the queue is full. */
int
hash_slot_take(void)
{
	unsigned nworkers, queue;

	if (limits(&nworkers, &queue) == -1)
		return ACCT_ERR_NOMEM;
	pthread_mutex_lock(&lock);
	if (running >= nworkers && waiting >= queue) {
		pthread_mutex_unlock(&lock);
		return ACCT_ERR_BUSY;
	}
	waiting++;
	while (running >= nworkers) {
		pthread_cond_wait(&freed, &lock);
		(void)limits(&nworkers, &queue);	/* SIGHUP */
	}
	waiting--;
	running++;
	pthread_mutex_unlock(&lock);
	return ACCT_OK;
}

void
hash_slot_give(void)
{
	pthread_mutex_lock(&lock);
	running--;
	pthread_cond_signal(&freed);
	pthread_mutex_unlock(&lock);
}

static int
ref_hash(const struct config *c, const char *pw, size_t len, char **phc)
{
	uint8_t salt[SALT_LEN];
	size_t enclen;
	char *enc;
	int rc;

	enclen = argon2_encodedlen(c->argon2_t, c->argon2_m, c->argon2_p,
	    SALT_LEN, HASH_LEN, Argon2_id);
	if ((enc = malloc(enclen)) == NULL)
		return ACCT_ERR_NOMEM;
	arc4random_buf(salt, sizeof(salt));
	rc = argon2id_hash_encoded(c->argon2_t, c->argon2_m, c->argon2_p,
	    pw, len, salt, sizeof(salt), HASH_LEN, enc, enclen);
	explicit_bzero(salt, sizeof(salt));
	if (rc != ARGON2_OK) {
		log_err("argon2id_hash_encoded: %s", argon2_error_message(rc));
		free(enc);
		return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? ACCT_ERR_NOMEM :
		    ACCT_ERR_INTERNAL;
	}
	*phc = enc;
	return ACCT_OK;
}

/* The same string: 16-byte random salt, 32-byte hash, p=1. */
static int
sodium_hash(const struct config *c, const char *pw, size_t len, char **phc)
{
	char *enc;

	if ((enc = malloc(crypto_pwhash_argon2id_STRBYTES)) == NULL)
		return ACCT_ERR_NOMEM;
	errno = 0;
	if (crypto_pwhash_argon2id_str(enc, pw, len, c->argon2_t,
	    (size_t)c->argon2_m * 1024) != 0) {
		int e = errno;
		free(enc);
		return e == ENOMEM ? ACCT_ERR_NOMEM : ACCT_ERR_INTERNAL;
	}
	*phc = enc;
	return ACCT_OK;
}

int
hash_password(const struct config *c, const char *pw, size_t len, char **phc)
{
	int rc;

	*phc = NULL;
	if ((rc = hash_slot_take()) != ACCT_OK)
		return rc;
	rc = ACCT_ERR_INTERNAL;
	if (use_sodium(c->argon2_p))
		rc = sodium_hash(c, pw, len, phc);
	if (rc == ACCT_ERR_INTERNAL)
		rc = ref_hash(c, pw, len, phc);
	hash_slot_give();
	return rc;
}

/*
 * libargon2 takes memory and time cost from the string it verifies, so
 * read them first and refuse anything over the hard caps.
 */
static int
params_ok(const char *phc, unsigned *p)
{
	unsigned v, m, t;
	int n = 0;

	if (strncmp(phc, "$argon2id$", 10) != 0)
		return 0;
	if (sscanf(phc + 10, "v=%u$m=%u,t=%u,p=%u$%n", &v, &m, &t, p,
	    &n) != 4 || n == 0)
		return 0;
	return v == ARGON2_VERSION_13 && m >= 8 && m <= ACCTD_ARGON2_MAX_M &&
	    t >= 1 && t <= ACCTD_ARGON2_MAX_T && *p >= 1 &&
	    *p <= ACCTD_ARGON2_MAX_P;
}

static int
ref_verify(const char *phc, const char *pw, size_t len)
{
	int rc = argon2id_verify(phc, pw, len);

	if (rc == ARGON2_OK)
		return ACCT_OK;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return ACCT_ERR_AUTH_FAILED;
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		return ACCT_ERR_NOMEM;
	log_warn("argon2id_verify: %s", argon2_error_message(rc));
	return ACCT_ERR_AUTH_FAILED;
}

/* ACCT_OK, ACCT_ERR_AUTH_FAILED, or ACCT_ERR_INTERNAL: could not tell. */
static int
sodium_verify(const char *phc, const char *pw, size_t len)
{
	errno = 0;
	if (crypto_pwhash_argon2id_str_verify(phc, pw, len) == 0)
		return ACCT_OK;
	return errno == EINVAL ? ACCT_ERR_AUTH_FAILED : ACCT_ERR_INTERNAL;
}

int
hash_verify(const char *phc, const char *pw, size_t len)
{
	unsigned p;
	int rc;

	if (!params_ok(phc, &p)) {
		log_warn("stored password hash has an unsupported format or "
		    "parameters over the limits; refusing it");
		return ACCT_ERR_AUTH_FAILED;
	}
	if ((rc = hash_slot_take()) != ACCT_OK)
		return rc;
	rc = ACCT_ERR_INTERNAL;
	if (use_sodium(p))
		rc = sodium_verify(phc, pw, len);
	if (rc == ACCT_ERR_INTERNAL)
		rc = ref_verify(phc, pw, len);
	hash_slot_give();
	return rc;
}

/*
 * An unknown user costs what a known one does: hash the password with a
 * fresh salt at the current parameters and throw the result away.
 */
void
hash_dummy_verify(const struct config *c, const char *pw, size_t len)
{
	char *phc = NULL;

	if (hash_password(c, pw, len, &phc) == ACCT_OK)
		freezero(phc, strlen(phc));
}

void
hash_current_prefix(const struct config *c, char *out, size_t n)
{
	snprintf(out, n, "$argon2id$v=%d$m=%u,t=%u,p=%u$",
	    ARGON2_VERSION_13, c->argon2_m, c->argon2_t, c->argon2_p);
}

bool
hash_needs_rehash(const struct config *c, const char *phc)
{
	char want[96];

	hash_current_prefix(c, want, sizeof(want));
	return strncmp(phc, want, strlen(want)) != 0;
}
