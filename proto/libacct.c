/*
 * libacct.c: the public C API of libacct (acct.h), a thin layer over the
 * protocol client. Only the acct_* names of acct.h are exported.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "client.h"

struct acct {
	struct acct_conn	*conn;
	char			 message[256];
};

const char *
acct_version(void)
{
	return ACCT_VERSION;
}

int
acct_open(const char *path, acct_t **out)
{
	acct_t *a;
	int rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ACCT_ERR_NOMEM;
	rc = acct_conn_open(path ? path : ACCT_DEFAULT_SOCKET, &a->conn);
	if (rc != ACCT_OK) {
		free(a);
		return rc;
	}
	*out = a;
	return ACCT_OK;
}

void
acct_close(acct_t *a)
{
	if (a == NULL)
		return;
	acct_conn_close(a->conn);
	free(a);
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
call(acct_t *a, const char *op, struct proto_msg *args,
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
opt_str(struct proto_msg *m, const char *key, const char *val)
{
	if (val != NULL)
		proto_kv_str(m, key, val);
}

/* The reply's "user" into *user (if wanted), "token" into *token. */
static int
results(const struct proto_reply *rep, struct acct_user *user, char **token)
{
	const msgpack_object *t;
	int rc = ACCT_OK;

	if (user != NULL)
		rc = user_from(proto_map_get(rep->result, "user"), user);
	if (rc == ACCT_OK && token != NULL) {
		t = proto_map_get(rep->result, "token");
		if (t == NULL || t->type != MSGPACK_OBJECT_STR)
			rc = ACCT_ERR_PROTOCOL;
		else if ((*token = strndup(t->via.str.ptr,
		    t->via.str.size)) == NULL)
			rc = ACCT_ERR_NOMEM;
		if (rc != ACCT_OK && user != NULL)
			acct_user_free(user);
	}
	return rc;
}

int
acct_login_ex(acct_t *a, const struct acct_login_req *r,
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
	proto_kv_str(&args, "username", r->username);
	proto_kv_str(&args, "password", r->password);
	opt_str(&args, "code", r->code);
	opt_str(&args, "service", r->service);
	opt_str(&args, "remote_addr", r->remote_addr);
	if (r->session) {
		proto_kv_bool(&args, "session", true);
		opt_str(&args, "scope", r->scope);
		if (r->lifetime > 0)
			proto_kv_int(&args, "lifetime", r->lifetime);
	}
	rc = call(a, "login", &args, &rep);
	proto_msg_free(&args);	/* wipes the password */
	if (rc == ACCT_OK)
		rc = results(&rep, user, r->session ? token : NULL);
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
	proto_kv_str(&args, "token", token);
	opt_str(&args, "service", service);
	rc = call(a, "token_validate", &args, &rep);
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
	proto_kv_str(&args, "token", token);
	rc = call(a, "token_revoke", &args, &rep);
	proto_msg_free(&args);
	proto_reply_free(&rep);
	return rc;
}
