/* SPDX-License-Identifier: MIT */
/*
 * Semantic diff of two VM images (image.h): what differs, by section and by
 * key, as plain values a client renders as text or JSON.
 *
 * Digests first.  Equal state has equal digests (the snapshot codec's
 * SHA-256 over the canonical state), so a caller holding two snapshots
 * compares their digests before decoding anything: equal digests mean an
 * empty diff, and the images need not be built at all.
 * gisa_diff_equal_digest is that comparison; gisa_diff_images is for the
 * case where they differ (or where there are no digests, as for two live
 * VMs read with gisa_image_from_vm).
 *
 * Entries.  Each difference is one entry: a section, a kind, a key, a path
 * naming the place, and the value on each side as text.  diff(a, b) and
 * diff(b, a) hold the same entries with a and b exchanged (ADDED and
 * REMOVED swap, positions swap), so their counts are equal.
 *
 * Order.  Sections in enum order.  In config, float, ais and gisa the
 * fields come in the order listed below, a per-ISC field for ISC 0..7.  The
 * other sections are keyed: by key (ascending), and for one key in the
 * order listed.  List entries and adapter maps are ordered by the
 * alignment walk: hunks in ascending position, and inside a hunk first the
 * entries present in a (ascending position in a), then those only in b
 * (ascending position in b).  The order depends only on the two images.
 *
 * Paths and keys per section ("N" decimal, "0xH" lowercase hex):
 *
 *  config   key 0: config.profile, config.caps.gisa, config.caps.ais,
 *           config.caps.other (the remaining bits), config.nr_vcpus,
 *           config.mem_cap, config.abi_order
 *  float    key 0: float.flic, float.apf, float.service.pending,
 *           float.service.ev_pending, float.service.ext_params,
 *           float.mchk.pending, float.mchk.cr14, float.mchk.mcic,
 *           float.kick_cursor
 *  ais      key isc: ais.simm.iscN (isc 0..7), then ais.nimm.iscN
 *  lists    key list number (0..7 the I/O ISCs, 8 PFAULT_DONE, 9 VIRTIO):
 *           lists[L][P] for a whole entry (REMOVED, ADDED, MOVED) and
 *           lists[L][P].FIELD for a CHANGED field; FIELD is type,
 *           subchannel_id, subchannel_nr, parm, word (I/O lists) or type,
 *           ext_params, pad, ext_params2 (lists 8, 9).  P is the position
 *           in a, except for ADDED entries where it is the position in b.
 *  gisa     key isc for per-ISC fields, else 0: gisa.present, gisa.ipm.iscN,
 *           gisa.iam.iscN, gisa.alert_mask.iscN, gisa.refcount.iscN,
 *           gisa.alert_list, gisa.timer.armed, gisa.timer.delay_ns
 *  adapters key id: adapters[ID] (whole adapter), adapters[ID].isc,
 *           .maskable, .masked, .swap, .suppressible, then the map list
 *           compared as a sequence: adapters[ID].maps[P] (whole map,
 *           positions as for lists; CHANGED carries both addresses)
 *  routes   key gsi: routes[GSI] (whole route), routes[GSI].type, .flags,
 *           .ind_addr, .ind_offset, .summary_addr, .summary_offset,
 *           .adapter_id
 *  memslots key slot id: memslots[SLOT] (whole slot), memslots[SLOT].gpa,
 *           .size
 *  pages    key the byte's guest address: pages[0xGPA], always CHANGED with
 *           both byte values.  An image holds only route pages with a
 *           non-zero byte, so a page one image lacks reads as zero there.
 *  vcpus    key index: vcpus[I] (whole vcpu, when nr_vcpus differs),
 *           vcpus[I].psw_mask, .cr0, .cr6, .cr14, .run, .kicked
 *
 * Values: booleans "true"/"false"; single ISC bits "0"/"1"; counts,
 * indexes, ids, ISCs, route type, kick cursor and timer delay in decimal;
 * every other integer in "0x" lowercase hex; page bytes "0xHH"; enums by
 * name (profile "classic"/"newest", abi_order "be"/"le", run
 * "running"/"idle"/"stopped"; an unknown value in decimal).  A whole
 * item is "name=value" pairs separated by one space, in the field order
 * above (an adapter's maps as "maps=[0xH,0xH]").  MOVED entries carry the
 * two positions as values.  The side where an item is absent is NULL.
 *
 * List alignment.  Two lists are compared as sequences of entries: the
 * matched entries are a common subsequence, every other entry of a is
 * REMOVED and every other entry of b is ADDED, except that
 *  - an unmatched entry of a and an equal unmatched entry of b form a MOVED
 *    pair (for each value, the k-th such entry of a by position with the
 *    k-th of b), and
 *  - inside one hunk (the stretch between two matched runs) the remaining
 *    unmatched entries of a and b are paired in order, the k-th with the
 *    k-th, and each pair is reported field by field as CHANGED.
 * The common subsequence: first the common prefix and suffix are matched
 * (O(n)); the middle is then aligned by Myers' shortest-edit-script search,
 * which is exact (a longest common subsequence) when the middle needs at
 * most GISA_DIFF_EXACT_EDITS insertions and deletions and the search stays
 * within GISA_DIFF_EXACT_WORK comparisons.  Beyond that, the fallback takes
 * whichever of two candidates matches more entries:
 *  - anchors: the entries whose value occurs exactly once in each middle,
 *    the longest chain of them in order in both (O(n log n)), and each gap
 *    between anchors aligned like a middle (prefix, suffix, then the exact
 *    search while a second GISA_DIFF_EXACT_WORK budget lasts, else left
 *    unmatched);
 *  - overlap: the longest run where the end of one middle equals the start
 *    of the other (a FIFO drained at the front and filled at the back),
 *    found in O(n) with the Knuth-Morris-Pratt failure function.
 * Unmatched entries are then paired as above, with an O(u log u) sort of
 * the u unmatched entries.  The alignment is computed on the two lists in
 * a fixed order (shorter first, then lexicographically smaller entries), so
 * diff(b, a) mirrors diff(a, b) exactly.
 *
 * Size.  At most GISA_DIFF_MAX_ENTRIES entries are kept (the first ones in
 * the order above); gisa_diff_total still counts every difference found,
 * so a truncated diff is recognisable and its counts are exact.
 */
#ifndef GISA_DIFF_H
#define GISA_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Section numbers and names are stable: append new ones at the end. */
enum gisa_diff_section {
	GISA_DIFF_CONFIG = 0,         /* "config" */
	GISA_DIFF_FLOAT = 1,          /* "float" */
	GISA_DIFF_AIS = 2,            /* "ais" */
	GISA_DIFF_LISTS = 3,          /* "lists" */
	GISA_DIFF_GISA = 4,           /* "gisa" */
	GISA_DIFF_ADAPTERS = 5,       /* "adapters" */
	GISA_DIFF_ROUTES = 6,         /* "routes" */
	GISA_DIFF_MEMSLOTS = 7,       /* "memslots" */
	GISA_DIFF_PAGES = 8,          /* "pages" */
	GISA_DIFF_VCPUS = 9,          /* "vcpus" */
};
#define GISA_DIFF_NR_SECTIONS 10u

enum gisa_diff_kind {
	GISA_DIFF_CHANGED = 0,        /* "changed": in both, value differs */
	GISA_DIFF_REMOVED = 1,        /* "removed": only in a */
	GISA_DIFF_ADDED = 2,          /* "added": only in b */
	GISA_DIFF_MOVED = 3,          /* "moved": equal entry, other position */
};
#define GISA_DIFF_NR_KINDS 4u

struct gisa_diff_entry {
	enum gisa_diff_section section;
	enum gisa_diff_kind kind;
	uint64_t key;                 /* per section, see above */
	int64_t pos_a;                /* list entries and maps: position in a, */
	int64_t pos_b;                /* in b; -1 when absent or not a sequence */
	const char *path;             /* e.g. "lists[3][17].parm" */
	const char *a;                /* value in a; NULL for ADDED */
	const char *b;                /* value in b; NULL for REMOVED */
};

struct gisa_diff;

/* Most entries a diff keeps; further differences are only counted. */
#define GISA_DIFF_MAX_ENTRIES   (1u << 20)
/* Bounds of the exact list alignment (see "List alignment"). */
#define GISA_DIFF_EXACT_EDITS   1000u
#define GISA_DIFF_EXACT_WORK    (1u << 22)

/*
 * Compare two images.  Both must pass gisa_image_check and hold at most
 * GISA_MAX_MEMSLOTS memslots (-EINVAL otherwise); -ENOMEM.  Neither image
 * is changed.
 */
int gisa_diff_images(const struct gisa_image *a, const struct gisa_image *b,
		     struct gisa_diff **ret);

/* Accepts NULL; returns NULL. */
struct gisa_diff *gisa_diff_free(struct gisa_diff *d);

/* Entries kept (<= GISA_DIFF_MAX_ENTRIES), and differences found. */
size_t gisa_diff_count(const struct gisa_diff *d);
uint64_t gisa_diff_total(const struct gisa_diff *d);
/* Differences found in one section (all of them, kept or not). */
uint64_t gisa_diff_section_total(const struct gisa_diff *d, enum gisa_diff_section s);

/* Entry i in order; NULL for i >= gisa_diff_count. */
const struct gisa_diff_entry *gisa_diff_entry(const struct gisa_diff *d, size_t i);

/*
 * Call fn for every kept entry in order; stops at the first non-zero
 * return of fn and returns it (0 after the last entry).
 */
int gisa_diff_foreach(const struct gisa_diff *d,
		      int (*fn)(void *ctx, const struct gisa_diff_entry *e), void *ctx);

/* Stable names ("lists", "moved"); NULL for an unknown value. */
const char *gisa_diff_section_name(enum gisa_diff_section s);
const char *gisa_diff_kind_name(enum gisa_diff_kind k);

/* Two snapshot digests (SHA-256) are equal: then so are the states. */
bool gisa_diff_equal_digest(const uint8_t a[32], const uint8_t b[32]);

#ifdef __cplusplus
}
#endif

#endif
