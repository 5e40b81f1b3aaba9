/* SPDX-License-Identifier: MIT */
/*
 * Building a VM's exact state (the inverse of state.h), for snapshot import.
 *
 * Import is all or nothing: the caller creates a new VM with gisa_vm_new,
 * applies these setters to it, and only then swaps it for the target (or
 * frees it on the first error).  Each setter validates what it sets against
 * the model's invariants and the VM's profile and capabilities, and on
 * failure fills *err with what failed and where (a field name, an index and
 * the offending value) and returns -EINVAL (or -ENOMEM, -ENOSPC, -EEXIST).
 * The VM is then in an unspecified but consistent state and must be freed.
 *
 * Order: gisa_restore_float, lists, adapters, memslots and pages, routes,
 * vcpus, gisa_restore_gisa (which may put the GISA on the host's alert list).
 */
#ifndef GISA_RESTORE_H
#define GISA_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gisa_restore_error {
	const char *field;           /* e.g. "lists[3].io_int_word" (static) */
	uint64_t index;              /* entry index, or 0 */
	uint64_t value;              /* the offending value */
	const char *reason;          /* what was expected (static) */
};

struct gisa_float_image {
	bool flic_present;
	bool apf_enabled;
	bool service_pending;        /* EXT_SERVICE */
	bool service_ev_pending;     /* EXT_SERVICE_EV */
	bool mchk_pending;           /* MCHK_REP */
	uint32_t srv_ext_params;
	uint64_t mchk_cr14;
	uint64_t mchk_mcic;
	uint8_t simm;
	uint8_t nimm;
	uint32_t kick_cursor;
};

/*
 * Scalars of the floating state.  Checks: EV <=> srv has event bits; EV or
 * srv != 0 => SERVICE; cr14 only bit 28; non-zero accumulators => MCHK_REP;
 * simm/nimm need AIS (or are 0); kick_cursor < nr_vcpus (or 0).
 */
int gisa_restore_float(struct gisa_vm *vm, const struct gisa_float_image *img,
		       struct gisa_restore_error *err);

/*
 * Append n entries to floating list `list`, in order.  Checks: I/O types
 * (<= 0xfffdffff) whose word's ISC is the list's, no AI-typed entry when a
 * GISA takes them, PFAULT_DONE/VIRTIO lists hold their type; the limits.
 */
int gisa_restore_list(struct gisa_vm *vm, unsigned list, const struct gisa_list_entry *e,
		      size_t n, struct gisa_restore_error *err);

/*
 * Register an adapter with its runtime state.  Checks: id < 64, not yet
 * registered, masked => maskable, maps only in NEWEST, <= 256, non-zero.
 */
int gisa_restore_adapter(struct gisa_vm *vm, const struct gisa_state_adapter *in,
			 const uint64_t *maps, struct gisa_restore_error *err);

/*
 * Install a route table as it was.  The same structural checks as
 * gisa_routes_set, but areas need not be backed any more: a route whose
 * memslot went away is a reachable state (spec §14.6), and its triggers
 * keep returning -1.
 */
int gisa_restore_routes(struct gisa_vm *vm, const struct gisa_route_entry *e, size_t n,
			struct gisa_restore_error *err);

/* A vcpu's complete state, kicked bit included. */
int gisa_restore_vcpu(struct gisa_vm *vm, uint32_t idx, const struct gisa_vcpu_state *st,
		      struct gisa_restore_error *err);

/*
 * The GISA.  Checks: a GISA-less VM has an all-zero image; alert_mask is
 * the OR of the ISCs with non-zero refcounts; timer delay 0 or 50000 and
 * only when armed.  on_alert_list pushes the GISA onto the host's list
 * (without a GAL interruption: the host's count is not part of a VM).
 */
int gisa_restore_gisa(struct gisa_vm *vm, const struct gisa_state_gisa *in,
		      struct gisa_restore_error *err);

/*
 * Live edits: bringing a VM built through this interface to a later state
 * of the VM it was built from (a migration's staging VM applying a delta,
 * delta.h).  Like the setters, a failure leaves the VM consistent but
 * unspecified, to be freed.
 *
 * gisa_restore_list_edit: list `list` keeps its entries [drop, drop + keep)
 * and loses the others (gisa_restore_list then appends).  -EINVAL if drop +
 * keep exceeds its length.
 *
 * gisa_restore_reset: before a section is set again whole.  ADAPTERS
 * unregisters every adapter (the routes stay); ROUTES empties the route
 * table; GISA takes the GISA off the host's alert list without processing
 * the list (the other VMs on it are not touched), for gisa_restore_gisa.
 *
 * gisa_restore_page_drop: the page holding gpa is freed: it reads as zeros
 * again and stops counting against mem_cap, as if never written.  -ENOENT
 * if no page is allocated there.
 */
#define GISA_RESET_ADAPTERS  (1u << 0)
#define GISA_RESET_ROUTES    (1u << 1)
#define GISA_RESET_GISA      (1u << 2)

int gisa_restore_list_edit(struct gisa_vm *vm, unsigned list, uint32_t drop, uint32_t keep,
			   struct gisa_restore_error *err);
void gisa_restore_reset(struct gisa_vm *vm, unsigned what);
int gisa_restore_page_drop(struct gisa_vm *vm, uint64_t gpa);

/*
 * Move vm to host `to`: a VM staged on a private host (where no other VM's
 * alert processing can touch its GISA) joins the host it will run on.  Its
 * GISA, if on the old host's alert list, leaves it without the list being
 * processed and is pushed onto the new one's, as gisa_restore_gisa does;
 * nothing else of the VM changes.  The hosts must have the same nisc and
 * allocator (-EINVAL otherwise, nothing changed); the old host may then be
 * freed once its other VMs are.
 */
int gisa_restore_rehost(struct gisa_vm *vm, struct gisa_host *to);

#ifdef __cplusplus
}
#endif

#endif
