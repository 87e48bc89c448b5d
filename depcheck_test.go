package baseguard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDecisionCoreIsPure keeps the decision core free of I/O: the pure
// packages import no network, registry or Kubernetes client package, so a
// decision depends only on policies, a subject, its lineage and the time.
func TestDecisionCoreIsPure(t *testing.T) {
	pure := []string{"./imageref", "./subject", "./lineage", "./policy", "./report"}
	forbidden := []string{
		"net/http",
		"net/rpc",
		"github.com/google/go-containerregistry/pkg/v1/remote",
		"github.com/google/go-containerregistry/pkg/authn",
		"k8s.io/client-go",
		"sigs.k8s.io/controller-runtime",
		"github.com/baseguard/baseguard/lineage/registry",
		"github.com/baseguard/baseguard/admission",
	}
	for _, pkg := range pure {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, bad := range forbidden {
				if dep == bad || strings.HasPrefix(dep, bad+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
