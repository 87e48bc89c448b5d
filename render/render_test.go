package render

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

// imagesOf reads rendered manifests: "source kind/name field=image".
func imagesOf(t *testing.T, ms []Manifest) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		err := subject.ReadManifests(m.Source, bytes.NewReader(m.Data), subject.Options{DefaultNamespace: "default"}, func(r *subject.Resource, subs []subject.Subject) error {
			for _, s := range subs {
				out = append(out, filepath.ToSlash(m.Source)+" "+r.ID()+" "+s.Field+"="+s.Image)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestKustomization(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
		err  string
	}{
		{dir: "base", want: []string{
			"testdata/kustomize/base/kustomization.yaml Deployment/default/web spec.template.spec.containers[0].image=app",
			"testdata/kustomize/base/kustomization.yaml Deployment/default/web spec.template.spec.volumes[0].image.reference=models",
		}},
		// images: rewrites what runs: judged is centos:7, not app.
		{dir: "overlay", want: []string{
			"testdata/kustomize/overlay/kustomization.yaml Deployment/prod/web spec.template.spec.containers[0].image=centos:7",
			"testdata/kustomize/overlay/kustomization.yaml Deployment/prod/web spec.template.spec.volumes[0].image.reference=models",
		}},
		{dir: "escape", err: "security; file"},
		{dir: "loop-a", err: "cycle"},
		{dir: "missing", err: "no kustomization file"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			m, err := Kustomization(filepath.Join("testdata", "kustomize", tt.dir), KustomizationOptions{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, imagesOf(t, []Manifest{m})); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChart(t *testing.T) {
	base := []string{
		"testdata/chart/charts/sidecar/templates/job.yaml Job/team/release-name-sidecar spec.template.spec.containers[0].image=busybox:1",
		"testdata/chart/templates/deployment.yaml Deployment/default/release-name-demo spec.template.spec.containers[0].image=registry.example.com/base/alpine:3.19",
	}
	hook := "testdata/chart/templates/hook.yaml Pod/default/release-name-migrate spec.containers[0].image=ubuntu:18.04"
	tests := []struct {
		name   string
		values []string
		want   []string
		err    string
	}{
		{name: "default values", want: append(append([]string(nil), base...), hook)},
		{name: "values file", values: []string{"testdata/prod-values.yaml"}, want: append(append([]string(nil), base...),
			"testdata/chart/templates/deployment.yaml Deployment/default/release-name-demo spec.template.spec.containers[1].image=debian:12", hook)},
		{name: "later values win", values: []string{"testdata/prod-values.yaml", "testdata/more-values.yaml"}, want: append(append([]string(nil), base...),
			"testdata/chart/templates/deployment.yaml Deployment/default/release-name-demo spec.template.spec.containers[1].image=centos:7", hook)},
		{name: "missing values file", values: []string{"testdata/nope.yaml"}, err: "reading values testdata/nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Chart(filepath.Join("testdata", "chart"), ChartOptions{ValuesFiles: tt.values, Namespace: "team"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, imagesOf(t, ms)); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRenderGivesUp: a chart whose templates run for long, or a
// kustomization whose remote base never answers, is given up after its
// Timeout with an error naming it, instead of holding the caller.
func TestRenderGivesUp(t *testing.T) {
	// 25 million iterations: seconds on any machine, so the abandoned
	// render ends soon after the test.
	slow := t.TempDir()
	for name, data := range map[string]string{
		"Chart.yaml":         "apiVersion: v2\nname: slow\nversion: 0.1.0\n",
		"templates/pod.yaml": "{{- range until 5000 }}{{- range until 5000 }}{{- end }}{{- end }}\n",
	} {
		writeFile(t, filepath.Join(slow, name), data)
	}
	_, err := Chart(slow, ChartOptions{Timeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "chart "+slow+": rendering took longer than 100ms") {
		t.Errorf("slow chart: %v", err)
	}

	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	remote := t.TempDir()
	writeFile(t, filepath.Join(remote, "kustomization.yaml"), "resources:\n- "+srv.URL+"/pod.yaml\n")
	_, err = Kustomization(remote, KustomizationOptions{Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "kustomization "+remote+": rendering took longer than 300ms") {
		t.Errorf("remote base that never answers: %v", err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
