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
# Layout: $BASEGUARD_CACHE/tools/helm-<version>/helm (hack/lib.sh). A first build takes
# about 11 minutes of CPU, some 6 minutes alone on 2 cores (BENCHMARKS.md).
# It uses its own GOCACHE, removed after success and kept after a failure so
# that a rerun resumes; downloaded modules stay in the normal GOMODCACHE.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/hack/lib.sh"

if [[ -z "${HELM_VERSION:-}" ]]; then
  HELM_VERSION="$(sed -n 's|^[[:space:]]*helm\.sh/helm/v4 \(v[^[:space:]]*\).*|\1|p' "$root/go.mod" | head -n1)"
  [[ -n "$HELM_VERSION" ]] || { echo "[helm] go.mod requires no helm.sh/helm/v4: set HELM_VERSION" >&2; exit 1; }
fi
HELM_VERSION="v${HELM_VERSION#v}"

# helm runs with its caches and configuration in the build's scratch.
check_tool() { HELM_CACHE_HOME="$2" HELM_CONFIG_HOME="$2" HELM_DATA_HOME="$2" "$1" version; }

# The version stamp helm's Makefile sets for a tagged build.
pkg=helm.sh/helm/v4/internal/version
go_tool helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm \
  "-s -w -X $pkg.version=$HELM_VERSION -X $pkg.gitTreeState=clean" "$@"
