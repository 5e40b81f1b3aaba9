/* SPDX-License-Identifier: MIT */
/*
 * files.c: an output written in two steps, for commands with more than one.
 *
 * write_output() replaces a file only once its result is complete.  A
 * command with two outputs (snapshot convert --to kvm with --ais) needs
 * more: neither file may change unless both can be written.  So each output
 * is first staged (a regular file: written in full to a temporary file
 * beside it; standard output, a device or a FIFO: only checked, written at
 * commit), and only once every one is staged are they committed together.
 * A failure before the commit, or a discard, leaves every named file as it
 * was and no temporary file behind; so does a rename failing during the
 * commit, where the file system can exchange two names (renameat2
 * RENAME_EXCHANGE: ext4, XFS, Btrfs, tmpfs and most local ones).
 */
#ifndef GISACTL_FILES_H
#define GISACTL_FILES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gisactl;

struct staged_output {
	const char *path; /* as named, for messages; "-" for standard output */
	const void *buf;  /* written in place at commit when tmp is "" */
	size_t len;
	char tmp[PATH_MAX];  /* the complete temporary file; "" when written in place */
	char dest[PATH_MAX]; /* the file the rename replaces (a symbolic link's target) */
	enum { PLACED_NOT, PLACED_SWAPPED, PLACED_NEW, PLACED_OVER } placed; /* at commit */
};

/*
 * Stage len bytes of buf for path (NULL or "-": standard output, refused
 * on a terminal if binary).  buf must stay valid until the commit or the
 * discard.  0, or an exit status with the error reported and nothing left.
 */
int output_stage(struct gisactl *g, struct staged_output *o, const char *path, const void *buf,
		 size_t len, bool binary);
/*
 * Put n staged outputs in place: the ones written in place first (a
 * failing write of one leaves every regular file unchanged), then the
 * renames; a rename failing puts back the files the earlier ones
 * replaced.  Whatever fails, no temporary file is left.  0 or an exit
 * status.
 */
int output_commit(struct gisactl *g, struct staged_output *o, size_t n);
/* Remove a staged output's temporary file, if it has one. */
void output_discard(struct staged_output *o);
/*
 * The file an output named path replaces, into buf: path itself, or where
 * the chain of symbolic links it starts ends.  That file need not exist: a
 * dangling link is written through, creating its target, as open(O_CREAT)
 * would; the link stays.  0, -ENAMETOOLONG, -ELOOP (over 40 links) or the
 * -errno of readlink.
 */
int output_target(const char *path, char *buf, size_t size);
/*
 * The permission bits of a file that replaces dest: dest's own if it is a
 * regular file, else 0666 less the umask, as a file open(O_CREAT) makes.
 */
mode_t output_mode(const char *dest);
/*
 * Whether two output paths (neither standard output) name one file: the
 * same name, or, once links are followed (output_target), the same device
 * and inode once it exists, or the same name in the same directory before
 * it does.
 */
bool output_same_file(const char *a, const char *b);

#endif
