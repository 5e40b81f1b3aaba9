# SPDX-License-Identifier: MIT
# Helpers of the gisactl integration tests, on top of lib.sh (a private
# gisad in a temporary directory): run gisactl against it and check its
# exit status, output and --json documents.  Every check stops the test at
# the first failure, as lib.sh's do.
. "$(dirname "$0")/lib.sh"

: "${GISACTL:?GISACTL must name the gisactl binary}"

# g RC ARGS...: gisactl --socket $SOCK ARGS, stdout in $T/out, stderr in
# $T/err; its exit status must be RC.
g() {
	local want=$1 rc=0
	shift
	"$GISACTL" --socket "$SOCK" "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "gisactl $* exited $rc, expected $want
--- stdout
$(head -c 3000 "$T/out")
--- stderr
$(head -c 3000 "$T/err")"
}

# out_has TEXT / err_has TEXT: a fixed string in stdout / stderr.
out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout lacks \`$1':
$(head -c 3000 "$T/out")"
}
err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks \`$1':
$(head -c 3000 "$T/err")"
}

# out_is TEXT: stdout is exactly TEXT (and a newline).
out_is() {
	[ "$(cat "$T/out")" = "$1" ] || fail "stdout is not \`$1':
$(head -c 3000 "$T/out")"
}

# out_match REGEX: a line of stdout matches the extended regex.
out_match() {
	grep -Eq -- "$1" "$T/out" || fail "no line of stdout matches /$1/:
$(head -c 3000 "$T/out")"
}

# out_empty / err_empty
out_empty() {
	[ ! -s "$T/out" ] || fail "stdout is not empty:
$(head -c 3000 "$T/out")"
}
err_empty() {
	[ ! -s "$T/err" ] || fail "stderr is not empty:
$(head -c 3000 "$T/err")"
}

# json COMMAND [EXPR]: stdout is one gisactl.v1 document of COMMAND, and
# the Python expression EXPR of it (d) holds.
json() {
	python3 - "$T/out" "$1" "${2:-True}" <<'PY' || fail "stdout: not a gisactl.v1 document of \`$1' for which ${2:-True} holds:
$(head -c 3000 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "gisactl.v1", d.get("schema")
assert d["command"] == sys.argv[2], d.get("command")
assert eval("(" + sys.argv[3] + ")"), sys.argv[3]
PY
}

# jerr COMMAND CODE TEXT: stdout is the error document of COMMAND with
# code CODE and a message containing TEXT, and stderr says the same.
jerr() {
	python3 - "$T/out" "$1" "$2" "$3" <<'PY' || fail "stdout: not the error document ($2, \`$3') of \`$1':
$(head -c 3000 "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "gisactl.v1"
assert d["command"] == sys.argv[2], d["command"]
assert list(d) == ["schema", "command", "error"], list(d)
assert d["error"]["code"] == sys.argv[3], d["error"]["code"]
assert sys.argv[4] in d["error"]["message"], d["error"]["message"]
PY
	err_has "gisactl: "
	err_has "$3"
}

# jval EXPR: print the Python expression EXPR of stdout's document d.
jval() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$T/out" "$1"
}

# digest_hex VM: `gisactl vm digest VM'
digest_hex() {
	g 0 vm digest "$1"
	cat "$T/out"
}

# be N BYTES: N as BYTES big-endian bytes, in hex.
be() {
	printf "%0$(($2 * 2))x" "$1"
}

# io_rec SCHID_ID SCHID_NR PARM ISC: a big-endian 72-byte I/O record in hex:
# type KVM_S390_INT_IO(0, 0, 1, NR), u.io {ID, NR, PARM, ISC << 27}, the
# other 52 bytes zero.
io_rec() {
	printf '%s%s%s%s%s%0104d' "$(be $((0x10000 | $2)) 8)" "$(be "$1" 2)" \
		"$(be "$2" 2)" "$(be "$3" 4)" "$(be $(($4 << 27)) 4)" 0
}
