/* SPDX-License-Identifier: MIT */
/*
 * mig-fsync-shim: an LD_PRELOAD library for the migration tests that makes
 * chosen durable writes fail; each failure is asked for in the environment,
 * every other call goes through.
 *
 * MIG_SHIM_SLOT_FAIL=N: the N-th fdatasync(2) of a migration's slot (a
 * file named by 32 hex digits and ".stage", or a spare slot
 * ".spare-<k>.stage" a destination's migration keeps while it runs) in this
 * process fails with EIO
 * after the real call: the snapshot is in the slot, but it is not known to
 * be durable, exactly the state a failed flush leaves.  Once per process.
 * A slot is made and flushed with fsync(2); a destination's first
 * fdatasync of a slot writes round 0's snapshot into the slot reserved at
 * MigBegin and its second (one round) is the commit (N = 2); a source's
 * first is the probe that times such a write during precopy, and then
 * (one round) version 1 writes the frozen snapshot (N = 2), version 2 the
 * presumed IN_DOUBT record (2), the frozen state (3) and RETIRED (4).
 *
 * MIG_SHIM_SPARE_FAIL=1: the first fdatasync(2) of a spare STAGING record
 * (".spare-<k>.json") in this process fails with EIO after the real call:
 * the record is there, not known to be durable.
 *
 * MIG_SHIM_UNLINK_FAIL=COUNT: once MIG_SHIM_SLOT_FAIL's flush has failed,
 * the next COUNT unlink(2) calls of a migration's slot or record (32 hex
 * digits and ".stage" or ".json", or a spare slot a migration holds) fail
 * with EIO, the file left in place.
 *
 * MIG_SHIM_JSON_FAIL=STATE:COUNT: renameat(2) of a migration record into
 * place (32 hex digits and ".json") whose text has "state": "STATE" fails
 * with EIO, COUNT times: a record write that fails and is retried.
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
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The next definition of name (ISO C has no object-to-function pointer cast). */
static void next(const char *name, void *fn, size_t size)
{
	void *p = dlsym(RTLD_NEXT, name);

	memcpy(fn, &p, size);
}

static bool fired, spare_fired;
static long slot_syncs;

static bool named(const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	if (strlen(base) != 32 + strlen(suffix) || strcmp(base + 32, suffix) != 0)
		return false;
	return strspn(base, "0123456789abcdef") == 32;
}

/* fd's path into path (PATH_MAX bytes): whether it could be read. */
static bool fd_path(int fd, char *path)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, PATH_MAX - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	return true;
}

/* Whether path names a spare's file ending in suffix (".stage", ".json"). */
static bool spare_path(const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/');
	size_t blen, slen = strlen(suffix);

	if (!base)
		return false;
	blen = strlen(base);
	return strncmp(base, "/.spare-", 8) == 0 && blen > 8 + slen &&
	       strcmp(base + blen - slen, suffix) == 0;
}

static bool slot_fd(int fd)
{
	char path[PATH_MAX];

	return fd_path(fd, path) && (named(path, ".stage") || spare_path(path, ".stage"));
}

static bool spare_record_fd(int fd)
{
	char path[PATH_MAX];

	return fd_path(fd, path) && spare_path(path, ".json");
}

__attribute__((visibility("default")))
/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's is __-prefixed */
int fdatasync(int fd)
{
	int (*real)(int);
	int r;

	next("fdatasync", &real, sizeof(real));
	r = real(fd);
	if (r == 0 && !spare_fired && getenv("MIG_SHIM_SPARE_FAIL") && spare_record_fd(fd)) {
		spare_fired = true;
		errno = EIO;
		return -1;
	}
	if (r == 0 && !fired && getenv("MIG_SHIM_SLOT_FAIL") && slot_fd(fd) &&
	    ++slot_syncs >= strtol(getenv("MIG_SHIM_SLOT_FAIL"), NULL, 10)) {
		fired = true;
		errno = EIO;
		return -1;
	}
	return r;
}

/* Whether the file dirfd/path has "state": "want" (a record's JSON, indented). */
static bool has_state(int dirfd, const char *path, const char *want)
{
	char buf[8192], pat[80];
	ssize_t n;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	snprintf(pat, sizeof(pat), "\"state\": \"%s\"", want);
	return strstr(buf, pat) != NULL;
}

__attribute__((visibility("default")))
/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's are __-prefixed */
int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	static unsigned long failed;
	int (*real)(int, const char *, int, const char *);
	const char *spec = getenv("MIG_SHIM_JSON_FAIL");
	char state[32];
	unsigned long count = 0;

	next("renameat", &real, sizeof(real));
	if (spec && sscanf(spec, "%31[a-z-]:%lu", state, &count) == 2 && failed < count &&
	    named(newpath, ".json") && has_state(olddirfd, oldpath, state)) {
		failed++;
		errno = EIO;
		return -1;
	}
	return real(olddirfd, oldpath, newdirfd, newpath);
}

__attribute__((visibility("default")))
/* NOLINTNEXTLINE(readability-inconsistent-declaration-parameter-name): glibc's is __-prefixed */
int unlink(const char *path)
{
	static unsigned long failed;
	int (*real)(const char *);
	const char *spec = getenv("MIG_SHIM_UNLINK_FAIL");

	next("unlink", &real, sizeof(real));
	if (fired && spec && failed < strtoul(spec, NULL, 10) &&
	    (named(path, ".stage") || named(path, ".json") || spare_path(path, ".stage"))) {
		failed++;
		errno = EIO;
		return -1;
	}
	return real(path);
}
