/*
 * load.c: a closed-loop load: n streams, each doing one operation after
 * another. The rate counts completions between the first after the
 * warm-up and the last before the deadline, over the time between them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct stream {
	const struct load *l;
	void		*state;
	int		 i;
	double		 warm, end;	/* absolute times */
	double		 first, last;
	unsigned	 count, errors;
	pthread_t	 t;
};

static pthread_barrier_t ready;
static double t_begin;

static void *
stream_main(void *arg)
{
	struct stream *s = arg;
	double t;

	s->state = s->l->open(s->i, s->l->ctx);
	pthread_barrier_wait(&ready);	/* main sets t_begin */
	pthread_barrier_wait(&ready);
	s->warm = t_begin + s->warm;
	s->end = t_begin + s->end;
	if (s->state == NULL) {
		s->errors++;
		return NULL;
	}
	while ((t = now_s()) < s->end) {
		if (s->l->op(s->state) != 0)
			s->errors++;
		t = now_s();
		if (t < s->warm || t > s->end)
			continue;
		if (s->count++ == 0)
			s->first = t;
		s->last = t;
	}
	s->l->close(s->state);
	return NULL;
}

static double
combine(const struct stream *s, int n, unsigned *count, unsigned *errors)
{
	double first = 0, last = 0;
	unsigned k = 0, e = 0;

	for (int i = 0; i < n; i++) {
		e += s[i].errors;
		if (s[i].count == 0)
			continue;
		if (k == 0 || s[i].first < first)
			first = s[i].first;
		if (k == 0 || s[i].last > last)
			last = s[i].last;
		k += s[i].count;
	}
	*count = k;
	*errors = e;
	return k > 1 && last > first ? (k - 1) / (last - first) : 0;
}

double
load_run(const struct load *l, int n, double warm, double secs,
    unsigned *count, unsigned *errors)
{
	struct stream *s = calloc((size_t)n, sizeof(*s));
	pthread_attr_t attr;
	double rate;

	*count = *errors = 0;
	if (s == NULL)
		return 0;
	pthread_barrier_init(&ready, NULL, (unsigned)n + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int i = 0; i < n; i++) {
		s[i].l = l;
		s[i].i = i;
		s[i].warm = warm;
		s[i].end = warm + secs;
		if (pthread_create(&s[i].t, &attr, stream_main, &s[i]) != 0)
			abort();
	}
	pthread_barrier_wait(&ready);
	t_begin = now_s();
	pthread_barrier_wait(&ready);
	for (int i = 0; i < n; i++)
		pthread_join(s[i].t, NULL);
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&ready);
	rate = combine(s, n, count, errors);
	free(s);
	return rate;
}
