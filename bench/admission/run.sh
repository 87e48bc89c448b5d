#!/usr/bin/env bash
# Builds baseguard, starts `baseguard serve` on loopback with fresh
# certificates, runs the load generator against it, and stops the server.
# Arguments are passed to the load generator (see: go run ./bench/admission -h).
#
#   bench/admission/run.sh -rates 500,1000,2000,3000 -duration 10s -concurrency 8
set -euo pipefail
cd "$(dirname "$0")/../.."

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bench/build.sh "$work/baseguard"   # as released and installed (see bench/build.sh)
go build -o "$work/bench" ./bench/admission
"$work/baseguard" certs --dir "$work/certs" --dns-name 127.0.0.1 >/dev/null 2>&1

addr="127.0.0.1:${BENCH_PORT:-18443}"
"$work/baseguard" serve --listen "$addr" --no-namespace-labels --log-level warn \
  --tls-cert-file "$work/certs/tls.crt" --tls-private-key-file "$work/certs/tls.key" \
  2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 50); do
  curl -fsS --cacert "$work/certs/ca.crt" "https://$addr/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2   # let the idle heap settle before the idle RSS is read
echo "server: pid $server_pid, $(nproc) CPUs, $(go version | cut -d' ' -f3), GOMAXPROCS=${GOMAXPROCS:-default}"
"$work/bench" -addr "$addr" -ca "$work/certs/ca.crt" -pid "$server_pid" -requests admission/testdata/requests "$@"
grep -v '"level":"WARN","msg":"no cluster' "$work/serve.log" | head -5 || true
