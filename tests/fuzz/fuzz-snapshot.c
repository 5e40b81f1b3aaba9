/* SPDX-License-Identifier: MIT */
/*
 * Snapshot files: container, header, payload, State and the image checks
 * (gisa_snap_decode), plus gisa_snap_info and gisa_snap_info_head (a
 * listing's: the first GISA_SNAP_MAX_HEAD bytes and the last 32) on the
 * same bytes.  The campaign
 * builds the library with -Dsnapshot_recompute_digest=true, so mutated
 * files are not all stopped by the digest.
 *
 * Invariants: info_head answers exactly as info does (error, message,
 * fields); info and decode agree on the container fields; a decoded
 * image re-encodes (stored and compressed) to files that decode to the
 * same canonical state bytes, and the re-encoded file's digest is the
 * image's.
 */
#include <gisa/snapshot.h>

#include "fuzz.h"

static void reencode(const struct gisa_image *img, const struct gisa_snap_info *info,
		     const uint8_t *state, size_t state_len, bool compress)
{
	const struct gisa_snap_meta meta = {
		.vm_name = info->vm_name[0] ? info->vm_name : NULL,
		.vm_uuid = info->has_uuid ? info->vm_uuid : NULL,
		.created_unix_ns = info->created_unix_ns,
		.producer = info->producer[0] ? info->producer : NULL,
	};
	const struct gisa_snap_opts opts = { .compress = compress };
	struct gisa_snap_info info2;
	struct gisa_snap_error err;
	struct gisa_image *img2 = NULL;
	uint8_t *file = NULL, *state2 = NULL, digest[GISA_SNAP_DIGEST_SIZE];
	size_t len, state2_len;
	int r;

	r = gisa_snap_encode(img, &meta, &opts, &file, &len);
	if (r == -ENOMEM)
		return;
	fuzz_check(r == 0, "decoded image does not encode: %d", r);
	r = gisa_snap_decode(file, len, &img2, &info2, &err);
	fuzz_check(r == 0, "re-encoded file does not decode: %d %s", r, err.msg);
	fuzz_check(gisa_snap_state_bytes(img2, &state2, &state2_len) == 0,
		   "re-decoded image has no state bytes");
	fuzz_check(state2_len == state_len && memcmp(state, state2, state_len) == 0,
		   "round trip changed the state (%zu -> %zu bytes)", state_len, state2_len);
	fuzz_check(gisa_snap_digest(img, digest) == 0, "no digest");
	fuzz_check(memcmp(digest, info2.digest, sizeof(digest)) == 0,
		   "re-encoded file's digest is not the image's");
	fuzz_check(strcmp(info2.vm_name, info->vm_name) == 0 &&
			   info2.has_uuid == info->has_uuid &&
			   info2.created_unix_ns == info->created_unix_ns,
		   "round trip changed the header");
	free(state2);
	free(file);
	gisa_image_free(img2);
}

/* The same answer from the file's head and tail as from all of it. */
static void info_head_agrees(const uint8_t *data, size_t size, int ri,
			     const struct gisa_snap_info *in, const struct gisa_snap_error *ierr)
{
	size_t n = size < GISA_SNAP_MAX_HEAD ? size : GISA_SNAP_MAX_HEAD;
	const uint8_t *digest = size >= GISA_SNAP_DIGEST_SIZE ?
					data + size - GISA_SNAP_DIGEST_SIZE : NULL;
	struct gisa_snap_info h;
	struct gisa_snap_error err;
	int r = gisa_snap_info_head(data, n, size, digest, &h, &err);

	if (r == -ENOMEM || ri == -ENOMEM)
		return;
	fuzz_check(r == ri, "info_head answers %d, info %d", r, ri);
	if (r) {
		fuzz_check(strcmp(err.msg, ierr->msg) == 0, "info_head says `%s', info `%s'",
			   err.msg, ierr->msg);
		return;
	}
	fuzz_check(h.format_version == in->format_version &&
			   h.min_reader_version == in->min_reader_version && h.flags == in->flags &&
			   h.header_len == in->header_len && h.state_len == in->state_len &&
			   h.payload_len == in->payload_len && h.profile == in->profile &&
			   h.caps == in->caps && h.has_uuid == in->has_uuid &&
			   h.created_unix_ns == in->created_unix_ns &&
			   h.compression_level == in->compression_level &&
			   !memcmp(h.digest, in->digest, sizeof(h.digest)) &&
			   !memcmp(h.vm_uuid, in->vm_uuid, sizeof(h.vm_uuid)) &&
			   !strcmp(h.vm_name, in->vm_name) && !strcmp(h.producer, in->producer),
		   "info_head and info disagree on the fields");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gisa_snap_info info, hinfo;
	struct gisa_snap_error err, ierr;
	struct gisa_image *img = NULL;
	uint8_t *state = NULL;
	size_t state_len;
	int r, ri;

	ri = gisa_snap_info(data, size, &hinfo, &ierr);
	info_head_agrees(data, size, ri, &hinfo, &ierr);
	r = gisa_snap_decode(data, size, &img, &info, &err);
	if (r != 0) {
		fuzz_check(img == NULL, "decode failed (%d) but returned an image", r);
		fuzz_check(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -E2BIG ||
				   r == -EINVAL || r == -ENOMEM,
			   "decode returned %d, not a documented error", r);
		fuzz_check(memchr(err.msg, '\0', sizeof(err.msg)) != NULL,
			   "error message not terminated");
		return 0;
	}
	fuzz_check(ri == 0, "decode accepts what info refuses (%d)", ri);
	fuzz_check(hinfo.format_version == info.format_version && hinfo.flags == info.flags &&
			   hinfo.state_len == info.state_len &&
			   hinfo.payload_len == info.payload_len,
		   "info and decode disagree on the container");
	fuzz_check(fuzz_image_ok(img), "decoded image fails gisa_image_check");
	r = gisa_snap_state_bytes(img, &state, &state_len);
	if (r == 0) {
		reencode(img, &info, state, state_len, false);
		reencode(img, &info, state, state_len, true);
	} else {
		fuzz_check(r == -ENOMEM, "decoded image has no state bytes: %d", r);
	}
	free(state);
	gisa_image_free(img);
	return 0;
}
