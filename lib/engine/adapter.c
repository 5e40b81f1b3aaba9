/* SPDX-License-Identifier: MIT */
/*
 * I/O adapters: ADAPTER_REGISTER and ADAPTER_MODIFY (spec §3.5, §3.6).
 *
 * Invariants:
 *  A1  adapters[id] is NULL or an adapter with that id; ids are < 64 and
 *      adapters live until the VM is destroyed (there is no unregister).
 *  A2  masked implies maskable.
 *  A3  maps is used only in NEWEST; nr_maps <= 256; entries are non-zero
 *      guest addresses in MAP order (duplicates allowed).
 */
#include "engine-internal.h"

struct adapter *adapter_get(const struct gisa_vm *vm, uint64_t id)
{
	return id < GISA_MAX_ADAPTERS ? vm->adapters[id] : NULL;
}

int adapter_register(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	struct gisa_io_adapter info;
	struct adapter *a;

	if (!ubuf_ok(&attr->addr, 0, GISA_IO_ADAPTER_SIZE))
		return -EFAULT;
	gisa_io_adapter_unpack(attr->addr.data, vm->order, &info);
	if (info.id >= GISA_MAX_ADAPTERS)
		return -EINVAL;
	if (vm->adapters[info.id])
		return -EINVAL;
	a = mem_zalloc(vm->alloc, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->id = info.id;
	a->isc = info.isc;   /* not range-checked, as in the kernel */
	a->maskable = info.maskable != 0;
	a->swap = info.swap != 0;
	a->suppressible = info.flags & GISA_ADAPTER_SUPPRESSIBLE;
	vm->adapters[info.id] = a;
	vm_changed(vm, GISA_TRACK_ADAPTERS);
	return 0;
}

static int adapter_map(struct gisa_vm *vm, struct adapter *a, uint64_t addr)
{
	if (!addr)
		return -EINVAL;
	if (a->nr_maps == a->maps_cap && a->maps_cap < GISA_MAX_ADAPTER_MAPS) {
		uint32_t cap = a->maps_cap ? a->maps_cap * 2 : 8;
		uint64_t *maps = mem_reallocarray(vm->alloc, a->maps, cap, sizeof(*maps));

		if (!maps)
			return -ENOMEM;
		a->maps = maps;
		a->maps_cap = cap;
	}
	if (!mem_backed(vm, addr))
		return -EFAULT;
	if (a->nr_maps >= GISA_MAX_ADAPTER_MAPS)
		return -EINVAL;
	a->maps[a->nr_maps++] = addr;
	vm_changed(vm, GISA_TRACK_ADAPTERS);
	return 0;
}

static int adapter_unmap(struct gisa_vm *vm, struct adapter *a, uint64_t addr)
{
	if (!addr)
		return -EINVAL;
	for (uint32_t i = 0; i < a->nr_maps; i++) {
		if (a->maps[i] != addr)
			continue;
		/* The kernel marks the released page dirty, whatever it holds. */
		if (mem_mark_dirty(vm, addr))
			return -ENOMEM;
		memmove(&a->maps[i], &a->maps[i + 1], (a->nr_maps - i - 1) * sizeof(*a->maps));
		a->nr_maps--;
		vm_changed(vm, GISA_TRACK_ADAPTERS);
		return 0;
	}
	return -ENOENT;
}

int adapter_modify(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	struct gisa_io_adapter_req req;
	struct adapter *a;

	if (!ubuf_ok(&attr->addr, 0, GISA_IO_ADAPTER_REQ_SIZE))
		return -EFAULT;
	gisa_io_adapter_req_unpack(attr->addr.data, vm->order, &req);
	a = adapter_get(vm, req.id);
	if (!a)
		return -EINVAL;   /* checked before the type */
	switch (req.type) {
	case GISA_IO_ADAPTER_MASK:
		if (!a->maskable)
			return -EINVAL;
		a->masked = req.mask != 0;
		vm_changed(vm, GISA_TRACK_ADAPTERS);
		return 0;
	case GISA_IO_ADAPTER_MAP:
		return vm_newest(vm) ? adapter_map(vm, a, req.addr) : 0;
	case GISA_IO_ADAPTER_UNMAP:
		return vm_newest(vm) ? adapter_unmap(vm, a, req.addr) : 0;
	default:
		return -EINVAL;
	}
}

void adapter_free_all(struct gisa_vm *vm)
{
	vm_changed(vm, GISA_TRACK_ADAPTERS);
	for (unsigned i = 0; i < GISA_MAX_ADAPTERS; i++) {
		if (vm->adapters[i]) {
			mem_free(vm->alloc, vm->adapters[i]->maps);
			mem_free(vm->alloc, vm->adapters[i]);
			vm->adapters[i] = NULL;
		}
	}
}
