/* SPDX-License-Identifier: MIT */
/*
 * The migration stream: the frame decoder fed in pieces, CHUNK/END frames
 * into the reassembler, MSG payloads through the generated MigMessage
 * decoder under the daemon's budget (daemon/mig-link.c).
 *
 * Input: byte 0 = flags (bit 0: small reader limits; bits 1-3: number of
 * piece sizes, 0-7), then that many piece sizes (0 = the rest at once), then
 * the stream bytes, fed in pieces of those sizes in turn.
 *
 * Invariants: every frame the decoder returns re-encodes to exactly the
 * bytes it was read from; a MigMessage that decodes packs to bytes that
 * decode and pack the same; every budget allocation is freed; the
 * reassembler never holds more than it was fed.
 */
#include <gisa/frame.h>

#include "fuzz-pb.h"
#include "migration.pb-c.h"

/* daemon/mig.h: MIG_DECODE_FLOOR, MIG_DECODE_FACTOR (keep in step). */
#define FUZZ_MIG_DECODE_FLOOR  (64u << 10)
#define FUZZ_MIG_DECODE_FACTOR 32u

static void msg(const struct gisa_frame *f)
{
	struct fuzz_budget b = {
		.left = FUZZ_MIG_DECODE_FLOOR + (size_t)FUZZ_MIG_DECODE_FACTOR * f->len,
	};
	ProtobufCAllocator alloc = { fuzz_budget_alloc, fuzz_budget_free, &b };
	Gisa__V1__MigMessage *m, *m2;
	uint8_t *p1, *p2;
	size_t n1, n2;

	m = gisa__v1__mig_message__unpack(&alloc, f->len, f->payload);
	if (!m) {
		fuzz_check(b.live == 0, "failed unpack leaked %zu allocations", b.live);
		return;
	}
	n1 = gisa__v1__mig_message__get_packed_size(m);
	/* Unknown fields do not round-trip through protobuf-c (fuzz-pb.h). */
	p1 = fuzz_pb_walk(&m->base, 0) ? NULL : malloc(n1 ? n1 : 1);
	if (p1) {
		fuzz_check(gisa__v1__mig_message__pack(m, p1) == n1, "pack size mismatch");
		m2 = gisa__v1__mig_message__unpack(NULL, n1, p1);
		fuzz_check(m2 != NULL, "packed MigMessage does not unpack (%zu bytes)", n1);
		n2 = gisa__v1__mig_message__get_packed_size(m2);
		p2 = malloc(n2 ? n2 : 1);
		if (p2) {
			gisa__v1__mig_message__pack(m2, p2);
			fuzz_check(n1 == n2 && memcmp(p1, p2, n1) == 0,
				   "MigMessage pack/unpack is not stable");
			free(p2);
		}
		gisa__v1__mig_message__free_unpacked(m2, NULL);
		free(p1);
	}
	gisa__v1__mig_message__free_unpacked(m, &alloc);
	fuzz_check(b.live == 0, "free_unpacked left %zu allocations", b.live);
}

static void bulk(struct gisa_reasm *r, const struct gisa_frame *f, uint64_t *fed)
{
	struct gisa_frame_chunk c;
	struct gisa_frame_end e = { 0 };
	struct gisa_frame_error err;
	uint8_t *obj = NULL, sha[GISA_FRAME_DIGEST_SIZE];
	size_t len;
	int rr;

	if (f->type == GISA_FRAME_CHUNK) {
		if (gisa_frame_chunk_parse(f, &c, &err))
			return;
		fuzz_check(c.len == f->len - GISA_FRAME_CHUNK_HEADER, "chunk length");
		/* The announcing MSG is the daemon's; open on a stream's first chunk. */
		if (!gisa_reasm_open(r) && c.seq == 0)
			gisa_reasm_begin(r, c.stream, GISA_REASM_ANY, &err);
		*fed += c.len;
	} else if (gisa_frame_end_parse(f, &e, &err)) {
		return;
	}
	rr = gisa_reasm_feed(r, f, &err);
	fuzz_check(gisa_reasm_received(r) <= *fed, "reassembler holds more than it was fed");
	if (rr == 1) {
		fuzz_check(gisa_reasm_take(r, &obj, &len, sha) == 0, "finished object not taken");
		fuzz_check(len == e.total, "object of %zu bytes, END said %llu", len,
			   (unsigned long long)e.total);
		free(obj);
		*fed = 0;
	} else if (rr < 0) {
		fuzz_check(!gisa_reasm_open(r), "failed feed left the stream open");
		*fed = 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	unsigned npieces = (flags >> 1) & 7, piece = 0;
	size_t pieces[7];
	const struct gisa_frame_limits small = { .max_frame = 4096, .max_msg = 1024 };
	struct gisa_frame_decoder *d = NULL;
	struct gisa_reasm *r = NULL;
	size_t pos, start;
	uint64_t fed = 0;

	for (unsigned i = 0; i < npieces; i++)
		pieces[i] = fuzz_u8(&in);
	if (gisa_frame_decoder_new(flags & 1 ? &small : NULL, &d) ||
	    gisa_reasm_new(flags & 1 ? 1u << 20 : 0, &r))
		goto out;
	pos = start = 0;
	while (pos < in.n) {
		size_t want = npieces ? pieces[piece++ % npieces] : 0;
		size_t n = want && want < in.n - pos ? want : in.n - pos;
		struct gisa_frame f;
		struct gisa_frame_error err;
		size_t used = 0;
		int rd;

		rd = gisa_frame_decode(d, in.p + pos, n, &used, &f, &err);
		if (rd < 0)
			break;
		fuzz_check(used <= n, "decoder used %zu of %zu bytes", used, n);
		pos += used;
		if (rd == 0) {
			fuzz_check(used == n, "no frame but %zu of %zu bytes used", used, n);
			continue;
		}
		{
			uint8_t *enc = malloc(GISA_FRAME_HEADER_SIZE + f.len);
			size_t enc_len;

			fuzz_check(pos - start == GISA_FRAME_HEADER_SIZE + (size_t)f.len,
				   "frame of %u bytes read from %zu", f.len, pos - start);
			if (enc) {
				fuzz_check(gisa_frame_encode(enc, GISA_FRAME_HEADER_SIZE + f.len,
							     f.type, f.payload, f.len,
							     &enc_len) == 0,
					   "accepted frame does not encode");
				fuzz_check(memcmp(enc, in.p + start, enc_len) == 0,
					   "frame re-encodes differently");
				free(enc);
			}
		}
		start = pos;
		if (f.type == GISA_FRAME_MSG)
			msg(&f);
		else
			bulk(r, &f, &fed);
	}
out:
	gisa_reasm_free(r);
	gisa_frame_decoder_free(d);
	return 0;
}
