/*
 * test_config_files.c: the configuration files the tree ships: the
 * commented sample (every key of acctd.conf(5), each at its default)
 * and the one `make run` writes once, whose mail lands in a file so
 * that the README's reset by mail works.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../acctd/acctd.h"
#include "harness.h"

static char *
src_file(const char *name)
{
	char path[512];
	char *text;

	snprintf(path, sizeof(path), "%s/%s", th_srcdir(), name);
	if ((text = th_slurp(path, NULL)) == NULL)
		fail_msg("cannot read %s", path);
	return text;
}

/* The sample with "# key = value" lines made live. */
static char *
uncomment(const char *text)
{
	char *out = th_keep(strdup(text)), *o = out;

	for (const char *l = text; *l != '\0';) {
		size_t len = strcspn(l, "\n"), k = 2;

		while (k < len && ((l[k] >= 'a' && l[k] <= 'z') || l[k] == '_' ||
		    (l[k] >= '0' && l[k] <= '9')))
			k++;
		if (strncmp(l, "# ", 2) == 0 && k > 2 && k + 2 <= len &&
		    strncmp(l + k, " =", 2) == 0)
			l += 2;
		len = strcspn(l, "\n");
		memcpy(o, l, len);
		o += len;
		l += len;
		if (*l == '\n')
			*o++ = *l++;
	}
	*o = '\0';
	return out;
}

/* Parsed, text gives exactly the built-in defaults. */
static void
assert_defaults(const char *text)
{
	struct config want, got;
	char err[512];

	config_defaults(&want);
	config_defaults(&got);
	if (config_parse(&got, "acctd.conf", text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	if (memcmp(&want, &got, sizeof(want)) != 0)
		fail_msg("the sample's values are not the defaults");
}

/* Lines that are neither empty nor comments. */
static int
live_lines(const char *text)
{
	int n = 0;

	for (const char *l = text; *l != '\0'; l += strcspn(l, "\n") +
	    (l[strcspn(l, "\n")] == '\n'))
		n += *l != '#' && *l != '\n';
	return n;
}

static void
test_sample_is_the_defaults(void **state)
{
	char *sample = src_file("systemd/acctd.conf");
	char *live = uncomment(sample);
	char *man = src_file("man/acctd.conf.5");
	int keys = 0;

	(void)state;
	assert_defaults(sample);
	assert_defaults(live);
	/* Every key acctd.conf(5) describes, once, and no other. */
	for (const char *p = man; (p = strstr(p, "\n.It Ic ")) != NULL; p++) {
		char key[64], line[80];

		if (sscanf(p, "\n.It Ic %63[a-z0-9_] No =", key) != 1)
			continue;
		snprintf(line, sizeof(line), "\n# %s =", key);
		if (th_count(sample, line) != 1)
			fail_msg("'%s' is %d times in the sample", key,
			    th_count(sample, line));
		keys++;
	}
	assert_true(keys >= 30);
	/* Nothing live in the sample; in the live one, the keys alone. */
	assert_int_equal(live_lines(sample), 0);
	assert_int_equal(live_lines(live), keys);
}

/*
 * make run-config writes the file once and keeps the user's edits; with
 * it, a reset mail lands in mail/outbox, where the README's tour finds
 * the token.
 */
static void
test_make_run_config(void **state)
{
	struct th_daemon *d = *state;
	struct th_result r = { 0 };
	char rundir[128], arg[160], conf[160], outbox[160], *text, *mail;
	FILE *f;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(rundir, sizeof(rundir), "%s/run", d->dir);
	snprintf(arg, sizeof(arg), "RUNDIR=%s", rundir);
	snprintf(conf, sizeof(conf), "%s/acctd.conf", rundir);
	snprintf(outbox, sizeof(outbox), "%s/mail/outbox", rundir);
	const char *const args[] = { "run-config", arg, NULL };
	if (th_make(args, &r) != 0)
		fail_msg("make run-config: %s%s", r.out, r.err);
	assert_non_null(text = th_slurp(conf, NULL));
	assert_true(th_contains(text, "sendmail_command = /usr/bin/tee -a "));
	assert_true(th_contains(text, outbox));
	assert_true(th_contains(text, src_file("systemd/acctd.conf")));
	/* The user's edit stays. */
	assert_non_null(f = fopen(conf, "a"));
	fputs("reset_token_lifetime = 1800\n", f);
	assert_int_equal(fclose(f), 0);
	th_result_free(&r);
	assert_int_equal(th_make(args, &r), 0);
	assert_non_null(text = th_slurp(conf, NULL));
	assert_true(th_contains(text, "\nreset_token_lifetime = 1800\n"));

	/* The tour: a reset by mail. */
	assert_int_equal(th_write_config(d, text), 0);
	assert_int_equal(th_start(d), 0);
	TH_RUN(d, "bob-secret-1\n", 0, "users", "add", "--password-stdin",
	    "-m", "bob@example.org", "bob");
	TH_RUN(d, NULL, 0, "passwd", "--forgot", "bob@example.org");
	for (int i = 0; i < 200 && ((mail = th_slurp(outbox, NULL)) == NULL ||
	    !th_contains(mail, "\n\nThe link works once")); i++)
		usleep(50 * 1000);
	assert_non_null(mail);
	assert_true(th_contains(mail, "Subject: Reset your password for the "
	    "acctd tour\n"));
	assert_true(th_contains(mail, "within 30 minutes"));
	/* The README's line that takes the token from the outbox. */
	char script[400];
	snprintf(script, sizeof(script), "sed -n 's/^http.*token=//p' %s | "
	    "tail -n 1", outbox);
	const char *const sh[] = { "/bin/sh", "-c", script, NULL };
	th_result_free(&r);
	assert_int_equal(th_run_v(sh, NULL, NULL, NULL, &r), 0);
	char in[256], tok[128];
	assert_int_equal(th_mail_token(mail, tok, sizeof(tok)), 0);
	snprintf(in, sizeof(in), "%s\n", tok);
	assert_string_equal(r.out, in);
	snprintf(in, sizeof(in), "%sbob-secret-3\n", r.out);
	TH_RUN(d, in, 0, "passwd", "--token", "-", "--password-stdin");
	assert_true(th_password_is(d, "bob", "bob-secret-3"));
	th_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_is_the_defaults),
		cmocka_unit_test_setup_teardown(test_make_run_config,
		    th_setup_lazy, th_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
