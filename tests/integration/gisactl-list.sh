#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Listings in pages (CONTROL-PROTOCOL.md, "Listings"): vm_list, job_list
# and checkpoint_list answer, in a stable order, the entries after the
# request's cursor that fit in one reply, and say `more' when others
# follow; gisactl pages on, so that its listing shows every entry exactly
# once however many there are.  12000 VMs of 64-character names are more
# than one 1 MiB reply holds (about 11 200), and so are 3400 failed
# restores of jobs (about 3 170); a request with neither cursor nor limit,
# as an older client's, gets -E2BIG naming the count, never a part of the
# list it would take for the whole.  Then, if
# sndbuf-shim is at hand, the same under replies bounded by
# net.core.wmem_max: pages follow the connection's limit, checkpoint
# listings included.
. "$(dirname "$0")/lib-gisactl.sh"

NVMS=12000
NJOBS=3400
pad=$(printf 'v%.0s' $(seq 1 58))
# VM i: its index first, so that names differ early and look-ups stay cheap.
vm() {
	printf '%05d-%s' "$1" "$pad"
}

# chain VERB RESULT LIST KEY [path=value ...]: page through VERB with
# ctl-client's `req', each page after the previous one's last KEY (LIST
# of result RESULT, e.g. vm_list vms name); $T/chain gets `pages=N' and
# then the keys in order.  Fails on an error, a page that says more but
# holds nothing, or keys that do not increase (bytes, or job ids).
chain() {
	python3 - "$CTL" "$SOCK" "$@" >"$T/chain" <<'PY' || fail "chain $*: $(tail -c 2000 "$T/chain")"
import re, subprocess, sys
ctl, sock, verb, result, lst, key = sys.argv[1:7]
extra = sys.argv[7:]
# A limit, even none, asks for pages (without, a long listing is E2BIG).
if not any(a.startswith("limit=") for a in extra):
    extra.append("limit=0")
pat = re.compile(r"^%s\.%s\[\d+\]\.%s=(.*)$" % (result, lst, key))
keys, after, pages = [], None, 0
while True:
    args = [ctl, "-s", sock, "req", verb] + extra
    if after is not None:
        args.append("after=" + after)
    p = subprocess.run(args, capture_output=True, text=True)
    lines = p.stdout.splitlines()
    if p.returncode or "error=0" not in lines:
        print("%s: status %d\n%s%s" % (" ".join(args[3:]), p.returncode, p.stdout[-1500:], p.stderr))
        sys.exit(1)
    got = [m.group(1) for m in map(pat.match, lines) if m]
    more = "%s.more=1" % result in lines
    pages += 1
    if more and not got:
        print("page %d after %r: more, but no entries" % (pages, after))
        sys.exit(1)
    keys += got
    if not more:
        break
    after = got[-1]
order = [int(k) for k in keys] if key == "id" else keys
bad = [i for i in range(1, len(order)) if order[i - 1] >= order[i]]
if bad:
    print("keys out of order at %d: %r, %r" % (bad[0], keys[bad[0] - 1], keys[bad[0]]))
    sys.exit(1)
print("pages=%d" % pages)
print("\n".join(keys))
PY
}

# chained: the number of pages and keys of the last chain.
chain_pages() {
	sed -n '1s/^pages=//p' "$T/chain"
}
chain_keys() {
	sed 1d "$T/chain"
}

write_conf max_vms=$((NVMS + 1)) finished_jobs=4096 log_level=warning
start_gisad

# ---- many VMs ---------------------------------------------------------------------
out=$(ctl bulk $NVMS vm_create name="#####-$pad" no_flic=1)
expect_field "$out" ok $NVMS

# A request with neither cursor nor limit (ctl-client's vm-list sends
# NoArgs, as an older client) is refused whole, naming the count: never a
# first page it would take for the whole list.
run_ctl out vm-list
expect_field "$out" error -7
expect_match "$out" "^message=vm_list: $NVMS VMs do not fit one reply on this connection \([0-9]+ bytes\): ask in pages"
# With a limit, even none (0), the first page, and more follow.
out=$(ctl req vm_list limit=0)
expect_field "$out" vm_list.more 1
expect_field "$out" "vm_list.vms\[0\].name" "$(vm 0)"
n1=$(field "$out" vm_list.vms.n)
[ "$n1" -gt 1000 ] && [ "$n1" -lt $NVMS ] || fail "the first page holds $n1 of $NVMS VMs"

# Raw pages chain: every VM once, by name, in more than one page.
chain vm_list vm_list vms name
[ "$(chain_pages)" -ge 2 ] || fail "$NVMS VMs listed in $(chain_pages) page"
for i in $(seq 0 $((NVMS - 1))); do vm "$i"; echo; done >"$T/want"
chain_keys | cmp -s - "$T/want" || fail "the chained pages do not list VMs 0 to $((NVMS - 1)) once each"

# limit, and a cursor at or past the end.
out=$(ctl req vm_list after="$(vm 2)" limit=3)
expect_field "$out" vm_list.vms.n 3
expect_field "$out" "vm_list.vms\[0\].name" "$(vm 3)"
expect_field "$out" "vm_list.vms\[2\].name" "$(vm 5)"
expect_field "$out" vm_list.more 1
out=$(ctl req vm_list after="$(vm $((NVMS - 2)))")
expect_field "$out" vm_list.vms.n 1
expect_field "$out" vm_list.more ""
out=$(ctl req vm_list after=zzz)
expect_field "$out" vm_list.vms.n 0
expect_field "$out" error 0

# Not a snapshot: between pages, a VM destroyed ahead of the cursor is not
# listed, one created ahead of it is, one created behind it is not.
out=$(ctl req vm_list limit=3)
expect_field "$out" "vm_list.vms\[2\].name" "$(vm 2)"
ctl vm-destroy "$(vm 3)" >/dev/null || fail "vm-destroy $(vm 3)"
ctl vm-create "00002a" noflic=1 >/dev/null || fail "vm-create 00002a"
ctl vm-create "0-early" noflic=1 >/dev/null || fail "vm-create 0-early"
out=$(ctl req vm_list after="$(vm 2)" limit=3)
expect_field "$out" "vm_list.vms\[0\].name" 00002a
expect_field "$out" "vm_list.vms\[1\].name" "$(vm 4)"
ctl vm-destroy 00002a >/dev/null && ctl vm-destroy 0-early >/dev/null &&
	ctl vm-create "$(vm 3)" noflic=1 >/dev/null || fail "restoring the $NVMS VMs"

# gisactl shows them all, once each, by name, in both outputs.
g 0 vm list
[ "$(head -n 1 "$T/out" | cut -c1-4)" = NAME ] || fail "vm list: no header first"
[ "$(grep -c '^NAME ' "$T/out")" = 1 ] || fail "vm list: the header is repeated"
sed 1d "$T/out" | cut -d' ' -f1 | cmp -s - "$T/want" ||
	fail "vm list does not show VMs 0 to $((NVMS - 1)) once each, by name"
g 0 --json vm list
python3 - "$T/out" "$T/want" <<'PY' || fail "vm list --json does not list VMs 0 to $((NVMS - 1)) once each"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "gisactl.v1" and d["command"] == "vm list"
names = [v["name"] for v in d["vms"]]
assert names == open(sys.argv[2]).read().split(), (len(names), names[:2])
assert all(v["profile"] == "classic" and v["migration"] == "none" for v in d["vms"])
PY
echo "ok 1: $NVMS VMs in $(chain_pages) pages, gisactl vm list shows each once"

# ---- many jobs --------------------------------------------------------------------
# Failed restores are cheap jobs (nothing written), and large: two names
# and an error message of them.
out=$(ctl bulk $NJOBS checkpoint_restore vm="#####-$pad" tag="#####-$pad")
expect_field "$out" failed $NJOBS
run_ctl out job list
expect_field "$out" error -7
expect_match "$out" "^message=job_list: $NJOBS jobs do not fit one reply"
out=$(ctl req job_list limit=0)
expect_field "$out" jobs.more 1
expect_field "$out" "jobs.jobs\[0\].id" 1
chain job_list jobs jobs id
[ "$(chain_pages)" -ge 2 ] || fail "$NJOBS jobs listed in $(chain_pages) page"
[ "$(chain_keys | tr '\n' ' ')" = "$(seq -s ' ' 1 $NJOBS) " ] ||
	fail "the chained pages do not list jobs 1 to $NJOBS once each"
out=$(ctl req job_list after=10 limit=2)
expect_field "$out" jobs.jobs.n 2
expect_field "$out" "jobs.jobs\[0\].id" 11
expect_field "$out" "jobs.jobs\[1\].id" 12
expect_field "$out" jobs.more 1
g 0 job list
[ "$(grep -c '^ID ' "$T/out")" = 1 ] || fail "job list: the header is not shown once"
[ "$(sed 1d "$T/out" | cut -d' ' -f1 | tr '\n' ' ')" = "$(seq -s ' ' 1 $NJOBS) " ] ||
	fail "job list does not show jobs 1 to $NJOBS once each"
g 0 --json job list
json 'job list' '[j["id"] for j in d["jobs"]] == list(range(1, '$NJOBS' + 1)) and
	all(j["type"] == "failed" for j in d["jobs"])'
echo "ok 2: $NJOBS jobs in $(chain_pages) pages, gisactl job list shows each once"

# ---- checkpoints: the current one first, then tags ---------------------------------
v=$(vm 7)
for t in "" b a c; do
	ctl ckpt create "$v" $t >/dev/null || fail "ckpt create $v $t"
done
chain checkpoint_list checkpoints entries tag vm="$v" limit=1
[ "$(chain_pages)" = 4 ] || fail "4 checkpoints, one per page, took $(chain_pages) pages"
[ "$(chain_keys | tr '\n' ' ')" = " a b c " ] || fail "checkpoint pages: $(chain_keys | tr '\n' ' ')"
out=$(ctl req checkpoint_list vm="$v" after= limit=2)
expect_field "$out" "checkpoints.entries\[0\].tag" a
expect_field "$out" checkpoints.more 1
g 0 --json checkpoint list "$v"
json 'checkpoint list' '[c["tag"] for c in d["checkpoints"]] == [None, "a", "b", "c"]'
echo "ok 3: checkpoint pages chain from the current one"

# stop_empty N: the N VMs destroyed in one bulk, then a clean stop, so that
# gisad checkpoints nothing and its leak check (an ASan build) runs over
# the jobs and every listing above.
stop_empty() {
	out=$(ctl bulk "$1" vm_destroy vm="#####-$pad")
	expect_field "$out" ok "$1"
	stop_gisad 0
}

stop_empty $NVMS

# ---- replies bounded by net.core.wmem_max -------------------------------------------
if [ -z "${SNDBUF_SHIM:-}" ]; then
	echo "ok 4 # SKIP no sndbuf-shim"
	exit 0
fi
rm -rf "$T/state"
# The smallest buffer: replies of at most 16 KiB less 32 bytes.
start_gisad SNDBUF_SHIM_WMEM_MAX=8192 LD_PRELOAD="$SNDBUF_SHIM" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
out=$(ctl ping)
reply=$(field "$out" pong.max_reply)
[ "$reply" -lt 65536 ] || fail "the shim left replies of $reply bytes"
out=$(ctl bulk 400 vm_create name="#####-$pad" no_flic=1)
expect_field "$out" ok 400
v=$(vm 0)
ctl ckpt create "$v" t >/dev/null || fail "ckpt create $v t"
# More tags than a page holds, past max_checkpoints_per_vm: links of one file.
python3 - "$T/state/checkpoints/$v" "$pad" <<'PY' || fail "linking checkpoints"
import os, sys
d, pad = sys.argv[1], sys.argv[2]
for i in range(250):
    os.link(os.path.join(d, "t.gsnap"), os.path.join(d, "%05d-%s.gsnap" % (i, pad)))
PY
chain vm_list vm_list vms name
[ "$(chain_pages)" -ge 3 ] && [ "$(chain_keys | wc -l)" = 400 ] ||
	fail "400 VMs in $(chain_pages) pages of at most $reply bytes: $(chain_keys | wc -l) listed"
g 0 --json vm list
json 'vm list' '[v["name"] for v in d["vms"]] == ["%05d-'"$pad"'" % i for i in range(400)]'
chain checkpoint_list checkpoints entries tag vm="$v"
[ "$(chain_pages)" -ge 2 ] && [ "$(chain_keys | wc -l)" = 251 ] ||
	fail "251 checkpoints in $(chain_pages) pages: $(chain_keys | wc -l) listed"
g 0 --json checkpoint list "$v"
json 'checkpoint list' '[c["tag"] for c in d["checkpoints"]] ==
	["%05d-'"$pad"'" % i for i in range(250)] + ["t"]'
g 0 checkpoint list "$v"
[ "$(sed 1d "$T/out" | wc -l)" = 251 ] || fail "checkpoint list shows $(sed 1d "$T/out" | wc -l) of 251"
stop_empty 400
echo "ok 4: pages of at most $reply bytes under a bounded send buffer"
