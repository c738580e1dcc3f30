/*
 * resetlink.c: password-reset and activation links, rpodder-style: a
 * one-time token (24 h for resets, 48 h for activations by default)
 * mailed as a link. A new request never voids a link already mailed;
 * requests are limited per account and per source, so no one behind a
 * "forgot password" form can flood a victim or the mail queue. An
 * admin's request waits a few seconds for the mailer, to tell whether
 * the mail went.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/log.h"
#include "../common/text.h"
#include "acctd.h"

/* url with its first {token} replaced by token; malloc'd. */
static char *
make_link(const char *url, const char *token)
{
	const char *at = strstr(url, "{token}");
	char *out = NULL;

	if (at == NULL || asprintf(&out, "%.*s%s%s", (int)(at - url), url,
	    token, at + strlen("{token}")) < 0)
		return NULL;
	return out;
}

/*
 * The subject and body of the mail for a, in the configured words, and
 * in name the display name for its To line. A display name may hold any
 * text a client sent: in mail, controls become '?', so that it can
 * neither add a header nor a line that seems to come from us.
 */
static int
make_mail(const struct config *c, const struct account *a, const char *url,
    const char *link, const char *token, bool activation, uint32_t life,
    char name[256], char **subject, char **body)
{
	char site[sizeof(c->site_name)], lifetime[64];
	struct mailtext_vars v = { .name = a->name[0] ? name : a->username,
	    .username = a->username, .site = site, .lifetime = lifetime,
	    .link = link, .token = token };

	strlcpy(name, a->name, 256);
	text_sanitise(name);

	if (c->site_name[0] != '\0')
		strlcpy(site, c->site_name, sizeof(site));
	else
		mailtext_site(url, site, sizeof(site));
	mailtext_lifetime(life, lifetime, sizeof(lifetime));
	return mailtext_render(activation ? c->activation_text :
	    c->reset_text, activation, &v, subject, body);
}

static void
wipe_free(char *s)
{
	if (s != NULL)
		freezero(s, strlen(s));
}

/* Take one of max sends in the window of key; ACCT_ERR_BUSY when spent. */
static int
rate_take_locked(const char *key, int64_t window, int64_t max)
{
	struct db_query q;
	int64_t now = now_unix(), start = now, sent = 0;
	int rc;

	if ((rc = db_one(&q, "SELECT window_start, sent FROM mail_limits "
	    "WHERE key = ?1", DB_ARGS(DB_TEXT(key)))) == ACCT_OK &&
	    now - db_int(&q, 0) < window) {
		start = db_int(&q, 0);
		sent = db_int(&q, 1);
	}
	(void)db_done(&q);
	if (rc != ACCT_OK && rc != ACCT_ERR_NOT_FOUND)
		return rc;
	if (sent >= max)
		return ACCT_ERR_BUSY;
	return db_exec(NULL, "INSERT INTO mail_limits (key, window_start, "
	    "sent) VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET "
	    "window_start = ?2, sent = ?3", DB_ARGS(DB_TEXT(key),
	    DB_INT(start), DB_INT(sent + 1)));
}

/* One mail per account per reset_mail_interval; from one source (the
 * caller and the address it reports) reset_mail_per_source an hour. */
static int
rate_take(const struct ctx *x, const struct account *a, const char *remote)
{
	char key[160];
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		snprintf(key, sizeof(key), "account:%s", a->id);
		if (x->cfg->reset_mail_interval > 0)
			rc = rate_take_locked(key, x->cfg->reset_mail_interval,
			    1);
		snprintf(key, sizeof(key), "source:%u:%s",
		    (unsigned)x->peer->uid, remote);
		if (rc == ACCT_OK && remote[0] != '\0' &&
		    x->cfg->reset_mail_per_source > 0)
			rc = rate_take_locked(key, 3600,
			    x->cfg->reset_mail_per_source);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

/* The outcome of the mail of w, once queued: sent, still queued, or
 * ACCT_ERR_MAIL_FAILED with the mailer's reason. */
static int
wait_outcome(struct ctx *x, const struct account *a, bool activation,
    struct mail_wait *w, bool *sent)
{
	*sent = false;
	if (x->cfg->mail_wait == 0 || !mail_wait(w, x->cfg->mail_wait * 1000))
		return ACCT_OK;
	if (w->why[0] == '\0') {
		*sent = true;
		return ACCT_OK;
	}
	return ctx_fail(x, ACCT_ERR_MAIL_FAILED, "the %s link was not sent "
	    "to %s: %s; check sendmail_command in acctd.conf and acctd's log",
	    activation ? "activation" : "reset", a->email, w->why);
}

int
resetlink_mail(struct ctx *x, const struct account *a, bool activation,
    bool limited, const char *remote, bool *sent)
{
	const char *url = activation ? x->cfg->activation_url : x->cfg->reset_url;
	uint32_t life = activation ? x->cfg->activation_token_lifetime :
	    x->cfg->reset_token_lifetime;
	struct token_spec s = { .type = activation ? TOKEN_ACTIVATION :
	    TOKEN_RESET,
	    .account_id = a->id, .name = "", .scope = "", .lifetime = life,
	    .created_by = x->peer->uid };
	char token[TOKEN_STRING_LEN], *link = NULL, *body = NULL;
	char *subject = NULL, name[256];
	struct mail_wait w = { 0 };
	int rc;

	if (a->email == NULL)
		return ctx_fail(x, ACCT_ERR_INVALID, "account '%s' has no "
		    "email address", a->username);
	if (x->cfg->mail_from[0] == '\0' || url[0] == '\0')
		return ctx_fail(x, ACCT_ERR_NOT_CONFIGURED, "mail is not "
		    "configured: set mail_from and %s in acctd.conf",
		    activation ? "activation_url" : "reset_url");
	if (limited && (rc = rate_take(x, a, remote)) != ACCT_OK)
		return rc == ACCT_ERR_BUSY ? ctx_fail(x, rc, "a link was "
		    "mailed to this account or from this source moments ago")
		    : rc;
	/* Links mailed before stay good until used or expired. */
	if ((rc = token_create(&s, token, NULL, NULL)) != ACCT_OK)
		return rc;
	if ((link = make_link(url, token)) == NULL ||
	    make_mail(x->cfg, a, url, link, token, activation, life, name,
	    &subject, &body) == -1)
		rc = ACCT_ERR_NOMEM;
	else
		rc = mail_queue(x->cfg, a->email, name, subject, body,
		    sent != NULL ? &w : NULL);
	wipe_free(link);
	wipe_free(body);
	free(subject);
	if (rc == ACCT_OK)
		auditlog_event(x->peer->uid, activation ? "activation_mailed" :
		    "reset_mailed", a->username, a->email);
	if (rc == ACCT_OK && sent != NULL)
		rc = wait_outcome(x, a, activation, &w, sent);
	/* A link that was never sent is no link. */
	if (rc != ACCT_OK)
		(void)resetlink_claim(token);
	explicit_bzero(token, sizeof(token));
	if (rc == ACCT_ERR_BUSY)
		return ctx_fail(x, rc, "the mail queue is full, or a message "
		    "to this address is waiting; try again later");
	return rc;
}

int
resetlink_check(const char *token, char owner[33], bool *activation)
{
	*activation = false;
	if (token_check(token, TOKEN_RESET, NULL, owner, NULL) == ACCT_OK)
		return ACCT_OK;
	*activation = true;
	return token_check(token, TOKEN_ACTIVATION, NULL, owner, NULL);
}

int
resetlink_claim(const char *token)
{
	char id[TOKEN_ID_LEN];

	token_id_of(token, id);
	return id[0] != '\0' ? token_delete(id) : ACCT_ERR_INVALID_TOKEN;
}

/* From the periodic purge: limits whose window is long over. */
int
resetlink_purge_locked(const struct config *c, int64_t now)
{
	int64_t window = c->reset_mail_interval > 3600 ?
	    c->reset_mail_interval : 3600;

	return db_exec(NULL, "DELETE FROM mail_limits WHERE window_start < ?1",
	    DB_ARGS(DB_INT(now - window)));
}
