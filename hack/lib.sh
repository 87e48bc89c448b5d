# Sourced by the scripts that build tools from their Go modules and cache
# them (k8s-binaries.sh, tools.sh, helm.sh, cosign.sh, release-tools.sh);
# not run on its own. Each prints only its cache directory on stdout, at
# once when the tool is cached, and otherwise builds it under a lock, with
# progress on stderr.

# log prints its arguments on stderr, after the tag start_build set.
log_tag=build
log() { printf '[%s] %s\n' "$log_tag" "$*" >&2; }

# cache_root prints the cache root, absolute: $BASEGUARD_CACHE, by default
# $HOME/.cache/baseguard.
cache_root() {
  local root="${BASEGUARD_CACHE:-$HOME/.cache/baseguard}"
  case "$root" in
    /*) ;;
    *) root="$PWD/$root" ;;
  esac
  printf '%s\n' "$root"
}

# holds_all DIR NAME...: whether DIR holds every NAME, executable.
holds_all() {
  local dir="$1" name
  shift
  for name in "$@"; do
    [[ -x "$dir/$name" ]] || return 1
  done
}

# print_if_cached DIR NAME...: the fast path, a few stat calls: when DIR
# holds every NAME, print DIR and end the script.
print_if_cached() {
  if holds_all "$@"; then
    printf '%s\n' "$1"
    exit 0
  fi
}

# start_build TAG ROOT DIR NAME...: the slow path's start, at the script's
# top level. Keeps the real stdout on fd 3 for the final answer and sends
# the rest to stderr; tags log's lines; needs go; takes ROOT/.TAG.lock
# (waiting for a build that holds it, and ending the script with DIR when
# that build made every NAME); removes scratch a killed build left
# (ROOT/.TAG-build.*); and sets the Go environment of a reproducible build
# of a module.
start_build() {
  local tag="$1" root="$2" dir="$3"
  shift 3
  exec 3>&1 1>&2
  log_tag="$tag"
  command -v go >/dev/null || { log "go is not on PATH"; exit 1; }
  mkdir -p "$root"
  # One build at a time (e.g. parallel test packages calling the script).
  if command -v flock >/dev/null; then
    exec 9>"$root/.$tag.lock"
    if ! flock -n 9; then
      log "another build holds $root/.$tag.lock; waiting"
      flock 9
    fi
    if holds_all "$dir" "$@"; then
      printf '%s\n' "$dir" >&3
      exit 0
    fi
    rm -rf "$root/.$tag-build."*
  fi
  export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-buildvcs=false
}

# go_tool NAME VERSION PACKAGE LDFLAGS [--if-cached]: the whole script of a
# tool that is one binary, built from PACKAGE@VERSION (`go install -trimpath`
# with LDFLAGS, CGO_ENABLED=0) into $BASEGUARD_CACHE/tools/NAME-<version>/.
# With --if-cached it never builds (exit 1 when not cached). Before the build
# is moved into place, the caller's `check_tool BINARY SCRATCH`, when
# defined, runs the new binary. The build has its own GOCACHE, removed after
# success and kept after a failure so that a rerun resumes; downloaded
# modules stay in the normal GOMODCACHE.
go_tool() {
  local name="$1" version="v${2#v}" package="$3" ldflags="$4" mode="${5:-}"
  local root dir
  root="$(cache_root)/tools"
  dir="$root/$name-${version#v}"
  print_if_cached "$dir" "$name"
  if [[ "$mode" == "--if-cached" ]]; then
    printf '[%s] not built: run hack/%s.sh (%s %s into %s)\n' "$name" "$name" "$name" "$version" "$dir" >&2
    exit 1
  fi
  start_build "$name" "$root" "$dir" "$name"
  export CGO_ENABLED=0 GOCACHE="$root/gocache-$name"
  work="$(mktemp -d "$root/.$name-build.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local start=$SECONDS
  log "building $name $version into $dir (GOCACHE=$GOCACHE)"
  GOBIN="$work/bin" go install -trimpath -ldflags "$ldflags" "$package@$version"
  [[ -x "$work/bin/$name" ]] || { log "missing $name after the build"; exit 1; }
  if declare -F check_tool >/dev/null; then
    check_tool "$work/bin/$name" "$work"
  fi
  rm -rf "$dir"
  mv "$work/bin" "$dir"          # same filesystem: an atomic rename
  rm -rf "$GOCACHE"
  log "done in $((SECONDS - start))s: $dir"
  printf '%s\n' "$dir" >&3
}
