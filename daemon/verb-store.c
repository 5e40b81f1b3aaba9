/* SPDX-License-Identifier: MIT */
/*
 * Verbs that move state: snapshot export and import (through a passed
 * file descriptor), checkpoints (in the state directory), jobs, and the
 * event subscription.  Every snapshot movement is a job: its record stays
 * readable after the request (job_status) until cleared.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gisad.h"
#include "mig.h"
#include "log.h"

static int tag_check(struct request *r, const char *verb, const char *tag)
{
	if (!tag || !tag[0])
		return 0;
	if (!name_valid(tag) || strcmp(tag, "current") == 0)
		return req_fail(r, -EINVAL,
				"%s: tag `%.80s' is invalid: expected 1 to %d of "
				"[A-Za-z0-9_.-], not starting with `.', and not `current' "
				"(the untagged checkpoint)",
				verb, tag, GISAD_NAME_MAX);
	return 0;
}

/*
 * A VM that migrates cannot be replaced, nor one whose freeing would
 * change a frozen VM (mig_refuse_alerts): the "migrating" error.
 */
static int not_migrating(struct request *r, const char *verb, const char *name)
{
	const struct vmrec *rec = vmreg_find(r->d, name);

	if (rec && rec->mig != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE)
		return mig_refuse(r, rec, verb);
	return rec ? mig_refuse_alerts(r, rec, verb) : 0;
}

/*
 * An import named by its file's header: not_migrating on that name, once
 * the file is read (what else is wrong with it, store_install says).
 */
static int file_name_guard(struct request *r, struct job *j, const uint8_t *buf, size_t len,
			   char *msg, size_t msglen)
{
	struct gisa_snap_info info;
	int err;

	if (gisa_snap_info(buf, len, &info, NULL) || !name_valid(info.vm_name))
		return 0;
	snprintf(j->vm, sizeof(j->vm), "%.*s", GISAD_NAME_MAX, info.vm_name);
	err = not_migrating(r, "snapshot_import", j->vm);
	if (err)
		snprintf(msg, msglen, "%.300s", r->msg);
	return err;
}

static int name_check(struct request *r, const char *verb, const char *name)
{
	if (!name || !name[0])
		return req_fail(r, -EINVAL, "%s: no VM name given", verb);
	if (!name_valid(name))
		return req_fail(r, -EINVAL,
				"%s: VM name `%.80s' is invalid: expected 1 to %d of "
				"[A-Za-z0-9_.-], not starting with `.'",
				verb, name, GISAD_NAME_MAX);
	return 0;
}

/* The result of a snapshot movement, attached whether or not it failed. */
static int reply_snapshot(struct request *r, const struct job *j, uint64_t bytes,
			  const uint8_t *digest)
{
	Gisa__V1__SnapshotResult *s = req_alloc(r, sizeof(*s));
	uint8_t *dg = req_alloc(r, GISA_SNAP_DIGEST_SIZE);

	if (!s || !dg)
		return -ENOMEM;
	gisa__v1__snapshot_result__init(s);
	if (digest) {
		memcpy(dg, digest, GISA_SNAP_DIGEST_SIZE);
		s->has_digest = true;
		s->digest.data = dg;
		s->digest.len = GISA_SNAP_DIGEST_SIZE;
	}
	s->has_bytes = true;
	s->bytes = bytes;
	s->has_job = true;
	s->job = j->id;
	s->vm = req_strdup(r, j->vm);
	if (j->tag[0])
		s->tag = req_strdup(r, j->tag);
	REPLY(r, snapshot, SNAPSHOT, s);
	return 0;
}

/* Finish j with err and msg, record the digest, and answer. */
static int finish(struct request *r, struct job *j, struct vmrec *rec, int err,
		  const char *msg, uint64_t bytes, const uint8_t *digest)
{
	int e2;

	if (!err && digest) {
		j->has_digest = true;
		memcpy(j->digest, digest, GISA_SNAP_DIGEST_SIZE);
	}
	if (rec)
		rec->last_job = j->id;
	job_finish(r->d, j, err, msg);
	e2 = reply_snapshot(r, j, bytes, err ? NULL : digest);
	if (err)
		return req_fail(r, err, "%s of VM `%s' (job %llu): %s", job_op_name(j->op), j->vm,
				(unsigned long long)j->id, msg);
	return e2;
}

int verb_snapshot_export(struct request *r)
{
	const Gisa__V1__SnapshotExport *q = r->req->snapshot_export;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct vmrec *rec = NULL;
	struct job *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[384] = "";
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	j = job_start(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_EXPORT, rec->name, NULL);
	if (!j)
		return -ENOMEM;
	err = store_encode(rec, !q->uncompressed, q->level, &buf, &len, digest, msg, sizeof(msg));
	if (!err) {
		job_progress(j, 0, len);
		err = store_write_fd(r->fd, buf, len, msg, sizeof(msg));
	}
	free(buf);
	return finish(r, j, rec, err, msg, err ? 0 : len, digest);
}

int verb_snapshot_import(struct request *r)
{
	const Gisa__V1__SnapshotImport *q = r->req->snapshot_import;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct vmrec *rec = NULL;
	struct job *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[384] = "";
	int err;

	if (q->vm && (err = name_check(r, "snapshot_import", q->vm)))
		return err;
	if (q->vm && (err = not_migrating(r, "snapshot_import", q->vm)))
		return err;
	j = job_start(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_IMPORT, q->vm, NULL);
	if (!j)
		return -ENOMEM;
	err = store_read_fd(r->fd, &buf, &len, msg, sizeof(msg));
	if (!err && !q->vm)
		err = file_name_guard(r, j, buf, len, msg, sizeof(msg));
	if (!err) {
		job_progress(j, 0, len);
		err = store_install(r->d, q->vm, q->replace, buf, len, &rec, digest, msg,
				    sizeof(msg));
	}
	free(buf);
	if (!err) {
		snprintf(j->vm, sizeof(j->vm), "%s", rec->name);
		r->vm = rec;
		log_info("VM `%s' imported from a snapshot (%zu bytes)", rec->name, len);
	}
	return finish(r, j, rec, err, msg, len, digest);
}

int verb_checkpoint_create(struct request *r)
{
	const Gisa__V1__CheckpointRef *q = r->req->checkpoint_create;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct vmrec *rec = NULL;
	struct job *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[384] = "";
	int err = tag_check(r, "checkpoint_create", q->tag);

	if (!err)
		err = req_vm(r, q->vm, &rec);
	/* Before the encoding a refusal would waste; the write does not count. */
	if (!err && q->tag && q->tag[0]) {
		err = store_checkpoint_quota(r->d, rec->name, q->tag, msg, sizeof(msg));
		if (err)
			return req_fail(r, err, "checkpoint_create: %s", msg);
	}
	if (err)
		return err;
	j = job_start(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_CHECKPOINT, rec->name, q->tag);
	if (!j)
		return -ENOMEM;
	err = store_encode(rec, true, 0, &buf, &len, digest, msg, sizeof(msg));
	if (!err) {
		job_progress(j, 0, len);
		err = store_checkpoint_write(r->d, rec->name, q->tag, buf, len, msg, sizeof(msg));
	}
	free(buf);
	return finish(r, j, rec, err, msg, err ? 0 : len, digest);
}

int verb_checkpoint_restore(struct request *r)
{
	const Gisa__V1__CheckpointRef *q = r->req->checkpoint_restore;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct vmrec *rec = NULL;
	struct job *j = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[384] = "";
	int err = name_check(r, "checkpoint_restore", q->vm);

	if (!err)
		err = not_migrating(r, "checkpoint_restore", q->vm);
	if (!err)
		err = tag_check(r, "checkpoint_restore", q->tag);
	if (err)
		return err;
	j = job_start(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_RESTORE, q->vm, q->tag);
	if (!j)
		return -ENOMEM;
	err = store_checkpoint_read(r->d, q->vm, q->tag, &buf, &len, msg, sizeof(msg));
	if (!err) {
		job_progress(j, 0, len);
		/* Restoring means replacing: the VM may exist or not. */
		err = store_install(r->d, q->vm, true, buf, len, &rec, digest, msg, sizeof(msg));
	}
	free(buf);
	if (!err) {
		r->vm = rec;
		log_info("VM `%s' restored from checkpoint `%s'", rec->name,
			 q->tag && q->tag[0] ? q->tag : "current");
	}
	return finish(r, j, rec, err, msg, len, digest);
}

int verb_checkpoint_list(struct request *r)
{
	const Gisa__V1__CheckpointListArgs *q = r->req->checkpoint_list;
	Gisa__V1__CheckpointList *l = req_alloc(r, sizeof(*l));
	Gisa__V1__CheckpointEntry **pv;
	struct ckpt_entry *es = NULL;
	struct page pg;
	size_t n = 0;
	int err = name_check(r, "checkpoint_list", q->vm);

	if (err)
		return err;
	if (!l)
		return -ENOMEM;
	/* Current ("") first, then the tags: strcmp order, tags unique. */
	err = store_checkpoint_list(r->d, q->vm, q->after, &es, &n, r->msg, sizeof(r->msg));
	if (err)
		return err;
	pv = req_alloc(r, (n + 1) * sizeof(Gisa__V1__CheckpointEntry *));
	gisa__v1__checkpoint_list__init(l);
	l->vm = req_strdup(r, q->vm);
	page_init(&pg, r, q->after || q->has_limit, q->limit);
	for (size_t i = 0; pv && i < n; i++) {
		Gisa__V1__CheckpointEntry *e;
		uint8_t *dg;

		/* Read only for the entries this page offers. */
		store_checkpoint_info(r->d, q->vm, &es[i]);
		e = req_alloc(r, sizeof(*e));
		dg = req_alloc(r, GISA_SNAP_DIGEST_SIZE);
		if (!e || !dg) {
			pv = NULL;
			break;
		}
		gisa__v1__checkpoint_entry__init(e);
		e->tag = req_strdup(r, es[i].tag);
		e->has_size = e->has_mtime_unix_ns = true;
		e->size = es[i].size;
		e->mtime_unix_ns = es[i].mtime_ns;
		if (es[i].has_info) {
			memcpy(dg, es[i].info.digest, GISA_SNAP_DIGEST_SIZE);
			e->has_digest = true;
			e->digest.data = dg;
			e->digest.len = GISA_SNAP_DIGEST_SIZE;
			e->has_created_unix_ns = true;
			e->created_unix_ns = es[i].info.created_unix_ns;
		}
		if (!e->tag) {
			pv = NULL;
			break;
		}
		if (!page_take(&pg, gisa__v1__checkpoint_entry__get_packed_size(e)))
			break;
		pv[l->n_entries++] = e;
	}
	free(es);
	if (!pv || !l->vm)
		return -ENOMEM;
	if (page_end(r, &pg, "checkpoints", n))
		return -E2BIG;
	l->entries = pv;
	l->has_more = pg.more;
	l->more = pg.more;
	REPLY(r, checkpoints, CHECKPOINTS, l);
	return 0;
}

int verb_checkpoint_delete(struct request *r)
{
	const Gisa__V1__CheckpointRef *q = r->req->checkpoint_delete;
	int err = name_check(r, "checkpoint_delete", q->vm);

	if (!err)
		err = tag_check(r, "checkpoint_delete", q->tag);
	if (err)
		return err;
	return store_checkpoint_delete(r->d, q->vm, q->tag, r->msg, sizeof(r->msg));
}

/* ---- jobs --------------------------------------------------------------- */

static Gisa__V1__JobInfo *job_info(struct request *r, const struct job *j)
{
	Gisa__V1__JobInfo *info = req_alloc(r, sizeof(*info));
	Gisa__V1__MigrationStats *ms = req_alloc(r, sizeof(*ms));

	if (!info || !ms)
		return NULL;
	job_to_info(j, info, ms);
	return info;
}

int verb_job_list(struct request *r)
{
	const Gisa__V1__JobListArgs *q = r->req->job_list;
	Gisa__V1__JobList *l = req_alloc(r, sizeof(*l));
	Gisa__V1__JobInfo **pv;
	const struct job **js;
	struct page pg;
	size_t n = 0;

	/* The list is newest first, ids descending: those after q->after lead. */
	for (const struct job *j = r->d->jobs; j && j->id > q->after; j = j->next)
		n++;
	js = req_alloc(r, (n + 1) * sizeof(const struct job *));
	pv = req_alloc(r, (n + 1) * sizeof(Gisa__V1__JobInfo *));
	if (!l || !js || !pv)
		return -ENOMEM;
	n = 0;
	for (const struct job *j = r->d->jobs; j && j->id > q->after; j = j->next)
		js[n++] = j;
	gisa__v1__job_list__init(l);
	page_init(&pg, r, q->has_after || q->has_limit, q->limit);
	/* Answered in id order. */
	while (n--) {
		Gisa__V1__JobInfo *info = job_info(r, js[n]);

		if (!info)
			return -ENOMEM;
		if (!page_take(&pg, gisa__v1__job_info__get_packed_size(info)))
			break;
		pv[l->n_jobs++] = info;
	}
	if (page_end(r, &pg, "jobs", l->n_jobs + n + 1))
		return -E2BIG;
	l->jobs = pv;
	l->has_more = pg.more;
	l->more = pg.more;
	REPLY(r, jobs, JOBS, l);
	return 0;
}

static int job_lookup(struct request *r, const char *verb, const Gisa__V1__JobRef *q,
		      struct job **ret)
{
	struct job *j = job_find(r->d, q->id);

	if (!j)
		return req_fail(r, -ENOENT,
				"%s: no job %llu (finished jobs stay until cleared; ids do not "
				"survive a restart of gisad)",
				verb, (unsigned long long)q->id);
	*ret = j;
	return 0;
}

int verb_job_status(struct request *r)
{
	struct job *j = NULL;
	Gisa__V1__JobInfo *info;
	int err = job_lookup(r, "job_status", r->req->job_status, &j);

	if (err)
		return err;
	info = job_info(r, j);
	if (!info)
		return -ENOMEM;
	REPLY(r, job, JOB, info);
	return 0;
}

static const char *type_word(Gisa__V1__JobType t)
{
	switch (t) {
	case GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED:
		return "completed";
	case GISA__V1__JOB_TYPE__JOB_TYPE_FAILED:
		return "failed";
	case GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED:
		return "was cancelled";
	default:
		return "is active";
	}
}

int verb_job_abort(struct request *r)
{
	struct job *j = NULL;
	int err = job_lookup(r, "job_abort", r->req->job_abort, &j);

	if (err)
		return err;
	if (j->out)
		return migout_abort(r->d, j, r->msg, sizeof(r->msg));
	if (j->in)
		return migin_abort(r->d, j, r->msg, sizeof(r->msg));
	/* Other jobs finish within their request: never active here. */
	return req_fail(r, -EALREADY, "job_abort: job %llu (%s of VM `%s') already %s",
			(unsigned long long)j->id, job_op_name(j->op), j->vm, type_word(j->type));
}

int verb_job_clear(struct request *r)
{
	const Gisa__V1__JobRef *q = r->req->job_clear;
	Gisa__V1__ReturnValue *v = req_alloc(r, sizeof(*v));
	struct job *j = NULL;
	size_t n;

	if (!v)
		return -ENOMEM;
	if (q->id) {
		int err = job_lookup(r, "job_clear", q, &j);

		if (err)
			return err;
		if (j->type == GISA__V1__JOB_TYPE__JOB_TYPE_BOUNDED ||
		    j->type == GISA__V1__JOB_TYPE__JOB_TYPE_UNBOUNDED)
			return req_fail(r, -EBUSY, "job_clear: job %llu is still active",
					(unsigned long long)j->id);
	}
	n = job_clear(r->d, q->id);
	gisa__v1__return_value__init(v);
	v->has_ret = true;
	v->ret = (int32_t)n;
	REPLY(r, ret, RET, v);
	return 0;
}

/* ---- events ------------------------------------------------------------- */

int verb_subscribe(struct request *r)
{
	const Gisa__V1__Subscribe *q = r->req->subscribe;
	int err;

	if (q->vm && q->vm[0] && (err = name_check(r, "subscribe", q->vm)))
		return err;
	ctl_subscribe(r->conn, q->kicks, q->jobs, q->vm && q->vm[0] ? q->vm : NULL);
	return 0;
}
