/*
 * peer.c: who is on the other end, from the kernel (SO_PEERCRED,
 * SO_PEERGROUPS), and the classes of SPEC section 5 that follow.
 * Nothing a client writes in a message enters into it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "../common/log.h"
#include "acctd.h"

#define MAX_GROUPS	65536

static int
read_groups(int fd, struct peer *p)
{
	socklen_t len = 32 * sizeof(gid_t);

	for (;;) {
		gid_t *g = malloc(len ? len : sizeof(gid_t));
		if (g == NULL)
			return -1;
		socklen_t got = len;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &got) == 0) {
			p->groups = g;
			p->ngroups = (int)(got / sizeof(gid_t));
			return 0;
		}
		free(g);
		/* ERANGE: got now holds the size needed. */
		if (errno != ERANGE || got <= len ||
		    got > MAX_GROUPS * sizeof(gid_t))
			return -1;
		len = got;
	}
}

static void
read_comm(struct peer *p)
{
	char path[64];
	int fd;
	ssize_t n;

	strlcpy(p->comm, "?", sizeof(p->comm));
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)p->pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, p->comm, sizeof(p->comm) - 1);
	close(fd);
	if (n <= 0) {
		strlcpy(p->comm, "?", sizeof(p->comm));
		return;
	}
	p->comm[n] = '\0';
	for (char *c = p->comm; *c; c++)
		if (*c == '\n' || (unsigned char)*c < 0x20)
			*c = *c == '\n' ? '\0' : '?';
}

static void
read_login(struct peer *p)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	p->login[0] = '\0';
	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) == 0 &&
	    res != NULL && strlen(res->pw_name) < sizeof(p->login))
		strlcpy(p->login, res->pw_name, sizeof(p->login));
}

/*
 * Always returns 0: a peer whose credentials cannot be read is kept with
 * creds_ok false, which grants nothing but hello (fail closed).
 */
int
peer_read(int fd, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	strlcpy(p->comm, "?", sizeof(p->comm));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc)) {
		log_warn("SO_PEERCRED failed (%s): peer gets least privilege",
		    strerror(errno));
		return 0;
	}
	p->pid = uc.pid;
	p->uid = uc.uid;
	p->gid = uc.gid;
	read_comm(p);
	if (read_groups(fd, p) == -1) {
		log_warn("SO_PEERGROUPS failed for uid %u (%s): peer gets "
		    "least privilege", (unsigned)p->uid, strerror(errno));
		return 0;
	}
	read_login(p);
	p->creds_ok = true;
	return 0;
}

void
peer_free(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

static bool
member(const struct peer *p, gid_t gid)
{
	if (p->gid == gid)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return true;
	return false;
}

unsigned
peer_classes(const struct peer *p, const struct config *c)
{
	unsigned cl = PEER_ANYONE;

	if (!p->creds_ok)
		return cl;
	if (p->uid == 0 || (c->admin_gid_ok && member(p, c->admin_gid)))
		cl |= PEER_ADMIN | PEER_AUTH;
	if (c->auth_gid_ok && member(p, c->auth_gid))
		cl |= PEER_AUTH;
	return cl;
}
