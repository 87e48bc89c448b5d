package builders

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkPolicy judges what images are built on: on the upstream somewhere
// in the lineage, never on the builder stage, a verified base, current
// bases.
const checkPolicy = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: builders}
spec:
  action: enforce
  rules:
    - name: on-upstream
      allow: ["%[1]s/upstream/alpine:*"]
    - name: no-builder-stage
      deny: ["%[1]s/library/golang*"]
    - name: verified-base
      requireVerifiedBase: true
    - name: current-bases
      requireCurrentBase: true
`

// TestCheckResolve runs `check --resolve` over a Pod using the images, as
// CI would, with and without the upstream in the catalog.
func TestCheckResolve(t *testing.T) {
	needEnv(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(checkPolicy, host)), 0o644); err != nil {
		t.Fatal(err)
	}
	apps := []string{"ko-all", "ko-one", "ko-moving", "ko-legacy", "bk-min-v02", "bk-max-v1", "bk-pinned",
		"crane-oci", "crane-rebased", "crane-false", "crane-plain"}
	var pod strings.Builder
	pod.WriteString("apiVersion: v1\nkind: Pod\nmetadata: {name: apps, namespace: default}\nspec:\n  containers:\n")
	for _, a := range apps {
		fmt.Fprintf(&pod, "    - {name: %s, image: %s}\n", a, w.ref("apps/"+a+":1"))
	}
	manifest := filepath.Join(dir, "pod.yaml")
	if err := os.WriteFile(manifest, []byte(pod.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Results per container: on-upstream, no-builder-stage, verified-base, current-bases.
	want := map[string]string{
		"ko-all":        "pass pass pass pass",
		"ko-one":        "pass pass pass pass",
		"ko-moving":     "pass pass pass fail", // its base's tag moved: outdated, yet followed to the upstream
		"ko-legacy":     "fail pass pass fail", // the chain stops at the moved base: nothing guessed
		"bk-min-v02":    "pass pass pass pass",
		"bk-max-v1":     "pass pass pass pass",
		"bk-pinned":     "pass pass pass pass",
		"crane-oci":     "pass pass pass pass",
		"crane-rebased": "pass pass pass pass",
		"crane-false":   "fail pass fail pass",
		"crane-plain":   "fail pass fail fail", // no base known: every base rule fails
	}
	t.Run("no catalog", func(t *testing.T) {
		if diff := cmp.Diff(want, checkResults(t, "--resolve", "-o", "json", "-p", policy, manifest)); diff != "" {
			t.Errorf("check --resolve (-want +got):\n%s", diff)
		}
	})
	t.Run("upstream in the catalog", func(t *testing.T) {
		want["ko-legacy"] = "pass pass pass fail" // found by layers below the moved base
		want["crane-plain"] = "pass pass pass pass"
		got := checkResults(t, "--resolve", "-o", "json", "-p", policy, "--catalog", w.ref("upstream/alpine:3"), manifest)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("check --resolve --catalog (-want +got):\n%s", diff)
		}
	})
}

// checkResults runs check and returns each container's results in the
// policy's rule order.
func checkResults(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out, stderr, err := baseguard(append([]string{"check"}, args...)...)
	if err != nil && !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("check: %v\n%s", err, stderr)
	}
	var doc struct {
		Results []struct {
			Rule      string `json:"rule"`
			Result    string `json:"result"`
			Message   string `json:"message"`
			Container string `json:"container"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("check -o json: %v\n%s", err, out)
	}
	order := map[string]int{"on-upstream": 0, "no-builder-stage": 1, "verified-base": 2, "current-bases": 3}
	got := map[string][]string{}
	for _, r := range doc.Results {
		i, ok := order[r.Rule]
		if !ok {
			t.Fatalf("unexpected rule %q", r.Rule)
		}
		if got[r.Container] == nil {
			got[r.Container] = make([]string, len(order))
		}
		got[r.Container][i] = r.Result
		if r.Result == "error" {
			t.Errorf("%s %s: %s", r.Container, r.Rule, r.Message)
		}
	}
	flat := map[string]string{}
	for c, rs := range got {
		flat[c] = strings.Join(rs, " ")
	}
	return flat
}
