/* SPDX-License-Identifier: MIT */
/*
 * KVM and QEMU conversions: the subset of a VM image that KVM's FLIC can
 * express, as the raw bytes KVM and QEMU exchange (spec §9.1, §9.2).
 *
 * KVM form: a GET_ALL_IRQS buffer (n records of 72 bytes, struct
 * kvm_s390_irq, in either byte order) plus the two AISM_ALL bytes (simm,
 * nimm).  It carries the ten floating lists, the GISA IPM (one AI record per
 * set ISC), the service and machine-check accumulators, and simm/nimm;
 * nothing else of an image (adapters, routes, memory, vcpus, GISA alert
 * state, kick cursor) has a KVM form.
 *
 * Both directions run the engine, so the bytes are exactly KVM's:
 *  - image -> KVM builds a throw-away VM holding the image's floating state
 *    and reads it with GET_ALL_IRQS (one pass, big enough buffer) and
 *    AISM_ALL.  The emission order is the kernel's (GISA AI records by ISC,
 *    lists 0..9, service, machine check).  The image is not changed.
 *  - KVM -> image builds a VM with the destination's configuration, creates
 *    its FLIC and ENQUEUEs the records one by one in order, so KVM's rules
 *    apply: AI records go to the IPM when the destination has a GISA
 *    (coalescing per ISC), service signals and machine checks merge, the
 *    list limits hold.  Then AISM_ALL is set and the VM is read as an image.
 *    The image is what a real destination holds after QEMU's load, kicks
 *    included: the CLASSIC round-robin cursor has advanced once per record
 *    kicked, the vcpus are as gisa_vm_new creates them, and there are no
 *    adapters, routes or memslots (userspace re-creates those).
 *
 * QEMU form: the field payloads of the "s390-flic" vmstate section (KVM
 * FLIC, version 1), without QEMU's section or subsection headers
 * (docs/SNAPSHOT-FORMAT.md draws them):
 *  - "irqs": a big-endian u64 count, then count raw 72-byte records as the
 *    kernel wrote them (big-endian: QEMU's KVM FLIC runs on s390x only).
 *    Count 0xffffffffffffffff (FLIC_FAILED) means the source could not read
 *    its FLIC.
 *  - "s390-flic/ais": present only with the AIS facility; two bytes, simm
 *    then nimm.
 * Framing policy: the irqs payload must be exactly 8 + count * 72 bytes
 * (trailing bytes are an error, not ignored: they mean the caller cut the
 * stream in the wrong place).  A caller holding a longer stream finds the
 * field's end with gisa_qemu_irqs_field_len.  The ais payload is exactly 2
 * bytes.
 *
 * Caps: a KVM buffer is at most GISA_FLIC_MAX_BUFFER bytes (0x2000000,
 * 466,033 records), the most one ENQUEUE or GET_ALL_IRQS handles; a QEMU
 * count is at most GISA_KVM_MAX_RECORDS.  Both are checked before anything
 * is allocated.
 *
 * Errors (negative errno; *err, when given, names the field, the record
 * index and the offending value, as in restore.h):
 *  -E2BIG       more than the cap (buffer length, QEMU count, or an image
 *               whose floating state needs more than 466,033 records)
 *  -EINVAL      malformed input: length not a multiple of 72, truncated
 *               QEMU payload, trailing bytes, ais payload not 2 bytes; or a
 *               record ENQUEUE refuses (a type that is not floating,
 *               PFAULT_INIT); or an invalid destination configuration
 *  -EBUSY       a record ENQUEUE refuses for a full list (spec §4.8)
 *  -EIO         QEMU count FLIC_FAILED
 *  -EOPNOTSUPP  non-zero simm/nimm for a destination without AIS (all-zero
 *               AIS bytes are accepted there: they carry nothing)
 *  -ENOMEM
 */
#ifndef GISA_CONVERT_H
#define GISA_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most records one GET_ALL_IRQS or ENQUEUE handles: 0x2000000 / 72. */
#define GISA_KVM_MAX_RECORDS   (GISA_FLIC_MAX_BUFFER / GISA_IRQ_SIZE)

/* QEMU's "irqs" field: the count's size and its failure marker. */
#define GISA_QEMU_COUNT_SIZE   8u
#define GISA_QEMU_FLIC_FAILED  UINT64_MAX

/* A VM's floating state in KVM's form. */
struct gisa_kvm_flic {
	enum gisa_byteorder order;   /* of irqs */
	uint8_t *irqs;               /* nr_irqs * 72 bytes, GET_ALL_IRQS order */
	size_t nr_irqs;
	bool has_ais;                /* the VM has the AIS facility: ais is AISM_ALL's */
	struct gisa_ais_all ais;     /* {0, 0} without AIS */
};

/*
 * Image -> KVM.  *ret is filled on success (release it with
 * gisa_kvm_flic_release).  -E2BIG if the floating state needs more than
 * GISA_KVM_MAX_RECORDS records (unreachable within the engine's limits,
 * which allow at most 369,961, but checked); errors building the image's
 * floating state (an invalid image) are reported through err.
 */
int gisa_kvm_from_image(const struct gisa_image *img, enum gisa_byteorder order,
			struct gisa_kvm_flic *ret, struct gisa_restore_error *err);

/* Frees the buffer and zeroes *k.  Accepts a zeroed struct. */
void gisa_kvm_flic_release(struct gisa_kvm_flic *k);

/*
 * KVM -> image.  irqs: len bytes of records in byte order `order` (len a
 * multiple of 72, at most GISA_FLIC_MAX_BUFFER); ais: the AISM_ALL bytes, or
 * NULL when there are none (the destination's simm and nimm stay 0).  dest:
 * the destination's configuration (profile, caps, vcpus, mem_cap and
 * abi_order are the image's).  On an ENQUEUE error err names "irqs", the
 * record's index and its type.
 */
int gisa_kvm_to_image(const uint8_t *irqs, size_t len, enum gisa_byteorder order,
		      const struct gisa_ais_all *ais, const struct gisa_vm_config *dest,
		      struct gisa_image **ret, struct gisa_restore_error *err);

/* A VM's floating state as QEMU's "s390-flic" field payloads. */
struct gisa_qemu_flic {
	uint8_t *irqs;               /* the "irqs" field: be64 count, count x 72 bytes */
	size_t irqs_len;
	bool has_ais;                /* the "s390-flic/ais" subsection is present */
	uint8_t ais[GISA_AIS_ALL_SIZE];  /* its payload: simm, nimm */
};

/* Image -> QEMU payloads (through gisa_kvm_from_image, big-endian). */
int gisa_qemu_from_image(const struct gisa_image *img, struct gisa_qemu_flic *ret,
			 struct gisa_restore_error *err);

/* Frees the buffer and zeroes *q.  Accepts a zeroed struct. */
void gisa_qemu_flic_release(struct gisa_qemu_flic *q);

/*
 * The length of the "irqs" field at the start of buf (8 + count * 72),
 * checked as gisa_qemu_to_image checks it (count readable, not FLIC_FAILED,
 * within the cap, records present); bytes after the field are allowed here.
 */
int gisa_qemu_irqs_field_len(const uint8_t *buf, size_t len, size_t *ret_len,
			     struct gisa_restore_error *err);

/*
 * QEMU payloads -> image, as QEMU's load does it: APF_ENABLE, then ENQUEUE
 * of the records (count 0: none), then AISM_ALL set from the ais payload.
 * ais == NULL means the subsection is absent.  Errors as gisa_kvm_to_image,
 * plus the framing errors listed above.
 */
int gisa_qemu_to_image(const uint8_t *irqs, size_t irqs_len, const uint8_t *ais,
		       size_t ais_len, const struct gisa_vm_config *dest,
		       struct gisa_image **ret, struct gisa_restore_error *err);

#ifdef __cplusplus
}
#endif

#endif
