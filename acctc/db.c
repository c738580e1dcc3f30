/*
 * db.c: the database as a whole: db backup, the daemon's copy written to
 * a file this process makes with its caller's own rights, or to its
 * standard output (a file there only if it is the caller's, made 0600),
 * and never to a path the daemon is told.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acctc.h"

/*
 * A file on standard output is to hold every hash as FILE would: the
 * caller's own, mode 0600 (if group or others had any access). Made so
 * before a byte goes to it, or refused, with nothing written: a file of
 * someone else's is not ours to make private, and whoever may read it
 * would read the backup.
 */
static int
private_stdout(void)
{
	struct stat sb;

	if (fstat(STDOUT_FILENO, &sb) == -1) {
		acctc_warnx("standard output: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode))
		return 0;
	if (sb.st_uid != geteuid()) {
		acctc_warnx("standard output is a file of uid %u, not yours: "
		    "the backup is not written to it (name a FILE, or redirect "
		    "to a file of your own)", (unsigned)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 077) != 0 && fchmod(STDOUT_FILENO, 0600) == -1) {
		acctc_warnx("standard output: making it mode 0600: %s: the "
		    "backup is not written to it", strerror(errno));
		return -1;
	}
	return 0;
}

/* --json (with a FILE): {bytes: int, accounts: int, schema_version: int} */
int
cmd_db_backup(struct acctc *a, int argc, char **argv)
{
	struct proto_reply rep;
	char *path;
	bool to_stdout;
	int rc, fd = STDOUT_FILENO;
	FILE *say = stdout;

	if ((rc = acctc_one_arg(a, argc, argv, "FILE", &path)) >= 0)
		return rc;
	to_stdout = strcmp(path, "-") == 0;
	if (to_stdout && a->json)
		return acctc_usage(a, "--json needs a FILE: with -, standard "
		    "output is the backup");
	if (to_stdout && isatty(STDOUT_FILENO))
		return acctc_usage(a, "standard output is a terminal: name a "
		    "FILE, or redirect it");
	/* Fail on an absent daemon before making a file. */
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		return rc;
	if (to_stdout && private_stdout() == -1)
		return ACCTC_EXIT_FAIL;
	if (!to_stdout && (fd = open(path, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		acctc_warnx("%s: %s%s", path, strerror(errno), errno == EEXIST ?
		    " (not overwritten: remove it, or name another file)" : "");
		return ACCTC_EXIT_FAIL;
	}
	rc = acctc_call_fd(a, OP_DB_BACKUP, NULL, fd, &rep);
	if (!to_stdout) {
		if (close(fd) == -1 && rc == ACCTC_EXIT_OK) {
			acctc_warnx("%s: %s", path, strerror(errno));
			rc = ACCTC_EXIT_FAIL;
		}
		/* Nothing half written stays behind to be taken for a backup. */
		if (rc != ACCTC_EXIT_OK)
			(void)unlink(path);
	} else
		say = stderr;
	if (rc == ACCTC_EXIT_OK && !acctc_json(a, &rep)) {
		fprintf(say, "Backed up ");
		out_str(say, proto_map_get(rep.result, "accounts"));
		fprintf(say, " accounts (schema version ");
		out_str(say, proto_map_get(rep.result, "schema_version"));
		fprintf(say, ", ");
		out_str(say, proto_map_get(rep.result, "bytes"));
		fprintf(say, " bytes) to %s.\n", to_stdout ? "standard output" :
		    path);
	}
	proto_reply_free(&rep);
	return rc;
}
