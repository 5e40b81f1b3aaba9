# SPDX-License-Identifier: MIT
# migrate, job resolve, the migration statistics of job status and list, the
# migration state of vm list and info, the "migrating" refusal, and diff of a
# remote VM: usage errors without any daemon, the rest against fake-gisad (a
# scripted control socket, fake-gisad.c), restarted for each way a job ends.
. "$LIB"
: "${FAKE_GISAD:?}"

fake_pid=
stop_fake()
{
	[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
	fake_pid=
	return 0
}
trap 'stop_fake; rm -rf "$T"' EXIT

# start_fake MODE: a fresh fake-gisad on $T/sock (complete, fail or doubt).
start_fake()
{
	stop_fake
	rm -f "$T/sock"
	# Emptied here, not by the redirection below: that one happens in the
	# background child, and until it does the loop would find the previous
	# fake-gisad's "ready" and go on before this one listens.
	: >"$T/fake.out"
	: >"$T/fake.err"
	"$FAKE_GISAD" "$T/sock" "$1" "$DATA/v1-typical.gsnap" >"$T/fake.out" 2>"$T/fake.err" &
	fake_pid=$!
	for _ in $(seq 100); do
		grep -q ready "$T/fake.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "fake-gisad did not start"
}

S=(--socket "$T/sock")
nosock=(--socket "$T/no-such-socket")

# ---- usage errors: checked before connecting (no daemon here) ---------------
bad_dest()
{
	run 2 "${nosock[@]}" migrate a "$1"
	has "$T/err" "the destination must be tls://HOST:PORT, not \`$1': $2"
	hasnt "$T/err" 'cannot connect'
}
bad_dest http://h:7600 'it does not start with tls://'
bad_dest tls://h 'no :PORT follows the host'
bad_dest tls://:7600 'HOST is empty'
bad_dest tls://h:0 "PORT \`0' is not a number from 1 to 65535"
bad_dest tls://h:65536 "PORT \`65536' is not a number from 1 to 65535"
bad_dest tls://h: 'PORT is empty'
bad_dest tls://h:7x 'PORT `7x'"'"
bad_dest tls://fe80::1:7600 'an IPv6 address goes in brackets'
bad_dest 'tls://[fe80::1:7600' "an IPv6 address goes between \`[' and \`]'"
bad_dest 'tls://[fe80::g]:7600' "\`fe80::g' is not an IPv6 address"
bad_dest tls://h:7600/a "\`/a' follows the port"
bad_dest 'tls://h x:7600' "HOST \`h x' is not a host name or an IP address"
run 2 "${nosock[@]}" migrate .a tls://h:7600
has "$T/err" "NAME \`.a' is not a VM name"
run 2 "${nosock[@]}" migrate a tls://h:7600 --name 'x/y'
has "$T/err" "option \`--name': \`x/y' is not a VM name"
run 2 "${nosock[@]}" migrate a tls://h:7600 --downtime 0
has "$T/err" "option \`--downtime' takes a number from 1 to 600000, not \`0'"
run 2 "${nosock[@]}" migrate a tls://h:7600 --max-rounds 1001
has "$T/err" "option \`--max-rounds' takes a number from 1 to 1000"
run 2 "${nosock[@]}" migrate a tls://h:7600 --stall-timeout 99
has "$T/err" "option \`--stall-timeout' takes a number from 100 to 3600000"
run 2 "${nosock[@]}" migrate a tls://h:7600 --compression lz4
has "$T/err" "option \`--compression' takes none, zstd or zstd:LEVEL, not \`lz4'"
run 2 "${nosock[@]}" migrate a tls://h:7600 --compression zstd:0
has "$T/err" "LEVEL from 1 to 19, not \`zstd:0'"
run 2 "${nosock[@]}" --json migrate a tls://h:7600 --detach=1
jtrue "$T/out" 'd["error"]["code"] == "usage"'
# well-formed: only the missing daemon stops it
run 2 "${nosock[@]}" migrate a 'tls://[::1]:7600' --compression zstd:19 --downtime 50 \
	--max-rounds 3 --stall-timeout 100 --allow-lossy --name b.2 --detach
has "$T/err" 'cannot connect to gisad'
run 2 "${nosock[@]}" job resolve 0 committed
has "$T/err" "ID names a job: 1 or more, not \`0'"
# Numbers are decimal (a leading 0 too: 09 is nine, not a bad octal) or
# hex after 0x or 0X; nothing else, not even a sign.
for id in 09 010 0x1F 0X1f 00000000000000000000018446744073709551615; do
	run 2 "${nosock[@]}" job resolve "$id" committed
	has "$T/err" 'cannot connect to gisad'
done
for id in 0x +5 ' 5' 08a 0x-1 0b1 18446744073709551616 0x10000000000000000; do
	run 2 "${nosock[@]}" --json job resolve "$id" committed
	has "$T/err" "ID takes a number from 0 to 18446744073709551615 (decimal, or hex with 0x), not \`$id'"
	jtrue "$T/out" 'd["error"]["code"] == "usage"'
done
run 2 "${nosock[@]}" job resolve 7 maybe
has "$T/err" "or resumed (it is not), not \`maybe'"
run 2 "${nosock[@]}" diff tls://h:7600 "$DATA/v1-typical.gsnap"
has "$T/err" "a remote VM must be tls://HOST:PORT/NAME, not \`tls://h:7600': no /NAME follows"
run 2 "${nosock[@]}" diff "$DATA/v1-typical.gsnap" tls://h:7600/.x
has "$T/err" "NAME \`.x' is not a VM name"
hasnt "$T/err" 'cannot connect'

# ---- a migration that completes -----------------------------------------------
start_fake complete
run 0 "${S[@]}" migrate a tls://b.example:7600 --compression zstd:3 --downtime 100 \
	--max-rounds 8 --stall-timeout 500 --allow-lossy --name a2
has "$T/fake.err" 'migrate a tls://b.example:7600 downtime 100 lossy 1 name a2 compression 2 level 3 rounds 8 stall 500'
has "$T/err" "migrating VM \`a' to tls://b.example:7600 as job 7"
hasnt "$T/err" $'\r'   # no progress line when standard error is not a terminal
for line in 'type                 completed' 'operation            migrate-out' \
	'phase                committed' 'peer                 tls://b.example:7600' \
	'peer identity        b.example (allow-list: b.example)' 'remote vm            a2' \
	'compression          zstd:3' 'verdict              exact' 'rounds               2' \
	'  round 1            4096 bytes' '  round 2            512 bytes' \
	'precopy              4608 bytes' 'switchover           128 bytes (2.8% of precopy)' \
	'setup time           12.345 ms' 'transfer time        40.000 ms' \
	'downtime             1.234 ms       (freeze -> destination active)' \
	'downtime informed    1.500 ms       (freeze -> source informed)' \
	'  freeze             0.010 ms' '  encode             0.120 ms' '  send               0.300 ms' \
	'  recv               0.100 ms' '  import             0.200 ms' '  verify             0.050 ms' \
	'  commit             0.020 ms' '  answer             0.030 ms' '  rtt                0.250 ms' \
	"source digest        $(printf 'ab%.0s' $(seq 32))" 'digests              match'; do
	has "$T/out" "$line"
done
run 0 "${S[@]}" --json job status 7
jtrue "$T/out" '(d["command"] == "job status" and d["operation"] == "migrate-out" and
	d["type"] == "completed" and d["migration"]["phase"] == "committed")'
jtrue "$T/out" '(sorted(d["migration"]) == sorted("""phase peer peer_identity migration_id
	remote_vm rounds round_bytes precopy_bytes switchover_bytes downtime_budget_ms compression
	verdict setup_ns transfer_ns downtime_active_ns downtime_informed_ns freeze_ns encode_ns
	send_ns recv_ns import_ns verify_ns commit_ns answer_ns rtt_ns source_digest dest_digest
	digests_match query_attempts""".split()))'
jtrue "$T/out" '(d["migration"]["round_bytes"] == [4096, 512] and d["migration"]["rtt_ns"] == 250000
	and d["migration"]["source_digest"] == "ab" * 32 and d["migration"]["digests_match"] is True
	and d["migration"]["migration_id"] == "5c" * 16 and d["migration"]["query_attempts"] is None)'
run 0 "${S[@]}" job list
has "$T/out" '7      migrate-out completed  a'
has "$T/out" 'migration: committed, peer tls://b.example:7600, 2 rounds, downtime 1.234 ms'
run 0 "${S[@]}" --json job list
jtrue "$T/out" 'd["jobs"][0]["migration"]["precopy_bytes"] == 4608'
run 2 "${S[@]}" migrate a tls://b.example:7600
has "$T/err" "migrate: VM \`a' is migrating"

# the VMs' migration state
run 0 "${S[@]}" vm list
has "$T/out" '-  migrated to tls://b.example:7600'
grep -Eq '^b +.* 0  none$' "$T/out" || fail "vm list: b is not \`none'"
run 0 "${S[@]}" --json vm list
jtrue "$T/out" '(d["vms"][0]["migration"] == "migrated" and
	d["vms"][0]["migrated_to"] == "tls://b.example:7600" and
	d["vms"][0]["profile"] is None and d["vms"][0]["vcpus"] is None and
	d["vms"][1]["migration"] == "none" and "migrated_to" not in d["vms"][1])'
run 0 "${S[@]}" vm info a
has "$T/out" 'migration            migrated to tls://b.example:7600'
run 0 "${S[@]}" --json vm info a
jtrue "$T/out" 'd["migration"] == "migrated" and d["migrated_to"] == "tls://b.example:7600"'
run 0 "${S[@]}" --json vm info b
jtrue "$T/out" 'd["migration"] == "none" and "migrated_to" not in d'

# gisad's "migrating" refusal names the state
run 2 "${S[@]}" irq clear a
has "$T/err" "gisactl: VM is migrating (state frozen): irq_clear: VM \`a' is migrating"
run 2 "${S[@]}" --json irq clear a
jtrue "$T/out" '(d["error"] == {"code": "EAGAIN", "migration": "frozen",
	"message": "VM is migrating (state frozen): irq_clear: VM `a'"'"' is migrating"})'

# A signed number (route trigger --level) takes a minus sign and the same
# digits: the request reaches gisad, which refuses it as the VM migrates.
for level in 09 -09 -010 0x7fffffff -0x80000000 -2147483648; do
	run 2 "${S[@]}" route trigger a 5 --level "$level"
	has "$T/err" "VM is migrating"
done
for level in +1 - -- 0x80000000 -0x80000001 2147483648 '-+1' '- 1'; do
	run 2 "${S[@]}" route trigger a 5 --level="$level"
	has "$T/err" "option \`--level' takes a number from -2147483648 to 2147483647, not \`$level'"
done

# diff of a remote VM: fetched through the local gisad into a spool file
run 0 "${S[@]}" diff tls://b.example:7600/a2 "$DATA/v1-typical.gsnap"
has "$T/fake.err" 'remote_fetch tls://b.example:7600/a2'
empty "$T/out"
run 1 "${S[@]}" diff "$DATA/v1-empty.gsnap" 'tls://[::1]:7600/a2'
has "$T/out" '+++ tls://[::1]:7600/a2'
run 1 "${S[@]}" --json diff tls://b.example:7600/a2 "$DATA/v1-empty.gsnap"
jtrue "$T/out" 'd["a"] == "tls://b.example:7600/a2" and d["equal"] is False'

# ---- --json, and --detach -----------------------------------------------------
start_fake complete
run 0 "${S[@]}" --json migrate a tls://b.example:7600
jtrue "$T/out" '(d["command"] == "migrate" and d["id"] == 7 and d["type"] == "completed" and
	d["migration"]["switchover_bytes"] == 128 and d["migration"]["verdict"] == "exact")'
hasnt "$T/err" 'migrating VM'
start_fake complete
run 0 "${S[@]}" migrate a tls://b.example:7600 --detach
has "$T/out" 'type                 bounded'
has "$T/out" 'phase                connecting'
run 0 "${S[@]}" --json job status 7
jtrue "$T/out" 'd["type"] == "bounded" and d["migration"]["phase"] == "precopy"'

# ---- a migration that fails ---------------------------------------------------
start_fake fail
run 1 "${S[@]}" migrate a tls://b.example:7600
has "$T/err" "gisactl: the migration of VM \`a' failed: the destination stalled for 500 ms"
has "$T/out" 'error                ETIMEDOUT (-110): the destination stalled for 500 ms'
has "$T/out" 'phase                resumed'
has "$T/out" 'downtime             -'
has "$T/out" 'digests              -'
start_fake fail
run 1 "${S[@]}" --json migrate a tls://b.example:7600
jtrue "$T/out" '(d["type"] == "failed" and d["error"] == "ETIMEDOUT" and
	d["migration"]["downtime_active_ns"] is None and d["migration"]["precopy_bytes"] is None)'
has "$T/err" 'the destination stalled'

# ---- in doubt: said once; an interrupt leaves the job to gisad; resolve ---------
start_fake doubt
checks=$((checks + 1))
"$GISACTL" "${S[@]}" migrate a tls://b.example:7600 >"$T/out" 2>"$T/err" &
pid=$!
for _ in $(seq 100); do
	grep -q 'in doubt' "$T/err" && break
	sleep 0.05
done
sleep 0.3
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
eq "$rc" 2 'migrate interrupted: exit status'
has "$T/err" 'gisactl: in doubt: waiting for the destination'"'"'s outcome (gisactl job resolve 7 committed|resumed to decide by hand)'
eq "$(grep -c 'in doubt' "$T/err")" 1 'the in-doubt notice: times printed'
has "$T/err" 'interrupted: the migration goes on in gisad as job 7'
has "$T/err" "\`gisactl job resolve 7 committed|resumed' decides it"
run 0 "${S[@]}" job status 7
has "$T/out" 'phase                in-doubt'
has "$T/out" 'outcome queries'
run 0 "${S[@]}" job resolve 7 committed
has "$T/out" 'type                 completed'
has "$T/out" 'phase                committed'
start_fake doubt
run 0 "${S[@]}" migrate a tls://b.example:7600 --detach
run 0 "${S[@]}" --json job resolve 7 resumed
jtrue "$T/out" '(d["command"] == "job resolve" and d["type"] == "cancelled" and
	d["migration"]["phase"] == "resumed")'

finish
