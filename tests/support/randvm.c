/* SPDX-License-Identifier: MIT */
/*
 * Random VMs (see randvm.h): the generator of operations, their application
 * with every result logged, the directed build, the state view and the
 * step-by-step comparison of two VMs.
 *
 * Everything a test does not call itself is static here: the operations and
 * their log are the module's business, and keeping them private means a
 * change to them cannot be made in one test and forgotten in another.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine-internal.h"
#include "randvm.h"
#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

char randvm_where[RANDVM_WHERE_SIZE];

/* ---- the state view, captured completely --------------------------------- */

void randvm_view_read(const struct gisa_vm *vm, struct randvm_view *v)
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

void randvm_view_free(struct randvm_view *v)
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

void randvm_differs(const char *what, uint64_t index, uint64_t a, uint64_t b)
{
	print_error("%s: %s[%llu] differs: source 0x%llx, other 0x%llx\n", randvm_where, what,
		    (unsigned long long)index, (unsigned long long)a, (unsigned long long)b);
	fail();
}

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
void randvm_view_compare(const struct randvm_view *a, const struct randvm_view *b)
{
	const struct gisa_state *x = &a->st, *y = &b->st;

	RANDVM_EQ("profile", 0, x->profile, y->profile);
	RANDVM_EQ("caps", 0, x->caps, y->caps);
	RANDVM_EQ("nr_vcpus", 0, x->nr_vcpus, y->nr_vcpus);
	RANDVM_EQ("mem_cap", 0, x->mem_cap, y->mem_cap);
	RANDVM_EQ("abi_order", 0, x->abi_order, y->abi_order);
	RANDVM_EQ("flic_present", 0, x->flic_present, y->flic_present);
	RANDVM_EQ("apf_enabled", 0, x->apf_enabled, y->apf_enabled);
	RANDVM_EQ("pending_irqs", 0, x->pending_irqs, y->pending_irqs);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		RANDVM_EQ("list_len", i, x->list_len[i], y->list_len[i]);
	RANDVM_EQ("srv_ext_params", 0, x->srv_ext_params, y->srv_ext_params);
	RANDVM_EQ("mchk_cr14", 0, x->mchk_cr14, y->mchk_cr14);
	RANDVM_EQ("mchk_mcic", 0, x->mchk_mcic, y->mchk_mcic);
	RANDVM_EQ("simm", 0, x->simm, y->simm);
	RANDVM_EQ("nimm", 0, x->nimm, y->nimm);
	RANDVM_EQ("gisa.present", 0, x->gisa.present, y->gisa.present);
	RANDVM_EQ("gisa.ipm", 0, x->gisa.ipm, y->gisa.ipm);
	RANDVM_EQ("gisa.iam", 0, x->gisa.iam, y->gisa.iam);
	RANDVM_EQ("gisa.alert_mask", 0, x->gisa.alert_mask, y->gisa.alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		RANDVM_EQ("gisa.refcount", i, x->gisa.refcount[i], y->gisa.refcount[i]);
	RANDVM_EQ("gisa.on_alert_list", 0, x->gisa.on_alert_list, y->gisa.on_alert_list);
	RANDVM_EQ("gisa.timer_armed", 0, x->gisa.timer_armed, y->gisa.timer_armed);
	RANDVM_EQ("gisa.timer_delay_ns", 0, x->gisa.timer_delay_ns, y->gisa.timer_delay_ns);
	RANDVM_EQ("kick_cursor", 0, x->kick_cursor, y->kick_cursor);
	RANDVM_EQ("adapter_mask", 0, x->adapter_mask, y->adapter_mask);
	RANDVM_EQ("nr_routes", 0, x->nr_routes, y->nr_routes);
	RANDVM_EQ("nr_memslots", 0, x->nr_memslots, y->nr_memslots);

	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		for (uint32_t i = 0; i < x->list_len[li]; i++) {
			uint8_t p[GISA_IRQ_SIZE], q[GISA_IRQ_SIZE];

			gisa_irq_pack1(&a->lists[li][i], GISA_BE, p);
			gisa_irq_pack1(&b->lists[li][i], GISA_BE, q);
			const char *what = li <= GISA_MAX_ISC ? "io list entry bytes" :
							       "ext list entry bytes";

			for (unsigned k = 0; k < GISA_IRQ_SIZE; k += 8) {
				uint64_t at = (uint64_t)li << 32 | (uint64_t)i << 4 | k / 8;
				uint64_t u, w;

				memcpy(&u, p + k, 8);
				memcpy(&w, q + k, 8);
				RANDVM_EQ(what, at, u, w);
			}
		}
	}
	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++) {
		const struct gisa_state_adapter *p = &a->ad[id], *q = &b->ad[id];

		if (!(x->adapter_mask >> id & 1))
			continue;
		RANDVM_EQ("adapter.id", id, p->id, q->id);
		RANDVM_EQ("adapter.isc", id, p->isc, q->isc);
		RANDVM_EQ("adapter.maskable", id, p->maskable, q->maskable);
		RANDVM_EQ("adapter.masked", id, p->masked, q->masked);
		RANDVM_EQ("adapter.swap", id, p->swap, q->swap);
		RANDVM_EQ("adapter.suppressible", id, p->suppressible, q->suppressible);
		RANDVM_EQ("adapter.nr_maps", id, p->nr_maps, q->nr_maps);
		for (uint32_t i = 0; i < p->nr_maps; i++)
			RANDVM_EQ("adapter.maps", id << 16 | i, a->maps[id][i], b->maps[id][i]);
	}
	for (uint32_t i = 0; i < x->nr_routes; i++) {
		const struct gisa_route_entry *p = &a->routes[i], *q = &b->routes[i];

		RANDVM_EQ("route.gsi", i, p->gsi, q->gsi);
		RANDVM_EQ("route.type", i, p->type, q->type);
		RANDVM_EQ("route.flags", i, p->flags, q->flags);
		RANDVM_EQ("route.ind_addr", i, p->adapter.ind_addr, q->adapter.ind_addr);
		RANDVM_EQ("route.summary_addr", i, p->adapter.summary_addr,
			  q->adapter.summary_addr);
		RANDVM_EQ("route.ind_offset", i, p->adapter.ind_offset, q->adapter.ind_offset);
		RANDVM_EQ("route.summary_offset", i, p->adapter.summary_offset,
			  q->adapter.summary_offset);
		RANDVM_EQ("route.adapter_id", i, p->adapter.adapter_id, q->adapter.adapter_id);
	}
	for (uint32_t i = 0; i < x->nr_memslots; i++) {
		RANDVM_EQ("memslot.slot", i, a->slots[i].slot, b->slots[i].slot);
		RANDVM_EQ("memslot.gpa", i, a->slots[i].gpa, b->slots[i].gpa);
		RANDVM_EQ("memslot.size", i, a->slots[i].size, b->slots[i].size);
	}
	RANDVM_EQ("route pages", 0, a->npages, b->npages);
	for (size_t i = 0; i < a->npages; i++) {
		const uint8_t *p = a->page_bytes + i * GISA_PAGE_SIZE;
		const uint8_t *q = b->page_bytes + i * GISA_PAGE_SIZE;

		RANDVM_EQ("route page gpa", i, a->pages[i], b->pages[i]);
		for (size_t k = 0; k < GISA_PAGE_SIZE; k++)
			RANDVM_EQ("route page byte at gpa", a->pages[i] + k, p[k], q[k]);
	}
	for (uint32_t i = 0; i < x->nr_vcpus; i++) {
		RANDVM_EQ("vcpu.psw_mask", i, a->vcpus[i].psw_mask, b->vcpus[i].psw_mask);
		RANDVM_EQ("vcpu.cr0", i, a->vcpus[i].cr0, b->vcpus[i].cr0);
		RANDVM_EQ("vcpu.cr6", i, a->vcpus[i].cr6, b->vcpus[i].cr6);
		RANDVM_EQ("vcpu.cr14", i, a->vcpus[i].cr14, b->vcpus[i].cr14);
		RANDVM_EQ("vcpu.run", i, a->vcpus[i].run, b->vcpus[i].run);
		RANDVM_EQ("vcpu.kicked", i, a->vcpus[i].kicked, b->vcpus[i].kicked);
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

/* ---- random operations --------------------------------------------------- */

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

static void gen_record(struct rng *r, uint32_t flags, struct gisa_irq *q)
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
		parm = rnd(r);          /* one draw either way: RANDVM_IO_PARM_REPEATS */
		if (flags & RANDVM_IO_PARM_REPEATS)
			q->u.io.io_int_parm = parm & 1 ? (uint32_t)(parm >> 32) :
							 (uint32_t)(parm >> 1) & 3;
		else
			q->u.io.io_int_parm = (uint32_t)parm;
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

static void gen_op(struct rng *r, const struct randvm_opts *opts, uint32_t nr_vcpus,
		   struct op *o)
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
			gen_record(r, opts->flags, &o->rec[i]);
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

/* ---- results, logged as (what, value) pairs ------------------------------ */

static void put(struct randvm_log *o, const char *what, uint64_t v)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 256;
		o->e = realloc(o->e, o->cap * sizeof(*o->e));
		assert_non_null(o->e);
	}
	o->e[o->n++] = (struct randvm_log_entry){ .what = what, .v = v };
}

static void put_bytes(struct randvm_log *o, const char *what, const uint8_t *b, size_t len)
{
	put(o, what, len);
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = 0;

		for (size_t k = i; k < i + 8 && k < len; k++)
			v = v << 8 | b[k];
		put(o, what, v);
	}
}

static void put_irq(struct randvm_log *o, const char *what, const struct gisa_irq *irq)
{
	uint8_t b[GISA_IRQ_SIZE];

	gisa_irq_pack1(irq, GISA_BE, b);
	put_bytes(o, what, b, sizeof(b));
}

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

static int op_enqueue(struct randvm_side *s, const struct op *o)
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

static void op_apply(struct randvm_side *s, const struct op *o)
{
	struct gisa_vm *vm = s->vm;
	struct randvm_log *log = &s->log;
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
static void observe(struct randvm_side *s)
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

static void logs_compare(struct randvm_side *a, struct randvm_side *b, const struct op *o)
{
	size_t n = a->log.n < b->log.n ? a->log.n : b->log.n;

	for (size_t i = 0; i < n; i++) {
		const struct randvm_log_entry *x = &a->log.e[i], *y = &b->log.e[i];

		if (x->what != y->what || x->v != y->v) {
			print_error("%s: result %zu differs: source %s = 0x%llx, "
				    "restored %s = 0x%llx\n", randvm_where, i, x->what,
				    (unsigned long long)x->v, y->what, (unsigned long long)y->v);
			op_print(o);
			fail();
		}
	}
	if (a->log.n != b->log.n) {
		print_error("%s: %zu results vs %zu\n", randvm_where, a->log.n, b->log.n);
		op_print(o);
		fail();
	}
	a->log.n = b->log.n = 0;
}

/* ---- a directed build ---------------------------------------------------- */

/*
 * The directed build (the tests' seed 0) that reaches every kind of state at once: lists
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

/* ---- building and comparing ---------------------------------------------- */

void randvm_build(struct randvm_side *s, const struct gisa_vm_config *cfg, struct rng *r,
		  const struct randvm_opts *opts, bool directed, unsigned ops)
{
	struct op o;

	assert_int_equal(gisa_host_new(NULL, &s->host), 0);
	assert_int_equal(gisa_vm_new(s->host, cfg, &s->vm), 0);
	s->order = cfg->abi_order;
	assert_int_equal(gisa_flic_create(s->vm), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 0, 0, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 1, 0x40000, 0x40000), 0);
	assert_int_equal(gisa_mem_set_slot(s->vm, 2, 0xf0000, 0x10000), 0);
	if (directed) {
		build_rich(s->vm, cfg);
		return;
	}
	for (unsigned step = 0; step < ops; step++) {
		gen_op(r, opts, cfg->nr_vcpus, &o);
		op_apply(s, &o);
		s->log.n = 0;           /* a build's results are compared with nothing */
	}
}

void randvm_side_free(struct randvm_side *s)
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
void randvm_settle(struct randvm_side *src, struct randvm_side *dst)
{
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	struct gisa_host_info hi;
	size_t n;

	ram_copy(src->vm, dst->vm);
	n = gisa_vm_events_read(src->vm, ev, ARRAY_SIZE(ev));
	if (n)
		src->last_seq = ev[n - 1].seq;  /* else as the last comparison left it */
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

void randvm_run_compared(struct randvm_side *a, struct randvm_side *b, struct rng *r,
			 const struct randvm_opts *opts, uint32_t nr_vcpus, unsigned ops,
			 const char *label)
{
	unsigned every = opts->view_every;
	struct randvm_view va, vb;
	struct op o;

	for (unsigned step = 0; step < ops; step++) {
		snprintf(randvm_where, sizeof(randvm_where), "%s step %u", label, step);
		gen_op(r, opts, nr_vcpus, &o);
		op_apply(a, &o);
		observe(a);
		op_apply(b, &o);
		observe(b);
		logs_compare(a, b, &o);
		if (step % every == every - 1 || step == ops - 1) {
			randvm_view_read(a->vm, &va);
			randvm_view_read(b->vm, &vb);
			randvm_view_compare(&va, &vb);
			randvm_view_free(&vb);
			randvm_view_free(&va);
			assert_int_equal(vm_check_invariants(a->vm), 0);
			assert_int_equal(vm_check_invariants(b->vm), 0);
		}
	}
}
