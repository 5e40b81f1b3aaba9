/* SPDX-License-Identifier: MIT */
/*
 * A VM image: the complete state of one VM as plain C values, independent
 * of any encoding.  It is what a snapshot carries (DESIGN.md, "Snapshot"):
 * restoring an image yields a VM that behaves identically to the one it was
 * read from, for every later sequence of operations.
 *
 * Images are read from a VM through state.h and built into a VM through
 * restore.h only.  The snapshot codec, JSON, the KVM and QEMU conversions,
 * the compatibility check and the diff all work on images.
 *
 * Canonical form: the arrays below are in a defined order (lists in FIFO
 * order; adapters by id; routes by gsi; memslots by gpa; pages by gpa, only
 * route pages with a non-zero byte; vcpus by index), so equal states give
 * equal images, whatever sequence of operations built them.
 */
#ifndef GISA_IMAGE_H
#define GISA_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "restore.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gisa_image_list {
	uint32_t n;
	struct gisa_list_entry *e;          /* n entries, FIFO order */
};

struct gisa_image_adapter {
	struct gisa_state_adapter a;        /* a.nr_maps entries in maps */
	uint64_t *maps;
};

struct gisa_image_memslot {
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
};

struct gisa_image_page {
	uint64_t gpa;                       /* page-aligned */
	uint8_t data[GISA_PAGE_SIZE];
};

struct gisa_image {
	struct gisa_vm_config config;       /* profile, caps, vcpus, mem_cap, abi_order */
	struct gisa_float_image fl;         /* scalars of the floating state */
	struct gisa_image_list lists[GISA_NR_LISTS];
	uint32_t nr_adapters;
	struct gisa_image_adapter *adapters;  /* ascending id */
	uint32_t nr_routes;
	struct gisa_route_entry *routes;    /* ascending gsi */
	uint32_t nr_memslots;
	struct gisa_image_memslot *memslots;  /* ascending gpa */
	uint32_t nr_pages;
	struct gisa_image_page *pages;      /* ascending gpa, non-zero route pages */
	uint32_t nr_vcpus;                  /* = config.nr_vcpus */
	struct gisa_vcpu_state *vcpus;
	struct gisa_state_gisa gisa;
};

/* Read the complete state of a VM.  The VM is not changed.  -ENOMEM. */
int gisa_image_from_vm(const struct gisa_vm *vm, struct gisa_image **ret);

/*
 * The same, but each list holds only its tail as change tracking sees it
 * (state.h, gisa_track_*): the entries after the run kept from the mark
 * (none with tracking off), and the sections in skip (GISA_TRACK_ADAPTERS,
 * _ROUTES, _PAGES) are left empty.  Costs the sections read and the tails,
 * not the lists: gisa_delta_make_vm's and gisa_delta_apply_vm's view of a
 * VM.
 */
int gisa_image_from_vm_tails(const struct gisa_vm *vm, unsigned skip,
			     struct gisa_image **ret);

/*
 * Build a new VM on host from an image (gisa_vm_new + restore.h), all or
 * nothing: on error nothing is left behind and *err names what failed (for
 * errors restore.h reports; other errors leave err->field NULL).
 */
int gisa_image_build_vm(const struct gisa_image *img, struct gisa_host *host,
			struct gisa_vm **ret, struct gisa_restore_error *err);

/* An empty image (every count 0, config zero).  -ENOMEM. */
int gisa_image_new(struct gisa_image **ret);
/* Accepts NULL; returns NULL. */
struct gisa_image *gisa_image_free(struct gisa_image *img);

/* Deep copy.  -ENOMEM. */
int gisa_image_dup(const struct gisa_image *img, struct gisa_image **ret);

/*
 * Structural checks an image must pass before it is built or encoded
 * (counts against the engine's limits and caps, ascending unique keys,
 * vcpu count, page alignment), independent of a VM.  0 or -EINVAL with
 * *err naming the first violation.
 */
int gisa_image_check(const struct gisa_image *img, struct gisa_restore_error *err);

/* Allocation helpers for producers (decoders, converters); -ENOMEM, -EINVAL. */
int gisa_image_set_list(struct gisa_image *img, unsigned list, uint32_t n);
int gisa_image_set_counts(struct gisa_image *img, uint32_t nr_adapters, uint32_t nr_routes,
			  uint32_t nr_memslots, uint32_t nr_pages, uint32_t nr_vcpus);
int gisa_image_set_maps(struct gisa_image *img, uint32_t adapter_idx, uint32_t nr_maps);

/* Most of any count an image may hold (the engine's limits and caps). */
#define GISA_IMAGE_MAX_PAGES   (2u * GISA_MAX_IRQ_ROUTES)

#ifdef __cplusplus
}
#endif

#endif
