package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// restrictedTier selects namespaces by label: it cannot be decided without
// the namespaces' labels.
const restrictedTier = `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: restricted-tier}
spec:
  match:
    namespaceSelector: {matchLabels: {tier: restricted}}
  rules:
    - name: wolfi-only
      allow: ["registry.example.com/base/wolfi*"]
`

// kubeconfigFor writes a kubeconfig of a user with no RBAC role at all.
func kubeconfigFor(t *testing.T, name string) string {
	t.Helper()
	user, err := testEnv.AddUser(envtest.User{Name: name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServeRefusesUndecidableNamespaceSelectors runs the real `baseguard
// serve` with a policy that selects namespaces by label: it does not start
// when no namespace labels can be read (no cluster; a user RBAC does not
// let list namespaces), starts and decides with a user that may, and with
// --no-namespace-labels starts and warns of every rule it skips.
func TestServeRefusesUndecidableNamespaceSelectors(t *testing.T) {
	requireEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		says []string
	}{
		{"no cluster", nil, []string{`policy "restricted-tier" selects namespaces by label`, "no cluster is configured", "--no-namespace-labels"}},
		{"namespaces not listable", []string{"--kubeconfig", kubeconfigFor(t, "e2e-no-rbac")}, []string{"listing namespaces", "forbidden", `policy "restricted-tier" selects namespaces by label`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cmd, stderr := serveCommand(t, restrictedTier, tc.args...)
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatalf("serve exited 0:\n%s", stderr)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("serve still running after 60s; want it to refuse to start:\n%s", stderr)
			}
			for _, s := range tc.says {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("serve's error does not say %q:\n%s", s, stderr)
				}
			}
		})
	}

	ns := namespace(t, "e2e-tier-restricted", map[string]string{"tier": "restricted"})
	t.Run("namespaces listable", func(t *testing.T) {
		addr := startServeWith(t, restrictedTier, "--kubeconfig", kubeconfig)
		resp := reviewPod(t, addr, ns, "default", approved, nil)
		if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "wolfi-only") {
			t.Errorf("alpine in a restricted namespace: want denied by wolfi-only, got %+v", resp)
		}
	})
	t.Run("--no-namespace-labels", func(t *testing.T) {
		addr := startServeWith(t, restrictedTier, "--no-namespace-labels")
		resp := reviewPod(t, addr, ns, "default", approved, nil)
		if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "rule wolfi-only skipped") {
			t.Errorf("with --no-namespace-labels: want admitted with a warning that wolfi-only was skipped, got %+v", resp)
		}
	})
}
