package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployManifestsApply applies deploy/baseguard.yaml to the API server
// with a server-side dry run, as its one install command does: every
// object is valid for this Kubernetes version, the pod template meets the
// namespace's `restricted` Pod Security level, and the webhook keeps its
// own certificate (an empty Secret, RBAC for it, no caBundle to fill in).
func TestDeployManifestsApply(t *testing.T) {
	requireEnv(t)
	manifest := filepath.Join(repoRoot, "deploy", "baseguard.yaml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace for real (a dry-run namespace holds nothing), with its
	// Pod Security label.
	ns := strings.Split(string(data), "\n---\n")[0]
	nsFile := filepath.Join(t.TempDir(), "namespace.yaml")
	if err := os.WriteFile(nsFile, []byte(ns), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := kubectl(t, "apply", "--server-side", "-f", nsFile); err != nil {
		t.Fatalf("applying the namespace: %v\n%s", err, stderr)
	}
	stdout, stderr, err := kubectl(t, "apply", "--server-side", "--dry-run=server", "-f", manifest)
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s%s", err, stdout, stderr)
	}
	for _, obj := range []string{
		"namespace/baseguard", "serviceaccount/baseguard", "configmap/baseguard-policy",
		"clusterrole.rbac.authorization.k8s.io/baseguard", "clusterrolebinding.rbac.authorization.k8s.io/baseguard",
		"service/baseguard", "deployment.apps/baseguard", "poddisruptionbudget.policy/baseguard",
		"validatingwebhookconfiguration.admissionregistration.k8s.io/baseguard",
		"secret/baseguard-tls", "role.rbac.authorization.k8s.io/baseguard-certs", "clusterrole.rbac.authorization.k8s.io/baseguard-certs",
	} {
		if !strings.Contains(stdout, obj+" serverside-applied") {
			t.Errorf("dry-run output lacks %s:\n%s", obj, stdout)
		}
	}
	if strings.Contains(stderr, "PodSecurity") {
		t.Errorf("the pod template violates Pod Security restricted:\n%s", stderr)
	}
	if strings.Contains(string(data), "caBundle:") {
		t.Error("deploy/baseguard.yaml sets a caBundle: baseguard sets it from the CA it keeps")
	}
	for _, arg := range []string{"--cert-secret=baseguard-tls", "--cert-dns-name=baseguard.baseguard.svc", "--validating-webhook-configuration=baseguard"} {
		if !strings.Contains(string(data), arg) {
			t.Errorf("the Deployment does not run serve with %s", arg)
		}
	}
}
