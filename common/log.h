/*
 * log.h: leveled logging to stderr (the journal under systemd).
 * Callers never pass secrets: log lines name accounts, not credentials.
 */
#ifndef ACCT_LOG_H
#define ACCT_LOG_H

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

#endif
