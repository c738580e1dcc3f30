/*
 * fuzz.h: what the libFuzzer harnesses share: the daemon's checks of a
 * decoded request, applied the way its handlers apply them.
 */
#ifndef ACCT_FUZZ_H
#define ACCT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decode payload as a request; when it decodes, run every validator the
 * handlers run on its arguments and check the decode/encode round trip.
 * Also decode it as a reply (acctc parses replies from the socket).
 * Aborts on any broken invariant.
 */
void	fuzz_payload(const uint8_t *data, size_t len);
/* Bytes down a socketpair into frame_recv(), then fuzz_payload(). */
void	fuzz_frame(const uint8_t *data, size_t len);
/* Text as acctd.conf: config_parse() and the limits of what it accepts. */
void	fuzz_config(const uint8_t *data, size_t len);

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
