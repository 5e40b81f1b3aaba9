# SPDX-License-Identifier: MIT
# Shared helpers of the daemon integration tests: a private gisad in a
# temporary directory, cleaned up by a trap.
set -euo pipefail

: "${GISAD:?GISAD must name the gisad binary}"
: "${CTL:?CTL must name the ctl-client binary}"

T=$(mktemp -d "${TMPDIR:-/tmp}/gisad-it.XXXXXX")
# Other uids must reach the socket for the credential tests.
chmod 0755 "$T"
SOCK=$T/run/control
# Root runs everything; another user can still run what needs no other uid.
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
GROUP=$(id -gn)
CONF=$T/gisad.conf
LOG=$T/gisad.log
PID=

cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$LOG" ]; then
		echo "--- gisad log (last 40 lines)" >&2
		tail -n 40 "$LOG" >&2
	fi
	exit 1
}

# write_conf [key=value ...]: a configuration inside $T; the arguments
# override the defaults below or add keys.
write_conf() {
	local -A kv=(
		[socket]=$SOCK
		[state_dir]=$T/state
		[group]=$GROUP
		[log_level]=debug
	)
	local a k
	for a in "$@"; do
		kv[${a%%=*}]=${a#*=}
	done
	{
		echo "[gisad]"
		for k in "${!kv[@]}"; do
			echo "$k = ${kv[$k]}"
		done
	} >"$CONF"
}

ctl() {
	"$CTL" -s "$SOCK" "$@"
}

# start_gisad [NAME=VALUE...]: gisad with those variables in its
# environment (its alone: not ctl-client's), answering pings.
start_gisad() {
	env "$@" "$GISAD" --foreground --config "$CONF" 2>>"$LOG" &
	PID=$!
	for _ in $(seq 1 200); do
		if ctl ping >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$PID" 2>/dev/null || fail "gisad exited during start-up"
		sleep 0.05
	done
	fail "gisad did not answer a ping within 10 s"
}

# stop_gisad [expected-status]: SIGTERM and wait.
stop_gisad() {
	local want=${1:-0} rc=0
	kill -TERM "$PID"
	wait "$PID" || rc=$?
	PID=
	[ "$rc" -eq "$want" ] || fail "gisad exited with $rc, expected $want"
}

# reload_to KEY VALUE: SIGHUP, and wait (5 s at most) for the log line of the
# reload that sets KEY to VALUE ($CONF already says so).
reload_to() {
	kill -HUP "$PID"
	for _ in $(seq 1 100); do
		grep -q "config: $1 = $2 " "$LOG" && return 0
		sleep 0.05
	done
	fail "SIGHUP did not apply $1 = $2"
}

# field OUTPUT KEY: the value of `KEY=...' in ctl-client output.
field() {
	printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1
}

# expect_field OUTPUT KEY VALUE
expect_field() {
	local got
	got=$(field "$1" "$2")
	[ "$got" = "$3" ] || fail "expected $2=$3, got '$got' in:
$1"
}

# expect_match OUTPUT REGEX
expect_match() {
	# A here-string, not a pipe: grep -q quits at the first match, and the
	# writer's SIGPIPE would fail the pipeline (pipefail) on a long text.
	grep -Eq -- "$2" <<<"$1" || fail "no line matches /$2/ in:
$1"
}

# run_ctl VAR ARGS...: run ctl-client, keep its output in VAR (any status).
run_ctl() {
	local __var=$1
	shift
	local __out
	__out=$(ctl "$@" 2>&1) || true
	printf -v "$__var" '%s' "$__out"
}

digest_of() {
	local out
	out=$(ctl vm-digest "$1") || fail "vm-digest $1: $out"
	field "$out" digest.hex
}
