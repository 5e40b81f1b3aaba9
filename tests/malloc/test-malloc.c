/* SPDX-License-Identifier: MIT */
/*
 * The hot paths allocate nothing (DESIGN.md "Engine model": pools grow at
 * request boundaries, never per record).
 *
 * Two independent counters watch every allocation:
 *  - libc: this program is linked with -Wl,--wrap=malloc (and the other
 *    allocation functions, see meson.build), so each call that the test's
 *    and the engine's objects make lands in a __wrap_* function below,
 *    which counts it and forwards to the real one;
 *  - hook: a counting gisa_allocator handed to the host through
 *    gisa_host_config; it allocates with the real libc functions, so the
 *    libc counter sees only calls that bypass the allocator.
 *
 * Each configuration first shows that the counters can see allocations
 * (VM creation must be counted, or the test could never fail), then warms
 * up with the same operation mix it measures, then runs 1,000,000 mixed
 * hot-path operations (ENQUEUE of I/O, AI, virtio and pfault-done records,
 * route triggers with and without a 0->1 summary edge, the guest clearing
 * the summary, AIRQ_INJECT, enabled waits, deliveries, event reads) and
 * requires both allocation counts over that phase to be exactly 0.  Every
 * operation's result is checked against a shadow model of the floating
 * lists and the IPM, so the mix provably takes the paths it claims to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

/* ---- libc wrappers (resolved by ld --wrap) -------------------------------- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_reallocarray(void *p, size_t n, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
int __real_posix_memalign(void **p, size_t align, size_t size);
void *__real_memalign(size_t align, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_reallocarray(void *p, size_t n, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
int __wrap_posix_memalign(void **p, size_t align, size_t size);
void *__wrap_memalign(size_t align, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);

struct counts {
	uint64_t allocs;        /* every call that may allocate (realloc included) */
	uint64_t frees;
};

static struct counts libc_n;
static struct counts hook_n;
static int64_t hook_live;       /* blocks the hook handed out and not freed */

void *__wrap_malloc(size_t size)
{
	libc_n.allocs++;
	return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
	libc_n.allocs++;
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	libc_n.allocs++;
	return __real_realloc(p, size);
}

void *__wrap_reallocarray(void *p, size_t n, size_t size)
{
	libc_n.allocs++;
	return __real_reallocarray(p, n, size);
}

void *__wrap_aligned_alloc(size_t align, size_t size)
{
	libc_n.allocs++;
	return __real_aligned_alloc(align, size);
}

int __wrap_posix_memalign(void **p, size_t align, size_t size)
{
	libc_n.allocs++;
	return __real_posix_memalign(p, align, size);
}

void *__wrap_memalign(size_t align, size_t size)
{
	libc_n.allocs++;
	return __real_memalign(align, size);
}

char *__wrap_strdup(const char *s)
{
	libc_n.allocs++;
	return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	libc_n.allocs++;
	return __real_strndup(s, n);
}

void __wrap_free(void *p)
{
	libc_n.frees++;
	__real_free(p);
}

/* ---- the counting gisa_allocator ------------------------------------------ */

static void *hook_alloc(void *ctx, size_t size)
{
	void *p = __real_malloc(size);

	(void)ctx;
	hook_n.allocs++;
	if (p)
		hook_live++;
	return p;
}

static void *hook_realloc(void *ctx, void *old, size_t size)
{
	void *p = __real_realloc(old, size);

	(void)ctx;
	hook_n.allocs++;
	if (p && !old)
		hook_live++;
	return p;
}

static void hook_free(void *ctx, void *p)
{
	(void)ctx;
	hook_n.frees++;
	if (p)
		hook_live--;
	__real_free(p);
}

static const struct gisa_allocator counting_allocator = {
	.alloc = hook_alloc,
	.realloc = hook_realloc,
	.free = hook_free,
};

/* ---- configurations -------------------------------------------------------- */

struct config {
	const char *name;
	enum gisa_profile profile;
	uint32_t caps;
	bool hook;                      /* counting allocator, else libc */
};

static const struct config configs[] = {
	{ "classic, no GISA, libc", GISA_PROFILE_CLASSIC, 0, false },
	{ "classic, GISA+AIS, allocator", GISA_PROFILE_CLASSIC, GISA_CAP_ALL, true },
	{ "newest, no GISA, allocator", GISA_PROFILE_NEWEST, 0, true },
	{ "newest, GISA+AIS, libc", GISA_PROFILE_NEWEST, GISA_CAP_ALL, false },
};

#define NR_VCPUS        4u
#define MEASURED_OPS    1000000u
#define WARMUP_OPS      200000u
/*
 * Bound on queued list entries, far below every list limit but above the
 * pool's first growth, so the warm-up takes the pool through more than one
 * growth.  Every fill phase runs into it, so the warm-up reaches the same
 * high-water mark the measured phase can reach.
 */
#define DEPTH_MAX       300u
#define PHASE_OPS       2048u           /* fill and drain phases alternate */

/* Route layout: two GSIs share one summary byte (swap = 1, spec §5.3). */
#define IND_GPA         0x10000u
#define SUM_GPA         0x20000u
#define ROUTE_ADAPTER   2u
#define ROUTE_ISC       2u
#define AIRQ_ADAPTER    5u
#define AIRQ_ISC        6u

/* ---- shadow model ---------------------------------------------------------- */

#define SHADOW_CAP      512u            /* > DEPTH_MAX */

struct shadow_list {
	struct gisa_irq e[SHADOW_CAP];
	uint32_t head;
	uint32_t len;
};

struct run {
	struct gisa_vm *vm;
	bool gisa;
	struct shadow_list l[GISA_NR_LISTS];
	uint32_t depth;                 /* sum of the list lengths */
	uint32_t max_depth;
	uint8_t ipm;
	bool summary;                   /* the guest's summary bit */
	uint64_t rng;
	uint32_t seq;
	uint64_t delivered;
	uint64_t injected_airqs;
};

static void sh_push(struct run *r, unsigned li, const struct gisa_irq *irq)
{
	struct shadow_list *l = &r->l[li];

	assert_true(l->len < SHADOW_CAP);
	l->e[(l->head + l->len) % SHADOW_CAP] = *irq;
	l->len++;
	if (++r->depth > r->max_depth)
		r->max_depth = r->depth;
}

static struct gisa_irq sh_pop(struct run *r, unsigned li)
{
	struct shadow_list *l = &r->l[li];
	struct gisa_irq irq = l->e[l->head];

	l->head = (l->head + 1) % SHADOW_CAP;
	l->len--;
	r->depth--;
	return irq;
}

/* An adapter interrupt as §5.5 builds it: IPM bit with a GISA, else a record. */
static void sh_airq(struct run *r, unsigned isc)
{
	if (r->gisa) {
		r->ipm |= GISA_ISC_BIT(isc);
	} else {
		struct gisa_irq ai = t_ai(isc);

		sh_push(r, GISA_LIST_IO_ISC(isc), &ai);
	}
}

static bool sh_any(const struct run *r)
{
	return r->depth || r->ipm;
}

static uint64_t rnd(struct run *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

/* ---- operations ------------------------------------------------------------ */

static void enq(struct run *r, const struct gisa_irq *irq)
{
	uint8_t buf[GISA_IRQ_SIZE];
	struct gisa_attr a = {
		.group = GISA_FLIC_ENQUEUE, .attr = GISA_IRQ_SIZE,
		.addr = { .data = buf, .len = sizeof(buf) },
	};

	gisa_irq_pack1(irq, GISA_BE, buf);
	assert_int_equal(gisa_flic_set_attr(r->vm, &a), 0);
}

static void op_enq_io(struct run *r)
{
	unsigned isc = (unsigned)(rnd(r) % 8);
	struct gisa_irq irq = t_io((uint16_t)(0x0001 | (isc << 1 & 6)), (uint16_t)r->seq,
				   r->seq, isc);

	enq(r, &irq);
	sh_push(r, GISA_LIST_IO_ISC(isc), &irq);
}

static void op_enq_virt(struct run *r)
{
	struct gisa_irq irq = t_virt(r->seq, (uint64_t)r->seq << 20 | 0x5);

	enq(r, &irq);
	sh_push(r, GISA_LIST_VIRTIO, &irq);
}

static void op_enq_pfd(struct run *r)
{
	struct gisa_irq irq = t_pfd(0xabcd000000000000ull | r->seq);

	enq(r, &irq);
	sh_push(r, GISA_LIST_PFAULT, &irq);
}

/* ENQUEUE of an AI record goes through §4.2 (and bypasses AIS, §6.2). */
static void op_enq_ai(struct run *r)
{
	unsigned isc = (unsigned)(rnd(r) % 8);
	struct gisa_irq irq = t_ai(isc);

	enq(r, &irq);
	sh_airq(r, isc);
}

static void op_clear_summary(struct run *r)
{
	static const uint8_t zero;

	assert_int_equal(gisa_mem_write(r->vm, SUM_GPA, &zero, 1), 0);
	r->summary = false;
}

static void op_trigger(struct run *r)
{
	uint32_t gsi = 1 + (uint32_t)(rnd(r) & 1);
	uint8_t sum = 0;

	if (!r->summary) {
		assert_int_equal(gisa_route_trigger(r->vm, gsi, 1), 1);
		sh_airq(r, ROUTE_ISC);
		r->summary = true;
	} else {
		assert_int_equal(gisa_route_trigger(r->vm, gsi, 1), 0);
	}
	assert_int_equal(gisa_mem_read(r->vm, SUM_GPA, &sum, 1), 0);
	assert_int_equal(sum, 0x80);
}

static void op_airq(struct run *r)
{
	struct gisa_attr a = { .group = GISA_FLIC_AIRQ_INJECT, .attr = AIRQ_ADAPTER };

	assert_int_equal(gisa_flic_set_attr(r->vm, &a), 0);
	sh_airq(r, AIRQ_ISC);
	r->injected_airqs++;
}

static void op_wait(struct run *r)
{
	uint32_t v = (uint32_t)(rnd(r) % NR_VCPUS);

	/* ALL-ON vcpus: anything pending is deliverable, so nobody sleeps then. */
	assert_int_equal(gisa_vcpu_wait(r->vm, v), sh_any(r) ? 0 : 1);
}

static void op_events(struct run *r)
{
	struct gisa_event ev[64];

	(void)gisa_vm_events_read(r->vm, ev, 64);
}

/* The highest-priority expected delivery (§4.4, §4.5) against the engine's. */
static void op_deliver(struct run *r)
{
	uint32_t v = (uint32_t)(rnd(r) % NR_VCPUS);
	struct gisa_delivery d;
	struct gisa_irq want;
	int ret = gisa_vcpu_deliver(r->vm, v, &d);

	if (!sh_any(r)) {
		assert_int_equal(ret, 0);
		return;
	}
	assert_int_equal(ret, 1);
	r->delivered++;
	if (r->l[GISA_LIST_PFAULT].len || r->l[GISA_LIST_VIRTIO].len) {
		bool pfd = r->l[GISA_LIST_PFAULT].len != 0;

		want = sh_pop(r, pfd ? GISA_LIST_PFAULT : GISA_LIST_VIRTIO);
		assert_int_equal(d.kind, GISA_DELIVER_EXT);
		assert_int_equal(d.irq_bit, pfd ? GISA_IRQ_PFAULT_DONE : GISA_IRQ_VIRTIO);
		assert_int_equal(d.type, want.type);
		assert_int_equal(d.u.ext.code, GISA_EXT_CODE_CP_SERVICE);
		assert_int_equal(d.u.ext.cpu_addr, pfd ? GISA_EXT_CPU_ADDR_PFAULT_DONE :
					 GISA_EXT_CPU_ADDR_VIRTIO);
		assert_int_equal(d.u.ext.param, want.u.ext.ext_params);
		assert_int_equal(d.u.ext.param64, want.u.ext.ext_params2);
		return;
	}
	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++) {
		if (r->l[isc].len) {
			want = sh_pop(r, isc);
		} else if (r->ipm & GISA_ISC_BIT(isc)) {
			r->ipm &= (uint8_t)~GISA_ISC_BIT(isc);
			want = t_ai(isc);
		} else {
			continue;
		}
		assert_int_equal(d.kind, GISA_DELIVER_IO);
		assert_int_equal(d.irq_bit, GISA_IRQ_IO_ISC(isc));
		assert_int_equal(d.type, want.type);
		assert_int_equal(d.u.io.subchannel_id, want.u.io.subchannel_id);
		assert_int_equal(d.u.io.subchannel_nr, want.u.io.subchannel_nr);
		assert_int_equal(d.u.io.io_int_parm, want.u.io.io_int_parm);
		assert_int_equal(d.u.io.io_int_word, want.u.io.io_int_word);
		return;
	}
	fail_msg("shadow has work but no class matched");
}

enum op {
	OP_IO, OP_VIRT, OP_PFD, OP_AI, OP_CLEAR, OP_TRIG, OP_AIRQ, OP_WAIT, OP_EVENTS, OP_DELIVER,
};

/* Fill phases queue faster than they deliver; drain phases the reverse. */
static const uint8_t fill_mix[16] = {
	OP_IO, OP_IO, OP_IO, OP_IO, OP_VIRT, OP_PFD, OP_AI, OP_CLEAR,
	OP_TRIG, OP_TRIG, OP_AIRQ, OP_WAIT, OP_EVENTS, OP_DELIVER, OP_DELIVER, OP_DELIVER,
};
static const uint8_t drain_mix[16] = {
	OP_IO, OP_VIRT, OP_CLEAR, OP_TRIG, OP_WAIT, OP_EVENTS, OP_DELIVER, OP_DELIVER,
	OP_DELIVER, OP_DELIVER, OP_DELIVER, OP_DELIVER, OP_DELIVER, OP_DELIVER, OP_DELIVER,
	OP_DELIVER,
};

static void mix(struct run *r, uint32_t nops)
{
	for (uint32_t i = 0; i < nops; i++) {
		const uint8_t *m = (i / PHASE_OPS) & 1 ? drain_mix : fill_mix;
		enum op op = (enum op)m[rnd(r) % 16];

		r->seq++;
		/* Anything that may queue a record waits while the lists are at the bound. */
		if (r->depth >= DEPTH_MAX && op != OP_CLEAR && op != OP_WAIT && op != OP_EVENTS)
			op = OP_DELIVER;
		switch (op) {
		case OP_IO:
			op_enq_io(r);
			break;
		case OP_VIRT:
			op_enq_virt(r);
			break;
		case OP_PFD:
			op_enq_pfd(r);
			break;
		case OP_AI:
			op_enq_ai(r);
			break;
		case OP_CLEAR:
			op_clear_summary(r);
			break;
		case OP_TRIG:
			op_trigger(r);
			break;
		case OP_AIRQ:
			op_airq(r);
			break;
		case OP_WAIT:
			op_wait(r);
			break;
		case OP_EVENTS:
			op_events(r);
			break;
		case OP_DELIVER:
			op_deliver(r);
			break;
		}
	}
}

/* ---- the test -------------------------------------------------------------- */

static void vm_prepare(struct run *r)
{
	struct gisa_route_entry routes[2] = {
		t_route(1, IND_GPA, 3, SUM_GPA, 0, ROUTE_ADAPTER),
		t_route(2, IND_GPA, 12, SUM_GPA, 0, ROUTE_ADAPTER),
	};

	for (uint32_t v = 0; v < NR_VCPUS; v++)
		t_vcpu_all_on(r->vm, v);
	/* Suppressible, but AIS stays in ALL mode (simm = nimm = 0): always injected. */
	assert_int_equal(t_register(r->vm, ROUTE_ADAPTER, ROUTE_ISC, 0, 1,
				    GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_register(r->vm, AIRQ_ADAPTER, AIRQ_ISC, 0, 1, 0), 0);
	assert_int_equal(gisa_routes_set(r->vm, routes, 2, 0), 0);
}

static int popcount8(uint8_t v)
{
	return __builtin_popcount(v);
}

static void test_hot_paths(void **state)
{
	const struct config *c = *state;
	struct gisa_host_config hc = {
		.nisc = GISA_DEFAULT_NISC,
		.allocator = c->hook ? &counting_allocator : NULL,
	};
	struct gisa_host *host = NULL;
	struct counts l0, h0, l1, h1;
	struct run *r = calloc(1, sizeof(*r));
	int n;

	assert_non_null(r);
	r->gisa = c->caps & GISA_CAP_GISA;
	r->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)c->caps << 8 ^ c->profile;

	/* Control: creating a host and a VM must show up in the counter in use. */
	l0 = libc_n;
	h0 = hook_n;
	hook_live = 0;
	assert_int_equal(gisa_host_new(&hc, &host), 0);
	r->vm = t_vm_new(&host, c->profile, c->caps, NR_VCPUS);
	vm_prepare(r);
	if (c->hook) {
		assert_true(hook_n.allocs > h0.allocs);
		/* Every allocation of the host and its VMs goes through the allocator. */
		assert_int_equal(libc_n.allocs, l0.allocs);
	} else {
		assert_true(libc_n.allocs > l0.allocs);
		assert_int_equal(hook_n.allocs, h0.allocs);
	}
	print_message("control: VM creation made %llu libc and %llu allocator allocations\n",
		      (unsigned long long)(libc_n.allocs - l0.allocs),
		      (unsigned long long)(hook_n.allocs - h0.allocs));

	/* Warm-up: the same mix, so pools and guest pages reach their high-water mark. */
	mix(r, WARMUP_OPS);
	assert_int_equal(r->max_depth, DEPTH_MAX);

	l0 = libc_n;
	h0 = hook_n;
	mix(r, MEASURED_OPS);
	l1 = libc_n;
	h1 = hook_n;
	print_message("measured: %u operations, %llu deliveries, libc allocs %llu frees %llu, "
		      "allocator allocs %llu frees %llu\n", MEASURED_OPS,
		      (unsigned long long)r->delivered,
		      (unsigned long long)(l1.allocs - l0.allocs),
		      (unsigned long long)(l1.frees - l0.frees),
		      (unsigned long long)(h1.allocs - h0.allocs),
		      (unsigned long long)(h1.frees - h0.frees));
	assert_int_equal(l1.allocs - l0.allocs, 0);
	assert_int_equal(h1.allocs - h0.allocs, 0);
	assert_true(r->delivered > MEASURED_OPS / 4);
	assert_true(r->injected_airqs > 0);

	/* The engine's state agrees with the shadow: GET counts, then drain it all. */
	n = t_get_all(r->vm, NULL, 0);
	assert_int_equal(n, (int)r->depth + popcount8(r->ipm));
	if (c->profile == GISA_PROFILE_CLASSIC)
		r->ipm = 0;             /* the CLASSIC GET consumed the IPM (§3.1) */
	while (sh_any(r))
		op_deliver(r);
	op_deliver(r);                  /* nothing left: returns 0 */

	/* Teardown gives everything back. */
	l0 = libc_n;
	h0 = hook_n;
	gisa_vm_free(r->vm);
	gisa_host_free(host);
	if (c->hook) {
		assert_true(hook_n.frees > h0.frees);
		assert_int_equal(hook_live, 0);
	} else {
		assert_true(libc_n.frees > l0.frees);
	}
	free(r);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(configs) / sizeof(configs[0])];

	/* One test per configuration, named after it. */
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate(test_hot_paths,
								(void *)&configs[i]);

		t.name = configs[i].name;
		tests[i] = t;
	}

	return cmocka_run_group_tests(tests, NULL, NULL);
}
