/*
 * mem.h: memory helpers for secrets.
 */
#ifndef ACCT_MEM_H
#define ACCT_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* Compare without an early exit, so timing tells nothing of where. */
bool	mem_equal_ct(const void *a, const void *b, size_t len);

#endif
