package audit

import (
	"io"

	"github.com/baseguard/baseguard/test/toolcache"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The shared environment, set up by TestMain.
var (
	skipReason string
	cfg        *rest.Config
	clientset  *kubernetes.Clientset
	dyn        dynamic.Interface
	kubeconfig string
	binary     string // the baseguard binary under test
	repoRoot   string
	world      *fixture
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctrllog.SetLogger(logr.Discard())
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)
	repoRoot, _ = filepath.Abs("../../..")
	binDir, err := toolcache.Find("KUBEBUILDER_ASSETS", "k8s/*/bin", "hack/k8s-binaries.sh", "etcd", "kube-apiserver")
	skip := ""
	if err != nil {
		skip = err.Error()
	}
	if skip != "" {
		if os.Getenv("BASEGUARD_E2E") != "" {
			fmt.Fprintln(os.Stderr, "e2e: BASEGUARD_E2E is set but "+skip)
			return 1
		}
		skipReason = skip
		return m.Run()
	}
	env := &envtest.Environment{BinaryAssetsDirectory: binDir, ControlPlaneStartTimeout: time.Minute}
	env.ControlPlane.GetAPIServer().Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none").
		Set("disable-admission-plugins", "ServiceAccount")
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting kube-apiserver and etcd:", err)
		return 1
	}
	defer env.Stop()
	dir, err := os.MkdirTemp("", "baseguard-audit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := setup(env, dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setting up:", err)
		return 1
	}
	defer world.close()
	return m.Run()
}

func setup(env *envtest.Environment, dir string) error {
	var err error
	if clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	user, err := env.AddUser(envtest.User{Name: "audit-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding a user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return err
	}
	binary = filepath.Join(dir, "baseguard")
	build := exec.Command("go", "build", "-o", binary, "./cmd/baseguard")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building baseguard: %v\n%s", err, out)
	}
	world, err = newFixture()
	return err
}

func requireEnv(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}
