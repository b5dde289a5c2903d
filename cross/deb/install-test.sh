#!/usr/bin/env bash
# Installs a built HematoVision package into a throwaway Debian 12 chroot and checks what
# the maintainer scripts do: groups and system user, the enabled unit, the conffile kept
# across a reinstall, `doctor` run as the service user, the unit's security exposure, and
# that purge removes /etc/hematovision but keeps the counts in /var/lib/hematovision.
#
# Usage (root, host architecture only): cross/deb/install-test.sh target/debian/hematovision_*_amd64.deb
# Needs mmdebstrap (installed with apt-get when missing) and Debian's package mirror. The
# chroot is cached in $HV_CHROOT (default /tmp/hematovision-chroot) between runs.
set -euo pipefail

deb=$(realpath "${1:?usage: $0 PACKAGE.deb}")
root=${HV_CHROOT:-/tmp/hematovision-chroot}
[ "$(id -u)" -eq 0 ] || { echo "install-test: needs root (chroot)" >&2; exit 1; }

fail() {
    echo "install-test: FAIL: $*" >&2
    exit 1
}

if [ ! -x "$root/usr/bin/systemd-analyze" ]; then
    command -v mmdebstrap >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap
    }
    rm -rf "$root"
    mmdebstrap --variant=minbase --include=adduser,systemd,udev bookworm "$root"
fi

cleanup() {
    umount "$root/dev" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || true
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp "$deb" "$root/tmp/hematovision.deb"
in_root() { chroot "$root" sh -c "$1"; }

in_root 'dpkg -P hematovision >/dev/null 2>&1 || true; rm -rf /var/lib/hematovision'
in_root 'dpkg -i /tmp/hematovision.deb' || fail "dpkg -i"
for g in video gpio i2c; do
    in_root "id -nG hematovision" | tr ' ' '\n' | grep -qx "$g" || fail "hematovision not in group $g"
done
in_root 'getent passwd hematovision' | grep -q ':/usr/sbin/nologin$' || fail "service user has a login shell"
[ -L "$root/etc/systemd/system/multi-user.target.wants/hematovision.service" ] || fail "unit not enabled"
in_root 'hematovision --version' | grep -q '^runtime: LiteRT ' || fail "--version"

# systemd creates the state directory at start; do as it does, then ask the doctor.
in_root 'install -d -o hematovision -g hematovision -m 0750 /var/lib/hematovision'
doctor=$(in_root 'runuser -u hematovision -- hematovision doctor 2>/dev/null' || true)
echo "$doctor"
for line in "OK   config" "OK   runtime" "OK   model" "OK   inference" "OK   data dir" "OK   groups"; do
    grep -q "^$line" <<<"$doctor" || fail "doctor: no '$line' line"
done

score=$(in_root 'systemd-analyze security --offline=yes /lib/systemd/system/hematovision.service' | tail -n1)
echo "$score"
awk '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+$/) { exit !($i <= 2.0) }; exit 1}' <<<"$score" \
    || fail "exposure above 2.0: $score"

echo '# local edit' >>"$root/etc/hematovision/hematovision.toml"
in_root 'dpkg -i --force-confold /tmp/hematovision.deb >/dev/null'
tail -n1 "$root/etc/hematovision/hematovision.toml" | grep -qx '# local edit' || fail "conffile edit lost on reinstall"

in_root 'echo count > /var/lib/hematovision/journal-test; dpkg -P hematovision'
[ ! -e "$root/etc/hematovision" ] || fail "purge left /etc/hematovision"
[ -e "$root/var/lib/hematovision/journal-test" ] || fail "purge removed the counts"
[ ! -e "$root/etc/systemd/system/multi-user.target.wants/hematovision.service" ] || fail "purge left the unit enabled"
echo "install-test: OK ($(basename "$deb"))"
