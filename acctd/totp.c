/*
 * totp.c: the arithmetic of two-factor codes: HMAC over libmd's hashes,
 * HOTP (RFC 4226), TOTP (RFC 6238) and base32 (RFC 4648) for secrets.
 */
#include <string.h>

#include <sha1.h>
#include <sha2.h>

#include "acctd.h"

#define MAX_BLOCK	128

struct hashfn {
	size_t	block, digest;
	void	(*run)(const uint8_t *, size_t, const uint8_t *, size_t,
		    uint8_t *);
};

/* digest(a || b): the two halves of HMAC in one call. */
static void
sha1_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *out)
{
	SHA1_CTX c;

	SHA1Init(&c);
	SHA1Update(&c, a, alen);
	SHA1Update(&c, b, blen);
	SHA1Final(out, &c);
}

static void
sha256_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *out)
{
	SHA2_CTX c;

	SHA256Init(&c);
	SHA256Update(&c, a, alen);
	SHA256Update(&c, b, blen);
	SHA256Final(out, &c);
}

static void
sha512_2(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
    uint8_t *out)
{
	SHA2_CTX c;

	SHA512Init(&c);
	SHA512Update(&c, a, alen);
	SHA512Update(&c, b, blen);
	SHA512Final(out, &c);
}

static const struct hashfn fns[] = {
	[TOTP_SHA1]   = { SHA1_BLOCK_LENGTH, SHA1_DIGEST_LENGTH, sha1_2 },
	[TOTP_SHA256] = { SHA256_BLOCK_LENGTH, SHA256_DIGEST_LENGTH, sha256_2 },
	[TOTP_SHA512] = { SHA512_BLOCK_LENGTH, SHA512_DIGEST_LENGTH, sha512_2 },
};

/* RFC 2104. out holds the digest length of alg. */
static void
hmac(enum totp_alg alg, const uint8_t *key, size_t keylen,
    const uint8_t *msg, size_t msglen, uint8_t *out)
{
	const struct hashfn *h = &fns[alg];
	uint8_t k[MAX_BLOCK] = { 0 }, pad[MAX_BLOCK], inner[64];

	if (keylen > h->block)
		h->run(key, keylen, key, 0, k);
	else
		memcpy(k, key, keylen);
	for (size_t i = 0; i < h->block; i++)
		pad[i] = k[i] ^ 0x36;
	h->run(pad, h->block, msg, msglen, inner);
	for (size_t i = 0; i < h->block; i++)
		pad[i] = k[i] ^ 0x5c;
	h->run(pad, h->block, inner, h->digest, out);
	explicit_bzero(k, sizeof(k));
	explicit_bzero(pad, sizeof(pad));
	explicit_bzero(inner, sizeof(inner));
}

uint32_t
totp_hotp(enum totp_alg alg, const uint8_t *key, size_t keylen,
    uint64_t counter, int digits)
{
	uint8_t msg[8], mac[64];
	uint32_t bin, mod = 1;
	size_t off;

	for (int i = 7; i >= 0; i--) {
		msg[i] = (uint8_t)counter;
		counter >>= 8;
	}
	hmac(alg, key, keylen, msg, sizeof(msg), mac);
	off = mac[fns[alg].digest - 1] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	    (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	explicit_bzero(mac, sizeof(mac));
	for (int i = 0; i < digits; i++)
		mod *= 10;
	return bin % mod;
}

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void
totp_base32(const uint8_t *in, size_t len, char *out)
{
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			*out++ = b32[(acc >> (bits - 5)) & 0x1f];
			bits -= 5;
		}
	}
	if (bits > 0)
		*out++ = b32[(acc << (5 - bits)) & 0x1f];
	*out = '\0';
}

/* Decode base32 (case-insensitive, no padding); bytes or -1. */
int
totp_unbase32(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in != '\0'; in++) {
		char c = *in >= 'a' && *in <= 'z' ? (char)(*in - 32) : *in;
		const char *p = strchr(b32, c);

		if (p == NULL || c == '\0')
			return -1;
		acc = (acc << 5) | (uint32_t)(p - b32);
		bits += 5;
		if (bits >= 8) {
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	return (int)n;
}
