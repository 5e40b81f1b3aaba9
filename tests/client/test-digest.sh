# SPDX-License-Identifier: MIT
# snapshot digest prints the digest `vm digest' prints for the same state:
# the library's digest of the state as a VM holds it (digest-ref), computed
# from the decoded state, so fields a newer writer added do not count.
. "$LIB"
: "${DIGEST_REF:?}"

while read -r f digest; do
	run 0 snapshot digest "$DATA/$f.gsnap"
	eq "$(cat "$T/out")" "$digest" "digest of $f"
	eq "$("$DIGEST_REF" import "$DATA/$f.gsnap")" "$digest" "digest of a VM built from $f"
	run 0 --json snapshot digest "$DATA/$f.gsnap"
	jdoc "$T/out" 'snapshot digest'
	jtrue "$T/out" "d['digest'] == '$digest' and d['stored_digest'] == '$digest'"
done <<'TABLE'
v1-empty 776f8d684d5e80e230ae8012ac545ea2db317dd747aa26dd8ba51d8b38ba6af1
v1-typical 8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780
v1-newest-gisa-ais 27f5895b331ce8456e5f87c442a7191fa86248d62d18d7f106947cec84d6f051
v1-stored 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0
v1-dictionary f277a3656390e718a1ff6a2bfb59cd280db984f62c5681bb0a60b9ebc832b645
TABLE

# A VM built through the engine API: the file gisactl reads and the live
# VM have one digest, and so does every re-encoding of the file.
ref=$("$DIGEST_REF" build "$T/ref.gsnap") || fail "digest-ref build"
run 0 snapshot digest "$T/ref.gsnap"
eq "$(cat "$T/out")" "$ref" "digest of the engine-built VM"
eq "$("$DIGEST_REF" import "$T/ref.gsnap")" "$ref" "digest of the re-imported VM"
run 0 snapshot convert --from snapshot --to snapshot --stored "$T/ref.gsnap" -o "$T/ref-stored.gsnap"
run 0 snapshot digest "$T/ref-stored.gsnap"
eq "$(cat "$T/out")" "$ref" "digest of the stored copy"
run 0 snapshot decode "$T/ref.gsnap" -o "$T/ref.json"
run 0 snapshot encode "$T/ref.json" -o "$T/ref2.gsnap" --level 9
run 0 snapshot digest "$T/ref2.gsnap"
eq "$(cat "$T/out")" "$ref" "digest after JSON"
# the state is rich: pages, routes, adapters, lists, vcpus, GISA
jtrue "$T/ref.json" 'len(d["pages"]) >= 1 and len(d["routes"]) == 1 and len(d["adapters"]) == 1'
jtrue "$T/ref.json" 'd["gisa"]["refcount"][3] == 1 and d["vcpus"][1]["run"] == "stopped"'

# A file from a newer writer: format version 2 (still readable by reader
# version 1) whose State carries a field this reader does not know.  Its
# stored digest covers that field; the state digest does not.
python3 - "$DATA/v1-stored.gsnap" "$T/newer.gsnap" <<'PY'
import hashlib, struct, sys
buf = open(sys.argv[1], "rb").read()
h, s, p = struct.unpack(">IQQ", buf[16:36])
assert buf[12:16] == b"\0\0\0\0" and s == p          # stored: payload = state
header = bytearray(buf[44:44 + h])
state = buf[44 + h:44 + h + p]
assert header[0:2] == b"\x08\x01"                     # Header.format_version = 1
header[1] = 2
state += b"\xc0\x3e\x05"                              # field 1000 (varint) = 5
pre = bytearray(buf[:44])
pre[8:10] = struct.pack(">H", 2)
pre[20:36] = struct.pack(">QQ", len(state), len(state))
pre[36:44] = hashlib.sha256(bytes(pre[:36]) + bytes(header)).digest()[:8]
out = bytes(pre) + bytes(header) + state + hashlib.sha256(state).digest()
open(sys.argv[2], "wb").write(out)
PY
run 0 snapshot info "$T/newer.gsnap"
has "$T/out" 'format version       2'
run 0 snapshot verify "$T/newer.gsnap"
has "$T/out" 'valid, state digest 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0'
run 0 snapshot digest "$T/newer.gsnap"
eq "$(cat "$T/out")" 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0 \
	"digest of a newer writer's file"
eq "$("$DIGEST_REF" import "$T/newer.gsnap")" 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0 \
	"digest of a VM built from a newer writer's file"
run 0 --json snapshot digest "$T/newer.gsnap"
jtrue "$T/out" 'd["digest"] == "44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0" and d["stored_digest"] != d["digest"]'
# and it is the same state as the file it came from
run 0 diff "$DATA/v1-stored.gsnap" "$T/newer.gsnap"
empty "$T/out"

# Errors.
run 2 snapshot digest "$T/missing.gsnap"
has "$T/err" "cannot open \`$T/missing.gsnap'"
head -c 500 "$DATA/v1-stored.gsnap" >"$T/trunc.gsnap"
run 2 snapshot digest "$T/trunc.gsnap"
has "$T/err" "\`$T/trunc.gsnap': file is 500 bytes, its lengths say 8694"
empty "$T/out"
cp "$DATA/v1-stored.gsnap" "$T/flip.gsnap"
printf '\x55' | dd of="$T/flip.gsnap" bs=1 seek=300 conv=notrunc status=none
run 2 snapshot digest "$T/flip.gsnap"
has "$T/err" 'state digest mismatch'

finish
