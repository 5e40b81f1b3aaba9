/* SPDX-License-Identifier: MIT */
/*
 * mig-fsync-shim: an LD_PRELOAD library for the migration tests that makes
 * one durable write fail after its rename.  The first fsync(2) that follows
 * a renameat(2) to a migration's staged checkpoint (a name of 32 hex digits
 * and ".gsnap": a destination's commit, a source's frozen snapshot) fails
 * with EIO: the file is in place, but its directory entry is not known to
 * be durable.  Every other call goes through; it fires once per process.
 *
 * Under AddressSanitizer the daemon runs with
 * ASAN_OPTIONS=verify_asan_link_order=0 (this library comes first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
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

static bool armed, fired;

static bool staged_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	if (n != 32 + 6 || strcmp(base + 32, ".gsnap") != 0)
		return false;
	return strspn(base, "0123456789abcdef") == 32;
}

__attribute__((visibility("default")))
/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's are __-prefixed */
int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	int (*real)(int, const char *, int, const char *);
	int r;

	next("renameat", &real, sizeof(real));
	r = real(olddirfd, oldpath, newdirfd, newpath);
	if (r == 0 && !fired && staged_name(newpath))
		armed = true;
	return r;
}

__attribute__((visibility("default")))
int fsync(int fd)
{
	int (*real)(int);

	next("fsync", &real, sizeof(real));
	if (armed) {
		armed = false;
		fired = true;
		errno = EIO;
		return -1;
	}
	return real(fd);
}
