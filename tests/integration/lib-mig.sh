# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers of the migration tests: two gisad, a and b, on 127.0.0.1
# in a temporary directory $T, both with host-a's certificate from
# make-certs (in $C) and host-a on their allow-lists, cleaned up by a trap
# (background programs listed in BGPIDS are killed too; KEEP_T=1 keeps
# $T).  Needs GISAD, GISACTL, MAKE_CERTS and MIG_MT_TOOL (JSON values).
set -euo pipefail

: "${GISAD:?GISAD must name the gisad binary}"
: "${GISACTL:?GISACTL must name the gisactl binary}"
: "${MAKE_CERTS:?MAKE_CERTS must name the make-certs binary}"
: "${MIG_MT_TOOL:?MIG_MT_TOOL must name the mig-mt-tool binary}"
TOOL=$MIG_MT_TOOL

T=$(mktemp -d "${TMPDIR:-/tmp}/gisad-$(basename "$0" .sh).XXXXXX")
C=$T/certs
GROUP=$(id -gn)
declare -A DPID=() PORT=()
BGPIDS=()

cleanup() {
	local p h
	for p in "${BGPIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for h in a b; do
		p=${DPID[$h]:-}
		if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
			kill -KILL "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	if [ "${KEEP_T:-0}" = 1 ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

logs() {
	local h
	for h in a b; do
		if [ -f "$T/$h/log" ]; then
			echo "--- gisad $h log (last 30 lines)" >&2
			tail -n 30 "$T/$h/log" >&2
		fi
	done
}

fail() {
	echo "FAIL: $*" >&2
	logs
	exit 1
}

# make_certs: the CA and the hosts' certificates in $C.
make_certs() {
	"$MAKE_CERTS" "$C" >/dev/null || fail "make-certs failed"
}

# conf H [key=value ...]: H's configuration; the arguments override the
# defaults or add keys.
conf() {
	local h=$1 a k
	shift
	local -A kv=(
		[socket]=$T/$h/control
		[state_dir]=$T/$h/state
		[group]=$GROUP
		[log_level]=debug
		[migration_listen]=127.0.0.1:0
		[tls_ca]=$C/ca.crt
		[tls_cert]=$C/host-a.crt
		[tls_key]=$C/host-a.key
		[tls_allow]=host-a
	)
	for a in "$@"; do
		kv[${a%%=*}]=${a#*=}
	done
	mkdir -p "$T/$h"
	{
		echo "[gisad]"
		for k in "${!kv[@]}"; do
			echo "$k = ${kv[$k]}"
		done
	} >"$T/$h/gisad.conf"
}

# start H: start gisad H, wait for its control socket, learn its port.
start() {
	local h=$1 n=0
	[ -f "$T/$h/log" ] && n=$(wc -l <"$T/$h/log")
	"$GISAD" --foreground --config "$T/$h/gisad.conf" 2>>"$T/$h/log" &
	DPID[$h]=$!
	for _ in $(seq 1 200); do
		"$GISACTL" --socket "$T/$h/control" ping >/dev/null 2>&1 && break
		kill -0 "${DPID[$h]}" 2>/dev/null || fail "gisad $h exited during start-up"
		sleep 0.05
	done
	"$GISACTL" --socket "$T/$h/control" ping >/dev/null 2>&1 ||
		fail "gisad $h did not answer a ping within 10 s"
	PORT[$h]=$(tail -n +$((n + 1)) "$T/$h/log" |
		sed -n 's/.*migration: listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' | tail -n 1)
	[ -n "${PORT[$h]}" ] || fail "gisad $h logged no \`migration: listening on' line"
}

# stop H [RC]: SIGTERM, and gisad H exits RC (0; 1 when a VM could not be
# checkpointed).
stop() {
	local h=$1 rc=0
	kill -TERM "${DPID[$h]}"
	wait "${DPID[$h]}" || rc=$?
	DPID[$h]=
	[ "$rc" -eq "${2:-0}" ] || fail "gisad $h exited with $rc on SIGTERM, expected ${2:-0}"
}

# reload H [kept]: SIGHUP with the configuration written by conf; wait
# until applied (with `kept': until refused whole, the old one kept).
reload() {
	local h=$1 line="SIGHUP: configuration reloaded" n
	[ "${2:-}" != kept ] || line=": configuration kept$"
	n=$(grep -c -- "$line" "$T/$h/log" || true)
	kill -HUP "${DPID[$h]}"
	for _ in $(seq 1 200); do
		[ "$(grep -c -- "$line" "$T/$h/log" || true)" -gt "$n" ] && return 0
		sleep 0.02
	done
	fail "gisad $h did not log /$line/ after SIGHUP"
}

# g RC H ARGS...: gisactl against gisad H (`-': none), stdout in $T/out,
# stderr in $T/err; its exit status must be RC.
g() {
	local want=$1 h=$2 rc=0
	shift 2
	if [ "$h" = - ]; then
		"$GISACTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	else
		"$GISACTL" --socket "$T/$h/control" "$@" >"$T/out" 2>"$T/err" || rc=$?
	fi
	[ "$rc" -eq "$want" ] || fail "gisactl ($h) $* exited $rc, expected $want
--- stdout
$(head -c 3000 "$T/out")
--- stderr
$(head -c 3000 "$T/err")"
}

# jv PATH [FILE]: a value of the JSON document in $T/out (mig-mt-tool json).
jv() {
	"$TOOL" json "${2:-$T/out}" "$1" || fail "no \`$1' in:
$(head -c 3000 "${2:-$T/out}")"
}

# job_ended H JOB: job status of JOB at H, polled (up to 20 s) until the job
# has ended; its last answer in $T/out.
job_ended() {
	for _ in $(seq 1 1000); do
		g 0 "$1" --json job status "$2"
		case $(jv type) in bounded | unbounded | none) ;; *) return 0 ;; esac
		sleep 0.02
	done
}

# jis PATH VALUE [FILE]
jis() {
	local got
	got=$(jv "$1" "${3:-$T/out}")
	[ "$got" = "$2" ] || fail "$1 is \`$got', expected \`$2' in:
$(head -c 4000 "${3:-$T/out}")"
}

# jge PATH MIN [FILE]: an integer at least MIN.
jge() {
	local got
	got=$(jv "$1" "${3:-$T/out}")
	[[ "$got" =~ ^[0-9]+$ ]] && [ "$got" -ge "$2" ] ||
		fail "$1 is \`$got', expected an integer >= $2 in:
$(head -c 4000 "${3:-$T/out}")"
}

err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks \`$1':
$(head -c 3000 "$T/err")"
}

digest() {
	g 0 "$1" vm digest "$2"
	cat "$T/out"
}

# listed H VM: VM's migration state at H as `vm list' has it ("" when not listed).
listed() {
	g 0 "$1" --json vm list
	if [ "$(jv "vms.?name=$2.#")" = 0 ]; then
		echo ""
	else
		jv "vms.?name=$2.0.migration"
	fi
}
