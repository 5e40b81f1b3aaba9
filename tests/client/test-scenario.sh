# SPDX-License-Identifier: MIT
# scenario run: the scenario runner behind gisactl, with its exit statuses
# (0 ran, 1 --check mismatch, 2 input error) and one --json document.
. "$LIB"
: "${SCENARIOS:?}"

run 0 scenario run --check "$SCENARIOS/vector-17.jsonl"
has "$T/out" '{"line":3,"op":"vm","vm":"vm0","rc":0}'
has "$T/out" '"final":true'
run 0 scenario run -c -n "$SCENARIOS/vector-17.jsonl"
hasnt "$T/out" '"final"'
run 0 scenario run --no-state - <"$SCENARIOS/vector-17.jsonl"
has "$T/out" '"op":"deliver"'
# every spec vector passes through gisactl as through gisa-scenario
for f in "$SCENARIOS"/vector-0[1-9].jsonl; do
	run 0 scenario run --check --no-state "$f"
done

cat >"$T/mismatch.jsonl" <<'S'
{"op":"vm"}
{"op":"get","expect":{"rc":5}}
{"op":"get"}
S
run 1 scenario run --check "$T/mismatch.jsonl"
has "$T/err" "$T/mismatch.jsonl:2: get: result differs from expect at rc"
hasnt "$T/out" '"line":3'
# without --check the run goes on and notes the mismatch
run 0 scenario run "$T/mismatch.jsonl"
has "$T/out" '"mismatch":{"at":"rc","expected":5,"actual":0}'
has "$T/out" '"line":3'

printf '{"op":"vm"}\n{"op":"nosuchop"}\n' >"$T/input.jsonl"
run 2 scenario run "$T/input.jsonl"
has "$T/out" '"input_error"'

run 0 --json scenario run --check --max-records 1 "$SCENARIOS/vector-17.jsonl"
jdoc "$T/out" 'scenario run'
jtrue "$T/out" 'd["status"] == "ok" and d["exit"] == 0 and d["file"].endswith("vector-17.jsonl")'
jtrue "$T/out" 'd["results"][0] == {"line": 3, "op": "vm", "vm": "vm0", "rc": 0} and all("line" in r for r in d["results"])'
jtrue "$T/out" 'd["final"]["final"] is True and "vm0" in d["final"]["vms"]'
run 1 --json scenario run --check "$T/mismatch.jsonl"
jtrue "$T/out" 'd["status"] == "mismatch" and d["exit"] == 1 and len(d["results"]) == 2'
run 2 --json scenario run --no-state "$T/input.jsonl"
jtrue "$T/out" 'd["status"] == "error" and d["exit"] == 2 and d["final"] is None and "input_error" in d["results"][1]'

# A line over the 1 MiB cap is an input error that ends the run at once:
# nothing after it is read, so input that never ends a line (/dev/zero)
# ends too.  A line of exactly 1 MiB is a line like any other.
{ head -c 1048577 /dev/zero | tr '\0' ' '; printf '\n{"op":"vm"}\n'; } >"$T/long.jsonl"
run 2 scenario run --no-state "$T/long.jsonl"
has "$T/err" "$T/long.jsonl:1: (line): longer than 1048576 bytes, the cap; the rest of the input is not read"
has "$T/out" '{"line":1,"input_error":{"member":"(line)"'
hasnt "$T/out" '"line":2'
{ head -c 1048576 /dev/zero | tr '\0' ' '; printf '\n{"op":"vm"}\n'; } >"$T/cap.jsonl"
run 0 scenario run --no-state "$T/cap.jsonl"
has "$T/out" '{"line":2,"op":"vm","vm":"vm0","rc":0}'
# timeout only keeps a regression from hanging the suite; the status and
# the message are what is checked
rc=0
timeout 120 "$GISACTL" scenario run --no-state /dev/zero >"$T/out" 2>"$T/err" || rc=$?
eq "$rc" 2 "exit status of scenario run /dev/zero"
has "$T/err" "/dev/zero:1: (line): longer than 1048576 bytes, the cap"

# An input error echoes the value and names the member cut short to a
# cap, never inside a character: both stay in the result, whichever byte
# the cap falls on.
for pre in x xx; do
	python3 - "$pre" >"$T/utf8.jsonl" <<'PY'
import json, sys
k = sys.argv[1] + "\u00e9" * 100
print(json.dumps({"op": k}, ensure_ascii=False))
print(json.dumps({"op": "vm", k: 1}, ensure_ascii=False))
PY
	run 2 scenario run --no-state "$T/utf8.jsonl"
	python3 - "$T/out" "$pre" <<'PY' || fail "scenario run: a value or member cut inside a character ($pre)"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
v, m = lines[0]["input_error"]["value"], lines[1]["input_error"]["member"]
assert v.startswith('"' + sys.argv[2] + "\u00e9") and v.endswith("\u00e9..."), v
assert m.startswith(sys.argv[2] + "\u00e9") and m.endswith("\u00e9..."), m
PY
	checks=$((checks + 1))
done

# A file that cannot be read is reported like every command's read error.
mkdir "$T/adir"
run 2 scenario run "$T/adir"
has "$T/err" "gisactl: cannot read \`$T/adir': Is a directory"

run 2 scenario run "$T/missing.jsonl"
has "$T/err" "cannot open \`$T/missing.jsonl'"
run 2 scenario run --max-records many "$SCENARIOS/vector-17.jsonl"
has "$T/err" "option \`--max-records' takes a number from 0 to 1000000, not \`many'"
run 2 scenario run
has "$T/err" 'usage: gisactl [--json] scenario run FILE [--check] [--no-state] [--max-records N]'

finish
