package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tree writes files (path: content; content "->target" makes a symbolic
// link) under a new directory and returns its absolute path.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// judged runs check -o json and returns "file image" of every judged
// subject (once), files relative to dir.
func judged(t *testing.T, dir string, args ...string) ([]string, string, int) {
	t.Helper()
	out, errOut, code := run(t, "", append([]string{"check", "-o", "json"}, args...)...)
	var doc struct {
		Results []struct {
			Resource struct{ File string }
			Image    string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s\n%s", err, out, errOut)
	}
	seen := map[string]bool{}
	var got []string
	for _, r := range doc.Results {
		rel, _ := filepath.Rel(dir, r.Resource.File)
		k := filepath.ToSlash(rel) + " " + r.Image
		if !seen[k] {
			seen[k] = true
			got = append(got, k)
		}
	}
	sort.Strings(got)
	return got, errOut, code
}

const podYAML = "apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec: {containers: [{name: c, image: %s}]}\n"

func pod(name, image string) string {
	return strings.ReplaceAll(strings.Replace(podYAML, "%s", name, 1), "%s", image)
}

func TestCheckWalk(t *testing.T) {
	// Each real directory is walked once: shared/ is read through the
	// link app/linked, which comes first.
	dir := tree(t, map[string]string{
		"app/pod.yaml":                 pod("a", "alpine:3.19"),
		".deploy/pod.yml":              pod("hidden", "centos:7"),
		".git/config.yaml":             pod("git", "debian:9"),
		"shared/pod.json":              `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}`,
		"app/linked":                   "->../shared",
		"app/loop":                     "->..",
		"app/dangling":                 "->../nowhere",
		"svc/Dockerfile-prod":          "FROM ubuntu:18.04\n",
		"svc/Dockerfile_dev":           "FROM wolfi:1\n",
		"svc/api.dockerfile":           "FROM debian:12\n",
		"svc/dockerfile-notes.md":      "FROM nothing\n",
		"k/base/kustomization.yaml":    "resources: [pod.yaml]\n",
		"k/base/pod.yaml":              pod("k", "app"),
		"k/prod/kustomization.yml":     "resources: [../base]\nimages: [{name: app, newName: quay.io/x/app, newTag: '2'}]\n",
		"chart/Chart.yaml":             "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/values.yaml":            "image: redis:7\n",
		"chart/templates/pod.yaml":     "apiVersion: v1\nkind: Pod\nmetadata: {name: r}\nspec: {containers: [{name: c, image: {{ .Values.image | quote }}}]}\n",
		"chart/templates/_helpers.tpl": "{{- define \"x\" -}}{{- end -}}",
		"crd/runner.yaml":              "apiVersion: ci.example.com/v1\nkind: Runner\nmetadata: {name: run}\nspec: {template: {spec: {containers: [{name: c, image: evil:1}]}}}\n",
		"crd/policy.yaml":              "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  workloads: [{apiVersion: ci.example.com/v1, kind: Runner, templatePath: spec.template}]\n  rules: [{name: r, deny: ['*evil*']}]\n",
		"values/prod.yaml":             "image: redis:8\n",
	})
	got, errOut, code := judged(t, dir, dir)
	want := []string{
		".deploy/pod.yml centos:7",
		"app/linked/pod.json busybox:1",
		"app/pod.yaml alpine:3.19",
		"chart/templates/pod.yaml redis:7",
		"k/prod/kustomization.yml quay.io/x/app:2",
		"svc/Dockerfile-prod ubuntu:18.04",
		"svc/Dockerfile_dev wolfi:1",
		"svc/api.dockerfile debian:12",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("judged (-want +got):\n%s\nstderr: %s", diff, errOut)
	}
	if code != exitFailed {
		t.Errorf("exit %d, want %d", code, exitFailed)
	}
	if !strings.Contains(errOut, "crd/runner.yaml:1: Runner run (apiVersion \"ci.example.com/v1\") holds a container list at spec.template.spec.containers") {
		t.Errorf("no notice of the unknown kind; stderr:\n%s", errOut)
	}

	// The policy's spec.workloads makes the Runner judged; --values feeds the chart.
	got, errOut, _ = judged(t, dir, "-p", filepath.Join(dir, "crd/policy.yaml"), "--values", filepath.Join(dir, "values/prod.yaml"), filepath.Join(dir, "crd"), filepath.Join(dir, "chart"))
	want = []string{"chart/templates/pod.yaml redis:8", "crd/runner.yaml evil:1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with spec.workloads and --values (-want +got):\n%s\nstderr: %s", diff, errOut)
	}
}

func TestCheckRenderErrors(t *testing.T) {
	// A remote base that never answers: check gives up on its render.
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	dir := tree(t, map[string]string{
		"bad/kustomization.yaml":    "resources: [missing.yaml]\n",
		"chart/Chart.yaml":          "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"chart/templates/x.yaml":    "{{ fail \"no\" }}",
		"empty/README.md":           "nothing here",
		"remote/kustomization.yaml": "resources: [" + srv.URL + "/pod.yaml]\n",
	})
	for _, tt := range []struct {
		path, stderr string
		args         []string
	}{
		{"bad", "building kustomization", nil},
		{"chart", "rendering chart", nil},
		{"empty", "nothing was judged", nil},
		{"remote", "remote: rendering took longer than 300ms", []string{"--render-timeout", "300ms"}},
	} {
		t.Run(tt.path, func(t *testing.T) {
			_, errOut, code := run(t, "", append([]string{"check", filepath.Join(dir, tt.path)}, tt.args...)...)
			if code != exitUnchecked || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUnchecked, tt.stderr)
			}
		})
	}
}

func TestCheckDockerfilePlatforms(t *testing.T) {
	dir := tree(t, map[string]string{"Dockerfile": "ARG TARGETARCH\nFROM registry.example.com/base/alpine-${TARGETARCH}:3.19\nCOPY --from=centos:7 /x /x\n"})
	out, errOut, code := run(t, "", "check", "-v", "--color=never", "--platform", "linux/amd64,linux/s390x", filepath.Join(dir, "Dockerfile"))
	for _, want := range []string{"FROM registry.example.com/base/alpine-amd64:3.19 (linux/amd64)", "FROM registry.example.com/base/alpine-s390x:3.19 (linux/s390x)", "COPY --from centos:7  (line 3)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not name %q:\n%s%s", want, out, errOut)
		}
	}
	if code != exitFailed {
		t.Errorf("exit %d, want %d (centos feeds the build)", code, exitFailed)
	}
}
