#!/usr/bin/env bash
# Side by side: the Kyverno CLI and baseguard on the same policy and the same
# generated resources.
#   bench/kyverno.sh /path/to/kubectl-kyverno [N]      (default N=10000)
#
# Kyverno refuses the seed policy as written (a namespace on a ClusterPolicy,
# and the Contains operator); the comparison uses the closest policy Kyverno
# accepts: metadata.namespace dropped and `Contains "ubuntu"` written as
# `AnyIn ["*ubuntu*"]`. baseguard is given the same file.
set -euo pipefail
cd "$(dirname "$0")/.."
kyverno=${1:?usage: bench/kyverno.sh KUBECTL-KYVERNO [N]}
n=${2:-10000}
out=bench/out
mkdir -p "$out"
bench/build.sh "$out/baseguard"
go run ./bench/gen -n "$n" > "$out/resources.yaml"
grep -v '^  namespace: kyverno$' examples/policies/seed-policy.yaml |
  sed -e 's/operator: Contains/operator: AnyIn/' -e 's/value: "ubuntu"/value: ["*ubuntu*"]/' > "$out/seed-kyverno.yaml"

best() { # best wall time, its user time and peak RSS of three runs
  rm -f "$out"/ktime.*
  for i in 1 2 3; do
    /usr/bin/time -f "%e %U %M" -o "$out/ktime.$i" "$@" > /dev/null 2>&1 || true
  done
  for f in "$out"/ktime.*; do tail -1 "$f"; done | sort -n | head -1
}
row() { read -r wall user kib <<< "$2"; printf "%-28s %7.2f s wall %7.2f s CPU  %7.1f MiB\n" "$1" "$wall" "$user" "$(echo "$kib / 1024" | bc -l)"; }
echo "$n resources, $("$kyverno" version 2>/dev/null | head -1)"
k=$(best "$kyverno" apply "$out/seed-kyverno.yaml" --resource "$out/resources.yaml")
b=$(best "$out/baseguard" check -p "$out/seed-kyverno.yaml" -o json "$out/resources.yaml")
row "kyverno apply" "$k"
row "baseguard check -o json" "$b"
awk -v k="${k%% *}" -v b="${b%% *}" 'BEGIN { printf "baseguard is %.1fx faster\n", k / b }'
