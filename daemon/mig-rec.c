/* SPDX-License-Identifier: MIT */
/*
 * Migration records (docs/MIGRATION-PROTOCOL.md, section 7): one small
 * JSON file per migration in <state_dir>/migrations/<id>.json, written
 * atomically (temporary file, fsync, rename, fsync of the directory)
 * before the step that depends on it; and a destination's staged
 * checkpoint <id>.gsnap beside it until the commit moves it into
 * checkpoints/<vm>/current.gsnap.
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
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "mig.h"

#define MIGREC_DIR        "migrations"
#define MIGREC_MAX_FILE   (64u << 10)
/* Records read at start-up; more are logged and ignored. */
#define MIGREC_MAX_LOAD   65536u

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

int migrec_write(struct gisad *d, const struct migrec *r, char *msg, size_t msglen)
{
	char dir[PATH_MAX], name[2 * MIG_ID_SIZE + 8];
	json_t *o = json_object();
	char *text;
	int err;

	if (!o) {
		snprintf(msg, msglen, "out of memory for a migration record");
		return -ENOMEM;
	}
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

static int id_path(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *suffix,
		   char *buf, size_t len)
{
	char hex[2 * MIG_ID_SIZE + 1];

	mig_hex(id, MIG_ID_SIZE, hex);
	if ((size_t)snprintf(buf, len, "%s/" MIGREC_DIR "/%s%s", d->cfg.state_dir, hex, suffix) >=
	    len)
		return -ENAMETOOLONG;
	return 0;
}

int migrec_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	char path[PATH_MAX];
	int r = id_path(d, id, ".json", path, sizeof(path));

	if (!r && unlink(path) && errno != ENOENT)
		r = -errno;
	if (!id_path(d, id, ".gsnap", path, sizeof(path)))
		(void)unlink(path);
	return r;
}

int migrec_stage_path(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *buf, size_t len)
{
	return id_path(d, id, ".gsnap", buf, len);
}

int migrec_stage_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *msg, size_t msglen)
{
	char path[PATH_MAX], dir[PATH_MAX];
	int r = rec_dir(d, dir, sizeof(dir), msg, msglen), dfd;

	if (r)
		return r;
	if (id_path(d, id, ".gsnap", path, sizeof(path))) {
		snprintf(msg, msglen, "state_dir `%s' is too long", d->cfg.state_dir);
		return -ENAMETOOLONG;
	}
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

	return !id_path(d, id, ".gsnap", path, sizeof(path)) && access(path, F_OK) == 0;
}

int migrec_stage_write(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const uint8_t *buf,
		       size_t len, char *msg, size_t msglen)
{
	char dir[PATH_MAX], name[2 * MIG_ID_SIZE + 8];
	int r = rec_dir(d, dir, sizeof(dir), msg, msglen);

	if (r)
		return r;
	mig_hex(id, MIG_ID_SIZE, name);
	strcat(name, ".gsnap");
	return store_file_write(dir, name, buf, len, msg, msglen);
}

int migrec_stage_commit(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *vm,
			char *msg, size_t msglen)
{
	char src[PATH_MAX], dir[PATH_MAX], dst[PATH_MAX + 32];
	int r, dfd;

	r = store_checkpoint_dir(d, vm, dir, sizeof(dir), msg, msglen);
	if (r)
		return r;
	if (id_path(d, id, ".gsnap", src, sizeof(src))) {
		snprintf(msg, msglen, "state_dir `%s' is too long", d->cfg.state_dir);
		return -ENAMETOOLONG;
	}
	snprintf(dst, sizeof(dst), "%s/current.gsnap", dir);
	if (rename(src, dst)) {
		r = -errno;
		snprintf(msg, msglen, "moving `%s' to `%s': %s", src, dst, strerror(-r));
		return r;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd))
			r = -errno;
		close(dfd);
	}
	if (r)
		snprintf(msg, msglen, "fsync of `%s': %s", dir, strerror(-r));
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

int migrec_load_all(struct gisad *d, struct migrec **ret, size_t *n)
{
	char dir[PATH_MAX], msg[256], why[256];
	struct migrec *recs = NULL;
	struct dirent *de;
	size_t cnt = 0, cap = 0;
	DIR *dh;

	*ret = NULL;
	*n = 0;
	if (rec_dir(d, dir, sizeof(dir), msg, sizeof(msg))) {
		log_err("migration records: %s", msg);
		return -EIO;
	}
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name), tlen = 0;
		char *text = NULL;
		int r;

		if (de->d_name[0] == '.') {
			if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0)
				(void)unlinkat(dirfd(dh), de->d_name, 0);
			continue;
		}
		if (len != 2 * MIG_ID_SIZE + 5 || strcmp(de->d_name + 2 * MIG_ID_SIZE, ".json"))
			continue;
		if (cnt >= MIGREC_MAX_LOAD) {
			log_warning("migration records: more than %u in `%s': the rest ignored",
				    MIGREC_MAX_LOAD, dir);
			break;
		}
		r = read_small(dirfd(dh), de->d_name, &text, &tlen);
		if (r) {
			log_err("migration record `%s/%s' not read: %s", dir, de->d_name,
				r == -EFBIG ? "not a regular file of at most 64 KiB" : strerror(-r));
			continue;
		}
		if (cnt == cap) {
			struct migrec *g = realloc(recs, (cap ? 2 * cap : 16) * sizeof(*recs));

			if (!g) {
				free(text);
				break;
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

static void add_retired(struct gisad *d, const struct migrec *r)
{
	struct retired *t = retired_new(r);

	if (!t) {
		log_err("out of memory listing retired VM `%s'", r->vm);
		return;
	}
	t->next = d->retired;
	d->retired = t;
}

/*
 * An in-doubt VM whose recovery failed stays out of this run: restoring
 * its older checkpoint would make it active while its migration may have
 * committed.  Its record and frozen snapshot stay for the next start.
 */
static void hold(struct gisad *d, const struct migrec *r, const char *why)
{
	struct retired *t = retired_new(r);

	log_err("VM `%s' is not restored: its migration to %s is in doubt and %s; it is "
		"recovered at the next start", r->vm, r->peer, why);
	if (t) {
		t->next = d->held;
		d->held = t;
	}
}

static bool held(const struct gisad *d, const char *name)
{
	for (const struct retired *t = d->held; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return true;
	return false;
}

/*
 * A source record: the doubt file (the frozen VM's snapshot) decides.
 * Present: the final delta may have been sent, so the VM comes back
 * frozen from that snapshot (it becomes its current checkpoint) and stays
 * in doubt.  Absent with PRECOPY: the VM never left.
 */
static void recover_source(struct gisad *d, struct migrec *r)
{
	char msg[256], why[320];

	if (migrec_stage_exists(d, r->id)) {
		/*
		 * The record says IN_DOUBT before the snapshot moves: a start that
		 * finds IN_DOUBT and the snapshot still there moves it then.
		 */
		r->state = MIGREC_IN_DOUBT;
		if (migrec_write(d, r, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "its record cannot be written: %s", msg);
			hold(d, r, why);
			return;
		}
		if (migrec_stage_commit(d, r->id, r->vm, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "its frozen snapshot cannot be moved into place: %s",
				 msg);
			hold(d, r, why);
			return;
		}
		log_notice("VM `%s' was frozen for its migration to %s when gisad stopped: it "
			   "comes back in doubt", r->vm, r->peer);
	} else if (r->state == MIGREC_PRECOPY) {
		(void)migrec_remove(d, r->id);
	}
}

void mig_recover(struct gisad *d)
{
	struct migrec *recs = NULL;
	size_t n = 0;

	if (migrec_load_all(d, &recs, &n))
		return;
	if (n)
		qsort(recs, n, sizeof(*recs), rec_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct migrec *r = &recs[i];

		switch (r->state) {
		case MIGREC_PRECOPY:
		case MIGREC_IN_DOUBT:
			recover_source(d, &recs[i]);
			break;
		case MIGREC_RESUMED:
			(void)migrec_remove(d, r->id);
			break;
		case MIGREC_RETIRED:
			add_retired(d, r);
			break;
		case MIGREC_STAGING:
		case MIGREC_COMMITTED:
		case MIGREC_DISCARDED:
			migin_recover(d, r);
			break;
		case MIGREC_NONE:
			break;
		}
	}
	free(recs);
}

void mig_recover_after(struct gisad *d)
{
	struct migrec *recs = NULL;
	size_t n = 0;

	if (migrec_load_all(d, &recs, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (recs[i].state == MIGREC_IN_DOUBT && !held(d, recs[i].vm))
			migout_recover(d, &recs[i]);
	free(recs);
}

bool mig_skip_restore(const struct gisad *d, const char *name)
{
	const struct retired *t = mig_retired_find(d, name);

	if (held(d, name))
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
