#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load and soak: 16 VMs spread over two gisad (a and b, lib-mig.sh), each
# under continuous batched injection and delivery, while they migrate back
# and forth, MIG_SOAK_PARALLEL at a time, until MIG_SOAK_MIGRATIONS
# migrations (default 20; MIG_SOAK_MIGRATIONS=100 by hand) have committed.
#
#  - The load: MIG_SOAK_LOADERS `mig-mt-tool follow' processes, each the
#    guest and injector of its share of the VMs on one connection to each
#    gisad, following a VM to the other host when its old host answers
#    -ENOENT (retired there); a refused injection (frozen: the migrating
#    error; retired: -ENOENT) is logged as refused, not retried.  Each VM
#    keeps at most 256 I/O records pending, so the state stays bounded;
#    each generator sends MIG_SOAK_RATE requests a second (default 4000,
#    0: as fast as gisad answers), so that the test leaves CPU to the tests
#    that run beside it.
#  - Every migration completes, committed, digests matching; after each
#    round, every VM is active at exactly the host the driver expects, and
#    listed as migrated (or, forgotten by `vm destroy' on a seeded coin,
#    not at all) at the other; a VM migrates back to a host that lists it
#    as retired (the listing is replaced) or that forgot it.
#  - The load finds each VM gone (-ENOENT) at its old host once per
#    migration and at once at the new one: never at neither host.
#  - Exactly once, per VM at the end: its log replayed against an export
#    from its final host (`mig-mt-tool check'): every accepted I/O record
#    delivered once (at either host) or pending once, in FIFO order per
#    ISC, none refused and yet present; the coalescing classes (machine
#    check bits, service signal, GISA IPM) as sets.
#  - No growth: after every round the VmRSS and the open descriptors of both
#    daemons are printed.  The baseline is the warm-up's: the highest RSS
#    measured after the rounds up to MIG_SOAK_WARMUP migrations (default
#    the larger of two rounds and two fifths of the run, by when both
#    daemons keep as many finished jobs and outcome records as their caps,
#    set low here, allow), the descriptors at the last of them.  At the end each daemon's descriptors equal the
#    baseline's and its RSS (the lower of the last row and one more
#    measurement) exceeds the baseline by less than 8 MiB or 10 % of it,
#    whichever is more.  Both daemons then stop cleanly (exit 0: under ASan
#    their leak check passed) and their logs hold no sanitizer report.
#  - Every round has the same shape (half of its migrations each way, one
#    of each half compressed with zstd), so that the daemons' peak memory
#    is the same from round to round; its time and slowest migration are
#    printed.
#  - Both daemons report a completed job for every migration, at each end
#    (checked after every round).
#  - At the end of the warm-up a reload raises outcome_records from 16 to
#    24 on both daemons (in a long run, with 16 outcomes kept already).
#
# Under ASan the daemons run with a 4 MiB quarantine and return freed
# memory to the system every 100 ms: ASan's default quarantine of 256 MiB
# would fill over many minutes of this load and read as growth, and
# releases every 5 s as noise.
# Seeded (MIG_SOAK_SEED): the VMs, the load's operations and the schedule
# of migrations; the interleaving is the machine's.  Also MIG_SOAK_VMS
# (16), MIG_SOAK_PARALLEL (4; above 4 the daemons' peer and incoming limits
# are raised to match), MIG_SOAK_LOADERS (2), MIG_SOAK_WARMUP,
# MIG_SOAK_MIG_TIMEOUT (300 s: a migration taking longer is reported as
# stuck, with both hosts' jobs).  MIG_SOAK_KEEP=1 keeps the temporary
# directory (logs of the daemons and of the load).
set -euo pipefail

. "$(dirname "$0")/lib-mig.sh"

MIGRATIONS=${MIG_SOAK_MIGRATIONS:-20}
SEED=${MIG_SOAK_SEED:-20250301}
NVMS=${MIG_SOAK_VMS:-16}
PAR=${MIG_SOAK_PARALLEL:-4}
LOADERS=${MIG_SOAK_LOADERS:-2}
RATE=${MIG_SOAK_RATE:-4000} # requests a second per load generator (0: no limit)
WARMUP=${MIG_SOAK_WARMUP:-$((2 * PAR > MIGRATIONS * 2 / 5 ? 2 * PAR : MIGRATIONS * 2 / 5))}
MIG_TIMEOUT=${MIG_SOAK_MIG_TIMEOUT:-300}
RSS_TOL_KB=8192 # RSS growth allowed: this, or RSS_TOL_PCT of the baseline
RSS_TOL_PCT=10
T_START=$SECONDS

# shellcheck disable=SC2034 # read by cleanup (lib-mig.sh)
KEEP_T=${MIG_SOAK_KEEP:-0}
case ${ASAN_OPTIONS:-} in
*quarantine_size_mb*) ;;
*)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
	export ASAN_OPTIONS="$ASAN_OPTIONS:allocator_release_to_os_interval_ms=100"
	;;
esac

RNG=$SEED
rnd() {
	RNG=$(((RNG * 1103515245 + 12345) & 0x7fffffff))
	R=$(((RNG >> 8) % $1))
}
other() {
	[ "$1" = a ] && echo b || echo a
}

# Up to PAR migrations at once, all of them possibly from one peer.  The
# daemons keep what the migrations leave (finished jobs, outcome records)
# up to caps; at the lowest caps those fill during the warm-up, so that
# what follows measures growth, not history being kept.  A round's jobs are
# counted after the round (jobs_round), before they can be dropped.
limits=(max_connections_per_peer=$((PAR > 4 ? PAR : 4))
	max_incoming_migrations=$((PAR > 16 ? PAR : 16))
	finished_jobs=$((2 * PAR > 16 ? 2 * PAR : 16)) outcome_records=16)
make_certs
conf a "${limits[@]}"
conf b "${limits[@]}"
start a
start b
mkdir -p "$T/load" "$T/m" "$T/exp"

# ---- the VMs and their load ---------------------------------------------------------

# VM i starts at a (even i) or b; a mix of profiles, capabilities, byte
# orders and vcpus (the load needs two: vcpu 0 takes I/O, vcpu 1 the rest).
declare -A HOST=() NMIG=()
VMS=()
for ((i = 0; i < NVMS; i++)); do
	vm=soak$i
	h=a
	[ $((i % 2)) = 1 ] && h=b
	case $((i % 4)) in
	0) opts=(--profile newest --caps "gisa,ais" --vcpus 2) ;;
	1) opts=(--profile newest --caps gisa --vcpus 3 --order le) ;;
	2) opts=(--profile classic --caps gisa --vcpus 2) ;;
	3) opts=(--profile newest --caps none --vcpus 2 --order le) ;;
	esac
	g 0 "$h" vm create "$vm" "${opts[@]}"
	VMS+=("$vm")
	HOST[$vm]=$h
	NMIG[$vm]=0
done

STOP=$T/load/stop
LPIDS=()
for ((k = 0; k < LOADERS; k++)); do
	specs=()
	for ((i = k; i < NVMS; i += LOADERS)); do
		specs+=("${VMS[$i]}:${HOST[${VMS[$i]}]}")
	done
	"$TOOL" follow "$T/a/control" "$T/b/control" $((SEED + k)) "$RATE" "$STOP" "$T/load" \
		"${specs[@]}" >"$T/load/loader$k.out" 2>&1 &
	LPIDS+=("$!")
	BGPIDS+=("$!")
done
for vm in "${VMS[@]}"; do
	for _ in $(seq 1 500); do
		[ -e "$T/load/$vm.log.ready" ] && break
		sleep 0.02
	done
	[ -e "$T/load/$vm.log.ready" ] ||
		fail "the load of $vm did not get ready: $(cat "$T"/load/loader*.out)"
done
echo "ok: $NVMS VMs ($((NVMS - NVMS / 2)) at a, $((NVMS / 2)) at b) under load from" \
	"$LOADERS generators (${RATE}/s each); $MIGRATIONS migrations, $PAR at a time, seed $SEED"

# ---- measurements ----------------------------------------------------------------------

# measure H: "RSS_KiB FDS" of gisad H: the least VmRSS of 5 samples over
# half a second (the allocator returns freed memory to the system in steps:
# the least is the nearest to what is in use), the descriptors at the end.
measure() {
	local p=${DPID[$1]} rss min='' fds
	for _ in 1 2 3 4 5; do
		rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$p/status")
		[ -n "$min" ] && [ "$min" -le "$rss" ] || min=$rss
		sleep 0.1
	done
	fds=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 | wc -l)
	echo "$min $fds"
}

# The table: one row per measurement.  The baseline of each daemon: the
# highest RSS measured after the rounds up to WARMUP migrations (the peak
# of the warm-up), its descriptors at the last of them.
ROWS=()
BASE_DONE=
declare -A BASE_RSS=([a]=0 [b]=0) BASE_FDS=() LAST_RSS=()
# jobs_round: the migration jobs each daemon started since the last call
# (ids above JOB_SEEN[h]) are all completed; added up in NOUT and NIN.
declare -A NOUT=([a]=0 [b]=0) NIN=([a]=0 [b]=0) JOB_SEEN=([a]=0 [b]=0)
jobs_round() {
	local h r
	for h in a b; do
		g 0 "$h" --json job list
		r=$(python3 - "$T/out" "${JOB_SEEN[$h]}" <<-'PY'
		import json, sys
		jobs = [j for j in json.load(open(sys.argv[1]))["jobs"] if j["id"] > int(sys.argv[2])]
		mig = [j for j in jobs if j["operation"] in ("migrate-out", "migrate-in")]
		bad = [f'{j["id"]} {j["operation"]} {j["type"]}' for j in mig if j["type"] != "completed"]
		print(max([j["id"] for j in jobs] + [int(sys.argv[2])]),
		      sum(j["operation"] == "migrate-out" for j in mig),
		      sum(j["operation"] == "migrate-in" for j in mig), "; ".join(bad) or "-")
		PY
		) || fail "$h: job list unreadable: $(head -c 2000 "$T/out")"
		read -r JOB_SEEN[$h] nout nin bad <<<"$r"
		[ "$bad" = - ] || fail "$h: migration jobs not completed: $bad"
		NOUT[$h]=$((NOUT[$h] + nout))
		NIN[$h]=$((NIN[$h] + nin))
	done
}

record() {
	local done=$1 ops
	read -r ra fa <<<"$(measure a)"
	read -r rb fb <<<"$(measure b)"
	ops=$(cat "$T"/load/*.log | wc -l)
	ROWS+=("$(printf '%5d  %9d %5d  %9d %5d  %6d  %9d' "$done" "$ra" "$fa" "$rb" "$fb" \
		$((SECONDS - T_START)) "$ops")")
	echo "  after $done migrations: a rss ${ra} KiB fds $fa, b rss ${rb} KiB fds $fb," \
		"$ops load log lines, $((SECONDS - T_START)) s"
	LAST_RSS=([a]=$ra [b]=$rb)
	if [ "$done" -gt 0 ] && [ -z "$BASE_DONE" ]; then
		[ "$ra" -le "${BASE_RSS[a]}" ] || BASE_RSS[a]=$ra
		[ "$rb" -le "${BASE_RSS[b]}" ] || BASE_RSS[b]=$rb
		BASE_FDS=([a]=$fa [b]=$fb)
		if [ "$done" -ge "$WARMUP" ]; then
			BASE_DONE=$done
			ROWS[-1]+="  <- end of the warm-up (baseline: its peak)"
		fi
	fi
}

print_table() {
	echo "migrations  a_rss_KiB a_fds  b_rss_KiB b_fds  time_s  log_lines"
	printf '%s\n' "${ROWS[@]}"
}

# ---- the state of every VM, as the driver expects it -------------------------------

# states H: "NAME MIGRATION" per VM listed at H (`vm list': the last
# column, "migrated to URI" for a retired VM), into $T/states-H.
states() {
	g 0 "$1" vm list
	awk 'NR > 1 { if ($(NF - 1) == "to") print $1, $(NF - 2), $NF; else print $1, $NF }' \
		"$T/out" >"$T/states-$1"
}

# check_all: every VM active at HOST (migration "none"), and at the other
# host listed as migrated to HOST or not at all.
check_all() {
	local vm h o s
	states a
	states b
	for vm in "${VMS[@]}"; do
		h=${HOST[$vm]}
		o=$(other "$h")
		s=$(awk -v n="$vm" '$1 == n { print $2 }' "$T/states-$h")
		[ "$s" = none ] || fail "$vm is \`${s:-not listed}' at $h, expected active there"
		s=$(awk -v n="$vm" '$1 == n { print $2, $3 }' "$T/states-$o")
		case $s in
		"" | "migrated tls://127.0.0.1:${PORT[$h]}") ;;
		*) fail "$vm is \`$s' at $o, active at $h" ;;
		esac
	done
}

# ---- the migrations --------------------------------------------------------------------

# pick N: ORDER, the N VMs of the next round: half of them (the odd one
# alternating) from each host, each half a seeded draw; the first of each
# half travels compressed.  Every round thus has the same shape -- as
# many migrations each way, one compressed each way -- and so the same
# peak of memory in both daemons.
pick() {
	local n=$1 h k i j t vm
	local -a at
	ORDER=()
	ZSTD=()
	for h in a b; do
		k=$(((n + ROUND % 2) / 2))
		[ "$h" = a ] || k=$((n - k))
		at=()
		for vm in "${VMS[@]}"; do
			[ "${HOST[$vm]}" != "$h" ] || at+=("$vm")
		done
		for ((i = ${#at[@]} - 1; i > 0; i--)); do
			rnd $((i + 1))
			j=$R
			t=${at[$i]}
			at[i]=${at[j]}
			at[j]=$t
		done
		[ "$k" -le "${#at[@]}" ] || k=${#at[@]}
		[ "$k" = 0 ] || ZSTD+=("${at[0]}")
		ORDER+=("${at[@]:0:$k}")
	done
}

# usecs: the wall clock in microseconds.
usecs() {
	echo "${EPOCHREALTIME/./}"
}

# stuck VM: a migration that did not end in MIG_TIMEOUT s: both hosts' jobs.
stuck() {
	local vm=$1 h
	for h in a b; do
		echo "--- jobs at $h" >&2
		"$GISACTL" --socket "$T/$h/control" job list >&2 || true
	done
	fail "the migration of $vm did not end within $MIG_TIMEOUT s (stuck)"
}

DONE=0
ROUND=0
NFORGOT=0
NZSTD=0
ZSTD=()
check_all
record 0
while [ "$DONE" -lt "$MIGRATIONS" ]; do
	pick $((MIGRATIONS - DONE < PAR ? MIGRATIONS - DONE : PAR))
	n=${#ORDER[@]}
	MP=()
	t0=$(usecs)
	for ((i = 0; i < n; i++)); do
		vm=${ORDER[$i]}
		src=${HOST[$vm]}
		dst=$(other "$src")
		comp=()
		if [[ " ${ZSTD[*]} " == *" $vm "* ]]; then
			comp=(--compression zstd)
			NZSTD=$((NZSTD + 1))
		fi
		(
			rc=0
			t=$(usecs)
			timeout "$MIG_TIMEOUT" "$GISACTL" --socket "$T/$src/control" --json migrate \
				"$vm" "tls://127.0.0.1:${PORT[$dst]}" "${comp[@]}" \
				>"$T/m/$i.out" 2>"$T/m/$i.err" || rc=$?
			echo "$rc $((($(usecs) - t) / 1000))" >"$T/m/$i.rc"
		) &
		MP+=("$!")
	done
	for p in "${MP[@]}"; do
		wait "$p"
	done
	t1=$(usecs)
	slow_ms=0
	slow_vm=
	for ((i = 0; i < n; i++)); do
		vm=${ORDER[$i]}
		src=${HOST[$vm]}
		dst=$(other "$src")
		read -r rc ms <"$T/m/$i.rc"
		[ "$rc" != 124 ] || stuck "$vm"
		[ "$rc" = 0 ] || fail "migrate $vm $src -> $dst exited $rc:
$(head -c 3000 "$T/m/$i.out")
$(head -c 3000 "$T/m/$i.err")"
		jis type completed "$T/m/$i.out"
		jis migration.phase committed "$T/m/$i.out"
		jis migration.digests_match true "$T/m/$i.out"
		HOST[$vm]=$dst
		NMIG[$vm]=$((NMIG[$vm] + 1))
		if [ "$ms" -gt "$slow_ms" ]; then
			slow_ms=$ms
			slow_vm="$vm ($src -> $dst)"
		fi
	done
	DONE=$((DONE + n))
	ROUND=$((ROUND + 1))
	check_all
	# Forget some retired listings: the VM then comes back to a host that
	# does not know it, the others replace their listing.
	for ((i = 0; i < n; i++)); do
		vm=${ORDER[$i]}
		rnd 2
		if [ "$R" = 1 ]; then
			g 0 "$(other "${HOST[$vm]}")" vm destroy "$vm"
			NFORGOT=$((NFORGOT + 1))
		fi
	done
	t2=$(usecs)
	echo "round $ROUND: $n migrations in $(((t1 - t0) / 1000)) ms (slowest ${slow_ms} ms:" \
		"$slow_vm), checks $(((t2 - t1) / 1000)) ms"
	jobs_round
	record "$DONE"
	# At the end of the warm-up both daemons keep 16 outcomes (in a long
	# run): a reload raises the cap, and the next outcomes must find room.
	if [ -n "$BASE_DONE" ] && [ -z "${RAISED:-}" ]; then
		RAISED=1
		for h in a b; do
			conf "$h" "${limits[@]}" outcome_records=24
			reload "$h"
		done
	fi
done
echo "ok: $DONE migrations in $ROUND rounds ($NZSTD with zstd), every one committed with" \
	"matching digests; every VM active at one host only after each round;" \
	"$NFORGOT retired listings forgotten"

# ---- no growth -------------------------------------------------------------------------

print_table
[ -n "$BASE_DONE" ] || fail "no measurement after $WARMUP migrations to compare with"
bad=0
for h in a b; do
	brss=${BASE_RSS[$h]}
	bfds=${BASE_FDS[$h]}
	# Measured again with the load still running (its connections count);
	# the RSS the lower of this and the last row's.
	read -r rss fds <<<"$(measure "$h")"
	# A descriptor may close just after a migration's job ended.
	for _ in $(seq 1 50); do
		[ "$fds" -ne "$bfds" ] || break
		sleep 0.1
		read -r rss fds <<<"$(measure "$h")"
	done
	[ "$rss" -le "${LAST_RSS[$h]}" ] || rss=${LAST_RSS[$h]}
	tol=$((brss * RSS_TOL_PCT / 100 > RSS_TOL_KB ? brss * RSS_TOL_PCT / 100 : RSS_TOL_KB))
	grow=$((rss - brss))
	per=$(awk -v g="$grow" -v n=$((DONE - BASE_DONE)) 'BEGIN { printf "%.1f", n ? g / n : 0 }')
	echo "  $h: rss ${brss} -> ${rss} KiB (${grow} KiB, ${per} KiB per migration; allowed $tol)," \
		"fds $bfds -> $fds"
	if [ "$fds" != "$bfds" ]; then
		echo "FAIL: gisad $h holds $fds descriptors, $bfds after $BASE_DONE migrations:" >&2
		ls -l "/proc/${DPID[$h]}/fd" >&2 || true
		bad=1
	fi
	if [ "$grow" -ge "$tol" ]; then
		echo "FAIL: gisad $h's RSS grew by $grow KiB since $BASE_DONE migrations (allowed: $tol)" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] || fail "the daemons grew from round to round (table above)"
echo "ok: no growth from migration $BASE_DONE to $DONE (RSS within max(8 MiB, 10 %) of the" \
	"warm-up's peak, fds equal)"

# ---- exactly once ----------------------------------------------------------------------

touch "$STOP"
for p in "${LPIDS[@]}"; do
	wait "$p" || fail "a load generator failed: $(cat "$T"/load/loader*.out)"
done
acc=0 ref=0 del=0 pend=0 sw=0 moved=0
for vm in "${VMS[@]}"; do
	h=${HOST[$vm]}
	g 0 "$h" snapshot export "$vm" "$T/exp/$vm.gsnap"
	"$TOOL" check "$T/exp/$vm.gsnap" "$T/load/$vm.log" >"$T/check.out" 2>&1 ||
		fail "exactly once, $vm (at $h after ${NMIG[$vm]} migrations): $(cat "$T/check.out")"
	line=$(grep -h "^$vm at=" "$T"/load/loader*.out)
	fin=${line#* at=}
	[ "${fin:0:1}" = "$h" ] || fail "the load of $vm ended at another host than $h: $line"
	a=$(sed "s/^accepted=\([0-9]*\) .*/\1/" "$T/check.out")
	[ "$a" -gt 0 ] || fail "no injection of $vm was accepted: $(cat "$T/check.out")"
	acc=$((acc + a))
	ref=$((ref + $(sed 's/.* refused=\([0-9]*\) .*/\1/' "$T/check.out")))
	del=$((del + $(sed 's/.* delivered=\([0-9]*\) .*/\1/' "$T/check.out")))
	pend=$((pend + $(sed 's/.* pending=\([0-9]*\) .*/\1/' "$T/check.out")))
	# One -ENOENT per migration, at the old host: the VM was never at neither.
	s=${line##* switches=}
	[ "$s" = "${NMIG[$vm]}" ] || fail "the load of $vm changed hosts $s times (-ENOENT)," \
		"the VM migrated ${NMIG[$vm]} times (its log: load/$vm.log; MIG_SOAK_KEEP=1 keeps it)"
	sw=$((sw + s))
	[ "${NMIG[$vm]}" = 0 ] || moved=$((moved + 1))
done
echo "ok: exactly once for all $NVMS VMs ($moved migrated at least once): $acc I/O records" \
	"accepted, $ref refused, $del delivered, $pend pending; the load followed its VMs $sw times"
grep -h "first refusal" "$T"/load/loader*.out | head -n 2 | sed 's/^/     (/; s/$/)/' || true

# ---- jobs ------------------------------------------------------------------------------

# Each daemon reported a completed job for every migration it took part in
# (counted round by round: jobs_round).
if [ $((NOUT[a] + NOUT[b])) != "$DONE" ] || [ "${NOUT[a]}" != "${NIN[b]}" ] ||
	[ "${NOUT[b]}" != "${NIN[a]}" ]; then
	fail "jobs: a out ${NOUT[a]} in ${NIN[a]}, b out ${NOUT[b]} in ${NIN[b]}; $DONE migrations"
fi
echo "ok: jobs: a -> b ${NOUT[a]}, b -> a ${NOUT[b]}, each completed at both ends"

stop a
stop b
for h in a b; do
	if grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/$h/log"; then
		grep -E -A20 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$T/$h/log" | head -n 60 >&2
		fail "gisad $h's log holds a sanitizer report"
	fi
done
echo "ok: load and soak, $NVMS VMs, $DONE migrations ($((SECONDS - T_START)) s)"
