# SPDX-License-Identifier: MIT
# gisad.conf(5) against the key table of daemon/config.c: every key of the
# table has an entry in the page's KEYS section, with the table's default,
# and the section has no entry for a key the table lacks.  The keys read
# from config.c are checked against `gisad --dump-config', which prints
# every key of the table, so a change of the table's layout cannot make
# this test read no keys and pass.
#
# usage: man-keys.sh CONFIG.C GISAD.CONF.5.IN   (GISAD: the gisad binary)
set -euo pipefail

: "${GISAD:?GISAD must name the gisad binary}"
config_c=$1
page=$2

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Table rows open with `{ "name", CONF_TYPE, "default",' on one line.
rows=$(sed -n 's/^[[:space:]]*{ "\([a-z0-9_]*\)", CONF_[A-Z]*, "\([^"]*\)",.*/\1 \2/p' \
	"$config_c")
[ -n "$rows" ] || fail "no key rows found in $config_c"
table_keys=$(printf '%s\n' "$rows" | cut -d' ' -f1 | sort)

# The daemon's own list: `key = value' lines of --dump-config.
T=$(mktemp -d "${TMPDIR:-/tmp}/gisad-man.XXXXXX")
trap 'rm -rf "$T"' EXIT
: >"$T/empty.conf"
"$GISAD" --config "$T/empty.conf" --dump-config >"$T/dump" ||
	fail "gisad --dump-config failed"
dump_keys=$(sed -n 's/^\([a-z0-9_]*\) = .*/\1/p' "$T/dump" | sort)
[ "$table_keys" = "$dump_keys" ] || fail "keys read from $config_c:
$table_keys
differ from gisad --dump-config's:
$dump_keys"

# Entries of the KEYS section: the line after each .TP, `.BR key "(...)"'.
entries=$(awk '
	/^\.SH / { in_keys = ($2 == "KEYS") }
	in_keys && prev == ".TP" { print }
	{ prev = $0 }
' "$page")
[ -n "$entries" ] || fail "$page has no KEYS section with .TP entries"
page_keys=$(printf '%s\n' "$entries" | awk '{ print $2 }' | sort)

missing=$(comm -23 <(printf '%s\n' "$table_keys") <(printf '%s\n' "$page_keys"))
extra=$(comm -13 <(printf '%s\n' "$table_keys") <(printf '%s\n' "$page_keys"))
[ -z "$missing" ] || fail "keys of $config_c without an entry in $page: $missing"
[ -z "$extra" ] || fail "entries of $page that are not keys of $config_c: $extra"

# Each entry states the table's default: `default \fBVALUE\fP'.
while read -r key def; do
	line=$(printf '%s\n' "$entries" | awk -v k="$key" '$2 == k')
	case $line in
	*"default \\fB$def\\fP"*) ;;
	*) fail "$page: the entry of $key does not say default \\fB$def\\fP: $line" ;;
	esac
done <<<"$rows"

echo "ok: $(printf '%s\n' "$table_keys" | wc -l) keys documented with their defaults"
