/* SPDX-License-Identifier: MIT */
/*
 * Image deltas (delta.h): encoding and applying gisa.v1.MigDelta.
 *
 * Everything state-shaped in a delta is the snapshot codec's own encoding,
 * cut at the top level of the State message.  The canonical State encoding
 * emits its fields in field-number order, each field's occurrences next to
 * each other, so "field f of image I" is one contiguous byte range of
 * gisa_snap_state_bytes(I):
 *  - a section field is replaced exactly when its byte range differs between
 *    base and result, and the delta carries the result's range verbatim;
 *  - the appended list entries and the set pages are the io / pfault_done /
 *    virtio / pages ranges of a carrier image: the result with each edited
 *    list cut to its appended tail, unedited lists emptied, and only the set
 *    pages (it passes gisa_image_check whenever the result does, since only
 *    counts shrink).
 * Applying reverses this: the base's ranges, with the replaced ones and the
 * carried lists and pages taken from the delta, make the carrier's State,
 * which the snapshot decoder reads with all of its checks; then the list
 * edits and the page changes are applied, the result checked and its digest
 * compared.
 *
 * MigDelta itself is written and read here at the protobuf wire level:
 * libgisasnap is built before the migration protocol's generated code (see
 * lib/meson.build), and six fields do not justify a dependency; the unit
 * test checks that the generated decoder reads these bytes the same way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <gisa/delta.h>

#include "ossl.h"

/* Top-level State fields: 1..25; the ones that are not whole sections. */
#define NF            25u
#define F_IO          17u
#define F_PFAULT      18u
#define F_VIRTIO      19u
#define F_ADAPTERS    20u
#define F_ROUTES      21u
#define F_PAGES       23u
#define MAX_REPLACED  32u

/* MigDelta field numbers (migration.proto). */
#define D_BASE        1u
#define D_RESULT      2u
#define D_REPLACED    3u
#define D_STATE       4u
#define D_LISTS       5u
#define D_CLEARED     6u

static bool is_carried(unsigned f)
{
	return f == F_IO || f == F_PFAULT || f == F_VIRTIO || f == F_PAGES;
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

static int sha256(const uint8_t *p, size_t len, uint8_t out[GISA_SNAP_DIGEST_SIZE])
{
	unsigned int n = 0;

	if (!EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) || n != GISA_SNAP_DIGEST_SIZE)
		return snap_ossl_errno();
	return 0;
}

/* ---- protobuf wire level ------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t n, cap;
	bool oom;
};

static void put(struct wbuf *w, const void *src, size_t len)
{
	if (w->oom || !len)
		return;
	if (len > w->cap - w->n) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *p;

		while (cap - w->n < len)
			cap *= 2;
		p = realloc(w->p, cap);
		if (!p) {
			w->oom = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->n, src, len);
	w->n += len;
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	uint8_t b[10];
	unsigned n = 0;

	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			b[n] |= 0x80;
		n++;
	} while (v);
	put(w, b, n);
}

static unsigned varint_size(uint64_t v)
{
	unsigned n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_tag(struct wbuf *w, unsigned field, unsigned wt)
{
	put_varint(w, (uint64_t)field << 3 | wt);
}

static int get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 10; i++) {
		uint8_t b;

		if (*pos >= len)
			return -EBADMSG;
		b = p[(*pos)++];
		if (i == 9 && b > 1)
			return -EBADMSG;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*ret = v;
			return 0;
		}
	}
	return -EBADMSG;
}

/*
 * One field: its number, wire type, and for length-delimited fields the
 * payload; pos moves past it.  Groups (wire types 3, 4) are refused.
 */
struct field {
	uint64_t num;
	unsigned wt;
	uint64_t v;                 /* varint value */
	const uint8_t *data;        /* wire types 1, 2, 5 */
	size_t len;
};

static int get_field(const uint8_t *p, size_t len, size_t *pos, struct field *f)
{
	uint64_t tag;

	if (get_varint(p, len, pos, &tag))
		return -EBADMSG;
	f->num = tag >> 3;
	f->wt = (unsigned)(tag & 7);
	f->v = 0;
	f->data = NULL;
	f->len = 0;
	if (!f->num)
		return -EBADMSG;
	switch (f->wt) {
	case 0:
		return get_varint(p, len, pos, &f->v);
	case 1:
		f->len = 8;
		break;
	case 2:
		if (get_varint(p, len, pos, &f->v))
			return -EBADMSG;
		if (f->v > len - *pos)
			return -EBADMSG;
		f->len = (size_t)f->v;
		break;
	case 5:
		f->len = 4;
		break;
	default:
		return -EBADMSG;
	}
	if (f->len > len - *pos)
		return -EBADMSG;
	f->data = p + *pos;
	*pos += f->len;
	return 0;
}

/* Byte range of each top-level field of a State encoding. */
struct span {
	size_t off, len;
};

/*
 * Split a State encoding into its top-level fields.  Field numbers must be
 * 1..25 and never decrease (the canonical order), so each field is one
 * range.
 */
static int split_state(const uint8_t *p, size_t len, struct span s[NF + 1], const char *what,
		       struct gisa_snap_error *err)
{
	uint64_t prev = 0;
	size_t pos = 0;

	memset(s, 0, sizeof(*s) * (NF + 1));
	while (pos < len) {
		size_t start = pos;
		struct field f;

		if (get_field(p, len, &pos, &f))
			return errf(err, -EBADMSG, "%s: malformed field at byte %zu", what, start);
		if (f.num > NF || f.num < prev)
			return errf(err, -EBADMSG,
				    "%s: field %llu at byte %zu: fields 1..25 in ascending order",
				    what, (unsigned long long)f.num, start);
		if (f.num != prev)
			s[f.num].off = start;
		s[f.num].len = pos - s[f.num].off;
		prev = f.num;
	}
	return 0;
}

/* The last varint value of the field occurrences in a range (0 if none). */
static uint64_t span_varint(const uint8_t *p, struct span s)
{
	uint64_t v = 0;
	size_t pos = 0;
	struct field f;

	while (pos < s.len && !get_field(p + s.off, s.len, &pos, &f))
		if (f.wt == 0)
			v = f.v;
	return v;
}

/* ---- lists ---------------------------------------------------------------- */

static bool entry_eq(unsigned list, const struct gisa_list_entry *a,
		     const struct gisa_list_entry *b)
{
	if (list <= GISA_MAX_ISC)
		return a->type == b->type && a->u.io.subchannel_id == b->u.io.subchannel_id &&
		       a->u.io.subchannel_nr == b->u.io.subchannel_nr &&
		       a->u.io.io_int_parm == b->u.io.io_int_parm &&
		       a->u.io.io_int_word == b->u.io.io_int_word;
	return a->u.ext.ext_params == b->u.ext.ext_params && a->u.ext.pad == b->u.ext.pad &&
	       a->u.ext.ext_params2 == b->u.ext.ext_params2;
}

static bool list_eq(unsigned list, const struct gisa_image_list *a,
		    const struct gisa_image_list *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!entry_eq(list, &a->e[i], &b->e[i]))
			return false;
	return true;
}

struct edit {
	bool on;
	uint32_t drop, keep;
};

/*
 * The sequence cur | sentinel | base, compared by position: the sentinel
 * equals nothing, so no match runs across it.
 */
struct zseq {
	unsigned list;
	const struct gisa_image_list *cur, *base;
};

static bool zeq(const struct zseq *z, size_t i, size_t j)
{
	size_t nc = z->cur->n;
	const struct gisa_list_entry *a, *b;

	if (i == nc || j == nc)
		return false;
	a = i < nc ? &z->cur->e[i] : &z->base->e[i - nc - 1];
	b = j < nc ? &z->cur->e[j] : &z->base->e[j - nc - 1];
	return entry_eq(z->list, a, b);
}

/*
 * The edit of a changed list: the drop with the longest run of base entries
 * base[drop, drop + keep) equal to cur[0, keep) (the smallest such drop on a
 * tie), found for all drops at once in linear time by the Z-function of
 * cur | sentinel | base; no run at all replaces the list whole (drop = the
 * base's length, keep = 0).
 */
static int list_edit(unsigned list, const struct gisa_image_list *base,
		     const struct gisa_image_list *cur, struct edit *ed)
{
	struct zseq zs = { list, cur, base };
	size_t nc = cur->n, m = nc + 1 + base->n, l = 0, r = 0;
	uint32_t *z, best = 0, best_drop = base->n;

	ed->on = true;
	if (!nc || !base->n) {
		ed->drop = base->n;
		ed->keep = 0;
		return 0;
	}
	z = calloc(m, sizeof(*z));
	if (!z)
		return -ENOMEM;
	for (size_t i = 1; i < m; i++) {
		size_t k = 0;

		if (i < r)
			k = r - i < z[i - l] ? r - i : z[i - l];
		while (i + k < m && zeq(&zs, k, i + k))
			k++;
		z[i] = (uint32_t)k;
		if (i + k > r) {
			l = i;
			r = i + k;
		}
		if (i > nc && k > best) {
			best = (uint32_t)k;
			best_drop = (uint32_t)(i - nc - 1);
		}
	}
	free(z);
	ed->drop = best ? best_drop : base->n;
	ed->keep = best;
	return 0;
}

/* ---- make ----------------------------------------------------------------- */

/*
 * Both pages exist: the merge loops call this only in their last branch,
 * reached when neither p nor q is NULL and their gpa are equal.
 */
static bool page_eq(const struct gisa_image_page *a, const struct gisa_image_page *b)
{
	/* cppcheck-suppress nullPointerRedundantCheck ; see above: never NULL here */
	return a->gpa == b->gpa && !memcmp(a->data, b->data, GISA_PAGE_SIZE);
}

/* *st, or when it is NULL img's state, made into *own (released by the caller). */
static int state_of(const struct gisa_image *img, const struct gisa_snap_state **st,
		    struct gisa_snap_state *own)
{
	int r = 0;

	if (!*st) {
		r = gisa_snap_state_make(img, own);
		if (!r)
			*st = own;
	}
	return r;
}

/*
 * The pages that differ: set[] the result's pages that are new or changed,
 * cleared[] the gpas of base pages the result lacks (both ascending).
 */
struct page_diff {
	struct gisa_image_page *set;
	uint64_t *cleared;
	size_t nset, ncleared;
};

static int page_diff(const struct gisa_image *base, const struct gisa_image *cur,
		     struct page_diff *pd)
{
	pd->nset = pd->ncleared = 0;
	pd->set = calloc(cur->nr_pages ? cur->nr_pages : 1, sizeof(*pd->set));
	pd->cleared = calloc(base->nr_pages ? base->nr_pages : 1, sizeof(*pd->cleared));
	if (!pd->set || !pd->cleared)
		return -ENOMEM;
	for (uint32_t i = 0, j = 0; i < base->nr_pages || j < cur->nr_pages;) {
		const struct gisa_image_page *p = i < base->nr_pages ? &base->pages[i] : NULL;
		const struct gisa_image_page *q = j < cur->nr_pages ? &cur->pages[j] : NULL;

		if (p && (!q || p->gpa < q->gpa)) {
			pd->cleared[pd->ncleared++] = p->gpa;
			i++;
		} else if (q && (!p || q->gpa < p->gpa)) {
			pd->set[pd->nset++] = *q;
			j++;
		} else if (p && q) {
			/* Always taken here: one of the two is left, and their gpa are equal. */
			if (!page_eq(p, q))
				pd->set[pd->nset++] = *q;
			i++;
			j++;
		}
	}
	return 0;
}

/*
 * What a delta is made of: the two digests, the base's State encoding and
 * the result's (for the replaced sections; only their ranges are read), the
 * carrier's (the appended tails and the set pages), the edits and the
 * cleared pages.
 */
struct delta_parts {
	const uint8_t *db, *dc;
	const uint8_t *bs, *cs, *ks;
	size_t bl, cl, kl;
	const struct edit *ed;
	const uint64_t *cleared;
	size_t ncleared;
	uint32_t same;              /* bit f: field f is known unchanged, not compared */
};

static int emit(const struct delta_parts *pt, uint8_t **ret_bytes, size_t *ret_len)
{
	struct span sb[NF + 1], sc[NF + 1], sk[NF + 1];
	const uint8_t *bs = pt->bs, *cs = pt->cs, *ks = pt->ks;
	uint32_t replaced[NF];
	unsigned nrep = 0;
	size_t statelen = 0;
	struct wbuf w = { 0 };

	/* Our own encodings: they always split. */
	if (split_state(bs, pt->bl, sb, "base", NULL) || split_state(cs, pt->cl, sc, "cur", NULL) ||
	    split_state(ks, pt->kl, sk, "carrier", NULL))
		return -EIO;
	for (unsigned f = 1; f <= NF; f++)
		if (!is_carried(f) && !(pt->same >> f & 1) &&
		    (sb[f].len != sc[f].len || memcmp(bs + sb[f].off, cs + sc[f].off, sb[f].len)))
			replaced[nrep++] = f;

	put_tag(&w, D_BASE, 2);
	put_varint(&w, GISA_SNAP_DIGEST_SIZE);
	put(&w, pt->db, GISA_SNAP_DIGEST_SIZE);
	put_tag(&w, D_RESULT, 2);
	put_varint(&w, GISA_SNAP_DIGEST_SIZE);
	put(&w, pt->dc, GISA_SNAP_DIGEST_SIZE);
	if (nrep) {
		size_t n = 0;

		for (unsigned i = 0; i < nrep; i++)
			n += varint_size(replaced[i]);
		put_tag(&w, D_REPLACED, 2);
		put_varint(&w, n);
		for (unsigned i = 0; i < nrep; i++)
			put_varint(&w, replaced[i]);
	}
	for (unsigned f = 1; f <= NF; f++)
		if (is_carried(f))
			statelen += sk[f].len;
	for (unsigned i = 0; i < nrep; i++)
		statelen += sc[replaced[i]].len;
	if (statelen) {
		unsigned k = 0;

		put_tag(&w, D_STATE, 2);
		put_varint(&w, statelen);
		for (unsigned f = 1; f <= NF; f++) {
			if (is_carried(f)) {
				put(&w, ks + sk[f].off, sk[f].len);
			} else if (k < nrep && replaced[k] == f) {
				put(&w, cs + sc[f].off, sc[f].len);
				k++;
			}
		}
	}
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		const struct edit *ed = &pt->ed[l];
		size_t n = 0;

		if (!ed->on)
			continue;
		if (l)
			n += 1 + varint_size(l);
		if (ed->drop)
			n += 1 + varint_size(ed->drop);
		if (ed->keep)
			n += 1 + varint_size(ed->keep);
		put_tag(&w, D_LISTS, 2);
		put_varint(&w, n);
		if (l) {
			put_tag(&w, 1, 0);
			put_varint(&w, l);
		}
		if (ed->drop) {
			put_tag(&w, 2, 0);
			put_varint(&w, ed->drop);
		}
		if (ed->keep) {
			put_tag(&w, 3, 0);
			put_varint(&w, ed->keep);
		}
	}
	if (pt->ncleared) {
		put_tag(&w, D_CLEARED, 2);
		put_varint(&w, 8 * pt->ncleared);
		for (size_t i = 0; i < pt->ncleared; i++) {
			uint8_t le[8];

			for (unsigned b = 0; b < 8; b++)
				le[b] = (uint8_t)(pt->cleared[i] >> (8 * b));
			put(&w, le, 8);
		}
	}
	if (w.oom) {
		free(w.p);
		return -ENOMEM;
	}
	if (w.n > GISA_DELTA_MAX_BYTES) {
		free(w.p);
		return -E2BIG;
	}
	*ret_bytes = w.p;
	*ret_len = w.n;
	return 0;
}

int gisa_delta_make(const struct gisa_image *base, const struct gisa_image *cur,
		    uint8_t **ret_bytes, size_t *ret_len)
{
	return gisa_delta_make_states(base, NULL, cur, NULL, ret_bytes, ret_len);
}

int gisa_delta_make_states(const struct gisa_image *base, const struct gisa_snap_state *bst,
			   const struct gisa_image *cur, const struct gisa_snap_state *cst,
			   uint8_t **ret_bytes, size_t *ret_len)
{
	struct gisa_snap_state own_b = { 0 }, own_c = { 0 };
	struct edit ed[GISA_NR_LISTS] = { { 0 } };
	struct page_diff pd = { 0 };
	struct gisa_image carrier;
	uint8_t *ks = NULL;
	size_t kl;
	int r;

	r = state_of(base, &bst, &own_b);
	if (!r)
		r = state_of(cur, &cst, &own_c);
	if (r)
		goto out;
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		if (list_eq(l, &base->lists[l], &cur->lists[l]))
			continue;
		r = list_edit(l, &base->lists[l], &cur->lists[l], &ed[l]);
		if (r)
			goto out;
	}
	r = page_diff(base, cur, &pd);
	if (r)
		goto out;

	/* The carrier: the result with only the appended tails and the set pages. */
	carrier = *cur;
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		carrier.lists[l].n = ed[l].on ? cur->lists[l].n - ed[l].keep : 0;
		carrier.lists[l].e = ed[l].on ? cur->lists[l].e + ed[l].keep : NULL;
	}
	carrier.nr_pages = (uint32_t)pd.nset;
	carrier.pages = pd.set;
	r = gisa_snap_state_bytes(&carrier, &ks, &kl);
	if (r)
		goto out;
	r = emit(&(struct delta_parts){
			.db = bst->digest, .dc = cst->digest,
			.bs = bst->bytes, .bl = bst->len, .cs = cst->bytes, .cl = cst->len,
			.ks = ks, .kl = kl, .ed = ed, .cleared = pd.cleared,
			.ncleared = pd.ncleared,
		 }, ret_bytes, ret_len);
out:
	gisa_snap_state_release(&own_b);
	gisa_snap_state_release(&own_c);
	free(ks);
	free(pd.set);
	free(pd.cleared);
	return r;
}

int gisa_delta_make_vm(const struct gisa_image *base, const struct gisa_snap_state *bst,
		       const struct gisa_vm *vm, const uint8_t result[GISA_SNAP_DIGEST_SIZE],
		       uint8_t **ret_bytes, size_t *ret_len)
{
	struct gisa_snap_state own_b = { 0 };
	struct edit ed[GISA_NR_LISTS] = { { 0 } };
	uint8_t own_result[GISA_SNAP_DIGEST_SIZE];
	struct gisa_image *x = NULL, *full = NULL;
	struct page_diff pd = { 0 };
	uint8_t *ks = NULL;
	unsigned changed;
	size_t kl;
	int r;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		struct gisa_track_list t;

		r = gisa_track_read(vm, l, &t);
		if (r)
			return r;
		if (t.base_n != base->lists[l].n)
			return -ESTALE;
		if (t.drop || t.keep != t.base_n || t.tail_n)
			ed[l] = (struct edit){ true, t.drop, t.keep };
	}
	r = state_of(base, &bst, &own_b);
	if (r)
		return r;
	if (!result) {
		r = gisa_image_from_vm(vm, &full);
		if (!r)
			r = gisa_snap_digest(full, own_result);
		gisa_image_free(full);
		if (r)
			goto out;
		result = own_result;
	}
	/*
	 * The VM with only the tails, and without the sections unchanged since
	 * the mark: the carrier, once its pages are the set ones.  The route
	 * pages are the non-zero pages the routes name inside the memslots:
	 * unchanged unless one of the three changed.
	 */
	changed = gisa_track_changed(vm);
	if (changed & (GISA_TRACK_ROUTES | GISA_TRACK_MEMSLOTS))
		changed |= GISA_TRACK_PAGES;
	r = gisa_image_from_vm_tails(vm, GISA_TRACK_ALL & ~changed & ~GISA_TRACK_MEMSLOTS, &x);
	if (r)
		goto out;
	if (changed & GISA_TRACK_PAGES) {
		r = page_diff(base, x, &pd);
		if (r)
			goto out;
	}
	{
		struct gisa_image carrier = *x;

		carrier.nr_pages = (uint32_t)pd.nset;
		carrier.pages = pd.set;
		r = gisa_snap_state_bytes(&carrier, &ks, &kl);
	}
	if (r)
		goto out;
	/* The sections are the carrier's: only the lists and pages differ from the VM's. */
	r = emit(&(struct delta_parts){
			.db = bst->digest, .dc = result,
			.bs = bst->bytes, .bl = bst->len, .cs = ks, .cl = kl,
			.ks = ks, .kl = kl, .ed = ed, .cleared = pd.cleared,
			.ncleared = pd.ncleared,
			.same = (changed & GISA_TRACK_ADAPTERS ? 0 : 1u << F_ADAPTERS) |
				(changed & GISA_TRACK_ROUTES ? 0 : 1u << F_ROUTES),
		 }, ret_bytes, ret_len);
out:
	gisa_snap_state_release(&own_b);
	gisa_image_free(x);
	free(ks);
	free(pd.set);
	free(pd.cleared);
	return r;
}

/* ---- apply ---------------------------------------------------------------- */

struct parsed {
	bool has_base, has_result;
	uint8_t base[GISA_SNAP_DIGEST_SIZE], result[GISA_SNAP_DIGEST_SIZE];
	uint32_t replaced[MAX_REPLACED];
	unsigned nrep;
	const uint8_t *state;
	size_t state_len;
	struct {
		uint32_t list, drop, keep;
	} lists[GISA_NR_LISTS];
	unsigned nlists;
	uint64_t cleared[GISA_IMAGE_MAX_PAGES];
	uint32_t ncleared;
};

static int parse_edit(struct parsed *d, const struct field *f, struct gisa_snap_error *err)
{
	uint64_t v[4] = { 0 };
	size_t pos = 0;
	struct field g;

	if (f->wt != 2)
		return errf(err, -EBADMSG, "delta.lists: wire type %u, not a message", f->wt);
	if (d->nlists == GISA_NR_LISTS)
		return errf(err, -EBADMSG, "delta.lists: more than %u edits", GISA_NR_LISTS);
	while (pos < f->len) {
		if (get_field(f->data, f->len, &pos, &g))
			return errf(err, -EBADMSG, "delta.lists[%u]: malformed", d->nlists);
		if (g.num > 3)
			continue;
		if (g.wt != 0 || g.v > UINT32_MAX)
			return errf(err, -EBADMSG, "delta.lists[%u] field %llu: not a uint32",
				    d->nlists, (unsigned long long)g.num);
		v[g.num] = g.v;
	}
	d->lists[d->nlists].list = (uint32_t)v[1];
	d->lists[d->nlists].drop = (uint32_t)v[2];
	d->lists[d->nlists].keep = (uint32_t)v[3];
	d->nlists++;
	return 0;
}

static int parse_delta(const uint8_t *p, size_t len, struct parsed *d,
		       struct gisa_snap_error *err)
{
	size_t pos = 0;
	int r;

	if (len > GISA_DELTA_MAX_BYTES)
		return errf(err, -E2BIG, "delta of %zu bytes exceeds the cap %u", len,
			    GISA_DELTA_MAX_BYTES);
	while (pos < len) {
		size_t start = pos;
		struct field f;

		if (get_field(p, len, &pos, &f))
			return errf(err, -EBADMSG, "delta: malformed field at byte %zu of %zu",
				    start, len);
		switch (f.num) {
		case D_BASE:
		case D_RESULT:
			if (f.wt != 2 || f.len != GISA_SNAP_DIGEST_SIZE)
				return errf(err, -EBADMSG, "delta field %llu: a digest is 32 bytes, not %zu",
					    (unsigned long long)f.num, f.len);
			memcpy(f.num == D_BASE ? d->base : d->result, f.data, f.len);
			*(f.num == D_BASE ? &d->has_base : &d->has_result) = true;
			break;
		case D_REPLACED: {
			size_t q = 0;
			uint64_t v = f.v;

			while (f.wt == 0 || q < f.len) {
				if (f.wt == 2 && get_varint(f.data, f.len, &q, &v))
					return errf(err, -EBADMSG, "delta.replaced: malformed");
				if (f.wt != 0 && f.wt != 2)
					return errf(err, -EBADMSG, "delta.replaced: wire type %u",
						    f.wt);
				if (d->nrep == MAX_REPLACED)
					return errf(err, -E2BIG, "delta.replaced: more than %u entries",
						    MAX_REPLACED);
				if (v > UINT32_MAX)
					return errf(err, -EBADMSG, "delta.replaced: %llu is not a uint32",
						    (unsigned long long)v);
				d->replaced[d->nrep++] = (uint32_t)v;
				if (f.wt == 0)
					break;
			}
			break;
		}
		case D_STATE:
			if (f.wt != 2)
				return errf(err, -EBADMSG, "delta.state: wire type %u", f.wt);
			d->state = f.data;
			d->state_len = f.len;
			break;
		case D_LISTS:
			r = parse_edit(d, &f, err);
			if (r)
				return r;
			break;
		case D_CLEARED:
			if ((f.wt != 1 && f.wt != 2) || f.len % 8)
				return errf(err, -EBADMSG, "delta.pages_cleared: %zu bytes, wire type %u",
					    f.len, f.wt);
			if (f.len / 8 > GISA_IMAGE_MAX_PAGES - d->ncleared)
				return errf(err, -E2BIG, "delta.pages_cleared: more than %u gpas",
					    GISA_IMAGE_MAX_PAGES);
			for (size_t i = 0; i < f.len; i += 8) {
				uint64_t v = 0;

				for (unsigned b = 0; b < 8; b++)
					v |= (uint64_t)f.data[i + b] << (8 * b);
				d->cleared[d->ncleared++] = v;
			}
			break;
		default:
			break;  /* unknown fields are ignored (migration.proto, rule 2) */
		}
	}
	if (!d->has_base || !d->has_result)
		return errf(err, -EBADMSG, "delta: no %s digest", d->has_base ? "result" : "base");
	return 0;
}

/* Checks of the parsed delta that need no image. */
static int check_parsed(const struct parsed *d, struct gisa_snap_error *err)
{
	for (unsigned i = 0; i < d->nrep; i++) {
		uint32_t f = d->replaced[i];

		if (!f || f > NF)
			return errf(err, -EPROTONOSUPPORT,
				    "delta.replaced[%u] = %u: not a State field this reader knows", i,
				    f);
		if (is_carried(f))
			return errf(err, -EBADMSG,
				    "delta.replaced[%u] = %u: lists and pages are never replaced", i,
				    f);
		if (i && f <= d->replaced[i - 1])
			return errf(err, -EBADMSG, "delta.replaced[%u] = %u: ascending, once", i, f);
	}
	for (unsigned i = 0; i < d->nlists; i++)
		if (d->lists[i].list >= GISA_NR_LISTS ||
		    (i && d->lists[i].list <= d->lists[i - 1].list))
			return errf(err, -EBADMSG, "delta.lists[%u].list = %u: 0..9, ascending, once",
				    i, d->lists[i].list);
	for (uint32_t i = 1; i < d->ncleared; i++)
		if (d->cleared[i] <= d->cleared[i - 1])
			return errf(err, -EBADMSG,
				    "delta.pages_cleared[%u] = 0x%llx: ascending, once", i,
				    (unsigned long long)d->cleared[i]);
	return 0;
}

static void put_be(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

/*
 * The carrier's State (state bytes of m_len) read by the snapshot decoder:
 * wrapped in a stored container whose header names the state's profile
 * and caps, as gisa_snap_decode requires.
 */
static int decode_carrier(const uint8_t *m, size_t m_len, uint64_t profile, uint64_t caps,
			  struct gisa_image **ret, struct gisa_snap_error *err)
{
	struct wbuf h = { 0 };
	uint8_t *file, check[GISA_SNAP_DIGEST_SIZE];
	size_t flen, h_len;
	int r;

	if (profile > GISA_PROFILE_NEWEST)
		return errf(err, -EBADMSG, "delta result: profile %llu is not a known profile",
			    (unsigned long long)profile);
	if (caps & ~(uint64_t)GISA_CAP_ALL)
		return errf(err, -EBADMSG, "delta result: caps 0x%llx has unknown bits",
			    (unsigned long long)caps);
	put_tag(&h, 1, 0);
	put_varint(&h, GISA_SNAP_FORMAT_VERSION);
	put_tag(&h, 2, 0);
	put_varint(&h, 1);
	if (profile) {
		put_tag(&h, 3, 0);
		put_varint(&h, profile);
	}
	if (caps) {
		put_tag(&h, 4, 0);
		put_varint(&h, caps);
	}
	if (h.oom)
		return -ENOMEM;
	h_len = h.n;
	flen = GISA_SNAP_PREAMBLE_SIZE + h.n + m_len + GISA_SNAP_DIGEST_SIZE;
	file = malloc(flen);
	if (!file) {
		free(h.p);
		return -ENOMEM;
	}
	memcpy(file, "GISASNAP", 8);
	put_be(file + 8, GISA_SNAP_FORMAT_VERSION, 2);
	put_be(file + 10, 1, 2);
	put_be(file + 12, 0, 4);
	put_be(file + 16, h.n, 4);
	put_be(file + 20, m_len, 8);
	put_be(file + 28, m_len, 8);
	memcpy(file + GISA_SNAP_PREAMBLE_SIZE, h.p, h.n);
	memcpy(file + GISA_SNAP_PREAMBLE_SIZE + h.n, m, m_len);
	free(h.p);
	r = -EIO;
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned int n = 0;

		if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
		    EVP_DigestUpdate(ctx, file, 36) &&
		    EVP_DigestUpdate(ctx, file + GISA_SNAP_PREAMBLE_SIZE, h_len) &&
		    EVP_DigestFinal_ex(ctx, check, &n) && n == GISA_SNAP_DIGEST_SIZE)
			r = 0;
		EVP_MD_CTX_free(ctx);
	}
	if (!r) {
		memcpy(file + 36, check, 8);
		r = sha256(m, m_len, file + flen - GISA_SNAP_DIGEST_SIZE);
	}
	if (!r)
		r = gisa_snap_decode(file, flen, ret, NULL, err);
	free(file);
	return r;
}

/* Turn the carrier x into the result: list edits, then the pages. */
static int finish(const struct gisa_image *base, const struct parsed *d, struct gisa_image *x,
		  struct gisa_snap_error *err)
{
	struct edit ed[GISA_NR_LISTS] = { { 0 } };
	struct gisa_image_page *pages;
	uint32_t np = 0, ci = 0;

	for (unsigned i = 0; i < d->nlists; i++)
		ed[d->lists[i].list] = (struct edit){ true, d->lists[i].drop, d->lists[i].keep };
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		const struct gisa_image_list *b = &base->lists[l];
		struct gisa_image_list *t = &x->lists[l];
		struct gisa_list_entry *e;
		uint64_t n;

		if (!ed[l].on) {
			if (t->n)
				return errf(err, -EBADMSG,
					    "delta.state holds %u entries for list %u, which has no edit",
					    t->n, l);
			if (!b->n)
				continue;
			ed[l] = (struct edit){ true, 0, b->n };
		}
		if ((uint64_t)ed[l].drop + ed[l].keep > b->n)
			return errf(err, -EBADMSG,
				    "delta.lists: list %u drop %u + keep %u exceeds its %u base entries",
				    l, ed[l].drop, ed[l].keep, b->n);
		n = (uint64_t)ed[l].keep + t->n;
		if (n > GISA_MAX_FLOAT_IRQS)
			return errf(err, -EBADMSG, "delta: list %u would hold %llu entries", l,
				    (unsigned long long)n);
		e = calloc(n ? n : 1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		if (ed[l].keep)
			memcpy(e, b->e + ed[l].drop, ed[l].keep * sizeof(*e));
		if (t->n)
			memcpy(e + ed[l].keep, t->e, t->n * sizeof(*e));
		free(t->e);
		t->e = e;
		t->n = (uint32_t)n;
	}

	pages = calloc((size_t)base->nr_pages + x->nr_pages + 1, sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	for (uint32_t i = 0, j = 0; i < base->nr_pages || j < x->nr_pages;) {
		const struct gisa_image_page *p = i < base->nr_pages ? &base->pages[i] : NULL;
		const struct gisa_image_page *q = j < x->nr_pages ? &x->pages[j] : NULL;
		bool gone = false;

		if (p && (!q || p->gpa <= q->gpa)) {
			/* p is consumed now: is it the next cleared gpa? */
			if (ci < d->ncleared && d->cleared[ci] < p->gpa) {
				free(pages);
				return errf(err, -EBADMSG,
					    "delta.pages_cleared: gpa 0x%llx is not a page of the base",
					    (unsigned long long)d->cleared[ci]);
			}
			if (ci < d->ncleared && d->cleared[ci] == p->gpa) {
				gone = true;
				ci++;
			}
		}
		if (p && (!q || p->gpa < q->gpa)) {
			if (!gone)
				pages[np++] = *p;
			i++;
		} else if (q && (!p || q->gpa < p->gpa)) {
			pages[np++] = *q;
			j++;
		} else {
			if (gone) {
				free(pages);
				return errf(err, -EBADMSG,
					    "delta: page 0x%llx is both set and cleared",
					    (unsigned long long)q->gpa);
			}
			pages[np++] = *q;
			i++;
			j++;
		}
	}
	if (ci < d->ncleared) {
		free(pages);
		return errf(err, -EBADMSG,
			    "delta.pages_cleared: gpa 0x%llx is not a page of the base",
			    (unsigned long long)d->cleared[ci]);
	}
	if (np > GISA_IMAGE_MAX_PAGES) {
		free(pages);
		return errf(err, -EBADMSG, "delta: the result would hold %u pages, at most %u", np,
			    GISA_IMAGE_MAX_PAGES);
	}
	free(x->pages);
	x->pages = pages;
	x->nr_pages = np;
	return 0;
}

int gisa_delta_apply(const struct gisa_image *base, const uint8_t *bytes, size_t len,
		     struct gisa_image **ret_cur, struct gisa_snap_error *err)
{
	return gisa_delta_apply_states(base, NULL, bytes, len, ret_cur, NULL, err);
}

/*
 * The carrier of parsed delta d over a base whose State encoding is bs: the
 * base's ranges with the replaced ones and the carried lists and pages taken
 * from the delta, read by the snapshot decoder with all of its checks.
 */
static int carrier_image(const struct parsed *d, const uint8_t *bs, size_t bl,
			 struct gisa_image **ret, struct gisa_snap_error *err)
{
	struct span sb[NF + 1], sd[NF + 1];
	bool rep[NF + 1] = { false };
	uint8_t *m = NULL;
	size_t mlen = 0;
	int r;

	/* A file of another writer: decoded, but its state not in this reader's form. */
	r = split_state(bs, bl, sb, "the base state (as its file holds it)", err);
	if (r)
		return r;
	r = split_state(d->state, d->state_len, sd, "delta.state", err);
	if (r)
		return r;
	for (unsigned i = 0; i < d->nrep; i++)
		rep[d->replaced[i]] = true;
	for (unsigned f = 1; f <= NF; f++) {
		bool edited = false;

		for (unsigned i = 0; i < d->nlists; i++)
			edited |= (f == F_PFAULT && d->lists[i].list == GISA_LIST_PFAULT) ||
				  (f == F_VIRTIO && d->lists[i].list == GISA_LIST_VIRTIO) ||
				  (f == F_IO && d->lists[i].list <= GISA_MAX_ISC);
		if (sd[f].len && !rep[f] && f != F_PAGES && !edited)
			return errf(err, -EBADMSG,
				    "delta.state carries field %u, neither replaced nor an edited list",
				    f);
		mlen += rep[f] || is_carried(f) ? sd[f].len : sb[f].len;
	}
	if (mlen > GISA_SNAP_MAX_STATE)
		return errf(err, -E2BIG, "delta result: state of %zu bytes exceeds the cap %u",
			    mlen, GISA_SNAP_MAX_STATE);
	m = malloc(mlen ? mlen : 1);
	if (!m)
		return -ENOMEM;
	mlen = 0;
	for (unsigned f = 1; f <= NF; f++) {
		bool from_delta = rep[f] || is_carried(f);
		size_t n = from_delta ? sd[f].len : sb[f].len;

		/* No pointer arithmetic on an absent (NULL) state: n is 0 then. */
		if (n)
			memcpy(m + mlen, from_delta ? d->state + sd[f].off : bs + sb[f].off, n);
		sd[f].off = mlen;  /* now the range in m */
		sd[f].len = n;
		mlen += n;
	}
	r = decode_carrier(m, mlen, span_varint(m, sd[1]), span_varint(m, sd[2]), ret, err);
	free(m);
	return r;
}

/* Parse and check a delta, and compare its base digest with have's. */
static int parse_for(const uint8_t *bytes, size_t len, const uint8_t have[GISA_SNAP_DIGEST_SIZE],
		     const char *what, struct parsed **ret, struct gisa_snap_error *err)
{
	struct parsed *d;
	int r;

	if (!bytes && len)
		return errf(err, -EINVAL, "delta: no bytes");
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r = parse_delta(bytes, len, d, err);
	if (!r)
		r = check_parsed(d, err);
	if (!r && memcmp(have, d->base, GISA_SNAP_DIGEST_SIZE)) {
		char want[65], got[65];

		gisa_snap_digest_hex(d->base, want);
		gisa_snap_digest_hex(have, got);
		r = errf(err, -ESTALE, "delta applies to state %s, this %s is %s", want, what, got);
	}
	if (r) {
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int gisa_delta_apply_image(const struct gisa_image *base, const struct gisa_snap_state *bst,
			   const uint8_t *bytes, size_t len, struct gisa_image **ret_cur,
			   uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err)
{
	struct gisa_restore_error rerr = { 0 };
	struct gisa_snap_state own_b = { 0 };
	struct gisa_image *x = NULL;
	struct parsed *d = NULL;
	int r;

	if (!bytes && len)
		return errf(err, -EINVAL, "delta: no bytes");
	r = state_of(base, &bst, &own_b);
	if (r) {
		set_msg(err, "the base image cannot be encoded: %s", strerror(-r));
		return r;
	}
	r = parse_for(bytes, len, bst->digest, "image", &d, err);
	if (r)
		goto out;
	r = carrier_image(d, bst->bytes, bst->len, &x, err);
	if (r)
		goto out;
	r = finish(base, d, x, err);
	if (r)
		goto out;
	r = gisa_image_check(x, &rerr);
	if (r) {
		r = errf(err, -EINVAL, "delta result: %s[%llu] = 0x%llx: expected %s", rerr.field,
			 (unsigned long long)rerr.index, (unsigned long long)rerr.value,
			 rerr.reason);
		goto out;
	}
	memcpy(ret_result, d->result, GISA_SNAP_DIGEST_SIZE);
	*ret_cur = x;
	x = NULL;
out:
	gisa_image_free(x);
	gisa_snap_state_release(&own_b);
	free(d);
	return r;
}

int gisa_delta_check_result(const struct gisa_snap_state *st,
			    const uint8_t result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err)
{
	char want[65], got[65];

	if (!memcmp(st->digest, result, GISA_SNAP_DIGEST_SIZE))
		return 0;
	gisa_snap_digest_hex(result, want);
	gisa_snap_digest_hex(st->digest, got);
	return errf(err, -EBADMSG, "delta result is state %s, the delta names %s", got, want);
}

int gisa_delta_apply_states(const struct gisa_image *base, const struct gisa_snap_state *bst,
			    const uint8_t *bytes, size_t len, struct gisa_image **ret_cur,
			    struct gisa_snap_state *ret_st, struct gisa_snap_error *err)
{
	struct gisa_snap_state xst = { 0 };
	uint8_t result[GISA_SNAP_DIGEST_SIZE];
	struct gisa_image *x = NULL;
	int r = gisa_delta_apply_image(base, bst, bytes, len, &x, result, err);

	if (!r)
		r = gisa_snap_state_make(x, &xst);
	if (!r)
		r = gisa_delta_check_result(&xst, result, err);
	if (r) {
		gisa_image_free(x);
		gisa_snap_state_release(&xst);
		return r;
	}
	*ret_cur = x;
	if (ret_st)
		*ret_st = xst;
	else
		gisa_snap_state_release(&xst);
	return 0;
}

/* ---- apply to a VM ---------------------------------------------------------- */

/* State fields a live VM cannot take whole: the configuration and the memslots. */
static bool live_field(uint32_t f)
{
	return f > 5 && f != 22;
}

#define F_FLOAT_FIRST 6u
#define F_FLOAT_LAST  16u
#define F_VCPUS       24u
#define F_GISA        25u

static int restore_failed(struct gisa_snap_error *err, int r, const struct gisa_restore_error *re)
{
	if (r == -ENOMEM || !re->field)
		return errf(err, r, "delta: the VM cannot take the result: %s", strerror(-r));
	return errf(err, r, "delta result: %s[%llu] = 0x%llx: expected %s", re->field,
		    (unsigned long long)re->index, (unsigned long long)re->value, re->reason);
}

/*
 * Everything that can be checked before the VM is touched: the edits
 * against its lists, the lists' limits, entries only for edited lists, and
 * each cleared page a page of the VM's state (sk: the VM's image without
 * lists) that is not also set.
 */
static int live_precheck(const struct gisa_vm *vm, const struct parsed *d,
			 const struct gisa_image *x, const struct gisa_image *sk,
			 struct gisa_snap_error *err)
{
	struct gisa_state st;
	uint64_t io = 0;

	gisa_state_read(vm, &st);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		uint64_t n = st.list_len[l];
		bool on = false;

		for (unsigned i = 0; i < d->nlists; i++) {
			if (d->lists[i].list != l)
				continue;
			on = true;
			if ((uint64_t)d->lists[i].drop + d->lists[i].keep > n)
				return errf(err, -EBADMSG,
					    "delta.lists: list %u drop %u + keep %u exceeds its %llu base entries",
					    l, d->lists[i].drop, d->lists[i].keep,
					    (unsigned long long)n);
			n = (uint64_t)d->lists[i].keep + x->lists[l].n;
		}
		if (!on && x->lists[l].n)
			return errf(err, -EBADMSG,
				    "delta.state holds %u entries for list %u, which has no edit",
				    x->lists[l].n, l);
		if (l <= GISA_MAX_ISC)
			io += n;
		else if (n > (l == GISA_LIST_VIRTIO ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_PFAULT_IRQS))
			return errf(err, -EBADMSG, "delta: list %u would hold %llu entries", l,
				    (unsigned long long)n);
	}
	if (io > GISA_MAX_FLOAT_IRQS)
		return errf(err, -EBADMSG, "delta: the I/O lists would hold %llu entries, at most %u",
			    (unsigned long long)io, GISA_MAX_FLOAT_IRQS);
	for (uint32_t i = 0, j = 0, k = 0; i < d->ncleared; i++) {
		uint64_t gpa = d->cleared[i];

		while (j < sk->nr_pages && sk->pages[j].gpa < gpa)
			j++;
		while (k < x->nr_pages && x->pages[k].gpa < gpa)
			k++;
		if (j == sk->nr_pages || sk->pages[j].gpa != gpa)
			return errf(err, -EBADMSG,
				    "delta.pages_cleared: gpa 0x%llx is not a page of the base",
				    (unsigned long long)gpa);
		if (k < x->nr_pages && x->pages[k].gpa == gpa)
			return errf(err, -EBADMSG, "delta: page 0x%llx is both set and cleared",
				    (unsigned long long)gpa);
	}
	/* The result's pages: the base's, less the cleared, plus the set that are new. */
	if (x->nr_pages) {
		uint64_t np = sk->nr_pages - d->ncleared;

		for (uint32_t j = 0, k = 0; k < x->nr_pages; k++) {
			while (j < sk->nr_pages && sk->pages[j].gpa < x->pages[k].gpa)
				j++;
			np += j == sk->nr_pages || sk->pages[j].gpa != x->pages[k].gpa;
		}
		if (np > GISA_IMAGE_MAX_PAGES)
			return errf(err, -EBADMSG, "delta: the result would hold %llu pages, at most %u",
				    (unsigned long long)np, GISA_IMAGE_MAX_PAGES);
	}
	return 0;
}

/* The parsed delta's changes, carried by x, made on vm. */
static int live_apply(struct gisa_vm *vm, const struct parsed *d, const struct gisa_image *x,
		      struct gisa_snap_error *err)
{
	struct gisa_restore_error re = { 0 };
	bool rep[NF + 1] = { false }, fl = false;
	int r = 0;

	for (unsigned i = 0; i < d->nrep; i++) {
		rep[d->replaced[i]] = true;
		fl |= d->replaced[i] >= F_FLOAT_FIRST && d->replaced[i] <= F_FLOAT_LAST;
	}
	/* In the order an image is built (gisa_image_build_vm). */
	if (fl)
		r = gisa_restore_float(vm, &x->fl, &re);
	/*
	 * Every list's drops before any list's appends: the I/O limit counts
	 * all eight lists, and the precheck bounded only the final total.
	 */
	for (unsigned i = 0; !r && i < d->nlists; i++)
		r = gisa_restore_list_edit(vm, d->lists[i].list, d->lists[i].drop,
					   d->lists[i].keep, &re);
	for (unsigned i = 0; !r && i < d->nlists; i++) {
		unsigned l = d->lists[i].list;

		r = gisa_restore_list(vm, l, x->lists[l].e, x->lists[l].n, &re);
	}
	if (!r && rep[F_ADAPTERS]) {
		gisa_restore_reset(vm, GISA_RESET_ADAPTERS);
		for (uint32_t i = 0; !r && i < x->nr_adapters; i++)
			r = gisa_restore_adapter(vm, &x->adapters[i].a, x->adapters[i].maps, &re);
	}
	for (uint32_t i = 0; !r && i < d->ncleared; i++)
		r = gisa_restore_page_drop(vm, d->cleared[i]);
	for (uint32_t i = 0; !r && i < x->nr_pages; i++) {
		r = gisa_mem_write(vm, x->pages[i].gpa, x->pages[i].data, GISA_PAGE_SIZE);
		if (r)
			re = (struct gisa_restore_error){
				.field = "pages", .index = i, .value = x->pages[i].gpa,
				.reason = r == -EFAULT ? "a page inside a memslot" :
							 "pages within the VM's memory cap",
			};
	}
	if (!r && rep[F_ROUTES]) {
		gisa_restore_reset(vm, GISA_RESET_ROUTES);
		r = gisa_restore_routes(vm, x->routes, x->nr_routes, &re);
	}
	for (uint32_t i = 0; !r && rep[F_VCPUS] && i < x->nr_vcpus; i++)
		r = gisa_restore_vcpu(vm, i, &x->vcpus[i], &re);
	if (!r && rep[F_GISA]) {
		gisa_restore_reset(vm, GISA_RESET_GISA);
		r = gisa_restore_gisa(vm, &x->gisa, &re);
	}
	return r ? restore_failed(err, r, &re) : 0;
}

int gisa_delta_apply_vm(struct gisa_vm *vm, const uint8_t base[GISA_SNAP_DIGEST_SIZE],
			const uint8_t *bytes, size_t len,
			uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err)
{
	unsigned skip = GISA_TRACK_ADAPTERS | GISA_TRACK_ROUTES | GISA_TRACK_PAGES;
	struct gisa_image *sk = NULL, *x = NULL;
	struct parsed *d = NULL;
	uint8_t *ss = NULL;
	size_t sl;
	int r;

	r = parse_for(bytes, len, base, "VM", &d, err);
	if (r)
		return r;
	for (unsigned i = 0; i < d->nrep; i++) {
		if (!live_field(d->replaced[i])) {
			r = errf(err, -EOPNOTSUPP,
				 "delta replaces State field %u, which a built VM does not take",
				 d->replaced[i]);
			goto out;
		}
	}
	/*
	 * The VM's sections stand in for the base's (the VM holds the base
	 * state), those the delta does not touch left out: the carrier then
	 * lacks them too, and nothing reads them there.
	 */
	for (unsigned i = 0; i < d->nrep; i++) {
		if (d->replaced[i] == F_ADAPTERS)
			skip &= ~(unsigned)GISA_TRACK_ADAPTERS;
		if (d->replaced[i] == F_ROUTES)
			skip &= ~(unsigned)GISA_TRACK_ROUTES;
	}
	{
		struct span sd[NF + 1];

		/* A malformed state is refused by carrier_image below. */
		if (d->ncleared || split_state(d->state, d->state_len, sd, "delta.state", NULL) ||
		    sd[F_PAGES].len)
			skip &= ~(unsigned)GISA_TRACK_PAGES;
	}
	r = gisa_image_from_vm_tails(vm, skip, &sk);
	if (!r)
		r = gisa_snap_state_bytes(sk, &ss, &sl);
	if (r) {
		set_msg(err, "the VM cannot be read: %s", strerror(-r));
		goto out;
	}
	r = carrier_image(d, ss, sl, &x, err);
	if (!r)
		r = live_precheck(vm, d, x, sk, err);
	if (!r)
		r = live_apply(vm, d, x, err);
	if (!r)
		memcpy(ret_result, d->result, GISA_SNAP_DIGEST_SIZE);
out:
	gisa_image_free(sk);
	gisa_image_free(x);
	free(ss);
	free(d);
	return r;
}

int gisa_delta_digests(const uint8_t *bytes, size_t len,
		       uint8_t ret_base[GISA_SNAP_DIGEST_SIZE],
		       uint8_t ret_result[GISA_SNAP_DIGEST_SIZE], struct gisa_snap_error *err)
{
	struct parsed *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	r = parse_delta(bytes, len, d, err);
	if (!r) {
		memcpy(ret_base, d->base, GISA_SNAP_DIGEST_SIZE);
		memcpy(ret_result, d->result, GISA_SNAP_DIGEST_SIZE);
	}
	free(d);
	return r;
}

/* ---- estimate --------------------------------------------------------------- */

/*
 * Bounds of the canonical encoding, per item: a varint field is at most
 * 11 bytes with its tag, a message adds at most 6 bytes of tag and length.
 */
#define EST_FIXED      256u                          /* digests, tags, edits' framing */
#define EST_SCALARS    (16u * 11u)
#define EST_ADAPTER    (6u + 6u * 11u + 6u)
#define EST_ROUTE      44u
#define EST_MEMSLOT    (6u + 3u * 11u)
#define EST_VCPU       (6u + 6u * 11u)
#define EST_GISA       (6u + 7u * 11u + 6u + 8u * 10u)
#define EST_SECTION    64u                           /* column framing of a section */
#define EST_IO_ENTRY   20u                           /* 16 bytes of columns + a u32 index */
#define EST_EXT_ENTRY  16u
#define EST_EDIT       (6u + 3u * 11u)

static bool adapters_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	if (a->nr_adapters != b->nr_adapters)
		return false;
	for (uint32_t i = 0; i < a->nr_adapters; i++) {
		const struct gisa_image_adapter *x = &a->adapters[i], *y = &b->adapters[i];

		if (x->a.id != y->a.id || x->a.isc != y->a.isc || x->a.maskable != y->a.maskable ||
		    x->a.masked != y->a.masked || x->a.swap != y->a.swap ||
		    x->a.suppressible != y->a.suppressible || x->a.nr_maps != y->a.nr_maps ||
		    (x->a.nr_maps && memcmp(x->maps, y->maps, x->a.nr_maps * sizeof(*x->maps))))
			return false;
	}
	return true;
}

static bool routes_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	if (a->nr_routes != b->nr_routes)
		return false;
	for (uint32_t i = 0; i < a->nr_routes; i++) {
		const struct gisa_route_entry *x = &a->routes[i], *y = &b->routes[i];

		if (x->gsi != y->gsi || x->type != y->type || x->flags != y->flags ||
		    x->adapter.ind_addr != y->adapter.ind_addr ||
		    x->adapter.summary_addr != y->adapter.summary_addr ||
		    x->adapter.ind_offset != y->adapter.ind_offset ||
		    x->adapter.summary_offset != y->adapter.summary_offset ||
		    x->adapter.adapter_id != y->adapter.adapter_id)
			return false;
	}
	return true;
}

static bool memslots_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	if (a->nr_memslots != b->nr_memslots)
		return false;
	for (uint32_t i = 0; i < a->nr_memslots; i++)
		if (a->memslots[i].slot != b->memslots[i].slot ||
		    a->memslots[i].gpa != b->memslots[i].gpa ||
		    a->memslots[i].size != b->memslots[i].size)
			return false;
	return true;
}

static bool vcpus_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	if (a->nr_vcpus != b->nr_vcpus)
		return false;
	for (uint32_t i = 0; i < a->nr_vcpus; i++) {
		const struct gisa_vcpu_state *x = &a->vcpus[i], *y = &b->vcpus[i];

		if (x->psw_mask != y->psw_mask || x->cr0 != y->cr0 || x->cr6 != y->cr6 ||
		    x->cr14 != y->cr14 || x->run != y->run || x->kicked != y->kicked)
			return false;
	}
	return true;
}

static bool gisa_eq(const struct gisa_state_gisa *x, const struct gisa_state_gisa *y)
{
	if (x->ipm != y->ipm || x->iam != y->iam || x->alert_mask != y->alert_mask ||
	    x->on_alert_list != y->on_alert_list || x->timer_armed != y->timer_armed ||
	    x->timer_delay_ns != y->timer_delay_ns)
		return false;
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		if (x->refcount[i] != y->refcount[i])
			return false;
	return true;
}

int gisa_delta_estimate(const struct gisa_image *base, const struct gisa_image *cur,
			uint64_t *ret_bytes)
{
	uint64_t n = EST_FIXED + EST_SCALARS;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		struct edit ed = { 0 };
		int r;

		if (list_eq(l, &base->lists[l], &cur->lists[l]))
			continue;
		r = list_edit(l, &base->lists[l], &cur->lists[l], &ed);
		if (r)
			return r;
		n += EST_EDIT + EST_SECTION + (uint64_t)(cur->lists[l].n - ed.keep) *
					      (l <= GISA_MAX_ISC ? EST_IO_ENTRY : EST_EXT_ENTRY);
	}
	if (!adapters_eq(base, cur)) {
		n += (uint64_t)cur->nr_adapters * EST_ADAPTER;
		for (uint32_t i = 0; i < cur->nr_adapters; i++)
			n += 10u * (uint64_t)cur->adapters[i].a.nr_maps;
	}
	if (!routes_eq(base, cur))
		n += EST_SECTION + (uint64_t)cur->nr_routes * EST_ROUTE;
	if (!memslots_eq(base, cur))
		n += (uint64_t)cur->nr_memslots * EST_MEMSLOT;
	if (!vcpus_eq(base, cur))
		n += (uint64_t)cur->nr_vcpus * EST_VCPU;
	if (!gisa_eq(&base->gisa, &cur->gisa))
		n += EST_GISA;
	n += EST_SECTION;
	for (uint32_t i = 0, j = 0; i < base->nr_pages || j < cur->nr_pages;) {
		const struct gisa_image_page *p = i < base->nr_pages ? &base->pages[i] : NULL;
		const struct gisa_image_page *q = j < cur->nr_pages ? &cur->pages[j] : NULL;

		if (p && (!q || p->gpa < q->gpa)) {
			n += 8;
			i++;
		} else if (q && (!p || q->gpa < p->gpa)) {
			n += 8 + GISA_PAGE_SIZE;
			j++;
		} else {
			if (!page_eq(p, q))
				n += 8 + GISA_PAGE_SIZE;
			i++;
			j++;
		}
	}
	*ret_bytes = n;
	return 0;
}
