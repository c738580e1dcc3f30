/*
 * text.c: strict UTF-8 decoding, shared by the protocol decoder, the log
 * and the audit records, so all three agree on what is valid text.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0, and
 * its code point in *cp. */
static size_t
utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
	size_t need;
	uint32_t min;
	uint8_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		need = 1; *cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		need = 2; *cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		need = 3; *cp = c & 0x07; min = 0x10000;
	} else
		return 0;
	if (n - 1 < need)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[k] & 0x3f);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return need + 1;
}

bool
text_utf8_valid(const void *buf, size_t n)
{
	const uint8_t *s = buf;
	uint32_t cp;

	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(s + i, n - i, &cp)) == 0)
			return false;
	return true;
}

static bool
control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* White space to Unicode, as Python's \s and str.split() see it (the
 * controls among it are escaped anyway): what ends a word in a reader. */
static bool
space(uint32_t cp)
{
	return cp == ' ' || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static size_t
escape(char *dst, size_t dstsz, const char *src, bool word)
{
	const uint8_t *s = (const uint8_t *)src;
	size_t n = strlen(src), o = 0, k;
	uint32_t cp;

	if (dstsz == 0)
		return 0;
	for (size_t i = 0; i < n; i += k) {
		k = utf8_seq(s + i, n - i, &cp);
		if (k == 0 || control(cp) || cp == '\\' ||
		    (word && space(cp))) {
			/* Every byte of it: an invalid one stands alone. */
			k = k ? k : 1;
			if (o + 4 * k >= dstsz)
				break;
			for (size_t j = 0; j < k; j++, o += 4)
				snprintf(dst + o, 5, "\\%03o", s[i + j]);
		} else {
			if (o + k >= dstsz)
				break;
			memcpy(dst + o, s + i, k);
			o += k;
		}
	}
	dst[o] = '\0';
	return o;
}

size_t
text_escape(char *dst, size_t dstsz, const char *src)
{
	return escape(dst, dstsz, src, false);
}

size_t
text_escape_word(char *dst, size_t dstsz, const char *src)
{
	return escape(dst, dstsz, src, true);
}

void
text_sanitise(char *str)
{
	uint8_t *s = (uint8_t *)str;
	size_t n = strlen(str), k;
	uint32_t cp;

	for (size_t i = 0; i < n; i += k) {
		k = utf8_seq(s + i, n - i, &cp);
		if (k == 0 || control(cp)) {
			/* One '?' per byte: the text keeps its length. */
			for (size_t j = 0; j < (k ? k : 1); j++)
				s[i + j] = '?';
			k = k ? k : 1;
		}
	}
}
