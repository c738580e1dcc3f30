/*
 * log.c: one line per event on stderr, or one entry in the journal. When
 * stderr is the journal's stream (systemd's JOURNAL_STREAM) the entry
 * goes by the native protocol, with fields of its own; should that fail
 * the line goes to the stream, after a <N> priority so the journal keeps
 * the level.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "text.h"

static const char *prog = "acct";
static enum log_level level = LOG_LVL_INFO;
static bool stream;			/* stderr is the journal's */
static struct journal jr = { .fd = -1 };

static const struct {
	const char	*name;
	int		 syslog;
} levels[] = {
	[LOG_LVL_ERR]	= { "error", 3 },
	[LOG_LVL_WARN]	= { "warning", 4 },
	[LOG_LVL_INFO]	= { "info", 6 },
	[LOG_LVL_DEBUG]	= { "debug", 7 },
};

void
log_init(const char *progname, enum log_level max)
{
	const char *path;

	prog = progname;
	level = max;
	journal_close(&jr);
	stream = journal_stream_is_stderr();
	/* The socket a test binds instead of the journal's; never from
	 * the environment of a setuid program. */
	if ((path = secure_getenv("ACCT_JOURNAL_SOCKET")) == NULL)
		path = JOURNAL_SOCKET;
	if (stream)
		journal_open(&jr, path);
}

void
log_set_level(enum log_level max)
{
	level = max;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strcmp(s, levels[i].name) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

/* One escaped line, with the fields (values: n slices of it) that the
 * journal gets besides. */
static void
emit(enum log_level lvl, const char *line, const char *message_id,
    const struct log_field *f, const char *const *val, const size_t *len,
    size_t n)
{
	if (jr.fd != -1) {
		struct journal_entry e;
		char pri[2] = { (char)('0' + levels[lvl].syslog), '\0' };

		journal_entry_init(&e);
		journal_add(&e, "MESSAGE", line, strlen(line));
		journal_add(&e, "PRIORITY", pri, 1);
		journal_add(&e, "SYSLOG_IDENTIFIER", prog, strlen(prog));
		if (message_id != NULL)
			journal_add(&e, "MESSAGE_ID", message_id,
			    strlen(message_id));
		for (size_t i = 0; i < n; i++)
			journal_add(&e, f[i].journal, val[i], len[i]);
		if (journal_send(&jr, &e) == 0)
			return;
	}
	if (stream)
		fprintf(stderr, "<%d>%s\n", levels[lvl].syslog, line);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", prog, (long)getpid(),
		    levels[lvl].name, line);
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	char raw[1024], line[4 * sizeof(raw)];
	va_list ap;

	if (lvl > level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Messages carry names and services a client chose: one line per
	 * event, and no byte a terminal or log reader would act on. */
	text_escape(line, sizeof(line), raw);
	emit(lvl, line, NULL, NULL, NULL, NULL, 0);
}

void
log_event(enum log_level lvl, const char *event, const char *message_id,
    const struct log_field *f, size_t n)
{
	/* Room for every key and value at their longest: no event loses
	 * a field to the length of another. */
	char line[64 + LOG_FIELDS_MAX * (LOG_KEY_MAX + 2 + LOG_VALUE_MAX)];
	const char *val[LOG_FIELDS_MAX];
	size_t len[LOG_FIELDS_MAX], o;

	if (lvl > level)
		return;
	if (n > LOG_FIELDS_MAX)
		n = LOG_FIELDS_MAX;
	o = (size_t)snprintf(line, sizeof(line), "%.60s:", event);
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %.*s=",
		    LOG_KEY_MAX, f[i].key);
		/* One word each, whatever a client put in it. */
		val[i] = line + o;
		len[i] = text_escape_word(line + o, LOG_VALUE_MAX + 1,
		    f[i].value);
		o += len[i];
	}
	emit(lvl, line, message_id, f, val, len, n);
}
