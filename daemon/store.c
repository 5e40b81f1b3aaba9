/* SPDX-License-Identifier: MIT */
/*
 * Snapshots in and out of the daemon, and the checkpoint store.
 *
 * Layout of the state directory (paths never come from a client; VM names
 * and tags are validated by name_valid, which refuses '/' and a leading
 * '.', so they cannot leave their directory):
 *
 *   <state_dir>/checkpoints/<vm>/current.gsnap   the VM's current checkpoint
 *   <state_dir>/checkpoints/<vm>/<tag>.gsnap     named checkpoints
 *   <state_dir>/checkpoints/<vm>/.<file>.<pid>.<n>.tmp   a write in progress
 *
 * Writes are atomic: a temporary file in the same directory is written,
 * fsync'd and renamed over the target, then the directory is fsync'd, so
 * after a crash the target is the old file or the new one, never a mix.
 * Temporaries left by a crash are removed at start-up.
 *
 * A VM holds at most max_checkpoints_per_vm tagged checkpoints (the
 * current one not counted): checkpoint_create asks store_checkpoint_quota
 * before it encodes the VM, so a new tag beyond it is refused before
 * anything is encoded or written.  A listing reads of each file it shows
 * its preamble, header and stored digest, never its payload, and only of
 * the files of the page it answers (store_checkpoint_info).
 *
 * Installing a snapshot is all or nothing: the file is decoded and the new
 * VM built completely before it takes the old one's place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gisa/image.h>

#include "dwq.h"
#include "gisad.h"
#include "log.h"
#include "mig.h"

#define CKPT_DIR     "checkpoints"
#define CKPT_CURRENT "current"
#define CKPT_SUFFIX  ".gsnap"

/* ---- encoding and installing ------------------------------------------- */

int store_encode(struct vmrec *rec, bool compress, int level, uint8_t **ret_buf,
		 size_t *ret_len, uint8_t digest[GISA_SNAP_DIGEST_SIZE], char *msg, size_t msglen)
{
	struct gisa_snap_meta meta = {
		.vm_name = rec->name,
		.vm_uuid = rec->uuid,
		.created_unix_ns = gisad_unix_ns(),
	};
	struct gisa_snap_opts opts = { .compress = compress, .level = level };
	struct gisa_snap_info info;
	struct gisa_snap_error serr = { { 0 } };
	struct gisa_image *img = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = gisa_image_from_vm(rec->vm, &img);
	if (r) {
		snprintf(msg, msglen, "reading the state of VM `%s': %s", rec->name, strerror(-r));
		return r;
	}
	r = gisa_snap_encode(img, &meta, &opts, &buf, &len);
	gisa_image_free(img);
	if (r) {
		snprintf(msg, msglen, "encoding the snapshot of VM `%s': %s", rec->name,
			 strerror(-r));
		return r;
	}
	/* The container carries the state digest as its check. */
	r = gisa_snap_info(buf, len, &info, &serr);
	if (r) {
		free(buf);
		snprintf(msg, msglen, "the snapshot just encoded does not parse: %s", serr.msg);
		return r;
	}
	memcpy(digest, info.digest, GISA_SNAP_DIGEST_SIZE);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int store_digest(struct vmrec *rec, uint8_t digest[GISA_SNAP_DIGEST_SIZE])
{
	struct gisa_image *img = NULL;
	int r = gisa_image_from_vm(rec->vm, &img);

	if (!r)
		r = gisa_snap_digest(img, digest);
	gisa_image_free(img);
	return r;
}

static void restore_msg(const struct gisa_restore_error *e, int r, char *msg, size_t msglen)
{
	if (e->field)
		snprintf(msg, msglen, "snapshot refused: %s[%llu] = %llu (0x%llx): %s", e->field,
			 (unsigned long long)e->index, (unsigned long long)e->value,
			 (unsigned long long)e->value, e->reason ? e->reason : "invalid");
	else
		snprintf(msg, msglen, "snapshot refused: building the VM failed: %s", strerror(-r));
}

/*
 * Build img on a host of its own and free it: the checks of
 * gisa_image_build_vm, with nothing on d's host changed.
 */
static int trial_build(struct gisad *d, const struct gisa_image *img,
		       struct gisa_restore_error *rerr)
{
	struct gisa_host_config hc = { 0 };
	struct gisa_host_info hi;
	struct gisa_host *h = NULL;
	struct gisa_vm *vm = NULL;
	int r;

	gisa_host_info(d->host, &hi);
	hc.nisc = hi.nisc;
	r = gisa_host_new(&hc, &h);
	if (!r)
		r = gisa_image_build_vm(img, h, &vm, rerr);
	gisa_vm_free(vm);
	gisa_host_free(h);
	return r;
}

int store_install(struct gisad *d, const char *name, bool replace, const uint8_t *buf,
		  size_t len, struct vmrec **ret, uint8_t digest[GISA_SNAP_DIGEST_SIZE],
		  char *msg, size_t msglen)
{
	struct gisa_snap_info info;
	struct gisa_snap_error serr = { { 0 } };
	struct gisa_restore_error rerr = { 0 };
	struct gisa_image *img = NULL;
	struct gisa_vm *vm = NULL;
	struct vmrec *rec;
	char what[128], why[160];
	uint8_t uuid[16];
	int r;

	r = gisa_snap_info(buf, len, &info, &serr);
	if (r) {
		snprintf(msg, msglen, "snapshot refused: %s", serr.msg);
		return r;
	}
	if (!name) {
		if (!info.vm_name[0]) {
			snprintf(msg, msglen, "the snapshot names no VM: give a name");
			return -EINVAL;
		}
		name = info.vm_name;
	}
	if (!name_valid(name)) {
		snprintf(msg, msglen,
			 "VM name `%.80s' is invalid: expected 1 to %d of [A-Za-z0-9_.-], "
			 "not starting with `.'",
			 name, GISAD_NAME_MAX);
		return -EINVAL;
	}
	rec = vmreg_find(d, name);
	if (rec && !replace) {
		snprintf(msg, msglen, "VM `%s' exists: ask for replace to overwrite it", name);
		return -EEXIST;
	}
	if (!rec && vmreg_name_taken(d, name, msg, msglen))
		return -EEXIST;
	if (rec && rec->mig != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE) {
		snprintf(msg, msglen, "VM `%s' is migrating to %.200s: it cannot be replaced until "
			 "the migration ends", name, rec->mig_peer);
		return -EAGAIN;
	}
	if (!rec && d->nr_vms + d->nr_staging >= d->cfg.max_vms) {
		snprintf(msg, msglen, "gisad already hosts %u VMs and receives %u by migration "
			 "(max_vms = %u)", d->nr_vms, d->nr_staging, d->cfg.max_vms);
		return -ENOSPC;
	}
	snprintf(what, sizeof(what), "the snapshot of VM `%.64s'", name);
	r = host_offers(d, what, info.profile, info.caps, msg, msglen);
	if (r)
		return r;

	r = gisa_snap_decode(buf, len, &img, &info, &serr);
	if (r) {
		snprintf(msg, msglen, "snapshot refused: %s", serr.msg);
		return r;
	}
	r = conf_mem_cap_check(&d->cfg, img->config.mem_cap, why, sizeof(why));
	if (r) {
		snprintf(msg, msglen, "the snapshot of VM `%.64s': %s", name, why);
		gisa_image_free(img);
		return r;
	}
	if (info.has_uuid)
		memcpy(uuid, info.vm_uuid, 16);
	else if (rec)
		memcpy(uuid, rec->uuid, 16);
	else
		uuid_random(uuid);

	if (rec) {
		struct gisa_state st;

		gisa_state_read(rec->vm, &st);
		if (st.gisa.on_alert_list) {
			/*
			 * Freeing a listed GISA processes the host's alert list
			 * (spec §7.7), which would start the new VM's timer if
			 * it were listed already: free the old VM first.  What
			 * the build refuses is refused before that, by a trial
			 * on a host of its own, or the list would be processed
			 * (other VMs changed) for a replacement that fails.
			 * Only running out of memory can fail the real build
			 * then: the old VM is rebuilt from its image.
			 */
			struct gisa_image *old = NULL;

			r = trial_build(d, img, &rerr);
			if (r) {
				restore_msg(&rerr, r, msg, msglen);
				gisa_image_free(img);
				return r;
			}
			r = gisa_image_from_vm(rec->vm, &old);
			if (r) {
				gisa_image_free(img);
				snprintf(msg, msglen, "reading VM `%s' before replacing it: %s",
					 name, strerror(-r));
				return r;
			}
			vmreg_replace(rec, NULL);
			r = gisa_image_build_vm(img, d->host, &vm, &rerr);
			if (r) {
				struct gisa_restore_error e2 = { 0 };

				restore_msg(&rerr, r, msg, msglen);
				if (gisa_image_build_vm(old, d->host, &rec->vm, &e2)) {
					log_err("VM `%s' lost: its replacement failed and "
						"rebuilding it failed too", name);
					vmreg_remove(d, rec);
				}
				gisa_image_free(old);
				gisa_image_free(img);
				return r;
			}
			gisa_image_free(old);
			rec->vm = vm;
		} else {
			r = gisa_image_build_vm(img, d->host, &vm, &rerr);
			if (r) {
				restore_msg(&rerr, r, msg, msglen);
				gisa_image_free(img);
				return r;
			}
			vmreg_replace(rec, vm);
		}
		memcpy(rec->uuid, uuid, 16);
	} else {
		r = gisa_image_build_vm(img, d->host, &vm, &rerr);
		if (r) {
			restore_msg(&rerr, r, msg, msglen);
			gisa_image_free(img);
			return r;
		}
		r = vmreg_add(d, name, uuid, vm, &rec);
		if (r) {
			gisa_vm_free(vm);
			gisa_image_free(img);
			snprintf(msg, msglen, "registering VM `%s': %s", name, strerror(-r));
			return r;
		}
	}
	gisa_image_free(img);
	memcpy(digest, info.digest, GISA_SNAP_DIGEST_SIZE);
	*ret = rec;
	return 0;
}

/* ---- regular files ------------------------------------------------------ */

static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "pipe";
	if (S_ISSOCK(m))
		return "socket";
	if (S_ISCHR(m))
		return "character device";
	if (S_ISBLK(m))
		return "block device";
	if (S_ISDIR(m))
		return "directory";
	return "special file";
}

/*
 * File systems whose regular files a client's descriptor may not be on:
 * their reads and writes can wait on another process or host (FUSE, the
 * network ones) or on an event (the kernel's own, such as a trace pipe),
 * for as long as anyone likes, and gisad has one thread.  statfs(2) f_type.
 */
static const struct {
	unsigned long magic;
	const char *name;
} slow_fs[] = {
	{ 0x65735546, "FUSE" },      { 0x6969, "NFS" },
	{ 0x517b, "SMB" },           { 0xff534d42, "CIFS" },
	{ 0xfe534d42, "SMB2" },      { 0x01021997, "9P" },
	{ 0x00c36400, "Ceph" },      { 0x6b414653, "AFS" },
	{ 0x5346414f, "OpenAFS" },   { 0x73757245, "Coda" },
	{ 0x01161970, "GFS2" },      { 0x7461636f, "OCFS2" },
	{ 0x0bd00bd0, "Lustre" },    { 0x9fa0, "proc" },
	{ 0x62656572, "sysfs" },     { 0x74726163, "tracefs" },
	{ 0x64626720, "debugfs" },   { 0x73636673, "securityfs" },
	{ 0x62656570, "configfs" },  { 0x27e0eb, "cgroup" },
	{ 0x63677270, "cgroup2" },   { 0xcafe4a11, "bpf" },
	{ 0x6165676c, "pstore" },    { 0xde5e81e4, "efivarfs" },
	{ 0x42494e4d, "binfmt_misc" }, { 0x65735543, "fusectl" },
};

/* A client's regular file on a local file system (slow_fs), or -EINVAL with msg. */
static int local_fs(int fd, const char *what, char *msg, size_t msglen)
{
	struct statfs sf;

	if (fstatfs(fd, &sf)) {
		int e = errno;

		snprintf(msg, msglen, "%s: fstatfs: %s", what, strerror(e));
		return -e;
	}
	for (size_t i = 0; i < sizeof(slow_fs) / sizeof(slow_fs[0]); i++) {
		if ((unsigned long)sf.f_type != slow_fs[i].magic)
			continue;
		snprintf(msg, msglen, "%s is on a %s file system (type 0x%lx), where a read or "
			 "write can wait without end: gisad takes files on local file systems "
			 "only (copy it to one, or pass a pipe to gisactl, which spools it)",
			 what, slow_fs[i].name, slow_fs[i].magic);
		return -EINVAL;
	}
	return 0;
}

static int read_all(int fd, const char *what, uint8_t **ret_buf, size_t *ret_len, char *msg,
		    size_t msglen)
{
	struct stat st;
	uint8_t *buf;
	size_t cap, len = 0;
	off_t pos;

	if (fstat(fd, &st)) {
		snprintf(msg, msglen, "%s: fstat: %s", what, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "%s is a %s, not a regular file", what,
			 file_kind(st.st_mode));
		return -EINVAL;
	}
	pos = lseek(fd, 0, SEEK_CUR);
	if (pos < 0)
		pos = 0;
	if (st.st_size < pos || (uint64_t)(st.st_size - pos) > GISAD_MAX_SNAPSHOT_FILE) {
		snprintf(msg, msglen, "%s holds %lld bytes, more than the %zu a snapshot may have",
			 what, (long long)(st.st_size - pos), GISAD_MAX_SNAPSHOT_FILE);
		return -EFBIG;
	}
	/* One byte more than expected: a file that grows is noticed. */
	cap = (size_t)(st.st_size - pos) + 1;
	buf = malloc(cap);
	if (!buf) {
		snprintf(msg, msglen, "%s: no memory for %zu bytes", what, cap);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(buf);
			snprintf(msg, msglen, "%s: read: %s", what, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			free(buf);
			snprintf(msg, msglen, "%s grew while it was read", what);
			return -EIO;
		}
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int store_read_fd(int fd, uint8_t **ret_buf, size_t *ret_len, char *msg, size_t msglen)
{
	int fl = fcntl(fd, F_GETFL);
	int r;

	if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY) {
		snprintf(msg, msglen, "the passed descriptor is not open for reading");
		return -EBADF;
	}
	r = local_fs(fd, "the passed descriptor", msg, msglen);
	if (r)
		return r;
	return read_all(fd, "the passed descriptor", ret_buf, ret_len, msg, msglen);
}

int store_write_fd(int fd, const uint8_t *buf, size_t len, char *msg, size_t msglen)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	int r;

	if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) {
		snprintf(msg, msglen, "the passed descriptor is not open for writing");
		return -EBADF;
	}
	if (fstat(fd, &st)) {
		snprintf(msg, msglen, "the passed descriptor: fstat: %s", strerror(errno));
		return -errno;
	}
	/* A pipe or socket could block the daemon's only thread. */
	if (!S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "the passed descriptor is a %s, not a regular file",
			 file_kind(st.st_mode));
		return -EINVAL;
	}
	r = local_fs(fd, "the passed descriptor", msg, msglen);
	if (r)
		return r;
	r = write_all(fd, buf, len);
	if (r)
		snprintf(msg, msglen, "writing %zu bytes to the passed descriptor: %s", len,
			 strerror(-r));
	return r;
}

/* ---- checkpoint files --------------------------------------------------- */

static int path_fmt(char *buf, size_t len, char *msg, size_t msglen, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int path_fmt(char *buf, size_t len, char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		snprintf(msg, msglen, "path under the state directory is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

static int mkdir_one(const char *path, char *msg, size_t msglen)
{
	if (mkdir(path, 0750) == 0 || errno == EEXIST)
		return 0;
	snprintf(msg, msglen, "creating directory `%s': %s", path, strerror(errno));
	return -errno;
}

int store_init(struct gisad *d, char *msg, size_t msglen)
{
	char path[PATH_MAX];
	char *p;
	int r;

	/* mkdir -p for the state directory itself, then checkpoints/. */
	r = path_fmt(path, sizeof(path), msg, msglen, "%s", d->cfg.state_dir);
	if (r)
		return r;
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		r = mkdir_one(path, msg, msglen);
		*p = '/';
		if (r)
			return r;
	}
	r = mkdir_one(path, msg, msglen);
	if (r)
		return r;
	r = path_fmt(path, sizeof(path), msg, msglen, "%s/" CKPT_DIR, d->cfg.state_dir);
	return r ? r : mkdir_one(path, msg, msglen);
}

static const char *tag_file(const char *tag)
{
	return tag && tag[0] ? tag : CKPT_CURRENT;
}

/*
 * The tag of a directory entry's name if it names a checkpoint file
 * (<tag>.gsnap, CKPT_CURRENT for the current one), else false.
 */
static bool entry_tag(const char *name, char tag[GISAD_NAME_MAX + 1])
{
	size_t len = strlen(name), sl = strlen(CKPT_SUFFIX);

	if (name[0] == '.' || len <= sl || len - sl > GISAD_NAME_MAX ||
	    strcmp(name + len - sl, CKPT_SUFFIX) != 0)
		return false;
	memcpy(tag, name, len - sl);
	tag[len - sl] = '\0';
	return name_valid(tag);
}

/* Zeros to write from, without a buffer as large as what they pad. */
static const uint8_t zeros[64u << 10];

/* len bytes of zeros to fd.  -errno. */
static int write_zeros(int fd, uint64_t len)
{
	int r = 0;

	while (len && !r) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);

		r = write_all(fd, zeros, n);
		len -= n;
	}
	return r;
}

int store_file_write(const char *dir, const char *name, const uint8_t *buf, size_t len,
		     char *msg, size_t msglen)
{
	const struct store_file f = { name, buf, len, len };

	return store_files_write(dir, &f, 1, msg, msglen);
}

/* f's contents into dirfd/tmp (created; its descriptor in *fd), not flushed.  -errno. */
static int file_put(int dfd, const char *tmp, const struct store_file *f, int *fd)
{
	int r;

	*fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (*fd < 0)
		return -errno;
	r = write_all(*fd, f->buf, f->len);
	if (!r && f->size > f->len)
		r = write_zeros(*fd, f->size - f->len);
	return r;
}

int store_files_write(const char *dir, const struct store_file *f, size_t n, char *msg,
		      size_t msglen)
{
	/* Atomic: the durable-write queue's thread writes files too (dwq.h). */
	static _Atomic unsigned long counter;
	char tmp[STORE_FILES_MAX][NAME_MAX + 1];
	int fd[STORE_FILES_MAX];
	size_t moved = 0, made = 0, bad = 0;
	int dfd, r = 0;

	if (n > STORE_FILES_MAX) {
		snprintf(msg, msglen, "%zu files at once, at most %u", n, STORE_FILES_MAX);
		return -E2BIG;
	}
	for (size_t i = 0; i < n; i++)
		if ((size_t)snprintf(tmp[i], sizeof(tmp[i]), ".%s.%ld.%lu.tmp", f[i].name,
				     (long)getpid(), (unsigned long)++counter) >= sizeof(tmp[i])) {
			snprintf(msg, msglen, "file name `%s' is too long", f[i].name);
			return -ENAMETOOLONG;
		}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(msg, msglen, "opening `%s': %s", dir, strerror(errno));
		return -errno;
	}
	/*
	 * Every file written, then every one flushed (the first flush finds
	 * the others' blocks on their way: fewer journal commits), then every
	 * rename, then one flush of the directory for all.
	 */
	for (size_t i = 0; i < n && !r; i++) {
		r = file_put(dfd, tmp[i], &f[i], &fd[i]);
		bad = i;
		made = i + 1;
	}
	for (size_t i = 0; i < made && !r; i++) {
		bad = i;
		if (fsync(fd[i]))
			r = -errno;
	}
	for (size_t i = 0; i < made; i++)
		if (fd[i] >= 0 && close(fd[i]) && !r) {
			r = -errno;
			bad = i;
		}
	for (; moved < n && !r; moved++) {
		bad = moved;
		if (renameat(dfd, tmp[moved], dfd, f[moved].name)) {
			r = -errno;
			break;
		}
	}
	if (r) {
		snprintf(msg, msglen, "writing `%s/%s': %s", dir, f[bad].name, strerror(-r));
		/* The temporaries made and not renamed. */
		for (size_t i = moved; i < made; i++)
			unlinkat(dfd, tmp[i], 0);
		close(dfd);
		return r;
	}
	/* The renames are durable only once the directory is. */
	if (fsync(dfd)) {
		r = -errno;
		snprintf(msg, msglen, "fsync of `%s': %s", dir, strerror(-r));
	}
	close(dfd);
	return r;
}

/*
 * Queued durable writes done, an incoming VM's checkpoint among them
 * (migin_install_all), before this file touches a checkpoint; on the
 * writer itself (a retired VM's files) nothing waits: its jobs run in
 * order.
 */
static void settle(struct gisad *d)
{
	if (dwq_on_writer())
		return;
	migin_install_all(d);
	dwq_flush(d);
}

int store_checkpoint_dir(struct gisad *d, const char *vm, char *dir, size_t len, char *msg,
			 size_t msglen)
{
	int r;

	r = path_fmt(dir, len, msg, msglen, "%s/" CKPT_DIR, d->cfg.state_dir);
	if (!r)
		r = mkdir_one(dir, msg, msglen);
	if (!r)
		r = path_fmt(dir, len, msg, msglen, "%s/" CKPT_DIR "/%s", d->cfg.state_dir, vm);
	if (!r)
		r = mkdir_one(dir, msg, msglen);
	return r;
}

/*
 * The VM's checkpoint directory, opened into *ret (NULL: there is none)
 * and its path into dir (PATH_MAX bytes).  -errno with msg.
 */
static int vm_dir_open(struct gisad *d, const char *vm, char *dir, DIR **ret, char *msg,
		       size_t msglen)
{
	int r = path_fmt(dir, PATH_MAX, msg, msglen, "%s/" CKPT_DIR "/%s", d->cfg.state_dir, vm);

	*ret = NULL;
	if (r)
		return r;
	*ret = opendir(dir);
	if (*ret || errno == ENOENT)
		return 0;
	r = -errno;
	snprintf(msg, msglen, "opening `%s': %s", dir, strerror(-r));
	return r;
}

/*
 * max_checkpoints_per_vm: a new tag is written only while the VM holds
 * fewer tagged checkpoints (the regular <tag>.gsnap files a listing
 * shows; the current one not counted) than the limit; an existing tag is
 * overwritten whatever the count, so a limit lowered by SIGHUP keeps what
 * is there.  0, -EDQUOT or the directory's -errno, with msg.
 */
int store_checkpoint_quota(struct gisad *d, const char *vm, const char *tag, char *msg,
			   size_t msglen)
{
	char dir[PATH_MAX], t[GISAD_NAME_MAX + 1];
	uint32_t max = d->cfg.max_checkpoints_per_vm;
	struct dirent *de;
	size_t held = 0;
	DIR *dh;
	int r;

	r = vm_dir_open(d, vm, dir, &dh, msg, msglen);
	if (!dh)
		return r;
	while ((de = readdir(dh))) {
		struct stat st;

		if (!entry_tag(de->d_name, t) || strcmp(t, CKPT_CURRENT) == 0 ||
		    fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (strcmp(t, tag) == 0) {
			closedir(dh);
			return 0;
		}
		held++;
	}
	closedir(dh);
	if (held < max)
		return 0;
	snprintf(msg, msglen,
		 "VM `%s' holds %zu tagged checkpoints, max_checkpoints_per_vm allows %u: "
		 "delete one, or overwrite an existing tag",
		 vm, held, max);
	return -EDQUOT;
}

int store_checkpoint_write(struct gisad *d, const char *vm, const char *tag,
			   const uint8_t *buf, size_t len, char *msg, size_t msglen)
{
	char dir[PATH_MAX], final[GISAD_NAME_MAX + 16];
	int r;

	settle(d);
	r = store_checkpoint_dir(d, vm, dir, sizeof(dir), msg, msglen);
	if (r)
		return r;
	snprintf(final, sizeof(final), "%s" CKPT_SUFFIX, tag_file(tag));
	r = store_file_write(dir, final, buf, len, msg, msglen);
	if (r && strncmp(msg, "writing", 7) == 0)
		snprintf(msg, msglen, "writing checkpoint `%s/%s': %s", dir, final, strerror(-r));
	if (!r && !(tag && tag[0]) && !dwq_on_writer())
		migin_superseded(d, vm, "a newer checkpoint of the VM is written");
	return r;
}

static int open_checkpoint(struct gisad *d, const char *vm, const char *tag, char *path,
			   size_t pathlen, char *msg, size_t msglen)
{
	return path_fmt(path, pathlen, msg, msglen, "%s/" CKPT_DIR "/%s/%s" CKPT_SUFFIX,
			d->cfg.state_dir, vm, tag_file(tag));
}

bool store_checkpoint_exists(struct gisad *d, const char *vm)
{
	char path[PATH_MAX], msg[64];
	struct stat st;

	if (open_checkpoint(d, vm, NULL, path, sizeof(path), msg, sizeof(msg)))
		return true;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

int store_checkpoint_read(struct gisad *d, const char *vm, const char *tag, uint8_t **ret_buf,
			  size_t *ret_len, char *msg, size_t msglen)
{
	char path[PATH_MAX];
	int fd, r;

	settle(d);
	r = open_checkpoint(d, vm, tag, path, sizeof(path), msg, msglen);
	if (r)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
		{
			if (tag && tag[0])
				snprintf(msg, msglen, "VM `%s' has no checkpoint `%s'", vm, tag);
			else
				snprintf(msg, msglen, "VM `%s' has no current checkpoint", vm);
		}
		else
			snprintf(msg, msglen, "opening `%s': %s", path, strerror(-r));
		return r;
	}
	r = read_all(fd, path, ret_buf, ret_len, msg, msglen);
	close(fd);
	return r;
}

int store_checkpoint_delete(struct gisad *d, const char *vm, const char *tag, char *msg,
			    size_t msglen)
{
	char path[PATH_MAX];
	int r;

	settle(d);
	r = open_checkpoint(d, vm, tag, path, sizeof(path), msg, msglen);
	if (r)
		return r;
	if (unlink(path)) {
		r = -errno;
		if (r == -ENOENT)
			snprintf(msg, msglen, "VM `%s' has no checkpoint `%s'", vm, tag_file(tag));
		else
			snprintf(msg, msglen, "removing `%s': %s", path, strerror(-r));
		return r;
	}
	/* Best effort: an empty VM directory goes too. */
	r = path_fmt(path, sizeof(path), msg, msglen, "%s/" CKPT_DIR "/%s", d->cfg.state_dir, vm);
	if (!r)
		(void)rmdir(path);
	msg[0] = '\0';
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct ckpt_entry *x = a, *y = b;

	return strcmp(x->tag, y->tag);   /* "" (current) sorts first */
}

/* len bytes at off.  -errno; -EIO if the file ends before. */
static int pread_all(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * What a listing shows of the checkpoint file fd of size bytes, read
 * without its payload (gisa_snap_info_head): its preamble, then its
 * preamble and header (44 + H bytes, at most 64 KiB; a few hundred in
 * practice), and its last 32 bytes, the stored digest.  0, or a negative
 * errno: the file is listed without info.
 */
static int entry_info(int fd, uint64_t size, struct gisa_snap_info *ret)
{
	uint8_t pre[GISA_SNAP_PREAMBLE_SIZE], digest[GISA_SNAP_DIGEST_SIZE], *head;
	size_t n;
	int r;

	/* Sizes no snapshot file has: read_all's cap, less than the frame. */
	if (size > GISAD_MAX_SNAPSHOT_FILE ||
	    size < GISA_SNAP_PREAMBLE_SIZE + GISA_SNAP_DIGEST_SIZE)
		return -EBADMSG;
	r = pread_all(fd, pre, sizeof(pre), 0);
	if (!r)
		r = gisa_snap_head_size(pre, sizeof(pre), &n, NULL);
	if (r)
		return r;
	if (n > size - GISA_SNAP_DIGEST_SIZE)
		return -EBADMSG;
	head = malloc(n);
	if (!head)
		return -ENOMEM;
	r = pread_all(fd, head, n, 0);
	if (!r)
		r = pread_all(fd, digest, sizeof(digest), size - sizeof(digest));
	if (!r)
		r = gisa_snap_info_head(head, n, size, digest, ret, NULL);
	free(head);
	return r;
}

/* A listed file's size and modification time. */
static void entry_stat(struct ckpt_entry *e, const struct stat *st)
{
	e->size = (uint64_t)st->st_size;
	e->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
}

int store_checkpoint_list(struct gisad *d, const char *vm, const char *after,
			  struct ckpt_entry **ret, size_t *n, char *msg, size_t msglen)
{
	char dir[PATH_MAX];
	struct ckpt_entry *es = NULL;
	size_t ne = 0, cap = 0;
	struct dirent *de;
	DIR *dh;
	int r;

	settle(d);
	*ret = NULL;
	*n = 0;
	r = vm_dir_open(d, vm, dir, &dh, msg, msglen);
	if (!dh)
		return r;
	while ((de = readdir(dh))) {
		char tag[GISAD_NAME_MAX + 1];
		struct ckpt_entry *e;
		struct stat st;

		if (!entry_tag(de->d_name, tag))
			continue;
		if (!strcmp(tag, CKPT_CURRENT))
			tag[0] = '\0';
		if ((after && strcmp(tag, after) <= 0) ||
		    fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (ne == cap) {
			size_t c = cap ? 2 * cap : 16;
			struct ckpt_entry *grown = realloc(es, c * sizeof(*es));

			if (!grown) {
				free(es);
				closedir(dh);
				snprintf(msg, msglen, "out of memory listing `%s'", dir);
				return -ENOMEM;
			}
			es = grown;
			cap = c;
		}
		e = &es[ne++];
		memset(e, 0, sizeof(*e));
		snprintf(e->tag, sizeof(e->tag), "%s", tag);
		entry_stat(e, &st);
	}
	closedir(dh);
	msg[0] = '\0';
	if (ne)
		qsort(es, ne, sizeof(*es), entry_cmp);
	*ret = es;
	*n = ne;
	return 0;
}

void store_checkpoint_info(struct gisad *d, const char *vm, struct ckpt_entry *e)
{
	char path[PATH_MAX], msg[64];
	struct stat st;
	int fd;

	e->has_info = false;
	if (open_checkpoint(d, vm, e->tag, path, sizeof(path), msg, sizeof(msg)))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	/* Replaced since it was listed: what is there now. */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode)) {
		entry_stat(e, &st);
		e->has_info = entry_info(fd, e->size, &e->info) == 0;
	}
	close(fd);
}

/* ---- start-up and shut-down --------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove temporaries a crash left in a VM's checkpoint directory. */
static void remove_temporaries(const char *dir)
{
	struct dirent *de;
	DIR *dh = opendir(dir);

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' && len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
			if (unlinkat(dirfd(dh), de->d_name, 0) == 0)
				log_notice("removed `%s/%s', left by an interrupted "
					   "checkpoint", dir, de->d_name);
		}
	}
	closedir(dh);
}

void store_restore_all(struct gisad *d)
{
	char dir[PATH_MAX], msg[512];
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dh;

	if (path_fmt(dir, sizeof(dir), msg, sizeof(msg), "%s/" CKPT_DIR, d->cfg.state_dir))
		return;
	dh = opendir(dir);
	if (!dh)
		return;
	while ((de = readdir(dh))) {
		char **grown;

		if (de->d_name[0] == '.')
			continue;
		if (!name_valid(de->d_name)) {
			log_warning("ignoring `%s/%s': not a valid VM name", dir, de->d_name);
			continue;
		}
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			log_err("out of memory listing `%s'", dir);
			break;
		}
		names = grown;
		n++;
	}
	closedir(dh);
	/* A fixed order: the same start-up gives the same host alert list. */
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);

	for (size_t i = 0; i < n; i++) {
		uint8_t digest[GISA_SNAP_DIGEST_SIZE];
		char vmdir[PATH_MAX], hex[65];
		struct vmrec *rec;
		struct job *j;
		uint8_t *buf = NULL;
		size_t len = 0;
		int r;

		if (!path_fmt(vmdir, sizeof(vmdir), msg, sizeof(msg), "%s/%s", dir, names[i]))
			remove_temporaries(vmdir);
		msg[0] = '\0';
		if (mig_skip_restore(d, names[i]))
			continue;
		r = store_checkpoint_read(d, names[i], NULL, &buf, &len, msg, sizeof(msg));
		if (r == -ENOENT)
			continue;   /* only named checkpoints: nothing to activate */
		j = job_start(d, GISA__V1__JOB_OPERATION__JOB_OPERATION_RESTORE, names[i], NULL);
		if (!r) {
			if (j)
				job_progress(j, 0, len);
			r = store_install(d, names[i], false, buf, len, &rec, digest, msg,
					  sizeof(msg));
			free(buf);
		}
		if (r) {
			log_err("VM `%s' not restored: %s", names[i], msg);
		} else {
			gisa_snap_digest_hex(digest, hex);
			log_info("VM `%s' restored from its checkpoint, digest %s", names[i], hex);
			if (j) {
				j->has_digest = true;
				memcpy(j->digest, digest, sizeof(digest));
				rec->last_job = j->id;
			}
		}
		if (j)
			job_finish(d, j, r, msg);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int store_checkpoint_all(struct gisad *d)
{
	int failed = 0;

	settle(d);

	for (struct vmrec *rec = d->vms; rec; rec = rec->next) {
		uint8_t digest[GISA_SNAP_DIGEST_SIZE];
		char msg[512] = "", hex[65];
		uint8_t *buf;
		size_t len;
		int r;

		r = store_encode(rec, true, 0, &buf, &len, digest, msg, sizeof(msg));
		if (!r) {
			r = store_checkpoint_write(d, rec->name, NULL, buf, len, msg, sizeof(msg));
			free(buf);
		}
		if (r) {
			log_err("VM `%s' not checkpointed: %s", rec->name, msg);
			failed++;
			continue;
		}
		gisa_snap_digest_hex(digest, hex);
		log_info("VM `%s' checkpointed, digest %s", rec->name, hex);
	}
	return failed;
}
