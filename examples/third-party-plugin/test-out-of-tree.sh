#!/bin/sh
# Proves a third party can build a plugin against an INSTALLED Vigil:
#  1. installs this build of Vigil into a temporary folder (meson install
#     --destdir), as a package would;
#  2. builds greeter/ out of tree, finding the headers and the helper
#     library only through `pkg-config vigil-plugin-util` (the .pc files
#     relocated into that folder); the plugin still exports only its entry;
#  3. loads it with the installed `vigil` and exercises each contribution:
#     plugin listing, its command, policy validation with its cross-field
#     rule, its event handler and its task type.
# Usage: test-out-of-tree.sh BUILD_ROOT SOURCE_ROOT
set -eu
build=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install Vigil into $tmp/dest"
meson install -C "$build" --destdir "$tmp/dest" --no-rebuild --quiet >/dev/null

# A destdir install keeps the final prefix in the .pc files; point them at
# the temporary copy (what a relocatable SDK does).
mkdir -p "$tmp/pc"
for name in vigil-plugin vigil-plugin-util; do
  pc=$(find "$tmp/dest" -name "$name.pc" | head -n 1)
  [ -n "$pc" ] || fail "$name.pc was not installed"
  prefix=$(sed -n 's/^prefix=//p' "$pc")
  sed "s|^prefix=.*|prefix=$tmp/dest$prefix|" "$pc" > "$tmp/pc/$name.pc"
done
export PKG_CONFIG_PATH="$tmp/pc"
cflags=$(pkg-config --cflags vigil-plugin)
echo "pkg-config --cflags vigil-plugin: $cflags"
case "$cflags" in
  *"$tmp/dest"*) ;;
  *) fail "pkg-config does not point at the installed header" ;;
esac
[ -f "$tmp/dest$prefix/include/vigil/plugin.h" ] || fail "vigil/plugin.h not installed"
[ -f "$tmp/dest$prefix/include/vigil/util/settings.h" ] || fail "vigil/util/settings.h not installed"
libs=$(pkg-config --libs vigil-plugin-util)
echo "pkg-config --libs vigil-plugin-util: $libs"
case "$libs" in
  *-lvigil-plugin-util*) ;;
  *) fail "pkg-config vigil-plugin-util does not link the helper library" ;;
esac

echo "== build greeter out of tree"
# A sanitized Vigil (scripts/test's ASan build) installs a sanitized helper
# library: the plugin that links it must be built the same way.
sanitize=$(meson configure "$build" 2>/dev/null | awk '$1 == "b_sanitize" { print $2 }')
meson setup "$tmp/greeter-build" "$src/examples/third-party-plugin/greeter" \
  -Db_sanitize="${sanitize:-none}" -Db_lundef=false >/dev/null
meson compile -C "$tmp/greeter-build" >/dev/null
so="$tmp/greeter-build/greeter.so"
[ -f "$so" ] || fail "greeter.so was not built"
exports=$(nm -D --defined-only "$so" | awk '{print $NF}')
[ "$exports" = "vigil_plugin_query_v1" ] || fail "greeter.so exports: $exports"

vigil=$(find "$tmp/dest" -path '*/bin/vigil' | head -n 1)
[ -x "$vigil" ] || fail "vigil was not installed"
# vigil links libvigil-host.so.1: the installed copy, not the build's.
lib=$(find "$tmp/dest" -name 'libvigil-host.so.1' | head -n 1)
[ -n "$lib" ] || fail "libvigil-host.so.1 was not installed"
export LD_LIBRARY_PATH="$(dirname "$lib")"
unset VIGIL_PLUGIN_PATH
state="$tmp/state"
v() { "$vigil" --state-dir "$state" --plugin-dir "$tmp/greeter-build" "$@"; }

echo "== loaded, with its contributions"
v plugins show greeter > "$tmp/show.txt"
cat "$tmp/show.txt"
grep -q "state:       loaded" "$tmp/show.txt" || fail "greeter not loaded"
grep -q "greeter.greet" "$tmp/show.txt" || fail "task type not listed"
grep -q "sandbox.threat_detected" "$tmp/show.txt" || fail "handler not listed"

echo "== its command"
[ "$(v greeter hello alice)" = "Hello, alice!" ] || fail "greeter hello"
status=0
v greeter --bogus > /dev/null 2> "$tmp/usage.txt" || status=$?
cat "$tmp/usage.txt"
[ "$status" = 2 ] || fail "greeter --bogus exit $status, expected 2"
grep -q "Usage: vigil greeter" "$tmp/usage.txt" || fail "usage error without the usage text"

echo "== policy validation runs its cross-field rule"
cat > "$tmp/bad-policy.json" <<'JSON'
{"name": "Loud", "group": "root", "status": "active",
 "settings": {"greeter": {"schema_version": 1,
   "greeting": {"locked": true, "values": {"shout": true, "salutation": ""}}}}}
JSON
status=0
v policy validate "$tmp/bad-policy.json" > "$tmp/validate.txt" 2>&1 || status=$?
cat "$tmp/validate.txt"
[ "$status" = 1 ] || fail "policy validate exit $status, expected 1"
grep -q "greeter.greeting.salutation" "$tmp/validate.txt" || fail "cross-field problem not reported"

echo "== its event handler"
v device add lab-1 --group root >/dev/null
printf '{"user":"alice","path":"/tmp/x.exe","md5":"00","sha256":"00","size":1,"threat":"EICAR","riskware":false,"detected_at":"2026-11-22T10:00:00Z"}' \
  > "$tmp/event.json"
v event emit sandbox.threat_detected "$tmp/event.json" --device lab-1 >/dev/null
v greeter stats | tee "$tmp/stats.txt"
grep -q "lab-1: 1 detection" "$tmp/stats.txt" || fail "handler did not count the event"

echo "== its task type"
cat > "$tmp/policy.json" <<'JSON'
{"name": "Friendly", "group": "root", "status": "active",
 "settings": {"greeter": {"schema_version": 1,
   "greeting": {"locked": true, "values": {"salutation": "Welcome"}}}}}
JSON
v policy apply "$tmp/policy.json" >/dev/null
printf '{"names": ["bob"]}' > "$tmp/params.json"
v --json task create --type greeter.greet --device lab-1 --params "$tmp/params.json" \
  > "$tmp/task.json"
task=$(sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' "$tmp/task.json" | head -n 1)
[ -n "$task" ] || task=$(tr -d ' \n"' < "$tmp/task.json")
v task run-due >/dev/null 2>&1 || true
v task results "$task" | tee "$tmp/results.txt"
grep -q "Welcome, bob!" "$tmp/results.txt" || fail "task result lacks the policy's greeting"
echo "PASS"
