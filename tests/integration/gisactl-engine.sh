#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gisactl's engine commands against a real gisad, each with the engine's
# exact return codes (spec sections in the comments) relayed: the FLIC
# device and its raw attribute calls, injection (raw records, batched;
# the legacy ioctl), adapters, AIS, routes and their indicator bits in
# guest memory, memslots and the dirty log, vcpus, delivery, TPI/TSCH,
# GISA and GIB, and events (read, and followed as they happen).
. "$(dirname "$0")/lib-gisactl.sh"

write_conf
start_gisad

# ---- routes, guest memory, dirty log (spec §5) -------------------------------
g 0 vm create r --vcpus 1 --memslot 0:0:0x100000
g 0 adapter register r 1 --isc 3 --maskable
out_empty
g 0 route set r --route 5:0x1000:0:0x2000:0:1
out_empty
g 0 route trigger r 5
out_is 1
# swap = 0, bit 0: the last byte of the big-endian long (§5.3).
g 0 mem read r 0x1000 8
out_is '0000000000001000  00 00 00 00 00 00 00 01'
g 0 --json mem read r 0x2000 8
json 'mem read' 'd["vm"] == "r" and d["gpa"] == "0x2000" and d["len"] == 8
	and d["data"] == "0000000000000001"'
# Indicator already set: coalesced.
g 0 --json route trigger r 5
json 'route trigger' 'd["vm"] == "r" and d["ret"] == 0'
# The guest clears both bits: the next trigger injects again.
g 0 mem write r 0x1007 --data 00
out_empty
g 0 --json mem write r 0x2007 --data 00
json 'mem write' 'd["gpa"] == "0x2007" and d["len"] == 1'
g 0 route trigger r 5
out_is 1
g 0 --json vm info r
json 'vm info' 'd["list_len"][3] == 2 and d["nr_routes"] == 1 and d["adapter_mask"] == "0x2"'
# No route: the kernel's bare -1, which userspace reads as EPERM.
g 2 route trigger r 6
err_has "gisactl: route_trigger on VM \`r': gsi 6 level 1: -1 (no route, no registered adapter, or an address no memslot backs)"
g 2 --json route trigger r 6 --level 1
jerr 'route trigger' EPERM 'gsi 6 level 1: -1'
g 0 route trigger r 5 --level 0
out_is 0
# Unbacked guest memory.
g 2 mem read r 0x100000 1
err_has "mem_read on VM \`r': gpa 0x100000, 1 bytes: Bad address (-14)"
g 2 --json mem write r 0x100000 --data 01
jerr 'mem write' EFAULT "gpa 0x100000, 1 bytes: Bad address (-14)"
# Pages 1 and 2 were written by triggers; fetching clears the log.
g 0 mem dirty-log r 0
out_is $'page 1\npage 2\n2 dirty pages'
g 0 --json mem dirty-log r 0
json 'mem dirty-log' 'd["slot"] == 0 and d["words"] == ["0x0"] * 4 and d["pages"] == []'
g 2 --json mem dirty-log r 7
jerr 'mem dirty-log' ENOENT "dirty_log on VM \`r': no memslot 7"
# Routes from a JSON file replace the whole table.
g 0 adapter register r 2 --isc 2 --swap
cat >"$T/routes.json" <<'EOF'
{ "flags": 0, "routes": [
  { "gsi": 7, "ind_addr": "0x3000", "ind_offset": 8, "summary_addr": 16384,
    "summary_offset": 1, "adapter_id": 1 },
  { "gsi": 8, "type": 3, "flags": 0, "ind_addr": "0x5000", "ind_offset": "9",
    "summary_addr": "0x6000", "summary_offset": 0, "adapter_id": 2 } ] }
EOF
g 0 --json route set r "$T/routes.json"
json 'route set' 'd["vm"] == "r" and d["ret"] == 0 and d["routes"] == 2'
g 2 route trigger r 5
err_has 'gsi 5 level 1: -1'
g 0 route trigger r 7
out_is 1
# swap = 0: bit 8 is byte 6's 0x01, bit 1 byte 7's 0x02 (§5.3).
g 0 mem read r 0x3000 8
out_is '0000000000003000  00 00 00 00 00 00 01 00'
g 0 mem read r 0x4000 8
out_is '0000000000004000  00 00 00 00 00 00 00 02'
# swap = 1 (MSB0): bit 9 is byte 1's 0x40, bit 0 byte 0's 0x80.
g 0 route trigger r 8
out_is 1
g 0 mem read r 0x5000 18
out_is '0000000000005000  00 40 00 00 00 00 00 00  00 00 00 00 00 00 00 00
0000000000005010  00 00'
g 0 mem read r 0x6000 1
out_is '0000000000006000  80'
g 0 --json vm info r
json 'vm info' 'd["list_len"][3] == 3 and d["list_len"][2] == 1 and d["nr_routes"] == 2
	and d["adapter_mask"] == "0x6"'
echo '[]' | "$GISACTL" --socket "$SOCK" route set r - || fail "route set r - (empty)"
g 0 --json vm info r
json 'vm info' 'd["nr_routes"] == 0'
echo '[{"gsi": 1, "ind_addr": 0, "ind_offset": 0, "summary_addr": 0, "summary_offset": 0,
	"adapter_id": 1, "bogus": 1}]' >"$T/bad.json"
g 2 --json route set r "$T/bad.json"
jerr 'route set' EINVAL "routes[0] has an unknown member \`bogus'"
echo '[{"gsi": 1}]' >"$T/bad.json"
g 2 route set r "$T/bad.json"
err_has "routes[0] lacks \"ind_addr\""
echo '[{"gsi": 1, "ind_addr": "0x1", "ind_offset": 0, "summary_addr": 0,
	"summary_offset": "0x100000000", "adapter_id": 1}]' >"$T/bad.json"
g 2 route set r "$T/bad.json"
err_has "routes[0].summary_offset takes a number from 0 to 4294967295"
echo '{"routes": 3' >"$T/bad.json"
g 2 route set r "$T/bad.json"
err_has "gisactl: \`$T/bad.json' line 2 column 0: '}' expected near end of file"
# gisad's refusal of a route (§5.1): an unknown type.
echo '[{"gsi": 1, "type": 9, "ind_addr": 0, "ind_offset": 0, "summary_addr": 0,
	"summary_offset": 0, "adapter_id": 1}]' >"$T/bad.json"
g 2 --json route set r "$T/bad.json"
jerr 'route set' EINVAL "routes_set on VM \`r': 1 entries, flags 0x0: Invalid argument (-22)"
g 2 route set r
err_has 'give the routes as a FILE.json or with --route, one of the two'
g 2 route set r "$T/routes.json" --route 1:2:3:4:5:6
err_has 'one of the two'
g 2 route set r --route 1:2:3
err_has "option \`--route' takes GSI:IND:INDOFF:SUM:SUMOFF:ADAPTER, not \`1:2:3'"
g 2 route trigger r 5 --level x
err_has "option \`--level' takes a number from -2147483648 to 2147483647, not \`x'"

# Memslots, and memory larger than one request carries.
g 0 memslot set r 1 0x200000 0x1000
out_empty
g 2 --json memslot set r 2 0x80000 0x1000
jerr 'memslot set' EEXIST "memslot_set on VM \`r': slot 2, gpa 0x80000, size 0x1000: File exists (-17)"
g 0 memslot list r
out_is $'SLOT   GPA                SIZE\n0      0x0                0x100000\n1      0x200000           0x1000'
g 0 --json memslot delete r 1
json 'memslot delete' 'd["ret"] == 0'
g 0 --json memslot list r
json 'memslot list' 'd["memslots"] == [{"slot": 0, "gpa": "0x0", "size": "0x100000"}]'
head -c 300000 /dev/urandom >"$T/mem.bin"
g 0 mem write r 0x10000 --data-file "$T/mem.bin"
g 0 --json mem read r 0x10000 300000 -o "$T/mem.out"
json 'mem read' 'd["output"] == "'"$T/mem.out"'" and d["bytes"] == 300000 and "data" not in d'
cmp "$T/mem.bin" "$T/mem.out" || fail "guest memory did not read back as written"
g 2 mem write r 0x10000
err_has 'give the bytes with --data HEX or --data-file FILE'
g 2 mem write r 0x10000 --data 0g
err_has "option \`--data' takes hex bytes: \`0g' at offset 0 of \`0g' is not one"
g 2 mem write r 0x10000 --data 012
err_has "option \`--data' takes hex bytes (an even number of hex digits), not \`012' (3 digits)"
g 2 mem read r 0xffffffffffffffff 2
err_has 'wraps around'

# ---- vcpus, delivery, TPI, TSCH (spec §4.5-4.7) ------------------------------
g 0 vcpu get r 0
out_match '^run state +running$'
out_match '^psw mask +0x0000000000000000$'
g 2 --json vcpu get r 9
jerr 'vcpu get' ENOENT "vcpu_get on VM \`r': vcpu 9: No such file or directory (-2)"
g 0 vcpu set r 0 --run stopped
g 2 vcpu run r 0
err_has "vcpu_run on VM \`r': vcpu 0: Device or resource busy (-16)"
g 2 --json vcpu deliver r 0
jerr 'vcpu deliver' EBUSY "vcpu_deliver on VM \`r': vcpu 0"
# I/O enabled, CR6 ISC 3; the run state given separately stays.
g 0 vcpu set r 0 --psw-mask 0x0200000000000000 --cr6 0x10000000
g 0 --json vcpu get r 0
json 'vcpu get' 'd["psw_mask"] == "0x200000000000000" and d["cr6"] == "0x10000000"
	and d["cr0"] == "0x0" and d["run"] == "stopped"'
g 0 vcpu set r 0 --run running
g 0 --json vcpu run r 0
json 'vcpu run' 'd["ret"] == 0'
# Two adapter interruptions on ISC 3, and one on ISC 2 that CR6 masks.
ai3=$(printf '0000000004000000%016x%08x%0104d' 0 $((0x98000000)) 0)
ai2=$(printf '0000000004000000%016x%08x%0104d' 0 $((0x90000000)) 0)
g 0 irq clear r
g 0 irq inject r --hex "$ai3$ai2$ai3"
out_is '3 of 3 records injected'
g 0 vcpu deliverable r 0
out_is 0x00000080
g 0 --json vcpu deliverable r 0
json 'vcpu deliverable' 'd["bits"] == "0x80"'
g 0 vcpu deliver r 0
out_match '^delivered +io \(irq bit 7, type 0x4000000\)$'
out_match '^io +schid 0x0000 nr 0x0000 parm 0x00000000 word 0x98000000$'
g 0 vcpu tpi r 0
out_is "io-adapter    type 0x04000000 schid 0x0000 nr 0x0000 parm 0x00000000 word 0x98000000 (isc 3)
$ai3"
g 0 --json vcpu tpi r 0
json 'vcpu tpi' 'd["ret"] == 0 and d["record"] is None'
g 0 vcpu tpi r 0
out_is 'no interrupt'
g 0 --json vcpu deliver r 0
json 'vcpu deliver' 'd["delivered"] is False and d["kind"] is None'
rec=$(io_rec 1 0 0x1234 3)
g 0 irq inject r --hex "$rec"
out_is '1 of 1 records injected'
# TSCH with GPR1 = 0 dequeues nothing (§14.13); with the subchannel id, it does.
g 0 vcpu tsch r 0
out_is 'no interrupt'
g 0 --json vcpu tsch r 0 --gpr1 0x00010000
json 'vcpu tsch' 'd["ret"] == 1 and d["record"]["hex"] == "'"$rec"'" and
	d["record"]["name"] == "io" and d["record"]["type"] == "0x10000" and
	d["record"]["subchannel_id"] == 1 and d["record"]["io_int_parm"] == "0x1234" and
	d["record"]["isc"] == 3'
# A disabled wait is userspace's business; an enabled one sleeps.
g 0 vcpu set r 0 --psw-mask 0
g 2 --json vcpu wait r 0
jerr 'vcpu wait' EOPNOTSUPP "vcpu_wait on VM \`r': vcpu 0: Operation not supported (-95)"
g 0 vcpu set r 0 --psw-mask 0x0200000000000000
g 0 vcpu wait r 0
out_is 1
g 0 vcpu get r 0
out_match '^run state +idle$'
g 2 vcpu set r 0 --run asleep
err_has "option \`--run' takes running, idle or stopped, not \`asleep'"
g 2 vcpu set r x
err_has "VCPU takes a number from 0 to 4294967295 (decimal, or hex with 0x), not \`x'"

# ---- GISA and GIB (spec §7) --------------------------------------------------
g 2 --json gisa gisc-register r 3
jerr 'gisa gisc-register' ENODEV "gisc_register on VM \`r': gisc 3: No such device (-19)"
g 2 gisa timer-fire r
err_has "timer_fire on VM \`r': kicker timer: No such device (-19)"
g 0 vm create gv --caps gisa --vcpus 1
g 0 gisa gisc-register gv 3
out_is 5
g 2 gisa gisc-register gv 9
err_has "gisc 9: Numerical result out of range (-34)"
g 0 gisa hw-airq gv 3
out_empty
g 0 --json vm info gv
json 'vm info' 'd["gisa"]["ipm"] == "0x10" and d["gisa"]["iam"] == "0x0"
	and d["gisa"]["on_alert_list"] is True and d["gisa"]["refcount"][3] == 1'
g 0 --json host info
json 'host info' 'd["alert_list_len"] == 1 and d["gal_interrupts"] == 1 and d["nr_vms"] == 2
	and d["alert_origin"] == "gisa"'
g 0 gisa process-alerts
out_is 1
g 0 --json vm info gv
json 'vm info' 'd["gisa"]["on_alert_list"] is False and d["gisa"]["timer_armed"] is True'
# IPM & alert mask non-zero, no idle vcpu: re-armed; then an idle vcpu is woken.
g 0 gisa timer-fire gv
out_is 1
g 0 vcpu set gv 0 --psw-mask 0x0200000000000000 --cr6 0x10000000 --run idle
g 0 --json gisa timer-fire gv
json 'gisa timer-fire' 'd["vm"] == "gv" and d["ret"] == 1'
g 0 --json events read gv
json 'events read' 'd["vm"] == "gv" and d["dropped"] == 0 and len(d["events"]) == 1 and
	d["events"][0]["kind"] == "gisa-wake" and d["events"][0]["vcpu"] == 0 and
	d["events"][0]["job"] is None'
g 0 gisa gisc-unregister gv 3
out_is 0
g 2 gisa gisc-unregister gv 3
err_has "gisc_unregister on VM \`gv': gisc 3: Invalid argument (-22)"
g 0 --json gisa hw-airq gv 2 --in-sie
json 'gisa hw-airq' 'd["ret"] == 0'

# ---- the FLIC device (spec §3, §14.17) ---------------------------------------
g 0 flic destroy gv
g 2 --json irq get gv
jerr 'irq get' EBADF "flic_get on VM \`gv': group 1, attr 0xfefd0, 1044432-byte buffer: Bad file descriptor (-9)"
g 2 flic has gv get-all-irqs
err_has "Bad file descriptor (-9)"
g 0 flic create gv
g 2 --json flic create gv
jerr 'flic create' EINVAL "flic_create on VM \`gv': creating the FLIC: Invalid argument (-22)"
g 0 flic has gv get-all-irqs
out_is 0
g 0 --json flic has gv aism-all
json 'flic has' 'd["vm"] == "gv" and d["group"] == "aism-all" and d["ret"] == 0'
g 2 --json flic has gv 12
jerr 'flic has' ENXIO "flic_has on VM \`gv': group 12, attr 0x0, 0-byte buffer: No such device or address (-6)"
# CLASSIC GET_ALL_IRQS test-and-clears the IPM bits into AI records (§3.1):
# ISC 2 (hw-airq above) and ISC 3 (hw-airq, then the wake-up left it).
g 0 --json vm info gv
ipm=$(jval 'd["gisa"]["ipm"]')
g 0 --json irq get gv
json 'irq get' 'd["vm"] == "gv" and d["byte_order"] == "be" and d["count"] == len(d["records"])
	and all(r["name"] == "io-adapter" for r in d["records"])'
[ "$(jval 'sorted(r["isc"] for r in d["records"])')" = "[2, 3]" ] || fail "ipm $ipm: $(cat "$T/out")"
g 0 --json vm info gv
json 'vm info' 'd["gisa"]["ipm"] == "0x0"'
# What a reply carries: 1 MiB less 4 KiB, or less where wmem_max bounds
# gisad's send buffer (gisactl-sndbuf).
g 0 --json ping
carries=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["max_reply"] - 4096)' "$T/out")
g 2 flic get gv get-all-irqs --len 2000000
err_has "flic_get: a buffer of 2000000 bytes exceeds the $carries a reply carries"
g 2 flic get gv 1 --len 2000000 --json
jerr 'flic get' E2BIG 'exceeds'
g 2 flic has gv bogus
err_has "GROUP is a number or one of get-all-irqs, enqueue,"

# ---- injection, AIS, adapters (spec §3, §6) ----------------------------------
g 0 vm create s --caps ais --vcpus 2 --memslot 0:0:0x10000
g 0 ais get s
out_is $'simm                 0x00\nnimm                 0x00'
g 0 ais set s 3 single
g 0 --json ais get s
json 'ais get' 'd["simm"] == "0x10" and d["nimm"] == "0x0"'
g 0 ais set-all s 0x40 0x20
g 0 --json ais get s
json 'ais get' 'd["simm"] == "0x40" and d["nimm"] == "0x20"'
g 0 ais set s 1 all
g 2 --json ais set s 9 all
jerr 'ais set' EINVAL "group 9, attr 0x4, 4-byte buffer: Invalid argument (-22)"
g 2 ais set r 3 all
err_has "flic_set on VM \`r': group 9, attr 0x4, 4-byte buffer: Operation not supported (-95)"
g 2 ais set s 3 sometimes
err_has "MODE (all, single or a number) takes a number"
g 2 --json ais get r
jerr 'ais get' EOPNOTSUPP "Operation not supported (-95)"
# Adapters: ids below 64, registered once; MASK needs a maskable one.
g 0 adapter register s 2 --isc 4 --suppressible
g 2 adapter register s 2
err_has "flic_set on VM \`s': group 6, attr 0x8, 8-byte buffer: Invalid argument (-22)"
g 2 --json adapter register s 64
jerr 'adapter register' EINVAL 'Invalid argument (-22)'
g 2 adapter modify s 2 mask
err_has "group 7, attr 0x10, 16-byte buffer: Invalid argument (-22)"
g 0 adapter register s 3 --isc 5 --maskable
g 0 adapter modify s 3 mask
g 0 --json adapter modify s 3 map 0x1000
json 'adapter modify' 'd["ret"] == 0'
g 0 adapter modify s 3 unmap 0x1000
g 2 adapter modify s 3 map
err_has 'map needs the guest ADDR'
g 2 adapter modify s 3 unmask 5
err_has 'unmask takes no ADDR'
g 2 adapter modify s 3 flip
err_has "adapter modify takes mask, unmask, map ADDR or unmap ADDR, not \`flip'"
# AIRQ_INJECT ignores the mask (§3.9); no GISA: into the ISC list.
g 0 airq inject s 3
g 2 --json airq inject s 9
jerr 'airq inject' EINVAL "group 10, attr 0x9, 0-byte buffer: Invalid argument (-22)"
# AIS single mode on ISC 4: one interruption, then suppressed (§6.2).
g 0 ais set s 4 single
g 0 airq inject s 2
g 0 airq inject s 2
g 0 --json vm info s
json 'vm info' 'd["list_len"][:8] == [0, 0, 0, 0, 1, 1, 0, 0] and d["simm"] == "0x8"
	and d["nimm"] == "0x28" and d["pending_irqs"] == "0x60"'
# CLEAR_IO_IRQ: the first entry of the subchannel, whatever its list (§3.7).
g 0 irq inject s --hex "$(io_rec 1 2 7 2)$(io_rec 1 2 8 6)"
out_is '2 of 2 records injected'
g 0 irq clear-io s 0x00010002
g 0 --json vm info s
json 'vm info' 'd["list_len"][:8] == [0, 0, 0, 0, 1, 1, 1, 0]'
g 2 --json irq clear-io s 0
jerr 'irq clear-io' EINVAL "group 8, attr 0x4, 4-byte buffer: Invalid argument (-22)"
# The legacy ioctl: a service signal (§4.3).
g 0 irq interrupt s 0xffff2401 0x20003
g 0 --json vm info s
json 'vm info' 'd["srv_ext_params"] == "0x20003" and d["pending_irqs"] == "0x18070"'
g 2 irq interrupt s 0xffffffff
err_has "interrupt on VM \`s': type 0xffffffff, parm 0x0, parm64 0x0: Invalid argument (-22)"
# GET_ALL_IRQS in full: ISC 4, 5, 6 records, then the service signal.
ai4=$(printf '0000000004000000%016x%08x%0104d' 0 $((0xa0000000)) 0)
ai5=$(printf '0000000004000000%016x%08x%0104d' 0 $((0xa8000000)) 0)
srv=$(printf '00000000ffff240100020003%0120d' 0)
g 0 irq get s
out_is "4 records (big-endian)
[0] io-adapter    type 0x04000000 schid 0x0000 nr 0x0000 parm 0x00000000 word 0xa0000000 (isc 4)
    $ai4
[1] io-adapter    type 0x04000000 schid 0x0000 nr 0x0000 parm 0x00000000 word 0xa8000000 (isc 5)
    $ai5
[2] io            type 0x00010002 schid 0x0001 nr 0x0002 parm 0x00000008 word 0x30000000 (isc 6)
    $(io_rec 1 2 8 6)
[3] service       type 0xffff2401 params 0x00020003 params2 0x0
    $srv"
g 0 --json irq get s
json 'irq get' 'd["count"] == 4 and [r["name"] for r in d["records"]] ==
	["io-adapter", "io-adapter", "io", "service"] and
	[r.get("isc") for r in d["records"]] == [4, 5, 6, None] and
	d["records"][3]["ext_params"] == "0x20003" and d["records"][3]["type"] == "0xffff2401" and
	d["hex"] == "'"$ai4$ai5$(io_rec 1 2 8 6)$srv"'" and
	d["hex"] == "".join(r["hex"] for r in d["records"])'
# A buffer too small for them all: -ENOMEM, as KVM (§3.1).
g 2 --json irq get s --len 144
jerr 'irq get' ENOMEM "flic_get on VM \`s': group 1, attr 0x90, 144-byte buffer: Cannot allocate memory (-12)"
g 0 irq clear s
out_empty
g 0 --json vm info s
json 'vm info' 'd["pending_irqs"] == "0x0" and d["list_len"] == [0] * 10 and d["simm"] == "0x8"'
g 0 irq get s
out_is '0 records (big-endian)'
# APF (§3.4).
g 0 apf enable s
g 0 --json vm info s
json 'vm info' 'd["apf_enabled"] is True'
g 0 apf disable-wait s
g 0 --json vm info s
json 'vm info' 'd["apf_enabled"] is False'

# Batches: a file of more records than one request holds (3637).
python3 - "$T/recs.bin" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    for i in range(5000):
        f.write(struct.pack(">QHHII52x", 0x10000 | (i & 0xffff), 1, i & 0xffff, i, 6 << 27))
PY
g 0 irq inject s "$T/recs.bin"
out_is '5000 of 5000 records injected'
g 0 --json irq get s
json 'irq get' 'd["count"] == 5000 and d["records"][4999]["io_int_parm"] == "0x1387"
	and all(r["isc"] == 6 for r in d["records"])'
g 0 irq clear s
# The first failing record ends the injection; gisactl names it in the file.
python3 - "$T/recs.bin" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    for i in range(3700):
        f.write(struct.pack(">QHHII52x", 0x10000 | i, 1, i, i, 6 << 27))
    f.write(struct.pack(">Q64x", 0xffffffff))
PY
g 2 irq inject s "$T/recs.bin"
err_has "gisactl: batch_inject on VM \`s': record 63 of 64 (type 0xffffffff); 63 injected: Invalid argument (-22) [the request held records 3637 to 3700 of \`$T/recs.bin'; 3700 of 3701 injected in all]"
g 0 --json vm info s
json 'vm info' 'd["list_len"][6] == 3700'
g 0 --json irq clear s
json 'irq clear' 'd["vm"] == "s" and d["ret"] == 0'
head -c 73 "$T/recs.bin" >"$T/short.bin"
g 2 --json irq inject s "$T/short.bin"
jerr 'irq inject' EINVAL "\`$T/short.bin' holds 73 bytes, not a whole number of 72-byte records; nothing injected"
g 2 irq inject s
err_has 'give the records as a FILE or with --hex, one of the two'
g 2 irq inject s "$T/short.bin" --hex 00
err_has 'one of the two'
# One record refused alone: gisad's message as it is.
g 2 --json irq inject s --hex "$(printf '00000000ffffffff%0128d' 0)"
jerr 'irq inject' EINVAL "batch_inject on VM \`s': record 0 of 1 (type 0xffffffff); 0 injected: Invalid argument (-22)"
g 2 irq inject nope --hex "$rec"
err_has "batch_inject: no VM named \`nope'"

# Raw FLIC calls: ENQUEUE takes its byte length in attr (the default).
g 0 flic set s enqueue --data "$rec"
out_is 0
g 0 --json flic set s aism-all --data 4000
json 'flic set' 'd["ret"] == 0 and d["group"] == "aism-all"'
g 0 flic get s aism-all --len 2
out_is $'0\n0000000000000000  40 00'
g 0 --json flic get s 11 --len 2 -o "$T/ais.bin"
json 'flic get' 'd["ret"] == 0 and d["output"] == "'"$T/ais.bin"'" and d["bytes"] == 2'
[ "$(od -An -tx1 "$T/ais.bin" | tr -d ' \n')" = 4000 ] || fail "flic get -o wrote $(od -An -tx1 "$T/ais.bin")"
g 2 --json flic get s aism-all --len 2 --attr 1
jerr 'flic get' EINVAL 'group 11, attr 0x1, 2-byte buffer: Invalid argument (-22)'
# An unreadable range, an unmapped buffer: -EFAULT.
g 2 flic set s enqueue --data "$rec" --fault 8:8
err_has "group 2, attr 0x48, 72-byte buffer: Bad address (-14)"
g 2 --json flic get s get-all-irqs --len 72 --unmapped
jerr 'flic get' EFAULT 'Bad address (-14)'
g 2 flic set s enqueue --data "$rec" --fault 8
err_has "option \`--fault' takes OFF:LEN, not \`8'"
printf '%s' "$rec" | xxd -r -p >"$T/rec.bin" 2>/dev/null ||
	python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.argv[2]))' "$T/rec.bin" "$rec"
g 0 flic set s enqueue --data-file "$T/rec.bin"
g 0 --json vm info s
json 'vm info' 'd["list_len"][3] == 2'
g 2 flic set s enqueue --data 00 --data-file "$T/rec.bin"
err_has "options \`--data' and \`--data-file' exclude each other"

# ---- --json of the commands not checked so far ------------------------------
g 0 vm create j --caps gisa,ais --vcpus 1 --memslot 0:0:0x10000
g 0 --json irq inject j --hex "$rec"
json 'irq inject' 'd["vm"] == "j" and d["injected"] == 1 and d["total"] == 1'
g 0 --json gisa gisc-register j 1
json 'gisa gisc-register' 'd["vm"] == "j" and d["ret"] == 5'
for cmd in "flic destroy j" "flic create j" "irq clear-io j 0x00010000" \
	"irq interrupt j 0xffff2401 0x10" "adapter register j 7 --isc 1" "ais set j 1 single" \
	"ais set-all j 0 0" "airq inject j 7" "apf enable j" "apf disable-wait j" \
	"memslot set j 3 0x40000 0x2000" "vcpu set j 0 --cr0 0x200" "gisa gisc-unregister j 1"; do
	# shellcheck disable=SC2086
	set -- $cmd
	g 0 --json "$@"
	json "$1 $2" 'd["vm"] == "j" and d["ret"] == 0 and list(d) == ["schema", "command", "vm", "ret"]'
done
g 0 --json gisa process-alerts
json 'gisa process-alerts' 'd["ret"] == 0 and "vm" not in d'
g 0 --json vm info j
json 'vm info' 'd["pending_irqs"] == "0x8000" and d["list_len"] == [0] * 10
	and d["gisa"]["ipm"] == "0x40" and d["gisa"]["refcount"] == [0] * 8 and d["simm"] == "0x0"
	and d["adapter_mask"] == "0x80" and d["nr_memslots"] == 2 and d["srv_ext_params"] == "0x10"'
g 0 --json vcpu get j 0
json 'vcpu get' 'd["vcpu"] == 0 and d["cr0"] == "0x200" and d["run"] == "running"'

# ---- events (kicks: spec §4.7) -----------------------------------------------
# follow_bg NOTICE ARGS...: `gisactl ARGS' in the background (its pid in
# fpid, its stdout in $T/follow.out), back once its stderr says NOTICE:
# the subscription is in place.  The files go first, so that a notice
# left by the previous follow cannot pass for this one's.
follow_bg() {
	local notice=$1 _
	shift
	rm -f "$T/follow.out" "$T/follow.err"
	"$GISACTL" --socket "$SOCK" "$@" >"$T/follow.out" 2>"$T/follow.err" &
	fpid=$!
	for _ in $(seq 1 200); do
		grep -qF "$notice" "$T/follow.err" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "gisactl $* did not subscribe: $(cat "$T/follow.err")"
}
g 0 vm create e --vcpus 2
follow_bg "following the events of VM \`e'" events follow e --count 3
g 0 irq inject s --hex "$rec"                # another VM: filtered out
g 0 irq inject e --hex "$rec$rec$rec"
wait "$fpid" || fail "events follow exited $?: $(cat "$T/follow.out" "$T/follow.err")"
# Round robin over the two running vcpus from the cursor, I/O flag.
[ "$(cat "$T/follow.out")" = "kick      vm e                seq 1      vcpu 0   flag io
kick      vm e                seq 2      vcpu 1   flag io
kick      vm e                seq 3      vcpu 0   flag io" ] || fail "follow printed: $(cat "$T/follow.out")"
# The same kicks stay readable once with events read.
g 0 events read e
out_is "kick      vm e                seq 1      vcpu 0   flag io
kick      vm e                seq 2      vcpu 1   flag io
kick      vm e                seq 3      vcpu 0   flag io
3 events, 0 dropped so far"
g 0 --json events read e
json 'events read' 'd["events"] == [] and d["dropped"] == 0'
g 2 events read e --max 0
err_has "option \`--max' takes a number from 1 to 1024, not \`0'"
g 2 --json events read nope
jerr 'events read' ENOENT "events_read: no VM named \`nope'"
# --json: one document per event and line; jobs only.
follow_bg "following the events of every VM" --json events follow --only jobs --count 2
g 0 irq inject e --hex "$rec"
g 0 checkpoint create e
wait "$fpid" || fail "events follow --json exited $?"
python3 - "$T/follow.out" <<'PY' || fail "follow --json: $(cat "$T/follow.out")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 2, lines
docs = [json.loads(l) for l in lines]
for d in docs:
    assert d["schema"] == "gisactl.v1" and d["command"] == "events follow"
    assert d["event"]["kind"] == "job" and d["event"]["vm"] == "e"
    assert d["event"]["job"]["operation"] == "checkpoint"
assert [d["event"]["job"]["type"] for d in docs] == ["bounded", "completed"]
PY
# Interrupted: exit 0, also when the signal comes right after the notice
# (before the wait for the next event: gisactl holds it until then).
follow_bg "following the events of every VM" events follow
kill -INT "$fpid"
rc=0
wait "$fpid" || rc=$?
[ "$rc" -eq 0 ] || fail "events follow interrupted exited $rc"
g 2 events follow --only all
err_has "option \`--only' takes kicks or jobs, not \`all'"

stop_gisad
echo "ok: gisactl engine"
