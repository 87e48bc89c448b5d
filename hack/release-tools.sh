#!/usr/bin/env bash
# Builds the release tools whose input baseguard writes, goreleaser (for
# .goreleaser.yaml) and krew (for plugins/baseguard.yaml), from their Go
# modules, and caches them, so the tests check those files with the real
# tools.
#
#   dir=$(hack/release-tools.sh)      # absolute path of a directory holding both
#
# stdout carries only that path; progress goes to stderr. When both are
# cached the script prints the path and exits at once.
#
# Environment:
#   GORELEASER_VERSION  github.com/goreleaser/goreleaser/v2 (default v2.15.1)
#   KREW_VERSION        sigs.k8s.io/krew                   (default v0.4.3)
#   BASEGUARD_CACHE     cache root (default $HOME/.cache/baseguard)
#
# Layout: $BASEGUARD_CACHE/tools/<tool>-<version>/<tool>, linked into
# $BASEGUARD_CACHE/tools/release-goreleaser<v>-krew<v>/, the directory
# printed. Each tool is built with its own GOCACHE, removed after success.
# A first build takes about 5 minutes on 2 cores (goreleaser most of it).
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

norm() { printf 'v%s' "${1#v}"; }
GORELEASER_VERSION="$(norm "${GORELEASER_VERSION:-v2.15.1}")"
KREW_VERSION="$(norm "${KREW_VERSION:-v0.4.3}")"

tools_root="$(cache_root)/tools"
set_dir="$tools_root/release-goreleaser${GORELEASER_VERSION#v}-krew${KREW_VERSION#v}"

# name, version, package to install
tools=(
  "goreleaser $GORELEASER_VERSION github.com/goreleaser/goreleaser/v2"
  "krew $KREW_VERSION sigs.k8s.io/krew/cmd/krew"
)

print_if_cached "$set_dir" goreleaser krew
start_build release-tools "$tools_root" "$set_dir" goreleaser krew
export CGO_ENABLED=0
start=$SECONDS
mkdir -p "$set_dir"
for t in "${tools[@]}"; do
  read -r name version pkg <<<"$t"
  dir="$tools_root/$name-${version#v}"
  if [[ ! -x "$dir/$name" ]]; then
    log "building $name $version from $pkg"
    export GOCACHE="$tools_root/.gocache-$name"
    work="$(mktemp -d "$tools_root/.release-tools-build.XXXXXX")"
    GOBIN="$work" go install -trimpath -ldflags "-s -w -X main.version=${version#v}" "$pkg@$version"
    rm -rf "$dir"
    mv "$work" "$dir"
    rm -rf "$GOCACHE"
  fi
  ln -sfn "$dir/$name" "$set_dir/$name"
done
"$set_dir/goreleaser" --version >&2
"$set_dir/krew" version >&2 || true
log "ready in $((SECONDS - start))s: $set_dir"
printf '%s\n' "$set_dir" >&3
