/*
 * bench.c: `make bench`: acctd's figures beside their floors, measured
 * in the same run on this machine, printed as one table.
 */
#include <sys/stat.h>

#include <pthread.h>
#include <stdatomic.h>
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
#define VERIFY_SECS	2.0	/* per round of a figure or a floor */
#define VERIFY_ROUNDS	5	/* figure and floor alternated */
#define LAT_SAMPLES	20000	/* BENCH_SAMPLES overrides, for profiling */
#define RATE_CONNS	8
#define RATE_SECS	1.5
#define RATE_ROUNDS	2
#define MEM_CLIENTS	500
#define LOGIN_SECS	1.5	/* per round of a login figure or its floor */
#define LOGIN_ROUNDS	3
#define LOGIN_OVER	0.25e-3	/* seconds a login may cost besides */
#define CHEAP_M_KIB	8	/* the cheapest Argon2id acctd accepts */
#define CHEAP_T		1
#define MIX_CLIENTS	64
#define MIX_SAMPLES	10000
#define MIX_LOAD_SECS	4.0
#define MIX_ROUNDS	2
#define MIB		(1024.0 * 1024.0)

struct cheap {
	struct lat	 tv, us;	/* token_validate, user_show */
};

static int lat_samples = LAT_SAMPLES;

/* Which parts run: all by default, or those named after the binary. */
static bool run_verify = true, run_cheap = true, run_login = true,
	    run_mixed = true, run_memory = true, run_fair = true, run_big = true;

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

/* Other work on the machine shows in the figures: say how much. */
static void
load(const char *when)
{
	double l[3];

	if (getloadavg(l, 3) == 3)
		table_note("load average %s the run: %.2f %.2f %.2f", when,
		    l[0], l[1], l[2]);
}

/* A figure and its floor, measured in alternating rounds. */
struct pair {
	double		 fig, fl;	/* per second, averaged over rounds */
	unsigned	 nfig, nfl;	/* operations counted */
	unsigned	 errors;
};

/*
 * Logins of n clients (n = 0: libargon2 verifying in 2 threads), each
 * round followed by one of the floor: libsodium verifying in 2 threads.
 */
static void
verify_pair(const struct bd *d, const char *phc, int n, struct pair *p)
{
	unsigned k, e;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < VERIFY_ROUNDS; i++) {
		if (n > 0)
			p->fig += login_rate(d->sock, n, VERIFY_SECS, false, &k,
			    &e);
		else {
			p->fig += floor_verifies(phc, false, 2, VERIFY_SECS, &k);
			e = 0;
		}
		p->nfig += k;
		p->errors += e;
		p->fl += floor_verifies(phc, true, 2, VERIFY_SECS, &k);
		p->nfl += k;
	}
	p->fig /= VERIFY_ROUNDS;
	p->fl /= VERIFY_ROUNDS;
}

/* Row 1: verifies per second through acctd against Argon2id alone. */
static int
verifies(const struct bd *d, const char *phc)
{
	static const int clients[] = { 2, 8, 64, 0 };
	unsigned errs = 0;
	struct pair p;
	char name[64];

	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		verify_pair(d, phc, clients[i], &p);
		errs += p.errors;
		snprintf(name, sizeof(name), clients[i] ? "login verifies/s, "
		    "%d clients" : "libargon2 (Debian) verify, 2 threads",
		    clients[i]);
		table_row(name, p.fig, "libsodium verify, 2 threads", p.fl,
		    "/s", clients[i] ? ">= 0.95" : NULL,
		    p.fig >= 0.95 * p.fl);
		table_note("%s: %u, against %u verifies of the floor", name,
		    p.nfig, p.nfl);
	}
	table_note("verifies: %d rounds of %.0f s per figure, each after 1 s "
	    "of warm-up and followed by a round of its floor; each client "
	    "logs in to its own account from its own remote_addr; %u failed "
	    "requests", VERIFY_ROUNDS, VERIFY_SECS, errs);
	return errs ? -1 : 0;
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

/* Requests per second of op on RATE_CONNS connections, alternated with
 * bare ping-pongs of the same sizes. */
static int
rates(const struct bd *d, const char *op, size_t reply_len)
{
	char name[64], floor[64];
	double r = 0, b = 0;
	unsigned e, errs = 0;

	for (int i = 0; i < RATE_ROUNDS; i++) {
		r += cheap_rate(d->sock, op, SMALL_N, RATE_CONNS, RATE_SECS,
		    &e) / RATE_ROUNDS;
		errs += e;
		b += bare_rate(d->dir, op, SMALL_N, RATE_CONNS, RATE_SECS,
		    reply_len) / RATE_ROUNDS;
	}
	snprintf(name, sizeof(name), "%s req/s, %d connections", op,
	    RATE_CONNS);
	snprintf(floor, sizeof(floor), "bare ping-pong, %d connections",
	    RATE_CONNS);
	table_row(name, r, floor, b, "/s", ">= 0.5", r >= 0.5 * b);
	return errs ? -1 : 0;
}

/* Row 2: cheap requests against a bare ping-pong of the same sizes. */
static int
cheap_rows(const struct bd *d, struct cheap *c)
{
	struct lat btv, bus;

	if (cheap_vs_bare(d->sock, d->dir, "token_validate", SMALL_N,
	    SMALL_N, lat_samples, &c->tv, &btv) == -1 ||
	    cheap_vs_bare(d->sock, d->dir, "user_show", SMALL_N, SMALL_N,
	    lat_samples, &c->us, &bus) == -1 || c->tv.errors || c->us.errors)
		return -1;
	lat_rows("token_validate", &c->tv, &btv);
	lat_rows("user_show", &c->us, &bus);
	table_note("cheap requests: %d round trips each on one persistent "
	    "connection, cycling over all %d accounts after one untimed "
	    "pass, in blocks of 500 alternating with the bare ping-pong "
	    "(same request frames, replies of %zu bytes for token_validate "
	    "and %zu for user_show), client on CPU %d, servers on CPU %d; "
	    "rates: %d x %.1f s on %d connections, alternating, any CPU",
	    lat_samples, SMALL_N, c->tv.reply_len, c->us.reply_len,
	    CPU_CLIENT, CPU_SERVER, RATE_ROUNDS, RATE_SECS, RATE_CONNS);
	return 0;
}

/* Logins of one client, alternated with rounds of fsync'd commits. */
static void
login_pair(const struct bd *d, bool app, struct pair *p)
{
	unsigned k, e;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < LOGIN_ROUNDS; i++) {
		p->fig += login_rate(d->sock, 1, LOGIN_SECS, app, &k, &e) /
		    LOGIN_ROUNDS;
		p->nfig += k;
		p->errors += e;
		p->fl += commit_floor(d->dir, LOGIN_SECS, &k) / LOGIN_ROUNDS;
		p->nfl += k;
	}
}

/* A login rate against its floor (a commit and hash_s of hashing). */
static void
login_row(const char *name, const struct pair *p, double hash_s)
{
	double floor = p->fl > 0 ? 1 / (1 / p->fl + hash_s) : 0;
	double over = p->fig > 0 && floor > 0 ? 1 / p->fig - 1 / floor : 0;

	table_row(name, p->fig, hash_s > 0 ? "one fsync'd commit + a verify" :
	    "one fsync'd commit per login", floor, "/s",
	    "<= floor + 0.25 ms", p->fig > 0 && over <= LOGIN_OVER);
	table_note("%s: %.3f ms a login against %.3f ms of floor (a commit "
	    "%.3f ms%s): %.3f ms besides; %u logins, %u commits of the floor",
	    name, 1e3 / p->fig, 1e3 / floor, 1e3 / p->fl, hash_s > 0 ?
	    ", and the verify" : "", over * 1e3, p->nfig, p->nfl);
}

/*
 * What a login costs besides its hash: with app passwords (no hash),
 * and on an acctd whose Argon2id costs next to nothing, each against
 * one fsync'd commit on the same disk (and that verify).
 */
static int
login_rows(struct bd *d)
{
	char conf[64], *phc = bench_phc_at(CHEAP_T, CHEAP_M_KIB);
	struct pair app, cheap;
	double secs, hash_s;
	unsigned k;
	struct bd c;
	int rc = -1;

	if (phc == NULL || bd_start(d) == -1)
		goto out;
	login_pair(d, true, &app);
	if (bd_stop(d) == -1 || app.errors)
		goto out;
	login_row("logins/s, app password, 1 client", &app, 0);
	snprintf(conf, sizeof(conf), "argon2_memory_kib = %d\n"
	    "argon2_time = %d\n", CHEAP_M_KIB, CHEAP_T);
	if (bd_init(&c) == -1)
		goto out;
	if (bd_config(&c, conf) == 0 && seed_db(&c, SMALL_N, phc,
	    &secs) == 0 && bd_start(&c) == 0) {
		hash_s = 1 / floor_verifies(phc, true, 1, LOGIN_SECS, &k);
		login_pair(&c, false, &cheap);
		if (bd_stop(&c) == 0 && cheap.errors == 0) {
			login_row("logins/s, Argon2id m=8 KiB t=1, 1 client",
			    &cheap, hash_s);
			rc = 0;
		}
	}
	bd_cleanup(&c);
	table_note("logins: one client, one login after another on one "
	    "connection, %d rounds of %.1f s after 1 s of warm-up, each "
	    "followed by a round of its floor: a row inserted and committed "
	    "per transaction by SQLite in WAL with synchronous=FULL, in the "
	    "same directory", LOGIN_ROUNDS, LOGIN_SECS);
out:
	free(phc);
	return rc;
}

struct mixload {
	const char	*sock;
	_Atomic bool	 done;
	unsigned	 count, errors;
};

static void *
mix_logins(void *arg)
{
	struct mixload *m = arg;

	(void)login_rate(m->sock, MIX_CLIENTS, MIX_LOAD_SECS, false,
	    &m->count, &m->errors);
	m->done = true;
	return NULL;
}

/*
 * token_validate's p99 while logins from 64 clients keep every hash
 * worker busy, against its p99 on the same acctd idle, in alternating
 * rounds.
 */
static int
mixed_rows(struct bd *d)
{
	double idle = 0, busy = 0;
	unsigned logins = 0, errs = 0;
	struct lat l;
	size_t nidle = 0, nbusy = 0;
	pthread_t t;

	if (bd_start(d) == -1)
		return -1;
	for (int i = 0; i < MIX_ROUNDS; i++) {
		struct mixload m = { .sock = d->sock };

		if (cheap_alone(d->sock, "token_validate", SMALL_N,
		    MIX_SAMPLES, NULL, &l) == -1 || l.errors)
			return -1;
		idle += l.p99 / MIX_ROUNDS;
		nidle += l.n;
		if (pthread_create(&t, NULL, mix_logins, &m) != 0)
			return -1;
		/* Past the load's warm-up: every worker is hashing. */
		usleep(1500 * 1000);
		if (cheap_alone(d->sock, "token_validate", SMALL_N,
		    MIX_SAMPLES, &m.done, &l) == -1 || l.errors) {
			pthread_join(t, NULL);
			return -1;
		}
		pthread_join(t, NULL);
		busy += l.p99 / MIX_ROUNDS;
		nbusy += l.n;
		logins += m.count;
		errs += m.errors;
	}
	table_row("token_validate p99, 64 clients logging in", busy,
	    "token_validate p99, idle", idle, "us", "<= 3", busy <= 3 * idle);
	table_note("mixed load: %d rounds of up to %d token_validate round "
	    "trips on one connection (%zu in all under load, %zu idle), "
	    "while %d clients log in with the default Argon2id (%u logins, "
	    "%u failed), against the same on the idle acctd; the client on CPU %d, acctd on "
	    "any",
	    MIX_ROUNDS, MIX_SAMPLES, nbusy, nidle, MIX_CLIENTS, logins, errs,
	    CPU_CLIENT);
	return bd_stop(d) == 0 && errs == 0 ? 0 : -1;
}

/* One cheap request, so the base memory is that of a daemon at work. */
static int
hello(const struct bd *d)
{
	struct proto_frame f;
	struct proto_msg m;
	struct wbuf w = { 0 };
	int fd, rc = -1;

	if ((fd = wire_connect(d->sock)) == -1)
		return -1;
	proto_msg_init(&m);
	if (wire_request("hello", &m, &f) == ACCT_OK) {
		if (wire_call(fd, &f, &w) == 0 && wire_code(&w) == ACCT_OK)
			rc = 0;
		proto_frame_free(&f);
	}
	proto_msg_free(&m);
	wbuf_free(&w);
	close(fd);
	return rc;
}

/* Row 4: peak memory with many clients waiting on verifies. */
static int
memory(struct bd *d)
{
	double want, peak_mib;
	long base, peak;
	unsigned e;

	if (bd_config(d, "max_connections = 1000\nhash_queue = 1000\n") ==
	    -1 || bd_start(d) == -1 || hello(d) == -1 ||
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

static void
big_rows(const char *op, const struct lat *big, const struct lat *small)
{
	char name[64], fname[64];

	snprintf(name, sizeof(name), "%s median, 1M accounts", op);
	snprintf(fname, sizeof(fname), "%s median, 1k accounts", op);
	table_row(name, big->median, fname, small->median, "us", "<= 1.5",
	    big->median <= 1.5 * small->median);
}

/*
 * Row 3: the cheap requests with a million accounts and tokens, in
 * blocks alternating with the 1k database's acctd, started again.
 */
static int
big(const char *phc, struct bd *s)
{
	struct lat btv, bus, stv, sus;
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
	d.cpu = s->cpu = CPU_SERVER;
	if (bd_start(&d) == -1 || bd_config(s, NULL) == -1 ||
	    bd_start(s) == -1 ||
	    cheap_vs_cheap(d.sock, BIG_N, BIG_KEYS, s->sock, SMALL_N, SMALL_N,
	    "token_validate", lat_samples, &btv, &stv) == -1 ||
	    cheap_vs_cheap(d.sock, BIG_N, BIG_KEYS, s->sock, SMALL_N, SMALL_N,
	    "user_show", lat_samples, &bus, &sus) == -1 ||
	    btv.errors || bus.errors)
		goto out;
	big_rows("token_validate", &btv, &stv);
	big_rows("user_show", &bus, &sus);
	table_note("1M accounts: a %.0f MiB database built with SQLite in one "
	    "transaction on the schema acctd created; %d round trips cycling "
	    "over %d random accounts, in blocks alternating with the 1k "
	    "acctd (both on CPU %d)", sb.st_size / MIB, lat_samples, BIG_KEYS,
	    CPU_SERVER);
	rc = bd_stop(&d) == 0 && bd_stop(s) == 0 ? 0 : -1;
out:
	bd_cleanup(&d);
	return rc;
}

/* Rows 1, 2, 4, the logins', the mixed load's and the fair pool's on a
 * database of 1,000 accounts, kept for row 3. */
static int
small(const char *phc, struct bd *d, struct cheap *c)
{
	double secs;

	if (bd_init(d) == -1 || seed_db(d, SMALL_N, phc, &secs) == -1)
		return -1;
	if (run_verify && (bd_start(d) == -1 || verifies(d, phc) == -1 ||
	    bd_stop(d) == -1))
		return -1;
	if (run_cheap) {
		d->cpu = CPU_SERVER;
		if (bd_start(d) == -1 || cheap_rows(d, c) == -1 ||
		    bd_stop(d) == -1)
			return -1;
		d->cpu = -1;
		if (bd_start(d) == -1 || rates(d, "token_validate",
		    c->tv.reply_len) == -1 || rates(d, "user_show",
		    c->us.reply_len) == -1 || bd_stop(d) == -1)
			return -1;
	}
	if (run_login && login_rows(d) == -1)
		return -1;
	if (run_mixed && mixed_rows(d) == -1)
		return -1;
	if (run_memory && memory(d) == -1)
		return -1;
	/* Other uids connect in this part: they need to reach the socket. */
	if (run_fair && (chmod(d->dir, 0755) == -1 || fair_rows(d) == -1))
		return -1;
	return 0;
}

static int
select_parts(int argc, char **argv)
{
	if (argc == 0)
		return 0;
	run_verify = run_cheap = run_login = run_mixed = run_memory =
	    run_fair = run_big = false;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "verify") == 0)
			run_verify = true;
		else if (strcmp(argv[i], "cheap") == 0)
			run_cheap = true;
		else if (strcmp(argv[i], "login") == 0)
			run_login = true;
		else if (strcmp(argv[i], "mixed") == 0)
			run_mixed = true;
		else if (strcmp(argv[i], "memory") == 0)
			run_memory = true;
		else if (strcmp(argv[i], "fair") == 0)
			run_fair = true;
		else if (strcmp(argv[i], "big") == 0)
			run_big = true;
		else
			return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cheap c;
	struct bd d;
	char *phc;
	int rc;

	if (argc < 2 || access(argv[1], X_OK) == -1 ||
	    select_parts(argc - 2, argv + 2) == -1) {
		fprintf(stderr, "usage: acctd-bench /path/to/acctd "
		    "[verify] [cheap] [login] [mixed] [memory] [fair] [big]\n");
		return 2;
	}
	bench_acctd = argv[1];
	if (getenv("BENCH_SAMPLES") != NULL &&
	    (lat_samples = atoi(getenv("BENCH_SAMPLES"))) < 100)
		lat_samples = 100;
	if (sodium_init() < 0 || (phc = bench_phc()) == NULL) {
		bench_log("libsodium: cannot hash");
		return 1;
	}
	machine();
	load("before");
	rc = small(phc, &d, &c);
	if (rc == 0 && run_big)
		rc = big(phc, &d);
	bd_cleanup(&d);
	load("after");
	table_print();
	free(phc);
	if (rc != 0)
		bench_log("a run failed; the table is incomplete");
	return rc == 0 ? 0 : 1;
}
