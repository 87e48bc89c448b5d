package admission

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
)

var update = flag.Bool("update", false, "rewrite the golden responses under testdata/responses")

// testNow is the clock of every test: exceptions and base ages are judged
// as of this instant.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newTestServer serves opts' routes over TLS with httptest.
func newTestServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

// post sends body to /validate and returns the status and response body.
func post(t *testing.T, ts *httptest.Server, body []byte, query string) (int, []byte) {
	t.Helper()
	resp, err := ts.Client().Post(ts.URL+PathValidate+query, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// review posts a request file and decodes the answer.
func review(t *testing.T, ts *httptest.Server, body []byte) (*admissionv1.AdmissionReview, []byte) {
	t.Helper()
	code, out := post(t, ts, body, "?timeout=5s")
	if code != http.StatusOK {
		t.Fatalf("status %d: %s", code, out)
	}
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &rv); err != nil {
		t.Fatalf("decoding response: %v\n%s", err, out)
	}
	if rv.APIVersion != "admission.k8s.io/v1" || rv.Kind != "AdmissionReview" || rv.Response == nil {
		t.Fatalf("not an AdmissionReview v1 response: %s", out)
	}
	return &rv, out
}

func readRequest(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "requests", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGoldenReviews posts every request under testdata/requests with the
// built-in policy and compares the response with its golden file. The
// table states what a user would notice: allowed or not, and which image
// fields the denial names.
func TestGoldenReviews(t *testing.T) {
	cases := []struct {
		name     string
		allowed  bool
		mentions []string // in the denial message or the warnings
		absent   []string // must not be named in the denial message
	}{
		{name: "pod-create-debian-denied", mentions: []string{`container "test"`, "spec.containers[0].image", "debian:12", "approved-base-images"}},
		{name: "pod-create-approved-allowed", allowed: true},
		{name: "pod-create-centos-denied", mentions: []string{"centos:7", "block-deprecated-base-images", "approved-base-images"}},
		{name: "deployment-create-denied", mentions: []string{"Deployment/default/web", "spec.template.spec.containers[0].image", "ubuntu:18.04"}},
		{name: "deployment-create-allowed", allowed: true},
		{name: "replicaset-create-denied", mentions: []string{"ReplicaSet/default/web", "spec.template.spec.containers[0].image"}},
		{name: "replicaset-create-allowed", allowed: true},
		{name: "statefulset-create-denied", mentions: []string{"StatefulSet/default/web", "spec.template.spec.containers[0].image"}},
		{name: "statefulset-create-allowed", allowed: true},
		{name: "daemonset-create-denied", mentions: []string{"DaemonSet/default/web", "spec.template.spec.containers[0].image"}},
		{name: "daemonset-create-allowed", allowed: true},
		{name: "job-create-denied", mentions: []string{"Job/default/web", "spec.template.spec.containers[0].image"}},
		{name: "job-create-allowed", allowed: true},
		{name: "cronjob-create-denied", mentions: []string{"CronJob/default/web", "spec.jobTemplate.spec.template.spec.containers[0].image"}},
		{name: "cronjob-create-allowed", allowed: true},
		{name: "replicationcontroller-create-denied", mentions: []string{"ReplicationController/default/web", "spec.template.spec.containers[0].image"}},
		{name: "replicationcontroller-create-allowed", allowed: true},
		{name: "podtemplate-create-denied", mentions: []string{"PodTemplate/default/web", "template.spec.containers[0].image"}},
		{name: "podtemplate-create-allowed", allowed: true},
		{name: "pod-init-container-denied", mentions: []string{`container "setup"`, "spec.initContainers[0].image", "busybox:1.36"}, absent: []string{"spec.containers[0]"}},
		{name: "pod-several-failing-denied", mentions: []string{"fail for 2 of 3 container images", "spec.initContainers[0].image", "spec.containers[1].image", "alpine:3.12", "docker.io/library/centos:7"}},
		{name: "pod-invalid-image-denied", mentions: []string{"cannot check rule", "Registry.Example.com/BASE/alpine:3.19"}},
		{name: "pod-high-security-denied", mentions: []string{"require-minimal-base-images", "distroless"}},
		{name: "pod-ubuntu-version-denied", mentions: []string{"validate-base-image-version", "ubuntu:20.04"}},
		{name: "pod-lookalike-host-denied", mentions: []string{"registry.example.com.evil.io/base/alpine:3.19"}},
		{name: "pod-ephemeralcontainers-denied", mentions: []string{`container "debugger-x1"`, "spec.ephemeralContainers[0].image", "centos:7", "fail for 1 of 2 container images"}, absent: []string{"spec.containers[0]"}},
		{name: "pod-ephemeralcontainers-allowed", allowed: true},
		{name: "deployment-set-image-denied", mentions: []string{"centos:7", "block-deprecated-base-images"}},
		{name: "deployment-scale-unchanged-allowed", allowed: true, mentions: []string{"2 failing results were in the object before this update and do not block it", "centos:7"}},
		{name: "deployment-add-sidecar-denied", mentions: []string{`container "sidecar"`, "nginx:1.27", "fail for 1 of 2 container images", "were in the object before this update"}, absent: []string{"centos"}},
		{name: "deployment-fix-image-allowed", allowed: true},
		{name: "pod-dry-run-denied", mentions: []string{"centos:7"}},
		{name: "pod-delete-allowed", allowed: true},
		{name: "pod-status-subresource-allowed", allowed: true},
		{name: "configmap-create-allowed", allowed: true},
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	if len(files) != len(cases) {
		t.Errorf("%d request files, %d cases: every file needs a case", len(files), len(cases))
	}
	_, ts := newTestServer(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := readRequest(t, tc.name)
			rv, out := review(t, ts, body)
			resp := rv.Response
			var in admissionv1.AdmissionReview
			json.Unmarshal(body, &in)
			if resp.UID != in.Request.UID {
				t.Errorf("uid %q, want the request's %q", resp.UID, in.Request.UID)
			}
			if resp.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v; response: %s", resp.Allowed, tc.allowed, out)
			}
			text := strings.Join(resp.Warnings, "\n")
			if resp.Result != nil {
				text = resp.Result.Message + "\n" + text
				if !resp.Allowed && resp.Result.Code != http.StatusForbidden {
					t.Errorf("denial code %d, want 403", resp.Result.Code)
				}
			}
			for _, m := range tc.mentions {
				if !strings.Contains(text, m) {
					t.Errorf("response does not mention %q:\n%s", m, text)
				}
			}
			for _, m := range tc.absent {
				if resp.Result != nil && strings.Contains(resp.Result.Message, m) {
					t.Errorf("response mentions %q, which it should not judge:\n%s", m, text)
				}
			}
			golden(t, filepath.Join("testdata", "responses", tc.name+".json"), out)
		})
	}
}

// golden compares got (JSON) with the golden file, or rewrites it with
// -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("indenting: %v", err)
	}
	buf.WriteByte('\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), buf.String()); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}
