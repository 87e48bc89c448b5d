package admission

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
)

func TestBadRequestsGet4xx(t *testing.T) {
	valid := string(readRequest(t, "pod-create-approved-allowed"))
	cases := []struct {
		name        string
		method      string
		contentType string
		body        string
		code        int
		reason      string
	}{
		{"GET", http.MethodGet, "application/json", "", http.StatusMethodNotAllowed, "POST an AdmissionReview"},
		{"YAML body", http.MethodPost, "application/yaml", valid, http.StatusUnsupportedMediaType, "want application/json"},
		{"no content type", http.MethodPost, "", valid, http.StatusUnsupportedMediaType, "want application/json"},
		{"malformed JSON", http.MethodPost, "application/json", `{"apiVersion": "admission.k8s.io/v1", "kind": `, http.StatusBadRequest, "decoding AdmissionReview"},
		{"not an object", http.MethodPost, "application/json", `[1, 2]`, http.StatusBadRequest, "decoding AdmissionReview"},
		{"v1beta1", http.MethodPost, "application/json", strings.Replace(valid, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), http.StatusBadRequest, "want admission.k8s.io/v1 AdmissionReview"},
		{"wrong kind", http.MethodPost, "application/json", strings.Replace(valid, `"kind": "AdmissionReview"`, `"kind": "Pod"`, 1), http.StatusBadRequest, "want admission.k8s.io/v1 AdmissionReview"},
		{"no request", http.MethodPost, "application/json", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}`, http.StatusBadRequest, "has no request"},
		{"no uid", http.MethodPost, "application/json", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}}`, http.StatusBadRequest, "has no uid"},
		{"oversized", http.MethodPost, "application/json", `{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "` + strings.Repeat("x", MaxRequestBytes) + `"}}`, http.StatusRequestEntityTooLarge, "exceeds"},
	}
	reg := newRegistry()
	_, ts := newTestServer(t, Options{Registry: reg})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+PathValidate, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			if resp.StatusCode != tc.code {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.code, buf.String())
			}
			if !strings.Contains(buf.String(), tc.reason) {
				t.Errorf("reason %q does not say %q", buf.String(), tc.reason)
			}
		})
	}
	if n := counterValue(t, reg, "baseguard_admission_rejected_requests_total", nil); n != float64(len(cases)) {
		t.Errorf("rejected_requests_total = %v, want %d", n, len(cases))
	}
	// The server still judges after all that.
	if rv, _ := review(t, ts, []byte(valid)); !rv.Response.Allowed {
		t.Error("a valid request after bad ones was not admitted")
	}
}

func TestUnreadableObjectDenied(t *testing.T) {
	body := strings.Replace(string(readRequest(t, "pod-create-approved-allowed")), `"containers": [`, `"containers": "oops", "x": [`, 1)
	_, ts := newTestServer(t, Options{})
	rv, out := review(t, ts, []byte(body))
	if rv.Response.Allowed || rv.Response.Result == nil || rv.Response.Result.Code != http.StatusBadRequest {
		t.Errorf("an object whose containers are not a list: want denied with 400: %s", out)
	}
}

func TestPanickingResolverAnswers500AndServerSurvives(t *testing.T) {
	var panicking atomic.Bool
	panicking.Store(true)
	r := ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		if panicking.Load() {
			panic("resolver bug")
		}
		return lineage.Of(ref, lineage.SourceReference)
	})
	reg := newRegistry()
	_, ts := newTestServer(t, Options{Resolver: r, Registry: reg})
	code, body := post(t, ts, readRequest(t, "pod-create-approved-allowed"), "")
	if code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500: %s", code, body)
	}
	if n := counterValue(t, reg, "baseguard_admission_panics_total", nil); n != 1 {
		t.Errorf("panics_total = %v, want 1", n)
	}
	if n := counterValue(t, reg, "baseguard_admission_requests_in_flight", nil); n != 0 {
		t.Errorf("requests_in_flight = %v after the panic, want 0", n)
	}
	panicking.Store(false)
	if rv, _ := review(t, ts, readRequest(t, "pod-create-approved-allowed")); !rv.Response.Allowed {
		t.Error("after a panic the server no longer admits a good pod")
	}
}

// A body of unknown length (chunked) is cut off at MaxRequestBytes too.
func TestOversizedChunkedBody(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	body := io.MultiReader(strings.NewReader(`{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"uid": "`),
		strings.NewReader(strings.Repeat("x", MaxRequestBytes)), strings.NewReader(`"}}`))
	req, err := http.NewRequest(http.MethodPost, ts.URL+PathValidate, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != 0 || resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversized body: status %d (content length %d), want 413", resp.StatusCode, req.ContentLength)
	}
}

// deadlineReader gives part of a body, then what a connection's read
// deadline gives.
type deadlineReader struct{ part io.Reader }

func (r *deadlineReader) Read(p []byte) (int, error) {
	if n, err := r.part.Read(p); err != io.EOF {
		return n, err
	}
	return 0, os.ErrDeadlineExceeded
}

// TestSlowBodyGets408: a body the server's read timeout cuts off is
// answered 408 Request Timeout: the client was slow, the request was not
// malformed.
func TestSlowBodyGets408(t *testing.T) {
	s, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := readRequest(t, "pod-create-approved-allowed")
	req := httptest.NewRequest(http.MethodPost, PathValidate, &deadlineReader{part: bytes.NewReader(body[:len(body)/2])})
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusRequestTimeout || !strings.Contains(w.Body.String(), "reading request body") {
		t.Errorf("status %d (%s), want 408", w.Code, w.Body.String())
	}
}
