/*
 * io.h: framed reads and writes on a stream socket, with the deadlines
 * the daemon needs against idle and slow peers.
 */
#ifndef ACCT_IO_H
#define ACCT_IO_H

#include <stddef.h>
#include <stdint.h>

enum frame_status {
	FRAME_OK,
	FRAME_EOF,	/* peer closed between frames */
	FRAME_IDLE,	/* no frame started within idle_ms */
	FRAME_SLOW,	/* a started frame not complete within frame_ms */
	FRAME_TOOBIG,	/* declared length over max (or zero) */
	FRAME_STOP,	/* wake_fd became readable while idle */
	FRAME_ERROR,	/* read error or peer closed mid-frame */
};

/*
 * A connection's read side. One recv brings a whole small frame, header
 * and payload; what it brought past that frame (a client that pipelines)
 * waits here for the next call. The bytes may be secrets: consumed ones
 * are wiped, and frame_reader_wipe() wipes the rest.
 */
#define FRAME_READER_LEN	1024
struct frame_reader {
	int	fd;
	size_t	n;		/* buffered bytes: buf[0..n) */
	uint8_t	buf[FRAME_READER_LEN];
};

void	frame_reader_init(struct frame_reader *r, int fd);
void	frame_reader_wipe(struct frame_reader *r);

/*
 * Read one frame's payload into a malloc'd buffer (*out, *outlen).
 * idle_ms < 0 waits forever for a frame to start; wake_fd < 0 is unused.
 * A descriptor (SCM_RIGHTS) is put in *passed only if it came in the
 * recv that brought the frame's first bytes, and that recv brought
 * nothing of the next frame; else *passed is -1. With passed NULL, or in
 * any other case, it is closed.
 */
enum frame_status frame_recv(struct frame_reader *r, size_t max, int idle_ms,
	    int frame_ms, int wake_fd, uint8_t **out, size_t *outlen,
	    int *passed);

/* Wait until fd is readable: 1, or 2 when wake_fd (-1: unused) is, 0 at
 * the deadline (< 0: none), -1 on error. */
int	io_wait_readable(int fd, int64_t deadline, int wake_fd);
/* The monotonic deadline ms from now (ms < 0: none, -1). */
int64_t	io_deadline(int ms);
/* Read exactly len bytes before deadline: 0, FRAME_SLOW or FRAME_ERROR. */
int	io_read_full(int fd, void *buf, size_t len, int64_t deadline);

/* Write all of buf; 0 or -1 with errno. Never raises SIGPIPE on a socket. */
int	io_write_all(int fd, const void *buf, size_t len);
/* The same on a socket, with passfd sent alongside the first bytes. */
int	io_write_all_fd(int fd, const void *buf, size_t len, int passfd);

#endif
