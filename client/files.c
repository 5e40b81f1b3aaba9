/* SPDX-License-Identifier: MIT */
/*
 * Files and option values.
 *
 * Input is read whole, but never more than a cap the caller names (the
 * largest valid input of its kind): a regular file's size is checked
 * before anything is allocated, and a pipe's buffer grows only as bytes
 * arrive and stops one byte past the cap.  Output replaces a regular file
 * only once it is complete (a temporary file beside it, then rename), so a
 * failed command never leaves half a snapshot behind; a command with two
 * outputs stages both before it renames either (files.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "gisactl.h"

#define READ_CHUNK (64u << 10)

bool is_stdio(const char *path)
{
	return !path || !strcmp(path, "-");
}

/* Read fd to its end: 0, -EFBIG (more than cap bytes), -EISDIR, -ENOMEM, -errno. */
static int slurp(int fd, size_t cap, uint8_t **ret, size_t *ret_len)
{
	size_t size, len = 0;
	struct stat st;
	uint8_t *buf;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISREG(st.st_mode)) {
		if ((uintmax_t)st.st_size > cap)
			return -EFBIG;
		/* One byte more than the size notices a file that grows meanwhile. */
		size = (size_t)st.st_size + 1;
	} else {
		size = cap < READ_CHUNK ? cap + 1 : READ_CHUNK;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == size) {
			size_t next = size > cap / 2 ? cap + 1 : size * 2;
			uint8_t *p;

			if (size > cap) {
				free(buf);
				return -EFBIG;
			}
			p = realloc(buf, next);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			size = next;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > cap) {
		free(buf);
		return -EFBIG;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

int read_input(struct gisactl *g, const char *path, size_t cap, const char *what,
	       uint8_t **ret, size_t *ret_len)
{
	bool own = !is_stdio(path);
	int fd = STDIN_FILENO, r;

	if (own) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return out_fail(g, -errno, "cannot open `%s': %s", path, strerror(errno));
	} else {
		path = "-";
	}
	r = slurp(fd, cap, ret, ret_len);
	if (own)
		close(fd);
	switch (r) {
	case 0:
		return 0;
	case -EFBIG:
		return out_fail(g, r, "`%s' is larger than %zu bytes, the most a %s can be", path,
				cap, what);
	case -EISDIR:
		return out_fail(g, r, "`%s' is a directory, not a %s", path, what);
	default:
		return out_fail(g, r, "cannot read `%s': %s", path, strerror(-r));
	}
}

int read_snapshot(struct gisactl *g, const char *path, uint8_t **ret, size_t *ret_len)
{
	return read_input(g, path, GISACTL_MAX_SNAPSHOT_FILE, "snapshot file", ret, ret_len);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path ("." if none) into dir, and where its last component starts. */
static int split_dir(const char *path, char *dir, size_t size, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	int r;

	if (!slash)
		r = snprintf(dir, size, ".");
	else if (slash == path)
		r = snprintf(dir, size, "/");
	else
		r = snprintf(dir, size, "%.*s", (int)(slash - path), path);
	if (r < 0 || (size_t)r >= size)
		return -ENAMETOOLONG;
	*ret_base = slash ? slash + 1 : path;
	return 0;
}

int output_target(const char *path, char *buf, size_t size)
{
	char link[PATH_MAX], next[PATH_MAX];
	struct stat st;
	int hops = 0, n;

	n = snprintf(buf, size, "%s", path);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	while (!lstat(buf, &st) && S_ISLNK(st.st_mode)) {
		const char *slash = strrchr(buf, '/');
		ssize_t len;

		if (++hops > 40) /* the kernel's own limit (MAXSYMLINKS) */
			return -ELOOP;
		len = readlink(buf, link, sizeof(link) - 1);
		if (len < 0)
			return -errno;
		link[len] = '\0';
		/* A relative link is relative to the directory that holds it. */
		if (link[0] == '/' || !slash)
			n = snprintf(next, sizeof(next), "%s", link);
		else
			n = snprintf(next, sizeof(next), "%.*s/%s", (int)(slash - buf), buf, link);
		if (n < 0 || (size_t)n >= sizeof(next) || (size_t)n >= size)
			return -ENAMETOOLONG;
		memcpy(buf, next, (size_t)n + 1);
	}
	return 0;
}

mode_t output_mode(const char *dest)
{
	struct stat st;
	mode_t mask;

	if (!stat(dest, &st) && S_ISREG(st.st_mode))
		return st.st_mode & 0777;
	mask = umask(0);
	umask(mask);
	return 0666 & ~mask;
}

int output_stage(struct gisactl *g, struct staged_output *o, const char *path, const void *buf,
		 size_t len, bool binary)
{
	const char *base;
	char dir[PATH_MAX];
	struct stat st;
	int fd, r;

	memset(o, 0, sizeof(*o));
	o->path = is_stdio(path) ? "-" : path;
	o->buf = buf;
	o->len = len;
	if (is_stdio(path)) {
		if (binary && isatty(STDOUT_FILENO))
			return out_usage(g, "refusing to write binary data to a terminal: name a "
					 "file with -o");
		return 0;
	}
	/* Devices, FIFOs and the like are written in place; only files are replaced. */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		/* Nothing can be written in place into a directory: say so before any commit. */
		if (S_ISDIR(st.st_mode))
			return out_fail(g, -EISDIR, "cannot open `%s': %s", path, strerror(EISDIR));
		return 0;
	}
	r = output_target(path, o->dest, sizeof(o->dest));
	if (r == -ENAMETOOLONG)
		return out_fail(g, r, "output path `%s' is too long", path);
	if (r)
		return out_fail(g, r, "cannot open `%s': %s", path, strerror(-r));
	r = split_dir(o->dest, dir, sizeof(dir), &base);
	if (!r)
		r = snprintf(o->tmp, sizeof(o->tmp), "%s/.%s.XXXXXX", dir, base);
	if (r < 0 || (size_t)r >= sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		return out_fail(g, -ENAMETOOLONG, "output path `%s' is too long", path);
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		o->tmp[0] = '\0';
		if (strcmp(o->dest, path))
			return out_fail(g, -e,
					"cannot create a file beside `%s', where `%s' leads: %s",
					o->dest, path, strerror(e));
		return out_fail(g, -e, "cannot create a file beside `%s': %s", path, strerror(e));
	}
	r = write_all(fd, buf, len);
	if (!r && fchmod(fd, output_mode(o->dest)))
		r = -errno;
	if (close(fd) && !r)
		r = -errno;
	if (r) {
		output_discard(o);
		return out_fail(g, r, "cannot write `%s': %s", o->dest, strerror(-r));
	}
	return 0;
}

void output_discard(struct staged_output *o)
{
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = '\0';
}

/* Write a staged output that has no temporary file: standard output or a device. */
static int commit_in_place(struct gisactl *g, const struct staged_output *o)
{
	int fd, r;

	if (is_stdio(o->path)) {
		fflush(stdout);
		r = write_all(STDOUT_FILENO, o->buf, o->len);
		if (r)
			return out_fail(g, r, "cannot write to standard output: %s", strerror(-r));
		return 0;
	}
	fd = open(o->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return out_fail(g, -errno, "cannot open `%s': %s", o->path, strerror(errno));
	r = write_all(fd, o->buf, o->len);
	if (close(fd) && !r)
		r = -errno;
	if (r)
		return out_fail(g, r, "cannot write `%s': %s", o->path, strerror(-r));
	return 0;
}

/*
 * Put o's temporary file in its destination's place.  An existing
 * destination is exchanged with it, so that the temporary name holds the
 * file replaced until the commit ends and a later failure can put it back
 * (PLACED_SWAPPED); a missing one is created by the rename (PLACED_NEW).
 * Where the file system cannot exchange names, a plain rename replaces
 * the destination for good (PLACED_OVER).  0 or -errno.
 */
static bool no_flags(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP;
}

static int place(struct staged_output *o)
{
	bool missing;

	if (!renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->dest, RENAME_EXCHANGE)) {
		o->placed = PLACED_SWAPPED;
		return 0;
	}
	missing = errno == ENOENT;
	if (missing && !renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->dest, RENAME_NOREPLACE)) {
		o->placed = PLACED_NEW;
		o->tmp[0] = '\0';
		return 0;
	}
	/* Where the file system cannot exchange (or refuse to replace): rename. */
	if (!no_flags(errno))
		return -errno;
	if (!missing) {
		struct stat st;

		missing = lstat(o->dest, &st) && errno == ENOENT;
	}
	if (rename(o->tmp, o->dest))
		return -errno;
	o->placed = missing ? PLACED_NEW : PLACED_OVER;
	o->tmp[0] = '\0';
	return 0;
}

/* Undo place(): true if the destination is as it was before. */
static bool unplace(struct staged_output *o)
{
	switch (o->placed) {
	case PLACED_SWAPPED:
		return !renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->dest, RENAME_EXCHANGE);
	case PLACED_NEW:
		return !unlink(o->dest);
	default:
		return o->placed == PLACED_NOT;
	}
}

int output_commit(struct gisactl *g, struct staged_output *o, size_t n)
{
	size_t i;
	int r = 0;

	/*
	 * In-place writes can fail late (a full device, a closed pipe), renames
	 * within a directory where a file was just created hardly can: so the
	 * in-place ones go first, while every regular file is still untouched.
	 * A rename refused after another succeeded (a sticky directory, another
	 * owner's file, an immutable one) puts the earlier ones back; only
	 * where the file system cannot exchange names does a file stay
	 * replaced, and the message says which.
	 */
	for (i = 0; i < n && !r; i++)
		if (!o[i].tmp[0])
			r = commit_in_place(g, &o[i]);
	for (i = 0; i < n && !r; i++) {
		char kept[PATH_MAX + 64] = "";
		int e = o[i].tmp[0] ? place(&o[i]) : 0;

		if (!e)
			continue;
		for (size_t k = i; k-- > 0;)
			if (!unplace(&o[k]))
				snprintf(kept, sizeof(kept), " (`%s' was replaced all the same)",
					 o[k].dest);
		r = out_fail(g, e, "cannot write `%s': %s%s", o[i].dest, strerror(-e), kept);
	}
	for (i = 0; i < n; i++)
		output_discard(&o[i]);
	return r;
}

int write_output(struct gisactl *g, const char *path, const void *buf, size_t len, bool binary)
{
	struct staged_output o;
	int r;

	r = output_stage(g, &o, path, buf, len, binary);
	if (!r)
		r = output_commit(g, &o, 1);
	return r;
}

bool output_same_file(const char *a, const char *b)
{
	char dir_a[PATH_MAX], dir_b[PATH_MAX], ta[PATH_MAX], tb[PATH_MAX];
	const char *base_a, *base_b;
	struct stat sa, sb;
	bool has_a, has_b;

	if (!strcmp(a, b))
		return true;
	/* Links, dangling ones too, name the file they lead to. */
	if (!output_target(a, ta, sizeof(ta)))
		a = ta;
	if (!output_target(b, tb, sizeof(tb)))
		b = tb;
	has_a = !stat(a, &sa);
	has_b = !stat(b, &sb);
	if (has_a || has_b)
		return has_a && has_b && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	/* Neither exists yet: one file if the same name in the same directory. */
	if (split_dir(a, dir_a, sizeof(dir_a), &base_a) ||
	    split_dir(b, dir_b, sizeof(dir_b), &base_b) || strcmp(base_a, base_b) ||
	    stat(dir_a, &sa) || stat(dir_b, &sb))
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int parse_number(const char *s, uint64_t *ret)
{
	const char *digits = s;
	unsigned long long v;
	int base = 10;
	size_t n;

	/*
	 * strtoull's base 0 would read 010 as octal 8: the base is chosen here.
	 * Only digits may follow, so that strtoull meets no sign, blank or
	 * second prefix.
	 */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}
	n = strspn(digits, base == 16 ? "0123456789abcdefABCDEF" : "0123456789");
	if (!n || digits[n])
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, NULL, base);
	if (errno)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_uint(struct gisactl *g, const char *opt, const char *s, unsigned long min,
	       unsigned long max, unsigned long *ret)
{
	uint64_t v;

	if (parse_number(s, &v) || v < min || v > max)
		return out_usage(g, "option `--%s' takes a number from %lu to %lu, not `%s'", opt,
				 min, max, s);
	*ret = (unsigned long)v;
	return 0;
}

int parse_target(struct gisactl *g, const char *opt, const char *s,
		 struct gisa_compat_dest *ret)
{
	struct gisa_compat_dest d = { 0 };
	bool have_profile = false;
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, ",");
		bool profile = false;
		uint32_t cap = 0;

		if (n == 7 && !strncmp(p, "classic", n)) {
			profile = true;
			d.profile = GISA_PROFILE_CLASSIC;
		} else if (n == 6 && !strncmp(p, "newest", n)) {
			profile = true;
			d.profile = GISA_PROFILE_NEWEST;
		} else if (n == 4 && !strncmp(p, "gisa", n)) {
			cap = GISA_CAP_GISA;
		} else if (n == 3 && !strncmp(p, "ais", n)) {
			cap = GISA_CAP_AIS;
		} else {
			return out_usage(g, "option `--%s' takes a profile (classic or newest), "
					 "then gisa and/or ais, comma-separated: `%.*s' in `%s' is "
					 "none of them", opt, (int)n, p, s);
		}
		if ((profile && have_profile) || (d.caps & cap))
			return out_usage(g, "option `--%s' takes one profile and each capability "
					 "once: `%.*s' in `%s' is one too many", opt, (int)n, p, s);
		have_profile |= profile;
		d.caps |= cap;
		if (!p[n])
			break;
		p += n + 1;
	}
	if (!have_profile)
		return out_usage(g, "option `--%s' needs a profile (classic or newest): `%s'", opt,
				 s);
	*ret = d;
	return 0;
}

void fmt_target(const struct gisa_compat_dest *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", profile_name(d->profile),
		 d->caps & GISA_CAP_GISA ? ",gisa" : "", d->caps & GISA_CAP_AIS ? ",ais" : "");
}
