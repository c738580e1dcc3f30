/*
 * fuzz_config.c: libFuzzer harness: arbitrary text as acctd.conf; a
 * config that parses must satisfy the limits the daemon relies on.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_config(data, size);
	return 0;
}
