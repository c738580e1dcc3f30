/*
 * prescan.c: a bounds check of encoded MessagePack before msgpack-c parses
 * it. msgpack-c reserves memory for a container from its declared count,
 * so every count is checked against the bytes that remain first.
 */
#include <string.h>

#include "proto.h"

static uint64_t
be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * Size of the header of the item at p (type byte plus length bytes),
 * the payload bytes that follow it, and the number of child items.
 * Returns 1 for a map or array (even an empty one: it is a level of
 * nesting), 0 for any other item, -1 for the reserved byte 0xc1 or a
 * header cut short.
 */
static int
item(const uint8_t *p, size_t avail, size_t *hdr, uint64_t *payload,
    uint64_t *children)
{
	static const uint8_t fixed[32] = {
		/* 0xc0 .. 0xdf: payload bytes after the type byte */
		[0x00] = 0, [0x02] = 0, [0x03] = 0,
		[0x0a] = 4, [0x0b] = 8,
		[0x0c] = 1, [0x0d] = 2, [0x0e] = 4, [0x0f] = 8,
		[0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8,
		[0x14] = 2, [0x15] = 3, [0x16] = 5, [0x17] = 9, [0x18] = 17,
	};
	uint8_t t = p[0];
	int lenbytes = 0, extra = 0;

	*hdr = 1;
	*payload = 0;
	*children = 0;
	if (t <= 0x7f || t >= 0xe0)
		return 0;
	if (t <= 0x8f) {
		*children = 2 * (uint64_t)(t & 0x0f);
		return 1;
	}
	if (t <= 0x9f) {
		*children = t & 0x0f;
		return 1;
	}
	if (t <= 0xbf) {
		*payload = t & 0x1f;
		return 0;
	}
	switch (t) {
	case 0xc1:
		return -1;
	case 0xc4: case 0xd9: lenbytes = 1; break;
	case 0xc5: case 0xda: lenbytes = 2; break;
	case 0xc6: case 0xdb: lenbytes = 4; break;
	case 0xc7: lenbytes = 1; extra = 1; break;
	case 0xc8: lenbytes = 2; extra = 1; break;
	case 0xc9: lenbytes = 4; extra = 1; break;
	case 0xdc: case 0xde: lenbytes = 2; break;
	case 0xdd: case 0xdf: lenbytes = 4; break;
	default:
		*payload = fixed[t - 0xc0];
		return 0;
	}
	if (avail < 1 + (size_t)lenbytes)
		return -1;
	*hdr = 1 + (size_t)lenbytes;
	uint64_t n = be(p + 1, lenbytes);
	if (t == 0xdc || t == 0xdd)
		*children = n;
	else if (t == 0xde || t == 0xdf)
		*children = 2 * n;
	else {
		*payload = n + (uint64_t)extra;
		return 0;
	}
	return 1;
}

int
proto_prescan(const void *buf, size_t len, int max_depth)
{
	const uint8_t *p = buf;
	size_t off = 0;
	uint64_t left[PROTO_MAX_DEPTH * 4 + 1];	/* items left per level */
	int depth = 0;

	if (max_depth < 0 || (size_t)max_depth >= sizeof(left) / sizeof(left[0]))
		return -1;
	left[0] = 1;			/* exactly one top-level item */
	while (depth > 0 || left[0] > 0) {
		if (left[depth] == 0) {
			depth--;
			continue;
		}
		left[depth]--;
		if (off >= len)
			return -1;

		size_t hdr;
		uint64_t payload, children;
		int kind = item(p + off, len - off, &hdr, &payload, &children);
		if (kind == -1)
			return -1;
		if (kind == 1 && depth + 1 > max_depth)
			return -1;
		off += hdr;
		if (payload > len - off)
			return -1;
		off += (size_t)payload;
		if (children > 0) {
			/* Each child takes at least one byte. */
			if (children > len - off)
				return -1;
			left[++depth] = children;
		}
	}
	return off == len ? 0 : -1;
}
