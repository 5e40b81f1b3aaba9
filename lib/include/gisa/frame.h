/* SPDX-License-Identifier: MIT */
/*
 * Length-prefixed frames for a byte stream (the TLS connection between two
 * gisad migrating a VM; docs/MIGRATION-PROTOCOL.md, "Framing").  No event
 * loop here: the daemon feeds the decoder from its bufferevent and writes
 * what the encoder produces.
 *
 * A frame is an 8-byte header and a payload.  Every integer is big-endian.
 *
 *     +0       +1       +2       +3       +4       +5       +6       +7
 *   +--------+--------+--------+--------+-----------------------------------+
 *   | magic  | version|  type  | flags  |       payload length (u32)        |
 *   |  0xa7  |   1    |        |   0    |                                   |
 *   +--------+--------+--------+--------+-----------------------------------+
 *   | payload: `length` bytes ...
 *
 * Types and their payloads:
 *   MSG    1  one encoded gisa.v1.MigMessage (proto/gisa/v1/migration.proto);
 *             1 .. max_msg bytes
 *   CHUNK  2  a piece of a bulk object:
 *               +0 stream (u32)  +4 seq (u32)  +8 offset (u64)  +16 data ...
 *             with 1 .. max_frame - 16 data bytes
 *   END    3  the end of a bulk object, exactly 48 bytes:
 *               +0 stream (u32)  +4 chunks (u32)  +8 total (u64)
 *               +16 SHA-256 of the object's bytes (32)
 *
 * Bulk objects (snapshot files, deltas) travel as one stream: a MSG that
 * announces it (stream id, size), then CHUNK frames with seq 0, 1, 2, ...
 * whose offsets are contiguous from 0, then END with the number of chunks,
 * the total length and the digest.  Stream ids are chosen by the sender,
 * start at 1 and strictly increase on a connection; one stream is open at
 * a time per direction.
 *
 * Every length is checked against a cap before anything is allocated:
 * the header's payload length against the reader's limits (a reader picks
 * its own, at most GISA_FRAME_MAX), a reassembled object against its
 * announced size and the reassembler's cap; buffers then grow with the
 * bytes that actually arrive, so a peer that announces much and sends
 * little costs little memory.
 *
 * Errors are negative errno values with a sentence in struct
 * gisa_frame_error naming the field and the value: -EBADMSG (malformed:
 * magic, type, flags, a length a type cannot have, chunk order, offsets,
 * totals, digest), -EPROTONOSUPPORT (a frame version this reader does not
 * speak), -E2BIG (a length over its cap), -ENOMEM, -EINVAL (a caller's
 * mistake).
 *
 * Versioning: GISA_FRAME_VERSION changes when the header or the CHUNK/END
 * payload layout changes, together with MIG_PROTOCOL_VERSION; the hello
 * exchange is always sent in version 1 frames, so peers can agree first.
 */
#ifndef GISA_FRAME_H
#define GISA_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GISA_FRAME_MAGIC          0xa7u   /* not ASCII, not a TLS record type */
#define GISA_FRAME_VERSION        1u
#define GISA_FRAME_HEADER_SIZE    8u

enum gisa_frame_type {
	GISA_FRAME_MSG = 1,
	GISA_FRAME_CHUNK = 2,
	GISA_FRAME_END = 3,
};

#define GISA_FRAME_CHUNK_HEADER   16u     /* stream, seq, offset */
#define GISA_FRAME_END_SIZE       48u     /* stream, chunks, total, SHA-256 */
#define GISA_FRAME_DIGEST_SIZE    32u

/*
 * The largest payload any reader accepts (limits above it are refused):
 * a 16 MiB chunk of data with room for its chunk header.
 */
#define GISA_FRAME_MAX            ((16u << 20) + (64u << 10))
/* Default cap of a MSG frame's payload: MigMessages are small. */
#define GISA_FRAME_MSG_MAX        (1u << 20)
/* Smallest limit a reader may set (END frames must fit). */
#define GISA_FRAME_LIMIT_MIN      64u
/* Data bytes per CHUNK frame a sender uses by default. */
#define GISA_FRAME_CHUNK_DEFAULT  (256u << 10)
/*
 * Default cap of one reassembled object: a snapshot file or a delta at the
 * snapshot caps (64 MiB of state, zstd's worst-case expansion, a 64 KiB
 * header), with room.
 */
#define GISA_FRAME_OBJECT_MAX     ((uint64_t)72 << 20)
/* Header and fixed payload part written by gisa_chunker_next: at most END. */
#define GISA_FRAME_PREFIX_MAX     (GISA_FRAME_HEADER_SIZE + GISA_FRAME_END_SIZE)

/* A refused frame or object: a sentence naming the field and the value. */
struct gisa_frame_error {
	char msg[192];
};

/* What a reader accepts.  0 selects the default; see gisa_frame_limits_check. */
struct gisa_frame_limits {
	uint32_t max_frame;      /* payload of any frame; default GISA_FRAME_MAX */
	uint32_t max_msg;        /* payload of a MSG frame; default GISA_FRAME_MSG_MAX */
};

/*
 * Resolve defaults (lim NULL = all defaults) into *ret: -EINVAL when a
 * limit is below GISA_FRAME_LIMIT_MIN or above GISA_FRAME_MAX, or max_msg
 * exceeds max_frame.
 */
int gisa_frame_limits_check(const struct gisa_frame_limits *lim, struct gisa_frame_limits *ret);

/* "MSG", "CHUNK", "END", or "unknown". */
const char *gisa_frame_type_name(unsigned type);

/* ---- headers ----------------------------------------------------------- */

struct gisa_frame_header {
	uint8_t version;
	uint8_t type;
	uint8_t flags;
	uint32_t len;            /* payload bytes */
};

/*
 * Check an 8-byte header against limits (NULL = defaults), in this order:
 * magic, version, type, flags, then the length: over its cap (max_msg for
 * MSG, max_frame otherwise) -E2BIG, a length the type cannot have
 * (MSG 0, CHUNK without data, END not 48) -EBADMSG.  For a daemon that
 * peeks at headers in its own buffers; the decoder uses it.
 */
int gisa_frame_header_parse(const uint8_t hdr[GISA_FRAME_HEADER_SIZE],
			    const struct gisa_frame_limits *lim, struct gisa_frame_header *ret,
			    struct gisa_frame_error *err);

/* Write a current-version header (flags 0). */
void gisa_frame_header_write(uint8_t hdr[GISA_FRAME_HEADER_SIZE], enum gisa_frame_type type,
			     uint32_t len);

/* ---- decoding a stream --------------------------------------------------- */

/* A whole frame.  payload is valid until the next call on its decoder. */
struct gisa_frame {
	uint8_t type;
	uint8_t flags;
	uint32_t len;
	const uint8_t *payload;
};

struct gisa_frame_decoder;

/* lim NULL = defaults.  -EINVAL (limits, see gisa_frame_limits_check), -ENOMEM. */
int gisa_frame_decoder_new(const struct gisa_frame_limits *lim,
			   struct gisa_frame_decoder **ret);
/* Accepts NULL; returns NULL. */
struct gisa_frame_decoder *gisa_frame_decoder_free(struct gisa_frame_decoder *d);

/*
 * Feed bytes of the stream, in chunks of any size (one byte at a time
 * works).  Consumes bytes up to the end of the first frame that completes
 * and returns 1 with the frame in *ret, or consumes all len bytes and
 * returns 0; *ret_used says how many bytes were consumed.  Call again with
 * the rest.  On an error the stream cannot be resynchronized: the decoder
 * returns the same error (and message) from then on.
 */
int gisa_frame_decode(struct gisa_frame_decoder *d, const uint8_t *buf, size_t len,
		      size_t *ret_used, struct gisa_frame *ret, struct gisa_frame_error *err);

/* Bytes of an incomplete frame held (header and payload so far). */
size_t gisa_frame_decoder_pending(const struct gisa_frame_decoder *d);
/* Bytes allocated for payloads right now. */
size_t gisa_frame_decoder_capacity(const struct gisa_frame_decoder *d);

/* ---- encoding ------------------------------------------------------------ */

/*
 * One frame into buf (cap bytes); *ret_len = the frame's size, also when
 * it does not fit (-ENOBUFS, nothing written).  The payload must have a
 * length its type can have and at most GISA_FRAME_MAX bytes (-EINVAL,
 * -E2BIG); the peer's limits are the caller's business.
 */
int gisa_frame_encode(uint8_t *buf, size_t cap, enum gisa_frame_type type, const void *payload,
		      size_t len, size_t *ret_len);

/* A growable output buffer; zero-initialize it. */
struct gisa_fbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

/* Append one frame (the checks of gisa_frame_encode); -ENOMEM. */
int gisa_fbuf_put(struct gisa_fbuf *b, enum gisa_frame_type type, const void *payload,
		  size_t len);
/* Forget the contents, keep the memory. */
void gisa_fbuf_clear(struct gisa_fbuf *b);
/* Free the memory and zero *b. */
void gisa_fbuf_release(struct gisa_fbuf *b);

/* ---- chunk and end payloads ---------------------------------------------- */

struct gisa_frame_chunk {
	uint32_t stream;
	uint32_t seq;
	uint64_t offset;
	const uint8_t *data;     /* into the frame's payload */
	uint32_t len;
};

struct gisa_frame_end {
	uint32_t stream;
	uint32_t chunks;         /* CHUNK frames of the stream */
	uint64_t total;          /* bytes of the object */
	uint8_t sha256[GISA_FRAME_DIGEST_SIZE];
};

/* Split a CHUNK / END frame's payload; -EBADMSG (wrong type or length, stream 0). */
int gisa_frame_chunk_parse(const struct gisa_frame *f, struct gisa_frame_chunk *ret,
			   struct gisa_frame_error *err);
int gisa_frame_end_parse(const struct gisa_frame *f, struct gisa_frame_end *ret,
			 struct gisa_frame_error *err);

/* Append a CHUNK frame (1 .. GISA_FRAME_MAX - 16 data bytes, stream != 0). */
int gisa_fbuf_put_chunk(struct gisa_fbuf *b, uint32_t stream, uint32_t seq, uint64_t offset,
			const void *data, size_t len);
/* Append an END frame (stream != 0). */
int gisa_fbuf_put_end(struct gisa_fbuf *b, const struct gisa_frame_end *end);

/* ---- sending an object --------------------------------------------------- */

/*
 * The frames of one object, produced one at a time so that a daemon can
 * write them as its output drains: each CHUNK as a prefix (frame header
 * and chunk header) plus a pointer into the object, which a bufferevent
 * can add by reference; the END frame entirely in the prefix.  The object
 * must stay unchanged until the END frame was produced.
 */
struct gisa_frame_out {
	uint8_t head[GISA_FRAME_PREFIX_MAX];
	size_t head_len;
	const uint8_t *data;     /* NULL for END */
	size_t data_len;
};

struct gisa_chunker;

/*
 * chunk = data bytes per CHUNK frame (0 = GISA_FRAME_CHUNK_DEFAULT; at most
 * GISA_FRAME_MAX - GISA_FRAME_CHUNK_HEADER, and no more than the peer's
 * max_frame - 16).  -EINVAL (stream 0, chunk too large, data NULL with
 * len > 0), -E2BIG (len over GISA_FRAME_OBJECT_MAX), -ENOMEM.
 */
int gisa_chunker_new(uint32_t stream, const void *data, size_t len, size_t chunk,
		     struct gisa_chunker **ret);
/* Accepts NULL; returns NULL. */
struct gisa_chunker *gisa_chunker_free(struct gisa_chunker *c);

/*
 * The next frame into *out: returns 1 if more frames follow, 0 if this was
 * the END frame, -EINVAL when called after END, -EIO if hashing failed.
 */
int gisa_chunker_next(struct gisa_chunker *c, struct gisa_frame_out *out);
/* Append the next frame to b; returns as gisa_chunker_next, or -ENOMEM. */
int gisa_fbuf_put_next(struct gisa_fbuf *b, struct gisa_chunker *c);
/* Object bytes put into frames so far (progress). */
uint64_t gisa_chunker_sent(const struct gisa_chunker *c);
/* The object's SHA-256, once the END frame was produced; -EINVAL before. */
int gisa_chunker_digest(const struct gisa_chunker *c, uint8_t out[GISA_FRAME_DIGEST_SIZE]);

/* ---- receiving an object --------------------------------------------------- */

/* gisa_reasm_begin: the announcing message gave no size. */
#define GISA_REASM_ANY            UINT64_MAX

struct gisa_reasm;

/* max_object 0 = GISA_FRAME_OBJECT_MAX.  -EINVAL (over it), -ENOMEM. */
int gisa_reasm_new(uint64_t max_object, struct gisa_reasm **ret);
/* Accepts NULL; returns NULL. */
struct gisa_reasm *gisa_reasm_free(struct gisa_reasm *r);

/*
 * Open stream `stream`, announced with `expected` bytes (GISA_REASM_ANY:
 * only the cap applies).  -EBUSY (a stream is open, or a finished object
 * was not taken), -EBADMSG (stream 0 or not above the last one), -E2BIG
 * (expected over the cap).
 */
int gisa_reasm_begin(struct gisa_reasm *r, uint32_t stream, uint64_t expected,
		     struct gisa_frame_error *err);

/*
 * Take a CHUNK or END frame of the open stream.  A CHUNK returns 0 after
 * checking, in this order: a stream is open and it is this one, seq is the
 * next (a lower one is a duplicate, a higher one means some are missing),
 * the offset is the bytes received so far, and the object stays within
 * its announced size and the cap (-E2BIG, before growing anything).  An
 * END returns 1 when the stream, the number of chunks, the total (the
 * bytes received, and the announced size) and the SHA-256 all agree; the
 * object then waits for gisa_reasm_take.  Any error discards the open
 * stream (the last stream id is kept).  -EINVAL for a MSG frame.
 */
int gisa_reasm_feed(struct gisa_reasm *r, const struct gisa_frame *f,
		    struct gisa_frame_error *err);

/*
 * Hand over the finished object (malloc'd; NULL when it is empty) and its
 * SHA-256 (ret_sha256 may be NULL).  -ENODATA if no object is finished.
 */
int gisa_reasm_take(struct gisa_reasm *r, uint8_t **ret_buf, size_t *ret_len,
		    uint8_t ret_sha256[GISA_FRAME_DIGEST_SIZE]);

/* Discard the open stream or the untaken object (the peer aborted). */
void gisa_reasm_cancel(struct gisa_reasm *r);

/* A stream is open (begun, not yet ended or failed). */
bool gisa_reasm_open(const struct gisa_reasm *r);
/* Bytes received of the open stream. */
uint64_t gisa_reasm_received(const struct gisa_reasm *r);
/* Bytes allocated right now. */
size_t gisa_reasm_capacity(const struct gisa_reasm *r);

/* ---- the switchover digest chain (docs/MIGRATION-PROTOCOL.md) ------------- */

#define GISA_FRAME_MIGRATION_ID_SIZE 16u

/* C_-1 = SHA-256("gisa-migration-chain-v1" || migration_id).  -EIO, -ENOMEM. */
int gisa_frame_chain_init(const uint8_t id[GISA_FRAME_MIGRATION_ID_SIZE],
			  uint8_t out[GISA_FRAME_DIGEST_SIZE]);
/*
 * C_r = SHA-256(C_r-1 || round (u32 BE) || D(I_r)), D the state digest of
 * the image after round r.  out may alias prev.  -EIO, -ENOMEM.
 */
int gisa_frame_chain_next(const uint8_t prev[GISA_FRAME_DIGEST_SIZE], uint32_t round,
			  const uint8_t state_digest[GISA_FRAME_DIGEST_SIZE],
			  uint8_t out[GISA_FRAME_DIGEST_SIZE]);

#ifdef __cplusplus
}
#endif

#endif
