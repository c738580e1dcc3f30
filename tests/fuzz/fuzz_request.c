/*
 * fuzz_request.c: libFuzzer harness: arbitrary bytes as one request
 * payload (the decoder, the validators, the encoder round trip).
 */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_payload(data, size);
	return 0;
}
