/* SPDX-License-Identifier: MIT */
/*
 * Adapter routes (KVM_IRQ_ROUTING_S390_ADAPTER, spec §5.1–5.4).
 *
 * Routes hold guest addresses only.  Setup checks that both areas are backed
 * (-EFAULT otherwise); every trigger resolves the computed indicator and
 * summary bytes again through the current memslots, so a memslot change can
 * never make a trigger write outside guest memory (§14.5, §14.6): such a
 * trigger returns -1 and writes nothing.
 *
 * Trigger (level 1), the summary bit's 0 -> 1 edge decides:
 *
 *   adapter registered? --no--> -1
 *   set indicator, test-and-set summary (CLASSIC: both bytes resolved first)
 *   summary was 1 -----------------------> 0   (coalesced)
 *   summary was 0, adapter masked -------> 1   (no interrupt)
 *   summary was 0, inject_airq() == 0 ---> 1   (injected or AIS-suppressed)
 *   summary was 0, inject_airq() < 0 ----> that error, bits stay set
 *
 * Invariants: I7 of engine-internal.h; setup never changes the table unless
 * it returns 0.
 */
#include <stdlib.h>

#include "engine-internal.h"

bool route_bit(uint64_t area, uint64_t n, bool swap, uint64_t *ret_gpa, uint8_t *ret_mask)
{
	uint64_t page = area & ~(uint64_t)(GISA_PAGE_SIZE - 1);
	/* Bit number relative to the page, wrapping as the kernel's does. */
	uint64_t b = n + (area % GISA_PAGE_SIZE) * 8;
	uint64_t off;

	if (swap) {
		/* bit ^ 63 in a big-endian bitmap: an MSB0 bit string. */
		off = b / 8;
		*ret_mask = (uint8_t)(0x80u >> (b % 8));
	} else {
		/* LSB0 within big-endian doublewords aligned to the page. */
		off = 8 * (b / 64) + 7 - (b % 64) / 8;
		*ret_mask = (uint8_t)(1u << (b % 8));
	}
	if (off > UINT64_MAX - page)
		return false;
	*ret_gpa = page + off;
	return true;
}

static bool same_page(uint64_t a, uint64_t b)
{
	return (a & ~(uint64_t)(GISA_PAGE_SIZE - 1)) == (b & ~(uint64_t)(GISA_PAGE_SIZE - 1));
}

static int entry_cmp(const void *x, const void *y)
{
	const struct gisa_route_entry *a = x, *b = y;

	return (a->gsi > b->gsi) - (a->gsi < b->gsi);
}

/* The per-entry checks of KVM_SET_GSI_ROUTING, generic then s390, in order. */
static int entry_check(const struct gisa_vm *vm, const struct gisa_route_entry *e,
		       const uint16_t *gsi_map, bool check_backed)
{
	const struct gisa_adapter_route *ad = &e->adapter;

	if (e->type == GISA_IRQ_ROUTING_MSI ? (e->flags & ~1u) : e->flags)
		return -EINVAL;
	if (gsi_map[e->gsi] != GSI_NONE)
		return -EINVAL;   /* one non-irqchip entry per gsi */
	if (e->type != GISA_IRQ_ROUTING_S390_ADAPTER)
		return -EINVAL;
	if (vm_newest(vm) &&
	    (!same_page(ad->summary_addr, ad->summary_addr + ad->summary_offset / 8) ||
	     !same_page(ad->ind_addr, ad->ind_addr + ad->ind_offset / 8)))
		return -EINVAL;
	if (check_backed && (!mem_backed(vm, ad->summary_addr) || !mem_backed(vm, ad->ind_addr)))
		return -EFAULT;
	return 0;
}

/*
 * Build a table from n entries aside and install it only when complete.
 * On a failing entry, *ret_bad is its index.
 */
static int routes_build(struct gisa_vm *vm, const struct gisa_route_entry *entries, size_t n,
			bool check_backed, size_t *ret_bad)
{
	struct route_table t = { 0 };
	int r = -ENOMEM;

	for (size_t i = 0; i < n; i++) {
		if (entries[i].gsi >= GISA_MAX_IRQ_ROUTES) {
			*ret_bad = i;
			return -EINVAL;
		}
	}
	if (!n) {
		route_release(vm);
		return 0;
	}
	t.e = mem_reallocarray(vm->alloc, NULL, n, sizeof(*t.e));
	t.gsi_map = mem_reallocarray(vm->alloc, NULL, GISA_MAX_IRQ_ROUTES, sizeof(*t.gsi_map));
	if (!t.e || !t.gsi_map)
		goto fail;
	memset(t.gsi_map, 0xff, GISA_MAX_IRQ_ROUTES * sizeof(*t.gsi_map));
	for (size_t i = 0; i < n; i++) {
		r = entry_check(vm, &entries[i], t.gsi_map, check_backed);
		if (r) {
			*ret_bad = i;
			goto fail;
		}
		t.e[i] = entries[i];
		t.gsi_map[entries[i].gsi] = 0;   /* taken; indexed after sorting */
	}
	t.n = (uint32_t)n;
	qsort(t.e, n, sizeof(*t.e), entry_cmp);
	for (uint32_t i = 0; i < t.n; i++)
		t.gsi_map[t.e[i].gsi] = (uint16_t)i;
	route_release(vm);
	vm->routes = t;
	return 0;
fail:
	mem_free(vm->alloc, t.e);
	mem_free(vm->alloc, t.gsi_map);
	return r;
}

int gisa_routes_set(struct gisa_vm *vm, const struct gisa_route_entry *entries, size_t n,
		    uint32_t flags)
{
	size_t bad;

	if (n > GISA_MAX_IRQ_ROUTES || flags)
		return -EINVAL;
	return routes_build(vm, entries, n, true, &bad);
}

int route_restore(struct gisa_vm *vm, const struct gisa_route_entry *e, size_t n,
		  struct gisa_restore_error *err)
{
	size_t bad = 0;
	int r;

	if (n > GISA_MAX_IRQ_ROUTES) {
		err->field = "routes";
		err->index = 0;
		err->value = n;
		err->reason = "at most 4096 routes";
		return -EINVAL;
	}
	r = routes_build(vm, e, n, false, &bad);
	if (r == -EINVAL) {
		err->field = "routes";
		err->index = bad;
		err->value = e[bad].gsi;
		err->reason = "unique gsis below 4096, S390_ADAPTER entries with flags 0"
			      " (NEWEST: bits inside their page)";
	}
	return r;
}

void route_release(struct gisa_vm *vm)
{
	vm_changed(vm, GISA_TRACK_ROUTES);
	mem_free(vm->alloc, vm->routes.e);
	mem_free(vm->alloc, vm->routes.gsi_map);
	memset(&vm->routes, 0, sizeof(vm->routes));
}

/*
 * Resolve one area bit to a writable byte: 0; -1 if the byte is not guest
 * memory; -ENOMEM if its page cannot be allocated within the VM's cap.
 */
static int obtain(struct gisa_vm *vm, uint64_t area, uint64_t n, bool swap,
		  uint8_t **ret_byte, uint8_t *ret_mask, uint64_t *ret_gpa, bool *ret_created)
{
	int r;

	if (!route_bit(area, n, swap, ret_gpa, ret_mask))
		return -1;
	r = mem_byte(vm, *ret_gpa, true, ret_byte, ret_created);
	return r == -EFAULT ? -1 : r;
}

int gisa_route_trigger(struct gisa_vm *vm, uint32_t gsi, int level)
{
	const struct gisa_adapter_route *ad;
	const struct adapter *a;
	uint8_t *ind, *sum, ind_mask, sum_mask;
	uint64_t ind_gpa, sum_gpa;
	bool was_set, created, sum_created;
	int r;

	if (gsi >= GISA_MAX_IRQ_ROUTES || !vm->routes.gsi_map ||
	    vm->routes.gsi_map[gsi] == GSI_NONE)
		return -1;
	if (!level)
		return 0;
	ad = &vm->routes.e[vm->routes.gsi_map[gsi]].adapter;
	a = adapter_get(vm, ad->adapter_id);
	if (!a)
		return -1;

	if (!vm_newest(vm)) {
		/*
		 * Both pages are obtained before any bit is written; a summary
		 * that cannot be obtained leaves nothing behind, not even the
		 * indicator page this call allocated.
		 */
		r = obtain(vm, ad->ind_addr, ad->ind_offset, a->swap, &ind, &ind_mask, &ind_gpa,
			   &created);
		if (r)
			return r;
		r = obtain(vm, ad->summary_addr, ad->summary_offset, a->swap, &sum, &sum_mask,
			   &sum_gpa, &sum_created);
		if (r) {
			if (created)
				mem_page_drop(vm, ind_gpa);
			return r;
		}
		*ind |= ind_mask;
		(void)mem_mark_dirty(vm, ind_gpa);   /* allocated: a flag */
	} else {
		/* Indicator first; a summary failure leaves it set. */
		r = obtain(vm, ad->ind_addr, ad->ind_offset, a->swap, &ind, &ind_mask, &ind_gpa,
			   &created);
		if (r)
			return r;
		*ind |= ind_mask;
		(void)mem_mark_dirty(vm, ind_gpa);   /* allocated: a flag */
		r = obtain(vm, ad->summary_addr, ad->summary_offset, a->swap, &sum, &sum_mask,
			   &sum_gpa, &sum_created);
		if (r)
			return r;
	}
	was_set = *sum & sum_mask;
	*sum |= sum_mask;
	(void)mem_mark_dirty(vm, sum_gpa);

	if (was_set)
		return 0;
	if (a->masked)
		return 1;
	r = ais_inject_airq(vm, a);
	return r ? r : 1;
}
