#!/bin/sh
# Lays out an installation of u7s:
#   $DESTDIR$PREFIX/libexec/podsec/u7s/bin/u7s   (root:root 0755)
#   $DESTDIR$PREFIX/libexec/podsec/u7s/bin/<applet> -> u7s
# Usage: packaging/install.sh [BINARY]   (default target/release/u7s)
# Environment: DESTDIR (default empty), PREFIX (default /usr).
# Root executes these files, so they must never be writable by u7s-admin:
# everything is created root-owned and without group/other write bits.
set -eu

binary=${1:-target/release/u7s}
prefix=${PREFIX:-/usr}
destdir=${DESTDIR:-}
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
echo "installed u7s and its applets ($applets) into $bindir" >&2
