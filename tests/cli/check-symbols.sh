#!/bin/sh
# The `vigil` CLI stands on the public libvigil-host API only: the built
# binary neither defines, exports nor imports any internal vh_ symbol.
#  - `nm` (the symbol table) catches internals linked in statically;
#  - `nm -D` catches internals exported or imported dynamically.
# So that the check cannot pass vacuously, it must see the binary's own
# symbols (cli_error) and its import of the public API (vigil_host_new),
# and the same check run on the internal static library must find vh_
# symbols there (the control).
# Usage: check-symbols.sh VIGIL_BINARY INTERNAL_STATIC_LIBRARY (one layer of the host)
set -eu
vigil=$1
internal=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

# Prints the vh_ symbols among nm's output on stdin (name is the last field).
vh_symbols() { awk '{ print $NF }' | sed 's/@.*//' | grep -E '^_?vh_' || true; }

symtab=$(nm "$vigil") || fail "nm $vigil failed"
dynamic=$(nm -D "$vigil") || fail "nm -D $vigil failed"

echo "$symtab" | awk '{print $NF}' | grep -qx cli_error \
  || fail "nm sees no cli_error in $vigil: stripped? the check would prove nothing"
echo "$dynamic" | grep -qE ' U vigil_host_new(@|$)' \
  || fail "$vigil does not import vigil_host_new from libvigil-host.so"

bad=$(echo "$symtab" | vh_symbols)
[ -z "$bad" ] || fail "$vigil holds internal symbols (nm): $(echo $bad)"
bad=$(echo "$dynamic" | vh_symbols)
[ -z "$bad" ] || fail "$vigil exports or imports internal symbols (nm -D): $(echo $bad)"

control=$(nm "$internal" 2>/dev/null | vh_symbols | head -n 3)
[ -n "$control" ] || fail "control: no vh_ symbol found in $internal; the check is broken"

echo "PASS: $vigil has no vh_ symbol (control found $(echo $control) in the internal library)"
