// Command audit benchmarks `baseguard audit` on a generated cluster: a real
// kube-apiserver and etcd (envtest binaries, $KUBEBUILDER_ASSETS) holding
// Deployments, their ReplicaSets and Pods over a number of distinct images
// served by go-containerregistry's in-memory registry on loopback. It
// measures an in-process audit (wall time, API requests, registry requests,
// resolutions) and the real binary cold (wall time, peak RSS, registry
// requests), and prints a table for BENCHMARKS.md.
//
//	go build -o /tmp/baseguard ./cmd/baseguard
//	KUBEBUILDER_ASSETS=$(hack/k8s-binaries.sh) go run ./bench/audit -binary /tmp/baseguard
package main
