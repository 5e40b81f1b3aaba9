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

run 2 scenario run "$T/missing.jsonl"
has "$T/err" "cannot open \`$T/missing.jsonl'"
run 2 scenario run --max-records many "$SCENARIOS/vector-17.jsonl"
has "$T/err" "option \`--max-records' takes a number from 0 to 1000000, not \`many'"
run 2 scenario run
has "$T/err" 'usage: gisactl [--json] scenario run FILE [--check] [--no-state] [--max-records N]'

finish
