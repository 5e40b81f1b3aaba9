#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGTERM checkpoints every VM; the next start restores them with identical
# digests.  A destroyed VM stays gone, and one whose checkpoint cannot be
# removed is not destroyed; a corrupted checkpoint is refused at start-up
# (logged, the daemon serves the others).
. "$(dirname "$0")/lib.sh"

write_conf
start_gisad

ctl vm-create a profile=0 caps=3 vcpus=4 >/dev/null
ctl vm-create b profile=1 caps=2 vcpus=1 >/dev/null
ctl vm-create c profile=0 caps=0 vcpus=1 noflic=1 >/dev/null
ctl batch-io a 50 2 >/dev/null
ctl batch-io a 7 6 1000 >/dev/null
ctl interrupt a 0xffff2401 0x20003 >/dev/null
# Adapter 1 on ISC 3, maskable (struct kvm_s390_io_adapter, big-endian).
out=$(ctl flic a set 6 0 data=0000000103010000)
expect_field "$out" error 0
ctl batch-io b 3 7 >/dev/null
# AIS mode: simm/nimm = 0x40/0x00 through AISM_ALL (group 11).
out=$(ctl flic b set 11 0 data=4000)
expect_field "$out" error 0

da=$(digest_of a)
db=$(digest_of b)
dc=$(digest_of c)
[ "$da" != "$db" ] && [ "$db" != "$dc" ] || fail "digests should differ"

stop_gisad
grep -q "SIGTERM: checkpointing 3 VMs" "$LOG" || fail "no shut-down checkpoint message"
for v in a b c; do
	[ -f "$T/state/checkpoints/$v/current.gsnap" ] || fail "no checkpoint for $v"
done
[ ! -e "$SOCK" ] || fail "socket left behind"

start_gisad
[ "$(digest_of a)" = "$da" ] || fail "a restored with a different digest"
[ "$(digest_of b)" = "$db" ] || fail "b restored with a different digest"
[ "$(digest_of c)" = "$dc" ] || fail "c restored with a different digest"
out=$(ctl vm-info a)
expect_field "$out" "vm_info.list_len\[2\]" 50
expect_field "$out" "vm_info.list_len\[6\]" 7
expect_field "$out" vm_info.adapter_mask 2
expect_field "$out" vm_info.vcpus 4
out=$(ctl vm-info b)
expect_field "$out" vm_info.profile 1
expect_field "$out" vm_info.simm 64
out=$(ctl job list)
expect_field "$out" jobs.jobs.n 3
expect_field "$out" "jobs.jobs\[0\].operation" 2
expect_field "$out" "jobs.jobs\[0\].type" 3

# A current checkpoint that cannot be removed keeps its VM: vm_destroy
# fails naming the VM and why, and c is still served (destroyed, it would
# come back at the next start).  An unwritable directory stops the unlink
# for others than root; for root an immutable one (chattr +i) does.
cdir=$T/state/checkpoints/c
dc=$(digest_of c)
pinned=0
if [ "$IS_ROOT" = 0 ]; then
	chmod 0555 "$cdir" && pinned=1
elif command -v chattr >/dev/null && chattr +i "$cdir" 2>/dev/null; then
	pinned=1
	trap 'chattr -i "$cdir" 2>/dev/null || true; cleanup' EXIT
fi
if [ "$pinned" = 1 ]; then
	run_ctl out vm-destroy c
	if [ "$IS_ROOT" = 0 ]; then
		chmod 0755 "$cdir"
	else
		chattr -i "$cdir"
		trap cleanup EXIT
	fi
	expect_field "$out" error "$([ "$IS_ROOT" = 0 ] && echo -13 || echo -1)"
	expect_match "$out" "^message=vm_destroy: VM \`c' not destroyed: its current checkpoint \
cannot be removed, and the next start would restore it: removing \`$cdir/current.gsnap': "
	[ "$(digest_of c)" = "$dc" ] || fail "c changed or went when vm_destroy failed"
	[ -f "$cdir/current.gsnap" ] || fail "c's checkpoint went when vm_destroy failed"
else
	echo "skip: running as root without a working chattr +i, a checkpoint cannot be made" \
		"unremovable: vm_destroy's failure not tested"
fi

# A destroyed VM does not come back.
ctl vm-destroy c >/dev/null
stop_gisad
[ ! -e "$T/state/checkpoints/c/current.gsnap" ] || fail "destroyed VM kept its checkpoint"
start_gisad
out=$(ctl vm-list)
expect_field "$out" vm_list.vms.n 2
[ "$(digest_of a)" = "$da" ] || fail "a changed across the second restart"
stop_gisad

# A corrupted current checkpoint: a is refused at start-up, b is served.
f=$T/state/checkpoints/a/current.gsnap
printf '\x55' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") / 2)) conv=notrunc status=none
start_gisad
grep -q "VM \`a' not restored" "$LOG" || fail "corrupted checkpoint not reported"
run_ctl out vm-info a
expect_field "$out" error -2
[ "$(digest_of b)" = "$db" ] || fail "b changed"
out=$(ctl job list)
expect_match "$out" '^jobs.jobs\[[0-9]+\].type=4$'
stop_gisad

# A crash leaves a temporary file: removed at the next start.
touch "$T/state/checkpoints/b/.current.gsnap.1.1.tmp"
start_gisad
[ ! -e "$T/state/checkpoints/b/.current.gsnap.1.1.tmp" ] || fail "temporary not removed"
stop_gisad
echo "ok: restart"
