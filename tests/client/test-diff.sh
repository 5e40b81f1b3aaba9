# SPDX-License-Identifier: MIT
# diff A B: exit 0 equal (silent), 1 different (grouped by section), 2 error
# naming the operand; --json lists every entry.
. "$LIB"

# Equal: the same file, or the same state in other containers.
run 0 diff "$DATA/v1-typical.gsnap" "$DATA/v1-typical.gsnap"
empty "$T/out"
empty "$T/err"
run 0 snapshot convert --from snapshot --to snapshot --stored "$DATA/v1-typical.gsnap" -o "$T/typical-stored.gsnap"
run 0 diff "$DATA/v1-typical.gsnap" "$T/typical-stored.gsnap"
empty "$T/out"
run 0 --json diff "$DATA/v1-typical.gsnap" "$T/typical-stored.gsnap"
jdoc "$T/out" diff
jtrue "$T/out" 'd["equal"] is True and d["total"] == 0 and d["sections"] == [] and d["entries"] == [] and d["truncated"] is False'
jtrue "$T/out" "d['a'] == '$DATA/v1-typical.gsnap' and d['b'] == '$T/typical-stored.gsnap'"

# One changed value, one added entry, one entry moved within its list.
run 0 snapshot decode "$DATA/v1-typical.gsnap" -o "$T/typical.json"
python3 - "$T/typical.json" "$T/changed.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["lists"][3].reverse()                        # two entries trade places
d["lists"][0][0]["io"]["parm"] = 0x77          # a changed field
d["vcpus"][1]["run"] = "running"               # a changed vcpu
json.dump(d, open(sys.argv[2], "w"))
PY
run 0 snapshot encode "$T/changed.json" -o "$T/changed.gsnap"
run 1 diff "$DATA/v1-typical.gsnap" "$T/changed.gsnap"
cp "$T/out" "$T/human"
empty "$T/err"
has "$T/human" "--- $DATA/v1-typical.gsnap"
has "$T/human" "+++ $T/changed.gsnap"
has "$T/human" 'lists: '
has "$T/human" '  changed  lists[0][0].parm: 0xa -> 0x77'
has "$T/human" '  moved    lists[3]'
has "$T/human" 'vcpus: 1 difference'
has "$T/human" '  changed  vcpus[1].run: stopped -> running'
# sections appear once each, in order, before their entries
checks=$((checks + 1))
[ "$(grep -E '^[a-z]+: [0-9]+ difference' "$T/human" | cut -d: -f1 | tr '\n' ' ')" = 'lists vcpus ' ] ||
	fail "section headers: $(grep -E '^[a-z]+: ' "$T/human" | tr '\n' '|')"
run 1 --json diff "$DATA/v1-typical.gsnap" "$T/changed.gsnap"
jdoc "$T/out" diff
jtrue "$T/out" 'd["equal"] is False and d["total"] == len(d["entries"]) and d["truncated"] is False'
jtrue "$T/out" '[s["section"] for s in d["sections"]] == ["lists", "vcpus"] and sum(s["total"] for s in d["sections"]) == d["total"]'
jtrue "$T/out" '{"section": "lists", "kind": "changed", "key": "0x0", "pos_a": 0, "pos_b": 0, "path": "lists[0][0].parm", "a": "0xa", "b": "0x77"} in d["entries"]'
jtrue "$T/out" '{"section": "vcpus", "kind": "changed", "key": "0x1", "pos_a": None, "pos_b": None, "path": "vcpus[1].run", "a": "stopped", "b": "running"} in d["entries"]'
jtrue "$T/out" 'any(e["kind"] == "moved" and e["path"].startswith("lists[3]") for e in d["entries"])'
# a diff is symmetric: B A lists the same number of differences
run 1 --json diff "$T/changed.gsnap" "$DATA/v1-typical.gsnap"
jtrue "$T/out" "d['total'] == $(grep -c '^  ' "$T/human")"

# Different states across the golden files; removed and added entries.
run 1 diff "$DATA/v1-typical.gsnap" "$DATA/v1-stored.gsnap"
has "$T/out" 'config: 4 differences'
has "$T/out" '  removed  adapters[0]: isc=3 maskable=true masked=false swap=true suppressible=false maps=[]'
has "$T/out" '  added    adapters[5]: '
run 1 --json diff "$DATA/v1-empty.gsnap" "$DATA/v1-dictionary.gsnap"
jtrue "$T/out" 'd["total"] > 65000 and len(d["entries"]) == d["total"]'
jtrue "$T/out" 'all(e["a"] is None for e in d["entries"] if e["kind"] == "added")'

# Errors name the operand; exit 2.
run 2 diff "$DATA/v1-typical.gsnap" "$T/missing.gsnap"
has "$T/err" "cannot open \`$T/missing.gsnap'"
empty "$T/out"
head -c 300 "$DATA/v1-typical.gsnap" >"$T/trunc.gsnap"
run 2 diff "$T/trunc.gsnap" "$DATA/v1-typical.gsnap"
has "$T/err" "\`$T/trunc.gsnap': file is 300 bytes"
cp "$DATA/v1-stored.gsnap" "$T/flip.gsnap"
printf '\x55' | dd of="$T/flip.gsnap" bs=1 seek=300 conv=notrunc status=none
run 2 diff "$DATA/v1-typical.gsnap" "$T/flip.gsnap"
has "$T/err" "\`$T/flip.gsnap': state digest mismatch"
run 2 --json diff "$DATA/v1-typical.gsnap" "$T/flip.gsnap"
jdoc "$T/out" diff
jtrue "$T/out" 'd["error"]["code"] == "EBADMSG" and "equal" not in d'
# A damaged copy of the same state (its stored digest still the other's):
# an error, never equal.
cp "$T/typical-stored.gsnap" "$T/damaged.gsnap"
printf '\x55' | dd of="$T/damaged.gsnap" bs=1 seek=300 conv=notrunc status=none
run 2 diff "$DATA/v1-typical.gsnap" "$T/damaged.gsnap"
has "$T/err" "\`$T/damaged.gsnap': state digest mismatch"
run 2 diff "$T/damaged.gsnap" "$DATA/v1-typical.gsnap"
has "$T/err" "\`$T/damaged.gsnap': state digest mismatch"
# vm:NAME operands need the daemon (its snapshot export): none listens here
run 2 --socket "$T/no-such-socket" diff vm:guest1 "$DATA/v1-typical.gsnap"
has "$T/err" "cannot connect to gisad"
run 2 diff vm: "$DATA/v1-typical.gsnap"
has "$T/err" "\`vm:' names no VM"
has "$T/err" 'usage: gisactl [--json] diff A B'
# a file whose name starts with vm: is reached through a path
cp "$DATA/v1-typical.gsnap" "$T/vm:file"
run 0 diff "$T/vm:file" "$DATA/v1-typical.gsnap"
run 2 diff "$DATA/v1-typical.gsnap"
has "$T/err" 'missing operand'

finish
