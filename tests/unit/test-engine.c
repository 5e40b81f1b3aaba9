/* SPDX-License-Identifier: MIT */
/*
 * The invariant checker (lib/engine/check.c): it holds across a workout of
 * every kind of operation, and each invariant it guards is reported when
 * that invariant is deliberately broken (so the checker itself can fail).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine-internal.h"
#include "support.h"

static struct gisa_vm *busy_vm(struct gisa_host **host, enum gisa_profile p, uint32_t caps)
{
	struct gisa_vm *vm = t_vm_new(host, p, caps, 4);
	struct gisa_irq recs[] = {
		t_io(0x0001, 1, 0xa, 0), t_io(0x0001, 2, 0xb, 3), t_ai(5), t_srv(0x1001),
		t_virt(1, 2), t_pfd(7), t_mck(0x10000000, 1),
	};
	struct gisa_route_entry r[] = {
		t_route(1, 0x10000, 5, 0x20000, 0, 0),
		t_route(7, 0x10000, 6, 0x20000, 0, 0),
	};

	assert_int_equal(t_enq(vm, recs, sizeof(recs) / sizeof(recs[0])), 0);
	assert_int_equal(t_register(vm, 0, 3, 1, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(gisa_routes_set(vm, r, 2, 0), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	assert_int_equal(gisa_mem_set_slot(vm, 1, 0x200000, 0x10000), 0);
	t_mem_set_byte(vm, 0x200010, 0x5a);
	t_vcpu_all_on(vm, 0);
	t_vcpu_set(vm, 2, 0, 0, 0, 0, GISA_VCPU_STOPPED);
	if (caps & GISA_CAP_GISA)
		assert_true(gisa_gisc_register(vm, 3) >= 0);
	return vm;
}

static void invariants_hold_through_operations(void **state)
{
	static const uint32_t caps[] = { 0, GISA_CAP_GISA, GISA_CAP_AIS, GISA_CAP_ALL };

	(void)state;
	for (int p = 0; p <= 1; p++) {
		for (unsigned c = 0; c < 4; c++) {
			struct gisa_host *host = NULL;
			struct gisa_vm *vm = busy_vm(&host, (enum gisa_profile)p, caps[c]);
			struct gisa_delivery d;
			struct gisa_irq irq;

			assert_int_equal(vm_check_invariants(vm), 0);
			while (gisa_vcpu_deliver(vm, 0, &d) == 1)
				assert_int_equal(vm_check_invariants(vm), 0);
			assert_int_equal(t_enq1(vm, t_io(0x0001, 9, 1, 2)), 0);
			assert_int_equal(gisa_vcpu_tpi(vm, 0, &irq), 1);
			assert_int_equal(vm_check_invariants(vm), 0);
			/* I/O enabled but no ISC in CR6: nothing deliverable, it sleeps. */
			t_vcpu_set(vm, 1, GISA_PSW_MASK_IO, 0, 0, 0, GISA_VCPU_RUNNING);
			assert_int_equal(gisa_vcpu_wait(vm, 1), 1);
			assert_int_equal(vm_check_invariants(vm), 0);
			assert_int_equal(t_enq1(vm, t_srv(0x2000)), 0);   /* kicks idle vcpu 1 */
			assert_int_equal(gisa_vcpu_run(vm, 1), 0);
			assert_int_equal(vm_check_invariants(vm), 0);
			assert_int_equal(t_clear_irqs(vm), 0);
			/* Move slot 1 onto slot 0's range: refused; elsewhere: fine. */
			assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0x1000), -EEXIST);
			assert_int_equal(gisa_mem_set_slot(vm, 1, 0x100000, 0x1000), 0);
			assert_int_equal(vm_check_invariants(vm), 0);
			assert_int_equal(gisa_mem_set_slot(vm, 1, 0, 0), 0);
			assert_int_equal(vm_check_invariants(vm), 0);
			t_vm_free(vm, host);
		}
	}
}

static void checker_names_broken_invariants(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = busy_vm(&host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA);
	uint32_t saved32;
	uint8_t saved8;
	uint16_t saved16;

	(void)state;
	assert_int_equal(vm_check_invariants(vm), 0);

	saved32 = vm->fi.pending;
	vm->fi.pending &= ~(1u << GISA_IRQ_IO_ISC(3));
	assert_int_equal(vm_check_invariants(vm), -1);
	vm->fi.pending = saved32;

	vm->fi.counters[CNTR_IO]++;
	assert_int_equal(vm_check_invariants(vm), -2);
	vm->fi.counters[CNTR_IO]--;

	vm->pool.nfree++;
	assert_int_equal(vm_check_invariants(vm), -3);
	vm->pool.nfree--;

	vm->gisa.on_list = true;
	assert_int_equal(vm_check_invariants(vm), -4);
	vm->gisa.on_list = false;

	vm->vcpus[1].run = GISA_VCPU_IDLE;   /* without the idle bit */
	assert_int_equal(vm_check_invariants(vm), -5);
	vm->vcpus[1].run = GISA_VCPU_RUNNING;

	vm->mem.used += GISA_PAGE_SIZE;
	assert_int_equal(vm_check_invariants(vm), -6);
	vm->mem.used -= GISA_PAGE_SIZE;

	saved16 = vm->routes.gsi_map[7];
	vm->routes.gsi_map[7] = 0;
	assert_int_equal(vm_check_invariants(vm), -7);
	vm->routes.gsi_map[7] = saved16;

	saved32 = vm->fi.srv;
	vm->fi.srv &= ~GISA_SCCB_EVENT_PENDING;
	assert_int_equal(vm_check_invariants(vm), -8);
	vm->fi.srv = saved32;

	saved8 = vm->gisa.alert_mask;
	vm->gisa.alert_mask = 0x01;
	assert_int_equal(vm_check_invariants(vm), -9);
	vm->gisa.alert_mask = saved8;

	vm->adapters[0]->maskable = false;
	vm->adapters[0]->masked = true;
	assert_int_equal(vm_check_invariants(vm), -10);
	vm->adapters[0]->masked = false;
	vm->adapters[0]->maskable = true;

	assert_int_equal(vm_check_invariants(vm), 0);
	t_vm_free(vm, host);
}

/* A trigger that must allocate a page beyond the memory cap says so. */
static void trigger_beyond_mem_cap_is_enomem(void **state)
{
	for (int p = 0; p <= 1; p++) {
		struct gisa_vm_config cfg = {
			.profile = (enum gisa_profile)p, .nr_vcpus = 1, .mem_cap = GISA_PAGE_SIZE,
		};
		struct gisa_route_entry r = t_route(1, 0x10000, 5, 0x20000, 0, 0);
		struct gisa_host *host = NULL;
		struct gisa_vm *vm = NULL;
		struct gisa_state st;

		(void)state;
		assert_int_equal(gisa_host_new(NULL, &host), 0);
		assert_int_equal(gisa_vm_new(host, &cfg, &vm), 0);
		assert_int_equal(gisa_flic_create(vm), 0);
		assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
		assert_int_equal(t_register(vm, 0, 3, 0, 1, 0), 0);
		assert_int_equal(gisa_routes_set(vm, &r, 1, 0), 0);
		t_mem_set_byte(vm, 0x0, 1);   /* uses the one page the cap allows */
		assert_int_equal(gisa_route_trigger(vm, 1, 1), -ENOMEM);
		assert_int_equal(t_get_all(vm, NULL, 0), 0);
		gisa_state_read(vm, &st);
		assert_int_equal(st.mem_used, GISA_PAGE_SIZE);
		assert_int_equal(vm_check_invariants(vm), 0);
		t_vm_free(vm, host);
	}
}

/*
 * An unreadable range reaching past the end of the address space: it starts
 * inside the second record's io payload (bytes 80..91), which faults.
 */
static void unreadable_range_saturates(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = t_vm_new(&host, GISA_PROFILE_CLASSIC, 0, 1);
	struct gisa_irq recs[2] = { t_io(1, 1, 1, 0), t_io(1, 2, 2, 0) };
	uint8_t buf[2 * GISA_IRQ_SIZE];
	struct gisa_attr a = {
		.group = GISA_FLIC_ENQUEUE, .attr = sizeof(buf),
		.addr = { .data = buf, .len = sizeof(buf), .bad_off = 85, .bad_len = SIZE_MAX },
	};
	struct gisa_state st;

	(void)state;
	assert_int_equal(gisa_irq_pack(recs, 2, GISA_BE, buf, sizeof(buf)), 0);
	assert_int_equal(gisa_flic_set_attr(vm, &a), -EFAULT);
	gisa_state_read(vm, &st);
	assert_int_equal(st.list_len[0], 1);   /* the first record, before the fault */
	t_vm_free(vm, host);
}

/* kicked is only ever set on an idle vcpu; restore refuses anything else. */
static void restore_refuses_kicked_running_vcpu(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = t_vm_new(&host, GISA_PROFILE_CLASSIC, 0, 2);
	struct gisa_vcpu_state st = { .run = GISA_VCPU_RUNNING, .kicked = true };
	struct gisa_restore_error err = { 0 };

	(void)state;
	assert_int_equal(gisa_restore_vcpu(vm, 1, &st, &err), -EINVAL);
	assert_string_equal(err.field, "vcpus.kicked");
	assert_int_equal(err.index, 1);
	st.run = GISA_VCPU_IDLE;
	assert_int_equal(gisa_restore_vcpu(vm, 1, &st, &err), 0);
	assert_int_equal(vm_check_invariants(vm), 0);
	t_vm_free(vm, host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(invariants_hold_through_operations),
		cmocka_unit_test(checker_names_broken_invariants),
		cmocka_unit_test(trigger_beyond_mem_cap_is_enomem),
		cmocka_unit_test(unreadable_range_saturates),
		cmocka_unit_test(restore_refuses_kicked_running_vcpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
