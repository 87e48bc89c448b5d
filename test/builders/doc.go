// Package builders tests lineage on images built by the real ko, crane
// and BuildKit, as a user would read it: `baseguard inspect -o json`,
// `baseguard check --resolve`, and the Go API (lineage/registry).
//
// The tools come from hack/tools.sh (BASEGUARD_TOOLS, or its cache under
// $BASEGUARD_CACHE or ~/.cache/baseguard). The tests run when BASEGUARD_E2E
// is set, as hack/test.sh sets it; then a missing tool, a buildkitd that
// does not start or a build that fails is a failure, never a skip.
//
// TestMain serves go-containerregistry's in-memory registry on loopback
// (plain HTTP, referrers API on), starts buildkitd as root with the OCI
// worker and the native snapshotter on a temporary root, builds every image
// the tests read (Dockerfiles without RUN, so runc never starts a
// container), moves the tags the moved-tag tests need, then runs the tests.
package builders
