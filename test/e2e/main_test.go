package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/test/toolcache"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/admission/pki"
	"github.com/baseguard/baseguard/policy"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// The shared environment, set up by TestMain.
var (
	skipReason string // non-empty: the binaries are missing
	binDir     string
	cfg        *rest.Config
	clientset  *kubernetes.Clientset
	cl         client.Client
	kubeconfig string // for kubectl
	hook       *webhook
	repoRoot   string
	testEnv    *envtest.Environment
)

const webhookName = "baseguard-e2e"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repoRoot, _ = filepath.Abs("../..")
	var err error
	binDir, err = toolcache.Find("KUBEBUILDER_ASSETS", "k8s/*/bin", "hack/k8s-binaries.sh", "etcd", "kube-apiserver", "kubectl")
	if err != nil {
		skipReason = err.Error()
	}
	if skipReason != "" {
		if os.Getenv("BASEGUARD_E2E") != "" {
			fmt.Fprintln(os.Stderr, "e2e: BASEGUARD_E2E is set but "+skipReason)
			return 1
		}
		return m.Run() // every test skips, saying why
	}
	env := &envtest.Environment{BinaryAssetsDirectory: binDir, ControlPlaneStartTimeout: time.Minute,
		// The policy CRDs as shipped: the BaseImagePolicy CRD of the chart
		// and the minimal Kyverno ClusterPolicy CRD of deploy/.
		CRDInstallOptions: envtest.CRDInstallOptions{Paths: policyCRDs(), ErrorIfPathMissing: true}}
	testEnv = env
	api := env.ControlPlane.GetAPIServer()
	api.Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none").
		Set("disable-admission-plugins", "ServiceAccount")
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: starting kube-apiserver and etcd:", err)
		return 1
	}
	defer env.Stop()
	if err := setup(env); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setting up:", err)
		return 1
	}
	defer hook.stop()
	return m.Run()
}

func requireEnv(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func setup(env *envtest.Environment) error {
	var err error
	if clientset, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if cl, err = client.New(cfg, client.Options{}); err != nil {
		return err
	}
	user, err := env.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("adding a kubectl user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "baseguard-e2e-")
	if err != nil {
		return err
	}
	kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return err
	}
	if hook, err = newWebhook(dir); err != nil {
		return err
	}
	if err := hook.start(); err != nil {
		return err
	}
	if err := registerWebhook(hook); err != nil {
		return err
	}
	return waitForWebhook()
}

// webhook is the in-process `baseguard serve`.
type webhook struct {
	dir       string // certificates and policies
	policyDir string
	ca        *pki.CA
	addr      string
	logs      logBuffer // what the server logged, at info and above
	mu        sync.Mutex
	cancel    context.CancelFunc
	done      chan error
}

func newWebhook(dir string) (*webhook, error) {
	ca, err := pki.NewCA("baseguard-e2e-ca", 0)
	if err != nil {
		return nil, err
	}
	w := &webhook{dir: filepath.Join(dir, "tls"), policyDir: filepath.Join(dir, "policy"), ca: ca}
	if err := w.rotate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(w.policyDir, 0o755); err != nil {
		return nil, err
	}
	if err := w.writePolicy("builtin.yaml", string(policy.BuiltinYAML())); err != nil {
		return nil, err
	}
	if err := w.writePolicy("e2e.yaml", e2ePolicies); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w.addr = ln.Addr().String()
	ln.Close()
	return w, nil
}

// rotate issues a new leaf from the same CA and writes it in place.
func (w *webhook) rotate() error {
	return w.ca.WriteServing(w.dir, []string{"127.0.0.1"}, time.Hour)
}

func (w *webhook) writePolicy(name, content string) error {
	return os.WriteFile(filepath.Join(w.policyDir, name), []byte(content), 0o644)
}

// start serves on w.addr (the same port across restarts).
func (w *webhook) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	ns, err := admission.WatchNamespaces(ctx, cfg)
	if err != nil {
		cancel()
		return err
	}
	log := w.logger()
	objects, err := admission.WatchClusterPolicies(ctx, cfg, admission.ClusterPolicyOptions{Kyverno: true, Logger: log})
	if err != nil {
		cancel()
		return err
	}
	srv, err := admission.NewServer(admission.Options{
		CertFile:        filepath.Join(w.dir, pki.CertFile),
		KeyFile:         filepath.Join(w.dir, pki.KeyFile),
		PolicyPaths:     []string{w.policyDir},
		ClusterPolicies: objects,
		Namespaces:      ns,
		ReloadInterval:  100 * time.Millisecond,
		Logger:          log,
	})
	if err != nil {
		cancel()
		return err
	}
	var ln net.Listener
	for i := 0; ; i++ { // the port may linger a moment after a stop
		if ln, err = net.Listen("tcp", w.addr); err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		cancel()
		return err
	}
	w.cancel, w.done = cancel, make(chan error, 1)
	go func() { w.done <- srv.Serve(ctx, ln) }()
	return nil
}

func (w *webhook) stop() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	err := <-w.done
	w.cancel = nil
	return err
}

// registerWebhook registers the ValidatingWebhookConfiguration of deploy/,
// pointed at the in-process server: the rules under test are the ones
// shipped.
func registerWebhook(w *webhook) error {
	vwc, err := deployedWebhookConfiguration()
	if err != nil {
		return err
	}
	vwc.Name = webhookName
	url := "https://" + w.addr + admission.PathValidate
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: w.ca.CertPEM}
	}
	_, err = clientset.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(context.Background(), vwc, metav1.CreateOptions{})
	return err
}

// deployedWebhookConfiguration reads the ValidatingWebhookConfiguration of
// deploy/baseguard.yaml.
func deployedWebhookConfiguration() (*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "baseguard.yaml"))
	if err != nil {
		return nil, err
	}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if !strings.Contains(doc, "kind: ValidatingWebhookConfiguration") {
			continue
		}
		doc = strings.ReplaceAll(doc, "${CA_BUNDLE}", "Cg==")
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := yaml.UnmarshalStrict([]byte(doc), &vwc); err != nil {
			return nil, fmt.Errorf("reading the ValidatingWebhookConfiguration of deploy/baseguard.yaml: %w", err)
		}
		return &vwc, nil
	}
	return nil, errors.New("deploy/baseguard.yaml has no ValidatingWebhookConfiguration")
}

// waitForWebhook waits until the API server consults the webhook: a new
// configuration takes effect asynchronously.
func waitForWebhook() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := createPod(context.Background(), "default", "probe", "centos:7", true)
		if err != nil && strings.Contains(err.Error(), "denied the request") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the webhook did not take effect within 30s; last answer: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createPod creates a one-container pod, as a dry run if asked.
func createPod(ctx context.Context, ns, name, image string, dryRun bool) error {
	opts := metav1.CreateOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err := clientset.CoreV1().Pods(ns).Create(ctx, pod(name, image), opts)
	return err
}

func pod(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

// kubectl runs the real kubectl against the test server.
func kubectl(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// namespace creates a namespace for one test, deleted after it.
func namespace(t *testing.T, name string, labels map[string]string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := clientset.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// denied checks that err is baseguard's denial and mentions each string.
func denied(t *testing.T, err error, mentions ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("admitted; want denied (mentioning %q)", mentions)
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, `admission webhook "validate.baseguard.dev" denied the request`) {
		t.Errorf("not baseguard's denial: %v", err)
		return
	}
	for _, m := range mentions {
		if !strings.Contains(msg, m) {
			t.Errorf("denial does not mention %q:\n%s", m, msg)
		}
	}
}

// e2ePolicies add to the built-in policy: a warn policy and an audit policy
// for their own namespaces, and a stricter tier for namespaces labelled
// tier=restricted.
const e2ePolicies = `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata:
  name: prefer-wolfi-warn
spec:
  action: warn
  match:
    namespaces: {include: [e2e-warn]}
  rules:
    - name: prefer-wolfi
      message: Prefer wolfi bases
      allow: ["registry.example.com/base/wolfi*"]
---
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata:
  name: prefer-wolfi-audit
spec:
  action: audit
  match:
    namespaces: {include: [e2e-audit]}
  rules:
    - name: prefer-wolfi
      message: Prefer wolfi bases
      allow: ["registry.example.com/base/wolfi*"]
---
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata:
  name: restricted-namespaces
spec:
  action: enforce
  match:
    namespaceSelector:
      matchLabels: {tier: restricted}
  rules:
    - name: wolfi-only
      allow: ["registry.example.com/base/wolfi*"]
`
