/* SPDX-License-Identifier: MIT */
/*
 * alloc-shim: an LD_PRELOAD library for the daemon tests that makes one
 * chosen allocation of one request fail, so that a test can sweep every
 * allocation a verb makes and show that running out of memory anywhere
 * changes nothing (daemon-nomem.sh).
 *
 * ALLOC_SHIM_MARK=TEXT: a datagram received with recvmsg(2) (the control
 * socket's requests) that holds TEXT arms the shim: it reads a number N
 * from the file ALLOC_SHIM_FILE, and the N-th malloc, calloc or realloc
 * from then on fails with ENOMEM; 0, or no file, arms nothing.  The next
 * send(2) (the reply) disarms it, so that nothing after the request
 * fails.  Each failure appends N and a newline to ALLOC_SHIM_LOG, so that
 * the test knows whether the request made N allocations.
 *
 * Under AddressSanitizer the daemon runs with
 * ASAN_OPTIONS=verify_asan_link_order=0 (this library comes first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static recvmsg_fn real_recvmsg;
static send_fn real_send;

/*
 * dlsym may allocate (calloc) before the real functions are known: such
 * early blocks come from here and are never freed.
 */
static _Alignas(max_align_t) unsigned char early[4096];
static size_t early_used;
static bool resolving;

static long countdown;          /* allocations until the failing one; 0: disarmed */
static long armed_n;

/* The next definition of name (ISO C has no object-to-function pointer cast). */
static void next(const char *name, void *fn, size_t size)
{
	void *p = dlsym(RTLD_NEXT, name);

	memcpy(fn, &p, size);
}

static void resolve(void)
{
	if (real_free || resolving)
		return;
	resolving = true;
	next("malloc", &real_malloc, sizeof(real_malloc));
	next("calloc", &real_calloc, sizeof(real_calloc));
	next("realloc", &real_realloc, sizeof(real_realloc));
	next("recvmsg", &real_recvmsg, sizeof(real_recvmsg));
	next("send", &real_send, sizeof(real_send));
	next("free", &real_free, sizeof(real_free));
	resolving = false;
}

static void *early_alloc(size_t size)
{
	size_t n = (size + 15) & ~(size_t)15;
	void *p;

	if (n > sizeof(early) - early_used)
		return NULL;
	p = early + early_used;
	early_used += n;
	return p;   /* zeroed: static storage, never handed out twice */
}

static bool is_early(const void *p)
{
	const unsigned char *c = p;

	return c >= early && c < early + sizeof(early);
}

/* Whether this allocation is the one to fail (logged when it is). */
static bool fail_now(void)
{
	const char *path;
	char line[32];
	int fd, len;

	if (!countdown || --countdown)
		return false;
	path = getenv("ALLOC_SHIM_LOG");
	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0) {
			len = snprintf(line, sizeof(line), "%ld\n", armed_n);
			if (write(fd, line, (size_t)len) < 0)
				(void)0;
			close(fd);
		}
	}
	errno = ENOMEM;
	return true;
}

__attribute__((visibility("default")))
void *malloc(size_t size)
{
	resolve();
	if (!real_malloc)
		return early_alloc(size);
	return fail_now() ? NULL : real_malloc(size);
}

__attribute__((visibility("default")))
void *calloc(size_t nmemb, size_t size)
{
	resolve();
	if (!real_calloc)
		return size && nmemb > SIZE_MAX / size ? NULL : early_alloc(nmemb * size);
	return fail_now() ? NULL : real_calloc(nmemb, size);
}

__attribute__((visibility("default")))
void *realloc(void *ptr, size_t size)
{
	resolve();
	if (is_early(ptr) || !real_realloc)
		return NULL;   /* never happens: early blocks are dlsym's own */
	return fail_now() ? NULL : real_realloc(ptr, size);
}

__attribute__((visibility("default")))
void free(void *ptr)
{
	resolve();
	if (ptr && !is_early(ptr) && real_free)
		real_free(ptr);
}

/* The number in ALLOC_SHIM_FILE, read without allocating. */
static long read_n(void)
{
	const char *path = getenv("ALLOC_SHIM_FILE");
	char buf[32];
	ssize_t got;
	int fd;

	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got <= 0)
		return 0;
	buf[got] = '\0';
	return strtol(buf, NULL, 10);
}

__attribute__((visibility("default")))
ssize_t recvmsg(int fd, struct msghdr *message, int flags)
{
	const char *mark = getenv("ALLOC_SHIM_MARK");
	const struct iovec *iov = message->msg_iov;
	ssize_t n;

	resolve();
	n = real_recvmsg(fd, message, flags);
	if (n > 0 && mark && mark[0] && message->msg_iovlen > 0) {
		size_t len = (size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len;

		if (memmem(iov[0].iov_base, len, mark, strlen(mark))) {
			armed_n = read_n();
			countdown = armed_n > 0 ? armed_n : 0;
		}
	}
	return n;
}

__attribute__((visibility("default")))
ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	resolve();
	countdown = 0;
	return real_send(fd, buf, n, flags);
}
