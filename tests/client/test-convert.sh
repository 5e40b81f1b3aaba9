# SPDX-License-Identifier: MIT
# snapshot convert: KVM GET_ALL_IRQS buffers (both byte orders) with their
# AISM_ALL bytes, QEMU s390-flic payloads, snapshots and JSON, in and out;
# round trips are exact for states KVM can express.
. "$LIB"

# KVM buffers of seven records in the kernel's emission order (lists ISC 0-7,
# pfault-done, virtio, service, machine check), in both byte orders, and
# variants for the error paths.
python3 - "$T" <<'PY'
import struct, sys
t = sys.argv[1]

def io(typ, sid, nr, parm, isc, ai=False):
    word = (0x80000000 if ai else 0) | isc << 27
    return (typ, ("io", sid, nr, parm, word))

def ext(typ, params, params2):
    return (typ, ("ext", params, 0, params2))

def mchk(cr14, mcic):
    return (0xfffe1000, ("mchk", cr14, mcic))

def pack(recs, e):
    out = b""
    for typ, u in recs:
        if u[0] == "io":
            body = struct.pack(e + "HHII", *u[1:])
        elif u[0] == "ext":
            body = struct.pack(e + "IIQ", *u[1:])
        else:
            body = struct.pack(e + "QQ", *u[1:])
        out += struct.pack(e + "Q", typ) + body.ljust(64, b"\0")
    return out

recs = [
    io(0x00010002, 0x0001, 0x0002, 0xaaaa, 3),
    io(0x00010003, 0x0001, 0x0003, 0xbbbb, 3),
    io(0x04000000, 0, 0, 0, 5, ai=True),
    ext(0xfffe0005, 0, 0x1234),
    ext(0xffff2603, 0x11, 0x22),
    ext(0xffff2401, 0x1001, 0),
    mchk(0x10000000, 0x8000),
]
open(t + "/be.bin", "wb").write(pack(recs, ">"))
open(t + "/le.bin", "wb").write(pack(recs, "<"))
open(t + "/ai-first.bin", "wb").write(pack([recs[2]] + recs[:2] + recs[3:], ">"))
open(t + "/qemu.bin", "wb").write(struct.pack(">Q", len(recs)) + pack(recs, ">"))
# two service signals merge into one
srv2 = recs[:5] + [ext(0xffff2401, 0x1001, 0), ext(0xffff2401, 0x0002, 0)] + recs[6:]
open(t + "/srv2.bin", "wb").write(pack(srv2, ">"))
# PFAULT_INIT is not a floating interrupt: ENQUEUE refuses record 1
open(t + "/init.bin", "wb").write(pack([recs[0], ext(0xfffe0004, 0, 1)], ">"))
open(t + "/odd.bin", "wb").write(pack(recs, ">")[:-5])
open(t + "/qemu-failed.bin", "wb").write(struct.pack(">Q", 0xffffffffffffffff))
open(t + "/qemu-trailing.bin", "wb").write(struct.pack(">Q", 1) + pack(recs[:2], ">"))
open(t + "/qemu-short.bin", "wb").write(struct.pack(">Q", 3) + pack(recs[:2], ">"))
open(t + "/ais.bin", "wb").write(b"\x20\x00")
open(t + "/ais0.bin", "wb").write(b"\x00\x00")
open(t + "/ais3.bin", "wb").write(b"\x20\x00\x00")
PY

# KVM -> snapshot -> KVM: the same bytes; snapshot -> KVM -> snapshot: the same state.
run 0 snapshot convert --from kvm --to snapshot --target-caps classic "$T/be.bin" -o "$T/be.gsnap"
has "$T/out" "$T/be.bin (kvm) -> $T/be.gsnap (snapshot): 7 records"
run 0 snapshot verify "$T/be.gsnap"
run 0 snapshot convert --from snapshot --to kvm "$T/be.gsnap" -o "$T/be2.bin"
same "$T/be2.bin" "$T/be.bin"
run 0 snapshot convert --from kvm --to snapshot --target-caps classic "$T/be2.bin" -o "$T/be2.gsnap"
run 0 diff "$T/be.gsnap" "$T/be2.gsnap"
run 0 snapshot decode "$T/be.gsnap" -o "$T/be.json"
jtrue "$T/be.json" 'len(d["lists"][3]) == 2 and len(d["lists"][5]) == 1 and len(d["lists"][8]) == 1 and len(d["lists"][9]) == 1'
jtrue "$T/be.json" 'd["lists"][3][1]["io"]["parm"] == 0xbbbb and d["float"]["srv_ext_params"] == 0x1001'
jtrue "$T/be.json" 'd["float"]["mchk_mcic"] == "0x8000" and d["config"]["abi_order"] == "be" and d["config"]["nr_vcpus"] == 0'
# with vcpus, kicks move the CLASSIC cursor, identically every time
run 0 snapshot convert --from kvm --to snapshot --target-caps classic --vcpus 3 "$T/be.bin" -o "$T/v3.gsnap"
run 0 snapshot convert --from snapshot --to kvm "$T/v3.gsnap" -o "$T/v3.bin"
same "$T/v3.bin" "$T/be.bin"
run 0 snapshot convert --from kvm --to snapshot --target-caps classic --vcpus 3 "$T/v3.bin" -o "$T/v3b.gsnap"
run 0 diff "$T/v3.gsnap" "$T/v3b.gsnap"
run 0 snapshot decode "$T/v3.gsnap"
jtrue "$T/out" 'd["config"]["nr_vcpus"] == 3 and len(d["vcpus"]) == 3'

# Little-endian buffers: the VM's abi_order follows, and so does the output.
run 0 snapshot convert --from kvm --to snapshot --order le --target-caps classic "$T/le.bin" -o "$T/le.gsnap"
run 0 snapshot decode "$T/le.gsnap"
jtrue "$T/out" 'd["config"]["abi_order"] == "le" and d["lists"][3][1]["io"]["parm"] == 0xbbbb'
run 0 snapshot convert --from snapshot --to kvm "$T/le.gsnap" -o "$T/le2.bin"
same "$T/le2.bin" "$T/le.bin"
run 0 snapshot convert --from snapshot --to kvm --order be "$T/le.gsnap" -o "$T/be3.bin"
same "$T/be3.bin" "$T/be.bin"
run 0 snapshot convert --from kvm --to kvm --order le --target-caps classic "$T/le.bin" -o "$T/le3.bin"
same "$T/le3.bin" "$T/le.bin"

# A GISA destination takes the adapter interrupt into its IPM; KVM emits
# IPM records first.
run 0 snapshot convert --from kvm --to snapshot --target-caps classic,gisa "$T/be.bin" -o "$T/gisa.gsnap"
run 0 snapshot decode "$T/gisa.gsnap"
jtrue "$T/out" 'd["gisa"]["ipm"] == 0x04 and len(d["lists"][5]) == 0'
run 0 snapshot convert --from snapshot --to kvm "$T/gisa.gsnap" -o "$T/gisa.bin"
same "$T/gisa.bin" "$T/ai-first.bin"

# Service signals merge as KVM merges them: first SCCB address, events ORed.
run 0 snapshot convert --from kvm --to json --target-caps classic "$T/srv2.bin"
jtrue "$T/out" 'd["float"]["srv_ext_params"] == 0x1003 and d["float"]["service_ev_pending"] is True'

# AIS bytes.
run 0 snapshot convert --from kvm --to snapshot --target-caps classic,ais --ais "$T/ais.bin" "$T/be.bin" -o "$T/ais.gsnap"
has "$T/out" '7 records, simm 0x20 nimm 0x00'
run 0 snapshot decode "$T/ais.gsnap"
jtrue "$T/out" 'd["float"]["simm"] == 0x20 and d["float"]["nimm"] == 0 and d["config"]["caps"] == 2'
run 0 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/ais-out.bin" --ais "$T/ais-out.ais"
same "$T/ais-out.bin" "$T/be.bin"
same "$T/ais-out.ais" "$T/ais.bin"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/x.bin"
has "$T/err" 'the VM has the AIS facility: name a file for its AISM_ALL bytes with --ais'
checks=$((checks + 1))
[ ! -e "$T/x.bin" ] || fail "a refused conversion wrote $T/x.bin"
run 2 snapshot convert --from snapshot --to kvm "$T/be.gsnap" -o "$T/x.bin" --ais "$T/x.ais"
has "$T/err" 'the VM has no AIS facility'
run 2 snapshot convert --from kvm --to snapshot --target-caps classic --ais "$T/ais.bin" "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/ais.bin': ais"
has "$T/err" 'Operation not supported'
run 0 snapshot convert --from kvm --to snapshot --target-caps classic --ais "$T/ais0.bin" "$T/be.bin" -o "$T/ais0.gsnap"
run 0 diff "$T/ais0.gsnap" "$T/be.gsnap"
run 2 snapshot convert --from kvm --to snapshot --target-caps classic,ais --ais "$T/ais3.bin" "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/ais3.bin' is larger than 2 bytes"
head -c 1 "$T/ais.bin" >"$T/ais1.bin"
run 2 snapshot convert --from kvm --to snapshot --target-caps classic,ais --ais "$T/ais1.bin" "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/ais1.bin' is 1 bytes; the AIS bytes are 2 (simm, nimm)"

# QEMU: "irqs" is a big-endian count and the big-endian records.
run 0 snapshot convert --from snapshot --to qemu "$T/be.gsnap" -o "$T/q.bin"
same "$T/q.bin" "$T/qemu.bin"
run 0 snapshot convert --from qemu --to snapshot --target-caps classic "$T/qemu.bin" -o "$T/q.gsnap"
run 0 snapshot decode "$T/q.gsnap"
jtrue "$T/out" 'd["float"]["apf_enabled"] is True and len(d["lists"][3]) == 2'
run 0 snapshot convert --from qemu --to qemu --target-caps classic "$T/qemu.bin" -o "$T/q2.bin"
same "$T/q2.bin" "$T/qemu.bin"
run 0 snapshot convert --from qemu --to kvm --target-caps classic "$T/qemu.bin" -o "$T/q.kvm"
same "$T/q.kvm" "$T/be.bin"
run 0 snapshot convert --from qemu --to snapshot --target-caps classic,ais --qemu-ais "$T/ais.bin" "$T/qemu.bin" -o "$T/qa.gsnap"
run 0 snapshot convert --from snapshot --to qemu "$T/qa.gsnap" -o "$T/qa.bin" --qemu-ais "$T/qa.ais"
same "$T/qa.bin" "$T/qemu.bin"
same "$T/qa.ais" "$T/ais.bin"
run 2 snapshot convert --from snapshot --to qemu "$T/qa.gsnap" -o "$T/x.bin"
has "$T/err" 'QEMU sends the s390-flic/ais subsection: name a file for it with --qemu-ais'
run 2 snapshot convert --from qemu --to snapshot --target-caps classic "$T/qemu-failed.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/qemu-failed.bin': irqs.count"
has "$T/err" 'Input/output error'
run 2 snapshot convert --from qemu --to snapshot --target-caps classic "$T/qemu-trailing.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/qemu-trailing.bin': irqs"
run 2 snapshot convert --from qemu --to snapshot --target-caps classic "$T/qemu-short.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/qemu-short.bin': irqs.records"

# Bad KVM buffers.
run 2 snapshot convert --from kvm --to snapshot --target-caps classic "$T/init.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/init.bin': irqs[1] = 0xfffe0004"
run 2 snapshot convert --from kvm --to snapshot --target-caps classic "$T/odd.bin" -o "$T/x.gsnap"
has "$T/err" "\`$T/odd.bin'"
has "$T/err" 'Invalid argument'

# Two outputs (-o and --ais or --qemu-ais) replace their files together or
# not at all: both are written to temporary files first, so an AIS file
# that cannot be written leaves -o's file as it was, and no temporary file.
mkdir "$T/pair" "$T/pair/adir"
printf old >"$T/pair/out.kvm"
printf old >"$T/pair/out.ais"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/out.kvm" --ais "$T/missing/x.ais"
has "$T/err" "cannot create a file beside \`$T/missing/x.ais': No such file or directory"
eq "$(cat "$T/pair/out.kvm")" old "out.kvm after --ais failed"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/out.kvm" --ais "$T/pair/adir"
has "$T/err" "cannot open \`$T/pair/adir': Is a directory"
eq "$(cat "$T/pair/out.kvm")" old "out.kvm after --ais named a directory"
run 2 snapshot convert --from snapshot --to qemu "$T/qa.gsnap" -o "$T/pair/out.kvm" --qemu-ais "$T/missing/x.ais"
has "$T/err" "cannot create a file beside \`$T/missing/x.ais'"
eq "$(cat "$T/pair/out.kvm")" old "out.kvm after --qemu-ais failed"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/missing/x.kvm" --ais "$T/pair/out.ais"
eq "$(cat "$T/pair/out.ais")" old "out.ais after -o failed"
eq "$(ls -A "$T/pair" | tr '\n' ' ')" "adir out.ais out.kvm " "the files in pair/ after failed conversions"
# The second rename refused after the first went through (an immutable
# AIS file, for root): the first file is put back.  Exchanging names needs
# a file system that can (ext4, XFS, Btrfs, tmpfs).
if [ "$(id -u)" = 0 ] && command -v chattr >/dev/null && chattr +i "$T/pair/out.ais" 2>/dev/null; then
	trap 'chattr -i "$T/pair/out.ais" 2>/dev/null; rm -rf "$T"' EXIT
	run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/out.kvm" --ais "$T/pair/out.ais"
	chattr -i "$T/pair/out.ais"
	trap 'rm -rf "$T"' EXIT
	has "$T/err" "cannot write \`$T/pair/out.ais': Operation not permitted"
	eq "$(cat "$T/pair/out.kvm")" old "out.kvm after out.ais's rename was refused"
	eq "$(cat "$T/pair/out.ais")" old "out.ais after its rename was refused"
	eq "$(ls -A "$T/pair" | tr '\n' ' ')" "adir out.ais out.kvm " "the files in pair/ after a refused rename"
	# A new -o file goes again.
	chattr +i "$T/pair/out.ais"
	trap 'chattr -i "$T/pair/out.ais" 2>/dev/null; rm -rf "$T"' EXIT
	run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/new.kvm" --ais "$T/pair/out.ais"
	chattr -i "$T/pair/out.ais"
	trap 'rm -rf "$T"' EXIT
	eq "$(ls -A "$T/pair" | tr '\n' ' ')" "adir out.ais out.kvm " "the files in pair/ after a refused rename of a new pair"
else
	echo "skip: not root, or no chattr +i here: a refused second rename not tested"
fi
run 0 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/out.kvm" --ais "$T/pair/out.ais"
same "$T/pair/out.kvm" "$T/be.bin"
same "$T/pair/out.ais" "$T/ais.bin"

# The two outputs cannot be one file, by the same name or another (before
# and after the file exists), a hard link or a symbolic link: the AIS bytes
# written last would be all that is left.
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/one" --ais "$T/pair/one"
has "$T/err" "options \`-o' and \`--ais' both name \`$T/pair/one': each output needs a file of its own"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/one" --ais "$T/pair/./one"
has "$T/err" "options \`-o' (\`$T/pair/one') and \`--ais' (\`$T/pair/./one') name the same file"
checks=$((checks + 1))
[ ! -e "$T/pair/one" ] || fail "a refused conversion wrote $T/pair/one"
printf old >"$T/pair/one"
ln "$T/pair/one" "$T/pair/hard"
ln -s one "$T/pair/sym"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/./one" --ais "$T/pair/one"
has "$T/err" "name the same file"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/hard" --ais "$T/pair/one"
has "$T/err" "options \`-o' (\`$T/pair/hard') and \`--ais' (\`$T/pair/one') name the same file"
run 2 snapshot convert --from snapshot --to qemu "$T/qa.gsnap" -o "$T/pair/one" --qemu-ais "$T/pair/sym"
has "$T/err" "options \`-o' (\`$T/pair/one') and \`--qemu-ais' (\`$T/pair/sym') name the same file"
eq "$(cat "$T/pair/one")" old "pair/one after refused conversions"
# A dangling link leads to the file it would create: the same file as
# that file's own name, before it exists.
ln -s later "$T/pair/dangling"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/dangling" --ais "$T/pair/later"
has "$T/err" "options \`-o' (\`$T/pair/dangling') and \`--ais' (\`$T/pair/later') name the same file"
checks=$((checks + 1))
[ -L "$T/pair/dangling" ] && [ ! -e "$T/pair/later" ] || fail "a refused conversion wrote through pair/dangling"

# Standard output takes one of them at most, and none under --json, where
# it carries the document.
run 2 --json snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/j.kvm" --ais -
jdoc "$T/out" 'snapshot convert'
jtrue "$T/out" 'd["error"]["code"] == "usage" and "--ais" in d["error"]["message"]'
has "$T/err" "with --json option \`--ais' needs a file, not standard output"
run 2 --json snapshot convert --from snapshot --to qemu "$T/qa.gsnap" -o "$T/pair/j.bin" --qemu-ais -
jdoc "$T/out" 'snapshot convert'
has "$T/err" "with --json option \`--qemu-ais' needs a file, not standard output"
run 2 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o - --ais -
has "$T/err" "options \`-o' and \`--ais' both name standard output"
empty "$T/out"
run 2 snapshot convert --from snapshot --to qemu "$T/qa.gsnap" --qemu-ais -
has "$T/err" "options \`-o' and \`--qemu-ais' both name standard output"
empty "$T/out"
checks=$((checks + 1))
if [ -e "$T/pair/j.kvm" ] || [ -e "$T/pair/j.bin" ]; then
	fail "a refused conversion wrote its output"
fi
# the AIS bytes alone on standard output: no summary after them
run 0 snapshot convert --from snapshot --to kvm "$T/ais.gsnap" -o "$T/pair/k.kvm" --ais -
same "$T/out" "$T/ais.bin"
same "$T/pair/k.kvm" "$T/be.bin"

# Numbers are decimal or hexadecimal with 0x; a leading 0 alone is decimal.
run 0 snapshot convert --from kvm --to json --target-caps classic --vcpus 0x3 "$T/be.bin"
jtrue "$T/out" 'd["config"]["nr_vcpus"] == 3'
run 0 snapshot convert --from kvm --to json --target-caps classic --vcpus 010 "$T/be.bin"
jtrue "$T/out" 'd["config"]["nr_vcpus"] == 10'
run 0 snapshot convert --from kvm --to json --target-caps classic --vcpus 0XfF "$T/be.bin"
jtrue "$T/out" 'd["config"]["nr_vcpus"] == 255'
run 0 snapshot convert --from kvm --to snapshot --target-caps classic --level 0x16 "$T/be.bin" -o "$T/l22.gsnap"
run 0 snapshot info "$T/l22.gsnap"
has "$T/out" 'zstd, level 22'
for v in 0x100 0x 0x0x5 0xg -1 +3 ' 3' 3x 99999999999999999999999; do
	run 2 snapshot convert --from kvm --to json --target-caps classic --vcpus "$v" "$T/be.bin"
	has "$T/err" "option \`--vcpus' takes a number from 0 to 255, not \`$v'"
done
run 2 snapshot convert --from kvm --to snapshot --target-caps classic --level 0x17 "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "option \`--level' takes a number from 1 to 22, not \`0x17'"

# What the KVM form drops is named.
run 0 snapshot convert --from snapshot --to kvm "$DATA/v1-typical.gsnap" -o "$T/typ.bin"
has "$T/err" "note: the kvm form has no place for adapters, routes, memslots, pages, vcpus, gisa, kick_cursor of \`$DATA/v1-typical.gsnap'"
run 0 --json snapshot convert --from snapshot --to kvm "$DATA/v1-typical.gsnap" -o "$T/typ.bin"
jdoc "$T/out" 'snapshot convert'
jtrue "$T/out" 'd["dropped"] == ["adapters", "routes", "memslots", "pages", "vcpus", "gisa", "kick_cursor"]'
jtrue "$T/out" 'd["from"] == "snapshot" and d["to"] == "kvm" and d["records"] == 11 and d["ais"] is None'
jtrue "$T/out" 'd["digest"] == "8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780"'
checks=$((checks + 1))
[ "$(stat -c %s "$T/typ.bin")" -eq $((11 * 72)) ] || fail "typ.bin is not 11 records"
run 0 --json snapshot convert --from kvm --to snapshot --target-caps classic,ais --ais "$T/ais.bin" "$T/be.bin" -o "$T/j.gsnap"
jtrue "$T/out" 'd["records"] == 7 and d["ais"] == {"simm": 32, "nimm": 0} and d["dropped"] == [] and d["output"].endswith("/j.gsnap")'
digest=$("$GISACTL" snapshot digest "$T/j.gsnap")
jtrue "$T/out" "d['digest'] == '$digest'"
run 0 --json snapshot convert --from kvm --to json --target-caps classic "$T/be.bin"
jtrue "$T/out" 'd["document"]["schema"] == "gisa.v1" and list(d)[-1] == "document" and "output" not in d'
run 2 --json snapshot convert --from kvm --to snapshot --target-caps classic "$T/be.bin"
has "$T/err" 'with --json the output needs a file'

# Options are checked against the two forms before anything is read.
run 2 snapshot convert --to kvm "$T/be.gsnap"
has "$T/err" "option \`--from' is required"
run 2 snapshot convert --from raw --to kvm "$T/be.gsnap"
has "$T/err" "option \`--from' takes kvm, qemu, snapshot or json, not \`raw'"
run 2 snapshot convert --from snapshot --to json --order le "$T/be.gsnap"
has "$T/err" "option \`--order' applies to a KVM buffer (kvm) only"
run 2 snapshot convert --from snapshot --to kvm --order middle "$T/be.gsnap" -o "$T/x.bin"
has "$T/err" "option \`--order' takes be or le, not \`middle'"
run 2 snapshot convert --from snapshot --to json --target-caps classic "$T/be.gsnap"
has "$T/err" "option \`--target-caps' applies to reading kvm or qemu only"
run 2 snapshot convert --from snapshot --to json --level 3 "$T/be.gsnap"
has "$T/err" "option \`--level' applies to writing a snapshot only"
run 2 snapshot convert --from snapshot --to kvm --compact "$T/be.gsnap" -o "$T/x.bin"
has "$T/err" "option \`--compact' applies to writing json only"
run 2 snapshot convert --from kvm --to snapshot --qemu-ais "$T/ais.bin" --target-caps classic "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "option \`--qemu-ais' applies to QEMU payloads (qemu) only"
run 2 snapshot convert --from kvm --to snapshot "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" '--from kvm needs --target-caps'
run 2 snapshot convert --from kvm --to snapshot --target-caps classic --vcpus 256 "$T/be.bin" -o "$T/x.gsnap"
has "$T/err" "option \`--vcpus' takes a number from 0 to 255, not \`256'"
run 2 snapshot convert --from kvm --to kvm --target-caps classic,ais --ais "$T/ais.bin" "$T/be.bin" -o "$T/x.bin"
has "$T/err" "option \`--ais' names the input or the output, not both"
run 2 snapshot convert --from snapshot --to snapshot "$T/missing.gsnap" -o "$T/x.gsnap"
has "$T/err" "cannot open \`$T/missing.gsnap'"
checks=$((checks + 1))
if [ -e "$T/x.gsnap" ] || [ -e "$T/x.bin" ]; then
	fail "a refused conversion wrote its output"
fi

finish
