package trust_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/trust"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/static"
)

// predicate reads a scan predicate from testdata and sets when it
// finished.
func predicate(t testing.TB, file string, finished time.Time) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "scans", file))
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	p["metadata"].(map[string]any)["scanFinishedOn"] = finished.Format(time.RFC3339)
	return p
}

// scanLayouts attach a scan as cosign attest does: a DSSE envelope in the
// .att tag, or a bundle as a referrer.
var scanLayouts = []struct {
	name         string
	referrersAPI bool
	attest       func(w *world, repo string, at v1.Hash, k key, predicateType string, body []byte)
}{
	{"tag", false, func(w *world, repo string, at v1.Hash, k key, pt string, body []byte) {
		w.attestTag(repo, at, envelope(w.t, k, body), pt)
	}},
	{"bundle-referrers-tag", false, func(w *world, repo string, at v1.Hash, k key, pt string, body []byte) {
		w.attachBundle(repo, at, bundleOf(w.t, k, body), pt)
	}},
	{"bundle-referrers-api", true, func(w *world, repo string, at v1.Hash, k key, pt string, body []byte) {
		w.attachBundle(repo, at, bundleOf(w.t, k, body), pt)
	}},
}

func TestVulnerabilities(t *testing.T) {
	fresh := now.Add(-36 * time.Hour)
	cases := []struct {
		name     string
		file     string
		finished time.Time
		settings string
		predType string
		signedBy string // "other" signs with a key the rule does not name
		status   policy.Status
		words    []string
	}{
		{name: "clean fresh scan", file: "trivy-clean.json", finished: fresh, settings: "maxScanAge: 7d\nfailOn: high",
			status: policy.StatusPass, words: []string{"trivy 0.58.1 scan", "0 critical, 0 high, 1 medium, 1 low, 1 unknown"}},
		{name: "critical finding", file: "trivy-critical.json", finished: fresh, settings: "maxScanAge: 7d\nfailOn: high",
			status: policy.StatusFail, words: []string{"2 at or above high", "CVE-2026-0001 (critical)", "CVE-2026-1111 (high)"}},
		{name: "below failOn", file: "trivy-critical.json", finished: fresh, settings: "failOn: critical\nignore:\n  - {id: CVE-2026-0001, expires: \"2027-01-31\", reason: not reachable}",
			status: policy.StatusPass, words: []string{"CVE-2026-0001 (critical) ignored until 2027-01-31: not reachable"}},
		{name: "ignore expired", file: "trivy-critical.json", finished: fresh, settings: "failOn: critical\nignore:\n  - {id: CVE-2026-0001, expires: \"2026-10-31\", reason: not reachable}",
			status: policy.StatusFail, words: []string{"CVE-2026-0001 (critical)", "the ignore of CVE-2026-0001 expired on 2026-10-31 and no longer applies"}},
		{name: "stale scan", file: "trivy-clean.json", finished: now.Add(-9 * 24 * time.Hour), settings: "maxScanAge: 7d\nfailOn: high",
			status: policy.StatusFail, words: []string{"finished 9 days ago", "older than maxScanAge 7d"}},
		{name: "attested by another key", file: "trivy-clean.json", finished: fresh, settings: "failOn: high", signedBy: "other",
			status: policy.StatusFail, words: []string{"has no vulnerability scan attested by", "does not verify with"}},
		{name: "grype critical", file: "grype-critical.json", finished: fresh, settings: "failOn: high",
			status: policy.StatusFail, words: []string{"grype 0.84.0 scan", "GHSA-4374-p667-p6c8 (critical)", "1 medium", "1 negligible"}},
		{name: "grype ignored by alias", file: "grype-critical.json", finished: fresh, settings: "failOn: high\nignore:\n  - {id: CVE-2026-0002, expires: \"2027-01-31\", reason: \"vendored, unused\"}",
			status: policy.StatusPass, words: []string{"GHSA-4374-p667-p6c8 (critical) ignored until 2027-01-31"}},
		{name: "old predicate spelling", file: "trivy-clean.json", finished: fresh, settings: "failOn: high", predType: "cosign.sigstore.dev/attestation/vuln/v1",
			status: policy.StatusPass, words: []string{"trivy 0.58.1 scan"}},
	}
	for _, layout := range scanLayouts {
		for _, c := range cases {
			t.Run(layout.name+"/"+c.name, func(t *testing.T) {
				w := newWorld(t, layout.referrersAPI)
				scanner, other := newKey(t, "ecdsa"), newKey(t, "ed25519")
				set := scanPolicy(t, c.settings, scanner)
				d := w.pushImage("base/alpine:3.19")
				pt := c.predType
				if pt == "" {
					pt = trust.PredicateVuln
				}
				k := scanner
				if c.signedBy == "other" {
					k = other
				}
				layout.attest(w, "base/alpine", d, k, pt, statement(pt, predicate(t, c.file, c.finished), d))
				expect(t, judge(t, set, w.lineage(w.resolver(), "base/alpine:3.19")), c.status, c.words...)
			})
		}
	}
}

// TestNewestScanCounts: an older scan with a critical finding is replaced
// by a newer clean one.
func TestNewestScanCounts(t *testing.T) {
	w := newWorld(t, false)
	k := newKey(t, "ecdsa")
	set := scanPolicy(t, "maxScanAge: 7d\nfailOn: high", k)
	d := w.pushImage("base/alpine:3.19")
	w.attestTag("base/alpine", d, envelope(t, k, statement(trust.PredicateVuln, predicate(t, "trivy-critical.json", now.Add(-5*24*time.Hour)), d)), trust.PredicateVuln)
	w.attestTag("base/alpine", d, envelope(t, k, statement(trust.PredicateVuln, predicate(t, "trivy-clean.json", now.Add(-time.Hour)), d)), trust.PredicateVuln)
	expect(t, judge(t, set, w.lineage(w.resolver(), "base/alpine:3.19")), policy.StatusPass, "finished 1h0m0s ago")
}

// TestUnreadableScans: attestations that cannot be read are errors, never
// a pass, never a panic.
func TestUnreadableScans(t *testing.T) {
	k := newKey(t, "ecdsa")
	set := scanPolicy(t, "failOn: high", k)
	cases := []struct {
		name   string
		attach func(w *world, d v1.Hash)
		words  []string
	}{
		{"unknown report layout", func(w *world, d v1.Hash) {
			p := predicate(t, "trivy-clean.json", now)
			p["scanner"].(map[string]any)["result"] = map[string]any{"components": []any{}, "bomFormat": "CycloneDX"}
			w.attestTag("base/x", d, envelope(t, k, statement(trust.PredicateVuln, p, d)), trust.PredicateVuln)
		}, []string{"cannot be read", "neither a Trivy report", `"bomFormat"`}},
		{"no finish time", func(w *world, d v1.Hash) {
			p := predicate(t, "trivy-clean.json", now)
			delete(p, "metadata")
			w.attestTag("base/x", d, envelope(t, k, statement(trust.PredicateVuln, p, d)), trust.PredicateVuln)
		}, []string{"cannot be read", "scanFinishedOn"}},
		{"malformed envelope", func(w *world, d v1.Hash) {
			w.attestTag("base/x", d, []byte(`{"payloadType": "application/vnd.in-toto+json", "payload": "%%%", "signatures": [{"sig": "AA=="}]}`), trust.PredicateVuln)
		}, []string{"could not be read", "malformed"}},
		{"oversized envelope", func(w *world, d v1.Hash) {
			big := make([]byte, 17<<20)
			w.appendTagLayer("base/x", d, "att", static.NewLayer(big, "application/vnd.dsse.envelope.v1+json"), map[string]string{"predicateType": trust.PredicateVuln})
		}, []string{"could not be read", "too large"}},
		{"malformed bundle", func(w *world, d v1.Hash) {
			w.attachBundle("base/x", d, []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": 7}`), trust.PredicateVuln)
		}, []string{"could not be read", "Sigstore bundle"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, false)
			d := w.pushImage("base/x:1")
			c.attach(w, d)
			r := judge(t, set, w.lineage(w.resolver(), "base/x:1"))
			expect(t, r, policy.StatusError, c.words...)
			if strings.Count(r.Message, "\n") > 0 {
				t.Errorf("the message has line breaks: %q", r.Message)
			}
		})
	}
}
