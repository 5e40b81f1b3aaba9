/* SPDX-License-Identifier: MIT */
/*
 * Building a VM's exact state for import (restore.h).  Each setter checks
 * the invariants of what it sets (engine-internal.h and the files' own
 * lists) before changing anything, and names the first violation.
 */
#include <stdlib.h>

#include "engine-internal.h"

#define BIT(n) (1u << (n))

static int bad(struct gisa_restore_error *err, const char *field, uint64_t index,
	       uint64_t value, const char *reason)
{
	err->field = field;
	err->index = index;
	err->value = value;
	err->reason = reason;
	return -EINVAL;
}

int gisa_restore_float(struct gisa_vm *vm, const struct gisa_float_image *img,
		       struct gisa_restore_error *err)
{
	struct float_int *fi = &vm->fi;
	bool ev_bits = img->srv_ext_params & GISA_SCCB_EVENT_PENDING;

	if (img->service_ev_pending != ev_bits)
		return bad(err, "service_ev_pending", 0, img->service_ev_pending,
			   "set exactly when srv_ext_params has event bits (0x3)");
	if ((img->service_ev_pending || img->srv_ext_params) && !img->service_pending)
		return bad(err, "service_pending", 0, 0,
			   "set whenever a service parameter or event is pending");
	if (img->srv_ext_params & 0x4)
		return bad(err, "srv_ext_params", 0, img->srv_ext_params,
			   "bit 0x4 clear (the kernel drops it)");
	if (img->mchk_cr14 & ~(uint64_t)GISA_CR14_CHANNEL_REPORT)
		return bad(err, "mchk_cr14", 0, img->mchk_cr14, "only bit 0x10000000");
	if ((img->mchk_cr14 || img->mchk_mcic) && !img->mchk_pending)
		return bad(err, "mchk_pending", 0, 0, "set when the accumulators are non-zero");
	if (!vm_has_ais(vm) && (img->simm || img->nimm))
		return bad(err, "simm", 0, (uint64_t)img->simm << 8 | img->nimm,
			   "zero without the AIS facility");
	if (img->kick_cursor >= (vm->nr_vcpus ? vm->nr_vcpus : 1))
		return bad(err, "kick_cursor", 0, img->kick_cursor, "below the vcpu count");

	vm->flic = img->flic_present;
	vm->apf = img->apf_enabled;
	fi->pending &= ~(BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV) |
			 BIT(GISA_IRQ_MCHK_REP));
	if (img->service_pending)
		fi->pending |= BIT(GISA_IRQ_EXT_SERVICE);
	if (img->service_ev_pending)
		fi->pending |= BIT(GISA_IRQ_EXT_SERVICE_EV);
	if (img->mchk_pending)
		fi->pending |= BIT(GISA_IRQ_MCHK_REP);
	fi->srv = img->srv_ext_params;
	fi->mchk_cr14 = img->mchk_cr14;
	fi->mchk_mcic = img->mchk_mcic;
	fi->simm = img->simm;
	fi->nimm = img->nimm;
	if (vm_newest(vm))
		fi->last_sleep_cpu = img->kick_cursor;
	else
		fi->next_rr_cpu = img->kick_cursor;
	return 0;
}

int gisa_restore_adapter(struct gisa_vm *vm, const struct gisa_state_adapter *in,
			 const uint64_t *maps, struct gisa_restore_error *err)
{
	struct adapter *a;

	if (in->id >= GISA_MAX_ADAPTERS)
		return bad(err, "adapters.id", in->id, in->id, "below 64");
	if (vm->adapters[in->id])
		return bad(err, "adapters.id", in->id, in->id, "registered once");
	if (in->isc > 0xff)
		return bad(err, "adapters.isc", in->id, in->isc, "a byte (0..255)");
	if (in->masked && !in->maskable)
		return bad(err, "adapters.masked", in->id, 1, "only on a maskable adapter");
	if (in->nr_maps && !vm_newest(vm))
		return bad(err, "adapters.maps", in->id, in->nr_maps, "empty outside NEWEST");
	if (in->nr_maps > GISA_MAX_ADAPTER_MAPS)
		return bad(err, "adapters.maps", in->id, in->nr_maps, "at most 256 entries");
	for (uint32_t i = 0; i < in->nr_maps; i++)
		if (!maps[i])
			return bad(err, "adapters.maps", in->id, 0, "non-zero guest addresses");

	a = mem_zalloc(vm->alloc, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if (in->nr_maps) {
		a->maps = mem_reallocarray(vm->alloc, NULL, in->nr_maps, sizeof(*a->maps));
		if (!a->maps) {
			mem_free(vm->alloc, a);
			return -ENOMEM;
		}
		memcpy(a->maps, maps, in->nr_maps * sizeof(*maps));
		a->nr_maps = a->maps_cap = in->nr_maps;
	}
	a->id = in->id;
	a->isc = in->isc;
	a->maskable = in->maskable;
	a->masked = in->masked;
	a->swap = in->swap;
	a->suppressible = in->suppressible;
	vm->adapters[in->id] = a;
	vm_changed(vm, GISA_TRACK_ADAPTERS);
	return 0;
}

int gisa_restore_routes(struct gisa_vm *vm, const struct gisa_route_entry *e, size_t n,
			struct gisa_restore_error *err)
{
	return route_restore(vm, e, n, err);
}

int gisa_restore_vcpu(struct gisa_vm *vm, uint32_t idx, const struct gisa_vcpu_state *st,
		      struct gisa_restore_error *err)
{
	if (idx >= vm->nr_vcpus)
		return bad(err, "vcpus", idx, idx, "below the vcpu count");
	if (st->run != GISA_VCPU_RUNNING && st->run != GISA_VCPU_IDLE &&
	    st->run != GISA_VCPU_STOPPED)
		return bad(err, "vcpus.run", idx, (uint64_t)st->run, "running, idle or stopped");
	if (st->kicked && st->run != GISA_VCPU_IDLE)
		return bad(err, "vcpus.kicked", idx, 1, "set only on an idle vcpu");
	if (gisa_vcpu_set(vm, idx, st))
		return bad(err, "vcpus", idx, idx, "a valid vcpu state");
	vm->vcpus[idx].kicked = st->kicked;
	return 0;
}

int gisa_restore_gisa(struct gisa_vm *vm, const struct gisa_state_gisa *in,
		      struct gisa_restore_error *err)
{
	struct gisa_int *g = &vm->gisa;
	uint8_t mask = 0;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		if (in->refcount[i])
			mask |= GISA_ISC_BIT(i);
	if (in->present != g->present)
		return bad(err, "gisa.present", 0, in->present, "the VM's GISA capability");
	if (!g->present) {
		if (in->ipm || in->iam || in->alert_mask || mask || in->on_alert_list ||
		    in->timer_armed || in->timer_delay_ns)
			return bad(err, "gisa", 0, 0, "all zero without a GISA");
		return 0;
	}
	if (in->alert_mask != mask)
		return bad(err, "gisa.alert_mask", 0, in->alert_mask,
			   "the ISCs whose refcount is non-zero");
	if (in->timer_delay_ns != 0 &&
	    (in->timer_delay_ns != GISA_KICKER_DELAY_NS || !in->timer_armed))
		return bad(err, "gisa.timer_delay_ns", 0, in->timer_delay_ns,
			   "0, or 50000 while the timer is armed");
	if (g->on_list)
		return bad(err, "gisa.on_alert_list", 0, 1, "restored once");

	g->ipm = in->ipm;
	g->iam = in->iam;
	g->alert_mask = in->alert_mask;
	memcpy(g->ref, in->refcount, sizeof(g->ref));
	g->timer_armed = in->timer_armed;
	g->timer_delay_ns = in->timer_delay_ns;
	if (in->on_alert_list) {
		g->next = vm->host->origin;
		g->on_list = true;
		vm->host->origin = (struct alert_link){ .vm = vm };
	}
	return 0;
}

/* ---- live edits ---------------------------------------------------------- */

/* Take vm's GISA off its host's alert list, the others' links unchanged. */
static void alert_unlink(struct gisa_vm *vm)
{
	struct alert_link *p = &vm->host->origin;

	while (p->vm && p->vm != vm)
		p = &p->vm->gisa.next;
	if (p->vm == vm)
		*p = vm->gisa.next;
	vm->gisa.on_list = false;
	vm->gisa.next = (struct alert_link){ 0 };
}

int gisa_restore_rehost(struct gisa_vm *vm, struct gisa_host *to)
{
	struct gisa_host *from = vm->host;
	bool listed = vm->gisa.on_list;

	if (to == from)
		return 0;
	if (to->nisc != from->nisc || to->alloc.alloc != from->alloc.alloc ||
	    to->alloc.realloc != from->alloc.realloc || to->alloc.free != from->alloc.free ||
	    to->alloc.ctx != from->alloc.ctx)
		return -EINVAL;
	if (listed)
		alert_unlink(vm);
	from->nr_vms--;
	vm->host = to;
	vm->alloc = &to->alloc;
	to->nr_vms++;
	if (listed) {
		vm->gisa.next = to->origin;
		vm->gisa.on_list = true;
		to->origin = (struct alert_link){ .vm = vm };
	}
	return 0;
}

void gisa_restore_reset(struct gisa_vm *vm, unsigned what)
{
	if (what & GISA_RESET_ADAPTERS)
		adapter_free_all(vm);
	if (what & GISA_RESET_ROUTES)
		route_release(vm);
	if ((what & GISA_RESET_GISA) && vm->gisa.on_list)
		alert_unlink(vm);
}

int gisa_restore_page_drop(struct gisa_vm *vm, uint64_t gpa)
{
	if (!mem_allocated(vm, gpa))
		return -ENOENT;
	mem_page_drop(vm, gpa);
	return 0;
}
