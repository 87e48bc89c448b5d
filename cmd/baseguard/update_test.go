package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// versionedBases pushes base/alpine 3.18, 3.19 and 3.21 and returns a
// policy file that denies 3.18.
func versionedBases(t *testing.T, reg *testRegistry) (policyFile string) {
	t.Helper()
	for _, tag := range []string{"3.18", "3.19", "3.21"} {
		img, _ := random.Image(512, 2)
		reg.push(t, "base/alpine:"+tag, img)
	}
	policyFile = filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policyFile, []byte(fmt.Sprintf(`apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  rules:
    - {name: approved, allow: ["%s/base/*"]}
    - {name: deprecated, deny: ["*alpine:3.18*"]}
`, reg.host)), 0o644)
	return policyFile
}

// TestUpdateCLI: --dry-run prints a unified diff and exits 1 without
// writing; update writes; a second --dry-run finds nothing to change.
func TestUpdateCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	policyFile := versionedBases(t, reg)
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":             "# app\nFROM " + reg.host + "/base/alpine:3.18\nRUN true\n",
		"tools/build.Dockerfile": "FROM " + reg.host + "/base/alpine:3.19 AS b\nFROM b\n",
		"k8s/pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: x}]}\n",
	}
	for name, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640)
	}
	out, errOut, code := run(t, "", "update", "--dry-run", "-p", policyFile, dir)
	if code != exitFailed {
		t.Fatalf("--dry-run exit %d, want %d: %s", code, exitFailed, errOut)
	}
	for _, want := range []string{
		"--- a/" + filepath.ToSlash(filepath.Join(dir, "Dockerfile")),
		"-FROM " + reg.host + "/base/alpine:3.18\n",
		"+FROM " + reg.host + "/base/alpine:3.21@sha256:",
		"+FROM " + reg.host + "/base/alpine:3.19@sha256:",
		" RUN true\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the diff lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); string(b) != files["Dockerfile"] {
		t.Error("--dry-run wrote the file")
	}

	out, errOut, code = run(t, "", "update", "-p", policyFile, dir)
	if code != exitOK {
		t.Fatalf("update exit %d: %s", code, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if !strings.HasPrefix(string(b), "# app\nFROM "+reg.host+"/base/alpine:3.21@sha256:") || !strings.HasSuffix(string(b), "\nRUN true\n") {
		t.Errorf("Dockerfile after update:\n%s", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "Dockerfile")); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", fi.Mode().Perm())
	}
	if !strings.Contains(out, "Dockerfile:2: "+reg.host+"/base/alpine:3.18 -> ") || !strings.Contains(out, "denied") {
		t.Errorf("update said:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "k8s/pod.yaml")); string(b) != files["k8s/pod.yaml"] {
		t.Error("a manifest was touched")
	}

	out, _, code = run(t, "", "update", "--dry-run", "-p", policyFile, dir)
	if code != exitOK || out != "" {
		t.Errorf("second --dry-run: exit %d\n%s", code, out)
	}
}

// TestOutdatedCLI: the JSON contract over a manifest and a Dockerfile, and
// the exit status.
func TestOutdatedCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	policyFile := versionedBases(t, reg)
	app := reg.pushChain(t, "base/alpine:3.19", "apps/web:1")
	img, _ := random.Image(512, 2)
	reg.push(t, "base/alpine:3.19", img) // the base tag moves
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+reg.host+"/base/alpine:3.18\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pod.yaml"), []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: app, image: "+app+"}]\n"), 0o644)

	out, errOut, code := run(t, "", "outdated", "-o", "json", "-p", policyFile, dir)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d: %s", code, exitFailed, errOut)
	}
	var doc struct {
		Items []struct {
			File      string
			Line      int
			Resource  *struct{ Kind, Name, Namespace string }
			Container string
			Image     string
			Base      struct{ Ref, Digest string }
			Current   *struct{ Ref, Digest string }
			Reason    string
			Fix       string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, it := range doc.Items {
		key := filepath.Base(it.File) + "/" + it.Reason
		got[key] = it.Fix + " " + strings.TrimPrefix(it.Current.Ref, reg.host+"/")
		if it.Base.Digest == "" || it.Current.Digest == "" {
			t.Errorf("item without digests: %+v", it)
		}
		if (it.Resource == nil) != (filepath.Base(it.File) == "Dockerfile") {
			t.Errorf("resource %+v for %s", it.Resource, it.File)
		}
	}
	want := map[string]string{
		"Dockerfile/denied":      "update base/alpine:3.21",
		"pod.yaml/tag-moved":     "rebase base/alpine:3.19",
		"pod.yaml/newer-version": "rebuild base/alpine:3.21",
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("items %v, want %v\n%s", got, want, out)
	}

	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+reg.host+"/base/alpine:3.21\n"), 0o644)
	os.Remove(filepath.Join(dir, "pod.yaml"))
	out, _, code = run(t, "", "outdated", "-p", policyFile, dir)
	if code != exitOK || !strings.Contains(out, "nothing outdated") {
		t.Errorf("exit %d\n%s", code, out)
	}
}
