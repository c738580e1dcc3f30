/*
 * server.c: accepts connections (of the protocol's socket, and of the
 * saslauthd and Dovecot sockets when there are) and serves each on its
 * own thread, within the connection limits; handles SIGTERM (finish
 * in-flight requests, then stop) and SIGHUP (re-read the config).
 */
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>

#include "../common/io.h"
#include "../common/log.h"
#include "acctd.h"

/* Admins may exceed max_connections by this many, so they get in;
 * one uid gets a reserve connection only while it holds fewer than
 * half as many, so that one admin cannot take them all. */
#define ADMIN_RESERVE	16
#define RESERVE_UID	(ADMIN_RESERVE / 2)
#define SEND_TIMEOUT_S	10
#define DRAIN_WAIT_S	30
#define SLOW_MS		20		/* a request that waited on a hash */
#define STACK_KEEP	(4 * 1024)	/* below the serve() frame */
#define MALLOC_ARENAS	2
#if defined(__SANITIZE_ADDRESS__)
#define THREAD_STACK	(1024 * 1024)
#else
#define THREAD_STACK	(256 * 1024)
#endif

/* Which socket a connection came from, and so its protocol. */
enum conn_kind {
	CONN_ACCTD,
	CONN_SASLAUTHD,
	CONN_DOVECOT,
};

struct conn {
	int		 fd;
	enum conn_kind	 kind;
	struct peer	 peer;
};

struct uidcount {
	uid_t		uid;
	unsigned	n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER;
static unsigned nconn;
static struct uidcount *uids;
static size_t nuids;
static int stop_pipe[2] = { -1, -1 };
static _Atomic bool draining;	/* no new requests after the current one */

static struct uidcount *
uid_slot(uid_t uid, bool create)
{
	for (size_t i = 0; i < nuids; i++)
		if (uids[i].uid == uid)
			return &uids[i];
	if (!create)
		return NULL;
	struct uidcount *n = reallocarray(uids, nuids + 1, sizeof(*uids));
	if (n == NULL)
		return NULL;
	uids = n;
	uids[nuids].uid = uid;
	uids[nuids].n = 0;
	return &uids[nuids++];
}

/* Its class, as stats counts connections: the highest it has. */
static enum stats_conn
conn_class(unsigned classes)
{
	if (classes & PEER_ADMIN)
		return STATS_CONN_ADMIN;
	return (classes & PEER_AUTH) ? STATS_CONN_AUTH : STATS_CONN_USER;
}

/* Count the connection in, or say why it may not come in. */
static const char *
admit(const struct peer *p, const struct config *c)
{
	unsigned classes = peer_classes(p, c);
	bool admin = (classes & PEER_ADMIN) != 0;
	const char *why = NULL;
	struct uidcount *u;

	pthread_mutex_lock(&lock);
	if (nconn >= c->max_conn + (admin ? ADMIN_RESERVE : 0))
		why = "too many connections";
	else if ((u = uid_slot(p->uid, true)) == NULL)
		why = "out of memory";
	else if (u->n >= c->max_conn_uid ||
	    (nconn >= c->max_conn && u->n >= RESERVE_UID))
		why = "too many connections from this user";
	else {
		u->n++;
		nconn++;
	}
	pthread_mutex_unlock(&lock);
	if (why == NULL)
		stats_conn_open(conn_class(classes));
	else
		stats_conn_refused();
	return why;
}

static void
release(const struct peer *p)
{
	struct uidcount *u;

	pthread_mutex_lock(&lock);
	if ((u = uid_slot(p->uid, false)) != NULL && --u->n == 0)
		*u = uids[--nuids];
	if (--nconn == 0)
		pthread_cond_broadcast(&drained);
	pthread_mutex_unlock(&lock);
	stats_conn_close();
}

static void
send_error(int fd, int code, const char *msg)
{
	struct proto_frame f;

	if (proto_error_finish(0, code, msg, &f) == ACCT_OK) {
		(void)io_write_all(fd, f.data, f.len);
		proto_frame_free(&f);
	}
}

/*
 * After a slow request (one that hashed a password) give back the stack
 * pages it touched: hundreds of connections that have each logged in
 * once would otherwise keep ~20 KiB of stack apiece, idle.
 */
static void
stack_trim(void)
{
	uintptr_t lo, end, here = (uintptr_t)__builtin_frame_address(0);
	long page = sysconf(_SC_PAGESIZE);
	pthread_attr_t a;
	size_t size;
	void *addr;

	if (page <= 0 || pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	if (pthread_attr_getstack(&a, &addr, &size) == 0) {
		lo = (uintptr_t)addr;
		end = (here - STACK_KEEP) & ~((uintptr_t)page - 1);
		if (here > lo + STACK_KEEP && end > lo)
			madvise(addr, end - lo, MADV_DONTNEED);
	}
	pthread_attr_destroy(&a);
}

static void
serve(struct conn *c)
{
	struct proto_frame out;
	struct frame_reader rd;
	enum frame_status st = FRAME_ERROR;
	int idle_ms, frame_ms;
	uint8_t *buf;
	size_t len;
	int passed;

	frame_reader_init(&rd, c->fd);
	for (;;) {
		config_timeouts(&idle_ms, &frame_ms);
		st = frame_recv(&rd, PROTO_MAX_REQUEST, idle_ms, frame_ms,
		    stop_pipe[0], &buf, &len, &passed);
		if (st != FRAME_OK)
			break;
		int64_t t0 = mono_us();
		/* A descriptor lives for its request only (db_backup's). */
		dispatch(&c->peer, buf, len, passed, &out);
		if (passed >= 0)
			close(passed);
		freezero(buf, len);
		if (mono_us() - t0 >= SLOW_MS * 1000)
			stack_trim();
		if (out.data == NULL)
			break;
		int rc = io_write_all(c->fd, out.data, out.len);
		proto_frame_free(&out);
		/* A client that never pauses must not hold up a stop. */
		if (rc == -1 || draining)
			break;
	}
	frame_reader_wipe(&rd);
	switch (st) {
	case FRAME_TOOBIG:
		log_info("uid %u (%s): frame length out of range, closing",
		    (unsigned)c->peer.uid, c->peer.comm);
		send_error(c->fd, ACCT_ERR_PROTOCOL, "frame length must be "
		    "1 to 65536 bytes");
		break;
	case FRAME_SLOW:
		log_info("uid %u (%s): frame not completed in time, closing",
		    (unsigned)c->peer.uid, c->peer.comm);
		break;
	case FRAME_IDLE:
		log_debug("uid %u: idle, closing", (unsigned)c->peer.uid);
		break;
	default:
		break;
	}
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	int idle_ms, frame_ms;

	switch (c->kind) {
	case CONN_ACCTD:
		serve(c);
		break;
	case CONN_SASLAUTHD:
		config_timeouts(&idle_ms, &frame_ms);
		saslauthd_serve(c->fd, &c->peer, frame_ms);
		break;
	case CONN_DOVECOT:
		dovecot_serve(c->fd, &c->peer, stop_pipe[0]);
		break;
	}
	release(&c->peer);
	close(c->fd);
	peer_free(&c->peer);
	free(c);
	return NULL;
}

static void
accept_one(int lfd, enum conn_kind kind)
{
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	struct config cfg;
	pthread_attr_t attr;
	pthread_t t;
	struct conn *c;
	const char *why;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100 * 1000);	/* don't spin on it */
		return;
	}
	/* A peer that stops reading must not hold a thread forever. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->kind = kind;
	peer_read(fd, &c->peer);
	config_current(&cfg);
	if ((why = admit(&c->peer, &cfg)) != NULL) {
		log_info("uid %u (%s): refused: %s", (unsigned)c->peer.uid,
		    c->peer.comm, why);
		/* An acctd frame means nothing to a saslauthd or Dovecot
		 * client: it just sees the connection close. */
		if (kind == CONN_ACCTD)
			send_error(fd, ACCT_ERR_BUSY, why);
		goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	if (pthread_create(&t, &attr, conn_main, c) != 0) {
		pthread_attr_destroy(&attr);
		log_warn("cannot start a connection thread");
		if (kind == CONN_ACCTD)
			send_error(fd, ACCT_ERR_BUSY, "server busy");
		release(&c->peer);
		goto fail;
	}
	pthread_attr_destroy(&attr);
	return;
fail:
	close(fd);
	peer_free(&c->peer);
	free(c);
}

static void
reload(const char *path, bool required)
{
	struct config old, c;
	char err[512];

	sd_notify_state("RELOADING=1");
	config_current(&old);
	if (config_load(&c, path, required, err, sizeof(err)) == -1) {
		log_err("SIGHUP: keeping the old configuration: %s", err);
		sd_notify_state("READY=1");
		return;
	}
	if (strcmp(c.socket_path, old.socket_path) != 0 ||
	    strcmp(c.saslauthd_socket, old.saslauthd_socket) != 0 ||
	    strcmp(c.dovecot_auth_socket, old.dovecot_auth_socket) != 0 ||
	    strcmp(c.db_path, old.db_path) != 0)
		log_warn("SIGHUP: socket and database paths change only on "
		    "restart");
	/* Paths stay as started, including -s and -d overrides. */
	memcpy(c.socket_path, old.socket_path, sizeof(c.socket_path));
	memcpy(c.saslauthd_socket, old.saslauthd_socket,
	    sizeof(c.saslauthd_socket));
	memcpy(c.dovecot_auth_socket, old.dovecot_auth_socket,
	    sizeof(c.dovecot_auth_socket));
	memcpy(c.db_path, old.db_path, sizeof(c.db_path));
	config_resolve_groups(&c);
	log_set_level((enum log_level)c.log_level);
	config_set_current(&c);
	/* What was changed in the file by hand is read from now on. */
	db_invalidate();
	log_info("configuration reloaded from %s", path);
	sd_notify_state("READY=1");
}

/* After the listener closes: wake idle connections, wait for the rest. */
static void
drain(void)
{
	struct timespec until;

	draining = true;
	if (write(stop_pipe[1], "x", 1) != 1)
		log_warn("cannot wake idle connections: %s", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DRAIN_WAIT_S;
	pthread_mutex_lock(&lock);
	while (nconn > 0)
		if (pthread_cond_timedwait(&drained, &lock, &until) ==
		    ETIMEDOUT) {
			log_warn("%u connections still busy; stopping anyway",
			    nconn);
			break;
		}
	pthread_mutex_unlock(&lock);
}

int
server_run(int lfd, int sasl_fd, int dovecot_fd, const char *config_path,
    bool required)
{
	struct signalfd_siginfo si;
	sigset_t set;
	int sfd;
	int64_t next_purge = 0;
	bool stop = false;

	stats_started(now_unix());
	/* Hundreds of connection threads share two malloc arenas, not 8
	 * per CPU each keeping its own free memory. */
	mallopt(M_ARENA_MAX, MALLOC_ARENAS);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if ((sfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1 ||
	    pipe2(stop_pipe, O_CLOEXEC) == -1) {
		log_err("signalfd/pipe: %s", strerror(errno));
		return -1;
	}
	while (!stop) {
		/* poll() skips a negative fd: either socket may be off. */
		struct pollfd p[4] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = sasl_fd, .events = POLLIN },
			{ .fd = dovecot_fd, .events = POLLIN },
		};
		if (now_unix() >= next_purge) {
			struct config c;

			config_current(&c);
			purge_run(&c);
			next_purge = now_unix() + PURGE_INTERVAL;
		}
		if (poll(p, 4,
		    (int)(next_purge - now_unix()) * 1000) == -1) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents & POLLIN &&
		    read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				reload(config_path, required);
			else {
				log_info("signal %u: finishing in-flight "
				    "requests", si.ssi_signo);
				stop = true;
			}
		}
		if (!stop && (p[0].revents & POLLIN))
			accept_one(lfd, CONN_ACCTD);
		if (!stop && sasl_fd >= 0 && (p[2].revents & POLLIN))
			accept_one(sasl_fd, CONN_SASLAUTHD);
		if (!stop && dovecot_fd >= 0 && (p[3].revents & POLLIN))
			accept_one(dovecot_fd, CONN_DOVECOT);
	}
	close(sfd);
	return 0;
}

/* Called after the listening socket is closed. */
void
server_drain(void)
{
	if (stop_pipe[1] != -1)
		drain();
}
