/* SPDX-License-Identifier: MIT */
/*
 * Image <-> KVM FLIC buffers (convert.h).  Both directions run the engine
 * through its public API, so every byte and every merge is KVM's own:
 *
 *   image --build floating part--> temp VM --GET_ALL_IRQS, AISM_ALL--> bytes
 *   bytes --ENQUEUE per record, AISM_ALL--> VM (dest config) --read--> image
 *
 * Invariants:
 *  K1  Nothing from outside is allocated for before its length passed the
 *      cap (GISA_FLIC_MAX_BUFFER) and the record-size check.
 *  K2  The image given to gisa_kvm_from_image is never changed; the temp
 *      VM holds only what GET_ALL_IRQS reads (lists, accumulators, IPM,
 *      simm/nimm), so adapters, routes and pages cost nothing.
 *  K3  ENQUEUE goes one record per call: identical to one ENQUEUE of the
 *      whole buffer (in order, no rollback, stops at the first error), and
 *      the failing record's index is known.
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

static void err_clear(struct gisa_restore_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

/* How many records GET_ALL_IRQS emits for the image's floating state (§3.1). */
static uint64_t record_count(const struct gisa_image *img)
{
	uint64_t n = 0;

	if (img->gisa.present)
		n += (uint64_t)__builtin_popcount(img->gisa.ipm);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		n += img->lists[l].n;
	n += img->fl.service_pending || img->fl.service_ev_pending;
	n += img->fl.mchk_pending;
	return n;
}

void gisa_kvm_flic_release(struct gisa_kvm_flic *k)
{
	free(k->irqs);
	memset(k, 0, sizeof(*k));
}

int gisa_kvm_from_image(const struct gisa_image *img, enum gisa_byteorder order,
			struct gisa_kvm_flic *ret, struct gisa_restore_error *err)
{
	struct gisa_kvm_flic k = { .order = order };
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	struct gisa_image tmp;
	uint64_t n = record_count(img);
	size_t len;
	int r;

	err_clear(err);
	if (order != GISA_BE && order != GISA_LE)
		return fail(err, -EINVAL, "order", 0, order, "GISA_BE or GISA_LE");
	if (n > GISA_KVM_MAX_RECORDS)
		return fail(err, -E2BIG, "lists", 0, n,
			    "at most 466033 records (one GET_ALL_IRQS buffer)");

	/*
	 * A shallow copy holding only what GET_ALL_IRQS reads (K2): no vcpus
	 * (so the kick cursor is 0), no adapters, routes, memory, and a GISA
	 * with its IPM alone.  The FLIC is forced present: the image may have
	 * none, but its floating state exists all the same.
	 */
	memset(&tmp, 0, sizeof(tmp));
	tmp.config = img->config;
	tmp.config.nr_vcpus = 0;
	tmp.config.abi_order = order;
	tmp.fl = img->fl;
	tmp.fl.flic_present = true;
	tmp.fl.kick_cursor = 0;
	memcpy(tmp.lists, img->lists, sizeof(tmp.lists));
	tmp.gisa.present = img->gisa.present;
	tmp.gisa.ipm = img->gisa.ipm;

	r = gisa_host_new(NULL, &host);
	if (r)
		return r;
	r = gisa_image_build_vm(&tmp, host, &vm, err);
	if (r)
		goto out;

	/* One spare record: the GISA part checks capacity on all 8 ISCs (§3.1). */
	len = (size_t)(n + 1) * GISA_IRQ_SIZE;
	if (len > GISA_FLIC_MAX_BUFFER)
		len = GISA_FLIC_MAX_BUFFER;
	k.irqs = malloc(len);
	if (!k.irqs) {
		r = -ENOMEM;
		goto out;
	}
	if (n) {
		struct gisa_attr a = {
			.group = GISA_FLIC_GET_ALL_IRQS,
			.attr = len,
			.addr = { .data = k.irqs, .len = len },
		};

		r = gisa_flic_get_attr(vm, &a);
		if (r < 0)
			goto out;
		if ((uint64_t)r != n) {
			r = fail(err, -EIO, "lists", 0, (uint64_t)r,
				 "GET_ALL_IRQS emitting one record per pending interrupt");
			goto out;
		}
	}
	k.nr_irqs = (size_t)n;

	if (img->config.caps & GISA_CAP_AIS) {
		uint8_t b[GISA_AIS_ALL_SIZE];
		struct gisa_attr a = {
			.group = GISA_FLIC_AISM_ALL,
			.attr = sizeof(b),
			.addr = { .data = b, .len = sizeof(b) },
		};

		r = gisa_flic_get_attr(vm, &a);
		if (r < 0)
			goto out;
		k.has_ais = true;
		gisa_ais_all_unpack(b, &k.ais);
	}
	r = 0;
	*ret = k;
	k.irqs = NULL;
out:
	free(k.irqs);
	gisa_vm_free(vm);
	gisa_host_free(host);
	return r;
}

static const char *enqueue_reason(int r)
{
	switch (r) {
	case -EINVAL:
		return "a floating interrupt type ENQUEUE accepts (I/O, service, virtio, "
		       "pfault-done, machine check)";
	case -EBUSY:
		return "room in its list (266250 I/O, 87381 virtio, 16320 pfault-done)";
	case -EFAULT:
		return "a complete 72-byte record";
	default:
		return "a record the destination can queue";
	}
}

int gisa_kvm_to_image(const uint8_t *irqs, size_t len, enum gisa_byteorder order,
		      const struct gisa_ais_all *ais, const struct gisa_vm_config *dest,
		      struct gisa_image **ret, struct gisa_restore_error *err)
{
	struct gisa_vm_config cfg;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;
	struct gisa_image *img = NULL;
	size_t n;
	int r;

	err_clear(err);
	if (len > GISA_FLIC_MAX_BUFFER)
		return fail(err, -E2BIG, "irqs", 0, len, "at most 0x2000000 bytes");
	if (len % GISA_IRQ_SIZE)
		return fail(err, -EINVAL, "irqs", 0, len, "a multiple of 72 bytes");
	if (len && !irqs)
		return fail(err, -EINVAL, "irqs", 0, len, "a buffer");
	if (order != GISA_BE && order != GISA_LE)
		return fail(err, -EINVAL, "order", 0, order, "GISA_BE or GISA_LE");
	if (dest->abi_order != GISA_BE && dest->abi_order != GISA_LE)
		return fail(err, -EINVAL, "config.abi_order", 0, dest->abi_order,
			    "GISA_BE or GISA_LE");
	if (ais && !(dest->caps & GISA_CAP_AIS) && (ais->simm || ais->nimm))
		return fail(err, -EOPNOTSUPP, "ais", 0, (uint64_t)ais->simm << 8 | ais->nimm,
			    "no simm/nimm bits without the destination's AIS facility");
	n = len / GISA_IRQ_SIZE;

	cfg = *dest;
	cfg.abi_order = order;
	r = gisa_host_new(NULL, &host);
	if (r)
		return r;
	r = gisa_vm_new(host, &cfg, &vm);
	if (r) {
		if (r == -EINVAL)
			fail(err, r, "config", 0, dest->caps,
			     "a valid profile, capability set and vcpu count");
		goto out;
	}
	r = gisa_flic_create(vm);
	for (size_t i = 0; !r && i < n; i++) {
		struct gisa_attr a = {
			.group = GISA_FLIC_ENQUEUE,
			.attr = GISA_IRQ_SIZE,
			/* The engine only reads ENQUEUE buffers: the cast drops const. */
			.addr = { .data = (void *)(irqs + i * GISA_IRQ_SIZE),
				  .len = GISA_IRQ_SIZE },
		};

		r = gisa_flic_set_attr(vm, &a);
		if (r) {
			struct gisa_irq rec;

			gisa_irq_unpack1(irqs + i * GISA_IRQ_SIZE, order, &rec);
			fail(err, r, "irqs", i, rec.type, enqueue_reason(r));
		}
	}
	if (!r && ais && (dest->caps & GISA_CAP_AIS)) {
		uint8_t b[GISA_AIS_ALL_SIZE];
		struct gisa_attr a = {
			.group = GISA_FLIC_AISM_ALL,
			.attr = sizeof(b),
			.addr = { .data = b, .len = sizeof(b) },
		};

		gisa_ais_all_pack(ais, b);
		r = gisa_flic_set_attr(vm, &a);
	}
	if (!r)
		r = gisa_image_from_vm(vm, &img);
	if (r)
		goto out;
	img->config.abi_order = dest->abi_order;
	*ret = img;
out:
	gisa_vm_free(vm);
	gisa_host_free(host);
	return r;
}
