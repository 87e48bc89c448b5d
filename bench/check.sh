#!/usr/bin/env bash
# Times `baseguard check` on generated resources with the seed policy, on one
# core, and reports resources/s, peak memory and start-up time.
#   bench/check.sh [N]      (default N=10000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000}
out=bench/out
mkdir -p "$out"
bench/build.sh "$out/baseguard"
go run ./bench/gen -n "$n" > "$out/resources.yaml"
policy=examples/policies/seed-policy.yaml

# best CMD...: the best wall time and peak RSS (KiB) of five runs.
best() {
  rm -f "$out"/time.*
  for i in 1 2 3 4 5; do
    /usr/bin/time -f "%e %M" -o "$out/time.$i" "$@" > "$out/results.json" || true
  done
  for f in "$out"/time.*; do tail -1 "$f"; done | sort -n | head -1
}
report() { # label "secs kib"
  local secs=${2% *} kib=${2#* }
  awk -v l="$1" -v n="$n" -v s="$secs" -v k="$kib" \
    'BEGIN { printf "%-10s %6.2f s  %7.0f resources/s  peak RSS %.1f MiB\n", l, s, n / s, k / 1024 }'
}

"$out/baseguard" check -p "$policy" -o json "$out/resources.yaml" > /dev/null || true # warm the page cache
echo "resources: $n ($(du -h "$out/resources.yaml" | cut -f1) of YAML), policy $policy, JSON output"
report "one core" "$(best env GOMAXPROCS=1 taskset -c 0 "$out/baseguard" check -p "$policy" -o json "$out/resources.yaml")"
report "all cores" "$(best "$out/baseguard" check -p "$policy" -o json "$out/resources.yaml")"
echo "results:   $(grep -c '"result"' "$out/results.json")"

# Start-up: a check of one small file, 200 times.
start=$(date +%s%N)
for i in $(seq 200); do
  "$out/baseguard" check examples/services/api/Dockerfile > /dev/null
done
end=$(date +%s%N)
awk -v ns=$((end - start)) 'BEGIN { printf "start-up:         %.1f ms per run (check of one Dockerfile, mean of 200)\n", ns / 200 / 1e6 }'
