/* SPDX-License-Identifier: MIT */
/*
 * Jobs in libvirt's shape (virDomainJobInfo): an id, a type that moves
 * NONE -> BOUNDED -> COMPLETED | FAILED | CANCELLED, the operation, times
 * and data counts.  A finished job stays readable (status by id, so a
 * client can reattach) until cleared; at most finished_jobs (gisad.conf) are
 * kept, the oldest finished going first.
 *
 * Checkpoint, restore, export and import run within their request, so
 * those jobs are finished when their request is answered.  Migrations
 * (migrate-out, migrate-in, fetch) run in the background: their jobs carry
 * statistics (struct migstats) and can be aborted while the migration
 * allows it (mig-out.c, mig-in.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gisad.h"
#include "log.h"

static const char *const op_names[] = {
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_NONE] = "none",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_CHECKPOINT] = "checkpoint",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_RESTORE] = "restore",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_EXPORT] = "export",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_IMPORT] = "import",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT] = "migrate-out",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_IN] = "migrate-in",
	[GISA__V1__JOB_OPERATION__JOB_OPERATION_FETCH] = "fetch",
};

const char *job_op_name(Gisa__V1__JobOperation op)
{
	if ((unsigned)op >= sizeof(op_names) / sizeof(op_names[0]))
		return "?";
	return op_names[op];
}

static bool finished(const struct job *j)
{
	return j->type == GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED ||
	       j->type == GISA__V1__JOB_TYPE__JOB_TYPE_FAILED ||
	       j->type == GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED;
}

static void publish(struct gisad *d, const struct job *j)
{
	Gisa__V1__ControlEvent ev = GISA__V1__CONTROL_EVENT__INIT;
	Gisa__V1__MigrationStats ms;
	Gisa__V1__JobInfo info;

	if (!d->nr_subscribers)
		return;
	job_to_info(j, &info, &ms);
	ev.has_kind = true;
	ev.kind = GISA__V1__EVENT_KIND__EVENT_KIND_JOB;
	ev.vm = (char *)j->vm;
	ev.job = &info;
	ctl_publish(d, j->vm, true, &ev);
}

/*
 * Drop the oldest finished jobs while more than finished_jobs are kept
 * (more than one after a reload lowered it), but never keep, the job
 * just finished: its caller may still read it, and a resolved in-doubt
 * job is often the oldest of all.
 */
static void trim(struct gisad *d, const struct job *keep)
{
	while (d->nr_finished_jobs > d->cfg.finished_jobs) {
		struct job **p, **oldest = NULL;
		struct job *j;

		for (p = &d->jobs; *p; p = &(*p)->next)
			if (finished(*p) && *p != keep)
				oldest = p;
		if (!oldest)
			return;
		j = *oldest;
		*oldest = j->next;
		free(j->ms);
		free(j);
		d->nr_finished_jobs--;
	}
}

struct job *job_start(struct gisad *d, Gisa__V1__JobOperation op, const char *vm,
		      const char *tag)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->id = ++d->next_job_id;
	j->type = GISA__V1__JOB_TYPE__JOB_TYPE_BOUNDED;
	j->op = op;
	snprintf(j->vm, sizeof(j->vm), "%s", vm ? vm : "");
	snprintf(j->tag, sizeof(j->tag), "%s", tag ? tag : "");
	j->started_unix_ns = gisad_unix_ns();
	j->start_ns = gisad_now_ns();
	j->next = d->jobs;
	d->jobs = j;
	log_debug("job %llu: %s of VM `%s' started", (unsigned long long)j->id,
		  job_op_name(op), j->vm);
	publish(d, j);
	return j;
}

void job_progress(struct job *j, uint64_t processed, uint64_t total)
{
	j->processed = processed;
	j->total = total;
}

void job_changed(struct gisad *d, const struct job *j)
{
	publish(d, j);
}

void job_finish(struct gisad *d, struct job *j, int err, const char *msg)
{
	j->end_ns = gisad_now_ns();
	j->error = err;
	if (err == -ECANCELED) {
		j->type = GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED;
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", msg ? msg : "cancelled");
		log_info("job %llu: %s of VM `%s' cancelled: %s", (unsigned long long)j->id,
			 job_op_name(j->op), j->vm, j->errmsg);
	} else if (err) {
		j->type = GISA__V1__JOB_TYPE__JOB_TYPE_FAILED;
		snprintf(j->errmsg, sizeof(j->errmsg), "%s", msg ? msg : "failed");
		log_info("job %llu: %s of VM `%s' failed: %s", (unsigned long long)j->id,
			 job_op_name(j->op), j->vm, j->errmsg);
	} else {
		j->type = GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED;
		j->errmsg[0] = '\0';  /* what it waited for, if anything */
		j->processed = j->total;
		log_debug("job %llu: %s of VM `%s' completed", (unsigned long long)j->id,
			  job_op_name(j->op), j->vm);
	}
	d->nr_finished_jobs++;
	publish(d, j);
	trim(d, j);
}

struct job *job_find(struct gisad *d, uint64_t id)
{
	for (struct job *j = d->jobs; j; j = j->next)
		if (j->id == id)
			return j;
	return NULL;
}

#define SET(f, v)                                                              \
	do {                                                                   \
		if (v) {                                                       \
			m->has_##f = true;                                     \
			m->f = (v);                                            \
		}                                                              \
	} while (0)

static void stats_to_info(const struct job *j, Gisa__V1__MigrationStats *m)
{
	const struct migstats *s = j->ms;

	gisa__v1__migration_stats__init(m);
	m->has_phase = true;
	m->phase = s->phase;
	m->peer = (char *)s->peer;
	m->peer_identity = (char *)s->peer_identity;
	m->has_migration_id = true;
	m->migration_id.data = (uint8_t *)s->id;
	m->migration_id.len = sizeof(s->id);
	if (s->remote_vm[0])
		m->remote_vm = (char *)s->remote_vm;
	m->has_rounds = true;
	m->rounds = s->rounds;
	m->n_round_bytes = s->rounds < GISAD_MIG_ROUNDS_KEPT ? s->rounds : GISAD_MIG_ROUNDS_KEPT;
	m->round_bytes = (uint64_t *)s->round_bytes;
	m->has_precopy_bytes = true;
	m->precopy_bytes = s->precopy_bytes;
	SET(switchover_bytes, s->switchover_bytes);
	SET(downtime_budget_ms, s->budget_ms);
	if (s->compression[0])
		m->compression = (char *)s->compression;
	if (s->verdict[0])
		m->verdict = (char *)s->verdict;
	SET(setup_ns, s->setup_ns);
	SET(transfer_ns, s->transfer_ns);
	SET(downtime_active_ns, s->down_active_ns);
	SET(downtime_informed_ns, s->down_informed_ns);
	SET(freeze_ns, s->freeze_ns);
	SET(encode_ns, s->encode_ns);
	SET(send_ns, s->send_ns);
	SET(recv_ns, s->recv_ns);
	SET(import_ns, s->import_ns);
	SET(verify_ns, s->verify_ns);
	SET(commit_ns, s->commit_ns);
	SET(answer_ns, s->answer_ns);
	SET(rtt_ns, s->rtt_ns);
	SET(query_attempts, s->query_attempts);
	if (s->has_src_digest) {
		m->has_source_digest = true;
		m->source_digest.data = (uint8_t *)s->src_digest;
		m->source_digest.len = sizeof(s->src_digest);
	}
	if (s->has_dst_digest) {
		m->has_dest_digest = true;
		m->dest_digest.data = (uint8_t *)s->dst_digest;
		m->dest_digest.len = sizeof(s->dst_digest);
	}
	if (s->has_match) {
		m->has_digests_match = true;
		m->digests_match = s->digests_match;
	}
}

#undef SET

void job_to_info(const struct job *j, Gisa__V1__JobInfo *info, Gisa__V1__MigrationStats *ms)
{
	uint64_t end = j->end_ns ? j->end_ns : gisad_now_ns();

	gisa__v1__job_info__init(info);
	info->has_id = true;
	info->id = j->id;
	info->has_type = true;
	info->type = j->type;
	info->has_operation = true;
	info->operation = j->op;
	info->vm = (char *)j->vm;
	info->has_started_unix_ns = true;
	info->started_unix_ns = j->started_unix_ns;
	info->has_elapsed_ns = true;
	info->elapsed_ns = end - j->start_ns;
	info->has_data_total = true;
	info->data_total = j->total;
	info->has_data_processed = true;
	info->data_processed = j->processed;
	info->has_data_remaining = true;
	info->data_remaining = j->total > j->processed ? j->total - j->processed : 0;
	if (j->error) {
		info->has_error = true;
		info->error = j->error;
	}
	/* A running migration's says what it waits for (in doubt, or frozen until...). */
	if (j->error || j->errmsg[0])
		info->error_message = (char *)j->errmsg;
	if (j->tag[0])
		info->tag = (char *)j->tag;
	if (j->has_digest) {
		info->has_digest = true;
		info->digest.data = (uint8_t *)j->digest;
		info->digest.len = GISA_SNAP_DIGEST_SIZE;
	}
	if (j->ms) {
		stats_to_info(j, ms);
		info->migration = ms;
	}
}

size_t job_clear(struct gisad *d, uint64_t id)
{
	size_t n = 0;

	for (struct job **p = &d->jobs; *p;) {
		struct job *j = *p;

		if (finished(j) && (id == 0 || j->id == id)) {
			*p = j->next;
			free(j->ms);
			free(j);
			d->nr_finished_jobs--;
			n++;
		} else {
			p = &j->next;
		}
	}
	return n;
}

void job_free_all(struct gisad *d)
{
	while (d->jobs) {
		struct job *j = d->jobs;

		d->jobs = j->next;
		free(j->ms);
		free(j);
	}
	d->nr_finished_jobs = 0;
}
