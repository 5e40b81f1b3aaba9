#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Control-socket discipline: malformed, truncated and oversized datagrams
# are answered with errors while another client keeps being served; the
# socket is 0660 with the configured group; a foreign uid is refused (and
# a group member accepted); the per-uid connection cap holds.
. "$(dirname "$0")/lib.sh"

# Other uids, and datagrams above the unprivileged send-buffer limit, need root.
[ "$IS_ROOT" = 1 ] || { echo "not root: skipped"; exit 77; }

write_conf max_connections_per_uid=4
start_gisad

mode=$(stat -c '%a %G' "$SOCK")
[ "$mode" = "660 $GROUP" ] || fail "socket mode and group: $mode"

out=$(ctl abuse) || fail "abuse: $out"
expect_match "$out" '^garbage error=-74$'
expect_match "$out" '^garbage message=malformed request: 8 bytes do not decode'
expect_match "$out" '^truncated error=-74$'
expect_match "$out" '^oversized error=-90$'
expect_match "$out" '^oversized message=datagram of 1052672 bytes exceeds the 1048576-byte cap'
expect_match "$out" '^noversion error=-71$'
expect_match "$out" '^future error=-93$'
expect_match "$out" '^future message=protocol version 99 is not supported \(this gisad speaks 1\)$'
expect_match "$out" '^unknownverb error=-95$'
expect_match "$out" '^unknownverb message=unknown verb \(field 1000\)'
[ "$(printf '%s\n' "$out" | grep -c '^b ping=ok$')" -eq 5 ] ||
	fail "client b not served throughout: $out"
expect_match "$out" '^a ping=ok$'

# ---- per-uid cap ------------------------------------------------------------
out=$(ctl conns 5)
expect_field "$out" ok 4
expect_field "$out" refused 1
expect_match "$out" "^refused error=-87$"
expect_match "$out" \
	"^refused message=uid 0 already holds 4 control connections \(max_connections_per_uid = 4\)"
# The closed connections were released.
out=$(ctl conns 4)
expect_field "$out" ok 4
expect_field "$out" refused 0

# ---- peer credentials -------------------------------------------------------
# Open the file mode so that only the credential check stands in the way.
chmod 0711 "$T/run"
chmod 0666 "$SOCK"
run_ctl out -u 65534 ping
expect_field "$out" error -13
refusal="uid 65534 is neither root nor a member of group \`root' \(gid 0\)"
expect_match "$out" "^message=$refusal: connection refused$"
grep -q "uid 65534 is neither root" "$LOG" || fail "refusal not logged"
ctl ping >/dev/null || fail "root refused after a foreign uid"

# A member by the user database (nobody's primary group is nogroup),
# though running with another gid, is accepted after a reload.
write_conf max_connections_per_uid=4 group=nogroup
kill -HUP "$PID"
for _ in $(seq 1 50); do
	[ "$(stat -c '%G' "$SOCK")" = nogroup ] && break
	sleep 0.05
done
[ "$(stat -c '%G' "$SOCK")" = nogroup ] || fail "socket group not changed on reload"
chmod 0666 "$SOCK"
out=$("$CTL" -s "$SOCK" -u 65534 -g 1 ping) || fail "member refused: $out"
expect_field "$out" error 0
# And by its running gid, without a passwd entry for the uid.
out=$("$CTL" -s "$SOCK" -u 4242 -g 65534 ping) || fail "gid member refused: $out"
# And by a supplementary group of its process (SO_PEERGROUPS), without a
# passwd entry for the uid.
out=$("$CTL" -s "$SOCK" -u 4242 -g 4242 -G 65534 ping) ||
	fail "member by a supplementary group refused: $out"
run_ctl out -u 4242 -g 4242 ping
expect_field "$out" error -13

# ---- 200 concurrent clients --------------------------------------------------
write_conf max_connections_per_uid=256
kill -HUP "$PID"
for _ in $(seq 1 100); do
	[ "$(stat -c '%G' "$SOCK")" = root ] && break
	sleep 0.05
done
out=$(ctl conns 200)
expect_field "$out" ok 200
expect_field "$out" refused 0
stop_gisad

# ---- all uids but root: max_connections --------------------------------------
write_conf max_connections=3
start_gisad
chmod 0711 "$T/run"
out=$("$CTL" -s "$SOCK" -u 4242 -g 0 conns 5)
expect_field "$out" ok 3
expect_field "$out" refused 2
expect_match "$out" "^refused message=gisad already holds 3 control connections of uids other than root \(max_connections = 3\): connection of uid 4242 refused$"
grep -q "connection of uid 4242 refused" "$LOG" || fail "max_connections refusal not logged"
# Root is not counted.
out=$(ctl conns 5)
expect_field "$out" ok 5
# Raised on SIGHUP.
write_conf max_connections=5
reload_to max_connections 5
out=$("$CTL" -s "$SOCK" -u 4242 -g 0 conns 5)
expect_field "$out" ok 5
stop_gisad

# ---- out of descriptors: accept pauses instead of spinning ------------------
write_conf
(ulimit -n 48 && exec "$GISAD" --foreground --config "$CONF" 2>>"$LOG") &
PID=$!
for _ in $(seq 1 200); do
	ctl ping >/dev/null 2>&1 && break
	sleep 0.05
done
ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
t0=$(ticks)
out=$(ctl conns 80 100)
t1=$(ticks)
[ "$(field "$out" timedout)" -gt 0 ] || fail "the descriptor limit was never reached: $out"
[ "$(field "$out" ok)" -gt 10 ] || fail "too few connections served: $out"
grep -q "accept: Too many open files: paused" "$LOG" || fail "pause not logged"
# Paused for seconds: a spinning loop would burn them all.
[ $((t1 - t0)) -lt 100 ] || fail "gisad used $((t1 - t0)) ticks of CPU while paused"
# Once the connections are gone, new ones are served again.
ok=0
for _ in $(seq 1 60); do
	if ctl ping >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 0.1
done
[ "$ok" = 1 ] || fail "not serving after the connections closed"
stop_gisad
echo "ok: socket"
