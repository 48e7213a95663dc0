# shellcheck shell=bash
# The demo lab: an admin group tree with a few devices, each a root folder
# holding a small file tree. Sourced by scripts/demo and the e2e test's
# fixtures; `lab_make_roots DIR` writes the device roots under DIR/devices
# and a ClamAV signature database for the lab under DIR/clamav.
#
#   root ("Managed devices")
#   └── office        policy examples/policies/lab-response.json
#       ├── sales     pc-alice (detects invoice.exe), pc-bob and pc-carol
#       │             (copies of it), pc-dave (a same-size decoy)
#       └── engineering  build-1 (a copy, outside the scanned group)

lab_files="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/files"

# group id, parent, name
lab_groups="office root Office
sales office Sales
engineering office Engineering"

# device id, group, user
lab_devices="pc-alice sales alice
pc-bob sales bob
pc-carol sales carol
pc-dave sales dave
build-1 engineering builder"

_lab_home() {
  local root=$1 user=$2
  mkdir -p "$root/home/$user/Documents" "$root/home/$user/Downloads" \
           "$root/home/$user/.config/autostart"
  printf 'export PATH="$HOME/bin:$PATH"\n' > "$root/home/$user/.profile"
  printf 'Meeting notes for %s\n' "$user" > "$root/home/$user/Documents/notes.txt"
  printf 'id,amount\n1,100\n2,250\n' > "$root/home/$user/Documents/budget.csv"
}

_lab_system() {
  local root=$1 name=$2
  mkdir -p "$root/etc/cron.d" "$root/etc/systemd/system" "$root/boot" \
           "$root/usr/bin" "$root/var/lib/vigil" "$root/tmp"
  printf '%s\n' "$name" > "$root/etc/hostname"
  printf '0 3 * * * root /usr/bin/backup\n' > "$root/etc/cron.d/backup"
  printf '[Unit]\nDescription=Backup\n[Service]\nExecStart=/usr/bin/backup\n' \
    > "$root/etc/systemd/system/backup.service"
  printf 'lab kernel image\n' > "$root/boot/vmlinuz-6.1.0-lab"
  printf '#!/bin/sh\necho backup\n' > "$root/usr/bin/backup"
  chmod 755 "$root/usr/bin/backup"
}

# lab_make_roots DIR: (re)creates DIR/devices/<id> for every lab device.
lab_make_roots() {
  local dir=$1 id group user root
  rm -rf "$dir/devices" "$dir/clamav"
  while read -r id group user; do
    root="$dir/devices/$id"
    _lab_system "$root" "$id"
    _lab_home "$root" "$user"
  done <<< "$lab_devices"
  local d="$dir/devices"
  # The detected object and its copies.
  cp "$lab_files/invoice.exe" "$d/pc-alice/home/alice/Downloads/invoice.exe"
  cp "$lab_files/invoice.exe" "$d/pc-bob/home/bob/Downloads/invoice.exe"
  mkdir -p "$d/pc-carol/home/carol/Documents/old"
  cp "$lab_files/invoice.exe" "$d/pc-carol/home/carol/Documents/old/invoice-copy.exe"
  mkdir -p "$d/build-1/srv/builds"
  cp "$lab_files/invoice.exe" "$d/build-1/srv/builds/invoice.exe"
  # Same name and size, other content: the IOC's hashes must not match it.
  tr 'A-Z' 'a-z' < "$lab_files/invoice.exe" > "$d/pc-dave/home/dave/Downloads/invoice.exe"
  # An autostart entry the endpoint protection product detects on pc-carol.
  cp "$lab_files/updater.desktop" "$d/pc-carol/home/carol/.config/autostart/updater.desktop"
  # alice is logged in on her machine, without a desktop session bus.
  printf '{"sessions":[{"user":"alice","uid":1000}]}\n' \
    > "$d/pc-alice/var/lib/vigil/sessions.json"
  # The lab's ClamAV signatures (no download: MD5 signatures of lab files).
  mkdir -p "$dir/clamav"
  local f
  for f in invoice.exe:Vigil.Lab.Invoice updater.desktop:Vigil.Lab.Autostart; do
    local file=${f%%:*} name=${f#*:}
    printf '%s:%s:%s\n' "$(md5sum < "$lab_files/$file" | cut -d' ' -f1)" \
      "$(stat -c %s "$lab_files/$file")" "$name" >> "$dir/clamav/lab.hdb"
  done
}

# lab_epp_policy DIR [update]: a policy for the root group that points
# ClamAV at the lab's signature database (written to DIR/lab-epp.json).
# With "update", the database is not named: the devices get it from the
# database update task (epp.update), whose source is the lab's signature
# file (a file:/// custom URL), as an admin's private source would be.
lab_epp_policy() {
  local dir=$1 product update=""
  if [ "${2:-}" = update ]; then
    product='{ "product": "clamav", "command": "clamscan", "timeout_sec": 300 }'
    update=',
      "update": {
        "locked": false,
        "values": { "source": "custom", "custom_urls": ["file://'"$dir"'/clamav/lab.hdb"],
                    "attempts": 1 }
      }'
  else
    product='{ "product": "clamav", "command": "clamscan",
                    "args": ["--database='"$dir"'/clamav/lab.hdb"], "timeout_sec": 300 }'
  fi
  cat > "$dir/lab-epp.json" <<JSON
{
  "name": "Lab endpoint protection",
  "group": "root",
  "status": "active",
  "settings": {
    "epp": {
      "schema_version": 1,
      "product": {
        "locked": false,
        "values": $product
      }$update
    }
  }
}
JSON
}
