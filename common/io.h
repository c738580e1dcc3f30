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
 * Read one frame's payload into a malloc'd buffer (*out, *outlen).
 * idle_ms < 0 waits forever for a frame to start; wake_fd < 0 is unused.
 * A descriptor sent with the frame's first bytes (SCM_RIGHTS) is put in
 * *passed, or -1; with passed NULL, or past the first, the kernel closes
 * any.
 */
enum frame_status frame_recv(int fd, size_t max, int idle_ms, int frame_ms,
	    int wake_fd, uint8_t **out, size_t *outlen, int *passed);

/* The monotonic deadline ms from now (ms < 0: none, -1). */
int64_t	io_deadline(int ms);
/* Read exactly len bytes before deadline: 0, FRAME_SLOW or FRAME_ERROR. */
int	io_read_full(int fd, void *buf, size_t len, int64_t deadline);

/* Write all of buf; 0 or -1 with errno. Never raises SIGPIPE on a socket. */
int	io_write_all(int fd, const void *buf, size_t len);
/* The same on a socket, with passfd sent alongside the first bytes. */
int	io_write_all_fd(int fd, const void *buf, size_t len, int passfd);

#endif
