/* SPDX-License-Identifier: MIT */
/*
 * The VM registry: names to VMs on the daemon's one gisa_host, and each
 * VM's daemon-side event ring.
 *
 * Invariants: names are unique and valid (name_valid); every record holds
 * a VM; d->nr_vms counts the records, which d->vms lists in creation order
 * (doubly linked, with its tail) and d->vm_hash indexes by name, so that
 * adding, finding and removing one cost the same with 65,536 VMs as with
 * one.  A VM's engine ring is empty after
 * every request that may change it (vmreg_drain), so events_read and the
 * subscribers see one ordered stream per VM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>

#include "gisad.h"
#include "mig.h"
#include "log.h"

/* FNV-1a of the name, into a bucket. */
static struct vmrec **bucket(struct gisad *d, const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return &d->vm_hash[h & (GISAD_VM_HASH - 1)];
}

struct vmrec *vmreg_find(struct gisad *d, const char *name)
{
	for (struct vmrec *rec = *bucket(d, name); rec; rec = rec->hnext)
		if (strcmp(rec->name, name) == 0)
			return rec;
	return NULL;
}

int vmreg_name_taken(struct gisad *d, const char *name, char *msg, size_t msglen)
{
	const struct retired *t;

	if (vmreg_find(d, name)) {
		snprintf(msg, msglen, "VM `%s' already exists", name);
		return -EEXIST;
	}
	t = mig_retired_find(d, name);
	if (t) {
		snprintf(msg, msglen, "VM `%s' migrated to %s and is listed here until "
			 "destroyed: `gisactl vm destroy %s' frees the name", name, t->to, name);
		return -EEXIST;
	}
	if (migin_reserved(d, name, NULL)) {
		snprintf(msg, msglen, "the name `%s' is reserved by an incoming migration", name);
		return -EEXIST;
	}
	for (t = d->held; t; t = t->next) {
		if (strcmp(t->name, name) != 0)
			continue;
		switch (t->hold) {
		case MIG_HOLD_MISSING:
			snprintf(msg, msglen, "VM `%s' was in doubt when gisad stopped, migrating to "
				 "%s, and has no checkpoint here: its name stays taken until `gisactl "
				 "vm destroy %s' forgets that migration", name, t->to, name);
			break;
		case MIG_HOLD_ARRIVED:
			snprintf(msg, msglen, "VM `%s' migrated here from %s, but its checkpoint could "
				 "not be put in place when gisad started (see the log): its name "
				 "stays taken until a start does it", name, t->to);
			break;
		case MIG_HOLD_UNDECIDED:
			snprintf(msg, msglen, "VM `%s' migrating here from %s is undecided (see "
				 "the log): the next start that can read its staged checkpoint "
				 "decides, and the name stays taken until then", name, t->to);
			break;
		case MIG_HOLD_DOUBT:
			snprintf(msg, msglen, "VM `%s' was in doubt when gisad stopped and could not be "
				 "recovered (see the log): its name stays taken until gisad restarts",
				 name);
			break;
		}
		return -EEXIST;
	}
	return 0;
}

int vmreg_add(struct gisad *d, const char *name, const uint8_t uuid[16], struct gisa_vm *vm,
	      struct vmrec **ret)
{
	struct vmrec *rec = calloc(1, sizeof(*rec)), **b;

	if (!rec)
		return -ENOMEM;
	snprintf(rec->name, sizeof(rec->name), "%s", name);
	memcpy(rec->uuid, uuid, 16);
	rec->vm = vm;
	/* Keep creation order: shut-down checkpoints follow it (vm_list sorts). */
	rec->prev = d->vms_tail;
	if (d->vms_tail)
		d->vms_tail->next = rec;
	else
		d->vms = rec;
	d->vms_tail = rec;
	b = bucket(d, rec->name);
	rec->hnext = *b;
	*b = rec;
	d->nr_vms++;
	*ret = rec;
	return 0;
}

static void unlink_rec(struct gisad *d, struct vmrec *rec)
{
	for (struct vmrec **p = bucket(d, rec->name); *p; p = &(*p)->hnext) {
		if (*p == rec) {
			*p = rec->hnext;
			break;
		}
	}
	if (rec->prev)
		rec->prev->next = rec->next;
	else
		d->vms = rec->next;
	if (rec->next)
		rec->next->prev = rec->prev;
	else
		d->vms_tail = rec->prev;
	rec->next = rec->prev = rec->hnext = NULL;
	d->nr_vms--;
}

static void rec_free(struct vmrec *rec)
{
	gisa_vm_free(rec->vm);
	free(rec);
}

void vmreg_remove(struct gisad *d, struct vmrec *rec)
{
	unlink_rec(d, rec);
	rec_free(rec);
}

/* Every gone VM that may go now (held by no frozen VM on the alert list). */
static void gone_free(struct gisad *d, bool all)
{
	struct vmrec **p = &d->gone;

	while (*p) {
		struct vmrec *rec = *p;

		if (!all && vmreg_alerts_frozen(d, rec)) {
			p = &rec->next;
			continue;
		}
		*p = rec->next;
		rec_free(rec);
	}
}

static void on_gone(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	gone_free(arg, false);
}

void vmreg_gone_retry(struct gisad *d)
{
	static const struct timeval now = { 0, 0 };

	if (!d->gone)
		return;
	/* Last among the ready events: after the answers queued this turn. */
	if (!d->gone_ev) {
		d->gone_ev = evtimer_new(d->base, on_gone, d);
		if (d->gone_ev && event_priority_set(d->gone_ev, GISAD_PRIO_REQUEST)) {
			event_free(d->gone_ev);
			d->gone_ev = NULL;
		}
	}
	if (!d->gone_ev || evtimer_add(d->gone_ev, &now))
		gone_free(d, false);
}

void vmreg_remove_later(struct gisad *d, struct vmrec *rec)
{
	unlink_rec(d, rec);
	rec->next = d->gone;
	d->gone = rec;
	vmreg_gone_retry(d);
}

void vmreg_replace(struct vmrec *rec, struct gisa_vm *vm)
{
	gisa_vm_free(rec->vm);
	rec->vm = vm;
	/* The ring held the old VM's events; the new VM numbers its own from 1. */
	rec->ev_head = 0;
	rec->ev_count = 0;
	rec->ev_dropped = 0;
}

void vmreg_free_all(struct gisad *d)
{
	struct vmrec *next;

	for (struct vmrec *rec = d->vms; rec; rec = next) {
		next = rec->next;
		rec_free(rec);
	}
	d->vms = d->vms_tail = NULL;
	d->nr_vms = 0;
	memset(d->vm_hash, 0, sizeof(d->vm_hash));
	gone_free(d, true);
	if (d->gone_ev)
		event_free(d->gone_ev);
	d->gone_ev = NULL;
}

static const Gisa__V1__EventKind kind_map[] = {
	[GISA_EV_KICK] = GISA__V1__EVENT_KIND__EVENT_KIND_KICK,
	[GISA_EV_GISA_WAKE] = GISA__V1__EVENT_KIND__EVENT_KIND_GISA_WAKE,
};

void vmreg_drain(struct gisad *d, struct vmrec *rec)
{
	struct gisa_event batch[64];
	size_t n;

	if (!rec->vm)
		return;
	while ((n = gisa_vm_events_read(rec->vm, batch, 64)) > 0) {
		for (size_t i = 0; i < n; i++) {
			uint32_t slot;

			if (rec->ev_count == GISA_EVENT_RING_SIZE) {
				rec->ev_head = (rec->ev_head + 1) % GISA_EVENT_RING_SIZE;
				rec->ev_count--;
				rec->ev_dropped++;
			}
			slot = (rec->ev_head + rec->ev_count) % GISA_EVENT_RING_SIZE;
			rec->ev[slot] = batch[i];
			rec->ev_count++;
			if (d->nr_subscribers) {
				Gisa__V1__ControlEvent ev = GISA__V1__CONTROL_EVENT__INIT;

				ev.has_kind = true;
				ev.kind = (unsigned)batch[i].kind < 3 ?
						  kind_map[batch[i].kind] :
						  GISA__V1__EVENT_KIND__EVENT_KIND_NONE;
				ev.vm = rec->name;
				ev.has_seq = true;
				ev.seq = batch[i].seq;
				ev.has_vcpu = true;
				ev.vcpu = batch[i].vcpu;
				ev.has_flag = batch[i].flag != GISA_KICK_NONE;
				ev.flag = (uint32_t)batch[i].flag;
				ctl_publish(d, rec->name, false, &ev);
			}
		}
	}
}

size_t vmreg_events_take(struct vmrec *rec, struct gisa_event *out, size_t max)
{
	size_t n = 0;

	while (n < max && rec->ev_count) {
		out[n++] = rec->ev[rec->ev_head];
		rec->ev_head = (rec->ev_head + 1) % GISA_EVENT_RING_SIZE;
		rec->ev_count--;
	}
	return n;
}

void uuid_random(uint8_t uuid[16])
{
	ssize_t n = getrandom(uuid, 16, GRND_NONBLOCK);

	if (n != 16) {
		/* No entropy yet (early boot): a time-based fallback is fine for a label. */
		uint64_t x = gisad_unix_ns() ^ (uint64_t)getpid() << 32;

		for (int i = 0; i < 16; i++) {
			x = x * 6364136223846793005u + 1442695040888963407u;
			uuid[i] = (uint8_t)(x >> 56);
		}
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);   /* version 4 */
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
}

bool vmreg_frozen(const struct vmrec *rec)
{
	return rec->mig == GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN ||
	       rec->mig == GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT;
}

static bool listed(const struct vmrec *rec)
{
	struct gisa_state st;

	if (!rec->vm)
		return false;
	gisa_state_read(rec->vm, &st);
	return st.gisa.on_alert_list;
}

struct vmrec *vmreg_alerts_frozen(struct gisad *d, const struct vmrec *freed)
{
	if (freed && !listed(freed))
		return NULL;
	for (struct vmrec *rec = d->vms; rec; rec = rec->next)
		if (rec != freed && vmreg_frozen(rec) && listed(rec))
			return rec;
	return NULL;
}
