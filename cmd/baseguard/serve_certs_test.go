package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeCertificateFlags: serve says what it lacks when neither a
// certificate nor --cert-secret is given, when both are, and when
// --cert-secret has no cluster or misses what it needs.
func TestServeCertificateFlags(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	kubeconfig := writeKubeconfig(t)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"nothing", nil, "give --tls-cert-file and --tls-private-key-file, or --cert-secret"},
		{"a key without its certificate", []string{"--tls-private-key-file", "k"}, "give --tls-cert-file and --tls-private-key-file"},
		{"both", []string{"--cert-secret", "s", "--tls-cert-file", "c", "--tls-private-key-file", "k"}, "exclude each other"},
		{"no cluster", []string{"--cert-secret", "s"}, "--cert-secret needs a cluster"},
		{"no names", []string{"--kubeconfig", kubeconfig, "--cert-secret", "s", "--cert-namespace", "ns", "--cert-dir", t.TempDir(), "--validating-webhook-configuration", "v"}, "DNS name"},
		{"no directory", []string{"--kubeconfig", kubeconfig, "--cert-secret", "s", "--cert-namespace", "ns", "--cert-dns-name", "a.ns.svc", "--validating-webhook-configuration", "v"}, "directory"},
		{"no webhook", []string{"--kubeconfig", kubeconfig, "--cert-secret", "s", "--cert-namespace", "ns", "--cert-dns-name", "a.ns.svc", "--cert-dir", t.TempDir()}, "webhook configuration"},
		{"no namespace", []string{"--kubeconfig", kubeconfig, "--cert-secret", "s", "--cert-dns-name", "a.ns.svc", "--cert-dir", t.TempDir(), "--validating-webhook-configuration", "v"}, "namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("POD_NAMESPACE", "")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := newRootCmd()
			cmd.SetArgs(append([]string{"serve", "--listen", "127.0.0.1:0", "--no-namespace-labels"}, tc.args...))
			cmd.SetErr(new(bytes.Buffer))
			err := cmd.ExecuteContext(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("serve %s: %v, want an error saying %q", strings.Join(tc.args, " "), err, tc.says)
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig of a cluster nothing listens at:
// the checks above fail before anything is asked of it.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
