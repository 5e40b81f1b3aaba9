/* SPDX-License-Identifier: MIT */
/*
 * gisa-snapshot-bench: what exporting and importing a snapshot costs, next
 * to zstd level 1 on the raw GET_ALL_IRQS record array of the same state,
 * and how the alternative encodings of the I/O lists compare with the
 * fixed-width columns gisa.v1 uses.
 *
 * The two states come from the generators of bench/README.md ("typical"
 * and "maximum"); the README fixes their distributions and seeds, and this
 * file implements exactly that description.
 *
 * Method: everything runs once untimed (warm allocator, warm caches), then
 * RUNS timed runs.  Within a run every operation is timed once, in a fixed
 * order, so the codec and its baseline see the same machine load; each
 * figure is the median over the runs.  Composite figures (export, import)
 * are timed as one interval, not summed from medians.  Buffers are freed
 * outside the timed intervals.  The raw baseline (and the "parts" rows
 * that compress the state bytes alone) call zstd's one-shot API
 * (ZSTD_compress / ZSTD_decompress) with the level's default parameters;
 * the codec's own zstd set-up (its context, its window cap, streaming
 * decompression) is inside its figures.
 *
 * Figures are printed, never asserted: a missed goal does not change the
 * exit status.  A library call that fails, or a round trip that does not
 * give back the same state, is an error (exit 1), because then the figures
 * would measure the wrong thing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include <gisa/gisa.h>
#include <gisa/image.h>
#include <gisa/snapshot.h>

#include "snapshot_alt.pb-c.h"
#include "table.h"

#define NR_ISC        (GISA_MAX_ISC + 1)

/* Guest layout of every generated state (bench/README.md). */
#define SLOT_SIZE     0x1000000u      /* memslot 0 = [0, 16 MiB) */
#define IND_BASE      0x100000u       /* adapter a's indicator page: IND_BASE + a * 4 KiB */
#define SUM_ADDR      0x140000u       /* adapter a's summary bit: bit 8a of this area */
#define SUBCH_ID      0x0001u         /* css 0, ssid 0, the "one" bit */
#define ENQ_SIMM      0x30u
#define ENQ_NIMM      0x10u

struct gen {
	const char *name;
	uint64_t seed;
	uint32_t nr_irqs;
	uint32_t nr_subch;
	uint32_t nr_adapters;
	uint32_t nr_routes;
	uint32_t nr_vcpus;
	unsigned int runs;
	bool goals;                     /* the snapshot goals apply to this state */
};

static const struct gen gens[] = {
	/* Seeds: the names in ASCII, big-endian ("typical", "maximum"). */
	{ "typical", 0x007479706963616cull, 1000, 64, 8, 64, 4, 201, false },
	{ "maximum", 0x006d6178696d756dull, GISA_MAX_FLOAT_IRQS, 4096, 64, 4096, 4, 21, true },
};

/* ---- small helpers -------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn)) die(const char *what, long got)
{
	fprintf(stderr, "gisa-snapshot-bench: %s: unexpected result %ld\n", what, got);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("malloc", -ENOMEM);
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, size_t n)
{
	double *s = xmalloc(n * sizeof(*s));
	double m;

	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

/* splitmix64: the generators' only source of randomness (bench/README.md). */
static uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A value in [0, n): the high 32 bits scaled by multiplication. */
static uint32_t rnd_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rnd_next(s) >> 32) * n) >> 32);
}

static void put_le(uint8_t *p, uint64_t v, unsigned int width)
{
	for (unsigned int i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int width)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- the generators (bench/README.md) ------------------------------------ */

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = {
		.group = group, .attr = attr, .addr = { .data = buf, .len = len },
	};

	return gisa_flic_set_attr(vm, &a);
}

static void adapter_mask(struct gisa_vm *vm, uint32_t id, int mask)
{
	struct gisa_io_adapter_req req = { .id = id, .type = GISA_IO_ADAPTER_MASK, .mask = mask };
	uint8_t buf[GISA_IO_ADAPTER_REQ_SIZE];
	int r;

	gisa_io_adapter_req_pack(&req, GISA_BE, buf);
	r = set_attr(vm, GISA_FLIC_ADAPTER_MODIFY, 0, buf, sizeof(buf));
	if (r)
		die("ADAPTER_MODIFY (mask)", r);
}

/*
 * The I/O interrupts in injection order as 72-byte big-endian records:
 * subchannel s (0 <= s < nr_subch) is subchannel number s, ISC s % 8, with
 * the parameter drawn for it first; then rounds of a fresh random
 * permutation of the subchannels, the last round cut short.
 */
static uint8_t *gen_records(const struct gen *g)
{
	uint8_t *recs = xmalloc((size_t)g->nr_irqs * GISA_IRQ_SIZE);
	uint32_t *parm = xmalloc(g->nr_subch * sizeof(*parm));
	uint32_t *perm = xmalloc(g->nr_subch * sizeof(*perm));
	uint64_t s = g->seed;
	uint32_t done = 0;

	for (uint32_t i = 0; i < g->nr_subch; i++)
		parm[i] = (uint32_t)(rnd_next(&s) >> 32);
	while (done < g->nr_irqs) {
		for (uint32_t i = 0; i < g->nr_subch; i++)
			perm[i] = i;
		for (uint32_t i = g->nr_subch; i > 1; i--) {
			uint32_t j = rnd_below(&s, i), t = perm[i - 1];

			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (uint32_t i = 0; i < g->nr_subch && done < g->nr_irqs; i++, done++) {
			/* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.Assign): filled above */
			uint32_t sch = perm[i];
			struct gisa_irq irq;

			memset(&irq, 0, sizeof(irq));
			irq.type = GISA_INT_IO(0, SUBCH_ID >> 8, (SUBCH_ID >> 1) & 3, sch);
			irq.u.io.subchannel_id = SUBCH_ID;
			irq.u.io.subchannel_nr = (uint16_t)sch;
			irq.u.io.io_int_parm = parm[sch];
			irq.u.io.io_int_word = (sch % NR_ISC) << 27;
			gisa_irq_pack1(&irq, GISA_BE, recs + (size_t)done * GISA_IRQ_SIZE);
		}
	}
	free(parm);
	free(perm);
	return recs;
}

static struct gisa_vm *gen_vm(const struct gen *g, struct gisa_host *host)
{
	struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_CLASSIC, .caps = GISA_CAP_AIS, .nr_vcpus = g->nr_vcpus,
		.mem_cap = 0, .abi_order = GISA_BE,
	};
	uint32_t per = g->nr_routes / g->nr_adapters;
	struct gisa_route_entry *routes;
	uint8_t ais[GISA_AIS_ALL_SIZE] = { ENQ_SIMM, ENQ_NIMM };
	struct gisa_vm *vm;
	uint8_t *recs;
	int r;

	r = gisa_vm_new(host, &cfg, &vm);
	if (r)
		die("gisa_vm_new", r);
	r = gisa_flic_create(vm);
	if (r)
		die("gisa_flic_create", r);
	r = gisa_mem_set_slot(vm, 0, 0, SLOT_SIZE);
	if (r)
		die("gisa_mem_set_slot", r);
	for (uint32_t i = 0; i < g->nr_vcpus; i++) {
		struct gisa_vcpu_state st = {
			.psw_mask = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK,
			.cr0 = 0x6e00, .cr6 = 0xff000000, .cr14 = GISA_CR14_CHANNEL_REPORT,
			.run = GISA_VCPU_RUNNING,
		};

		r = gisa_vcpu_set(vm, i, &st);
		if (r)
			die("gisa_vcpu_set", r);
	}

	recs = gen_records(g);
	r = set_attr(vm, GISA_FLIC_ENQUEUE, (uint64_t)g->nr_irqs * GISA_IRQ_SIZE, recs,
		     (size_t)g->nr_irqs * GISA_IRQ_SIZE);
	if (r)
		die("ENQUEUE of the generated interrupts", r);
	free(recs);

	for (uint32_t a = 0; a < g->nr_adapters; a++) {
		struct gisa_io_adapter io = {
			.id = a, .isc = (uint8_t)(a % NR_ISC), .maskable = 1,
			.swap = a % 2 == 0, .flags = a % 4 == 0 ? GISA_ADAPTER_SUPPRESSIBLE : 0,
		};
		uint8_t buf[GISA_IO_ADAPTER_SIZE];

		gisa_io_adapter_pack(&io, GISA_BE, buf);
		r = set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, buf, sizeof(buf));
		if (r)
			die("ADAPTER_REGISTER", r);
	}
	routes = xmalloc(g->nr_routes * sizeof(*routes));
	for (uint32_t gsi = 0; gsi < g->nr_routes; gsi++) {
		uint32_t a = gsi / per, k = gsi % per;

		routes[gsi] = (struct gisa_route_entry){
			.gsi = gsi, .type = GISA_IRQ_ROUTING_S390_ADAPTER,
			.adapter = {
				.ind_addr = IND_BASE + (uint64_t)a * GISA_PAGE_SIZE,
				.summary_addr = SUM_ADDR, .ind_offset = k,
				.summary_offset = 8 * a, .adapter_id = a,
			},
		};
	}
	r = gisa_routes_set(vm, routes, g->nr_routes, 0);
	if (r)
		die("gisa_routes_set", r);
	free(routes);

	/*
	 * Indicator and summary bits without adapter interrupts: every adapter
	 * masked, every fourth route of each adapter signalled, then the odd
	 * adapters unmasked again.
	 */
	for (uint32_t a = 0; a < g->nr_adapters; a++)
		adapter_mask(vm, a, 1);
	for (uint32_t gsi = 0; gsi < g->nr_routes; gsi++) {
		if ((gsi % per) % 4)
			continue;
		r = gisa_route_trigger(vm, gsi, 1);
		if (r != (gsi % per == 0))
			die("gisa_route_trigger", r);
	}
	for (uint32_t a = 1; a < g->nr_adapters; a += 2)
		adapter_mask(vm, a, 0);

	r = set_attr(vm, GISA_FLIC_AISM_ALL, 0, ais, sizeof(ais));
	if (r)
		die("AISM_ALL", r);
	return vm;
}

/* GET_ALL_IRQS of the VM: the raw array zstd is compared on. */
static uint8_t *get_all(struct gisa_vm *vm, uint32_t expect, size_t *ret_len)
{
	size_t len = (size_t)expect * GISA_IRQ_SIZE;
	uint8_t *buf = xmalloc(len);
	struct gisa_attr a = {
		.group = GISA_FLIC_GET_ALL_IRQS, .attr = len, .addr = { .data = buf, .len = len },
	};
	int r = gisa_flic_get_attr(vm, &a);

	if (r != (int)expect)
		die("GET_ALL_IRQS", r);
	*ret_len = len;
	return buf;
}

/* ---- the I/O-list encodings compared (bench/snapshot_alt.proto) ---------- */

/* The decoded lists of one alternative, as the image holds them. */
struct lists {
	struct gisa_image_list l[NR_ISC];
};

static void lists_free(struct lists *out)
{
	for (unsigned int i = 0; i < NR_ISC; i++)
		free(out->l[i].e);
	memset(out, 0, sizeof(*out));
}

static struct gisa_list_entry *lists_alloc(struct lists *out, uint32_t isc, uint32_t n)
{
	if (isc >= NR_ISC || out->l[isc].e)
		die("alternative decode: ISC", isc);
	out->l[isc].n = n;
	out->l[isc].e = xmalloc(n * sizeof(*out->l[isc].e));
	return out->l[isc].e;
}

static unsigned int nonempty(const struct gisa_image *img, unsigned int *idx)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NR_ISC; i++)
		if (img->lists[i].n)
			idx[n++] = i;
	return n;
}

/* One message per interrupt, varint fields. */
static size_t pack_rows(const struct gisa_image *img, uint8_t **ret)
{
	Gisa__Bench__AltRows top = GISA__BENCH__ALT_ROWS__INIT;
	Gisa__Bench__IoRows lm[NR_ISC], *lp[NR_ISC];
	Gisa__Bench__IoRow *rows, **rp;
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	size_t total = 0, k = 0, len;

	for (unsigned int i = 0; i < nl; i++)
		total += img->lists[idx[i]].n;
	rows = xmalloc(total * sizeof(*rows));
	rp = xmalloc(total * sizeof(Gisa__Bench__IoRow *));
	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];

		gisa__bench__io_rows__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		lm[i].n_irq = l->n;
		lm[i].irq = rp + k;
		for (uint32_t j = 0; j < l->n; j++, k++) {
			const struct gisa_list_entry *x = &l->e[j];
			Gisa__Bench__IoRow *m = &rows[k];

			gisa__bench__io_row__init(m);
			m->has_type = x->type != 0;
			m->type = x->type;
			m->has_subchannel_id = x->u.io.subchannel_id != 0;
			m->subchannel_id = x->u.io.subchannel_id;
			m->has_subchannel_nr = x->u.io.subchannel_nr != 0;
			m->subchannel_nr = x->u.io.subchannel_nr;
			m->has_parm = x->u.io.io_int_parm != 0;
			m->parm = x->u.io.io_int_parm;
			m->has_word = x->u.io.io_int_word != 0;
			m->word = x->u.io.io_int_word;
			rp[k] = m;
		}
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_rows__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_rows__pack(&top, *ret);
	free(rows);
	free(rp);
	return len;
}

static void unpack_rows(const uint8_t *buf, size_t len, struct lists *out)
{
	Gisa__Bench__AltRows *m = gisa__bench__alt_rows__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltRows", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoRows *l = m->io[i];
		struct gisa_list_entry *e = lists_alloc(out, l->isc, (uint32_t)l->n_irq);

		for (size_t j = 0; j < l->n_irq; j++) {
			const Gisa__Bench__IoRow *x = l->irq[j];

			e[j].type = x->type;
			e[j].u.io = (struct gisa_io_info){
				(uint16_t)x->subchannel_id, (uint16_t)x->subchannel_nr,
				x->parm, x->word,
			};
		}
	}
	gisa__bench__alt_rows__free_unpacked(m, NULL);
}

/* One message per interrupt, fixed32 fields. */
static size_t pack_rows_fixed(const struct gisa_image *img, uint8_t **ret)
{
	Gisa__Bench__AltRowsFixed top = GISA__BENCH__ALT_ROWS_FIXED__INIT;
	Gisa__Bench__IoRowsFixed lm[NR_ISC], *lp[NR_ISC];
	Gisa__Bench__IoRowFixed *rows, **rp;
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	size_t total = 0, k = 0, len;

	for (unsigned int i = 0; i < nl; i++)
		total += img->lists[idx[i]].n;
	rows = xmalloc(total * sizeof(*rows));
	rp = xmalloc(total * sizeof(Gisa__Bench__IoRowFixed *));
	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];

		gisa__bench__io_rows_fixed__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		lm[i].n_irq = l->n;
		lm[i].irq = rp + k;
		for (uint32_t j = 0; j < l->n; j++, k++) {
			const struct gisa_list_entry *x = &l->e[j];
			Gisa__Bench__IoRowFixed *m = &rows[k];

			gisa__bench__io_row_fixed__init(m);
			m->has_type = x->type != 0;
			m->type = x->type;
			m->has_subchannel_id = x->u.io.subchannel_id != 0;
			m->subchannel_id = x->u.io.subchannel_id;
			m->has_subchannel_nr = x->u.io.subchannel_nr != 0;
			m->subchannel_nr = x->u.io.subchannel_nr;
			m->has_parm = x->u.io.io_int_parm != 0;
			m->parm = x->u.io.io_int_parm;
			m->has_word = x->u.io.io_int_word != 0;
			m->word = x->u.io.io_int_word;
			rp[k] = m;
		}
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_rows_fixed__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_rows_fixed__pack(&top, *ret);
	free(rows);
	free(rp);
	return len;
}

static void unpack_rows_fixed(const uint8_t *buf, size_t len, struct lists *out)
{
	Gisa__Bench__AltRowsFixed *m = gisa__bench__alt_rows_fixed__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltRowsFixed", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoRowsFixed *l = m->io[i];
		struct gisa_list_entry *e = lists_alloc(out, l->isc, (uint32_t)l->n_irq);

		for (size_t j = 0; j < l->n_irq; j++) {
			const Gisa__Bench__IoRowFixed *x = l->irq[j];

			e[j].type = x->type;
			e[j].u.io = (struct gisa_io_info){
				(uint16_t)x->subchannel_id, (uint16_t)x->subchannel_nr,
				x->parm, x->word,
			};
		}
	}
	gisa__bench__alt_rows_fixed__free_unpacked(m, NULL);
}

/* Packed repeated varint columns. */
static size_t pack_packed(const struct gisa_image *img, uint8_t **ret)
{
	Gisa__Bench__AltPacked top = GISA__BENCH__ALT_PACKED__INIT;
	Gisa__Bench__IoPacked lm[NR_ISC], *lp[NR_ISC];
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	uint32_t *cols[NR_ISC];
	size_t len;

	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];
		uint32_t *c = cols[i] = xmalloc(5 * (size_t)l->n * sizeof(uint32_t));

		gisa__bench__io_packed__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		for (uint32_t j = 0; j < l->n; j++) {
			c[j] = l->e[j].type;
			c[l->n + j] = l->e[j].u.io.subchannel_id;
			c[2 * l->n + j] = l->e[j].u.io.subchannel_nr;
			c[3 * l->n + j] = l->e[j].u.io.io_int_parm;
			c[4 * l->n + j] = l->e[j].u.io.io_int_word;
		}
		lm[i].n_type = lm[i].n_subchannel_id = lm[i].n_subchannel_nr = lm[i].n_parm =
			lm[i].n_word = l->n;
		lm[i].type = c;
		lm[i].subchannel_id = c + l->n;
		lm[i].subchannel_nr = c + 2 * l->n;
		lm[i].parm = c + 3 * l->n;
		lm[i].word = c + 4 * l->n;
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_packed__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_packed__pack(&top, *ret);
	for (unsigned int i = 0; i < nl; i++)
		free(cols[i]);
	return len;
}

static void unpack_packed(const uint8_t *buf, size_t len, struct lists *out)
{
	Gisa__Bench__AltPacked *m = gisa__bench__alt_packed__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltPacked", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoPacked *l = m->io[i];
		size_t n = l->n_type;
		struct gisa_list_entry *e;

		if (l->n_subchannel_id != n || l->n_subchannel_nr != n || l->n_parm != n ||
		    l->n_word != n)
			die("AltPacked column lengths", (long)n);
		e = lists_alloc(out, l->isc, (uint32_t)n);
		for (size_t j = 0; j < n; j++) {
			e[j].type = l->type[j];
			e[j].u.io = (struct gisa_io_info){
				(uint16_t)l->subchannel_id[j], (uint16_t)l->subchannel_nr[j],
				l->parm[j], l->word[j],
			};
		}
	}
	gisa__bench__alt_packed__free_unpacked(m, NULL);
}

/*
 * Fixed-width columns, plain (the codec's encoding), byte-transposed (byte
 * plane k of a column = byte k of every value, so the constant high bytes
 * form long runs) or delta (each value minus the previous one, modulo the
 * column width).
 */
enum col_xform { XF_PLAIN, XF_TRANSPOSE, XF_DELTA };

static void col_put(uint8_t *d, uint32_t n, unsigned int w, enum col_xform xf, uint32_t i,
		    uint64_t v, uint64_t *prev)
{
	switch (xf) {
	case XF_PLAIN:
		put_le(d + (size_t)w * i, v, w);
		break;
	case XF_TRANSPOSE:
		for (unsigned int b = 0; b < w; b++)
			d[(size_t)b * n + i] = (uint8_t)(v >> (8 * b));
		break;
	case XF_DELTA:
		put_le(d + (size_t)w * i, v - *prev, w);
		*prev = v;
		break;
	}
}

static uint64_t col_get(const uint8_t *d, uint32_t n, unsigned int w, enum col_xform xf,
			uint32_t i, uint64_t *prev)
{
	uint64_t v = 0, mask = w == 8 ? ~0ull : (1ull << (8 * w)) - 1;

	switch (xf) {
	case XF_PLAIN:
		return get_le(d + (size_t)w * i, w);
	case XF_TRANSPOSE:
		for (unsigned int b = 0; b < w; b++)
			v |= (uint64_t)d[(size_t)b * n + i] << (8 * b);
		return v;
	case XF_DELTA:
		v = (get_le(d + (size_t)w * i, w) + *prev) & mask;
		*prev = v;
		return v;
	}
	return 0;
}

static size_t pack_cols_xf(const struct gisa_image *img, uint8_t **ret, enum col_xform xf)
{
	Gisa__Bench__AltCols top = GISA__BENCH__ALT_COLS__INIT;
	Gisa__Bench__IoCols lm[NR_ISC], *lp[NR_ISC];
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	uint8_t *bufs[NR_ISC];
	size_t len;

	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];
		uint32_t n = l->n;
		uint8_t *c = bufs[i] = xmalloc(16 * (size_t)n);
		uint8_t *ty = c, *id = c + 4 * (size_t)n, *nr = id + 2 * (size_t)n;
		uint8_t *pa = nr + 2 * (size_t)n, *wo = pa + 4 * (size_t)n;
		uint64_t p[5] = { 0 };

		for (uint32_t j = 0; j < n; j++) {
			const struct gisa_list_entry *x = &l->e[j];

			col_put(ty, n, 4, xf, j, x->type, &p[0]);
			col_put(id, n, 2, xf, j, x->u.io.subchannel_id, &p[1]);
			col_put(nr, n, 2, xf, j, x->u.io.subchannel_nr, &p[2]);
			col_put(pa, n, 4, xf, j, x->u.io.io_int_parm, &p[3]);
			col_put(wo, n, 4, xf, j, x->u.io.io_int_word, &p[4]);
		}
		gisa__bench__io_cols__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		lm[i].has_count = 1;
		lm[i].count = n;
		lm[i].has_type = lm[i].has_subchannel_id = lm[i].has_subchannel_nr =
			lm[i].has_parm = lm[i].has_word = 1;
		lm[i].type = (ProtobufCBinaryData){ 4 * (size_t)n, ty };
		lm[i].subchannel_id = (ProtobufCBinaryData){ 2 * (size_t)n, id };
		lm[i].subchannel_nr = (ProtobufCBinaryData){ 2 * (size_t)n, nr };
		lm[i].parm = (ProtobufCBinaryData){ 4 * (size_t)n, pa };
		lm[i].word = (ProtobufCBinaryData){ 4 * (size_t)n, wo };
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_cols__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_cols__pack(&top, *ret);
	for (unsigned int i = 0; i < nl; i++)
		free(bufs[i]);
	return len;
}

static void unpack_cols_xf(const uint8_t *buf, size_t len, struct lists *out, enum col_xform xf)
{
	Gisa__Bench__AltCols *m = gisa__bench__alt_cols__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltCols", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoCols *l = m->io[i];
		uint32_t n = l->count;
		struct gisa_list_entry *e;
		uint64_t p[5] = { 0 };

		if (l->type.len != 4 * (size_t)n || l->subchannel_id.len != 2 * (size_t)n ||
		    l->subchannel_nr.len != 2 * (size_t)n || l->parm.len != 4 * (size_t)n ||
		    l->word.len != 4 * (size_t)n)
			die("AltCols column lengths", (long)n);
		e = lists_alloc(out, l->isc, n);
		for (uint32_t j = 0; j < n; j++) {
			e[j].type = (uint32_t)col_get(l->type.data, n, 4, xf, j, &p[0]);
			e[j].u.io.subchannel_id =
				(uint16_t)col_get(l->subchannel_id.data, n, 2, xf, j, &p[1]);
			e[j].u.io.subchannel_nr =
				(uint16_t)col_get(l->subchannel_nr.data, n, 2, xf, j, &p[2]);
			e[j].u.io.io_int_parm = (uint32_t)col_get(l->parm.data, n, 4, xf, j, &p[3]);
			e[j].u.io.io_int_word = (uint32_t)col_get(l->word.data, n, 4, xf, j, &p[4]);
		}
	}
	gisa__bench__alt_cols__free_unpacked(m, NULL);
}

static size_t pack_cols(const struct gisa_image *img, uint8_t **ret)
{
	return pack_cols_xf(img, ret, XF_PLAIN);
}

static void unpack_cols(const uint8_t *buf, size_t len, struct lists *out)
{
	unpack_cols_xf(buf, len, out, XF_PLAIN);
}

static size_t pack_transposed(const struct gisa_image *img, uint8_t **ret)
{
	return pack_cols_xf(img, ret, XF_TRANSPOSE);
}

static void unpack_transposed(const uint8_t *buf, size_t len, struct lists *out)
{
	unpack_cols_xf(buf, len, out, XF_TRANSPOSE);
}

static size_t pack_delta(const struct gisa_image *img, uint8_t **ret)
{
	return pack_cols_xf(img, ret, XF_DELTA);
}

static void unpack_delta(const uint8_t *buf, size_t len, struct lists *out)
{
	unpack_cols_xf(buf, len, out, XF_DELTA);
}

/* Fixed-width rows: the five fields of an entry side by side, 16 bytes. */
static size_t pack_records(const struct gisa_image *img, uint8_t **ret)
{
	Gisa__Bench__AltRecords top = GISA__BENCH__ALT_RECORDS__INIT;
	Gisa__Bench__IoRecords lm[NR_ISC], *lp[NR_ISC];
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	uint8_t *bufs[NR_ISC];
	size_t len;

	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];
		uint8_t *c = bufs[i] = xmalloc(16 * (size_t)l->n);

		for (uint32_t j = 0; j < l->n; j++) {
			const struct gisa_list_entry *x = &l->e[j];
			uint8_t *p = c + 16 * (size_t)j;

			put_le(p, x->type, 4);
			put_le(p + 4, x->u.io.subchannel_id, 2);
			put_le(p + 6, x->u.io.subchannel_nr, 2);
			put_le(p + 8, x->u.io.io_int_parm, 4);
			put_le(p + 12, x->u.io.io_int_word, 4);
		}
		gisa__bench__io_records__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		lm[i].has_count = lm[i].has_records = 1;
		lm[i].count = l->n;
		lm[i].records = (ProtobufCBinaryData){ 16 * (size_t)l->n, c };
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_records__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_records__pack(&top, *ret);
	for (unsigned int i = 0; i < nl; i++)
		free(bufs[i]);
	return len;
}

static void unpack_records(const uint8_t *buf, size_t len, struct lists *out)
{
	Gisa__Bench__AltRecords *m = gisa__bench__alt_records__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltRecords", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoRecords *l = m->io[i];
		struct gisa_list_entry *e;

		if (l->records.len != 16 * (size_t)l->count)
			die("AltRecords length", (long)l->count);
		e = lists_alloc(out, l->isc, l->count);
		for (uint32_t j = 0; j < l->count; j++) {
			const uint8_t *p = l->records.data + 16 * (size_t)j;

			e[j].type = (uint32_t)get_le(p, 4);
			e[j].u.io = (struct gisa_io_info){
				(uint16_t)get_le(p + 4, 2), (uint16_t)get_le(p + 6, 2),
				(uint32_t)get_le(p + 8, 4), (uint32_t)get_le(p + 12, 4),
			};
		}
	}
	gisa__bench__alt_records__free_unpacked(m, NULL);
}

/*
 * Dictionary: the distinct entries of a list once, in first-appearance
 * order (so the encoding stays canonical), then a u16 index per entry (u32
 * when a list has more than 65,536 distinct entries).
 */
static uint64_t entry_hash(const struct gisa_list_entry *x)
{
	uint64_t h = (uint64_t)x->type * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)x->u.io.subchannel_id << 16 | x->u.io.subchannel_nr) *
	     0xbf58476d1ce4e5b9ull;
	h ^= ((uint64_t)x->u.io.io_int_parm << 32 | x->u.io.io_int_word) * 0x94d049bb133111ebull;
	return h ^ (h >> 29);
}

static bool entry_eq(const struct gisa_list_entry *a, const struct gisa_list_entry *b)
{
	return a->type == b->type && a->u.io.subchannel_id == b->u.io.subchannel_id &&
	       a->u.io.subchannel_nr == b->u.io.subchannel_nr &&
	       a->u.io.io_int_parm == b->u.io.io_int_parm &&
	       a->u.io.io_int_word == b->u.io.io_int_word;
}

static size_t pack_dict_xf(const struct gisa_image *img, uint8_t **ret, enum col_xform xf)
{
	Gisa__Bench__AltDict top = GISA__BENCH__ALT_DICT__INIT;
	Gisa__Bench__IoDict lm[NR_ISC], *lp[NR_ISC];
	unsigned int idx[NR_ISC], nl = nonempty(img, idx);
	uint8_t *bufs[NR_ISC];
	uint32_t *keys, *slots;
	size_t len;

	for (unsigned int i = 0; i < nl; i++) {
		const struct gisa_image_list *l = &img->lists[idx[i]];
		uint32_t n = l->n, nk = 0, cap = 16;
		unsigned int iw;
		uint8_t *c, *ty, *id, *nr, *pa, *wo, *ix;

		while (cap < 2 * n)
			cap *= 2;
		slots = xmalloc(cap * sizeof(*slots));
		memset(slots, 0xff, cap * sizeof(*slots));
		keys = xmalloc(n * sizeof(*keys));      /* key k = entry keys[k] */
		c = bufs[i] = xmalloc(20 * (size_t)n);
		ix = c + 16 * (size_t)n;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t h = (uint32_t)entry_hash(&l->e[j]) & (cap - 1);

			while (slots[h] != UINT32_MAX && !entry_eq(&l->e[keys[slots[h]]], &l->e[j]))
				h = (h + 1) & (cap - 1);
			if (slots[h] == UINT32_MAX) {
				slots[h] = nk;
				keys[nk++] = j;
			}
			/* Indices are written as u32 first and narrowed below. */
			put_le(ix + 4 * (size_t)j, slots[h], 4);
		}
		iw = nk > 65536 ? 4 : 2;
		if (xf == XF_TRANSPOSE) {
			uint8_t *tmp = xmalloc(4 * (size_t)n);

			memcpy(tmp, ix, 4 * (size_t)n);
			for (uint32_t j = 0; j < n; j++)
				col_put(ix, n, iw, XF_TRANSPOSE, j, get_le(tmp + 4 * (size_t)j, 4),
					NULL);
			free(tmp);
		} else if (iw == 2) {
			for (uint32_t j = 0; j < n; j++)
				put_le(ix + 2 * (size_t)j, get_le(ix + 4 * (size_t)j, 4), 2);
		}
		ty = c;
		id = ty + 4 * (size_t)nk;
		nr = id + 2 * (size_t)nk;
		pa = nr + 2 * (size_t)nk;
		wo = pa + 4 * (size_t)nk;
		for (uint32_t k = 0; k < nk; k++) {
			const struct gisa_list_entry *x = &l->e[keys[k]];

			put_le(ty + 4 * (size_t)k, x->type, 4);
			put_le(id + 2 * (size_t)k, x->u.io.subchannel_id, 2);
			put_le(nr + 2 * (size_t)k, x->u.io.subchannel_nr, 2);
			put_le(pa + 4 * (size_t)k, x->u.io.io_int_parm, 4);
			put_le(wo + 4 * (size_t)k, x->u.io.io_int_word, 4);
		}
		free(slots);
		free(keys);
		gisa__bench__io_dict__init(&lm[i]);
		lm[i].has_isc = idx[i] != 0;
		lm[i].isc = idx[i];
		lm[i].has_count = lm[i].has_nr_keys = 1;
		lm[i].count = n;
		lm[i].nr_keys = nk;
		lm[i].has_type = lm[i].has_subchannel_id = lm[i].has_subchannel_nr =
			lm[i].has_parm = lm[i].has_word = lm[i].has_index = 1;
		lm[i].type = (ProtobufCBinaryData){ 4 * (size_t)nk, ty };
		lm[i].subchannel_id = (ProtobufCBinaryData){ 2 * (size_t)nk, id };
		lm[i].subchannel_nr = (ProtobufCBinaryData){ 2 * (size_t)nk, nr };
		lm[i].parm = (ProtobufCBinaryData){ 4 * (size_t)nk, pa };
		lm[i].word = (ProtobufCBinaryData){ 4 * (size_t)nk, wo };
		lm[i].index = (ProtobufCBinaryData){ iw * (size_t)n, ix };
		lp[i] = &lm[i];
	}
	top.n_io = nl;
	top.io = lp;
	len = gisa__bench__alt_dict__get_packed_size(&top);
	*ret = xmalloc(len);
	gisa__bench__alt_dict__pack(&top, *ret);
	for (unsigned int i = 0; i < nl; i++)
		free(bufs[i]);
	return len;
}

static void unpack_dict_xf(const uint8_t *buf, size_t len, struct lists *out, enum col_xform xf)
{
	Gisa__Bench__AltDict *m = gisa__bench__alt_dict__unpack(NULL, len, buf);

	if (!m)
		die("unpack AltDict", -EBADMSG);
	for (size_t i = 0; i < m->n_io; i++) {
		const Gisa__Bench__IoDict *l = m->io[i];
		uint32_t n = l->count, nk = l->nr_keys;
		unsigned int iw = nk > 65536 ? 4 : 2;
		struct gisa_list_entry *e, *k;

		if (l->type.len != 4 * (size_t)nk || l->subchannel_id.len != 2 * (size_t)nk ||
		    l->subchannel_nr.len != 2 * (size_t)nk || l->parm.len != 4 * (size_t)nk ||
		    l->word.len != 4 * (size_t)nk || l->index.len != iw * (size_t)n)
			die("AltDict column lengths", (long)n);
		k = xmalloc(nk * sizeof(*k));
		for (uint32_t j = 0; j < nk; j++) {
			size_t o2 = 2 * (size_t)j, o4 = 4 * (size_t)j;

			k[j].type = (uint32_t)get_le(l->type.data + o4, 4);
			k[j].u.io.subchannel_id = (uint16_t)get_le(l->subchannel_id.data + o2, 2);
			k[j].u.io.subchannel_nr = (uint16_t)get_le(l->subchannel_nr.data + o2, 2);
			k[j].u.io.io_int_parm = (uint32_t)get_le(l->parm.data + o4, 4);
			k[j].u.io.io_int_word = (uint32_t)get_le(l->word.data + o4, 4);
		}
		e = lists_alloc(out, l->isc, n);
		for (uint32_t j = 0; j < n; j++) {
			uint64_t x = col_get(l->index.data, n, iw, xf, j, NULL);

			if (x >= nk)
				die("AltDict index", (long)x);
			e[j] = k[x];
		}
		free(k);
	}
	gisa__bench__alt_dict__free_unpacked(m, NULL);
}

static size_t pack_dict(const struct gisa_image *img, uint8_t **ret)
{
	return pack_dict_xf(img, ret, XF_PLAIN);
}

static void unpack_dict(const uint8_t *buf, size_t len, struct lists *out)
{
	unpack_dict_xf(buf, len, out, XF_PLAIN);
}

static size_t pack_dict_planes(const struct gisa_image *img, uint8_t **ret)
{
	return pack_dict_xf(img, ret, XF_TRANSPOSE);
}

static void unpack_dict_planes(const uint8_t *buf, size_t len, struct lists *out)
{
	unpack_dict_xf(buf, len, out, XF_TRANSPOSE);
}

struct alt {
	const char *name;
	size_t (*pack)(const struct gisa_image *img, uint8_t **ret);
	void (*unpack)(const uint8_t *buf, size_t len, struct lists *out);
};

static const struct alt alts[] = {
	{ "message per interrupt, varint", pack_rows, unpack_rows },
	{ "message per interrupt, fixed32", pack_rows_fixed, unpack_rows_fixed },
	{ "packed varint columns", pack_packed, unpack_packed },
	{ "fixed-width columns (gisa.v1)", pack_cols, unpack_cols },
	{ "fixed-width columns, transposed", pack_transposed, unpack_transposed },
	{ "fixed-width columns, delta", pack_delta, unpack_delta },
	{ "fixed-width rows (16 B records)", pack_records, unpack_records },
	{ "dictionary + u16 index", pack_dict, unpack_dict },
	{ "dictionary + u16 index, byte planes", pack_dict_planes, unpack_dict_planes },
};
#define NR_ALTS (sizeof(alts) / sizeof(alts[0]))

static void lists_expect(const struct gisa_image *img, const struct lists *got, const char *what)
{
	for (unsigned int i = 0; i < NR_ISC; i++) {
		const struct gisa_image_list *a = &img->lists[i], *b = &got->l[i];

		if (a->n != b->n)
			die(what, (long)i);
		for (uint32_t j = 0; j < a->n; j++)
			if (a->e[j].type != b->e[j].type ||
			    memcmp(&a->e[j].u.io, &b->e[j].u.io, sizeof(a->e[j].u.io)))
				die(what, (long)j);
	}
}

/* ---- zstd (one-shot, default parameters) and SHA-256 ---------------------- */

static size_t zc(const uint8_t *src, size_t n, uint8_t *dst, size_t cap, int level)
{
	size_t r = ZSTD_compress(dst, cap, src, n, level);

	if (ZSTD_isError(r))
		die("ZSTD_compress", -EIO);
	return r;
}

static void zd(const uint8_t *src, size_t n, uint8_t *dst, size_t want)
{
	size_t r = ZSTD_decompress(dst, want, src, n);

	if (ZSTD_isError(r) || r != want)
		die("ZSTD_decompress", -EIO);
}

static void sha(const uint8_t *p, size_t n, uint8_t out[32])
{
	unsigned int len = 0;

	if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) || len != 32)
		die("EVP_Digest", -EIO);
}

/* ---- measurements --------------------------------------------------------- */

/* Per-run times (ns) of one state; the report takes their medians. */
enum op {
	OP_GET,            /* GET_ALL_IRQS, for context */
	OP_RAW_C1, OP_RAW_D1, OP_RAW_C3, OP_RAW_D3,
	OP_FROM_VM,        /* gisa_image_from_vm */
	OP_STATE,          /* gisa_snap_state_bytes (canonical encoding) */
	OP_SHA,            /* SHA-256 of the state bytes */
	OP_SC1, OP_SD1, OP_SC3, OP_SD3,   /* zstd of the state bytes */
	OP_ENC3, OP_ENC1, OP_ENC0,        /* gisa_snap_encode: level 3, 1, stored */
	OP_EXP3, OP_EXP1, OP_EXP0,        /* from_vm + encode, one interval */
	OP_DEC3, OP_DEC1, OP_DEC0,        /* gisa_snap_decode */
	OP_BUILD,          /* gisa_image_build_vm */
	OP_IMP3, OP_IMP1, OP_IMP0,        /* decode + build, one interval */
	NR_OPS
};

struct sizes {
	size_t raw, raw_z1, raw_z3;
	size_t state, state_z1, state_z3;
	size_t file3, file1, file0;
	uint32_t pages;
};

static void export_once(const struct gisa_vm *vm, const struct gisa_snap_opts *o, double *t_all,
			double *t_enc, uint8_t **ret, size_t *ret_len)
{
	struct gisa_image *img;
	uint64_t t0, t1, t2;
	int r;

	t0 = now_ns();
	r = gisa_image_from_vm(vm, &img);
	t1 = now_ns();
	if (!r)
		r = gisa_snap_encode(img, NULL, o, ret, ret_len);
	t2 = now_ns();
	if (r)
		die("export", r);
	*t_all = (double)(t2 - t0);
	*t_enc = (double)(t2 - t1);
	gisa_image_free(img);
}

static void import_once(const uint8_t *file, size_t len, struct gisa_host *host, double *t_all,
			double *t_dec, double *t_build)
{
	struct gisa_snap_error err = { { 0 } };
	struct gisa_restore_error rerr = { 0 };
	struct gisa_image *img;
	struct gisa_vm *vm;
	uint64_t t0, t1, t2;
	int r;

	t0 = now_ns();
	r = gisa_snap_decode(file, len, &img, NULL, &err);
	t1 = now_ns();
	if (r) {
		fprintf(stderr, "decode: %s\n", err.msg);
		die("gisa_snap_decode", r);
	}
	r = gisa_image_build_vm(img, host, &vm, &rerr);
	t2 = now_ns();
	if (r) {
		fprintf(stderr, "build: %s[%llu]\n", rerr.field ? rerr.field : "?",
			(unsigned long long)rerr.index);
		die("gisa_image_build_vm", r);
	}
	*t_all = (double)(t2 - t0);
	*t_dec = (double)(t1 - t0);
	if (t_build)
		*t_build = (double)(t2 - t1);
	gisa_vm_free(vm);
	gisa_image_free(img);
}

/* The state bytes of a VM (for the round-trip check). */
static uint8_t *vm_state_bytes(const struct gisa_vm *vm, size_t *ret_len)
{
	struct gisa_image *img;
	uint8_t *buf;
	int r = gisa_image_from_vm(vm, &img);

	if (!r)
		r = gisa_snap_state_bytes(img, &buf, ret_len);
	if (r)
		die("state bytes", r);
	gisa_image_free(img);
	return buf;
}

/* Import must give back the same state, or the figures measure nothing. */
static void check_round_trip(const uint8_t *file, size_t len, struct gisa_host *host,
			     const uint8_t *want, size_t want_len)
{
	struct gisa_image *img;
	struct gisa_vm *vm;
	uint8_t *got;
	size_t got_len;
	int r = gisa_snap_decode(file, len, &img, NULL, NULL);

	if (!r)
		r = gisa_image_build_vm(img, host, &vm, NULL);
	if (r)
		die("round trip", r);
	got = vm_state_bytes(vm, &got_len);
	if (got_len != want_len || memcmp(got, want, want_len))
		die("round trip: state bytes differ", (long)got_len);
	free(got);
	gisa_vm_free(vm);
	gisa_image_free(img);
}

static double med_us(double *t, unsigned int runs)
{
	return median(t, runs) / 1000.0;
}

static void print_op(const char *name, double us, size_t bytes)
{
	if (bytes)
		printf("  %-58s %12.1f %14zu\n", name, us, bytes);
	else
		printf("  %-58s %12.1f %14s\n", name, us, "");
}

/*
 * One goal line; its row in the performance table names the state and the
 * baseline, and keeps the parentheses of a goal shown only for reference.
 */
static void print_goal(const struct gen *g, const char *name, double v, double base,
		       const char *base_name, double goal, const char *unit)
{
	double ratio = v / base;
	const char *met = ratio <= goal ? "met" : "missed";
	const char *vs = strstr(name, " vs ");  /* the table names the baseline apart */
	size_t name_len = vs ? (size_t)(vs - name) : strlen(name);
	char gs[16], ms[16], fig[96];

	snprintf(gs, sizeof(gs), g->goals ? "<= %.1fx" : "(<= %.1fx)", goal);
	snprintf(ms, sizeof(ms), g->goals ? "%s" : "(%s)", met);
	printf("  %-44s %12.1f %12.1f %-3s %7.2fx %10s %9s\n", name, v, base, unit, ratio, gs, ms);
	/* Bounded, so that the compiler can see the figure fits. */
	snprintf(fig, sizeof(fig), "%s: %.*s", g->name, (int)(name_len < 64 ? name_len : 64), name);
	bench_table_row("gisa-snapshot-bench", fig, v, unit, base_name, base, ratio, gs, met);
}

static void bench_state(const struct gen *g)
{
	const unsigned int runs = g->runs;
	struct gisa_snap_opts o3 = { .compress = true, .level = 3 };
	struct gisa_snap_opts o1 = { .compress = true, .level = 1 };
	struct gisa_snap_opts o0 = { .compress = false, .level = 0 };
	double *t[NR_OPS];
	struct gisa_host *host;
	struct gisa_vm *vm;
	struct gisa_image *img;
	struct sizes sz = { 0 };
	uint8_t *raw, *zbuf, *dbuf, *state, *file3 = NULL, *file1 = NULL, *file0 = NULL;
	uint8_t digest[32];
	char hex[65];
	size_t zcap, file3_len = 0, file1_len = 0, file0_len = 0;
	uint64_t t0;
	int r;

	for (unsigned int i = 0; i < NR_OPS; i++)
		t[i] = xmalloc(runs * sizeof(double));
	r = gisa_host_new(NULL, &host);
	if (r)
		die("gisa_host_new", r);
	vm = gen_vm(g, host);
	raw = get_all(vm, g->nr_irqs, &sz.raw);
	r = gisa_image_from_vm(vm, &img);
	if (r)
		die("gisa_image_from_vm", r);
	sz.pages = img->nr_pages;
	r = gisa_snap_state_bytes(img, &state, &sz.state);
	if (r)
		die("gisa_snap_state_bytes", r);
	zcap = ZSTD_compressBound(sz.raw > sz.state ? sz.raw : sz.state);
	zbuf = xmalloc(zcap);
	dbuf = xmalloc(sz.raw > sz.state ? sz.raw : sz.state);
	memset(zbuf, 0x5a, zcap);
	memset(dbuf, 0xa5, sz.raw > sz.state ? sz.raw : sz.state);

	/* Run 0 is the untimed warm-up; its figures are overwritten. */
	for (unsigned int run = 0; run <= runs; run++) {
		unsigned int k = run ? run - 1 : 0;
		double dummy;

		free(file3);
		free(file1);
		free(file0);

		t0 = now_ns();
		free(get_all(vm, g->nr_irqs, &sz.raw));
		t[OP_GET][k] = (double)(now_ns() - t0);

		t0 = now_ns();
		sz.raw_z1 = zc(raw, sz.raw, zbuf, zcap, 1);
		t[OP_RAW_C1][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		zd(zbuf, sz.raw_z1, dbuf, sz.raw);
		t[OP_RAW_D1][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		sz.raw_z3 = zc(raw, sz.raw, zbuf, zcap, 3);
		t[OP_RAW_C3][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		zd(zbuf, sz.raw_z3, dbuf, sz.raw);
		t[OP_RAW_D3][k] = (double)(now_ns() - t0);

		{
			struct gisa_image *tmp;
			uint8_t *sb;
			size_t sl;

			t0 = now_ns();
			r = gisa_image_from_vm(vm, &tmp);
			t[OP_FROM_VM][k] = (double)(now_ns() - t0);
			if (r)
				die("gisa_image_from_vm", r);
			t0 = now_ns();
			r = gisa_snap_state_bytes(tmp, &sb, &sl);
			t[OP_STATE][k] = (double)(now_ns() - t0);
			if (r)
				die("gisa_snap_state_bytes", r);
			free(sb);
			gisa_image_free(tmp);
		}
		t0 = now_ns();
		sha(state, sz.state, digest);
		t[OP_SHA][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		sz.state_z1 = zc(state, sz.state, zbuf, zcap, 1);
		t[OP_SC1][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		zd(zbuf, sz.state_z1, dbuf, sz.state);
		t[OP_SD1][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		sz.state_z3 = zc(state, sz.state, zbuf, zcap, 3);
		t[OP_SC3][k] = (double)(now_ns() - t0);
		t0 = now_ns();
		zd(zbuf, sz.state_z3, dbuf, sz.state);
		t[OP_SD3][k] = (double)(now_ns() - t0);

		export_once(vm, &o3, &t[OP_EXP3][k], &t[OP_ENC3][k], &file3, &file3_len);
		export_once(vm, &o1, &t[OP_EXP1][k], &t[OP_ENC1][k], &file1, &file1_len);
		export_once(vm, &o0, &t[OP_EXP0][k], &t[OP_ENC0][k], &file0, &file0_len);
		import_once(file3, file3_len, host, &t[OP_IMP3][k], &t[OP_DEC3][k],
			    &t[OP_BUILD][k]);
		import_once(file1, file1_len, host, &t[OP_IMP1][k], &t[OP_DEC1][k], NULL);
		import_once(file0, file0_len, host, &t[OP_IMP0][k], &t[OP_DEC0][k], &dummy);
	}
	sz.file3 = file3_len;
	sz.file1 = file1_len;
	sz.file0 = file0_len;
	check_round_trip(file3, file3_len, host, state, sz.state);
	check_round_trip(file1, file1_len, host, state, sz.state);
	check_round_trip(file0, file0_len, host, state, sz.state);

	printf("== state \"%s\": %u I/O interrupts over %u subchannels, %u adapters, %u routes, "
	       "%u route pages, %u vcpus (seed 0x%016llx)\n",
	       g->name, g->nr_irqs, g->nr_subch, g->nr_adapters, g->nr_routes, sz.pages,
	       g->nr_vcpus, (unsigned long long)g->seed);
	gisa_snap_digest_hex(digest, hex);
	printf("   state digest %s\n", hex);
	printf("   median of %u runs; state bytes S = %zu; raw GET_ALL_IRQS array = %zu B\n\n",
	       runs, sz.state, sz.raw);
	printf("  %-58s %12s %14s\n", "operation", "median us", "bytes out");
	print_op("raw array: zstd level 1 compress", med_us(t[OP_RAW_C1], runs), sz.raw_z1);
	print_op("raw array: zstd level 1 decompress", med_us(t[OP_RAW_D1], runs), 0);
	print_op("raw array: zstd level 3 compress (reference)", med_us(t[OP_RAW_C3], runs),
		 sz.raw_z3);
	print_op("raw array: zstd level 3 decompress (reference)", med_us(t[OP_RAW_D3], runs), 0);
	print_op("raw array: GET_ALL_IRQS itself (reference)", med_us(t[OP_GET], runs), sz.raw);
	print_op("export, level 3 (image_from_vm + snap_encode)",
		 med_us(t[OP_EXP3], runs), sz.file3);
	print_op("export, level 1 = default", med_us(t[OP_EXP1], runs), sz.file1);
	print_op("export, stored (no compression)", med_us(t[OP_EXP0], runs), sz.file0);
	print_op("import, level-3 file (snap_decode + image_build_vm)", med_us(t[OP_IMP3], runs),
		 0);
	print_op("import, level-1 file", med_us(t[OP_IMP1], runs), 0);
	print_op("import, stored file", med_us(t[OP_IMP0], runs), 0);
	printf("  parts:\n");
	print_op("  gisa_image_from_vm", med_us(t[OP_FROM_VM], runs), 0);
	print_op("  gisa_snap_state_bytes (canonical State encoding)", med_us(t[OP_STATE], runs),
		 sz.state);
	print_op("  SHA-256 of the state bytes", med_us(t[OP_SHA], runs), 0);
	print_op("  zstd level 3 compress of the state bytes", med_us(t[OP_SC3], runs),
		 sz.state_z3);
	print_op("  zstd level 1 compress of the state bytes", med_us(t[OP_SC1], runs),
		 sz.state_z1);
	print_op("  zstd level 3 decompress of the state bytes", med_us(t[OP_SD3], runs), 0);
	print_op("  zstd level 1 decompress of the state bytes", med_us(t[OP_SD1], runs), 0);
	print_op("  gisa_snap_encode, level 3", med_us(t[OP_ENC3], runs), 0);
	print_op("  gisa_snap_encode, level 1", med_us(t[OP_ENC1], runs), 0);
	print_op("  gisa_snap_encode, stored", med_us(t[OP_ENC0], runs), 0);
	print_op("  gisa_snap_decode, level-3 file", med_us(t[OP_DEC3], runs), 0);
	print_op("  gisa_snap_decode, level-1 file", med_us(t[OP_DEC1], runs), 0);
	print_op("  gisa_snap_decode, stored file", med_us(t[OP_DEC0], runs), 0);
	print_op("  gisa_image_build_vm", med_us(t[OP_BUILD], runs), 0);

	printf("\n  %-44s %12s %12s %-3s %8s %10s %9s\n", "goal: codec vs raw array zstd-1",
	       "codec", "raw zstd-1", "", "ratio", "goal", "result");
	print_goal(g, "export, level 3 vs compress", med_us(t[OP_EXP3], runs),
		   med_us(t[OP_RAW_C1], runs), "raw zstd-1 compress", 1.0, "us");
	print_goal(g, "export, level 1 vs compress", med_us(t[OP_EXP1], runs),
		   med_us(t[OP_RAW_C1], runs), "raw zstd-1 compress", 1.0, "us");
	print_goal(g, "import, level-3 file vs decompress", med_us(t[OP_IMP3], runs),
		   med_us(t[OP_RAW_D1], runs), "raw zstd-1 decompress", 2.0, "us");
	print_goal(g, "import, level-1 file vs decompress", med_us(t[OP_IMP1], runs),
		   med_us(t[OP_RAW_D1], runs), "raw zstd-1 decompress", 2.0, "us");
	print_goal(g, "file size, level 3 vs raw zstd-1 size", (double)sz.file3,
		   (double)sz.raw_z1, "raw zstd-1 size", 1.0, "B");
	print_goal(g, "file size, level 1 vs raw zstd-1 size", (double)sz.file1,
		   (double)sz.raw_z1, "raw zstd-1 size", 1.0, "B");
	if (!g->goals)
		printf("  (parenthesised: the goals are set for the maximum state; shown for "
		       "reference)\n");
	printf("\n");

	/* The I/O-list encodings compared, on this state's lists. */
	{
		double *tp = xmalloc(runs * sizeof(double)), *tu = xmalloc(runs * sizeof(double));
		double *tc = xmalloc(runs * sizeof(double)), *td = xmalloc(runs * sizeof(double));

		printf("  I/O lists only (%u entries): encodings compared\n", g->nr_irqs);
		printf("  %-36s %10s %10s %11s %11s %10s %10s\n", "encoding", "pack us",
		       "unpack us", "bytes", "zstd-1 B", "zc1 us", "zd1 us");
		for (size_t a = 0; a < NR_ALTS; a++) {
			uint8_t *buf = NULL, *zb;
			size_t len = 0, zl = 0, zcb;
			struct lists got = { { { 0, NULL } } };

			for (unsigned int run = 0; run <= runs; run++) {
				unsigned int k = run ? run - 1 : 0;

				free(buf);
				t0 = now_ns();
				len = alts[a].pack(img, &buf);
				tp[k] = (double)(now_ns() - t0);
				lists_free(&got);
				t0 = now_ns();
				alts[a].unpack(buf, len, &got);
				tu[k] = (double)(now_ns() - t0);
				zcb = ZSTD_compressBound(len);
				zb = xmalloc(zcb);
				t0 = now_ns();
				zl = zc(buf, len, zb, zcb, 1);
				tc[k] = (double)(now_ns() - t0);
				{
					uint8_t *db = xmalloc(len);

					t0 = now_ns();
					zd(zb, zl, db, len);
					td[k] = (double)(now_ns() - t0);
					free(db);
				}
				free(zb);
			}
			lists_expect(img, &got, alts[a].name);
			lists_free(&got);
			free(buf);
			printf("  %-36s %10.1f %10.1f %11zu %11zu %10.1f %10.1f\n", alts[a].name,
			       med_us(tp, runs), med_us(tu, runs), len, zl, med_us(tc, runs),
			       med_us(td, runs));
		}
		printf("  %-36s %10s %10s %11zu %11zu %10.1f %10.1f\n",
		       "raw 72-byte records (reference)", "-", "-", sz.raw, sz.raw_z1,
		       med_us(t[OP_RAW_C1], runs), med_us(t[OP_RAW_D1], runs));
		free(tp);
		free(tu);
		free(tc);
		free(td);
	}
	printf("\n");

	for (unsigned int i = 0; i < NR_OPS; i++)
		free(t[i]);
	free(file3);
	free(file1);
	free(file0);
	free(zbuf);
	free(dbuf);
	free(state);
	free(raw);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* ---- main ----------------------------------------------------------------- */

static void print_machine(void)
{
	char line[512], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = '\0';
		snprintf(model, sizeof(model), "%s", v);
		break;
	}
	if (f)
		fclose(f);
	printf("gisa-snapshot-bench\nmachine: %ld online CPUs (nproc), CPU model: %s; "
	       "zstd %s\n", sysconf(_SC_NPROCESSORS_ONLN), model, ZSTD_versionString());
#if defined(__SANITIZE_ADDRESS__)
	printf("build: with AddressSanitizer (figures are not representative; use bench/run)\n");
#elif defined(__OPTIMIZE__)
	printf("build: optimized\n");
#else
	printf("build: NOT optimized (figures are not representative)\n");
#endif
	printf("method: one untimed warm-up, then every operation once per run; median over the "
	       "runs; CLOCK_MONOTONIC.\n"
	       "export = gisa_image_from_vm + gisa_snap_encode; import = gisa_snap_decode + "
	       "gisa_image_build_vm;\nthe file's default zstd level is %d.  Goals (maximum "
	       "state): export <= 1.0x raw zstd-1 compress,\nimport <= 2.0x raw zstd-1 "
	       "decompress, file size <= raw zstd-1 size.\n\n", GISA_SNAP_DEFAULT_LEVEL);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_machine();
	for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++)
		bench_state(&gens[i]);
	return 0;
}
