/* SPDX-License-Identifier: MIT */
/*
 * The FLIC device: creation and the has/get/set attribute dispatch of
 * spec §3, plus the VM-level injection ioctls.
 *
 * Check order follows the kernel's: group dispatch first (unknown group:
 * has -ENXIO, get/set -EINVAL), then each group's own checks (§3.1–3.10).
 * attr.flags is ignored by every group except CLEAR_IO_IRQ.
 */
#include "engine-internal.h"

int gisa_flic_create(struct gisa_vm *vm)
{
	if (vm->flic)
		return -EINVAL;
	vm->flic = true;
	return 0;
}

int gisa_flic_destroy(struct gisa_vm *vm)
{
	if (!vm->flic)
		return -EBADF;
	vm->flic = false;
	return 0;
}

int gisa_flic_has_attr(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	if (!vm->flic)
		return -EBADF;
	if (attr->group >= GISA_FLIC_GET_ALL_IRQS && attr->group <= GISA_FLIC_AISM_ALL)
		return 0;
	return -ENXIO;
}

int gisa_flic_get_attr(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	if (!vm->flic)
		return -EBADF;
	switch (attr->group) {
	case GISA_FLIC_GET_ALL_IRQS:
		return float_get_all(vm, attr);
	case GISA_FLIC_AISM_ALL:
		return ais_get_all(vm, attr);
	default:
		return -EINVAL;
	}
}

static int clear_io_irq(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	struct gisa_irq discard;
	uint32_t schid;

	if (attr->flags)
		return -EINVAL;
	if (attr->attr != sizeof(schid))
		return -EINVAL;
	if (!ubuf_ok(&attr->addr, 0, sizeof(schid)))
		return -EFAULT;
	schid = ld32(attr->addr.data, vm->order);
	if (!schid)
		return -EINVAL;
	/* At most one entry, any ISC; the IPM is skipped since schid != 0. */
	(void)float_get_io_int(vm, 0xffull << 24, schid, &discard);
	return 0;
}

static int airq_inject(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	/* The id is truncated to 32 bits; addr is ignored. */
	const struct adapter *a = adapter_get(vm, (uint32_t)attr->attr);

	if (!a)
		return -EINVAL;
	return ais_inject_airq(vm, a);
}

int gisa_flic_set_attr(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	if (!vm->flic)
		return -EBADF;
	switch (attr->group) {
	case GISA_FLIC_ENQUEUE:
		return float_enqueue(vm, attr);
	case GISA_FLIC_CLEAR_IRQS:
		float_clear(vm);
		return 0;
	case GISA_FLIC_APF_ENABLE:
		vm->apf = true;
		return 0;
	case GISA_FLIC_APF_DISABLE_WAIT:
		/* No async faults are modelled, so none are outstanding to flush. */
		vm->apf = false;
		return 0;
	case GISA_FLIC_ADAPTER_REGISTER:
		return adapter_register(vm, attr);
	case GISA_FLIC_ADAPTER_MODIFY:
		return adapter_modify(vm, attr);
	case GISA_FLIC_CLEAR_IO_IRQ:
		return clear_io_irq(vm, attr);
	case GISA_FLIC_AISM:
		return ais_modify(vm, attr);
	case GISA_FLIC_AIRQ_INJECT:
		return airq_inject(vm, attr);
	case GISA_FLIC_AISM_ALL:
		return ais_set_all(vm, attr);
	default:
		return -EINVAL;
	}
}

int gisa_vm_inject(struct gisa_vm *vm, const struct gisa_irq *irq)
{
	if (pool_reserve(vm, 1))
		return -ENOMEM;
	return float_inject(vm, irq);
}

int gisa_vm_interrupt(struct gisa_vm *vm, uint32_t type, uint32_t parm, uint64_t parm64)
{
	struct gisa_irq irq;

	/* The kernel allocates before it looks at the type. */
	if (pool_reserve(vm, 1))
		return -ENOMEM;
	memset(&irq, 0, sizeof(irq));
	irq.type = type;
	switch (type) {
	case GISA_INT_VIRTIO:
		irq.u.ext.ext_params = parm;
		irq.u.ext.ext_params2 = parm64;
		break;
	case GISA_INT_SERVICE:
		irq.u.ext.ext_params = parm;
		break;
	case GISA_INT_PFAULT_DONE:
		irq.u.ext.ext_params2 = parm64;
		break;
	case GISA_INT_MCHK:
		irq.u.mchk.cr14 = parm;
		irq.u.mchk.mcic = parm64;
		break;
	default:
		if (!gisa_type_is_io(type))
			return -EINVAL;
		irq.u.io.subchannel_id = (uint16_t)(parm >> 16);
		irq.u.io.subchannel_nr = (uint16_t)parm;
		irq.u.io.io_int_parm = (uint32_t)(parm64 >> 32);
		irq.u.io.io_int_word = (uint32_t)parm64;
		break;
	}
	return float_inject(vm, &irq);
}
