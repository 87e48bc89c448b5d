package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// helmBinary is helm from $BASEGUARD_HELM (hack/test.sh sets it), else
// hack/helm.sh's cache. A chart test without helm fails: it never skips.
func helmBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BASEGUARD_HELM")
	if dir == "" {
		out, err := exec.Command(filepath.Join(repoRoot, "hack", "helm.sh"), "--if-cached").Output()
		if err != nil {
			t.Fatal("helm is not built: run hack/helm.sh (hack/test.sh does) or set BASEGUARD_HELM to its directory")
		}
		dir = string(bytes.TrimSpace(out))
	}
	bin := filepath.Join(dir, "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found in $BASEGUARD_HELM: %v", err)
	}
	return bin
}

// helm runs the real helm with its own empty home, in the repository.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, helmBinary(t), args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// TestDeployMatchesChart: deploy/baseguard.yaml is what
// hack/render-deploy.sh renders from the chart today, with the real helm.
func TestDeployMatchesChart(t *testing.T) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "render-deploy.sh"), "--check")
	cmd.Env = append(os.Environ(), "HELM="+helmBinary(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("deploy/baseguard.yaml does not match the chart: %v\n%s", err, out)
	}
}
