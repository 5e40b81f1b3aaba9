/* SPDX-License-Identifier: MIT */
/*
 * The control verbs: one table row per verb (name, handler, flags, help),
 * the dispatcher, and the helpers handlers share.  Adding a verb = a field
 * in control.proto's Request.verb, a handler, and a row here.
 *
 * A handler returns 0 or a negative errno; on error it has set r->msg
 * (req_fail) to a sentence naming the problem and the offending value.
 * Results are allocated with req_alloc and freed after the reply is sent.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gisad.h"
#include "log.h"

#define M VERB_MUTATES
#define F VERB_FD
#define S VERB_STRUCT
#define V(c) GISA__V1__REQUEST__VERB_##c

static const struct verb verbs[] = {
	{ "ping", V(PING), verb_ping, 0, "liveness, version and limits" },
	{ "vm_create", V(VM_CREATE), verb_vm_create, M, "create a VM" },
	{ "vm_destroy", V(VM_DESTROY), verb_vm_destroy, M | S,
	  "destroy a VM and its current checkpoint" },
	{ "vm_list", V(VM_LIST), verb_vm_list, 0, "list the VMs" },
	{ "vm_info", V(VM_INFO), verb_vm_info, 0, "a VM's configuration, state and digest" },
	{ "vm_digest", V(VM_DIGEST), verb_vm_digest, 0, "a VM's state digest (SHA-256)" },
	{ "flic_create", V(FLIC_CREATE), verb_flic_create, M, "KVM_CREATE_DEVICE(FLIC)" },
	{ "flic_destroy", V(FLIC_DESTROY), verb_flic_destroy, M, "forget the FLIC device" },
	{ "flic_has", V(FLIC_HAS), verb_flic_has, 0, "KVM_HAS_DEVICE_ATTR on the FLIC" },
	{ "flic_get", V(FLIC_GET), verb_flic_get, M,
	  "KVM_GET_DEVICE_ATTR on the FLIC (CLASSIC GET_ALL_IRQS may change state)" },
	{ "flic_set", V(FLIC_SET), verb_flic_set, M, "KVM_SET_DEVICE_ATTR on the FLIC" },
	{ "batch_inject", V(BATCH_INJECT), verb_batch_inject, M,
	  "ENQUEUE an array of raw 72-byte records" },
	{ "interrupt", V(INTERRUPT), verb_interrupt, M, "legacy KVM_S390_INTERRUPT" },
	{ "routes_set", V(ROUTES_SET), verb_routes_set, M, "KVM_SET_GSI_ROUTING" },
	{ "route_trigger", V(ROUTE_TRIGGER), verb_route_trigger, M, "signal a GSI" },
	{ "mem_read", V(MEM_READ), verb_mem_read, 0, "read guest memory" },
	{ "mem_write", V(MEM_WRITE), verb_mem_write, M, "write guest memory" },
	{ "memslot_set", V(MEMSLOT_SET), verb_memslot_set, M,
	  "create, move, resize or delete a memslot" },
	{ "dirty_log", V(DIRTY_LOG), verb_dirty_log, M, "fetch and clear a memslot's dirty log" },
	{ "vcpu_get", V(VCPU_GET), verb_vcpu_get, 0, "a vcpu's state" },
	{ "vcpu_set", V(VCPU_SET), verb_vcpu_set, M, "set a vcpu's PSW mask, CRs, run state" },
	{ "vcpu_run", V(VCPU_RUN), verb_vcpu_run, M, "the vcpu enters SIE" },
	{ "vcpu_wait", V(VCPU_WAIT), verb_vcpu_wait, M, "the vcpu executes an enabled wait" },
	{ "vcpu_deliver", V(VCPU_DELIVER), verb_vcpu_deliver, M,
	  "deliver the highest-priority deliverable interrupt" },
	{ "vcpu_deliverable", V(VCPU_DELIVERABLE), verb_vcpu_deliverable, 0,
	  "the deliverable pending bits" },
	{ "vcpu_tpi", V(VCPU_TPI), verb_vcpu_tpi, M, "TEST PENDING INTERRUPTION" },
	{ "vcpu_tsch", V(VCPU_TSCH), verb_vcpu_tsch, M, "TEST SUBCHANNEL dequeue" },
	{ "gisc_register", V(GISC_REGISTER), verb_gisc_register, M, "kvm_s390_gisc_register" },
	{ "gisc_unregister", V(GISC_UNREGISTER), verb_gisc_unregister, M,
	  "kvm_s390_gisc_unregister" },
	{ "hw_airq", V(HW_AIRQ), verb_hw_airq, M, "a hardware adapter interruption" },
	{ "process_alerts", V(PROCESS_ALERTS), verb_process_alerts, M,
	  "process the host's GIB alert list" },
	{ "timer_fire", V(TIMER_FIRE), verb_timer_fire, M, "fire a VM's GISA kicker timer" },
	{ "events_read", V(EVENTS_READ), verb_events_read, M, "take a VM's kick events" },
	{ "host_info", V(HOST_INFO), verb_host_info, 0, "the host's GIB state" },
	{ "snapshot_export", V(SNAPSHOT_EXPORT), verb_snapshot_export, F,
	  "write a VM's snapshot into the passed fd" },
	{ "snapshot_import", V(SNAPSHOT_IMPORT), verb_snapshot_import, M | F | S,
	  "create (or replace) a VM from the snapshot in the passed fd" },
	{ "checkpoint_create", V(CHECKPOINT_CREATE), verb_checkpoint_create, M,
	  "write a VM's checkpoint (current or a tag)" },
	{ "checkpoint_restore", V(CHECKPOINT_RESTORE), verb_checkpoint_restore, M | S,
	  "restore a VM from its checkpoint (current or a tag)" },
	{ "checkpoint_list", V(CHECKPOINT_LIST), verb_checkpoint_list, 0,
	  "a VM's checkpoints" },
	{ "checkpoint_delete", V(CHECKPOINT_DELETE), verb_checkpoint_delete, M,
	  "delete a checkpoint" },
	{ "job_list", V(JOB_LIST), verb_job_list, 0, "every job" },
	{ "job_status", V(JOB_STATUS), verb_job_status, 0, "one job by id" },
	{ "job_abort", V(JOB_ABORT), verb_job_abort, M, "abort an active job" },
	{ "job_clear", V(JOB_CLEAR), verb_job_clear, M, "forget finished jobs" },
	{ "subscribe", V(SUBSCRIBE), verb_subscribe, 0, "receive event datagrams" },
	{ "migrate", V(MIGRATE), verb_migrate, M,
	  "start migrating a VM to another gisad (a migrate-out job)" },
	{ "job_resolve", V(JOB_RESOLVE), verb_job_resolve, M,
	  "decide an in-doubt migration: committed (retire) or not (resume)" },
	{ "remote_fetch", V(REMOTE_FETCH), verb_remote_fetch, F,
	  "fetch a remote gisad's VM snapshot into the passed fd (a fetch job)" },
};

#undef M
#undef F
#undef S
#undef V

#define NR_VERBS (sizeof(verbs) / sizeof(verbs[0]))
#define MAX_CASE 128

const struct verb *verb_find(Gisa__V1__Request__VerbCase c)
{
	static const struct verb *by_case[MAX_CASE];
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < NR_VERBS; i++)
			if ((unsigned)verbs[i].verb < MAX_CASE)
				by_case[verbs[i].verb] = &verbs[i];
		ready = true;
	}
	if ((unsigned)c >= MAX_CASE)
		return NULL;
	return by_case[c];
}

const struct verb *verb_table(size_t *n)
{
	*n = NR_VERBS;
	return verbs;
}

/* ---- request-lifetime memory ------------------------------------------- */

struct arena_block {
	struct arena_block *next;
	max_align_t data[];
};

void *req_alloc(struct request *r, size_t size)
{
	struct arena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = calloc(1, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->next = r->arena;
	r->arena = b;
	return b->data;
}

char *req_strdup(struct request *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = req_alloc(r, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

void req_free(struct request *r)
{
	while (r->arena) {
		struct arena_block *b = r->arena;

		r->arena = b->next;
		free(b);
	}
}

/* ---- messages ----------------------------------------------------------- */

void req_msgf(struct request *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

static const char *verb_name(const struct request *r)
{
	const struct verb *v = verb_find(r->req->verb_case);

	return v ? v->name : "request";
}

int req_engine(struct request *r, int err, const char *what)
{
	if (r->vm)
		return req_fail(r, err, "%s on VM `%s': %s: %s (%d)", verb_name(r), r->vm->name,
				what, strerror(-err), err);
	return req_fail(r, err, "%s: %s: %s (%d)", verb_name(r), what, strerror(-err), err);
}

bool name_valid(const char *s)
{
	size_t n;

	if (!s || s[0] == '.')
		return false;
	n = strlen(s);
	if (n == 0 || n > GISAD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int req_vm(struct request *r, const char *name, struct vmrec **ret)
{
	struct vmrec *rec;

	if (!name || !name[0])
		return req_fail(r, -EINVAL, "%s: no VM name given", verb_name(r));
	if (!name_valid(name))
		return req_fail(r, -EINVAL,
				"%s: VM name `%.80s' is invalid: expected 1 to %d of "
				"[A-Za-z0-9_.-], not starting with `.'",
				verb_name(r), name, GISAD_NAME_MAX);
	rec = vmreg_find(r->d, name);
	if (!rec) {
		const struct retired *t = mig_retired_find(r->d, name);

		if (t)
			return req_fail(r, -ENOENT, "%s: VM `%s' migrated to %s: it is active "
					"there, not here", verb_name(r), name, t->to);
		return req_fail(r, -ENOENT, "%s: no VM named `%s'", verb_name(r), name);
	}
	if (rec->mig != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE && r->verb &&
	    (r->verb->flags & (rec->mig == GISA__V1__MIGRATION_STATE__MIGRATION_STATE_OUTGOING ?
			       VERB_STRUCT : VERB_MUTATES)))
		return mig_refuse(r, rec, verb_name(r));
	r->vm = rec;
	*ret = rec;
	return 0;
}

const char *caps_str(uint32_t caps, char *buf, size_t len)
{
	if (!caps)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s%s%s", caps & GISA_CAP_GISA ? "GISA" : "",
			 (caps & GISA_CAP_ALL) == GISA_CAP_ALL ? "|" : "",
			 caps & GISA_CAP_AIS ? "AIS" : "");
	return buf;
}

int host_offers(const struct gisad *d, const char *what, enum gisa_profile profile,
		uint32_t caps, char *msg, size_t msglen)
{
	uint32_t offered = conf_caps(&d->cfg);
	char p[32], c1[16], c2[16];

	if ((unsigned)profile < 32 && (d->cfg.profiles & (1u << profile)) && !(caps & ~offered))
		return 0;
	conf_profiles_str(d->cfg.profiles, p, sizeof(p));
	snprintf(msg, msglen,
		 "%s requires profile %s and capabilities %s; this host offers "
		 "profiles %s and capabilities %s",
		 what, profile == GISA_PROFILE_NEWEST ? "newest" : "classic",
		 caps_str(caps, c1, sizeof(c1)), p, caps_str(offered, c2, sizeof(c2)));
	return -EOPNOTSUPP;
}

int req_host_offers(struct request *r, const char *what, enum gisa_profile profile,
		    uint32_t caps)
{
	return host_offers(r->d, what, profile, caps, r->msg, sizeof(r->msg));
}

/* ---- listings ----------------------------------------------------------- */

static size_t varint_len(size_t v)
{
	size_t n = 1;

	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

void page_init(struct page *p, const struct request *r, bool paged, uint32_t limit)
{
	p->room = r->reply_max > GISAD_REPLY_HEADROOM ? r->reply_max - GISAD_REPLY_HEADROOM : 0;
	p->limit = limit;
	p->n = 0;
	p->paged = paged;
	p->more = false;
}

int page_end(struct request *r, const struct page *p, const char *what, size_t total)
{
	if (p->paged || !p->more)
		return 0;
	return req_fail(r, -E2BIG,
			"%s: %zu %s do not fit one reply on this connection (%zu bytes): ask in "
			"pages, with `after' or `limit' (gisactl does)",
			verb_name(r), total, what, r->reply_max);
}

bool page_take(struct page *p, size_t packed)
{
	/* An element of a repeated message field: key (one byte), length, bytes. */
	size_t cost = 1 + varint_len(packed) + packed;

	if (p->more)
		return false;
	if (p->n && ((p->limit && p->n >= p->limit) || cost > p->room)) {
		p->more = true;
		return false;
	}
	p->room = cost < p->room ? p->room - cost : 0;
	p->n++;
	return true;
}

/* ---- dispatch ----------------------------------------------------------- */

void verb_dispatch(struct request *r)
{
	const Gisa__V1__Request *q = r->req;
	Gisa__V1__Response *resp = r->resp;
	const struct verb *v;
	int err;

	resp->has_id = true;
	resp->id = q->id;
	if (!q->has_version || q->version == 0) {
		err = req_fail(r, -EPROTO,
			       "request carries no protocol version (this gisad speaks %u)",
			       GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION);
		goto out;
	}
	if (q->version != GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION) {
		err = req_fail(r, -EPROTONOSUPPORT,
			       "protocol version %u is not supported (this gisad speaks %u)",
			       q->version, GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION);
		goto out;
	}
	v = verb_find(q->verb_case);
	if (!v) {
		if (q->base.n_unknown_fields)
			err = req_fail(r, -EOPNOTSUPP,
				       "unknown verb (field %u): this gisad does not know it",
				       q->base.unknown_fields[0].tag);
		else
			err = req_fail(r, -EINVAL, "request names no verb");
		goto out;
	}
	if (r->ctrunc || r->nfds > 1 || (r->nfds == 1 && !(v->flags & VERB_FD))) {
		err = req_fail(r, -EINVAL,
			       "%s takes %s file descriptor; %d%s received and closed", v->name,
			       v->flags & VERB_FD ? "exactly one" : "no", r->nfds,
			       r->ctrunc ? " or more" : "");
		goto out;
	}
	if ((v->flags & VERB_FD) && r->fd < 0) {
		err = req_fail(r, -EBADF,
			       "%s needs a file descriptor passed with SCM_RIGHTS beside "
			       "the request",
			       v->name);
		goto out;
	}
	r->verb = v;
	err = v->fn(r);
	if (err < 0 && !r->msg[0])
		req_msgf(r, "%s: %s (%d)", v->name, strerror(-err), err);
	if (r->vm && (v->flags & VERB_MUTATES))
		vmreg_drain(r->d, r->vm);
out:
	if (err < 0) {
		resp->has_error = true;
		resp->error = err;
	}
	if (r->msg[0])
		resp->message = r->msg;
}
