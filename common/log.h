/*
 * log.h: leveled logging to stderr (the journal under systemd).
 * Callers never pass secrets: log lines name accounts, not credentials.
 */
#ifndef ACCT_LOG_H
#define ACCT_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(const char *progname, enum log_level max);
void	log_set_level(enum log_level max);
int	log_level_parse(const char *s, enum log_level *out);
void	log_msg(enum log_level lvl, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* A field of an event: its key in the line and in the journal. */
#define LOG_FIELDS_MAX	8
#define LOG_KEY_MAX	24	/* longer keys are cut */
#define LOG_VALUE_MAX	256	/* escaped; longer values are cut */
struct log_field {
	const char	*key;		/* "rhost" */
	const char	*journal;	/* "ACCTD_RHOST" */
	const char	*value;		/* as given: escaped here */
};
/*
 * An event in a stable form, for programs that read the log: the line
 * "EVENT: key=value key=value ..." with each value one word (escaped as
 * every line is, and white space too), nothing else on it. In the
 * journal, the same line is the MESSAGE, message_id (32 hex digits, or
 * NULL) the MESSAGE_ID, and each value, as the line has it, a field.
 */
void	log_event(enum log_level lvl, const char *event,
	    const char *message_id, const struct log_field *f, size_t n);

#endif
