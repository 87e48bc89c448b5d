package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertRefusesToNarrow: a rule that cannot be converted is left out
// of the output with a comment, named on stderr, and the command exits 2:
// the native policy written is narrower than the Kyverno one.
func TestConvertRefusesToNarrow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verify.yaml")
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: verify}
spec:
  validationFailureAction: Enforce
  rules:
    - name: signed
      match: {any: [{resources: {kinds: [Pod]}}]}
      verifyImages: [{imageReferences: ["ghcr.io/org/*"]}]
    - name: registries
      match: {any: [{resources: {kinds: [Pod]}}]}
      exclude: {any: [{subjects: [{kind: Group, name: "system:masters"}]}, {resources: {namespaces: [kube-system]}}]}
      validate: {pattern: {spec: {containers: [{image: "ghcr.io/org/*"}]}}}
`
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "policy", "convert", path)
	if code != exitUnchecked {
		t.Errorf("exit %d, want %d", code, exitUnchecked)
	}
	for _, want := range []string{"# rule signed NOT converted", "- name: registries", "exclude:", "groups:\n", "- system:masters", "- kube-system"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "name: signed") {
		t.Errorf("the untranslated rule was written:\n%s", out)
	}
	if !strings.Contains(errOut, "rule signed not converted") || !strings.Contains(errOut, "1 rule(s) could not be converted") {
		t.Errorf("stderr does not name the rule left out: %s", errOut)
	}
	lint, _, code := run(t, "", "policy", "lint", path)
	if code != exitOK || !strings.Contains(lint, "rule signed (enforce): cannot be applied (a verifyImages rule checks signatures and attestations, which baseguard does not verify); it reports an error for images whose lineage matches [ghcr.io/org/*]") {
		t.Errorf("lint (exit %d) does not say the rule is an error for the images it names:\n%s", code, lint)
	}
}
