/* SPDX-License-Identifier: MIT */
/*
 * Protobuf checks shared by the fuzz targets that decode messages: walk a
 * decoded message as its descriptor says (strings terminated, counted
 * arrays present, a sanitizer sees the rest) and count unknown fields.
 * protobuf-c keeps unknown fields (even field number 0) and packs them
 * back, but refuses some of them on the next unpack, so the targets'
 * pack/unpack round trip only applies to messages without any.
 */
#ifndef GISA_FUZZ_PB_H
#define GISA_FUZZ_PB_H

#include <protobuf-c/protobuf-c.h>

#include "fuzz.h"

static inline size_t fuzz_pb_walk(const ProtobufCMessage *m, unsigned depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t unknown = m->n_unknown_fields;

	fuzz_check(depth < 64, "message nesting beyond 64");
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		const void *member = base + f->offset;

		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			const void *arr = *(const void *const *)member;

			fuzz_check(n == 0 || arr != NULL, "%s.%s: %zu entries, no array",
				   d->name, f->name, n);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				for (size_t j = 0; j < n; j++)
					unknown += fuzz_pb_walk(((ProtobufCMessage *const *)arr)[j],
								depth + 1);
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t c = *(const uint32_t *)(const void *)(base + f->quantifier_offset);

			if (c != f->id)
				continue;
		}
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;

			if (sub)
				unknown += fuzz_pb_walk(sub, depth + 1);
		} else if (f->type == PROTOBUF_C_TYPE_STRING) {
			const char *s = *(const char *const *)member;

			if (s)
				(void)strlen(s);   /* a sanitizer sees an unterminated one */
		}
	}
	return unknown;
}

#endif
