/* SPDX-License-Identifier: MIT */
/*
 * KVM and QEMU conversions (convert.h): byte-exact GET_ALL_IRQS buffers for
 * images of seeded random VMs in both byte orders, KVM -> image -> KVM
 * identity, spec vectors 74 and 75 as conversions, ENQUEUE errors naming
 * the record, and QEMU payload framing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gisa/convert.h>
#include <gisa/image.h>

#include "support.h"

/* ---- helpers -------------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	/* splitmix64: fixed seeds give fixed states on every host. */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

static struct gisa_vm *vm_new(struct gisa_host *host, enum gisa_profile profile, uint32_t caps,
			      uint32_t nr_vcpus, enum gisa_byteorder order)
{
	struct gisa_vm_config cfg = {
		.profile = profile, .caps = caps, .nr_vcpus = nr_vcpus, .abi_order = order,
	};
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_vm_new(host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
	return vm;
}

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

static int inject(struct gisa_vm *vm, struct gisa_irq irq)
{
	return gisa_vm_inject(vm, &irq);
}

/* GET_ALL_IRQS with the largest buffer; returns the count, *ret the bytes. */
static size_t get_raw(struct gisa_vm *vm, uint8_t **ret)
{
	uint8_t *buf = malloc(GISA_FLIC_MAX_BUFFER);
	struct gisa_attr a = {
		.group = GISA_FLIC_GET_ALL_IRQS, .attr = GISA_FLIC_MAX_BUFFER,
		.addr = { .data = buf, .len = GISA_FLIC_MAX_BUFFER },
	};
	int r;

	assert_non_null(buf);
	r = gisa_flic_get_attr(vm, &a);
	assert_true(r >= 0);
	*ret = buf;
	return (size_t)r;
}

static void io_eq(const struct gisa_io_info *a, const struct gisa_io_info *b)
{
	assert_int_equal(a->subchannel_id, b->subchannel_id);
	assert_int_equal(a->subchannel_nr, b->subchannel_nr);
	assert_int_equal(a->io_int_parm, b->io_int_parm);
	assert_int_equal(a->io_int_word, b->io_int_word);
}

/* The floating state KVM can express: lists, accumulators, IPM, AIS bits. */
static void float_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		assert_int_equal(a->lists[l].n, b->lists[l].n);
		for (uint32_t i = 0; i < a->lists[l].n; i++) {
			const struct gisa_list_entry *x = &a->lists[l].e[i], *y = &b->lists[l].e[i];

			if (l <= GISA_MAX_ISC) {
				assert_int_equal(x->type, y->type);
				io_eq(&x->u.io, &y->u.io);
			} else {
				assert_int_equal(x->u.ext.ext_params, y->u.ext.ext_params);
				assert_int_equal(x->u.ext.pad, y->u.ext.pad);
				assert_int_equal(x->u.ext.ext_params2, y->u.ext.ext_params2);
			}
		}
	}
	assert_int_equal(a->fl.service_pending, b->fl.service_pending);
	assert_int_equal(a->fl.service_ev_pending, b->fl.service_ev_pending);
	assert_int_equal(a->fl.mchk_pending, b->fl.mchk_pending);
	assert_int_equal(a->fl.srv_ext_params, b->fl.srv_ext_params);
	assert_int_equal(a->fl.mchk_cr14, b->fl.mchk_cr14);
	assert_int_equal(a->fl.mchk_mcic, b->fl.mchk_mcic);
	assert_int_equal(a->fl.simm, b->fl.simm);
	assert_int_equal(a->fl.nimm, b->fl.nimm);
	assert_int_equal(a->gisa.present, b->gisa.present);
	assert_int_equal(a->gisa.ipm, b->gisa.ipm);
}

/* Swap every field of a BE record buffer to LE, by the record's type. */
static void swap_records(const uint8_t *be, uint8_t *le, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gisa_irq irq;

		gisa_irq_unpack1(be + i * GISA_IRQ_SIZE, GISA_BE, &irq);
		gisa_irq_pack1(&irq, GISA_LE, le + i * GISA_IRQ_SIZE);
	}
}

static void deliver_io(struct gisa_vm *vm, uint64_t type, const struct gisa_io_info *want)
{
	struct gisa_delivery d;

	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 1);
	assert_int_equal(d.kind, GISA_DELIVER_IO);
	assert_int_equal(d.type, type);
	io_eq(&d.u.io, want);
}

/*
 * A seeded random VM: classic and AI I/O on all ISCs, virtio with pad and
 * second parameter, pfault-done, service signals, machine checks, adapter
 * injections under AIS modes, and deliveries / TPI that consume some.
 */
static struct gisa_vm *random_vm(struct gisa_host *host, uint64_t seed, enum gisa_profile p,
				 uint32_t caps, enum gisa_byteorder order, unsigned ops)
{
	struct gisa_vm *vm = vm_new(host, p, caps, 2, order);
	struct rng r = { seed };

	for (uint32_t id = 0; id < 4; id++) {
		struct gisa_io_adapter a = { id, (uint8_t)rn(&r, 8), 0, 1,
					     (uint8_t)(id & 1 ? GISA_ADAPTER_SUPPRESSIBLE : 0) };
		uint8_t b[GISA_IO_ADAPTER_SIZE];

		gisa_io_adapter_pack(&a, order, b);
		assert_int_equal(set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b)), 0);
	}
	t_vcpu_all_on(vm, 0);
	for (unsigned k = 0; k < ops; k++) {
		unsigned isc = rn(&r, 8);
		struct gisa_irq q;

		switch (rn(&r, 14)) {
		case 0: case 1: case 2: case 3:
			q = t_io((uint16_t)rnd(&r), (uint16_t)rnd(&r), (uint32_t)rnd(&r), isc);
			assert_int_equal(inject(vm, q), 0);
			break;
		case 4:
			q = t_ai(isc);
			if (rn(&r, 2))
				q.u.io.io_int_parm = (uint32_t)rnd(&r);
			assert_int_equal(inject(vm, q), 0);
			break;
		case 5:
			q = t_virt((uint32_t)rnd(&r), rnd(&r));
			q.u.ext.pad = (uint32_t)rnd(&r);
			assert_int_equal(inject(vm, q), 0);
			break;
		case 6:
			assert_int_equal(inject(vm, t_pfd(rnd(&r))), 0);
			break;
		case 7:
			if (rn(&r, 4) == 0)
				assert_int_equal(inject(vm, t_srv((uint32_t)rnd(&r))), 0);
			break;
		case 8:
			if (rn(&r, 4) == 0)
				assert_int_equal(inject(vm, t_mck(rnd(&r), rnd(&r) & 0xffff)), 0);
			break;
		case 9:
			assert_int_equal(t_airq(vm, rn(&r, 4)), 0);
			break;
		case 10:
			if (caps & GISA_CAP_AIS) {
				struct gisa_ais_req a = { (uint8_t)isc, (uint16_t)rn(&r, 2) };
				uint8_t b[GISA_AIS_REQ_SIZE];

				gisa_ais_req_pack(&a, order, b);
				assert_int_equal(set_attr(vm, GISA_FLIC_AISM, 0, b, sizeof(b)), 0);
			}
			break;
		case 11: {
			struct gisa_delivery d;

			assert_true(gisa_vcpu_deliver(vm, 0, &d) >= 0);
			break;
		}
		case 12: {
			struct gisa_irq t;

			assert_true(gisa_vcpu_tpi(vm, 0, &t) >= 0);
			break;
		}
		default:
			q = t_io(0x0001, (uint16_t)rn(&r, 4), (uint32_t)rnd(&r), isc);
			assert_int_equal(inject(vm, q), 0);
			break;
		}
	}
	return vm;
}

static const uint32_t all_caps[] = { 0, GISA_CAP_GISA, GISA_CAP_AIS, GISA_CAP_ALL };

/* ---- image -> KVM: byte-exact against the source's own GET ---------------- */

/* Returns the number of records, so callers can see the states are not trivial. */
static size_t check_export(struct gisa_vm *src, enum gisa_byteorder order)
{
	struct gisa_kvm_flic k, k2;
	struct gisa_image *img;
	struct gisa_vm_config cfg;
	uint8_t *want;
	size_t n;

	gisa_vm_config(src, &cfg);
	assert_int_equal(gisa_image_from_vm(src, &img), 0);
	assert_int_equal(gisa_kvm_from_image(img, order, &k, NULL), 0);
	assert_int_equal(k.order, order);
	/* The image is not changed: a second export is identical. */
	assert_int_equal(gisa_kvm_from_image(img, order, &k2, NULL), 0);
	assert_int_equal(k2.nr_irqs, k.nr_irqs);
	if (k.nr_irqs)
		assert_memory_equal(k2.irqs, k.irqs, k.nr_irqs * GISA_IRQ_SIZE);
	gisa_kvm_flic_release(&k2);

	/* The source VM reads in its own byte order; this GET may be destructive. */
	n = get_raw(src, &want);
	assert_int_equal(k.nr_irqs, n);
	if (cfg.abi_order == order) {
		if (n)
			assert_memory_equal(k.irqs, want, n * GISA_IRQ_SIZE);
	} else {
		uint8_t *sw = malloc(n * GISA_IRQ_SIZE + 1);

		assert_non_null(sw);
		for (size_t i = 0; i < n; i++) {
			struct gisa_irq irq;

			gisa_irq_unpack1(want + i * GISA_IRQ_SIZE, cfg.abi_order, &irq);
			gisa_irq_pack1(&irq, order, sw + i * GISA_IRQ_SIZE);
		}
		if (n)
			assert_memory_equal(k.irqs, sw, n * GISA_IRQ_SIZE);
		free(sw);
	}
	free(want);

	assert_int_equal(k.has_ais, !!(cfg.caps & GISA_CAP_AIS));
	if (k.has_ais) {
		assert_int_equal(k.ais.simm, img->fl.simm);
		assert_int_equal(k.ais.nimm, img->fl.nimm);
	} else {
		assert_int_equal(k.ais.simm, 0);
		assert_int_equal(k.ais.nimm, 0);
	}
	gisa_kvm_flic_release(&k);
	assert_null(k.irqs);
	gisa_image_free(img);
	return n;
}

static void export_case(enum gisa_profile p, uint32_t caps, enum gisa_byteorder vm_order,
			uint64_t seed)
{
	const unsigned ops = 150 + 40 * (unsigned)(seed % 8);
	enum gisa_byteorder other = vm_order == GISA_BE ? GISA_LE : GISA_BE;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;

	assert_int_equal(gisa_host_new(NULL, &host), 0);
	/* Export in the VM's own byte order and in the other one. */
	vm = random_vm(host, seed, p, caps, vm_order, ops);
	assert_true(check_export(vm, vm_order) >= 20);
	gisa_vm_free(vm);
	vm = random_vm(host, seed, p, caps, vm_order, ops);
	assert_true(check_export(vm, other) >= 20);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

static void test_export_random(void **state)
{
	(void)state;
	for (unsigned p = 0; p < 2; p++)
		for (unsigned c = 0; c < 4; c++)
			for (uint64_t seed = 1; seed <= 6; seed++) {
				export_case(p, all_caps[c], GISA_BE, seed * 131 + c * 7 + p);
				export_case(p, all_caps[c], GISA_LE, seed * 137 + c * 5 + p);
			}
}

/* NEWEST: the source's GET is not destructive, so compare twice, in place. */
static void test_export_newest_nondestructive(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img;
	struct gisa_kvm_flic k;
	uint8_t *a, *b;
	size_t na, nb;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = random_vm(host, 77, GISA_PROFILE_NEWEST, GISA_CAP_ALL, GISA_BE, 400);
	assert_int_equal(inject(vm, t_ai(0)), 0);
	assert_int_equal(inject(vm, t_ai(7)), 0);
	na = get_raw(vm, &a);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);
	nb = get_raw(vm, &b);
	assert_int_equal(na, nb);
	assert_int_equal(k.nr_irqs, na);
	assert_memory_equal(k.irqs, a, na * GISA_IRQ_SIZE);
	assert_memory_equal(b, a, na * GISA_IRQ_SIZE);
	/* The GISA part comes first: AI(0) then AI(7). */
	{
		struct gisa_irq first, want = t_ai(0);

		gisa_irq_unpack1(k.irqs, GISA_BE, &first);
		t_assert_irq_eq(&first, &want);
	}
	free(a);
	free(b);
	gisa_kvm_flic_release(&k);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* The largest state the engine's limits allow: 369,961 records in one pass. */
static void test_export_maximum(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img, *back;
	struct gisa_kvm_flic k, k2;
	struct gisa_vm_config cfg;
	uint8_t *want;
	size_t n;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_NEWEST, GISA_CAP_GISA, 1, GISA_BE);
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS; i++)
		assert_int_equal(inject(vm, t_io((uint16_t)(i >> 16), (uint16_t)i, i, i % 8)), 0);
	for (uint32_t i = 0; i < GISA_MAX_VIRTIO_IRQS; i++)
		assert_int_equal(inject(vm, t_virt(i, i)), 0);
	for (uint32_t i = 0; i < GISA_MAX_PFAULT_IRQS; i++)
		assert_int_equal(inject(vm, t_pfd(i)), 0);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(inject(vm, t_ai(i)), 0);
	assert_int_equal(inject(vm, t_srv(0x1001)), 0);
	assert_int_equal(inject(vm, t_mck(GISA_CR14_CHANNEL_REPORT, 1)), 0);

	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);
	assert_int_equal(k.nr_irqs, 369961);
	n = get_raw(vm, &want);
	assert_int_equal(n, 369961);
	assert_memory_equal(k.irqs, want, n * GISA_IRQ_SIZE);
	free(want);

	/* And back: the same floating state, the same bytes. */
	gisa_vm_config(vm, &cfg);
	assert_int_equal(gisa_kvm_to_image(k.irqs, k.nr_irqs * GISA_IRQ_SIZE, GISA_BE, NULL, &cfg,
					   &back, NULL), 0);
	float_eq(img, back);
	assert_int_equal(gisa_kvm_from_image(back, GISA_BE, &k2, NULL), 0);
	assert_int_equal(k2.nr_irqs, k.nr_irqs);
	assert_memory_equal(k2.irqs, k.irqs, k.nr_irqs * GISA_IRQ_SIZE);
	gisa_kvm_flic_release(&k);
	gisa_kvm_flic_release(&k2);
	gisa_image_free(back);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* More records than one GET buffer holds: -E2BIG before anything is built. */
static void test_export_too_big(void **state)
{
	struct gisa_image *img;
	struct gisa_kvm_flic k = { .nr_irqs = 99 };
	struct gisa_restore_error err;

	(void)state;
	assert_int_equal(gisa_image_new(&img), 0);
	assert_int_equal(gisa_image_set_list(img, 0, GISA_MAX_FLOAT_IRQS), 0);
	assert_int_equal(gisa_image_set_list(img, 1, GISA_MAX_FLOAT_IRQS), 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, &err), -E2BIG);
	assert_string_equal(err.field, "lists");
	assert_int_equal(err.value, 2 * GISA_MAX_FLOAT_IRQS);
	assert_int_equal(k.nr_irqs, 99);   /* untouched on error */
	gisa_image_free(img);

	/* An image that does not build names what failed. */
	assert_int_equal(gisa_image_new(&img), 0);
	img->fl.mchk_cr14 = 1;
	img->fl.mchk_pending = true;
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, &err), -EINVAL);
	assert_string_equal(err.field, "mchk_cr14");
	assert_int_equal(gisa_kvm_from_image(img, (enum gisa_byteorder)2, &k, &err), -EINVAL);
	assert_string_equal(err.field, "order");
	gisa_image_free(img);
}

/* ---- KVM -> image -> KVM --------------------------------------------------- */

static void identity_case(enum gisa_profile p, uint32_t caps, enum gisa_byteorder order,
			  uint64_t seed)
{
	struct gisa_host *host = NULL;
	struct gisa_image *img, *back;
	struct gisa_kvm_flic k, k2;
	struct gisa_vm_config cfg;
	struct gisa_vm *vm;

	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = random_vm(host, seed, p, caps, GISA_BE, 300);
	gisa_vm_config(vm, &cfg);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	assert_int_equal(gisa_kvm_from_image(img, order, &k, NULL), 0);
	cfg.abi_order = GISA_LE;   /* the image takes the destination's order */
	assert_int_equal(gisa_kvm_to_image(k.irqs, k.nr_irqs * GISA_IRQ_SIZE, order,
					   k.has_ais ? &k.ais : NULL, &cfg, &back, NULL), 0);
	assert_int_equal(back->config.abi_order, GISA_LE);
	assert_int_equal(back->config.profile, p);
	assert_int_equal(back->config.caps, caps);
	float_eq(img, back);
	assert_int_equal(gisa_kvm_from_image(back, order, &k2, NULL), 0);
	assert_int_equal(k2.nr_irqs, k.nr_irqs);
	if (k.nr_irqs)
		assert_memory_equal(k2.irqs, k.irqs, k.nr_irqs * GISA_IRQ_SIZE);
	assert_int_equal(k2.has_ais, k.has_ais);
	assert_memory_equal(&k2.ais, &k.ais, sizeof(k.ais));
	gisa_kvm_flic_release(&k);
	gisa_kvm_flic_release(&k2);
	gisa_image_free(img);
	gisa_image_free(back);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

static void test_kvm_identity_random(void **state)
{
	(void)state;
	for (unsigned p = 0; p < 2; p++)
		for (unsigned c = 0; c < 4; c++)
			for (uint64_t seed = 1; seed <= 4; seed++) {
				identity_case(p, all_caps[c], GISA_BE, seed * 977 + c + 13 * p);
				identity_case(p, all_caps[c], GISA_LE, seed * 983 + c + 11 * p);
			}
}

/* A buffer in LE and the same buffer in BE give the same image. */
static void test_kvm_byte_orders(void **state)
{
	const struct gisa_irq recs[] = {
		t_io(0xfe01, 0x1234, 0xdeadbeef, 3), t_ai(5), t_virt(0x11, 0x33),
		t_pfd(0x0102030405060708ull), t_srv(0x12345671),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x8000000000000001ull),
	};
	const size_t n = sizeof(recs) / sizeof(recs[0]);
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .nr_vcpus = 1 };
	uint8_t be[6 * GISA_IRQ_SIZE], le[6 * GISA_IRQ_SIZE];
	struct gisa_image *a, *b;
	struct gisa_kvm_flic k;

	(void)state;
	assert_int_equal(gisa_irq_pack(recs, n, GISA_BE, be, sizeof(be)), 0);
	swap_records(be, le, n);
	assert_memory_not_equal(be, le, sizeof(be));
	assert_int_equal(gisa_kvm_to_image(be, sizeof(be), GISA_BE, NULL, &cfg, &a, NULL), 0);
	assert_int_equal(gisa_kvm_to_image(le, sizeof(le), GISA_LE, NULL, &cfg, &b, NULL), 0);
	float_eq(a, b);
	assert_int_equal(a->lists[3].n, 1);
	assert_int_equal(a->lists[3].e[0].type, 0x03f81234);
	assert_int_equal(a->lists[5].n, 1);
	assert_int_equal(a->fl.srv_ext_params, 0x12345671);
	assert_int_equal(a->fl.mchk_mcic, 0x8000000000000001ull);
	/* Both orders out: exactly the input bytes (GISA-less, in kernel order). */
	assert_int_equal(gisa_kvm_from_image(a, GISA_LE, &k, NULL), 0);
	assert_int_equal(k.nr_irqs, n);
	/* Kernel order: lists 0..9 (ISC 3 before ISC 5), then pfault, virtio, srv, mchk. */
	{
		const struct gisa_irq order_want[] = { recs[0], recs[1], recs[3], recs[2],
						       recs[4], recs[5] };
		uint8_t want[6 * GISA_IRQ_SIZE];

		assert_int_equal(gisa_irq_pack(order_want, n, GISA_LE, want, sizeof(want)), 0);
		assert_memory_equal(k.irqs, want, sizeof(want));
	}
	gisa_kvm_flic_release(&k);
	gisa_image_free(a);
	gisa_image_free(b);
}

/* Vector 74 as a conversion: no GISA both sides, bytes identical. */
static void test_vector74(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_vm_config cfg;
	struct gisa_image *img;
	struct gisa_kvm_flic k;
	uint8_t *b, *b2;
	size_t n, n2;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_CLASSIC, 0, 1, GISA_BE);
	assert_int_equal(inject(src, t_io(0x0001, 1, 0x10, 0)), 0);
	assert_int_equal(inject(src, t_io(0x0001, 2, 0x20, 4)), 0);
	assert_int_equal(inject(src, t_io(0x0001, 3, 0x30, 4)), 0);
	assert_int_equal(inject(src, t_virt(1, 2)), 0);
	assert_int_equal(inject(src, t_pfd(7)), 0);
	assert_int_equal(inject(src, t_srv(0x1001)), 0);
	assert_int_equal(inject(src, t_mck(0x10000000, 1)), 0);
	n = get_raw(src, &b);
	assert_int_equal(n, 7);

	gisa_vm_config(src, &cfg);
	assert_int_equal(gisa_kvm_to_image(b, n * GISA_IRQ_SIZE, GISA_BE, NULL, &cfg, &img, NULL),
			 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);
	assert_int_equal(k.nr_irqs, 7);
	assert_memory_equal(k.irqs, b, n * GISA_IRQ_SIZE);
	assert_false(k.has_ais);

	/* The image builds, and the built VM's own GET is B again. */
	assert_int_equal(gisa_image_build_vm(img, host, &dst, NULL), 0);
	n2 = get_raw(dst, &b2);
	assert_int_equal(n2, 7);
	assert_memory_equal(b2, b, n * GISA_IRQ_SIZE);
	free(b);
	free(b2);
	gisa_kvm_flic_release(&k);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

/* Vector 75: GISA source, no-GISA target: the AI is now delivered first. */
static void test_vector75(void **state)
{
	const struct gisa_irq c = t_io(0x0001, 9, 0xc, 1), ai = t_ai(1);
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .nr_vcpus = 1 };
	struct gisa_image *img, *out;
	struct gisa_kvm_flic k;
	struct gisa_irq got[2];
	struct gisa_delivery d;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1, GISA_BE);
	assert_int_equal(inject(src, c), 0);
	assert_int_equal(inject(src, ai), 0);
	assert_int_equal(gisa_image_from_vm(src, &img), 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);
	assert_int_equal(k.nr_irqs, 2);
	assert_int_equal(gisa_irq_unpack(k.irqs, 2 * GISA_IRQ_SIZE, GISA_BE, got, 2), 0);
	t_assert_irq_eq(&got[0], &ai);
	t_assert_irq_eq(&got[1], &c);
	/* Export did not consume the source's IPM, even in CLASSIC. */
	{
		struct gisa_state st;

		gisa_state_read(src, &st);
		assert_int_equal(st.gisa.ipm, 0x40);
	}

	assert_int_equal(gisa_kvm_to_image(k.irqs, 2 * GISA_IRQ_SIZE, GISA_BE, NULL, &cfg, &out,
					   NULL), 0);
	assert_int_equal(out->lists[1].n, 2);
	assert_int_equal(out->lists[1].e[0].type, GISA_INT_IO_AI_MASK);
	assert_false(out->gisa.present);
	assert_int_equal(gisa_image_build_vm(out, host, &dst, NULL), 0);
	t_vcpu_all_on(dst, 0);
	deliver_io(dst, GISA_INT_IO_AI_MASK, &ai.u.io);
	deliver_io(dst, c.type, &c.u.io);
	assert_int_equal(gisa_vcpu_deliver(dst, 0, &d), 0);

	/* On the source the order was C, then AI(1). */
	t_vcpu_all_on(src, 0);
	deliver_io(src, c.type, &c.u.io);
	deliver_io(src, GISA_INT_IO_AI_MASK, &ai.u.io);
	assert_int_equal(gisa_vcpu_deliver(src, 0, &d), 0);

	/* And back to a GISA target: the AI record is the IPM bit again. */
	gisa_image_free(out);
	cfg.caps = GISA_CAP_GISA;
	assert_int_equal(gisa_kvm_to_image(k.irqs, 2 * GISA_IRQ_SIZE, GISA_BE, NULL, &cfg, &out,
					   NULL), 0);
	float_eq(img, out);
	gisa_kvm_flic_release(&k);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

/* What KVM -> image applies: KVM's merges, coalescing and limits. */
static void test_kvm_semantics(void **state)
{
	const struct gisa_irq recs[] = {
		t_ai(2), t_srv(0x1000), t_ai(2), t_srv(0x2003), t_mck(~0ull, 1), t_mck(0, 2),
		t_io(1, 1, 1, 2),
	};
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .caps = GISA_CAP_GISA,
				      .nr_vcpus = 3 };
	uint8_t b[7 * GISA_IRQ_SIZE];
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_irq_pack(recs, 7, GISA_BE, b, sizeof(b)), 0);
	assert_int_equal(gisa_kvm_to_image(b, sizeof(b), GISA_BE, NULL, &cfg, &img, NULL), 0);
	assert_int_equal(img->gisa.ipm, 0x20);
	assert_int_equal(img->lists[2].n, 1);
	assert_int_equal(img->fl.srv_ext_params, 0x1003);   /* first SCCB wins */
	assert_true(img->fl.service_pending);
	assert_true(img->fl.service_ev_pending);
	assert_int_equal(img->fl.mchk_cr14, GISA_CR14_CHANNEL_REPORT);
	assert_int_equal(img->fl.mchk_mcic, 3);
	assert_true(img->fl.flic_present);
	assert_false(img->fl.apf_enabled);
	/* Every record kicked: the CLASSIC round robin moved 7 times over 3 vcpus. */
	assert_int_equal(img->fl.kick_cursor, 7 % 3);
	assert_int_equal(img->nr_vcpus, 3);
	assert_int_equal(img->nr_adapters, 0);
	assert_int_equal(img->nr_routes, 0);
	assert_int_equal(img->nr_memslots, 0);
	gisa_image_free(img);

	/* Without a GISA the two AI records stay two list entries. */
	cfg.caps = 0;
	assert_int_equal(gisa_kvm_to_image(b, sizeof(b), GISA_BE, NULL, &cfg, &img, NULL), 0);
	assert_int_equal(img->lists[2].n, 3);
	assert_false(img->gisa.present);
	gisa_image_free(img);

	/* An empty buffer is an empty floating state. */
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, NULL), 0);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		assert_int_equal(img->lists[l].n, 0);
	assert_false(img->fl.service_pending);
	gisa_image_free(img);
}

static void test_kvm_ais(void **state)
{
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_NEWEST, .caps = GISA_CAP_AIS };
	struct gisa_ais_all ais = { 0x12, 0x34 }, zero = { 0, 0 };
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	struct gisa_kvm_flic k;

	(void)state;
	/* Any bit pattern (nimm without simm included), as AISM_ALL set takes it. */
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, &ais, &cfg, &img, NULL), 0);
	assert_int_equal(img->fl.simm, 0x12);
	assert_int_equal(img->fl.nimm, 0x34);
	assert_int_equal(gisa_kvm_from_image(img, GISA_LE, &k, NULL), 0);
	assert_true(k.has_ais);
	assert_int_equal(k.ais.simm, 0x12);
	assert_int_equal(k.ais.nimm, 0x34);
	assert_int_equal(k.nr_irqs, 0);
	gisa_kvm_flic_release(&k);
	gisa_image_free(img);

	/* Absent bytes with AIS: all ISCs in ALL mode. */
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, NULL), 0);
	assert_int_equal(img->fl.simm, 0);
	assert_int_equal(img->fl.nimm, 0);
	gisa_image_free(img);

	/* No AIS at the destination: zero bytes carry nothing, others cannot go. */
	cfg.caps = 0;
	img = NULL;
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, &ais, &cfg, &img, &err), -EOPNOTSUPP);
	assert_null(img);
	assert_string_equal(err.field, "ais");
	assert_int_equal(err.value, 0x1234);
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, &zero, &cfg, &img, NULL), 0);
	assert_int_equal(img->config.caps, 0);
	gisa_image_free(img);
}

static void test_kvm_errors(void **state)
{
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .nr_vcpus = 1 };
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	struct gisa_irq recs[3];
	uint8_t b[3 * GISA_IRQ_SIZE];
	uint8_t *big;

	(void)state;
	/* Lengths: not whole records, over the cap (checked before any read). */
	memset(b, 0, sizeof(b));
	assert_int_equal(gisa_kvm_to_image(b, 71, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "irqs");
	assert_int_equal(err.value, 71);
	assert_int_equal(gisa_kvm_to_image(b, 145, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	assert_int_equal(gisa_kvm_to_image(b, GISA_FLIC_MAX_BUFFER + 72, GISA_BE, NULL, &cfg, &img,
					   &err), -E2BIG);
	assert_string_equal(err.field, "irqs");
	assert_int_equal(err.value, GISA_FLIC_MAX_BUFFER + 72);
	assert_int_equal(gisa_kvm_to_image(b, GISA_FLIC_MAX_BUFFER + 1, GISA_BE, NULL, &cfg, &img,
					   &err), -E2BIG);
	assert_int_equal(gisa_kvm_to_image(b, 72, (enum gisa_byteorder)7, NULL, &cfg, &img, &err),
			 -EINVAL);
	assert_null(img);

	/* A record ENQUEUE refuses: the error names its index and type. */
	recs[0] = t_io(1, 1, 0, 0);
	recs[1] = t_raw_type(GISA_INT_SIGP_STOP);
	recs[2] = t_io(1, 2, 0, 0);
	assert_int_equal(gisa_irq_pack(recs, 3, GISA_BE, b, sizeof(b)), 0);
	assert_int_equal(gisa_kvm_to_image(b, sizeof(b), GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "irqs");
	assert_int_equal(err.index, 1);
	assert_int_equal(err.value, GISA_INT_SIGP_STOP);
	assert_non_null(err.reason);
	assert_null(img);
	recs[1] = t_raw_type(GISA_INT_PFAULT_INIT);
	gisa_irq_pack1(&recs[1], GISA_LE, b + GISA_IRQ_SIZE);
	recs[0] = t_io(1, 1, 0, 0);
	gisa_irq_pack1(&recs[0], GISA_LE, b);
	assert_int_equal(gisa_kvm_to_image(b, 2 * GISA_IRQ_SIZE, GISA_LE, NULL, &cfg, &img, &err),
			 -EINVAL);
	assert_int_equal(err.index, 1);
	assert_int_equal(err.value, GISA_INT_PFAULT_INIT);
	/* A u64 type above 32 bits. */
	recs[0] = t_raw_type(0x0000000100000000ull);
	gisa_irq_pack1(&recs[0], GISA_BE, b);
	assert_int_equal(gisa_kvm_to_image(b, GISA_IRQ_SIZE, GISA_BE, NULL, &cfg, &img, &err),
			 -EINVAL);
	assert_int_equal(err.index, 0);
	assert_int_equal(err.value, 0x0000000100000000ull);

	/* A limit: 16321 pfault-done records, the last one refused with -EBUSY. */
	big = malloc((size_t)(GISA_MAX_PFAULT_IRQS + 1) * GISA_IRQ_SIZE);
	assert_non_null(big);
	for (uint32_t i = 0; i <= GISA_MAX_PFAULT_IRQS; i++) {
		struct gisa_irq q = t_pfd(i);

		gisa_irq_pack1(&q, GISA_BE, big + (size_t)i * GISA_IRQ_SIZE);
	}
	assert_int_equal(gisa_kvm_to_image(big, (size_t)(GISA_MAX_PFAULT_IRQS + 1) * GISA_IRQ_SIZE,
					   GISA_BE, NULL, &cfg, &img, &err), -EBUSY);
	assert_string_equal(err.field, "irqs");
	assert_int_equal(err.index, GISA_MAX_PFAULT_IRQS);
	assert_int_equal(err.value, GISA_INT_PFAULT_DONE);
	assert_null(img);
	/* Exactly at the limit it converts. */
	assert_int_equal(gisa_kvm_to_image(big, (size_t)GISA_MAX_PFAULT_IRQS * GISA_IRQ_SIZE,
					   GISA_BE, NULL, &cfg, &img, &err), 0);
	assert_int_equal(img->lists[GISA_LIST_PFAULT].n, GISA_MAX_PFAULT_IRQS);
	assert_int_equal(img->lists[GISA_LIST_PFAULT].e[16319].u.ext.ext_params2, 16319);
	gisa_image_free(img);
	img = NULL;
	free(big);

	/* An invalid destination. */
	cfg.profile = (enum gisa_profile)9;
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "config");
	cfg.profile = GISA_PROFILE_CLASSIC;
	cfg.caps = 0x80;
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	cfg.caps = 0;
	cfg.nr_vcpus = GISA_MAX_VCPUS + 1;
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	cfg.nr_vcpus = 1;
	cfg.abi_order = (enum gisa_byteorder)3;
	assert_int_equal(gisa_kvm_to_image(NULL, 0, GISA_BE, NULL, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "config.abi_order");
	assert_null(img);
}

/* ---- QEMU payloads -------------------------------------------------------- */

static void put_be64(uint8_t *b, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void qemu_case(uint32_t caps, uint64_t seed)
{
	struct gisa_host *host = NULL;
	struct gisa_qemu_flic q, q2;
	struct gisa_image *img, *back;
	struct gisa_kvm_flic k;
	struct gisa_vm_config cfg;
	struct gisa_vm *vm;
	uint8_t cnt[8];
	size_t flen;

	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = random_vm(host, seed, GISA_PROFILE_NEWEST, caps, GISA_BE, 250);
	gisa_vm_config(vm, &cfg);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	assert_int_equal(gisa_qemu_from_image(img, &q, NULL), 0);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);

	/* be64 count, then exactly the KVM buffer. */
	assert_int_equal(q.irqs_len, 8 + k.nr_irqs * GISA_IRQ_SIZE);
	put_be64(cnt, k.nr_irqs);
	assert_memory_equal(q.irqs, cnt, 8);
	if (k.nr_irqs)
		assert_memory_equal(q.irqs + 8, k.irqs, k.nr_irqs * GISA_IRQ_SIZE);
	assert_int_equal(q.has_ais, !!(caps & GISA_CAP_AIS));
	assert_int_equal(q.ais[0], k.ais.simm);
	assert_int_equal(q.ais[1], k.ais.nimm);
	assert_int_equal(gisa_qemu_irqs_field_len(q.irqs, q.irqs_len, &flen, NULL), 0);
	assert_int_equal(flen, q.irqs_len);

	assert_int_equal(gisa_qemu_to_image(q.irqs, q.irqs_len, q.has_ais ? q.ais : NULL, 2, &cfg,
					    &back, NULL), 0);
	float_eq(img, back);
	assert_true(back->fl.apf_enabled);   /* QEMU's load enables APF */
	assert_int_equal(gisa_qemu_from_image(back, &q2, NULL), 0);
	assert_int_equal(q2.irqs_len, q.irqs_len);
	assert_memory_equal(q2.irqs, q.irqs, q.irqs_len);
	assert_int_equal(q2.has_ais, q.has_ais);
	assert_memory_equal(q2.ais, q.ais, 2);

	gisa_qemu_flic_release(&q);
	gisa_qemu_flic_release(&q2);
	assert_null(q.irqs);
	gisa_kvm_flic_release(&k);
	gisa_image_free(img);
	gisa_image_free(back);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

static void test_qemu_roundtrip(void **state)
{
	(void)state;
	for (unsigned c = 0; c < 4; c++)
		for (uint64_t seed = 1; seed <= 3; seed++)
			qemu_case(all_caps[c], seed * 31 + c);
}

static void test_qemu_empty(void **state)
{
	const uint8_t zero[8] = { 0 };
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .caps = GISA_CAP_AIS };
	struct gisa_image *img;
	struct gisa_qemu_flic q;
	const uint8_t ais[2] = { 0x80, 0x80 };

	(void)state;
	assert_int_equal(gisa_qemu_to_image(zero, 8, ais, 2, &cfg, &img, NULL), 0);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		assert_int_equal(img->lists[l].n, 0);
	assert_int_equal(img->fl.simm, 0x80);
	assert_int_equal(img->fl.nimm, 0x80);
	assert_true(img->fl.apf_enabled);
	assert_int_equal(gisa_qemu_from_image(img, &q, NULL), 0);
	assert_int_equal(q.irqs_len, 8);
	assert_memory_equal(q.irqs, zero, 8);
	assert_true(q.has_ais);
	assert_memory_equal(q.ais, ais, 2);
	gisa_qemu_flic_release(&q);
	gisa_image_free(img);

	/* No AIS: no subsection on export. */
	cfg.caps = 0;
	assert_int_equal(gisa_qemu_to_image(zero, 8, NULL, 0, &cfg, &img, NULL), 0);
	assert_int_equal(gisa_qemu_from_image(img, &q, NULL), 0);
	assert_false(q.has_ais);
	gisa_qemu_flic_release(&q);
	gisa_image_free(img);
}

static void test_qemu_framing(void **state)
{
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC, .nr_vcpus = 1 };
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	uint8_t buf[8 + 2 * GISA_IRQ_SIZE + 1];
	const struct gisa_irq recs[2] = { t_io(1, 1, 0xa, 0), t_io(1, 2, 0xb, 6) };
	const uint8_t ais[3] = { 0, 0, 0 };
	size_t flen;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(gisa_irq_pack(recs, 2, GISA_BE, buf + 8, 2 * GISA_IRQ_SIZE), 0);

	/* Truncated count: 0..7 bytes. */
	for (size_t len = 0; len < 8; len++) {
		assert_int_equal(gisa_qemu_to_image(buf, len, NULL, 0, &cfg, &img, &err), -EINVAL);
		assert_string_equal(err.field, "irqs.count");
		assert_int_equal(err.value, len);
		assert_int_equal(gisa_qemu_irqs_field_len(buf, len, &flen, &err), -EINVAL);
	}
	assert_int_equal(gisa_qemu_to_image(NULL, 0, NULL, 0, &cfg, &img, &err), -EINVAL);

	/* FLIC_FAILED. */
	put_be64(buf, GISA_QEMU_FLIC_FAILED);
	assert_int_equal(gisa_qemu_to_image(buf, 8, NULL, 0, &cfg, &img, &err), -EIO);
	assert_string_equal(err.field, "irqs.count");
	assert_int_equal(err.value, UINT64_MAX);
	assert_int_equal(gisa_qemu_irqs_field_len(buf, sizeof(buf), &flen, &err), -EIO);

	/* Count over the cap, checked before the bytes present (a tiny input). */
	put_be64(buf, GISA_KVM_MAX_RECORDS + 1);
	assert_int_equal(gisa_qemu_to_image(buf, 8, NULL, 0, &cfg, &img, &err), -E2BIG);
	assert_string_equal(err.field, "irqs.count");
	assert_int_equal(err.value, GISA_KVM_MAX_RECORDS + 1);
	put_be64(buf, UINT64_MAX - 1);
	assert_int_equal(gisa_qemu_to_image(buf, sizeof(buf), NULL, 0, &cfg, &img, &err), -E2BIG);
	put_be64(buf, 1ull << 61);   /* count * 72 would wrap */
	assert_int_equal(gisa_qemu_to_image(buf, sizeof(buf), NULL, 0, &cfg, &img, &err), -E2BIG);
	/* At the cap, but the records are not there. */
	put_be64(buf, GISA_KVM_MAX_RECORDS);
	assert_int_equal(gisa_qemu_to_image(buf, sizeof(buf), NULL, 0, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "irqs.records");

	/* Count larger than the records present (one byte short, one record short). */
	put_be64(buf, 2);
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE - 1, NULL, 0, &cfg, &img,
					    &err), -EINVAL);
	assert_string_equal(err.field, "irqs.records");
	assert_int_equal(err.index, 2);
	assert_int_equal(err.value, 2 * GISA_IRQ_SIZE - 1);
	put_be64(buf, 3);
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, NULL, 0, &cfg, &img, &err),
			 -EINVAL);
	assert_string_equal(err.field, "irqs.records");

	/* Trailing bytes: refused by the import, allowed by the framing helper. */
	put_be64(buf, 2);
	assert_int_equal(gisa_qemu_to_image(buf, sizeof(buf), NULL, 0, &cfg, &img, &err), -EINVAL);
	assert_string_equal(err.field, "irqs");
	assert_int_equal(err.index, 8 + 2 * GISA_IRQ_SIZE);
	assert_int_equal(err.value, sizeof(buf));
	assert_int_equal(gisa_qemu_irqs_field_len(buf, sizeof(buf), &flen, &err), 0);
	assert_int_equal(flen, 8 + 2 * GISA_IRQ_SIZE);
	put_be64(buf, 1);
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, NULL, 0, &cfg, &img, &err),
			 -EINVAL);
	assert_string_equal(err.field, "irqs");
	assert_null(img);

	/* The ais payload is exactly two bytes. */
	put_be64(buf, 2);
	cfg.caps = GISA_CAP_AIS;
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, ais, 1, &cfg, &img, &err),
			 -EINVAL);
	assert_string_equal(err.field, "ais");
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, ais, 3, &cfg, &img, &err),
			 -EINVAL);
	assert_int_equal(err.value, 3);
	assert_null(img);

	/* A well-framed payload with a record ENQUEUE refuses names the record. */
	{
		struct gisa_irq bad = t_raw_type(GISA_INT_RESTART);

		gisa_irq_pack1(&bad, GISA_BE, buf + 8 + GISA_IRQ_SIZE);
		assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, NULL, 0, &cfg, &img,
						    &err), -EINVAL);
		assert_string_equal(err.field, "irqs");
		assert_int_equal(err.index, 1);
		assert_int_equal(err.value, GISA_INT_RESTART);
		assert_null(img);
	}

	/* And the good one converts, in order, into its ISC lists. */
	assert_int_equal(gisa_irq_pack(recs, 2, GISA_BE, buf + 8, 2 * GISA_IRQ_SIZE), 0);
	assert_int_equal(gisa_qemu_to_image(buf, 8 + 2 * GISA_IRQ_SIZE, ais, 2, &cfg, &img, &err),
			 0);
	assert_int_equal(img->lists[0].n, 1);
	assert_int_equal(img->lists[6].n, 1);
	assert_int_equal(img->lists[6].e[0].u.io.io_int_parm, 0xb);
	gisa_image_free(img);
}

/* QEMU's FLIC without AIS at the destination: non-zero AIS bytes fail. */
static void test_qemu_ais_without_facility(void **state)
{
	struct gisa_vm_config cfg = { .profile = GISA_PROFILE_CLASSIC };
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	const uint8_t zero[8] = { 0 }, ais[2] = { 0x00, 0x01 };

	(void)state;
	assert_int_equal(gisa_qemu_to_image(zero, 8, ais, 2, &cfg, &img, &err), -EOPNOTSUPP);
	assert_string_equal(err.field, "ais");
	assert_int_equal(err.value, 0x0001);
	assert_null(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_random),
		cmocka_unit_test(test_export_newest_nondestructive),
		cmocka_unit_test(test_export_maximum),
		cmocka_unit_test(test_export_too_big),
		cmocka_unit_test(test_kvm_identity_random),
		cmocka_unit_test(test_kvm_byte_orders),
		cmocka_unit_test(test_vector74),
		cmocka_unit_test(test_vector75),
		cmocka_unit_test(test_kvm_semantics),
		cmocka_unit_test(test_kvm_ais),
		cmocka_unit_test(test_kvm_errors),
		cmocka_unit_test(test_qemu_roundtrip),
		cmocka_unit_test(test_qemu_empty),
		cmocka_unit_test(test_qemu_framing),
		cmocka_unit_test(test_qemu_ais_without_facility),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
