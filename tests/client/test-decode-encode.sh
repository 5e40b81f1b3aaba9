# SPDX-License-Identifier: MIT
# snapshot decode and encode: JSON of schema gisa.v1 both ways, lossless;
# errors in the JSON name line, column and member; output files are
# replaced only by a complete result.
. "$LIB"

# file, compression options that reproduce it
while read -r f opts; do
	g=${f#v1-}
	run 0 snapshot decode "$DATA/$f.gsnap" -o "$T/$g.json"
	empty "$T/out"
	checks=$((checks + 1))
	python3 -m json.tool "$T/$g.json" >/dev/null || fail "$g.json is not JSON"
	jtrue "$T/$g.json" "d['schema'] == 'gisa.v1' and d['meta']['name'] == '$g'"
	jtrue "$T/$g.json" "d['meta']['created'] == '2026-01-01T00:00:00.000000000Z' and d['meta']['producer'] == 'gisad 0.1.0'"
	# pretty by default: standard output holds the same text
	run 0 snapshot decode "$DATA/$f.gsnap"
	same "$T/out" "$T/$g.json"
	# back to a snapshot of the same state and header
	# shellcheck disable=SC2086
	run 0 snapshot encode "$T/$g.json" -o "$T/$g.gsnap" $opts
	run 0 diff "$DATA/$f.gsnap" "$T/$g.gsnap"
	empty "$T/out"
	"$GISACTL" snapshot digest "$DATA/$f.gsnap" >"$T/d1"
	"$GISACTL" snapshot digest "$T/$g.gsnap" >"$T/d2"
	same "$T/d1" "$T/d2"
	"$GISACTL" --json snapshot info "$DATA/$f.gsnap" | python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k) for k in ("file", "file_len", "payload_len")]; print(json.dumps(d))' >"$T/i1"
	"$GISACTL" --json snapshot info "$T/$g.gsnap" | python3 -c 'import json,sys; d=json.load(sys.stdin); [d.pop(k) for k in ("file", "file_len", "payload_len")]; print(json.dumps(d))' >"$T/i2"
	same "$T/i1" "$T/i2"
	# and the text is canonical: decoding the copy gives the same text
	run 0 snapshot decode "$T/$g.gsnap" -o "$T/$g.2.json"
	same "$T/$g.json" "$T/$g.2.json"
done <<'TABLE'
v1-empty --level 3
v1-typical --level 3
v1-newest-gisa-ais --level 19
v1-stored --stored
v1-dictionary --level 19
TABLE

# A stored snapshot is its canonical encoding: the round trip is byte-exact.
same "$T/stored.gsnap" "$DATA/v1-stored.gsnap"

# --compact: no whitespace, the same document.
run 0 snapshot decode "$DATA/v1-typical.gsnap" --compact
cp "$T/out" "$T/compact.json"
checks=$((checks + 1))
[ "$(wc -l <"$T/compact.json")" -eq 0 ] || fail "compact JSON has line breaks"
hasnt "$T/compact.json" '": '
checks=$((checks + 1))
python3 -c 'import json, sys; assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))' \
	"$T/compact.json" "$T/typical.json" || fail "compact and pretty documents differ"

# convert --to json writes exactly what decode writes.
run 0 snapshot convert --from snapshot --to json "$DATA/v1-newest-gisa-ais.gsnap" -o "$T/conv.json"
same "$T/conv.json" "$T/newest-gisa-ais.json"

# --json: the document inside gisactl's own, or the output file's name and size.
run 0 --json snapshot decode "$DATA/v1-typical.gsnap"
jdoc "$T/out" 'snapshot decode'
checks=$((checks + 1))
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["document"] == json.load(open(sys.argv[2]))' \
	"$T/out" "$T/typical.json" || fail "--json decode: the document differs"
run 0 --json snapshot decode "$DATA/v1-typical.gsnap" -o "$T/t.json"
jdoc "$T/out" 'snapshot decode'
jtrue "$T/out" "d['output'] == '$T/t.json' and d['bytes'] == $(stat -c %s "$T/t.json") and 'document' not in d"
same "$T/t.json" "$T/typical.json"
run 0 --json snapshot encode "$T/typical.json" -o "$T/t.gsnap"
jdoc "$T/out" 'snapshot encode'
jtrue "$T/out" "d['output'] == '$T/t.gsnap' and d['bytes'] == $(stat -c %s "$T/t.gsnap")"
jtrue "$T/out" "d['digest'] == '8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780'"
# a binary snapshot and the --json document cannot share standard output
run 2 --json snapshot encode "$T/typical.json"
has "$T/err" 'with --json the output needs a file'
jtrue "$T/out" 'd["error"]["code"] == "usage"'

# Compression options show in the header.
run 0 snapshot encode "$T/typical.json" -o "$T/l19.gsnap" --level 19
run 0 snapshot info "$T/l19.gsnap"
has "$T/out" 'compression          zstd, level 19'
run 0 snapshot encode "$T/typical.json" -o "$T/l1.gsnap"
run 0 snapshot info "$T/l1.gsnap"
has "$T/out" 'compression          zstd, level 1'
run 0 snapshot encode "$T/typical.json" -o "$T/st.gsnap" --stored
run 0 snapshot info "$T/st.gsnap"
has "$T/out" 'compression          stored'

# Standard input and output.
run 0 snapshot decode - <"$DATA/v1-empty.gsnap"
same "$T/out" "$T/empty.json"
run 0 snapshot encode - -o "$T/stdin.gsnap" --level 3 <"$T/empty.json"
run 0 diff "$T/stdin.gsnap" "$DATA/v1-empty.gsnap"
run 0 snapshot encode "$T/empty.json" -o - --stored
cp "$T/out" "$T/stdout.gsnap"
run 0 snapshot verify "$T/stdout.gsnap"
run 0 snapshot decode "$DATA/v1-empty.gsnap" -o /dev/null

# No meta: the header has no name, the default producer.
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); del d["meta"]; json.dump(d, open(sys.argv[2], "w"))' \
	"$T/typical.json" "$T/nometa.json"
run 0 snapshot encode "$T/nometa.json" -o "$T/nometa.gsnap"
run 0 --json snapshot info "$T/nometa.gsnap"
jtrue "$T/out" 'd["vm_name"] is None and d["vm_uuid"] is None and d["created"] is None and d["producer"].startswith("gisad ")'

# Bad JSON: exit 2, file, line, column, member, value and what was expected.
printf '{"schema":"gisa.v1",' >"$T/bad1.json"
run 2 snapshot encode "$T/bad1.json" -o "$T/bad.gsnap"
has "$T/err" "\`$T/bad1.json' line 1 column 20: not JSON: "
printf '{"schema":"gisa.v2"}' >"$T/bad2.json"
run 2 snapshot encode "$T/bad2.json" -o "$T/bad.gsnap"
has "$T/err" "\`$T/bad2.json' line 1 column 11: schema: not schema gisa.v1 (value \`\"gisa.v2\"'), expected \"gisa.v1\""
python3 - "$T/empty.json" "$T" <<'PY'
import json, sys
src, t = sys.argv[1], sys.argv[2]
d = json.load(open(src)); d["bogus"] = 1
json.dump(d, open(t + "/bad3.json", "w"))
d = json.load(open(src)); d["config"]["nr_vcpus"] = "x"
json.dump(d, open(t + "/bad4.json", "w"), indent=2)
d = json.load(open(src)); d["config"]["nr_vcpus"] = 256
json.dump(d, open(t + "/bad5.json", "w"), indent=2)
d = json.load(open(src)); del d["config"]
json.dump(d, open(t + "/bad6.json", "w"), indent=2)
PY
run 2 snapshot encode "$T/bad3.json" -o "$T/bad.gsnap"
has "$T/err" "bogus: unknown member (value \`1'), expected a member of the document"
run 2 snapshot encode "$T/bad4.json" -o "$T/bad.gsnap"
has "$T/err" "line 11 column 17: config.nr_vcpus: wrong type (value \`\"x\"'), expected an integer"
run 2 snapshot encode "$T/bad5.json" -o "$T/bad.gsnap"
has "$T/err" 'vcpus: a state the model refuses'
has "$T/err" 'one entry per configured vcpu'
run 2 snapshot encode "$T/bad6.json" -o "$T/bad.gsnap"
has "$T/err" 'missing member'
run 2 --json snapshot encode "$T/bad3.json" -o "$T/bad.gsnap"
jtrue "$T/out" 'd["error"]["code"] == "EINVAL" and "bogus" in d["error"]["message"]'
checks=$((checks + 1))
[ ! -e "$T/bad.gsnap" ] || fail "a failed encode left $T/bad.gsnap"

# A failed command leaves an existing output file as it was.
cp "$DATA/v1-empty.gsnap" "$T/keep.gsnap"
run 2 snapshot encode "$T/bad4.json" -o "$T/keep.gsnap"
same "$T/keep.gsnap" "$DATA/v1-empty.gsnap"
run 2 snapshot decode "$T/missing.gsnap" -o "$T/keep.gsnap"
same "$T/keep.gsnap" "$DATA/v1-empty.gsnap"
checks=$((checks + 1))
[ -z "$(find "$T" -name '.*.XXXXXX' -o -name '.keep.gsnap.*')" ] || fail "temporary files left behind"

# A symbolic link keeps naming the file, which is replaced.
cp "$DATA/v1-empty.gsnap" "$T/target.gsnap"
ln -s target.gsnap "$T/link.gsnap"
run 0 snapshot encode "$T/typical.json" -o "$T/link.gsnap" --level 3
checks=$((checks + 1))
[ -L "$T/link.gsnap" ] || fail "the symbolic link was replaced"
run 0 diff "$T/target.gsnap" "$DATA/v1-typical.gsnap"

# A dangling link is written through, as open(O_CREAT) would: its target
# is created (relative to the link's directory; through a chain of links
# too) and the link stays.
mkdir "$T/links"
ln -s new.json "$T/links/dangling.json"
ln -s "$T/links/dangling.json" "$T/chain.json"
run 0 snapshot decode "$DATA/v1-empty.gsnap" -o "$T/chain.json"
checks=$((checks + 1))
[ -L "$T/links/dangling.json" ] && [ -L "$T/chain.json" ] || fail "a dangling link was replaced"
run 0 snapshot encode "$T/links/new.json" -o "$T/links/dangling.gsnap.out"
run 0 diff "$T/links/dangling.gsnap.out" "$DATA/v1-empty.gsnap"
ln -s nodir/x.json "$T/links/nowhere.json"
run 2 snapshot decode "$DATA/v1-empty.gsnap" -o "$T/links/nowhere.json"
has "$T/err" "cannot create a file beside \`$T/links/nodir/x.json', where \`$T/links/nowhere.json' leads"
checks=$((checks + 1))
[ -L "$T/links/nowhere.json" ] || fail "a dangling link into a missing directory was replaced"
ln -s loop2 "$T/links/loop1"
ln -s loop1 "$T/links/loop2"
run 2 snapshot decode "$DATA/v1-empty.gsnap" -o "$T/links/loop1"
has "$T/err" "cannot open \`$T/links/loop1': Too many levels of symbolic links"
eq "$(ls -A "$T/links" | tr '\n' ' ')" \
	"dangling.gsnap.out dangling.json loop1 loop2 new.json nowhere.json " "the files in links/"

# A replaced file keeps its permission bits, whatever the umask; a new one
# takes the umask's.
cp "$DATA/v1-empty.gsnap" "$T/mode.gsnap"
chmod 0640 "$T/mode.gsnap"
(umask 077 && "$GISACTL" snapshot encode "$T/typical.json" -o "$T/mode.gsnap") || fail "encode over mode.gsnap"
eq "$(stat -c %a "$T/mode.gsnap")" 640 "the mode of a replaced file"
chmod 0604 "$T/mode.gsnap"
(umask 022 && "$GISACTL" snapshot decode "$DATA/v1-empty.gsnap" -o "$T/link-mode.json") || fail "decode"
ln -sf mode.gsnap "$T/link-mode.gsnap"
(umask 022 && "$GISACTL" snapshot encode "$T/link-mode.json" -o "$T/link-mode.gsnap") || fail "encode through a link"
eq "$(stat -c %a "$T/mode.gsnap")" 604 "the mode of a file replaced through a link"
eq "$(stat -c %a "$T/link-mode.json")" 644 "the mode of a new file under umask 022"

# Output paths that cannot be written.
run 2 snapshot encode "$T/empty.json" -o "$T/nodir/x.gsnap"
has "$T/err" "cannot create a file beside \`$T/nodir/x.gsnap'"
run 2 snapshot decode "$DATA/v1-empty.gsnap" -o "$T/nodir/x.json"
has "$T/err" "\`$T/nodir/x.json'"

# Bad input snapshots for decode.
run 2 snapshot decode "$T/bad1.json"
has "$T/err" "\`$T/bad1.json': truncated: 20 bytes"
run 2 snapshot decode "$T/bad3.json"
has "$T/err" "\`$T/bad3.json': not a gisa snapshot: magic"

finish
