/* SPDX-License-Identifier: MIT */
/*
 * KVM raw and QEMU payload import (gisa_kvm_to_image, gisa_qemu_to_image,
 * gisa_qemu_irqs_field_len).
 *
 * Input: byte 0 = mode (bits 0-1: 0 KVM big-endian, 1 KVM little-endian,
 * 2-3 QEMU; bit 2: AIS bytes given), byte 1 = destination (bit 0 profile
 * NEWEST, bits 1-2 GISA_CAP_*, bits 3-5 vcpus), then with bit 2 the AIS
 * payload (KVM: 2 bytes; QEMU: a length byte 0-3 and that many bytes),
 * then the irqs bytes.
 *
 * Invariants: an import passes gisa_image_check; its KVM form is a fixed
 * point (image -> KVM -> image -> KVM gives the same records and AIS
 * bytes); for QEMU, the accepted irqs field is exactly
 * gisa_qemu_irqs_field_len bytes.
 */
#include <gisa/convert.h>

#include "fuzz.h"

static void fixpoint(const struct gisa_image *img, const struct gisa_vm_config *dest,
		     enum gisa_byteorder order)
{
	struct gisa_kvm_flic k1 = { 0 }, k2 = { 0 };
	struct gisa_restore_error err;
	struct gisa_image *img2 = NULL;
	int r;

	r = gisa_kvm_from_image(img, order, &k1, &err);
	if (r == -ENOMEM)
		return;
	fuzz_check(r == 0, "imported image has no KVM form: %d", r);
	r = gisa_kvm_to_image(k1.irqs, k1.nr_irqs * GISA_IRQ_SIZE, order,
			      k1.has_ais ? &k1.ais : NULL, dest, &img2, &err);
	if (r == -ENOMEM)
		goto out;
	fuzz_check(r == 0, "KVM form of an import does not import: %d (%s[%llu]: %s)", r,
		   err.field ? err.field : "?", (unsigned long long)err.index,
		   err.reason ? err.reason : "?");
	r = gisa_kvm_from_image(img2, order, &k2, &err);
	if (r == -ENOMEM)
		goto out;
	fuzz_check(r == 0, "re-imported image has no KVM form: %d", r);
	fuzz_check(k1.nr_irqs == k2.nr_irqs &&
			   memcmp(k1.irqs, k2.irqs, k1.nr_irqs * GISA_IRQ_SIZE) == 0 &&
			   k1.has_ais == k2.has_ais && k1.ais.simm == k2.ais.simm &&
			   k1.ais.nimm == k2.ais.nimm,
		   "KVM form is not a fixed point (%zu -> %zu records)", k1.nr_irqs, k2.nr_irqs);
out:
	gisa_image_free(img2);
	gisa_kvm_flic_release(&k2);
	gisa_kvm_flic_release(&k1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_u8(&in), dst = fuzz_u8(&in);
	struct gisa_vm_config dest = {
		.profile = dst & 1 ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC,
		.caps = (dst >> 1) & GISA_CAP_ALL,
		.nr_vcpus = (dst >> 3) & 7,
		.abi_order = GISA_BE,
	};
	struct gisa_restore_error err;
	struct gisa_image *img = NULL;
	enum gisa_byteorder order = GISA_BE;
	int r;

	if ((mode & 3) < 2) {
		struct gisa_ais_all ais = { 0 };
		bool has_ais = mode & 4;

		if (has_ais) {
			ais.simm = fuzz_u8(&in);
			ais.nimm = fuzz_u8(&in);
		}
		order = (mode & 3) == 1 ? GISA_LE : GISA_BE;
		r = gisa_kvm_to_image(in.p, in.n, order, has_ais ? &ais : NULL, &dest, &img, &err);
	} else {
		uint8_t ais[3];
		size_t ais_len = 0;
		size_t field;

		if (mode & 4) {
			ais_len = fuzz_u8(&in) & 3;
			for (size_t i = 0; i < ais_len; i++)
				ais[i] = fuzz_u8(&in);
		}
		r = gisa_qemu_to_image(in.p, in.n, mode & 4 ? ais : NULL, ais_len, &dest, &img,
				       &err);
		if (r == 0) {
			fuzz_check(gisa_qemu_irqs_field_len(in.p, in.n, &field, &err) == 0 &&
					   field == in.n,
				   "accepted irqs field is not gisa_qemu_irqs_field_len bytes");
		}
	}
	if (r != 0) {
		fuzz_check(img == NULL, "import failed (%d) but returned an image", r);
		fuzz_check(r == -E2BIG || r == -EINVAL || r == -EBUSY || r == -EIO ||
				   r == -EOPNOTSUPP || r == -ENOMEM,
			   "import returned %d, not a documented error", r);
		return 0;
	}
	fuzz_check(fuzz_image_ok(img), "imported image fails gisa_image_check");
	fixpoint(img, &dest, order);
	gisa_image_free(img);
	return 0;
}
