#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults during live migrations (docs/MIGRATION-PROTOCOL.md, sections 6 and
# 7 and the fault table): two real gisad on 127.0.0.1, source A and
# destination B, with mig-proxy between them (A migrates to the proxy, the
# proxy forwards to B's listener and does one fault to the migration's
# connection; A's outcome queries come as later connections and pass).
#
#  0. A clean migration through the proxy, traced: where each message's
#     TLS records lie in both directions (the map every fault below aims
#     with); and one with two precopy rounds.
#  1. The connection cut at seeded points over the whole migration, both
#     directions (MIG_FAULTS_OFFSETS, default 100; MIG_FAULTS_SEED;
#     MIG_FAULTS_POINTS="up r29+93, down r11+0" replays points), each
#     on a fresh VM: the end state is always one of the two the rules
#     allow -- resumed (A's job failed or cancelled, the VM active at A
#     with its digest, nothing at B, B's job discarded) or committed (the
#     VM active at B with A's digest, A lists it as migrated and refuses
#     it, A's job completed, possibly after a doubt) -- and the one the
#     fault table names for that point.
#  2. Cuts in each phase: hello, begin, ready, round 0, round 1,
#     the final delta in flight, after its END, the outcome held back,
#     after COMMITTED was sent; the destination stopped (and started)
#     before MigConfirm, with an interrupt accepted since its activation.
#  3. The destination killed before and after its commit, then restarted.
#  4. The source killed in doubt, then restarted, with the destination
#     committed, and with the destination discarded.
#  5. An operator's `job resolve' (resumed, committed) while the
#     destination is down, and while it is up but leaves A's queries
#     unanswered; resolve refused for done, unknown and precopy jobs;
#     abort in precopy.
#  6. After every case both daemons answer a ping and none crashed (exit
#     statuses, sanitizer reports in the logs).
#
# Each case runs in a subshell of its own: a failure is reported with the
# logs' tails, the daemons are brought back, the next case runs, and the
# test fails at the end naming every failed case.  MIG_FAULTS_KEEP=1 keeps
# the temporary directory (logs, proxy traces, the record maps).

# `test && test || fail': fail is meant whenever either test is false.
# shellcheck disable=SC2015
set -euo pipefail

: "${GISAD:?GISAD must name the gisad binary}"
: "${GISACTL:?GISACTL must name the gisactl binary}"
: "${MAKE_CERTS:?MAKE_CERTS must name the make-certs binary}"
: "${MIG_PROXY:?MIG_PROXY must name the mig-proxy binary}"
: "${CTL:?CTL must name the ctl-client binary}"

OFFSETS=${MIG_FAULTS_OFFSETS:-100}
SEED=${MIG_FAULTS_SEED:-20241121}
KEEP=${MIG_FAULTS_KEEP:-0}
STALL_MS=2000           # the daemons' stall, idle and handshake timeouts
IO_RECORDS=20000        # the test VM's I/O interruptions: round 0 is ~320 KB, 2 chunks

T=$(mktemp -d "${TMPDIR:-/tmp}/gisad-fx.XXXXXX")
C=$T/certs
GROUP=$(id -gn)
declare -A PORT=([a]=0 [b]=0)
declare -A EXTRA=([a]= [b]=)    # more gisad.conf lines
PXLOG=/dev/null
PXN=0
CASE='set-up'
FAILED=()
T0=$SECONDS

# Process ids live in files ($T/a/pid, $T/px/pid), so that a case's
# subshell can restart a daemon and the next case still finds it.
cleanup() {
	local f

	for f in "$T/px/pid" "$T/a/pid" "$T/b/pid"; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	wait 2>/dev/null || true
	if [ "$KEEP" = 1 ]; then
		echo "kept: $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

fail() {
	local x

	echo "FAIL [$CASE]: $*" >&2
	for x in a b; do
		echo "--- gisad $x log (last 20 lines)" >&2
		tail -n 20 "$T/$x/gisad.log" >&2 2>/dev/null || true
	done
	echo "--- proxy log $PXLOG (last 10 lines)" >&2
	tail -n 10 "$PXLOG" >&2 2>/dev/null || true
	exit 1
}

say() {
	printf '[%4ds] %s\n' $((SECONDS - T0)) "$*"
}

# ---- two daemons ----------------------------------------------------------------
#
# A and B each live in $T/a and $T/b: socket, state directory, log, and
# the pid and (once it exited) the exit status of the running gisad,
# written by a small wrapper since the shell that waits may be another.
# B's listener port is picked by the kernel at its first start and kept
# on restarts: the proxies (and A's in-doubt records) point at it.

g() {
	"$GISACTL" --socket "$T/$1/run/control" "${@:2}"
}

conf() {
	cat >"$T/$1/gisad.conf" <<CONF
[gisad]
socket = $T/$1/run/control
state_dir = $T/$1/state
group = $GROUP
log_level = debug
migration_listen = 127.0.0.1:${PORT[$1]}
tls_ca = $C/ca.crt
tls_cert = $C/host-a.crt
tls_key = $C/host-a.key
tls_allow = host-a
handshake_timeout_ms = $STALL_MS
idle_timeout_ms = $STALL_MS
migration_stall_timeout_ms = $STALL_MS
${EXTRA[$1]}
CONF
}

# reload_d X: gisad X reads its gisad.conf again (SIGHUP).
reload_d() {
	local n

	n=$(grep -c 'SIGHUP: configuration reloaded' "$T/$1/gisad.log" || true)
	conf "$1"
	kill -HUP "$(cat "$T/$1/pid")"
	for _ in $(seq 1 200); do
		[ "$(grep -c 'SIGHUP: configuration reloaded' "$T/$1/gisad.log" || true)" -gt "$n" ] &&
			return 0
		sleep 0.02
	done
	fail "gisad $1 did not reload its configuration"
}

up() {
	[ -f "$T/$1/pid" ]
}

start_d() {
	local x=$1 n p

	mkdir -p "$T/$x"
	touch "$T/$x/gisad.log"
	rm -f "$T/$x/rc"
	n=$(grep -c 'migration: listening on' "$T/$x/gisad.log" || true)
	conf "$x"
	(
		"$GISAD" --foreground --config "$T/$x/gisad.conf" 2>>"$T/$x/gisad.log" </dev/null &
		echo $! >"$T/$x/pid"
		rc=0
		wait $! || rc=$?
		{ echo "$rc" >"$T/$x/rc"; } 2>/dev/null || true
	) &
	for _ in $(seq 1 200); do
		[ -f "$T/$x/rc" ] && fail "gisad $x exited during start-up with $(cat "$T/$x/rc")"
		[ -f "$T/$x/pid" ] && g "$x" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	g "$x" ping >/dev/null 2>&1 || fail "gisad $x did not answer a ping within 10 s"
	p=$(sed -n 's/.*migration: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' \
		"$T/$x/gisad.log" | sed -n "$((n + 1))p")
	[ -n "$p" ] || fail "gisad $x logged no \`listening on' line"
	[ "${PORT[$x]}" = 0 ] || [ "$p" = "${PORT[$x]}" ] || fail "gisad $x listens on $p"
	PORT[$x]=$p
}

# end_d X SIGNAL STATUS: signal gisad X, which must exit with STATUS.
end_d() {
	local rc

	kill "-$2" "$(cat "$T/$1/pid")"
	for _ in $(seq 1 600); do
		[ -f "$T/$1/rc" ] && break
		sleep 0.05
	done
	[ -f "$T/$1/rc" ] || fail "gisad $1 still runs 30 s after SIG$2"
	rc=$(cat "$T/$1/rc")
	rm -f "$T/$1/pid"
	[ "$rc" -eq "$3" ] || fail "gisad $1 exited with $rc on SIG$2, expected $3"
}

stop_d() {
	end_d "$1" TERM 0
}

kill_d() {
	end_d "$1" KILL 137
}

# healthy: every daemon that should run answers a ping, none exited, no
# sanitizer spoke.
healthy() {
	local x

	for x in a b; do
		up "$x" || continue
		[ ! -f "$T/$x/rc" ] || fail "gisad $x exited with $(cat "$T/$x/rc")"
		g "$x" ping >/dev/null 2>&1 || fail "gisad $x does not answer a ping"
	done
	if grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' \
		"$T/a/gisad.log" "$T/b/gisad.log" >&2; then
		fail "a sanitizer report in the log above"
	fi
}

# log_wait X REGEX [SECONDS]: a line of X's log matches.
log_wait() {
	local i

	for ((i = 0; i < ${3:-10} * 20; i++)); do
		grep -Eq -- "$2" "$T/$1/gisad.log" && return 0
		sleep 0.05
	done
	fail "no line of gisad $1's log matches /$2/"
}

# ---- gisactl --json, flattened ------------------------------------------------------
#
# gisactl's JSON has one element per line; jflat turns it into PATH=VALUE
# lines (jobs.0.migration.phase=committed), strings unquoted, null as is.

jflat() {
	awk '
	function emit(k, v) {
		sub(/,$/, "", v)
		if (v ~ /^".*"$/)
			v = substr(v, 2, length(v) - 2)
		print (path == "" ? k : path "." k) "=" v
	}
	function push(k) {
		stack[++sp] = k
		path = path == "" ? k : path "." k
	}
	function pop() {
		if (sp > 0)
			sp--
		path = ""
		for (i = 1; i <= sp; i++)
			path = path == "" ? stack[i] : path "." stack[i]
	}
	{
		line = $0
		sub(/^[ \t]+/, "", line)
		sub(/[ \t]+$/, "", line)
	}
	NR == 1 && line == "{" { next }
	line ~ /^[}\]],?$/ { pop(); next }
	line == "{" { push(idx[sp]++); next }
	match(line, /^"[^"]*": /) {
		k = substr(line, 2, RLENGTH - 4)
		v = substr(line, RLENGTH + 1)
		if (v == "{") {
			push(k)
		} else if (v == "[") {
			push(k)
			idx[sp] = 0
		} else {
			emit(k, v)
		}
		next
	}
	{ emit(idx[sp]++, line) }'
}

# gj X ARGS: gisactl --json ARGS, flattened (any exit status).
gj() {
	g "$1" --json "${@:2}" 2>/dev/null | jflat || true
}

# jv FLAT KEY: the value of KEY.
jv() {
	printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1
}

# jobs_of X VM OPERATION: "ID TYPE PHASE" of each such job of X.
jobs_of() {
	gj "$1" job list | awk -F= -v vm="$2" -v op="$3" '
	match($1, /^jobs\.[0-9]+\./) {
		i = substr($1, 6, RLENGTH - 6)
		v[i, substr($1, RLENGTH + 1)] = $2
		ids[i] = 1
	}
	END {
		for (i in ids)
			if (v[i, "vm"] == vm && v[i, "operation"] == op)
				print v[i, "id"], v[i, "type"], v[i, "migration.phase"]
	}' | sort -n
}

# vm_state X VM: the VM's migration state at X (none, outgoing, frozen,
# in-doubt, migrated), or absent.
vm_state() {
	gj "$1" vm list | awk -F= -v vm="$2" '
	match($1, /^vms\.[0-9]+\./) {
		i = substr($1, 5, RLENGTH - 5)
		v[i, substr($1, RLENGTH + 1)] = $2
		ids[i] = 1
	}
	END {
		s = "absent"
		for (i in ids)
			if (v[i, "name"] == vm)
				s = v[i, "migration"]
		print s
	}'
}

final_type() {
	case "$1" in completed | failed | cancelled) return 0 ;; esac
	return 1
}

# job_wait X ID [SECONDS]: until the job is final; JOBJ its last status.
job_wait() {
	local i

	for ((i = 0; i < ${3:-60} * 10; i++)); do
		JOBJ=$(gj "$1" job status "$2")
		final_type "$(jv "$JOBJ" type)" && return 0
		sleep 0.1
	done
	fail "job $2 at $1 is not final after ${3:-60} s: $(jv "$JOBJ" type)," \
		"phase $(jv "$JOBJ" migration.phase)"
}

# phase_wait X ID PHASE [SECONDS]: the job's migration phase.
phase_wait() {
	local i j

	for ((i = 0; i < ${4:-10} * 10; i++)); do
		j=$(gj "$1" job status "$2")
		[ "$(jv "$j" migration.phase)" = "$3" ] && return 0
		sleep 0.1
	done
	fail "job $2 at $1 is in phase $(jv "$j" migration.phase), not $3"
}

# in_wait VM: every migrate-in job of VM at B is final.
in_wait() {
	local i busy

	for ((i = 0; i < 150; i++)); do
		busy=$(jobs_of b "$1" migrate-in | awk '$2 !~ /^(completed|failed|cancelled)$/')
		[ -z "$busy" ] && return 0
		sleep 0.1
	done
	fail "B's migrate-in job of $1 is still running: $busy"
}

# ---- the VMs ------------------------------------------------------------------------

# io_records N SEED: N distinct 72-byte I/O interruption records
# (KVM_S390_INT_IO(0, 0, 1, n), u.io {1, n, PARM, ISC << 27}), big-endian.
io_records() {
	local n=$1 x=$2 i rec z fmt

	printf -v z '%0104d' 0
	z=${z//00/\\x00}
	fmt='\\x00\\x00\\x00\\x00\\x00\\x01\\x%02x\\x%02x\\x00\\x01\\x%02x\\x%02x'
	fmt+='\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00%s'
	for ((i = 0; i < n; i++)); do
		x=$(((x * 1103515245 + 12345) % 2147483648))
		# shellcheck disable=SC2059 # the format is the record's layout
		printf -v rec "$fmt" $(((i >> 8) & 255)) $((i & 255)) $(((i >> 8) & 255)) \
			$((i & 255)) $((x >> 23)) $(((x >> 15) & 255)) $(((x >> 7) & 255)) \
			$((x & 255)) $(((i % 8) << 3)) "$z"
		printf '%b' "$rec"
	done
}

# new_vm NAME: a VM at A with the test state, its UUID made of its name
# (names are unique and of one length, which keeps the records of every
# run alike); DG its digest.
new_vm() {
	local hex='' i

	for ((i = 0; i < ${#1}; i++)); do
		hex+=$(printf '%02x' "'${1:i:1}")
	done
	g a vm create "$1" --caps gisa --uuid "00000000-0000-4000-8000-00$hex" >/dev/null ||
		fail "vm create $1"
	g a irq inject "$1" "$T/state.irq" >/dev/null || fail "irq inject $1"
	DG=$(g a vm digest "$1") || fail "vm digest $1"
}

# forget VM: gone from both daemons, and their finished jobs with it.
forget() {
	local x

	for x in a b; do
		up "$x" || continue
		[ "$(vm_state "$x" "$1")" = absent ] || g "$x" vm destroy "$1" >/dev/null ||
			fail "vm destroy $1 at $x"
		g "$x" job clear >/dev/null || fail "job clear at $x"
	done
}

# ---- the proxy ----------------------------------------------------------------------

# proxy_start ACTION [OPTION...]: a new traced proxy to B; URI points at it.
proxy_start() {
	local i

	proxy_stop
	PXN=$((PXN + 1))
	PXLOG=$T/px/$CASE_NO.$PXN.log
	PXCTL=$T/px/ctl
	rm -f "$PXCTL"
	"$MIG_PROXY" -t -c "$PXCTL" "${@:2}" "${PORT[b]}" "$1" >"$PXLOG" </dev/null &
	echo $! >"$T/px/pid"
	for ((i = 0; i < 100; i++)); do
		[ -s "$PXLOG" ] && break
		sleep 0.02
	done
	URI=tls://127.0.0.1:$(head -n 1 "$PXLOG")
	[ "$URI" != tls://127.0.0.1: ] || fail "the proxy printed no port"
}

# proxy_stop: the proxy goes (reaped when this shell started it).
proxy_stop() {
	local p

	[ -f "$T/px/pid" ] || return 0
	p=$(cat "$T/px/pid")
	rm -f "$T/px/pid"
	kill -TERM "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# proxy_ctl ACTION: the next action for the proxy's connection 1.
proxy_ctl() {
	local i

	echo "$1" >"$PXCTL.tmp"
	mv "$PXCTL.tmp" "$PXCTL"
	for ((i = 0; i < 100; i++)); do
		[ -e "$PXCTL" ] || return 0
		sleep 0.02
	done
	fail "the proxy did not take \`$1'"
}

# pause_wait N: the proxy's connection 1 paused N times.
pause_wait() {
	local i

	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^conn 1: paused' "$PXLOG")" -ge "$1" ] && return 0
		sleep 0.02
	done
	fail "the proxy did not pause a ${1}th time"
}

# proxy_wait REGEX [SECONDS]: a line of the proxy's log matches.
proxy_wait() {
	local i

	for ((i = 0; i < ${2:-10} * 50; i++)); do
		grep -Eq -- "$1" "$PXLOG" && return 0
		sleep 0.02
	done
	fail "no line of the proxy's log matches /$1/"
}

# trace_map LOG: connection 1's TLS records, a line each:
#   DIR INDEX START LENGTH PHASE
# The protocol is a dialogue, so the order in which the proxy met the
# records names them: after the handshake (each side's records up to the
# source's third, which follows the destination's whole flight), down:
# hello ready ack0 ack1 ... outcome, then close_notify (19 bytes: an
# alert, no frame is that short); up: hello (the last before the
# destination's), begin (the first after it), then round 0 (it follows
# MigBegin without waiting for ready, so ready may come anywhere in it or
# after it) and round R until ack R, the final delta ("switchover") until
# the outcome, then confirm.
trace_map() {
	awk -v tracked="${2:-0}" '
	$1 == "conn" && $2 == "1:" && $4 == "record" {
		n++
		d[n] = $3; i[n] = $5; at[n] = $7; len[n] = $9
	}
	END {
		post = 0
		for (k = 1; k <= n; k++) {
			if (d[k] == "up" && i[k] >= 3)
				post = 1
			p[k] = post
			if (d[k] == "down" && post && len[k] != 19)
				dn[++m] = k
		}
		# A tracked switchover (protocol version 2) ends with MigDigest.
		if (tracked)
			lab[dn[m--]] = "digest"
		for (j = 1; j <= m; j++)
			lab[dn[j]] = j == 1 ? "hello" : j == 2 ? "ready" : j == m ? "outcome" : \
				"ack" (j - 3)
		c = 0
		for (k = 1; k <= n; k++) {
			if (d[k] == "down") {
				if (lab[k] == "digest")
					continue
				if (!p[k])
					lab[k] = "tls"
				else if (len[k] == 19)
					lab[k] = "close"
				else
					c++
				continue
			}
			if (len[k] == 19 && c == m)
				lab[k] = "close"
			else if (c == 0)
				lab[k] = "tls"
			else if (c == 1 && !begun++)
				lab[k] = "begin"
			else if (c <= 2)
				lab[k] = "round0"
			else if (c < m - 1)
				lab[k] = "round" (c - 2)
			else if (c == m - 1)
				lab[k] = "switchover"
			else
				lab[k] = "confirm"
			if (c == 0)
				last0 = k
		}
		lab[last0] = "hello"
		for (k = 1; k <= n; k++)
			print d[k], i[k], at[k], len[k], lab[k]
	}' "$1"
}

# rec MAP DIR PHASE [first|last|mid]: the index of that record.
rec() {
	awk -v d="$2" -v p="$3" -v w="${4:-first}" '
	$1 == d && $5 == p { r[++n] = $2 }
	END {
		if (n)
			print w == "first" ? r[1] : w == "last" ? r[n] : r[int((n + 1) / 2)]
	}' "$1"
}

# ---- the end state ------------------------------------------------------------------
#
# check_end VM DIGEST JOB [restarted]: after a fault, A's job reaches a
# final state (its in-doubt queries included) and both daemons show one of
# the two end states the rules allow; OUTCOME is resumed or committed.
# With `restarted' (a daemon restarted since the migration began) B's jobs
# are not looked at.

check_end() {
	local vm=$1 dg=$2 job=$3 type phase sa sb got injobs

	job_wait a "$job"
	type=$(jv "$JOBJ" type)
	phase=$(jv "$JOBJ" migration.phase)
	[ "${4:-}" = restarted ] || in_wait "$vm"
	sa=$(vm_state a "$vm")
	sb=$(vm_state b "$vm")
	injobs=$(jobs_of b "$vm" migrate-in)
	[ "$sa" != none ] || [ "$sb" != none ] ||
		fail "VM $vm is active on both hosts (job $job $type, phase $phase)"
	[ "$sa" = none ] || [ "$sb" = none ] ||
		fail "VM $vm is active on neither host: at A $sa, at B $sb (job $job $type," \
			"phase $phase: $(jv "$JOBJ" error_message))"
	case "$type/$phase" in
	failed/resumed | cancelled/resumed)
		OUTCOME=resumed
		[ "$sa" = none ] || fail "job $job $type, but VM $vm at A is $sa, not active"
		[ "$sb" = absent ] || fail "VM $vm active at A and present at B ($sb)"
		got=$(g a vm digest "$vm") || fail "vm digest $vm at A"
		[ "$got" = "$dg" ] || fail "VM $vm resumed with digest $got, expected $dg"
		[ -z "$injobs" ] || [ -z "$(echo "$injobs" | awk '$3 != "discarded"')" ] ||
			fail "B's migrate-in job of $vm is not discarded: $injobs"
		[ -z "$injobs" ] ||
			[ -z "$(echo "$injobs" | awk '$2 != "failed" && $2 != "cancelled"')" ] ||
			fail "B's discarded migrate-in job of $vm did not fail: $injobs"
		;;
	completed/committed)
		OUTCOME=committed
		[ "$sa" = migrated ] || fail "job $job completed, but VM $vm at A is $sa"
		[ "$sb" = none ] || fail "job $job completed, but VM $vm at B is $sb"
		got=$(g b vm digest "$vm") || fail "vm digest $vm at B"
		[ "$got" = "$dg" ] || fail "VM $vm arrived with digest $got, expected $dg"
		[ "$(jv "$JOBJ" migration.source_digest)" = "$dg" ] ||
			fail "job $job's source digest is not $dg"
		[ "$(jv "$JOBJ" migration.digests_match)" != false ] ||
			fail "job $job says the digests differ"
		got=$(g a --json irq inject "$vm" --hex "$(printf '%0144d' 0)" 2>/dev/null | jflat || true)
		[ "$(jv "$got" error.code)" = ENOENT ] &&
			grep -q "migrated to .*: it is active there, not here" <<<"$(jv "$got" error.message)" ||
			fail "A does not refuse irq inject on migrated VM $vm: $got"
		if [ "${4:-}" != restarted ]; then
			[ "$(echo "$injobs" | awk '{ print $2 "/" $3 }')" = completed/committed ] ||
				fail "B's migrate-in jobs of $vm: $injobs, expected one completed/committed"
		fi
		;;
	*)
		fail "job $job of VM $vm ended $type in phase $phase: neither resumed nor committed"
		;;
	esac
}

# migrate VM [OPTION...]: start the migration to $URI; JOB its id at A.
# Without options, a downtime budget of a minute: a single precopy round,
# as in the clean map, however slow this machine is.
migrate() {
	local j opts=("${@:2}")

	[ $# -gt 1 ] || opts=(--downtime 60000)
	j=$(gj a migrate "$1" "$URI" --detach "${opts[@]}")
	JOB=$(jv "$j" id)
	[ -n "$JOB" ] || fail "migrate $1 $URI: $j"
}

# frozen VM: past its IN_DOUBT record at A (MigSwitchover was sent).
frozen() {
	local s

	s=$(vm_state a "$1")
	[ "$s" = frozen ] || [ "$s" = in-doubt ] || fail "VM $1 at A is $s, not frozen"
}

# refused_frozen VM STATES: A refuses an engine verb on VM (EAGAIN, the
# migration state one of STATES, a regex).
refused_frozen() {
	local j

	j=$(g a --json irq inject "$1" --hex "$(printf '%0144d' 0)" 2>/dev/null | jflat || true)
	[ "$(jv "$j" error.code)" = EAGAIN ] && [[ "$(jv "$j" error.migration)" =~ ^($2)$ ]] ||
		fail "irq inject on VM $1 at A: expected EAGAIN, migration $2: $j"
}

# ---- cases --------------------------------------------------------------------------

# case_run NAME FUNCTION [ARG...]: one case in a subshell: a failure is
# counted and reported (fail says what and shows the logs), the proxy is
# stopped, any daemon the case left down is started again, and the test
# goes on.
CASE_NO=0
case_run() {
	local rc=0 x

	CASE_NO=$((CASE_NO + 1))
	CASE=$1
	("${@:2}") &
	wait $! || rc=$?
	proxy_stop
	if [ "$rc" -ne 0 ]; then
		FAILED+=("$1")
		# fail exits 1; another status is a command that failed unchecked
		[ "$rc" -eq 1 ] || echo "FAIL [$1]: a command failed (status $rc)" >&2
		for x in a b; do
			if up "$x" && [ -f "$T/$x/rc" ]; then
				echo "gisad $x had exited with $(cat "$T/$x/rc"): started again" >&2
				rm -f "$T/$x/pid"
			fi
			up "$x" || start_d "$x"
		done
	fi
	CASE='between cases'
	healthy
}

# ---- set-up ---------------------------------------------------------------------------

mkdir -p "$T/px"
"$MAKE_CERTS" "$C" >/dev/null || fail "make-certs failed"
io_records "$IO_RECORDS" 7 >"$T/state.irq"
io_records 40 99 >"$T/more.irq"
start_d a
start_d b
say "A and B up; B listens on ${PORT[b]}"

# ---- 0. the clean migrations, traced (every case below depends on them) -----------------

CASE='clean'
new_vm c0000
proxy_start go
migrate c0000
check_end c0000 "$DG" "$JOB"
[ "$OUTCOME" = committed ] || fail "the clean migration did not commit"
[ "$(jv "$JOBJ" migration.rounds)" = 1 ] || fail "the clean migration took several rounds"
proxy_wait '^conn 1: closed'
# Protocol version 2 between A and B: the final delta is tracked.
grep -q "frozen, tracked final delta" "$T/a/gisad.log" ||
	fail "the clean migration's switchover was not tracked"
trace_map "$PXLOG" 1 >"$T/map"
UP_TOTAL=$(sed -n 's/^conn 1: closed: up \([0-9]*\) down.*/\1/p' "$PXLOG")
DOWN_TOTAL=$(sed -n 's/^conn 1: closed: up [0-9]* down \([0-9]*\),.*/\1/p' "$PXLOG")
R_HELLO=$(rec "$T/map" up hello)
R_BEGIN=$(rec "$T/map" up begin)
R_READY=$(rec "$T/map" down ready)
R_ROUND0=$(rec "$T/map" up round0 mid)
R_SWITCH=$(rec "$T/map" up switchover)
R_CONFIRM=$(rec "$T/map" up confirm)
R_OUTCOME=$(rec "$T/map" down outcome)
R_DIGEST=$(rec "$T/map" down digest)
for v in R_HELLO R_BEGIN R_READY R_ROUND0 R_SWITCH R_CONFIRM R_OUTCOME R_DIGEST; do
	[ -n "${!v}" ] || fail "the clean trace has no record for $v:
$(cat "$T/map")"
done
forget c0000
proxy_stop
say "clean: up $UP_TOTAL bytes in $(grep -c '^up' "$T/map") records, down $DOWN_TOTAL in" \
	"$(grep -c '^down' "$T/map"); up: hello r$R_HELLO, begin r$R_BEGIN, round 0 around" \
	"r$R_ROUND0, final delta r$R_SWITCH, confirm r$R_CONFIRM; down: ready r$R_READY," \
	"outcome r$R_OUTCOME"
healthy

# Two rounds: B's ack of round 0 is held 800 ms while A's VM takes 40
# more interruptions.  The round trip and the delta it now needs then
# cannot fit a 1 ms downtime budget: A sends them as round 1, and
# switches over after it (--max-rounds 2).  (More rounds cannot be forced
# from outside: precopy also ends when its prediction stops falling.)
R_ACK0=$(rec "$T/map" down ack0)
[ -n "$R_ACK0" ] || fail "the clean trace has no ack of round 0"
# The ack is held from the end of MigReady's record, not from its own
# record: a busy B can write MigReady and the ack in one record, and a
# pause at the ack's record number would then fall on a later one.  Cut
# inside such a record, the proxy holds both.
[ "$R_ACK0" = $((R_READY + 1)) ] || fail "records between MigReady and the ack of round 0:
$(cat "$T/map")"
ACK0_AT="r$R_READY+$(awk -v r="$R_READY" '$1 == "down" && $2 == r { print $4 + 5 }' "$T/map")"
# two_rounds VM: that migration, up to the held ack's release; DG is the
# digest after the 40 interruptions.
two_rounds() {
	new_vm "$1"
	proxy_start "pause:down:$ACK0_AT"
	migrate "$1" --downtime 1 --max-rounds 2
	pause_wait 1
	[ "$(vm_state a "$1")" = outgoing ] || fail "$1 is $(vm_state a "$1") in precopy"
	g a irq inject "$1" "$T/more.irq" >/dev/null || fail "A refuses interruptions in precopy"
	DG=$(g a vm digest "$1") || fail "vm digest $1"
	sleep 0.8
}

CASE='clean, 2 rounds'
two_rounds c0001
proxy_ctl go
check_end c0001 "$DG" "$JOB"
[ "$OUTCOME" = committed ] || fail "the 2-round migration did not commit"
[ "$(jv "$JOBJ" migration.rounds)" = 2 ] ||
	fail "$(jv "$JOBJ" migration.rounds) rounds, expected 2"
[ "$(jv "$JOBJ" migration.round_bytes.1)" -gt 100 ] ||
	fail "round 1 carried $(jv "$JOBJ" migration.round_bytes.1) bytes, not the interruptions"
forget c0001
proxy_stop
say "2 rounds: round 1 of $(jv "$JOBJ" migration.round_bytes.1) bytes carried the" \
	"interruptions taken in precopy"
healthy

# A stalled start: B's hello and then its ack of round 0 are each held
# 300 ms, so both round trips A measured before its first decision are
# about 300 ms, and its prediction misses a 50 ms downtime budget on the
# round trip alone (the delta itself is a few bytes).  Protocol version 3:
# before it spends a round on that, A measures the round trip and B's
# durable write again on the idle link (MigPing, MigPong) and switches
# over after round 0.  B pinned to version 2 (no MigPing): a second round
# is spent, after which the quick round trip lets A switch over.
R_HELLO_DOWN=$(rec "$T/map" down hello)
[ -n "$R_HELLO_DOWN" ] || fail "the clean trace has no hello from B"
# stalled_start VM ROUNDS: that migration ran ROUNDS precopy rounds.
stalled_start() {
	local pings

	new_vm "$1"
	pings=$(grep -c "measured again on the idle link" "$T/a/gisad.log" || true)
	proxy_start "pause:down:r$R_HELLO_DOWN"
	migrate "$1" --downtime 50 --max-rounds 4
	pause_wait 1
	sleep 0.3
	proxy_ctl "pause:down:$ACK0_AT"
	pause_wait 2
	sleep 0.3
	proxy_ctl go
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = committed ] || fail "the stalled start did not commit"
	[ "$(jv "$JOBJ" migration.rounds)" = "$2" ] ||
		fail "$(jv "$JOBJ" migration.rounds) rounds after a stalled start, expected $2"
	PINGS=$(($(grep -c "measured again on the idle link" "$T/a/gisad.log" || true) - pings))
	forget "$1"
	proxy_stop
}

CASE='stalled start, version 3'
stalled_start c0002 1
[ "$PINGS" = 1 ] || fail "A measured again $PINGS times, expected once"
grep -q "predicted downtime missed the budget (50 ms) on a round trip of [0-9.]* ms and a \
durable write of [0-9.]* ms; measured again on the idle link: [0-9.]* and [0-9.]* ms" \
	"$T/a/gisad.log" || fail "A logged no figures of its second measurement"
CASE='stalled start, version 2'
EXTRA[b]="migration_max_version = 2"
reload_d b
stalled_start c0003 2
[ "$PINGS" = 0 ] || fail "A sent MigPing to a destination speaking version 2"
EXTRA[b]=
reload_d b
say "stalled start: version 3 measured again and switched over after round 0; version 2 spent" \
	"a second round"
healthy

# ---- 1. cuts at seeded points ---------------------------------------------------------------
#
# Per direction, half the points are stratified over the bytes (where the
# bulk of the state lies) and half over the phases of the map, round
# robin (every message gets its share; one in three at a record's first
# byte: a cut between two records).  Each is named rN+B from the clean
# map, so it hits the same byte of the same message in this run (the
# byte strata move by the few bytes a clean run varies).  The fault table
# says which end state each point must give.  Up: until the final delta's
# END is through, the destination cannot commit (resumed, after a doubt
# once MigSwitchover was sent); a cut after it (from MigConfirm's first
# byte on) leaves it committed.  Down: a cut before the outcome's first
# byte happens as soon as the bytes before it went, so before the final
# delta is sent (resumed); from the outcome's first byte on the
# destination has committed.

RNG=$SEED
rand() {
	RNG=$(((RNG * 1103515245 + 12345) % 2147483648))
	R=$((RNG >> 8))
}

# points DIR N TOTAL: N seeded "DIR rI+B PHASE" lines.
points() {
	local dir=$1 n=$2 total=$3 nb nr k lo hi off phases np ph nrec i

	nb=$((n / 2))
	nr=$((n - nb))
	for ((k = 0; k < nb; k++)); do
		lo=$((k * total / nb))
		hi=$(((k + 1) * total / nb))
		rand
		off=$((lo + R % (hi - lo > 0 ? hi - lo : 1)))
		awk -v d="$dir" -v o="$off" '$1 == d && o >= $3 && o < $3 + 5 + $4 {
			print d, "r" $2 "+" (o - $3), $5 }' "$T/map"
	done
	mapfile -t phases < <(awk -v d="$dir" '$1 == d && !seen[$5]++ { print $5 }' "$T/map")
	np=${#phases[@]}
	for ((k = 0; k < nr; k++)); do
		ph=${phases[k % np]}
		nrec=$(awk -v d="$dir" -v p="$ph" '$1 == d && $5 == p' "$T/map" | wc -l)
		rand
		i=$((R % nrec + 1))
		rand
		awk -v d="$dir" -v p="$ph" -v i="$i" -v r="$R" -v z=$((k / np % 3 == 0)) '
			$1 == d && $5 == p && ++n == i {
				print d, "r" $2 "+" (z ? 0 : r % (5 + $4)), $5 }' "$T/map"
	done
}

expected() {
	case "$1/$3" in
	up/confirm | up/close | down/close | down/digest) echo committed ;;
	down/outcome) [ "${2#*+}" = 0 ] && echo resumed || echo committed ;;
	*) echo resumed ;;
	esac
}

# seeded N DIR AT PHASE: one cut; its result is a line of $T/results.
seeded() {
	local vm want q

	vm=$(printf 'f%04d' "$1")
	new_vm "$vm"
	proxy_start "cut:$2:$3"
	migrate "$vm"
	check_end "$vm" "$DG" "$JOB"
	proxy_wait '^conn 1: (cut|closed)'
	grep -q '^conn 1: cut:' "$PXLOG" || fail "the connection ended before the cut"
	# Exactly there: B bytes after the start of record N of this run.
	awk -v d="$2" -v at="$3" '
		BEGIN {
			n = substr(at, 2, index(at, "+") - 2)
			b = substr(at, index(at, "+") + 1)
			if (n == 1)
				start = 0
		}
		$2 == "1:" && $3 == d && $4 == "record" && $5 == n { start = $7 }
		$2 == "1:" && $3 == d && $4 == "record" && $5 == n - 1 { start = $7 + 5 + $9 }
		$2 == "1:" && $3 == "cut:" { got = d == "up" ? $5 : $7 }
		END { exit !(start != "" && got == start + b) }' "$PXLOG" ||
		fail "the proxy did not cut at $3: $(grep '^conn 1: cut:' "$PXLOG")"
	want=$(expected "$2" "$3" "$4")
	q=$(jv "$JOBJ" migration.query_attempts)
	[ "$OUTCOME" = "$want" ] || fail "ended $OUTCOME; the fault table says $want"
	case "$q" in
	[1-9]*) q=" after $q outcome quer$([ "$q" = 1 ] && echo y || echo ies)" ;;
	*) q= ;;
	esac
	echo "  cut $2 $3 ($4): $OUTCOME$q"
	echo "$2 $4 $OUTCOME${q:+ doubt}" >>"$T/results"
	forget "$vm"
	proxy_stop
	healthy
}

# MIG_FAULTS_POINTS="up r29+93, down r11+0" replays given points instead.
if [ -n "${MIG_FAULTS_POINTS:-}" ]; then
	tr ',' '\n' <<<"$MIG_FAULTS_POINTS" | while read -r dir at; do
		[ -n "$dir" ] || continue
		awk -v d="$dir" -v at="$at" '$1 == d && $2 == substr(at, 2, index(at, "+") - 2) {
			print d, at, $5 }' "$T/map"
	done >"$T/points"
	OFFSETS=$(wc -l <"$T/points")
	say "seeded cuts: $OFFSETS given points"
else
	N_UP=$((OFFSETS * 3 / 5))
	N_DOWN=$((OFFSETS - N_UP))
	{
		points up "$N_UP" "$UP_TOTAL"
		points down "$N_DOWN" "$DOWN_TOTAL"
	} >"$T/points"
	[ "$(wc -l <"$T/points")" -eq "$OFFSETS" ] ||
		fail "$(wc -l <"$T/points") points, not $OFFSETS"
	say "seeded cuts: $N_UP up, $N_DOWN down (seed $SEED)"
fi
touch "$T/results"
n=0
while read -r dir at phase <&3; do
	n=$((n + 1))
	case_run "seeded cut $n: $dir $at ($phase)" seeded "$n" "$dir" "$at" "$phase"
done 3<"$T/points"
say "seeded cuts: $(grep -c ' resumed' "$T/results" || true) resumed," \
	"$(grep -c ' committed' "$T/results" || true) committed" \
	"($(grep -c ' doubt' "$T/results" || true) of them in doubt first)," \
	"$((OFFSETS - $(wc -l <"$T/results"))) failed"
awk '{ n[$1 " " $2 ": " $3]++ } END { for (k in n) print "  " k ": " n[k] }' \
	"$T/results" | sort

# ---- 2. a cut in each phase --------------------------------------------------------------------

# cut_case ACTION VM WANT [none]: one fault on a fresh VM that must end
# WANT; with `none' B must not have started a migrate-in job.
cut_case() {
	new_vm "$2"
	proxy_start "$1"
	migrate "$2"
	check_end "$2" "$DG" "$JOB"
	[ "$OUTCOME" = "$3" ] || fail "ended $OUTCOME, expected $3"
	if [ "${4:-}" = none ] && [ -n "$(jobs_of b "$2" migrate-in)" ]; then
		fail "B started a migrate-in job: $(jobs_of b "$2" migrate-in)"
	fi
	say "$CASE: $OUTCOME"
	forget "$2"
	proxy_stop
	healthy
}

# A cut in the final delta: A is in doubt, asks, and resumes.
case_in_flight() {
	cut_case "cut:up:r$R_SWITCH+40" "$1" resumed
	[ "$(jv "$JOBJ" migration.query_attempts)" -ge 1 ] 2>/dev/null ||
		fail "the source did not query for the outcome"
	grep -q "migration of VM \`$1' to .* is in doubt" "$T/a/gisad.log" ||
		fail "A's log does not say $1 was in doubt"
}

# A cut right after the final END went through: B commits alone, A asks.
case_after_end() {
	cut_case "cut:up:r$R_CONFIRM" "$1" committed
	[ "$(jv "$JOBJ" migration.query_attempts)" -ge 1 ] 2>/dev/null ||
		fail "the source learnt the outcome without a query"
}

# A later round: the cut falls 30 bytes into round 1, which carries the
# interruptions A's VM took during round 0.
case_round1() {
	two_rounds "$1"
	proxy_ctl "cut:up:r$R_SWITCH+30"
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = resumed ] || fail "ended $OUTCOME, expected resumed"
	[ "$(jv "$JOBJ" migration.rounds)" = 1 ] ||
		fail "$(jv "$JOBJ" migration.rounds) rounds acknowledged, expected 1"
	say "$CASE: resumed with the interruptions it took in precopy"
	forget "$1"
	proxy_stop
	healthy
}

# listed VM: its GISA on A's alert list (an adapter interrupt at ISC 3,
# no vcpu to take it); DG follows it.
listed() {
	g a gisa gisc-register "$1" 3 >/dev/null || fail "gisc-register $1"
	g a gisa hw-airq "$1" 3 >/dev/null || fail "hw-airq $1"
	[ "$(jv "$(gj a vm info "$1")" gisa.on_alert_list)" = true ] ||
		fail "VM $1 is not on A's alert list"
	DG=$(g a vm digest "$1") || fail "vm digest $1"
}

# refused_alerts FROZEN ARGS...: gisactl ARGS at A is refused (EAGAIN),
# naming the frozen VM.
refused_alerts() {
	local j

	j=$(gj a "${@:2}")
	[ "$(jv "$j" error.code)" = EAGAIN ] && [[ "$(jv "$j" error.message)" == *"\`$1'"* ]] ||
		fail "${*:2} at A: expected EAGAIN naming VM $1: $j"
}

# The outcome held back: B commits, A (frozen, refusing changes) hears
# nothing, gives up at its stall timeout, is in doubt and asks.  Its GISA
# is on A's alert list: processing the list, or freeing another listed
# VM (which processes it), would change the frozen VM, and is refused
# until the outcome is known.  A third listed VM migrates to B meanwhile
# (directly) and retires at A: its VM is freed only after the outcome
# (or the digests would differ at the end).
case_outcome_held() {
	local other="x${1:1}" third="y${1:1}" dt imp

	new_vm "$1"
	new_vm "$other"
	listed "$other"
	g a snapshot export "$other" "$T/$other.gsnap" >/dev/null || fail "export $other"
	new_vm "$third"
	listed "$third"
	dt=$DG
	listed "$1"
	proxy_start "pause:down:r$R_OUTCOME"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	frozen "$1"
	refused_frozen "$1" 'frozen|in-doubt'
	refused_alerts "$1" gisa process-alerts
	refused_alerts "$1" vm destroy "$other"
	# An import that takes its VM's name from the file, as well.
	imp=$("$CTL" -s "$T/a/run/control" import "$T/$other.gsnap" replace=1 2>&1) || true
	[[ "$imp" == *"error=-11"* && "$imp" == *"VM \`$1'"* ]] ||
		fail "import replacing $other (named by its file) at A: expected EAGAIN naming VM $1: $imp"
	g a migrate "$third" "tls://127.0.0.1:${PORT[b]}" >/dev/null ||
		fail "migrate $third beside the frozen $1"
	[ "$(vm_state a "$third")" = migrated ] || fail "$third at A is $(vm_state a "$third")"
	[ "$(g b vm digest "$third")" = "$dt" ] || fail "$third arrived at B with another digest"
	log_wait a "migration of VM \`$1' to .* is in doubt \(no outcome within the stall timeout\)" \
		$((STALL_MS / 1000 + 5))
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	[ "$(jv "$JOBJ" migration.query_attempts)" -ge 1 ] 2>/dev/null ||
		fail "the source learnt the outcome without a query"
	g a vm destroy "$other" >/dev/null || fail "vm destroy $other after the outcome"
	say "$CASE: committed after the stall timeout and a query; the alert list waited for it"
	forget "$third"
	forget "$1"
	proxy_stop
	healthy
}

# The outcome's bytes held back, then the connection cut.
case_outcome_cut() {
	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	proxy_ctl cut
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	say "$CASE: committed"
	forget "$1"
	proxy_stop
	healthy
}

# After COMMITTED was sent: the outcome passes, the cut follows it (so
# B never gets MigConfirm).
case_after_committed() {
	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	proxy_ctl "cut:down:r$((R_OUTCOME + 1))"
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	[ "$(jv "$JOBJ" migration.query_attempts)" = null ] ||
		fail "the source queried although the outcome reached it"
	say "$CASE: committed"
	forget "$1"
	proxy_stop
	healthy
}

# B active with MigConfirm held in the proxy (its migrate-in job, and the
# move of the VM's checkpoint into place, wait for it): an interrupt
# injected at B, then B stopped and started.  The checkpoint of the stop
# must be the one it restores, not the state taken at the answer.
case_dest_stopped_unconfirmed() {
	local d2

	new_vm "$1"
	proxy_start "pause:up:r$R_CONFIRM"
	migrate "$1"
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	g b irq inject "$1" "$T/state.irq" >/dev/null || fail "irq inject $1 at B"
	d2=$(g b vm digest "$1") || fail "vm digest $1 at B"
	[ "$d2" != "$DG" ] || fail "the injection at B did not change $1"
	stop_d b
	start_d b
	[ "$(g b vm digest "$1")" = "$d2" ] ||
		fail "B restarted $1 without what it accepted after its activation"
	say "$CASE: B restored the state it stopped with"
	forget "$1"
	proxy_stop
	healthy
}

case_run 'phase: hello' cut_case "cut:up:r$R_HELLO+20" p0001 resumed none
case_run 'phase: begin' cut_case "cut:up:r$R_BEGIN+30" p0002 resumed none
case_run 'phase: ready' cut_case "cut:down:r$R_READY+10" p0003 resumed
case_run 'phase: round 0' cut_case "cut:up:r$R_ROUND0+1000" p0004 resumed
case_run 'phase: round 1' case_round1 p0005
case_run 'phase: final delta in flight' case_in_flight p0006
case_run 'phase: after the final END' case_after_end p0007
case_run 'phase: outcome held back' case_outcome_held p0008
case_run 'phase: outcome cut' case_outcome_cut p0009
case_run 'phase: after COMMITTED was sent' case_after_committed p0010
case_run 'phase: destination stopped before MigConfirm' case_dest_stopped_unconfirmed p0011

# ---- 3. the destination killed ---------------------------------------------------------------

# Mid-precopy, round 0 staged (its STAGING record durable, its ack held in
# the proxy): A fails the job and runs on; B discards at its restart.
case_dest_killed_precopy() {
	local i

	new_vm "$1"
	proxy_start "pause:down:$ACK0_AT"
	migrate "$1"
	for ((i = 0; i < 200; i++)); do
		grep -lqs "\"vm\": \"$1\"" "$T"/b/state/migrations/*.json && break
		sleep 0.05
	done
	grep -lqs "\"vm\": \"$1\"" "$T"/b/state/migrations/*.json ||
		fail "B wrote no STAGING record of $1"
	kill_d b
	proxy_ctl go
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = resumed ] || fail "ended $OUTCOME, expected resumed"
	start_d b
	log_wait b "incoming migration of VM \`$1' was staging when gisad stopped: discarded"
	[ "$(vm_state b "$1")" = absent ] || fail "B restarted with $1"
	say "$CASE: resumed; B discarded its staging at the restart"
	forget "$1"
	proxy_stop
	healthy
}

# After its commit (the outcome held in the proxy): B restores the VM at
# its restart; A hears nothing until its stall timeout (5 s here, so that
# B is back before A first asks), is in doubt, asks and retires the VM.
case_dest_killed_committed() {
	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME"
	migrate "$1" --stall-timeout 5000 --downtime 60000
	log_wait b "VM \`$1' arrived from .* and is active"
	frozen "$1"
	kill_d b
	start_d b
	[ "$(vm_state b "$1")" = none ] || fail "B restarted without $1 active"
	check_end "$1" "$DG" "$JOB" restarted
	[ "$(jv "$JOBJ" migration.query_attempts)" -ge 1 ] 2>/dev/null ||
		fail "the source learnt the outcome without a query"
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	say "$CASE: active at B after its restart; A learnt COMMITTED"
	forget "$1"
	proxy_stop
	healthy
}

case_run 'destination killed in precopy' case_dest_killed_precopy k0001
case_run 'destination killed after its commit' case_dest_killed_committed k0002

# ---- 4. the source killed in doubt --------------------------------------------------------------
#
# The proxy holds every later connection (A's outcome queries) before its
# MigQuery, so that A, restarted, stays in doubt until the test has looked
# at it (vm list says in-doubt, changes are refused, a job pursues the
# doubt); then the queries pass.

R_QUERY=$((R_HELLO + 1))        # a query: the handshake, MigHello, MigQuery

src_back_in_doubt() {
	start_d a
	log_wait a "VM \`$1' was frozen for its migration to $URI when gisad stopped: it comes back in doubt"
	[ "$(vm_state a "$1")" = in-doubt ] || fail "$1 at A is $(vm_state a "$1")"
	refused_frozen "$1" in-doubt
	JOB=$(jobs_of a "$1" migrate-out | awk '{ print $1 }')
	[ -n "$JOB" ] || fail "A restarted without a job for its in-doubt VM"
	phase_wait a "$JOB" in-doubt
	proxy_wait '^conn 2: paused up'
	[ "$(vm_state a "$1")" = in-doubt ] || fail "$1 at A is $(vm_state a "$1")"
	proxy_ctl 'others go'
}

# B committed (the outcome held in the proxy when A died).
case_src_killed_committed() {
	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME" -o "pause:up:r$R_QUERY"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	frozen "$1"
	kill_d a
	proxy_ctl cut
	src_back_in_doubt "$1"
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	say "$CASE: A came back in doubt and retired the VM"
	forget "$1"
	proxy_stop
	healthy
}

# The final delta in flight when A dies; B dies too, before its END, and
# discards the staging at its restart.
case_src_killed_discarded() {
	new_vm "$1"
	proxy_start "pause:up:r$R_SWITCH+40" -o "pause:up:r$R_QUERY"
	migrate "$1"
	proxy_wait '^conn 1: paused up'
	frozen "$1"
	kill_d a
	kill_d b
	proxy_ctl cut
	start_d b
	log_wait b "incoming migration of VM \`$1' was staging when gisad stopped: discarded"
	src_back_in_doubt "$1"
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = resumed ] || fail "ended $OUTCOME, expected resumed"
	say "$CASE: A came back in doubt and resumed the VM"
	forget "$1"
	proxy_stop
	healthy
}

case_run 'source killed in doubt, destination committed' case_src_killed_committed s0001
case_run 'source killed in doubt, destination discarded' case_src_killed_discarded s0002

# ---- 5. an operator decides -------------------------------------------------------------------

# resolve ID OUTCOME: `job resolve ID OUTCOME' at A must be accepted; the
# job it printed is kept in RESOLVED, for resolved_as TYPE PHASE to check
# (it is the job after the decision) once the end state was looked at.
resolve() {
	RESOLVED=$(gj a job resolve "$1" "$2")
	[ -n "$(jv "$RESOLVED" id)" ] || fail "job resolve $1 $2 refused: $RESOLVED"
}

resolved_as() {
	[ "$(jv "$RESOLVED" type)" = "$1" ] && [ "$(jv "$RESOLVED" migration.phase)" = "$2" ] ||
		fail "job resolve printed the job as $(jv "$RESOLVED" type) in phase" \
			"$(jv "$RESOLVED" migration.phase), not as decided ($1, $2)"
}

# The operator takes a second to look at the destination: the doubt (and
# the job pursuing it) must still be there.
still_in_doubt() {
	local j

	sleep 1
	j=$(gj a job status "$2")
	[ "$(jv "$j" type)" = unbounded ] && [ "$(jv "$j" migration.phase)" = in-doubt ] ||
		fail "with B down, in-doubt job $2 became $(jv "$j" type) in phase" \
			"$(jv "$j" migration.phase) ($(jv "$j" error_message))"
	[ "$(vm_state a "$1")" = in-doubt ] || fail "$1 at A is $(vm_state a "$1")"
	refused_frozen "$1" in-doubt
}

# resumed, B down: the final delta never reached it; abort is refused.
case_resolve_resumed() {
	local i

	new_vm "$1"
	proxy_start "pause:up:r$R_SWITCH+40"
	migrate "$1"
	proxy_wait '^conn 1: paused up'
	frozen "$1"
	stop_d b
	proxy_ctl cut
	phase_wait a "$JOB" in-doubt 5
	still_in_doubt "$1" "$JOB"
	! g a job abort "$JOB" >/dev/null 2>&1 || fail "job abort accepted for in-doubt job $JOB"
	# With finished_jobs jobs finished since it started, the resolved job
	# is the oldest of the finished ones: it must still be kept and printed.
	EXTRA[a]='finished_jobs = 16'
	reload_d a
	g a vm create "$1x" >/dev/null || fail "vm create $1x"
	for i in $(seq 1 16); do
		g a checkpoint create "$1x" "k$i" >/dev/null || fail "checkpoint create $1x k$i"
	done
	resolve "$JOB" resumed
	[ "$(jv "$(gj a job status "$JOB")" id)" = "$JOB" ] ||
		fail "the resolved job $JOB is not kept beside 16 later finished jobs"
	g a vm destroy "$1x" >/dev/null || fail "vm destroy $1x"
	EXTRA[a]=''
	reload_d a
	log_wait a "job $JOB: the operator resolves the migration of VM \`$1' as DISCARDED"
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = resumed ] && [ "$(jv "$JOBJ" type)" = cancelled ] ||
		fail "ended $(jv "$JOBJ" type)/$OUTCOME, expected cancelled/resumed"
	start_d b
	[ "$(vm_state b "$1")" = absent ] || fail "B restarted with $1"
	resolved_as cancelled resumed
	say "$CASE: the VM runs at A; B has none"
	forget "$1"
	proxy_stop
	healthy
}

# committed, B down: B committed, then went down before A heard.
case_resolve_committed() {
	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	stop_d b
	proxy_ctl cut
	phase_wait a "$JOB" in-doubt 5
	still_in_doubt "$1" "$JOB"
	resolve "$JOB" committed
	start_d b
	check_end "$1" "$DG" "$JOB" restarted
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	resolved_as completed committed
	say "$CASE: retired at A, active at B"
	forget "$1"
	proxy_stop
	healthy
}

# The same two with B up but A's queries held before their MigQuery (B
# does not answer them): the doubt lasts however the queries fail.
case_resolve_resumed_held() {
	new_vm "$1"
	proxy_start "pause:up:r$R_SWITCH+40" -o "pause:up:r$R_QUERY"
	migrate "$1"
	proxy_wait '^conn 1: paused up'
	frozen "$1"
	proxy_ctl cut
	phase_wait a "$JOB" in-doubt 5
	in_wait "$1"
	proxy_wait '^conn 2: paused up'
	still_in_doubt "$1" "$JOB"
	resolve "$JOB" resumed
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = resumed ] && [ "$(jv "$JOBJ" type)" = cancelled ] ||
		fail "ended $(jv "$JOBJ" type)/$OUTCOME, expected cancelled/resumed"
	resolved_as cancelled resumed
	say "$CASE: the VM runs at A; B had discarded"
	forget "$1"
	proxy_stop
	healthy
}

# ... and afterwards resolve is refused for that completed job and for
# an unknown one.
case_resolve_committed_held() {
	local j rc id

	new_vm "$1"
	proxy_start "pause:down:r$R_OUTCOME" -o "pause:up:r$R_QUERY"
	migrate "$1"
	log_wait b "VM \`$1' arrived from .* and is active"
	proxy_ctl cut
	phase_wait a "$JOB" in-doubt 5
	proxy_wait '^conn 2: paused up'
	still_in_doubt "$1" "$JOB"
	resolve "$JOB" committed
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = committed ] || fail "ended $OUTCOME, expected committed"
	for id in "$JOB" 999999; do
		rc=0
		j=$(g a --json job resolve "$id" resumed 2>/dev/null | jflat) || rc=$?
		[ "$rc" = 2 ] || fail "job resolve $id: exit $rc, expected 2"
		if [ "$id" = 999999 ]; then
			[ "$(jv "$j" error.code)" = ENOENT ] || fail "job resolve $id: $j"
		else
			[ "$(jv "$j" error.code)" = EINVAL ] &&
				grep -q 'is not an in-doubt migration' <<<"$(jv "$j" error.message)" ||
				fail "job resolve $id: $j"
		fi
	done
	[ "$(vm_state a "$1")" = migrated ] || fail "a refused resolve changed $1"
	resolved_as completed committed
	say "$CASE: retired at A, active at B; resolve refused for done and unknown jobs"
	forget "$1"
	proxy_stop
	healthy
}

# In precopy: resolve is refused, abort cancels and the VM runs on.
case_resolve_precopy() {
	local j rc=0

	new_vm "$1"
	proxy_start "pause:up:r$R_ROUND0+1000"
	migrate "$1"
	proxy_wait '^conn 1: paused up'
	j=$(g a --json job resolve "$JOB" committed 2>/dev/null | jflat) || rc=$?
	[ "$rc" = 2 ] && [ "$(jv "$j" error.code)" = EINVAL ] ||
		fail "job resolve of precopy job $JOB: exit $rc: $j"
	[ "$(vm_state a "$1")" = outgoing ] || fail "a refused resolve changed $1"
	g a job abort "$JOB" >/dev/null || fail "job abort $JOB in precopy"
	proxy_ctl go
	check_end "$1" "$DG" "$JOB"
	[ "$OUTCOME" = resumed ] && [ "$(jv "$JOBJ" type)" = cancelled ] ||
		fail "an aborted migration ended $(jv "$JOBJ" type)/$OUTCOME"
	say "$CASE: resolve refused; abort cancelled, the VM runs at A"
	forget "$1"
	proxy_stop
	healthy
}

case_run 'resolve resumed, B down' case_resolve_resumed o0001
case_run 'resolve committed, B down' case_resolve_committed o0002
case_run 'resolve resumed, queries unanswered' case_resolve_resumed_held o0003
case_run 'resolve committed, queries unanswered' case_resolve_committed_held o0004
case_run 'resolve in precopy' case_resolve_precopy o0005

# ---- the end -----------------------------------------------------------------------------------

CASE='shutdown'
proxy_stop
stop_d a
stop_d b
healthy
if [ "${#FAILED[@]}" -gt 0 ]; then
	echo "FAIL: ${#FAILED[@]} case(s) failed:" >&2
	printf '  %s\n' "${FAILED[@]}" >&2
	exit 1
fi
say "ok: migration faults ($OFFSETS seeded cuts)"
