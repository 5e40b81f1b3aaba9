/* SPDX-License-Identifier: MIT */
/*
 * Adapter-interruption suppression (facility 72, spec §6) and the adapter
 * interrupt injection it governs (kvm_s390_inject_airq, §5.5, §6.2).
 *
 * Per ISC i (mask 0x80 >> i):  simm nimm
 *                               0    0   ALL: every interrupt injected
 *                               1    0   SINGLE armed: next one injected,
 *                                        then nimm is set
 *                               1    1   NO-interruptions: suppressed
 *                               0    1   (AISM_ALL only) suppressed
 *
 * Invariants:
 *  S1  simm/nimm change only through AISM, AISM_ALL set and the automatic
 *      SINGLE -> NO transition after a successful suppressible injection.
 *  S2  An adapter with isc >= 8 has AIS mask 0: never suppressed, never
 *      changes nimm (spec §3.5's recommended engine behaviour).
 */
#include "engine-internal.h"

static uint8_t ais_mask(uint32_t isc)
{
	return isc <= GISA_MAX_ISC ? GISA_ISC_BIT(isc) : 0;
}

int ais_inject_airq(struct gisa_vm *vm, const struct adapter *a)
{
	struct gisa_irq irq;
	bool ais = vm_has_ais(vm) && a->suppressible;
	uint8_t mask = ais_mask(a->isc);
	int r;

	memset(&irq, 0, sizeof(irq));
	irq.type = GISA_INT_IO_AI_MASK;
	/* (u32)isc << 27 truncates: isc 11 gives 0xd8000000, delivery ISC 3. */
	irq.u.io.io_int_word = GISA_IO_WORD_AI | a->isc << 27;

	/* NEWEST allocates before the AIS check, CLASSIC after it (§14.15). */
	if (vm_newest(vm) && pool_reserve(vm, 1))
		return -ENOMEM;
	if (ais && (vm->fi.nimm & mask))
		return 0;
	if (pool_reserve(vm, 1))
		return -ENOMEM;
	r = float_inject(vm, &irq);
	if (!r && ais && (vm->fi.simm & mask))
		vm->fi.nimm |= mask;
	return r;
}

int ais_modify(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	struct gisa_ais_req req;
	uint8_t mask;

	if (!vm_has_ais(vm))
		return -EOPNOTSUPP;   /* before reading the caller's buffer */
	if (!ubuf_ok(&attr->addr, 0, GISA_AIS_REQ_SIZE))
		return -EFAULT;
	gisa_ais_req_unpack(attr->addr.data, vm->order, &req);
	if (req.isc > GISA_MAX_ISC)
		return -EINVAL;
	mask = GISA_ISC_BIT(req.isc);
	switch (req.mode) {
	case GISA_AIS_MODE_ALL:
		vm->fi.simm &= (uint8_t)~mask;
		vm->fi.nimm &= (uint8_t)~mask;
		return 0;
	case GISA_AIS_MODE_SINGLE:
		vm->fi.simm |= mask;
		vm->fi.nimm &= (uint8_t)~mask;
		return 0;
	default:
		return -EINVAL;
	}
}

int ais_get_all(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	uint8_t *b;

	if (attr->attr < GISA_AIS_ALL_SIZE)
		return -EINVAL;
	if (!vm_has_ais(vm))
		return -EOPNOTSUPP;
	if (!ubuf_ok(&attr->addr, 0, GISA_AIS_ALL_SIZE))
		return -EFAULT;
	b = attr->addr.data;
	b[0] = vm->fi.simm;
	b[1] = vm->fi.nimm;
	return 0;
}

int ais_set_all(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	const uint8_t *b;

	if (!vm_has_ais(vm))
		return -EOPNOTSUPP;
	if (!ubuf_ok(&attr->addr, 0, GISA_AIS_ALL_SIZE))
		return -EFAULT;
	b = attr->addr.data;
	vm->fi.simm = b[0];
	vm->fi.nimm = b[1];
	return 0;
}
