#!/usr/bin/env bash
# Runs every test: unit tests, fuzz seed corpora, the end-to-end tests
# against a real kube-apiserver and etcd (built from Go modules and cached by
# hack/k8s-binaries.sh; the first build takes about 15 minutes), and the
# lineage tests on images built by the real ko, crane and BuildKit (built and
# cached by hack/tools.sh; the first build takes about 10 minutes), and the
# integrations under the tools they plug into (pre-commit; goreleaser and krew,
# built and cached by hack/release-tools.sh). Those build images with
# buildkitd and ko, hence the longer test timeout.
# The trust tests verify signatures the real cosign makes (built and cached
# by hack/cosign.sh).
# The chart's tests run the real helm (built and cached by hack/helm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
# The pre-commit hook is tested under the real pre-commit (Debian's package).
if ! command -v pre-commit >/dev/null; then
  echo "installing pre-commit (Debian package) for the hook's test" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pre-commit >&2
fi
KUBEBUILDER_ASSETS="$(hack/k8s-binaries.sh)"
BASEGUARD_TOOLS="$(hack/tools.sh)"
BASEGUARD_CHROMIUM="$(hack/chromium.sh)"   # the HTML report's test; Debian's chromium when missing
BASEGUARD_RELEASE_TOOLS="$(hack/release-tools.sh)"
BASEGUARD_HELM="$(hack/helm.sh)"           # the chart's tests: lint, template, dry runs, deploy/ in step
BASEGUARD_COSIGN="$(hack/cosign.sh)"       # the trust tests: signatures and attestations the real cosign makes
export KUBEBUILDER_ASSETS BASEGUARD_TOOLS BASEGUARD_CHROMIUM BASEGUARD_RELEASE_TOOLS BASEGUARD_HELM BASEGUARD_COSIGN BASEGUARD_E2E=1
go vet ./...
go test -count=1 -timeout 30m ./...
