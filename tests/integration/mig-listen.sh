#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The migration listener of a real gisad on 127.0.0.1 (port 0: the kernel
# picks a free one, gisad logs it): a listed peer gets the destination's
# hello with the configured capabilities; no client certificate, a wrong
# CA, an expired certificate, an identity not on the allow-list, a
# plaintext client and a handshake that never comes are refused, each with
# a log line that says why, and the control socket keeps serving; bad
# hellos get MigError; the idle timeout; the per-peer limit (by
# fingerprint); SIGHUP with a changed allow-list applies to new
# connections while an open one keeps its context, and a reload that
# fails keeps the old one; a MigBegin announcing round 0 over the object
# cap is refused with nothing staged, and a large announcement reserves a
# slot of the capped size; version 3's MigPing after round 0 is answered
# once, and a second one, a MigRound before the MigPong and a failed
# probe write each discard; spare STAGING records and slots: taken, named
# once the migration ended or at the next start (also after a kill), a
# record cut short removed, not made again while a connection is open.
. "$(dirname "$0")/lib.sh"

: "${MIGC:?MIGC must name the mig-client binary}"
: "${MAKE_CERTS:?MAKE_CERTS must name the make-certs binary}"

C=$T/certs
"$MAKE_CERTS" "$C" || fail "make-certs failed"

# ---- configuration keys -----------------------------------------------------

bad=$T/bad.conf
cat >"$bad" <<CONF
[gisad]
migration_listen = no-port-here
tls_allow = host-a, *.example.com
handshake_timeout_ms = 10
max_connections_per_peer = 0
tls_ca = relative.pem
CONF
rc=0
out=$("$GISAD" --check-config "$bad" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "bad migration keys accepted"
expect_match "$out" "^$bad:2: key \`migration_listen', value \`no-port-here': expected HOST:PORT"
expect_match "$out" \
	"^$bad:3: key \`tls_allow', value \`host-a, \*.example.com': \
allow-list entry \`\*.example.com'"
expect_match "$out" \
	"^$bad:4: key \`handshake_timeout_ms', value \`10': out of range: expected 100 to 600000$"
expect_match "$out" "^$bad:5: key \`max_connections_per_peer', value \`0': out of range"
expect_match "$out" "^$bad:6: key \`tls_ca', value \`relative.pem': expected an absolute path$"

cat >"$bad" <<CONF
[gisad]
tls_ca = $C/ca.crt
migration_listen = [::1]:7000
CONF
rc=0
out=$("$GISAD" --check-config "$bad" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "a listener without certificates accepted"
needs="a migration listener needs tls_ca, tls_cert, tls_key and tls_allow"
expect_match "$out" \
	"^$bad:3: key \`migration_listen', value \`\[::1\]:7000': $needs; \
missing: tls_cert tls_key tls_allow$"

# ---- a daemon with a listener --------------------------------------------------

tls_conf() {
	write_conf migration_listen=127.0.0.1:0 tls_ca="$C/ca.crt" tls_cert="$C/host-a.crt" \
		tls_key="$C/host-a.key" handshake_timeout_ms=1000 idle_timeout_ms=3000 \
		max_connections_per_peer=2 profiles=newest ais=no max_vms=7 "$@"
}
tls_conf tls_allow="host-a, host-b"
"$GISAD" --check-config "$CONF" >/dev/null || fail "valid listener configuration refused"
# learn_port: the listener's port, from the log of the last start.
learn_port() {
	PORT=$(sed -n 's/.*migration: listening on 127\.0\.0\.1:\([0-9]*\) (TLS 1\.3, 2 allow.*/\1/p' \
		"$LOG" | tail -n 1)
	[ -n "$PORT" ] || fail "no \`listening on' line in the log"
}
start_gisad
learn_port

mig() {
	"$MIGC" -p "$PORT" --ca "$C/ca.crt" "$@" 2>&1 || true
}
as() {
	local who=$1
	shift
	mig --cert "$C/$who.crt" --key "$C/$who.key" "$@"
}
# log_has REGEX: a line of the log matches (waits up to 5 s: logging is async to us).
log_has() {
	for _ in $(seq 1 100); do
		grep -Eq -- "$1" "$LOG" && return 0
		sleep 0.05
	done
	fail "no log line matches /$1/"
}
HS="refused during the TLS handshake"
serving() {
	ctl ping >/dev/null 2>&1 || fail "control socket does not answer after: $1"
	kill -0 "$PID" 2>/dev/null || fail "gisad died after: $1"
}
FP_A=$("$MIGC" --fingerprint "$C/host-a.crt")
FP_B=$("$MIGC" --fingerprint "$C/host-b.crt")
FP_C=$("$MIGC" --fingerprint "$C/host-c.crt")

# A listed peer gets the destination's hello: version 1, role DESTINATION,
# profiles {newest}, caps GISA (ais = no), room for 7 VMs, frame limits.
out=$(as host-b)
expect_field "$out" handshake ok
expect_field "$out" result hello
expect_field "$out" version 1
expect_field "$out" hello.min 1
expect_field "$out" hello.max 3
expect_field "$out" hello.role 2
expect_field "$out" hello.profiles 1
expect_field "$out" hello.caps 1
expect_field "$out" hello.max_vms 7
expect_field "$out" hello.max_frame 16842752
expect_field "$out" hello.max_msg 1048576
expect_field "$out" hello.max_object 75497472
expect_field "$out" hello.instance_len 16
expect_match "$out" '^hello.daemon=gisad '
expect_field "$out" close notify
log_has "127\.0\.0\.1:[0-9]+: \`host-b' \($FP_B\) admitted by allow-list entry \`host-b'$"
log_has "hello from \`host-b' \(mig-client, host \`test'\): speaks 1\.\.1, purpose MIGRATE"
serving "a valid peer"

# No client certificate: TLS 1.3 lets the client finish its handshake; it
# learns of the refusal at its first read.
out=$(as host-b --no-cert)
expect_field "$out" result refused
expect_field "$out" tls.kind peer-refused
expect_field "$out" tls.alert 116
log_has "$HS: the peer sent no certificate \(a client certificate is required\) \
\[no-peer-certificate; alert 116 \`certificate required'\]"
serving "no client certificate"

out=$(as wrongca-b)
expect_field "$out" result refused
expect_field "$out" tls.kind peer-refused
expect_field "$out" tls.alert 48
log_has "$HS: certificate of \`host-b' \(sha256:[0-9a-f]{64}\) is signed by an unknown CA \
\`CN=gisad wrong CA' \[unknown-ca; alert 48"
serving "a wrong CA"

out=$(as expired)
expect_field "$out" result refused
expect_field "$out" tls.alert 45
log_has "$HS: certificate of \`host-a' \(sha256:[0-9a-f]{64}\) expired at .* \[expired; alert 45"
serving "an expired certificate"

out=$(as host-c)
expect_field "$out" result refused
expect_field "$out" tls.alert 42
log_has "$HS: certificate of \`host-c' \($FP_C\) is not on the allow-list \[not-allowed; alert 42"
serving "an identity not on the allow-list"

out=$(mig --plain $'GET / HTTP/1.0\r\n\r\n')
expect_field "$out" result closed
log_has "$HS: the peer does not speak TLS \(plaintext or another protocol.*\) \[not-tls"
serving "a plaintext client"

# A client that connects and never starts TLS is cut at the handshake timeout.
out=$(mig --plain '')
expect_field "$out" result closed
ms=$(field "$out" closed_after_ms)
[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "handshake timeout after $ms ms, expected ~1000"
log_has "refused: the TLS handshake did not complete within 1000 ms \(handshake_timeout_ms\)"
serving "a handshake timeout"

# handshakes.py PORT DST HELD SAME OTHER [again]: 16 connections from HELD to
# DST stay in their handshake; one more from SAME (the same host) must be
# closed at once, one from OTHER not.  With `again': two more from SAME
# are refused at once, and, over a second later (the 16 cut at the
# handshake timeout, 16 more held), one more.
cat >"$T/handshakes.py" <<'PY'
import socket, sys, time
port, dst, held_src, same, other = int(sys.argv[1]), *sys.argv[2:6]
family = socket.AF_INET6 if ":" in dst else socket.AF_INET

def dial(src):
    s = socket.socket(family)
    s.bind((src, 0))
    s.connect((dst, port))
    return s

def closed_within(s, secs):
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except (socket.timeout, ConnectionResetError) as e:
        return not isinstance(e, socket.timeout)

held = [dial(held_src) for _ in range(16)]
time.sleep(0.1)
assert closed_within(dial(same), 0.5), f"the 17th handshake, from {same}, was not refused"
assert not closed_within(dial(other), 0.3), f"a handshake from {other} was refused"
if sys.argv[6:] == ["again"]:
    assert all(closed_within(dial(same), 0.5) for _ in range(2)), "18th, 19th not refused"
    time.sleep(1.0)
    held = [dial(held_src) for _ in range(16)]
    time.sleep(0.1)
    assert closed_within(dial(same), 0.5), "the 17th handshake, later, was not refused"
PY

# One address holds at most 16 connections in their handshake: the 17th
# from 127.0.0.1 is closed at once, while one from 127.0.0.2 still gets
# its handshake (cut at the timeout, 1 s).  Refusals are logged at most
# once a second, the next line counting those in between.
python3 "$T/handshakes.py" "$PORT" 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.2 again ||
	fail "handshakes from one address not capped"
log_has "migration: 127\.0\.0\.1:[0-9]+ refused: 16 TLS handshakes from its host \(127\.0\.0\.1\) \
are in progress"
log_has "refused: 16 TLS handshakes from its host \(127\.0\.0\.1\) are in progress, the most one \
host may have \(and 2 more refused at the caps since the last such line\)"
n=$(grep -c "refused: 16 TLS handshakes from its host" "$LOG")
[ "$n" = 2 ] || fail "$n lines for 4 refusals at the handshake cap, expected 2 (one a second)"
serving "16 handshakes from one address"

# ---- the hello ---------------------------------------------------------------------

out=$(as host-b --hello-min 4 --hello-max 5)
expect_field "$out" result error
expect_field "$out" error.code -93
expect_field "$out" error.message "source speaks 4..5, this gisad speaks 1..3"
log_has "source speaks 4\.\.5, this gisad speaks 1\.\.3: answered MigError -93 and closing"
# Version 3, the newest both speak.
out=$(as host-b --hello-min 1 --hello-max 4)
expect_field "$out" result hello
expect_field "$out" version 3

out=$(as host-b --garbage)
expect_field "$out" result error
expect_field "$out" error.code -74
log_has "\`host-b' $FP_B\): .*magic.*: answered MigError -74"

# Silent after the handshake: MigError -ETIMEDOUT at the idle timeout.
out=$(as host-b --silent)
expect_field "$out" result error
expect_field "$out" error.code -110
ms=$(field "$out" closed_after_ms)
[ "$ms" -ge 2900 ] && [ "$ms" -lt 8000 ] || fail "idle timeout after $ms ms, expected ~3000"
log_has "nothing received for 3000 ms \(idle_timeout_ms\): answered MigError -110"

# A CHUNK frame with no stream announced is refused at its header, not
# buffered whole (16 MiB) first: the answer comes before the idle timeout.
out=$(as host-b --stray-chunk)
expect_match "$out" "^result=error$"
expect_field "$out" error.code -71
expect_field "$out" error.message "a CHUNK frame of 16777216 bytes outside an announced object stream"
ms=$(field "$out" answer_after_ms)
[ "$ms" -lt 1500 ] || fail "a stray CHUNK frame was refused after $ms ms"
serving "bad hellos and an idle peer"

# A message the link itself refuses once the staging VM is reserved (here
# one of protocol version 2 after MigBegin): MigError -EPROTO, and the
# destination discards: the job fails, the name is free again.
out=$(as host-b --begin staged)
grep -qx 'ready.vm_name=staged' <<<"$out" || fail "no MigReady for \`staged': $out"
grep -qx 'error.code=-71' <<<"$(tail -n +4 <<<"$out")" || fail "no MigError -71 after: $out"
log_has "of protocol version 2: version 1 was agreed: answered MigError -71"
log_has "job 1: migrate-in of VM \`staged' failed: connection lost: MigAbort \(field 27\) of \
protocol version 2"
out=$(ctl vm-create staged profile=1 2>&1) || fail "the name \`staged' is still reserved: $out"
ctl vm-destroy staged >/dev/null || fail "vm-destroy staged"
serving "a refused message after MigBegin"

# Version 3: a MigPing before any round was acknowledged (the source has no
# prediction to check yet) is refused the same way.
out=$(as host-b --hello-max 3 --begin early --ping)
grep -qx 'ready.vm_name=early' <<<"$out" || fail "no MigReady for \`early': $out"
grep -qx 'error.code=-71' <<<"$(tail -n +4 <<<"$out")" || fail "no MigError -71 after: $out"
log_has "job [0-9]*: migrate-in of VM \`early' failed: the source sent MigPing for round 0: no \
round was acknowledged yet"
out=$(ctl vm-create early profile=1 2>&1) || fail "the name \`early' is still reserved: $out"
ctl vm-destroy early >/dev/null || fail "vm-destroy early"
serving "a MigPing before round 0's acknowledgement"
# ... also one whose round is the one before round 0 in 32 bits.
out=$(as host-b --hello-max 3 --begin wrap --ping=4294967295)
grep -qx 'error.code=-71' <<<"$(tail -n +4 <<<"$out")" || fail "no MigError -71 after: $out"
log_has "job [0-9]*: migrate-in of VM \`wrap' failed: the source sent MigPing for round \
4294967295: no round was acknowledged yet"
out=$(ctl vm-create wrap profile=1 2>&1) || fail "the name \`wrap' is still reserved: $out"
ctl vm-destroy wrap >/dev/null || fail "vm-destroy wrap"
serving "a MigPing for round 2^32 - 1 before round 0's acknowledgement"

# Version 3 after round 0 (mig-client sends a snapshot exported here as
# round 0): its acknowledgement is `live'; a MigPing then gets a MigPong
# with the probe's time; a second MigPing (before the MigPong or after
# it) and a MigRound before the MigPong are refused with MigError -EPROTO
# naming them, and the staging is discarded: the name is free again.
ctl vm-create r0 profile=1 >/dev/null || fail "vm-create r0"
out=$(ctl export r0 "$T/r0.gsnap") || fail "export r0: $out"
ctl vm-destroy r0 >/dev/null || fail "vm-destroy r0"
# after_round0 NAME ACTION: round 0 of r0.gsnap as VM NAME, then ACTION.
after_round0() {
	out=$(as host-b --hello-max 3 --begin "$1" --round0 "$T/r0.gsnap" --then "$2")
	grep -qx 'ready.vm_name='"$1" <<<"$out" || fail "no MigReady for \`$1': $out"
	grep -qx 'result=ack' <<<"$out" && grep -qx 'ack.round=0' <<<"$out" &&
		grep -qx 'ack.live=1' <<<"$out" || fail "round 0 of \`$1' not acknowledged live: $out"
}
# name_free NAME: the staging of NAME is gone, its name with it.
name_free() {
	local o
	for _ in $(seq 1 100); do
		o=$(ctl vm-create "$1" profile=1 2>&1) && break
		sleep 0.05
	done
	ctl vm-destroy "$1" >/dev/null || fail "the name \`$1' is still reserved: $o"
}

# Round 0 announced with 2^64 - 1 bytes (the reassembler's `any size'):
# refused at its MigRound, over the object cap.
out=$(as host-b --hello-max 3 --begin anysize --round0 "$T/r0.gsnap" \
	--object-bytes 18446744073709551615)
grep -qx 'error.code=-7' <<<"$out" || fail "round 0 of 2^64 - 1 bytes not refused: $out"
log_has "job [0-9]*: migrate-in of VM \`anysize' failed: .*stream 1 announces \
18446744073709551615 bytes, over the object cap of 75497472 bytes"
name_free anysize
serving "round 0 announced with 2^64 - 1 bytes"
after_round0 pinged ping
grep -qx 'result=pong' <<<"$out" && grep -qx 'pong.round=0' <<<"$out" &&
	grep -qx 'pong.durable=1' <<<"$out" || fail "no MigPong with the probe's time: $out"
log_has "job [0-9]*: migrate-in of VM \`pinged' cancelled: the source aborted: mig-client is done"
name_free pinged
# refused NAME MESSAGE: the answer was MigError -EPROTO saying MESSAGE; NAME is free.
refused() {
	grep -qx 'error.code=-71' <<<"$out" && grep -qxF "error.message=$2" <<<"$out" ||
		fail "\`$1' not refused with MigError -71 \`$2': $out"
	name_free "$1"
}
after_round0 twice ping-ping
refused twice "MigPing (field 30) before the MigPong of round 0"
log_has "job [0-9]*: migrate-in of VM \`twice' failed: the source sent MigPing \(field 30\) \
before the MigPong of round 0"
after_round0 again pong-ping
grep -qx 'result=pong' <<<"$out" || fail "no MigPong for the first MigPing: $out"
refused again "a second MigPing (round 0): one per migration"
after_round0 hasty ping-round
refused hasty "MigRound (field 19) before the MigPong of round 0"
serving "MigPing after round 0"

# Precopy rounds are capped at the destination too (a source caps its own
# at 1000): rounds 1 to 999 of the empty delta are acknowledged, round
# 1000 is refused with MigError -EPROTO naming the cap, and the staging is
# discarded; its slot, which keeps every round, stays readable.
after_round0 many deltas=1000
grep -qx 'deltas.acked=999' <<<"$out" || fail "rounds 1 to 999 not all acknowledged: \
$(tail -n 5 <<<"$out")"
refused many "MigRound 1000: a migration has at most 1000 precopy rounds (0 to 999)"
serving "1000 precopy rounds"

# The probe's write failing (mig-fsync-shim: the destination's second
# flush of a slot, after round 0's write into it) discards the staging,
# as a failed commit into the same slot would.
stop_gisad
MIG_SHIM_SLOT_FAIL=2 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start_gisad
learn_port
after_round0 unprobed ping
grep -qx 'error.code=-5' <<<"$out" || fail "a failed probe is not MigError -EIO: $out"
log_has "job [0-9]*: migrate-in of VM \`unprobed' failed: timing a durable write in the \
checkpoint's slot: .*Input/output error"
name_free unprobed
stop_gisad
start_gisad
learn_port
serving "a failed probe"

# A MigBegin announcing a round 0 larger than any object may be (the
# destination reserves its slot for the size announced) is refused before
# anything is staged: no name held, no record, no slot.
before=$(ls "$T/state/migrations" 2>/dev/null || true)
out=$(as host-b --begin liar --estimate 1099511627776)
grep -qx 'error.code=-90' <<<"$out" || fail "a 1 TiB round 0 announced is not refused: $out"
grep -q 'error.message=MigBegin announces round 0 of 1099511627776 bytes, over the object cap of 75497472' \
	<<<"$out" || fail "the refusal of a 1 TiB round 0 does not name it: $out"
[ "$(ls "$T/state/migrations" 2>/dev/null || true)" = "$before" ] ||
	fail "a refused MigBegin left files: $(ls "$T/state/migrations")"
out=$(ctl vm-create liar profile=1 2>&1) || fail "the name \`liar' is held: $out"
ctl vm-destroy liar >/dev/null || fail "vm-destroy liar"
serving "a MigBegin announcing a round 0 over the object cap"

# A MigBegin accepted is staged durably (the STAGING record, the slot
# reserved) before round 0 can be acknowledged; a migration that ends
# before round 0 removes its slot and leaves its record DISCARDED.  The
# same with the DISCARDED record's write failing (mig-fsync-shim): logged,
# the outcome kept in memory, the name freed; the STAGING record left on
# disk (under the migration's own name once the spares are made again)
# becomes DISCARDED at the next start (its slot holds no snapshot).
stop_gisad
MIG_SHIM_JSON_FAIL=discarded:1 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start_gisad
learn_port
out=$(as host-b --begin lost)
grep -qx 'ready.vm_name=lost' <<<"$out" || fail "no MigReady for \`lost': $out"
log_has "migration of VM \`lost': the DISCARDED record: writing .*Input/output error"
out=$(ctl vm-create lost profile=1 2>&1) || fail "the name \`lost' is still reserved: $out"
ctl vm-destroy lost >/dev/null || fail "vm-destroy lost"
# (The name is freed after the slot's removal, on the same loop.)
for _ in $(seq 1 100); do
	rl=$(grep -l '"vm": "lost"' "$T"/state/migrations/*.json 2>/dev/null || true)
	[ -n "$rl" ] && break
	sleep 0.05
done
[ -n "$rl" ] && grep -q '"state": "staging"' "$rl" ||
	fail "no STAGING record of \`lost' after its MigReady: $(ls -A "$T/state/migrations")"
[ ! -e "${rl%.json}.stage" ] || fail "the slot of \`lost', discarded, stays"
stop_gisad
start_gisad
learn_port
log_has "incoming migration of VM \`lost' was staging when gisad stopped: discarded"
grep -q '"state": "discarded"' "$rl" || fail "the record of \`lost' is not DISCARDED: $(cat "$rl")"
serving "a DISCARDED record whose write fails"

# A listening gisad keeps four spare STAGING record and slot pairs
# (hidden files, made ahead, blank): a MigBegin whose round 0 fits takes a
# free one, the record written over the spare's blocks (padded with
# spaces), and keeps it under the hidden names while it runs; a second one
# at the same time takes another.  Once they ended their pairs get their
# names (or go, superseded) and new spares are made.
M=$T/state/migrations
spare_ok() {
	local k
	for k in 0 1 2 3; do
		[ "$(stat -c %s "$M/.spare-$k.stage" 2>/dev/null)" = 262144 ] &&
			[ "$(stat -c %s "$M/.spare-$k.json" 2>/dev/null)" = 4096 ] &&
			[ "$(head -c 1 "$M/.spare-$k.json")" = " " ] || return 1
	done
}
# spare_taken VM: a spare holds VM's STAGING record, nothing else names it.
spare_taken() {
	grep -lq "\"vm\": \"$1\"" "$M"/.spare-?.json 2>/dev/null &&
		! grep -lq "\"vm\": \"$1\"" "$M"/*.json 2>/dev/null
}
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "no spare STAGING records and slots: $(ls -lA "$M")"
ino0=$(stat -c %i "$M/.spare-0.stage")
ino1=$(stat -c %i "$M/.spare-1.stage")
as host-b --begin spare --hold 3000 >"$T/spare.out" &
hp=$!
for _ in $(seq 1 200); do spare_taken spare && break; sleep 0.05; done
spare_taken spare || fail "no spare holds the STAGING record of \`spare': $(ls -lA "$M")"
as host-b --begin spare2 --hold 2000 >"$T/spare2.out" &
hp2=$!
for _ in $(seq 1 200); do spare_taken spare2 && break; sleep 0.05; done
spare_taken spare2 || fail "no spare holds the STAGING record of \`spare2': $(ls -lA "$M")"
grep -q '"vm": "spare"' "$M/.spare-0.json" && grep -q '"state": "staging"' "$M/.spare-0.json" &&
	[ "$(stat -c %s "$M/.spare-0.json")" = 4096 ] ||
	fail "spare 0 is not \`spare' STAGING, padded: $(head -c 300 "$M/.spare-0.json")"
grep -q '"vm": "spare2"' "$M/.spare-1.json" ||
	fail "spare 1 is not \`spare2': $(head -c 300 "$M/.spare-1.json")"
[ "$(stat -c %i "$M/.spare-0.stage")" = "$ino0" ] && [ "$(stat -c %i "$M/.spare-1.stage")" = "$ino1" ] ||
	fail "a spare slot was replaced while a migration holds it"
wait "$hp"
wait "$hp2"
for _ in $(seq 1 100); do
	rs=$(grep -l '"vm": "spare"' "$M"/*.json 2>/dev/null || true)
	rs2=$(grep -l '"vm": "spare2"' "$M"/*.json 2>/dev/null || true)
	spare_ok && [ -n "$rs" ] && [ -n "$rs2" ] && break
	sleep 0.05
done
spare_ok || fail "the spares are not made again after \`spare' and \`spare2' ended: $(ls -lA "$M")"
for r in "$rs" "$rs2"; do
	[ -n "$r" ] && grep -q '"state": "discarded"' "$r" ||
		fail "a migration that held a spare is not DISCARDED under its own name: $(ls -lA "$M")"
	[ ! -e "${r%.json}.stage" ] || fail "the slot of $r, discarded, stays"
done
stop_gisad
start_gisad
learn_port
grep -q "VM \`spare2\?' was staging" "$LOG" && fail "a restart found \`spare' staging"
serving "STAGING records and slots made from the spares"

# Not beside a migration: a connection open when a staged migration ends
# puts making its pair again off (their writes share the queue) until the
# connection closes.
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "no spares after a restart: $(ls -lA "$M")"
as host-b --begin defer --hold 600 >"$T/defer.out" &
hp=$!
for _ in $(seq 1 200); do spare_taken defer && break; sleep 0.05; done
spare_taken defer || fail "no spare holds the STAGING record of \`defer': $(ls -lA "$M")"
n0=$(grep -c "\`host-a' ($FP_A) admitted by allow-list entry" "$LOG" || true)
as host-a --delay 2000 >"$T/defer-held" &
hd=$!
for _ in $(seq 1 100); do
	[ "$(grep -c "\`host-a' ($FP_A) admitted by allow-list entry" "$LOG" || true)" -gt "$n0" ] &&
		break
	sleep 0.02
done
wait "$hp"
sleep 0.5
spare_ok && fail "the spares were made again beside an open migration connection"
wait "$hd"
expect_field "$(cat "$T/defer-held")" result hello
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "the spares were not made again once the connection closed: $(ls -lA "$M")"
serving "spares made again only without a migration connection"

# gisad killed while a migration holds the spares: the next start gives
# them its names before it reads the records, and discards it.
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "no spares after a restart: $(ls -lA "$M")"
as host-b --begin killed --hold 5000 >/dev/null &
hp=$!
for _ in $(seq 1 200); do spare_taken killed && break; sleep 0.05; done
spare_taken killed || fail "the spares do not hold the STAGING record of \`killed'"
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=
wait "$hp" || true
start_gisad
learn_port
log_has "incoming migration of VM \`killed' was staging when gisad stopped: discarded"
rk=$(grep -l '"vm": "killed"' "$M"/*.json 2>/dev/null || true)
[ -n "$rk" ] && grep -q '"state": "discarded"' "$rk" ||
	fail "\`killed' is not DISCARDED under its own name after the restart: $(ls -lA "$M")"
[ ! -e "${rk%.json}.stage" ] || fail "the slot of \`killed', discarded, stays"
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "no blank spares after \`killed' was named: $(ls -lA "$M")"
serving "a migration holding the spares when gisad was killed"

# A spare record whose flush fails (mig-fsync-shim): the migration makes
# new files instead, the pair goes at once (nobody's), and the spares are
# made whole again once it ended.
stop_gisad
MIG_SHIM_SPARE_FAIL=1 LD_PRELOAD=$MIG_FSYNC_SHIM \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" start_gisad
learn_port
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "no spares before a failing spare flush: $(ls -lA "$M")"
as host-b --begin sparefail --hold 2000 >/dev/null &
hp=$!
for _ in $(seq 1 200); do
	rf=$(grep -l '"vm": "sparefail"' "$M"/*.json 2>/dev/null || true)
	[ -n "$rf" ] && [ -e "${rf%.json}.stage" ] && break
	sleep 0.05
done
[ -n "$rf" ] && [ -e "${rf%.json}.stage" ] ||
	fail "no STAGING record and slot of \`sparefail' in new files: $(ls -lA "$M")"
grep -lq '"vm": "sparefail"' "$M"/.spare-?.json 2>/dev/null &&
	fail "a spare still holds the record of \`sparefail' after its flush failed"
wait "$hp" || true
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "the spares are not whole again after a failed spare flush: $(ls -lA "$M")"
grep -q '"state": "discarded"' "$rf" || fail "\`sparefail' is not DISCARDED: $(cat "$rf")"
stop_gisad
start_gisad
learn_port
serving "a spare record whose flush fails"

# A spare record cut short (a crash inside its write: never acknowledged)
# is removed at the next start, with a warning, and the spares made again.
stop_gisad
printf '{\n  "format": "gisad.migr' | dd of="$M/.spare-2.json" conv=notrunc status=none
start_gisad
learn_port
log_has "\\.spare-2\\.json' holds a STAGING record cut short (.*), never acknowledged: removed"
for _ in $(seq 1 100); do spare_ok && break; sleep 0.05; done
spare_ok || fail "the spares are not made again after a record cut short: $(ls -lA "$M")"
serving "a spare record cut short"

# A staging VM holds one of max_vms (7 here) until it is discarded.  It
# announces a 40 MiB round 0: its slot, reserved before round 0 arrives,
# holds 16 MiB of that until round 0 proves it (plus an eighth and 64 KiB).
as host-b --begin held --hold 4000 --estimate 41943040 >"$T/held.out" &
hp=$!
for _ in $(seq 1 200); do
	grep -q '^result=ready' "$T/held.out" && break
	sleep 0.05
done
grep -q '^ready.vm_name=held' "$T/held.out" || fail "no MigReady for \`held': $(cat "$T/held.out")"
want=$(( (16 << 20) + (2 << 20) + (64 << 10) ))
for _ in $(seq 1 100); do
	sizes=$(stat -c %s "$T"/state/migrations/*.stage 2>/dev/null || true)
	grep -qx "$want" <<<"$sizes" && break
	sleep 0.05
done
grep -qx "$want" <<<"$sizes" ||
	fail "the slot reserved for a 40 MiB announcement is not $want bytes: ${sizes:-none}"
for i in 1 2 3 4 5 6; do
	ctl vm-create "v$i" profile=1 >/dev/null || fail "vm-create v$i"
done
out=$(ctl vm-create v7 profile=1 2>&1) && fail "a 7th VM beside a staging one was created"
[[ "$out" == *"already hosts 6 VMs and receives 1 by migration (max_vms = 7)"* ]] ||
	fail "vm-create v7: $out"
wait "$hp"
out=$(ctl vm-create v7 profile=1 2>&1) || fail "vm-create v7 once \`held' was discarded: $out"
for i in 1 2 3 4 5 6 7; do
	ctl vm-destroy "v$i" >/dev/null || fail "vm-destroy v$i"
done
serving "max_vms with a staging VM"

# ---- per-peer limit: 2 connections per certificate ---------------------------------

admitted_b() {
	grep -c "\`host-b' ($FP_B) admitted by allow-list entry \`host-b'$" "$LOG" || true
}
n0=$(admitted_b)
as host-b --delay 2500 >"$T/hold1" &
h1=$!
as host-b --delay 2500 >"$T/hold2" &
h2=$!
for _ in $(seq 1 100); do
	[ "$(admitted_b)" -ge $((n0 + 2)) ] && break
	sleep 0.02
done
[ "$(admitted_b)" -ge $((n0 + 2)) ] || fail "the two held connections were not admitted"
# One more is refused as soon as its handshake completes: it need not send
# a hello (the idle timeout is 3 s), so it cannot hold a listener slot.
out=$(as host-b --silent)
expect_field "$out" result error
expect_field "$out" error.code -87
ms=$(field "$out" closed_after_ms)
[ "$ms" -lt 1500 ] || fail "the connection over the per-peer cap was refused after $ms ms"
cap="\(max_connections_per_peer = 2\)"
expect_match "$out" \
	"^error.message=peer \`host-b' \($FP_B\) already holds 2 migration connections $cap$"
log_has "\`host-b' $FP_B\): peer \`host-b' \($FP_B\) already holds 2 migration connections \
$cap: answered MigError -87 and closing"
out=$(as host-b)
expect_field "$out" result error
expect_field "$out" error.code -87
# Another certificate is counted apart.
out=$(as host-a)
expect_field "$out" result hello
wait "$h1" "$h2"
expect_field "$(cat "$T/hold1")" result hello
expect_field "$(cat "$T/hold2")" result hello
# The limit counts open connections only.
out=$(as host-b)
expect_field "$out" result hello
serving "the per-peer limit"

# ---- SIGHUP: a new allow-list for new connections ----------------------------------

n0=$(admitted_b)
as host-b --delay 1500 >"$T/held" &
h1=$!
for _ in $(seq 1 100); do
	[ "$(admitted_b)" -gt "$n0" ] && break
	sleep 0.02
done
[ "$(admitted_b)" -gt "$n0" ] || fail "the held connection was not admitted"
# The new allow-list on two lines: the second one's entry admits host-c.
tls_conf tls_allow="host-a"
echo "tls_allow = $FP_C" >>"$CONF"
kill -HUP "$PID"
log_has "SIGHUP: migration TLS reloaded: 2 allow-list entries for new connections; \
open connections \(1\) keep the previous ones$"
out=$(as host-c)
expect_field "$out" result hello
log_has "\`host-c' \($FP_C\) admitted by allow-list entry \`$FP_C'$"
out=$(as host-b)
expect_field "$out" result refused
expect_field "$out" tls.alert 42
log_has "certificate of \`host-b' \($FP_B\) is not on the allow-list \[not-allowed"
# The connection opened before the reload keeps its context and is served.
wait "$h1"
expect_field "$(cat "$T/held")" result hello
serving "SIGHUP"

# A reload that fails keeps the previous context (and allow-list).
tls_conf tls_allow="host-b" tls_cert="$C/missing.crt"
kill -HUP "$PID"
log_has "SIGHUP: migration TLS: certificate \`$C/missing.crt': No such file or directory: \
configuration kept$"
out=$(as host-c)
expect_field "$out" result hello
out=$(as host-b)
expect_field "$out" result refused
serving "a failed reload"

stop_gisad 0

# A listener whose certificate cannot be loaded stops the start, naming it.
tls_conf tls_allow="host-b" tls_cert="$C/missing.crt"
rc=0
"$GISAD" --foreground --config "$CONF" 2>>"$LOG" || rc=$?
[ "$rc" -eq 1 ] || fail "gisad started (status $rc) without its TLS certificate"
log_has "migration TLS: certificate \`$C/missing.crt': No such file or directory$"

# ---- IPv6: one host is one /64 ------------------------------------------------------
#
# In a network namespace of its own (root only), two /64s on its loopback:
# 16 handshakes from fd00:1::2 and the 17th from fd00:1::3 (the same /64)
# is closed at once; one from fd00:2::2 is served.
NS=gisad-it-$$
if [ "$IS_ROOT" = 1 ] && command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
	trap 'ip netns del "$NS" 2>/dev/null || true; cleanup' EXIT
	ip netns exec "$NS" sh -ec 'ip link set lo up
		for a in fd00:1::1 fd00:1::2 fd00:1::3 fd00:2::2; do
			ip -6 addr add "$a/64" dev lo nodad
		done'
	tls_conf tls_allow="host-b" migration_listen="[fd00:1::1]:0"
	start_gisad ip netns exec "$NS"
	PORT=$(sed -n 's/.*migration: listening on \[fd00:1::1\]:\([0-9]*\) (TLS.*/\1/p' "$LOG" |
		tail -n 1)
	[ -n "$PORT" ] || fail "no IPv6 \`listening on' line in the log"
	ip netns exec "$NS" python3 "$T/handshakes.py" "$PORT" fd00:1::1 fd00:1::2 fd00:1::3 \
		fd00:2::2 || fail "handshakes from one /64 not capped"
	log_has "migration: \[fd00:1::3\]:[0-9]+ refused: 16 TLS handshakes from its host \
\(fd00:1::/64\) are in progress"
	serving "16 handshakes from one /64"
	stop_gisad 0
	ip netns del "$NS"
	trap cleanup EXIT
else
	echo "IPv6 handshake cap: skipped (needs root and \`ip netns')"
fi

echo "ok: migration listener"
