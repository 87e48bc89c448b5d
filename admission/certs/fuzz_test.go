package certs

import (
	"testing"
	"time"
)

// FuzzPlan: whatever a Secret holds (anyone who may edit it can write
// anything), plan never panics, and what it writes is a good Secret at
// once: a pair that verifies against the bundle for every name.
func FuzzPlan(f *testing.F) {
	now := time.Now()
	good, _, err := plan(nil, testSpec(now))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good[KeyCABundle], good[KeyCAKey], good[KeyCert], good[KeyKey])
	f.Add(good[KeyCert], good[KeyKey], good[KeyCABundle], good[KeyCAKey])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, bundle, caKey, cert, key []byte) {
		data := map[string][]byte{KeyCABundle: bundle, KeyCAKey: caKey, KeyCert: cert, KeyKey: key}
		got, _, err := plan(data, testSpec(now))
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			got = data // judged good as it is
		}
		checkSecret(t, got, now)
		if again, why, _ := plan(got, testSpec(now)); again != nil {
			t.Fatalf("plan rewrites what it judged good or wrote: %s", why)
		}
	})
}
