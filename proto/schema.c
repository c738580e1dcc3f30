/*
 * schema.c: the table of operations and argument fields. A request is
 * checked against these tables before any handler sees it.
 */
#include <string.h>

#include "proto.h"

const struct proto_field_def proto_fields[F__COUNT] = {
	[F_USERNAME]	  = { "username",      PT_STR,    254 },	/* or email */
	[F_PASSWORD]	  = { "password",      PT_SECRET, 4096 },
	[F_NEW_PASSWORD]  = { "new_password",  PT_SECRET, 4096 },
	[F_NAME]	  = { "name",          PT_STR,    200 },
	[F_EMAIL]	  = { "email",         PT_STR,    254 },
	[F_ROLE]	  = { "role",          PT_STR,    16 },
	[F_AUTH_PROVIDER] = { "auth_provider", PT_STR,    16 },
	[F_AUTH_ID]	  = { "auth_id",       PT_STR,    255 },
	[F_SUPERADMIN]	  = { "superadmin",    PT_BOOL,   0 },
	[F_LOGIN]	  = { "login",         PT_BOOL,   0 },
	[F_WEBDAV]	  = { "webdav",        PT_BOOL,   0 },
	[F_UPLOAD_PATH]	  = { "upload_path",   PT_STR,    1024 },
	[F_DISABLE_2FA]	  = { "disable_2fa",   PT_BOOL,   0 },
	[F_SEARCH]	  = { "search",        PT_STR,    128 },
	[F_RESTORE]	  = { "restore",       PT_BOOL,   0 },
	[F_CONFIRM]	  = { "confirm",       PT_BOOL,   0 },
	[F_REMOVE]	  = { "remove",        PT_BOOL,   0 },
	[F_LIMIT]	  = { "limit",         PT_INT,    10000 },
	[F_OFFSET]	  = { "offset",        PT_INT,    INT32_MAX },
	[F_SERVICE]	  = { "service",       PT_STR,    64, .clamp = true },
	[F_REMOTE_ADDR]	  = { "remote_addr",   PT_STR,    64, .clamp = true },
	[F_UNLOCK]	  = { "unlock",        PT_BOOL,   0 },
	[F_TOKEN]	  = { "token",         PT_SECRET, 256 },
	[F_SESSION]	  = { "session",       PT_BOOL,   0 },
	[F_SCOPE]	  = { "scope",         PT_STR,    256 },
	[F_LIFETIME]	  = { "lifetime",      PT_INT,    10 * 366 * 86400 },
	[F_TYPE]	  = { "type",          PT_STR,    16 },
	[F_ID]		  = { "id",            PT_STR,    64 },
	[F_CLIENT_ID]	  = { "client_id",     PT_STR,    64 },
	[F_CLIENT_SECRET] = { "client_secret", PT_SECRET, 256 },
	[F_ACTIVATE]	  = { "activate",      PT_BOOL,   0 },
	[F_CODE]	  = { "code",          PT_SECRET, 32 },
	[F_LEGACY]	  = { "legacy",        PT_BOOL,   0 },
	/* Fits a request frame with room for the envelope. */
	[F_DATA]	  = { "data",          PT_STR,    60000 },
	[F_EXPIRES_AT]	  = { "expires_at",    PT_INT,    INT64_C(1) << 40 },
	[F_PASSWORD_MAX_AGE] = { "password_max_age", PT_STR, 16 },
	[F_MUST_CHANGE]	  = { "must_change",   PT_BOOL,   0 },
	[F_FILTER]	  = { "filter",        PT_STR,    16 },
	[F_CLEAR]	  = { "clear",         PT_BOOL,   0 },
	[F_PURGE]	  = { "purge",         PT_BOOL,   0 },
	[F_FIRST_LINE]	  = { "first_line",    PT_INT,    INT32_MAX },
	[F_COLUMNS]	  = { "columns",       PT_STR,    1024 },
	[F_DRY_RUN]	  = { "dry_run",       PT_BOOL,   0 },
	[F_EXACT_NAME]	  = { "exact_name",    PT_BOOL,   0 },
	[F_NO_CODE]	  = { "no_code",       PT_BOOL,   0 },
	[F_REAL_UID]	  = { "real_uid",      PT_INT,    UINT32_MAX - 1 },
};

/* Fields that describe an account, settable by users add and users mod. */
#define ACCOUNT_FIELDS	(FB(F_NAME) | FB(F_EMAIL) | FB(F_ROLE) | \
	FB(F_AUTH_PROVIDER) | FB(F_AUTH_ID) | FB(F_SUPERADMIN) | \
	FB(F_LOGIN) | FB(F_WEBDAV) | FB(F_UPLOAD_PATH) | FB(F_EXPIRES_AT) | \
	FB(F_PASSWORD_MAX_AGE) | FB(F_MUST_CHANGE))

const char *const proto_needs[PROTO_NEEDS__COUNT] = {
	[PROTO_NEEDS_ADMIN]	= "admin",
	[PROTO_NEEDS_AUTH]	= "authenticator",
	[PROTO_NEEDS_SELF]	= "own_account",
	[PROTO_NEEDS_ACCOUNT]	= "account",
};

const struct proto_op_def proto_ops[OP__COUNT] = {
	[OP_HELLO]	 = { "hello", 0, 0 },
	[OP_USER_ADD]	 = { "user_add",
	    FB(F_USERNAME) | ACCOUNT_FIELDS | FB(F_NEW_PASSWORD) |
	    FB(F_RESTORE) | FB(F_ACTIVATE) | FB(F_ID) | FB(F_DISABLE_2FA),
	    FB(F_USERNAME) },
	[OP_USER_SHOW]	 = { "user_show", FB(F_USERNAME), FB(F_USERNAME) },
	[OP_USER_LIST]	 = { "user_list",
	    FB(F_SEARCH) | FB(F_LIMIT) | FB(F_OFFSET) | FB(F_LEGACY) |
	    FB(F_FILTER), 0 },
	[OP_USER_MOD]	 = { "user_mod",
	    FB(F_USERNAME) | ACCOUNT_FIELDS | FB(F_DISABLE_2FA) |
	    FB(F_UNLOCK) | FB(F_NEW_PASSWORD), FB(F_USERNAME) },
	/* id: which of several deleted accounts of the name to purge */
	[OP_USER_RM]	 = { "user_rm", FB(F_USERNAME) | FB(F_PURGE) | FB(F_ID),
	    FB(F_USERNAME) },
	[OP_USERS_RESET] = { "users_reset", FB(F_CONFIRM), FB(F_CONFIRM) },
	/* password: the current one; token: a session, for SSO accounts;
	 * dry_run: prove it and change nothing, before a prompt asks for
	 * the new one */
	[OP_PASSWD]	 = { "passwd",
	    FB(F_USERNAME) | FB(F_PASSWORD) | FB(F_NEW_PASSWORD) |
	    FB(F_REMOVE) | FB(F_TOKEN) | FB(F_REMOTE_ADDR) | FB(F_DRY_RUN),
	    0 },
	[OP_LOGIN]	 = { "login",
	    FB(F_USERNAME) | FB(F_PASSWORD) | FB(F_SERVICE) |
	    FB(F_REMOTE_ADDR) | FB(F_SESSION) | FB(F_SCOPE) | FB(F_LIFETIME) |
	    FB(F_CODE) | FB(F_EXACT_NAME) | FB(F_NO_CODE) | FB(F_REAL_UID),
	    FB(F_USERNAME) | FB(F_PASSWORD) },
	[OP_AUDIT_LOGINS] = { "audit_logins", FB(F_USERNAME) | FB(F_LIMIT) |
	    FB(F_OFFSET), 0 },
	[OP_AUDIT_RESET] = { "audit_reset", FB(F_CONFIRM), FB(F_CONFIRM) },
	[OP_TOKEN_ADD]	 = { "token_add",
	    FB(F_USERNAME) | FB(F_TYPE) | FB(F_NAME) | FB(F_SCOPE) |
	    FB(F_LIFETIME), FB(F_TYPE) },
	[OP_TOKEN_VALIDATE] = { "token_validate", FB(F_TOKEN) | FB(F_SERVICE),
	    FB(F_TOKEN) },
	[OP_TOKEN_LIST]	 = { "token_list", FB(F_SEARCH) | FB(F_TYPE) |
	    FB(F_LIMIT) | FB(F_OFFSET), 0 },
	[OP_TOKEN_SHOW]	 = { "token_show", FB(F_ID), FB(F_ID) },
	/* id, or the whole token when the id is not at hand */
	[OP_TOKEN_REVOKE] = { "token_revoke", FB(F_ID) | FB(F_TOKEN), 0 },
	[OP_TOKENS_RESET] = { "tokens_reset", FB(F_CONFIRM), FB(F_CONFIRM) },
	[OP_CLIENT_VERIFY] = { "client_verify",
	    FB(F_CLIENT_ID) | FB(F_CLIENT_SECRET) | FB(F_SCOPE),
	    FB(F_CLIENT_ID) | FB(F_CLIENT_SECRET) },
	/* remote_addr: the end user's, for the per-source mail limit */
	[OP_PASSWORD_FORGOT] = { "password_forgot", FB(F_EMAIL) |
	    FB(F_REMOTE_ADDR), FB(F_EMAIL) },
	/* dry_run: is the token good, without a new password or using it */
	[OP_PASSWORD_RESET] = { "password_reset",
	    FB(F_TOKEN) | FB(F_NEW_PASSWORD) | FB(F_DRY_RUN), FB(F_TOKEN) },
	[OP_USER_RESET_PASSWORD] = { "user_reset_password", FB(F_USERNAME),
	    FB(F_USERNAME) },
	/* A session for a user the caller authenticated itself (SSO). */
	[OP_SESSION_ADD] = { "session_add", FB(F_USERNAME) | FB(F_SCOPE) |
	    FB(F_LIFETIME) | FB(F_SERVICE), FB(F_USERNAME) },
	/* password: required of non-admins, as for passwd */
	[OP_TOTP_ENROLL] = { "totp_enroll", FB(F_USERNAME) | FB(F_PASSWORD) |
	    FB(F_REMOTE_ADDR), 0 },
	[OP_TOTP_CONFIRM] = { "totp_confirm", FB(F_USERNAME) | FB(F_CODE),
	    FB(F_CODE) },
	/* A piece of a file: where it starts, the CSV header it is under. */
	[OP_USER_IMPORT] = { "user_import", FB(F_DATA) | FB(F_FIRST_LINE) |
	    FB(F_COLUMNS) | FB(F_DRY_RUN), FB(F_DATA) },
	/* Locked and slowed sources; with clear, one (id) or all of them. */
	[OP_AUDIT_LOCKS] = { "audit_locks", FB(F_CLEAR) | FB(F_ID) |
	    FB(F_LIMIT) | FB(F_OFFSET), 0 },
	/* The file comes as a descriptor with the request, not a path. */
	[OP_DB_BACKUP]	 = { "db_backup", 0, 0 },
	/* The audit's other events: mail, passwords, accounts, tokens. */
	[OP_AUDIT_EVENTS] = { "audit_events", FB(F_SEARCH) | FB(F_LIMIT) |
	    FB(F_OFFSET), 0 },
	/* The daemon's counters since it started. */
	[OP_STATS]	 = { "stats", 0, 0 },
};

int
proto_op_lookup(const char *name, size_t len)
{
	for (int i = 0; i < OP__COUNT; i++)
		if (strlen(proto_ops[i].name) == len &&
		    memcmp(proto_ops[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Field sets are 64-bit masks. */
_Static_assert(F__COUNT <= 64, "too many fields for the FB() masks");
