#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# systemd integration without systemd: sd_notify READY=1, WATCHDOG=1 at
# half WATCHDOG_USEC and STOPPING=1 to a NOTIFY_SOCKET, and socket
# activation (LISTEN_FDS) instead of binding the configured path.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 missing: skipped"; exit 77; }

# ---- notifications ----------------------------------------------------------
write_conf
python3 - "$T/notify" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as log:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        for line in msg.splitlines():
            log.write(line + "\n")
            log.flush()
        if "STOPPING=1" in msg:
            break
PY
npid=$!
for _ in $(seq 1 100); do
	[ -S "$T/notify" ] && break
	sleep 0.05
done
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=200000 start_gisad
sleep 0.6
stop_gisad
wait "$npid" || true
log=$(cat "$T/notify.log")
expect_match "$log" '^READY=1$'
expect_match "$log" '^STATUS=serving 0 VMs$'
expect_match "$log" '^STOPPING=1$'
w=$(grep -c '^WATCHDOG=1$' "$T/notify.log")
[ "$w" -ge 3 ] || fail "expected >= 3 WATCHDOG=1 in 0.6 s at a 0.1 s period, got $w"
# READY before STOPPING.
[ "$(grep -n '^READY=1$' "$T/notify.log" | head -n1 | cut -d: -f1)" -lt \
  "$(grep -n '^STOPPING=1$' "$T/notify.log" | cut -d: -f1)" ] || fail "READY after STOPPING"

# ---- socket activation ------------------------------------------------------
ACT=$T/activated.sock
write_conf
python3 - "$ACT" "$GISAD" "$CONF" "$LOG" <<'PY' &
import os, socket, sys
path, gisad, conf, log = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
os.dup2(fd, 2)
os.execve(gisad, [gisad, "--foreground", "--config", conf], env)
PY
PID=$!
ok=0
for _ in $(seq 1 200); do
	if "$CTL" -s "$ACT" ping >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 0.05
done
[ "$ok" = 1 ] || fail "the activated socket was not served"
grep -q "using the socket passed by systemd" "$LOG" || fail "activation not logged"
[ ! -e "$SOCK" ] || fail "the configured path was bound despite activation"
"$CTL" -s "$ACT" vm-create act >/dev/null
stop_gisad
[ -S "$ACT" ] || fail "gisad removed the socket systemd owns"
[ -f "$T/state/checkpoints/act/current.gsnap" ] || fail "no checkpoint at stop"
echo "ok: systemd"
