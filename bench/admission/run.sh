#!/usr/bin/env bash
# Builds baseguard, starts `baseguard serve` on loopback with fresh
# certificates, runs the load generator against it, and stops the server.
# Arguments are passed to the load generator (see: go run ./bench/admission -h).
#
#   bench/admission/run.sh -rates 500,1000,2000,3000 -duration 10s -concurrency 8
#
# BENCH_TRUST=1 judges signatures and scans instead: bench/admission/trustworld
# serves a loopback registry of BENCH_TRUST_APPS apps (default 20) on signed,
# scanned bases, serve runs with --resolve and its policy, each request is
# posted once (and must be allowed; an app on an unsigned base must be
# refused) to warm the caches, and the registry
# requests made during the measured runs are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
server_pid=""
world_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n "$world_pid" ]]; then kill "$world_pid" 2>/dev/null || true; wait "$world_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bench/build.sh "$work/baseguard"   # as released and installed (see bench/build.sh)
go build -o "$work/bench" ./bench/admission
"$work/baseguard" certs --dir "$work/certs" --dns-name 127.0.0.1 >/dev/null 2>&1

requests=admission/testdata/requests
serve_args=()
if [[ "${BENCH_TRUST:-}" == 1 ]]; then
  go build -o "$work/trustworld" ./bench/admission/trustworld
  "$work/trustworld" -dir "$work/trust" -apps "${BENCH_TRUST_APPS:-20}" >"$work/trustworld.log" 2>&1 &
  world_pid=$!
  for _ in $(seq 300); do grep -q '^ready' "$work/trustworld.log" && break; sleep 0.1; done
  grep '^ready' "$work/trustworld.log" || { cat "$work/trustworld.log" >&2; exit 1; }
  serve_args=(--resolve --policy "$work/trust/policy.yaml")
  requests="$work/trust/requests"
fi

addr="127.0.0.1:${BENCH_PORT:-18443}"
"$work/baseguard" serve --listen "$addr" --no-namespace-labels --log-level warn \
  --tls-cert-file "$work/certs/tls.crt" --tls-private-key-file "$work/certs/tls.key" \
  "${serve_args[@]}" 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 50); do
  curl -fsS --cacert "$work/certs/ca.crt" "https://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2   # let the idle heap settle before the idle RSS is read
echo "server: pid $server_pid, $(nproc) CPUs, $(go version | cut -d' ' -f3), GOMAXPROCS=${GOMAXPROCS:-default}"
if [[ -n "$world_pid" ]]; then
  allowed=0 total=0
  for f in "$requests"/*.json; do
    total=$((total + 1))
    curl -fsS --cacert "$work/certs/ca.crt" -H 'Content-Type: application/json' \
      --data-binary "@$f" "https://$addr/validate" | grep -q '"allowed":true' && allowed=$((allowed + 1))
  done
  echo "warm-up: $allowed of $total requests allowed"
  curl -fsS --cacert "$work/certs/ca.crt" -H 'Content-Type: application/json' \
    --data-binary "@$work/trust/refused/unsigned.json" "https://$addr/validate" | grep -q 'is not signed' \
    || { echo "an app on an unsigned base was not refused: the trust rules do not apply" >&2; exit 1; }
  [[ "$allowed" == "$total" ]] || { echo "a trusted app was not allowed: the benchmark would measure refusals" >&2; cat "$work/serve.log" >&2; exit 1; }
  kill -USR1 "$world_pid"
fi
"$work/bench" -addr "$addr" -ca "$work/certs/ca.crt" -pid "$server_pid" -requests "$requests" "$@"
if [[ -n "$world_pid" ]]; then
  kill -USR1 "$world_pid"; sleep 0.2
  counts=($(grep '^registry requests' "$work/trustworld.log" | awk '{print $NF}'))
  echo "registry requests: ${counts[0]} during the warm-up, $((counts[1] - counts[0])) during the measured runs"
fi
grep -v '"level":"WARN","msg":"no cluster' "$work/serve.log" | head -5 || true
