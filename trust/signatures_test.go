package trust_test

import (
	"encoding/json"
	"testing"

	"github.com/baseguard/baseguard/trust"

	"github.com/baseguard/baseguard/policy"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// layouts are the ways a signature is stored: cosign's tag layout, and
// cosign 3's bundles as referrers, on a registry with the referrers API
// and on one without (the sha256-<hex> tag fallback).
var layouts = []struct {
	name         string
	referrersAPI bool
	sign         func(w *world, repo string, at v1.Hash, k key, names ...v1.Hash)
}{
	{"tag", false, func(w *world, repo string, at v1.Hash, k key, names ...v1.Hash) {
		if len(names) == 0 {
			names = []v1.Hash{at}
		}
		p := simpleSigning(w.host+"/"+repo, names[0])
		w.signTag(repo, at, p, k.sign(w.t, p))
	}},
	{"bundle-referrers-api", true, (*world).signBundle},
	{"bundle-referrers-tag", false, (*world).signBundle},
}

func TestSignedBy(t *testing.T) {
	for _, layout := range layouts {
		for _, kind := range []string{"ecdsa", "ed25519", "rsa"} {
			t.Run(layout.name+"/"+kind, func(t *testing.T) {
				w := newWorld(t, layout.referrersAPI)
				platform, other := newKey(t, kind), newKey(t, "ecdsa")
				set := signedByPolicy(t, "", platform)

				signed := w.pushImage("base/signed:1")
				layout.sign(w, "base/signed", signed, platform)
				expect(t, judge(t, set, w.lineage(w.resolver(), "base/signed:1")), policy.StatusPass, "is signed by "+platform.Public.Name)

				w.pushImage("base/unsigned:1")
				expect(t, judge(t, set, w.lineage(w.resolver(), "base/unsigned:1")), policy.StatusFail, "is not signed: no signature found")

				wrong := w.pushImage("base/wrongkey:1")
				layout.sign(w, "base/wrongkey", wrong, other)
				expect(t, judge(t, set, w.lineage(w.resolver(), "base/wrongkey:1")), policy.StatusFail, "does not verify with "+platform.Public.Name)

				elsewhere := w.pushImage("base/other:1")
				forOther := w.pushImage("base/forother:1")
				layout.sign(w, "base/forother", forOther, platform, elsewhere)
				expect(t, judge(t, set, w.lineage(w.resolver(), "base/forother:1")), policy.StatusFail, "is for "+elsewhere.String()+", not for this image")

				index, amd64 := w.pushIndex("base/multi:1")
				layout.sign(w, "base/multi", index, platform)
				l := w.lineage(w.resolver(), "base/multi:1")
				if l.Entries[0].Digest != amd64.String() {
					t.Fatalf("the entry is %s, want the amd64 manifest %s", l.Entries[0].Digest, amd64)
				}
				expect(t, judge(t, set, l), policy.StatusPass, "is signed by")
			})
		}
	}
}

// TestTamperedPayload stores a payload other than the one signed: the
// signature no longer verifies.
func TestTamperedPayload(t *testing.T) {
	w := newWorld(t, false)
	k := newKey(t, "ecdsa")
	set := signedByPolicy(t, "", k)
	d := w.pushImage("base/tampered:1")
	signedFor := w.pushImage("base/tampered:0")
	sig := k.sign(t, simpleSigning(w.host+"/base/tampered", signedFor))
	w.signTag("base/tampered", d, simpleSigning(w.host+"/base/tampered", d), sig)
	expect(t, judge(t, set, w.lineage(w.resolver(), "base/tampered:1")), policy.StatusFail, "does not verify with "+k.Public.Name)

	w2 := newWorld(t, false)
	d2 := w2.pushImage("base/tampered:1")
	other := w2.pushImage("base/tampered:0")
	// Sign a statement for another image, then swap in one naming this
	// image: the bundle is well formed, its signature is for other bytes.
	signed := bundleOf(t, k, statement(trust.PredicateCosignSign, map[string]any{}, other))
	swapped := bundleOf(t, k, statement(trust.PredicateCosignSign, map[string]any{}, d2))
	w2.attachBundle("base/tampered", d2, withSignatureOf(t, swapped, signed), trust.PredicateCosignSign)
	expect(t, judge(t, set, w2.lineage(w2.resolver(), "base/tampered:1")), policy.StatusFail, "does not verify with "+k.Public.Name)
}

// withSignatureOf returns bundle b carrying the DSSE signature of bundle
// from.
func withSignatureOf(t *testing.T, b, from []byte) []byte {
	t.Helper()
	var dst, src map[string]any
	if err := json.Unmarshal(b, &dst); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(from, &src); err != nil {
		t.Fatal(err)
	}
	dst["dsseEnvelope"].(map[string]any)["signatures"] = src["dsseEnvelope"].(map[string]any)["signatures"]
	out, _ := json.Marshal(dst)
	return out
}
