#!/bin/sh
# Every text printer of the `vigil` CLI and of the plugins' commands goes
# through vigil_print() / vigil_print_to() (<vigil/util/text.h>), which
# escapes the names it prints: a printf, puts, fputs, g_print or fprintf
# to stdout/stderr in their sources would print a device's file name raw.
# Exceptions: g_printerr (escaped by the CLI's handler, cli-util.c) and a
# line marked "raw-ok:" with the reason (JSON output, escaped by JSON).
# So that the check cannot pass vacuously, it must find vigil_print calls
# in the files it reads, and a planted raw printf must be caught.
# Usage: check-print.sh SOURCE_ROOT
set -eu
root=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

files=$(ls "$root"/host/cli/*.c "$root"/plugins/*/*.c | grep -v '/fuzz-') \
  || fail "no sources under $root"
raw='(^|[^A-Za-z0-9_])(printf|vprintf|puts|fputs|putchar|g_print|fwrite) \(|fprintf \((stdout|stderr)'

# Prints the raw printer calls among the files given.
find_raw() { grep -nE "$raw" "$@" | grep -v 'raw-ok:' || true; }

[ "$(cat $files | grep -c 'vigil_print')" -gt 50 ] \
  || fail "fewer than 50 vigil_print calls found: the check reads the wrong files"
planted=$(mktemp)
trap 'rm -f "$planted"' EXIT
printf '  printf ("%%s\\n", name);\n' > "$planted"
[ -n "$(find_raw "$planted")" ] || fail "control: a planted raw printf was not caught"

bad=$(find_raw $files)
[ -z "$bad" ] || fail "raw printing (use vigil_print, <vigil/util/text.h>):
$bad"
echo "PASS: no raw printer in $(echo $files | wc -w) files"
