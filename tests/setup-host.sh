#!/bin/bash
# Prepares this host for the end-to-end tests, idempotently, as root:
# Debian's rootlesskit, slirp4netns, uidmap (newuidmap, newgidmap), iproute2, util-linux
# (nsenter, setpriv; unshare for the package build with no network), tar, rpm
# (rpmbuild), kubernetes-client (the real kubectl), debootstrap and systemd-container (systemd-nspawn, for
# the tests under a real systemd), the u7s-admin system user with subuid/subgid ranges, a
# usable /dev/net/tun, and u7s-admin's runtime dir (no systemd-logind here).
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "setup-host.sh: run as root (it installs packages and creates u7s-admin)" >&2
    exit 1
fi

need=()
for pkg_bin in rootlesskit:/usr/bin/rootlesskit slirp4netns:/usr/bin/slirp4netns \
               uidmap:/usr/bin/newuidmap uidmap:/usr/bin/newgidmap \
               iproute2:/usr/sbin/ip util-linux:/usr/bin/nsenter \
               util-linux:/usr/bin/unshare tar:/usr/bin/tar \
               python3:/usr/bin/python3 openssl:/usr/bin/openssl haproxy:/usr/sbin/haproxy rpm:/usr/bin/rpmbuild man-db:/usr/bin/man \
               debootstrap:/usr/sbin/debootstrap systemd-container:/usr/bin/systemd-nspawn \
               kubernetes-client:/usr/bin/kubectl; do
    [ -x "${pkg_bin#*:}" ] || need+=("${pkg_bin%%:*}")
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

user=u7s-admin
home=/var/lib/u7s-admin
getent group "$user" >/dev/null || groupadd -r "$user"
if ! getent passwd "$user" >/dev/null; then
    useradd -r -M -g "$user" -d "$home" -s /bin/bash -c 'usernet user account' "$user"
fi
install -d -o "$user" -g "$user" -m 0700 "$home"

# A subordinate range that overlaps nobody else's.
if ! grep -q "^$user:" /etc/subuid 2>/dev/null || ! grep -q "^$user:" /etc/subgid 2>/dev/null; then
    start=$(awk -F: 'BEGIN{m=100000} {e=$2+$3; if (e>m) m=e} END{print m}' /etc/subuid /etc/subgid 2>/dev/null)
    grep -q "^$user:" /etc/subuid 2>/dev/null || echo "$user:$start:65536" >>/etc/subuid
    grep -q "^$user:" /etc/subgid 2>/dev/null || echo "$user:$start:65536" >>/etc/subgid
fi

# /dev/net/tun is 0600 on these machines; slirp4netns runs as u7s-admin.
chmod 0666 /dev/net/tun

# tests/attack_inside.rs shows that a program root runs inside cannot type
# into root's terminal; its control needs TIOCSTI to work at all (kernels
# built without LEGACY_TIOCSTI have no such switch and refuse it anyway).
if [ -w /proc/sys/dev/tty/legacy_tiocsti ]; then
    echo 1 > /proc/sys/dev/tty/legacy_tiocsti
fi

uid=$(id -u "$user")
install -d -o "$user" -g "$user" -m 0700 "/run/user/$uid"
echo "setup-host.sh: $user uid $uid, $(grep "^$user:" /etc/subuid), $(rootlesskit --version)" >&2
