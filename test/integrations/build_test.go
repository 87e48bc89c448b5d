package integrations

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// releaseVersion is the version the integration files install by default;
// the binary under test is stamped with it, so their "already installed"
// check finds it and nothing is downloaded.
const releaseVersion = "0.1.0"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// repoRoot is the repository's top directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// baseguardBin builds baseguard from this checkout, stamped as the release
// version, once per test binary, and returns the directory holding it.
func baseguardBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "baseguard-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "baseguard"),
			"-ldflags", "-X main.version="+releaseVersion, "./cmd/baseguard")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err, out}
			return
		}
		binDir = dir
	})
	if buildErr != nil {
		t.Fatalf("building baseguard: %v", buildErr)
	}
	return binDir
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// endToEnd skips a test that drives a heavy real tool (pre-commit,
// goreleaser, krew, ko) unless BASEGUARD_E2E is set, as hack/test.sh (and so
// CI) always sets it; `go test ./...` alone stays quick.
func endToEnd(t *testing.T) {
	t.Helper()
	if os.Getenv("BASEGUARD_E2E") == "" {
		t.Skip("runs the real tool when BASEGUARD_E2E is set (hack/test.sh sets it)")
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}
