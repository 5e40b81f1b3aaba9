#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The event stream (kicks and job changes to subscribers, events_read from
# the daemon's ring) and the host capabilities gisad.conf offers (refused
# creation and import, applied on SIGHUP); max_mem_cap bounds the memory
# a VM created may back.
. "$(dirname "$0")/lib.sh"

write_conf
start_gisad

# ---- events -----------------------------------------------------------------
ctl vm-create e caps=0 vcpus=2 >/dev/null
ctl vm-create other caps=0 vcpus=1 >/dev/null
ctl watch 5 5000 vm=e >"$T/watch.out" 2>&1 &
wpid=$!
for _ in $(seq 1 100); do
	grep -q '^ready$' "$T/watch.out" 2>/dev/null && break
	sleep 0.05
done
grep -q '^ready$' "$T/watch.out" || fail "watcher did not subscribe"
ctl batch-io other 2 1 >/dev/null      # filtered out: another VM
ctl batch-io e 3 2 >/dev/null
ctl ckpt create e >/dev/null
wait "$wpid" || fail "watcher did not get 5 events: $(cat "$T/watch.out")"
out=$(cat "$T/watch.out")
# Round robin over the two running vcpus from the cursor (spec §4.7), I/O flag.
expect_field "$out" 'event\[0\].kind' 1
expect_field "$out" 'event\[0\].vm' e
expect_field "$out" 'event\[0\].seq' 1
expect_field "$out" 'event\[0\].vcpu' 0
expect_field "$out" 'event\[0\].flag' 1
expect_field "$out" 'event\[1\].vcpu' 1
expect_field "$out" 'event\[2\].seq' 3
expect_field "$out" 'event\[2\].vcpu' 0
expect_field "$out" 'event\[3\].kind' 3
expect_field "$out" 'event\[3\].job.type' 1
expect_field "$out" 'event\[3\].job.operation' 1
expect_field "$out" 'event\[4\].job.type' 3
# The same kicks stay readable with events_read, once.
out=$(ctl events e)
expect_field "$out" events.events.n 3
expect_field "$out" 'events.events\[0\].seq' 1
expect_field "$out" 'events.events\[2\].vcpu' 0
expect_field "$out" events.dropped 0
out=$(ctl events e)
expect_field "$out" events.events.n 0
# An idle vcpu enabled for I/O ISC 2 is kicked first (CLASSIC: idle first).
ctl vcpu-set e 1 0x0200000000000000 0x20000000 1 >/dev/null
ctl batch-io e 1 2 >/dev/null
out=$(ctl events e)
expect_field "$out" events.events.n 1
expect_field "$out" 'events.events\[0\].vcpu' 1

# ---- host capabilities ------------------------------------------------------
ctl vm-create full profile=1 caps=3 >/dev/null
ctl export full "$T/full.gsnap" >/dev/null
write_conf ais=no profiles=classic
kill -HUP "$PID"
for _ in $(seq 1 100); do
	[ "$(field "$(ctl ping)" pong.caps)" = 1 ] && break
	sleep 0.05
done
out=$(ctl ping)
expect_field "$out" pong.caps 1
expect_field "$out" pong.profiles.n 1
run_ctl out vm-create x caps=2
expect_field "$out" error -95
offers="this host offers profiles classic and capabilities GISA"
expect_match "$out" "^message=VM \`x' requires profile classic and capabilities AIS; $offers$"
run_ctl out vm-create y profile=1 caps=1
expect_field "$out" error -95
run_ctl out import "$T/full.gsnap" name=z
expect_field "$out" error -95
expect_match "$out" \
	"the snapshot of VM \`z' requires profile newest and capabilities GISA\|AIS; $offers"
run_ctl out vm-info z
expect_field "$out" error -2
# Restoring a checkpoint is an import: refused the same way.
ctl ckpt create full >/dev/null
run_ctl out ckpt restore full
expect_field "$out" error -95
write_conf
kill -HUP "$PID"
for _ in $(seq 1 100); do
	[ "$(field "$(ctl ping)" pong.caps)" = 3 ] && break
	sleep 0.05
done
out=$(ctl import "$T/full.gsnap" name=z)
expect_field "$out" error 0

# ---- max_mem_cap ------------------------------------------------------------
# The guest memory one VM may back is capped (256 MiB by default), so that
# gisad backs at most max_vms x max_mem_cap; mem_cap 0 means the engine's
# default (64 MiB), which is the least max_mem_cap can be.
run_ctl out vm-create huge mem_cap=0xffffffffffffffff
expect_field "$out" error -22
expect_match "$out" "^message=vm_create: VM \`huge': mem_cap 0xffffffffffffffff \
\(18446744073709551615 bytes\) is over max_mem_cap = 268435456 bytes$"
run_ctl out vm-info huge
expect_field "$out" error -2
run_ctl out vm-create over mem_cap=268435457
expect_field "$out" error -22
out=$(ctl vm-create atcap mem_cap=268435456)
expect_field "$out" vm_info.mem_cap 268435456
# Lowered on SIGHUP: new VMs only.
write_conf max_mem_cap=67108864
reload_to max_mem_cap 67108864
run_ctl out vm-create mid mem_cap=0x4001000
expect_field "$out" error -22
expect_match "$out" "mem_cap 0x4001000 \(67112960 bytes\) is over max_mem_cap = 67108864 bytes$"
out=$(ctl vm-create dflt)
expect_field "$out" vm_info.mem_cap 67108864
out=$(ctl vm-info atcap)
expect_field "$out" vm_info.mem_cap 268435456
# An import, and a checkpoint's restore, are checked the same way.
ctl export atcap "$T/atcap.gsnap" >/dev/null
run_ctl out import "$T/atcap.gsnap" name=atcap2
expect_field "$out" error -22
expect_match "$out" "the snapshot of VM \`atcap2': mem_cap 0x10000000 \(268435456 bytes\) is \
over max_mem_cap = 67108864 bytes$"
run_ctl out vm-info atcap2
expect_field "$out" error -2
ctl ckpt create atcap >/dev/null
run_ctl out ckpt restore atcap
expect_field "$out" error -22
out=$(ctl vm-info atcap)
expect_field "$out" vm_info.mem_cap 268435456
stop_gisad
echo "ok: events"
