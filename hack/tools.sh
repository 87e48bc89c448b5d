#!/usr/bin/env bash
# Builds the image builders whose output baseguard reads — ko, crane, and
# BuildKit's buildkitd and buildctl with runc — from their Go modules, and
# caches them.
#
#   dir=$(hack/tools.sh)      # absolute path of a directory holding the five
#   export BASEGUARD_TOOLS="$dir"
#
# stdout carries only that path; all progress goes to stderr. When every tool
# is already cached the script prints the path and exits at once.
#
# Environment:
#   KO_VERSION        github.com/google/ko                 (default v0.19.1)
#   CRANE_VERSION     github.com/google/go-containerregistry (default v0.22.1)
#   BUILDKIT_VERSION  github.com/moby/buildkit             (default v0.34.2)
#   RUNC_VERSION      github.com/opencontainers/runc       (default v1.5.3)
#   BASEGUARD_CACHE   cache root                 (default $HOME/.cache/baseguard)
#
# Layout: $BASEGUARD_CACHE/tools/<tool>-<version>/ holds each tool's binaries;
# $BASEGUARD_CACHE/tools/set-ko<v>-crane<v>-buildkit<v>-runc<v>/ links them
# into one directory, the one printed. A first build of all of them takes
# about 10 minutes on 2 cores (BuildKit most of it). Each tool is built with
# its own GOCACHE, removed after success and kept after a failure so that a
# rerun resumes; downloaded modules stay in the normal GOMODCACHE.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

norm() { printf 'v%s' "${1#v}"; }
KO_VERSION="$(norm "${KO_VERSION:-v0.19.1}")"
CRANE_VERSION="$(norm "${CRANE_VERSION:-v0.22.1}")"
BUILDKIT_VERSION="$(norm "${BUILDKIT_VERSION:-v0.34.2}")"
RUNC_VERSION="$(norm "${RUNC_VERSION:-v1.5.3}")"

tools_root="$(cache_root)/tools"
set_dir="$tools_root/set-ko${KO_VERSION#v}-crane${CRANE_VERSION#v}-buildkit${BUILDKIT_VERSION#v}-runc${RUNC_VERSION#v}"

# tool name, version, binaries it provides
tools=(
  "ko $KO_VERSION ko"
  "crane $CRANE_VERSION crane"
  "buildkit $BUILDKIT_VERSION buildkitd buildctl"
  "runc $RUNC_VERSION runc"
)
binaries=(ko crane buildkitd buildctl runc)

print_if_cached "$set_dir" "${binaries[@]}"
start_build tools "$tools_root" "$set_dir" "${binaries[@]}"

work="$(mktemp -d "$tools_root/.tools-build.XXXXXX")"
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# module_dir prints where the module proxy's copy of module@version is.
module_dir() {
  go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# build_ko, build_crane, ... build into $1 (an empty directory).
build_ko() {
  CGO_ENABLED=0 GOBIN="$1" go install -trimpath -ldflags "-s -w" "github.com/google/ko@$KO_VERSION"
}

build_crane() {
  CGO_ENABLED=0 GOBIN="$1" go install -trimpath -ldflags "-s -w" \
    "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
}

# BuildKit's go.mod has exclude directives, which `go install pkg@version`
# refuses: build its commands from a copy of the module's own root.
build_buildkit() {
  local src
  src="$(module_dir github.com/moby/buildkit "$BUILDKIT_VERSION")"
  [[ -d "$src" ]] || { log "cannot download github.com/moby/buildkit@$BUILDKIT_VERSION"; return 1; }
  cp -R "$src" "$work/buildkit-src"
  chmod -R u+w "$work/buildkit-src"
  (
    cd "$work/buildkit-src"
    CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
      -ldflags "-s -w -X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION" \
      -o "$1/" ./cmd/buildkitd ./cmd/buildctl
  )
}

# runc needs cgo (its nsenter is C); built without the seccomp tag it needs
# no libseccomp, and builds without RUN steps never start a container.
build_runc() {
  CGO_ENABLED=1 GOBIN="$1" go install -trimpath -ldflags "-s -w" \
    "github.com/opencontainers/runc@$RUNC_VERSION"
}

start=$SECONDS
for t in "${tools[@]}"; do
  read -r tool version bins <<<"$t"
  dir="$tools_root/$tool-${version#v}"
  ok=1
  for b in $bins; do [[ -x "$dir/$b" ]] || ok=0; done
  if (( ok )); then
    log "$tool $version: cached in $dir"
    continue
  fi
  export GOCACHE="$tools_root/gocache-$tool"
  out="$work/out-$tool"
  mkdir -p "$out"
  log "$tool $version: building (GOCACHE=$GOCACHE)"
  TIMEFORMAT="[tools] $tool $version: %0Rs wall, %0Us user + %0Ss sys CPU"
  time "build_$tool" "$out"
  for b in $bins; do
    [[ -x "$out/$b" ]] || { log "missing $b after building $tool"; exit 1; }
  done
  rm -rf "$dir"
  mv "$out" "$dir"                 # same filesystem: an atomic rename
  rm -rf "$GOCACHE"
done

# Link the set together, then rename it into place.
tmp_set="$work/set"
mkdir -p "$tmp_set"
for t in "${tools[@]}"; do
  read -r tool version bins <<<"$t"
  for b in $bins; do
    ln -s "../$tool-${version#v}/$b" "$tmp_set/$b"
  done
done
# The links are relative to the set's final place: check them there.
rm -rf "$set_dir"
mv "$tmp_set" "$set_dir"
holds_all "$set_dir" "${binaries[@]}" || { log "the links in $set_dir are broken"; exit 1; }
"$set_dir/ko" version >&2
"$set_dir/crane" version >&2
"$set_dir/buildkitd" --version >&2
"$set_dir/buildctl" --version >&2
"$set_dir/runc" --version >&2
log "done in $((SECONDS - start))s: $set_dir"
printf '%s\n' "$set_dir" >&3
