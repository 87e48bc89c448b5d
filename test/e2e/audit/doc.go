// Package audit tests `baseguard audit` end to end on a real kube-apiserver
// and etcd (envtest binaries from hack/k8s-binaries.sh) with no admission
// webhook, so that workloads the policy fails can exist, and images in
// in-memory registries on loopback: the inventory numbers, the results,
// --base, PolicyReports, the background audit with two replicas, and the
// HTML report in headless Chromium.
package audit
