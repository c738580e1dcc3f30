/*
 * op_stats.c: the stats handler: the counters of stats.c as maps, with
 * the locks in force read from the database at the time of asking.
 */
#include <stdlib.h>

#include "acctd.h"

/* {buckets: [upper bounds, µs], counts: [per bucket, not cumulative;
 * one more than buckets, the last above them], sum (µs), count}. */
static void
pack_hist(msgpack_packer *pk, const char *key, const struct stats_hist *h)
{
	uint64_t n = 0;

	proto_pack_cstr(pk, key);
	msgpack_pack_map(pk, 4);
	proto_pack_cstr(pk, "buckets");
	msgpack_pack_array(pk, STATS_BOUNDS);
	for (size_t i = 0; i < STATS_BOUNDS; i++)
		msgpack_pack_int64(pk, stats_bounds_us[i]);
	proto_pack_cstr(pk, "counts");
	msgpack_pack_array(pk, STATS_BOUNDS + 1);
	for (size_t i = 0; i <= STATS_BOUNDS; i++) {
		msgpack_pack_uint64(pk, h->count[i]);
		n += h->count[i];
	}
	proto_pack_cstr(pk, "sum");
	msgpack_pack_uint64(pk, h->sum_us);
	proto_pack_cstr(pk, "count");
	msgpack_pack_uint64(pk, n);
}

static void
pack_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
	proto_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, v);
}

/* Every operation, asked or not, so that a series never goes missing. */
static void
pack_requests(struct proto_msg *res, const struct stats_snapshot *s)
{
	msgpack_packer *pk = proto_kv_begin(res, "requests");

	msgpack_pack_map(pk, OP__COUNT);
	for (int op = 0; op < OP__COUNT; op++) {
		proto_pack_cstr(pk, proto_ops[op].name);
		msgpack_pack_map(pk, 3);
		pack_u64(pk, "count", s->req[op].n);
		pack_u64(pk, "errors", s->req[op].errors);
		pack_hist(pk, "latency", &s->req[op].latency);
	}
}

/* Service to outcome to count; only outcomes that happened. */
static void
pack_logins(struct proto_msg *res, const struct stats_snapshot *s)
{
	msgpack_packer *pk = proto_kv_begin(res, "logins");
	uint32_t nserv = 0;

	for (unsigned i = 0; i <= STATS_SERVICES; i++)
		for (int st = 0; st < CRED__COUNT; st++)
			if (s->service[i].n[st] > 0) {
				nserv++;
				break;
			}
	msgpack_pack_map(pk, nserv);
	for (unsigned i = 0; i <= STATS_SERVICES; i++) {
		uint32_t nst = 0;

		for (int st = 0; st < CRED__COUNT; st++)
			nst += s->service[i].n[st] > 0;
		if (nst == 0)
			continue;
		proto_pack_cstr(pk, s->service[i].name);
		msgpack_pack_map(pk, nst);
		for (int st = 0; st < CRED__COUNT; st++)
			if (s->service[i].n[st] > 0)
				pack_u64(pk, cred_status_names[st],
				    s->service[i].n[st]);
	}
}

int
h_stats(struct ctx *x, struct proto_request *req, struct proto_msg *res)
{
	static const char *const classes[STATS_CONN__COUNT] = {
		[STATS_CONN_ADMIN] = "admin",
		[STATS_CONN_AUTH] = "authenticator",
		[STATS_CONN_USER] = "user",
	};
	struct stats_snapshot *s;
	int64_t now = now_unix(), accounts = 0, sources = 0, slowed = 0;
	msgpack_packer *pk;
	int rc;

	(void)req;
	if ((rc = account_count_locked(now, &accounts)) != ACCT_OK ||
	    (rc = throttle_count_held(x->cfg, now, &sources, &slowed)) !=
	    ACCT_OK)
		return rc;
	/* Some kilobytes: not on a connection thread's small stack. */
	if ((s = malloc(sizeof(*s))) == NULL)
		return ACCT_ERR_NOMEM;
	stats_snapshot(s);
	proto_kv_int(res, "started", s->started);
	pack_requests(res, s);
	proto_kv_int(res, "malformed", (int64_t)s->malformed);
	pack_logins(res, s);

	pk = proto_kv_begin(res, "hashes");
	msgpack_pack_map(pk, HS__COUNT);
	for (int h = 0; h < HS__COUNT; h++)
		pack_u64(pk, hash_scheme_names[h], s->hashes[h]);

	pk = proto_kv_begin(res, "hash_queue");
	msgpack_pack_map(pk, 2);
	pack_u64(pk, "waiting", s->hash_waiting);
	pack_hist(pk, "wait", &s->hash_wait);

	pk = proto_kv_begin(res, "locks");
	msgpack_pack_map(pk, 3);
	pack_u64(pk, "accounts", (uint64_t)accounts);
	pack_u64(pk, "sources", (uint64_t)sources);
	pack_u64(pk, "slowed_sources", (uint64_t)slowed);

	pk = proto_kv_begin(res, "mail");
	msgpack_pack_map(pk, 3);
	pack_u64(pk, "sent", s->mail_sent);
	pack_u64(pk, "failed", s->mail_failed);
	pack_u64(pk, "queued", s->mail_queued);

	pk = proto_kv_begin(res, "connections");
	msgpack_pack_map(pk, 3);
	proto_pack_cstr(pk, "accepted");
	msgpack_pack_map(pk, STATS_CONN__COUNT);
	for (int c = 0; c < STATS_CONN__COUNT; c++)
		pack_u64(pk, classes[c], s->conn[c]);
	pack_u64(pk, "refused", s->conn_refused);
	pack_u64(pk, "open", s->conn_open);

	pk = proto_kv_begin(res, "db");
	msgpack_pack_map(pk, 1);
	pack_hist(pk, "commits", &s->commit);
	free(s);
	return ACCT_OK;
}
