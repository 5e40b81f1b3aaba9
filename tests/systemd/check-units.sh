#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-units.sh SERVICE SOCKET SYSUSERS TMPFILES
#
# Checks the generated gisad units and the sysusers.d and tmpfiles.d entries
# without a running systemd (plain shell, any PID 1):
#   1. settings gisad depends on are present, and PrivateUsers= is absent
#      (it would break the SO_PEERCRED check of the control socket);
#   2. `systemd-analyze security --offline=yes` rates the service <= 2.0;
#   3. `systemd-analyze verify` accepts both units, silently;
#   4. systemd-sysusers and systemd-tmpfiles apply the entries to a scratch
#      root with the expected user, group, owners and modes (root only:
#      tmpfiles must chown).
# Exit 0 pass, 1 fail, 77 skip (systemd-analyze missing).

set -eu

max_exposure=2.0

if [ $# -ne 4 ]; then
	echo "usage: $0 SERVICE SOCKET SYSUSERS TMPFILES" >&2
	exit 1
fi
# Absolute paths: systemd-sysusers and systemd-tmpfiles --root=DIR would
# look for relative ones inside DIR.
abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s/%s\n' "$PWD" "$1" ;;
	esac
}
service=$(abs "$1")
socket=$(abs "$2")
sysusers=$(abs "$3")
tmpfiles=$(abs "$4")

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not found (Debian package systemd)"
	exit 77
fi

# No colours, no pager, no emoji-dependent parsing surprises.
SYSTEMD_COLORS=0
SYSTEMD_PAGER=
LC_ALL=C.UTF-8
export SYSTEMD_COLORS SYSTEMD_PAGER LC_ALL

fail=0
bad() {
	echo "FAIL: $*"
	fail=1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# --- 1. required settings, no PrivateUsers= -----------------------------

# has FILE LINE: FILE sets exactly LINE (comments and indentation aside).
has() {
	if ! sed -e 's/^[[:space:]]*//' -e '/^[#;]/d' "$1" | grep -qxF -- "$2"; then
		bad "$(basename "$1") lacks '$2'"
	fi
}

# shellcheck disable=SC2016 # $MAINPID is unit text, not shell
for line in \
	'Type=notify' \
	'NotifyAccess=main' \
	'ExecReload=/bin/kill -HUP $MAINPID' \
	'WatchdogSec=30s' \
	'Restart=on-failure' \
	'User=gisad' \
	'Group=gisad' \
	'RuntimeDirectory=gisad' \
	'RuntimeDirectoryMode=0750' \
	'RuntimeDirectoryPreserve=yes' \
	'StateDirectory=gisad' \
	'StateDirectoryMode=0750' \
	'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
	'CapabilityBoundingSet=' \
	'NoNewPrivileges=yes' \
	'ProtectSystem=strict' \
	'SystemCallFilter=@system-service'
do
	has "$service" "$line"
done
for line in \
	'ListenSequentialPacket=/run/gisad/control' \
	'SocketUser=root' \
	'SocketGroup=gisad' \
	'SocketMode=0660' \
	'Service=gisad.service'
do
	has "$socket" "$line"
done

if sed -e 's/^[[:space:]]*//' -e '/^[#;]/d' "$service" | grep -q '^PrivateUsers[[:space:]]*='; then
	bad "$(basename "$service") sets PrivateUsers=, which hides the peers' uids and gids" \
		"from the SO_PEERCRED check"
fi

# --- 2. exposure score ----------------------------------------------------

rc=0
systemd-analyze security --offline=yes --no-pager "$service" >"$tmp/security" 2>&1 || rc=$?
# The per-setting findings that cost exposure, then the verdict.
grep '^✗' "$tmp/security" || true
score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9][0-9.]*\) .*$/\1/p' \
	"$tmp/security")
if [ "$rc" -ne 0 ] || [ -z "$score" ]; then
	cat "$tmp/security"
	bad "systemd-analyze security --offline=yes exited $rc without an overall score"
elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
	bad "exposure level $score is above $max_exposure"
else
	echo "exposure level $score (limit $max_exposure)"
fi

# --- 3. systemd-analyze verify -------------------------------------------

# verify insists that ExecStart= names an executable; gisad is not installed
# where the unit says, so a copy of the service runs a stub instead.  The
# rest of both units is verified unchanged.
# Type=notify: the main process itself must report READY=1, so gisad must
# not fork away from systemd.
grep -q '^ExecStart=[^[:space:]]*gisad .*--foreground' "$service" ||
	bad "$(basename "$service"): ExecStart must pass --foreground (Type=notify)"

exec_path=$(sed -n 's/^ExecStart=\([^[:space:]]*\).*$/\1/p' "$service")
if [ -z "$exec_path" ]; then
	bad "$(basename "$service") has no ExecStart="
else
	mkdir "$tmp/units" "$tmp/sbin"
	printf '#!/bin/sh\nexit 0\n' >"$tmp/sbin/gisad"
	chmod 0755 "$tmp/sbin/gisad"
	sed "s|^ExecStart=$exec_path|ExecStart=$tmp/sbin/gisad|" "$service" \
		>"$tmp/units/gisad.service"
	cp "$socket" "$tmp/units/gisad.socket"
	rc=0
	systemd-analyze verify --man=no "$tmp/units/gisad.service" \
		"$tmp/units/gisad.socket" >"$tmp/verify" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$tmp/verify" ]; then
		cat "$tmp/verify"
		bad "systemd-analyze verify exited $rc or complained"
	else
		echo "systemd-analyze verify: both units clean"
	fi
fi

# --- 4. sysusers.d and tmpfiles.d in a scratch root ------------------------

# field FILE NAME N: field N of the colon-separated entry NAME in FILE.
field() {
	[ -f "$1" ] || return 0
	awk -F: -v n="$2" -v f="$3" '$1 == n { print $f }' "$1"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "sysusers.d/tmpfiles.d application skipped: needs root to chown"
elif ! command -v systemd-sysusers >/dev/null 2>&1 ||
     ! command -v systemd-tmpfiles >/dev/null 2>&1; then
	bad "systemd-sysusers or systemd-tmpfiles missing beside systemd-analyze"
else
	fail_before=$fail
	root=$tmp/root
	mkdir -p "$root/etc" "$root/run" "$root/var/lib"
	systemd-sysusers --root="$root" "$sysusers" >"$tmp/sysusers" 2>&1 ||
		{ cat "$tmp/sysusers"; bad "systemd-sysusers failed"; }
	uid=$(field "$root/etc/passwd" gisad 3)
	gid=$(field "$root/etc/passwd" gisad 4)
	ggid=$(field "$root/etc/group" gisad 3)
	shell=$(field "$root/etc/passwd" gisad 7)
	if [ -z "$uid" ] || [ -z "$ggid" ]; then
		bad "sysusers.d entry created no user or no group gisad"
	elif [ "$gid" != "$ggid" ]; then
		bad "user gisad's primary group is $gid, group gisad is $ggid"
	elif [ "$uid" -eq 0 ] || [ "$uid" -ge 1000 ]; then
		bad "user gisad has uid $uid, not a system uid"
	else
		case $shell in
		*/nologin|*/false) ;;
		*) bad "user gisad has the login shell '$shell'" ;;
		esac
	fi

	systemd-tmpfiles --root="$root" --create "$tmpfiles" >"$tmp/tmpfiles" 2>&1 ||
		{ cat "$tmp/tmpfiles"; bad "systemd-tmpfiles --create failed"; }
	for d in run/gisad var/lib/gisad; do
		got=$(stat -c '%a %u %g' "$root/$d" 2>/dev/null || echo missing)
		if [ "$got" != "750 $uid $ggid" ]; then
			bad "/$d is '$got', want '750 $uid $ggid' (0750 gisad:gisad)"
		fi
	done
	[ "$fail" -ne "$fail_before" ] ||
		echo "sysusers.d and tmpfiles.d: user, group and directories as expected"
fi

exit "$fail"
