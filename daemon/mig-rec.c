/* SPDX-License-Identifier: MIT */
/*
 * Migration records (docs/MIGRATION-PROTOCOL.md, section 7): one small
 * JSON file per migration in <state_dir>/migrations/<id>.json, written
 * atomically (temporary file, fsync, rename, fsync of the directory)
 * before the step that depends on it (a version 2 source's presumed
 * IN_DOUBT and RETIRED records go into its slot first, the JSON file
 * later); and beside it the slot <id>.stage for the staged snapshot (a
 * destination's commit, a source's frozen VM) until it moves into
 * checkpoints/<vm>/current.gsnap or, retired, is removed.  A destination's
 * STAGING record and slot may start as a spare pair (see Spares below).
 *
 * Each public function that touches these files runs on the loop or on
 * the durable-write queue's thread (dwq.h); on the loop it first waits
 * for the queued writes (dwq_flush), so that no write overtakes one
 * queued before it.
 *
 * Records are read back at start-up only, as hostile input: a file over
 * MIGREC_MAX_FILE is not read, every string is length-checked, and a
 * record that does not parse is logged and left alone (never guessed at).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <jansson.h>

#include <gisa/delta.h>
#include <gisa/snapshot.h>

#include "dwq.h"
#include "log.h"
#include "mig.h"

#define MIGREC_DIR        "migrations"
#define MIGREC_MAX_FILE   (64u << 10)
/*
 * Record files read at start-up: twice outcome_records' largest value,
 * room for a destination's outcomes beside its records as a source.  More
 * and gisad does not start: one left unread could be a RETIRED record.
 */
#define MIGREC_MAX_LOAD   131072u
/*
 * A migration's staged snapshot lives in a slot, <id>.stage, reserved
 * (zero-filled, durable, name and all) during precopy, so that the write
 * inside the downtime only overwrites blocks already allocated and needs
 * fdatasync alone: no new file, no rename, no directory to flush.  The
 * reservation is the expected size plus an eighth plus the slack, in
 * whole blocks, at most the cap (a larger snapshot extends the file).
 */
#define MIGREC_STAGE               ".stage"
#define MIGREC_STAGE_SLACK         (64u << 10)
#define MIGREC_STAGE_BLOCK         4096u
#define MIGREC_STAGE_MAX_RESERVE   (72ull << 20)
/*
 * A destination reserves its slot at MigBegin, before round 0 arrives,
 * for the size MigBegin announces: at most this much until round 0 proves
 * more (migrec_stage_fill then grows it), so that an announcement costs
 * little.
 */
#define MIGREC_STAGE_EMPTY_RESERVE (16ull << 20)
/*
 * Spares: a destination makes its STAGING record and its empty slot, at
 * MigBegin, out of one of GISAD_MIG_SPARES pairs of files prepared ahead,
 * both durable: .spare-<k>.json (spaces) and .spare-<k>.stage (zeros).
 * The record is written over the first's blocks, padded with spaces (one
 * pwrite, fdatasync): no file created, no name changed, no directory
 * flushed on the way to round 0's acknowledgement.  The migration then
 * keeps the pair under its hidden names (d->spare_held[k]; while
 * d->spare_slot[k], its slot's path is .spare-<k>.stage) until
 * spare_settle gives them its own, off the
 * critical path: when the spares are made again after it ended, or at the
 * next start, before the records are read.  Later records go to
 * <id>.json as new files, so a STAGING record still in a spare with an
 * <id>.json beside it is superseded.  A spare record that is not blank
 * holds the record of the migration that took it, or (unparsable) a
 * write cut short that nobody was told of.  Without a free spare, or for
 * a larger round 0 announced (or a longer record), new files are made.
 * Spares are made again one pair per queued job, so that the queue never
 * holds a migration's write behind several files' creation.
 */
#define MIGREC_SPARES              GISAD_MIG_SPARES
#define MIGREC_SPARE_JSON_SIZE     4096u
#define MIGREC_SPARE_STAGE_SIZE    (256u << 10)
/*
 * A slot holds a snapshot file from its start, then zero or more deltas
 * (the MigDeltas that turn it into later states, in order), then the
 * record the slot stands for (IN_DOUBT at a source, COMMITTED at a
 * destination, with the digests); zeros follow.  Each entry after the
 * snapshot is a magic ("GISAMDLT" a delta, "GISAMREC" a record), its
 * length (u32 BE, a delta at most GISA_DELTA_MAX_BYTES, a record at most
 * MIGREC_MAX_FILE), the SHA-256 of its bytes, the bytes.  A slot counts as
 * written only with a record complete; an entry cut short (or zeros)
 * where the first record should be means not written.  Deltas are read
 * back one at a time, at most SLOT_MAX_DELTAS.
 *
 * A source's slot can hold up to SLOT_MAX_RECORDS records one after the
 * other, the last complete one standing: a presumed IN_DOUBT record
 * (written before the freeze; the final delta and the frozen record may
 * follow it), and after an IN_DOUBT record only a RETIRED one.  Each is
 * one overwrite and fdatasync where a record file of its own would take a
 * temporary file, fsync, rename and fsync of the directory; the JSON
 * record catches up later (recover_source reads the slot first).
 *
 * Version 1 switchovers and a version 2 one that falls back write the
 * final snapshot and its record from the start (no deltas); a version 2
 * migration's slot starts as round 0's snapshot, gets each round's delta
 * appended during precopy, and the final delta with the record inside the
 * downtime.  Appends keep at least SLOT_APPEND_ROOM bytes (and twice the
 * last entry) of zeros reserved after the end, so that the final one only
 * overwrites allocated blocks.
 */
#define SLOT_TRAILER_MAGIC         "GISAMREC"
#define SLOT_DELTA_MAGIC           "GISAMDLT"
#define SLOT_TRAILER_HEAD          (8u + 4u + MIG_DIGEST_SIZE)
#define SLOT_MAX_DELTAS            4096u
/* Every precopy round but round 0 and the final delta: a slot a destination took stays readable. */
_Static_assert(SLOT_MAX_DELTAS >= GISAD_MIG_MAX_ROUNDS, "a slot holds every round's delta");
#define SLOT_MAX_RECORDS           4u
#define SLOT_APPEND_ROOM           (128u << 10)

static const char *const state_names[] = {
	[MIGREC_NONE] = "none",
	[MIGREC_PRECOPY] = "precopy",
	[MIGREC_IN_DOUBT] = "in-doubt",
	[MIGREC_RETIRED] = "retired",
	[MIGREC_RESUMED] = "resumed",
	[MIGREC_STAGING] = "staging",
	[MIGREC_COMMITTED] = "committed",
	[MIGREC_DISCARDED] = "discarded",
};

const char *migrec_state_name(enum migrec_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

static int rec_dir(struct gisad *d, char *buf, size_t len, char *msg, size_t msglen)
{
	if ((size_t)snprintf(buf, len, "%s/" MIGREC_DIR, d->cfg.state_dir) >= len) {
		snprintf(msg, msglen, "state_dir `%.200s' is too long", d->cfg.state_dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(buf, 0750) && errno != EEXIST) {
		snprintf(msg, msglen, "creating `%.200s': %s", buf, strerror(errno));
		return -errno;
	}
	return 0;
}

static void put_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char hex[2 * MIG_DIGEST_SIZE + 1];

	mig_hex(p, n, hex);
	json_object_set_new(o, key, json_string(hex));
}

/* The record's JSON text (malloc'd), or NULL when out of memory. */
static char *rec_text(const struct migrec *r)
{
	json_t *o = json_object();
	char *text;

	if (!o)
		return NULL;
	json_object_set_new(o, "format", json_string("gisad.migration.v1"));
	put_hex(o, "id", r->id, MIG_ID_SIZE);
	json_object_set_new(o, "state", json_string(migrec_state_name(r->state)));
	json_object_set_new(o, "vm", json_string(r->vm));
	json_object_set_new(o, "remote_vm", json_string(r->remote_vm));
	put_hex(o, "uuid", r->uuid, 16);
	json_object_set_new(o, "peer", json_string(r->peer));
	json_object_set_new(o, "peer_name", json_string(r->peer_name));
	json_object_set_new(o, "peer_entry", json_string(r->peer_entry));
	json_object_set_new(o, "peer_fingerprint", json_string(r->peer_fp));
	if (r->presumed)
		json_object_set_new(o, "presumed", json_true());
	if (r->has_digests) {
		put_hex(o, "final_digest", r->final_digest, MIG_DIGEST_SIZE);
		put_hex(o, "chain", r->chain, MIG_DIGEST_SIZE);
		put_hex(o, "target_digest", r->target_digest, MIG_DIGEST_SIZE);
	}
	if (r->has_active_digest)
		put_hex(o, "active_digest", r->active_digest, MIG_DIGEST_SIZE);
	json_object_set_new(o, "error", json_integer(r->error));
	json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "created_unix_ns", json_integer((json_int_t)r->created_unix_ns));
	json_object_set_new(o, "decided_unix_ns", json_integer((json_int_t)r->decided_unix_ns));
	text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

int migrec_write(struct gisad *d, const struct migrec *r, char *msg, size_t msglen)
{
	char dir[PATH_MAX], name[2 * MIG_ID_SIZE + 8];
	char *text = rec_text(r);
	int err;

	dwq_flush(d);
	if (!text) {
		snprintf(msg, msglen, "out of memory for a migration record");
		return -ENOMEM;
	}
	err = rec_dir(d, dir, sizeof(dir), msg, msglen);
	if (!err) {
		mig_hex(r->id, MIG_ID_SIZE, name);
		strcat(name, ".json");
		err = store_file_write(dir, name, (const uint8_t *)text, strlen(text), msg,
				       msglen);
	}
	free(text);
	return err;
}

/* The spare pair migration id holds, or -1. */
static int spare_of(const struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	for (unsigned k = 0; k < MIGREC_SPARES; k++)
		if (d->spare_held[k] && memcmp(d->spare_id[k], id, MIG_ID_SIZE) == 0)
			return (int)k;
	return -1;
}

/* The spare pair whose slot is still migration id's, or -1. */
static int spare_slot_of(const struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	int k = spare_of(d, id);

	return k >= 0 && d->spare_slot[k] ? k : -1;
}

/* A spare pair's name: .spare-<k><suffix>. */
static void spare_name(char *buf, size_t len, unsigned k, const char *suffix)
{
	snprintf(buf, len, ".spare-%u%s", k, suffix);
}

/* <name> in the records' directory. */
static int rec_path(struct gisad *d, const char *name, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, "%s/" MIGREC_DIR "/%s", d->cfg.state_dir, name) >= len ?
	       -ENAMETOOLONG : 0;
}

/* <id><suffix> in the records' directory; a spare holder's slot is the spare's. */
static int id_path(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *suffix,
		   char *buf, size_t len)
{
	char name[2 * MIG_ID_SIZE + 16];
	int k = strcmp(suffix, MIGREC_STAGE) == 0 ? spare_slot_of(d, id) : -1;

	if (k >= 0) {
		spare_name(name, sizeof(name), (unsigned)k, MIGREC_STAGE);
	} else {
		mig_hex(id, MIG_ID_SIZE, name);
		snprintf(name + 2 * MIG_ID_SIZE, sizeof(name) - 2 * MIG_ID_SIZE, "%s", suffix);
	}
	return rec_path(d, name, buf, len);
}

int migrec_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	char path[PATH_MAX];
	int r, k;

	dwq_flush(d);
	/* The slot first: a crash in between leaves no slot without its record. */
	if (!id_path(d, id, MIGREC_STAGE, path, sizeof(path)))
		(void)unlink(path);
	r = id_path(d, id, ".json", path, sizeof(path));
	if (!r && unlink(path) && errno != ENOENT)
		r = -errno;
	/* Its STAGING record too if still a spare: spare_settle must not bring it back. */
	k = spare_of(d, id);
	if (!r && k >= 0) {
		char name[32];

		spare_name(name, sizeof(name), (unsigned)k, ".json");
		r = rec_path(d, name, path, sizeof(path));
		if (!r && unlink(path) && errno != ENOENT)
			r = -errno;
		if (!r)
			d->spare_held[k] = d->spare_slot[k] = false;
	}
	return r;
}

/* ---- the staged snapshot's slot -------------------------------------------- */

static int stage_path(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *buf, size_t len,
		      char *msg, size_t msglen)
{
	if (id_path(d, id, MIGREC_STAGE, buf, len)) {
		snprintf(msg, msglen, "state_dir `%s' is too long", d->cfg.state_dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* The stored size of the snapshot file snap: what a slot makes room for. */
static int snap_expected(const uint8_t *snap, size_t len, uint64_t *expected, char *msg,
			 size_t msglen)
{
	struct gisa_snap_error err = { { 0 } };
	struct gisa_snap_info info;
	int r = gisa_snap_info(snap, len, &info, &err);

	if (r) {
		snprintf(msg, msglen, "round 0's snapshot: %s", err.msg);
		return r;
	}
	*expected = (uint64_t)GISA_SNAP_PREAMBLE_SIZE + info.header_len + info.state_len +
		    GISA_SNAP_DIGEST_SIZE;
	return 0;
}

/*
 * A slot's size for a snapshot of len bytes whose state stored whole takes
 * expected: room for that (a fallback's snapshot), or for deltas after it.
 */
static uint64_t slot_room(uint64_t expected, uint64_t len)
{
	uint64_t size;

	if (expected > MIGREC_STAGE_MAX_RESERVE)
		expected = MIGREC_STAGE_MAX_RESERVE;
	size = expected + expected / 8 + MIGREC_STAGE_SLACK;
	size = size > MIGREC_STAGE_MAX_RESERVE ? MIGREC_STAGE_MAX_RESERVE : size;
	if (size < len + SLOT_APPEND_ROOM)
		size = len + SLOT_APPEND_ROOM;
	return (size + MIGREC_STAGE_BLOCK - 1) & ~(uint64_t)(MIGREC_STAGE_BLOCK - 1);
}

/*
 * Whether the spare name is there as made: a regular file of size bytes;
 * the record's also blank (a space first: nobody's record).
 */
static bool spare_there(int dfd, const char *name, off_t size, bool blank)
{
	struct stat st;
	char c = 0;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode) ||
	    st.st_size != size)
		return false;
	if (!blank)
		return true;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	if (pread(fd, &c, 1, 0) != 1)
		c = 0;
	close(fd);
	return c == ' ';
}

/* Whether the spare pair named jn, sn is whole and blank, as made. */
static bool spare_ready(int dfd, const char *jn, const char *sn)
{
	return spare_there(dfd, sn, MIGREC_SPARE_STAGE_SIZE, false) &&
	       spare_there(dfd, jn, MIGREC_SPARE_JSON_SIZE, true);
}

/*
 * The STAGING record text of migration id written over a free spare
 * record, durably, its slot that pair's (size bytes wanted): 0, and d holds
 * the pair.  Anything else (no free spare, too small: 1; a failure:
 * -errno) leaves the caller to make new files; what this wrote then is
 * superseded (spare_settle).
 */
static int spare_take(struct gisad *d, const char *dir, const char *text,
		      const uint8_t id[MIG_ID_SIZE], uint64_t size)
{
	char pad[MIGREC_SPARE_JSON_SIZE], rname[32], sname[32];
	size_t tlen = strlen(text);
	int dfd, fd = -1, r = 1;
	unsigned k;
	ssize_t n;

	if (size > MIGREC_SPARE_STAGE_SIZE || tlen >= sizeof(pad))
		return 1;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (k = 0; k < MIGREC_SPARES; k++) {
		spare_name(rname, sizeof(rname), k, ".json");
		spare_name(sname, sizeof(sname), k, MIGREC_STAGE);
		if (!d->spare_held[k] && spare_ready(dfd, rname, sname))
			break;
	}
	if (k == MIGREC_SPARES)
		goto out;
	memcpy(pad, text, tlen);
	memset(pad + tlen, ' ', sizeof(pad) - tlen - 1);
	pad[sizeof(pad) - 1] = '\n';
	fd = openat(dfd, rname, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* Blocks and size as made, the names durable since: data only. */
	n = pwrite(fd, pad, sizeof(pad), 0);
	if (n != (ssize_t)sizeof(pad) || fdatasync(fd)) {
		r = n >= 0 && n != (ssize_t)sizeof(pad) ? -EIO : -errno;
		/*
		 * New files stand for the migration instead: this pair is nobody's
		 * (spare_settle would otherwise take what it holds for the
		 * migration's).  If even this fails, the next settle removes it.
		 */
		(void)unlinkat(dfd, sname, 0);
		(void)unlinkat(dfd, rname, 0);
		goto out;
	}
	d->spare_held[k] = true;
	d->spare_slot[k] = true;
	memcpy(d->spare_id[k], id, MIG_ID_SIZE);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return r;
}

/* Whether text holds anything but white space. */
static bool has_text(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\n')
			return true;
	return false;
}

static int parse(const char *text, size_t len, struct migrec *r, char *why, size_t whylen);
static int read_small(int dfd, const char *name, char **ret, size_t *ret_len);

/* Whether the file name in dfd starts with a zero sector (or is empty): nothing written. */
static bool zero_start(int dfd, const char *name)
{
	uint8_t b[512];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return false;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * The migration that holds spare pair k (or held it when gisad stopped:
 * at_start) gets its own names: its slot (if still there) <id>.stage (or,
 * at a start, goes if nothing was written into it: the same to the
 * recovery as no slot), the directory flushed, then its
 * STAGING record <id>.json unless a later record has it already (then it
 * goes), the directory flushed.  Slot first: a crash in between leaves
 * the record to name it.  A record that does not parse was cut short
 * before anyone was told of it, and goes.  While gisad runs, a pair that
 * is not held but holds text was left by a take that failed (new files
 * stand for that migration): both go.  A spare slot never serves again:
 * zeros are what it promises.  Safe while the migration runs (on the
 * queue's thread: its slot's path changes between two of its writes).
 * 0 (nothing to do too) or -errno with msg; a step done stays done.
 */
static int spare_settle(struct gisad *d, int dfd, const char *dir, unsigned k, bool at_start,
			char *msg, size_t msglen)
{
	char hex[2 * MIG_ID_SIZE + 1], sname[sizeof(hex) + sizeof(MIGREC_STAGE)];
	char rname[sizeof(hex) + sizeof(".json")], why[256], jn[32], sn[32];
	struct migrec rec;
	char *text = NULL;
	size_t tlen = 0;
	int r;

	spare_name(jn, sizeof(jn), k, ".json");
	spare_name(sn, sizeof(sn), k, MIGREC_STAGE);
	r = read_small(dfd, jn, &text, &tlen);
	if (r == -ENOENT || (!r && !has_text(text, tlen))) {
		free(text);
		d->spare_held[k] = d->spare_slot[k] = false;
		return 0;
	}
	if (r) {
		snprintf(msg, msglen, "reading `%.200s/%s': %s", dir, jn,
			 r == -EFBIG ? "not a regular file of at most 64 KiB" : strerror(-r));
		return r;
	}
	if (!at_start && !d->spare_held[k]) {
		r = (unlinkat(dfd, sn, 0) && errno != ENOENT) ||
		    (unlinkat(dfd, jn, 0) && errno != ENOENT) ? -errno : 0;
	} else if (parse(text, tlen, &rec, why, sizeof(why))) {
		log_warning("migration: `%s/%s' holds a STAGING record cut short (%s), never "
			    "acknowledged: removed", dir, jn, why);
		if (unlinkat(dfd, jn, 0) && errno != ENOENT)
			r = -errno;
	} else {
		mig_hex(rec.id, MIG_ID_SIZE, hex);
		snprintf(sname, sizeof(sname), "%s" MIGREC_STAGE, hex);
		snprintf(rname, sizeof(rname), "%s.json", hex);
		if (faccessat(dfd, sn, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			/* At a start only: while gisad runs, zeros may still be filled. */
			bool gone = (at_start && zero_start(dfd, sn)) ||
				    faccessat(dfd, sname, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

			r = gone ? unlinkat(dfd, sn, 0) : renameat(dfd, sn, dfd, sname);
			r = r || fsync(dfd) ? -errno : 0;
		}
		if (!r)
			d->spare_slot[k] = false;
		if (!r)
			r = (faccessat(dfd, rname, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ?
			     unlinkat(dfd, jn, 0) : renameat(dfd, jn, dfd, rname)) ? -errno : 0;
	}
	free(text);
	if (!r && fsync(dfd))
		r = -errno;
	if (r)
		snprintf(msg, msglen, "naming the migration in `%.200s/%s': %s", dir, jn,
			 strerror(-r));
	else
		d->spare_held[k] = d->spare_slot[k] = false;
	return r;
}

/*
 * spare_settle of every pair; the first failure is returned (msg), the
 * others logged, and *bad (if not NULL) has bit k set for each pair that
 * failed: what it holds must stay.
 */
static int spares_settle(struct gisad *d, const char *dir, bool at_start, unsigned *bad,
			 char *msg, size_t msglen)
{
	char m[512];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (bad)
		*bad = 0;
	if (dfd < 0) {
		r = -errno;
		snprintf(msg, msglen, "opening `%.200s': %s", dir, strerror(-r));
		if (bad)
			*bad = (1u << MIGREC_SPARES) - 1;
		return r;
	}
	for (unsigned k = 0; k < MIGREC_SPARES; k++) {
		int e = spare_settle(d, dfd, dir, k, at_start, m, sizeof(m));

		if (e && bad)
			*bad |= 1u << k;
		if (e && !r) {
			r = e;
			snprintf(msg, msglen, "%s", m);
		} else if (e) {
			log_err("migration records: %s", m);
		}
	}
	close(dfd);
	return r;
}

int migrec_spare_make(struct gisad *d, char *msg, size_t msglen)
{
	uint8_t spaces[MIGREC_SPARE_JSON_SIZE];
	char dir[PATH_MAX], jn[MIGREC_SPARES][32], sn[MIGREC_SPARES][32], m2[256];
	struct store_file f[2];
	unsigned missing = 0, first = 0, bad = 0;
	int dfd, r, e;

	/* Run on the loop (no memory for the job), it must not race the queue's thread. */
	dwq_flush(d);
	r = rec_dir(d, dir, sizeof(dir), msg, msglen);
	if (r)
		return r;
	/* A pair that could not be named keeps what it holds; the others serve. */
	e = spares_settle(d, dir, false, &bad, msg, msglen);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(msg, msglen, "opening `%.200s': %s", dir, strerror(-r));
		return r;
	}
	for (unsigned k = 0; k < MIGREC_SPARES; k++) {
		spare_name(jn[k], sizeof(jn[k]), k, ".json");
		spare_name(sn[k], sizeof(sn[k]), k, MIGREC_STAGE);
		if (d->spare_held[k] || (bad & (1u << k)) || spare_ready(dfd, jn[k], sn[k]))
			continue;
		if (!missing++)
			first = k;
	}
	close(dfd);
	if (!missing)
		return e;
	/* One pair per job: a migration's write queued meanwhile waits for one only. */
	memset(spaces, ' ', sizeof(spaces));
	f[0] = (struct store_file){ jn[first], spaces, sizeof(spaces), sizeof(spaces) };
	f[1] = (struct store_file){ sn[first], NULL, 0, MIGREC_SPARE_STAGE_SIZE };
	r = store_files_write(dir, f, 2, e ? m2 : msg, e ? sizeof(m2) : msglen);
	if (e)
		return e;
	return r ? r : missing > 1;
}

int migrec_stage_reserve(struct gisad *d, const struct migrec *rec, const uint8_t *snap,
			 size_t len, uint64_t announced, struct migrec_slot *slot, char *msg,
			 size_t msglen)
{
	char dir[PATH_MAX], name[2 * MIG_ID_SIZE + sizeof(MIGREC_STAGE)];
	char rname[2 * MIG_ID_SIZE + sizeof(".json")];
	char *text = rec_text(rec);
	struct store_file f[2];
	uint64_t expected = 0, size;
	int r;

	dwq_flush(d);
	if (!text) {
		snprintf(msg, msglen, "out of memory for a migration record");
		return -ENOMEM;
	}
	r = snap ? snap_expected(snap, len, &expected, msg, msglen) : 0;
	if (!r)
		r = rec_dir(d, dir, sizeof(dir), msg, msglen);
	if (r) {
		free(text);
		return r;
	}
	if (snap) {
		size = slot_room(expected, len);
	} else {
		/*
		 * The room round 0 of the size announced takes stored whole (no
		 * compression: the object is the snapshot file), so that the
		 * fill only overwrites; capped until round 0 proves more.
		 */
		announced = announced > MIGREC_STAGE_EMPTY_RESERVE ? MIGREC_STAGE_EMPTY_RESERVE :
			    announced;
		size = slot_room(announced, (size_t)announced);
		len = 0;
	}
	mig_hex(rec->id, MIG_ID_SIZE, name);
	memcpy(rname, name, 2 * MIG_ID_SIZE);
	strcpy(rname + 2 * MIG_ID_SIZE, ".json");
	strcat(name, MIGREC_STAGE);
	if (!snap && spare_take(d, dir, text, rec->id, size) == 0) {
		free(text);
		memcpy(slot->id, rec->id, MIG_ID_SIZE);
		slot->end = 0;
		slot->size = MIGREC_SPARE_STAGE_SIZE;
		return 0;
	}
	/* The record first: a crash between the renames leaves no slot without it. */
	f[0] = (struct store_file){ rname, (const uint8_t *)text, strlen(text), strlen(text) };
	f[1] = (struct store_file){ name, snap, len, size };
	r = store_files_write(dir, f, 2, msg, msglen);
	free(text);
	if (!r) {
		memcpy(slot->id, rec->id, MIG_ID_SIZE);
		slot->end = len;
		slot->size = size;
	}
	return r;
}

int migrec_stage_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *msg, size_t msglen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = rec_dir(d, dir, sizeof(dir), msg, msglen), dfd;

	dwq_flush(d);
	if (!r)
		r = stage_path(d, id, path, sizeof(path), msg, msglen);
	if (r)
		return r;
	if (unlink(path)) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(msg, msglen, "removing `%s': %s", path, strerror(-r));
		return r;
	}
	/* The removal is durable before anyone is told that nothing was committed. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	if (r)
		snprintf(msg, msglen, "fsync of `%s': %s", dir, strerror(-r));
	return r;
}

bool migrec_stage_exists(struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	char path[PATH_MAX];

	dwq_flush(d);
	return !id_path(d, id, MIGREC_STAGE, path, sizeof(path)) && access(path, F_OK) == 0;
}

static const uint8_t zero_block[MIGREC_STAGE_BLOCK];

/*
 * The n pieces one after the other from off (no copy into one buffer),
 * then zeros up to zero_to (if beyond), then one fdatasync.  -errno with
 * msg.
 */
static int slot_overwrite(struct gisad *d, const uint8_t id[MIG_ID_SIZE], uint64_t off,
			  const struct iovec *v, size_t nv, uint64_t zero_to, char *msg,
			  size_t msglen)
{
	char path[PATH_MAX];
	int fd, r = stage_path(d, id, path, sizeof(path), msg, msglen);

	if (r)
		return r;
	/* Never created here: without its reservation the slot is not durable. */
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		r = -errno;
		snprintf(msg, msglen, "opening the slot `%s': %s", path, strerror(-r));
		return r;
	}
	for (size_t i = 0; i <= nv && !r; i++) {
		const uint8_t *p = i < nv ? v[i].iov_base : zero_block;
		uint64_t want = i < nv ? v[i].iov_len : zero_to > off ? zero_to - off : 0;

		for (uint64_t done = 0; done < want;) {
			size_t chunk = i < nv ? (size_t)(want - done) :
				       (size_t)(want - done < sizeof(zero_block) ?
						want - done : sizeof(zero_block));
			ssize_t n = pwrite(fd, i < nv ? p + done : p, chunk, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				snprintf(msg, msglen, "writing `%s': %s", path, strerror(-r));
				break;
			}
			done += (uint64_t)n;
			off += (uint64_t)n;
		}
	}
	/* Blocks written before, the name durable since the reservation: data only. */
	if (!r && fdatasync(fd)) {
		r = -errno;
		snprintf(msg, msglen, "fdatasync of `%s': %s", path, strerror(-r));
	}
	close(fd);
	return r;
}

int migrec_stage_fill(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const uint8_t *snap,
		      size_t len, struct migrec_slot *slot, char *msg, size_t msglen)
{
	struct iovec v = { (void *)snap, len };
	char path[PATH_MAX];
	uint64_t expected, room, zero_to = 0;
	struct stat st;
	int r = snap_expected(snap, len, &expected, msg, msglen);

	dwq_flush(d);
	if (!r)
		r = stage_path(d, id, path, sizeof(path), msg, msglen);
	if (r)
		return r;
	if (stat(path, &st)) {
		r = -errno;
		snprintf(msg, msglen, "the slot `%s': %s", path, strerror(-r));
		return r;
	}
	/*
	 * Reserved for the size announced (round 0's object, capped): the room
	 * a slot made with the snapshot would have had is made now if that is
	 * more (a compressed round 0, an estimate short of it).
	 */
	room = slot_room(expected, len);
	if (room > (uint64_t)st.st_size)
		zero_to = room;
	r = slot_overwrite(d, id, 0, &v, 1, zero_to, msg, msglen);
	if (!r) {
		memcpy(slot->id, id, MIG_ID_SIZE);
		slot->end = len;
		slot->size = zero_to ? zero_to : (uint64_t)st.st_size;
	}
	return r;
}

/* Where the probe writes: the first whole block after the slot's end. */
static uint64_t probe_at(const struct migrec_slot *slot)
{
	return (slot->end + MIGREC_STAGE_BLOCK - 1) & ~(uint64_t)(MIGREC_STAGE_BLOCK - 1);
}

bool migrec_stage_probe_fits(const struct migrec_slot *slot)
{
	return probe_at(slot) + sizeof(zero_block) <= slot->size;
}

int migrec_stage_probe(struct gisad *d, const struct migrec_slot *slot, char *msg,
		       size_t msglen)
{
	struct iovec v = { (void *)zero_block, sizeof(zero_block) };
	uint64_t off = probe_at(slot);

	dwq_flush(d);
	/* An overwrite or nothing: a write past the size would time a growth. */
	if (!migrec_stage_probe_fits(slot)) {
		snprintf(msg, msglen, "no room after the slot's end (%llu of %llu bytes)",
			 (unsigned long long)slot->end, (unsigned long long)slot->size);
		return -ENOSPC;
	}
	/* Past the end of what the slot holds: zeros over zeros. */
	return slot_overwrite(d, slot->id, off, &v, 1, 0, msg, msglen);
}

/* An entry's head: magic, length (u32 BE), SHA-256 of the bytes. */
static int entry_head(uint8_t head[SLOT_TRAILER_HEAD], const char *magic, const uint8_t *p,
		      size_t len)
{
	memcpy(head, magic, 8);
	head[8] = (uint8_t)(len >> 24);
	head[9] = (uint8_t)(len >> 16);
	head[10] = (uint8_t)(len >> 8);
	head[11] = (uint8_t)len;
	return mig_sha256(p, len, head + 12);
}

/*
 * Write pieces at off: [the delta entry] [the record entry (r)], durably;
 * zeros to zero_to.  With r, the slot is written: IN_DOUBT or COMMITTED
 * (or, from migrec_stage_note, a presumed IN_DOUBT or RETIRED record).
 * *ret_end (if not NULL): where the pieces end.
 */
static int slot_put(struct gisad *d, const uint8_t id[MIG_ID_SIZE], uint64_t off,
		    const uint8_t *delta, size_t dlen, const struct migrec *r,
		    const uint8_t *snap, size_t slen, uint64_t zero_to, uint64_t *ret_end,
		    char *msg, size_t msglen)
{
	uint8_t dhead[SLOT_TRAILER_HEAD], rhead[SLOT_TRAILER_HEAD];
	char *text = r ? rec_text(r) : NULL;
	size_t tlen = text ? strlen(text) : 0;
	struct iovec v[5] = { { 0 } };
	size_t nv = 0;
	int err = 0;

	if (r && !text) {
		snprintf(msg, msglen, "out of memory for the slot's record");
		return -ENOMEM;
	}
	if (tlen > MIGREC_MAX_FILE || dlen > GISA_DELTA_MAX_BYTES) {
		free(text);
		snprintf(msg, msglen, "the slot's %s is %zu bytes, over the cap %u",
			 tlen > MIGREC_MAX_FILE ? "record" : "delta", tlen > MIGREC_MAX_FILE ?
			 tlen : dlen, tlen > MIGREC_MAX_FILE ? MIGREC_MAX_FILE :
			 GISA_DELTA_MAX_BYTES);
		return -E2BIG;
	}
	if (snap)
		v[nv++] = (struct iovec){ (void *)snap, slen };
	if (delta) {
		err = entry_head(dhead, SLOT_DELTA_MAGIC, delta, dlen);
		v[nv++] = (struct iovec){ dhead, sizeof(dhead) };
		v[nv++] = (struct iovec){ (void *)delta, dlen };
	}
	if (text && !err) {
		err = entry_head(rhead, SLOT_TRAILER_MAGIC, (const uint8_t *)text, tlen);
		v[nv++] = (struct iovec){ rhead, sizeof(rhead) };
		v[nv++] = (struct iovec){ text, tlen };
	}
	if (err)
		snprintf(msg, msglen, "SHA-256 of the slot's entry failed");
	else
		err = slot_overwrite(d, id, off, v, nv, zero_to, msg, msglen);
	free(text);
	if (!err && ret_end) {
		*ret_end = off;
		for (size_t i = 0; i < nv; i++)
			*ret_end += v[i].iov_len;
	}
	return err;
}

int migrec_stage_write(struct gisad *d, const struct migrec *r, const uint8_t *snap,
		       size_t len, char *msg, size_t msglen)
{
	dwq_flush(d);
	/* The snapshot, then the record it stands for: one flush for both. */
	return slot_put(d, r->id, 0, NULL, 0, r, snap, len, 0, NULL, msg, msglen);
}

int migrec_stage_append(struct gisad *d, struct migrec_slot *slot, const uint8_t *delta,
			size_t len, char *msg, size_t msglen)
{
	uint64_t end = slot->end + SLOT_TRAILER_HEAD + len;
	uint64_t room = SLOT_APPEND_ROOM + 2 * (uint64_t)len, zero_to = 0;
	int r;

	dwq_flush(d);
	if (end + room > slot->size)
		zero_to = (end + 2 * room + MIGREC_STAGE_BLOCK - 1) &
			  ~(uint64_t)(MIGREC_STAGE_BLOCK - 1);
	r = slot_put(d, slot->id, slot->end, delta, len, NULL, NULL, 0, zero_to, NULL, msg,
		     msglen);
	if (!r) {
		slot->end = end;
		if (zero_to > slot->size)
			slot->size = zero_to;
	}
	return r;
}

int migrec_stage_final(struct gisad *d, const struct migrec_slot *slot, const struct migrec *r,
		       const uint8_t *delta, size_t len, char *msg, size_t msglen)
{
	dwq_flush(d);
	return slot_put(d, slot->id, slot->end, delta, len, r, NULL, 0, 0, NULL, msg, msglen);
}

int mig_encode_checkpoint(const struct gisa_image *img, const struct gisa_snap_state *st,
			  const char *vm, const uint8_t uuid[16], uint8_t **buf, size_t *len,
			  char *msg, size_t msglen)
{
	struct gisa_snap_meta meta = {
		.vm_name = vm,
		.vm_uuid = uuid,
		.created_unix_ns = gisad_unix_ns(),
	};
	struct gisa_snap_opts opts = { .compress = false };
	int r = st ? gisa_snap_encode_state(img, st, &meta, &opts, buf, len) :
		     gisa_snap_encode(img, &meta, &opts, buf, len);

	if (r)
		snprintf(msg, msglen, "encoding the checkpoint: %s", strerror(-r));
	return r;
}

/*
 * buf becomes checkpoints/<vm>/current.gsnap (dir) durably, and only then
 * the slot goes, durably: a start in between finds the slot whole and
 * moves it again, and once removed it cannot come back over a newer
 * checkpoint.
 */
static int slot_to_checkpoint(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *dir,
			      const uint8_t *buf, size_t len, char *msg, size_t msglen)
{
	int r = store_file_write(dir, "current.gsnap", buf, len, msg, msglen);

	return r ? r : migrec_stage_remove(d, id, msg, msglen);
}

/*
 * A retired VM's files: its slot, then its current checkpoint (none: 0).
 * With json, the RETIRED record r is written first: the slot says RETIRED
 * and goes only once the JSON says so too.  -errno with msg.
 */
static int retire_files(struct gisad *d, const struct migrec *r, bool json, char *msg,
			size_t msglen)
{
	int e = json ? migrec_write(d, r, msg, msglen) : 0;

	if (!e)
		e = migrec_stage_remove(d, r->id, msg, msglen);
	if (!e)
		e = store_checkpoint_delete(d, r->vm, NULL, msg, msglen);
	return e == -ENOENT ? 0 : e;
}

/* ---- the same writes, queued (dwq.h) ------------------------------------------ */

uint64_t migrec_precopy_done(const struct dwq_job *dj, struct migrec_slot *slot, int *first_r,
			     char *first_msg, size_t msglen, const char *what)
{
	const struct migrec_job *j = (const struct migrec_job *)dj;
	bool reserve = j->kind == MIGREC_JOB_RESERVE || j->kind == MIGREC_JOB_STAGE ||
		       j->kind == MIGREC_JOB_FILL;

	if (dj->r && !*first_r) {
		*first_r = dj->r;
		snprintf(first_msg, msglen, "%s: %s", what, dj->msg);
	}
	if (!reserve || dj->r)
		return 0;
	*slot = j->slot;
	return j->kind == MIGREC_JOB_RESERVE ? j->probe_ns : 0;
}

/*
 * The activated VM's checkpoint from its image, durably, then the slot
 * removed: cheaper than replaying the slot's deltas, which stays the way
 * of a restart (and of this job when the checkpoint cannot be written).
 */
static int job_install(struct gisad *d, struct migrec_job *j)
{
	char dir[PATH_MAX], *msg = j->j.msg, first[DWQ_MSG_MAX / 2] = "";
	size_t msglen = sizeof(j->j.msg);
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (j->img) {
		r = store_checkpoint_dir(d, j->rec.vm, dir, sizeof(dir), msg, msglen);
		if (!r)
			r = mig_encode_checkpoint(j->img, &j->st, j->rec.vm, j->rec.uuid, &buf,
						  &len, msg, msglen);
		if (!r)
			r = slot_to_checkpoint(d, j->rec.id, dir, buf, len, msg, msglen);
		free(buf);
		if (!r)
			return 0;
		snprintf(first, sizeof(first), "%.200s", msg);
	}
	r = migrec_stage_exists(d, j->rec.id) ?
	    migrec_stage_commit(d, j->rec.id, j->rec.vm, msg, msglen) : 0;
	if (r || !first[0])
		return r;
	snprintf(msg, msglen, "its checkpoint from the active VM: %.200s (the staged one was moved "
		 "instead)", first);
	return 1;
}

/* One overwrite after the slot's end (migrec_stage_probe), its time in j->probe_ns. */
static int probe_timed(struct gisad *d, struct migrec_job *j)
{
	uint64_t t0 = gisad_now_ns();
	int r = migrec_stage_probe(d, &j->slot, j->j.msg, sizeof(j->j.msg));

	j->probe_ns = gisad_now_ns() - t0;
	return r;
}

static int job_run(struct gisad *d, struct dwq_job *dj)
{
	struct migrec_job *j = (struct migrec_job *)dj;
	int r;

	switch (j->kind) {
	case MIGREC_JOB_WRITE:
		return migrec_write(d, &j->rec, dj->msg, sizeof(dj->msg));
	case MIGREC_JOB_RESERVE:
	case MIGREC_JOB_STAGE:
		/* The record (PRECOPY, STAGING) with it: one flush of the directory for both. */
		r = migrec_stage_reserve(d, &j->rec, j->buf, j->len, j->announced, &j->slot,
					 dj->msg, sizeof(dj->msg));
		/* The probe times the source's write in the downtime (its estimate). */
		if (r || j->kind == MIGREC_JOB_STAGE)
			return r;
		return probe_timed(d, j);
	case MIGREC_JOB_PROBE:
		return probe_timed(d, j);
	case MIGREC_JOB_FILL:
		return migrec_stage_fill(d, j->rec.id, j->buf, j->len, &j->slot, dj->msg,
					 sizeof(dj->msg));
	case MIGREC_JOB_FINAL:
		return migrec_stage_final(d, &j->slot, &j->rec, j->buf, j->len, dj->msg,
					  sizeof(dj->msg));
	case MIGREC_JOB_REMOVE:
		return migrec_stage_remove(d, j->rec.id, dj->msg, sizeof(dj->msg));
	case MIGREC_JOB_NOTE:
		return migrec_stage_note(d, &j->slot, &j->rec, dj->msg, sizeof(dj->msg));
	case MIGREC_JOB_RETIRE_WRITE:
	case MIGREC_JOB_RETIRE:
		return retire_files(d, &j->rec, j->kind == MIGREC_JOB_RETIRE_WRITE, dj->msg,
				    sizeof(dj->msg));
	case MIGREC_JOB_INSTALL:
		return job_install(d, j);
	case MIGREC_JOB_SPARE:
		return migrec_spare_make(d, dj->msg, sizeof(dj->msg));
	}
	snprintf(dj->msg, sizeof(dj->msg), "migration write of kind %d", (int)j->kind);
	return -EINVAL;
}

static void job_release(struct dwq_job *dj)
{
	struct migrec_job *j = (struct migrec_job *)dj;

	free(j->buf);
	if (j->img) {
		gisa_image_free(j->img);
		gisa_snap_state_release(&j->st);
		/* An activated VM's image: as large as the VM, given back at once. */
		mig_heap_trim();
	}
}

/* Queue j, or (on the caller's stack: no memory for it) run it to the end now. */
static uint64_t job_go(struct gisad *d, struct migrec_job *j, bool now)
{
	if (!now)
		return dwq_post(d, &j->j);
	j->j.r = job_run(d, &j->j);
	if (j->j.done)
		j->j.done(d, &j->j);
	job_release(&j->j);
	return 0;
}

/* A job of kind for rec, malloc'd, or mine (zeroed) when out of memory. */
static struct migrec_job *job_new(struct migrec_job *mine, enum migrec_job_kind kind,
				  const struct migrec *rec, void *owner,
				  void (*done)(struct gisad *d, struct dwq_job *j))
{
	struct migrec_job *j = calloc(1, sizeof(*j));

	if (!j) {
		/* No job to queue: the write now, on this thread, and its done. */
		memset(mine, 0, sizeof(*mine));
		j = mine;
	}
	j->j.fn = job_run;
	j->j.done = done;
	j->j.release = job_release;
	j->j.owner = owner;
	j->kind = kind;
	j->rec = *rec;
	return j;
}

uint64_t migrec_post(struct gisad *d, enum migrec_job_kind kind, const struct migrec *rec,
		     const struct migrec_slot *slot, uint8_t *buf, size_t len, void *owner,
		     void (*done)(struct gisad *d, struct dwq_job *j))
{
	struct migrec_job mine, *j = job_new(&mine, kind, rec, owner, done);

	if (slot)
		j->slot = *slot;
	j->buf = buf;
	j->len = len;
	return job_go(d, j, j == &mine);
}

uint64_t migrec_post_stage(struct gisad *d, const struct migrec *rec, uint64_t announced,
			   void *owner, void (*done)(struct gisad *d, struct dwq_job *j))
{
	struct migrec_job mine, *j = job_new(&mine, MIGREC_JOB_STAGE, rec, owner, done);

	j->announced = announced;
	return job_go(d, j, j == &mine);
}

/*
 * Spares that cannot be made cost time, not correctness: said once per
 * failure.  More to make: the next pair a little later.
 */
static void spare_made(struct gisad *d, struct dwq_job *dj)
{
	if (dj->r < 0)
		log_warning("migration: no spare STAGING record and slot: %s (incoming migrations "
			    "make new files)", dj->msg);
	else if (dj->r > 0)
		mig_spare_later(d);
}

uint64_t migrec_post_spare(struct gisad *d)
{
	static const struct migrec none;

	return migrec_post(d, MIGREC_JOB_SPARE, &none, NULL, NULL, 0, NULL, spare_made);
}

uint64_t migrec_post_install(struct gisad *d, const struct migrec *rec, struct gisa_image *img,
			     struct gisa_snap_state *st, void (*done)(struct gisad *d,
								      struct dwq_job *j))
{
	struct migrec_job mine, *j = job_new(&mine, MIGREC_JOB_INSTALL, rec, NULL, done);

	j->img = img;
	if (st) {
		j->st = *st;
		memset(st, 0, sizeof(*st));
	}
	return job_go(d, j, j == &mine);
}

static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (int)(done == len);
}

/*
 * The entry at off: 1 with its kind ('D' delta, 'R' record) and bytes
 * (malloc'd, SHA-256 checked), 0 when none is all there (zeros, or a
 * write cut short; msg says which), or -errno.
 */
static int slot_entry(int fd, const char *path, uint64_t off, uint64_t fsize, char *kind,
		      uint8_t **ret, uint32_t *ret_len, char *msg, size_t msglen)
{
	uint8_t head[SLOT_TRAILER_HEAD], dg[MIG_DIGEST_SIZE], *buf;
	uint32_t len, cap;
	int r = off + sizeof(head) <= fsize ? read_at(fd, head, sizeof(head), (off_t)off) : 0;

	if (r < 0) {
		snprintf(msg, msglen, "reading `%s': %s", path, strerror(-r));
		return r;
	}
	len = r ? (uint32_t)head[8] << 24 | (uint32_t)head[9] << 16 | (uint32_t)head[10] << 8 |
		  head[11] : 0;
	*kind = r && !memcmp(head, SLOT_DELTA_MAGIC, 8) ? 'D' :
		r && !memcmp(head, SLOT_TRAILER_MAGIC, 8) ? 'R' : 0;
	cap = *kind == 'D' ? GISA_DELTA_MAX_BYTES : MIGREC_MAX_FILE;
	if (!*kind || len > cap || off + sizeof(head) + len > fsize) {
		snprintf(msg, msglen, "`%s' holds no record after its %s (not written, or a write "
			 "cut short)", path, off ? "snapshot and deltas" : "snapshot");
		return 0;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		snprintf(msg, msglen, "out of memory reading `%s' (%u bytes)", path, len);
		return -ENOMEM;
	}
	r = read_at(fd, buf, len, (off_t)(off + sizeof(head)));
	if (r > 0)
		r = mig_sha256(buf, len, dg) ? -ENOMEM : 1;
	if (r > 0 && memcmp(dg, head + 12, sizeof(dg))) {
		snprintf(msg, msglen, "`%s': an entry's digest does not match (a write cut short)",
			 path);
		r = 0;
	} else if (r <= 0) {
		r = r ? r : -EIO;
		snprintf(msg, msglen, "reading `%s': %s", path, strerror(-r));
	}
	if (r <= 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 1;
}

/*
 * A delta of the slot applied to *img (replaced): 1; 0 (msg says why)
 * when it starts from another state, whole as it is (its entry's digest
 * held): left there by an earlier write (round 0 and the precopy deltas
 * after it) that a later one from the slot's start, cut short, did not
 * cover; -EBADMSG etc. with msg.
 */
static int slot_apply(const char *path, struct gisa_image **img, const uint8_t *delta,
		      size_t len, char *msg, size_t msglen)
{
	static const uint8_t unnamed[MIG_DIGEST_SIZE];
	struct gisa_snap_error err = { { 0 } };
	uint8_t base[MIG_DIGEST_SIZE], result[MIG_DIGEST_SIZE];
	struct gisa_image *next = NULL;
	int r = gisa_delta_digests(delta, len, base, result, &err);

	/* A live switchover's final delta names no result: the activation's digest checks it. */
	if (!r && !memcmp(result, unnamed, sizeof(unnamed)))
		r = gisa_delta_apply_image(*img, NULL, delta, len, &next, result, &err);
	else if (!r)
		r = gisa_delta_apply(*img, delta, len, &next, &err);
	if (r == -ESTALE) {
		snprintf(msg, msglen, "`%s' holds a delta of another state, left by an earlier "
			 "write (a later one cut short): %s", path, err.msg);
		return 0;
	}
	if (r) {
		snprintf(msg, msglen, "`%s' holds a delta that does not apply: %s", path,
			 err.msg[0] ? err.msg : strerror(-r));
		return r == -ENOMEM ? r : -EBADMSG;
	}
	gisa_image_free(*img);
	*img = next;
	return 1;
}

/*
 * A record that names its state's digest (a version 1 switchover: D(I_f)
 * at a source, the target at a destination) must sit after that state: a
 * write from the slot's start that a crash cut short may have left its
 * record's blocks after the older snapshot (and deltas) it was to
 * replace.  A tracked record names none, and cannot be reached without
 * the delta written before it.  1, 0 (cut short), or -ENOMEM.
 */
static int slot_state_check(const char *path, const struct gisa_image *img,
			    const struct migrec *rec, char *msg, size_t msglen)
{
	const uint8_t *want = rec->state == MIGREC_COMMITTED ? rec->target_digest :
			      rec->final_digest;
	uint8_t got[MIG_DIGEST_SIZE];

	if (!rec->has_digests || mig_digest_unknown(want))
		return 1;
	if (gisa_snap_digest(img, got)) {
		snprintf(msg, msglen, "out of memory hashing the state of `%s'", path);
		return -ENOMEM;
	}
	if (memcmp(got, want, MIG_DIGEST_SIZE) == 0)
		return 1;
	snprintf(msg, msglen, "`%s' holds a record whose state is not before it (a write cut "
		 "short)", path);
	return 0;
}

/*
 * A record entry of the slot (img the state before it; prev the record
 * before it, if any): 1 with it in *rec; 0 when it does not count (where
 * a write cut short left it, or a record that cannot follow prev: what a
 * write from the slot's start left after it); -EBADMSG with msg when it
 * is not one gisad writes there.
 */
static int slot_record(const char *path, const uint8_t id[MIG_ID_SIZE], const uint8_t *buf,
		       uint32_t len, const struct gisa_image *img, const struct migrec *prev,
		       struct migrec *rec, char *msg, size_t msglen)
{
	char why[256];

	if (parse((const char *)buf, len, rec, why, sizeof(why))) {
		snprintf(msg, msglen, "`%s': its record does not parse: %s", path, why);
		return -EBADMSG;
	}
	if (memcmp(rec->id, id, MIG_ID_SIZE)) {
		snprintf(msg, msglen, "`%s' holds the record of another migration", path);
		return -EBADMSG;
	}
	/* After a presumed IN_DOUBT record, the frozen one or RETIRED; after that, RETIRED. */
	if (prev && rec->state != MIGREC_RETIRED &&
	    !(prev->presumed && rec->state == MIGREC_IN_DOUBT && !rec->presumed))
		return 0;
	/* The state a presumed or RETIRED record stands for is not this one. */
	if (rec->presumed || rec->state == MIGREC_RETIRED)
		return 1;
	return slot_state_check(path, img, rec, msg, msglen);
}

/*
 * What an open slot holds: 1 when written, with its last complete record
 * (in the order slot_record allows) in *rec, the
 * state it stands for in *ret_img (the snapshot with the deltas applied;
 * may be NULL), the snapshot's size and the number of deltas; 0 when not
 * written (never, zeros; or a write a crash cut short; msg says which);
 * -errno with msg when it cannot be read or holds what gisad does not
 * write.
 */
static const uint8_t zero_preamble[GISA_SNAP_PREAMBLE_SIZE];

static int slot_read(int fd, const char *path, const uint8_t id[MIG_ID_SIZE],
		     struct migrec *rec, struct gisa_image **ret_img, uint64_t *ret_size,
		     uint32_t *ret_deltas, char *msg, size_t msglen)
{
	uint8_t pre[GISA_SNAP_PREAMBLE_SIZE];
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *img = NULL;
	struct migrec got;
	uint8_t *buf;
	uint32_t n = 0, nrec = 0, len;
	uint64_t size, off;
	struct stat st;
	char kind;
	int r = fstat(fd, &st) ? -errno : read_at(fd, pre, sizeof(pre), 0);

	if (r < 0) {
		snprintf(msg, msglen, "reading `%s': %s", path, strerror(-r));
		return r;
	}
	if (r == 0) {
		snprintf(msg, msglen, "`%s' is %lld bytes, shorter than a snapshot's preamble "
			 "(not a slot gisad reserved)", path, (long long)st.st_size);
		return -EBADMSG;
	}
	/* The preamble lies in the first sector, written whole or not at all. */
	if (!memcmp(pre, zero_preamble, sizeof(pre))) {
		snprintf(msg, msglen, "`%s' holds no snapshot (never written)", path);
		return 0;
	}
	r = gisa_snap_size(pre, sizeof(pre), &size, &err);
	if (r) {
		snprintf(msg, msglen, "`%s' holds what gisad did not write there: %s", path,
			 err.msg);
		return r;
	}
	if (size > (uint64_t)st.st_size) {
		snprintf(msg, msglen, "`%s' is %lld bytes, its snapshot says %llu (a write cut "
			 "short)", path, (long long)st.st_size, (unsigned long long)size);
		return 0;
	}
	/* gisa_snap_size capped the size: at most the largest snapshot file. */
	buf = malloc((size_t)size);
	if (!buf) {
		snprintf(msg, msglen, "out of memory reading `%s' (%llu bytes)", path,
			 (unsigned long long)size);
		return -ENOMEM;
	}
	r = read_at(fd, buf, (size_t)size, 0);
	if (r <= 0) {
		free(buf);
		r = r ? r : -EIO;
		snprintf(msg, msglen, "reading `%s': %s", path, strerror(-r));
		return r;
	}
	r = gisa_snap_decode(buf, (size_t)size, &img, NULL, &err);
	free(buf);
	if (r == -EBADMSG) {
		snprintf(msg, msglen, "`%s' holds an incomplete snapshot (a write cut short): %s",
			 path, err.msg);
		return 0;
	}
	if (r) {
		snprintf(msg, msglen, "`%s': %s", path, err.msg[0] ? err.msg : strerror(-r));
		return r;
	}
	for (off = size;; off += SLOT_TRAILER_HEAD + len) {
		r = slot_entry(fd, path, off, (uint64_t)st.st_size, &kind, &buf, &len, msg, msglen);
		if (r <= 0)
			break;
		if (kind == 'R') {
			r = slot_record(path, id, buf, len, img, nrec ? rec : NULL, &got, msg,
					msglen);
			free(buf);
			if (r <= 0)
				break;
			*rec = got;
			/* Only a presumed record has more after it; only RETIRED after IN_DOUBT. */
			if (++nrec == SLOT_MAX_RECORDS || got.state != MIGREC_IN_DOUBT)
				break;
			continue;
		}
		/* A delta after a record is the final one, after a presumed record only. */
		if (nrec && !rec->presumed) {
			free(buf);
			break;
		}
		if (n == SLOT_MAX_DELTAS) {
			snprintf(msg, msglen, "`%s' holds more than %u deltas", path, SLOT_MAX_DELTAS);
			r = -EBADMSG;
		} else {
			r = slot_apply(path, &img, buf, len, msg, msglen);
			n += r > 0;
		}
		free(buf);
		if (r <= 0)
			break;
	}
	/* What follows the last complete record (zeros, or a write cut short) is not written. */
	if (r == 0 && nrec)
		r = 1;
	if (r > 0) {
		*ret_size = size;
		*ret_deltas = n;
		if (ret_img) {
			*ret_img = img;
			img = NULL;
		}
	}
	gisa_image_free(img);
	return r;
}

static int slot_open(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *path, size_t len,
		     int *ret_fd, char *msg, size_t msglen)
{
	int r = stage_path(d, id, path, len, msg, msglen);

	if (r)
		return r;
	*ret_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (*ret_fd >= 0)
		return 0;
	r = -errno;
	if (r == -ENOENT)
		snprintf(msg, msglen, "no slot `%s'", path);
	else
		snprintf(msg, msglen, "opening `%s': %s", path, strerror(-r));
	return r;
}

int migrec_stage_written(struct gisad *d, const uint8_t id[MIG_ID_SIZE], struct migrec *rec,
			 char *msg, size_t msglen)
{
	char path[PATH_MAX];
	uint64_t size;
	uint32_t n;
	int fd, r;

	dwq_flush(d);
	r = slot_open(d, id, path, sizeof(path), &fd, msg, msglen);
	if (r)
		return r == -ENOENT ? 0 : r;
	r = slot_read(fd, path, id, rec, NULL, &size, &n, msg, msglen);
	close(fd);
	return r;
}

int migrec_stage_note(struct gisad *d, struct migrec_slot *slot, const struct migrec *r,
		      char *msg, size_t msglen)
{
	char path[PATH_MAX], kind;
	uint64_t off = slot->end, end = 0;
	struct stat st;
	uint8_t *buf;
	uint32_t len;
	int fd, e;

	dwq_flush(d);
	e = slot_open(d, slot->id, path, sizeof(path), &fd, msg, msglen);
	if (e)
		return e;
	if (fstat(fd, &st)) {
		e = -errno;
		snprintf(msg, msglen, "the slot `%s': %s", path, strerror(-e));
	}
	/* Past what went in since slot->end was known: a final delta and its record. */
	for (unsigned i = 0; !e && i < SLOT_MAX_RECORDS; i++) {
		e = slot_entry(fd, path, off, (uint64_t)st.st_size, &kind, &buf, &len, msg, msglen);
		if (e <= 0)
			break;
		free(buf);
		off += SLOT_TRAILER_HEAD + len;
		e = 0;
	}
	close(fd);
	if (e < 0)
		return e;
	e = slot_put(d, slot->id, off, NULL, 0, r, NULL, 0, 0, &end, msg, msglen);
	if (!e)
		slot->end = end;
	return e;
}

int migrec_stage_commit(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *vm,
			char *msg, size_t msglen)
{
	char src[PATH_MAX], dir[PATH_MAX];
	struct gisa_image *img = NULL;
	struct migrec rec = { 0 };
	uint8_t *buf = NULL;
	uint64_t size = 0;
	size_t len = 0;
	uint32_t n = 0;
	int r, fd;

	dwq_flush(d);
	r = store_checkpoint_dir(d, vm, dir, sizeof(dir), msg, msglen);
	if (!r)
		r = slot_open(d, id, src, sizeof(src), &fd, msg, msglen);
	if (r)
		return r;
	/*
	 * The slot stays whole (snapshot, deltas and record) until the
	 * checkpoint is in place (slot_to_checkpoint).  A snapshot alone is
	 * copied as it is; with deltas after it, the state they lead to is
	 * encoded.
	 */
	r = slot_read(fd, src, id, &rec, &img, &size, &n, msg, msglen);
	if (r == 0)
		r = -EBADMSG;
	if (r > 0 && n == 0) {
		/* gisa_snap_size capped the size: at most the largest snapshot file. */
		buf = malloc((size_t)size);
		r = buf ? read_at(fd, buf, (size_t)size, 0) : -ENOMEM;
		r = r < 0 ? r : r == 0 ? -EIO : 0;
		len = (size_t)size;
		if (r)
			snprintf(msg, msglen, "reading `%s': %s", src, strerror(-r));
	} else if (r > 0) {
		r = mig_encode_checkpoint(img, NULL, vm, rec.uuid, &buf, &len, msg, msglen);
		if (r)
			snprintf(msg, msglen, "encoding the state of `%s': %s", src, strerror(-r));
	}
	close(fd);
	gisa_image_free(img);
	if (!r)
		r = slot_to_checkpoint(d, id, dir, buf, len, msg, msglen);
	free(buf);
	return r;
}

/* ---- reading -------------------------------------------------------------- */

static int get_str(json_t *o, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= len)
		return -EBADMSG;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_hex(json_t *o, const char *key, uint8_t *out, size_t n)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!json_is_string(v) || json_string_length(v) != 2 * n)
		return -EBADMSG;
	s = json_string_value(v);
	for (size_t i = 0; i < n; i++) {
		unsigned hi, lo;

		if (sscanf(s + 2 * i, "%1x%1x", &hi, &lo) != 2)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static uint64_t get_u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) :
	       0;
}

static int parse(const char *text, size_t len, struct migrec *r, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	char state[32];
	int err = -EBADMSG;

	if (!o) {
		snprintf(why, whylen, "line %d: %s", jerr.line, jerr.text);
		return -EBADMSG;
	}
	memset(r, 0, sizeof(*r));
	if (get_hex(o, "id", r->id, MIG_ID_SIZE) || get_str(o, "state", state, sizeof(state)) ||
	    get_str(o, "vm", r->vm, sizeof(r->vm)) ||
	    get_str(o, "remote_vm", r->remote_vm, sizeof(r->remote_vm)) ||
	    get_hex(o, "uuid", r->uuid, 16) || get_str(o, "peer", r->peer, sizeof(r->peer)) ||
	    get_str(o, "peer_name", r->peer_name, sizeof(r->peer_name)) ||
	    get_str(o, "peer_entry", r->peer_entry, sizeof(r->peer_entry)) ||
	    get_str(o, "peer_fingerprint", r->peer_fp, sizeof(r->peer_fp)) ||
	    get_str(o, "message", r->message, sizeof(r->message))) {
		snprintf(why, whylen, "a field is missing, of the wrong type or too long");
		goto out;
	}
	for (unsigned s = 1; s < sizeof(state_names) / sizeof(state_names[0]); s++)
		if (strcmp(state, state_names[s]) == 0)
			r->state = (enum migrec_state)s;
	if (r->state == MIGREC_NONE || !name_valid(r->vm)) {
		snprintf(why, whylen, "state `%s' or VM name `%s' is not valid", state, r->vm);
		goto out;
	}
	if (json_object_get(o, "final_digest")) {
		if (get_hex(o, "final_digest", r->final_digest, MIG_DIGEST_SIZE) ||
		    get_hex(o, "chain", r->chain, MIG_DIGEST_SIZE) ||
		    get_hex(o, "target_digest", r->target_digest, MIG_DIGEST_SIZE)) {
			snprintf(why, whylen, "a digest is not 64 hex digits");
			goto out;
		}
		r->has_digests = true;
	}
	if (json_object_get(o, "active_digest")) {
		if (get_hex(o, "active_digest", r->active_digest, MIG_DIGEST_SIZE)) {
			snprintf(why, whylen, "active_digest is not 64 hex digits");
			goto out;
		}
		r->has_active_digest = true;
	}
	r->presumed = json_is_true(json_object_get(o, "presumed"));
	if (json_is_integer(json_object_get(o, "error")))
		r->error = (int)json_integer_value(json_object_get(o, "error"));
	r->created_unix_ns = get_u64(o, "created_unix_ns");
	r->decided_unix_ns = get_u64(o, "decided_unix_ns");
	err = 0;
out:
	json_decref(o);
	return err;
}

static int read_small(int dfd, const char *name, char **ret, size_t *ret_len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > (off_t)MIGREC_MAX_FILE) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return -EIO;
	}
	*ret = buf;
	*ret_len = (size_t)n;
	return 0;
}

/* A slot without its record (removed by hand): nothing refers to it any more. */
static void orphan_slot(int dfd, const char *dir, const char *name)
{
	char rec[2 * MIG_ID_SIZE + 6];

	snprintf(rec, sizeof(rec), "%.*s.json", 2 * MIG_ID_SIZE, name);
	if (faccessat(dfd, rec, F_OK, 0) == 0 || errno != ENOENT)
		return;
	log_warning("migration slot `%s/%s' has no record: removed", dir, name);
	(void)unlinkat(dfd, name, 0);
}

/* <id>.json: a record's file. */
static bool is_record_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len == 2 * MIG_ID_SIZE + 5 &&
	       strcmp(name + 2 * MIG_ID_SIZE, ".json") == 0;
}

int migrec_load_all(struct gisad *d, struct migrec **ret, size_t *n)
{
	char dir[PATH_MAX], msg[256], why[256];
	struct migrec *recs = NULL;
	struct dirent *de;
	size_t cnt = 0, cap = 0, seen = 0;
	DIR *dh;
	int r;

	dwq_flush(d);
	*ret = NULL;
	*n = 0;
	if (rec_dir(d, dir, sizeof(dir), msg, sizeof(msg))) {
		log_err("migration records: %s", msg);
		return -EIO;
	}
	/*
	 * Before anything is read: the spares' migrations under their own
	 * names.  Every record or none: one left in a spare could be a commit.
	 */
	r = spares_settle(d, dir, true, NULL, msg, sizeof(msg));
	if (r) {
		log_err("migration records: %s", msg);
		return r;
	}
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	/* Counted before any is read: all of them or gisad does not start. */
	while ((de = readdir(dh)))
		seen += is_record_name(de->d_name);
	if (seen > MIGREC_MAX_LOAD) {
		log_err("migration records: %zu in `%s', more than %u (the oldest `committed' "
			"and `discarded' ones, outcomes kept for a source in doubt, can go)", seen,
			dir, MIGREC_MAX_LOAD);
		closedir(dh);
		return -E2BIG;
	}
	rewinddir(dh);
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name), tlen = 0;
		char *text = NULL;

		if (de->d_name[0] == '.') {
			if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
				(void)unlinkat(dirfd(dh), de->d_name, 0);
			continue;
		}
		if (len == 2 * MIG_ID_SIZE + sizeof(MIGREC_STAGE) - 1 &&
		    strcmp(de->d_name + 2 * MIG_ID_SIZE, MIGREC_STAGE) == 0) {
			orphan_slot(dirfd(dh), dir, de->d_name);
			continue;
		}
		if (!is_record_name(de->d_name))
			continue;
		r = read_small(dirfd(dh), de->d_name, &text, &tlen);
		if (r) {
			log_err("migration record `%s/%s' not read: %s", dir, de->d_name,
				r == -EFBIG ? "not a regular file of at most 64 KiB" : strerror(-r));
			continue;
		}
		if (cnt == cap) {
			struct migrec *g = realloc(recs, (cap ? 2 * cap : 16) * sizeof(*recs));

			if (!g) {
				/* Every record or none: a missing one could restore a VM that left. */
				free(text);
				free(recs);
				closedir(dh);
				log_err("migration records: out of memory reading `%s'", dir);
				return -ENOMEM;
			}
			recs = g;
			cap = cap ? 2 * cap : 16;
		}
		r = parse(text, tlen, &recs[cnt], why, sizeof(why));
		free(text);
		if (r) {
			log_err("migration record `%s/%s' ignored: %s", dir, de->d_name, why);
			continue;
		}
		cnt++;
	}
	closedir(dh);
	*ret = recs;
	*n = cnt;
	return 0;
}

/* ---- what the records mean at start-up, and retired VMs ---------------------- */

static int rec_cmp(const void *a, const void *b)
{
	const struct migrec *x = a, *y = b;

	return (x->created_unix_ns > y->created_unix_ns) - (x->created_unix_ns < y->created_unix_ns);
}

const struct retired *mig_retired_find(const struct gisad *d, const char *name)
{
	for (const struct retired *t = d->retired; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int mig_retired_clear(struct gisad *d, const char *name)
{
	for (struct retired **p = &d->retired; *p; p = &(*p)->next) {
		struct retired *t = *p;

		if (strcmp(t->name, name) == 0) {
			*p = t->next;
			(void)migrec_remove(d, t->id);
			free(t);
			return 0;
		}
	}
	return -ENOENT;
}

static struct retired *retired_new(const struct migrec *r)
{
	struct retired *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	snprintf(t->name, sizeof(t->name), "%s", r->vm);
	memcpy(t->uuid, r->uuid, 16);
	snprintf(t->to, sizeof(t->to), "%s", r->peer);
	memcpy(t->id, r->id, MIG_ID_SIZE);
	return t;
}

static int add_retired(struct gisad *d, const struct migrec *r)
{
	struct retired *t = retired_new(r);

	if (!t) {
		log_err("out of memory listing retired VM `%s'", r->vm);
		return -ENOMEM;
	}
	t->next = d->retired;
	d->retired = t;
	return 0;
}

/*
 * An in-doubt VM whose recovery failed stays out of this run: restoring
 * its older checkpoint would make it active while its migration may have
 * committed.  Its record and frozen snapshot stay for the next start.
 */
static int hold(struct gisad *d, const struct migrec *r, const char *why)
{
	log_err("VM `%s' is not restored: its migration to %s is in doubt and %s; it is "
		"recovered at the next start", r->vm, r->peer, why);
	return mig_hold_name(d, r, MIG_HOLD_DOUBT);
}

int mig_hold_name(struct gisad *d, const struct migrec *rec, enum mig_hold why)
{
	struct retired *t = retired_new(rec);

	if (!t) {
		log_err("VM `%s': out of memory holding its name: another VM may take it until "
			"gisad restarts", rec->vm);
		return -ENOMEM;
	}
	t->hold = why;
	t->next = d->held;
	d->held = t;
	return 0;
}

int mig_held_forget(struct gisad *d, const char *name, char *msg, size_t msglen)
{
	struct retired **p = &d->held, *t;
	int r;

	while (*p && ((*p)->hold != MIG_HOLD_MISSING || strcmp((*p)->name, name) != 0))
		p = &(*p)->next;
	t = *p;
	if (!t)
		return -ENOENT;
	r = migrec_remove(d, t->id);
	if (r) {
		snprintf(msg, msglen, "removing the record of its migration to %s: %s", t->to,
			 strerror(-r));
		return r;
	}
	log_notice("VM `%s' (in doubt, no checkpoint here) forgotten: its migration to %s is no "
		   "longer pursued here", name, t->to);
	*p = t->next;
	free(t);
	msg[0] = '\0';
	return 0;
}

bool mig_held(const struct gisad *d, const char *name)
{
	for (const struct retired *t = d->held; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return true;
	return false;
}

/*
 * A RETIRED record in the slot (the JSON one had not caught up): the VM
 * migrated.  The JSON record is written, then the slot and the VM's
 * checkpoint go; if that fails the slot still says so at the next start.
 */
static int recover_retired(struct gisad *d, struct migrec *r, const struct migrec *slot)
{
	char msg[PATH_MAX + 256];

	*r = *slot;
	log_notice("VM `%s' had migrated to %s when gisad stopped (its slot said so)", r->vm,
		   r->peer);
	if (retire_files(d, r, true, msg, sizeof(msg)))
		log_err("VM `%s' migrated to %s: %s (its slot or checkpoint stays)", r->vm,
			r->peer, msg);
	return add_retired(d, r);
}

/*
 * A source record: the slot of the frozen VM's snapshot decides.  Written:
 * the final delta may have been sent, so the VM comes back frozen from
 * that snapshot (it becomes its current checkpoint) and stays in doubt.
 * Not written (or no slot) with PRECOPY: the VM never left.  An IN_DOUBT
 * record written before the freeze (presumed; in the slot, or the JSON
 * with the slot not written): the final delta may have been sent, but the
 * frozen state never reached the disk, so the VM comes back in doubt from
 * its last checkpoint.  A RETIRED record in the slot: the VM migrated.
 * Unreadable: the VM is held.
 */
static int recover_source(struct gisad *d, struct migrec *r)
{
	char msg[PATH_MAX + 256], why[PATH_MAX + 320];
	struct migrec slot = { 0 };
	int written = migrec_stage_written(d, r->id, &slot, msg, sizeof(msg));

	if (written > 0 && slot.state != MIGREC_IN_DOUBT && slot.state != MIGREC_RETIRED) {
		snprintf(msg, sizeof(msg), "its slot holds a `%s' record",
			 migrec_state_name(slot.state));
		written = -EBADMSG;
	}
	if (written < 0) {
		snprintf(why, sizeof(why), "its frozen snapshot cannot be read: %s", msg);
		return hold(d, r, why);
	}
	if (written && slot.state == MIGREC_RETIRED)
		return recover_retired(d, r, &slot);
	if (written && slot.presumed) {
		/* The JSON record says so too, for mig_recover_after: the VM asks. */
		*r = slot;
		if (migrec_write(d, r, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "its record cannot be written: %s", msg);
			return hold(d, r, why);
		}
		written = 0;
	}
	if (written) {
		/*
		 * The record in the slot (IN_DOUBT, with the digests) becomes the
		 * JSON before the snapshot moves: a start that finds IN_DOUBT and
		 * the snapshot still there moves it then.
		 */
		*r = slot;
		if (migrec_write(d, r, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "its record cannot be written: %s", msg);
			return hold(d, r, why);
		}
		if (migrec_stage_commit(d, r->id, r->vm, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "its frozen snapshot cannot be moved into place: %s",
				 msg);
			return hold(d, r, why);
		}
		log_notice("VM `%s' was frozen for its migration to %s when gisad stopped: it "
			   "comes back in doubt", r->vm, r->peer);
	} else if (r->state == MIGREC_IN_DOUBT && r->presumed) {
		log_notice("VM `%s' was switching over to %s when gisad stopped, its frozen state "
			   "not yet recorded: it comes back in doubt from its last checkpoint", r->vm,
			   r->peer);
	} else if (r->state == MIGREC_PRECOPY) {
		if (migrec_stage_exists(d, r->id))
			log_info("VM `%s': %s: its migration to %s never switched over", r->vm,
				 msg, r->peer);
		(void)migrec_remove(d, r->id);
	}
	return 0;
}

int mig_recover(struct gisad *d)
{
	struct migrec *recs = NULL;
	size_t n = 0;
	int r = migrec_load_all(d, &recs, &n);

	if (r)
		return r;
	if (n)
		qsort(recs, n, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < n && !r; i++) {
		const struct migrec *rec = &recs[i];

		switch (rec->state) {
		case MIGREC_PRECOPY:
		case MIGREC_IN_DOUBT:
			r = recover_source(d, &recs[i]);
			break;
		case MIGREC_RESUMED:
			(void)migrec_remove(d, rec->id);
			break;
		case MIGREC_RETIRED: {
			char msg[256];

			/*
			 * A slot left by a removal that failed after the record (not the
			 * checkpoint: the name may hold a VM that came back since); none
			 * is nothing to do.
			 */
			if (migrec_stage_remove(d, rec->id, msg, sizeof(msg)))
				log_warning("retired VM `%s': its slot stays: %s", rec->vm, msg);
			r = add_retired(d, rec);
			break;
		}
		case MIGREC_STAGING:
		case MIGREC_COMMITTED:
		case MIGREC_DISCARDED:
			migin_recover(d, rec);
			break;
		case MIGREC_NONE:
			break;
		}
	}
	free(recs);
	return r;
}

void mig_recover_after(struct gisad *d)
{
	struct migrec *recs = NULL;
	size_t n = 0;

	if (migrec_load_all(d, &recs, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (recs[i].state == MIGREC_IN_DOUBT && !mig_held(d, recs[i].vm))
			migout_recover(d, &recs[i]);
	free(recs);
}

bool mig_skip_restore(const struct gisad *d, const char *name)
{
	const struct retired *t = mig_retired_find(d, name);

	if (mig_held(d, name))
		return true;
	if (t)
		log_notice("VM `%s' is not restored: it migrated to %s (destroy it to forget it)",
			   name, t->to);
	return t != NULL;
}

static const char *mig_state_name(Gisa__V1__MigrationState s)
{
	switch (s) {
	case GISA__V1__MIGRATION_STATE__MIGRATION_STATE_OUTGOING:
		return "precopy";
	case GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN:
		return "frozen for the switchover";
	case GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT:
		return "frozen, in doubt";
	default:
		return "migrated";
	}
}

int mig_refuse(struct request *r, const struct vmrec *rec, const char *verb)
{
	r->resp->has_migration = true;
	r->resp->migration = rec->mig;
	return req_fail(r, -EAGAIN, "%s: VM `%s' is migrating to %s (%s): %s", verb, rec->name,
			rec->mig_peer, mig_state_name(rec->mig),
			rec->mig == GISA__V1__MIGRATION_STATE__MIGRATION_STATE_OUTGOING ?
			"it cannot be migrated again, replaced or removed until the migration ends" :
			"no change is accepted until the migration's outcome is known");
}

int mig_refuse_alerts(struct request *r, const struct vmrec *target, const char *verb)
{
	const struct vmrec *f = vmreg_alerts_frozen(r->d, target);

	if (!f)
		return 0;
	r->resp->has_migration = true;
	r->resp->migration = f->mig;
	if (!target)
		return req_fail(r, -EAGAIN, "%s: VM `%s' is on the alert list and frozen by its "
				"migration to %s (%s): processing the list would change it; retry "
				"once the migration's outcome is known", verb, f->name,
				f->mig_peer, mig_state_name(f->mig));
	return req_fail(r, -EAGAIN, "%s: VM `%s' is on the alert list, so freeing it processes "
			"the list, which would change VM `%s', frozen by its migration to %s "
			"(%s); retry once the migration's outcome is known", verb, target->name,
			f->name, f->mig_peer, mig_state_name(f->mig));
}
