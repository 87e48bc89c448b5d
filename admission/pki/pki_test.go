package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestIssueVerifies(t *testing.T) {
	ca, err := NewCA("baseguard-ca", 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"baseguard.baseguard.svc", "127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool, err := CertPool(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"baseguard.baseguard.svc", "127.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "evil.example.com"}); err == nil {
		t.Error("certificate verifies for a name it was not issued for")
	}
	if cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
	}
}

func TestIssueNeedsAName(t *testing.T) {
	ca, err := NewCA("ca", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Issue(nil, 0); err == nil {
		t.Fatal("Issue with no names: want an error")
	}
}

func TestWriteFiles(t *testing.T) {
	ca, err := NewCA("ca", 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"localhost"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "certs")
	if err := WriteFiles(dir, ca.CertPEM, leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)); err != nil {
		t.Fatalf("loading written pair: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("dir holds %d files, want 3 (no temporary files left)", len(entries))
	}
}
