/*
 * legacy.c: accounts with password hashes from elsewhere: users import
 * reads a file of them (CSV or user:hash lines) and users legacy lists
 * the accounts whose hash the next login will upgrade.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "acctc.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The most user_import takes in one request (its data argument). */
#define IMPORT_MAX	60000

/* users legacy: who still has a hash of another scheme. */
static const struct out_field legacy_columns[] = {
	{ "username",		"Username",	OUT_STR },
	{ "name",		"Name",		OUT_STR },
	{ "email",		"Email",	OUT_STR },
	{ "password_scheme",	"Scheme",	OUT_STR },
	{ "created_at",		"Created At",	OUT_TIME },
	{ "last_login_at",	"Last Login",	OUT_TIME_NEVER },
};

/*
 * Read all of path ("-": standard input) into buf, which holds bufsz
 * bytes and a NUL. 0, or -1 with the reason printed: unreadable, over
 * IMPORT_MAX bytes, or holding a NUL byte (not a text file).
 */
static int
read_file(const char *path, char *buf, size_t bufsz)
{
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	size_t n = 0;
	ssize_t r = 0;
	int fd = STDIN_FILENO;

	if (strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		acctc_warnx("%s: %s", name, strerror(errno));
		return -1;
	}
	/* One byte more than the limit tells a file that is too large. */
	while (n < bufsz) {
		if ((r = read(fd, buf + n, bufsz - n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	buf[n] = '\0';
	if (r == -1) {
		acctc_warnx("%s: %s", name, strerror(errno));
		return -1;
	}
	if (n > IMPORT_MAX) {
		acctc_warnx("%s: more than %d bytes, the most one import "
		    "takes: split it into files of whole lines (with the CSV "
		    "header line in each) and import them one by one", name,
		    IMPORT_MAX);
		return -1;
	}
	if (memchr(buf, '\0', n) != NULL) {
		acctc_warnx("%s: holds a NUL byte: not a text file", name);
		return -1;
	}
	return 0;
}

/* "Imported N accounts, skipped M." and a line per skipped line. */
static void
print_import(const msgpack_object *result)
{
	const msgpack_object *errors = proto_map_get(result, "errors");
	const msgpack_object *skipped = proto_map_get(result, "skipped");
	uint32_t listed = 0;

	printf("Imported ");
	out_str(stdout, proto_map_get(result, "imported"));
	printf(" accounts, skipped ");
	out_str(stdout, skipped);
	printf(".\n");
	if (errors != NULL && errors->type == MSGPACK_OBJECT_ARRAY)
		listed = errors->via.array.size;
	for (uint32_t i = 0; i < listed; i++) {
		const msgpack_object *e = &errors->via.array.ptr[i];

		printf("  line ");
		out_str(stdout, proto_map_get(e, "line"));
		printf(": ");
		out_str(stdout, proto_map_get(e, "reason"));
		putchar('\n');
	}
	/* The daemon lists the first 100 skipped lines only. */
	if (skipped != NULL && skipped->type ==
	    MSGPACK_OBJECT_POSITIVE_INTEGER && skipped->via.u64 > listed)
		printf("  (and %llu more skipped lines not listed)\n",
		    (unsigned long long)(skipped->via.u64 - listed));
}

/*
 * Lines the daemon skips (bad username, hash, taken name...) are
 * reported, and the request still succeeds: exit 0 with the good ones
 * imported. --json: {imported: int, skipped: int, errors: [{line: int,
 * reason: str}...]}
 */
int
cmd_users_import(struct acctc *a, int argc, char **argv)
{
	static char data[IMPORT_MAX + 2];
	struct proto_msg args;
	struct proto_reply rep;
	char *path;
	int rc;

	if ((rc = acctc_one_arg(a, argc, argv, "FILE", &path)) >= 0)
		return rc;
	/* Fail on an absent daemon before reading a whole file. */
	if ((rc = acctc_connect(a)) != ACCTC_EXIT_OK)
		return rc;
	if (read_file(path, data, sizeof(data) - 1) == -1) {
		explicit_bzero(data, sizeof(data));
		return ACCTC_EXIT_FAIL;
	}
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_DATA, data);
	/* Hashes are not passwords, but no copy need stay behind. */
	explicit_bzero(data, sizeof(data));
	if ((rc = acctc_call(a, OP_USER_IMPORT, &args, &rep)) ==
	    ACCTC_EXIT_OK && !acctc_json(a, &rep))
		print_import(rep.result);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

/*
 * The accounts not on the current Argon2id parameters: their next
 * login re-hashes the password. --json: {users: [ACCOUNT...], total}
 */
int
cmd_users_legacy(struct acctc *a, int argc, char **argv)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *users, *total;
	int64_t limit;
	int rc;

	if ((rc = acctc_list_args(a, argc, argv, &limit)) >= 0)
		return rc;
	proto_msg_init(&args);
	proto_kv_bool_f(&args, F_LEGACY, true);
	if (optind < argc)
		proto_kv_str_f(&args, F_SEARCH, argv[optind]);
	if (limit >= 0)
		proto_kv_int_f(&args, F_LIMIT, limit);
	if ((rc = acctc_call(a, OP_USER_LIST, &args, &rep)) == ACCTC_EXIT_OK &&
	    !acctc_json(a, &rep)) {
		users = proto_map_get(rep.result, "users");
		total = proto_map_get(rep.result, "total");
		rc = acctc_print_rows(a, users, legacy_columns,
		    NELEM(legacy_columns));
		if (rc == ACCTC_EXIT_OK && users != NULL &&
		    users->type == MSGPACK_OBJECT_ARRAY && total != NULL &&
		    total->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
		    total->via.u64 > users->via.array.size)
			acctc_warnx("showing %u of %llu accounts",
			    users->via.array.size,
			    (unsigned long long)total->via.u64);
	}
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
