/* SPDX-License-Identifier: MIT */
/*
 * Test support: the record builders of spec §12 and thin wrappers that drive
 * the FLIC through its raw (big-endian) attribute interface, as a VMM would.
 */
#ifndef GISA_TEST_SUPPORT_H
#define GISA_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include <gisa/gisa.h>

/* Record builders of spec §12. */
struct gisa_irq t_io(uint16_t id, uint16_t nr, uint32_t parm, unsigned isc);
struct gisa_irq t_ai(unsigned isc);
struct gisa_irq t_srv(uint32_t p);
struct gisa_irq t_virt(uint32_t p, uint64_t p2);
struct gisa_irq t_pfd(uint64_t token);
struct gisa_irq t_mck(uint64_t cr14, uint64_t mcic);
struct gisa_irq t_raw_type(uint64_t type);   /* type only, zero payload */

/*
 * A VM in the vectors' default setting (spec §12, §14.1): one FLIC, one
 * memslot (slot 0) covering [0, 1 MiB).  *host is created when NULL.
 * Fails the test on error.
 */
struct gisa_vm *t_vm_new(struct gisa_host **host, enum gisa_profile profile,
			 uint32_t caps, uint32_t nr_vcpus);
void t_vm_free(struct gisa_vm *vm, struct gisa_host *host);

/* FLIC attribute access with a plain caller buffer (no unreadable range). */
int t_set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len);
int t_get_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len);

/* ENQUEUE of the concatenated records, packed big-endian. */
int t_enq(struct gisa_vm *vm, const struct gisa_irq *irqs, size_t n);
int t_enq1(struct gisa_vm *vm, struct gisa_irq irq);
/*
 * GET_ALL_IRQS with byte length len into a scratch buffer; on success the
 * records are unpacked into out (at most max; the test fails if more).
 * raw, if not NULL, receives the bytes (at least len bytes).
 */
int t_get(struct gisa_vm *vm, size_t len, struct gisa_irq *out, size_t max, uint8_t *raw);
/* GET with the default length of spec §14.2 (72 x 4096). */
int t_get_all(struct gisa_vm *vm, struct gisa_irq *out, size_t max);

int t_clear_irqs(struct gisa_vm *vm);
int t_clear_io(struct gisa_vm *vm, uint32_t schid);
int t_register(struct gisa_vm *vm, uint32_t id, uint8_t isc, uint8_t maskable,
	       uint8_t swap, uint8_t flags);
int t_modify(struct gisa_vm *vm, uint32_t id, uint8_t type, uint8_t mask, uint64_t addr);
int t_aism(struct gisa_vm *vm, uint8_t isc, uint16_t mode);
int t_aism_all_set(struct gisa_vm *vm, uint8_t simm, uint8_t nimm);
int t_aism_all_get(struct gisa_vm *vm, uint8_t *simm, uint8_t *nimm);
int t_airq(struct gisa_vm *vm, uint64_t attr);

/* Routes: one S390_ADAPTER entry each. */
struct gisa_route_entry t_route(uint32_t gsi, uint64_t ind, uint64_t ind_off,
				uint64_t sum, uint32_t sum_off, uint32_t adapter);

/* vcpu "ALL-ON" of spec §12 (run state RUNNING). */
void t_vcpu_all_on(struct gisa_vm *vm, uint32_t idx);
void t_vcpu_set(struct gisa_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0,
		uint64_t cr6, uint64_t cr14, enum gisa_run_state run);

uint8_t t_mem_byte(struct gisa_vm *vm, uint64_t gpa);
void t_mem_set_byte(struct gisa_vm *vm, uint64_t gpa, uint8_t v);

/* Byte-exact comparison of two records through their packed form. */
int t_irq_equal(const struct gisa_irq *a, const struct gisa_irq *b);
void t_assert_irq_eq(const struct gisa_irq *a, const struct gisa_irq *b);
void t_assert_irqs_eq(const struct gisa_irq *got, size_t n_got,
		      const struct gisa_irq *want, size_t n_want);

#endif
