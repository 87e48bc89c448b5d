package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// run runs the CLI from the repository root and returns stdout, stderr and
// the exit status.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	code := exitCode(err)
	if err != nil && code == exitUnchecked && !strings.Contains(errOut.String(), err.Error()) {
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/baseguard -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", name, diff)
	}
}

const at = "--now=2026-11-24T00:00:00Z"

func TestCheckGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
		code   int
	}{
		{"examples.txt", []string{"check", at, "--color=never", "examples/"}, exitFailed},
		{"examples.json", []string{"check", at, "-o", "json", "examples/"}, exitFailed},
		{"examples.sarif", []string{"check", at, "-o", "sarif", "examples/"}, exitFailed},
		{"native.txt", []string{"check", at, "--color=never", "-p", "examples/policies/baseguard-policy.yaml", "examples/"}, exitFailed},
		{"api-dockerfile.json", []string{"check", at, "-o", "json", "examples/services/api/Dockerfile"}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, errOut, code := run(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			golden(t, tt.golden, out)
		})
	}
}

func TestCheckExitStatus(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      string
	}{
		{"approved image", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: registry.example.com/base/alpine:3.19}]\n", []string{"check", "-"}, exitOK, ""},
		{"centos denied", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: centos:7}]\n", []string{"check", "-"}, exitFailed, ""},
		{"invalid reference", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: 'Centos:7'}]\n", []string{"check", "-"}, exitUnchecked, ""},
		{"broken YAML names file and line", "apiVersion: v1\nkind: Pod\nmetadata: {name: p\n", []string{"check", "-"}, exitUnchecked, "-:"},
		{"containers not a list", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: centos\n", []string{"check", "-"}, exitUnchecked, "-:5: Pod p: spec.containers must be a list"},
		{"nothing to judge is not a pass", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", []string{"check", "-"}, exitUnchecked, "no container image found in -"},
		{"empty input", "", []string{"check", "-"}, exitUnchecked, "nothing was judged"},
		{"duplicate key names file and line", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: alpine, image: centos:7}]\n", []string{"check", "-"}, exitUnchecked, `-:5: key "image" is written twice`},
		{"Dockerfile check directive after a comment", "", []string{"check", "cmd/baseguard/testdata/inputs/check-directive/Dockerfile"}, exitFailed, ""},
		{"bad platform", "", []string{"check", "--platform", "linux", "examples/services/api/Dockerfile"}, exitUnchecked, "--platform \"linux\""},
		{"audit does not fail", "", []string{"check", "-p", "cmd/baseguard/testdata/audit-policy.yaml", "examples/k8s/legacy.yaml"}, exitOK, ""},
		{"missing file", "", []string{"check", "nope.yaml"}, exitUnchecked, "nope.yaml"},
		{"bad policy", "", []string{"check", "-p", "examples/k8s/web.yaml", "examples/"}, exitUnchecked, "examples/k8s/web.yaml:2: not a policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.stderr)
			}
		})
	}
}

func TestPolicyLintAndConvert(t *testing.T) {
	out, _, code := run(t, "", "policy", "lint", "examples/policies/seed-policy.yaml")
	if code != exitOK {
		t.Fatalf("lint exit %d", code)
	}
	golden(t, "seed-lint.txt", out)
	converted, _, code := run(t, "", "policy", "convert", "examples/policies/seed-policy.yaml")
	if code != exitOK {
		t.Fatalf("convert exit %d", code)
	}
	golden(t, "seed-converted.yaml", converted)
	// The converted policy loads and judges as the seed does.
	dir := t.TempDir()
	path := filepath.Join(dir, "native.yaml")
	if err := os.WriteFile(path, []byte(converted), 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	seedOut, _, _ := run(t, "", "check", at, "-o", "json", "-p", "examples/policies/seed-policy.yaml", "examples/")
	nativeOut, _, _ := run(t, "", "check", at, "-o", "json", "-p", abs, "examples/")
	if diff := cmp.Diff(seedOut, nativeOut); diff != "" {
		t.Errorf("converted policy judges differently (-seed +converted):\n%s", diff)
	}
}
