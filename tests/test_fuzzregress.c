/*
 * test_fuzzregress.c: replays the fuzz seeds and every input a fuzzer
 * once crashed on (tests/fuzz/corpus, tests/fuzz/regress) through the
 * harness bodies, in the gcc and ASan builds too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>

#include "fuzz/fuzz_common.c"	/* the harness bodies themselves */

#define FUZZ_DIR	"tests/fuzz"
#define REPLAY_MAX	(1024 * 1024)

typedef void fuzz_fn(const uint8_t *, size_t);

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (f == NULL)
		return NULL;
	buf = malloc(REPLAY_MAX);
	*len = buf ? fread(buf, 1, REPLAY_MAX, f) : 0;
	fclose(f);
	return buf;
}

/* Replay every file of dir; the number replayed, -1 if dir is missing. */
static int
replay(const char *dir, fuzz_fn *fn)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? -1 : -2;
	while ((e = readdir(d)) != NULL) {
		char path[512];
		uint8_t *buf;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((buf = slurp(path, &len)) == NULL)
			continue;
		fn(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void
run(const char *name, fuzz_fn *fn, int min_seeds)
{
	char dir[256];
	int n;

	snprintf(dir, sizeof(dir), FUZZ_DIR "/corpus/%s", name);
	n = replay(dir, fn);
	if (n < min_seeds)
		fail_msg("%s: %d seeds, expected at least %d (run from the "
		    "repository root)", dir, n, min_seeds);
	snprintf(dir, sizeof(dir), FUZZ_DIR "/regress/%s", name);
	if ((n = replay(dir, fn)) < 1)
		fail_msg("%s: %d regression inputs, expected at least one",
		    dir, n);
}

static void
test_request_corpus(void **state)
{
	(void)state;
	run("request", fuzz_payload, 40);
}

static void
test_frame_corpus(void **state)
{
	(void)state;
	run("frame", fuzz_frame, 8);
}

static void
test_config_corpus(void **state)
{
	(void)state;
	run("config", fuzz_config, 12);
}

/* The seeds are what they claim: a sample decodes, or is refused. */
static void
test_seeds_decode_as_named(void **state)
{
	static const struct { const char *file; int code; } cases[] = {
		{ "hello", ACCT_OK },
		{ "user_add", ACCT_OK },
		{ "login", ACCT_OK },
		{ "token_add", ACCT_OK },
		{ "array32_16M", ACCT_ERR_PROTOCOL },
		{ "map32_huge", ACCT_ERR_PROTOCOL },
		{ "deep_arrays", ACCT_ERR_PROTOCOL },
		{ "unknown_op", ACCT_ERR_UNKNOWN_OP },
		{ "bad_version", ACCT_ERR_VERSION },
		{ "dup_arg", ACCT_ERR_INVALID },
		{ "nul_in_str", ACCT_ERR_INVALID },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proto_request req;
		char path[256], msg[256];
		uint8_t *buf;
		size_t len;
		int rc;

		snprintf(path, sizeof(path), FUZZ_DIR "/corpus/request/%s",
		    cases[i].file);
		if ((buf = slurp(path, &len)) == NULL)
			fail_msg("%s: missing", path);
		rc = proto_request_decode(buf, len, &req, msg, sizeof(msg));
		proto_request_free(&req);
		free(buf);
		if (rc != cases[i].code)
			fail_msg("%s: %s, expected %s", cases[i].file,
			    acct_errname(rc), acct_errname(cases[i].code));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_corpus),
		cmocka_unit_test(test_frame_corpus),
		cmocka_unit_test(test_config_corpus),
		cmocka_unit_test(test_seeds_decode_as_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
