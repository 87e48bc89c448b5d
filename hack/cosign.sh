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
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

COSIGN_VERSION="v${COSIGN_VERSION:-v3.1.3}"
COSIGN_VERSION="v${COSIGN_VERSION##*v}"

check_tool() { "$1" version || true; }

# Like the release builds: no PKCS#11, no C toolchain (CGO_ENABLED=0).
go_tool cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v3/cmd/cosign \
  "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION" "$@"
