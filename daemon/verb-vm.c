/* SPDX-License-Identifier: MIT */
/* Verbs about the daemon and its VMs: ping, vm_*, host_info. */
#include <errno.h>
#include <string.h>

#include <gisa/state.h>

#include "gisad.h"
#include "mig.h"
#include "log.h"

int verb_ping(struct request *r)
{
	Gisa__V1__Pong *p = req_alloc(r, sizeof(*p));
	uint32_t *profiles = req_alloc(r, 2 * sizeof(*profiles));
	struct gisad *d = r->d;

	if (!p || !profiles)
		return -ENOMEM;
	gisa__v1__pong__init(p);
	p->daemon = (char *)GISAD_VERSION_STRING;
	p->has_max_datagram = true;
	p->max_datagram = GISAD_MAX_DATAGRAM;
	p->has_max_reply = true;
	p->max_reply = (uint32_t)r->reply_max;
	for (uint32_t i = 0; i < 2; i++)
		if (d->cfg.profiles & (1u << i))
			profiles[p->n_profiles++] = i;
	p->profiles = profiles;
	p->has_caps = true;
	p->caps = conf_caps(&d->cfg);
	p->has_uptime_ns = true;
	p->uptime_ns = gisad_now_ns() - d->start_ns;
	REPLY(r, pong, PONG, p);
	return 0;
}

static int fill_info(struct request *r, struct vmrec *rec)
{
	Gisa__V1__VmInfo *vi = req_alloc(r, sizeof(*vi));
	Gisa__V1__GisaInfo *gi = req_alloc(r, sizeof(*gi));
	uint32_t *lens = req_alloc(r, GISA_NR_LISTS * sizeof(*lens));
	uint32_t *refs = req_alloc(r, (GISA_MAX_ISC + 1) * sizeof(*refs));
	uint8_t *digest = req_alloc(r, GISA_SNAP_DIGEST_SIZE);
	Gisa__V1__MemslotSpec **slots;
	struct gisa_state st;
	int err;

	if (!vi || !gi || !lens || !refs || !digest)
		return -ENOMEM;
	gisa_state_read(rec->vm, &st);
	slots = req_alloc(r, (st.nr_memslots + 1) * sizeof(Gisa__V1__MemslotSpec *));
	if (!slots)
		return -ENOMEM;
	err = store_digest(rec, digest);
	if (err)
		return req_engine(r, err, "computing the digest");

	gisa__v1__vm_info__init(vi);
	vi->name = rec->name;
	vi->has_uuid = true;
	vi->uuid.data = rec->uuid;
	vi->uuid.len = 16;
#define SET(f, v) (vi->has_##f = true, vi->f = (v))
	SET(profile, (uint32_t)st.profile);
	SET(caps, st.caps);
	SET(vcpus, st.nr_vcpus);
	SET(mem_cap, st.mem_cap);
	SET(abi_order, (uint32_t)st.abi_order);
	SET(flic_present, st.flic_present);
	SET(apf_enabled, st.apf_enabled);
	SET(pending_irqs, st.pending_irqs);
	SET(srv_ext_params, st.srv_ext_params);
	SET(mchk_cr14, st.mchk_cr14);
	SET(mchk_mcic, st.mchk_mcic);
	SET(simm, st.simm);
	SET(nimm, st.nimm);
	SET(kick_cursor, st.kick_cursor);
	SET(adapter_mask, st.adapter_mask);
	SET(nr_routes, st.nr_routes);
	SET(nr_memslots, st.nr_memslots);
	SET(mem_used, st.mem_used);
	SET(events_dropped, gisa_vm_events_dropped(rec->vm) + rec->ev_dropped);
	SET(last_job, rec->last_job);
	SET(migration, GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE);
#undef SET
	memcpy(lens, st.list_len, GISA_NR_LISTS * sizeof(*lens));
	vi->n_list_len = GISA_NR_LISTS;
	vi->list_len = lens;
	vi->has_digest = true;
	vi->digest.data = digest;
	vi->digest.len = GISA_SNAP_DIGEST_SIZE;

	gisa__v1__gisa_info__init(gi);
	gi->has_present = true;
	gi->present = st.gisa.present;
	gi->has_ipm = true;
	gi->ipm = st.gisa.ipm;
	gi->has_iam = true;
	gi->iam = st.gisa.iam;
	gi->has_alert_mask = true;
	gi->alert_mask = st.gisa.alert_mask;
	memcpy(refs, st.gisa.refcount, (GISA_MAX_ISC + 1) * sizeof(*refs));
	gi->n_refcount = GISA_MAX_ISC + 1;
	gi->refcount = refs;
	gi->has_on_alert_list = true;
	gi->on_alert_list = st.gisa.on_alert_list;
	gi->has_timer_armed = true;
	gi->timer_armed = st.gisa.timer_armed;
	gi->has_timer_delay_ns = true;
	gi->timer_delay_ns = st.gisa.timer_delay_ns;
	vi->gisa = gi;

	for (uint32_t i = 0; i < st.nr_memslots; i++) {
		struct gisa_memslot_info mi;
		Gisa__V1__MemslotSpec *s;

		if (gisa_state_memslot(rec->vm, i, &mi))
			break;
		s = req_alloc(r, sizeof(*s));
		if (!s)
			return -ENOMEM;
		gisa__v1__memslot_spec__init(s);
		s->has_slot = s->has_gpa = s->has_size = true;
		s->slot = mi.slot;
		s->gpa = mi.gpa;
		s->size = mi.size;
		slots[vi->n_memslots++] = s;
	}
	vi->memslots = slots;
	REPLY(r, vm_info, VM_INFO, vi);
	return 0;
}

int verb_vm_create(struct request *r)
{
	const Gisa__V1__VmCreate *q = r->req->vm_create;
	struct gisa_vm_config cfg = { 0 };
	struct gisad *d = r->d;
	struct gisa_vm *vm = NULL;
	struct vmrec *rec = NULL;
	uint8_t uuid[16];
	char what[128], taken[512], capmsg[160];
	int err;

	if (!q->name || !q->name[0])
		return req_fail(r, -EINVAL, "vm_create: no VM name given");
	if (!name_valid(q->name))
		return req_fail(r, -EINVAL,
				"vm_create: VM name `%.80s' is invalid: expected 1 to %d of "
				"[A-Za-z0-9_.-], not starting with `.'",
				q->name, GISAD_NAME_MAX);
	if (vmreg_name_taken(d, q->name, taken, sizeof(taken)))
		return req_fail(r, -EEXIST, "vm_create: %.400s", taken);
	if (d->nr_vms + d->nr_staging >= d->cfg.max_vms)
		return req_fail(r, -ENOSPC, "vm_create: gisad already hosts %u VMs and receives %u "
				"by migration (max_vms = %u)", d->nr_vms, d->nr_staging,
				d->cfg.max_vms);
	if (q->profile > GISA_PROFILE_NEWEST)
		return req_fail(r, -EINVAL,
				"vm_create: profile %u is unknown: expected 0 (classic) or "
				"1 (newest)",
				q->profile);
	if (q->caps & ~GISA_CAP_ALL)
		return req_fail(r, -EINVAL,
				"vm_create: caps 0x%x has unknown bits: expected 0x1 (GISA) | "
				"0x2 (AIS)",
				q->caps);
	if (q->vcpus > GISA_MAX_VCPUS)
		return req_fail(r, -EINVAL, "vm_create: %u vcpus, at most %u", q->vcpus,
				GISA_MAX_VCPUS);
	if (q->abi_order > GISA_LE)
		return req_fail(r, -EINVAL,
				"vm_create: abi_order %u is unknown: expected 0 (big) or "
				"1 (little)",
				q->abi_order);
	if (q->has_uuid && q->uuid.len != 16)
		return req_fail(r, -EINVAL, "vm_create: uuid is %zu bytes, expected 16",
				q->uuid.len);
	err = conf_mem_cap_check(&d->cfg, q->mem_cap, capmsg, sizeof(capmsg));
	if (err)
		return req_fail(r, err, "vm_create: VM `%s': %s", q->name, capmsg);
	snprintf(what, sizeof(what), "VM `%s'", q->name);
	err = req_host_offers(r, what, (enum gisa_profile)q->profile, q->caps);
	if (err)
		return err;

	cfg.profile = (enum gisa_profile)q->profile;
	cfg.caps = q->caps;
	cfg.nr_vcpus = q->vcpus;
	cfg.mem_cap = q->mem_cap;
	cfg.abi_order = (enum gisa_byteorder)q->abi_order;
	err = gisa_vm_new(d->host, &cfg, &vm);
	if (err)
		return req_engine(r, err, "creating the VM");
	if (!q->no_flic) {
		err = gisa_flic_create(vm);
		if (err) {
			gisa_vm_free(vm);
			return req_engine(r, err, "creating the FLIC");
		}
	}
	for (size_t i = 0; i < q->n_memslots; i++) {
		const Gisa__V1__MemslotSpec *s = q->memslots[i];

		err = gisa_mem_set_slot(vm, s->slot, s->gpa, s->size);
		if (err) {
			gisa_vm_free(vm);
			return req_fail(r, err,
					"vm_create: memslot %zu (slot %u, gpa 0x%llx, "
					"size 0x%llx): %s (%d)",
					i, s->slot, (unsigned long long)s->gpa,
					(unsigned long long)s->size, strerror(-err), err);
		}
	}
	if (q->has_uuid)
		memcpy(uuid, q->uuid.data, 16);
	else
		uuid_random(uuid);
	err = vmreg_add(d, q->name, uuid, vm, &rec);
	if (err) {
		gisa_vm_free(vm);
		return req_engine(r, err, "registering the VM");
	}
	r->vm = rec;
	/* All or nothing: a VM whose reply cannot be made is not kept. */
	err = fill_info(r, rec);
	if (err) {
		vmreg_remove(d, rec);
		r->vm = NULL;
		return err;
	}
	log_info("VM `%s' created (profile %s, caps 0x%x, %u vcpus)", rec->name,
		 cfg.profile == GISA_PROFILE_NEWEST ? "newest" : "classic", cfg.caps, cfg.nr_vcpus);
	return 0;
}

int verb_vm_destroy(struct request *r)
{
	struct vmrec *rec = NULL;
	char name[GISAD_NAME_MAX + 1];
	char msg[256];
	const char *q = r->req->vm_destroy->vm;
	const struct retired *t = q && !vmreg_find(r->d, q) ? mig_retired_find(r->d, q) : NULL;
	int err;

	/* A VM that migrated away is listed until destroyed here. */
	if (t) {
		if (t->recording)
			return req_fail(r, -EBUSY, "vm_destroy: VM `%s' migrated to %s; its RETIRED "
					"record is still being written here: try again once it is",
					q, t->to);
		err = mig_retired_clear(r->d, q);
		if (!err)
			log_info("VM `%s' (migrated away) forgotten", q);
		return err;
	}
	/* No VM, but its in-doubt migration holds the name: forgotten. */
	if (q && !vmreg_find(r->d, q)) {
		err = mig_held_forget(r->d, q, msg, sizeof(msg));
		if (err != -ENOENT)
			return err ? req_fail(r, err, "vm_destroy: VM `%s': %s", q, msg) : 0;
	}
	err = req_vm(r, q, &rec);
	if (!err)
		err = mig_refuse_alerts(r, rec, "vm_destroy");
	if (err)
		return err;
	snprintf(name, sizeof(name), "%s", rec->name);
	/*
	 * The current checkpoint goes first, or the next start would bring
	 * the VM back: one that cannot be removed keeps the VM (named
	 * checkpoints stay either way).  None, or no directory for it: gone.
	 */
	err = store_checkpoint_delete(r->d, name, NULL, msg, sizeof(msg));
	if (err && err != -ENOENT && err != -ENOTDIR)
		return req_fail(r, err, "vm_destroy: VM `%s' not destroyed: its current checkpoint "
				"cannot be removed, and the next start would restore it: %.300s",
				name, msg);
	vmreg_remove(r->d, rec);
	r->vm = NULL;
	migin_superseded(r->d, name, "the VM is destroyed");
	log_info("VM `%s' destroyed", name);
	return 0;
}

/*
 * vm_list's entries: the active VMs and those retired after migrating
 * away, by name.  No name is both (vmreg_name_taken, and a VM migrating
 * back ends its retired listing), so a name is a cursor that pages on
 * without skipping or repeating an entry.
 */
struct vm_entry {
	const char *name;
	struct vmrec *rec;               /* NULL: retired, t */
	const struct retired *t;
};

static int vm_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct vm_entry *)a)->name, ((const struct vm_entry *)b)->name);
}

static Gisa__V1__VmSummary *vm_summary(struct request *r, const struct vm_entry *e)
{
	Gisa__V1__VmSummary *s = req_alloc(r, sizeof(*s));
	struct gisa_vm_config cfg;

	if (!s)
		return NULL;
	gisa__v1__vm_summary__init(s);
	s->name = (char *)e->name;
	s->has_uuid = s->has_migration = true;
	s->uuid.len = 16;
	if (!e->rec) {
		s->uuid.data = (uint8_t *)e->t->uuid;
		s->migration = GISA__V1__MIGRATION_STATE__MIGRATION_STATE_MIGRATED;
		s->migrated_to = (char *)e->t->to;
		return s;
	}
	gisa_vm_config(e->rec->vm, &cfg);
	s->uuid.data = e->rec->uuid;
	s->has_profile = s->has_caps = s->has_vcpus = true;
	s->profile = (uint32_t)cfg.profile;
	s->caps = cfg.caps;
	s->vcpus = cfg.nr_vcpus;
	s->migration = e->rec->mig;
	if (e->rec->mig != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE)
		s->migrated_to = e->rec->mig_peer;
	return s;
}

int verb_vm_list(struct request *r)
{
	const Gisa__V1__VmListArgs *q = r->req->vm_list;
	const char *after = q->after;
	Gisa__V1__VmList *l = req_alloc(r, sizeof(*l));
	Gisa__V1__VmSummary **v;
	struct vm_entry *es;
	struct page pg;
	size_t n = r->d->nr_vms + 1, ne = 0;

	for (const struct retired *t = r->d->retired; t; t = t->next)
		n++;
	es = req_alloc(r, n * sizeof(*es));
	v = req_alloc(r, n * sizeof(Gisa__V1__VmSummary *));
	if (!l || !es || !v)
		return -ENOMEM;
	for (struct vmrec *rec = r->d->vms; rec; rec = rec->next)
		if (!after || strcmp(rec->name, after) > 0)
			es[ne++] = (struct vm_entry){ .name = rec->name, .rec = rec };
	for (const struct retired *t = r->d->retired; t; t = t->next)
		if (!after || strcmp(t->name, after) > 0)
			es[ne++] = (struct vm_entry){ .name = t->name, .t = t };
	if (ne)
		qsort(es, ne, sizeof(*es), vm_entry_cmp);
	gisa__v1__vm_list__init(l);
	page_init(&pg, r, after || q->has_limit, q->limit);
	for (size_t i = 0; i < ne; i++) {
		Gisa__V1__VmSummary *s = vm_summary(r, &es[i]);

		if (!s)
			return -ENOMEM;
		if (!page_take(&pg, gisa__v1__vm_summary__get_packed_size(s)))
			break;
		v[l->n_vms++] = s;
	}
	if (page_end(r, &pg, "VMs", ne))
		return -E2BIG;
	l->vms = v;
	l->has_more = pg.more;
	l->more = pg.more;
	REPLY(r, vm_list, VM_LIST, l);
	return 0;
}

int verb_vm_info(struct request *r)
{
	struct vmrec *rec = NULL;
	int err = req_vm(r, r->req->vm_info->vm, &rec);

	return err ? err : fill_info(r, rec);
}

int verb_vm_digest(struct request *r)
{
	Gisa__V1__Digest *dg = req_alloc(r, sizeof(*dg));
	uint8_t *digest = req_alloc(r, GISA_SNAP_DIGEST_SIZE);
	char *hex = req_alloc(r, 65);
	struct vmrec *rec = NULL;
	int err = req_vm(r, r->req->vm_digest->vm, &rec);

	if (err)
		return err;
	if (!dg || !digest || !hex)
		return -ENOMEM;
	err = store_digest(rec, digest);
	if (err)
		return req_engine(r, err, "computing the digest");
	gisa_snap_digest_hex(digest, hex);
	gisa__v1__digest__init(dg);
	dg->has_digest = true;
	dg->digest.data = digest;
	dg->digest.len = GISA_SNAP_DIGEST_SIZE;
	dg->hex = hex;
	REPLY(r, digest, DIGEST, dg);
	return 0;
}

int verb_host_info(struct request *r)
{
	Gisa__V1__HostInfo *h = req_alloc(r, sizeof(*h));
	struct gisa_host_info hi;

	if (!h)
		return -ENOMEM;
	gisa_host_info(r->d->host, &hi);
	gisa__v1__host_info__init(h);
	h->has_nisc = h->has_alert_origin = h->has_alert_list_len = true;
	h->has_gal_interrupts = h->has_nr_vms = true;
	h->nisc = hi.nisc;
	h->alert_origin = hi.alert_origin;
	h->alert_list_len = hi.alert_list_len;
	h->gal_interrupts = hi.gal_interrupts;
	h->nr_vms = hi.nr_vms;
	REPLY(r, host, HOST, h);
	return 0;
}
