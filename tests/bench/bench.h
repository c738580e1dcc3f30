/*
 * bench.h: the parts of `make bench`: a real acctd on a temporary socket
 * and database, raw protocol clients, the floors, and the result table.
 */
#ifndef ACCT_BENCH_H
#define ACCT_BENCH_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../proto/proto.h"

#define BENCH_PASSWORD	"correct horse battery staple"
#define BENCH_M_KIB	65536	/* acctd's default Argon2id parameters */
#define BENCH_T		3
#define BENCH_P		1

/* daemon.c: one acctd on its own temporary directory. */
struct bd {
	char	 dir[64];	/* /tmp/acctd-bench.XXXXXX */
	char	 conf[128];
	char	 sock[128];
	char	 db[128];
	char	 log[128];
	pid_t	 pid;
	int	 cpu;		/* the CPU it runs on; -1: any */
};

extern const char *bench_acctd;		/* the binary under test */

int	bd_init(struct bd *d);		/* temp dir; no config yet */
int	bd_config(const struct bd *d, const char *extra);
int	bd_start(struct bd *d);		/* spawn, wait until it answers */
int	bd_stop(struct bd *d);		/* SIGTERM, wait; 0 if exit 0 */
void	bd_cleanup(struct bd *d);	/* stop; remove the dir unless BENCH_KEEP */
long	bd_status_kib(pid_t pid, const char *key);	/* VmHWM, VmRSS */
unsigned bd_workers(void);		/* hash_workers = 0: CPUs online */
/*
 * Latency runs put the clients on one CPU and the servers on the other,
 * so every round trip crosses CPUs alike, whatever the scheduler picks.
 */
#define CPU_CLIENT	0
#define CPU_SERVER	0
void	bench_pin(int cpu);			/* this thread; -1: any CPU */

/* wire.c: raw frames, so the clients cost the same against any server. */
struct wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

int	wire_connect(const char *path);		/* fd or -1 */
/* A framed request with args (an initialised, maybe empty msg). */
int	wire_request(const char *op, struct proto_msg *args,
	    struct proto_frame *out);
/* Send a frame, read one reply frame (header + payload) into rep. */
int	wire_call(int fd, const struct proto_frame *req, struct wbuf *rep);
/* Read one reply frame into rep. */
int	wire_recv(int fd, struct wbuf *rep);
/* The reply code of a framed reply in w: ACCT_OK or an error. */
int	wire_code(const struct wbuf *w);
/* The string under key in the result of a successful reply: 0 or -1. */
int	wire_str(const struct wbuf *w, const char *key, char *out, size_t n);
void	wbuf_free(struct wbuf *w);

/* echo.c: a bare Unix-socket ping-pong server in a child process. */
pid_t	echo_start(const char *path, size_t reply_len, int cpu);
void	echo_stop(pid_t pid);

/* seed.c: a database of n accounts and n tokens, built with SQLite. */
int	seed_db(struct bd *d, uint32_t n, const char *phc, double *secs);
/* Sequential write of bytes to a file and fsync: the floor of seeding. */
double	seed_floor(const char *dir, uint64_t bytes);
/* Commits per second of one small row each, WAL, synchronous=FULL. */
double	commit_floor(const char *dir, double secs, unsigned *count);
/* Deterministic names and token strings of account i. */
void	seed_username(uint32_t i, char out[16]);
void	seed_token(uint32_t i, char out[96]);

/* load.c: n streams each running op after op for warm + secs seconds. */
struct load {
	void	*(*open)(int i, void *ctx);	/* per-stream state, NULL: error */
	int	 (*op)(void *state);		/* one operation: 0 or error */
	void	 (*close)(void *state);
	void	*ctx;
};
/* Completions per second after the warm-up; count and errors out. */
double	load_run(const struct load *l, int n, double warm, double secs,
	    unsigned *count, unsigned *errors);

/* hashing.c: the Argon2id floors, and the PHC string the rows reuse. */
char	*bench_phc(void);
char	*bench_phc_at(unsigned t, unsigned m_kib);
/* Verifies per second of nthreads running libsodium or libargon2. */
double	floor_verifies(const char *phc, bool sodium, int nthreads,
	    double secs, unsigned *count);

/* login.c */
/* Logins per second of n clients; app: with an app password each. */
double	login_rate(const char *sock, int nclients, double secs, bool app,
	    unsigned *count, unsigned *errors);
long	login_peak_kib(struct bd *d, int nclients, long *base_kib,
	    unsigned *errors);

/* cheap.c */
struct lat {
	double	 median;	/* seconds */
	double	 p99;
	size_t	 n;
	size_t	 reply_len;	/* median reply frame, for the echo floor */
	unsigned errors;
};
/*
 * Round trips of op on one connection each, asking for nkeys accounts
 * of n, against acctd and the bare echo server (same request frames,
 * replies of acctd's median size) or against two acctds, in
 * alternating blocks.
 */
int	cheap_vs_bare(const char *sock, const char *dir, const char *op,
	    uint32_t n, uint32_t nkeys, size_t samples, struct lat *out,
	    struct lat *bare);
int	cheap_vs_cheap(const char *sock, uint32_t n, uint32_t nkeys,
	    const char *sock2, uint32_t n2, uint32_t nkeys2, const char *op,
	    size_t samples, struct lat *out, struct lat *out2);
int	cheap_alone(const char *sock, const char *op, uint32_t n,
	    size_t samples, const _Atomic bool *stop, struct lat *out);
double	cheap_rate(const char *sock, const char *op, uint32_t n,
	    int nconn, double secs, unsigned *errors);
double	bare_rate(const char *dir, const char *op, uint32_t n, int nconn,
	    double secs, size_t reply_len);

/* fair.c: a service's logins while a local user floods; failure costs. */
int	fair_rows(struct bd *d);

/* table.c */
void	table_row(const char *figure, double value, const char *floorname,
	    double floor, const char *unit, const char *target, bool ok);
void	table_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	table_print(void);

/* util */
double	now_s(void);
void	bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
