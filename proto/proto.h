/*
 * proto.h: the acctd wire protocol, shared by the daemon, libacct and acctc.
 * Operations, fields, limits and error codes live here and nowhere else.
 */
#ifndef ACCT_PROTO_H
#define ACCT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "acct.h"	/* error codes: public, shared with libacct users */

/* Bump PROTO_VERSION whenever a change breaks an existing client. */
#define PROTO_VERSION		1
#define PROTO_HDR_LEN		4		/* big-endian payload length */
#define PROTO_MAX_REQUEST	(64 * 1024)	/* largest request payload */
#define PROTO_MAX_REPLY		(16 * 1024 * 1024) /* largest reply payload */
#define PROTO_MAX_DEPTH		4		/* nesting of maps/arrays */
#define PROTO_MAX_ARGS		32		/* keys in an args map */


/* Argument types. */
enum proto_type {
	PT_STR,		/* UTF-8 text, no NUL bytes */
	PT_SECRET,	/* like PT_STR, wiped when freed, never logged */
	PT_INT,		/* signed 64-bit, non-negative on the wire */
	PT_BOOL,
};

/* Every argument any operation takes. Order is not part of the wire. */
enum proto_field {
	F_USERNAME,
	F_PASSWORD,		/* current password */
	F_NEW_PASSWORD,
	F_NAME,			/* display name */
	F_EMAIL,
	F_ROLE,
	F_AUTH_PROVIDER,
	F_AUTH_ID,
	F_SUPERADMIN,
	F_LOGIN,		/* login allowed */
	F_WEBDAV,
	F_UPLOAD_PATH,
	F_DISABLE_2FA,
	F_SEARCH,
	F_RESTORE,
	F_CONFIRM,
	F_REMOVE,		/* passwd: remove the password */
	F_LIMIT,
	F_OFFSET,
	F_SERVICE,		/* login: the calling service or realm */
	F_REMOTE_ADDR,		/* login: the end user's address, as reported */
	F_UNLOCK,		/* user_mod: clear failures and lock */
	F_TOKEN,		/* a token or app password, id_secret */
	F_SESSION,		/* login: also create a session */
	F_SCOPE,		/* space-separated services, or "*" */
	F_LIFETIME,		/* seconds; 0 or absent: default/never */
	F_TYPE,			/* token type */
	F_ID,			/* public id of a token or client */
	F_CLIENT_ID,
	F_CLIENT_SECRET,
	F_ACTIVATE,		/* user_add: pending until a mailed token */
	F_CODE,			/* a TOTP code or a recovery code */
	F_LEGACY,		/* user_list: only hashes not yet upgraded */
	F_DATA,			/* user_import: the file's text */
	F_EXPIRES_AT,		/* unix seconds; 0: never */
	F_PASSWORD_MAX_AGE,	/* days, "never" or "default" */
	F_MUST_CHANGE,		/* the next login must change the password */
	F_FILTER,		/* user_list: locked, pending, disabled, deleted */
	F_CLEAR,		/* audit_locks: clear, not list */
	F_PURGE,		/* user_rm: erase the row, not just mark it */
	F_FIRST_LINE,		/* user_import: the file's line data starts at */
	F_COLUMNS,		/* user_import: the CSV header data is under */
	F_DRY_RUN,		/* check, change nothing: user_import, passwd... */
	F_EXACT_NAME,		/* login: the username exactly, as a service knows it */
	F_NO_CODE,		/* login: no second factor can be asked for */
	F_REAL_UID,		/* login: the real uid a setuid-root caller acts for */
	F__COUNT
};

/* Members in the order of schema.c's positional table, padding and all. */
/* NOLINTNEXTLINE(clang-analyzer-optin.performance.Padding) */
struct proto_field_def {
	const char	*name;
	enum proto_type	 type;
	size_t		 max;	/* bytes for strings, value for ints */
	/* Context a client reports (service, remote address): a longer
	 * string is cut to max bytes at a character boundary, not refused,
	 * so a right password never fails for it. */
	bool		 clamp;
};

extern const struct proto_field_def proto_fields[F__COUNT];

/* Operations. */
enum proto_op {
	OP_HELLO,
	OP_USER_ADD,
	OP_USER_SHOW,
	OP_USER_LIST,
	OP_USER_MOD,
	OP_USER_RM,
	OP_USERS_RESET,
	OP_PASSWD,
	OP_LOGIN,
	OP_AUDIT_LOGINS,
	OP_AUDIT_RESET,
	OP_TOKEN_ADD,
	OP_TOKEN_VALIDATE,
	OP_TOKEN_LIST,
	OP_TOKEN_SHOW,
	OP_TOKEN_REVOKE,
	OP_TOKENS_RESET,
	OP_CLIENT_VERIFY,
	OP_PASSWORD_FORGOT,
	OP_PASSWORD_RESET,
	OP_USER_RESET_PASSWORD,
	OP_SESSION_ADD,
	OP_TOTP_ENROLL,
	OP_TOTP_CONFIRM,
	OP_USER_IMPORT,
	OP_AUDIT_LOCKS,
	OP_DB_BACKUP,
	OP_AUDIT_EVENTS,
	OP_STATS,
	OP__COUNT
};

#define FB(f)	(UINT64_C(1) << (f))

struct proto_op_def {
	const char	*name;
	uint64_t	 allowed;	/* FB() of fields it accepts */
	uint64_t	 required;	/* FB() of fields it needs */
};

extern const struct proto_op_def proto_ops[OP__COUNT];

/* Who may do what a permission_denied refused: its error's "needs",
 * so that a client can say the way out in its own words. */
enum proto_needs {
	PROTO_NEEDS_NONE,
	PROTO_NEEDS_ADMIN,	/* an admin */
	PROTO_NEEDS_AUTH,	/* an admin or an authenticator */
	PROTO_NEEDS_SELF,	/* an admin, or the caller on its own account */
	PROTO_NEEDS_ACCOUNT,	/* an account named like the caller's login */
	PROTO_NEEDS__COUNT
};
extern const char *const proto_needs[PROTO_NEEDS__COUNT];

int proto_op_lookup(const char *name, size_t len);	/* -1 if unknown */

/* A decoded argument value. Strings are NUL-terminated copies. */
struct proto_value {
	char		*str;
	size_t		 len;
	int64_t		 i;
	bool		 b;
};

struct proto_request {
	uint64_t		 id;
	enum proto_op		 op;
	uint64_t		 present;	/* FB() of fields given */
	struct proto_value	 arg[F__COUNT];
};

#define PROTO_HAS(req, f)	(((req)->present & FB(f)) != 0)

/* A string argument, or dflt when the request does not give it. */
static inline const char *
proto_str_or(const struct proto_request *req, enum proto_field f,
    const char *dflt)
{
	return PROTO_HAS(req, f) ? req->arg[f].str : dflt;
}

/*
 * Decode and validate one request payload (without the length header).
 * On failure returns an ACCT_ERR_* code, fills msg with a reason that
 * never quotes argument values, and leaves *req empty but safe to free.
 * The request id is recovered into *req->id when it could be read, so
 * the error reply can still name it.
 */
int	proto_request_decode(const void *buf, size_t len,
	    struct proto_request *req, char *msg, size_t msgsz);
void	proto_request_free(struct proto_request *req);	/* wipes secrets */

/*
 * Build messages. A proto_msg owns a buffer and a packer; callers pack
 * the body of a map (key, value, key, value ...) and count the pairs
 * with proto_msg_kv(). proto_*_finish() prepend header and envelope.
 */
struct proto_msg {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	bool		 failed;	/* out of memory: finish() refuses */
	msgpack_packer	 pk;
	uint32_t	 npairs;
};

void	proto_msg_init(struct proto_msg *m);
void	proto_msg_free(struct proto_msg *m);	/* wipes the buffer */
void	proto_pack_cstr(msgpack_packer *pk, const char *s);
/* Add one key with a scalar value to the top-level body map. */
void	proto_kv_str(struct proto_msg *m, const char *key, const char *val);
void	proto_kv_int(struct proto_msg *m, const char *key, int64_t val);
void	proto_kv_bool(struct proto_msg *m, const char *key, bool val);
void	proto_kv_nil(struct proto_msg *m, const char *key);
/* The same keyed by schema field, so that clients spell no name. */
void	proto_kv_str_f(struct proto_msg *m, enum proto_field f,
	    const char *val);
void	proto_kv_int_f(struct proto_msg *m, enum proto_field f, int64_t val);
void	proto_kv_bool_f(struct proto_msg *m, enum proto_field f, bool val);
/* Append bytes that are already MessagePack (built in another msg). */
void	proto_msg_raw(struct proto_msg *m, const void *data, size_t len);
/* Add a key and return the packer so the caller packs one value. */
msgpack_packer *proto_kv_begin(struct proto_msg *m, const char *key);

/*
 * Finish into a framed buffer (header + payload) in *out, which the
 * caller frees with proto_frame_free(). A request's body is its args.
 */
struct proto_frame {
	uint8_t	*data;
	size_t	 len;
};
int	proto_request_finish(struct proto_msg *args, uint64_t id,
	    const char *op, struct proto_frame *out);
int	proto_reply_finish(struct proto_msg *result, uint64_t id,
	    struct proto_frame *out);
int	proto_error_finish(uint64_t id, int code, const char *message,
	    struct proto_frame *out);
/* The same with more string keys in the error map: kv holds key, value,
 * ..., NULL. */
int	proto_error_finish_kv(uint64_t id, int code, const char *message,
	    const char *const *kv, struct proto_frame *out);
void	proto_frame_free(struct proto_frame *f);	/* wipes */

/*
 * Decode a reply payload, taking ownership of buf (malloc'd; freed by
 * proto_reply_free() whatever the outcome). On success rep->code is
 * ACCT_OK and rep->result is the result map, or rep->code is the
 * daemon's error and rep->message its text. Returns ACCT_ERR_PROTOCOL
 * if the reply is malformed.
 */
struct proto_reply {
	void			*raw;	/* the payload; strings point into it */
	size_t			 rawlen;
	msgpack_unpacked	 un;
	uint64_t		 id;
	int			 code;
	const msgpack_object	*result;	/* map, when code == ACCT_OK */
	const msgpack_object	*error;		/* map, when it is not */
	char			 message[256];
};
int	proto_reply_decode(void *buf, size_t len, struct proto_reply *rep);
void	proto_reply_free(struct proto_reply *rep);

/* Look up a key in a msgpack map object; NULL if absent or not a map. */
const msgpack_object *proto_map_get(const msgpack_object *map, const char *key);

/*
 * Walk an encoded msgpack value and check that it is well formed, that
 * every declared length fits in the remaining bytes and that nesting
 * stays within max_depth. Done before msgpack-c sees the bytes, so a
 * 5-byte header claiming 2^32 elements cannot make it reserve memory.
 */
int	proto_prescan(const void *buf, size_t len, int max_depth);

/* Length header helpers. */
void	proto_put_len(uint8_t hdr[PROTO_HDR_LEN], uint32_t len);
uint32_t proto_get_len(const uint8_t hdr[PROTO_HDR_LEN]);

#endif
