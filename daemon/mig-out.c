/* SPDX-License-Identifier: MIT */
/*
 * The source of a migration (docs/MIGRATION-PROTOCOL.md, sections 6.1, 7
 * and 9), and the client side of outcome queries and remote fetches.
 *
 *   CONNECT --up--> HELLO --MigHello--> READY (MigBegin sent)
 *   READY --MigReady--> PRECOPY: round 0 (FULL), then DELTA rounds,
 *        each sent after the previous one's MigRoundAck
 *   PRECOPY --ack, the estimate misses the budget on the round trip and
 *        the durable write alone (version 3, once)--> MigPing, PRECOPY
 *        --MigPong: both measured again--> decided as on an ack
 *   PRECOPY --ack, the estimate fits the budget or the round limit-->
 *        freeze, final image, IN_DOUBT record, MigSwitchover --> OUTCOME
 *        (version 2, an ack saying `live': the presumed IN_DOUBT record
 *        appended to the slot, SWITCH for the timer's two hops, then the
 *        freeze and the tracked delta instead of the final image, its
 *        frozen state queued for the slot; D(I_f) once COMMITTED is in,
 *        then MigConfirm sent and the destination's digest compared:
 *        from the outcome (a small VM), else in DIGEST from MigDigest)
 *   OUTCOME --COMMITTED--> listed as migrated, MigConfirm, done; the
 *        RETIRED record, queued, may still be written (RETIRING, no job)
 *   OUTCOME --DISCARDED--> resume
 *   OUTCOME --anything else--> DOUBT --backoff--> QUERY --outcome--> ...
 *   CONNECT..PRECOPY --any failure, abort, stall--> resume (job failed)
 *
 * Invariants:
 *  - the VM is frozen (rec->mig FROZEN or IN_DOUBT) from the moment its
 *    final image (or tracked delta) is taken until an outcome or an
 *    operator decides; it is taken in the same loop turn as the freeze,
 *    so nothing the VM accepted can be missing from it;
 *  - the VM's change tracking runs from the image of the last round sent
 *    (o->base) while o->tracking, so a tracked delta starts from it;
 *  - the IN_DOUBT record and the frozen VM's checkpoint are durable before
 *    the first byte of MigSwitchover is queued (a tracked switchover: the
 *    presumed record only, the frozen state is queued right after); until
 *    then every failure unfreezes the VM;
 *  - after MigSwitchover only COMMITTED (retire), DISCARDED (resume) or an
 *    operator's `job resolve' end the doubt; UNKNOWN never does;
 *  - a struct mig_out lives while its job is active (job->out), and after
 *    a COMMITTED job's end until its RETIRED record is durable (RETIRING,
 *    no job); it is on d->outs; its link, when it has one, is owned by it
 *    alone.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>
#include <zstd.h>

#include <gisa/compat.h>
#include <gisa/delta.h>
#include <gisa/image.h>
#include <gisa/state.h>

#include "log.h"
#include "mig.h"
#include "par.h"

/*
 * Outcome queries of an in-doubt source, and writes of a RETIRED record
 * that failed: first retry, and the slowest.
 */
#define QUERY_BACKOFF_MIN_MS 100u
#define QUERY_BACKOFF_MAX_MS 10000u

enum out_state {
	O_CONNECT,
	O_HELLO,
	O_READY,
	O_PRECOPY,
	O_SWITCH,       /* IN_DOUBT presumed: the tracked switchover runs next turn */
	O_OUTCOME,      /* MigSwitchover sent */
	O_DOUBT,        /* no link: a query is scheduled */
	O_QUERY,        /* asking */
	O_RETIRING,     /* the job ended, the RETIRED record is not durable yet */
	O_DIGEST,       /* COMMITTED, tracked, no digest in the outcome: MigDigest awaited */
	O_FETCH,        /* remote fetch: waiting for the reply and object */
	O_DONE,
};

/* For errors: what the source was doing. */
static const char *const out_state_names[] = {
	[O_CONNECT] = "connecting",
	[O_HELLO] = "waiting for MigHello",
	[O_READY] = "waiting for MigReady",
	[O_PRECOPY] = "in precopy",
	[O_SWITCH] = "switching over",
	[O_OUTCOME] = "waiting for the outcome",
	[O_DOUBT] = "in doubt",
	[O_QUERY] = "asking for the outcome",
	[O_RETIRING] = "retiring",
	[O_DIGEST] = "waiting for MigDigest",
	[O_FETCH] = "fetching",
	[O_DONE] = "done",
};

struct mig_out {
	struct mig_out *next;
	struct gisad *d;
	struct job *job;
	struct migstats *ms;
	enum out_state st;
	Gisa__V1__MigPurpose purpose;
	struct mlink *l;
	struct event *retry;
	struct event *switch_ev;        /* O_SWITCH: the turns after the IN_DOUBT record */
	bool switch_now;                /* switch_ev's second hop: freeze */
	uint32_t backoff_ms;

	/* the job's parameters */
	char vm[GISAD_NAME_MAX + 1];
	char uri[MIG_URI_MAX];
	char host[GISAD_LISTEN_MAX], port[8];
	char new_name[GISAD_NAME_MAX + 1];
	uint32_t budget_ms, max_rounds, stall_ms;
	bool allow_lossy, zstd;
	int level;
	int fetch_fd;                   /* FETCH: where the snapshot goes */

	/* the migration */
	struct migrec rec;              /* the source's record */
	enum gisa_profile target_profile;
	uint32_t target_caps;
	enum gisa_compat_verdict accepted;
	struct gisa_image *base;        /* the image of the last round sent */
	struct gisa_snap_state base_state;  /* its state bytes and digest, made once */
	uint8_t base_digest[MIG_DIGEST_SIZE];
	uint8_t chain[MIG_DIGEST_SIZE];
	uint32_t round;                 /* the round sent last */
	uint8_t *round0;                /* round 0's snapshot file until it left (then the slot's) */
	size_t round0_len;
	/* Round 0 made while the connection is set up (prepare), until begin: */
	struct par prep;                /* its encoding, on the worker for a large VM */
	bool prepared;                  /* base is round 0's image; prep not joined yet */
	uint64_t obj_queued;            /* object bytes queued so far */
	bool doubt_pending;             /* the slot holds the frozen VM, the JSON not IN_DOUBT */
	uint8_t *final_raw;             /* a tracked final delta sent, not yet in the slot */
	size_t final_len;
	struct migrec_slot slot;        /* round 0's snapshot, then version 2's deltas */
	bool slot_notes;                /* the presumed IN_DOUBT record is in the slot, so is RETIRED */
	bool retired_in_slot;           /* the RETIRED record is in the slot, the JSON follows */
	bool recording;                 /* COMMITTED: the RETIRED record is not durable yet */
	bool live;                      /* the last ack: the destination's staging VM is live */
	bool tracking;                  /* the VM's change tracking was started for this */
	bool tracked;                   /* the final delta came from the VM's change tracking */
	bool digest_wait;               /* tracked, committed: MigDigest awaited on the link */
	bool match;                     /* COMMITTED: the destination's digest is the target */
	uint64_t last_estimate;

	/* times (CLOCK_MONOTONIC ns) */
	uint64_t t_dial, t_hello, t_first, t_round, t_freeze, t_switch_sent, t_outcome;
	uint64_t t_round_out;           /* the round's object left (the output drained) */
	uint64_t last_round_ns, last_round_bytes, rtt_min;
	uint64_t last_encode_ns;        /* making the last round's object */
	uint64_t durable_ns;            /* one durable write into a slot, timed after its reservation */
	/* durable writes queued (dwq.h) */
	uint64_t io_ticket;             /* the last one queued for this migration */
	int io_r;                       /* the first that failed, -errno, with io_msg */
	bool slot_queued;               /* the slot's reservation was queued */
	bool slot_frozen;               /* the frozen snapshot's write into it began */
	bool stuck;                     /* resumed, its records not removed (stuck()) */
	int stuck_err;                  /* the resume's error and reason, for its retries */
	char stuck_why[512];
	char io_msg[DWQ_MSG_MAX + 64];
	struct event *io_ev;            /* the RETIRED record queued is written: go on */
	uint64_t live_ns;               /* the destination's last round applied to its live VM */
	uint64_t prev_predicted;        /* the last prediction, for convergence */
	uint32_t no_progress;           /* rounds whose prediction did not improve */
	/* Version 3: the prediction's fixed costs measured again (recheck) */
	bool pinging;                   /* MigPing sent, MigPong awaited */
	bool pinged;                    /* once per migration */
	uint64_t t_ping;
	uint64_t ping_estimate, ping_make_ns, ping_import_ns;  /* the prediction's other terms */
};

static struct vmrec *out_vm(struct mig_out *o);

static void out_free(struct mig_out *o)
{
	struct vmrec *rec = o->tracking ? out_vm(o) : NULL;

	if (o->prepared)
		par_join(&o->prep);

	if (rec)
		gisa_track_stop(rec->vm);
	for (struct mig_out **p = &o->d->outs; *p; p = &(*p)->next) {
		if (*p == o) {
			*p = o->next;
			break;
		}
	}
	if (o->l)
		mlink_drop(o->l);
	if (o->retry)
		event_free(o->retry);
	if (o->switch_ev)
		event_free(o->switch_ev);
	if (o->io_ev)
		event_free(o->io_ev);
	/* The queued writes own what they write: they go on, unheard of. */
	dwq_disown(o->d, o);
	free(o->final_raw);
	if (o->fetch_fd >= 0)
		close(o->fetch_fd);
	if (o->job)
		o->job->out = NULL;
	gisa_image_free(o->base);
	gisa_snap_state_release(&o->base_state);
	free(o->round0);
	free(o);
	mig_heap_trim();
}

static struct vmrec *out_vm(struct mig_out *o)
{
	return vmreg_find(o->d, o->vm);
}

static void set_vm_state(struct mig_out *o, Gisa__V1__MigrationState s)
{
	struct vmrec *rec = out_vm(o);

	if (!rec)
		return;
	rec->mig = s;
	snprintf(rec->mig_peer, sizeof(rec->mig_peer), "%s", o->uri);
	/* A retired VM may have waited for this one to leave the alert list. */
	vmreg_gone_retry(o->d);
}

static void phase(struct mig_out *o, Gisa__V1__MigrationPhase p)
{
	o->ms->phase = p;
	job_changed(o->d, o->job);
}

static void progress(struct mig_out *o)
{
	uint64_t unsent = o->l ? mlink_unsent(o->l) : 0;
	uint64_t done = o->obj_queued > unsent ? o->obj_queued - unsent : 0;

	job_progress(o->job, done, o->obj_queued + o->last_estimate);
}

/*
 * The job ends: finished, and the session goes, unless a RETIRED record
 * is still being written (or retried): then it stays, without the job
 * (and its statistics), until the record is durable (retire_rest).
 */
static void out_end(struct mig_out *o, int err, const char *msg)
{
	struct gisad *d = o->d;
	struct job *j = o->job;

	o->st = o->recording ? O_RETIRING : O_DONE;
	o->job = NULL;
	j->out = NULL;
	if (o->t_first && !o->ms->transfer_ns)
		o->ms->transfer_ns = gisad_now_ns() - o->t_first;
	o->ms = NULL;
	job_finish(d, j, err, msg);
	if (!o->recording)
		out_free(o);
}

static void arm_retry(struct mig_out *o);

/*
 * resume() could remove neither the slot, which may hold the frozen
 * snapshot and its IN_DOUBT record, nor the JSON record: a start would
 * bring the VM back in doubt from that snapshot, over whatever it took
 * once it ran again.  So it does not run yet: it stays frozen (listed in
 * doubt, though the migration is decided) and the retry timer calls
 * resume() again, with the queries' backoff, until the removals succeed.
 */
static void stuck(struct mig_out *o, int err, const char *why)
{
	if (o->l) {
		mlink_drop(o->l);
		o->l = NULL;
	}
	if (!o->stuck) {
		o->stuck = true;
		o->stuck_err = err;
		snprintf(o->stuck_why, sizeof(o->stuck_why), "%s", why);
		snprintf(o->job->errmsg, sizeof(o->job->errmsg), "the migration ended (%.120s), "
			 "but its records cannot be removed: the VM stays frozen until they are",
			 why);
		log_err("migration of VM `%s' to %s ended (%s), but neither its slot nor its "
			"record can be removed (%s): the VM stays frozen, so that no restart brings "
			"it back from its frozen snapshot, and gisad tries again", o->vm, o->uri,
			why, strerror(-err));
		o->backoff_ms = 0;
	}
	o->st = O_DOUBT;
	set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT);
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT);
	arm_retry(o);
}

/* Before MigSwitchover: unfreeze (if frozen), drop the record, fail the job. */
static void resume(struct mig_out *o, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void resume(struct mig_out *o, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->job->op == GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT) {
		/*
		 * The frozen snapshot goes durably before the VM runs again: back
		 * after a crash, it would bring the VM back from this older state
		 * over the checkpoints it takes from now on.
		 */
		if (o->rec.state != MIGREC_NONE || o->slot_queued) {
			char rm[256];
			int e = migrec_stage_remove(o->d, o->rec.id, rm, sizeof(rm)), e2;

			if (e)
				log_warning("migration of VM `%s': its frozen snapshot: %s", o->vm,
					    rm);
			e2 = migrec_remove(o->d, o->rec.id);
			if (e && e2 && o->slot_frozen) {
				stuck(o, e2, msg);
				return;
			}
		}
		set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE);
		o->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_RESUMED;
		log_notice("migration of VM `%s' to %s %s; the VM runs here: %s", o->vm, o->uri,
			   err == -ECANCELED ? "cancelled" : "failed", msg);
	} else {
		log_info("%s: %s", o->uri, msg);
	}
	out_end(o, err, msg);
}

static void schedule_query(struct mig_out *o);

/*
 * This connection failed.  An outcome query tries again later (the doubt
 * stands until an outcome or an operator decides); anything else before
 * the switchover ends the job with the VM running here.
 */
static void give_up(struct mig_out *o, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void give_up(struct mig_out *o, int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o->purpose != GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY) {
		resume(o, err, "%s", msg);
		return;
	}
	if (o->l) {
		mlink_drop(o->l);
		o->l = NULL;
	}
	log_info("migration of VM `%s': outcome query to %s: %s; asking again later", o->vm,
		 o->uri, msg);
	schedule_query(o);
}

/* ---- the link -------------------------------------------------------------- */

static void send_hello(struct mig_out *o)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigHello h = GISA__V1__MIG_HELLO__INIT;
	Gisa__V1__MigPeer p = GISA__V1__MIG_PEER__INIT;
	Gisa__V1__MigLimits lim = GISA__V1__MIG_LIMITS__INIT;
	char hostname[256] = "?";

	(void)gethostname(hostname, sizeof(hostname) - 1);
	p.daemon = (char *)GISAD_VERSION_STRING;
	p.hostname = hostname;
	p.dialled = o->host;
	lim.has_max_frame = lim.has_max_msg = lim.has_max_object = true;
	lim.max_frame = GISA_FRAME_MAX;
	lim.max_msg = GISA_FRAME_MSG_MAX;
	lim.max_object = GISA_FRAME_OBJECT_MAX;
	h.has_min_version = h.has_max_version = h.has_role = h.has_purpose = true;
	h.min_version = MIG_VERSION_MIN;
	h.max_version = MIG_VERSION_NOW(o->d);
	h.role = GISA__V1__MIG_ROLE__MIG_ROLE_SOURCE;
	h.purpose = o->purpose;
	h.peer = &p;
	h.limits = &lim;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	msg.hello = &h;
	o->t_hello = gisad_now_ns();
	if (mlink_send(o->l, &msg))
		give_up(o, -ENOMEM, "out of memory sending the hello");
}

static void on_up(struct mlink *l)
{
	struct mig_out *o = l->owner;

	snprintf(o->ms->peer_identity, sizeof(o->ms->peer_identity), "%s (%s, allow-list `%s')",
		 l->peer.name, l->peer.fingerprint, l->peer.matched);
	snprintf(o->rec.peer_name, sizeof(o->rec.peer_name), "%s", l->peer.name);
	snprintf(o->rec.peer_entry, sizeof(o->rec.peer_entry), "%s", l->peer.matched);
	snprintf(o->rec.peer_fp, sizeof(o->rec.peer_fp), "%s", l->peer.fingerprint);
	o->st = O_HELLO;
	mlink_wait(l, o->stall_ms);
	send_hello(o);
}

static void doubt(struct mig_out *o, const char *why);
static void record_doubt_json(struct mig_out *o);

static void digest_done(struct mig_out *o, const Gisa__V1__MigDigest *dg, const char *why);

static void on_down(struct mlink *l, int err, const char *why)
{
	struct mig_out *o = l->owner;

	o->l = NULL;
	if (o->digest_wait) {
		digest_done(o, NULL, why);
		return;
	}
	switch (o->st) {
	case O_OUTCOME:
		doubt(o, why);
		break;
	case O_QUERY:
		log_info("migration of VM `%s': outcome query to %s: %s", o->vm, o->uri, why);
		schedule_query(o);
		break;
	case O_DONE:
	case O_DOUBT:
	case O_RETIRING:
	case O_DIGEST:
		break;
	default:
		give_up(o, err, "connection to %s: %s", o->uri, why);
	}
}

static void on_timeout(struct mlink *l)
{
	struct mig_out *o = l->owner;

	if (o->digest_wait) {
		mlink_drop(l);
		o->l = NULL;
		digest_done(o, NULL, "none within the stall timeout");
		return;
	}
	switch (o->st) {
	case O_OUTCOME:
		mlink_drop(l);
		o->l = NULL;
		doubt(o, "no outcome within the stall timeout");
		break;
	case O_QUERY:
		mlink_drop(l);
		o->l = NULL;
		schedule_query(o);
		break;
	case O_RETIRING:
	case O_DIGEST:
		mlink_drop(l);
		o->l = NULL;
		break;
	default:
		give_up(o, -ETIMEDOUT, "%s did not answer within %u ms (stall timeout)", o->uri,
		       o->stall_ms);
	}
}

static void on_drained(struct mlink *l)
{
	struct mig_out *o = l->owner;

	if (o->st == O_OUTCOME && o->t_switch_sent && !o->ms->send_ns) {
		o->ms->send_ns = gisad_now_ns() - o->t_switch_sent;
	}
	if ((o->st == O_READY || o->st == O_PRECOPY) && !o->t_round_out)
		o->t_round_out = gisad_now_ns();
	if (o->job)
		progress(o);
}

/* ---- verdicts -------------------------------------------------------------- */

static int check_image(struct mig_out *o, const struct gisa_image *img,
		       enum gisa_compat_verdict *ret, char *msg, size_t msglen)
{
	struct gisa_compat_dest dest = { o->target_profile, o->target_caps };
	struct gisa_compat_report rep = { 0 };
	int r = gisa_compat_check(img, &dest, &rep);

	if (r) {
		snprintf(msg, msglen, "compatibility check: %s", strerror(-r));
		return r;
	}
	*ret = rep.verdict;
	if (rep.verdict == GISA_COMPAT_IMPOSSIBLE) {
		snprintf(msg, msglen, "cannot migrate VM `%s' to %s: %s (%s, key %u, value %llu)",
			 o->vm, o->uri, rep.reason ? rep.reason : "impossible",
			 rep.nr_changes ? gisa_compat_kind_name(rep.changes[0].kind) : "?",
			 rep.nr_changes ? rep.changes[0].key : 0,
			 rep.nr_changes ? (unsigned long long)rep.changes[0].value : 0ull);
		r = -EOPNOTSUPP;
	} else if (rep.verdict == GISA_COMPAT_LOSSY && !o->allow_lossy) {
		size_t off = (size_t)snprintf(msg, msglen, "migrating VM `%s' to %s would be lossy "
					      "(%zu change%s:", o->vm, o->uri, rep.nr_changes,
					      rep.nr_changes == 1 ? "" : "s");

		for (size_t i = 0; i < rep.nr_changes && i < 4 && off < msglen; i++)
			off += (size_t)snprintf(msg + off, msglen - off, "%s %s in %s, key %u",
						i ? ";" : "",
						gisa_compat_kind_name(rep.changes[i].kind),
						rep.changes[i].section, rep.changes[i].key);
		if (off < msglen)
			snprintf(msg + off, msglen - off, "%s): retry with --allow-lossy to accept",
				 rep.nr_changes > 4 ? "; ..." : "");
		r = -EOPNOTSUPP;
	}
	gisa_compat_report_release(&rep);
	return r;
}

static void verdict_msg(Gisa__V1__MigVerdict *v, enum gisa_compat_verdict verdict,
			enum gisa_profile profile, uint32_t caps, const uint8_t *digest)
{
	v->has_verdict = v->has_profile = v->has_caps = true;
	v->verdict = (Gisa__V1__MigCompatVerdict)verdict;
	v->profile = (uint32_t)profile;
	v->caps = caps;
	if (digest) {
		v->has_state_digest = true;
		v->state_digest.data = (uint8_t *)digest;
		v->state_digest.len = MIG_DIGEST_SIZE;
	}
}

/* ---- setup: begin ------------------------------------------------------------ */

static bool offers(const Gisa__V1__MigHostCaps *hc, uint32_t profile)
{
	for (size_t i = 0; hc && i < hc->n_profiles; i++)
		if (hc->profiles[i] == profile)
			return true;
	return false;
}

static int pick_target(struct mig_out *o, const Gisa__V1__MigHello *h,
		       const struct gisa_image *img, char *msg, size_t msglen)
{
	const Gisa__V1__MigHostCaps *hc = h->host_caps;
	uint32_t dcaps = hc && hc->has_caps ? hc->caps : 0;

	if (!hc || hc->n_profiles == 0 || hc->profiles[0] > GISA_PROFILE_NEWEST) {
		snprintf(msg, msglen, "%s offers no profile this gisad knows", o->uri);
		return -EOPNOTSUPP;
	}
	o->target_profile = offers(hc, img->config.profile) ? img->config.profile :
			    (enum gisa_profile)hc->profiles[0];
	o->target_caps = (img->config.caps & GISA_CAP_AIS & dcaps) | (dcaps & GISA_CAP_GISA);
	return 0;
}

/*
 * Version 2: the image just taken is the base the next delta starts from;
 * the VM's change tracking starts from it too (same loop turn, nothing ran
 * in between), so that the final delta costs what changed since.
 */
static void mark(struct mig_out *o, struct vmrec *rec)
{
	if (o->l->version < 2)
		return;
	gisa_track_start(rec->vm);
	o->tracking = true;
}

/* Round 0's snapshot file, and D(img) from its container (computed once). */
static int encode_full(struct mig_out *o, const struct gisa_image *img, uint8_t **buf,
		       size_t *len, uint8_t digest[MIG_DIGEST_SIZE])
{
	struct gisa_snap_meta meta = {
		.vm_name = o->vm,
		.vm_uuid = o->rec.uuid,
		.created_unix_ns = gisad_unix_ns(),
	};
	struct gisa_snap_opts opts = { .compress = o->zstd, .level = o->level };
	int r;

	/* Its state is kept with the base: round 1's delta starts from it. */
	gisa_snap_state_release(&o->base_state);
	r = gisa_snap_state_make(img, &o->base_state);
	if (!r)
		r = gisa_snap_encode_state(img, &o->base_state, &meta, &opts, buf, len);
	if (!r)
		memcpy(digest, o->base_state.digest, MIG_DIGEST_SIZE);
	return r;
}

/*
 * Round 0 made ahead (prepare): the VM's image and its change tracking
 * from the dial, the encoding on the worker for a large VM while the TLS
 * handshake and the hello go on (par.h: it reads only the image, which
 * is the migration's, and writes only the migration's round 0 fields,
 * which nothing reads before begin joins it).
 */
static void prep_encode(void *arg)
{
	struct mig_out *o = arg;
	uint64_t t0 = gisad_now_ns();

	/* A failure leaves no round 0: begin encodes again, and reports it. */
	(void)encode_full(o, o->base, &o->round0, &o->round0_len, o->base_digest);
	o->last_encode_ns = gisad_now_ns() - t0;
}

/*
 * The migration's id and its PRECOPY record's fields, once (prepare, or
 * begin when prepare could not): the record and the slot are named by it.
 * False: no random bytes.
 */
static bool name_migration(struct mig_out *o)
{
	if (o->rec.state != MIGREC_NONE)
		return true;
	if (RAND_bytes(o->rec.id, MIG_ID_SIZE) != 1)
		return false;
	memcpy(o->ms->id, o->rec.id, MIG_ID_SIZE);
	/* The name asked for; MigReady says which the destination took. */
	snprintf(o->rec.remote_vm, sizeof(o->rec.remote_vm), "%s",
		 o->new_name[0] ? o->new_name : o->vm);
	o->rec.state = MIGREC_PRECOPY;
	o->rec.created_unix_ns = gisad_unix_ns();
	return true;
}

static void reserve_slot(struct mig_out *o, bool copy);

static void prepare(struct mig_out *o)
{
	struct vmrec *rec = out_vm(o);

	/* Without it, begin reads the image itself, and reports what fails. */
	if (!rec || gisa_image_from_vm(rec->vm, &o->base)) {
		o->base = NULL;
		return;
	}
	/* Version 1 does without (begin stops it). */
	gisa_track_start(rec->vm);
	o->tracking = true;
	memcpy(o->rec.uuid, rec->uuid, 16);
	o->prepared = true;
	par_start(&o->prep, mig_par_worth(o->base), prep_encode, o);
	/*
	 * Round 0 made already (a small VM): its slot and the PRECOPY record
	 * are written while the connection is set up, instead of beside the
	 * destination's STAGING write on round 0's way (the same disk on one
	 * host, 2 ms for the two in a timeline).
	 */
	if (!par_posted(&o->prep) && o->round0 && name_migration(o))
		reserve_slot(o, true);
}

/*
 * A precopy write queued (dwq.h) is done: the slot's reservation and the
 * PRECOPY record (with the time of one durable overwrite in the slot: the
 * estimate of each side's write in the downtime).  A failure is taken up when the
 * round is acknowledged (round_ack), before anything depends on them.
 */
static void prep_done(struct gisad *d, struct dwq_job *dj)
{
	struct mig_out *o = dj->owner;
	uint64_t probe_ns;

	(void)d;
	probe_ns = migrec_precopy_done(dj, &o->slot, &o->io_r, o->io_msg, sizeof(o->io_msg),
				       "the PRECOPY record and the frozen snapshot's slot");
	if (probe_ns)
		o->durable_ns = probe_ns;
}

/*
 * The slot of the frozen VM, created durably with round 0's snapshot and
 * room after it, so that a write in the downtime is an overwrite (mig.h),
 * beside the PRECOPY record (one flush of the directory for both):
 * queued while the connection is set up (copy: round 0 is still to be
 * sent), or while MigBegin's answer and round 0 travel (round 0 was
 * copied into the output: the slot takes its bytes).  Out of memory for
 * the copy, the reservation waits for round 0 to leave.
 */
static void reserve_slot(struct mig_out *o, bool copy)
{
	uint8_t *buf = o->round0;

	if (copy) {
		buf = malloc(o->round0_len);
		if (!buf)
			return;
		memcpy(buf, o->round0, o->round0_len);
	} else {
		o->round0 = NULL;
	}
	o->slot_queued = true;
	o->io_ticket = migrec_post(o->d, MIGREC_JOB_RESERVE, &o->rec, NULL, buf, o->round0_len, o,
				   prep_done);
}

/*
 * Precopy's writes queued are durable, and did not fail: before the
 * switchover's estimate (their timing) and anything in the slot.
 */
static bool prep_settled(struct mig_out *o)
{
	dwq_wait(o->d, o->io_ticket);
	dwq_complete(o->d);
	if (!o->io_r)
		return true;
	resume(o, o->io_r, "%s", o->io_msg);
	return false;
}

static int send_round0(struct mig_out *o);

static void begin(struct mig_out *o, const Gisa__V1__MigHello *h)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigBegin b = GISA__V1__MIG_BEGIN__INIT;
	Gisa__V1__MigVerdict v = GISA__V1__MIG_VERDICT__INIT;
	struct vmrec *rec = out_vm(o);
	struct gisa_image *img = NULL;
	char why[512] = "";
	int r;

	if (!rec) {
		resume(o, -ENOENT, "VM `%s' is gone", o->vm);
		return;
	}
	if (o->prepared) {
		par_join(&o->prep);
		o->prepared = false;
		img = o->base;
		o->base = NULL;
		if (o->l->version < 2) {
			gisa_track_stop(rec->vm);
			o->tracking = false;
		}
	} else {
		r = gisa_image_from_vm(rec->vm, &img);
		if (r) {
			resume(o, r, "reading the state of VM `%s': %s", o->vm, strerror(-r));
			return;
		}
		mark(o, rec);
		memcpy(o->rec.uuid, rec->uuid, 16);
	}
	r = pick_target(o, h, img, why, sizeof(why));
	if (!r)
		r = check_image(o, img, &o->accepted, why, sizeof(why));
	if (!r && !o->round0) {
		o->last_encode_ns = gisad_now_ns();
		r = encode_full(o, img, &o->round0, &o->round0_len, o->base_digest);
		o->last_encode_ns = gisad_now_ns() - o->last_encode_ns;
	}
	if (r) {
		gisa_image_free(img);
		if (!why[0])
			snprintf(why, sizeof(why), "encoding round 0: %s", strerror(-r));
		mlink_error(o->l, -ECANCELED, "the source gives up: %s", why);
		o->l = NULL;
		resume(o, r, "%s", r == -EOPNOTSUPP ? why : strerror(-r));
		return;
	}
	o->base = img;
	snprintf(o->ms->verdict, sizeof(o->ms->verdict), "%s",
		 gisa_compat_verdict_name(o->accepted));
	if (!name_migration(o)) {
		resume(o, -EIO, "no random bytes for the migration id");
		return;
	}
	memcpy(o->l->id, o->rec.id, MIG_ID_SIZE);
	o->l->has_id = true;

	verdict_msg(&v, o->accepted, o->target_profile, o->target_caps, o->base_digest);
	b.vm_name = o->vm;
	b.has_vm_uuid = true;
	b.vm_uuid.data = rec->uuid;
	b.vm_uuid.len = 16;
	if (o->new_name[0])
		b.new_name = o->new_name;
	b.has_downtime_budget_ms = b.has_compression = b.has_level = b.has_allow_lossy = true;
	b.downtime_budget_ms = o->budget_ms;
	b.compression = o->zstd ? GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_ZSTD :
			GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_NONE;
	b.level = o->level;
	b.allow_lossy = o->allow_lossy;
	b.has_target_profile = b.has_target_caps = true;
	b.target_profile = (uint32_t)o->target_profile;
	b.target_caps = o->target_caps;
	b.verdict = &v;
	b.has_estimated_bytes = b.has_started_unix_ns = true;
	b.estimated_bytes = o->round0_len;
	b.started_unix_ns = o->job->started_unix_ns;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_BEGIN;
	msg.begin = &b;
	o->st = O_READY;
	o->last_estimate = o->round0_len;
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_SETUP);
	if (mlink_send(o->l, &msg)) {
		resume(o, -ENOMEM, "out of memory sending MigBegin");
		return;
	}
	if (send_round0(o))
		return;
	/*
	 * The slot and the PRECOPY record, unless prepare queued them: once
	 * MigBegin and round 0 are out, since the writer, woken on this CPU,
	 * would otherwise run before they leave (0.7 ms in a timeline).  The
	 * first MigRoundAck is taken up once they are durable (prep_settled).
	 */
	if (o->slot_queued) {
		free(o->round0);
		o->round0 = NULL;
	} else {
		reserve_slot(o, false);
	}
}

static bool hello_ok(struct mig_out *o, const Gisa__V1__MigMessage *m)
{
	const Gisa__V1__MigHello *h = m->hello;
	uint32_t v = m->has_version ? m->version : 0;

	if (!h->has_role || h->role != GISA__V1__MIG_ROLE__MIG_ROLE_DESTINATION) {
		give_up(o, -EPROTO, "%s answered a hello with role %d, not DESTINATION", o->uri,
		       h->has_role ? (int)h->role : 0);
		return false;
	}
	if (v < MIG_VERSION_MIN || v > MIG_VERSION_NOW(o->d) || v < h->min_version ||
	    v > h->max_version) {
		give_up(o, -EPROTONOSUPPORT, "%s chose protocol version %u (it speaks %u..%u, this "
		       "gisad %u..%u)", o->uri, v, h->min_version, h->max_version,
		       MIG_VERSION_MIN, MIG_VERSION_NOW(o->d));
		return false;
	}
	o->l->version = v;
	o->rtt_min = gisad_now_ns() - o->t_hello;
	o->ms->rtt_ns = o->rtt_min;
	return true;
}

/* ---- precopy ---------------------------------------------------------------- */

static int send_round(struct mig_out *o, Gisa__V1__MigObjectKind kind, const uint8_t *obj,
		      size_t len, uint64_t raw, const uint8_t digest[MIG_DIGEST_SIZE])
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigRound rd = GISA__V1__MIG_ROUND__INIT;
	uint32_t stream = mlink_next_stream(o->l);
	int r;

	rd.has_round = rd.has_kind = rd.has_stream = rd.has_object_bytes = true;
	rd.round = o->round;
	rd.kind = kind;
	rd.stream = stream;
	rd.object_bytes = len;
	if (kind == GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA) {
		rd.has_raw_bytes = rd.has_compression = true;
		rd.raw_bytes = raw;
		rd.compression = len != raw || o->zstd ?
				 (o->zstd ? GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_ZSTD :
				  GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_NONE) :
				 GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_NONE;
	}
	rd.has_state_digest = rd.has_chain = true;
	rd.state_digest.data = (uint8_t *)digest;
	rd.state_digest.len = MIG_DIGEST_SIZE;
	rd.chain.data = o->chain;
	rd.chain.len = MIG_DIGEST_SIZE;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ROUND;
	msg.round = &rd;
	r = mlink_send_object(o->l, &msg, stream, obj, len);
	if (!r) {
		o->obj_queued += len;
		o->last_round_bytes = len;
		if (o->round < GISAD_MIG_ROUNDS_KEPT)
			o->ms->round_bytes[o->round] = len;
		o->ms->precopy_bytes += len;
		o->t_round = gisad_now_ns();
		o->t_round_out = 0;
		progress(o);
	}
	return r;
}

/*
 * Round 0 follows MigBegin at once, without waiting for MigReady: the
 * destination takes messages in order, so it has accepted MigBegin before
 * it reads round 0, and one that refuses MigBegin reads what is in flight
 * until this side closes (mlink_error), so that its MigError is not lost
 * to a reset.  The compression is the one MigBegin asks for: the
 * destination accepts it as asked (round 0 is a snapshot file, which
 * names its own).  Nonzero: the job ended.
 */
static int send_round0(struct mig_out *o)
{
	int r = gisa_frame_chain_init(o->rec.id, o->chain);

	if (!r)
		r = gisa_frame_chain_next(o->chain, 0, o->base_digest, o->chain);
	if (r) {
		resume(o, r, "digest chain: %s", strerror(-r));
		return r;
	}
	o->t_first = gisad_now_ns();
	o->ms->setup_ns = o->t_first - o->t_dial;
	o->round = 0;
	r = send_round(o, GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_FULL, o->round0, o->round0_len,
		       o->round0_len, o->base_digest);
	if (r)
		resume(o, r, "sending round 0: %s", strerror(-r));
	return r;
}

/* MigBegin accepted: the precopy goes on (round 0 left with MigBegin). */
static void ready(struct mig_out *o, const Gisa__V1__MigReady *rd)
{
	if (rd->vm_name)
		mig_clean_text(rd->vm_name, o->ms->remote_vm, sizeof(o->ms->remote_vm));
	snprintf(o->rec.remote_vm, sizeof(o->rec.remote_vm), "%s", o->ms->remote_vm);
	o->st = O_PRECOPY;
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_PRECOPY);
}

/*
 * A delta's object: raw itself, or its zstd frame (malloc'd) when the
 * migration compresses.
 */
static int wrap(struct mig_out *o, uint8_t *raw, size_t len, uint8_t **ret_obj,
		size_t *ret_len)
{
	size_t bound, zlen;
	uint8_t *z;

	if (!o->zstd) {
		*ret_obj = raw;
		*ret_len = len;
		return 0;
	}
	bound = ZSTD_compressBound(len);
	z = malloc(bound ? bound : 1);
	if (!z)
		return -ENOMEM;
	zlen = ZSTD_compress(z, bound, raw, len, o->level);
	if (ZSTD_isError(zlen)) {
		free(z);
		return -EIO;
	}
	*ret_obj = z;
	*ret_len = zlen;
	return 0;
}

/*
 * The delta from the last round's image to cur (whose state cst is),
 * maybe compressed; D(cur) is cst's digest.  ret_raw_bytes (may be NULL)
 * keeps the uncompressed delta (malloc'd; the object itself when not
 * compressed).
 */
static int make_delta(struct mig_out *o, const struct gisa_image *cur,
		      const struct gisa_snap_state *cst, uint8_t **ret_obj,
		      size_t *ret_len, size_t *ret_raw, uint8_t **ret_raw_bytes)
{
	uint8_t *raw = NULL;
	size_t len = 0;
	int r = gisa_delta_make_states(o->base, o->base_state.bytes ? &o->base_state : NULL, cur,
				       cst, &raw, &len);

	if (!r)
		r = wrap(o, raw, len, ret_obj, ret_len);
	if (r) {
		free(raw);
		return r;
	}
	*ret_raw = len;
	if (ret_raw_bytes)
		*ret_raw_bytes = raw;
	else if (*ret_obj != raw)
		free(raw);
	return 0;
}

static void switchover(struct mig_out *o, struct gisa_image *img, uint64_t t_image);
static void presume_doubt(struct mig_out *o);

/*
 * Take the VM's image and send it as the next round's delta.  Version 2:
 * the delta goes into the frozen VM's slot too, durably, before it is
 * sent (the slot then stands for the state the destination acknowledges).
 */
static void next_round(struct mig_out *o, struct gisa_image *img)
{
	struct gisa_snap_state cst = { 0 };
	uint8_t *obj = NULL, *rawbuf = NULL;
	size_t len = 0, raw = 0;
	char why[512] = "";
	int r;

	o->last_encode_ns = gisad_now_ns();
	r = gisa_snap_state_make(img, &cst);
	if (!r)
		r = make_delta(o, img, &cst, &obj, &len, &raw, &rawbuf);
	o->last_encode_ns = gisad_now_ns() - o->last_encode_ns;
	if (!r) {
		o->round++;
		r = gisa_frame_chain_next(o->chain, o->round, cst.digest, o->chain);
	}
	if (!r && o->l->version >= 2)
		r = migrec_stage_append(o->d, &o->slot, rawbuf, raw, why, sizeof(why));
	if (!r)
		r = send_round(o, GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA, obj, len, raw,
			       cst.digest);
	if (obj != rawbuf)
		free(obj);
	free(rawbuf);
	if (r) {
		gisa_image_free(img);
		gisa_snap_state_release(&cst);
		resume(o, r, "precopy round %u: %s", o->round, why[0] ? why : strerror(-r));
		return;
	}
	gisa_image_free(o->base);
	o->base = img;
	gisa_snap_state_release(&o->base_state);
	o->base_state = cst;
	memcpy(o->base_digest, cst.digest, MIG_DIGEST_SIZE);
}

/*
 * The switchover's predicted duration: a round trip, making the final
 * delta and applying it, the two durable writes (one per side), and the
 * estimated bytes at the wire rate the last round showed.  Making and
 * applying cost what the last round's did when both walk the whole state
 * (version 1); a tracked delta was just made, and the destination
 * reported what applying the last one to its live VM took.
 */
/*
 * A duration the peer reports, capped: it only feeds estimates and
 * statistics, and an absurd one must not wrap the arithmetic around it.
 */
#define PEER_NS_MAX (3600ull * 1000000000ull)

/* A tracked final delta names no result digest (mig_digest_unknown). */
static const uint8_t unnamed[MIG_DIGEST_SIZE];

static uint64_t peer_ns(uint64_t v)
{
	return v < PEER_NS_MAX ? v : PEER_NS_MAX;
}

static uint64_t predict(const struct mig_out *o, uint64_t import_ns, uint64_t estimate,
			uint64_t make_ns, uint64_t apply_ns, uint64_t *fixed_ns)
{
	uint64_t round_fixed = import_ns + o->rtt_min, wire = 0;

	/* In double: round time times bytes overflows 64 bits for large objects. */
	if (o->last_round_bytes && o->last_round_ns > round_fixed)
		wire = peer_ns((uint64_t)((double)(o->last_round_ns - round_fixed) *
					  (double)estimate / (double)o->last_round_bytes));
	/* A tracked switchover has one durable write in the downtime, the destination's. */
	*fixed_ns = o->rtt_min + (o->live ? 1u : 2u) * o->durable_ns;
	return *fixed_ns + make_ns + apply_ns + wire;
}

/*
 * A round trip sample: elapsed since a message went out, less what the
 * peer says it spent before answering.  The smallest is the estimate.
 * Returns the sample.
 */
static uint64_t rtt_sample(struct mig_out *o, uint64_t elapsed, uint64_t peer_busy)
{
	uint64_t rtt = elapsed > peer_busy ? elapsed - peer_busy : 0;

	if (rtt && rtt < o->rtt_min)
		o->rtt_min = rtt;
	o->ms->rtt_ns = o->rtt_min;
	return rtt;
}

/* The prediction fell by less than a tenth since the last round's. */
static bool stalled(const struct mig_out *o, uint64_t predicted)
{
	return o->round && predicted * 10 >= o->prev_predicted * 9;
}

/* Switch over now?  Fits the budget, the round limit, or no convergence. */
static bool time_to_switch(struct mig_out *o, uint64_t predicted)
{
	bool fits = predicted <= (uint64_t)o->budget_ms * 1000000u;

	if (stalled(o, predicted))
		o->no_progress++;
	else
		o->no_progress = 0;
	o->prev_predicted = predicted;
	if (!fits && o->round + 1 >= o->max_rounds)
		log_info("migration of VM `%s': round limit (%u) reached: switching over with a "
			 "predicted downtime of %.3f ms (budget %u ms)", o->vm, o->max_rounds,
			 (double)predicted / 1e6, o->budget_ms);
	else if (!fits && o->no_progress >= 1)
		log_info("migration of VM `%s': precopy does not converge (predicted downtime "
			 "%.3f ms, budget %u ms): switching over", o->vm, (double)predicted / 1e6,
			 o->budget_ms);
	return fits || o->round + 1 >= o->max_rounds || o->no_progress >= 1;
}

static bool recheck(struct mig_out *o, uint64_t predicted, uint64_t fixed);
static void decide(struct mig_out *o, uint64_t predicted, struct gisa_image *img,
		   uint64_t t_image);

static void round_ack(struct mig_out *o, const Gisa__V1__MigRoundAck *a)
{
	struct vmrec *rec = out_vm(o);
	struct gisa_image *img = NULL;
	uint64_t now = gisad_now_ns(), estimate = 0, predicted, t_image, fixed, make_ns = 0;
	uint64_t import_ns = peer_ns(a->import_ns);
	uint8_t *tracked = NULL;
	size_t tracked_len = 0;
	bool live;
	int r;

	if (!a->has_round || a->round != o->round) {
		mlink_error(o->l, -EPROTO, "MigRoundAck for round %u, round %u was sent",
			    a->round, o->round);
		o->l = NULL;
		resume(o, -EPROTO, "%s acknowledged round %u, not %u", o->uri, a->round, o->round);
		return;
	}
	if (!a->has_state_digest || a->state_digest.len != MIG_DIGEST_SIZE ||
	    memcmp(a->state_digest.data, o->base_digest, MIG_DIGEST_SIZE) || !a->has_chain ||
	    a->chain.len != MIG_DIGEST_SIZE || memcmp(a->chain.data, o->chain, MIG_DIGEST_SIZE)) {
		char theirs[2 * MIG_DIGEST_SIZE + 1] = "absent", mine[2 * MIG_DIGEST_SIZE + 1];

		if (a->has_state_digest && a->state_digest.len == MIG_DIGEST_SIZE)
			mig_hex(a->state_digest.data, MIG_DIGEST_SIZE, theirs);
		else if (a->has_state_digest)
			snprintf(theirs, sizeof(theirs), "%zu bytes", a->state_digest.len);
		mig_hex(o->base_digest, MIG_DIGEST_SIZE, mine);
		mlink_error(o->l, -EBADMSG, "round %u: your digest %s or chain differs from mine %s",
			    o->round, theirs, mine);
		o->l = NULL;
		resume(o, -EBADMSG, "round %u: the destination's image digest %s or chain differs "
		       "from the source's %s", o->round, theirs, mine);
		return;
	}
	if (a->verdict && a->verdict->has_verdict && (int)a->verdict->verdict > (int)o->accepted) {
		mlink_error(o->l, -EOPNOTSUPP, "your verdict is worse than the one accepted");
		o->l = NULL;
		resume(o, -EOPNOTSUPP, "the destination judges round %u %s (accepted: %s)",
		       o->round, a->verdict->verdict == GISA__V1__MIG_COMPAT_VERDICT__MIG_COMPAT_LOSSY ?
		       "lossy" : "impossible", gisa_compat_verdict_name(o->accepted));
		return;
	}
	if (!prep_settled(o))
		return;
	o->ms->rounds = o->round + 1;
	o->last_round_ns = now - o->t_round;
	/* A round trip: from the object's last byte out, not its first (that is the wire). */
	(void)rtt_sample(o, now - (o->t_round_out ? o->t_round_out : o->t_round), import_ns);
	if (!rec) {
		resume(o, -ENOENT, "VM `%s' is gone", o->vm);
		return;
	}
	o->live = a->has_live && a->live && o->l->version >= 2 &&
		  o->base->config.profile == o->target_profile &&
		  o->base->config.caps == o->target_caps;
	o->live_ns = peer_ns(a->live_ns);
	/*
	 * The loop serves nobody from here on: if this delta or image is the
	 * final one, the VM's downtime starts now, not once the decision is
	 * made.
	 */
	t_image = gisad_now_ns();
	if (o->live) {
		/* The tracked delta is the final one's exact size, and cheap to make. */
		r = gisa_delta_make_vm(o->base, &o->base_state, rec->vm, unnamed, &tracked,
				       &tracked_len);
		if (r && r != -ENODATA && r != -ESTALE) {
			resume(o, r, "the tracked delta of VM `%s': %s", o->vm, strerror(-r));
			return;
		}
		/* Tracking lost (the VM was replaced): the image way, below. */
		if (r)
			log_info("migration of VM `%s': change tracking unavailable (%s): the final "
				 "delta will be made from images", o->vm, strerror(-r));
		o->live = r == 0;
	}
	live = o->live;
	if (live) {
		make_ns = gisad_now_ns() - t_image;
		estimate = tracked_len;
		predicted = predict(o, import_ns, estimate, make_ns, o->live_ns, &fixed);
	} else {
		r = gisa_image_from_vm(rec->vm, &img);
		if (!r)
			r = gisa_delta_estimate(o->base, img, &estimate);
		if (r) {
			gisa_image_free(img);
			resume(o, r, "reading the state of VM `%s': %s", o->vm, strerror(-r));
			return;
		}
		mark(o, rec);
		predicted = predict(o, import_ns, estimate, o->last_encode_ns, import_ns, &fixed);
	}
	o->last_estimate = estimate;
	log_debug("migration of VM `%s': round %u acknowledged in %.3f ms; next delta %s %llu "
		  "bytes, predicted downtime %.3f ms (budget %u ms)", o->vm, o->round,
		  (double)o->last_round_ns / 1e6, live ? "of" : "<=",
		  (unsigned long long)estimate, (double)predicted / 1e6, o->budget_ms);
	free(tracked);
	if (live && recheck(o, predicted, fixed)) {
		o->ping_estimate = estimate;
		o->ping_make_ns = make_ns;
		o->ping_import_ns = import_ns;
		return;
	}
	decide(o, predicted, img, t_image);
}

/*
 * Version 3: the prediction missed the budget, but what the next delta
 * costs itself (making, applying, its bytes on the wire) fits it: only
 * the round trip and the durable write stand in the way.  Both were
 * measured while the connection was set up, beside round 0's encoding
 * and both sides' first writes (on two CPUs, up to 1.2 and 3.9 ms where
 * the idle figures are 0.03 and 0.1 ms), and a large VM's round costs
 * over 10 ms: before one is spent on them, both are measured again on
 * the idle link, by a MigPing that the destination answers once it has
 * timed one overwrite in its slot (the write in a tracked switchover's
 * downtime is its commit there).  Once per migration, and only where the
 * round limit or a stalled prediction does not switch over anyway.  True:
 * asked (pong decides).
 */
static bool recheck(struct mig_out *o, uint64_t predicted, uint64_t fixed)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigPing p = GISA__V1__MIG_PING__INIT;
	uint64_t budget = (uint64_t)o->budget_ms * 1000000u;

	if (o->l->version < 3 || o->pinged || predicted <= budget || predicted - fixed > budget ||
	    o->round + 1 >= o->max_rounds || stalled(o, predicted))
		return false;
	p.has_round = p.has_probe = true;
	p.round = o->round;
	p.probe = true;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_PING;
	m.ping = &p;
	o->t_ping = gisad_now_ns();
	/* Out of memory: decided on the figures there are. */
	if (mlink_send(o->l, &m))
		return false;
	o->pinged = o->pinging = true;
	mlink_wait(o->l, o->stall_ms);
	return true;
}

static void pong(struct mig_out *o, const Gisa__V1__MigPong *p)
{
	uint64_t elapsed = gisad_now_ns() - o->t_ping, before = o->rtt_min, rtt, predicted, fixed;
	uint64_t durable = o->durable_ns;

	if (!p->has_round || p->round != o->round) {
		mlink_error(o->l, -EPROTO, "MigPong for round %u, MigPing named round %u", p->round,
			    o->round);
		o->l = NULL;
		resume(o, -EPROTO, "%s answered the MigPing of round %u for round %u", o->uri,
		       o->round, p->round);
		return;
	}
	o->pinging = false;
	rtt = rtt_sample(o, elapsed, peer_ns(p->busy_ns));
	if (p->has_durable_ns && p->durable_ns)
		o->durable_ns = peer_ns(p->durable_ns);
	predicted = predict(o, o->ping_import_ns, o->ping_estimate, o->ping_make_ns, o->live_ns,
			    &fixed);
	log_info("migration of VM `%s': the predicted downtime missed the budget (%u ms) on a "
		 "round trip of %.3f ms and a durable write of %.3f ms; measured again on the "
		 "idle link: %.3f and %.3f ms, predicted downtime %.3f ms", o->vm, o->budget_ms,
		 (double)before / 1e6, (double)durable / 1e6, (double)rtt / 1e6,
		 (double)o->durable_ns / 1e6, (double)predicted / 1e6);
	decide(o, predicted, NULL, 0);
}

/*
 * Switch over (tracked; or the image way, from img taken at t_image, the
 * VM's downtime from then on), or the next round (from img).  Without
 * img, the image is taken now.
 */
static void decide(struct mig_out *o, uint64_t predicted, struct gisa_image *img,
		   uint64_t t_image)
{
	bool now = time_to_switch(o, predicted);
	struct vmrec *rec;
	int r;

	if (now && o->live) {
		presume_doubt(o);
		return;
	}
	if (!img) {
		/* Tracking from this image on, for the round it starts or the switchover. */
		rec = out_vm(o);
		t_image = gisad_now_ns();
		r = rec ? gisa_image_from_vm(rec->vm, &img) : -ENOENT;
		if (r) {
			resume(o, r, "reading the state of VM `%s': %s", o->vm, strerror(-r));
			return;
		}
		mark(o, rec);
	}
	if (now)
		switchover(o, img, t_image);
	else
		next_round(o, img);
}

/* ---- switchover ---------------------------------------------------------------- */

static int target_digest(struct mig_out *o, const struct gisa_image *img,
			 const uint8_t digest[MIG_DIGEST_SIZE], uint8_t out[MIG_DIGEST_SIZE])
{
	struct gisa_compat_dest dest = { o->target_profile, o->target_caps };
	struct gisa_image *conv = NULL;
	int r;

	/* Nothing to convert: the same image. */
	if (img->config.profile == o->target_profile && img->config.caps == o->target_caps) {
		memcpy(out, digest, MIG_DIGEST_SIZE);
		return 0;
	}
	r = gisa_compat_convert(img, &dest, &conv, NULL);
	if (!r)
		r = gisa_snap_digest(conv, out);
	gisa_image_free(conv);
	return r;
}

static int send_switchover(struct mig_out *o, const uint8_t *obj, size_t len, size_t raw,
			   const uint8_t *target, uint64_t encode_ns)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigSwitchover sw = GISA__V1__MIG_SWITCHOVER__INIT;
	Gisa__V1__MigVerdict v = GISA__V1__MIG_VERDICT__INIT;
	uint32_t stream = mlink_next_stream(o->l);

	verdict_msg(&v, o->accepted, o->target_profile, o->target_caps,
		    o->tracked ? NULL : o->rec.final_digest);
	sw.has_round = sw.has_stream = sw.has_object_bytes = sw.has_raw_bytes = true;
	sw.round = o->round;
	sw.stream = stream;
	sw.object_bytes = len;
	sw.raw_bytes = raw;
	sw.has_compression = true;
	sw.compression = o->zstd ? GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_ZSTD :
			 GISA__V1__MIG_COMPRESSION__MIG_COMPRESSION_NONE;
	sw.has_state_digest = sw.has_target_digest = !o->tracked;
	sw.has_chain = true;
	sw.has_tracked = sw.tracked = o->tracked;
	sw.has_digest_in_outcome = sw.digest_in_outcome = o->tracked;
	sw.state_digest.data = o->rec.final_digest;
	sw.state_digest.len = MIG_DIGEST_SIZE;
	sw.chain.data = o->rec.chain;
	sw.chain.len = MIG_DIGEST_SIZE;
	sw.target_digest.data = (uint8_t *)target;
	sw.target_digest.len = MIG_DIGEST_SIZE;
	sw.verdict = &v;
	sw.has_freeze_ns = sw.has_encode_ns = true;
	sw.freeze_ns = o->ms->freeze_ns;
	sw.encode_ns = encode_ns;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_SWITCHOVER;
	msg.switchover = &sw;
	o->t_switch_sent = gisad_now_ns();
	return mlink_send_object(o->l, &msg, stream, obj, len);
}

/*
 * The IN_DOUBT record is durable: MigSwitchover and the final delta's
 * object go.  From its first byte on, only an outcome decides.
 */
static void send_final(struct mig_out *o, const uint8_t *obj, size_t len, size_t raw,
		       const uint8_t *target, uint64_t t_frozen)
{
	int r;

	o->ms->encode_ns = gisad_now_ns() - t_frozen;
	o->ms->switchover_bytes = len;
	o->st = O_OUTCOME;
	r = send_switchover(o, obj, len, raw, target, o->ms->encode_ns);
	o->obj_queued += len;
	o->last_estimate = 0;
	if (r) {
		mlink_drop(o->l);
		o->l = NULL;
		doubt(o, "the final delta could not be queued");
		return;
	}
	mlink_wait(o->l, o->stall_ms);
	log_info("migration of VM `%s' to %s: frozen, %sfinal delta of %zu bytes sent after %u "
		 "precopy round%s", o->vm, o->uri, o->tracked ? "tracked " : "", len, o->round,
		 o->round == 1 ? "" : "s");
}

/*
 * The frozen VM's snapshot, durably, in its slot migrations/<id>.stage
 * (reserved as MigBegin was sent): with the PRECOPY record, a snapshot in the slot
 * is the IN_DOUBT record (one durable write in the downtime, an overwrite
 * and fdatasync; the JSON record says IN_DOUBT only if the doubt outlives
 * the answer, see record_doubt_json).
 */
static int record_doubt(struct mig_out *o, const struct gisa_image *img,
			const struct gisa_snap_state *st, char *msg, size_t msglen)
{
	struct vmrec *rec = out_vm(o);
	struct migrec doubt = o->rec;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r = mig_encode_checkpoint(img, st, o->vm, rec->uuid, &buf, &len, msg, msglen);

	if (r)
		return r;
	/* The record in the slot: IN_DOUBT with the digests, for a restart. */
	doubt.state = MIGREC_IN_DOUBT;
	doubt.presumed = false;
	o->slot_frozen = true;
	r = migrec_stage_write(o->d, &doubt, buf, len, msg, msglen);
	free(buf);
	return r;
}

/*
 * The JSON record catches up with the slot when the outcome does not come
 * with the answer: the slot already stands for it, so the common path
 * (COMMITTED or DISCARDED answered) skips this write, which would block
 * the loop just when the answer arrives.
 */
static void record_doubt_json(struct mig_out *o)
{
	char why[512];

	if (!o->doubt_pending)
		return;
	o->doubt_pending = false;
	o->rec.state = MIGREC_IN_DOUBT;
	if (migrec_write(o->d, &o->rec, why, sizeof(why)))
		log_err("migration of VM `%s': the IN_DOUBT record: %s (the frozen snapshot"
			" in its slot stands for it)", o->vm, why);
}

/*
 * The switchover's steps pair up on two threads for a large VM (par.h):
 * the compatibility check beside the frozen image's state, then the final
 * delta beside the frozen snapshot's durable write.  Each half only reads
 * the image, the state and the job's settings.  For a small VM the
 * worker's half runs first, inline: the delta is made before the slot is
 * written, so a delta that fails leaves nothing to undo.
 */
struct frozen_check {
	struct mig_out *o;
	const struct gisa_image *img;
	enum gisa_compat_verdict verdict;
	char why[512];
	int r;
};

static void frozen_check(void *arg)
{
	struct frozen_check *w = arg;

	w->r = check_image(w->o, w->img, &w->verdict, w->why, sizeof(w->why));
	if (!w->r && w->verdict > w->o->accepted) {
		snprintf(w->why, sizeof(w->why), "the frozen image's verdict is %s, worse than the "
			 "%s accepted", gisa_compat_verdict_name(w->verdict),
			 gisa_compat_verdict_name(w->o->accepted));
		w->r = -EOPNOTSUPP;
	}
}

/* The final delta's half: make_delta reads only the base, its state and the compression. */
struct final_delta {
	struct mig_out *o;
	const struct gisa_image *img;
	const struct gisa_snap_state *st;
	uint8_t *obj;
	size_t len, raw;
	int r;
};

static void frozen_delta(void *arg)
{
	struct final_delta *f = arg;

	f->r = make_delta(f->o, f->img, f->st, &f->obj, &f->len, &f->raw, NULL);
}

static void switchover(struct mig_out *o, struct gisa_image *img, uint64_t t_image)
{
	struct gisa_snap_state cst = { 0 };
	struct frozen_check w = { .o = o, .img = img };
	bool big = mig_par_worth(img);
	uint8_t target[MIG_DIGEST_SIZE];
	uint8_t *obj = NULL;
	size_t len = 0, raw = 0;
	uint64_t t_frozen;
	char why[512];
	struct par par;
	int r, rd = 0;

	/*
	 * T0 is t_image: img was taken in this same loop turn, from then on no
	 * request ran, so it is the frozen VM's image and the downtime counts
	 * from the moment its taking began.  The VM is frozen from here on.
	 */
	o->t_freeze = t_image;
	set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN);
	t_frozen = gisad_now_ns();
	o->ms->freeze_ns = t_frozen - o->t_freeze;
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_SWITCHOVER);
	/* The frozen snapshot is written from the slot's start: RETIRED goes to the JSON. */
	o->slot_notes = false;

	/* The frozen image's state, made once: the delta and the frozen snapshot share it. */
	par_start(&par, big, frozen_check, &w);
	r = gisa_snap_state_make(img, &cst);
	par_join(&par);
	if (w.r) {
		gisa_image_free(img);
		gisa_snap_state_release(&cst);
		mlink_error(o->l, -ECANCELED, "the source gives up: %s", w.why);
		o->l = NULL;
		resume(o, w.r, "%s", w.why);
		return;
	}
	o->round++;
	if (!r) {
		memcpy(o->rec.final_digest, cst.digest, MIG_DIGEST_SIZE);
		r = gisa_frame_chain_next(o->chain, o->round, o->rec.final_digest, o->rec.chain);
	}
	if (!r)
		r = target_digest(o, img, o->rec.final_digest, o->rec.target_digest);
	if (!r) {
		struct final_delta fd = { .o = o, .img = img, .st = &cst };

		o->rec.has_digests = true;
		memcpy(o->ms->src_digest, o->rec.final_digest, MIG_DIGEST_SIZE);
		o->ms->has_src_digest = true;
		/* The IN_DOUBT record needs the digests; the delta does not need the record. */
		par_start(&par, big, frozen_delta, &fd);
		if (par_posted(&par) || !fd.r)
			rd = record_doubt(o, img, &cst, why, sizeof(why));
		par_join(&par);
		r = fd.r;
		obj = fd.obj;
		len = fd.len;
		raw = fd.raw;
		if (!r && !rd) {
			o->doubt_pending = true;
			o->rec.presumed = false;
		}
	}
	gisa_image_free(img);
	gisa_snap_state_release(&cst);
	if (r || rd) {
		free(obj);
		if (rd)
			resume(o, rd, "the IN_DOUBT record: %s", why);
		else
			resume(o, r, "encoding the final delta: %s", strerror(-r));
		return;
	}
	memcpy(target, o->rec.target_digest, MIG_DIGEST_SIZE);
	send_final(o, obj, len, raw, target, t_frozen);
	free(obj);
}

/*
 * Version 2's switchover (docs/MIGRATION-PROTOCOL.md, section 3.4): the
 * final delta comes from the VM's change tracking, so nothing inside the
 * downtime walks the state, and nothing inside it waits for the disk.
 * The IN_DOUBT record is written first, while the VM still runs, as
 * presumed: it names no state, and a restart that finds it (and no frozen
 * state in the slot) brings the VM back in doubt from its last checkpoint.
 * It goes into the slot, after the precopy deltas; the final delta and
 * the frozen record follow it there, then the RETIRED one.
 * The freeze comes in two hops: a timer of the requests' priority, so
 * that the requests which queued behind the write are served, not
 * refused; then, at the migration's priority, the freeze itself: the
 * final delta is made and queued in that one callback, and the link
 * (above control requests, gisad.h) writes it when the loop next turns.
 * The slot gets the final delta right after it is queued (record_frozen),
 * while the destination commits.
 */
static void switch_turn(evutil_socket_t fd, short what, void *arg);
static void record_frozen(struct mig_out *o);

static void presume_doubt(struct mig_out *o)
{
	static const struct timeval now = { 0, 0 };
	char why[512] = "out of memory for a timer";
	int r;

	o->rec.state = MIGREC_IN_DOUBT;
	o->rec.presumed = true;
	/* In the slot after the precopy deltas (mig-rec.c): one overwrite, one fdatasync. */
	if (o->slot.size) {
		r = migrec_stage_note(o->d, &o->slot, &o->rec, why, sizeof(why));
		o->slot_notes = !r;
	} else {
		r = migrec_write(o->d, &o->rec, why, sizeof(why));
	}
	if (!r && !o->switch_ev) {
		o->switch_ev = evtimer_new(o->d->base, switch_turn, o);
		if (!o->switch_ev || event_priority_set(o->switch_ev, GISAD_PRIO_REQUEST))
			r = -ENOMEM;
	}
	if (!r && evtimer_add(o->switch_ev, &now))
		r = -ENOMEM;
	if (r) {
		resume(o, r, "the IN_DOUBT record: %s", why);
		return;
	}
	o->st = O_SWITCH;
}

/*
 * The final delta, hashed into the chain and sent.  The target is the
 * VM's own profile and caps (round_ack checked), so the verdict cannot
 * have changed and nothing is converted; the chain binds the delta's
 * bytes, and the full-state digests are compared once the VM is active at
 * the destination.  Takes raw (kept for the slot).
 */
static void switchover_tracked(struct mig_out *o, uint8_t *raw, size_t len, uint64_t t_image)
{
	uint8_t od[MIG_DIGEST_SIZE], *obj = NULL;
	size_t olen = 0;
	uint64_t t_frozen;
	int r;

	o->t_freeze = t_image;
	set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN);
	t_frozen = gisad_now_ns();
	o->ms->freeze_ns = t_frozen - o->t_freeze;
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_SWITCHOVER);
	o->tracked = true;
	o->round++;
	r = mig_sha256(raw, len, od);
	if (!r)
		r = gisa_frame_chain_next(o->chain, o->round, od, o->rec.chain);
	if (!r)
		r = wrap(o, raw, len, &obj, &olen);
	if (r) {
		free(raw);
		resume(o, r, "the final delta: %s", strerror(-r));
		return;
	}
	/* D(I_f) and the target are computed after the commit (retire). */
	memset(o->rec.final_digest, 0, MIG_DIGEST_SIZE);
	memset(o->rec.target_digest, 0, MIG_DIGEST_SIZE);
	o->rec.has_digests = true;
	o->final_raw = raw;
	o->final_len = len;
	send_final(o, obj, olen, len, NULL, t_frozen);
	if (obj != raw)
		free(obj);
	/* On its way: the slot gets it while the destination commits. */
	if (o->st == O_OUTCOME)
		record_frozen(o);
}

static void switch_turn(evutil_socket_t fd, short what, void *arg)
{
	struct mig_out *o = arg;
	struct vmrec *rec = out_vm(o);
	uint64_t t_image = gisad_now_ns();
	struct gisa_image *img = NULL;
	uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	(void)fd;
	(void)what;
	if (!o->switch_now) {
		o->switch_now = true;
		if (!event_priority_set(o->switch_ev, GISAD_PRIO_MIGRATION)) {
			event_active(o->switch_ev, EV_TIMEOUT, 1);
			return;
		}
	}
	if (!rec) {
		resume(o, -ENOENT, "VM `%s' is gone", o->vm);
		return;
	}
	r = gisa_delta_make_vm(o->base, &o->base_state, rec->vm, unnamed, &raw, &len);
	if (!r) {
		switchover_tracked(o, raw, len, t_image);
		return;
	}
	/* Tracking lost since the last turn (the VM was replaced): the image way. */
	if (r == -ENODATA || r == -ESTALE) {
		log_info("migration of VM `%s': change tracking unavailable (%s): the final delta "
			 "will be made from images", o->vm, strerror(-r));
		o->live = false;
		r = gisa_image_from_vm(rec->vm, &img);
		if (!r) {
			switchover(o, img, t_image);
			return;
		}
	}
	resume(o, r, "the final delta of VM `%s': %s", o->vm, strerror(-r));
}

/* The frozen state's write (queued by record_frozen) is done. */
static void frozen_done(struct gisad *d, struct dwq_job *dj)
{
	struct mig_out *o = dj->owner;

	(void)d;
	if (dj->r) {
		log_warning("migration of VM `%s': its frozen state is not recorded (%s): if gisad "
			    "stops before the outcome is known, the VM comes back in doubt from its "
			    "last checkpoint", o->vm, dj->msg);
		return;
	}
	o->rec.presumed = false;
	o->doubt_pending = true;
}

/*
 * A tracked final delta on its way: the slot gets it after the precopy
 * deltas, with the IN_DOUBT record that stands for the frozen VM, so that
 * a restart before the outcome brings back the frozen state itself.
 */
static void record_frozen(struct mig_out *o)
{
	struct migrec rec = o->rec;

	if (!o->final_raw)
		return;
	rec.state = MIGREC_IN_DOUBT;
	rec.presumed = false;
	o->slot_frozen = true;
	/* Queued: the loop is free for the outcome, which makes the write moot. */
	o->io_ticket = migrec_post(o->d, MIGREC_JOB_FINAL, &rec, &o->slot, o->final_raw,
				   o->final_len, o, frozen_done);
	o->final_raw = NULL;
}

/* ---- outcomes --------------------------------------------------------------------- */

/* The retry timer, after the next step of the backoff. */
static void arm_retry(struct mig_out *o)
{
	struct timeval tv;

	o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : QUERY_BACKOFF_MIN_MS;
	if (o->backoff_ms > QUERY_BACKOFF_MAX_MS)
		o->backoff_ms = QUERY_BACKOFF_MAX_MS;
	tv.tv_sec = o->backoff_ms / 1000u;
	tv.tv_usec = (o->backoff_ms % 1000u) * 1000;
	evtimer_add(o->retry, &tv);
}

/*
 * COMMITTED: the VM is listed as migrated at once (retire_listing) and
 * its job ends once the digests are compared; the RETIRED record follows.
 * The record is queued (dwq.h), before D(I_f) is made when MigDigest is
 * to come and after it when the outcome carried the destination's digest,
 * into the slot after the presumed IN_DOUBT record when that went there
 * (slot_notes; the JSON record follows with the slot's removal), else as
 * the JSON record; the retry writes the JSON record.  Until it is durable
 * the listing says `recording' (its name cannot be freed or taken back),
 * and a gisad that stops finds the VM in doubt at its next start, asks,
 * and retires it then.  One that cannot be written is retried here with
 * the queries' backoff until it is written or gisad stops.
 */
static struct retired *listing(struct mig_out *o)
{
	for (struct retired *t = o->d->retired; t; t = t->next)
		if (memcmp(t->id, o->rec.id, MIG_ID_SIZE) == 0)
			return t;
	return NULL;
}

/* The VM goes, listed as migrated (its record being written). */
static void retire_listing(struct mig_out *o)
{
	struct gisad *d = o->d;
	struct vmrec *rec = out_vm(o);
	struct retired *t;

	if (!rec)
		return;
	t = calloc(1, sizeof(*t));
	if (t) {
		snprintf(t->name, sizeof(t->name), "%s", o->vm);
		memcpy(t->uuid, rec->uuid, 16);
		snprintf(t->to, sizeof(t->to), "%s", o->uri);
		memcpy(t->id, o->rec.id, MIG_ID_SIZE);
		t->recording = true;
		t->next = d->retired;
		d->retired = t;
	} else {
		log_err("out of memory listing VM `%s' as migrated", o->vm);
	}
	/* Freed once the job's answer is out (a large VM takes milliseconds). */
	vmreg_remove_later(d, rec);
	/* Its name may serve another VM once the listing goes: not ours to stop. */
	o->tracking = false;
}

static void retire_failed(struct mig_out *o, const char *why)
{
	if (!o->backoff_ms)
		log_err("migration of VM `%s': the RETIRED record: %s (the VM is active at %s; "
			"retried; were gisad to stop first, its next start finds the VM in doubt "
			"and asks again)", o->vm, why, o->uri);
	arm_retry(o);
}

/*
 * The slot and the VM's current checkpoint removed, queued (after the JSON
 * RETIRED record when the slot's stood for it): nothing waits for it.
 */
static void slot_removed(struct gisad *d, struct dwq_job *dj)
{
	const struct migrec_job *j = (const struct migrec_job *)dj;

	(void)d;
	if (dj->r)
		log_warning("VM `%s' retired; its %s stays: %s", j->rec.vm,
			    j->kind == MIGREC_JOB_RETIRE_WRITE ?
			    "slot (it says RETIRED, for the next start), its JSON record or checkpoint" :
			    "frozen snapshot or current checkpoint", dj->msg);
}

/*
 * The RETIRED record is durable: the JSON record (when the slot's entry
 * stood for it) and the slot's removal are queued, and nothing waits for
 * them; the session goes if its job has ended.
 */
static void retire_rest(struct mig_out *o)
{
	struct retired *t = listing(o);

	if (o->backoff_ms)
		log_notice("migration of VM `%s': the RETIRED record is written", o->vm);
	o->recording = false;
	if (t)
		t->recording = false;
	migin_superseded(o->d, o->vm, "the VM migrated away");
	(void)migrec_post(o->d, o->retired_in_slot ? MIGREC_JOB_RETIRE_WRITE : MIGREC_JOB_RETIRE,
			  &o->rec, NULL, NULL, 0, NULL, slot_removed);
	if (!o->job)
		out_free(o);
}

/* The retry: the JSON record written here, at once. */
static void retire_record(struct mig_out *o)
{
	char why[512];

	o->recording = true;
	o->retired_in_slot = false;
	if (migrec_write(o->d, &o->rec, why, sizeof(why)))
		retire_failed(o, why);
	else
		retire_rest(o);
}

static void retire_turn(evutil_socket_t fd, short what, void *arg)
{
	struct mig_out *o = arg;

	(void)fd;
	(void)what;
	if (o->io_r)
		retire_failed(o, o->io_msg);
	else
		retire_rest(o);
}

static void retire_written(struct gisad *d, struct dwq_job *dj)
{
	struct mig_out *o = dj->owner;

	(void)d;
	o->io_r = dj->r;
	snprintf(o->io_msg, sizeof(o->io_msg), "%s", dj->msg);
	event_active(o->io_ev, EV_TIMEOUT, 1);
}

/* Queue the RETIRED record; retire_turn when it is written. */
static void retire_queue(struct mig_out *o)
{
	o->recording = true;
	if (!o->io_ev) {
		o->io_ev = evtimer_new(o->d->base, retire_turn, o);
		if (o->io_ev && event_priority_set(o->io_ev, GISAD_PRIO_MIGRATION)) {
			event_free(o->io_ev);
			o->io_ev = NULL;
		}
	}
	if (!o->io_ev) {
		retire_record(o);
		return;
	}
	o->io_r = 0;
	/* After the presumed record in the slot: there too (mig-rec.c), the JSON later. */
	o->retired_in_slot = o->slot_notes;
	o->io_ticket = migrec_post(o->d, o->slot_notes ? MIGREC_JOB_NOTE : MIGREC_JOB_WRITE,
				   &o->rec, &o->slot, NULL, 0, o, retire_written);
}

/* Retired: the digests compared (or not known), the job ends. */
static void retired(struct mig_out *o)
{
	char why[512], a[65], b[65];

	mig_hex(o->rec.target_digest, MIG_DIGEST_SIZE, a);
	mig_hex(o->ms->dst_digest, MIG_DIGEST_SIZE, b);
	if (!o->match) {
		log_err("migration of VM `%s' to %s COMMITTED, but the digests differ: expected "
			"%s, the destination's VM has %s", o->vm, o->uri, a,
			o->ms->has_dst_digest ? b : "none");
		snprintf(why, sizeof(why), "committed at %.200s, but the destination's digest %s "
			 "differs from the source's %s", o->uri, o->ms->has_dst_digest ? b : "none",
			 a);
		out_end(o, -EBADMSG, why);
		return;
	}
	log_notice("VM `%s' migrated to %s as `%s': digest %s %s; downtime %.3f ms "
		   "(informed), %u precopy round%s", o->vm, o->uri, o->ms->remote_vm, a,
		   o->ms->has_match ? "on both hosts" : "here, the destination's not known",
		   (double)o->ms->down_informed_ns / 1e6, o->ms->rounds,
		   o->ms->rounds == 1 ? "" : "s");
	out_end(o, 0, NULL);
}

/*
 * After a tracked switchover, D(I_f) is computed once the outcome is in:
 * the frozen VM is still here, unchanged since the freeze.  The target is
 * the same image (no conversion).  Not after a restart that brought the
 * VM back from its last checkpoint (a presumed record): that is not the
 * state that left, and nothing is compared.
 */
static void final_digest(struct mig_out *o)
{
	struct vmrec *rec = out_vm(o);
	struct gisa_image *img = NULL;
	int r;

	if (!mig_digest_unknown(o->rec.final_digest))
		return;
	if (o->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY && o->rec.presumed) {
		log_warning("migration of VM `%s': its frozen state was not recorded before gisad "
			    "restarted: the digests are not compared", o->vm);
		return;
	}
	r = rec ? gisa_image_from_vm(rec->vm, &img) : -ENOENT;
	if (!r)
		r = gisa_snap_digest(img, o->rec.final_digest);
	gisa_image_free(img);
	if (r) {
		memset(o->rec.final_digest, 0, MIG_DIGEST_SIZE);
		log_err("migration of VM `%s': its final digest cannot be computed: %s", o->vm,
			strerror(-r));
		return;
	}
	memcpy(o->rec.target_digest, o->rec.final_digest, MIG_DIGEST_SIZE);
	memcpy(o->ms->src_digest, o->rec.final_digest, MIG_DIGEST_SIZE);
	o->ms->has_src_digest = true;
}

/* The destination's digest of the activated VM: compared with D(I_f). */
static void compare_active(struct mig_out *o, const ProtobufCBinaryData *dg)
{
	memcpy(o->ms->dst_digest, dg->data, MIG_DIGEST_SIZE);
	o->ms->has_dst_digest = true;
	memcpy(o->rec.active_digest, dg->data, MIG_DIGEST_SIZE);
	o->rec.has_active_digest = true;
	o->match = !mig_digest_unknown(o->rec.target_digest) &&
		   memcmp(dg->data, o->rec.target_digest, MIG_DIGEST_SIZE) == 0;
	o->ms->has_match = !mig_digest_unknown(o->rec.target_digest);
	o->ms->digests_match = o->match;
}

/* MigDigest, or the link ended without it: the comparison is done or cannot be. */
static void digest_done(struct mig_out *o, const Gisa__V1__MigDigest *dg, const char *why)
{
	o->digest_wait = false;
	if (dg && dg->has_state_digest && dg->state_digest.len == MIG_DIGEST_SIZE) {
		compare_active(o, &dg->state_digest);
	} else {
		o->match = true;        /* not known: reported, not an error */
		log_warning("migration of VM `%s' to %s: the destination's digest of the active "
			    "VM did not arrive (%s): not compared", o->vm, o->uri,
			    dg ? "MigDigest without a 32-byte digest" : why);
	}
	if (o->l) {
		mlink_close(o->l);
		o->l = NULL;
	}
	if (o->st == O_DIGEST)
		retired(o);
}

/*
 * COMMITTED: the VM retires.  queued: the RETIRED record is written off
 * the loop (an answer on the link): into the slot, while D(I_f) is made
 * and MigDigest travels (or once D(I_f) is made, the destination's digest
 * in the outcome), or as the JSON record once D(I_f) is in it; otherwise
 * at once (an operator's resolution, answered with the job decided).  The
 * VM is listed as migrated once D(I_f) is made, and the job ends with the
 * digests compared (MigDigest after a tracked switchover), the record
 * durable or not.
 */
static void retire(struct mig_out *o, const Gisa__V1__MigOutcome *oc, bool queued)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigConfirm cf = GISA__V1__MIG_CONFIRM__INIT;
	uint64_t now = gisad_now_ns();
	bool match, wait, early;

	/* Decided: the frozen state need not reach the slot any more. */
	free(o->final_raw);
	o->final_raw = NULL;
	o->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_COMMITTED;
	if (o->t_freeze) {
		/*
		 * Active: informed, less the destination's time after it and half
		 * a round trip; never less than the steps measured one after the
		 * other on each side up to the activation, wire excluded.
		 */
		uint64_t after = peer_ns(oc->answer_ns) + o->rtt_min / 2;
		uint64_t steps = o->ms->freeze_ns + o->ms->encode_ns + peer_ns(oc->recv_ns) +
				 peer_ns(oc->import_ns) + peer_ns(oc->verify_ns) +
				 peer_ns(oc->commit_ns);

		o->ms->down_informed_ns = now - o->t_freeze;
		o->ms->down_active_ns = after < o->ms->down_informed_ns ?
					o->ms->down_informed_ns - after : 0;
		if (o->ms->down_active_ns < steps)
			o->ms->down_active_ns = steps < o->ms->down_informed_ns ? steps :
						o->ms->down_informed_ns;
	}
	o->ms->recv_ns = peer_ns(oc->recv_ns);
	o->ms->import_ns = peer_ns(oc->import_ns);
	o->ms->verify_ns = peer_ns(oc->verify_ns);
	o->ms->commit_ns = peer_ns(oc->commit_ns);
	o->ms->answer_ns = peer_ns(oc->answer_ns);
	wait = o->tracked && o->st == O_OUTCOME && o->l && !oc->has_state_digest;
	o->rec.state = MIGREC_RETIRED;
	o->rec.decided_unix_ns = gisad_unix_ns();
	/*
	 * Into the slot at once when MigDigest is still to come: written
	 * while D(I_f) is made here and MigDigest travels, that entry names
	 * no D(I_f) yet; the JSON record that follows it (retire_rest) does.
	 * With the destination's digest in the outcome the job ends in this
	 * turn: the record is queued after D(I_f), whose CPU its thread
	 * would otherwise take.
	 */
	early = queued && o->slot_notes && wait;
	if (early)
		retire_queue(o);
	/*
	 * A tracked switchover's D(I_f) now, out of the downtime; the
	 * destination's digest is in the outcome (a small VM, or a query's
	 * outcome if the destination computed it), else follows in MigDigest
	 * on this link.  The precopy's base is of no more use: its memory
	 * serves the frozen VM's image.
	 */
	o->base = gisa_image_free(o->base);
	gisa_snap_state_release(&o->base_state);
	final_digest(o);
	/* Only an operator's resolution comes without the destination's digest. */
	match = !oc->has_state_digest ||
		(oc->state_digest.len == MIG_DIGEST_SIZE &&
		 memcmp(oc->state_digest.data, o->rec.target_digest, MIG_DIGEST_SIZE) == 0);
	o->ms->has_match = false;
	o->ms->digests_match = false;
	if (oc->has_state_digest && oc->state_digest.len == MIG_DIGEST_SIZE)
		compare_active(o, &oc->state_digest);
	if (oc->vm_name)
		mig_clean_text(oc->vm_name, o->ms->remote_vm, sizeof(o->ms->remote_vm));
	retire_listing(o);

	o->doubt_pending = false;
	o->match = match;
	/* Tracked: the destination compares (and answers MigDigest if it owes one). */
	cf.has_state_digest = !mig_digest_unknown(o->rec.final_digest);
	cf.has_digests_match = !wait;
	cf.state_digest.data = o->rec.final_digest;
	cf.state_digest.len = MIG_DIGEST_SIZE;
	cf.digests_match = match;
	cf.has_freeze_ns = cf.has_encode_ns = cf.has_send_ns = cf.has_rtt_ns = true;
	cf.freeze_ns = o->ms->freeze_ns;
	cf.encode_ns = o->ms->encode_ns;
	cf.send_ns = o->ms->send_ns;
	cf.rtt_ns = o->rtt_min;
	cf.has_downtime_active_ns = cf.has_downtime_informed_ns = true;
	cf.downtime_active_ns = o->ms->down_active_ns;
	cf.downtime_informed_ns = o->ms->down_informed_ns;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_CONFIRM;
	msg.confirm = &cf;
	if (o->l) {
		(void)mlink_send(o->l, &msg);
		o->digest_wait = wait;
		if (wait) {
			mlink_wait(o->l, o->stall_ms);
		} else {
			mlink_close(o->l);
			o->l = NULL;
		}
	}
	o->backoff_ms = 0;
	if (!early && queued)
		retire_queue(o);
	else if (!early)
		retire_record(o);
	if (wait) {
		o->st = O_DIGEST;
		job_changed(o->d, o->job);
		return;
	}
	retired(o);
}

/* DISCARDED: the destination never commits; the VM runs here again. */
static void discarded(struct mig_out *o, const Gisa__V1__MigOutcome *oc)
{
	char text[256];

	mig_clean_text(oc->message, text, sizeof(text));
	if (o->l) {
		mlink_close(o->l);
		o->l = NULL;
	}
	resume(o, oc->error ? oc->error : -ECANCELED, "the destination discarded the "
	       "migration: %s", text[0] ? text : "no reason given");
}

static void outcome(struct mig_out *o, const Gisa__V1__MigOutcome *oc)
{
	switch (oc->outcome) {
	case GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_COMMITTED:
		retire(o, oc, true);
		return;
	case GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_DISCARDED:
		discarded(o, oc);
		return;
	default:
		break;
	}
	if (o->l) {
		mlink_close(o->l);
		o->l = NULL;
	}
	if (oc->outcome == GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_UNKNOWN) {
		char idhex[2 * MIG_ID_SIZE + 1];

		mig_hex(o->rec.id, MIG_ID_SIZE, idhex);
		snprintf(o->job->errmsg, sizeof(o->job->errmsg), "%.100s has no record of migration "
			 "%s: only an operator can decide (gisactl job resolve %llu "
			 "committed|resumed)", o->uri, idhex, (unsigned long long)o->job->id);
	}
	if (o->st == O_OUTCOME)
		doubt(o, "the destination has not decided yet");
	else
		schedule_query(o);
}

/* ---- doubt and queries ------------------------------------------------------------- */

static void dial(struct mig_out *o);

static void doubt(struct mig_out *o, const char *why)
{
	record_frozen(o);
	/* The JSON record follows the slot's: its write done, and heard of. */
	dwq_wait(o->d, o->io_ticket);
	dwq_complete(o->d);
	record_doubt_json(o);
	o->st = O_DOUBT;
	set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT);
	phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT);
	log_warning("migration of VM `%s' to %s is in doubt (%s): the VM stays frozen until the "
		    "destination's outcome is known (gisactl job resolve %llu decides by hand)",
		    o->vm, o->uri, why, (unsigned long long)o->job->id);
	o->backoff_ms = 0;
	schedule_query(o);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct mig_out *o = arg;

	if (o->recording) {
		retire_record(o);
		return;
	}
	if (o->stuck) {
		resume(o, o->stuck_err, "%s", o->stuck_why);
		return;
	}

	o->purpose = GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY;
	o->ms->query_attempts++;
	dial(o);
}

static void schedule_query(struct mig_out *o)
{
	o->st = O_DOUBT;
	arm_retry(o);
}

static void send_query(struct mig_out *o)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigQuery q = GISA__V1__MIG_QUERY__INIT;

	memcpy(o->l->id, o->rec.id, MIG_ID_SIZE);
	o->l->has_id = true;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_QUERY;
	msg.query = &q;
	o->st = O_QUERY;
	if (mlink_send(o->l, &msg)) {
		mlink_drop(o->l);
		o->l = NULL;
		schedule_query(o);
	}
}

/* ---- fetch ------------------------------------------------------------------------- */

static void send_fetch(struct mig_out *o)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigFetch f = GISA__V1__MIG_FETCH__INIT;

	f.vm = o->vm;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_FETCH;
	msg.fetch = &f;
	o->st = O_FETCH;
	if (mlink_send(o->l, &msg))
		resume(o, -ENOMEM, "out of memory sending MigFetch");
}

static void fetch_reply(struct mig_out *o, const Gisa__V1__MigFetchReply *fr)
{
	char why[256];
	int r;

	if (!fr->has_stream || !fr->has_object_bytes ||
	    fr->object_bytes > GISAD_MAX_SNAPSHOT_FILE) {
		resume(o, -EBADMSG, "%s: MigFetchReply without a stream, or of %llu bytes (at "
		       "most %zu)", o->uri, (unsigned long long)fr->object_bytes,
		       (size_t)GISAD_MAX_SNAPSHOT_FILE);
		return;
	}
	r = mlink_expect(o->l, fr->stream, fr->object_bytes, why, sizeof(why));
	if (r) {
		mlink_error(o->l, r, "%s", why);
		o->l = NULL;
		resume(o, r, "%s: %s", o->uri, why);
		return;
	}
	job_progress(o->job, 0, fr->object_bytes);
}

static void on_object(struct mlink *l, uint8_t *buf, size_t len)
{
	struct mig_out *o = l->owner;
	struct gisa_snap_info info;
	struct gisa_snap_error serr;
	char why[256];
	int r;

	if (o->st != O_FETCH) {
		free(buf);
		mlink_error(l, -EPROTO, "an object this source did not ask for");
		o->l = NULL;
		resume(o, -EPROTO, "%s sent an unexpected object", o->uri);
		return;
	}
	r = gisa_snap_info(buf, len, &info, &serr);
	if (r) {
		free(buf);
		resume(o, r, "%s sent a snapshot that does not parse: %s", o->uri, serr.msg);
		return;
	}
	r = store_write_fd(o->fetch_fd, buf, len, why, sizeof(why));
	free(buf);
	mlink_close(l);
	o->l = NULL;
	if (r) {
		resume(o, r, "%s", why);
		return;
	}
	o->job->has_digest = true;
	memcpy(o->job->digest, info.digest, sizeof(info.digest));
	o->job->total = len;
	out_end(o, 0, NULL);
}

/* ---- messages ------------------------------------------------------------------------- */

static void peer_error(struct mig_out *o, const Gisa__V1__MigMessage *m)
{
	char text[256];
	int err = m->error->has_error && m->error->error < 0 ? m->error->error : -EPROTO;

	mig_clean_text(m->error->message, text, sizeof(text));
	mlink_drop(o->l);
	o->l = NULL;
	if (o->st == O_OUTCOME)
		doubt(o, text);
	else if (o->st == O_QUERY)
		schedule_query(o);
	else
		give_up(o, err, "%s refused: %s (%d)", o->uri, text[0] ? text : "no reason", err);
}

static void unexpected(struct mig_out *o, const Gisa__V1__MigMessage *m)
{
	const char *name = mig_body_name(m->body_case);

	mlink_error(o->l, -EPROTO, "%s (field %d) unexpected while the source is %s", name,
		    (int)m->body_case, out_state_names[o->st]);
	o->l = NULL;
	if (o->st == O_OUTCOME)
		doubt(o, "an unexpected message");
	else if (o->st == O_QUERY)
		schedule_query(o);
	else
		give_up(o, -EPROTO, "%s sent %s (field %d) while the source was %s", o->uri, name,
			(int)m->body_case, out_state_names[o->st]);
}

static void on_msg(struct mlink *l, const Gisa__V1__MigMessage *m)
{
	struct mig_out *o = l->owner;

	/* Retired already: only the destination's digest can come now. */
	if (o->digest_wait) {
		if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_DIGEST)
			digest_done(o, m->digest, NULL);
		else
			digest_done(o, NULL, "another message came instead");
		return;
	}
	if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_ERROR) {
		peer_error(o, m);
		return;
	}
	if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_ABORT && o->st < O_OUTCOME) {
		char text[256];

		mig_clean_text(m->abort->message, text, sizeof(text));
		mlink_drop(l);
		o->l = NULL;
		give_up(o, -ECONNABORTED, "%s aborted the migration: %s", o->uri, text);
		return;
	}
	switch (o->st) {
	case O_HELLO:
		if (m->body_case != GISA__V1__MIG_MESSAGE__BODY_HELLO)
			break;
		if (!hello_ok(o, m))
			return;         /* o is gone */
		if (o->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY)
			send_query(o);
		else if (o->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_FETCH)
			send_fetch(o);
		else
			begin(o, m->hello);
		return;
	case O_READY:
		if (m->body_case != GISA__V1__MIG_MESSAGE__BODY_READY)
			break;
		ready(o, m->ready);
		return;
	case O_PRECOPY:
		if (o->pinging && m->body_case == GISA__V1__MIG_MESSAGE__BODY_PONG)
			pong(o, m->pong);
		else if (!o->pinging && m->body_case == GISA__V1__MIG_MESSAGE__BODY_ROUND_ACK)
			round_ack(o, m->round_ack);
		else
			break;
		return;
	case O_OUTCOME:
	case O_QUERY:
		if (m->body_case != GISA__V1__MIG_MESSAGE__BODY_OUTCOME)
			break;
		outcome(o, m->outcome);
		return;
	case O_FETCH:
		if (m->body_case != GISA__V1__MIG_MESSAGE__BODY_FETCH_REPLY)
			break;
		fetch_reply(o, m->fetch_reply);
		return;
	default:
		break;
	}
	/* Only a message no handler took gets here: o is still alive. */
	unexpected(o, m);
}

static const struct mlink_ops out_ops = {
	.up = on_up,
	.msg = on_msg,
	.object = on_object,
	.timeout = on_timeout,
	.drained = on_drained,
	.down = on_down,
};

/* ---- starting ------------------------------------------------------------------------ */

/* The dialling side's TLS context, built on first use (SIGHUP: mig_reload_prepare). */
static int client_ctx(struct gisad *d, char *msg, size_t msglen)
{
	if (d->client_ctx)
		return 0;
	return mig_tls_ctx(&d->cfg, GISA_TLS_CLIENT, &d->client_ctx, NULL, msg, msglen);
}

static void dial(struct mig_out *o)
{
	char why[512];
	int r;

	o->st = O_CONNECT;
	r = client_ctx(o->d, why, sizeof(why));
	if (!r)
		r = mlink_dial(o->d, o->d->client_ctx, o->host, o->port, &out_ops, o, &o->l, why,
			       sizeof(why));
	if (r == 0) {
		o->t_dial = o->t_dial ? o->t_dial : gisad_now_ns();
		return;
	}
	o->l = NULL;
	if (o->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY) {
		log_info("migration of VM `%s': outcome query: %s", o->vm, why);
		schedule_query(o);
	} else {
		resume(o, r, "%s", why);
	}
}

static struct mig_out *out_new(struct gisad *d, Gisa__V1__JobOperation op, const char *vm,
			       const char *uri, char *msg, size_t msglen)
{
	struct mig_out *o = calloc(1, sizeof(*o));

	if (!o) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	o->d = d;
	o->fetch_fd = -1;
	o->retry = evtimer_new(d->base, on_retry, o);
	o->ms = calloc(1, sizeof(*o->ms));
	o->job = o->retry && o->ms ? job_start(d, op, vm, NULL) : NULL;
	if (!o->job) {
		if (o->retry)
			event_free(o->retry);
		free(o->ms);
		free(o);
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	o->job->ms = o->ms;
	o->job->out = o;
	o->job->type = GISA__V1__JOB_TYPE__JOB_TYPE_UNBOUNDED;
	snprintf(o->vm, sizeof(o->vm), "%s", vm);
	snprintf(o->uri, sizeof(o->uri), "%s", uri);
	snprintf(o->ms->peer, sizeof(o->ms->peer), "%s", uri);
	snprintf(o->rec.vm, sizeof(o->rec.vm), "%s", vm);
	snprintf(o->rec.peer, sizeof(o->rec.peer), "%s", uri);
	o->ms->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_CONNECTING;
	o->next = d->outs;
	d->outs = o;
	return o;
}

static Gisa__V1__JobInfo *reply_job(struct request *r, const struct job *j)
{
	Gisa__V1__JobInfo *info = req_alloc(r, sizeof(*info));
	Gisa__V1__MigrationStats *ms = req_alloc(r, sizeof(*ms));

	if (info && ms) {
		job_to_info(j, info, ms);
		REPLY(r, job, JOB, info);
	}
	return info;
}

static int options(struct request *r, const Gisa__V1__Migrate *q, struct mig_out *o)
{
	const struct gisad_config *c = &r->d->cfg;

	o->budget_ms = q->downtime_ms ? q->downtime_ms : c->mig_downtime_ms;
	o->max_rounds = q->max_rounds ? q->max_rounds : c->mig_max_rounds;
	o->stall_ms = q->stall_timeout_ms ? q->stall_timeout_ms : c->mig_stall_ms;
	o->allow_lossy = q->allow_lossy;
	if (q->compression == 0) {
		(void)conf_compression(c->mig_compression, &o->zstd, &o->level);
	} else {
		o->zstd = q->compression == 2;
		o->level = o->zstd ? (q->level ? q->level : GISAD_ZSTD_DEFAULT_LEVEL) : 0;
	}
	if (o->zstd)
		snprintf(o->ms->compression, sizeof(o->ms->compression), "zstd:%d", o->level);
	else
		snprintf(o->ms->compression, sizeof(o->ms->compression), "none");
	o->ms->budget_ms = o->budget_ms;
	if (q->new_name)
		snprintf(o->new_name, sizeof(o->new_name), "%s", q->new_name);
	return 0;
}

static int check_migrate(struct request *r, const Gisa__V1__Migrate *q, char *host,
			 size_t hostlen, char *port, size_t portlen)
{
	int err;

	if (q->compression > 2)
		return req_fail(r, -EINVAL, "migrate: compression %u: expected 0 (gisad.conf's), "
				"1 none or 2 zstd", q->compression);
	if (q->compression == 2 && (q->level < 0 || q->level > GISAD_ZSTD_MAX_LEVEL))
		return req_fail(r, -EINVAL, "migrate: zstd level %d: expected 1 to %d", q->level,
				GISAD_ZSTD_MAX_LEVEL);
	if (q->max_rounds > GISAD_MIG_MAX_ROUNDS)
		return req_fail(r, -EINVAL, "migrate: max_rounds %u: at most %u", q->max_rounds,
				GISAD_MIG_MAX_ROUNDS);
	if (q->stall_timeout_ms && (q->stall_timeout_ms < 100 || q->stall_timeout_ms > 3600000))
		return req_fail(r, -EINVAL, "migrate: stall timeout %u ms: expected 100 to 3600000",
				q->stall_timeout_ms);
	if (q->downtime_ms > 600000)
		return req_fail(r, -EINVAL, "migrate: downtime budget %u ms: at most 600000",
				q->downtime_ms);
	if (q->new_name && !name_valid(q->new_name))
		return req_fail(r, -EINVAL, "migrate: new name `%.80s' is invalid: expected 1 to "
				"%d of [A-Za-z0-9_.-], not starting with `.'", q->new_name,
				GISAD_NAME_MAX);
	err = mig_uri_parse(q->uri, host, hostlen, port, portlen, NULL, 0, r->msg,
			    sizeof(r->msg));
	return err;
}

int verb_migrate(struct request *r)
{
	const Gisa__V1__Migrate *q = r->req->migrate;
	char host[GISAD_LISTEN_MAX], port[8];
	struct vmrec *rec = NULL;
	struct mig_out *o;
	int err = req_vm(r, q->vm, &rec);

	if (!err)
		err = check_migrate(r, q, host, sizeof(host), port, sizeof(port));
	if (err)
		return err;
	if (rec->mig != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE)
		return mig_refuse(r, rec, "migrate");
	err = client_ctx(r->d, r->msg, sizeof(r->msg));
	if (err)
		return err;
	o = out_new(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT, rec->name, q->uri,
		    r->msg, sizeof(r->msg));
	if (!o)
		return -ENOMEM;
	o->purpose = GISA__V1__MIG_PURPOSE__MIG_PURPOSE_MIGRATE;
	snprintf(o->host, sizeof(o->host), "%s", host);
	snprintf(o->port, sizeof(o->port), "%s", port);
	options(r, q, o);
	rec->last_job = o->job->id;
	set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_OUTGOING);
	log_info("job %llu: migrating VM `%s' to %s (downtime budget %u ms, %s, at most %u "
		 "rounds)", (unsigned long long)o->job->id, rec->name, q->uri, o->budget_ms,
		 o->ms->compression, o->max_rounds);
	if (!reply_job(r, o->job))
		err = -ENOMEM;
	/* Setup counts from here: round 0 is made beside the handshake. */
	o->t_dial = gisad_now_ns();
	prepare(o);
	dial(o);       /* a failure ends the job (reported in its status) */
	return err;
}

int verb_remote_fetch(struct request *r)
{
	const Gisa__V1__RemoteFetch *q = r->req->remote_fetch;
	char host[GISAD_LISTEN_MAX], port[8], name[GISAD_NAME_MAX + 1];
	struct mig_out *o;
	int err;

	err = mig_uri_parse(q->uri, host, sizeof(host), port, sizeof(port), name, sizeof(name),
			    r->msg, sizeof(r->msg));
	if (!err)
		err = client_ctx(r->d, r->msg, sizeof(r->msg));
	if (err)
		return err;
	o = out_new(r->d, GISA__V1__JOB_OPERATION__JOB_OPERATION_FETCH, name, q->uri, r->msg,
		    sizeof(r->msg));
	if (!o)
		return -ENOMEM;
	o->purpose = GISA__V1__MIG_PURPOSE__MIG_PURPOSE_FETCH;
	o->stall_ms = r->d->cfg.mig_stall_ms;
	snprintf(o->host, sizeof(o->host), "%s", host);
	snprintf(o->port, sizeof(o->port), "%s", port);
	o->fetch_fd = dup(r->fd);
	if (o->fetch_fd < 0) {
		err = -errno;
		out_end(o, err, "dup of the passed descriptor failed");
		return req_fail(r, err, "remote_fetch: dup: %s", strerror(-err));
	}
	if (!reply_job(r, o->job))
		err = -ENOMEM;
	dial(o);
	return err;
}

/* ---- abort, resolve, recovery --------------------------------------------------------- */

/*
 * The final delta may have left and no outcome is known: waiting for it,
 * between queries, or asking, also while a query's connection is made
 * (CONNECT, HELLO with purpose QUERY).
 */
static bool in_doubt(const struct mig_out *o)
{
	if (o->st == O_OUTCOME || o->st == O_DOUBT || o->st == O_QUERY)
		return true;
	return o->purpose == GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY &&
	       (o->st == O_CONNECT || o->st == O_HELLO);
}

int migout_abort(struct gisad *d, struct job *j, char *msg, size_t msglen)
{
	struct mig_out *o = j->out;

	(void)d;
	if (o->st == O_DIGEST) {
		snprintf(msg, msglen, "job_abort: job %llu: VM `%s' migrated (COMMITTED at %s); "
			 "the digests are being compared", (unsigned long long)j->id, o->vm, o->uri);
		return -EBUSY;
	}
	if (o->stuck) {
		snprintf(msg, msglen, "job_abort: job %llu: the migration of VM `%s' has ended; "
			 "the VM stays frozen only until its records can be removed (see the log)",
			 (unsigned long long)j->id, o->vm);
		return -EBUSY;
	}
	if ((o->st >= O_OUTCOME && o->st != O_FETCH) || in_doubt(o)) {
		snprintf(msg, msglen, "job_abort: job %llu: the final delta of VM `%s' was sent: "
			 "only its outcome (or gisactl job resolve) ends the migration now",
			 (unsigned long long)j->id, o->vm);
		return -EBUSY;
	}
	if (o->l && o->l->up) {
		Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT;
		Gisa__V1__MigAbort a = GISA__V1__MIG_ABORT__INIT;

		a.has_error = true;
		a.error = -ECANCELED;
		a.message = (char *)"aborted by the source's operator";
		m.body_case = GISA__V1__MIG_MESSAGE__BODY_ABORT;
		m.abort = &a;
		(void)mlink_send(o->l, &m);
		mlink_close(o->l);
		o->l = NULL;
	}
	log_info("job %llu: aborted by the operator", (unsigned long long)j->id);
	resume(o, -ECANCELED, "aborted by the operator");
	return 0;
}

int verb_job_resolve(struct request *r)
{
	const Gisa__V1__JobResolve *q = r->req->job_resolve;
	struct job *j = job_find(r->d, q->id);
	struct mig_out *o = j ? j->out : NULL;
	Gisa__V1__MigOutcome oc = GISA__V1__MIG_OUTCOME__INIT;

	if (!j)
		return req_fail(r, -ENOENT, "job_resolve: no job %llu", (unsigned long long)q->id);
	if (!o || j->op != GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT || !in_doubt(o))
		return req_fail(r, -EINVAL, "job_resolve: job %llu (%s of VM `%s') is not an "
				"in-doubt migration", (unsigned long long)j->id,
				job_op_name(j->op), j->vm);
	if (o->stuck)
		return req_fail(r, -EINVAL, "job_resolve: job %llu: the migration of VM `%s' is "
				"decided (%s); the VM stays frozen only until its records can be "
				"removed (see the log)", (unsigned long long)j->id, o->vm,
				o->stuck_why);
	log_notice("job %llu: the operator resolves the migration of VM `%s' as %s",
		   (unsigned long long)j->id, o->vm, q->committed ? "COMMITTED" : "DISCARDED");
	evtimer_del(o->retry);
	if (o->l) {
		mlink_drop(o->l);
		o->l = NULL;
	}
	if (q->committed) {
		oc.outcome = GISA__V1__MIG_OUTCOME_KIND__MIG_OUTCOME_COMMITTED;
		if (o->rec.has_active_digest) {
			oc.has_state_digest = true;
			oc.state_digest.data = o->rec.active_digest;
			oc.state_digest.len = MIG_DIGEST_SIZE;
		}
		oc.vm_name = o->rec.remote_vm[0] ? o->rec.remote_vm : NULL;
		/* The operator checked the destination: no digest to compare. */
		retire(o, &oc, false);
	} else {
		resume(o, -ECANCELED, "resolved by the operator: the VM runs here");
	}
	/* o is gone; the job stays, decided. */
	return reply_job(r, j) ? 0 : -ENOMEM;
}

void migout_recover(struct gisad *d, const struct migrec *rec)
{
	static const uint8_t no_uuid[16];
	char host[GISAD_LISTEN_MAX] = "", port[8] = "", msg[256], a[33], b[33];
	struct vmrec *vr = vmreg_find(d, rec->vm);
	struct mig_out *o;
	bool can_ask = true;

	if (!vr) {
		/* Held, or a VM created under its name would be frozen for it next time. */
		bool missing = !store_checkpoint_exists(d, rec->vm);

		if (missing)
			log_err("migration %s of VM `%s' was in doubt, but the VM has no checkpoint "
				"to come back from: its name stays taken until `gisactl vm destroy "
				"%s' forgets the migration", rec->peer, rec->vm, rec->vm);
		else
			log_err("migration %s of VM `%s' was in doubt, but its checkpoint could not "
				"be restored (see above): its name stays taken until a start restores "
				"it", rec->peer, rec->vm);
		(void)mig_hold_name(d, rec, missing ? MIG_HOLD_MISSING : MIG_HOLD_DOUBT);
		return;
	}
	if (memcmp(rec->uuid, no_uuid, 16) && memcmp(rec->uuid, vr->uuid, 16)) {
		/* Another VM under the name (a checkpoint put there by hand): not this one's. */
		mig_hex(rec->uuid, 16, a);
		mig_hex(vr->uuid, 16, b);
		log_err("migration %s of VM `%s' (UUID %s) was in doubt, but the VM of that name "
			"here has UUID %s: it is left running, and the migration is not pursued",
			rec->peer, rec->vm, a, b);
		return;
	}
	if (mig_uri_parse(rec->peer, host, sizeof(host), port, sizeof(port), NULL, 0, msg,
			  sizeof(msg))) {
		log_err("in-doubt VM `%s': destination `%s' in its record: %s: no query; it stays "
			"frozen until resolved (gisactl job resolve)", rec->vm, rec->peer, msg);
		can_ask = false;
	}
	o = out_new(d, GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT, rec->vm, rec->peer,
		    msg, sizeof(msg));
	if (!o) {
		vr->mig = GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT;
		return;
	}
	o->rec = *rec;
	o->purpose = GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY;
	o->stall_ms = d->cfg.mig_stall_ms;
	snprintf(o->host, sizeof(o->host), "%s", host);
	snprintf(o->port, sizeof(o->port), "%s", port);
	memcpy(o->ms->id, rec->id, MIG_ID_SIZE);
	snprintf(o->ms->remote_vm, sizeof(o->ms->remote_vm), "%s", rec->remote_vm);
	memcpy(o->ms->src_digest, rec->final_digest, MIG_DIGEST_SIZE);
	o->ms->has_src_digest = rec->has_digests && !mig_digest_unknown(rec->final_digest);
	vr->last_job = o->job->id;
	if (can_ask) {
		doubt(o, "gisad restarted");
	} else {
		o->st = O_DOUBT;
		set_vm_state(o, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT);
		phase(o, GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT);
	}
}

bool migout_has_id(const struct gisad *d, const uint8_t id[MIG_ID_SIZE])
{
	/* The id exists once named (name_migration: from the dial, or at MigBegin). */
	for (const struct mig_out *o = d->outs; o; o = o->next)
		if (((o->st >= O_READY && o->st <= O_OUTCOME) || o->rec.state != MIGREC_NONE) &&
		    memcmp(o->rec.id, id, MIG_ID_SIZE) == 0)
			return true;
	return false;
}

void migout_free_all(struct gisad *d)
{
	/* out_free(o) unlinks o from o->d->outs; the analyzer cannot see that o->d is d. */
	while (d->outs) {
		struct mig_out *o = d->outs;

		if (o->job) { /* NOLINT(clang-analyzer-unix.Malloc): see above */
			o->job->out = NULL;
			o->job = NULL;
		}
		out_free(o);
	}
}
