# SPDX-License-Identifier: MIT
# snapshot verify: 0 valid (with the state digest), 1 invalid (with the
# first problem: container, digest, state, or the VM build), 2 unreadable.
. "$LIB"

while read -r f digest; do
	run 0 snapshot verify "$DATA/$f.gsnap"
	eq "$(cat "$T/out")" "$DATA/$f.gsnap: valid, state digest $digest" "verify $f"
	empty "$T/err"
	run 0 --json snapshot verify "$DATA/$f.gsnap"
	jdoc "$T/out" 'snapshot verify'
	jtrue "$T/out" "d['valid'] is True and d['digest'] == '$digest' and d['error'] is None"
	jtrue "$T/out" "d['file'] == '$DATA/$f.gsnap'"
done <<'TABLE'
v1-empty 776f8d684d5e80e230ae8012ac545ea2db317dd747aa26dd8ba51d8b38ba6af1
v1-typical 8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780
v1-newest-gisa-ais 27f5895b331ce8456e5f87c442a7191fa86248d62d18d7f106947cec84d6f051
v1-stored 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0
v1-dictionary f277a3656390e718a1ff6a2bfb59cd280db984f62c5681bb0a60b9ebc832b645
TABLE

# A flipped byte in the stored state: the digest catches it.
cp "$DATA/v1-stored.gsnap" "$T/flip.gsnap"
printf '\x55' | dd of="$T/flip.gsnap" bs=1 seek=200 conv=notrunc status=none
run 1 snapshot verify "$T/flip.gsnap"
has "$T/out" "$T/flip.gsnap: invalid: state digest mismatch: stored 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0, computed "
run 1 --json snapshot verify "$T/flip.gsnap"
jdoc "$T/out" 'snapshot verify'
jtrue "$T/out" 'd["valid"] is False and d["digest"] is None and d["error"]["code"] == "EBADMSG"'
jtrue "$T/out" 'd["error"]["message"].startswith("state digest mismatch")'

# Truncated, and not a snapshot at all.
head -c 300 "$DATA/v1-typical.gsnap" >"$T/trunc.gsnap"
run 1 snapshot verify "$T/trunc.gsnap"
eq "$(cat "$T/out")" "$T/trunc.gsnap: invalid: file is 300 bytes, its lengths say 533" "truncated"
printf 'GISASNAP' >"$T/short.gsnap"
run 1 snapshot verify "$T/short.gsnap"
has "$T/out" 'invalid: truncated: 8 bytes, a snapshot preamble is 44'

# Well-formed files whose state no VM can hold: the build refuses them,
# naming the field and the value.
run 0 snapshot decode "$DATA/v1-empty.gsnap" -o "$T/empty.json"
python3 - "$T/empty.json" "$T/simm.json" "$T/cursor.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["float"]["simm"] = 0x80          # an AIS mode without the AIS facility
json.dump(d, open(sys.argv[2], "w"))
d = json.load(open(sys.argv[1]))
d["float"]["kick_cursor"] = 3      # beyond the (zero) vcpus
json.dump(d, open(sys.argv[3], "w"))
PY
run 0 snapshot encode "$T/simm.json" -o "$T/simm.gsnap"
run 1 snapshot verify "$T/simm.gsnap"
has "$T/out" "$T/simm.gsnap: invalid: state.simm"
has "$T/out" 'expected zero without the AIS facility'
run 0 snapshot encode "$T/cursor.json" -o "$T/cursor.gsnap"
run 1 snapshot verify "$T/cursor.gsnap"
has "$T/out" "$T/cursor.gsnap: invalid: state.kick_cursor[0] = 0x3: expected below the vcpu count"
run 1 --json snapshot verify "$T/cursor.gsnap"
jtrue "$T/out" 'd["valid"] is False and d["error"]["code"] == "EINVAL" and "kick_cursor" in d["error"]["message"]'
# info reads only the container: it does not notice.
run 0 snapshot info "$T/cursor.gsnap"

# Unreadable: exit 2, not 1.
run 2 snapshot verify "$T/missing.gsnap"
has "$T/err" "cannot open \`$T/missing.gsnap'"
empty "$T/out"
run 2 --json snapshot verify "$T/missing.gsnap"
jtrue "$T/out" 'd["error"]["code"] == "ENOENT" and "valid" not in d'

finish
