/* SPDX-License-Identifier: MIT */
/*
 * The read-only state view (state.h).  Nothing here writes to the VM: every
 * function takes a const VM, and the list walk emits what GET_ALL_IRQS would
 * without its CLASSIC side effect.
 */
#include <stdlib.h>

#include "engine-internal.h"

void gisa_state_read(const struct gisa_vm *vm, struct gisa_state *ret)
{
	const struct float_int *fi = &vm->fi;

	struct gisa_vm_config cfg;

	gisa_vm_config(vm, &cfg);
	memset(ret, 0, sizeof(*ret));
	ret->profile = cfg.profile;
	ret->caps = cfg.caps;
	ret->nr_vcpus = cfg.nr_vcpus;
	ret->mem_cap = cfg.mem_cap;
	ret->abi_order = cfg.abi_order;
	ret->flic_present = vm->flic;
	ret->apf_enabled = vm->apf;
	ret->pending_irqs = fi->pending;
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		ret->list_len[i] = fi->lists[i].len;
	ret->srv_ext_params = fi->srv;
	ret->mchk_cr14 = fi->mchk_cr14;
	ret->mchk_mcic = fi->mchk_mcic;
	ret->simm = fi->simm;
	ret->nimm = fi->nimm;
	ret->gisa.present = vm->gisa.present;
	ret->gisa.ipm = vm->gisa.ipm;
	ret->gisa.iam = vm->gisa.iam;
	ret->gisa.alert_mask = vm->gisa.alert_mask;
	memcpy(ret->gisa.refcount, vm->gisa.ref, sizeof(ret->gisa.refcount));
	ret->gisa.on_alert_list = vm->gisa.on_list;
	ret->gisa.timer_armed = vm->gisa.timer_armed;
	ret->gisa.timer_delay_ns = vm->gisa.timer_delay_ns;
	ret->kick_cursor = vm_newest(vm) ? fi->last_sleep_cpu : fi->next_rr_cpu;
	for (unsigned i = 0; i < GISA_MAX_ADAPTERS; i++)
		if (vm->adapters[i])
			ret->adapter_mask |= 1ull << i;
	ret->nr_routes = vm->routes.n;
	ret->nr_memslots = vm->mem.nslots;
	ret->mem_used = vm->mem.used;
}

int gisa_state_list_foreach(const struct gisa_vm *vm, unsigned list,
			    int (*fn)(void *ctx, const struct gisa_irq *irq), void *ctx)
{
	if (list >= GISA_NR_LISTS)
		return -EINVAL;
	for (uint32_t i = vm->fi.lists[list].head; i != NIL; i = vm->pool.nodes[i].next) {
		const struct fnode *nd = &vm->pool.nodes[i];
		struct gisa_irq irq;
		int r;

		memset(&irq, 0, sizeof(irq));
		irq.type = nd->type;
		if (list <= GISA_MAX_ISC)
			irq.u.io = nd->p.io;
		else
			irq.u.ext = nd->p.ext;
		r = fn(ctx, &irq);
		if (r)
			return r;
	}
	return 0;
}

struct copy_ctx {
	struct gisa_irq *out;
	size_t max;
	size_t n;
};

static int copy_one(void *ctx, const struct gisa_irq *irq)
{
	struct copy_ctx *c = ctx;

	if (c->n == c->max)
		return 1;
	c->out[c->n++] = *irq;
	return 0;
}

size_t gisa_state_list_copy(const struct gisa_vm *vm, unsigned list, struct gisa_irq *out,
			    size_t max)
{
	struct copy_ctx c = { .out = out, .max = max };

	(void)gisa_state_list_foreach(vm, list, copy_one, &c);
	return c.n;
}

/* At most max entries of list `list` from node i on, in compact form. */
static void copy_entries(const struct gisa_vm *vm, unsigned list, uint32_t i,
			 struct gisa_list_entry *out, size_t max)
{
	for (size_t n = 0; i != NIL && n < max; i = vm->pool.nodes[i].next, n++) {
		const struct fnode *nd = &vm->pool.nodes[i];

		out[n].type = nd->type;
		if (list <= GISA_MAX_ISC)
			out[n].u.io = nd->p.io;
		else
			out[n].u.ext = nd->p.ext;
	}
}

size_t gisa_state_list_entries(const struct gisa_vm *vm, unsigned list,
			       struct gisa_list_entry *out, size_t max)
{
	if (list >= GISA_NR_LISTS)
		return 0;
	copy_entries(vm, list, vm->fi.lists[list].head, out, max);
	return vm->fi.lists[list].len;
}

void gisa_state_io_entries(const struct gisa_vm *vm, struct gisa_list_entry *const out[8],
			   const size_t max[8])
{
	uint32_t cur[GISA_MAX_ISC + 1];
	size_t pos[GISA_MAX_ISC + 1] = { 0 };
	unsigned live[GISA_MAX_ISC + 1], nlive = 0;

	for (unsigned l = 0; l <= GISA_MAX_ISC; l++) {
		cur[l] = vm->fi.lists[l].head;
		if (cur[l] != NIL && max[l])
			live[nlive++] = l;
	}
	/* One step of every live list per round: independent loads overlap. */
	while (nlive) {
		for (unsigned k = 0; k < nlive;) {
			unsigned l = live[k];
			const struct fnode *nd = &vm->pool.nodes[cur[l]];
			struct gisa_list_entry *e = &out[l][pos[l]++];

			e->type = nd->type;
			e->u.io = nd->p.io;
			cur[l] = nd->next;
			if (cur[l] == NIL || pos[l] == max[l])
				live[k] = live[--nlive];
			else
				k++;
		}
	}
}

int gisa_state_adapter(const struct gisa_vm *vm, uint32_t id, struct gisa_state_adapter *ret)
{
	const struct adapter *a = adapter_get(vm, id);

	if (!a)
		return -ENOENT;
	ret->id = a->id;
	ret->isc = a->isc;
	ret->maskable = a->maskable;
	ret->masked = a->masked;
	ret->swap = a->swap;
	ret->suppressible = a->suppressible;
	ret->nr_maps = a->nr_maps;
	return 0;
}

size_t gisa_state_adapter_maps(const struct gisa_vm *vm, uint32_t id, uint64_t *out, size_t max)
{
	const struct adapter *a = adapter_get(vm, id);
	size_t n;

	if (!a)
		return 0;
	n = a->nr_maps < max ? a->nr_maps : max;
	if (n)
		memcpy(out, a->maps, n * sizeof(*out));
	return n;
}

int gisa_state_route(const struct gisa_vm *vm, size_t idx, struct gisa_route_entry *ret)
{
	if (idx >= vm->routes.n)
		return -ENOENT;
	*ret = vm->routes.e[idx];
	return 0;
}

int gisa_state_memslot(const struct gisa_vm *vm, size_t idx, struct gisa_memslot_info *ret)
{
	const struct memslot *s;

	if (idx >= vm->mem.nslots)
		return -ENOENT;
	s = &vm->mem.slots[idx];
	ret->slot = s->id;
	ret->gpa = s->gpa;
	ret->size = s->size;
	ret->pages_allocated = mem_pages_allocated(s);
	return 0;
}

static int u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

#define ROUTE_PAGES_SEEN 64

/* gpa's page appended to cand[0 .. n) if it is backed and not seen yet. */
static size_t add_page(const struct gisa_vm *vm, uint64_t *cand, size_t n,
		       uint64_t seen[ROUTE_PAGES_SEEN], uint64_t gpa)
{
	uint64_t page = gpa & ~(uint64_t)(GISA_PAGE_SIZE - 1);
	uint64_t *slot = &seen[(page / GISA_PAGE_SIZE) % ROUTE_PAGES_SEEN];

	if (*slot == page || !mem_backed(vm, gpa))
		return n;
	*slot = page;
	cand[n] = page;
	return n + 1;
}

size_t gisa_state_route_pages(const struct gisa_vm *vm, uint64_t *out, size_t max)
{
	/*
	 * At most four candidate pages per route (indicator and summary, two
	 * layouts while the adapter is unregistered): 128 KiB, sorted, unique.
	 */
	uint64_t cand[4 * GISA_MAX_IRQ_ROUTES];
	/*
	 * Pages already among the candidates, direct-mapped by page number:
	 * routes share a few pages (an adapter's indicator page, one summary
	 * page), so most repeats are dropped before the sort.
	 */
	uint64_t seen[ROUTE_PAGES_SEEN];
	size_t n = 0, u = 0;

	/* A page-aligned address never equals UINT64_MAX: all slots empty. */
	memset(seen, 0xff, sizeof(seen));
	for (uint32_t i = 0; i < vm->routes.n; i++) {
		const struct gisa_adapter_route *ad = &vm->routes.e[i].adapter;
		const struct adapter *a = adapter_get(vm, ad->adapter_id);
		/*
		 * The swap flag decides which byte a trigger writes; with no
		 * adapter yet registered both candidates' pages are carried.
		 */
		for (int swap = 0; swap <= 1; swap++) {
			uint64_t gpa;
			uint8_t mask;

			if (a && a->swap != (swap == 1))
				continue;
			if (route_bit(ad->ind_addr, ad->ind_offset, swap, &gpa, &mask))
				n = add_page(vm, cand, n, seen, gpa);
			if (route_bit(ad->summary_addr, ad->summary_offset, swap, &gpa, &mask))
				n = add_page(vm, cand, n, seen, gpa);
		}
	}
	/* cppcheck-suppress uninitvar ; only cand[0..n) is read, and it was written */
	qsort(cand, n, sizeof(*cand), u64_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && cand[i] == cand[i - 1])
			continue;
		if (u < max)
			out[u] = cand[i];
		u++;
	}
	return u;
}

/* ---- change tracking ----------------------------------------------------- */

void gisa_track_start(struct gisa_vm *vm)
{
	struct float_int *fi = &vm->fi;

	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		fi->track[li] = (struct ltrack){
			.base_n = fi->lists[li].len,
			.keep = fi->lists[li].len,
			.tail = NIL,
		};
	fi->tracking = true;
	vm->changed = 0;
}

unsigned gisa_track_changed(const struct gisa_vm *vm)
{
	return vm->fi.tracking ? vm->changed & GISA_TRACK_ALL : GISA_TRACK_ALL;
}

void gisa_track_stop(struct gisa_vm *vm)
{
	vm->fi.tracking = false;
}

int gisa_track_read(const struct gisa_vm *vm, unsigned list, struct gisa_track_list *ret)
{
	const struct ltrack *t;

	if (list >= GISA_NR_LISTS)
		return -EINVAL;
	if (!vm->fi.tracking)
		return -ENODATA;
	t = &vm->fi.track[list];
	*ret = (struct gisa_track_list){
		.base_n = t->base_n, .drop = t->drop, .keep = t->keep, .tail_n = t->tail_n,
	};
	return 0;
}

size_t gisa_track_tail(const struct gisa_vm *vm, unsigned list, struct gisa_list_entry *out,
		       size_t max)
{
	const struct ltrack *t;

	if (list >= GISA_NR_LISTS || !vm->fi.tracking)
		return 0;
	t = &vm->fi.track[list];
	copy_entries(vm, list, t->tail, out, max < t->tail_n ? max : t->tail_n);
	return t->tail_n;
}
