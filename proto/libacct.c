/*
 * libacct.c: the public C API of libacct (acct.h), a thin layer over the
 * protocol client; arguments are packed by schema field, never by a name
 * spelled here. Only the acct_* names of acct.h are exported.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "client.h"

struct acct {
	struct acct_conn	*conn;
	char			 message[256];
	bool			 must_change;	/* of the last login */
};

const char *
acct_version(void)
{
	return ACCT_VERSION;
}

int
acct_open_ex(const struct acct_options *opt, acct_t **out)
{
	static const struct acct_options defaults;
	acct_t *a;
	int rc;

	*out = NULL;
	if (opt == NULL)
		opt = &defaults;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ACCT_ERR_NOMEM;
	rc = acct_conn_open(opt->path ? opt->path : ACCT_DEFAULT_SOCKET,
	    opt->server_uid, NULL, &a->conn);
	if (rc != ACCT_OK) {
		free(a);
		return rc;
	}
	acct_conn_set_timeout(a->conn, opt->timeout_ms);
	*out = a;
	return ACCT_OK;
}

int
acct_open(const char *path, acct_t **out)
{
	struct acct_options o = { .path = path };

	return acct_open_ex(&o, out);
}

void
acct_close(acct_t *a)
{
	if (a == NULL)
		return;
	acct_conn_close(a->conn);
	free(a);
}

bool
acct_must_change(const acct_t *a)
{
	return a->must_change;
}

const char *
acct_last_message(const acct_t *a)
{
	return a->message;
}

void
acct_user_free(struct acct_user *u)
{
	free(u->username);
	free(u->name);
	free(u->email);
	free(u->role);
	free(u->upload_path);
	free(u->auth_provider);
	free(u->auth_id);
	memset(u, 0, sizeof(*u));
}

/* A copy of a string member; NULL when absent or nil. */
static char *
get_str(const msgpack_object *map, const char *key, bool *oom)
{
	const msgpack_object *o = proto_map_get(map, key);
	char *s;

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return NULL;
	if ((s = strndup(o->via.str.ptr, o->via.str.size)) == NULL)
		*oom = true;
	return s;
}

static bool
get_bool(const msgpack_object *map, const char *key)
{
	const msgpack_object *o = proto_map_get(map, key);

	return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

static int
user_from(const msgpack_object *m, struct acct_user *u)
{
	bool oom = false;
	char *id;

	memset(u, 0, sizeof(*u));
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return ACCT_ERR_PROTOCOL;
	if ((id = get_str(m, "id", &oom)) != NULL) {
		strlcpy(u->id, id, sizeof(u->id));
		free(id);
	}
	u->username = get_str(m, "username", &oom);
	u->name = get_str(m, "name", &oom);
	u->email = get_str(m, "email", &oom);
	u->role = get_str(m, "role", &oom);
	u->upload_path = get_str(m, "upload_path", &oom);
	u->auth_provider = get_str(m, "auth_provider", &oom);
	u->auth_id = get_str(m, "auth_id", &oom);
	u->superadmin = get_bool(m, "superadmin");
	u->webdav = get_bool(m, "webdav");
	u->two_factor = get_bool(m, "two_factor");
	if (oom) {
		acct_user_free(u);
		return ACCT_ERR_NOMEM;
	}
	return u->username != NULL ? ACCT_OK : ACCT_ERR_PROTOCOL;
}

/* Send op, keep the daemon's message, return its code or a local one. */
static int
call(acct_t *a, enum proto_op op, struct proto_msg *args,
    struct proto_reply *rep)
{
	int rc = acct_conn_call(a->conn, op, args, rep);

	if (rc == ACCT_OK)
		rc = rep->code;
	strlcpy(a->message, rc == ACCT_OK ? "" : rep->message[0] ?
	    rep->message : acct_strerror(rc), sizeof(a->message));
	return rc;
}

void
acct_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void
opt_str(struct proto_msg *m, enum proto_field f, const char *val)
{
	if (val != NULL)
		proto_kv_str_f(m, f, val);
}

/* A copy of the reply's string member key into *out; NULL if absent. */
static int
result_str(const struct proto_reply *rep, const char *key, char **out)
{
	const msgpack_object *t = proto_map_get(rep->result, key);

	*out = NULL;
	if (t == NULL || t->type != MSGPACK_OBJECT_STR)
		return ACCT_ERR_PROTOCOL;
	if ((*out = strndup(t->via.str.ptr, t->via.str.size)) == NULL)
		return ACCT_ERR_NOMEM;
	return ACCT_OK;
}

/* The reply's "user" into *user (if wanted), "token" into *token. */
static int
results(const struct proto_reply *rep, struct acct_user *user, char **token)
{
	int rc = ACCT_OK;

	if (user != NULL)
		rc = user_from(proto_map_get(rep->result, "user"), user);
	if (rc == ACCT_OK && token != NULL &&
	    (rc = result_str(rep, "token", token)) != ACCT_OK && user != NULL)
		acct_user_free(user);
	return rc;
}

int
acct_login_ex(acct_t *a, const struct acct_login_req *r,
    struct acct_user *user, char **token)
{
	return acct_login_flags(a, r, 0, user, token);
}

int
acct_login_flags(acct_t *a, const struct acct_login_req *r, unsigned flags,
    struct acct_user *user, char **token)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (user != NULL)
		memset(user, 0, sizeof(*user));
	if (token != NULL)
		*token = NULL;
	if (r->username == NULL || r->password == NULL ||
	    (r->session && token == NULL))
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, r->username);
	proto_kv_str_f(&args, F_PASSWORD, r->password);
	opt_str(&args, F_CODE, r->code);
	opt_str(&args, F_SERVICE, r->service);
	opt_str(&args, F_REMOTE_ADDR, r->remote_addr);
	if (flags & ACCT_LOGIN_EXACT_NAME)
		proto_kv_bool_f(&args, F_EXACT_NAME, true);
	if (flags & ACCT_LOGIN_NO_CODE)
		proto_kv_bool_f(&args, F_NO_CODE, true);
	/* Only a setuid-root process has a real uid to name; acctd
	 * believes it from root alone. */
	if ((flags & ACCT_LOGIN_REAL_UID) && getuid() != geteuid())
		proto_kv_int_f(&args, F_REAL_UID, getuid());
	if (r->session) {
		proto_kv_bool_f(&args, F_SESSION, true);
		opt_str(&args, F_SCOPE, r->scope);
		if (r->lifetime > 0)
			proto_kv_int_f(&args, F_LIFETIME, r->lifetime);
	}
	a->must_change = false;
	rc = call(a, OP_LOGIN, &args, &rep);
	proto_msg_free(&args);	/* wipes the password */
	if (rc == ACCT_OK) {
		const msgpack_object *mc = proto_map_get(rep.result,
		    "must_change");

		a->must_change = mc != NULL &&
		    mc->type == MSGPACK_OBJECT_BOOLEAN && mc->via.boolean;
		rc = results(&rep, user, r->session ? token : NULL);
	}
	proto_reply_free(&rep);	/* wipes the token's copy */
	return rc;
}

int
acct_login(acct_t *a, const char *username, const char *password,
    const char *service, const char *remote_addr, struct acct_user *user)
{
	struct acct_login_req r = { .username = username,
	    .password = password, .service = service,
	    .remote_addr = remote_addr };

	return acct_login_ex(a, &r, user, NULL);
}

int
acct_validate(acct_t *a, const char *token, const char *service,
    struct acct_user *user)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (user != NULL)
		memset(user, 0, sizeof(*user));
	if (token == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_TOKEN, token);
	opt_str(&args, F_SERVICE, service);
	rc = call(a, OP_TOKEN_VALIDATE, &args, &rep);
	proto_msg_free(&args);
	if (rc == ACCT_OK)
		rc = results(&rep, user, NULL);
	proto_reply_free(&rep);
	return rc;
}

int
acct_revoke(acct_t *a, const char *token)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (token == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_TOKEN, token);
	rc = call(a, OP_TOKEN_REVOKE, &args, &rep);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

int
acct_session_add(acct_t *a, const struct acct_session_req *r,
    struct acct_user *user, char **token)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (user != NULL)
		memset(user, 0, sizeof(*user));
	if (token != NULL)
		*token = NULL;
	if (r == NULL || r->username == NULL || token == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, r->username);
	opt_str(&args, F_SERVICE, r->service);
	opt_str(&args, F_SCOPE, r->scope);
	if (r->lifetime > 0)
		proto_kv_int_f(&args, F_LIFETIME, r->lifetime);
	rc = call(a, OP_SESSION_ADD, &args, &rep);
	proto_msg_free(&args);
	if (rc == ACCT_OK)
		rc = results(&rep, user, token);
	proto_reply_free(&rep);	/* wipes the token's copy */
	return rc;
}

int
acct_passwd(acct_t *a, const char *username, const char *password,
    const char *token, const char *new_password)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	/* Exactly one proof: an admin's set without one is not offered. */
	if (username == NULL || new_password == NULL ||
	    (password == NULL) == (token == NULL))
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_USERNAME, username);
	opt_str(&args, F_PASSWORD, password);
	opt_str(&args, F_TOKEN, token);
	proto_kv_str_f(&args, F_NEW_PASSWORD, new_password);
	rc = call(a, OP_PASSWD, &args, &rep);
	proto_msg_free(&args);	/* wipes both passwords */
	proto_reply_free(&rep);
	return rc;
}

int
acct_password_forgot(acct_t *a, const char *email, const char *remote_addr)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (email == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_EMAIL, email);
	opt_str(&args, F_REMOTE_ADDR, remote_addr);
	rc = call(a, OP_PASSWORD_FORGOT, &args, &rep);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}

int
acct_password_reset(acct_t *a, const char *token, const char *new_password,
    char **username, bool *activated)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (username != NULL)
		*username = NULL;
	if (activated != NULL)
		*activated = false;
	if (token == NULL || new_password == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str_f(&args, F_TOKEN, token);
	proto_kv_str_f(&args, F_NEW_PASSWORD, new_password);
	rc = call(a, OP_PASSWORD_RESET, &args, &rep);
	proto_msg_free(&args);	/* wipes the token and the password */
	if (rc == ACCT_OK && username != NULL)
		rc = result_str(&rep, "username", username);
	if (rc == ACCT_OK && activated != NULL)
		*activated = get_bool(rep.result, "activated");
	proto_reply_free(&rep);
	return rc;
}
