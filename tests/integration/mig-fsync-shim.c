/* SPDX-License-Identifier: MIT */
/*
 * mig-fsync-shim: an LD_PRELOAD library for the migration tests that makes
 * one durable write fail.  The first fdatasync(2) of a migration's slot (a
 * file named by 32 hex digits and ".stage": a destination's commit, a
 * source's frozen snapshot) fails with EIO after the real call: the
 * snapshot is in the slot, but it is not known to be durable, exactly the
 * state a failed flush leaves.  Every other call goes through; it fires
 * once per process.  (The slot's reservation is flushed with fsync(2), so
 * only the write inside the downtime is hit.)
 *
 * Under AddressSanitizer the daemon runs with
 * ASAN_OPTIONS=verify_asan_link_order=0 (this library comes first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The next definition of name (ISO C has no object-to-function pointer cast). */
static void next(const char *name, void *fn, size_t size)
{
	void *p = dlsym(RTLD_NEXT, name);

	memcpy(fn, &p, size);
}

static bool fired;

static bool slot_fd(int fd)
{
	char link[64], path[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strlen(base) != 32 + 6 || strcmp(base + 32, ".stage") != 0)
		return false;
	return strspn(base, "0123456789abcdef") == 32;
}

__attribute__((visibility("default")))
int fdatasync(int fd)
{
	int (*real)(int);
	int r;

	next("fdatasync", &real, sizeof(real));
	r = real(fd);
	if (r == 0 && !fired && slot_fd(fd)) {
		fired = true;
		errno = EIO;
		return -1;
	}
	return r;
}
