/* SPDX-License-Identifier: MIT */
/*
 * Every error of every public operation: one test per operation and error
 * code, named after both.
 *
 * Each test puts the VM into a state with something in every part that the
 * failing operation could touch, takes a complete snapshot through the
 * read-only state view (state.h: all counters and flags, every floating
 * list entry, adapters with their map lists, routes, memslots with their
 * bytes, vcpus, the host's alert list, the event ring), runs the failing
 * call, and requires the snapshot to be unchanged and no event to have been
 * recorded.  Where the spec documents a partial effect (ENQUEUE does not
 * roll back, CLASSIC GET_ALL_IRQS loses IPM bits, a failed trigger keeps
 * its guest-memory bits) the test states exactly that effect.
 *
 * Allocation failures come from a counting allocator handed to the host
 * (struct gisa_host_config.allocator) that refuses every request once its
 * budget is spent; the fixture's teardown fails the test if any block it
 * handed out is still live, and the ASan build catches the rest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define REC ((size_t)GISA_IRQ_SIZE)
#define PAGE ((uint64_t)GISA_PAGE_SIZE)
#define MIB (1ull << 20)
#define CLASSIC GISA_PROFILE_CLASSIC
#define NEWEST GISA_PROFILE_NEWEST
#define NO_CAPS 0u
#define BIT(n) (1u << (n))
/* Slots larger than this are left out of a snapshot's byte comparison. */
#define SNAP_MEM_MAX (4ull << 20)

static const enum gisa_profile profiles[] = { CLASSIC, NEWEST };

/* ---- an allocator that counts and refuses on demand --------------------- */

struct fail_alloc {
	long budget;            /* allocations still granted; < 0: unlimited */
	long live;              /* blocks handed out and not yet freed */
	unsigned long refused;
};

static void *fa_alloc(void *ctx, size_t size)
{
	struct fail_alloc *fa = ctx;
	void *p;

	if (fa->budget == 0) {
		fa->refused++;
		return NULL;
	}
	p = malloc(size);
	if (p) {
		if (fa->budget > 0)
			fa->budget--;
		fa->live++;
	}
	return p;
}

static void *fa_realloc(void *ctx, void *old, size_t size)
{
	struct fail_alloc *fa = ctx;
	void *p;

	if (fa->budget == 0) {
		fa->refused++;
		return NULL;
	}
	p = realloc(old, size);
	if (p) {
		if (fa->budget > 0)
			fa->budget--;
		if (!old)
			fa->live++;
	}
	return p;
}

static void fa_free(void *ctx, void *p)
{
	struct fail_alloc *fa = ctx;

	if (p) {
		fa->live--;
		free(p);
	}
}

/* ---- fixture: one host on the counting allocator, up to three VMs ------- */

struct fx {
	struct fail_alloc fa;
	struct gisa_allocator alloc;
	struct gisa_host *host;
	struct gisa_vm *vm[3];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct gisa_host_config cfg = { .nisc = GISA_DEFAULT_NISC };

	if (!f)
		return -1;
	f->fa.budget = -1;
	f->alloc = (struct gisa_allocator){
		.alloc = fa_alloc, .realloc = fa_realloc, .free = fa_free, .ctx = &f->fa,
	};
	cfg.allocator = &f->alloc;
	if (gisa_host_new(&cfg, &f->host)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

struct snap;
static void snap_free(struct snap *s);
static struct snap *live_snaps[16];

/* Frees everything; a block still live afterwards is a leak and fails. */
static int fx_teardown(void **state)
{
	struct fx *f = *state;
	long live;

	for (unsigned i = 0; i < ARRAY_SIZE(live_snaps); i++)
		if (live_snaps[i])
			snap_free(live_snaps[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++)
		gisa_vm_free(f->vm[i]);
	gisa_host_free(f->host);
	live = f->fa.live;
	free(f);
	return live == 0 ? 0 : -1;
}

static struct fx *fx(void **state)
{
	return *state;
}

static void fx_keep(void **state, struct gisa_vm *vm)
{
	struct fx *f = fx(state);

	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++) {
		if (!f->vm[i]) {
			f->vm[i] = vm;
			return;
		}
	}
	fail_msg("fixture holds at most %zu VMs", ARRAY_SIZE(f->vm));
}

/* Free a VM the fixture holds before the test ends. */
static void fx_drop(void **state, struct gisa_vm *vm)
{
	struct fx *f = fx(state);

	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++)
		if (f->vm[i] == vm)
			f->vm[i] = NULL;
	gisa_vm_free(vm);
}

/* A §12 default VM (FLIC, memslot 0 = [0, 1 MiB)) on the fixture's host. */
static struct gisa_vm *fx_vm(void **state, enum gisa_profile p, uint32_t caps, uint32_t nvcpus)
{
	struct gisa_vm *vm = t_vm_new(&fx(state)->host, p, caps, nvcpus);

	fx_keep(state, vm);
	return vm;
}

/* A VM straight from gisa_vm_new: no FLIC, no memslot. */
static struct gisa_vm *fx_vm_bare(void **state, enum gisa_profile p, uint32_t caps,
				  uint32_t nvcpus, uint64_t mem_cap)
{
	struct gisa_vm_config cfg = {
		.profile = p, .caps = caps, .nr_vcpus = nvcpus, .mem_cap = mem_cap,
	};
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_vm_new(fx(state)->host, &cfg, &vm), 0);
	fx_keep(state, vm);
	return vm;
}

/* The next n allocations succeed, the ones after fail (n < 0: never). */
static void fail_after(void **state, long n)
{
	fx(state)->fa.budget = n;
}

/* ---- buffers and attributes --------------------------------------------- */

static uint8_t *xbuf(size_t len, uint8_t fill)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	memset(b, fill, len);
	return b;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

static uint8_t *pack(const struct gisa_irq *irqs, size_t n)
{
	uint8_t *b = xbuf(n * REC, 0);

	assert_int_equal(gisa_irq_pack(irqs, n, GISA_BE, b, n * REC), 0);
	return b;
}

/* n records from a generator, packed big-endian. */
static uint8_t *pack_gen(struct gisa_irq (*gen)(size_t i), size_t n)
{
	uint8_t *b = xbuf(n * REC, 0);

	for (size_t i = 0; i < n; i++) {
		struct gisa_irq r = gen(i);

		gisa_irq_pack1(&r, GISA_BE, b + i * REC);
	}
	return b;
}

static struct gisa_irq gen_io(size_t i)
{
	return t_io(0x0001, (uint16_t)i, (uint32_t)i, (unsigned)(i % 8));
}

static struct gisa_irq gen_virt(size_t i)
{
	return t_virt((uint32_t)i, i);
}

static struct gisa_irq gen_pfd(size_t i)
{
	return t_pfd(i);
}

/*
 * has/get/set with a caller buffer whose bytes [bad_off, bad_off + bad_len)
 * fault; bad_len 0 = none.
 */
static struct gisa_attr mk_attr(uint32_t group, uint64_t attr, void *data, size_t len,
				size_t bad_off, size_t bad_len)
{
	struct gisa_attr a = {
		.group = group,
		.attr = attr,
		.addr = { .data = data, .len = len, .bad_off = bad_off, .bad_len = bad_len },
	};

	return a;
}

static int set_ub(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *data, size_t len,
		  size_t bad_off, size_t bad_len)
{
	struct gisa_attr a = mk_attr(group, attr, data, len, bad_off, bad_len);

	return gisa_flic_set_attr(vm, &a);
}

static int get_ub(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *data, size_t len,
		  size_t bad_off, size_t bad_len)
{
	struct gisa_attr a = mk_attr(group, attr, data, len, bad_off, bad_len);

	return gisa_flic_get_attr(vm, &a);
}

/* ENQUEUE of n generated records in one call. */
static void fill(struct gisa_vm *vm, struct gisa_irq (*gen)(size_t i), size_t n)
{
	uint8_t *b = pack_gen(gen, n);

	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, b, n * REC), 0);
	free(b);
}

static void pack_adapter(uint8_t b[GISA_IO_ADAPTER_SIZE], uint32_t id, uint8_t isc,
			 uint8_t maskable, uint8_t swap, uint8_t flags)
{
	struct gisa_io_adapter a = { id, isc, maskable, swap, flags };

	gisa_io_adapter_pack(&a, GISA_BE, b);
}

static void pack_req(uint8_t b[GISA_IO_ADAPTER_REQ_SIZE], uint32_t id, uint8_t type,
		     uint8_t mask, uint64_t addr)
{
	struct gisa_io_adapter_req r = { .id = id, .type = type, .mask = mask, .addr = addr };

	gisa_io_adapter_req_pack(&r, GISA_BE, b);
}

static void pack_ais(uint8_t b[GISA_AIS_REQ_SIZE], uint8_t isc, uint16_t mode)
{
	struct gisa_ais_req r = { .isc = isc, .mode = mode };

	gisa_ais_req_pack(&r, GISA_BE, b);
}

/* ---- state -------------------------------------------------------------- */

static struct gisa_state st(const struct gisa_vm *vm)
{
	struct gisa_state s;

	gisa_state_read(vm, &s);
	return s;
}

static size_t drain_events(struct gisa_vm *vm)
{
	struct gisa_event ev[64];
	size_t n, total = 0;

	while ((n = gisa_vm_events_read(vm, ev, ARRAY_SIZE(ev))) != 0)
		total += n;
	return total;
}

static void expect_no_event(struct gisa_vm *vm)
{
	struct gisa_event ev;

	if (gisa_vm_events_read(vm, &ev, 1))
		fail_msg("unexpected event: kind %d vcpu %u flag %d", ev.kind, ev.vcpu, ev.flag);
}

/* The entries of list li are exactly want[0..n). */
static void expect_list(const struct gisa_vm *vm, unsigned li, const struct gisa_irq *want,
			size_t n)
{
	struct gisa_irq *got = calloc(n + 1, sizeof(*got));
	size_t k;

	assert_non_null(got);
	k = gisa_state_list_copy(vm, li, got, n + 1);
	t_assert_irqs_eq(got, k, want, n);
	free(got);
}

/* The dirty log of slot 0 ([0, 1 MiB), 4 words) has no bit set. */
static void expect_clean_slot0(struct gisa_vm *vm)
{
	uint64_t bm[4];

	assert_int_equal(gisa_mem_get_dirty_log(vm, 0, bm, ARRAY_SIZE(bm)), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(bm); i++)
		assert_int_equal(bm[i], 0);
}

/*
 * A complete picture of a VM through state.h, the vcpu getter and the host
 * info.  Taking one drains the event ring, so that snap_check can require
 * that the operation in between recorded no event.
 */
struct snap {
	struct gisa_state st;
	struct gisa_irq *list[GISA_NR_LISTS];
	size_t list_n[GISA_NR_LISTS];
	struct gisa_state_adapter ad[GISA_MAX_ADAPTERS];
	uint64_t *maps[GISA_MAX_ADAPTERS];
	size_t nmaps[GISA_MAX_ADAPTERS];
	struct gisa_route_entry *routes;
	struct gisa_memslot_info *slots;
	uint8_t **mem;
	struct gisa_vcpu_state *vcpus;
	struct gisa_host_info host;
	uint64_t dropped;
};

/*
 * Snapshots not yet freed (live_snaps, declared above the teardown), so that
 * the teardown can free the ones a failed assertion skipped past.
 */

static void snap_track(struct snap *s, struct snap *old)
{
	for (unsigned i = 0; i < ARRAY_SIZE(live_snaps); i++) {
		if (live_snaps[i] == old) {
			live_snaps[i] = s;
			return;
		}
	}
	fail_msg("too many live snapshots");
}

static struct snap *snap_take(struct gisa_vm *vm)
{
	struct snap *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	snap_track(s, NULL);
	drain_events(vm);
	gisa_state_read(vm, &s->st);
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		size_t n = s->st.list_len[li];

		s->list[li] = calloc(n + 1, sizeof(**s->list));
		assert_non_null(s->list[li]);
		s->list_n[li] = gisa_state_list_copy(vm, li, s->list[li], n + 1);
		assert_int_equal(s->list_n[li], n);
	}
	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++) {
		bool reg = s->st.adapter_mask >> id & 1;

		assert_int_equal(gisa_state_adapter(vm, id, &s->ad[id]), reg ? 0 : -ENOENT);
		if (!reg)
			continue;
		s->maps[id] = calloc(GISA_MAX_ADAPTER_MAPS + 1, sizeof(uint64_t));
		assert_non_null(s->maps[id]);
		s->nmaps[id] = gisa_state_adapter_maps(vm, id, s->maps[id],
						       GISA_MAX_ADAPTER_MAPS + 1);
		assert_int_equal(s->nmaps[id], s->ad[id].nr_maps);
	}
	s->routes = calloc(s->st.nr_routes + 1, sizeof(*s->routes));
	assert_non_null(s->routes);
	for (uint32_t i = 0; i < s->st.nr_routes; i++)
		assert_int_equal(gisa_state_route(vm, i, &s->routes[i]), 0);
	assert_int_equal(gisa_state_route(vm, s->st.nr_routes, &s->routes[s->st.nr_routes]),
			 -ENOENT);
	s->slots = calloc(s->st.nr_memslots + 1, sizeof(*s->slots));
	s->mem = calloc(s->st.nr_memslots + 1, sizeof(*s->mem));
	assert_non_null(s->slots);
	assert_non_null(s->mem);
	for (uint32_t i = 0; i < s->st.nr_memslots; i++) {
		assert_int_equal(gisa_state_memslot(vm, i, &s->slots[i]), 0);
		if (s->slots[i].size > SNAP_MEM_MAX)
			continue;
		s->mem[i] = xbuf(s->slots[i].size, 0xee);
		assert_int_equal(gisa_mem_read(vm, s->slots[i].gpa, s->mem[i],
					       s->slots[i].size), 0);
	}
	s->vcpus = calloc(s->st.nr_vcpus + 1, sizeof(*s->vcpus));
	assert_non_null(s->vcpus);
	for (uint32_t i = 0; i < s->st.nr_vcpus; i++)
		assert_int_equal(gisa_vcpu_get(vm, i, &s->vcpus[i]), 0);
	gisa_host_info(gisa_vm_host(vm), &s->host);
	s->dropped = gisa_vm_events_dropped(vm);
	return s;
}

static void snap_free(struct snap *s)
{
	snap_track(NULL, s);
	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		free(s->list[li]);
	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++)
		free(s->maps[id]);
	for (uint32_t i = 0; i < s->st.nr_memslots; i++)
		free(s->mem[i]);
	free(s->mem);
	free(s->slots);
	free(s->routes);
	free(s->vcpus);
	free(s);
}

static void assert_state_eq(const struct gisa_state *a, const struct gisa_state *b)
{
	assert_int_equal(a->profile, b->profile);
	assert_int_equal(a->caps, b->caps);
	assert_int_equal(a->nr_vcpus, b->nr_vcpus);
	assert_int_equal(a->mem_cap, b->mem_cap);
	assert_int_equal(a->abi_order, b->abi_order);
	assert_int_equal(a->flic_present, b->flic_present);
	assert_int_equal(a->apf_enabled, b->apf_enabled);
	assert_int_equal(a->pending_irqs, b->pending_irqs);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		assert_int_equal(a->list_len[i], b->list_len[i]);
	assert_int_equal(a->srv_ext_params, b->srv_ext_params);
	assert_int_equal(a->mchk_cr14, b->mchk_cr14);
	assert_int_equal(a->mchk_mcic, b->mchk_mcic);
	assert_int_equal(a->simm, b->simm);
	assert_int_equal(a->nimm, b->nimm);
	assert_int_equal(a->gisa.present, b->gisa.present);
	assert_int_equal(a->gisa.ipm, b->gisa.ipm);
	assert_int_equal(a->gisa.iam, b->gisa.iam);
	assert_int_equal(a->gisa.alert_mask, b->gisa.alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		assert_int_equal(a->gisa.refcount[i], b->gisa.refcount[i]);
	assert_int_equal(a->gisa.on_alert_list, b->gisa.on_alert_list);
	assert_int_equal(a->gisa.timer_armed, b->gisa.timer_armed);
	assert_int_equal(a->gisa.timer_delay_ns, b->gisa.timer_delay_ns);
	assert_int_equal(a->kick_cursor, b->kick_cursor);
	assert_int_equal(a->adapter_mask, b->adapter_mask);
	assert_int_equal(a->nr_routes, b->nr_routes);
	assert_int_equal(a->nr_memslots, b->nr_memslots);
	assert_int_equal(a->mem_used, b->mem_used);
}

static void assert_route_eq(const struct gisa_route_entry *a, const struct gisa_route_entry *b)
{
	assert_int_equal(a->gsi, b->gsi);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->adapter.ind_addr, b->adapter.ind_addr);
	assert_int_equal(a->adapter.summary_addr, b->adapter.summary_addr);
	assert_int_equal(a->adapter.ind_offset, b->adapter.ind_offset);
	assert_int_equal(a->adapter.summary_offset, b->adapter.summary_offset);
	assert_int_equal(a->adapter.adapter_id, b->adapter.adapter_id);
}

static void snap_assert_eq(const struct snap *a, const struct snap *b)
{
	assert_state_eq(&a->st, &b->st);
	for (unsigned li = 0; li < GISA_NR_LISTS; li++)
		t_assert_irqs_eq(b->list[li], b->list_n[li], a->list[li], a->list_n[li]);
	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++) {
		if (!(a->st.adapter_mask >> id & 1))
			continue;
		assert_int_equal(a->ad[id].id, b->ad[id].id);
		assert_int_equal(a->ad[id].isc, b->ad[id].isc);
		assert_int_equal(a->ad[id].maskable, b->ad[id].maskable);
		assert_int_equal(a->ad[id].masked, b->ad[id].masked);
		assert_int_equal(a->ad[id].swap, b->ad[id].swap);
		assert_int_equal(a->ad[id].suppressible, b->ad[id].suppressible);
		assert_int_equal(a->ad[id].nr_maps, b->ad[id].nr_maps);
		assert_int_equal(a->nmaps[id], b->nmaps[id]);
		if (a->nmaps[id])
			assert_memory_equal(a->maps[id], b->maps[id],
					    a->nmaps[id] * sizeof(uint64_t));
	}
	for (uint32_t i = 0; i < a->st.nr_routes; i++)
		assert_route_eq(&a->routes[i], &b->routes[i]);
	for (uint32_t i = 0; i < a->st.nr_memslots; i++) {
		assert_int_equal(a->slots[i].slot, b->slots[i].slot);
		assert_int_equal(a->slots[i].gpa, b->slots[i].gpa);
		assert_int_equal(a->slots[i].size, b->slots[i].size);
		assert_int_equal(a->slots[i].pages_allocated, b->slots[i].pages_allocated);
		if (a->mem[i])
			assert_memory_equal(a->mem[i], b->mem[i], a->slots[i].size);
	}
	for (uint32_t i = 0; i < a->st.nr_vcpus; i++) {
		assert_int_equal(a->vcpus[i].psw_mask, b->vcpus[i].psw_mask);
		assert_int_equal(a->vcpus[i].cr0, b->vcpus[i].cr0);
		assert_int_equal(a->vcpus[i].cr6, b->vcpus[i].cr6);
		assert_int_equal(a->vcpus[i].cr14, b->vcpus[i].cr14);
		assert_int_equal(a->vcpus[i].run, b->vcpus[i].run);
		assert_int_equal(a->vcpus[i].kicked, b->vcpus[i].kicked);
	}
	assert_int_equal(a->host.nisc, b->host.nisc);
	assert_int_equal(a->host.alert_origin, b->host.alert_origin);
	assert_int_equal(a->host.alert_list_len, b->host.alert_list_len);
	assert_int_equal(a->host.gal_interrupts, b->host.gal_interrupts);
	assert_int_equal(a->host.nr_vms, b->host.nr_vms);
	assert_int_equal(a->dropped, b->dropped);
}

/* The VM is exactly as in `before` and recorded no event; frees before. */
static void snap_check(struct gisa_vm *vm, struct snap *before)
{
	struct snap *now;

	expect_no_event(vm);
	now = snap_take(vm);
	snap_assert_eq(before, now);
	snap_free(now);
	snap_free(before);
}

/*
 * Something in every part of the floating state: classic I/O in two ISCs,
 * virtio, pfault-done, service, machine check, and (with a GISA) an IPM bit.
 */
static void populate(struct gisa_vm *vm)
{
	const struct gisa_irq recs[] = {
		t_io(0x0001, 5, 0x11, 2), t_io(0x0001, 6, 0x12, 6), t_virt(0x21, 0x22),
		t_pfd(0x31), t_srv(0x1001), t_mck(GISA_CR14_CHANNEL_REPORT, 1), t_ai(4),
	};

	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	drain_events(vm);
}

/* A value an output pointer can hold that no successful call returns. */
static char sentinel_byte;
#define SENTINEL ((void *)&sentinel_byte)

/* ---- host and VM creation ----------------------------------------------- */

static void host_new_einval_nisc(void **state)
{
	const uint8_t bad[] = { 8, 9, 0x80, 0xff };
	struct gisa_host_config cfg = { 0 };
	struct gisa_host *h;
	struct gisa_host_info info;
	long live = fx(state)->fa.live;

	cfg.allocator = &fx(state)->alloc;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		h = SENTINEL;
		cfg.nisc = bad[i];
		assert_int_equal(gisa_host_new(&cfg, &h), -EINVAL);
		assert_ptr_equal(h, SENTINEL);
		assert_int_equal(fx(state)->fa.live, live);
	}
	/* The largest ISC is a valid NISC. */
	cfg.nisc = GISA_MAX_ISC;
	assert_int_equal(gisa_host_new(&cfg, &h), 0);
	gisa_host_info(h, &info);
	assert_int_equal(info.nisc, GISA_MAX_ISC);
	assert_int_equal(info.nr_vms, 0);
	gisa_host_free(h);
	assert_int_equal(fx(state)->fa.live, live);
}

static void host_new_enomem(void **state)
{
	struct gisa_host_config cfg = { .nisc = 3, .allocator = &fx(state)->alloc };
	long live = fx(state)->fa.live;
	struct gisa_host *h = SENTINEL;

	fail_after(state, 0);
	assert_int_equal(gisa_host_new(&cfg, &h), -ENOMEM);
	assert_ptr_equal(h, SENTINEL);
	assert_int_equal(fx(state)->fa.live, live);
	fail_after(state, -1);
	assert_int_equal(gisa_host_new(&cfg, &h), 0);
	assert_int_equal(fx(state)->fa.live, live + 1);
	gisa_host_free(h);
	assert_int_equal(fx(state)->fa.live, live);
}

/* vm_new must fail with err for cfg, leaving no trace on the host. */
static void expect_vm_new_fails(void **state, const struct gisa_vm_config *cfg, int err)
{
	struct gisa_host_info before, after;
	long live = fx(state)->fa.live;
	struct gisa_vm *vm = SENTINEL;

	gisa_host_info(fx(state)->host, &before);
	assert_int_equal(gisa_vm_new(fx(state)->host, cfg, &vm), err);
	assert_ptr_equal(vm, SENTINEL);
	gisa_host_info(fx(state)->host, &after);
	assert_int_equal(after.nr_vms, before.nr_vms);
	assert_int_equal(fx(state)->fa.live, live);
}

/* vm_new must succeed for cfg; the VM is freed again. */
static void expect_vm_new_ok(void **state, const struct gisa_vm_config *cfg)
{
	struct gisa_vm_config got;
	long live = fx(state)->fa.live;
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_vm_new(fx(state)->host, cfg, &vm), 0);
	gisa_vm_config(vm, &got);
	assert_int_equal(got.profile, cfg->profile);
	assert_int_equal(got.caps, cfg->caps);
	assert_int_equal(got.nr_vcpus, cfg->nr_vcpus);
	assert_int_equal(got.abi_order, cfg->abi_order);
	gisa_vm_free(vm);
	assert_int_equal(fx(state)->fa.live, live);
}

static void vm_new_einval_profile(void **state)
{
	struct gisa_vm_config cfg = { .nr_vcpus = 1 };

	cfg.profile = (enum gisa_profile)2;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.profile = (enum gisa_profile)0x7fffffff;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.profile = NEWEST;
	expect_vm_new_ok(state, &cfg);
}

static void vm_new_einval_caps(void **state)
{
	const uint32_t bad[] = { 0x4, 0x8, 0x80000000u, GISA_CAP_ALL | 0x100, ~0u };
	struct gisa_vm_config cfg = { .nr_vcpus = 1 };

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		cfg.caps = bad[i];
		expect_vm_new_fails(state, &cfg, -EINVAL);
	}
	cfg.caps = GISA_CAP_ALL;
	expect_vm_new_ok(state, &cfg);
}

static void vm_new_einval_nr_vcpus(void **state)
{
	struct gisa_vm_config cfg = { .profile = CLASSIC };

	cfg.nr_vcpus = GISA_MAX_VCPUS + 1;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.nr_vcpus = ~0u;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.nr_vcpus = GISA_MAX_VCPUS;
	expect_vm_new_ok(state, &cfg);
	cfg.nr_vcpus = 0;
	expect_vm_new_ok(state, &cfg);
}

static void vm_new_einval_abi_order(void **state)
{
	struct gisa_vm_config cfg = { .nr_vcpus = 1 };

	cfg.abi_order = (enum gisa_byteorder)2;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.abi_order = (enum gisa_byteorder)0x7fffffff;
	expect_vm_new_fails(state, &cfg, -EINVAL);
	cfg.abi_order = GISA_LE;
	expect_vm_new_ok(state, &cfg);
}

/* Every allocation of VM creation in turn fails; none leaves a trace. */
static void vm_new_enomem(void **state)
{
	struct gisa_vm_config cfg = { .profile = NEWEST, .caps = GISA_CAP_ALL, .nr_vcpus = 8 };
	long live = fx(state)->fa.live, n;

	for (n = 0; n < 64; n++) {
		struct gisa_vm *vm = SENTINEL;
		int r;

		fail_after(state, n);
		r = gisa_vm_new(fx(state)->host, &cfg, &vm);
		fail_after(state, -1);
		if (r == 0) {
			fx_keep(state, vm);
			break;
		}
		assert_int_equal(r, -ENOMEM);
		assert_ptr_equal(vm, SENTINEL);
		assert_int_equal(fx(state)->fa.live, live);
		expect_vm_new_ok(state, &cfg);
	}
	assert_true(n >= 1 && n < 64);
	assert_true(fx(state)->fa.live > live);
}

/* ---- the FLIC device ---------------------------------------------------- */

static void flic_create_einval_twice(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_irq got[8];
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	assert_int_equal(gisa_flic_create(vm), -EINVAL);
	snap_check(vm, s);
	/* The first device still works. */
	assert_int_equal(t_get_all(vm, got, ARRAY_SIZE(got)), 7);
}

static void flic_destroy_ebadf(void **state)
{
	struct gisa_vm *vm = fx_vm_bare(state, CLASSIC, NO_CAPS, 1, 0);
	struct gisa_irq io = t_io(0x0001, 5, 7, 1);
	struct snap *s;

	assert_int_equal(gisa_vm_inject(vm, &io), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_flic_destroy(vm), -EBADF);
	snap_check(vm, s);

	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_flic_destroy(vm), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_flic_destroy(vm), -EBADF);
	snap_check(vm, s);
	expect_list(vm, 1, &io, 1);
}

static const uint32_t all_groups[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0x80000000u, 0xffffffffu,
};

/*
 * Buffers that would make each group succeed, so that only the missing
 * device can explain a failure.
 */
struct good_bufs {
	uint8_t get[REC * 16];
	uint8_t enq[REC];
	uint8_t adapter[GISA_IO_ADAPTER_SIZE];
	uint8_t req[GISA_IO_ADAPTER_REQ_SIZE];
	uint8_t schid[4];
	uint8_t ais[GISA_AIS_REQ_SIZE];
	uint8_t ais_all[GISA_AIS_ALL_SIZE];
};

static struct gisa_attr good_attr(struct good_bufs *g, uint32_t group)
{
	struct gisa_irq io = t_io(0x0001, 9, 0x99, 3);

	gisa_irq_pack1(&io, GISA_BE, g->enq);
	pack_adapter(g->adapter, 9, 3, 1, 1, 1);
	pack_req(g->req, 0, GISA_IO_ADAPTER_MASK, 1, 0);
	memcpy(g->schid, (uint8_t[]){ 0x00, 0x01, 0x00, 0x05 }, 4);
	pack_ais(g->ais, 2, GISA_AIS_MODE_SINGLE);
	g->ais_all[0] = 0x20;
	g->ais_all[1] = 0x20;
	switch (group) {
	case GISA_FLIC_GET_ALL_IRQS:
		return mk_attr(group, sizeof(g->get), g->get, sizeof(g->get), 0, 0);
	case GISA_FLIC_ENQUEUE:
		return mk_attr(group, REC, g->enq, REC, 0, 0);
	case GISA_FLIC_ADAPTER_REGISTER:
		return mk_attr(group, 0, g->adapter, sizeof(g->adapter), 0, 0);
	case GISA_FLIC_ADAPTER_MODIFY:
		return mk_attr(group, 0, g->req, sizeof(g->req), 0, 0);
	case GISA_FLIC_CLEAR_IO_IRQ:
		return mk_attr(group, 4, g->schid, sizeof(g->schid), 0, 0);
	case GISA_FLIC_AISM:
		return mk_attr(group, 0, g->ais, sizeof(g->ais), 0, 0);
	case GISA_FLIC_AIRQ_INJECT:
		return mk_attr(group, 0, NULL, 0, 0, 0);
	case GISA_FLIC_AISM_ALL:
		return mk_attr(group, 2, g->ais_all, sizeof(g->ais_all), 0, 0);
	default:
		return mk_attr(group, 0, NULL, 0, 0, 0);
	}
}

/* A VM with floating state, AIS state and an IPM bit but no FLIC (yet). */
static struct gisa_vm *vm_without_flic(void **state, enum gisa_profile p, bool had_flic)
{
	struct gisa_vm *vm;

	if (had_flic) {
		vm = fx_vm(state, p, GISA_CAP_ALL, 1);
		assert_int_equal(t_register(vm, 0, 3, 1, 1, 1), 0);
		assert_int_equal(t_aism_all_set(vm, 0x30, 0x10), 0);
		populate(vm);
		assert_int_equal(gisa_flic_destroy(vm), 0);
	} else {
		const struct gisa_irq io = t_io(0x0001, 5, 0x11, 2), ai = t_ai(4);

		vm = fx_vm_bare(state, p, GISA_CAP_ALL, 1, 0);
		assert_int_equal(gisa_mem_set_slot(vm, 0, 0, MIB), 0);
		assert_int_equal(gisa_vm_inject(vm, &io), 0);
		assert_int_equal(gisa_vm_inject(vm, &ai), 0);
	}
	return vm;
}

enum attr_op { OP_HAS, OP_GET, OP_SET };

static int attr_call(struct gisa_vm *vm, enum attr_op op, const struct gisa_attr *a)
{
	switch (op) {
	case OP_HAS:
		return gisa_flic_has_attr(vm, a);
	case OP_GET:
		return gisa_flic_get_attr(vm, a);
	default:
		return gisa_flic_set_attr(vm, a);
	}
}

/* §14.17: every group of op is -EBADF without a device, before and after one. */
static void expect_ebadf_all_groups(void **state, enum attr_op op)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		for (int had = 0; had <= 1; had++) {
			struct gisa_vm *vm = vm_without_flic(state, profiles[p], had);
			struct gisa_irq got[16];
			struct snap *s = snap_take(vm);

			for (unsigned g = 0; g < ARRAY_SIZE(all_groups); g++) {
				struct good_bufs bufs;
				struct gisa_attr a;

				memset(&bufs, 0xaa, sizeof(bufs));
				a = good_attr(&bufs, all_groups[g]);
				assert_int_equal(attr_call(vm, op, &a), -EBADF);
				assert_true(all_bytes(bufs.get, sizeof(bufs.get), 0xaa));
			}
			snap_check(vm, s);
			/* The floating state outlives the device and shows in a new one. */
			assert_int_equal(gisa_flic_create(vm), 0);
			assert_int_equal(t_get_all(vm, got, ARRAY_SIZE(got)), had ? 7 : 2);
			fx_drop(state, vm);
		}
	}
}

static void flic_has_attr_ebadf(void **state)
{
	expect_ebadf_all_groups(state, OP_HAS);
}

static void flic_get_attr_ebadf(void **state)
{
	expect_ebadf_all_groups(state, OP_GET);
}

static void flic_set_attr_ebadf(void **state)
{
	expect_ebadf_all_groups(state, OP_SET);
}

static void flic_has_attr_enxio_group(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_ALL, 1);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned g = 0; g < ARRAY_SIZE(all_groups); g++) {
		uint32_t group = all_groups[g];
		/* has_attr ignores attr, addr and flags. */
		struct gisa_attr a = mk_attr(group, ~0ull, NULL, 0, 0, 0);

		a.flags = ~0u;
		if (group >= GISA_FLIC_GET_ALL_IRQS && group <= GISA_FLIC_AISM_ALL)
			assert_int_equal(gisa_flic_has_attr(vm, &a), 0);
		else
			assert_int_equal(gisa_flic_has_attr(vm, &a), -ENXIO);
	}
	snap_check(vm, s);
}

static void flic_get_attr_einval_group(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_ALL, 1);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned g = 0; g < ARRAY_SIZE(all_groups); g++) {
		uint32_t group = all_groups[g];
		struct good_bufs bufs;
		struct good_bufs copy;
		struct gisa_attr a;

		if (group == GISA_FLIC_GET_ALL_IRQS || group == GISA_FLIC_AISM_ALL)
			continue;
		memset(&bufs, 0xaa, sizeof(bufs));
		a = good_attr(&bufs, group);
		memcpy(&copy, &bufs, sizeof(copy));
		assert_int_equal(gisa_flic_get_attr(vm, &a), -EINVAL);
		assert_memory_equal(&bufs, &copy, sizeof(bufs));
	}
	/* Not even CLEAR_IRQS acts on a get. */
	snap_check(vm, s);
}

static void flic_set_attr_einval_group(void **state)
{
	const uint32_t groups[] = { 0, GISA_FLIC_GET_ALL_IRQS, 12, 13, 0x80000000u, ~0u };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_ALL, 1);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned g = 0; g < ARRAY_SIZE(groups); g++) {
		struct good_bufs bufs;
		struct gisa_attr a;

		memset(&bufs, 0xaa, sizeof(bufs));
		a = good_attr(&bufs, GISA_FLIC_GET_ALL_IRQS);
		a.group = groups[g];
		assert_int_equal(gisa_flic_set_attr(vm, &a), -EINVAL);
		assert_true(all_bytes(bufs.get, sizeof(bufs.get), 0xaa));
	}
	snap_check(vm, s);
}

/* ---- GET_ALL_IRQS ------------------------------------------------------- */

static void get_all_irqs_einval_length(void **state)
{
	const uint64_t bad[] = { 0, GISA_FLIC_MAX_BUFFER + 1ull, 0x100000048ull, ~0ull };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_GISA, 1);
		uint8_t *big = xbuf(GISA_FLIC_MAX_BUFFER, 0xaa);
		struct snap *s;

		populate(vm);
		s = snap_take(vm);
		for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
			assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, bad[i], big,
						GISA_FLIC_MAX_BUFFER, 0, 0), -EINVAL);
			assert_true(all_bytes(big, GISA_FLIC_MAX_BUFFER, 0xaa));
		}
		/* The length is checked first: not even CLASSIC's IPM read happened. */
		snap_check(vm, s);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, GISA_FLIC_MAX_BUFFER, big,
					GISA_FLIC_MAX_BUFFER, 0, 0), 7);
		free(big);
		fx_drop(state, vm);
	}
}

static void get_all_irqs_enomem_capacity(void **state)
{
	const size_t lens[] = { 1, REC, 6 * REC, 7 * REC - 1 };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		uint8_t buf[7 * REC];
		struct snap *s;

		populate(vm);   /* 7 records */
		s = snap_take(vm);
		for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
			memset(buf, 0xaa, sizeof(buf));
			assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, lens[i], buf,
						sizeof(buf), 0, 0), -ENOMEM);
			assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		}
		snap_check(vm, s);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), buf,
					sizeof(buf), 0, 0), 7);
		fx_drop(state, vm);
	}
}

/*
 * With IPM bits, -ENOMEM in CLASSIC loses the bits the failed call already
 * test-and-cleared (§3.1); NEWEST only tests them.  Nothing else changes.
 */
static void get_all_irqs_enomem_gisa(void **state)
{
	const struct gisa_irq recs[] = { t_ai(0), t_ai(5), t_io(0x0001, 5, 1, 1) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_GISA, 1);
		bool classic = profiles[p] == CLASSIC;
		uint8_t buf[3 * REC];
		struct snap *s;

		assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
		assert_int_equal(st(vm).gisa.ipm, 0x84);
		s = snap_take(vm);
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, REC, buf, sizeof(buf), 0, 0),
				 -ENOMEM);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		if (classic)
			s->st.gisa.ipm = 0x04;   /* ISC 0 was emitted, then no room */
		snap_check(vm, s);

		s = snap_take(vm);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, REC, buf, sizeof(buf), 0, 0),
				 -ENOMEM);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		if (classic)
			s->st.gisa.ipm = 0;
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void get_all_irqs_efault(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		struct gisa_vm *empty = fx_vm(state, profiles[p], NO_CAPS, 1);
		uint8_t buf[10 * REC];
		struct snap *s;

		populate(vm);   /* 7 records */
		s = snap_take(vm);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), NULL, 0, 0, 0),
				 -EFAULT);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), buf,
					7 * REC - 1, 0, 0), -EFAULT);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), buf,
					sizeof(buf), 100, 1), -EFAULT);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), buf,
					sizeof(buf), 7 * REC - 1, 1), -EFAULT);
		snap_check(vm, s);
		/* Only n * 72 bytes are copied: faults past them do not matter. */
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), buf,
					sizeof(buf), 7 * REC, 3 * REC), 7);
		/* Nothing to copy, nothing to fault on. */
		assert_int_equal(get_ub(empty, GISA_FLIC_GET_ALL_IRQS, sizeof(buf), NULL, 0, 0, 0),
				 0);
		fx_drop(state, vm);
		fx_drop(state, empty);
	}
}

static void get_all_irqs_efault_gisa(void **state)
{
	const struct gisa_irq recs[] = { t_ai(1), t_io(0x0001, 5, 1, 1) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_GISA, 1);
		struct snap *s;

		assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
		s = snap_take(vm);
		assert_int_equal(get_ub(vm, GISA_FLIC_GET_ALL_IRQS, 720, NULL, 0, 0, 0), -EFAULT);
		if (profiles[p] == CLASSIC)
			s->st.gisa.ipm = 0;   /* read destructively before the copy */
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

/* ---- ENQUEUE ------------------------------------------------------------ */

/* Two I/O records of ISC 1, a list populate() leaves empty. */
static const struct gisa_irq *rec_a(void)
{
	static struct gisa_irq a;

	a = t_io(0x0001, 0x0a, 0xaaaa, 1);
	return &a;
}

static const struct gisa_irq *rec_b(void)
{
	static struct gisa_irq b;

	b = t_io(0x0001, 0x0b, 0xbbbb, 1);
	return &b;
}

/*
 * The failed operation injected exactly record A (ISC 1 list [A], one kick)
 * and changed nothing else: A is removed again and the rest compared.
 */
static void expect_only_a_added(struct gisa_vm *vm, struct snap *s)
{
	struct gisa_event ev[2];

	expect_list(vm, 1, rec_a(), 1);
	assert_int_equal(gisa_vm_events_read(vm, ev, ARRAY_SIZE(ev)), 1);
	assert_int_equal(ev[0].kind, GISA_EV_KICK);
	assert_int_equal(ev[0].flag, GISA_KICK_IO_INT);
	assert_int_equal(t_clear_io(vm, 0x0001000a), 0);
	snap_check(vm, s);
}

static void enqueue_einval_length(void **state)
{
	const uint64_t bad[] = {
		1, 71, 73, 145, 719, (uint64_t)(GISA_FLIC_MAX_BUFFER / REC + 1) * REC,
	};
	const size_t n = GISA_FLIC_MAX_BUFFER / REC + 1;
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t *b = pack_gen(gen_io, n);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, bad[i], b, n * REC, 0, 0), -EINVAL);
	snap_check(vm, s);
	free(b);
}

/*
 * §3.2: the length is an int.  Negative values pass the size check only if
 * (2^64 + len) is a multiple of 72; every other one is -EINVAL.
 */
static void enqueue_einval_negative_length(void **state)
{
	const uint64_t bad[] = {
		0xffffffffu, 0x80000000u, 0xffffffb8u, 0xfffffff8u, ~0ull, 0xffffffff80000000ull,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t *b = pack_gen(gen_io, 16);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, bad[i], b, 16 * REC, 0, 0), -EINVAL);
	snap_check(vm, s);
	free(b);
}

/* Only the low 32 bits of attr count: 0x1_0000_0048 is one record. */
static void enqueue_einval_length_truncated(void **state)
{
	const struct gisa_irq ab[] = { *rec_a(), *rec_b() };
	const struct gisa_irq aab[] = { *rec_a(), *rec_a(), *rec_b() };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t *b = pack(ab, 2);
	struct snap *s;

	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0x100000048ull, b, 2 * REC, 0, 0), 0);
	expect_list(vm, 1, ab, 1);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0xffffffff00000090ull, b, 2 * REC, 0, 0),
			 0);
	expect_list(vm, 1, aab, 3);

	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0x100000047ull, b, 2 * REC, 0, 0),
			 -EINVAL);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0x1000000b8ull, b, 2 * REC, 0, 0),
			 -EINVAL);
	/* Truncated to 0: nothing is read. */
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0x100000000ull, NULL, 0, 0, 0), 0);
	snap_check(vm, s);
	free(b);
}

/*
 * Low 32 bits 0xFFFFFFF0 (len -16) or 0xFFFFFFA8 (-88) pass the size check
 * and the loop consumes records until the caller's buffer ends: -EFAULT,
 * with every record before the end injected.
 */
static void enqueue_efault_negative_length(void **state)
{
	const uint64_t lens[] = { 0xfffffff0u, 0xfffffffffffffff0ull, 0xffffffa8u };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_irq want[16];
	struct gisa_irq recs[3];
	size_t nwant = 0;
	uint8_t *b;
	struct snap *s;

	for (unsigned i = 0; i < 3; i++)
		recs[i] = t_io(0x0001, (uint16_t)(0x20 + i), i, 1);
	b = pack(recs, 3);
	populate(vm);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(lens); i++) {
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, lens[i], b, 3 * REC, 0, 0), -EFAULT);
		for (unsigned k = 0; k < 3; k++)
			want[nwant++] = recs[k];
		expect_list(vm, 1, want, nwant);
		assert_int_equal(drain_events(vm), 3);
	}
	/* The same loop stops at a bad type or a fault inside the buffer. */
	recs[1].type = GISA_INT_SIGP_STOP;
	free(b);
	b = pack(recs, 3);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0xfffffff0u, b, 3 * REC, 0, 0), -EINVAL);
	want[nwant++] = recs[0];
	expect_list(vm, 1, want, nwant);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 0xfffffff0u, b, 3 * REC, REC, 1), -EFAULT);
	want[nwant++] = recs[0];
	expect_list(vm, 1, want, nwant);
	assert_int_equal(drain_events(vm), 2);

	/* Take the injected records out again: the rest is as before. */
	for (size_t i = 0; i < nwant; i++) {
		uint32_t schid = 0x00010000u | want[i].u.io.subchannel_nr;

		assert_int_equal(t_clear_io(vm, schid), 0);
	}
	snap_check(vm, s);
	free(b);
}

static void enqueue_efault_type(void **state)
{
	const struct gisa_irq ab[] = { *rec_a(), *rec_b() };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t *b = pack(ab, 2);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 2 * REC, b, 2 * REC, 7, 1), -EFAULT);
	snap_check(vm, s);

	/* The second record's type is cut short or faults: A stays injected. */
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 2 * REC, b, REC + 7, 0, 0), -EFAULT);
	expect_only_a_added(vm, s);
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 2 * REC, b, 2 * REC, REC + 3, 1), -EFAULT);
	expect_only_a_added(vm, s);
	free(b);
}

static void enqueue_efault_payload(void **state)
{
	const struct gisa_irq ab[] = { *rec_a(), *rec_b() };
	const struct gisa_irq one[] = {
		t_mck(GISA_CR14_CHANNEL_REPORT, 2), t_srv(0x2002), t_virt(5, 6), t_pfd(7),
	};
	/* The last byte of each record's union member (io 12, mchk 48, ext 16). */
	const size_t last[] = { 8 + 47, 8 + 15, 8 + 15, 8 + 15 };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t *b = pack(ab, 2);
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(one); i++) {
		uint8_t r[REC];

		gisa_irq_pack1(&one[i], GISA_BE, r);
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, r, REC, last[i], 1), -EFAULT);
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, r, last[i], 0, 0), -EFAULT);
		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, r, REC, 8, 1), -EFAULT);
	}
	snap_check(vm, s);

	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 2 * REC, b, 2 * REC, REC + 8 + 11, 1),
			 -EFAULT);
	expect_only_a_added(vm, s);
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 2 * REC, b, REC + 8 + 11, 0, 0), -EFAULT);
	expect_only_a_added(vm, s);

	/* Bytes past the union member are never read, so they cannot fault. */
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, b, REC, 8 + 12, REC - 8 - 12), 0);
	expect_only_a_added(vm, s);
	free(b);
}

static void enqueue_einval_type(void **state)
{
	const uint64_t bad[] = {
		GISA_INT_SIGP_STOP, GISA_INT_PROGRAM, GISA_INT_SIGP_SET_PREFIX, GISA_INT_RESTART,
		GISA_INT_PFAULT_INIT, GISA_INT_CLOCK_COMP, GISA_INT_CPU_TIMER,
		GISA_INT_EMERGENCY, GISA_INT_EXTERNAL_CALL, 0xfffe0006u, 0xfffe1001u,
		0xffffffffu, 0x100000000ull, 0x104000000ull, ~0ull,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);

	populate(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct gisa_irq recs[3] = { *rec_a(), t_raw_type(bad[i]), *rec_b() };
		uint8_t *b = pack(recs, 3);
		struct snap *s = snap_take(vm);

		assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, 3 * REC, b, 3 * REC, 0, 0), -EINVAL);
		expect_only_a_added(vm, s);
		free(b);
	}
}

/* Fill a limit, then show that the next record is refused with no trace. */
static void expect_enqueue_ebusy(void **state, struct gisa_irq (*gen)(size_t), size_t limit,
				 const struct gisa_irq *over, size_t nover)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	fill(vm, gen, limit);
	s = snap_take(vm);
	for (size_t i = 0; i < nover; i++)
		assert_int_equal(t_enq1(vm, over[i]), -EBUSY);
	snap_check(vm, s);

	/* No rollback: a service signal before the refused record stays. */
	s = snap_take(vm);
	{
		const struct gisa_irq recs[] = { t_srv(0x3000), over[0], t_srv(0x1) };

		assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), -EBUSY);
	}
	assert_int_equal(drain_events(vm), 1);
	s->st.srv_ext_params = 0x3000;
	s->st.pending_irqs |= BIT(GISA_IRQ_EXT_SERVICE);
	snap_check(vm, s);
	fx_drop(state, vm);
}

static void enqueue_ebusy_io(void **state)
{
	const struct gisa_irq over[] = { t_io(0x0001, 1, 1, 0), t_io(0x0001, 2, 2, 7), t_ai(3) };

	expect_enqueue_ebusy(state, gen_io, GISA_MAX_FLOAT_IRQS, over, ARRAY_SIZE(over));
}

static void enqueue_ebusy_virtio(void **state)
{
	const struct gisa_irq over[] = { t_virt(1, 2) };

	expect_enqueue_ebusy(state, gen_virt, GISA_MAX_VIRTIO_IRQS, over, ARRAY_SIZE(over));
}

static void enqueue_ebusy_pfault(void **state)
{
	const struct gisa_irq over[] = { t_pfd(9) };

	expect_enqueue_ebusy(state, gen_pfd, GISA_MAX_PFAULT_IRQS, over, ARRAY_SIZE(over));
}

/* A fresh VM has no pooled records: every record type needs an allocation. */
static void enqueue_enomem_fresh_pool(void **state)
{
	const struct gisa_irq recs[] = {
		*rec_a(), t_ai(2), t_srv(0x1000), t_mck(GISA_CR14_CHANNEL_REPORT, 1),
		t_virt(1, 2), t_pfd(3),
	};

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		for (uint32_t caps = 0; caps <= GISA_CAP_GISA; caps++) {
			struct gisa_vm *vm = fx_vm(state, profiles[p], caps, 1);
			struct snap *s = snap_take(vm);
			struct gisa_irq got[8];

			fail_after(state, 0);
			for (unsigned i = 0; i < ARRAY_SIZE(recs); i++)
				assert_int_equal(t_enq1(vm, recs[i]), -ENOMEM);
			assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), -ENOMEM);
			/* Each record is allocated for before its type is read (§3.2). */
			assert_int_equal(t_enq1(vm, t_raw_type(GISA_INT_RESTART)), -ENOMEM);
			assert_int_equal(set_ub(vm, GISA_FLIC_ENQUEUE, REC, NULL, 0, 0, 0),
					 -ENOMEM);
			fail_after(state, -1);
			snap_check(vm, s);
			assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
			assert_int_equal(t_get_all(vm, got, ARRAY_SIZE(got)), 6);
			fx_drop(state, vm);
		}
	}
}

static struct gisa_irq gen_io_isc1(size_t i)
{
	return t_io(0x0001, (uint16_t)i, (uint32_t)i, 1);
}

/*
 * Pools grow in batches (DESIGN.md), so after one record there is spare
 * room: a long batch with allocation failing injects records until the
 * room is used up, then stops with -ENOMEM and keeps what it injected.
 */
static void enqueue_enomem_no_rollback(void **state)
{
	const size_t n = 4096;
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_irq *want = calloc(n + 1, sizeof(*want));
	uint8_t *b = pack_gen(gen_io_isc1, n);
	uint32_t k;

	assert_non_null(want);
	assert_int_equal(t_enq1(vm, t_io(0x0002, 1, 1, 0)), 0);
	fail_after(state, 0);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, b, n * REC), -ENOMEM);
	fail_after(state, -1);
	k = st(vm).list_len[1];
	assert_true(k >= 1 && k < n);
	for (uint32_t i = 0; i < k; i++)
		want[i] = gen_io_isc1(i);
	expect_list(vm, 1, want, k);
	assert_int_equal(st(vm).list_len[0], 1);
	assert_int_equal(drain_events(vm), 1 + k);
	free(want);
	free(b);
}

/* ---- CLEAR_IO_IRQ ------------------------------------------------------- */

/* populate() plus an entry with subchannel id 0 and number 0 (ISC 3). */
static struct gisa_vm *clear_io_vm(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);

	populate(vm);
	assert_int_equal(t_enq1(vm, t_io(0, 0, 0x77, 3)), 0);
	drain_events(vm);
	return vm;
}

static void clear_io_irq_einval_flags(void **state)
{
	const uint32_t flags[] = { 1, 2, 0x80000000u, ~0u };
	struct gisa_vm *vm = clear_io_vm(state);
	uint8_t schid[4] = { 0x00, 0x01, 0x00, 0x05 };   /* matches IO(0x0001, 5) */
	struct snap *s = snap_take(vm);
	struct gisa_attr a;

	for (unsigned i = 0; i < ARRAY_SIZE(flags); i++) {
		a = mk_attr(GISA_FLIC_CLEAR_IO_IRQ, 4, schid, sizeof(schid), 0, 0);
		a.flags = flags[i];
		assert_int_equal(gisa_flic_set_attr(vm, &a), -EINVAL);
	}
	/* Checked before the length and before the buffer is read. */
	a = mk_attr(GISA_FLIC_CLEAR_IO_IRQ, 8, NULL, 0, 0, 0);
	a.flags = 1;
	assert_int_equal(gisa_flic_set_attr(vm, &a), -EINVAL);
	snap_check(vm, s);
	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, schid, 4, 0, 0), 0);
	assert_int_equal(st(vm).list_len[2], 0);
}

static void clear_io_irq_einval_length(void **state)
{
	const uint64_t lens[] = { 0, 1, 3, 5, 8, 0x100000004ull, ~0ull };
	struct gisa_vm *vm = clear_io_vm(state);
	uint8_t schid[8] = { 0x00, 0x01, 0x00, 0x05, 0x00, 0x01, 0x00, 0x05 };
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(lens); i++)
		assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, lens[i], schid, sizeof(schid),
					0, 0), -EINVAL);
	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 8, NULL, 0, 0, 0), -EINVAL);
	snap_check(vm, s);
}

static void clear_io_irq_efault(void **state)
{
	struct gisa_vm *vm = clear_io_vm(state);
	uint8_t schid[4] = { 0x00, 0x01, 0x00, 0x05 };
	struct snap *s = snap_take(vm);

	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, schid, 3, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, schid, 4, 3, 1), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, schid, 4, 0, 1), -EFAULT);
	snap_check(vm, s);
}

static void clear_io_irq_einval_schid(void **state)
{
	struct gisa_vm *vm = clear_io_vm(state);
	struct snap *s = snap_take(vm);

	/* The id 0 / nr 0 entry would match; schid 0 is refused instead. */
	assert_int_equal(t_clear_io(vm, 0), -EINVAL);
	snap_check(vm, s);
	assert_int_equal(st(vm).list_len[3], 1);
}

/* ---- ADAPTER_REGISTER --------------------------------------------------- */

static void adapter_register_efault(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t b[GISA_IO_ADAPTER_SIZE];
	struct snap *s;

	assert_int_equal(t_register(vm, 1, 2, 1, 1, 1), 0);
	pack_adapter(b, 9, 3, 0, 1, 0);
	s = snap_take(vm);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_REGISTER, 0, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b) - 1, 0, 0),
			 -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b), 7, 1), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b), 0, 1), -EFAULT);
	snap_check(vm, s);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b), 0, 0), 0);
	assert_int_equal(st(vm).adapter_mask, BIT(1) | BIT(9));
}

static void adapter_register_einval_id(void **state)
{
	const uint32_t ids[] = { GISA_MAX_ADAPTERS, 65, 0x100, 0x80000000u, ~0u };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	assert_int_equal(t_register(vm, 63, 7, 0, 0, 0), 0);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(t_register(vm, ids[i], 1, 0, 0, 0), -EINVAL);
	snap_check(vm, s);
}

static void adapter_register_einval_duplicate(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_AIS, 1);
		struct snap *s;

		assert_int_equal(t_register(vm, 3, 2, 1, 1, 1), 0);
		assert_int_equal(t_modify(vm, 3, GISA_IO_ADAPTER_MASK, 1, 0), 0);
		assert_int_equal(t_modify(vm, 3, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		s = snap_take(vm);
		assert_int_equal(t_register(vm, 3, 5, 0, 0, 0), -EINVAL);
		assert_int_equal(t_register(vm, 3, 2, 1, 1, 1), -EINVAL);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void adapter_register_enomem(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_state_adapter a;
	struct snap *s;

	assert_int_equal(t_register(vm, 0, 0, 0, 0, 0), 0);
	s = snap_take(vm);
	fail_after(state, 0);
	assert_int_equal(t_register(vm, 4, 4, 1, 1, 1), -ENOMEM);
	fail_after(state, -1);
	snap_check(vm, s);
	assert_int_equal(gisa_state_adapter(vm, 4, &a), -ENOENT);
	assert_int_equal(t_register(vm, 4, 4, 1, 1, 1), 0);
	assert_int_equal(gisa_state_adapter(vm, 4, &a), 0);
	assert_int_equal(a.isc, 4);
}

/* ---- ADAPTER_MODIFY ----------------------------------------------------- */

/* Adapter 1 maskable (isc 2), adapter 2 not maskable (isc 3). */
static struct gisa_vm *modify_vm(void **state, enum gisa_profile p)
{
	struct gisa_vm *vm = fx_vm(state, p, NO_CAPS, 1);

	assert_int_equal(t_register(vm, 1, 2, 1, 1, 0), 0);
	assert_int_equal(t_register(vm, 2, 3, 0, 1, 0), 0);
	return vm;
}

static void adapter_modify_efault(void **state)
{
	struct gisa_vm *vm = modify_vm(state, CLASSIC);
	uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];
	struct snap *s = snap_take(vm);

	pack_req(b, 1, GISA_IO_ADAPTER_MASK, 1, 0);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_MODIFY, 0, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b) - 1, 0, 0),
			 -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b), 15, 1), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b), 4, 1), -EFAULT);
	snap_check(vm, s);
}

static void adapter_modify_einval_unregistered(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = modify_vm(state, profiles[p]);
		struct snap *s = snap_take(vm);

		assert_int_equal(t_modify(vm, 5, GISA_IO_ADAPTER_MASK, 1, 0), -EINVAL);
		assert_int_equal(t_modify(vm, 64, GISA_IO_ADAPTER_MASK, 1, 0), -EINVAL);
		assert_int_equal(t_modify(vm, ~0u, GISA_IO_ADAPTER_MASK, 1, 0), -EINVAL);
		/* The adapter is looked up before the type is. */
		assert_int_equal(t_modify(vm, 5, 9, 0, 0), -EINVAL);
		assert_int_equal(t_modify(vm, 5, GISA_IO_ADAPTER_MAP, 0, 0x10000), -EINVAL);
		assert_int_equal(t_modify(vm, 5, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), -EINVAL);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void adapter_modify_einval_not_maskable(void **state)
{
	struct gisa_vm *vm = modify_vm(state, CLASSIC);
	struct snap *s = snap_take(vm);

	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MASK, 1, 0), -EINVAL);
	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MASK, 0, 0), -EINVAL);
	snap_check(vm, s);
}

static void adapter_modify_einval_type(void **state)
{
	const uint8_t types[] = { 0, 4, 5, 0x80, 0xff };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = modify_vm(state, profiles[p]);
		struct snap *s;

		/* Masked, so that a type taken for MASK with mask 0 would show. */
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MASK, 1, 0), 0);
		s = snap_take(vm);
		for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
			assert_int_equal(t_modify(vm, 1, types[i], 0, 0x10000), -EINVAL);
			assert_int_equal(t_modify(vm, 2, types[i], 0, 0x10000), -EINVAL);
		}
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

/* NEWEST refuses op on address 0; CLASSIC's MAP/UNMAP are no-ops (§3.6). */
static void expect_map_op_zero(void **state, uint8_t op)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = modify_vm(state, profiles[p]);
		struct snap *s;

		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		s = snap_take(vm);
		assert_int_equal(t_modify(vm, 1, op, 0, 0),
				 profiles[p] == NEWEST ? -EINVAL : 0);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void adapter_modify_einval_map_zero(void **state)
{
	expect_map_op_zero(state, GISA_IO_ADAPTER_MAP);
}

static void adapter_modify_einval_unmap_zero(void **state)
{
	expect_map_op_zero(state, GISA_IO_ADAPTER_UNMAP);
}

static void adapter_modify_einval_map_limit(void **state)
{
	struct gisa_vm *vm = modify_vm(state, NEWEST);
	uint64_t maps[GISA_MAX_ADAPTER_MAPS + 1];
	struct snap *s;

	for (unsigned i = 0; i < GISA_MAX_ADAPTER_MAPS; i++)
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0,
					  i % 2 ? 0x10000 : 0x20000 + (i % 64) * PAGE), 0);
	s = snap_take(vm);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), -EINVAL);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x30000), -EINVAL);
	/* The memslot lookup comes before the limit (§3.6). */
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x40000000), -EFAULT);
	snap_check(vm, s);
	/* The other adapter's list is its own. */
	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	/* One UNMAP makes room for one MAP (the first 0x10000 entry goes). */
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x40000), 0);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x40000), -EINVAL);
	assert_int_equal(gisa_state_adapter_maps(vm, 1, maps, ARRAY_SIZE(maps)),
			 GISA_MAX_ADAPTER_MAPS);
	assert_int_equal(maps[0], 0x20000);
	assert_int_equal(maps[1], 0x20000 + 2 * PAGE);
	assert_int_equal(maps[2], 0x10000);
	assert_int_equal(maps[GISA_MAX_ADAPTER_MAPS - 1], 0x40000);
}

static void adapter_modify_efault_map_unbacked(void **state)
{
	const uint64_t addrs[] = { MIB, 0x40000000, ~0ull };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = modify_vm(state, profiles[p]);
		struct snap *s = snap_take(vm);

		for (unsigned i = 0; i < ARRAY_SIZE(addrs); i++)
			assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, addrs[i]),
					 profiles[p] == NEWEST ? -EFAULT : 0);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void adapter_modify_enoent_unmap(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = modify_vm(state, profiles[p]);
		int enoent = profiles[p] == NEWEST ? -ENOENT : 0;
		struct snap *s = snap_take(vm);

		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), enoent);
		snap_check(vm, s);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		s = snap_take(vm);
		/* Exact address match only, and per adapter. */
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x10001), enoent);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x20000), enoent);
		assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), enoent);
		snap_check(vm, s);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), 0);
		s = snap_take(vm);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), enoent);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

/*
 * A fresh adapter has no map storage: MAP under a failing allocator is
 * -ENOMEM, checked after address 0 but before the memslot lookup (§3.6).
 * Then every one of 256 MAPs either needs no allocation or fails cleanly.
 */
static void adapter_modify_enomem_map(void **state)
{
	struct gisa_vm *vm = modify_vm(state, NEWEST);
	uint64_t maps[GISA_MAX_ADAPTER_MAPS];
	struct snap *s = snap_take(vm);
	unsigned refused = 0;

	fail_after(state, 0);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), -ENOMEM);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x40000000), -ENOMEM);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0), -EINVAL);
	fail_after(state, -1);
	snap_check(vm, s);

	for (unsigned i = 0; i < GISA_MAX_ADAPTER_MAPS; i++) {
		struct gisa_state_adapter a;
		int r;

		fail_after(state, 0);
		r = t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000 + i);
		fail_after(state, -1);
		assert_int_equal(gisa_state_adapter(vm, 1, &a), 0);
		if (r == -ENOMEM) {
			refused++;
			assert_int_equal(a.nr_maps, i);
			assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000 + i), 0);
		} else {
			assert_int_equal(r, 0);
		}
		assert_int_equal(gisa_state_adapter(vm, 1, &a), 0);
		assert_int_equal(a.nr_maps, i + 1);
	}
	assert_true(refused >= 1);
	assert_int_equal(gisa_state_adapter_maps(vm, 1, maps, ARRAY_SIZE(maps)),
			 GISA_MAX_ADAPTER_MAPS);
	for (unsigned i = 0; i < GISA_MAX_ADAPTER_MAPS; i++)
		assert_int_equal(maps[i], 0x10000 + i);
}

/* ---- AISM and AISM_ALL -------------------------------------------------- */

/* AIS on, simm 0x50, nimm 0x40 (ISC 1 NO-interruptions, ISC 3 SINGLE). */
static struct gisa_vm *ais_vm(void **state, uint32_t caps)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, caps, 1);

	if (caps & GISA_CAP_AIS)
		assert_int_equal(t_aism_all_set(vm, 0x50, 0x40), 0);
	return vm;
}

static void aism_eopnotsupp(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_GISA);
	uint8_t b[GISA_AIS_REQ_SIZE];
	struct snap *s = snap_take(vm);

	pack_ais(b, 2, GISA_AIS_MODE_SINGLE);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, b, sizeof(b), 0, 0), -EOPNOTSUPP);
	/* Checked before the buffer is read. */
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, NULL, 0, 0, 0), -EOPNOTSUPP);
	pack_ais(b, 9, 7);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, b, sizeof(b), 0, 0), -EOPNOTSUPP);
	snap_check(vm, s);
}

static void aism_efault(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_AIS);
	uint8_t b[GISA_AIS_REQ_SIZE];
	struct snap *s = snap_take(vm);

	pack_ais(b, 2, GISA_AIS_MODE_SINGLE);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, b, sizeof(b) - 1, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, b, sizeof(b), 3, 1), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM, 0, b, sizeof(b), 0, 1), -EFAULT);
	snap_check(vm, s);
}

static void aism_einval_isc(void **state)
{
	const uint8_t iscs[] = { 8, 9, 0x80, 0xff };
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_AIS);
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(iscs); i++) {
		assert_int_equal(t_aism(vm, iscs[i], GISA_AIS_MODE_SINGLE), -EINVAL);
		assert_int_equal(t_aism(vm, iscs[i], GISA_AIS_MODE_ALL), -EINVAL);
	}
	snap_check(vm, s);
}

static void aism_einval_mode(void **state)
{
	const uint16_t modes[] = { 2, 3, 0x100, 0x8000, 0xffff };
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_AIS);
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		assert_int_equal(t_aism(vm, 1, modes[i]), -EINVAL);
		assert_int_equal(t_aism(vm, 2, modes[i]), -EINVAL);
	}
	snap_check(vm, s);
}

static void aism_all_get_einval_length(void **state)
{
	for (uint32_t caps = 0; caps <= GISA_CAP_AIS; caps += GISA_CAP_AIS) {
		struct gisa_vm *vm = ais_vm(state, caps);
		uint8_t b[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
		struct snap *s = snap_take(vm);

		/* Checked first: before the facility and before the buffer. */
		assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 0, b, sizeof(b), 0, 0), -EINVAL);
		assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 1, b, sizeof(b), 0, 0), -EINVAL);
		assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 1, NULL, 0, 0, 0), -EINVAL);
		assert_true(all_bytes(b, sizeof(b), 0xaa));
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void aism_all_get_eopnotsupp(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_GISA);
	uint8_t b[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	struct snap *s = snap_take(vm);

	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b), 0, 0), -EOPNOTSUPP);
	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, ~0ull, b, sizeof(b), 0, 0), -EOPNOTSUPP);
	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 2, NULL, 0, 0, 0), -EOPNOTSUPP);
	assert_true(all_bytes(b, sizeof(b), 0xaa));
	snap_check(vm, s);
}

static void aism_all_get_efault(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_AIS);
	uint8_t b[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	struct snap *s = snap_take(vm);

	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 2, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 2, b, 1, 0, 0), -EFAULT);
	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b), 1, 1), -EFAULT);
	snap_check(vm, s);
	/* Two bytes are copied whatever attr says (>= 2). */
	assert_int_equal(get_ub(vm, GISA_FLIC_AISM_ALL, 100, b, sizeof(b), 2, 2), 0);
	assert_int_equal(b[0], 0x50);
	assert_int_equal(b[1], 0x40);
}

static void aism_all_set_eopnotsupp(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_GISA);
	uint8_t b[2] = { 0xff, 0xff };
	struct snap *s = snap_take(vm);

	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b), 0, 0), -EOPNOTSUPP);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, NULL, 0, 0, 0), -EOPNOTSUPP);
	snap_check(vm, s);
}

static void aism_all_set_efault(void **state)
{
	struct gisa_vm *vm = ais_vm(state, GISA_CAP_AIS);
	uint8_t b[2] = { 0xff, 0xff };
	struct snap *s = snap_take(vm);

	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, NULL, 0, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, b, 1, 0, 0), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b), 0, 1), -EFAULT);
	assert_int_equal(set_ub(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b), 1, 1), -EFAULT);
	snap_check(vm, s);
}

/* ---- AIRQ_INJECT -------------------------------------------------------- */

static void airq_inject_einval_id(void **state)
{
	const uint64_t ids[] = {
		0, 4, 6, 63, 64, 0x100000040ull, 0xffffffffu, 0xffffffff0000003full, ~0ull,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS, 1);
	const struct gisa_irq isc6[] = { t_io(0x0001, 6, 0x12, 6), t_ai(6) };
	struct snap *s;

	assert_int_equal(t_register(vm, 5, 6, 0, 1, 1), 0);
	populate(vm);
	s = snap_take(vm);
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++)
		assert_int_equal(t_airq(vm, ids[i]), -EINVAL);
	snap_check(vm, s);
	/* The id is the low 32 bits of attr. */
	assert_int_equal(t_airq(vm, 0x100000005ull), 0);
	expect_list(vm, 6, isc6, 2);   /* behind populate()'s ISC 6 entry */
}

static void airq_inject_ebusy(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_AIS, 1);
		struct snap *s;

		assert_int_equal(t_register(vm, 1, 2, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
		assert_int_equal(t_register(vm, 2, 2, 0, 1, 0), 0);
		fill(vm, gen_io, GISA_MAX_FLOAT_IRQS);
		assert_int_equal(t_aism(vm, 2, GISA_AIS_MODE_SINGLE), 0);
		s = snap_take(vm);
		assert_int_equal(t_airq(vm, 1), -EBUSY);
		assert_int_equal(t_airq(vm, 2), -EBUSY);
		/* Vector 60: the failed injection did not use up SINGLE. */
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

/*
 * §14.15: NEWEST allocates before the AIS check, CLASSIC after it, so a
 * suppressed interrupt under a failing allocator is 0 in CLASSIC and
 * -ENOMEM in NEWEST.  Adapter 1 (isc 3) is suppressed, adapter 2 (isc 4)
 * is not suppressible, adapter 3 (isc 5) is armed SINGLE.
 */
static void expect_airq_enomem(void **state, enum gisa_profile p)
{
	for (uint32_t gisa = 0; gisa <= GISA_CAP_GISA; gisa++) {
		struct gisa_vm *vm = fx_vm(state, p, GISA_CAP_AIS | gisa, 1);
		struct gisa_irq want[2] = { t_ai(5) };
		struct snap *s;

		assert_int_equal(t_register(vm, 1, 3, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
		assert_int_equal(t_register(vm, 2, 4, 0, 1, 0), 0);
		assert_int_equal(t_register(vm, 3, 5, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
		assert_int_equal(t_aism_all_set(vm, 0x14, 0x10), 0);
		s = snap_take(vm);
		fail_after(state, 0);
		assert_int_equal(t_airq(vm, 1), p == NEWEST ? -ENOMEM : 0);
		assert_int_equal(t_airq(vm, 2), -ENOMEM);
		assert_int_equal(t_airq(vm, 3), -ENOMEM);
		fail_after(state, -1);
		snap_check(vm, s);

		/* With memory: SINGLE fires once, the suppressed one stays quiet. */
		assert_int_equal(t_airq(vm, 3), 0);
		assert_int_equal(t_airq(vm, 1), 0);
		assert_int_equal(st(vm).nimm, 0x14);
		if (gisa)
			assert_int_equal(st(vm).gisa.ipm, 0x04);
		else
			expect_list(vm, 5, want, 1);
		fx_drop(state, vm);
	}
}

static void airq_inject_enomem_classic(void **state)
{
	expect_airq_enomem(state, CLASSIC);
}

static void airq_inject_enomem_newest(void **state)
{
	expect_airq_enomem(state, NEWEST);
}

/* ---- legacy VM injection: gisa_vm_interrupt and gisa_vm_inject ---------- */

static const uint64_t non_floating[] = {
	GISA_INT_SIGP_STOP, GISA_INT_PROGRAM, GISA_INT_SIGP_SET_PREFIX, GISA_INT_RESTART,
	GISA_INT_PFAULT_INIT, GISA_INT_CLOCK_COMP, GISA_INT_CPU_TIMER, GISA_INT_EMERGENCY,
	GISA_INT_EXTERNAL_CALL, 0xfffe0006u, 0xfffe1001u, 0xffff2402u, 0xffffffffu,
};

/* A VM without a FLIC (these are VM ioctls) with some floating state. */
static struct gisa_vm *legacy_vm(void **state, enum gisa_profile p, uint32_t caps)
{
	struct gisa_vm *vm = fx_vm_bare(state, p, caps, 2, 0);
	const struct gisa_irq recs[] = { t_io(0x0001, 5, 1, 2), t_srv(0x1001), t_virt(1, 2) };

	for (unsigned i = 0; i < ARRAY_SIZE(recs); i++)
		assert_int_equal(gisa_vm_inject(vm, &recs[i]), 0);
	drain_events(vm);
	return vm;
}

static void vm_interrupt_einval_type(void **state)
{
	struct gisa_vm *vm = legacy_vm(state, CLASSIC, GISA_CAP_GISA);
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(non_floating); i++)
		assert_int_equal(gisa_vm_interrupt(vm, (uint32_t)non_floating[i], 0x00010005,
						   0x10000000), -EINVAL);
	snap_check(vm, s);
	/* The last I/O type is floating (and has the AI bit: the GISA takes it). */
	assert_int_equal(gisa_vm_interrupt(vm, GISA_INT_IO_MAX, 0x00010009, 0), 0);
	assert_int_equal(st(vm).gisa.ipm, 0x80);
}

static void vm_inject_einval_type(void **state)
{
	const uint64_t wide[] = { 0x100000000ull, 0x104000000ull, 0xfffffffffffe0005ull, ~0ull };
	struct gisa_vm *vm = legacy_vm(state, NEWEST, GISA_CAP_GISA);
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(non_floating); i++) {
		struct gisa_irq r = t_raw_type(non_floating[i]);

		assert_int_equal(gisa_vm_inject(vm, &r), -EINVAL);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(wide); i++) {
		struct gisa_irq r = t_io(0x0001, 5, 1, 0);

		r.type = wide[i];
		assert_int_equal(gisa_vm_inject(vm, &r), -EINVAL);
	}
	snap_check(vm, s);
}

struct limit_case {
	struct gisa_irq (*gen)(size_t i);
	size_t limit;
	uint32_t type;           /* the over-limit record, legacy form */
	uint32_t parm;
	uint64_t parm64;
};

static const struct limit_case limits[] = {
	{ gen_io, GISA_MAX_FLOAT_IRQS, GISA_INT_IO(0, 0, 0, 7), 0x00010007, 2ull << 27 },
	{ gen_virt, GISA_MAX_VIRTIO_IRQS, GISA_INT_VIRTIO, 1, 2 },
	{ gen_pfd, GISA_MAX_PFAULT_IRQS, GISA_INT_PFAULT_DONE, 0, 3 },
};

static void vm_interrupt_ebusy(void **state)
{
	for (unsigned i = 0; i < ARRAY_SIZE(limits); i++) {
		struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
		struct snap *s;

		fill(vm, limits[i].gen, limits[i].limit);
		s = snap_take(vm);
		assert_int_equal(gisa_vm_interrupt(vm, limits[i].type, limits[i].parm,
						   limits[i].parm64), -EBUSY);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void vm_inject_ebusy(void **state)
{
	for (unsigned i = 0; i < ARRAY_SIZE(limits); i++) {
		struct gisa_vm *vm = fx_vm(state, NEWEST, NO_CAPS, 1);
		struct gisa_irq over = limits[i].gen(7);
		struct snap *s;

		fill(vm, limits[i].gen, limits[i].limit);
		s = snap_take(vm);
		assert_int_equal(gisa_vm_inject(vm, &over), -EBUSY);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

/* A fresh VM's pool is empty; the kernel allocates before the type is known. */
static void vm_interrupt_enomem(void **state)
{
	const uint32_t types[] = {
		GISA_INT_IO(0, 0, 0, 5), GISA_INT_IO_AI_MASK, GISA_INT_VIRTIO, GISA_INT_SERVICE,
		GISA_INT_PFAULT_DONE, GISA_INT_MCHK,
	};

	for (uint32_t caps = 0; caps <= GISA_CAP_GISA; caps++) {
		struct gisa_vm *vm = fx_vm_bare(state, CLASSIC, caps, 1, 0);
		struct snap *s = snap_take(vm);

		fail_after(state, 0);
		for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
			assert_int_equal(gisa_vm_interrupt(vm, types[i], 0x00010005,
							   0x10000000), -ENOMEM);
		fail_after(state, -1);
		snap_check(vm, s);
		for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
			assert_int_equal(gisa_vm_interrupt(vm, types[i], 0x00010005,
							   0x10000000), 0);
		fx_drop(state, vm);
	}
}

static void vm_inject_enomem(void **state)
{
	const struct gisa_irq recs[] = {
		*rec_a(), t_ai(1), t_virt(1, 2), t_srv(0x1000), t_pfd(3),
		t_mck(GISA_CR14_CHANNEL_REPORT, 1),
	};

	for (uint32_t caps = 0; caps <= GISA_CAP_GISA; caps++) {
		struct gisa_vm *vm = fx_vm_bare(state, NEWEST, caps, 1, 0);
		struct snap *s = snap_take(vm);

		fail_after(state, 0);
		for (unsigned i = 0; i < ARRAY_SIZE(recs); i++)
			assert_int_equal(gisa_vm_inject(vm, &recs[i]), -ENOMEM);
		fail_after(state, -1);
		snap_check(vm, s);
		for (unsigned i = 0; i < ARRAY_SIZE(recs); i++)
			assert_int_equal(gisa_vm_inject(vm, &recs[i]), 0);
		fx_drop(state, vm);
	}
}

/* ---- routes ------------------------------------------------------------- */

/* Adapter 0 (isc 3, swap), routes gsi 1 and 2 as in vectors 61/62. */
static const struct gisa_route_entry base_routes[] = {
	{ .gsi = 1, .type = GISA_IRQ_ROUTING_S390_ADAPTER,
	  .adapter = { .ind_addr = 0x10000, .summary_addr = 0x20000, .ind_offset = 5 } },
	{ .gsi = 2, .type = GISA_IRQ_ROUTING_S390_ADAPTER,
	  .adapter = { .ind_addr = 0x10000, .summary_addr = 0x20000, .ind_offset = 6 } },
};

static struct gisa_vm *route_vm(void **state, enum gisa_profile p, uint32_t caps)
{
	struct gisa_vm *vm = fx_vm(state, p, caps, 1);

	assert_int_equal(t_register(vm, 0, 3, 1, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, base_routes, ARRAY_SIZE(base_routes), 0), 0);
	return vm;
}

/* routes_set(entries) fails with err in both profiles; the table stays. */
static void expect_routes_fail(void **state, const struct gisa_route_entry *e, size_t n,
			       uint32_t flags, int err)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = route_vm(state, profiles[p], NO_CAPS);
		struct snap *s = snap_take(vm);

		assert_int_equal(gisa_routes_set(vm, e, n, flags), err);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void routes_set_einval_flags(void **state)
{
	const struct gisa_route_entry ok[] = { t_route(7, 0x30000, 0, 0x30008, 0, 0) };

	expect_routes_fail(state, ok, 1, 1, -EINVAL);
	expect_routes_fail(state, ok, 1, 0x80000000u, -EINVAL);
	expect_routes_fail(state, NULL, 0, 1, -EINVAL);
}

static void routes_set_einval_count(void **state)
{
	const size_t n = GISA_MAX_IRQ_ROUTES + 1;
	struct gisa_route_entry *e = calloc(n, sizeof(*e));
	struct gisa_vm *vm;

	assert_non_null(e);
	for (size_t i = 0; i < n; i++)
		e[i] = t_route((uint32_t)(i % GISA_MAX_IRQ_ROUTES), 0x10000, i, 0x20000, 0, 0);
	expect_routes_fail(state, e, n, 0, -EINVAL);
	/* Exactly 4096 routes are fine. */
	vm = route_vm(state, CLASSIC, NO_CAPS);
	assert_int_equal(gisa_routes_set(vm, e, GISA_MAX_IRQ_ROUTES, 0), 0);
	assert_int_equal(st(vm).nr_routes, GISA_MAX_IRQ_ROUTES);
	free(e);
}

static void routes_set_einval_gsi(void **state)
{
	const uint32_t gsis[] = { GISA_MAX_IRQ_ROUTES, GISA_MAX_IRQ_ROUTES + 1, 0x80000000u, ~0u };

	for (unsigned i = 0; i < ARRAY_SIZE(gsis); i++) {
		const struct gisa_route_entry e[] = {
			t_route(3, 0x30000, 0, 0x30008, 0, 0),
			t_route(gsis[i], 0x30000, 1, 0x30008, 0, 0),
		};

		expect_routes_fail(state, e, ARRAY_SIZE(e), 0, -EINVAL);
	}
}

static void routes_set_einval_entry_flags(void **state)
{
	const uint32_t flags[] = { 1, 2, 0x80000000u };

	for (unsigned i = 0; i < ARRAY_SIZE(flags); i++) {
		struct gisa_route_entry e[] = {
			t_route(3, 0x30000, 0, 0x30008, 0, 0),
			t_route(4, 0x30000, 1, 0x30008, 0, 0),
		};

		e[1].flags = flags[i];
		expect_routes_fail(state, e, ARRAY_SIZE(e), 0, -EINVAL);
	}
}

static void routes_set_einval_duplicate_gsi(void **state)
{
	const struct gisa_route_entry e[] = {
		t_route(5, 0x30000, 0, 0x30008, 0, 0),
		t_route(6, 0x30000, 1, 0x30008, 0, 0),
		t_route(5, 0x30000, 2, 0x30008, 0, 0),
	};

	expect_routes_fail(state, e, ARRAY_SIZE(e), 0, -EINVAL);
}

static void routes_set_einval_type(void **state)
{
	const uint32_t types[] = {
		0, GISA_IRQ_ROUTING_IRQCHIP, GISA_IRQ_ROUTING_MSI, 4, 5, ~0u,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(types); i++) {
		struct gisa_route_entry e[] = {
			t_route(3, 0x30000, 0, 0x30008, 0, 0),
			t_route(4, 0x30000, 1, 0x30008, 0, 0),
		};

		e[1].type = types[i];
		expect_routes_fail(state, e, ARRAY_SIZE(e), 0, -EINVAL);
	}
}

/*
 * NEWEST rejects an indicator or summary byte outside the page of its area
 * address (§5.1 step 3); CLASSIC accepts such routes (§14.5).
 */
static void routes_set_einval_page_bound(void **state)
{
	const struct gisa_route_entry bad[] = {
		t_route(9, 0x10000, 0, 0x20fff, 8, 0),
		t_route(9, 0x10fff, 8, 0x20000, 0, 0),
		t_route(9, 0x10000, 8 * PAGE, 0x20000, 0, 0),
		t_route(9, 0x10000, 0, 0x20000, 0xffffffffu, 0),
		t_route(9, 0x10008, 8 * (PAGE - 8), 0x20000, 0, 0),
	};
	const struct gisa_route_entry edge[] = {
		t_route(9, 0x10fff, 7, 0x20ff8, 63, 0),
	};

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
			struct gisa_vm *vm = route_vm(state, profiles[p], NO_CAPS);
			const struct gisa_route_entry e[] = { base_routes[0], bad[i] };
			struct snap *s = snap_take(vm);

			if (profiles[p] == NEWEST) {
				assert_int_equal(gisa_routes_set(vm, e, 2, 0), -EINVAL);
				snap_check(vm, s);
			} else {
				snap_free(s);
				assert_int_equal(gisa_routes_set(vm, e, 2, 0), 0);
				assert_int_equal(st(vm).nr_routes, 2);
			}
			assert_int_equal(gisa_routes_set(vm, edge, 1, 0), 0);
			fx_drop(state, vm);
		}
	}
}

static void routes_set_efault(void **state)
{
	const struct gisa_route_entry bad[] = {
		t_route(9, 0x40000000, 0, 0x20000, 0, 0),
		t_route(9, 0x10000, 0, 0x40000000, 0, 0),
		t_route(9, MIB, 0, 0x20000, 0, 0),
		t_route(9, 0x10000, 0, MIB, 0, 0),
		t_route(9, ~0ull - 7, 0, ~0ull - 7, 0, 0),
	};

	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct gisa_route_entry e[] = {
			t_route(3, MIB - 8, 0, MIB - 1, 0, 0), bad[i],
		};

		expect_routes_fail(state, e, ARRAY_SIZE(e), 0, -EFAULT);
	}
}

static void routes_set_enomem(void **state)
{
	const struct gisa_route_entry e[] = {
		t_route(0, 0x30000, 0, 0x30008, 0, 0),
		t_route(4095, 0x30000, 1, 0x30008, 0, 0),
		t_route(17, 0x30000, 2, 0x30008, 0, 0),
	};

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = route_vm(state, profiles[p], NO_CAPS);
		struct gisa_route_entry got;
		long n;

		for (n = 0; n < 16; n++) {
			struct snap *s = snap_take(vm);
			int r;

			fail_after(state, n);
			r = gisa_routes_set(vm, e, ARRAY_SIZE(e), 0);
			fail_after(state, -1);
			if (r == 0) {
				snap_free(s);
				break;
			}
			assert_int_equal(r, -ENOMEM);
			snap_check(vm, s);
		}
		assert_true(n >= 1 && n < 16);
		assert_int_equal(st(vm).nr_routes, 3);
		assert_int_equal(gisa_state_route(vm, 2, &got), 0);
		assert_int_equal(got.gsi, 4095);
		fx_drop(state, vm);
	}
}

/* §14.3: a gsi without a route gives -1 and touches nothing. */
static void route_trigger_fail_no_route(void **state)
{
	const uint32_t gsis[] = { 0, 3, 4095, GISA_MAX_IRQ_ROUTES, ~0u };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = route_vm(state, profiles[p], NO_CAPS);
		struct gisa_vm *bare = fx_vm(state, profiles[p], NO_CAPS, 1);
		struct snap *s = snap_take(vm);
		struct snap *sb = snap_take(bare);

		for (unsigned i = 0; i < ARRAY_SIZE(gsis); i++) {
			assert_int_equal(gisa_route_trigger(vm, gsis[i], 1), -1);
			assert_int_equal(gisa_route_trigger(bare, gsis[i], 1), -1);
		}
		assert_int_equal(gisa_route_trigger(bare, 1, 1), -1);
		snap_check(vm, s);
		snap_check(bare, sb);
		expect_clean_slot0(vm);
		fx_drop(state, vm);
		fx_drop(state, bare);
	}
}

static void route_trigger_fail_unregistered_adapter(void **state)
{
	const struct gisa_route_entry e[] = { t_route(1, 0x10000, 5, 0x20000, 0, 7) };
	const struct gisa_irq ai3 = t_ai(3);

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		struct snap *s;

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		s = snap_take(vm);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
		snap_check(vm, s);
		expect_clean_slot0(vm);
		assert_int_equal(t_register(vm, 7, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		assert_int_equal(t_mem_byte(vm, 0x10000), 0x04);
		assert_int_equal(t_mem_byte(vm, 0x20000), 0x80);
		expect_list(vm, 3, &ai3, 1);
		fx_drop(state, vm);
	}
}

/* §14.6: areas whose memslot is gone give -1 with nothing written. */
static void route_trigger_fail_unbacked(void **state)
{
	const uint64_t base = 2 * MIB;
	const struct gisa_route_entry e[] = { t_route(1, base, 0, base + PAGE, 0, 0) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		struct snap *s;

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, base, 16 * PAGE), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
		s = snap_take(vm);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
		snap_check(vm, s);
		expect_clean_slot0(vm);
		assert_int_equal(gisa_mem_set_slot(vm, 1, base, 16 * PAGE), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		assert_int_equal(t_mem_byte(vm, base), 0x80);
		assert_int_equal(t_mem_byte(vm, base + PAGE), 0x80);
		fx_drop(state, vm);
	}
}

/*
 * Vector 71: no GISA, I/O lists full: the trigger returns -EBUSY with both
 * bits set and nothing queued; later triggers coalesce.
 */
static void route_trigger_ebusy(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = route_vm(state, profiles[p], GISA_CAP_AIS);
		struct snap *s;

		assert_int_equal(t_register(vm, 1, 3, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
		{
			const struct gisa_route_entry e[] = {
				base_routes[0], t_route(3, 0x10000, 6, 0x20000, 0, 1),
			};

			assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);
		}
		assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
		fill(vm, gen_io, GISA_MAX_FLOAT_IRQS);
		t_mem_set_byte(vm, 0x10000, 0);   /* back both pages beforehand */
		t_mem_set_byte(vm, 0x20000, 0);
		for (uint32_t gsi = 1; gsi <= 3; gsi += 2) {
			s = snap_take(vm);
			assert_true(gisa_route_trigger(vm, gsi, 1) == -EBUSY);
			s->mem[0][0x10000] = gsi == 1 ? 0x04 : 0x02;
			s->mem[0][0x20000] = 0x80;
			snap_check(vm, s);   /* AIS SINGLE is not used up either */
			s = snap_take(vm);
			assert_int_equal(gisa_route_trigger(vm, gsi, 1), 0);
			snap_check(vm, s);
			t_mem_set_byte(vm, 0x10000, 0);
			t_mem_set_byte(vm, 0x20000, 0);
		}
		fx_drop(state, vm);
	}
}

static void route_trigger_enomem(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = route_vm(state, profiles[p], GISA_CAP_AIS);
		const struct gisa_irq ai3 = t_ai(3);
		struct snap *s;

		assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
		t_mem_set_byte(vm, 0x10000, 0);
		t_mem_set_byte(vm, 0x20000, 0);
		s = snap_take(vm);
		fail_after(state, 0);
		assert_true(gisa_route_trigger(vm, 1, 1) == -ENOMEM);
		fail_after(state, -1);
		s->mem[0][0x10000] = 0x04;
		s->mem[0][0x20000] = 0x80;
		snap_check(vm, s);
		/* The set summary makes the next trigger coalesce (§5.2 step 4). */
		assert_int_equal(gisa_route_trigger(vm, 2, 1), 0);
		t_mem_set_byte(vm, 0x20000, 0);
		assert_int_equal(gisa_route_trigger(vm, 2, 1), 1);
		expect_list(vm, 3, &ai3, 1);
		fx_drop(state, vm);
	}
}

/* ---- memslots and guest memory ------------------------------------------ */

static void mem_set_slot_einval_alignment(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	t_mem_set_byte(vm, 0x1234, 0x56);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB + 0x100, PAGE), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, 100), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, PAGE + 1), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB + 1, PAGE - 1), -EINVAL);
	/* Moving or resizing an existing slot is checked the same way. */
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0x10, MIB), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, MIB - 1), -EINVAL);
	snap_check(vm, s);
}

static void mem_set_slot_einval_overflow(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_mem_set_slot(vm, 1, ~0ull - PAGE + 1, 2 * PAGE), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 1, ~0ull - PAGE + 1, PAGE), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 1ull << 63, 1ull << 63), -EINVAL);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 8 * PAGE, ~0ull - PAGE + 1), -EINVAL);
	snap_check(vm, s);
	/* The last page below 2^64 is a valid slot. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, ~0ull - 2 * PAGE + 1, PAGE), 0);
}

static void mem_set_slot_eexist(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	assert_int_equal(gisa_mem_set_slot(vm, 1, MIB, MIB), 0);   /* adjacent is fine */
	t_mem_set_byte(vm, MIB + 5, 0x55);
	t_mem_set_byte(vm, 5, 0x66);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 512 * 1024, PAGE), -EEXIST);
	assert_int_equal(gisa_mem_set_slot(vm, 2, MIB - PAGE, 2 * PAGE), -EEXIST);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 0, 4 * MIB), -EEXIST);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 2 * MIB - PAGE, PAGE), -EEXIST);
	/* A move or a resize onto another slot. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0, MIB), -EEXIST);
	assert_int_equal(gisa_mem_set_slot(vm, 1, MIB - PAGE, MIB), -EEXIST);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, MIB + PAGE), -EEXIST);
	snap_check(vm, s);
}

static void mem_set_slot_enospc(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	for (uint32_t i = 1; i < GISA_MAX_MEMSLOTS; i++)
		assert_int_equal(gisa_mem_set_slot(vm, i, 2 * MIB + i * 2 * PAGE, PAGE), 0);
	assert_int_equal(st(vm).nr_memslots, GISA_MAX_MEMSLOTS);
	t_mem_set_byte(vm, 2 * MIB + 2 * PAGE, 0x11);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_set_slot(vm, GISA_MAX_MEMSLOTS, 64 * MIB, PAGE), -ENOSPC);
	assert_int_equal(gisa_mem_set_slot(vm, 100000, 64 * MIB, PAGE), -ENOSPC);
	snap_check(vm, s);
	/* Existing slots can still move, and a deletion makes room. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, 64 * MIB, PAGE), 0);
	assert_int_equal(t_mem_byte(vm, 64 * MIB), 0x11);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 0, 0), 0);
	assert_int_equal(gisa_mem_set_slot(vm, GISA_MAX_MEMSLOTS, 65 * MIB, PAGE), 0);
}

static void mem_set_slot_enoent(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct snap *s;

	assert_int_equal(gisa_mem_set_slot(vm, 3, 2 * MIB, PAGE), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), -ENOENT);
	assert_int_equal(gisa_mem_set_slot(vm, 2, 2 * MIB, 0), -ENOENT);
	assert_int_equal(gisa_mem_set_slot(vm, ~0u, 0, 0), -ENOENT);
	snap_check(vm, s);
	assert_int_equal(gisa_mem_set_slot(vm, 3, 0, 0), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_set_slot(vm, 3, 0, 0), -ENOENT);
	snap_check(vm, s);
}

static void mem_set_slot_enomem(void **state)
{
	struct gisa_vm *vm = fx_vm_bare(state, CLASSIC, NO_CAPS, 1, 0);
	struct gisa_memslot_info info;
	long n;

	for (n = 0; n < 16; n++) {
		struct snap *s = snap_take(vm);
		int r;

		fail_after(state, n);
		r = gisa_mem_set_slot(vm, 4, 2 * MIB, MIB);
		fail_after(state, -1);
		if (r == 0) {
			snap_free(s);
			break;
		}
		assert_int_equal(r, -ENOMEM);
		snap_check(vm, s);
	}
	assert_true(n >= 1 && n < 16);
	assert_int_equal(gisa_state_memslot(vm, 0, &info), 0);
	assert_int_equal(info.slot, 4);
	assert_int_equal(info.gpa, 2 * MIB);
}

static void mem_read_efault(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t buf[16];
	struct snap *s;

	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, PAGE), 0);
	t_mem_set_byte(vm, MIB - 1, 0x77);
	s = snap_take(vm);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(gisa_mem_read(vm, 0x40000000, buf, 1), -EFAULT);
	assert_int_equal(gisa_mem_read(vm, MIB - 4, buf, 8), -EFAULT);   /* runs off slot 0 */
	assert_int_equal(gisa_mem_read(vm, MIB, buf, 1), -EFAULT);
	assert_int_equal(gisa_mem_read(vm, 2 * MIB - 1, buf, 2), -EFAULT);   /* into slot 1 */
	assert_int_equal(gisa_mem_read(vm, 2 * MIB + PAGE - 1, buf, 2), -EFAULT);
	assert_int_equal(gisa_mem_read(vm, ~0ull, buf, 2), -EFAULT);
	assert_true(all_bytes(buf, sizeof(buf), 0xaa));
	snap_check(vm, s);
}

static void mem_write_efault(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t buf[2 * PAGE];
	struct snap *s;

	assert_int_equal(gisa_mem_set_slot(vm, 1, MIB + PAGE, PAGE), 0);   /* a gap before */
	memset(buf, 0x5a, sizeof(buf));
	s = snap_take(vm);
	assert_int_equal(gisa_mem_write(vm, 0x40000000, buf, 1), -EFAULT);
	/* The first bytes are backed (and unallocated): none of them is written. */
	assert_int_equal(gisa_mem_write(vm, MIB - PAGE - 8, buf, PAGE + 16), -EFAULT);
	assert_int_equal(gisa_mem_write(vm, MIB - 8, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(gisa_mem_write(vm, MIB + 2 * PAGE - 1, buf, 2), -EFAULT);
	assert_int_equal(gisa_mem_write(vm, ~0ull, buf, 2), -EFAULT);
	snap_check(vm, s);
}

static void mem_write_enomem_cap(void **state)
{
	struct gisa_vm *vm = fx_vm_bare(state, CLASSIC, NO_CAPS, 1, 2 * PAGE);
	uint8_t buf[2 * PAGE];
	struct snap *s;

	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, MIB), 0);
	assert_int_equal(gisa_mem_write(vm, 0, buf, 1), 0);
	s = snap_take(vm);
	/* Two new pages are needed, one is left: nothing is written. */
	assert_int_equal(gisa_mem_write(vm, 3 * PAGE - 8, buf, 16), -ENOMEM);
	assert_int_equal(gisa_mem_write(vm, PAGE - 8, buf, PAGE + 16), -ENOMEM);
	snap_check(vm, s);
	assert_int_equal(gisa_mem_write(vm, PAGE, buf, PAGE), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_mem_write(vm, 9 * PAGE, buf, 1), -ENOMEM);
	assert_int_equal(gisa_mem_write(vm, PAGE, buf, PAGE + 1), -ENOMEM);
	snap_check(vm, s);
	/* Allocated pages can be rewritten at the cap. */
	assert_int_equal(gisa_mem_write(vm, 0, buf, sizeof(buf)), 0);
	assert_int_equal(st(vm).mem_used, 2 * PAGE);
}

/* "All or nothing" (engine.h) under allocator failure at every step. */
static void mem_write_enomem_alloc(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint8_t buf[3 * PAGE], back[3 * PAGE];
	long n;

	memset(buf, 0x5a, sizeof(buf));
	for (n = 0; n < 32; n++) {
		struct snap *s = snap_take(vm);
		int r;

		fail_after(state, n);
		r = gisa_mem_write(vm, 5 * PAGE + 100, buf, sizeof(buf));
		fail_after(state, -1);
		if (r == 0) {
			snap_free(s);
			break;
		}
		assert_int_equal(r, -ENOMEM);
		if (st(vm).mem_used != s->st.mem_used)
			fail_msg("gisa_mem_write gave -ENOMEM (allocator refusing after %ld more) "
				 "but left %llu bytes of new backing", n,
				 (unsigned long long)(st(vm).mem_used - s->st.mem_used));
		snap_check(vm, s);
	}
	assert_true(n >= 1 && n < 32);
	assert_int_equal(gisa_mem_read(vm, 5 * PAGE + 100, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	assert_int_equal(st(vm).mem_used, 4 * PAGE);
}

static void mem_get_dirty_log_einval(void **state)
{
	struct gisa_vm *vm = route_vm(state, CLASSIC, NO_CAPS);
	uint64_t bm[5];

	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, 65 * PAGE), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	memset(bm, 0xaa, sizeof(bm));
	assert_int_equal(gisa_mem_get_dirty_log(vm, 0, bm, 3), -EINVAL);
	assert_int_equal(gisa_mem_get_dirty_log(vm, 0, bm, 0), -EINVAL);
	assert_int_equal(gisa_mem_get_dirty_log(vm, 1, bm, 1), -EINVAL);
	assert_true(all_bytes((const uint8_t *)bm, sizeof(bm), 0xaa));
	/* The failed fetches cleared nothing. */
	assert_int_equal(gisa_mem_get_dirty_log(vm, 0, bm, 4), 0);
	assert_int_equal(bm[0], (1ull << 0x10) | (1ull << 0x20));
	assert_int_equal(bm[1] | bm[2] | bm[3], 0);
	assert_int_equal(gisa_mem_get_dirty_log(vm, 1, bm, 2), 0);
	assert_int_equal(bm[0] | bm[1], 0);
}

static void mem_get_dirty_log_enoent(void **state)
{
	struct gisa_vm *vm = route_vm(state, CLASSIC, NO_CAPS);
	uint64_t bm[4];
	struct snap *s;

	assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, PAGE), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
	s = snap_take(vm);
	memset(bm, 0xaa, sizeof(bm));
	assert_int_equal(gisa_mem_get_dirty_log(vm, 1, bm, 4), -ENOENT);
	assert_int_equal(gisa_mem_get_dirty_log(vm, 2, bm, 4), -ENOENT);
	assert_int_equal(gisa_mem_get_dirty_log(vm, ~0u, bm, 4), -ENOENT);
	assert_true(all_bytes((const uint8_t *)bm, sizeof(bm), 0xaa));
	snap_check(vm, s);
}

/* ---- vcpus -------------------------------------------------------------- */

#define PSW_ALL (GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK)

/* vcpu 0 ALL-ON, vcpu 1 stopped, an I/O interrupt pending; NEWEST cursor 0. */
static struct gisa_vm *vcpu_vm(void **state, enum gisa_profile p, uint32_t caps)
{
	struct gisa_vm *vm = fx_vm(state, p, caps, 2);

	t_vcpu_all_on(vm, 0);
	t_vcpu_set(vm, 1, PSW_ALL, 0x6e00, 0xff000000, 0x10000000, GISA_VCPU_STOPPED);
	assert_int_equal(t_enq1(vm, t_io(0x0001, 5, 1, 2)), 0);
	return vm;
}

static void vcpu_get_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct gisa_vm *none = fx_vm(state, CLASSIC, NO_CAPS, 0);
	struct gisa_vcpu_state v, copy;

	memset(&v, 0x5a, sizeof(v));
	memcpy(&copy, &v, sizeof(v));
	assert_int_equal(gisa_vcpu_get(vm, 2, &v), -ENOENT);
	assert_int_equal(gisa_vcpu_get(vm, ~0u, &v), -ENOENT);
	assert_int_equal(gisa_vcpu_get(none, 0, &v), -ENOENT);
	assert_memory_equal(&v, &copy, sizeof(v));
}

static void vcpu_set_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	const struct gisa_vcpu_state v = { .psw_mask = PSW_ALL, .run = GISA_VCPU_IDLE };
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_set(vm, 2, &v), -ENOENT);
	assert_int_equal(gisa_vcpu_set(vm, ~0u, &v), -ENOENT);
	snap_check(vm, s);
}

static void vcpu_set_einval_run(void **state)
{
	const unsigned runs[] = { 3, 4, 0x7fffffff };
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct snap *s = snap_take(vm);

	for (unsigned i = 0; i < ARRAY_SIZE(runs); i++) {
		/* Nothing of the request is applied, not even the registers. */
		const struct gisa_vcpu_state v = {
			.psw_mask = 0, .cr0 = 1, .cr6 = 2, .cr14 = 3,
			.run = (enum gisa_run_state)runs[i],
		};

		assert_int_equal(gisa_vcpu_set(vm, 0, &v), -EINVAL);
		assert_int_equal(gisa_vcpu_set(vm, 1, &v), -EINVAL);
	}
	snap_check(vm, s);
}

static void vcpu_run_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_run(vm, 2), -ENOENT);
	assert_int_equal(gisa_vcpu_run(vm, ~0u), -ENOENT);
	snap_check(vm, s);
}

static void vcpu_run_ebusy(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_run(vm, 1), -EBUSY);
	snap_check(vm, s);
}

static void vcpu_wait_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, NEWEST, NO_CAPS);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_wait(vm, 2), -ENOENT);
	assert_int_equal(gisa_vcpu_wait(vm, ~0u), -ENOENT);
	snap_check(vm, s);
}

static void vcpu_wait_ebusy(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, NEWEST, NO_CAPS);
	struct snap *s;

	assert_int_equal(t_clear_irqs(vm), 0);   /* a running vcpu would sleep now */
	s = snap_take(vm);
	assert_int_equal(gisa_vcpu_wait(vm, 1), -EBUSY);
	snap_check(vm, s);
	assert_int_equal(gisa_vcpu_wait(vm, 0), 1);
}

/*
 * A disabled wait is userspace's (§7.6): the vcpu neither sleeps nor
 * becomes the NEWEST kick target, and the GISA's IAM is not restored.
 */
static void vcpu_wait_eopnotsupp(void **state)
{
	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = vcpu_vm(state, profiles[p], GISA_CAP_GISA);
		struct snap *s;

		assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisa_hw_airq(vm, 3, false), 0);   /* IAM := 0 */
		assert_int_equal(gisa_host_process_alerts(gisa_vm_host(vm)), 1);
		assert_int_equal(t_clear_irqs(vm), 0);                 /* IPM := 0 */
		t_vcpu_set(vm, 0, 0, 0x6e00, 0xff000000, 0x10000000, GISA_VCPU_RUNNING);
		assert_int_equal(st(vm).gisa.iam, 0);
		s = snap_take(vm);
		assert_int_equal(gisa_vcpu_wait(vm, 0), -EOPNOTSUPP);
		snap_check(vm, s);
		fx_drop(state, vm);
	}
}

static void vcpu_deliver_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct gisa_delivery d, copy;
	struct snap *s = snap_take(vm);

	memset(&d, 0x5a, sizeof(d));
	memcpy(&copy, &d, sizeof(d));
	assert_int_equal(gisa_vcpu_deliver(vm, 2, &d), -ENOENT);
	assert_int_equal(gisa_vcpu_deliver(vm, ~0u, &d), -ENOENT);
	assert_memory_equal(&d, &copy, sizeof(d));
	snap_check(vm, s);
}

static void vcpu_deliver_ebusy(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, GISA_CAP_GISA);
	struct gisa_delivery d, copy;
	struct snap *s;

	assert_int_equal(t_enq1(vm, t_ai(1)), 0);
	s = snap_take(vm);
	memset(&d, 0x5a, sizeof(d));
	memcpy(&copy, &d, sizeof(d));
	assert_int_equal(gisa_vcpu_deliver(vm, 1, &d), -EBUSY);
	assert_memory_equal(&d, &copy, sizeof(d));
	snap_check(vm, s);
}

static void vcpu_deliverable_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	uint32_t bits = 0x5a5a5a5a;
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_deliverable(vm, 2, &bits), -ENOENT);
	assert_int_equal(bits, 0x5a5a5a5a);
	snap_check(vm, s);
}

static void vcpu_tpi_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct gisa_irq r;
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_tpi(vm, 2, &r), -ENOENT);
	snap_check(vm, s);
}

static void vcpu_tsch_enoent(void **state)
{
	struct gisa_vm *vm = vcpu_vm(state, CLASSIC, NO_CAPS);
	struct gisa_irq r;
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_vcpu_tsch(vm, 2, 0x00010005, &r), -ENOENT);
	snap_check(vm, s);
}

/* ---- GISA and GIB ------------------------------------------------------- */

/* GISA with ISC 3 registered (IAM 0x10) and two idle-able vcpus. */
static struct gisa_vm *gisa_vm(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA, 2);

	assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
	assert_int_equal(t_enq1(vm, t_ai(6)), 0);
	return vm;
}

static void gisc_register_enodev(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS, 1);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisc_register(vm, 3), -ENODEV);
	assert_int_equal(gisa_gisc_register(vm, 8), -ENODEV);   /* before the range */
	snap_check(vm, s);
}

static void gisc_register_erange(void **state)
{
	struct gisa_vm *vm = gisa_vm(state);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisc_register(vm, 8), -ERANGE);
	assert_int_equal(gisa_gisc_register(vm, ~0u), -ERANGE);
	snap_check(vm, s);
}

static void gisc_unregister_enodev(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS, 1);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisc_unregister(vm, 3), -ENODEV);
	assert_int_equal(gisa_gisc_unregister(vm, 8), -ENODEV);
	snap_check(vm, s);
}

static void gisc_unregister_erange(void **state)
{
	struct gisa_vm *vm = gisa_vm(state);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisc_unregister(vm, 8), -ERANGE);
	assert_int_equal(gisa_gisc_unregister(vm, ~0u), -ERANGE);
	snap_check(vm, s);
}

static void gisc_unregister_einval(void **state)
{
	struct gisa_vm *vm = gisa_vm(state);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisc_unregister(vm, 4), -EINVAL);
	assert_int_equal(gisa_gisc_unregister(vm, 0), -EINVAL);
	snap_check(vm, s);
	assert_int_equal(gisa_gisc_unregister(vm, 3), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_gisc_unregister(vm, 3), -EINVAL);
	snap_check(vm, s);
	assert_int_equal(st(vm).gisa.alert_mask, 0);
}

static void gisa_hw_airq_enodev(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS, 1);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisa_hw_airq(vm, 3, false), -ENODEV);
	assert_int_equal(gisa_gisa_hw_airq(vm, 8, true), -ENODEV);
	snap_check(vm, s);
}

static void gisa_hw_airq_erange(void **state)
{
	struct gisa_vm *vm = gisa_vm(state);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisa_hw_airq(vm, 8, false), -ERANGE);
	assert_int_equal(gisa_gisa_hw_airq(vm, 11, false), -ERANGE);   /* 11 & 7 == 3 */
	assert_int_equal(gisa_gisa_hw_airq(vm, ~0u, true), -ERANGE);
	snap_check(vm, s);
}

static void gisa_timer_fire_enodev(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS, 1);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisa_timer_fire(vm), -ENODEV);
	snap_check(vm, s);
}

static void gisa_timer_fire_enoent(void **state)
{
	struct gisa_vm *vm = gisa_vm(state);
	struct snap *s = snap_take(vm);

	assert_int_equal(gisa_gisa_timer_fire(vm), -ENOENT);
	snap_check(vm, s);
	/* Armed by alert processing, fired until it stops, then -ENOENT again. */
	assert_int_equal(gisa_gisa_hw_airq(vm, 3, false), 0);
	assert_int_equal(gisa_host_process_alerts(gisa_vm_host(vm)), 1);
	assert_int_equal(t_clear_irqs(vm), 0);
	assert_int_equal(gisa_gisa_timer_fire(vm), 0);
	s = snap_take(vm);
	assert_int_equal(gisa_gisa_timer_fire(vm), -ENOENT);
	snap_check(vm, s);
}

/* ---- the state view and the ABI helpers --------------------------------- */

static int count_cb(void *ctx, const struct gisa_irq *irq)
{
	(void)irq;
	++*(unsigned *)ctx;
	return 0;
}

static void state_list_foreach_einval(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_irq out[4];
	unsigned calls = 0;
	struct snap *s;

	populate(vm);
	s = snap_take(vm);
	assert_int_equal(gisa_state_list_foreach(vm, GISA_NR_LISTS, count_cb, &calls), -EINVAL);
	assert_int_equal(gisa_state_list_foreach(vm, ~0u, count_cb, &calls), -EINVAL);
	assert_int_equal(calls, 0);
	assert_int_equal(gisa_state_list_copy(vm, GISA_NR_LISTS, out, ARRAY_SIZE(out)), 0);
	snap_check(vm, s);
}

static void state_adapter_enoent(void **state)
{
	const uint32_t ids[] = { 0, 5, 64, ~0u };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_state_adapter a, copy;
	uint64_t maps[2] = { 7, 7 };

	assert_int_equal(t_register(vm, 4, 1, 0, 0, 0), 0);
	memset(&a, 0x5a, sizeof(a));
	memcpy(&copy, &a, sizeof(a));
	for (unsigned i = 0; i < ARRAY_SIZE(ids); i++) {
		assert_int_equal(gisa_state_adapter(vm, ids[i], &a), -ENOENT);
		assert_int_equal(gisa_state_adapter_maps(vm, ids[i], maps, 2), 0);
	}
	assert_memory_equal(&a, &copy, sizeof(a));
	assert_int_equal(maps[0], 7);
}

static void state_route_enoent(void **state)
{
	struct gisa_vm *vm = route_vm(state, CLASSIC, NO_CAPS);
	struct gisa_route_entry r, copy;

	memset(&r, 0x5a, sizeof(r));
	memcpy(&copy, &r, sizeof(r));
	assert_int_equal(gisa_state_route(vm, 2, &r), -ENOENT);
	assert_int_equal(gisa_state_route(vm, SIZE_MAX, &r), -ENOENT);
	assert_memory_equal(&r, &copy, sizeof(r));
	assert_int_equal(gisa_routes_set(vm, NULL, 0, 0), 0);
	assert_int_equal(gisa_state_route(vm, 0, &r), -ENOENT);
}

static void state_memslot_enoent(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_memslot_info m, copy;

	memset(&m, 0x5a, sizeof(m));
	memcpy(&copy, &m, sizeof(m));
	assert_int_equal(gisa_state_memslot(vm, 1, &m), -ENOENT);
	assert_int_equal(gisa_state_memslot(vm, SIZE_MAX, &m), -ENOENT);
	assert_memory_equal(&m, &copy, sizeof(m));
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0), 0);
	assert_int_equal(gisa_state_memslot(vm, 0, &m), -ENOENT);
}

static void irq_pack_einval_length(void **state)
{
	const struct gisa_irq irqs[2] = { t_srv(1), t_pfd(2) };
	uint8_t buf[3 * REC];

	(void)state;
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(gisa_irq_pack(irqs, 2, GISA_BE, buf, 2 * REC - 1), -EINVAL);
	assert_int_equal(gisa_irq_pack(irqs, 2, GISA_LE, buf, 2 * REC + 1), -EINVAL);
	assert_int_equal(gisa_irq_pack(irqs, 1, GISA_BE, buf, 0), -EINVAL);
	assert_true(all_bytes(buf, sizeof(buf), 0xaa));
}

static void irq_unpack_einval_length(void **state)
{
	struct gisa_irq irqs[2], copy[2];
	uint8_t buf[3 * REC];

	(void)state;
	memset(buf, 0, sizeof(buf));
	memset(irqs, 0x5a, sizeof(irqs));
	memcpy(copy, irqs, sizeof(irqs));
	assert_int_equal(gisa_irq_unpack(buf, 2 * REC - 1, GISA_BE, irqs, 2), -EINVAL);
	assert_int_equal(gisa_irq_unpack(buf, 3 * REC, GISA_LE, irqs, 2), -EINVAL);
	assert_int_equal(gisa_irq_unpack(buf, REC, GISA_BE, irqs, 0), -EINVAL);
	assert_memory_equal(irqs, copy, sizeof(irqs));
}

/* ---- main --------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(host_new_einval_nisc),
		T(host_new_enomem),
		T(vm_new_einval_profile),
		T(vm_new_einval_caps),
		T(vm_new_einval_nr_vcpus),
		T(vm_new_einval_abi_order),
		T(vm_new_enomem),

		T(flic_create_einval_twice),
		T(flic_destroy_ebadf),
		T(flic_has_attr_ebadf),
		T(flic_get_attr_ebadf),
		T(flic_set_attr_ebadf),
		T(flic_has_attr_enxio_group),
		T(flic_get_attr_einval_group),
		T(flic_set_attr_einval_group),

		T(get_all_irqs_einval_length),
		T(get_all_irqs_enomem_capacity),
		T(get_all_irqs_enomem_gisa),
		T(get_all_irqs_efault),
		T(get_all_irqs_efault_gisa),

		T(enqueue_einval_length),
		T(enqueue_einval_negative_length),
		T(enqueue_einval_length_truncated),
		T(enqueue_efault_negative_length),
		T(enqueue_efault_type),
		T(enqueue_efault_payload),
		T(enqueue_einval_type),
		T(enqueue_ebusy_io),
		T(enqueue_ebusy_virtio),
		T(enqueue_ebusy_pfault),
		T(enqueue_enomem_fresh_pool),
		T(enqueue_enomem_no_rollback),

		T(clear_io_irq_einval_flags),
		T(clear_io_irq_einval_length),
		T(clear_io_irq_efault),
		T(clear_io_irq_einval_schid),

		T(adapter_register_efault),
		T(adapter_register_einval_id),
		T(adapter_register_einval_duplicate),
		T(adapter_register_enomem),
		T(adapter_modify_efault),
		T(adapter_modify_einval_unregistered),
		T(adapter_modify_einval_not_maskable),
		T(adapter_modify_einval_type),
		T(adapter_modify_einval_map_zero),
		T(adapter_modify_einval_unmap_zero),
		T(adapter_modify_einval_map_limit),
		T(adapter_modify_efault_map_unbacked),
		T(adapter_modify_enoent_unmap),
		T(adapter_modify_enomem_map),

		T(aism_eopnotsupp),
		T(aism_efault),
		T(aism_einval_isc),
		T(aism_einval_mode),
		T(aism_all_get_einval_length),
		T(aism_all_get_eopnotsupp),
		T(aism_all_get_efault),
		T(aism_all_set_eopnotsupp),
		T(aism_all_set_efault),

		T(airq_inject_einval_id),
		T(airq_inject_ebusy),
		T(airq_inject_enomem_classic),
		T(airq_inject_enomem_newest),

		T(vm_interrupt_einval_type),
		T(vm_interrupt_ebusy),
		T(vm_interrupt_enomem),
		T(vm_inject_einval_type),
		T(vm_inject_ebusy),
		T(vm_inject_enomem),

		T(routes_set_einval_flags),
		T(routes_set_einval_count),
		T(routes_set_einval_gsi),
		T(routes_set_einval_entry_flags),
		T(routes_set_einval_duplicate_gsi),
		T(routes_set_einval_type),
		T(routes_set_einval_page_bound),
		T(routes_set_efault),
		T(routes_set_enomem),
		T(route_trigger_fail_no_route),
		T(route_trigger_fail_unregistered_adapter),
		T(route_trigger_fail_unbacked),
		T(route_trigger_ebusy),
		T(route_trigger_enomem),

		T(mem_set_slot_einval_alignment),
		T(mem_set_slot_einval_overflow),
		T(mem_set_slot_eexist),
		T(mem_set_slot_enospc),
		T(mem_set_slot_enoent),
		T(mem_set_slot_enomem),
		T(mem_read_efault),
		T(mem_write_efault),
		T(mem_write_enomem_cap),
		T(mem_write_enomem_alloc),
		T(mem_get_dirty_log_einval),
		T(mem_get_dirty_log_enoent),

		T(vcpu_get_enoent),
		T(vcpu_set_enoent),
		T(vcpu_set_einval_run),
		T(vcpu_run_enoent),
		T(vcpu_run_ebusy),
		T(vcpu_wait_enoent),
		T(vcpu_wait_ebusy),
		T(vcpu_wait_eopnotsupp),
		T(vcpu_deliver_enoent),
		T(vcpu_deliver_ebusy),
		T(vcpu_deliverable_enoent),
		T(vcpu_tpi_enoent),
		T(vcpu_tsch_enoent),

		T(gisc_register_enodev),
		T(gisc_register_erange),
		T(gisc_unregister_enodev),
		T(gisc_unregister_erange),
		T(gisc_unregister_einval),
		T(gisa_hw_airq_enodev),
		T(gisa_hw_airq_erange),
		T(gisa_timer_fire_enodev),
		T(gisa_timer_fire_enoent),

		T(state_list_foreach_einval),
		T(state_adapter_enoent),
		T(state_route_enoent),
		T(state_memslot_enoent),
		T(irq_pack_einval_length),
		T(irq_unpack_einval_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
