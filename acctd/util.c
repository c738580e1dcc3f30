/*
 * util.c: clocks and random identifiers.
 */
#include <time.h>

#include <bsd/stdlib.h>

#include "acctd.h"

int64_t
now_unix(void)
{
	return (int64_t)time(NULL);
}

/* Microseconds of the monotonic clock: for durations, never dates. */
int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	arc4random_buf(b, nbytes);
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0xf];
	}
	out[2 * nbytes] = '\0';
}
