#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gisactl's daemon and VM commands against a real gisad: ping, host info,
# vm create, list, info, digest and destroy, in human and --json form,
# with their error paths: usage errors caught before gisad is asked,
# gisad's refusals relayed word for word with exit status 2 and the
# errno's name as the --json code, and an unreachable daemon.
. "$(dirname "$0")/lib-gisactl.sh"

write_conf
start_gisad

# ---- ping, host info --------------------------------------------------------
g 0 ping
out_match '^daemon +gisad [0-9]'
out_match '^max datagram +1048576 bytes$'
out_match '^profiles +classic,newest$'
out_match '^capabilities +0x3 \(gisa,ais\)$'
g 0 --json ping
json ping 'd["daemon"].startswith("gisad ") and d["max_datagram"] == 1048576 and
	d["profiles"] == ["classic", "newest"] and d["caps"] == ["gisa", "ais"] and
	isinstance(d["uptime_ns"], int)'
g 0 host info
out_match '^nisc +5$'
out_match '^alert list length +0$'
out_match '^vms +0$'
g 0 host info --json
json 'host info' 'd["nisc"] == 5 and d["alert_list_len"] == 0 and d["gal_interrupts"] == 0
	and d["nr_vms"] == 0 and d["alert_origin"] in ("null", "none")'

# ---- vm create, info, list, digest -------------------------------------------
g 0 vm list
out_empty
uuid=01234567-89ab-cdef-0123-456789abcdef
g 0 vm create a --profile newest --caps gisa,ais --vcpus 4 --uuid "$uuid" \
	--mem-cap 2097152 --memslot 0:0:0x100000 --memslot 1:0x200000:0x1000 --order le
out_match '^vm +a$'
out_match "^uuid +$uuid$"
out_match '^profile +newest$'
out_match '^capabilities +0x3 \(gisa,ais\)$'
out_match '^vcpus +4$'
out_match '^byte order +le$'
out_match '^memory +0 of 2097152 bytes backed$'
out_match '^flic +present$'
out_match '^memslots +2$'
out_match '^  slot 1 +gpa 0x200000 +size 0x1000$'
out_match '^digest +[0-9a-f]{64}$'
g 0 --json vm info a
json 'vm info' 'd["vm"] == "a" and d["uuid"] == "'"$uuid"'" and d["profile"] == "newest"
	and d["caps"] == ["gisa", "ais"] and d["vcpus"] == 4 and d["mem_cap"] == 2097152
	and d["mem_used"] == 0 and d["abi_order"] == "le" and d["flic_present"] is True
	and d["apf_enabled"] is False and d["pending_irqs"] == "0x0" and d["list_len"] == [0] * 10
	and d["srv_ext_params"] == "0x0" and d["simm"] == "0x0" and d["nimm"] == "0x0"
	and d["gisa"]["present"] is True and d["gisa"]["ipm"] == "0x0"
	and d["gisa"]["refcount"] == [0] * 8 and d["gisa"]["on_alert_list"] is False
	and d["adapter_mask"] == "0x0" and d["nr_routes"] == 0 and d["nr_memslots"] == 2
	and d["memslots"] == [{"slot": 0, "gpa": "0x0", "size": "0x100000"},
			      {"slot": 1, "gpa": "0x200000", "size": "0x1000"}]
	and d["events_dropped"] == 0 and d["last_job"] is None and d["migration"] == "none"
	and len(d["digest"]) == 64'
info_digest=$(jval 'd["digest"]')
g 0 vm digest a
out_match '^[0-9a-f]{64}$'
[ "$(cat "$T/out")" = "$info_digest" ] || fail "vm digest differs from vm info's digest"
g 0 --json vm digest a
json 'vm digest' 'd["vm"] == "a" and d["digest"] == "'"$info_digest"'"'

# Defaults: classic, no capabilities, no vcpus, the engine's memory cap.
g 0 vm create b --no-flic
out_match '^profile +classic$'
out_match '^capabilities +0x0 \(none\)$'
out_match '^vcpus +0$'
out_match '^byte order +be$'
out_match '^flic +absent$'
out_match '^gisa +absent$'
out_match '^memslots +0$'
g 0 --json vm create c --caps ais --vcpus 1
json 'vm create' 'd["vm"] == "c" and d["caps"] == ["ais"] and d["vcpus"] == 1
	and d["gisa"]["present"] is False and d["flic_present"] is True'
[ "$(digest_hex b)" != "$info_digest" ] || fail "a and b have the same digest"

g 0 vm list
out_match '^NAME +UUID +PROFILE +CAPS +VCPUS +MIGRATION$'
out_match "^a +$uuid newest +gisa,ais +4  none$"
out_match '^b +[0-9a-f-]{36} classic +none +0  none$'
[ "$(sed -n '2p;3p;4p' "$T/out" | cut -d' ' -f1 | tr '\n' ' ')" = "a b c " ] ||
	fail "vm list not in name order"
g 0 --json vm list
json 'vm list' '[v["name"] for v in d["vms"]] == ["a", "b", "c"] and
	d["vms"][0] == {"name": "a", "uuid": "'"$uuid"'", "profile": "newest",
			"caps": ["gisa", "ais"], "vcpus": 4, "migration": "none"}'

# ---- gisad's refusals, relayed -----------------------------------------------
g 2 vm create a
err_has "gisactl: vm_create: VM \`a' already exists"
g 2 --json vm create a
jerr 'vm create' EEXIST "vm_create: VM \`a' already exists"
g 2 vm create .hidden
err_has "vm_create: VM name \`.hidden' is invalid: expected 1 to 64 of [A-Za-z0-9_.-]"
g 2 --json vm create "$(printf 'x%.0s' $(seq 1 65))"
jerr 'vm create' EINVAL "is invalid"
# An overlapping memslot: nothing is created.
g 2 vm create x --memslot 0:0:0x2000 --memslot 1:0x1000:0x1000
err_has "vm_create: memslot 1 (slot 1, gpa 0x1000, size 0x1000): File exists (-17)"
g 2 vm info x
err_has "vm_info: no VM named \`x'"
g 2 --json vm info x
jerr 'vm info' ENOENT "vm_info: no VM named \`x'"
g 2 vm digest nope
err_has "vm_digest: no VM named \`nope'"
g 2 --json vm destroy nope
jerr 'vm destroy' ENOENT "vm_destroy: no VM named \`nope'"
g 2 vm info 'bad/name'
err_has "vm_info: VM name \`bad/name' is invalid"

# Host capabilities (gisad.conf): creation refused where the host lacks them.
write_conf ais=no profiles=classic
kill -HUP "$PID"
for _ in $(seq 1 100); do
	g 0 --json ping
	[ "$(jval 'd["caps"]')" = '["gisa"]' ] && break
	sleep 0.05
done
g 2 vm create y --caps ais
err_has "VM \`y' requires profile classic and capabilities AIS; this host offers profiles classic and capabilities GISA"
g 2 --json vm create y --profile newest
jerr 'vm create' EOPNOTSUPP "VM \`y' requires profile newest and capabilities none"
write_conf
kill -HUP "$PID"
for _ in $(seq 1 100); do
	g 0 --json ping
	[ "$(jval 'd["caps"]')" = '["gisa", "ais"]' ] && break
	sleep 0.05
done
g 0 vm create y --caps ais --profile newest

# ---- usage errors: caught before gisad is asked ------------------------------
usage() {
	g 2 "$@"
	err_has "$msg"
	g 2 --json "$@"
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["error"]["code"] != "usage")' \
		"$T/out" || fail "gisactl $*: not a usage error"
}
msg="option \`--profile' takes classic or newest, not \`modern'"
usage vm create z --profile modern
msg="option \`--caps' takes gisa and/or ais, comma-separated, or none: \`foo' in \`gisa,foo' is none of them"
usage vm create z --caps gisa,foo
msg="option \`--caps' names \`ais' twice in \`ais,ais'"
usage vm create z --caps ais,ais
msg="option \`--vcpus' takes a number from 0 to 255, not \`256'"
usage vm create z --vcpus 256
msg="option \`--memslot' takes SLOT:GPA:SIZE, not \`1:2'"
usage vm create z --memslot 1:2
msg="a memslot's GPA takes a number from 0 to 18446744073709551615 (decimal, or hex with 0x), not \`0xg'"
usage vm create z --memslot 1:0xg:3
msg="option \`--uuid' takes a UUID"
usage vm create z --uuid 0123
msg="option \`--order' takes be or le, not \`middle'"
usage vm create z --order middle
msg="option \`--mem-cap' takes a number"
usage vm create z --mem-cap -1
msg="missing operand: 0 given, 1 needed"
usage vm info
msg="unexpected operand \`b'"
usage vm digest a b
msg="vm: unknown verb \`bogus'"
usage vm bogus
msg="option \`--level' does not apply to this command"
usage vm list --level 3
g 0 vm list
[ "$(grep -c . "$T/out")" -eq 5 ] || fail "a usage error created a VM: $(cat "$T/out")"

# ---- destroy -----------------------------------------------------------------
g 0 vm destroy b
out_empty
g 0 --json vm destroy c
json 'vm destroy' 'd["vm"] == "c"'
g 0 --json vm list
json 'vm list' '[v["name"] for v in d["vms"]] == ["a", "y"]'
g 2 vm info b
err_has "no VM named \`b'"

# ---- no daemon ---------------------------------------------------------------
"$GISACTL" --socket "$T/nowhere" ping >"$T/out" 2>"$T/err" && fail "ping without gisad"
err_has "gisactl: cannot connect to gisad at \`$T/nowhere': No such file or directory"
"$GISACTL" --json --socket "$T/nowhere" vm list >"$T/out" 2>"$T/err" || rc=$?
[ "${rc:-0}" -eq 2 ] || fail "vm list without gisad exited ${rc:-0}, expected 2"
jerr 'vm list' ENOENT "cannot connect to gisad"
stop_gisad
g 2 vm list
err_has "cannot connect to gisad at \`$SOCK'"

echo "ok: gisactl vm"
