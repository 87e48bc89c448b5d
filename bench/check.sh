#!/usr/bin/env bash
# Times `baseguard check` on generated resources with the seed policy, on one
# core, and reports resources/s, peak memory and start-up time.
#   bench/check.sh [N]      (default N=10000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
out=bench/out
mkdir -p "$out"
go build -trimpath -o "$out/baseguard" ./cmd/baseguard
go run ./bench/gen -n "$n" > "$out/resources.yaml"
policy=examples/policies/seed-policy.yaml

# Warm the page cache, then measure on one core with GOMAXPROCS=1.
"$out/baseguard" check -p "$policy" -o json "$out/resources.yaml" > /dev/null || true
for i in 1 2 3; do
  /usr/bin/time -f "%e %M" -o "$out/time.$i" env GOMAXPROCS=1 taskset -c 0 \
    "$out/baseguard" check -p "$policy" -o json "$out/resources.yaml" > "$out/results.json" || true
done
best=$(for f in "$out"/time.*; do tail -1 "$f"; done | sort -n | head -1)
secs=${best% *}; kib=${best#* }
results=$(grep -c '"result"' "$out/results.json")
echo "resources:        $n ($(du -h "$out/resources.yaml" | cut -f1) of YAML, $results results)"
echo "wall time (best): ${secs}s"
awk -v n="$n" -v s="$secs" 'BEGIN { printf "throughput:       %.0f resources/s on one core\n", n / s }'
awk -v k="$kib" 'BEGIN { printf "peak RSS:         %.1f MiB\n", k / 1024 }'

# Start-up: a check of one small file, 200 times.
start=$(date +%s%N)
for i in $(seq 200); do
  "$out/baseguard" check examples/services/api/Dockerfile > /dev/null
done
end=$(date +%s%N)
awk -v ns=$((end - start)) 'BEGIN { printf "start-up:         %.1f ms per run (check of one Dockerfile, mean of 200)\n", ns / 200 / 1e6 }'
