/* SPDX-License-Identifier: MIT */
/*
 * The raw KVM buffers against the kernel's own structs (tests/cross/run).
 *
 * Fills each UAPI struct of <linux/kvm.h> (the s390x sysroot's headers on
 * the cross build) with distinct values in the host's memory form, packs
 * the same values with lib/engine/abi.c in the host's byte order, and
 * demands identical bytes; then unpacks the kernel's bytes and demands the
 * same values back.  On s390x this shows that GISA_BE buffers are exactly
 * what a real s390x kernel reads and writes; on x86-64 the same program
 * checks GISA_LE against the host layout.  test-abi checks both orders
 * against bytes written out by hand; this checks them against the compiler
 * and the kernel headers.
 *
 * Built by hand by tests/cross/run (not part of meson): prints one line per
 * struct, exits 1 on the first mismatch.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <linux/kvm.h>

#include <gisa/abi.h>

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_ORDER GISA_BE
#define HOST_NAME "big-endian"
#else
#define HOST_ORDER GISA_LE
#define HOST_NAME "little-endian"
#endif

static int failures;

static void same(const char *what, const void *kernel, const void *packed, size_t len)
{
	if (memcmp(kernel, packed, len) == 0) {
		printf("  %-28s %3zu bytes  identical\n", what, len);
		return;
	}
	printf("  %-28s %3zu bytes  DIFFER\n", what, len);
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)kernel)[i] != ((const uint8_t *)packed)[i])
			printf("    byte %2zu: kernel %02x, packed %02x\n", i,
			       ((const uint8_t *)kernel)[i], ((const uint8_t *)packed)[i]);
	failures++;
}

static void check(const char *what, int ok)
{
	if (!ok) {
		printf("  %-28s unpack DIFFERS\n", what);
		failures++;
	}
}

/* One record: the kernel's struct k against pack1 of g, then unpack1 back. */
static void irq(const char *what, const struct kvm_s390_irq *k, const struct gisa_irq *g)
{
	uint8_t buf[GISA_IRQ_SIZE];
	struct gisa_irq back;

	_Static_assert(sizeof(*k) == GISA_IRQ_SIZE, "struct kvm_s390_irq is 72 bytes");
	gisa_irq_pack1(g, HOST_ORDER, buf);
	same(what, k, buf, sizeof(buf));
	gisa_irq_unpack1((const uint8_t *)k, HOST_ORDER, &back);
	gisa_irq_pack1(&back, HOST_ORDER, buf);
	check(what, memcmp(k, buf, sizeof(buf)) == 0 && back.type == k->type);
}

static void irqs(void)
{
	struct kvm_s390_irq k;
	struct gisa_irq g;

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_IO(1, 0xfe, 1, 0x1234);
	k.u.io.subchannel_id = g.u.io.subchannel_id = 0xfe01;
	k.u.io.subchannel_nr = g.u.io.subchannel_nr = 0x1234;
	k.u.io.io_int_parm = g.u.io.io_int_parm = 0xdeadbeef;
	k.u.io.io_int_word = g.u.io.io_int_word = 0x98000000;
	irq("kvm_s390_irq io", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_VIRTIO;
	k.u.ext.ext_params = g.u.ext.ext_params = 0x01020304;
	k.u.ext.ext_params2 = g.u.ext.ext_params2 = 0x1122334455667788ull;
	irq("kvm_s390_irq ext (virtio)", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_PROGRAM;
	k.u.pgm.trans_exc_code = g.u.pgm.trans_exc_code = 0x0102030405060708ull;
	k.u.pgm.mon_code = g.u.pgm.mon_code = 0x1112131415161718ull;
	k.u.pgm.per_address = g.u.pgm.per_address = 0x2122232425262728ull;
	k.u.pgm.data_exc_code = g.u.pgm.data_exc_code = 0x31323334;
	k.u.pgm.code = g.u.pgm.code = 0x4142;
	k.u.pgm.mon_class_nr = g.u.pgm.mon_class_nr = 0x5152;
	k.u.pgm.per_code = g.u.pgm.per_code = 0x61;
	k.u.pgm.per_atmid = g.u.pgm.per_atmid = 0x62;
	k.u.pgm.exc_access_id = g.u.pgm.exc_access_id = 0x63;
	k.u.pgm.per_access_id = g.u.pgm.per_access_id = 0x64;
	k.u.pgm.op_access_id = g.u.pgm.op_access_id = 0x65;
	k.u.pgm.flags = g.u.pgm.flags = 0x66;
	irq("kvm_s390_irq pgm", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_MCHK;
	k.u.mchk.cr14 = g.u.mchk.cr14 = 0x0102030405060708ull;
	k.u.mchk.mcic = g.u.mchk.mcic = 0x1112131415161718ull;
	k.u.mchk.failing_storage_address = g.u.mchk.failing_storage_address = 0x2122232425262728ull;
	k.u.mchk.ext_damage_code = g.u.mchk.ext_damage_code = 0x31323334;
	for (unsigned i = 0; i < 16; i++)
		k.u.mchk.fixed_logout[i] = g.u.mchk.fixed_logout[i] = (uint8_t)(0x40 + i);
	irq("kvm_s390_irq mchk", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_SIGP_SET_PREFIX;
	k.u.prefix.address = g.u.prefix = 0x7ffe1000;
	irq("kvm_s390_irq prefix", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_SIGP_STOP;
	k.u.stop.flags = g.u.stop_flags = 0x00000003;
	irq("kvm_s390_irq stop", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_EXTERNAL_CALL;
	k.u.extcall.code = g.u.extcall_code = 0x0102;
	irq("kvm_s390_irq extcall", &k, &g);

	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	k.type = g.type = GISA_INT_EMERGENCY;
	k.u.emerg.code = g.u.emerg_code = 0x0304;
	irq("kvm_s390_irq emerg", &k, &g);
}

static void route(void)
{
	struct kvm_irq_routing_s390_adapter k = {
		.ind_addr = 0x0102030405060708ull,
		.summary_addr = 0x1112131415161718ull,
		.ind_offset = 0x2122232425262728ull,
		.summary_offset = 0x31323334,
		.adapter_id = 0x41424344,
	};
	struct gisa_adapter_route g = {
		.ind_addr = k.ind_addr,
		.summary_addr = k.summary_addr,
		.ind_offset = k.ind_offset,
		.summary_offset = k.summary_offset,
		.adapter_id = k.adapter_id,
	}, back;
	uint8_t buf[GISA_ADAPTER_ROUTE_SIZE];

	_Static_assert(sizeof(k) == GISA_ADAPTER_ROUTE_SIZE, "32 bytes");
	gisa_adapter_route_pack(&g, HOST_ORDER, buf);
	same("kvm_irq_routing_s390_adapter", &k, buf, sizeof(buf));
	gisa_adapter_route_unpack((const uint8_t *)&k, HOST_ORDER, &back);
	check("kvm_irq_routing_s390_adapter", memcmp(&back, &g, sizeof(g)) == 0);
}

#ifdef __s390x__
/* The FLIC attribute structs live in s390's <asm/kvm.h>. */
static void flic_attrs(void)
{
	struct kvm_s390_io_adapter ka = { .id = 0x01020304, .isc = 5, .maskable = 1,
					  .swap = 1, .flags = 0x02 };
	struct gisa_io_adapter ga = { .id = ka.id, .isc = ka.isc, .maskable = ka.maskable,
				      .swap = ka.swap, .flags = ka.flags };
	struct kvm_s390_io_adapter_req kr = { .id = 0x01020304, .type = 2, .mask = 1,
					      .addr = 0x1112131415161718ull };
	struct gisa_io_adapter_req gr = { .id = kr.id, .type = kr.type, .mask = kr.mask,
					  .addr = kr.addr };
	struct kvm_s390_ais_req ks;
	struct gisa_ais_req gs = { .isc = 3, .mode = 0x0102 };
	struct kvm_s390_ais_all kl = { .simm = 0xa5, .nimm = 0x5a };
	struct gisa_ais_all gl = { .simm = kl.simm, .nimm = kl.nimm };
	uint8_t buf[16];

	memset(&ks, 0, sizeof(ks));
	ks.isc = gs.isc;
	ks.mode = gs.mode;
	gisa_io_adapter_pack(&ga, HOST_ORDER, buf);
	same("kvm_s390_io_adapter", &ka, buf, sizeof(ka));
	gisa_io_adapter_req_pack(&gr, HOST_ORDER, buf);
	same("kvm_s390_io_adapter_req", &kr, buf, sizeof(kr));
	gisa_ais_req_pack(&gs, HOST_ORDER, buf);
	same("kvm_s390_ais_req", &ks, buf, sizeof(ks));
	gisa_ais_all_pack(&gl, buf);
	same("kvm_s390_ais_all", &kl, buf, sizeof(kl));
}
#endif

int main(void)
{
	printf("kvm-layout: %s host, packing in %s\n", HOST_NAME,
	       HOST_ORDER == GISA_BE ? "GISA_BE" : "GISA_LE");
	irqs();
	route();
#ifdef __s390x__
	flic_attrs();
#endif
	if (failures) {
		printf("kvm-layout: %d mismatch%s\n", failures, failures == 1 ? "" : "es");
		return 1;
	}
	printf("kvm-layout: every struct matches <linux/kvm.h> byte for byte\n");
	return 0;
}
