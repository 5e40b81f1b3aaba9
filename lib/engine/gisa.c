/* SPDX-License-Identifier: MIT */
/*
 * The GISA and the host's GIB alert list (spec §7).
 *
 * A GISA's life with respect to the alert list:
 *
 *            hw_airq: IPM bit & IAM bit, no vcpu in SIE
 *   (idle) ------------------------------------------------> (listed)
 *   IAM = alert_mask or 0           IAM := 0; GAL raised if origin was NULL
 *      ^                                                      |
 *      |  timer fire: IPM & alert_mask == 0                   | host process_alerts
 *      |  -> IAM := alert_mask, timer stops                   v
 *      +---------------------------------------------- (timer armed, delay 0)
 *         timer fire: IPM & alert_mask != 0 -> kick one idle vcpu, +50 us
 *
 * Invariants:
 *  G1  alert_mask = OR of ISC bits whose ref count is non-zero.
 *  G2  on_list <=> the GISA is reachable from host.origin (I4); a listed
 *      GISA is never pushed again (§14.9).
 *  G3  gisc_register/unregister try to set the IAM only when the GISA is
 *      not listed (gisa_set_iam's -EBUSY is ignored, as in the kernel).
 *  G4  Without a GISA (present false) ipm, iam, alert_mask, refs are 0.
 */
#include "engine-internal.h"

/* gisa_set_iam: refused while the GISA is on the alert list. */
static int set_iam(struct gisa_vm *vm, uint8_t iam)
{
	if (vm->gisa.on_list)
		return -EBUSY;
	vm->gisa.iam = iam;
	return 0;
}

uint8_t gisa_get_ipm_or_restore_iam(struct gisa_vm *vm)
{
	uint8_t p = vm->gisa.ipm & vm->gisa.alert_mask;

	if (p)
		return p;
	/* No alert-list check here, as in the kernel. */
	vm->gisa.iam = vm->gisa.alert_mask;
	return 0;
}

int gisa_gisc_register(struct gisa_vm *vm, uint32_t gisc)
{
	struct gisa_int *g = &vm->gisa;

	if (!g->present)
		return -ENODEV;
	if (gisc > GISA_MAX_ISC)
		return -ERANGE;
	if (g->ref[gisc]++ == 0) {
		g->alert_mask |= GISA_ISC_BIT(gisc);
		(void)set_iam(vm, g->alert_mask);
	}
	return vm->host->nisc;
}

int gisa_gisc_unregister(struct gisa_vm *vm, uint32_t gisc)
{
	struct gisa_int *g = &vm->gisa;

	if (!g->present)
		return -ENODEV;
	if (gisc > GISA_MAX_ISC)
		return -ERANGE;
	if (!g->ref[gisc])
		return -EINVAL;
	if (--g->ref[gisc] == 0) {
		g->alert_mask &= (uint8_t)~GISA_ISC_BIT(gisc);
		(void)set_iam(vm, g->alert_mask);
	}
	return 0;
}

int gisa_gisa_hw_airq(struct gisa_vm *vm, uint32_t isc, bool vcpu_in_sie)
{
	struct gisa_int *g = &vm->gisa;
	struct gisa_host *h = vm->host;
	uint8_t bit;

	if (!g->present)
		return -ENODEV;
	if (isc > GISA_MAX_ISC)
		return -ERANGE;
	bit = GISA_ISC_BIT(isc);
	g->ipm |= bit;
	if (!(g->iam & bit) || vcpu_in_sie || g->on_list)
		return 0;
	/* The firmware's alert: push (LIFO), clear the IAM, maybe raise GAL. */
	g->next = h->origin;
	g->on_list = true;
	g->iam = 0;
	if (!h->origin.vm && h->origin.term == 0)
		h->gal_interrupts++;
	h->origin = (struct alert_link){ .vm = vm };
	return 0;
}

int gisa_host_process_alerts(struct gisa_host *h)
{
	struct alert_link origin = { .vm = NULL, .term = 0 };
	bool final;
	int n = 0;

	/*
	 * Cut the list off, leaving NONE so that the firmware would queue
	 * without interrupting, walk it, and repeat until a cut-off finds no
	 * new GISA; the last cut-off stores NULL, re-enabling GAL interrupts.
	 */
	do {
		final = !origin.vm && origin.term == 1;
		origin = h->origin;
		h->origin = (struct alert_link){ .vm = NULL, .term = final ? 0 : 1 };
		while (origin.vm) {
			struct gisa_vm *vm = origin.vm;

			origin = vm->gisa.next;
			vm->gisa.next = (struct alert_link){ 0 };
			vm->gisa.on_list = false;
			/* (Re)start the kicker timer with no delay. */
			vm->gisa.timer_armed = true;
			vm->gisa.timer_delay_ns = 0;
			n++;
		}
	} while (!final);
	return n;
}

/* __airqs_kick_single_vcpu: wake at most one idle vcpu that can take mask. */
static void kick_single_vcpu(struct gisa_vm *vm, uint8_t mask)
{
	for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!vcpu_idle(vm, i) || !(v->psw & GISA_PSW_MASK_IO))
			continue;
		if (!((uint8_t)(v->cr6 >> 24) & mask))
			continue;
		if (v->kicked)
			return;   /* kicked lately but not yet running */
		v->kicked = true;
		vm_event(vm, GISA_EV_GISA_WAKE, i, GISA_KICK_NONE);
		return;
	}
}

int gisa_gisa_timer_fire(struct gisa_vm *vm)
{
	uint8_t p;

	if (!vm->gisa.present)
		return -ENODEV;
	if (!vm->gisa.timer_armed)
		return -ENOENT;
	p = gisa_get_ipm_or_restore_iam(vm);
	if (!p) {
		vm->gisa.timer_armed = false;
		vm->gisa.timer_delay_ns = 0;
		return 0;
	}
	kick_single_vcpu(vm, p);
	vm->gisa.timer_delay_ns = GISA_KICKER_DELAY_NS;
	return 1;
}

void gisa_detach(struct gisa_vm *vm)
{
	/*
	 * gisa_destroy: a GISA still listed is taken off by processing the
	 * whole list (the CLASSIC busy-wait ends the same way, when the GAL
	 * handler runs), which starts the other listed VMs' timers.
	 */
	if (vm->gisa.on_list)
		gisa_host_process_alerts(vm->host);
	vm->gisa.timer_armed = false;
}
