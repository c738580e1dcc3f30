/*
 * bench.c: `make bench`: acctd's figures beside their floors, measured
 * in the same run on this machine, printed as one table (issue 7).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bench.h"

/* Sample sizes: the whole run stays within a few minutes on 2 cores. */
#define SMALL_N		1000
#define BIG_N		1000000
#define BIG_KEYS	4096	/* distinct accounts asked for at 1M */
#define VERIFY_SECS	6.0	/* per login or floor run */
#define VERIFY_ROUNDS	2	/* floor and 2-client runs, alternated */
#define LAT_SAMPLES	20000
#define RATE_CONNS	8
#define RATE_SECS	3.0
#define MEM_CLIENTS	500
#define MIB		(1024.0 * 1024.0)

struct cheap {
	struct lat	 tv, us;	/* token_validate, user_show */
};

static void
machine(void)
{
	char line[256], model[256] = "?";
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			char *p = strchr(line, ':');
			snprintf(model, sizeof(model), "%s", p ? p + 2 : line);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f != NULL)
		fclose(f);
	table_note("machine: %ld CPUs (%s), %.1f GiB RAM; acctd Argon2id "
	    "m=%d KiB t=%d p=%d, hash_workers %u (default: one per CPU)",
	    sysconf(_SC_NPROCESSORS_ONLN), model,
	    (double)pages * (double)psz / (MIB * 1024), BENCH_M_KIB,
	    BENCH_T, BENCH_P, bd_workers());
}

/* Row 1: verifies per second, floor and 2 clients alternated. */
static int
verifies(const struct bd *d, const char *phc)
{
	double fl = 0, two = 0, r, ratio;
	unsigned k, e, nf = 0, n2 = 0, errs = 0;
	static const int clients[] = { 8, 64 };
	char name[64];

	for (int i = 0; i < VERIFY_ROUNDS; i++) {
		fl += floor_verifies(phc, true, 2, VERIFY_SECS, &k) /
		    VERIFY_ROUNDS;
		nf += k;
		two += login_rate(d->sock, 2, VERIFY_SECS, &k, &e) /
		    VERIFY_ROUNDS;
		n2 += k;
		errs += e;
	}
	ratio = two / fl;
	table_row("login verifies/s, 2 clients", two,
	    "libsodium verify, 2 threads", fl, "/s", ">= 0.95", ratio >= 0.95);
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		r = login_rate(d->sock, clients[i], VERIFY_SECS, &k, &e);
		errs += e;
		snprintf(name, sizeof(name), "login verifies/s, %d clients",
		    clients[i]);
		table_row(name, r, "libsodium verify, 2 threads", fl, "/s",
		    ">= 0.95", r / fl >= 0.95);
	}
	r = floor_verifies(phc, false, 2, VERIFY_SECS, &k);
	table_row("libargon2 (Debian) verify, 2 threads", r,
	    "libsodium verify, 2 threads", fl, "/s", NULL, true);
	table_note("verifies: %d rounds of %.0f s per figure after 1 s of "
	    "warm-up (%u floor and %u 2-client verifies); each client logs "
	    "in to its own account from its own remote_addr; %u failed "
	    "requests", VERIFY_ROUNDS, VERIFY_SECS, nf, n2, errs);
	return errs ? -1 : 0;
}

static int
latencies(const struct bd *d, uint32_t n, uint32_t keys, struct cheap *c)
{
	if (cheap_latency(d->sock, "token_validate", n, keys, LAT_SAMPLES,
	    &c->tv) == -1 || cheap_latency(d->sock, "user_show", n, keys,
	    LAT_SAMPLES, &c->us) == -1)
		return -1;
	return c->tv.errors || c->us.errors ? -1 : 0;
}

static void
lat_rows(const char *op, const struct lat *a, const struct lat *bare)
{
	char name[64];

	snprintf(name, sizeof(name), "%s median", op);
	table_row(name, a->median, "bare socket ping-pong median",
	    bare->median, "us", "<= 3", a->median <= 3 * bare->median);
	snprintf(name, sizeof(name), "%s p99", op);
	table_row(name, a->p99, "bare socket ping-pong p99", bare->p99, "us",
	    NULL, true);
}

/* Row 2: cheap requests against a bare ping-pong of the same sizes. */
static int
cheap_rows(const struct bd *d, struct cheap *c)
{
	struct lat btv, bus;
	unsigned e;
	double r, b;

	if (latencies(d, SMALL_N, SMALL_N, c) == -1 ||
	    bare_latency(d->dir, "token_validate", SMALL_N, SMALL_N,
	    LAT_SAMPLES, c->tv.reply_len, &btv) == -1 ||
	    bare_latency(d->dir, "user_show", SMALL_N, SMALL_N, LAT_SAMPLES,
	    c->us.reply_len, &bus) == -1)
		return -1;
	lat_rows("token_validate", &c->tv, &btv);
	lat_rows("user_show", &c->us, &bus);
	r = cheap_rate(d->sock, "token_validate", SMALL_N, RATE_CONNS,
	    RATE_SECS, &e);
	b = bare_rate(d->dir, "token_validate", SMALL_N, RATE_CONNS,
	    RATE_SECS, c->tv.reply_len);
	table_row("token_validate req/s, 8 connections", r,
	    "bare ping-pong, 8 connections", b, "/s", NULL, true);
	table_note("cheap requests: %d round trips each on one persistent "
	    "connection, cycling over all %d accounts after one untimed "
	    "pass; bare ping-pong: same request frames, replies of %zu "
	    "(token_validate) and %zu (user_show) bytes; rates: %.0f s on "
	    "%d connections", LAT_SAMPLES, SMALL_N, c->tv.reply_len,
	    c->us.reply_len, RATE_SECS, RATE_CONNS);
	return e ? -1 : 0;
}

/* Row 4: peak memory with many clients waiting on verifies. */
static int
memory(struct bd *d)
{
	double want, peak_mib;
	long base, peak;
	unsigned e;

	struct lat warm;

	if (bd_config(d, "max_connections = 1000\nhash_queue = 1000\n") ==
	    -1 || bd_start(d) == -1 ||
	    cheap_latency(d->sock, "user_show", SMALL_N, 16, 16, &warm) == -1 ||
	    (peak = login_peak_kib(d, MEM_CLIENTS, &base, &e)) < 0)
		return -1;
	want = base / 1024.0 + bd_workers() * (BENCH_M_KIB / 1024.0);
	peak_mib = peak / 1024.0;
	table_row("acctd peak RSS, 500 clients verifying", peak_mib,
	    "base + workers x m_cost", want, "MiB", "<= floor+16 MiB",
	    peak_mib <= want + 16);
	table_note("memory: VmHWM of a fresh acctd after %d concurrent "
	    "logins (max_connections and hash_queue raised to 1000 so all "
	    "of them wait, not 256 and 64); base is its VmRSS at rest, "
	    "%.1f MiB; %u failed", MEM_CLIENTS, base / 1024.0, e);
	return bd_stop(d) == 0 && e == 0 ? 0 : -1;
}

/* Row 3: the same cheap requests with a million accounts and tokens. */
static int
big(const char *phc, const struct cheap *small)
{
	struct cheap c;
	struct stat sb;
	struct bd d;
	double secs, fl;
	int rc = -1;

	if (bd_init(&d) == -1)
		return -1;
	if (seed_db(&d, BIG_N, phc, &secs) == -1 || stat(d.db, &sb) == -1)
		goto out;
	fl = seed_floor(d.dir, (uint64_t)sb.st_size);
	table_row("create db: 1M accounts + 1M tokens", secs,
	    "write + fsync of as many bytes", fl, "s", NULL, true);
	if (bd_start(&d) == -1 || latencies(&d, BIG_N, BIG_KEYS, &c) == -1)
		goto out;
	table_row("token_validate median, 1M accounts", c.tv.median,
	    "token_validate median, 1k", small->tv.median, "us", "<= 1.5",
	    c.tv.median <= 1.5 * small->tv.median);
	table_row("user_show median, 1M accounts", c.us.median,
	    "user_show median, 1k", small->us.median, "us", "<= 1.5",
	    c.us.median <= 1.5 * small->us.median);
	table_note("1M accounts: database of %.0f MiB built with SQLite in "
	    "one transaction on the schema acctd created; %d round trips "
	    "cycling over %d random accounts", sb.st_size / MIB, LAT_SAMPLES,
	    BIG_KEYS);
	rc = bd_stop(&d);
out:
	bd_cleanup(&d);
	return rc;
}

static int
small(const char *phc, struct cheap *c)
{
	struct bd d;
	double secs;
	int rc = -1;

	if (bd_init(&d) == -1)
		return -1;
	if (seed_db(&d, SMALL_N, phc, &secs) == 0 && bd_start(&d) == 0 &&
	    verifies(&d, phc) == 0 && cheap_rows(&d, c) == 0 &&
	    bd_stop(&d) == 0)
		rc = memory(&d);
	bd_cleanup(&d);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cheap c;
	char *phc;
	int rc;

	if (argc != 2 || access(argv[1], X_OK) == -1) {
		fprintf(stderr, "usage: acctd-bench /path/to/acctd\n");
		return 2;
	}
	bench_acctd = argv[1];
	if (sodium_init() < 0 || (phc = bench_phc()) == NULL) {
		bench_log("libsodium: cannot hash");
		return 1;
	}
	machine();
	rc = small(phc, &c);
	if (rc == 0)
		rc = big(phc, &c);
	table_print();
	free(phc);
	if (rc != 0)
		bench_log("a run failed; the table is incomplete");
	return rc == 0 ? 0 : 1;
}
