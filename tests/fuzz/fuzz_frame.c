/*
 * fuzz_frame.c: libFuzzer harness: arbitrary bytes sent down a socketpair
 * into frame_recv(), each frame then through the request checks.
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frame(data, size);
	return 0;
}
