/* SPDX-License-Identifier: MIT */
/*
 * vcpus: deliverability and delivery (spec §4.5), the TPI/TSCH intercepts
 * (§4.6), enabled wait (§7.6) and run-state changes.  Only floating
 * interrupts are modelled; local ones travel with CPU state (§8).
 *
 * Run states:                 wait() [nothing deliverable, no GISA work]
 *        set(RUNNING) ---> RUNNING -------------------------------> IDLE
 *                            ^  ^   <-- run() / deliver() / set() ---'
 *                            |  '--------- set(RUNNING) --- STOPPED <-- set(STOPPED)
 *
 * Invariants:
 *  C1  idle bit i <=> vcpus[i].run == IDLE (I5).
 *  C2  kicked is cleared whenever the vcpu runs or its runnability is
 *      checked (run, deliver, wait, leaving IDLE/STOPPED) (§7.5, §14.11);
 *      only an idle vcpu is ever kicked, so kicked implies IDLE.
 */
#include "engine-internal.h"

#define BIT(n) (1u << (n))

void vcpu_set_run(struct gisa_vm *vm, uint32_t i, uint8_t run)
{
	uint64_t bit = 1ull << (i % 64);

	if (vm->vcpus[i].run != run)
		vm->vcpus[i].kicked = false;
	vm->vcpus[i].run = run;
	if (run == GISA_VCPU_IDLE)
		vm->idle[i / 64] |= bit;
	else
		vm->idle[i / 64] &= ~bit;
}

int gisa_vcpu_get(const struct gisa_vm *vm, uint32_t idx, struct gisa_vcpu_state *ret)
{
	const struct vcpu *v;

	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	v = &vm->vcpus[idx];
	ret->psw_mask = v->psw;
	ret->cr0 = v->cr0;
	ret->cr6 = v->cr6;
	ret->cr14 = v->cr14;
	ret->run = (enum gisa_run_state)v->run;
	ret->kicked = v->kicked;
	return 0;
}

int gisa_vcpu_set(struct gisa_vm *vm, uint32_t idx, const struct gisa_vcpu_state *st)
{
	struct vcpu *v;

	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	if (st->run != GISA_VCPU_RUNNING && st->run != GISA_VCPU_IDLE &&
	    st->run != GISA_VCPU_STOPPED)
		return -EINVAL;
	v = &vm->vcpus[idx];
	v->psw = st->psw_mask;
	v->cr0 = st->cr0;
	v->cr6 = st->cr6;
	v->cr14 = st->cr14;
	vcpu_set_run(vm, idx, (uint8_t)st->run);
	return 0;
}

int gisa_vcpu_run(struct gisa_vm *vm, uint32_t idx)
{
	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	if (vm->vcpus[idx].run == GISA_VCPU_STOPPED)
		return -EBUSY;
	vcpu_set_run(vm, idx, GISA_VCPU_RUNNING);
	vm->vcpus[idx].kicked = false;
	return 0;
}

uint32_t vcpu_deliverable(const struct gisa_vm *vm, const struct vcpu *v)
{
	uint32_t m = vm->fi.pending;

	if (vm->gisa.present)
		m |= (uint32_t)vm->gisa.ipm << GISA_IRQ_IO_ISC_7;
	if (!(v->psw & GISA_PSW_MASK_EXT))
		m &= ~GISA_IRQ_PEND_EXT_MASK;
	else if (!(v->cr0 & GISA_CR0_SERVICE))
		m &= ~(BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV));
	if (!(v->psw & GISA_PSW_MASK_IO)) {
		m &= ~GISA_IRQ_PEND_IO_MASK;
	} else {
		for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++)
			if (!(v->cr6 & GISA_CR6_ISC(isc)))
				m &= ~BIT(GISA_IRQ_IO_ISC(isc));
	}
	if (!(v->psw & GISA_PSW_MASK_MCHECK))
		m &= ~GISA_IRQ_PEND_MCHK_MASK;
	else if (!(v->cr14 & vm->fi.mchk_cr14))
		m &= ~BIT(GISA_IRQ_MCHK_REP);
	return m & ~BIT(GISA_IRQ_SIGP_STOP);
}

int gisa_vcpu_deliverable(const struct gisa_vm *vm, uint32_t idx, uint32_t *ret_bits)
{
	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	*ret_bits = vcpu_deliverable(vm, &vm->vcpus[idx]);
	return 0;
}

int gisa_vcpu_deliver(struct gisa_vm *vm, uint32_t idx, struct gisa_delivery *ret)
{
	struct gisa_delivery d;
	uint32_t m;

	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	if (vm->vcpus[idx].run == GISA_VCPU_STOPPED)
		return -EBUSY;
	vcpu_set_run(vm, idx, GISA_VCPU_RUNNING);
	vm->vcpus[idx].kicked = false;
	/* A class consumed without presentation lets the next one go (§14.7). */
	while ((m = vcpu_deliverable(vm, &vm->vcpus[idx])) != 0) {
		int bit = 31 - __builtin_clz(m);

		if (float_deliver(vm, bit, &d)) {
			*ret = d;
			return 1;
		}
		if (vcpu_deliverable(vm, &vm->vcpus[idx]) & BIT(bit))
			break;   /* cannot happen (F1); never spin */
	}
	return 0;
}

int gisa_vcpu_wait(struct gisa_vm *vm, uint32_t idx)
{
	struct vcpu *v;

	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	v = &vm->vcpus[idx];
	if (v->run == GISA_VCPU_STOPPED)
		return -EBUSY;
	v->kicked = false;   /* runnability is checked */
	/* The vcpu executes the wait, so it runs; not sleeping, it keeps running. */
	if (vcpu_deliverable(vm, v)) {
		vcpu_set_run(vm, idx, GISA_VCPU_RUNNING);
		return 0;
	}
	if (!(v->psw & (GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK)))
		return -EOPNOTSUPP;   /* disabled wait: userspace's business */
	/* IPM & alert mask & CR6 ISC byte, PSW I/O bit not consulted (§14.12). */
	if (vm->gisa.present && (gisa_get_ipm_or_restore_iam(vm) & (uint8_t)(v->cr6 >> 24))) {
		vcpu_set_run(vm, idx, GISA_VCPU_RUNNING);
		return 0;
	}
	vcpu_set_run(vm, idx, GISA_VCPU_IDLE);
	if (vm_newest(vm))
		vm->fi.last_sleep_cpu = idx;
	return 1;
}

int gisa_vcpu_tpi(struct gisa_vm *vm, uint32_t idx, struct gisa_irq *ret)
{
	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	return float_get_io_int(vm, vm->vcpus[idx].cr6, 0, ret);
}

int gisa_vcpu_tsch(struct gisa_vm *vm, uint32_t idx, uint64_t gpr1, struct gisa_irq *ret)
{
	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	/* Tested as 64 bits, used as the low 32 (§14.13). */
	if (!gpr1)
		return 0;
	return float_get_io_int(vm, 0xffull << 24, (uint32_t)gpr1, ret);
}
