/*
 * mailtext.c: the words of reset and activation mail: the built-in
 * texts, the templates an admin may put in their place, lifetimes in
 * words, and lines wrapped to fit a mail reader's window.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/text.h"
#include "acctd.h"

#define LINE_WRAP	78	/* RFC 5322: a line SHOULD be at most 78 */
#define LINE_OCTETS	998	/* and MUST be at most 998 octets */
#define INDENT_MAX	40	/* continuation lines keep at most this */

/*
 * The built-in texts, in the template language: the wrapping below
 * lays each paragraph out, whatever the length of the names in it.
 * They speak to someone who uses an application, not a shell: what
 * happened, the one thing to do, and what not asking means.
 */
static const char reset_builtin[] =
    "Subject: Reset your password for {site}\n"
    "\n"
    "Hello {name},\n"
    "\n"
    "Someone asked to reset the password of your account \"{username}\" "
    "at {site}. If that was you, open this link within {lifetime} and "
    "choose a new password:\n"
    "\n"
    "{link}\n"
    "\n"
    "The link works once. If you did not ask for this, you need not do "
    "anything: your password stays as it is, and the link expires by "
    "itself. If such mails keep coming, tell the people who run {site}.\n";

static const char activation_builtin[] =
    "Subject: Activate your account for {site}\n"
    "\n"
    "Hello {name},\n"
    "\n"
    "An account named \"{username}\" was made for you at {site}. To "
    "activate it, open this link within {lifetime} and choose your "
    "password:\n"
    "\n"
    "{link}\n"
    "\n"
    "The link works once. If you did not expect this mail, ignore it: "
    "the account stays inactive, and the link expires by itself.\n";

enum ph { PH_NAME, PH_USERNAME, PH_SITE, PH_LIFETIME, PH_LINK, PH_TOKEN,
	PH_COUNT };
static const char *const ph_names[PH_COUNT] = {
	"name", "username", "site", "lifetime", "link", "token",
};
#define PH_LIST	"{name}, {username}, {site}, {lifetime}, {link} or {token}"
#define PH_LITERAL	(-1)	/* a brace that starts no placeholder */
#define PH_UNKNOWN	(-2)	/* {word} that is none of ours */

/* What stands at s (n bytes): a placeholder and its length in *len. */
static int
placeholder(const char *s, size_t n, size_t *len)
{
	size_t k = 1;

	while (k < n && k < 16 && s[k] >= 'a' && s[k] <= 'z')
		k++;
	if (k == 1 || k >= n || s[k] != '}')
		return PH_LITERAL;
	*len = k + 1;
	for (int i = 0; i < PH_COUNT; i++)
		if (strlen(ph_names[i]) == k - 1 &&
		    strncmp(s + 1, ph_names[i], k - 1) == 0)
			return i;
	return PH_UNKNOWN;
}

/* The Subject line of a template, if it starts with one. */
static bool
has_subject(const char *text)
{
	return strncmp(text, "Subject:", 8) == 0;
}

/* One line of a template (n bytes, number lineno): 0, or -1 and why. */
static int
check_line(const char *s, size_t n, int lineno, bool subject, int *links,
    char *why, size_t whysz)
{
	size_t len, lead = strspn(s, " \t"), trail = n;

	while (trail > lead && (s[trail - 1] == ' ' || s[trail - 1] == '\t'))
		trail--;
	for (size_t i = 0; i < n; i++) {
		int ph;

		if (s[i] != '{' || (ph = placeholder(s + i, n - i, &len)) ==
		    PH_LITERAL)
			continue;
		if (ph == PH_UNKNOWN) {
			snprintf(why, whysz, "line %d: unknown placeholder "
			    "%.*s: use " PH_LIST, lineno, (int)len, s + i);
			return -1;
		}
		if (subject && (ph == PH_LINK || ph == PH_TOKEN)) {
			snprintf(why, whysz, "line %d: the subject cannot hold "
			    "{link} or {token}", lineno);
			return -1;
		}
		if (ph == PH_LINK && (i != lead || i + len != trail)) {
			snprintf(why, whysz, "line %d: {link} must be alone on "
			    "its line", lineno);
			return -1;
		}
		if (ph == PH_LINK)
			(*links)++;
		i += len - 1;
	}
	return 0;
}

int
mailtext_check(const char *text, char *why, size_t whysz)
{
	const char *p = text, *eol;
	int lineno = 1, links = 0;
	size_t n = strlen(text);

	if (!text_utf8_valid(text, n)) {
		snprintf(why, whysz, "is not valid UTF-8");
		return -1;
	}
	for (size_t i = 0, l = 1; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n')
			l++;
		else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			snprintf(why, whysz, "line %zu: holds a control "
			    "character", l);
			return -1;
		}
	}
	if (has_subject(text)) {
		eol = strchr(text, '\n');
		if (eol == NULL || eol[1] != '\n') {
			snprintf(why, whysz, "line 2: the Subject line must be "
			    "followed by an empty line");
			return -1;
		}
		if (text[8 + strspn(text + 8, " \t")] == '\n') {
			snprintf(why, whysz, "line 1: the subject is empty");
			return -1;
		}
		if (check_line(text, (size_t)(eol - text), 1, true, &links, why,
		    whysz) == -1)
			return -1;
		p = eol + 2;
		lineno = 3;
	}
	for (; *p != '\0'; lineno++) {
		size_t len = strcspn(p, "\n");

		if (check_line(p, len, lineno, false, &links, why, whysz) == -1)
			return -1;
		p += len;
		if (*p == '\n')
			p++;
	}
	if (links == 0) {
		snprintf(why, whysz, "has no {link}: the mail must carry the "
		    "link, alone on a line");
		return -1;
	}
	return 0;
}

/* A growing string; oom once any append failed. */
struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = malloc(cap);

		/* Not realloc: the old copy may hold a token, wipe it. */
		if (p == NULL) {
			b->oom = true;
			return;
		}
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
			freezero(b->p, b->cap);
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_wipe(struct buf *b)
{
	if (b->p != NULL)
		freezero(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}

/* s (n bytes) with each placeholder replaced by its value. */
static void
expand(struct buf *b, const char *s, size_t n, const struct mailtext_vars *v)
{
	const char *val[PH_COUNT] = { v->name, v->username, v->site,
	    v->lifetime, v->link, v->token };
	size_t i = 0, start = 0, len;
	int ph;

	while (i < n) {
		if (s[i] != '{' || (ph = placeholder(s + i, n - i, &len)) < 0) {
			i++;
			continue;
		}
		put(b, s + start, i - start);
		put(b, val[ph], strlen(val[ph]));
		i += len;
		start = i;
	}
	put(b, s + start, n - start);
}

/* Bytes of the UTF-8 sequence at s (valid text, n bytes left). */
static size_t
cp_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)*s;
	size_t k = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return k <= n ? k : n;
}

/*
 * One line, broken at spaces into lines of at most LINE_WRAP
 * characters, each continuation indented like the line. A word longer
 * than that (a link) stays whole, up to the hard limit of LINE_OCTETS.
 */
static void
wrap_line(struct buf *o, const char *s, size_t n)
{
	size_t ind = 0, width;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (ind < n && (s[ind] == ' ' || s[ind] == '\t'))
		ind++;
	const char *t = s + ind;
	size_t m = n - ind;

	if (ind > INDENT_MAX)
		ind = INDENT_MAX;
	width = LINE_WRAP - ind;
	do {
		size_t i = 0, cols = 0, cut = 0;

		while (i < m) {
			if (t[i] == ' ' && i > 0)
				cut = i;
			if (cols == width)
				break;
			i += cp_len(t + i, m - i);
			cols++;
		}
		if (i >= m)
			cut = m;
		else if (cut == 0)
			for (cut = i; cut < m && t[cut] != ' '; cut++)
				;
		if (ind + cut > LINE_OCTETS) {
			cut = LINE_OCTETS - ind;
			while (cut > 0 && ((unsigned char)t[cut] & 0xc0) == 0x80)
				cut--;
		}
		put(o, s, ind);
		put(o, t, cut);
		put(o, "\n", 1);
		t += cut;
		m -= cut;
		while (m > 0 && *t == ' ') {
			t++;
			m--;
		}
	} while (m > 0);
}

int
mailtext_render(const char *text, bool activation,
    const struct mailtext_vars *v, char **subject, char **body)
{
	struct buf sub = { 0 }, raw = { 0 }, out = { 0 };
	const char *p;

	*subject = *body = NULL;
	if (text == NULL || text[0] == '\0')
		text = activation ? activation_builtin : reset_builtin;
	p = text;
	if (has_subject(text)) {
		const char *s = text + 8, *eol = strchr(text, '\n');

		s += strspn(s, " \t");
		expand(&sub, s, (size_t)(eol - s), v);
		p = eol + 2;
	} else {
		const char *s = activation ? "Activate your account for {site}" :
		    "Reset your password for {site}";
		expand(&sub, s, strlen(s), v);
	}
	expand(&raw, p, strlen(p), v);
	for (size_t i = 0; !raw.oom && i < raw.len;) {
		size_t len = strcspn(raw.p + i, "\n");

		wrap_line(&out, raw.p + i, len);
		i += len + 1;
	}
	/* The text ends with one newline, whatever the template did. */
	while (out.len > 1 && out.p[out.len - 1] == '\n' &&
	    out.p[out.len - 2] == '\n')
		out.p[--out.len] = '\0';
	buf_wipe(&raw);
	if (sub.oom || out.oom || sub.p == NULL || out.p == NULL) {
		buf_wipe(&sub);
		buf_wipe(&out);
		return -1;
	}
	*subject = sub.p;
	*body = out.p;
	return 0;
}

/* ", " between parts, " and " before the last. */
static void
join(char *buf, size_t bufsz, const char *part, int i, int count)
{
	if (i > 0)
		strlcat(buf, i == count - 1 ? " and " : ", ", bufsz);
	strlcat(buf, part, bufsz);
}

void
mailtext_lifetime(uint32_t seconds, char *buf, size_t bufsz)
{
	static const char *const unit[3] = { "hour", "minute", "second" };
	uint32_t v[3] = { seconds / 3600, seconds % 3600 / 60, seconds % 60 };
	char part[32];
	int count = 0, i = 0;

	buf[0] = '\0';
	/* Whole days from two on; a day is "24 hours", as people say. */
	if (seconds >= 2 * 86400 && seconds % 86400 == 0) {
		snprintf(buf, bufsz, "%u days", (unsigned)(seconds / 86400));
		return;
	}
	for (int k = 0; k < 3; k++)
		count += v[k] > 0;
	for (int k = 0; k < 3; k++) {
		if (v[k] == 0)
			continue;
		snprintf(part, sizeof(part), "%u %s%s", (unsigned)v[k], unit[k],
		    v[k] == 1 ? "" : "s");
		join(buf, bufsz, part, i++, count);
	}
	if (count == 0)
		strlcpy(buf, "0 seconds", bufsz);
}

void
mailtext_site(const char *url, char *buf, size_t bufsz)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (p == NULL || p[3] == '\0') {
		if (gethostname(buf, bufsz) == -1)
			strlcpy(buf, "localhost", bufsz);
		buf[bufsz - 1] = '\0';
		return;
	}
	p += 3;
	n = strcspn(p, "/?#");
	/* user@host: the host. */
	const char *at = memrchr(p, '@', n);
	if (at != NULL) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	/* host:port, but [v6]:port keeps its brackets. */
	if (p[0] == '[') {
		const char *e = memchr(p, ']', n);
		n = e != NULL ? (size_t)(e - p) + 1 : n;
	} else
		n = strcspn(p, ":/?#") < n ? strcspn(p, ":/?#") : n;
	snprintf(buf, bufsz, "%.*s", (int)n, p);
}
