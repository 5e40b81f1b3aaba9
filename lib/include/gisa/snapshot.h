/* SPDX-License-Identifier: MIT */
/*
 * Snapshot files: a VM image (image.h) in the gisa.v1 protobuf schema,
 * canonically encoded, optionally zstd-compressed, in a checked container.
 * The byte layout is drawn in docs/SNAPSHOT-FORMAT.md and in codec.c.
 *
 * The state digest is SHA-256 over the canonical encoding of the State
 * message alone (the header is excluded), so equal states have equal
 * digests across hosts and versions; it is also the container's integrity
 * check over the stored state bytes.
 */
#ifndef GISA_SNAPSHOT_H
#define GISA_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This writer's format version, and the newest minimum this reader accepts. */
#define GISA_SNAP_FORMAT_VERSION   1u
#define GISA_SNAP_READER_VERSION   1u

#define GISA_SNAP_DIGEST_SIZE      32u
#define GISA_SNAP_PREAMBLE_SIZE    44u
#define GISA_SNAP_MAX_HEADER       (64u << 10)
/* Preamble and largest header: what gisa_snap_info_head needs at most. */
#define GISA_SNAP_MAX_HEAD         (GISA_SNAP_PREAMBLE_SIZE + GISA_SNAP_MAX_HEADER)
/* Largest canonical state: lists, routes, maps and 8192 pages, rounded up. */
#define GISA_SNAP_MAX_STATE        (64u << 20)
#define GISA_SNAP_MAX_NAME         255u
#define GISA_SNAP_MAX_PRODUCER     255u
#define GISA_SNAP_DEFAULT_LEVEL    1   /* measured: level 3 saves 0.1 % for 45 % more time */
/* zstd window of the payload frame (format v1): readers refuse larger ones. */
#define GISA_SNAP_ZSTD_WINDOW_LOG  20

#define GISA_SNAP_FLAG_ZSTD        0x1u

struct gisa_snap_meta {
	const char *vm_name;                /* NULL = none; <= 255 bytes */
	const uint8_t *vm_uuid;             /* 16 bytes, or NULL */
	uint64_t created_unix_ns;
	const char *producer;               /* NULL = "gisad <version>" */
};

struct gisa_snap_opts {
	bool compress;                      /* zstd; files default to true */
	int level;                          /* zstd level; 0 = default */
};

/* What the container and its header say. */
struct gisa_snap_info {
	uint16_t format_version;
	uint16_t min_reader_version;
	uint32_t flags;
	uint32_t header_len;
	uint64_t state_len;
	uint64_t payload_len;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	enum gisa_profile profile;          /* required of the destination */
	uint32_t caps;
	char vm_name[GISA_SNAP_MAX_NAME + 1];
	bool has_uuid;
	uint8_t vm_uuid[16];
	uint64_t created_unix_ns;
	char producer[GISA_SNAP_MAX_PRODUCER + 1];
	int compression_level;
};

/* A decoding error: a sentence naming what failed, where, and the value. */
struct gisa_snap_error {
	char msg[256];
};

/*
 * The canonical encoding of the image's State message (malloc'd) and its
 * digest.  The image must pass gisa_image_check (-EINVAL otherwise).
 */
int gisa_snap_state_bytes(const struct gisa_image *img, uint8_t **ret, size_t *ret_len);
int gisa_snap_digest(const struct gisa_image *img, uint8_t ret[GISA_SNAP_DIGEST_SIZE]);

/* A complete snapshot file (malloc'd).  opts NULL = compressed, default level. */
int gisa_snap_encode(const struct gisa_image *img, const struct gisa_snap_meta *meta,
		     const struct gisa_snap_opts *opts, uint8_t **ret_buf, size_t *ret_len);

/*
 * An image's canonical state bytes and their digest, made once for the
 * callers that need them more than once (a migration encodes, diffs and
 * hashes the same image): gisa_snap_encode_state, gisa_delta_make_states
 * and gisa_delta_apply_states take one instead of encoding and hashing the
 * image again.  A state belongs to the image it was made from, unchanged
 * since; the caller keeps the two together.
 */
struct gisa_snap_state {
	uint8_t *bytes;                     /* malloc'd; NULL: none made */
	size_t len;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
};

/* Make img's state (the errors of gisa_snap_state_bytes). */
int gisa_snap_state_make(const struct gisa_image *img, struct gisa_snap_state *ret);
/* Free its bytes and clear it (NULL, or one never made: nothing). */
void gisa_snap_state_release(struct gisa_snap_state *st);
/* gisa_snap_encode of img whose state st is: the same bytes, without re-encoding or hashing. */
int gisa_snap_encode_state(const struct gisa_image *img, const struct gisa_snap_state *st,
			   const struct gisa_snap_meta *meta, const struct gisa_snap_opts *opts,
			   uint8_t **ret_buf, size_t *ret_len);

/*
 * Read a snapshot file: container, header, payload, digest, State, then the
 * image's structural checks (gisa_image_check).  Every length is checked
 * against its cap before anything is allocated, and decoding allocates at
 * most a budget derived from the declared state length.  ret_info may be
 * NULL.  Errors: -EBADMSG (malformed, with err naming field and value),
 * -EPROTONOSUPPORT (needs a newer reader), -E2BIG (a length over its cap),
 * -EINVAL (a state the model refuses), -ENOMEM.
 */
int gisa_snap_decode(const uint8_t *buf, size_t len, struct gisa_image **ret_img,
		     struct gisa_snap_info *ret_info, struct gisa_snap_error *err);

/*
 * gisa_snap_decode, and the image's state taken from the file itself: the
 * state bytes the container's digest covers (a copy, or the decompressed
 * buffer; never aliasing buf) and that digest, which the decoder checked,
 * with no encoding or hashing beyond the decoder's.  A file written from
 * an image (gisa_snap_encode, gisa_snap_encode_state) holds its canonical
 * state, so this is what gisa_snap_state_make would make of the decoded
 * image, without its cost; a file some other writer encoded differently
 * decodes to the same image, but its state is those other bytes, and its
 * digest not the one the image's canonical state has.  ret_state NULL:
 * gisa_snap_decode.  On error *ret_state is untouched.
 */
int gisa_snap_decode_state(const uint8_t *buf, size_t len, struct gisa_image **ret_img,
			   struct gisa_snap_state *ret_state, struct gisa_snap_info *ret_info,
			   struct gisa_snap_error *err);

/*
 * Decode and build a new VM on host in one step (all or nothing: on error
 * nothing is created and err names what failed, where, and the value).
 * The caller swaps it for its target only on success.
 */
int gisa_snap_import(const uint8_t *buf, size_t len, struct gisa_host *host,
		     struct gisa_vm **ret_vm, struct gisa_snap_info *ret_info,
		     struct gisa_snap_error *err);

/* Container and header only (no payload decoding, digest not verified). */
int gisa_snap_info(const uint8_t *buf, size_t len, struct gisa_snap_info *ret,
		   struct gisa_snap_error *err);

/*
 * gisa_snap_info of a file held only in part, for a caller that must not
 * read its payload (a listing of many files of up to 64 MiB each): head
 * is the file's first len bytes, at least its preamble and header
 * (min(size, GISA_SNAP_MAX_HEAD) bytes always are; more are ignored),
 * size the whole file's size, and digest its last GISA_SNAP_DIGEST_SIZE
 * bytes, the stored state digest (NULL: ret->digest is all zero).
 *
 * The checks and errors of gisa_snap_info, with size as the file's
 * length: the preamble, the lengths against size, the header check, the
 * header; and -EBADMSG ("truncated") if len ends before the header does.
 * Like gisa_snap_info it neither reads the payload nor verifies the
 * digest: a file whose payload or stored digest is damaged passes, with
 * the digest as stored; only decoding (gisa_snap_decode) finds that.
 * *ret is written only on success.
 */
int gisa_snap_info_head(const uint8_t *head, size_t len, uint64_t size, const uint8_t *digest,
			struct gisa_snap_info *ret, struct gisa_snap_error *err);

/*
 * The size of the snapshot file whose preamble starts buf, 44 + H + P + 32,
 * from the preamble alone (len >= 44; nothing after the preamble is read):
 * for a file stored with bytes after it, such as one written into a
 * preallocated slot.  Nothing is verified beyond the preamble's own checks
 * (magic, versions, flags, caps: the errors of gisa_snap_info's container
 * checks); decode the file to trust it.
 */
int gisa_snap_size(const uint8_t *buf, size_t len, uint64_t *ret, struct gisa_snap_error *err);

/*
 * The bytes of the file whose preamble starts buf that gisa_snap_info_head
 * needs, 44 + H (at most GISA_SNAP_MAX_HEAD), from the preamble alone
 * (len >= 44), with gisa_snap_size's checks and errors.
 */
int gisa_snap_head_size(const uint8_t *buf, size_t len, size_t *ret,
			struct gisa_snap_error *err);

/*
 * Recompute the header check and the state digest of a (possibly mutated)
 * file in place, so that corruption tests reach the payload decoder and the
 * validator.  The errors of gisa_snap_info's container checks (-EBADMSG,
 * -EPROTONOSUPPORT, -E2BIG) if it cannot be parsed, or -EBADMSG if the
 * payload does not decompress; the file is changed only on success.  (A build
 * with -Dsnapshot_recompute_digest=true does the same inside the decoder,
 * for fuzzers.)
 */
int gisa_snap_reseal(uint8_t *buf, size_t len);

struct gisa_diff;
/*
 * The semantic diff (diff.h) of two snapshot files.  Both are decoded
 * (every check of gisa_snap_decode: a damaged payload is an error, never
 * equal); equal digests then make an empty diff without comparing the
 * images, other digests the images' diff.
 */
int gisa_snap_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		   struct gisa_diff **ret, struct gisa_snap_error *err);

/*
 * The length of the well-formed UTF-8 sequence at s (1 for ASCII, NUL
 * included; no overlongs, surrogates or code points over U+10FFFF), or 0:
 * the header's text fields must be UTF-8 (protobuf strings).
 */
size_t gisa_utf8_len(const unsigned char *s);

/* Lower-case hex of a digest into out (65 bytes). */
void gisa_snap_digest_hex(const uint8_t digest[GISA_SNAP_DIGEST_SIZE], char out[65]);

#ifdef __cplusplus
}
#endif

#endif
