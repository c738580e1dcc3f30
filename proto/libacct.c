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

int
acct_login(acct_t *a, const char *username, const char *password,
    const char *service, const char *remote_addr, struct acct_user *user)
{
	struct proto_msg args;
	struct proto_reply rep;
	int rc;

	if (user != NULL)
		memset(user, 0, sizeof(*user));
	if (username == NULL || password == NULL)
		return ACCT_ERR_INVALID;
	proto_msg_init(&args);
	proto_kv_str(&args, "username", username);
	proto_kv_str(&args, "password", password);
	if (service != NULL)
		proto_kv_str(&args, "service", service);
	if (remote_addr != NULL)
		proto_kv_str(&args, "remote_addr", remote_addr);
	rc = call(a, "login", &args, &rep);
	proto_msg_free(&args);	/* wipes the password */
	if (rc == ACCT_OK && user != NULL)
		rc = user_from(proto_map_get(rep.result, "user"), user);
	proto_reply_free(&rep);
	return rc;
}
