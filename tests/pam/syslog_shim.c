/*
 * syslog_shim.c: preloaded into pamtester by the PAM tests, so that what
 * pam_acct.so says through pam_syslog() lands in the file $TH_SYSLOG
 * (one line each) instead of a system log the test cannot read.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

void	syslog(int pri, const char *fmt, ...);
void	vsyslog(int pri, const char *fmt, va_list ap);
void	__syslog_chk(int pri, int flag, const char *fmt, ...);
void	__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap);

void
vsyslog(int pri, const char *fmt, va_list ap)
{
	const char *path = getenv("TH_SYSLOG");
	char line[2048];
	int fd, n;

	if (path == NULL)
		return;
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		return;
	dprintf(fd, "<%d>", LOG_PRI(pri));
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

void
syslog(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}

void
__vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(pri, fmt, ap);
}

void
__syslog_chk(int pri, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(pri, fmt, ap);
	va_end(ap);
}
