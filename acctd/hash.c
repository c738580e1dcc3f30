/*
 * hash.c: Argon2id password hashes as PHC strings. At most hash_workers
 * hashes run at once and at most hash_queue wait, so memory stays below
 * workers x m_cost above the base however many clients ask.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <argon2.h>
#include <bsd/stdlib.h>

#include "../common/log.h"
#include "acctd.h"

#define SALT_LEN	16
#define HASH_LEN	32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t freed = PTHREAD_COND_INITIALIZER;
static unsigned running, waiting;

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
	log_info("hashing: argon2id m=%u KiB t=%u p=%u, %u workers",
	    c->argon2_m, c->argon2_t, c->argon2_p, workers(c));
	return 0;
}

/* Take a worker slot, or ACCT_ERR_BUSY when the queue is full. */
int
hash_slot_take(void)
{
	struct config c;

	config_current(&c);
	pthread_mutex_lock(&lock);
	if (running >= workers(&c) && waiting >= c.hash_queue) {
		pthread_mutex_unlock(&lock);
		return ACCT_ERR_BUSY;
	}
	waiting++;
	while (running >= workers(&c)) {
		pthread_cond_wait(&freed, &lock);
		config_current(&c);
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

int
hash_password(const struct config *c, const char *pw, size_t len, char **phc)
{
	uint8_t salt[SALT_LEN];
	size_t enclen;
	char *enc;
	int rc;

	*phc = NULL;
	enclen = argon2_encodedlen(c->argon2_t, c->argon2_m, c->argon2_p,
	    SALT_LEN, HASH_LEN, Argon2_id);
	if ((enc = malloc(enclen)) == NULL)
		return ACCT_ERR_NOMEM;
	arc4random_buf(salt, sizeof(salt));
	if ((rc = hash_slot_take()) != ACCT_OK) {
		free(enc);
		return rc;
	}
	rc = argon2id_hash_encoded(c->argon2_t, c->argon2_m, c->argon2_p,
	    pw, len, salt, sizeof(salt), HASH_LEN, enc, enclen);
	hash_slot_give();
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

/*
 * libargon2 takes memory and time cost from the string it verifies, so
 * read them first and refuse anything over the hard caps.
 */
static int
params_ok(const char *phc)
{
	unsigned v, m, t, p;
	int n = 0;

	if (strncmp(phc, "$argon2id$", 10) != 0)
		return 0;
	if (sscanf(phc + 10, "v=%u$m=%u,t=%u,p=%u$%n", &v, &m, &t, &p,
	    &n) != 4 || n == 0)
		return 0;
	return v == ARGON2_VERSION_13 && m >= 8 && m <= ACCTD_ARGON2_MAX_M &&
	    t >= 1 && t <= ACCTD_ARGON2_MAX_T && p >= 1 && p <= ACCTD_ARGON2_MAX_P;
}

int
hash_verify(const char *phc, const char *pw, size_t len)
{
	int rc;

	if (!params_ok(phc)) {
		log_warn("stored password hash has an unsupported format or "
		    "parameters over the limits; refusing it");
		return ACCT_ERR_AUTH_FAILED;
	}
	if ((rc = hash_slot_take()) != ACCT_OK)
		return rc;
	rc = argon2id_verify(phc, pw, len);
	hash_slot_give();
	if (rc == ARGON2_OK)
		return ACCT_OK;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return ACCT_ERR_AUTH_FAILED;
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		return ACCT_ERR_NOMEM;
	log_warn("argon2id_verify: %s", argon2_error_message(rc));
	return ACCT_ERR_AUTH_FAILED;
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
