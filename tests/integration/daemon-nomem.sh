#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A request that runs out of memory changes nothing: with alloc-shim
# (ALLOC_SHIM, LD_PRELOAD) the N-th allocation of one request fails, for
# every N the request reaches.  vm_create answers an error and no VM
# exists, or succeeds whole; events_read answers an error and every event
# is still there for the next read, or returns them all.
. "$(dirname "$0")/lib.sh"

: "${ALLOC_SHIM:?ALLOC_SHIM must name the alloc-shim library}"

FAILAT=$T/failat
FIRED=$T/fired
echo 0 >"$FAILAT"
: >"$FIRED"

write_conf
start_gisad ALLOC_SHIM_MARK=nomem ALLOC_SHIM_FILE="$FAILAT" ALLOC_SHIM_LOG="$FIRED" \
	LD_PRELOAD="$ALLOC_SHIM" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"

fired() {
	wc -l <"$FIRED"
}

# armed N ARGS...: ctl-client ARGS with the N-th allocation of its request
# failing; output in $out, and $hit = 1 if the shim failed one.
armed() {
	local n=$1 before
	shift
	before=$(fired)
	echo "$n" >"$FAILAT"
	run_ctl out "$@"
	echo 0 >"$FAILAT"
	hit=0
	[ "$(fired)" -gt "$before" ] && hit=1
	kill -0 "$PID" 2>/dev/null || fail "gisad died with allocation $n of \`$*' failing"
	return 0
}

# A build whose sanitizer runtime is linked into gisad (clang's static
# one) keeps its own malloc: nothing can fail there, and nothing is tested.
armed 1 vm-info nomem-probe
if [ "$hit" = 0 ]; then
	echo "skip: alloc-shim cannot replace this gisad's malloc (a static sanitizer runtime?)"
	stop_gisad
	exit 0
fi

# ---- vm_create ---------------------------------------------------------------
# A failure answers -ENOMEM, decoding the request included, except in the
# digest: OpenSSL reports an allocation failing in its digest's set-up as
# an initialization error (-EIO).  It sets itself up at the first digest,
# and a failure there would stay: gisad makes one at start-up, so that the
# first VM's digest may fail here too.
n=1
errors=0
while :; do
	armed "$n" vm-create nomem-vm caps=3 vcpus=2
	[ "$hit" = 1 ] || break
	if [ "$(field "$out" error)" = 0 ]; then
		# The failure was absorbed: the VM is there whole.
		run_ctl info vm-info nomem-vm
		expect_field "$info" vm_info.vcpus 2
		ctl vm-destroy nomem-vm >/dev/null
	else
		errors=$((errors + 1))
		case $(field "$out" error):$(field "$out" message) in
		-12:* | -5:*"computing the digest"*) ;;
		*) fail "vm_create failed at allocation $n with $(field "$out" error) ($(field "$out" message)), not -ENOMEM" ;;
		esac
		run_ctl info vm-info nomem-vm
		[ "$(field "$info" error)" = -2 ] ||
			fail "vm_create failed at allocation $n ($(field "$out" message)), but the VM exists:
$info"
	fi
	n=$((n + 1))
	[ "$n" -le 2000 ] || fail "vm_create still allocating after 2000 allocations"
done
# Past the last allocation: created.
expect_field "$out" error 0
expect_field "$out" vm_info.name nomem-vm
[ "$errors" -gt 10 ] || fail "only $errors of $((n - 1)) failed allocations failed vm_create"
out=$(ctl vm-list)
expect_field "$out" vm_list.vms.n 1
ctl vm-destroy nomem-vm >/dev/null
echo "ok: vm_create, each of its $((n - 1)) allocations failing ($errors errors)"

# ---- events_read -------------------------------------------------------------
# A fresh VM with 2 vcpus takes 3 kicks from these injections (daemon-events).
n=1
while :; do
	vm=nomem-ev$n
	ctl vm-create "$vm" caps=0 vcpus=2 >/dev/null
	ctl batch-io "$vm" 3 2 >/dev/null
	armed "$n" events "$vm"
	[ "$hit" = 1 ] || break
	if [ "$(field "$out" error)" = 0 ]; then
		expect_field "$out" events.events.n 3
	else
		[ "$(field "$out" error)" = -12 ] ||
			fail "events_read failed at allocation $n with $(field "$out" error) ($(field "$out" message)), not -ENOMEM"
		again=$(ctl events "$vm")
		[ "$(field "$again" events.events.n)" = 3 ] ||
			fail "events_read failed at allocation $n ($(field "$out" message)) and lost events:
$again"
	fi
	ctl vm-destroy "$vm" >/dev/null
	n=$((n + 1))
	[ "$n" -le 200 ] || fail "events_read still allocating after 200 allocations"
done
expect_field "$out" error 0
expect_field "$out" events.events.n 3
echo "ok: events_read, each of its $((n - 1)) allocations failing"

stop_gisad
echo "ok: nomem"
