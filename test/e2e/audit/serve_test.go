package audit

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
)

// TestServeAuditInterval runs the real `baseguard serve --audit-interval`:
// its /metrics carries the audit's gauges once it has audited.
func TestServeAuditInterval(t *testing.T) {
	requireEnv(t)
	installReportCRDs(t)
	dir := t.TempDir()
	ca, err := pki.NewCA("audit-e2e", 0)
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
	cmd := exec.Command(binary, "serve", "--listen", addr, "--kubeconfig", kubeconfig, "--policy", world.policyFile,
		"--tls-cert-file", filepath.Join(dir, pki.CertFile), "--tls-private-key-file", filepath.Join(dir, pki.KeyFile),
		"--audit-interval", "1s", "--audit-lease-namespace", "default", "--log-level", "warn")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var body string
	waitFor(t, "the audit gauges on /metrics", func() bool {
		resp, err := client.Get("https://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, "baseguard_audit_cluster_compliance_ratio ")
	})
	for _, want := range []string{
		"baseguard_audit_leader 1",
		`baseguard_audit_compliance_ratio{namespace="shop"}`,
		"baseguard_admission_requests_in_flight", // the webhook's metrics beside
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("serve's stderr:\n%s", stderr.String())
	}
}
