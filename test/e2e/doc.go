// Package e2e tests baseguard's admission webhook against a real
// kube-apiserver and etcd (controller-runtime's envtest), with the real
// kubectl: what a cluster user sees when the webhook denies, warns or is
// down.
//
// The control-plane binaries come from hack/k8s-binaries.sh (KUBEBUILDER_ASSETS,
// or its cache under $BASEGUARD_CACHE or ~/.cache/baseguard). Without them the
// tests skip, saying why, unless BASEGUARD_E2E is set, in which case they
// fail: CI sets it so that a missing binary is never a silent pass.
//
// One API server and one in-process `baseguard serve` (admission.Server on
// 127.0.0.1, certificates from admission/pki) are shared by the package's
// tests (TestMain). There is no kubelet: pods are never scheduled, and
// admission is what is tested.
package e2e
