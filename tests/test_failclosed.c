/*
 * test_failclosed.c: when the peer's credentials cannot be read, the
 * connection gets least privilege. The failure is injected
 * into every getsockopt() of the real acctd with strace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *const strace_wrap[] = {
	"strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=getsockopt",
	"-e", "inject=getsockopt:error=EINVAL", NULL
};

static bool
have_strace(void)
{
	return system("strace -V >/dev/null 2>&1") == 0;
}

/* A hello reply whose classes array is exactly ["user"]. */
static void
assert_least_classes(const msgpack_object *res)
{
	const msgpack_object *cl = proto_map_get(res, "classes");

	assert_non_null(cl);
	assert_int_equal(cl->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(cl->via.array.size, 1);
	assert_int_equal(cl->via.array.ptr[0].type, MSGPACK_OBJECT_STR);
	assert_int_equal(cl->via.array.ptr[0].via.str.size, 4);
	assert_memory_equal(cl->via.array.ptr[0].via.str.ptr, "user", 4);
}

static void
test_root_is_least_privileged(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply rep;
	struct proto_msg m;
	pid_t acctd;
	int st;
	char *log;

	if (!have_strace())
		fail_msg("strace is missing: run 'make deps'");
	/* LeakSanitizer cannot run under ptrace; ASan itself still does. */
	th_asan_option("detect_leaks=0");
	assert_int_equal(th_init(d, NULL), 0);
	assert_int_equal(th_start_wrapped(d, strace_wrap), 0);
	assert_true((acctd = th_child_pid(d->pid, TH_WAIT_MS)) > 0);

	/* Without the injection this is an admin: we are root or in
	 * admin_group (harness). With it, only "user". */
	assert_int_equal(th_call(d->sock, "hello", NULL, &rep), ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	assert_least_classes(rep.result);
	assert_int_equal(th_int(rep.result, "uid", 0), -1);
	proto_reply_free(&rep);

	assert_int_equal(th_call_code(d->sock, "user_list", NULL),
	    ACCT_ERR_DENIED);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "mallory");
	proto_kv_str(&m, "new_password", "mallory-password");
	assert_int_equal(th_call_code(d->sock, "user_add", &m),
	    ACCT_ERR_DENIED);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_bool(&m, "confirm", true);
	assert_int_equal(th_call_code(d->sock, "users_reset", &m),
	    ACCT_ERR_DENIED);
	proto_msg_free(&m);

	log = th_keep(th_read_log(d));
	assert_true(th_contains(log, "least privilege"));

	/* Clean stop of acctd itself; strace then exits with its status. */
	assert_int_equal(kill(acctd, SIGTERM), 0);
	st = th_wait_pid(d->pid, TH_WAIT_MS * 2);
	assert_int_not_equal(st, -1);
	d->pid = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		th_print_log(d);
		fail_msg("acctd under strace: wait status %#x", st);
	}
	/* And the same daemon, started plainly, does admit us as admin. */
	assert_int_equal(th_start(d), 0);
	assert_int_equal(th_call_code(d->sock, "user_list", NULL), ACCT_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_is_least_privileged,
		    th_setup_lazy, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
