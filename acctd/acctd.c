/*
 * acctd.c: start-up and shut-down. Parse flags, load the config, open the
 * database and the socket, serve, then close everything cleanly.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: acctd [-f] [-c file] [-s socket] [-d database]\n"
	    "       acctd -t [-c file]\n"
	    "       acctd --restore FILE [-c file] [-d database]\n"
	    "  -f, --foreground     stay in the foreground (always, for now)\n"
	    "  -t, --test           check the configuration, print the values in\n"
	    "                       force, exit 0 (good) or 1\n"
	    "  -c, --config FILE    configuration (default %s)\n"
	    "  -s, --socket PATH    listening socket (overrides config)\n"
	    "  -d, --db PATH        database file (overrides config)\n"
	    "  -r, --restore FILE   with acctd stopped: replace the database\n"
	    "                       with the backup FILE, checked and migrated\n"
	    "  -V, --version        print the version\n"
	    "  -h, --help           this help\n", ACCTD_DEFAULT_CONFIG);
}

/* Secrets live in this process: no core dumps, no ptrace by peers. */
static void
no_dumps(void)
{
	struct rlimit rl = { 0, 0 };

	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

struct opts {
	const char	*config;
	bool		 config_given;
	bool		 test;
	const char	*socket;
	const char	*db;
	const char	*restore;	/* the backup to restore */
};

static void
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "foreground",	no_argument,		NULL, 'f' },
		{ "test",	no_argument,		NULL, 't' },
		{ "config",	required_argument,	NULL, 'c' },
		{ "socket",	required_argument,	NULL, 's' },
		{ "db",		required_argument,	NULL, 'd' },
		{ "restore",	required_argument,	NULL, 'r' },
		{ "version",	no_argument,		NULL, 'V' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = ACCTD_DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "ftc:s:d:r:Vh", lo, NULL)) != -1) {
		switch (ch) {
		case 'f':
			break;
		case 't':
			o->test = true;
			break;
		case 'c':
			o->config = optarg;
			o->config_given = true;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'r':
			o->restore = optarg;
			break;
		case 'V':
			printf("acctd %s\n", ACCT_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || (o->test && o->restore != NULL)) {
		usage(stderr);
		exit(2);
	}
}

static int
load_config(const struct opts *o, struct config *c)
{
	char err[512];

	if (config_load(c, o->config, o->config_given, err,
	    sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	/* The same rules as the config's socket and database keys. */
	if (o->socket != NULL && (o->socket[0] != '/' ||
	    strlcpy(c->socket_path, o->socket, sizeof(c->socket_path)) >=
	    sizeof(c->socket_path))) {
		log_err("-s %s: must be an absolute path shorter than %zu "
		    "bytes", o->socket, sizeof(c->socket_path));
		return -1;
	}
	if (o->db != NULL && (o->db[0] != '/' ||
	    strlcpy(c->db_path, o->db, sizeof(c->db_path)) >=
	    sizeof(c->db_path))) {
		log_err("-d %s: must be an absolute path shorter than %zu "
		    "bytes", o->db, sizeof(c->db_path));
		return -1;
	}
	/* A running acctd only warns (the group may come later, from a
	 * package); -t, asked whether the file is right, says no. */
	if (!config_resolve_groups(c) && o->test) {
		log_err("%s: an unknown group: that class would have no "
		    "members", o->config);
		return -1;
	}
	log_set_level((enum log_level)c->log_level);
	config_set_current(c);
	return 0;
}

/*
 * Imported hashes: time the dearest, to which every failure is padded,
 * and say how many are over the cost limits (they never verify).
 */
static void
stored_hashes(const struct config *c)
{
	char *h = NULL;
	int64_t over = 0;

	if (account_dearest_hash(c, &h, &over) != ACCT_OK) {
		log_warn("could not read the stored hashes' costs");
		return;
	}
	if (over > 0)
		log_warn("%lld accounts have a password hash over the cost "
		    "limits: it is never tried, and they log in only once an "
		    "admin sets a new password (acctc users legacy lists "
		    "them)", (long long)over);
	if (h != NULL) {
		hash_time_stored(c, h);
		freezero(h, strlen(h));
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct config c;
	sigset_t set;
	char err[512];
	int lfd, sfd = -1, dfd = -1, activated, rc;

	log_init("acctd", LOG_LVL_INFO);
	parse_args(argc, argv, &o);
	no_dumps();
	/* Signals go to server_run()'s signalfd, in every thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (dispatch_init() == -1 || load_config(&o, &c) == -1)
		return 1;
	/* -t: the file is good (load_config said why not); show it. */
	if (o.test) {
		config_print(stdout, &c);
		fprintf(stderr, "acctd: %s: configuration OK\n", o.config);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (o.restore != NULL) {
		rc = backup_restore(o.restore, c.db_path, err, sizeof(err));
		if (rc == 0)
			log_info("%s", err);
		else
			log_err("restore: %s", err);
		return rc == 0 ? 0 : 1;
	}
	if (db_claim(c.db_path, err, sizeof(err)) == -1 ||
	    db_open(c.db_path, err, sizeof(err)) == -1) {
		log_err("database: %s", err);
		return 1;
	}
	backup_remove_stale(c.db_path);
	hash_init(&c);
	stored_hashes(&c);
	if (mail_start() == -1) {
		log_err("cannot start the mailer thread");
		db_close();
		return 1;
	}
	/* systemd's socket unit owns the socket file when it passed one. */
	if ((lfd = activated = sd_listen_fd()) == -1 &&
	    (lfd = listen_open(c.socket_path, err, sizeof(err))) == -1)
		log_err("%s", err);
	/* The saslauthd and Dovecot sockets are always ours, activated or
	 * not. */
	if (lfd >= 0 && c.saslauthd_socket[0] != '\0' &&
	    (sfd = listen_open(c.saslauthd_socket, err, sizeof(err))) == -1) {
		log_err("saslauthd_socket: %s", err);
		if (activated < 0)
			listen_close(lfd, c.socket_path);
		lfd = -1;
	}
	if (lfd >= 0 && c.dovecot_auth_socket[0] != '\0' &&
	    (dfd = listen_open(c.dovecot_auth_socket, err, sizeof(err))) ==
	    -1) {
		log_err("dovecot_auth_socket: %s", err);
		if (sfd >= 0)
			listen_close(sfd, c.saslauthd_socket);
		if (activated < 0)
			listen_close(lfd, c.socket_path);
		lfd = -1;
	}
	if (lfd < 0) {
		mail_stop();
		db_close();
		return 1;
	}
	log_info("acctd %s listening on %s, database %s", ACCT_VERSION,
	    activated >= 0 ? "the socket systemd passed" : c.socket_path,
	    c.db_path);
	if (sfd >= 0)
		log_info("saslauthd protocol on %s", c.saslauthd_socket);
	if (dfd >= 0)
		log_info("Dovecot auth protocol on %s", c.dovecot_auth_socket);
	sd_notify_state("READY=1");
	rc = server_run(lfd, sfd, dfd, o.config, o.config_given);
	sd_notify_state("STOPPING=1");
	if (activated >= 0)
		close(lfd);
	else
		listen_close(lfd, c.socket_path);
	if (sfd >= 0)
		listen_close(sfd, c.saslauthd_socket);
	if (dfd >= 0)
		listen_close(dfd, c.dovecot_auth_socket);
	server_drain();
	mail_stop();
	db_close();
	log_info("stopped");
	return rc == 0 ? 0 : 1;
}
