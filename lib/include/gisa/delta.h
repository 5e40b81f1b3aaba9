/* SPDX-License-Identifier: MIT */
/*
 * Image deltas: the content of a DELTA object of a migration (a
 * gisa.v1.MigDelta, docs/MIGRATION-PROTOCOL.md section 4).  A delta turns
 * a base image into a result image; precopy rounds and the switchover carry
 * one each.
 *
 * What a delta holds, and why:
 *  - State fields other than the interrupt lists and the pages (scalars,
 *    adapters, routes, memslots, vcpus, the GISA) are listed in `replaced`
 *    and travel whole, in the snapshot's own canonical encoding: they change
 *    rarely and are small next to the lists.
 *  - Interrupt lists are FIFO: while the VM runs, deliveries consume the head
 *    and injections append at the tail.  A list that changed is an edit
 *    {drop, keep}: the result is base[drop, drop + keep) followed by the
 *    appended entries (encoded as that list of a gisa.v1.State).
 *  - Pages are set or cleared one by one.
 *
 * gisa_delta_make's encoding is canonical: the same (base, result) pair
 * always gives the same bytes, so the two sides of a migration can compare
 * them.  gisa_delta_make_vm's depends on the VM's history as well (below).
 */
#ifndef GISA_DELTA_H
#define GISA_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Largest encoded delta a reader accepts (the DELTA object's cap of the
 * protocol): a full state plus the edits' and digests' overhead.
 */
#define GISA_DELTA_MAX_BYTES   (65u << 20)

/*
 * The encoded MigDelta that turns base into cur (malloc'd).  Both images
 * must pass gisa_image_check (-EINVAL otherwise).  -ENOMEM, -E2BIG (a state
 * over the snapshot cap).
 */
int gisa_delta_make(const struct gisa_image *base, const struct gisa_image *cur,
		    uint8_t **ret_bytes, size_t *ret_len);

/*
 * Apply an encoded MigDelta to base; *ret_cur is a new image that passed
 * gisa_image_check.  Hostile input is expected: every count and length is
 * checked against its cap before anything is allocated.  Errors, with err
 * (may be NULL) naming the problem and the value:
 *   -ESTALE           base's state digest is not the delta's base_digest;
 *   -EPROTONOSUPPORT  a replaced field number this reader does not know;
 *   -E2BIG            a length or count over its cap;
 *   -EBADMSG          malformed, inconsistent, or a result whose digest is
 *                     not result_digest;
 *   -EINVAL           a result the model refuses (gisa_image_check);
 *   -ENOMEM.
 */
int gisa_delta_apply(const struct gisa_image *base, const uint8_t *bytes, size_t len,
		     struct gisa_image **ret_cur, struct gisa_snap_error *err);

/*
 * gisa_delta_make and gisa_delta_apply with the images' states already
 * made (gisa_snap_state_make; a state belongs to its image, unchanged
 * since): neither image is encoded or hashed again.  A NULL state is made
 * here.  gisa_delta_apply_states also hands the result's state to *ret_st
 * (NULL: released), for the next round or for gisa_snap_encode_state; on
 * error *ret_st is untouched.  Same bytes, same checks, same errors.
 */
int gisa_delta_make_states(const struct gisa_image *base, const struct gisa_snap_state *bst,
			   const struct gisa_image *cur, const struct gisa_snap_state *cst,
			   uint8_t **ret_bytes, size_t *ret_len);
int gisa_delta_apply_states(const struct gisa_image *base, const struct gisa_snap_state *bst,
			    const uint8_t *bytes, size_t len, struct gisa_image **ret_cur,
			    struct gisa_snap_state *ret_st, struct gisa_snap_error *err);

/*
 * gisa_delta_apply_states in two steps, for a caller that makes the
 * result's state beside other work on the result (another thread).
 * gisa_delta_apply_image does everything but the last check: *ret_cur has
 * passed gisa_image_check, and ret_result is the digest the delta names
 * for it, not yet compared.  The result is not to be trusted, used or
 * kept until gisa_delta_check_result(its state, ret_result) returned 0;
 * it returns -EBADMSG otherwise, with err naming both digests.  Errors of
 * gisa_delta_apply_image: those of gisa_delta_apply_states but the
 * result digest's.
 */
int gisa_delta_apply_image(const struct gisa_image *base, const struct gisa_snap_state *bst,
			   const uint8_t *bytes, size_t len, struct gisa_image **ret_cur,
			   uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err);
int gisa_delta_check_result(const struct gisa_snap_state *st,
			    const uint8_t result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err);

/*
 * Deltas made from a running VM and applied to a built one, for a
 * migration whose work must be proportional to what changed, not to the
 * state.
 *
 * gisa_delta_make_vm: the MigDelta that turns base into vm's current state,
 * from the VM's change tracking (state.h): base must be the image of vm
 * taken when gisa_track_start last marked it (each list's length is
 * checked, -ESTALE otherwise; -ENODATA if tracking is off), bst its state
 * (NULL: made here).  It costs the VM's sections and pages and the lists'
 * tails, not the lists: the delta keeps the run tracking kept, which may be
 * shorter than the longest gisa_delta_make would find (a valid choice,
 * section 4 of the protocol), so its bytes depend on the VM's history, not
 * only on the two states.  result is the digest to name as the result's;
 * NULL computes it, from a complete image of the VM (linear in the state).
 *
 * gisa_delta_apply_vm: apply a delta to vm, a VM that holds the state whose
 * digest is base (-ESTALE otherwise), built through restore.h and changed
 * only by earlier deltas since: the lists are edited in place, the
 * sections replaced through restore.h's live edits.  The cost is that of
 * the delta, plus walking a list to its kept run's end when entries after
 * it are dropped.  ret_result is the digest the delta names, not compared:
 * the caller compares it with the VM's when it chooses to.  Errors:
 *   -ESTALE, -EPROTONOSUPPORT, -E2BIG, -EBADMSG as gisa_delta_apply, all
 *                  found before the VM is touched;
 *   -EOPNOTSUPP    the delta replaces the configuration (State fields 1-5)
 *                  or the memslots (22): nothing was changed, and the caller
 *                  applies the delta to the VM's image instead;
 *   -EINVAL, -EFAULT, -ENOMEM, -ENOSPC, -EEXIST
 *                  the VM refused a value (err names it): it is now in an
 *                  unspecified but consistent state, to be freed.
 */
int gisa_delta_make_vm(const struct gisa_image *base, const struct gisa_snap_state *bst,
		       const struct gisa_vm *vm, const uint8_t result[GISA_SNAP_DIGEST_SIZE],
		       uint8_t **ret_bytes, size_t *ret_len);
int gisa_delta_apply_vm(struct gisa_vm *vm, const uint8_t base[GISA_SNAP_DIGEST_SIZE],
			const uint8_t *bytes, size_t len,
			uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err);

/*
 * The digests a delta names, without applying it (for logs and the
 * protocol's checks).  -EBADMSG if the bytes are not a MigDelta, -E2BIG.
 */
int gisa_delta_digests(const uint8_t *bytes, size_t len,
		       uint8_t ret_base[GISA_SNAP_DIGEST_SIZE],
		       uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err);

/*
 * An upper bound of gisa_delta_make's length for (base, cur), for the
 * downtime budget, computed without encoding either image: changed list
 * tails and pages at their uncompressed column sizes, every changed
 * section whole.  Costs one pass over the lists (linear) and the pages.
 * Returns 0 and the bound in *ret_bytes, or -ENOMEM.
 */
int gisa_delta_estimate(const struct gisa_image *base, const struct gisa_image *cur,
			uint64_t *ret_bytes);

#ifdef __cplusplus
}
#endif

#endif
