# SPDX-License-Identifier: MIT
# The bash completion sources cleanly and completes from gisactl's table.
. "$LIB"
: "${COMPLETION:?}"

checks=$((checks + 1))
bash --norc --noprofile -c 'set -u; source "$1" && complete -p gisactl' _ "$COMPLETION" \
	>"$T/complete" 2>&1 || fail "sourcing the completion failed: $(cat "$T/complete")"
has "$T/complete" 'complete -F _gisactl gisactl'

# complete WORDS...: what _gisactl offers for the last word (may be "").
complete_words()
{
	bash --norc --noprofile -c '
		source "$1"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_gisactl
		printf "%s\n" "${COMPREPLY[@]}"
	' _ "$COMPLETION" "$GISACTL" "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}

# expect WANT WORDS...
expect()
{
	local want=$1 got
	shift
	checks=$((checks + 1))
	got=$(complete_words "$@")
	[ "$got" = "$want" ] || fail "completing [$*]: got \`$got', expected \`$want'"
}

expect 'adapter airq ais apf checkpoint diff events flic gisa help host irq job mem memslot migrate ping route scenario snapshot vcpu version vm' ''
expect 'scenario snapshot' s
expect 'check convert decode digest encode export import info verify' snapshot ''
expect 'check convert' snapshot c
expect 'run' scenario ''
expect '--from' snapshot convert --fr
expect 'json kvm qemu snapshot' snapshot convert --from ''
expect 'snapshot' snapshot convert --from kvm --to sn
expect 'be le' snapshot convert --order ''
expect 'newest newest,ais newest,gisa newest,gisa,ais' snapshot check x --target-caps new
expect '--check --help --json --max-records --no-state --socket --version' scenario run --
expect '--help --json --socket --version' diff --
expect 'check convert decode digest encode export import info verify' --json snapshot ''
expect 'check convert decode digest encode export import info verify' --socket /tmp/s snapshot ''
expect 'adapter airq ais apf checkpoint diff events flic gisa help host irq job mem memslot migrate ping route scenario snapshot vcpu version vm' help ''
expect 'run' help scenario ''
expect '' help snapshot info ''
expect '' snapshot encode x --level ''
# migrate and job resolve
expect '--allow-lossy --compression --detach --downtime --help --json --max-rounds --name --socket --stall-timeout --version' migrate a tls://h:1 --
expect 'none zstd' migrate a tls://h:1 --compression ''
expect '' migrate a tls://h:1 --downtime ''
expect 'abort clear list resolve status' job ''
# file names where the table says so
mkdir "$T/files"
: >"$T/files/alpha.gsnap"
: >"$T/files/beta.json"
expect "$T/files/alpha.gsnap" snapshot info "$T/files/al"
expect "$T/files/beta.json" snapshot convert -o "$T/files/b"
expect "$T/files/beta.json" snapshot convert --output "$T/files/be"
expect "$T/files/alpha.gsnap" --socket "$T/files/a"
# the table: every command's options appear there
run 0 __complete
has "$T/out" $'opt\tsnapshot\tconvert\t--qemu-ais\t@file'
has "$T/out" $'opt\tscenario\trun\t-c\t-'
has "$T/out" $'global\t--socket\t@file'
has "$T/out" $'cmd\thelp\t-\t@help'
has "$T/out" $'cmd\tmigrate\t-\t@none'
has "$T/out" $'opt\tmigrate\t-\t--detach\t-'
has "$T/out" $'cmd\tjob\tresolve\t@none'

finish
