# SPDX-License-Identifier: MIT
# Sourced by the gisactl tests: a private temporary directory removed on
# exit, a runner that records exit status, stdout and stderr, and checks
# that say what they expected.  A test calls `finish' last.
set -uo pipefail
: "${GISACTL:?}" "${DATA:?}"

T=$(mktemp -d "${TMPDIR:-/tmp}/gisactl-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0
checks=0

fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

# run RC ARGS...: gisactl ARGS with stdout in $T/out, stderr in $T/err;
# the exit status must be RC.
run()
{
	local want=$1 rc=0
	shift
	checks=$((checks + 1))
	"$GISACTL" "$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "gisactl $* exited $rc, expected $want"
		sed 's/^/    stdout: /' "$T/out" | head -n 20 >&2
		sed 's/^/    stderr: /' "$T/err" | head -n 20 >&2
	fi
}

# has FILE TEXT: FILE contains TEXT (a fixed string).
has()
{
	checks=$((checks + 1))
	grep -qF -- "$2" "$1" || { fail "$(basename "$1") lacks \`$2'"; sed 's/^/    /' "$1" | head -n 20 >&2; }
}

# hasnt FILE TEXT
hasnt()
{
	checks=$((checks + 1))
	! grep -qF -- "$2" "$1" || fail "$(basename "$1") has \`$2'"
}

# empty FILE
empty()
{
	checks=$((checks + 1))
	[ ! -s "$1" ] || { fail "$(basename "$1") is not empty"; head -n 20 "$1" >&2; }
}

# same A B: equal files
same()
{
	checks=$((checks + 1))
	cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

# eq GOT WANT WHAT
eq()
{
	checks=$((checks + 1))
	[ "$1" = "$2" ] || fail "$3: got \`$1', expected \`$2'"
}

# jdoc FILE COMMAND: FILE is one JSON document of schema gisactl.v1 for COMMAND.
jdoc()
{
	checks=$((checks + 1))
	python3 - "$1" "$2" <<'PY' || fail "$1 is not a gisactl.v1 document of \`$2'"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "gisactl.v1", d.get("schema")
assert d["command"] == sys.argv[2], d.get("command")
PY
}

# jget FILE EXPR: print the Python expression EXPR of the document d.
jget()
{
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

# jtrue FILE EXPR: the Python expression EXPR of the document d holds.
jtrue()
{
	checks=$((checks + 1))
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
		{ fail "$(basename "$1"): $2 does not hold"; head -c 2000 "$1" | sed 's/^/    /' >&2; }
}

finish()
{
	if [ "$failures" -ne 0 ]; then
		printf '%d of %d checks failed\n' "$failures" "$checks" >&2
		exit 1
	fi
	printf '%d checks passed\n' "$checks"
	exit 0
}
