/* SPDX-License-Identifier: MIT */
/*
 * restore.h: building a VM's exact state from its state view.
 *
 * 1. Round trip: a source VM is driven by a seeded random sequence of public
 *    API operations, its complete state is read through state.h, and a
 *    second VM on a second host is built from that view with gisa_vm_new and
 *    the restore.h setters in their documented order.  The two views must be
 *    equal.
 * 2. Behavioural equivalence: after the RAM migration that runs beside a
 *    snapshot (the non-zero guest pages) and with the source's past events
 *    and dirty bits taken away, the same seeded sequence of 10,000 further
 *    operations runs on both VMs, and every observable result must be
 *    identical step by step (state.h's promise: equal views behave alike):
 *    return codes, caller buffers, deliveries, TPI/TSCH records, trigger
 *    results, guest memory, dirty logs, events, the host's alert list, and
 *    the views themselves every 100 steps.  A directed build (seed 0) makes
 *    sure every kind of state is in some round trip; the random builds add
 *    the rest, and roundtrip_coverage checks that they did.
 * 3. Validation: every check of the setters fails with -EINVAL and names the
 *    field, index and value; allocation failures are -ENOMEM without a leak.
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Build phase length, behaviour phase length and seeds per configuration. */
#define BUILD_OPS 400
#define RUN_OPS 10000
#define NR_SEEDS 6
#define NR_SHORT_SEEDS 30
#define SHORT_RUN_OPS 1000
#define VIEW_EVERY 100

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

/* ---- building a VM from a view (the importer's job) ------------------------ */

static void restore_ok(int r, const struct gisa_restore_error *err, const char *step)
{
	if (r) {
		print_error("%s: %s failed: %d field %s index %llu value 0x%llx (%s)\n", g_where,
			    step, r, err->field ? err->field : "-",
			    (unsigned long long)err->index, (unsigned long long)err->value,
			    err->reason ? err->reason : "-");
		fail();
	}
}

static struct gisa_vm *view_restore(struct gisa_host *host, const struct view *v)
{
	const struct gisa_state *st = &v->st;
	struct gisa_vm_config cfg = {
		.profile = st->profile,
		.caps = st->caps,
		.nr_vcpus = st->nr_vcpus,
		.mem_cap = st->mem_cap,
		.abi_order = st->abi_order,
	};
	struct gisa_float_image img = {
		.flic_present = st->flic_present,
		.apf_enabled = st->apf_enabled,
		.service_pending = st->pending_irqs >> GISA_IRQ_EXT_SERVICE & 1,
		.service_ev_pending = st->pending_irqs >> GISA_IRQ_EXT_SERVICE_EV & 1,
		.mchk_pending = st->pending_irqs >> GISA_IRQ_MCHK_REP & 1,
		.srv_ext_params = st->srv_ext_params,
		.mchk_cr14 = st->mchk_cr14,
		.mchk_mcic = st->mchk_mcic,
		.simm = st->simm,
		.nimm = st->nimm,
		.kick_cursor = st->kick_cursor,
	};
	struct gisa_restore_error err;
	struct gisa_vm *vm = NULL;

	memset(&err, 0, sizeof(err));
	assert_int_equal(gisa_vm_new(host, &cfg, &vm), 0);
	restore_ok(gisa_restore_float(vm, &img, &err), &err, "float");
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		size_t n = st->list_len[li];
		struct gisa_list_entry *e = xcalloc(n, sizeof(*e));

		for (size_t i = 0; i < n; i++) {
			e[i].type = (uint32_t)v->lists[li][i].type;
			if (li <= GISA_MAX_ISC)
				e[i].u.io = v->lists[li][i].u.io;
			else
				e[i].u.ext = v->lists[li][i].u.ext;
		}
		restore_ok(gisa_restore_list(vm, li, e, n, &err), &err, "list");
		free(e);
	}
	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++)
		if (st->adapter_mask >> id & 1)
			restore_ok(gisa_restore_adapter(vm, &v->ad[id], v->maps[id], &err), &err,
				   "adapter");
	for (uint32_t i = 0; i < st->nr_memslots; i++)
		assert_int_equal(gisa_mem_set_slot(vm, v->slots[i].slot, v->slots[i].gpa,
						   v->slots[i].size), 0);
	for (size_t i = 0; i < v->npages; i++)
		assert_int_equal(gisa_mem_write(vm, v->pages[i], v->page_bytes + i * GISA_PAGE_SIZE,
						GISA_PAGE_SIZE), 0);
	restore_ok(gisa_restore_routes(vm, v->routes, st->nr_routes, &err), &err, "routes");
	for (uint32_t i = 0; i < st->nr_vcpus; i++)
		restore_ok(gisa_restore_vcpu(vm, i, &v->vcpus[i], &err), &err, "vcpu");
	restore_ok(gisa_restore_gisa(vm, &st->gisa, &err), &err, "gisa");
	return vm;
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

	memset(q, 0, sizeof(*q));
	if (k < 40) {
		q->type = GISA_INT_IO(0, schid >> 24, (schid >> 17) & 3, schid & 0xffff);
		q->u.io.subchannel_id = (uint16_t)(schid >> 16);
		q->u.io.subchannel_nr = (uint16_t)schid;
		q->u.io.io_int_parm = (uint32_t)rnd(r);
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

/* ---- the round trip and the behavioural comparison --------------------------- */

/* What the source states of all runs covered (so the round trips mean something). */
static struct {
	unsigned io, ext, srv, srv_ev, mchk, ipm, simm, nimm, masked, maps, routes,
		 route_dangling, route_pages, stopped, idle, kicked, cursor, on_list,
		 timer, timer_delay, refs, no_flic, apf, adapters;
} seen;

static void note_coverage(const struct gisa_vm *vm, const struct view *v)
{
	const struct gisa_state *st = &v->st;

	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		if (st->list_len[li])
			(*(li <= GISA_MAX_ISC ? &seen.io : &seen.ext))++;
	seen.srv += st->pending_irqs >> GISA_IRQ_EXT_SERVICE & 1;
	seen.srv_ev += st->pending_irqs >> GISA_IRQ_EXT_SERVICE_EV & 1;
	seen.mchk += st->pending_irqs >> GISA_IRQ_MCHK_REP & 1;
	seen.ipm += st->gisa.ipm != 0;
	seen.simm += st->simm != 0;
	seen.nimm += st->nimm != 0;
	seen.adapters += st->adapter_mask != 0;
	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++) {
		seen.masked += v->ad[id].masked;
		seen.maps += v->ad[id].nr_maps != 0;
	}
	seen.routes += st->nr_routes != 0;
	seen.route_pages += v->npages != 0;
	for (uint32_t i = 0; i < st->nr_routes; i++) {
		uint8_t b;

		/* A route into a memslot that went away (spec §14.6). */
		if (gisa_mem_read(vm, v->routes[i].adapter.ind_addr, &b, 1) ||
		    gisa_mem_read(vm, v->routes[i].adapter.summary_addr, &b, 1))
			seen.route_dangling++;
	}
	for (uint32_t i = 0; i < st->nr_vcpus; i++) {
		seen.stopped += v->vcpus[i].run == GISA_VCPU_STOPPED;
		seen.idle += v->vcpus[i].run == GISA_VCPU_IDLE;
		seen.kicked += v->vcpus[i].kicked;
	}
	seen.cursor += st->kick_cursor != 0;
	seen.on_list += st->gisa.on_alert_list;
	seen.timer += st->gisa.timer_armed;
	seen.timer_delay += st->gisa.timer_delay_ns != 0;
	seen.refs += st->gisa.alert_mask != 0;
	seen.no_flic += !st->flic_present;
	seen.apf += st->apf_enabled;
}

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

static const uint32_t nr_vcpus_by_seed[] = { 4, 3, 66, 1, 0, 2 };

static void run_one(enum gisa_profile profile, uint32_t caps, uint32_t seed, unsigned run_ops)
{
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = nr_vcpus_by_seed[seed % ARRAY_SIZE(nr_vcpus_by_seed)],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};
	struct rng r = { .s = seed * 0x1000193ull + profile * 0x100 + caps };
	struct side src = { .order = cfg.abi_order }, dst = { .order = cfg.abi_order };
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	unsigned build_ops = seed <= NR_SEEDS ? BUILD_OPS : 50 + rn(&r, 750);
	struct view vs, vd;
	struct gisa_host_info hi;
	struct op o;
	size_t n;

	snprintf(g_where, sizeof(g_where), "profile %d caps %u seed %u (build)", profile, caps,
		 seed);
	assert_int_equal(gisa_host_new(NULL, &src.host), 0);
	assert_int_equal(gisa_host_new(NULL, &dst.host), 0);
	assert_int_equal(gisa_vm_new(src.host, &cfg, &src.vm), 0);
	assert_int_equal(gisa_flic_create(src.vm), 0);
	assert_int_equal(gisa_mem_set_slot(src.vm, 0, 0, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(src.vm, 1, 0x40000, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(src.vm, 2, 0xf0000, 0x10000), 0);
	if (seed == 0)
		build_rich(src.vm, &cfg);
	else
		for (unsigned step = 0; step < build_ops; step++) {
			gen_op(&r, cfg.nr_vcpus, &o);
			op_apply(&src, &o);
			src.log.n = 0;
		}
	assert_int_equal(vm_check_invariants(src.vm), 0);

	/* 1. Round trip. */
	snprintf(g_where, sizeof(g_where), "profile %d caps %u seed %u (round trip)", profile,
		 caps, seed);
	view_read(src.vm, &vs);
	note_coverage(src.vm, &vs);
	dst.vm = view_restore(dst.host, &vs);
	assert_int_equal(vm_check_invariants(dst.vm), 0);
	view_read(dst.vm, &vd);
	view_compare(&vs, &vd);
	/* What the restore allocated: exactly the route pages it wrote. */
	assert_int_equal(vd.st.mem_used, (uint64_t)vs.npages * GISA_PAGE_SIZE);
	view_free(&vd);
	view_free(&vs);

	/*
	 * Before the comparison: the RAM migration, and the bookkeeping that
	 * is not VM state.  The source's pending events and dirty bits belong
	 * to its past; the restored VM has neither (its pages were written by
	 * gisa_mem_write, which is not logged, and restoring kicks nobody).
	 */
	ram_copy(src.vm, dst.vm);
	n = gisa_vm_events_read(src.vm, ev, ARRAY_SIZE(ev));
	src.last_seq = n ? ev[n - 1].seq : 0;
	assert_int_equal(gisa_vm_events_read(src.vm, ev, ARRAY_SIZE(ev)), 0);
	assert_int_equal(gisa_vm_events_read(dst.vm, ev, ARRAY_SIZE(ev)), 0);
	src.dropped = gisa_vm_events_dropped(src.vm);
	assert_int_equal(gisa_vm_events_dropped(dst.vm), 0);
	for (uint32_t slot = 0; slot < 5; slot++) {
		uint64_t bm[8], zero[8] = { 0 };
		int rs = gisa_mem_get_dirty_log(src.vm, slot, bm, 8);

		assert_int_equal(gisa_mem_get_dirty_log(dst.vm, slot, bm, 8), rs);
		if (!rs)
			assert_memory_equal(bm, zero, sizeof(bm));
	}
	gisa_host_info(src.host, &hi);
	src.gal = hi.gal_interrupts;
	gisa_host_info(dst.host, &hi);
	assert_int_equal(hi.gal_interrupts, 0);   /* the restored listing raised no GAL */

	/* 2. The same operations on both. */
	for (unsigned step = 0; step < run_ops; step++) {
		snprintf(g_where, sizeof(g_where), "profile %d caps %u seed %u step %u", profile,
			 caps, seed, step);
		gen_op(&r, cfg.nr_vcpus, &o);
		op_apply(&src, &o);
		observe(&src);
		op_apply(&dst, &o);
		observe(&dst);
		logs_compare(&src, &dst, &o);
		if (step % VIEW_EVERY == VIEW_EVERY - 1 || step == run_ops - 1) {
			view_read(src.vm, &vs);
			view_read(dst.vm, &vd);
			view_compare(&vs, &vd);
			view_free(&vd);
			view_free(&vs);
			assert_int_equal(vm_check_invariants(src.vm), 0);
			assert_int_equal(vm_check_invariants(dst.vm), 0);
		}
	}
	free(src.log.e);
	free(dst.log.e);
	gisa_vm_free(src.vm);
	gisa_vm_free(dst.vm);
	gisa_host_free(src.host);
	gisa_host_free(dst.host);
}

/*
 * Seed 0 is the directed build, seeds 1..NR_SEEDS random builds, each
 * followed by RUN_OPS compared operations; the further seeds vary the build
 * length for more round trips with a shorter comparison.
 */
static void run_config(enum gisa_profile profile, uint32_t caps)
{
	for (uint32_t seed = 0; seed <= NR_SEEDS + NR_SHORT_SEEDS; seed++)
		run_one(profile, caps, seed, seed <= NR_SEEDS ? RUN_OPS : SHORT_RUN_OPS);
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

/* Runs last: the source states of the eight configurations covered every kind. */
static void roundtrip_coverage(void **state)
{
	(void)state;
	print_message("covered: io %u ext %u srv %u srv_ev %u mchk %u ipm %u simm %u nimm %u "
		      "masked %u maps %u routes %u dangling %u pages %u stopped %u idle %u "
		      "kicked %u cursor %u on_list %u timer %u delay %u refs %u no_flic %u "
		      "apf %u adapters %u\n", seen.io, seen.ext, seen.srv, seen.srv_ev,
		      seen.mchk, seen.ipm, seen.simm, seen.nimm, seen.masked, seen.maps,
		      seen.routes, seen.route_dangling, seen.route_pages, seen.stopped, seen.idle,
		      seen.kicked, seen.cursor, seen.on_list, seen.timer, seen.timer_delay,
		      seen.refs, seen.no_flic, seen.apf, seen.adapters);
	assert_true(seen.io && seen.ext && seen.srv && seen.srv_ev && seen.mchk && seen.ipm);
	assert_true(seen.simm && seen.nimm && seen.masked && seen.maps && seen.adapters);
	assert_true(seen.routes && seen.route_dangling && seen.route_pages);
	assert_true(seen.stopped && seen.idle && seen.kicked && seen.cursor);
	assert_true(seen.on_list && seen.timer && seen.timer_delay && seen.refs);
	assert_true(seen.no_flic && seen.apf);
}

/*
 * The dirty log must not depend on which zero pages happen to be allocated:
 * two VMs with equal views, one of which once wrote zeros to a page, see
 * the same bits after the same NEWEST UNMAP of an address in that page.
 * (The kernel marks the released page dirty whatever it holds, §3.6.)
 */
static void unmap_dirty_bit_independent_of_allocation(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *a, *b;
	struct view va, vb;
	uint64_t ba[4], bb[4];
	uint8_t zero[16] = { 0 };

	(void)state;
	snprintf(g_where, sizeof(g_where), "unmap dirty bit");
	a = t_vm_new(&host, GISA_PROFILE_NEWEST, 0, 1);
	b = t_vm_new(&host, GISA_PROFILE_NEWEST, 0, 1);
	assert_int_equal(gisa_mem_write(a, 0x5000, zero, sizeof(zero)), 0);
	for (int k = 0; k < 2; k++) {
		struct gisa_vm *vm = k ? b : a;

		assert_int_equal(t_register(vm, 0, 3, 0, 0, 0), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x5000), 0);
		assert_int_equal(gisa_mem_get_dirty_log(vm, 0, k ? bb : ba, 4), 0);
	}
	view_read(a, &va);
	view_read(b, &vb);
	view_compare(&va, &vb);
	view_free(&va);
	view_free(&vb);
	assert_int_equal(t_modify(a, 0, GISA_IO_ADAPTER_UNMAP, 0, 0x5000), 0);
	assert_int_equal(t_modify(b, 0, GISA_IO_ADAPTER_UNMAP, 0, 0x5000), 0);
	assert_int_equal(gisa_mem_get_dirty_log(a, 0, ba, 4), 0);
	assert_int_equal(gisa_mem_get_dirty_log(b, 0, bb, 4), 0);
	assert_int_equal(ba[0], 1ull << 5);
	assert_int_equal(bb[0], 1ull << 5);
	gisa_vm_free(a);
	gisa_vm_free(b);
	gisa_host_free(host);
}

/* ---- validation: every check names field, index and value ------------------ */

struct fixture {
	struct gisa_host *host;
	struct gisa_vm *vm;
	struct gisa_restore_error err;
};

static void fx_new(struct fixture *f, enum gisa_profile p, uint32_t caps, uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = { .profile = p, .caps = caps, .nr_vcpus = nr_vcpus };

	memset(f, 0, sizeof(*f));
	assert_int_equal(gisa_host_new(NULL, &f->host), 0);
	assert_int_equal(gisa_vm_new(f->host, &cfg, &f->vm), 0);
}

static void fx_free(struct fixture *f)
{
	gisa_vm_free(f->vm);
	gisa_host_free(f->host);
}

/* r must be -EINVAL naming exactly (field, index, value), with a reason. */
static void expect_bad(struct fixture *f, int r, const char *field, uint64_t index,
		       uint64_t value)
{
	assert_int_equal(r, -EINVAL);
	assert_non_null(f->err.field);
	assert_string_equal(f->err.field, field);
	assert_int_equal(f->err.index, index);
	assert_int_equal(f->err.value, value);
	assert_non_null(f->err.reason);
	assert_true(f->err.reason[0] != '\0');
	memset(&f->err, 0, sizeof(f->err));
}

static int restore_float_on(enum gisa_profile p, uint32_t caps, uint32_t nr_vcpus,
			    const struct gisa_float_image *img, struct fixture *f)
{
	fx_new(f, p, caps, nr_vcpus);
	return gisa_restore_float(f->vm, img, &f->err);
}

static void float_service_ev_needs_event_bits(void **state)
{
	struct gisa_float_image img = { .service_pending = true, .service_ev_pending = true,
					.srv_ext_params = 0x1000 };
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "service_ev_pending", 0, 1);
	fx_free(&f);
	/* And the other way: event bits without the EV bit. */
	img.service_ev_pending = false;
	img.srv_ext_params = 0x1002;
	expect_bad(&f, restore_float_on(GISA_PROFILE_NEWEST, 0, 1, &img, &f),
		   "service_ev_pending", 0, 0);
	fx_free(&f);
}

static void float_service_needs_service_pending(void **state)
{
	struct gisa_float_image img = { .srv_ext_params = 0x1000 };
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "service_pending", 0, 0);
	fx_free(&f);
	img.srv_ext_params = 0x1;
	img.service_ev_pending = true;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "service_pending", 0, 0);
	fx_free(&f);
	/* A pending service signal with parameter 0 is a reachable state. */
	img = (struct gisa_float_image){ .service_pending = true };
	assert_int_equal(restore_float_on(GISA_PROFILE_NEWEST, 0, 1, &img, &f), 0);
	fx_free(&f);
}

static void float_srv_bit_0x4_rejected(void **state)
{
	struct gisa_float_image img = { .service_pending = true, .srv_ext_params = 0x1004 };
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "srv_ext_params", 0, 0x1004);
	fx_free(&f);
}

static void float_mchk_cr14_only_channel_report(void **state)
{
	struct gisa_float_image img = { .mchk_pending = true, .mchk_cr14 = 0x10000001 };
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "mchk_cr14", 0, 0x10000001);
	fx_free(&f);
}

static void float_mchk_accumulators_need_pending(void **state)
{
	struct gisa_float_image img = { .mchk_mcic = 5 };
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 1, &img, &f),
		   "mchk_pending", 0, 0);
	fx_free(&f);
	img = (struct gisa_float_image){ .mchk_cr14 = GISA_CR14_CHANNEL_REPORT };
	expect_bad(&f, restore_float_on(GISA_PROFILE_NEWEST, 0, 1, &img, &f),
		   "mchk_pending", 0, 0);
	fx_free(&f);
}

static void float_ais_masks_need_ais(void **state)
{
	struct gisa_float_image img = { .simm = 0x80, .nimm = 0x01 };
	struct gisa_state st;
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1, &img, &f),
		   "simm", 0, 0x8001);
	fx_free(&f);
	img.simm = 0;
	expect_bad(&f, restore_float_on(GISA_PROFILE_NEWEST, 0, 1, &img, &f), "simm", 0, 0x01);
	fx_free(&f);
	img.simm = 0x80;
	assert_int_equal(restore_float_on(GISA_PROFILE_CLASSIC, GISA_CAP_AIS, 1, &img, &f), 0);
	gisa_state_read(f.vm, &st);
	assert_int_equal(st.simm, 0x80);
	assert_int_equal(st.nimm, 0x01);
	fx_free(&f);
}

static void float_kick_cursor_below_vcpu_count(void **state)
{
	struct gisa_float_image img = { .kick_cursor = 4 };
	struct gisa_state st;
	struct fixture f;

	(void)state;
	expect_bad(&f, restore_float_on(GISA_PROFILE_CLASSIC, 0, 4, &img, &f),
		   "kick_cursor", 0, 4);
	fx_free(&f);
	img.kick_cursor = 1;
	expect_bad(&f, restore_float_on(GISA_PROFILE_NEWEST, 0, 0, &img, &f),
		   "kick_cursor", 0, 1);
	fx_free(&f);
	img.kick_cursor = 3;
	assert_int_equal(restore_float_on(GISA_PROFILE_NEWEST, 0, 4, &img, &f), 0);
	gisa_state_read(f.vm, &st);
	assert_int_equal(st.kick_cursor, 3);
	fx_free(&f);
}

static struct gisa_list_entry io_entry(unsigned isc, uint32_t parm)
{
	struct gisa_list_entry e;

	memset(&e, 0, sizeof(e));
	e.type = GISA_INT_IO(0, 0, 0, 1);
	e.u.io.subchannel_id = 0x0001;
	e.u.io.subchannel_nr = 1;
	e.u.io.io_int_parm = parm;
	e.u.io.io_int_word = (uint32_t)isc << 27;
	return e;
}

static void list_index_in_range(void **state)
{
	struct gisa_list_entry e = io_entry(0, 1);
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	expect_bad(&f, gisa_restore_list(f.vm, GISA_NR_LISTS, &e, 1, &f.err), "list", 0,
		   GISA_NR_LISTS);
	expect_bad(&f, gisa_restore_list(f.vm, UINT32_MAX, &e, 1, &f.err), "list", 0,
		   UINT32_MAX);
	fx_free(&f);
}

static void list_limits(void **state)
{
	size_t max = GISA_MAX_FLOAT_IRQS;
	struct gisa_list_entry *e = xcalloc(max + 1, sizeof(*e));
	struct gisa_state st;
	struct fixture f;

	(void)state;
	/* The I/O limit is shared by the eight ISC lists. */
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	for (size_t i = 0; i <= max; i++)
		e[i] = io_entry(5, (uint32_t)i);
	expect_bad(&f, gisa_restore_list(f.vm, 5, e, max + 1, &f.err), "lists[5]", max + 1, max);
	fx_free(&f);
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	for (size_t i = 0; i < 10; i++)
		e[i] = io_entry(2, (uint32_t)i);
	assert_int_equal(gisa_restore_list(f.vm, 2, e, 10, &f.err), 0);
	for (size_t i = 0; i <= max; i++)
		e[i] = io_entry(5, (uint32_t)i);
	expect_bad(&f, gisa_restore_list(f.vm, 5, e, max - 9, &f.err), "lists[5]", max + 1, max);
	assert_int_equal(gisa_restore_list(f.vm, 5, e, max - 10, &f.err), 0);   /* exactly full */
	gisa_state_read(f.vm, &st);
	assert_int_equal(st.list_len[2], 10);
	assert_int_equal(st.list_len[5], max - 10);
	expect_bad(&f, gisa_restore_list(f.vm, 0, e, 1, &f.err), "lists[0]", max + 1, max);
	fx_free(&f);

	/* PFAULT_DONE and VIRTIO each have their own. */
	memset(e, 0, (max + 1) * sizeof(*e));
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_ALL, 1);
	expect_bad(&f, gisa_restore_list(f.vm, GISA_LIST_PFAULT, e, GISA_MAX_PFAULT_IRQS + 1,
					 &f.err), "lists[8]", GISA_MAX_PFAULT_IRQS + 1,
		   GISA_MAX_PFAULT_IRQS);
	expect_bad(&f, gisa_restore_list(f.vm, GISA_LIST_VIRTIO, e, GISA_MAX_VIRTIO_IRQS + 1,
					 &f.err), "lists[9]", GISA_MAX_VIRTIO_IRQS + 1,
		   GISA_MAX_VIRTIO_IRQS);
	assert_int_equal(gisa_restore_list(f.vm, GISA_LIST_PFAULT, e, GISA_MAX_PFAULT_IRQS,
					   &f.err), 0);
	assert_int_equal(gisa_restore_list(f.vm, GISA_LIST_VIRTIO, e, 7, &f.err), 0);
	expect_bad(&f, gisa_restore_list(f.vm, GISA_LIST_VIRTIO, e, GISA_MAX_VIRTIO_IRQS - 6,
					 &f.err), "lists[9]", GISA_MAX_VIRTIO_IRQS + 1,
		   GISA_MAX_VIRTIO_IRQS);
	expect_bad(&f, gisa_restore_list(f.vm, GISA_LIST_PFAULT, e, 1, &f.err), "lists[8]",
		   GISA_MAX_PFAULT_IRQS + 1, GISA_MAX_PFAULT_IRQS);
	fx_free(&f);
	free(e);
}

static void list_io_type_range(void **state)
{
	struct gisa_list_entry e[3] = { io_entry(2, 1), io_entry(2, 2), io_entry(2, 3) };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	e[1].type = GISA_INT_IO_MAX + 1;
	expect_bad(&f, gisa_restore_list(f.vm, 2, e, 3, &f.err), "lists[2]", 1,
		   GISA_INT_IO_MAX + 1);
	e[1].type = GISA_INT_SERVICE;
	expect_bad(&f, gisa_restore_list(f.vm, 2, e, 3, &f.err), "lists[2]", 1, GISA_INT_SERVICE);
	e[1].type = GISA_INT_IO_MAX;
	assert_int_equal(gisa_restore_list(f.vm, 2, e, 3, &f.err), 0);
	fx_free(&f);
}

static void list_io_word_isc_matches_list(void **state)
{
	struct gisa_list_entry e[3] = { io_entry(4, 1), io_entry(4, 2), io_entry(3, 3) };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	expect_bad(&f, gisa_restore_list(f.vm, 4, e, 3, &f.err), "lists[4]", 2, 3u << 27);
	/* Bits beside the ISC field are kept as they were. */
	e[2].u.io.io_int_word = GISA_IO_WORD_AI | 4u << 27 | 0x1234;
	assert_int_equal(gisa_restore_list(f.vm, 4, e, 3, &f.err), 0);
	fx_free(&f);
}

static void list_ai_entry_not_with_gisa(void **state)
{
	struct gisa_list_entry e[2] = { io_entry(6, 1), io_entry(6, 2) };
	struct gisa_irq got[2];
	struct fixture f;

	(void)state;
	e[0].type = GISA_INT_IO_AI_MASK;
	e[0].u.io.io_int_word = GISA_IO_WORD_AI | 6u << 27;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	expect_bad(&f, gisa_restore_list(f.vm, 6, e, 2, &f.err), "lists[6]", 0,
		   GISA_INT_IO_AI_MASK);
	fx_free(&f);
	/* Without a GISA the list holds them. */
	fx_new(&f, GISA_PROFILE_NEWEST, GISA_CAP_AIS, 1);
	assert_int_equal(gisa_restore_list(f.vm, 6, e, 2, &f.err), 0);
	assert_int_equal(gisa_state_list_copy(f.vm, 6, got, 2), 2);
	assert_int_equal(got[0].type, GISA_INT_IO_AI_MASK);
	assert_int_equal(got[0].u.io.io_int_word, GISA_IO_WORD_AI | 6u << 27);
	fx_free(&f);
}

static void list_ext_types_are_implied(void **state)
{
	struct gisa_list_entry e;
	struct gisa_irq got;
	struct fixture f;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.type = 0x12345;   /* not looked at: the list decides */
	e.u.ext.ext_params = 0x11;
	e.u.ext.pad = 0x22;
	e.u.ext.ext_params2 = 0x33;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	assert_int_equal(gisa_restore_list(f.vm, GISA_LIST_VIRTIO, &e, 1, &f.err), 0);
	assert_int_equal(gisa_restore_list(f.vm, GISA_LIST_PFAULT, &e, 1, &f.err), 0);
	assert_int_equal(gisa_state_list_copy(f.vm, GISA_LIST_VIRTIO, &got, 1), 1);
	assert_int_equal(got.type, GISA_INT_VIRTIO);
	assert_int_equal(got.u.ext.pad, 0x22);
	assert_int_equal(got.u.ext.ext_params2, 0x33);
	assert_int_equal(gisa_state_list_copy(f.vm, GISA_LIST_PFAULT, &got, 1), 1);
	assert_int_equal(got.type, GISA_INT_PFAULT_DONE);
	assert_int_equal(got.u.ext.ext_params, 0x11);
	fx_free(&f);
}

static struct gisa_state_adapter adapter(uint32_t id)
{
	struct gisa_state_adapter a = { .id = id, .isc = 3 };

	return a;
}

static void adapter_id_below_64(void **state)
{
	struct gisa_state_adapter a = adapter(GISA_MAX_ADAPTERS);
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.id",
		   GISA_MAX_ADAPTERS, GISA_MAX_ADAPTERS);
	a.id = UINT32_MAX;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.id", UINT32_MAX,
		   UINT32_MAX);
	fx_free(&f);
}

static void adapter_registered_once(void **state)
{
	struct gisa_state_adapter a = adapter(63);
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	assert_int_equal(gisa_restore_adapter(f.vm, &a, NULL, &f.err), 0);
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.id", 63, 63);
	fx_free(&f);
	/* Registered through the FLIC counts too. */
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	assert_int_equal(gisa_flic_create(f.vm), 0);
	assert_int_equal(t_register(f.vm, 7, 1, 0, 0, 0), 0);
	a.id = 7;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.id", 7, 7);
	fx_free(&f);
}

static void adapter_isc_is_a_byte(void **state)
{
	struct gisa_state_adapter a = adapter(5), got;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	a.isc = 0x100;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.isc", 5, 0x100);
	a.isc = 0xff;          /* registered ISCs are not range-checked (§3.5) */
	assert_int_equal(gisa_restore_adapter(f.vm, &a, NULL, &f.err), 0);
	assert_int_equal(gisa_state_adapter(f.vm, 5, &got), 0);
	assert_int_equal(got.isc, 0xff);
	fx_free(&f);
}

static void adapter_masked_needs_maskable(void **state)
{
	struct gisa_state_adapter a = adapter(9), got;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	a.masked = true;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, NULL, &f.err), "adapters.masked", 9, 1);
	a.maskable = true;
	a.swap = true;
	a.suppressible = true;
	assert_int_equal(gisa_restore_adapter(f.vm, &a, NULL, &f.err), 0);
	assert_int_equal(gisa_state_adapter(f.vm, 9, &got), 0);
	assert_true(got.masked && got.maskable && got.swap && got.suppressible);
	fx_free(&f);
}

static void adapter_maps_only_in_newest(void **state)
{
	struct gisa_state_adapter a = adapter(2);
	uint64_t maps[2] = { 0x1000, 0x2000 };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_ALL, 1);
	a.nr_maps = 2;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, maps, &f.err), "adapters.maps", 2, 2);
	fx_free(&f);
}

static void adapter_maps_at_most_256(void **state)
{
	struct gisa_state_adapter a = adapter(4);
	uint64_t maps[GISA_MAX_ADAPTER_MAPS + 1], got[GISA_MAX_ADAPTER_MAPS + 1];
	struct fixture f;

	(void)state;
	for (unsigned i = 0; i <= GISA_MAX_ADAPTER_MAPS; i++)
		maps[i] = 0x1000 + (uint64_t)i * 8;
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	a.nr_maps = GISA_MAX_ADAPTER_MAPS + 1;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, maps, &f.err), "adapters.maps", 4,
		   GISA_MAX_ADAPTER_MAPS + 1);
	/* 256 is the most a MAP sequence reaches; unbacked addresses are fine. */
	a.nr_maps = GISA_MAX_ADAPTER_MAPS;
	assert_int_equal(gisa_restore_adapter(f.vm, &a, maps, &f.err), 0);
	assert_int_equal(gisa_state_adapter_maps(f.vm, 4, got, GISA_MAX_ADAPTER_MAPS + 1),
			 GISA_MAX_ADAPTER_MAPS);
	assert_memory_equal(got, maps, GISA_MAX_ADAPTER_MAPS * sizeof(uint64_t));
	fx_free(&f);
}

static void adapter_maps_non_zero(void **state)
{
	struct gisa_state_adapter a = adapter(6);
	uint64_t maps[3] = { 0x1000, 0, 0x1000 };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	a.nr_maps = 3;
	expect_bad(&f, gisa_restore_adapter(f.vm, &a, maps, &f.err), "adapters.maps", 6, 0);
	fx_free(&f);
}

static void routes_at_most_4096(void **state)
{
	struct gisa_route_entry *e = xcalloc(GISA_MAX_IRQ_ROUTES + 1, sizeof(*e));
	struct gisa_state st;
	struct fixture f;

	(void)state;
	for (uint32_t i = 0; i <= GISA_MAX_IRQ_ROUTES; i++)
		e[i] = t_route(i % GISA_MAX_IRQ_ROUTES, 0x1000, i, 0x2000, 0, 0);
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	expect_bad(&f, gisa_restore_routes(f.vm, e, GISA_MAX_IRQ_ROUTES + 1, &f.err), "routes",
		   0, GISA_MAX_IRQ_ROUTES + 1);
	/* The full table, with no memslot backing any of it. */
	assert_int_equal(gisa_restore_routes(f.vm, e, GISA_MAX_IRQ_ROUTES, &f.err), 0);
	gisa_state_read(f.vm, &st);
	assert_int_equal(st.nr_routes, GISA_MAX_IRQ_ROUTES);
	fx_free(&f);
	free(e);
}

static void routes_gsi_below_4096(void **state)
{
	struct gisa_route_entry e[3] = {
		t_route(1, 0x1000, 0, 0x2000, 0, 0), t_route(2, 0x1000, 1, 0x2000, 0, 0),
		t_route(GISA_MAX_IRQ_ROUTES, 0x1000, 2, 0x2000, 0, 0),
	};
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	expect_bad(&f, gisa_restore_routes(f.vm, e, 3, &f.err), "routes", 2, GISA_MAX_IRQ_ROUTES);
	fx_free(&f);
}

static void routes_entry_flags_zero(void **state)
{
	struct gisa_route_entry e[2] = {
		t_route(1, 0x1000, 0, 0x2000, 0, 0), t_route(9, 0x1000, 1, 0x2000, 0, 0),
	};
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	e[1].flags = 1;
	expect_bad(&f, gisa_restore_routes(f.vm, e, 2, &f.err), "routes", 1, 9);
	fx_free(&f);
}

static void routes_gsi_unique(void **state)
{
	struct gisa_route_entry e[3] = {
		t_route(4, 0x1000, 0, 0x2000, 0, 0), t_route(5, 0x1000, 1, 0x2000, 0, 0),
		t_route(4, 0x3000, 2, 0x4000, 0, 1),
	};
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	expect_bad(&f, gisa_restore_routes(f.vm, e, 3, &f.err), "routes", 2, 4);
	fx_free(&f);
}

static void routes_adapter_type_only(void **state)
{
	struct gisa_route_entry e[2] = {
		t_route(1, 0x1000, 0, 0x2000, 0, 0), t_route(3, 0x1000, 1, 0x2000, 0, 0),
	};
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	e[1].type = GISA_IRQ_ROUTING_MSI;
	e[1].flags = 1;       /* allowed for MSI, the type is what fails */
	expect_bad(&f, gisa_restore_routes(f.vm, e, 2, &f.err), "routes", 1, 3);
	e[0].type = GISA_IRQ_ROUTING_IRQCHIP;
	expect_bad(&f, gisa_restore_routes(f.vm, e, 2, &f.err), "routes", 0, 1);
	fx_free(&f);
}

static void routes_newest_bits_inside_their_page(void **state)
{
	struct gisa_route_entry e[2] = {
		t_route(1, 0x1000, 0, 0x2000, 0, 0), t_route(2, 0x1ff8, 64, 0x2000, 0, 0),
	};
	struct fixture f;

	(void)state;
	/* CLASSIC accepts a bit outside the page (spec §14.5). */
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	assert_int_equal(gisa_restore_routes(f.vm, e, 2, &f.err), 0);
	fx_free(&f);
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 1);
	expect_bad(&f, gisa_restore_routes(f.vm, e, 2, &f.err), "routes", 1, 2);
	e[1] = t_route(2, 0x1000, 0, 0x2fff, 8, 0);
	expect_bad(&f, gisa_restore_routes(f.vm, e, 2, &f.err), "routes", 1, 2);
	e[1] = t_route(2, 0x1000, 32767, 0x2fff, 7, 0);
	assert_int_equal(gisa_restore_routes(f.vm, e, 2, &f.err), 0);
	fx_free(&f);
}

static void vcpu_index_below_count(void **state)
{
	struct gisa_vcpu_state v = { .run = GISA_VCPU_RUNNING };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 3);
	expect_bad(&f, gisa_restore_vcpu(f.vm, 3, &v, &f.err), "vcpus", 3, 3);
	fx_free(&f);
	fx_new(&f, GISA_PROFILE_NEWEST, 0, 0);
	expect_bad(&f, gisa_restore_vcpu(f.vm, 0, &v, &f.err), "vcpus", 0, 0);
	fx_free(&f);
}

static void vcpu_run_state_known(void **state)
{
	struct gisa_vcpu_state v = { .run = (enum gisa_run_state)3 }, got;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 2);
	expect_bad(&f, gisa_restore_vcpu(f.vm, 1, &v, &f.err), "vcpus.run", 1, 3);
	/* An idle, kicked vcpu is restored as it was. */
	v = (struct gisa_vcpu_state){ .psw_mask = GISA_PSW_MASK_IO, .cr6 = 0xff000000,
				      .run = GISA_VCPU_IDLE, .kicked = true };
	assert_int_equal(gisa_restore_vcpu(f.vm, 1, &v, &f.err), 0);
	assert_int_equal(gisa_vcpu_get(f.vm, 1, &got), 0);
	assert_int_equal(got.run, GISA_VCPU_IDLE);
	assert_true(got.kicked);
	fx_free(&f);
}

static void vcpu_kicked_only_when_idle(void **state)
{
	struct gisa_vcpu_state v = { .psw_mask = GISA_PSW_MASK_IO, .cr6 = 0xff000000,
				     .run = GISA_VCPU_RUNNING, .kicked = true };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, GISA_CAP_GISA, 3);
	expect_bad(&f, gisa_restore_vcpu(f.vm, 2, &v, &f.err), "vcpus.kicked", 2, 1);
	v.run = GISA_VCPU_STOPPED;
	expect_bad(&f, gisa_restore_vcpu(f.vm, 0, &v, &f.err), "vcpus.kicked", 0, 1);
	v.kicked = false;
	assert_int_equal(gisa_restore_vcpu(f.vm, 0, &v, &f.err), 0);
	fx_free(&f);
}

static void gisa_presence_matches_caps(void **state)
{
	struct gisa_state_gisa g = { .present = true };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, 1);
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.present", 0, 1);
	fx_free(&f);
	g.present = false;
	fx_new(&f, GISA_PROFILE_NEWEST, GISA_CAP_GISA, 1);
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.present", 0, 0);
	fx_free(&f);
}

static void gisa_absent_is_all_zero(void **state)
{
	/* One non-zero field each. */
	const struct gisa_state_gisa nonzero[] = {
		{ .ipm = 0x10 }, { .iam = 0x10 }, { .alert_mask = 0x10 },
		{ .refcount = { [7] = 1 } }, { .on_alert_list = true }, { .timer_armed = true },
		{ .timer_delay_ns = GISA_KICKER_DELAY_NS },
	};
	const struct gisa_state_gisa zero = { .present = false };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, 0, 1);
	for (unsigned k = 0; k < ARRAY_SIZE(nonzero); k++)
		expect_bad(&f, gisa_restore_gisa(f.vm, &nonzero[k], &f.err), "gisa", 0, 0);
	assert_int_equal(gisa_restore_gisa(f.vm, &zero, &f.err), 0);
	fx_free(&f);
}

static void gisa_alert_mask_from_refcounts(void **state)
{
	struct gisa_state_gisa g = { .present = true, .alert_mask = GISA_ISC_BIT(3) };
	struct gisa_state st;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.alert_mask", 0,
		   GISA_ISC_BIT(3));
	g.refcount[3] = 2;
	g.refcount[0] = 1;
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.alert_mask", 0,
		   GISA_ISC_BIT(3));
	g.alert_mask = GISA_ISC_BIT(3) | GISA_ISC_BIT(0);
	g.ipm = 0x41;
	g.iam = 0x11;
	assert_int_equal(gisa_restore_gisa(f.vm, &g, &f.err), 0);
	gisa_state_read(f.vm, &st);
	assert_int_equal(st.gisa.alert_mask, 0x90);
	assert_int_equal(st.gisa.refcount[3], 2);
	assert_int_equal(st.gisa.ipm, 0x41);
	assert_int_equal(st.gisa.iam, 0x11);
	fx_free(&f);
}

static void gisa_timer_delay(void **state)
{
	struct gisa_state_gisa g = { .present = true, .timer_delay_ns = GISA_KICKER_DELAY_NS };
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 1);
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.timer_delay_ns", 0,
		   GISA_KICKER_DELAY_NS);
	g.timer_armed = true;
	g.timer_delay_ns = 1234;
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.timer_delay_ns", 0, 1234);
	g.timer_delay_ns = 0;
	assert_int_equal(gisa_restore_gisa(f.vm, &g, &f.err), 0);
	g.timer_delay_ns = GISA_KICKER_DELAY_NS;
	assert_int_equal(gisa_restore_gisa(f.vm, &g, &f.err), 0);
	assert_int_equal(gisa_gisa_timer_fire(f.vm), 0);    /* nothing pending: it stops */
	fx_free(&f);
}

static void gisa_listed_once(void **state)
{
	struct gisa_state_gisa g = { .present = true, .on_alert_list = true };
	struct gisa_host_info hi;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	assert_int_equal(gisa_restore_gisa(f.vm, &g, &f.err), 0);
	gisa_host_info(f.host, &hi);
	assert_int_equal(hi.alert_list_len, 1);
	assert_int_equal(hi.alert_origin, 2);
	assert_int_equal(hi.gal_interrupts, 0);
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.on_alert_list", 0, 1);
	g.on_alert_list = false;
	expect_bad(&f, gisa_restore_gisa(f.vm, &g, &f.err), "gisa.on_alert_list", 0, 1);
	gisa_host_info(f.host, &hi);
	assert_int_equal(hi.alert_list_len, 1);
	assert_int_equal(gisa_host_process_alerts(f.host), 1);
	fx_free(&f);
}

/* ---- -ENOMEM: a failing allocator, and nothing leaked -------------------------- */

struct counting {
	long budget;          /* allocations left before failing; < 0: never fail */
	long live;
	long failed;
};

static void *ca_alloc(void *ctx, size_t size)
{
	struct counting *c = ctx;
	void *p;

	if (c->budget == 0) {
		c->failed++;
		return NULL;
	}
	if (c->budget > 0)
		c->budget--;
	p = malloc(size);
	if (p)
		c->live++;
	return p;
}

static void *ca_realloc(void *ctx, void *old, size_t size)
{
	struct counting *c = ctx;
	void *p;

	if (c->budget == 0) {
		c->failed++;
		return NULL;
	}
	if (c->budget > 0)
		c->budget--;
	p = realloc(old, size);
	if (p && !old)
		c->live++;
	return p;
}

static void ca_free(void *ctx, void *p)
{
	struct counting *c = ctx;

	free(p);
	c->live--;
}

static void counting_vm(struct counting *c, struct gisa_allocator *a, struct fixture *f,
			enum gisa_profile p, uint32_t caps)
{
	struct gisa_host_config hc = { .nisc = GISA_DEFAULT_NISC, .allocator = a };
	struct gisa_vm_config cfg = { .profile = p, .caps = caps, .nr_vcpus = 2 };

	memset(c, 0, sizeof(*c));
	c->budget = -1;
	*a = (struct gisa_allocator){ .alloc = ca_alloc, .realloc = ca_realloc, .free = ca_free,
				      .ctx = c };
	memset(f, 0, sizeof(*f));
	assert_int_equal(gisa_host_new(&hc, &f->host), 0);
	assert_int_equal(gisa_vm_new(f->host, &cfg, &f->vm), 0);
}

static void list_enomem_without_leak(void **state)
{
	struct gisa_list_entry e[40];
	struct gisa_allocator a;
	struct counting c;
	struct fixture f;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		e[i] = io_entry(1, i);
	for (int k = 0; k < 3; k++) {
		counting_vm(&c, &a, &f, k == 1 ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC,
			    k == 2 ? GISA_CAP_ALL : 0);
		c.budget = 0;
		if (k == 2) {
			memset(e, 0, sizeof(e));
			assert_int_equal(gisa_restore_list(f.vm, GISA_LIST_VIRTIO, e,
							   ARRAY_SIZE(e), &f.err), -ENOMEM);
		} else {
			assert_int_equal(gisa_restore_list(f.vm, 1, e, ARRAY_SIZE(e), &f.err),
					 -ENOMEM);
		}
		assert_int_not_equal(c.failed, 0);
		c.budget = -1;
		assert_int_equal(vm_check_invariants(f.vm), 0);
		fx_free(&f);
		assert_int_equal(c.live, 0);
	}
}

static void adapter_enomem_without_leak(void **state)
{
	struct gisa_state_adapter ad = adapter(12);
	uint64_t maps[3] = { 0x1000, 0x2000, 0x1000 };
	struct gisa_allocator a;
	struct counting c;
	struct fixture f;
	int r;

	(void)state;
	/* Fail the first allocation, then the second, ... until it succeeds. */
	for (long budget = 0;; budget++) {
		counting_vm(&c, &a, &f, GISA_PROFILE_NEWEST, 0);
		ad.nr_maps = 3;
		c.budget = budget;
		r = gisa_restore_adapter(f.vm, &ad, maps, &f.err);
		c.budget = -1;
		assert_int_equal(vm_check_invariants(f.vm), 0);
		fx_free(&f);
		assert_int_equal(c.live, 0);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_int_equal(c.failed, 1);
		assert_true(budget < 8);
	}
	/* Without maps there is one allocation to fail. */
	counting_vm(&c, &a, &f, GISA_PROFILE_CLASSIC, GISA_CAP_ALL);
	ad.nr_maps = 0;
	c.budget = 0;
	assert_int_equal(gisa_restore_adapter(f.vm, &ad, NULL, &f.err), -ENOMEM);
	c.budget = -1;
	assert_int_equal(vm_check_invariants(f.vm), 0);
	fx_free(&f);
	assert_int_equal(c.live, 0);
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
		cmocka_unit_test(unmap_dirty_bit_independent_of_allocation),
		cmocka_unit_test(float_service_ev_needs_event_bits),
		cmocka_unit_test(float_service_needs_service_pending),
		cmocka_unit_test(float_srv_bit_0x4_rejected),
		cmocka_unit_test(float_mchk_cr14_only_channel_report),
		cmocka_unit_test(float_mchk_accumulators_need_pending),
		cmocka_unit_test(float_ais_masks_need_ais),
		cmocka_unit_test(float_kick_cursor_below_vcpu_count),
		cmocka_unit_test(list_index_in_range),
		cmocka_unit_test(list_limits),
		cmocka_unit_test(list_io_type_range),
		cmocka_unit_test(list_io_word_isc_matches_list),
		cmocka_unit_test(list_ai_entry_not_with_gisa),
		cmocka_unit_test(list_ext_types_are_implied),
		cmocka_unit_test(adapter_id_below_64),
		cmocka_unit_test(adapter_registered_once),
		cmocka_unit_test(adapter_isc_is_a_byte),
		cmocka_unit_test(adapter_masked_needs_maskable),
		cmocka_unit_test(adapter_maps_only_in_newest),
		cmocka_unit_test(adapter_maps_at_most_256),
		cmocka_unit_test(adapter_maps_non_zero),
		cmocka_unit_test(routes_at_most_4096),
		cmocka_unit_test(routes_gsi_below_4096),
		cmocka_unit_test(routes_entry_flags_zero),
		cmocka_unit_test(routes_gsi_unique),
		cmocka_unit_test(routes_adapter_type_only),
		cmocka_unit_test(routes_newest_bits_inside_their_page),
		cmocka_unit_test(vcpu_index_below_count),
		cmocka_unit_test(vcpu_run_state_known),
		cmocka_unit_test(vcpu_kicked_only_when_idle),
		cmocka_unit_test(gisa_presence_matches_caps),
		cmocka_unit_test(gisa_absent_is_all_zero),
		cmocka_unit_test(gisa_alert_mask_from_refcounts),
		cmocka_unit_test(gisa_timer_delay),
		cmocka_unit_test(gisa_listed_once),
		cmocka_unit_test(list_enomem_without_leak),
		cmocka_unit_test(adapter_enomem_without_leak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
