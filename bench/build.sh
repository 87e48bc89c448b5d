#!/usr/bin/env bash
# Builds baseguard as it is released and installs it where the benchmarks
# run it:
#   bench/build.sh OUT   (writes OUT, run from the repository root)
# CGO_ENABLED=0, as .ko.yaml and the Dockerfile build it: with cgo, Helm's
# import of `plugin` makes the linker export every symbol (17 MB of
# dynamic symbol tables) and the binary is linked externally. The binary is
# then copied, as an install would: pages of a file fresh from a linker can
# be mapped 2 MiB at a time (FilePmdMapped in /proc/PID/smaps_rollup), which
# counts tens of MiB of untouched pages in RSS.
set -euo pipefail
out=$1
CGO_ENABLED=0 go build -trimpath -o "$out.linked" ./cmd/baseguard
cp "$out.linked" "$out"
rm "$out.linked"
