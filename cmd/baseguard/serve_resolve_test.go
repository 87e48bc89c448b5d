package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/trust"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// dockerConfigSecret is a kubernetes.io/dockerconfigjson pull secret for
// host.
func dockerConfigSecret(ns, secretName, host, user, password string) *corev1.Secret {
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"username": user, "password": password}}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// podReview is an AdmissionReview of a pod's creation.
func podReview(t *testing.T, ns, serviceAccount, image string, pullSecrets ...string) []byte {
	t.Helper()
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: ns},
		Spec: corev1.PodSpec{
			ServiceAccountName: serviceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: image}},
		},
	}
	for _, s := range pullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	gvk := metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
	gvr := metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(fmt.Sprintf("%s-%s-%s", ns, serviceAccount, strings.Join(pullSecrets, "-"))), Kind: gvk, Resource: gvr,
			Name: "app", Namespace: ns, Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
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

// TestServeResolvesWithPullSecrets runs serve's --resolve --pull-secrets
// resolver against a registry that requires basic auth, with pull secrets
// and service accounts from a fake API server.
func TestServeResolvesWithPullSecrets(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials of the machine's
	pr := newPrivateRegistry(t)
	image := pr.pushChain(t, "library/centos:7", "team/app:1")
	kube := fake.NewClientset(
		dockerConfigSecret("team-a", "regcred", pr.host, pr.user, pr.password),
		dockerConfigSecret("team-a", "builder-regcred", pr.host, pr.user, pr.password),
		&corev1.ServiceAccount{
			ObjectMeta:       metav1.ObjectMeta{Namespace: "team-a", Name: "builder"},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "builder-regcred"}},
		},
		dockerConfigSecret("team-b", "regcred", pr.host, pr.user, "wrong"),
	)
	dir := t.TempDir()
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(noCentOS), 0o644); err != nil {
		t.Fatal(err)
	}
	o := &serveOptions{resolve: true, pullSecrets: true, resolveBudget: 10 * time.Second, policies: []string{policyFile}}
	r, err := o.resolver(slog.New(slog.DiscardHandler), kube, &trust.Need{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := admission.NewServer(admission.Options{Resolver: r, PolicyPaths: o.policies, ResolveBudget: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	// In order: facts cached by the clients of the first cases must not
	// reach the credential sets of the later ones.
	cases := []struct {
		name           string
		ns, sa         string
		secrets        []string
		allowed        bool
		says, warnSays string
		cached         bool // answered from the set's cache: no registry request
	}{
		{"the pod's pull secret", "team-a", "default", []string{"regcred"}, false, "no-centos", "", false},
		{"the service account's pull secret", "team-a", "builder", nil, false, "no-centos", "", false},
		{"no pull secret", "team-a", "default", nil, true, "", "unauthorized", false},
		{"a missing pull secret", "team-a", "default", []string{"absent"}, true, "", "unauthorized", false},
		{"another namespace's secret of the same name", "team-b", "default", []string{"regcred"}, true, "", "unauthorized", false},
		{"the pod's pull secret again", "team-a", "default", []string{"regcred"}, false, "no-centos", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := pr.requests.Load()
			resp := postReview(t, ts.URL, podReview(t, tc.ns, tc.sa, image, tc.secrets...))
			if tc.cached && pr.requests.Load() != before {
				t.Errorf("the same credential set again made %d registry requests; want its cached facts used", pr.requests.Load()-before)
			}
			out, _ := json.Marshal(resp)
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tc.allowed, out)
			}
			if !tc.allowed && (resp.Result == nil || !strings.Contains(resp.Result.Message, tc.says) || !strings.Contains(resp.Result.Message, "library/centos:7")) {
				t.Errorf("denial does not name %q and the CentOS base: %s", tc.says, out)
			}
			if tc.warnSays != "" {
				w := strings.Join(resp.Warnings, "\n")
				if !strings.Contains(w, tc.warnSays) || !strings.Contains(w, "onResolveError: warn") {
					t.Errorf("warnings do not say %q (onResolveError: warn): %q", tc.warnSays, resp.Warnings)
				}
			}
		})
	}
}

func TestServeResolvesWithoutClusterWithDockerCredentials(t *testing.T) {
	pr := newPrivateRegistry(t)
	image := pr.pushChain(t, "library/centos:7", "team/app:1")
	dockerDir := t.TempDir()
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{pr.host: map[string]string{"username": pr.user, "password": pr.password}}})
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerDir)
	var logs bytes.Buffer
	o := &serveOptions{resolve: true, pullSecrets: true, resolveBudget: 10 * time.Second}
	r, err := o.resolver(slog.New(slog.NewTextHandler(&logs, nil)), nil, &trust.Need{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "Docker's credentials only") {
		t.Errorf("no cluster: the fallback is not logged: %q", logs.String())
	}
	srv, err := admission.NewServer(admission.Options{Resolver: r, ResolveBudget: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	resp := postReview(t, ts.URL, podReview(t, "team-a", "default", image, "regcred"))
	if resp.Allowed || resp.Result == nil || !strings.Contains(resp.Result.Message, "library/centos:7") {
		t.Errorf("a CentOS-based image under the built-in policy, read with Docker's credentials: want denied naming its base, got %+v", resp)
	}
}

func postReview(t *testing.T, url string, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := http.Post(url+admission.PathValidate, "application/json", bytes.NewReader(body))
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
