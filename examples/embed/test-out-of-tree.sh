#!/bin/sh
# Proves a third party can embed the host against an INSTALLED Vigil:
#  1. installs this build of Vigil into a temporary folder (meson install
#     --destdir), as a package would;
#  2. builds examples/embed out of tree, finding the header and the library
#     only through `pkg-config vigil-host` (the .pc files relocated into
#     that folder);
#  3. runs it on a fresh state folder with the installed plugins and a
#     device folder holding evil.exe, and checks what it reports: the
#     policy's value and origin, the task run completed, the finding, and
#     the events and run end its subscriptions received.
# Usage: test-out-of-tree.sh BUILD_ROOT SOURCE_ROOT
set -eu
build=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-embed-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install Vigil into $tmp/dest"
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null

# A destdir install keeps the final prefix in the .pc files; point them at
# the temporary copy (what a relocatable SDK does).
mkdir -p "$tmp/pc"
for name in vigil-host vigil-plugin; do
  pc=$(find "$tmp/dest" -name "$name.pc" | head -n 1)
  [ -n "$pc" ] || fail "$name.pc was not installed"
  prefix=$(sed -n 's/^prefix=//p' "$pc")
  sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$pc" > "$tmp/pc/$name.pc"
done
export PKG_CONFIG_PATH="$tmp/pc"
libs=$(pkg-config --libs vigil-host)
echo "pkg-config --libs vigil-host: $libs"
case "$libs" in
  *"$tmp/dest"*) ;;
  *) fail "pkg-config does not point at the installed library" ;;
esac
[ -f "$tmp/dest$prefix/include/vigil/vigil-host.h" ] || fail "vigil/vigil-host.h not installed"

echo "== build examples/embed out of tree"
# A sanitized Vigil (scripts/test's ASan build) needs a sanitized program:
# the sanitizer runtime must come first in the process.
sanitize=$(meson configure "$build" 2>/dev/null | awk '$1 == "b_sanitize" { print $2 }')
meson setup "$tmp/embed-build" "$src/examples/embed" -Db_sanitize="${sanitize:-none}" >/dev/null
meson compile -C "$tmp/embed-build" >/dev/null
embed="$tmp/embed-build/embed"
[ -x "$embed" ] || fail "embed was not built"

# Only the installed copies: no build folder on the library path, no
# plugin folder from the environment.
libdir=$(pkg-config --variable=libdir vigil-host)
plugins=$(find "$tmp/dest" -type d -name plugins-1 | head -n 1)
[ -f "$plugins/ioc-scan.so" ] || fail "ioc-scan.so not installed in $plugins"
unset VIGIL_PLUGIN_PATH
export LD_LIBRARY_PATH="$libdir"
ldd "$embed" | grep -q "libvigil-host.so.1 => $libdir/" \
  || fail "embed does not load the installed libvigil-host: $(ldd "$embed" | grep vigil)"

mkdir -p "$tmp/pc-1/home/alice/Downloads"
printf 'MZ evil' > "$tmp/pc-1/home/alice/Downloads/evil.exe"
printf 'fine' > "$tmp/pc-1/home/alice/notes.txt"

echo "== run it"
status=0
"$embed" "$tmp/state" "$tmp/pc-1" "$plugins" > "$tmp/out.txt" 2>&1 || status=$?
cat "$tmp/out.txt"
[ "$status" = 0 ] || fail "embed exited with $status"
grep -q "^inventory: group lab, device pc-1" "$tmp/out.txt" || fail "no inventory line"
grep -q "^policy: applied; ioc_scan.limits.max_ioc_file_kb = 1024 \[policy:Embedded lab (locked)\]" \
  "$tmp/out.txt" || fail "the policy's value or origin is missing"
grep -q "^task: run #[0-9]* on pc-1: completed" "$tmp/out.txt" || fail "the run did not complete"
grep -q "^finding: /home/alice/Downloads/evil.exe" "$tmp/out.txt" || fail "evil.exe not found"
grep -q "^finding: .*notes.txt" "$tmp/out.txt" && fail "notes.txt reported"
grep -q "^event: ioc.found on pc-1" "$tmp/out.txt" || fail "the ioc.found event was not delivered"
grep -q "^event: task.completed on pc-1" "$tmp/out.txt" || fail "task.completed was not delivered"
grep -q "^run ended: task .* (ioc.scan) on pc-1: completed" "$tmp/out.txt" \
  || fail "the run end was not delivered"

echo "== the state is the CLI's too"
vigil=$(find "$tmp/dest" -path '*/bin/vigil' | head -n 1)
"$vigil" --state-dir "$tmp/state" --plugin-dir "$plugins" device list > "$tmp/devices.txt"
grep -q "^pc-1 " "$tmp/devices.txt" || fail "vigil device list does not show pc-1"
echo "PASS"
