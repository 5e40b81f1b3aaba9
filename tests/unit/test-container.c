/* SPDX-License-Identifier: MIT */
/*
 * The snapshot container and the decoder's refusals.
 *
 * Files are built here byte by byte from the layout drawn in codec.c (and
 * docs/SNAPSHOT-FORMAT.md), with a hand-written protobuf encoder for the
 * Header and State messages, so that each check of the reader is reached
 * on its own: truncated preamble, magic, minimum reader version (with both
 * versions in the message), flags, the length caps (-E2BIG before anything
 * is allocated, proved by watching every allocation), lengths against the
 * file size, the header check, the header's fields, the zstd frame, the
 * digest, the State's fields and the model's checks.  Every refusal must
 * carry its exact error code and a message naming the field and its value,
 * and must leave the caller's outputs untouched.
 *
 * Also: the layout of the files the encoder writes, a file from a newer
 * minor version with unknown fields (read; the digest this reader computes
 * drops them), decoding of the largest valid state within the budget,
 * gisa_snap_info, gisa_snap_info_head (the same answers from the
 * preamble, header and stored digest alone; a damaged payload unseen), and
 * gisa_snap_reseal.
 */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <zstd.h>

#include "support.h"

#include "../support-snap/snaptest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024u * 1024u)

#include "allocwatch.h"

/* ---- messages ------------------------------------------------------------------ */

/* Does msg contain value as a decimal or a 0x-hex number token? */
static bool msg_has_number(const char *msg, uint64_t value)
{
	for (const char *p = msg; *p; p++) {
		char *end;
		uint64_t v;

		if (!isdigit((unsigned char)*p) || (p > msg && isalnum((unsigned char)p[-1])))
			continue;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			v = strtoull(p + 2, &end, 16);
		else
			v = strtoull(p, &end, 10);
		if (v == value)
			return true;
		p = end - 1;
	}
	return false;
}

static bool msg_has_word(const char *msg, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = msg; *p; p++)
		if (!strncasecmp(p, word, n))
			return true;
	return false;
}

/*
 * Decoding must fail with `code`; the message must name each of `words`
 * and each of the `nums` values; the outputs must be untouched.
 */
static void expect_refused_n(const uint8_t *buf, size_t len, int code, const char *const *words,
			     size_t nwords, const uint64_t *nums, size_t nnums)
{
	static char sentinel_obj;
	struct gisa_image *sentinel = (struct gisa_image *)(void *)&sentinel_obj, *img = sentinel;
	struct gisa_snap_info info, pattern;
	struct gisa_snap_error err;
	int r;

	memset(&info, 0xa5, sizeof(info));
	memset(&pattern, 0xa5, sizeof(pattern));
	memset(&err, 0, sizeof(err));
	r = gisa_snap_decode(buf, len, &img, &info, &err);
	if (r != code || getenv("SNAPT_VERBOSE"))
		print_error("decode returned %d, expected %d: \"%s\"\n", r, code, err.msg);
	assert_int_equal(r, code);
	assert_ptr_equal(img, sentinel);
	assert_memory_equal(&info, &pattern, sizeof(info));
	assert_true(strlen(err.msg) > 0);
	for (size_t i = 0; i < nwords; i++) {
		if (!msg_has_word(err.msg, words[i])) {
			print_error("message \"%s\" does not name \"%s\"\n", err.msg, words[i]);
			fail();
		}
	}
	for (size_t i = 0; i < nnums; i++) {
		if (!msg_has_number(err.msg, nums[i])) {
			print_error("message \"%s\" does not give the value %llu (0x%llx)\n",
				    err.msg, (unsigned long long)nums[i],
				    (unsigned long long)nums[i]);
			fail();
		}
	}
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__ })
#define NUMS(...) ((const uint64_t[]){ __VA_ARGS__ })

/* expect_refused(buf, len, code, WORDS("a", "b"), NUMS(1, 2)) */
#define expect_refused(buf, len, code, words, nums)                                     \
	expect_refused_n(buf, len, code, words, sizeof(words) / sizeof(const char *), nums, \
			 sizeof(nums) / sizeof(uint64_t))
#define NO_NUMS ((const uint64_t[]){ 0 })
#define expect_refused_words(buf, len, code, words) \
	expect_refused_n(buf, len, code, words, sizeof(words) / sizeof(const char *), NO_NUMS, 0)

static struct gisa_image *decode_ok(const uint8_t *buf, size_t len, struct gisa_snap_info *info)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_image *img = NULL;
	int r = gisa_snap_decode(buf, len, &img, info, &err);

	if (r) {
		print_error("decode: %d: %s\n", r, err.msg);
		fail();
	}
	return img;
}

/* ---- sample states --------------------------------------------------------------- */

/* A NEWEST VM with every section: lists, service, mchk, adapters, maps, routes, GISA. */
static struct gisa_image *sample_image(void)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = t_vm_new(&host, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 3);
	struct gisa_irq recs[] = {
		t_io(0x0001, 1, 0xa, 0), t_io(0x0002, 2, 0xb, 3), t_srv(0x1001),
		t_virt(0x11, 0x22), t_pfd(0x33), t_mck(GISA_CR14_CHANNEL_REPORT, 5),
		t_ai(2),
	};
	struct gisa_route_entry routes[] = {
		t_route(1, 0x10000, 5, 0x20000, 0, 0), t_route(9, 0x30ff8, 3, 0x30000, 7, 1),
	};
	struct gisa_image *img;

	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	assert_int_equal(t_register(vm, 0, 3, 1, 0, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_register(vm, 1, 5, 1, 1, 0), 0);
	assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
	assert_int_equal(gisa_routes_set(vm, routes, ARRAY_SIZE(routes), 0), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	assert_int_equal(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
	t_vcpu_all_on(vm, 0);
	t_vcpu_set(vm, 2, 0, 0, 0, 0, GISA_VCPU_STOPPED);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	t_vm_free(vm, host);
	return img;
}

static const uint8_t uuid[16] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static const struct gisa_snap_meta sample_meta = {
	.vm_name = "sample", .vm_uuid = uuid, .created_unix_ns = 1767225600123456789ull,
	.producer = "test-container",
};

static uint8_t *encode(const struct gisa_image *img, bool compress, size_t *ret_len)
{
	struct gisa_snap_opts o = { .compress = compress, .level = 0 };
	uint8_t *buf = NULL;

	assert_int_equal(gisa_snap_encode(img, &sample_meta, &o, &buf, ret_len), 0);
	return buf;
}

/* A sample file (stored or compressed); its state bytes too if asked. */
static uint8_t *sample_file(bool compress, size_t *ret_len, uint8_t **ret_state,
			    size_t *ret_state_len)
{
	struct gisa_image *img = sample_image();
	uint8_t *buf = encode(img, compress, ret_len);

	if (ret_state)
		assert_int_equal(gisa_snap_state_bytes(img, ret_state, ret_state_len), 0);
	gisa_image_free(img);
	return buf;
}

/* Header fields as this writer emits them (hand-encoded). */
static void header_fields(struct snapt_pb *h, uint32_t fv, uint32_t profile, uint32_t caps,
			  bool zstd)
{
	snapt_pb_uint(h, 1, fv);
	snapt_pb_uint(h, 2, 1);
	if (profile)
		snapt_pb_uint(h, 3, profile);
	if (caps)
		snapt_pb_uint(h, 4, caps);
	snapt_pb_bytes(h, 8, "hand", 4);
	if (zstd) {
		snapt_pb_uint(h, 9, 1);
		snapt_pb_uint(h, 10, 3);
	}
}

/* A file around given header and state bytes, stored or as one zstd frame. */
static uint8_t *wrap(uint16_t fv, uint16_t min_reader, const struct snapt_pb *hdr,
		     const uint8_t *state, size_t slen, bool zstd, size_t *ret_len)
{
	uint8_t digest[32], *payload = (uint8_t *)state, *buf;
	size_t plen = slen;
	struct snapt_container c;

	snapt_sha256(state, slen, NULL, 0, digest);
	if (zstd) {
		size_t bound = ZSTD_compressBound(slen);

		payload = malloc(bound);
		assert_non_null(payload);
		plen = ZSTD_compress(payload, bound, state, slen, 3);
		assert_false(ZSTD_isError(plen));
	}
	c = (struct snapt_container){
		.format_version = fv, .min_reader_version = min_reader,
		.flags = zstd ? GISA_SNAP_FLAG_ZSTD : 0,
		.header = hdr->b, .header_len = hdr->n, .state_len = slen,
		.payload = payload, .payload_len = plen, .digest = digest,
	};
	snapt_build(&c, &buf, ret_len);
	if (zstd)
		free(payload);
	return buf;
}

/* A hand-written State for config (profile, caps) with nr_vcpus empty vcpus. */
static void state_head(struct snapt_pb *s, uint32_t profile, uint32_t caps, uint32_t nr_vcpus)
{
	if (profile)
		snapt_pb_uint(s, 1, profile);
	if (caps)
		snapt_pb_uint(s, 2, caps);
	if (nr_vcpus)
		snapt_pb_uint(s, 3, nr_vcpus);
	snapt_pb_uint(s, 4, 64 * MIB);
	snapt_pb_uint(s, 6, 1);
}

static void state_vcpus(struct snapt_pb *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		snapt_pb_bytes(s, 24, NULL, 0);
}

static uint8_t *wrap_state(const struct snapt_pb *st, uint32_t profile, uint32_t caps,
			   bool zstd, size_t *ret_len)
{
	struct snapt_pb h = { 0 };
	uint8_t *buf;

	header_fields(&h, 1, profile, caps, zstd);
	buf = wrap(1, 1, &h, st->b, st->n, zstd, ret_len);
	free(h.b);
	return buf;
}

/* ---- the layout of what the encoder writes --------------------------------------- */

/* The value of the first occurrence of a field in protobuf bytes (0 = absent). */
static bool pb_find(const uint8_t *b, size_t n, uint32_t field, uint64_t *val,
		    const uint8_t **data, size_t *dlen)
{
	size_t i = 0;

	while (i < n) {
		uint64_t key = 0, v = 0;
		unsigned shift = 0;

		do
			key |= (uint64_t)(b[i] & 0x7f) << shift, shift += 7;
		while (b[i++] & 0x80);
		if ((key & 7) == 0 || (key & 7) == 2) {
			shift = 0;
			do
				v |= (uint64_t)(b[i] & 0x7f) << shift, shift += 7;
			while (b[i++] & 0x80);
		} else {
			fail_msg("unexpected wire type %u", (unsigned)(key & 7));
		}
		if ((key >> 3) == field) {
			*val = v;
			if ((key & 7) == 2) {
				*data = b + i;
				*dlen = (size_t)v;
			}
			return true;
		}
		if ((key & 7) == 2)
			i += (size_t)v;
	}
	return false;
}

static uint64_t pb_uint(const uint8_t *b, size_t n, uint32_t field)
{
	const uint8_t *d = NULL;
	size_t dl = 0;
	uint64_t v = 0;

	return pb_find(b, n, field, &v, &d, &dl) ? v : 0;
}

static void layout_matches_the_drawing(void **state)
{
	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		uint8_t *st, *buf, check[32], digest[32];
		size_t slen, len, dlen = 0;
		const uint8_t *d = NULL, *hdr, *payload;
		uint64_t h, s, p, v;

		buf = sample_file(compress, &len, &st, &slen);
		assert_memory_equal(buf, "GISASNAP", 8);
		assert_int_equal(snapt_get_be(buf + SNAPT_OFF_VERSION, 2), 1);
		assert_int_equal(snapt_get_be(buf + SNAPT_OFF_MINREADER, 2), 1);
		assert_int_equal(snapt_get_be(buf + SNAPT_OFF_FLAGS, 4), compress);
		h = snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
		s = snapt_get_be(buf + SNAPT_OFF_SLEN, 8);
		p = snapt_get_be(buf + SNAPT_OFF_PLEN, 8);
		assert_int_equal(s, slen);
		assert_int_equal(len, SNAPT_PREAMBLE + h + p + 32);
		snapt_sha256(buf, 36, buf + SNAPT_PREAMBLE, (size_t)h, check);
		assert_memory_equal(buf + SNAPT_OFF_CHECK, check, 8);

		hdr = buf + SNAPT_PREAMBLE;
		assert_int_equal(pb_uint(hdr, h, 1), 1);                  /* format_version */
		assert_int_equal(pb_uint(hdr, h, 2), 1);                  /* min_reader_version */
		assert_int_equal(pb_uint(hdr, h, 3), GISA_PROFILE_NEWEST);
		assert_int_equal(pb_uint(hdr, h, 4), GISA_CAP_ALL);
		assert_true(pb_find(hdr, h, 5, &v, &d, &dlen));
		assert_int_equal(dlen, 6);
		assert_memory_equal(d, "sample", 6);
		assert_true(pb_find(hdr, h, 6, &v, &d, &dlen));
		assert_int_equal(dlen, 16);
		assert_memory_equal(d, uuid, 16);
		assert_int_equal(pb_uint(hdr, h, 7), sample_meta.created_unix_ns);
		assert_true(pb_find(hdr, h, 8, &v, &d, &dlen));
		assert_int_equal(dlen, strlen("test-container"));
		assert_int_equal(pb_uint(hdr, h, 9), compress);           /* compression */
		assert_int_equal(pb_uint(hdr, h, 10), compress ? GISA_SNAP_DEFAULT_LEVEL : 0);

		payload = hdr + h;
		if (compress) {
			uint8_t *out = malloc(slen);

			assert_int_equal(ZSTD_getFrameContentSize(payload, p), slen);
			assert_int_equal(ZSTD_decompress(out, slen, payload, p), slen);
			assert_memory_equal(out, st, slen);
			free(out);
		} else {
			assert_int_equal(p, slen);
			assert_memory_equal(payload, st, slen);
		}
		snapt_sha256(st, slen, NULL, 0, digest);
		assert_memory_equal(payload + p, digest, 32);
		free(st);
		free(buf);
	}
}

/* ---- the preamble ----------------------------------------------------------------- */

static void truncated_preamble(void **state)
{
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = sample_file(true, &len, NULL, NULL);
	for (size_t n = 0; n < GISA_SNAP_PREAMBLE_SIZE; n++)
		expect_refused(buf, n, -EBADMSG, WORDS("truncated"), NUMS(n, 44));
	expect_refused(NULL, 0, -EBADMSG, WORDS("truncated"), NUMS(0, 44));
	free(buf);
}

static void bad_magic(void **state)
{
	char hex[17];
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = sample_file(true, &len, NULL, NULL);
	for (unsigned i = 0; i < 8; i++) {
		const char *words[2] = { "magic", hex };

		/* The bad magic is quoted, as hex digits with or without 0x. */
		buf[i] ^= 0x20;
		snapt_recheck(buf, len);
		snapt_hex(buf, 8, hex);
		expect_refused_n(buf, len, -EBADMSG, words, 2, NULL, 0);
		buf[i] ^= 0x20;
	}
	free(buf);
}

static void min_reader_above_ours(void **state)
{
	static const uint16_t versions[] = { 2, 3, 0x100, 0xffff };
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = sample_file(true, &len, NULL, NULL);
	for (unsigned i = 0; i < ARRAY_SIZE(versions); i++) {
		struct gisa_snap_info info;
		struct gisa_snap_error err = { .msg = "" };

		snapt_be(buf + SNAPT_OFF_MINREADER, versions[i], 2);
		snapt_be(buf + SNAPT_OFF_VERSION, versions[i], 2);
		snapt_recheck(buf, len);
		expect_refused(buf, len, -EPROTONOSUPPORT, WORDS("version"),
			       NUMS(versions[i], GISA_SNAP_READER_VERSION));
		assert_int_equal(gisa_snap_info(buf, len, &info, &err), -EPROTONOSUPPORT);
		assert_true(msg_has_number(err.msg, versions[i]));
		assert_true(msg_has_number(err.msg, GISA_SNAP_READER_VERSION));
		/* ... and also when the rest of the file is garbage after the preamble. */
		expect_refused(buf, SNAPT_PREAMBLE, -EPROTONOSUPPORT, WORDS("version"),
			       NUMS(versions[i], GISA_SNAP_READER_VERSION));
	}
	free(buf);
}

static void unknown_flags(void **state)
{
	static const uint32_t flags[] = { 0x2, 0x3, 0x80000000, 0xfffffffe, 0x10 };
	uint8_t *buf;
	size_t len;

	(void)state;
	buf = sample_file(true, &len, NULL, NULL);
	for (unsigned i = 0; i < ARRAY_SIZE(flags); i++) {
		snapt_be(buf + SNAPT_OFF_FLAGS, flags[i], 4);
		snapt_recheck(buf, len);
		expect_refused(buf, len, -EBADMSG, WORDS("flags"), NUMS(flags[i]));
	}
	free(buf);
}

/* A 76-byte file (no header, no payload) declaring lengths; check valid. */
static void tiny_file(uint8_t *buf, uint32_t flags, uint32_t h, uint64_t s, uint64_t p)
{
	memset(buf, 0, 76);
	memcpy(buf, "GISASNAP", 8);
	snapt_be(buf + SNAPT_OFF_VERSION, 1, 2);
	snapt_be(buf + SNAPT_OFF_MINREADER, 1, 2);
	snapt_be(buf + SNAPT_OFF_FLAGS, flags, 4);
	snapt_be(buf + SNAPT_OFF_HLEN, h, 4);
	snapt_be(buf + SNAPT_OFF_SLEN, s, 8);
	snapt_be(buf + SNAPT_OFF_PLEN, p, 8);
	snapt_sha256(buf, 36, NULL, 0, buf + 44);    /* scratch; h bytes are not in the file */
	memcpy(buf + SNAPT_OFF_CHECK, buf + 44, 8);
	memset(buf + 44, 0, 32);
}

static void lengths_over_their_caps(void **state)
{
	const uint64_t pcap = ZSTD_compressBound(GISA_SNAP_MAX_STATE);
	uint8_t buf[76];

	(void)state;
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, GISA_SNAP_MAX_HEADER + 1, 10, 10);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("header"),
		       NUMS(GISA_SNAP_MAX_HEADER + 1));
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, 0xffffffffu, 10, 10);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("header"), NUMS(0xffffffffu));
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, 0, GISA_SNAP_MAX_STATE + 1ull, 0);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("state"),
		       NUMS(GISA_SNAP_MAX_STATE + 1ull));
	tiny_file(buf, 0, 0, UINT64_MAX, UINT64_MAX);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("state"), NUMS(UINT64_MAX));
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, 0, 100, pcap + 1);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("payload"), NUMS(pcap + 1));
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, 0, 100, UINT64_MAX);
	expect_refused(buf, sizeof(buf), -E2BIG, WORDS("payload"), NUMS(UINT64_MAX));
	/* At the caps exactly, the lengths are checked against the file instead. */
	tiny_file(buf, GISA_SNAP_FLAG_ZSTD, GISA_SNAP_MAX_HEADER, GISA_SNAP_MAX_STATE, 0);
	expect_refused(buf, sizeof(buf), -EBADMSG, WORDS("bytes"),
		       NUMS(76, 76ull + GISA_SNAP_MAX_HEADER));
}

/*
 * gisa_snap_size: a file's size from its preamble alone, whatever follows
 * (a preallocated slot's zero padding), with the preamble's own refusals.
 */
static void size_from_the_preamble(void **state)
{
	size_t len, i;
	uint8_t *f = sample_file(true, &len, NULL, NULL);
	uint8_t *padded = calloc(1, len + 4096), tiny[76], zeros[GISA_SNAP_PREAMBLE_SIZE] = { 0 };
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_image *img = NULL;
	uint64_t size = 0;

	(void)state;
	assert_non_null(padded);
	memcpy(padded, f, len);
	assert_int_equal(gisa_snap_size(padded, len + 4096, &size, &err), 0);
	assert_int_equal(size, len);
	/* The preamble is enough. */
	size = 0;
	assert_int_equal(gisa_snap_size(f, GISA_SNAP_PREAMBLE_SIZE, &size, &err), 0);
	assert_int_equal(size, len);
	/* The padded file does not decode; its first `size' bytes do. */
	assert_int_equal(gisa_snap_decode(padded, len + 4096, &img, NULL, &err), -EBADMSG);
	assert_int_equal(gisa_snap_decode(padded, (size_t)size, &img, NULL, &err), 0);
	gisa_image_free(img);
	/* Not a snapshot: a slot never written, a short read, a foreign file. */
	size = 7;
	assert_int_equal(gisa_snap_size(zeros, sizeof(zeros), &size, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));
	assert_int_equal(size, 7);
	assert_int_equal(gisa_snap_size(f, GISA_SNAP_PREAMBLE_SIZE - 1, &size, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "truncated"));
	assert_int_equal(size, 7);
	/* Caps before arithmetic: no size from absurd lengths. */
	tiny_file(tiny, 0, 0, UINT64_MAX, UINT64_MAX);
	assert_int_equal(gisa_snap_size(tiny, sizeof(tiny), &size, &err), -E2BIG);
	tiny_file(tiny, GISA_SNAP_FLAG_ZSTD, GISA_SNAP_MAX_HEADER + 1, 10, 10);
	assert_int_equal(gisa_snap_size(tiny, sizeof(tiny), &size, &err), -E2BIG);
	assert_int_equal(size, 7);
	/* The largest sizes the caps allow. */
	tiny_file(tiny, GISA_SNAP_FLAG_ZSTD, GISA_SNAP_MAX_HEADER, GISA_SNAP_MAX_STATE,
		  ZSTD_compressBound(GISA_SNAP_MAX_STATE));
	assert_int_equal(gisa_snap_size(tiny, sizeof(tiny), &size, &err), 0);
	assert_int_equal(size, 76ull + GISA_SNAP_MAX_HEADER + ZSTD_compressBound(GISA_SNAP_MAX_STATE));
	/* Every truncation of the preamble is refused. */
	for (i = 0; i < GISA_SNAP_PREAMBLE_SIZE; i++)
		assert_int_equal(gisa_snap_size(f, i, &size, NULL), -EBADMSG);
	free(padded);
	free(f);
}

/*
 * A tiny file that declares a huge state must be refused before anything of
 * that size is allocated: neither the declared lengths nor a zstd frame
 * header may make the reader allocate more than the file could possibly
 * hold.  (A zstd block expands to at most 128 KiB, so a payload of P bytes
 * cannot decompress to more than about 32768 * P bytes.)
 */
static void tiny_file_huge_length_refused_before_allocation(void **state)
{
	/* A zstd frame header declaring 64 MiB of content, then one RLE block. */
	static const uint8_t frame[] = {
		0x28, 0xb5, 0x2f, 0xfd,                 /* magic */
		0xe0,                                   /* single segment, 8-byte size */
		0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,   /* 64 MiB, LE */
		0x03, 0x00, 0x10,                       /* last, RLE, 128 KiB */
		0x00,
	};
	uint8_t tiny[76], *buf, zero[32] = { 0 };
	struct snapt_container c;
	struct snapt_pb h = { 0 };
	size_t len;
	bool watched;

	(void)state;
	assert_int_equal(ZSTD_getFrameContentSize(frame, sizeof(frame)), 64 * MIB);

	/* 76 bytes: S = 64 MiB (at the cap), compressed, the payload empty. */
	tiny_file(tiny, GISA_SNAP_FLAG_ZSTD, 0, GISA_SNAP_MAX_STATE, 0);
	watched = watch_start();
	expect_refused_words(tiny, sizeof(tiny), -EBADMSG, WORDS("zstd"));
	watch_stop();
	if (watched)
		assert_true(watch.largest < MIB);

	/* Just over the cap: -E2BIG, nothing allocated for it. */
	tiny_file(tiny, GISA_SNAP_FLAG_ZSTD, 0, GISA_SNAP_MAX_STATE + 1ull, 0);
	watched = watch_start();
	expect_refused(tiny, sizeof(tiny), -E2BIG, WORDS("state"),
		       NUMS(GISA_SNAP_MAX_STATE + 1ull));
	watch_stop();
	if (watched)
		assert_true(watch.largest < MIB);

	/* 93 bytes whose frame header declares 64 MiB: refused without a 64 MiB buffer. */
	c = (struct snapt_container){
		.format_version = 1, .min_reader_version = 1, .flags = GISA_SNAP_FLAG_ZSTD,
		.header = h.b, .header_len = 0, .state_len = GISA_SNAP_MAX_STATE,
		.payload = frame, .payload_len = sizeof(frame), .digest = zero,
	};
	snapt_build(&c, &buf, &len);
	assert_int_equal(len, 93);
	watched = watch_start();
	expect_refused_words(buf, len, -EBADMSG, WORDS("zstd"));
	watch_stop();
	free(buf);
	if (watched) {
		if (watch.largest >= MIB)
			print_error("a %zu-byte file made the reader allocate %zu bytes at once\n",
				    len, watch.largest);
		assert_true(watch.largest < MIB);
	}
}

static void lengths_disagree_with_the_file(void **state)
{
	uint8_t *buf, *big;
	size_t len;
	uint64_t h, s;

	(void)state;
	buf = sample_file(true, &len, NULL, NULL);
	h = snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
	/* One byte more or less than the lengths say. */
	big = calloc(1, len + 1);
	memcpy(big, buf, len);
	expect_refused(big, len + 1, -EBADMSG, WORDS("bytes"), NUMS(len + 1, len));
	expect_refused(buf, len - 1, -EBADMSG, WORDS("bytes"), NUMS(len - 1, len));
	/* A header length one larger than the header. */
	snapt_be(buf + SNAPT_OFF_HLEN, h + 1, 4);
	snapt_recheck(buf, len);
	expect_refused(buf, len, -EBADMSG, WORDS("bytes"), NUMS(len, len + 1));
	free(buf);
	free(big);

	/* Stored: payload length must equal the state length. */
	buf = sample_file(false, &len, NULL, NULL);
	s = snapt_get_be(buf + SNAPT_OFF_SLEN, 8);
	snapt_be(buf + SNAPT_OFF_SLEN, s - 1, 8);
	snapt_recheck(buf, len);
	expect_refused(buf, len, -EBADMSG, WORDS("payload"), NUMS(s, s - 1));
	free(buf);
}

static void header_check_mismatch(void **state)
{
	uint8_t *buf;
	size_t len;
	uint64_t h;

	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		buf = sample_file(compress, &len, NULL, NULL);
		h = snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
		/* The check itself, a preamble byte it covers, and a header byte. */
		buf[SNAPT_OFF_CHECK + 3] ^= 1;
		expect_refused_words(buf, len, -EBADMSG, WORDS("header check"));
		buf[SNAPT_OFF_CHECK + 3] ^= 1;
		buf[SNAPT_OFF_VERSION + 1] ^= 2;     /* format version 3: only the check fails */
		expect_refused_words(buf, len, -EBADMSG, WORDS("header check"));
		buf[SNAPT_OFF_VERSION + 1] ^= 2;
		buf[SNAPT_PREAMBLE + h - 1] ^= 0x40;
		expect_refused_words(buf, len, -EBADMSG, WORDS("header check"));
		buf[SNAPT_PREAMBLE + h - 1] ^= 0x40;
		free(buf);
	}
}

static void digest_mismatch(void **state)
{
	uint8_t *buf;
	size_t len;
	uint64_t h, p;

	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		buf = sample_file(compress, &len, NULL, NULL);
		h = snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
		p = snapt_get_be(buf + SNAPT_OFF_PLEN, 8);
		buf[len - 1] ^= 0x80;
		expect_refused_words(buf, len, -EBADMSG, WORDS("digest"));
		buf[len - 1] ^= 0x80;
		if (!compress) {
			/* A state byte: the payload is the state. */
			buf[SNAPT_PREAMBLE + h + p / 2] ^= 0x01;
			expect_refused_words(buf, len, -EBADMSG, WORDS("digest"));
		}
		free(buf);
	}
}

static void zstd_frame_size_differs(void **state)
{
	uint8_t *st, *big, *buf, digest[32], *frame;
	size_t slen, len, bound, flen;
	struct snapt_pb h = { 0 };
	struct snapt_container c;

	(void)state;
	free(sample_file(true, &len, &st, &slen));
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_ALL, true);
	snapt_sha256(st, slen, NULL, 0, digest);
	/* The frame holds the state and one byte more; the preamble says the state. */
	big = malloc(slen + 1);
	memcpy(big, st, slen);
	big[slen] = 0;
	bound = ZSTD_compressBound(slen + 1);
	frame = malloc(bound);
	flen = ZSTD_compress(frame, bound, big, slen + 1, 3);
	assert_false(ZSTD_isError(flen));
	c = (struct snapt_container){
		.format_version = 1, .min_reader_version = 1, .flags = GISA_SNAP_FLAG_ZSTD,
		.header = h.b, .header_len = h.n, .state_len = slen,
		.payload = frame, .payload_len = flen, .digest = digest,
	};
	snapt_build(&c, &buf, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("zstd"), NUMS(slen + 1, slen));
	free(buf);
	/* One byte less. */
	flen = ZSTD_compress(frame, bound, big, slen - 1, 3);
	c.payload_len = flen;
	snapt_build(&c, &buf, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("zstd"), NUMS(slen - 1, slen));
	free(buf);
	free(frame);
	free(big);
	free(st);
	free(h.b);
}

static void payload_not_a_zstd_frame(void **state)
{
	uint8_t *st, *buf, digest[32];
	size_t slen, len;
	struct snapt_pb h = { 0 };
	struct snapt_container c;

	(void)state;
	free(sample_file(true, &len, &st, &slen));
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_ALL, true);
	snapt_sha256(st, slen, NULL, 0, digest);
	/* The stored state bytes under the zstd flag. */
	c = (struct snapt_container){
		.format_version = 1, .min_reader_version = 1, .flags = GISA_SNAP_FLAG_ZSTD,
		.header = h.b, .header_len = h.n, .state_len = slen,
		.payload = st, .payload_len = slen, .digest = digest,
	};
	snapt_build(&c, &buf, &len);
	expect_refused_words(buf, len, -EBADMSG, WORDS("zstd"));
	free(buf);
	/* An empty payload, and a frame magic alone. */
	c.payload_len = 0;
	snapt_build(&c, &buf, &len);
	expect_refused_words(buf, len, -EBADMSG, WORDS("zstd"));
	free(buf);
	c.payload = (const uint8_t *)"\x28\xb5\x2f\xfd";
	c.payload_len = 4;
	snapt_build(&c, &buf, &len);
	expect_refused_words(buf, len, -EBADMSG, WORDS("zstd"));
	free(buf);
	free(st);
	free(h.b);
}

/* ---- the header --------------------------------------------------------------------- */

static uint8_t *with_header(const struct snapt_pb *h, size_t *ret_len)
{
	struct snapt_pb st = { 0 };
	uint8_t *buf;

	state_head(&st, GISA_PROFILE_NEWEST, GISA_CAP_GISA, 1);
	state_vcpus(&st, 1);
	buf = wrap(1, 1, h, st.b, st.n, false, ret_len);
	free(st.b);
	return buf;
}

static void bad_header_fields(void **state)
{
	char name[300];
	uint8_t u[17] = { 0 };
	struct snapt_pb h = { 0 };
	uint8_t *buf;
	size_t len;

	(void)state;
	memset(name, 'n', sizeof(name));

	/* The base header is accepted. */
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
	buf = with_header(&h, &len);
	gisa_image_free(decode_ok(buf, len, NULL));
	free(buf);

	for (uint32_t profile = 2; profile < 10; profile += 5) {
		h.n = 0;
		header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
		snapt_pb_uint(&h, 3, profile);   /* a later occurrence wins */
		buf = with_header(&h, &len);
		expect_refused(buf, len, -EBADMSG, WORDS("header.profile"), NUMS(profile));
		free(buf);
	}
	h.n = 0;
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA | 0x4, false);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header.caps"), NUMS(0x5));
	free(buf);
	for (size_t ul = 0; ul <= 17; ul += 1) {
		if (ul == 16)
			continue;
		h.n = 0;
		header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
		snapt_pb_bytes(&h, 6, u, ul);
		buf = with_header(&h, &len);
		expect_refused(buf, len, -EBADMSG, WORDS("header.vm_uuid"), NUMS(ul));
		free(buf);
	}
	h.n = 0;
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
	snapt_pb_bytes(&h, 5, name, 256);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header.vm_name"), NUMS(256, 255));
	free(buf);
	h.n = 0;
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
	snapt_pb_bytes(&h, 8, name, 300);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header.producer"), NUMS(300, 255));
	free(buf);
	/* Text fields are protobuf strings: UTF-8, the first bad byte named. */
	for (unsigned f = 5; f <= 8; f += 3) {
		static const char bad[][8] = { "ab\xff", "\xc3(", "\xed\xa0\x80", "\xc0\xaf" };

		for (unsigned i = 0; i < 4; i++) {
			h.n = 0;
			header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
			snapt_pb_bytes(&h, f, bad[i], strlen(bad[i]));
			buf = with_header(&h, &len);
			expect_refused(buf, len, -EBADMSG,
				       WORDS(f == 5 ? "header.vm_name" : "header.producer", "UTF-8"),
				       NUMS((unsigned char)bad[i][i ? 0 : 2], i ? 0 : 2));
			free(buf);
		}
	}
	{
		struct gisa_snap_meta meta = { .vm_name = "caf\xe9" };
		struct gisa_image *img;
		uint8_t *out = NULL;
		size_t olen;

		h.n = 0;
		header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
		snapt_pb_bytes(&h, 5, "caf\xc3\xa9 \xf0\x9f\x90\x8d", 10);
		buf = with_header(&h, &len);
		img = decode_ok(buf, len, NULL);
		free(buf);
		assert_int_equal(gisa_snap_encode(img, &meta, NULL, &out, &olen), -EINVAL);
		assert_null(out);
		meta.vm_name = NULL;
		meta.producer = "\xff";
		assert_int_equal(gisa_snap_encode(img, &meta, NULL, &out, &olen), -EINVAL);
		gisa_image_free(img);
	}

	/* At the limits: a 255-byte name and a 16-byte uuid are read back. */
	{
		struct gisa_snap_info info;

		h.n = 0;
		header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_GISA, false);
		snapt_pb_bytes(&h, 5, name, 255);
		snapt_pb_bytes(&h, 6, uuid, 16);
		buf = with_header(&h, &len);
		gisa_image_free(decode_ok(buf, len, &info));
		assert_int_equal(strlen(info.vm_name), 255);
		assert_true(info.has_uuid);
		assert_memory_equal(info.vm_uuid, uuid, 16);
		assert_string_equal(info.producer, "hand");
		free(buf);
	}

	/* Not a Header at all (a truncated varint, a bad wire type). */
	h.n = 0;
	snapt_pb_raw(&h, "\x08\x80", 2);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header"), NUMS(2));
	free(buf);
	h.n = 0;
	snapt_pb_raw(&h, "\x0f\x01", 2);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header"), NUMS(2));
	free(buf);

	/* The header's requirements must be the state's. */
	h.n = 0;
	header_fields(&h, 1, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, false);
	buf = with_header(&h, &len);
	expect_refused_words(buf, len, -EBADMSG, WORDS("header", "profile"));
	free(buf);
	h.n = 0;
	header_fields(&h, 1, GISA_PROFILE_NEWEST, GISA_CAP_ALL, false);
	buf = with_header(&h, &len);
	expect_refused(buf, len, -EBADMSG, WORDS("header", "caps"), NUMS(3, 1));
	free(buf);
	free(h.b);
}

/* ---- the State -------------------------------------------------------------------- */

static void expect_state_refused(const struct snapt_pb *st, uint32_t profile, uint32_t caps,
				 int code, const char *word, uint64_t value)
{
	size_t len;
	uint8_t *buf = wrap_state(st, profile, caps, false, &len);

	expect_refused_n(buf, len, code, &word, 1, &value, 1);
	free(buf);
}

static void bad_state_fields(void **state)
{
	struct snapt_pb s = { 0 };
	uint8_t col[64];

	(void)state;
	memset(col, 0, sizeof(col));

	state_head(&s, 0, 0, 0);
	snapt_pb_uint(&s, 1, 2);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state.profile", 2);

	s.n = 0;
	state_head(&s, 0, 0, 0);
	snapt_pb_uint(&s, 5, 7);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state.abi_order", 7);

	s.n = 0;
	state_head(&s, 0, 0x10, 0);
	expect_state_refused(&s, 0, 0x10, -EBADMSG, "caps", 0x10);

	s.n = 0;
	state_head(&s, 0, 0, 3);
	state_vcpus(&s, 2);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state.vcpus", 3);

	s.n = 0;
	state_head(&s, 0, 0, 256);
	state_vcpus(&s, 256);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state.vcpus", 256);

	s.n = 0;
	state_head(&s, 0, 0, 0);
	snapt_pb_uint(&s, 14, 0x100);
	expect_state_refused(&s, 0, 0, -EBADMSG, "simm", 0x100);

	/* One vcpu with an unknown run state. */
	s.n = 0;
	state_head(&s, 0, 0, 1);
	snapt_pb_bytes(&s, 24, "\x28\x07", 2);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state.vcpus[0].run", 7);

	/* An I/O list for ISC 8, a count without columns, a short column. */
	{
		struct snapt_pb io = { 0 };

		snapt_pb_uint(&io, 1, 8);
		snapt_pb_uint(&io, 2, 1);
		s.n = 0;
		state_head(&s, 0, 0, 0);
		snapt_pb_bytes(&s, 17, io.b, io.n);
		expect_state_refused(&s, 0, 0, -EBADMSG, "state.io[0].isc", 8);

		io.n = 0;
		snapt_pb_uint(&io, 1, 3);
		snapt_pb_uint(&io, 2, 2);
		s.n = 0;
		state_head(&s, 0, 0, 0);
		snapt_pb_bytes(&s, 17, io.b, io.n);
		expect_state_refused(&s, 0, 0, -EBADMSG, "state.io", 2);

		snapt_pb_bytes(&io, 3, col, 8);       /* type: 2 x u32 */
		snapt_pb_bytes(&io, 4, col, 3);       /* subchannel_id: 3 bytes, not 4 */
		s.n = 0;
		state_head(&s, 0, 0, 0);
		snapt_pb_bytes(&s, 17, io.b, io.n);
		expect_state_refused(&s, 0, 0, -EBADMSG, "subchannel_id", 3);

		/* Complete columns, but the entries' word says ISC 0 in the ISC 3 list. */
		io.n = 0;
		snapt_pb_uint(&io, 1, 3);
		snapt_pb_uint(&io, 2, 1);
		snapt_pb_bytes(&io, 3, col, 4);
		snapt_pb_bytes(&io, 4, col, 2);
		snapt_pb_bytes(&io, 5, col, 2);
		snapt_pb_bytes(&io, 6, col, 4);
		snapt_pb_bytes(&io, 7, col, 4);
		s.n = 0;
		state_head(&s, 0, 0, 0);
		snapt_pb_bytes(&s, 17, io.b, io.n);
		expect_state_refused(&s, 0, 0, -EINVAL, "io_int_word", 0);
		free(io.b);
	}

	/* The GISA's refcount list: 8 entries or none. */
	{
		struct snapt_pb g = { 0 };

		snapt_pb_bytes(&g, 4, "\x01\x02\x03", 3);
		s.n = 0;
		state_head(&s, 0, GISA_CAP_GISA, 0);
		snapt_pb_bytes(&s, 25, g.b, g.n);
		expect_state_refused(&s, 0, GISA_CAP_GISA, -EBADMSG, "state.gisa.refcount", 3);
		free(g.b);
	}

	/* Not a State at all. */
	s.n = 0;
	snapt_pb_raw(&s, "\xff\xff\xff", 3);
	expect_state_refused(&s, 0, 0, -EBADMSG, "state", 3);
	free(s.b);
}

/* ---- the dictionary form of I/O lists --------------------------------------------- */

static uint8_t *find(uint8_t *hay, size_t n, const void *needle, size_t m)
{
	for (size_t i = 0; i + m <= n; i++)
		if (!memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

/*
 * IoList in dictionary form (docs/SNAPSHOT-FORMAT.md): the distinct entries
 * ("keys") as columns in order of first use, nr_keys, and an index of u16
 * per entry (u32 when nr_keys > 65,536).  Each check of the decoder is
 * reached with a hand-written State, and its exact error and message
 * compared; the valid forms decode to the entries they describe and
 * re-encode to the same bytes.
 */

/*
 * dict_collide: dict_key makes keys that all fall into one slot of the
 * codec's dictionary hash (entry_hash in lib/snapshot/codec.c: the 64-bit
 * hash of key j is j << 32 | j, whose halves' XOR is 0), as a hostile
 * file could; dict_repeat (nonzero) makes key dict_repeat the same as key
 * 0.  They depend on that hash: changed, these keys would only be keys.
 */
static bool dict_collide;
static uint32_t dict_repeat;

static struct gisa_list_entry dict_key_colliding(unsigned isc, uint32_t k)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xbf58476d1ce4e5b9ull;
	uint64_t inv = k2, b = (uint64_t)isc << 27, a;
	uint32_t j = k == dict_repeat && k ? 1 : k + 1;
	struct gisa_list_entry e;

	for (int i = 0; i < 6; i++)
		inv *= 2 - k2 * inv; /* k2's inverse modulo 2^64, by Newton's method */
	a = ((uint64_t)j << 32 | j) * inv ^ b * k1;
	/* An I/O type (below 0xfffe0000) for every j tested. */
	assert_true(a >> 32 < 0xfffe0000u);
	memset(&e, 0, sizeof(e));
	e.type = (uint32_t)(a >> 32);
	e.u.io.subchannel_id = (uint16_t)(a >> 16);
	e.u.io.subchannel_nr = (uint16_t)a;
	e.u.io.io_int_word = (uint32_t)b;
	return e;
}

/* Key k of ISC isc: distinct for every k (parameter), a valid I/O entry. */
static struct gisa_list_entry dict_key(unsigned isc, uint32_t k)
{
	struct gisa_list_entry e;

	if (dict_collide)
		return dict_key_colliding(isc, k);
	memset(&e, 0, sizeof(e));
	e.type = GISA_INT_IO(0, 0, 0, k & 0xffff);
	e.u.io.subchannel_id = 0x0001;
	e.u.io.subchannel_nr = (uint16_t)k;
	e.u.io.io_int_parm = 0xd1c70000u ^ k;
	e.u.io.io_int_word = (uint32_t)isc << 27;
	return e;
}

static void le_put(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

#define DICT_NO_NR_KEYS UINT32_MAX

/*
 * Append one IoList to the State s: `count`, key columns of keys 0..ncols-1
 * of dict_key, nr_keys unless DICT_NO_NR_KEYS, and the index (n values of
 * `width` bytes) unless it is NULL; fields in field-number order, as the
 * encoder writes them.
 */
static void dict_list(struct snapt_pb *s, unsigned isc, uint32_t count, uint32_t ncols,
		      uint32_t nr_keys, const uint32_t *index, size_t n, unsigned width)
{
	static const unsigned w[5] = { 4, 2, 2, 4, 4 };
	struct snapt_pb io = { 0 };
	uint8_t *col[5], *ix = NULL;

	if (isc)
		snapt_pb_uint(&io, 1, isc);
	snapt_pb_uint(&io, 2, count);
	for (unsigned c = 0; c < 5; c++) {
		col[c] = malloc((size_t)ncols * w[c] + 1);
		assert_non_null(col[c]);
	}
	for (uint32_t k = 0; k < ncols; k++) {
		struct gisa_list_entry e = dict_key(isc, k);

		le_put(col[0] + 4 * (size_t)k, e.type, 4);
		le_put(col[1] + 2 * (size_t)k, e.u.io.subchannel_id, 2);
		le_put(col[2] + 2 * (size_t)k, e.u.io.subchannel_nr, 2);
		le_put(col[3] + 4 * (size_t)k, e.u.io.io_int_parm, 4);
		le_put(col[4] + 4 * (size_t)k, e.u.io.io_int_word, 4);
	}
	for (unsigned c = 0; c < 5; c++) {
		if (ncols)
			snapt_pb_bytes(&io, 3 + c, col[c], (size_t)ncols * w[c]);
		free(col[c]);
	}
	if (nr_keys != DICT_NO_NR_KEYS)
		snapt_pb_uint(&io, 8, nr_keys);
	if (index) {
		ix = malloc(n * width + 1);
		assert_non_null(ix);
		for (size_t i = 0; i < n; i++)
			le_put(ix + width * i, index[i], width);
		snapt_pb_bytes(&io, 9, ix, n * width);
		free(ix);
	}
	snapt_pb_bytes(s, 17, io.b, io.n);
	free(io.b);
}

/* A State of one plain list on ISC 0 (two entries) and then list `isc` by dict_list. */
static void dict_state(struct snapt_pb *s, unsigned isc, uint32_t count, uint32_t ncols,
		       uint32_t nr_keys, const uint32_t *index, size_t n, unsigned width)
{
	s->n = 0;
	state_head(s, 0, 0, 0);
	dict_list(s, 0, 2, 2, DICT_NO_NR_KEYS, NULL, 0, 0);
	dict_list(s, isc, count, ncols, nr_keys, index, n, width);
}

/* Decoding the State fails with exactly this code and message, outputs untouched. */
static void expect_state_msg(const struct snapt_pb *st, int code, const char *msg)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_image *img = NULL;
	size_t len;
	uint8_t *buf = wrap_state(st, 0, 0, false, &len);
	int r = gisa_snap_decode(buf, len, &img, NULL, &err);

	if (r != code || strcmp(err.msg, msg)) {
		print_error("decode returned %d \"%s\"\n        expected %d \"%s\"\n", r, err.msg,
			    code, msg);
		fail();
	}
	assert_null(img);
	expect_refused_n(buf, len, code, NULL, 0, NULL, 0);
	free(buf);
}

/*
 * Decoding succeeds; list 0 holds n0 entries (when isc is not 0), list isc
 * count entries, entry i being key index[i] (key i without an index).
 */
static void expect_dict_decodes(const struct snapt_pb *st, uint32_t n0, unsigned isc,
				const uint32_t *index, size_t count)
{
	struct gisa_image *img;
	uint8_t *bytes;
	size_t len, blen;
	uint8_t *buf = wrap_state(st, 0, 0, true, &len);

	img = decode_ok(buf, len, NULL);
	if (isc)
		assert_int_equal(img->lists[0].n, n0);
	assert_int_equal(img->lists[isc].n, count);
	for (size_t i = 0; i < count; i++) {
		struct gisa_list_entry want = dict_key(isc, index ? index[i] : (uint32_t)i);
		const struct gisa_list_entry *e = &img->lists[isc].e[i];

		if (e->type != want.type || e->u.io.subchannel_id != want.u.io.subchannel_id ||
		    e->u.io.subchannel_nr != want.u.io.subchannel_nr ||
		    e->u.io.io_int_parm != want.u.io.io_int_parm ||
		    e->u.io.io_int_word != want.u.io.io_int_word) {
			print_error("list %u entry %zu: parm 0x%x, expected key %u (parm 0x%x)\n",
				    isc, i, e->u.io.io_int_parm, index ? index[i] : (uint32_t)i,
				    want.u.io.io_int_parm);
			fail();
		}
	}
	/* The hand-written State is the canonical encoding of what it decodes to. */
	assert_int_equal(gisa_snap_state_bytes(img, &bytes, &blen), 0);
	assert_int_equal(blen, st->n);
	assert_memory_equal(bytes, st->b, blen);
	free(bytes);
	gisa_image_free(img);
	free(buf);
}

static void dictionary_checks(void **state)
{
	const uint32_t ok[] = { 0, 1, 0, 2, 2, 1 };
	struct snapt_pb s = { 0 };

	(void)state;
	/* The valid form: 6 entries over 3 keys. */
	dict_state(&s, 3, 6, 3, 3, ok, 6, 2);
	expect_dict_decodes(&s, 2, 3, ok, 6);

	/*
	 * The lists' counts together: at most 266,250, refused at the list
	 * that goes over, before its columns are looked at or allocated.
	 */
	dict_state(&s, 3, 266248, 0, DICT_NO_NR_KEYS, NULL, 0, 0);
	expect_state_msg(&s, -EBADMSG, "state.io[1].type: column of 0 bytes, 266248 entries need "
			 "1064992");
	dict_state(&s, 3, 266249, 0, DICT_NO_NR_KEYS, NULL, 0, 0);
	expect_state_msg(&s, -EBADMSG, "state.io[1].count 266249: 266251 I/O entries up to this "
			 "list, at most 266250 in all");

	/* nr_keys: 1..count-1 whenever there is an index (absent = 0). */
	dict_state(&s, 3, 6, 0, 0, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].nr_keys 0: 1..count-1 with an index");
	dict_state(&s, 3, 6, 0, DICT_NO_NR_KEYS, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].nr_keys 0: 1..count-1 with an index");
	dict_state(&s, 3, 6, 6, 6, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].nr_keys 6: 1..count-1 with an index");
	dict_state(&s, 3, 6, 7, 7, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].nr_keys 7: 1..count-1 with an index");
	dict_state(&s, 3, 6, 3, 0xffffffffu - 1, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG,
			 "state.io[1].nr_keys 4294967294: 1..count-1 with an index");

	/* Key columns hold nr_keys keys, the index count values. */
	dict_state(&s, 3, 6, 6, 3, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].type: column of 24 bytes, 3 entries need 12");
	dict_state(&s, 3, 6, 2, 3, ok, 6, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].type: column of 8 bytes, 3 entries need 12");
	dict_state(&s, 3, 6, 3, 3, ok, 5, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].index: column of 10 bytes, 6 entries need 12");
	dict_state(&s, 3, 6, 3, 3, ok, 6, 4);
	expect_state_msg(&s, -EBADMSG, "state.io[1].index: column of 24 bytes, 6 entries need 12");
	dict_state(&s, 3, 6, 3, 3, ok, 0, 2);
	expect_state_msg(&s, -EBADMSG, "state.io[1].index: column of 0 bytes, 6 entries need 12");

	/* The index: keys in order of first use, each below nr_keys, all used. */
	{
		const uint32_t late[] = { 1, 0, 1, 2, 2, 1 };      /* starts past key 0 */
		const uint32_t skip[] = { 0, 0, 2, 1, 2, 1 };      /* key 2 before key 1 */
		const uint32_t high[] = { 0, 1, 2, 3, 1, 0 };      /* key 3 of 3 */
		const uint32_t huge[] = { 0, 1, 0, 2, 0xffff, 1 };
		const uint32_t unused[] = { 0, 1, 0, 1, 1, 0 };    /* key 2 never */

		dict_state(&s, 3, 6, 3, 3, late, 6, 2);
		expect_state_msg(&s, -EBADMSG,
				 "state.io[1].index[0] = 1: keys in order of first use");
		dict_state(&s, 3, 6, 3, 3, skip, 6, 2);
		expect_state_msg(&s, -EBADMSG,
				 "state.io[1].index[2] = 2: keys in order of first use");
		dict_state(&s, 3, 6, 3, 3, high, 6, 2);
		expect_state_msg(&s, -EBADMSG,
				 "state.io[1].index[3] = 3: keys in order of first use");
		dict_state(&s, 3, 6, 3, 3, huge, 6, 2);
		expect_state_msg(&s, -EBADMSG,
				 "state.io[1].index[4] = 65535: keys in order of first use");
		dict_state(&s, 3, 6, 3, 3, unused, 6, 2);
		expect_state_msg(&s, -EBADMSG, "state.io[1]: 2 of 3 keys used");
	}

	/* The smallest dictionary (two equal entries), as the first list. */
	{
		const uint32_t one[] = { 0, 0 }, two[] = { 0, 1 };

		s.n = 0;
		state_head(&s, 0, 0, 0);
		dict_list(&s, 2, 2, 1, 1, one, 2, 2);
		expect_dict_decodes(&s, 0, 2, one, 2);
		s.n = 0;
		state_head(&s, 0, 0, 0);
		dict_list(&s, 2, 2, 1, 1, two, 2, 2);
		expect_state_msg(&s, -EBADMSG,
				 "state.io[0].index[1] = 1: keys in order of first use");
	}
	free(s.b);
}

/*
 * The index width changes above 65,536 keys: u16 for 65,536 keys (values up
 * to 65,535), u32 for 65,537.  Each width is refused where the other is due.
 */
static void dictionary_index_width(void **state)
{
	const uint32_t nk16 = 65536, nk32 = 65537;
	uint32_t *ix = malloc((nk32 + 1) * sizeof(*ix));
	struct snapt_pb s = { 0 };

	(void)state;
	assert_non_null(ix);
	for (uint32_t i = 0; i < nk32; i++)
		ix[i] = i;

	/* 65,536 keys and a repeat of key 0: u16. */
	ix[nk16] = 0;
	dict_state(&s, 4, nk16 + 1, nk16, nk16, ix, nk16 + 1, 2);
	expect_dict_decodes(&s, 2, 4, ix, nk16 + 1);
	dict_state(&s, 4, nk16 + 1, nk16, nk16, ix, nk16 + 1, 4);
	expect_state_msg(&s, -EBADMSG,
			 "state.io[1].index: column of 262148 bytes, 65537 entries need 131074");

	/* 65,537 keys and a repeat of key 65,536: u32. */
	ix[nk32] = nk32 - 1;
	dict_state(&s, 4, nk32 + 1, nk32, nk32, ix, nk32 + 1, 4);
	expect_dict_decodes(&s, 2, 4, ix, nk32 + 1);
	dict_state(&s, 4, nk32 + 1, nk32, nk32, ix, nk32 + 1, 2);
	expect_state_msg(&s, -EBADMSG,
			 "state.io[1].index: column of 131076 bytes, 65538 entries need 262152");

	/* u32 values: one at nr_keys, one out of order beyond a u16. */
	ix[nk32] = nk32;
	dict_state(&s, 4, nk32 + 1, nk32, nk32, ix, nk32 + 1, 4);
	expect_state_msg(&s, -EBADMSG,
			 "state.io[1].index[65537] = 65537: keys in order of first use");
	ix[nk32] = 0;
	ix[1] = 65536;
	dict_state(&s, 4, nk32 + 1, nk32, nk32, ix, nk32 + 1, 4);
	expect_state_msg(&s, -EBADMSG,
			 "state.io[1].index[1] = 65536: keys in order of first use");
	free(ix);
	free(s.b);
}

/*
 * gisa_image_check caps the memslots and pages an image holds by count
 * (what the decoder refuses, the encoder must not write): one over each
 * cap is refused with the count named, at the cap the image passes.
 */
static void image_check_counts(void **state)
{
	const uint32_t n[2] = { GISA_MAX_MEMSLOTS + 1, GISA_IMAGE_MAX_PAGES + 1 };
	struct gisa_image *img;

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct gisa_restore_error err = { 0 };
		uint8_t *buf = NULL;
		size_t len = 0;

		assert_int_equal(gisa_image_new(&img), 0);
		if (k == 0) {
			img->memslots = calloc(n[k], sizeof(*img->memslots));
			assert_non_null(img->memslots);
			for (uint32_t i = 0; i < n[k]; i++)
				img->memslots[i] = (struct gisa_image_memslot){
					i, (uint64_t)i << 20, GISA_PAGE_SIZE };
			img->nr_memslots = n[k];
		} else {
			img->pages = calloc(n[k], sizeof(*img->pages));
			assert_non_null(img->pages);
			for (uint32_t i = 0; i < n[k]; i++)
				img->pages[i] = (struct gisa_image_page){ (uint64_t)i << 12, { 1 } };
			img->nr_pages = n[k];
		}
		assert_int_equal(gisa_image_check(img, &err), -EINVAL);
		assert_string_equal(err.field, k ? "pages" : "memslots");
		assert_int_equal(err.value, n[k]);
		assert_string_equal(err.reason, k ? "at most 8192 pages" : "at most 512 memslots");
		assert_int_equal(gisa_snap_encode(img, NULL, NULL, &buf, &len), -EINVAL);
		assert_null(buf);
		if (k == 0)
			img->nr_memslots--;
		else
			img->nr_pages--;
		assert_int_equal(gisa_image_check(img, NULL), 0);
		gisa_image_free(img);
	}
}

/*
 * Keys that all collide in the codec's hash (dict_collide): the decoder's
 * check that keys are distinct and the encoder's dictionary give up on
 * the hash and sort instead (so that such a file costs O(n log n), not
 * O(n^2)), with the same results: 3,000 distinct keys decode and encode
 * back to the same bytes, also with an index that repeats them, and a
 * repeated key is found and named.
 */
static void dictionary_keys_colliding(void **state)
{
	const uint32_t nk = 3000, n = 7000;
	uint32_t *ix = malloc(n * sizeof(*ix));
	struct snapt_pb s = { 0 };

	(void)state;
	assert_non_null(ix);
	dict_collide = true;
	dict_state(&s, 5, nk, nk, DICT_NO_NR_KEYS, NULL, 0, 0);
	expect_dict_decodes(&s, 2, 5, NULL, nk);
	for (uint32_t i = 0; i < n; i++)
		ix[i] = i < nk ? i : (i * 7919u) % nk;
	dict_state(&s, 5, n, nk, nk, ix, n, 2);
	expect_dict_decodes(&s, 2, 5, ix, n);
	dict_repeat = 2345;
	dict_state(&s, 5, nk, nk, DICT_NO_NR_KEYS, NULL, 0, 0);
	expect_state_msg(&s, -EBADMSG, "state.io[1]: key 2345 repeats an earlier one");
	dict_repeat = 0;
	dict_collide = false;
	free(ix);
	free(s.b);
}

/*
 * The encoder's own dictionary, edited in a stored file and resealed: the
 * decoder refuses the changed index as it refuses the hand-written ones.
 * ISC 1 holds a b a c, so the index is 0 1 0 2 (u16) over 3 keys.
 */
static void dictionary_edited_and_resealed(void **state)
{
	static const uint8_t field9[] = { 0x4a, 8, 0, 0, 1, 0, 0, 0, 2, 0 };
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = t_vm_new(&host, GISA_PROFILE_CLASSIC, 0, 1);
	const struct gisa_irq recs[] = {
		t_io(0x0001, 1, 0xa, 1), t_io(0x0002, 2, 0xb, 1), t_io(0x0001, 1, 0xa, 1),
		t_io(0x0003, 3, 0xc, 1),
	};
	static const struct {
		unsigned at;
		uint8_t value;
		const char *msg;
	} edits[] = {
		{ 1, 2, "state.io[0].index[1] = 2: keys in order of first use" },
		{ 3, 1, "state.io[0]: 2 of 3 keys used" },
		{ 3, 3, "state.io[0].index[3] = 3: keys in order of first use" },
		{ 0, 1, "state.io[0].index[0] = 1: keys in order of first use" },
	};
	struct gisa_image *img, *back;
	uint8_t *buf, *p;
	size_t len;

	(void)state;
	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	t_vm_free(vm, host);
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		struct gisa_snap_error err = { .msg = "" };

		buf = encode(img, false, &len);
		p = find(buf, len, field9, sizeof(field9));
		assert_non_null(p);
		p[2 + 2 * edits[i].at] = edits[i].value;
		expect_refused_words(buf, len, -EBADMSG, WORDS("digest"));
		assert_int_equal(gisa_snap_reseal(buf, len), 0);
		assert_int_equal(gisa_snap_decode(buf, len, &back, NULL, &err), -EBADMSG);
		assert_string_equal(err.msg, edits[i].msg);
		free(buf);
	}
	/* Unedited, resealed: the same image. */
	buf = encode(img, false, &len);
	assert_non_null(find(buf, len, field9, sizeof(field9)));
	assert_int_equal(gisa_snap_reseal(buf, len), 0);
	back = decode_ok(buf, len, NULL);
	snapt_image_equal("dictionary resealed", img, back);
	gisa_image_free(back);
	free(buf);
	gisa_image_free(img);
}

/* ---- the decoding budget ---------------------------------------------------------- */

/*
 * Inputs that expand when decoded (empty sub-messages of 3 bytes each,
 * packed varints of 1 byte each) must hit the budget and fail cleanly; the
 * allocations made meanwhile stay within the budget the codec states
 * (twice the state plus 1 MiB) plus allocator bookkeeping.
 */
static void decoding_stays_within_budget(void **state)
{
	const size_t target = MIB;

	(void)state;
	for (int kind = 0; kind < 2; kind++) {
		struct snapt_pb s = { 0 }, ad = { 0 };
		uint8_t *buf, *ones;
		size_t len;
		bool watched;

		state_head(&s, GISA_PROFILE_NEWEST, 0, 0);
		if (kind == 0) {
			while (s.n < target)
				snapt_pb_bytes(&s, 24, NULL, 0);
		} else {
			ones = malloc(target);
			memset(ones, 1, target);
			snapt_pb_bytes(&ad, 7, ones, target);
			snapt_pb_bytes(&s, 20, ad.b, ad.n);
			free(ones);
		}
		buf = wrap_state(&s, GISA_PROFILE_NEWEST, 0, false, &len);
		watched = watch_start();
		expect_refused_words(buf, len, -EBADMSG, WORDS("state"));
		watch_stop();
		if (watched) {
			print_message("kind %d: %zu state bytes, %zu allocations, %zu bytes, "
				      "largest %zu\n", kind, s.n, watch.calls, watch.total,
				      watch.largest);
			assert_true(watch.total <= 2 * s.n + MIB + MIB / 2);
		}
		free(buf);
		free(s.b);
		free(ad.b);
	}
}

/*
 * The largest state the model allows (every list full, 64 adapters with 256
 * maps each, 4096 routes, 512 memslots, 8192 pages, 255 vcpus) fits the
 * state cap and decodes within the budget, stored and compressed.
 */
static void largest_state_decodes(void **state)
{
	struct gisa_image *img, *back;
	uint8_t *bytes;
	size_t blen;
	uint32_t k = 0;

	(void)state;
	assert_int_equal(gisa_image_new(&img), 0);
	img->config = (struct gisa_vm_config){
		.profile = GISA_PROFILE_NEWEST, .caps = GISA_CAP_ALL, .nr_vcpus = GISA_MAX_VCPUS,
		.mem_cap = UINT64_MAX, .abi_order = GISA_LE,
	};
	img->gisa.present = true;
	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++) {
		uint32_t n = GISA_MAX_FLOAT_IRQS / 8 + (isc < GISA_MAX_FLOAT_IRQS % 8);

		assert_int_equal(gisa_image_set_list(img, isc, n), 0);
		for (uint32_t i = 0; i < n; i++, k++) {
			struct gisa_list_entry *e = &img->lists[isc].e[i];

			e->type = GISA_INT_IO(0, 0, 0, k & 0xffff);
			e->u.io = (struct gisa_io_info){ (uint16_t)(k >> 16), (uint16_t)k,
							 k * 2654435761u, isc << 27 };
		}
	}
	assert_int_equal(k, GISA_MAX_FLOAT_IRQS);
	assert_int_equal(gisa_image_set_list(img, GISA_LIST_VIRTIO, GISA_MAX_VIRTIO_IRQS), 0);
	for (uint32_t i = 0; i < GISA_MAX_VIRTIO_IRQS; i++)
		img->lists[GISA_LIST_VIRTIO].e[i] = (struct gisa_list_entry){
			GISA_INT_VIRTIO, .u.ext = { i, i ^ 0x5a5a, (uint64_t)i << 33 | 7 } };
	assert_int_equal(gisa_image_set_list(img, GISA_LIST_PFAULT, GISA_MAX_PFAULT_IRQS), 0);
	for (uint32_t i = 0; i < GISA_MAX_PFAULT_IRQS; i++)
		img->lists[GISA_LIST_PFAULT].e[i] = (struct gisa_list_entry){
			GISA_INT_PFAULT_DONE, .u.ext = { 0, 0, ~(uint64_t)i } };
	assert_int_equal(gisa_image_set_counts(img, GISA_MAX_ADAPTERS, GISA_MAX_IRQ_ROUTES,
					       GISA_MAX_MEMSLOTS, GISA_IMAGE_MAX_PAGES,
					       GISA_MAX_VCPUS), 0);
	for (uint32_t i = 0; i < GISA_MAX_ADAPTERS; i++) {
		img->adapters[i].a = (struct gisa_state_adapter){ .id = i, .isc = i % 8,
								  .maskable = true };
		assert_int_equal(gisa_image_set_maps(img, i, GISA_MAX_ADAPTER_MAPS), 0);
		for (uint32_t m = 0; m < GISA_MAX_ADAPTER_MAPS; m++)
			img->adapters[i].maps[m] = 0xfffffffffffff000ull - ((uint64_t)m << 12);
	}
	for (uint32_t i = 0; i < GISA_MAX_IRQ_ROUTES; i++)
		img->routes[i] = t_route(i, (uint64_t)i << 12, i % 64, (uint64_t)i << 12 | 8, i % 8,
					 i % 64);
	for (uint32_t i = 0; i < GISA_MAX_MEMSLOTS; i++)
		img->memslots[i] = (struct gisa_image_memslot){ i, (uint64_t)i << 24, 1u << 24 };
	for (uint32_t i = 0; i < GISA_IMAGE_MAX_PAGES; i++) {
		img->pages[i].gpa = (uint64_t)i << 12;
		memset(img->pages[i].data, (int)(i * 7 + 1), GISA_PAGE_SIZE);
	}
	for (uint32_t i = 0; i < GISA_MAX_VCPUS; i++)
		img->vcpus[i] = (struct gisa_vcpu_state){ ~0ull, ~0ull, ~0ull, ~0ull,
							  GISA_VCPU_STOPPED, false };
	assert_int_equal(gisa_image_check(img, NULL), 0);
	assert_int_equal(gisa_snap_state_bytes(img, &bytes, &blen), 0);
	print_message("largest state: %zu bytes (cap %u)\n", blen, GISA_SNAP_MAX_STATE);
	assert_true(blen <= GISA_SNAP_MAX_STATE);
	for (int compress = 0; compress <= 1; compress++) {
		struct gisa_snap_opts o = { .compress = compress, .level = 1 };
		struct gisa_snap_info info;
		uint8_t *buf;
		size_t len;

		assert_int_equal(gisa_snap_encode(img, NULL, &o, &buf, &len), 0);
		back = decode_ok(buf, len, &info);
		assert_int_equal(info.state_len, blen);
		snapt_image_equal("largest state", img, back);
		gisa_image_free(back);
		free(buf);
	}
	free(bytes);
	gisa_image_free(img);
}

/* ---- a newer minor version ---------------------------------------------------------- */

/*
 * Format version 2, minimum reader 1: a writer that knows more, writing a
 * state that older readers may read.  Its State carries fields this reader
 * does not know (appended: a varint, a length-delimited, a fixed64 and a
 * fixed32 field), and its Header one.  The file is read; the image is the
 * state without them, so the digest this reader computes for it drops
 * them, while the file's own digest covers them.
 */
static void newer_minor_with_unknown_fields(void **state)
{
	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		struct gisa_image *img = sample_image(), *back;
		struct snapt_pb st = { 0 }, h = { 0 };
		uint8_t *bytes, d_known[32], d_file[32], d_back[32], *buf;
		size_t blen, len;
		struct gisa_snap_info info;

		assert_int_equal(gisa_snap_state_bytes(img, &bytes, &blen), 0);
		assert_int_equal(gisa_snap_digest(img, d_known), 0);
		snapt_pb_raw(&st, bytes, blen);
		snapt_pb_uint(&st, 26, 5);
		snapt_pb_bytes(&st, 27, "future", 6);
		snapt_pb_fixed(&st, 1000, 0x0123456789abcdefull, 8);
		snapt_pb_fixed(&st, 536870911, 0xfeedf00d, 4);   /* the largest field number */
		header_fields(&h, 2, GISA_PROFILE_NEWEST, GISA_CAP_ALL, compress);
		snapt_pb_bytes(&h, 11, "a newer header field", 20);
		buf = wrap(2, 1, &h, st.b, st.n, compress, &len);
		snapt_sha256(st.b, st.n, NULL, 0, d_file);

		back = decode_ok(buf, len, &info);
		assert_int_equal(info.format_version, 2);
		assert_int_equal(info.min_reader_version, 1);
		assert_int_equal(info.state_len, st.n);
		assert_memory_equal(info.digest, d_file, 32);
		snapt_image_equal("newer minor", img, back);
		assert_int_equal(gisa_snap_digest(back, d_back), 0);
		assert_memory_equal(d_back, d_known, 32);
		assert_memory_not_equal(d_back, d_file, 32);
		/* gisa_snap_info reads it too. */
		{
			struct gisa_snap_error err = { .msg = "" };
			struct gisa_snap_info i2;

			assert_int_equal(gisa_snap_info(buf, len, &i2, &err), 0);
			assert_int_equal(i2.format_version, 2);
		}
		gisa_image_free(back);
		gisa_image_free(img);
		free(bytes);
		free(buf);
		free(st.b);
		free(h.b);
	}
}

/* ---- gisa_snap_info ------------------------------------------------------------------ */

static void info_reads_container_and_header(void **state)
{
	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		struct gisa_snap_error err = { .msg = "" };
		struct gisa_snap_info a, b, pattern;
		uint8_t *buf, *st, digest[32];
		size_t len, slen;

		buf = sample_file(compress, &len, &st, &slen);
		snapt_sha256(st, slen, NULL, 0, digest);
		assert_int_equal(gisa_snap_info(buf, len, &a, &err), 0);
		assert_int_equal(a.format_version, 1);
		assert_int_equal(a.min_reader_version, 1);
		assert_int_equal(a.flags, compress ? GISA_SNAP_FLAG_ZSTD : 0);
		assert_int_equal(a.header_len, snapt_get_be(buf + SNAPT_OFF_HLEN, 4));
		assert_int_equal(a.state_len, slen);
		assert_int_equal(a.payload_len, snapt_get_be(buf + SNAPT_OFF_PLEN, 8));
		assert_memory_equal(a.digest, digest, 32);
		assert_int_equal(a.profile, GISA_PROFILE_NEWEST);
		assert_int_equal(a.caps, GISA_CAP_ALL);
		assert_string_equal(a.vm_name, "sample");
		assert_true(a.has_uuid);
		assert_memory_equal(a.vm_uuid, uuid, 16);
		assert_int_equal(a.created_unix_ns, sample_meta.created_unix_ns);
		assert_string_equal(a.producer, "test-container");
		assert_int_equal(a.compression_level, compress ? GISA_SNAP_DEFAULT_LEVEL : 0);
		/* The same as decoding reports. */
		gisa_image_free(decode_ok(buf, len, &b));
		assert_memory_equal(&a, &b, sizeof(a));

		/* info does not decode the payload nor verify the digest ... */
		buf[len - 1] ^= 0xff;
		assert_int_equal(gisa_snap_info(buf, len, &b, &err), 0);
		assert_int_equal(b.state_len, slen);
		expect_refused_words(buf, len, -EBADMSG, WORDS("digest"));
		buf[len - 1] ^= 0xff;
		/* ... but checks the preamble and the header, leaving *ret alone on error. */
		buf[SNAPT_PREAMBLE + 1] ^= 0x01;
		memset(&b, 0x5a, sizeof(b));
		memset(&pattern, 0x5a, sizeof(pattern));
		assert_int_equal(gisa_snap_info(buf, len, &b, &err), -EBADMSG);
		assert_true(msg_has_word(err.msg, "header check"));
		assert_memory_equal(&b, &pattern, sizeof(b));
		assert_int_equal(gisa_snap_info(buf, 10, &b, &err), -EBADMSG);
		assert_true(msg_has_word(err.msg, "truncated"));
		free(buf);
		free(st);
	}
}

/* ---- gisa_snap_info_head ------------------------------------------------------------- */

/*
 * gisa_snap_info_head of a copy of exactly buf's first `have' bytes (a
 * read past them is an address-sanitizer error), for a file of size
 * bytes whose stored digest is digest.
 */
static int info_head(const uint8_t *buf, size_t have, uint64_t size, const uint8_t *digest,
		     struct gisa_snap_info *ret, struct gisa_snap_error *err)
{
	uint8_t *copy = malloc(have ? have : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, have);
	r = gisa_snap_info_head(copy, have, size, digest, ret, err);
	free(copy);
	return r;
}

/* As a listing reads the len-byte file buf: its first bytes up to the cap, its last 32. */
static int info_of_parts(const uint8_t *buf, size_t len, struct gisa_snap_info *ret,
			 struct gisa_snap_error *err)
{
	size_t have = len < GISA_SNAP_MAX_HEAD ? len : GISA_SNAP_MAX_HEAD;

	return info_head(buf, have, len, len >= 32 ? buf + len - 32 : NULL, ret, err);
}

/* The parts of buf say what gisa_snap_info of the whole says: code, message and info. */
static void parts_agree(const uint8_t *buf, size_t len, const char *what, size_t where)
{
	struct gisa_snap_error ea = { .msg = "" }, eb = { .msg = "" };
	struct gisa_snap_info a, b;
	int ra, rb;

	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	ra = gisa_snap_info(buf, len, &a, &ea);
	rb = info_of_parts(buf, len, &b, &eb);
	if (ra != rb || strcmp(ea.msg, eb.msg)) {
		print_error("%s %zu: gisa_snap_info %d \"%s\", gisa_snap_info_head %d \"%s\"\n",
			    what, where, ra, ea.msg, rb, eb.msg);
		fail();
	}
	/* Both filled from the same pattern: untouched on error, equal on success. */
	assert_memory_equal(&a, &b, sizeof(a));
}

/*
 * What a listing needs from the preamble, the header and the last 32
 * bytes alone: gisa_snap_info's answer, the payload never handed over.
 */
static void info_head_reads_no_payload(void **state)
{
	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		struct gisa_snap_error err = { .msg = "" };
		struct gisa_snap_info want, got, pattern;
		size_t len, head;
		uint8_t *buf = sample_file(compress, &len, NULL, NULL);
		const uint8_t *tail = buf + len - 32;

		head = SNAPT_PREAMBLE + snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
		assert_true(head + 32 < len);   /* a payload the call does not get */
		assert_int_equal(gisa_snap_info(buf, len, &want, &err), 0);
		/* The preamble and the header exactly, or more: the same info. */
		assert_int_equal(info_head(buf, head, len, tail, &got, &err), 0);
		assert_memory_equal(&got, &want, sizeof(got));
		assert_int_equal(info_of_parts(buf, len, &got, &err), 0);
		assert_memory_equal(&got, &want, sizeof(got));
		/* No digest asked for: all zero, the rest the same. */
		assert_int_equal(info_head(buf, head, len, NULL, &got, &err), 0);
		for (size_t i = 0; i < 32; i++)
			assert_int_equal(got.digest[i], 0);
		memcpy(got.digest, want.digest, 32);
		assert_memory_equal(&got, &want, sizeof(got));

		/* gisa_snap_head_size: the bytes the call needs, from the preamble. */
		{
			size_t need = 0;

			assert_int_equal(gisa_snap_head_size(buf, SNAPT_PREAMBLE, &need, &err), 0);
			assert_int_equal(need, head);
			assert_int_equal(gisa_snap_head_size(buf, SNAPT_PREAMBLE - 1, &need, &err),
					 -EBADMSG);
			assert_true(msg_has_word(err.msg, "truncated"));
		}

		/* A prefix that ends before the header does: refused, *ret untouched. */
		memset(&pattern, 0x5a, sizeof(pattern));
		for (size_t have = 0; have < head; have++) {
			memset(&got, 0x5a, sizeof(got));
			assert_int_equal(info_head(buf, have, len, tail, &got, &err), -EBADMSG);
			assert_true(msg_has_word(err.msg, "truncated"));
			assert_true(msg_has_number(err.msg, have));
			assert_true(msg_has_number(err.msg,
						   have < SNAPT_PREAMBLE ? SNAPT_PREAMBLE : head));
			assert_memory_equal(&got, &pattern, sizeof(got));
		}
		free(buf);
	}
}

/* Every refusal of gisa_snap_info, with the file's size given apart. */
static void info_head_refuses_as_info_does(void **state)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_snap_info got, pattern;
	uint8_t tiny[76], *p;
	size_t len, head;
	uint8_t *buf = sample_file(true, &len, NULL, NULL);
	const uint8_t *tail = buf + len - 32;

	(void)state;
	head = SNAPT_PREAMBLE + snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
	memset(&pattern, 0x5a, sizeof(pattern));
	memset(&got, 0x5a, sizeof(got));
	/* Wrong lengths: a size other than 44 + H + P + 32. */
	{
		const uint64_t sizes[] = { 0, head, len - 1, len + 1, UINT64_MAX };

		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			assert_int_equal(info_head(buf, head, sizes[i], tail, &got, &err),
					 -EBADMSG);
			assert_true(msg_has_number(err.msg, sizes[i]));
			assert_true(msg_has_number(err.msg, len));
			assert_memory_equal(&got, &pattern, sizeof(got));
		}
	}
	/* Lengths over their caps: refused before any arithmetic on them. */
	tiny_file(tiny, GISA_SNAP_FLAG_ZSTD, GISA_SNAP_MAX_HEADER + 1, 10, 10);
	assert_int_equal(info_head(tiny, sizeof(tiny), sizeof(tiny), tiny + 44, &got, &err),
			 -E2BIG);
	assert_true(msg_has_number(err.msg, GISA_SNAP_MAX_HEADER + 1));
	tiny_file(tiny, 0, 0, UINT64_MAX, UINT64_MAX);
	assert_int_equal(info_head(tiny, sizeof(tiny), UINT64_MAX, tiny + 44, &got, &err), -E2BIG);
	tiny_file(tiny, 0, 0, 10, 11);
	assert_int_equal(info_head(tiny, sizeof(tiny), 97, tiny + 44, &got, &err), -EBADMSG);
	assert_true(msg_has_word(err.msg, "stored payload length"));
	assert_memory_equal(&got, &pattern, sizeof(got));

	/* A damaged preamble or header: the header check. */
	buf[head - 1] ^= 0x01;
	assert_int_equal(info_head(buf, head, len, tail, &got, &err), -EBADMSG);
	assert_true(msg_has_word(err.msg, "header check"));
	assert_memory_equal(&got, &pattern, sizeof(got));
	buf[head - 1] ^= 0x01;
	/* A header whose check is right but whose field is not: the field named. */
	p = find(buf, head, "sample", 6);
	assert_non_null(p);
	p[2] = (uint8_t)0xff;
	snapt_recheck(buf, len);
	assert_int_equal(info_head(buf, head, len, tail, &got, &err), -EBADMSG);
	assert_true(msg_has_word(err.msg, "vm_name"));
	assert_memory_equal(&got, &pattern, sizeof(got));
	p[2] = 'm';
	snapt_recheck(buf, len);
	assert_int_equal(info_head(buf, head, len, tail, &got, &err), 0);

	/*
	 * Exactly as strict as gisa_snap_info on the whole file: every byte
	 * of the preamble and the header damaged (three ways), and every
	 * truncation of the file, give the same code, message and info.
	 */
	for (size_t i = 0; i < head; i++) {
		static const uint8_t masks[] = { 0x01, 0x80, 0xff };

		for (size_t m = 0; m < ARRAY_SIZE(masks); m++) {
			buf[i] ^= masks[m];
			parts_agree(buf, len, "byte damaged at", i);
			buf[i] ^= masks[m];
		}
	}
	for (size_t n = 0; n <= len; n++)
		parts_agree(buf, n, "file truncated to", n);
	free(buf);
}

/*
 * A damaged payload or stored digest is not seen: the call never reads
 * the one nor verifies the other (as gisa_snap_info), and reports the
 * digest as stored; decoding refuses the file.
 */
static void info_head_damaged_body_passes(void **state)
{
	(void)state;
	for (int compress = 0; compress <= 1; compress++) {
		struct gisa_snap_error err = { .msg = "" };
		struct gisa_snap_info want, got;
		struct gisa_image *img = NULL;
		size_t len, head;
		uint8_t *buf = sample_file(compress, &len, NULL, NULL);

		head = SNAPT_PREAMBLE + snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
		assert_int_equal(gisa_snap_info(buf, len, &want, &err), 0);
		buf[head + (len - 32 - head) / 2] ^= 0x55;
		assert_int_equal(info_of_parts(buf, len, &got, &err), 0);
		assert_memory_equal(&got, &want, sizeof(got));
		assert_int_equal(gisa_snap_decode(buf, len, &img, NULL, &err), -EBADMSG);
		buf[head + (len - 32 - head) / 2] ^= 0x55;

		buf[len - 1] ^= 0xff;
		assert_int_equal(info_of_parts(buf, len, &got, &err), 0);
		assert_memory_equal(got.digest, buf + len - 32, 32);
		assert_int_equal(got.digest[31], want.digest[31] ^ 0xff);
		expect_refused_words(buf, len, -EBADMSG, WORDS("digest mismatch"));
		free(buf);
	}
}

/* ---- gisa_snap_reseal ----------------------------------------------------------------- */

static void reseal_repairs_checks(void **state)
{
	struct gisa_image *img, *back;
	struct gisa_snap_info info;
	uint8_t *buf, *p, page_byte;
	size_t len;

	(void)state;
	img = sample_image();
	assert_true(img->nr_pages > 0);

	/* A header byte: the vm name "sample" becomes "simple". */
	buf = encode(img, true, &len);
	p = find(buf, len, "sample", 6);
	assert_non_null(p);
	p[1] = 'i';
	expect_refused_words(buf, len, -EBADMSG, WORDS("header check"));
	assert_int_equal(gisa_snap_reseal(buf, len), 0);
	back = decode_ok(buf, len, &info);
	assert_string_equal(info.vm_name, "simple");
	snapt_image_equal("resealed header", img, back);
	gisa_image_free(back);
	free(buf);

	/* A state byte of a stored file: a route page's byte changes, nothing else. */
	buf = encode(img, false, &len);
	page_byte = img->pages[0].data[0x123];
	p = find(buf, len, img->pages[0].data, GISA_PAGE_SIZE);
	assert_non_null(p);
	p[0x123] ^= 0x10;
	expect_refused_words(buf, len, -EBADMSG, WORDS("digest"));
	assert_int_equal(gisa_snap_reseal(buf, len), 0);
	back = decode_ok(buf, len, &info);
	assert_int_equal(back->pages[0].data[0x123], page_byte ^ 0x10);
	back->pages[0].data[0x123] = page_byte;
	snapt_image_equal("resealed state", img, back);
	gisa_image_free(back);
	/* Resealing a sound file changes nothing. */
	{
		uint8_t *copy = malloc(len);

		memcpy(copy, buf, len);
		assert_int_equal(gisa_snap_reseal(buf, len), 0);
		assert_memory_equal(copy, buf, len);
		free(copy);
	}
	/* The container itself must parse. */
	assert_int_equal(gisa_snap_reseal(buf, len - 1), -EBADMSG);
	assert_int_equal(gisa_snap_reseal(buf, 20), -EBADMSG);
	buf[0] = 'X';
	assert_int_equal(gisa_snap_reseal(buf, len), -EBADMSG);
	free(buf);

	/* A compressed payload that does not decompress cannot be resealed. */
	buf = encode(img, true, &len);
	buf[SNAPT_PREAMBLE + snapt_get_be(buf + SNAPT_OFF_HLEN, 4)] ^= 0xff;   /* frame magic */
	assert_true(gisa_snap_reseal(buf, len) < 0);
	expect_refused_words(buf, len, -EBADMSG, WORDS("zstd"));
	free(buf);
	gisa_image_free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layout_matches_the_drawing),
		cmocka_unit_test(truncated_preamble),
		cmocka_unit_test(bad_magic),
		cmocka_unit_test(min_reader_above_ours),
		cmocka_unit_test(unknown_flags),
		cmocka_unit_test(lengths_over_their_caps),
		cmocka_unit_test(size_from_the_preamble),
		cmocka_unit_test(tiny_file_huge_length_refused_before_allocation),
		cmocka_unit_test(lengths_disagree_with_the_file),
		cmocka_unit_test(header_check_mismatch),
		cmocka_unit_test(digest_mismatch),
		cmocka_unit_test(zstd_frame_size_differs),
		cmocka_unit_test(payload_not_a_zstd_frame),
		cmocka_unit_test(bad_header_fields),
		cmocka_unit_test(bad_state_fields),
		cmocka_unit_test(dictionary_checks),
		cmocka_unit_test(dictionary_index_width),
		cmocka_unit_test(dictionary_keys_colliding),
		cmocka_unit_test(image_check_counts),
		cmocka_unit_test(dictionary_edited_and_resealed),
		cmocka_unit_test(decoding_stays_within_budget),
		cmocka_unit_test(largest_state_decodes),
		cmocka_unit_test(newer_minor_with_unknown_fields),
		cmocka_unit_test(info_reads_container_and_header),
		cmocka_unit_test(info_head_reads_no_payload),
		cmocka_unit_test(info_head_refuses_as_info_does),
		cmocka_unit_test(info_head_damaged_body_passes),
		cmocka_unit_test(reseal_repairs_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
