/* SPDX-License-Identifier: MIT */
/*
 * Floating interrupts: the ten FIFO lists, the service and machine-check
 * accumulators, the common injection path with its limits and merges
 * (spec §4.1–4.3, §4.8), kick-target selection (§4.7), GET_ALL_IRQS and
 * ENQUEUE (§3.1, §3.2), CLEAR_IRQS (§3.3), the TPI/TSCH dequeue (§4.6) and
 * the floating half of delivery (§4.5).
 *
 * Invariants (see engine-internal.h I1–I3):
 *  F1  list i (ISC i) non-empty <=> pending bit 10 - i; list 8 <=>
 *      PFAULT_DONE, list 9 <=> VIRTIO.  The IPM is never folded in.
 *  F2  counters[IO] = sum of lists 0..7 <= 266250; counters[VIRTIO] =
 *      len(9) <= 87381; counters[PFAULT] = len(8) <= 16320.
 *  F3  EXT_SERVICE_EV set => srv has an event bit (0x3).  EXT_SERVICE set
 *      after every service injection; srv keeps the first SCCB address.
 *  F4  MCHK_REP set <=> a floating machine check was injected since the
 *      last delivery or clear; only cr14 bit 28 is ever accumulated.
 *  F5  Nothing on these paths allocates: callers reserve pool nodes first.
 */
#include "engine-internal.h"

#define BIT(n) (1u << (n))

static inline uint32_t list_bit(unsigned li)
{
	if (li == GISA_LIST_PFAULT)
		return BIT(GISA_IRQ_PFAULT_DONE);
	if (li == GISA_LIST_VIRTIO)
		return BIT(GISA_IRQ_VIRTIO);
	return BIT(GISA_IRQ_IO_ISC(li));
}

static inline unsigned list_counter(unsigned li)
{
	if (li == GISA_LIST_PFAULT)
		return CNTR_PFAULT;
	if (li == GISA_LIST_VIRTIO)
		return CNTR_VIRTIO;
	return CNTR_IO;
}

static inline void list_append(struct gisa_vm *vm, unsigned li, uint32_t n)
{
	struct flist *l = &vm->fi.lists[li];

	if (vm->fi.tracking) {
		struct ltrack *t = &vm->fi.track[li];

		if (!t->tail_n++)
			t->tail = n;
	}

	vm->pool.nodes[n].next = NIL;
	if (l->tail == NIL)
		l->head = n;
	else
		vm->pool.nodes[l->tail].next = n;
	l->tail = n;
	l->len++;
	vm->fi.counters[list_counter(li)]++;
	vm->fi.pending |= list_bit(li);
}

/*
 * Tracking: node n at position pos of list li leaves it (next: its
 * successor).  Leaving the run's head only consumes it; leaving the run
 * elsewhere ends the run there, and what followed it in the run joins the
 * tail; leaving the tail shortens it.
 */
static inline void track_unlink(struct ltrack *t, uint32_t n, uint32_t next, uint32_t pos)
{
	if (pos < t->keep) {
		uint32_t moved = t->keep - pos - 1;

		if (!pos) {
			t->drop++;
			t->keep--;
			return;
		}
		t->keep = pos;
		if (moved) {
			t->tail = next;
			t->tail_n += moved;
		}
		return;
	}
	t->tail_n--;
	if (n == t->tail)
		t->tail = next;
}

/* Unlink node n (at position pos, its predecessor prev or NIL) from list li. */
static inline void list_unlink(struct gisa_vm *vm, unsigned li, uint32_t prev, uint32_t n,
			       uint32_t pos)
{
	struct flist *l = &vm->fi.lists[li];
	uint32_t next = vm->pool.nodes[n].next;

	if (vm->fi.tracking)
		track_unlink(&vm->fi.track[li], n, next, pos);

	if (prev == NIL)
		l->head = next;
	else
		vm->pool.nodes[prev].next = next;
	if (l->tail == n)
		l->tail = prev;
	l->len--;
	vm->fi.counters[list_counter(li)]--;
	if (!l->len)
		vm->fi.pending &= ~list_bit(li);
}

void float_kick(struct gisa_vm *vm, uint64_t type)
{
	uint32_t n = vm->nr_vcpus, sig = n;
	enum gisa_kick_flag flag;

	if (!n)
		return;
	if (!vm_newest(vm)) {
		/* Idle vcpus first, lowest index; else round robin from the cursor. */
		for (uint32_t w = 0; w < 4 && sig == n; w++)
			if (vm->idle[w])
				sig = w * 64 + (uint32_t)__builtin_ctzll(vm->idle[w]);
		if (sig >= n) {
			uint32_t tries = 0;

			do {
				sig = vm->fi.next_rr_cpu++;
				vm->fi.next_rr_cpu %= n;
				/* Gives up after n + 1 advances when all are stopped. */
				if (tries++ >= n)
					return;
			} while (vm->vcpus[sig].run == GISA_VCPU_STOPPED);
		}
	} else {
		uint32_t start = vm->fi.last_sleep_cpu;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t c = (start + i) % n;

			if (vm->vcpus[c].run != GISA_VCPU_STOPPED) {
				sig = c;
				break;
			}
		}
		if (sig == n)
			return;
	}

	if (type == GISA_INT_MCHK)
		flag = GISA_KICK_STOP_INT;
	else if (gisa_type_is_io(type))
		flag = (type & GISA_INT_IO_AI_MASK) && vm->gisa.present ?
			GISA_KICK_NONE : GISA_KICK_IO_INT;
	else
		flag = GISA_KICK_EXT_INT;
	vm_event(vm, GISA_EV_KICK, sig, flag);
}

/*
 * Queue I/O node n (payload filled in) the way __inject_io does: into the
 * IPM if a GISA takes adapter interrupts (the node goes back to the pool),
 * else at the tail of its ISC list, subject to the limit.
 */
static int io_queue_node(struct gisa_vm *vm, uint32_t n)
{
	struct fnode *nd = &vm->pool.nodes[n];
	uint32_t isc = GISA_IO_WORD_ISC(nd->p.io.io_int_word);

	if (vm->gisa.present && (nd->type & GISA_INT_IO_AI_MASK)) {
		vm->gisa.ipm |= GISA_ISC_BIT(isc);
		pool_put(&vm->pool, n);
		return 0;
	}
	if (vm->fi.counters[CNTR_IO] >= GISA_MAX_FLOAT_IRQS) {
		pool_put(&vm->pool, n);
		return -EBUSY;
	}
	list_append(vm, isc, n);
	return 0;
}

int float_inject(struct gisa_vm *vm, const struct gisa_irq *irq)
{
	struct float_int *fi = &vm->fi;
	uint64_t type = irq->type;
	uint32_t n;
	int r;

	if (gisa_type_is_io(type)) {
		n = pool_take(&vm->pool);
		vm->pool.nodes[n].type = (uint32_t)type;
		vm->pool.nodes[n].p.io = irq->u.io;
		r = io_queue_node(vm, n);
		if (r)
			return r;
		float_kick(vm, type);
		return 0;
	}

	switch (type) {
	case GISA_INT_MCHK:
		fi->mchk_cr14 |= irq->u.mchk.cr14 & GISA_CR14_CHANNEL_REPORT;
		fi->mchk_mcic |= irq->u.mchk.mcic;
		fi->pending |= BIT(GISA_IRQ_MCHK_REP);
		break;
	case GISA_INT_SERVICE: {
		uint32_t p = irq->u.ext.ext_params;

		/* Event bits OR-merge; the first SCCB address wins; 0x4 is dropped. */
		fi->srv |= p & GISA_SCCB_EVENT_PENDING;
		if (fi->srv & GISA_SCCB_EVENT_PENDING)
			fi->pending |= BIT(GISA_IRQ_EXT_SERVICE_EV);
		if (!(fi->srv & GISA_SCCB_MASK))
			fi->srv |= p & GISA_SCCB_MASK;
		fi->pending |= BIT(GISA_IRQ_EXT_SERVICE);
		break;
	}
	case GISA_INT_VIRTIO:
	case GISA_INT_PFAULT_DONE: {
		bool virtio = type == GISA_INT_VIRTIO;
		unsigned li = virtio ? GISA_LIST_VIRTIO : GISA_LIST_PFAULT;

		if (fi->counters[list_counter(li)] >=
		    (virtio ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_PFAULT_IRQS))
			return -EBUSY;
		n = pool_take(&vm->pool);
		vm->pool.nodes[n].type = (uint32_t)type;
		vm->pool.nodes[n].p.ext = irq->u.ext;   /* pad and ext_params2 verbatim */
		list_append(vm, li, n);
		break;
	}
	default:
		/* PFAULT_INIT is local-only; everything else is not floating. */
		return -EINVAL;
	}
	float_kick(vm, type);
	return 0;
}

void float_clear(struct gisa_vm *vm)
{
	struct float_int *fi = &vm->fi;

	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		struct flist *l = &fi->lists[li];

		if (l->len) {
			/* Splice the whole list onto the free list. */
			vm->pool.nodes[l->tail].next = vm->pool.free_head;
			vm->pool.free_head = l->head;
			vm->pool.nfree += l->len;
		}
		l->head = l->tail = NIL;
		l->len = 0;
		if (fi->tracking) {
			struct ltrack *t = &fi->track[li];

			t->drop += t->keep;
			t->keep = 0;
			t->tail_n = 0;
			t->tail = NIL;
		}
	}
	memset(fi->counters, 0, sizeof(fi->counters));
	fi->pending = 0;
	fi->srv = 0;
	fi->mchk_cr14 = 0;
	fi->mchk_mcic = 0;
	if (vm->gisa.present)
		vm->gisa.ipm = 0;
}

/* ---- GET_ALL_IRQS -------------------------------------------------------- */

static inline void put_io(uint8_t *b, uint64_t type, const struct gisa_io_info *io,
			  enum gisa_byteorder o)
{
	memset(b, 0, GISA_IRQ_SIZE);
	st64(b, type, o);
	st16(b + 8, io->subchannel_id, o);
	st16(b + 10, io->subchannel_nr, o);
	st32(b + 12, io->io_int_parm, o);
	st32(b + 16, io->io_int_word, o);
}

static inline void put_ext(uint8_t *b, uint64_t type, const struct gisa_ext_info *ext,
			   enum gisa_byteorder o)
{
	memset(b, 0, GISA_IRQ_SIZE);
	st64(b, type, o);
	st32(b + 8, ext->ext_params, o);
	st32(b + 12, ext->pad, o);
	st64(b + 16, ext->ext_params2, o);
}

int float_get_all(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	const struct float_int *fi = &vm->fi;
	enum gisa_byteorder o = vm->order;
	uint64_t len = attr->attr, max, n = 0, nlist;
	uint8_t ipm = vm->gisa.present ? vm->gisa.ipm : 0, emitted = 0;
	bool srv, mchk;
	uint8_t *b;
	int ret = 0;

	if (len == 0 || len > GISA_FLIC_MAX_BUFFER)
		return -EINVAL;
	max = len / GISA_IRQ_SIZE;

	/*
	 * Count first, in the kernel's emission order, so that -ENOMEM leaves
	 * the caller's buffer untouched.  The GISA loop checks capacity on all
	 * eight iterations, even past the last set bit (spec §3.1).
	 */
	if (ipm) {
		for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
			if (n == max) {
				ret = -ENOMEM;
				break;
			}
			if (ipm & GISA_ISC_BIT(i)) {
				emitted |= GISA_ISC_BIT(i);
				n++;
			}
		}
	}
	srv = fi->pending & (BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV));
	mchk = fi->pending & BIT(GISA_IRQ_MCHK_REP);
	nlist = (uint64_t)fi->counters[CNTR_IO] + fi->counters[CNTR_VIRTIO] +
		fi->counters[CNTR_PFAULT];
	if (!ret && (nlist > max - n || (srv && nlist + 1 > max - n) ||
		     (mchk && nlist + srv + 1 > max - n)))
		ret = -ENOMEM;
	/* CLASSIC's read of the IPM is a test-and-clear, lost even on failure. */
	if (!vm_newest(vm))
		vm->gisa.ipm &= (uint8_t)~emitted;
	if (ret)
		return ret;
	n += nlist + srv + mchk;
	if (n == 0)
		return 0;
	if (!ubuf_ok(&attr->addr, 0, n * GISA_IRQ_SIZE))
		return -EFAULT;

	b = attr->addr.data;
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
		if (emitted & GISA_ISC_BIT(i)) {
			struct gisa_io_info io = {
				.io_int_word = GISA_IO_WORD_AI | (uint32_t)i << 27,
			};

			put_io(b, GISA_INT_IO_AI_MASK, &io, o);
			b += GISA_IRQ_SIZE;
		}
	}
	for (unsigned li = 0; li < GISA_NR_LISTS; li++) {
		for (uint32_t i = fi->lists[li].head; i != NIL; i = vm->pool.nodes[i].next) {
			const struct fnode *nd = &vm->pool.nodes[i];

			if (li <= GISA_MAX_ISC)
				put_io(b, nd->type, &nd->p.io, o);
			else
				put_ext(b, nd->type, &nd->p.ext, o);
			b += GISA_IRQ_SIZE;
		}
	}
	if (srv) {
		struct gisa_ext_info ext = { .ext_params = fi->srv };

		put_ext(b, GISA_INT_SERVICE, &ext, o);
		b += GISA_IRQ_SIZE;
	}
	if (mchk) {
		memset(b, 0, GISA_IRQ_SIZE);
		st64(b, GISA_INT_MCHK, o);
		st64(b + 8, fi->mchk_cr14, o);
		st64(b + 16, fi->mchk_mcic, o);
	}
	return (int)n;
}

/* ---- ENQUEUE ------------------------------------------------------------- */

int float_enqueue(struct gisa_vm *vm, const struct gisa_attr *attr)
{
	const struct gisa_ubuf *ub = &attr->addr;
	enum gisa_byteorder o = vm->order;
	/* The kernel keeps the length in an int (spec §3.2). */
	int32_t len = (int32_t)(uint32_t)attr->attr;
	uint64_t iters, room;

	if ((uint64_t)(int64_t)len % GISA_IRQ_SIZE != 0 || len > (int32_t)GISA_FLIC_MAX_BUFFER)
		return -EINVAL;
	/*
	 * The loop compares the int against the unsigned record size and
	 * decrements it modulo 2^32, so it runs floor(u32(len) / 72) times even
	 * for a "negative" length; the caller's bytes end it first.
	 */
	iters = (uint32_t)len / GISA_IRQ_SIZE;
	room = ub->data ? ub->len / GISA_IRQ_SIZE : 0;
	/* Top up at the request boundary; a shortfall shows per record below. */
	(void)pool_reserve(vm, (uint32_t)(iters < room ? iters : room));

	for (uint64_t k = 0; k < iters; k++) {
		uint64_t off = k * GISA_IRQ_SIZE;
		const uint8_t *rec;
		struct gisa_irq irq;
		size_t size;
		int r;

		if (pool_reserve(vm, 1))
			return -ENOMEM;
		if (!ubuf_ok(ub, off, 8))
			return -EFAULT;
		rec = (const uint8_t *)ub->data + off;
		irq.type = ld64(rec, o);
		switch (gisa_irq_payload(irq.type)) {
		case GISA_PAYLOAD_IO:
			size = 12;
			break;
		case GISA_PAYLOAD_EXT:
			size = 16;
			break;
		case GISA_PAYLOAD_MCHK:
			size = 48;
			break;
		default:
			return -EINVAL;
		}
		if (!ubuf_ok(ub, off + 8, size))
			return -EFAULT;
		switch (size) {
		case 12:
			irq.u.io.subchannel_id = ld16(rec + 8, o);
			irq.u.io.subchannel_nr = ld16(rec + 10, o);
			irq.u.io.io_int_parm = ld32(rec + 12, o);
			irq.u.io.io_int_word = ld32(rec + 16, o);
			break;
		case 16:
			irq.u.ext.ext_params = ld32(rec + 8, o);
			irq.u.ext.pad = ld32(rec + 12, o);
			irq.u.ext.ext_params2 = ld64(rec + 16, o);
			break;
		default:
			irq.u.mchk.cr14 = ld64(rec + 8, o);
			irq.u.mchk.mcic = ld64(rec + 16, o);
			break;
		}
		r = float_inject(vm, &irq);
		if (r)
			return r;   /* no rollback: earlier records stay */
	}
	return 0;
}

/* ---- TPI / TSCH / CLEAR_IO_IRQ dequeue ----------------------------------- */

static void node_to_irq(const struct fnode *nd, struct gisa_irq *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->type = nd->type;
	ret->u.io = nd->p.io;
}

static void synthetic_ai(unsigned isc, struct gisa_irq *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->type = GISA_INT_IO_AI_MASK;
	ret->u.io.io_int_word = GISA_IO_WORD_AI | (uint32_t)isc << 27;
}

int float_get_io_int(struct gisa_vm *vm, uint64_t isc_mask, uint32_t schid,
		     struct gisa_irq *ret)
{
	uint32_t node = NIL;
	unsigned cisc = 0;
	int gisc = -1;

	/* Classic candidate: first match in the lowest enabled ISC. */
	for (unsigned isc = 0; isc <= GISA_MAX_ISC && node == NIL; isc++) {
		uint32_t prev = NIL, pos = 0;

		if (!(isc_mask & GISA_CR6_ISC(isc)))
			continue;
		for (uint32_t i = vm->fi.lists[isc].head; i != NIL;
		     prev = i, i = vm->pool.nodes[i].next, pos++) {
			const struct fnode *nd = &vm->pool.nodes[i];

			if (schid && (nd->p.io.subchannel_id != schid >> 16 ||
				      nd->p.io.subchannel_nr != (schid & 0xffff)))
				continue;
			list_unlink(vm, isc, prev, i, pos);
			node = i;
			cisc = isc;
			break;
		}
	}

	/* GISA candidate: lowest enabled ISC in the IPM, test-and-cleared. */
	if (vm->gisa.present && !schid) {
		uint8_t active = vm->gisa.ipm & (uint8_t)(isc_mask >> 24);

		if (active) {
			gisc = __builtin_clz((unsigned)active) - 24;
			vm->gisa.ipm &= (uint8_t)~GISA_ISC_BIT(gisc);
		}
	}

	if (gisc < 0) {
		if (node == NIL)
			return 0;
		node_to_irq(&vm->pool.nodes[node], ret);
		pool_put(&vm->pool, node);
		return 1;
	}
	if (node != NIL && cisc <= (unsigned)gisc) {
		/* The classic one has priority: the GISA bit goes back. */
		vm->gisa.ipm |= GISA_ISC_BIT(gisc);
		node_to_irq(&vm->pool.nodes[node], ret);
		pool_put(&vm->pool, node);
		return 1;
	}
	synthetic_ai((unsigned)gisc, ret);
	if (node != NIL) {
		/* Re-injected at the tail, with a new kick (spec §4.4). */
		uint32_t type = vm->pool.nodes[node].type;

		if (!io_queue_node(vm, node))
			float_kick(vm, type);
	}
	return 1;
}

/* ---- delivery ------------------------------------------------------------ */

static uint32_t list_pop(struct gisa_vm *vm, unsigned li)
{
	uint32_t n = vm->fi.lists[li].head;

	if (n != NIL)
		list_unlink(vm, li, NIL, n, 0);
	return n;
}

int float_deliver(struct gisa_vm *vm, int bit, struct gisa_delivery *ret)
{
	struct float_int *fi = &vm->fi;
	uint32_t n;

	memset(ret, 0, sizeof(*ret));
	ret->irq_bit = bit;
	switch (bit) {
	case GISA_IRQ_MCHK_REP:
		ret->kind = GISA_DELIVER_MCHK;
		ret->type = GISA_INT_MCHK;
		ret->u.mchk.mcic = fi->mchk_mcic;
		ret->u.mchk.cr14 = fi->mchk_cr14;
		fi->mchk_mcic = 0;
		fi->mchk_cr14 = 0;
		fi->pending &= ~BIT(GISA_IRQ_MCHK_REP);
		return 1;
	case GISA_IRQ_EXT_SERVICE_EV:
		ret->kind = GISA_DELIVER_EXT;
		ret->type = GISA_INT_SERVICE;
		ret->u.ext.code = GISA_EXT_CODE_SERVICE;
		ret->u.ext.param = vm_newest(vm) ? fi->srv & GISA_SCCB_EVENT_PENDING :
						   GISA_SCCB_EVENT_PENDING;
		fi->srv &= ~GISA_SCCB_EVENT_PENDING;
		fi->pending &= ~BIT(GISA_IRQ_EXT_SERVICE_EV);
		return 1;
	case GISA_IRQ_EXT_SERVICE: {
		uint32_t p = fi->srv;

		fi->srv = 0;
		fi->pending &= ~(BIT(GISA_IRQ_EXT_SERVICE) | BIT(GISA_IRQ_EXT_SERVICE_EV));
		/* NEWEST consumes a zero parameter without presenting it. */
		if (vm_newest(vm) && !p)
			return 0;
		ret->kind = GISA_DELIVER_EXT;
		ret->type = GISA_INT_SERVICE;
		ret->u.ext.code = GISA_EXT_CODE_SERVICE;
		ret->u.ext.param = p;
		return 1;
	}
	case GISA_IRQ_PFAULT_DONE:
	case GISA_IRQ_VIRTIO: {
		bool virtio = bit == GISA_IRQ_VIRTIO;

		n = list_pop(vm, virtio ? GISA_LIST_VIRTIO : GISA_LIST_PFAULT);
		if (n == NIL)
			return 0;
		ret->kind = GISA_DELIVER_EXT;
		ret->type = virtio ? GISA_INT_VIRTIO : GISA_INT_PFAULT_DONE;
		ret->u.ext.code = GISA_EXT_CODE_CP_SERVICE;
		ret->u.ext.cpu_addr = virtio ? GISA_EXT_CPU_ADDR_VIRTIO :
					       GISA_EXT_CPU_ADDR_PFAULT_DONE;
		ret->u.ext.param = virtio ? vm->pool.nodes[n].p.ext.ext_params : 0;
		ret->u.ext.param64 = vm->pool.nodes[n].p.ext.ext_params2;
		pool_put(&vm->pool, n);
		return 1;
	}
	default:
		break;
	}
	if (bit >= GISA_IRQ_IO_ISC_7 && bit <= GISA_IRQ_IO_ISC_0) {
		unsigned isc = (unsigned)(GISA_IRQ_IO_ISC_0 - bit);

		ret->kind = GISA_DELIVER_IO;
		n = list_pop(vm, isc);
		if (n != NIL) {
			ret->type = vm->pool.nodes[n].type;
			ret->u.io = vm->pool.nodes[n].p.io;
			pool_put(&vm->pool, n);
			return 1;
		}
		if (vm->gisa.present && (vm->gisa.ipm & GISA_ISC_BIT(isc))) {
			vm->gisa.ipm &= (uint8_t)~GISA_ISC_BIT(isc);
			ret->type = GISA_INT_IO_AI_MASK;
			ret->u.io.io_int_word = GISA_IO_WORD_AI | (uint32_t)isc << 27;
			return 1;
		}
	}
	return 0;
}

/* ---- restore (restore.h) ------------------------------------------------- */

static int restore_bad(struct gisa_restore_error *err, const char *field, uint64_t index,
		       uint64_t value, const char *reason)
{
	err->field = field;
	err->index = index;
	err->value = value;
	err->reason = reason;
	return -EINVAL;
}

static const char *const list_names[GISA_NR_LISTS] = {
	"lists[0]", "lists[1]", "lists[2]", "lists[3]", "lists[4]",
	"lists[5]", "lists[6]", "lists[7]", "lists[8]", "lists[9]",
};

int gisa_restore_list(struct gisa_vm *vm, unsigned list, const struct gisa_list_entry *e,
		      size_t n, struct gisa_restore_error *err)
{
	const char *const *names = list_names;
	struct float_int *fi = &vm->fi;
	uint64_t limit, have;

	if (list >= GISA_NR_LISTS)
		return restore_bad(err, "list", 0, list, "a floating list index 0..9");
	if (list <= GISA_MAX_ISC) {
		limit = GISA_MAX_FLOAT_IRQS;
		have = fi->counters[CNTR_IO];
	} else {
		limit = list == GISA_LIST_VIRTIO ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_PFAULT_IRQS;
		have = fi->counters[list_counter(list)];
	}
	if (n > limit - have)
		return restore_bad(err, names[list], have + n, limit, "at most the list's limit");
	for (size_t i = 0; i < n; i++) {
		if (list > GISA_MAX_ISC)
			continue;
		if (e[i].type > GISA_INT_IO_MAX)
			return restore_bad(err, names[list], i, e[i].type,
					   "an I/O type (0 .. 0xfffdffff)");
		if (GISA_IO_WORD_ISC(e[i].u.io.io_int_word) != list)
			return restore_bad(err, names[list], i, e[i].u.io.io_int_word,
					   "an I/O interruption word of the list's ISC");
		if (vm->gisa.present && (e[i].type & GISA_INT_IO_AI_MASK))
			return restore_bad(err, names[list], i, e[i].type,
					   "no adapter-interrupt type: the GISA takes those");
	}
	if (pool_reserve(vm, (uint32_t)(n + 1)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = pool_take(&vm->pool);

		if (list <= GISA_MAX_ISC) {
			vm->pool.nodes[k].type = e[i].type;
			vm->pool.nodes[k].p.io = e[i].u.io;
		} else {
			vm->pool.nodes[k].type = list == GISA_LIST_VIRTIO ? GISA_INT_VIRTIO :
									    GISA_INT_PFAULT_DONE;
			vm->pool.nodes[k].p.ext = e[i].u.ext;
		}
		list_append(vm, list, k);
	}
	return 0;
}

int gisa_restore_list_edit(struct gisa_vm *vm, unsigned list, uint32_t drop, uint32_t keep,
			   struct gisa_restore_error *err)
{
	struct flist *l;
	uint32_t prev = NIL, n;

	if (list >= GISA_NR_LISTS)
		return restore_bad(err, "list", 0, list, "a floating list index 0..9");
	l = &vm->fi.lists[list];
	if ((uint64_t)drop + keep > l->len)
		return restore_bad(err, list_names[list], l->len, (uint64_t)drop + keep,
				   "drop + keep at most the list's length");
	for (uint32_t i = 0; i < drop; i++) {
		n = l->head;
		list_unlink(vm, list, NIL, n, 0);
		pool_put(&vm->pool, n);
	}
	if (keep == l->len)
		return 0;
	/* Everything after the kept run goes, from position keep on. */
	n = l->head;
	for (uint32_t i = 0; i < keep; i++) {
		prev = n;
		n = vm->pool.nodes[n].next;
	}
	while (n != NIL) {
		uint32_t next = vm->pool.nodes[n].next;

		list_unlink(vm, list, prev, n, keep);
		pool_put(&vm->pool, n);
		n = next;
	}
	return 0;
}
