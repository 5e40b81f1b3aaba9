/* SPDX-License-Identifier: MIT */
/*
 * Guest memory and what lives around it: memslots (create, move, grow,
 * shrink, delete), sparse backing under the per-VM cap, accesses across
 * slots, routes resolved through the current memslots (spec §14.5, §14.6),
 * the dirty log (§14.18), gisa_state_route_pages, the event ring (kicks of
 * §4.7 with the cursor rules of §14.8, overflow, sequence numbers), the
 * non-destructive state view, and the host's GIB alert list with several
 * VMs, including freeing a listed VM (§7.7).
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
#define PSW_ALL (GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK)

static const enum gisa_profile profiles[] = { CLASSIC, NEWEST };

/* ---- fixture: one host, up to three VMs, freed even when a test fails --- */

struct fx {
	struct gisa_host *host;
	struct gisa_vm *vm[3];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || gisa_host_new(NULL, &f->host)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++)
		gisa_vm_free(f->vm[i]);
	gisa_host_free(f->host);
	free(f);
	return 0;
}

static void fx_keep(void **state, struct gisa_vm *vm)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++) {
		if (!f->vm[i]) {
			f->vm[i] = vm;
			return;
		}
	}
	fail_msg("fixture holds at most %zu VMs", ARRAY_SIZE(f->vm));
}

static void fx_drop(void **state, struct gisa_vm *vm)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < ARRAY_SIZE(f->vm); i++)
		if (f->vm[i] == vm)
			f->vm[i] = NULL;
	gisa_vm_free(vm);
}

static struct gisa_host *fx_host(void **state)
{
	return ((struct fx *)*state)->host;
}

/* A §12 default VM: FLIC and slot 0 = [0, 1 MiB); every vcpu ALL-ON. */
static struct gisa_vm *fx_vm(void **state, enum gisa_profile p, uint32_t caps, uint32_t nvcpus)
{
	struct fx *f = *state;
	struct gisa_vm *vm = t_vm_new(&f->host, p, caps, nvcpus);

	fx_keep(state, vm);
	for (uint32_t i = 0; i < nvcpus; i++)
		t_vcpu_all_on(vm, i);
	return vm;
}

/* A VM with a FLIC but no memslot, and the given backing cap. */
static struct gisa_vm *fx_vm_nomem(void **state, enum gisa_profile p, uint64_t mem_cap)
{
	struct gisa_vm_config cfg = { .profile = p, .nr_vcpus = 1, .mem_cap = mem_cap };
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_vm_new(fx_host(state), &cfg, &vm), 0);
	fx_keep(state, vm);
	assert_int_equal(gisa_flic_create(vm), 0);
	t_vcpu_all_on(vm, 0);
	return vm;
}

/* ---- helpers ------------------------------------------------------------ */

static struct gisa_state st(const struct gisa_vm *vm)
{
	struct gisa_state s;

	gisa_state_read(vm, &s);
	return s;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* The memslot with id `slot` through the state view (fails if absent). */
static struct gisa_memslot_info slot_info(const struct gisa_vm *vm, uint32_t slot)
{
	struct gisa_memslot_info m;

	for (size_t i = 0; gisa_state_memslot(vm, i, &m) == 0; i++)
		if (m.slot == slot)
			return m;
	fail_msg("memslot %u not found", slot);
	return m;
}

static void expect_slot(const struct gisa_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			uint64_t pages)
{
	struct gisa_memslot_info m = slot_info(vm, slot);

	assert_int_equal(m.gpa, gpa);
	assert_int_equal(m.size, size);
	assert_int_equal(m.pages_allocated, pages);
}

/* [gpa, gpa + len) reads as `v` in every byte. */
static void expect_mem(const struct gisa_vm *vm, uint64_t gpa, size_t len, uint8_t v)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	memset(b, (uint8_t)~v, len);
	assert_int_equal(gisa_mem_read(vm, gpa, b, len), 0);
	if (!all_bytes(b, len, v))
		fail_msg("guest memory at 0x%llx (%zu bytes) is not all 0x%02x",
			 (unsigned long long)gpa, len, v);
	free(b);
}

static void fill_mem(struct gisa_vm *vm, uint64_t gpa, size_t len, uint8_t v)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	memset(b, v, len);
	assert_int_equal(gisa_mem_write(vm, gpa, b, len), 0);
	free(b);
}

static void expect_unbacked(const struct gisa_vm *vm, uint64_t gpa)
{
	uint8_t b = 0;

	assert_int_equal(gisa_mem_read(vm, gpa, &b, 1), -EFAULT);
}

/* Fetch slot's dirty log (at most 8 words) and compare with want[]. */
static void expect_dirty(struct gisa_vm *vm, uint32_t slot, const uint64_t *want, size_t nwant)
{
	uint64_t bm[8];
	size_t words = (slot_info(vm, slot).size / PAGE + 63) / 64;

	assert_true(words <= ARRAY_SIZE(bm) && nwant <= words);
	memset(bm, 0xaa, sizeof(bm));
	assert_int_equal(gisa_mem_get_dirty_log(vm, slot, bm, words), 0);
	for (size_t i = 0; i < words; i++)
		assert_int_equal(bm[i], i < nwant ? want[i] : 0);
}

static void expect_clean(struct gisa_vm *vm, uint32_t slot)
{
	expect_dirty(vm, slot, NULL, 0);
}

static size_t events(struct gisa_vm *vm, struct gisa_event *ev, size_t max)
{
	return gisa_vm_events_read(vm, ev, max);
}

static void drain_events(struct gisa_vm *vm)
{
	struct gisa_event ev[64];

	while (gisa_vm_events_read(vm, ev, ARRAY_SIZE(ev)))
		;
}

/* Exactly one new event: a kick of `vcpu` with `flag`. */
static void expect_kick(struct gisa_vm *vm, uint32_t vcpu, enum gisa_kick_flag flag)
{
	struct gisa_event ev[2];

	assert_int_equal(events(vm, ev, ARRAY_SIZE(ev)), 1);
	assert_int_equal(ev[0].kind, GISA_EV_KICK);
	assert_int_equal(ev[0].vcpu, vcpu);
	assert_int_equal(ev[0].flag, flag);
}

static void expect_no_event(struct gisa_vm *vm)
{
	struct gisa_event ev;

	if (events(vm, &ev, 1))
		fail_msg("unexpected event: kind %d vcpu %u flag %d", ev.kind, ev.vcpu, ev.flag);
}

static void set_run(struct gisa_vm *vm, uint32_t idx, enum gisa_run_state run)
{
	t_vcpu_set(vm, idx, PSW_ALL, 0x6e00, 0xff000000, 0x10000000, run);
}

static uint32_t io_entries(const struct gisa_vm *vm)
{
	struct gisa_state s = st(vm);
	uint32_t n = 0;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		n += s.list_len[i];
	return n;
}

/* ---- memslots ----------------------------------------------------------- */

static void memslot_create(void **state)
{
	struct gisa_vm *vm = fx_vm_nomem(state, CLASSIC, 0);
	struct gisa_memslot_info m;

	assert_int_equal(st(vm).nr_memslots, 0);
	expect_unbacked(vm, 0);
	assert_int_equal(gisa_mem_set_slot(vm, 5, 4 * MIB, 16 * PAGE), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 2, MIB, 2 * PAGE), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 9, 0, PAGE), 0);
	assert_int_equal(st(vm).nr_memslots, 3);

	/* Ascending gpa, whatever the ids and the creation order. */
	assert_int_equal(gisa_state_memslot(vm, 0, &m), 0);
	assert_int_equal(m.slot, 9);
	assert_int_equal(gisa_state_memslot(vm, 1, &m), 0);
	assert_int_equal(m.slot, 2);
	assert_int_equal(gisa_state_memslot(vm, 2, &m), 0);
	assert_int_equal(m.slot, 5);
	assert_int_equal(gisa_state_memslot(vm, 3, &m), -ENOENT);
	expect_slot(vm, 9, 0, PAGE, 0);
	expect_slot(vm, 2, MIB, 2 * PAGE, 0);
	expect_slot(vm, 5, 4 * MIB, 16 * PAGE, 0);

	expect_mem(vm, 4 * MIB, 16 * PAGE, 0);
	expect_mem(vm, MIB, 2 * PAGE, 0);
	expect_unbacked(vm, PAGE);
	expect_unbacked(vm, MIB + 2 * PAGE);
	expect_unbacked(vm, 4 * MIB - 1);
	expect_unbacked(vm, 4 * MIB + 16 * PAGE);

	/* Setting a slot to what it is changes nothing. */
	fill_mem(vm, MIB + 10, 4, 0x42);
	assert_int_equal(gisa_mem_set_slot(vm, 2, MIB, 2 * PAGE), 0);
	expect_slot(vm, 2, MIB, 2 * PAGE, 1);
	expect_mem(vm, MIB + 10, 4, 0x42);
	assert_int_equal(st(vm).mem_used, PAGE);
}

/* The pages belong to the slot: a move carries them along. */
static void memslot_move(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint64_t a = 2 * MIB, b = 8 * MIB;
	struct gisa_memslot_info m;

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 16 * PAGE), 0);
	fill_mem(vm, a, 8, 0x11);                       /* page 0 */
	fill_mem(vm, a + 4 * PAGE - 4, 8, 0x22);        /* pages 3 and 4 */
	fill_mem(vm, a + 16 * PAGE - 1, 1, 0x33);       /* page 15 */
	expect_slot(vm, 1, a, 16 * PAGE, 4);

	assert_int_equal(gisa_mem_set_slot(vm, 1, b, 16 * PAGE), 0);
	expect_slot(vm, 1, b, 16 * PAGE, 4);
	assert_int_equal(st(vm).mem_used, 4 * PAGE);
	expect_mem(vm, b, 8, 0x11);
	expect_mem(vm, b + 8, 4 * PAGE - 12, 0);
	expect_mem(vm, b + 4 * PAGE - 4, 8, 0x22);
	expect_mem(vm, b + 4 * PAGE + 4, 12 * PAGE - 5, 0);
	expect_mem(vm, b + 16 * PAGE - 1, 1, 0x33);
	expect_unbacked(vm, a);
	expect_unbacked(vm, a + 16 * PAGE - 1);

	/* Moving slot 0 past slot 1 reorders the view, which is by gpa. */
	assert_int_equal(gisa_mem_set_slot(vm, 0, 16 * MIB, MIB), 0);
	assert_int_equal(gisa_state_memslot(vm, 0, &m), 0);
	assert_int_equal(m.slot, 1);
	assert_int_equal(gisa_state_memslot(vm, 1, &m), 0);
	assert_int_equal(m.slot, 0);

	/* Move and shrink at once: page 15 is dropped, the rest follows. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, MIB, 8 * PAGE), 0);
	expect_slot(vm, 1, MIB, 8 * PAGE, 3);
	assert_int_equal(st(vm).mem_used, 3 * PAGE);
	expect_mem(vm, MIB, 8, 0x11);
	expect_mem(vm, MIB + 4 * PAGE - 4, 8, 0x22);
	expect_unbacked(vm, MIB + 8 * PAGE);
}

static void memslot_grow(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint64_t a = 2 * MIB;

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 4 * PAGE), 0);
	fill_mem(vm, a + 3 * PAGE, PAGE, 0xff);
	expect_unbacked(vm, a + 4 * PAGE);
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 8 * PAGE), 0);
	/* New pages read as zero and cost nothing until written. */
	expect_slot(vm, 1, a, 8 * PAGE, 1);
	assert_int_equal(st(vm).mem_used, PAGE);
	expect_mem(vm, a + 3 * PAGE, PAGE, 0xff);
	expect_mem(vm, a + 4 * PAGE, 4 * PAGE, 0);
	fill_mem(vm, a + 8 * PAGE - 1, 1, 0x01);
	expect_slot(vm, 1, a, 8 * PAGE, 2);
}

static void memslot_shrink(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint64_t a = 2 * MIB;

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 8 * PAGE), 0);
	fill_mem(vm, a, PAGE, 0x10);
	fill_mem(vm, a + 5 * PAGE, PAGE, 0x15);
	fill_mem(vm, a + 7 * PAGE, PAGE, 0x17);
	expect_slot(vm, 1, a, 8 * PAGE, 3);
	assert_int_equal(st(vm).mem_used, 3 * PAGE);

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 6 * PAGE), 0);
	expect_slot(vm, 1, a, 6 * PAGE, 2);
	assert_int_equal(st(vm).mem_used, 2 * PAGE);
	expect_unbacked(vm, a + 6 * PAGE);
	expect_unbacked(vm, a + 7 * PAGE);
	expect_mem(vm, a + 5 * PAGE, PAGE, 0x15);

	/* Growing back does not bring the dropped page back. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 8 * PAGE), 0);
	expect_mem(vm, a + 7 * PAGE, PAGE, 0);
	expect_slot(vm, 1, a, 8 * PAGE, 2);

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, PAGE), 0);
	expect_slot(vm, 1, a, PAGE, 1);
	assert_int_equal(st(vm).mem_used, PAGE);
	expect_mem(vm, a, PAGE, 0x10);
}

static void memslot_delete(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint64_t a = 2 * MIB;

	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 4 * PAGE), 0);
	fill_mem(vm, a, 3 * PAGE, 0x66);
	fill_mem(vm, 0, 1, 0x01);
	assert_int_equal(st(vm).mem_used, 4 * PAGE);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
	assert_int_equal(st(vm).nr_memslots, 1);
	assert_int_equal(st(vm).mem_used, PAGE);
	expect_unbacked(vm, a);
	expect_mem(vm, 0, 1, 0x01);

	/* A new slot in the same place starts empty. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 4 * PAGE), 0);
	expect_slot(vm, 1, a, 4 * PAGE, 0);
	expect_mem(vm, a, 4 * PAGE, 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0), 0);
	assert_int_equal(st(vm).mem_used, 0);
}

/* ---- sparse backing and the cap ----------------------------------------- */

static void memory_sparse_backing(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint8_t two[2] = { 0xab, 0xcd };
	uint8_t b[2];

	/* Reading all of guest memory allocates nothing. */
	expect_mem(vm, 0, MIB, 0);
	expect_slot(vm, 0, 0, MIB, 0);
	assert_int_equal(st(vm).mem_used, 0);
	assert_int_equal(gisa_mem_write(vm, 0x5000, two, 0), 0);
	expect_slot(vm, 0, 0, MIB, 0);

	/* One page per page touched, once; zero is a value like any other. */
	t_mem_set_byte(vm, 0x5000, 0);
	expect_slot(vm, 0, 0, MIB, 1);
	assert_int_equal(st(vm).mem_used, PAGE);
	t_mem_set_byte(vm, 0x5fff, 7);
	expect_slot(vm, 0, 0, MIB, 1);
	assert_int_equal(gisa_mem_write(vm, 0x7fff, two, 2), 0);
	expect_slot(vm, 0, 0, MIB, 3);
	assert_int_equal(st(vm).mem_used, 3 * PAGE);
	assert_int_equal(gisa_mem_read(vm, 0x7fff, b, 2), 0);
	assert_memory_equal(b, two, 2);
	expect_mem(vm, 0x6000, PAGE, 0);
	expect_slot(vm, 0, 0, MIB, 3);
}

static void memory_cap(void **state)
{
	struct gisa_vm *vm = fx_vm_nomem(state, CLASSIC, 4 * PAGE);
	struct gisa_vm *dflt = fx_vm_nomem(state, NEWEST, 0);
	struct gisa_vm_config cfg;

	gisa_vm_config(vm, &cfg);
	assert_int_equal(cfg.mem_cap, 4 * PAGE);
	assert_int_equal(st(vm).mem_cap, 4 * PAGE);
	gisa_vm_config(dflt, &cfg);
	assert_int_equal(cfg.mem_cap, GISA_DEFAULT_MEM_CAP);
	assert_int_equal(st(dflt).mem_cap, GISA_DEFAULT_MEM_CAP);

	/* The cap is per VM, across its slots. */
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, MIB), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 4 * MIB, MIB), 0);
	fill_mem(vm, 0, 2 * PAGE, 0x01);
	fill_mem(vm, 4 * MIB, 2 * PAGE, 0x02);
	assert_int_equal(st(vm).mem_used, 4 * PAGE);
	assert_int_equal(gisa_mem_write(vm, 8 * PAGE, "x", 1), -ENOMEM);
	assert_int_equal(gisa_mem_write(vm, 4 * MIB + 2 * PAGE, "x", 1), -ENOMEM);
	expect_mem(vm, 8 * PAGE, 1, 0);
	assert_int_equal(st(vm).mem_used, 4 * PAGE);
	fill_mem(vm, PAGE, PAGE, 0x03);   /* rewriting is free */

	/* Dropping pages gives the room back. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, 4 * MIB, PAGE), 0);
	assert_int_equal(st(vm).mem_used, 3 * PAGE);
	fill_mem(vm, 8 * PAGE, 1, 0x04);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0), 0);
	assert_int_equal(st(vm).mem_used, PAGE);
	fill_mem(vm, 4 * MIB, 1, 0x05);
	assert_int_equal(st(vm).mem_used, PAGE);
	expect_mem(vm, 4 * MIB + 1, PAGE - 1, 0x02);
}

static void memory_unwritten_reads_zero(void **state)
{
	struct gisa_vm *vm = fx_vm(state, NEWEST, NO_CAPS, 1);
	uint8_t b[3 * PAGE + 32];

	t_mem_set_byte(vm, PAGE + 5, 0x9c);
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(gisa_mem_read(vm, PAGE - 16, b, sizeof(b)), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		assert_int_equal(b[i], i == 16 + 5 ? 0x9c : 0);
	expect_slot(vm, 0, 0, MIB, 1);
}

/* Accesses may cross from one slot into an adjacent one, never into a gap. */
static void memory_span_adjacent_slots(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	const uint64_t a = 2 * MIB, mid = a + 2 * PAGE;
	uint8_t in[64], out[64];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 2 * PAGE), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 2, mid, 2 * PAGE), 0);
	assert_int_equal(gisa_mem_write(vm, mid - 32, in, sizeof(in)), 0);
	expect_slot(vm, 1, a, 2 * PAGE, 1);
	expect_slot(vm, 2, mid, 2 * PAGE, 1);
	memset(out, 0, sizeof(out));
	assert_int_equal(gisa_mem_read(vm, mid - 32, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(gisa_mem_read(vm, mid, out, 32), 0);
	assert_memory_equal(out, in + 32, 32);

	/* Three slots in one access: slot 0 ends where a third one starts. */
	assert_int_equal(gisa_mem_set_slot(vm, 3, MIB, a - MIB), 0);
	assert_int_equal(gisa_mem_write(vm, MIB - 8, in, 16), 0);
	assert_int_equal(gisa_mem_read(vm, MIB - 8, out, 16), 0);
	assert_memory_equal(out, in, 16);
	{
		uint8_t *big = malloc(a + 4 * PAGE);

		assert_non_null(big);
		assert_int_equal(gisa_mem_read(vm, 0, big, a + 4 * PAGE), 0);
		assert_memory_equal(big + MIB - 8, in, 16);
		assert_memory_equal(big + mid - 32, in, sizeof(in));
		free(big);
	}

	/* A gap makes the whole access fail; slot 2's bytes moved with it. */
	assert_int_equal(gisa_mem_set_slot(vm, 2, 8 * MIB, 2 * PAGE), 0);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(gisa_mem_read(vm, mid - 32, out, sizeof(out)), -EFAULT);
	assert_true(all_bytes(out, sizeof(out), 0xee));
	assert_int_equal(gisa_mem_write(vm, mid - 32, out, sizeof(out)), -EFAULT);
	assert_int_equal(gisa_mem_read(vm, mid - 32, out, 32), 0);
	assert_memory_equal(out, in, 32);
	assert_int_equal(gisa_mem_read(vm, 8 * MIB, out, 32), 0);
	assert_memory_equal(out, in + 32, 32);
}

/* ---- routes after memslot changes --------------------------------------- */

/*
 * §14.6: routes keep guest addresses and are resolved at each trigger.  A
 * slot moved away leaves the route pointing at nothing: -1, nothing
 * written, nothing queued; moving it back makes the route work again.
 */
static void route_after_slot_move(void **state)
{
	const uint64_t a = 2 * MIB, away = 8 * MIB;
	const struct gisa_route_entry e[] = { t_route(1, a, 5, a + PAGE, 0, 0) };
	const uint64_t pages01 = 0x3;

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, a, 16 * PAGE), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		assert_int_equal(t_mem_byte(vm, a), 0x04);
		assert_int_equal(t_mem_byte(vm, a + PAGE), 0x80);
		expect_kick(vm, 0, GISA_KICK_IO_INT);
		expect_dirty(vm, 1, &pages01, 1);
		/* The guest clears indicator and summary. */
		t_mem_set_byte(vm, a, 0);
		t_mem_set_byte(vm, a + PAGE, 0);

		assert_int_equal(gisa_mem_set_slot(vm, 1, away, 16 * PAGE), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
		expect_unbacked(vm, a);
		expect_mem(vm, away, 16 * PAGE, 0);
		expect_slot(vm, 1, away, 16 * PAGE, 2);
		assert_int_equal(st(vm).mem_used, 2 * PAGE);
		assert_int_equal(io_entries(vm), 1);
		expect_no_event(vm);
		expect_clean(vm, 1);
		expect_clean(vm, 0);

		/* Back in place, the same route works again. */
		assert_int_equal(gisa_mem_set_slot(vm, 1, a, 16 * PAGE), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		assert_int_equal(t_mem_byte(vm, a), 0x04);
		assert_int_equal(t_mem_byte(vm, a + PAGE), 0x80);
		assert_int_equal(io_entries(vm), 2);
		expect_kick(vm, 0, GISA_KICK_IO_INT);
		expect_dirty(vm, 1, &pages01, 1);
		fx_drop(state, vm);
	}
}

/*
 * Indicator backed, summary not: CLASSIC obtains both pages before writing
 * and writes nothing; NEWEST sets the indicator first (§5.2 step 3).  Both
 * return -1 and queue nothing.
 */
static void route_summary_unbacked(void **state)
{
	const uint64_t a = 2 * MIB;
	const struct gisa_route_entry e[] = { t_route(1, 0x10000, 5, a, 0, 0) };
	const uint64_t page10 = 1ull << 0x10;
	const uint64_t page0 = 1;
	const struct gisa_irq ai3 = t_ai(3);

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		bool newest = profiles[p] == NEWEST;

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, a, PAGE), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
		t_mem_set_byte(vm, 0x10000, 0);   /* the indicator page exists */

		assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
		assert_int_equal(t_mem_byte(vm, 0x10000), newest ? 0x04 : 0);
		expect_mem(vm, 0x10001, PAGE - 1, 0);
		if (newest)
			expect_dirty(vm, 0, &page10, 1);
		else
			expect_clean(vm, 0);
		assert_int_equal(io_entries(vm), 0);
		expect_no_event(vm);

		assert_int_equal(gisa_mem_set_slot(vm, 1, a, PAGE), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		assert_int_equal(t_mem_byte(vm, 0x10000), 0x04);
		assert_int_equal(t_mem_byte(vm, a), 0x80);
		expect_dirty(vm, 0, &page10, 1);
		expect_dirty(vm, 1, &page0, 1);
		{
			struct gisa_irq got[2];

			assert_int_equal(gisa_state_list_copy(vm, 3, got, 2), 1);
			t_assert_irq_eq(&got[0], &ai3);
		}
		fx_drop(state, vm);
	}
}

/*
 * Sparse backing grows only on writes: a trigger that writes nothing
 * allocates nothing (CLASSIC resolves both bytes before writing); NEWEST
 * writes its indicator and so allocates exactly that page.
 */
static void route_unbacked_trigger_allocates_nothing(void **state)
{
	const struct gisa_route_entry e[] = { t_route(1, 0x10000, 5, 2 * MIB, 0, 0) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		uint64_t pages = profiles[p] == NEWEST ? 1 : 0;

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, 2 * MIB, PAGE), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
		if (slot_info(vm, 0).pages_allocated != pages)
			fail_msg("%s trigger gave -1 but left %llu pages allocated, %llu expected",
				 profiles[p] == NEWEST ? "NEWEST" : "CLASSIC",
				 (unsigned long long)slot_info(vm, 0).pages_allocated,
				 (unsigned long long)pages);
		expect_slot(vm, 0, 0, MIB, pages);
		assert_int_equal(st(vm).mem_used, pages * PAGE);
		fx_drop(state, vm);
	}
}

/*
 * §14.5: CLASSIC accepts routes whose bit lies past the page of its area
 * address and writes the computed byte if guest memory backs it.
 */
static void route_out_of_page_classic_backed(void **state)
{
	const struct gisa_route_entry e[] = {
		t_route(1, 0x10000, 0, 0x20fff, 8, 0),      /* summary -> 0x21000 0x80 */
		t_route(2, 0x30fff, 9, 0x40000, 0, 0),      /* indicator -> 0x31000 0x40 */
		t_route(3, 0x50000, 0, 0x60ff8, 64, 1),     /* swap 0: 0x61007 0x01 */
	};
	const uint64_t dirty[2] = {
		1ull << 0x10 | 1ull << 0x21 | 1ull << 0x31,
		1ull << (0x40 - 64) | 1ull << (0x50 - 64) | 1ull << (0x61 - 64),
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);

	assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
	assert_int_equal(t_register(vm, 1, 4, 0, 0, 0), 0);
	assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);
	for (uint32_t gsi = 1; gsi <= 3; gsi++)
		assert_int_equal(gisa_route_trigger(vm, gsi, 1), 1);
	assert_int_equal(t_mem_byte(vm, 0x10000), 0x80);
	assert_int_equal(t_mem_byte(vm, 0x21000), 0x80);
	expect_mem(vm, 0x20000, PAGE, 0);
	assert_int_equal(t_mem_byte(vm, 0x31000), 0x40);
	expect_mem(vm, 0x30000, PAGE, 0);
	assert_int_equal(t_mem_byte(vm, 0x40000), 0x80);
	assert_int_equal(t_mem_byte(vm, 0x50007), 0x01);
	assert_int_equal(t_mem_byte(vm, 0x61007), 0x01);
	expect_mem(vm, 0x60000, PAGE, 0);
	assert_int_equal(st(vm).list_len[3], 2);
	assert_int_equal(st(vm).list_len[4], 1);
	expect_dirty(vm, 0, dirty, 2);
}

/* ... and returns -1 with nothing written where the computed byte is unbacked. */
static void route_out_of_page_classic_unbacked(void **state)
{
	const struct gisa_route_entry e[] = { t_route(1, 0x10000, 0, 0x20fff, 8, 0) };
	struct gisa_vm *vm = fx_vm_nomem(state, CLASSIC, 0);

	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0x21000), 0);
	assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);   /* 0x20fff is backed */
	t_mem_set_byte(vm, 0x10000, 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), -1);
	expect_mem(vm, 0x10000, PAGE, 0);
	expect_mem(vm, 0x20000, PAGE, 0x00);
	expect_unbacked(vm, 0x21000);
	expect_clean(vm, 0);
	assert_int_equal(io_entries(vm), 0);
	expect_no_event(vm);

	assert_int_equal(gisa_mem_set_slot(vm, 1, 0x21000, PAGE), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	assert_int_equal(t_mem_byte(vm, 0x10000), 0x80);
	assert_int_equal(t_mem_byte(vm, 0x21000), 0x80);
	expect_slot(vm, 1, 0x21000, PAGE, 1);
	assert_int_equal(io_entries(vm), 1);
}

/* ---- the dirty log ------------------------------------------------------ */

/*
 * §14.18: the guest frames a trigger writes, indicator and summary, slot
 * relative, on every trigger that writes (coalesced ones too); fetching
 * clears; plain memory writes and failed triggers are not logged.
 */
static void dirty_log_trigger_frames(void **state)
{
	const uint64_t a = 2 * MIB;
	const struct gisa_route_entry e[] = {
		t_route(1, 0x10000, 5, 0x20000, 0, 0),
		t_route(2, a + 3 * PAGE + 100, 0, a + 40 * PAGE, 70, 0),
		t_route(3, 0x70000, 0, 0x80000, 0, 9),      /* adapter 9 never registered */
		t_route(4, 0x90000, 0, 0xa0000, 0, 1),      /* masked adapter */
	};
	const uint64_t slot0_g1 = 1ull << 0x10 | 1ull << 0x20;
	const uint64_t slot1_g2 = 1ull << 3 | 1ull << 40;
	const uint64_t slot0_g4[3] = { 0, 0, 1ull << (0x90 - 128) | 1ull << (0xa0 - 128) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(t_register(vm, 1, 4, 1, 1, 0), 0);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MASK, 1, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 1, a, 64 * PAGE), 0);
		assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);
		expect_clean(vm, 0);
		expect_clean(vm, 1);

		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		expect_clean(vm, 1);
		expect_dirty(vm, 0, &slot0_g1, 1);
		expect_clean(vm, 0);   /* fetched and cleared */

		assert_int_equal(gisa_route_trigger(vm, 2, 1), 1);
		assert_int_equal(t_mem_byte(vm, a + 3 * PAGE + 100), 0x80);
		assert_int_equal(t_mem_byte(vm, a + 40 * PAGE + 8), 0x02);
		expect_dirty(vm, 1, &slot1_g2, 1);
		expect_clean(vm, 0);

		/* A coalesced trigger still writes both bytes. */
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 0);
		expect_dirty(vm, 0, &slot0_g1, 1);

		/* Masked: bits written, no interrupt, pages logged. */
		assert_int_equal(gisa_route_trigger(vm, 4, 1), 1);
		expect_dirty(vm, 0, slot0_g4, 3);

		/* Level 0, a failed trigger, and the guest's own stores: nothing. */
		assert_int_equal(gisa_route_trigger(vm, 1, 0), 0);
		assert_int_equal(gisa_route_trigger(vm, 3, 1), -1);
		t_mem_set_byte(vm, 0x10000, 0);
		t_mem_set_byte(vm, 0x30000, 1);
		t_mem_set_byte(vm, a + 3 * PAGE, 1);
		expect_clean(vm, 0);
		expect_clean(vm, 1);
		fx_drop(state, vm);
	}
}

/* NEWEST UNMAP marks the released page dirty if the page was ever written. */
static void dirty_log_newest_unmap(void **state)
{
	const uint64_t page40[2] = { 0, 1ull << (0x40 - 64) };
	const uint64_t page50[2] = { 0, 1ull << (0x50 - 64) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);
		bool newest = profiles[p] == NEWEST;

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x40000), 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_UNMAP, 0, 0x40000), 0);
		/* NEWEST marks the released page dirty even though nothing wrote it. */
		if (newest)
			expect_dirty(vm, 0, page40, 2);
		expect_clean(vm, 0);
		expect_slot(vm, 0, 0, MIB, 0);

		t_mem_set_byte(vm, 0x50fff, 0x12);
		expect_clean(vm, 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x50123), 0);
		expect_clean(vm, 0);
		assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_UNMAP, 0, 0x50123), 0);
		if (newest)
			expect_dirty(vm, 0, page50, 2);
		expect_clean(vm, 0);
		assert_int_equal(t_mem_byte(vm, 0x50fff), 0x12);
		fx_drop(state, vm);
	}
}

/* ---- gisa_state_route_pages --------------------------------------------- */

static void expect_route_pages(const struct gisa_vm *vm, const uint64_t *want, size_t n)
{
	uint64_t got[16];

	assert_true(n < ARRAY_SIZE(got));
	memset(got, 0xee, sizeof(got));
	assert_int_equal(gisa_state_route_pages(vm, got, ARRAY_SIZE(got)), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
	assert_int_equal(got[n], 0xeeeeeeeeeeeeeeeeull);
}

static void route_pages(void **state)
{
	const uint64_t a = 2 * MIB;
	const struct gisa_route_entry e[] = {
		t_route(7, a + PAGE + 5, 0, a, 0, 0),
		t_route(1, 0x30000, 0, 0x10000, 0, 0),
		t_route(2, 0x30008, 3, 0x10000, 1, 0),
		t_route(3, 0x20fff, 8, 0x10000, 2, 0),     /* writes 0x21000, not 0x20000 */
	};
	const uint64_t want[] = { 0x10000, 0x21000, 0x30000, a, a + PAGE };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	uint64_t two[3] = { 1, 2, 3 };

	assert_int_equal(gisa_state_route_pages(vm, two, 3), 0);
	assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 4 * PAGE), 0);
	assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);
	expect_route_pages(vm, want, ARRAY_SIZE(want));
	/* The total is returned even when it does not fit. */
	assert_int_equal(gisa_state_route_pages(vm, two, 2), ARRAY_SIZE(want));
	assert_int_equal(two[0], 0x10000);
	assert_int_equal(two[1], 0x21000);
	assert_int_equal(two[2], 3);
	/* Backed pages count, allocated or not; reading them allocates nothing. */
	expect_slot(vm, 0, 0, MIB, 0);
	assert_int_equal(st(vm).mem_used, 0);

	/* Only pages backed now. */
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
	expect_route_pages(vm, want, 3);
	assert_int_equal(gisa_mem_set_slot(vm, 1, a, 4 * PAGE), 0);
	expect_route_pages(vm, want, ARRAY_SIZE(want));
}

/*
 * A route whose adapter is not registered yet carries the pages of both
 * bit layouts; once registered (either swap) the page set is what a
 * trigger then writes into.
 */
static void route_pages_unregistered_adapter(void **state)
{
	const struct gisa_route_entry e[] = {
		t_route(1, 0x10000, 0, 0x20000, 0, 0),
		t_route(9, 0x40010, 0, 0x50000, 0, 5),
		t_route(10, 0x60ff8, 60, 0x70000, 0, 6),
	};
	const uint64_t want[] = { 0x10000, 0x20000, 0x40000, 0x50000, 0x60000, 0x70000 };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], NO_CAPS, 1);

		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);
		expect_route_pages(vm, want, ARRAY_SIZE(want));
		assert_int_equal(t_register(vm, 5, 4, 0, 0, 0), 0);
		assert_int_equal(t_register(vm, 6, 4, 0, 1, 0), 0);
		expect_route_pages(vm, want, ARRAY_SIZE(want));
		assert_int_equal(gisa_route_trigger(vm, 9, 1), 1);
		assert_int_equal(gisa_route_trigger(vm, 10, 1), 1);
		assert_int_equal(t_mem_byte(vm, 0x40017), 0x01);   /* swap 0 */
		assert_int_equal(t_mem_byte(vm, 0x50007), 0x01);
		assert_int_equal(t_mem_byte(vm, 0x60fff), 0x08);   /* swap 1: bit 60 */
		assert_int_equal(t_mem_byte(vm, 0x70000), 0x80);
		fx_drop(state, vm);
	}
}

/*
 * Every route the engine allows, over a handful of pages whose page
 * numbers collide in the walk's cache of pages seen (64 slots, by page
 * number): the set is still each backed page once, ascending.
 */
static void route_pages_many_routes(void **state)
{
	const uint64_t want[] = {
		PAGE, 2 * PAGE, 65 * PAGE, 66 * PAGE, 129 * PAGE, 130 * PAGE, 193 * PAGE, 194 * PAGE,
	};
	struct gisa_route_entry *e = calloc(GISA_MAX_IRQ_ROUTES, sizeof(*e));
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);

	assert_non_null(e);
	for (uint32_t i = 0; i < GISA_MAX_IRQ_ROUTES; i++) {
		uint64_t ind = 2 * PAGE + 64 * PAGE * (i % 4), sum = PAGE + 64 * PAGE * (i / 4 % 4);

		e[i] = t_route(i, ind, 0, sum, 0, i % 3);
	}
	assert_int_equal(gisa_routes_set(vm, e, GISA_MAX_IRQ_ROUTES, 0), 0);
	expect_route_pages(vm, want, ARRAY_SIZE(want));
	assert_int_equal(t_register(vm, 1, 3, 0, 1, 0), 0);
	expect_route_pages(vm, want, ARRAY_SIZE(want));
	free(e);
	fx_drop(state, vm);
}

/* ---- the event ring: kicks (§4.7, §14.8) -------------------------------- */

static void inject(struct gisa_vm *vm, struct gisa_irq irq)
{
	assert_int_equal(gisa_vm_inject(vm, &irq), 0);
}

static uint32_t cursor(const struct gisa_vm *vm)
{
	return st(vm).kick_cursor;
}

/*
 * CLASSIC: the lowest-index idle vcpu, else round robin from next_rr_cpu
 * skipping stopped vcpus; with every vcpu stopped nobody is kicked and the
 * cursor has advanced n + 1 times.
 */
static void events_classic_round_robin(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 3);
	struct gisa_vm *one = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_vm *none = fx_vm(state, CLASSIC, NO_CAPS, 0);

	assert_int_equal(cursor(vm), 0);
	for (uint32_t i = 0; i < 4; i++) {
		inject(vm, t_virt(i, 0));
		expect_kick(vm, i % 3, GISA_KICK_EXT_INT);
	}
	assert_int_equal(cursor(vm), 1);

	/* Idle vcpus first, lowest index; the cursor stays. */
	set_run(vm, 2, GISA_VCPU_IDLE);
	inject(vm, t_io(0x0001, 1, 1, 1));
	expect_kick(vm, 2, GISA_KICK_IO_INT);
	set_run(vm, 1, GISA_VCPU_IDLE);
	inject(vm, t_io(0x0001, 2, 2, 1));
	expect_kick(vm, 1, GISA_KICK_IO_INT);
	inject(vm, t_io(0x0001, 3, 3, 1));
	expect_kick(vm, 1, GISA_KICK_IO_INT);
	assert_int_equal(cursor(vm), 1);

	/* Stopped vcpus are skipped. */
	set_run(vm, 1, GISA_VCPU_STOPPED);
	set_run(vm, 2, GISA_VCPU_RUNNING);
	inject(vm, t_srv(0x10));
	expect_kick(vm, 2, GISA_KICK_EXT_INT);
	assert_int_equal(cursor(vm), 0);
	inject(vm, t_srv(0x10));
	expect_kick(vm, 0, GISA_KICK_EXT_INT);
	inject(vm, t_srv(0x10));
	expect_kick(vm, 2, GISA_KICK_EXT_INT);
	assert_int_equal(cursor(vm), 0);

	/* All stopped: nobody, and the cursor moves by n + 1 = 1 (mod 3). */
	set_run(vm, 0, GISA_VCPU_STOPPED);
	set_run(vm, 2, GISA_VCPU_STOPPED);
	for (uint32_t i = 1; i <= 4; i++) {
		inject(vm, t_pfd(i));
		expect_no_event(vm);
		assert_int_equal(cursor(vm), i % 3);
	}
	assert_int_equal(st(vm).list_len[GISA_LIST_PFAULT], 4);

	/* One stopped vcpu: n + 1 = 2 advances leave the cursor at 0. */
	set_run(one, 0, GISA_VCPU_STOPPED);
	inject(one, t_virt(1, 1));
	expect_no_event(one);
	assert_int_equal(cursor(one), 0);
	/* No vcpus at all: nothing to kick. */
	inject(none, t_virt(1, 1));
	expect_no_event(none);
}

/*
 * NEWEST: the first non-stopped vcpu from last_sleep_cpu, which starts at 0
 * and changes only when a vcpu goes to sleep in an enabled wait.  Idle
 * vcpus are not preferred.
 */
static void events_newest_last_sleep_cpu(void **state)
{
	struct gisa_vm *vm = fx_vm(state, NEWEST, NO_CAPS, 3);

	assert_int_equal(cursor(vm), 0);
	inject(vm, t_virt(1, 0));
	expect_kick(vm, 0, GISA_KICK_EXT_INT);
	inject(vm, t_io(0x0001, 1, 1, 0));
	expect_kick(vm, 0, GISA_KICK_IO_INT);
	assert_int_equal(cursor(vm), 0);

	assert_int_equal(t_clear_irqs(vm), 0);
	assert_int_equal(gisa_vcpu_wait(vm, 2), 1);
	assert_int_equal(cursor(vm), 2);
	inject(vm, t_virt(2, 0));
	expect_kick(vm, 2, GISA_KICK_EXT_INT);

	/* Going idle without a wait does not move the cursor. */
	set_run(vm, 1, GISA_VCPU_IDLE);
	set_run(vm, 2, GISA_VCPU_RUNNING);
	inject(vm, t_virt(3, 0));
	expect_kick(vm, 2, GISA_KICK_EXT_INT);
	assert_int_equal(cursor(vm), 2);

	/* Stopped ones are passed over, wrapping around. */
	set_run(vm, 2, GISA_VCPU_STOPPED);
	inject(vm, t_mck(GISA_CR14_CHANNEL_REPORT, 1));
	expect_kick(vm, 0, GISA_KICK_STOP_INT);
	set_run(vm, 0, GISA_VCPU_STOPPED);
	inject(vm, t_virt(4, 0));
	expect_kick(vm, 1, GISA_KICK_EXT_INT);
	set_run(vm, 1, GISA_VCPU_STOPPED);
	inject(vm, t_virt(5, 0));
	expect_no_event(vm);
	assert_int_equal(cursor(vm), 2);

	set_run(vm, 0, GISA_VCPU_RUNNING);
	assert_int_equal(t_clear_irqs(vm), 0);
	assert_int_equal(gisa_vcpu_wait(vm, 0), 1);
	assert_int_equal(cursor(vm), 0);
	inject(vm, t_virt(6, 0));
	expect_kick(vm, 0, GISA_KICK_EXT_INT);
}

/* The request flag by class, and no kick where nothing was injected. */
static void events_kick_flags(void **state)
{
	const struct gisa_route_entry e[] = {
		t_route(1, 0x10000, 0, 0x20000, 0, 0),
		t_route(2, 0x10000, 1, 0x30000, 0, 2),
	};

	for (uint32_t gisa = 0; gisa <= GISA_CAP_GISA; gisa++) {
		struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_AIS | gisa, 1);
		enum gisa_kick_flag ai = gisa ? GISA_KICK_NONE : GISA_KICK_IO_INT;
		struct gisa_irq bad = t_raw_type(GISA_INT_RESTART);

		assert_int_equal(t_register(vm, 0, 2, 0, 1, 0), 0);
		assert_int_equal(t_register(vm, 1, 3, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
		assert_int_equal(t_register(vm, 2, 4, 1, 1, 0), 0);
		assert_int_equal(gisa_routes_set(vm, e, ARRAY_SIZE(e), 0), 0);

		assert_int_equal(t_enq1(vm, t_mck(0, 1)), 0);
		expect_kick(vm, 0, GISA_KICK_STOP_INT);
		assert_int_equal(t_enq1(vm, t_srv(0x100)), 0);
		expect_kick(vm, 0, GISA_KICK_EXT_INT);
		assert_int_equal(t_enq1(vm, t_srv(0x1)), 0);   /* merged, still a kick */
		expect_kick(vm, 0, GISA_KICK_EXT_INT);
		assert_int_equal(t_enq1(vm, t_virt(1, 2)), 0);
		expect_kick(vm, 0, GISA_KICK_EXT_INT);
		assert_int_equal(t_enq1(vm, t_pfd(3)), 0);
		expect_kick(vm, 0, GISA_KICK_EXT_INT);
		assert_int_equal(t_enq1(vm, t_io(0x0001, 1, 1, 5)), 0);
		expect_kick(vm, 0, GISA_KICK_IO_INT);
		assert_int_equal(t_enq1(vm, t_ai(6)), 0);
		expect_kick(vm, 0, ai);
		assert_int_equal(t_enq1(vm, t_ai(6)), 0);      /* coalesced in the IPM */
		expect_kick(vm, 0, ai);
		assert_int_equal(t_airq(vm, 0), 0);
		expect_kick(vm, 0, ai);
		assert_int_equal(gisa_vm_interrupt(vm, GISA_INT_MCHK, 0, 1), 0);
		expect_kick(vm, 0, GISA_KICK_STOP_INT);
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
		expect_kick(vm, 0, ai);

		/* Nothing injected, nobody kicked. */
		assert_int_equal(gisa_route_trigger(vm, 1, 1), 0);     /* coalesced */
		assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MASK, 1, 0), 0);
		assert_int_equal(gisa_route_trigger(vm, 2, 1), 1);     /* masked */
		assert_int_equal(t_aism_all_set(vm, 0x10, 0x10), 0);
		assert_int_equal(t_airq(vm, 1), 0);                    /* suppressed */
		assert_int_equal(gisa_vm_inject(vm, &bad), -EINVAL);
		assert_int_equal(t_airq(vm, 9), -EINVAL);
		expect_no_event(vm);
		fx_drop(state, vm);
	}
}

/*
 * A full ring overwrites its oldest event and counts it as dropped; the
 * sequence numbers keep counting, so the gap shows what was lost.
 */
static void events_ring_overflow(void **state)
{
	const size_t n = GISA_EVENT_RING_SIZE + 10;
	struct gisa_vm *vm = fx_vm(state, CLASSIC, NO_CAPS, 1);
	struct gisa_event *ev = calloc(3 * GISA_EVENT_RING_SIZE, sizeof(*ev));
	uint8_t *buf = calloc(n, REC);
	size_t got;

	assert_non_null(ev);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		struct gisa_irq r = t_virt((uint32_t)i, i);

		gisa_irq_pack1(&r, GISA_BE, buf + i * REC);
	}
	assert_int_equal(gisa_vm_events_dropped(vm), 0);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, buf, n * REC), 0);
	assert_int_equal(gisa_vm_events_dropped(vm), 10);
	got = events(vm, ev, 3 * GISA_EVENT_RING_SIZE);
	assert_int_equal(got, GISA_EVENT_RING_SIZE);
	for (size_t i = 0; i < got; i++) {
		assert_int_equal(ev[i].seq, 11 + i);
		assert_int_equal(ev[i].kind, GISA_EV_KICK);
		assert_int_equal(ev[i].vcpu, 0);
		assert_int_equal(ev[i].flag, GISA_KICK_EXT_INT);
	}
	assert_int_equal(events(vm, ev, 1), 0);

	/* Reading in parts, oldest first, numbering continued. */
	for (uint32_t i = 0; i < 5; i++)
		inject(vm, t_pfd(i));
	assert_int_equal(events(vm, ev, 2), 2);
	assert_int_equal(ev[0].seq, n + 1);
	assert_int_equal(ev[1].seq, n + 2);
	assert_int_equal(events(vm, ev, 10), 3);
	assert_int_equal(ev[0].seq, n + 3);
	assert_int_equal(ev[2].seq, n + 5);
	assert_int_equal(gisa_vm_events_dropped(vm), 10);

	/* Overflowing twice over: the drops add up, the newest stay. */
	assert_int_equal(t_clear_irqs(vm), 0);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, buf, n * REC), 0);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, buf, n * REC), 0);
	assert_int_equal(gisa_vm_events_dropped(vm), 10 + 2 * n - GISA_EVENT_RING_SIZE);
	assert_int_equal(events(vm, ev, 3 * GISA_EVENT_RING_SIZE), GISA_EVENT_RING_SIZE);
	assert_int_equal(ev[GISA_EVENT_RING_SIZE - 1].seq, 3 * n + 5);
	assert_int_equal(ev[0].seq, 3 * n + 5 - GISA_EVENT_RING_SIZE + 1);
	free(ev);
	free(buf);
}

/* Each VM numbers its own events from 1. */
static void events_seq_per_vm(void **state)
{
	struct gisa_vm *a = fx_vm(state, CLASSIC, NO_CAPS, 2);
	struct gisa_vm *b = fx_vm(state, NEWEST, GISA_CAP_GISA, 1);
	struct gisa_event ev[4];

	inject(a, t_virt(1, 1));
	inject(a, t_virt(2, 2));
	inject(b, t_ai(3));
	inject(a, t_virt(3, 3));
	assert_int_equal(events(a, ev, 4), 3);
	assert_int_equal(ev[0].seq, 1);
	assert_int_equal(ev[0].vcpu, 0);
	assert_int_equal(ev[1].seq, 2);
	assert_int_equal(ev[1].vcpu, 1);
	assert_int_equal(ev[2].seq, 3);
	assert_int_equal(ev[2].vcpu, 0);
	assert_int_equal(events(b, ev, 4), 1);
	assert_int_equal(ev[0].seq, 1);
	assert_int_equal(ev[0].flag, GISA_KICK_NONE);
}

/* The GISA kicker's wake-up (§7.5) is an event of its own kind. */
static void events_gisa_wake(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA, 2);
	struct gisa_vcpu_state v;
	struct gisa_event ev[2];

	assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
	t_vcpu_set(vm, 1, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(3), 0, GISA_VCPU_IDLE);
	assert_int_equal(gisa_gisa_hw_airq(vm, 3, false), 0);
	assert_int_equal(gisa_host_process_alerts(gisa_vm_host(vm)), 1);
	expect_no_event(vm);
	assert_int_equal(gisa_gisa_timer_fire(vm), 1);
	assert_int_equal(events(vm, ev, 2), 1);
	assert_int_equal(ev[0].seq, 1);
	assert_int_equal(ev[0].kind, GISA_EV_GISA_WAKE);
	assert_int_equal(ev[0].vcpu, 1);
	assert_int_equal(ev[0].flag, GISA_KICK_NONE);
	assert_int_equal(gisa_vcpu_get(vm, 1, &v), 0);
	assert_true(v.kicked);
	/* Kicked but not yet running: not woken again. */
	assert_int_equal(gisa_gisa_timer_fire(vm), 1);
	expect_no_event(vm);
}

/* ---- the state view is read-only ---------------------------------------- */

struct stop_ctx {
	unsigned calls;
};

static int stop_second(void *ctx, const struct gisa_irq *irq)
{
	struct stop_ctx *c = ctx;

	(void)irq;
	return ++c->calls == 2 ? 7 : 0;
}

/* Everything the view can show, read twice: identical, and nothing moved. */
static void expect_view_stable(struct gisa_vm *vm)
{
	struct gisa_state s1, s2;
	struct gisa_irq l1[8], l2[8];
	uint64_t p1[8], p2[8];
	struct gisa_event ev;
	size_t n;

	gisa_state_read(vm, &s1);
	gisa_state_read(vm, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		size_t n1 = gisa_state_list_copy(vm, li, l1, ARRAY_SIZE(l1));
		size_t n2 = gisa_state_list_copy(vm, li, l2, ARRAY_SIZE(l2));

		assert_int_equal(n1, s1.list_len[li] < 8 ? s1.list_len[li] : 8);
		t_assert_irqs_eq(l2, n2, l1, n1);
	}
	n = gisa_state_route_pages(vm, p1, ARRAY_SIZE(p1));
	assert_int_equal(gisa_state_route_pages(vm, p2, ARRAY_SIZE(p2)), n);
	if (n)
		assert_memory_equal(p1, p2, sizeof(uint64_t) * (n < 8 ? n : 8));
	assert_int_equal(events(vm, &ev, 1), 0);
	gisa_state_read(vm, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));
}

static void state_view_non_destructive(void **state)
{
	const struct gisa_irq recs[] = {
		t_io(0x0001, 1, 1, 2), t_io(0x0001, 2, 2, 2), t_io(0x0001, 3, 3, 2), t_ai(0),
		t_ai(5), t_virt(1, 2), t_pfd(3), t_srv(0x1003), t_mck(GISA_CR14_CHANNEL_REPORT, 1),
	};
	const struct gisa_route_entry e[] = { t_route(1, 0x10000, 0, 0x20000, 0, 0) };

	for (unsigned p = 0; p < ARRAY_SIZE(profiles); p++) {
		struct gisa_vm *vm = fx_vm(state, profiles[p], GISA_CAP_ALL, 2);
		struct stop_ctx c = { 0 };
		struct gisa_state s;
		struct gisa_irq two[2];

		assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
		assert_int_equal(t_register(vm, 0, 3, 1, 1, 1), 0);
		assert_int_equal(gisa_routes_set(vm, e, 1, 0), 0);
		assert_int_equal(t_aism_all_set(vm, 0x30, 0x10), 0);
		assert_int_equal(gisa_gisc_register(vm, 5), GISA_DEFAULT_NISC);
		drain_events(vm);
		gisa_state_read(vm, &s);
		assert_int_equal(s.gisa.ipm, 0x84);
		assert_int_equal(s.list_len[2], 3);
		expect_view_stable(vm);

		/* foreach stops at the first non-zero return and passes it on. */
		assert_int_equal(gisa_state_list_foreach(vm, 2, stop_second, &c), 7);
		assert_int_equal(c.calls, 2);
		assert_int_equal(gisa_state_list_copy(vm, 2, two, 2), 2);
		assert_int_equal(two[1].u.io.subchannel_nr, 2);
		expect_view_stable(vm);
		fx_drop(state, vm);
	}
}

/* NEWEST's GET only tests the IPM: state and output identical across GETs. */
static void state_view_across_get_newest(void **state)
{
	const struct gisa_irq recs[] = { t_ai(1), t_ai(4), t_io(0x0001, 7, 7, 4) };
	struct gisa_vm *vm = fx_vm(state, NEWEST, GISA_CAP_GISA, 1);
	uint8_t b1[10 * REC], b2[10 * REC];
	struct gisa_state s1, s2;

	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	drain_events(vm);
	gisa_state_read(vm, &s1);
	memset(b1, 0xaa, sizeof(b1));
	memset(b2, 0x55, sizeof(b2));
	assert_int_equal(t_get(vm, sizeof(b1), NULL, 0, b1), 3);
	expect_view_stable(vm);
	assert_int_equal(t_get(vm, sizeof(b2), NULL, 0, b2), 3);
	assert_memory_equal(b1, b2, 3 * REC);
	gisa_state_read(vm, &s2);
	assert_memory_equal(&s1, &s2, sizeof(s1));
	assert_int_equal(s2.gisa.ipm, 0x48);
}

/* CLASSIC's GET clears the IPM bits it emits; reading the state does not. */
static void state_view_classic_get_clears_ipm(void **state)
{
	const struct gisa_irq recs[] = { t_ai(2), t_ai(5), t_io(0x0001, 7, 7, 4) };
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA, 1);
	struct gisa_irq got[4];
	struct gisa_state s1, s2;

	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	drain_events(vm);
	gisa_state_read(vm, &s1);
	assert_int_equal(s1.gisa.ipm, 0x24);
	expect_view_stable(vm);
	assert_int_equal(st(vm).gisa.ipm, 0x24);

	assert_int_equal(t_get_all(vm, got, ARRAY_SIZE(got)), 3);
	t_assert_irq_eq(&got[0], &recs[0]);
	t_assert_irq_eq(&got[1], &recs[1]);
	t_assert_irq_eq(&got[2], &recs[2]);
	gisa_state_read(vm, &s2);
	assert_int_equal(s2.gisa.ipm, 0);
	s2.gisa.ipm = s1.gisa.ipm;
	assert_memory_equal(&s1, &s2, sizeof(s1));
	assert_int_equal(t_get_all(vm, got, ARRAY_SIZE(got)), 1);
	t_assert_irq_eq(&got[0], &recs[2]);
}

/* ---- several VMs on one host: the GIB alert list ------------------------ */

static struct gisa_host_info host_info(void **state)
{
	struct gisa_host_info h;

	gisa_host_info(fx_host(state), &h);
	return h;
}

static void expect_host(void **state, uint32_t origin, uint32_t len, uint64_t gal,
			uint32_t nr_vms)
{
	struct gisa_host_info h = host_info(state);

	assert_int_equal(h.nisc, GISA_DEFAULT_NISC);
	assert_int_equal(h.alert_origin, origin);
	assert_int_equal(h.alert_list_len, len);
	assert_int_equal(h.gal_interrupts, gal);
	assert_int_equal(h.nr_vms, nr_vms);
}

static void expect_gisa(const struct gisa_vm *vm, bool listed, bool armed, uint8_t ipm,
			uint8_t iam)
{
	struct gisa_state s = st(vm);

	assert_int_equal(s.gisa.on_alert_list, listed);
	assert_int_equal(s.gisa.timer_armed, armed);
	if (armed)
		assert_int_equal(s.gisa.timer_delay_ns, 0);
	assert_int_equal(s.gisa.ipm, ipm);
	assert_int_equal(s.gisa.iam, iam);
}

/* Three GISA VMs with ISC 3 registered (IAM 0x10). */
static void three_gisa_vms(void **state, struct gisa_vm **vm)
{
	for (unsigned i = 0; i < 3; i++) {
		vm[i] = fx_vm(state, i == 1 ? NEWEST : CLASSIC, GISA_CAP_GISA, 1);
		assert_int_equal(gisa_gisc_register(vm[i], 3), GISA_DEFAULT_NISC);
		expect_gisa(vm[i], false, false, 0, 0x10);
	}
	expect_host(state, 0, 0, 0, 3);
}

static void host_alert_list_multi_vm(void **state)
{
	struct gisa_vm *vm[3];

	three_gisa_vms(state, vm);
	/* The first alert on an empty (NULL) list raises a GAL interruption. */
	assert_int_equal(gisa_gisa_hw_airq(vm[0], 3, false), 0);
	expect_gisa(vm[0], true, false, 0x10, 0);
	expect_host(state, 2, 1, 1, 3);
	/* The next one queues behind it without another. */
	assert_int_equal(gisa_gisa_hw_airq(vm[1], 3, false), 0);
	expect_gisa(vm[1], true, false, 0x10, 0);
	expect_host(state, 2, 2, 1, 3);
	/* §14.9: a listed GISA is not queued twice; only its IPM changes. */
	assert_int_equal(gisa_gisa_hw_airq(vm[0], 4, false), 0);
	expect_gisa(vm[0], true, false, 0x18, 0);
	expect_host(state, 2, 2, 1, 3);
	/* A vcpu in SIE takes it, and an ISC outside the IAM never alerts. */
	assert_int_equal(gisa_gisa_hw_airq(vm[2], 3, true), 0);
	assert_int_equal(gisa_gisa_hw_airq(vm[2], 4, false), 0);
	expect_gisa(vm[2], false, false, 0x18, 0x10);
	expect_host(state, 2, 2, 1, 3);

	assert_int_equal(gisa_host_process_alerts(fx_host(state)), 2);
	expect_gisa(vm[0], false, true, 0x18, 0);
	expect_gisa(vm[1], false, true, 0x10, 0);
	expect_gisa(vm[2], false, false, 0x18, 0x10);
	expect_host(state, 0, 0, 1, 3);
	assert_int_equal(gisa_host_process_alerts(fx_host(state)), 0);

	/* The list is NULL again: the next alert raises a new interruption. */
	assert_int_equal(gisa_gisa_hw_airq(vm[2], 3, false), 0);
	expect_gisa(vm[2], true, false, 0x18, 0);
	expect_host(state, 2, 1, 2, 3);
}

/*
 * §7.7: freeing a VM whose GISA is on the alert list processes the list,
 * which takes the other listed GISAs off and starts their timers; a VM not
 * on the list is unaffected.
 */
static void host_free_vm_on_alert_list(void **state)
{
	struct gisa_vm *vm[3];

	three_gisa_vms(state, vm);
	assert_int_equal(gisa_gisa_hw_airq(vm[0], 3, false), 0);
	assert_int_equal(gisa_gisa_hw_airq(vm[1], 3, false), 0);
	expect_host(state, 2, 2, 1, 3);

	fx_drop(state, vm[1]);
	expect_host(state, 0, 0, 1, 2);
	expect_gisa(vm[0], false, true, 0x10, 0);
	expect_gisa(vm[2], false, false, 0, 0x10);
	assert_int_equal(gisa_host_process_alerts(fx_host(state)), 0);

	/* Freeing a VM that is not listed leaves a listed one alone. */
	assert_int_equal(gisa_gisa_hw_airq(vm[2], 3, false), 0);
	expect_host(state, 2, 1, 2, 2);
	assert_int_equal(t_clear_irqs(vm[0]), 0);
	assert_int_equal(gisa_gisa_timer_fire(vm[0]), 0);   /* IAM back, timer off */
	fx_drop(state, vm[0]);
	expect_host(state, 2, 1, 2, 1);
	expect_gisa(vm[2], true, false, 0x10, 0);

	/* The last listed VM goes: the list is empty and NULL. */
	fx_drop(state, vm[2]);
	expect_host(state, 0, 0, 2, 0);
}

/* ---- main --------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(memslot_create),
		T(memslot_move),
		T(memslot_grow),
		T(memslot_shrink),
		T(memslot_delete),
		T(memory_sparse_backing),
		T(memory_cap),
		T(memory_unwritten_reads_zero),
		T(memory_span_adjacent_slots),

		T(route_after_slot_move),
		T(route_summary_unbacked),
		T(route_unbacked_trigger_allocates_nothing),
		T(route_out_of_page_classic_backed),
		T(route_out_of_page_classic_unbacked),

		T(dirty_log_trigger_frames),
		T(dirty_log_newest_unmap),

		T(route_pages),
		T(route_pages_unregistered_adapter),
		T(route_pages_many_routes),

		T(events_classic_round_robin),
		T(events_newest_last_sleep_cpu),
		T(events_kick_flags),
		T(events_ring_overflow),
		T(events_seq_per_vm),
		T(events_gisa_wake),

		T(state_view_non_destructive),
		T(state_view_across_get_newest),
		T(state_view_classic_get_clears_ipm),

		T(host_alert_list_multi_vm),
		T(host_free_vm_on_alert_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
