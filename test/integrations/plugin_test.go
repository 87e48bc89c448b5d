package integrations

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubectlDir returns the directory holding the real kubectl: the envtest
// binaries hack/test.sh exported, or what hack/k8s-binaries.sh prints.
func kubectlDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	cmd := exec.Command(filepath.Join(repoRoot(t), "hack", "k8s-binaries.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/k8s-binaries.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestKubectlPlugin: installed as kubectl-baseguard, the real kubectl runs
// it as `kubectl baseguard`, its help and usage say so, and with the
// completion helper the README gives, kubectl completes its commands.
func TestKubectlPlugin(t *testing.T) {
	endToEnd(t)
	path := t.TempDir()
	plugin := filepath.Join(path, "kubectl-baseguard")
	if err := os.WriteFile(plugin, mustRead(t, filepath.Join(baseguardBin(t), "baseguard")), 0o755); err != nil {
		t.Fatal(err)
	}
	// What the README tells users to put on their PATH.
	helper := "#!/bin/sh\nexec kubectl-baseguard __complete \"$@\"\n"
	if err := os.WriteFile(filepath.Join(path, "kubectl_complete-baseguard"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(kubectlDir(t), "kubectl"), args...)
		cmd.Env = append(os.Environ(), "PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+filepath.Join(t.TempDir(), "none"))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	if out := kubectl("plugin", "list"); !strings.Contains(out, plugin) {
		t.Errorf("kubectl plugin list does not find kubectl-baseguard:\n%s", out)
	}
	if out := kubectl("baseguard", "audit", "--help"); !strings.Contains(out, "kubectl baseguard audit") {
		t.Errorf("kubectl baseguard audit --help does not read as kubectl baseguard:\n%s", out)
	}
	if out := kubectl("baseguard", "--version"); !strings.HasPrefix(out, "kubectl baseguard version "+releaseVersion) {
		t.Errorf("kubectl baseguard --version = %q", out)
	}
	out := kubectl("__complete", "baseguard", "au")
	if !strings.Contains(out, "audit\t") {
		t.Errorf("kubectl completes `kubectl baseguard au` with %q: want audit", out)
	}
	out = kubectl("__complete", "baseguard", "check", "--out")
	if !strings.Contains(out, "--output") {
		t.Errorf("kubectl completes `kubectl baseguard check --out` with %q: want --output", out)
	}
}
