#!/bin/sh
# Vendors the crates of a u7s source tree for a build with no network, as
# ALT's build system (hasher) runs it:
#   OUTDIR/vendor/              `cargo vendor` of the tree's Cargo.lock
#   OUTDIR/.cargo/config.toml   the source replacement cargo vendor prints,
#                               pointing cargo at ./vendor
# Unpacked into the source tree, `cargo build --release --locked --offline`
# then needs neither crates.io nor a cargo home.
# Usage: packaging/vendor.sh OUTDIR [SOURCE_DIR]   (default: this checkout)
# OUTDIR's vendor/ and .cargo/ are replaced. Needs the crates in cargo's
# cache or the network (it is the packager's step, not the build's).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: packaging/vendor.sh OUTDIR [SOURCE_DIR]" >&2
    exit 2
fi
out=$1
src=${2:-$(cd "$(dirname "$0")/.." && pwd)}
cargo=${CARGO:-cargo}

if [ ! -f "$src/Cargo.lock" ]; then
    echo "vendor.sh: $src/Cargo.lock is missing; vendoring follows the lock file exactly" >&2
    exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/vendor" "$out/.cargo"
mkdir -p "$out/.cargo"

# Run from OUTDIR with the relative path "vendor", so the printed
# configuration says directory = "vendor": relative to the tree it is
# unpacked into, wherever that is.
# (--quiet would drop that configuration too; its progress lines go to a
# log shown only when it fails.)
log="$out/.cargo/vendor.log"
if ! config=$(cd "$out" && "$cargo" vendor --locked --manifest-path "$src/Cargo.toml" vendor 2>"$log"); then
    cat "$log" >&2
    exit 1
fi
rm -f "$log"
case "$config" in
*'directory = "vendor"'*) ;;
*)
    echo "vendor.sh: cargo vendor printed no source replacement for ./vendor:" >&2
    printf '%s\n' "$config" >&2
    exit 1
    ;;
esac
{
    echo "# Written by packaging/vendor.sh from cargo vendor's output: the crates"
    echo "# of Cargo.lock come from ./vendor, never from the network."
    printf '%s\n' "$config"
} >"$out/.cargo/config.toml"
