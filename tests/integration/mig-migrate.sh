#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live migration between two real gisad on 127.0.0.1 (a: the source, b: the
# destination; both with host-a's certificate), driven by gisactl, with
# mig-mt-tool (MIG_MT_TOOL) for seeded random VMs, a load generator, the
# exactly-once check, JSON values and slow links.  Cases:
#  1. seeded random VMs (CLASSIC and NEWEST, GISA and AIS, both byte orders,
#     adapters, routes and their pages, every class of interrupt, vcpus;
#     with and without zstd, once under a new name; protocol version 2,
#     then with either peer pinned to version 1): the destination's
#     digest is the source's, the remote diff is empty (and sees a change
#     made there), the source lists the VM as migrated and refuses verbs on
#     it until `vm destroy', and both hosts' jobs report the same committed
#     migration;
#  2. the migrated VM behaves as its export imported beside it, operation by
#     operation, for a seeded sequence of 100;
#  3. 20000 pending interrupts, a few more arriving while they migrate: the
#     switchover carries under 5 % of the precopy bytes, nothing is lost;
#  4. exactly once under load, over a slow link (precopy runs 4 rounds):
#     what the source accepted was delivered there or is pending at the
#     destination, once; coalesced classes accumulate as they should;
#  5. refusals leave the VM running at the source and nothing at the
#     destination: a certificate that does not name the dialled host, a
#     source not on the allow-list, a name or UUID taken, a memory cap over
#     the destination's max_mem_cap, an impossible and a lossy verdict,
#     nothing listening, the gisad that holds the VM;
#  6. `job abort' during precopy (under load: still exactly once); a VM in
#     precopy or frozen for the switchover is not replaced or changed;
#  7. a restart of both daemons keeps the outcome;
#  8. a VM that came back is restored even if its old RETIRED record is found;
#  9. a commit whose durable write fails is discarded, also after a restart;
# 10. what a slot holds decides at the next start (slots made by hand,
#     with records one after another at a source);
# 11. a RETIRED record whose write fails (in the slot, then as JSON) is
#     retried after the job's end, the VM's name held meanwhile; one in
#     the slot alone stands until the next start;
# 12. destinations named by host name, resolved without blocking;
# 13. records that cannot be read, or too many, stop the start;
# 14. a frozen state or presumed IN_DOUBT record whose write fails;
# 15. a torn version 1 commit, and one over precopy deltas;
# 16. a committed slot that cannot be moved into place;
# 17. outcome_records never prunes an undecided migration.
# A slow link is a relay (mig-mt-tool delay) that holds every byte a few
# milliseconds each way: the round trip then exceeds a 1 ms downtime budget,
# so the precopy runs to its round limit, and deterministically so.
set -euo pipefail

: "${MIG_PROXY:?MIG_PROXY must name the mig-proxy binary}"
: "${MIGC:?MIGC must name the mig-client binary}"
# The two daemons, gisactl and JSON helpers (conf, start, stop, reload, g,
# jv, jis, jge, err_has, digest, listed).
. "$(dirname "$0")/lib-mig.sh"
SOFT=0
T_START=$SECONDS

# soft_fail MESSAGE: a wrong result after which the test can go on (the
# state it leaves is the expected one); the test fails at the end.
soft_fail() {
	echo "FAIL (going on): $*" >&2
	SOFT=$((SOFT + 1))
}

# injob HOST VM: `job status --json' of the latest migrate-in job of VM at
# HOST, once it has ended (over a slow link the peer's last message may
# still be on its way), in $T/injob and $T/out.
injob() {
	local id
	g 0 "$1" --json job list
	[ "$(jv "jobs.?vm=$2.?operation=migrate-in.#")" -ge 1 ] ||
		fail "no migrate-in job of \`$2' at $1:
$(head -c 3000 "$T/out")"
	id=$(jv "jobs.?vm=$2.?operation=migrate-in.-1.id")
	job_ended "$1" "$id"
	cp "$T/out" "$T/injob"
}

# A slow link to b: a relay that holds every byte 2 ms each way (mig-mt-tool
# delay), so a round trip takes over 4 ms and a migration with a budget of
# 1 ms runs its precopy to the round limit.
slow_link() {
	rm -f "$T/delay.port"
	"$TOOL" delay "$T/delay.port" "${PORT[b]}" 2 &
	BGPIDS+=("$!")
	for _ in $(seq 1 250); do
		[ -s "$T/delay.port" ] && break
		sleep 0.02
	done
	[ -s "$T/delay.port" ] || fail "the delaying relay did not start"
	SLOW=tls://127.0.0.1:$(cat "$T/delay.port")
}

# io_hex PARM ISC [SCHNR]: a big-endian 72-byte I/O record in hex.
io_hex() {
	printf '%016x%04x%04x%08x%08x%0104d' "${3:-1}" 1 "${3:-1}" "$1" $(($2 << 27)) 0
}

# ---- set-up ---------------------------------------------------------------------

make_certs
conf a
conf b
start a
start b
URI=tls://127.0.0.1:${PORT[b]}

# ---- 1. seeded random VMs -----------------------------------------------------------

# migrate_random SEED PROFILE CAPS NAME [--name NEW] [migrate options]
migrate_random() {
	local seed=$1 prof=$2 caps=$3 name=$4 dname=$4 want summary pre uuid comp=none
	shift 4
	local -a opt=("$@")
	local i
	for ((i = 0; i < ${#opt[@]}; i++)); do
		case ${opt[$i]} in
		--name) dname=${opt[$((i + 1))]} ;;
		--compression) comp=${opt[$((i + 1))]} ;;
		esac
	done
	[ "$comp" = zstd ] && comp=zstd:1
	"$TOOL" randsnap "$seed" "$prof" "$caps" "$T/rand-$seed.gsnap" >"$T/gen" ||
		fail "randsnap $seed failed"
	want=$(head -n 1 "$T/gen")
	summary=$(tail -n 1 "$T/gen")
	g 0 a snapshot import "$name" "$T/rand-$seed.gsnap"
	pre=$(digest a "$name")
	[ "$pre" = "$want" ] || fail "seed $seed: imported digest $pre, the file's $want"
	# An export before migrating (case 2 uses seed 0's).
	g 0 a snapshot export "$name" "$T/pre-$name.gsnap"
	g 0 - snapshot digest "$T/pre-$name.gsnap"
	[ "$(cat "$T/out")" = "$pre" ] || fail "seed $seed: the export's digest differs"

	g 0 a --json migrate "$name" "$URI" "$@"
	cp "$T/out" "$T/mig-$name.json"
	jis type completed
	# The job, as `job status' shows it afterwards.
	g 0 a --json job status "$(jv id)"
	cp "$T/out" "$T/mig-$name.json"
	jis type completed
	jis operation migrate-out
	jis migration.phase committed
	jge migration.rounds 1
	jge migration.precopy_bytes 1
	jis migration.digests_match true
	jis migration.source_digest "$pre"
	jis migration.dest_digest "$pre"
	jis migration.remote_vm "$dname"
	jis migration.compression "$comp"
	jis migration.verdict exact
	[ "$(digest b "$dname")" = "$pre" ] || fail "seed $seed: the destination's digest differs"

	# The destination's job reports the same migration.
	injob b "$dname"
	jis type completed "$T/injob"
	jis migration.phase committed "$T/injob"
	jge migration.rounds 1 "$T/injob"
	jge migration.precopy_bytes 1 "$T/injob"
	jis migration.digests_match true "$T/injob"
	jis migration.dest_digest "$pre" "$T/injob"
	for k in rounds precopy_bytes switchover_bytes round_bytes source_digest verdict; do
		jis "migration.$k" "$(jv "migration.$k" "$T/mig-$name.json")" "$T/injob"
	done
	jis migration.migration_id "$(jv migration.migration_id "$T/mig-$name.json")" "$T/injob"

	# The remote diff through the source's daemon: equal.
	g 0 a diff "$T/rand-$seed.gsnap" "$URI/$dname"
	[ ! -s "$T/out" ] || fail "seed $seed: remote diff printed differences"

	g 0 - --json snapshot info "$T/rand-$seed.gsnap"
	uuid=$(jv vm_uuid)
	# The source lists it as migrated and refuses verbs on it.
	[ "$(listed a "$name")" = migrated ] || fail "seed $seed: \`$name' not listed as migrated"
	jis "vms.?name=$name.0.migrated_to" "$URI"
	jis "vms.?name=$name.0.uuid" "$uuid"
	# It has no configuration here any more (GISACTL-JSON.md, `vm list').
	jis "vms.?name=$name.0.profile" null
	jis "vms.?name=$name.0.caps" null
	jis "vms.?name=$name.0.vcpus" null
	[ "$(listed b "$dname")" = none ] || fail "seed $seed: \`$dname' not active at the destination"
	g 2 a --json irq interrupt "$name" 0xffff2401 0x10
	jis error.code ENOENT
	[[ "$(jv error.message)" == *"$URI"* ]] || fail "the refusal does not name the destination"
	g 2 a vcpu deliver "$name" 0
	err_has "migrated to $URI"
	g 2 a snapshot export "$name" "$T/x.gsnap"
	g 0 a vm destroy "$name"
	[ -z "$(listed a "$name")" ] || fail "seed $seed: \`vm destroy' did not clear the listing"
	echo "ok 1: seed $seed ($prof caps $caps, $summary) -> \`$dname' ${*:-(defaults)}"
}

migrate_random 0 newest 3 rvm0
migrate_random 1 classic 3 rvm1 --compression zstd
migrate_random 2 newest 1 rvm2 --name moved2
migrate_random 3 classic 1 rvm3 --compression zstd:5
migrate_random 5 newest 3 rvm5 --compression zstd --name moved5
migrate_random 6 classic 3 rvm6 --downtime 5
# Protocol version 2 between these two: every final delta came from the
# VM's change tracking and went to the destination's live staging VM.
tracked=$(grep -c "frozen, tracked final delta" "$T/a/log" || true)
[ "$tracked" -ge 6 ] || fail "$tracked tracked switchovers in 6 migrations of version 2"
# These VMs are small: the destination hashed each beside its commit's
# write and answered with the digest (no MigDigest; the source compared
# it, digests_match above), never "computed next".
early=$(grep -c "arrived from .* and is active: digest [0-9a-f]\{64\}$" "$T/b/log" || true)
[ "$early" -ge 6 ] || fail "$early of 6 small VMs' digests came with the outcome"
! grep -q "and is active: digest computed next" "$T/b/log" ||
	fail "a small VM's digest was made after the answer"
# A peer pinned to version 1 (a rolling upgrade), destination then source:
# the version 1 switchover (whole images, digests before the commit), the
# same outcome.
conf b migration_max_version=1
reload b
migrate_random 7 newest 3 rvm7
grep -q "speaks 1\.\.3, purpose MIGRATE; version 1$" "$T/b/log" ||
	fail "the destination pinned to version 1 did not agree on it"
conf b
reload b
conf a migration_max_version=1
reload a
migrate_random 8 classic 3 rvm8
grep -q "speaks 1\.\.1, purpose MIGRATE; version 1$" "$T/b/log" ||
	fail "the source pinned to version 1 did not offer 1..1"
conf a
reload a
[ "$(grep -c "frozen, tracked final delta" "$T/a/log")" = "$tracked" ] ||
	fail "a tracked switchover under version 1"
[ "$(grep -c "frozen, final delta of" "$T/a/log")" -ge 2 ] ||
	fail "no version 1 switchover with a peer pinned to version 1"
echo "ok 1: version 2 switchovers are tracked; a peer pinned to version 1 gets version 1's"
[ "$(listed a rvm0)" = "" ] || fail "rvm0 still listed at the source"
# The remote diff sees a change made at the destination, and a VM that is not there.
g 0 b irq inject moved2 --hex "$(io_hex 0x4242 5)"
g 1 a diff "$T/rand-2.gsnap" "$URI/moved2"
grep -q "^lists" "$T/out" || fail "the remote diff does not show the new interrupt:
$(head -c 2000 "$T/out")"
g 2 a diff "$T/rand-2.gsnap" "$URI/nowhere"
err_has "no VM named"
echo "ok 1: the remote diff shows a change at the destination, and refuses a VM not there"

# ---- 2. behaviour after the migration ---------------------------------------------

# The export taken before the migration, imported beside the migrated VM.
g 0 b snapshot import twin "$T/pre-rvm0.gsnap"
[ "$(digest b twin)" = "$(digest b rvm0)" ] || fail "twin and migrated VM differ"
RNG=20260101
rnd() {
	RNG=$(((RNG * 1103515245 + 12345) & 0x7fffffff))
	R=$(((RNG >> 8) % $1))
}
# op_gen: OP, a gisactl command line with @ for the VM.
op_gen() {
	local v
	rnd 5
	v=$R
	rnd 20
	case $R in
	0)
		rnd 5
		OP=(irq interrupt @ 0xffff2401 "$(((R + 1) * 8 + R % 3))")
		;;
	1)
		rnd 1000
		OP=(irq interrupt @ 0xffff2603 "$R" "$((R * 7))")
		;;
	2)
		rnd 64
		OP=(irq interrupt @ 0xfffe1000 0x10000000 "$((1 << R))")
		;;
	3)
		rnd 8
		OP=(irq inject @ --hex "$(io_hex $((RNG & 0xffff)) "$R" $((RNG % 3)))")
		;;
	4 | 5 | 6) OP=(vcpu deliver @ "$v") ;;
	7) OP=(vcpu tpi @ "$v") ;;
	8)
		rnd 3
		OP=(vcpu tsch @ "$v" --gpr1 $((0x10000 | R)))
		;;
	9)
		rnd 7
		OP=(route trigger @ "$R")
		;;
	10)
		rnd 5
		OP=(airq inject @ "$R")
		;;
	11)
		rnd 8
		if [ $((RNG & 1)) = 1 ]; then
			OP=(gisa hw-airq @ "$R" --in-sie)
		else
			OP=(gisa hw-airq @ "$R")
		fi
		;;
	12) OP=(gisa timer-fire @) ;;
	13) OP=(vcpu wait @ "$v") ;;
	14) OP=(vcpu run @ "$v") ;;
	15)
		local runs=(running idle stopped)
		rnd 3
		OP=(vcpu set @ "$v" --psw-mask 0x0304000000000000 --cr0 0x200
			--cr6 "$((((RNG >> 3) & 0xff) << 24))" --cr14 0x10000000 --run "${runs[$R]}")
		;;
	16)
		rnd 3
		OP=(irq clear-io @ $((0x10000 | R)))
		;;
	17)
		rnd 8
		if [ $((RNG & 1)) = 1 ]; then OP=(ais set @ "$R" all); else OP=(ais set @ "$R" single); fi
		;;
	18)
		local gpas=(0x10000 0x20000 0x48000 0x12000)
		rnd 4
		OP=(mem write @ "${gpas[$R]}" --data 00)
		;;
	19) OP=(irq get @) ;;
	esac
}
# run_op H VM: the op on VM, its exit status, stdout and stderr with the VM's name as @.
run_op() {
	local rc=0
	"$GISACTL" --socket "$T/$1/control" "${OP[@]/#@/$2}" >"$T/op.out" 2>"$T/op.err" || rc=$?
	echo "exit $rc"
	cat "$T/op.out" "$T/op.err"
}
okops=0
for step in $(seq 1 100); do
	op_gen
	a_out=$(run_op b rvm0 | sed "s/rvm0/@/g")
	[[ "$a_out" == "exit 0"* ]] && okops=$((okops + 1))
	b_out=$(run_op b twin | sed "s/twin/@/g")
	[ "$a_out" = "$b_out" ] || fail "step $step (${OP[*]}): the migrated VM answered
$a_out
its twin
$b_out"
	[ "$(digest b rvm0)" = "$(digest b twin)" ] ||
		fail "step $step (${OP[*]}): the digests of the migrated VM and its twin differ"
done
g 0 b vm destroy twin
echo "ok 2: the migrated VM and its export behave alike for 100 seeded operations" \
	"($okops succeeded, the others failed alike)"

# ---- 3. a small switchover --------------------------------------------------------

"$TOOL" iorecs 20000 0x100000 "$T/io20k.bin"
g 0 a vm create big --profile newest --caps gisa --vcpus 2
g 0 a irq inject big "$T/io20k.bin"
g 0 a --json vm info big
jis list_len '[2500,2500,2500,2500,2500,2500,2500,2500,0,0]'
# A trickle of new interrupts while it migrates (at most 150: under 1 %).
rm -f "$T/trickle.stop" "$T/trickle.ok" "$T/trickle.no"
(
	n=0
	while [ ! -e "$T/trickle.stop" ] && [ $n -lt 150 ]; do
		p=$((0x200000 + n))
		if "$GISACTL" --socket "$T/a/control" irq inject big --hex "$(io_hex $p $((n % 8)))" \
			>/dev/null 2>"$T/trickle.err"; then
			echo "$p" >>"$T/trickle.ok"
		else
			echo "$p $(cat "$T/trickle.err")" >>"$T/trickle.no"
		fi
		n=$((n + 1))
		sleep 0.005
	done
) &
TRICKLE=$!
BGPIDS+=("$TRICKLE")
sleep 0.1
g 0 a --json migrate big "$URI" --downtime 20
touch "$T/trickle.stop"
wait "$TRICKLE"
cp "$T/out" "$T/mig-big.json"
jis migration.phase committed
jis migration.digests_match true
# 20000 interrupts: too large to hash beside the commit; MigDigest after.
grep -q "VM \`big' arrived from .* and is active: digest computed next$" "$T/b/log" ||
	fail "big's digest was not made after the answer"
pre=$(jv migration.precopy_bytes)
sw=$(jv migration.switchover_bytes)
[ "$pre" -gt 0 ] && [ $((sw * 20)) -lt "$pre" ] ||
	fail "switchover $sw bytes is not under 5 % of precopy $pre bytes"
# Every injection gisactl saw accepted is at the destination; the others were refused
# as migrating (frozen) or migrated (retired).
acc=$(wc -l <"$T/trickle.ok" 2>/dev/null || echo 0)
if [ -s "$T/trickle.no" ]; then
	grep -Ev "VM is migrating|migrated to $URI" "$T/trickle.no" &&
		fail "an injection during the migration failed otherwise"
fi
g 0 b --json vm info big
sum=0
IFS=, read -ra lens <<<"$(jv list_len | tr -d "[]")"
for x in "${lens[@]}"; do
	sum=$((sum + x))
done
[ "$sum" = $((20000 + acc)) ] ||
	fail "the destination holds $(jv list_len), expected $((20000 + acc)) interrupts"
[ "$(digest b big)" = "$(jv migration.source_digest "$T/mig-big.json")" ] ||
	fail "the destination's digest is not the frozen source's"
echo "ok 3: 20000 interrupts, $acc more during the migration: switchover $sw of $pre bytes" \
	"($(jv migration.rounds "$T/mig-big.json") rounds)"

# ---- 4. exactly once under load ---------------------------------------------------

g 0 a vm create load --profile newest --caps gisa --vcpus 2
rm -f "$T/load.stop"
"$TOOL" load "$T/a/control" load 4 "$T/load.log" "$T/load.stop" 400 >"$T/load.out" &
LOAD=$!
BGPIDS+=("$LOAD")
for _ in $(seq 1 500); do
	[ -e "$T/load.log.ready" ] && break
	sleep 0.02
done
[ -e "$T/load.log.ready" ] || fail "the load generator did not get ready"
slow_link
rc=0
"$GISACTL" --socket "$T/a/control" --json migrate load "$SLOW" --downtime 1 --max-rounds 4 \
	>"$T/mig-load.json" 2>"$T/err" || rc=$?
[ $rc -eq 0 ] || touch "$T/load.stop"
wait "$LOAD" || fail "the load generator failed: $(cat "$T/load.out")"
[ $rc -eq 0 ] || fail "migrate under load exited $rc: $(cat "$T/err")"
jis migration.phase committed "$T/mig-load.json"
jis migration.digests_match true "$T/mig-load.json"
# At least two rounds under load (precopy stops early once more rounds
# would not shorten the switchover), at most the limit.
rounds=$(jv migration.rounds "$T/mig-load.json")
[ "$rounds" -ge 2 ] && [ "$rounds" -le 4 ] ||
	fail "migration under load ran $rounds precopy rounds, expected 2 to 4"
grep -qx G <<<"$(tail -n 1 "$T/load.log")" || fail "the load never saw the VM retired"
grep -q '^ops=' "$T/load.out" || fail "load: $(cat "$T/load.out")"
g 0 b snapshot export load "$T/load-dest.gsnap"
"$TOOL" check "$T/load-dest.gsnap" "$T/load.log" >"$T/check.out" ||
	fail "exactly once: $(cat "$T/check.out")"
echo "ok 4: exactly once under load, 4 rounds: $(head -n 1 "$T/load.out"); $(cat "$T/check.out")"
sed -n "s/^first refusal: /     (refused while frozen: /p" "$T/load.out" | sed "s/\$/)/"

# ---- 5. refusals --------------------------------------------------------------------

# nothing_kept_at_a JOB_JSON: the failed job names its migration id (a
# small VM's exists from the dial, a large one's from MigBegin) and that
# migration's PRECOPY record and slot (a small VM's are written from the
# dial on) are gone at the source.
nothing_kept_at_a() {
	local id
	id=$(jv migration.migration_id "$1")
	[[ "$id" =~ ^[0-9a-f]{32}$ ]] && [ "$id" != "$(printf '0%.0s' {1..32})" ] ||
		fail "the failed job names no migration id: \`$id'"
	! compgen -G "$T/a/state/migrations/$id.*" >/dev/null ||
		fail "migration $id left its record or slot at a: $(ls "$T/a/state/migrations")"
}

# refused VM MESSAGE [migrate options]: the migration fails naming MESSAGE;
# the VM runs here unchanged, nothing of it at the destination.
refused() {
	local vm=$1 msg=$2 d
	shift 2
	d=$(digest a "$vm")
	g 1 a --json migrate "$vm" "$URI" "$@"
	cp "$T/out" "$T/refused.json"
	jis type failed
	jis migration.phase resumed
	[[ "$(jv error_message)" == *"$msg"* ]] || fail "the error does not say \`$msg': $(jv error_message)"
	nothing_kept_at_a "$T/refused.json"
	[ "$(listed a "$vm")" = none ] || fail "\`$vm' is not active at the source after a refusal"
	[ "$(digest a "$vm")" = "$d" ] || fail "\`$vm' changed"
	# It runs: takes a service signal (vcpu 0 of these VMs takes it at once).
	g 0 a irq interrupt "$vm" 0xffff2401 0x10
	g 0 a --json vcpu deliver "$vm" 0
	jis kind ext
	jis ext_param 0x10
}
# nothing_at_b NAME
nothing_at_b() {
	[ -z "$(listed b "$1")" ] || fail "\`$1' exists at the destination after a refusal"
}

g 0 a vm create vic --profile newest --caps gisa,ais --vcpus 1 --memslot 0:0:0x100000
g 0 a vcpu set vic 0 --psw-mask 0x0100000000000000 --cr0 0x200
g 0 a irq interrupt vic 0xffff2401 0x10

# A destination certificate that does not name the dialled host (host-b
# names only host-b), although the source's allow-list admits it.
conf a tls_allow="host-a, host-b"
reload a
conf b tls_cert="$C/host-b.crt" tls_key="$C/host-b.key"
reload b
n_b=$(grep -c "migrate-in" "$T/b/log" || true)
refused vic "server certificate names \`host-b', not the dialled \`127.0.0.1'"
nothing_at_b vic
[ "$(grep -c "migrate-in" "$T/b/log" || true)" = "$n_b" ] || fail "the destination started a migration"
echo "ok 5: a certificate that does not name the dialled host: $(jv error_message "$T/refused.json")"

# The source's identity is not on the destination's allow-list.
conf a
reload a
conf b tls_allow=host-b
reload b
refused vic "the peer refused our certificate"
nothing_at_b vic
grep -q "certificate of \`host-a' (sha256:[0-9a-f]*) is not on the allow-list" "$T/b/log" ||
	fail "the destination did not log why it refused"
echo "ok 5: a source not on the allow-list: $(jv error_message "$T/refused.json")"
conf b
reload b

# The name is taken at the destination: -EEXIST, unless --name.
g 0 b vm create vic --caps gisa --vcpus 3
dvic=$(digest b vic)
refused vic "VM ?vic? already exists here"
[ "$(jv error "$T/refused.json")" = EEXIST ] || fail "a taken name is not EEXIST"
[ "$(digest b vic)" = "$dvic" ] || fail "the destination's \`vic' changed"
g 0 b vm destroy vic
echo "ok 5: a name taken at the destination (-EEXIST)"

# The same with a round 0 far larger than the sockets' buffers: it left
# with MigBegin, so it is still arriving when the destination refuses;
# the refusal must reach the source all the same (a destination that
# closed with it unread would reset the connection under its MigError).
"$TOOL" iorecs 100000 0x200000 "$T/io100k.bin"
g 0 a vm create vicbig --profile newest --caps gisa,ais --vcpus 1
g 0 a vcpu set vicbig 0 --psw-mask 0x0100000000000000 --cr0 0x200
g 0 a irq inject vicbig "$T/io100k.bin"
g 0 b vm create vicbig --caps gisa --vcpus 3
for i in 1 2 3; do
	refused vicbig "VM ?vicbig? already exists here"
	jis error EEXIST "$T/refused.json"
done
g 0 b vm destroy vicbig
g 0 a vm destroy vicbig
echo "ok 5: a name taken at the destination, refused while a large round 0 is in flight (-EEXIST)"

# A UUID taken at the destination (under another name): -EEXIST too; with
# --name the VM arrives there with a fresh UUID.
U=6d696700-6d74-4000-8000-000000000001
g 0 a vm create dupu --uuid $U --caps gisa --vcpus 1
g 0 a vcpu set dupu 0 --psw-mask 0x0100000000000000 --cr0 0x200
g 0 b vm create other --uuid $U --caps gisa --vcpus 3
refused dupu "a VM with the UUID of ?dupu? already exists here"
jis error EEXIST "$T/refused.json"
nothing_at_b dupu
msg=$(jv error_message "$T/refused.json")
[[ "$msg" == *"give the migration a new name (-17)" ]] ||
	soft_fail "the destination's reason is cut short: \`$msg'"
g 0 a --json migrate dupu "$URI" --name dupu2
jis type completed
jis migration.remote_vm dupu2
g 0 b --json vm info dupu2
[ "$(jv uuid)" != "$U" ] || fail "dupu2 took the UUID of \`other'"
g 0 b --json vm info other
jis uuid "$U"
echo "ok 5: a UUID taken at the destination (-EEXIST), then migrated under a new name with a fresh UUID"

# A reload whose certificate file (the same name) no longer parses is
# refused whole: the previous contexts stay, the client's too (the source
# still migrates), and so do the other settings of the file.
cp "$C/host-a.crt" "$T/a.crt"
conf a tls_cert="$T/a.crt"
reload a
g 0 a vm create hup --caps gisa --vcpus 1
echo "no certificate" >"$T/a.crt"
conf a tls_cert="$T/a.crt" max_vms=1
reload a kept
g 0 a --json migrate hup "$URI"
jis type completed
grep -q "SIGHUP: migration TLS: .*: configuration kept$" "$T/a/log" ||
	fail "the refused reload was not logged"
if grep -q "config: max_vms = 1" "$T/a/log"; then fail "the refused reload applied max_vms"; fi
g 0 a vm create hup2 --caps gisa --vcpus 1
g 0 a vm destroy hup2
g 0 b vm destroy hup
conf a
reload a
echo "ok 5: a reload with a broken certificate is refused whole; the client context stays"

# A VM whose memory cap is over the destination's max_mem_cap: refused
# with round 0, during precopy (the source never froze it), naming the
# value and the limit; it migrates once the destination allows it.
g 0 a vm create bigmem --caps gisa --vcpus 1 --mem-cap 134217728
g 0 a vcpu set bigmem 0 --psw-mask 0x0100000000000000 --cr0 0x200
conf b max_mem_cap=67108864
reload b
refused bigmem "mem_cap 0x8000000 (134217728 bytes) is over max_mem_cap = 67108864 bytes"
jis error EINVAL "$T/refused.json"
nothing_at_b bigmem
msg=$(jv error_message "$T/refused.json")
conf b
reload b
g 0 a --json migrate bigmem "$URI"
jis type completed
g 0 b --json vm info bigmem
jis mem_cap 134217728
g 0 b vm destroy bigmem
g 0 a vm destroy bigmem
echo "ok 5: a memory cap over the destination's max_mem_cap ($msg), then migrated"

# An impossible verdict: the destination offers no AIS; --allow-lossy does not help.
conf b ais=no
reload b
refused vic "the guest has the AIS facility (72) and the destination offers none"
refused vic "the guest has the AIS facility (72) and the destination offers none" --allow-lossy
nothing_at_b vic
echo "ok 5: impossible (no AIS at the destination): $(jv error_message "$T/refused.json")"

# A lossy verdict: a NEWEST VM with adapter maps to a CLASSIC-only destination.
conf b profiles=classic
reload b
g 0 a adapter register vic 0 --isc 3
g 0 a adapter modify vic 0 map 0x10000
refused vic "retry with --allow-lossy"
jis migration.verdict null "$T/refused.json" 2>/dev/null || true
[[ "$(jv error_message "$T/refused.json")" == *maps-dropped* ]] ||
	fail "the lossy refusal does not list the change"
nothing_at_b vic
msg=$(jv error_message "$T/refused.json")
d=$(digest a vic)
g 0 a --json migrate vic "$URI" --allow-lossy
jis type completed
jis migration.verdict lossy
jis migration.digests_match true
g 0 b --json vm info vic
jis profile classic
echo "ok 5: lossy without --allow-lossy ($msg), then migrated with it"
conf b
reload b

# Nothing listens.
g 0 a vm create alone --caps gisa --vcpus 1
g 0 a vcpu set alone 0 --psw-mask 0x0100000000000000 --cr0 0x200
d=$(digest a alone)
g 1 a --json migrate alone tls://127.0.0.1:1
cp "$T/out" "$T/alone.json"
jis type failed
jis migration.phase resumed
[ "$(listed a alone)" = none ] && [ "$(digest a alone)" = "$d" ] ||
	fail "the VM is not running unchanged after a failed dial"
nothing_kept_at_a "$T/alone.json"
msg=$(jv error_message "$T/alone.json")
[[ "$msg" == *"onnection refused"* ]] ||
	soft_fail "a dial to a port where nothing listens is reported as \`$msg' ($(jv error "$T/alone.json")), not as a refused connection"
echo "ok 5: nothing listening: $msg"

# To the gisad that holds it, even under another name: -ELOOP, the VM
# keeps running unchanged and no second one appears.
g 1 a --json migrate alone "tls://127.0.0.1:${PORT[a]}" --name alone2
cp "$T/out" "$T/self.json"
jis type failed
jis migration.phase resumed
jis error ELOOP
[ "$(listed a alone)" = none ] && [ "$(digest a alone)" = "$d" ] ||
	fail "the VM is not running unchanged after a migration to itself"
g 2 a vm info alone2
echo "ok 5: to itself: $(jv error_message "$T/self.json")"

# A very slow link (300 ms each way): a precopy round lasts long enough to
# act on the VM while it is copied, and the switchover to probe it frozen.
rm -f "$T/vslow.port"
"$TOOL" delay "$T/vslow.port" "${PORT[b]}" 300 &
BGPIDS+=("$!")
for _ in $(seq 1 250); do
	[ -s "$T/vslow.port" ] && break
	sleep 0.02
done
[ -s "$T/vslow.port" ] || fail "the delaying relay did not start"
VSLOW=tls://127.0.0.1:$(cat "$T/vslow.port")

# held_link NAME [RECORD]: a mig-proxy to b that holds the RECORD-th TLS
# record b sends (default 10: handshake 1-7, MigHello, MigReady, then the
# ack of round 0; with one round, 11 is the outcome), so the migration
# waits there until it is aborted or `release NAME'; HELD is its URI.
held_link() {
	rm -f "$T/$1.px" "$T/$1.ctl"
	"$MIG_PROXY" -c "$T/$1.ctl" "${PORT[b]}" "pause:down:r${2:-10}" >"$T/$1.px" </dev/null &
	BGPIDS+=("$!")
	for _ in $(seq 1 250); do
		[ -s "$T/$1.px" ] && break
		sleep 0.02
	done
	[ -s "$T/$1.px" ] || fail "the holding proxy did not start"
	HELD=tls://127.0.0.1:$(head -n 1 "$T/$1.px")
}

release() {
	echo go >"$T/$1.ctl.new"
	mv "$T/$1.ctl.new" "$T/$1.ctl"
}

# ---- 6. job abort during precopy ---------------------------------------------------

g 0 a vm create slow --profile newest --caps gisa --vcpus 2
rm -f "$T/slow.stop"
"$TOOL" load "$T/a/control" slow 6 "$T/slow.log" "$T/slow.stop" 400 >"$T/slow.out" &
LOAD=$!
BGPIDS+=("$LOAD")
for _ in $(seq 1 500); do
	[ -e "$T/slow.log.ready" ] && break
	sleep 0.02
done
[ -e "$T/slow.log.ready" ] || fail "the load generator did not get ready"
held_link slow
g 0 a --json migrate slow "$HELD" --detach --downtime 1 --max-rounds 1000
job=$(jv id)
for _ in $(seq 1 500); do
	g 0 a --json job status "$job"
	[ "$(jv migration.phase)" = precopy ] && break
	case $(jv type) in bounded | unbounded | none) ;; *) break ;; esac
	sleep 0.02
done
[ "$(jv migration.phase)" = precopy ] || fail "the migration is not in precopy: $(jv migration.phase)"
rounds=$(jv migration.rounds)
# While it copies, the VM runs (the load is served) but is not replaced or removed.
[ "$(listed a slow)" = outgoing ] || fail "\`slow' is not listed as outgoing during precopy"
jis "vms.?name=slow.0.migrated_to" "$HELD"
g 2 a --json vm destroy slow
jis error.code EAGAIN
jis error.migration outgoing
g 2 a --json migrate slow "$URI"
jis error.code EAGAIN
g 0 a job abort "$job"
job_ended a "$job"
touch "$T/slow.stop"
wait "$LOAD" || fail "the load generator failed: $(cat "$T/slow.out")"
jis type cancelled
jis migration.phase resumed
jis error ECANCELED
[ "$(listed a slow)" = none ] || fail "\`slow' is not active at the source after the abort"
nothing_at_b slow
injob b slow
case $(jv type "$T/injob") in failed | cancelled) ;;
*) fail "the destination's job is $(jv type "$T/injob")" ;;
esac
jis migration.phase discarded "$T/injob"
# Nothing was lost or doubled at the source either.
g 0 a snapshot export slow "$T/slow-src.gsnap"
"$TOOL" check "$T/slow-src.gsnap" "$T/slow.log" >"$T/check.out" ||
	fail "exactly once after the abort: $(cat "$T/check.out")"
g 0 a irq interrupt slow 0xffff2401 0x10
g 2 a --json job abort "$job"
jis error.code EALREADY
echo "ok 6: aborted after $rounds rounds: cancelled, running at the source," \
	"discarded at the destination; $(cat "$T/check.out")"

# Replacing a VM while it is copied is refused too (CONTROL-PROTOCOL.md: an
# outgoing VM refuses vm_destroy, snapshot_import, checkpoint_restore and
# another migrate).  Over the slow link the precopy runs without a load.
g 0 a vm create rep --profile newest --caps gisa --vcpus 2
g 0 a checkpoint create rep before
g 0 a irq interrupt rep 0xffff2401 0x10
drep=$(digest a rep)
held_link rep
g 0 a --json migrate rep "$HELD" --detach --downtime 1 --max-rounds 1000
job=$(jv id)
for _ in $(seq 1 500); do
	g 0 a --json job status "$job"
	[ "$(jv migration.phase)" = precopy ] && break
	case $(jv type) in bounded | unbounded | none) ;; *) break ;; esac
	sleep 0.02
done
[ "$(jv migration.phase)" = precopy ] || fail "the migration of \`rep' is not in precopy"
replaced=0
for verb in "checkpoint restore rep before" "snapshot import rep $T/pre-rvm0.gsnap --replace"; do
	[ "$(listed a rep)" = outgoing ] || fail "\`rep' is not outgoing before \`$verb'"
	rc=0
	# shellcheck disable=SC2086 # the words of $verb
	"$GISACTL" --socket "$T/a/control" --json $verb >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc -eq 0 ]; then
		soft_fail "\`$verb' succeeded on a VM in precopy (expected the migrating error)"
		replaced=1
	else
		[ $rc -eq 2 ] || fail "\`$verb' exited $rc"
		jis error.code EAGAIN
		jis error.migration outgoing
	fi
done
# (A replaced VM may already have ended the migration: then there is nothing to abort.)
[ $replaced = 1 ] || g 0 a job abort "$job"
[ $replaced = 0 ] || "$GISACTL" --socket "$T/a/control" job abort "$job" >/dev/null 2>&1 || true
job_ended a "$job"
[ $replaced = 1 ] || jis type cancelled
[ "$(listed a rep)" = none ] || fail "\`rep' is not active at the source after the abort"
[ $replaced = 1 ] || [ "$(digest a rep)" = "$drep" ] || fail "\`rep' changed"
nothing_at_b rep
if [ $replaced = 0 ]; then
	echo "ok 6: a VM in precopy is not replaced (checkpoint restore, snapshot import --replace)"
else
	echo "not ok 6: a VM in precopy was replaced (see below)"
fi

# The switchover: with its outcome held on the way back, the VM stays
# frozen while it is probed: reads work, every change is refused with the
# migrating error (state frozen), replacements included.
g 0 a vm create frz --profile newest --caps gisa --vcpus 2
g 0 a vcpu set frz 0 --psw-mask 0x0100000000000000 --cr0 0x200
g 0 a checkpoint create frz before
g 0 a irq interrupt frz 0xffff2401 0x10
g 0 a snapshot export frz "$T/frz.gsnap"
dfrz=$(digest a frz)
held_link frz 11
g 0 a --json migrate frz "$HELD" --detach --downtime 1 --max-rounds 1
job=$(jv id)
for _ in $(seq 1 1500); do
	g 0 a --json job status "$job"
	[ "$(jv migration.phase)" = switchover ] && break
	case $(jv type) in bounded | unbounded | none) ;; *) break ;; esac
	sleep 0.01
done
[ "$(jv migration.phase)" = switchover ] || fail "the switchover of \`frz' was not seen: $(jv migration.phase)"
[ "$(listed a frz)" = frozen ] || fail "\`frz' is not listed as frozen during its switchover"
jis "vms.?name=frz.0.migrated_to" "$HELD"
g 2 a --json irq interrupt frz 0xffff2401 0x18
jis error.code EAGAIN
jis error.migration frozen
g 2 a --json vcpu deliver frz 0
jis error.code EAGAIN
[ "$(digest a frz)" = "$dfrz" ] || fail "\`frz' cannot be read while frozen"
frozen_ok=1
for verb in "checkpoint restore frz before" "snapshot import frz $T/frz.gsnap --replace"; do
	rc=0
	# shellcheck disable=SC2086 # the words of $verb
	"$GISACTL" --socket "$T/a/control" --json $verb >"$T/out" 2>"$T/err" || rc=$?
	if [ $rc -eq 0 ]; then
		soft_fail "\`$verb' succeeded on a frozen VM (expected the migrating error)"
		frozen_ok=0
	else
		[ $rc -eq 2 ] || fail "\`$verb' exited $rc"
		jis error.code EAGAIN
		jis error.migration frozen
	fi
done
[ "$(listed a frz)" = frozen ] || fail "the switchover of \`frz' ended before the probes did"
release frz
job_ended a "$job"
jis type completed
jis migration.phase committed
jis migration.digests_match true
jis migration.source_digest "$dfrz"
[ "$(digest b frz)" = "$dfrz" ] || fail "\`frz' arrived with another digest"
[ "$(listed a frz)" = migrated ] || fail "\`frz' is not listed as migrated"
if [ $frozen_ok = 1 ]; then
	echo "ok 6: a frozen VM refuses every change (injection, delivery, restore, import)"
else
	echo "not ok 6: a frozen VM refuses injection and delivery, but was replaced (see below)"
fi

# ---- 7. restart -------------------------------------------------------------------

g 0 b --json vm list
nb=$(jv vms.#)
for v in big load vic; do
	[ "$(listed a "$v")" = migrated ] || fail "\`$v' not listed as migrated before the restart"
	eval "dig_$v=$(digest b "$v")"
done
stop a
stop b
start a
start b
declare -A TO=([big]=$URI [load]=$SLOW [vic]=$URI)
for v in big load vic; do
	[ "$(listed a "$v")" = migrated ] || fail "\`$v' not listed as migrated after the restart"
	jis "vms.?name=$v.0.migrated_to" "${TO[$v]}"
	g 2 a vm create "$v"
	err_has "migrated to ${TO[$v]}"
	g 2 a vm digest "$v"
	err_has "migrated to ${TO[$v]}"
	[ "$(listed b "$v")" = none ] || fail "\`$v' not restored active at the destination"
	eval "want=\$dig_$v"
	[ "$(digest b "$v")" = "$want" ] || fail "\`$v' restored with another digest"
done
g 0 b --json vm list
[ "$(jv vms.#)" = "$nb" ] || fail "the destination lists $(jv vms.#) VMs after the restart, $nb before"
[ "$(listed a slow)" = none ] || fail "\`slow' not restored active at the source"
echo "ok 7: after a restart the source lists big, load and vic as migrated, the destination runs them"

# ---- 8. back home, then a stale retired record -------------------------------------
# vic migrates back to a, whose activation ends its listing as migrated
# (its RETIRED record goes).  Had gisad stopped before that removal was
# durable, the record would be found again at the next start: the VM that
# came back must still be restored, not skipped as migrated away.
rr=$(python3 - "$T/a/state/migrations" <<'PY'
import glob, json, os, sys
for f in glob.glob(os.path.join(sys.argv[1], "*.json")):
    r = json.load(open(f))
    if r.get("state") == "retired" and r.get("vm") == "vic":
        print(f)
PY
)
[ -n "$rr" ] && [ -f "$rr" ] || fail "no RETIRED record of vic at a"
cp "$rr" "$T/vic-retired.json"
g 0 b --json migrate vic "tls://127.0.0.1:${PORT[a]}"
jis type completed
[ "$(listed a vic)" = none ] || fail "vic not active at a after coming back"
[ ! -e "$rr" ] || fail "vic's RETIRED record stays at a after it came back"
dvic=$(digest a vic)
# Its slot too (a removal that failed after the record was written): it
# goes at the start, the checkpoint of the VM that came back stays.
stop a
cp "$T/vic-retired.json" "$rr"
head -c 8192 /dev/zero >"${rr%.json}.stage"
start a
[ "$(listed a vic)" = none ] || fail "vic, back at a, is not restored when a stale RETIRED record is found"
[ "$(digest a vic)" = "$dvic" ] || fail "vic restored at a with another digest"
[ ! -e "$rr" ] || fail "the stale RETIRED record of vic stays"
[ ! -e "${rr%.json}.stage" ] || fail "the slot beside vic's stale RETIRED record stays"
echo "ok 8: a VM that came back is restored although its old RETIRED record (and slot) was found again"

# ---- 9. a destination's slot write that fails ----------------------------------
# b again, with mig-fsync-shim: an fdatasync of b's slot fails (what was
# written is in the slot, not known to be durable).  b's slot is reserved
# at MigBegin (its flush an fsync), round 0 is written into it (the first
# fdatasync, while round 0's acknowledgement travels) and the commit
# appends to it (the second: the VM is idle, one round).
#   N = 2, the commit: b must remove the slot before it answers DISCARDED,
#   or its next start would commit the VM the source resumed: active on
#   both hosts.
#   N = 1, round 0: b finds it out before the commit at the latest (the
#   switchover may have left) and discards.
dest_slot_fails() {
	local n=$1 what=$2 v=$3
	stop b
	MIG_SHIM_SLOT_FAIL=$n LD_PRELOAD=$MIG_FSYNC_SHIM \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start b
	g 0 a vm create "$v" --caps gisa --vcpus 1
	g 0 a vcpu set "$v" 0 --psw-mask 0x0100000000000000 --cr0 0x200
	d=$(digest a "$v")
	g 1 a --json migrate "$v" "tls://127.0.0.1:${PORT[b]}"
	cp "$T/out" "$T/$v.json"
	jis type failed
	jis migration.phase resumed
	[[ "$(jv error_message "$T/$v.json")" == *"fdatasync of"*".stage"*"Input/output error"* ]] ||
		fail "the failed $what is reported as \`$(jv error_message "$T/$v.json")'"
	if [ "$n" = 2 ]; then
		[ "$(jv migration.switchover_bytes "$T/$v.json")" -gt 0 ] ||
			fail "the flush that failed came before the switchover, not at the commit"
	else
		[[ "$(jv error_message "$T/$v.json")" == *"round 0 into the checkpoint"*"slot"* ]] ||
			fail "the failed write of round 0 is not named: $(jv error_message "$T/$v.json")"
	fi
	[ "$(listed a "$v")" = none ] && [ "$(digest a "$v")" = "$d" ] ||
		fail "$v is not running unchanged at a after a failed $what at b"
	[ -z "$(listed b "$v")" ] || fail "$v exists at b after a failed $what"
	! compgen -G "$T/b/state/migrations/*.stage" >/dev/null ||
		fail "a slot stays at b after a failed $what: $(ls "$T/b/state/migrations")"
	stop b
	start b
	[ -z "$(listed b "$v")" ] || fail "$v committed at b's next start after a failed $what"
	[ "$(listed a "$v")" = none ] || fail "$v is not active at a"
}
dest_slot_fails 1 "write of round 0" dur0
dest_slot_fails 2 commit dur
# The commit's flush failing, and then the slot's removal too
# (MIG_SHIM_UNLINK_FAIL): b cannot answer (the snapshot may be durable, so
# its next start decides from the slot) and the source stays in doubt.
# Until that start the name stays taken at b, so that no VM created there
# under it is overwritten when the start commits the migration.
stop b
MIG_SHIM_SLOT_FAIL=2 MIG_SHIM_UNLINK_FAIL=1 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start b
g 0 a vm create undec --caps gisa --vcpus 1
g 0 a irq interrupt undec 0xffff2401 0x30
du=$(digest a undec)
g 0 a --json migrate undec "tls://127.0.0.1:${PORT[b]}" --detach
job=$(jv id)
for _ in $(seq 1 250); do
	grep -q "incoming VM \`undec': undecided until gisad restarts and reads the staged \
checkpoint: the commit failed" "$T/b/log" && [ "$(listed a undec)" = in-doubt ] && break
	sleep 0.02
done
[ "$(listed a undec)" = in-doubt ] || fail "undec is \`$(listed a undec)' at a, not in doubt"
# b's job ends undecided, not discarded, and a's queries are told that
# b has not decided (not that b has no record: only an operator could
# decide then).
injob b undec
jis type failed
jis migration.phase undecided
[[ "$(jv error_message)" == "undecided until gisad restarts and reads the staged checkpoint: "* ]] ||
	fail "b's job does not say undec is undecided: $(jv error_message)"
for _ in $(seq 1 250); do
	grep -q "asked for an outcome: 1$" "$T/b/log" && break
	sleep 0.02
done
grep -q "asked for an outcome: 1$" "$T/b/log" ||
	fail "a's query about undec was not answered IN_PROGRESS: $(grep 'asked for an outcome' "$T/b/log")"
g 0 a --json job status "$job"
jis migration.phase in-doubt
[[ "$("$TOOL" json "$T/out" error_message 2>/dev/null)" != *"only an operator can decide"* ]] ||
	fail "a was told only an operator can decide undec"
g 2 b vm create undec
grep -q "VM .undec. migrating here from .* is undecided (see the log): the next start that \
can read its staged checkpoint decides" "$T/err" ||
	fail "vm create of undec at b not refused with why: $(cat "$T/err")"
# The source asks where it dialled: b comes back on the same port.
conf b migration_listen="127.0.0.1:${PORT[b]}"
stop b
start b
conf b
[ "$(digest b undec)" = "$du" ] || fail "b's start did not commit undec from its slot"
job_ended a "$job"
jis type completed
[ "$(listed a undec)" = migrated ] || fail "undec is \`$(listed a undec)' at a, not migrated"
g 0 b vm destroy undec
g 0 a vm destroy undec
echo "ok 9: a destination's commit, or round 0 into its slot, whose flush fails is discarded at both ends, also after a restart; one whose slot cannot be removed either holds the VM's name until the next start commits it"

# ---- 10. what a slot holds decides at the next start ------------------------------
# The staged snapshot's slot (<id>.stage) is zero-filled during precopy and
# written once, in place, in the downtime: the snapshot, then the record it
# stands for.  A crash can leave it holding nothing, part of that (a write
# cut short), or all of it followed by the padding; records and slots are
# made here by hand, with snapshots gisad exported.
g 0 a vm create other --caps gisa --vcpus 3
g 0 a snapshot export other "$T/other.gsnap" --stored
g 0 a snapshot export dur "$T/dur.gsnap" --stored
# slot HOST ID STATE VM SNAPSHOT HOW: at HOST, a record of state STATE for VM
# beside the slot of migration ID holding SNAPSHOT and the record the slot
# stands for (COMMITTED at b, IN_DOUBT at a) as HOW says -- whole, cut (the
# snapshot's second half missing), torn (16 bytes in its middle missing),
# norecord (the snapshot whole, its record missing) -- then padding.  The
# records are made from the one case 9 left at b.
slot() {
	python3 - "$@" <<'PY'
import glob, hashlib, json, os, struct, sys
home, rid, state, vm, snap, how = sys.argv[1:7]
src = [f for f in glob.glob(os.environ["T"] + "/b/state/migrations/*.json")
       if json.load(open(f)).get("vm") == "dur"]
assert src, "no record of dur at b"
r = json.load(open(src[0]))
r.update(id=rid, state=state, vm=vm, remote_vm=vm)
d = os.path.join(os.environ["T"], home, "state", "migrations")
os.makedirs(d, exist_ok=True)
json.dump(r, open(os.path.join(d, rid + ".json"), "w"))
r["state"] = "committed" if home == "b" else "in-doubt"
text = json.dumps(r).encode()
trailer = b"GISAMREC" + struct.pack(">I", len(text)) + hashlib.sha256(text).digest() + text
b = open(snap, "rb").read()
if how == "cut":
    b = b[:len(b) // 2]
elif how == "torn":
    b = b[:len(b) // 2] + bytes(16) + b[len(b) // 2 + 16:] + trailer
elif how == "whole":
    b += trailer
open(os.path.join(d, rid + ".stage"), "wb").write(b + bytes(8192))
PY
}
export T
stop b
slot b 10000000000000000000000000000001 staging cut "$T/dur.gsnap" cut
slot b 10000000000000000000000000000002 staging whole "$T/dur.gsnap" whole
slot b 10000000000000000000000000000005 staging norec "$T/dur.gsnap" norecord
cp "$T/dur.gsnap" "$T/b/state/migrations/10000000000000000000000000000004.stage"
# A commit whose migration still held a spare pair (its STAGING record in
# .spare-0.json, padded; its committed slot .spare-0.stage): the start
# gives them the migration's names before it reads the records, and
# commits.
slot b 100000000000000000000000000000f1 staging spared "$T/other.gsnap" whole
m=$T/b/state/migrations
mv "$m/100000000000000000000000000000f1.stage" "$m/.spare-0.stage"
python3 -c 'import sys; open(sys.argv[2], "w").write(open(sys.argv[1]).read().ljust(4095) + "\n")' \
	"$m/100000000000000000000000000000f1.json" "$m/.spare-0.json"
rm "$m/100000000000000000000000000000f1.json"
dother=$(digest a other)
# The same, gisad stopped between the two renames of that naming: the
# slot already <id>.stage, the record still in the spare.
g 0 a vm create thr --caps gisa --vcpus 2
g 0 a snapshot export thr "$T/thr.gsnap" --stored
dthr=$(digest a thr)
slot b 100000000000000000000000000000f2 staging spared2 "$T/thr.gsnap" whole
python3 -c 'import sys; open(sys.argv[2], "w").write(open(sys.argv[1]).read().ljust(4095) + "\n")' \
	"$m/100000000000000000000000000000f2.json" "$m/.spare-1.json"
rm "$m/100000000000000000000000000000f2.json"
start b
[ "$(listed b cut)" = "" ] || fail "a slot holding part of a snapshot was committed at b"
[ "$(listed b norec)" = "" ] || fail "a slot holding a snapshot without its record was committed at b"
[ "$(listed b whole)" = none ] || fail "a slot holding a whole snapshot was not committed at b"
[ "$(digest b whole)" = "$d" ] || fail "\`whole' restored at b with another digest"
cmp -s "$T/b/state/checkpoints/whole/current.gsnap" "$T/dur.gsnap" ||
	fail "the committed slot did not become the checkpoint, its padding trimmed"
jrec() { "$TOOL" json "$T/b/state/migrations/$1.json" state; }
[ "$(jrec 10000000000000000000000000000001)" = discarded ] || fail "the cut slot's record is not discarded"
[ "$(jrec 10000000000000000000000000000002)" = committed ] || fail "the whole slot's record is not committed"
[ "$(jrec 10000000000000000000000000000005)" = discarded ] ||
	fail "the record of the slot without its record is not discarded"
[ "$(listed b spared)" = none ] && [ "$(digest b spared)" = "$dother" ] ||
	fail "a committed slot still in the spares was not restored at b: $(listed b spared)"
[ "$(jrec 100000000000000000000000000000f1)" = committed ] ||
	fail "the record of the commit in the spares is not committed"
cmp -s "$T/b/state/checkpoints/spared/current.gsnap" "$T/other.gsnap" ||
	fail "the committed spare slot did not become the checkpoint"
[ "$(listed b spared2)" = none ] && [ "$(digest b spared2)" = "$dthr" ] ||
	fail "a commit named halfway out of a spare was not restored at b: $(listed b spared2)"
[ "$(jrec 100000000000000000000000000000f2)" = committed ] ||
	fail "the record of the commit named halfway is not committed"
[ "$(head -c 1 "$m/.spare-0.json" 2>/dev/null)" != "{" ] ||
	fail "the spare record still holds the committed migration: $(ls -lA "$m")"
! compgen -G "$T/b/state/migrations/*.stage" >/dev/null ||
	fail "slots stay at b after its start (one had no record): $(ls "$T/b/state/migrations")"
# At the source a PRECOPY record whose slot holds no complete snapshot
# means the final delta never left: the VM runs from its checkpoint.
stop a
slot a 10000000000000000000000000000003 precopy dur "$T/other.gsnap" torn
start a
[ "$(listed a dur)" = none ] && [ "$(digest a dur)" = "$d" ] ||
	fail "dur at a, beside a torn slot, is not running unchanged: $(listed a dur)"
! compgen -G "$T/a/state/migrations/10000000000000000000000000000003.*" >/dev/null ||
	fail "the torn slot's record stays at a: $(ls "$T/a/state/migrations")"
# A slot that holds what a source never writes there (here a COMMITTED
# record) cannot tell whether the final delta left: the VM is held, not
# restored, its name taken, and both files stay for a later start.
stop a
slot a 10000000000000000000000000000006 precopy other "$T/other.gsnap" whole
python3 - "$T/a/state/migrations/10000000000000000000000000000006.stage" <<'PY'
import hashlib, json, struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"GISAMREC")
n = struct.unpack(">I", b[i + 8:i + 12])[0]
r = json.loads(bytes(b[i + 44:i + 44 + n]))
r["state"] = "committed"
t = json.dumps(r).encode()
b[i:] = b"GISAMREC" + struct.pack(">I", len(t)) + hashlib.sha256(t).digest() + t + bytes(8192)
open(sys.argv[1], "wb").write(b)
PY
start a
grep -q "VM \`other' is not restored: its migration to .* is in doubt and its frozen snapshot cannot be read: .*holds a \`committed' record" "$T/a/log" ||
	fail "a: no log line that \`other' is held"
[ "$(listed a other)" = "" ] || fail "other, held at a, was restored: $(listed a other)"
g 2 a vm create other --caps gisa --vcpus 1
grep -q "in doubt when gisad stopped and could not be recovered" "$T/err" ||
	fail "vm create of the held name: $(cat "$T/err")"
[ -e "$T/a/state/migrations/10000000000000000000000000000006.stage" ] ||
	fail "the held VM's slot was removed"
# So does a slot whose first sector is neither zeros nor a snapshot's
# preamble (that sector is written whole or not at all).
g 0 a vm create garb --caps gisa --vcpus 1
stop a
slot a 10000000000000000000000000000007 precopy garb "$T/other.gsnap" whole
python3 - "$T/a/state/migrations/10000000000000000000000000000007.stage" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[:8] = b"NOTASNAP"
open(sys.argv[1], "wb").write(b)
PY
start a
grep -q "VM \`garb' is not restored: .*holds what gisad did not write there: not a gisa snapshot" "$T/a/log" ||
	fail "a: no log line that \`garb' is held"
[ "$(listed a garb)" = "" ] || fail "garb, held at a, was restored: $(listed a garb)"
# A version 2 source writes its IN_DOUBT record before the freeze
# (presumed) and the frozen state into the slot only once the final delta
# is on its way: a stop in between finds a slot without its record.  The
# final delta may have left, so the VM comes back in doubt -- from its
# last checkpoint, not from the slot -- and asks the destination (which
# has no record of it here: only an operator decides).
# presumed ID [VM_UUID]: a's record ID becomes a presumed IN_DOUBT one
# towards b, of the VM with that UUID (given as gisactl shows it).
presumed() {
	python3 - "$T/a/state/migrations/$1.json" "tls://127.0.0.1:${PORT[b]}" "${2:-}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r.update(presumed=True, peer=sys.argv[2])
if sys.argv[3]:
    r["uuid"] = sys.argv[3].replace("-", "")
json.dump(r, open(sys.argv[1], "w"))
PY
}
uuid_of() {
	g 0 "$1" --json vm info "$2"
	jv uuid
}
g 0 a vm create pres --caps gisa --vcpus 1
dp=$(digest a pres)
up=$(uuid_of a pres)
stop a
slot a 10000000000000000000000000000008 in-doubt pres "$T/other.gsnap" norecord
presumed 10000000000000000000000000000008 "$up"
start a
grep -q "VM \`pres' was switching over to tls://.* when gisad stopped, its frozen state not yet recorded: it comes back in doubt from its last checkpoint" \
	"$T/a/log" || fail "a: no log line that \`pres' comes back in doubt from its checkpoint"
[ "$(listed a pres)" = in-doubt ] || fail "pres at a is \`$(listed a pres)', not in doubt"
[ "$(digest a pres)" = "$dp" ] || fail "pres came back in doubt, but not from its checkpoint"
g 0 a --json job list
id=$(jv "jobs.?vm=pres.?operation=migrate-out.-1.id")
g 0 a job resolve "$id" resumed
[ "$(listed a pres)" = none ] && [ "$(digest a pres)" = "$dp" ] ||
	fail "pres at a, resolved as resumed, is \`$(listed a pres)'"
! compgen -G "$T/a/state/migrations/10000000000000000000000000000008.*" >/dev/null ||
	fail "pres's record or slot stays at a: $(ls "$T/a/state/migrations")"
# The same for a VM with no checkpoint to come back from (never written):
# nothing comes back, and the name stays taken -- a VM created under it
# would be frozen for that migration at the next start -- until vm destroy
# forgets the migration.  A VM of that name with another UUID is not the
# one that left: it runs.
stop a
slot a 1000000000000000000000000000000c in-doubt ghost "$T/other.gsnap" norecord
presumed 1000000000000000000000000000000c
start a
[ "$(listed a ghost)" = "" ] || fail "ghost, with no checkpoint, is \`$(listed a ghost)' at a"
g 2 a vm create ghost --caps gisa --vcpus 1
err_has "and has no checkpoint here: its name stays taken until \`gisactl vm destroy ghost' \
forgets that migration"
# Nor may a VM migrate in under it.
g 0 b vm create ghost --caps gisa --vcpus 1
g 1 b --json migrate ghost "tls://127.0.0.1:${PORT[a]}"
jis type failed
[[ "$(jv error_message)" == *"the name ?ghost? is held here by a migration this gisad has not settled"* ]] ||
	fail "a migration into the held name ghost: $(jv error_message)"
g 0 b vm destroy ghost
grep -q "migration tls://.* of VM \`ghost' was in doubt, but the VM has no checkpoint to come \
back from: its name stays taken until \`gisactl vm destroy ghost' forgets the migration$" "$T/a/log" ||
	fail "a: no log line that \`ghost' has no checkpoint and its name is held"
g 0 a vm destroy ghost
! compgen -G "$T/a/state/migrations/1000000000000000000000000000000c.*" >/dev/null ||
	fail "ghost's record or slot stays at a after vm destroy: $(ls "$T/a/state/migrations")"
g 0 a vm create ghost --caps gisa --vcpus 1
stop a
slot a 1000000000000000000000000000000d in-doubt ghost "$T/other.gsnap" norecord
presumed 1000000000000000000000000000000d
start a
[ "$(listed a ghost)" = none ] || fail "ghost, another VM under the name, is \`$(listed a ghost)' at a"
grep -q "of VM \`ghost' (UUID [0-9a-f]*) was in doubt, but the VM of that name here has UUID \
[0-9a-f]*: it is left running, and the migration is not pursued$" "$T/a/log" ||
	fail "a: no log line that \`ghost' here is another VM"
g 0 a vm destroy ghost
stop a
rm "$T/a/state/migrations/1000000000000000000000000000000d".*
start a
# A checkpoint there that cannot be restored is not "no checkpoint": the
# name stays taken until a start restores it, and vm destroy neither
# forgets the migration nor removes the checkpoint.
stop a
slot a 1000000000000000000000000000000e in-doubt ghost2 "$T/other.gsnap" norecord
presumed 1000000000000000000000000000000e
mkdir -p "$T/a/state/checkpoints/ghost2"
echo "no snapshot" >"$T/a/state/checkpoints/ghost2/current.gsnap"
start a
grep -q "of VM \`ghost2' was in doubt, but its checkpoint could not be restored (see above): \
its name stays taken until a start restores it$" "$T/a/log" ||
	fail "a: no log line that ghost2's checkpoint could not be restored"
g 2 a vm destroy ghost2
[ -e "$T/a/state/migrations/1000000000000000000000000000000e.json" ] &&
	[ -e "$T/a/state/checkpoints/ghost2/current.gsnap" ] ||
	fail "vm destroy forgot ghost2's migration, or removed its checkpoint"
stop a
rm -r "$T/a/state/migrations/1000000000000000000000000000000e".* "$T/a/state/checkpoints/ghost2"
start a
# A version 2 source writes the presumed IN_DOUBT record into the slot,
# after the precopy deltas, not into its JSON record (still PRECOPY);
# the final delta and the frozen state's record follow it there, then
# the RETIRED record.  The last complete record stands, in that order
# only.  notes ID VM SNAPSHOT RECORD...: at a, a PRECOPY record for VM
# (of UUID NOTES_UUID, else dur's) and the slot of migration ID holding
# SNAPSHOT and then the records, each presumed (IN_DOUBT before the
# freeze), frozen (IN_DOUBT, tracked: no digests) or retired.
notes() {
	python3 - "${NOTES_PEER:-tls://127.0.0.1:${PORT[b]}}" "$@" <<'PY'
import glob, hashlib, json, os, struct, sys
peer, rid, vm, snap = sys.argv[1:5]
src = [f for f in glob.glob(os.environ["T"] + "/b/state/migrations/*.json")
       if json.load(open(f)).get("vm") == "dur"]
assert src, "no record of dur at b"
r = json.load(open(src[0]))
for k in ("final_digest", "chain", "target_digest", "active_digest", "presumed"):
    r.pop(k, None)
r.update(id=rid, state="precopy", vm=vm, remote_vm=vm, peer=peer)
if os.environ.get("NOTES_UUID"):
    r["uuid"] = os.environ["NOTES_UUID"].replace("-", "")
d = os.path.join(os.environ["T"], "a", "state", "migrations")
json.dump(r, open(os.path.join(d, rid + ".json"), "w"))
b = open(snap, "rb").read()
for how in sys.argv[5:]:
    e = dict(r, state="retired" if how == "retired" else "in-doubt")
    if how == "presumed":
        e["presumed"] = True
    t = json.dumps(e).encode()
    b += b"GISAMREC" + struct.pack(">I", len(t)) + hashlib.sha256(t).digest() + t
open(os.path.join(d, rid + ".stage"), "wb").write(b + bytes(8192))
PY
}
declare -A NU
for v in pn rt fz; do
	g 0 a vm create "$v" --caps gisa --vcpus 1
	NU[$v]=$(uuid_of a "$v")
done
dpn=$(digest a pn)
# pn's peer takes connections and never answers: its outcome queries
# hang in the handshake, and the operator decides all the same (an
# abort stays refused: the final delta may have left).
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); held = []
while True:
    held.append(s.accept()[0])
    open(sys.argv[1], "a").write("accepted\n")' "$T/silent.acc" >"$T/silent.port" &
silent=$!
for _ in $(seq 100); do [ -s "$T/silent.port" ] && break; sleep 0.05; done
stop a
NOTES_PEER="tls://127.0.0.1:$(cat "$T/silent.port")" NOTES_UUID=${NU[pn]} \
	notes 10000000000000000000000000000009 pn "$T/other.gsnap" presumed
NOTES_UUID=${NU[rt]} notes 1000000000000000000000000000000a rt "$T/other.gsnap" presumed frozen retired
# fz comes back from the frozen state in its slot: dur's, whose UUID its record names.
notes 1000000000000000000000000000000b fz "$T/dur.gsnap" frozen presumed
start a
mrec() { "$TOOL" json "$T/a/state/migrations/$1.json" "$2"; }
[ "$(listed a pn)" = in-doubt ] && [ "$(digest a pn)" = "$dpn" ] ||
	fail "pn, presumed in its slot, is \`$(listed a pn)' at a, not in doubt from its checkpoint"
[ "$(mrec 10000000000000000000000000000009 state)" = in-doubt ] &&
	[ "$(mrec 10000000000000000000000000000009 presumed)" = true ] ||
	fail "pn's JSON record did not become the presumed IN_DOUBT one of its slot"
[ "$(listed a rt)" = migrated ] || fail "rt, RETIRED in its slot, is \`$(listed a rt)' at a"
[ "$(mrec 1000000000000000000000000000000a state)" = retired ] ||
	fail "rt's JSON record did not become RETIRED"
[ ! -e "$T/a/state/migrations/1000000000000000000000000000000a.stage" ] ||
	fail "rt's slot stays after the start"
[ "$(listed a fz)" = in-doubt ] && [ "$(digest a fz)" = "$d" ] ||
	fail "fz, frozen in its slot (a stale presumed record after it), is \`$(listed a fz)' at a, not in doubt from the slot's state"
g 0 a --json job list
cp "$T/out" "$T/jobs.json"
for _ in $(seq 100); do [ -s "$T/silent.acc" ] && break; sleep 0.05; done
[ -s "$T/silent.acc" ] || fail "pn's outcome query never connected to its silent peer"
g 2 a job abort "$(jv "jobs.?vm=pn.?operation=migrate-out.-1.id" "$T/jobs.json")"
err_has "was sent: only its outcome (or gisactl job resolve) ends the migration now"
for v in pn fz; do
	g 0 a job resolve "$(jv "jobs.?vm=$v.?operation=migrate-out.-1.id" "$T/jobs.json")" resumed
done
kill "$silent"
wait "$silent" 2>/dev/null || true
[ "$(listed a pn)" = none ] && [ "$(digest a pn)" = "$dpn" ] || fail "pn, resumed, is \`$(listed a pn)'"
[ "$(listed a fz)" = none ] && [ "$(digest a fz)" = "$d" ] || fail "fz, resumed, is \`$(listed a fz)'"
# A staging slot that a start cannot read (a directory here) leaves the
# migration undecided: the VM's name is held, since a start that reads a
# commit there would put it over whatever took the name meanwhile.
stop b
slot b 10000000000000000000000000000010 staging unread "$T/dur.gsnap" whole
rm "$T/b/state/migrations/10000000000000000000000000000010.stage"
mkdir "$T/b/state/migrations/10000000000000000000000000000010.stage"
# So does a staging slot holding a record no destination writes (a
# source's IN_DOUBT one, made in a's directory and moved to b's).
slot a 10000000000000000000000000000011 staging foreign "$T/dur.gsnap" whole
mv "$T/a/state/migrations/10000000000000000000000000000011".{json,stage} "$T/b/state/migrations/"
start b
grep -q "incoming migration of VM \`unread' is undecided: .*the name stays taken, until gisad \
restarts and can read it" "$T/b/log" || fail "b did not hold unread: $(grep unread "$T/b/log")"
grep -q "incoming migration of VM \`foreign' is undecided: its slot holds a \`in-doubt' record \
.*the name stays taken" "$T/b/log" || fail "b did not hold foreign: $(grep foreign "$T/b/log")"
for v in unread:10 foreign:11; do
	g 2 b vm create "${v%:*}"
	grep -q "VM .${v%:*}. migrating here from .* is undecided (see the log)" "$T/err" ||
		fail "vm create of ${v%:*} not refused with why: $(cat "$T/err")"
	# Its source is told that b has not decided (MIG_OUTCOME_IN_PROGRESS,
	# 1), not that b has no record of it (UNKNOWN, 0: only an operator
	# decides then).
	"$MIGC" -p "${PORT[b]}" --ca "$C/ca.crt" --cert "$C/host-a.crt" --key "$C/host-a.key" \
		--query "100000000000000000000000000000${v#*:}" >"$T/query.out" 2>&1 || true
	grep -qx "outcome.kind=1" "$T/query.out" ||
		fail "a query about ${v%:*} is not answered IN_PROGRESS: $(cat "$T/query.out")"
done
stop b
rmdir "$T/b/state/migrations/10000000000000000000000000000010.stage"
rm "$T/b/state/migrations/100000000000000000000000000000"{10.json,11.json,11.stage}
start b
echo "ok 10: a slot decides by what it holds: snapshot and record whole commit, anything less never left, a foreign record holds the VM, a presumed doubt comes back from the checkpoint, the slot's last record in order stands, one that cannot be read holds the name"

# ---- 11. a RETIRED record whose write fails ----------------------------------------
# a with mig-fsync-shim: the RETIRED record's write into the slot (the
# source's fourth slot flush: the probe, the presumed IN_DOUBT record, the
# frozen state, RETIRED) fails, and so do the first five writes of the
# JSON record that retry it (0.1 + 0.2 + 0.4 + 0.8 + 1.6 s of backoff).
# The job completes once the VM is committed at b and the digests are
# compared, and the VM is listed as migrated at once; while the record is
# retried its name cannot be freed (vm destroy) nor taken back by a
# migration home, and once it is written the VM retires for good.
# migrate_small VM: a new one-vcpu VM at a, migrated to b and committed;
# its digest in $dr, the job in $T/out.
migrate_small() {
	g 0 a vm create "$1" --caps gisa --vcpus 1
	dr=$(digest a "$1")
	g 0 a --json migrate "$1" "tls://127.0.0.1:${PORT[b]}"
	jis type completed
	jis migration.phase committed
}
stop a
MIG_SHIM_SLOT_FAIL=4 MIG_SHIM_JSON_FAIL=retired:5 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start a
migrate_small ret
[ "$(listed a ret)" = migrated ] || fail "ret at a is \`$(listed a ret)' as its job ends, not migrated"
g 2 a --json vm destroy ret
jis error.code EBUSY
[[ "$(jv error.message)" == *"RETIRED record is still being written"* ]] ||
	fail "vm destroy of ret while its record is retried: $(jv error.message)"
g 1 b --json migrate ret "tls://127.0.0.1:${PORT[a]}"
jis type failed
[[ "$(jv error_message)" == *"RETIRED record is still being written"* ]] ||
	fail "ret's way home while its record is retried: $(jv error_message)"
[ "$(listed b ret)" = none ] && [ "$(digest b ret)" = "$dr" ] || fail "ret is not active at b after the refused way home"
grep -q "migration of VM \`ret': the RETIRED record: .*Input/output error (the VM is active at .*; retried" "$T/a/log" ||
	fail "a: no log line that the RETIRED record of ret is retried"
for _ in $(seq 200); do
	grep -q "migration of VM \`ret': the RETIRED record is written" "$T/a/log" && break
	sleep 0.05
done
grep -q "migration of VM \`ret': the RETIRED record is written" "$T/a/log" ||
	fail "a: no log line that the RETIRED record of ret was written at last"
[ "$(grep -c "the RETIRED record: .*Input/output error" "$T/a/log")" = 1 ] ||
	fail "a: the RETIRED record's failure is logged more than once"
[ "$(listed a ret)" = migrated ] || fail "ret at a is \`$(listed a ret)', not migrated"
[ "$(listed b ret)" = none ] && [ "$(digest b ret)" = "$dr" ] || fail "ret is not active at b"
stop a
start a
[ "$(listed a ret)" = migrated ] || fail "ret at a is \`$(listed a ret)' after a restart"
# The RETIRED record in the slot is written, the JSON one that follows it
# is not: the VM retires all the same, and its slot stays, saying so,
# until the next start writes the JSON record and removes the slot.
stop a
MIG_SHIM_JSON_FAIL=retired:1 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start a
migrate_small ret2
rid=$(jv migration.migration_id)
[ "$(listed a ret2)" = migrated ] || fail "ret2 at a is \`$(listed a ret2)', not migrated"
for _ in $(seq 100); do
	grep -q "VM \`ret2' retired; its slot (it says RETIRED, for the next start), its JSON record or checkpoint stays: .*Input/output error" "$T/a/log" && break
	sleep 0.05
done
grep -q "VM \`ret2' retired; its slot (it says RETIRED, for the next start)" "$T/a/log" ||
	fail "a: no log line that ret2's JSON RETIRED record failed"
[ -e "$T/a/state/migrations/$rid.stage" ] || fail "ret2's slot, saying RETIRED, was removed"
[ "$("$TOOL" json "$T/a/state/migrations/$rid.json" state)" = precopy ] ||
	fail "ret2's JSON record is not the PRECOPY one the slot stands over"
stop a
start a
grep -q "VM \`ret2' had migrated to tls://.* when gisad stopped (its slot said so)" "$T/a/log" ||
	fail "a: no log line that ret2's slot said RETIRED"
[ "$(listed a ret2)" = migrated ] || fail "ret2 at a is \`$(listed a ret2)' after a restart"
[ "$("$TOOL" json "$T/a/state/migrations/$rid.json" state)" = retired ] ||
	fail "ret2's JSON record did not become RETIRED at the start"
[ ! -e "$T/a/state/migrations/$rid.stage" ] || fail "ret2's slot stays after the start"
[ ! -e "$T/a/state/checkpoints/ret2" ] || [ -z "$(ls "$T/a/state/checkpoints/ret2")" ] ||
	fail "ret2's checkpoint stays at a: $(ls "$T/a/state/checkpoints/ret2")"
[ "$(listed b ret2)" = none ] && [ "$(digest b ret2)" = "$dr" ] || fail "ret2 is not active at b"
echo "ok 11: a RETIRED record whose write fails is retried after the job ended, the name held meanwhile; the VM retires once it is written; one in the slot alone stands until the next start"

# ---- 12. destinations named by host name: resolved without blocking --------------
# a runs in a mount namespace whose /etc/resolv.conf names a DNS server of
# the test's (mig-fakedns.py): it answers slow*.test with 127.0.0.1 only
# once "$T/dns-release" exists, and nx*.test with NXDOMAIN.  While a name
# is held, a keeps serving its control socket; the migration then goes on
# to the TLS handshake (refused: b's certificate names host-b, not the
# dialled name).  An abort and a stop while a name is held end cleanly.
python3 "$MIG_FAKEDNS" "$T" &
DNS_PID=$!
BGPIDS+=("$DNS_PID")
for _ in $(seq 1 200); do [ -s "$T/dns-port" ] && break; sleep 0.02; done
[ -s "$T/dns-port" ] || fail "the fake DNS server did not start"
echo "nameserver 127.0.0.1:$(cat "$T/dns-port")" >"$T/resolv.conf"
printf '#!/bin/sh\nexec unshare -m sh -c %s %s %s "$@"\n' \
	"'mount --bind \"\$0\" /etc/resolv.conf && exec \"\$@\"'" "'$T/resolv.conf'" "'$GISAD'" \
	>"$T/gisad-ns"
chmod +x "$T/gisad-ns"
asked() {
	for _ in $(seq 1 500); do
		grep -q "^$1 " "$T/dns-log" 2>/dev/null && return 0
		sleep 0.02
	done
	fail "the fake DNS server was not asked for $1"
}
bg_migrate() {
	"$GISACTL" --socket "$T/a/control" --json migrate res "tls://$1:${PORT[b]}" \
		>"$T/res.json" 2>"$T/res.err" &
	BG=$!
	BGPIDS+=("$BG")
}
stop a
GISAD=$T/gisad-ns start a
g 0 a vm create res --caps gisa --vcpus 1
dres=$(digest a res)
bg_migrate slow.test
asked slow.test
timeout 10 "$GISACTL" --socket "$T/a/control" ping >/dev/null ||
	fail "a does not answer while it resolves a name"
g 0 a --json job list
[ "$(jv "jobs.?vm=res.?operation=migrate-out.-1.type")" != completed ] ||
	fail "the migration of res ended while its destination's name was held"
touch "$T/dns-release"
wait "$BG" || true
jis type failed "$T/res.json"
[[ "$(jv error_message "$T/res.json")" == *"not the dialled \`slow.test'"* ]] ||
	fail "the migration to slow.test ended with: $(jv error_message "$T/res.json")"
reload a
g 1 a --json migrate res "tls://nx.test:${PORT[b]}"
jis type failed
[[ "$(jv error_message)" == *"cannot resolve \`nx.test'"* ]] ||
	fail "the migration to nx.test ended with: $(jv error_message)"
# Aborted while its name is held.
rm -f "$T/dns-release"
bg_migrate slow2.test
asked slow2.test
g 0 a --json job list
g 0 a job abort "$(jv "jobs.?vm=res.?operation=migrate-out.-1.id")"
wait "$BG" || true
jis type cancelled "$T/res.json"
[[ "$(jv error_message "$T/res.json")" == *"aborted by the operator"* ]] ||
	fail "the aborted migration ended with: $(jv error_message "$T/res.json")"
touch "$T/dns-release"
timeout 10 "$GISACTL" --socket "$T/a/control" ping >/dev/null || fail "a is gone after the abort"
[ "$(listed a res)" = none ] && [ "$(digest a res)" = "$dres" ] ||
	fail "res is not running unchanged at a"
# Stopped while a name is held: a clean exit (stop checks the status).
rm -f "$T/dns-release"
bg_migrate slow3.test
asked slow3.test
stop a
wait "$BG" || true
kill "$DNS_PID" 2>/dev/null || true
wait "$DNS_PID" 2>/dev/null || true
start a
echo "ok 12: names are resolved without blocking the loop; a refusal, NXDOMAIN after a reload, an abort and a stop while resolving"

# ---- 13. records that cannot be read stop the start --------------------------------
# Without its records a start could restore a VM that migrated away (the
# RETIRED ones of the cases above): gisad refuses to start instead.
stop a
mv "$T/a/state/migrations" "$T/a/state/migrations.away"
echo "not a directory" >"$T/a/state/migrations"
rc=0
timeout 30 "$GISAD" --foreground --config "$T/a/gisad.conf" 2>"$T/a-refused.log" || rc=$?
[ "$rc" = 1 ] || fail "gisad started (status $rc) without its migration records"
grep -q "migration records in .*/migrations cannot be settled: Not a directory; gisad does not start" \
	"$T/a-refused.log" || fail "no reason given: $(cat "$T/a-refused.log")"
rm "$T/a/state/migrations"
mv "$T/a/state/migrations.away" "$T/a/state/migrations"
# More record files than it reads (131072): refused too, not some ignored.
python3 - "$T/a/state/migrations" <<'PY'
import os, sys
for i in range(131073):
    open(os.path.join(sys.argv[1], "ff%030x.json" % i), "w").close()
PY
rc=0
timeout 60 "$GISAD" --foreground --config "$T/a/gisad.conf" 2>"$T/a-refused.log" || rc=$?
[ "$rc" = 1 ] || fail "gisad started (status $rc) with more migration records than it reads"
grep -q "migration records: 131[0-9]* in .*/migrations', more than 131072" "$T/a-refused.log" &&
	grep -q "migration records in .*/migrations cannot be settled: Argument list too long; gisad does not start" \
	"$T/a-refused.log" || fail "no reason given: $(tail -n 5 "$T/a-refused.log")"
find "$T/a/state/migrations" -name 'ff*.json' -delete
start a
[ "$(listed a ret)" = migrated ] || fail "ret at a is \`$(listed a ret)' once its records are back"
echo "ok 13: records that cannot be read, or too many, stop gisad from starting"

# ---- 14. a frozen state whose durable write fails -------------------------------
# From 16384 queued interrupts on, each side pairs the switchover's steps on
# two threads (daemon/par.h; case 3 migrated such a VM).  Here, with the
# source pinned to version 1, the source's frozen snapshot of one, written
# by the loop's thread while the worker makes the final delta, is not known
# to be durable (mig-fsync-shim, at a this time): the source gives up with
# the VM running unchanged, nothing stays in its slot, and the destination
# discards.  The shim fires once (on a's second fdatasync of a slot: the
# first is the probe that times it): the next try migrates it.
# resumed_whole VM DIGEST JOBFILE: VM runs at a unchanged (DIGEST), is not
# at b, and its migration (JOBFILE's job) left no file at a.
resumed_whole() {
	local id
	id=$(jv migration.migration_id "$3")
	[ "$(listed a "$1")" = none ] && [ "$(digest a "$1")" = "$2" ] ||
		fail "$1 is not running unchanged at a after its migration failed"
	[ -z "$(listed b "$1")" ] || fail "$1 exists at b after the source gave up"
	[ -n "$id" ] && ! compgen -G "$T/a/state/migrations/$id.*" >/dev/null ||
		fail "migration \`$id' of $1 left files at a: $(ls "$T/a/state/migrations")"
}
stop a
conf a migration_max_version=1
MIG_SHIM_SLOT_FAIL=2 LD_PRELOAD=$MIG_FSYNC_SHIM ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	start a
g 0 a vm create huge --profile newest --caps gisa --vcpus 2
g 0 a irq inject huge "$T/io20k.bin"
d=$(digest a huge)
g 1 a --json migrate huge "tls://127.0.0.1:${PORT[b]}"
cp "$T/out" "$T/huge.json"
jis type failed
jis migration.phase resumed
[[ "$(jv error_message "$T/huge.json")" == *"IN_DOUBT record"*"fdatasync of"*".stage"*"Input/output error"* ]] ||
	fail "the failed frozen snapshot is reported as \`$(jv error_message "$T/huge.json")'"
resumed_whole huge "$d" "$T/huge.json"
g 0 a --json migrate huge "tls://127.0.0.1:${PORT[b]}"
jis migration.phase committed
jis migration.digests_match true
jis migration.source_digest "$d"
[ "$(digest b huge)" = "$d" ] || fail "huge at b has not the digest it had at a"
g 0 b vm destroy huge
g 0 a vm destroy huge
# The same, and then neither the slot nor the record can be removed
# (mig-fsync-shim: 15 unlinks fail, three per try: the slot's, the slot's
# again and the record's): a start would bring the VM back from the frozen
# snapshot over what it took since, so it does not run yet.  It stays
# frozen, and the removals are tried again with a backoff (0.1, 0.2, 0.4,
# 0.8 and 1.6 s) until they succeed; meanwhile the decided migration can
# be neither aborted nor resolved.
stop a
MIG_SHIM_SLOT_FAIL=2 MIG_SHIM_UNLINK_FAIL=15 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start a
g 0 a vm create stuck --profile newest --caps gisa --vcpus 2
g 0 a irq inject stuck "$T/io20k.bin"
d=$(digest a stuck)
g 0 a --json migrate stuck "tls://127.0.0.1:${PORT[b]}" --detach
job=$(jv id)
for _ in $(seq 1 250); do
	g 0 a --json job status "$job"
	[[ "$(jv error_message)" == *"the VM stays frozen until they are"* ]] && break
	sleep 0.02
done
[[ "$(jv error_message)" == *"IN_DOUBT record"*"records cannot be removed: the VM stays frozen"* ]] ||
	fail "stuck's job does not say it stays frozen: \`$(jv error_message)' $(grep -i 'stuck\|unlink\|frozen' "$T/a/log" | tail -n 12)"
[ "$(listed a stuck)" = in-doubt ] || fail "stuck is \`$(listed a stuck)' at a, not frozen"
g 2 a job resolve "$job" resumed
grep -q "the migration of VM .stuck. is decided (the IN_DOUBT record: .*); the VM stays frozen \
only until its records can be removed" "$T/err" || fail "job resolve not refused: $(cat "$T/err")"
g 2 a job abort "$job"
grep -q "the migration of VM .stuck. has ended; the VM stays frozen only until its records can \
be removed" "$T/err" || fail "job abort not refused: $(cat "$T/err")"
job_ended a "$job"
jis type failed
jis migration.phase resumed
[[ "$(jv error_message)" == *"IN_DOUBT record"*"fdatasync of"*"Input/output error"* ]] ||
	fail "stuck's job ends with \`$(jv error_message)'"
[ "$(grep -c "migration of VM \`stuck' to .* ended (.*IN_DOUBT record.*), but neither its slot \
nor its record can be removed (Input/output error): the VM stays frozen" "$T/a/log")" = 1 ] ||
	fail "a did not log once that stuck stays frozen: $(grep stuck "$T/a/log" | tail -n 5)"
resumed_whole stuck "$d" "$T/out"
g 0 a vm destroy stuck
# Version 2 writes nothing inside the downtime at the source: its IN_DOUBT
# record came before the freeze, into the slot (the source's second slot
# flush), and the frozen state follows it there once the final delta is on
# its way (the third).  The first failing leaves the VM running, nothing
# sent and nothing left in the state directory.  The second failing costs
# nothing but the frozen state after a restart: the migration commits,
# the digests are compared, and the failure is logged.
stop a
conf a
MIG_SHIM_SLOT_FAIL=2 LD_PRELOAD=$MIG_FSYNC_SHIM ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	start a
g 0 a vm create slotfail --profile newest --caps gisa
g 0 a irq inject slotfail "$T/io20k.bin"
d=$(digest a slotfail)
g 1 a --json migrate slotfail "tls://127.0.0.1:${PORT[b]}"
jis type failed
jis migration.phase resumed
[[ "$(jv error_message)" == *"IN_DOUBT record"*"fdatasync of"*".stage"*"Input/output error"* ]] ||
	fail "the failed presumed IN_DOUBT record is reported as \`$(jv error_message)'"
resumed_whole slotfail "$d" "$T/out"
stop a
MIG_SHIM_SLOT_FAIL=3 LD_PRELOAD=$MIG_FSYNC_SHIM ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	start a
g 0 a --json migrate slotfail "tls://127.0.0.1:${PORT[b]}"
jis migration.phase committed
jis migration.rounds 1
jis migration.digests_match true
jis migration.source_digest "$d"
[ "$(digest b slotfail)" = "$d" ] || fail "slotfail at b has not the digest it had at a"
grep -q "migration of VM \`slotfail': its frozen state is not recorded (fdatasync of .*\.stage.*Input/output error)" \
	"$T/a/log" || fail "a did not log the frozen state's failed write"
g 0 b vm destroy slotfail
echo "ok 14: a frozen snapshot that fails beside the worker thread resumes the VM; the retry migrates it; version 2's presumed record failing resumes it, its frozen state failing after the send is logged"

# ---- 15. a torn version 1 commit ----------------------------------------------------
#
# A slot starts as round 0's snapshot; a version 1 commit overwrites it
# from the start with the final snapshot and its record.  A crash may keep
# the record's blocks and lose the snapshot's: the record then sits after
# round 0's snapshot, whose digest is not the target it names.  Such a
# slot is not written: the migration is discarded at the next start, the
# VM not activated.  (rvm7's COMMITTED record, a version 1 one, is the
# model; the slot holds seed 1's snapshot instead of its state.)
stop b
python3 - "$T/b/state/migrations" "$T/rand-1.gsnap" <<'PY' || fail "crafting the torn slot"
import glob, hashlib, json, struct, sys
d, snap = sys.argv[1], sys.argv[2]
recs = [json.load(open(f)) for f in glob.glob(d + "/*.json")]
rec = next(r for r in recs if r.get("vm") == "rvm7" and r.get("state") == "committed")
rec.update(id="ab" * 16, vm="torn", uuid="cd" * 16)
with open(f"{d}/{rec['id']}.json", "w") as f:
    json.dump(dict(rec, state="staging"), f, indent=2, sort_keys=True)
text = json.dumps(rec, indent=2, sort_keys=True).encode()
with open(f"{d}/{rec['id']}.stage", "wb") as f:
    f.write(open(snap, "rb").read() + b"GISAMREC" + struct.pack(">I", len(text)) +
            hashlib.sha256(text).digest() + text + bytes(4096))
PY
start b
grep -q "incoming migration of VM \`torn' was staging when gisad stopped: discarded" "$T/b/log" ||
	fail "the torn commit was not discarded: $(grep torn "$T/b/log")"
[ -z "$(listed b torn)" ] || fail "the torn commit's VM is active at b"
[ ! -e "$T/b/state/migrations/$(printf 'ab%.0s' {1..16}).stage" ] || fail "the torn slot stays"
# The same write cut short before its record, over a slot whose precopy
# deltas it was to replace: a whole delta of another state after the
# snapshot (here seed 1's, then the delta from seed 2's state to seed 3's)
# is what an earlier write left there, not corruption: discarded, not
# held undecided.
"$TOOL" delta "$T/rand-2.gsnap" "$T/rand-3.gsnap" "$T/stale.delta" || fail "mig-mt-tool delta"
stop b
python3 - "$T/b/state/migrations" "$T/rand-1.gsnap" "$T/stale.delta" <<'PY' ||
import glob, hashlib, json, struct, sys
d, snap, delta = sys.argv[1:4]
recs = [json.load(open(f)) for f in glob.glob(d + "/*.json")]
rec = next(r for r in recs if r.get("vm") == "rvm7" and r.get("state") == "committed")
rec.update(id="ef" * 16, vm="stale", uuid="cd" * 16, state="staging")
with open(f"{d}/{rec['id']}.json", "w") as f:
    json.dump(rec, f, indent=2, sort_keys=True)
dl = open(delta, "rb").read()
with open(f"{d}/{rec['id']}.stage", "wb") as f:
    f.write(open(snap, "rb").read() + b"GISAMDLT" + struct.pack(">I", len(dl)) +
            hashlib.sha256(dl).digest() + dl + bytes(4096))
PY
	fail "crafting the slot with a stale delta"
start b
grep -q "incoming migration of VM \`stale' was staging when gisad stopped: discarded" \
	"$T/b/log" || fail "the stale delta's migration was not discarded: $(grep stale "$T/b/log")"
[ -z "$(listed b stale)" ] || fail "the stale delta's VM is active at b"
[ ! -e "$T/b/state/migrations/$(printf 'ef%.0s' {1..16}).stage" ] ||
	fail "the slot with a stale delta stays"
g 0 b vm create stale
g 0 b vm destroy stale
echo "ok 15: a version 1 record after a state that is not its own, or a delta of another state after the snapshot, is a commit a crash cut short"

# ---- 16. a committed slot that cannot be moved into place --------------------------
#
# The VM's checkpoint directory at b is a file: neither the active VM's
# image nor the committed slot becomes its checkpoint, and the slot stays
# for the next start to move.  Unless something newer about the VM is
# durable first -- a checkpoint of the state since, or vm destroy -- which
# the next start must not undo: the slot goes then.
#
# A start that cannot move it either (unm3: the file is still there) does
# not restore the VM -- an older checkpoint of it would run instead, and
# be overwritten once the move succeeds -- and holds its name; the first
# start that can move it restores the VM as it arrived.
mkdir -p "$T/b/state/checkpoints"
for v in unm1 unm2 unm3; do
	g 0 a vm create "$v" --caps gisa --vcpus 1
	g 0 a irq interrupt "$v" 0xffff2401 0x20
	[ "$v" = unm3 ] && d3=$(digest a unm3)
	: >"$T/b/state/checkpoints/$v"
	g 0 a --json migrate "$v" "tls://127.0.0.1:${PORT[b]}"
	jis type completed
	for _ in $(seq 1 200); do
		grep -q "incoming VM \`$v': .*(moved into place at the next start, unless a newer \
checkpoint of it is written first)$" "$T/b/log" && break
		sleep 0.02
	done
	grep -q "incoming VM \`$v': .*(moved into place at the next start" "$T/b/log" ||
		fail "b did not log that $v's checkpoint could not be moved into place"
	[ "$v" = unm3 ] || rm "$T/b/state/checkpoints/$v"
done
g 0 b irq interrupt unm1 0xffff2401 0x10
d1=$(digest b unm1)
g 0 b checkpoint create unm1
grep -q "committed VM \`unm1': its slot, never moved into place, is removed: a newer checkpoint \
of the VM is written$" "$T/b/log" || fail "unm1's slot was not removed by its newer checkpoint"
g 0 b vm destroy unm2
grep -q "committed VM \`unm2': its slot, never moved into place, is removed: the VM is \
destroyed$" "$T/b/log" || fail "unm2's slot was not removed by vm destroy"
# unm3 cannot be checkpointed on the way out: exit status 1.
stop b 1
start b
[ "$(digest b unm1)" = "$d1" ] || fail "unm1 came back at b without what it took after its commit"
[ -z "$(listed b unm2)" ] || fail "unm2, destroyed at b, came back: $(listed b unm2)"
grep -q "committed VM \`unm3': its staged checkpoint cannot be put in place: .*: not restored, \
its name held until a start puts it in place" "$T/b/log" || fail "b did not hold unm3: $(grep unm3 "$T/b/log")"
[ -z "$(listed b unm3)" ] || fail "unm3 runs at b although its checkpoint is not in place"
g 2 b vm create unm3
grep -q "VM .unm3. migrated here from .*, but its checkpoint could not be put in place when \
gisad started (see the log): its name stays taken until a start does it" "$T/err" ||
	fail "vm create of unm3 not refused with why: $(cat "$T/err")"
rm "$T/b/state/checkpoints/unm3"
stop b
start b
[ "$(digest b unm3)" = "$d3" ] || fail "unm3 did not come back at b as it arrived"
g 0 b vm destroy unm3
echo "ok 16: a committed slot not moved into place goes once a newer checkpoint or vm destroy supersedes it, and holds its VM's name while no start can move it"

# ---- 17. outcome_records never prunes an undecided migration ----------------------
#
# The records kept for queries are the newest decided ones.  An undecided
# migration's (a staging slot that cannot be read) stays however many are
# decided after it: 17 migrations discarded (each a DISCARDED record) with
# room for 16 (one taken by it) leave it answered IN_PROGRESS, and the two
# oldest of them gone.
stop b
slot b 10000000000000000000000000000012 staging unread2 "$T/dur.gsnap" whole
rm "$T/b/state/migrations/10000000000000000000000000000012.stage"
mkdir "$T/b/state/migrations/10000000000000000000000000000012.stage"
conf b outcome_records=16
start b
grep -q "incoming migration of VM \`unread2' is undecided" "$T/b/log" || fail "b did not hold unread2"
for i in $(seq -w 1 17); do
	"$MIGC" -p "${PORT[b]}" --ca "$C/ca.crt" --cert "$C/host-a.crt" --key "$C/host-a.key" \
		--begin "pr$i" >"$T/begin.out" 2>&1 || true
	grep -qx "ready.vm_name=pr$i" "$T/begin.out" || fail "no MigReady for pr$i: $(cat "$T/begin.out")"
	for _ in $(seq 1 100); do
		f=$(grep -l "\"vm\": \"pr$i\"" "$T/b/state/migrations/"*.json || true)
		[ -n "$f" ] && grep -q '"state": "discarded"' "$f" && break
		sleep 0.05
	done
done
for i in 01 02; do
	! grep -q "\"vm\": \"pr$i\"" "$T/b/state/migrations/"*.json ||
		fail "the DISCARDED record of pr$i was not pruned"
done
grep -q '"vm": "pr03"' "$T/b/state/migrations/"*.json || fail "the record of pr03 was pruned"
"$MIGC" -p "${PORT[b]}" --ca "$C/ca.crt" --cert "$C/host-a.crt" --key "$C/host-a.key" \
	--query 10000000000000000000000000000012 >"$T/query.out" 2>&1 || true
grep -qx "outcome.kind=1" "$T/query.out" ||
	fail "unread2, past outcome_records, is not answered IN_PROGRESS: $(cat "$T/query.out")"
echo "ok 17: outcome_records prunes the oldest decided records, never an undecided one"

stop a
stop b
[ "$SOFT" -eq 0 ] || fail "$SOFT check(s) failed above"
echo "ok: live migration ($((SECONDS - T_START)) s)"
