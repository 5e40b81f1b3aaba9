/* SPDX-License-Identifier: MIT */
/*
 * Hosts, VMs, allocation and the event ring.
 *
 * A host is an engine context: the GIB with its alert list, shared by the
 * VMs created on it, and the allocator they all use.  A VM owns all of its
 * state; nothing is shared between VMs except the host's alert list.
 *
 * Invariants:
 *  V1  host.nr_vms counts the live VMs of the host; a host is freed last.
 *  V2  The event ring holds ring_count <= GISA_EVENT_RING_SIZE events from
 *      ring_head on; ring_seq is the sequence number of the newest event.
 */
#include <stdlib.h>

#include "engine-internal.h"

static void *libc_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void *libc_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	return realloc(p, size);
}

static void libc_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static const struct gisa_allocator libc_allocator = {
	.alloc = libc_alloc,
	.realloc = libc_realloc,
	.free = libc_free,
};

void *mem_alloc(const struct gisa_allocator *a, size_t size)
{
	return a->alloc(a->ctx, size ? size : 1);
}

void *mem_zalloc(const struct gisa_allocator *a, size_t size)
{
	void *p = mem_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void *mem_realloc(const struct gisa_allocator *a, void *p, size_t size)
{
	return a->realloc(a->ctx, p, size ? size : 1);
}

void *mem_reallocarray(const struct gisa_allocator *a, void *p, size_t n, size_t sz)
{
	if (sz && n > SIZE_MAX / sz)
		return NULL;
	return mem_realloc(a, p, n * sz);
}

void mem_free(const struct gisa_allocator *a, void *p)
{
	if (p)
		a->free(a->ctx, p);
}

int gisa_host_new(const struct gisa_host_config *cfg, struct gisa_host **ret_host)
{
	const struct gisa_allocator *a = &libc_allocator;
	uint8_t nisc = GISA_DEFAULT_NISC;
	struct gisa_host *h;

	if (cfg) {
		if (cfg->nisc > GISA_MAX_ISC)
			return -EINVAL;
		nisc = cfg->nisc;
		if (cfg->allocator) {
			if (!cfg->allocator->alloc || !cfg->allocator->realloc ||
			    !cfg->allocator->free)
				return -EINVAL;
			a = cfg->allocator;
		}
	}
	h = mem_zalloc(a, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->alloc = *a;
	h->nisc = nisc;
	*ret_host = h;
	return 0;
}

struct gisa_host *gisa_host_free(struct gisa_host *host)
{
	if (host) {
		struct gisa_allocator a = host->alloc;

		mem_free(&a, host);
	}
	return NULL;
}

void gisa_host_info(const struct gisa_host *h, struct gisa_host_info *ret)
{
	uint32_t n = 0;

	for (struct alert_link l = h->origin; l.vm; l = l.vm->gisa.next)
		n++;
	memset(ret, 0, sizeof(*ret));
	ret->nisc = h->nisc;
	ret->alert_origin = h->origin.vm ? 2 : h->origin.term;
	ret->alert_list_len = n;
	ret->gal_interrupts = h->gal_interrupts;
	ret->nr_vms = h->nr_vms;
}

int gisa_vm_new(struct gisa_host *host, const struct gisa_vm_config *cfg,
		struct gisa_vm **ret_vm)
{
	const struct gisa_allocator *a = &host->alloc;
	struct gisa_vm *vm;

	if (cfg->profile != GISA_PROFILE_CLASSIC && cfg->profile != GISA_PROFILE_NEWEST)
		return -EINVAL;
	if (cfg->caps & ~GISA_CAP_ALL)
		return -EINVAL;
	if (cfg->nr_vcpus > GISA_MAX_VCPUS)
		return -EINVAL;
	if (cfg->abi_order != GISA_BE && cfg->abi_order != GISA_LE)
		return -EINVAL;

	vm = mem_zalloc(a, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->host = host;
	vm->alloc = a;
	vm->profile = cfg->profile;
	vm->caps = cfg->caps;
	vm->order = cfg->abi_order;
	vm->nr_vcpus = cfg->nr_vcpus;
	vm->mem.cap = cfg->mem_cap ? cfg->mem_cap : GISA_DEFAULT_MEM_CAP;
	vm->pool.free_head = NIL;
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		vm->fi.lists[i].head = vm->fi.lists[i].tail = NIL;
	vm->gisa.present = cfg->caps & GISA_CAP_GISA;

	vm->vcpus = mem_zalloc(a, (size_t)(cfg->nr_vcpus ? cfg->nr_vcpus : 1) *
				  sizeof(*vm->vcpus));
	vm->ring = mem_alloc(a, GISA_EVENT_RING_SIZE * sizeof(*vm->ring));
	if (!vm->vcpus || !vm->ring) {
		mem_free(a, vm->vcpus);
		mem_free(a, vm->ring);
		mem_free(a, vm);
		return -ENOMEM;
	}
	host->nr_vms++;
	*ret_vm = vm;
	return 0;
}

struct gisa_vm *gisa_vm_free(struct gisa_vm *vm)
{
	if (!vm)
		return NULL;
	gisa_detach(vm);
	adapter_free_all(vm);
	route_release(vm);
	mem_release(vm);
	pool_release(vm);
	mem_free(vm->alloc, vm->vcpus);
	mem_free(vm->alloc, vm->ring);
	vm->host->nr_vms--;
	mem_free(vm->alloc, vm);
	return NULL;
}

void gisa_vm_config(const struct gisa_vm *vm, struct gisa_vm_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->profile = vm->profile;
	ret->caps = vm->caps;
	ret->nr_vcpus = vm->nr_vcpus;
	ret->mem_cap = vm->mem.cap;
	ret->abi_order = vm->order;
}

struct gisa_host *gisa_vm_host(const struct gisa_vm *vm)
{
	return vm->host;
}

void vm_event(struct gisa_vm *vm, enum gisa_event_kind kind, uint32_t vcpu,
	      enum gisa_kick_flag flag)
{
	struct gisa_event *e;

	if (vm->ring_count == GISA_EVENT_RING_SIZE) {
		vm->ring_head = (vm->ring_head + 1) % GISA_EVENT_RING_SIZE;
		vm->ring_count--;
		vm->ring_dropped++;
	}
	e = &vm->ring[(vm->ring_head + vm->ring_count) % GISA_EVENT_RING_SIZE];
	vm->ring_count++;
	e->seq = ++vm->ring_seq;
	e->kind = kind;
	e->vcpu = vcpu;
	e->flag = flag;
}

size_t gisa_vm_events_read(struct gisa_vm *vm, struct gisa_event *out, size_t max)
{
	size_t n = 0;

	while (n < max && vm->ring_count) {
		out[n++] = vm->ring[vm->ring_head];
		vm->ring_head = (vm->ring_head + 1) % GISA_EVENT_RING_SIZE;
		vm->ring_count--;
	}
	return n;
}

uint64_t gisa_vm_events_dropped(const struct gisa_vm *vm)
{
	return vm->ring_dropped;
}
