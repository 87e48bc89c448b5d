package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// Handler answers AdmissionReview v1 requests. It is safe for concurrent
// use.
type Handler struct {
	policies   *policyStore
	resolver   Resolver
	namespaces NamespaceLabeler
	budget     time.Duration
	now        func() time.Time
	metrics    *metrics
	log        *slog.Logger
}

var reviewGVK = admissionv1.SchemeGroupVersion.WithKind("AdmissionReview")

// badRequest is a request refused before review, with its HTTP status.
type badRequest struct {
	code   int
	reason string
}

func (e *badRequest) Error() string { return e.reason }

// ServeHTTP answers one AdmissionReview.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	review, err := readReview(w, r)
	if err != nil {
		var bad *badRequest
		if !errors.As(err, &bad) {
			bad = &badRequest{code: http.StatusBadRequest, reason: err.Error()}
		}
		h.metrics.rejected.WithLabelValues(fmt.Sprint(bad.code)).Inc()
		h.log.Warn("refused an admission request", "code", bad.code, "reason", bad.reason, "remote", r.RemoteAddr)
		http.Error(w, bad.reason, bad.code)
		return
	}
	req := review.Request
	d, err := h.decide(r.Context(), req, h.budgetFor(r))
	var resp *admissionv1.AdmissionResponse
	if err != nil {
		resp = unreadable(req, err)
	} else {
		resp = d.response(req.UID)
	}
	writeJSON(w, &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: reviewGVK.GroupVersion().String(), Kind: reviewGVK.Kind},
		Response: resp,
	})
	if req.DryRun == nil || !*req.DryRun {
		h.record(r.Context(), req, d, resp, time.Since(start))
	}
}

// readReview reads and checks the request: a POST of a JSON AdmissionReview
// v1 within MaxRequestBytes, with a request that has a UID.
func readReview(w http.ResponseWriter, r *http.Request) (*wireReview, error) {
	if r.Method != http.MethodPost {
		return nil, &badRequest{http.StatusMethodNotAllowed, "method " + r.Method + " not allowed: POST an AdmissionReview"}
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return nil, &badRequest{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: want application/json", r.Header.Get("Content-Type"))}
	}
	tooBig := &badRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxRequestBytes)}
	if r.ContentLength > MaxRequestBytes {
		return nil, tooBig
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxRequestBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooBig
		}
		return nil, &badRequest{http.StatusBadRequest, "reading request body: " + err.Error()}
	}
	body := buf.Bytes() // decoding copies what it keeps
	var review wireReview
	var objectErr error
	// Case-sensitive, as kube-apiserver decodes: `Image` is not `image`.
	if err := kjson.UnmarshalCaseSensitivePreserveInts(body, &review); err != nil {
		// A field of the object of the wrong type is the object's problem,
		// answered with a denial; anything else is a malformed review.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) || !(strings.HasPrefix(te.Field, "request.object.") || strings.HasPrefix(te.Field, "request.oldObject.")) {
			return nil, &badRequest{http.StatusBadRequest, "decoding AdmissionReview: " + err.Error()}
		}
		objectErr = err
	}
	if gvk := review.GroupVersionKind(); gvk != reviewGVK {
		return nil, &badRequest{http.StatusBadRequest, fmt.Sprintf("apiVersion %q, kind %q: want %s %s (set admissionReviewVersions: [v1])", review.APIVersion, review.Kind, reviewGVK.GroupVersion(), reviewGVK.Kind)}
	}
	if review.Request == nil {
		return nil, &badRequest{http.StatusBadRequest, "AdmissionReview has no request"}
	}
	if review.Request.UID == "" {
		return nil, &badRequest{http.StatusBadRequest, "AdmissionReview request has no uid"}
	}
	review.Request.objectErr = objectErr
	return &review, nil
}

// bodies recycles request body buffers: a review is a few kilobytes, read
// thousands of times a second.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps the pool from holding on to a rare huge body.
const maxPooledBody = 64 << 10

func putBody(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bodies.Put(b)
	}
}

// budgetFor is the resolution budget of a request: the configured budget,
// lowered to a share of the timeout kube-apiserver sends as a query
// parameter (`?timeout=5s`).
func (h *Handler) budgetFor(r *http.Request) time.Duration {
	t, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || t <= 0 {
		return h.budget
	}
	return min(h.budget, time.Duration(float64(t)*budgetShare))
}

// unreadable denies a request whose object cannot be read: fail closed.
func unreadable(req *wireRequest, err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		UID: req.UID,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusBadRequest,
			Reason:  metav1.StatusReasonBadRequest,
			Message: "baseguard cannot judge this object: " + err.Error(),
		},
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
}

// record counts a decision and logs it when it is worth a line: a denial,
// a warning, an error. Clean admissions are logged at debug level.
func (h *Handler) record(ctx context.Context, req *wireRequest, d *decision, resp *admissionv1.AdmissionResponse, took time.Duration) {
	v := allowed
	switch {
	case !resp.Allowed:
		v = denied
	case len(resp.Warnings) > 0:
		v = warned
	}
	h.metrics.reviews.WithLabelValues(string(req.Operation), req.Kind.Kind, string(v)).Inc()
	if d != nil {
		for i := range d.results {
			r := &d.results[i]
			h.metrics.decisions.WithLabelValues(r.Policy.Metadata.Name, r.Rule.Name, string(r.Status)).Inc()
		}
	}
	level := slog.LevelInfo
	if v == allowed {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("uid", string(req.UID)),
		slog.String("operation", string(req.Operation)),
		slog.String("kind", req.Kind.Kind),
		slog.String("namespace", req.Namespace),
		slog.String("name", req.Name),
		slog.String("user", req.UserInfo.Username),
		slog.String("decision", string(v)),
		slog.Float64("took_ms", float64(took.Microseconds())/1000),
	}
	if req.SubResource != "" {
		attrs = append(attrs, slog.String("subresource", req.SubResource))
	}
	if d != nil {
		attrs = append(attrs, slog.Int("judged", d.judged), slog.Int("unchanged", d.unchanged))
		if fails := d.failing(); len(fails) > 0 {
			attrs = append(attrs, slog.String("failing", strings.Join(fails, "; ")))
		}
	}
	if resp.Result != nil && v == denied && d == nil {
		attrs = append(attrs, slog.String("reason", resp.Result.Message))
	}
	if len(resp.Warnings) > 0 {
		attrs = append(attrs, slog.Int("warnings", len(resp.Warnings)))
	}
	h.log.LogAttrs(ctx, level, "admission decision", attrs...)
}

// failing names the results that denied or warned, for the log:
// `policy/rule container=image result`.
func (d *decision) failing() []string {
	var out []string
	for i := range d.results {
		r := &d.results[i]
		if blocks(r) || warns(r) {
			out = append(out, fmt.Sprintf("%s/%s %s=%s %s", r.Policy.Metadata.Name, r.Rule.Name, r.Subject.Container, r.Subject.Image, r.Status))
		}
	}
	return out
}
