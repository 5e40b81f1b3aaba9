/* SPDX-License-Identifier: MIT */
/*
 * libgisa engine: a userspace model of the s390 KVM floating-interrupt
 * machinery (FLIC, adapters, routes, AIS, GISA/GIB, vcpu delivery).
 *
 * The reference for every behaviour is spec/KVM-FLIC-SEMANTICS.md; section
 * numbers (§) below point into it.  All functions return 0 or a positive
 * value on success and a negative errno on failure; outputs (ret_*) are
 * written only on success.  Objects are single-threaded: one caller at a
 * time per host (a host and its VMs share the GIB alert list).
 */
#ifndef GISA_ENGINE_H
#define GISA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "consts.h"

#ifdef __cplusplus
extern "C" {
#endif

struct gisa_host;
struct gisa_vm;

/* ---- allocation --------------------------------------------------------- */

/*
 * Every allocation of a host and its VMs goes through this (NULL = libc).
 * An allocator that returns NULL makes the operation fail the way the
 * kernel fails on allocation failure (-ENOMEM at the same step, spec §3).
 */
struct gisa_allocator {
	void *(*alloc)(void *ctx, size_t size);
	void *(*realloc)(void *ctx, void *ptr, size_t size);
	void (*free)(void *ctx, void *ptr);
	void *ctx;
};

/* ---- host: the GIB and its alert list, shared by the host's VMs --------- */

struct gisa_host_config {
	uint8_t nisc;                      /* host ISC of GIB alerts; 0..7 */
	const struct gisa_allocator *allocator;
};

/* cfg may be NULL: nisc GISA_DEFAULT_NISC, libc allocator. */
int gisa_host_new(const struct gisa_host_config *cfg, struct gisa_host **ret_host);
/* All VMs of the host must have been freed.  Accepts NULL; returns NULL. */
struct gisa_host *gisa_host_free(struct gisa_host *host);

/*
 * Process the GIB alert list (the GAL interruption handler, spec §7.4):
 * every GISA on the list is removed and its kicker timer is started with
 * zero delay.  Returns the number of GISAs taken off the list.
 */
int gisa_host_process_alerts(struct gisa_host *host);

struct gisa_host_info {
	uint8_t nisc;
	uint32_t alert_origin;        /* 0 = NULL, 1 = NONE, 2 = a GISA */
	uint32_t alert_list_len;
	uint64_t gal_interrupts;      /* GIB-alert interruptions raised */
	uint32_t nr_vms;
};
void gisa_host_info(const struct gisa_host *host, struct gisa_host_info *ret);

/* ---- VM lifecycle ------------------------------------------------------- */

enum gisa_profile {
	GISA_PROFILE_CLASSIC = 0,     /* v5.7 .. ~v7.0; the default */
	GISA_PROFILE_NEWEST = 1,      /* mainline 2026 (spec §11) */
};

#define GISA_CAP_GISA   0x1u      /* a GISA exists (use_gisa and AIV) */
#define GISA_CAP_AIS    0x2u      /* facility 72 (KVM_CAP_S390_AIS) */
#define GISA_CAP_ALL    (GISA_CAP_GISA | GISA_CAP_AIS)

struct gisa_vm_config {
	enum gisa_profile profile;
	uint32_t caps;                /* GISA_CAP_* */
	uint32_t nr_vcpus;            /* 0 .. GISA_MAX_VCPUS */
	uint64_t mem_cap;             /* backing bytes; 0 = GISA_DEFAULT_MEM_CAP */
	enum gisa_byteorder abi_order;/* of FLIC and route buffers; GISA_BE */
};

/*
 * Creates a VM with no FLIC device, no memslots, all vcpus RUNNING with
 * zero PSW and control registers.  -EINVAL for an unknown profile or
 * capability bit or too many vcpus; -ENOMEM.
 */
int gisa_vm_new(struct gisa_host *host, const struct gisa_vm_config *cfg,
		struct gisa_vm **ret_vm);
/*
 * Destroys the VM.  A GISA still on the host's alert list is taken off by
 * processing the list (spec §7.7), which starts the other listed VMs'
 * timers, as the kernel does.  Accepts NULL; returns NULL.
 */
struct gisa_vm *gisa_vm_free(struct gisa_vm *vm);

void gisa_vm_config(const struct gisa_vm *vm, struct gisa_vm_config *ret);
struct gisa_host *gisa_vm_host(const struct gisa_vm *vm);

/* ---- guest memory: memslots backed sparsely ----------------------------- */

/*
 * Create, move or resize memslot `id` (KVM_SET_USER_MEMORY_REGION-like).
 * size 0 deletes it.  gpa and size must be page-aligned and gpa + size must
 * not overflow (-EINVAL); the range must not overlap another slot (-EEXIST);
 * at most GISA_MAX_MEMSLOTS slots (-ENOSPC).  Pages belong to the slot:
 * moving keeps their contents, shrinking drops the pages past the new end,
 * growing adds zero pages.  Deleting an absent slot is -ENOENT.
 */
int gisa_mem_set_slot(struct gisa_vm *vm, uint32_t id, uint64_t gpa, uint64_t size);

/*
 * Guest memory access (a guest store, or userspace poking guest RAM).
 * -EFAULT if any byte is not backed by a memslot; write: -ENOMEM if the
 * pages it must allocate exceed the VM's cap.  All or nothing.  Pages never
 * written read as zero.  These writes are not recorded in the dirty log.
 */
int gisa_mem_read(const struct gisa_vm *vm, uint64_t gpa, void *buf, size_t len);
int gisa_mem_write(struct gisa_vm *vm, uint64_t gpa, const void *buf, size_t len);

/*
 * Fetch and clear the dirty log of slot `id` (KVM_GET_DIRTY_LOG-like): bit i
 * (LSB0 of word i / 64) set = slot page i was written by a route trigger
 * (or, NEWEST, released by UNMAP) since the last fetch.  nwords must cover
 * the slot (-EINVAL, -ENOENT for an absent slot).
 */
int gisa_mem_get_dirty_log(struct gisa_vm *vm, uint32_t id, uint64_t *bitmap,
			   size_t nwords);

/* ---- caller buffers (the model of a user address) ----------------------- */

/*
 * Where the kernel copies from or to a user address, the engine takes the
 * caller's bytes: offsets 0 .. len-1 of data.  An access to an offset
 * >= len, or inside [bad_off, bad_off + bad_len), is a copy fault (-EFAULT).
 * data == NULL with len == 0 models an unmapped address.
 */
struct gisa_ubuf {
	void *data;
	size_t len;
	size_t bad_off;
	size_t bad_len;
};

/* struct kvm_device_attr: flags, group, attr, and addr as a caller buffer. */
struct gisa_attr {
	uint32_t flags;
	uint32_t group;
	uint64_t attr;
	struct gisa_ubuf addr;
};

/* ---- FLIC device (spec §3) ---------------------------------------------- */

/* KVM_CREATE_DEVICE(FLIC): -EINVAL if the VM already has one. */
int gisa_flic_create(struct gisa_vm *vm);
/* Forget the device; floating state stays in the VM.  -EBADF if none. */
int gisa_flic_destroy(struct gisa_vm *vm);

/*
 * KVM_{HAS,GET,SET}_DEVICE_ATTR on the FLIC (every group of §3 with its exact
 * error codes).  Buffers are in the VM's abi_order.  -EBADF if the VM has no
 * FLIC (spec §14.17).  get returns GET_ALL_IRQS's record count (>= 0).
 */
int gisa_flic_has_attr(struct gisa_vm *vm, const struct gisa_attr *attr);
int gisa_flic_get_attr(struct gisa_vm *vm, const struct gisa_attr *attr);
int gisa_flic_set_attr(struct gisa_vm *vm, const struct gisa_attr *attr);

/*
 * Typed conveniences over the same code paths (no FLIC needed: these are
 * the VM ioctls):
 * gisa_vm_inject      - the common floating injection path (§4.1) with one
 *                       host-form record (= one ENQUEUE record).
 * gisa_vm_interrupt   - legacy VM KVM_S390_INTERRUPT (§4.1 field mapping).
 */
int gisa_vm_inject(struct gisa_vm *vm, const struct gisa_irq *irq);
int gisa_vm_interrupt(struct gisa_vm *vm, uint32_t type, uint32_t parm, uint64_t parm64);

/* ---- adapter routes (spec §5) ------------------------------------------- */

struct gisa_route_entry {        /* struct kvm_irq_routing_entry */
	uint32_t gsi;
	uint32_t type;               /* GISA_IRQ_ROUTING_* */
	uint32_t flags;
	struct gisa_adapter_route adapter;
};

/*
 * KVM_SET_GSI_ROUTING: replace the whole table atomically (the old table
 * stays on any error).  flags != 0, n > 4096, gsi >= 4096, entry flags,
 * duplicate gsi, non-adapter type, (NEWEST) indicator outside its page:
 * -EINVAL; an unbacked indicator or summary address: -EFAULT; -ENOMEM.
 */
int gisa_routes_set(struct gisa_vm *vm, const struct gisa_route_entry *entries,
		    size_t n, uint32_t flags);

/*
 * Signal a GSI (§5.2 with spec §14.3/14.5/14.6): < 0 error (-1 for an
 * unregistered adapter, an unbacked address or a gsi without a route;
 * -EBUSY/-ENOMEM from the injection, bits left set; -ENOMEM also when a
 * page to write cannot be allocated within the VM's mem_cap, with nothing
 * written in CLASSIC and the indicator possibly set in NEWEST), 0 level 0
 * or coalesced, 1 injected (or masked, or AIS-suppressed).
 */
int gisa_route_trigger(struct gisa_vm *vm, uint32_t gsi, int level);

/* ---- vcpus (spec §4.5–4.7, §7.5–7.6) ------------------------------------ */

enum gisa_run_state {
	GISA_VCPU_RUNNING = 0,       /* runnable / in SIE */
	GISA_VCPU_IDLE = 1,          /* in enabled wait (idle_mask) */
	GISA_VCPU_STOPPED = 2,
};

struct gisa_vcpu_state {
	uint64_t psw_mask;
	uint64_t cr0;
	uint64_t cr6;
	uint64_t cr14;
	enum gisa_run_state run;
	bool kicked;                 /* GISA kicked_mask bit; read-only */
};

/* -ENOENT for an index >= nr_vcpus. */
int gisa_vcpu_get(const struct gisa_vm *vm, uint32_t idx, struct gisa_vcpu_state *ret);
/*
 * Set PSW mask, CR0/6/14 and run state (kicked is ignored).  Setting IDLE
 * directly marks the vcpu idle without the enabled-wait checks; use
 * gisa_vcpu_wait for those.  Leaving IDLE or STOPPED clears kicked.
 * -EINVAL for an unknown run state.
 */
int gisa_vcpu_set(struct gisa_vm *vm, uint32_t idx, const struct gisa_vcpu_state *st);

/* The vcpu enters SIE (vcpu_pre_run): RUNNING, kicked cleared.  -EBUSY if stopped. */
int gisa_vcpu_run(struct gisa_vm *vm, uint32_t idx);

/*
 * The vcpu executes an enabled wait (§7.6).  Returns 1 if it went to sleep
 * (IDLE), 0 if it keeps running (RUNNING) because an interrupt is
 * deliverable or the GISA has one enabled in CR6; -EOPNOTSUPP for a
 * disabled wait (PSW I/O, EXT and MCHECK all off: userspace handles it; the
 * run state is unchanged); -EBUSY if stopped.  The kicked bit is cleared in
 * every case but -EBUSY (the runnability check comes first).
 */
int gisa_vcpu_wait(struct gisa_vm *vm, uint32_t idx);

/* Bitmap of deliverable pending bits (§4.5) for the vcpu. */
int gisa_vcpu_deliverable(const struct gisa_vm *vm, uint32_t idx, uint32_t *ret_bits);

enum gisa_delivery_kind {
	GISA_DELIVER_IO = 1,
	GISA_DELIVER_EXT = 2,
	GISA_DELIVER_MCHK = 3,
};

struct gisa_delivery {
	enum gisa_delivery_kind kind;
	int irq_bit;                 /* enum gisa_irq_bit of the class taken */
	uint64_t type;               /* the record's type (I/O: stored type;
	                                synthetic GISA AI: 0x04000000) */
	union {
		struct gisa_io_info io;
		struct {
			uint16_t code;       /* 0x2401, 0x2603 */
			uint16_t cpu_addr;   /* 0x0d00 virtio, 0x0680 pfault done */
			uint32_t param;
			uint64_t param64;
		} ext;
		struct {
			uint64_t mcic;
			uint64_t cr14;
		} mchk;
	} u;
};

/*
 * Deliver the single highest-priority deliverable floating interrupt to the
 * vcpu (the vcpu runs: an IDLE vcpu becomes RUNNING, kicked cleared).
 * Returns 1 with *ret filled, 0 if nothing is deliverable, -EBUSY if the
 * vcpu is stopped.  (NEWEST zero-parameter SERVICE: consumed, and delivery
 * continues with the next class, spec §14.7.)
 */
int gisa_vcpu_deliver(struct gisa_vm *vm, uint32_t idx, struct gisa_delivery *ret);

/*
 * TPI (isc mask = the vcpu's CR6, any subchannel) and TSCH (all ISCs,
 * subchannel = low 32 bits of gpr1 if gpr1 != 0), spec §4.6 and §14.13.
 * Return 1 with the dequeued record, 0 if none.
 */
int gisa_vcpu_tpi(struct gisa_vm *vm, uint32_t idx, struct gisa_irq *ret);
int gisa_vcpu_tsch(struct gisa_vm *vm, uint32_t idx, uint64_t gpr1, struct gisa_irq *ret);

/* ---- events: kicks and wake-ups, in a bounded ring ---------------------- */

enum gisa_event_kind {
	GISA_EV_KICK = 1,            /* floating injection kick (§4.7) */
	GISA_EV_GISA_WAKE = 2,       /* GISA kicker woke an idle vcpu (§7.5) */
};

enum gisa_kick_flag {
	GISA_KICK_NONE = 0,          /* AI taken by the GISA: only woken */
	GISA_KICK_IO_INT = 1,
	GISA_KICK_EXT_INT = 2,
	GISA_KICK_STOP_INT = 3,
};

struct gisa_event {
	uint64_t seq;                /* 1, 2, ... per VM; gaps mean drops */
	enum gisa_event_kind kind;
	uint32_t vcpu;
	enum gisa_kick_flag flag;
};

/*
 * Take up to max events, oldest first.  The ring holds GISA_EVENT_RING_SIZE
 * events; when full the oldest is overwritten and counted as dropped.
 */
size_t gisa_vm_events_read(struct gisa_vm *vm, struct gisa_event *out, size_t max);
uint64_t gisa_vm_events_dropped(const struct gisa_vm *vm);

/* ---- GISA and GIB (spec §7) --------------------------------------------- */

/* kvm_s390_gisc_register: returns the host NISC; -ENODEV, -ERANGE. */
int gisa_gisc_register(struct gisa_vm *vm, uint32_t gisc);
/* kvm_s390_gisc_unregister: 0; -ENODEV, -ERANGE, -EINVAL (count 0). */
int gisa_gisc_unregister(struct gisa_vm *vm, uint32_t gisc);

/*
 * A hardware / firmware adapter interruption for ISC isc (passthrough AP or
 * zPCI): set the IPM bit; if the IAM has that bit, vcpu_in_sie is false and
 * the GISA is not already listed, the firmware puts the GISA on the host's
 * alert list, clears the IAM, and raises a GAL interruption if the list was
 * empty (NULL).  -ENODEV without GISA, -ERANGE for isc > 7.
 */
int gisa_gisa_hw_airq(struct gisa_vm *vm, uint32_t isc, bool vcpu_in_sie);

/*
 * The kicker timer fires (§7.5).  Returns 1 if it re-armed (+50 us), 0 if
 * it stopped after restoring the IAM; -ENODEV without GISA, -ENOENT if the
 * timer is not armed.
 */
int gisa_gisa_timer_fire(struct gisa_vm *vm);

#ifdef __cplusplus
}
#endif

#endif
