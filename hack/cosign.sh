#!/usr/bin/env bash
# Builds cosign, whose signatures and attestations baseguard verifies, from
# its Go module, and caches it.
#
#   dir=$(hack/cosign.sh)        # absolute path of a directory holding cosign
#   export BASEGUARD_COSIGN="$dir"
#   hack/cosign.sh --if-cached   # prints the directory, or exits 1 at once
#
# stdout carries only that path; all progress goes to stderr. When cosign is
# already cached the script prints the path and exits at once.
#
# Environment:
#   COSIGN_VERSION   github.com/sigstore/cosign/v3   (default v3.1.3)
#   BASEGUARD_CACHE  cache root            (default $HOME/.cache/baseguard)
#
# Layout: $BASEGUARD_CACHE/tools/cosign-<version>/cosign. cosign pulls in
# every cloud KMS SDK: a first build took 70 minutes on a 2-core machine busy
# with other builds (expect far less on an idle one). It uses its own GOCACHE,
# removed after success and kept after a failure so that a rerun resumes;
# downloaded modules stay in the normal GOMODCACHE.
set -euo pipefail

COSIGN_VERSION="v${COSIGN_VERSION:-v3.1.3}"
COSIGN_VERSION="v${COSIGN_VERSION##*v}"

cache_root="${BASEGUARD_CACHE:-$HOME/.cache/baseguard}"
case "$cache_root" in
  /*) ;;
  *) cache_root="$PWD/$cache_root" ;;
esac
tools_root="$cache_root/tools"
dir="$tools_root/cosign-${COSIGN_VERSION#v}"

cached() { [[ -x "$dir/cosign" ]]; }

# Fast path: one stat call.
if cached; then
  printf '%s\n' "$dir"
  exit 0
fi
if [[ "${1:-}" == "--if-cached" ]]; then
  printf '[cosign] not built: run hack/cosign.sh (cosign %s into %s)\n' "$COSIGN_VERSION" "$dir" >&2
  exit 1
fi

# Slow path. Keep the real stdout on fd 3 for the final answer.
exec 3>&1 1>&2
log() { printf '[cosign] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
mkdir -p "$tools_root"

# One build at a time (e.g. parallel test packages calling this script).
if command -v flock >/dev/null; then
  exec 9>"$tools_root/.cosign.lock"
  if ! flock -n 9; then
    log "another build holds $tools_root/.cosign.lock; waiting"
    flock 9
  fi
  if cached; then
    printf '%s\n' "$dir" >&3
    exit 0
  fi
  rm -rf "$tools_root"/.cosign-build.*    # scratch left by a killed build
fi

export GOTOOLCHAIN=local
export GOWORK=off
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0     # like the release builds: no PKCS#11, no C toolchain
export GOCACHE="$tools_root/gocache-cosign"

work="$(mktemp -d "$tools_root/.cosign-build.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
log "building cosign $COSIGN_VERSION into $dir (GOCACHE=$GOCACHE)"
pkg=sigs.k8s.io/release-utils/version
GOBIN="$work/bin" go install -trimpath \
  -ldflags "-s -w -X $pkg.gitVersion=$COSIGN_VERSION" \
  "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"
[[ -x "$work/bin/cosign" ]] || { log "missing cosign after the build"; exit 1; }
"$work/bin/cosign" version >&2 || true

rm -rf "$dir"
mv "$work/bin" "$dir"          # same filesystem: an atomic rename
rm -rf "$GOCACHE"
log "done in $((SECONDS - start))s: $dir"
printf '%s\n' "$dir" >&3
