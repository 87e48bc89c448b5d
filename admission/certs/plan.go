package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
)

// Keys of the Secret. ca.crt, tls.crt and tls.key are named as in
// kubernetes.io/tls Secrets and cert-manager's; ca.key is the CA's key,
// which signs the next serving pair.
const (
	KeyCABundle = pki.CAFile
	KeyCAKey    = "ca.key"
	KeyCert     = pki.CertFile
	KeyKey      = pki.KeyFile
)

// renewShare is the part of a certificate's lifetime left when it is
// renewed: a third, as cert-manager's default, leaves months for a failing
// renewal to be noticed with the default validities.
const renewShare = 3

// maxBundle bounds the CA certificates read from a Secret: the current CA
// and the one it replaced are all a bundle ever holds.
const maxBundle = 2

// spec is what a plan needs besides the Secret.
type spec struct {
	names        []string // DNS names and IP addresses
	caValidity   time.Duration
	leafValidity time.Duration
	now          time.Time
}

// plan returns the Secret data that should be stored, and why it differs
// from data; nil data when data is good as it is.
func plan(data map[string][]byte, s spec) (map[string][]byte, string, error) {
	ca, bundle, why, err := planCA(data, s)
	if err != nil {
		return nil, "", err
	}
	certPEM, keyPEM := data[KeyCert], data[KeyKey]
	if why != "" {
		certPEM, keyPEM = nil, nil // a new CA signs a new pair
	}
	if reason := leafProblem(certPEM, keyPEM, ca, s); reason != "" {
		validity := min(s.leafValidity, ca.Cert.NotAfter.Sub(s.now))
		leaf, err := ca.IssueAt(s.names, s.now, validity)
		if err != nil {
			return nil, "", err
		}
		certPEM, keyPEM = leaf.CertPEM, leaf.KeyPEM
		why = joinWhy(why, reason)
	}
	caKey, err := ca.KeyPEM()
	if err != nil {
		return nil, "", err
	}
	want := map[string][]byte{KeyCABundle: bundle, KeyCAKey: caKey, KeyCert: certPEM, KeyKey: keyPEM}
	if sameData(data, want) {
		return nil, "", nil
	}
	if why == "" {
		why = "the CA bundle holds an expired or unreadable certificate"
	}
	return want, why, nil
}

// planCA returns the CA that signs, the bundle to trust, and why the CA is
// new (empty when it is the stored one).
func planCA(data map[string][]byte, s spec) (*pki.CA, []byte, string, error) {
	stored := bundleCerts(data[KeyCABundle], s.now)
	ca, err := pki.ParseCA(data[KeyCABundle], data[KeyCAKey])
	var why string
	switch {
	case len(data[KeyCABundle]) == 0:
		why = "no CA yet"
	case err != nil:
		why = fmt.Sprintf("the stored CA does not load (%v)", err)
	case !s.now.Before(ca.Cert.NotAfter):
		why = "the CA expired"
	case dueForRenewal(ca.Cert, s.now):
		why = fmt.Sprintf("the CA expires at %s", ca.Cert.NotAfter.UTC().Format(time.RFC3339))
	default:
		return ca, encodeBundle(stored), "", nil
	}
	next, err := pki.NewCAAt("baseguard-webhook-ca", s.now, s.caValidity)
	if err != nil {
		return nil, nil, "", err
	}
	bundle := []*x509.Certificate{next.Cert}
	if ca != nil && s.now.Before(ca.Cert.NotAfter) {
		// Renewed in time: what the old CA signed stays trusted until
		// every replica serves a pair of the new one.
		bundle = append(bundle, ca.Cert)
	}
	return next, encodeBundle(bundle), why, nil
}

// bundleCerts reads the unexpired certificates of a PEM bundle, the first
// maxBundle of them; what does not parse is dropped.
func bundleCerts(bundle []byte, now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for len(out) < maxBundle {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err == nil && block.Type == "CERTIFICATE" && c.IsCA && now.Before(c.NotAfter) {
			out = append(out, c)
		}
	}
	return out
}

func encodeBundle(certs []*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// leafProblem says why the serving pair must be issued again; empty when
// it is good: a pair that loads, signed by ca, for every name, with more
// than a third of its lifetime left.
func leafProblem(certPEM, keyPEM []byte, ca *pki.CA, s spec) string {
	if len(certPEM) == 0 {
		return "no serving certificate yet"
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Sprintf("the serving pair does not load (%v)", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fmt.Sprintf("the serving certificate does not parse (%v)", err)
	}
	if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
		return "the serving certificate is not signed by the CA"
	}
	if name := uncovered(leaf, s.names); name != "" {
		return fmt.Sprintf("the serving certificate is not for %s", name)
	}
	if !s.now.Before(leaf.NotAfter) {
		return "the serving certificate expired"
	}
	if dueForRenewal(leaf, s.now) {
		return fmt.Sprintf("the serving certificate expires at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}

// uncovered returns the first name the certificate is not valid for.
func uncovered(c *x509.Certificate, names []string) string {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
				return n
			}
		} else if !slices.Contains(c.DNSNames, n) {
			return n
		}
	}
	return ""
}

// renewAt is when a certificate is due: a third of its lifetime before
// its end. The lifetime is counted from when it was issued, not from its
// back-dated NotBefore (pki.ClockSkew).
func renewAt(c *x509.Certificate) time.Time {
	lifetime := c.NotAfter.Sub(c.NotBefore.Add(pki.ClockSkew))
	if lifetime <= 0 {
		return c.NotBefore
	}
	return c.NotAfter.Add(-lifetime / renewShare)
}

func dueForRenewal(c *x509.Certificate, now time.Time) bool {
	return !now.Before(renewAt(c))
}

func sameData(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if !bytes.Equal(a[k], v) {
			return false
		}
	}
	return true
}

func joinWhy(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
