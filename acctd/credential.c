/*
 * credential.c: the one place a secret of an account is checked: the
 * password (or an app password standing in for it), the TOTP code and
 * the recovery codes, for every operation that takes one. Each check
 * honours locks, counts against the throttle from before the hash, is
 * audited in the same commit as its outcome, and when it fails takes
 * what a verify at the current parameters takes, or the dearest stored
 * hash's verify when that is more (hash_fail_us()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/log.h"
#include "acctd.h"

const char *const cred_status_names[CRED__COUNT] = {
	[CRED_OK]		= "OK",
	[CRED_FAILED]		= "FAILED",
	[CRED_LOCKED]		= "LOCKED",
	[CRED_DISABLED]		= "DISABLED",
	[CRED_PENDING]		= "PENDING",
	[CRED_EXPIRED]		= "EXPIRED",
	[CRED_CODE_REQUIRED]	= "CODE_REQUIRED",
	[CRED_BAD_CODE]		= "BAD_CODE",
	[CRED_ERROR]		= "ERROR",
};

static void
sleep_us(int64_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000,
	    .tv_nsec = (us % 1000000) * 1000 };

	while (us > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Whose failures these are. For a service (admin or authenticator), the
 * address it reports for its user; a service that reports none shares
 * one counter per service, which slows down rather than locks, so
 * failures on made-up names do not lock out all its users. Anyone else
 * is one principal, its uid, whatever address it names.
 */
static void
source_of(const struct ctx *x, const struct cred_check *c,
    struct throttle_source *s)
{
	/* Not for a setuid root acting for a user: that user is one. */
	bool service = (x->classes & (C_ADMIN | C_AUTH)) != 0 &&
	    x->hc.reserved;

	s->uid = x->hc.uid;
	s->remote = service ? c->remote : "";
	s->service = service && c->remote[0] == '\0' ? c->realm : "";
	s->locks = !service || c->remote[0] != '\0';
}

/*
 * The one log line of an attempt (acctd(8), LOGGING), in the form
 * fail2ban's filter reads: rhost first, the address the throttle keyed
 * on and nothing else, so that no value after it can pose as one. The
 * name of an unknown account is not logged: it may be a password typed
 * in the wrong field.
 */
static const struct {
	const char	*event;
	const char	*id;		/* MESSAGE_ID, from systemd-id128 new */
} events[CRED__COUNT] = {
	[CRED_OK]		= { "login ok",
	    "6d37f35f9a8248e9a30e740adae4f098" },
	[CRED_FAILED]		= { "login failed",
	    "1b3cfd8756044238a25e5cbe11b46c65" },
	[CRED_LOCKED]		= { "login locked",
	    "805f06b304184982a1424e2c030231f0" },
	[CRED_DISABLED]		= { "login failed",
	    "1b3cfd8756044238a25e5cbe11b46c65" },
	[CRED_PENDING]		= { "login failed",
	    "1b3cfd8756044238a25e5cbe11b46c65" },
	[CRED_EXPIRED]		= { "login failed",
	    "1b3cfd8756044238a25e5cbe11b46c65" },
	[CRED_CODE_REQUIRED]	= { "login code required",
	    "e1a4e86e5b22465198b8c23167e64aa5" },
	[CRED_BAD_CODE]		= { "login failed",
	    "1b3cfd8756044238a25e5cbe11b46c65" },
	[CRED_ERROR]		= { "login error",
	    "899e814605a04d779228c7ff21365968" },
};

static void
log_attempt(const struct ctx *x, const struct cred_check *c,
    const struct throttle_source *src, const char *user)
{
	char uid[16];
	const struct log_field f[] = {
		{ "rhost", "ACCTD_RHOST", src->remote },
		{ "service", "ACCTD_SERVICE", c->realm },
		{ "user", "ACCTD_USER", user },
		{ "uid", "ACCTD_UID", uid },
		{ "outcome", "ACCTD_OUTCOME", cred_status_names[c->status] },
	};

	snprintf(uid, sizeof(uid), "%u", (unsigned)x->hc.uid);
	log_event(LOG_LVL_INFO, events[c->status].event, events[c->status].id,
	    f, sizeof(f) / sizeof(f[0]));
}

/* An app password of this account whose scope names the service. */
static bool
app_password(const struct account *a, const char *pw, const char *service,
    char id[TOKEN_ID_LEN])
{
	char owner[33];

	if (token_check(pw, TOKEN_APP_PASSWORD, service, owner, NULL) !=
	    ACCT_OK ||
	    strcmp(owner, a->id) != 0)
		return false;
	token_id_of(pw, id);
	return true;
}

/*
 * Must the password be changed now? An admin said so, or it is older
 * than the account's maximum age (or the config's, when it has none).
 */
static bool
must_change(const struct config *cfg, const struct account *a)
{
	int64_t days = a->max_age_days >= 0 ? a->max_age_days :
	    (int64_t)cfg->password_max_age_days;

	if (a->must_change)
		return true;
	return days > 0 && a->hash != NULL && a->password_changed_at != 0 &&
	    now_unix() >= a->password_changed_at + days * 86400;
}

/*
 * The password: one hash, whatever the account's state. A second factor
 * it asks for is checked by record(), which spends it in the commit
 * that records the login: *code_due.
 */
static enum cred_status
check_password(struct ctx *x, struct cred_check *c, bool known,
    const struct account *a, bool locked, bool *code_due, int *rc)
{
	const struct proto_value *pw = c->password;
	int v;

	/* App passwords stand in for password and code: they exist for
	 * clients (IMAP, WebDAV) that cannot ask for a code. One is a
	 * random token, checked first and without a hash: a mail client
	 * logging in every few seconds costs a lookup and a commit. */
	if (known && !locked && (c->flags & CRED_APP_PASSWORDS) &&
	    app_password(a, pw->str, c->realm, c->app_id)) {
		c->app = true;
		v = ACCT_OK;
	} else if (!known || locked || a->hash == NULL)
		v = hash_dummy(x->cfg, &x->hc, pw->str, pw->len);
	else
		v = hash_check(x->cfg, &x->hc, a->hash, pw->str, pw->len);
	if (v != ACCT_OK && v != ACCT_ERR_AUTH_FAILED) {
		*rc = v;	/* busy, out of memory: undecided */
		return CRED_ERROR;
	}
	if (locked)
		return CRED_LOCKED;
	if (v != ACCT_OK)
		return CRED_FAILED;
	switch (account_may_log_in(a, now_unix())) {
	case ACCOUNT_MAY:
		break;
	case ACCOUNT_EXPIRED:
		return CRED_EXPIRED;
	case ACCOUNT_DISABLED:
		return CRED_DISABLED;
	case ACCOUNT_PENDING:
		return CRED_PENDING;
	case ACCOUNT_DELETED:		/* never found as known */
		return CRED_FAILED;
	}
	/* Only now, with the password right, may the code be asked for. */
	if ((c->flags & CRED_SECOND_FACTOR) && a->two_factor && !c->app) {
		/* A service that cannot ask for it answers as for a wrong
		 * password: "a code is required" would tell the password. */
		if (c->code == NULL && (c->flags & CRED_NO_CODE)) {
			log_info("two-factor account %s: service %s cannot "
			    "ask for a code: refused (an app password will "
			    "do)", a->username, c->realm);
			return CRED_FAILED;
		}
		if (c->code == NULL)
			return CRED_CODE_REQUIRED;
		*code_due = true;
	}
	return CRED_OK;
}

/* The first code of an enrolment, against its pending secret. */
static enum cred_status
check_pending(struct ctx *x, struct cred_check *c, bool known,
    const struct account *a, bool locked, int *rc)
{
	int v;

	if (!known || locked)
		return locked ? CRED_LOCKED : CRED_FAILED;
	if ((v = twofactor_pending_step(a->id, c->code, &c->step)) ==
	    ACCT_ERR_NOT_FOUND) {
		*rc = ctx_fail(x, ACCT_ERR_INVALID, "no enrolment in progress: "
		    "start with totp_enroll");
		return CRED_ERROR;
	}
	if (v != ACCT_OK && v != ACCT_ERR_AUTH_FAILED) {
		*rc = v;
		return CRED_ERROR;
	}
	return v == ACCT_OK ? CRED_OK : CRED_BAD_CODE;
}

/* What an outcome does to the counters: a failure counts, whatever
 * the reason once the secret was tried; a lock charges nothing more. */
static enum throttle_outcome
outcome(enum cred_status s)
{
	switch (s) {
	case CRED_OK:
		return THROTTLE_CLEARED;
	case CRED_LOCKED:
	case CRED_CODE_REQUIRED:
	case CRED_ERROR:
	case CRED__COUNT:
		break;
	default:
		return THROTTLE_FAILED;
	}
	return THROTTLE_UNCOUNTED;
}

/*
 * The outcome for the counters, the last-login stamp and the audit row,
 * in one transaction: one commit per attempt. An outcome is answered
 * only once it is written, so neither a success nor a failure goes
 * unrecorded; if the commit fails, the answer is that error. The second
 * factor a right password still needs is checked and spent first, in
 * the same transaction: of two logins with one code only one gets in,
 * and a login whose commit fails leaves its code unspent.
 */
static int
record(struct ctx *x, struct cred_check *c, const struct account *a,
    bool code_due, const struct throttle_attempt *t, struct audit_login *e)
{
	int rc;

	db_lock();
	if ((rc = db_begin()) == ACCT_OK) {
		if (code_due && (rc = twofactor_spend_locked(a->id,
		    c->code)) == ACCT_ERR_AUTH_FAILED) {
			c->status = CRED_BAD_CODE;
			rc = ACCT_OK;
		}
		e->status = cred_status_names[c->status];
		if (rc == ACCT_OK)
			rc = throttle_record_locked(x->cfg, t,
			    outcome(c->status),
			    (c->flags & CRED_STAMP_LOGIN) != 0);
		if (rc == ACCT_OK)
			rc = auditlog_add_locked(e);
		rc = db_end(rc);
	}
	db_unlock();
	return rc;
}

int
cred_verify(struct ctx *x, struct cred_check *c, int found,
    const struct account *a)
{
	struct audit_login e = { .peer = x->peer, .realm = c->realm,
	    .remote = c->remote, .username = c->name };
	struct throttle_source src;
	struct throttle_attempt t = { .src = &src };
	bool known = found == ACCT_OK, locked, code_due = false;
	unsigned delay_ms;
	int64_t t0;
	int rc = ACCT_OK, wrc;

	c->status = CRED_ERROR;
	c->app = false;
	c->app_id[0] = '\0';
	if (found != ACCT_OK && found != ACCT_ERR_NOT_FOUND)
		return found;
	e.account_id = t.account_id = known ? a->id : NULL;
	/* A caller the pool would refuse is told so before anything is
	 * written: a flood of busy answers costs no disk. Such an attempt
	 * never reached its secret and is not recorded. A local user's
	 * busy answer waits what a hash would have taken, so a loop of
	 * them costs no CPU either. */
	if (c->password != NULL && (rc = hash_admit(&x->hc)) != ACCT_OK) {
		log_debug("uid %u: no hash worker free for %s",
		    (unsigned)x->hc.uid, c->realm);
		if (!x->hc.reserved)
			sleep_us(hash_cost_us());
		return rc;
	}
	source_of(x, c, &src);
	if ((rc = throttle_begin(x->cfg, &t, &locked, &delay_ms)) != ACCT_OK)
		return rc;
	if (delay_ms > 0)
		sleep_us((int64_t)delay_ms * 1000);
	t0 = mono_us();
	c->status = c->password != NULL ?
	    check_password(x, c, known, a, locked, &code_due, &rc) :
	    check_pending(x, c, known, a, locked, &rc);
	if ((wrc = record(x, c, a, code_due, &t, &e)) != ACCT_OK &&
	    c->status != CRED_ERROR) {
		c->status = CRED_ERROR;
		rc = wrc;
	}
	if (c->status == CRED_OK)
		c->must_change = c->password != NULL && !c->app &&
		    must_change(x->cfg, a);
	/* Only now: until it was written, this attempt counted as failed. */
	throttle_end(&t);
	stats_login(c->realm, c->status);
	log_attempt(x, c, &src, known ? a->username : "");
	/* Decided failures cost the dearest verify, whatever the account
	 * or its scheme; busy is at once, for anyone. */
	if (c->status != CRED_OK && c->status != CRED_ERROR) {
		int64_t left = t0 + hash_fail_us() - mono_us();

		if (left > 0)
			sleep_us(left);
	}
	if (c->status == CRED_OK)
		return ACCT_OK;
	if (c->status == CRED_ERROR)
		return rc;
	if (c->status == CRED_CODE_REQUIRED)
		return ctx_fail(x, ACCT_ERR_CODE_REQUIRED, "a two-factor code "
		    "is required");
	return ctx_fail(x, ACCT_ERR_AUTH_FAILED, "authentication failed");
}
