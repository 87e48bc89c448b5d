#!/usr/bin/env bash
# Builds helm, which lints, renders and installs charts/baseguard, from its Go
# module, and caches it.
#
#   dir=$(hack/helm.sh)        # absolute path of a directory holding helm
#   export BASEGUARD_HELM="$dir"
#   hack/helm.sh --if-cached   # prints the directory, or exits 1 at once
#
# stdout carries only that path; all progress goes to stderr. When helm is
# already cached the script prints the path and exits at once.
#
# Environment:
#   HELM_VERSION     helm.sh/helm/v4 (default: the version go.mod requires,
#                    so the CLI renders charts as baseguard's own `check` does)
#   BASEGUARD_CACHE  cache root      (default $HOME/.cache/baseguard)
#
# Layout: $BASEGUARD_CACHE/tools/helm-<version>/helm. A first build takes
# about 11 minutes of CPU, some 6 minutes alone on 2 cores (BENCHMARKS.md).
# It uses its own GOCACHE, removed after success and kept after a failure so
# that a rerun resumes; downloaded modules stay in the normal GOMODCACHE.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [[ -z "${HELM_VERSION:-}" ]]; then
  HELM_VERSION="$(sed -n 's|^[[:space:]]*helm\.sh/helm/v4 \(v[^[:space:]]*\).*|\1|p' "$root/go.mod" | head -n1)"
  [[ -n "$HELM_VERSION" ]] || { echo "[helm] go.mod requires no helm.sh/helm/v4: set HELM_VERSION" >&2; exit 1; }
fi
HELM_VERSION="v${HELM_VERSION#v}"

cache_root="${BASEGUARD_CACHE:-$HOME/.cache/baseguard}"
case "$cache_root" in
  /*) ;;
  *) cache_root="$PWD/$cache_root" ;;
esac
tools_root="$cache_root/tools"
dir="$tools_root/helm-${HELM_VERSION#v}"

cached() { [[ -x "$dir/helm" ]]; }

# Fast path: one stat call.
if cached; then
  printf '%s\n' "$dir"
  exit 0
fi
if [[ "${1:-}" == "--if-cached" ]]; then
  printf '[helm] not built: run hack/helm.sh (helm %s into %s)\n' "$HELM_VERSION" "$dir" >&2
  exit 1
fi

# Slow path. Keep the real stdout on fd 3 for the final answer.
exec 3>&1 1>&2
log() { printf '[helm] %s\n' "$*" >&2; }

command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
mkdir -p "$tools_root"

# One build at a time (e.g. parallel test packages calling this script).
if command -v flock >/dev/null; then
  exec 9>"$tools_root/.helm.lock"
  if ! flock -n 9; then
    log "another build holds $tools_root/.helm.lock; waiting"
    flock 9
  fi
  if cached; then
    printf '%s\n' "$dir" >&3
    exit 0
  fi
  rm -rf "$tools_root"/.helm-build.*    # scratch left by a killed build
fi

export GOTOOLCHAIN=local
export GOWORK=off
export GOFLAGS=-buildvcs=false
export CGO_ENABLED=0     # as helm's own release builds
export GOCACHE="$tools_root/gocache-helm"

work="$(mktemp -d "$tools_root/.helm-build.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
log "building helm $HELM_VERSION into $dir (GOCACHE=$GOCACHE)"
# The version stamp helm's Makefile sets for a tagged build.
pkg=helm.sh/helm/v4/internal/version
GOBIN="$work/bin" go install -trimpath \
  -ldflags "-s -w -X $pkg.version=$HELM_VERSION -X $pkg.gitTreeState=clean" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
[[ -x "$work/bin/helm" ]] || { log "missing helm after the build"; exit 1; }
HELM_CACHE_HOME="$work" HELM_CONFIG_HOME="$work" HELM_DATA_HOME="$work" \
  "$work/bin/helm" version >&2

rm -rf "$dir"
mv "$work/bin" "$dir"          # same filesystem: an atomic rename
rm -rf "$GOCACHE"
log "done in $((SECONDS - start))s: $dir"
printf '%s\n' "$dir" >&3
