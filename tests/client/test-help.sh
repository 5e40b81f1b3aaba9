# SPDX-License-Identifier: MIT
# Help, usage errors and the --json error document, all generated from the
# command table: every command `__complete' reports must appear in them.
. "$LIB"

run 0 __complete
cp "$T/out" "$T/table"
has "$T/table" $'cmd\tsnapshot\tinfo'
has "$T/table" $'cmd\tdiff\t-'
hasnt "$T/table" '__complete'

run 0 help
cp "$T/out" "$T/help"
empty "$T/err"
run 0 --help
same "$T/out" "$T/help"
for s in '0  success' '1  a negative answer' '2  usage or runtime error'; do
	has "$T/help" "$s"
done
for o in --socket --json --help --version; do
	has "$T/help" "$o"
done

# Every command of the table: listed in the overview; its own help starts
# with its usage line, names each of its options, and gives its exit
# statuses; NOUN VERB --help prints the same text.
while IFS=$'\t' read -r kind noun verb _; do
	[ "$kind" = cmd ] || continue
	name=$noun
	[ "$verb" = - ] || name="$noun $verb"
	has "$T/help" "  $name "
	if [ "$verb" = - ]; then
		run 0 help "$noun"
	else
		run 0 help "$noun" "$verb"
	fi
	cp "$T/out" "$T/cmdhelp"
	head -n 1 "$T/cmdhelp" >"$T/first"
	# Commands that talk to gisad show --socket in their usage line.
	if grep -qF "usage: gisactl [--socket PATH] [--json] $name" "$T/first"; then
		has "$T/cmdhelp" 'This command talks to gisad'
	else
		has "$T/first" "usage: gisactl [--json] $name"
	fi
	has "$T/cmdhelp" 'exit status: '
	while IFS=$'\t' read -r k n v opt _; do
		if [ "$k" != opt ] || [ "$n" != "$noun" ] || [ "$v" != "$verb" ]; then
			continue
		fi
		case $opt in
		--*) has "$T/cmdhelp" "$opt" ;;
		-?) has "$T/cmdhelp" "$opt, " ;;
		esac
	done <"$T/table"
	if [ "$verb" = - ]; then
		run 0 "$noun" --help
	else
		run 0 "$noun" "$verb" --help
	fi
	same "$T/out" "$T/cmdhelp"
done <"$T/table"

run 0 help snapshot
has "$T/out" 'usage: gisactl [--json] snapshot verify FILE'
has "$T/out" 'usage: gisactl [--json] snapshot check FILE --target-caps CAPS'
run 0 snapshot --help
has "$T/out" 'usage: gisactl [--json] snapshot digest FILE'

# Exit statuses of the commands that have a negative answer.
run 0 help diff
has "$T/out" 'exit status: 0 equal, 1 different, 2 error'
run 0 help snapshot verify
has "$T/out" 'exit status: 0 valid, 1 invalid, 2 FILE unreadable'
run 0 help snapshot check
has "$T/out" 'exit status: 0 exact, 1 lossy, 2 impossible or an error'

# Usage errors: exit 2, the problem quoted, the usage of that command.
run 2
has "$T/err" 'a command is needed'
has "$T/err" 'usage: gisactl [--socket PATH] [--json] NOUN VERB [ARGS]'
run 2 bogus
has "$T/err" "unknown command \`bogus'"
run 2 snapshot
has "$T/err" 'snapshot: a verb is needed'
has "$T/err" 'usage: gisactl [--json] snapshot convert'
run 2 snapshot bogus
has "$T/err" "snapshot: unknown verb \`bogus'"
has "$T/err" 'usage: gisactl [--json] snapshot info FILE'
run 2 snapshot info
has "$T/err" 'missing operand'
has "$T/err" 'usage: gisactl [--json] snapshot info FILE'
run 2 snapshot info a b
has "$T/err" "unexpected operand \`b'"
run 2 diff a
has "$T/err" 'usage: gisactl [--json] diff A B'
run 2 snapshot info --bogus x
has "$T/err" "unknown option \`--bogus'"
run 2 snapshot info --level 3 x
has "$T/err" "option \`--level' does not apply to this command"
run 2 snapshot encode --level 3 --level 4 x
has "$T/err" "option \`--level' given twice"
run 2 snapshot encode x --level
has "$T/err" "option \`--level' needs a value (N)"
run 2 snapshot encode x --stored=yes
has "$T/err" "option \`--stored' takes no value"
run 2 snapshot encode x --level 23
has "$T/err" "option \`--level' takes a number from 1 to 22, not \`23'"
run 2 snapshot encode x --level=-1
has "$T/err" "not \`-1'"
run 2 snapshot encode x --level 3 --stored
has "$T/err" "options \`--level' and \`--stored' exclude each other"
run 2 snapshot check "$DATA/v1-empty.gsnap" --target-caps classic,foo
has "$T/err" "\`foo' in \`classic,foo' is none of them"
run 2 snapshot check "$DATA/v1-empty.gsnap" --target-caps gisa,ais
has "$T/err" 'needs a profile'
run 2 snapshot check "$DATA/v1-empty.gsnap" --target-caps classic,gisa,gisa
has "$T/err" "\`gisa' in \`classic,gisa,gisa' is one too many"
run 2 snapshot check "$DATA/v1-empty.gsnap" --target-caps classic,newest
has "$T/err" 'one too many'
run 2 --socket
has "$T/err" "option \`--socket' needs a value"
run 2 --bogus snapshot info x
has "$T/err" "unknown option \`--bogus'"
run 2 help bogus
has "$T/err" "unknown command \`bogus'"
run 2 help snapshot bogus
has "$T/err" "snapshot: unknown verb \`bogus'"
has "$T/err" 'usage: gisactl [--json] snapshot info FILE'

# "--" ends the options: what follows is an operand, even if it looks like one.
run 2 snapshot info -- --level
has "$T/err" "cannot open \`--level'"

# --json: one document on stdout, also for errors; anywhere on the line.
run 2 --json snapshot info
jdoc "$T/out" 'snapshot info'
jtrue "$T/out" 'd["error"]["code"] == "usage" and "missing operand" in d["error"]["message"]'
run 2 --json bogus
jtrue "$T/out" 'd["schema"] == "gisactl.v1" and d["command"] is None and d["error"]["code"] == "usage"'
run 2 snapshot info /nonexistent --json
jdoc "$T/out" 'snapshot info'
jtrue "$T/out" 'd["error"]["code"] == "ENOENT" and "/nonexistent" in d["error"]["message"]'
# A usage error still gives the error document when --json follows the
# argument refused: --json counts anywhere, unless after "--" or as the
# value of the option before it.
for args in 'snapshot info --bogus x --json' '--bogus --json snapshot info x' 'bogus --json' \
	'snapshot --json' 'snapshot bogus --json' 'snapshot encode x --level 23 --json' \
	'snapshot info --level 3 x --json' '-- snapshot info --bogus --json'; do
	# shellcheck disable=SC2086
	run 2 $args
	jtrue "$T/out" 'd["schema"] == "gisactl.v1" and d["error"]["code"] == "usage"'
	has "$T/err" 'usage: gisactl'
done
run 2 snapshot info --bogus --json
jtrue "$T/out" '(d["command"] == "snapshot info" and
	d["error"]["message"] == "unknown option `--bogus'"'"'")'
# After "--", or as an option's value, "--json" is not the option.
run 2 snapshot info --bogus -- --json
empty "$T/out"
run 2 snapshot decode x -o --json --bogus
empty "$T/out"
run 2 snapshot encode x --level --json
empty "$T/out"
has "$T/err" "option \`--level' takes a number from 1 to 22, not \`--json'"
run 2 --socket --json bogus
empty "$T/out"

# snapshot convert's help gives the rules of its two outputs.
run 0 help snapshot convert
has "$T/out" 'The two outputs, -o and --ais (or --qemu-ais), are written in full'
has "$T/out" 'They must be two different files (by'
has "$T/out" 'name, link or inode), at most one of them standard output, and with'
has "$T/out" '--json neither: standard output carries the JSON document.'

run 0 --json help
jdoc "$T/out" help
jtrue "$T/out" '[c["command"] for c in d["commands"]][:2] == ["snapshot info", "snapshot verify"]'
jtrue "$T/out" 'd["exit_statuses"] == [0, 1, 2] and any(o["name"] == "socket" for o in d["global_options"])'
jtrue "$T/out" 'any(c["needs_daemon"] for c in d["commands"]) and not any(c["needs_daemon"] for c in d["commands"] if c["command"].startswith("snapshot ") and c["command"] not in ("snapshot export", "snapshot import"))'
run 0 --json help snapshot convert
jtrue "$T/out" 'len(d["commands"]) == 1 and {o["name"] for o in d["commands"][0]["options"]} >= {"from", "to", "order", "ais", "qemu-ais", "target-caps", "vcpus"}'

run 0 version
has "$T/out" 'gisactl '
has "$T/out" 'snapshot format 1'
run 0 --version
has "$T/out" 'gisactl '
run 0 --json version
jdoc "$T/out" version
jtrue "$T/out" 'd["snapshot_format_version"] == 1 and d["snapshot_json_schema"] == "gisa.v1"'

finish
