#!/bin/sh
# Lays out an installation of u7s:
#   $DESTDIR$PREFIX/libexec/podsec/u7s/bin/u7s   (root:root 0755)
#   $DESTDIR$PREFIX/libexec/podsec/u7s/bin/<applet> -> u7s
#   $DESTDIR$PREFIX/lib/systemd/system/u7s.service              (0644)
#   $DESTDIR$PREFIX/lib/systemd/user/{u7s.target,u7s-rootlesskit.service,u7s-kubelet.service}
#   $DESTDIR$SYSCONFDIR/systemd/system/user@.service.d/delegate.conf
#   $DESTDIR$PREFIX/lib/modules-load.d/u7s.conf
# Usage: packaging/install.sh [BINARY]   (default target/release/u7s)
# Environment: DESTDIR (default empty), PREFIX (default /usr),
#   SYSCONFDIR (default /etc), UNITDIR, USERUNITDIR, MODULESLOADDIR (defaults
#   under $PREFIX/lib).
# Root executes these files, so they must never be writable by u7s-admin:
# everything is created root-owned and without group/other write bits.
set -eu

binary=${1:-target/release/u7s}
prefix=${PREFIX:-/usr}
destdir=${DESTDIR:-}
sysconfdir=${SYSCONFDIR:-/etc}
# Distributions put units elsewhere (ALT's %_unitdir is /lib/systemd/system).
unitdir=${UNITDIR:-$prefix/lib/systemd/system}
userunitdir=${USERUNITDIR:-$prefix/lib/systemd/user}
modulesloaddir=${MODULESLOADDIR:-$prefix/lib/modules-load.d}
here=$(cd "$(dirname "$0")" && pwd)
bindir="$destdir$prefix/libexec/podsec/u7s/bin"
applets="kubeadm kubectl nsenter_u7s rootlessctl"

if [ ! -x "$binary" ]; then
    echo "install.sh: $binary is not an executable; build it first (cargo build --release)" >&2
    exit 1
fi

owner=
if [ "$(id -u)" = 0 ]; then owner="-o root -g root"; fi

# shellcheck disable=SC2086
install -d -m 0755 $owner "$bindir"
# shellcheck disable=SC2086
install -m 0755 $owner "$binary" "$bindir/u7s.new"
mv -f "$bindir/u7s.new" "$bindir/u7s"
for applet in $applets; do
    ln -sfn u7s "$bindir/$applet.new"
    mv -Tf "$bindir/$applet.new" "$bindir/$applet"
    if [ -n "$owner" ]; then chown -h root:root "$bindir/$applet"; fi
done
# Data files (units, drop-in, module list): 0644 in 0755 directories. The
# units name /usr/libexec/podsec/u7s; another PREFIX is written into them.
# install_data SOURCE DESTDIR_RELATIVE_DIR
install_data() {
    # shellcheck disable=SC2086
    install -d -m 0755 $owner "$2"
    tmp="$2/.$(basename "$1").new"
    sed "s|/usr/libexec/podsec/u7s/|$prefix/libexec/podsec/u7s/|g" "$1" >"$tmp"
    chmod 0644 "$tmp"
    if [ -n "$owner" ]; then chown root:root "$tmp"; fi
    mv -f "$tmp" "$2/$(basename "$1")"
}
for unit in "$here"/systemd/system/*; do
    install_data "$unit" "$destdir$unitdir"
done
for unit in "$here"/systemd/user/*; do
    install_data "$unit" "$destdir$userunitdir"
done
install_data "$here/systemd/user@.service.d/delegate.conf" \
    "$destdir$sysconfdir/systemd/system/user@.service.d"
install_data "$here/modules-load.d/u7s.conf" "$destdir$modulesloaddir"

echo "installed u7s and its applets ($applets) into $bindir, the systemd units, the user@.service delegate drop-in and the modules-load list" >&2
