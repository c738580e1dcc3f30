/*
 * output.c: all formatting of results: JSON for --json, aligned tables
 * and key/value lists for people, times, and terminal-safe strings.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <bsd/string.h>

#include "acctc.h"

#define REPLACEMENT	0xfffd

/*
 * Decode one UTF-8 sequence at s (len > 0). Returns the bytes it takes;
 * an invalid sequence takes one byte and decodes to U+FFFD.
 */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t need;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		need = 1; c = s[0] & 0x1f; min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		need = 2; c = s[0] & 0x0f; min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		need = 3; c = s[0] & 0x07; min = 0x10000;
	} else
		goto bad;
	if (len - 1 < need)
		goto bad;
	for (size_t k = 1; k <= need; k++) {
		if ((s[k] & 0xc0) != 0x80)
			goto bad;
		c = (c << 6) | (s[k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return need + 1;
bad:
	*cp = REPLACEMENT;
	return 1;
}

/*
 * Characters a terminal would act on instead of showing: C0 and C1
 * controls, DEL, and the bidirectional overrides that reorder a line.
 */
static bool
unsafe(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) ||
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* ---- JSON ---- */

/*
 * JSON string: quote, backslash and every character unsafe() names
 * escaped (and U+2028/9, which JavaScript takes as line ends); bytes
 * that are not UTF-8 become U+FFFD so the document stays valid.
 */
void
out_json_string(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	putc('"', f);
	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (char)cp);
		else if (unsafe(cp) || cp == 0x2028 || cp == 0x2029)
			fprintf(f, "\\u%04" PRIx32, cp);
		else if (cp == REPLACEMENT && n == 1)
			fputs("\\ufffd", f);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
	putc('"', f);
}

/* JSON object keys must be strings: render any other key as text. */
static void
json_key(FILE *f, const msgpack_object *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (k->type == MSGPACK_OBJECT_STR) {
		out_json_string(f, k->via.str.ptr, k->via.str.size);
		return;
	}
	if ((m = open_memstream(&buf, &len)) == NULL) {
		fputs("\"\"", f);
		return;
	}
	out_json(m, k);
	fclose(m);
	out_json_string(f, buf, len);
	free(buf);
}

/*
 * The generic MessagePack to JSON conversion behind --json. Maps keep
 * the daemon's key order; nil is null; binary data is shown as a
 * string; floats that JSON cannot express (NaN, infinities) and
 * extension types become null.
 */
void
out_json(FILE *f, const msgpack_object *o)
{
	if (o == NULL) {
		fputs("null", f);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fputs("null", f);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(o->via.boolean ? "true" : "false", f);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fprintf(f, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fprintf(f, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			fprintf(f, "%.17g", o->via.f64);
		else
			fputs("null", f);
		break;
	case MSGPACK_OBJECT_STR:
		out_json_string(f, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		out_json_string(f, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				putc(',', f);
			out_json(f, &o->via.array.ptr[i]);
		}
		putc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		putc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			if (i > 0)
				putc(',', f);
			json_key(f, &o->via.map.ptr[i].key);
			putc(':', f);
			out_json(f, &o->via.map.ptr[i].val);
		}
		putc('}', f);
		break;
	default:
		fputs("null", f);
		break;
	}
}

/* ---- text for a terminal ---- */

/* Copy s to f with every unsafe character or bad byte replaced by '?'. */
void
out_sanitize(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		if (unsafe(cp) || (cp == REPLACEMENT && n == 1))
			putc('?', f);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
}

/* Terminal columns of a sanitized string, for aligning tables. */
size_t
out_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, w = 0;
	uint32_t cp;
	int cw;

	while (i < len) {
		i += utf8_next(p + i, len - i, &cp);
		/* Outside a UTF-8 locale wcwidth() knows no more than ASCII. */
		cw = wcwidth((wchar_t)cp);
		w += cw < 0 ? 1 : (size_t)cw;
	}
	return w;
}

static bool local_times;	/* --local */

void
out_local_time(bool on)
{
	local_times = on;
	if (on)
		tzset();
}

/* Unix seconds as "2006-01-02 15:04:05 UTC", or with --local in the
 * local zone, by its abbreviation ("2006-01-02 16:04:05 CET"). */
void
out_time(int64_t t, char *buf, size_t bufsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((local_times ? localtime_r(&tt, &tm) : gmtime_r(&tt, &tm)) ==
	    NULL || strftime(buf, bufsz, local_times ? "%Y-%m-%d %H:%M:%S %Z" :
	    "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, bufsz, "%" PRId64, t);
}

static bool
is_int(const msgpack_object *o)
{
	return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

/* One value as a person reads it, written sanitized to f. */
static void
text_value(FILE *f, const msgpack_object *o, enum out_kind kind)
{
	char buf[64];

	if (o->type == MSGPACK_OBJECT_NIL) {
		if (kind == OUT_TIME_NEVER)
			fputs("never", f);
		else if (kind == OUT_DAYS)
			fputs("default", f);
		return;
	}
	if (is_int(o) && kind == OUT_DAYS) {
		if (o->via.i64 == 0)
			fputs("never", f);
		else
			fprintf(f, "%lld days", (long long)o->via.i64);
		return;
	}
	if (o->type == MSGPACK_OBJECT_BOOLEAN) {
		bool b = o->via.boolean;

		switch (kind) {
		case OUT_ENABLED:
			fputs(b ? "enabled" : "disabled", f);
			break;
		case OUT_SET:
			fputs(b ? "set" : "not set", f);
			break;
		default:
			fputs(b ? "yes" : "no", f);
			break;
		}
		return;
	}
	if (is_int(o) && (kind == OUT_TIME || kind == OUT_TIME_NEVER)) {
		out_time(o->via.i64, buf, sizeof(buf));
		fputs(buf, f);
		return;
	}
	if (o->type == MSGPACK_OBJECT_STR) {
		out_sanitize(f, o->via.str.ptr, o->via.str.size);
		return;
	}
	if (o->type == MSGPACK_OBJECT_ARRAY && kind == OUT_LIST) {
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fputs(", ", f);
			text_value(f, &o->via.array.ptr[i], OUT_ANY);
		}
		return;
	}
	if (is_int(o)) {
		out_json(f, o);
		return;
	}
	/* Anything else as JSON, whose UTF-8 may still need cleaning. */
	char *js = NULL;
	size_t jslen = 0;
	FILE *m = open_memstream(&js, &jslen);
	if (m == NULL)
		return;
	out_json(m, o);
	fclose(m);
	out_sanitize(f, js, jslen);
	free(js);
}

/* A value as a malloc'd, sanitized C string; NULL when out of memory. */
char *
out_text(const msgpack_object *o, enum out_kind kind)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (o != NULL)
		text_value(m, o, kind);
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A string from a result, e.g. a username in a message, sanitized. */
void
out_str(FILE *f, const msgpack_object *o)
{
	if (o != NULL)
		text_value(f, o, OUT_STR);
}

static void
pad(FILE *f, size_t n)
{
	while (n-- > 0)
		putc(' ', f);
}

/* ---- lists: a table, Markdown, CSV or TSV ---- */

#define MIN_CUT		8	/* no column is cut narrower */

/* The ellipsis and its columns: U+2026 where the locale is UTF-8. */
static const char *
ellipsis(size_t *cols)
{
	bool utf8 = wcwidth(0x2026) == 1;

	*cols = utf8 ? 1 : 3;
	return utf8 ? "\xe2\x80\xa6" : "...";
}

/* s cut to max columns, its end an ellipsis; malloc'd, or NULL. */
static char *
cut_cell(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, w = 0, ew, n;
	const char *ell = ellipsis(&ew);
	uint32_t cp;
	char *out;
	int cw;

	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		cw = wcwidth((wchar_t)cp);
		if (w + (cw < 0 ? 1 : (size_t)cw) + ew > max)
			break;
		w += cw < 0 ? 1 : (size_t)cw;
		i += n;
	}
	if (asprintf(&out, "%.*s%s", (int)i, s, ell) < 0)
		return NULL;
	return out;
}

/*
 * Narrow the widest column of free text (names, addresses, details:
 * never a time, a number or a state) by one, again and again, until the
 * table fits width or none is wider than its label and MIN_CUT; then cut
 * the cells wider than their column. -1 when out of memory.
 */
static int
fit_table(char **cell, size_t nrows, size_t ncols, size_t *w, size_t width,
    const struct out_field *cols)
{
	for (;;) {
		size_t total = 2 * (ncols - 1), widest = ncols;

		for (size_t c = 0; c < ncols; c++) {
			size_t floor = out_width(cell[c]) > MIN_CUT ?
			    out_width(cell[c]) : MIN_CUT;

			total += w[c];
			if ((cols[c].kind == OUT_STR || cols[c].kind == OUT_ANY ||
			    cols[c].kind == OUT_LIST) && w[c] > floor &&
			    (widest == ncols || w[c] > w[widest]))
				widest = c;
		}
		if (total <= width || widest == ncols)
			break;
		w[widest]--;
	}
	for (size_t i = 0; i < (nrows + 1) * ncols; i++)
		if (out_width(cell[i]) > w[i % ncols]) {
			char *t = cut_cell(cell[i], w[i % ncols]);

			if (t == NULL)
				return -1;
			free(cell[i]);
			cell[i] = t;
		}
	return 0;
}

/* Markdown: a backslash before each character GFM takes as markup. */
static void
md_cell(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr("\\`*_[]<>|~&", *s) != NULL)
			putc('\\', f);
		putc(*s, f);
	}
}

/*
 * A cell a spreadsheet would run as a formula (OWASP's CSV injection:
 * one that starts with = + - @, a tab or a carriage return) is written
 * with a ' before it, so that it shows as the text it is.
 */
static bool
formula(const char *s)
{
	return s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
}

/* CSV (RFC 4180, ';' separated): quoted if need be, quotes doubled. */
static void
csv_cell(FILE *f, const char *s)
{
	bool defuse = formula(s);

	if (!defuse && strpbrk(s, ";\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	putc('"', f);
	if (defuse)
		putc('\'', f);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putc('"', f);
		putc(*s, f);
	}
	putc('"', f);
}

/* TSV has no quoting: a tab or line end in a value would end it. */
static void
tsv_cell(FILE *f, const char *s)
{
	if (formula(s))
		putc('\'', f);
	for (; *s != '\0'; s++)
		putc(*s == '\t' || *s == '\r' || *s == '\n' ? '?' : *s, f);
}

/*
 * A cell as fmt writes it: s is already sanitized text (out_text()),
 * so no control character reaches here; the escapes are the format's.
 * Malloc'd; NULL when out of memory.
 */
static char *
cell_text(enum out_format fmt, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if ((m = open_memstream(&buf, &len)) == NULL)
		return NULL;
	switch (fmt) {
	case OUT_FMT_MD:
		md_cell(m, s);
		break;
	case OUT_FMT_CSV:
		csv_cell(m, s);
		break;
	case OUT_FMT_TSV:
		tsv_cell(m, s);
		break;
	default:
		fputs(s, m);
		break;
	}
	if (fclose(m) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * An aligned table, one column per field:
 *
 *	Username  Role
 *	--------  -----
 *	alice     admin
 *
 * Columns are two spaces apart; nothing trails the last one.
 */
static void
print_table(FILE *f, char **cell, size_t nrows, size_t ncols,
    const size_t *w, bool header)
{
	for (size_t c = 0; header && c < ncols; c++) {
		fputs(cell[c], f);
		if (c + 1 < ncols)
			pad(f, w[c] - out_width(cell[c]) + 2);
		else
			putc('\n', f);
	}
	for (size_t c = 0; header && c < ncols; c++) {
		for (size_t i = 0; i < w[c]; i++)
			putc('-', f);
		if (c + 1 < ncols)
			pad(f, 2);
		else
			putc('\n', f);
	}
	for (size_t r = 1; r <= nrows; r++) {
		size_t last = ncols;

		/* Stop after the last non-empty cell: no trailing blanks. */
		while (last > 0 && cell[r * ncols + last - 1][0] == '\0')
			last--;
		for (size_t c = 0; c < last; c++) {
			const char *t = cell[r * ncols + c];

			fputs(t, f);
			if (c + 1 < last)
				pad(f, w[c] - out_width(t) + 2);
		}
		putc('\n', f);
	}
}

/*
 * A GitHub-flavoured Markdown table, padded to line up:
 *
 *	| Username | Role  |
 *	|----------|-------|
 *	| alice    | admin |
 */
static void
print_md(FILE *f, char **cell, size_t nrows, size_t ncols, const size_t *w)
{
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *t = cell[r * ncols + c];

			fputs("| ", f);
			fputs(t, f);
			pad(f, w[c] - out_width(t) + 1);
		}
		fputs("|\n", f);
		if (r > 0)
			continue;
		for (size_t c = 0; c < ncols; c++) {
			putc('|', f);
			for (size_t i = 0; i < w[c] + 2; i++)
				putc('-', f);
		}
		fputs("|\n", f);
	}
}

/* CSV and TSV: the labels, then one line per row, nothing padded. */
static void
print_separated(FILE *f, char **cell, size_t nrows, size_t ncols, char sep,
    bool header)
{
	for (size_t r = header ? 0 : 1; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			if (c > 0)
				putc(sep, f);
			fputs(cell[r * ncols + c], f);
		}
		putc('\n', f);
	}
}

/*
 * An array of maps, one row per map and one column per field, in fmt:
 * the labels make the header. Every value is sanitized text first
 * (out_text(): no control characters), then escaped for the format.
 * Returns 0, or -1 when out of memory (nothing printed).
 */
int
out_rows(FILE *f, const struct out_opts *o, const msgpack_object *rows,
    const struct out_field *cols, size_t ncols)
{
	enum out_format fmt = o->fmt;
	uint32_t nrows = 0;
	size_t ncells, *w;
	char **cell;
	int rc = 0;

	if (rows != NULL && rows->type == MSGPACK_OBJECT_ARRAY)
		nrows = rows->via.array.size;
	ncells = ((size_t)nrows + 1) * ncols;
	cell = calloc(ncells + 1, sizeof(*cell));
	w = calloc(ncols + 1, sizeof(*w));
	if (cell == NULL || w == NULL) {
		rc = -1;
		goto done;
	}
	for (size_t c = 0; c < ncols; c++)
		if ((cell[c] = cell_text(fmt, cols[c].label)) == NULL) {
			rc = -1;
			goto done;
		}
	for (uint32_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++) {
			const msgpack_object *v = proto_map_get(
			    &rows->via.array.ptr[r], cols[c].key);
			char *t = out_text(v, cols[c].kind);

			if (t == NULL) {
				rc = -1;
				goto done;
			}
			cell[((size_t)r + 1) * ncols + c] = cell_text(fmt, t);
			free(t);
			if (cell[((size_t)r + 1) * ncols + c] == NULL) {
				rc = -1;
				goto done;
			}
		}
	for (size_t i = 0; i < ncells; i++)
		if (out_width(cell[i]) > w[i % ncols])
			w[i % ncols] = out_width(cell[i]);
	/* Only a table for a terminal is cut: the other formats are read
	 * by programs, which want every byte. */
	if (fmt == OUT_FMT_TABLE && o->width > 0 && ncols > 0 &&
	    fit_table(cell, nrows, ncols, w, o->width, cols) == -1) {
		rc = -1;
		goto done;
	}
	switch (fmt) {
	case OUT_FMT_MD:	/* a Markdown table has a header */
		print_md(f, cell, nrows, ncols, w);
		break;
	case OUT_FMT_CSV:
		print_separated(f, cell, nrows, ncols, ';', o->header);
		break;
	case OUT_FMT_TSV:
		print_separated(f, cell, nrows, ncols, '\t', o->header);
		break;
	default:
		print_table(f, cell, nrows, ncols, w, o->header);
		break;
	}
done:
	if (cell != NULL)
		for (size_t i = 0; i < ncells; i++)
			free(cell[i]);
	free(cell);
	free(w);
	return rc;
}

static const struct out_field *
field_find(const msgpack_object *key, const struct out_field *fields,
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (key->type == MSGPACK_OBJECT_STR &&
		    strlen(fields[i].key) == key->via.str.size &&
		    memcmp(fields[i].key, key->via.str.ptr,
		    key->via.str.size) == 0)
			return &fields[i];
	return NULL;
}

static void
show_line(FILE *f, const char *label, size_t lw, const msgpack_object *v,
    enum out_kind kind)
{
	char *t = out_text(v, kind);

	fputs(label, f);
	if (t != NULL && *t != '\0') {
		pad(f, lw - out_width(label) + 2);
		fputs(t, f);
	}
	putc('\n', f);
	free(t);
}

/*
 * Every property of a map, one per line, values aligned:
 *
 *	Username     alice
 *	Super Admin  no
 *
 * Known fields first, in the given order, with their labels; then any
 * key the daemon added that this client does not know, named by key.
 */
int
out_show(FILE *f, const msgpack_object *map, const struct out_field *fields,
    size_t nfields)
{
	char **extra;
	uint32_t n;
	size_t lw = 0;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return -1;
	n = map->via.map.size;
	if ((extra = calloc((size_t)n + 1, sizeof(*extra))) == NULL)
		return -1;
	for (size_t i = 0; i < nfields; i++)
		if (proto_map_get(map, fields[i].key) != NULL &&
		    out_width(fields[i].label) > lw)
			lw = out_width(fields[i].label);
	for (uint32_t i = 0; i < n; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;

		if (field_find(k, fields, nfields) != NULL)
			continue;
		if ((extra[i] = out_text(k, OUT_STR)) == NULL) {
			for (uint32_t j = 0; j < i; j++)
				free(extra[j]);
			free(extra);
			return -1;
		}
		if (out_width(extra[i]) > lw)
			lw = out_width(extra[i]);
	}
	for (size_t i = 0; i < nfields; i++) {
		const msgpack_object *v = proto_map_get(map, fields[i].key);

		if (v != NULL)
			show_line(f, fields[i].label, lw, v, fields[i].kind);
	}
	for (uint32_t i = 0; i < n; i++)
		if (extra[i] != NULL) {
			show_line(f, extra[i], lw, &map->via.map.ptr[i].val,
			    OUT_ANY);
			free(extra[i]);
		}
	free(extra);
	return 0;
}

/* ---- stats: a table for people, OpenMetrics for collectors ---- */

static const msgpack_object *
map_get(const msgpack_object *m, const char *key)
{
	return m != NULL ? proto_map_get(m, key) : NULL;
}

static uint64_t
u64_of(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ?
	    o->via.u64 : 0;
}

static bool
is_map(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_MAP;
}

/* A histogram's arrays, as the daemon sends them: NULL if it is not. */
struct hist_view {
	const msgpack_object	*bounds, *counts;
	uint64_t		 n, sum;
};

static bool
hist_view(const msgpack_object *h, struct hist_view *v)
{
	v->bounds = map_get(h, "buckets");
	v->counts = map_get(h, "counts");
	v->n = u64_of(map_get(h, "count"));
	v->sum = u64_of(map_get(h, "sum"));
	return v->bounds != NULL && v->counts != NULL &&
	    v->bounds->type == MSGPACK_OBJECT_ARRAY &&
	    v->counts->type == MSGPACK_OBJECT_ARRAY &&
	    v->counts->via.array.size == v->bounds->via.array.size + 1;
}

/* Microseconds as a person reads them: "37 us", "1.2 ms", "2.5 s". */
static void
duration_text(char *buf, size_t bufsz, double us)
{
	if (us < 1000)
		snprintf(buf, bufsz, "%.0f us", us);
	else if (us < 1000000)
		snprintf(buf, bufsz, "%.3g ms", us / 1000);
	else
		snprintf(buf, bufsz, "%.3g s", us / 1000000);
}

/* The bound of the bucket that holds quantile q, "<= 10 ms", or "> 1 s"
 * for the bucket above the last bound; "" when there is none. */
static void
quantile_text(char *buf, size_t bufsz, const struct hist_view *v, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)v->n), seen = 0;
	uint32_t nb = v->bounds->via.array.size;

	buf[0] = '\0';
	if (v->n == 0)
		return;
	for (uint32_t i = 0; i <= nb; i++) {
		seen += u64_of(&v->counts->via.array.ptr[i]);
		if (seen < want)
			continue;
		if (i < nb || nb > 0) {
			strlcpy(buf, i < nb ? "<= " : "> ", bufsz);
			duration_text(buf + strlen(buf), bufsz - strlen(buf),
			    (double)u64_of(&v->bounds->via.array.ptr[
			    i < nb ? i : nb - 1]));
		}
		return;
	}
}

static void
pack_text(msgpack_packer *pk, const char *key, const char *val)
{
	proto_pack_cstr(pk, key);
	proto_pack_cstr(pk, val);
}

static void
pack_uint(msgpack_packer *pk, const char *key, uint64_t val)
{
	proto_pack_cstr(pk, key);
	msgpack_pack_uint64(pk, val);
}

/* Count, mean and the bounds of the median and the 99th percentile. */
static void
pack_timing(msgpack_packer *pk, const struct hist_view *v)
{
	char buf[32];

	pack_uint(pk, "count", v->n);
	buf[0] = '\0';
	if (v->n > 0)
		duration_text(buf, sizeof(buf), (double)v->sum /
		    (double)v->n);
	pack_text(pk, "mean", buf);
	quantile_text(buf, sizeof(buf), v, 0.5);
	pack_text(pk, "p50", buf);
	quantile_text(buf, sizeof(buf), v, 0.99);
	pack_text(pk, "p99", buf);
}

/* Rows packed by fn, printed as a table with a blank line before. */
static int
stats_table(FILE *f, void (*fn)(msgpack_packer *, const msgpack_object *,
    uint32_t *), const msgpack_object *res, const struct out_field *cols,
    size_t ncols)
{
	struct out_opts o = { .fmt = OUT_FMT_TABLE, .header = true };
	msgpack_sbuffer sb, rows;
	msgpack_packer pk;
	msgpack_unpacked un;
	uint32_t n = 0;
	int rc = 0;

	/* Counted first, then packed behind their array's header. */
	msgpack_sbuffer_init(&rows);
	msgpack_packer_init(&pk, &rows, msgpack_sbuffer_write);
	fn(&pk, res, &n);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n);
	if (rows.size > 0)
		msgpack_sbuffer_write(&sb, rows.data, rows.size);
	msgpack_unpacked_init(&un);
	if (n > 0 && msgpack_unpack_next(&un, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS) {
		putc('\n', f);
		rc = out_rows(f, &o, &un.data, cols, ncols);
	}
	msgpack_unpacked_destroy(&un);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&rows);
	return rc;
}

static void
request_rows(msgpack_packer *pk, const msgpack_object *res, uint32_t *n)
{
	const msgpack_object *m = map_get(res, "requests");
	struct hist_view v;

	for (uint32_t i = 0; is_map(m) && i < m->via.map.size; i++) {
		const msgpack_object *r = &m->via.map.ptr[i].val;

		if (!hist_view(map_get(r, "latency"), &v) || v.n == 0)
			continue;
		msgpack_pack_map(pk, 6);
		proto_pack_cstr(pk, "op");
		msgpack_pack_object(pk, m->via.map.ptr[i].key);
		pack_uint(pk, "errors", u64_of(map_get(r, "errors")));
		pack_timing(pk, &v);
		(*n)++;
	}
}

static void
wait_rows(msgpack_packer *pk, const msgpack_object *res, uint32_t *n)
{
	const msgpack_object *h[2] = {
		map_get(map_get(res, "hash_queue"), "wait"),
		map_get(map_get(res, "db"), "commits"),
	};
	static const char *const what[2] = { "hash slot", "db commit" };
	struct hist_view v;

	for (int i = 0; i < 2; i++) {
		if (!hist_view(h[i], &v))
			continue;
		msgpack_pack_map(pk, 5);
		pack_text(pk, "what", what[i]);
		pack_timing(pk, &v);
		(*n)++;
	}
}

static void
login_rows(msgpack_packer *pk, const msgpack_object *res, uint32_t *n)
{
	const msgpack_object *m = map_get(res, "logins");

	for (uint32_t i = 0; is_map(m) && i < m->via.map.size; i++) {
		const msgpack_object *o = &m->via.map.ptr[i].val;

		for (uint32_t j = 0; is_map(o) && j < o->via.map.size; j++) {
			msgpack_pack_map(pk, 3);
			proto_pack_cstr(pk, "service");
			msgpack_pack_object(pk, m->via.map.ptr[i].key);
			proto_pack_cstr(pk, "outcome");
			msgpack_pack_object(pk, o->via.map.ptr[j].key);
			proto_pack_cstr(pk, "count");
			msgpack_pack_object(pk, o->via.map.ptr[j].val);
			(*n)++;
		}
	}
}

static void
hash_rows(msgpack_packer *pk, const msgpack_object *res, uint32_t *n)
{
	const msgpack_object *m = map_get(res, "hashes");

	for (uint32_t i = 0; is_map(m) && i < m->via.map.size; i++) {
		if (u64_of(&m->via.map.ptr[i].val) == 0)
			continue;
		msgpack_pack_map(pk, 2);
		proto_pack_cstr(pk, "scheme");
		msgpack_pack_object(pk, m->via.map.ptr[i].key);
		proto_pack_cstr(pk, "count");
		msgpack_pack_object(pk, m->via.map.ptr[i].val);
		(*n)++;
	}
}

/* The single numbers, as out_show() lists an account. */
static int
stats_summary(FILE *f, const msgpack_object *res)
{
	static const struct out_field fields[] = {
		{ "started",		"Started",		OUT_TIME },
		{ "open",		"Connections Open",	OUT_INT },
		{ "admin",		"Admin Connections",	OUT_INT },
		{ "authenticator",	"Authenticator Connections", OUT_INT },
		{ "user",		"User Connections",	OUT_INT },
		{ "refused",		"Connections Refused",	OUT_INT },
		{ "malformed",		"Malformed Requests",	OUT_INT },
		{ "waiting",		"Waiting for a Hash",	OUT_INT },
		{ "accounts",		"Locked Accounts",	OUT_INT },
		{ "sources",		"Locked Sources",	OUT_INT },
		{ "slowed_sources",	"Slowed Sources",	OUT_INT },
		{ "sent",		"Mail Sent",		OUT_INT },
		{ "failed",		"Mail Failed",		OUT_INT },
		{ "queued",		"Mail Queued",		OUT_INT },
	};
	const msgpack_object *conn = map_get(res, "connections");
	const msgpack_object *v[] = {
		map_get(res, "started"), map_get(conn, "open"),
		map_get(map_get(conn, "accepted"), "admin"),
		map_get(map_get(conn, "accepted"), "authenticator"),
		map_get(map_get(conn, "accepted"), "user"),
		map_get(conn, "refused"), map_get(res, "malformed"),
		map_get(map_get(res, "hash_queue"), "waiting"),
		map_get(map_get(res, "locks"), "accounts"),
		map_get(map_get(res, "locks"), "sources"),
		map_get(map_get(res, "locks"), "slowed_sources"),
		map_get(map_get(res, "mail"), "sent"),
		map_get(map_get(res, "mail"), "failed"),
		map_get(map_get(res, "mail"), "queued"),
	};
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked un;
	uint32_t n = 0;
	int rc = -1;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		n += v[i] != NULL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] != NULL) {
			proto_pack_cstr(&pk, fields[i].key);
			msgpack_pack_object(&pk, *v[i]);
		}
	msgpack_unpacked_init(&un);
	if (msgpack_unpack_next(&un, sb.data, sb.size, NULL) ==
	    MSGPACK_UNPACK_SUCCESS)
		rc = out_show(f, &un.data, fields, sizeof(fields) /
		    sizeof(fields[0]));
	msgpack_unpacked_destroy(&un);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

int
out_stats(FILE *f, const msgpack_object *res)
{
	static const struct out_field req_cols[] = {
		{ "op",		"Operation",	OUT_STR },
		{ "count",	"Requests",	OUT_INT },
		{ "errors",	"Errors",	OUT_INT },
		{ "mean",	"Mean",		OUT_STR },
		{ "p50",	"p50",		OUT_STR },
		{ "p99",	"p99",		OUT_STR },
	};
	static const struct out_field wait_cols[] = {
		{ "what",	"Wait",		OUT_STR },
		{ "count",	"Count",	OUT_INT },
		{ "mean",	"Mean",		OUT_STR },
		{ "p50",	"p50",		OUT_STR },
		{ "p99",	"p99",		OUT_STR },
	};
	static const struct out_field login_cols[] = {
		{ "service",	"Service",	OUT_STR },
		{ "outcome",	"Outcome",	OUT_STR },
		{ "count",	"Logins",	OUT_INT },
	};
	static const struct out_field hash_cols[] = {
		{ "scheme",	"Scheme",	OUT_STR },
		{ "count",	"Hashes",	OUT_INT },
	};
#define COLS(c)	(c), sizeof(c) / sizeof((c)[0])

	if (stats_summary(f, res) == -1 ||
	    stats_table(f, request_rows, res, COLS(req_cols)) == -1 ||
	    stats_table(f, wait_rows, res, COLS(wait_cols)) == -1 ||
	    stats_table(f, login_rows, res, COLS(login_cols)) == -1 ||
	    stats_table(f, hash_rows, res, COLS(hash_cols)) == -1)
		return -1;
#undef COLS
	return 0;
}

/*
 * OpenMetrics text (the format node_exporter's textfile collector and
 * Prometheus read): a family's TYPE, UNIT and HELP, then its samples;
 * counters' samples end in _total, histograms' buckets are cumulative,
 * durations are in seconds, and the exposition ends with "# EOF".
 */

/* Whole microseconds as seconds, the way Python and Go print a float:
 * 0.25, 1.0, and 5e-05 below 1e-4. */
static void
seconds_text(char *buf, size_t bufsz, uint64_t us)
{
	char digits[8];
	int n;

	if (us > 0 && us < 100) {
		int e = us < 10 ? 6 : 5;
		uint64_t m = us < 10 ? us : us / 10, r = us < 10 ? 0 : us % 10;

		if (r != 0)
			snprintf(buf, bufsz, "%" PRIu64 ".%" PRIu64 "e-%02d", m,
			    r, e);
		else
			snprintf(buf, bufsz, "%" PRIu64 "e-%02d", m, e);
		return;
	}
	n = snprintf(digits, sizeof(digits), "%06" PRIu64, us % 1000000);
	while (n > 1 && digits[n - 1] == '0')
		digits[--n] = '\0';
	snprintf(buf, bufsz, "%" PRIu64 ".%s", us / 1000000, digits);
}

/* A label value: the three escapes of the format; any other control
 * character or byte that is not UTF-8 as '?'. */
static void
om_label_value(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_next(p + i, len - i, &cp);
		if (cp == '\\' || cp == '"')
			fprintf(f, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (unsafe(cp) || (cp == REPLACEMENT && n == 1))
			putc('?', f);
		else
			fwrite(p + i, 1, n, f);
		i += n;
	}
}

/* Up to two labels, name="value", the values msgpack strings. */
struct om_labels {
	const char		*name[2];
	const msgpack_object	*value[2];
};

static void
om_labels(FILE *f, const struct om_labels *l, const char *le)
{
	bool any = false;

	for (int i = 0; l != NULL && i < 2; i++) {
		const msgpack_object *v = l->value[i];

		if (l->name[i] == NULL || v == NULL ||
		    v->type != MSGPACK_OBJECT_STR)
			continue;
		fprintf(f, "%s%s=\"", any ? "," : "{", l->name[i]);
		om_label_value(f, v->via.str.ptr, v->via.str.size);
		putc('"', f);
		any = true;
	}
	if (le != NULL) {
		fprintf(f, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (any)
		putc('}', f);
}

static void
om_family(FILE *f, const char *name, const char *type, const char *unit,
    const char *help)
{
	fprintf(f, "# TYPE %s %s\n", name, type);
	if (unit != NULL)
		fprintf(f, "# UNIT %s %s\n", name, unit);
	fprintf(f, "# HELP %s %s\n", name, help);
}

/* One sample: name, suffix, labels, an integer value. */
static void
om_sample(FILE *f, const char *name, const char *suffix,
    const struct om_labels *l, uint64_t v)
{
	fprintf(f, "%s%s", name, suffix);
	om_labels(f, l, NULL);
	fprintf(f, " %" PRIu64 "\n", v);
}

/* A histogram's samples: cumulative buckets in seconds, count, sum. */
static void
om_hist(FILE *f, const char *name, const struct om_labels *l,
    const msgpack_object *h)
{
	struct hist_view v;
	uint64_t cum = 0;
	char le[32];

	if (!hist_view(h, &v))
		return;
	for (uint32_t i = 0; i <= v.bounds->via.array.size; i++) {
		cum += u64_of(&v.counts->via.array.ptr[i]);
		if (i == v.bounds->via.array.size)
			strlcpy(le, "+Inf", sizeof(le));
		else
			seconds_text(le, sizeof(le), u64_of(
			    &v.bounds->via.array.ptr[i]));
		fprintf(f, "%s_bucket", name);
		om_labels(f, l, le);
		fprintf(f, " %" PRIu64 "\n", cum);
	}
	/* The buckets' total: _count must be the +Inf bucket's. */
	om_sample(f, name, "_count", l, cum);
	seconds_text(le, sizeof(le), v.sum);
	fprintf(f, "%s_sum", name);
	om_labels(f, l, NULL);
	fprintf(f, " %s\n", le);
}

/* A family of one sample, a gauge or a counter, when v is there. */
static void
om_one(FILE *f, const char *name, const char *type, const char *help,
    const msgpack_object *v)
{
	if (v == NULL)
		return;
	om_family(f, name, type, NULL, help);
	om_sample(f, name, strcmp(type, "counter") == 0 ? "_total" : "", NULL,
	    u64_of(v));
}

/* A counter with one label, from a map of label value to count. */
static void
om_map(FILE *f, const char *name, const char *label, const char *help,
    const msgpack_object *m)
{
	struct om_labels l = { { label } };

	if (!is_map(m))
		return;
	om_family(f, name, "counter", NULL, help);
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		l.value[0] = &m->via.map.ptr[i].key;
		om_sample(f, name, "_total", &l, u64_of(&m->via.map.ptr[i].val));
	}
}

int
out_openmetrics(FILE *f, const msgpack_object *res)
{
	const msgpack_object *req = map_get(res, "requests");
	const msgpack_object *logins = map_get(res, "logins");
	const msgpack_object *conn = map_get(res, "connections");
	const msgpack_object *locks = map_get(res, "locks");
	const msgpack_object *mail = map_get(res, "mail");
	const msgpack_object *hq = map_get(res, "hash_queue");
	struct om_labels op = { { "op" } };
	const msgpack_object *v;

	if (!is_map(res))
		return -1;
	if ((v = map_get(res, "started")) != NULL) {
		om_family(f, "acctd_start_time_seconds", "gauge", "seconds",
		    "When the daemon began to serve, in Unix time.");
		om_sample(f, "acctd_start_time_seconds", "", NULL, u64_of(v));
	}
	if (is_map(req)) {
		om_family(f, "acctd_requests", "counter", NULL,
		    "Requests answered, by operation.");
		for (uint32_t i = 0; i < req->via.map.size; i++) {
			op.value[0] = &req->via.map.ptr[i].key;
			om_sample(f, "acctd_requests", "_total", &op, u64_of(
			    map_get(&req->via.map.ptr[i].val, "count")));
		}
		om_family(f, "acctd_request_errors", "counter", NULL,
		    "Requests answered with an error, by operation.");
		for (uint32_t i = 0; i < req->via.map.size; i++) {
			op.value[0] = &req->via.map.ptr[i].key;
			om_sample(f, "acctd_request_errors", "_total", &op,
			    u64_of(map_get(&req->via.map.ptr[i].val,
			    "errors")));
		}
		om_family(f, "acctd_request_duration_seconds", "histogram",
		    "seconds", "Time from a request's decoding to its reply.");
		for (uint32_t i = 0; i < req->via.map.size; i++) {
			op.value[0] = &req->via.map.ptr[i].key;
			om_hist(f, "acctd_request_duration_seconds", &op,
			    map_get(&req->via.map.ptr[i].val, "latency"));
		}
	}
	om_one(f, "acctd_malformed_requests", "counter",
	    "Requests that did not decode, and so name no operation.",
	    map_get(res, "malformed"));
	if (is_map(logins)) {
		struct om_labels l = { { "outcome", "service" } };

		om_family(f, "acctd_logins", "counter", NULL,
		    "Checks of an account's secret, by outcome and service.");
		for (uint32_t i = 0; i < logins->via.map.size; i++) {
			const msgpack_object *o = &logins->via.map.ptr[i].val;

			l.value[1] = &logins->via.map.ptr[i].key;
			for (uint32_t j = 0; is_map(o) &&
			    j < o->via.map.size; j++) {
				l.value[0] = &o->via.map.ptr[j].key;
				om_sample(f, "acctd_logins", "_total", &l,
				    u64_of(&o->via.map.ptr[j].val));
			}
		}
	}
	om_map(f, "acctd_hashes", "scheme",
	    "Password hashes made or verified, by scheme.",
	    map_get(res, "hashes"));
	om_one(f, "acctd_hash_queue_length", "gauge",
	    "Requests waiting for a hashing slot.", map_get(hq, "waiting"));
	if ((v = map_get(hq, "wait")) != NULL) {
		om_family(f, "acctd_hash_wait_seconds", "histogram", "seconds",
		    "Time a hash waited for its slot.");
		om_hist(f, "acctd_hash_wait_seconds", NULL, v);
	}
	om_one(f, "acctd_locked_accounts", "gauge",
	    "Accounts locked by failed logins.", map_get(locks, "accounts"));
	om_one(f, "acctd_locked_sources", "gauge",
	    "Sources of failed logins locked.", map_get(locks, "sources"));
	om_one(f, "acctd_slowed_sources", "gauge",
	    "Sources without an address slowed down.",
	    map_get(locks, "slowed_sources"));
	om_one(f, "acctd_mail_sent", "counter", "Messages the mailer sent.",
	    map_get(mail, "sent"));
	om_one(f, "acctd_mail_failed", "counter",
	    "Messages the mailer failed to send.", map_get(mail, "failed"));
	om_one(f, "acctd_mail_queued", "gauge",
	    "Messages waiting for the mailer.", map_get(mail, "queued"));
	om_map(f, "acctd_connections", "class",
	    "Connections accepted, by the caller's highest class.",
	    map_get(conn, "accepted"));
	om_one(f, "acctd_connections_refused", "counter",
	    "Connections refused over the connection limits.",
	    map_get(conn, "refused"));
	om_one(f, "acctd_connections_open", "gauge", "Connections open.",
	    map_get(conn, "open"));
	if ((v = map_get(map_get(res, "db"), "commits")) != NULL) {
		om_family(f, "acctd_db_commit_duration_seconds", "histogram",
		    "seconds", "Time to commit a write transaction.");
		om_hist(f, "acctd_db_commit_duration_seconds", NULL, v);
	}
	fputs("# EOF\n", f);
	return 0;
}
