package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployManifestsApply applies deploy/baseguard.yaml to the API server
// with a server-side dry run: every object is valid for this Kubernetes
// version, and the pod template meets the namespace's `restricted` Pod
// Security level.
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

	t.Run("until the caBundle is filled in the webhook does not apply", func(t *testing.T) {
		_, stderr, err := kubectl(t, "apply", "--server-side", "--dry-run=server", "-f", manifest)
		if err == nil || !strings.Contains(stderr, "ValidatingWebhookConfiguration") {
			t.Errorf("applying with ${CA_BUNDLE} unreplaced: want the webhook refused, got %v:\n%s", err, stderr)
		}
	})

	t.Run("with a caBundle everything applies", func(t *testing.T) {
		filled := strings.ReplaceAll(string(data), "${CA_BUNDLE}", base64.StdEncoding.EncodeToString(hook.ca.CertPEM))
		file := filepath.Join(t.TempDir(), "baseguard.yaml")
		if err := os.WriteFile(file, []byte(filled), 0o644); err != nil {
			t.Fatal(err)
		}
		stdout, stderr, err := kubectl(t, "apply", "--server-side", "--dry-run=server", "-f", file)
		if err != nil {
			t.Fatalf("kubectl apply --dry-run=server: %v\n%s%s", err, stdout, stderr)
		}
		for _, obj := range []string{
			"namespace/baseguard", "serviceaccount/baseguard", "configmap/baseguard-policy",
			"clusterrole.rbac.authorization.k8s.io/baseguard", "clusterrolebinding.rbac.authorization.k8s.io/baseguard",
			"service/baseguard", "deployment.apps/baseguard", "poddisruptionbudget.policy/baseguard",
			"validatingwebhookconfiguration.admissionregistration.k8s.io/baseguard",
		} {
			if !strings.Contains(stdout, obj) {
				t.Errorf("dry-run output lacks %s:\n%s", obj, stdout)
			}
		}
		if strings.Contains(stderr, "PodSecurity") {
			t.Errorf("the pod template violates Pod Security restricted:\n%s", stderr)
		}
	})
}
