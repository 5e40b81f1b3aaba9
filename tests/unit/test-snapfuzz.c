/* SPDX-License-Identifier: MIT */
/*
 * Corrupted snapshot files: every outcome is a clean error or a clean
 * import, never a crash, undefined behaviour or a leak (the suite runs
 * under ASan and UBSan, which turn those into failures).
 *
 * Inputs are the golden files of tests/data/ and mutations of them:
 *  1. every truncation (each prefix length) of each file: refused;
 *  2. every truncation of each file's state bytes, re-wrapped in a sound
 *     stored container: reaches the protobuf decoder with each prefix;
 *  3. seeded random flips of 1-8 distinct bits, as they are: refused (the
 *     header check covers the preamble and header, the digest the state
 *     bytes), unless a flip in a zstd payload leaves its decompressed
 *     bytes, hence the state, exactly as they were;
 *  4. the same flips followed by gisa_snap_reseal, so that they reach the
 *     zstd and protobuf decoders and the validators; and flips of the state
 *     bytes re-wrapped in a stored container.
 *  5. every truncation and seeded random flips of a small State in
 *     dictionary form (I/O lists with repeated entries, which no golden
 *     file above has), re-wrapped in a stored container.
 * A mutation that decodes must build a VM or fail cleanly with a restore
 * error; a VM that builds must keep the engine's invariants and export to
 * a snapshot that decodes back to the same image and builds again.  The
 * counts of each outcome are printed, and each kind must have occurred, so
 * the mutations provably reach every stage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine-internal.h"
#include "support.h"

#include "../support-snap/snaptest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define FLIPS_PLAIN 12000
#define FLIPS_RESEALED 12000
#define FLIPS_STATE 8000

static const char *const files[] = {
	"v1-empty.gsnap", "v1-typical.gsnap", "v1-newest-gisa-ais.gsnap", "v1-stored.gsnap",
};

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

/* ---- outcomes ------------------------------------------------------------------ */

static struct {
	unsigned refused_container, refused_state, refused_model, decoded, build_refused, built;
	unsigned reseal_refused;
} seen;

static void seen_reset(void)
{
	memset(&seen, 0, sizeof(seen));
}

static void seen_print(const char *what)
{
	print_message("%s: refused by the container %u, by the State decoder %u, by the "
		      "model %u; decoded %u (build refused %u, built %u); reseal refused %u\n",
		      what, seen.refused_container, seen.refused_state, seen.refused_model,
		      seen.decoded, seen.build_refused, seen.built, seen.reseal_refused);
}

/* A VM built from a mutated file is sound: invariants, and a clean round trip. */
static void check_built(struct gisa_vm *vm)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_restore_error rerr;
	struct gisa_image *out, *back;
	struct gisa_host *host;
	struct gisa_vm *again = NULL;
	uint8_t *buf, *b1, *b2;
	size_t len, l1, l2;

	assert_int_equal(vm_check_invariants(vm), 0);
	assert_int_equal(gisa_image_from_vm(vm, &out), 0);
	assert_int_equal(gisa_snap_encode(out, NULL, NULL, &buf, &len), 0);
	if (gisa_snap_decode(buf, len, &back, NULL, &err))
		fail_msg("a VM built from a mutated file does not re-import: %s", err.msg);
	snapt_image_equal("re-import", out, back);
	assert_int_equal(gisa_snap_state_bytes(out, &b1, &l1), 0);
	assert_int_equal(gisa_snap_state_bytes(back, &b2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	memset(&rerr, 0, sizeof(rerr));
	if (gisa_image_build_vm(back, host, &again, &rerr))
		fail_msg("a VM built from a mutated file does not rebuild: %s",
			 rerr.field ? rerr.field : "-");
	gisa_vm_free(again);
	gisa_host_free(host);
	free(b1);
	free(b2);
	free(buf);
	gisa_image_free(back);
	gisa_image_free(out);
}

static bool known_decode_error(int r)
{
	return r == -EBADMSG || r == -EPROTONOSUPPORT || r == -E2BIG || r == -EINVAL;
}

static bool known_build_error(int r)
{
	return r == -EINVAL || r == -ENOMEM || r == -ENOSPC || r == -EEXIST || r == -EFAULT;
}

/* Decode and, if that succeeds, build; classify the outcome.  Returns decode's result. */
static int try_import(const uint8_t *buf, size_t len)
{
	struct gisa_snap_error err;
	struct gisa_restore_error rerr;
	struct gisa_image *img = NULL;
	struct gisa_snap_info info;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = gisa_snap_decode(buf, len, &img, &info, &err);
	if (r) {
		if (!known_decode_error(r) || !err.msg[0]) {
			print_error("decode: unexpected %d \"%s\"\n", r, err.msg);
			fail();
		}
		if (r == -EINVAL)
			seen.refused_model++;
		else if (!strncmp(err.msg, "state.", 6) || !strncmp(err.msg, "state (", 7))
			seen.refused_state++;
		else
			seen.refused_container++;
		assert_null(img);
		return r;
	}
	seen.decoded++;
	assert_int_equal(gisa_image_check(img, NULL), 0);
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	memset(&rerr, 0, sizeof(rerr));
	r = gisa_image_build_vm(img, host, &vm, &rerr);
	if (r) {
		if (!known_build_error(r)) {
			print_error("build: unexpected %d field %s\n", r,
				    rerr.field ? rerr.field : "-");
			fail();
		}
		/* restore.h's refusals name the field, the value and what was expected. */
		if (r == -EINVAL)
			assert_true(rerr.field && rerr.reason);
		seen.build_refused++;
		assert_null(vm);
	} else {
		seen.built++;
		check_built(vm);
		gisa_vm_free(vm);
	}
	gisa_host_free(host);
	gisa_image_free(img);
	return 0;
}

/* ---- inputs ---------------------------------------------------------------------- */

struct golden {
	uint8_t *buf;
	size_t len;
	uint8_t *state;          /* its canonical state bytes */
	size_t state_len;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct snapt_pb header;  /* a header with its profile and caps */
};

static struct golden golden[ARRAY_SIZE(files)];

static int load_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct golden *g = &golden[i];
		struct gisa_snap_error err = { .msg = "" };
		struct gisa_snap_info info;
		struct gisa_image *img;

		snapt_read(__FILE__, files[i], &g->buf, &g->len);
		if (gisa_snap_decode(g->buf, g->len, &img, &info, &err))
			fail_msg("%s: %s", files[i], err.msg);
		assert_int_equal(gisa_snap_state_bytes(img, &g->state, &g->state_len), 0);
		assert_int_equal(gisa_snap_digest(img, g->digest), 0);
		memset(&g->header, 0, sizeof(g->header));
		snapt_pb_uint(&g->header, 1, 1);
		snapt_pb_uint(&g->header, 2, 1);
		if (info.profile)
			snapt_pb_uint(&g->header, 3, info.profile);
		if (info.caps)
			snapt_pb_uint(&g->header, 4, info.caps);
		gisa_image_free(img);
	}
	return 0;
}

static int free_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		free(golden[i].buf);
		free(golden[i].state);
		free(golden[i].header.b);
	}
	return 0;
}

/* State bytes in a stored container with a matching header and a correct digest. */
static uint8_t *wrap_stored(const struct golden *g, const uint8_t *st, size_t slen,
			    size_t *ret_len)
{
	uint8_t digest[32], *buf;
	struct snapt_container c;

	snapt_sha256(st, slen, NULL, 0, digest);
	c = (struct snapt_container){
		.format_version = 1, .min_reader_version = 1, .flags = 0,
		.header = g->header.b, .header_len = g->header.n, .state_len = slen,
		.payload = st, .payload_len = slen, .digest = digest,
	};
	snapt_build(&c, &buf, ret_len);
	return buf;
}

/* A copy of exactly len bytes, so that ASan sees any access past the end. */
static uint8_t *copy(const uint8_t *b, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	assert_non_null(c);
	if (len)
		memcpy(c, b, len);
	return c;
}

/* Flip 1-8 distinct bits of buf[0 .. len-1]. */
static void flip_bits(struct rng *r, uint8_t *buf, size_t len)
{
	uint64_t pos[8];
	unsigned n = 1 + rn(r, 8);

	for (unsigned i = 0; i < n; i++) {
		bool again;

		do {
			pos[i] = rnd(r) % ((uint64_t)len * 8);
			again = false;
			for (unsigned k = 0; k < i; k++)
				again |= pos[k] == pos[i];
		} while (again);
		buf[pos[i] / 8] ^= (uint8_t)(1u << (pos[i] % 8));
	}
}

/* ---- 1, 2: truncations ------------------------------------------------------------ */

static void every_truncation_refused(void **state)
{
	(void)state;
	seen_reset();
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		const struct golden *g = &golden[i];

		/* The whole file imports; every proper prefix is refused. */
		assert_int_equal(try_import(g->buf, g->len), 0);
		for (size_t n = 0; n < g->len; n++) {
			struct gisa_snap_error err = { .msg = "" };
			struct gisa_snap_info info;
			uint8_t *c = copy(g->buf, n);

			assert_int_equal(try_import(c, n), -EBADMSG);
			assert_int_equal(gisa_snap_info(c, n, &info, &err), -EBADMSG);
			assert_int_equal(gisa_snap_reseal(c, n), -EBADMSG);
			free(c);
		}
	}
	seen_print("file truncations");
	assert_int_equal(seen.refused_state + seen.refused_model, 0);
}

static void every_state_truncation_clean(void **state)
{
	(void)state;
	seen_reset();
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		const struct golden *g = &golden[i];

		for (size_t n = 0; n <= g->state_len; n++) {
			size_t len;
			uint8_t *buf = wrap_stored(g, g->state, n, &len);

			try_import(buf, len);
			free(buf);
		}
	}
	seen_print("state truncations");
	assert_true(seen.refused_state > 0);
	assert_true(seen.decoded > 0);
}


/*
 * The dictionary-form golden file too: every proper prefix is refused by the
 * container checks (its state is too large to decode at every length here;
 * its state-level mutations are covered by dictionary_state_mutations).
 */
static void dictionary_golden_truncations(void **state)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_snap_info info;
	uint8_t *buf;
	size_t len;

	(void)state;
	snapt_read(__FILE__, "v1-dictionary.gsnap", &buf, &len);
	for (size_t n = 0; n < len; n++) {
		uint8_t *c = copy(buf, n);

		assert_int_equal(try_import(c, n), -EBADMSG);
		assert_int_equal(gisa_snap_info(c, n, &info, &err), -EBADMSG);
		assert_int_equal(gisa_snap_reseal(c, n), -EBADMSG);
		free(c);
	}
	assert_int_equal(try_import(buf, len), 0);
	free(buf);
}

/* ---- 3, 4: bit flips -------------------------------------------------------------- */

static void bit_flips_refused(void **state)
{
	struct rng r = { .s = 0xf11b5 };
	unsigned same_state = 0;

	(void)state;
	seen_reset();
	for (unsigned k = 0; k < FLIPS_PLAIN; k++) {
		const struct golden *g = &golden[k % ARRAY_SIZE(files)];
		uint8_t *c = copy(g->buf, g->len);

		flip_bits(&r, c, g->len);
		if (try_import(c, g->len) == 0) {
			struct gisa_snap_error err = { .msg = "" };
			struct gisa_image *img;
			uint8_t d[GISA_SNAP_DIGEST_SIZE];

			/*
			 * Only a zstd payload that still decompresses to the very
			 * same state bytes (e.g. a match copying equal bytes from
			 * another offset) can pass: the digest covers the state.
			 */
			assert_int_equal(gisa_snap_decode(c, g->len, &img, NULL, &err), 0);
			assert_int_equal(gisa_snap_digest(img, d), 0);
			gisa_image_free(img);
			if (memcmp(d, g->digest, sizeof(d))) {
				print_error("flip %u of %s imported a changed state without a "
					    "recomputed digest\n", k, files[k % ARRAY_SIZE(files)]);
				fail();
			}
			same_state++;
		}
		free(c);
	}
	seen_print("bit flips");
	print_message("bit flips: %u imported the unchanged state (zstd payload variants)\n",
		      same_state);
	assert_int_equal(seen.refused_state + seen.refused_model, 0);
	assert_true(same_state < FLIPS_PLAIN / 100);
}

static void bit_flips_resealed(void **state)
{
	struct rng r = { .s = 0x5ea1ed };

	(void)state;
	seen_reset();
	for (unsigned k = 0; k < FLIPS_RESEALED; k++) {
		const struct golden *g = &golden[k % ARRAY_SIZE(files)];
		uint8_t *c = copy(g->buf, g->len);

		flip_bits(&r, c, g->len);
		if (gisa_snap_reseal(c, g->len))
			seen.reseal_refused++;
		try_import(c, g->len);
		free(c);
	}
	seen_print("bit flips, resealed");
	assert_true(seen.refused_container > 0);
	assert_true(seen.refused_state > 0 && seen.refused_model > 0);
	assert_true(seen.decoded > 0 && seen.build_refused > 0 && seen.built > 0);
}

static void state_bit_flips(void **state)
{
	struct rng r = { .s = 0x57a7e };

	(void)state;
	seen_reset();
	for (unsigned k = 0; k < FLIPS_STATE; k++) {
		const struct golden *g = &golden[1 + k % (ARRAY_SIZE(files) - 1)];
		uint8_t *st = copy(g->state, g->state_len), *buf;
		size_t len;

		flip_bits(&r, st, g->state_len);
		buf = wrap_stored(g, st, g->state_len, &len);
		try_import(buf, len);
		free(buf);
		free(st);
	}
	seen_print("state bit flips");
	assert_true(seen.refused_state > 0);
	assert_true(seen.refused_model > 0);
	assert_true(seen.build_refused > 0);
	assert_true(seen.built > 0);
}

/* ---- 5: the dictionary form ---------------------------------------------------------- */

#define FLIPS_DICT 6000

/*
 * A NEWEST VM whose lists repeat entries: ISC 1 a b a c b (3 keys, u16
 * index), ISC 4 one entry four times, ISC 6 distinct entries (no index).
 */
static void dictionary_state_mutations(void **state)
{
	const struct gisa_irq a = t_io(0x0001, 1, 0xa, 1), b = t_ai(1), c = t_io(0x0002, 2, 0xa, 1);
	const struct gisa_irq d = t_io(0x0003, 4, 0x44, 4);
	const struct gisa_irq recs[] = {
		a, b, a, c, b, d, d, d, d, t_io(0x0005, 6, 1, 6), t_io(0x0005, 6, 2, 6),
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = t_vm_new(&host, GISA_PROFILE_NEWEST, 0, 2);
	struct rng r = { .s = 0xd1c7 };
	struct gisa_image *img;
	unsigned dict_refused = 0;
	struct golden g;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(t_enq(vm, recs, ARRAY_SIZE(recs)), 0);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	t_vm_free(vm, host);
	assert_int_equal(gisa_snap_state_bytes(img, &g.state, &g.state_len), 0);
	gisa_image_free(img);
	snapt_pb_uint(&g.header, 1, 1);
	snapt_pb_uint(&g.header, 2, 1);
	snapt_pb_uint(&g.header, 3, GISA_PROFILE_NEWEST);

	seen_reset();
	for (size_t n = 0; n <= g.state_len; n++) {
		size_t len;
		uint8_t *buf = wrap_stored(&g, g.state, n, &len);

		try_import(buf, len);
		free(buf);
	}
	seen_print("dictionary state truncations");
	assert_true(seen.refused_state > 0 && seen.built > 0);

	seen_reset();
	for (unsigned k = 0; k < FLIPS_DICT; k++) {
		uint8_t *st = copy(g.state, g.state_len), *buf;
		size_t len;

		flip_bits(&r, st, g.state_len);
		buf = wrap_stored(&g, st, g.state_len, &len);
		if (try_import(buf, len)) {
			struct gisa_snap_error err = { .msg = "" };

			assert_true(gisa_snap_decode(buf, len, &img, NULL, &err) < 0);
			dict_refused += strstr(err.msg, "keys") || strstr(err.msg, "].index") ||
					strstr(err.msg, "nr_keys");
		}
		free(buf);
		free(st);
	}
	seen_print("dictionary state bit flips");
	print_message("dictionary state bit flips: %u refused by the dictionary checks\n",
		      dict_refused);
	assert_true(dict_refused > 0);
	assert_true(seen.refused_state > 0 && seen.refused_model > 0);
	assert_true(seen.decoded > 0 && seen.built > 0);
	free(g.state);
	free(g.header.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_truncation_refused),
		cmocka_unit_test(dictionary_golden_truncations),
		cmocka_unit_test(every_state_truncation_clean),
		cmocka_unit_test(bit_flips_refused),
		cmocka_unit_test(bit_flips_resealed),
		cmocka_unit_test(state_bit_flips),
		cmocka_unit_test(dictionary_state_mutations),
	};

	return cmocka_run_group_tests(tests, load_all, free_all);
}
