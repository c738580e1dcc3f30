/*
 * client.h: the client end of the protocol: connect to acctd, check that
 * root serves the socket, send a request, wait for its reply. Used by
 * acctc, libacct and the PAM module (through libacct).
 */
#ifndef ACCT_CLIENT_H
#define ACCT_CLIENT_H

#include <sys/types.h>

#include "proto.h"

struct acct_conn;

/*
 * Connect to path and read who serves it (SO_PEERCRED) before anything
 * is sent: the peer must be uid 0 or server_uid (0: root only), else
 * whoever bound the path first would receive our secrets. ACCT_OK;
 * ACCT_ERR_CONNECT with errno set; ACCT_ERR_UNTRUSTED with the uid
 * found in *peer_uid (may be NULL; (uid_t)-1 if it cannot be read).
 */
int	acct_conn_open(const char *path, uid_t server_uid, uid_t *peer_uid,
	    struct acct_conn **out);
void	acct_conn_close(struct acct_conn *c);
/* Give up on a reply after ms (ACCT_ERR_IO); 0, the default: never. */
void	acct_conn_set_timeout(struct acct_conn *c, int ms);

/*
 * Send one request and wait for its reply. args may be NULL (no
 * arguments). Returns ACCT_OK when a reply arrived, whose rep->code is
 * then ACCT_OK or the daemon's error; otherwise a local error
 * (ACCT_ERR_IO, ACCT_ERR_PROTOCOL, ACCT_ERR_NOMEM, ACCT_ERR_INVALID
 * for a request over the size limit or an op out of range). rep is
 * always safe to free.
 */
int	acct_conn_call(struct acct_conn *c, enum proto_op op,
	    struct proto_msg *args, struct proto_reply *rep);
/* The same, with a descriptor of ours passed along (db_backup's). */
int	acct_conn_call_fd(struct acct_conn *c, enum proto_op op,
	    struct proto_msg *args, int passfd, struct proto_reply *rep);

#endif
