/*
 * text.h: checks and escapes of text that came from outside: strict
 * UTF-8, and the forms it takes in logs and audit records.
 */
#ifndef ACCT_TEXT_H
#define ACCT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool	text_utf8_valid(const void *s, size_t n);
/*
 * Copy src into dst (always terminated) with every control character
 * (C0, DEL, C1), every byte that is not part of valid UTF-8 and the
 * backslash written as \ooo (octal, as vis(3) does): what a log line
 * shows of client text. Returns the length of the escaped text, which
 * is cut short if it does not fit.
 */
size_t	text_escape(char *dst, size_t dstsz, const char *src);
/* The same, and white space too (Unicode's, the space included): the
 * text stays one word, for a value in a line of key=value pairs. */
size_t	text_escape_word(char *dst, size_t dstsz, const char *src);
/* In place: controls and bytes of invalid UTF-8 become '?'. */
void	text_sanitise(char *s);

#endif
