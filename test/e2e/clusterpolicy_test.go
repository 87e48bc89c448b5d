package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/policy/crd"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// withoutBuiltinFile takes the built-in policy's file out of the webhook's
// policy directory until the test ends.
func withoutBuiltinFile(t *testing.T) {
	t.Helper()
	file := filepath.Join(hook.policyDir, "builtin.yaml")
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := hook.writePolicy("builtin.yaml", string(policy.BuiltinYAML())); err != nil {
			t.Fatal(err)
		}
		decides(t, "default", "debian:12", true)
	})
}

// TestSeedWorkflowWithClusterPolicies runs the first seed document's
// workflow as written, on a cluster without Kyverno: kubectl apply of its
// ClusterPolicy, its three validation commands, kubectl get clusterpolicies
// and kubectl describe clusterpolicy.
func TestSeedWorkflowWithClusterPolicies(t *testing.T) {
	requireEnv(t)
	cpols := crd.ClusterPolicies
	t.Cleanup(func() { deleteObject(t, cpols, "enforce-base-images") })
	withoutBuiltinFile(t)
	decides(t, "default", "debian:12", false) // nothing else judges it now

	seed, err := os.ReadFile(filepath.Join(repoRoot, "examples", "policies", "seed-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := apply(t, "base-image-policy.yaml", string(seed))
	if err != nil {
		t.Fatalf("kubectl apply -f base-image-policy.yaml: %v\n%s", err, stderr)
	}
	mustContain(t, "kubectl apply", stdout, "clusterpolicy.kyverno.io/enforce-base-images created")
	waitReady(t, cpols, "enforce-base-images", "True", "generation 1 is in force: 4 rules")

	t.Run("the validation commands", func(t *testing.T) {
		for _, tc := range []struct {
			image    string
			admitted bool
			says     string
		}{
			{"debian:12", false, "approved-base-images"},
			{approved, true, "pod/test created"},
			{deprecated, false, "block-deprecated-base-images"},
		} {
			stdout, stderr, err := kubectl(t, "run", "test", "--image="+tc.image, "-n", "default")
			if tc.admitted != (err == nil) {
				t.Errorf("kubectl run test --image=%s: admitted %v, want %v\n%s%s", tc.image, err == nil, tc.admitted, stdout, stderr)
			}
			if err == nil {
				kubectl(t, "delete", "pod", "test", "-n", "default", "--wait=false")
			}
			mustContain(t, "kubectl run --image="+tc.image, stdout+stderr, tc.says)
		}
	})

	t.Run("kubectl get clusterpolicies", func(t *testing.T) {
		stdout, stderr, err := kubectl(t, "get", "clusterpolicies")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		t.Logf("kubectl get clusterpolicies:\n%s", stdout)
		header, row := tableRow(stdout, "enforce-base-images")
		mustContain(t, "the header", strings.Join(header, " "), "NAME BACKGROUND ACTION READY AGE")
		if len(row) < 5 || row[1] != "true" || row[2] != "enforce" || row[3] != "True" {
			t.Errorf("row: %q", row)
		}
		yaml, _, err := kubectl(t, "get", "clusterpolicies", "enforce-base-images", "-o", "yaml")
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "kubectl get -o yaml", yaml, "type: Ready", `status: "True"`, "reason: InForce", "rules: 4", "(template)? is read as")
	})

	t.Run("kubectl describe clusterpolicy", func(t *testing.T) {
		stdout, stderr, err := kubectl(t, "describe", "clusterpolicy", "enforce-base-images")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		t.Logf("kubectl describe clusterpolicy enforce-base-images:\n%s", stdout)
		mustContain(t, "kubectl describe", stdout, "Ready", "InForce", "generation 1 is in force: 4 rules", "Notes:",
			"note at spec.rules[0] (rules approved-base-images, require-minimal-base-images, validate-base-image-version): (template)? is read as")
	})

	t.Run("a policy file of the same name takes precedence", func(t *testing.T) {
		if err := hook.writePolicy("builtin.yaml", string(policy.BuiltinYAML())); err != nil {
			t.Fatal(err)
		}
		waitReady(t, cpols, "enforce-base-images", "False", `not in force: a policy named "enforce-base-images" is already given by the policy file`, "builtin.yaml")
		decides(t, "default", "debian:12", true, "approved-base-images")
		if err := os.Remove(filepath.Join(hook.policyDir, "builtin.yaml")); err != nil {
			t.Fatal(err)
		}
		waitReady(t, cpols, "enforce-base-images", "True", "generation 1 is in force")
	})

	t.Run("kubectl delete clusterpolicy", func(t *testing.T) {
		if _, stderr, err := kubectl(t, "delete", "clusterpolicy", "enforce-base-images"); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		decides(t, "default", "debian:12", false)
	})
}

// TestClusterPolicyWithOtherRulesIsNotApplied: a ClusterPolicy that does
// more than check images is Kyverno's; its status says so.
func TestClusterPolicyWithOtherRulesIsNotApplied(t *testing.T) {
	requireEnv(t)
	t.Cleanup(func() { deleteObject(t, crd.ClusterPolicies, "e2e-labels") })
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: e2e-labels}
spec:
  validationFailureAction: Enforce
  rules:
    - name: no-centos
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: {message: no centos, pattern: {spec: {containers: [{image: "!*centos*"}]}}}
    - name: require-team
      match: {any: [{resources: {kinds: [Namespace]}}]}
      validate: {message: label team, pattern: {metadata: {labels: {team: "?*"}}}}
`
	if _, stderr, err := apply(t, "labels.yaml", doc); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	waitReady(t, crd.ClusterPolicies, "e2e-labels", "False", `generation 1 is not applied: spec.rules[1]: rule "require-team" does not check container images`, "nothing of it is in force")
	if s, reason, _, _ := readyOf(t, crd.ClusterPolicies, "e2e-labels"); reason != crd.ReasonNotApplied {
		t.Errorf("reason %s %s", s, reason)
	}
}

// TestKyvernoInstalledIsRefused: where Kyverno serves more of kyverno.io
// than ClusterPolicies, watching them is refused (Kyverno applies them).
func TestKyvernoInstalledIsRefused(t *testing.T) {
	requireEnv(t)
	ctx := context.Background()
	policies := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "policies.kyverno.io"},
		"spec": map[string]any{
			"group": "kyverno.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "policies", "singular": "policy", "kind": "Policy", "listKind": "PolicyList"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if err := cl.Create(ctx, policies); err != nil {
		t.Fatalf("creating Kyverno's Policy CRD: %v", err)
	}
	t.Cleanup(func() { cl.Delete(ctx, policies) })
	eventually(t, "serve refusing to watch ClusterPolicies beside Kyverno", func() (bool, string) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := admission.WatchClusterPolicies(wctx, cfg, admission.ClusterPolicyOptions{Kyverno: true, SyncTimeout: 5 * time.Second})
		return err != nil && strings.Contains(err.Error(), "Kyverno is installed"), fmt.Sprint(err)
	})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := admission.WatchClusterPolicies(wctx, cfg, admission.ClusterPolicyOptions{SyncTimeout: 5 * time.Second}); err != nil {
		t.Errorf("BaseImagePolicies alone, beside Kyverno: %v", err)
	}
}
