/* SPDX-License-Identifier: MIT */
/*
 * Verbs that drive the engine: the FLIC, batch injection, the legacy
 * interrupt, routes, guest memory, vcpus, GISA and GIB, events.
 *
 * Each is one engine call (batch_inject: one per record, see there) with
 * its exact return code: a negative one becomes the reply's error, with a
 * message naming the VM and the values; a non-negative one travels in the
 * result.  Buffers travel by value, in the VM's abi_order.
 */
#include <errno.h>
#include <string.h>

#include <gisa/state.h>

#include "gisad.h"
#include "log.h"

/*
 * Most result bytes one reply on r's connection carries: the datagram cap,
 * or less where net.core.wmem_max bounds the send buffer (control.c).
 */
static size_t result_max(const struct request *r)
{
	return r->reply_max > GISAD_REPLY_HEADROOM ? r->reply_max - GISAD_REPLY_HEADROOM : 0;
}

static enum gisa_byteorder vm_order(const struct gisa_vm *vm)
{
	struct gisa_vm_config cfg;

	gisa_vm_config(vm, &cfg);
	return cfg.abi_order;
}

static int reply_ret(struct request *r, int ret)
{
	Gisa__V1__ReturnValue *v = req_alloc(r, sizeof(*v));

	if (!v)
		return -ENOMEM;
	gisa__v1__return_value__init(v);
	v->has_ret = true;
	v->ret = ret;
	REPLY(r, ret, RET, v);
	return 0;
}

/* A call whose return value is the result: 0/positive in ret, else an error. */
static int engine_ret(struct request *r, int ret, const char *what)
{
	int err = reply_ret(r, ret);

	if (err)
		return err;
	return ret < 0 ? req_engine(r, ret, what) : 0;
}

/* ---- FLIC --------------------------------------------------------------- */

int verb_flic_create(struct request *r)
{
	struct vmrec *rec = NULL;
	int err = req_vm(r, r->req->flic_create->vm, &rec);

	return err ? err : engine_ret(r, gisa_flic_create(rec->vm), "creating the FLIC");
}

int verb_flic_destroy(struct request *r)
{
	struct vmrec *rec = NULL;
	int err = req_vm(r, r->req->flic_destroy->vm, &rec);

	return err ? err : engine_ret(r, gisa_flic_destroy(rec->vm), "destroying the FLIC");
}

enum flic_op { FLIC_HAS, FLIC_GET, FLIC_SET };

static int flic_call(struct request *r, const Gisa__V1__FlicAttr *q, enum flic_op op)
{
	Gisa__V1__FlicResult *res = req_alloc(r, sizeof(*res));
	size_t dlen = q->has_data ? q->data.len : 0, blen = dlen;
	struct gisa_attr a;
	struct vmrec *rec = NULL;
	char what[96];
	uint8_t *buf;
	int ret, err;

	err = req_vm(r, q->vm, &rec);
	if (err)
		return err;
	if (!res)
		return -ENOMEM;
	if (op == FLIC_GET && q->buf_len > blen)
		blen = q->buf_len;
	/* GET's buffer comes back in the reply: refuse what cannot. */
	if (op == FLIC_GET && blen > result_max(r))
		return req_fail(r, -E2BIG,
				"flic_get: a buffer of %zu bytes exceeds the %zu a reply carries; "
				"give a smaller buf_len (attr may still exceed it)",
				blen, result_max(r));
	buf = req_alloc(r, blen ? blen : 1);
	if (!buf)
		return -ENOMEM;
	if (dlen)
		memcpy(buf, q->data.data, dlen);
	memset(&a, 0, sizeof(a));
	a.flags = q->flags;
	a.group = q->group;
	a.attr = q->attr;
	if (!q->unmapped) {
		a.addr.data = buf;
		a.addr.len = blen;
	}
	a.addr.bad_off = q->bad_off;
	a.addr.bad_len = q->bad_len;

	switch (op) {
	case FLIC_HAS:
		ret = gisa_flic_has_attr(rec->vm, &a);
		break;
	case FLIC_GET:
		ret = gisa_flic_get_attr(rec->vm, &a);
		break;
	default:
		ret = gisa_flic_set_attr(rec->vm, &a);
		break;
	}
	gisa__v1__flic_result__init(res);
	res->has_ret = true;
	res->ret = ret;
	if (op == FLIC_GET) {
		/* The buffer as the call left it, also on error. */
		res->has_data = true;
		res->data.data = buf;
		res->data.len = blen;
	}
	REPLY(r, flic, FLIC, res);
	if (ret >= 0)
		return 0;
	snprintf(what, sizeof(what), "group %u, attr 0x%llx, %zu-byte buffer", q->group,
		 (unsigned long long)q->attr, q->unmapped ? (size_t)0 : blen);
	return req_engine(r, ret, what);
}

int verb_flic_has(struct request *r)
{
	return flic_call(r, r->req->flic_has, FLIC_HAS);
}

int verb_flic_get(struct request *r)
{
	return flic_call(r, r->req->flic_get, FLIC_GET);
}

int verb_flic_set(struct request *r)
{
	return flic_call(r, r->req->flic_set, FLIC_SET);
}

/*
 * One ENQUEUE of the whole array means: records in order, the first error
 * ends it, no rollback (spec §3.2).  Issuing it as one-record ENQUEUEs is
 * the same sequence of effects, and says how many records went in, which
 * a single call cannot.
 */
int verb_batch_inject(struct request *r)
{
	const Gisa__V1__BatchInject *q = r->req->batch_inject;
	Gisa__V1__BatchResult *res = req_alloc(r, sizeof(*res));
	size_t len = q->has_records ? q->records.len : 0;
	struct gisa_attr a = { .group = GISA_FLIC_ENQUEUE, .attr = GISA_IRQ_SIZE };
	struct vmrec *rec = NULL;
	uint32_t n, k;
	int ret = 0, err;

	err = req_vm(r, q->vm, &rec);
	if (err)
		return err;
	if (!res)
		return -ENOMEM;
	if (len % GISA_IRQ_SIZE)
		return req_fail(r, -EINVAL,
				"batch_inject on VM `%s': %zu bytes of records is not a multiple "
				"of %u; nothing injected",
				rec->name, len, GISA_IRQ_SIZE);
	n = (uint32_t)(len / GISA_IRQ_SIZE);
	for (k = 0; k < n; k++) {
		a.addr.data = q->records.data + (size_t)k * GISA_IRQ_SIZE;
		a.addr.len = GISA_IRQ_SIZE;
		ret = gisa_flic_set_attr(rec->vm, &a);
		if (ret)
			break;
	}
	gisa__v1__batch_result__init(res);
	res->has_injected = res->has_total = true;
	res->injected = k;
	res->total = n;
	REPLY(r, batch, BATCH, res);
	if (ret < 0) {
		struct gisa_irq irq;
		char what[96];

		gisa_irq_unpack1(q->records.data + (size_t)k * GISA_IRQ_SIZE,
				 vm_order(rec->vm), &irq);
		snprintf(what, sizeof(what), "record %u of %u (type 0x%llx); %u injected", k, n,
			 (unsigned long long)irq.type, k);
		return req_engine(r, ret, what);
	}
	return 0;
}

int verb_interrupt(struct request *r)
{
	const Gisa__V1__Interrupt *q = r->req->interrupt;
	struct vmrec *rec = NULL;
	char what[96];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "type 0x%x, parm 0x%x, parm64 0x%llx", q->type, q->parm,
		 (unsigned long long)q->parm64);
	return engine_ret(r, gisa_vm_interrupt(rec->vm, q->type, q->parm, q->parm64), what);
}

/* ---- routes ------------------------------------------------------------- */

int verb_routes_set(struct request *r)
{
	const Gisa__V1__RoutesSet *q = r->req->routes_set;
	struct gisa_route_entry *e;
	struct vmrec *rec = NULL;
	char what[64];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	e = req_alloc(r, (q->n_entries + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < q->n_entries; i++) {
		const Gisa__V1__RouteEntry *s = q->entries[i];

		e[i].gsi = s->gsi;
		e[i].type = s->type;
		e[i].flags = s->flags;
		e[i].adapter.ind_addr = s->ind_addr;
		e[i].adapter.summary_addr = s->summary_addr;
		e[i].adapter.ind_offset = s->ind_offset;
		e[i].adapter.summary_offset = s->summary_offset;
		e[i].adapter.adapter_id = s->adapter_id;
	}
	snprintf(what, sizeof(what), "%zu entries, flags 0x%x", q->n_entries, q->flags);
	return engine_ret(r, gisa_routes_set(rec->vm, e, q->n_entries, q->flags), what);
}

int verb_route_trigger(struct request *r)
{
	const Gisa__V1__RouteTrigger *q = r->req->route_trigger;
	struct vmrec *rec = NULL;
	int ret, err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	ret = gisa_route_trigger(rec->vm, q->gsi, q->level);
	err = reply_ret(r, ret);
	if (err)
		return err;
	if (ret == -1)   /* the kernel's bare -1, not an errno */
		return req_fail(r, ret,
				"route_trigger on VM `%s': gsi %u level %d: -1 (no route, no "
				"registered adapter, or an address no memslot backs)",
				rec->name, q->gsi, q->level);
	if (ret < 0) {
		char what[64];

		snprintf(what, sizeof(what), "gsi %u level %d", q->gsi, q->level);
		return req_engine(r, ret, what);
	}
	return 0;
}

/* ---- guest memory ------------------------------------------------------- */

int verb_mem_read(struct request *r)
{
	const Gisa__V1__MemRead *q = r->req->mem_read;
	Gisa__V1__MemData *m = req_alloc(r, sizeof(*m));
	struct vmrec *rec = NULL;
	uint8_t *buf;
	char what[64];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	if (q->len > result_max(r))
		return req_fail(r, -E2BIG, "mem_read: %u bytes exceed the %zu a reply carries",
				q->len, result_max(r));
	buf = req_alloc(r, q->len ? q->len : 1);
	if (!m || !buf)
		return -ENOMEM;
	snprintf(what, sizeof(what), "gpa 0x%llx, %u bytes", (unsigned long long)q->gpa, q->len);
	err = gisa_mem_read(rec->vm, q->gpa, buf, q->len);
	if (err)
		return req_engine(r, err, what);
	gisa__v1__mem_data__init(m);
	m->has_data = true;
	m->data.data = buf;
	m->data.len = q->len;
	REPLY(r, mem, MEM, m);
	return 0;
}

int verb_mem_write(struct request *r)
{
	const Gisa__V1__MemWrite *q = r->req->mem_write;
	size_t len = q->has_data ? q->data.len : 0;
	struct vmrec *rec = NULL;
	char what[64];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "gpa 0x%llx, %zu bytes", (unsigned long long)q->gpa, len);
	return engine_ret(r, gisa_mem_write(rec->vm, q->gpa, len ? q->data.data : NULL, len),
			  what);
}

int verb_memslot_set(struct request *r)
{
	const Gisa__V1__MemslotSet *q = r->req->memslot_set;
	const Gisa__V1__MemslotSpec *s = q->slot;
	struct vmrec *rec = NULL;
	char what[96];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	if (!s)
		return req_fail(r, -EINVAL, "memslot_set on VM `%s': no slot given", rec->name);
	snprintf(what, sizeof(what), "slot %u, gpa 0x%llx, size 0x%llx", s->slot,
		 (unsigned long long)s->gpa, (unsigned long long)s->size);
	return engine_ret(r, gisa_mem_set_slot(rec->vm, s->slot, s->gpa, s->size), what);
}

int verb_dirty_log(struct request *r)
{
	const Gisa__V1__DirtyLog *q = r->req->dirty_log;
	Gisa__V1__DirtyBitmap *b = req_alloc(r, sizeof(*b));
	struct gisa_memslot_info mi;
	struct gisa_state st;
	struct vmrec *rec = NULL;
	uint64_t *words;
	size_t nwords = 0;
	bool found = false;
	char what[32];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	if (!b)
		return -ENOMEM;
	gisa_state_read(rec->vm, &st);
	for (uint32_t i = 0; i < st.nr_memslots && !found; i++) {
		if (gisa_state_memslot(rec->vm, i, &mi) == 0 && mi.slot == q->slot) {
			found = true;
			nwords = (size_t)((mi.size / GISA_PAGE_SIZE + 63) / 64);
		}
	}
	if (!found)
		return req_fail(r, -ENOENT, "dirty_log on VM `%s': no memslot %u", rec->name,
				q->slot);
	if (nwords > result_max(r) / 8)
		return req_fail(r, -E2BIG,
				"dirty_log on VM `%s': slot %u's bitmap of %zu bytes "
				"exceeds the %zu a reply carries",
				rec->name, q->slot, nwords * 8, result_max(r));
	words = req_alloc(r, (nwords + 1) * sizeof(*words));
	if (!words)
		return -ENOMEM;
	snprintf(what, sizeof(what), "slot %u", q->slot);
	err = gisa_mem_get_dirty_log(rec->vm, q->slot, words, nwords);
	if (err)
		return req_engine(r, err, what);
	gisa__v1__dirty_bitmap__init(b);
	b->n_words = nwords;
	b->words = words;
	REPLY(r, dirty_log, DIRTY_LOG, b);
	return 0;
}

/* ---- vcpus -------------------------------------------------------------- */

static int vcpu_ref(struct request *r, const Gisa__V1__VcpuRef *q, struct vmrec **rec,
		    char *what, size_t len)
{
	int err = req_vm(r, q->vm, rec);

	if (!err)
		snprintf(what, len, "vcpu %u", q->vcpu);
	return err;
}

static int reply_vcpu(struct request *r, const struct gisa_vcpu_state *st)
{
	Gisa__V1__VcpuState *v = req_alloc(r, sizeof(*v));

	if (!v)
		return -ENOMEM;
	gisa__v1__vcpu_state__init(v);
	v->has_psw_mask = v->has_cr0 = v->has_cr6 = v->has_cr14 = true;
	v->has_run = v->has_kicked = true;
	v->psw_mask = st->psw_mask;
	v->cr0 = st->cr0;
	v->cr6 = st->cr6;
	v->cr14 = st->cr14;
	v->run = (uint32_t)st->run;
	v->kicked = st->kicked;
	REPLY(r, vcpu, VCPU, v);
	return 0;
}

int verb_vcpu_get(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_get;
	struct gisa_vcpu_state st;
	struct vmrec *rec = NULL;
	char what[32];
	int err = vcpu_ref(r, q, &rec, what, sizeof(what));

	if (err)
		return err;
	err = gisa_vcpu_get(rec->vm, q->vcpu, &st);
	return err ? req_engine(r, err, what) : reply_vcpu(r, &st);
}

int verb_vcpu_set(struct request *r)
{
	const Gisa__V1__VcpuSet *q = r->req->vcpu_set;
	struct gisa_vcpu_state st = { 0 };
	struct vmrec *rec = NULL;
	char what[64];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	if (!q->state)
		return req_fail(r, -EINVAL, "vcpu_set on VM `%s': no state given", rec->name);
	st.psw_mask = q->state->psw_mask;
	st.cr0 = q->state->cr0;
	st.cr6 = q->state->cr6;
	st.cr14 = q->state->cr14;
	st.run = (enum gisa_run_state)q->state->run;
	snprintf(what, sizeof(what), "vcpu %u, run state %u", q->vcpu, q->state->run);
	return engine_ret(r, gisa_vcpu_set(rec->vm, q->vcpu, &st), what);
}

int verb_vcpu_run(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_run;
	struct vmrec *rec = NULL;
	char what[32];
	int err = vcpu_ref(r, q, &rec, what, sizeof(what));

	return err ? err : engine_ret(r, gisa_vcpu_run(rec->vm, q->vcpu), what);
}

int verb_vcpu_wait(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_wait;
	struct vmrec *rec = NULL;
	char what[32];
	int err = vcpu_ref(r, q, &rec, what, sizeof(what));

	return err ? err : engine_ret(r, gisa_vcpu_wait(rec->vm, q->vcpu), what);
}

int verb_vcpu_deliver(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_deliver;
	Gisa__V1__Delivery *dv = req_alloc(r, sizeof(*dv));
	struct gisa_delivery del;
	struct vmrec *rec = NULL;
	char what[32];
	int ret, err = vcpu_ref(r, q, &rec, what, sizeof(what));

	if (err)
		return err;
	if (!dv)
		return -ENOMEM;
	memset(&del, 0, sizeof(del));
	ret = gisa_vcpu_deliver(rec->vm, q->vcpu, &del);
	if (ret < 0)
		return req_engine(r, ret, what);
	gisa__v1__delivery__init(dv);
	dv->has_ret = true;
	dv->ret = ret;
	if (ret == 1) {
		dv->has_kind = dv->has_irq_bit = dv->has_type = true;
		dv->kind = (uint32_t)del.kind;
		dv->irq_bit = del.irq_bit;
		dv->type = del.type;
		switch (del.kind) {
		case GISA_DELIVER_IO:
			dv->has_subchannel_id = dv->has_subchannel_nr = true;
			dv->has_io_int_parm = dv->has_io_int_word = true;
			dv->subchannel_id = del.u.io.subchannel_id;
			dv->subchannel_nr = del.u.io.subchannel_nr;
			dv->io_int_parm = del.u.io.io_int_parm;
			dv->io_int_word = del.u.io.io_int_word;
			break;
		case GISA_DELIVER_EXT:
			dv->has_ext_code = dv->has_ext_cpu_addr = true;
			dv->has_ext_param = dv->has_ext_param64 = true;
			dv->ext_code = del.u.ext.code;
			dv->ext_cpu_addr = del.u.ext.cpu_addr;
			dv->ext_param = del.u.ext.param;
			dv->ext_param64 = del.u.ext.param64;
			break;
		case GISA_DELIVER_MCHK:
			dv->has_mcic = dv->has_mchk_cr14 = true;
			dv->mcic = del.u.mchk.mcic;
			dv->mchk_cr14 = del.u.mchk.cr14;
			break;
		}
	}
	REPLY(r, delivery, DELIVERY, dv);
	return 0;
}

int verb_vcpu_deliverable(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_deliverable;
	Gisa__V1__Deliverable *dl = req_alloc(r, sizeof(*dl));
	struct vmrec *rec = NULL;
	uint32_t bits = 0;
	char what[32];
	int err = vcpu_ref(r, q, &rec, what, sizeof(what));

	if (err)
		return err;
	if (!dl)
		return -ENOMEM;
	err = gisa_vcpu_deliverable(rec->vm, q->vcpu, &bits);
	if (err < 0)
		return req_engine(r, err, what);
	gisa__v1__deliverable__init(dl);
	dl->has_bits = true;
	dl->bits = bits;
	REPLY(r, deliverable, DELIVERABLE, dl);
	return 0;
}

static int reply_irq(struct request *r, struct vmrec *rec, int ret, const struct gisa_irq *irq,
		     const char *what)
{
	Gisa__V1__IrqRecord *ir = req_alloc(r, sizeof(*ir));
	uint8_t *buf = req_alloc(r, GISA_IRQ_SIZE);

	if (ret < 0)
		return req_engine(r, ret, what);
	if (!ir || !buf)
		return -ENOMEM;
	gisa__v1__irq_record__init(ir);
	ir->has_ret = true;
	ir->ret = ret;
	if (ret == 1) {
		gisa_irq_pack1(irq, vm_order(rec->vm), buf);
		ir->has_record = true;
		ir->record.data = buf;
		ir->record.len = GISA_IRQ_SIZE;
	}
	REPLY(r, irq, IRQ, ir);
	return 0;
}

int verb_vcpu_tpi(struct request *r)
{
	const Gisa__V1__VcpuRef *q = r->req->vcpu_tpi;
	struct gisa_irq irq;
	struct vmrec *rec = NULL;
	char what[32];
	int err = vcpu_ref(r, q, &rec, what, sizeof(what));

	if (err)
		return err;
	memset(&irq, 0, sizeof(irq));
	return reply_irq(r, rec, gisa_vcpu_tpi(rec->vm, q->vcpu, &irq), &irq, what);
}

int verb_vcpu_tsch(struct request *r)
{
	const Gisa__V1__VcpuTsch *q = r->req->vcpu_tsch;
	struct gisa_irq irq;
	struct vmrec *rec = NULL;
	char what[64];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "vcpu %u, gpr1 0x%llx", q->vcpu, (unsigned long long)q->gpr1);
	memset(&irq, 0, sizeof(irq));
	return reply_irq(r, rec, gisa_vcpu_tsch(rec->vm, q->vcpu, q->gpr1, &irq), &irq, what);
}

/* ---- GISA and GIB ------------------------------------------------------- */

int verb_gisc_register(struct request *r)
{
	const Gisa__V1__Gisc *q = r->req->gisc_register;
	struct vmrec *rec = NULL;
	char what[32];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "gisc %u", q->gisc);
	return engine_ret(r, gisa_gisc_register(rec->vm, q->gisc), what);
}

int verb_gisc_unregister(struct request *r)
{
	const Gisa__V1__Gisc *q = r->req->gisc_unregister;
	struct vmrec *rec = NULL;
	char what[32];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "gisc %u", q->gisc);
	return engine_ret(r, gisa_gisc_unregister(rec->vm, q->gisc), what);
}

int verb_hw_airq(struct request *r)
{
	const Gisa__V1__HwAirq *q = r->req->hw_airq;
	struct vmrec *rec = NULL;
	char what[48];
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	snprintf(what, sizeof(what), "isc %u, vcpu_in_sie %d", q->isc, q->vcpu_in_sie);
	return engine_ret(r, gisa_gisa_hw_airq(rec->vm, q->isc, q->vcpu_in_sie), what);
}

int verb_process_alerts(struct request *r)
{
	int err = mig_refuse_alerts(r, NULL, "process_alerts");

	if (err)
		return err;
	return engine_ret(r, gisa_host_process_alerts(r->d->host), "processing the alert list");
}

int verb_timer_fire(struct request *r)
{
	struct vmrec *rec = NULL;
	int err = req_vm(r, r->req->timer_fire->vm, &rec);

	return err ? err : engine_ret(r, gisa_gisa_timer_fire(rec->vm), "kicker timer");
}

/* ---- events ------------------------------------------------------------- */

int verb_events_read(struct request *r)
{
	const Gisa__V1__EventsRead *q = r->req->events_read;
	Gisa__V1__EventList *l = req_alloc(r, sizeof(*l));
	struct gisa_event *ev = req_alloc(r, GISA_EVENT_RING_SIZE * sizeof(*ev));
	Gisa__V1__ControlEvent *ce;
	Gisa__V1__ControlEvent **pv;
	struct vmrec *rec = NULL;
	size_t max, n;
	int err = req_vm(r, q->vm, &rec);

	if (err)
		return err;
	max = q->max && q->max < GISA_EVENT_RING_SIZE ? q->max : GISA_EVENT_RING_SIZE;
	/* Everything allocated before the events are taken: a failure loses none. */
	ce = req_alloc(r, (max + 1) * sizeof(*ce));
	pv = req_alloc(r, (max + 1) * sizeof(Gisa__V1__ControlEvent *));
	if (!l || !ev || !ce || !pv)
		return -ENOMEM;
	vmreg_drain(r->d, rec);
	n = vmreg_events_take(rec, ev, max);
	gisa__v1__event_list__init(l);
	for (size_t i = 0; i < n; i++) {
		gisa__v1__control_event__init(&ce[i]);
		ce[i].has_kind = true;
		ce[i].kind = ev[i].kind == GISA_EV_KICK ?
				     GISA__V1__EVENT_KIND__EVENT_KIND_KICK :
				     GISA__V1__EVENT_KIND__EVENT_KIND_GISA_WAKE;
		ce[i].has_seq = ce[i].has_vcpu = true;
		ce[i].seq = ev[i].seq;
		ce[i].vcpu = ev[i].vcpu;
		ce[i].has_flag = ev[i].flag != GISA_KICK_NONE;
		ce[i].flag = (uint32_t)ev[i].flag;
		pv[i] = &ce[i];
	}
	l->n_events = n;
	l->events = pv;
	l->has_dropped = true;
	l->dropped = gisa_vm_events_dropped(rec->vm) + rec->ev_dropped;
	REPLY(r, events, EVENTS, l);
	return 0;
}
