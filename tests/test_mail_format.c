/*
 * test_mail_format.c: reset and activation mail as people read it: the
 * site's name, display names (encoded when not ASCII), lifetimes in
 * words, lines of at most 78 characters with the link alone on one, and
 * templates checked at start and on SIGHUP. Mail goes through msmtp to
 * aiosmtpd; Python's email module reads it as acctd wrote it, and the
 * delivered copy says who received it.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../acctd/acctd.h"
#include "harness.h"

#define PW	"old-password-1"

/* The checks every mail must pass, whatever its words. */
#define WELL_FORMED \
	"assert not m.defects, m.defects\n" \
	"for k in m.keys(): assert not m[k].defects, (k, m[k].defects)\n" \
	"assert all(b < 128 for l in head for b in l), head\n" \
	"assert all(len(l) <= 78 for l in head), head\n" \
	"assert m.get_content_type() == 'text/plain'\n" \
	"assert m.get_content_charset() == 'utf-8'\n" \
	"links = [l for l in lines if '://' in l]\n" \
	"assert len(links) == 1 and links[0].startswith('https://'), links\n" \
	"assert links[0] == links[0].strip(), links\n" \
	"long = [l for l in lines if len(l) > 78 and l not in links]\n" \
	"assert not long, long\n" \
	"assert 'acctc' not in body, body\n"

/* ---- the words, without a daemon ---- */

static void
test_lifetime_words(void **state)
{
	static const struct {
		uint32_t	 s;
		const char	*words;
	} t[] = {
		{ 1, "1 second" }, { 59, "59 seconds" }, { 60, "1 minute" },
		{ 90, "1 minute and 30 seconds" }, { 1800, "30 minutes" },
		{ 3600, "1 hour" }, { 5400, "1 hour and 30 minutes" },
		{ 3661, "1 hour, 1 minute and 1 second" },
		{ 7200, "2 hours" }, { 86400, "24 hours" },
		{ 129600, "36 hours" }, { 172800, "2 days" },
		{ 176400, "49 hours" }, { 2592000, "30 days" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mailtext_lifetime(t[i].s, buf, sizeof(buf));
		if (strcmp(buf, t[i].words) != 0)
			fail_msg("%u seconds: '%s', want '%s'", t[i].s, buf,
			    t[i].words);
	}
}

/* Code points per line, at most 78 unless the line is one word. */
static void
assert_wrapped(const char *body)
{
	for (const char *l = body; *l != '\0';) {
		size_t len = strcspn(l, "\n"), cols = 0;
		size_t lead = strspn(l, " ");

		for (size_t i = 0; i < len; i++)
			cols += ((unsigned char)l[i] & 0xc0) != 0x80;
		if (cols > 78 && memchr(l + lead, ' ', len - lead) != NULL)
			fail_msg("a line of %zu characters:\n%.*s\nin:\n%s",
			    cols, (int)len, l, body);
		assert_true(len == 0 || l[len - 1] != ' ');
		l += len + (l[len] == '\n');
	}
}

static void
test_wrapping(void **state)
{
	char name[160], site[100], why[256], *subject, *body;
	const char *link = "https://photos.example.org/reset?token="
	    "0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef";
	struct mailtext_vars v = { name, "alice", site, "30 minutes", link,
	    "tok" };
	/* An indented paragraph keeps its indent; a word longer than a
	 * line stays whole. */
	const char *tpl = "Subject: {site}: a new password for {name}\n\n"
	    "Dear {name},\n\n"
	    "    an indented paragraph that goes on and on, long enough to "
	    "be wrapped twice over, with {name} in it and {site} as well\n\n"
	    "{link}\n\n"
	    "Zoë-Ångström-Überlänge-Wort-ohne-Leerzeichen-das-länger-ist-als-"
	    "eine-ganze-Zeile-von-achtundsiebzig-Zeichen\n";

	(void)state;
	snprintf(name, sizeof(name), "Zoë Ångström-Überlänge %s",
	    "with a display name that alone is nearly a line long");
	snprintf(site, sizeof(site), "Die Fotos von Familie Ångström");
	if (mailtext_check(tpl, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	for (int builtin = 0; builtin < 3; builtin++) {
		assert_int_equal(mailtext_render(builtin == 2 ? tpl : "",
		    builtin == 1, &v, &subject, &body), 0);
		assert_wrapped(body);
		/* The link alone on its line, once. */
		assert_non_null(strstr(body, "\n\n"));
		char want[300];
		snprintf(want, sizeof(want), "\n%s\n", link);
		assert_non_null(strstr(body, want));
		assert_int_equal(th_count(body, link), 1);
		/* One newline at the end. */
		assert_true(body[strlen(body) - 1] == '\n' &&
		    body[strlen(body) - 2] != '\n');
		assert_null(strchr(subject, '\n'));
		if (builtin == 0) {
			assert_string_equal(subject, "Reset your password for "
			    "Die Fotos von Familie Ångström");
			assert_true(th_contains(body, "within 30 minutes"));
			assert_true(th_contains(body, "did not ask"));
		} else if (builtin == 1) {
			assert_string_equal(subject, "Activate your account for"
			    " Die Fotos von Familie Ångström");
			assert_true(th_contains(body, "did not expect"));
		} else {
			const char *p = strstr(body, "\n    an indented ");
			int n = 0;

			assert_non_null(p);
			for (p++; *p != '\n'; p = strchr(p, '\n') + 1, n++)
				assert_memory_equal(p, "    ", 4);
			assert_true(n >= 3);
			assert_string_equal(subject, "Die Fotos von Familie "
			    "Ångström: a new password for Zoë Ångström-Überlänge"
			    " with a display name that alone is nearly a line "
			    "long");
		}
		free(subject);
		free(body);
	}
}

static void
test_template_check(void **state)
{
	static const struct {
		const char	*text;
		const char	*why;	/* NULL: valid */
	} t[] = {
		{ "Hi {name},\n\n{link}\n", NULL },
		{ "Subject: Hi from {site}\n\n{link}\n{token}\n", NULL },
		{ "  {link}  \n", NULL },
		{ "{ not a placeholder } {} {Name}\n{link}\n", NULL },
		{ "Hi {nmae},\n{link}\n", "line 1: unknown placeholder {nmae}" },
		{ "Hi,\n\nopen {link} now\n", "line 3: {link} must be alone" },
		{ "Hi,\n", "has no {link}" },
		{ "", "has no {link}" },
		{ "Subject: {link}\n\n{link}\n", "line 1: the subject cannot" },
		{ "Subject: {token}\n\n{link}\n", "line 1: the subject cannot" },
		{ "Subject: Hi\n{link}\n", "line 2: the Subject line must be" },
		{ "Subject:  \n\n{link}\n", "line 1: the subject is empty" },
		{ "Hi\x01\n{link}\n", "line 1: holds a control character" },
		{ "Hi\n\n\n{link}\n\x1b[31m\n", "line 5: holds a control" },
		{ "Hi \xff\n{link}\n", "is not valid UTF-8" },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = mailtext_check(t[i].text, why, sizeof(why));

		if (t[i].why == NULL && rc != 0)
			fail_msg("'%s' refused: %s", t[i].text, why);
		if (t[i].why != NULL && (rc != -1 || !th_contains(why,
		    t[i].why)))
			fail_msg("'%s': %s, want '%s'", t[i].text,
			    rc == 0 ? "accepted" : why, t[i].why);
	}
}

static int
parse(struct config *c, const char *text, char *err, size_t errsz)
{
	config_defaults(c);
	return config_parse(c, "test.conf", text, err, errsz);
}

static void
test_config_keys(void **state)
{
	static const struct {
		const char	*line;
		const char	*name, *addr;	/* NULL: refused */
	} from[] = {
		{ "mail_from = photos@example.org", "", "photos@example.org" },
		{ "mail_from = Example Photos <photos@example.org>",
		  "Example Photos", "photos@example.org" },
		{ "mail_from = \"Photos, Inc. \\\"Best\\\"\" <p@example.org>",
		  "Photos, Inc. \"Best\"", "p@example.org" },
		{ "mail_from = Fotos Zoë <fotos@example.org>", "Fotos Zoë",
		  "fotos@example.org" },
		{ "mail_from = <photos@example.org>", "", "photos@example.org" },
		{ "mail_from = Photos <not-an-address>", NULL, NULL },
		{ "mail_from = Photos <photos@example.org", NULL, NULL },
		{ "mail_from = Photos photos@example.org", NULL, NULL },
		{ "mail_from = Ph\x01otos <photos@example.org>", NULL, NULL },
		{ "mail_from = Ph\xc2\x85otos <photos@example.org>", NULL, NULL },
	};
	struct config c;
	char err[512], path[] = "/tmp/acctd-tpl.XXXXXX", line[1000];
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
		int rc = parse(&c, from[i].line, err, sizeof(err));

		if (from[i].name == NULL) {
			if (rc != -1 || !th_contains(err, "Example Photos "
			    "<photos@example.org>"))
				fail_msg("'%s': %s", from[i].line,
				    rc == 0 ? "accepted" : err);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", from[i].line, err);
		assert_string_equal(c.mail_from_name, from[i].name);
		assert_string_equal(c.mail_from_addr, from[i].addr);
	}
	assert_int_equal(parse(&c, "site_name = Example Photos", err,
	    sizeof(err)), 0);
	assert_string_equal(c.site_name, "Example Photos");
	assert_int_equal(parse(&c, "site_name = a\x7f" "b", err, sizeof(err)),
	    -1);
	assert_true(th_contains(err, "test.conf:1: site_name must be text"));
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	memcpy(line, "site_name = ", 12);
	assert_int_equal(parse(&c, line, err, sizeof(err)), -1);
	/* A link that fits one line of mail. */
	memcpy(line, "reset_url = https://e.org/{token}", 33);
	assert_int_equal(parse(&c, line, err, sizeof(err)), -1);
	assert_true(th_contains(err, "at most 900 bytes"));
	line[33] = '\0';
	assert_int_equal(parse(&c, line, err, sizeof(err)), 0);

	/* Templates: read and checked when the file is parsed. */
	assert_int_equal(parse(&c, "reset_template = tpl.txt", err,
	    sizeof(err)), -1);
	assert_true(th_contains(err, "must be an absolute path"));
	assert_int_equal(parse(&c, "reset_template = /nonexistent/tpl.txt",
	    err, sizeof(err)), -1);
	assert_true(th_contains(err, "test.conf:1: reset_template "
	    "/nonexistent/tpl.txt: No such file or directory"));
	assert_int_equal(parse(&c, "reset_template = /tmp", err, sizeof(err)),
	    -1);
	assert_true(th_contains(err, "/tmp: not a regular file"));
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, "Hi {nmae},\r\n{link}\r\n", 20), 20);
	snprintf(line, sizeof(line), "# mail\nactivation_template = %s\n",
	    path);
	assert_int_equal(parse(&c, line, err, sizeof(err)), -1);
	char want[200];
	snprintf(want, sizeof(want), "test.conf:2: activation_template %s: "
	    "line 1: unknown placeholder {nmae}", path);
	if (!th_contains(err, want))
		fail_msg("%s, want %s", err, want);
	/* CR LF line ends are fine, and the text is what was read. */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "Hi {name},\r\n{link}\r\n", 20, 0), 20);
	assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
	assert_string_equal(c.activation_text, "Hi {name},\n{link}\n");
	assert_string_equal(c.activation_template, path);
	assert_string_equal(c.reset_text, "");
	/* At most MAILTEXT_MAX - 1 bytes. */
	for (int i = 0; i < MAILTEXT_MAX; i += 8)
		assert_int_equal(pwrite(fd, "{link}\n\n", 8, i), 8);
	assert_int_equal(parse(&c, line, err, sizeof(err)), -1);
	assert_true(th_contains(err, "larger than 4095 bytes"));
	close(fd);
	unlink(path);
}

/* ---- through the daemon and a real mailer ---- */

struct env {
	struct th_daemon	d;
	struct th_mail		m;
	char			tpl[96];	/* DIR/reset.txt */
	char			*delivered;	/* the last mail, as received */
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	signal(SIGPIPE, SIG_IGN);
	if (e == NULL)
		return -1;
	*state = e;
	if (th_mail_start(&e->m) == -1)
		return -1;
	e->m.keep_raw = true;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;
	int rc;

	if (e == NULL)
		return 0;
	rc = th_stop_with_mail(&e->d, &e->m);
	free(e);
	th_free_all();
	return rc;
}

/* The daemon with the test mailer, then extra lines. */
static void
up(struct env *e, const char *extra)
{
	char conf[4096];
	size_t n;

	assert_int_equal(th_mail_config(&e->m, conf, sizeof(conf)), 0);
	n = strlen(conf);
	snprintf(conf + n, sizeof(conf) - n, "%s", extra);
	assert_int_equal(th_up(&e->d, conf), 0);
}

static void
add(struct env *e, const char *user, const char *name, const char *email)
{
	assert_int_equal(th_add_user(e->d.sock, user, PW), ACCT_OK);
	assert_int_equal(th_call_strs(e->d.sock, "user_mod", "username", user,
	    "name", name, "email", email, (char *)NULL), ACCT_OK);
}

/* The next mail, as acctd wrote it. */
static char *
next_mail(struct env *e, int n)
{
	char *text;

	assert_non_null(e->delivered = th_mail_wait(&e->m, n + 1));
	assert_non_null(text = th_mail_raw(&e->m, n));
	return text;
}

static char *
reset_mail(struct env *e, const char *user)
{
	int n = th_mail_count(&e->m);

	assert_int_equal(th_call_strs(e->d.sock, "user_reset_password",
	    "username", user, (char *)NULL), ACCT_OK);
	return next_mail(e, n);
}

/* The mail went to rcpt alone. */
static void
assert_rcpt(const struct env *e, const char *rcpt)
{
	char code[256];
	const char *res;

	snprintf(code, sizeof(code), "assert m['x-rcptto'] == '%s', "
	    "m['x-rcptto']\n", rcpt);
	res = th_mail_check(e->delivered, code);
	if (strcmp(res, "ok") != 0)
		fail_msg("%s\nin the mail:\n%s", res, e->delivered);
}

static void
assert_mail(const char *text, const char *checks)
{
	char code[4096];
	const char *res;

	snprintf(code, sizeof(code), "%s%s", WELL_FORMED, checks);
	res = th_mail_check(text, code);
	if (strcmp(res, "ok") != 0)
		fail_msg("%s\nin the mail:\n%s", res, text);
}

static void
test_reset_mail_reads_well(void **state)
{
	struct env *e = *state;
	char tok[128], *text;

	up(e, "mail_from = Example Photos <photos@example.org>\n"
	    "site_name = Example Photos\n"
	    "reset_token_lifetime = 1800\n");
	add(e, "alice", "Alice Liddell", "alice@example.org");
	text = reset_mail(e, "alice");
	assert_mail(text,
	    "assert m['subject'] == 'Reset your password for Example Photos'\n"
	    "f = m['from'].addresses[0]\n"
	    "assert (f.display_name, f.addr_spec) == ('Example Photos', "
	    "'photos@example.org'), f\n"
	    "t = m['to'].addresses[0]\n"
	    "assert (t.display_name, t.addr_spec) == ('Alice Liddell', "
	    "'alice@example.org'), t\n"
	    "assert m['message-id'].endswith('@example.org>')\n"
	    "assert m['auto-submitted'] == 'auto-generated'\n"
	    "assert lines[0] == 'Hello Alice Liddell,', lines[0]\n"
	    "text = ' '.join(body.split())\n"
	    "assert 'your account \"alice\" at Example Photos' in text, text\n"
	    "assert 'within 30 minutes' in text, text\n"
	    "assert 'If you did not ask for this' in text, text\n"
	    "i = lines.index(links[0])\n"
	    "assert lines[i - 1] == '' and lines[i + 1] == '', lines\n");
	/* The token in the link works. */
	assert_int_equal(th_mail_token(text, tok, sizeof(tok)), 0);
	assert_int_equal(th_call_strs(e->d.sock, "password_reset", "token",
	    tok, "new_password", "new-password-2", (char *)NULL), ACCT_OK);

	/* Activation: the lifetime in days, the subject, the words. */
	struct proto_msg m;
	proto_msg_init(&m);
	proto_kv_str(&m, "username", "bob");
	proto_kv_str(&m, "email", "bob@example.org");
	proto_kv_bool(&m, "activate", true);
	assert_int_equal(th_call_code(e->d.sock, "user_add", &m), ACCT_OK);
	proto_msg_free(&m);
	assert_mail(next_mail(e, 1),
	    "assert m['subject'] == 'Activate your account for Example "
	    "Photos'\n"
	    "assert str(m['to']) == 'bob@example.org', m['to']\n"
	    "assert lines[0] == 'Hello bob,', lines[0]\n"
	    "text = ' '.join(body.split())\n"
	    "assert 'within 2 days' in text, text\n"
	    "assert 'did not expect this mail' in text, text\n");
}

/* Lifetimes in the mail as configured, reloaded by SIGHUP. */
static void
test_lifetime_in_mail(void **state)
{
	static const struct {
		const char	*seconds, *words;
	} t[] = {
		{ "86400", "24 hours" }, { "172800", "2 days" },
		{ "3600", "1 hour" }, { "5400", "1 hour and 30 minutes" },
	};
	struct env *e = *state;
	char conf[2048], extra[2400], check[256];
	size_t off;

	up(e, "");
	add(e, "alice", "", "alice@example.org");
	/* The default: 24 hours, and the site is the link's host. */
	assert_mail(reset_mail(e, "alice"),
	    "assert m['subject'] == 'Reset your password for example.org'\n"
	    "assert 'within 24 hours' in ' '.join(body.split()), body\n");
	for (size_t i = 1; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(th_mail_config(&e->m, conf, sizeof(conf)), 0);
		snprintf(extra, sizeof(extra), "%sreset_token_lifetime = %s\n",
		    conf, t[i].seconds);
		assert_int_equal(th_write_config(&e->d, extra), 0);
		off = th_log_size(&e->d);
		assert_int_equal(kill(e->d.pid, SIGHUP), 0);
		assert_int_equal(th_wait_log(&e->d, off, "configuration "
		    "reloaded", TH_WAIT_MS), 0);
		snprintf(check, sizeof(check), "assert 'within %s' in ' '.join"
		    "(body.split()), body\n", t[i].words);
		assert_mail(reset_mail(e, "alice"), check);
	}
}

/* Names and a site that are not ASCII: encoded words in the headers,
 * UTF-8 in the body; specials in a display name are quoted. */
static void
test_non_ascii_and_specials(void **state)
{
	struct env *e = *state;

	up(e, "mail_from = Fotos der Familie Ångström <fotos@example.org>\n"
	    "site_name = Die Fotos der Familie Ångström, Zoë und Jürgen\n");
	add(e, "zoe", "Zoë Ångström-Überlänge", "zoe@example.org");
	assert_mail(reset_mail(e, "zoe"),
	    "assert b'=?utf-8?B?' in b''.join(head), head\n"
	    "assert m['subject'] == 'Reset your password for Die Fotos der "
	    "Familie Ångström, Zoë und Jürgen', m['subject']\n"
	    "f = m['from'].addresses[0]\n"
	    "assert f.display_name == 'Fotos der Familie Ångström', f\n"
	    "assert f.addr_spec == 'fotos@example.org', f\n"
	    "t = m['to'].addresses[0]\n"
	    "assert t.display_name == 'Zoë Ångström-Überlänge', t\n"
	    "assert lines[0] == 'Hello Zoë Ångström-Überlänge,', lines[0]\n"
	    "assert m['content-transfer-encoding'] == '8bit'\n");
	assert_int_equal(th_stop(&e->d), 0);
	/* An address in the display name stays a name: the mail goes to
	 * the account alone. */
	char conf[2048], extra[2400];
	assert_int_equal(th_mail_config(&e->m, conf, sizeof(conf)), 0);
	snprintf(extra, sizeof(extra), "%smail_from = Eve <eve@example.net>, "
	    "x@example.net <photos@example.org>\n", conf);
	assert_int_equal(th_write_config(&e->d, extra), 0);
	assert_int_equal(th_start(&e->d), 0);
	assert_int_equal(th_call_strs(e->d.sock, "user_mod", "username", "zoe",
	    "name", "Zoë \"Z\" <zoe@example.net>, Bcc: a@example.net",
	    (char *)NULL), ACCT_OK);
	assert_mail(reset_mail(e, "zoe"),
	    "f = m['from'].addresses\n"
	    "assert len(f) == 1 and f[0].addr_spec == 'photos@example.org', f\n"
	    "assert f[0].display_name == 'Eve <eve@example.net>, "
	    "x@example.net', f\n"
	    "t = m['to'].addresses\n"
	    "assert len(t) == 1 and t[0].addr_spec == 'zoe@example.org', t\n"
	    "assert t[0].display_name == 'Zoë \"Z\" <zoe@example.net>, Bcc: "
	    "a@example.net', t\n"
	    "assert m['bcc'] is None\n");
	assert_rcpt(e, "zoe@example.org");
}

/*
 * A display name holding line breaks is refused; one that is in the
 * database all the same (written by hand, or by an older version) adds
 * no header and no line to the mail.
 */
static void
test_header_injection(void **state)
{
	struct env *e = *state;
	sqlite3 *db;
	sqlite3_stmt *st;

	up(e, "site_name = Photos\n");
	add(e, "eve", "Eve", "eve@example.org");
	assert_int_equal(th_call_strs(e->d.sock, "user_mod", "username", "eve",
	    "name", "Eve\r\nBcc: mallory@example.net", (char *)NULL),
	    ACCT_ERR_INVALID);
	assert_int_equal(sqlite3_open(e->d.db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE accounts SET display_name = ?1 "
	    "WHERE username = 'eve'", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, "Eve\r\nBcc: mallory@example.net\r\n\r\n"
	    "Click here", -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(th_db_changed(&e->d), 0);
	assert_mail(reset_mail(e, "eve"),
	    "assert m['bcc'] is None, m['bcc']\n"
	    "assert not any(l.lower().startswith(b'bcc') for l in head), head\n"
	    "assert lines[0] == 'Hello Eve??Bcc: mallory@example.net????Click "
	    "here,', lines[0]\n"
	    "assert m['to'].addresses[0].addr_spec == 'eve@example.org'\n");
	assert_rcpt(e, "eve@example.org");
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
reconfigure(struct env *e, const char *extra)
{
	char conf[2048], all[4096];

	assert_int_equal(th_mail_config(&e->m, conf, sizeof(conf)), 0);
	snprintf(all, sizeof(all), "%s%s", conf, extra);
	assert_int_equal(th_write_config(&e->d, all), 0);
}

/* A template in use; a bad one refused at start and on SIGHUP with the
 * file and the reason, the good one kept. */
static void
test_templates(void **state)
{
	struct env *e = *state;
	char extra[512], want[512], *log;
	size_t off;
	pid_t pid;
	int st;

	assert_int_equal(th_init(&e->d, NULL), 0);
	snprintf(e->tpl, sizeof(e->tpl), "%s/reset.txt", e->d.dir);
	write_file(e->tpl, "Subject: Neues Passwort für {site}\n\n"
	    "Hallo {name},\n\n"
	    "jemand möchte das Passwort des Kontos {username} bei {site} "
	    "ändern. Der Link gilt {lifetime} lang:\n\n"
	    "  {link}\n\n"
	    "Oder in der Shell: acctc passwd --token {token}\n");
	snprintf(extra, sizeof(extra), "site_name = Fotos\n"
	    "reset_template = %s\n", e->tpl);
	reconfigure(e, extra);
	assert_int_equal(th_start(&e->d), 0);
	add(e, "jo", "Jo", "jo@example.org");
	char *text = reset_mail(e, "jo");
	char tok[128];
	assert_int_equal(th_mail_token(text, tok, sizeof(tok)), 0);
	char check[1024];
	snprintf(check, sizeof(check),
	    "assert m['subject'] == 'Neues Passwort für Fotos', m['subject']\n"
	    "assert lines[0] == 'Hallo Jo,', lines\n"
	    "t = ' '.join(body.split())\n"
	    "assert 'des Kontos jo bei Fotos ändern. Der Link gilt 24 hours "
	    "lang:' in t, t\n"
	    "assert t.endswith('Oder in der Shell: acctc passwd --token "
	    "%s'), t\n", tok);
	/* The template names acctc: not the built-in's checks. */
	const char *res = th_mail_check(text, check);
	if (strcmp(res, "ok") != 0)
		fail_msg("%s\nin:\n%s", res, text);

	/* SIGHUP with a broken template: the old one stays. */
	write_file(e->tpl, "Hallo {nmae},\n\n{link}\n");
	off = th_log_size(&e->d);
	assert_int_equal(kill(e->d.pid, SIGHUP), 0);
	snprintf(want, sizeof(want), "reset_template %s: line 1: unknown "
	    "placeholder {nmae}", e->tpl);
	if (th_wait_log(&e->d, off, want, TH_WAIT_MS) != 0) {
		th_print_log(&e->d);
		fail_msg("no '%s' in the log", want);
	}
	log = th_keep(th_read_log(&e->d));
	assert_true(th_contains(log + off, "keeping the old configuration: "));
	assert_true(th_contains(log + off, e->d.conf));
	assert_true(th_contains(reset_mail(e, "jo"), "Hallo Jo,"));
	/* Fixed: the new words from the next mail on. */
	write_file(e->tpl, "Servus {name}!\n\n{link}\n");
	off = th_log_size(&e->d);
	assert_int_equal(kill(e->d.pid, SIGHUP), 0);
	assert_int_equal(th_wait_log(&e->d, off, "configuration reloaded",
	    TH_WAIT_MS), 0);
	assert_mail(reset_mail(e, "jo"),
	    "assert m['subject'] == 'Reset your password for Fotos'\n"
	    "assert lines[0] == 'Servus Jo!', lines\n");

	/* At start: acctd does not start, and says why. */
	assert_int_equal(th_stop(&e->d), 0);
	write_file(e->tpl, "Hallo {name}, hier: {link}\n");
	off = th_log_size(&e->d);
	assert_true((pid = th_spawn(&e->d)) > 0);
	st = th_wait_pid(pid, TH_WAIT_MS);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
	log = th_keep(th_read_log(&e->d));
	snprintf(want, sizeof(want), ": reset_template %s: line 1: {link} "
	    "must be alone on its line", e->tpl);
	if (!th_contains(log + off, want))
		fail_msg("no '%s' in:\n%s", want, log + off);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetime_words),
		cmocka_unit_test(test_wrapping),
		cmocka_unit_test(test_template_check),
		cmocka_unit_test(test_config_keys),
		cmocka_unit_test_setup_teardown(test_reset_mail_reads_well,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifetime_in_mail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_non_ascii_and_specials,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_injection, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
