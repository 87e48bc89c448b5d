package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
	admissionv1 "k8s.io/api/admission/v1"
)

func TestCertsWritesFilesAndCABundle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs([]string{"certs", "--dir", dir, "--dns-name", "baseguard.baseguard.svc", "--dns-name", "127.0.0.1"})
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("certs: %v\n%s", err, errOut.String())
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := base64.StdEncoding.DecodeString(strings.TrimSpace(out.String()))
	if err != nil || !bytes.Equal(bundle, caPEM) {
		t.Errorf("stdout is not the base64 of ca.crt: %q", out.String())
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, pki.CertFile), filepath.Join(dir, pki.KeyFile)); err != nil {
		t.Errorf("tls.crt and tls.key: %v", err)
	}
}

func TestServeAnswersAndShutsDown(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteServing(dir, []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	probeAddr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--listen", addr, "--probe-listen", probeAddr, "--no-namespace-labels", "--log-level", "error",
		"--tls-cert-file", filepath.Join(dir, pki.CertFile), "--tls-private-key-file", filepath.Join(dir, pki.KeyFile)})
	var errOut bytes.Buffer
	cmd.SetErr(&errOut)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	pool, _ := pki.CertPool(ca.CertPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 10s: %v\n%s", err, errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	body, err := os.ReadFile(filepath.Join("..", "..", "admission", "testdata", "requests", "pod-create-centos-denied.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var rv admissionv1.AdmissionReview
	json.NewDecoder(resp.Body).Decode(&rv)
	resp.Body.Close()
	if rv.Response == nil || rv.Response.Allowed {
		t.Errorf("centos:7 under the built-in policy: want denied, got %+v", rv.Response)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + probeAddr + path)
		if err != nil {
			t.Fatalf("--probe-listen %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("--probe-listen %s: %d, want 200", path, resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after its context ended: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// TestServeRefusesNamespaceSelectorsWithoutLabels: with no cluster to read
// namespace labels from, serve does not start on a policy that selects
// namespaces by label, unless told to skip those rules.
func TestServeRefusesNamespaceSelectorsWithoutLabels(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	dir := t.TempDir()
	ca, err := pki.NewCA("test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteServing(dir, []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	policyFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(`
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: restricted}
spec:
  match: {namespaceSelector: {matchLabels: {tier: restricted}}}
  rules:
    - name: wolfi-only
      allow: ["registry.example.com/base/wolfi*"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--log-level", "error", "--policy", policyFile,
		"--tls-cert-file", filepath.Join(dir, pki.CertFile), "--tls-private-key-file", filepath.Join(dir, pki.KeyFile)}
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetErr(new(bytes.Buffer))
	err = cmd.ExecuteContext(context.Background())
	for _, want := range []string{`policy "restricted" selects namespaces by label`, "no cluster is configured", "--kubeconfig", "--no-namespace-labels"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("serve without a cluster: %v, want an error saying %q", err, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	cmd = newRootCmd()
	cmd.SetArgs(append(args, "--no-namespace-labels"))
	cmd.SetErr(new(bytes.Buffer))
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Errorf("serve --no-namespace-labels: %v, want it to serve until stopped", err)
	}
}
