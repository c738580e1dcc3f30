/*
 * errors.c: the one mapping from error codes to stable names and messages.
 */
#include "proto.h"

static const struct {
	int		 code;
	const char	*name;
	const char	*msg;
} errtab[] = {
	{ ACCT_OK,		  "ok",			"success" },
	{ ACCT_ERR_INTERNAL,	  "internal",		"internal error" },
	{ ACCT_ERR_PROTOCOL,	  "protocol",		"malformed message" },
	{ ACCT_ERR_VERSION,	  "version",		"unsupported protocol version" },
	{ ACCT_ERR_UNKNOWN_OP,	  "unknown_operation",	"unknown operation" },
	{ ACCT_ERR_INVALID,	  "invalid_argument",	"invalid argument" },
	{ ACCT_ERR_DENIED,	  "permission_denied",	"permission denied" },
	{ ACCT_ERR_NOT_FOUND,	  "not_found",		"no such account" },
	{ ACCT_ERR_EXISTS,	  "exists",		"already exists" },
	{ ACCT_ERR_DELETED,	  "deleted_exists",	"a deleted account has that name" },
	{ ACCT_ERR_AUTH_FAILED,	  "auth_failed",	"authentication failed" },
	{ ACCT_ERR_BUSY,	  "busy",		"server busy, try again later" },
	{ ACCT_ERR_STORAGE,	  "storage",		"database error" },
	{ ACCT_ERR_INVALID_TOKEN, "invalid_token",	"invalid token" },
	{ ACCT_ERR_POLICY,	  "password_policy",	"password refused by policy" },
	{ ACCT_ERR_CONFIRM,	  "confirmation_required", "confirmation required" },
	{ ACCT_ERR_UNAVAILABLE,	  "unavailable",	"service shutting down" },
	{ ACCT_ERR_NOT_CONFIGURED, "not_configured",	"not configured on this host" },
	{ ACCT_ERR_CODE_REQUIRED, "code_required",	"a two-factor code is required" },
	{ ACCT_ERR_MAIL_FAILED,	  "mail_failed",	"the mail could not be sent" },
	{ ACCT_ERR_CONNECT,	  "connect",		"cannot reach acctd" },
	{ ACCT_ERR_IO,		  "io",			"connection to acctd lost" },
	{ ACCT_ERR_NOMEM,	  "nomem",		"out of memory" },
	{ ACCT_ERR_UNTRUSTED,	  "untrusted_server",	"the socket is not served by root" },
};

static int
lookup(int code)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].code == code)
			return (int)i;
	return -1;
}

const char *
acct_errname(int code)
{
	int i = lookup(code);

	return i < 0 ? "unknown_error" : errtab[i].name;
}

const char *
acct_strerror(int code)
{
	int i = lookup(code);

	return i < 0 ? "unknown error" : errtab[i].msg;
}
