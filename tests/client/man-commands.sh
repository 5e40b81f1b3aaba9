# SPDX-License-Identifier: MIT
# gisactl(1) against gisactl's own table, as `gisactl __complete' prints it:
#  - every command (`NOUN VERB', or `NOUN' alone) has an entry in the
#    page's COMMANDS section: a tagged paragraph whose tag begins with it;
#  - every entry of that section names a command the table has;
#  - every option of the table, global ones included, long and short,
#    appears in the page.
# The page is read as its roff source with font changes removed and `\-'
# read as `-'.
#
# usage: man-commands.sh GISACTL.1.IN   (GISACTL: the gisactl binary)
set -euo pipefail

: "${GISACTL:?GISACTL must name the gisactl binary}"
page=$1

T=$(mktemp -d "${TMPDIR:-/tmp}/gisactl-man.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

"$GISACTL" __complete >"$T/table" || {
	echo "FAIL: gisactl __complete failed" >&2
	exit 1
}
awk -F'\t' '$1 == "cmd" { print ($3 == "-" ? $2 : $2 " " $3) }' "$T/table" >"$T/commands"
[ -s "$T/commands" ] || {
	echo "FAIL: gisactl __complete printed no commands" >&2
	exit 1
}

# The page as plain text: no \fB \fI \fR \fP \f(XX, `\-' and `\(en' as `-'.
sed -e 's/\\f[BIRP]//g' -e 's/\\f([A-Z][A-Z]//g' -e 's/\\-/-/g' -e 's/\\(en/-/g' \
	"$page" >"$T/page"

# Tags of the COMMANDS section: the line after each .TP, macros and quotes
# removed, spaces squeezed.
awk '
	/^\.SH / { in_cmds = ($2 == "COMMANDS") }
	in_cmds && prev == ".TP" { print }
	{ prev = $0 }
' "$T/page" | sed -e 's/^\.B[IR]* //' -e 's/"//g' -e 's/  */ /g' >"$T/tags"
[ -s "$T/tags" ] || {
	echo "FAIL: $page has no COMMANDS section with .TP entries" >&2
	exit 1
}

while read -r cmd; do
	if ! awk -v c="$cmd" 'index($0 " ", c " ") == 1 { found = 1 } END { exit !found }' \
		"$T/tags"; then
		fail "gisactl $cmd has no entry in the COMMANDS section of $page"
	fi
done <"$T/commands"

# Each tag must start with a command of the table: the longest one wins,
# so `snapshot info FILE' is `snapshot info', and `diff A B' is `diff'.
while read -r tag; do
	if ! awk -v t="$tag" 'index(t " ", $0 " ") == 1 { found = 1 } END { exit !found }' \
		"$T/commands"; then
		fail "the entry \`$tag' of $page names no command of gisactl"
	fi
done <"$T/tags"

# Options: long ones as `--name', short ones as `-x' between non-word
# characters.
awk -F'\t' '$1 == "global" { print $2 } $1 == "opt" { print $4 }' "$T/table" |
	sort -u >"$T/options"
while read -r opt; do
	if ! grep -Eq -- "(^|[^-A-Za-z0-9])$opt([^-A-Za-z0-9]|\$)" "$T/page"; then
		fail "option $opt of gisactl does not appear in $page"
	fi
done <"$T/options"

if [ "$failures" -gt 0 ]; then
	echo "$failures problem(s); the page is $page" >&2
	exit 1
fi
echo "ok: $(wc -l <"$T/commands") commands and $(wc -l <"$T/options") options documented"
