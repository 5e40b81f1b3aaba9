/* SPDX-License-Identifier: MIT */
/*
 * Migration frames (lib/include/gisa/frame.h): the encoder and the
 * incremental decoder, object streams (chunker and reassembler) and the
 * switchover digest chain.
 *
 * Streams are built from the layout drawn in frame.h, by hand where a test
 * needs a malformed one, and decoded whole, one byte at a time and in
 * random pieces; every refusal must carry its exact error code and a
 * message naming the value.  Caps are proved to act before allocation by
 * watching every allocation of the process around the refused call.  A
 * MigMessage (the generated migration codec) travels in a MSG frame.  The
 * fuzz test feeds 10,000 random mutations of a valid stream through a
 * small daemon-like driver: nothing may crash, and the sanitizers of the
 * default test build report any leak or undefined behaviour.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include <gisa/frame.h>

#include "migration.pb-c.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KIB 1024u
#define MIB (1024u * 1024u)

#include "allocwatch.h"

/* ---- helpers ------------------------------------------------------------------ */

/* xorshift64*: reproducible randomness. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

static void sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	assert_int_equal(len, 32);
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

static void header(uint8_t *p, uint8_t magic, uint8_t version, uint8_t type, uint8_t flags,
		   uint32_t len)
{
	p[0] = magic;
	p[1] = version;
	p[2] = type;
	p[3] = flags;
	be32(p + 4, len);
}

/* A CHUNK frame's payload, by hand. */
static size_t chunk_payload(uint8_t *p, uint32_t stream, uint32_t seq, uint64_t off,
			    const uint8_t *data, size_t n)
{
	be32(p, stream);
	be32(p + 4, seq);
	be64(p + 8, off);
	memcpy(p + 16, data, n);
	return 16 + n;
}

static void end_payload(uint8_t *p, uint32_t stream, uint32_t chunks, uint64_t total,
			const uint8_t sha[32])
{
	be32(p, stream);
	be32(p + 4, chunks);
	be64(p + 8, total);
	memcpy(p + 16, sha, 32);
}

/* Append raw bytes to a frame buffer (the caller's side of gisa_frame_out). */
static int raw_append(struct gisa_fbuf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = 2 * (b->len + n);
		uint8_t *q = realloc(b->data, cap);

		if (!q)
			return -ENOMEM;
		b->data = q;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* A decoded frame, copied out of the decoder. */
struct got {
	uint8_t type;
	uint8_t flags;
	uint32_t len;
	uint8_t *payload;
};

struct got_list {
	struct got *f;
	size_t n;
	size_t cap;
};

static void got_add(struct got_list *l, const struct gisa_frame *f)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->f = realloc(l->f, l->cap * sizeof(*l->f));
		assert_non_null(l->f);
	}
	l->f[l->n].type = f->type;
	l->f[l->n].flags = f->flags;
	l->f[l->n].len = f->len;
	l->f[l->n].payload = malloc(f->len ? f->len : 1);
	assert_non_null(l->f[l->n].payload);
	memcpy(l->f[l->n].payload, f->payload, f->len);
	l->n++;
}

static void got_release(struct got_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->f[i].payload);
	free(l->f);
	memset(l, 0, sizeof(*l));
}

enum feed_mode { FEED_WHOLE, FEED_BYTES, FEED_RANDOM };

/*
 * Feed buf to a fresh decoder in pieces (whole, 1 byte, random sizes up to
 * max_piece), collecting the frames; returns the decoder's last result
 * (0: all consumed, nothing pending; negative: its error).
 */
static int decode_stream(const struct gisa_frame_limits *lim, const uint8_t *buf, size_t len,
			 enum feed_mode mode, size_t max_piece, struct got_list *out,
			 struct gisa_frame_error *err)
{
	struct gisa_frame_decoder *d = NULL;
	size_t pos = 0;
	int r = 0;

	assert_int_equal(gisa_frame_decoder_new(lim, &d), 0);
	while (pos < len) {
		size_t piece = len - pos, used;
		struct gisa_frame f;

		if (mode == FEED_BYTES)
			piece = 1;
		else if (mode == FEED_RANDOM && piece > 1)
			piece = 1 + rnd_below(piece < max_piece ? piece : max_piece);
		while (piece) {
			r = gisa_frame_decode(d, buf + pos, piece, &used, &f, err);
			if (r < 0)
				goto out;
			assert_true(used <= piece);
			pos += used;
			piece -= used;
			if (r == 1)
				got_add(out, &f);
			else
				assert_int_equal(piece, 0);
		}
	}
	r = 0;
	assert_int_equal(gisa_frame_decoder_pending(d), 0);
out:
	gisa_frame_decoder_free(d);
	return r;
}

/* ---- limits, names, headers ------------------------------------------------------- */

static void limits_defaults_and_refusals(void **state)
{
	struct gisa_frame_limits l, in;

	(void)state;
	assert_int_equal(gisa_frame_limits_check(NULL, &l), 0);
	assert_int_equal(l.max_frame, GISA_FRAME_MAX);
	assert_int_equal(l.max_msg, GISA_FRAME_MSG_MAX);

	in = (struct gisa_frame_limits){ 0, 0 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), 0);
	assert_int_equal(l.max_frame, GISA_FRAME_MAX);
	assert_int_equal(l.max_msg, GISA_FRAME_MSG_MAX);

	/* A small frame cap pulls the default message cap down with it. */
	in = (struct gisa_frame_limits){ 4096, 0 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), 0);
	assert_int_equal(l.max_frame, 4096);
	assert_int_equal(l.max_msg, 4096);

	in = (struct gisa_frame_limits){ GISA_FRAME_MAX + 1, 0 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), -EINVAL);
	in = (struct gisa_frame_limits){ GISA_FRAME_LIMIT_MIN - 1, 0 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), -EINVAL);
	in = (struct gisa_frame_limits){ 4096, 8192 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), -EINVAL);
	in = (struct gisa_frame_limits){ 4096, GISA_FRAME_LIMIT_MIN - 1 };
	assert_int_equal(gisa_frame_limits_check(&in, &l), -EINVAL);
	in = (struct gisa_frame_limits){ GISA_FRAME_LIMIT_MIN, GISA_FRAME_LIMIT_MIN };
	assert_int_equal(gisa_frame_limits_check(&in, &l), 0);

	{
		struct gisa_frame_decoder *d = NULL;

		in = (struct gisa_frame_limits){ GISA_FRAME_MAX + 1, 0 };
		assert_int_equal(gisa_frame_decoder_new(&in, &d), -EINVAL);
		assert_null(d);
	}

	assert_string_equal(gisa_frame_type_name(GISA_FRAME_MSG), "MSG");
	assert_string_equal(gisa_frame_type_name(GISA_FRAME_CHUNK), "CHUNK");
	assert_string_equal(gisa_frame_type_name(GISA_FRAME_END), "END");
	assert_string_equal(gisa_frame_type_name(0), "unknown");
	assert_string_equal(gisa_frame_type_name(4), "unknown");
}

static void header_layout(void **state)
{
	uint8_t h[8];
	struct gisa_frame_header fh;
	static const uint8_t want[8] = { 0xa7, 1, 2, 0, 0x00, 0x04, 0x00, 0x10 };

	(void)state;
	gisa_frame_header_write(h, GISA_FRAME_CHUNK, 0x40010);
	assert_memory_equal(h, want, 8);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, NULL), 0);
	assert_int_equal(fh.version, 1);
	assert_int_equal(fh.type, GISA_FRAME_CHUNK);
	assert_int_equal(fh.flags, 0);
	assert_int_equal(fh.len, 0x40010);
}

struct header_case {
	const char *name;
	uint8_t magic, version, type, flags;
	uint32_t len;
	int error;
	const char *msg;        /* a piece of the expected message */
};

static const struct header_case header_cases[] = {
	{ "magic", 0x16, 1, 1, 0, 10, -EBADMSG, "magic is 0x16, expected 0xa7" },
	{ "magic G", 'G', 'E', 'T', ' ', 10, -EBADMSG, "magic is 0x47" },
	{ "version 0", 0xa7, 0, 1, 0, 10, -EPROTONOSUPPORT, "version 0 is not supported" },
	{ "version 2", 0xa7, 2, 1, 0, 10, -EPROTONOSUPPORT, "version 2 is not supported" },
	{ "type 0", 0xa7, 1, 0, 0, 10, -EBADMSG, "type 0 is unknown" },
	{ "type 4", 0xa7, 1, 4, 0, 10, -EBADMSG, "type 4 is unknown" },
	{ "type 255", 0xa7, 1, 255, 0, 10, -EBADMSG, "type 255 is unknown" },
	{ "flags MSG", 0xa7, 1, 1, 0x01, 10, -EBADMSG, "MSG frame has flags 0x01" },
	{ "flags END", 0xa7, 1, 3, 0x80, 48, -EBADMSG, "END frame has flags 0x80" },
	{ "empty MSG", 0xa7, 1, 1, 0, 0, -EBADMSG, "MSG frame is empty" },
	{ "MSG over cap", 0xa7, 1, 1, 0, 4097, -E2BIG, "MSG frame of 4097 bytes exceeds" },
	{ "MSG huge", 0xa7, 1, 1, 0, 0xffffffffu, -E2BIG, "4294967295 bytes exceeds" },
	{ "CHUNK over cap", 0xa7, 1, 2, 0, 8193, -E2BIG, "CHUNK frame of 8193 bytes exceeds" },
	{ "CHUNK huge", 0xa7, 1, 2, 0, 0xffffffffu, -E2BIG, "4294967295 bytes exceeds" },
	{ "CHUNK empty", 0xa7, 1, 2, 0, 0, -EBADMSG, "carries no data" },
	{ "CHUNK header only", 0xa7, 1, 2, 0, 16, -EBADMSG, "16 bytes carries no data" },
	{ "END short", 0xa7, 1, 3, 0, 47, -EBADMSG, "END frame of 47 bytes, expected 48" },
	{ "END long", 0xa7, 1, 3, 0, 49, -EBADMSG, "END frame of 49 bytes, expected 48" },
	{ "END empty", 0xa7, 1, 3, 0, 0, -EBADMSG, "END frame of 0 bytes" },
	{ "END huge", 0xa7, 1, 3, 0, 0xffffffffu, -EBADMSG, "END frame of 4294967295 bytes" },
};

/*
 * Every header refusal, through header_parse and through the decoder fed
 * one byte at a time: the error comes with the eighth byte, nothing is
 * allocated for the payload, and the decoder repeats the error afterwards.
 */
static void header_errors(void **state)
{
	const struct gisa_frame_limits lim = { 8192, 4096 };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		struct gisa_frame_decoder *d = NULL;
		struct gisa_frame_error err = { { 0 } };
		struct gisa_frame_header fh = { 9, 9, 9, 9 };
		struct gisa_frame f;
		uint8_t stream[8 + 64];
		size_t used;
		int r = 0;
		bool watching;

		header(stream, c->magic, c->version, c->type, c->flags, c->len);
		memset(stream + 8, 0x5a, 64);

		r = gisa_frame_header_parse(stream, &lim, &fh, &err);
		if (r != c->error || !strstr(err.msg, c->msg))
			fail_msg("%s: header_parse %d `%s'", c->name, r, err.msg);
		assert_int_equal(fh.version, 9);  /* untouched on error */

		assert_int_equal(gisa_frame_decoder_new(&lim, &d), 0);
		watching = watch_start();
		for (size_t k = 0; k < 7; k++) {
			r = gisa_frame_decode(d, stream + k, 1, &used, &f, &err);
			assert_int_equal(r, 0);
			assert_int_equal(used, 1);
		}
		memset(&err, 0, sizeof(err));
		r = gisa_frame_decode(d, stream + 7, sizeof(stream) - 7, &used, &f, &err);
		watch_stop();
		if (r != c->error || !strstr(err.msg, c->msg))
			fail_msg("%s: decode %d `%s'", c->name, r, err.msg);
		assert_int_equal(used, 1);
		assert_int_equal(gisa_frame_decoder_capacity(d), 0);
		if (watching)
			assert_int_equal(watch.calls, 0);

		/* Broken for good, with the same message. */
		memset(&err, 0, sizeof(err));
		r = gisa_frame_decode(d, stream, 8, &used, &f, &err);
		assert_int_equal(r, c->error);
		assert_int_equal(used, 0);
		assert_non_null(strstr(err.msg, c->msg));
		assert_int_equal(gisa_frame_decode(d, NULL, 0, &used, &f, NULL), c->error);
		gisa_frame_decoder_free(d);
	}
}

/* Default limits: the largest frames are accepted, one more byte is not. */
static void header_default_caps(void **state)
{
	uint8_t h[8];
	struct gisa_frame_header fh;
	struct gisa_frame_error err;

	(void)state;
	header(h, 0xa7, 1, GISA_FRAME_MSG, 0, GISA_FRAME_MSG_MAX);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, &err), 0);
	header(h, 0xa7, 1, GISA_FRAME_MSG, 0, GISA_FRAME_MSG_MAX + 1);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, &err), -E2BIG);
	header(h, 0xa7, 1, GISA_FRAME_CHUNK, 0, GISA_FRAME_MAX);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, &err), 0);
	header(h, 0xa7, 1, GISA_FRAME_CHUNK, 0, GISA_FRAME_MAX + 1);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "16842752"));
	header(h, 0xa7, 1, GISA_FRAME_END, 0, 48);
	assert_int_equal(gisa_frame_header_parse(h, NULL, &fh, &err), 0);
	{
		const struct gisa_frame_limits bad = { 1, 0 };

		assert_int_equal(gisa_frame_header_parse(h, &bad, &fh, &err), -EINVAL);
	}
}

/* ---- encoding ---------------------------------------------------------------------- */

static void encode_checks(void **state)
{
	uint8_t buf[128], pl[64];
	size_t n = 0;

	(void)state;
	memset(pl, 0x33, sizeof(pl));
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_MSG, pl, 5, &n), 0);
	assert_int_equal(n, 13);
	assert_int_equal(buf[0], 0xa7);
	assert_int_equal(buf[1], 1);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[7], 5);
	assert_memory_equal(buf + 8, pl, 5);

	/* Too small a buffer: the size needed, nothing written. */
	memset(buf, 0xee, sizeof(buf));
	n = 0;
	assert_int_equal(gisa_frame_encode(buf, 12, GISA_FRAME_MSG, pl, 5, &n), -ENOBUFS);
	assert_int_equal(n, 13);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(gisa_frame_encode(NULL, 0, GISA_FRAME_END, pl, 48, &n), -ENOBUFS);
	assert_int_equal(n, 56);

	/* Lengths a type cannot have, unknown types, too large. */
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_MSG, pl, 0, &n), -EINVAL);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_CHUNK, pl, 16, &n),
			 -EINVAL);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_CHUNK, pl, 17, &n), 0);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_END, pl, 47, &n), -EINVAL);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), (enum gisa_frame_type)0, pl, 5, &n),
			 -EINVAL);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), (enum gisa_frame_type)4, pl, 5, &n),
			 -EINVAL);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_MSG, pl,
					   (size_t)GISA_FRAME_MAX + 1, &n), -E2BIG);
	assert_int_equal(gisa_frame_encode(buf, sizeof(buf), GISA_FRAME_MSG, NULL, 5, &n), -EINVAL);

	{
		struct gisa_fbuf b = { 0 };
		struct gisa_frame_end e = { 0 };

		assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, pl, 0), -EINVAL);
		assert_int_equal(gisa_fbuf_put(&b, (enum gisa_frame_type)9, pl, 3), -EINVAL);
		assert_int_equal(gisa_fbuf_put_chunk(&b, 0, 0, 0, pl, 3), -EINVAL);
		assert_int_equal(gisa_fbuf_put_chunk(&b, 1, 0, 0, pl, 0), -EINVAL);
		assert_int_equal(gisa_fbuf_put_chunk(&b, 1, 0, 0, pl,
						     (size_t)GISA_FRAME_MAX - 15), -E2BIG);
		assert_int_equal(gisa_fbuf_put_end(&b, &e), -EINVAL);
		assert_int_equal(b.len, 0);
		assert_null(b.data);
		gisa_fbuf_release(&b);
	}
}

/*
 * Round trips of every frame type, through gisa_frame_encode and the
 * growable buffer, decoded whole, byte by byte and in random pieces.
 */
static void round_trip_all_types(void **state)
{
	struct gisa_fbuf b = { 0 };
	uint8_t msg[300], data[1000], pl[2048], sha[32];
	struct gisa_frame_end e = { 7, 3, 123456789012ull, { 0 } };
	uint8_t one[600];
	size_t n;

	(void)state;
	fill(msg, sizeof(msg), 1);
	fill(data, sizeof(data), 2);
	fill(sha, sizeof(sha), 3);
	memcpy(e.sha256, sha, 32);

	assert_int_equal(gisa_frame_encode(one, sizeof(one), GISA_FRAME_MSG, msg, sizeof(msg), &n),
			 0);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, msg, 1), 0);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, msg, sizeof(msg)), 0);
	assert_memory_equal(b.data + 9, one, n);
	assert_int_equal(gisa_fbuf_put_chunk(&b, 7, 0, 0, data, 1), 0);
	assert_int_equal(gisa_fbuf_put_chunk(&b, 7, 1, 1, data + 1, sizeof(data) - 1), 0);
	assert_int_equal(gisa_fbuf_put_chunk(&b, 7, 0xfffffffeu, 0x0102030405060708ull, data, 3),
			 0);
	assert_int_equal(gisa_fbuf_put_end(&b, &e), 0);
	n = chunk_payload(pl, 9, 4, 77, data, 20);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_CHUNK, pl, n), 0);
	end_payload(pl, 9, 5, 99, sha);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_END, pl, 48), 0);

	for (int mode = FEED_WHOLE; mode <= FEED_RANDOM; mode++) {
		for (int rep = 0; rep < (mode == FEED_RANDOM ? 50 : 1); rep++) {
			struct got_list l = { 0 };
			struct gisa_frame f;
			struct gisa_frame_chunk c;
			struct gisa_frame_end ge;
			struct gisa_frame_error err;

			assert_int_equal(decode_stream(NULL, b.data, b.len, (enum feed_mode)mode,
						       1 + (size_t)rep * 37, &l, &err), 0);
			assert_int_equal(l.n, 8);

			assert_int_equal(l.f[0].type, GISA_FRAME_MSG);
			assert_int_equal(l.f[0].len, 1);
			assert_int_equal(l.f[0].payload[0], msg[0]);
			assert_int_equal(l.f[1].type, GISA_FRAME_MSG);
			assert_int_equal(l.f[1].len, sizeof(msg));
			assert_memory_equal(l.f[1].payload, msg, sizeof(msg));

			f = (struct gisa_frame){ l.f[2].type, l.f[2].flags, l.f[2].len,
						 l.f[2].payload };
			assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), 0);
			assert_int_equal(c.stream, 7);
			assert_int_equal(c.seq, 0);
			assert_int_equal(c.offset, 0);
			assert_int_equal(c.len, 1);
			assert_int_equal(c.data[0], data[0]);
			f = (struct gisa_frame){ l.f[3].type, 0, l.f[3].len, l.f[3].payload };
			assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), 0);
			assert_int_equal(c.seq, 1);
			assert_int_equal(c.offset, 1);
			assert_int_equal(c.len, sizeof(data) - 1);
			assert_memory_equal(c.data, data + 1, sizeof(data) - 1);
			f = (struct gisa_frame){ l.f[4].type, 0, l.f[4].len, l.f[4].payload };
			assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), 0);
			assert_int_equal(c.seq, 0xfffffffeu);
			assert_true(c.offset == 0x0102030405060708ull);
			assert_int_equal(c.len, 3);
			f = (struct gisa_frame){ l.f[5].type, 0, l.f[5].len, l.f[5].payload };
			assert_int_equal(gisa_frame_end_parse(&f, &ge, &err), 0);
			assert_int_equal(ge.stream, 7);
			assert_int_equal(ge.chunks, 3);
			assert_true(ge.total == 123456789012ull);
			assert_memory_equal(ge.sha256, sha, 32);
			f = (struct gisa_frame){ l.f[6].type, 0, l.f[6].len, l.f[6].payload };
			assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), 0);
			assert_int_equal(c.stream, 9);
			assert_int_equal(c.seq, 4);
			assert_int_equal(c.offset, 77);
			assert_int_equal(c.len, 20);
			f = (struct gisa_frame){ l.f[7].type, 0, l.f[7].len, l.f[7].payload };
			assert_int_equal(gisa_frame_end_parse(&f, &ge, &err), 0);
			assert_int_equal(ge.stream, 9);
			assert_int_equal(ge.chunks, 5);
			assert_int_equal(ge.total, 99);

			/* Wrong type or shape for the payload parsers. */
			f = (struct gisa_frame){ l.f[1].type, 0, l.f[1].len, l.f[1].payload };
			assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), -EBADMSG);
			assert_non_null(strstr(err.msg, "MSG frame where a CHUNK"));
			assert_int_equal(gisa_frame_end_parse(&f, &ge, &err), -EBADMSG);
			for (size_t i = 0; i < l.n; i++)
				assert_int_equal(l.f[i].flags, 0);
			got_release(&l);
		}
	}
	gisa_fbuf_clear(&b);
	assert_int_equal(b.len, 0);
	gisa_fbuf_release(&b);
	assert_null(b.data);
}

/* Stream 0 in CHUNK and END payloads is malformed. */
static void payload_stream_zero(void **state)
{
	uint8_t pl[64], data[4] = { 1, 2, 3, 4 }, sha[32] = { 0 };
	struct gisa_frame f;
	struct gisa_frame_chunk c;
	struct gisa_frame_end e;
	struct gisa_frame_error err;

	(void)state;
	f.type = GISA_FRAME_CHUNK;
	f.flags = 0;
	f.len = (uint32_t)chunk_payload(pl, 0, 0, 0, data, 4);
	f.payload = pl;
	assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "stream 0"));
	f.len = 16;
	assert_int_equal(gisa_frame_chunk_parse(&f, &c, &err), -EBADMSG);
	end_payload(pl, 0, 0, 0, sha);
	f.type = GISA_FRAME_END;
	f.len = 48;
	assert_int_equal(gisa_frame_end_parse(&f, &e, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "stream 0"));
	f.len = 40;
	end_payload(pl, 1, 0, 0, sha);
	assert_int_equal(gisa_frame_end_parse(&f, &e, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "40 bytes"));
}

/* ---- the decoder's buffering ---------------------------------------------------------- */

/* A frame never consumes bytes of the next one (the caller keeps them). */
static void decoder_stops_at_frame_end(void **state)
{
	struct gisa_frame_decoder *d = NULL;
	struct gisa_fbuf b = { 0 };
	struct gisa_frame f;
	uint8_t a[10], z[3];
	size_t used;

	(void)state;
	fill(a, sizeof(a), 5);
	fill(z, sizeof(z), 6);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, a, sizeof(a)), 0);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, z, sizeof(z)), 0);
	assert_int_equal(gisa_frame_decoder_new(NULL, &d), 0);

	assert_int_equal(gisa_frame_decode(d, b.data, b.len, &used, &f, NULL), 1);
	assert_int_equal(used, 18);
	assert_int_equal(f.len, 10);
	assert_memory_equal(f.payload, a, 10);
	assert_int_equal(gisa_frame_decoder_pending(d), 0);
	assert_int_equal(gisa_frame_decode(d, b.data + used, b.len - used, &used, &f, NULL), 1);
	assert_int_equal(used, 11);
	assert_memory_equal(f.payload, z, 3);
	assert_int_equal(gisa_frame_decode(d, NULL, 0, &used, &f, NULL), 0);
	assert_int_equal(used, 0);

	/* Partial: the header and part of the payload are pending. */
	assert_int_equal(gisa_frame_decode(d, b.data, 12, &used, &f, NULL), 0);
	assert_int_equal(used, 12);
	assert_int_equal(gisa_frame_decoder_pending(d), 12);
	assert_int_equal(gisa_frame_decode(d, b.data + 12, 6, &used, &f, NULL), 1);
	assert_int_equal(used, 6);
	assert_memory_equal(f.payload, a, 10);

	/* Bad arguments do not break the decoder. */
	assert_int_equal(gisa_frame_decode(d, NULL, 3, &used, &f, NULL), -EINVAL);
	assert_int_equal(gisa_frame_decode(d, b.data + 18, 11, &used, &f, NULL), 1);
	gisa_frame_decoder_free(d);
	gisa_fbuf_release(&b);
	assert_null(gisa_frame_decoder_free(NULL));
}

/*
 * Caps before allocation, and growth with the bytes that arrive: a header
 * announcing 16 MiB followed by a few bytes costs at most 64 KiB, a large
 * frame grows its buffer at most to twice the bytes received, and a buffer
 * over 1 MiB is given back before the next frame.
 */
static void decoder_grows_with_arrivals(void **state)
{
	struct gisa_frame_decoder *d = NULL;
	struct gisa_frame f;
	uint8_t h[8], *big;
	size_t used, len = GISA_FRAME_MAX, got = 0;
	const size_t piece = 100 * KIB;
	bool watching;

	(void)state;
	big = malloc(len);
	assert_non_null(big);
	fill(big, len, 7);
	be32(big, 3);   /* a CHUNK payload: stream 3, ... */
	assert_int_equal(gisa_frame_decoder_new(NULL, &d), 0);
	gisa_frame_header_write(h, GISA_FRAME_CHUNK, (uint32_t)len);

	watching = watch_start();
	assert_int_equal(gisa_frame_decode(d, h, 8, &used, &f, NULL), 0);
	watch_stop();
	assert_int_equal(gisa_frame_decoder_capacity(d), 0);
	if (watching)
		assert_int_equal(watch.calls, 0);
	assert_int_equal(gisa_frame_decode(d, big, 10, &used, &f, NULL), 0);
	got = 10;
	assert_true(gisa_frame_decoder_capacity(d) <= 64 * KIB);
	while (got < len) {
		size_t n = len - got < piece ? len - got : piece;
		int r = gisa_frame_decode(d, big + got, n, &used, &f, NULL);

		assert_int_equal(used, n);
		got += n;
		assert_true(gisa_frame_decoder_capacity(d) <= 2 * got ||
			    gisa_frame_decoder_capacity(d) <= 64 * KIB);
		assert_true(gisa_frame_decoder_capacity(d) <= len);
		if (got < len) {
			assert_int_equal(r, 0);
			assert_int_equal(gisa_frame_decoder_pending(d), 8 + got);
		} else {
			assert_int_equal(r, 1);
		}
	}
	assert_int_equal(f.len, len);
	assert_memory_equal(f.payload, big, len);
	assert_int_equal(gisa_frame_decoder_capacity(d), len);

	/* The next frame starts with the big buffer given back. */
	gisa_frame_header_write(h, GISA_FRAME_MSG, 4);
	assert_int_equal(gisa_frame_decode(d, h, 8, &used, &f, NULL), 0);
	assert_int_equal(gisa_frame_decoder_capacity(d), 0);
	assert_int_equal(gisa_frame_decode(d, big, 4, &used, &f, NULL), 1);
	assert_true(gisa_frame_decoder_capacity(d) <= 64 * KIB);
	gisa_frame_decoder_free(d);
	free(big);
}

/* ---- object streams ------------------------------------------------------------------ */

/* Frames of an object, by the chunker, into a buffer. */
static void put_object(struct gisa_fbuf *b, uint32_t stream, const uint8_t *data, size_t len,
		       size_t chunk, uint8_t digest[32])
{
	struct gisa_chunker *c = NULL;
	int r;

	assert_int_equal(gisa_chunker_new(stream, data, len, chunk, &c), 0);
	assert_int_equal(gisa_chunker_digest(c, digest), -EINVAL);
	do {
		r = gisa_fbuf_put_next(b, c);
		assert_true(r >= 0);
	} while (r > 0);
	assert_int_equal(gisa_chunker_sent(c), len);
	assert_int_equal(gisa_fbuf_put_next(b, c), -EINVAL);
	assert_int_equal(gisa_chunker_digest(c, digest), 0);
	gisa_chunker_free(c);
}

/* Decode frames of buf and reassemble stream `stream`; returns the object. */
static int receive_object(const uint8_t *buf, size_t len, uint32_t stream, uint64_t expected,
			  enum feed_mode mode, uint8_t **ret, size_t *ret_len, uint8_t sha[32],
			  struct gisa_frame_error *err)
{
	struct gisa_frame_decoder *d = NULL;
	struct gisa_reasm *r = NULL;
	size_t pos = 0, used;
	int rc = 0, done = 0;

	assert_int_equal(gisa_frame_decoder_new(NULL, &d), 0);
	assert_int_equal(gisa_reasm_new(0, &r), 0);
	assert_int_equal(gisa_reasm_begin(r, stream, expected, err), 0);
	while (pos < len && !done) {
		struct gisa_frame f;
		size_t piece = len - pos;

		if (mode == FEED_BYTES)
			piece = 1;
		else if (mode == FEED_RANDOM && piece > 1)
			piece = 1 + rnd_below(piece < 5000 ? piece : 5000);
		rc = gisa_frame_decode(d, buf + pos, piece, &used, &f, err);
		assert_true(rc >= 0);
		pos += used;
		if (rc == 1) {
			rc = gisa_reasm_feed(r, &f, err);
			if (rc < 0)
				break;
			done = rc;
		}
	}
	if (done) {
		assert_int_equal(pos, len);
		assert_false(gisa_reasm_open(r));
		rc = gisa_reasm_take(r, ret, ret_len, sha);
		assert_int_equal(rc, 0);
		assert_int_equal(gisa_reasm_take(r, ret, ret_len, sha), -ENODATA);
	} else if (rc >= 0) {
		rc = -ENODATA;
	}
	gisa_reasm_free(r);
	gisa_frame_decoder_free(d);
	return rc;
}

/* Objects of many sizes round trip through chunker, decoder and reassembler. */
static void object_round_trips(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 99, 100, 101, 1000, 64 * 1024 + 3, 1u << 20 };
	static const size_t chunks[] = { 1, 7, 100, 0 };
	uint8_t *obj = malloc(1u << 20);

	(void)state;
	assert_non_null(obj);
	fill(obj, 1u << 20, 11);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (size_t k = 0; k < ARRAY_SIZE(chunks); k++) {
			struct gisa_fbuf b = { 0 };
			uint8_t digest[32], want[32];
			size_t len = sizes[i], chunk = chunks[k], nchunks;

			if (chunk == 1 && len > 100000)
				continue;
			put_object(&b, 5, obj, len, chunk, digest);
			sha256(obj, len, want);
			assert_memory_equal(digest, want, 32);
			if (!chunk)
				chunk = GISA_FRAME_CHUNK_DEFAULT;
			nchunks = (len + chunk - 1) / chunk;
			assert_int_equal(b.len, nchunks * 24 + len + 56);

			for (int mode = FEED_WHOLE; mode <= FEED_RANDOM; mode++) {
				uint8_t *out = (uint8_t *)&b, sha[32];
				size_t out_len = 99;
				struct gisa_frame_error err;

				if (mode == FEED_BYTES && b.len > 200000)
					continue;
				assert_int_equal(receive_object(b.data, b.len, 5,
								mode == FEED_RANDOM ?
								GISA_REASM_ANY : len,
								(enum feed_mode)mode, &out,
								&out_len, sha, &err), 0);
				assert_int_equal(out_len, len);
				assert_memory_equal(sha, want, 32);
				if (len)
					assert_memory_equal(out, obj, len);
				else
					assert_null(out);
				free(out);
			}
			gisa_fbuf_release(&b);
		}
	}
	free(obj);
}

/* gisa_chunker_next by hand: prefix plus a pointer into the object. */
static void chunker_by_reference(void **state)
{
	struct gisa_chunker *c = NULL;
	struct gisa_frame_out out;
	struct gisa_fbuf b = { 0 }, ref = { 0 };
	uint8_t obj[250], digest[32], want[32];
	int r, frames = 0;

	(void)state;
	fill(obj, sizeof(obj), 12);
	assert_int_equal(gisa_chunker_new(42, obj, sizeof(obj), 100, &c), 0);
	do {
		r = gisa_chunker_next(c, &out);
		assert_true(r >= 0);
		frames++;
		if (r) {
			assert_int_equal(out.head_len, 24);
			assert_ptr_equal(out.data, obj + 100 * (size_t)(frames - 1));
			assert_int_equal(out.data_len, frames == 3 ? 50 : 100);
		} else {
			assert_int_equal(out.head_len, 56);
			assert_null(out.data);
			assert_int_equal(out.data_len, 0);
		}
		assert_int_equal(raw_append(&b, out.head, out.head_len), 0);
		if (out.data_len)
			assert_int_equal(raw_append(&b, out.data, out.data_len), 0);
	} while (r > 0);
	assert_int_equal(frames, 4);
	assert_int_equal(gisa_chunker_next(c, &out), -EINVAL);
	assert_int_equal(gisa_chunker_digest(c, digest), 0);
	sha256(obj, sizeof(obj), want);
	assert_memory_equal(digest, want, 32);
	gisa_chunker_free(c);

	put_object(&ref, 42, obj, sizeof(obj), 100, digest);
	assert_int_equal(ref.len, b.len);
	assert_memory_equal(ref.data, b.data, b.len);
	/* The END frame, byte by byte. */
	{
		const uint8_t *e = b.data + b.len - 56;
		static const uint8_t head[24] = { 0xa7, 1, 3, 0, 0, 0, 0, 48, 0, 0, 0, 42,
						  0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 250 };

		assert_memory_equal(e, head, 24);
		assert_memory_equal(e + 24, want, 32);
	}
	gisa_fbuf_release(&b);
	gisa_fbuf_release(&ref);

	assert_int_equal(gisa_chunker_new(0, obj, 1, 0, &c), -EINVAL);
	assert_int_equal(gisa_chunker_new(1, NULL, 1, 0, &c), -EINVAL);
	assert_int_equal(gisa_chunker_new(1, obj, 1, GISA_FRAME_MAX - 15, &c), -EINVAL);
	assert_int_equal(gisa_chunker_new(1, obj, 1, GISA_FRAME_MAX - 16, &c), 0);
	c = gisa_chunker_free(c);
	assert_int_equal(gisa_chunker_new(1, obj, (size_t)GISA_FRAME_OBJECT_MAX + 1, 0, &c),
			 -E2BIG);
	assert_null(c);
	assert_null(gisa_chunker_free(NULL));
}

/* ---- the reassembler's refusals ---------------------------------------------------------- */

static int feed_chunk(struct gisa_reasm *r, uint32_t stream, uint32_t seq, uint64_t off,
		      const uint8_t *data, size_t n, struct gisa_frame_error *err)
{
	uint8_t *pl = malloc(16 + n);
	struct gisa_frame f;
	int rc;

	assert_non_null(pl);
	f.type = GISA_FRAME_CHUNK;
	f.flags = 0;
	f.len = (uint32_t)chunk_payload(pl, stream, seq, off, data, n);
	f.payload = pl;
	memset(err, 0, sizeof(*err));
	rc = gisa_reasm_feed(r, &f, err);
	free(pl);
	return rc;
}

static int feed_end(struct gisa_reasm *r, uint32_t stream, uint32_t chunks, uint64_t total,
		    const uint8_t sha[32], struct gisa_frame_error *err)
{
	uint8_t pl[48];
	struct gisa_frame f = { GISA_FRAME_END, 0, 48, pl };

	end_payload(pl, stream, chunks, total, sha);
	memset(err, 0, sizeof(*err));
	return gisa_reasm_feed(r, &f, err);
}

/* After a refusal: nothing open, nothing held. */
static void assert_discarded(const struct gisa_reasm *r)
{
	assert_false(gisa_reasm_open(r));
	assert_int_equal(gisa_reasm_capacity(r), 0);
	assert_int_equal(gisa_reasm_received(r), 0);
}

#define EXPECT(call, code, piece)                                                           \
	do {                                                                                \
		int rc_ = (call);                                                           \
		if (rc_ != (code) || !strstr(err.msg, (piece)))                             \
			fail_msg("%s: got %d `%s', expected %d `%s'", #call, rc_, err.msg,  \
				 (code), (piece));                                          \
	} while (0)

static uint8_t obj300[300];
static uint8_t sha300[32];

/* A reassembler with stream 1 (300 bytes announced) open. */
static struct gisa_reasm *open300(uint64_t max, uint64_t expected)
{
	struct gisa_reasm *r = NULL;
	struct gisa_frame_error err;

	fill(obj300, sizeof(obj300), 300);
	sha256(obj300, sizeof(obj300), sha300);
	assert_int_equal(gisa_reasm_new(max, &r), 0);
	assert_int_equal(gisa_reasm_begin(r, 1, expected, &err), 0);
	assert_true(gisa_reasm_open(r));
	return r;
}

static void reasm_order_refusals(void **state)
{
	struct gisa_frame_error err;
	struct gisa_reasm *r;

	(void)state;
	/* Out of order: chunk 2 before chunk 1. */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(gisa_reasm_received(r), 100);
	EXPECT(feed_chunk(r, 1, 2, 200, obj300 + 200, 100, &err), -EBADMSG,
	       "chunk 2 of stream 1 arrived before chunk 1 (missing)");
	assert_discarded(r);
	/* The stream is gone: its later chunks find nothing open. */
	EXPECT(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), -EBADMSG,
	       "chunk 1 of stream 1 but no stream is open");
	EXPECT(feed_end(r, 1, 3, 300, sha300, &err), -EBADMSG,
	       "END of stream 1 but no stream is open");
	gisa_reasm_free(r);

	/* Duplicate. */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), 0);
	EXPECT(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), -EBADMSG,
	       "duplicate chunk 1 of stream 1 (next is 2)");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* A duplicate of chunk 0 at once. */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	EXPECT(feed_chunk(r, 1, 0, 0, obj300, 100, &err), -EBADMSG, "duplicate chunk 0");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* Right seq, wrong offset (a gap or an overlap). */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	EXPECT(feed_chunk(r, 1, 1, 150, obj300 + 150, 100, &err), -EBADMSG,
	       "chunk 1 of stream 1 starts at offset 150, expected 100");
	assert_discarded(r);
	gisa_reasm_free(r);
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	EXPECT(feed_chunk(r, 1, 1, 50, obj300 + 50, 100, &err), -EBADMSG,
	       "starts at offset 50, expected 100");
	gisa_reasm_free(r);
	r = open300(0, 300);
	EXPECT(feed_chunk(r, 1, 0, 1, obj300, 100, &err), -EBADMSG,
	       "chunk 0 of stream 1 starts at offset 1, expected 0");
	gisa_reasm_free(r);

	/* Another stream's chunk or END. */
	r = open300(0, 300);
	EXPECT(feed_chunk(r, 3, 0, 0, obj300, 100, &err), -EBADMSG,
	       "chunk 0 of stream 3 while stream 1 is open");
	assert_discarded(r);
	gisa_reasm_free(r);
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 300, &err), 0);
	EXPECT(feed_end(r, 2, 1, 300, sha300, &err), -EBADMSG,
	       "END of stream 2 while stream 1 is open");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* A malformed CHUNK payload discards the open stream too. */
	r = open300(0, 300);
	{
		uint8_t pl[20] = { 0 };
		struct gisa_frame f = { GISA_FRAME_CHUNK, 0, 20, pl };

		memset(&err, 0, sizeof(err));
		EXPECT(gisa_reasm_feed(r, &f, &err), -EBADMSG, "stream 0");
		assert_discarded(r);
		f.type = GISA_FRAME_MSG;
		EXPECT(gisa_reasm_feed(r, &f, &err), -EINVAL, "MSG frame is not part");
	}
	gisa_reasm_free(r);
}

static void reasm_end_refusals(void **state)
{
	struct gisa_frame_error err;
	struct gisa_reasm *r;
	uint8_t bad[32], sha200[32];

	(void)state;
	/* Missing last chunk: END counts 3. */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), 0);
	EXPECT(feed_end(r, 1, 3, 300, sha300, &err), -EBADMSG,
	       "END of stream 1 counts 3 chunks, 2 arrived");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* END's total disagrees with the bytes received. */
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), 0);
	EXPECT(feed_end(r, 1, 2, 300, sha300, &err), -EBADMSG,
	       "END of stream 1 declares 300 bytes, 200 arrived");
	gisa_reasm_free(r);

	/* Consistent END, but fewer bytes than announced. */
	sha256(obj300, 200, sha200);
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), 0);
	EXPECT(feed_end(r, 1, 2, 200, sha200, &err), -EBADMSG,
	       "stream 1 ended after 200 bytes, 300 were announced");
	assert_discarded(r);
	gisa_reasm_free(r);
	/* ... which is fine when no size was announced. */
	r = open300(0, GISA_REASM_ANY);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 100, &err), 0);
	assert_int_equal(feed_chunk(r, 1, 1, 100, obj300 + 100, 100, &err), 0);
	assert_int_equal(feed_end(r, 1, 2, 200, sha200, &err), 1);
	gisa_reasm_free(r);  /* freeing with an untaken object does not leak */

	/* Wrong digest in END. */
	memcpy(bad, sha300, 32);
	bad[31] ^= 1;
	r = open300(0, 300);
	assert_int_equal(feed_chunk(r, 1, 0, 0, obj300, 300, &err), 0);
	EXPECT(feed_end(r, 1, 1, 300, bad, &err), -EBADMSG,
	       "stream 1: SHA-256 of the 300 bytes received is");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* Corrupted data, right digest. */
	{
		uint8_t copy[300];

		memcpy(copy, obj300, 300);
		r = open300(0, 300);
		copy[123] ^= 0x40;
		assert_int_equal(feed_chunk(r, 1, 0, 0, copy, 150, &err), 0);
		assert_int_equal(feed_chunk(r, 1, 1, 150, copy + 150, 150, &err), 0);
		EXPECT(feed_end(r, 1, 2, 300, sha300, &err), -EBADMSG, "END declares");
		{
			char hex[17];

			for (int i = 0; i < 8; i++)
				snprintf(hex + 2 * i, 3, "%02x", sha300[i]);
			assert_non_null(strstr(err.msg, hex));
		}
		assert_discarded(r);
		gisa_reasm_free(r);
	}

	/* END before any chunk of a non-empty object. */
	r = open300(0, 300);
	EXPECT(feed_end(r, 1, 0, 0, sha300, &err), -EBADMSG, "0 bytes, 300 were announced");
	gisa_reasm_free(r);

	/* An empty object. */
	{
		uint8_t empty[32], *out = obj300, sha[32];
		size_t len = 5;

		sha256("", 0, empty);
		assert_int_equal(gisa_reasm_new(0, &r), 0);
		assert_int_equal(gisa_reasm_begin(r, 1, 0, &err), 0);
		EXPECT(feed_chunk(r, 1, 0, 0, obj300, 1, &err), -E2BIG,
		       "exceed the announced size of 0 bytes");
		assert_int_equal(gisa_reasm_begin(r, 2, 0, &err), 0);
		assert_int_equal(feed_end(r, 2, 0, 0, empty, &err), 1);
		assert_int_equal(gisa_reasm_take(r, &out, &len, sha), 0);
		assert_null(out);
		assert_int_equal(len, 0);
		assert_memory_equal(sha, empty, 32);
		gisa_reasm_free(r);
	}
}

/* Sizes are checked before anything grows. */
static void reasm_caps_before_allocation(void **state)
{
	struct gisa_frame_error err;
	struct gisa_reasm *r = NULL;
	uint8_t *big = calloc(1, MIB + 1);
	bool watching;

	(void)state;
	assert_non_null(big);
	/* Over the announced size, on the first chunk. */
	assert_int_equal(gisa_reasm_new(0, &r), 0);
	assert_int_equal(gisa_reasm_begin(r, 1, MIB, &err), 0);
	watching = watch_start();
	{
		uint8_t pl[16 + 64];
		struct gisa_frame f = { GISA_FRAME_CHUNK, 0, 0, pl };

		/* The frame claims MIB + 1 data bytes; only the header part is read. */
		chunk_payload(pl, 1, 0, 0, big, 64);
		f.len = 16 + MIB + 1;
		f.payload = malloc(f.len);
		watch_stop();
		assert_non_null(f.payload);
		memcpy((uint8_t *)f.payload, pl, 16);
		watch_start();
		memset(&err, 0, sizeof(err));
		EXPECT(gisa_reasm_feed(r, &f, &err), -E2BIG,
		       "chunk 0 of stream 1: 1048577 bytes at offset 0 exceed the announced size "
		       "of 1048576 bytes");
		watch_stop();
		free((void *)f.payload);
	}
	if (watching)
		assert_true(watch.largest < 4 * KIB);
	assert_discarded(r);

	/* Over the announced size, later: the buffer holds what arrived, no more. */
	assert_int_equal(gisa_reasm_begin(r, 2, 1000, &err), 0);
	assert_int_equal(feed_chunk(r, 2, 0, 0, big, 600, &err), 0);
	assert_true(gisa_reasm_capacity(r) <= 1000);
	EXPECT(feed_chunk(r, 2, 1, 600, big, 401, &err), -E2BIG,
	       "401 bytes at offset 600 exceed the announced size of 1000 bytes");
	assert_discarded(r);

	/* Announcing more than the cap. */
	EXPECT(gisa_reasm_begin(r, 3, GISA_FRAME_OBJECT_MAX + 1, &err), -E2BIG,
	       "stream 3 announces 75497473 bytes, over the object cap of 75497472 bytes");
	assert_false(gisa_reasm_open(r));
	gisa_reasm_free(r);

	/* No size announced: the reassembler's own cap. */
	assert_int_equal(gisa_reasm_new(1000, &r), 0);
	EXPECT(gisa_reasm_begin(r, 1, 1001, &err), -E2BIG, "over the object cap of 1000");
	assert_int_equal(gisa_reasm_begin(r, 2, GISA_REASM_ANY, &err), 0);
	assert_int_equal(feed_chunk(r, 2, 0, 0, big, 400, &err), 0);
	assert_int_equal(feed_chunk(r, 2, 1, 400, big, 400, &err), 0);
	assert_true(gisa_reasm_capacity(r) <= 1000);
	EXPECT(feed_chunk(r, 2, 2, 800, big, 400, &err), -E2BIG,
	       "400 bytes at offset 800 exceed the object cap of 1000 bytes");
	assert_discarded(r);
	gisa_reasm_free(r);

	/* Growth follows arrivals under a large announcement. */
	assert_int_equal(gisa_reasm_new(0, &r), 0);
	assert_int_equal(gisa_reasm_begin(r, 1, 64 * MIB, &err), 0);
	assert_int_equal(gisa_reasm_capacity(r), 0);
	assert_int_equal(feed_chunk(r, 1, 0, 0, big, 100, &err), 0);
	assert_true(gisa_reasm_capacity(r) <= 64 * KIB);
	assert_int_equal(feed_chunk(r, 1, 1, 100, big, MIB, &err), 0);
	assert_true(gisa_reasm_capacity(r) <= 2 * (MIB + 100));
	gisa_reasm_cancel(r);
	assert_discarded(r);
	EXPECT(feed_chunk(r, 1, 2, MIB + 100, big, 10, &err), -EBADMSG, "no stream is open");
	gisa_reasm_free(r);

	assert_int_equal(gisa_reasm_new(GISA_FRAME_OBJECT_MAX + 1, &r), -EINVAL);
	assert_null(gisa_reasm_free(NULL));
	free(big);
}

static void reasm_stream_ids(void **state)
{
	struct gisa_frame_error err;
	struct gisa_reasm *r = NULL;
	uint8_t *out = NULL, sha[32];
	size_t len = 0;

	(void)state;
	fill(obj300, sizeof(obj300), 300);
	sha256(obj300, sizeof(obj300), sha300);
	assert_int_equal(gisa_reasm_new(0, &r), 0);
	assert_int_equal(gisa_reasm_take(r, &out, &len, sha), -ENODATA);
	EXPECT(gisa_reasm_begin(r, 0, 10, &err), -EBADMSG, "stream id 0 does not follow 0");
	assert_int_equal(gisa_reasm_begin(r, 5, 300, &err), 0);
	EXPECT(gisa_reasm_begin(r, 6, 300, &err), -EBUSY, "stream 6 begins while stream 5 is open");
	assert_true(gisa_reasm_open(r));
	assert_int_equal(feed_chunk(r, 5, 0, 0, obj300, 300, &err), 0);
	assert_int_equal(gisa_reasm_take(r, &out, &len, sha), -ENODATA);
	assert_int_equal(feed_end(r, 5, 1, 300, sha300, &err), 1);
	EXPECT(gisa_reasm_begin(r, 6, 300, &err), -EBUSY, "stream 5 was not taken");
	/* A stray frame while the object waits does not touch it. */
	EXPECT(feed_chunk(r, 5, 1, 300, obj300, 1, &err), -EBADMSG, "no stream is open");
	assert_int_equal(gisa_reasm_received(r), 300);
	assert_int_equal(gisa_reasm_take(r, &out, NULL, sha), -EINVAL);
	assert_int_equal(gisa_reasm_take(r, &out, &len, NULL), 0);
	assert_int_equal(len, 300);
	assert_memory_equal(out, obj300, 300);
	free(out);

	/* Ids strictly increase, failed streams included. */
	EXPECT(gisa_reasm_begin(r, 5, 300, &err), -EBADMSG, "stream id 5 does not follow 5");
	EXPECT(gisa_reasm_begin(r, 4, 300, &err), -EBADMSG, "stream id 4 does not follow 5");
	assert_int_equal(gisa_reasm_begin(r, 9, 300, &err), 0);
	EXPECT(feed_chunk(r, 9, 1, 0, obj300, 10, &err), -EBADMSG, "missing");
	EXPECT(gisa_reasm_begin(r, 9, 300, &err), -EBADMSG, "stream id 9 does not follow 9");
	assert_int_equal(gisa_reasm_begin(r, 10, 300, &err), 0);
	gisa_reasm_cancel(r);
	assert_int_equal(gisa_reasm_begin(r, 11, 300, &err), 0);
	assert_int_equal(feed_chunk(r, 11, 0, 0, obj300, 300, &err), 0);
	assert_int_equal(feed_end(r, 11, 1, 300, sha300, &err), 1);
	gisa_reasm_cancel(r);   /* the untaken object is dropped */
	assert_int_equal(gisa_reasm_take(r, &out, &len, sha), -ENODATA);
	assert_discarded(r);
	gisa_reasm_free(r);
}

/* ---- the digest chain --------------------------------------------------------------------- */

static void chain_definition(void **state)
{
	uint8_t id[16], c0[32], c1[32], c2[32], d1[32], d2[32], want[32], buf[100];
	static const char label[] = "gisa-migration-chain-v1";

	(void)state;
	fill(id, sizeof(id), 21);
	fill(d1, sizeof(d1), 22);
	fill(d2, sizeof(d2), 23);

	assert_int_equal(gisa_frame_chain_init(id, c0), 0);
	memcpy(buf, label, sizeof(label) - 1);
	memcpy(buf + sizeof(label) - 1, id, 16);
	sha256(buf, sizeof(label) - 1 + 16, want);
	assert_memory_equal(c0, want, 32);

	assert_int_equal(gisa_frame_chain_next(c0, 0, d1, c1), 0);
	memcpy(buf, c0, 32);
	be32(buf + 32, 0);
	memcpy(buf + 36, d1, 32);
	sha256(buf, 68, want);
	assert_memory_equal(c1, want, 32);

	assert_int_equal(gisa_frame_chain_next(c1, 0x01020304, d2, c2), 0);
	memcpy(buf, c1, 32);
	buf[32] = 1;
	buf[33] = 2;
	buf[34] = 3;
	buf[35] = 4;
	memcpy(buf + 36, d2, 32);
	sha256(buf, 68, want);
	assert_memory_equal(c2, want, 32);

	/* In place. */
	assert_int_equal(gisa_frame_chain_next(c1, 0x01020304, d2, c1), 0);
	assert_memory_equal(c1, c2, 32);

	/* The round number and the migration id matter. */
	assert_int_equal(gisa_frame_chain_next(c0, 1, d1, c2), 0);
	assert_int_equal(gisa_frame_chain_next(c0, 0, d1, c1), 0);
	assert_memory_not_equal(c1, c2, 32);
	id[0] ^= 1;
	assert_int_equal(gisa_frame_chain_init(id, c2), 0);
	assert_memory_not_equal(c0, c2, 32);
	assert_int_equal(gisa_frame_chain_init(NULL, c2), -EINVAL);
	assert_int_equal(gisa_frame_chain_next(c0, 0, NULL, c2), -EINVAL);
}

/* ---- a MigMessage in a MSG frame --------------------------------------------------------- */

/*
 * The destination's hello, as the daemon will send it: packed, framed,
 * decoded byte by byte and unpacked (this also proves that the generated
 * migration codec builds and links where tests can use it).
 */
static void msg_frame_carries_migmessage(void **state)
{
	Gisa__V1__MigMessage m = GISA__V1__MIG_MESSAGE__INIT, *back;
	Gisa__V1__MigHello h = GISA__V1__MIG_HELLO__INIT;
	Gisa__V1__MigHostCaps caps = GISA__V1__MIG_HOST_CAPS__INIT;
	Gisa__V1__MigLimits lim = GISA__V1__MIG_LIMITS__INIT;
	uint32_t profiles[2] = { 0, 1 };
	struct gisa_fbuf b = { 0 };
	struct got_list l = { 0 };
	struct gisa_frame_error err;
	uint8_t packed[256];
	size_t n;

	(void)state;
	m.has_version = 1;
	m.version = GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION;
	m.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	m.hello = &h;
	h.has_min_version = h.has_max_version = h.has_role = 1;
	h.min_version = GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_MIN_VERSION;
	h.max_version = GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION;
	h.role = GISA__V1__MIG_ROLE__MIG_ROLE_DESTINATION;
	h.host_caps = &caps;
	caps.n_profiles = 2;
	caps.profiles = profiles;
	caps.has_caps = 1;
	caps.caps = 3;
	h.limits = &lim;
	lim.has_max_frame = lim.has_max_msg = lim.has_max_object = 1;
	lim.max_frame = GISA_FRAME_MAX;
	lim.max_msg = GISA_FRAME_MSG_MAX;
	lim.max_object = GISA_FRAME_OBJECT_MAX;

	n = gisa__v1__mig_message__get_packed_size(&m);
	assert_true(n > 0 && n <= sizeof(packed));
	assert_int_equal(gisa__v1__mig_message__pack(&m, packed), n);
	assert_int_equal(gisa_fbuf_put(&b, GISA_FRAME_MSG, packed, n), 0);
	assert_int_equal(decode_stream(NULL, b.data, b.len, FEED_BYTES, 1, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.f[0].type, GISA_FRAME_MSG);
	assert_int_equal(l.f[0].len, n);

	back = gisa__v1__mig_message__unpack(NULL, l.f[0].len, l.f[0].payload);
	assert_non_null(back);
	assert_true(back->has_version);
	assert_int_equal(back->version, GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION);
	assert_int_equal(back->body_case, GISA__V1__MIG_MESSAGE__BODY_HELLO);
	assert_int_equal(back->hello->min_version, 1);
	assert_int_equal(back->hello->max_version, GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION);
	assert_int_equal(back->hello->role, GISA__V1__MIG_ROLE__MIG_ROLE_DESTINATION);
	assert_int_equal(back->hello->host_caps->n_profiles, 2);
	assert_int_equal(back->hello->host_caps->profiles[1], 1);
	assert_int_equal(back->hello->host_caps->caps, 3);
	assert_int_equal(back->hello->limits->max_object, GISA_FRAME_OBJECT_MAX);
	assert_null(back->migration_id.data);
	gisa__v1__mig_message__free_unpacked(back, NULL);
	got_release(&l);
	gisa_fbuf_release(&b);
}

/* ---- a hostile stream ------------------------------------------------------------------------ */

#define FUZZ_ITERATIONS 10000
#define FUZZ_STREAMS    3

struct fuzz_src {
	uint8_t *obj[FUZZ_STREAMS + 1];
	size_t len[FUZZ_STREAMS + 1];
	struct gisa_fbuf stream;
};

/* An announcing MSG: 'B', stream (u32), size (u64). */
static void put_announce(struct gisa_fbuf *b, uint32_t stream, uint64_t size)
{
	uint8_t m[13];

	m[0] = 'B';
	be32(m + 1, stream);
	be64(m + 5, size);
	assert_int_equal(gisa_fbuf_put(b, GISA_FRAME_MSG, m, sizeof(m)), 0);
}

static void fuzz_build(struct fuzz_src *s)
{
	static const size_t sizes[FUZZ_STREAMS + 1] = { 0, 3000, 700, 1 };
	static const size_t chunks[FUZZ_STREAMS + 1] = { 0, 512, 100, 0 };
	uint8_t hello[40], digest[32];

	memset(s, 0, sizeof(*s));
	fill(hello, sizeof(hello), 31);
	assert_int_equal(gisa_fbuf_put(&s->stream, GISA_FRAME_MSG, hello, sizeof(hello)), 0);
	for (uint32_t i = 1; i <= FUZZ_STREAMS; i++) {
		s->len[i] = sizes[i];
		s->obj[i] = malloc(sizes[i]);
		assert_non_null(s->obj[i]);
		fill(s->obj[i], sizes[i], 40 + i);
		put_announce(&s->stream, i, sizes[i]);
		put_object(&s->stream, i, s->obj[i], sizes[i], chunks[i], digest);
	}
	assert_int_equal(gisa_fbuf_put(&s->stream, GISA_FRAME_MSG, "BYE", 3), 0);
}

struct fuzz_stats {
	unsigned clean;          /* the whole stream went through */
	unsigned incomplete;     /* no refusal, but a frame or an object was cut short */
	unsigned frame_errors;   /* the decoder refused */
	unsigned object_errors;  /* the reassembler refused */
	unsigned objects;        /* objects completed (all equal to the originals) */
};

/*
 * A daemon-like receiver: decode frames from random pieces; an announcing
 * MSG begins a stream, CHUNK and END go to the reassembler, and the first
 * refusal ends the connection.  Every completed object must be the one
 * sent under its stream id.
 */
static void fuzz_receive(const struct fuzz_src *s, const uint8_t *buf, size_t len,
			 struct fuzz_stats *st)
{
	const struct gisa_frame_limits lim = { 4096, 256 };
	struct gisa_frame_decoder *d = NULL;
	struct gisa_reasm *r = NULL;
	struct gisa_frame_error err;
	size_t pos = 0;
	int rc = 0;

	assert_int_equal(gisa_frame_decoder_new(&lim, &d), 0);
	assert_int_equal(gisa_reasm_new(8192, &r), 0);
	while (pos < len) {
		size_t piece = len - pos, used;
		struct gisa_frame f;

		if (rnd() & 1)
			piece = 1 + rnd_below(piece < 300 ? piece : 300);
		rc = gisa_frame_decode(d, buf + pos, piece, &used, &f, &err);
		assert_true(used <= piece);
		pos += used;
		if (rc < 0) {
			assert_true(rc == -EBADMSG || rc == -E2BIG || rc == -EPROTONOSUPPORT);
			assert_true(err.msg[0] != 0);
			st->frame_errors++;
			goto out;
		}
		if (!rc)
			continue;
		assert_true(f.len <= (f.type == GISA_FRAME_MSG ? 256u : 4096u));
		if (f.type == GISA_FRAME_MSG) {
			if (f.len == 13 && f.payload[0] == 'B') {
				uint32_t id = (uint32_t)f.payload[1] << 24 | f.payload[2] << 16 |
					      f.payload[3] << 8 | f.payload[4];
				uint64_t size = 0;

				for (int i = 5; i < 13; i++)
					size = size << 8 | f.payload[i];
				gisa_reasm_cancel(r);
				rc = gisa_reasm_begin(r, id, size, &err);
			}
		} else {
			rc = gisa_reasm_feed(r, &f, &err);
			if (rc == 1) {
				uint8_t *obj = NULL, sha[32], want[32];
				size_t n = 0;
				uint32_t id = (uint32_t)f.payload[0] << 24 | f.payload[1] << 16 |
					      f.payload[2] << 8 | f.payload[3];

				assert_int_equal(gisa_reasm_take(r, &obj, &n, sha), 0);
				assert_true(id >= 1 && id <= FUZZ_STREAMS);
				assert_int_equal(n, s->len[id]);
				assert_memory_equal(obj, s->obj[id], n);
				sha256(obj, n, want);
				assert_memory_equal(sha, want, 32);
				free(obj);
				st->objects++;
			}
		}
		if (rc < 0) {
			assert_true(rc == -EBADMSG || rc == -E2BIG || rc == -EBUSY);
			assert_true(err.msg[0] != 0);
			st->object_errors++;
			goto out;
		}
	}
	if (gisa_frame_decoder_pending(d) || gisa_reasm_open(r))
		st->incomplete++;
	else
		st->clean++;
out:
	gisa_reasm_free(r);
	gisa_frame_decoder_free(d);
}

/* One random mutation of b (len in *len, room for cap bytes). */
static void mutate(uint8_t *b, size_t *len, size_t cap)
{
	size_t n = *len, at = rnd_below(n ? n : 1), k;

	switch (rnd_below(8)) {
	case 0:         /* flip a bit */
		if (n)
			b[at] ^= (uint8_t)(1u << rnd_below(8));
		break;
	case 1:         /* a random byte */
		if (n)
			b[at] = (uint8_t)rnd();
		break;
	case 2: {       /* an interesting byte */
		static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xa7, 0xff };

		if (n)
			b[at] = v[rnd_below(sizeof(v))];
		break;
	}
	case 3:         /* delete a range */
		k = 1 + rnd_below(16);
		if (k > n - at)
			k = n - at;
		memmove(b + at, b + at + k, n - at - k);
		*len = n - k;
		break;
	case 4:         /* insert random bytes */
		k = 1 + rnd_below(16);
		if (n + k > cap)
			break;
		memmove(b + at + k, b + at, n - at);
		for (size_t i = 0; i < k; i++)
			b[at + i] = (uint8_t)rnd();
		*len = n + k;
		break;
	case 5: {       /* copy a range elsewhere (a replay) */
		size_t from = rnd_below(n ? n : 1);

		k = 1 + rnd_below(600);
		if (k > n - from)
			k = n - from;
		if (n + k > cap)
			break;
		memmove(b + at + k, b + at, n - at);
		memmove(b + at, b + (from < at ? from : from + k), k);
		*len = n + k;
		break;
	}
	case 6:         /* truncate */
		*len = at;
		break;
	default:        /* a big-endian u32 (lengths, ids, seqs) */
		if (n >= 4) {
			static const uint32_t v[] = { 0, 1, 47, 48, 49, 4096, 4097, 0x7fffffff,
						      0xffffffffu, 0x01000000 };

			at = rnd_below(n - 3);
			be32(b + at, v[rnd_below(ARRAY_SIZE(v))]);
		}
		break;
	}
}

static void hostile_stream_fuzz(void **state)
{
	struct fuzz_src s;
	struct fuzz_stats st = { 0 };
	size_t cap;
	uint8_t *buf;

	(void)state;
	rng_state = 0x243f6a8885a308d3ull;
	fuzz_build(&s);
	cap = s.stream.len * 2 + 1024;
	buf = malloc(cap);
	assert_non_null(buf);

	/* The unmutated stream passes, in any pieces. */
	for (int i = 0; i < 20; i++)
		fuzz_receive(&s, s.stream.data, s.stream.len, &st);
	assert_int_equal(st.clean, 20);
	assert_int_equal(st.objects, 20 * FUZZ_STREAMS);

	memset(&st, 0, sizeof(st));
	for (int i = 0; i < FUZZ_ITERATIONS; i++) {
		size_t len = s.stream.len;
		unsigned muts = 1 + (unsigned)rnd_below(4);

		memcpy(buf, s.stream.data, len);
		for (unsigned m = 0; m < muts; m++)
			mutate(buf, &len, cap);
		fuzz_receive(&s, buf, len, &st);
	}
	print_message("fuzz: %u clean, %u cut short, %u frame refusals, %u object refusals, "
		      "%u objects\n", st.clean, st.incomplete, st.frame_errors, st.object_errors,
		      st.objects);
	assert_int_equal(st.clean + st.incomplete + st.frame_errors + st.object_errors,
			 FUZZ_ITERATIONS);
	assert_true(st.frame_errors > 0);
	assert_true(st.object_errors > 0);
	assert_true(st.objects > 0);

	for (uint32_t i = 1; i <= FUZZ_STREAMS; i++)
		free(s.obj[i]);
	gisa_fbuf_release(&s.stream);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limits_defaults_and_refusals),
		cmocka_unit_test(header_layout),
		cmocka_unit_test(header_errors),
		cmocka_unit_test(header_default_caps),
		cmocka_unit_test(encode_checks),
		cmocka_unit_test(round_trip_all_types),
		cmocka_unit_test(payload_stream_zero),
		cmocka_unit_test(decoder_stops_at_frame_end),
		cmocka_unit_test(decoder_grows_with_arrivals),
		cmocka_unit_test(object_round_trips),
		cmocka_unit_test(chunker_by_reference),
		cmocka_unit_test(reasm_order_refusals),
		cmocka_unit_test(reasm_end_refusals),
		cmocka_unit_test(reasm_caps_before_allocation),
		cmocka_unit_test(reasm_stream_ids),
		cmocka_unit_test(chain_definition),
		cmocka_unit_test(msg_frame_carries_migmessage),
		cmocka_unit_test(hostile_stream_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
