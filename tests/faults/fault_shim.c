/*
 * fault_shim.c: preloaded into acctd by test_faults.c to fail the Nth
 * write (or send), pwrite, fsync, fdatasync or allocation, as the
 * control page (fault_shim.h) in the file $ACCT_FAULT_CTL says; and by
 * test_backup.c to have write() take nothing.
 *
 * A preloaded shim rather than strace's inject=...:when=N: strace counts
 * calls per thread and acctd serves each connection on its own thread, so
 * "the Nth call of the daemon" cannot be said to it; ptrace slows every
 * call and keeps LeakSanitizer out; and strace cannot fail an allocation,
 * which this must do in libsodium, SQLite and msgpack-c as well. The page
 * also lets the test start counting once the daemon is up, and tell from
 * injected whether the fault was reached.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_shim.h"

/* Exported for the preload; prototypes to keep -Wmissing-prototypes quiet
 * for those <unistd.h> does not declare. */
ssize_t	pwrite64(int fd, const void *buf, size_t n, off_t off);
void	*memalign(size_t align, size_t n);

static struct fault_ctl *ctl;

static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_sendto)(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t	(*real_writev)(int, const struct iovec *, int);
static ssize_t	(*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t	(*real_pwrite64)(int, const void *, size_t, off_t);
static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static void	*(*real_malloc)(size_t);
static void	*(*real_calloc)(size_t, size_t);
static void	*(*real_realloc)(void *, size_t);
static void	(*real_free)(void *);
static int	(*real_posix_memalign)(void **, size_t, size_t);
static void	*(*real_aligned_alloc)(size_t, size_t);
static void	*(*real_memalign)(size_t, size_t);

/*
 * dlsym() may allocate before real_malloc is known: those few requests
 * come from here and are never freed.
 */
static _Alignas(16) unsigned char boot[16384];
static size_t boot_used;
static bool resolving;

static void *
boot_alloc(size_t n)
{
	size_t at = (boot_used + 15) & ~(size_t)15;

	if (at + n > sizeof(boot))
		return NULL;
	boot_used = at + n;
	return boot + at;
}

static bool
from_boot(const void *p)
{
	return (const unsigned char *)p >= boot &&
	    (const unsigned char *)p < boot + sizeof(boot);
}

static void
resolve(void)
{
	if (real_malloc != NULL || resolving)
		return;
	resolving = true;
	real_write = (ssize_t (*)(int, const void *, size_t))
	    dlsym(RTLD_NEXT, "write");
	real_send = (ssize_t (*)(int, const void *, size_t, int))
	    dlsym(RTLD_NEXT, "send");
	real_sendto = (ssize_t (*)(int, const void *, size_t, int,
	    const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "sendto");
	real_sendmsg = (ssize_t (*)(int, const struct msghdr *, int))
	    dlsym(RTLD_NEXT, "sendmsg");
	real_writev = (ssize_t (*)(int, const struct iovec *, int))
	    dlsym(RTLD_NEXT, "writev");
	real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite");
	real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off_t))
	    dlsym(RTLD_NEXT, "pwrite64");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_posix_memalign = (int (*)(void **, size_t, size_t))
	    dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))
	    dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = (void *(*)(size_t, size_t))
	    dlsym(RTLD_NEXT, "memalign");
	/* Last: the others are set once this is. */
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	resolving = false;
}

__attribute__((constructor)) static void
shim_init(void)
{
	const char *path = getenv(FAULT_CTL_ENV);
	int fd;
	void *p;

	resolve();
	if (path == NULL || (fd = open(path, O_RDWR | O_CLOEXEC)) == -1)
		return;
	p = mmap(NULL, sizeof(struct fault_ctl), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED && ((struct fault_ctl *)p)->magic == FAULT_MAGIC)
		ctl = p;
}

/* Number this call of kind k; true if it is to fail. */
static bool
fault_now(enum fault_kind k)
{
	int64_t n, t;

	if (ctl == NULL || !atomic_load_explicit(&ctl->counting,
	    memory_order_acquire))
		return false;
	n = atomic_fetch_add(&ctl->calls[k], 1) + 1;
	if (atomic_load(&ctl->kind) != (int)k)
		return false;
	t = atomic_load(&ctl->target);
	if (n != t && !(atomic_load(&ctl->persist) && n > t))
		return false;
	atomic_fetch_add(&ctl->injected, 1);
	return true;
}

/* Whether only write() is counted, and answers 0 (fault_ctl.zero). */
static bool
zero_mode(void)
{
	return ctl != NULL && atomic_load(&ctl->zero);
}

ssize_t
write(int fd, const void *buf, size_t n)
{
	resolve();
	if (fault_now(FAULT_WRITE)) {
		if (zero_mode())
			return 0;
		errno = EIO;
		return -1;
	}
	return real_write(fd, buf, n);
}

/* Replies leave by send(); they are writes as much as write() is. */
ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	resolve();
	if (!zero_mode() && fault_now(FAULT_WRITE)) {
		errno = EIO;
		return -1;
	}
	return real_send(fd, buf, n, flags);
}

ssize_t
sendto(int fd, const void *buf, size_t n, int flags,
    const struct sockaddr *to, socklen_t tolen)
{
	resolve();
	if (!zero_mode() && fault_now(FAULT_WRITE)) {
		errno = EIO;
		return -1;
	}
	return real_sendto(fd, buf, n, flags, to, tolen);
}

ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	resolve();
	if (!zero_mode() && fault_now(FAULT_WRITE)) {
		errno = EIO;
		return -1;
	}
	return real_sendmsg(fd, m, flags);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	resolve();
	if (!zero_mode() && fault_now(FAULT_WRITE)) {
		errno = EIO;
		return -1;
	}
	return real_writev(fd, iov, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	resolve();
	if (fault_now(FAULT_PWRITE)) {
		errno = EIO;
		return -1;
	}
	return real_pwrite(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	resolve();
	if (fault_now(FAULT_PWRITE)) {
		errno = EIO;
		return -1;
	}
	return real_pwrite64(fd, buf, n, off);
}

int
fsync(int fd)
{
	resolve();
	if (fault_now(FAULT_FSYNC)) {
		errno = EIO;
		return -1;
	}
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	resolve();
	if (fault_now(FAULT_FDATASYNC)) {
		errno = EIO;
		return -1;
	}
	return real_fdatasync(fd);
}

void *
malloc(size_t n)
{
	if (real_malloc == NULL) {
		if (resolving)
			return boot_alloc(n);
		resolve();
	}
	if (fault_now(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(n);
}

void *
calloc(size_t k, size_t n)
{
	if (real_malloc == NULL) {
		if (resolving) {
			/* boot is zeroed and never reused. */
			if (n != 0 && k > SIZE_MAX / n)
				return NULL;
			return boot_alloc(k * n);
		}
		resolve();
	}
	if (fault_now(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(k, n);
}

void *
realloc(void *p, size_t n)
{
	if (from_boot(p)) {
		size_t left = (size_t)(boot + sizeof(boot) -
		    (unsigned char *)p);
		void *q = malloc(n);

		if (q != NULL)
			memcpy(q, p, n < left ? n : left);
		return q;
	}
	if (real_malloc == NULL)
		resolve();
	if (fault_now(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, n);
}

void
free(void *p)
{
	if (p == NULL || from_boot(p))
		return;
	if (real_malloc == NULL)
		resolve();
	real_free(p);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	if (real_malloc == NULL)
		resolve();
	if (fault_now(FAULT_ALLOC))
		return ENOMEM;
	return real_posix_memalign(out, align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	if (real_malloc == NULL)
		resolve();
	if (fault_now(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_aligned_alloc(align, n);
}

void *
memalign(size_t align, size_t n)
{
	if (real_malloc == NULL)
		resolve();
	if (fault_now(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return real_memalign(align, n);
}
