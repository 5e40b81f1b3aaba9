/* SPDX-License-Identifier: MIT */
/*
 * The per-VM pool of floating-list nodes (the kernel's mmu_memory_cache
 * idea): operations that may queue records reserve nodes at the request
 * boundary, and the queueing itself then never allocates.
 *
 * Invariants:
 *  P1  nodes[0 .. cap) is the whole pool; free nodes form a singly linked
 *      list through .next starting at free_head, nfree long (NIL-terminated).
 *  P2  cap <= POOL_MAX_NODES: the three list limits bound what can ever be
 *      queued at once, so a reservation beyond that is never needed.
 *  P3  Growth appends nodes in ascending index order to the free list, so a
 *      burst of injections walks memory sequentially.
 */
#include "engine-internal.h"

int pool_reserve(struct gisa_vm *vm, uint32_t n)
{
	struct pool *p = &vm->pool;
	uint32_t want, add, cap;
	struct fnode *nodes;

	if (p->nfree >= n)
		return 0;
	if (n > POOL_MAX_NODES)
		n = POOL_MAX_NODES;
	if (p->nfree >= n)
		return 0;
	want = n - p->nfree;
	add = p->cap > want ? p->cap : want;        /* at least double */
	if (add < POOL_MIN_GROW)
		add = POOL_MIN_GROW;
	if (add > POOL_MAX_NODES - p->cap)
		add = POOL_MAX_NODES - p->cap;
	if (add < want)
		return -ENOMEM;
	cap = p->cap + add;
	nodes = mem_reallocarray(vm->alloc, p->nodes, cap, sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	p->nodes = nodes;
	/* Chain the new nodes ascending in front of the existing free list. */
	for (uint32_t i = p->cap; i < cap; i++)
		nodes[i].next = i + 1 < cap ? i + 1 : p->free_head;
	p->free_head = p->cap;
	p->nfree += add;
	p->cap = cap;
	p->grows++;
	return 0;
}

void pool_release(struct gisa_vm *vm)
{
	mem_free(vm->alloc, vm->pool.nodes);
	memset(&vm->pool, 0, sizeof(vm->pool));
	vm->pool.free_head = NIL;
}
