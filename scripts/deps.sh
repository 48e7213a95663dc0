# Sourced by the scripts: installs the Debian packages Vigil needs when they
# are missing (as root, with apt-get), so each command works on a fresh
# Debian 12 machine. Set VIGIL_NO_APT=1 to skip (you installed them yourself).

vigil_build_packages="gcc libc6-dev pkg-config meson ninja-build git ca-certificates
  libglib2.0-dev libjson-glib-dev libxml2-dev libssl-dev libsqlite3-dev
  libcurl4-openssl-dev libnats-dev libnftables-dev libevent-dev
  binutils openssl"
# What the tests use as real peers: ClamAV (freshclam too), a D-Bus daemon, clang for the
# fuzz targets and sanitizer runtimes, zip/unzip to read exported archives,
# nats-server as the fleet's broker, systemd-analyze to verify its units,
# iproute2 and nftables (the nft command) for the network namespaces and
# rule checks of the isolation tests, faketime to
# move a process's clock (isolation periods, the agent's clock skew in
# fleet-faults-skew).
vigil_test_packages="clamav clamav-freshclam dbus clang libclang-rt-14-dev unzip zip procps nats-server systemd iproute2 nftables faketime"

vigil_missing_packages() {
  local missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing="$missing $p"
  done
  echo "$missing"
}

vigil_install_packages() {
  [ "${VIGIL_NO_APT:-0}" = 1 ] && return 0
  local missing
  missing=$(vigil_missing_packages "$@")
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "vigil: missing Debian packages:$missing (run as root, or install them)" >&2
    return 1
  fi
  echo "vigil: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || return 1
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null || return 1
}

# meson setup (or reconfigure) BUILD_DIR [meson options...], then compile.
vigil_build() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
  else
    meson setup "$dir" "$@" >/dev/null || return 1
  fi
  meson compile -C "$dir" >/dev/null || meson compile -C "$dir" || return 1
}
