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

# A NUL byte would cut a value short (state_dir `/tmp/x' of
# `/tmp/x\0/../../etc', max_vms 5 of `5\0junk'): its line is refused,
# with the NUL's column, and nothing of it applied; so is a comment's.
printf '[gisad]\nstate_dir = /tmp/x\0/../../etc\nmax_vms = 5\0junk\n# note\0\n' >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "NUL bytes accepted: $out"
expect_match "$out" "^$bad:2: NUL byte at column 19: expected text$"
expect_match "$out" "^$bad:3: NUL byte at column 12: expected text$"
expect_match "$out" "^$bad:4: NUL byte at column 7: expected text$"
expect_match "$out" "^$bad: 3 errors$"
# max_mem_cap: from the engine's default cap (64 MiB) to 2 GiB.
printf '[gisad]\nmax_mem_cap = 67108863\n' >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "max_mem_cap under 64 MiB accepted"
expect_match "$out" \
	"^$bad:2: key \`max_mem_cap', value \`67108863': out of range: expected 67108864 to 2147483648$"
printf '[gisad]\nmax_mem_cap = 2147483649\n' >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "max_mem_cap over 2 GiB accepted"
# max_checkpoints_per_vm: 1 to 4096 tagged checkpoints, 64 by default.
mcp=max_checkpoints_per_vm
expect_match "$("$GISAD" --config "$CONF" --dump-config)" "^$mcp = 64$"
for v in 0 4097 -1 64k; do
	printf '[gisad]\n%s = %s\n' "$mcp" "$v" >"$bad"
	out=$("$GISAD" --check-config "$bad" 2>&1) && fail "$mcp = $v accepted"
	expect_match "$out" "^$bad:2: key \`$mcp', value \`$v': .*expected (a decimal number from )?1 to 4096$"
done
for v in 1 4096; do
	printf '[gisad]\n%s = %s\n' "$mcp" "$v" >"$bad"
	out=$("$GISAD" --check-config "$bad" 2>&1) || fail "$mcp = $v refused: $out"
	expect_match "$("$GISAD" --config "$bad" --dump-config)" "^$mcp = $v$"
done

# tls_allow adds up over repeated keys and continuation lines, and
# --dump-config splits a long one into lines the parser takes again.
fps=()
for i in $(seq 1 6); do
	fps+=("sha256:$(printf '%064x' "$i")")
done
allow=$T/allow.conf
printf '[gisad]\ntls_allow = %s, %s\ntls_allow = %s\n  %s, %s\ntls_allow = %s\n' "${fps[@]}" \
	>"$allow"
out=$("$GISAD" --check-config "$allow" 2>&1) || fail "a tls_allow on several lines refused: $out"
dump=$("$GISAD" --config "$allow" --dump-config)
got=$(sed -n 's/^tls_allow = //p' <<<"$dump" | tr ',' '\n' | tr -d ' ')
[ "$got" = "$(printf '%s\n' "${fps[@]}")" ] || fail "tls_allow lost or reordered entries: $got"
[ "$(grep -c '^tls_allow = ' <<<"$dump")" -gt 1 ] || fail "a long tls_allow dumped on one line"
long=$(awk 'length($0) > 198' <<<"$dump")
[ -z "$long" ] || fail "--dump-config wrote lines the parser cuts: $long"
printf '%s\n' "$dump" >"$T/dumped.conf"
[ "$("$GISAD" --config "$T/dumped.conf" --dump-config)" = "$dump" ] ||
	fail "a dumped tls_allow does not load back the same"
# A bad entry is reported at its own line; so is the line that goes over a cap.
printf '[gisad]\ntls_allow = host-a\n  host-b, bad_entry!\n' >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "a bad continued entry accepted"
expect_match "$out" "^$bad:3: key \`tls_allow', value \`host-b, bad_entry!': .*bad_entry!"
{
	echo "[gisad]"
	for _ in $(seq 0 40); do
		echo "tls_allow = $(printf 'a %.0s' $(seq 1 25))"
	done
} >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "1025 allow-list entries accepted"
expect_match "$out" "^$bad:42: key \`tls_allow', value \`a a .*': more than 1024 allow-list \
entries with the lines before it$"
[ "$(grep -c ': more than 1024' <<<"$out")" = 1 ] || fail "the entry cap reported on other lines"
{
	echo "[gisad]"
	for i in $(seq 10 39); do
		printf 'tls_allow = sha256:%064x, sha256:%064x\n' "$i" "$((i + 100))"
	done
} >"$bad"
out=$("$GISAD" --check-config "$bad" 2>&1) && fail "an allow-list over its byte cap accepted"
expect_match "$out" "^$bad:30: key \`tls_allow', value \`sha256:.*': 4[0-9]{3} bytes with the \
lines before it, at most 4095 allowed$"

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
# A file that parses, but whose group does not exist: refused whole, its
# other settings not applied either.
cp "$T/good.conf" "$CONF"
sed -i -e 's/^max_connections_per_uid = 2$/max_connections_per_uid = 3/' \
	-e 's/^group = .*/group = gisad-no-such-group/' "$CONF"
kill -HUP "$PID"
sleep 0.3
grep -q "SIGHUP: group \`gisad-no-such-group' does not exist.*: configuration kept$" "$LOG" ||
	fail "reload with an unknown group not refused"
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
