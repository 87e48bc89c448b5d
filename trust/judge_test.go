package trust_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// now is when the tests judge.
var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// inlineKeys writes keys as YAML block scalars at the given indent.
func inlineKeys(indent string, keys ...key) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(indent + "- |\n")
		for _, line := range strings.Split(strings.TrimSpace(string(k.PEM)), "\n") {
			b.WriteString(indent + "  " + line + "\n")
		}
	}
	return b.String()
}

// signedByPolicy requires every lineage entry matching when (all when
// empty) to be signed by one of keys.
func signedByPolicy(t testing.TB, when string, keys ...key) *policy.Set {
	t.Helper()
	rule := "    - name: signed\n"
	if when != "" {
		rule += fmt.Sprintf("      when: [%q]\n", when)
	}
	rule += "      signedBy:\n        keys:\n" + inlineKeys("          ", keys...)
	return policySet(t, rule)
}

// signedInTlogPolicy requires every lineage entry to be signed by one of
// keys with a transparency-log entry that verifies against root, a
// trusted_root.json.
func signedInTlogPolicy(t testing.TB, root string, keys ...key) *policy.Set {
	t.Helper()
	rule := "    - name: signed\n      signedBy:\n        keys:\n" + inlineKeys("          ", keys...)
	rule += "        trustedRoot: |\n          " + root + "\n"
	return policySet(t, rule)
}

// trustedRootJSON is a Sigstore trusted root whose one transparency log
// signs with a fresh key no test has: no signature has an entry in it.
func trustedRootJSON(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	id := sha256.Sum256(der)
	root := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs": []any{map[string]any{
			"baseUrl":       "https://rekor.example",
			"hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{
				"rawBytes":   base64.StdEncoding.EncodeToString(der),
				"keyDetails": "PKIX_ECDSA_P256_SHA_256",
				"validFor":   map[string]any{"start": "2020-01-01T00:00:00Z"},
			},
			"logId": map[string]any{"keyId": base64.StdEncoding.EncodeToString(id[:])},
		}},
		"certificateAuthorities": []any{},
		"ctlogs":                 []any{},
		"timestampAuthorities":   []any{},
	}
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scanPolicy requires a scan attested by keys, with the gate's settings
// (maxScanAge, failOn, ignore) given as YAML lines.
func scanPolicy(t testing.TB, settings string, keys ...key) *policy.Set {
	t.Helper()
	rule := "    - name: scanned\n      vulnerabilities:\n        keys:\n" + inlineKeys("          ", keys...)
	for _, line := range strings.Split(strings.TrimSpace(settings), "\n") {
		rule += "        " + line + "\n"
	}
	return policySet(t, rule)
}

func policySet(t testing.TB, rules string) *policy.Set {
	t.Helper()
	doc := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: trust}\nspec:\n  rules:\n" + rules
	ps, err := policy.Load(policy.File{Name: "trust.yaml", Data: []byte(doc)})
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return set
}

// judge evaluates a lineage as a Pod's container and returns the one
// result.
func judge(t testing.TB, set *policy.Set, l lineage.Lineage) policy.Result {
	t.Helper()
	sub := &subject.Subject{
		Resource:  &subject.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "web"},
		Container: "app", List: subject.Containers, Field: "spec.containers[0].image",
		Image: l.Entries[0].Ref.Written, Source: lineage.SourceReference,
	}
	rs := set.Evaluate(sub, l, now)
	if len(rs) != 1 {
		t.Fatalf("got %d results, want 1", len(rs))
	}
	return rs[0]
}

// expect checks a result's status and that its message says each of
// words.
func expect(t testing.TB, r policy.Result, status policy.Status, words ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %s, want %s: %s", r.Status, status, r.Message)
	}
	for _, w := range words {
		if !strings.Contains(r.Message, w) {
			t.Errorf("message does not say %q: %s", w, r.Message)
		}
	}
}
