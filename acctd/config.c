/*
 * config.c: acctd.conf, "key = value" lines with # comments. Unknown keys
 * and bad values are errors naming file and line; later lines win.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "../common/text.h"
#include "acctd.h"

#define CONFIG_MAX_SIZE	(1024 * 1024)

enum kind { K_PATH_SOCKET, K_PATH_DB, K_GROUP, K_U32, K_LOGLEVEL, K_COMMAND,
	K_FROM, K_URL, K_TEXT, K_TEMPLATE };

/* The longest reset_url: its link, token in, fits one line of mail. */
#define URL_MAX		900

static const struct key {
	const char	*name;
	enum kind	 kind;
	size_t		 off;
	uint32_t	 min, max;
	size_t		 text;	/* K_TEMPLATE: where the file's text goes */
} keys[] = {
	{ "socket",		K_PATH_SOCKET,	offsetof(struct config, socket_path), 0, 0 },
	{ "saslauthd_socket",	K_PATH_SOCKET,	offsetof(struct config, saslauthd_socket), 0, 1 },
	{ "dovecot_auth_socket", K_PATH_SOCKET,	offsetof(struct config, dovecot_auth_socket), 0, 1 },
	{ "database",		K_PATH_DB,	offsetof(struct config, db_path), 0, 0 },
	{ "admin_group",	K_GROUP,	offsetof(struct config, admin_group), 0, 0 },
	{ "auth_group",		K_GROUP,	offsetof(struct config, auth_group), 0, 0 },
	{ "argon2_memory_kib",	K_U32, offsetof(struct config, argon2_m), 8, ACCTD_ARGON2_MAX_M },
	{ "argon2_time",	K_U32, offsetof(struct config, argon2_t), 1, ACCTD_ARGON2_MAX_T },
	{ "argon2_parallelism",	K_U32, offsetof(struct config, argon2_p), 1, ACCTD_ARGON2_MAX_P },
	{ "password_min_length", K_U32, offsetof(struct config, pw_min), 1, 4096 },
	{ "password_max_length", K_U32, offsetof(struct config, pw_max), 1, 4096 },
	{ "hash_workers",	K_U32, offsetof(struct config, hash_workers), 0, 256 },
	{ "hash_queue",		K_U32, offsetof(struct config, hash_queue), 0, 100000 },
	{ "max_connections",	K_U32, offsetof(struct config, max_conn), 1, 100000 },
	{ "max_connections_per_uid", K_U32, offsetof(struct config, max_conn_uid), 1, 100000 },
	{ "idle_timeout",	K_U32, offsetof(struct config, idle_timeout), 1, 86400 },
	{ "frame_timeout",	K_U32, offsetof(struct config, frame_timeout), 1, 3600 },
	{ "log_level",		K_LOGLEVEL, offsetof(struct config, log_level), 0, 0 },
	{ "lockout_failures",	K_U32, offsetof(struct config, lockout_failures), 1, 100 },
	{ "source_lockout_failures", K_U32, offsetof(struct config, source_lockout_failures), 1, 100 },
	{ "lockout_base",	K_U32, offsetof(struct config, lockout_base), 1, 86400 },
	{ "lockout_max",	K_U32, offsetof(struct config, lockout_max), 1, 604800 },
	{ "audit_retention_days", K_U32, offsetof(struct config, audit_retention_days), 0, 36500 },
	{ "session_lifetime",	K_U32, offsetof(struct config, session_lifetime), 60, 10 * 366 * 86400 },
	{ "sendmail_command",	K_COMMAND, offsetof(struct config, sendmail_command), 0, 0 },
	{ "mail_from",		K_FROM, offsetof(struct config, mail_from), 0, 0 },
	{ "site_name",		K_TEXT, offsetof(struct config, site_name), 0, 0 },
	{ "reset_template",	K_TEMPLATE, offsetof(struct config, reset_template), 0, 0,
	  offsetof(struct config, reset_text) },
	{ "activation_template", K_TEMPLATE, offsetof(struct config, activation_template), 0, 0,
	  offsetof(struct config, activation_text) },
	{ "reset_url",		K_URL, offsetof(struct config, reset_url), 0, 0 },
	{ "activation_url",	K_URL, offsetof(struct config, activation_url), 0, 0 },
	{ "mail_timeout",	K_U32, offsetof(struct config, mail_timeout), 1, 600 },
	{ "mail_queue",		K_U32, offsetof(struct config, mail_queue), 1, 100000 },
	{ "mail_wait",		K_U32, offsetof(struct config, mail_wait), 0, 60 },
	{ "reset_token_lifetime", K_U32, offsetof(struct config, reset_token_lifetime), 1, 30 * 86400 },
	{ "activation_token_lifetime", K_U32, offsetof(struct config, activation_token_lifetime), 1, 30 * 86400 },
	{ "reset_mail_interval", K_U32, offsetof(struct config, reset_mail_interval), 0, 86400 },
	{ "reset_mail_per_source", K_U32, offsetof(struct config, reset_mail_per_source), 0, 100000 },
	{ "password_max_age_days", K_U32, offsetof(struct config, password_max_age_days), 0, 36500 },
	{ "purge_deleted_after_days", K_U32, offsetof(struct config, purge_deleted_after_days), 0, 36500 },
};

/* Read by every request on every thread, written on SIGHUP. */
static pthread_rwlock_t current_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct config current;
/* The same, as a snapshot a request holds for its whole run: shared,
 * not copied, and freed by the last holder after a reload. */
struct held {
	struct config	 c;
	_Atomic unsigned refs;
};
static struct held *current_held;

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->socket_path, ACCTD_DEFAULT_SOCKET, sizeof(c->socket_path));
	strlcpy(c->db_path, ACCTD_DEFAULT_DB, sizeof(c->db_path));
	strlcpy(c->admin_group, "acctadm", sizeof(c->admin_group));
	strlcpy(c->auth_group, "acctauth", sizeof(c->auth_group));
	c->argon2_m = 65536;
	c->argon2_t = 3;
	c->argon2_p = 1;
	c->pw_min = 8;
	c->pw_max = 256;
	c->hash_workers = 0;
	c->hash_queue = 64;
	c->max_conn = 256;
	c->max_conn_uid = 32;
	c->idle_timeout = 60;
	c->frame_timeout = 10;
	c->log_level = LOG_LVL_INFO;
	c->lockout_failures = 5;
	c->source_lockout_failures = 20;
	c->lockout_base = 30;
	c->lockout_max = 900;
	c->audit_retention_days = 90;
	c->session_lifetime = 14 * 86400;
	strlcpy(c->sendmail_command, "/usr/sbin/sendmail -t -i -f {from}",
	    sizeof(c->sendmail_command));
	c->mail_timeout = 30;
	c->mail_queue = 100;
	c->mail_wait = 5;
	c->reset_token_lifetime = 86400;
	c->activation_token_lifetime = 2 * 86400;
	c->reset_mail_interval = 300;
	c->reset_mail_per_source = 20;
}

/* Printable ASCII without spaces: URLs and addresses in mail headers. */
static bool
printable_word(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 0x7f)
			return false;
	return true;
}

static int
set_text(const struct key *k, char *dst, size_t cap, const char *val,
    char *why, size_t whysz)
{
	if (strlen(val) >= cap) {
		snprintf(why, whysz, "must be shorter than %zu bytes", cap);
		return -1;
	}
	switch (k->kind) {
	case K_COMMAND:
		if (val[0] != '/' || strpbrk(val, "\r\n\t") != NULL) {
			snprintf(why, whysz, "must be an absolute path to a "
			    "sendmail-compatible program, then its arguments");
			return -1;
		}
		break;
	default:	/* K_URL */
		if (val[0] != '\0' && (!printable_word(val) ||
		    strstr(val, "{token}") == NULL)) {
			snprintf(why, whysz, "must be a URL without spaces "
			    "that contains {token}");
			return -1;
		}
		if (strlen(val) > URL_MAX) {
			snprintf(why, whysz, "must be at most %d bytes, so "
			    "that the link fits one line of mail", URL_MAX);
			return -1;
		}
		break;
	}
	strlcpy(dst, val, cap);
	return 0;
}

/* Text a person reads in a mail header: UTF-8 without controls (C0,
 * DEL, C1), so that it can neither break a header nor fake one. */
static bool
header_text_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (!text_utf8_valid(s, strlen(s)))
		return false;
	for (; *u != '\0'; u++)
		if (*u < 0x20 || *u == 0x7f ||
		    (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f))
			return false;
	return true;
}

/*
 * mail_from: an address, or a display name and the address in angle
 * brackets (RFC 5322's name-addr), the name perhaps in double quotes.
 */
static int
set_from(struct config *c, const char *val, char *why, size_t whysz)
{
	char name[sizeof(c->mail_from_name)], addr[sizeof(c->mail_from_addr)];
	char err[200];
	const char *lt = strrchr(val, '<');
	size_t n = strlen(val), nl;

	if (n >= sizeof(c->mail_from)) {
		snprintf(why, whysz, "must be shorter than %zu bytes",
		    sizeof(c->mail_from));
		return -1;
	}
	name[0] = '\0';
	if (lt != NULL && val[n - 1] == '>') {
		for (nl = (size_t)(lt - val); nl > 0 && (val[nl - 1] == ' ' ||
		    val[nl - 1] == '\t'); nl--)
			;
		snprintf(addr, sizeof(addr), "%.*s",
		    (int)(n - 1 - (size_t)(lt + 1 - val)), lt + 1);
		/* "A \"B\" C" -> A "B" C */
		if (nl >= 2 && val[0] == '"' && val[nl - 1] == '"') {
			size_t o = 0;
			for (size_t i = 1; i < nl - 1 && o + 1 < sizeof(name);
			    i++) {
				if (val[i] == '\\' && i + 1 < nl - 1)
					i++;
				name[o++] = val[i];
			}
			name[o] = '\0';
		} else
			snprintf(name, sizeof(name), "%.*s", (int)nl, val);
	} else
		strlcpy(addr, val, sizeof(addr));
	if (val[0] != '\0' && (!header_text_ok(name) ||
	    validate_email(addr, err, sizeof(err)) == -1)) {
		snprintf(why, whysz, "must be an email address, or a name and "
		    "the address in angle brackets, as in Example Photos "
		    "<photos@example.org>");
		return -1;
	}
	strlcpy(c->mail_from, val, sizeof(c->mail_from));
	strlcpy(c->mail_from_name, val[0] != '\0' ? name : "",
	    sizeof(c->mail_from_name));
	strlcpy(c->mail_from_addr, val[0] != '\0' ? addr : "",
	    sizeof(c->mail_from_addr));
	return 0;
}

/*
 * A mail template: read now (at start and on SIGHUP) and checked, so
 * that a broken one is a configuration error and never a broken mail.
 */
static int
set_template(char *path, size_t pathsz, char *text, const char *val,
    char *why, size_t whysz)
{
	char reason[256];
	size_t n, o = 0;

	if (val[0] == '\0') {
		path[0] = text[0] = '\0';
		return 0;
	}
	if (val[0] != '/' || strlen(val) >= pathsz) {
		snprintf(why, whysz, "must be an absolute path shorter than "
		    "%zu bytes", pathsz);
		return -1;
	}
	/* Its words are mailed to whoever asks for a link: a symbolic link
	 * is not followed, so that no one who can plant one beside it can
	 * have another file mailed out. acctd.conf names the real file. */
	if (file_read_small(val, 0, text, MAILTEXT_MAX - 1, &n, why,
	    whysz) == -1)
		return -1;
	/* Lines ended CR LF, as some editors write them, end LF. */
	for (size_t i = 0; i < n; i++)
		if (text[i] != '\r' || i + 1 >= n || text[i + 1] != '\n')
			text[o++] = text[i];
	text[o] = '\0';
	if (memchr(text, '\0', o) != NULL)
		strlcpy(reason, "holds a NUL byte", sizeof(reason));
	else if (mailtext_check(text, reason, sizeof(reason)) == 0) {
		strlcpy(path, val, pathsz);
		return 0;
	}
	snprintf(why, whysz, "%s: %s", val, reason);
	text[0] = '\0';
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
set_u32(const struct key *k, uint32_t *dst, const char *val)
{
	char *end;
	unsigned long long v;

	if (*val < '0' || *val > '9')
		return -1;
	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno != 0 || *end != '\0' || v < k->min || v > k->max)
		return -1;
	*dst = (uint32_t)v;
	return 0;
}

static int
set_key(struct config *c, const struct key *k, const char *val,
    char *why, size_t whysz)
{
	char *dst = (char *)c + k->off;
	size_t cap;

	switch (k->kind) {
	case K_PATH_SOCKET:
	case K_PATH_DB:
		cap = k->kind == K_PATH_SOCKET ? sizeof(c->socket_path) :
		    sizeof(c->db_path);
		/* max 1: may be empty, for off */
		if (k->max == 1 && val[0] == '\0') {
			dst[0] = '\0';
			return 0;
		}
		if (val[0] != '/' || strlen(val) >= cap) {
			snprintf(why, whysz, "must be an absolute path "
			    "shorter than %zu bytes", cap);
			return -1;
		}
		strlcpy(dst, val, cap);
		return 0;
	case K_GROUP:
		if (val[0] == '\0' || strlen(val) >= sizeof(c->admin_group)) {
			snprintf(why, whysz, "must be a group name or gid");
			return -1;
		}
		strlcpy(dst, val, sizeof(c->admin_group));
		return 0;
	case K_U32:
		if (set_u32(k, (uint32_t *)(void *)dst, val) == -1) {
			snprintf(why, whysz, "must be a whole number from "
			    "%u to %u", k->min, k->max);
			return -1;
		}
		return 0;
	case K_COMMAND:
		return set_text(k, dst, sizeof(c->sendmail_command), val, why,
		    whysz);
	case K_FROM:
		return set_from(c, val, why, whysz);
	case K_URL:
		return set_text(k, dst, sizeof(c->reset_url), val, why, whysz);
	case K_TEXT:
		if (strlen(val) >= sizeof(c->site_name) ||
		    !header_text_ok(val)) {
			snprintf(why, whysz, "must be text without control "
			    "characters, shorter than %zu bytes",
			    sizeof(c->site_name));
			return -1;
		}
		strlcpy(dst, val, sizeof(c->site_name));
		return 0;
	case K_TEMPLATE:
		return set_template(dst, sizeof(c->reset_template),
		    (char *)c + k->text, val, why, whysz);
	case K_LOGLEVEL: {
		enum log_level l;
		if (log_level_parse(val, &l) == -1) {
			snprintf(why, whysz, "must be error, warning, info "
			    "or debug");
			return -1;
		}
		c->log_level = (int)l;
		return 0;
	}
	}
	return -1;
}

static int
parse_line(struct config *c, char *line, char *why, size_t whysz)
{
	char *eq, *key, *val;
	size_t n;

	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(why, whysz, "expected 'key = value'");
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	n = strlen(val);
	/* A lone quote is a typo that would otherwise become part of the
	 * value (a path, a name), unseen until it fails far away. */
	{
		size_t q = 0;

		for (const char *p = val; *p != '\0'; p++)
			q += *p == '"';
		if (q % 2 != 0) {
			snprintf(why, whysz, "%s: unbalanced double quote", key);
			return -1;
		}
	}
	if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
		val[n - 1] = '\0';
		val++;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].name, key) == 0) {
			if (set_key(c, &keys[i], val, why, whysz) == -1) {
				char tmp[512];
				strlcpy(tmp, why, sizeof(tmp));
				snprintf(why, whysz, "%s %.440s", keys[i].name,
				    tmp);
				return -1;
			}
			return 0;
		}
	snprintf(why, whysz, "unknown key '%.64s'", key);
	return -1;
}

int
config_parse(struct config *c, const char *name, const char *text,
    char *err, size_t errsz)
{
	char *copy, *line, *next, why[512];
	int lineno = 0, rc = 0;

	if ((copy = strdup(text)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		return -1;
	}
	for (line = copy; line != NULL && rc == 0; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *s = trim(line);
		if (*s == '\0')
			continue;
		if (parse_line(c, s, why, sizeof(why)) == -1) {
			snprintf(err, errsz, "%s:%d: %s", name, lineno, why);
			rc = -1;
		}
	}
	free(copy);
	if (rc == 0 && c->pw_min > c->pw_max) {
		snprintf(err, errsz, "%s: password_min_length is greater "
		    "than password_max_length", name);
		rc = -1;
	}
	if (rc == 0 && c->lockout_base > c->lockout_max) {
		snprintf(err, errsz, "%s: lockout_base is greater than "
		    "lockout_max", name);
		rc = -1;
	}
	if (rc == 0 && c->argon2_m < 8 * c->argon2_p) {
		snprintf(err, errsz, "%s: argon2_memory_kib must be at least "
		    "8 x argon2_parallelism", name);
		rc = -1;
	}
	return rc;
}

int
config_load(struct config *c, const char *path, bool required,
    char *err, size_t errsz)
{
	char *text;
	size_t n;
	int rc;

	config_defaults(c);
	if ((text = malloc(CONFIG_MAX_SIZE + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	/* A link is followed: /etc/acctd/acctd.conf may well be one, to
	 * where configuration management keeps it. /dev/null stands for
	 * no settings at all. */
	if (file_read_small(path, FILE_FOLLOW | FILE_NULL_OK, text,
	    CONFIG_MAX_SIZE, &n, err, errsz) == -1)
		rc = errno == ENOENT && !required ? 0 : -1;
	else if (memchr(text, '\0', n) != NULL) {
		snprintf(err, errsz, "%s: contains a NUL byte", path);
		rc = -1;
	} else
		rc = config_parse(c, path, text, err, errsz);
	free(text);
	return rc;
}

static const char *
level_name(int l)
{
	static const char *const names[] = { "error", "warning", "info",
	    "debug" };

	return l >= 0 && l < 4 ? names[l] : "?";
}

/* Every key with its value in force: what acctd -t shows. */
void
config_print(FILE *f, const struct config *c)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		const char *v = (const char *)c + k->off;

		fprintf(f, "%s = ", k->name);
		switch (k->kind) {
		case K_U32:
			fprintf(f, "%u\n", *(const uint32_t *)(const void *)v);
			break;
		case K_LOGLEVEL:
			fprintf(f, "%s\n", level_name(c->log_level));
			break;
		case K_PATH_SOCKET:
		case K_PATH_DB:
		case K_GROUP:
		case K_COMMAND:
		case K_FROM:
		case K_URL:
		case K_TEXT:
		case K_TEMPLATE:	/* the file's path, not its text */
			fprintf(f, "%s\n", v);
			break;
		}
	}
}

/* A group given as digits is a gid; otherwise it is looked up by name. */
static bool
resolve_group(const char *key, const char *name, gid_t *gid)
{
	char *end, buf[4096];
	struct group gr, *res = NULL;
	unsigned long v;

	if (name[0] >= '0' && name[0] <= '9') {
		errno = 0;
		v = strtoul(name, &end, 10);
		if (errno == 0 && *end == '\0' && v < (gid_t)-1) {
			*gid = (gid_t)v;
			return true;
		}
	}
	/* Not all digits: a name, even one that starts with a digit. */
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 &&
	    res != NULL) {
		*gid = res->gr_gid;
		return true;
	}
	log_warn("%s '%s' is not a known group: that class has no members",
	    key, name);
	return false;
}

bool
config_resolve_groups(struct config *c)
{
	c->admin_gid_ok = resolve_group("admin_group", c->admin_group,
	    &c->admin_gid);
	c->auth_gid_ok = resolve_group("auth_group", c->auth_group,
	    &c->auth_gid);
	return c->admin_gid_ok && c->auth_gid_ok;
}

void
config_group_name(const char *value, char *buf, size_t bufsz)
{
	char *end, tmp[4096];
	struct group gr, *res = NULL;
	unsigned long v;

	strlcpy(buf, value, bufsz);
	if (value[0] < '0' || value[0] > '9')
		return;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno == 0 && *end == '\0' && v < (gid_t)-1 &&
	    getgrgid_r((gid_t)v, &gr, tmp, sizeof(tmp), &res) == 0 &&
	    res != NULL)
		strlcpy(buf, res->gr_name, bufsz);
}

void
config_set_current(const struct config *c)
{
	struct held *h = malloc(sizeof(*h)), *old;

	if (h != NULL) {
		h->c = *c;
		h->refs = 1;
	}
	pthread_rwlock_wrlock(&current_lock);
	current = *c;
	old = current_held;
	/* Out of memory: requests copy the config instead. */
	current_held = h;
	pthread_rwlock_unlock(&current_lock);
	if (old != NULL)
		config_release(&old->c);
}

const struct config *
config_hold(void)
{
	struct held *h;

	pthread_rwlock_rdlock(&current_lock);
	if ((h = current_held) != NULL)
		h->refs++;
	pthread_rwlock_unlock(&current_lock);
	if (h == NULL && (h = malloc(sizeof(*h))) != NULL) {
		config_current(&h->c);
		h->refs = 1;
	}
	return h != NULL ? &h->c : NULL;
}

void
config_release(const struct config *c)
{
	struct held *h = (struct held *)(uintptr_t)c;

	/* c is the first member: h has c's address. */
	if (h != NULL && --h->refs == 0)
		free(h);
}

void
config_current(struct config *out)
{
	pthread_rwlock_rdlock(&current_lock);
	*out = current;
	pthread_rwlock_unlock(&current_lock);
}

void
config_timeouts(int *idle_ms, int *frame_ms)
{
	pthread_rwlock_rdlock(&current_lock);
	*idle_ms = (int)current.idle_timeout * 1000;
	*frame_ms = (int)current.frame_timeout * 1000;
	pthread_rwlock_unlock(&current_lock);
}
