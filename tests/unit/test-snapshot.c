/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of whole VMs: round trips, behavioural equivalence through the
 * file, export without side effects, and canonical encoding.
 *
 * 1. Round trip.  A source VM in each of the 8 configurations (CLASSIC and
 *    NEWEST, GISA on and off, AIS on and off) is driven by a seeded random
 *    sequence of public-API operations of every kind (seed 0: a directed
 *    build that reaches every kind of state).  Its image is encoded into a
 *    snapshot file (compressed at various levels, or stored), decoded, and
 *    built into a VM on a second host; the image read back from that VM is
 *    encoded again.  Images, state bytes, digests and files must be equal
 *    at every stage, and the two VMs' state views must be equal.  The
 *    snapshots must have covered every kind of state, including I/O lists
 *    that repeat entries (the dictionary form), adapter and plain I/O ones.
 * 2. Behavioural equivalence through the file.  After the RAM migration
 *    that runs beside a snapshot, the same seeded sequence of 10,000 further
 *    operations runs on the original and on the restored VM; every result
 *    must be identical step by step: return codes, GET_ALL_IRQS and other
 *    caller buffers, deliveries, TPI/TSCH records, trigger results, guest
 *    memory, dirty logs, events (the kick choices), the host's alert list.
 * 3. Export never changes the VM.  Two VMs are built by the same seeded
 *    sequence; one is exported (image, state bytes, digest, stored and
 *    compressed files), then both must have equal views including which
 *    pages are allocated, equal event rings, dirty logs and host state, and
 *    behave identically afterwards (CLASSIC's GET_ALL_IRQS clears the IPM:
 *    export must not use it).
 * 4. Canonical encoding.  Equal states built by different operation orders
 *    (adapters, routes, memslots and GISA ISCs in different orders, lists
 *    filled then drained, different table replaces, random permutations)
 *    have equal state bytes and digests; stored and compressed files and
 *    files with different metadata of one state have equal digests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine-internal.h"
#include "support.h"

#include "../support-snap/snaptest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Build phase length; seeds 0 .. NR_LONG_SEEDS - 1 are each followed by
 * RUN_OPS compared operations, the further seeds (varied build lengths,
 * more round trips) by SHORT_RUN_OPS.
 */
#define BUILD_OPS 400
#define RUN_OPS 10000
#define NR_LONG_SEEDS 4
#define NR_SEEDS 24
#define SHORT_RUN_OPS 1000
#define VIEW_EVERY 250
#define TWIN_SEEDS 4
#define TWIN_RUN_OPS 1000

/* Where a failure happened, printed with it. */
static char g_where[256];

/* ---- seeded generator ------------------------------------------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: good enough, and the same everywhere. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

/* ---- the state view, captured completely ----------------------------------- */

struct view {
	struct gisa_state st;
	struct gisa_irq *lists[GISA_NR_LISTS];
	struct gisa_state_adapter ad[GISA_MAX_ADAPTERS];
	uint64_t *maps[GISA_MAX_ADAPTERS];
	struct gisa_route_entry *routes;
	struct gisa_memslot_info *slots;
	size_t npages;
	uint64_t *pages;
	uint8_t *page_bytes;
	struct gisa_vcpu_state *vcpus;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	assert_non_null(p);
	return p;
}

static void view_read(const struct gisa_vm *vm, struct view *v)
{
	memset(v, 0, sizeof(*v));
	gisa_state_read(vm, &v->st);
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		size_t n = v->st.list_len[li];

		v->lists[li] = xcalloc(n + 1, sizeof(struct gisa_irq));
		/* One slot more than the length: the copy must stop at the length. */
		assert_int_equal(gisa_state_list_copy(vm, li, v->lists[li], n + 1), n);
	}
	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++) {
		if (!(v->st.adapter_mask >> id & 1)) {
			struct gisa_state_adapter a;

			assert_int_equal(gisa_state_adapter(vm, id, &a), -ENOENT);
			continue;
		}
		assert_int_equal(gisa_state_adapter(vm, id, &v->ad[id]), 0);
		assert_int_equal(v->ad[id].id, id);
		v->maps[id] = xcalloc(GISA_MAX_ADAPTER_MAPS, sizeof(uint64_t));
		assert_int_equal(gisa_state_adapter_maps(vm, id, v->maps[id],
							 GISA_MAX_ADAPTER_MAPS),
				 v->ad[id].nr_maps);
	}
	v->routes = xcalloc(v->st.nr_routes, sizeof(*v->routes));
	for (uint32_t i = 0; i < v->st.nr_routes; i++)
		assert_int_equal(gisa_state_route(vm, i, &v->routes[i]), 0);
	assert_int_equal(gisa_state_route(vm, v->st.nr_routes, &v->routes[0]), -ENOENT);
	v->slots = xcalloc(v->st.nr_memslots, sizeof(*v->slots));
	for (uint32_t i = 0; i < v->st.nr_memslots; i++)
		assert_int_equal(gisa_state_memslot(vm, i, &v->slots[i]), 0);
	v->npages = gisa_state_route_pages(vm, NULL, 0);
	v->pages = xcalloc(v->npages, sizeof(uint64_t));
	assert_int_equal(gisa_state_route_pages(vm, v->pages, v->npages), v->npages);
	v->page_bytes = xcalloc(v->npages, GISA_PAGE_SIZE);
	for (size_t i = 0; i < v->npages; i++)
		assert_int_equal(gisa_mem_read(vm, v->pages[i], v->page_bytes + i * GISA_PAGE_SIZE,
					       GISA_PAGE_SIZE), 0);
	v->vcpus = xcalloc(v->st.nr_vcpus, sizeof(*v->vcpus));
	for (uint32_t i = 0; i < v->st.nr_vcpus; i++)
		assert_int_equal(gisa_vcpu_get(vm, i, &v->vcpus[i]), 0);
}

static void view_free(struct view *v)
{
	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		free(v->lists[li]);
	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++)
		free(v->maps[id]);
	free(v->routes);
	free(v->slots);
	free(v->pages);
	free(v->page_bytes);
	free(v->vcpus);
	memset(v, 0, sizeof(*v));
}

static void differs(const char *what, uint64_t index, uint64_t a, uint64_t b)
{
	print_error("%s: %s[%llu] differs: source 0x%llx, other 0x%llx\n", g_where, what,
		    (unsigned long long)index, (unsigned long long)a, (unsigned long long)b);
	fail();
}

#define EQ(what, idx, a, b) do {                                             \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
	if (a_ != b_)                                                         \
		differs(what, (uint64_t)(idx), a_, b_);                       \
} while (0)

/*
 * Every field of both views must be equal, with one exception: which guest
 * pages happen to be allocated (gisa_state.mem_used and each memslot's
 * pages_allocated).  Guest memory is sparse and a page is allocated by any
 * write, including one of zeros, and by a trigger even when it then fails;
 * the snapshot carries only the route pages (written in full, so allocated
 * on the restored side even where the source never allocated them) and
 * leaves the rest to the RAM migration.  Nothing documents the two equal
 * across a restore, and no later operation's result depends on them while
 * the cap is not reached (the runs stay far below it), so they are not
 * compared; the contents are what must match, and the route pages are
 * compared byte by byte.
 */
static void view_compare(const struct view *a, const struct view *b)
{
	const struct gisa_state *x = &a->st, *y = &b->st;

	EQ("profile", 0, x->profile, y->profile);
	EQ("caps", 0, x->caps, y->caps);
	EQ("nr_vcpus", 0, x->nr_vcpus, y->nr_vcpus);
	EQ("mem_cap", 0, x->mem_cap, y->mem_cap);
	EQ("abi_order", 0, x->abi_order, y->abi_order);
	EQ("flic_present", 0, x->flic_present, y->flic_present);
	EQ("apf_enabled", 0, x->apf_enabled, y->apf_enabled);
	EQ("pending_irqs", 0, x->pending_irqs, y->pending_irqs);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		EQ("list_len", i, x->list_len[i], y->list_len[i]);
	EQ("srv_ext_params", 0, x->srv_ext_params, y->srv_ext_params);
	EQ("mchk_cr14", 0, x->mchk_cr14, y->mchk_cr14);
	EQ("mchk_mcic", 0, x->mchk_mcic, y->mchk_mcic);
	EQ("simm", 0, x->simm, y->simm);
	EQ("nimm", 0, x->nimm, y->nimm);
	EQ("gisa.present", 0, x->gisa.present, y->gisa.present);
	EQ("gisa.ipm", 0, x->gisa.ipm, y->gisa.ipm);
	EQ("gisa.iam", 0, x->gisa.iam, y->gisa.iam);
	EQ("gisa.alert_mask", 0, x->gisa.alert_mask, y->gisa.alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		EQ("gisa.refcount", i, x->gisa.refcount[i], y->gisa.refcount[i]);
	EQ("gisa.on_alert_list", 0, x->gisa.on_alert_list, y->gisa.on_alert_list);
	EQ("gisa.timer_armed", 0, x->gisa.timer_armed, y->gisa.timer_armed);
	EQ("gisa.timer_delay_ns", 0, x->gisa.timer_delay_ns, y->gisa.timer_delay_ns);
	EQ("kick_cursor", 0, x->kick_cursor, y->kick_cursor);
	EQ("adapter_mask", 0, x->adapter_mask, y->adapter_mask);
	EQ("nr_routes", 0, x->nr_routes, y->nr_routes);
	EQ("nr_memslots", 0, x->nr_memslots, y->nr_memslots);

	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		for (uint32_t i = 0; i < x->list_len[li]; i++) {
			uint8_t p[GISA_IRQ_SIZE], q[GISA_IRQ_SIZE];

			gisa_irq_pack1(&a->lists[li][i], GISA_BE, p);
			gisa_irq_pack1(&b->lists[li][i], GISA_BE, q);
			const char *what = li <= GISA_MAX_ISC ? "io list entry bytes" :
							       "ext list entry bytes";

			for (unsigned k = 0; k < GISA_IRQ_SIZE; k += 8) {
				uint64_t u, w;

				memcpy(&u, p + k, 8);
				memcpy(&w, q + k, 8);
				EQ(what, (uint64_t)li << 32 | (uint64_t)i << 4 | k / 8, u, w);
			}
		}
	}
	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++) {
		const struct gisa_state_adapter *p = &a->ad[id], *q = &b->ad[id];

		if (!(x->adapter_mask >> id & 1))
			continue;
		EQ("adapter.id", id, p->id, q->id);
		EQ("adapter.isc", id, p->isc, q->isc);
		EQ("adapter.maskable", id, p->maskable, q->maskable);
		EQ("adapter.masked", id, p->masked, q->masked);
		EQ("adapter.swap", id, p->swap, q->swap);
		EQ("adapter.suppressible", id, p->suppressible, q->suppressible);
		EQ("adapter.nr_maps", id, p->nr_maps, q->nr_maps);
		for (uint32_t i = 0; i < p->nr_maps; i++)
			EQ("adapter.maps", id << 16 | i, a->maps[id][i], b->maps[id][i]);
	}
	for (uint32_t i = 0; i < x->nr_routes; i++) {
		const struct gisa_route_entry *p = &a->routes[i], *q = &b->routes[i];

		EQ("route.gsi", i, p->gsi, q->gsi);
		EQ("route.type", i, p->type, q->type);
		EQ("route.flags", i, p->flags, q->flags);
		EQ("route.ind_addr", i, p->adapter.ind_addr, q->adapter.ind_addr);
		EQ("route.summary_addr", i, p->adapter.summary_addr, q->adapter.summary_addr);
		EQ("route.ind_offset", i, p->adapter.ind_offset, q->adapter.ind_offset);
		EQ("route.summary_offset", i, p->adapter.summary_offset,
		   q->adapter.summary_offset);
		EQ("route.adapter_id", i, p->adapter.adapter_id, q->adapter.adapter_id);
	}
	for (uint32_t i = 0; i < x->nr_memslots; i++) {
		EQ("memslot.slot", i, a->slots[i].slot, b->slots[i].slot);
		EQ("memslot.gpa", i, a->slots[i].gpa, b->slots[i].gpa);
		EQ("memslot.size", i, a->slots[i].size, b->slots[i].size);
	}
	EQ("route pages", 0, a->npages, b->npages);
	for (size_t i = 0; i < a->npages; i++) {
		const uint8_t *p = a->page_bytes + i * GISA_PAGE_SIZE;
		const uint8_t *q = b->page_bytes + i * GISA_PAGE_SIZE;

		EQ("route page gpa", i, a->pages[i], b->pages[i]);
		for (size_t k = 0; k < GISA_PAGE_SIZE; k++)
			EQ("route page byte at gpa", a->pages[i] + k, p[k], q[k]);
	}
	for (uint32_t i = 0; i < x->nr_vcpus; i++) {
		EQ("vcpu.psw_mask", i, a->vcpus[i].psw_mask, b->vcpus[i].psw_mask);
		EQ("vcpu.cr0", i, a->vcpus[i].cr0, b->vcpus[i].cr0);
		EQ("vcpu.cr6", i, a->vcpus[i].cr6, b->vcpus[i].cr6);
		EQ("vcpu.cr14", i, a->vcpus[i].cr14, b->vcpus[i].cr14);
		EQ("vcpu.run", i, a->vcpus[i].run, b->vcpus[i].run);
		EQ("vcpu.kicked", i, a->vcpus[i].kicked, b->vcpus[i].kicked);
	}
}

/*
 * The RAM migration that runs beside the snapshot: every non-zero page of
 * every memslot that the route pages did not already carry.
 */
static void ram_copy(const struct gisa_vm *src, struct gisa_vm *dst)
{
	struct gisa_state st;
	uint8_t page[GISA_PAGE_SIZE], zero[GISA_PAGE_SIZE];

	memset(zero, 0, sizeof(zero));
	gisa_state_read(src, &st);
	for (uint32_t i = 0; i < st.nr_memslots; i++) {
		struct gisa_memslot_info s;

		assert_int_equal(gisa_state_memslot(src, i, &s), 0);
		for (uint64_t off = 0; off < s.size; off += GISA_PAGE_SIZE) {
			assert_int_equal(gisa_mem_read(src, s.gpa + off, page, sizeof(page)), 0);
			if (memcmp(page, zero, sizeof(page)))
				assert_int_equal(gisa_mem_write(dst, s.gpa + off, page,
								sizeof(page)), 0);
		}
	}
}

/* ---- random operations ------------------------------------------------------- */

enum op_kind {
	OP_ENQUEUE, OP_GET_ALL, OP_CLEAR_IRQS, OP_CLEAR_IO, OP_APF, OP_REGISTER, OP_MODIFY,
	OP_AISM, OP_AISM_ALL_SET, OP_AISM_ALL_GET, OP_AIRQ, OP_HAS_ATTR, OP_FLIC, OP_INJECT,
	OP_INTERRUPT, OP_ROUTES, OP_TRIGGER, OP_SLOT, OP_MEM_WRITE, OP_MEM_READ, OP_DIRTY,
	OP_VCPU_SET, OP_VCPU_GET, OP_VCPU_RUN, OP_VCPU_WAIT, OP_DELIVERABLE, OP_DELIVER,
	OP_TPI, OP_TSCH, OP_GISC_REG, OP_GISC_UNREG, OP_HW_AIRQ, OP_ALERTS, OP_TIMER,
	OP_NR
};

static const struct {
	const char *name;
	unsigned weight;
} op_table[OP_NR] = {
	[OP_ENQUEUE] = { "enqueue", 90 },
	[OP_GET_ALL] = { "get_all_irqs", 35 },
	[OP_CLEAR_IRQS] = { "clear_irqs", 4 },
	[OP_CLEAR_IO] = { "clear_io_irq", 15 },
	[OP_APF] = { "apf", 5 },
	[OP_REGISTER] = { "adapter_register", 20 },
	[OP_MODIFY] = { "adapter_modify", 40 },
	[OP_AISM] = { "aism", 20 },
	[OP_AISM_ALL_SET] = { "aism_all_set", 8 },
	[OP_AISM_ALL_GET] = { "aism_all_get", 5 },
	[OP_AIRQ] = { "airq_inject", 35 },
	[OP_HAS_ATTR] = { "has_attr", 3 },
	[OP_FLIC] = { "flic_create_destroy", 4 },
	[OP_INJECT] = { "vm_inject", 30 },
	[OP_INTERRUPT] = { "vm_interrupt", 20 },
	[OP_ROUTES] = { "routes_set", 20 },
	[OP_TRIGGER] = { "route_trigger", 90 },
	[OP_SLOT] = { "mem_set_slot", 15 },
	[OP_MEM_WRITE] = { "mem_write", 40 },
	[OP_MEM_READ] = { "mem_read", 30 },
	[OP_DIRTY] = { "mem_get_dirty_log", 10 },
	[OP_VCPU_SET] = { "vcpu_set", 40 },
	[OP_VCPU_GET] = { "vcpu_get", 5 },
	[OP_VCPU_RUN] = { "vcpu_run", 30 },
	[OP_VCPU_WAIT] = { "vcpu_wait", 45 },
	[OP_DELIVERABLE] = { "vcpu_deliverable", 10 },
	[OP_DELIVER] = { "vcpu_deliver", 70 },
	[OP_TPI] = { "vcpu_tpi", 35 },
	[OP_TSCH] = { "vcpu_tsch", 15 },
	[OP_GISC_REG] = { "gisc_register", 20 },
	[OP_GISC_UNREG] = { "gisc_unregister", 15 },
	[OP_HW_AIRQ] = { "gisa_hw_airq", 40 },
	[OP_ALERTS] = { "host_process_alerts", 20 },
	[OP_TIMER] = { "gisa_timer_fire", 30 },
};

#define MAX_RECS 8
#define MAX_OP_ROUTES 6
#define GET_BIG ((size_t)GISA_IRQ_SIZE * 4096)

struct op {
	enum op_kind kind;
	uint64_t a[6];
	size_t nrec;
	struct gisa_irq rec[MAX_RECS];
	size_t nroutes;
	struct gisa_route_entry routes[MAX_OP_ROUTES];
	struct gisa_vcpu_state vst;
	uint8_t data[64];
};

/* Guest addresses near page and slot edges, inside and outside memslots. */
static uint64_t pick_addr(struct rng *r)
{
	static const uint64_t base[] = {
		0x10000, 0x10008, 0x10ff8, 0x11000, 0x20000, 0x20100, 0x30ffc, 0x3f000,
		0x40000, 0x48010, 0x7fff8, 0xf0000, 0xffff8, 0x100000, 0x110000, 0x200000,
	};
	uint64_t a = base[rn(r, ARRAY_SIZE(base))];

	if (rn(r, 4) == 0)
		a += rn(r, 32);
	if (rn(r, 60) == 0)
		a = rnd(r);
	return a;
}

/* Route areas: mostly inside the initial memslots, so that setup succeeds. */
static uint64_t pick_area(struct rng *r)
{
	static const uint64_t base[] = {
		0x10000, 0x10008, 0x10ff8, 0x20000, 0x20100, 0x30ffc, 0x48010, 0xf0000,
	};

	if (rn(r, 8) == 0)
		return pick_addr(r);
	return base[rn(r, ARRAY_SIZE(base))] + (rn(r, 4) ? 0 : rn(r, 16));
}

static uint32_t pick_schid(struct rng *r)
{
	static const uint16_t ids[] = { 0x0001, 0x0002, 0x0101 };

	return (uint32_t)ids[rn(r, 3)] << 16 | rn(r, 3);
}

static uint32_t pick_vcpu(struct rng *r, uint32_t nr)
{
	uint32_t k = rn(r, 20);

	if (k == 0 || nr == 0)
		return nr + rn(r, 2);
	if (k < 5)
		return rn(r, nr);
	return rn(r, nr < 4 ? nr : 4);
}

static void gen_record(struct rng *r, struct gisa_irq *q)
{
	static const uint32_t srv[] = {
		0, 1, 2, 3, 0x1000, 0x2008, 0x3001, 0x4, 0x7, 0x5000,
	};
	static const uint64_t bad[] = {
		GISA_INT_PFAULT_INIT, GISA_INT_PROGRAM, GISA_INT_SIGP_STOP, GISA_INT_EMERGENCY,
		GISA_INT_RESTART, GISA_INT_CPU_TIMER, 0x100000000ull, 0xfffe0006,
	};
	uint32_t k = rn(r, 100);
	uint32_t schid = pick_schid(r);
	uint64_t parm;

	memset(q, 0, sizeof(*q));
	if (k < 40) {
		q->type = GISA_INT_IO(0, schid >> 24, (schid >> 17) & 3, schid & 0xffff);
		q->u.io.subchannel_id = (uint16_t)(schid >> 16);
		q->u.io.subchannel_nr = (uint16_t)schid;
		/*
		 * Half take one of 4 parameters, so that lists repeat
		 * entries (the dictionary form of the snapshot); one draw
		 * either way, so the rest of the sequence stays as it was.
		 */
		parm = rnd(r);
		q->u.io.io_int_parm = parm & 1 ? (uint32_t)(parm >> 32) : (uint32_t)(parm >> 1) & 3;
		q->u.io.io_int_word = rn(r, 8) << 27;
		if (rn(r, 8) == 0)
			q->u.io.io_int_word |= (uint32_t)rnd(r) & 0x87ffffffu;
		if (rn(r, 20) == 0)
			q->type = rnd(r) % ((uint64_t)GISA_INT_IO_MAX + 1);
	} else if (k < 50) {
		q->type = GISA_INT_IO_AI_MASK;
		if (rn(r, 4) == 0)
			q->type |= rnd(r) & 0x3ffffff;
		q->u.io.io_int_word = GISA_IO_WORD_AI | rn(r, 8) << 27;
		q->u.io.io_int_parm = rn(r, 4) ? 0 : (uint32_t)rnd(r);
	} else if (k < 63) {
		q->type = GISA_INT_SERVICE;
		q->u.ext.ext_params = rn(r, 6) ? srv[rn(r, ARRAY_SIZE(srv))] : (uint32_t)rnd(r);
	} else if (k < 76) {
		q->type = GISA_INT_VIRTIO;
		q->u.ext.ext_params = (uint32_t)rnd(r);
		q->u.ext.pad = rn(r, 5) ? 0 : (uint32_t)rnd(r);
		q->u.ext.ext_params2 = rnd(r);
	} else if (k < 87) {
		q->type = GISA_INT_PFAULT_DONE;
		q->u.ext.ext_params = rn(r, 5) ? 0 : (uint32_t)rnd(r);
		q->u.ext.ext_params2 = rnd(r);
	} else if (k < 95) {
		q->type = GISA_INT_MCHK;
		q->u.mchk.cr14 = rn(r, 3) ? GISA_CR14_CHANNEL_REPORT : rn(r, 2) ? 0 : rnd(r);
		q->u.mchk.mcic = rn(r, 2) ? 1ull << rn(r, 64) : rnd(r);
	} else {
		q->type = bad[rn(r, ARRAY_SIZE(bad))];
		if (rn(r, 4) == 0)
			q->type = rnd(r);
	}
}

static void gen_routes(struct rng *r, struct op *o)
{
	uint32_t gsi = rn(r, 3);

	o->nroutes = rn(r, 16) ? 1 + rn(r, MAX_OP_ROUTES - 1) : 0;
	for (size_t i = 0; i < o->nroutes; i++) {
		struct gisa_route_entry *e = &o->routes[i];
		uint32_t k = rn(r, 100);

		memset(e, 0, sizeof(*e));
		e->gsi = gsi;
		gsi += 1 + rn(r, 2);
		if (rn(r, 40) == 0)
			e->gsi = rn(r, 16);             /* may repeat one */
		if (rn(r, 80) == 0)
			e->gsi = GISA_MAX_IRQ_ROUTES + rn(r, 4);
		e->type = GISA_IRQ_ROUTING_S390_ADAPTER;
		if (rn(r, 60) == 0)
			e->type = rn(r, 2) ? GISA_IRQ_ROUTING_MSI : GISA_IRQ_ROUTING_IRQCHIP;
		if (rn(r, 60) == 0)
			e->flags = 1;
		e->adapter.ind_addr = pick_area(r);
		e->adapter.summary_addr = pick_area(r);
		e->adapter.ind_offset = k < 70 ? rn(r, 64) : k < 90 ? rn(r, 512) :
					k < 98 ? rn(r, 40000) : rnd(r);
		e->adapter.summary_offset = rn(r, 5) ? rn(r, 8) : rn(r, 70000);
		e->adapter.adapter_id = rn(r, 30) ? rn(r, 6) : GISA_MAX_ADAPTERS + rn(r, 8);
	}
}

static void gen_vcpu_state(struct rng *r, struct gisa_vcpu_state *s)
{
	uint32_t run = rn(r, 10);

	memset(s, 0, sizeof(*s));
	if (rn(r, 4))
		s->psw_mask |= GISA_PSW_MASK_IO;
	if (rn(r, 4))
		s->psw_mask |= GISA_PSW_MASK_EXT;
	if (rn(r, 4))
		s->psw_mask |= GISA_PSW_MASK_MCHECK;
	if (rn(r, 8) == 0)
		s->psw_mask |= rnd(r);
	s->cr0 = rn(r, 3) ? 0x6e00 : rnd(r) & 0xffff;
	s->cr6 = rn(r, 3) ? 0xff000000 : (uint64_t)rn(r, 256) << 24;
	if (rn(r, 10) == 0)
		s->cr6 |= rnd(r) & ~0xff000000ull;
	s->cr14 = rn(r, 3) ? GISA_CR14_CHANNEL_REPORT : rn(r, 2) ? 0 : rnd(r);
	s->run = run < 6 ? GISA_VCPU_RUNNING : run < 8 ? GISA_VCPU_IDLE : GISA_VCPU_STOPPED;
	if (rn(r, 40) == 0)
		s->run = (enum gisa_run_state)(3 + rn(r, 3));
	s->kicked = rn(r, 2);     /* ignored by gisa_vcpu_set */
}

static void gen_op(struct rng *r, uint32_t nr_vcpus, struct op *o)
{
	static unsigned total;
	unsigned w;

	if (!total)
		for (unsigned k = 0; k < OP_NR; k++)
			total += op_table[k].weight;
	memset(o, 0, sizeof(*o));
	w = rn(r, total);
	for (o->kind = 0; w >= op_table[o->kind].weight; o->kind++)
		w -= op_table[o->kind].weight;

	switch (o->kind) {
	case OP_ENQUEUE:
	case OP_INJECT:
		o->nrec = o->kind == OP_INJECT ? 1 : 1 + rn(r, 6);
		for (size_t i = 0; i < o->nrec; i++)
			gen_record(r, &o->rec[i]);
		o->a[0] = rn(r, 25);                  /* length / buffer variant */
		o->a[1] = rn(r, (uint32_t)o->nrec * GISA_IRQ_SIZE);
		break;
	case OP_GET_ALL: {
		uint32_t k = rn(r, 40);

		o->a[0] = k < 30 ? GISA_IRQ_SIZE * 256 : k < 36 ? GISA_IRQ_SIZE * rn(r, 7) :
			  k < 38 ? 1 + rn(r, 200) : k < 39 ? GET_BIG : 0;
		o->a[1] = rn(r, 20) ? o->a[0] : o->a[0] / 2;   /* buffer length */
		break;
	}
	case OP_CLEAR_IO:
		o->a[0] = rn(r, 20) ? pick_schid(r) : 0;
		o->a[1] = rn(r, 30) ? 4 : rn(r, 8);
		break;
	case OP_APF:
		o->a[0] = rn(r, 3);
		break;
	case OP_FLIC:
		o->a[0] = rn(r, 8);     /* 0: destroy; the FLIC is mostly there */
		break;
	case OP_REGISTER:
		o->a[0] = rn(r, 30) ? rn(r, 8) : GISA_MAX_ADAPTERS + rn(r, 4);
		o->a[1] = rn(r, 20) ? rn(r, 8) : rn(r, 256);
		o->a[2] = rn(r, 2);
		o->a[3] = rn(r, 2);
		o->a[4] = rn(r, 10) ? rn(r, 2) : rn(r, 256);
		break;
	case OP_MODIFY:
		o->a[0] = rn(r, 8);
		o->a[1] = rn(r, 30) ? 1 + rn(r, 3) : rn(r, 6);
		o->a[2] = rn(r, 2);
		o->a[3] = rn(r, 20) ? pick_addr(r) : 0;
		break;
	case OP_AISM:
		o->a[0] = rn(r, 9);
		o->a[1] = rn(r, 12) ? rn(r, 2) : rn(r, 4);
		break;
	case OP_AISM_ALL_SET:
		o->a[0] = rn(r, 256);
		o->a[1] = rn(r, 3) ? 0 : rn(r, 256);
		break;
	case OP_AIRQ:
		o->a[0] = rn(r, 20) ? rn(r, 8) : rnd(r);
		break;
	case OP_HAS_ATTR:
		o->a[0] = rn(r, 14);
		break;
	case OP_INTERRUPT: {
		static const uint32_t types[] = {
			GISA_INT_SERVICE, GISA_INT_VIRTIO, GISA_INT_PFAULT_DONE, GISA_INT_MCHK,
			0x00010002, GISA_INT_IO_AI_MASK, GISA_INT_PFAULT_INIT, GISA_INT_PROGRAM,
		};

		o->a[0] = types[rn(r, ARRAY_SIZE(types))];
		o->a[1] = rn(r, 2) ? rn(r, 0x4000) : (uint32_t)rnd(r);
		o->a[2] = rn(r, 2) ? (uint64_t)rn(r, 8) << 27 : rnd(r);
		break;
	}
	case OP_ROUTES:
		gen_routes(r, o);
		o->a[0] = rn(r, 50) ? 0 : 1;           /* flags */
		break;
	case OP_TRIGGER:
		o->a[0] = rn(r, 50) ? rn(r, 2) ? rn(r, 4) : rn(r, 10) : rnd(r);
		o->a[1] = rn(r, 10) ? 1 : rn(r, 3);
		break;
	case OP_SLOT: {
		/* Each slot has a home; most changes keep the layout near it. */
		static const uint64_t home_gpa[] = { 0, 0x40000, 0xf0000, 0x100000, 0x200000 };
		static const uint64_t home_size[] = { 0x40000, 0x40000, 0x10000, 0x10000, 0x2000 };
		static const uint64_t gpas[] = {
			0, 0x10000, 0x20000, 0x40000, 0x80000, 0xf0000, 0x100000, 0x110000,
			0x200000,
		};
		static const uint64_t sizes[] = {
			0x1000, 0x2000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000,
		};
		uint32_t k = rn(r, 10), id = rn(r, 5);

		o->a[0] = id;
		o->a[1] = k < 8 ? home_gpa[id] : gpas[rn(r, ARRAY_SIZE(gpas))];
		o->a[2] = k < 5 ? home_size[id] : k < 6 ? 0 : sizes[rn(r, ARRAY_SIZE(sizes))];
		if (rn(r, 30) == 0)
			o->a[1] += 0x800;
		break;
	}
	case OP_MEM_WRITE:
		o->a[0] = rn(r, 2) ? pick_area(r) : pick_addr(r);
		o->a[1] = 1 + rn(r, 16);
		if (rn(r, 2))
			for (unsigned i = 0; i < sizeof(o->data); i++)
				o->data[i] = (uint8_t)rnd(r);
		break;
	case OP_MEM_READ:
		o->a[0] = rn(r, 2) ? pick_area(r) : pick_addr(r);
		if (rn(r, 3) == 0)
			o->a[0] &= ~(uint64_t)(GISA_PAGE_SIZE - 1);
		o->a[1] = rn(r, 4) ? 1 + rn(r, 64) : GISA_PAGE_SIZE;
		break;
	case OP_DIRTY:
		o->a[0] = rn(r, 5);
		o->a[1] = rn(r, 6) ? 8 : rn(r, 3);
		break;
	case OP_VCPU_SET:
		gen_vcpu_state(r, &o->vst);
		o->a[0] = pick_vcpu(r, nr_vcpus);
		break;
	case OP_VCPU_GET:
	case OP_VCPU_RUN:
	case OP_VCPU_WAIT:
	case OP_DELIVERABLE:
	case OP_DELIVER:
	case OP_TPI:
		o->a[0] = pick_vcpu(r, nr_vcpus);
		break;
	case OP_TSCH: {
		uint32_t k = rn(r, 10);

		o->a[0] = pick_vcpu(r, nr_vcpus);
		o->a[1] = k == 0 ? 0 : k == 1 ? 1ull << 32 | pick_schid(r) : pick_schid(r);
		break;
	}
	case OP_GISC_REG:
	case OP_GISC_UNREG:
		o->a[0] = rn(r, 9);
		break;
	case OP_HW_AIRQ:
		o->a[0] = rn(r, 9);
		o->a[1] = rn(r, 3) == 0;
		break;
	default:
		break;
	}
}

/* ---- results, logged as (what, value) pairs --------------------------------- */

struct ent {
	const char *what;
	uint64_t v;
};

struct olog {
	struct ent *e;
	size_t n, cap;
};

static void put(struct olog *o, const char *what, uint64_t v)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 256;
		o->e = realloc(o->e, o->cap * sizeof(*o->e));
		assert_non_null(o->e);
	}
	o->e[o->n++] = (struct ent){ .what = what, .v = v };
}

static void put_bytes(struct olog *o, const char *what, const uint8_t *b, size_t len)
{
	put(o, what, len);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;

		for (size_t k = i; k < i + 8 && k < len; k++)
			v = v << 8 | b[k];
		put(o, what, v);
	}
}

static void put_irq(struct olog *o, const char *what, const struct gisa_irq *irq)
{
	uint8_t b[GISA_IRQ_SIZE];

	gisa_irq_pack1(irq, GISA_BE, b);
	put_bytes(o, what, b, sizeof(b));
}

/* The per-VM context of a run: the VM, its host, and the event bookkeeping. */
struct side {
	struct gisa_vm *vm;
	struct gisa_host *host;
	enum gisa_byteorder order;
	uint64_t last_seq;
	uint64_t dropped;
	uint64_t gal;
	struct olog log;
};

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

static int op_enqueue(struct side *s, const struct op *o)
{
	size_t len = o->nrec * GISA_IRQ_SIZE;
	uint8_t buf[MAX_RECS * GISA_IRQ_SIZE];
	struct gisa_attr a = {
		.group = GISA_FLIC_ENQUEUE, .attr = len,
		.addr = { .data = buf, .len = len },
	};

	assert_int_equal(gisa_irq_pack(o->rec, o->nrec, s->order, buf, len), 0);
	switch (o->a[0]) {
	case 0:
		a.attr = len + 1 + o->a[1] % 71;           /* not a multiple: -EINVAL */
		break;
	case 1:
		a.addr.len = o->a[1];                    /* short buffer: partial, -EFAULT */
		break;
	case 2:
		a.addr.bad_off = o->a[1];                /* unreadable range */
		a.addr.bad_len = 1;
		break;
	case 3:
		a.attr = (uint32_t)-(int32_t)GISA_IRQ_SIZE;   /* "negative" length */
		break;
	default:
		break;
	}
	return gisa_flic_set_attr(s->vm, &a);
}

static void op_apply(struct side *s, const struct op *o)
{
	struct gisa_vm *vm = s->vm;
	struct olog *log = &s->log;
	int r = 0;

	switch (o->kind) {
	case OP_ENQUEUE:
		r = op_enqueue(s, o);
		break;
	case OP_GET_ALL: {
		size_t blen = (size_t)o->a[1];
		uint8_t *buf = xcalloc(blen + 1, 1);
		struct gisa_attr a = {
			.group = GISA_FLIC_GET_ALL_IRQS, .attr = o->a[0],
			.addr = { .data = buf, .len = blen },
		};

		memset(buf, 0xa5, blen + 1);
		r = gisa_flic_get_attr(vm, &a);
		put_bytes(log, "get_all_irqs buffer", buf, blen);
		free(buf);
		break;
	}
	case OP_CLEAR_IRQS:
		r = set_attr(vm, GISA_FLIC_CLEAR_IRQS, 0, NULL, 0);
		break;
	case OP_CLEAR_IO: {
		uint8_t b[4];

		st32(b, (uint32_t)o->a[0], s->order);
		r = set_attr(vm, GISA_FLIC_CLEAR_IO_IRQ, o->a[1], b, sizeof(b));
		break;
	}
	case OP_APF:
		r = set_attr(vm, o->a[0] ? GISA_FLIC_APF_ENABLE : GISA_FLIC_APF_DISABLE_WAIT, 0,
			     NULL, 0);
		break;
	case OP_REGISTER: {
		struct gisa_io_adapter ad = {
			.id = (uint32_t)o->a[0], .isc = (uint8_t)o->a[1],
			.maskable = (uint8_t)o->a[2], .swap = (uint8_t)o->a[3],
			.flags = (uint8_t)o->a[4],
		};
		uint8_t b[GISA_IO_ADAPTER_SIZE];

		gisa_io_adapter_pack(&ad, s->order, b);
		r = set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b));
		break;
	}
	case OP_MODIFY: {
		struct gisa_io_adapter_req q = {
			.id = (uint32_t)o->a[0], .type = (uint8_t)o->a[1],
			.mask = (uint8_t)o->a[2], .addr = o->a[3],
		};
		uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];

		gisa_io_adapter_req_pack(&q, s->order, b);
		r = set_attr(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b));
		break;
	}
	case OP_AISM: {
		struct gisa_ais_req q = { .isc = (uint8_t)o->a[0], .mode = (uint16_t)o->a[1] };
		uint8_t b[GISA_AIS_REQ_SIZE];

		gisa_ais_req_pack(&q, s->order, b);
		r = set_attr(vm, GISA_FLIC_AISM, 0, b, sizeof(b));
		break;
	}
	case OP_AISM_ALL_SET: {
		uint8_t b[2] = { (uint8_t)o->a[0], (uint8_t)o->a[1] };

		r = set_attr(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b));
		break;
	}
	case OP_AISM_ALL_GET: {
		uint8_t b[2] = { 0xee, 0xee };
		struct gisa_attr a = {
			.group = GISA_FLIC_AISM_ALL, .attr = 2, .addr = { .data = b, .len = 2 },
		};

		r = gisa_flic_get_attr(vm, &a);
		put_bytes(log, "aism_all bytes", b, 2);
		break;
	}
	case OP_AIRQ:
		r = set_attr(vm, GISA_FLIC_AIRQ_INJECT, o->a[0], NULL, 0);
		break;
	case OP_HAS_ATTR: {
		struct gisa_attr a = { .group = (uint32_t)o->a[0] };

		r = gisa_flic_has_attr(vm, &a);
		break;
	}
	case OP_FLIC:
		r = o->a[0] ? gisa_flic_create(vm) : gisa_flic_destroy(vm);
		break;
	case OP_INJECT:
		r = gisa_vm_inject(vm, &o->rec[0]);
		break;
	case OP_INTERRUPT:
		r = gisa_vm_interrupt(vm, (uint32_t)o->a[0], (uint32_t)o->a[1], o->a[2]);
		break;
	case OP_ROUTES:
		r = gisa_routes_set(vm, o->routes, o->nroutes, (uint32_t)o->a[0]);
		break;
	case OP_TRIGGER:
		r = gisa_route_trigger(vm, (uint32_t)o->a[0], (int)o->a[1]);
		break;
	case OP_SLOT:
		r = gisa_mem_set_slot(vm, (uint32_t)o->a[0], o->a[1], o->a[2]);
		break;
	case OP_MEM_WRITE:
		r = gisa_mem_write(vm, o->a[0], o->data, (size_t)o->a[1]);
		break;
	case OP_MEM_READ: {
		uint8_t b[GISA_PAGE_SIZE];

		memset(b, 0xa5, sizeof(b));
		r = gisa_mem_read(vm, o->a[0], b, (size_t)o->a[1]);
		put_bytes(log, "mem_read bytes", b, (size_t)o->a[1]);
		break;
	}
	case OP_DIRTY: {
		uint8_t b[8 * sizeof(uint64_t)];
		uint64_t bm[8];

		memset(bm, 0xa5, sizeof(bm));
		r = gisa_mem_get_dirty_log(vm, (uint32_t)o->a[0], bm, (size_t)o->a[1]);
		memcpy(b, bm, sizeof(b));
		put_bytes(log, "dirty bitmap", b, sizeof(b));
		break;
	}
	case OP_VCPU_SET:
		r = gisa_vcpu_set(vm, (uint32_t)o->a[0], &o->vst);
		break;
	case OP_VCPU_GET: {
		struct gisa_vcpu_state st;

		memset(&st, 0, sizeof(st));
		r = gisa_vcpu_get(vm, (uint32_t)o->a[0], &st);
		put(log, "vcpu.psw_mask", st.psw_mask);
		put(log, "vcpu.cr0", st.cr0);
		put(log, "vcpu.cr6", st.cr6);
		put(log, "vcpu.cr14", st.cr14);
		put(log, "vcpu.run", st.run);
		put(log, "vcpu.kicked", st.kicked);
		break;
	}
	case OP_VCPU_RUN:
		r = gisa_vcpu_run(vm, (uint32_t)o->a[0]);
		break;
	case OP_VCPU_WAIT:
		r = gisa_vcpu_wait(vm, (uint32_t)o->a[0]);
		break;
	case OP_DELIVERABLE: {
		uint32_t bits = 0xdeadbeef;

		r = gisa_vcpu_deliverable(vm, (uint32_t)o->a[0], &bits);
		put(log, "deliverable bits", bits);
		break;
	}
	case OP_DELIVER: {
		struct gisa_delivery d;

		memset(&d, 0, sizeof(d));
		r = gisa_vcpu_deliver(vm, (uint32_t)o->a[0], &d);
		if (r == 1) {
			put(log, "delivery.kind", d.kind);
			put(log, "delivery.irq_bit", (uint64_t)d.irq_bit);
			put(log, "delivery.type", d.type);
			if (d.kind == GISA_DELIVER_IO) {
				put(log, "delivery.io.subchannel_id", d.u.io.subchannel_id);
				put(log, "delivery.io.subchannel_nr", d.u.io.subchannel_nr);
				put(log, "delivery.io.io_int_parm", d.u.io.io_int_parm);
				put(log, "delivery.io.io_int_word", d.u.io.io_int_word);
			} else if (d.kind == GISA_DELIVER_EXT) {
				put(log, "delivery.ext.code", d.u.ext.code);
				put(log, "delivery.ext.cpu_addr", d.u.ext.cpu_addr);
				put(log, "delivery.ext.param", d.u.ext.param);
				put(log, "delivery.ext.param64", d.u.ext.param64);
			} else {
				put(log, "delivery.mchk.mcic", d.u.mchk.mcic);
				put(log, "delivery.mchk.cr14", d.u.mchk.cr14);
			}
		}
		break;
	}
	case OP_TPI:
	case OP_TSCH: {
		struct gisa_irq irq;

		memset(&irq, 0, sizeof(irq));
		if (o->kind == OP_TPI)
			r = gisa_vcpu_tpi(vm, (uint32_t)o->a[0], &irq);
		else
			r = gisa_vcpu_tsch(vm, (uint32_t)o->a[0], o->a[1], &irq);
		if (r == 1)
			put_irq(log, "tpi/tsch record", &irq);
		break;
	}
	case OP_GISC_REG:
		r = gisa_gisc_register(vm, (uint32_t)o->a[0]);
		break;
	case OP_GISC_UNREG:
		r = gisa_gisc_unregister(vm, (uint32_t)o->a[0]);
		break;
	case OP_HW_AIRQ:
		r = gisa_gisa_hw_airq(vm, (uint32_t)o->a[0], o->a[1] != 0);
		break;
	case OP_ALERTS:
		r = gisa_host_process_alerts(s->host);
		break;
	case OP_TIMER:
		r = gisa_gisa_timer_fire(vm);
		break;
	case OP_NR:
		break;
	}
	put(log, "return code", (uint64_t)(int64_t)r);
}

/*
 * What the step made observable besides its results: events (sequence
 * numbers relative to the previous event: the source's count continues its
 * history), dropped events, and the host's alert list and GAL interruptions
 * (each VM is alone on its host, so the host shows only this VM's doing).
 */
static void observe(struct side *s)
{
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	struct gisa_host_info hi;
	size_t n = gisa_vm_events_read(s->vm, ev, ARRAY_SIZE(ev));

	put(&s->log, "events", n);
	for (size_t i = 0; i < n; i++) {
		put(&s->log, "event.seq delta", ev[i].seq - s->last_seq);
		put(&s->log, "event.kind", ev[i].kind);
		put(&s->log, "event.vcpu", ev[i].vcpu);
		put(&s->log, "event.flag", ev[i].flag);
		s->last_seq = ev[i].seq;
	}
	put(&s->log, "events dropped", gisa_vm_events_dropped(s->vm) - s->dropped);
	gisa_host_info(s->host, &hi);
	put(&s->log, "host.alert_origin", hi.alert_origin);
	put(&s->log, "host.alert_list_len", hi.alert_list_len);
	put(&s->log, "host.gal_interrupts delta", hi.gal_interrupts - s->gal);
	put(&s->log, "host.nr_vms", hi.nr_vms);
}

static void op_print(const struct op *o)
{
	print_error("  op %s a=[0x%llx 0x%llx 0x%llx 0x%llx 0x%llx] nrec %zu nroutes %zu\n",
		    op_table[o->kind].name, (unsigned long long)o->a[0],
		    (unsigned long long)o->a[1], (unsigned long long)o->a[2],
		    (unsigned long long)o->a[3], (unsigned long long)o->a[4], o->nrec,
		    o->nroutes);
	for (size_t i = 0; i < o->nrec; i++)
		print_error("  record %zu type 0x%llx\n", i, (unsigned long long)o->rec[i].type);
}

static void logs_compare(struct side *a, struct side *b, const struct op *o)
{
	size_t n = a->log.n < b->log.n ? a->log.n : b->log.n;

	for (size_t i = 0; i < n; i++) {
		const struct ent *x = &a->log.e[i], *y = &b->log.e[i];

		if (x->what != y->what || x->v != y->v) {
			print_error("%s: result %zu differs: source %s = 0x%llx, "
				    "restored %s = 0x%llx\n", g_where, i, x->what,
				    (unsigned long long)x->v, y->what, (unsigned long long)y->v);
			op_print(o);
			fail();
		}
	}
	if (a->log.n != b->log.n) {
		print_error("%s: %zu results vs %zu\n", g_where, a->log.n, b->log.n);
		op_print(o);
		fail();
	}
	a->log.n = b->log.n = 0;
}

/* ---- a directed build ------------------------------------------------------------ */

/*
 * A directed build (seed 0) that reaches every kind of state at once: lists
 * of every kind, service event and machine check pending, APF, adapters
 * masked, beyond ISC 7, with NEWEST maps, AIS SINGLE and NO modes, routes
 * into a memslot that went away and to an adapter never registered, a
 * stopped, an idle and a kicked vcpu, a moved kick cursor, and a GISA with
 * refcounts, IPM, its timer re-armed and itself on the alert list.
 */
static void build_rich(struct gisa_vm *vm, const struct gisa_vm_config *cfg)
{
	bool newest = cfg->profile == GISA_PROFILE_NEWEST;
	bool gisa = cfg->caps & GISA_CAP_GISA, ais = cfg->caps & GISA_CAP_AIS;
	struct gisa_route_entry routes[] = {
		t_route(1, 0x10000, 5, 0x20000, 0, 0),
		t_route(2, 0x48010, 3, 0x48000, 1, 1),
		t_route(3, 0xf0100, 0, 0xf0200, 0, 3),
		t_route(4, 0x30000, 9, 0x30008, 2, 7),
		t_route(5, 0x11000, 70, 0x12000, 7, 2),
	};
	struct gisa_irq recs[] = {
		t_io(0x0001, 1, 0xa, 0), t_io(0x0002, 2, 0xb, 3), t_io(0x0101, 0, 0xc, 7),
		t_srv(0x1001), t_virt(0x11, 0x22), t_pfd(0x33),
		t_mck(GISA_CR14_CHANNEL_REPORT, 5), t_io(0x0001, 2, 0xd, 3), t_srv(0x2000),
	};
	struct gisa_state st;

	assert_int_equal(cfg->abi_order, GISA_BE);   /* the support wrappers pack BE */
	assert_int_equal(cfg->nr_vcpus, 4);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_APF_ENABLE, 0, NULL, 0), 0);
	assert_int_equal(t_register(vm, 0, 3, 1, 0, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_register(vm, 1, 5, 1, 1, 0), 0);
	assert_int_equal(t_register(vm, 2, 11, 0, 0, 0), 0);
	assert_int_equal(t_register(vm, 3, 2, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	if (newest) {
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x20000), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_UNMAP, 0, 0x20000), 0);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x48000), 0);
	}
	if (ais) {
		assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
		assert_int_equal(t_aism(vm, 2, GISA_AIS_MODE_SINGLE), 0);
		assert_int_equal(t_aism(vm, 6, GISA_AIS_MODE_SINGLE), 0);
	}
	assert_int_equal(gisa_routes_set(vm, routes, ARRAY_SIZE(routes), 0), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	assert_int_equal(gisa_route_trigger(vm, 2, 1), 1);
	assert_int_equal(gisa_route_trigger(vm, 3, 1), 1);
	assert_int_equal(gisa_route_trigger(vm, 4, 1), -1);
	assert_int_equal(gisa_route_trigger(vm, 5, 1), 1);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 0, 0), 0);       /* route 3's slot */
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);   /* all running: round robin */
	if (gisa) {
		assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vm, 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisa_hw_airq(vm, 6, false), 0);
		assert_int_equal(gisa_host_process_alerts(gisa_vm_host(vm)), 1);
	}
	t_vcpu_set(vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(3) | GISA_CR6_ISC(6), 0,
		   GISA_VCPU_IDLE);
	t_vcpu_all_on(vm, 1);
	t_vcpu_set(vm, 1, GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK, 0x6e00,
		   0xff000000, GISA_CR14_CHANNEL_REPORT, GISA_VCPU_STOPPED);
	t_vcpu_set(vm, 2, GISA_PSW_MASK_EXT, 0, 0xff000000, 0, GISA_VCPU_RUNNING);
	/* Only machine checks enabled, and not this one's subclass: it sleeps. */
	t_vcpu_set(vm, 3, GISA_PSW_MASK_MCHECK, 0, 0, 0, GISA_VCPU_RUNNING);
	assert_int_equal(gisa_vcpu_wait(vm, 3), 1);
	if (gisa) {
		assert_int_equal(gisa_gisa_timer_fire(vm), 1);          /* kicks vcpu 0 */
		assert_int_equal(gisa_gisc_register(vm, 1), GISA_DEFAULT_NISC);  /* IAM again */
		assert_int_equal(gisa_gisa_hw_airq(vm, 1, false), 0);   /* listed */
	}

	gisa_state_read(vm, &st);
	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		if (li == 0 || li == 7 || li >= GISA_LIST_PFAULT)
			assert_int_not_equal(st.list_len[li], 0);
	assert_int_equal(st.pending_irqs >> GISA_IRQ_EXT_SERVICE_EV & 1, 1);
	assert_int_equal(st.pending_irqs >> GISA_IRQ_MCHK_REP & 1, 1);
	assert_true(st.apf_enabled);
	assert_int_not_equal(st.kick_cursor, 0);
	assert_int_equal(st.nimm != 0, ais);
	if (gisa) {
		struct gisa_vcpu_state v;

		assert_true(st.gisa.on_alert_list);
		assert_true(st.gisa.timer_armed);
		assert_int_equal(st.gisa.timer_delay_ns, GISA_KICKER_DELAY_NS);
		assert_int_equal(gisa_vcpu_get(vm, 0, &v), 0);
		assert_true(v.kicked);
	}
}


/* ---- snapshot plumbing ----------------------------------------------------------- */

static const uint8_t test_uuid[16] = {
	0x5a, 0x17, 0x00, 0xc3, 0x9e, 0x41, 0x4b, 0x2d, 0x8f, 0x60, 0x11, 0x22, 0x33, 0x44,
	0x55, 0x66,
};

/* Container options by seed: compressed at several levels, every fourth stored. */
static struct gisa_snap_opts opts_for(uint32_t seed)
{
	static const int levels[] = { 0, 1, 3, 9, 19, -5, 2 };
	struct gisa_snap_opts o = {
		.compress = seed % 4 != 3,
		.level = levels[seed % ARRAY_SIZE(levels)],
	};

	return o;
}

static uint8_t *encode_ok(const struct gisa_image *img, const struct gisa_snap_meta *meta,
			  const struct gisa_snap_opts *opts, size_t *ret_len)
{
	uint8_t *buf = NULL;
	int r = gisa_snap_encode(img, meta, opts, &buf, ret_len);

	if (r) {
		print_error("%s: gisa_snap_encode: %d\n", g_where, r);
		fail();
	}
	return buf;
}

static struct gisa_image *decode_ok(const uint8_t *buf, size_t len, struct gisa_snap_info *info)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_image *img = NULL;
	int r = gisa_snap_decode(buf, len, &img, info, &err);

	if (r) {
		print_error("%s: gisa_snap_decode: %d: %s\n", g_where, r, err.msg);
		fail();
	}
	return img;
}

static struct gisa_vm *build_ok(const struct gisa_image *img, struct gisa_host *host)
{
	struct gisa_restore_error err;
	struct gisa_vm *vm = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = gisa_image_build_vm(img, host, &vm, &err);
	if (r) {
		print_error("%s: gisa_image_build_vm: %d field %s index %llu value 0x%llx (%s)\n",
			    g_where, r, err.field ? err.field : "-", (unsigned long long)err.index,
			    (unsigned long long)err.value, err.reason ? err.reason : "-");
		fail();
	}
	return vm;
}

static void state_bytes_ok(const struct gisa_image *img, uint8_t **ret, size_t *ret_len)
{
	assert_int_equal(gisa_snap_state_bytes(img, ret, ret_len), 0);
}

static void bytes_equal(const char *what, const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen)
{
	if (alen != blen) {
		print_error("%s: %s: %zu bytes vs %zu\n", g_where, what, alen, blen);
		fail();
	}
	for (size_t i = 0; i < alen; i++) {
		if (a[i] != b[i]) {
			print_error("%s: %s differ at byte %zu: 0x%02x vs 0x%02x\n", g_where, what,
				    i, a[i], b[i]);
			fail();
		}
	}
}

/* The digest is SHA-256 of the state bytes, by the API and as computed here. */
static void digest_of(const struct gisa_image *img, const uint8_t *bytes, size_t len,
		      uint8_t out[GISA_SNAP_DIGEST_SIZE])
{
	uint8_t mine[32];

	assert_int_equal(gisa_snap_digest(img, out), 0);
	snapt_sha256(bytes, len, NULL, 0, mine);
	bytes_equal("digest vs SHA-256 of the state bytes", out, GISA_SNAP_DIGEST_SIZE, mine,
		    sizeof(mine));
}

/* What the decoder reports about a file this test wrote. */
static void info_check(const struct gisa_snap_info *in, const struct gisa_image *img,
		       const struct gisa_snap_meta *meta, const struct gisa_snap_opts *opts,
		       size_t state_len, const uint8_t digest[GISA_SNAP_DIGEST_SIZE])
{
	assert_int_equal(in->format_version, GISA_SNAP_FORMAT_VERSION);
	assert_int_equal(in->min_reader_version, 1);
	assert_int_equal(in->flags, opts->compress ? GISA_SNAP_FLAG_ZSTD : 0);
	assert_int_equal(in->state_len, state_len);
	if (!opts->compress)
		assert_int_equal(in->payload_len, state_len);
	assert_memory_equal(in->digest, digest, GISA_SNAP_DIGEST_SIZE);
	assert_int_equal(in->profile, img->config.profile);
	assert_int_equal(in->caps, img->config.caps);
	assert_string_equal(in->vm_name, meta->vm_name);
	assert_true(in->has_uuid);
	assert_memory_equal(in->vm_uuid, meta->vm_uuid, 16);
	assert_int_equal(in->created_unix_ns, meta->created_unix_ns);
	assert_string_equal(in->producer, meta->producer);
	assert_int_equal(in->compression_level,
			 !opts->compress ? 0 : opts->level ? opts->level : GISA_SNAP_DEFAULT_LEVEL);
}

/* ---- what the snapshots of all runs covered ---------------------------------------- */

static struct {
	unsigned io, ai_entry, ext, srv, srv_ev, mchk, ipm, iam, simm, nimm, masked, maps,
		 adapters, routes, pages, memslots, stopped, idle, kicked, cursor, on_list,
		 timer, timer_delay, refs, no_flic, apf, le, files_stored, files_zstd;
	unsigned dict, dict_io;     /* I/O lists with a repeated entry; one not an AI entry */
} seen;

static int entry_cmp(const void *pa, const void *pb)
{
	const struct gisa_list_entry *a = pa, *b = pb;
	const uint64_t ka[3] = { a->type, (uint64_t)a->u.io.subchannel_id << 16 |
				 a->u.io.subchannel_nr, (uint64_t)a->u.io.io_int_parm << 32 |
				 a->u.io.io_int_word };
	const uint64_t kb[3] = { b->type, (uint64_t)b->u.io.subchannel_id << 16 |
				 b->u.io.subchannel_nr, (uint64_t)b->u.io.io_int_parm << 32 |
				 b->u.io.io_int_word };

	for (unsigned i = 0; i < 3; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	return 0;
}

/*
 * Does an I/O list repeat an entry (so that the snapshot holds it in
 * dictionary form)?  *io: a repeated entry that is not an adapter interrupt.
 */
static bool list_repeats(const struct gisa_image_list *l, bool *io)
{
	struct gisa_list_entry *e;
	bool any = false;

	*io = false;
	if (l->n < 2)
		return false;
	e = xcalloc(l->n, sizeof(*e));
	memcpy(e, l->e, l->n * sizeof(*e));
	qsort(e, l->n, sizeof(*e), entry_cmp);
	for (uint32_t i = 1; i < l->n; i++) {
		if (!entry_cmp(&e[i - 1], &e[i])) {
			any = true;
			*io |= !(e[i].type & GISA_INT_IO_AI_MASK);
		}
	}
	free(e);
	return any;
}

static void note_coverage(const struct gisa_image *img, const struct gisa_snap_opts *opts)
{
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		if (!img->lists[l].n)
			continue;
		(*(l <= GISA_MAX_ISC ? &seen.io : &seen.ext))++;
		for (uint32_t i = 0; l <= GISA_MAX_ISC && i < img->lists[l].n; i++)
			seen.ai_entry += (img->lists[l].e[i].type & GISA_INT_IO_AI_MASK) != 0;
		if (l <= GISA_MAX_ISC) {
			bool io;

			seen.dict += list_repeats(&img->lists[l], &io);
			seen.dict_io += io;
		}
	}
	seen.srv += img->fl.service_pending;
	seen.srv_ev += img->fl.service_ev_pending;
	seen.mchk += img->fl.mchk_pending;
	seen.ipm += img->gisa.ipm != 0;
	seen.iam += img->gisa.iam != 0;
	seen.simm += img->fl.simm != 0;
	seen.nimm += img->fl.nimm != 0;
	seen.adapters += img->nr_adapters != 0;
	for (uint32_t i = 0; i < img->nr_adapters; i++) {
		seen.masked += img->adapters[i].a.masked;
		seen.maps += img->adapters[i].a.nr_maps != 0;
	}
	seen.routes += img->nr_routes != 0;
	seen.pages += img->nr_pages != 0;
	seen.memslots += img->nr_memslots != 0;
	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		seen.stopped += img->vcpus[i].run == GISA_VCPU_STOPPED;
		seen.idle += img->vcpus[i].run == GISA_VCPU_IDLE;
		seen.kicked += img->vcpus[i].kicked;
	}
	seen.cursor += img->fl.kick_cursor != 0;
	seen.on_list += img->gisa.on_alert_list;
	seen.timer += img->gisa.timer_armed;
	seen.timer_delay += img->gisa.timer_delay_ns != 0;
	seen.refs += img->gisa.alert_mask != 0;
	seen.no_flic += !img->fl.flic_present;
	seen.apf += img->fl.apf_enabled;
	seen.le += img->config.abi_order == GISA_LE;
	(*(opts->compress ? &seen.files_zstd : &seen.files_stored))++;
}

/* ---- building a source VM ---------------------------------------------------------- */

static const uint32_t nr_vcpus_by_seed[] = { 4, 3, 66, 1, 0, 2 };

static struct gisa_vm_config config_for(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = nr_vcpus_by_seed[seed % ARRAY_SIZE(nr_vcpus_by_seed)],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};

	return cfg;
}

static struct rng rng_for(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct rng r = { .s = seed * 0x2545f491ull + profile * 0x100 + caps + 0x5eed };

	return r;
}

/* A VM with a FLIC and three memslots, then the directed or the random build. */
static void build_source(struct side *s, const struct gisa_vm_config *cfg, struct rng *r,
			 uint32_t seed)
{
	unsigned build_ops = seed < NR_LONG_SEEDS ? BUILD_OPS : 50 + rn(r, 750);
	struct op o;

	assert_int_equal(gisa_host_new(NULL, &s->host), 0);
	assert_int_equal(gisa_vm_new(s->host, cfg, &s->vm), 0);
	s->order = cfg->abi_order;
	assert_int_equal(gisa_flic_create(s->vm), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 0, 0, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 1, 0x40000, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 2, 0xf0000, 0x10000), 0);
	if (seed == 0) {
		build_rich(s->vm, cfg);
		return;
	}
	for (unsigned step = 0; step < build_ops; step++) {
		gen_op(r, cfg->nr_vcpus, &o);
		op_apply(s, &o);
		s->log.n = 0;
	}
}

static void side_free(struct side *s)
{
	free(s->log.e);
	gisa_vm_free(s->vm);
	gisa_host_free(s->host);
	memset(s, 0, sizeof(*s));
}

/*
 * Before comparing behaviour: the RAM migration, and the bookkeeping that is
 * not VM state (the source's past events and dirty bits; the restored VM has
 * neither: its pages were written by gisa_mem_write, which is not logged,
 * and a restore kicks nobody).
 */
static void settle(struct side *src, struct side *dst)
{
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	struct gisa_host_info hi;
	size_t n;

	ram_copy(src->vm, dst->vm);
	n = gisa_vm_events_read(src->vm, ev, ARRAY_SIZE(ev));
	src->last_seq = n ? ev[n - 1].seq : 0;
	assert_int_equal(gisa_vm_events_read(src->vm, ev, ARRAY_SIZE(ev)), 0);
	assert_int_equal(gisa_vm_events_read(dst->vm, ev, ARRAY_SIZE(ev)), 0);
	src->dropped = gisa_vm_events_dropped(src->vm);
	assert_int_equal(gisa_vm_events_dropped(dst->vm), 0);
	for (uint32_t slot = 0; slot < 5; slot++) {
		uint64_t bm[8], zero[8] = { 0 };
		int rs = gisa_mem_get_dirty_log(src->vm, slot, bm, 8);

		assert_int_equal(gisa_mem_get_dirty_log(dst->vm, slot, bm, 8), rs);
		if (!rs)
			assert_memory_equal(bm, zero, sizeof(bm));
	}
	gisa_host_info(src->host, &hi);
	src->gal = hi.gal_interrupts;
	gisa_host_info(dst->host, &hi);
	assert_int_equal(hi.gal_interrupts, 0);   /* the restored listing raised no GAL */
}

/* The same operations on both sides, every result compared. */
static void run_compared(struct side *a, struct side *b, struct rng *r, uint32_t nr_vcpus,
			 unsigned ops, const char *label)
{
	struct view va, vb;
	struct op o;

	for (unsigned step = 0; step < ops; step++) {
		snprintf(g_where, sizeof(g_where), "%s step %u", label, step);
		gen_op(r, nr_vcpus, &o);
		op_apply(a, &o);
		observe(a);
		op_apply(b, &o);
		observe(b);
		logs_compare(a, b, &o);
		if (step % VIEW_EVERY == VIEW_EVERY - 1 || step == ops - 1) {
			view_read(a->vm, &va);
			view_read(b->vm, &vb);
			view_compare(&va, &vb);
			view_free(&vb);
			view_free(&va);
			assert_int_equal(vm_check_invariants(a->vm), 0);
			assert_int_equal(vm_check_invariants(b->vm), 0);
		}
	}
}

/* ---- 1 and 2: round trip and behaviour through the file ------------------------------ */

static void run_one(enum gisa_profile profile, uint32_t caps, uint32_t seed, unsigned run_ops)
{
	struct gisa_vm_config cfg = config_for(profile, caps, seed);
	struct rng r = rng_for(profile, caps, seed);
	struct side src = { 0 }, dst = { 0 };
	struct gisa_snap_opts opts = opts_for(seed), other = opts;
	char name[64], label[128];
	struct gisa_snap_meta meta = {
		.vm_name = name,
		.vm_uuid = test_uuid,
		.created_unix_ns = 1767225600000000000ull + seed,
		.producer = "test-snapshot",
	};
	struct gisa_image *img1, *img2, *img3, *img4;
	struct gisa_snap_info info;
	uint8_t *bytes1, *bytes2, *bytes3, *file1, *file3, *file4;
	size_t len1, len2, len3, flen1, flen3, flen4;
	uint8_t d1[GISA_SNAP_DIGEST_SIZE], d[GISA_SNAP_DIGEST_SIZE];
	struct view vs, vd;

	snprintf(name, sizeof(name), "vm-%u-%u-%u", profile, caps, seed);
	snprintf(label, sizeof(label), "profile %d caps %u seed %u", profile, caps, seed);
	snprintf(g_where, sizeof(g_where), "%s (build)", label);
	build_source(&src, &cfg, &r, seed);
	assert_int_equal(vm_check_invariants(src.vm), 0);

	/* 1. engine -> image -> snapshot bytes -> image -> engine -> image -> bytes. */
	snprintf(g_where, sizeof(g_where), "%s (round trip)", label);
	assert_int_equal(gisa_image_from_vm(src.vm, &img1), 0);
	note_coverage(img1, &opts);
	state_bytes_ok(img1, &bytes1, &len1);
	digest_of(img1, bytes1, len1, d1);
	file1 = encode_ok(img1, &meta, &opts, &flen1);

	img2 = decode_ok(file1, flen1, &info);
	info_check(&info, img1, &meta, &opts, len1, d1);
	snapt_image_equal(g_where, img1, img2);
	state_bytes_ok(img2, &bytes2, &len2);
	bytes_equal("state bytes after decoding", bytes1, len1, bytes2, len2);

	assert_int_equal(gisa_host_new(NULL, &dst.host), 0);
	dst.order = cfg.abi_order;
	dst.vm = build_ok(img2, dst.host);
	assert_int_equal(vm_check_invariants(dst.vm), 0);
	view_read(src.vm, &vs);
	view_read(dst.vm, &vd);
	view_compare(&vs, &vd);
	view_free(&vd);
	view_free(&vs);

	assert_int_equal(gisa_image_from_vm(dst.vm, &img3), 0);
	snapt_image_equal(g_where, img1, img3);
	state_bytes_ok(img3, &bytes3, &len3);
	bytes_equal("state bytes of the restored VM", bytes1, len1, bytes3, len3);
	digest_of(img3, bytes3, len3, d);
	bytes_equal("digest of the restored VM", d1, sizeof(d1), d, sizeof(d));
	file3 = encode_ok(img3, &meta, &opts, &flen3);
	bytes_equal("file of the restored VM", file1, flen1, file3, flen3);

	/* The other container form of the same state: the same digest and image. */
	other.compress = !opts.compress;
	file4 = encode_ok(img3, &meta, &other, &flen4);
	img4 = decode_ok(file4, flen4, &info);
	info_check(&info, img1, &meta, &other, len1, d1);
	snapt_image_equal(g_where, img1, img4);

	free(bytes1);
	free(bytes2);
	free(bytes3);
	free(file1);
	free(file3);
	free(file4);
	gisa_image_free(img1);
	gisa_image_free(img2);
	gisa_image_free(img3);
	gisa_image_free(img4);

	/* 2. The same operations on the original and on the restored VM. */
	settle(&src, &dst);
	run_compared(&src, &dst, &r, cfg.nr_vcpus, run_ops, label);
	side_free(&src);
	side_free(&dst);
}

static void run_config(enum gisa_profile profile, uint32_t caps)
{
	for (uint32_t seed = 0; seed < NR_SEEDS; seed++)
		run_one(profile, caps, seed, seed < NR_LONG_SEEDS ? RUN_OPS : SHORT_RUN_OPS);
}

static void roundtrip_classic(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, 0);
}

static void roundtrip_classic_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_AIS);
}

static void roundtrip_classic_gisa(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_GISA);
}

static void roundtrip_classic_gisa_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_ALL);
}

static void roundtrip_newest(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, 0);
}

static void roundtrip_newest_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_AIS);
}

static void roundtrip_newest_gisa(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_GISA);
}

static void roundtrip_newest_gisa_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_ALL);
}

/* Runs after the round trips: their snapshots covered every kind of state. */
static void roundtrip_coverage(void **state)
{
	(void)state;
	print_message("covered: io %u ai_entry %u ext %u srv %u srv_ev %u mchk %u ipm %u "
		      "iam %u simm %u nimm %u masked %u maps %u adapters %u routes %u pages %u "
		      "memslots %u stopped %u idle %u kicked %u cursor %u on_list %u timer %u "
		      "delay %u refs %u no_flic %u apf %u le %u stored %u zstd %u "
		      "dictionary %u (I/O repeats %u)\n",
		      seen.io, seen.ai_entry, seen.ext, seen.srv, seen.srv_ev, seen.mchk,
		      seen.ipm, seen.iam, seen.simm, seen.nimm, seen.masked, seen.maps,
		      seen.adapters, seen.routes, seen.pages, seen.memslots, seen.stopped,
		      seen.idle, seen.kicked, seen.cursor, seen.on_list, seen.timer,
		      seen.timer_delay, seen.refs, seen.no_flic, seen.apf, seen.le,
		      seen.files_stored, seen.files_zstd, seen.dict, seen.dict_io);
	assert_true(seen.io && seen.ai_entry && seen.ext && seen.srv && seen.srv_ev);
	assert_true(seen.mchk && seen.ipm && seen.iam && seen.simm && seen.nimm);
	assert_true(seen.masked && seen.maps && seen.adapters && seen.routes && seen.pages);
	assert_true(seen.memslots && seen.stopped && seen.idle && seen.kicked && seen.cursor);
	assert_true(seen.on_list && seen.timer && seen.timer_delay && seen.refs);
	assert_true(seen.no_flic && seen.apf && seen.le && seen.files_stored && seen.files_zstd);
	/* Lists in dictionary form: repeated adapter interrupts and repeated I/O entries. */
	assert_true(seen.dict && seen.dict_io);
}

/* ---- 3: export never changes the VM ------------------------------------------------- */

/* Everything observable about a VM that a view leaves out. */
static void twins_compare_bookkeeping(struct side *a, struct side *b)
{
	struct gisa_event ea[GISA_EVENT_RING_SIZE], eb[GISA_EVENT_RING_SIZE];
	struct gisa_host_info ha, hb;
	size_t na = gisa_vm_events_read(a->vm, ea, ARRAY_SIZE(ea));
	size_t nb = gisa_vm_events_read(b->vm, eb, ARRAY_SIZE(eb));

	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ea[i].seq, eb[i].seq);
		assert_int_equal(ea[i].kind, eb[i].kind);
		assert_int_equal(ea[i].vcpu, eb[i].vcpu);
		assert_int_equal(ea[i].flag, eb[i].flag);
	}
	a->last_seq = b->last_seq = na ? ea[na - 1].seq : 0;
	assert_int_equal(gisa_vm_events_dropped(a->vm), gisa_vm_events_dropped(b->vm));
	a->dropped = b->dropped = gisa_vm_events_dropped(a->vm);
	for (uint32_t slot = 0; slot < 5; slot++) {
		uint64_t ba[8], bb[8];

		memset(ba, 0, sizeof(ba));
		memset(bb, 0, sizeof(bb));
		assert_int_equal(gisa_mem_get_dirty_log(a->vm, slot, ba, 8),
				 gisa_mem_get_dirty_log(b->vm, slot, bb, 8));
		assert_memory_equal(ba, bb, sizeof(ba));
	}
	gisa_host_info(a->host, &ha);
	gisa_host_info(b->host, &hb);
	assert_int_equal(ha.alert_origin, hb.alert_origin);
	assert_int_equal(ha.alert_list_len, hb.alert_list_len);
	assert_int_equal(ha.gal_interrupts, hb.gal_interrupts);
	assert_int_equal(ha.nr_vms, hb.nr_vms);
	a->gal = b->gal = ha.gal_interrupts;
}

/* The allocation bookkeeping a round trip may change, but an export must not. */
static void view_compare_allocation(const struct view *a, const struct view *b)
{
	EQ("mem_used", 0, a->st.mem_used, b->st.mem_used);
	for (uint32_t i = 0; i < a->st.nr_memslots; i++)
		EQ("memslot.pages_allocated", i, a->slots[i].pages_allocated,
		   b->slots[i].pages_allocated);
}

static void export_twin(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct gisa_vm_config cfg = config_for(profile, caps, seed);
	struct rng ra = rng_for(profile, caps, seed), rb = ra;
	struct gisa_snap_opts zstd = { .compress = true }, stored = { .compress = false };
	struct gisa_snap_meta meta = { .vm_name = "twin" };
	struct side a = { 0 }, b = { 0 };
	struct gisa_image *img, *again;
	struct view v0, v1, vb;
	uint8_t *buf, d[GISA_SNAP_DIGEST_SIZE];
	size_t len;
	char label[128];

	snprintf(label, sizeof(label), "twin profile %d caps %u seed %u", profile, caps, seed);
	snprintf(g_where, sizeof(g_where), "%s (build)", label);
	build_source(&a, &cfg, &ra, seed);
	build_source(&b, &cfg, &rb, seed);
	view_read(a.vm, &v0);
	if (seed == 0 && (caps & GISA_CAP_GISA))
		assert_int_not_equal(v0.st.gisa.ipm, 0);   /* CLASSIC's GET would clear it */

	/* Every export path, on a only. */
	snprintf(g_where, sizeof(g_where), "%s (export)", label);
	assert_int_equal(gisa_image_from_vm(a.vm, &img), 0);
	state_bytes_ok(img, &buf, &len);
	free(buf);
	assert_int_equal(gisa_snap_digest(img, d), 0);
	buf = encode_ok(img, &meta, &zstd, &len);
	free(buf);
	buf = encode_ok(img, &meta, &stored, &len);
	free(buf);

	view_read(a.vm, &v1);
	view_compare(&v0, &v1);
	view_compare_allocation(&v0, &v1);
	view_read(b.vm, &vb);
	view_compare(&v1, &vb);
	view_compare_allocation(&v1, &vb);
	assert_int_equal(gisa_image_from_vm(a.vm, &again), 0);
	snapt_image_equal(g_where, img, again);
	twins_compare_bookkeeping(&a, &b);
	view_free(&v0);
	view_free(&v1);
	view_free(&vb);
	gisa_image_free(img);
	gisa_image_free(again);

	/* Nothing hidden changed either: both behave alike from here on. */
	run_compared(&a, &b, &ra, cfg.nr_vcpus, TWIN_RUN_OPS, label);
	side_free(&a);
	side_free(&b);
}

static void export_leaves_vm_unchanged(void **state)
{
	(void)state;
	for (int p = GISA_PROFILE_CLASSIC; p <= GISA_PROFILE_NEWEST; p++)
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++)
			for (uint32_t seed = 0; seed < TWIN_SEEDS; seed++)
				export_twin((enum gisa_profile)p, caps, seed);
}

/* ---- 4: canonical encoding --------------------------------------------------------- */

static struct gisa_vm *canon_vm(struct gisa_host **host, enum gisa_profile p, uint32_t caps,
				uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = {
		.profile = p, .caps = caps, .nr_vcpus = nr_vcpus, .abi_order = GISA_BE,
	};
	struct gisa_vm *vm = NULL;

	if (!*host)
		assert_int_equal(gisa_host_new(NULL, host), 0);
	assert_int_equal(gisa_vm_new(*host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	return vm;
}

/*
 * The VMs must be in equal states (their views, read without the codec,
 * are equal); then their state bytes and digests must be equal too.
 */
static void expect_same_encoding(struct gisa_vm *const *vms, size_t n, const char *what)
{
	uint8_t *b0, *b;
	size_t l0, l;
	struct view v0, v;
	uint8_t d0[GISA_SNAP_DIGEST_SIZE], d[GISA_SNAP_DIGEST_SIZE];
	struct gisa_image *img;

	snprintf(g_where, sizeof(g_where), "%s", what);
	view_read(vms[0], &v0);
	snapt_vm_state_bytes(vms[0], &b0, &l0);
	assert_int_equal(gisa_image_from_vm(vms[0], &img), 0);
	assert_int_equal(gisa_snap_digest(img, d0), 0);
	gisa_image_free(img);
	for (size_t i = 1; i < n; i++) {
		snprintf(g_where, sizeof(g_where), "%s: VM %zu vs VM 0", what, i);
		view_read(vms[i], &v);
		view_compare(&v0, &v);
		view_free(&v);
		snapt_vm_state_bytes(vms[i], &b, &l);
		bytes_equal("state bytes", b0, l0, b, l);
		free(b);
		assert_int_equal(gisa_image_from_vm(vms[i], &img), 0);
		assert_int_equal(gisa_snap_digest(img, d), 0);
		gisa_image_free(img);
		assert_memory_equal(d0, d, sizeof(d));
	}
	view_free(&v0);
	free(b0);
}

static void free_vms(struct gisa_vm **vms, size_t n, struct gisa_host *host)
{
	for (size_t i = 0; i < n; i++)
		gisa_vm_free(vms[i]);
	gisa_host_free(host);
}

struct adapter_def {
	uint32_t id;
	uint8_t isc, maskable, swap, flags;
};

/* Adapter 1's NEWEST map list [0x10000, 0x20000], built directly or the long way. */
static void adapter_maps(struct gisa_vm *vm, bool direct)
{
	static const struct { uint32_t id; uint8_t type; uint64_t addr; } longway[] = {
		{ 1, GISA_IO_ADAPTER_MAP, 0x30000 }, { 1, GISA_IO_ADAPTER_MAP, 0x10000 },
		{ 3, GISA_IO_ADAPTER_MAP, 0x10000 }, { 1, GISA_IO_ADAPTER_UNMAP, 0x30000 },
		{ 1, GISA_IO_ADAPTER_MAP, 0x20000 }, { 3, GISA_IO_ADAPTER_UNMAP, 0x10000 },
	};

	if (direct) {
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x20000), 0);
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(longway); i++)
		assert_int_equal(t_modify(vm, longway[i].id, longway[i].type, 0, longway[i].addr),
				 0);
}

static void canon_adapter_orders(void **state)
{
	static const struct adapter_def defs[] = {
		{ 0, 3, 1, 0, GISA_ADAPTER_SUPPRESSIBLE }, { 3, 11, 1, 1, 0 },
		{ 1, 7, 0, 1, GISA_ADAPTER_SUPPRESSIBLE }, { 63, 0, 1, 0, 0xfe },
		{ 5, 200, 0, 0, 0 },
	};
	static const unsigned orders[3][ARRAY_SIZE(defs)] = {
		{ 0, 1, 2, 3, 4 }, { 4, 3, 2, 1, 0 }, { 2, 4, 0, 3, 1 },
	};

	(void)state;
	for (unsigned cfg = 0; cfg < 8; cfg++) {
		enum gisa_profile p = (enum gisa_profile)(cfg >> 2);
		uint32_t caps = cfg & GISA_CAP_ALL;
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++) {
			struct gisa_vm *vm = canon_vm(&host, p, caps, 2);

			vms[k] = vm;
			assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0x100000), 0);
			for (unsigned i = 0; i < ARRAY_SIZE(defs); i++) {
				const struct adapter_def *a = &defs[orders[k][i]];

				assert_int_equal(t_register(vm, a->id, a->isc, a->maskable, a->swap,
							    a->flags), 0);
			}
			/* Adapter 0 masked directly, or after toggling masks. */
			if (k == 1)
				assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MASK, 0, 0), 0);
			if (k == 2) {
				assert_int_equal(t_modify(vm, 63, GISA_IO_ADAPTER_MASK, 1, 0), 0);
				assert_int_equal(t_modify(vm, 63, GISA_IO_ADAPTER_MASK, 0, 0), 0);
			}
			assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MASK, 1, 0), 0);
			if (p == GISA_PROFILE_NEWEST)
				adapter_maps(vm, k == 0);
			/* AIS modes set and reset to ALL. */
			if ((caps & GISA_CAP_AIS) && k > 0) {
				assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
				assert_int_equal(t_aism(vm, 7, GISA_AIS_MODE_SINGLE), 0);
				assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_ALL), 0);
				assert_int_equal(t_aism_all_set(vm, 0, 0), 0);
			}
		}
		expect_same_encoding(vms, 3, "adapters registered in different orders");
		free_vms(vms, 3, host);
	}
}

static void canon_route_orders(void **state)
{
	const struct gisa_route_entry r1 = t_route(1, 0x10000, 5, 0x20000, 0, 0);
	const struct gisa_route_entry r2 = t_route(7, 0x10008, 70, 0x20000, 1, 1);
	const struct gisa_route_entry r3 = t_route(4095, 0x30ffc, 3, 0x30000, 7, 63);
	const struct gisa_route_entry r9 = t_route(9, 0x50000, 0, 0x50100, 0, 2);
	const struct gisa_route_entry t_a[] = { r1, r2, r3 }, t_b1[] = { r3, r1 };
	const struct gisa_route_entry t_b2[] = { r2, r3, r1 }, t_c1[] = { r9 };
	const struct gisa_route_entry t_c2[] = { r3, r2, r1 };
	const uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, zero[8] = { 0 };

	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++) {
			vms[k] = canon_vm(&host, (enum gisa_profile)p, GISA_CAP_AIS, 1);
			assert_int_equal(gisa_mem_set_slot(vms[k], 0, 0, 0x100000), 0);
			assert_int_equal(t_register(vms[k], 0, 2, 0, 0, 0), 0);
		}
		/* a: one table.  b: two replaces.  c: another table, emptied, then the routes. */
		assert_int_equal(gisa_routes_set(vms[0], t_a, ARRAY_SIZE(t_a), 0), 0);
		assert_int_equal(gisa_routes_set(vms[1], t_b1, ARRAY_SIZE(t_b1), 0), 0);
		assert_int_equal(gisa_routes_set(vms[1], t_b2, ARRAY_SIZE(t_b2), 0), 0);
		assert_int_equal(gisa_routes_set(vms[2], t_c1, ARRAY_SIZE(t_c1), 0), 0);
		assert_int_equal(gisa_routes_set(vms[2], NULL, 0, 0), 0);
		/* c: a route page written and cleared again before the routes exist. */
		assert_int_equal(gisa_mem_write(vms[2], 0x10000, junk, sizeof(junk)), 0);
		assert_int_equal(gisa_mem_write(vms[2], 0x10000, zero, sizeof(zero)), 0);
		assert_int_equal(gisa_routes_set(vms[2], t_c2, ARRAY_SIZE(t_c2), 0), 0);
		/* The same trigger on each: indicator and summary bits, one interrupt. */
		for (unsigned k = 0; k < 3; k++)
			assert_int_equal(gisa_route_trigger(vms[k], 1, 1), 1);
		expect_same_encoding(vms, 3, "routes set in different orders");
		free_vms(vms, 3, host);
	}
}

/* One running vcpu: the kick cursor cannot move (CLASSIC wraps to 0, NEWEST waits). */
static void canon_lists_filled_then_drained(void **state)
{
	const struct gisa_irq final[] = {
		t_io(0x0001, 1, 0xa, 2), t_io(0x0002, 7, 0xb, 2), t_io(0x0101, 0, 0xc, 5),
		t_ai(4), t_virt(0x11, 0x22), t_pfd(0x33), t_srv(0x2009),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x40),
	};
	const struct gisa_irq junk[] = {
		t_io(0x0003, 3, 0x1, 2), t_io(0x0003, 4, 0x2, 0), t_io(0x0003, 5, 0x3, 7),
		t_ai(4), t_ai(1), t_virt(0x99, 0x98), t_pfd(0x97), t_srv(0x1001),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x8000),
	};
	const struct gisa_irq io_junk[] = {
		t_io(0x0003, 3, 0x1, 2), t_io(0x0003, 4, 0x2, 5), t_io(0x0003, 5, 0x3, 7),
	};

	(void)state;
	for (int p = 0; p <= 1; p++) {
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++) {
			struct gisa_host *host = NULL;
			struct gisa_vm *vms[4];
			struct gisa_delivery dl;
			struct gisa_irq irq;

			for (unsigned k = 0; k < 4; k++) {
				vms[k] = canon_vm(&host, (enum gisa_profile)p, caps, 1);
				t_vcpu_all_on(vms[k], 0);
			}
			/* a: the final contents only. */
			assert_int_equal(t_enq(vms[0], final, ARRAY_SIZE(final)), 0);
			/* b: everything delivered away first. */
			assert_int_equal(t_enq(vms[1], junk, ARRAY_SIZE(junk)), 0);
			while (gisa_vcpu_deliver(vms[1], 0, &dl) == 1)
				;
			assert_int_equal(t_enq(vms[1], final, ARRAY_SIZE(final)), 0);
			/* c: CLEAR_IRQS, then I/O junk interleaved and removed again. */
			assert_int_equal(t_enq(vms[2], junk, ARRAY_SIZE(junk)), 0);
			assert_int_equal(t_clear_irqs(vms[2]), 0);
			for (unsigned i = 0; i < ARRAY_SIZE(final); i++) {
				if (i < ARRAY_SIZE(io_junk))
					assert_int_equal(t_enq1(vms[2], io_junk[i]), 0);
				assert_int_equal(t_enq1(vms[2], final[i]), 0);
			}
			assert_int_equal(t_clear_io(vms[2], 0x00030003), 0);
			assert_int_equal(t_clear_io(vms[2], 0x00030004), 0);
			assert_int_equal(t_clear_io(vms[2], 0x00030005), 0);
			/* d: I/O drained by TSCH of each junk subchannel. */
			assert_int_equal(t_enq(vms[3], io_junk, ARRAY_SIZE(io_junk)), 0);
			assert_int_equal(t_enq(vms[3], final, ARRAY_SIZE(final)), 0);
			for (uint32_t nr = 3; nr <= 5; nr++) {
				uint64_t gpr1 = 0x00030000u | nr;

				assert_int_equal(gisa_vcpu_tsch(vms[3], 0, gpr1, &irq), 1);
				assert_int_equal(irq.u.io.subchannel_nr, nr);
			}
			for (unsigned k = 0; k < 4; k++)
				t_vcpu_all_on(vms[k], 0);
			expect_same_encoding(vms, 4, "lists filled then drained");
			free_vms(vms, 4, host);
		}
	}
}

static void canon_memslot_orders(void **state)
{
	const struct gisa_route_entry rt[] = {
		t_route(1, 0x41000, 9, 0xf0000, 3, 0), t_route(2, 0x2000, 0, 0x2000, 64, 0),
	};
	const uint8_t data[4] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++)
			vms[k] = canon_vm(&host, (enum gisa_profile)p, 0, 1);
		/* a: slots 0, 1, 2 in order. */
		assert_int_equal(gisa_mem_set_slot(vms[0], 0, 0, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[0], 1, 0x40000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[0], 2, 0xf0000, 0x10000), 0);
		/* b: reversed, with a slot 3 created and deleted in between. */
		assert_int_equal(gisa_mem_set_slot(vms[1], 2, 0xf0000, 0x10000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 3, 0x200000, 0x4000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 1, 0x40000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 3, 0, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 0, 0, 0x40000), 0);
		/* c: slot 1 created elsewhere and moved, slot 0 grown and shrunk. */
		assert_int_equal(gisa_mem_set_slot(vms[2], 1, 0x400000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x20000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x80000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 2, 0xf0000, 0x10000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 1, 0x40000, 0x40000), 0);
		for (unsigned k = 0; k < 3; k++) {
			assert_int_equal(t_register(vms[k], 0, 3, 0, 0, 0), 0);
			assert_int_equal(gisa_routes_set(vms[k], rt, ARRAY_SIZE(rt), 0), 0);
			assert_int_equal(gisa_mem_write(vms[k], 0x41ff0, data, sizeof(data)), 0);
			assert_int_equal(gisa_route_trigger(vms[k], 1, 1), 1);
		}
		expect_same_encoding(vms, 3, "memslots created in different orders");
		free_vms(vms, 3, host);
	}
}

static void canon_gisc_orders(void **state)
{
	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++)
			vms[k] = canon_vm(&host, (enum gisa_profile)p, GISA_CAP_GISA, 2);
		assert_int_equal(gisa_gisc_register(vms[0], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[0], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[0], 6), GISA_DEFAULT_NISC);

		assert_int_equal(gisa_gisc_register(vms[1], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 1), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_unregister(vms[1], 1), 0);

		assert_int_equal(gisa_gisc_register(vms[2], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 5), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_unregister(vms[2], 5), 0);
		expect_same_encoding(vms, 3, "giscs registered in different orders");
		free_vms(vms, 3, host);
	}
}

/*
 * Random sets of adapters, memslots, routes and GISA ISC registrations,
 * applied in two random orders (memslots before the routes that need them).
 */
static void shuffle(struct rng *r, unsigned *a, unsigned n)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = rn(r, i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

#define PERM_ADAPTERS 12
#define PERM_SLOTS 6
#define PERM_ROUTES 24
#define PERM_GISCS 10

static void canon_random_permutations(void **state)
{
	(void)state;
	for (uint32_t trial = 0; trial < 64; trial++) {
		struct rng r = { .s = 0xc0ffee + trial };
		enum gisa_profile p = (enum gisa_profile)(trial & 1);
		uint32_t caps = trial >> 1 & 3;
		struct adapter_def ad[PERM_ADAPTERS];
		struct gisa_route_entry routes[PERM_ROUTES], table[PERM_ROUTES];
		uint32_t giscs[PERM_GISCS];
		unsigned ord[PERM_ROUTES];
		uint64_t used = 0;
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[2];
		char what[64];

		for (unsigned i = 0; i < PERM_ADAPTERS; i++) {
			uint32_t id;

			do
				id = rn(&r, GISA_MAX_ADAPTERS);
			while (used >> id & 1);
			used |= 1ull << id;
			ad[i] = (struct adapter_def){ id, (uint8_t)rn(&r, 16), (uint8_t)rn(&r, 2),
						      (uint8_t)rn(&r, 2), (uint8_t)rn(&r, 2) };
		}
		for (unsigned i = 0; i < PERM_ROUTES; i++) {
			routes[i] = t_route(i * 3 + rn(&r, 3), (uint64_t)rn(&r, PERM_SLOTS) << 20 |
					    rn(&r, 0x800), rn(&r, 64),
					    (uint64_t)rn(&r, PERM_SLOTS) << 20 | rn(&r, 0x800),
					    rn(&r, 8), ad[rn(&r, PERM_ADAPTERS)].id);
		}
		for (unsigned i = 0; i < PERM_GISCS; i++)
			giscs[i] = rn(&r, 8);
		for (unsigned k = 0; k < 2; k++) {
			struct gisa_vm *vm = canon_vm(&host, p, caps, 3);

			vms[k] = vm;
			for (unsigned i = 0; i < PERM_ADAPTERS; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_ADAPTERS);
			for (unsigned i = 0; i < PERM_ADAPTERS; i++) {
				const struct adapter_def *a = &ad[ord[i]];

				assert_int_equal(t_register(vm, a->id, a->isc, a->maskable, a->swap,
							    a->flags), 0);
			}
			for (unsigned i = 0; i < PERM_SLOTS; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_SLOTS);
			for (unsigned i = 0; i < PERM_SLOTS; i++) {
				uint64_t gpa = (uint64_t)ord[i] << 20;

				assert_int_equal(gisa_mem_set_slot(vm, ord[i], gpa, 0x10000), 0);
			}
			for (unsigned i = 0; i < PERM_ROUTES; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_ROUTES);
			for (unsigned i = 0; i < PERM_ROUTES; i++)
				table[i] = routes[ord[i]];
			/* The second VM first installs a random part, then the whole table. */
			if (k == 1) {
				size_t part = rn(&r, PERM_ROUTES);

				assert_int_equal(gisa_routes_set(vm, table, part, 0), 0);
			}
			assert_int_equal(gisa_routes_set(vm, table, PERM_ROUTES, 0), 0);
			for (unsigned i = 0; caps & GISA_CAP_GISA && i < PERM_GISCS; i++)
				ord[i] = i;
			shuffle(&r, ord, caps & GISA_CAP_GISA ? PERM_GISCS : 0);
			for (unsigned i = 0; caps & GISA_CAP_GISA && i < PERM_GISCS; i++)
				assert_int_equal(gisa_gisc_register(vm, giscs[ord[i]]),
						 GISA_DEFAULT_NISC);
		}
		/* The same triggers afterwards, in the same order: the same route pages. */
		for (unsigned i = 0; i < 8; i++) {
			uint32_t gsi = routes[rn(&r, PERM_ROUTES)].gsi;

			assert_int_equal(gisa_route_trigger(vms[0], gsi, 1),
					 gisa_route_trigger(vms[1], gsi, 1));
		}
		snprintf(what, sizeof(what), "random permutation trial %u", trial);
		expect_same_encoding(vms, 2, what);
		free_vms(vms, 2, host);
	}
}

/*
 * The digest covers the state only: stored and compressed files at any
 * level, with any metadata, of one state carry the same digest, and decode
 * to the same image.
 */
static void canon_container_forms(void **state)
{
	static const struct gisa_snap_opts forms[] = {
		{ .compress = false }, { .compress = true }, { .compress = true, .level = 1 },
		{ .compress = true, .level = 19 }, { .compress = true, .level = -3 },
	};
	const struct gisa_snap_meta metas[] = {
		{ 0 },
		{ .vm_name = "a", .vm_uuid = test_uuid, .created_unix_ns = 1, .producer = "x" },
		{ .vm_name = "another name", .created_unix_ns = 0xffffffffffffffffull },
	};

	(void)state;
	for (uint32_t seed = 0; seed < 6; seed++) {
		enum gisa_profile p = (enum gisa_profile)(seed & 1);
		uint32_t caps = seed % 4;
		struct gisa_vm_config cfg = config_for(p, caps, seed);
		struct rng r = rng_for(p, caps, seed + 100);
		struct side s = { 0 };
		struct gisa_image *img, *back;
		uint8_t d0[GISA_SNAP_DIGEST_SIZE];

		snprintf(g_where, sizeof(g_where), "container forms seed %u", seed);
		build_source(&s, &cfg, &r, seed);
		assert_int_equal(gisa_image_from_vm(s.vm, &img), 0);
		assert_int_equal(gisa_snap_digest(img, d0), 0);
		for (unsigned f = 0; f < ARRAY_SIZE(forms); f++) {
			for (unsigned m = 0; m < ARRAY_SIZE(metas); m++) {
				struct gisa_snap_info info;
				size_t len;
				uint8_t *buf = encode_ok(img, &metas[m], &forms[f], &len);

				back = decode_ok(buf, len, &info);
				assert_memory_equal(info.digest, d0, sizeof(d0));
				assert_int_equal(info.flags,
						 forms[f].compress ? GISA_SNAP_FLAG_ZSTD : 0);
				if (!forms[f].compress)
					assert_int_equal(info.payload_len, info.state_len);
				snapt_image_equal(g_where, img, back);
				gisa_image_free(back);
				free(buf);
			}
		}
		gisa_image_free(img);
		side_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_classic),
		cmocka_unit_test(roundtrip_classic_ais),
		cmocka_unit_test(roundtrip_classic_gisa),
		cmocka_unit_test(roundtrip_classic_gisa_ais),
		cmocka_unit_test(roundtrip_newest),
		cmocka_unit_test(roundtrip_newest_ais),
		cmocka_unit_test(roundtrip_newest_gisa),
		cmocka_unit_test(roundtrip_newest_gisa_ais),
		cmocka_unit_test(roundtrip_coverage),
		cmocka_unit_test(export_leaves_vm_unchanged),
		cmocka_unit_test(canon_adapter_orders),
		cmocka_unit_test(canon_route_orders),
		cmocka_unit_test(canon_lists_filled_then_drained),
		cmocka_unit_test(canon_memslot_orders),
		cmocka_unit_test(canon_gisc_orders),
		cmocka_unit_test(canon_random_permutations),
		cmocka_unit_test(canon_container_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
