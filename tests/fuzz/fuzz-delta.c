/* SPDX-License-Identifier: MIT */
/*
 * Image deltas: gisa_delta_digests and gisa_delta_apply of the input
 * against a fixed base image (fuzz_base_image(0), built once).
 *
 * Invariants: apply succeeds only when digests succeeds and names the
 * base's digest as base_digest and the result's as result_digest; the
 * result passes gisa_image_check; a result re-made into a delta from the
 * base applies again to the same state.
 */
#include <gisa/delta.h>
#include <gisa/snapshot.h>

#include "fuzz.h"

static struct gisa_image *base;
static uint8_t base_digest[GISA_SNAP_DIGEST_SIZE];

static bool setup(void)
{
	if (base)
		return true;
	base = fuzz_base_image(0);
	if (!base || gisa_snap_digest(base, base_digest))
		fuzz_fail("cannot build the base image");
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t db[GISA_SNAP_DIGEST_SIZE], dr[GISA_SNAP_DIGEST_SIZE], dc[GISA_SNAP_DIGEST_SIZE];
	struct gisa_snap_error err;
	struct gisa_image *cur = NULL, *again = NULL;
	uint8_t *bytes = NULL, *s1 = NULL, *s2 = NULL;
	size_t len, n1, n2;
	int rd, ra, r;

	setup();
	rd = gisa_delta_digests(data, size, db, dr, &err);
	ra = gisa_delta_apply(base, data, size, &cur, &err);
	if (ra != 0) {
		fuzz_check(cur == NULL, "apply failed (%d) but returned an image", ra);
		fuzz_check(ra == -ESTALE || ra == -EPROTONOSUPPORT || ra == -E2BIG ||
				   ra == -EBADMSG || ra == -EINVAL || ra == -ENOMEM,
			   "apply returned %d, not a documented error", ra);
		return 0;
	}
	fuzz_check(rd == 0, "apply accepts what digests refuses (%d)", rd);
	fuzz_check(memcmp(db, base_digest, sizeof(db)) == 0, "applied with another base digest");
	fuzz_check(fuzz_image_ok(cur), "result fails gisa_image_check");
	fuzz_check(gisa_snap_digest(cur, dc) == 0, "result has no digest");
	fuzz_check(memcmp(dr, dc, sizeof(dr)) == 0, "result digest is not result_digest");

	r = gisa_delta_make(base, cur, &bytes, &len);
	if (r == 0) {
		r = gisa_delta_apply(base, bytes, len, &again, &err);
		fuzz_check(r == 0, "re-made delta does not apply: %d %s", r, err.msg);
		fuzz_check(gisa_snap_state_bytes(cur, &s1, &n1) == 0 &&
				   gisa_snap_state_bytes(again, &s2, &n2) == 0,
			   "no state bytes");
		fuzz_check(n1 == n2 && memcmp(s1, s2, n1) == 0, "re-made delta gives another state");
	} else {
		fuzz_check(r == -ENOMEM, "result does not make a delta: %d", r);
	}
	free(s1);
	free(s2);
	free(bytes);
	gisa_image_free(again);
	gisa_image_free(cur);
	return 0;
}
