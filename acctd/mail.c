/*
 * mail.c: outgoing mail through a sendmail-compatible command, on one
 * thread with a bounded queue, so a slow or failing mailer delays only
 * mail. Messages are RFC 5322 text/plain UTF-8; header values are
 * checked for CR/LF before they are written, names and subjects that
 * are not ASCII go as RFC 2047 encoded words, and headers are folded
 * at 78 columns. A request may wait a while for its message's outcome.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "../common/io.h"
#include "../common/log.h"
#include "acctd.h"

#define MAX_ARGS	32

struct mail {
	char		*to;
	char		*subject;
	char		*text;		/* whole message; holds a token */
	size_t		 len;
	struct mail_wait *wait;		/* who waits for the outcome, NULL */
	struct mail	*next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t outcome;	/* on the monotonic clock: mail_start() */
static struct mail *head, *tail;
static unsigned queued;
static bool stopping, running;
static pthread_t thread;

static void
mail_free(struct mail *m)
{
	free(m->to);
	free(m->subject);
	if (m->text != NULL)
		freezero(m->text, m->len);
	free(m);
}

/* A header value may not carry CR, LF or other controls. */
static bool
header_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

#define HDR_WIDTH	78	/* RFC 5322's recommended line length */
#define EW_BYTES	42	/* text per encoded word: 68 columns */

/* One header field as it is written, folded before a word that would
 * pass HDR_WIDTH. */
struct hdr {
	char	 buf[2048];
	size_t	 len;
	size_t	 col;
	size_t	 start;		/* the column after "Name:" */
	bool	 over;		/* too long: the mail is refused */
};

static void
hdr_init(struct hdr *h, const char *name)
{
	h->len = h->col = h->start = strlcpy(h->buf, name, sizeof(h->buf));
	h->over = false;
}

static void
hdr_raw(struct hdr *h, const char *s, size_t n)
{
	if (h->len + n >= sizeof(h->buf)) {
		h->over = true;
		return;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

static void
hdr_word(struct hdr *h, const char *w, size_t n)
{
	if (h->col > h->start && h->col + 1 + n > HDR_WIDTH) {
		hdr_raw(h, "\n", 1);
		h->col = 0;
	}
	hdr_raw(h, " ", 1);
	hdr_raw(h, w, n);
	h->col += 1 + n;
}

static void
base64(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 |
		    (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
		    (i + 2 < n ? in[i + 2] : 0);

		*out++ = a[v >> 18 & 63];
		*out++ = a[v >> 12 & 63];
		*out++ = i + 1 < n ? a[v >> 6 & 63] : '=';
		*out++ = i + 2 < n ? a[v & 63] : '=';
	}
	*out = '\0';
}

/* RFC 5322 atext: what may stand in a display name unquoted. */
static bool
atext_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A word of a phrase: needs encoding, is atext, or needs quotes. */
enum wkind { W_ENC, W_ATEXT, W_QUOTE };

static enum wkind
word_kind(const char *w, size_t n)
{
	enum wkind k = W_ATEXT;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)w[i] >= 0x80)
			return W_ENC;
		if (!atext_char(w[i]))
			k = W_QUOTE;
	}
	return k;
}

/* A run of words as encoded words of whole UTF-8 characters. */
static void
hdr_encoded(struct hdr *h, const char *s, size_t n)
{
	char word[2 * EW_BYTES + 16];
	size_t k, o;

	for (size_t i = 0; i < n; i += k) {
		for (k = n - i < EW_BYTES ? n - i : EW_BYTES;
		    k < n - i && ((unsigned char)s[i + k] & 0xc0) == 0x80; k--)
			;
		strlcpy(word, "=?utf-8?B?", sizeof(word));
		base64((const unsigned char *)s + i, k, word + 10);
		o = strlcat(word, "?=", sizeof(word));
		hdr_word(h, word, o);
	}
}

/* A run of ASCII words in a display name as one quoted-string. */
static void
hdr_quoted(struct hdr *h, const char *s, size_t n)
{
	char q[600];
	size_t o = 0;

	q[o++] = '"';
	for (size_t i = 0; i < n && o + 3 < sizeof(q); i++) {
		if (s[i] == '"' || s[i] == '\\')
			q[o++] = '\\';
		q[o++] = s[i];
	}
	q[o++] = '"';
	hdr_word(h, q, o);
}

/*
 * Text a person reads (a subject, a display name), word by word: ASCII
 * as it is, runs of words that are not ASCII as RFC 2047 encoded words
 * and, in a display name, runs of words with specials in quotes. Runs
 * keep the spaces inside them; readers put one between two runs.
 */
static void
hdr_phrase(struct hdr *h, const char *s, bool display)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t start, end, k;
		enum wkind kind;
		bool quote = false;

		i += strspn(s + i, " ");
		if (i >= n)
			break;
		start = i;
		k = strcspn(s + i, " ");
		kind = word_kind(s + i, k) == W_ENC ? W_ENC : W_ATEXT;
		/* The run: following words of the same kind. */
		for (end = i + k; i < n; ) {
			size_t sp = strspn(s + i, " "), w;

			if (i + sp >= n)
				break;
			w = strcspn(s + i + sp, " ");
			enum wkind wk = word_kind(s + i + sp, w);
			if ((wk == W_ENC) != (kind == W_ENC) && i > start)
				break;
			quote = quote || wk == W_QUOTE;
			i += sp + w;
			end = i;
		}
		if (kind == W_ENC)
			hdr_encoded(h, s + start, end - start);
		else if (display && quote)
			hdr_quoted(h, s + start, end - start);
		else
			for (size_t j = start; j < end; j += k) {
				j += strspn(s + j, " ");
				k = strcspn(s + j, " ");
				if (j + k > end)
					k = end - j;
				if (k > 0)
					hdr_word(h, s + j, k);
			}
	}
}

/* A mailbox: "Name <addr>", or the bare address without a name. */
static void
hdr_mailbox(struct hdr *h, const char *name, const char *addr)
{
	char a[300];
	int n;

	if (name[0] == '\0') {
		hdr_word(h, addr, strlen(addr));
		return;
	}
	hdr_phrase(h, name, true);
	n = snprintf(a, sizeof(a), "<%s>", addr);
	hdr_word(h, a, n > 0 && (size_t)n < sizeof(a) ? (size_t)n : 0);
}

static char *
compose(const struct config *c, const char *to, const char *to_name,
    const char *subject, const char *body, size_t *len)
{
	char date[64], id[33], *text = NULL;
	const char *domain = strchr(c->mail_from_addr, '@');
	struct hdr *h = calloc(3, sizeof(*h));
	time_t now = time(NULL);
	struct tm tm;
	int n = -1;

	if (h == NULL)
		return NULL;
	hdr_init(&h[0], "From:");
	hdr_mailbox(&h[0], c->mail_from_name, c->mail_from_addr);
	hdr_init(&h[1], "To:");
	hdr_mailbox(&h[1], to_name, to);
	hdr_init(&h[2], "Subject:");
	hdr_phrase(&h[2], subject, false);
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	random_hex(id, 16);
	if (!h[0].over && !h[1].over && !h[2].over)
		n = asprintf(&text, "Date: %s\n"
		    "Message-ID: <%s@%s>\n"
		    "%s\n%s\n%s\n"
		    "MIME-Version: 1.0\n"
		    "Content-Type: text/plain; charset=utf-8\n"
		    "Content-Transfer-Encoding: 8bit\n"
		    "Auto-Submitted: auto-generated\n"
		    "\n%s", date, id, domain ? domain + 1 : "acctd.invalid",
		    h[0].buf, h[1].buf, h[2].buf, body);
	free(h);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return text;
}

/* Is a message to this address queued? (lock held) */
static bool
waiting_for(const char *to)
{
	for (const struct mail *m = head; m != NULL; m = m->next)
		if (strcmp(m->to, to) == 0)
			return true;
	return false;
}

int
mail_queue(const struct config *c, const char *to, const char *to_name,
    const char *subject, const char *body, struct mail_wait *w)
{
	struct mail *m;
	int rc = ACCT_OK;

	if (!header_ok(to) || !header_ok(to_name) || !header_ok(subject) ||
	    !header_ok(c->mail_from_name) || !header_ok(c->mail_from_addr))
		return ACCT_ERR_INVALID;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ACCT_ERR_NOMEM;
	m->to = strdup(to);
	m->subject = strdup(subject);
	m->text = compose(c, to, to_name, subject, body, &m->len);
	if (m->to == NULL || m->subject == NULL || m->text == NULL) {
		mail_free(m);
		return ACCT_ERR_NOMEM;
	}
	pthread_mutex_lock(&lock);
	if (!running || stopping)
		rc = ACCT_ERR_UNAVAILABLE;
	else if (queued >= c->mail_queue || waiting_for(to))
		rc = ACCT_ERR_BUSY;
	else {
		if (tail != NULL)
			tail->next = m;
		else
			head = m;
		tail = m;
		queued++;
		stats_mail_queue(queued);
		if ((m->wait = w) != NULL) {
			w->m = m;
			w->done = false;
			w->why[0] = '\0';
		}
		pthread_cond_signal(&wake);
	}
	pthread_mutex_unlock(&lock);
	if (rc != ACCT_OK)
		mail_free(m);
	return rc;
}

/*
 * Split the command on spaces: no shell, so nothing in it is expanded
 * but an argument that is exactly {from}, which becomes mail_from's
 * address, the envelope sender (else the MTA would use root's).
 */
static int
split_command(char *cmd, const char *from, char *argv[MAX_ARGS + 1])
{
	int n = 0;

	for (char *p = strtok(cmd, " "); p != NULL; p = strtok(NULL, " "))
		if (n < MAX_ARGS)
			argv[n++] = strcmp(p, "{from}") == 0 ? (char *)from : p;
		else
			return -1;
	argv[n] = NULL;
	return n > 0 ? 0 : -1;
}

static pid_t
spawn(char *const argv[], int *in)
{
	int p[2], nul;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		nul = open("/dev/null", O_WRONLY);
		if (dup2(p[0], 0) == -1 || nul == -1 || dup2(nul, 1) == -1)
			_exit(127);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[0]);
	*in = p[1];
	return pid;
}

/* Wait for pid until deadline (monotonic ms); kill it when late. */
static int
reap(pid_t pid, int64_t deadline, bool *late)
{
	struct timespec ts;
	int st;

	*late = false;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r == -1 && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 >=
		    deadline) {
			*late = true;
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return st;
		}
		usleep(20 * 1000);
	}
}

/* Run sendmail_command with the message on its stdin; "" or why not. */
static const char *
deliver(const struct config *c, const struct mail *m)
{
	char cmd[sizeof(c->sendmail_command)], *argv[MAX_ARGS + 1];
	struct timespec ts;
	int64_t deadline;
	int in, st, wr;
	bool late;
	pid_t pid;

	strlcpy(cmd, c->sendmail_command, sizeof(cmd));
	if (split_command(cmd, c->mail_from_addr, argv) == -1)
		return "bad sendmail_command";
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
	    (int64_t)c->mail_timeout * 1000;
	if ((pid = spawn(argv, &in)) == -1)
		return "cannot start the mailer";
	/* A mailer that never reads must not hold us past the deadline. */
	fcntl(in, F_SETFL, O_NONBLOCK);
	wr = 0;
	for (size_t off = 0; off < m->len && wr == 0;) {
		struct pollfd p = { .fd = in, .events = POLLOUT };
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t left = deadline - ((int64_t)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			wr = -1;
		else if ((n = write(in, m->text + off, m->len - off)) > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			wr = -1;
	}
	close(in);
	st = reap(pid, deadline, &late);
	if (late)
		return "mailer timed out";
	/* A mailer that fails may exit before it reads: its status says
	 * more than our broken pipe, whichever came first. */
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return "mailer failed";
	if (wr == -1)
		return "mailer did not read the message";
	return "";
}

static void *
mailer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		struct config c;
		struct mail *m;
		const char *why;

		while (head == NULL && !stopping)
			pthread_cond_wait(&wake, &lock);
		if (head == NULL)
			break;
		m = head;
		if ((head = m->next) == NULL)
			tail = NULL;
		queued--;
		stats_mail_queue(queued);
		pthread_mutex_unlock(&lock);
		config_current(&c);
		why = deliver(&c, m);
		stats_mail(why[0] == '\0');
		/* The audit row first: once the log or the waiting request
		 * says so, it is there. */
		if (why[0] == '\0') {
			auditlog_event(0, "mail_sent", m->to, m->subject);
			log_info("mail: sent \"%s\" to %s", m->subject, m->to);
		} else {
			auditlog_event(0, "mail_failed", m->to, why);
			log_err("mail: \"%s\" to %s: %s", m->subject, m->to,
			    why);
		}
		pthread_mutex_lock(&lock);
		if (m->wait != NULL) {
			strlcpy(m->wait->why, why, sizeof(m->wait->why));
			m->wait->done = true;
			m->wait->m = NULL;
			pthread_cond_broadcast(&outcome);
		}
		mail_free(m);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

bool
mail_wait(struct mail_wait *w, unsigned ms)
{
	struct timespec until;
	bool done;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&lock);
	while (!w->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&outcome, &lock, &until);
	/* Late: the message goes on without anyone waiting for it. */
	if (!(done = w->done) && w->m != NULL)
		w->m->wait = NULL;
	pthread_mutex_unlock(&lock);
	return done;
}

int
mail_start(void)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&outcome, &ca) != 0)
		return -1;
	pthread_condattr_destroy(&ca);
	if (pthread_create(&thread, NULL, mailer, NULL) != 0)
		return -1;
	running = true;
	return 0;
}

/* Finish what is queued (each bounded by mail_timeout), then stop. */
void
mail_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	if (queued > 0)
		log_info("mail: sending %u queued messages before stopping",
		    queued);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
