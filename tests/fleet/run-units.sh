#!/bin/sh
# The fleet's systemd units run by a real systemd as init: two "machines",
# each a PID and mount namespace (unshare) whose PID 1 is systemd with only
# these units and a few empty targets in its unit path (so nothing of the
# host's own units starts), /var/lib/vigil and /etc/vigil bound to a
# temporary folder of its own. The console machine runs
# vigil-broker.service and vigil-console.service, the agent machine
# vigil-agent.service, as installed but with the built `vigil`. Checked:
# the console under systemd answers an enrollment; the agent under systemd
# is online on the console; a unit's main process SIGKILLed is restarted
# (Restart=on-failure); `systemctl reload vigil-broker` keeps the broker;
# the agent started while the broker is stopped keeps running and is
# online once the broker is started; the state folder is 0700. Every wait
# polls a condition with a deadline.
# Usage: run-units.sh VIGIL_BINARY BROKER.in CONSOLE.in AGENT.in (as root)
set -eu
vigil=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
broker_in=$2 console_in=$3 agent_in=$4
bindir=$(dirname "$vigil")
tmp=$(mktemp -d /tmp/vigil-units-XXXXXX)
unshares=""

cleanup() {
  # Killing unshare (--kill-child) kills each machine's systemd, and with
  # it every process of its PID namespace.
  for p in $unshares; do kill -9 "$p" 2>/dev/null || true; done
  for p in $unshares; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (namespaces, systemd as PID 1)"

# wait_for WHAT COMMAND...: until COMMAND succeeds, at most 60 s.
wait_for() {
  what=$1; shift; tries=0
  until "$@" >/dev/null 2>&1; do
    tries=$((tries + 1)); [ $tries -le 600 ] || fail "timed out waiting for $what"
    sleep 0.1
  done
}

# machine NAME UNIT.in...: starts the machine; its systemd's host pid in
# $tmp/NAME/init.
machine() {
  name=$1; shift
  m=$tmp/$name
  mkdir -p "$m/units" "$m/empty" "$m/state" "$m/etc"
  for t in default sysinit basic sockets timers paths slices local-fs shutdown \
           network network-online multi-user; do
    printf '[Unit]\nDescription=%s (empty)\n' "$t" > "$m/units/$t.target"
  done
  for in in "$@"; do
    sed "s|@BINDIR@|$bindir|g" "$in" > "$m/units/$(basename "$in" .in)"
  done
  cat > "$m/init.sh" <<EOF
#!/bin/sh
set -e
mount --make-rprivate /
mountpoint -q /sys || mount -t sysfs sysfs /sys
mount -t proc proc /proc
mount -t tmpfs tmpfs /run
for d in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system \
         /lib/systemd/system-generators /usr/lib/systemd/system-generators; do
  [ -d "\$d" ] && mount --bind "$m/empty" "\$d"
done
mount --bind "$m/units" /etc/systemd/system
mkdir -p /var/lib/vigil /etc/vigil
mount --bind "$m/state" /var/lib/vigil
mount --bind "$m/etc" /etc/vigil
export container=vigil-test
exec /lib/systemd/systemd --system --log-target=null </dev/null >/dev/null 2>&1
EOF
  unshare --pid --mount --fork --kill-child sh "$m/init.sh" &
  u=$!
  unshares="$unshares $u"
  wait_for "the $name machine's systemd" pgrep -P "$u"
  pgrep -P "$u" > "$m/init"
  wait_for "the $name machine's systemd to answer" in_machine "$name" systemctl is-system-running
  # A sanitizer build's options reach the units (systemd gives them a
  # clean environment).
  for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
    val=$(printenv "$v" || true)
    [ -z "$val" ] || in_machine "$name" systemctl set-environment "$v=$val"
  done
}

# in_machine NAME COMMAND...: COMMAND in the machine's namespaces.
in_machine() {
  mname=$1; shift
  nsenter -t "$(cat "$tmp/$mname/init")" -m -p -- "$@"
}

unit_prop() { in_machine "$1" systemctl show -p "$3" --value "$2"; }
online() {
  in_machine console "$vigil" --json --state-dir /var/lib/vigil device show pc-1 \
    | grep -q '"online" *: *true'
}
offline() { ! online; }
restarted_once() { [ "$(unit_prop "$1" "$2" NRestarts)" = 1 ] &&
                   [ "$(unit_prop "$1" "$2" ActiveState)" = active ]; }

machine console "$broker_in" "$console_in"
machine agent "$agent_in"

# The console machine: a fleet, the broker and the console under systemd.
in_machine console "$vigil" --state-dir /var/lib/vigil fleet init --port 0 >/dev/null
in_machine console "$vigil" --state-dir /var/lib/vigil group add lab >/dev/null
in_machine console systemctl start vigil-broker.service vigil-console.service
wait_for "the broker" in_machine console "$vigil" --state-dir /var/lib/vigil fleet broker status
[ "$(in_machine console stat -c %a /var/lib/vigil)" = 700 ] || fail "/var/lib/vigil is not 0700"
echo "ok: broker and console started by systemd"

# Enrollment is answered by the console that systemd runs.
in_machine console "$vigil" --state-dir /var/lib/vigil device enroll pc-1 --group lab \
  --output "$tmp/pc-1.enroll" >/dev/null
in_machine agent "$vigil" agent enroll "$tmp/pc-1.enroll" --state-dir /var/lib/vigil >/dev/null \
  || fail "the console under systemd did not enroll the agent"
echo "ok: enrolled through the console under systemd"

in_machine agent systemctl start vigil-agent.service
wait_for "the agent online" online
echo "ok: the agent under systemd is online"

# Restart=on-failure, for a main process killed outright.
for pair in agent:vigil-agent console:vigil-console; do
  m=${pair%%:*} u=${pair#*:}
  pid=$(unit_prop "$m" "$u" MainPID)
  [ "$pid" -gt 0 ] || fail "$u has no main process"
  in_machine "$m" kill -9 "$pid"
  wait_for "$u restarted" restarted_once "$m" "$u"
  echo "ok: $u restarted after SIGKILL"
done

# Reload: SIGHUP, the same broker process.
pid=$(unit_prop console vigil-broker MainPID)
in_machine console systemctl reload vigil-broker.service
[ "$(unit_prop console vigil-broker MainPID)" = "$pid" ] || fail "reload replaced the broker"
in_machine console "$vigil" --state-dir /var/lib/vigil fleet broker status >/dev/null \
  || fail "the broker is gone after reload"
echo "ok: systemctl reload vigil-broker keeps the broker"

# The agent started while the broker is down keeps running, and is online
# once the broker is back.
in_machine agent systemctl stop vigil-agent.service
wait_for "the agent offline" offline
in_machine console systemctl stop vigil-broker.service
in_machine agent systemctl start vigil-agent.service
[ "$(unit_prop agent vigil-agent ActiveState)" = active ] || fail "the agent did not start"
in_machine console systemctl start vigil-broker.service
wait_for "the agent online after the broker came" online
[ "$(unit_prop agent vigil-agent NRestarts)" = 0 ] || fail "the agent restarted meanwhile"
echo "PASS: the units under systemd as init"
