/* SPDX-License-Identifier: MIT */
/*
 * The read-only view of a VM's complete state.
 *
 * Everything DESIGN.md's "Snapshot" section lists is readable here, and no
 * function in this header changes the VM (the CLASSIC destructive
 * GET_ALL_IRQS quirk lives in the FLIC API only).  Two VMs whose views are
 * equal behave identically for every later sequence of operations.  Not
 * part of the view: the dirty log (migration bookkeeping, fetched and
 * cleared like KVM's), the event ring, and which non-route pages are
 * allocated (the memory cap aside, unobservable).
 */
#ifndef GISA_STATE_H
#define GISA_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gisa_state_gisa {
	bool present;
	uint8_t ipm;
	uint8_t iam;
	uint8_t alert_mask;
	uint32_t refcount[GISA_MAX_ISC + 1];
	bool on_alert_list;
	bool timer_armed;
	uint32_t timer_delay_ns;     /* 0 (started by GAL processing) or 50000 */
};

struct gisa_state {
	enum gisa_profile profile;
	uint32_t caps;
	uint32_t nr_vcpus;
	uint64_t mem_cap;
	enum gisa_byteorder abi_order;

	bool flic_present;
	bool apf_enabled;
	uint32_t pending_irqs;       /* floating pending bits (§2); IPM not folded */
	uint32_t list_len[GISA_NR_LISTS];
	uint32_t srv_ext_params;     /* service-signal accumulator */
	uint64_t mchk_cr14;          /* floating machine-check accumulator */
	uint64_t mchk_mcic;
	uint8_t simm;
	uint8_t nimm;
	struct gisa_state_gisa gisa;
	uint32_t kick_cursor;        /* CLASSIC next_rr_cpu, NEWEST last_sleep_cpu */

	uint64_t adapter_mask;       /* bit id set = adapter id registered */
	uint32_t nr_routes;
	uint32_t nr_memslots;
	uint64_t mem_used;           /* backing bytes allocated */
};

void gisa_state_read(const struct gisa_vm *vm, struct gisa_state *ret);

/*
 * The entries of floating list `list` (0..7 ISC, 8 PFAULT_DONE, 9 VIRTIO) in
 * FIFO order, as the records GET_ALL_IRQS would emit for them.
 * foreach stops at the first non-zero return of fn and returns it.
 * copy fills at most max entries and returns how many it wrote.
 */
int gisa_state_list_foreach(const struct gisa_vm *vm, unsigned list,
			    int (*fn)(void *ctx, const struct gisa_irq *irq), void *ctx);
size_t gisa_state_list_copy(const struct gisa_vm *vm, unsigned list,
			    struct gisa_irq *out, size_t max);

/* A floating-list entry in compact host form (restore.h takes it back). */
struct gisa_list_entry {
	uint32_t type;               /* I/O lists: the type; PFAULT/VIRTIO: implied */
	union {
		struct gisa_io_info io;
		struct gisa_ext_info ext;
	} u;
};

/*
 * The entries of list `list` in this form (16 bytes each, the fast path for
 * snapshots): copies at most max, returns the list's length.
 */
size_t gisa_state_list_entries(const struct gisa_vm *vm, unsigned list,
			       struct gisa_list_entry *out, size_t max);

/*
 * The entries of the eight I/O lists at once: out[i] receives list i (at
 * most max[i] entries).  The lists are walked in lockstep, so eight node
 * loads are in flight instead of one: the walk is bound by memory latency,
 * and this is about three times faster than eight gisa_state_list_entries
 * calls on a large state.
 */
void gisa_state_io_entries(const struct gisa_vm *vm, struct gisa_list_entry *const out[8],
			   const size_t max[8]);
/*
 * Change tracking of the floating lists, for migration deltas (delta.h,
 * gisa_delta_make_vm): what changed since a mark, found without reading the
 * lists.  From gisa_track_start on, each list is at any time
 *
 *     base[drop, drop + keep)  followed by  tail_n other entries,
 *
 * where base is the list as it was at the start (base_n entries): deliveries
 * from the head consume the run, injections append to the tail, and an entry
 * taken from inside the run (TPI of one subchannel) ends the run there, what
 * followed it in the run moving to the tail.  A cleared list keeps no run.
 * Keeping this up to date costs a few instructions per list operation, and
 * nothing while tracking is off (the default).
 *
 * gisa_track_start marks the VM's current lists as the base (again, if
 * tracking was on); gisa_track_stop ends it.  gisa_track_read: -EINVAL for
 * list > 9, -ENODATA if tracking is off.  gisa_track_tail copies at most max
 * of the tail_n entries, in order, and returns tail_n (0 when tracking is
 * off): its cost is that of the tail alone.
 */
struct gisa_track_list {
	uint32_t base_n;
	uint32_t drop;
	uint32_t keep;
	uint32_t tail_n;
};

void gisa_track_start(struct gisa_vm *vm);
void gisa_track_stop(struct gisa_vm *vm);

/*
 * The sections that may have changed since gisa_track_start (all of them
 * when tracking is off): a superset, kept by every operation that changes
 * them (an adapter registered, masked, mapped or unmapped; the route table
 * set; a memslot set; a guest page written, allocated or freed).  The
 * others read as they did at the mark.
 */
#define GISA_TRACK_ADAPTERS  (1u << 0)
#define GISA_TRACK_ROUTES    (1u << 1)
#define GISA_TRACK_MEMSLOTS  (1u << 2)
#define GISA_TRACK_PAGES     (1u << 3)
#define GISA_TRACK_ALL       0xfu

unsigned gisa_track_changed(const struct gisa_vm *vm);
int gisa_track_read(const struct gisa_vm *vm, unsigned list, struct gisa_track_list *ret);
size_t gisa_track_tail(const struct gisa_vm *vm, unsigned list, struct gisa_list_entry *out,
		       size_t max);


struct gisa_state_adapter {
	uint32_t id;
	uint32_t isc;                /* as registered (may exceed 7) */
	bool maskable;
	bool masked;                 /* runtime flag KVM cannot report */
	bool swap;
	bool suppressible;
	uint32_t nr_maps;            /* NEWEST MAP list length */
};

/* -ENOENT if the adapter is not registered (or id >= 64). */
int gisa_state_adapter(const struct gisa_vm *vm, uint32_t id, struct gisa_state_adapter *ret);
/* The NEWEST map list of adapter id in order; returns the count written. */
size_t gisa_state_adapter_maps(const struct gisa_vm *vm, uint32_t id, uint64_t *out, size_t max);

/* Routes in ascending gsi order; -ENOENT for idx >= nr_routes. */
int gisa_state_route(const struct gisa_vm *vm, size_t idx, struct gisa_route_entry *ret);

struct gisa_memslot_info {
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
	uint64_t pages_allocated;
};
/* Memslots in ascending gpa order; -ENOENT for idx >= nr_memslots. */
int gisa_state_memslot(const struct gisa_vm *vm, size_t idx, struct gisa_memslot_info *ret);

/*
 * The guest pages (page-aligned guest addresses, ascending, no duplicates)
 * that hold a byte some route's trigger would write, indicator or summary,
 * and that are backed now.  Returns the total count (which may exceed max;
 * at most max are written).  Read their bytes with gisa_mem_read.
 */
size_t gisa_state_route_pages(const struct gisa_vm *vm, uint64_t *out, size_t max);

#ifdef __cplusplus
}
#endif

#endif
