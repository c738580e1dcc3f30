/*
 * client.h: the client end of the protocol: connect to acctd, send a
 * request, wait for its reply. Used by acctc and by libacct.
 */
#ifndef ACCT_CLIENT_H
#define ACCT_CLIENT_H

#include "proto.h"

struct acct_conn;

/* ACCT_OK, or ACCT_ERR_CONNECT with errno set. */
int	acct_conn_open(const char *path, struct acct_conn **out);
void	acct_conn_close(struct acct_conn *c);

/*
 * Send one request and wait for its reply. args may be NULL (no
 * arguments). Returns ACCT_OK when a reply arrived, whose rep->code is
 * then ACCT_OK or the daemon's error; otherwise a local error
 * (ACCT_ERR_IO, ACCT_ERR_PROTOCOL, ACCT_ERR_NOMEM, ACCT_ERR_INVALID
 * for a request over the size limit). rep is always safe to free.
 */
int	acct_conn_call(struct acct_conn *c, const char *op,
	    struct proto_msg *args, struct proto_reply *rep);

#endif
