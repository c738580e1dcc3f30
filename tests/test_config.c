/*
 * test_config.c: acctd/config.c: defaults, the key = value parser (every
 * key, comments, errors with file:line), loading files, group resolution.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../acctd/acctd.h"
#include "../common/log.h"
#include "harness.h"

#define ERRSZ	512

/* ---- helpers ---- */

static void
fresh(struct config *c)
{
	memset(c, 0, sizeof(*c));
	config_defaults(c);
}

/* Parse text as "test.conf" into a fresh config; must succeed. */
static void
parse_ok(struct config *c, const char *text)
{
	char err[ERRSZ] = "";

	fresh(c);
	if (config_parse(c, "test.conf", text, err, sizeof(err)) != 0)
		fail_msg("refused \"%s\": %s", text, err);
}

/* Must fail with a message naming test.conf:line. */
static void
parse_bad(const char *text, int line)
{
	struct config c;
	char err[ERRSZ], where[32];

	fresh(&c);
	memset(err, 0, sizeof(err));
	if (config_parse(&c, "test.conf", text, err, sizeof(err)) != -1)
		fail_msg("accepted \"%s\"", text);
	snprintf(where, sizeof(where), "test.conf:%d", line);
	if (strstr(err, where) == NULL)
		fail_msg("\"%s\": message \"%s\" lacks %s", text, err, where);
}

/* Must fail naming test.conf (a check across keys may name no line). */
static void
parse_bad_anyline(const char *text)
{
	struct config c;
	char err[ERRSZ];

	fresh(&c);
	memset(err, 0, sizeof(err));
	if (config_parse(&c, "test.conf", text, err, sizeof(err)) != -1)
		fail_msg("accepted \"%s\"", text);
	if (strstr(err, "test.conf") == NULL)
		fail_msg("\"%s\": message \"%s\" lacks the file", text, err);
}

/* "key = value\n" for a bad value on line 1. */
static void
value_bad(const char *key, const char *value)
{
	char text[256];

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	parse_bad(text, 1);
}

/* A numeric key accepts value and stores it where get() finds it. */
typedef uint32_t getter(const struct config *);

static void
value_ok(const char *key, const char *value, getter *get, uint32_t want)
{
	struct config c;
	char text[256];

	snprintf(text, sizeof(text), "%s = %s\n", key, value);
	parse_ok(&c, text);
	if (get(&c) != want)
		fail_msg("%s = %s gave %u, want %u", key, value, get(&c), want);
}

#define GETTER(field) \
static uint32_t get_##field(const struct config *c) { return c->field; }
GETTER(argon2_m)
GETTER(argon2_t)
GETTER(argon2_p)
GETTER(pw_min)
GETTER(pw_max)
GETTER(hash_workers)
GETTER(hash_queue)
GETTER(max_conn)
GETTER(max_conn_uid)
GETTER(idle_timeout)
GETTER(frame_timeout)
GETTER(lockout_failures)
GETTER(source_lockout_failures)
GETTER(lockout_base)
GETTER(lockout_max)
GETTER(audit_retention_days)

/* The numeric keys, their documented defaults and ranges. */
static const struct numkey {
	const char	*key;
	getter		*get;
	uint32_t	 def, min, max;
} numkeys[] = {
	{ "argon2_memory_kib", get_argon2_m, 65536, 8, 1048576 },
	{ "argon2_time", get_argon2_t, 3, 1, 64 },
	{ "argon2_parallelism", get_argon2_p, 1, 1, 16 },
	{ "password_min_length", get_pw_min, 8, 1, 256 },	/* <= max */
	{ "password_max_length", get_pw_max, 256, 8, 4096 },	/* >= min */
	{ "hash_workers", get_hash_workers, 0, 0, 256 },
	{ "hash_queue", get_hash_queue, 64, 0, 100000 },
	{ "max_connections", get_max_conn, 256, 1, 100000 },
	{ "max_connections_per_uid", get_max_conn_uid, 32, 1, 100000 },
	{ "idle_timeout", get_idle_timeout, 60, 1, 86400 },
	{ "frame_timeout", get_frame_timeout, 10, 1, 3600 },
	{ "lockout_failures", get_lockout_failures, 5, 1, 100 },
	{ "source_lockout_failures", get_source_lockout_failures, 20, 1, 100 },
	{ "lockout_base", get_lockout_base, 30, 1, 900 },	/* <= max */
	{ "lockout_max", get_lockout_max, 900, 30, 604800 },	/* >= base */
	{ "audit_retention_days", get_audit_retention_days, 90, 0, 36500 },
};
#define NNUM	(sizeof(numkeys) / sizeof(numkeys[0]))

/* A temporary directory for files, removed in teardown. */
struct tmp {
	char	dir[64];
};

static int
setup_tmp(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	strcpy(t->dir, "/tmp/acctd-test-config.XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int
teardown_tmp(void **state)
{
	struct tmp *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* ---- defaults ---- */

static void
test_defaults(void **state)
{
	struct config c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	assert_string_equal(c.socket_path, "/run/acctd/acctd.sock");
	assert_string_equal(c.db_path, "/var/lib/acctd/acctd.db");
	assert_string_equal(c.admin_group, "acctadm");
	assert_string_equal(c.auth_group, "acctauth");
	assert_int_equal(c.argon2_m, 65536);
	assert_int_equal(c.argon2_t, 3);
	assert_int_equal(c.argon2_p, 1);
	assert_int_equal(c.pw_min, 8);
	assert_int_equal(c.pw_max, 256);
	assert_int_equal(c.hash_workers, 0);
	assert_int_equal(c.hash_queue, 64);
	assert_int_equal(c.max_conn, 256);
	assert_int_equal(c.max_conn_uid, 32);
	assert_int_equal(c.idle_timeout, 60);
	assert_int_equal(c.frame_timeout, 10);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	/* Documented in acctd.conf(5). */
	for (size_t i = 0; i < NNUM; i++)
		if (numkeys[i].get(&c) != numkeys[i].def)
			fail_msg("default %s = %u, documented %u",
			    numkeys[i].key, numkeys[i].get(&c), numkeys[i].def);
	assert_string_equal(ACCTD_DEFAULT_CONFIG, "/etc/acctd/acctd.conf");
}

/* ---- syntax ---- */

static void
test_empty_text(void **state)
{
	struct config a, b;

	(void)state;
	fresh(&a);
	static const char *const empties[] = {
		"", "\n", "\n\n\n", "   \n\t\n", "# only a comment\n",
		"# a\n   # b\n\t#c\n\n", "#", "   ",
	};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		parse_ok(&b, empties[i]);
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void
test_comments_and_whitespace(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c,
	    "# acctd.conf\n"
	    "\n"
	    "argon2_time=5\n"
	    "   hash_queue   =   7   \n"
	    "\tmax_connections\t=\t99\t\n"
	    "idle_timeout = 33 # a comment after the value\n"
	    "frame_timeout = 4# no space before it\n"
	    "   # indented comment\n"
	    "admin_group = wheel   # trailing\n"
	    "\n");
	assert_int_equal(c.argon2_t, 5);
	assert_int_equal(c.hash_queue, 7);
	assert_int_equal(c.max_conn, 99);
	assert_int_equal(c.idle_timeout, 33);
	assert_int_equal(c.frame_timeout, 4);
	assert_string_equal(c.admin_group, "wheel");
	/* Untouched keys keep their defaults. */
	assert_int_equal(c.argon2_p, 1);
	assert_string_equal(c.auth_group, "acctauth");
}

static void
test_no_final_newline(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "argon2_time = 6");
	assert_int_equal(c.argon2_t, 6);
	parse_ok(&c, "hash_queue = 1\nargon2_time = 7");
	assert_int_equal(c.argon2_t, 7);
	assert_int_equal(c.hash_queue, 1);
}

static void
test_last_wins(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "argon2_time = 2\nargon2_time = 4\n");
	assert_int_equal(c.argon2_t, 4);
	parse_ok(&c, "socket = /tmp/a.sock\nsocket = /tmp/b.sock\n");
	assert_string_equal(c.socket_path, "/tmp/b.sock");
}

static void
test_quoted_values(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c, "socket = \"/tmp/with space.sock\"\n");
	assert_string_equal(c.socket_path, "/tmp/with space.sock");
	parse_ok(&c, "admin_group = \"wheel\"\n");
	assert_string_equal(c.admin_group, "wheel");
	parse_ok(&c, "argon2_time = \"9\"\n");
	assert_int_equal(c.argon2_t, 9);
}

/* ---- every key ---- */

static void
test_every_key(void **state)
{
	struct config c;

	(void)state;
	parse_ok(&c,
	    "socket = /tmp/acctd-x/acctd.sock\n"
	    "database = /tmp/acctd-x/db/acctd.db\n"
	    "admin_group = wheel\n"
	    "auth_group = 4243\n"
	    "argon2_memory_kib = 1024\n"
	    "argon2_time = 2\n"
	    "argon2_parallelism = 4\n"
	    "password_min_length = 4\n"
	    "password_max_length = 72\n"
	    "hash_workers = 3\n"
	    "hash_queue = 10\n"
	    "max_connections = 100\n"
	    "max_connections_per_uid = 5\n"
	    "idle_timeout = 30\n"
	    "frame_timeout = 5\n"
	    "log_level = debug\n"
	    "lockout_failures = 7\n"
	    "source_lockout_failures = 50\n"
	    "lockout_base = 10\n"
	    "lockout_max = 1000\n"
	    "audit_retention_days = 0\n");
	assert_string_equal(c.socket_path, "/tmp/acctd-x/acctd.sock");
	assert_string_equal(c.db_path, "/tmp/acctd-x/db/acctd.db");
	assert_string_equal(c.admin_group, "wheel");
	assert_string_equal(c.auth_group, "4243");
	assert_int_equal(c.argon2_m, 1024);
	assert_int_equal(c.argon2_t, 2);
	assert_int_equal(c.argon2_p, 4);
	assert_int_equal(c.pw_min, 4);
	assert_int_equal(c.pw_max, 72);
	assert_int_equal(c.hash_workers, 3);
	assert_int_equal(c.hash_queue, 10);
	assert_int_equal(c.max_conn, 100);
	assert_int_equal(c.max_conn_uid, 5);
	assert_int_equal(c.idle_timeout, 30);
	assert_int_equal(c.frame_timeout, 5);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.lockout_failures, 7);
	assert_int_equal(c.source_lockout_failures, 50);
	assert_int_equal(c.lockout_base, 10);
	assert_int_equal(c.lockout_max, 1000);
	assert_int_equal(c.audit_retention_days, 0);
}

static void
test_log_levels(void **state)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_LVL_ERR }, { "warning", LOG_LVL_WARN },
		{ "info", LOG_LVL_INFO }, { "debug", LOG_LVL_DEBUG },
	};
	struct config c;
	char text[64];

	(void)state;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "log_level = %s\n", levels[i].name);
		parse_ok(&c, text);
		assert_int_equal(c.log_level, levels[i].level);
	}
	value_bad("log_level", "verbose");
	value_bad("log_level", "");
	value_bad("log_level", "3");
	value_bad("log_level", "info debug");
}

/* Each number at both ends of its range, and just outside. */
static void
test_number_ranges(void **state)
{
	char v[64];

	(void)state;
	for (size_t i = 0; i < NNUM; i++) {
		const struct numkey *k = &numkeys[i];

		snprintf(v, sizeof(v), "%u", k->min);
		value_ok(k->key, v, k->get, k->min);
		snprintf(v, sizeof(v), "%u", k->max);
		value_ok(k->key, v, k->get, k->max);
		if (k->min > 0) {
			snprintf(v, sizeof(v), "%s = %u\n", k->key, k->min - 1);
			parse_bad_anyline(v);
		}
		snprintf(v, sizeof(v), "%s = %u\n", k->key, k->max + 1);
		parse_bad_anyline(v);
	}
}

/* Things that are not a plain decimal number. */
static void
test_bad_numbers(void **state)
{
	static const char *const bad[] = {
		"-1", "-0", "+5", "abc", "5x", "x5", "1.5", "1e3", "0x10",
		"", " ", "5 5", "4294967296", "4294967297",
		"18446744073709551616", "99999999999999999999999999",
		"\"\"", "\"5", "five",
	};

	(void)state;
	for (size_t i = 0; i < NNUM; i++)
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
			value_bad(numkeys[i].key, bad[j]);
	/* The contract's own example. */
	value_bad("argon2_parallelism", "0");
}

/* Leading zeros are still decimal, not octal. */
static void
test_leading_zeros(void **state)
{
	(void)state;
	value_ok("argon2_time", "010", get_argon2_t, 10);
	value_ok("hash_queue", "0", get_hash_queue, 0);
}

/* Settings that depend on each other. */
static void
test_cross_checks(void **state)
{
	struct config c;

	(void)state;
	/* min above the default max, or max below the default min. */
	parse_bad_anyline("password_min_length = 300\n");
	parse_bad_anyline("password_max_length = 7\n");
	parse_bad_anyline("password_min_length = 100\n"
	    "password_max_length = 50\n");
	/* Raised together, in either order, is fine. */
	parse_ok(&c, "password_max_length = 400\npassword_min_length = 300\n");
	assert_int_equal(c.pw_min, 300);
	assert_int_equal(c.pw_max, 400);
	parse_ok(&c, "password_min_length = 4\npassword_max_length = 4\n");
	assert_int_equal(c.pw_min, 4);
	assert_int_equal(c.pw_max, 4);
	/* argon2_memory_kib at least 8 per lane. */
	parse_bad_anyline("argon2_parallelism = 4\nargon2_memory_kib = 31\n");
	parse_bad_anyline("argon2_memory_kib = 31\nargon2_parallelism = 4\n");
	parse_ok(&c, "argon2_parallelism = 4\nargon2_memory_kib = 32\n");
	assert_int_equal(c.argon2_m, 32);
	/* lockout_base not above lockout_max. */
	parse_bad_anyline("lockout_base = 901\n");
	parse_bad_anyline("lockout_max = 29\n");
	parse_ok(&c, "lockout_max = 2000\nlockout_base = 2000\n");
	assert_int_equal(c.lockout_base, 2000);
}

/* ---- errors ---- */

static void
test_unknown_key(void **state)
{
	(void)state;
	parse_bad("bogus = 1\n", 1);
	parse_bad("argon2_time = 3\n\n# comment\nbogus = 1\n", 4);
	parse_bad("Socket = /tmp/x\n", 1);		/* case-sensitive */
	parse_bad("argon2 time = 3\n", 1);
	parse_bad("argon2_time_ = 3\n", 1);
	parse_bad("password_min = 3\n", 1);
	parse_bad("= 3\n", 1);				/* no key */
	/* The message names the key too. */
	{
		struct config c;
		char err[ERRSZ];

		fresh(&c);
		assert_int_equal(config_parse(&c, "x.conf",
		    "argon2_time = 1\nfrobs = 2\n",
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "x.conf:2"));
		assert_non_null(strstr(err, "frobs"));
	}
}

static void
test_missing_equals(void **state)
{
	(void)state;
	parse_bad("argon2_time 3\n", 1);
	parse_bad("argon2_time\n", 1);
	parse_bad("# ok\nsocket /tmp/x.sock\n", 2);
	parse_bad("argon2_time = 3\nhash_queue\n", 2);
	parse_bad("just some words\n", 1);
}

static void
test_line_numbers(void **state)
{
	(void)state;
	parse_bad("\n\n\n\n\n\n\n\n\nargon2_time = 0\n", 10);
	parse_bad("# 1\n# 2\nhash_queue = 1\nhash_queue = x\n", 4);
	parse_bad("a = b\n", 1);
}

static void
test_paths(void **state)
{
	char text[512];
	struct config c;

	(void)state;
	/* Absolute paths only. */
	value_bad("socket", "relative.sock");
	value_bad("socket", "");
	value_bad("database", "db/acctd.db");
	value_bad("database", "");
	/* The socket path must fit sun_path (108 bytes with the NUL). */
	memset(text, 0, sizeof(text));
	strcpy(text, "socket = /");
	memset(text + 10, 's', 106);		/* "/" + 106 = 107 bytes */
	strcat(text, "\n");
	parse_ok(&c, text);
	assert_int_equal(strlen(c.socket_path), 107);
	memset(text, 0, sizeof(text));
	strcpy(text, "socket = /");
	memset(text + 10, 's', 107);		/* 108 bytes: too long */
	strcat(text, "\n");
	parse_bad(text, 1);
}

static void
test_groups_text(void **state)
{
	struct config c;
	char text[128];

	(void)state;
	parse_ok(&c, "admin_group = 4242\nauth_group = 0\n");
	assert_string_equal(c.admin_group, "4242");
	assert_string_equal(c.auth_group, "0");
	/* 64 bytes do not fit admin_group[64]. */
	snprintf(text, sizeof(text), "admin_group = %064d\n", 1);
	parse_bad(text, 1);
}

/* ---- group resolution ---- */

static void
test_resolve_groups(void **state)
{
	struct config c;
	struct group *g;

	(void)state;
	fresh(&c);
	strcpy(c.admin_group, "4242");
	strcpy(c.auth_group, "4243");
	config_resolve_groups(&c);
	assert_true(c.admin_gid_ok);
	assert_int_equal(c.admin_gid, 4242);
	assert_true(c.auth_gid_ok);
	assert_int_equal(c.auth_gid, 4243);

	/* A name from the group database. */
	g = getgrgid(0);
	if (g != NULL) {
		fresh(&c);
		assert_true(strlen(g->gr_name) < sizeof(c.admin_group));
		strcpy(c.admin_group, g->gr_name);
		config_resolve_groups(&c);
		assert_true(c.admin_gid_ok);
		assert_int_equal(c.admin_gid, 0);
	}

	/* Unknown names and bad numbers leave the class without members. */
	fresh(&c);
	strcpy(c.admin_group, "no-such-group-acctd-test");
	strcpy(c.auth_group, "12abc");
	c.admin_gid_ok = c.auth_gid_ok = true;
	config_resolve_groups(&c);
	assert_false(c.admin_gid_ok);
	assert_false(c.auth_gid_ok);
}

/* ---- loading files ---- */

static void
test_load_missing_optional(void **state)
{
	struct tmp *t = *state;
	struct config c, d;
	char path[128], err[ERRSZ];

	memset(&c, 0x5a, sizeof(c));
	snprintf(path, sizeof(path), "%s/absent.conf", t->dir);
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), 0);
	fresh(&d);
	assert_string_equal(c.socket_path, d.socket_path);
	assert_string_equal(c.db_path, d.db_path);
	assert_string_equal(c.admin_group, d.admin_group);
	for (size_t i = 0; i < NNUM; i++)
		assert_int_equal(numkeys[i].get(&c), numkeys[i].get(&d));
	assert_int_equal(c.log_level, d.log_level);
}

static void
test_load_missing_required(void **state)
{
	struct tmp *t = *state;
	struct config c;
	char path[128], err[ERRSZ];

	snprintf(path, sizeof(path), "%s/absent.conf", t->dir);
	memset(err, 0, sizeof(err));
	assert_int_equal(config_load(&c, path, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void
test_load_file(void **state)
{
	struct tmp *t = *state;
	struct config c;
	char path[128], err[ERRSZ];
	const char *text = "# test\nargon2_time = 2\nlog_level = warning\n";

	snprintf(path, sizeof(path), "%s/acctd.conf", t->dir);
	write_file(path, text, strlen(text));
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(config_load(&c, path, true, err, sizeof(err)), 0);
	assert_int_equal(c.argon2_t, 2);
	assert_int_equal(c.log_level, LOG_LVL_WARN);
	/* The rest are defaults, not what was in the struct before. */
	assert_int_equal(c.argon2_p, 1);
	assert_string_equal(c.socket_path, "/run/acctd/acctd.sock");
	/* Optional or not, an existing file is read. */
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), 0);
	assert_int_equal(c.argon2_t, 2);
}

static void
test_load_errors_name_the_file(void **state)
{
	struct tmp *t = *state;
	struct config c;
	char path[128], err[ERRSZ], where[160];
	const char *text = "argon2_time = 2\n\nbogus = 1\n";

	snprintf(path, sizeof(path), "%s/bad.conf", t->dir);
	write_file(path, text, strlen(text));
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), -1);
	snprintf(where, sizeof(where), "%s:3", path);
	assert_non_null(strstr(err, where));
}

static void
test_load_empty_and_dev_null(void **state)
{
	struct tmp *t = *state;
	struct config c;
	char path[128], err[ERRSZ];

	snprintf(path, sizeof(path), "%s/empty.conf", t->dir);
	write_file(path, "", 0);
	assert_int_equal(config_load(&c, path, true, err, sizeof(err)), 0);
	assert_int_equal(c.argon2_t, 3);
	/* `make run` starts the daemon with -c /dev/null. */
	assert_int_equal(config_load(&c, "/dev/null", true, err, sizeof(err)),
	    0);
	assert_int_equal(c.pw_min, 8);
}

static void
test_load_refuses_bad_files(void **state)
{
	struct tmp *t = *state;
	struct config c;
	char path[128], err[ERRSZ];
	size_t big = 1024 * 1024 + 1;
	char *text;

	/* A directory. */
	assert_int_equal(config_load(&c, t->dir, false, err, sizeof(err)), -1);
	/* A NUL byte hides the rest of the line from a C-string parser. */
	snprintf(path, sizeof(path), "%s/nul.conf", t->dir);
	write_file(path, "argon2_time = 2\0bogus\n", 22);
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), -1);
	/* Over 1 MiB, even if it is all comments. */
	text = malloc(big);
	assert_non_null(text);
	for (size_t i = 0; i < big; i++)
		text[i] = i % 80 == 79 ? '\n' : '#';
	snprintf(path, sizeof(path), "%s/big.conf", t->dir);
	write_file(path, text, big);
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), -1);
	/* Just under is fine. */
	write_file(path, text + 2, big - 2);
	assert_int_equal(config_load(&c, path, false, err, sizeof(err)), 0);
	free(text);
}

/* ---- the live config ---- */

/* What config_print() writes parses back to the same values, for every
 * key, and names every key of the table. */
static void
test_print_parses_back(void **state)
{
	struct config a, b;
	char *text = NULL, err[ERRSZ] = "";
	size_t len = 0;
	FILE *f;

	(void)state;
	parse_ok(&a, "saslauthd_socket = /tmp/x/mux\n"
	    "dovecot_auth_socket = /tmp/x/auth\nlockout_failures = 9\n"
	    "mail_from = a@example.org\nlog_level = warning\n"
	    "reset_mail_interval = 0\nadmin_group = 17\n");
	assert_non_null(f = open_memstream(&text, &len));
	config_print(f, &a);
	assert_int_equal(fclose(f), 0);
	fresh(&b);
	memset(&b, 0x5a, sizeof(b));	/* every value from the text */
	config_defaults(&b);
	b.lockout_failures = 1;
	if (config_parse(&b, "printed", text, err, sizeof(err)) != 0)
		fail_msg("%s\n%s", err, text);
	assert_memory_equal(&a, &b, offsetof(struct config, admin_gid));
	assert_non_null(strstr(text, "saslauthd_socket = /tmp/x/mux\n"));
	assert_non_null(strstr(text, "dovecot_auth_socket = /tmp/x/auth\n"));
	assert_non_null(strstr(text, "log_level = warning\n"));
	free(text);
}

/* acctd -t: the values in force on stdout and exit 0, or the file, the
 * line and the reason on stderr and exit 1. */
static void
test_acctd_t(void **state)
{
	char path[] = "/tmp/acctd-conf.XXXXXX";
	const char *bin = th_acctd_bin();
	struct th_result r;
	int fd;

	(void)state;
	assert_non_null(bin);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true(dprintf(fd, "lockout_failures = 7\n# fine\n"
	    "admin_group = 0\nauth_group = root\n") > 0);
	close(fd);
	{
		const char *const argv[] = { bin, "-t", "-c", path, NULL };

		assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r), 0);
		assert_true(th_contains(r.out, "lockout_failures = 7\n"));
		assert_true(th_contains(r.out, "lockout_base = 30\n"));
		assert_true(th_contains(r.err, "configuration OK"));
		th_result_free(&r);
	}
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_true(dprintf(fd, "# one\nlockout_failures = 700\n") > 0);
	close(fd);
	{
		const char *const argv[] = { bin, "-t", "-c", path, NULL };

		assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r), 1);
		assert_true(th_contains(r.err, ":2: lockout_failures must be"));
		assert_string_equal(r.out, "");
		th_result_free(&r);
	}
	/* What a real start would refuse or get wrong, -t refuses: a
	 * lone quote, a group that does not exist, relative -s and -d. */
	{
		static const struct {
			const char	*text, *arg, *val, *want;
		} bad[] = {
			{ "site_name = \"Photos\n", NULL, NULL,
			    "site_name: unbalanced double quote" },
			{ "admin_group = no-such-group-here\nauth_group = 0\n",
			    NULL, NULL, "an unknown group" },
			{ "admin_group = 0\nauth_group = 0\n", "-s", "x.sock",
			    "-s x.sock: must be an absolute path" },
			{ "admin_group = 0\nauth_group = 0\n", "-d", "x.db",
			    "-d x.db: must be an absolute path" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *const argv[] = { bin, "-t", "-c", path,
			    bad[i].arg, bad[i].val, NULL };

			assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
			assert_true(dprintf(fd, "%s", bad[i].text) > 0);
			close(fd);
			assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r),
			    1);
			if (!th_contains(r.err, bad[i].want))
				fail_msg("%s: wanted '%s' in:\n%s", bad[i].text,
				    bad[i].want, r.err);
			th_result_free(&r);
		}
	}
	unlink(path);
	{
		const char *const argv[] = { bin, "-t", "-c", path, NULL };

		assert_int_equal(th_run_v(argv, NULL, NULL, NULL, &r), 1);
		assert_true(th_contains(r.err, "No such file"));
		th_result_free(&r);
	}
	th_free_all();
}

static void
test_current(void **state)
{
	struct config a, b;

	(void)state;
	parse_ok(&a, "argon2_time = 11\nadmin_group = 77\n");
	config_set_current(&a);
	memset(&b, 0, sizeof(b));
	config_current(&b);
	assert_int_equal(b.argon2_t, 11);
	assert_string_equal(b.admin_group, "77");
	assert_memory_equal(&a, &b, sizeof(a));
}

#define TT(f)	cmocka_unit_test_setup_teardown(f, setup_tmp, teardown_tmp)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_text),
		cmocka_unit_test(test_comments_and_whitespace),
		cmocka_unit_test(test_no_final_newline),
		cmocka_unit_test(test_last_wins),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_number_ranges),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_leading_zeros),
		cmocka_unit_test(test_cross_checks),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_missing_equals),
		cmocka_unit_test(test_line_numbers),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_groups_text),
		cmocka_unit_test(test_resolve_groups),
		TT(test_load_missing_optional),
		TT(test_load_missing_required),
		TT(test_load_file),
		TT(test_load_errors_name_the_file),
		TT(test_load_empty_and_dev_null),
		TT(test_load_refuses_bad_files),
		cmocka_unit_test(test_current),
		cmocka_unit_test(test_print_parses_back),
		cmocka_unit_test(test_acctd_t),
	};

	log_init("test_config", LOG_LVL_ERR);	/* quiet group warnings */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
