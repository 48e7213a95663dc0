#!/bin/sh
# The fleet's systemd units (host/fleet/systemd/*.service.in), as installed
# but with the built `vigil`: systemd-analyze verify must accept each one
# without a word, and each ExecStart must be a command line `vigil` parses
# (run with --help appended, state and config moved into a temporary
# folder). The control: a copy with a misspelt directive must make
# systemd-analyze complain, or the check would prove nothing.
# Usage: check-units.sh VIGIL_BINARY UNIT.service.in...
set -eu
vigil=$1; shift
bindir=$(dirname "$vigil")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (package systemd)"

for in in "$@"; do
  unit=$tmp/$(basename "$in" .in)
  sed "s|@BINDIR@|$bindir|g" "$in" > "$unit"
  err=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify $unit: $err"
  [ -z "$err" ] || fail "systemd-analyze verify $unit says: $err"

  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  [ -n "$exec_start" ] || fail "$unit has no ExecStart"
  line=$(echo "$exec_start" | sed "s|/var/lib/vigil|$tmp/state|g; s|/etc/vigil|$tmp/etc|g")
  # shellcheck disable=SC2086 # the command line is split as systemd splits it
  out=$($line --help 2>&1) || fail "$unit: '$line --help' failed: $out"
  echo "$out" | grep -q "Usage" || fail "$unit: '$line --help' printed no usage: $out"
  echo "ok: $(basename "$unit")"
done

# The control.
broken=$tmp/broken.service
sed 's/^Restart=on-failure/Restart=on-failur/' "$unit" > "$broken"
err=$(systemd-analyze verify "$broken" 2>&1) || true
[ -n "$err" ] || fail "control: systemd-analyze accepted a misspelt Restart=; the check is broken"
echo "PASS: $# unit(s) verified (control refused)"
