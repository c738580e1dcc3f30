/*
 * page.c: one page of a list and the count of all its rows, read in one
 * transaction, so that "showing 101-200 of 10006" is true of the rows
 * sent and a client can ask for the next page.
 */
#include <string.h>

#include "acctd.h"

int
page_list(const struct page_query *pq, struct proto_msg *res)
{
	struct db_arg args[PAGE_MAX_ARGS + 2];
	struct proto_msg rows;
	struct db_query q;
	int64_t total = 0;
	uint32_t n = 0;
	int rc;

	if (pq->nargs > PAGE_MAX_ARGS)
		return ACCT_ERR_INTERNAL;
	memcpy(args, pq->args, pq->nargs * sizeof(args[0]));
	args[pq->nargs] = DB_INT(pq->limit);
	args[pq->nargs + 1] = DB_INT(pq->offset);
	/* Rows go to a scratch message first: the array needs its count. */
	proto_msg_init(&rows);
	db_read();
	if ((rc = db_begin_read()) == ACCT_OK) {
		if ((rc = db_one(&q, pq->count_sql, pq->args, pq->nargs)) ==
		    ACCT_OK)
			total = db_int(&q, 0);
		(void)db_done(&q);
		if (rc == ACCT_OK && db_query(&q, pq->rows_sql, args,
		    pq->nargs + 2) == ACCT_OK)
			for (; db_next(&q); n++)
				pq->pack(&rows.pk, &q, pq->arg);
		if (rc == ACCT_OK)
			rc = db_done(&q);
		rc = db_end(rc);
	}
	db_read_end();
	if (rc == ACCT_OK && rows.failed)
		rc = ACCT_ERR_NOMEM;
	if (rc == ACCT_OK) {
		msgpack_pack_array(proto_kv_begin(res, pq->key), n);
		proto_msg_raw(res, rows.data, rows.len);
		proto_kv_int(res, "total", total);
	}
	proto_msg_free(&rows);
	return rc;
}
