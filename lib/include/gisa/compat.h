/* SPDX-License-Identifier: MIT */
/*
 * Compatibility check: can an image be restored on a destination with a
 * given profile and capabilities, and what would change (DESIGN.md,
 * "Snapshot"; spec §9.2, §11)?
 *
 * The destination dictates two things and offers one:
 *  - its profile (the kernel it runs) and whether it has a GISA (use_gisa
 *    and AIV are host properties): the image takes both;
 *  - the AIS facility is a per-VM option the destination may offer: an
 *    image with AIS needs it, an image without AIS stays without it (the
 *    guest's CPU model does not change), so "no AIS -> AIS" is exact.
 *
 * Verdicts: EXACT (nothing changes: the restored VM behaves identically),
 * LOSSY (it can be restored, and each listed change happens), IMPOSSIBLE
 * (some state cannot exist on the destination; reason given).
 *
 * The rules, each a change kind (section, key, index and value as stored in
 * struct gisa_compat_change):
 *
 * LOSSY
 *  IPM_TO_LIST      GISA source, no-GISA destination: each set IPM bit of
 *                   ISC i becomes an AI record {type 0x04000000, io {0, 0,
 *                   0, 0x80000000 | i << 27}} at the FRONT of ISC list i,
 *                   where GET_ALL_IRQS + ENQUEUE would put it (vector 75).
 *                   The source delivers list entries before the IPM bit of
 *                   the same ISC (§4.5), so it now overtakes them, and it
 *                   counts against the I/O list limit; further adapter
 *                   interrupts of that ISC no longer coalesce.
 *                   section "gisa.ipm", key i, index 0 (its position in list
 *                   i), value = the entries of list i it now precedes.
 *  AI_TO_IPM        no-GISA source, GISA destination: each AI-typed entry
 *                   (type bit 26) of ISC list i leaves the list and sets IPM
 *                   bit i; entries of one ISC coalesce into that one bit,
 *                   their payload (parameter, subchannel) is lost, and the
 *                   bit is delivered after the list's classic entries
 *                   (§4.2, §4.5).  section "lists", key i, index = the
 *                   entry's position in the source list, value = its type.
 *  MAPS_DROPPED     NEWEST -> CLASSIC: an adapter's MAP list is dropped
 *                   (CLASSIC's MAP/UNMAP are no-ops; a later UNMAP no longer
 *                   returns -ENOENT for them).  section "adapters", key =
 *                   adapter id, index = its position in the image, value =
 *                   the number of maps.
 *  KICK_CURSOR      profile change with more than one vcpu: the kick cursor
 *                   is kept as a number but its meaning changes (CLASSIC
 *                   next_rr_cpu, idle-first round robin; NEWEST
 *                   last_sleep_cpu, §4.7), so later kick choices differ.
 *                   With at most one vcpu both policies pick vcpu 0, so no
 *                   change is listed.  section "kick_cursor", value = cursor.
 *
 * IMPOSSIBLE
 *  AIS_FACILITY     the image has the AIS facility, the destination offers
 *                   none (QEMU fails such a migration with -ENOSYS).
 *                   section "config.caps", value = the image's caps.
 *  AIS_MODE         the image has simm or nimm bits for ISC i and the
 *                   destination has no AIS.  section "ais", key i, value =
 *                   simm << 8 | nimm.
 *  GISA_REGISTRATION  GISA source with a non-zero refcount (or alert mask
 *                   bit) for ISC i, to a no-GISA destination: passthrough
 *                   interrupt registrations (gisc_register) need a GISA.
 *                   section "gisa.refcount", key i, value = the refcount.
 *  GISA_IAM         GISA source with a non-zero IAM, no-GISA destination.
 *                   section "gisa.iam", value = the IAM.
 *  GISA_ALERT_LIST  GISA source on the host's alert list, no-GISA
 *                   destination.  section "gisa.on_alert_list", value 1.
 *  GISA_TIMER       GISA source with its kicker timer armed, no-GISA
 *                   destination.  section "gisa.timer", value = its delay.
 *  IO_LIMIT         the IPM_TO_LIST records do not fit beside the I/O list
 *                   entries (266250 in all): ENQUEUE would refuse them.
 *                   section "lists", index = the limit, value = the entries
 *                   needed.
 *  ROUTE_OUT_OF_PAGE  CLASSIC -> NEWEST: a route whose summary (or
 *                   indicator) bit lies outside the 4 KiB page of its area
 *                   address (area + offset / 8, as §5.1 step 3 computes it);
 *                   NEWEST refuses such routes.  section "routes", key =
 *                   gsi, index = the route's position, value = the area
 *                   address; listed once per offending area, summary first.
 *
 * Changes are listed in a stable order: AIS_FACILITY, AIS_MODE (by ISC),
 * AI_TO_IPM (by ISC, then index), the GISA changes (IPM_TO_LIST by ISC,
 * IO_LIMIT, GISA_REGISTRATION by ISC, GISA_IAM, GISA_ALERT_LIST,
 * GISA_TIMER), MAPS_DROPPED (by adapter id), ROUTE_OUT_OF_PAGE (by gsi),
 * KICK_CURSOR.
 */
#ifndef GISA_COMPAT_H
#define GISA_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gisa_compat_verdict {
	GISA_COMPAT_EXACT = 0,
	GISA_COMPAT_LOSSY = 1,
	GISA_COMPAT_IMPOSSIBLE = 2,
};

enum gisa_compat_kind {
	GISA_CHANGE_IPM_TO_LIST = 1,
	GISA_CHANGE_AI_TO_IPM,
	GISA_CHANGE_MAPS_DROPPED,
	GISA_CHANGE_KICK_CURSOR,
	GISA_CHANGE_AIS_FACILITY,
	GISA_CHANGE_AIS_MODE,
	GISA_CHANGE_GISA_REGISTRATION,
	GISA_CHANGE_GISA_IAM,
	GISA_CHANGE_GISA_ALERT_LIST,
	GISA_CHANGE_GISA_TIMER,
	GISA_CHANGE_IO_LIMIT,
	GISA_CHANGE_ROUTE_OUT_OF_PAGE,
};

/* The destination: its profile and GISA_CAP_* (GISA present, AIS offered). */
struct gisa_compat_dest {
	enum gisa_profile profile;
	uint32_t caps;
};

struct gisa_compat_change {
	enum gisa_compat_kind kind;
	enum gisa_compat_verdict severity;   /* LOSSY or IMPOSSIBLE */
	const char *section;                 /* static, see above */
	uint32_t key;                        /* ISC, adapter id or gsi; else 0 */
	uint64_t index;                      /* position (see above); else 0 */
	uint64_t value;
	const char *what;                    /* static: what happens, or why impossible */
};

struct gisa_compat_report {
	enum gisa_compat_verdict verdict;    /* the worst severity listed */
	size_t nr_changes;
	struct gisa_compat_change *changes;
	const char *reason;                  /* IMPOSSIBLE: the first such change's what */
};

/* Stable names for output: "exact", "lossy", "impossible"; "ipm-to-list", ... */
const char *gisa_compat_verdict_name(enum gisa_compat_verdict v);
const char *gisa_compat_kind_name(enum gisa_compat_kind k);

/*
 * Check img against dest.  -EINVAL if img fails gisa_image_check or dest
 * names an unknown profile or capability bit; -ENOMEM.  The image is not
 * changed.  Release the report with gisa_compat_report_release.
 */
int gisa_compat_check(const struct gisa_image *img, const struct gisa_compat_dest *dest,
		      struct gisa_compat_report *ret);
/* Frees the list and zeroes *r.  Accepts a zeroed report. */
void gisa_compat_report_release(struct gisa_compat_report *r);

/*
 * A new image for dest, with exactly the changes gisa_compat_check lists
 * applied (EXACT: a copy with dest's profile and GISA capability).  The
 * result passes gisa_image_check and builds on a destination with dest's
 * profile and caps.  IMPOSSIBLE: -EOPNOTSUPP.  When report is not NULL it
 * receives the check's report in every case but -EINVAL and -ENOMEM (and
 * must then be released).
 */
int gisa_compat_convert(const struct gisa_image *img, const struct gisa_compat_dest *dest,
			struct gisa_image **ret, struct gisa_compat_report *report);

#ifdef __cplusplus
}
#endif

#endif
