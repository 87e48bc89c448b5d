#!/usr/bin/env bash
# Peak memory of `baseguard check` on the largest resource: one Pod with N
# containers (default 400,000: a 15 MB manifest), JSON output, built-in
# policy. Reports wall time, CPU time and peak RSS (/usr/bin/time).
#   bench/check-memory.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-400000}
out=bench/out
mkdir -p "$out"
bench/build.sh "$out/baseguard"
go run ./bench/gen -one-pod "$n" > "$out/one-pod.yaml"
echo "input: one Pod, $n containers, $(du -h "$out/one-pod.yaml" | cut -f1)"
/usr/bin/time -f "wall %e s  cpu %U+%S s  peak RSS %M KiB" \
  "$out/baseguard" check -o json "$out/one-pod.yaml" > "$out/one-pod.json" || true
echo "results: $(grep -c '"result"' "$out/one-pod.json")"
