package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/admission/pki"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestServeResolvesWithPullSecrets runs the real `baseguard serve
// --resolve --pull-secrets` against the test API server and a loopback
// registry that requires basic auth: a pod whose pull secret (a real
// kubernetes.io/dockerconfigjson Secret) or whose service account's opens
// the registry is judged on its base; one without is judged by
// onResolveError.
func TestServeResolvesWithPullSecrets(t *testing.T) {
	requireEnv(t)
	const user, password = "puller", "s3cret"
	host := privateRegistry(t, user, password)
	image := pushCentOSApp(t, host, authn.FromConfig(authn.AuthConfig{Username: user, Password: password}))

	ns := namespace(t, "e2e-pull-secrets", nil)
	ctx := context.Background()
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"username": user, "password": password}}})
	for _, s := range []string{"regcred", "builder-regcred"} {
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: s},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
		}
		if _, err := clientset.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating secret %s: %v", s, err)
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "builder-regcred"}}}
	if _, err := clientset.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	addr := startServe(t, "--resolve", "--pull-secrets", "--kubeconfig", kubeconfig, "--no-namespace-labels")
	cases := []struct {
		name    string
		sa      string
		secrets []string
		allowed bool
		says    string
	}{
		{"the pod's pull secret", "default", []string{"regcred"}, false, "library/centos:7"},
		{"the service account's pull secret", "builder", nil, false, "library/centos:7"},
		{"no pull secret", "default", nil, true, "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := reviewPod(t, addr, ns, tc.sa, image, tc.secrets)
			out, _ := json.Marshal(resp)
			if resp.Allowed != tc.allowed || !strings.Contains(string(out), tc.says) {
				t.Errorf("allowed = %v, want %v, saying %q: %s", resp.Allowed, tc.allowed, tc.says, out)
			}
		})
	}
}

// privateRegistry serves ggcr's in-memory registry on loopback, refusing
// every request without user and password with 401; it returns its host.
func privateRegistry(t *testing.T, user, password string) string {
	t.Helper()
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushCentOSApp pushes library/centos:7 and team/app:1 built on it (base
// declared by OCI annotations) and returns the app's reference.
func pushCentOSApp(t *testing.T, host string, auth authn.Authenticator) string {
	t.Helper()
	push := func(repo string, img v1.Image) v1.Hash {
		ref, err := name.ParseReference(host + "/" + repo)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img, remote.WithAuth(auth)); err != nil {
			t.Fatalf("pushing %s: %v", ref, err)
		}
		d, _ := img.Digest()
		return d
	}
	base, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	baseDigest := push("library/centos:7", base)
	layer, err := random.Layer(512, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	app, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	app = mutate.Annotations(app, map[string]string{
		"org.opencontainers.image.base.name":   host + "/library/centos:7",
		"org.opencontainers.image.base.digest": baseDigest.String(),
	}).(v1.Image)
	push("team/app:1", app)
	return host + "/team/app:1"
}

// startServe runs `baseguard serve` with args, the shared certificates
// and a policy denying CentOS bases (onResolveError: warn), until the test
// ends; it returns the address once ready.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	return startServeWith(t, noCentOS, args...)
}

// startServeWith runs `baseguard serve` with policyYAML and args until the
// test ends; it returns the address once ready.
func startServeWith(t *testing.T, policyYAML string, args ...string) string {
	t.Helper()
	return startServeWithPolicy(t, writePolicyFile(t, policyYAML), args...)
}

// startServeWithPolicy runs `baseguard serve` with policyFile and args
// until the test ends; it returns the address once ready.
func startServeWithPolicy(t *testing.T, policyFile string, args ...string) string {
	t.Helper()
	addr, cmd, stderr := serveFileCommand(t, policyFile, args...)
	exited := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("baseguard serve:\n%s", stderr.String())
		}
	})
	client := hookClient()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + admission.PathReadyz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("baseguard serve exited: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baseguard serve not ready after 20s: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveCommand is the command of `baseguard serve` with policyYAML and
// args (see serveFileCommand).
func serveCommand(t *testing.T, policyYAML string, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	return serveFileCommand(t, writePolicyFile(t, policyYAML), args...)
}

// serveFileCommand is the command of `baseguard serve` with policyFile and
// args on a free loopback port, the shared certificates, and no registry
// credentials or in-cluster configuration of the machine's.
func serveFileCommand(t *testing.T, policyFile string, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	bin := baseguardBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--policy", policyFile, "--log-level", "warn",
		"--tls-cert-file", filepath.Join(hook.dir, pki.CertFile), "--tls-private-key-file", filepath.Join(hook.dir, pki.KeyFile)}, args...)...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+t.TempDir(), "KUBERNETES_SERVICE_HOST=")
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	return addr, cmd, stderr
}

// writePolicyFile writes policyYAML to a file of the test's own.
func writePolicyFile(t *testing.T, policyYAML string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(policyYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

var built struct {
	once sync.Once
	bin  string
	err  error
}

// baseguardBinary builds cmd/baseguard once for the package's tests.
func baseguardBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "baseguard-e2e-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(dir, "baseguard")
		build := exec.Command("go", "build", "-o", built.bin, "./cmd/baseguard")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("building baseguard: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func hookClient() *http.Client {
	pool, _ := pki.CertPool(hook.ca.CertPEM)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// reviewPod sends serve at addr the review of a pod's creation, as
// kube-apiserver would, and returns its answer.
func reviewPod(t *testing.T, addr, ns, sa, image string, secrets []string) *admissionv1.AdmissionResponse {
	t.Helper()
	p := pod("app", image)
	p.Namespace, p.Spec.ServiceAccountName = ns, sa
	p.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	for _, s := range secrets {
		p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	raw, _ := json.Marshal(p)
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "pull-secrets", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Name:     "app", Namespace: ns, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	})
	resp, err := hookClient().Post("https://"+addr+admission.PathValidate+"?timeout=5s", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rv admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&rv); err != nil || rv.Response == nil {
		t.Fatalf("decoding the review (status %d): %v", resp.StatusCode, err)
	}
	return rv.Response
}

// noCentOS denies CentOS bases; a lineage that cannot be resolved warns.
const noCentOS = `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: no-centos}
spec:
  action: enforce
  onResolveError: warn
  rules:
    - name: no-centos
      deny: ["*centos*"]
`
