#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gisad.conf: --check-config reports file:line, key and value of every
# error; a valid file passes; gisad refuses to start on a bad one; SIGHUP
# with a bad file keeps the running configuration.
. "$(dirname "$0")/lib.sh"

write_conf max_connections_per_uid=7 profiles="classic, newest" ais=no
out=$("$GISAD" --check-config "$CONF" 2>&1) || fail "valid config refused: $out"
[ "$out" = "$CONF: ok" ] || fail "unexpected output: $out"

out=$("$GISAD" --config "$CONF" --dump-config)
expect_match "$out" '^max_connections_per_uid = 7$'
expect_match "$out" '^ais = no$'
expect_match "$out" '^profiles = classic,newest$'
expect_match "$out" '^kicker_interval_us = 0$'

bad=$T/bad.conf
cat >"$bad" <<'CONF'
[gisad]
socket = relative/path
max_connections_per_uid = 0
log_level = chatty
profiles = classic, ancient
frobnicate = 1
gisa = maybe
group = bad/group
max_vms = 12x
this line is not ini
max_connections_per_uid = 5
[other]
nisc = 3
CONF
rc=0
out=$("$GISAD" --check-config "$bad" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "bad config accepted"
expect_match "$out" "^$bad:2: key \`socket', value \`relative/path': expected an absolute path$"
mc=max_connections_per_uid
expect_match "$out" "^$bad:3: key \`$mc', value \`0': out of range: expected 1 to 65536$"
expect_match "$out" \
	"^$bad:4: key \`log_level', value \`chatty': expected err, warning, notice, info or debug$"
expect_match "$out" \
	"^$bad:5: key \`profiles', value \`classic, ancient': unknown profile \`ancient'"
expect_match "$out" "^$bad:6: key \`frobnicate', value \`1': unknown key"
expect_match "$out" "^$bad:7: key \`gisa', value \`maybe': expected yes/no"
expect_match "$out" "^$bad:8: key \`group', value \`bad/group': character 4 is not one of"
expect_match "$out" "^$bad:9: key \`max_vms', value \`12x': expected a decimal number"
expect_match "$out" "^$bad:10: syntax error"
expect_match "$out" "^$bad:11: key \`$mc', value \`5': given twice \(first at line 3\)$"
expect_match "$out" "^$bad:13: key \`nisc', value \`3': unknown section \[other\]"
expect_match "$out" "^$bad: 11 errors$"

rc=0
"$GISAD" --check-config "$T/missing.conf" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "missing config accepted"

# Start-up refuses a bad file.
rc=0
"$GISAD" --foreground --config "$bad" 2>>"$LOG" || rc=$?
[ "$rc" -ne 0 ] || fail "gisad started with a bad config"

# SIGHUP: a bad file keeps the configuration; a good one applies.
write_conf max_connections_per_uid=2
start_gisad
cp "$CONF" "$T/good.conf"
echo "max_vms = many" >>"$CONF"
kill -HUP "$PID"
sleep 0.3
grep -q "configuration kept" "$LOG" || fail "bad reload not reported"
out=$(ctl conns 3)
expect_field "$out" ok 2
cp "$T/good.conf" "$CONF"
sed -i -e 's/^max_connections_per_uid = 2$/max_connections_per_uid = 3/' \
	-e "s|^socket = .*|socket = $T/elsewhere|" "$CONF"
kill -HUP "$PID"
sleep 0.3
grep -q "socket changed from .* takes effect on restart" "$LOG" ||
	fail "restart-only key not reported"
out=$(ctl conns 4)
expect_field "$out" ok 3
stop_gisad
echo "ok: config"
