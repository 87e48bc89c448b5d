package builders

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/baseguard/baseguard/test/toolcache"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// The shared environment, set up by TestMain.
var (
	skipReason string // non-empty: BASEGUARD_E2E is not set
	tools      string // directory of ko, crane, buildkitd, buildctl, runc
	host       string // the loopback registry, host:port
	bin        string // the baseguard binary
	work       string // scratch directory of the run
	bk         *buildkitd
	w          *world // the images built
)

// toolNames are the binaries hack/tools.sh provides.
var toolNames = []string{"ko", "crane", "buildkitd", "buildctl", "runc"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("BASEGUARD_E2E") == "" {
		skipReason = "builder tests run when BASEGUARD_E2E is set (hack/test.sh sets it)"
		return m.Run()
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "builders:", err)
		teardown()
		return 1
	}
	defer teardown()
	return m.Run()
}

func setup() error {
	var err error
	if tools, err = toolcache.Find("BASEGUARD_TOOLS", "tools/set-*", "hack/tools.sh", toolNames...); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("buildkitd runs as root here (OCI worker, native snapshotter): run the tests as root")
	}
	if work, err = os.MkdirTemp("", "baseguard-builders-"); err != nil {
		return err
	}
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)), ggcr.WithReferrersSupport(true))
	srv = httptest.NewServer(requests.count(reg))
	host = strings.TrimPrefix(srv.URL, "http://")
	if bin, err = buildBaseguard(); err != nil {
		return err
	}
	if bk, err = startBuildkitd(filepath.Join(work, "buildkit"), host); err != nil {
		return err
	}
	w, err = buildWorld()
	return err
}

var srv *httptest.Server

// requests counts what the registry is asked.
var requests = &counter{}

type counter struct {
	mu  sync.Mutex
	log []string
}

func (c *counter) count(h http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.log = append(c.log, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		h.ServeHTTP(rw, r)
	})
}

// reset returns what was asked since the last reset.
func (c *counter) reset() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.log
	c.log = nil
	return l
}

func teardown() {
	if bk != nil {
		bk.stop()
	}
	if srv != nil {
		srv.Close()
	}
	if work != "" {
		os.RemoveAll(work)
	}
}

// buildBaseguard builds the CLI a user runs.
func buildBaseguard() (string, error) {
	out := filepath.Join(work, "baseguard")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/baseguard")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building baseguard: %v\n%s", err, b)
	}
	return out, nil
}

// needEnv skips when the run is not an end-to-end run, saying why.
func needEnv(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
