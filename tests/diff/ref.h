/* SPDX-License-Identifier: MIT */
/*
 * A deliberately plain second model of the floating-interrupt machinery,
 * written from spec/KVM-FLIC-SEMANTICS.md only, for the differential test.
 *
 * It shares no code with lib/engine: its own constants, its own big-endian
 * encoders, fixed arrays and memmove'd dynamic arrays instead of pools.
 * Speed and memory do not matter here, only obviousness.  The whole state
 * is public so that the test can compare it field by field with the
 * engine's read-only state view.
 *
 * Scope: one VM with a FLIC and one memslot [0, 1 MiB) of guest memory,
 * alone on its host (so the GIB alert list holds at most this GISA).
 */
#ifndef GISA_DIFF_REF_H
#define GISA_DIFF_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REF_MEM_SIZE     (1u << 20)
#define REF_REC          72u
#define REF_NR_LISTS     10u
#define REF_NR_ADAPTERS  64u
#define REF_MAX_MAPS     256u
#define REF_MAX_VCPUS    8u

enum { REF_CLASSIC = 0, REF_NEWEST = 1 };
enum { REF_RUNNING = 0, REF_IDLE = 1, REF_STOPPED = 2 };
enum { REF_EV_KICK = 1, REF_EV_GISA_WAKE = 2 };
enum { REF_FLAG_NONE = 0, REF_FLAG_IO = 1, REF_FLAG_EXT = 2, REF_FLAG_STOP = 3 };
enum { REF_DELIVER_IO = 1, REF_DELIVER_EXT = 2, REF_DELIVER_MCHK = 3 };

/* The caller-buffer model of engine.h: offsets >= len or in the bad range fault. */
struct ref_ubuf {
	uint8_t *data;
	size_t len;
	size_t bad_off;
	size_t bad_len;
};

/* One queued record, kept exactly as GET_ALL_IRQS emits it (big-endian). */
struct ref_rec {
	uint8_t b[REF_REC];
};

struct ref_list {
	struct ref_rec *v;
	size_t len;
	size_t cap;
};

struct ref_vcpu {
	uint64_t psw;
	uint64_t cr0;
	uint64_t cr6;
	uint64_t cr14;
	int run;
	bool kicked;
};

struct ref_adapter {
	bool registered;
	uint32_t isc;
	bool maskable;
	bool masked;
	bool swap;
	bool suppressible;
	uint32_t nr_maps;
	uint64_t maps[REF_MAX_MAPS];
};

struct ref_route {
	uint32_t gsi;
	uint32_t type;
	uint32_t flags;
	uint64_t ind_addr;
	uint64_t summary_addr;
	uint64_t ind_offset;
	uint32_t summary_offset;
	uint32_t adapter_id;
};

struct ref_event {
	int kind;
	uint32_t vcpu;
	int flag;
};

struct ref_delivery {
	int kind;
	int irq_bit;
	uint64_t type;
	/* I/O */
	uint16_t id;
	uint16_t nr;
	uint32_t parm;
	uint32_t word;
	/* external */
	uint16_t code;
	uint16_t cpu_addr;
	uint32_t param;
	uint64_t param64;
	/* machine check */
	uint64_t mcic;
	uint64_t cr14;
};

struct ref_vm {
	int profile;
	bool has_gisa;
	bool has_ais;
	uint32_t nr_vcpus;

	bool apf;
	uint32_t pending;
	struct ref_list lists[REF_NR_LISTS];
	uint32_t srv;
	uint64_t mchk_cr14;
	uint64_t mchk_mcic;
	uint8_t simm;
	uint8_t nimm;
	uint32_t kick_cursor;

	/* GISA */
	uint8_t ipm;
	uint8_t iam;
	uint8_t alert_mask;
	uint32_t refcount[8];
	bool on_alert_list;
	bool timer_armed;
	uint32_t timer_delay_ns;

	/* the host's GIB, this VM being its only guest */
	uint32_t gib_origin;            /* 0 NULL, 2 this GISA */
	uint64_t gal_interrupts;

	struct ref_adapter adapters[REF_NR_ADAPTERS];
	struct ref_route *routes;       /* ascending gsi */
	size_t nr_routes;
	struct ref_vcpu vcpus[REF_MAX_VCPUS];
	uint8_t *mem;                   /* guest memory [0, REF_MEM_SIZE) */

	/* every kick and wake since the test last took them, unbounded */
	struct ref_event *events;
	size_t nr_events;
	size_t events_cap;
};

struct ref_vm *ref_vm_new(int profile, bool has_gisa, bool has_ais, uint32_t nr_vcpus);
void ref_vm_free(struct ref_vm *vm);

/* FLIC attributes (spec §3). */
int ref_has_attr(struct ref_vm *vm, uint32_t group);
int ref_get_attr(struct ref_vm *vm, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct ref_ubuf *ub);
int ref_set_attr(struct ref_vm *vm, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct ref_ubuf *ub);

/* Legacy VM KVM_S390_INTERRUPT (spec §4.1). */
int ref_vm_interrupt(struct ref_vm *vm, uint32_t type, uint32_t parm, uint64_t parm64);
/* The common injection path with one record (big-endian, 72 bytes). */
int ref_vm_inject(struct ref_vm *vm, const uint8_t *rec);

/* Routes (spec §5). */
int ref_routes_set(struct ref_vm *vm, const struct ref_route *e, size_t n, uint32_t flags);
int ref_route_trigger(struct ref_vm *vm, uint32_t gsi, int level);
/* The byte and mask a route bit lands on (spec §5.3). */
uint64_t ref_bit_byte(uint64_t area, uint64_t bit, bool swap, uint8_t *ret_mask);
/* Sorted, unique, backed guest pages any route's trigger would write. */
size_t ref_route_pages(const struct ref_vm *vm, uint64_t *out, size_t max);

int ref_mem_write(struct ref_vm *vm, uint64_t gpa, const void *buf, size_t len);

/* vcpus (spec §4.5-4.7, §7.5-7.6). */
int ref_vcpu_set(struct ref_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0, uint64_t cr6,
		 uint64_t cr14, int run);
int ref_vcpu_run(struct ref_vm *vm, uint32_t idx);
int ref_vcpu_wait(struct ref_vm *vm, uint32_t idx);
int ref_vcpu_deliverable(const struct ref_vm *vm, uint32_t idx, uint32_t *ret_bits);
int ref_vcpu_deliver(struct ref_vm *vm, uint32_t idx, struct ref_delivery *d);
int ref_vcpu_tpi(struct ref_vm *vm, uint32_t idx, struct ref_rec *ret);
int ref_vcpu_tsch(struct ref_vm *vm, uint32_t idx, uint64_t gpr1, struct ref_rec *ret);

/* GISA and GIB (spec §7). */
int ref_gisc_register(struct ref_vm *vm, uint32_t gisc);
int ref_gisc_unregister(struct ref_vm *vm, uint32_t gisc);
int ref_hw_airq(struct ref_vm *vm, uint32_t isc, bool vcpu_in_sie);
int ref_process_alerts(struct ref_vm *vm);
int ref_timer_fire(struct ref_vm *vm);

/* Records GET_ALL_IRQS would emit right now (without changing anything). */
size_t ref_nr_records(const struct ref_vm *vm);

/* Big-endian field access on records and buffers. */
uint16_t ref_be16(const uint8_t *p);
uint32_t ref_be32(const uint8_t *p);
uint64_t ref_be64(const uint8_t *p);
void ref_put16(uint8_t *p, uint16_t v);
void ref_put32(uint8_t *p, uint32_t v);
void ref_put64(uint8_t *p, uint64_t v);

#endif
