/* SPDX-License-Identifier: MIT */
/*
 * The snapshot codec: image <-> gisa.v1 State (canonical), and the container.
 *
 * Container (every integer big-endian):
 *
 *   off  size  field
 *     0     8  magic "GISASNAP"
 *     8     2  format version (the writer's)
 *    10     2  minimum reader version (from the features the state uses)
 *    12     4  flags: 0x1 = payload is one zstd frame; other bits 0
 *    16     4  H, header length          (<= GISA_SNAP_MAX_HEADER)
 *    20     8  S, state length           (<= GISA_SNAP_MAX_STATE)
 *    28     8  P, payload length         (= S when stored; <= S bound)
 *    36     8  header check: the first 8 bytes of SHA-256(bytes 0..35 | header)
 *    44     H  gisa.v1.Header
 *  44+H     P  payload: the S state bytes (gisa.v1.State), stored or as one
 *              zstd frame whose window is at most 1 MiB (windowLog <= 20)
 *  44+H+P  32  state digest: SHA-256 of the S state bytes
 *
 * Nothing follows the digest.  A reader checks, in order: size of the
 * preamble, magic, minimum reader version, flags, H/S/P against their caps
 * and against the file's size, the header check, the header, the payload
 * (zstd's declared content size must be S), the digest, then the State.
 *
 * Canonical State encoding (what the digest covers): a field is emitted only
 * if it differs from its default; lists are columns of little-endian values;
 * repeated entries are in the image's canonical order; unknown fields never
 * appear (the encoder builds the message from an image).  protobuf-c emits
 * fields in field-number order, so the bytes are a function of the image.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include <gisa/diff.h>
#include <gisa/snapshot.h>

#include "gisa/v1/snapshot.pb-c.h"
#include "ossl.h"

#ifndef GISA_VERSION
#define GISA_VERSION "0.1.0"
#endif

static const uint8_t magic[8] = { 'G', 'I', 'S', 'A', 'S', 'N', 'A', 'P' };

/* ---- little helpers ------------------------------------------------------ */

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void put_le(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * errf(err, code, fmt, ...): the message into err->msg (when err is not
 * NULL), yielding code, for `return errf(...)'.  A macro, so that each error
 * path shows its code (to a static analyzer too, which does not follow calls
 * into variadic functions).
 */
#define errf(err, code, ...) (set_msg((err), __VA_ARGS__), (code))

__attribute__((format(printf, 2, 3)))
static void set_msg(struct gisa_snap_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
}

static int sha256(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		  uint8_t out[GISA_SNAP_DIGEST_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, a, alen) && (!blen || EVP_DigestUpdate(ctx, b, blen)) &&
	     EVP_DigestFinal_ex(ctx, out, &n) && n == GISA_SNAP_DIGEST_SIZE;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : snap_ossl_errno();
}

size_t gisa_utf8_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	/* A NUL is no continuation byte: nothing is read past the string's end. */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The offset of the first byte of s that is not well-formed UTF-8, or -1. */
static long utf8_bad(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, n; u[i]; i += n)
		if (!(n = gisa_utf8_len(u + i)))
			return (long)i;
	return -1;
}

void gisa_snap_digest_hex(const uint8_t d[GISA_SNAP_DIGEST_SIZE], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < GISA_SNAP_DIGEST_SIZE; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = 0;
}

/* ---- encoding: image -> State -------------------------------------------- */

/*
 * Column buffers of one encoding, freed together.  Each column is a byte
 * array of n values of a fixed width.
 */
struct cols {
	uint8_t *bufs[64];
	unsigned n;
	bool oom;
};

static ProtobufCBinaryData col(struct cols *c, size_t n, unsigned width)
{
	ProtobufCBinaryData d = { 0, NULL };

	if (!n || c->oom)
		return d;
	if (c->n == sizeof(c->bufs) / sizeof(c->bufs[0]) || !(d.data = malloc(n * width))) {
		c->oom = true;
		return d;
	}
	c->bufs[c->n++] = d.data;
	d.len = n * width;
	return d;
}

static void cols_free(struct cols *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->bufs[i]);
}

/* Emit a field only when it differs from its default (canonical form). */
#define SET(msg, field, v)                                                                         \
	do {                                                                                       \
		if ((v) != 0) {                                                                    \
			(msg)->has_##field = 1;                                                    \
			(msg)->field = (v);                                                        \
		}                                                                                  \
	} while (0)

#define SETCOL(msg, field, d)                                                                      \
	do {                                                                                       \
		(msg)->field = (d);                                                                \
		(msg)->has_##field = (d).len != 0;                                                 \
	} while (0)

/* Everything the State message points to, owned by the encoder. */
struct enc {
	Gisa__V1__State st;
	Gisa__V1__IoList io[GISA_MAX_ISC + 1];
	Gisa__V1__IoList *io_p[GISA_MAX_ISC + 1];
	Gisa__V1__ExtList ext[2];
	Gisa__V1__Adapter ad[GISA_MAX_ADAPTERS];
	Gisa__V1__Adapter *ad_p[GISA_MAX_ADAPTERS];
	Gisa__V1__Routes routes;
	Gisa__V1__Memslot *ms;
	Gisa__V1__Memslot **ms_p;
	Gisa__V1__Pages pages;
	Gisa__V1__Vcpu vc[GISA_MAX_VCPUS];
	Gisa__V1__Vcpu *vc_p[GISA_MAX_VCPUS];
	Gisa__V1__Gisa gisa;
	uint32_t refcount[GISA_MAX_ISC + 1];
	struct cols cols;
};

static uint32_t entry_hash(const struct gisa_list_entry *x)
{
	uint64_t a = (uint64_t)x->type << 32 | (uint32_t)x->u.io.subchannel_id << 16 |
		     x->u.io.subchannel_nr;
	uint64_t b = (uint64_t)x->u.io.io_int_parm << 32 | x->u.io.io_int_word;
	uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;

	return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

static bool entry_eq(const struct gisa_list_entry *a, const struct gisa_list_entry *b)
{
	return a->type == b->type && a->u.io.subchannel_id == b->u.io.subchannel_id &&
	       a->u.io.subchannel_nr == b->u.io.subchannel_nr &&
	       a->u.io.io_int_parm == b->u.io.io_int_parm &&
	       a->u.io.io_int_word == b->u.io.io_int_word;
}

/*
 * Probes a dictionary's hash table may make per entry on average (about
 * 2.5 for keys of no particular pattern at its load of at most one half)
 * before it gives up on the hash: entry_hash is no secret, and keys read
 * from outside can be made to collide, which would make the table
 * quadratic.
 */
#define DICT_PROBES_PER_KEY 16u

/* An entry as the sort that replaces the table compares it: the key, then its index. */
struct dict_rec {
	uint32_t type, parm, word, idx;
	uint16_t id, nr;
};

static int cmp_u32(uint32_t a, uint32_t b)
{
	return (a > b) - (a < b);
}

static int dict_cmp(const void *pa, const void *pb)
{
	const struct dict_rec *a = pa, *b = pb;
	int c = cmp_u32(a->type, b->type);

	c = c ? c : cmp_u32(a->id, b->id);
	c = c ? c : cmp_u32(a->nr, b->nr);
	c = c ? c : cmp_u32(a->parm, b->parm);
	c = c ? c : cmp_u32(a->word, b->word);
	return c ? c : cmp_u32(a->idx, b->idx);
}

/*
 * dict_build by sorting: each entry's index first set to the first entry
 * of its key (the least index among equal keys, which sorts first), then,
 * in entry order, first appearances numbered and the others given their
 * first's number (set already: it comes before them).
 */
static int dict_sorted(const struct gisa_list_entry *e, uint32_t n, uint32_t *ix,
		       uint32_t *first, uint32_t *ret_nk)
{
	struct dict_rec *v = malloc((size_t)n * sizeof(*v));
	uint32_t nk = 0;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		v[i] = (struct dict_rec){ e[i].type, e[i].u.io.io_int_parm, e[i].u.io.io_int_word,
					  i, e[i].u.io.subchannel_id, e[i].u.io.subchannel_nr };
	qsort(v, n, sizeof(*v), dict_cmp);
	for (uint32_t i = 0, g = 0; i < n; i++) {
		if (i && !entry_eq(&e[v[i].idx], &e[v[i - 1].idx]))
			g = i;
		ix[v[i].idx] = v[g].idx;
	}
	free(v);
	for (uint32_t i = 0; i < n; i++) {
		if (ix[i] == i) {
			first[nk] = i;
			ix[i] = nk++;
		} else {
			ix[i] = ix[ix[i]];
		}
	}
	*ret_nk = nk;
	return 0;
}

/*
 * The dictionary of n I/O entries: their distinct keys numbered in order
 * of first appearance, ix[i] the number of entry i's key and first[k] the
 * entry where key k first appears (both n long), the number of keys in
 * *ret_nk.  A hash table, or, past DICT_PROBES_PER_KEY, a sort: O(n log n)
 * whatever the keys.  0 or -ENOMEM.
 */
static int dict_build(const struct gisa_list_entry *e, uint32_t n, uint32_t *ix,
		      uint32_t *first, uint32_t *ret_nk)
{
	uint64_t budget = (uint64_t)DICT_PROBES_PER_KEY * n;
	uint32_t cap = 16, nk = 0, *slot;

	while (cap < 2 * n)
		cap <<= 1;
	slot = malloc((size_t)cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, (size_t)cap * sizeof(*slot));
	for (uint32_t i = 0; i < n; i++) {
		uint32_t h = entry_hash(&e[i]) & (cap - 1);

		while (slot[h] != UINT32_MAX && !entry_eq(&e[first[slot[h]]], &e[i])) {
			if (!budget--) {
				free(slot);
				return dict_sorted(e, n, ix, first, ret_nk);
			}
			h = (h + 1) & (cap - 1);
		}
		if (slot[h] == UINT32_MAX) {
			slot[h] = nk;
			first[nk++] = i;
		}
		ix[i] = slot[h];
	}
	free(slot);
	*ret_nk = nk;
	return 0;
}

/*
 * -1 if the n keys are pairwise distinct, else the index of the first key
 * that repeats an earlier one; -ENOMEM.
 */
static int keys_distinct(const struct gisa_list_entry *keys, uint32_t n)
{
	uint32_t *ix = malloc((size_t)n * sizeof(*ix) * 2 + 1), nk = 0;
	int r = ix ? dict_build(keys, n, ix, ix + n, &nk) : -ENOMEM;

	if (!r) {
		r = -1;
		for (uint32_t i = 0; nk < n && i < n && r == -1; i++)
			if (ix[n + ix[i]] != i)
				r = (int)i;
	}
	free(ix);
	return r;
}

/*
 * Dictionary form: the distinct entries (keys) in order of first
 * appearance as columns, then one index per entry; the index is left out
 * when it would be the identity (every entry distinct).
 */
static void enc_io(struct enc *e, const struct gisa_image_list *l, unsigned isc)
{
	Gisa__V1__IoList *m = &e->io[e->st.n_io];
	ProtobufCBinaryData ty, id, nr, parm, word, ix = { 0, NULL };
	uint32_t n = l->n, nk = 0, *num, *first;
	unsigned iw;

	gisa__v1__io_list__init(m);
	SET(m, isc, isc);
	SET(m, count, n);
	num = malloc((size_t)n * sizeof(*num));
	first = malloc((size_t)n * sizeof(*first));
	ix = col(&e->cols, n, 4);
	if (!num || !first || e->cols.oom || dict_build(l->e, n, num, first, &nk)) {
		e->cols.oom = true;
		free(num);
		free(first);
		return;
	}
	iw = nk > 65536 ? 4 : 2;
	for (uint32_t i = 0; i < n; i++)
		put_le(ix.data + iw * (size_t)i, num[i], iw);
	free(num);
	ix.len = iw * (size_t)n;
	ty = col(&e->cols, nk, 4);
	id = col(&e->cols, nk, 2);
	nr = col(&e->cols, nk, 2);
	parm = col(&e->cols, nk, 4);
	word = col(&e->cols, nk, 4);
	if (e->cols.oom) {
		free(first);
		return;
	}
	for (uint32_t k = 0; k < nk; k++) {
		const struct gisa_list_entry *x = &l->e[first[k]];

		put_le(ty.data + 4 * k, x->type, 4);
		put_le(id.data + 2 * k, x->u.io.subchannel_id, 2);
		put_le(nr.data + 2 * k, x->u.io.subchannel_nr, 2);
		put_le(parm.data + 4 * k, x->u.io.io_int_parm, 4);
		put_le(word.data + 4 * k, x->u.io.io_int_word, 4);
	}
	free(first);
	SETCOL(m, type, ty);
	SETCOL(m, subchannel_id, id);
	SETCOL(m, subchannel_nr, nr);
	SETCOL(m, parm, parm);
	SETCOL(m, word, word);
	if (nk < n) {
		SET(m, nr_keys, nk);
		SETCOL(m, index, ix);
	}
	e->io_p[e->st.n_io++] = m;
}

static Gisa__V1__ExtList *enc_ext(struct enc *e, Gisa__V1__ExtList *m,
				  const struct gisa_image_list *l)
{
	ProtobufCBinaryData p, pad, p2;

	if (!l->n)
		return NULL;
	gisa__v1__ext_list__init(m);
	SET(m, count, l->n);
	p = col(&e->cols, l->n, 4);
	pad = col(&e->cols, l->n, 4);
	p2 = col(&e->cols, l->n, 8);
	if (e->cols.oom)
		return NULL;
	for (uint32_t i = 0; i < l->n; i++) {
		put_le(p.data + 4 * i, l->e[i].u.ext.ext_params, 4);
		put_le(pad.data + 4 * i, l->e[i].u.ext.pad, 4);
		put_le(p2.data + 8 * i, l->e[i].u.ext.ext_params2, 8);
	}
	/* An all-zero column is still emitted: it carries the entry count's data. */
	SETCOL(m, params, p);
	SETCOL(m, pad, pad);
	SETCOL(m, params2, p2);
	return m;
}

static void enc_routes(struct enc *e, const struct gisa_image *img)
{
	Gisa__V1__Routes *m = &e->routes;
	uint32_t n = img->nr_routes;
	ProtobufCBinaryData gsi, ty, fl, ia, sa, io, so, ad;

	if (!n)
		return;
	gisa__v1__routes__init(m);
	SET(m, count, n);
	gsi = col(&e->cols, n, 4);
	ty = col(&e->cols, n, 4);
	fl = col(&e->cols, n, 4);
	ia = col(&e->cols, n, 8);
	sa = col(&e->cols, n, 8);
	io = col(&e->cols, n, 8);
	so = col(&e->cols, n, 4);
	ad = col(&e->cols, n, 4);
	if (e->cols.oom)
		return;
	for (uint32_t i = 0; i < n; i++) {
		const struct gisa_route_entry *r = &img->routes[i];

		put_le(gsi.data + 4 * i, r->gsi, 4);
		put_le(ty.data + 4 * i, r->type, 4);
		put_le(fl.data + 4 * i, r->flags, 4);
		put_le(ia.data + 8 * i, r->adapter.ind_addr, 8);
		put_le(sa.data + 8 * i, r->adapter.summary_addr, 8);
		put_le(io.data + 8 * i, r->adapter.ind_offset, 8);
		put_le(so.data + 4 * i, r->adapter.summary_offset, 4);
		put_le(ad.data + 4 * i, r->adapter.adapter_id, 4);
	}
	SETCOL(m, gsi, gsi);
	SETCOL(m, type, ty);
	SETCOL(m, flags, fl);
	SETCOL(m, ind_addr, ia);
	SETCOL(m, summary_addr, sa);
	SETCOL(m, ind_offset, io);
	SETCOL(m, summary_offset, so);
	SETCOL(m, adapter_id, ad);
	e->st.routes = m;
}

static int enc_build(struct enc *e, const struct gisa_image *img)
{
	Gisa__V1__State *st = &e->st;
	const struct gisa_float_image *fl = &img->fl;
	const struct gisa_state_gisa *g = &img->gisa;
	bool refs = false;

	memset(e, 0, sizeof(*e));
	gisa__v1__state__init(st);
	SET(st, profile, (Gisa__V1__Profile)img->config.profile);
	SET(st, caps, img->config.caps);
	SET(st, nr_vcpus, img->config.nr_vcpus);
	SET(st, mem_cap, img->config.mem_cap);
	SET(st, abi_order, (Gisa__V1__ByteOrder)img->config.abi_order);
	SET(st, flic_present, fl->flic_present);
	SET(st, apf_enabled, fl->apf_enabled);
	SET(st, service_pending, fl->service_pending);
	SET(st, service_ev_pending, fl->service_ev_pending);
	SET(st, mchk_pending, fl->mchk_pending);
	SET(st, srv_ext_params, fl->srv_ext_params);
	SET(st, mchk_cr14, fl->mchk_cr14);
	SET(st, mchk_mcic, fl->mchk_mcic);
	SET(st, simm, fl->simm);
	SET(st, nimm, fl->nimm);
	SET(st, kick_cursor, fl->kick_cursor);

	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++)
		if (img->lists[isc].n)
			enc_io(e, &img->lists[isc], isc);
	st->io = e->io_p;
	st->pfault_done = enc_ext(e, &e->ext[0], &img->lists[GISA_LIST_PFAULT]);
	st->virtio = enc_ext(e, &e->ext[1], &img->lists[GISA_LIST_VIRTIO]);

	for (uint32_t i = 0; i < img->nr_adapters; i++) {
		const struct gisa_image_adapter *a = &img->adapters[i];
		Gisa__V1__Adapter *m = &e->ad[i];

		gisa__v1__adapter__init(m);
		SET(m, id, a->a.id);
		SET(m, isc, a->a.isc);
		SET(m, maskable, a->a.maskable);
		SET(m, masked, a->a.masked);
		SET(m, swap, a->a.swap);
		SET(m, suppressible, a->a.suppressible);
		m->n_maps = a->a.nr_maps;
		m->maps = a->maps;
		e->ad_p[i] = m;
	}
	st->n_adapters = img->nr_adapters;
	st->adapters = e->ad_p;

	enc_routes(e, img);

	if (img->nr_memslots) {
		e->ms = calloc(img->nr_memslots, sizeof(*e->ms));
		e->ms_p = calloc(img->nr_memslots, sizeof(Gisa__V1__Memslot *));
		if (!e->ms || !e->ms_p)
			return -ENOMEM;
		for (uint32_t i = 0; i < img->nr_memslots; i++) {
			Gisa__V1__Memslot *m = &e->ms[i];

			gisa__v1__memslot__init(m);
			SET(m, slot, img->memslots[i].slot);
			SET(m, gpa, img->memslots[i].gpa);
			SET(m, size, img->memslots[i].size);
			e->ms_p[i] = m;
		}
		st->n_memslots = img->nr_memslots;
		st->memslots = e->ms_p;
	}

	if (img->nr_pages) {
		Gisa__V1__Pages *m = &e->pages;
		ProtobufCBinaryData gpa = col(&e->cols, img->nr_pages, 8);
		ProtobufCBinaryData data = col(&e->cols, img->nr_pages, GISA_PAGE_SIZE);

		if (e->cols.oom)
			return -ENOMEM;
		gisa__v1__pages__init(m);
		SET(m, count, img->nr_pages);
		for (uint32_t i = 0; i < img->nr_pages; i++) {
			put_le(gpa.data + 8 * i, img->pages[i].gpa, 8);
			memcpy(data.data + (size_t)GISA_PAGE_SIZE * i, img->pages[i].data,
			       GISA_PAGE_SIZE);
		}
		SETCOL(m, gpa, gpa);
		SETCOL(m, data, data);
		st->pages = m;
	}

	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		const struct gisa_vcpu_state *v = &img->vcpus[i];
		Gisa__V1__Vcpu *m = &e->vc[i];

		gisa__v1__vcpu__init(m);
		SET(m, psw_mask, v->psw_mask);
		SET(m, cr0, v->cr0);
		SET(m, cr6, v->cr6);
		SET(m, cr14, v->cr14);
		SET(m, run, (Gisa__V1__RunState)v->run);
		SET(m, kicked, v->kicked);
		e->vc_p[i] = m;
	}
	st->n_vcpus = img->nr_vcpus;
	st->vcpus = e->vc_p;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
		e->refcount[i] = g->refcount[i];
		refs |= g->refcount[i] != 0;
	}
	if (g->ipm || g->iam || g->alert_mask || refs || g->on_alert_list || g->timer_armed ||
	    g->timer_delay_ns) {
		Gisa__V1__Gisa *m = &e->gisa;

		gisa__v1__gisa__init(m);
		SET(m, ipm, g->ipm);
		SET(m, iam, g->iam);
		SET(m, alert_mask, g->alert_mask);
		if (refs) {
			m->n_refcount = GISA_MAX_ISC + 1;
			m->refcount = e->refcount;
		}
		SET(m, on_alert_list, g->on_alert_list);
		SET(m, timer_armed, g->timer_armed);
		SET(m, timer_delay_ns, g->timer_delay_ns);
		st->gisa = m;
	}
	return e->cols.oom ? -ENOMEM : 0;
}

static void enc_free(struct enc *e)
{
	cols_free(&e->cols);
	free(e->ms);
	free(e->ms_p);
}

int gisa_snap_state_bytes(const struct gisa_image *img, uint8_t **ret, size_t *ret_len)
{
	struct enc *e;
	uint8_t *buf;
	size_t len;
	int r;

	r = gisa_image_check(img, NULL);
	if (r)
		return r;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = enc_build(e, img);
	if (r)
		goto out;
	len = gisa__v1__state__get_packed_size(&e->st);
	r = -E2BIG;
	if (len > GISA_SNAP_MAX_STATE)
		goto out;
	r = -ENOMEM;
	buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	gisa__v1__state__pack(&e->st, buf);
	*ret = buf;
	*ret_len = len;
	r = 0;
out:
	enc_free(e);
	free(e);
	return r;
}

int gisa_snap_digest(const struct gisa_image *img, uint8_t ret[GISA_SNAP_DIGEST_SIZE])
{
	uint8_t *buf;
	size_t len;
	int r = gisa_snap_state_bytes(img, &buf, &len);

	if (r)
		return r;
	r = sha256(buf, len, NULL, 0, ret);
	free(buf);
	return r;
}

/* The minimum reader version the image's features need (every v1 feature: 1). */
static uint16_t min_reader_version(const struct gisa_image *img)
{
	(void)img;
	return 1;
}

int gisa_snap_state_make(const struct gisa_image *img, struct gisa_snap_state *ret)
{
	struct gisa_snap_state st = { 0 };
	int r = gisa_snap_state_bytes(img, &st.bytes, &st.len);

	if (r)
		return r;
	r = sha256(st.bytes, st.len, NULL, 0, st.digest);
	if (r) {
		free(st.bytes);
		return r;
	}
	*ret = st;
	return 0;
}

void gisa_snap_state_release(struct gisa_snap_state *st)
{
	if (!st)
		return;
	free(st->bytes);
	memset(st, 0, sizeof(*st));
}

/*
 * The file around the image's state bytes; digest: their SHA-256 when
 * known (NULL: computed here).
 */
static int encode_with(const struct gisa_image *img, const uint8_t *state, size_t slen,
		       const uint8_t *digest, const struct gisa_snap_meta *meta,
		       const struct gisa_snap_opts *opts, uint8_t **ret_buf, size_t *ret_len)
{
	struct gisa_snap_opts dflt = { .compress = true, .level = GISA_SNAP_DEFAULT_LEVEL };
	Gisa__V1__Header h = GISA__V1__HEADER__INIT;
	uint8_t *out = NULL, check[GISA_SNAP_DIGEST_SIZE];
	size_t hlen, plen, bound, total;
	char producer[64];
	int r;

	if (!opts)
		opts = &dflt;
	if (meta && meta->vm_name && strlen(meta->vm_name) > GISA_SNAP_MAX_NAME) {
		r = -EINVAL;
		goto out;
	}
	if (meta && meta->producer && strlen(meta->producer) > GISA_SNAP_MAX_PRODUCER) {
		r = -EINVAL;
		goto out;
	}
	if (meta && ((meta->vm_name && utf8_bad(meta->vm_name) >= 0) ||
		     (meta->producer && utf8_bad(meta->producer) >= 0))) {
		r = -EINVAL;
		goto out;
	}
	SET(&h, format_version, GISA_SNAP_FORMAT_VERSION);
	SET(&h, min_reader_version, min_reader_version(img));
	SET(&h, profile, (Gisa__V1__Profile)img->config.profile);
	SET(&h, caps, img->config.caps);
	snprintf(producer, sizeof(producer), "gisad %s", GISA_VERSION);
	h.producer = (char *)(meta && meta->producer ? meta->producer : producer);
	if (meta && meta->vm_name && *meta->vm_name)
		h.vm_name = (char *)meta->vm_name;
	if (meta && meta->vm_uuid) {
		h.has_vm_uuid = 1;
		h.vm_uuid.data = (uint8_t *)meta->vm_uuid;
		h.vm_uuid.len = 16;
	}
	if (meta)
		SET(&h, created_unix_ns, meta->created_unix_ns);
	if (opts->compress) {
		int level = opts->level ? opts->level : GISA_SNAP_DEFAULT_LEVEL;

		SET(&h, compression, GISA__V1__COMPRESSION__COMPRESSION_ZSTD);
		SET(&h, compression_level, level);
	}
	hlen = gisa__v1__header__get_packed_size(&h);
	bound = opts->compress ? ZSTD_compressBound(slen) : slen;
	total = GISA_SNAP_PREAMBLE_SIZE + hlen + bound + GISA_SNAP_DIGEST_SIZE;
	r = -ENOMEM;
	out = malloc(total);
	if (!out)
		goto out;
	gisa__v1__header__pack(&h, out + GISA_SNAP_PREAMBLE_SIZE);
	if (opts->compress) {
		ZSTD_CCtx *cc = ZSTD_createCCtx();

		r = -ENOMEM;
		if (!cc)
			goto out;
		/* The window is part of the format: readers refuse larger ones. */
		plen = ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
					      opts->level ? opts->level : GISA_SNAP_DEFAULT_LEVEL);
		if (!ZSTD_isError(plen))
			plen = ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, GISA_SNAP_ZSTD_WINDOW_LOG);
		if (!ZSTD_isError(plen))
			plen = ZSTD_compress2(cc, out + GISA_SNAP_PREAMBLE_SIZE + hlen, bound, state,
					      slen);
		ZSTD_freeCCtx(cc);
		r = -EIO;
		if (ZSTD_isError(plen))
			goto out;
	} else {
		memcpy(out + GISA_SNAP_PREAMBLE_SIZE + hlen, state, slen);
		plen = slen;
	}
	memcpy(out, magic, sizeof(magic));
	put_be16(out + 8, GISA_SNAP_FORMAT_VERSION);
	put_be16(out + 10, min_reader_version(img));
	put_be32(out + 12, opts->compress ? GISA_SNAP_FLAG_ZSTD : 0);
	put_be32(out + 16, (uint32_t)hlen);
	put_be64(out + 20, slen);
	put_be64(out + 28, plen);
	r = sha256(out, 36, out + GISA_SNAP_PREAMBLE_SIZE, hlen, check);
	if (r)
		goto out;
	memcpy(out + 36, check, 8);
	if (digest)
		memcpy(out + GISA_SNAP_PREAMBLE_SIZE + hlen + plen, digest, GISA_SNAP_DIGEST_SIZE);
	else
		r = sha256(state, slen, NULL, 0, out + GISA_SNAP_PREAMBLE_SIZE + hlen + plen);
	if (r)
		goto out;
	*ret_buf = out;
	*ret_len = GISA_SNAP_PREAMBLE_SIZE + hlen + plen + GISA_SNAP_DIGEST_SIZE;
	out = NULL;
	r = 0;
out:
	free(out);
	return r;
}

int gisa_snap_encode(const struct gisa_image *img, const struct gisa_snap_meta *meta,
		     const struct gisa_snap_opts *opts, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *state = NULL;
	size_t slen;
	int r = gisa_snap_state_bytes(img, &state, &slen);

	if (r)
		return r;
	r = encode_with(img, state, slen, NULL, meta, opts, ret_buf, ret_len);
	free(state);
	return r;
}

int gisa_snap_encode_state(const struct gisa_image *img, const struct gisa_snap_state *st,
			   const struct gisa_snap_meta *meta, const struct gisa_snap_opts *opts,
			   uint8_t **ret_buf, size_t *ret_len)
{
	/* A made state always has bytes (at least one allocated). */
	if (!st || !st->bytes)
		return -EINVAL;
	return encode_with(img, st->bytes, st->len, st->digest, meta, opts, ret_buf, ret_len);
}

/* ---- decoding: the container --------------------------------------------- */

/*
 * A protobuf-c allocator with a budget: decoding can never allocate more
 * than the bound derived from the (capped) declared lengths.
 */
struct budget {
	size_t used;
	size_t cap;
};

union block_head {
	size_t size;
	max_align_t align;
};

static void *budget_alloc(void *ctx, size_t size)
{
	struct budget *b = ctx;
	union block_head *h;

	if (size > b->cap - b->used || size > SIZE_MAX - sizeof(*h))
		return NULL;
	h = malloc(sizeof(*h) + size);
	if (!h)
		return NULL;
	h->size = size;
	b->used += size;
	return h + 1;
}

static void budget_free(void *ctx, void *p)
{
	struct budget *b = ctx;
	union block_head *h;

	if (!p)
		return;
	h = (union block_head *)p - 1;
	b->used -= h->size;
	free(h);
}

struct container {
	struct gisa_snap_info info;
	const uint8_t *header;
	const uint8_t *payload;
	const uint8_t *digest;
};

/* The preamble's fields, checked against their caps; *need: the file's size. */
static int preamble_fields(const uint8_t *buf, size_t len, struct gisa_snap_info *in,
			   uint64_t *need, struct gisa_snap_error *err)
{
	if (len < GISA_SNAP_PREAMBLE_SIZE)
		return errf(err, -EBADMSG, "truncated: %zu bytes, a snapshot preamble is %u",
			    len, GISA_SNAP_PREAMBLE_SIZE);
	if (memcmp(buf, magic, sizeof(magic)))
		return errf(err, -EBADMSG, "not a gisa snapshot: magic %02x%02x%02x%02x%02x%02x%02x%02x",
			    buf[0], buf[1], buf[2], buf[3], buf[4], buf[5], buf[6], buf[7]);
	in->format_version = get_be16(buf + 8);
	in->min_reader_version = get_be16(buf + 10);
	in->flags = get_be32(buf + 12);
	in->header_len = get_be32(buf + 16);
	in->state_len = get_be64(buf + 20);
	in->payload_len = get_be64(buf + 28);
	if (!in->format_version || in->min_reader_version > in->format_version)
		return errf(err, -EBADMSG, "format version %u with minimum reader version %u",
			    in->format_version, in->min_reader_version);
	if (in->min_reader_version > GISA_SNAP_READER_VERSION)
		return errf(err, -EPROTONOSUPPORT,
			    "snapshot needs reader version %u; this reader is version %u",
			    in->min_reader_version, GISA_SNAP_READER_VERSION);
	if (in->flags & ~GISA_SNAP_FLAG_ZSTD)
		return errf(err, -EBADMSG, "unknown container flags 0x%x", in->flags);
	if (in->header_len > GISA_SNAP_MAX_HEADER)
		return errf(err, -E2BIG, "header length %u exceeds the cap %u", in->header_len,
			    GISA_SNAP_MAX_HEADER);
	if (in->state_len > GISA_SNAP_MAX_STATE)
		return errf(err, -E2BIG, "state length %llu exceeds the cap %u",
			    (unsigned long long)in->state_len, GISA_SNAP_MAX_STATE);
	if (!(in->flags & GISA_SNAP_FLAG_ZSTD) && in->payload_len != in->state_len)
		return errf(err, -EBADMSG, "stored payload length %llu differs from state length %llu",
			    (unsigned long long)in->payload_len, (unsigned long long)in->state_len);
	if (in->payload_len > ZSTD_compressBound(GISA_SNAP_MAX_STATE))
		return errf(err, -E2BIG, "payload length %llu exceeds the cap %zu",
			    (unsigned long long)in->payload_len,
			    ZSTD_compressBound(GISA_SNAP_MAX_STATE));
	*need = (uint64_t)GISA_SNAP_PREAMBLE_SIZE + in->header_len + in->payload_len +
		GISA_SNAP_DIGEST_SIZE;
	return 0;
}

/*
 * The preamble and the header check of a file of len bytes whose first
 * have bytes are buf (the whole file, or at least its preamble and
 * header): c's info without the digest, and c->header.
 */
static int parse_head(const uint8_t *buf, size_t have, uint64_t len, struct container *c,
		      struct gisa_snap_error *err, bool verify)
{
	struct gisa_snap_info *in = &c->info;
	/* Zeroed: clang's analyzer does not follow sha256 this deep. */
	uint8_t check[GISA_SNAP_DIGEST_SIZE] = { 0 };
	uint64_t need;
	int r;

	memset(c, 0, sizeof(*c));
	r = preamble_fields(buf, have, in, &need, err);
	if (r)
		return r;
	if (len != need)
		return errf(err, -EBADMSG, "file is %llu bytes, its lengths say %llu",
			    (unsigned long long)len, (unsigned long long)need);
	/* Only a caller holding part of the file gets here with too few. */
	if (have - GISA_SNAP_PREAMBLE_SIZE < in->header_len)
		return errf(err, -EBADMSG,
			    "truncated: %zu bytes of the file, its preamble and header are %llu",
			    have, (unsigned long long)GISA_SNAP_PREAMBLE_SIZE + in->header_len);
	c->header = buf + GISA_SNAP_PREAMBLE_SIZE;
	if (verify) {
		if (sha256(buf, 36, c->header, in->header_len, check))
			return errf(err, -ENOMEM, "cannot compute the header check");
#ifndef GISA_SNAP_RECOMPUTE_DIGEST
		if (memcmp(check, buf + 36, 8))
			return errf(err, -EBADMSG,
				    "header check mismatch: stored %016llx, computed %016llx (preamble or header corrupt)",
				    (unsigned long long)get_be64(buf + 36),
				    (unsigned long long)get_be64(check));
#endif
	}
	return 0;
}

/* parse_head of a whole file, and where its payload and digest are. */
static int parse_preamble(const uint8_t *buf, size_t len, struct container *c,
			  struct gisa_snap_error *err, bool verify)
{
	int r = parse_head(buf, len, len, c, err, verify);

	if (r)
		return r;
	c->payload = c->header + c->info.header_len;
	c->digest = c->payload + c->info.payload_len;
	memcpy(c->info.digest, c->digest, GISA_SNAP_DIGEST_SIZE);
	return 0;
}

static int parse_header(struct container *c, struct gisa_snap_error *err)
{
	struct gisa_snap_info *in = &c->info;
	struct budget b = { 0, 4 * (size_t)GISA_SNAP_MAX_HEADER };
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };
	Gisa__V1__Header *h;
	long bad;
	int r = 0;

	h = gisa__v1__header__unpack(&a, in->header_len, c->header);
	if (!h)
		return errf(err, -EBADMSG, "header (%u bytes) is not a gisa.v1.Header",
			    in->header_len);
	if (h->has_profile && h->profile != GISA__V1__PROFILE__PROFILE_CLASSIC &&
	    h->profile != GISA__V1__PROFILE__PROFILE_NEWEST)
		r = errf(err, -EBADMSG, "header.profile %d is not a known profile", h->profile);
	else if (h->vm_name && strlen(h->vm_name) > GISA_SNAP_MAX_NAME)
		r = errf(err, -EBADMSG, "header.vm_name is %zu bytes, at most %u",
			 strlen(h->vm_name), GISA_SNAP_MAX_NAME);
	else if (h->producer && strlen(h->producer) > GISA_SNAP_MAX_PRODUCER)
		r = errf(err, -EBADMSG, "header.producer is %zu bytes, at most %u",
			 strlen(h->producer), GISA_SNAP_MAX_PRODUCER);
	else if (h->vm_name && (bad = utf8_bad(h->vm_name)) >= 0)
		r = errf(err, -EBADMSG, "header.vm_name is not UTF-8: byte 0x%02x at offset %ld",
			 (unsigned char)h->vm_name[bad], bad);
	else if (h->producer && (bad = utf8_bad(h->producer)) >= 0)
		r = errf(err, -EBADMSG, "header.producer is not UTF-8: byte 0x%02x at offset %ld",
			 (unsigned char)h->producer[bad], bad);
	else if (h->has_vm_uuid && h->vm_uuid.len != 16)
		r = errf(err, -EBADMSG, "header.vm_uuid is %zu bytes, not 16", h->vm_uuid.len);
	else if (h->caps & ~GISA_CAP_ALL)
		r = errf(err, -EBADMSG, "header.caps 0x%x has unknown bits", h->caps);
	/* The header's copies, when present, must agree with the preamble. */
	else if ((h->has_format_version && h->format_version != in->format_version) ||
		 (h->has_min_reader_version &&
		  h->min_reader_version != in->min_reader_version))
		r = errf(err, -EBADMSG,
			 "header says format %u / reader %u, the preamble %u / %u",
			 h->format_version, h->min_reader_version, in->format_version,
			 in->min_reader_version);
	else if (h->has_compression &&
		 ((h->compression == GISA__V1__COMPRESSION__COMPRESSION_ZSTD) !=
			  !!(in->flags & GISA_SNAP_FLAG_ZSTD) ||
		  (h->compression != GISA__V1__COMPRESSION__COMPRESSION_NONE &&
		   h->compression != GISA__V1__COMPRESSION__COMPRESSION_ZSTD)))
		r = errf(err, -EBADMSG, "header.compression %d disagrees with flags 0x%x",
			 h->compression, in->flags);
	if (!r) {
		in->profile = (enum gisa_profile)h->profile;
		in->caps = h->caps;
		if (h->vm_name)
			snprintf(in->vm_name, sizeof(in->vm_name), "%s", h->vm_name);
		if (h->producer)
			snprintf(in->producer, sizeof(in->producer), "%s", h->producer);
		in->has_uuid = h->has_vm_uuid;
		if (h->has_vm_uuid)
			memcpy(in->vm_uuid, h->vm_uuid.data, 16);
		in->created_unix_ns = h->created_unix_ns;
		in->compression_level = h->compression_level;
	}
	gisa__v1__header__free_unpacked(h, &a);
	return r;
}

int gisa_snap_info(const uint8_t *buf, size_t len, struct gisa_snap_info *ret,
		   struct gisa_snap_error *err)
{
	struct container c;
	int r = parse_preamble(buf, len, &c, err, true);

	if (!r)
		r = parse_header(&c, err);
	if (!r)
		*ret = c.info;
	return r;
}

int gisa_snap_info_head(const uint8_t *head, size_t len, uint64_t size, const uint8_t *digest,
			struct gisa_snap_info *ret, struct gisa_snap_error *err)
{
	struct container c;
	int r = parse_head(head, len, size, &c, err, true);

	if (!r)
		r = parse_header(&c, err);
	if (r)
		return r;
	if (digest)
		memcpy(c.info.digest, digest, GISA_SNAP_DIGEST_SIZE);
	*ret = c.info;
	return 0;
}

/*
 * The S state bytes: the payload itself, or a fresh decompressed buffer.
 * Decompression streams into a buffer that grows (doubling, from four times
 * the payload or 64 KiB) only as real output arrives, so a tiny file
 * declaring a huge state cannot make the reader allocate what it declares.
 */
static int payload_state(const struct container *c, uint8_t **ret_owned, const uint8_t **ret,
			 struct gisa_snap_error *err)
{
	const struct gisa_snap_info *in = &c->info;
	unsigned long long declared;
	ZSTD_inBuffer src = { c->payload, in->payload_len, 0 };
	ZSTD_outBuffer dst = { NULL, 0, 0 };
	ZSTD_DStream *ds;
	size_t rc = 1;
	int r = 0;

	*ret_owned = NULL;
	if (!(in->flags & GISA_SNAP_FLAG_ZSTD)) {
		*ret = c->payload;
		return 0;
	}
	declared = ZSTD_getFrameContentSize(c->payload, in->payload_len);
	if (declared == ZSTD_CONTENTSIZE_ERROR)
		return errf(err, -EBADMSG, "payload (%llu bytes) is not a zstd frame",
			    (unsigned long long)in->payload_len);
	if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != in->state_len)
		return errf(err, -EBADMSG, "zstd frame holds %llu bytes, the state length is %llu",
			    declared, (unsigned long long)in->state_len);
	ds = ZSTD_createDStream();
	if (!ds)
		return -ENOMEM;
	/*
	 * Bound the decoder's own window: a frame header may declare any size,
	 * and zstd would allocate a window that large before the first byte.
	 */
	if (ZSTD_isError(ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax,
						 GISA_SNAP_ZSTD_WINDOW_LOG))) {
		ZSTD_freeDStream(ds);
		return -ENOMEM;
	}
	while (rc != 0) {
		if (dst.pos == dst.size) {
			/* First guess: four times the payload, at least 64 KiB. */
			size_t want = dst.size ? 2 * dst.size :
				      in->payload_len < (16u << 10) ? (64u << 10) :
								      4 * in->payload_len;
			void *grown;

			/*
			 * Room for one byte past the declared length, so that an
			 * empty state decompresses too and a longer one shows.
			 */
			if (dst.size == in->state_len + 1) {
				/* More output than declared, or a frame that never ends. */
				r = errf(err, -EBADMSG,
					 "zstd payload does not decompress to %llu bytes: longer",
					 (unsigned long long)in->state_len);
				break;
			}
			if (want > in->state_len + 1)
				want = in->state_len + 1;
			grown = realloc(dst.dst, want);
			if (!grown) {
				r = -ENOMEM;
				break;
			}
			dst.dst = grown;
			dst.size = want;
		}
		rc = ZSTD_decompressStream(ds, &dst, &src);
		if (ZSTD_isError(rc)) {
			r = errf(err, -EBADMSG, "zstd payload does not decompress to %llu bytes: %s",
				 (unsigned long long)in->state_len, ZSTD_getErrorName(rc));
			break;
		}
		if (rc && src.pos == src.size && dst.pos < dst.size) {
			r = errf(err, -EBADMSG, "zstd payload is truncated after %zu of %llu bytes",
				 dst.pos, (unsigned long long)in->state_len);
			break;
		}
	}
	ZSTD_freeDStream(ds);
	if (!r && (dst.pos != in->state_len || src.pos != src.size))
		r = errf(err, -EBADMSG,
			 "zstd payload decompresses to %zu bytes (state length %llu), %zu of %llu payload bytes used",
			 dst.pos, (unsigned long long)in->state_len, src.pos,
			 (unsigned long long)in->payload_len);
	if (r) {
		free(dst.dst);
		return r;
	}
	*ret_owned = dst.dst ? dst.dst : malloc(1);
	if (!*ret_owned)
		return -ENOMEM;
	*ret = *ret_owned;
	return 0;
}

/* ---- decoding: State -> image -------------------------------------------- */

/* A column of n values of `width` bytes, or an error naming it. */
static int col_check(const char *name, unsigned index, const char *field, bool has,
		     ProtobufCBinaryData d, uint64_t n, unsigned width,
		     struct gisa_snap_error *err)
{
	uint64_t want = n * width;

	if (!has)
		d.len = 0;
	if (d.len != want)
		return errf(err, -EBADMSG, "%s[%u].%s: column of %zu bytes, %llu entries need %llu",
			    name, index, field, d.len, (unsigned long long)n,
			    (unsigned long long)want);
	return 0;
}

#define COL(name, idx, msg, field, n, w)                                                           \
	col_check(name, idx, #field, (msg)->has_##field, (msg)->field, n, w, err)

static int dec_state(const Gisa__V1__State *st, struct gisa_image *img,
		     struct gisa_snap_error *err)
{
	struct gisa_float_image *fl = &img->fl;
	uint32_t prev_isc = 0;
	uint64_t io_total = 0;
	int r;

	if (st->profile != GISA__V1__PROFILE__PROFILE_CLASSIC &&
	    st->profile != GISA__V1__PROFILE__PROFILE_NEWEST)
		return errf(err, -EBADMSG, "state.profile %d is not a known profile", st->profile);
	if (st->abi_order != GISA__V1__BYTE_ORDER__BYTE_ORDER_BE &&
	    st->abi_order != GISA__V1__BYTE_ORDER__BYTE_ORDER_LE)
		return errf(err, -EBADMSG, "state.abi_order %d is not a known byte order",
			    st->abi_order);
	if (st->caps & ~GISA_CAP_ALL)
		return errf(err, -EBADMSG, "state.caps 0x%x has unknown bits", st->caps);
	if (st->nr_vcpus > GISA_MAX_VCPUS || st->n_vcpus != st->nr_vcpus)
		return errf(err, -EBADMSG, "state.vcpus: %zu entries for nr_vcpus %u (at most %u)",
			    st->n_vcpus, st->nr_vcpus, GISA_MAX_VCPUS);
	if (st->simm > 0xff || st->nimm > 0xff)
		return errf(err, -EBADMSG, "state.simm/nimm 0x%x/0x%x are not bytes", st->simm,
			    st->nimm);
	img->config = (struct gisa_vm_config){
		.profile = (enum gisa_profile)st->profile,
		.caps = st->caps,
		.nr_vcpus = st->nr_vcpus,
		.mem_cap = st->mem_cap,
		.abi_order = (enum gisa_byteorder)st->abi_order,
	};
	*fl = (struct gisa_float_image){
		.flic_present = st->flic_present,
		.apf_enabled = st->apf_enabled,
		.service_pending = st->service_pending,
		.service_ev_pending = st->service_ev_pending,
		.mchk_pending = st->mchk_pending,
		.srv_ext_params = st->srv_ext_params,
		.mchk_cr14 = st->mchk_cr14,
		.mchk_mcic = st->mchk_mcic,
		.simm = (uint8_t)st->simm,
		.nimm = (uint8_t)st->nimm,
		.kick_cursor = st->kick_cursor,
	};

	for (size_t i = 0; i < st->n_io; i++) {
		const Gisa__V1__IoList *m = st->io[i];
		struct gisa_list_entry *keys;
		struct gisa_image_list *l;
		uint32_t nk;
		unsigned iw;

		if (m->isc > GISA_MAX_ISC || (i && m->isc <= prev_isc))
			return errf(err, -EBADMSG, "state.io[%zu].isc %u: ISCs 0..7, ascending, once",
				    i, m->isc);
		prev_isc = m->isc;
		if (!m->count || m->count > GISA_MAX_FLOAT_IRQS)
			return errf(err, -EBADMSG, "state.io[%zu].count %u: 1..%u", i, m->count,
				    GISA_MAX_FLOAT_IRQS);
		/* All lists together, before any is allocated or checked. */
		io_total += m->count;
		if (io_total > GISA_MAX_FLOAT_IRQS)
			return errf(err, -EBADMSG, "state.io[%zu].count %u: %llu I/O entries up to "
				    "this list, at most %u in all", i, m->count,
				    (unsigned long long)io_total, GISA_MAX_FLOAT_IRQS);
		if (m->has_nr_keys && !m->has_index)
			return errf(err, -EBADMSG, "state.io[%zu].nr_keys %u without an index", i,
				    m->nr_keys);
		nk = m->has_index ? m->nr_keys : m->count;
		if (m->has_index && (!nk || nk >= m->count))
			return errf(err, -EBADMSG, "state.io[%zu].nr_keys %u: 1..count-1 with an index",
				    i, nk);
		iw = nk > 65536 ? 4 : 2;
		if ((r = COL("state.io", (unsigned)i, m, type, nk, 4)) ||
		    (r = COL("state.io", (unsigned)i, m, subchannel_id, nk, 2)) ||
		    (r = COL("state.io", (unsigned)i, m, subchannel_nr, nk, 2)) ||
		    (r = COL("state.io", (unsigned)i, m, parm, nk, 4)) ||
		    (r = COL("state.io", (unsigned)i, m, word, nk, 4)) ||
		    (m->has_index && (r = COL("state.io", (unsigned)i, m, index, m->count, iw))))
			return r;
		r = gisa_image_set_list(img, m->isc, m->count);
		if (r)
			return r;
		l = &img->lists[m->isc];
		/* Keys first (into the list's head when there is an index), then expand. */
		keys = l->e;
		if (m->has_index) {
			keys = malloc((size_t)nk * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
		}
		for (uint32_t k = 0; k < nk; k++) {
			struct gisa_list_entry *x = &keys[k];

			x->type = (uint32_t)get_le(m->type.data + 4 * k, 4);
			x->u.io.subchannel_id = (uint16_t)get_le(m->subchannel_id.data + 2 * k, 2);
			x->u.io.subchannel_nr = (uint16_t)get_le(m->subchannel_nr.data + 2 * k, 2);
			x->u.io.io_int_parm = (uint32_t)get_le(m->parm.data + 4 * k, 4);
			x->u.io.io_int_word = (uint32_t)get_le(m->word.data + 4 * k, 4);
		}
		/* Canonical: keys are distinct (the writer stores each entry once). */
		r = keys_distinct(keys, nk);
		if (r >= 0) {
			if (keys != l->e)
				free(keys);
			return errf(err, -EBADMSG, "state.io[%zu]: key %d repeats an earlier one", i, r);
		}
		if (r != -1) {
			if (keys != l->e)
				free(keys);
			return r;
		}
		if (m->has_index) {
			uint32_t next = 0;

			for (uint32_t k = 0; k < m->count; k++) {
				uint32_t x = (uint32_t)get_le(m->index.data + iw * (size_t)k, iw);

				/* Canonical: keys in order of first appearance, all used. */
				if (x > next || x >= nk) {
					free(keys);
					return errf(err, -EBADMSG,
						    "state.io[%zu].index[%u] = %u: keys in order of first use",
						    i, k, x);
				}
				next += x == next;
				l->e[k] = keys[x];
			}
			free(keys);
			if (next != nk)
				return errf(err, -EBADMSG, "state.io[%zu]: %u of %u keys used", i,
					    next, nk);
		}
	}
	for (unsigned which = 0; which < 2; which++) {
		const Gisa__V1__ExtList *m = which ? st->virtio : st->pfault_done;
		unsigned li = which ? GISA_LIST_VIRTIO : GISA_LIST_PFAULT;
		uint32_t limit = which ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_PFAULT_IRQS;
		const char *name = which ? "state.virtio" : "state.pfault_done";

		if (!m)
			continue;
		if (!m->count || m->count > limit)
			return errf(err, -EBADMSG, "%s.count %u: 1..%u", name, m->count, limit);
		if ((r = COL(name, 0, m, params, m->count, 4)) ||
		    (r = COL(name, 0, m, pad, m->count, 4)) ||
		    (r = COL(name, 0, m, params2, m->count, 8)))
			return r;
		r = gisa_image_set_list(img, li, m->count);
		if (r)
			return r;
		for (uint32_t k = 0; k < m->count; k++) {
			struct gisa_list_entry *x = &img->lists[li].e[k];

			x->type = which ? GISA_INT_VIRTIO : GISA_INT_PFAULT_DONE;
			x->u.ext.ext_params = (uint32_t)get_le(m->params.data + 4 * k, 4);
			x->u.ext.pad = (uint32_t)get_le(m->pad.data + 4 * k, 4);
			x->u.ext.ext_params2 = get_le(m->params2.data + 8 * k, 8);
		}
	}

	{
		const Gisa__V1__Routes *rt = st->routes;
		const Gisa__V1__Pages *pg = st->pages;
		uint32_t nr = rt ? rt->count : 0, np = pg ? pg->count : 0;

		if (st->n_adapters > GISA_MAX_ADAPTERS)
			return errf(err, -EBADMSG, "state.adapters: %zu entries, at most %u",
				    st->n_adapters, GISA_MAX_ADAPTERS);
		if (nr > GISA_MAX_IRQ_ROUTES)
			return errf(err, -EBADMSG, "state.routes.count %u: at most %u", nr,
				    GISA_MAX_IRQ_ROUTES);
		if (st->n_memslots > GISA_MAX_MEMSLOTS)
			return errf(err, -EBADMSG, "state.memslots: %zu entries, at most %u",
				    st->n_memslots, GISA_MAX_MEMSLOTS);
		if (np > GISA_IMAGE_MAX_PAGES)
			return errf(err, -EBADMSG, "state.pages.count %u: at most %u", np,
				    GISA_IMAGE_MAX_PAGES);
		if (rt && ((r = COL("state.routes", 0, rt, gsi, nr, 4)) ||
			   (r = COL("state.routes", 0, rt, type, nr, 4)) ||
			   (r = COL("state.routes", 0, rt, flags, nr, 4)) ||
			   (r = COL("state.routes", 0, rt, ind_addr, nr, 8)) ||
			   (r = COL("state.routes", 0, rt, summary_addr, nr, 8)) ||
			   (r = COL("state.routes", 0, rt, ind_offset, nr, 8)) ||
			   (r = COL("state.routes", 0, rt, summary_offset, nr, 4)) ||
			   (r = COL("state.routes", 0, rt, adapter_id, nr, 4))))
			return r;
		if (pg && ((r = COL("state.pages", 0, pg, gpa, np, 8)) ||
			   (r = COL("state.pages", 0, pg, data, np, GISA_PAGE_SIZE))))
			return r;
		r = gisa_image_set_counts(img, (uint32_t)st->n_adapters, nr,
					  (uint32_t)st->n_memslots, np, st->nr_vcpus);
		if (r)
			return r;
		for (uint32_t k = 0; k < nr; k++) {
			struct gisa_route_entry *e = &img->routes[k];

			e->gsi = (uint32_t)get_le(rt->gsi.data + 4 * k, 4);
			e->type = (uint32_t)get_le(rt->type.data + 4 * k, 4);
			e->flags = (uint32_t)get_le(rt->flags.data + 4 * k, 4);
			e->adapter.ind_addr = get_le(rt->ind_addr.data + 8 * k, 8);
			e->adapter.summary_addr = get_le(rt->summary_addr.data + 8 * k, 8);
			e->adapter.ind_offset = get_le(rt->ind_offset.data + 8 * k, 8);
			e->adapter.summary_offset = (uint32_t)get_le(rt->summary_offset.data + 4 * k, 4);
			e->adapter.adapter_id = (uint32_t)get_le(rt->adapter_id.data + 4 * k, 4);
		}
		for (uint32_t k = 0; k < np; k++) {
			img->pages[k].gpa = get_le(pg->gpa.data + 8 * k, 8);
			memcpy(img->pages[k].data, pg->data.data + (size_t)GISA_PAGE_SIZE * k,
			       GISA_PAGE_SIZE);
		}
	}
	for (size_t i = 0; i < st->n_adapters; i++) {
		const Gisa__V1__Adapter *m = st->adapters[i];
		struct gisa_image_adapter *a = &img->adapters[i];

		if (m->isc > 0xff)
			return errf(err, -EBADMSG, "state.adapters[%zu].isc %u is not a byte", i,
				    m->isc);
		if (m->n_maps > GISA_MAX_ADAPTER_MAPS)
			return errf(err, -EBADMSG, "state.adapters[%zu].maps: %zu entries, at most %u",
				    i, m->n_maps, GISA_MAX_ADAPTER_MAPS);
		a->a = (struct gisa_state_adapter){
			.id = m->id, .isc = m->isc, .maskable = m->maskable, .masked = m->masked,
			.swap = m->swap, .suppressible = m->suppressible,
		};
		r = gisa_image_set_maps(img, (uint32_t)i, (uint32_t)m->n_maps);
		if (r)
			return r;
		if (m->n_maps)
			memcpy(a->maps, m->maps, m->n_maps * sizeof(*a->maps));
	}
	for (size_t i = 0; i < st->n_memslots; i++)
		img->memslots[i] = (struct gisa_image_memslot){
			st->memslots[i]->slot, st->memslots[i]->gpa, st->memslots[i]->size,
		};
	for (size_t i = 0; i < st->n_vcpus; i++) {
		const Gisa__V1__Vcpu *m = st->vcpus[i];

		if (m->run != GISA__V1__RUN_STATE__RUN_STATE_RUNNING &&
		    m->run != GISA__V1__RUN_STATE__RUN_STATE_IDLE &&
		    m->run != GISA__V1__RUN_STATE__RUN_STATE_STOPPED)
			return errf(err, -EBADMSG, "state.vcpus[%zu].run %d is not a run state", i,
				    m->run);
		img->vcpus[i] = (struct gisa_vcpu_state){
			.psw_mask = m->psw_mask, .cr0 = m->cr0, .cr6 = m->cr6, .cr14 = m->cr14,
			.run = (enum gisa_run_state)m->run, .kicked = m->kicked,
		};
	}
	img->gisa = (struct gisa_state_gisa){ .present = st->caps & GISA_CAP_GISA };
	if (st->gisa) {
		const Gisa__V1__Gisa *g = st->gisa;

		if (g->ipm > 0xff || g->iam > 0xff || g->alert_mask > 0xff)
			return errf(err, -EBADMSG, "state.gisa ipm/iam/alert_mask 0x%x/0x%x/0x%x are not bytes",
				    g->ipm, g->iam, g->alert_mask);
		if (g->n_refcount && g->n_refcount != GISA_MAX_ISC + 1)
			return errf(err, -EBADMSG, "state.gisa.refcount: %zu entries, 8 or none",
				    g->n_refcount);
		img->gisa.ipm = (uint8_t)g->ipm;
		img->gisa.iam = (uint8_t)g->iam;
		img->gisa.alert_mask = (uint8_t)g->alert_mask;
		for (size_t i = 0; i < g->n_refcount; i++)
			img->gisa.refcount[i] = g->refcount[i];
		img->gisa.on_alert_list = g->on_alert_list;
		img->gisa.timer_armed = g->timer_armed;
		img->gisa.timer_delay_ns = g->timer_delay_ns;
	}
	return 0;
}

int gisa_snap_decode_state(const uint8_t *buf, size_t len, struct gisa_image **ret_img,
			   struct gisa_snap_state *ret_state, struct gisa_snap_info *ret_info,
			   struct gisa_snap_error *err)
{
	struct gisa_restore_error rerr = { 0 };
	uint8_t *owned = NULL, digest[GISA_SNAP_DIGEST_SIZE];
	const uint8_t *state;
	struct gisa_image *img = NULL;
	Gisa__V1__State *st = NULL;
	struct container c;
	struct budget b;
	ProtobufCAllocator a = { budget_alloc, budget_free, &b };
	int r;

	r = parse_preamble(buf, len, &c, err, true);
	if (!r)
		r = parse_header(&c, err);
	if (!r)
		r = payload_state(&c, &owned, &state, err);
	if (r)
		return r;
	r = sha256(state, c.info.state_len, NULL, 0, digest);
	if (r)
		goto out;
#ifndef GISA_SNAP_RECOMPUTE_DIGEST
	if (memcmp(digest, c.digest, sizeof(digest))) {
		char want[65], got[65];

		gisa_snap_digest_hex(c.digest, want);
		gisa_snap_digest_hex(digest, got);
		r = errf(err, -EBADMSG, "state digest mismatch: stored %s, computed %s", want,
			 got);
		goto out;
	}
#endif
	/*
	 * Decoding copies every bytes field once and adds message structs, a
	 * few hundred bytes each for at most a few thousand messages in a
	 * valid state: twice the state plus 1 MiB bounds any valid decode.
	 */
	b = (struct budget){ 0, 2 * (size_t)c.info.state_len + (1u << 20) };
	st = gisa__v1__state__unpack(&a, c.info.state_len, state);
	if (!st) {
		r = errf(err, -EBADMSG,
			 "state (%llu bytes) is not a gisa.v1.State within the decoding budget",
			 (unsigned long long)c.info.state_len);
		goto out;
	}
	r = gisa_image_new(&img);
	if (r)
		goto out;
	r = dec_state(st, img, err);
	if (r)
		goto out;
	r = gisa_image_check(img, &rerr);
	if (r) {
		r = errf(err, -EINVAL, "state.%s[%llu] = 0x%llx: expected %s", rerr.field,
			 (unsigned long long)rerr.index, (unsigned long long)rerr.value,
			 rerr.reason);
		goto out;
	}
	if (img->config.profile != c.info.profile || img->config.caps != c.info.caps) {
		r = errf(err, -EBADMSG,
			 "header requires profile %d caps 0x%x, the state has profile %d caps 0x%x",
			 c.info.profile, c.info.caps, img->config.profile, img->config.caps);
		goto out;
	}
	if (ret_state) {
		/* Stored: the payload is the caller's, so the state gets a copy. */
		if (!owned) {
			owned = malloc(c.info.state_len ? c.info.state_len : 1);
			if (!owned) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(owned, state, c.info.state_len);
		}
		ret_state->bytes = owned;
		ret_state->len = c.info.state_len;
		memcpy(ret_state->digest, digest, sizeof(digest));
		owned = NULL;
	}
	if (ret_info)
		*ret_info = c.info;
	*ret_img = img;
	img = NULL;
out:
	if (st)
		gisa__v1__state__free_unpacked(st, &a);
	gisa_image_free(img);
	free(owned);
	return r;
}

int gisa_snap_decode(const uint8_t *buf, size_t len, struct gisa_image **ret_img,
		     struct gisa_snap_info *ret_info, struct gisa_snap_error *err)
{
	return gisa_snap_decode_state(buf, len, ret_img, NULL, ret_info, err);
}

int gisa_snap_size(const uint8_t *buf, size_t len, uint64_t *ret, struct gisa_snap_error *err)
{
	struct gisa_snap_info in = { 0 };
	uint64_t need;
	int r = preamble_fields(buf, len, &in, &need, err);

	if (!r)
		*ret = need;
	return r;
}

int gisa_snap_head_size(const uint8_t *buf, size_t len, size_t *ret,
			struct gisa_snap_error *err)
{
	struct gisa_snap_info in = { 0 };
	uint64_t need;
	int r = preamble_fields(buf, len, &in, &need, err);

	if (!r)
		*ret = GISA_SNAP_PREAMBLE_SIZE + (size_t)in.header_len;
	return r;
}

int gisa_snap_reseal(uint8_t *buf, size_t len)
{
	uint8_t check[GISA_SNAP_DIGEST_SIZE], *owned;
	const uint8_t *state;
	struct container c;
	int r = parse_preamble(buf, len, &c, NULL, false);

	if (r)
		return r;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];

	r = sha256(buf, 36, c.header, c.info.header_len, check);
	if (r)
		return r;
	r = payload_state(&c, &owned, &state, NULL);
	if (r)
		return r;
	r = sha256(state, c.info.state_len, NULL, 0, digest);
	free(owned);
	if (r)
		return r;
	/* Both computed: only now is the file changed. */
	memcpy(buf + 36, check, 8);
	memcpy(buf + (c.digest - buf), digest, sizeof(digest));
	return 0;
}

int gisa_snap_import(const uint8_t *buf, size_t len, struct gisa_host *host,
		     struct gisa_vm **ret_vm, struct gisa_snap_info *ret_info,
		     struct gisa_snap_error *err)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_snap_info info;
	struct gisa_image *img;
	int r;

	r = gisa_snap_decode(buf, len, &img, &info, err);
	if (r)
		return r;
	r = gisa_image_build_vm(img, host, ret_vm, &rerr);
	gisa_image_free(img);
	if (r) {
		if (rerr.field)
			return errf(err, r, "state.%s[%llu] = 0x%llx: expected %s", rerr.field,
				    (unsigned long long)rerr.index,
				    (unsigned long long)rerr.value, rerr.reason);
		return errf(err, r, "cannot build the VM: %s", strerror(-r));
	}
	if (ret_info)
		*ret_info = info;
	return 0;
}

int gisa_snap_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		   struct gisa_diff **ret, struct gisa_snap_error *err)
{
	struct gisa_image *ia = NULL, *ib = NULL;
	struct gisa_snap_info fa, fb;
	int r;

	/*
	 * Both decoded, every check made: equal stored digests alone would
	 * call a file whose payload is damaged equal to a sound one.
	 */
	r = gisa_snap_decode(a, alen, &ia, &fa, err);
	if (!r)
		r = gisa_snap_decode(b, blen, &ib, &fb, err);
	/* Verified digests: equal ones mean equal states, and the images are not compared. */
	if (!r)
		r = gisa_diff_images(ia, gisa_diff_equal_digest(fa.digest, fb.digest) ? ia : ib, ret);
	gisa_image_free(ia);
	gisa_image_free(ib);
	return r;
}
