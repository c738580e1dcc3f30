/*
 * mem.c: constant-time comparison (libbsd on Debian 12 lacks
 * timingsafe_bcmp).
 */
#include <stdint.h>

#include "mem.h"

bool
mem_equal_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
