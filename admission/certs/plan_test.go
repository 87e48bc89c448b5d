package certs

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
)

var names = []string{"baseguard.baseguard.svc", "127.0.0.1"}

func testSpec(now time.Time) spec {
	return spec{names: names, caValidity: 30 * time.Hour, leafValidity: 3 * time.Hour, now: now}
}

// secretAt plans a Secret from nothing at the given time.
func secretAt(t *testing.T, now time.Time) map[string][]byte {
	t.Helper()
	data, _, err := plan(nil, testSpec(now))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func with(data map[string][]byte, key string, value []byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range data {
		out[k] = v
	}
	if value == nil {
		delete(out, key)
	} else {
		out[key] = value
	}
	return out
}

// TestPlan drives a Secret through what a cluster does to it: nothing to
// do while it is good; a new pair, a new CA or both for each way it is
// not. Certificates are real (pki), times are relative to issue.
func TestPlan(t *testing.T) {
	now := time.Now()
	good := secretAt(t, now)
	other := secretAt(t, now)
	otherCA, _ := pki.ParseCA(other[KeyCABundle], other[KeyCAKey])
	foreign, _ := otherCA.Issue(names, time.Hour)
	wrongNames, _ := mustCA(t, good).Issue([]string{"evil.example.com"}, time.Hour)

	for _, tc := range []struct {
		name   string
		data   map[string][]byte
		at     time.Time
		newCA  bool   // a new CA signs
		keepCA bool   // the old CA stays in the bundle
		newPEM bool   // a new serving pair
		why    string // in the reason; empty: nothing to do
	}{
		{name: "good", data: good, at: now.Add(time.Hour)},
		{name: "empty", data: nil, at: now, newCA: true, newPEM: true, why: "no CA yet"},
		{name: "serving pair due (a third of its life left)", data: good, at: now.Add(2*time.Hour + time.Minute), newPEM: true, why: "serving certificate expires"},
		{name: "serving pair expired", data: good, at: now.Add(4 * time.Hour), newPEM: true, why: "serving certificate expired"},
		{name: "serving pair from another CA", data: with(with(good, KeyCert, foreign.CertPEM), KeyKey, foreign.KeyPEM), at: now, newPEM: true, why: "not signed by the CA"},
		{name: "serving pair for other names", data: with(with(good, KeyCert, wrongNames.CertPEM), KeyKey, wrongNames.KeyPEM), at: now, newPEM: true, why: "not for baseguard.baseguard.svc"},
		{name: "serving key of another pair", data: with(good, KeyKey, foreign.KeyPEM), at: now, newPEM: true, why: "does not load"},
		{name: "serving pair missing", data: with(good, KeyCert, nil), at: now, newPEM: true, why: "no serving certificate"},
		{name: "CA due: renewed, the old one kept", data: good, at: now.Add(20*time.Hour + time.Minute), newCA: true, keepCA: true, newPEM: true, why: "the CA expires"},
		{name: "CA expired: replaced", data: good, at: now.Add(31 * time.Hour), newCA: true, newPEM: true, why: "the CA expired"},
		{name: "CA key of another CA: replaced", data: with(good, KeyCAKey, other[KeyCAKey]), at: now, newCA: true, newPEM: true, why: "does not belong"},
		{name: "CA key missing", data: with(good, KeyCAKey, nil), at: now, newCA: true, newPEM: true, why: "does not load"},
		{name: "CA not PEM", data: with(good, KeyCABundle, []byte("garbage")), at: now, newCA: true, newPEM: true, why: "does not load"},
		{name: "a leaf posing as the CA", data: with(with(good, KeyCABundle, good[KeyCert]), KeyCAKey, good[KeyKey]), at: now, newCA: true, newPEM: true, why: "not a certificate authority"},
		{name: "bundle with an expired extra CA: pruned", data: with(good, KeyCABundle, append(append([]byte{}, good[KeyCABundle]...), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")...)), at: now, why: "unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why, err := plan(tc.data, testSpec(tc.at))
			if err != nil {
				t.Fatal(err)
			}
			if tc.why == "" {
				if got != nil {
					t.Fatalf("plan rewrote a good Secret: %s", why)
				}
				return
			}
			if got == nil {
				t.Fatalf("plan kept the Secret; want a new one (%s)", tc.why)
			}
			if !strings.Contains(why, tc.why) {
				t.Errorf("reason %q does not say %q", why, tc.why)
			}
			checkSecret(t, got, tc.at)
			if newCA := string(got[KeyCAKey]) != string(tc.data[KeyCAKey]); newCA != tc.newCA {
				t.Errorf("new CA: %v, want %v", newCA, tc.newCA)
			}
			if newPEM := string(got[KeyCert]) != string(tc.data[KeyCert]); newPEM != tc.newPEM {
				t.Errorf("new serving pair: %v, want %v", newPEM, tc.newPEM)
			}
			bundle := bundleCerts(got[KeyCABundle], tc.at)
			wantLen := 1
			if tc.keepCA {
				wantLen = 2
			}
			if len(bundle) != wantLen {
				t.Errorf("the bundle holds %d CAs, want %d", len(bundle), wantLen)
			}
			if tc.keepCA && !bundle[1].Equal(mustCA(t, tc.data).Cert) {
				t.Error("the renewed CA is not kept second in the bundle")
			}
			// What a plan writes is good at once.
			if again, why, _ := plan(got, testSpec(tc.at)); again != nil {
				t.Errorf("plan of its own output rewrites it: %s", why)
			}
		})
	}
}

// checkSecret verifies the serving pair against the bundle for every name,
// as kube-apiserver does with a caBundle.
func checkSecret(t *testing.T, data map[string][]byte, at time.Time) {
	t.Helper()
	pair, err := tls.X509KeyPair(data[KeyCert], data[KeyKey])
	if err != nil {
		t.Fatalf("serving pair: %v", err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	pool, err := pki.CertPool(data[KeyCABundle])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: n, CurrentTime: at}); err != nil {
			t.Errorf("the serving certificate does not verify for %s: %v", n, err)
		}
	}
	ca := mustCA(t, data)
	if leaf.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("the serving certificate outlives its CA: %s > %s", leaf.NotAfter, ca.Cert.NotAfter)
	}
}

func mustCA(t *testing.T, data map[string][]byte) *pki.CA {
	t.Helper()
	ca, err := pki.ParseCA(data[KeyCABundle], data[KeyCAKey])
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestRenewAtIgnoresBackdating: a short-lived pair is not due the moment
// it is made because its NotBefore is back-dated.
func TestRenewAtIgnoresBackdating(t *testing.T) {
	now := time.Now()
	s := spec{names: names, caValidity: time.Hour, leafValidity: 30 * time.Second, now: now}
	data, _, err := plan(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := parseLeaf(data[KeyCert])
	// Certificate times are whole seconds.
	if got := renewAt(leaf).Sub(now); got < 19*time.Second || got > 21*time.Second {
		t.Errorf("a 30s pair is due after %s, want 20s", got)
	}
}
