#!/bin/sh
# Stand-in for crio in the systemd-booted containers (tests/nspawn_systemd,
# tests/doctor_systemd, tests/multihost): takes the configuration u7s's crio
# role passes, as crio takes it (--config FILE first), records its
# arguments, uid, CRI-O/containers environment and that file in its home,
# listens on the socket the file names (kubeadm's preflight and u7s's wait
# for crio.sock need it) and exits on SIGTERM. No CRI is modelled.
set -eu
[ "$1" = --config ] || { echo "crio stand-in: expected --config first, got $*" >&2; exit 2; }
{ echo "args: $*"; echo "uid: $(id -u)"; env | grep -E '^_CR|^_CONTAINERS' | sort; } > "$HOME/crio-standin.record"
cp "$2" "$HOME/crio-standin.conf"
sock=$(sed -n 's/^listen = "\(.*\)"$/\1/p' "$2")
[ -n "$sock" ] || { echo "crio stand-in: no listen = in $2" >&2; exit 2; }
exec python3 -c '
import os, signal, socket, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
path = sys.argv[1]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
while True:
    s.accept()[0].close()
' "$sock" u7s-crio-standin
