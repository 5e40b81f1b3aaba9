#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A foreign uid is refused with gisad's clear message through gisactl, on
# every kind of command, while root keeps being served.  Needs root (to
# become uid 65534); skipped otherwise.
. "$(dirname "$0")/lib-gisactl.sh"

[ "$IS_ROOT" = 1 ] || { echo "not root: skipped"; exit 77; }
command -v setpriv >/dev/null || { echo "no setpriv: skipped"; exit 77; }

write_conf
start_gisad
g 0 vm create a --vcpus 1 --memslot 0:0:0x1000
# Only the credential check stands in the way (not the file modes).
chmod 0711 "$T/run"
chmod 0666 "$SOCK"
chmod 0777 "$T"

# nobody: neither root nor in the daemon's group.
nobody() {
	local want=$1 rc=0
	shift
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$GISACTL" --socket "$SOCK" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "gisactl $* as uid 65534 exited $rc, expected $want
$(cat "$T/out" "$T/err")"
}

refusal="uid 65534 is neither root nor a member of group \`$GROUP' (gid $(id -g)): connection refused"
nobody 2 ping
err_has "gisactl: $refusal"
out_empty
nobody 2 --json vm list
jerr 'vm list' EACCES "$refusal"
nobody 2 vm destroy a
err_has "$refusal"
nobody 2 --json irq inject a --hex "$(io_rec 1 1 0 3)"
jerr 'irq inject' EACCES "$refusal"
nobody 2 diff vm:a vm:a
err_has "$refusal"
# An export would hand gisad a file: refused before anything is written.
nobody 2 snapshot export a "$T/nobody.gsnap"
err_has "$refusal"
[ ! -e "$T/nobody.gsnap" ] || fail "a refused export left a file"
[ -z "$(find "$T" -maxdepth 1 -name '.nobody.gsnap.*')" ] || fail "a refused export left a temporary"
grep -q "uid 65534 is neither root" "$LOG" || fail "refusal not logged"

# Root is still served, and nothing changed.
g 0 --json vm info a
json 'vm info' 'd["pending_irqs"] == "0x0" and d["vcpus"] == 1'
stop_gisad
echo "ok: gisactl uid"
