package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/trust/trusttest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// trustNow is when the trust tests judge (check --now).
var trustNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// trustRegistry is a registry of bases, some signed and scanned, and apps
// built on them; keys/ beside the policy hold the public keys.
type trustRegistry struct {
	*testRegistry
	platform, scanner trusttest.Key
	policyFile        string
}

func newTrustRegistry(t *testing.T) *trustRegistry {
	t.Helper()
	r := &trustRegistry{testRegistry: newTestRegistry(t)}
	var err error
	if r.platform, err = trusttest.NewKey("ecdsa"); err != nil {
		t.Fatal(err)
	}
	if r.scanner, err = trusttest.NewKey("ed25519"); err != nil {
		t.Fatal(err)
	}
	r.policyFile = r.writePolicy(t, t.TempDir(), "maxScanAge: 7d")
	return r
}

// writePolicy writes the trust policy, with the scan gate's age setting,
// and the keys into dir, and returns the policy's path.
func (r *trustRegistry) writePolicy(t *testing.T, dir, age string) string {
	t.Helper()
	file, err := trusttest.WritePolicyDir(dir, trusttest.TrustedBasesPolicy(r.host, age,
		`ignore:
  - {id: CVE-2026-7777, expires: "2027-01-31", reason: "not reachable from the app"}`), r.platform, r.scanner)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// base pushes a base image, signed by the platform key when signed, with a
// scan attested by the scanner key when findings is not nil, and an app
// built on it.
func (r *trustRegistry) base(t *testing.T, name string, signed bool, findings []string) (app string) {
	t.Helper()
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	d := r.push(t, "base/"+name+":1", img)
	repo := r.repo(t, "base/"+name)
	if signed {
		if err := trusttest.SignTagWith(repo, d, r.platform); err != nil {
			t.Fatal(err)
		}
	}
	if findings != nil {
		env, err := trusttest.Envelope(r.scanner, trusttest.Statement(trusttest.PredicateVuln, trusttest.TrivyScan("base", trustNow.Add(-24*time.Hour), findings...), d))
		if err != nil {
			t.Fatal(err)
		}
		if err := trusttest.AttestTag(repo, d, env, trusttest.PredicateVuln); err != nil {
			t.Fatal(err)
		}
	}
	r.push(t, "apps/"+name+":1", child(t, img, r.host+"/base/"+name+":1", d))
	return r.host + "/apps/" + name + ":1"
}

func (r *trustRegistry) repo(t *testing.T, s string) name.Repository {
	t.Helper()
	repo, err := name.NewRepository(r.host + "/" + s)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// TestCheckResolveTrust: check --resolve refuses an unsigned base and one
// with a critical finding, and admits a signed base with a fresh clean
// scan or one whose finding is ignored until a later date.
func TestCheckResolveTrust(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTrustRegistry(t)
	images := map[string]string{
		"clean":     reg.base(t, "clean", true, []string{"CVE-2025-1000=LOW"}),
		"unsigned":  reg.base(t, "unsigned", false, nil),
		"critical":  reg.base(t, "critical", true, []string{"CVE-2026-0001=CRITICAL"}),
		"excepted":  reg.base(t, "excepted", true, []string{"CVE-2026-7777=CRITICAL"}),
		"unscanned": reg.base(t, "unscanned", true, nil),
	}
	var pods strings.Builder
	for n, img := range images {
		fmt.Fprintf(&pods, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers: [{name: app, image: %s}]\n", n, img)
	}
	manifests := filepath.Join(t.TempDir(), "pods.yaml")
	os.WriteFile(manifests, []byte(pods.String()), 0o644)

	out, errOut, code := run(t, "", "check", "--resolve", "-o", "json", "--now", trustNow.Format(time.RFC3339), "-p", reg.policyFile, manifests)
	if code != exitFailed {
		t.Errorf("exit %d, want %d; stderr %s", code, exitFailed, errOut)
	}
	var doc struct {
		Results []struct {
			Rule, Result, Message string
			Resource              struct{ Name string }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	messages := map[string]string{}
	for _, r := range doc.Results {
		got[r.Resource.Name+"/"+r.Rule] = r.Result
		messages[r.Resource.Name+"/"+r.Rule] = r.Message
	}
	want := map[string]string{
		"clean/signed-bases": "pass", "clean/scanned-bases": "pass",
		"unsigned/signed-bases": "fail", "unsigned/scanned-bases": "fail",
		"critical/signed-bases": "pass", "critical/scanned-bases": "fail",
		"excepted/signed-bases": "pass", "excepted/scanned-bases": "pass",
		"unscanned/signed-bases": "pass", "unscanned/scanned-bases": "fail",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s\n%s", diff, messages["unsigned/scanned-bases"])
	}
	for key, words := range map[string][]string{
		"clean/signed-bases":      {"is signed by keys/platform.pub (tag layout)", "no transparency-log entry required"},
		"clean/scanned-bases":     {"trivy 0.58.1 scan", "finished 24h0m0s ago", "0 critical, 0 high, 0 medium, 1 low", "attested by keys/scanner.pub"},
		"unsigned/signed-bases":   {"is not signed: no signature found"},
		"critical/scanned-bases":  {"1 at or above high: CVE-2026-0001 (critical)"},
		"excepted/scanned-bases":  {"CVE-2026-7777 (critical) ignored until 2027-01-31: not reachable from the app"},
		"unscanned/scanned-bases": {"has no vulnerability scan attestation"},
	} {
		for _, w := range words {
			if !strings.Contains(messages[key], w) {
				t.Errorf("%s does not say %q: %s", key, w, messages[key])
			}
		}
	}

	// Past the ignore's expiry the finding fails again, and says so (the
	// scan is judged without an age limit here).
	noAge := reg.writePolicy(t, t.TempDir(), "# no maxScanAge")
	out, _, _ = run(t, "", "check", "--resolve", "-o", "json", "--now", "2027-02-02T00:00:00Z", "-p", noAge, manifests)
	if !strings.Contains(out, "the ignore of CVE-2026-7777 expired on 2027-01-31 and no longer applies") {
		t.Errorf("an expired ignore is not reported:\n%s", out)
	}
}

// TestInspectTrust: inspect shows each entry's signatures and which key
// verifies them, and its scans with scanner, age and counts.
func TestInspectTrust(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTrustRegistry(t)
	app := reg.base(t, "alpine", true, []string{"CVE-2026-0001=CRITICAL", "CVE-2025-1000=LOW"})

	out, errOut, code := run(t, "", "inspect", "-p", reg.policyFile, app)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{
		"no signature found", // the app itself is not signed
		"signature tag       for this image  verified by keys/platform.pub",
		"trivy 0.58.1, finished", "1 critical, 0 high, 0 medium, 1 low  verified by keys/scanner.pub",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("inspect does not say %q:\n%s", w, out)
		}
	}

	out, _, _ = run(t, "", "inspect", "-o", "json", app)
	var doc struct {
		Platforms []struct {
			Lineage []struct {
				Ref   string
				Trust *struct {
					Signatures   []struct{ Layout, For, VerifiedBy string }
					Attestations []struct {
						Scan *struct {
							Scanner string
							Counts  map[string]int
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	base := doc.Platforms[0].Lineage[1]
	if base.Trust == nil || len(base.Trust.Signatures) != 1 || base.Trust.Signatures[0].For != "image" || base.Trust.Signatures[0].VerifiedBy != "" {
		t.Errorf("base signatures without --policy: %+v", base.Trust)
	}
	if len(base.Trust.Attestations) != 1 || base.Trust.Attestations[0].Scan == nil || base.Trust.Attestations[0].Scan.Counts["critical"] != 1 {
		t.Errorf("base scan: %+v", base.Trust.Attestations)
	}
}
