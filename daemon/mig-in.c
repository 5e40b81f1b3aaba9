/* SPDX-License-Identifier: MIT */
/*
 * The destination of a migration (docs/MIGRATION-PROTOCOL.md, sections
 * 6.2 and 7), and the answers to outcome queries and fetches.
 *
 *   BEGIN --MigBegin accepted (record STAGING and slot, queued)--> STAGING
 *   STAGING --MigRound--> ROUND --object: applied (round 0: into the slot,
 *        queued; the STAGING record durable)--> MigRoundAck, STAGING
 *   STAGING --MigPing (version 3)--> one overwrite in the slot timed,
 *        queued --> MigPong, STAGING
 *   STAGING --MigSwitchover--> FINAL --object: checks, build, record
 *        COMMITTED, activate--> MigOutcome COMMITTED, CONFIRM
 *   FINAL --a check fails--> MigOutcome DISCARDED
 *   BEGIN..FINAL (before END) --failure, MigAbort, idle, cut--> DISCARDED
 *   CONFIRM --MigConfirm or the link ends--> done
 *
 * Invariants:
 *  - the staging image is no VM: control verbs cannot see or change it;
 *    only its name (and UUID) are reserved; nor can they the live staging
 *    VM (version 2), which lives on a host of its own until activated;
 *  - the COMMITTED record is written after every check passed and before
 *    the VM is activated; the staged checkpoint is durable before it, so
 *    a restart after the record restores the VM, and one before it finds
 *    a STAGING record and discards;
 *  - once the final object's END arrived, the decision is taken within
 *    the same loop turn: no loss of the link can stop it;
 *  - an outcome is answered only to a peer admitted by the same
 *    allow-list entry that ran the migration.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <zstd.h>

#include <gisa/compat.h>
#include <gisa/delta.h>
#include <gisa/image.h>
#include <gisa/restore.h>

#include "log.h"
#include "mig.h"
#include "par.h"

enum in_state {
	I_BEGIN,
	I_STAGING,
	I_ROUND,        /* a round's object is arriving */
	I_FINAL,        /* the final delta is arriving */
	I_CONFIRM,      /* committed: waiting for MigConfirm */
	I_DONE,
};

/* For errors: what the destination was doing. */
static const char *const in_state_names[] = {
	[I_BEGIN] = "waiting for MigBegin",
	[I_STAGING] = "staging",
	[I_ROUND] = "receiving a round",
	[I_FINAL] = "receiving the final delta",
	[I_CONFIRM] = "committed, waiting for MigConfirm",
	[I_DONE] = "done",
};

struct mig_in {
	struct mig_in *next;
	struct gisad *d;
	struct mlink *l;
	struct job *job;
	struct migstats *ms;
	enum in_state st;
	Gisa__V1__MigPurpose purpose;
	struct migrec rec;
	bool reserved;                  /* rec.vm and rec.uuid are reserved */
	bool stage_pending;             /* committed: the checkpoint is still staged */
	bool install_pending;           /* the COMMITTED record and checkpoint not queued yet */
	struct gisa_image *ckpt_img;    /* the active VM's image for it (tracked), and its state */
	struct gisa_snap_state ckpt_st;
	bool active_mismatch;           /* the activated VM's digest is not the target */
	struct gisa_compat_dest target;
	enum gisa_compat_verdict allowed;
	struct gisa_image *img;         /* the staging image I_r */
	struct gisa_snap_state state;   /* its state bytes and digest, made once */
	uint8_t digest[MIG_DIGEST_SIZE];
	uint8_t chain[MIG_DIGEST_SIZE];
	uint32_t round;                 /* the next round expected */
	struct gisa_snap_info round0;   /* round 0's snapshot */
	struct migrec_slot slot;        /* round 0's snapshot, then version 2's deltas */
	/*
	 * Version 2: the live staging VM, built from round 0's image on a host
	 * of its own (no other VM's alert processing reaches it) and kept at
	 * the staging image's state by applying each round's delta to it; a
	 * tracked final delta is applied to it, and it joins d->host when it
	 * is activated.  NULL when the target converts the image, or a build
	 * failed: the switchover then takes the version 1 path.
	 */
	struct gisa_host *stage_host;
	struct gisa_vm *live;
	uint64_t live_ns;               /* the last round applied to it */
	bool tracked;                   /* the switchover is tracked */
	bool digest_in_outcome;         /* tracked: the source takes the digest from MigOutcome */
	bool early_digest;              /* it is there: made before the answer, no MigDigest */
	/* the announced object */
	bool a_zstd;
	uint64_t a_raw;
	uint8_t a_digest[MIG_DIGEST_SIZE], a_chain[MIG_DIGEST_SIZE], a_target[MIG_DIGEST_SIZE];
	uint64_t t_announce;
	/*
	 * Durable writes queued (dwq.h): the STAGING record with the slot
	 * reserved (io_ticket, at MigBegin), round 0 written into the slot
	 * (fill_ticket)
	 */
	uint64_t io_ticket;
	uint64_t fill_ticket;
	int io_r;                       /* the first that failed, -errno, with io_msg */
	char io_msg[DWQ_MSG_MAX + 64];
	/* Version 3: a MigPing, answered once its probe is done (ping_ev) */
	struct event *ping_ev;
	bool pinged;                    /* its MigPong is not sent yet */
	bool ping_seen;                 /* one per migration */
	uint32_t ping_round;
	uint64_t t_ping, ping_probe_ns;
	int ping_r;                     /* the probe's failure, -errno, with ping_msg */
	char ping_msg[DWQ_MSG_MAX];
};

/* ---- bookkeeping --------------------------------------------------------------- */

bool migin_reserved(const struct gisad *d, const char *name, const uint8_t uuid[16])
{
	for (const struct mig_in *s = d->ins; s; s = s->next)
		if (s->reserved && ((name && strcmp(s->rec.vm, name) == 0) ||
				    (uuid && memcmp(s->rec.uuid, uuid, 16) == 0)))
			return true;
	return false;
}

/* The oldest decided outcome, or nr_outcomes when every one is undecided. */
static size_t oldest_decided(const struct gisad *d)
{
	size_t i = 0;

	while (i < d->nr_outcomes && d->outcomes[i].state == MIGREC_STAGING)
		i++;
	return i;
}

void migin_remember(struct gisad *d, const struct migrec *r)
{
	size_t cap = d->cfg.outcome_records, want, i;

	for (i = 0; i < d->nr_outcomes; i++) {
		if (memcmp(d->outcomes[i].id, r->id, MIG_ID_SIZE) == 0) {
			d->outcomes[i] = *r;
			return;
		}
	}
	/*
	 * The oldest decided ones go, with their record files (more than one
	 * after a reload lowered cap); a record whose staged checkpoint is
	 * still there (its move into place failed) stays on disk, for the
	 * next start to finish.  Undecided ones (STAGING, held until a start
	 * reads their slot) stay, over cap if need be: forgotten, their
	 * sources would be told UNKNOWN, as if only an operator could decide.
	 */
	while (d->nr_outcomes >= cap && (i = oldest_decided(d)) < d->nr_outcomes) {
		if (!migrec_stage_exists(d, d->outcomes[i].id))
			(void)migrec_remove(d, d->outcomes[i].id);
		memmove(d->outcomes + i, d->outcomes + i + 1,
			(d->nr_outcomes - i - 1) * sizeof(*d->outcomes));
		d->nr_outcomes--;
	}
	/* The array follows cap, which a reload may have changed. */
	want = d->nr_outcomes < cap ? cap : d->nr_outcomes + 1;
	if (d->outcomes_alloc != want) {
		struct migrec *p = realloc(d->outcomes, want * sizeof(*d->outcomes));

		if (!p && d->outcomes_alloc <= d->nr_outcomes) {
			log_err("out of memory for outcome records: migration %s is not kept",
				r->vm);
			return;
		}
		if (p) {
			d->outcomes = p;
			d->outcomes_alloc = want;
		}
	}
	d->outcomes[d->nr_outcomes++] = *r;
}

static const struct migrec *outcome_find(const struct gisad *d, const uint8_t *id)
{
	for (size_t i = 0; i < d->nr_outcomes; i++)
		if (memcmp(d->outcomes[i].id, id, MIG_ID_SIZE) == 0)
			return &d->outcomes[i];
	return NULL;
}

/* Version 2, tracked: the activated VM's digest to the source. */
static void send_digest(struct mig_in *s, uint64_t ns)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigDigest dg = GISA__V1__MIG_DIGEST__INIT;

	if (!s->l)
		return;
	dg.has_state_digest = dg.has_digest_ns = true;
	dg.state_digest.data = s->rec.active_digest;
	dg.state_digest.len = MIG_DIGEST_SIZE;
	dg.digest_ns = ns;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_DIGEST;
	m.digest = &dg;
	if (mlink_send(s->l, &m))
		log_warning("incoming VM `%s': its digest could not be sent to the source",
			    s->rec.vm);
}

/*
 * The activated VM's full-state digest, computed after activation (out of
 * the downtime) and compared with the target the source named: a
 * mismatch cannot be undone and is a loud error on this side (the source
 * compares the digest MigOutcome carried).  After a tracked switchover no
 * target was named: the digest goes to the source, in MigOutcome when
 * made before the answer (early_digest, final_object), else in MigDigest,
 * and is compared with the source's in MigConfirm (confirm).
 */
static void check_active(struct mig_in *s, struct gisa_image **ret_img,
			 struct gisa_snap_state *ret_st)
{
	struct vmrec *rec = vmreg_find(s->d, s->rec.vm);
	struct gisa_snap_state st = { 0 };
	struct gisa_image *img = NULL;
	uint8_t digest[MIG_DIGEST_SIZE];
	uint64_t t0 = gisad_now_ns();
	char a[65], b[65];
	int r = rec ? gisa_image_from_vm(rec->vm, &img) : -ENOENT;

	if (!r)
		r = gisa_snap_state_make(img, &st);
	if (!r)
		memcpy(digest, st.digest, MIG_DIGEST_SIZE);
	if (!r && ret_img) {
		*ret_img = img;
		*ret_st = st;
	} else {
		gisa_image_free(img);
		gisa_snap_state_release(&st);
	}
	if (r) {
		log_err("VM `%s' arrived: its digest cannot be computed: %s", s->rec.vm,
			strerror(-r));
		return;
	}
	if (s->ms) {
		memcpy(s->ms->dst_digest, digest, MIG_DIGEST_SIZE);
		s->ms->has_dst_digest = true;
	}
	if (s->tracked) {
		memcpy(s->rec.active_digest, digest, MIG_DIGEST_SIZE);
		s->rec.has_active_digest = true;
		/* Or it goes in the answer (final_object). */
		if (!s->early_digest)
			send_digest(s, gisad_now_ns() - t0);
		return;
	}
	if (memcmp(digest, s->rec.target_digest, MIG_DIGEST_SIZE) == 0)
		return;
	s->active_mismatch = true;
	memcpy(s->rec.active_digest, digest, MIG_DIGEST_SIZE);
	mig_hex(s->rec.target_digest, MIG_DIGEST_SIZE, a);
	mig_hex(digest, MIG_DIGEST_SIZE, b);
	log_err("VM `%s' is active here, but its digest %s differs from the source's target "
		"%s", s->rec.vm, b, a);
}

/* The COMMITTED record, queued after the activation. */
static void committed_written(struct gisad *d, struct dwq_job *dj)
{
	(void)d;
	if (dj->r)
		log_err("incoming VM `%s': the COMMITTED record: %s (the staged checkpoint "
			"stands for it)", ((struct migrec_job *)dj)->rec.vm, dj->msg);
}

/*
 * An install in flight (queued by install), or one that failed: its
 * committed slot stays for the next start to move (migin_superseded).
 */
struct unmoved {
	struct unmoved *next;
	struct migrec rec;              /* COMMITTED */
	bool failed;                    /* installed said so: the slot stays */
	const char *superseded;         /* in flight meanwhile: why (a literal) */
};

static struct unmoved **unmoved_find(struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	struct unmoved **p = &d->unmoved;

	while (*p && memcmp((*p)->rec.id, id, MIG_ID_SIZE) != 0)
		p = &(*p)->next;
	return p;
}

/*
 * Remove *p's slot, superseded by why, and forget it.  The COMMITTED JSON
 * record is written again first: its own write may have failed beside the
 * install, and a STAGING record without its slot would be discarded at
 * the next start while the VM runs here.  false: the slot stays.
 */
static bool unmoved_drop(struct gisad *d, struct unmoved **p, const char *why)
{
	struct unmoved *u = *p;
	char msg[PATH_MAX + 256];
	int r = migrec_write(d, &u->rec, msg, sizeof(msg));

	if (!r)
		r = migrec_stage_remove(d, u->rec.id, msg, sizeof(msg));
	if (r) {
		log_err("committed VM `%s': its slot, never moved into place, stays although %s: "
			"%s (the next start would move it over that)", u->rec.vm, why, msg);
		return false;
	}
	log_notice("committed VM `%s': its slot, never moved into place, is removed: %s",
		   u->rec.vm, why);
	*p = u->next;
	free(u);
	return true;
}

void migin_superseded(struct gisad *d, const char *vm, const char *why)
{
	struct unmoved **p = &d->unmoved;

	while (*p) {
		struct unmoved *u = *p;
		bool mine = strcmp(u->rec.vm, vm) == 0;

		/* In flight, its install decides (installed) once its result is taken. */
		if (mine && !u->failed)
			u->superseded = why;
		else if (mine && unmoved_drop(d, p, why))
			continue;               /* u is gone, *p its successor */
		p = &u->next;
	}
}

void migin_unmoved_free(struct gisad *d)
{
	while (d->unmoved) {
		struct unmoved *u = d->unmoved;

		d->unmoved = u->next;
		free(u);
	}
}

/* The activated VM's checkpoint, queued after the COMMITTED record. */
static void installed(struct gisad *d, struct dwq_job *dj)
{
	const struct migrec *rec = &((struct migrec_job *)dj)->rec;
	struct unmoved **p = unmoved_find(d, rec->id), *u = *p;

	if (dj->r > 0)
		log_warning("incoming VM `%s': %s", rec->vm, dj->msg);
	if (dj->r >= 0) {
		if (u) {
			*p = u->next;
			free(u);
		}
		return;
	}
	log_err("incoming VM `%s': %s (moved into place at the next start, unless a newer "
		"checkpoint of it is written first)", rec->vm, dj->msg);
	if (!u)
		return;
	u->failed = true;
	if (u->superseded)
		(void)unmoved_drop(d, p, u->superseded);
}

/* Track the install about to be queued: what supersedes it meanwhile counts. */
static void unmoved_track(struct gisad *d, const struct migrec *rec)
{
	struct unmoved *u = calloc(1, sizeof(*u));

	if (!u) {
		log_err("incoming VM `%s': out of memory tracking its install: if it fails, a "
			"newer checkpoint will not remove its slot", rec->vm);
		return;
	}
	u->rec = *rec;
	u->next = d->unmoved;
	d->unmoved = u;
}

/* The JSON record and the checkpoint, queued (dwq.h). */
static void install(struct mig_in *s)
{
	if (!s->install_pending)
		return;
	s->install_pending = false;
	(void)migrec_post(s->d, MIGREC_JOB_WRITE, &s->rec, NULL, NULL, 0, NULL, committed_written);
	/* Before the post: out of memory, the install runs (and installed) in it. */
	unmoved_track(s->d, &s->rec);
	(void)migrec_post_install(s->d, &s->rec, s->ckpt_img, s->ckpt_img ? &s->ckpt_st : NULL,
				  installed);
	s->ckpt_img = NULL;
	memset(&s->ckpt_st, 0, sizeof(s->ckpt_st));
}

/*
 * Committed and active: its digest (sent to the source), then the JSON
 * record and the checkpoint, queued (dwq.h) so that the digest leaves at
 * once; after a tracked switchover only once MigConfirm is in (or the
 * link ends), so that encoding the checkpoint does not take a CPU from
 * the source hashing its frozen VM meanwhile.  A tracked commit's slot
 * holds deltas: the active VM's image is the checkpoint, cheaper than
 * replaying them.
 */
static void stage_move(struct mig_in *s)
{
	if (!s->stage_pending)
		return;
	s->stage_pending = false;
	/* The answer is in the kernel: a source on this host runs before the digest. */
	if (!s->early_digest)
		mlink_yield();
	/*
	 * A tracked commit is past its last use of the staging image (the
	 * final delta's fallback): its memory serves the active VM's image.
	 */
	if (s->tracked) {
		s->img = gisa_image_free(s->img);
		gisa_snap_state_release(&s->state);
	}
	if (!s->early_digest)
		check_active(s, s->tracked ? &s->ckpt_img : NULL, &s->ckpt_st);
	s->install_pending = true;
	if (!s->tracked || !s->l)
		install(s);
}

void migin_install_all(struct gisad *d)
{
	for (struct mig_in *s = d->ins; s; s = s->next) {
		stage_move(s);
		install(s);
	}
}

/* Hold or release the staging VM's place: its name, UUID and one of max_vms. */
static void reserve(struct mig_in *s, bool on)
{
	if (s->reserved == on)
		return;
	s->reserved = on;
	if (on)
		s->d->nr_staging++;
	else
		s->d->nr_staging--;
}

static void live_drop(struct mig_in *s)
{
	s->live = gisa_vm_free(s->live);
	s->stage_host = gisa_host_free(s->stage_host);
}

static void in_free(struct mig_in *s)
{
	stage_move(s);
	install(s);
	/* The queued writes own what they write: they go on, unheard of. */
	dwq_disown(s->d, s);
	/* Staged: the spares it may have taken are made again. */
	if (s->io_ticket)
		mig_spare_later(s->d);
	reserve(s, false);
	for (struct mig_in **p = &s->d->ins; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			s->d->nr_ins--;
			break;
		}
	}
	if (s->l)
		mlink_drop(s->l);
	if (s->ping_ev)
		event_free(s->ping_ev);
	if (s->job)
		s->job->in = NULL;
	gisa_image_free(s->img);
	gisa_snap_state_release(&s->state);
	live_drop(s);
	free(s);
	mig_heap_trim();
}

static void finish(struct mig_in *s, int err, const char *msg)
{
	struct job *j = s->job;

	s->st = I_DONE;
	s->job = NULL;
	/*
	 * A committed VM's digest is checked before its job ends, however the
	 * link ended (confirmed, lost, timed out): a mismatch fails the job.
	 */
	stage_move(s);
	if (!err && s->active_mismatch) {
		err = -EBADMSG;
		msg = "committed, but the active VM's digest differs from the source's target digest";
		if (s->ms)
			s->ms->digests_match = false;
	}
	if (j) {
		j->in = NULL;
		job_finish(s->d, j, err, msg);
	}
	in_free(s);
}

/* Before the commit: staging goes, record DISCARDED, the job fails. */
static void discard(struct mig_in *s, int err, bool answer, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void discard(struct mig_in *s, int err, bool answer, const char *fmt, ...)
{
	char msg[512], why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->rec.state == MIGREC_STAGING) {
		s->rec.state = MIGREC_DISCARDED;
		s->rec.error = err;
		snprintf(s->rec.message, sizeof(s->rec.message), "%.255s", msg);
		s->rec.decided_unix_ns = gisad_unix_ns();
		if (migrec_write(s->d, &s->rec, why, sizeof(why)))
			log_err("migration of VM `%s': the DISCARDED record: %s", s->rec.vm, why);
		/* Nothing was written in the slot (a failed commit removed it). */
		(void)migrec_stage_remove(s->d, s->rec.id, why, sizeof(why));
		migin_remember(s->d, &s->rec);
	}
	reserve(s, false);
	if (s->ms)
		s->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_DISCARDED;
	if (s->l && answer) {
		Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
		Gisa__V1__MigOutcome oc = GISA__V1__MIG_OUTCOME__INIT;

		oc.has_outcome = oc.has_error = oc.has_decided_unix_ns = true;
		oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_DISCARDED;
		oc.error = err;
		oc.message = msg;
		oc.decided_unix_ns = s->rec.decided_unix_ns;
		m.body_case = GISA__V1__MIG_MESSAGE__BODY_OUTCOME;
		m.outcome = &oc;
		(void)mlink_send(s->l, &m);
		mlink_close(s->l);
		s->l = NULL;
	} else if (s->l) {
		mlink_error(s->l, err, "%s", msg);
		s->l = NULL;
	}
	if (s->job)
		log_notice("incoming migration of VM `%s' discarded: %s", s->rec.vm, msg);
	finish(s, err, msg);
}

/*
 * A migration whose slot may hold its commit, or not, until a start reads
 * it: its STAGING record is remembered, so that queries are told
 * IN_PROGRESS (no record would tell the source that only an operator can
 * decide), and its name is held, since that start may commit it over
 * whatever took the name.
 */
static void hold_undecided(struct gisad *d, const struct migrec *rec)
{
	migin_remember(d, rec);
	(void)mig_hold_name(d, rec, MIG_HOLD_UNDECIDED);
}

/*
 * A failed commit whose slot cannot be removed: the slot may hold the
 * commit (a failed flush's blocks may still reach the disk), so nothing
 * is decided until the next start reads it.  No answer and no outcome
 * record: held undecided; the link ends with the error and the job fails
 * in phase UNDECIDED.
 */
static void undecided(struct mig_in *s, int err, const char *msg, const char *why)
{
	char full[512];

	snprintf(full, sizeof(full), "undecided until gisad restarts and reads the staged "
		 "checkpoint: the commit failed (%s) and the checkpoint cannot be removed: %s",
		 msg, why);
	log_err("incoming VM `%s': %s", s->rec.vm, full);
	hold_undecided(s->d, &s->rec);
	s->rec.state = MIGREC_NONE;
	reserve(s, false);
	if (s->ms)
		s->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_UNDECIDED;
	if (s->l) {
		mlink_error(s->l, err, "%s", full);
		s->l = NULL;
	}
	finish(s, err, full);
}

/* ---- begin ---------------------------------------------------------------------- */

static bool uuid_taken(const struct gisad *d, const uint8_t uuid[16])
{
	for (const struct vmrec *v = d->vms; v; v = v->next)
		if (memcmp(v->uuid, uuid, 16) == 0)
			return true;
	return migin_reserved(d, NULL, uuid);
}

/* Name and UUID at this host; -EEXIST etc. with msg. */
static int place(struct mig_in *s, const Gisa__V1__MigBegin *b, char *msg, size_t msglen)
{
	struct gisad *d = s->d;
	const char *name = b->new_name ? b->new_name : b->vm_name;
	const struct retired *t;

	if (!b->vm_name || !name_valid(b->vm_name) || (b->new_name && !name_valid(b->new_name))) {
		const char *bad = !b->vm_name || !name_valid(b->vm_name) ? b->vm_name : b->new_name;
		char shown[GISAD_NAME_MAX + 8];

		mig_clean_text(bad ? bad : "", shown, sizeof(shown));
		snprintf(msg, msglen, "MigBegin: %s %s%s%s is not a VM name (1 to %d of "
			 "[A-Za-z0-9_.-], not starting with `.')",
			 bad == b->new_name ? "new_name" : "vm_name", bad ? "`" : "",
			 bad ? shown : "absent", bad ? "'" : "", GISAD_NAME_MAX);
		return -EINVAL;
	}
	if (!b->has_vm_uuid || b->vm_uuid.len != 16) {
		snprintf(msg, msglen, "MigBegin: vm_uuid of %zu bytes, expected 16",
			 b->has_vm_uuid ? b->vm_uuid.len : (size_t)0);
		return -EINVAL;
	}
	memcpy(s->rec.uuid, b->vm_uuid.data, 16);
	t = mig_retired_find(d, name);
	/* Back too soon: its listing must not end before the record is durable. */
	if (t && t->recording && memcmp(t->uuid, s->rec.uuid, 16) == 0) {
		snprintf(msg, msglen, "VM `%s' migrated away from here and its RETIRED record is "
			 "still being written: try again once it is", name);
		return -EBUSY;
	}
	/* The VM coming back to where it was retired is welcome. */
	if (!(t && memcmp(t->uuid, s->rec.uuid, 16) == 0) &&
	    (vmreg_find(d, name) || t || migin_reserved(d, name, NULL))) {
		snprintf(msg, msglen, "VM `%s' already exists here%s", name,
			 b->new_name ? "" : ": give the migration a new name");
		return -EEXIST;
	}
	/* A name held by a migration not settled (mig_hold_name). */
	if (mig_held(d, name)) {
		snprintf(msg, msglen, "the name `%s' is held here by a migration this gisad has "
			 "not settled (see its log)%s", name,
			 b->new_name ? "" : ": give the migration a new name");
		return -EEXIST;
	}
	if (uuid_taken(d, s->rec.uuid)) {
		if (!b->new_name) {
			snprintf(msg, msglen, "a VM with the UUID of `%s' already exists here: give "
				 "the migration a new name", b->vm_name);
			return -EEXIST;
		}
		uuid_random(s->rec.uuid);
	}
	if (d->nr_vms + d->nr_staging >= d->cfg.max_vms) {
		snprintf(msg, msglen, "this gisad already hosts %u VMs and receives %u (max_vms = %u)",
			 d->nr_vms, d->nr_staging, d->cfg.max_vms);
		return -ENOSPC;
	}
	snprintf(s->rec.vm, sizeof(s->rec.vm), "%s", name);
	mig_clean_text(b->vm_name, s->rec.remote_vm, sizeof(s->rec.remote_vm));
	return 0;
}

/* A write queued for the staging VM is done: the STAGING record and the slot, or round 0. */
static void stage_done(struct gisad *d, struct dwq_job *dj)
{
	struct mig_in *s = dj->owner;
	const struct migrec_job *j = (const struct migrec_job *)dj;

	(void)d;
	(void)migrec_precopy_done(dj, &s->slot, &s->io_r, s->io_msg, sizeof(s->io_msg),
				  j->kind == MIGREC_JOB_FILL ? "round 0 into the checkpoint's slot" :
				  "the STAGING record and the checkpoint's slot");
}

/*
 * The STAGING record is durable (and no queued write failed so far):
 * before a round is acknowledged, so that a source that switches over on
 * that answer finds a destination whose restart knows the migration.
 * Round 0's write into the slot may still be on its way (filled).  False:
 * discarded.
 */
static bool settled(struct mig_in *s)
{
	dwq_wait(s->d, s->io_ticket);
	dwq_complete(s->d);
	if (!s->io_r)
		return true;
	discard(s, s->io_r, false, "%s", s->io_msg);
	return false;
}

/*
 * Round 0 is durable in the slot, which s->slot then describes: before
 * anything is appended to it (a later round's delta, the commit).
 * -errno with msg (the write's failure).
 */
static int filled(struct mig_in *s, char *msg, size_t msglen)
{
	dwq_wait(s->d, s->fill_ticket);
	dwq_complete(s->d);
	if (s->io_r)
		snprintf(msg, msglen, "%.*s", (int)(msglen ? msglen - 1 : 0), s->io_msg);
	return s->io_r;
}

static int accept_begin(struct mig_in *s, const Gisa__V1__MigMessage *m, char *msg,
			size_t msglen)
{
	const Gisa__V1__MigBegin *b = m->begin;
	char idhex[2 * MIG_ID_SIZE + 1];
	int r;

	if (!m->has_migration_id || m->migration_id.len != MIG_ID_SIZE) {
		snprintf(msg, msglen, "MigBegin without a 16-byte migration id (%zu bytes)",
			 m->has_migration_id ? m->migration_id.len : (size_t)0);
		return -EPROTO;
	}
	memcpy(s->rec.id, m->migration_id.data, MIG_ID_SIZE);
	mig_hex(s->rec.id, MIG_ID_SIZE, idhex);
	if (outcome_find(s->d, s->rec.id)) {
		snprintf(msg, msglen, "migration id %s already used here", idhex);
		return -EALREADY;
	}
	if (migout_has_id(s->d, s->rec.id)) {
		snprintf(msg, msglen, "this is the gisad the VM migrates from: a VM cannot "
			 "migrate to the gisad that holds it");
		return -ELOOP;
	}
	for (const struct mig_in *o = s->d->ins; o; o = o->next)
		if (o != s && o->reserved && memcmp(o->rec.id, s->rec.id, MIG_ID_SIZE) == 0) {
			snprintf(msg, msglen, "migration id %s already running here", idhex);
			return -EALREADY;
		}
	if (!b->has_target_profile || !b->has_target_caps || b->target_profile > 1 ||
	    (b->target_caps & ~GISA_CAP_ALL)) {
		snprintf(msg, msglen, "MigBegin with target profile %u and caps %#x", b->target_profile,
			 b->target_caps);
		return -EINVAL;
	}
	r = host_offers(s->d, "the migrating VM", (enum gisa_profile)b->target_profile,
			b->target_caps, msg, msglen);
	if (r)
		return r;
	if (b->compression == GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_ZSTD &&
	    (b->level < 1 || b->level > GISAD_ZSTD_MAX_LEVEL)) {
		snprintf(msg, msglen, "zstd level %d: expected 1 to %d", b->level,
			 GISAD_ZSTD_MAX_LEVEL);
		return -EINVAL;
	}
	/* Nothing larger can arrive: refused before anything is staged. */
	if (b->has_estimated_bytes && b->estimated_bytes > GISA_FRAME_OBJECT_MAX) {
		snprintf(msg, msglen, "MigBegin announces round 0 of %llu bytes, over the object cap "
			 "of %llu", (unsigned long long)b->estimated_bytes,
			 (unsigned long long)GISA_FRAME_OBJECT_MAX);
		return -EMSGSIZE;
	}
	r = place(s, b, msg, msglen);
	if (r)
		return r;
	s->target.profile = (enum gisa_profile)b->target_profile;
	s->target.caps = b->target_caps;
	s->allowed = b->allow_lossy ? GISA_COMPAT_LOSSY : GISA_COMPAT_EXACT;
	s->rec.state = MIGREC_STAGING;
	s->rec.created_unix_ns = gisad_unix_ns();
	snprintf(s->rec.peer, sizeof(s->rec.peer), "%s", s->l->addr);
	snprintf(s->rec.peer_name, sizeof(s->rec.peer_name), "%s", s->l->peer.name);
	snprintf(s->rec.peer_entry, sizeof(s->rec.peer_entry), "%s", s->l->peer.matched);
	snprintf(s->rec.peer_fp, sizeof(s->rec.peer_fp), "%s", s->l->peer.fingerprint);
	return 0;
}

static void begin(struct mig_in *s, const Gisa__V1__MigMessage *m)
{
	Gisa__V1__MigMessage out = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigReady rd = GISA__V1__MIG_READY__INIT;
	const Gisa__V1__MigBegin *b = m->begin;
	char msg[512];
	int r;

	r = accept_begin(s, m, msg, sizeof(msg));
	if (r) {
		s->rec.state = MIGREC_NONE;
		mlink_error(s->l, r, "%s", msg);
		s->l = NULL;
		finish(s, r, msg);
		return;
	}
	reserve(s, true);
	memcpy(s->l->id, s->rec.id, MIG_ID_SIZE);
	s->l->has_id = true;
	s->ms = calloc(1, sizeof(*s->ms));
	s->job = s->ms ? job_start(s->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_IN,
				   s->rec.vm, NULL) : NULL;
	if (!s->job) {
		free(s->ms);
		s->ms = NULL;
		discard(s, -ENOMEM, false, "out of memory for the job");
		return;
	}
	s->job->ms = s->ms;
	s->job->in = s;
	s->job->type = GISA__V1__JOB_TYPE__JOB_TYPE_UNBOUNDED;
	s->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_PRECOPY;
	snprintf(s->ms->peer, sizeof(s->ms->peer), "%s", s->l->addr);
	snprintf(s->ms->peer_identity, sizeof(s->ms->peer_identity), "%s (%s, allow-list `%s')",
		 s->l->peer.name, s->l->peer.fingerprint, s->l->peer.matched);
	memcpy(s->ms->id, s->rec.id, MIG_ID_SIZE);
	snprintf(s->ms->remote_vm, sizeof(s->ms->remote_vm), "%s", s->rec.remote_vm);
	s->ms->budget_ms = b->downtime_budget_ms;
	s->a_zstd = b->compression == GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_ZSTD;
	if (s->a_zstd)
		snprintf(s->ms->compression, sizeof(s->ms->compression), "zstd:%d", b->level);
	else
		snprintf(s->ms->compression, sizeof(s->ms->compression), "none");
	if (b->verdict && b->verdict->has_verdict && b->verdict->verdict <= 2)
		snprintf(s->ms->verdict, sizeof(s->ms->verdict), "%s",
			 gisa_compat_verdict_name((enum gisa_compat_verdict)b->verdict->verdict));
	r = gisa_frame_chain_init(s->rec.id, s->chain);
	if (r) {
		discard(s, r, false, "digest chain: %s", strerror(-r));
		return;
	}
	rd.vm_name = s->rec.vm;
	rd.has_vm_uuid = rd.has_compression = rd.has_level = true;
	rd.vm_uuid.data = s->rec.uuid;
	rd.vm_uuid.len = 16;
	rd.compression = b->compression;
	rd.level = b->level;
	out.body_case = GISA__V1__MIG_MESSAGE__BODY_READY;
	out.ready = &rd;
	s->st = I_STAGING;
	log_info("incoming migration of VM `%s' from %s (`%s') as `%s': staging", s->rec.remote_vm,
		 s->l->addr, s->l->peer.name, s->rec.vm);
	if (mlink_send(s->l, &out)) {
		discard(s, -ENOMEM, false, "out of memory sending MigReady");
		return;
	}
	/*
	 * Queued once MigReady is out (the writer, woken on this CPU, would
	 * run first), durable before round 0 is acknowledged (settled): the
	 * record, and beside it the slot reserved for the size announced, while
	 * round 0 travels and is decoded.  round0 then writes it into the slot.
	 */
	s->io_ticket = migrec_post_stage(s->d, &s->rec, b->has_estimated_bytes ?
					 b->estimated_bytes : 0, s, stage_done);
}

/* ---- rounds ----------------------------------------------------------------------- */

static int announce(struct mig_in *s, uint32_t stream, uint64_t bytes, const ProtobufCBinaryData *dg,
		    const ProtobufCBinaryData *ch, char *msg, size_t msglen)
{
	if (dg->len != MIG_DIGEST_SIZE || ch->len != MIG_DIGEST_SIZE) {
		snprintf(msg, msglen, "round %u announced without a 32-byte digest and chain",
			 s->round);
		return -EPROTO;
	}
	memcpy(s->a_digest, dg->data, MIG_DIGEST_SIZE);
	memcpy(s->a_chain, ch->data, MIG_DIGEST_SIZE);
	s->t_announce = gisad_now_ns();
	if (s->job)
		job_progress(s->job, s->job->processed, s->job->processed + bytes);
	return mlink_expect(s->l, stream, bytes, msg, msglen);
}

static void round_msg(struct mig_in *s, const Gisa__V1__MigRound *rd)
{
	Gisa__V1__MigObjectKind want = s->round == 0 ? GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_FULL :
				       GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA;
	char msg[256];
	int r;

	if (rd->round != s->round || rd->kind != want) {
		discard(s, -EPROTO, false, "MigRound %u of kind %d: expected round %u of kind %d",
			rd->round, (int)rd->kind, s->round, (int)want);
		return;
	}
	if (rd->round >= GISAD_MIG_MAX_ROUNDS) {
		discard(s, -EPROTO, false, "MigRound %u: a migration has at most %u precopy rounds "
			"(0 to %u)", rd->round, GISAD_MIG_MAX_ROUNDS, GISAD_MIG_MAX_ROUNDS - 1);
		return;
	}
	if (want == GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA)
		s->a_raw = rd->raw_bytes;
	r = announce(s, rd->stream, rd->object_bytes, &rd->state_digest, &rd->chain, msg,
		     sizeof(msg));
	if (r) {
		discard(s, r, false, "%s", msg);
		return;
	}
	s->st = I_ROUND;
}

/* A DELTA object: decompress (bounded) when it was compressed. */
static int unwrap(struct mig_in *s, uint8_t **buf, size_t *len, char *msg, size_t msglen)
{
	unsigned long long n;
	uint8_t *out;
	size_t got;

	if (!s->a_zstd)
		return 0;
	n = ZSTD_getFrameContentSize(*buf, *len);
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
	    n > GISA_DELTA_MAX_BYTES || n != s->a_raw) {
		snprintf(msg, msglen, "compressed delta declares %llu bytes (announced %llu, at "
			 "most %u)", n, (unsigned long long)s->a_raw, GISA_DELTA_MAX_BYTES);
		return -EBADMSG;
	}
	out = malloc(n ? (size_t)n : 1);
	if (!out)
		return -ENOMEM;
	got = ZSTD_decompress(out, (size_t)n, *buf, *len);
	if (ZSTD_isError(got) || got != n) {
		free(out);
		snprintf(msg, msglen, "compressed delta does not decompress to %llu bytes", n);
		return -EBADMSG;
	}
	free(*buf);
	*buf = out;
	*len = (size_t)n;
	return 0;
}

static int adopt(struct mig_in *s, struct gisa_image *img, struct gisa_snap_state *st,
		 char *msg, size_t msglen);

/*
 * A final image's state and digest (version 1, the image way),
 * on the worker for a large VM while the loop's thread judges it and
 * builds its VM (par.h): the two only read the image.
 */
struct image_state {
	const struct gisa_image *img;
	struct gisa_snap_state st;
	uint64_t ns;
	int r;
};

static void make_image_state(void *arg)
{
	struct image_state *f = arg;
	uint64_t t0 = gisad_now_ns();

	f->r = gisa_snap_state_make(f->img, &f->st);
	f->ns = gisad_now_ns() - t0;
}

/*
 * Turn a round's delta into the next staging image; checks digest and
 * chain.  D(image) is the digest of its state, which
 * gisa_delta_apply_states makes and checks against the delta's result
 * digest; every later round starts from the state kept.  The delta's
 * uncompressed bytes are handed back in *ret_delta (malloc'd).
 */
static int apply(struct mig_in *s, uint8_t *buf, size_t len, uint8_t **ret_delta,
		 size_t *ret_delta_len, char *msg, size_t msglen)
{
	struct gisa_snap_error serr = { { 0 } };
	struct gisa_snap_state st = { 0 };
	struct gisa_image *img = NULL;
	int r = unwrap(s, &buf, &len, msg, msglen);

	if (r) {
		free(buf);
		return r;
	}
	r = gisa_delta_apply_states(s->img, s->state.bytes ? &s->state : NULL, buf, len, &img,
				    &st, &serr);
	if (r) {
		free(buf);
		gisa_image_free(img);
		gisa_snap_state_release(&st);
		snprintf(msg, msglen, "round %u: %s", s->round, serr.msg[0] ? serr.msg :
			 strerror(-r));
		return r;
	}
	*ret_delta = buf;
	*ret_delta_len = len;
	return adopt(s, img, &st, msg, msglen);
}

/*
 * The round's image, its digest checked against the delta's, becomes the
 * staging image if its digest and chain are the ones the source announced.
 * Takes img and *st either way.
 */
static int adopt(struct mig_in *s, struct gisa_image *img, struct gisa_snap_state *st,
		 char *msg, size_t msglen)
{
	uint8_t chain[MIG_DIGEST_SIZE];
	int r = gisa_frame_chain_next(s->chain, s->round, st->digest, chain);

	if (r) {
		gisa_image_free(img);
		gisa_snap_state_release(st);
		snprintf(msg, msglen, "round %u: digest chain: %s", s->round, strerror(-r));
		return r;
	}
	if (memcmp(st->digest, s->a_digest, MIG_DIGEST_SIZE) ||
	    memcmp(chain, s->a_chain, MIG_DIGEST_SIZE)) {
		snprintf(msg, msglen, "round %u: the image's %s differs from the source's", s->round,
			 memcmp(st->digest, s->a_digest, MIG_DIGEST_SIZE) ? "digest" : "chain");
		gisa_image_free(img);
		gisa_snap_state_release(st);
		return -EBADMSG;
	}
	gisa_image_free(s->img);
	s->img = img;
	gisa_snap_state_release(&s->state);
	s->state = *st;
	memset(st, 0, sizeof(*st));
	memcpy(s->digest, s->state.digest, MIG_DIGEST_SIZE);
	memcpy(s->chain, chain, MIG_DIGEST_SIZE);
	return 0;
}

/*
 * Whether this host takes a round's image: its memory cap within
 * max_mem_cap (round 0 is judged during precopy, so an image over it is
 * refused before the source freezes; a later round could raise it), and
 * its compatibility verdict no worse than the migration allows.
 */
static int judge(struct mig_in *s, const struct gisa_image *img, enum gisa_compat_verdict *ret,
		 char *msg, size_t msglen)
{
	struct gisa_compat_report rep = { 0 };
	char why[160];
	int r = conf_mem_cap_check(&s->d->cfg, img->config.mem_cap, why, sizeof(why));

	if (r) {
		snprintf(msg, msglen, "round %u: %s", s->round, why);
		return r;
	}
	r = gisa_compat_check(img, &s->target, &rep);
	if (r) {
		snprintf(msg, msglen, "compatibility check: %s", strerror(-r));
		return r;
	}
	*ret = rep.verdict;
	if (rep.verdict > s->allowed) {
		snprintf(msg, msglen, "round %u is %s here (%s), beyond what the migration allows",
			 s->round, gisa_compat_verdict_name(rep.verdict),
			 rep.reason ? rep.reason :
			 rep.nr_changes ? gisa_compat_kind_name(rep.changes[0].kind) : "?");
		r = -EOPNOTSUPP;
	}
	gisa_compat_report_release(&rep);
	return r;
}

/*
 * Version 2: build the live staging VM from the staging image, on a host
 * of its own with d->host's nisc and allocator (so that it can join it).
 * Only when the image needs no conversion; a failure only means the
 * switchover takes the version 1 path.
 */
static void live_build(struct mig_in *s, const struct gisa_image *img)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_host_info hi;
	int r = 0;

	s->live = gisa_vm_free(s->live);
	if (s->l->version < 2 || img->config.profile != s->target.profile ||
	    img->config.caps != s->target.caps)
		return;
	if (!s->stage_host) {
		struct gisa_host_config hc = { 0 };

		gisa_host_info(s->d->host, &hi);
		hc.nisc = hi.nisc;
		r = gisa_host_new(&hc, &s->stage_host);
	}
	if (!r)
		r = gisa_image_build_vm(img, s->stage_host, &s->live, &rerr);
	if (r)
		log_info("incoming VM `%s': no live staging VM (%s%s%s): the switchover takes the "
			 "image way", s->rec.vm, rerr.field ? rerr.field : "",
			 rerr.field ? ": " : "", strerror(-r));
}

/*
 * Round 0: the snapshot decoded, its state the file's own bytes (the
 * decoder checked them against the container's digest, which the chain
 * then checks against the source's: no encoding or hashing again), the
 * STAGING record and the slot made with it (queued, taking buf), the
 * image judged and the live staging VM built from it.  An image that is
 * not the source's fails first, whatever else happened to it.
 */
static int round0(struct mig_in *s, uint8_t *buf, size_t len, enum gisa_compat_verdict *verdict,
		  char *msg, size_t msglen)
{
	struct gisa_snap_error serr = { { 0 } };
	struct gisa_snap_state st = { 0 };
	struct gisa_image *img = NULL;
	char vmsg[512] = "";
	int r = gisa_snap_decode_state(buf, len, &img, &st, &s->round0, &serr), rv;

	if (r) {
		free(buf);
		snprintf(msg, msglen, "round 0: %s", serr.msg[0] ? serr.msg : strerror(-r));
		return r;
	}
	/*
	 * Into the slot reserved at MigBegin, while the image is judged and
	 * built and, once the STAGING record is durable, while the
	 * acknowledgement travels: filled before the slot is appended to.
	 */
	s->fill_ticket = migrec_post(s->d, MIGREC_JOB_FILL, &s->rec, NULL, buf, len, s, stage_done);
	rv = judge(s, img, verdict, vmsg, sizeof(vmsg));
	if (!rv)
		live_build(s, img);
	/* Every later round starts from it. */
	r = adopt(s, img, &st, msg, msglen);
	if (!r && rv) {
		r = rv;
		snprintf(msg, msglen, "%s", vmsg);
	}
	if (r)
		live_drop(s);
	return r;
}

/*
 * Version 2: a round's delta, applied to the live staging VM too (from
 * base, the staging image's digest before the round), and appended to the
 * slot.  A delta the VM cannot take in place (a memslot replaced) or that
 * it refuses rebuilds it from the new staging image.
 */
static int live_round(struct mig_in *s, const uint8_t base[MIG_DIGEST_SIZE],
		      const uint8_t *delta, size_t len, char *msg, size_t msglen)
{
	struct gisa_snap_error serr = { { 0 } };
	uint8_t named[MIG_DIGEST_SIZE];
	uint64_t t0;
	int r;

	if (s->l->version < 2)
		return 0;
	r = filled(s, msg, msglen);
	if (!r)
		r = migrec_stage_append(s->d, &s->slot, delta, len, msg, msglen);
	if (r)
		return r;
	/* The source's prediction counts the durable writes apart: the apply alone. */
	t0 = gisad_now_ns();
	if (s->live && gisa_delta_apply_vm(s->live, base, delta, len, named, &serr)) {
		log_debug("incoming VM `%s': round %u rebuilds the live staging VM: %s", s->rec.vm,
			  s->round, serr.msg);
		live_build(s, s->img);
	}
	s->live_ns = gisad_now_ns() - t0;
	return 0;
}

static void round_object(struct mig_in *s, uint8_t *buf, size_t len)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigRoundAck a = GISA__V1__MIG_ROUND_ACK__INIT;
	Gisa__V1__MigVerdict v = GISA__V1__MIG_VERDICT__INIT;
	enum gisa_compat_verdict verdict = GISA_COMPAT_EXACT;
	uint8_t base[MIG_DIGEST_SIZE], *delta = NULL;
	uint64_t t0 = gisad_now_ns();
	size_t delta_len = 0;
	char msg[512] = "";
	int r;

	memcpy(base, s->digest, MIG_DIGEST_SIZE);
	if (s->round == 0) {
		r = round0(s, buf, len, &verdict, msg, sizeof(msg));
	} else {
		r = apply(s, buf, len, &delta, &delta_len, msg, sizeof(msg));
		if (!r)
			r = judge(s, s->img, &verdict, msg, sizeof(msg));
		if (!r)
			r = live_round(s, base, delta, delta_len, msg, sizeof(msg));
	}
	free(delta);
	if (r) {
		discard(s, r, false, "%s", msg);
		return;
	}
	if (s->round < GISAD_MIG_ROUNDS_KEPT)
		s->ms->round_bytes[s->round] = len;
	s->ms->precopy_bytes += len;
	s->ms->rounds = s->round + 1;
	s->job->processed += len;
	v.has_verdict = v.has_profile = v.has_caps = true;
	v.verdict = (Gisa__V1__MigCompatVerdict)verdict;
	v.profile = (uint32_t)s->target.profile;
	v.caps = s->target.caps;
	a.has_round = a.has_state_digest = a.has_chain = a.has_import_ns = true;
	a.round = s->round;
	a.state_digest.data = s->digest;
	a.state_digest.len = MIG_DIGEST_SIZE;
	a.chain.data = s->chain;
	a.chain.len = MIG_DIGEST_SIZE;
	a.verdict = &v;
	a.has_live = a.has_live_ns = s->l->version >= 2;
	a.live = s->live != NULL;
	a.live_ns = s->live_ns;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_ROUND_ACK;
	m.round_ack = &a;
	if (!settled(s))
		return;
	/* With the wait for the queued writes: the source counts it apart from the wire. */
	a.import_ns = gisad_now_ns() - t0;
	s->round++;
	s->st = I_STAGING;
	if (mlink_send(s->l, &m))
		discard(s, -ENOMEM, false, "out of memory sending MigRoundAck");
}

/* ---- version 3: the source's prediction measured again --------------------------- */

static void pong(struct mig_in *s)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigPong p = GISA__V1__MIG_PONG__INIT;

	s->pinged = false;
	p.has_round = p.has_busy_ns = true;
	p.round = s->ping_round;
	p.has_durable_ns = s->ping_probe_ns != 0;
	p.durable_ns = s->ping_probe_ns;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_PONG;
	m.pong = &p;
	p.busy_ns = gisad_now_ns() - s->t_ping;
	if (mlink_send(s->l, &m))
		discard(s, -ENOMEM, false, "out of memory sending MigPong");
}

static void ping_turn(evutil_socket_t fd, short what, void *arg)
{
	struct mig_in *s = arg;

	(void)fd;
	(void)what;
	if (!s->pinged || s->st != I_STAGING || !s->l)
		return;
	if (s->ping_r)
		discard(s, s->ping_r, false, "timing a durable write in the checkpoint's slot: %s",
			s->ping_msg);
	else
		pong(s);
}

static void probed(struct gisad *d, struct dwq_job *dj)
{
	struct mig_in *s = dj->owner;

	(void)d;
	s->ping_r = dj->r;
	s->ping_probe_ns = dj->r ? 0 : ((const struct migrec_job *)dj)->probe_ns;
	snprintf(s->ping_msg, sizeof(s->ping_msg), "%s", dj->msg);
	event_active(s->ping_ev, EV_TIMEOUT, 1);
}

/*
 * The source broke the protocol while staging: MigError -EPROTO saying
 * what it sent (and why that is refused), and the staging discarded.
 */
static void refuse(struct mig_in *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct mig_in *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mlink_error(s->l, -EPROTO, "%s", msg);
	s->l = NULL;
	discard(s, -EPROTO, false, "the source sent %s", msg);
}

/*
 * MigPing: the source's switchover prediction missed the budget on the
 * round trip and the durable write it measured while the connection was
 * set up, and it measures both again before it spends another round.  The
 * write in a tracked switchover's downtime is this side's commit into the
 * slot: the probe times one overwrite there (queued; the answer once it
 * is done, busy_ns saying how long it held the answer).  Round 0's write
 * into the slot comes first: the probe goes after its end.
 */
static void ping_msg(struct mig_in *s, const Gisa__V1__MigPing *p)
{
	char msg[512];
	int r;

	if (s->ping_seen) {
		refuse(s, "a second MigPing (round %u): one per migration", p->round);
		return;
	}
	if (!p->has_round || !s->round || p->round != s->round - 1) {
		refuse(s, "MigPing for round %u: %s", p->round,
		       s->round ? "another round was acknowledged last" :
		       "no round was acknowledged yet");
		return;
	}
	s->ping_seen = true;
	s->t_ping = gisad_now_ns();
	s->ping_round = p->round;
	s->ping_probe_ns = 0;
	s->ping_r = 0;
	s->pinged = true;
	if (p->probe && !s->ping_ev) {
		s->ping_ev = evtimer_new(s->d->base, ping_turn, s);
		if (s->ping_ev && event_priority_set(s->ping_ev, GISAD_PRIO_MIGRATION)) {
			event_free(s->ping_ev);
			s->ping_ev = NULL;
		}
	}
	/* Without its event (out of memory), an answer without the figure. */
	if (!p->probe || !s->ping_ev) {
		pong(s);
		return;
	}
	r = filled(s, msg, sizeof(msg));
	if (r) {
		discard(s, r, false, "%s", msg);
		return;
	}
	/* No whole block of room after the end: nothing to time without growing the slot. */
	if (!migrec_stage_probe_fits(&s->slot)) {
		pong(s);
		return;
	}
	(void)migrec_post(s->d, MIGREC_JOB_PROBE, &s->rec, &s->slot, NULL, 0, s, probed);
}

/* ---- the final delta and the commit ----------------------------------------------- */

static void switchover_msg(struct mig_in *s, const Gisa__V1__MigSwitchover *sw)
{
	static uint8_t unknown[MIG_DIGEST_SIZE];
	const ProtobufCBinaryData none = { MIG_DIGEST_SIZE, unknown };
	char msg[256];
	int r;

	s->tracked = sw->has_tracked && sw->tracked;
	s->digest_in_outcome = s->tracked && sw->has_digest_in_outcome && sw->digest_in_outcome;
	if (sw->round != s->round || s->round == 0 ||
	    (!s->tracked && (!sw->has_target_digest || sw->target_digest.len != MIG_DIGEST_SIZE))) {
		discard(s, -EPROTO, false, "MigSwitchover for round %u (expected %u, after round "
			"0) or without a target digest", sw->round, s->round);
		return;
	}
	if (s->tracked && (s->l->version < 2 || !s->live)) {
		discard(s, -EPROTO, false, "a tracked MigSwitchover, but this destination %s",
			s->l->version < 2 ? "speaks protocol version 1 with the source" :
			"has no live staging VM");
		return;
	}
	/* Tracked: D(I_f) and the target are known once the VM is active. */
	memcpy(s->a_target, s->tracked ? unknown : sw->target_digest.data, MIG_DIGEST_SIZE);
	s->a_raw = sw->raw_bytes;
	r = announce(s, sw->stream, sw->object_bytes, s->tracked ? &none : &sw->state_digest,
		     &sw->chain, msg, sizeof(msg));
	if (r) {
		discard(s, r, false, "%s", msg);
		return;
	}
	s->ms->freeze_ns = sw->freeze_ns;
	s->ms->encode_ns = sw->encode_ns;
	s->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_SWITCHOVER;
	job_changed(s->d, s->job);
	s->st = I_FINAL;
}

/*
 * Build the VM the destination will run from img (the final image, not
 * yet adopted), converted to the target when the profile or capabilities
 * differ: *ret_conv is then the converted image and conv_digest its
 * digest.  Whether the image to run is the source's target is checked
 * once the final image is adopted (target_check).
 */
static int stage_vm(struct mig_in *s, const struct gisa_image *img, struct gisa_vm **ret_vm,
		    struct gisa_image **ret_conv, uint8_t conv_digest[MIG_DIGEST_SIZE], char *msg,
		    size_t msglen)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_image *conv = NULL;
	const struct gisa_image *from = img;
	struct gisa_vm *vm = NULL;
	int r = 0;

	if (img->config.profile != s->target.profile || img->config.caps != s->target.caps) {
		r = gisa_compat_convert(img, &s->target, &conv, NULL);
		if (!r)
			r = gisa_snap_digest(conv, conv_digest);
		if (r) {
			snprintf(msg, msglen, "converting to profile %u caps %#x: %s",
				 (unsigned)s->target.profile, s->target.caps, strerror(-r));
			gisa_image_free(conv);
			return r;
		}
		from = conv;
	}
	r = gisa_image_build_vm(from, s->d->host, &vm, &rerr);
	if (r) {
		snprintf(msg, msglen, "building the staging VM: %s%s%s", rerr.field ? rerr.field : "",
			 rerr.field ? ": " : "", strerror(-r));
		gisa_image_free(conv);
		return r;
	}
	*ret_vm = vm;
	*ret_conv = conv;
	return 0;
}

/* The image to run (converted, or the adopted final image) must be the source's target. */
static int target_check(struct mig_in *s, const struct gisa_image *conv,
			const uint8_t conv_digest[MIG_DIGEST_SIZE], char *msg, size_t msglen)
{
	const uint8_t *digest = conv ? conv_digest : s->digest;

	if (memcmp(digest, s->a_target, MIG_DIGEST_SIZE)) {
		snprintf(msg, msglen, "the image to run differs from the source's target digest");
		return -EBADMSG;
	}
	memcpy(s->rec.active_digest, digest, MIG_DIGEST_SIZE);
	s->rec.has_active_digest = true;
	return 0;
}

/*
 * Apply the final delta, judge and build the staging VM: the final image
 * is adopted, *ret_vm built from it (or from *ret_conv, its conversion),
 * and the image to run is the source's target.  import_ns: the delta
 * applied, the result's state made and its digest checked; verify_ns:
 * judging and building, which overlap the state's making.
 */
static int final_stage(struct mig_in *s, uint8_t *buf, size_t len, struct gisa_vm **ret_vm,
		       struct gisa_image **ret_conv, char *msg, size_t msglen)
{
	struct gisa_snap_error serr = { { 0 } };
	struct image_state fs = { 0 };
	enum gisa_compat_verdict verdict;
	uint8_t named[MIG_DIGEST_SIZE], conv_digest[MIG_DIGEST_SIZE];
	struct gisa_image *img = NULL, *conv = NULL;
	struct gisa_vm *vm = NULL;
	char vmsg[512] = "";
	uint64_t t0 = gisad_now_ns(), t_applied, t_judge, t_verified;
	struct par par;
	int r, rv;

	r = unwrap(s, &buf, &len, msg, msglen);
	if (!r)
		r = gisa_delta_apply_image(s->img, s->state.bytes ? &s->state : NULL, buf, len,
					   &img, named, &serr);
	free(buf);
	t_applied = gisad_now_ns();
	s->ms->import_ns = t_applied - t0;
	if (r) {
		if (!msg[0] || serr.msg[0])
			snprintf(msg, msglen, "round %u: %s", s->round, serr.msg[0] ? serr.msg :
				 strerror(-r));
		return r;
	}
	fs.img = img;
	par_start(&par, mig_par_worth(img), make_image_state, &fs);
	t_judge = gisad_now_ns();
	rv = judge(s, img, &verdict, vmsg, sizeof(vmsg));
	if (!rv)
		rv = stage_vm(s, img, &vm, &conv, conv_digest, vmsg, sizeof(vmsg));
	t_verified = gisad_now_ns();
	par_join(&par);
	s->ms->import_ns = t_applied - t0 + fs.ns;
	s->ms->verify_ns = t_verified - t_judge;
	/* A result that is not the source's image fails first: nothing else about it matters. */
	r = fs.r;
	if (r)
		snprintf(msg, msglen, "round %u: the result's state: %s", s->round, strerror(-r));
	if (!r) {
		r = gisa_delta_check_result(&fs.st, named, &serr);
		if (r)
			snprintf(msg, msglen, "round %u: %s", s->round, serr.msg);
	}
	if (r) {
		gisa_image_free(img);
		gisa_snap_state_release(&fs.st);
	} else {
		r = adopt(s, img, &fs.st, msg, msglen);
	}
	if (!r && rv) {
		snprintf(msg, msglen, "%s", vmsg);
		r = rv;
	}
	if (!r)
		r = target_check(s, conv, conv_digest, msg, msglen);
	if (r) {
		gisa_vm_free(vm);
		gisa_image_free(conv);
		return r;
	}
	*ret_vm = vm;
	*ret_conv = conv;
	return 0;
}

/*
 * The commit: the checkpoint, written durably into its slot (made with
 * round 0: an overwrite and fdatasync), is the point of no return (a
 * snapshot in the slot beside the STAGING record means COMMITTED; the JSON
 * record says so once the answer left, see stage_move).
 */
static int commit(struct mig_in *s, const struct gisa_image *conv,
		  const struct gisa_snap_state *st, char *msg, size_t msglen)
{
	struct migrec done = s->rec;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = mig_encode_checkpoint(conv, st, s->rec.vm, s->rec.uuid, &buf, &len, msg, msglen);

	if (r)
		return r;
	/* The record in the slot, and the one kept once it is durable: COMMITTED. */
	memcpy(done.final_digest, s->digest, MIG_DIGEST_SIZE);
	memcpy(done.chain, s->chain, MIG_DIGEST_SIZE);
	memcpy(done.target_digest, s->a_target, MIG_DIGEST_SIZE);
	done.has_digests = true;
	done.state = MIGREC_COMMITTED;
	done.decided_unix_ns = gisad_unix_ns();
	r = migrec_stage_write(s->d, &done, buf, len, msg, msglen);
	free(buf);
	if (!r)
		s->rec = done;
	return r;
}

static void activate(struct mig_in *s, struct gisa_vm *vm)
{
	struct gisad *d = s->d;
	const struct retired *t = mig_retired_find(d, s->rec.vm);
	struct vmrec *rec = NULL;
	int r;

	/* The VM came back where it had been retired: that listing ends. */
	if (t && memcmp(t->uuid, s->rec.uuid, 16) == 0)
		(void)mig_retired_clear(d, s->rec.vm);
	reserve(s, false);
	r = vmreg_add(d, s->rec.vm, s->rec.uuid, vm, &rec);
	if (r) {
		/* Committed and durable: the next start restores it. */
		log_err("incoming VM `%s' committed but not activated: out of memory (restart "
			"gisad to activate it from its checkpoint)", s->rec.vm);
		gisa_vm_free(vm);
		return;
	}
	rec->last_job = s->job->id;
}

static void answer_committed(struct mig_in *s, uint64_t t_active)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigOutcome oc = GISA__V1__MIG_OUTCOME__INIT;

	oc.has_outcome = oc.has_decided_unix_ns = true;
	oc.has_state_digest = !s->tracked || s->early_digest;
	oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_COMMITTED;
	oc.vm_name = s->rec.vm;
	oc.state_digest.data = s->rec.active_digest;
	oc.state_digest.len = MIG_DIGEST_SIZE;
	oc.decided_unix_ns = s->rec.decided_unix_ns;
	oc.has_recv_ns = oc.has_import_ns = oc.has_verify_ns = oc.has_commit_ns = true;
	oc.recv_ns = s->ms->recv_ns;
	oc.import_ns = s->ms->import_ns;
	oc.verify_ns = s->ms->verify_ns;
	oc.commit_ns = s->ms->commit_ns;
	oc.has_answer_ns = true;
	oc.answer_ns = gisad_now_ns() - t_active;
	s->ms->answer_ns = oc.answer_ns;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_OUTCOME;
	m.outcome = &oc;
	if (mlink_send(s->l, &m))
		log_err("incoming VM `%s' committed; the outcome could not be queued (the source "
			"will ask)", s->rec.vm);
}

/*
 * A tracked final delta (version 2): the chain over its bytes checked, it
 * is applied to the live staging VM, which becomes the VM to run (*ret_vm,
 * still on its own host); *ret_delta keeps the delta (malloc'd) for the
 * commit.  A delta the VM cannot take in place (a memslot replaced) takes
 * the image way instead: applied to the staging image, judged and built
 * like version 1's.  No full-state digest is computed here: they are
 * compared after the activation.
 */
static int final_tracked(struct mig_in *s, uint8_t *buf, size_t len, struct gisa_vm **ret_vm,
			 uint8_t **ret_delta, size_t *ret_len, char *msg, size_t msglen)
{
	struct gisa_snap_error serr = { { 0 } };
	enum gisa_compat_verdict verdict;
	uint8_t od[MIG_DIGEST_SIZE], chain[MIG_DIGEST_SIZE], named[MIG_DIGEST_SIZE];
	uint8_t conv_digest[MIG_DIGEST_SIZE];
	struct gisa_image *img = NULL, *conv = NULL;
	uint64_t t0 = gisad_now_ns(), t_applied;
	int r = unwrap(s, &buf, &len, msg, msglen);

	if (r) {
		free(buf);
		return r;
	}
	r = mig_sha256(buf, len, od);
	if (!r)
		r = gisa_frame_chain_next(s->chain, s->round, od, chain);
	if (!r && memcmp(chain, s->a_chain, MIG_DIGEST_SIZE)) {
		snprintf(msg, msglen, "round %u: the final delta's chain differs from the source's",
			 s->round);
		r = -EBADMSG;
	}
	if (!r)
		r = gisa_delta_apply_vm(s->live, s->digest, buf, len, named, &serr);
	if (r == -EOPNOTSUPP) {
		/* The VM as it was is gone; the image way builds the one to run. */
		s->live = gisa_vm_free(s->live);
		r = gisa_delta_apply_image(s->img, s->state.bytes ? &s->state : NULL, buf, len,
					   &img, named, &serr);
		t_applied = gisad_now_ns();
		s->ms->import_ns = t_applied - t0;
		if (!r)
			r = judge(s, img, &verdict, msg, msglen);
		if (!r)
			r = stage_vm(s, img, ret_vm, &conv, conv_digest, msg, msglen);
		gisa_image_free(img);
		gisa_image_free(conv);
		s->ms->verify_ns = gisad_now_ns() - t_applied;
	} else if (!r) {
		*ret_vm = s->live;
		s->live = NULL;
		s->ms->import_ns = gisad_now_ns() - t0;
	}
	if (r) {
		free(buf);
		if (!msg[0] || serr.msg[0])
			snprintf(msg, msglen, "round %u: %s", s->round, serr.msg[0] ? serr.msg :
				 strerror(-r));
		return r;
	}
	memcpy(s->chain, chain, MIG_DIGEST_SIZE);
	*ret_delta = buf;
	*ret_len = len;
	return 0;
}

/*
 * The tracked commit: the final delta and the COMMITTED record appended
 * to the slot, after round 0's snapshot and the precopy deltas (one
 * durable write); then the VM joins the host it runs on.
 */
static int commit_tracked(struct mig_in *s, const uint8_t *delta, size_t len, char *msg,
			  size_t msglen)
{
	struct migrec done = s->rec;
	int r;

	memset(done.final_digest, 0, MIG_DIGEST_SIZE);
	memset(done.target_digest, 0, MIG_DIGEST_SIZE);
	memcpy(done.chain, s->chain, MIG_DIGEST_SIZE);
	done.has_digests = true;
	done.state = MIGREC_COMMITTED;
	done.decided_unix_ns = gisad_unix_ns();
	r = migrec_stage_final(s->d, &s->slot, &done, delta, len, msg, msglen);
	if (!r)
		s->rec = done;
	return r;
}

static void final_object(struct mig_in *s, uint8_t *buf, size_t len)
{
	struct gisa_image *conv = NULL;
	struct gisa_vm *vm = NULL;
	uint64_t t_end = gisad_now_ns(), t_verified, t_active;
	uint8_t *delta = NULL;
	size_t delta_len = 0;
	char msg[512] = "";
	char hex[65];
	int r;

	s->ms->recv_ns = t_end - s->t_announce;
	s->ms->switchover_bytes = len;
	s->job->processed += len;
	if (s->tracked)
		r = final_tracked(s, buf, len, &vm, &delta, &delta_len, msg, sizeof(msg));
	else
		r = final_stage(s, buf, len, &vm, &conv, msg, sizeof(msg));
	/* The commit goes into the slot: round 0 must be there. */
	if (!r) {
		r = filled(s, msg, sizeof(msg));
		if (r) {
			gisa_vm_free(vm);
			gisa_image_free(conv);
			free(delta);
		}
	}
	if (r) {
		discard(s, r, true, "%s", msg);
		return;
	}
	t_verified = gisad_now_ns();
	if (s->tracked) {
		r = commit_tracked(s, delta, delta_len, msg, sizeof(msg));
		free(delta);
		/* Committed: it cannot fail (same nisc and allocator, live_build). */
		if (!r && gisa_restore_rehost(vm, s->d->host))
			log_err("incoming VM `%s': it cannot join the host", s->rec.vm);
	} else {
		/* Without a conversion the staging image runs: its state is made already. */
		r = commit(s, conv ? conv : s->img, conv ? NULL : &s->state, msg, sizeof(msg));
	}
	gisa_image_free(conv);
	if (r) {
		char why[256];

		gisa_vm_free(vm);
		/*
		 * A failed durable write may leave the checkpoint in its slot (a
		 * failed fdatasync: the blocks may still reach the disk): a snapshot
		 * there means COMMITTED at the next start, so the slot goes before
		 * DISCARDED is answered.  If it cannot, nothing is decided here
		 * now (undecided) and the next start decides from the file.
		 */
		if (migrec_stage_remove(s->d, s->rec.id, why, sizeof(why))) {
			undecided(s, r, msg, why);
			return;
		}
		discard(s, r, true, "%s", msg);
		return;
	}
	/* COMMITTED: the point of no return. */
	activate(s, vm);
	t_active = gisad_now_ns();
	/*
	 * A small VM's digest goes in the answer (3.4, Digests), taken before
	 * anything can change the active VM; the answer waits for it, the
	 * VM does not.
	 */
	if (s->digest_in_outcome && s->img && mig_digest_early(s->img)) {
		s->early_digest = true;
		check_active(s, &s->ckpt_img, &s->ckpt_st);
		s->early_digest = s->rec.has_active_digest;
	}
	migin_remember(s->d, &s->rec);
	s->ms->commit_ns = t_active - t_verified;
	s->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_COMMITTED;
	memcpy(s->ms->dst_digest, s->rec.active_digest, MIG_DIGEST_SIZE);
	s->ms->has_dst_digest = !s->tracked || s->early_digest;
	/*
	 * The checkpoint moves into checkpoints/<vm>/ once the answer left
	 * (on_drained), out of the downtime: the COMMITTED record already
	 * makes a restart move it.
	 */
	s->stage_pending = true;
	answer_committed(s, t_active);
	mig_hex(s->rec.active_digest, MIG_DIGEST_SIZE, hex);
	log_notice("VM `%s' arrived from %s (`%s') and is active: digest %s", s->rec.vm,
		   s->l->addr, s->l->peer.name, s->tracked && !s->early_digest ? "computed next" : hex);
	s->st = I_CONFIRM;
	job_changed(s->d, s->job);
}

/*
 * After a tracked switchover the destination compares: the source's D(I_f)
 * in MigConfirm against the activated VM's digest.  A mismatch cannot be
 * undone: a loud error (the source compares too, with this side's digest).
 */
static void compare_source(struct mig_in *s, const Gisa__V1__MigConfirm *cf)
{
	char a[65], b[65];

	if (!cf->has_state_digest || cf->state_digest.len != MIG_DIGEST_SIZE ||
	    !s->rec.has_active_digest) {
		log_warning("VM `%s': the source's digest %s: not compared", s->rec.vm,
			    s->rec.has_active_digest ? "did not come" : "came, this side's is not "
			    "known");
		s->ms->has_match = false;
		return;
	}
	s->ms->has_match = true;
	s->ms->digests_match = !memcmp(cf->state_digest.data, s->rec.active_digest,
				       MIG_DIGEST_SIZE);
	if (s->ms->digests_match)
		return;
	s->active_mismatch = true;
	mig_hex(cf->state_digest.data, MIG_DIGEST_SIZE, a);
	mig_hex(s->rec.active_digest, MIG_DIGEST_SIZE, b);
	log_err("VM `%s' is active here, but its digest %s differs from the source's %s",
		s->rec.vm, b, a);
}

static void confirm(struct mig_in *s, const Gisa__V1__MigConfirm *cf)
{
	s->ms->send_ns = cf->send_ns;
	s->ms->rtt_ns = cf->rtt_ns;
	s->ms->down_active_ns = cf->downtime_active_ns;
	s->ms->down_informed_ns = cf->downtime_informed_ns;
	if (cf->has_state_digest && cf->state_digest.len == MIG_DIGEST_SIZE) {
		memcpy(s->ms->src_digest, cf->state_digest.data, MIG_DIGEST_SIZE);
		s->ms->has_src_digest = true;
	}
	s->ms->has_match = cf->has_digests_match;
	s->ms->digests_match = cf->digests_match;
	if (cf->has_digests_match && !cf->digests_match)
		log_err("VM `%s': the source reports that the digests differ after the commit",
			s->rec.vm);
	/* Tracked: the digest is computed (and sent) now if it was not yet, then compared. */
	stage_move(s);
	install(s);
	if (s->tracked)
		compare_source(s, cf);
	mlink_close(s->l);
	s->l = NULL;
	if (s->active_mismatch) {
		s->ms->digests_match = false;
		finish(s, -EBADMSG, "committed, but the active VM's digest differs from the "
		       "source's target digest");
	} else if (cf->has_digests_match && !cf->digests_match) {
		finish(s, -EBADMSG, "committed, but the source's digest differs");
	} else {
		finish(s, 0, NULL);
	}
}

/* ---- queries and fetches ----------------------------------------------------------- */

static void query(struct mig_in *s, const Gisa__V1__MigMessage *m)
{
	Gisa__V1__MigMessage out = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigOutcome oc = GISA__V1__MIG_OUTCOME__INIT;
	const struct migrec *r;

	if (!m->has_migration_id || m->migration_id.len != MIG_ID_SIZE) {
		mlink_error(s->l, -EPROTO, "MigQuery without a 16-byte migration id");
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	memcpy(s->l->id, m->migration_id.data, MIG_ID_SIZE);
	s->l->has_id = true;
	oc.has_outcome = true;
	oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_UNKNOWN;
	r = outcome_find(s->d, s->l->id);
	/* A running migration is as private as a decided one: the same peer only. */
	for (const struct mig_in *o = s->d->ins; !r && o; o = o->next)
		if (o->reserved && memcmp(o->rec.id, s->l->id, MIG_ID_SIZE) == 0)
			r = &o->rec;
	if (r && strcmp(r->peer_entry, s->l->peer.matched) != 0) {
		mlink_error(s->l, -EACCES, "that migration ran with another peer (allow-list entry "
			    "`%s', not `%s')", r->peer_entry, s->l->peer.matched);
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	if (r && r->state == MIGREC_COMMITTED) {
		oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_COMMITTED;
		oc.vm_name = (char *)r->vm;
		oc.has_state_digest = r->has_active_digest;
		oc.state_digest.data = (uint8_t *)r->active_digest;
		oc.state_digest.len = MIG_DIGEST_SIZE;
	} else if (r && r->state == MIGREC_DISCARDED) {
		oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_DISCARDED;
		oc.has_error = true;
		oc.error = r->error ? r->error : -ECANCELED;
		oc.message = (char *)r->message;
	} else if (r) {
		oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_IN_PROGRESS;
	}
	if (r && oc.outcome != GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_IN_PROGRESS) {
		oc.has_decided_unix_ns = true;
		oc.decided_unix_ns = r->decided_unix_ns;
	}
	out.body_case = GISA__V1__MIG_MESSAGE__BODY_OUTCOME;
	out.outcome = &oc;
	log_info("migration: %s (`%s') asked for an outcome: %d", s->l->addr, s->l->peer.name,
		 (int)oc.outcome);
	(void)mlink_send(s->l, &out);
	mlink_close(s->l);
	s->l = NULL;
	finish(s, 0, NULL);
}

static void fetch(struct mig_in *s, const Gisa__V1__MigFetch *f)
{
	Gisa__V1__MigMessage out = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigFetchReply fr = GISA__V1__MIG_FETCH_REPLY__INIT;
	struct vmrec *rec = f->vm && name_valid(f->vm) ? vmreg_find(s->d, f->vm) : NULL;
	uint8_t digest[MIG_DIGEST_SIZE];
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[256];
	int r;

	if (!rec) {
		mig_clean_text(f->vm, msg, sizeof(msg));
		mlink_error(s->l, -ENOENT, "no VM named `%s' here", msg);
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	r = store_encode(rec, true, 0, &buf, &len, digest, msg, sizeof(msg));
	if (r) {
		mlink_error(s->l, r, "%s", msg);
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	fr.vm = rec->name;
	fr.has_stream = fr.has_object_bytes = fr.has_state_digest = true;
	fr.stream = mlink_next_stream(s->l);
	fr.object_bytes = len;
	fr.state_digest.data = digest;
	fr.state_digest.len = MIG_DIGEST_SIZE;
	out.body_case = GISA__V1__MIG_MESSAGE__BODY_FETCH_REPLY;
	out.fetch_reply = &fr;
	r = mlink_send_object(s->l, &out, fr.stream, buf, len);
	free(buf);
	log_info("migration: %s (`%s') fetched VM `%s' (%zu bytes)%s", s->l->addr,
		 s->l->peer.name, rec->name, len, r ? ": could not queue it" : "");
	mlink_close(s->l);
	s->l = NULL;
	finish(s, 0, NULL);
}

/* ---- the link ---------------------------------------------------------------------- */

static void on_msg(struct mlink *l, const Gisa__V1__MigMessage *m)
{
	struct mig_in *s = l->owner;
	Gisa__V1__MigMessage__BodyCase b = m->body_case;

	if (b == GISA__V1__MIG_MESSAGE__BODY_ERROR || b == GISA__V1__MIG_MESSAGE__BODY_ABORT) {
		const char *text = b == GISA__V1__MIG_MESSAGE__BODY_ERROR ? m->error->message :
				   m->abort->message;
		char clean[256];

		mig_clean_text(text, clean, sizeof(clean));
		if (b == GISA__V1__MIG_MESSAGE__BODY_ABORT && s->st == I_FINAL) {
			/*
			 * After MigSwitchover the source may not abort: refused, and
			 * decided as if the connection dropped here (the final delta
			 * is incomplete, so discarded).
			 */
			mlink_error(l, -EPROTO, "MigAbort after MigSwitchover is refused: %s", clean);
			s->l = NULL;
			discard(s, -EPROTO, false, "the source sent MigAbort after MigSwitchover "
				"(%s): the final delta is incomplete", clean);
			return;
		}
		mlink_drop(l);
		s->l = NULL;
		if (s->st == I_CONFIRM)
			finish(s, 0, NULL);
		else
			discard(s, b == GISA__V1__MIG_MESSAGE__BODY_ABORT ? -ECANCELED : -EPROTO,
				false, "the source %s: %s", b == GISA__V1__MIG_MESSAGE__BODY_ABORT ?
				"aborted" : "failed", clean);
		return;
	}
	switch (s->st) {
	case I_BEGIN:
		if (b == GISA__V1__MIG_MESSAGE__BODY_BEGIN &&
		    s->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_MIGRATE)
			begin(s, m);
		else if (b == GISA__V1__MIG_MESSAGE__BODY_QUERY &&
			 s->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY)
			query(s, m);
		else if (b == GISA__V1__MIG_MESSAGE__BODY_FETCH &&
			 s->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_FETCH)
			fetch(s, m->fetch);
		else
			break;
		return;
	case I_STAGING:
		/* The source waits for the MigPong: anything else first breaks the protocol. */
		if (s->pinged) {
			refuse(s, "%s (field %d) before the MigPong of round %u",
			       mig_body_name(b), (int)b, s->ping_round);
			return;
		}
		if (b == GISA__V1__MIG_MESSAGE__BODY_ROUND)
			round_msg(s, m->round);
		else if (b == GISA__V1__MIG_MESSAGE__BODY_SWITCHOVER)
			switchover_msg(s, m->switchover);
		else if (b == GISA__V1__MIG_MESSAGE__BODY_PING && s->l->version >= 3)
			ping_msg(s, m->ping);
		else
			break;
		return;
	case I_CONFIRM:
		if (b != GISA__V1__MIG_MESSAGE__BODY_CONFIRM)
			break;
		confirm(s, m->confirm);
		return;
	default:
		break;
	}
	if (s->st == I_CONFIRM) {
		mlink_error(l, -EPROTO, "%s (field %d) unexpected after the commit",
			    mig_body_name(b), (int)b);
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	discard(s, -EPROTO, false, "%s (field %d) unexpected while %s", mig_body_name(b), (int)b,
		in_state_names[s->st]);
}

static void on_object(struct mlink *l, uint8_t *buf, size_t len)
{
	struct mig_in *s = l->owner;

	if (s->st == I_ROUND) {
		round_object(s, buf, len);
	} else if (s->st == I_FINAL) {
		final_object(s, buf, len);
	} else {
		free(buf);
		discard(s, -EPROTO, false, "an object while %s", in_state_names[s->st]);
	}
}

static void on_timeout(struct mlink *l)
{
	struct mig_in *s = l->owner;

	if (s->st == I_CONFIRM) {
		mlink_close(l);
		s->l = NULL;
		finish(s, 0, NULL);
		return;
	}
	discard(s, -ETIMEDOUT, false, "nothing received for %u ms (idle_timeout_ms)", l->wait_ms);
}

static void on_down(struct mlink *l, int err, const char *why)
{
	struct mig_in *s = l->owner;

	s->l = NULL;
	if (s->st == I_CONFIRM || !s->reserved)
		finish(s, 0, NULL);
	else
		discard(s, err, false, "connection lost: %s", why);
}

static void on_drained(struct mlink *l)
{
	stage_move(l->owner);
}

static const struct mlink_ops in_ops = {
	.msg = on_msg,
	.drained = on_drained,
	.object = on_object,
	.timeout = on_timeout,
	.down = on_down,
};

void migin_attach(struct mlink *l, Gisa__V1__MigPurpose purpose)
{
	struct gisad *d = l->d;
	struct mig_in *s;

	if (d->nr_ins >= d->cfg.max_incoming) {
		mlink_error(l, -EUSERS, "this gisad already serves %u incoming migrations, queries "
			    "and fetches (max_incoming_migrations)", d->nr_ins);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		mlink_error(l, -ENOMEM, "out of memory");
		return;
	}
	s->d = d;
	s->l = l;
	s->purpose = purpose;
	s->st = I_BEGIN;
	s->next = d->ins;
	d->ins = s;
	d->nr_ins++;
	mlink_attach(l, &in_ops, s);
	mlink_wait(l, d->cfg.idle_timeout_ms);
}

int migin_abort(struct gisad *d, struct job *j, char *msg, size_t msglen)
{
	struct mig_in *s = j->in;

	if (s->st != I_STAGING && s->st != I_ROUND && s->st != I_BEGIN) {
		snprintf(msg, msglen, "job_abort: job %llu: the final delta of VM `%s' is being "
			 "decided: it cannot be aborted now", (unsigned long long)j->id,
			 s->rec.vm);
		return -EBUSY;
	}
	if (s->l) {
		Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
		Gisa__V1__MigAbort a = GISA__V1__MIG_ABORT__INIT;

		a.has_error = true;
		a.error = -ECANCELED;
		a.message = (char *)"aborted by the destination's operator";
		m.body_case = GISA__V1__MIG_MESSAGE__BODY_ABORT;
		m.abort = &a;
		(void)mlink_send(s->l, &m);
		mlink_close(s->l);
		s->l = NULL;
	}
	discard(s, -ECANCELED, false, "aborted by the operator");
	(void)d;
	return 0;
}

/*
 * A committed slot that a start cannot read, or move into place and
 * remove: the VM is not restored (an older checkpoint of it would run
 * instead, and be overwritten once the move succeeds), and its name is
 * held until a start moves it.
 */
static void hold_arrived(struct gisad *d, const struct migrec *rec, const char *why)
{
	log_err("committed VM `%s': its staged checkpoint cannot be put in place: %s: not "
		"restored, its name held until a start puts it in place", rec->vm, why);
	(void)mig_hold_name(d, rec, MIG_HOLD_ARRIVED);
}

void migin_recover(struct gisad *d, const struct migrec *r)
{
	struct migrec rec = *r, slot = { 0 };
	char msg[PATH_MAX + 256];
	int staged = migrec_stage_written(d, rec.id, &slot, msg, sizeof(msg));

	if (staged < 0 && rec.state == MIGREC_STAGING) {
		/*
		 * Committed or not: only the slot could tell.  Undecided until it
		 * can, the name held: a start that reads a commit there moves it
		 * over whatever holds the name.
		 */
		log_err("incoming migration of VM `%s' is undecided: %s (queries are told it is "
			"not decided yet, and the name stays taken, until gisad restarts and can "
			"read it)", rec.vm, msg);
		hold_undecided(d, &rec);
		return;
	}
	if (rec.state == MIGREC_STAGING && staged && slot.state != MIGREC_COMMITTED) {
		log_err("incoming migration of VM `%s' is undecided: its slot holds a `%s' record "
			"(queries are told it is not decided yet, and the name stays taken, until "
			"a start finds a commit there or no slot)", rec.vm,
			migrec_state_name(slot.state));
		hold_undecided(d, &rec);
		return;
	}
	if (rec.state == MIGREC_STAGING && staged) {
		/* Committed: the slot was durable, with its record; the JSON lagged. */
		rec = slot;
		if (migrec_write(d, &rec, msg, sizeof(msg)))
			log_err("migration record of VM `%s': %s", rec.vm, msg);
	} else if (rec.state == MIGREC_STAGING) {
		rec.state = MIGREC_DISCARDED;
		rec.error = -ECONNRESET;
		snprintf(rec.message, sizeof(rec.message), "the destination restarted before "
			 "the commit");
		rec.decided_unix_ns = gisad_unix_ns();
		if (migrec_write(d, &rec, msg, sizeof(msg)))
			log_err("migration record of VM `%s': %s", rec.vm, msg);
		log_notice("incoming migration of VM `%s' was staging when gisad stopped: "
			   "discarded", rec.vm);
	}
	if (rec.state == MIGREC_COMMITTED && staged) {
		if (staged > 0 && !migrec_stage_commit(d, rec.id, rec.vm, msg, sizeof(msg)))
			log_notice("committed VM `%s': its checkpoint moved into place", rec.vm);
		else
			hold_arrived(d, &rec, msg);
	}
	/* A discarded migration's slot holds nothing to keep. */
	if (rec.state == MIGREC_DISCARDED && migrec_stage_exists(d, rec.id) &&
	    migrec_stage_remove(d, rec.id, msg, sizeof(msg)))
		log_warning("discarded migration of VM `%s': %s", rec.vm, msg);
	/*
	 * The records come oldest first: a listing of this VM as retired here
	 * is older than its return, whose activation ended it (or would have,
	 * had gisad not stopped first).  Left, it would keep the VM that came
	 * back from being restored: active nowhere.
	 */
	if (rec.state == MIGREC_COMMITTED) {
		const struct retired *t = mig_retired_find(d, rec.vm);

		if (t && memcmp(t->uuid, rec.uuid, 16) == 0 && !mig_retired_clear(d, rec.vm))
			log_notice("VM `%s' came back here: no longer listed as migrated", rec.vm);
	}
	migin_remember(d, &rec);
}

void migin_free_all(struct gisad *d)
{
	/* in_free(s) unlinks s from s->d->ins; the analyzer cannot see that s->d is d. */
	while (d->ins) {
		struct mig_in *s = d->ins;

		if (s->job) { /* NOLINT(clang-analyzer-unix.Malloc): see above */
			s->job->in = NULL;
			s->job = NULL;
		}
		in_free(s);
	}
	free(d->outcomes);
	d->outcomes = NULL;
	d->nr_outcomes = 0;
}
