/*
 * complete.c: `acctc --complete CWORD WORDS...`, what the bash
 * completion asks: the words that may follow, from the command table
 * and its help text (so new commands and flags complete with no edit of
 * the script), and usernames when the daemon lets the caller list them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctc.h"

/* What the script does with the line ":files": complete file names. */
#define FILES	":files"

static void
offer(const char *word, size_t n, const char *cur)
{
	if (n >= strlen(cur) && strncmp(word, cur, strlen(cur)) == 0)
		printf("%.*s\n", (int)n, word);
}

/* The n-th word (from 0) of a command's name, and its length. */
static const char *
name_word(const char *name, int n, size_t *len)
{
	for (; n > 0 && *name != '\0'; n--) {
		name += strcspn(name, " ");
		name += strspn(name, " ");
	}
	*len = strcspn(name, " ");
	return *len > 0 ? name : NULL;
}

static int
name_words(const char *name)
{
	size_t len;
	int n = 0;

	while (name_word(name, n, &len) != NULL)
		n++;
	return n;
}

/* Whether words (n of them) begin the command's name. */
static bool
name_starts(const char *name, char **words, int n)
{
	size_t len;

	for (int i = 0; i < n; i++) {
		const char *w = name_word(name, i, &len);

		if (w == NULL || strlen(words[i]) != len ||
		    strncmp(w, words[i], len) != 0)
			return false;
	}
	return true;
}

/*
 * The flags in a command's help: each line that starts (after spaces)
 * with '-' names one or two ("-n, --name NAME"), and in its text may
 * name the opposite ("(--no-webdav disallows it)"). For each: fn(flag,
 * length, its metavar or NULL).
 */
typedef void flag_fn(const char *flag, size_t n, const char *meta,
    size_t metan, void *arg);

static void
each_flag(const char *help, flag_fn *fn, void *arg)
{
	for (const char *l = help; l != NULL && *l != '\0';) {
		const char *end = l + strcspn(l, "\n"), *p = l + strspn(l, " ");
		const char *flag[4], *meta = NULL;
		size_t len[4], metan = 0;
		int nf = 0;

		/* "-n, --count LIMIT": the flags, then their metavar. */
		while (p < end && *p == '-' && nf < 4) {
			const char *m = p + strcspn(p, " ,\n");

			flag[nf] = p;
			len[nf++] = (size_t)(m - p);
			if (*m == ' ' && isupper((unsigned char)m[1])) {
				meta = m + 1;
				metan = strcspn(meta, " \n");
			}
			if (*m != ',')
				break;
			p = m + 1 + strspn(m + 1, " ");
		}
		for (int i = 0; i < nf; i++)
			fn(flag[i], len[i], meta, metan, arg);
		/* "(--no-webdav disallows it)" in the text of a flag. */
		for (p = l; nf > 0 && (p = strstr(p, "(--")) != NULL &&
		    p < end; p++)
			fn(p + 1, strcspn(p + 1, " )\n"), NULL, 0, arg);
		l = *end == '\n' ? end + 1 : end;
	}
}

struct flag_query {
	const char	*cur;		/* offer flags that start so */
	const char	*prev;		/* or: the metavar of this flag */
	const char	*meta;
	size_t		 metan;
};

static void
offer_flag(const char *flag, size_t n, const char *meta, size_t metan,
    void *arg)
{
	struct flag_query *q = arg;

	if (q->prev != NULL) {
		if (strlen(q->prev) == n && strncmp(q->prev, flag, n) == 0) {
			q->meta = meta;
			q->metan = metan;
		}
		return;
	}
	offer(flag, n, q->cur);
}

/* Usernames that start with cur, if the daemon lets us list them. */
static void
offer_users(struct acctc *a, const char *cur)
{
	struct proto_msg args;
	struct proto_reply rep;
	const msgpack_object *users;

	proto_msg_init(&args);
	if (cur[0] != '\0')
		proto_kv_str_f(&args, F_SEARCH, cur);
	proto_kv_int_f(&args, F_LIMIT, 200);
	if (acctc_call(a, OP_USER_LIST, &args, &rep) == ACCTC_EXIT_OK &&
	    (users = proto_map_get(rep.result, "users")) != NULL &&
	    users->type == MSGPACK_OBJECT_ARRAY) {
		for (uint32_t i = 0; i < users->via.array.size; i++) {
			const msgpack_object *u = proto_map_get(
			    &users->via.array.ptr[i], "username");

			if (u != NULL && u->type == MSGPACK_OBJECT_STR)
				offer(u->via.str.ptr, u->via.str.size, cur);
		}
		proto_reply_free(&rep);
	}
	proto_msg_free(&args);
}

/* The words after a whole command: its flags, their values, operands. */
static void
complete_args(struct acctc *a, const struct acctc_cmd *cmd, char **w,
    int n, const char *cur)
{
	static const char common[] = "  --help\n  --json\n  --socket PATH\n";
	struct flag_query q = { .cur = cur };

	if (n > 0 && w[n - 1][0] == '-') {
		q.prev = w[n - 1];
		each_flag(cmd->help, offer_flag, &q);
		each_flag(common, offer_flag, &q);
		if (q.meta != NULL) {
			if ((q.metan == 4 && strncmp(q.meta, "FILE", 4) == 0) ||
			    (q.metan == 4 && strncmp(q.meta, "PATH", 4) == 0))
				puts(FILES);
			return;	/* a value: nothing we could know */
		}
		q.prev = NULL;
	}
	if (cur[0] == '-') {
		each_flag(cmd->help, offer_flag, &q);
		each_flag(common, offer_flag, &q);
		return;
	}
	if (strstr(cmd->args, "USERNAME") != NULL)
		offer_users(a, cur);
	else if (strstr(cmd->args, "FILE") != NULL)
		puts(FILES);
}

int
acctc_complete(struct acctc *a, const struct acctc_cmd *cmds, size_t ncmds,
    int argc, char **argv)
{
	static const char globals[] = "  --help\n  --json\n  --socket PATH\n"
	    "  --version\n";
	char **w = argv + 1;
	int cword = argc > 0 ? atoi(argv[0]) : 0, i = 1, n;
	const char *cur;
	struct flag_query q;

	if (cword < 1 || cword >= argc)
		return ACCTC_EXIT_USAGE;
	cur = w[cword];
	/* Global options before the command. */
	while (i < cword && w[i][0] == '-') {
		if (strcmp(w[i], "--socket") == 0 && i + 1 < cword)
			a->socket = w[++i];
		else if (strncmp(w[i], "--socket=", 9) == 0)
			a->socket = w[i] + 9;
		i++;
	}
	if (i == cword && strcmp(w[i - 1], "--socket") == 0) {
		puts(FILES);
		return ACCTC_EXIT_OK;
	}
	if (i == cword && cur[0] == '-') {
		q = (struct flag_query){ .cur = cur };
		each_flag(globals, offer_flag, &q);
		return ACCTC_EXIT_OK;
	}
	/* `acctc help users ...` completes command names too. */
	if (i < cword && strcmp(w[i], "help") == 0)
		i++;
	else if (i == cword)
		offer("help", 4, cur);
	n = cword - i;
	for (size_t k = 0; k < ncmds; k++) {
		int words = name_words(cmds[k].name);
		const char *next;
		size_t len;
		bool seen = false;

		if (!name_starts(cmds[k].name, w + i, n < words ? n : words))
			continue;
		if (n >= words) {
			complete_args(a, &cmds[k], w + i + words, n - words,
			    cur);
			return ACCTC_EXIT_OK;
		}
		/* Each next word once ("users" begins many commands). */
		next = name_word(cmds[k].name, n, &len);
		for (size_t j = 0; j < k && !seen; j++) {
			size_t jl;
			const char *o;

			seen = name_starts(cmds[j].name, w + i, n) &&
			    (o = name_word(cmds[j].name, n, &jl)) != NULL &&
			    jl == len && strncmp(o, next, len) == 0;
		}
		if (!seen)
			offer(next, len, cur);
	}
	return ACCTC_EXIT_OK;
}
