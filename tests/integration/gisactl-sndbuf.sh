#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Replies against a send buffer that net.core.wmem_max bounds, as under
# gisad.service (no CAP_NET_ADMIN, so no SO_SNDBUFFORCE): sndbuf-shim
# (SNDBUF_SHIM, LD_PRELOAD) gives gisad that of a host whose wmem_max is
# 64 KiB (below the kernel's default, 208 KiB, which bounds it too).  gisad
# says so once in its log, ping reports the largest reply the connection
# takes (twice 64 KiB less 32 bytes), a reply over it is
# refused with E2BIG naming the limit instead of failing at the socket,
# and gisactl's default irq get buffer follows the limit.
. "$(dirname "$0")/lib-gisactl.sh"

: "${SNDBUF_SHIM:?SNDBUF_SHIM must name the sndbuf-shim library}"

wmem=65536
reply=$((2 * wmem - 32))
result=$((reply - 4096))

write_conf
start_gisad SNDBUF_SHIM_WMEM_MAX=$wmem LD_PRELOAD="$SNDBUF_SHIM" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"

g 0 ping
out_match "^max datagram +1048576 bytes$"
out_match "^max reply +$reply bytes$"
g 0 --json ping
json ping "d['max_datagram'] == 1048576 and d['max_reply'] == $reply"
grep -qF "send buffer is $((2 * wmem)) bytes" "$LOG" ||
	fail "gisad's log does not name the bounded send buffer:
$(cat "$LOG")"
grep -qF "replies over $reply bytes are refused" "$LOG" || fail "no limit in the log"
[ "$(grep -c "send buffer is" "$LOG")" = 1 ] || fail "the limit is logged more than once"

# ---- bulk replies up to the limit, and over it -------------------------------
g 0 vm create r --vcpus 1 --memslot 0:0:0x100000
out=$(ctl req mem_read vm=r gpa=0 len=$result)
expect_field "$out" error 0
[ "$(field "$out" mem.data | tr -d '\n' | wc -c)" = $((2 * result)) ] ||
	fail "mem_read of $result bytes returned another length"
run_ctl out req mem_read vm=r gpa=0 len=$((result + 1))
expect_field "$out" error -7
expect_match "$out" "mem_read: $((result + 1)) bytes exceed the $result a reply carries"
# gisactl reads in pieces within the limit.
g 0 mem read r 0 0x100000 -o "$T/mem"
[ "$(stat -c %s "$T/mem")" = 1048576 ] || fail "mem read -o wrote $(stat -c %s "$T/mem") bytes"
run_ctl out flic r get 1 $((result + 1)) buf_len=$((result + 1))
expect_field "$out" error -7
expect_match "$out" "a buffer of $((result + 1)) bytes exceeds the $result a reply carries"

# ---- irq get's default buffer: what a reply carries here ---------------------
ai3=$(printf '0000000004000000%016x%08x%0104d' 0 $((0x98000000)) 0)
ai2=$(printf '0000000004000000%016x%08x%0104d' 0 $((0x90000000)) 0)
g 0 irq inject r --hex "$ai3$ai2$ai3"
g 0 --json irq get r
json 'irq get' "d['count'] == 3"
g 2 irq get r --len $((result + 16))
err_has "exceeds the $result a reply carries"

# ---- without the shim: the datagram cap, or what this host's wmem_max
# leaves where SO_SNDBUFFORCE is not permitted (no CAP_NET_ADMIN) ----------------
stop_gisad
: >"$LOG"
start_gisad
g 0 --json ping
reply=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["max_reply"])' "$T/out")
host=$(($(cat /proc/sys/net/core/wmem_max) * 2 - 32))
if [ "$reply" = 1048576 ]; then
	! grep -qF "send buffer is" "$LOG" || fail "the log names a bounded send buffer"
else
	[ "$reply" -ge "$host" ] && [ "$reply" -lt 1048576 ] ||
		fail "max_reply $reply: neither the cap nor what wmem_max allows ($host)"
	grep -qF "replies over $reply bytes are refused" "$LOG" || fail "no limit in the log"
fi
stop_gisad
echo ok
