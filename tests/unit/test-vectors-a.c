/* SPDX-License-Identifier: MIT */
/*
 * Spec §12 test vectors 1-40 (device plumbing, GET_ALL_IRQS, ENQUEUE,
 * service signal, floating machine check, ordering, GISA coalescing,
 * limits, CLEAR_IRQS).
 *
 * Defaults as in §12: profile CLASSIC, no GISA, AIS off, one FLIC, memslot
 * [0, 1 MiB).  Every VM has one vcpu set to "ALL-ON".  Each test checks the
 * whole observable outcome: return codes, the GET_ALL_IRQS records (raw
 * bytes where byte-exactness is the point), what the vcpu is delivered, and
 * that nothing else is left pending.  Where a vector reads differently in
 * CLASSIC and NEWEST, or with and without a GISA, it runs in each setting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define REC ((size_t)GISA_IRQ_SIZE)
#define CLASSIC GISA_PROFILE_CLASSIC
#define NEWEST GISA_PROFILE_NEWEST
#define AI_TYPE ((uint64_t)GISA_INT_IO_AI_MASK)
#define PSW_ALL (GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK)
#define CR0_ALL 0x6e00u
#define CR6_ALL 0xff000000u
#define BIT(n) (1u << (n))

/* ---- fixture: up to two VMs on one host, freed even when a test fails -- */

struct fx {
	struct gisa_host *host;
	struct gisa_vm *vm[2];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	gisa_vm_free(f->vm[1]);
	gisa_vm_free(f->vm[0]);
	gisa_host_free(f->host);
	free(f);
	return 0;
}

/* A §12 default VM (FLIC, memslot) in the given setting; vcpu 0 ALL-ON. */
static struct gisa_vm *fx_vm(void **state, enum gisa_profile profile, uint32_t caps)
{
	struct fx *f = *state;
	unsigned i = f->vm[0] ? 1 : 0;

	assert_null(f->vm[i]);
	f->vm[i] = t_vm_new(&f->host, profile, caps, 1);
	t_vcpu_all_on(f->vm[i], 0);
	return f->vm[i];
}

/* ---- buffers ------------------------------------------------------------ */

static uint8_t *xbuf(size_t len, uint8_t fill)
{
	uint8_t *b = malloc(len ? len : 1);

	assert_non_null(b);
	memset(b, fill, len);
	return b;
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* memcmp that reports the first differing offset (buffers may be huge). */
static void expect_bytes(const uint8_t *got, const uint8_t *want, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			fail_msg("byte %zu (record %zu, offset %zu): 0x%02x, expected 0x%02x",
				 i, i / REC, i % REC, got[i], want[i]);
}

static uint8_t *pack(const struct gisa_irq *irqs, size_t n)
{
	uint8_t *b = xbuf(n * REC, 0);

	assert_int_equal(gisa_irq_pack(irqs, n, GISA_BE, b, n * REC), 0);
	return b;
}

/* ---- GET_ALL_IRQS ------------------------------------------------------- */

/*
 * GET(len) into a buffer pre-filled with 0xAA: returns n, the first n * 72
 * bytes are `want`, and the rest of the buffer is untouched.
 */
static void expect_get_bytes(struct gisa_vm *vm, size_t len, const uint8_t *want, size_t n)
{
	uint8_t *raw = xbuf(len, 0xaa);

	assert_int_equal(t_get(vm, len, NULL, 0, raw), (int)n);
	expect_bytes(raw, want, n * REC);
	if (!all_bytes(raw + n * REC, len - n * REC, 0xaa))
		fail_msg("GET wrote past its %zu records", n);
	free(raw);
}

static void expect_get(struct gisa_vm *vm, size_t len, const struct gisa_irq *want, size_t n)
{
	uint8_t *b = pack(want, n);

	expect_get_bytes(vm, len, b, n);
	free(b);
}

/* The default GET of §14.2. */
static void expect_get_all(struct gisa_vm *vm, const struct gisa_irq *want, size_t n)
{
	expect_get(vm, REC * 4096, want, n);
}

/* A failing GET copies nothing. */
static void expect_get_err(struct gisa_vm *vm, size_t len, int err)
{
	uint8_t *raw = xbuf(len, 0xaa);

	assert_int_equal(t_get(vm, len, NULL, 0, raw), err);
	if (!all_bytes(raw, len, 0xaa))
		fail_msg("failing GET (%d) wrote to the buffer", err);
	free(raw);
}

/* ---- state -------------------------------------------------------------- */

static struct gisa_state st(const struct gisa_vm *vm)
{
	struct gisa_state s;

	gisa_state_read(vm, &s);
	return s;
}

static uint32_t io_entries(const struct gisa_state *s)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		n += s->list_len[i];
	return n;
}

/* No floating interrupt of any kind, IPM included (read non-destructively). */
static void expect_state_empty(const struct gisa_vm *vm)
{
	struct gisa_state s = st(vm);

	assert_int_equal(s.pending_irqs, 0);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		assert_int_equal(s.list_len[i], 0);
	assert_int_equal(s.srv_ext_params, 0);
	assert_int_equal(s.mchk_cr14, 0);
	assert_int_equal(s.mchk_mcic, 0);
	assert_int_equal(s.gisa.ipm, 0);
}

/* ---- delivery to vcpu 0 ------------------------------------------------- */

static struct gisa_delivery deliver(struct gisa_vm *vm)
{
	struct gisa_delivery d;

	memset(&d, 0xee, sizeof(d));
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 1);
	return d;
}

static void expect_deliver_io(struct gisa_vm *vm, const struct gisa_irq *r)
{
	struct gisa_delivery d = deliver(vm);

	assert_int_equal(d.kind, GISA_DELIVER_IO);
	assert_int_equal(d.irq_bit, GISA_IRQ_IO_ISC(GISA_IO_WORD_ISC(r->u.io.io_int_word)));
	assert_int_equal(d.type, r->type);
	assert_int_equal(d.u.io.subchannel_id, r->u.io.subchannel_id);
	assert_int_equal(d.u.io.subchannel_nr, r->u.io.subchannel_nr);
	assert_int_equal(d.u.io.io_int_parm, r->u.io.io_int_parm);
	assert_int_equal(d.u.io.io_int_word, r->u.io.io_int_word);
}

/* The synthetic GISA adapter interruption has exactly AI(isc)'s shape. */
static void expect_deliver_ai(struct gisa_vm *vm, unsigned isc)
{
	struct gisa_irq ai = t_ai(isc);

	expect_deliver_io(vm, &ai);
}

static void expect_deliver_ext(struct gisa_vm *vm, int bit, uint64_t type, uint16_t code,
			       uint16_t cpu_addr, uint32_t param, uint64_t param64)
{
	struct gisa_delivery d = deliver(vm);

	assert_int_equal(d.kind, GISA_DELIVER_EXT);
	assert_int_equal(d.irq_bit, bit);
	assert_int_equal(d.type, type);
	assert_int_equal(d.u.ext.code, code);
	assert_int_equal(d.u.ext.cpu_addr, cpu_addr);
	assert_int_equal(d.u.ext.param, param);
	assert_int_equal(d.u.ext.param64, param64);
}

static void expect_deliver_srv_ev(struct gisa_vm *vm, uint32_t param)
{
	expect_deliver_ext(vm, GISA_IRQ_EXT_SERVICE_EV, GISA_INT_SERVICE,
			   GISA_EXT_CODE_SERVICE, 0, param, 0);
}

static void expect_deliver_srv(struct gisa_vm *vm, uint32_t param)
{
	expect_deliver_ext(vm, GISA_IRQ_EXT_SERVICE, GISA_INT_SERVICE,
			   GISA_EXT_CODE_SERVICE, 0, param, 0);
}

static void expect_deliver_virt(struct gisa_vm *vm, uint32_t p, uint64_t p2)
{
	expect_deliver_ext(vm, GISA_IRQ_VIRTIO, GISA_INT_VIRTIO, GISA_EXT_CODE_CP_SERVICE,
			   GISA_EXT_CPU_ADDR_VIRTIO, p, p2);
}

static void expect_deliver_pfd(struct gisa_vm *vm, uint64_t token)
{
	expect_deliver_ext(vm, GISA_IRQ_PFAULT_DONE, GISA_INT_PFAULT_DONE,
			   GISA_EXT_CODE_CP_SERVICE, GISA_EXT_CPU_ADDR_PFAULT_DONE, 0, token);
}

static void expect_deliver_mchk(struct gisa_vm *vm, uint64_t mcic, uint64_t cr14)
{
	struct gisa_delivery d = deliver(vm);

	assert_int_equal(d.kind, GISA_DELIVER_MCHK);
	assert_int_equal(d.irq_bit, GISA_IRQ_MCHK_REP);
	assert_int_equal(d.type, GISA_INT_MCHK);
	assert_int_equal(d.u.mchk.mcic, mcic);
	assert_int_equal(d.u.mchk.cr14, cr14);
}

static uint32_t deliverable(const struct gisa_vm *vm)
{
	uint32_t bits = 0xdeadbeef;

	assert_int_equal(gisa_vcpu_deliverable(vm, 0, &bits), 0);
	return bits;
}

static void expect_no_delivery(struct gisa_vm *vm)
{
	struct gisa_delivery d;

	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
}

/* Nothing pending at all: state, deliveries and GET agree. */
static void expect_nothing_pending(struct gisa_vm *vm)
{
	expect_state_empty(vm);
	expect_no_delivery(vm);
	expect_get_all(vm, NULL, 0);
}

/* ---- Device plumbing ---------------------------------------------------- */

static void vector_01(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	static const uint32_t bad[] = { 0, 12, 0xffffffff };
	uint8_t junk[4] = { 0xff, 0xff, 0xff, 0xff };
	struct gisa_attr a = { .attr = 0x1234, .addr = { .data = junk, .len = sizeof(junk) } };

	for (uint32_t g = 1; g <= 11; g++) {
		a.group = g;
		assert_int_equal(gisa_flic_has_attr(vm, &a), 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		a.group = bad[i];
		assert_int_equal(gisa_flic_has_attr(vm, &a), -ENXIO);
	}
	/* has_attr ignores attr and addr entirely (an unmapped address too). */
	memset(&a, 0, sizeof(a));
	a.group = GISA_FLIC_ENQUEUE;
	a.attr = 71;
	assert_int_equal(gisa_flic_has_attr(vm, &a), 0);
	expect_nothing_pending(vm);
}

static void vector_02(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	static const uint32_t bad[] = { 12, 0, 0xffffffff };
	struct gisa_irq io = t_io(0x0001, 5, 1, 0);
	uint8_t *rec = pack(&io, 1);
	uint8_t buf[10 * GISA_IRQ_SIZE];

	/* Something pending, so a get that wrongly reads the lists would show. */
	assert_int_equal(t_enq1(vm, io), 0);

	/* Groups 2..10 are set-only. */
	for (uint32_t g = GISA_FLIC_ENQUEUE; g <= GISA_FLIC_AIRQ_INJECT; g++) {
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(t_get_attr(vm, g, sizeof(buf), buf, sizeof(buf)), -EINVAL);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
	}
	/* GET_ALL_IRQS is get-only: a set does not enqueue the record. */
	assert_int_equal(t_set_attr(vm, GISA_FLIC_GET_ALL_IRQS, REC, rec, REC), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0xaa, sizeof(buf));
		assert_int_equal(t_get_attr(vm, bad[i], sizeof(buf), buf, sizeof(buf)), -EINVAL);
		assert_true(all_bytes(buf, sizeof(buf), 0xaa));
		assert_int_equal(t_set_attr(vm, bad[i], REC, rec, REC), -EINVAL);
	}
	free(rec);

	expect_get_all(vm, &io, 1);
	expect_deliver_io(vm, &io);
	expect_nothing_pending(vm);
}

static void vector_03(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq io = t_io(0x0001, 5, 1, 0);
	struct gisa_attr a = { .group = GISA_FLIC_GET_ALL_IRQS };

	assert_int_equal(gisa_flic_create(vm), -EINVAL);
	assert_true(st(vm).flic_present);
	assert_int_equal(gisa_flic_has_attr(vm, &a), 0);
	assert_int_equal(t_enq1(vm, io), 0);
	expect_get_all(vm, &io, 1);
	expect_deliver_io(vm, &io);
	expect_nothing_pending(vm);
}

/* ---- GET_ALL_IRQS ------------------------------------------------------- */

static void vector_04(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);

	expect_get_err(vm, 0, -EINVAL);
	expect_get_err(vm, GISA_FLIC_MAX_BUFFER + 1, -EINVAL);
	expect_get(vm, GISA_FLIC_MAX_BUFFER, NULL, 0);
	expect_nothing_pending(vm);
}

static void vector_05(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);

	expect_get(vm, 1, NULL, 0);
	expect_get(vm, REC, NULL, 0);
	expect_nothing_pending(vm);
}

static void vector_06(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[2] = { t_io(0x0001, 5, 1, 0), t_io(0x0001, 6, 2, 0) };

	assert_int_equal(t_enq(vm, r, 2), 0);
	expect_get_err(vm, REC, -ENOMEM);
	expect_get_err(vm, 2 * REC - 1, -ENOMEM);
	expect_get(vm, 2 * REC, r, 2);
	expect_get(vm, 200, r, 2);
	assert_int_equal(st(vm).list_len[0], 2);
	expect_deliver_io(vm, &r[0]);
	expect_deliver_io(vm, &r[1]);
	expect_nothing_pending(vm);
}

static void vector_07(void **state)
{
	/* IO(0x0001,5,1,0) and IO(0x0001,6,2,0), written out by hand. */
	static const uint8_t want[2 * GISA_IRQ_SIZE] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
		0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,

		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
		0x00, 0x01, 0x00, 0x06, 0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[2] = { t_io(0x0001, 5, 1, 0), t_io(0x0001, 6, 2, 0) };
	uint8_t a[10 * GISA_IRQ_SIZE], b[10 * GISA_IRQ_SIZE];

	assert_int_equal(t_enq(vm, r, 2), 0);
	memset(a, 0xaa, sizeof(a));
	memset(b, 0xaa, sizeof(b));
	assert_int_equal(t_get(vm, sizeof(a), NULL, 0, a), 2);
	assert_int_equal(t_get(vm, sizeof(b), NULL, 0, b), 2);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(a, want, sizeof(want));
	assert_true(all_bytes(a + sizeof(want), sizeof(a) - sizeof(want), 0xaa));

	assert_int_equal(st(vm).list_len[0], 2);
	expect_deliver_io(vm, &r[0]);
	expect_deliver_io(vm, &r[1]);
	expect_nothing_pending(vm);
}

/* GET through a caller buffer the engine cannot (fully) write. */
static int get_ubuf(struct gisa_vm *vm, uint64_t len, void *data, size_t dlen,
		    size_t bad_off, size_t bad_len)
{
	struct gisa_attr a = {
		.group = GISA_FLIC_GET_ALL_IRQS,
		.attr = len,
		.addr = { .data = data, .len = dlen, .bad_off = bad_off, .bad_len = bad_len },
	};

	return gisa_flic_get_attr(vm, &a);
}

static void vector_08(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[2] = { t_io(0x0001, 5, 1, 0), t_io(0x0001, 6, 2, 3) };
	uint8_t *want = pack(r, 2);
	uint8_t buf[10 * GISA_IRQ_SIZE];
	const size_t len = sizeof(buf);

	assert_int_equal(t_enq(vm, r, 2), 0);

	/* The whole buffer unwritable. */
	assert_int_equal(get_ubuf(vm, len, buf, len, 0, len), -EFAULT);
	/* One unwritable byte inside the second record. */
	assert_int_equal(get_ubuf(vm, len, buf, len, REC + 5, 1), -EFAULT);
	/* One unwritable byte: the last of the 144 bytes to be copied. */
	assert_int_equal(get_ubuf(vm, len, buf, len, 2 * REC - 1, 1), -EFAULT);
	/* Shorter than the 144 bytes to copy, though attr claims 720. */
	assert_int_equal(get_ubuf(vm, len, buf, 2 * REC - 1, 0, 0), -EFAULT);
	/* An unmapped address. */
	assert_int_equal(get_ubuf(vm, len, NULL, 0, 0, 0), -EFAULT);

	/* State unchanged by any of them. */
	{
		struct gisa_state s = st(vm);

		assert_int_equal(s.list_len[0], 1);
		assert_int_equal(s.list_len[3], 1);
		assert_int_equal(io_entries(&s), 2);
		assert_int_equal(s.pending_irqs,
				 BIT(GISA_IRQ_IO_ISC(0)) | BIT(GISA_IRQ_IO_ISC(3)));
	}
	expect_get(vm, len, r, 2);

	/* Only n * 72 bytes are copied: faults beyond them do not matter. */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(get_ubuf(vm, len, buf, len, 2 * REC, len - 2 * REC), 2);
	assert_memory_equal(buf, want, 2 * REC);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(get_ubuf(vm, len, buf, 2 * REC, 0, 0), 2);
	assert_memory_equal(buf, want, 2 * REC);
	free(want);

	expect_deliver_io(vm, &r[0]);
	expect_deliver_io(vm, &r[1]);
	expect_nothing_pending(vm);
}

/* ---- ENQUEUE ------------------------------------------------------------ */

static void vector_09(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	uint8_t junk[GISA_IRQ_SIZE];

	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, 0, NULL, 0), 0);
	/* Length 0 reads nothing, not even an invalid record. */
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, 0, junk, sizeof(junk)), 0);
	expect_nothing_pending(vm);
}

static void vector_10(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[3] = {
		t_io(0x0001, 1, 0, 0), t_io(0x0001, 2, 0, 0), t_io(0x0001, 3, 0, 0),
	};
	static const uint64_t lens[] = { 71, 73, 145 };
	uint8_t *buf = pack(r, 3);

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++)
		assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, lens[i], buf, 3 * REC),
				 -EINVAL);
	free(buf);
	expect_nothing_pending(vm);
}

static void vector_11(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	const size_t n = 466034;
	const size_t len = n * REC;
	struct gisa_irq v = t_virt(1, 2);
	uint8_t *buf = xbuf(len, 0);

	assert_int_equal(len, 33554448);
	assert_true(len > GISA_FLIC_MAX_BUFFER);
	/* Valid records throughout: only the length may be what fails. */
	for (size_t i = 0; i < n; i++)
		gisa_irq_pack1(&v, GISA_BE, buf + i * REC);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, len, buf, len), -EINVAL);
	free(buf);
	expect_nothing_pending(vm);
}

static void vector_12(void **state)
{
	/* IO(0xfe01, 0x1234, 0xdeadbeef, 3), written out by hand. */
	static const uint8_t rec[GISA_IRQ_SIZE] = {
		0x00, 0x00, 0x00, 0x00, 0x03, 0xf8, 0x12, 0x34,
		0xfe, 0x01, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
		0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq io = t_io(0xfe01, 0x1234, 0xdeadbeef, 3);
	uint8_t in[GISA_IRQ_SIZE], raw[10 * GISA_IRQ_SIZE];

	/* The builder and the hand-written bytes agree. */
	assert_int_equal(io.type, 0x03f81234);
	gisa_irq_pack1(&io, GISA_BE, in);
	assert_memory_equal(in, rec, REC);

	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, REC, in, REC), 0);
	memset(raw, 0xaa, sizeof(raw));
	assert_int_equal(t_get(vm, sizeof(raw), NULL, 0, raw), 1);
	assert_memory_equal(raw, rec, REC);
	assert_true(all_bytes(raw + 20, REC - 20, 0));
	assert_true(all_bytes(raw + REC, sizeof(raw) - REC, 0xaa));

	assert_int_equal(st(vm).list_len[3], 1);
	expect_deliver_io(vm, &io);
	expect_nothing_pending(vm);
}

static void vector_13(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq top = t_raw_type(0xfffdffff);
	static const uint64_t rejected[] = { 0xfffe0000, 0x100000000ull, 0xffff1004 };

	assert_int_equal(t_enq1(vm, top), 0);
	for (size_t i = 0; i < ARRAY_SIZE(rejected); i++)
		assert_int_equal(t_enq1(vm, t_raw_type(rejected[i])), -EINVAL);

	assert_int_equal(st(vm).list_len[0], 1);
	expect_get_all(vm, &top, 1);
	expect_deliver_io(vm, &top);
	expect_nothing_pending(vm);
}

static void vector_14(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r = t_raw_type(GISA_INT_PFAULT_INIT);

	r.u.ext.ext_params2 = 0x1234;
	assert_int_equal(t_enq1(vm, r), -EINVAL);
	expect_nothing_pending(vm);
}

static void vector_15(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[3] = {
		t_io(0x0001, 1, 0, 0), t_raw_type(GISA_INT_SIGP_STOP), t_io(0x0001, 2, 0, 0),
	};

	assert_int_equal(t_enq(vm, r, 3), -EINVAL);
	expect_get_all(vm, &r[0], 1);
	expect_deliver_io(vm, &r[0]);
	expect_nothing_pending(vm);
}

static void vector_16(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[2];
	struct gisa_irq want[2];

	/* AI type, classic word with ISC 7: the word decides the list. */
	r[0] = t_raw_type(AI_TYPE);
	r[0].u.io.io_int_word = 0x38000000;
	r[1] = t_io(0x0001, 9, 0, 0);
	assert_int_equal(t_enq(vm, r, 2), 0);

	assert_int_equal(st(vm).list_len[0], 1);
	assert_int_equal(st(vm).list_len[7], 1);
	want[0] = r[1];
	want[1] = r[0];
	expect_get_all(vm, want, 2);
	expect_deliver_io(vm, &r[1]);
	expect_deliver_io(vm, &r[0]);
	expect_nothing_pending(vm);
}

static void vector_17(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq r[3] = {
		t_io(1, 1, 0xA, 2), t_io(1, 2, 0xB, 2), t_io(1, 3, 0xC, 2),
	};

	assert_int_equal(t_enq(vm, r, 3), 0);
	expect_get_all(vm, r, 3);
	for (unsigned i = 0; i < 3; i++)
		expect_deliver_io(vm, &r[i]);
	expect_nothing_pending(vm);
}

static void vector_18(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq x = t_io(1, 1, 0, 5), y = t_io(1, 2, 0, 1), z = t_io(1, 3, 0, 5);
	struct gisa_irq in[3] = { x, y, z };
	struct gisa_irq want[3] = { y, x, z };

	assert_int_equal(t_enq(vm, in, 3), 0);
	expect_get_all(vm, want, 3);
	for (unsigned i = 0; i < 3; i++)
		expect_deliver_io(vm, &want[i]);
	expect_nothing_pending(vm);
}

static void vector_19(void **state)
{
	/* VIRT(0x11, 0x33) with pad 0x22, written out by hand. */
	static const uint8_t rec[GISA_IRQ_SIZE] = {
		0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x26, 0x03,
		0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x22,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x33,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	uint8_t in[GISA_IRQ_SIZE], raw[10 * GISA_IRQ_SIZE];
	struct gisa_irq out;

	memcpy(in, rec, REC);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, REC, in, REC), 0);
	memset(raw, 0xaa, sizeof(raw));
	assert_int_equal(t_get(vm, sizeof(raw), &out, 1, raw), 1);
	assert_memory_equal(raw, rec, REC);
	assert_true(all_bytes(raw + REC, sizeof(raw) - REC, 0xaa));
	assert_int_equal(out.u.ext.pad, 0x22);
	assert_int_equal(out.u.ext.ext_params2, 0x33);

	assert_int_equal(st(vm).list_len[GISA_LIST_VIRTIO], 1);
	expect_deliver_virt(vm, 0x11, 0x33);
	expect_nothing_pending(vm);
}

/* ---- Service signal ----------------------------------------------------- */

static void vector_20(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_srv(0x1000);

	assert_int_equal(t_enq1(vm, t_srv(0x1000)), 0);
	assert_int_equal(t_enq1(vm, t_srv(0x2000)), 0);
	expect_get_all(vm, &want, 1);
	assert_int_equal(st(vm).pending_irqs, BIT(GISA_IRQ_EXT_SERVICE));
	expect_deliver_srv(vm, 0x1000);
	expect_nothing_pending(vm);
}

static void v21(void **state, enum gisa_profile profile, uint32_t ev_param)
{
	struct gisa_vm *vm = fx_vm(state, profile, 0);
	struct gisa_irq merged = t_srv(0x1001), sccb = t_srv(0x1000);

	assert_int_equal(t_enq1(vm, t_srv(0x1000)), 0);
	assert_int_equal(t_enq1(vm, t_srv(0x1)), 0);
	expect_get_all(vm, &merged, 1);
	assert_int_equal(st(vm).pending_irqs,
			 BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV));

	expect_deliver_srv_ev(vm, ev_param);
	/* Only the event bits were taken. */
	expect_get_all(vm, &sccb, 1);
	expect_deliver_srv(vm, 0x1000);
	expect_nothing_pending(vm);
}

static void vector_21_classic(void **state)
{
	v21(state, CLASSIC, 0x3);
}

static void vector_21_newest(void **state)
{
	v21(state, NEWEST, 0x1);
}

static void vector_22_classic(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_srv(0);

	assert_int_equal(t_enq1(vm, t_srv(0x4)), 0);
	expect_get_all(vm, &want, 1);
	expect_deliver_srv(vm, 0);
	expect_nothing_pending(vm);
}

static void vector_22_newest(void **state)
{
	struct gisa_vm *vm = fx_vm(state, NEWEST, 0);
	struct gisa_irq want = t_srv(0);
	struct gisa_delivery d;

	assert_int_equal(t_enq1(vm, t_srv(0x4)), 0);
	expect_get_all(vm, &want, 1);
	/* The zero-parameter SERVICE is consumed, nothing is presented. */
	assert_int_equal(deliverable(vm), BIT(GISA_IRQ_EXT_SERVICE));
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
	expect_nothing_pending(vm);
}

static void vector_23(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_srv(0x12345673), after = t_srv(0x12345670);

	assert_int_equal(t_enq1(vm, t_srv(0x12345677)), 0);
	expect_get_all(vm, &want, 1);
	expect_deliver_srv_ev(vm, 0x3);
	expect_get_all(vm, &after, 1);
	expect_deliver_srv(vm, 0x12345670);
	expect_nothing_pending(vm);
}

static void vector_24(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_srv(0x1000), ev = t_srv(0x1);
	struct gisa_delivery d;

	assert_int_equal(t_enq1(vm, t_srv(0x1000)), 0);
	t_vcpu_set(vm, 0, PSW_ALL, 0x6c00, CR6_ALL, GISA_CR14_CHANNEL_REPORT, GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
	expect_get_all(vm, &want, 1);

	t_vcpu_set(vm, 0, PSW_ALL, GISA_CR0_SERVICE, CR6_ALL, GISA_CR14_CHANNEL_REPORT,
		   GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), BIT(GISA_IRQ_EXT_SERVICE));
	expect_deliver_srv(vm, 0x1000);
	expect_nothing_pending(vm);

	/* The event-pending class is gated by the same CR0 bit. */
	assert_int_equal(t_enq1(vm, t_srv(0x1)), 0);
	t_vcpu_set(vm, 0, PSW_ALL, 0x6c00, CR6_ALL, GISA_CR14_CHANNEL_REPORT, GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
	expect_get_all(vm, &ev, 1);
	t_vcpu_set(vm, 0, PSW_ALL, GISA_CR0_SERVICE, CR6_ALL, GISA_CR14_CHANNEL_REPORT,
		   GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm),
			 BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV));
	expect_deliver_srv_ev(vm, 0x3);
	expect_deliver_srv(vm, 0);
	expect_nothing_pending(vm);
}

/* ---- Floating machine check --------------------------------------------- */

static void vector_25(void **state)
{
	/* Only cr14 bit 28 and mcic survive; written out by hand. */
	static const uint8_t want[GISA_IRQ_SIZE] = {
		0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x10, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq in = t_mck(~0ull, 1);
	uint8_t raw[10 * GISA_IRQ_SIZE];

	in.u.mchk.failing_storage_address = 0x1234;
	in.u.mchk.ext_damage_code = 7;
	memset(in.u.mchk.fixed_logout, 0x55, sizeof(in.u.mchk.fixed_logout));
	assert_int_equal(t_enq1(vm, in), 0);

	memset(raw, 0xaa, sizeof(raw));
	assert_int_equal(t_get(vm, sizeof(raw), NULL, 0, raw), 1);
	assert_memory_equal(raw, want, REC);
	assert_true(all_bytes(raw + REC, sizeof(raw) - REC, 0xaa));

	assert_int_equal(st(vm).pending_irqs, BIT(GISA_IRQ_MCHK_REP));
	expect_deliver_mchk(vm, 1, GISA_CR14_CHANNEL_REPORT);
	expect_nothing_pending(vm);
}

static void vector_26(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_mck(0x10000000, 3);

	assert_int_equal(t_enq1(vm, t_mck(0x10000000, 1)), 0);
	assert_int_equal(t_enq1(vm, t_mck(0, 2)), 0);
	expect_get_all(vm, &want, 1);
	expect_deliver_mchk(vm, 3, GISA_CR14_CHANNEL_REPORT);
	expect_nothing_pending(vm);
}

static void vector_27(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq want = t_mck(0, 1);
	struct gisa_delivery d;
	struct gisa_state s;

	t_vcpu_set(vm, 0, PSW_ALL, CR0_ALL, CR6_ALL, ~0ull, GISA_VCPU_RUNNING);
	assert_int_equal(t_enq1(vm, t_mck(0, 1)), 0);
	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
	expect_get_all(vm, &want, 1);

	s = st(vm);
	assert_int_equal(s.pending_irqs, BIT(GISA_IRQ_MCHK_REP));
	assert_int_equal(s.mchk_cr14, 0);
	assert_int_equal(s.mchk_mcic, 1);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		assert_int_equal(s.list_len[i], 0);
	assert_int_equal(s.srv_ext_params, 0);
}

/* ---- Ordering / GET layout ---------------------------------------------- */

static void v28(void **state, enum gisa_profile profile)
{
	struct gisa_vm *vm = fx_vm(state, profile, GISA_CAP_GISA);
	struct gisa_irq r[6] = {
		t_ai(3), t_io(1, 1, 0, 0), t_pfd(7), t_virt(1, 2), t_srv(8),
		t_mck(0x10000000, 1),
	};

	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(t_enq1(vm, r[i]), 0);
	assert_int_equal(st(vm).gisa.ipm, GISA_ISC_BIT(3));
	assert_int_equal(st(vm).list_len[3], 0);
	expect_get_all(vm, r, 6);
	/* CLASSIC's GET took the IPM bit; NEWEST's only looked. */
	assert_int_equal(st(vm).gisa.ipm, profile == CLASSIC ? 0 : GISA_ISC_BIT(3));

	expect_deliver_mchk(vm, 1, GISA_CR14_CHANNEL_REPORT);
	expect_deliver_srv(vm, 8);
	expect_deliver_pfd(vm, 7);
	expect_deliver_virt(vm, 1, 2);
	expect_deliver_io(vm, &r[1]);
	if (profile == NEWEST)
		expect_deliver_ai(vm, 3);
	expect_nothing_pending(vm);
}

static void vector_28_classic(void **state)
{
	v28(state, CLASSIC);
}

static void vector_28_newest(void **state)
{
	v28(state, NEWEST);
}

static void vector_29(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq io0 = t_io(1, 1, 0x66, 0), io7 = t_io(1, 2, 0x77, 7);
	struct gisa_irq mck = t_mck(0x10000000, 1), srv = t_srv(0x1000);
	struct gisa_irq virt = t_virt(3, 4), pfd = t_pfd(9);
	/* Injected lowest priority first, so arrival order cannot explain the result. */
	struct gisa_irq in[6] = { io7, io0, virt, pfd, srv, mck };
	struct gisa_irq want[6] = { io0, io7, pfd, virt, srv, mck };

	assert_int_equal(t_enq(vm, in, 6), 0);
	expect_get_all(vm, want, 6);
	expect_deliver_mchk(vm, 1, GISA_CR14_CHANNEL_REPORT);
	expect_deliver_srv(vm, 0x1000);
	expect_deliver_pfd(vm, 9);
	expect_deliver_virt(vm, 3, 4);
	expect_deliver_io(vm, &io0);
	expect_deliver_io(vm, &io7);
	expect_nothing_pending(vm);
}

static void vector_30(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq io = t_io(0x0001, 4, 0x42, 2);
	struct gisa_delivery d;

	assert_int_equal(t_enq1(vm, io), 0);
	t_vcpu_set(vm, 0, PSW_ALL, CR0_ALL, 0x80000000, GISA_CR14_CHANNEL_REPORT,
		   GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);

	t_vcpu_set(vm, 0, PSW_ALL, CR0_ALL, 0x20000000, GISA_CR14_CHANNEL_REPORT,
		   GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), BIT(GISA_IRQ_IO_ISC(2)));

	t_vcpu_set(vm, 0, PSW_ALL & ~GISA_PSW_MASK_IO, CR0_ALL, 0x20000000,
		   GISA_CR14_CHANNEL_REPORT, GISA_VCPU_RUNNING);
	assert_int_equal(deliverable(vm), 0);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
	expect_get_all(vm, &io, 1);

	t_vcpu_set(vm, 0, PSW_ALL, CR0_ALL, 0x20000000, GISA_CR14_CHANNEL_REPORT,
		   GISA_VCPU_RUNNING);
	expect_deliver_io(vm, &io);
	expect_nothing_pending(vm);
}

static void vector_31(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA);
	struct gisa_irq io = t_io(1, 1, 0, 1);
	struct gisa_irq synth = t_raw_type(AI_TYPE);

	synth.u.io.io_int_word = 0x88000000;
	assert_int_equal(t_enq1(vm, io), 0);
	assert_int_equal(t_enq1(vm, t_ai(1)), 0);
	assert_int_equal(st(vm).list_len[1], 1);
	assert_int_equal(st(vm).gisa.ipm, GISA_ISC_BIT(1));

	/* The list entry goes first; the IPM bit stays meanwhile. */
	expect_deliver_io(vm, &io);
	assert_int_equal(st(vm).gisa.ipm, GISA_ISC_BIT(1));
	expect_deliver_io(vm, &synth);
	expect_nothing_pending(vm);
}

/* ---- GISA coalescing and destructive GET -------------------------------- */

static void v32(void **state, enum gisa_profile profile)
{
	struct gisa_vm *vm = fx_vm(state, profile, GISA_CAP_GISA);
	struct gisa_irq ai = t_ai(2);
	struct gisa_state s;

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(t_enq1(vm, ai), 0);
	s = st(vm);
	assert_int_equal(s.gisa.ipm, GISA_ISC_BIT(2));
	assert_int_equal(io_entries(&s), 0);

	expect_get_all(vm, &ai, 1);
	if (profile == CLASSIC) {
		expect_get_all(vm, NULL, 0);
	} else {
		expect_get_all(vm, &ai, 1);
		expect_deliver_ai(vm, 2);
	}
	expect_nothing_pending(vm);
}

static void vector_32_classic(void **state)
{
	v32(state, CLASSIC);
}

static void vector_32_newest(void **state)
{
	v32(state, NEWEST);
}

static void vector_33(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	struct gisa_irq ai[3] = { t_ai(2), t_ai(2), t_ai(2) };

	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(t_enq1(vm, ai[i]), 0);
	assert_int_equal(st(vm).list_len[2], 3);
	expect_get_all(vm, ai, 3);
	for (unsigned i = 0; i < 3; i++)
		expect_deliver_ai(vm, 2);
	expect_nothing_pending(vm);
}

static void vector_34_classic(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA);

	assert_int_equal(t_enq1(vm, t_ai(0)), 0);
	expect_get_err(vm, REC, -ENOMEM);
	/* The failed GET already took the bit: it is lost. */
	assert_int_equal(st(vm).gisa.ipm, 0);
	expect_get(vm, 10 * REC, NULL, 0);
	expect_nothing_pending(vm);
}

static void vector_34_newest(void **state)
{
	struct gisa_vm *vm = fx_vm(state, NEWEST, GISA_CAP_GISA);
	struct gisa_irq ai = t_ai(0);

	assert_int_equal(t_enq1(vm, ai), 0);
	expect_get_err(vm, REC, -ENOMEM);
	assert_int_equal(st(vm).gisa.ipm, GISA_ISC_BIT(0));
	expect_get(vm, 10 * REC, &ai, 1);
	expect_deliver_ai(vm, 0);
	expect_nothing_pending(vm);
}

static void v35(void **state, enum gisa_profile profile)
{
	struct gisa_vm *vm = fx_vm(state, profile, GISA_CAP_GISA);
	struct gisa_irq ai = t_ai(7);

	assert_int_equal(t_enq1(vm, ai), 0);
	/* ISC 7 is the last loop iteration: no spare slot needed. */
	expect_get(vm, REC, &ai, 1);
	if (profile == CLASSIC) {
		assert_int_equal(st(vm).gisa.ipm, 0);
	} else {
		assert_int_equal(st(vm).gisa.ipm, GISA_ISC_BIT(7));
		expect_get(vm, REC, &ai, 1);
		expect_deliver_ai(vm, 7);
	}
	expect_nothing_pending(vm);
}

static void vector_35_classic(void **state)
{
	v35(state, CLASSIC);
}

static void vector_35_newest(void **state)
{
	v35(state, NEWEST);
}

static void v36(void **state, enum gisa_profile profile)
{
	struct gisa_vm *vm = fx_vm(state, profile, GISA_CAP_GISA);
	struct gisa_vm *fresh;
	struct gisa_irq ai[2] = { t_ai(0), t_ai(5) };

	assert_int_equal(t_enq1(vm, ai[0]), 0);
	assert_int_equal(t_enq1(vm, ai[1]), 0);
	assert_int_equal(st(vm).gisa.ipm, 0x84);
	expect_get_err(vm, 2 * REC, -ENOMEM);
	if (profile == CLASSIC) {
		/* Both bits were consumed by the failed call. */
		assert_int_equal(st(vm).gisa.ipm, 0);
		expect_nothing_pending(vm);
	} else {
		assert_int_equal(st(vm).gisa.ipm, 0x84);
		expect_get(vm, 3 * REC, ai, 2);
		expect_deliver_ai(vm, 0);
		expect_deliver_ai(vm, 5);
		expect_nothing_pending(vm);
	}

	/* A fresh identical state with one spare slot. */
	fresh = fx_vm(state, profile, GISA_CAP_GISA);
	assert_int_equal(t_enq1(fresh, ai[0]), 0);
	assert_int_equal(t_enq1(fresh, ai[1]), 0);
	expect_get(fresh, 3 * REC, ai, 2);
	assert_int_equal(st(fresh).gisa.ipm, profile == CLASSIC ? 0 : 0x84);
	if (profile == NEWEST) {
		expect_deliver_ai(fresh, 0);
		expect_deliver_ai(fresh, 5);
	}
	expect_nothing_pending(fresh);
}

static void vector_36_classic(void **state)
{
	v36(state, CLASSIC);
}

static void vector_36_newest(void **state)
{
	v36(state, NEWEST);
}

/* ---- Limits ------------------------------------------------------------- */

/* The i-th of n distinct classic I/O records, ISCs ascending with i. */
static struct gisa_irq fill_io(size_t i, size_t n)
{
	unsigned isc = (unsigned)(i * 8 / n);
	uint16_t id = (uint16_t)(0x0001 | ((i >> 16) & 3) << 1);

	return t_io(id, (uint16_t)i, (uint32_t)i, isc);
}

/*
 * n classic I/O records packed for one ENQUEUE.  ISCs ascend with the
 * index, so GET (ISC order, FIFO within an ISC) returns them as given.
 */
static uint8_t *fill_io_buf(size_t n, uint32_t per_isc[8])
{
	uint8_t *buf = xbuf(n * REC, 0);

	memset(per_isc, 0, 8 * sizeof(per_isc[0]));
	for (size_t i = 0; i < n; i++) {
		struct gisa_irq r = fill_io(i, n);

		gisa_irq_pack1(&r, GISA_BE, buf + i * REC);
		per_isc[GISA_IO_WORD_ISC(r.u.io.io_int_word)]++;
	}
	return buf;
}

/* Fill the I/O lists to the limit with one ENQUEUE and check it took. */
static uint8_t *fill_io_lists(struct gisa_vm *vm, uint32_t per_isc[8])
{
	const size_t n = GISA_MAX_FLOAT_IRQS;
	uint8_t *buf = fill_io_buf(n, per_isc);
	struct gisa_state s;

	assert_true(n * REC <= GISA_FLIC_MAX_BUFFER);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, buf, n * REC), 0);
	s = st(vm);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(s.list_len[i], per_isc[i]);
	assert_int_equal(io_entries(&s), n);
	return buf;
}

static void v37(void **state, uint32_t caps)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, caps);
	const bool gisa = caps & GISA_CAP_GISA;
	const size_t n = GISA_MAX_FLOAT_IRQS;
	uint32_t per_isc[8];
	uint8_t *fill = fill_io_lists(vm, per_isc);
	struct gisa_irq extra = t_io(0x0003, 0xffff, 0xabcd, 4), virt = t_virt(5, 6);
	struct gisa_irq ai = t_ai(7), first = fill_io(0, n);
	size_t nget = n + 1 + (gisa ? 1 : 0);
	uint8_t *want = xbuf(nget * REC, 0);
	uint8_t *p = want;
	struct gisa_state s;

	assert_int_equal(t_enq1(vm, extra), -EBUSY);
	/* An AI record needs no list entry when a GISA takes it. */
	assert_int_equal(t_enq1(vm, ai), gisa ? 0 : -EBUSY);
	assert_int_equal(t_enq1(vm, virt), 0);
	s = st(vm);
	assert_int_equal(io_entries(&s), n);
	assert_int_equal(s.list_len[7], per_isc[7]);
	assert_int_equal(s.list_len[GISA_LIST_VIRTIO], 1);
	assert_int_equal(s.gisa.ipm, gisa ? GISA_ISC_BIT(7) : 0);

	/* Everything in one GET: [AI(7)], the fill in order, VIRT. */
	if (gisa) {
		gisa_irq_pack1(&ai, GISA_BE, p);
		p += REC;
	}
	memcpy(p, fill, n * REC);
	p += n * REC;
	gisa_irq_pack1(&virt, GISA_BE, p);
	expect_get_bytes(vm, GISA_FLIC_MAX_BUFFER, want, nget);
	free(want);
	free(fill);
	/* CLASSIC GET consumed the IPM bit. */
	assert_int_equal(st(vm).gisa.ipm, 0);

	/* VIRTIO outranks I/O; then the head of ISC 0 goes. */
	expect_deliver_virt(vm, 5, 6);
	expect_deliver_io(vm, &first);
	assert_int_equal(t_enq1(vm, extra), 0);
	assert_int_equal(t_enq1(vm, extra), -EBUSY);
	s = st(vm);
	assert_int_equal(io_entries(&s), n);
	assert_int_equal(s.list_len[0], per_isc[0] - 1);
	assert_int_equal(s.list_len[4], per_isc[4] + 1);
	assert_int_equal(s.list_len[GISA_LIST_VIRTIO], 0);
}

static void vector_37_nogisa(void **state)
{
	v37(state, 0);
}

static void vector_37_gisa(void **state)
{
	v37(state, GISA_CAP_GISA);
}

/* Fill an ext list (VIRTIO or PFAULT_DONE) to its limit, one ENQUEUE. */
static void ext_limit(void **state, bool virtio)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, 0);
	const size_t n = virtio ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_PFAULT_IRQS;
	const unsigned list = virtio ? GISA_LIST_VIRTIO : GISA_LIST_PFAULT;
	uint8_t *buf = xbuf(n * REC, 0);
	struct gisa_irq extra = virtio ? t_virt(0xffff, 1) : t_pfd(0xffff);
	struct gisa_state s;

	for (size_t i = 0; i < n; i++) {
		struct gisa_irq r = virtio ? t_virt((uint32_t)i, (uint64_t)i << 32 | 0x1234)
					   : t_pfd((uint64_t)i + 1);

		gisa_irq_pack1(&r, GISA_BE, buf + i * REC);
	}
	assert_int_equal(t_set_attr(vm, GISA_FLIC_ENQUEUE, n * REC, buf, n * REC), 0);
	assert_int_equal(st(vm).list_len[list], n);
	assert_int_equal(t_enq1(vm, extra), -EBUSY);
	assert_int_equal(st(vm).list_len[list], n);
	expect_get_bytes(vm, GISA_FLIC_MAX_BUFFER, buf, n);
	free(buf);

	/* Taking one makes room for exactly one. */
	if (virtio)
		expect_deliver_virt(vm, 0, 0x1234);
	else
		expect_deliver_pfd(vm, 1);
	assert_int_equal(t_enq1(vm, extra), 0);
	assert_int_equal(t_enq1(vm, extra), -EBUSY);

	s = st(vm);
	assert_int_equal(s.list_len[list], n);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		if (i != list)
			assert_int_equal(s.list_len[i], 0);
	assert_int_equal(s.pending_irqs,
			 BIT(virtio ? GISA_IRQ_VIRTIO : GISA_IRQ_PFAULT_DONE));
}

static void vector_38(void **state)
{
	ext_limit(state, true);
}

static void vector_39(void **state)
{
	ext_limit(state, false);
}

/* ---- CLEAR_IRQS --------------------------------------------------------- */

static void vector_40(void **state)
{
	struct gisa_vm *vm = fx_vm(state, CLASSIC, GISA_CAP_GISA | GISA_CAP_AIS);
	struct gisa_route_entry route = t_route(1, 0x10000, 0, 0x20000, 0, 3);
	struct gisa_state_adapter ad;
	struct gisa_irq io = t_io(0x0001, 0x77, 0x99, 1);
	uint8_t simm = 0, nimm = 0;
	uint32_t per_isc[8];
	struct gisa_state s;

	/* Configuration that CLEAR_IRQS must leave alone. */
	assert_int_equal(t_register(vm, 3, 3, 1, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_modify(vm, 3, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, &route, 1, 0), 0);
	assert_true(gisa_gisc_register(vm, 3) >= 0);
	assert_int_equal(t_aism_all_set(vm, 0x20, 0x20), 0);

	/* Every kind of floating interrupt, I/O lists full. */
	free(fill_io_lists(vm, per_isc));
	assert_int_equal(t_enq1(vm, t_srv(0x1001)), 0);
	assert_int_equal(t_enq1(vm, t_mck(0x10000000, 1)), 0);
	assert_int_equal(t_enq1(vm, t_virt(1, 2)), 0);
	assert_int_equal(t_enq1(vm, t_pfd(7)), 0);
	assert_int_equal(t_enq1(vm, t_ai(2)), 0);
	assert_int_equal(t_enq1(vm, t_ai(6)), 0);
	assert_int_equal(t_enq1(vm, io), -EBUSY);
	s = st(vm);
	assert_int_equal(s.gisa.ipm, GISA_ISC_BIT(2) | GISA_ISC_BIT(6));
	assert_int_equal(s.gisa.iam, GISA_ISC_BIT(3));
	assert_int_equal(s.list_len[GISA_LIST_VIRTIO], 1);
	assert_int_equal(s.list_len[GISA_LIST_PFAULT], 1);
	assert_int_equal(s.srv_ext_params, 0x1001);
	assert_int_equal(s.mchk_mcic, 1);

	assert_int_equal(t_clear_irqs(vm), 0);
	expect_state_empty(vm);
	expect_get_all(vm, NULL, 0);

	/* Not touched: AIS, adapters (masked flag too), routes, IAM. */
	s = st(vm);
	assert_int_equal(s.simm, 0x20);
	assert_int_equal(s.nimm, 0x20);
	assert_int_equal(s.gisa.iam, GISA_ISC_BIT(3));
	assert_int_equal(s.gisa.alert_mask, GISA_ISC_BIT(3));
	assert_int_equal(s.adapter_mask, 1ull << 3);
	assert_int_equal(s.nr_routes, 1);
	assert_int_equal(gisa_state_adapter(vm, 3, &ad), 0);
	assert_true(ad.masked);
	assert_true(ad.suppressible);

	assert_int_equal(t_enq1(vm, io), 0);
	expect_get_all(vm, &io, 1);
	assert_int_equal(t_aism_all_get(vm, &simm, &nimm), 0);
	assert_int_equal(simm, 0x20);
	assert_int_equal(nimm, 0x20);
	assert_int_equal(t_register(vm, 3, 3, 0, 0, 0), -EINVAL);

	expect_deliver_io(vm, &io);
	expect_nothing_pending(vm);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(vector_01),
		T(vector_02),
		T(vector_03),
		T(vector_04),
		T(vector_05),
		T(vector_06),
		T(vector_07),
		T(vector_08),
		T(vector_09),
		T(vector_10),
		T(vector_11),
		T(vector_12),
		T(vector_13),
		T(vector_14),
		T(vector_15),
		T(vector_16),
		T(vector_17),
		T(vector_18),
		T(vector_19),
		T(vector_20),
		T(vector_21_classic),
		T(vector_21_newest),
		T(vector_22_classic),
		T(vector_22_newest),
		T(vector_23),
		T(vector_24),
		T(vector_25),
		T(vector_26),
		T(vector_27),
		T(vector_28_classic),
		T(vector_28_newest),
		T(vector_29),
		T(vector_30),
		T(vector_31),
		T(vector_32_classic),
		T(vector_32_newest),
		T(vector_33),
		T(vector_34_classic),
		T(vector_34_newest),
		T(vector_35_classic),
		T(vector_35_newest),
		T(vector_36_classic),
		T(vector_36_newest),
		T(vector_37_nogisa),
		T(vector_37_gisa),
		T(vector_38),
		T(vector_39),
		T(vector_40),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
