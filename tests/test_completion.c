/*
 * test_completion.c: the bash completion of acctc (acctc/acctc.bash on
 * acctc --complete), driven through bash's COMP_WORDS without a
 * terminal: every command and flag acctc --help and help COMMAND list,
 * usernames for those who may list them, file names, and the install.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/*
 * COMPREPLY for the words (the last is the one completed), as bash
 * leaves it after the script's function ran: one per line, th_keep'd.
 * dir: where bash runs (NULL: here).
 */
static char *
complete_in(const char *dir, const char *const *words)
{
	char script[4096], path[512];
	struct th_result r = { 0 };
	size_t o;
	int n = 0;

	snprintf(path, sizeof(path), "%s/acctc/acctc.bash", th_srcdir());
	o = (size_t)snprintf(script, sizeof(script), "%s%s%s"
	    "source %s || exit 9\n"
	    "complete -p acctc >/dev/null || exit 8\n"
	    "COMP_WORDS=(%s", dir ? "cd " : "", dir ? dir : "",
	    dir ? " || exit 7\n" : "", path, th_acctc_bin());
	for (; words[n] != NULL; n++)
		o += (size_t)snprintf(script + o, sizeof(script) - o,
		    " '%s'", words[n]);
	snprintf(script + o, sizeof(script) - o, ")\nCOMP_CWORD=%d\n"
	    "_acctc\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n", n);
	const char *const argv[] = { "/bin/bash", "--norc", "--noprofile",
	    "-c", script, NULL };
	if (th_run_v(argv, NULL, NULL, NULL, &r) != 0)
		fail_msg("bash: status %d: %s\n%s", r.status, r.err, script);
	/* Nothing offered prints one empty line. */
	return strcmp(r.out, "\n") == 0 ? "" : r.out;
}

#define complete(...)	complete_in(NULL, (const char *const[]){	\
	__VA_ARGS__, NULL })

/* Whether word is one of the lines of list. */
static bool
offered(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *l = list; *l != '\0'; l += strcspn(l, "\n") + 1) {
		if (strncmp(l, word, n) == 0 && (l[n] == '\n' || l[n] == '\0'))
			return true;
		if (l[strcspn(l, "\n")] == '\0')
			break;
	}
	return false;
}

static void
test_us_tab(void **state)
{
	char *out;

	(void)state;
	assert_string_equal(complete("us"), "users\n");
	assert_string_equal(complete("users", "res"),
	    "reset\nreset-password\n");
	assert_string_equal(complete("--json", "users", "sh"), "show\n");
	assert_string_equal(complete("users", "add", "--ema"), "--email\n");
	out = complete("");
	assert_true(offered(out, "help") && offered(out, "hello") &&
	    offered(out, "passwd"));
	/* Each word once, however many commands begin with it. */
	assert_int_equal(th_count(out, "users\n"), 1);
	assert_string_equal(complete("--"), "--help\n--json\n--socket\n"
	    "--version\n");
	/* A flag's value is nothing we can guess; -n takes one. */
	assert_string_equal(complete("users", "ls", "-n", ""), "");
	assert_string_equal(complete("help", "cli"), "clients\n");
}

/* The words of each command as `acctc --help` lists them. */
static char **
commands(int *count)
{
	struct th_result r = { 0 };
	const char *const args[] = { "--help", NULL };
	char **cmds = th_keep(calloc(64, sizeof(char *)));
	int n = 0;

	assert_int_equal(th_acctc_v(NULL, NULL, NULL, args, &r), 0);
	const char *l = strstr(r.out, "\ncommands:\n");
	assert_non_null(l);
	for (l += 11; strncmp(l, "  ", 2) == 0 && n < 64; l = strchr(l,
	    '\n') + 1) {
		size_t len = strcspn(l + 2, "[\n");
		/* The name ends where its operands begin: the first word
		 * in capitals, or an option. */
		const char *p = l + 2, *e = p;

		while (e < p + len && !(*e >= 'A' && *e <= 'Z') && *e != '-')
			e += strcspn(e, " ") + 1;
		len = e < p + len ? (size_t)(e - p) : len;
		while (len > 0 && p[len - 1] == ' ')
			len--;
		cmds[n++] = th_keep(strndup(p, len));
	}
	*count = n;
	return cmds;
}

/* Every command of acctc --help completes, word by word; every flag of
 * its help completes after it. Nothing in the script names them. */
static void
test_every_command_and_flag(void **state)
{
	int n, flags = 0;
	char **cmds = commands(&n);

	(void)state;
	assert_true(n >= 20);
	for (int i = 0; i < n; i++) {
		const char *words[8] = { 0 };
		char *copy = th_keep(strdup(cmds[i])), *save, *w;
		int k = 0;

		for (w = strtok_r(copy, " ", &save); w != NULL && k < 6;
		    w = strtok_r(NULL, " ", &save)) {
			char prefix[64];

			snprintf(prefix, sizeof(prefix), "%.2s", w);
			words[k] = prefix;
			if (!offered(complete_in(NULL, words), w))
				fail_msg("'%s': '%s' not offered for '%s'",
				    cmds[i], w, prefix);
			words[k++] = w;
		}
		/* Its flags, as `acctc help COMMAND` shows them. */
		struct th_result r = { 0 };
		const char *help[8] = { "help" };
		for (int j = 0; j < k; j++)
			help[j + 1] = words[j];
		assert_int_equal(th_acctc_v(NULL, NULL, NULL, help, &r), 0);
		words[k] = "-";
		char *offer = complete_in(NULL, words);
		/* "  -n, --count LIMIT   text": -n and --count. */
		for (const char *l = r.out; (l = strchr(l, '\n')) != NULL;) {
			const char *p;

			l++;
			p = l + strspn(l, " ");
			char flag[64];
			int len;

			while (*p == '-' && sscanf(p, "%63[-a-zA-Z0-9]%n", flag,
			    &len) == 1) {
				if (!offered(offer, flag))
					fail_msg("'%s': flag %s not offered:"
					    "\n%s", cmds[i], flag, offer);
				flags++;
				if (strncmp(p + len, ", -", 3) != 0)
					break;
				p += len + 2;
			}
		}
		assert_true(offered(offer, "--help"));
		assert_true(offered(offer, "--json"));
	}
	assert_true(flags >= 50);
}

static void
test_usernames(void **state)
{
	struct th_daemon *d = *state;
	struct th_cred nobody = { TH_NOBODY, TH_NOBODY, 0, { 0 } };
	struct th_result r = { 0 };
	char *out;

	assert_int_equal(th_add_user(d->sock, "alice", NULL), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "anna", NULL), ACCT_OK);
	assert_int_equal(th_add_user(d->sock, "bob", NULL), ACCT_OK);
	/* An admin: the daemon's accounts. */
	assert_string_equal(complete("--socket", d->sock, "users", "show",
	    "a"), "alice\nanna\n");
	assert_string_equal(complete("--socket", d->sock, "passwd", "b"),
	    "bob\n");
	out = complete("--socket", d->sock, "users", "mod", "-w", "");
	assert_true(offered(out, "alice") && offered(out, "bob"));
	/* A flag's value is no username. */
	assert_string_equal(complete("--socket", d->sock, "users", "add",
	    "-m", "a"), "");
	/* Someone who may not list accounts gets none, and no noise. */
	if (th_is_root()) {
		char script[1024];

		snprintf(script, sizeof(script), "source %s/acctc/acctc.bash\n"
		    "COMP_WORDS=(%s --socket %s users show a)\nCOMP_CWORD=5\n"
		    "_acctc\necho \"[${COMPREPLY[*]}]\"\n", th_srcdir(),
		    th_acctc_bin(), d->sock);
		const char *const argv[] = { "/bin/bash", "--norc", "-c",
		    script, NULL };
		assert_int_equal(th_run_v(argv, &nobody, NULL, NULL, &r), 0);
		assert_string_equal(r.out, "[]\n");
		assert_string_equal(r.err, "");
	}
	/* No daemon: no names, no error on the command line. */
	assert_string_equal(complete("--socket", "/nonexistent/sock", "users",
	    "show", "a"), "");
}

static void
test_file_names(void **state)
{
	struct th_daemon *d = *state;
	char path[160];
	FILE *f;

	assert_int_equal(th_init(d, NULL), 0);
	snprintf(path, sizeof(path), "%s/import.csv", d->dir);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_string_equal(complete_in(d->dir, (const char *const[]){
	    "users", "import", "imp", NULL }), "import.csv\n");
	assert_string_equal(complete_in(d->dir, (const char *const[]){
	    "--socket", "imp", NULL }), "import.csv\n");
}

/* make install puts the script where bash-completion looks. */
static void
test_installed(void **state)
{
	const char *stage = getenv("ACCT_STAGE");
	char path[512], *a, *b;

	(void)state;
	if (stage == NULL)
		fail_msg("ACCT_STAGE is not set: run through make test");
	snprintf(path, sizeof(path), "%s/usr/share/bash-completion/"
	    "completions/acctc", stage);
	assert_non_null(a = th_slurp(path, NULL));
	snprintf(path, sizeof(path), "%s/acctc/acctc.bash", th_srcdir());
	assert_non_null(b = th_slurp(path, NULL));
	assert_string_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_us_tab),
		cmocka_unit_test(test_every_command_and_flag),
		cmocka_unit_test_setup_teardown(test_usernames, th_setup,
		    th_teardown),
		cmocka_unit_test_setup_teardown(test_file_names, th_setup_lazy,
		    th_teardown),
		cmocka_unit_test(test_installed),
	};

	if (th_acctc_bin() == NULL) {
		fprintf(stderr, "test_completion: ACCTC_BIN is not set\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
