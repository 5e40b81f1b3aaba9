/* SPDX-License-Identifier: MIT */
/*
 * The engine's private model.  Public headers expose opaque types; this file
 * holds their layout and the helpers the engine files share.
 *
 * Model invariants (relied on everywhere; vm_check_invariants in check.c
 * verifies them, and the tests call it after their steps):
 *  I1  For each ISC i, bit GISA_IRQ_IO_ISC(i) of fi.pending is set iff
 *      list i is non-empty.  Likewise VIRTIO and PFAULT_DONE for lists 9, 8.
 *      The GISA IPM is never folded into fi.pending (spec §2 invariant 1).
 *  I2  fi.counters: io = sum of list lengths 0..7, virtio = len(9),
 *      pfault = len(8); each is within its limit.
 *  I3  Every pool node is either on exactly one list or on the free list.
 *  I4  A GISA is on its host's alert list iff gisa.on_list; the list is
 *      acyclic and holds only GISAs of live VMs of that host.
 *  I5  vm.idle[] has bit i set iff vcpu i is IDLE.
 *  I6  Memslots are sorted by gpa and never overlap; each slot's pages are
 *      sorted by slot-relative page number and lie inside the slot.
 *  I7  The route table is sorted by gsi with unique gsis < 4096, and
 *      gsi_map[gsi] is the index of gsi's route or GSI_NONE.
 *  T1  While tracking, each list is its run followed by its tail (struct
 *      ltrack below).
 */
#ifndef GISA_ENGINE_INTERNAL_H
#define GISA_ENGINE_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <gisa/gisa.h>
#include <gisa/restore.h>

#define NIL UINT32_MAX
#define GSI_NONE UINT16_MAX

/*
 * Upper bound of the pool: what the three list limits let be queued at once,
 * plus the one spare node every injection reserves before it knows whether
 * the record will be queued at all (service and machine checks merge, GISA
 * AI coalesces), so a full state still takes those.
 */
#define POOL_MAX_NODES (GISA_MAX_FLOAT_IRQS + GISA_MAX_VIRTIO_IRQS + GISA_MAX_PFAULT_IRQS + 1u)
/* Nodes added per pool growth at least (the mmu_memory_cache top-up). */
#define POOL_MIN_GROW 256u

/* ---- allocation ---------------------------------------------------------- */

void *mem_alloc(const struct gisa_allocator *a, size_t size);
void *mem_zalloc(const struct gisa_allocator *a, size_t size);
void *mem_realloc(const struct gisa_allocator *a, void *p, size_t size);
void mem_free(const struct gisa_allocator *a, void *p);
/* realloc of an array of n elements of size sz, overflow-checked. */
void *mem_reallocarray(const struct gisa_allocator *a, void *p, size_t n, size_t sz);

/* ---- pool of floating-list nodes (pool.c) ------------------------------- */

/*
 * A list node: 24 bytes, addressed by index so the pool can grow by realloc.
 * I/O nodes keep the (32-bit) type and the io payload; PFAULT_DONE and
 * VIRTIO nodes keep the ext payload (their type is implied by the list).
 */
struct fnode {
	uint32_t next;
	uint32_t type;
	union {
		struct gisa_io_info io;
		struct gisa_ext_info ext;
	} p;
};

struct pool {
	struct fnode *nodes;
	uint32_t cap;
	uint32_t free_head;
	uint32_t nfree;
	uint64_t grows;
};

struct flist {
	uint32_t head;
	uint32_t tail;
	uint32_t len;
};

int pool_reserve(struct gisa_vm *vm, uint32_t n);
static inline uint32_t pool_take(struct pool *p)
{
	uint32_t i = p->free_head;

	p->free_head = p->nodes[i].next;
	p->nfree--;
	return i;
}
static inline void pool_put(struct pool *p, uint32_t i)
{
	p->nodes[i].next = p->free_head;
	p->free_head = i;
	p->nfree++;
}
void pool_release(struct gisa_vm *vm);

/* ---- floating interrupt state (float.c) ---------------------------------- */

enum { CNTR_IO = 0, CNTR_SERVICE = 1, CNTR_VIRTIO = 2, CNTR_PFAULT = 3 };

/*
 * Change tracking of one list (state.h, gisa_track_*): the list is the run
 * base[drop, drop + keep) of the list as it was at gisa_track_start, followed
 * by tail_n other entries, the first of which is node `tail` (NIL if none).
 * Kept up to date by list_append, list_unlink and float_clear while
 * float_int.tracking is set (invariant T1 in check.c).
 */
struct ltrack {
	uint32_t base_n;
	uint32_t drop;
	uint32_t keep;
	uint32_t tail_n;
	uint32_t tail;
};

struct float_int {
	uint32_t pending;
	struct flist lists[GISA_NR_LISTS];
	uint32_t counters[4];
	uint32_t srv;                 /* service-signal ext_params */
	uint64_t mchk_cr14;
	uint64_t mchk_mcic;
	uint32_t next_rr_cpu;         /* CLASSIC kick cursor */
	uint32_t last_sleep_cpu;      /* NEWEST kick cursor */
	uint8_t simm;
	uint8_t nimm;
	bool tracking;
	struct ltrack track[GISA_NR_LISTS];
};

/* ---- adapters (adapter.c) ------------------------------------------------ */

struct adapter {
	uint32_t id;
	uint32_t isc;
	bool maskable;
	bool masked;
	bool swap;
	bool suppressible;
	uint32_t nr_maps;
	uint32_t maps_cap;
	uint64_t *maps;               /* NEWEST: guest addresses, in MAP order */
};

/* ---- guest memory (memory.c) --------------------------------------------- */

struct mpage {
	uint64_t rel;                 /* page number relative to the slot start */
	uint8_t *data;
	bool dirty;
	bool fresh;                   /* allocated by the operation in progress */
};

struct memslot {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
	struct mpage *pages;          /* sorted by rel */
	uint32_t npages;
	uint32_t pages_cap;
	uint64_t *dirty_rel;          /* dirty pages not allocated, sorted (M4) */
	uint32_t ndirty;
	uint32_t dirty_cap;
};

struct memory {
	struct memslot *slots;        /* sorted by gpa */
	uint32_t nslots;
	uint32_t slots_cap;
	uint64_t used;
	uint64_t cap;
};

/* ---- GISA ---------------------------------------------------------------- */

/*
 * An alert-list link: a GISA (vm != NULL) or a terminator value, 0 (NULL)
 * or 1 (NONE), as the 32-bit next_alert / alert_list_origin words hold.
 */
struct alert_link {
	struct gisa_vm *vm;
	uint8_t term;
};

struct gisa_int {
	bool present;
	uint8_t ipm;
	uint8_t iam;
	uint8_t alert_mask;
	uint32_t ref[GISA_MAX_ISC + 1];
	bool on_list;
	struct alert_link next;
	bool timer_armed;
	uint32_t timer_delay_ns;
};

/* ---- vcpus --------------------------------------------------------------- */

struct vcpu {
	uint64_t psw;
	uint64_t cr0;
	uint64_t cr6;
	uint64_t cr14;
	uint8_t run;                  /* enum gisa_run_state */
	bool kicked;
};

/* ---- routes -------------------------------------------------------------- */

struct route_table {
	struct gisa_route_entry *e;   /* sorted by gsi */
	uint32_t n;
	uint16_t *gsi_map;            /* GISA_MAX_IRQ_ROUTES entries, or NULL */
};

/* ---- host and VM --------------------------------------------------------- */

struct gisa_host {
	struct gisa_allocator alloc;
	uint8_t nisc;
	struct alert_link origin;
	uint64_t gal_interrupts;
	uint32_t nr_vms;
};

struct gisa_vm {
	struct gisa_host *host;
	const struct gisa_allocator *alloc;
	enum gisa_profile profile;
	uint32_t caps;
	enum gisa_byteorder order;
	bool flic;
	bool apf;

	struct float_int fi;
	struct pool pool;
	struct adapter *adapters[GISA_MAX_ADAPTERS];
	struct route_table routes;
	struct memory mem;
	struct gisa_int gisa;

	uint32_t nr_vcpus;
	struct vcpu *vcpus;
	uint64_t idle[4];             /* bit per vcpu index: IDLE */

	uint32_t changed;             /* GISA_TRACK_* sections changed since the mark */

	struct gisa_event *ring;
	uint32_t ring_head;           /* index of the oldest event */
	uint32_t ring_count;
	uint64_t ring_seq;
	uint64_t ring_dropped;
};

/* A section changed (state.h, gisa_track_changed): kept whether tracking or not. */
static inline void vm_changed(struct gisa_vm *vm, uint32_t what)
{
	vm->changed |= what;
}

static inline bool vm_newest(const struct gisa_vm *vm)
{
	return vm->profile == GISA_PROFILE_NEWEST;
}

static inline bool vm_has_ais(const struct gisa_vm *vm)
{
	return vm->caps & GISA_CAP_AIS;
}

/* ---- byte order ---------------------------------------------------------- */

static inline uint16_t ld16(const uint8_t *p, enum gisa_byteorder o)
{
	return o == GISA_BE ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static inline uint32_t ld32(const uint8_t *p, enum gisa_byteorder o)
{
	if (o == GISA_BE)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t ld64(const uint8_t *p, enum gisa_byteorder o)
{
	if (o == GISA_BE)
		return (uint64_t)ld32(p, o) << 32 | ld32(p + 4, o);
	return (uint64_t)ld32(p + 4, o) << 32 | ld32(p, o);
}

static inline void st16(uint8_t *p, uint16_t v, enum gisa_byteorder o)
{
	if (o == GISA_BE) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
	}
}

static inline void st32(uint8_t *p, uint32_t v, enum gisa_byteorder o)
{
	if (o == GISA_BE) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	} else {
		p[0] = (uint8_t)v;
		p[1] = (uint8_t)(v >> 8);
		p[2] = (uint8_t)(v >> 16);
		p[3] = (uint8_t)(v >> 24);
	}
}

static inline void st64(uint8_t *p, uint64_t v, enum gisa_byteorder o)
{
	if (o == GISA_BE) {
		st32(p, (uint32_t)(v >> 32), o);
		st32(p + 4, (uint32_t)v, o);
	} else {
		st32(p, (uint32_t)v, o);
		st32(p + 4, (uint32_t)(v >> 32), o);
	}
}

/* ---- caller buffers ------------------------------------------------------ */

/* True if [off, off + len) may be accessed (spec: copy fault otherwise). */
static inline bool ubuf_ok(const struct gisa_ubuf *b, uint64_t off, uint64_t len)
{
	uint64_t bad_end;

	if (!b->data || off > b->len || len > b->len - off)
		return false;
	if (!b->bad_len || !len)
		return true;
	/* [bad_off, bad_end) saturates instead of wrapping. */
	bad_end = b->bad_len > UINT64_MAX - b->bad_off ? UINT64_MAX :
							  (uint64_t)b->bad_off + b->bad_len;
	return !(off < bad_end && b->bad_off < off + len);
}

/* ---- cross-module entry points ------------------------------------------- */

/* float.c: the common injection path (§4.1); a pool node must be reserved. */
int float_inject(struct gisa_vm *vm, const struct gisa_irq *irq);
/* float.c: kvm_s390_get_io_int (§4.6); returns 1 and fills *ret, or 0. */
int float_get_io_int(struct gisa_vm *vm, uint64_t isc_mask, uint32_t schid,
		     struct gisa_irq *ret);
void float_clear(struct gisa_vm *vm);
/* float.c: deliver floating class `bit` (§4.5); 1 and *ret, or 0 if none. */
int float_deliver(struct gisa_vm *vm, int bit, struct gisa_delivery *ret);
void float_kick(struct gisa_vm *vm, uint64_t type);
int float_get_all(struct gisa_vm *vm, const struct gisa_attr *attr);
int float_enqueue(struct gisa_vm *vm, const struct gisa_attr *attr);
static inline uint32_t io_list_pending_bits(uint32_t pending)
{
	return pending & GISA_IRQ_PEND_IO_MASK;
}

/* adapter.c */
struct adapter *adapter_get(const struct gisa_vm *vm, uint64_t id);
int adapter_register(struct gisa_vm *vm, const struct gisa_attr *attr);
int adapter_modify(struct gisa_vm *vm, const struct gisa_attr *attr);
void adapter_free_all(struct gisa_vm *vm);

/* ais.c */
int ais_inject_airq(struct gisa_vm *vm, const struct adapter *a);
int ais_modify(struct gisa_vm *vm, const struct gisa_attr *attr);
int ais_get_all(struct gisa_vm *vm, const struct gisa_attr *attr);
int ais_set_all(struct gisa_vm *vm, const struct gisa_attr *attr);

/* memory.c */
/*
 * Resolve guest byte gpa to its page for a write: 0 and *ret_byte on
 * success (NULL for a page not allocated when alloc is false; *ret_created
 * tells whether this call allocated it); -EFAULT if unbacked; -ENOMEM if the
 * page must be allocated and the cap forbids it.
 */
int mem_byte(struct gisa_vm *vm, uint64_t gpa, bool alloc, uint8_t **ret_byte,
	     bool *ret_created);
bool mem_backed(const struct gisa_vm *vm, uint64_t gpa);
/* True if the page holding gpa is backed and already allocated. */
bool mem_allocated(const struct gisa_vm *vm, uint64_t gpa);
/* Free the page holding gpa (undoing an allocation that must not stay). */
void mem_page_drop(struct gisa_vm *vm, uint64_t gpa);
/* Allocated pages: a flag, never fails.  Others: -ENOMEM if it cannot record. */
int mem_mark_dirty(struct gisa_vm *vm, uint64_t gpa);
void mem_release(struct gisa_vm *vm);
uint64_t mem_pages_allocated(const struct memslot *s);

/* route.c */
void route_release(struct gisa_vm *vm);
int route_restore(struct gisa_vm *vm, const struct gisa_route_entry *e, size_t n,
		  struct gisa_restore_error *err);
/* Byte address and mask of bit n of area A with the adapter's swap (§5.3). */
bool route_bit(uint64_t area, uint64_t n, bool swap, uint64_t *ret_gpa, uint8_t *ret_mask);

/* gisa.c */
uint8_t gisa_get_ipm_or_restore_iam(struct gisa_vm *vm);
void gisa_detach(struct gisa_vm *vm);

/* check.c: 0, or a negative code naming the first broken invariant. */
int vm_check_invariants(const struct gisa_vm *vm);

/* vcpu.c */
uint32_t vcpu_deliverable(const struct gisa_vm *vm, const struct vcpu *v);
void vm_event(struct gisa_vm *vm, enum gisa_event_kind kind, uint32_t vcpu,
	      enum gisa_kick_flag flag);
static inline bool vcpu_idle(const struct gisa_vm *vm, uint32_t i)
{
	return vm->idle[i / 64] >> (i % 64) & 1;
}
void vcpu_set_run(struct gisa_vm *vm, uint32_t i, uint8_t run);

#endif
