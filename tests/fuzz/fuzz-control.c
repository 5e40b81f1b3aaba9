/* SPDX-License-Identifier: MIT */
/*
 * Control requests: gisa.v1.Request decoded as the daemon decodes a
 * datagram (daemon/control.c handle_datagram): under a budget of
 * GISAD_DECODE_FLOOR + GISAD_DECODE_FACTOR * n bytes, for datagrams up to
 * the daemon's cap.  The daemon's dispatch is not a library; this covers
 * the protobuf decode and the field checks that every verb relies on.
 *
 * Invariants: a failed decode frees everything it allocated; a decoded
 * request has a valid oneof case, strings are NUL-terminated within
 * their allocation, repeated fields have non-NULL arrays when counted,
 * and (without unknown fields) packing it gives bytes that decode and
 * pack the same.
 */
#include "control.pb-c.h"
#include "fuzz-pb.h"

/* daemon/gisad.h (keep in step). */
#define FUZZ_DECODE_FACTOR 32u
#define FUZZ_DECODE_FLOOR  (64u << 10)

static bool known_verb(Gisa__V1__Request__VerbCase c)
{
	if (c == GISA__V1__REQUEST__VERB__NOT_SET)
		return true;
	for (unsigned i = 0; i < gisa__v1__request__descriptor.n_fields; i++)
		if (gisa__v1__request__descriptor.fields[i].id == (uint32_t)c)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_budget b = { .left = FUZZ_DECODE_FLOOR + (size_t)FUZZ_DECODE_FACTOR * size };
	ProtobufCAllocator alloc = { fuzz_budget_alloc, fuzz_budget_free, &b };
	Gisa__V1__Request *req, *req2;
	uint8_t *p1, *p2;
	size_t n1, n2, unknown;

	req = gisa__v1__request__unpack(&alloc, size, data);
	if (!req) {
		fuzz_check(b.live == 0, "failed unpack leaked %zu allocations", b.live);
		return 0;
	}
	fuzz_check(known_verb(req->verb_case), "verb case %d unknown", (int)req->verb_case);
	unknown = fuzz_pb_walk(&req->base, 0);
	n1 = gisa__v1__request__get_packed_size(req);
	p1 = unknown ? NULL : malloc(n1 ? n1 : 1);   /* fuzz-pb.h */
	if (p1) {
		fuzz_check(gisa__v1__request__pack(req, p1) == n1, "pack size mismatch");
		req2 = gisa__v1__request__unpack(NULL, n1, p1);
		fuzz_check(req2 != NULL, "packed request does not unpack");
		n2 = gisa__v1__request__get_packed_size(req2);
		p2 = malloc(n2 ? n2 : 1);
		if (p2) {
			gisa__v1__request__pack(req2, p2);
			fuzz_check(n1 == n2 && memcmp(p1, p2, n1) == 0,
				   "request pack/unpack is not stable");
			free(p2);
		}
		gisa__v1__request__free_unpacked(req2, NULL);
		free(p1);
	}
	gisa__v1__request__free_unpacked(req, &alloc);
	fuzz_check(b.live == 0, "free_unpacked left %zu allocations", b.live);
	return 0;
}
