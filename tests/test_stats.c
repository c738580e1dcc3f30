/*
 * test_stats.c: the daemon's counters (acctd/stats.c), the stats
 * operation that reports them (op_stats.c) and acctc stats, whose
 * --openmetrics output a Prometheus parser reads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../acctc/acctc.h"
#include "../acctd/acctd.h"
#include "harness.h"

#define ALICE_PW	"alice-password"

static const struct th_cred nobody = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
static const struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1,
    { TH_AUTH_GID } };

/* ---- stats.c itself, in this process ---- */

/* A value on a bound falls in that bucket; one above it, in the next;
 * above the last bound, in the last bucket. */
static void
test_stats_histogram_buckets(void **state)
{
	struct stats_snapshot *a = th_keep(malloc(sizeof(*a)));
	struct stats_snapshot *b = th_keep(malloc(sizeof(*b)));
	const struct stats_hist *ha, *hb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	stats_snapshot(a);
	stats_request(OP_HELLO, false, 50);
	stats_request(OP_HELLO, false, 51);
	stats_request(OP_HELLO, true, 1000000);
	stats_request(OP_HELLO, false, 1000001);
	stats_request(-1, true, 7);
	stats_snapshot(b);
	ha = &a->req[OP_HELLO].latency;
	hb = &b->req[OP_HELLO].latency;
	assert_int_equal(b->req[OP_HELLO].n - a->req[OP_HELLO].n, 4);
	assert_int_equal(b->req[OP_HELLO].errors - a->req[OP_HELLO].errors,
	    1);
	assert_int_equal(hb->count[0] - ha->count[0], 1);
	assert_int_equal(hb->count[1] - ha->count[1], 1);
	assert_int_equal(hb->count[STATS_BOUNDS - 1] -
	    ha->count[STATS_BOUNDS - 1], 1);
	assert_int_equal(hb->count[STATS_BOUNDS] - ha->count[STATS_BOUNDS], 1);
	assert_int_equal(hb->sum_us - ha->sum_us, 50 + 51 + 1000000 + 1000001);
	/* An undecoded request names no operation. */
	assert_int_equal(b->malformed - a->malformed, 1);
}

/* Names as label values; the first STATS_SERVICES get rows, the rest
 * share "(other)", and a name seen again finds its row. */
static void
test_stats_services_bounded(void **state)
{
	struct stats_snapshot *s = th_keep(malloc(sizeof(*s)));
	char name[STATS_SERVICE_LEN], in[64];

	(void)state;
	assert_non_null(s);
	stats_service_name("imap\x1b\"x\\", name);
	assert_string_equal(name, "imap__x_");
	stats_service_name("", name);
	assert_string_equal(name, "(none)");
	stats_service_name(NULL, name);
	assert_string_equal(name, "(none)");
	stats_service_name("(other)", name);
	assert_string_equal(name, "_other_");
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	stats_service_name(in, name);
	assert_int_equal(strlen(name), STATS_SERVICE_LEN - 1);

	for (int i = 0; i < STATS_SERVICES + 8; i++) {
		snprintf(in, sizeof(in), "svc%d", i);
		stats_login(in, CRED_FAILED);
	}
	stats_login("svc0", CRED_OK);
	stats_snapshot(s);
	assert_int_equal(s->nservices, STATS_SERVICES);
	assert_string_equal(s->service[0].name, "svc0");
	assert_int_equal(s->service[0].n[CRED_FAILED], 1);
	assert_int_equal(s->service[0].n[CRED_OK], 1);
	assert_string_equal(s->service[STATS_SERVICES - 1].name, "svc31");
	assert_string_equal(s->service[STATS_SERVICES].name, "(other)");
	assert_int_equal(s->service[STATS_SERVICES].n[CRED_FAILED], 8);
}

/* acctc's OpenMetrics escapes whatever a label value holds, as the
 * format says: a parser reads back the text the daemon sent. */
static void
test_stats_openmetrics_escapes_labels(void **state)
{
	static const char service[] = "a\"b\\c\nd\x01";
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked un;
	char *text = NULL, *got;
	size_t len = 0;
	FILE *f;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	proto_pack_cstr(&pk, "logins");
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, service, sizeof(service) - 1);
	msgpack_pack_map(&pk, 1);
	proto_pack_cstr(&pk, "OK");
	msgpack_pack_uint64(&pk, 3);
	msgpack_unpacked_init(&un);
	assert_int_equal(msgpack_unpack_next(&un, sb.data, sb.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(out_openmetrics(f, &un.data), 0);
	assert_int_equal(fclose(f), 0);
	msgpack_unpacked_destroy(&un);
	msgpack_sbuffer_destroy(&sb);
	th_keep(text);
	got = th_python(text, "import sys\n"
	    "from prometheus_client.openmetrics.parser import "
	    "text_string_to_metric_families as p\n"
	    "f = {m.name: m for m in p(sys.stdin.read())}\n"
	    "s = f['acctd_logins'].samples[0]\n"
	    "print(repr(s.labels['service']), s.value)\n");
	assert_non_null(got);
	/* The control byte is no character to keep: '?'. */
	assert_string_equal(got, "'a\"b\\\\c\\nd?' 3");
}

/* ---- the stats operation of a running daemon ---- */

/* res[k1][k2]...: an unsigned count, or -1 when a key is missing. */
static int64_t
stat_at(const msgpack_object *res, ...)
{
	const msgpack_object *o = res;
	const char *k;
	va_list ap;

	va_start(ap, res);
	while (o != NULL && (k = va_arg(ap, const char *)) != NULL)
		o = proto_map_get(o, k);
	va_end(ap);
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	return (int64_t)o->via.u64;
}

static void
stats_now(const struct th_daemon *d, struct proto_reply *rep)
{
	assert_int_equal(th_call(d->sock, "stats", NULL, rep), ACCT_OK);
	if (rep->code != ACCT_OK)
		fail_msg("stats: %s", rep->message);
}

#define DELTA(a, b, ...) \
	(stat_at((b)->result, __VA_ARGS__, (char *)NULL) - \
	 stat_at((a)->result, __VA_ARGS__, (char *)NULL))

static int
login(const struct th_daemon *d, const char *pw, const char *service)
{
	struct proto_msg m;
	int rc;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "password", pw);
	if (service != NULL)
		proto_kv_str(&m, "service", service);
	rc = th_call_code(d->sock, "login", &m);
	proto_msg_free(&m);
	return rc;
}

static void
add_user(const struct th_daemon *d, const char *name, const char *pw)
{
	char email[64];

	snprintf(email, sizeof(email), "%s@example.org", name);
	assert_int_equal(th_call_strs(d->sock, "user_add", "username", name,
	    "new_password", pw, "email", email, (char *)NULL), ACCT_OK);
}

/* A daemon whose mail goes to sendmail (a command line), not sent. */
static void
up_with_mail(struct th_daemon *d, const char *sendmail, const char *more)
{
	char conf[1024];

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(conf, sizeof(conf), "sendmail_command = %s\n"
	    "mail_from = acctd <acctd@example.org>\n"
	    "reset_url = http://localhost/reset?token={token}\n"
	    "activation_url = http://localhost/activate?token={token}\n%s",
	    sendmail, more);
	assert_int_equal(th_write_config(d, conf), 0);
	assert_int_equal(th_start(d), 0);
}

/*
 * Each thing done moves its counters by exactly what it did: logins
 * by service and outcome, requests and errors by operation with as
 * many latencies, a request that did not decode, hashes and their
 * waits, a mail sent, the connections they came on.
 */
static void
test_stats_counts_what_happened(void **state)
{
	struct th_daemon *d = *state;
	struct proto_reply a, b, rep;
	struct proto_msg m;
	char outbox[256], bad[90];
	char *token;

	snprintf(outbox, sizeof(outbox), "/usr/bin/tee -a %s/outbox", d->dir);
	up_with_mail(d, outbox, "");
	add_user(d, "alice", ALICE_PW);
	stats_now(d, &a);
	/* Connections from here to the next stats, which is one. */
	assert_int_equal(login(d, "wrong", "smtp"), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, "wrong", "smtp"), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, ALICE_PW, "smtp"), ACCT_OK);
	assert_int_equal(login(d, ALICE_PW, "imap"), ACCT_OK);
	assert_int_equal(login(d, ALICE_PW, NULL), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "type", "access_token");
	assert_int_equal(th_call(d->sock, "token_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	const msgpack_object *t = proto_map_get(rep.result, "token");
	assert_non_null(t);
	token = th_keep(strndup(t->via.str.ptr, t->via.str.size));
	proto_reply_free(&rep);
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token",
	    token, (char *)NULL), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token",
	    token, (char *)NULL), ACCT_OK);
	memset(bad, 'f', sizeof(bad) - 1);
	bad[16] = '_';
	bad[sizeof(bad) - 1] = '\0';
	assert_int_equal(th_call_strs(d->sock, "token_validate", "token", bad,
	    (char *)NULL), ACCT_ERR_INVALID_TOKEN);
	assert_int_not_equal(th_call_strs(d->sock, "no_such_operation",
	    (char *)NULL), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "user_reset_password",
	    "username", "alice", (char *)NULL), ACCT_OK);
	stats_now(d, &b);

	/* Before, no logins at all: these are the five. */
	assert_int_equal(stat_at(a.result, "logins", "smtp", (char *)NULL),
	    -1);
	assert_int_equal(stat_at(b.result, "logins", "smtp", "FAILED",
	    (char *)NULL), 2);
	assert_int_equal(stat_at(b.result, "logins", "smtp", "OK",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(b.result, "logins", "imap", "OK",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(b.result, "logins", "(none)", "OK",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(b.result, "logins", "imap", "FAILED",
	    (char *)NULL), -1);

	assert_int_equal(DELTA(&a, &b, "requests", "login", "count"), 5);
	assert_int_equal(DELTA(&a, &b, "requests", "login", "errors"), 2);
	assert_int_equal(DELTA(&a, &b, "requests", "login", "latency",
	    "count"), 5);
	assert_int_equal(DELTA(&a, &b, "requests", "token_validate", "count"),
	    3);
	assert_int_equal(DELTA(&a, &b, "requests", "token_validate",
	    "errors"), 1);
	assert_int_equal(DELTA(&a, &b, "requests", "token_validate",
	    "latency", "count"), 3);
	/* The first stats, not the one that answers. */
	assert_int_equal(DELTA(&a, &b, "requests", "stats", "count"), 1);
	assert_int_equal(DELTA(&a, &b, "requests", "hello", "count"), 0);
	assert_int_equal(DELTA(&a, &b, "malformed"), 1);

	/* Five verifies, each of which took a slot once. */
	assert_int_equal(DELTA(&a, &b, "hashes", "argon2id"), 5);
	assert_int_equal(DELTA(&a, &b, "hashes", "bcrypt"), 0);
	assert_int_equal(DELTA(&a, &b, "hash_queue", "wait", "count"), 5);
	assert_int_equal(stat_at(b.result, "hash_queue", "waiting",
	    (char *)NULL), 0);

	assert_int_equal(DELTA(&a, &b, "mail", "sent"), 1);
	assert_int_equal(DELTA(&a, &b, "mail", "failed"), 0);
	assert_int_equal(stat_at(b.result, "mail", "queued", (char *)NULL), 0);

	/* Twelve connections of root, an admin: eleven requests and the
	 * second stats. */
	assert_int_equal(DELTA(&a, &b, "connections", "accepted", "admin"),
	    12);
	assert_int_equal(DELTA(&a, &b, "connections", "accepted", "user"), 0);
	assert_true(stat_at(b.result, "connections", "open", (char *)NULL) >=
	    1);
	/* Each login's outcome is one commit, with more besides. */
	assert_true(DELTA(&a, &b, "db", "commits", "count") >= 5);
	proto_reply_free(&a);
	proto_reply_free(&b);
}

/* The buckets of a histogram add up to its count, whatever it is. */
static void
test_stats_histogram_shape(void **state)
{
	struct th_daemon *d = *state;
	const msgpack_object *h, *bounds, *counts;
	struct proto_reply rep;
	uint64_t n = 0;

	assert_int_equal(th_call_strs(d->sock, "hello", (char *)NULL),
	    ACCT_OK);
	stats_now(d, &rep);
	h = proto_map_get(proto_map_get(proto_map_get(rep.result, "requests"),
	    "hello"), "latency");
	assert_non_null(h);
	assert_non_null(bounds = proto_map_get(h, "buckets"));
	assert_non_null(counts = proto_map_get(h, "counts"));
	assert_int_equal(bounds->via.array.size, STATS_BOUNDS);
	assert_int_equal(counts->via.array.size, STATS_BOUNDS + 1);
	for (uint32_t i = 0; i < STATS_BOUNDS; i++)
		assert_int_equal(bounds->via.array.ptr[i].via.u64,
		    stats_bounds_us[i]);
	for (uint32_t i = 0; i <= STATS_BOUNDS; i++)
		n += counts->via.array.ptr[i].via.u64;
	assert_int_equal(n, 1);
	assert_int_equal(stat_at(h, "count", (char *)NULL), 1);
	assert_true(stat_at(h, "sum", (char *)NULL) > 0);
	proto_reply_free(&rep);
}

/*
 * The locks in force are read when asked: an account and a source
 * locked, a source without an address slowed down; a mail that failed.
 * acctc stats shows them in its summary.
 */
static void
test_stats_locks_and_failed_mail(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct proto_reply rep;

	up_with_mail(d, "/bin/false", "lockout_failures = 2\n"
	    "source_lockout_failures = 2\n");
	add_user(d, "alice", ALICE_PW);
	add_user(d, "carol", "carol-password");
	for (int i = 0; i < 2; i++) {
		assert_int_equal(th_call_strs(d->sock, "login", "username",
		    "alice", "password", "wrong", "service", "imap",
		    "remote_addr", "192.0.2.7", (char *)NULL),
		    ACCT_ERR_AUTH_FAILED);
		assert_int_equal(th_call_strs(d->sock, "login", "username",
		    "ghost", "password", "wrong", "service", "pop",
		    (char *)NULL), ACCT_ERR_AUTH_FAILED);
	}
	assert_int_equal(th_call_strs(d->sock, "user_reset_password",
	    "username", "carol", (char *)NULL), ACCT_ERR_MAIL_FAILED);
	stats_now(d, &rep);
	assert_int_equal(stat_at(rep.result, "locks", "accounts",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(rep.result, "locks", "sources",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(rep.result, "locks", "slowed_sources",
	    (char *)NULL), 1);
	assert_int_equal(stat_at(rep.result, "mail", "failed", (char *)NULL),
	    1);
	assert_int_equal(stat_at(rep.result, "mail", "sent", (char *)NULL), 0);
	assert_int_equal(stat_at(rep.result, "logins", "pop", "FAILED",
	    (char *)NULL), 2);
	proto_reply_free(&rep);

	TH_RUN(d, NULL, 0, "stats");
	assert_string_equal(th_must(th_show_val(r.out, "Locked Accounts"),
	    "no Locked Accounts in:\n%s", r.out), "1");
	assert_string_equal(th_must(th_show_val(r.out, "Slowed Sources"),
	    "no Slowed Sources in:\n%s", r.out), "1");
	assert_string_equal(th_must(th_show_val(r.out, "Mail Failed"),
	    "no Mail Failed in:\n%s", r.out), "1");
	assert_non_null(th_line_after(r.out, "pop "));
	th_result_free(&r);
}

/* What a Prometheus parser makes of acctc stats --openmetrics: every
 * family valid, and the samples of what was done. */
#define OM_PARSE "import sys\n" \
	"from prometheus_client.openmetrics.parser import " \
	"text_string_to_metric_families as p\n" \
	"f = {m.name: m for m in p(sys.stdin.read())}\n" \
	"def v(fam, name, **labels):\n" \
	"    got = [s.value for s in f[fam].samples\n" \
	"           if s.name == name and s.labels == labels]\n" \
	"    assert len(got) == 1, (fam, name, labels, got)\n" \
	"    return int(got[0])\n"

static void
test_stats_openmetrics_parses(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char *got;

	assert_int_equal(th_add_user(d->sock, "alice", ALICE_PW), ACCT_OK);
	assert_int_equal(login(d, "wrong", "smtp"), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, "wrong", "smtp"), ACCT_ERR_AUTH_FAILED);
	assert_int_equal(login(d, ALICE_PW, "smtp"), ACCT_OK);
	assert_int_equal(th_call_strs(d->sock, "hello", (char *)NULL),
	    ACCT_OK);
	TH_RUN(d, NULL, 0, "stats", "--openmetrics");
	assert_true(strlen(r.out) > 6);
	assert_string_equal(r.out + strlen(r.out) - 6, "# EOF\n");
	got = th_python(r.out, OM_PARSE
	    "print(v('acctd_logins', 'acctd_logins_total', "
	    "outcome='FAILED', service='smtp'),\n"
	    "      v('acctd_logins', 'acctd_logins_total', "
	    "outcome='OK', service='smtp'),\n"
	    "      v('acctd_requests', 'acctd_requests_total', op='hello'),\n"
	    "      v('acctd_request_duration_seconds',\n"
	    "        'acctd_request_duration_seconds_bucket', op='hello',\n"
	    "        le='+Inf'),\n"
	    "      v('acctd_request_errors', 'acctd_request_errors_total',\n"
	    "        op='login'),\n"
	    "      f['acctd_request_duration_seconds'].type,\n"
	    "      f['acctd_request_duration_seconds'].unit,\n"
	    "      f['acctd_locked_accounts'].type)\n");
	if (got == NULL)
		fail_msg("the parser refused:\n%s", r.out);
	assert_string_equal(got, "2 1 1 1 2 histogram seconds gauge");
	th_result_free(&r);
}

/* Admins and authenticators may ask; a plain uid may not. */
static void
test_stats_policy(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	TH_NEED_ROOT();
	th_assert_as(d->sock, &nobody, ACCT_ERR_DENIED, "stats");
	th_assert_as(d->sock, &authn, ACCT_OK, "stats");
	TH_RUN_AS(d, &nobody, NULL, 1, "stats");
	assert_true(th_contains(r.err, "permission denied: stats needs an "
	    "admin or an authenticator"));
	TH_RUN_AS(d, &authn, NULL, 0, "stats", "--openmetrics");
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stats_histogram_buckets,
		    th_teardown),
		cmocka_unit_test_teardown(test_stats_services_bounded,
		    th_teardown),
		cmocka_unit_test_teardown(test_stats_openmetrics_escapes_labels,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_stats_counts_what_happened,
		    th_setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(test_stats_histogram_shape,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stats_locks_and_failed_mail, th_setup_lazy,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_stats_openmetrics_parses,
		    th_setup, th_teardown),
		cmocka_unit_test_setup_teardown(test_stats_policy, th_setup,
		    th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
