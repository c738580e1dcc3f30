/*
 * test_diskfull.c: the database on a full file system, and a database
 * locked by another process: clear errors (storage, busy), reads go on,
 * writes come back once the cause is gone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#define FS_SIZE		"2m"
#define LONG_NAME	200

static char mnt[96];

static int
teardown_fs(void **state)
{
	if (mnt[0] != '\0') {
		umount2(mnt, MNT_DETACH);
		mnt[0] = '\0';
	}
	return th_teardown(state);
}

static int
add_named(const char *sock, const char *uname, const char *name,
    struct proto_reply *rep)
{
	struct proto_msg a;
	int rc;

	proto_msg_init(&a);
	proto_kv_str(&a, "username", uname);
	proto_kv_str(&a, "name", name);
	proto_kv_str(&a, "new_password", "a-long-enough-password");
	rc = th_call(sock, "user_add", &a, rep);
	proto_msg_free(&a);
	return rc;
}

/* Reads that must keep working whatever the writes do. */
static void
reads_work(const struct th_daemon *d)
{
	struct proto_msg a;

	assert_int_equal(th_call_code(d->sock, "hello", NULL), ACCT_OK);
	assert_true(th_user_exists(d->sock, "before-full"));
	proto_msg_init(&a);
	proto_kv_int(&a, "limit", 5);
	assert_int_equal(th_call_code(d->sock, "user_list", &a), ACCT_OK);
	proto_msg_free(&a);
}

static void
test_disk_full(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	char filler[200], name[LONG_NAME + 1], uname[32];
	char *buf = th_keep(calloc(1, 4096));
	int fd, i, code = ACCT_OK;

	if (!th_is_root())
		skip();		/* mounting a tmpfs needs root */
	assert_int_equal(th_init(d, NULL), 0);
	snprintf(mnt, sizeof(mnt), "%s/fs", d->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=" FS_SIZE ",mode=0700") == -1)
		fail_msg("mount tmpfs on %s: %s", mnt, strerror(errno));
	assert_true(strlen(mnt) + 12 < sizeof(d->db));
	snprintf(d->db, sizeof(d->db), "%.96s/db/acctd.db", mnt);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_add_user(d->sock, "before-full", NULL), ACCT_OK);

	/* Fill the file system to the last block. */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	assert_true((fd = open(filler, O_WRONLY | O_CREAT, 0600)) != -1);
	while (write(fd, buf, 4096) > 0)
		;
	while (write(fd, buf, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);

	/* Writes fail with storage, before long (the WAL may have room
	 * for a few). */
	memset(name, 'n', LONG_NAME);
	name[LONG_NAME] = '\0';
	for (i = 0; i < 500; i++) {
		snprintf(uname, sizeof(uname), "full%d", i);
		assert_int_equal(add_named(d->sock, uname, name, &rep),
		    ACCT_OK);
		code = rep.code;
		if (code != ACCT_OK)
			break;
		proto_reply_free(&rep);
	}
	if (code != ACCT_ERR_STORAGE)
		fail_msg("after %d writes on a full disk: %s", i,
		    acct_errname(code));
	print_message("full after %d writes: %s: %s\n", i,
	    acct_errname(code), rep.message);
	assert_non_null(strstr(rep.message, "full"));
	proto_reply_free(&rep);
	/* The failed account is not half there. */
	assert_false(th_user_exists(d->sock, uname));
	assert_int_equal(th_wait_log(d, 0, "database", TH_WAIT_MS), 0);
	assert_true(th_contains(th_keep(th_read_log(d)), "full"));
	reads_work(d);
	/* A password change fails the same way, and changes nothing. */
	{
		struct proto_msg a;

		proto_msg_init(&a);
		proto_kv_str(&a, "username", "before-full");
		proto_kv_str(&a, "new_password", "another-good-password");
		code = th_call_code(d->sock, "passwd", &a);
		proto_msg_free(&a);
		assert_int_equal(code, ACCT_ERR_STORAGE);
		proto_msg_init(&a);
		proto_kv_str(&a, "username", "before-full");
		assert_int_equal(th_call(d->sock, "user_show", &a, &rep),
		    ACCT_OK);
		proto_msg_free(&a);
		assert_int_equal(th_bool(proto_map_get(rep.result, "user"),
		    "has_password"), 0);
		proto_reply_free(&rep);
	}
	reads_work(d);

	/* Free the space: writes work again, without a restart. */
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(add_named(d->sock, "after-free", name, &rep),
	    ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	proto_reply_free(&rep);
	assert_true(th_user_exists(d->sock, "after-free"));
	assert_int_equal(th_stop(d), 0);
	assert_int_equal(th_db_integrity(d), 0);
}

static void
test_locked_database(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(th_up(d, NULL), 0);
	assert_int_equal(th_add_user(d->sock, "before-full", NULL), ACCT_OK);
	/* Another process (this one) holds the write lock. */
	assert_int_equal(sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	if (sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, &err) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		fail_msg("BEGIN EXCLUSIVE: %s", err);
	}
	/* A write waits for busy_timeout (5 s), then says busy. */
	if (add_named(d->sock, "while-locked", "x", &rep) != ACCT_OK ||
	    rep.code != ACCT_ERR_BUSY) {
		sqlite3_close(db);
		fail_msg("write on a locked database: %s",
		    acct_errname(rep.code));
	}
	print_message("locked: %s: %s\n", acct_errname(rep.code),
	    rep.message);
	assert_non_null(strstr(rep.message, "locked"));
	proto_reply_free(&rep);
	reads_work(d);
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_false(th_user_exists(d->sock, "while-locked"));
	assert_int_equal(th_add_user(d->sock, "while-locked", NULL),
	    ACCT_OK);
	assert_int_equal(th_db_integrity(d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_disk_full,
		    th_setup_lazy, teardown_fs),
		cmocka_unit_test_setup_teardown(test_locked_database,
		    th_setup_lazy, th_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
