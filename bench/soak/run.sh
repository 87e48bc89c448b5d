#!/usr/bin/env bash
# Builds baseguard, starts `baseguard serve` on loopback as the chart runs
# it (GOMEMLIMIT at the chart's memory request, the chart's memory budget),
# drives the abusive patterns at it with bench/soak, and stops the server.
# Arguments are passed to bench/soak (see: go run ./bench/soak -h).
#
#   bench/soak/run.sh -duration 30s
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bench/build.sh "$work/baseguard"
go build -o "$work/soak" ./bench/soak
"$work/baseguard" certs --dir "$work/certs" --dns-name 127.0.0.1 >/dev/null 2>&1

# The chart's values: GOMEMLIMIT from resources.requests.memory,
# --memory-budget from server.memoryBudget.
request="$(sed -n '/^resources:/,/^[^ #]/{/requests:/,/limits:/{s/^ *memory: *//p}}' charts/baseguard/values.yaml)"
limit="$(sed -n '/^resources:/,/^[^ #]/{/limits:/,/^[^ ]/{s/^ *memory: *//p}}' charts/baseguard/values.yaml)"
budget="$(sed -n 's/^  memoryBudget: *//p' charts/baseguard/values.yaml)"
ulimit -n 65536 2>/dev/null || true

addr="127.0.0.1:${BENCH_PORT:-18443}"
probe_addr="127.0.0.1:${BENCH_PROBE_PORT:-18081}"
GOMEMLIMIT="$(numfmt --from=iec-i "$request")" "$work/baseguard" serve --listen "$addr" --probe-listen "$probe_addr" --no-namespace-labels --log-level error \
  --memory-budget "$budget" \
  --tls-cert-file "$work/certs/tls.crt" --tls-private-key-file "$work/certs/tls.key" \
  2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 50); do
  curl -fsS --cacert "$work/certs/ca.crt" "https://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2
echo "load average before the soak: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: pid $server_pid, $(nproc) CPUs, $(go version | cut -d' ' -f3); chart: memory request $request (GOMEMLIMIT), limit $limit, --memory-budget $budget"
"$work/soak" -addr "$addr" -probe-addr "$probe_addr" -ca "$work/certs/ca.crt" -pid "$server_pid" "$@"
echo "load average after the soak: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server still running after the soak: $(kill -0 "$server_pid" 2>/dev/null && echo yes || echo NO)"
head -5 "$work/serve.log" || true
