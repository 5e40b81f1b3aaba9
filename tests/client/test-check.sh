# SPDX-License-Identifier: MIT
# snapshot check: exit 0 exact, 1 lossy, 2 impossible (or an error), with
# every change listed (compat.h's rules, on the golden files' states).
. "$LIB"

# file, target, exit status, verdict, the change kinds in order
while read -r f target rc verdict kinds; do
	run "$rc" snapshot check "$DATA/$f.gsnap" --target-caps "$target"
	has "$T/out" "verdict              $verdict"
	has "$T/out" "target               $target"
	run "$rc" --json snapshot check "$DATA/$f.gsnap" --target-caps "$target"
	jdoc "$T/out" 'snapshot check'
	jtrue "$T/out" "d['verdict'] == '$verdict' and d['file'] == '$DATA/$f.gsnap'"
	jtrue "$T/out" "','.join(c['kind'] for c in d['changes']) == '${kinds#-}'"
	jtrue "$T/out" "d['target']['profile'] == '${target%%,*}'"
	jtrue "$T/out" "(d['reason'] is None) == ('$verdict' != 'impossible')"
	jtrue "$T/out" "all(c['severity'] in ('lossy', 'impossible') and c['what'] and c['value'].startswith('0x') for c in d['changes'])"
done <<'TABLE'
v1-empty classic 0 exact -
v1-empty newest,gisa,ais 0 exact -
v1-typical classic,gisa 0 exact -
v1-typical classic,gisa,ais 0 exact -
v1-typical newest,gisa 1 lossy kick-cursor
v1-typical classic 2 impossible ipm-to-list,ipm-to-list,ipm-to-list,gisa-registration,gisa-registration,gisa-timer
v1-newest-gisa-ais newest,gisa,ais 0 exact -
v1-newest-gisa-ais classic,gisa,ais 1 lossy maps-dropped,maps-dropped,kick-cursor
v1-newest-gisa-ais newest,gisa 2 impossible ais-facility,ais-mode,ais-mode
v1-stored classic,ais 0 exact -
v1-stored classic 2 impossible ais-facility,ais-mode,ais-mode
TABLE

# The listed changes carry section, key, index and value.
run 1 --json snapshot check "$DATA/v1-newest-gisa-ais.gsnap" --target-caps classic,gisa,ais
jtrue "$T/out" 'd["changes"][1] == {"kind": "maps-dropped", "severity": "lossy", "section": "adapters", "key": 9, "index": 1, "value": "0x2", "what": d["changes"][1]["what"]}'
jtrue "$T/out" 'd["target"]["caps"] == ["gisa", "ais"] and d["reason"] is None'
run 1 snapshot check "$DATA/v1-newest-gisa-ais.gsnap" --target-caps classic,gisa,ais
has "$T/out" 'changes              3'
has "$T/out" 'maps-dropped'
has "$T/out" 'key 9'
run 2 snapshot check "$DATA/v1-typical.gsnap" --target-caps classic
has "$T/out" 'reason               a passthrough interrupt registration needs a GISA'
run 2 --json snapshot check "$DATA/v1-typical.gsnap" --target-caps classic
jtrue "$T/out" 'd["reason"] == "a passthrough interrupt registration needs a GISA" and "error" not in d'
# the capability order on the command line does not matter
run 1 snapshot check "$DATA/v1-newest-gisa-ais.gsnap" --target-caps ais,gisa,classic
has "$T/out" 'target               classic,gisa,ais'

# Errors: exit 2 with the reason, and no verdict.
run 2 snapshot check "$DATA/v1-empty.gsnap"
has "$T/err" "option \`--target-caps' is required"
has "$T/err" 'usage: gisactl [--json] snapshot check FILE --target-caps CAPS'
run 2 snapshot check "$DATA/v1-empty.gsnap" --target-caps old
has "$T/err" "\`old' in \`old' is none of them"
run 2 snapshot check "$T/missing.gsnap" --target-caps classic
has "$T/err" "cannot open \`$T/missing.gsnap'"
empty "$T/out"
head -c 50 "$DATA/v1-empty.gsnap" >"$T/trunc.gsnap"
run 2 --json snapshot check "$T/trunc.gsnap" --target-caps classic
jtrue "$T/out" 'd["error"]["code"] == "EBADMSG" and "verdict" not in d'

finish
