/* SPDX-License-Identifier: MIT */
/*
 * Replays a fuzz target without libFuzzer: every regular file of every
 * directory (or file) named on the command line goes through
 * LLVMFuzzerTestOneInput once, in name order.  A crash or a failed
 * invariant (abort) fails the test; so does an unreadable argument.
 *
 * Files whose name ends in ".pending" are known crashers whose fix has not
 * landed: they are listed and skipped, unless FUZZ_REPLAY_PENDING=1 (then
 * they run like the others).  Drop the suffix when the fix lands.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The largest input replayed: the seeds are small, libFuzzer's -max_len is 1 MiB. */
#define REPLAY_MAX_INPUT (16u << 20)

static bool run_pending;
static unsigned nrun, nskipped;

static bool pending(const char *name)
{
	size_t n = strlen(name), s = strlen(".pending");

	return n >= s && strcmp(name + n - s, ".pending") == 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;
	int r = -1;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: cannot seek\n", path);
		goto out;
	}
	if ((unsigned long)len > REPLAY_MAX_INPUT) {
		fprintf(stderr, "%s: %ld bytes, over the %u-byte replay cap\n", path, len,
			REPLAY_MAX_INPUT);
		goto out;
	}
	/* An exact-size heap copy, so that a sanitizer sees reads past the end. */
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		goto out;
	}
	fprintf(stderr, "replay %s (%ld bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	nrun++;
	r = 0;
out:
	free(buf);
	fclose(f);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "README") == 0)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*nn));

			if (!nn) {
				r = -1;
				break;
			}
			names = nn;
		}
		if (!(names[n] = strdup(e->d_name))) {
			r = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n && r == 0; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		if (pending(names[i]) && !run_pending) {
			fprintf(stderr, "skip %s (known crasher, fix pending)\n", path);
			nskipped++;
			continue;
		}
		r = run_file(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	const char *env = getenv("FUZZ_REPLAY_PENDING");

	run_pending = env && strcmp(env, "1") == 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;

		if (stat(argv[i], &st)) {
			/* A target without regressions has no directory: fine. */
			if (errno == ENOENT && strstr(argv[i], "/regressions/")) {
				continue;
			}
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
		if (r)
			return 1;
	}
	printf("%u inputs replayed, %u pending skipped\n", nrun, nskipped);
	return 0;
}
