/*
 * stats.c: counters and histograms of the running daemon: requests and
 * their latency, logins, hashes, mail, connections, database commits.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <bsd/string.h>

#include "acctd.h"

/* From a token check (tens of µs) to a padded login (a quarter second
 * and more); the last bucket takes whatever is above a second. */
const int64_t stats_bounds_us[STATS_BOUNDS] = {
	50, 100, 250, 500, 1000, 2500, 10000, 50000, 250000, 1000000,
};

/* No total of its own: the buckets' sum is the count, so a reader never
 * sees a count that the buckets do not add up to. */
struct hist {
	_Atomic uint64_t	 count[STATS_BOUNDS + 1];
	_Atomic uint64_t	 sum_us;
};

#define ADD(a, v)	atomic_fetch_add_explicit(&(a), (v), \
	memory_order_relaxed)
#define SUB(a, v)	atomic_fetch_sub_explicit(&(a), (v), \
	memory_order_relaxed)
#define SET(a, v)	atomic_store_explicit(&(a), (v), memory_order_relaxed)
#define GET(a)		atomic_load_explicit(&(a), memory_order_relaxed)

static _Atomic int64_t started;
static struct {
	_Atomic uint64_t	 n, errors;
	struct hist		 latency;
} req[OP__COUNT];
static _Atomic uint64_t malformed;
static _Atomic uint64_t hashes[HS__COUNT];
static _Atomic uint64_t hash_waiting;
static struct hist hash_wait;
static _Atomic uint64_t mail_sent, mail_failed, mail_queued;
static _Atomic uint64_t conn[STATS_CONN__COUNT], conn_refused, conn_open;
static struct hist commit;

/*
 * Logins per service and outcome. Services are what clients say, so
 * only the first STATS_SERVICES names get a row; later ones share the
 * last. A name is written once, before nservices (released) counts it:
 * a reader that sees the count sees the name, without a lock. Only a
 * name not yet seen takes service_lock, at most STATS_SERVICES times.
 */
static struct {
	char			 name[STATS_SERVICE_LEN];
	_Atomic uint64_t	 n[CRED__COUNT];
} service[STATS_SERVICES + 1];
static _Atomic unsigned nservices;
static pthread_mutex_t service_lock = PTHREAD_MUTEX_INITIALIZER;

static void
hist_add(struct hist *h, int64_t us)
{
	size_t i = 0;

	if (us < 0)
		us = 0;
	while (i < STATS_BOUNDS && us > stats_bounds_us[i])
		i++;
	ADD(h->count[i], 1);
	ADD(h->sum_us, (uint64_t)us);
}

static void
hist_copy(struct stats_hist *out, struct hist *h)
{
	for (size_t i = 0; i <= STATS_BOUNDS; i++)
		out->count[i] = GET(h->count[i]);
	out->sum_us = GET(h->sum_us);
}

void
stats_started(int64_t now)
{
	SET(started, now);
}

void
stats_request(int op, bool error, int64_t us)
{
	if (op < 0 || op >= OP__COUNT) {
		ADD(malformed, 1);
		return;
	}
	ADD(req[op].n, 1);
	if (error)
		ADD(req[op].errors, 1);
	hist_add(&req[op].latency, us);
}

/*
 * A label value any reader takes as it is: letters, digits and . _ - :
 * @ / + kept, any other byte '_', at most STATS_SERVICE_LEN - 1 bytes.
 * The two names of our own have parentheses, which no service's keeps.
 */
void
stats_service_name(const char *s, char out[STATS_SERVICE_LEN])
{
	size_t i = 0;

	if (s == NULL || *s == '\0') {
		strlcpy(out, "(none)", STATS_SERVICE_LEN);
		return;
	}
	for (; i < STATS_SERVICE_LEN - 1 && s[i] != '\0'; i++) {
		char c = s[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._-:@/+", c) != NULL ?
		    c : '_';
	}
	out[i] = '\0';
}

static int
service_find(const char *name, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		if (strcmp(service[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The row of a service: its own, a new one, or "(other)". */
static unsigned
service_row(const char *name)
{
	unsigned n = atomic_load_explicit(&nservices, memory_order_acquire);
	int i;

	if ((i = service_find(name, 0, n)) >= 0)
		return (unsigned)i;
	if (n >= STATS_SERVICES)
		return STATS_SERVICES;
	pthread_mutex_lock(&service_lock);
	/* Another thread may have added it, or others, meanwhile. */
	unsigned now = atomic_load_explicit(&nservices, memory_order_relaxed);
	if ((i = service_find(name, n, now)) < 0) {
		if (now < STATS_SERVICES) {
			strlcpy(service[now].name, name,
			    sizeof(service[now].name));
			atomic_store_explicit(&nservices, now + 1,
			    memory_order_release);
			i = (int)now;
		} else
			i = STATS_SERVICES;
	}
	pthread_mutex_unlock(&service_lock);
	return (unsigned)i;
}

void
stats_login(const char *svc, enum cred_status s)
{
	char name[STATS_SERVICE_LEN];

	if ((unsigned)s >= CRED__COUNT)
		return;
	stats_service_name(svc, name);
	ADD(service[service_row(name)].n[s], 1);
}

void
stats_hash(int scheme)
{
	if (scheme >= 0 && scheme < HS__COUNT)
		ADD(hashes[scheme], 1);
}

void
stats_hash_wait(int64_t us)
{
	hist_add(&hash_wait, us);
}

void
stats_hash_queue(unsigned waiting)
{
	SET(hash_waiting, waiting);
}

void
stats_mail(bool sent)
{
	if (sent)
		ADD(mail_sent, 1);
	else
		ADD(mail_failed, 1);
}

void
stats_mail_queue(unsigned queued)
{
	SET(mail_queued, queued);
}

void
stats_conn_open(enum stats_conn c)
{
	if ((unsigned)c < STATS_CONN__COUNT)
		ADD(conn[c], 1);
	ADD(conn_open, 1);
}

void
stats_conn_close(void)
{
	SUB(conn_open, 1);
}

void
stats_conn_refused(void)
{
	ADD(conn_refused, 1);
}

void
stats_commit(int64_t us)
{
	hist_add(&commit, us);
}

void
stats_snapshot(struct stats_snapshot *s)
{
	unsigned n = atomic_load_explicit(&nservices, memory_order_acquire);

	memset(s, 0, sizeof(*s));
	s->started = GET(started);
	for (int op = 0; op < OP__COUNT; op++) {
		s->req[op].n = GET(req[op].n);
		s->req[op].errors = GET(req[op].errors);
		hist_copy(&s->req[op].latency, &req[op].latency);
	}
	s->malformed = GET(malformed);
	s->nservices = n;
	for (unsigned i = 0; i <= STATS_SERVICES; i++) {
		if (i < n)
			memcpy(s->service[i].name, service[i].name,
			    sizeof(s->service[i].name));
		else if (i < STATS_SERVICES)
			continue;
		else
			strlcpy(s->service[i].name, "(other)",
			    sizeof(s->service[i].name));
		for (int st = 0; st < CRED__COUNT; st++)
			s->service[i].n[st] = GET(service[i].n[st]);
	}
	for (int h = 0; h < HS__COUNT; h++)
		s->hashes[h] = GET(hashes[h]);
	s->hash_waiting = GET(hash_waiting);
	hist_copy(&s->hash_wait, &hash_wait);
	s->mail_sent = GET(mail_sent);
	s->mail_failed = GET(mail_failed);
	s->mail_queued = GET(mail_queued);
	for (int c = 0; c < STATS_CONN__COUNT; c++)
		s->conn[c] = GET(conn[c]);
	s->conn_refused = GET(conn_refused);
	s->conn_open = GET(conn_open);
	hist_copy(&s->commit, &commit);
}
