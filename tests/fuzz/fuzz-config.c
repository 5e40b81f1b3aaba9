/* SPDX-License-Identifier: MIT */
/*
 * gisad.conf (daemon/config.c conf_load, linked with daemon/log.c).
 * conf_load reads a path, so the input goes into a memfd read back
 * through /proc/self/fd: no temporary files.
 *
 * Invariants: every error formats; a valid file dumps (conf_dump) to a
 * file that loads without error and dumps to the same text.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

/* The input as a readable path: fd (to close) and its /proc name. */
static int to_memfd(const void *data, size_t size, char *path, size_t n)
{
	int fd = memfd_create("fuzz-gisad.conf", MFD_CLOEXEC);
	const char *p = data;

	if (fd < 0)
		return -1;
	while (size) {
		ssize_t w = write(fd, p, size);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		size -= (size_t)w;
	}
	snprintf(path, n, "/proc/self/fd/%d", fd);
	return fd;
}

/* conf_dump into a malloc'd text. */
static char *dump(const struct gisad_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	conf_dump(cfg, f);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gisad_config cfg, cfg2;
	struct conf_errors errs, errs2;
	char path[64], line[1024];
	char *d1 = NULL, *d2 = NULL;
	size_t l1, l2;
	int fd, fd2, r;

	fd = to_memfd(data, size, path, sizeof(path));
	if (fd < 0)
		return 0;
	r = conf_load(path, &cfg, &errs);
	close(fd);
	fuzz_check(r >= 0, "conf_load cannot read its memfd: %d", r);
	fuzz_check((size_t)r >= errs.n, "%d errors counted, %zu kept", r, errs.n);
	for (size_t i = 0; i < errs.n; i++)
		conf_errors_format(path, &errs.e[i], line, sizeof(line));
	conf_errors_free(&errs);
	if (r > 0)
		return 0;

	d1 = dump(&cfg, &l1);
	if (!d1)
		return 0;
	fd2 = to_memfd(d1, l1, path, sizeof(path));
	if (fd2 >= 0) {
		r = conf_load(path, &cfg2, &errs2);
		close(fd2);
		if (r > 0)
			conf_errors_format(path, &errs2.e[0], line, sizeof(line));
		fuzz_check(r == 0, "dump of a valid file does not load (%d errors): %s", r,
			   r > 0 && errs2.n ? line : "");
		conf_errors_free(&errs2);
		d2 = dump(&cfg2, &l2);
		fuzz_check(!d2 || (l1 == l2 && memcmp(d1, d2, l1) == 0),
			   "dump -> load -> dump changed the text");
	}
	free(d1);
	free(d2);
	return 0;
}
