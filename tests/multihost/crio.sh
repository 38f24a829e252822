#!/bin/sh
# Stand-in for crio in u7s's multi-host test: takes the configuration u7s's
# crio role passes, listens on the socket it names (kubeadm's preflight and
# u7s's wait for crio.sock need it) and exits on SIGTERM. No CRI is modelled.
set -eu
[ "$1" = --config ] || { echo "crio stand-in: expected --config first, got $*" >&2; exit 2; }
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
