/* SPDX-License-Identifier: MIT */
/*
 * sndbuf-shim: an LD_PRELOAD library that gives gisad the send buffers of
 * a gisad without CAP_NET_ADMIN (gisad.service) on a host whose
 * net.core.wmem_max is SNDBUF_SHIM_WMEM_MAX bytes: setsockopt
 * (SO_SNDBUFFORCE) fails with EPERM, and SO_SNDBUF's value is bounded by
 * SNDBUF_SHIM_WMEM_MAX, as the kernel bounds it (the kernel then doubles
 * it).  The kernel also bounds it by the host's own wmem_max, so a test
 * picks a value below the kernel's default (212992).  Unset or 0: no
 * bound.
 *
 * Under AddressSanitizer the daemon runs with
 * ASAN_OPTIONS=verify_asan_link_order=0 (this library comes first).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);

/* Exported: the project builds with -fvisibility=hidden. */
__attribute__((visibility("default")))
int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static setsockopt_fn real;
	const char *cap = getenv("SNDBUF_SHIM_WMEM_MAX");
	long max = cap ? strtol(cap, NULL, 0) : 0;
	int v;

	if (!real) {
		void *p = dlsym(RTLD_NEXT, "setsockopt");

		memcpy(&real, &p, sizeof(real));
	}
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	if (max > 0 && level == SOL_SOCKET && name == SO_SNDBUFFORCE) {
		errno = EPERM;
		return -1;
	}
	if (max > 0 && level == SOL_SOCKET && name == SO_SNDBUF && len == sizeof(v)) {
		memcpy(&v, val, sizeof(v));
		if (v > max)
			v = (int)max;
		return real(fd, level, name, &v, sizeof(v));
	}
	return real(fd, level, name, val, len);
}
