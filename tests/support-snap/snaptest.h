/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the snapshot tests (test-snapshot, test-container,
 * test-snapfuzz, test-golden): finding and reading the golden files,
 * comparing two images field by field, SHA-256, and writing containers and
 * protobuf bytes by hand.  The hand-written encoders follow the layout drawn
 * at the top of lib/snapshot/codec.c and in the .proto, so the tests check
 * the codec against its documented format instead of against itself.
 *
 * Include after <cmocka.h>.  Everything is static inline: each test uses a
 * subset, and unused inline functions cost nothing.
 */
#ifndef GISA_TEST_SNAPTEST_H
#define GISA_TEST_SNAPTEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <gisa/gisa.h>
#include <gisa/image.h>
#include <gisa/snapshot.h>

/* ---- golden files ------------------------------------------------------------ */

/*
 * tests/data/NAME.  src is the including test's __FILE__ as the compiler saw
 * it: relative to the build directory (../tests/unit/x.c), so the data
 * directory is two components up from it.  That path is tried as given
 * (meson test runs tests in the build directory), then from the build
 * directory found through the executable (BUILD/tests/test-x), so the tests
 * also run from anywhere else.  GISA_TEST_DATA overrides both.
 */
static inline FILE *snapt_open(const char *src, const char *name, char *path, size_t n)
{
	const char *env = getenv("GISA_TEST_DATA");
	char exe[4096];
	ssize_t el;
	size_t cut;
	FILE *f;

	if (env && *env) {
		snprintf(path, n, "%s/%s", env, name);
		return fopen(path, "rb");
	}
	cut = strlen(src);
	for (int slashes = 0; cut > 0; cut--)
		if (src[cut - 1] == '/' && ++slashes == 2)
			break;
	snprintf(path, n, "%.*sdata/%s", (int)cut, src, name);
	f = fopen(path, "rb");
	if (f || src[0] == '/')
		return f;
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el <= 0)
		return NULL;
	exe[el] = 0;
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return NULL;
		*slash = 0;
	}
	snprintf(path, n, "%s/%.*sdata/%s", exe, (int)cut, src, name);
	return fopen(path, "rb");
}

static inline void snapt_read(const char *src, const char *name, uint8_t **ret, size_t *ret_len)
{
	char path[8192];
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;
	FILE *f = snapt_open(src, name, path, sizeof(path));

	if (!f) {
		print_error("cannot open golden file %s (set GISA_TEST_DATA to tests/data)\n",
			    path);
		fail();
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			uint8_t *grown = realloc(buf, cap);

			if (!grown)
				free(buf);
			assert_non_null(grown);
			buf = grown;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	assert_int_equal(ferror(f), 0);
	fclose(f);
	*ret = buf;
	*ret_len = len;
}

/* ---- SHA-256 and hex ------------------------------------------------------------ */

static inline void snapt_sha256(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
				uint8_t out[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	if (alen)
		assert_int_equal(EVP_DigestUpdate(ctx, a, alen), 1);
	if (blen)
		assert_int_equal(EVP_DigestUpdate(ctx, b, blen), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, &n), 1);
	assert_int_equal(n, 32);
	EVP_MD_CTX_free(ctx);
}

static inline void snapt_hex(const uint8_t *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = 0;
}

/* ---- big-endian fields of the container --------------------------------------- */

static inline void snapt_be(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static inline uint64_t snapt_get_be(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* Container offsets (codec.c). */
#define SNAPT_OFF_MAGIC     0
#define SNAPT_OFF_VERSION   8
#define SNAPT_OFF_MINREADER 10
#define SNAPT_OFF_FLAGS     12
#define SNAPT_OFF_HLEN      16
#define SNAPT_OFF_SLEN      20
#define SNAPT_OFF_PLEN      28
#define SNAPT_OFF_CHECK     36
#define SNAPT_PREAMBLE      44

/*
 * Recompute the header check (first 8 bytes of SHA-256 over bytes 0..35 and
 * the header) of a buffer whose preamble declares the header length; the
 * header must lie inside the buffer.
 */
static inline void snapt_recheck(uint8_t *buf, size_t len)
{
	uint64_t h = snapt_get_be(buf + SNAPT_OFF_HLEN, 4);
	uint8_t d[32];

	assert_true(len >= SNAPT_PREAMBLE && h <= len - SNAPT_PREAMBLE);
	snapt_sha256(buf, 36, buf + SNAPT_PREAMBLE, (size_t)h, d);
	memcpy(buf + SNAPT_OFF_CHECK, d, 8);
}

struct snapt_container {
	uint16_t format_version;
	uint16_t min_reader_version;
	uint32_t flags;
	const uint8_t *header;
	size_t header_len;
	uint64_t state_len;                 /* the declared S */
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *digest;              /* 32 bytes */
};

/* A container laid out as codec.c draws it, with a correct header check. */
static inline void snapt_build(const struct snapt_container *c, uint8_t **ret, size_t *ret_len)
{
	size_t len = SNAPT_PREAMBLE + c->header_len + c->payload_len + 32;
	uint8_t *b = calloc(1, len);

	assert_non_null(b);
	memcpy(b, "GISASNAP", 8);
	snapt_be(b + SNAPT_OFF_VERSION, c->format_version, 2);
	snapt_be(b + SNAPT_OFF_MINREADER, c->min_reader_version, 2);
	snapt_be(b + SNAPT_OFF_FLAGS, c->flags, 4);
	snapt_be(b + SNAPT_OFF_HLEN, c->header_len, 4);
	snapt_be(b + SNAPT_OFF_SLEN, c->state_len, 8);
	snapt_be(b + SNAPT_OFF_PLEN, c->payload_len, 8);
	if (c->header_len)
		memcpy(b + SNAPT_PREAMBLE, c->header, c->header_len);
	if (c->payload_len)
		memcpy(b + SNAPT_PREAMBLE + c->header_len, c->payload, c->payload_len);
	memcpy(b + SNAPT_PREAMBLE + c->header_len + c->payload_len, c->digest, 32);
	snapt_recheck(b, len);
	*ret = b;
	*ret_len = len;
}

/* ---- protobuf bytes by hand -------------------------------------------------------- */

struct snapt_pb {
	uint8_t *b;
	size_t n, cap;
};

static inline void snapt_pb_raw(struct snapt_pb *p, const void *data, size_t len)
{
	if (p->n + len > p->cap) {
		p->cap = (p->n + len) * 2 + 64;
		p->b = realloc(p->b, p->cap);
		assert_non_null(p->b);
	}
	if (len)
		memcpy(p->b + p->n, data, len);
	p->n += len;
}

static inline void snapt_pb_varint(struct snapt_pb *p, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	snapt_pb_raw(p, t, n);
}

/* Field with wire type 0 (varint), 1 (fixed64), 2 (length-delimited), 5 (fixed32). */
static inline void snapt_pb_uint(struct snapt_pb *p, uint32_t field, uint64_t v)
{
	snapt_pb_varint(p, (uint64_t)field << 3 | 0);
	snapt_pb_varint(p, v);
}

static inline void snapt_pb_bytes(struct snapt_pb *p, uint32_t field, const void *d, size_t len)
{
	snapt_pb_varint(p, (uint64_t)field << 3 | 2);
	snapt_pb_varint(p, len);
	snapt_pb_raw(p, d, len);
}

static inline void snapt_pb_fixed(struct snapt_pb *p, uint32_t field, uint64_t v, unsigned width)
{
	uint8_t t[8];

	snapt_pb_varint(p, (uint64_t)field << 3 | (width == 8 ? 1 : 5));
	for (unsigned i = 0; i < width; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	snapt_pb_raw(p, t, width);
}

/* ---- images, field by field ------------------------------------------------------ */

static inline void snapt_differs(const char *where, const char *what, uint64_t idx, uint64_t a,
				 uint64_t b)
{
	print_error("%s: image %s[%llu] differs: 0x%llx vs 0x%llx\n", where, what,
		    (unsigned long long)idx, (unsigned long long)a, (unsigned long long)b);
	fail();
}

#define SNAPT_EQ(what, idx, a, b)                                                      \
	do {                                                                           \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                        \
		if (a_ != b_)                                                          \
			snapt_differs(where, what, (uint64_t)(idx), a_, b_);           \
	} while (0)

/* Every field of two images must be equal. */
static inline void snapt_image_equal(const char *where, const struct gisa_image *x,
				     const struct gisa_image *y)
{
	SNAPT_EQ("config.profile", 0, x->config.profile, y->config.profile);
	SNAPT_EQ("config.caps", 0, x->config.caps, y->config.caps);
	SNAPT_EQ("config.nr_vcpus", 0, x->config.nr_vcpus, y->config.nr_vcpus);
	SNAPT_EQ("config.mem_cap", 0, x->config.mem_cap, y->config.mem_cap);
	SNAPT_EQ("config.abi_order", 0, x->config.abi_order, y->config.abi_order);
	SNAPT_EQ("fl.flic_present", 0, x->fl.flic_present, y->fl.flic_present);
	SNAPT_EQ("fl.apf_enabled", 0, x->fl.apf_enabled, y->fl.apf_enabled);
	SNAPT_EQ("fl.service_pending", 0, x->fl.service_pending, y->fl.service_pending);
	SNAPT_EQ("fl.service_ev_pending", 0, x->fl.service_ev_pending,
		 y->fl.service_ev_pending);
	SNAPT_EQ("fl.mchk_pending", 0, x->fl.mchk_pending, y->fl.mchk_pending);
	SNAPT_EQ("fl.srv_ext_params", 0, x->fl.srv_ext_params, y->fl.srv_ext_params);
	SNAPT_EQ("fl.mchk_cr14", 0, x->fl.mchk_cr14, y->fl.mchk_cr14);
	SNAPT_EQ("fl.mchk_mcic", 0, x->fl.mchk_mcic, y->fl.mchk_mcic);
	SNAPT_EQ("fl.simm", 0, x->fl.simm, y->fl.simm);
	SNAPT_EQ("fl.nimm", 0, x->fl.nimm, y->fl.nimm);
	SNAPT_EQ("fl.kick_cursor", 0, x->fl.kick_cursor, y->fl.kick_cursor);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		SNAPT_EQ("lists.n", l, x->lists[l].n, y->lists[l].n);
		for (uint32_t i = 0; i < x->lists[l].n; i++) {
			const struct gisa_list_entry *p = &x->lists[l].e[i], *q = &y->lists[l].e[i];
			uint64_t k = (uint64_t)l << 32 | i;

			SNAPT_EQ("lists.type", k, p->type, q->type);
			if (l <= GISA_MAX_ISC) {
				SNAPT_EQ("lists.subchannel_id", k, p->u.io.subchannel_id,
					 q->u.io.subchannel_id);
				SNAPT_EQ("lists.subchannel_nr", k, p->u.io.subchannel_nr,
					 q->u.io.subchannel_nr);
				SNAPT_EQ("lists.io_int_parm", k, p->u.io.io_int_parm,
					 q->u.io.io_int_parm);
				SNAPT_EQ("lists.io_int_word", k, p->u.io.io_int_word,
					 q->u.io.io_int_word);
			} else {
				SNAPT_EQ("lists.ext_params", k, p->u.ext.ext_params,
					 q->u.ext.ext_params);
				SNAPT_EQ("lists.pad", k, p->u.ext.pad, q->u.ext.pad);
				SNAPT_EQ("lists.ext_params2", k, p->u.ext.ext_params2,
					 q->u.ext.ext_params2);
			}
		}
	}
	SNAPT_EQ("nr_adapters", 0, x->nr_adapters, y->nr_adapters);
	for (uint32_t i = 0; i < x->nr_adapters; i++) {
		const struct gisa_state_adapter *p = &x->adapters[i].a, *q = &y->adapters[i].a;

		SNAPT_EQ("adapters.id", i, p->id, q->id);
		SNAPT_EQ("adapters.isc", i, p->isc, q->isc);
		SNAPT_EQ("adapters.maskable", i, p->maskable, q->maskable);
		SNAPT_EQ("adapters.masked", i, p->masked, q->masked);
		SNAPT_EQ("adapters.swap", i, p->swap, q->swap);
		SNAPT_EQ("adapters.suppressible", i, p->suppressible, q->suppressible);
		SNAPT_EQ("adapters.nr_maps", i, p->nr_maps, q->nr_maps);
		for (uint32_t k = 0; k < p->nr_maps; k++)
			SNAPT_EQ("adapters.maps", (uint64_t)i << 32 | k, x->adapters[i].maps[k],
				 y->adapters[i].maps[k]);
	}
	SNAPT_EQ("nr_routes", 0, x->nr_routes, y->nr_routes);
	for (uint32_t i = 0; i < x->nr_routes; i++) {
		const struct gisa_route_entry *p = &x->routes[i], *q = &y->routes[i];

		SNAPT_EQ("routes.gsi", i, p->gsi, q->gsi);
		SNAPT_EQ("routes.type", i, p->type, q->type);
		SNAPT_EQ("routes.flags", i, p->flags, q->flags);
		SNAPT_EQ("routes.ind_addr", i, p->adapter.ind_addr, q->adapter.ind_addr);
		SNAPT_EQ("routes.summary_addr", i, p->adapter.summary_addr,
			 q->adapter.summary_addr);
		SNAPT_EQ("routes.ind_offset", i, p->adapter.ind_offset, q->adapter.ind_offset);
		SNAPT_EQ("routes.summary_offset", i, p->adapter.summary_offset,
			 q->adapter.summary_offset);
		SNAPT_EQ("routes.adapter_id", i, p->adapter.adapter_id, q->adapter.adapter_id);
	}
	SNAPT_EQ("nr_memslots", 0, x->nr_memslots, y->nr_memslots);
	for (uint32_t i = 0; i < x->nr_memslots; i++) {
		SNAPT_EQ("memslots.slot", i, x->memslots[i].slot, y->memslots[i].slot);
		SNAPT_EQ("memslots.gpa", i, x->memslots[i].gpa, y->memslots[i].gpa);
		SNAPT_EQ("memslots.size", i, x->memslots[i].size, y->memslots[i].size);
	}
	SNAPT_EQ("nr_pages", 0, x->nr_pages, y->nr_pages);
	for (uint32_t i = 0; i < x->nr_pages; i++) {
		SNAPT_EQ("pages.gpa", i, x->pages[i].gpa, y->pages[i].gpa);
		for (uint32_t k = 0; k < GISA_PAGE_SIZE; k++)
			SNAPT_EQ("pages.data at gpa", x->pages[i].gpa + k, x->pages[i].data[k],
				 y->pages[i].data[k]);
	}
	SNAPT_EQ("nr_vcpus", 0, x->nr_vcpus, y->nr_vcpus);
	for (uint32_t i = 0; i < x->nr_vcpus; i++) {
		const struct gisa_vcpu_state *p = &x->vcpus[i], *q = &y->vcpus[i];

		SNAPT_EQ("vcpus.psw_mask", i, p->psw_mask, q->psw_mask);
		SNAPT_EQ("vcpus.cr0", i, p->cr0, q->cr0);
		SNAPT_EQ("vcpus.cr6", i, p->cr6, q->cr6);
		SNAPT_EQ("vcpus.cr14", i, p->cr14, q->cr14);
		SNAPT_EQ("vcpus.run", i, p->run, q->run);
		SNAPT_EQ("vcpus.kicked", i, p->kicked, q->kicked);
	}
	SNAPT_EQ("gisa.present", 0, x->gisa.present, y->gisa.present);
	SNAPT_EQ("gisa.ipm", 0, x->gisa.ipm, y->gisa.ipm);
	SNAPT_EQ("gisa.iam", 0, x->gisa.iam, y->gisa.iam);
	SNAPT_EQ("gisa.alert_mask", 0, x->gisa.alert_mask, y->gisa.alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		SNAPT_EQ("gisa.refcount", i, x->gisa.refcount[i], y->gisa.refcount[i]);
	SNAPT_EQ("gisa.on_alert_list", 0, x->gisa.on_alert_list, y->gisa.on_alert_list);
	SNAPT_EQ("gisa.timer_armed", 0, x->gisa.timer_armed, y->gisa.timer_armed);
	SNAPT_EQ("gisa.timer_delay_ns", 0, x->gisa.timer_delay_ns, y->gisa.timer_delay_ns);
}

/* The canonical state bytes of a VM (through an image). */
static inline void snapt_vm_state_bytes(const struct gisa_vm *vm, uint8_t **ret, size_t *ret_len)
{
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	assert_int_equal(gisa_snap_state_bytes(img, ret, ret_len), 0);
	gisa_image_free(img);
}

#endif
