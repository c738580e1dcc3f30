/*
 * fault_shim.h: the control page shared by fault_shim.so (preloaded into
 * acctd) and the tests that arm it: the fault loops of test_faults.c,
 * and test_backup.c.
 */
#ifndef ACCT_FAULT_SHIM_H
#define ACCT_FAULT_SHIM_H

#include <stdatomic.h>
#include <stdint.h>

/* The environment variable naming the file that holds the page. */
#define FAULT_CTL_ENV	"ACCT_FAULT_CTL"
#define FAULT_MAGIC	0x66617531u

enum fault_kind {
	FAULT_WRITE,		/* write, writev, send...: replies, pipes */
	FAULT_PWRITE,		/* pwrite(2), pwrite64: SQLite's pages */
	FAULT_FSYNC,
	FAULT_FDATASYNC,
	FAULT_ALLOC,		/* malloc, calloc, realloc, and the aligned */
	FAULT_NKINDS
};

/*
 * While counting is set, every call of each kind is numbered from 1 in
 * calls[kind]; the call of kind numbered target fails (with persist,
 * that one and every later one), and injected counts the failures.
 * The file is a page of these fields, written by the test, read by the
 * shim in every call: atomics, since both sides run at once.
 */
struct fault_ctl {
	uint32_t		magic;
	_Atomic int		counting;
	_Atomic int		kind;		/* enum fault_kind; -1 none */
	_Atomic int		persist;
	_Atomic int64_t		target;
	_Atomic int64_t		calls[FAULT_NKINDS];
	_Atomic int64_t		injected;
	/* With kind FAULT_WRITE: only write() is counted, and the one
	 * chosen returns 0, taking nothing, where it would fail with EIO:
	 * a descriptor that makes no progress. */
	_Atomic int		zero;
};

#endif
