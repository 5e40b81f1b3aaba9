#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemon core through the control protocol: ping, VM lifecycle, batch
# injection against GET_ALL_IRQS, snapshot export/import through passed
# descriptors (equal digests, all-or-nothing replace), checkpoints, jobs.
. "$(dirname "$0")/lib.sh"

write_conf
start_gisad

out=$(ctl ping)
expect_field "$out" error 0
expect_field "$out" pong.daemon "gisad 0.1.0"
expect_field "$out" pong.max_datagram 1048576
expect_field "$out" pong.caps 3

# ---- VM lifecycle -----------------------------------------------------------
out=$(ctl vm-create a profile=0 caps=3 vcpus=2) || fail "vm-create a: $out"
expect_field "$out" vm_info.name a
expect_field "$out" vm_info.vcpus 2
expect_field "$out" vm_info.caps 3
expect_field "$out" vm_info.flic_present 1
expect_field "$out" vm_info.nr_memslots 1
run_ctl out vm-create a
expect_field "$out" error -17
expect_match "$out" "^message=vm_create: VM \`a' already exists$"
run_ctl out vm-create "bad/name"
expect_field "$out" error -22
expect_match "$out" "VM name \`bad/name' is invalid"
run_ctl out vm-create ..
expect_field "$out" error -22
run_ctl out vm-create b profile=7
expect_field "$out" error -22
expect_match "$out" "profile 7 is unknown"
run_ctl out vm-create b vcpus=300
expect_field "$out" error -22
out=$(ctl vm-create b profile=1 caps=0 vcpus=1 noflic=1)
out=$(ctl vm-list)
expect_field "$out" vm_list.vms.n 2
expect_field "$out" "vm_list.vms\[0\].name" a
expect_field "$out" "vm_list.vms\[1\].name" b
expect_field "$out" "vm_list.vms\[1\].profile" 1
run_ctl out vm-info nosuch
expect_field "$out" error -2
expect_match "$out" "no VM named \`nosuch'"

# ---- batch injection and GET_ALL_IRQS ---------------------------------------
out=$(ctl batch-io a 100 3)
expect_field "$out" batch.injected 100
expect_field "$out" batch.total 100
out=$(ctl vm-info a)
expect_field "$out" "vm_info.list_len\[3\]" 100
expect_field "$out" "vm_info.list_len\[0\]" 0
want=$(ctl records-hex 100 3)
out=$(ctl flic a get 1 7200 buf_len=7200)
expect_field "$out" flic.ret 100
[ "$(field "$out" flic.data)" = "$want" ] ||
	fail "GET_ALL_IRQS bytes differ from the injected records"
# A short buffer: -ENOMEM, nothing removed (spec §3.1).
run_ctl out flic a get 1 7199 buf_len=7199
expect_field "$out" error -12
expect_field "$out" flic.ret -12
# A record ENQUEUE refuses (PROGRAM, 0xfffe0001) ends the batch: -EINVAL,
# the records before it stay (spec §3.2: no rollback), none after it.
bad=$(printf '00000000fffe0001%0128d' 0)
out=$(ctl records-hex 2 5)
recs="$(printf '%s' "$out" | cut -c1-144)${bad}$(printf '%s' "$out" | cut -c145-288)"
run_ctl out batch-hex a "$recs"
expect_field "$out" error -22
expect_field "$out" batch.injected 1
expect_field "$out" batch.total 3
expect_match "$out" "record 1 of 3 \(type 0xfffe0001\); 1 injected"
out=$(ctl vm-info a)
expect_field "$out" "vm_info.list_len\[3\]" 100
expect_field "$out" "vm_info.list_len\[5\]" 1
run_ctl out batch-hex a 00
expect_field "$out" error -22
expect_match "$out" "1 bytes of records is not a multiple of 72"
# No FLIC on b: -EBADF (spec §14.17), nothing injected.
run_ctl out batch-io b 3 0
expect_field "$out" error -9
expect_field "$out" batch.injected 0
# Legacy interrupt: a service signal.
out=$(ctl interrupt a 0xffff2401 0x10000)
expect_field "$out" error 0
out=$(ctl vm-info a)
expect_field "$out" vm_info.srv_ext_params 65536

# ---- snapshot export / import through passed descriptors --------------------
da=$(digest_of a)
[ ${#da} -eq 64 ] || fail "digest of a: '$da'"
out=$(ctl export a "$T/a.gsnap")
expect_field "$out" error 0
[ "$(field "$out" snapshot.bytes)" = "$(stat -c %s "$T/a.gsnap")" ] || fail "export size mismatch"
job_export=$(field "$out" snapshot.job)
out=$(ctl import "$T/a.gsnap" name=c)
expect_field "$out" error 0
expect_field "$out" snapshot.vm c
[ "$(digest_of c)" = "$da" ] || fail "imported digest differs"
run_ctl out import "$T/a.gsnap"
expect_field "$out" error -17
expect_match "$out" "VM \`a' exists: ask for replace"
run_ctl out import "$T/a.gsnap" name=b
expect_field "$out" error -17
db=$(digest_of b)
# A corrupted file is refused and b stays as it was.
cp "$T/a.gsnap" "$T/bad.gsnap"
size=$(stat -c %s "$T/bad.gsnap")
printf '\x55' | dd of="$T/bad.gsnap" bs=1 seek=$((size / 2)) conv=notrunc status=none
run_ctl out import "$T/bad.gsnap" name=b replace=1
[ "$(field "$out" error)" != 0 ] || fail "corrupted snapshot accepted: $out"
expect_match "$out" "^message=import of VM \`b' .*snapshot refused"
[ "$(digest_of b)" = "$db" ] || fail "failed import changed b"
out=$(ctl import "$T/a.gsnap" name=b replace=1)
expect_field "$out" error 0
[ "$(digest_of b)" = "$da" ] || fail "replace did not take the snapshot's state"
# Not a regular file: refused, nothing read.
run_ctl out import /dev/null name=d
expect_field "$out" error -22
expect_match "$out" "character device, not a regular file"

# Descriptor discipline: none where one is needed, one where none is.
run_ctl out -N export a "$T/x.gsnap"
expect_field "$out" error -9
expect_match "$out" "snapshot_export needs a file descriptor passed with SCM_RIGHTS"
run_ctl out -F "$T/a.gsnap" vm-info a
expect_field "$out" error -22
expect_match "$out" "vm_info takes no file descriptor; 1 received and closed"
[ "$(ls /proc/"$PID"/fd | wc -l)" -lt 20 ] || fail "descriptors leak in gisad"

# ---- checkpoints ------------------------------------------------------------
out=$(ctl ckpt create a t1)
expect_field "$out" error 0
expect_field "$out" snapshot.tag t1
[ -f "$T/state/checkpoints/a/t1.gsnap" ] || fail "tag file missing"
out=$(ctl ckpt create a)
[ -f "$T/state/checkpoints/a/current.gsnap" ] || fail "current checkpoint missing"
run_ctl out ckpt create a current
expect_field "$out" error -22
run_ctl out ckpt create a ../x
expect_field "$out" error -22
out=$(ctl ckpt list a)
expect_field "$out" checkpoints.entries.n 2
expect_field "$out" "checkpoints.entries\[1\].tag" t1
ctl batch-io a 5 1 >/dev/null
[ "$(digest_of a)" != "$da" ] || fail "injection did not change the digest"
out=$(ctl ckpt restore a t1)
expect_field "$out" error 0
[ "$(digest_of a)" = "$da" ] || fail "restore of t1 did not give the checkpointed digest"
# A corrupted tag is refused, the VM untouched.
ctl batch-io a 5 1 >/dev/null
dmod=$(digest_of a)
f=$T/state/checkpoints/a/t1.gsnap
printf '\x55' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") / 2)) conv=notrunc status=none
run_ctl out ckpt restore a t1
[ "$(field "$out" error)" != 0 ] || fail "corrupted checkpoint restored"
[ "$(digest_of a)" = "$dmod" ] || fail "failed restore changed a"
run_ctl out ckpt restore a nosuch
expect_field "$out" error -2
out=$(ctl ckpt delete a t1)
expect_field "$out" error 0
out=$(ctl ckpt list a)
expect_field "$out" checkpoints.entries.n 1

# ---- jobs -------------------------------------------------------------------
out=$(ctl job status "$job_export")
expect_field "$out" job.type 3
expect_field "$out" job.operation 3
expect_field "$out" job.vm a
run_ctl out job abort "$job_export"
expect_field "$out" error -114
out=$(ctl job list)
n=$(field "$out" jobs.jobs.n)
[ "$n" -ge 6 ] || fail "expected at least 6 jobs, got $n"
expect_match "$out" '^jobs.jobs\[[0-9]+\].type=4$'
out=$(ctl job clear "$job_export")
expect_field "$out" ret.ret 1
run_ctl out job status "$job_export"
expect_field "$out" error -2
out=$(ctl job clear 0)
[ "$(field "$out" ret.ret)" -ge 5 ] || fail "job clear 0: $out"

# ---- destroy ----------------------------------------------------------------
out=$(ctl vm-destroy c)
expect_field "$out" error 0
run_ctl out vm-info c
expect_field "$out" error -2
out=$(ctl vm-list)
expect_field "$out" vm_list.vms.n 2

stop_gisad
echo "ok: core"
