# SPDX-License-Identifier: MIT
# snapshot info on the golden files (their container and header fields are
# recorded in tests/data/README.md) and on files that are not snapshots.
. "$LIB"

# file, bytes, compression, level, profile, caps, uuid, stored digest
while read -r f bytes comp level profile caps uuid digest; do
	run 0 snapshot info "$DATA/$f.gsnap"
	has "$T/out" "file                 $DATA/$f.gsnap ($bytes bytes)"
	has "$T/out" 'format version       1'
	has "$T/out" 'min reader version   1'
	if [ "$comp" = zstd ]; then
		has "$T/out" 'flags                0x1 (zstd)'
		has "$T/out" "compression          zstd, level $level"
	else
		has "$T/out" 'flags                0x0'
		has "$T/out" 'compression          stored'
	fi
	has "$T/out" "stored digest        $digest (unverified)"
	has "$T/out" "profile              $profile"
	has "$T/out" "vm name              ${f#v1-}"
	has "$T/out" 'created              2026-01-01T00:00:00.000000000Z'
	has "$T/out" 'producer             gisad 0.1.0'
	if [ "$uuid" = - ]; then
		has "$T/out" 'vm uuid              (none)'
	else
		has "$T/out" "vm uuid              $uuid"
	fi
	empty "$T/err"

	run 0 --json snapshot info "$DATA/$f.gsnap"
	jdoc "$T/out" 'snapshot info'
	jtrue "$T/out" "d['file_len'] == $bytes and d['format_version'] == 1 and d['min_reader_version'] == 1"
	jtrue "$T/out" "d['compression'] == '$comp' and d['flags'] == (1 if '$comp' == 'zstd' else 0)"
	jtrue "$T/out" "d['compression_level'] == (None if '$level' == '-' else int('$level'))"
	jtrue "$T/out" "d['stored_digest'] == '$digest' and d['profile'] == '$profile'"
	jtrue "$T/out" "d['caps'] == [c for c in '$caps'.split(',') if c != 'none']"
	jtrue "$T/out" "d['vm_uuid'] == (None if '$uuid' == '-' else '$uuid') and d['vm_name'] == '${f#v1-}'"
	jtrue "$T/out" "d['created'] == '2026-01-01T00:00:00.000000000Z' and d['producer'] == 'gisad 0.1.0'"
	jtrue "$T/out" "d['file_len'] == 44 + d['header_len'] + d['payload_len'] + 32"
	jtrue "$T/out" "d['compression'] == 'zstd' or d['payload_len'] == d['state_len']"
done <<'TABLE'
v1-empty 128 zstd 3 classic none - 776f8d684d5e80e230ae8012ac545ea2db317dd747aa26dd8ba51d8b38ba6af1
v1-typical 533 zstd 3 classic gisa 00112233-4455-6677-8899-aabbccddeeff 8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780
v1-newest-gisa-ais 396 zstd 19 newest gisa,ais 6e657765-7374-2d67-6973-612d61697301 27f5895b331ce8456e5f87c442a7191fa86248d62d18d7f106947cec84d6f051
v1-stored 8694 stored - classic ais - 44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0
v1-dictionary 68144 zstd 19 classic none - f277a3656390e718a1ff6a2bfb59cd280db984f62c5681bb0a60b9ebc832b645
TABLE

run 0 snapshot info "$DATA/v1-typical.gsnap"
has "$T/out" 'capabilities         0x1 (gisa)'
run 0 snapshot info "$DATA/v1-newest-gisa-ais.gsnap"
has "$T/out" 'capabilities         0x3 (gisa,ais)'
run 0 snapshot info "$DATA/v1-empty.gsnap"
has "$T/out" 'capabilities         0x0 (none)'

# Standard input, from a file and from a pipe (read as it arrives).
run 0 snapshot info - <"$DATA/v1-typical.gsnap"
has "$T/out" 'file                 - (533 bytes)'
# shellcheck disable=SC2002
cat "$DATA/v1-typical.gsnap" | "$GISACTL" snapshot info - >"$T/pipe" 2>&1 || fail "info from a pipe"
has "$T/pipe" 'vm name              typical'

# Not snapshots: each error names the file and the problem, exit 2.
run 2 snapshot info "$T/missing"
has "$T/err" "cannot open \`$T/missing': No such file or directory"
run 2 snapshot info "$T"
has "$T/err" "\`$T' is a directory"
: >"$T/empty"
run 2 snapshot info "$T/empty"
has "$T/err" "\`$T/empty': truncated: 0 bytes, a snapshot preamble is 44"
printf 'hello, this is not a snapshot at all; just some text.\n' >"$T/text"
run 2 snapshot info "$T/text"
has "$T/err" "\`$T/text': not a gisa snapshot: magic 68656c6c6f2c2074"
head -c 100 "$DATA/v1-typical.gsnap" >"$T/trunc"
run 2 snapshot info "$T/trunc"
has "$T/err" "\`$T/trunc': file is 100 bytes, its lengths say 533"
# A corrupt header byte: the header check catches it.
cp "$DATA/v1-typical.gsnap" "$T/hdr"
printf '\x7a' | dd of="$T/hdr" bs=1 seek=60 conv=notrunc status=none
run 2 snapshot info "$T/hdr"
has "$T/err" 'header check mismatch'
# A newer reader version is refused, saying which.
cp "$DATA/v1-empty.gsnap" "$T/newer"
printf '\x00\x09\x00\x09' | dd of="$T/newer" bs=1 seek=8 conv=notrunc status=none
run 2 snapshot info "$T/newer"
has "$T/err" 'snapshot needs reader version 9; this reader is version 1'
run 2 --json snapshot info "$T/newer"
jtrue "$T/out" 'd["error"]["code"] == "EPROTONOSUPPORT"'
# Larger than any snapshot: refused from its size, before reading.
truncate -s 80M "$T/huge"
run 2 snapshot info "$T/huge"
has "$T/err" "\`$T/huge' is larger than"
has "$T/err" 'the most a snapshot file can be'
run 2 --json snapshot info "$T/huge"
jtrue "$T/out" 'd["error"]["code"] == "EFBIG"'


# Text from outside need not be UTF-8 (a path): --json still holds it,
# each invalid byte as U+FFFD, and the error document keeps its message.
run 2 --json snapshot info "$T/"$'a\xff.gsnap'
jtrue "$T/out" '(d["error"]["code"] == "ENOENT" and
	d["error"]["message"].endswith("a\ufffd.gsnap'"'"': No such file or directory"))'
cp "$DATA/v1-empty.gsnap" "$T/"$'b\xff\xc3(.gsnap'
run 0 --json snapshot info "$T/"$'b\xff\xc3(.gsnap'
jtrue "$T/out" 'd["file"] == "'"$T"'/b\ufffd\ufffd(.gsnap" and d["vm_name"] == "empty"'
# A message cut at the buffer's end (1023 bytes) ends on a whole character,
# wherever the cut falls in a 3-byte one: it is there, without U+FFFD.
for pre in '' x xx; do
	long=$pre$(printf '\xe2\x82\xac%.0s' $(seq 400))
	run 2 --json snapshot info "$long"
	jtrue "$T/out" '(len(d["error"]["message"].encode()) > 1000 and
		"\ufffd" not in d["error"]["message"] and
		d["error"]["message"].startswith("cannot open `'"$pre"'\u20ac\u20ac"))'
done

# Names read from the file reach a terminal escaped: control characters
# (C0, DEL, C1) and backslashes cannot forge output; --json has them as
# they are.
"$GISACTL" snapshot decode "$DATA/v1-empty.gsnap" -o "$T/esc.json" || fail "decode for esc"
python3 - "$T/esc.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["meta"]["name"] = "vm\x1b]0;x\x07\nfake line \\ \u009b2J \u00e9"
d["meta"]["producer"] = "p\x1b[2J\x7f\t"
json.dump(d, open(sys.argv[1], "w"))
PY
"$GISACTL" snapshot encode "$T/esc.json" -o "$T/esc.gsnap" || fail "encode for esc"
run 0 snapshot info "$T/esc.gsnap"
has "$T/out" 'vm name              vm\x1b]0;x\x07\x0afake line \\ \xc2\x9b2J '$'\xc3\xa9'
has "$T/out" 'producer             p\x1b[2J\x7f\x09'
hasnt "$T/out" $'\e'
eq "$(grep -c . "$T/out")" 15 'snapshot info: one line each'
run 0 --json snapshot info "$T/esc.gsnap"
jtrue "$T/out" '(d["vm_name"] == "vm\x1b]0;x\x07\nfake line \\ \u009b2J \u00e9" and
	d["producer"] == "p\x1b[2J\x7f\t")'
# The same for a path in an error message on standard error.
run 2 snapshot info "$T/"$'x\e[2J\ny\xff\\'
has "$T/err" "cannot open \`$T/x\\x1b[2J\\x0ay\\xff\\\\': No such file or directory"
hasnt "$T/err" $'\e'

finish
