package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

func sample() []policy.Result {
	p := policy.Builtin()[0]
	res := &subject.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "web", File: "k8s/web.yaml", Line: 1}
	sub := &subject.Subject{Resource: res, Container: "app", Field: "spec.containers[0].image", Image: "centos:7", Line: 9, Column: 14, Source: lineage.SourceReference}
	ref, _ := imageref.Parse("centos:7")
	return []policy.Result{{
		Policy: p, Rule: &p.Spec.Rules[1], Status: policy.StatusFail, Action: policy.Enforce,
		Message: "denied <centos> & more", Subject: sub, Lineage: lineage.Of(ref, lineage.SourceReference),
	}}
}

// TestJSONContract decodes the JSON output into the shape DESIGN.md fixes.
func TestJSONContract(t *testing.T) {
	for name, results := range map[string][]policy.Result{"empty": nil, "one": sample()} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, results); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Results []map[string]any `json:"results"`
				Summary map[string]int   `json:"summary"`
			}
			dec := json.NewDecoder(&buf)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("output is not the JSON contract: %v\n%s", err, buf.String())
			}
			if len(doc.Results) != len(results) || len(doc.Summary) != 5 {
				t.Fatalf("got %d results, summary %v", len(doc.Results), doc.Summary)
			}
			for _, r := range doc.Results {
				for _, key := range []string{"policy", "rule", "result", "message", "action", "resource", "container", "image", "lineage"} {
					if _, ok := r[key]; !ok {
						t.Errorf("result lacks %q: %v", key, r)
					}
				}
				if r["message"] != "denied <centos> & more" {
					t.Errorf("message escaped: %q", r["message"])
				}
			}
		})
	}
}

func TestSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := SARIF(&buf, sample(), policy.Builtin(), "test"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string
		Runs    []struct {
			Tool struct {
				Driver struct{ Rules []struct{ ID string } }
			}
			Results []struct {
				RuleID    string
				RuleIndex int
				Level     string
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine, StartColumn int }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	run := log.Runs[0]
	r := run.Results[0]
	if log.Version != "2.1.0" || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.Level != "error" {
		t.Errorf("SARIF rule or level wrong: %+v", log)
	}
	loc := r.Locations[0].PhysicalLocation
	if loc.ArtifactLocation.URI != "k8s/web.yaml" || loc.Region.StartLine != 9 || loc.Region.StartColumn != 14 {
		t.Errorf("location %+v, want k8s/web.yaml:9:14", loc)
	}
}

func TestTextColourOnlyWhenAsked(t *testing.T) {
	var plain, color bytes.Buffer
	Text(&plain, sample(), TextOptions{})
	Text(&color, sample(), TextOptions{Color: true})
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(color.String(), "\x1b[31m") {
		t.Errorf("plain %q, colour %q", plain.String(), color.String())
	}
	if !strings.Contains(plain.String(), "1 resources, 1 images: 0 pass, 1 fail (1 enforced)") {
		t.Errorf("summary line missing: %q", plain.String())
	}
}

// TestTextEscapesAndTagNote: names and images an attacker writes cannot
// drive the terminal, and an image written as repo:tag@digest says whether
// its tag was taken as written or not confirmed.
func TestTextEscapesAndTagNote(t *testing.T) {
	const dg = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	offline := sample()
	offline[0].Subject.Resource.Name = "web\x1b]0;owned\x07"
	offline[0].Subject.Container = "app\u202e"
	offline[0].Message = "bad\r\nFAKE PASS"
	offline[0].Reason = "bad\r\nFAKE PASS"
	ref, _ := imageref.Parse("alpine:3.19@" + dg)
	offline[0].Lineage = lineage.Of(ref, lineage.SourceReference)
	unconfirmed := sample()
	l := lineage.Of(ref, lineage.SourceReference)
	l.Entries[0].DropUnconfirmedTag("tag 3.19 names sha256:2222")
	unconfirmed[0].Lineage = l
	for name, tt := range map[string]struct {
		results []policy.Result
		says    string
	}{
		"offline":     {offline, "tag 3.19 was taken as written"},
		"unconfirmed": {unconfirmed, "judged as alpine@" + dg},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Text(&buf, tt.results, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.ContainsAny(out, "\x1b\x07\r\u202e") || strings.Contains(out, "\nFAKE PASS") {
				t.Errorf("text output carries raw control characters:\n%q", out)
			}
			if !strings.Contains(out, tt.says) {
				t.Errorf("text output does not say %q:\n%s", tt.says, out)
			}
		})
	}
}
