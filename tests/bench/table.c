/*
 * table.c: the one table `make bench` prints: each figure beside its
 * floor measured in the same run, their ratio and the target.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define MAX_ROWS	32
#define MAX_NOTES	32

struct row {
	char	figure[64];
	char	value[32];
	char	floorname[64];
	char	floor[32];
	char	ratio[16];
	char	target[24];
};

static struct row rows[MAX_ROWS];
static int nrows;
static char *notes[MAX_NOTES];
static int nnotes;

/* Values in the row's unit: "/s", "us" and "ms" (given in seconds),
 * "MiB", "s". */
static void
fmt(char *out, size_t sz, double v, const char *unit)
{
	if (strcmp(unit, "us") == 0)
		snprintf(out, sz, "%.1f µs", v * 1e6);
	else if (strcmp(unit, "ms") == 0)
		snprintf(out, sz, "%.1f ms", v * 1e3);
	else if (strcmp(unit, "/s") == 0)
		snprintf(out, sz, v < 100 ? "%.1f/s" : "%.0f/s", v);
	else
		snprintf(out, sz, "%.1f %s", v, unit);
}

void
table_row(const char *figure, double value, const char *floorname,
    double floor, const char *unit, const char *target, bool ok)
{
	struct row *r;

	if (nrows == MAX_ROWS)
		return;
	r = &rows[nrows++];
	snprintf(r->figure, sizeof(r->figure), "%s", figure);
	fmt(r->value, sizeof(r->value), value, unit);
	snprintf(r->floorname, sizeof(r->floorname), "%s", floorname);
	fmt(r->floor, sizeof(r->floor), floor, unit);
	if (floor > 0 && value > 0)
		snprintf(r->ratio, sizeof(r->ratio), "%.2f", value / floor);
	else
		snprintf(r->ratio, sizeof(r->ratio), "-");
	if (target == NULL)
		snprintf(r->target, sizeof(r->target), "-");
	else
		snprintf(r->target, sizeof(r->target), "%s %s", target,
		    ok ? "met" : "MISSED");
	fprintf(stderr, "  %-36s %11s | %-30s %11s | %5s %s\n",
	    r->figure, r->value, r->floorname, r->floor, r->ratio,
	    r->target);
}

void
table_note(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s != NULL && nnotes < MAX_NOTES)
		notes[nnotes++] = s;
	else
		free(s);
}

void
table_print(void)
{
	printf("\n| figure | value | floor (same run) | floor value | "
	    "ratio | target |\n|---|---:|---|---:|---:|---|\n");
	for (int i = 0; i < nrows; i++)
		printf("| %s | %s | %s | %s | %s | %s |\n", rows[i].figure,
		    rows[i].value, rows[i].floorname, rows[i].floor,
		    rows[i].ratio, rows[i].target);
	printf("\n");
	for (int i = 0; i < nnotes; i++) {
		printf("- %s\n", notes[i]);
		free(notes[i]);
	}
	nnotes = 0;
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bench_log(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	fprintf(stderr, "acctd-bench: ");
	vfprintf(stderr, f, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}
