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

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"serve", "--listen", addr, "--no-namespace-labels", "--log-level", "error",
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
