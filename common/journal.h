/*
 * journal.h: entries for systemd's journal in its native protocol, with
 * fields of their own, written without libsystemd.
 */
#ifndef ACCT_JOURNAL_H
#define ACCT_JOURNAL_H

#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define JOURNAL_WAIT_S	1	/* for room in its queue, per entry */

/* Whether stderr is the stream systemd connected to the journal: the
 * device and inode $JOURNAL_STREAM names, as systemd.exec(5) says to
 * check (a child of a service inherits the variable, not the stream). */
bool	journal_stream_is_stderr(void);

struct journal {
	int			 fd;	/* -1: none */
	struct sockaddr_un	 sa;
	socklen_t		 salen;
};
/* A datagram socket for the journal's socket at path, if one is there:
 * 0, or -1 with j->fd -1. */
int	journal_open(struct journal *j, const char *path);
void	journal_close(struct journal *j);

/* One entry: fields that point at the caller's text until it is sent. */
#define JOURNAL_FIELDS	16
struct journal_entry {
	struct iovec	 iov[JOURNAL_FIELDS * 5];
	uint64_t	 len[JOURNAL_FIELDS];	/* little-endian sizes */
	int		 niov;
	int		 nfields;
	bool		 full;			/* a field was left out */
};
void	journal_entry_init(struct journal_entry *e);
/* KEY=value, or, when value holds a newline, KEY, a newline, its size
 * as 64 bits little-endian, and the bytes; value need not end in NUL. */
void	journal_add(struct journal_entry *e, const char *key,
	    const char *value, size_t len);
/* One datagram: 0, or -1 (the caller writes the line elsewhere) when
 * the journal did not take it within JOURNAL_WAIT_S, or a field was
 * left out. */
int	journal_send(const struct journal *j, const struct journal_entry *e);

#endif
