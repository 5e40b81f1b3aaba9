/* SPDX-License-Identifier: MIT */
/*
 * Semantic diff of two images (diff.h).
 *
 * Invariants:
 *  D1  Entries are produced in their final order: sections in enum order,
 *      keys ascending, fields in table order; nothing is sorted afterwards.
 *  D2  Every difference found increments the totals; only the first
 *      GISA_DIFF_MAX_ENTRIES are stored, so memory is bounded by the cap
 *      and not by the images.
 *  D3  Texts live in the diff's arena (chunks never move, so the pointers
 *      handed out stay valid until gisa_diff_free); literals ("true", "1")
 *      and the diff's table of byte texts are shared, not copied.
 *  D4  A list alignment is a set of matched runs, ascending and disjoint
 *      in both lists.  It is computed on the pair in canonical order and
 *      mirrored back, and everything derived from it (MOVED and CHANGED
 *      pairs) is defined symmetrically, so diff(b, a) mirrors diff(a, b).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/diff.h>

#define ARENA_CHUNK (64u * 1024)
/* Longest text: a whole adapter with its 256 maps of "0x" + 16 digits. */
#define TEXT_MAX    (GISA_MAX_ADAPTER_MAPS * 20u + 256u)
#define PATH_LEN   96u

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct gisa_diff {
	struct gisa_diff_entry *e;
	size_t n;
	size_t cap;
	uint64_t total;
	uint64_t section_total[GISA_DIFF_NR_SECTIONS];
	struct chunk *chunks;
	char *byte_text;              /* "0x00" .. "0xff", 5 bytes each */
};

static const char t_true[] = "true";
static const char t_false[] = "false";
static const char t_one[] = "1";
static const char t_zero[] = "0";

/* ---- storage ------------------------------------------------------------ */

static char *arena_alloc(struct gisa_diff *d, size_t len)
{
	struct chunk *c = d->chunks;
	char *p;

	if (!c || c->size - c->used < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = d->chunks;
		c->used = 0;
		c->size = size;
		d->chunks = c;
	}
	p = c->data + c->used;
	c->used += len;
	return p;
}

static const char *arena_str(struct gisa_diff *d, const char *s)
{
	uintptr_t u = (uintptr_t)s, bt = (uintptr_t)d->byte_text;
	size_t len;
	char *p;

	if (!s || s == t_true || s == t_false || s == t_one || s == t_zero ||
	    (d->byte_text && u >= bt && u < bt + 256 * 5))
		return s;
	len = strlen(s) + 1;
	p = arena_alloc(d, len);
	if (p)
		memcpy(p, s, len);
	return p;
}

/* What the entries being produced share: the section and the current key. */
struct ctx {
	struct gisa_diff *d;
	enum gisa_diff_section sec;
	uint64_t key;
};

static int emit(struct ctx *c, enum gisa_diff_kind kind, int64_t pos_a, int64_t pos_b,
		const char *path, const char *va, const char *vb)
{
	struct gisa_diff *d = c->d;
	struct gisa_diff_entry *e;

	d->total++;
	d->section_total[c->sec]++;
	if (d->n >= GISA_DIFF_MAX_ENTRIES)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;

		if (cap > GISA_DIFF_MAX_ENTRIES)
			cap = GISA_DIFF_MAX_ENTRIES;
		e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	e = &d->e[d->n];
	*e = (struct gisa_diff_entry){
		.section = c->sec,
		.kind = kind,
		.key = c->key,
		.pos_a = pos_a,
		.pos_b = pos_b,
		.path = arena_str(d, path),
		.a = arena_str(d, va),
		.b = arena_str(d, vb),
	};
	if (!e->path || (va && !e->a) || (vb && !e->b))
		return -ENOMEM;
	d->n++;
	return 0;
}

/* ---- values and fields -------------------------------------------------- */

enum fmt { F_HEX, F_DEC, F_BOOL, F_BIT, F_PROFILE, F_ORDER, F_RUN };

static const char *fmt_value(enum fmt f, uint64_t v, char *buf, size_t len)
{
	static const char *const profile[] = { "classic", "newest" };
	static const char *const order[] = { "be", "le" };
	static const char *const run[] = { "running", "idle", "stopped" };

	switch (f) {
	case F_BOOL:
		return v ? t_true : t_false;
	case F_BIT:
		return v ? t_one : t_zero;
	case F_PROFILE:
		if (v < 2)
			return profile[v];
		break;
	case F_ORDER:
		if (v < 2)
			return order[v];
		break;
	case F_RUN:
		if (v < 3)
			return run[v];
		break;
	case F_HEX:
		snprintf(buf, len, "0x%" PRIx64, v);
		return buf;
	case F_DEC:
		break;
	}
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* A scalar member of a struct, read by offset and size. */
struct field {
	const char *name;             /* path suffix; NULL: the element itself */
	size_t off;
	size_t size;
	enum fmt fmt;
};

#define FIELD(type, member, name, fmt) \
	{ name, offsetof(type, member), sizeof(((type *)0)->member), fmt }

static uint64_t field_get(const void *p, const struct field *f)
{
	const unsigned char *b = (const unsigned char *)p + f->off;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	/* NOLINTBEGIN(clang-analyzer-core.NonNullParamChecker): p is an item, see diff_adapters */
	switch (f->size) {
	case 1:
		memcpy(&v8, b, 1);
		return v8;
	case 2:
		memcpy(&v16, b, 2);
		return v16;
	case 4:
		memcpy(&v32, b, 4);
		return v32;
	default:
		memcpy(&v64, b, 8);
		return v64;
	}
	/* NOLINTEND(clang-analyzer-core.NonNullParamChecker) */
}

static const struct field io_fields[] = {
	FIELD(struct gisa_list_entry, type, "type", F_HEX),
	FIELD(struct gisa_list_entry, u.io.subchannel_id, "subchannel_id", F_HEX),
	FIELD(struct gisa_list_entry, u.io.subchannel_nr, "subchannel_nr", F_HEX),
	FIELD(struct gisa_list_entry, u.io.io_int_parm, "parm", F_HEX),
	FIELD(struct gisa_list_entry, u.io.io_int_word, "word", F_HEX),
};

static const struct field ext_fields[] = {
	FIELD(struct gisa_list_entry, type, "type", F_HEX),
	FIELD(struct gisa_list_entry, u.ext.ext_params, "ext_params", F_HEX),
	FIELD(struct gisa_list_entry, u.ext.pad, "pad", F_HEX),
	FIELD(struct gisa_list_entry, u.ext.ext_params2, "ext_params2", F_HEX),
};

static const struct field map_fields[] = {
	{ NULL, 0, sizeof(uint64_t), F_HEX },
};

static const struct field adapter_fields[] = {
	FIELD(struct gisa_state_adapter, isc, "isc", F_DEC),
	FIELD(struct gisa_state_adapter, maskable, "maskable", F_BOOL),
	FIELD(struct gisa_state_adapter, masked, "masked", F_BOOL),
	FIELD(struct gisa_state_adapter, swap, "swap", F_BOOL),
	FIELD(struct gisa_state_adapter, suppressible, "suppressible", F_BOOL),
};

static const struct field route_fields[] = {
	FIELD(struct gisa_route_entry, type, "type", F_DEC),
	FIELD(struct gisa_route_entry, flags, "flags", F_HEX),
	FIELD(struct gisa_route_entry, adapter.ind_addr, "ind_addr", F_HEX),
	FIELD(struct gisa_route_entry, adapter.ind_offset, "ind_offset", F_HEX),
	FIELD(struct gisa_route_entry, adapter.summary_addr, "summary_addr", F_HEX),
	FIELD(struct gisa_route_entry, adapter.summary_offset, "summary_offset", F_HEX),
	FIELD(struct gisa_route_entry, adapter.adapter_id, "adapter_id", F_DEC),
};

static const struct field memslot_fields[] = {
	FIELD(struct gisa_image_memslot, gpa, "gpa", F_HEX),
	FIELD(struct gisa_image_memslot, size, "size", F_HEX),
};

static const struct field vcpu_fields[] = {
	FIELD(struct gisa_vcpu_state, psw_mask, "psw_mask", F_HEX),
	FIELD(struct gisa_vcpu_state, cr0, "cr0", F_HEX),
	FIELD(struct gisa_vcpu_state, cr6, "cr6", F_HEX),
	FIELD(struct gisa_vcpu_state, cr14, "cr14", F_HEX),
	FIELD(struct gisa_vcpu_state, run, "run", F_RUN),
	FIELD(struct gisa_vcpu_state, kicked, "kicked", F_BOOL),
};

#define NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Append to buf at *pos, never past len (texts are bounded by TEXT_MAX). */
static void put(char *buf, size_t len, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= len)
		n = *pos < len ? len - 1 - *pos : 0;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = '\0';
}

/* A whole item: "name=value name=value", or the bare value of a NULL name. */
static void whole_text(const void *p, const struct field *f, size_t nf, char *buf, size_t len,
		       size_t *pos)
{
	char v[32];

	for (size_t i = 0; i < nf; i++) {
		if (i)
			put(buf, len, pos, " ");
		if (f[i].name) {
			put(buf, len, pos, f[i].name);
			put(buf, len, pos, "=");
		}
		put(buf, len, pos, fmt_value(f[i].fmt, field_get(p, &f[i]), v, sizeof(v)));
	}
}

static int emit_scalar(struct ctx *c, const char *path, enum fmt f, uint64_t va, uint64_t vb)
{
	char ta[32], tb[32];

	if (va == vb)
		return 0;
	return emit(c, GISA_DIFF_CHANGED, -1, -1, path, fmt_value(f, va, ta, sizeof(ta)),
		    fmt_value(f, vb, tb, sizeof(tb)));
}

/* One CHANGED entry per differing field of two items at prefix. */
static int emit_fields(struct ctx *c, const char *prefix, const void *pa, const void *pb,
		       const struct field *f, size_t nf, int64_t pos_a, int64_t pos_b)
{
	char path[PATH_LEN], ta[32], tb[32];
	int r;

	for (size_t i = 0; i < nf; i++) {
		uint64_t va = field_get(pa, &f[i]), vb = field_get(pb, &f[i]);

		if (va == vb)
			continue;
		int n = f[i].name ? snprintf(path, sizeof(path), "%s.%s", prefix, f[i].name) :
				    snprintf(path, sizeof(path), "%s", prefix);

		/* Paths are short by construction; a truncated one is still a path. */
		if (n < 0)
			path[0] = 0;
		r = emit(c, GISA_DIFF_CHANGED, pos_a, pos_b, path,
			 fmt_value(f[i].fmt, va, ta, sizeof(ta)),
			 fmt_value(f[i].fmt, vb, tb, sizeof(tb)));
		if (r)
			return r;
	}
	return 0;
}

/* ---- sequences: alignment ----------------------------------------------- */

struct seq {
	const unsigned char *a;
	const unsigned char *b;
	uint32_t na;
	uint32_t nb;
	size_t size;
	int (*cmp)(const void *x, const void *y);   /* total order; 0 = equal */
};

static int cmp_u32(uint32_t x, uint32_t y)
{
	return (x > y) - (x < y);
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return (x > y) - (x < y);
}

static int cmp_io(const void *px, const void *py)
{
	const struct gisa_list_entry *x = px, *y = py;
	int c = cmp_u32(x->type, y->type);

	if (!c)
		c = cmp_u32(x->u.io.subchannel_id, y->u.io.subchannel_id);
	if (!c)
		c = cmp_u32(x->u.io.subchannel_nr, y->u.io.subchannel_nr);
	if (!c)
		c = cmp_u32(x->u.io.io_int_parm, y->u.io.io_int_parm);
	if (!c)
		c = cmp_u32(x->u.io.io_int_word, y->u.io.io_int_word);
	return c;
}

static int cmp_ext(const void *px, const void *py)
{
	const struct gisa_list_entry *x = px, *y = py;
	int c = cmp_u32(x->type, y->type);

	if (!c)
		c = cmp_u32(x->u.ext.ext_params, y->u.ext.ext_params);
	if (!c)
		c = cmp_u32(x->u.ext.pad, y->u.ext.pad);
	if (!c)
		c = cmp_u64(x->u.ext.ext_params2, y->u.ext.ext_params2);
	return c;
}

static int cmp_map(const void *px, const void *py)
{
	uint64_t x, y;

	memcpy(&x, px, sizeof(x));
	memcpy(&y, py, sizeof(y));
	return cmp_u64(x, y);
}

/* Matched runs: x[a + i] equals y[b + i] for i < n. */
struct run {
	uint32_t a;
	uint32_t b;
	uint32_t n;
};

struct runs {
	struct run *r;
	size_t n;
	size_t cap;
};

static int runs_push(struct runs *rs, uint32_t a, uint32_t b, uint32_t n)
{
	if (!n)
		return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct run *r = realloc(rs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	rs->r[rs->n++] = (struct run){ a, b, n };
	return 0;
}

/* One orientation of the pair: x (nx elements) against y (ny elements). */
struct pair {
	const unsigned char *x;
	const unsigned char *y;
	uint32_t nx;
	uint32_t ny;
	size_t size;
	int (*cmp)(const void *x, const void *y);
};

static int eq_xy(const struct pair *p, uint32_t i, uint32_t j)
{
	return p->cmp(p->x + (size_t)i * p->size, p->y + (size_t)j * p->size) == 0;
}

/*
 * Myers' greedy shortest edit script for x[xo, xo + n) against
 * y[yo, yo + m), n, m >= 1.  trace holds, for each edit count d, the
 * furthest x reached on every diagonal k = x - y in [-d, d] (at offset
 * d * d + k + d; -1 = not reachable without leaving the grid).  Every
 * comparison is taken from *budget.  Returns 1 with the matched runs
 * appended in order, 0 when the bounds are exceeded, -ENOMEM.
 */
static int64_t myers_step_x(const int32_t *prev, int64_t d, int64_t k, int64_t n, int64_t m,
			    bool *from_right)
{
	int64_t down = k + 1 <= d - 1 ? prev[k + 1 + d - 1] : -1;
	int64_t right = k - 1 >= -(d - 1) ? prev[k - 1 + d - 1] : -1;
	int64_t xd = -1, xr = -1;

	if (down >= 0 && down - k <= m)
		xd = down;
	if (right >= 0 && right + 1 <= n)
		xr = right + 1;
	*from_right = xr > xd;
	return *from_right ? xr : xd;
}

static int myers(const struct pair *p, uint32_t xo, uint32_t n, uint32_t yo, uint32_t m,
		 uint64_t *budget, struct runs *out)
{
	const int64_t dmax = GISA_DIFF_EXACT_EDITS;
	int32_t *tr = NULL;
	size_t trcap = 0;
	uint64_t work = 0;
	int64_t d, k = 0, x = 0, y;
	bool done = false, right;
	size_t first;
	int r = 0;

	for (d = 0; d <= dmax && !done; d++) {
		size_t need = (size_t)(d + 1) * (size_t)(d + 1);
		int32_t *cur, *prev;

		if (need > trcap) {
			size_t cap = trcap ? trcap * 4 : 1024;
			int32_t *t;

			while (cap < need)
				cap *= 2;
			t = realloc(tr, cap * sizeof(*t));
			if (!t) {
				free(tr);
				return -ENOMEM;
			}
			tr = t;
			trcap = cap;
		}
		cur = tr + d * d;
		prev = d ? tr + (d - 1) * (d - 1) : NULL;
		for (k = -d; k <= d; k += 2) {
			if (d == 0) {
				x = 0;
			} else {
				x = myers_step_x(prev, d, k, n, m, &right);
				if (x < 0) {
					cur[k + d] = -1;
					continue;
				}
			}
			y = x - k;
			while (x < n && y < m && eq_xy(p, xo + (uint32_t)x, yo + (uint32_t)y)) {
				x++;
				y++;
				work++;
			}
			if (++work > *budget)
				break;
			cur[k + d] = (int32_t)x;
			if (x == n && y == m) {
				done = true;
				break;
			}
		}
		if (work > *budget)
			break;
	}
	*budget = work > *budget ? 0 : *budget - work;
	if (!done) {
		free(tr);
		return 0;
	}

	/* Walk back from (n, m): each step is one edit followed by a snake. */
	d--;
	first = out->n;
	x = n;
	y = m;
	for (; d > 0; d--) {
		const int32_t *prev = tr + (d - 1) * (d - 1);
		int64_t sx, sy;

		k = x - y;
		sx = myers_step_x(prev, d, k, n, m, &right);
		sy = sx - k;
		r = runs_push(out, xo + (uint32_t)sx, yo + (uint32_t)sy, (uint32_t)(x - sx));
		if (r)
			goto out;
		x = right ? sx - 1 : sx;
		y = right ? sy : sy - 1;
	}
	r = runs_push(out, xo, yo, (uint32_t)x);
	if (r)
		goto out;
	for (size_t i = first, j = out->n; i + 1 < j; i++, j--) {
		struct run t = out->r[i];

		out->r[i] = out->r[j - 1];
		out->r[j - 1] = t;
	}
	r = 1;
out:
	free(tr);
	return r;
}

/* Stable merge sort of positions by element value (ties keep position order). */
static int sort_positions(uint32_t *v, size_t n, const unsigned char *base, size_t size,
			  int (*cmp)(const void *x, const void *y))
{
	uint32_t *tmp, *src = v, *dst;

	if (n < 2)
		return 0;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	dst = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;

			while (i < mid && j < hi)
				dst[o++] = cmp(base + (size_t)src[j] * size,
					       base + (size_t)src[i] * size) < 0 ? src[j++] : src[i++];
			while (i < mid)
				dst[o++] = src[i++];
			while (j < hi)
				dst[o++] = src[j++];
		}
		uint32_t *t = src;

		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	return 0;
}

/*
 * The longest suffix of a[0, na) that is a prefix of b[0, nb), by running a
 * through the Knuth-Morris-Pratt automaton of b (O(na + nb) comparisons).
 * a and b index into the pair's x or y as selected by a_is_x.
 */
static int kmp_overlap(const struct pair *p, bool a_is_x, uint32_t ao, uint32_t na,
		       uint32_t bo, uint32_t nb, uint32_t *ret)
{
	const unsigned char *as = a_is_x ? p->x : p->y, *bs = a_is_x ? p->y : p->x;
	uint32_t *pi = malloc((size_t)nb * sizeof(*pi));
	uint32_t q = 0;

#define A_(i) (as + (size_t)(ao + (i)) * p->size)
#define B_(i) (bs + (size_t)(bo + (i)) * p->size)
	if (!pi)
		return -ENOMEM;
	pi[0] = 0;
	for (uint32_t i = 1; i < nb; i++) {
		while (q && p->cmp(B_(i), B_(q)))
			q = pi[q - 1];
		if (!p->cmp(B_(i), B_(q)))
			q++;
		pi[i] = q;
	}
	q = 0;
	/* NOLINTBEGIN(clang-analyzer-core.uninitialized.Assign): pi[0 .. nb) is set, 0 < q <= nb */
	for (uint32_t i = 0; i < na; i++) {
		if (q == nb)
			q = pi[q - 1];
		while (q && p->cmp(A_(i), B_(q)))
			q = pi[q - 1];
		if (!p->cmp(A_(i), B_(q)))
			q++;
	}
	/* NOLINTEND(clang-analyzer-core.uninitialized.Assign) */
#undef A_
#undef B_
	free(pi);
	*ret = q;
	return 0;
}

static uint64_t matched(const struct runs *rs)
{
	uint64_t n = 0;

	for (size_t i = 0; i < rs->n; i++)
		n += rs->r[i].n;
	return n;
}

/*
 * One gap between anchors, x[x0, x1) against y[y0, y1): common prefix and
 * suffix, and the exact search on what remains while the budget lasts.
 */
static int anchored_gap(const struct pair *p, uint32_t x0, uint32_t x1, uint32_t y0,
			uint32_t y1, uint64_t *budget, struct runs *out)
{
	uint32_t pre = 0, suf = 0;
	int r;

	while (x0 + pre < x1 && y0 + pre < y1 && eq_xy(p, x0 + pre, y0 + pre))
		pre++;
	while (x0 + pre + suf < x1 && y0 + pre + suf < y1 &&
	       eq_xy(p, x1 - 1 - suf, y1 - 1 - suf))
		suf++;
	r = runs_push(out, x0, y0, pre);
	if (!r && x1 - x0 > pre + suf && y1 - y0 > pre + suf && *budget)
		r = myers(p, x0 + pre, x1 - x0 - pre - suf, y0 + pre, y1 - y0 - pre - suf,
			  budget, out);
	if (r >= 0)
		r = runs_push(out, x1 - suf, y1 - suf, suf);
	return r;
}

/*
 * Patience-style alignment of x[xo, xo + n) against y[yo, yo + m): the
 * entries whose value occurs exactly once in each are anchors; the longest
 * chain of anchors ascending in both is matched (O(k log k)), and each gap
 * between anchors is aligned by anchored_gap.
 */
static int anchored(const struct pair *p, uint32_t xo, uint32_t n, uint32_t yo, uint32_t m,
		    struct runs *out)
{
	uint32_t *ix = malloc((size_t)n * sizeof(*ix)), *iy = malloc((size_t)m * sizeof(*iy));
	uint32_t *ay = malloc((size_t)n * sizeof(*ay)), *ax = malloc((size_t)n * sizeof(*ax));
	uint32_t *tail = malloc((size_t)n * sizeof(*tail)), *prev = malloc((size_t)n * sizeof(*prev));
	uint64_t budget = GISA_DIFF_EXACT_WORK;
	uint32_t k = 0, len = 0, px = xo, py = yo;
	int r = -ENOMEM;

	if (!ix || !iy || !ay || !ax || !tail || !prev)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		ix[i] = xo + i;
	for (uint32_t j = 0; j < m; j++)
		iy[j] = yo + j;
	r = sort_positions(ix, n, p->x, p->size, p->cmp);
	if (!r)
		r = sort_positions(iy, m, p->y, p->size, p->cmp);
	if (r)
		goto out;

	/* ay[x - xo]: the y of the anchor at x, or UINT32_MAX. */
	for (uint32_t i = 0; i < n; i++)
		ay[i] = UINT32_MAX;
	for (uint32_t i = 0, j = 0; i < n && j < m;) {
		int c = p->cmp(p->x + (size_t)ix[i] * p->size, p->y + (size_t)iy[j] * p->size);
		uint32_t i1 = i + 1, j1 = j + 1;

		if (c < 0) {
			i++;
			continue;
		}
		if (c > 0) {
			j++;
			continue;
		}
		while (i1 < n && !p->cmp(p->x + (size_t)ix[i1] * p->size,
					 p->x + (size_t)ix[i] * p->size))
			i1++;
		while (j1 < m && !p->cmp(p->y + (size_t)iy[j1] * p->size,
					 p->y + (size_t)iy[j] * p->size))
			j1++;
		if (i1 - i == 1 && j1 - j == 1)
			ay[ix[i] - xo] = iy[j];
		i = i1;
		j = j1;
	}
	for (uint32_t i = 0; i < n; i++)
		if (ay[i] != UINT32_MAX) {
			ax[k] = xo + i;
			ay[k++] = ay[i];
		}

	/* Longest chain ascending in y: tail[l] ends the best chain of length l + 1. */
	for (uint32_t i = 0; i < k; i++) {
		uint32_t lo = 0, hi = len;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			if (ay[tail[mid]] < ay[i])
				lo = mid + 1;
			else
				hi = mid;
		}
		prev[i] = lo ? tail[lo - 1] : UINT32_MAX;
		tail[lo] = i;
		if (lo == len)
			len++;
	}
	if (!len)
		goto out;   /* nothing to anchor on (the window was searched already) */
	/* The chain, back to front, into tail[0 .. len) front to back. */
	for (uint32_t i = len ? tail[len - 1] : UINT32_MAX, l = len; l; i = prev[i])
		tail[--l] = i;

	r = 0;
	for (uint32_t l = 0; !r && l <= len; l++) {
		uint32_t x1 = l < len ? ax[tail[l]] : xo + n, y1 = l < len ? ay[tail[l]] : yo + m;

		r = anchored_gap(p, px, x1, py, y1, &budget, out);
		if (!r && l < len)
			r = runs_push(out, x1, y1, 1);
		px = x1 + 1;
		py = y1 + 1;
	}
out:
	free(ix);
	free(iy);
	free(ay);
	free(ax);
	free(tail);
	free(prev);
	return r < 0 ? r : 0;
}

/*
 * Align x against y (see diff.h, "List alignment"); runs in x/y coordinates.
 * The fallback keeps whichever of its two candidates matches more entries.
 */
static int align_oriented(const struct pair *p, struct runs *out)
{
	struct runs anch = { 0 };
	uint32_t pre = 0, suf = 0, n, m, la, lb;
	uint64_t budget = GISA_DIFF_EXACT_WORK;
	int r;

	while (pre < p->nx && pre < p->ny && eq_xy(p, pre, pre))
		pre++;
	while (suf < p->nx - pre && suf < p->ny - pre &&
	       eq_xy(p, p->nx - 1 - suf, p->ny - 1 - suf))
		suf++;
	n = p->nx - pre - suf;
	m = p->ny - pre - suf;
	r = runs_push(out, 0, 0, pre);
	if (!r && n && m) {
		r = myers(p, pre, n, pre, m, &budget, out);
		if (r == 1) {
			r = 0;
		} else if (r == 0) {
			r = anchored(p, pre, n, pre, m, &anch);
			if (!r)
				r = kmp_overlap(p, true, pre, n, pre, m, &la);
			if (!r)
				r = kmp_overlap(p, false, pre, m, pre, n, &lb);
			if (r)
				goto out;
			if (anch.n && matched(&anch) >= (la > lb ? la : lb)) {
				for (size_t i = 0; !r && i < anch.n; i++)
					r = runs_push(out, anch.r[i].a, anch.r[i].b, anch.r[i].n);
			} else if (la && la >= lb) {
				r = runs_push(out, pre + n - la, pre, la);
			} else if (lb) {
				r = runs_push(out, pre, pre + m - lb, lb);
			}
		}
	}
	if (!r)
		r = runs_push(out, p->nx - suf, p->ny - suf, suf);
out:
	free(anch.r);
	return r;
}

/* ---- sequences: reporting ----------------------------------------------- */

enum tag { T_NONE = 0, T_MATCH, T_MOVED, T_CHANGED };

struct seq_out {
	const char *prefix;           /* "lists[3]", "adapters[8].maps" */
	const struct field *fields;
	size_t nfields;
};

static int seq_report(struct ctx *c, const struct seq *s, const struct seq_out *o,
		      const struct runs *rs)
{
	uint8_t *ta = calloc(s->na ? s->na : 1, 1), *tb = calloc(s->nb ? s->nb : 1, 1);
	uint32_t *pa = malloc((s->na ? s->na : 1) * sizeof(*pa));
	uint32_t *pb = malloc((s->nb ? s->nb : 1) * sizeof(*pb));
	uint32_t *ua = NULL, *ub = NULL;
	size_t nua = 0, nub = 0;
	char path[PATH_LEN], va[TEXT_MAX], vb[TEXT_MAX];
	int r = -ENOMEM;

	if (!ta || !tb || !pa || !pb)
		goto out;
	for (size_t i = 0; i < rs->n; i++)
		for (uint32_t j = 0; j < rs->r[i].n; j++) {
			ta[rs->r[i].a + j] = T_MATCH;
			tb[rs->r[i].b + j] = T_MATCH;
		}

	/* MOVED: equal unmatched entries, k-th of a with k-th of b per value. */
	ua = malloc((s->na ? s->na : 1) * sizeof(*ua));
	ub = malloc((s->nb ? s->nb : 1) * sizeof(*ub));
	if (!ua || !ub)
		goto out;
	for (uint32_t i = 0; i < s->na; i++)
		if (!ta[i])
			ua[nua++] = i;
	for (uint32_t j = 0; j < s->nb; j++)
		if (!tb[j])
			ub[nub++] = j;
	if (nua && nub) {
		r = sort_positions(ua, nua, s->a, s->size, s->cmp);
		if (!r)
			r = sort_positions(ub, nub, s->b, s->size, s->cmp);
		if (r)
			goto out;
		for (size_t i = 0, j = 0; i < nua && j < nub;) {
			int k = s->cmp(s->a + (size_t)ua[i] * s->size,
				       s->b + (size_t)ub[j] * s->size);

			if (k < 0) {
				i++;
			} else if (k > 0) {
				j++;
			} else {
				ta[ua[i]] = T_MOVED;
				tb[ub[j]] = T_MOVED;
				pa[ua[i]] = ub[j];
				pb[ub[j]] = ua[i];
				i++;
				j++;
			}
		}
	}

	/* Hunks: CHANGED pairs in order, then report everything unmatched. */
	for (size_t h = 0, a0 = 0, b0 = 0; h <= rs->n; h++) {
		size_t a1 = h < rs->n ? rs->r[h].a : s->na;
		size_t b1 = h < rs->n ? rs->r[h].b : s->nb;
		size_t i = a0, j = b0;

		for (;;) {
			while (i < a1 && ta[i])
				i++;
			while (j < b1 && tb[j])
				j++;
			if (i >= a1 || j >= b1)
				break;
			ta[i] = tb[j] = T_CHANGED;
			pa[i] = (uint32_t)j;
			pb[j] = (uint32_t)i;
		}
		for (i = a0; i < a1; i++) {
			const unsigned char *ea = s->a + i * s->size;
			size_t pos = 0;

			snprintf(path, sizeof(path), "%s[%zu]", o->prefix, i);
			/* pa[i] is set wherever ta[i] is T_MOVED or T_CHANGED. */
			/* NOLINTBEGIN(clang-analyzer-core.*) */
			switch (ta[i]) {
			case T_MOVED:
				snprintf(va, sizeof(va), "%zu", i);
				snprintf(vb, sizeof(vb), "%" PRIu32, pa[i]);
				r = emit(c, GISA_DIFF_MOVED, (int64_t)i, pa[i], path, va, vb);
				break;
			case T_CHANGED:
				r = emit_fields(c, path, ea, s->b + (size_t)pa[i] * s->size,
						o->fields, o->nfields, (int64_t)i, pa[i]);
				break;
			default:
				va[0] = '\0';
				whole_text(ea, o->fields, o->nfields, va, sizeof(va), &pos);
				r = emit(c, GISA_DIFF_REMOVED, (int64_t)i, -1, path, va, NULL);
				break;
			}
			/* NOLINTEND(clang-analyzer-core.*) */
			if (r)
				goto out;
		}
		for (j = b0; j < b1; j++) {
			size_t pos = 0;

			if (tb[j])
				continue;
			snprintf(path, sizeof(path), "%s[%zu]", o->prefix, j);
			vb[0] = '\0';
			whole_text(s->b + j * s->size, o->fields, o->nfields, vb, sizeof(vb), &pos);
			r = emit(c, GISA_DIFF_ADDED, -1, (int64_t)j, path, NULL, vb);
			if (r)
				goto out;
		}
		if (h < rs->n) {
			a0 = a1 + rs->r[h].n;
			b0 = b1 + rs->r[h].n;
		}
	}
	r = 0;
out:
	free(ta);
	free(tb);
	free(pa);
	free(pb);
	free(ua);
	free(ub);
	return r;
}

static int seq_diff(struct ctx *c, const struct seq *s, const struct seq_out *o)
{
	struct runs rs = { 0 };
	struct pair p;
	int order = cmp_u32(s->na, s->nb);
	int r;

	for (uint32_t i = 0; !order && i < s->na; i++)
		order = s->cmp(s->a + (size_t)i * s->size, s->b + (size_t)i * s->size);
	if (!order)
		return 0;
	/* Canonical orientation: the alignment of (b, a) is that of (a, b) mirrored. */
	if (order < 0)
		p = (struct pair){ s->a, s->b, s->na, s->nb, s->size, s->cmp };
	else
		p = (struct pair){ s->b, s->a, s->nb, s->na, s->size, s->cmp };
	r = align_oriented(&p, &rs);
	if (!r && order > 0)
		for (size_t i = 0; i < rs.n; i++) {
			uint32_t t = rs.r[i].a;

			rs.r[i].a = rs.r[i].b;
			rs.r[i].b = t;
		}
	if (!r)
		r = seq_report(c, s, o, &rs);
	free(rs.r);
	return r;
}

/* ---- sections ----------------------------------------------------------- */

static int diff_config(struct ctx *c, const struct gisa_vm_config *a,
		       const struct gisa_vm_config *b)
{
	const uint32_t known = GISA_CAP_ALL;
	int r;

	r = emit_scalar(c, "config.profile", F_PROFILE, a->profile, b->profile);
	if (!r)
		r = emit_scalar(c, "config.caps.gisa", F_BOOL, a->caps & GISA_CAP_GISA,
				b->caps & GISA_CAP_GISA);
	if (!r)
		r = emit_scalar(c, "config.caps.ais", F_BOOL, a->caps & GISA_CAP_AIS,
				b->caps & GISA_CAP_AIS);
	if (!r)
		r = emit_scalar(c, "config.caps.other", F_HEX, a->caps & ~known, b->caps & ~known);
	if (!r)
		r = emit_scalar(c, "config.nr_vcpus", F_DEC, a->nr_vcpus, b->nr_vcpus);
	if (!r)
		r = emit_scalar(c, "config.mem_cap", F_HEX, a->mem_cap, b->mem_cap);
	if (!r)
		r = emit_scalar(c, "config.abi_order", F_ORDER, a->abi_order, b->abi_order);
	return r;
}

static int diff_float(struct ctx *c, const struct gisa_float_image *a,
		      const struct gisa_float_image *b)
{
	const struct {
		const char *path;
		enum fmt fmt;
		uint64_t va, vb;
	} f[] = {
		{ "float.flic", F_BOOL, a->flic_present, b->flic_present },
		{ "float.apf", F_BOOL, a->apf_enabled, b->apf_enabled },
		{ "float.service.pending", F_BOOL, a->service_pending, b->service_pending },
		{ "float.service.ev_pending", F_BOOL, a->service_ev_pending,
		  b->service_ev_pending },
		{ "float.service.ext_params", F_HEX, a->srv_ext_params, b->srv_ext_params },
		{ "float.mchk.pending", F_BOOL, a->mchk_pending, b->mchk_pending },
		{ "float.mchk.cr14", F_HEX, a->mchk_cr14, b->mchk_cr14 },
		{ "float.mchk.mcic", F_HEX, a->mchk_mcic, b->mchk_mcic },
		{ "float.kick_cursor", F_DEC, a->kick_cursor, b->kick_cursor },
	};
	int r = 0;

	for (size_t i = 0; !r && i < NFIELDS(f); i++)
		r = emit_scalar(c, f[i].path, f[i].fmt, f[i].va, f[i].vb);
	return r;
}

/* One "PREFIX.iscN" entry per ISC whose MSB0 bit differs in two masks. */
static int diff_isc_bits(struct ctx *c, const char *prefix, uint8_t a, uint8_t b)
{
	char path[PATH_LEN];
	int r;

	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++) {
		uint8_t bit = GISA_ISC_BIT(isc);

		if ((a ^ b) & bit) {
			c->key = isc;
			snprintf(path, sizeof(path), "%s.isc%u", prefix, isc);
			r = emit(c, GISA_DIFF_CHANGED, -1, -1, path, a & bit ? t_one : t_zero,
				 b & bit ? t_one : t_zero);
			if (r)
				return r;
		}
	}
	c->key = 0;
	return 0;
}

static int diff_ais(struct ctx *c, const struct gisa_float_image *a,
		    const struct gisa_float_image *b)
{
	int r = diff_isc_bits(c, "ais.simm", a->simm, b->simm);

	return r ? r : diff_isc_bits(c, "ais.nimm", a->nimm, b->nimm);
}

static int diff_lists(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	char prefix[PATH_LEN];
	int r;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		bool io = l <= GISA_MAX_ISC;
		struct seq s = {
			.a = (const unsigned char *)a->lists[l].e,
			.b = (const unsigned char *)b->lists[l].e,
			.na = a->lists[l].n,
			.nb = b->lists[l].n,
			.size = sizeof(struct gisa_list_entry),
			.cmp = io ? cmp_io : cmp_ext,
		};
		struct seq_out o = {
			.prefix = prefix,
			.fields = io ? io_fields : ext_fields,
			.nfields = io ? NFIELDS(io_fields) : NFIELDS(ext_fields),
		};

		c->key = l;
		snprintf(prefix, sizeof(prefix), "lists[%u]", l);
		r = seq_diff(c, &s, &o);
		if (r)
			return r;
	}
	return 0;
}

static int diff_gisa(struct ctx *c, const struct gisa_state_gisa *a,
		     const struct gisa_state_gisa *b)
{
	char path[PATH_LEN];
	int r;

	r = emit_scalar(c, "gisa.present", F_BOOL, a->present, b->present);
	if (!r)
		r = diff_isc_bits(c, "gisa.ipm", a->ipm, b->ipm);
	if (!r)
		r = diff_isc_bits(c, "gisa.iam", a->iam, b->iam);
	if (!r)
		r = diff_isc_bits(c, "gisa.alert_mask", a->alert_mask, b->alert_mask);
	for (unsigned isc = 0; !r && isc <= GISA_MAX_ISC; isc++) {
		c->key = isc;
		snprintf(path, sizeof(path), "gisa.refcount.isc%u", isc);
		r = emit_scalar(c, path, F_DEC, a->refcount[isc], b->refcount[isc]);
	}
	c->key = 0;
	if (!r)
		r = emit_scalar(c, "gisa.alert_list", F_BOOL, a->on_alert_list, b->on_alert_list);
	if (!r)
		r = emit_scalar(c, "gisa.timer.armed", F_BOOL, a->timer_armed, b->timer_armed);
	if (!r)
		r = emit_scalar(c, "gisa.timer.delay_ns", F_DEC, a->timer_delay_ns,
				b->timer_delay_ns);
	return r;
}

static void adapter_text(const struct gisa_image_adapter *ad, char *buf, size_t len)
{
	char v[32];
	size_t pos = 0;

	buf[0] = '\0';
	whole_text(&ad->a, adapter_fields, NFIELDS(adapter_fields), buf, len, &pos);
	put(buf, len, &pos, " maps=[");
	for (uint32_t i = 0; i < ad->a.nr_maps; i++) {
		if (i)
			put(buf, len, &pos, ",");
		put(buf, len, &pos, fmt_value(F_HEX, ad->maps[i], v, sizeof(v)));
	}
	put(buf, len, &pos, "]");
}

/*
 * The merge loops below walk two lists sorted by key, while i or j is in
 * range: x or y is set, so `!x' means y.  clang's analyzer takes
 * &a->adapters[0] for a pointer that may be NULL (a checked image with
 * entries has its array), hence the NOLINTs.
 */
static int diff_adapters(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	char path[PATH_LEN], text[TEXT_MAX];
	uint32_t i = 0, j = 0;
	int r = 0;

	while (!r && (i < a->nr_adapters || j < b->nr_adapters)) {
		const struct gisa_image_adapter *x = i < a->nr_adapters ? &a->adapters[i] : NULL;
		const struct gisa_image_adapter *y = j < b->nr_adapters ? &b->adapters[j] : NULL;

		if (x && (!y || x->a.id < y->a.id)) {
			c->key = x->a.id;
			snprintf(path, sizeof(path), "adapters[%" PRIu32 "]", x->a.id);
			adapter_text(x, text, sizeof(text));
			r = emit(c, GISA_DIFF_REMOVED, -1, -1, path, text, NULL);
			i++;
		} else if (!x || y->a.id < x->a.id) {
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): x or y is set */
			c->key = y->a.id;
			snprintf(path, sizeof(path), "adapters[%" PRIu32 "]", y->a.id);
			adapter_text(y, text, sizeof(text));
			r = emit(c, GISA_DIFF_ADDED, -1, -1, path, NULL, text);
			j++;
		} else {
			struct seq s = {
				.a = (const unsigned char *)x->maps,
				.b = (const unsigned char *)y->maps,
				.na = x->a.nr_maps,
				.nb = y->a.nr_maps,
				.size = sizeof(uint64_t),
				.cmp = cmp_map,
			};
			struct seq_out o = { path, map_fields, NFIELDS(map_fields) };

			c->key = x->a.id;
			snprintf(path, sizeof(path), "adapters[%" PRIu32 "]", x->a.id);
			r = emit_fields(c, path, &x->a, &y->a, adapter_fields,
					NFIELDS(adapter_fields), -1, -1);
			snprintf(path, sizeof(path), "adapters[%" PRIu32 "].maps", x->a.id);
			if (!r)
				r = seq_diff(c, &s, &o);
			i++;
			j++;
		}
	}
	return r;
}

/*
 * Items keyed by a u32 in ascending order on both sides (routes by gsi,
 * memslots by slot through an index): REMOVED, ADDED or field changes.
 */
struct keyed {
	const char *name;             /* "routes": paths "routes[KEY]" */
	const struct field *fields;
	size_t nfields;
};

static int diff_keyed_item(struct ctx *c, const struct keyed *k, uint32_t key,
			   const void *x, const void *y)
{
	char path[PATH_LEN], text[TEXT_MAX];
	size_t pos = 0;

	c->key = key;
	snprintf(path, sizeof(path), "%s[%" PRIu32 "]", k->name, key);
	if (x && y)
		return emit_fields(c, path, x, y, k->fields, k->nfields, -1, -1);
	text[0] = '\0';
	whole_text(x ? x : y, k->fields, k->nfields, text, sizeof(text), &pos);
	return emit(c, x ? GISA_DIFF_REMOVED : GISA_DIFF_ADDED, -1, -1, path, x ? text : NULL,
		    x ? NULL : text);
}

static int diff_routes(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	const struct keyed k = { "routes", route_fields, NFIELDS(route_fields) };
	uint32_t i = 0, j = 0;
	int r = 0;

	while (!r && (i < a->nr_routes || j < b->nr_routes)) {
		const struct gisa_route_entry *x = i < a->nr_routes ? &a->routes[i] : NULL;
		const struct gisa_route_entry *y = j < b->nr_routes ? &b->routes[j] : NULL;

		if (x && (!y || x->gsi < y->gsi)) {
			r = diff_keyed_item(c, &k, x->gsi, x, NULL);
			i++;
		} else if (!x || y->gsi < x->gsi) {
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): x or y is set */
			r = diff_keyed_item(c, &k, y->gsi, NULL, y);
			j++;
		} else {
			r = diff_keyed_item(c, &k, x->gsi, x, y);
			i++;
			j++;
		}
	}
	return r;
}

/* Memslot positions ordered by slot id (images order them by gpa). */
static void slot_order(const struct gisa_image *img, uint32_t *idx)
{
	for (uint32_t i = 0; i < img->nr_memslots; i++) {
		uint32_t j = i;

		while (j && img->memslots[idx[j - 1]].slot > img->memslots[i].slot) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

static int diff_memslots(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	const struct keyed k = { "memslots", memslot_fields, NFIELDS(memslot_fields) };
	uint32_t ia[GISA_MAX_MEMSLOTS], ib[GISA_MAX_MEMSLOTS];
	uint32_t i = 0, j = 0;
	int r = 0;

	slot_order(a, ia);
	slot_order(b, ib);
	while (!r && (i < a->nr_memslots || j < b->nr_memslots)) {
		const struct gisa_image_memslot *x =
			i < a->nr_memslots ? &a->memslots[ia[i]] : NULL;
		const struct gisa_image_memslot *y =
			j < b->nr_memslots ? &b->memslots[ib[j]] : NULL;

		if (x && (!y || x->slot < y->slot)) {
			r = diff_keyed_item(c, &k, x->slot, x, NULL);
			i++;
		} else if (!x || y->slot < x->slot) {
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): x or y is set */
			r = diff_keyed_item(c, &k, y->slot, NULL, y);
			j++;
		} else {
			r = diff_keyed_item(c, &k, x->slot, x, y);
			i++;
			j++;
		}
	}
	return r;
}

static int byte_texts(struct gisa_diff *d)
{
	if (d->byte_text)
		return 0;
	d->byte_text = arena_alloc(d, 256 * 5);
	if (!d->byte_text)
		return -ENOMEM;
	for (unsigned v = 0; v < 256; v++)
		snprintf(d->byte_text + v * 5, 5, "0x%02x", v);
	return 0;
}

/* The differing bytes of one page; a missing side reads as zero. */
static int diff_page(struct ctx *c, uint64_t gpa, const uint8_t *x, const uint8_t *y)
{
	static const uint8_t zero[GISA_PAGE_SIZE];
	char path[PATH_LEN];
	int r;

	x = x ? x : zero;
	y = y ? y : zero;
	if (!memcmp(x, y, GISA_PAGE_SIZE))
		return 0;
	r = byte_texts(c->d);
	if (r)
		return r;
	for (uint32_t o = 0; o < GISA_PAGE_SIZE; o++) {
		if (x[o] == y[o])
			continue;
		c->key = gpa + o;
		snprintf(path, sizeof(path), "pages[0x%" PRIx64 "]", gpa + o);
		r = emit(c, GISA_DIFF_CHANGED, -1, -1, path, c->d->byte_text + x[o] * 5,
			 c->d->byte_text + y[o] * 5);
		if (r)
			return r;
	}
	return 0;
}

static int diff_pages(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	uint32_t i = 0, j = 0;
	int r = 0;

	while (!r && (i < a->nr_pages || j < b->nr_pages)) {
		const struct gisa_image_page *x = i < a->nr_pages ? &a->pages[i] : NULL;
		const struct gisa_image_page *y = j < b->nr_pages ? &b->pages[j] : NULL;

		if (x && (!y || x->gpa < y->gpa)) {
			r = diff_page(c, x->gpa, x->data, NULL);
			i++;
		} else if (!x || y->gpa < x->gpa) {
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): x or y is set */
			r = diff_page(c, y->gpa, NULL, y->data);
			j++;
		} else {
			r = diff_page(c, x->gpa, x->data, y->data);
			i++;
			j++;
		}
	}
	return r;
}

static int diff_vcpus(struct ctx *c, const struct gisa_image *a, const struct gisa_image *b)
{
	const struct keyed k = { "vcpus", vcpu_fields, NFIELDS(vcpu_fields) };
	uint32_t n = a->nr_vcpus > b->nr_vcpus ? a->nr_vcpus : b->nr_vcpus;
	int r = 0;

	for (uint32_t i = 0; !r && i < n; i++)
		r = diff_keyed_item(c, &k, i, i < a->nr_vcpus ? &a->vcpus[i] : NULL,
				    i < b->nr_vcpus ? &b->vcpus[i] : NULL);
	return r;
}

/* ---- API ---------------------------------------------------------------- */

int gisa_diff_images(const struct gisa_image *a, const struct gisa_image *b,
		     struct gisa_diff **ret)
{
	struct gisa_diff *d;
	struct ctx c;
	int r;

	if (!a || !b || !ret || gisa_image_check(a, NULL) || gisa_image_check(b, NULL) ||
	    a->nr_memslots > GISA_MAX_MEMSLOTS || b->nr_memslots > GISA_MAX_MEMSLOTS)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	c = (struct ctx){ .d = d, .sec = GISA_DIFF_CONFIG };
	r = diff_config(&c, &a->config, &b->config);
	if (!r) {
		c.sec = GISA_DIFF_FLOAT;
		r = diff_float(&c, &a->fl, &b->fl);
	}
	if (!r) {
		c.sec = GISA_DIFF_AIS;
		r = diff_ais(&c, &a->fl, &b->fl);
	}
	if (!r) {
		c.sec = GISA_DIFF_LISTS;
		r = diff_lists(&c, a, b);
	}
	if (!r) {
		c.sec = GISA_DIFF_GISA;
		c.key = 0;
		r = diff_gisa(&c, &a->gisa, &b->gisa);
	}
	if (!r) {
		c.sec = GISA_DIFF_ADAPTERS;
		r = diff_adapters(&c, a, b);
	}
	if (!r) {
		c.sec = GISA_DIFF_ROUTES;
		r = diff_routes(&c, a, b);
	}
	if (!r) {
		c.sec = GISA_DIFF_MEMSLOTS;
		r = diff_memslots(&c, a, b);
	}
	if (!r) {
		c.sec = GISA_DIFF_PAGES;
		r = diff_pages(&c, a, b);
	}
	if (!r) {
		c.sec = GISA_DIFF_VCPUS;
		r = diff_vcpus(&c, a, b);
	}
	if (r) {
		gisa_diff_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct gisa_diff *gisa_diff_free(struct gisa_diff *d)
{
	if (!d)
		return NULL;
	while (d->chunks) {
		struct chunk *next = d->chunks->next;

		free(d->chunks);
		d->chunks = next;
	}
	free(d->e);
	free(d);
	return NULL;
}

size_t gisa_diff_count(const struct gisa_diff *d)
{
	return d->n;
}

uint64_t gisa_diff_total(const struct gisa_diff *d)
{
	return d->total;
}

uint64_t gisa_diff_section_total(const struct gisa_diff *d, enum gisa_diff_section s)
{
	return (unsigned)s < GISA_DIFF_NR_SECTIONS ? d->section_total[s] : 0;
}

const struct gisa_diff_entry *gisa_diff_entry(const struct gisa_diff *d, size_t i)
{
	return i < d->n ? &d->e[i] : NULL;
}

int gisa_diff_foreach(const struct gisa_diff *d,
		      int (*fn)(void *ctx, const struct gisa_diff_entry *e), void *ctx)
{
	for (size_t i = 0; i < d->n; i++) {
		int r = fn(ctx, &d->e[i]);

		if (r)
			return r;
	}
	return 0;
}

const char *gisa_diff_section_name(enum gisa_diff_section s)
{
	static const char *const names[GISA_DIFF_NR_SECTIONS] = {
		"config", "float", "ais", "lists", "gisa",
		"adapters", "routes", "memslots", "pages", "vcpus",
	};

	return (unsigned)s < GISA_DIFF_NR_SECTIONS ? names[s] : NULL;
}

const char *gisa_diff_kind_name(enum gisa_diff_kind k)
{
	static const char *const names[GISA_DIFF_NR_KINDS] = {
		"changed", "removed", "added", "moved",
	};

	return (unsigned)k < GISA_DIFF_NR_KINDS ? names[k] : NULL;
}

bool gisa_diff_equal_digest(const uint8_t a[32], const uint8_t b[32])
{
	return memcmp(a, b, 32) == 0;
}
