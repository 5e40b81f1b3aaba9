/* SPDX-License-Identifier: MIT */
/*
 * Seeded random VMs written out, for the byte-identity check of
 * tests/cross/run: the same seeds on x86-64 and on s390x must give the same
 * files.  Each VM is built by tests/support/randvm.c (splitmix64, the same
 * sequence on every host) through the public engine API, then written as
 *
 *   rand-P-C-S.gsnap   a snapshot (fixed metadata; stored or zstd at a level
 *                      chosen by the seed)
 *   rand-P-C-S.kvm     GET_ALL_IRQS records in the VM's ABI byte order (odd
 *                      seeds little-endian) and, after them, the AISM_ALL
 *                      bytes
 *   rand-P-C-S.be      the same records big-endian
 *
 * for every profile P, capability set C and seed S below 'seeds'.
 *
 *   rand-snap DIR [SEEDS]      (default 6 seeds, 300 random operations each)
 *
 * A cmocka program with one test, because the generator fails through
 * cmocka's assertions.  Built by hand by tests/cross/run (not part of meson).
 */
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
#include <gisa/snapshot.h>

#include "randvm.h"

#define RAND_OPS 2000

static const char *out_dir;
static unsigned nr_seeds = 6;

static const struct randvm_opts gen_opts = {
	.flags = RANDVM_IO_PARM_REPEATS,
	.view_every = 0,
};

static const uint8_t uuid[16] = {
	0xc5, 0x39, 0x0b, 0xe0, 0x12, 0x34, 0x4a, 0xbc, 0x8d, 0xef, 0x01, 0x23, 0x45, 0x67,
	0x89, 0xab,
};

static void write_file(const char *name, const uint8_t *a, size_t alen, const uint8_t *b,
		       size_t blen)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(a, 1, alen, f), alen);
	if (blen)
		assert_int_equal(fwrite(b, 1, blen, f), blen);
	assert_int_equal(fclose(f), 0);
}

static void one(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	static const uint32_t vcpus[] = { 4, 3, 1, 0, 2, 8 };
	static const int levels[] = { 1, 3, 19, 0 };
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = vcpus[seed % 6],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};
	struct rng r = { .s = seed * 0x2545f491ull + profile * 0x100 + caps + 0xc055 };
	struct gisa_snap_opts opts = { .compress = seed % 4 != 3, .level = levels[seed % 4] };
	struct randvm_side s = { 0 };
	struct gisa_kvm_flic k = { 0 }, kbe = { 0 };
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	char base[64], name[96];
	struct gisa_snap_meta meta = {
		.vm_name = base,
		.vm_uuid = uuid,
		.created_unix_ns = 1767225600000000000ull + seed,
		.producer = "rand-snap",
	};
	uint8_t ais[2], *buf = NULL;
	size_t len = 0;

	snprintf(base, sizeof(base), "rand-%d-%u-%u", (int)profile, caps, seed);
	snprintf(randvm_where, sizeof(randvm_where), "%s", base);
	/* Seed 0 is the directed build (every kind of state): 4 vcpus, big-endian. */
	randvm_build(&s, &cfg, &r, &gen_opts, seed == 0, RAND_OPS);
	assert_int_equal(gisa_image_from_vm(s.vm, &img), 0);

	assert_int_equal(gisa_snap_encode(img, &meta, &opts, &buf, &len), 0);
	snprintf(name, sizeof(name), "%s.gsnap", base);
	write_file(name, buf, len, NULL, 0);
	free(buf);

	assert_int_equal(gisa_kvm_from_image(img, cfg.abi_order, &k, &err), 0);
	ais[0] = k.ais.simm;
	ais[1] = k.ais.nimm;
	snprintf(name, sizeof(name), "%s.kvm", base);
	write_file(name, k.irqs, k.nr_irqs * GISA_IRQ_SIZE, ais, sizeof(ais));
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &kbe, &err), 0);
	snprintf(name, sizeof(name), "%s.be", base);
	write_file(name, kbe.irqs, kbe.nr_irqs * GISA_IRQ_SIZE, NULL, 0);

	gisa_kvm_flic_release(&k);
	gisa_kvm_flic_release(&kbe);
	gisa_image_free(img);
	randvm_side_free(&s);
}

static void all(void **state)
{
	static const uint32_t caps[] = { 0, GISA_CAP_GISA, GISA_CAP_AIS,
					 GISA_CAP_GISA | GISA_CAP_AIS };

	(void)state;
	for (unsigned p = 0; p < 2; p++)
		for (unsigned c = 0; c < 4; c++)
			for (uint32_t seed = 0; seed < nr_seeds; seed++)
				one(p ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC, caps[c], seed);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(all) };

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: rand-snap DIR [SEEDS]\n");
		return 2;
	}
	out_dir = argv[1];
	if (argc == 3)
		nr_seeds = (unsigned)strtoul(argv[2], NULL, 10);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
