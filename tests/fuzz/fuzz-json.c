/* SPDX-License-Identifier: MIT */
/*
 * The JSON form of an image (gisa_json_to_image).
 *
 * Invariants: a refusal names a known error kind and leaves no image; an
 * accepted text's image passes gisa_image_check and writes (compact and
 * pretty) a canonical text that reads back to the same state bytes and,
 * written again, to the same text (docs/SNAPSHOT-JSON.md: lossless both
 * ways, canonical).
 */
#include <gisa/json.h>
#include <gisa/snapshot.h>

#include "fuzz.h"

static void roundtrip(const struct gisa_image *img, const struct gisa_json_meta *meta,
		      unsigned flags)
{
	struct gisa_json_meta meta2;
	struct gisa_json_error err;
	struct gisa_image *img2 = NULL;
	char *t1 = NULL, *t2 = NULL;
	uint8_t *s1 = NULL, *s2 = NULL;
	size_t l1, l2, n1, n2;
	int r;

	r = gisa_json_from_image(img, meta, flags, &t1, &l1);
	if (r == -ENOMEM)
		return;
	fuzz_check(r == 0, "accepted image does not write as JSON: %d", r);
	r = gisa_json_to_image(t1, l1, &img2, &meta2, &err);
	fuzz_check(r == 0, "written JSON does not read back: %d %s at %s: %s", r,
		   gisa_json_errkind_name(err.kind), err.path, err.expected);
	fuzz_check(strcmp(meta->name, meta2.name) == 0 && meta->has_uuid == meta2.has_uuid &&
			   meta->created_unix_ns == meta2.created_unix_ns &&
			   strcmp(meta->producer, meta2.producer) == 0,
		   "meta changed in the round trip");
	fuzz_check(gisa_snap_state_bytes(img, &s1, &n1) == 0 &&
			   gisa_snap_state_bytes(img2, &s2, &n2) == 0,
		   "no state bytes");
	fuzz_check(n1 == n2 && memcmp(s1, s2, n1) == 0, "JSON round trip changed the state");
	fuzz_check(gisa_json_from_image(img2, &meta2, flags, &t2, &l2) == 0, "second write");
	fuzz_check(l1 == l2 && memcmp(t1, t2, l1) == 0, "JSON text is not canonical");
	free(s1);
	free(s2);
	free(t1);
	free(t2);
	gisa_image_free(img2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gisa_json_meta meta;
	struct gisa_json_error err;
	struct gisa_image *img = NULL;
	int r;

	r = gisa_json_to_image((const char *)data, size, &img, &meta, &err);
	if (r != 0) {
		fuzz_check(img == NULL, "refused (%d) but returned an image", r);
		fuzz_check(r == -EINVAL || r == -E2BIG || r == -ENOMEM,
			   "returned %d, not a documented error", r);
		fuzz_check(r == -ENOMEM || gisa_json_errkind_name(err.kind) != NULL,
			   "unnamed error kind %d", (int)err.kind);
		fuzz_check(memchr(err.path, '\0', sizeof(err.path)) &&
				   memchr(err.value, '\0', sizeof(err.value)) &&
				   memchr(err.expected, '\0', sizeof(err.expected)),
			   "error strings not terminated");
		return 0;
	}
	fuzz_check(fuzz_image_ok(img), "accepted image fails gisa_image_check");
	roundtrip(img, &meta, GISA_JSON_COMPACT);
	roundtrip(img, &meta, GISA_JSON_PRETTY);
	gisa_image_free(img);
	return 0;
}
