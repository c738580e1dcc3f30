/*
 * log.c: one line per event on stderr. Under systemd (JOURNAL_STREAM set)
 * lines carry a <N> syslog priority prefix so the journal keeps levels.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "text.h"

static const char *prog = "acct";
static enum log_level level = LOG_LVL_INFO;
static int journal;

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
	prog = progname;
	level = max;
	journal = getenv("JOURNAL_STREAM") != NULL;
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
	if (journal)
		fprintf(stderr, "<%d>%s\n", levels[lvl].syslog, line);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", prog, (long)getpid(),
		    levels[lvl].name, line);
}
