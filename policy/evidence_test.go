package policy_test

import (
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

const evidencePolicy = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: p}
spec:
  rules:
    - name: approved
      allow: ["registry.example.com/base/*", "registry.example.com/apps/*"]
    - name: no-centos
      deny: ["*centos*"]
    - name: payments-1
      when: ["registry.example.com/apps/payments*"]
      allow: ["registry.example.com/apps/payments:1.*"]
    - name: no-payments-1.3
      deny: ["registry.example.com/apps/payments:1.3*"]
    - name: versioned
      when: ["*payments:1.3*"]
      allow: ["*payments:1.4*"]
  exceptions:
    - {name: legacy, images: ["registry.example.com/legacy/*"], rules: [approved], reason: "moving off it"}
`

const d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func entry(t *testing.T, ref string, src lineage.Source, verified bool) lineage.Entry {
	t.Helper()
	r, err := imageref.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return lineage.Entry{Ref: r, Digest: r.Digest, Source: src, Verified: verified}
}

// TestOnlyEvidenceAllows: a base an image merely declares (annotation,
// label, provenance) satisfies no allow rule and no exception, yet a
// declared denied base is refused; a tag written beside a digest counts
// for allow rules only when the registry confirmed it.
func TestOnlyEvidenceAllows(t *testing.T) {
	ps, err := policy.Load(policy.File{Name: "p.yaml", Data: []byte(evidencePolicy)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	const app = "registry.example.com/team/app:1"
	image := func() lineage.Entry { return entry(t, app, lineage.SourceReference, true) }
	resolved := func(es ...lineage.Entry) lineage.Lineage { return lineage.Lineage{Resolved: true, Entries: es} }
	unconfirmed := func(ref string) lineage.Lineage {
		e := entry(t, ref, lineage.SourceReference, true)
		e.DropUnconfirmedTag("tag 1.4 names sha256:2222")
		return resolved(e)
	}
	confirmed := func(ref string) lineage.Lineage {
		e := entry(t, ref, lineage.SourceReference, true)
		e.ConfirmTag()
		return resolved(e)
	}
	offline := func(ref string) lineage.Lineage {
		r, err := imageref.Parse(ref)
		if err != nil {
			t.Fatal(err)
		}
		return lineage.Of(r, lineage.SourceReference)
	}
	tests := []struct {
		name    string
		image   string
		lineage lineage.Lineage
		want    map[string]policy.Status // rules not passing
		says    string                   // in the failing result's message
	}{
		{"verified approved base", app, resolved(image(), entry(t, "registry.example.com/base/alpine:3.19", lineage.SourceAnnotation, true)), nil, ""},
		{"base approved by layers", app, resolved(image(), entry(t, "registry.example.com/base/alpine:3.19", lineage.SourceLayers, true)), nil, ""},
		{"claimed approved base", app, resolved(image(), entry(t, "registry.example.com/base/alpine:3.19", lineage.SourceAnnotation, false)),
			map[string]policy.Status{"approved": fail}, "is a claim, not evidence"},
		{"claimed by provenance", app, resolved(image(), entry(t, "registry.example.com/base/alpine:3.19", lineage.SourceProvenance, false)),
			map[string]policy.Status{"approved": fail}, "claimed by provenance, not verified"},
		{"claimed by buildpacks", app, resolved(image(), entry(t, "registry.example.com/base/alpine:3.19", lineage.SourceBuildpacks, false)),
			map[string]policy.Status{"approved": fail}, "claimed by buildpacks"},
		{"claimed denied base", "registry.example.com/base/app:1", resolved(entry(t, "registry.example.com/base/app:1", lineage.SourceReference, true), entry(t, "centos:7", lineage.SourceAnnotation, false)),
			map[string]policy.Status{"no-centos": fail}, "centos"},
		{"verified denied base", "registry.example.com/base/app:1", resolved(entry(t, "registry.example.com/base/app:1", lineage.SourceReference, true), entry(t, "centos:7", lineage.SourceLayers, true)),
			map[string]policy.Status{"no-centos": fail}, "centos"},
		{"exception by a claimed base", app, resolved(image(), entry(t, "registry.example.com/legacy/debian:9", lineage.SourceAnnotation, false)),
			map[string]policy.Status{"approved": fail}, "exception legacy does not apply: the image it names is only claimed"},
		{"exception by a verified base", app, resolved(image(), entry(t, "registry.example.com/legacy/debian:9", lineage.SourceAnnotation, true)),
			map[string]policy.Status{"approved": policy.StatusSkip}, "excepted by legacy"},
		{"the image itself, offline", "registry.example.com/base/alpine:3.19", offline("registry.example.com/base/alpine:3.19"), nil, ""},
		{"tag@digest offline is taken as written", "registry.example.com/apps/payments:1.4@" + d1, offline("registry.example.com/apps/payments:1.4@" + d1), nil, ""},
		{"tag@digest confirmed", "registry.example.com/apps/payments:1.4@" + d1, confirmed("registry.example.com/apps/payments:1.4@" + d1), nil, ""},
		{"tag@digest unconfirmed", "registry.example.com/apps/payments:1.4@" + d1, unconfirmed("registry.example.com/apps/payments:1.4@" + d1),
			map[string]policy.Status{"payments-1": fail}, "tag and digest disagree"},
		{"unconfirmed denied tag still denied", "registry.example.com/apps/payments:1.3@" + d1, unconfirmed("registry.example.com/apps/payments:1.3@" + d1),
			map[string]policy.Status{"payments-1": fail, "no-payments-1.3": fail, "versioned": fail}, "payments:1.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := &subject.Subject{Resource: &subject.Resource{Kind: "Pod", Name: "p", Namespace: "default"}, Container: "app", Image: tt.image, Field: "spec.containers[0].image"}
			got := map[string]policy.Status{}
			says := false
			for _, r := range set.Evaluate(sub, tt.lineage, now) {
				if r.Status == policy.StatusPass {
					continue
				}
				got[r.Rule.Name] = r.Status
				says = says || strings.Contains(r.Message, tt.says)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("results not passing: %v, want %v", got, tt.want)
			}
			for rule, st := range tt.want {
				if got[rule] != st {
					t.Errorf("rule %s: %s, want %s", rule, got[rule], st)
				}
			}
			if tt.says != "" && !says {
				t.Errorf("no message says %q", tt.says)
			}
		})
	}
}

// TestAllowedBaseImagesJudgesTheBase: Kyverno's allowed-base-images compares
// the image's declared base with the allow list, never the image itself;
// imported, the rule looks at the direct base alone (scope: base), so an
// image that is itself on the list but built on something else fails, as
// in Kyverno, and offline the rule is skipped, not passed.
func TestAllowedBaseImagesJudgesTheBase(t *testing.T) {
	set := loadSet(t, "allowed-base-images.yaml", "baseimages-configmap.yaml")
	if s := set.Policies()[0].Spec.Rules[0].Scope; s != policy.ScopeBase {
		t.Fatalf("imported rule scope = %q, want base", s)
	}
	sub := &subject.Subject{Resource: &subject.Resource{Kind: "Pod", Name: "p", Namespace: "default"}, Container: "app", Image: "x", Field: "spec.containers[0].image"}
	resolved := func(es ...lineage.Entry) lineage.Lineage { return lineage.Lineage{Resolved: true, Entries: es} }
	tests := []struct {
		name string
		l    lineage.Lineage
		want policy.Status
	}{
		{"listed base", resolved(entry(t, "registry.example.com/app:1", lineage.SourceReference, true), entry(t, "gcr.io/distroless/static:nonroot", lineage.SourceAnnotation, true)), policy.StatusPass},
		{"the image itself is listed, its base is not", resolved(entry(t, "gcr.io/distroless/static:nonroot", lineage.SourceReference, true), entry(t, "docker.io/library/busybox:1", lineage.SourceAnnotation, true)), policy.StatusFail},
		{"a listed grand-base does not make up for the base", resolved(entry(t, "registry.example.com/app:1", lineage.SourceReference, true), entry(t, "registry.example.com/company/base:1", lineage.SourceAnnotation, true), entry(t, "gcr.io/distroless/static:nonroot", lineage.SourceAnnotation, true)), policy.StatusFail},
		{"no base known", resolved(entry(t, "registry.example.com/app:1", lineage.SourceReference, true)), policy.StatusFail},
		{"offline", lineage.Of(entry(t, "gcr.io/distroless/static:nonroot", lineage.SourceReference, false).Ref, lineage.SourceReference), policy.StatusSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := set.Evaluate(sub, tt.l, now)
			if len(rs) != 1 || rs[0].Status != tt.want {
				t.Fatalf("results %v, want one %s", rs, tt.want)
			}
		})
	}
}
