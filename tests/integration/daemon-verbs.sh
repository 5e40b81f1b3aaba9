#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every engine verb once over the control protocol, with the engine's
# exact return codes (spec sections in the comments): routes and their
# indicator bits in guest memory, memslots and the dirty log, vcpus,
# delivery, TPI/TSCH, GISA and GIB, the FLIC device.
. "$(dirname "$0")/lib.sh"

write_conf
start_gisad

# ---- routes, guest memory, dirty log (spec §5) -------------------------------
ctl vm-create r caps=0 vcpus=1 >/dev/null
# Adapter 1 on ISC 3, maskable, swap 0 (struct kvm_s390_io_adapter, BE).
ctl flic r set 6 0 data=0000000103010000 >/dev/null
out=$(ctl req routes_set vm=r 'entries[0].gsi=5' 'entries[0].type=3' \
	'entries[0].ind_addr=0x1000' 'entries[0].summary_addr=0x2000' 'entries[0].adapter_id=1')
expect_field "$out" error 0
out=$(ctl req route_trigger vm=r gsi=5 level=1)
expect_field "$out" ret.ret 1
# swap = 0, bit 0: the last byte of the big-endian long, mask 0x01 (§5.3).
out=$(ctl req mem_read vm=r gpa=0x1000 len=8)
expect_field "$out" mem.data 0000000000000001
out=$(ctl req mem_read vm=r gpa=0x2000 len=8)
expect_field "$out" mem.data 0000000000000001
# Indicator already set: coalesced.
out=$(ctl req route_trigger vm=r gsi=5 level=1)
expect_field "$out" ret.ret 0
# The guest clears both bits: the next trigger injects again.
ctl req mem_write vm=r gpa=0x1007 data=00 >/dev/null
ctl req mem_write vm=r gpa=0x2007 data=00 >/dev/null
out=$(ctl req route_trigger vm=r gsi=5 level=1)
expect_field "$out" ret.ret 1
out=$(ctl vm-info r)
expect_field "$out" "vm_info.list_len\[3\]" 2
expect_field "$out" vm_info.nr_routes 1
# No route: the kernel's bare -1.
run_ctl out req route_trigger vm=r gsi=6 level=1
expect_field "$out" error -1
expect_match "$out" "gsi 6 level 1: -1 \(no route"
# Unbacked guest memory: -EFAULT.
run_ctl out req mem_read vm=r gpa=0x100000 len=1
expect_field "$out" error -14
# Pages 1 and 2 were written by triggers; fetching clears the log.
out=$(ctl req dirty_log vm=r slot=0)
expect_field "$out" dirty_log.words.n 4
expect_field "$out" "dirty_log.words\[0\]" 6
out=$(ctl req dirty_log vm=r slot=0)
expect_field "$out" "dirty_log.words\[0\]" 0
run_ctl out req dirty_log vm=r slot=7
expect_field "$out" error -2
out=$(ctl req memslot_set vm=r slot.slot=1 slot.gpa=0x200000 slot.size=0x1000)
expect_field "$out" error 0
run_ctl out req memslot_set vm=r slot.slot=2 slot.gpa=0x80000 slot.size=0x1000
expect_field "$out" error -17
run_ctl out req mem_read vm=r gpa=0 len=2000000
expect_field "$out" error -7

# ---- vcpus, delivery, TPI, TSCH (spec §4.5-4.7) ------------------------------
out=$(ctl req vcpu_get vm=r vcpu=0)
expect_field "$out" vcpu.run 0
run_ctl out req vcpu_get vm=r vcpu=9
expect_field "$out" error -2
ctl req vcpu_set vm=r vcpu=0 state.run=2 >/dev/null
run_ctl out req vcpu_run vm=r vcpu=0
expect_field "$out" error -16
run_ctl out req vcpu_deliver vm=r vcpu=0
expect_field "$out" error -16
# I/O enabled, CR6 ISC 3.
ctl req vcpu_set vm=r vcpu=0 state.psw_mask=0x0200000000000000 state.cr6=0x10000000 >/dev/null
out=$(ctl req vcpu_deliverable vm=r vcpu=0)
expect_field "$out" deliverable.bits 128
out=$(ctl req vcpu_deliver vm=r vcpu=0)
expect_field "$out" delivery.ret 1
expect_field "$out" delivery.kind 1
expect_field "$out" delivery.irq_bit 7
expect_field "$out" delivery.type 67108864
expect_field "$out" delivery.io_int_word $((0x98000000))
out=$(ctl req vcpu_tpi vm=r vcpu=0)
expect_field "$out" irq.ret 1
# {type 0x04000000, io {0, 0, 0, word 0x98000000}}, the rest zero.
ai3=$(printf '0000000004000000%016x%08x%0104d' 0 $((0x98000000)) 0)
expect_field "$out" irq.record "$ai3"
out=$(ctl req vcpu_tpi vm=r vcpu=0)
expect_field "$out" irq.ret 0
ctl batch-io r 1 3 >/dev/null
# TSCH with GPR1 = 0 dequeues nothing (§14.13); with the subchannel id, it does.
out=$(ctl req vcpu_tsch vm=r vcpu=0)
expect_field "$out" irq.ret 0
out=$(ctl req vcpu_tsch vm=r vcpu=0 gpr1=0x00010000)
expect_field "$out" irq.ret 1
expect_field "$out" irq.record "$(ctl records-hex 1 3)"
# A disabled wait is userspace's business.
ctl req vcpu_set vm=r vcpu=0 state.run=0 >/dev/null
run_ctl out req vcpu_wait vm=r vcpu=0
expect_field "$out" error -95
run_ctl out req vcpu_set vm=r vcpu=0
expect_field "$out" error -22
expect_match "$out" "no state given"

# ---- GISA and GIB (spec §7) --------------------------------------------------
run_ctl out req gisc_register vm=r gisc=3
expect_field "$out" error -19
run_ctl out req timer_fire vm=r
expect_field "$out" error -19
ctl vm-create g caps=1 vcpus=1 >/dev/null
out=$(ctl req gisc_register vm=g gisc=3)
expect_field "$out" ret.ret 5
run_ctl out req gisc_register vm=g gisc=9
expect_field "$out" error -34
out=$(ctl req hw_airq vm=g isc=3)
expect_field "$out" error 0
out=$(ctl vm-info g)
expect_field "$out" vm_info.gisa.ipm 16
expect_field "$out" vm_info.gisa.iam 0
expect_field "$out" vm_info.gisa.on_alert_list 1
out=$(ctl host-info)
expect_field "$out" host.alert_list_len 1
expect_field "$out" host.gal_interrupts 1
expect_field "$out" host.nr_vms 2
out=$(ctl req process_alerts)
expect_field "$out" ret.ret 1
out=$(ctl vm-info g)
expect_field "$out" vm_info.gisa.on_alert_list 0
expect_field "$out" vm_info.gisa.timer_armed 1
# IPM & alert mask non-zero, no idle vcpu: re-armed; then an idle vcpu is woken.
out=$(ctl req timer_fire vm=g)
expect_field "$out" ret.ret 1
ctl req vcpu_set vm=g vcpu=0 state.psw_mask=0x0200000000000000 state.cr6=0x10000000 \
	state.run=1 >/dev/null
out=$(ctl req timer_fire vm=g)
expect_field "$out" ret.ret 1
out=$(ctl events g)
expect_field "$out" events.events.n 1
expect_field "$out" "events.events\[0\].kind" 2
out=$(ctl req gisc_unregister vm=g gisc=3)
expect_field "$out" ret.ret 0
run_ctl out req gisc_unregister vm=g gisc=3
expect_field "$out" error -22

# ---- the FLIC device (spec §3, §14.17) ---------------------------------------
out=$(ctl req flic_destroy vm=g)
expect_field "$out" error 0
run_ctl out flic g get 1 72 buf_len=72
expect_field "$out" error -9
run_ctl out flic g has 1 0
expect_field "$out" error -9
out=$(ctl req flic_create vm=g)
expect_field "$out" error 0
run_ctl out req flic_create vm=g
expect_field "$out" error -22
out=$(ctl flic g has 1 0)
expect_field "$out" flic.ret 0
# CLASSIC GET_ALL_IRQS test-and-clears the IPM bit into an AI record (§3.1).
out=$(ctl flic g get 1 720 buf_len=144)
expect_field "$out" flic.ret 1
expect_field "$out" flic.data "$ai3$(printf '%0144d' 0)"
out=$(ctl vm-info g)
expect_field "$out" vm_info.gisa.ipm 0
# A GET buffer a reply cannot carry is refused before the call.
run_ctl out flic g get 1 0x2000000 buf_len=2000000
expect_field "$out" error -7

stop_gisad
echo "ok: verbs"
