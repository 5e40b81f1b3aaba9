/* SPDX-License-Identifier: MIT */
/*
 * Image <-> QEMU "s390-flic" field payloads (convert.h), on top of the KVM
 * conversion.  The layout (docs/SNAPSHOT-FORMAT.md):
 *
 *   "irqs"           offset 0   be64 count (0xffffffffffffffff = FLIC_FAILED)
 *                    offset 8   count x 72-byte struct kvm_s390_irq, big-endian
 *   "s390-flic/ais"  offset 0   u8 simm
 *                    offset 1   u8 nimm
 *
 * The count comes from outside: it is checked against FLIC_FAILED, the cap
 * (GISA_KVM_MAX_RECORDS) and the bytes actually present, in that order,
 * before anything is allocated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/convert.h>

static int fail(struct gisa_restore_error *err, int r, const char *field, uint64_t index,
		uint64_t value, const char *reason)
{
	if (err) {
		err->field = field;
		err->index = index;
		err->value = value;
		err->reason = reason;
	}
	return r;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void put_be64(uint8_t *b, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

void gisa_qemu_flic_release(struct gisa_qemu_flic *q)
{
	free(q->irqs);
	memset(q, 0, sizeof(*q));
}

int gisa_qemu_from_image(const struct gisa_image *img, struct gisa_qemu_flic *ret,
			 struct gisa_restore_error *err)
{
	struct gisa_kvm_flic k;
	struct gisa_qemu_flic q;
	size_t rec_len;
	int r;

	r = gisa_kvm_from_image(img, GISA_BE, &k, err);
	if (r)
		return r;
	memset(&q, 0, sizeof(q));
	rec_len = k.nr_irqs * GISA_IRQ_SIZE;
	q.irqs_len = GISA_QEMU_COUNT_SIZE + rec_len;
	q.irqs = malloc(q.irqs_len);
	if (!q.irqs) {
		gisa_kvm_flic_release(&k);
		return -ENOMEM;
	}
	put_be64(q.irqs, k.nr_irqs);
	if (rec_len)
		memcpy(q.irqs + GISA_QEMU_COUNT_SIZE, k.irqs, rec_len);
	q.has_ais = k.has_ais;
	gisa_ais_all_pack(&k.ais, q.ais);
	gisa_kvm_flic_release(&k);
	*ret = q;
	return 0;
}

int gisa_qemu_irqs_field_len(const uint8_t *buf, size_t len, size_t *ret_len,
			     struct gisa_restore_error *err)
{
	uint64_t count;

	if (err)
		memset(err, 0, sizeof(*err));
	if (len < GISA_QEMU_COUNT_SIZE || !buf)
		return fail(err, -EINVAL, "irqs.count", 0, len,
			    "an 8-byte big-endian record count");
	count = be64(buf);
	if (count == GISA_QEMU_FLIC_FAILED)
		return fail(err, -EIO, "irqs.count", 0, count,
			    "a record count, not FLIC_FAILED (the source could not read its FLIC)");
	if (count > GISA_KVM_MAX_RECORDS)
		return fail(err, -E2BIG, "irqs.count", 0, count,
			    "at most 466033 records (one GET_ALL_IRQS buffer)");
	/* count <= 466033, so count * 72 cannot overflow. */
	if (count * GISA_IRQ_SIZE > len - GISA_QEMU_COUNT_SIZE)
		return fail(err, -EINVAL, "irqs.records", count, len - GISA_QEMU_COUNT_SIZE,
			    "count x 72 record bytes after the count");
	*ret_len = GISA_QEMU_COUNT_SIZE + (size_t)count * GISA_IRQ_SIZE;
	return 0;
}

int gisa_qemu_to_image(const uint8_t *irqs, size_t irqs_len, const uint8_t *ais,
		       size_t ais_len, const struct gisa_vm_config *dest,
		       struct gisa_image **ret, struct gisa_restore_error *err)
{
	struct gisa_ais_all a;
	struct gisa_image *img;
	size_t field_len;
	int r;

	r = gisa_qemu_irqs_field_len(irqs, irqs_len, &field_len, err);
	if (r)
		return r;
	if (field_len != irqs_len)
		return fail(err, -EINVAL, "irqs", field_len, irqs_len,
			    "exactly 8 + count x 72 bytes (no trailing bytes)");
	if (ais && ais_len != GISA_AIS_ALL_SIZE)
		return fail(err, -EINVAL, "ais", 0, ais_len, "exactly 2 bytes: simm, nimm");
	if (ais)
		gisa_ais_all_unpack(ais, &a);
	r = gisa_kvm_to_image(irqs + GISA_QEMU_COUNT_SIZE, field_len - GISA_QEMU_COUNT_SIZE,
			      GISA_BE, ais ? &a : NULL, dest, &img, err);
	if (r)
		return r;
	/* QEMU's load enables async page faults before it enqueues. */
	img->fl.apf_enabled = true;
	*ret = img;
	return 0;
}
