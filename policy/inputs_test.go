package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

func loadString(t *testing.T, src string) (*Set, error) {
	t.Helper()
	ps, err := Load(File{Name: "p.yaml", Data: []byte(src)})
	if err != nil {
		return nil, err
	}
	return NewSet(ps)
}

func TestSpecWorkloads(t *testing.T) {
	head := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  rules: [{name: r, deny: ['*centos*']}]\n"
	set, err := loadString(t, head+"  workloads:\n  - {apiVersion: ci.example.com/v1, kind: Runner, templatePath: spec.runner.template}\n")
	if err != nil {
		t.Fatal(err)
	}
	ws := set.Workloads()
	if len(ws) != 1 || ws[0].Group != "ci.example.com" || ws[0].Kind != "Runner" || strings.Join(ws[0].SpecPath(), ".") != "spec.runner.template.spec" {
		t.Fatalf("Workloads() = %+v", ws)
	}
	for _, bad := range []struct{ yaml, err string }{
		{"  - {apiVersion: ci.example.com/v1, kind: Runner}\n", "spec.workloads[0]: templatePath is required"},
		{"  - {kind: Runner, templatePath: spec.template}\n", "spec.workloads[0]: apiVersion is required"},
		{"  - {apiVersion: v1, kind: X, templatePath: 'spec[0]'}\n", "spec.workloads[0]: templatePath"},
		{"  - {apiVersion: a/b/c, kind: X, templatePath: spec}\n", "spec.workloads[0]: apiVersion"},
		{"  - {apiVersion: v1, kind: X, templatePath: spec, path: x}\n", "path"},
	} {
		_, err := loadString(t, head+"  workloads:\n"+bad.yaml)
		if err == nil || !strings.Contains(err.Error(), bad.err) || !strings.Contains(err.Error(), "p.yaml") {
			t.Errorf("%q: error = %v, want one naming p.yaml and %q", bad.yaml, err, bad.err)
		}
	}
}

// TestBuildInputsDenyOnly: an image a build pulls in besides its base is
// judged by deny patterns only, and the result says so.
func TestBuildInputsDenyOnly(t *testing.T) {
	set, err := loadString(t, `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: p}
spec:
  rules:
    - {name: approved, allow: ["registry.example.com/base/*"]}
    - {name: deprecated, deny: ["*centos*"]}
    - {name: ubuntu-version, when: ["*ubuntu*"], allow: ["*ubuntu:22.04"]}
    - {name: needs-base, requireBase: true}
`)
	if err != nil {
		t.Fatal(err)
	}
	res := &subject.Resource{Kind: subject.KindDockerfile, Name: "Dockerfile", File: "Dockerfile", NamespaceLabels: map[string]string{}}
	tests := []struct {
		image, input string
		want         map[string]Status
		reason       string
	}{
		{"golang:1.23", subject.InputStageBase, map[string]Status{"approved": StatusPass, "deprecated": StatusPass, "ubuntu-version": StatusPass, "needs-base": StatusPass}, "feeds the build (FROM) but is not the shipped base: only deny rules judge it"},
		{"centos:7", subject.InputCopyFrom, map[string]Status{"approved": StatusPass, "deprecated": StatusFail, "ubuntu-version": StatusPass, "needs-base": StatusPass}, ""},
		{"ubuntu:18.04", subject.InputRunMount, map[string]Status{"approved": StatusPass, "deprecated": StatusPass, "ubuntu-version": StatusPass, "needs-base": StatusPass}, ""},
		{"golang:1.23", "", map[string]Status{"approved": StatusFail, "deprecated": StatusPass, "ubuntu-version": StatusPass, "needs-base": StatusSkip}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.image+" "+tt.input, func(t *testing.T) {
			sub := &subject.Subject{Resource: res, Field: "FROM", Image: tt.image, BuildInput: tt.input, Source: lineage.SourceDockerfile}
			ref, err := imageref.Parse(tt.image)
			if err != nil {
				t.Fatal(err)
			}
			results := set.Evaluate(sub, lineage.Of(ref, lineage.SourceDockerfile), time.Now())
			for _, r := range results {
				if want := tt.want[r.Rule.Name]; r.Status != want {
					t.Errorf("rule %s: %s (%s), want %s", r.Rule.Name, r.Status, r.Message, want)
				}
				if tt.reason != "" && !strings.Contains(r.Reason, tt.reason) {
					t.Errorf("rule %s: reason %q does not say %q", r.Rule.Name, r.Reason, tt.reason)
				}
			}
		})
	}
}
