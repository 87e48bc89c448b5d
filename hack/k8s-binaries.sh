#!/usr/bin/env bash
# Builds the control-plane binaries that controller-runtime's envtest needs
# (etcd, kube-apiserver) plus kubectl, from Go modules only, and caches them.
#
#   dir=$(hack/k8s-binaries.sh)      # absolute path of the bin directory
#   export KUBEBUILDER_ASSETS="$dir"
#
# stdout carries only that path; all progress goes to stderr. When the three
# binaries are already cached the script prints the path and exits at once.
#
# Environment:
#   K8S_VERSION      Kubernetes version (default v1.37.2)
#   ETCD_VERSION     etcd version       (default v3.7.3)
#   BASEGUARD_CACHE  cache root         (default $HOME/.cache/baseguard)
#
# Layout: $BASEGUARD_CACHE/k8s/<k8s-version>-etcd<etcd-version>/bin/
# A first build takes ~13 minutes and ~2.4 GB of memory on 2 cores. It uses
# its own GOCACHE ($BASEGUARD_CACHE/k8s/gocache, ~3 GB), removed after a
# successful build and kept after a failed one so that a rerun resumes.
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
K8S_VERSION="v${K8S_VERSION#v}"
ETCD_VERSION="v${ETCD_VERSION#v}"

k8s_root="$(cache_root)/k8s"
version_dir="$k8s_root/${K8S_VERSION#v}-etcd${ETCD_VERSION#v}"
bin_dir="$version_dir/bin"
binaries=(etcd kube-apiserver kubectl)

print_if_cached "$bin_dir" "${binaries[@]}"
start_build k8s-binaries "$k8s_root" "$bin_dir" "${binaries[@]}"

k8s_minor_patch="${K8S_VERSION#v1.}"                  # 37.2 (or 37.0-rc.1)
staging_version="v0.${k8s_minor_patch}"               # v0.37.2
k8s_major=1
k8s_minor="${k8s_minor_patch%%.*}"                    # 37
if [[ "$K8S_VERSION" != v1.* || ! "$k8s_minor" =~ ^[0-9]+$ ]]; then
  log "unsupported K8S_VERSION $K8S_VERSION (expected v1.N.P)"
  exit 1
fi

export CGO_ENABLED=0     # like the official builds: static binaries, no C toolchain
export GOCACHE="$k8s_root/gocache"

work="$(mktemp -d "$k8s_root/.k8s-binaries-build.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
log "building kube-apiserver, kubectl $K8S_VERSION and etcd $ETCD_VERSION into $bin_dir"
log "$(go version); GOCACHE=$GOCACHE; scratch=$work"
mkdir -p "$work/bin"

# --- etcd -------------------------------------------------------------------
# go.etcd.io/etcd/server/v3 has replace directives in its go.mod, so it cannot
# be built with `go install pkg@version`. Build its root main package (it just
# calls etcdmain.Main(os.Args)) as a tool of a throwaway module instead.
log "etcd: resolving modules"
mkdir -p "$work/etcd"
(
  cd "$work/etcd"
  go mod init baseguard.invalid/k8s-binaries/etcd
  go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
              -tool=go.etcd.io/etcd/server/v3
  go mod tidy
  log "etcd: compiling"
  go build -trimpath -ldflags "-s -w" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3
)

# --- kube-apiserver, kubectl -----------------------------------------------
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go,
# ...) at v0.0.0 and replaces them with ./staging paths, which a dependent
# module cannot use. Replace each of them with its published v0.N.P release.
log "kubernetes: reading go.mod of k8s.io/kubernetes@$K8S_VERSION"
k8s_gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$k8s_gomod" ]] || { log "cannot find go.mod of k8s.io/kubernetes@$K8S_VERSION"; exit 1; }

# `go mod edit -print` normalises the formatting before the line-based parse.
k8s_gomod_text="$(go mod edit -print "$k8s_gomod")"
mapfile -t staging < <(awk '
  /^require[[:space:]]*\(/ { inreq = 1; next }
  inreq && /^\)/           { inreq = 0; next }
  /^require[[:space:]]/    { $0 = substr($0, 9); if ($1 ~ /^k8s\.io\// && $2 == "v0.0.0") print $1; next }
  inreq && $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
' <<<"$k8s_gomod_text")
(( ${#staging[@]} > 0 )) || { log "no k8s.io/* v0.0.0 requirements found in $k8s_gomod"; exit 1; }
log "kubernetes: replacing ${#staging[@]} staging modules with $staging_version"

# Carry over kubernetes' godebug settings (only a main module's apply).
mapfile -t godebug < <(awk '
  /^godebug[[:space:]]*\(/ { inblk = 1; next }
  inblk && /^\)/           { inblk = 0; next }
  /^godebug[[:space:]]/    { print $2; next }
  inblk && NF              { print $1 }
' <<<"$k8s_gomod_text")

mkdir -p "$work/kubernetes"
(
  cd "$work/kubernetes"
  go mod init baseguard.invalid/k8s-binaries/kubernetes
  edits=(-require="k8s.io/kubernetes@$K8S_VERSION"
         -tool=k8s.io/kubernetes/cmd/kube-apiserver
         -tool=k8s.io/kubernetes/cmd/kubectl)
  for m in "${staging[@]}"; do
    edits+=(-replace="$m=$m@$staging_version")
  done
  for g in ${godebug[@]+"${godebug[@]}"}; do
    edits+=(-godebug="$g")
  done
  go mod edit "${edits[@]}"
  log "kubernetes: resolving modules"
  go mod tidy

  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION"
    ldflags+=" -X $pkg.gitMajor=$k8s_major"
    ldflags+=" -X $pkg.gitMinor=$k8s_minor"
  done
  log "kubernetes: compiling kube-apiserver and kubectl (the long part)"
  go build -trimpath -ldflags "$ldflags" -o "$work/bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
)

# --- check, then move into place ---------------------------------------------
for b in "${binaries[@]}"; do
  [[ -x "$work/bin/$b" ]] || { log "missing $b after build"; exit 1; }
done
"$work/bin/etcd" --version >&2
"$work/bin/kube-apiserver" --version >&2
"$work/bin/kubectl" version --client >&2

mkdir -p "$version_dir"
rm -rf "$bin_dir"
mv "$work/bin" "$bin_dir"      # same filesystem: an atomic rename

rm -rf "$GOCACHE"              # ~3 GB, only useful to resume a failed build
log "done in $((SECONDS - start))s: $(du -sh "$bin_dir" | cut -f1) in $bin_dir"
printf '%s\n' "$bin_dir" >&3
