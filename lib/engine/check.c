/* SPDX-License-Identifier: MIT */
/*
 * vm_check_invariants: verifies the model invariants listed in
 * engine-internal.h and at the top of each engine file.  Tests call it after
 * every step; it never changes the VM.  Returns 0, or a negative number
 * naming the first broken invariant (see the table below), so a test can
 * print which one broke.
 */
#include "engine-internal.h"

enum {
	BAD_LIST_PENDING = -1,   /* I1/F1 */
	BAD_COUNTERS = -2,       /* I2/F2 */
	BAD_POOL = -3,           /* I3/P1 */
	BAD_ALERT_LIST = -4,     /* I4/G2 */
	BAD_IDLE = -5,           /* I5/C1 */
	BAD_MEMSLOTS = -6,       /* I6/M1/M2/M3 */
	BAD_ROUTES = -7,         /* I7 */
	BAD_SERVICE = -8,        /* F3 */
	BAD_ALERT_MASK = -9,     /* G1/G4 */
	BAD_ADAPTERS = -10,      /* A1/A2/A3 */
	BAD_TRACKING = -11,      /* T1 */
};

/*
 * T1 (while tracking): each list is its run followed by its tail, the run
 * within the base (drop + keep <= base_n) and node `tail` at position keep.
 */
static int check_tracking(const struct gisa_vm *vm)
{
	const struct float_int *fi = &vm->fi;

	if (!fi->tracking)
		return 0;
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		const struct ltrack *t = &fi->track[li];
		uint32_t n = fi->lists[li].head;

		if ((uint64_t)t->keep + t->tail_n != fi->lists[li].len ||
		    (uint64_t)t->drop + t->keep > t->base_n)
			return BAD_TRACKING;
		for (uint32_t i = 0; i < t->keep; i++)
			n = vm->pool.nodes[n].next;
		if (n != (t->tail_n ? t->tail : NIL))
			return BAD_TRACKING;
	}
	return 0;
}

static int check_lists(const struct gisa_vm *vm, uint8_t *seen)
{
	const struct float_int *fi = &vm->fi;
	uint32_t io = 0;

	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		const struct flist *l = &fi->lists[li];
		uint32_t bit = li == GISA_LIST_PFAULT ? GISA_IRQ_PFAULT_DONE :
			       li == GISA_LIST_VIRTIO ? GISA_IRQ_VIRTIO :
							(uint32_t)GISA_IRQ_IO_ISC(li);
		uint32_t len = 0, last = NIL;

		for (uint32_t i = l->head; i != NIL; i = vm->pool.nodes[i].next) {
			if (i >= vm->pool.cap || seen[i] || len > POOL_MAX_NODES)
				return BAD_POOL;
			seen[i] = 1;
			len++;
			last = i;
		}
		if (len != l->len || last != l->tail)
			return BAD_POOL;
		if (!!(fi->pending & 1u << bit) != !!len)
			return BAD_LIST_PENDING;
		if (li <= GISA_MAX_ISC)
			io += len;
	}
	if (fi->counters[CNTR_IO] != io || io > GISA_MAX_FLOAT_IRQS ||
	    fi->counters[CNTR_VIRTIO] != fi->lists[GISA_LIST_VIRTIO].len ||
	    fi->counters[CNTR_PFAULT] != fi->lists[GISA_LIST_PFAULT].len ||
	    fi->counters[CNTR_VIRTIO] > GISA_MAX_VIRTIO_IRQS ||
	    fi->counters[CNTR_PFAULT] > GISA_MAX_PFAULT_IRQS || fi->counters[CNTR_SERVICE])
		return BAD_COUNTERS;
	return 0;
}

static int check_pool(const struct gisa_vm *vm, uint8_t *seen)
{
	uint32_t n = 0;

	for (uint32_t i = vm->pool.free_head; i != NIL; i = vm->pool.nodes[i].next) {
		if (i >= vm->pool.cap || seen[i])
			return BAD_POOL;
		seen[i] = 1;
		n++;
	}
	if (n != vm->pool.nfree)
		return BAD_POOL;
	for (uint32_t i = 0; i < vm->pool.cap; i++)
		if (!seen[i])
			return BAD_POOL;
	return 0;
}

static int check_memory(const struct gisa_vm *vm)
{
	const struct memory *m = &vm->mem;
	uint64_t pages = 0;

	for (uint32_t i = 0; i < m->nslots; i++) {
		const struct memslot *s = &m->slots[i];

		if (!s->size || s->gpa % GISA_PAGE_SIZE || s->size % GISA_PAGE_SIZE ||
		    s->gpa > UINT64_MAX - s->size)
			return BAD_MEMSLOTS;
		if (i && m->slots[i - 1].gpa + m->slots[i - 1].size > s->gpa)
			return BAD_MEMSLOTS;
		for (uint32_t j = 0; j < s->npages; j++) {
			if (s->pages[j].rel >= s->size / GISA_PAGE_SIZE ||
			    (j && s->pages[j - 1].rel >= s->pages[j].rel) || !s->pages[j].data)
				return BAD_MEMSLOTS;
		}
		for (uint32_t j = 0; j < s->ndirty; j++) {
			if (s->dirty_rel[j] >= s->size / GISA_PAGE_SIZE ||
			    (j && s->dirty_rel[j - 1] >= s->dirty_rel[j]))
				return BAD_MEMSLOTS;
		}
		pages += s->npages;
	}
	if (m->used != pages * GISA_PAGE_SIZE || m->used > m->cap)
		return BAD_MEMSLOTS;
	return 0;
}

static int check_routes(const struct gisa_vm *vm)
{
	const struct route_table *t = &vm->routes;

	if (t->n > GISA_MAX_IRQ_ROUTES || (t->n && !t->gsi_map))
		return BAD_ROUTES;
	for (uint32_t i = 0; i < t->n; i++) {
		if (t->e[i].gsi >= GISA_MAX_IRQ_ROUTES || (i && t->e[i - 1].gsi >= t->e[i].gsi) ||
		    t->gsi_map[t->e[i].gsi] != i)
			return BAD_ROUTES;
	}
	if (t->gsi_map) {
		uint32_t mapped = 0;

		for (uint32_t g = 0; g < GISA_MAX_IRQ_ROUTES; g++)
			mapped += t->gsi_map[g] != GSI_NONE;
		if (mapped != t->n)
			return BAD_ROUTES;
	}
	return 0;
}

static int check_gisa(const struct gisa_vm *vm)
{
	const struct gisa_int *g = &vm->gisa;
	uint8_t mask = 0;
	bool listed = false;
	uint32_t hops = 0;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		if (g->ref[i])
			mask |= GISA_ISC_BIT(i);
	if (mask != g->alert_mask)
		return BAD_ALERT_MASK;
	if (!g->present && (g->ipm || g->iam || g->alert_mask || g->on_list || g->timer_armed))
		return BAD_ALERT_MASK;
	for (struct alert_link l = vm->host->origin; l.vm; l = l.vm->gisa.next) {
		if (l.vm->host != vm->host || !l.vm->gisa.on_list || ++hops > vm->host->nr_vms)
			return BAD_ALERT_LIST;
		if (l.vm == vm)
			listed = true;
	}
	if (listed != g->on_list)
		return BAD_ALERT_LIST;
	return 0;
}

static int check_misc(const struct gisa_vm *vm)
{
	const struct float_int *fi = &vm->fi;

	for (uint32_t i = 0; i < vm->nr_vcpus; i++)
		if (vcpu_idle(vm, i) != (vm->vcpus[i].run == GISA_VCPU_IDLE) ||
		    (vm->vcpus[i].kicked && vm->vcpus[i].run != GISA_VCPU_IDLE))
			return BAD_IDLE;
	for (uint32_t i = vm->nr_vcpus; i < 256; i++)
		if (vcpu_idle(vm, i))
			return BAD_IDLE;
	if ((fi->pending & 1u << GISA_IRQ_EXT_SERVICE_EV) && !(fi->srv & GISA_SCCB_EVENT_PENDING))
		return BAD_SERVICE;
	if (fi->mchk_cr14 & ~(uint64_t)GISA_CR14_CHANNEL_REPORT)
		return BAD_SERVICE;
	for (unsigned i = 0; i < GISA_MAX_ADAPTERS; i++) {
		const struct adapter *a = vm->adapters[i];

		if (!a)
			continue;
		if (a->id != i || (a->masked && !a->maskable) ||
		    a->nr_maps > GISA_MAX_ADAPTER_MAPS || (a->nr_maps && !vm_newest(vm)))
			return BAD_ADAPTERS;
		for (uint32_t j = 0; j < a->nr_maps; j++)
			if (!a->maps[j])
				return BAD_ADAPTERS;
	}
	return 0;
}

int vm_check_invariants(const struct gisa_vm *vm)
{
	uint8_t *seen = NULL;
	int r;

	if (vm->pool.cap) {
		seen = mem_zalloc(vm->alloc, vm->pool.cap);
		if (!seen)
			return -ENOMEM;
	}
	r = check_lists(vm, seen);
	if (!r)
		r = check_pool(vm, seen);
	mem_free(vm->alloc, seen);
	if (!r)
		r = check_memory(vm);
	if (!r)
		r = check_routes(vm);
	if (!r)
		r = check_gisa(vm);
	if (!r)
		r = check_misc(vm);
	if (!r)
		r = check_tracking(vm);
	return r;
}
