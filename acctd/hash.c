/*
 * hash.c: Argon2id password hashes as PHC strings. At most hash_workers
 * hashes run at once and at most hash_queue wait, so memory stays below
 * workers x m_cost above the base however many clients ask. They run on
 * threads of their own at a lower priority than the requests.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <argon2.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <sodium.h>

#include "../common/log.h"
#include "acctd.h"

#define SALT_LEN	16
#define HASH_LEN	32
/* Hashes yield the CPU to cheap requests: a token check that wakes
 * while both CPUs hash runs at once, not after a slice of Argon2. */
#define HASH_NICE	10
#define RUNNER_STACK	(256 * 1024)
/* A hash cheaper than this delays no request: it runs in place, sparing
 * the hand-over (two thread switches). */
#define INLINE_US	1000

/*
 * The pool. Admins and authenticators (reserved callers) may use every
 * worker and queue place and are served first; the other callers share
 * what is left of the workers after the reserve and a quarter of the
 * queue, with at most one hash in flight per uid: one local user cannot
 * starve the services' logins, nor keep more than one worker busy.
 */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reserved_turn = PTHREAD_COND_INITIALIZER;
static pthread_cond_t plain_turn = PTHREAD_COND_INITIALIZER;
static unsigned running, running_plain, waiting, waiting_plain;
static uid_t *inflight;		/* uids of plain callers with a hash */
static size_t ninflight, inflight_cap;

/* The cost of one verify at the current parameters, for padding. */
static _Atomic int64_t cost_us;
static char cost_params[96];

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

/* Counted once at start: sysconf() reads a file in /sys for it, which
 * a login that asked each time would pay three system calls for. */
static unsigned online_cpus = 1;

static unsigned
workers(const struct config *c)
{
	return c->hash_workers > 0 ? c->hash_workers : online_cpus;
}

int
hash_init(const struct config *c)
{
	static const struct hash_client self = { .reserved = true };
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n > 0)
		online_cpus = (unsigned)n;
	if (!use_sodium(1))
		log_warn("libsodium cannot start; hashing with libargon2");
	/* One hash now, so the padding of failures knows its cost. */
	(void)hash_dummy(c, &self, "acctd", 5);
	log_info("hashing: argon2id m=%u KiB t=%u p=%u, %u workers, %s",
	    c->argon2_m, c->argon2_t, c->argon2_p, workers(c),
	    use_sodium(c->argon2_p) ? "libsodium" : "libargon2");
	return 0;
}

/*
 * Workers and queue length of the live config, read from the shared
 * snapshot (config_hold()): a wait after every wake-up, under the pool's
 * lock, costs a reference, not a copy of the whole config.
 */
static int
limits(unsigned *nworkers, unsigned *queue)
{
	const struct config *c;

	if ((c = config_hold()) == NULL)
		return -1;
	*nworkers = workers(c);
	*queue = c->hash_queue;
	config_release(c);
	return 0;
}

/* Workers kept for reserved callers: half, or none with one worker. */
static unsigned
reserve(unsigned nworkers)
{
	return nworkers / 2;
}

static bool
can_run(bool reserved, unsigned nworkers)
{
	if (running >= nworkers)
		return false;
	return reserved || (waiting == 0 &&
	    running_plain < nworkers - reserve(nworkers));
}

static bool
uid_inflight(uid_t uid)
{
	for (size_t i = 0; i < ninflight; i++)
		if (inflight[i] == uid)
			return true;
	return false;
}

static int
uid_add(uid_t uid)
{
	if (ninflight == inflight_cap) {
		size_t cap = inflight_cap ? 2 * inflight_cap : 8;
		uid_t *n = reallocarray(inflight, cap, sizeof(*n));

		if (n == NULL)
			return -1;
		inflight = n;
		inflight_cap = cap;
	}
	inflight[ninflight++] = uid;
	return 0;
}

static void
uid_remove(uid_t uid)
{
	for (size_t i = 0; i < ninflight; i++)
		if (inflight[i] == uid) {
			inflight[i] = inflight[--ninflight];
			return;
		}
}

/* Would the caller be refused a slot now? (lock held) */
static bool
refused(const struct hash_client *who, unsigned nworkers, unsigned queue)
{
	bool r = who->reserved;

	if (!r && uid_inflight(who->uid))
		return true;
	return !can_run(r, nworkers) && (r ? waiting >= queue :
	    waiting_plain >= (queue + 3) / 4);
}

int
hash_admit(const struct hash_client *who)
{
	unsigned nworkers, queue;
	bool no;

	if (limits(&nworkers, &queue) == -1)
		return ACCT_ERR_NOMEM;
	pthread_mutex_lock(&lock);
	no = refused(who, nworkers, queue);
	pthread_mutex_unlock(&lock);
	return no ? ACCT_ERR_BUSY : ACCT_OK;
}

/*
 * The runners: threads that only hash, at HASH_NICE (a thread may lower
 * its own priority, but without privilege never raise it again, so the
 * connection threads hand their hashes over instead). Started when a
 * hash finds none idle and kept; the slots above bound how many hash at
 * once, so they never outnumber the most workers ever configured.
 */
struct job {
	int		(*fn)(void *);
	void		*arg;
	int		 rc;
	bool		 done;
	pthread_cond_t	 cv;
	struct job	*next;
};

static pthread_mutex_t jlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t jwork = PTHREAD_COND_INITIALIZER;
static struct job *jhead, **jtail = &jhead;
static unsigned jqueued, jidle;

static void *
runner(void *arg)
{
	struct job *j;
	int base;

	(void)arg;
	/* HASH_NICE below the daemon's own priority, whatever it was
	 * started at: raising a nice value needs no privilege. */
	errno = 0;
	base = getpriority(PRIO_PROCESS, (id_t)gettid());
	if ((base == -1 && errno != 0) || setpriority(PRIO_PROCESS,
	    (id_t)gettid(), base + HASH_NICE < 19 ?
	    base + HASH_NICE : 19) == -1)
		log_warn("hashing at normal priority: setpriority: %s",
		    strerror(errno));
	pthread_mutex_lock(&jlock);
	for (;;) {
		while (jhead == NULL) {
			jidle++;
			pthread_cond_wait(&jwork, &jlock);
			jidle--;
		}
		j = jhead;
		if ((jhead = j->next) == NULL)
			jtail = &jhead;
		jqueued--;
		pthread_mutex_unlock(&jlock);
		j->rc = j->fn(j->arg);
		pthread_mutex_lock(&jlock);
		j->done = true;
		pthread_cond_signal(&j->cv);
	}
	return NULL;
}

static int
call_job(void *arg)
{
	struct hash_job *j = arg;

	return j->fn(j);
}

static bool
runner_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, RUNNER_STACK);
	rc = pthread_create(&t, &attr, runner, NULL);
	pthread_attr_destroy(&attr);
	return rc == 0;
}

/* fn(arg) on a runner, waited for; in this thread if it is cheap, or
 * no runner can start. The job is on the heap: a runner's queue never
 * points into a caller's stack. */
static int
run_job(int (*fn)(void *), void *arg)
{
	int64_t cost = cost_us;
	struct job *j;
	int rc;

	if ((cost > 0 && cost < INLINE_US) ||
	    (j = calloc(1, sizeof(*j))) == NULL)
		return fn(arg);
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&jlock);
	if (jqueued >= jidle && !runner_start()) {
		pthread_mutex_unlock(&jlock);
		free(j);
		log_warn("cannot start a hash runner; hashing here");
		return fn(arg);
	}
	pthread_cond_init(&j->cv, NULL);
	*jtail = j;
	jtail = &j->next;
	jqueued++;
	pthread_cond_signal(&jwork);
	while (!j->done)
		pthread_cond_wait(&j->cv, &jlock);
	pthread_mutex_unlock(&jlock);
	pthread_cond_destroy(&j->cv);
	rc = j->rc;
	free(j);
	return rc;
}

int
hash_run(struct hash_job *j, int (*fn)(struct hash_job *))
{
	j->fn = fn;
	return run_job(call_job, j);
}

/* Take a worker slot, or ACCT_ERR_BUSY when the caller's queue is full. */
int
hash_slot_take(const struct hash_client *who)
{
	unsigned nworkers, queue;
	bool r = who->reserved;
	int64_t t0 = mono_us();

	if (limits(&nworkers, &queue) == -1)
		return ACCT_ERR_NOMEM;
	pthread_mutex_lock(&lock);
	if (refused(who, nworkers, queue)) {
		pthread_mutex_unlock(&lock);
		return ACCT_ERR_BUSY;
	}
	if (!r && uid_add(who->uid) == -1) {
		pthread_mutex_unlock(&lock);
		return ACCT_ERR_NOMEM;
	}
	r ? waiting++ : waiting_plain++;
	stats_hash_queue(waiting + waiting_plain);
	while (!can_run(r, nworkers)) {
		pthread_cond_wait(r ? &reserved_turn : &plain_turn, &lock);
		(void)limits(&nworkers, &queue);	/* SIGHUP */
	}
	r ? waiting-- : waiting_plain--;
	stats_hash_queue(waiting + waiting_plain);
	running++;
	if (!r)
		running_plain++;
	pthread_mutex_unlock(&lock);
	stats_hash_wait(mono_us() - t0);
	return ACCT_OK;
}

void
hash_slot_give(const struct hash_client *who)
{
	pthread_mutex_lock(&lock);
	running--;
	if (!who->reserved) {
		running_plain--;
		uid_remove(who->uid);
	}
	/* The reserved callers first; then one of the others may fit. */
	if (waiting > 0)
		pthread_cond_signal(&reserved_turn);
	else
		pthread_cond_broadcast(&plain_turn);
	pthread_mutex_unlock(&lock);
}

/*
 * Learn what a hash at the current parameters costs: a moving average
 * of the hashes (current: they are made with the config's parameters,
 * and restart the average when those change) and of the verifies of
 * hashes with the same parameters, so padding follows machine and config.
 */
static void
learn_cost(const char *params, bool current, int64_t us)
{
	static pthread_mutex_t cost_lock = PTHREAD_MUTEX_INITIALIZER;

	pthread_mutex_lock(&cost_lock);
	if (strcmp(params, cost_params) == 0)
		cost_us = (7 * cost_us + us) / 8;
	else if (current) {
		strlcpy(cost_params, params, sizeof(cost_params));
		cost_us = us;
	}
	pthread_mutex_unlock(&cost_lock);
}

int64_t
hash_cost_us(void)
{
	return cost_us;
}

/*
 * The slowest stored hash, timed: what a wrong password of its account
 * takes to find out. Every failure is padded to it (hash_fail_us()),
 * so that an account of an imported scheme dearer than the current
 * Argon2id answers no later than an unknown name does.
 */
static pthread_mutex_t stored_lock = PTHREAD_MUTEX_INITIALIZER;
static double stored_work;
static _Atomic int64_t stored_us;

void
hash_time_stored(const struct config *c, const char *h)
{
	static const struct hash_client self = { .reserved = true };
	double w = hash_work(h);
	int64_t t0, us;

	if (h == NULL || !hash_supported(c, h) || !hash_needs_rehash(c, h))
		return;
	pthread_mutex_lock(&stored_lock);
	if (w > stored_work) {
		t0 = mono_us();
		/* Its answer does not matter, only its time. */
		(void)hash_check(c, &self, h, "\001", 1);
		us = mono_us() - t0;
		stored_work = w;
		if (us > stored_us) {
			stored_us = us;
			log_info("failures padded to %lld ms, the verify of the "
			    "dearest stored hash (%s)", (long long)(us / 1000),
			    hash_scheme(h));
		}
	}
	pthread_mutex_unlock(&stored_lock);
}

int64_t
hash_fail_us(void)
{
	int64_t cur = cost_us, st = stored_us;

	return st > cur ? st : cur;
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

static int
job_hash(struct hash_job *j)
{
	int rc = ACCT_ERR_INTERNAL;

	if (use_sodium(j->c->argon2_p))
		rc = sodium_hash(j->c, j->pw, j->len, j->phc);
	if (rc == ACCT_ERR_INTERNAL)
		rc = ref_hash(j->c, j->pw, j->len, j->phc);
	return rc;
}

int
hash_password(const struct config *c, const struct hash_client *who,
    const char *pw, size_t len, char **phc)
{
	char params[96];
	int64_t t0;
	int rc;

	*phc = NULL;
	if ((rc = hash_slot_take(who)) != ACCT_OK)
		return rc;
	t0 = mono_us();
	rc = hash_run(&(struct hash_job){ .c = c, .pw = pw, .len = len,
	    .phc = phc }, job_hash);
	stats_hash(HS_ARGON2ID);
	if (rc == ACCT_OK) {
		hash_current_prefix(c, params, sizeof(params));
		learn_cost(params, true, mono_us() - t0);
	}
	hash_slot_give(who);
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

static int
job_verify(struct hash_job *j)
{
	int rc = ACCT_ERR_INTERNAL;

	if (use_sodium(j->p))
		rc = sodium_verify(j->stored, j->pw, j->len);
	if (rc == ACCT_ERR_INTERNAL)
		rc = ref_verify(j->stored, j->pw, j->len);
	return rc;
}

int
hash_verify(const struct hash_client *who, const char *phc, const char *pw,
    size_t len)
{
	const char *end;
	char params[96];
	int64_t t0;
	unsigned p;
	int rc;

	if (!params_ok(phc, &p)) {
		log_warn("stored password hash has an unsupported format or "
		    "parameters over the limits; refusing it");
		return ACCT_ERR_AUTH_FAILED;
	}
	if ((rc = hash_slot_take(who)) != ACCT_OK)
		return rc;
	t0 = mono_us();
	rc = hash_run(&(struct hash_job){ .pw = pw, .len = len,
	    .stored = phc, .p = p }, job_verify);
	stats_hash(HS_ARGON2ID);
	/* The parameters are the PHC string up to the salt. */
	if ((rc == ACCT_OK || rc == ACCT_ERR_AUTH_FAILED) &&
	    (end = strrchr(phc, '$')) != NULL &&
	    (size_t)(end - phc) < sizeof(params)) {
		memcpy(params, phc, (size_t)(end - phc));
		params[end - phc] = '\0';
		if ((end = strrchr(params, '$')) != NULL) {
			params[end - params + 1] = '\0';
			learn_cost(params, false, mono_us() - t0);
		}
	}
	hash_slot_give(who);
	return rc;
}

/*
 * An unknown user costs what a known one does: hash the password with a
 * fresh salt at the current parameters and throw the result away. The
 * pool answers busy for it as it would for a real verify.
 */
int
hash_dummy(const struct config *c, const struct hash_client *who,
    const char *pw, size_t len)
{
	char *phc = NULL;
	int rc;

	if ((rc = hash_password(c, who, pw, len, &phc)) == ACCT_OK)
		freezero(phc, strlen(phc));
	return rc == ACCT_OK ? ACCT_ERR_AUTH_FAILED : rc;
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
