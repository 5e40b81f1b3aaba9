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
#include "randvm.h"
#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Build phase length, behaviour phase length and seeds per configuration. */
#define BUILD_OPS 400
#define RUN_OPS 10000
#define NR_SEEDS 6
#define NR_SHORT_SEEDS 30
#define SHORT_RUN_OPS 1000
#define VIEW_EVERY 100

/*
 * The generator as this test has always drawn it: I/O parameters from the
 * whole 32-bit range (the snapshot test narrows them for its dictionary).
 */
static const struct randvm_opts gen_opts = { .flags = 0, .view_every = VIEW_EVERY };

/* ---- building a VM from a view (the importer's job) ------------------------ */

static void restore_ok(int r, const struct gisa_restore_error *err, const char *step)
{
	if (r) {
		print_error("%s: %s failed: %d field %s index %llu value 0x%llx (%s)\n",
			    randvm_where, step, r, err->field ? err->field : "-",
			    (unsigned long long)err->index, (unsigned long long)err->value,
			    err->reason ? err->reason : "-");
		fail();
	}
}

static struct gisa_vm *view_restore(struct gisa_host *host, const struct randvm_view *v)
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

/* ---- the round trip and the behavioural comparison --------------------------- */

/* What the source states of all runs covered (so the round trips mean something). */
static struct {
	unsigned io, ext, srv, srv_ev, mchk, ipm, simm, nimm, masked, maps, routes,
		 route_dangling, route_pages, stopped, idle, kicked, cursor, on_list,
		 timer, timer_delay, refs, no_flic, apf, adapters;
} seen;

static void note_coverage(const struct gisa_vm *vm, const struct randvm_view *v)
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
	struct randvm_side src = { 0 }, dst = { 0 };
	unsigned build_ops = seed <= NR_SEEDS ? BUILD_OPS : 50 + rn(&r, 750);
	struct randvm_view vs, vd;
	char label[128];

	snprintf(label, sizeof(label), "profile %d caps %u seed %u", profile, caps, seed);
	snprintf(randvm_where, sizeof(randvm_where), "%s (build)", label);
	randvm_build(&src, &cfg, &r, &gen_opts, seed == 0, build_ops);
	assert_int_equal(gisa_host_new(NULL, &dst.host), 0);
	dst.order = cfg.abi_order;
	assert_int_equal(vm_check_invariants(src.vm), 0);

	/* 1. Round trip. */
	snprintf(randvm_where, sizeof(randvm_where), "%s (round trip)", label);
	randvm_view_read(src.vm, &vs);
	note_coverage(src.vm, &vs);
	dst.vm = view_restore(dst.host, &vs);
	assert_int_equal(vm_check_invariants(dst.vm), 0);
	randvm_view_read(dst.vm, &vd);
	randvm_view_compare(&vs, &vd);
	/* What the restore allocated: exactly the route pages it wrote. */
	assert_int_equal(vd.st.mem_used, (uint64_t)vs.npages * GISA_PAGE_SIZE);
	randvm_view_free(&vd);
	randvm_view_free(&vs);

	/* 2. The same operations on both, after the RAM migration. */
	randvm_settle(&src, &dst);
	randvm_run_compared(&src, &dst, &r, &gen_opts, cfg.nr_vcpus, run_ops, label);
	randvm_side_free(&src);
	randvm_side_free(&dst);
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
	struct randvm_view va, vb;
	uint64_t ba[4], bb[4];
	uint8_t zero[16] = { 0 };

	(void)state;
	snprintf(randvm_where, sizeof(randvm_where), "unmap dirty bit");
	a = t_vm_new(&host, GISA_PROFILE_NEWEST, 0, 1);
	b = t_vm_new(&host, GISA_PROFILE_NEWEST, 0, 1);
	assert_int_equal(gisa_mem_write(a, 0x5000, zero, sizeof(zero)), 0);
	for (int k = 0; k < 2; k++) {
		struct gisa_vm *vm = k ? b : a;

		assert_int_equal(t_register(vm, 0, 3, 0, 0, 0), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x5000), 0);
		/* cppcheck-suppress legacyUninitvar ; ba/bb are the output buffers */
		assert_int_equal(gisa_mem_get_dirty_log(vm, 0, k ? bb : ba, 4), 0);
	}
	randvm_view_read(a, &va);
	randvm_view_read(b, &vb);
	randvm_view_compare(&va, &vb);
	randvm_view_free(&va);
	randvm_view_free(&vb);
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

/*
 * A VM staged on a private host joins another: its GISA leaves the first
 * list without it being processed and heads the second; the other VMs and
 * both hosts' counts are as if it had been built there.
 */
static void rehost_moves_the_listed_gisa(void **state)
{
	struct gisa_state_gisa g = { .present = true, .on_alert_list = true };
	struct gisa_host_config other = { .nisc = (GISA_DEFAULT_NISC + 1) % 8 };
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .caps = GISA_CAP_GISA,
				      .nr_vcpus = 1 };
	struct gisa_host *stage, *odd;
	struct gisa_vm *mover, *stayer;
	struct gisa_state st;
	struct gisa_host_info hi;
	struct fixture f;

	(void)state;
	fx_new(&f, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	assert_int_equal(gisa_restore_gisa(f.vm, &g, &f.err), 0);
	assert_int_equal(gisa_host_new(NULL, &stage), 0);
	assert_int_equal(gisa_vm_new(stage, &cfg, &stayer), 0);
	assert_int_equal(gisa_vm_new(stage, &cfg, &mover), 0);
	assert_int_equal(gisa_restore_gisa(stayer, &g, &f.err), 0);
	assert_int_equal(gisa_restore_gisa(mover, &g, &f.err), 0);

	/* Another nisc: refused, nothing moved. */
	assert_int_equal(gisa_host_new(&other, &odd), 0);
	assert_int_equal(gisa_restore_rehost(mover, odd), -EINVAL);
	assert_ptr_equal(gisa_vm_host(mover), stage);
	gisa_host_info(stage, &hi);
	assert_int_equal(hi.alert_list_len, 2);
	assert_int_equal(hi.nr_vms, 2);
	gisa_host_info(odd, &hi);
	assert_int_equal(hi.nr_vms, 0);

	assert_int_equal(gisa_restore_rehost(mover, f.host), 0);
	assert_ptr_equal(gisa_vm_host(mover), f.host);
	gisa_host_info(stage, &hi);
	assert_int_equal(hi.alert_list_len, 1);
	assert_int_equal(hi.nr_vms, 1);
	assert_int_equal(hi.gal_interrupts, 0);
	gisa_host_info(f.host, &hi);
	assert_int_equal(hi.alert_list_len, 2);
	assert_int_equal(hi.nr_vms, 2);
	assert_int_equal(hi.gal_interrupts, 0);
	/* Not processed on the way: still listed, no timer started. */
	gisa_state_read(mover, &st);
	assert_true(st.gisa.on_alert_list);
	assert_false(st.gisa.timer_armed);
	assert_int_equal(vm_check_invariants(mover), 0);
	assert_int_equal(vm_check_invariants(stayer), 0);
	assert_int_equal(vm_check_invariants(f.vm), 0);
	assert_int_equal(gisa_restore_rehost(mover, f.host), 0);

	/* Each host processes its own list only. */
	assert_int_equal(gisa_host_process_alerts(stage), 1);
	gisa_state_read(mover, &st);
	assert_true(st.gisa.on_alert_list);
	assert_int_equal(gisa_host_process_alerts(f.host), 2);
	gisa_state_read(mover, &st);
	assert_false(st.gisa.on_alert_list);

	gisa_vm_free(stayer);
	gisa_host_free(stage);
	gisa_host_free(odd);
	gisa_vm_free(mover);
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
		cmocka_unit_test(rehost_moves_the_listed_gisa),
		cmocka_unit_test(list_enomem_without_leak),
		cmocka_unit_test(adapter_enomem_without_leak),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
