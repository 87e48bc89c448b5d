// Package parity holds baseguard's manifest reader to kubectl: on generated
// documents (keys written twice, merge keys, anchors, !!binary, Lists and
// typed Lists, JSON, streams), every image `kubectl create --dry-run=client`
// would apply is an image baseguard judges, at the same field, and the
// documents baseguard refuses are exactly those written to be ambiguous.
//
// kubectl needs an API server to map kinds: the tests start etcd and
// kube-apiserver with controller-runtime's envtest, from the binaries
// hack/k8s-binaries.sh builds (KUBEBUILDER_ASSETS). Without them the tests
// skip, saying why, unless BASEGUARD_E2E is set, in which case they fail.
package parity
