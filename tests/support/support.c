/* SPDX-License-Identifier: MIT */
#include "support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct gisa_irq t_io(uint16_t id, uint16_t nr, uint32_t parm, unsigned isc)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = GISA_INT_IO(0, id >> 8, (id >> 1) & 3, nr);
	r.u.io.subchannel_id = id;
	r.u.io.subchannel_nr = nr;
	r.u.io.io_int_parm = parm;
	r.u.io.io_int_word = (uint32_t)isc << 27;
	return r;
}

struct gisa_irq t_ai(unsigned isc)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = GISA_INT_IO_AI_MASK;
	r.u.io.io_int_word = GISA_IO_WORD_AI | (uint32_t)isc << 27;
	return r;
}

static struct gisa_irq ext(uint64_t type, uint32_t p, uint64_t p2)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.u.ext.ext_params = p;
	r.u.ext.ext_params2 = p2;
	return r;
}

struct gisa_irq t_srv(uint32_t p) { return ext(GISA_INT_SERVICE, p, 0); }
struct gisa_irq t_virt(uint32_t p, uint64_t p2) { return ext(GISA_INT_VIRTIO, p, p2); }
struct gisa_irq t_pfd(uint64_t token) { return ext(GISA_INT_PFAULT_DONE, 0, token); }

struct gisa_irq t_mck(uint64_t cr14, uint64_t mcic)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = GISA_INT_MCHK;
	r.u.mchk.cr14 = cr14;
	r.u.mchk.mcic = mcic;
	return r;
}

struct gisa_irq t_raw_type(uint64_t type)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	return r;
}

struct gisa_vm *t_vm_new(struct gisa_host **host, enum gisa_profile profile,
			 uint32_t caps, uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = nr_vcpus,
		.abi_order = GISA_BE,
	};
	struct gisa_vm *vm = NULL;

	if (!*host)
		assert_int_equal(gisa_host_new(NULL, host), 0);
	assert_int_equal(gisa_vm_new(*host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
	return vm;
}

void t_vm_free(struct gisa_vm *vm, struct gisa_host *host)
{
	gisa_vm_free(vm);
	gisa_host_free(host);
}

int t_set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

int t_get_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_get_attr(vm, &a);
}

int t_enq(struct gisa_vm *vm, const struct gisa_irq *irqs, size_t n)
{
	size_t len = n * GISA_IRQ_SIZE;
	uint8_t *buf = malloc(len ? len : 1);
	int r;

	assert_non_null(buf);
	assert_int_equal(gisa_irq_pack(irqs, n, GISA_BE, buf, len), 0);
	r = t_set_attr(vm, GISA_FLIC_ENQUEUE, len, buf, len);
	free(buf);
	return r;
}

int t_enq1(struct gisa_vm *vm, struct gisa_irq irq)
{
	return t_enq(vm, &irq, 1);
}

int t_get(struct gisa_vm *vm, size_t len, struct gisa_irq *out, size_t max, uint8_t *raw)
{
	uint8_t *buf = raw ? raw : malloc(len ? len : 1);
	int r;

	assert_non_null(buf);
	r = t_get_attr(vm, GISA_FLIC_GET_ALL_IRQS, len, buf, len);
	if (r > 0 && out) {
		assert_true((size_t)r <= max);
		assert_int_equal(gisa_irq_unpack(buf, (size_t)r * GISA_IRQ_SIZE, GISA_BE,
						 out, (size_t)r), 0);
	}
	if (!raw)
		free(buf);
	return r;
}

int t_get_all(struct gisa_vm *vm, struct gisa_irq *out, size_t max)
{
	return t_get(vm, (size_t)GISA_IRQ_SIZE * 4096, out, max, NULL);
}

int t_clear_irqs(struct gisa_vm *vm)
{
	return t_set_attr(vm, GISA_FLIC_CLEAR_IRQS, 0, NULL, 0);
}

int t_clear_io(struct gisa_vm *vm, uint32_t schid)
{
	uint8_t b[4] = { (uint8_t)(schid >> 24), (uint8_t)(schid >> 16),
			 (uint8_t)(schid >> 8), (uint8_t)schid };

	return t_set_attr(vm, GISA_FLIC_CLEAR_IO_IRQ, 4, b, sizeof(b));
}

int t_register(struct gisa_vm *vm, uint32_t id, uint8_t isc, uint8_t maskable,
	       uint8_t swap, uint8_t flags)
{
	struct gisa_io_adapter a = { id, isc, maskable, swap, flags };
	uint8_t b[GISA_IO_ADAPTER_SIZE];

	gisa_io_adapter_pack(&a, GISA_BE, b);
	return t_set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b));
}

int t_modify(struct gisa_vm *vm, uint32_t id, uint8_t type, uint8_t mask, uint64_t addr)
{
	struct gisa_io_adapter_req r = { .id = id, .type = type, .mask = mask, .addr = addr };
	uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];

	gisa_io_adapter_req_pack(&r, GISA_BE, b);
	return t_set_attr(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b));
}

int t_aism(struct gisa_vm *vm, uint8_t isc, uint16_t mode)
{
	struct gisa_ais_req r = { .isc = isc, .mode = mode };
	uint8_t b[GISA_AIS_REQ_SIZE];

	gisa_ais_req_pack(&r, GISA_BE, b);
	return t_set_attr(vm, GISA_FLIC_AISM, 0, b, sizeof(b));
}

int t_aism_all_set(struct gisa_vm *vm, uint8_t simm, uint8_t nimm)
{
	uint8_t b[2] = { simm, nimm };

	return t_set_attr(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b));
}

int t_aism_all_get(struct gisa_vm *vm, uint8_t *simm, uint8_t *nimm)
{
	uint8_t b[2] = { 0xee, 0xee };
	int r = t_get_attr(vm, GISA_FLIC_AISM_ALL, 2, b, sizeof(b));

	if (r == 0) {
		*simm = b[0];
		*nimm = b[1];
	}
	return r;
}

int t_airq(struct gisa_vm *vm, uint64_t attr)
{
	return t_set_attr(vm, GISA_FLIC_AIRQ_INJECT, attr, NULL, 0);
}

struct gisa_route_entry t_route(uint32_t gsi, uint64_t ind, uint64_t ind_off,
				uint64_t sum, uint32_t sum_off, uint32_t adapter)
{
	struct gisa_route_entry e;

	memset(&e, 0, sizeof(e));
	e.gsi = gsi;
	e.type = GISA_IRQ_ROUTING_S390_ADAPTER;
	e.adapter.ind_addr = ind;
	e.adapter.ind_offset = ind_off;
	e.adapter.summary_addr = sum;
	e.adapter.summary_offset = sum_off;
	e.adapter.adapter_id = adapter;
	return e;
}

void t_vcpu_set(struct gisa_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0,
		uint64_t cr6, uint64_t cr14, enum gisa_run_state run)
{
	struct gisa_vcpu_state st = {
		.psw_mask = psw, .cr0 = cr0, .cr6 = cr6, .cr14 = cr14, .run = run,
	};

	assert_int_equal(gisa_vcpu_set(vm, idx, &st), 0);
}

void t_vcpu_all_on(struct gisa_vm *vm, uint32_t idx)
{
	t_vcpu_set(vm, idx, GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK,
		   0x6e00, 0xff000000, 0x10000000, GISA_VCPU_RUNNING);
}

uint8_t t_mem_byte(struct gisa_vm *vm, uint64_t gpa)
{
	uint8_t b = 0xee;

	assert_int_equal(gisa_mem_read(vm, gpa, &b, 1), 0);
	return b;
}

void t_mem_set_byte(struct gisa_vm *vm, uint64_t gpa, uint8_t v)
{
	assert_int_equal(gisa_mem_write(vm, gpa, &v, 1), 0);
}

int t_irq_equal(const struct gisa_irq *a, const struct gisa_irq *b)
{
	uint8_t x[GISA_IRQ_SIZE], y[GISA_IRQ_SIZE];

	gisa_irq_pack1(a, GISA_BE, x);
	gisa_irq_pack1(b, GISA_BE, y);
	return memcmp(x, y, sizeof(x)) == 0;
}

void t_assert_irq_eq(const struct gisa_irq *a, const struct gisa_irq *b)
{
	uint8_t x[GISA_IRQ_SIZE], y[GISA_IRQ_SIZE];

	gisa_irq_pack1(a, GISA_BE, x);
	gisa_irq_pack1(b, GISA_BE, y);
	assert_memory_equal(x, y, sizeof(x));
}

void t_assert_irqs_eq(const struct gisa_irq *got, size_t n_got,
		      const struct gisa_irq *want, size_t n_want)
{
	assert_int_equal(n_got, n_want);
	for (size_t i = 0; i < n_got; i++)
		t_assert_irq_eq(&got[i], &want[i]);
}
