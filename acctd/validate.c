/*
 * validate.c: the rules for every user-supplied account property, each
 * with a message that states the rule (and never echoes a secret).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "acctd.h"

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
validate_username(char *name, char *err, size_t errsz)
{
	size_t n = strlen(name);

	lower(name);
	if (n < 1 || n > 64)
		goto bad;
	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= '0' && name[0] <= '9')))
		goto bad;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '@'))
			goto bad;
	}
	return 0;
bad:
	snprintf(err, errsz, "invalid username: use 1-64 characters: "
	    "lowercase letters, digits, '.', '_', '-' or '@', starting with "
	    "a letter or digit");
	return -1;
}

/*
 * Upper case is refused, not folded, and no email address stands in:
 * the service would otherwise know one account under several names,
 * one of them perhaps another account's. root never: a service that
 * maps names to Unix users must not let an account of acctd's be root.
 */
bool
validate_service_name(const char *name)
{
	char copy[65], err[8];
	size_t n = strlen(name);

	if (n < 1 || n >= sizeof(copy) || strcmp(name, "root") == 0)
		return false;
	memcpy(copy, name, n + 1);
	return validate_username(copy, err, sizeof(err)) == 0 &&
	    strcmp(copy, name) == 0;
}

/* Characters RFC 5322 allows unquoted in the local part ("atext" + '.'). */
static bool
local_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

static bool
domain_ok(const char *d)
{
	size_t label = 0;
	bool dot = false;

	if (*d == '\0' || *d == '.' || *d == '-')
		return false;
	for (const char *p = d; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			dot = true;
		} else if ((*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-') {
			if (++label > 63)
				return false;
		} else
			return false;
	}
	return dot && label > 0 && d[strlen(d) - 1] != '-';
}

int
validate_email(char *email, char *err, size_t errsz)
{
	char *at;
	size_t n = strlen(email);

	lower(email);
	at = strchr(email, '@');
	if (n > 254 || at == NULL || strchr(at + 1, '@') != NULL ||
	    at == email || at - email > 64 || email[0] == '.' ||
	    at[-1] == '.' || strstr(email, "..") != NULL)
		goto bad;
	for (const char *p = email; p < at; p++)
		if (!local_char(*p))
			goto bad;
	if (!domain_ok(at + 1))
		goto bad;
	return 0;
bad:
	snprintf(err, errsz, "invalid email address: expected "
	    "name@example.org, at most 254 characters, no spaces or quotes");
	return -1;
}

static int
one_of(const char *what, const char *s, const char *const *set,
    const char *list, char *err, size_t errsz)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return 0;
	snprintf(err, errsz, "invalid %s: must be one of %s", what, list);
	return -1;
}

int
validate_role(const char *role, char *err, size_t errsz)
{
	static const char *const roles[] = {
		"admin", "user", "viewer", "guest", NULL
	};

	return one_of("role", role, roles, "admin, user, viewer, guest",
	    err, errsz);
}

int
validate_provider(const char *p, char *err, size_t errsz)
{
	static const char *const providers[] = {
		"default", "local", "oidc", "none", NULL
	};

	return one_of("auth provider", p, providers,
	    "default, local, oidc, none", err, errsz);
}

/*
 * No C0 controls, DEL or C1 controls (U+0080..U+009F, which UTF-8
 * writes as C2 80..C2 9F; U+009B is a terminal escape). The protocol
 * decoder has already refused invalid UTF-8.
 */
int
validate_text(const char *what, const char *s, char *err, size_t errsz)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
			snprintf(err, errsz, "invalid %s: control characters "
			    "are not allowed", what);
			return -1;
		}
	return 0;
}

int
validate_password(const struct config *c, const char *pw, size_t len,
    char *err, size_t errsz)
{
	(void)pw;
	if (len < c->pw_min || len > c->pw_max) {
		snprintf(err, errsz, "password must be %u to %u bytes long",
		    c->pw_min, c->pw_max);
		return -1;
	}
	return 0;
}

/* A token's or session's scope: service names separated by spaces, or *. */
int
validate_scope(const char *scope, char *err, size_t errsz)
{
	if (validate_text("scope", scope, err, errsz) == -1)
		return -1;
	if (strspn(scope, " ") == strlen(scope)) {
		snprintf(err, errsz, "invalid scope: give service names "
		    "separated by spaces, or *");
		return -1;
	}
	return 0;
}
