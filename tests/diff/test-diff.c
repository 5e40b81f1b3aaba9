/* SPDX-License-Identifier: MIT */
/*
 * Differential test: the engine against the plain reference model of ref.c.
 *
 * For each of the eight configurations (CLASSIC/NEWEST x GISA x AIS) a
 * seeded pseudo-random sequence of operations runs against both; every
 * return code and every output (GET_ALL_IRQS bytes, deliveries, TPI/TSCH
 * records, AISM_ALL bytes) is compared, and after every step the complete
 * state is compared too: the state view, the ten lists, the adapters and
 * their map lists, the routes, the vcpus, the kick/wake events, the host's
 * GIB and the guest pages the routes write.  The engine is driven only
 * through its public API with big-endian raw buffers encoded here.
 *
 * GISA_DIFF_OPS sets the operations per configuration (default 100000),
 * GISA_DIFF_SEED replaces the base seed to explore other sequences.  On the
 * first mismatch the seed, the step, the operation, both values and the
 * preceding operations are printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine-internal.h"
#include "ref.h"
#include "support.h"

#define DEFAULT_OPS   100000ul
#define GETBUF        (GISA_IRQ_SIZE * 1024u)
#define LSTMAX        2048u
#define HIST          24u
#define OPLEN         2048u
#define TOO_MANY      700u      /* pending records that force a CLEAR_IRQS */
#define MAX_OPS       32u
#define MAX_RETS      12u

struct diff {
	int cfg;
	enum gisa_profile profile;
	uint32_t caps;
	uint32_t nr_vcpus;
	uint64_t seed;
	uint64_t rng;
	unsigned long step;
	unsigned long epoch_end;
	unsigned long phase_end;
	int phase;

	struct gisa_host *host;
	struct gisa_vm *vm;
	struct ref_vm *ref;
	uint64_t ev_seq;
	uint64_t ev_dropped;
	unsigned long limit_at;

	char op[OPLEN];
	char hist[HIST][320];
	unsigned long hist_step[HIST];

	uint8_t *ebuf;
	uint8_t *rbuf;
	struct gisa_irq *lst;

	/* coverage statistics, printed when GISA_DIFF_STATS is set */
	int ret;
	struct { int val; unsigned long n; } rets[MAX_OPS][MAX_RETS];
	unsigned long deliveries[32];
	unsigned long events[3][4];
	unsigned long suppressed;
	unsigned long limit_fills[3];
	unsigned long limit_busy;
	size_t max_records;
};

enum { PHASE_NORMAL, PHASE_GROW, PHASE_DRAIN };

/* ---- PRNG: xorshift64* ---------------------------------------------------- */

static uint64_t rnd64(struct diff *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd32(struct diff *d)
{
	return (uint32_t)(rnd64(d) >> 32);
}

static uint32_t rnd(struct diff *d, uint32_t n)
{
	return n ? (uint32_t)((rnd64(d) >> 32) % n) : 0;
}

static bool chance(struct diff *d, uint32_t pct)
{
	return rnd(d, 100) < pct;
}

/* ---- reporting ------------------------------------------------------------ */

static const char *cfg_name(int cfg)
{
	static const char *const names[8] = {
		"CLASSIC", "CLASSIC+GISA", "CLASSIC+AIS", "CLASSIC+GISA+AIS",
		"NEWEST", "NEWEST+GISA", "NEWEST+AIS", "NEWEST+GISA+AIS",
	};

	return names[cfg & 7];
}

static void hexdump(char *out, size_t size, const uint8_t *b, size_t n)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && o + 3 < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02x", b[i]);
}

__attribute__((format(printf, 2, 3)))
static void diff_fail(struct diff *d, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\ndiff mismatch: config %s seed 0x%016" PRIx64 " step %lu\n",
		cfg_name(d->cfg), d->seed, d->step);
	fprintf(stderr, "  op: %s\n  ", d->op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  preceding operations (oldest first):\n");
	for (unsigned i = 1; i <= HIST; i++) {
		unsigned k = (unsigned)((d->step + i) % HIST);

		if (d->hist[k][0] && d->hist_step[k] < d->step)
			fprintf(stderr, "    %lu: %s\n", d->hist_step[k], d->hist[k]);
	}
	fflush(stderr);
	fail();
}

#define CHECK(d, what, e, r) do {                                             \
	unsigned long long e_ = (unsigned long long)(e);                      \
	unsigned long long r_ = (unsigned long long)(r);                      \
	if (e_ != r_)                                                         \
		diff_fail(d, "%s: engine %lld (0x%llx), reference %lld (0x%llx)", \
			  what, (long long)e_, e_, (long long)r_, r_);        \
} while (0)

/* The operation's main return code, for the statistics. */
#define CHECK_RET(d, what, e, r) do {                                         \
	int er_ = (e);                                                        \
	int rr_ = (r);                                                        \
	(d)->ret = er_;                                                       \
	CHECK(d, what, er_, rr_);                                             \
} while (0)

__attribute__((format(printf, 2, 3)))
static void set_op(struct diff *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->op, sizeof(d->op), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void add_op(struct diff *d, const char *fmt, ...)
{
	size_t o = strlen(d->op);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->op + o, sizeof(d->op) - o, fmt, ap);
	va_end(ap);
}

/* ---- record encoding, independent of the engine's abi.c ------------------- */

static bool is_ext_type(uint64_t t)
{
	return t == GISA_INT_PFAULT_INIT || t == GISA_INT_PFAULT_DONE ||
	       t == GISA_INT_VIRTIO || t == GISA_INT_SERVICE;
}

static void enc_irq(const struct gisa_irq *irq, uint8_t b[GISA_IRQ_SIZE])
{
	memset(b, 0, GISA_IRQ_SIZE);
	ref_put64(b, irq->type);
	if (irq->type <= GISA_INT_IO_MAX) {
		ref_put16(b + 8, irq->u.io.subchannel_id);
		ref_put16(b + 10, irq->u.io.subchannel_nr);
		ref_put32(b + 12, irq->u.io.io_int_parm);
		ref_put32(b + 16, irq->u.io.io_int_word);
	} else if (is_ext_type(irq->type)) {
		ref_put32(b + 8, irq->u.ext.ext_params);
		ref_put32(b + 12, irq->u.ext.pad);
		ref_put64(b + 16, irq->u.ext.ext_params2);
	} else if (irq->type == GISA_INT_MCHK) {
		ref_put64(b + 8, irq->u.mchk.cr14);
		ref_put64(b + 16, irq->u.mchk.mcic);
		ref_put64(b + 24, irq->u.mchk.failing_storage_address);
		ref_put32(b + 32, irq->u.mchk.ext_damage_code);
		ref_put32(b + 36, irq->u.mchk.pad);
		memcpy(b + 40, irq->u.mchk.fixed_logout, 16);
	} else {
		memcpy(b + 8, irq->u.raw, 64);
	}
}

static void dec_irq(const uint8_t *b, struct gisa_irq *irq)
{
	memset(irq, 0, sizeof(*irq));
	irq->type = ref_be64(b);
	if (irq->type <= GISA_INT_IO_MAX) {
		irq->u.io.subchannel_id = ref_be16(b + 8);
		irq->u.io.subchannel_nr = ref_be16(b + 10);
		irq->u.io.io_int_parm = ref_be32(b + 12);
		irq->u.io.io_int_word = ref_be32(b + 16);
	} else if (is_ext_type(irq->type)) {
		irq->u.ext.ext_params = ref_be32(b + 8);
		irq->u.ext.pad = ref_be32(b + 12);
		irq->u.ext.ext_params2 = ref_be64(b + 16);
	} else if (irq->type == GISA_INT_MCHK) {
		irq->u.mchk.cr14 = ref_be64(b + 8);
		irq->u.mchk.mcic = ref_be64(b + 16);
		irq->u.mchk.failing_storage_address = ref_be64(b + 24);
		irq->u.mchk.ext_damage_code = ref_be32(b + 32);
		irq->u.mchk.pad = ref_be32(b + 36);
		memcpy(irq->u.mchk.fixed_logout, b + 40, 16);
	} else {
		memcpy(irq->u.raw, b + 8, 64);
	}
}

static void check_rec(struct diff *d, const char *what, const struct gisa_irq *e,
		      const struct ref_rec *r)
{
	uint8_t b[GISA_IRQ_SIZE];
	char he[160], hr[160];

	enc_irq(e, b);
	if (memcmp(b, r->b, GISA_IRQ_SIZE)) {
		hexdump(he, sizeof(he), b, 32);
		hexdump(hr, sizeof(hr), r->b, 32);
		diff_fail(d, "%s: record differs\n    engine    %s...\n    reference %s...",
			  what, he, hr);
	}
}

/* ---- caller buffers -------------------------------------------------------- */

/*
 * A caller buffer for both sides: same bytes, same length, same bad range.
 * Mostly fine; sometimes short, unreadable in part, or absent.
 */
struct bufpair {
	struct gisa_ubuf e;
	struct ref_ubuf r;
};

/* NOLINTNEXTLINE(readability-non-const-parameter): eb, rb become the buffers' writable data */
static void ubuf_make(struct diff *d, struct bufpair *p, uint8_t *eb, uint8_t *rb, size_t len,
		      uint32_t fault_pct)
{
	size_t bad_off = 0, bad_len = 0;

	if (chance(d, fault_pct)) {
		switch (rnd(d, 3)) {
		case 0:
			len = len ? rnd(d, (uint32_t)len) : 0;
			break;
		case 1:
			bad_off = rnd(d, (uint32_t)(len ? len : 1));
			bad_len = 1 + rnd(d, 16);
			break;
		default:
			eb = NULL;
			rb = NULL;
			len = 0;
			break;
		}
	}
	p->e = (struct gisa_ubuf){ .data = eb, .len = len, .bad_off = bad_off, .bad_len = bad_len };
	p->r = (struct ref_ubuf){ .data = rb, .len = len, .bad_off = bad_off, .bad_len = bad_len };
	add_op(d, " ubuf{len %zu bad [%zu,+%zu)%s}", len, bad_off, bad_len, eb ? "" : " NULL");
}

static int e_set(struct diff *d, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct gisa_ubuf *ub)
{
	struct gisa_attr a = { .flags = flags, .group = group, .attr = attr, .addr = *ub };

	return gisa_flic_set_attr(d->vm, &a);
}

static int e_get(struct diff *d, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct gisa_ubuf *ub)
{
	struct gisa_attr a = { .flags = flags, .group = group, .attr = attr, .addr = *ub };

	return gisa_flic_get_attr(d->vm, &a);
}

/* Flags are ignored by every group but CLEAR_IO_IRQ: sometimes set them. */
static uint32_t some_flags(struct diff *d)
{
	return chance(d, 5) ? rnd32(d) : 0;
}

/* Same bytes to both sides, then compare the return codes. */
static void set_both(struct diff *d, uint32_t flags, uint32_t group, uint64_t attr,
		     const uint8_t *bytes, size_t len, uint32_t fault_pct)
{
	uint8_t eb[64], rb[64];
	struct bufpair p;
	char hx[140];

	if (len) {
		memcpy(eb, bytes, len);
		memcpy(rb, bytes, len);
	}
	hexdump(hx, sizeof(hx), bytes, len);
	add_op(d, " flags 0x%x attr 0x%" PRIx64 " bytes %s", flags, attr, hx);
	ubuf_make(d, &p, eb, rb, len, fault_pct);
	CHECK_RET(d, "set_attr return", e_set(d, flags, group, attr, &p.e),
		  ref_set_attr(d->ref, flags, group, attr, &p.r));
}

/* ---- value pickers ---------------------------------------------------------- */

static const uint16_t sch_ids[] = { 0x0001, 0x0002, 0x0003, 0xfe01, 0x0000 };

static uint32_t pick_isc(struct diff *d)
{
	return rnd(d, 8);
}

/* A subchannel id/nr of a queued I/O entry, or 0 when there is none. */
static uint32_t queued_schid(struct diff *d)
{
	unsigned start = rnd(d, 8);

	for (unsigned k = 0; k < 8; k++) {
		const struct ref_list *l = &d->ref->lists[(start + k) % 8];

		if (l->len) {
			const uint8_t *b = l->v[rnd(d, (uint32_t)l->len)].b;

			return (uint32_t)ref_be16(b + 8) << 16 | ref_be16(b + 10);
		}
	}
	return 0;
}

static int registered_adapter(struct diff *d)
{
	unsigned start = rnd(d, 64);

	for (unsigned k = 0; k < 64; k++)
		if (d->ref->adapters[(start + k) % 64].registered)
			return (int)((start + k) % 64);
	return -1;
}

static uint32_t pick_adapter_id(struct diff *d)
{
	int id = registered_adapter(d);

	if (id >= 0 && chance(d, 60))
		return (uint32_t)id;
	if (chance(d, 75))
		return rnd(d, 8);
	if (chance(d, 70))
		return rnd(d, 64);
	return 64 + rnd(d, 8);
}

static uint32_t pick_vcpu(struct diff *d)
{
	if (chance(d, 2))
		return chance(d, 50) ? d->nr_vcpus : d->nr_vcpus + rnd(d, 1000);
	return rnd(d, d->nr_vcpus);
}

/* ---- records -------------------------------------------------------------- */

static void gen_io(struct diff *d, uint8_t *b, bool ai)
{
	uint16_t id = sch_ids[rnd(d, sizeof(sch_ids) / sizeof(sch_ids[0]))];
	uint16_t nr = (uint16_t)rnd(d, 6);
	uint32_t isc = pick_isc(d);
	uint64_t type;
	uint32_t word;

	if (ai) {
		type = chance(d, 80) ? GISA_INT_IO_AI_MASK
				     : (GISA_INT_IO_AI_MASK | rnd(d, 0x10000));
		word = chance(d, 85) ? (GISA_IO_WORD_AI | isc << 27) : rnd32(d);
		if (chance(d, 80)) {
			id = 0;
			nr = 0;
		}
	} else {
		switch (rnd(d, 10)) {
		case 7:
			type = (rnd32(d) % 0xfffe0000u) & ~GISA_INT_IO_AI_MASK;
			break;
		case 8:
			type = GISA_INT_IO_MAX;
			break;
		case 9:
			type = GISA_INT_IO(1, id >> 8, (id >> 1) & 3, nr);
			break;
		default:
			type = GISA_INT_IO(0, id >> 8, (id >> 1) & 3, nr);
			break;
		}
		switch (rnd(d, 10)) {
		case 7:
			word = isc << 27 | (rnd32(d) & ~(GISA_IO_WORD_ISC_MASK | GISA_IO_WORD_AI));
			break;
		case 8:
			word = GISA_IO_WORD_AI | isc << 27;
			break;
		case 9:
			word = rnd32(d);
			break;
		default:
			word = isc << 27;
			break;
		}
	}
	ref_put64(b, type);
	ref_put16(b + 8, id);
	ref_put16(b + 10, nr);
	ref_put32(b + 12, chance(d, 50) ? rnd32(d) : rnd(d, 16));
	ref_put32(b + 16, word);
}

static uint32_t pick_srv_param(struct diff *d)
{
	static const uint32_t vals[] = {
		0x1000, 0x2000, 0x1, 0x2, 0x3, 0x4, 0, 0x1001, 0x12345677, 0x2003,
	};

	if (chance(d, 20))
		return rnd32(d) & (chance(d, 50) ? ~7u : ~0u);
	return vals[rnd(d, sizeof(vals) / sizeof(vals[0]))];
}

static void gen_record(struct diff *d, uint8_t *b)
{
	static const uint64_t bad_types[] = {
		GISA_INT_PFAULT_INIT, GISA_INT_SIGP_STOP, GISA_INT_PROGRAM,
		GISA_INT_SIGP_SET_PREFIX, GISA_INT_RESTART, GISA_INT_CLOCK_COMP,
		GISA_INT_CPU_TIMER, GISA_INT_EMERGENCY, GISA_INT_EXTERNAL_CALL,
		0x100000000ull, 0xffffffffffffffffull, 0xfffe0006u, 0x0000010004000000ull,
	};
	uint32_t k = rnd(d, 100);

	/* garbage everywhere first: bytes outside the union member are ignored */
	for (unsigned i = 0; i < GISA_IRQ_SIZE; i += 8)
		ref_put64(b + i, rnd64(d));
	if (k < 40 || k >= 92) {
		gen_io(d, b, false);
	} else if (k < 55) {
		gen_io(d, b, true);
	} else if (k < 63) {
		ref_put64(b, GISA_INT_SERVICE);
		ref_put32(b + 8, pick_srv_param(d));
	} else if (k < 73) {
		ref_put64(b, GISA_INT_VIRTIO);
	} else if (k < 81) {
		ref_put64(b, GISA_INT_PFAULT_DONE);
	} else if (k < 88) {
		static const uint64_t cr14s[] = { 0x10000000, ~0ull, 0, 0x20000000 };

		ref_put64(b, GISA_INT_MCHK);
		ref_put64(b + 8, chance(d, 20) ? rnd64(d) : cr14s[rnd(d, 4)]);
		ref_put64(b + 16, chance(d, 30) ? rnd64(d) : 1ull << rnd(d, 64));
	} else {
		ref_put64(b, bad_types[rnd(d, sizeof(bad_types) / sizeof(bad_types[0]))]);
	}
}

static size_t fmt_records(char *out, size_t size, const uint8_t *b, size_t n)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; i < n && o + 60 < size; i++) {
		char hx[64];

		hexdump(hx, sizeof(hx), b + i * GISA_IRQ_SIZE, 24);
		o += (size_t)snprintf(out + o, size - o, " [%s..]", hx);
	}
	return o;
}

/* ---- operations ------------------------------------------------------------ */

static void op_enqueue(struct diff *d)
{
	uint8_t eb[GISA_IRQ_SIZE * 9], rb[GISA_IRQ_SIZE * 9];
	uint32_t n = 1 + rnd(d, d->phase == PHASE_GROW ? 8 : 4);
	size_t len = (size_t)n * GISA_IRQ_SIZE;
	uint64_t attr = len;
	uint32_t v = rnd(d, 100);
	struct bufpair p;
	char recs[900];

	for (uint32_t i = 0; i < n; i++)
		gen_record(d, eb + i * GISA_IRQ_SIZE);
	memcpy(rb, eb, len);
	if (v < 3)
		attr = 0;
	else if (v < 6)
		attr = len + 1 + rnd(d, 71);
	else if (v < 7)
		attr = 466034ull * GISA_IRQ_SIZE;
	else if (v < 8)
		attr = (uint64_t)rnd32(d) << 32 | len;
	else if (v < 9)
		attr = (uint64_t)rnd32(d) << 32 | 0xfffffff0u;    /* int -16: the loop quirk */
	else if (v < 10)
		attr = 0x80000000u | rnd32(d);
	else if (v < 12)
		attr = len - rnd(d, 2) * GISA_IRQ_SIZE;
	fmt_records(recs, sizeof(recs), eb, n);
	set_op(d, "ENQUEUE %u records%s attr 0x%" PRIx64, n, recs, attr);
	ubuf_make(d, &p, eb, rb, len, 8);
	CHECK_RET(d, "ENQUEUE return", e_set(d, some_flags(d), GISA_FLIC_ENQUEUE, attr, &p.e),
		  ref_set_attr(d->ref, 0, GISA_FLIC_ENQUEUE, attr, &p.r));
}

static void op_get(struct diff *d)
{
	size_t total = ref_nr_records(d->ref);
	size_t cmp = GISA_IRQ_SIZE * (total + 8);
	uint32_t v = rnd(d, 1000);
	uint64_t attr;
	struct bufpair p;
	int re, rr;

	if (v < 350)
		attr = GISA_IRQ_SIZE * 4096;
	else if (v < 650)
		attr = GISA_IRQ_SIZE * rnd(d, (uint32_t)total + 3);
	else if (v < 800)
		attr = 1 + rnd(d, (uint32_t)(GISA_IRQ_SIZE * (total + 2)));
	else if (v < 900)
		attr = GISA_IRQ_SIZE * total + rnd(d, GISA_IRQ_SIZE);
	else if (v < 930)
		attr = 0;
	else if (v < 950)
		attr = GISA_FLIC_MAX_BUFFER + 1;
	else if (v < 970)
		attr = 1ull << 32 | GISA_IRQ_SIZE;
	else if (v < 990)
		attr = rnd(d, GISA_IRQ_SIZE);
	else if (v < 993)
		attr = GISA_FLIC_MAX_BUFFER;
	else
		attr = GISA_FLIC_MAX_BUFFER + GISA_IRQ_SIZE;
	if (cmp > GETBUF)
		cmp = GETBUF;
	set_op(d, "GET_ALL_IRQS attr 0x%" PRIx64 " (%zu records pending)", attr, total);
	ubuf_make(d, &p, d->ebuf, d->rbuf, GETBUF, 6);
	if (p.e.data && p.e.len == GETBUF && !p.e.bad_len && chance(d, 8)) {
		/* a bad range where the records would go */
		p.e.bad_off = p.r.bad_off = rnd(d, (uint32_t)(GISA_IRQ_SIZE * (total + 1)));
		p.e.bad_len = p.r.bad_len = 1 + rnd(d, 16);
		add_op(d, " -> bad [%zu,+%zu)", p.e.bad_off, p.e.bad_len);
	}
	re = e_get(d, some_flags(d), GISA_FLIC_GET_ALL_IRQS, attr, &p.e);
	rr = ref_get_attr(d->ref, 0, GISA_FLIC_GET_ALL_IRQS, attr, &p.r);
	CHECK_RET(d, "GET_ALL_IRQS return", re, rr);
	/* after a copy fault the bytes that made it out are not specified */
	if (re != -EFAULT && memcmp(d->ebuf, d->rbuf, cmp)) {
		size_t i = 0;
		char he[160], hr[160];

		while (d->ebuf[i] == d->rbuf[i])
			i++;
		i -= i % GISA_IRQ_SIZE;
		hexdump(he, sizeof(he), d->ebuf + i, 32);
		hexdump(hr, sizeof(hr), d->rbuf + i, 32);
		diff_fail(d, "GET_ALL_IRQS bytes differ in record %zu\n    engine    %s...\n"
			  "    reference %s...", i / GISA_IRQ_SIZE, he, hr);
	}
	memset(d->ebuf, 0xaa, cmp);
	memset(d->rbuf, 0xaa, cmp);
}

static void op_clear_irqs(struct diff *d)
{
	set_op(d, "CLEAR_IRQS");
	set_both(d, some_flags(d), GISA_FLIC_CLEAR_IRQS, rnd(d, 3), NULL, 0, 0);
}

static void op_apf(struct diff *d)
{
	uint32_t g = chance(d, 50) ? GISA_FLIC_APF_ENABLE : GISA_FLIC_APF_DISABLE_WAIT;

	set_op(d, "APF group %u", g);
	set_both(d, some_flags(d), g, rnd32(d), NULL, 0, 0);
}

static void op_register(struct diff *d)
{
	uint8_t b[GISA_IO_ADAPTER_SIZE];
	uint32_t id;
	uint32_t v = rnd(d, 100);

	if (v < 60)
		id = rnd(d, 8);
	else if (v < 92)
		id = rnd(d, 64);
	else if (v < 96)
		id = 64 + rnd(d, 8);
	else
		id = chance(d, 50) ? 0xffffffffu : 0x80000000u | rnd(d, 64);
	ref_put32(b, id);
	v = rnd(d, 100);
	b[4] = (uint8_t)(v < 80 ? pick_isc(d) : v < 95 ? 8 + rnd(d, 8) : rnd(d, 256));
	b[5] = (uint8_t)(chance(d, 50) ? 0 : chance(d, 70) ? 1 : 1 + rnd(d, 255));
	b[6] = (uint8_t)(chance(d, 40) ? 0 : chance(d, 80) ? 1 : 1 + rnd(d, 255));
	b[7] = (uint8_t)(chance(d, 85) ? rnd(d, 2) : rnd(d, 256));
	set_op(d, "ADAPTER_REGISTER id %u", id);
	set_both(d, some_flags(d), GISA_FLIC_ADAPTER_REGISTER, rnd(d, 16), b, sizeof(b), 4);
}

static uint64_t pick_map_addr(struct diff *d)
{
	static const uint64_t addrs[] = {
		0x10000, 0x10008, 0x11000, 0x20000, 0xffff8, 0x12345,
	};
	uint32_t v = rnd(d, 100);

	if (v < 70)
		return addrs[rnd(d, sizeof(addrs) / sizeof(addrs[0]))];
	if (v < 80)
		return 0;
	if (v < 85)
		return 0x100000;
	if (v < 90)
		return 0x40000000;
	return rnd(d, 1u << 20);
}

static void op_modify(struct diff *d)
{
	uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];
	uint32_t id = pick_adapter_id(d);
	uint32_t v = rnd(d, 100);
	uint8_t type = (uint8_t)(v < 50 ? 1 : v < 70 ? 2 : v < 90 ? 3 : rnd(d, 256));

	ref_put32(b, id);
	b[4] = type;
	b[5] = (uint8_t)rnd(d, 3);
	ref_put16(b + 6, chance(d, 80) ? 0 : (uint16_t)rnd32(d));
	ref_put64(b + 8, pick_map_addr(d));
	if (type == 2 && chance(d, 2)) {
		/* enough MAPs on one adapter to reach the NEWEST limit of 256 */
		uint32_t n = 250 + rnd(d, 20);

		for (uint32_t i = 0; i < n; i++) {
			uint8_t eb[16], rb[16];
			struct gisa_ubuf eu = { .data = eb, .len = sizeof(eb) };
			struct ref_ubuf ru = { .data = rb, .len = sizeof(rb) };

			ref_put64(b + 8, 0x10000 + (uint64_t)rnd(d, 4) * 8);
			memcpy(eb, b, sizeof(b));
			memcpy(rb, b, sizeof(b));
			set_op(d, "ADAPTER_MODIFY MAP burst id %u, map %u of %u, addr 0x%" PRIx64,
			       id, i, n, ref_be64(b + 8));
			CHECK_RET(d, "MAP return", e_set(d, 0, GISA_FLIC_ADAPTER_MODIFY, 0, &eu),
				  ref_set_attr(d->ref, 0, GISA_FLIC_ADAPTER_MODIFY, 0, &ru));
		}
		return;
	}
	set_op(d, "ADAPTER_MODIFY id %u type %u mask %u addr 0x%" PRIx64, id, type, b[5],
	       ref_be64(b + 8));
	set_both(d, some_flags(d), GISA_FLIC_ADAPTER_MODIFY, rnd(d, 16), b, sizeof(b), 4);
}

static void op_clear_io(struct diff *d)
{
	uint8_t b[4];
	uint32_t schid, flags = chance(d, 4) ? 1 + rnd(d, 4) : 0;
	uint64_t attr = 4;
	uint32_t v = rnd(d, 100);

	if (v < 70)
		schid = queued_schid(d);
	else if (v < 80)
		schid = 0;
	else if (v < 90)
		schid = 0x00010005;
	else
		schid = rnd32(d);
	if (chance(d, 4))
		attr = chance(d, 50) ? 8 : rnd(d, 4);
	ref_put32(b, schid);
	set_op(d, "CLEAR_IO_IRQ schid 0x%08x", schid);
	/* the flags matter here, so they are passed to both sides */
	{
		uint8_t eb[4], rb[4];
		struct bufpair p;

		memcpy(eb, b, 4);
		memcpy(rb, b, 4);
		add_op(d, " flags 0x%x attr 0x%" PRIx64, flags, attr);
		ubuf_make(d, &p, eb, rb, 4, 4);
		CHECK_RET(d, "CLEAR_IO_IRQ return",
			  e_set(d, flags, GISA_FLIC_CLEAR_IO_IRQ, attr, &p.e),
			  ref_set_attr(d->ref, flags, GISA_FLIC_CLEAR_IO_IRQ, attr, &p.r));
	}
}

static void op_aism(struct diff *d)
{
	uint8_t b[GISA_AIS_REQ_SIZE];
	uint32_t v = rnd(d, 100);
	uint16_t mode = (uint16_t)(v < 45 ? 0 : v < 90 ? 1 : v < 95 ? 2 : 0x100);

	b[0] = (uint8_t)(chance(d, 90) ? pick_isc(d) : 8 + rnd(d, 248));
	b[1] = (uint8_t)rnd(d, 256);
	ref_put16(b + 2, mode);
	set_op(d, "AISM isc %u mode 0x%x", b[0], mode);
	set_both(d, some_flags(d), GISA_FLIC_AISM, rnd(d, 8), b, sizeof(b), 4);
}

static void op_airq(struct diff *d)
{
	uint64_t attr = pick_adapter_id(d);

	const struct ref_adapter *a = &d->ref->adapters[attr % 64];

	if (attr < 64 && a->registered && d->ref->has_ais && a->suppressible && a->isc < 8 &&
	    (d->ref->nimm & (0x80u >> a->isc)))
		d->suppressed++;
	if (chance(d, 5))
		attr |= (uint64_t)(1 + rnd(d, 0xffff)) << 32;
	set_op(d, "AIRQ_INJECT attr 0x%" PRIx64, attr);
	set_both(d, some_flags(d), GISA_FLIC_AIRQ_INJECT, attr, NULL, 0, 0);
}

static uint8_t pick_ais_mask(struct diff *d)
{
	if (chance(d, 40))
		return (uint8_t)rnd(d, 256);
	if (chance(d, 30))
		return 0;
	return (uint8_t)(0x80u >> pick_isc(d));
}

static void op_aism_all_set(struct diff *d)
{
	uint8_t b[2] = { pick_ais_mask(d), pick_ais_mask(d) };

	set_op(d, "AISM_ALL set simm 0x%02x nimm 0x%02x", b[0], b[1]);
	set_both(d, some_flags(d), GISA_FLIC_AISM_ALL, rnd(d, 4), b, sizeof(b), 4);
}

static void op_aism_all_get(struct diff *d)
{
	static const uint64_t attrs[] = { 2, 2, 2, 2, 3, 0, 1, 1ull << 40 };
	uint64_t attr = attrs[rnd(d, sizeof(attrs) / sizeof(attrs[0]))];
	uint8_t eb[4] = { 0xee, 0xee, 0xee, 0xee }, rb[4] = { 0xee, 0xee, 0xee, 0xee };
	struct bufpair p;
	int re, rr;

	set_op(d, "AISM_ALL get attr 0x%" PRIx64, attr);
	ubuf_make(d, &p, eb, rb, 2, 6);
	re = e_get(d, some_flags(d), GISA_FLIC_AISM_ALL, attr, &p.e);
	rr = ref_get_attr(d->ref, 0, GISA_FLIC_AISM_ALL, attr, &p.r);
	CHECK_RET(d, "AISM_ALL get return", re, rr);
	if (re != -EFAULT && memcmp(eb, rb, sizeof(eb)))
		diff_fail(d, "AISM_ALL bytes: engine %02x%02x%02x%02x reference %02x%02x%02x%02x",
			  eb[0], eb[1], eb[2], eb[3], rb[0], rb[1], rb[2], rb[3]);
}

static void op_bad_group(struct diff *d)
{
	static const uint32_t bad[] = { 0, 12, 13, 0x100, 0xffffffffu };
	uint8_t eb[8] = { 0 }, rb[8] = { 0 };
	struct gisa_ubuf eu = { .data = eb, .len = sizeof(eb) };
	struct ref_ubuf ru = { .data = rb, .len = sizeof(rb) };
	uint32_t g;

	switch (rnd(d, 4)) {
	case 0:
		g = bad[rnd(d, 5)];
		set_op(d, "set_attr group %u", g);
		CHECK_RET(d, "set_attr return", e_set(d, 0, g, 8, &eu),
			  ref_set_attr(d->ref, 0, g, 8, &ru));
		break;
	case 1:
		g = chance(d, 50) ? bad[rnd(d, 5)] : 2 + rnd(d, 9);
		set_op(d, "get_attr group %u", g);
		CHECK_RET(d, "get_attr return", e_get(d, 0, g, 8, &eu),
			  ref_get_attr(d->ref, 0, g, 8, &ru));
		break;
	case 2:
		set_op(d, "set_attr GET_ALL_IRQS");
		CHECK_RET(d, "set_attr return", e_set(d, 0, GISA_FLIC_GET_ALL_IRQS, 8, &eu),
			  ref_set_attr(d->ref, 0, GISA_FLIC_GET_ALL_IRQS, 8, &ru));
		break;
	default: {
		struct gisa_attr a = { .group = chance(d, 70) ? rnd(d, 14) : bad[rnd(d, 5)],
				       .attr = rnd64(d) };

		set_op(d, "has_attr group %u", a.group);
		CHECK_RET(d, "has_attr return", gisa_flic_has_attr(d->vm, &a),
			  ref_has_attr(d->ref, a.group));
		break;
	}
	}
	if (memcmp(eb, rb, sizeof(eb)))
		diff_fail(d, "buffer changed by an invalid attribute");
}

static void op_vm_interrupt(struct diff *d)
{
	static const uint32_t types[] = {
		GISA_INT_SERVICE, GISA_INT_VIRTIO, GISA_INT_PFAULT_DONE, GISA_INT_MCHK,
		GISA_INT_PFAULT_INIT, GISA_INT_PROGRAM, GISA_INT_EMERGENCY, 0xfffe0006u,
	};
	uint32_t type, parm;
	uint64_t parm64;
	uint32_t v = rnd(d, 100);

	if (v < 30) {
		uint8_t b[GISA_IRQ_SIZE];
		struct gisa_irq irq;
		char recs[120];

		gen_record(d, b);
		dec_irq(b, &irq);
		fmt_records(recs, sizeof(recs), b, 1);
		set_op(d, "vm_inject%s", recs);
		CHECK_RET(d, "vm_inject return", gisa_vm_inject(d->vm, &irq),
			  ref_vm_inject(d->ref, b));
		return;
	}
	if (v < 65) {
		uint32_t isc = pick_isc(d);
		bool ai = chance(d, 30);

		type = ai ? GISA_INT_IO_AI_MASK : GISA_INT_IO(0, 0, 0, rnd(d, 6));
		parm = (uint32_t)sch_ids[rnd(d, 5)] << 16 | rnd(d, 6);
		parm64 = (uint64_t)rnd32(d) << 32 | (ai ? GISA_IO_WORD_AI : 0) | isc << 27;
	} else {
		type = types[rnd(d, sizeof(types) / sizeof(types[0]))];
		parm = type == GISA_INT_SERVICE ? pick_srv_param(d) :
		       type == GISA_INT_MCHK ? (chance(d, 70) ? 0x10000000u : rnd32(d)) : rnd32(d);
		parm64 = chance(d, 50) ? rnd64(d) : rnd(d, 16);
	}
	set_op(d, "vm_interrupt type 0x%08x parm 0x%08x parm64 0x%016" PRIx64, type, parm, parm64);
	CHECK_RET(d, "vm_interrupt return", gisa_vm_interrupt(d->vm, type, parm, parm64),
		  ref_vm_interrupt(d->ref, type, parm, parm64));
}

/* ---- routes and guest memory --------------------------------------------- */

static void gen_route(struct diff *d, struct gisa_route_entry *e, uint32_t gsi)
{
	static const uint64_t ind_pages[] = { 0x10000, 0x11000, 0x12000 };
	uint64_t ind = ind_pages[rnd(d, 3)], sum = 0x20000;
	uint64_t ind_off;
	uint32_t sum_off;
	uint32_t v = rnd(d, 100);

	if (chance(d, 20))
		ind += chance(d, 50) ? 8 * rnd(d, 8) : rnd(d, 4096);
	if (chance(d, 20))
		sum += chance(d, 50) ? 8 * rnd(d, 4) : rnd(d, 4096);
	ind_off = v < 75 ? rnd(d, 128) : v < 95 ? rnd(d, 32768) : rnd64(d) >> 4;
	sum_off = chance(d, 85) ? rnd(d, 16) : rnd(d, 40000);
	*e = t_route(gsi, ind, ind_off, sum, sum_off, pick_adapter_id(d));
}

static void op_routes_set(struct diff *d)
{
	struct gisa_route_entry *e;
	struct ref_route *r;
	uint32_t n = rnd(d, 6), flags = 0;
	uint32_t gsis[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	uint32_t defect = chance(d, 20) ? 1 + rnd(d, 10) : 0;

	if (defect == 10 && !chance(d, 5))
		defect = 0;
	if (defect == 10)
		n = 4097;
	else if (defect && n == 0)
		n = 1;
	e = calloc(n, sizeof(*e));
	r = calloc(n, sizeof(*r));
	assert_non_null(e);
	assert_non_null(r);
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t k = rnd(d, 8), t = gsis[i];

		gsis[i] = gsis[k];
		gsis[k] = t;
	}
	for (uint32_t i = 0; i < n; i++)
		gen_route(d, &e[i], n > 8 ? 8 + i : gsis[i]);
	if (defect && defect < 10) {
		struct gisa_route_entry *x = &e[rnd(d, n)];

		switch (defect) {
		case 1:
			flags = 1 + rnd(d, 4);
			break;
		case 2:
			x->flags = 1;
			break;
		case 3:
			x->gsi = chance(d, 50) ? 4096 : 0xffffffffu;
			break;
		case 4:
			if (n > 1)
				e[0].gsi = e[n - 1].gsi;
			else
				x->type = GISA_IRQ_ROUTING_MSI;
			break;
		case 5:
			x->type = chance(d, 50) ? GISA_IRQ_ROUTING_MSI : GISA_IRQ_ROUTING_IRQCHIP;
			break;
		case 6:
			x->adapter.ind_addr = chance(d, 50) ? 0x100000 : 0x40000000;
			break;
		case 7:
			x->adapter.summary_addr = chance(d, 50) ? 0x100008 : 0x40000000;
			break;
		case 8:
			/* past the page (NEWEST rejects; CLASSIC may even leave memory) */
			x->adapter.ind_addr = chance(d, 50) ? 0xfff00 : 0x10ff8;
			x->adapter.ind_offset = 2048 + rnd(d, 4096);
			break;
		default:
			x->adapter.summary_addr = chance(d, 50) ? 0xffff0 : 0x20ffc;
			x->adapter.summary_offset = 64 + rnd(d, 512);
			break;
		}
	}
	set_op(d, "routes_set n %u flags 0x%x defect %u:", n, flags, defect);
	for (uint32_t i = 0; i < n; i++) {
		r[i].gsi = e[i].gsi;
		r[i].type = e[i].type;
		r[i].flags = e[i].flags;
		r[i].ind_addr = e[i].adapter.ind_addr;
		r[i].summary_addr = e[i].adapter.summary_addr;
		r[i].ind_offset = e[i].adapter.ind_offset;
		r[i].summary_offset = e[i].adapter.summary_offset;
		r[i].adapter_id = e[i].adapter.adapter_id;
		if (i < 8)
			add_op(d, " {gsi %u type %u fl %u ind 0x%" PRIx64 "+%" PRIu64
			       " sum 0x%" PRIx64 "+%u ad %u}", r[i].gsi, r[i].type, r[i].flags,
			       r[i].ind_addr, r[i].ind_offset, r[i].summary_addr,
			       r[i].summary_offset, r[i].adapter_id);
	}
	CHECK_RET(d, "routes_set return", gisa_routes_set(d->vm, e, n, flags),
		  ref_routes_set(d->ref, r, n, flags));
	free(e);
	free(r);
}

static void op_trigger(struct diff *d)
{
	uint32_t gsi;
	int level = chance(d, 90) ? (chance(d, 90) ? 1 : 2) : 0;

	if (d->ref->nr_routes && chance(d, 90))
		gsi = d->ref->routes[rnd(d, (uint32_t)d->ref->nr_routes)].gsi;
	else
		gsi = chance(d, 80) ? rnd(d, 10) : 4096;
	set_op(d, "route_trigger gsi %u level %d", gsi, level);
	CHECK_RET(d, "route_trigger return", gisa_route_trigger(d->vm, gsi, level),
		  ref_route_trigger(d->ref, gsi, level));
}

static void op_mem_write(struct diff *d)
{
	uint8_t buf[8];
	uint64_t gpa;
	size_t len = 1;
	uint32_t v = rnd(d, 100);

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = chance(d, 50) ? 0 : (uint8_t)rnd(d, 256);
	if (!d->ref->nr_routes || v < 8) {
		static const uint64_t odd[] = {
			0xfffff, 0x100000, 1ull << 40, 0xffffffffffffffffull,
		};

		if (chance(d, 50)) {
			gpa = rnd(d, 1u << 20);
			len = 1 + rnd(d, 8);
		} else {
			gpa = odd[rnd(d, 4)];
			len = 1 + rnd(d, 2);
		}
	} else {
		const struct ref_route *r = &d->ref->routes[rnd(d, (uint32_t)d->ref->nr_routes)];
		const struct ref_adapter *a = r->adapter_id < 64 ? &d->ref->adapters[r->adapter_id]
								 : NULL;
		bool swap = a && a->registered ? a->swap : chance(d, 50);
		uint8_t m;

		memset(buf, 0, sizeof(buf));
		if (v < 60) {
			gpa = ref_bit_byte(r->summary_addr, r->summary_offset, swap, &m);
		} else if (v < 70) {
			gpa = ref_bit_byte(r->summary_addr, r->summary_offset, swap, &m);
			buf[0] = (uint8_t)rnd(d, 256);
		} else if (v < 85) {
			gpa = ref_bit_byte(r->ind_addr, r->ind_offset, swap, &m);
		} else if (v < 93) {
			gpa = ref_bit_byte(r->summary_addr, r->summary_offset, swap, &m) & ~7ull;
			len = 8;
		} else {
			gpa = (r->ind_addr & ~0xfffull) + rnd(d, 4096);
			buf[0] = (uint8_t)rnd(d, 256);
		}
	}
	set_op(d, "mem_write gpa 0x%" PRIx64 " len %zu first 0x%02x", gpa, len, buf[0]);
	CHECK_RET(d, "mem_write return", gisa_mem_write(d->vm, gpa, buf, len),
		  ref_mem_write(d->ref, gpa, buf, len));
}

/* ---- vcpus ---------------------------------------------------------------- */

static void op_vcpu_set_idx(struct diff *d, uint32_t idx)
{
	static const uint64_t cr0s[] = { 0x6e00, 0x6e00, 0x200, 0, 0x4c00 };
	static const uint64_t cr14s[] = { 0x10000000, 0x10000000, ~0ull, 0 };
	struct gisa_vcpu_state st;
	uint64_t psw = 0;
	uint32_t v;
	int run;

	if (chance(d, 80))
		psw |= GISA_PSW_MASK_IO;
	if (chance(d, 80))
		psw |= GISA_PSW_MASK_EXT;
	if (chance(d, 80))
		psw |= GISA_PSW_MASK_MCHECK;
	if (chance(d, 10))
		psw |= rnd64(d) & ~(GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK);
	memset(&st, 0, sizeof(st));
	st.psw_mask = psw;
	st.cr0 = chance(d, 20) ? rnd64(d) : cr0s[rnd(d, 5)];
	v = rnd(d, 100);
	st.cr6 = v < 40 ? 0xff000000ull : v < 85 ? (uint64_t)rnd(d, 256) << 24 : rnd64(d);
	st.cr14 = chance(d, 15) ? rnd64(d) : cr14s[rnd(d, 4)];
	v = rnd(d, 100);
	run = v < 60 ? GISA_VCPU_RUNNING : v < 86 ? GISA_VCPU_IDLE : v < 98 ? GISA_VCPU_STOPPED
							       : 3 + (int)rnd(d, 100);
	st.run = (enum gisa_run_state)run;
	st.kicked = chance(d, 50);
	set_op(d, "vcpu_set %u psw 0x%016" PRIx64 " cr0 0x%" PRIx64 " cr6 0x%" PRIx64
	       " cr14 0x%" PRIx64 " run %d", idx, st.psw_mask, st.cr0, st.cr6, st.cr14, run);
	CHECK_RET(d, "vcpu_set return", gisa_vcpu_set(d->vm, idx, &st),
		  ref_vcpu_set(d->ref, idx, st.psw_mask, st.cr0, st.cr6, st.cr14, run));
}

static void op_vcpu_set(struct diff *d)
{
	op_vcpu_set_idx(d, pick_vcpu(d));
}

static void op_vcpu_run(struct diff *d)
{
	uint32_t idx = pick_vcpu(d);

	set_op(d, "vcpu_run %u", idx);
	CHECK_RET(d, "vcpu_run return", gisa_vcpu_run(d->vm, idx), ref_vcpu_run(d->ref, idx));
}

static void op_vcpu_wait(struct diff *d)
{
	uint32_t idx = pick_vcpu(d);

	set_op(d, "vcpu_wait %u", idx);
	CHECK_RET(d, "vcpu_wait return", gisa_vcpu_wait(d->vm, idx), ref_vcpu_wait(d->ref, idx));
}

static void op_deliverable(struct diff *d)
{
	uint32_t idx = pick_vcpu(d), eb = 0xdeadbeef, rb = 0xdeadbeef;

	set_op(d, "vcpu_deliverable %u", idx);
	CHECK_RET(d, "vcpu_deliverable return", gisa_vcpu_deliverable(d->vm, idx, &eb),
		  ref_vcpu_deliverable(d->ref, idx, &rb));
	CHECK(d, "deliverable bits", eb, rb);
}

static void op_deliver(struct diff *d)
{
	uint32_t idx = pick_vcpu(d);
	struct gisa_delivery e;
	struct ref_delivery r;
	int re, rr;

	memset(&e, 0, sizeof(e));
	set_op(d, "vcpu_deliver %u", idx);
	re = gisa_vcpu_deliver(d->vm, idx, &e);
	rr = ref_vcpu_deliver(d->ref, idx, &r);
	CHECK_RET(d, "vcpu_deliver return", re, rr);
	if (re == 1)
		d->deliveries[r.irq_bit & 31]++;
	if (re != 1)
		return;
	CHECK(d, "delivery kind", e.kind, r.kind);
	CHECK(d, "delivery irq_bit", e.irq_bit, r.irq_bit);
	CHECK(d, "delivery type", e.type, r.type);
	switch (r.kind) {
	case REF_DELIVER_IO:
		CHECK(d, "delivery io.subchannel_id", e.u.io.subchannel_id, r.id);
		CHECK(d, "delivery io.subchannel_nr", e.u.io.subchannel_nr, r.nr);
		CHECK(d, "delivery io.io_int_parm", e.u.io.io_int_parm, r.parm);
		CHECK(d, "delivery io.io_int_word", e.u.io.io_int_word, r.word);
		break;
	case REF_DELIVER_EXT:
		CHECK(d, "delivery ext.code", e.u.ext.code, r.code);
		CHECK(d, "delivery ext.cpu_addr", e.u.ext.cpu_addr, r.cpu_addr);
		CHECK(d, "delivery ext.param", e.u.ext.param, r.param);
		CHECK(d, "delivery ext.param64", e.u.ext.param64, r.param64);
		break;
	default:
		CHECK(d, "delivery mchk.mcic", e.u.mchk.mcic, r.mcic);
		CHECK(d, "delivery mchk.cr14", e.u.mchk.cr14, r.cr14);
		break;
	}
}

static void check_io_result(struct diff *d, const char *what, int re, int rr,
			    const struct gisa_irq *e, const struct ref_rec *r)
{
	CHECK_RET(d, what, re, rr);
	if (re == 1)
		check_rec(d, what, e, r);
}

static void op_tpi(struct diff *d)
{
	uint32_t idx = pick_vcpu(d);
	struct gisa_irq e;
	struct ref_rec r;
	int re, rr;

	memset(&e, 0, sizeof(e));
	set_op(d, "vcpu_tpi %u", idx);
	re = gisa_vcpu_tpi(d->vm, idx, &e);
	rr = ref_vcpu_tpi(d->ref, idx, &r);
	check_io_result(d, "vcpu_tpi", re, rr, &e, &r);
}

static void op_tsch(struct diff *d)
{
	uint32_t idx = pick_vcpu(d);
	uint32_t v = rnd(d, 100);
	uint64_t gpr1;
	struct gisa_irq e;
	struct ref_rec r;
	int re, rr;

	if (v < 10)
		gpr1 = 0;
	else if (v < 60)
		gpr1 = queued_schid(d);
	else if (v < 75)
		gpr1 = rnd32(d);
	else if (v < 85)
		gpr1 = 1ull << 32;
	else
		gpr1 = (uint64_t)(1 + rnd(d, 0xffff)) << 32 | queued_schid(d);
	memset(&e, 0, sizeof(e));
	set_op(d, "vcpu_tsch %u gpr1 0x%" PRIx64, idx, gpr1);
	re = gisa_vcpu_tsch(d->vm, idx, gpr1, &e);
	rr = ref_vcpu_tsch(d->ref, idx, gpr1, &r);
	check_io_result(d, "vcpu_tsch", re, rr, &e, &r);
}

/* ---- GISA / GIB --------------------------------------------------------------- */

static void op_gisc(struct diff *d)
{
	uint32_t gisc = chance(d, 90) ? pick_isc(d) : chance(d, 50) ? 8 + rnd(d, 4) : 0xffffffffu;

	if (chance(d, 55)) {
		set_op(d, "gisc_register %u", gisc);
		CHECK_RET(d, "gisc_register return", gisa_gisc_register(d->vm, gisc),
			  ref_gisc_register(d->ref, gisc));
	} else {
		set_op(d, "gisc_unregister %u", gisc);
		CHECK_RET(d, "gisc_unregister return", gisa_gisc_unregister(d->vm, gisc),
			  ref_gisc_unregister(d->ref, gisc));
	}
}

static void op_hw_airq(struct diff *d)
{
	uint32_t isc = chance(d, 95) ? pick_isc(d) : 8 + rnd(d, 100);
	bool in_sie = chance(d, 30);

	set_op(d, "gisa_hw_airq isc %u in_sie %d", isc, in_sie);
	CHECK_RET(d, "hw_airq return", gisa_gisa_hw_airq(d->vm, isc, in_sie),
		  ref_hw_airq(d->ref, isc, in_sie));
}

static void op_process_alerts(struct diff *d)
{
	set_op(d, "host_process_alerts");
	CHECK_RET(d, "process_alerts return", gisa_host_process_alerts(d->host),
		  ref_process_alerts(d->ref));
}

static void op_timer(struct diff *d)
{
	set_op(d, "gisa_timer_fire");
	CHECK_RET(d, "timer_fire return", gisa_gisa_timer_fire(d->vm), ref_timer_fire(d->ref));
}

static void compare_state(struct diff *d);

/*
 * With the I/O lists full: a suppressible adapter in SINGLE mode, injected
 * directly and through a route.  Without a GISA both fail with -EBUSY and
 * must leave nimm alone (spec §6.2, vectors 60 and 71).
 */
static void limit_airq(struct diff *d)
{
	uint8_t b[GISA_AIS_REQ_SIZE] = { 0 };
	int id = -1;

	for (unsigned i = 0; i < 64; i++) {
		const struct ref_adapter *a = &d->ref->adapters[i];

		if (a->registered && (id < 0 || a->suppressible))
			id = (int)i;
	}
	if (id < 0)
		return;
	b[0] = (uint8_t)(d->ref->adapters[id].isc & 7);
	ref_put16(b + 2, GISA_AIS_MODE_SINGLE);
	set_op(d, "LIMIT: AISM isc %u SINGLE", b[0]);
	set_both(d, 0, GISA_FLIC_AISM, 0, b, sizeof(b), 0);
	compare_state(d);
	set_op(d, "LIMIT: AIRQ_INJECT %d", id);
	set_both(d, 0, GISA_FLIC_AIRQ_INJECT, (uint64_t)id, NULL, 0, 0);
	compare_state(d);
	for (size_t i = 0; i < d->ref->nr_routes; i++) {
		uint32_t gsi = d->ref->routes[i].gsi;

		if (d->ref->routes[i].adapter_id != (uint32_t)id)
			continue;
		set_op(d, "LIMIT: route_trigger gsi %u", gsi);
		CHECK_RET(d, "route_trigger return", gisa_route_trigger(d->vm, gsi, 1),
			  ref_route_trigger(d->ref, gsi, 1));
		compare_state(d);
	}
}

/*
 * Once per VM pair: fill one queue past its limit in a single ENQUEUE (the
 * record at the limit fails with -EBUSY, spec §4.8), then try the paths
 * that meet a full queue: adapter injection, a route, a delivery, one more
 * record.  The next step's forced CLEAR_IRQS empties it again.
 */
static void op_limits(struct diff *d)
{
	static const char *const names[3] = { "I/O", "VIRTIO", "PFAULT_DONE" };
	static const uint32_t limits[3] = {
		GISA_MAX_FLOAT_IRQS, GISA_MAX_VIRTIO_IRQS, GISA_MAX_PFAULT_IRQS,
	};
	uint32_t kind = chance(d, 50) ? 0 : 1 + rnd(d, 2);
	size_t have = 0, n, len;
	uint8_t *buf;
	struct gisa_ubuf eu;
	struct ref_ubuf ru;

	if (kind == 0)
		for (unsigned i = 0; i < 8; i++)
			have += d->ref->lists[i].len;
	else
		have = d->ref->lists[kind == 1 ? 9 : 8].len;
	n = limits[kind] - have + 2 + rnd(d, 2);
	len = n * GISA_IRQ_SIZE;
	buf = malloc(len);
	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		uint8_t *b = buf + i * GISA_IRQ_SIZE;

		memset(b, 0, GISA_IRQ_SIZE);
		if (kind == 0) {
			/* adapter records only at the tail: with a GISA they do not count */
			bool tail = i + 4 > n;

			gen_io(d, b, tail && chance(d, 50));
			if (!tail)
				ref_put64(b, GISA_INT_IO(0, 0, 0, i & 0xffff));
		} else {
			ref_put64(b, kind == 1 ? GISA_INT_VIRTIO : GISA_INT_PFAULT_DONE);
			ref_put32(b + 8, rnd32(d));
			ref_put64(b + 16, rnd64(d));
		}
	}
	d->limit_fills[kind]++;
	set_op(d, "LIMIT: ENQUEUE %zu %s records (%zu queued before)", n, names[kind], have);
	eu = (struct gisa_ubuf){ .data = buf, .len = len };
	ru = (struct ref_ubuf){ .data = buf, .len = len };
	CHECK_RET(d, "ENQUEUE return", e_set(d, 0, GISA_FLIC_ENQUEUE, len, &eu),
		  ref_set_attr(d->ref, 0, GISA_FLIC_ENQUEUE, len, &ru));
	free(buf);
	if (d->ret == -EBUSY)
		d->limit_busy++;
	/* state after every part, so that a mismatch names the right one */
	compare_state(d);
	if (kind == 0)
		limit_airq(d);
	op_airq(d);
	compare_state(d);
	op_trigger(d);
	compare_state(d);
	op_deliver(d);
	compare_state(d);
	op_vm_interrupt(d);
	compare_state(d);
	op_enqueue(d);
}

/* ---- the full state comparison ----------------------------------------------- */

static void compare_lists(struct diff *d, const struct gisa_state *st)
{
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		const struct ref_list *rl = &d->ref->lists[l];
		size_t n;
		char what[64];

		snprintf(what, sizeof(what), "state.list_len[%u]", l);
		CHECK(d, what, st->list_len[l], rl->len);
		n = gisa_state_list_copy(d->vm, l, d->lst, LSTMAX);
		snprintf(what, sizeof(what), "list_copy(%u) count", l);
		CHECK(d, what, n, rl->len < LSTMAX ? rl->len : LSTMAX);
		for (size_t k = 0; k < n; k++) {
			snprintf(what, sizeof(what), "list %u entry %zu", l, k);
			check_rec(d, what, &d->lst[k], &rl->v[k]);
		}
	}
}

static void compare_adapters(struct diff *d, const struct gisa_state *st)
{
	uint64_t mask = 0;

	for (uint32_t id = 0; id < 64; id++) {
		const struct ref_adapter *r = &d->ref->adapters[id];
		struct gisa_state_adapter a;
		int ret = gisa_state_adapter(d->vm, id, &a);
		char what[64];

		snprintf(what, sizeof(what), "state_adapter(%u) return", id);
		CHECK(d, what, ret, r->registered ? 0 : -ENOENT);
		if (!r->registered)
			continue;
		mask |= 1ull << id;
#define ACHECK(field, val) do {                                                   \
		snprintf(what, sizeof(what), "adapter %u " #field, id);         \
		CHECK(d, what, a.field, val);                                    \
	} while (0)
		ACHECK(id, id);
		ACHECK(isc, r->isc);
		ACHECK(maskable, r->maskable);
		ACHECK(masked, r->masked);
		ACHECK(swap, r->swap);
		ACHECK(suppressible, r->suppressible);
		ACHECK(nr_maps, r->nr_maps);
#undef ACHECK
		if (r->nr_maps) {
			uint64_t maps[REF_MAX_MAPS];
			size_t n = gisa_state_adapter_maps(d->vm, id, maps, REF_MAX_MAPS);

			snprintf(what, sizeof(what), "adapter %u map count", id);
			CHECK(d, what, n, r->nr_maps);
			for (size_t k = 0; k < n; k++) {
				snprintf(what, sizeof(what), "adapter %u map %zu", id, k);
				CHECK(d, what, maps[k], r->maps[k]);
			}
		}
	}
	CHECK(d, "state.adapter_mask", st->adapter_mask, mask);
}

static void compare_routes(struct diff *d, const struct gisa_state *st)
{
	uint64_t epages[64], rpages[64];
	size_t ne, nr;

	CHECK(d, "state.nr_routes", st->nr_routes, d->ref->nr_routes);
	for (size_t i = 0; i < d->ref->nr_routes; i++) {
		const struct ref_route *r = &d->ref->routes[i];
		struct gisa_route_entry e;
		char what[64];

		snprintf(what, sizeof(what), "state_route(%zu) return", i);
		CHECK(d, what, gisa_state_route(d->vm, i, &e), 0);
#define RCHECK(field, val) do {                                                    \
		snprintf(what, sizeof(what), "route %zu " #field, i);            \
		CHECK(d, what, e.field, val);                                     \
	} while (0)
		RCHECK(gsi, r->gsi);
		RCHECK(type, r->type);
		RCHECK(flags, r->flags);
		RCHECK(adapter.ind_addr, r->ind_addr);
		RCHECK(adapter.summary_addr, r->summary_addr);
		RCHECK(adapter.ind_offset, r->ind_offset);
		RCHECK(adapter.summary_offset, r->summary_offset);
		RCHECK(adapter.adapter_id, r->adapter_id);
#undef RCHECK
	}
	ne = gisa_state_route_pages(d->vm, epages, 64);
	nr = ref_route_pages(d->ref, rpages, 64);
	CHECK(d, "route page count", ne, nr);
	for (size_t i = 0; i < ne && i < 64; i++) {
		uint8_t page[GISA_PAGE_SIZE];
		char what[64];

		snprintf(what, sizeof(what), "route page %zu", i);
		CHECK(d, what, epages[i], rpages[i]);
		CHECK(d, "mem_read return", gisa_mem_read(d->vm, epages[i], page, sizeof(page)), 0);
		if (memcmp(page, d->ref->mem + rpages[i], sizeof(page))) {
			size_t k = 0;

			while (page[k] == d->ref->mem[rpages[i] + k])
				k++;
			diff_fail(d, "guest byte 0x%" PRIx64 ": engine 0x%02x reference 0x%02x",
				  rpages[i] + k, page[k], d->ref->mem[rpages[i] + k]);
		}
	}
}

static void compare_vcpus(struct diff *d)
{
	struct gisa_vcpu_state vs;

	for (uint32_t i = 0; i < d->nr_vcpus; i++) {
		const struct ref_vcpu *r = &d->ref->vcpus[i];
		char what[64];

		CHECK(d, "vcpu_get return", gisa_vcpu_get(d->vm, i, &vs), 0);
#define VCHECK(field, val) do {                                                    \
		snprintf(what, sizeof(what), "vcpu %u " #field, i);              \
		CHECK(d, what, vs.field, val);                                    \
	} while (0)
		VCHECK(psw_mask, r->psw);
		VCHECK(cr0, r->cr0);
		VCHECK(cr6, r->cr6);
		VCHECK(cr14, r->cr14);
		VCHECK(run, r->run);
		VCHECK(kicked, r->kicked);
#undef VCHECK
	}
	CHECK(d, "vcpu_get(nr_vcpus) return", gisa_vcpu_get(d->vm, d->nr_vcpus, &vs), -ENOENT);
}

/*
 * The engine keeps the newest GISA_EVENT_RING_SIZE events and counts the
 * older ones as dropped; the reference logs them all, so only its tail is
 * comparable after a step that produced more than a ring's worth.
 */
static void compare_events(struct diff *d)
{
	static struct gisa_event ev[GISA_EVENT_RING_SIZE + 1];
	size_t n = gisa_vm_events_read(d->vm, ev, GISA_EVENT_RING_SIZE + 1);
	struct ref_vm *r = d->ref;
	size_t skip = 0;

	if (r->nr_events > GISA_EVENT_RING_SIZE)
		skip = r->nr_events - GISA_EVENT_RING_SIZE;
	d->ev_seq += skip;
	d->ev_dropped += skip;
	CHECK(d, "event count", n, r->nr_events - skip);
	for (size_t i = 0; i < n; i++) {
		const struct ref_event *re = &r->events[skip + i];
		char what[64];

		snprintf(what, sizeof(what), "event %zu seq", i);
		CHECK(d, what, ev[i].seq, ++d->ev_seq);
		snprintf(what, sizeof(what), "event %zu kind", i);
		CHECK(d, what, ev[i].kind, re->kind);
		snprintf(what, sizeof(what), "event %zu vcpu", i);
		CHECK(d, what, ev[i].vcpu, re->vcpu);
		snprintf(what, sizeof(what), "event %zu flag", i);
		CHECK(d, what, ev[i].flag, re->flag);
		d->events[re->kind % 3][re->flag & 3]++;
	}
	r->nr_events = 0;
	CHECK(d, "events dropped", gisa_vm_events_dropped(d->vm), d->ev_dropped);
}

static void compare_state(struct diff *d)
{
	const struct ref_vm *r = d->ref;
	struct gisa_host_info hi;
	struct gisa_state st;

	/*
	 * The engine's own model invariants too: every step while the pool is
	 * small, every 1024th once a limit fill has grown it (the check walks
	 * the whole pool).
	 */
	if (d->vm->pool.cap <= 4096 || d->step % 1024 == 0)
		CHECK(d, "engine invariants (lib/engine/check.c code)",
		      vm_check_invariants(d->vm), 0);

	gisa_state_read(d->vm, &st);
	CHECK(d, "state.profile", st.profile, d->profile);
	CHECK(d, "state.caps", st.caps, d->caps);
	CHECK(d, "state.nr_vcpus", st.nr_vcpus, d->nr_vcpus);
	CHECK(d, "state.abi_order", st.abi_order, GISA_BE);
	CHECK(d, "state.flic_present", st.flic_present, true);
	CHECK(d, "state.nr_memslots", st.nr_memslots, 1);
	CHECK(d, "state.apf_enabled", st.apf_enabled, r->apf);
	CHECK(d, "state.pending_irqs", st.pending_irqs, r->pending);
	CHECK(d, "state.srv_ext_params", st.srv_ext_params, r->srv);
	CHECK(d, "state.mchk_cr14", st.mchk_cr14, r->mchk_cr14);
	CHECK(d, "state.mchk_mcic", st.mchk_mcic, r->mchk_mcic);
	CHECK(d, "state.simm", st.simm, r->simm);
	CHECK(d, "state.nimm", st.nimm, r->nimm);
	CHECK(d, "state.kick_cursor", st.kick_cursor, r->kick_cursor);
	CHECK(d, "state.gisa.present", st.gisa.present, r->has_gisa);
	if (r->has_gisa) {
		CHECK(d, "gisa.ipm", st.gisa.ipm, r->ipm);
		CHECK(d, "gisa.iam", st.gisa.iam, r->iam);
		CHECK(d, "gisa.alert_mask", st.gisa.alert_mask, r->alert_mask);
		for (unsigned i = 0; i < 8; i++) {
			char what[64];

			snprintf(what, sizeof(what), "gisa.refcount[%u]", i);
			CHECK(d, what, st.gisa.refcount[i], r->refcount[i]);
		}
		CHECK(d, "gisa.on_alert_list", st.gisa.on_alert_list, r->on_alert_list);
		CHECK(d, "gisa.timer_armed", st.gisa.timer_armed, r->timer_armed);
		if (r->timer_armed)
			CHECK(d, "gisa.timer_delay_ns", st.gisa.timer_delay_ns, r->timer_delay_ns);
	}
	gisa_host_info(d->host, &hi);
	CHECK(d, "host.nisc", hi.nisc, GISA_DEFAULT_NISC);
	CHECK(d, "host.nr_vms", hi.nr_vms, 1);
	CHECK(d, "host.alert_origin", hi.alert_origin, r->gib_origin);
	CHECK(d, "host.alert_list_len", hi.alert_list_len, r->on_alert_list);
	CHECK(d, "host.gal_interrupts", hi.gal_interrupts, r->gal_interrupts);

	compare_lists(d, &st);
	compare_adapters(d, &st);
	compare_routes(d, &st);
	compare_vcpus(d);
	compare_events(d);
}

/* ---- the driver ---------------------------------------------------------------- */

enum op_id {
	OP_ENQ, OP_GET, OP_CLEAR, OP_APF, OP_REG, OP_MODIFY, OP_CLEAR_IO, OP_AISM, OP_AIRQ,
	OP_AISM_ALL_GET, OP_AISM_ALL_SET, OP_BAD_GROUP, OP_VM_INT, OP_ROUTES, OP_TRIGGER,
	OP_MEMW, OP_VSET, OP_VRUN, OP_VWAIT, OP_DELIVER, OP_DELIVERABLE, OP_TPI, OP_TSCH,
	OP_GISC, OP_HW_AIRQ, OP_GAL, OP_TIMER, NR_OPS,
};

static void (*const op_fn[NR_OPS])(struct diff *) = {
	[OP_ENQ] = op_enqueue, [OP_GET] = op_get, [OP_CLEAR] = op_clear_irqs,
	[OP_APF] = op_apf, [OP_REG] = op_register, [OP_MODIFY] = op_modify,
	[OP_CLEAR_IO] = op_clear_io, [OP_AISM] = op_aism, [OP_AIRQ] = op_airq,
	[OP_AISM_ALL_GET] = op_aism_all_get, [OP_AISM_ALL_SET] = op_aism_all_set,
	[OP_BAD_GROUP] = op_bad_group, [OP_VM_INT] = op_vm_interrupt,
	[OP_ROUTES] = op_routes_set, [OP_TRIGGER] = op_trigger, [OP_MEMW] = op_mem_write,
	[OP_VSET] = op_vcpu_set, [OP_VRUN] = op_vcpu_run, [OP_VWAIT] = op_vcpu_wait,
	[OP_DELIVER] = op_deliver, [OP_DELIVERABLE] = op_deliverable, [OP_TPI] = op_tpi,
	[OP_TSCH] = op_tsch, [OP_GISC] = op_gisc, [OP_HW_AIRQ] = op_hw_airq,
	[OP_GAL] = op_process_alerts, [OP_TIMER] = op_timer,
};

/* Relative weights in the normal phase (per mille of nothing in particular). */
static const unsigned op_weight[NR_OPS] = {
	[OP_ENQ] = 140, [OP_GET] = 70, [OP_CLEAR] = 6, [OP_APF] = 8, [OP_REG] = 6,
	[OP_MODIFY] = 30, [OP_CLEAR_IO] = 30, [OP_AISM] = 30, [OP_AIRQ] = 60,
	[OP_AISM_ALL_GET] = 10, [OP_AISM_ALL_SET] = 10, [OP_BAD_GROUP] = 10,
	[OP_VM_INT] = 20, [OP_ROUTES] = 15, [OP_TRIGGER] = 90, [OP_MEMW] = 50,
	[OP_VSET] = 40, [OP_VRUN] = 20, [OP_VWAIT] = 30, [OP_DELIVER] = 140,
	[OP_DELIVERABLE] = 20, [OP_TPI] = 40, [OP_TSCH] = 30, [OP_GISC] = 20,
	[OP_HW_AIRQ] = 20, [OP_GAL] = 10, [OP_TIMER] = 20,
};

static enum op_id pick_op(struct diff *d)
{
	unsigned w[NR_OPS], sum = 0, x;
	size_t total = ref_nr_records(d->ref);

	if (total > TOO_MANY)
		return OP_CLEAR;
	for (unsigned i = 0; i < NR_OPS; i++)
		w[i] = op_weight[i];
	if (d->phase == PHASE_GROW) {
		w[OP_ENQ] *= 3;
		w[OP_AIRQ] *= 2;
		w[OP_VM_INT] *= 2;
		w[OP_DELIVER] /= 3;
		w[OP_TPI] /= 3;
		w[OP_TSCH] /= 3;
	} else if (d->phase == PHASE_DRAIN) {
		w[OP_DELIVER] *= 3;
		w[OP_TPI] *= 2;
		w[OP_ENQ] /= 2;
	}
	if (total > 300) {
		w[OP_CLEAR] = 200;
		w[OP_ENQ] = 10;
	}
	for (unsigned i = 0; i < NR_OPS; i++)
		sum += w[i];
	x = rnd(d, sum);
	for (unsigned i = 0; i < NR_OPS; i++) {
		if (x < w[i])
			return (enum op_id)i;
		x -= w[i];
	}
	return OP_ENQ;
}

static const char *const op_name[NR_OPS] = {
	[OP_ENQ] = "ENQUEUE", [OP_GET] = "GET_ALL_IRQS", [OP_CLEAR] = "CLEAR_IRQS",
	[OP_APF] = "APF", [OP_REG] = "ADAPTER_REGISTER", [OP_MODIFY] = "ADAPTER_MODIFY",
	[OP_CLEAR_IO] = "CLEAR_IO_IRQ", [OP_AISM] = "AISM", [OP_AIRQ] = "AIRQ_INJECT",
	[OP_AISM_ALL_GET] = "AISM_ALL get", [OP_AISM_ALL_SET] = "AISM_ALL set",
	[OP_BAD_GROUP] = "bad group/has_attr", [OP_VM_INT] = "vm_interrupt",
	[OP_ROUTES] = "routes_set", [OP_TRIGGER] = "route_trigger", [OP_MEMW] = "mem_write",
	[OP_VSET] = "vcpu_set", [OP_VRUN] = "vcpu_run", [OP_VWAIT] = "vcpu_wait",
	[OP_DELIVER] = "vcpu_deliver", [OP_DELIVERABLE] = "vcpu_deliverable",
	[OP_TPI] = "vcpu_tpi", [OP_TSCH] = "vcpu_tsch", [OP_GISC] = "gisc_(un)register",
	[OP_HW_AIRQ] = "gisa_hw_airq", [OP_GAL] = "host_process_alerts",
	[OP_TIMER] = "gisa_timer_fire",
};

static void note_ret(struct diff *d, enum op_id op)
{
	for (unsigned i = 0; i < MAX_RETS; i++) {
		if (d->rets[op][i].n && d->rets[op][i].val != d->ret)
			continue;
		d->rets[op][i].val = d->ret;
		d->rets[op][i].n++;
		return;
	}
}

static void print_stats(const struct diff *d)
{
	fprintf(stderr, "diff stats: %s, at most %zu records pending\n", cfg_name(d->cfg),
		d->max_records);
	for (unsigned op = 0; op < NR_OPS; op++) {
		fprintf(stderr, "  %-20s", op_name[op]);
		for (unsigned i = 0; i < MAX_RETS && d->rets[op][i].n; i++)
			fprintf(stderr, " %d:%lu", d->rets[op][i].val, d->rets[op][i].n);
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "  deliveries by bit:");
	for (unsigned b = 0; b < 32; b++)
		if (d->deliveries[b])
			fprintf(stderr, " %u:%lu", b, d->deliveries[b]);
	fprintf(stderr, "\n  events kick none/io/ext/stop %lu/%lu/%lu/%lu, gisa wakes %lu\n",
		d->events[1][0], d->events[1][1], d->events[1][2], d->events[1][3],
		d->events[2][0]);
	fprintf(stderr, "  AIS-suppressed AIRQ_INJECT %lu, limit fills io/virtio/pfault %lu/%lu/%lu"
		" (-EBUSY %lu)\n", d->suppressed, d->limit_fills[0], d->limit_fills[1],
		d->limit_fills[2], d->limit_busy);
}

static void new_vms(struct diff *d)
{
	if (d->vm) {
		t_vm_free(d->vm, d->host);
		ref_vm_free(d->ref);
	}
	d->host = NULL;
	d->vm = t_vm_new(&d->host, d->profile, d->caps, d->nr_vcpus);
	d->ref = ref_vm_new(d->profile == GISA_PROFILE_NEWEST ? REF_NEWEST : REF_CLASSIC,
			    d->caps & GISA_CAP_GISA, d->caps & GISA_CAP_AIS, d->nr_vcpus);
	d->ev_seq = 0;
	d->ev_dropped = 0;
	set_op(d, "new VM (%s, %u vcpus)", cfg_name(d->cfg), d->nr_vcpus);
	compare_state(d);
}

static unsigned long diff_ops(void)
{
	const char *s = getenv("GISA_DIFF_OPS");
	char *end;
	unsigned long n;

	if (!s || !*s)
		return DEFAULT_OPS;
	n = strtoul(s, &end, 0);
	return *end || n == 0 ? DEFAULT_OPS : n;
}

static uint64_t base_seed(void)
{
	const char *s = getenv("GISA_DIFF_SEED");
	char *end;
	uint64_t v;

	if (s && *s) {
		v = strtoull(s, &end, 0);
		if (!*end)
			return v;
	}
	return 0x6a09e667f3bcc908ull;
}

static void run_config(int cfg)
{
	struct diff *d = calloc(1, sizeof(*d));
	unsigned long nops = diff_ops();
	unsigned long epoch_start = 0;

	assert_non_null(d);
	d->cfg = cfg;
	d->profile = cfg & 4 ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC;
	d->caps = (cfg & 1 ? GISA_CAP_GISA : 0) | (cfg & 2 ? GISA_CAP_AIS : 0);
	d->nr_vcpus = 2 + (uint32_t)(cfg % 3);
	d->seed = base_seed() ^ (0x9e3779b97f4a7c15ull * (uint64_t)(cfg + 1));
	d->rng = d->seed ? d->seed : 1;
	d->ebuf = malloc(GETBUF);
	d->rbuf = malloc(GETBUF);
	d->lst = calloc(LSTMAX, sizeof(*d->lst));
	assert_non_null(d->ebuf);
	assert_non_null(d->rbuf);
	assert_non_null(d->lst);
	memset(d->ebuf, 0xaa, GETBUF);
	memset(d->rbuf, 0xaa, GETBUF);
	fprintf(stderr, "diff: %s seed 0x%016" PRIx64 " ops %lu\n", cfg_name(cfg), d->seed, nops);

	for (d->step = 0; d->step < nops; d->step++) {
		enum op_id op;

		if (d->step == 0 || d->step >= d->epoch_end) {
			/* a fresh pair now and then: adapters cannot be unregistered */
			new_vms(d);
			epoch_start = d->step;
			d->epoch_end = d->step + 6000 + rnd(d, 10000);
			d->limit_at = d->step + d->nr_vcpus + rnd(d, 6000);
		}
		if (d->step >= d->phase_end) {
			uint32_t v = rnd(d, 100);

			d->phase = v < 60 ? PHASE_NORMAL : v < 80 ? PHASE_GROW : PHASE_DRAIN;
			d->phase_end = d->step + 500 + rnd(d, 3000);
		}
		if (d->step - epoch_start < d->nr_vcpus) {
			op_vcpu_set_idx(d, (uint32_t)(d->step - epoch_start));
		} else if (d->step == d->limit_at) {
			op_limits(d);
		} else {
			op = pick_op(d);
			d->ret = 0x7fffffff;
			op_fn[op](d);
			note_ret(d, op);
		}
		if (ref_nr_records(d->ref) > d->max_records)
			d->max_records = ref_nr_records(d->ref);
		/* truncated on purpose: the history is a reading aid */
		memcpy(d->hist[d->step % HIST], d->op, sizeof(d->hist[0]) - 1);
		d->hist[d->step % HIST][sizeof(d->hist[0]) - 1] = 0;
		d->hist_step[d->step % HIST] = d->step;
		compare_state(d);
	}

	if (getenv("GISA_DIFF_STATS"))
		print_stats(d);
	t_vm_free(d->vm, d->host);
	ref_vm_free(d->ref);
	free(d->ebuf);
	free(d->rbuf);
	free(d->lst);
	free(d);
}

#define CONFIG_TEST(name, cfg) \
	static void name(void **state) { (void)state; run_config(cfg); }

CONFIG_TEST(test_classic, 0)
CONFIG_TEST(test_classic_gisa, 1)
CONFIG_TEST(test_classic_ais, 2)
CONFIG_TEST(test_classic_gisa_ais, 3)
CONFIG_TEST(test_newest, 4)
CONFIG_TEST(test_newest_gisa, 5)
CONFIG_TEST(test_newest_ais, 6)
CONFIG_TEST(test_newest_gisa_ais, 7)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_classic_gisa),
		cmocka_unit_test(test_classic_ais),
		cmocka_unit_test(test_classic_gisa_ais),
		cmocka_unit_test(test_newest),
		cmocka_unit_test(test_newest_gisa),
		cmocka_unit_test(test_newest_ais),
		cmocka_unit_test(test_newest_gisa_ais),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
