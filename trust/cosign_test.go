package trust_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/trust"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// cosignBinary finds the cosign hack/cosign.sh built: $BASEGUARD_COSIGN,
// else its cache. A test that needs it fails without it.
func cosignBinary(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BASEGUARD_COSIGN")
	if dir == "" {
		out, err := exec.Command("../hack/cosign.sh", "--if-cached").Output()
		if err != nil {
			t.Fatalf("cosign is not built: run hack/cosign.sh (or set BASEGUARD_COSIGN to its directory): %v", err)
		}
		dir = strings.TrimSpace(string(out))
	}
	bin := filepath.Join(dir, "cosign")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("cosign not found: %v", err)
	}
	return bin
}

// cosign runs the real cosign with keys in dir, off the network: no
// transparency log, no signing config.
type cosign struct {
	t   *testing.T
	bin string
	dir string
}

func newCosign(t *testing.T) *cosign {
	t.Helper()
	c := &cosign{t: t, bin: cosignBinary(t), dir: t.TempDir()}
	c.run("generate-key-pair")
	return c
}

func (c *cosign) run(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD=", "HOME="+c.dir, "DOCKER_CONFIG="+c.dir, "TUF_ROOT="+filepath.Join(c.dir, "tuf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// offline are the flags that keep cosign off the network.
var offline = []string{"--key", "cosign.key", "--tlog-upload=false", "--use-signing-config=false", "--allow-http-registry", "--yes"}

func (c *cosign) publicKey() key {
	c.t.Helper()
	pem, err := os.ReadFile(filepath.Join(c.dir, "cosign.pub"))
	if err != nil {
		c.t.Fatal(err)
	}
	pk, err := policy.ParsePublicKey("inline key", pem)
	if err != nil {
		c.t.Fatal(err)
	}
	var k key
	k.PEM, k.Public = pem, pk
	return k
}

// attest runs cosign attest of a vuln predicate from testdata, finished
// at the given time.
func (c *cosign) attest(file string, finished time.Time, format, ref string) {
	c.t.Helper()
	b, err := json.Marshal(predicate(c.t, file, finished))
	if err != nil {
		c.t.Fatal(err)
	}
	predFile := filepath.Join(c.dir, "vuln.json")
	if err := os.WriteFile(predFile, b, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.run(append([]string{"attest", "--type", "vuln", "--predicate", predFile, "--new-bundle-format=" + format}, append(offline, ref)...)...)
}

// cosignLayouts are the storage layouts cosign 3 writes: tags beside the
// image (.sig, .att), or Sigstore bundles as OCI 1.1 referrers, through
// the registry's referrers API or, without one, its tag-schema fallback
// index (tag sha256-<hex>).
var cosignLayouts = []struct {
	name         string
	referrersAPI bool
	bundle       string // --new-bundle-format
	layout       string // as results name it
	// tags are the tags cosign writes for a subject of digest hex.
	tags func(hex string) []string
}{
	{"tag layout", false, "false", lineage.LayoutTag,
		func(hex string) []string { return []string{"sha256-" + hex + ".att", "sha256-" + hex + ".sig"} }},
	{"bundle, referrers tag", false, "true", lineage.LayoutReferrer,
		func(hex string) []string { return []string{"sha256-" + hex} }},
	{"bundle, referrers API", true, "true", lineage.LayoutReferrer,
		func(string) []string { return nil }},
}

// TestCosignSignatures judges signatures and scans the real cosign made,
// in each layout it writes: what cosign writes is what baseguard reads.
func TestCosignSignatures(t *testing.T) {
	c := newCosign(t)
	pub := c.publicKey()
	other := newKey(t, "ecdsa")
	for _, tc := range cosignLayouts {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.referrersAPI)
			index, _ := w.pushIndex("base/alpine:3.19")
			debian, _ := w.pushIndex("base/debian:12")
			unsigned, _ := w.pushIndex("base/alpine:3.20")
			// cosign signs what the tag points at: the index; the
			// lineage's entry is its linux/amd64 manifest.
			for _, at := range []struct {
				repo string
				d    v1.Hash
				scan string
			}{{"base/alpine", index, "trivy-critical.json"}, {"base/debian", debian, "grype-critical.json"}} {
				ref := w.host + "/" + at.repo + "@" + at.d.String()
				c.run(append([]string{"sign", "--new-bundle-format=" + tc.bundle}, append(offline, ref)...)...)
				c.attest(at.scan, now.Add(-2*time.Hour), tc.bundle, ref)
			}
			if diff := cmp.Diff(tc.tags(index.Hex), w.artifactTags("base/alpine", index)); diff != "" {
				t.Fatalf("the tags cosign wrote (-want +got):\n%s", diff)
			}
			if n := w.referrers("base/alpine", index); tc.referrersAPI && n != 2 {
				t.Fatalf("the referrers API lists %d artifacts of the signed index, want cosign's signature and attestation", n)
			}

			alpine := w.lineage(w.resolver(), "base/alpine:3.19")
			expect(t, judge(t, signedByPolicy(t, "", pub), alpine), policy.StatusPass, "is signed by "+pub.Public.Name, "("+tc.layout+" layout)")
			expect(t, judge(t, signedByPolicy(t, "", other), alpine), policy.StatusFail, "does not verify with "+other.Public.Name)
			expect(t, judge(t, signedByPolicy(t, "", pub), w.lineage(w.resolver(), "base/alpine:3.20")), policy.StatusFail, "is not signed")
			// Signed off the network, cosign's signature has no
			// transparency-log entry: a rule that requires one refuses it.
			inTlog := "verifies with " + pub.Public.Name + ", but not its transparency-log entry"
			if tc.layout == lineage.LayoutTag {
				inTlog = "the tag layout's transparency-log entries are not checked"
			}
			expect(t, judge(t, signedInTlogPolicy(t, trustedRootJSON(t), pub), alpine), policy.StatusFail, inTlog)
			expect(t, judge(t, scanPolicy(t, "maxScanAge: 1d\nfailOn: high", pub), alpine), policy.StatusFail, "trivy 0.58.1 scan", "CVE-2026-0001 (critical)")
			expect(t, judge(t, scanPolicy(t, "maxScanAge: 1h\nfailOn: critical", pub), alpine), policy.StatusFail)
			expect(t, judge(t, scanPolicy(t, "failOn: critical\nignore:\n  - {id: CVE-2026-0001, expires: \"2027-01-01\", reason: patched downstream}", pub), alpine), policy.StatusPass)
			expect(t, judge(t, scanPolicy(t, "failOn: critical", other), alpine), policy.StatusFail, "none counts")
			debianL := w.lineage(w.resolver(), "base/debian:12")
			expect(t, judge(t, scanPolicy(t, "failOn: high", pub), debianL), policy.StatusFail, "grype 0.84.0 scan", "GHSA-4374-p667-p6c8 (critical)")

			// cosign 3's signature is a bundle of the sign/v1 predicate:
			// a signature, never taken for scan evidence.
			for _, a := range alpine.Entries[0].Trust.Attestations {
				if a.PredicateType == trust.PredicateCosignSign {
					t.Errorf("the signature bundle at %s is listed as an attestation", a.Where)
				}
			}

			// Whoever can push to the repository can copy what cosign
			// wrote for one digest to another's tags: it still names the
			// digest it was made for.
			for _, tag := range tc.tags(index.Hex) {
				w.copyTag("base/alpine", tag, strings.Replace(tag, index.Hex, unsigned.Hex, 1))
			}
			if len(tc.tags(index.Hex)) > 0 {
				copied := w.lineage(w.resolver(), "base/alpine:3.20")
				expect(t, judge(t, signedByPolicy(t, "", pub), copied), policy.StatusFail, "not for this image")
				expect(t, judge(t, scanPolicy(t, "failOn: critical\nignore:\n  - {id: CVE-2026-0001, expires: \"2027-01-01\", reason: patched downstream}", pub), copied), policy.StatusFail, "none counts")
			}
		})
	}
}

// artifactTags lists the repository's tags that name digest d.
func (w *world) artifactTags(repo string, d v1.Hash) []string {
	w.t.Helper()
	tags, err := remote.List(w.repo(repo))
	w.check(err)
	var out []string
	for _, tag := range tags {
		if strings.Contains(tag, d.Hex) {
			out = append(out, tag)
		}
	}
	sort.Strings(out)
	return out
}

// referrers counts what the referrers API lists for digest d.
func (w *world) referrers(repo string, d v1.Hash) int {
	w.t.Helper()
	idx, err := remote.Referrers(w.repo(repo).Digest(d.String()))
	w.check(err)
	m, err := idx.IndexManifest()
	w.check(err)
	return len(m.Manifests)
}

// copyTag points tag to at the manifest tag from points at.
func (w *world) copyTag(repo, from, to string) {
	w.t.Helper()
	desc, err := remote.Get(w.repo(repo).Tag(from))
	w.check(err)
	w.check(remote.Put(w.repo(repo).Tag(to), desc))
}
