/*
 * test_mail.c: password reset and activation through a real mailer:
 * msmtp delivering to an aiosmtpd SMTP server on 127.0.0.1, read back
 * from its Maildir. Also the failing and slow mailer, what the admin's
 * commands say of them, and SSO passwd.
 */
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

#define OLDPW	"old-password-1"
#define NEWPW	"new-password-2"

struct mailenv {
	struct th_daemon	d;
	struct th_mail		m;
};

static int
up(void **state, const char *extra)
{
	struct mailenv *e = calloc(1, sizeof(*e));
	char conf[2048];
	size_t n;

	signal(SIGPIPE, SIG_IGN);
	if (e == NULL)
		return -1;
	*state = e;
	if (th_mail_start(&e->m) == -1 ||
	    th_mail_config(&e->m, conf, sizeof(conf)) == -1)
		return -1;
	n = strlen(conf);
	snprintf(conf + n, sizeof(conf) - n, "%s", extra ? extra : "");
	if (th_up(&e->d, conf) == -1 ||
	    th_add_user(e->d.sock, "alice", OLDPW) != ACCT_OK)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	return up(state, NULL);
}

static int
setup_short(void **state)
{
	return up(state, "reset_token_lifetime = 1\n");
}

/* The mailer told the envelope sender by {from}, as the default is. */
static int
setup_envelope(void **state)
{
	struct mailenv *e = calloc(1, sizeof(*e));
	char conf[1024];

	signal(SIGPIPE, SIG_IGN);
	if ((*state = e) == NULL || th_mail_start(&e->m) == -1)
		return -1;
	snprintf(conf, sizeof(conf), "sendmail_command = /usr/bin/msmtp "
	    "--host=127.0.0.1 --port=%d -f {from} -t\n"
	    "mail_from = Bounce Desk <bounce@example.org>\n"
	    "reset_url = https://example.org/reset?t={token}\n", e->m.port);
	if (th_up(&e->d, conf) == -1 ||
	    th_add_user(e->d.sock, "alice", OLDPW) != ACCT_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct mailenv *e = *state;
	int rc;

	if (e == NULL)
		return 0;
	rc = th_stop_with_mail(&e->d, &e->m);
	free(e);
	return rc;
}

static int
set_email(const struct th_daemon *d, const char *user, const char *email)
{
	return th_call_strs(d->sock, "user_mod", "username", user, "email",
	    email, (char *)NULL);
}

static int
forgot(const struct th_daemon *d, const char *email)
{
	return th_call_strs(d->sock, "password_forgot", "email", email,
	    (char *)NULL);
}

static int
confirm(const struct th_daemon *d, const char *token, const char *pw)
{
	return th_call_strs(d->sock, "password_reset", "token", token,
	    "new_password", pw, (char *)NULL);
}

static int
login(const struct th_daemon *d, const char *user, const char *pw)
{
	return th_call_strs(d->sock, "login", "username", user, "password",
	    pw, (char *)NULL);
}

static int
count_mail(const struct mailenv *e)
{
	return th_mail_count(&e->m);
}

/* The text of the message not read before, once want have arrived. */
static char *
wait_mail(struct mailenv *e, int want)
{
	char *text = th_mail_wait(&e->m, want);

	assert_non_null(text);
	assert_int_equal(th_mail_count(&e->m), want);
	return text;
}

static void
token_in(const char *text, char *tok, size_t n)
{
	assert_int_equal(th_mail_token(text, tok, n), 0);
}

static void
test_reset_by_mail(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	char tok[128], link[256];
	char *text;

	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "Alice@Example.org"), ACCT_OK);
	text = wait_mail(e, 1);
	/* A proper RFC 5322 message. */
	assert_non_null(strstr(text, "\nTo: alice@example.org\n"));
	assert_non_null(strstr(text, "\nFrom: acctd@example.org\n"));
	assert_non_null(strstr(text, "Subject: Reset your password for "
	    "example.org\n"));
	assert_non_null(strstr(text, "Date: "));
	assert_non_null(strstr(text, "Message-ID: <"));
	assert_non_null(strstr(text, "Content-Type: text/plain; "
	    "charset=utf-8\n"));
	token_in(text, tok, sizeof(tok));
	snprintf(link, sizeof(link), "https://example.org/reset?t=%s", tok);
	assert_non_null(strstr(text, link));
	/* The token is not in the daemon's log. */
	assert_false(th_contains(th_keep(th_read_log(d)), tok));
	/* A policy failure does not use the token up. */
	assert_int_equal(confirm(d, tok, "short"), ACCT_ERR_POLICY);
	assert_int_equal(confirm(d, tok, NEWPW), ACCT_OK);
	assert_int_equal(login(d, "alice", NEWPW), ACCT_OK);
	assert_int_equal(login(d, "alice", OLDPW), ACCT_ERR_AUTH_FAILED);
	/* One time only. */
	assert_int_equal(confirm(d, tok, "third-password-3"),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(login(d, "alice", NEWPW), ACCT_OK);
}

/* Unknown addresses get the same answer and no mail. */
static void
test_unknown_address_same_answer(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	char *text;

	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "nobody@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	/* One mailer thread, in order: had the first sent anything, it
	 * would be here before alice's. */
	text = wait_mail(e, 1);
	assert_non_null(strstr(text, "\nTo: alice@example.org\n"));
	usleep(300 * 1000);
	assert_int_equal(count_mail(e), 1);
	/* A malformed address is a usage error, not an answer about it. */
	assert_int_equal(forgot(d, "not-an-address"), ACCT_ERR_INVALID);
}

static void
test_expired_token(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	char tok[128];

	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	token_in(wait_mail(e, 1), tok, sizeof(tok));
	sleep(2);	/* the configured lifetime is one second */
	assert_int_equal(confirm(d, tok, NEWPW), ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(login(d, "alice", OLDPW), ACCT_OK);
}

static int
reset_password(const struct th_daemon *d, const char *user)
{
	return th_call_strs(d->sock, "user_reset_password", "username", user,
	    (char *)NULL);
}

/*
 * A second request within reset_mail_interval sends nothing and voids
 * nothing: twenty requests for one address are one mail. A later link
 * (the admin's, which the interval does not limit) works beside the
 * first; using one ends the other and the account's sessions.
 */
static void
test_new_request_keeps_old(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	struct proto_msg m;
	struct proto_reply rep;
	char tok1[128], tok2[128], session[128];
	const msgpack_object *o;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	proto_kv_str(&m, "password", OLDPW);
	proto_kv_bool(&m, "session", true);
	assert_int_equal(th_call(d->sock, "login", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_non_null(o = proto_map_get(rep.result, "token"));
	snprintf(session, sizeof(session), "%.*s", (int)o->via.str.size,
	    o->via.str.ptr);
	proto_reply_free(&rep);
	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	token_in(wait_mail(e, 1), tok1, sizeof(tok1));
	for (int i = 0; i < 20; i++)
		assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	usleep(500 * 1000);
	assert_int_equal(count_mail(e), 1);
	assert_int_equal(reset_password(d, "alice"), ACCT_OK);
	token_in(wait_mail(e, 2), tok2, sizeof(tok2));
	assert_string_not_equal(tok1, tok2);
	assert_int_equal(confirm(d, tok1, NEWPW), ACCT_OK);
	assert_int_equal(confirm(d, tok2, "third-password-3"),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(login(d, "alice", NEWPW), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "token", session);
	assert_int_equal(th_call_code(d->sock, "token_validate", &m),
	    ACCT_ERR_INVALID_TOKEN);
	proto_msg_free(&m);
}

/* A password change, by any path, ends the links mailed before it. */
static void
test_password_change_ends_links(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	char tok[128];

	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	token_in(wait_mail(e, 1), tok, sizeof(tok));
	/* The owner changes it, knowing the current one. */
	assert_int_equal(th_call_strs(d->sock, "passwd", "username", "alice",
	    "password", OLDPW, "new_password", NEWPW, (char *)NULL), ACCT_OK);
	assert_int_equal(confirm(d, tok, "third-password-3"),
	    ACCT_ERR_INVALID_TOKEN);
	/* An admin sets one with users mod. */
	assert_int_equal(reset_password(d, "alice"), ACCT_OK);
	token_in(wait_mail(e, 2), tok, sizeof(tok));
	assert_int_equal(th_call_strs(d->sock, "user_mod", "username", "alice",
	    "new_password", OLDPW, (char *)NULL), ACCT_OK);
	assert_int_equal(confirm(d, tok, "third-password-3"),
	    ACCT_ERR_INVALID_TOKEN);
	assert_int_equal(login(d, "alice", OLDPW), ACCT_OK);
}

static int
setup_per_source(void **state)
{
	return up(state, "reset_mail_interval = 0\n"
	    "reset_mail_per_source = 2\n");
}

static int
forgot_from(const struct th_daemon *d, const char *email, const char *addr)
{
	return th_call_strs(d->sock, "password_forgot", "email", email,
	    "remote_addr", addr, (char *)NULL);
}

/* From one reported address, reset_mail_per_source mails an hour, for
 * whichever accounts; another address is not held up by it. */
static void
test_mail_limit_per_source(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	char *text;

	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "bob", OLDPW), ACCT_OK);
	assert_int_equal(set_email(d, "bob", "bob@example.org"), ACCT_OK);
	assert_int_equal(forgot_from(d, "alice@example.org", "203.0.113.9"),
	    ACCT_OK);
	(void)wait_mail(e, 1);
	assert_int_equal(forgot_from(d, "bob@example.org", "203.0.113.9"),
	    ACCT_OK);
	(void)wait_mail(e, 2);
	assert_int_equal(forgot_from(d, "alice@example.org", "203.0.113.9"),
	    ACCT_OK);
	assert_int_equal(forgot_from(d, "bob@example.org", "203.0.113.9"),
	    ACCT_OK);
	usleep(500 * 1000);
	assert_int_equal(count_mail(e), 2);
	assert_int_equal(forgot_from(d, "bob@example.org", "198.51.100.7"),
	    ACCT_OK);
	text = wait_mail(e, 3);
	assert_non_null(strstr(text, "\nTo: bob@example.org\n"));
}

static void
test_activation(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	struct proto_msg m;
	struct proto_reply rep;
	char tok[128], *text;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "carol");
	proto_kv_bool(&m, "activate", true);
	assert_int_equal(th_call_code(d->sock, "user_add", &m),
	    ACCT_ERR_INVALID);	/* needs an email */
	proto_kv_str(&m, "email", "carol@example.org");
	assert_int_equal(th_call(d->sock, "user_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	assert_int_equal(th_bool(proto_map_get(rep.result, "user"),
	    "activated"), 0);
	proto_reply_free(&rep);
	text = wait_mail(e, 1);
	assert_non_null(strstr(text, "Subject: Activate your account for "
	    "example.org\n"));
	assert_non_null(strstr(text, "https://example.org/activate?t="));
	token_in(text, tok, sizeof(tok));
	/* Pending: no login, whatever the password. */
	assert_int_equal(login(d, "carol", NEWPW), ACCT_ERR_AUTH_FAILED);
	/* An activation token is not a reset token for someone else. */
	assert_int_equal(confirm(d, tok, NEWPW), ACCT_OK);
	assert_int_equal(login(d, "carol", NEWPW), ACCT_OK);
	assert_int_equal(confirm(d, tok, NEWPW), ACCT_ERR_INVALID_TOKEN);
}

static void
test_admin_reset_password(void **state)
{
	struct mailenv *e = *state;
	struct th_daemon *d = &e->d;
	struct proto_msg m;
	struct proto_reply rep;
	char tok[128];

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call(d->sock, "user_reset_password", &m, &rep),
	    ACCT_OK);
	assert_int_equal(rep.code, ACCT_ERR_INVALID);
	assert_non_null(strstr(rep.message, "no email"));
	proto_reply_free(&rep);
	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(th_call(d->sock, "user_reset_password", &m, &rep),
	    ACCT_OK);
	assert_int_equal(rep.code, ACCT_OK);
	assert_true(th_str_is(rep.result, "email", "alice@example.org"));
	/* The daemon waited for the mailer: the message is delivered. */
	assert_true(th_str_is(rep.result, "mail", "sent"));
	proto_reply_free(&rep);
	proto_msg_free(&m);
	token_in(wait_mail(e, 1), tok, sizeof(tok));
	assert_int_equal(confirm(d, tok, NEWPW), ACCT_OK);
	assert_int_equal(login(d, "alice", NEWPW), ACCT_OK);
}

/* Bounces go to mail_from's address, not to root's. */
static void
test_envelope_sender(void **state)
{
	struct mailenv *e = *state;
	char *msg;

	assert_int_equal(set_email(&e->d, "alice", "alice@example.org"),
	    ACCT_OK);
	assert_int_equal(forgot(&e->d, "alice@example.org"), ACCT_OK);
	assert_non_null(msg = th_mail_wait(&e->m, 1));
	assert_true(th_contains(msg, "X-MailFrom: bounce@example.org"));
}

static void
test_not_configured(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	struct proto_msg m;
	struct proto_reply rep;

	assert_int_equal(th_add_user(d->sock, "alice", OLDPW), ACCT_OK);
	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call(d->sock, "user_reset_password", &m, &rep),
	    ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_ERR_NOT_CONFIGURED);
	assert_non_null(strstr(rep.message, "reset_url"));
	proto_reply_free(&rep);
	/* So does "forgot password", for a known address and an unknown
	 * one alike: no answer promises a mail that never leaves. */
	assert_int_equal(forgot(d, "alice@example.org"),
	    ACCT_ERR_NOT_CONFIGURED);
	assert_int_equal(forgot(d, "nobody@example.org"),
	    ACCT_ERR_NOT_CONFIGURED);
	TH_RUN(d, NULL, 1, "passwd", "--forgot", "alice@example.org");
	assert_true(th_contains(r.err, "mail is not configured"));
	assert_false(th_contains(r.out, "has been sent"));
	th_result_free(&r);
}

static int64_t
events(const struct th_daemon *d, const char *event)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	assert_int_equal(sqlite3_open_v2(d->db, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
	    "audit_events WHERE event = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, event, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* A failing mailer is logged and audited; a hanging one timed out, and
 * neither holds up other requests. */
static void
test_failing_and_slow_mailer(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;

	assert_int_equal(th_up(d, "sendmail_command = /bin/false\n"
	    "mail_from = acctd@example.org\n"
	    "reset_url = https://example.org/r?t={token}\n"), 0);
	assert_int_equal(th_add_user(d->sock, "alice", OLDPW), ACCT_OK);
	assert_int_equal(set_email(d, "alice", "alice@example.org"), ACCT_OK);
	assert_int_equal(forgot(d, "alice@example.org"), ACCT_OK);
	assert_int_equal(th_wait_log(d, 0, "mailer failed", TH_WAIT_MS), 0);
	assert_int_equal(events(d, "mail_failed"), 1);
	assert_int_equal(th_stop(d), 0);
	/* Nobody waits for the outcome here: the queue is what is tested. */
	assert_int_equal(th_write_config(d, "sendmail_command = /bin/sleep 60\n"
	    "mail_timeout = 2\nmail_wait = 0\nmail_from = acctd@example.org\n"
	    "reset_url = https://example.org/r?t={token}\n"), 0);
	assert_int_equal(th_start(d), 0);
	assert_int_equal(reset_password(d, "alice"), ACCT_OK);
	/* One message per address waits at most: a third for alice is
	 * refused while the first hangs, bob's is not held up. */
	(void)reset_password(d, "alice");
	assert_int_equal(reset_password(d, "alice"), ACCT_ERR_BUSY);
	assert_int_equal(th_add_user(d->sock, "bob", OLDPW), ACCT_OK);
	assert_int_equal(set_email(d, "bob", "bob@example.org"), ACCT_OK);
	assert_int_equal(reset_password(d, "bob"), ACCT_OK);
	/* While the mailer hangs, requests are answered. */
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "alice");
	assert_int_equal(th_call_code(d->sock, "user_show", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(login(d, "alice", OLDPW), ACCT_OK);
	assert_int_equal(th_wait_log(d, 0, "mailer timed out", TH_WAIT_MS), 0);
}

#define MAIL_URLS	"mail_from = acctd@example.org\n" \
	"reset_url = https://example.org/r?t={token}\n" \
	"activation_url = https://example.org/a?t={token}\n"

/* An admin's mail commands wait for the mailer: its failure is theirs,
 * exit 1, and the link is void; passwd --forgot answers as ever. */
static void
test_failing_mailer_fails_the_command(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(th_up(d, "sendmail_command = /bin/false\n"
	    MAIL_URLS), 0);
	TH_RUN(d, NULL, 0, "users", "add", "-m", "alice@example.org", "alice");
	TH_RUN(d, NULL, 1, "users", "reset-password", "alice");
	assert_string_equal(r.out, "");
	assert_true(th_contains(r.err, "reset link was not sent to "
	    "alice@example.org: mailer failed; check sendmail_command"));
	assert_int_equal(th_db_int(d, "SELECT count(*) FROM tokens WHERE "
	    "type = 'reset'", NULL), 0);
	TH_RUN(d, NULL, 1, "--json", "users", "reset-password", "alice");
	TH_RUN(d, NULL, 1, "users", "add", "--activate", "-m",
	    "bob@example.org", "bob");
	assert_string_equal(r.out, "Account bob created.\n");
	assert_true(th_contains(r.err, "activation link was not sent to "
	    "bob@example.org: mailer failed"));
	assert_true(th_contains(r.err, "'acctc users reset-password bob' "
	    "sends it again"));
	assert_true(th_user_exists(d->sock, "bob"));
	TH_RUN(d, NULL, 1, "--json", "users", "add", "--activate", "-m",
	    "carl@example.org", "carl");
	assert_string_equal(th_json_must(r.out, "d['mail']"), "failed");
	assert_string_equal(th_json_must(r.out, "d['mail_error']"),
	    "mail_failed");
	/* Each failure is in the audit, with the mailer's reason. */
	TH_RUN(d, NULL, 0, "audit", "events", "--tsv", "--no-header",
	    "mail_failed");
	assert_int_equal(th_count(r.out, "\tmail_failed\t"), 4);
	assert_true(th_contains(r.out, "\tmail_failed\tbob@example.org\t"
	    "mailer failed\n"));
	/* The public request tells nothing, and waits for nothing. */
	TH_RUN(d, NULL, 0, "passwd", "--forgot", "alice@example.org");
	assert_string_equal(r.out, "If alice@example.org belongs to an "
	    "active account, a reset link has been sent.\n");
	th_result_free(&r);
}

/* A mailer slower than mail_wait: the command says the link is queued
 * and how to follow it, and succeeds. */
static void
test_mail_still_queued(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };

	assert_int_equal(th_up(d, "sendmail_command = /bin/sleep 60\n"
	    "mail_timeout = 5\nmail_wait = 1\n" MAIL_URLS), 0);
	TH_RUN(d, NULL, 0, "users", "add", "-m", "alice@example.org", "alice");
	TH_RUN(d, NULL, 0, "users", "reset-password", "alice");
	assert_string_equal(r.out, "Reset link queued for alice@example.org.\n");
	assert_true(th_contains(r.err, "'acctc audit events "
	    "alice@example.org' shows whether it went"));
	TH_RUN(d, NULL, 0, "--json", "users", "reset-password", "alice");
	assert_string_equal(th_json_must(r.out, "d['mail']"), "queued");
	th_result_free(&r);
}

static int
setup_lazy(void **state)
{
	return th_setup_lazy(state);
}

/* An SSO account with no password and a session made by session_add. */
static void
sso_setup(void **state)
{
	struct th_daemon *d = *state;
	struct proto_msg m;
	struct proto_reply rep;
	char session[128];
	const msgpack_object *o;

	assert_int_equal(th_add_user(d->sock, "olga", NULL), ACCT_OK);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "olga");
	proto_kv_str(&m, "auth_provider", "oidc");
	assert_int_equal(th_call_code(d->sock, "user_mod", &m), ACCT_OK);
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "olga");
	assert_int_equal(th_call(d->sock, "session_add", &m, &rep), ACCT_OK);
	proto_msg_free(&m);
	assert_int_equal(rep.code, ACCT_OK);
	assert_non_null(o = proto_map_get(rep.result, "token"));
	snprintf(session, sizeof(session), "%.*s", (int)o->via.str.size,
	    o->via.str.ptr);
	proto_reply_free(&rep);
	/* peter's password must not yield to olga's session. */
	assert_int_equal(th_add_user(d->sock, "peter", OLDPW), ACCT_OK);
	assert_int_equal(login(d, "olga", NEWPW), ACCT_ERR_AUTH_FAILED);
	setenv("TEST_SESSION", session, 1);
}

static int
as_auth_passwd(void *arg, FILE *out)
{
	const struct th_daemon *d = arg;
	const char *session = getenv("TEST_SESSION");
	struct proto_msg m;

	proto_msg_init(&m);
	proto_kv_str(&m, "username", "peter");
	proto_kv_str(&m, "token", session);
	proto_kv_str(&m, "new_password", NEWPW);
	fprintf(out, "%d ", th_call_code(d->sock, "passwd", &m));
	proto_msg_free(&m);
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "olga");
	proto_kv_str(&m, "token", session);
	proto_kv_str(&m, "new_password", NEWPW);
	fprintf(out, "%d", th_call_code(d->sock, "passwd", &m));
	proto_msg_free(&m);
	return 0;
}

static void
test_sso_passwd_as_authenticator(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred authn = { TH_NOBODY, TH_NOBODY, 1, { TH_AUTH_GID } };
	char buf[64], want[64];

	if (!th_is_root())
		skip();
	/* Root would take the admin path: ask as an authenticator. */
	sso_setup(state);
	assert_int_equal(th_as(&authn, as_auth_passwd, d, buf, sizeof(buf)),
	    0);
	snprintf(want, sizeof(want), "%d %d", ACCT_ERR_AUTH_FAILED, ACCT_OK);
	assert_string_equal(buf, want);
	assert_int_equal(login(d, "olga", NEWPW), ACCT_OK);
	assert_int_equal(login(d, "peter", NEWPW), ACCT_ERR_AUTH_FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_by_mail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unknown_address_same_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_token,
		    setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_new_request_keeps_old,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_change_ends_links,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_mail_limit_per_source,
		    setup_per_source, teardown),
		cmocka_unit_test_setup_teardown(test_activation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_admin_reset_password,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_sender,
		    setup_envelope, teardown),
		cmocka_unit_test_setup_teardown(test_not_configured, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_failing_and_slow_mailer,
		    setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failing_mailer_fails_the_command, setup_lazy,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_mail_still_queued,
		    setup_lazy, th_teardown),
		cmocka_unit_test_setup_teardown(
		    test_sso_passwd_as_authenticator, th_setup, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
