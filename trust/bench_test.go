package trust_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/baseguard/baseguard/policy"
)

// BenchmarkJudgeWarm is what signedBy and vulnerabilities rules cost per
// image once the facts are cached: no registry request, the signature and
// the scan attestation verified with the rule's keys, the scan judged.
//
//	go test ./trust -run '^$' -bench JudgeWarm -benchmem
func BenchmarkJudgeWarm(b *testing.B) {
	for _, layout := range layouts {
		b.Run(layout.name, func(b *testing.B) {
			w := newWorld(b, layout.referrersAPI)
			platform, scanner := newKey(b, "ecdsa"), newKey(b, "rsa")
			d := w.pushImage("base/alpine:3.19")
			layout.sign(w, "base/alpine", d, platform)
			pred, err := json.Marshal(predicate(b, "trivy-clean.json", now.Add(-time.Hour)))
			if err != nil {
				b.Fatal(err)
			}
			var p any
			json.Unmarshal(pred, &p)
			body := statement("https://cosign.sigstore.dev/attestation/vuln/v1", p, d)
			w.attachBundle("base/alpine", d, bundleOf(b, scanner, body), "https://cosign.sigstore.dev/attestation/vuln/v1")
			signed := signedByPolicy(b, "", platform)
			scanned := scanPolicy(b, "maxScanAge: 7d\nfailOn: high", scanner)
			l := w.lineage(w.resolver(), "base/alpine:3.19")
			expect(b, judge(b, signed, l), policy.StatusPass)
			expect(b, judge(b, scanned, l), policy.StatusPass)
			before := w.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				judge(b, signed, l)
				judge(b, scanned, l)
			}
			if n := w.requests.Load() - before; n != 0 {
				b.Fatalf("%d registry requests while judging", n)
			}
		})
	}
}

// BenchmarkLineageWarm is what the resolver costs per image once lineage
// and trust facts are cached: what the webhook pays before judging.
//
//	go test ./trust -run '^$' -bench LineageWarm -benchmem
func BenchmarkLineageWarm(b *testing.B) {
	for _, layout := range layouts {
		b.Run(layout.name, func(b *testing.B) {
			w := newWorld(b, layout.referrersAPI)
			platform := newKey(b, "ecdsa")
			d := w.pushImage("base/alpine:3.19")
			layout.sign(w, "base/alpine", d, platform)
			r := w.resolver()
			w.lineage(r, "base/alpine:3.19")
			before := w.requests.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w.lineage(r, "base/alpine:3.19")
			}
			if n := w.requests.Load() - before; n != 0 {
				b.Fatalf("%d registry requests with warm caches", n)
			}
		})
	}
}
