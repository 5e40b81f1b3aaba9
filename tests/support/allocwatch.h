/* SPDX-License-Identifier: MIT */
/*
 * Watching every allocation of a test process, to prove that a refused input
 * made nothing large get allocated.  Include it in exactly one translation
 * unit of a test program: without ASan it interposes glibc's allocator.
 */
#ifndef GISA_TEST_ALLOCWATCH_H
#define GISA_TEST_ALLOCWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Every allocation of the process while `on`: the largest single request and
 * the sum of all requests (an upper bound of the peak).  Under ASan through
 * its malloc hooks; otherwise (glibc) by interposing the allocation functions
 * of libc, which glibc supports.  Without either, the allocation assertions
 * are skipped and only the error codes are checked.
 */
static struct {
	bool on;
	size_t largest;
	size_t total;
	size_t calls;
} watch;

static void watch_note(size_t size)
{
	if (!watch.on)
		return;
	watch.calls++;
	watch.total += size;
	if (size > watch.largest)
		watch.largest = size;
}

#if defined(__SANITIZE_ADDRESS__)
#define WATCH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WATCH_ASAN 1
#endif
#endif

#if defined(WATCH_ASAN)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void hook_malloc(const volatile void *p, size_t size)
{
	(void)p;
	watch_note(size);
}

static void hook_free(const volatile void *p)
{
	(void)p;
}

static bool watch_start(void)
{
	static bool installed;

	if (!installed)
		installed = __sanitizer_install_malloc_and_free_hooks(hook_malloc, hook_free) != 0;
	memset(&watch, 0, sizeof(watch));
	watch.on = installed;
	return installed;
}
#elif defined(__GLIBC__)
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void __libc_free(void *p);

/* NOLINTBEGIN(readability-inconsistent-declaration-parameter-name): glibc's are __-prefixed */
void *malloc(size_t size)
{
	watch_note(size);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	watch_note(size && n > SIZE_MAX / size ? SIZE_MAX : n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	watch_note(size);
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}
/* NOLINTEND(readability-inconsistent-declaration-parameter-name) */

static bool watch_start(void)
{
	memset(&watch, 0, sizeof(watch));
	watch.on = true;
	return true;
}
#else
static bool watch_start(void)
{
	memset(&watch, 0, sizeof(watch));
	return false;
}
#endif

static void watch_stop(void)
{
	watch.on = false;
}

#endif
