#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gisactl's state-moving commands against a real gisad: snapshot export and
# import (files passed as descriptors, spooled where they are not regular
# files), `vm digest' = `snapshot digest' of an export, diff of live VMs
# and files with diff(1)'s exit statuses, checkpoints (create, list,
# restore, delete; a corrupted one refused with the VM untouched), jobs,
# and checkpoint -> SIGTERM -> restart -> the same digests; checkpoint list
# from each file's head and stored digest (damaged files listed without
# info), and max_checkpoints_per_vm (new tags refused, SIGHUP applies it).
. "$(dirname "$0")/lib-gisactl.sh"

write_conf
start_gisad

# A realistic VM: adapters, a route, interrupts of every floating class,
# AIS masks, a GISA with a registered ISC; another one, smaller.
g 0 vm create a --caps gisa,ais --vcpus 2 --memslot 0:0:0x100000
g 0 adapter register a 1 --isc 3 --maskable --suppressible
g 0 adapter register a 4 --isc 6 --swap
g 0 route set a --route 5:0x1000:0:0x2000:0:1 --route 6:0x3000:70:0x4000:3:4
g 0 route trigger a 6
g 0 gisa gisc-register a 6
g 0 irq inject a --hex "$(io_rec 1 1 11 2)$(io_rec 1 2 12 2)$(io_rec 2 9 13 7)"
g 0 irq interrupt a 0xffff2401 0x20003
g 0 irq interrupt a 0xffff2603 0x11 0x22
g 0 irq interrupt a 0xfffe1000 0 0x400000008000
g 0 irq interrupt a 0xfffe0005 0 0x1234
g 0 ais set a 3 single
g 0 vm create b --profile newest --vcpus 1
g 0 irq inject b --hex "$(io_rec 3 3 3 3)"
da=$(digest_hex a)
db=$(digest_hex b)
[ "$da" != "$db" ] || fail "a and b have the same digest"

# ---- export: vm digest = snapshot digest of the file -------------------------
g 0 snapshot export a "$T/a.gsnap"
out_match '^vm +a$'
out_match "^file +$T/a.gsnap$"
out_match "^digest +$da$"
out_match '^job +[0-9]+$'
"$GISACTL" snapshot digest "$T/a.gsnap" >"$T/sd" || fail "snapshot digest failed"
[ "$(cat "$T/sd")" = "$da" ] || fail "snapshot digest $(cat "$T/sd") != vm digest $da"
"$GISACTL" snapshot verify "$T/a.gsnap" >/dev/null || fail "the export does not verify"
g 0 --json snapshot export a "$T/a-stored.gsnap" --stored
json 'snapshot export' 'd["vm"] == "a" and d["file"] == "'"$T/a-stored.gsnap"'" and
	d["digest"] == "'"$da"'" and d["bytes"] == '"$(stat -c %s "$T/a-stored.gsnap")"' and
	d["tag"] is None and isinstance(d["job"], int)'
export_job=$(jval 'd["job"]')
"$GISACTL" --json snapshot info "$T/a-stored.gsnap" >"$T/info" || fail "snapshot info"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["compression"] != "stored" or d["vm_name"] != "a")' \
	"$T/info" || fail "stored export: $(cat "$T/info")"
[ "$("$GISACTL" snapshot digest "$T/a-stored.gsnap")" = "$da" ] || fail "stored digest"
# Standard output (spooled), and an existing symbolic link's target replaced.
"$GISACTL" --socket "$SOCK" snapshot export a - --level 9 >"$T/a-stdout.gsnap" ||
	fail "export to standard output"
[ "$("$GISACTL" snapshot digest "$T/a-stdout.gsnap")" = "$da" ] || fail "stdout digest"
echo old >"$T/target"
ln -s target "$T/link.gsnap"
g 0 snapshot export b "$T/link.gsnap"
[ -L "$T/link.gsnap" ] || fail "the link was replaced, not its target"
[ "$("$GISACTL" snapshot digest "$T/target")" = "$db" ] || fail "link target digest"
# A failed export leaves no file, and no temporary, behind.
g 2 --json snapshot export nope "$T/nope.gsnap"
jerr 'snapshot export' ENOENT "snapshot_export: no VM named \`nope'"
[ ! -e "$T/nope.gsnap" ] || fail "a failed export left its file"
[ -z "$(find "$T" -maxdepth 1 -name '.nope*')" ] || fail "a failed export left a temporary"
g 2 --json snapshot export a -
jerr 'snapshot export' usage "with --json the output needs a file"
g 2 snapshot export a "$T/x.gsnap" --level 3 --stored
err_has "options \`--level' and \`--stored' exclude each other"
g 2 snapshot export a "$T/nodir/x.gsnap"
err_has "cannot create a file beside \`$T/nodir/x.gsnap'"

# ---- import ------------------------------------------------------------------
g 0 snapshot import c "$T/a.gsnap"
out_match '^vm +c$'
out_match "^digest +$da$"
[ "$(digest_hex c)" = "$da" ] || fail "c imported with another digest"
g 2 --json snapshot import c "$T/b-none.gsnap"
jerr 'snapshot import' ENOENT "cannot open \`$T/b-none.gsnap'"
g 2 snapshot import c "$T/target"
err_has "gisactl: import of VM \`c' (job "
err_has "): VM \`c' exists: ask for replace to overwrite it"
g 0 --json snapshot import c "$T/target" --replace
json 'snapshot import' 'd["vm"] == "c" and d["digest"] == "'"$db"'"'
[ "$(digest_hex c)" = "$db" ] || fail "c not replaced"
# Replacing a VM on the alert list (freeing it processes the list) with a
# snapshot that decodes but cannot be built (a page outside every
# memslot): refused, with nothing changed, neither the VM (its guest
# memory included) nor another listed VM.
g 0 vm create la --caps gisa --memslot 0:0:0x100000
g 0 vm create lb --caps gisa
for v in la lb; do
	g 0 gisa gisc-register $v 3
	g 0 gisa hw-airq $v 3
done
g 0 mem write la 0x5000 --data deadbeef
dla=$(digest_hex la)
dlb=$(digest_hex lb)
g 0 snapshot export la "$T/la.gsnap"
"$GISACTL" snapshot decode "$T/la.gsnap" -o "$T/la.json" || fail "snapshot decode la"
python3 - "$T/la.json" <<'PY' || fail "editing la.json"
import json, sys
d = json.load(open(sys.argv[1]))
d["pages"].append({"gpa": "0x40000000", "data": {"0": "01"}})
json.dump(d, open(sys.argv[1], "w"))
PY
"$GISACTL" snapshot encode "$T/la.json" -o "$T/la-bad.gsnap" || fail "snapshot encode la"
g 2 --json snapshot import la "$T/la-bad.gsnap" --replace
jerr 'snapshot import' EFAULT "import of VM \`la' (job "
g 0 mem read la 0x5000 4
out_is '0000000000005000  de ad be ef'
[ "$(digest_hex la)" = "$dla" ] || fail "la changed by the refused import"
[ "$(digest_hex lb)" = "$dlb" ] || fail "lb changed by the refused import"
g 0 --json vm info lb
json 'vm info' 'd["gisa"]["on_alert_list"] is True and d["gisa"]["timer_armed"] is False'
g 0 --json host info
json 'host info' 'd["alert_list_len"] == 2'
g 0 vm destroy la
g 0 vm destroy lb
# From standard input and from a pipe: spooled into a regular file.
"$GISACTL" --socket "$SOCK" snapshot import d - <"$T/a.gsnap" >/dev/null || fail "import from stdin"
[ "$(digest_hex d)" = "$da" ] || fail "d imported from stdin with another digest"
cat "$T/a.gsnap" | "$GISACTL" --socket "$SOCK" snapshot import e /dev/stdin >/dev/null ||
	fail "import from a pipe"
[ "$(digest_hex e)" = "$da" ] || fail "e imported from a pipe with another digest"
# A regular file on a file system whose reads can wait without end (the
# kernel's own here; FUSE and network ones alike): refused unread.
g 2 --json snapshot import pv /proc/version
jerr 'snapshot import' EINVAL "the passed descriptor is on a proc file system (type 0x9fa0)"
g 2 vm info pv
# A damaged file is refused by gisad, and no VM appears.
cp "$T/a-stored.gsnap" "$T/bad.gsnap"
printf '\x55' | dd of="$T/bad.gsnap" bs=1 seek=$(($(stat -c %s "$T/bad.gsnap") - 40)) \
	conv=notrunc status=none
g 2 --json snapshot import f "$T/bad.gsnap"
jerr 'snapshot import' EBADMSG "import of VM \`f' (job "
err_has "): snapshot refused: state digest mismatch: stored "
g 2 vm info f
: >"$T/empty"
g 2 --json snapshot import f "$T/empty"
jerr 'snapshot import' EBADMSG "import of VM \`f' (job "
g 2 vm info f
g 2 snapshot import f "$T"
err_has "\`$T' is a directory, not a snapshot file"

# ---- diff: files and live VMs ------------------------------------------------
g 0 diff vm:a "$T/a.gsnap"
out_empty
g 0 --json diff vm:a vm:d
json diff 'd["a"] == "vm:a" and d["b"] == "vm:d" and d["equal"] is True and d["total"] == 0'
g 1 diff vm:a vm:b
out_match '^--- vm:a$'
out_match '^\+\+\+ vm:b$'
out_match '^[0-9]+ differences?$'
g 1 --json diff "$T/a.gsnap" vm:c
json diff 'd["equal"] is False and d["total"] > 0 and len(d["entries"]) == d["total"]'
g 0 irq inject d --hex "$(io_rec 5 5 5 5)"
g 1 --json diff vm:a vm:d
json diff 'd["equal"] is False and d["total"] == 2 and
	[(e["section"], e["kind"], e["path"], e["a"]) for e in d["entries"]] ==
	[("float", "changed", "float.kick_cursor", "0"), ("lists", "added", "lists[5][0]", None)]'
g 2 --json diff vm:nope "$T/a.gsnap"
jerr diff ENOENT "snapshot_export: no VM named \`nope'"
g 2 diff vm:a "$T/nothing.gsnap"
err_has "cannot open \`$T/nothing.gsnap'"
"$GISACTL" --socket "$T/nowhere" diff vm:a "$T/a.gsnap" >"$T/out" 2>"$T/err" && fail "diff without gisad"
err_has "cannot connect to gisad at \`$T/nowhere'"

# ---- checkpoints ---------------------------------------------------------------
g 0 checkpoint create a
out_match "^digest +$da$"
out_match '^bytes +[0-9]+$'
[ -f "$T/state/checkpoints/a/current.gsnap" ] || fail "no current checkpoint file"
g 0 --json checkpoint create a t1
json 'checkpoint create' 'd["vm"] == "a" and d["tag"] == "t1" and d["digest"] == "'"$da"'"
	and "file" not in d'
g 0 checkpoint list a
out_match '^TAG +BYTES +CREATED +DIGEST$'
out_match "^\(current\) +[0-9]+  [0-9T:.-]+Z  $da$"
out_match "^t1 +[0-9]+  [0-9T:.-]+Z  $da$"
g 0 --json checkpoint list a
json 'checkpoint list' 'd["vm"] == "a" and sorted(e["tag"] or "" for e in d["checkpoints"]) == ["", "t1"]
	and all(e["digest"] == "'"$da"'" and e["bytes"] > 0 for e in d["checkpoints"])'
g 0 checkpoint list nobody
out_is "no checkpoints of VM \`nobody'"
g 2 --json checkpoint create a current
jerr 'checkpoint create' EINVAL "checkpoint_create: tag \`current' is invalid"
g 2 checkpoint create a ../x
err_has "tag \`../x' is invalid"
g 2 checkpoint create nope
err_has "checkpoint_create: no VM named \`nope'"
# Change a, restore t1: the digest comes back.
g 0 irq clear a
[ "$(digest_hex a)" != "$da" ] || fail "irq clear did not change a"
g 0 --json checkpoint restore a t1
json 'checkpoint restore' 'list(d) == ["schema", "command", "vm", "tag", "bytes", "job", "digest"]
	and d["vm"] == "a" and d["tag"] == "t1" and d["digest"] == "'"$da"'" and d["bytes"] > 0'
[ "$(digest_hex a)" = "$da" ] || fail "restore of t1 gave another digest"
g 2 --json checkpoint restore a nope
jerr 'checkpoint restore' ENOENT "restore of VM \`a' (job "
err_has "checkpoint \`nope'"
g 0 --json checkpoint delete a t1
json 'checkpoint delete' 'd["vm"] == "a" and d["tag"] == "t1"'
g 2 --json checkpoint delete a t1
jerr 'checkpoint delete' ENOENT "t1"
# A restore creates the VM when it does not exist.
g 0 checkpoint create b tb
g 0 vm destroy b
g 0 checkpoint restore b tb
[ "$(digest_hex b)" = "$db" ] || fail "b restored from tb with another digest"

# A corrupted checkpoint is refused, and the VM stays as it was.
g 0 checkpoint create b t2
g 0 irq inject b --hex "$(io_rec 3 4 4 4)"
db2=$(digest_hex b)
f=$T/state/checkpoints/b/t2.gsnap
printf '\x55' | dd of="$f" bs=1 seek=$(($(stat -c %s "$f") / 2)) conv=notrunc status=none
g 2 checkpoint restore b t2
err_has "gisactl: restore of VM \`b' (job "
err_has "): snapshot refused: "
g 2 --json checkpoint restore b t2
jerr 'checkpoint restore' EBADMSG "restore of VM \`b' (job "
[ "$(digest_hex b)" = "$db2" ] || fail "a refused restore changed b"
g 0 --json job list
json 'job list' 'd["jobs"][-1]["type"] == "failed" and d["jobs"][-1]["operation"] == "restore"
	and d["jobs"][-1]["vm"] == "b" and d["jobs"][-1]["tag"] == "t2"
	and d["jobs"][-1]["error"] is not None and d["jobs"][-1]["error_message"]'
failed_job=$(jval 'd["jobs"][-1]["id"]')
g 0 job status "$failed_job"
out_match '^type +failed$'
out_match '^error +E[A-Z0-9]+ \(-[0-9]+\): '

# ---- jobs --------------------------------------------------------------------
g 0 job list
out_match '^ID +OPERATION +TYPE +VM +TAG +BYTES +ERROR$'
out_match "^$export_job +export +completed +a +- +[0-9]+  -$"
g 0 --json job status "$export_job"
json 'job status' 'd["id"] == '"$export_job"' and d["type"] == "completed" and
	d["operation"] == "export" and d["vm"] == "a" and d["digest"] == "'"$da"'" and
	d["data_total"] == d["data_processed"] > 0 and d["data_remaining"] == 0 and
	d["error"] is None and d["started"].endswith("Z")'
g 2 job abort "$export_job"
err_has "job_abort: job $export_job (export of VM \`a') already completed"
g 2 --json job abort "$export_job"
jerr 'job abort' EALREADY "already completed"
g 0 job clear "$export_job"
out_is '1 job cleared'
g 2 --json job status "$export_job"
jerr 'job status' ENOENT "job_status: no job $export_job"
g 2 job clear "$export_job"
err_has "job_clear: no job $export_job"
g 0 --json job clear
json 'job clear' 'd["cleared"] > 0'
g 0 --json job list
json 'job list' 'd["jobs"] == []'
g 2 job status 0
err_has 'ID names a job: 1 or more, not `0'"'"
g 2 job status x
err_has "ID takes a number from 0 to 18446744073709551615"

# ---- checkpoint -> SIGTERM -> restart -> the same digests ------------------------
for v in a b c d e; do
	eval "pre_$v=\$(digest_hex $v)"
done
stop_gisad
start_gisad
for v in a b c d e; do
	eval "want=\$pre_$v"
	[ "$(digest_hex $v)" = "$want" ] || fail "$v restored with another digest"
done
[ "$(digest_hex a)" = "$da" ] || fail "a is not what it was"
g 0 --json vm list
json 'vm list' 'sorted(v["name"] for v in d["vms"]) == ["a", "b", "c", "d", "e"]'
g 0 --json job list
json 'job list' 'len(d["jobs"]) == 5 and all(j["operation"] == "restore" and
	j["type"] == "completed" for j in d["jobs"])'
g 0 diff vm:a "$T/a.gsnap"
stop_gisad

# ---- finished_jobs: the oldest finished jobs go first ---------------------------
write_conf finished_jobs=16
start_gisad
for i in $(seq 1 20); do
	g 0 checkpoint create a "k$i"
done
g 0 --json job list
json 'job list' 'len(d["jobs"]) == 16
	and [j["tag"] for j in d["jobs"]] == ["k%d" % i for i in range(5, 21)]
	and [j["id"] for j in d["jobs"]] == list(range(d["jobs"][0]["id"], d["jobs"][0]["id"] + 16))'
stop_gisad

# ---- checkpoint list: read from each file's head and its stored digest ------------
# What the listing shows of a checkpoint, gisad reads from the file's
# preamble and header and its last 32 bytes, never the payload: the same
# bytes, creation time and stored digest as `snapshot info' of the whole
# file, for files of up to 64 MiB, without reading them whole on the
# daemon's only thread.  A damaged file is listed without them.
write_conf max_checkpoints_per_vm=3
start_gisad
ca=$T/state/checkpoints/a
g 0 snapshot export a "$T/head.gsnap" --stored
# Two checkpoints whose 16 MiB payloads no listing needs: the header of a
# real file, a payload of zeros, and a stored digest of its own (what the
# listing shows; decoding would refuse the file).
python3 - "$T/head.gsnap" "$ca/big1.gsnap" "$ca/big2.gsnap" <<'PY' || fail "making big checkpoints"
import hashlib, struct, sys
src = open(sys.argv[1], "rb").read()
h = struct.unpack(">I", src[16:20])[0]
pre = bytearray(src[:44])
struct.pack_into(">QQ", pre, 20, 16 << 20, 16 << 20)
struct.pack_into(">I", pre, 12, 0)
pre[36:44] = hashlib.sha256(bytes(pre[:36]) + src[44:44 + h]).digest()[:8]
for i, path in enumerate(sys.argv[2:]):
    with open(path, "wb") as f:
        f.write(pre + src[44:44 + h])
        f.truncate(44 + h + (16 << 20))
        f.seek(0, 2)
        f.write(bytes(range(i, i + 32)))
PY
rchar() {
	sed -n 's/^rchar: //p' "/proc/$PID/io" 2>/dev/null || true
}
before=$(rchar)
g 0 --json checkpoint list a
after=$(rchar)
python3 - "$T/out" "$ca" "$GISACTL" <<'PY' || fail "checkpoint list disagrees with snapshot info"
import json, os, subprocess, sys
d = json.load(open(sys.argv[1]))
es = d["checkpoints"]
assert len(es) == 23, [e["tag"] for e in es]
for e in es:
    f = os.path.join(sys.argv[2], (e["tag"] or "current") + ".gsnap")
    i = json.loads(subprocess.run([sys.argv[3], "--json", "snapshot", "info", f],
                                  check=True, capture_output=True).stdout)
    assert e["bytes"] == os.path.getsize(f) == i["file_len"], (e, i)
    assert e["digest"] == i["stored_digest"], (e, i)
    assert e["created"] == i["created"] and e["created"], (e, i)
big = [e for e in es if e["tag"] in ("big1", "big2")]
assert [e["digest"] for e in big] == [bytes(range(i, i + 32)).hex() for i in (0, 1)], big
PY
# 32 MiB of payloads listed, far less read: /proc/PID/io's rchar counts
# every byte gisad's read(2) and pread(2) return (where the kernel keeps it).
if [ -n "$before" ] && [ -n "$after" ]; then
	[ $((after - before)) -lt $((4 << 20)) ] ||
		fail "checkpoint list read $((after - before)) bytes: payloads read"
else
	echo "skip: /proc/$PID/io unreadable here: the bytes a listing reads not checked"
fi
g 0 checkpoint list a
out_match "^big1 +$(stat -c %s "$ca/big1.gsnap")  [0-9T:.-]+Z  $(printf '%02x' $(seq 0 31))$"
rm "$ca/big1.gsnap" "$ca/big2.gsnap"

# Damaged files of a VM that need not exist: each listed, the listing not
# failed; a damaged header, a truncated file, an empty one, one shorter
# than a digest without info; a damaged payload (not read) with it, the
# stored digest as `snapshot info' reads it.
cz=$T/state/checkpoints/z
mkdir -p "$cz"
for t in good hdr trunc body; do
	cp "$ca/k1.gsnap" "$cz/$t.gsnap"
done
printf '\x55' | dd of="$cz/hdr.gsnap" bs=1 seek=50 conv=notrunc status=none
truncate -s $(($(stat -c %s "$cz/trunc.gsnap") / 2)) "$cz/trunc.gsnap"
printf '\x55' | dd of="$cz/body.gsnap" bs=1 seek=$(($(stat -c %s "$cz/body.gsnap") - 40)) \
	conv=notrunc status=none
: >"$cz/empty.gsnap"
printf 'GISASNAP\0\1' >"$cz/tiny.gsnap"
g 0 checkpoint list z
"$GISACTL" --json snapshot info "$ca/k1.gsnap" >"$T/k1-info" || fail "snapshot info of k1"
dk1=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stored_digest"])' \
	"$T/k1-info")
for t in good body; do
	out_match "^$t +[0-9]+  [0-9T:.-]+Z  $dk1$"
done
for t in hdr trunc empty tiny; do
	out_match "^$t +[0-9]+  \(unknown\) +\(unreadable\)$"
done
g 0 --json checkpoint list z
json 'checkpoint list' '[(e["tag"], e["created"] is None, e["digest"] is None)
	for e in d["checkpoints"]] == [("body", False, False), ("empty", True, True),
	("good", False, False), ("hdr", True, True), ("tiny", True, True), ("trunc", True, True)]
	and all(e["bytes"] == __import__("os").path.getsize("'"$cz"'/%s.gsnap" % e["tag"])
	for e in d["checkpoints"])'
g 2 checkpoint restore z body
err_has "): snapshot refused: "

# ---- max_checkpoints_per_vm: new tags refused over the limit --------------------
# The current checkpoint is not counted; an existing tag is overwritten
# whatever the count; a refusal writes nothing; SIGHUP changes the limit.
g 0 vm create q
g 0 checkpoint create q
for t in q1 q2 q3; do
	g 0 checkpoint create q "$t"
done
cq=$T/state/checkpoints/q
ls -la --time-style=full-iso "$cq" >"$T/q-before"
g 2 --json checkpoint create q q4
jerr 'checkpoint create' EDQUOT \
	"VM \`q' holds 3 tagged checkpoints, max_checkpoints_per_vm allows 3"
g 0 --json job list
jobs_before=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["jobs"]))' "$T/out")
g 2 checkpoint create q q4
err_has "gisactl: checkpoint_create: VM \`q' holds 3 tagged checkpoints, max_checkpoints_per_vm allows 3: "
ls -la --time-style=full-iso "$cq" >"$T/q-after"
cmp -s "$T/q-before" "$T/q-after" || fail "a refused checkpoint changed $cq:
$(diff "$T/q-before" "$T/q-after")"
# Refused before the encoding: no job.
g 0 --json job list
json 'job list' "len(d['jobs']) == $jobs_before"
g 0 checkpoint create q q2
g 0 checkpoint create q
g 0 --json checkpoint list q
json 'checkpoint list' '[e["tag"] or "" for e in d["checkpoints"]] == ["", "q1", "q2", "q3"]'
# reload: wait for the SIGHUP line naming the new value.
reload_limit() {
	sed -i "s/^max_checkpoints_per_vm = .*/max_checkpoints_per_vm = $1/" "$CONF"
	reload_to max_checkpoints_per_vm "$1"
}
reload_limit 4
g 0 checkpoint create q q4
g 2 --json checkpoint create q q5
jerr 'checkpoint create' EDQUOT "VM \`q' holds 4 tagged checkpoints, max_checkpoints_per_vm allows 4"
# Lowered under the count: nothing removed, overwriting still allowed.
reload_limit 1
g 0 checkpoint create q q3
g 2 --json checkpoint create q q6
jerr 'checkpoint create' EDQUOT "VM \`q' holds 4 tagged checkpoints, max_checkpoints_per_vm allows 1"
g 0 --json checkpoint list q
json 'checkpoint list' '[e["tag"] or "" for e in d["checkpoints"]] == ["", "q1", "q2", "q3", "q4"]'
g 0 vm destroy q
stop_gisad
echo "ok: gisactl store"
