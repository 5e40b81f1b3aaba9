/* SPDX-License-Identifier: MIT */
/*
 * Random VMs: whole VMs driven into every kind of state by seeded sequences
 * of public-API operations, and two VMs compared step by step while the same
 * sequence drives both (test-restore builds the second VM through
 * restore.h, test-snapshot through a snapshot file).
 *
 * - A seeded generator (splitmix64) that every user shares, so that a seed
 *   means the same sequence everywhere.
 * - randvm_build: a VM with a FLIC and three memslots, then either the
 *   directed build (every kind of state at once) or a random one.
 * - The complete state view of a VM read through state.h, and a field by
 *   field comparison of two views.
 * - randvm_settle and randvm_run_compared: after a VM was rebuilt from
 *   another, the same operations on both, every observable result equal.
 *
 * The operation sequence a seed generates is part of what each test pins
 * down (its coverage assertions were met with those sequences), so a change
 * to the generator's draws changes every test that uses it.  Where the users
 * differ, struct randvm_opts says how, and each keeps its own sequence.
 *
 * Include after <cmocka.h>: the inline helpers below fail the test.
 */
#ifndef GISA_TEST_RANDVM_H
#define GISA_TEST_RANDVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <gisa/gisa.h>

/* ---- seeded generator ---------------------------------------------------- */

/*
 * Inline with short names: they stand in nearly every expression of a
 * generator, and being static they stay private to each test program.
 */
struct rng {
	uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
	/* splitmix64: good enough, and the same everywhere. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

/* calloc that fails the test instead of returning NULL, also for 0 bytes. */
static inline void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	assert_non_null(p);
	return p;
}

/* ---- reporting ----------------------------------------------------------- */

/*
 * Where a failure happened (configuration, seed, phase, step), printed with
 * every failure this module reports; the tests write it before each phase
 * and may print it with their own failures.
 */
#define RANDVM_WHERE_SIZE 256
extern char randvm_where[RANDVM_WHERE_SIZE];

/* Fails the test: what[index] is a on the source side and b on the other. */
void randvm_differs(const char *what, uint64_t index, uint64_t a, uint64_t b);

#define RANDVM_EQ(what, idx, a, b) do {                                      \
	uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
	if (a_ != b_)                                                         \
		randvm_differs(what, (uint64_t)(idx), a_, b_);                \
} while (0)

/* ---- the state view, captured completely --------------------------------- */

struct randvm_view {
	struct gisa_state st;
	struct gisa_irq *lists[GISA_NR_LISTS];
	struct gisa_state_adapter ad[GISA_MAX_ADAPTERS];
	uint64_t *maps[GISA_MAX_ADAPTERS];      /* registered adapters only */
	struct gisa_route_entry *routes;
	struct gisa_memslot_info *slots;
	size_t npages;                          /* the route pages ... */
	uint64_t *pages;
	uint8_t *page_bytes;                    /* ... and their contents */
	struct gisa_vcpu_state *vcpus;
};

/* Everything state.h shows of vm, checking its promises on the way. */
void randvm_view_read(const struct gisa_vm *vm, struct randvm_view *v);
void randvm_view_free(struct randvm_view *v);
/* Fails the test unless the views are equal (allocation bookkeeping aside). */
void randvm_view_compare(const struct randvm_view *a, const struct randvm_view *b);

/* ---- building and comparing VMs ------------------------------------------ */

/* How the users of the generator differ; each keeps its own sequences. */
struct randvm_opts {
	uint32_t flags;                 /* RANDVM_* below */
	unsigned view_every;            /* randvm_run_compared: views every N steps */
};

/*
 * Half of the plain I/O records take one of 4 interruption parameters, so
 * that I/O lists repeat entries (the dictionary form of a snapshot).  The
 * same draws are made either way: only the parameters differ.
 */
#define RANDVM_IO_PARM_REPEATS (1u << 0)

/* One VM of a comparison with its own host, and what its results were. */
struct randvm_log_entry {
	const char *what;
	uint64_t v;
};

struct randvm_log {
	struct randvm_log_entry *e;
	size_t n, cap;
};

struct randvm_side {
	struct gisa_vm *vm;
	struct gisa_host *host;
	enum gisa_byteorder order;      /* of the VM's ABI: the op records are packed so */
	uint64_t last_seq;              /* the last event seen */
	uint64_t dropped;               /* events dropped before the comparison */
	uint64_t gal;                   /* the host's GAL interruptions before it */
	struct randvm_log log;
};

/*
 * s (zeroed) gets a host and a VM of configuration cfg with a FLIC and
 * memslots 0-2; then the directed build, which needs 4 vcpus and the
 * big-endian ABI, or ops random operations drawn from r.
 */
void randvm_build(struct randvm_side *s, const struct gisa_vm_config *cfg, struct rng *r,
		  const struct randvm_opts *opts, bool directed, unsigned ops);

/*
 * dst was just built from src's state on its own host: copy the RAM the
 * state leaves out and set the bookkeeping that is not VM state.
 */
void randvm_settle(struct randvm_side *src, struct randvm_side *dst);

/*
 * ops operations from r on a and on b alike; every result, event and host
 * change must be equal, and the views every opts->view_every steps and at
 * the end.  label names the run in randvm_where.
 */
void randvm_run_compared(struct randvm_side *a, struct randvm_side *b, struct rng *r,
			 const struct randvm_opts *opts, uint32_t nr_vcpus, unsigned ops,
			 const char *label);

void randvm_side_free(struct randvm_side *s);

#endif
