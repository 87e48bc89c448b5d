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
	"os"
	"strconv"
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
	roles      RoleLookup
	memory     *memoryBudget
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
	timeout := requestTimeout(r)
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(float64(timeout)*reviewShare))
	defer cancel()
	res := h.memory.reserve(r.Context())
	defer res.release()
	body, review, err := readReview(w, r, res)
	if body != nil {
		defer putBody(body)
	}
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	req := review.Request
	d, err := h.decide(ctx, req, h.resolveBudget(timeout), res, body.Len())
	if errors.Is(err, errBusy) {
		h.refuse(w, r, err)
		return
	}
	var resp *admissionv1.AdmissionResponse
	if err != nil {
		resp = unreadable(req, err)
		d = nil
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

// refuse answers a request refused before review with its status and
// reason: 4xx for a malformed one, 429 with Retry-After when the memory
// budget had no room (kube-apiserver retries it).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
	case errors.Is(err, errBusy):
		bad = &badRequest{code: http.StatusTooManyRequests, reason: err.Error()}
		w.Header().Set("Retry-After", "1")
	default:
		bad = &badRequest{code: http.StatusBadRequest, reason: err.Error()}
	}
	h.metrics.rejected.WithLabelValues(strconv.Itoa(bad.code)).Inc()
	h.log.Warn("refused an admission request", "code", bad.code, "reason", truncate(bad.reason), "remote", r.RemoteAddr)
	http.Error(w, bad.reason, bad.code)
}

// readReview reads and checks the request: a POST of a JSON AdmissionReview
// v1 within MaxRequestBytes, with a request that has a UID. The body is
// counted in res before it is read; the review's objects are slices of it.
func readReview(w http.ResponseWriter, r *http.Request, res *reservation) (*bytes.Buffer, *wireReview, error) {
	if r.Method != http.MethodPost {
		return nil, nil, &badRequest{http.StatusMethodNotAllowed, "method " + r.Method + " not allowed: POST an AdmissionReview"}
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return nil, nil, &badRequest{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: want application/json", r.Header.Get("Content-Type"))}
	}
	tooBig := &badRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", MaxRequestBytes)}
	if r.ContentLength > MaxRequestBytes {
		return nil, nil, tooBig
	}
	// A body of unknown length may take twice its size while it grows.
	reserved := int64(2 * MaxRequestBytes)
	if r.ContentLength >= 0 {
		reserved = r.ContentLength + bytes.MinRead
	}
	if err := res.grow(reserved); err != nil {
		return nil, nil, err
	}
	buf := getBody(r.ContentLength)
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	res.shrink(reserved - int64(buf.Cap()))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return buf, nil, tooBig
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The server's read timeout ran out before the body did.
			return buf, nil, &badRequest{http.StatusRequestTimeout, "reading request body: " + err.Error()}
		}
		return buf, nil, &badRequest{http.StatusBadRequest, "reading request body: " + err.Error()}
	}
	review, err := decodeReview(buf.Bytes())
	return buf, review, err
}

// decodeReview decodes a review, case-sensitively as kube-apiserver does
// (`Image` is not `image`), leaving its objects where they are in body.
func decodeReview(body []byte) (*wireReview, error) {
	var review wireReview
	if err := kjson.UnmarshalCaseSensitivePreserveInts(body, &review); err != nil {
		return nil, &badRequest{http.StatusBadRequest, "decoding AdmissionReview: " + err.Error()}
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
	return &review, nil
}

// bodies recycles request body buffers: a review is a few kilobytes, read
// thousands of times a second.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody keeps the pool from holding on to a rare huge body.
const maxPooledBody = 64 << 10

// getBody returns a buffer for a body of size bytes (-1: unknown).
func getBody(size int64) *bytes.Buffer {
	if size > maxPooledBody-bytes.MinRead {
		return bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	}
	return bodies.Get().(*bytes.Buffer)
}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bodies.Put(b)
	}
}

// Timeouts of a review.
const (
	// defaultRequestTimeout is kube-apiserver's default timeoutSeconds,
	// for a request that sends no timeout; maxRequestTimeout its highest.
	defaultRequestTimeout = 10 * time.Second
	maxRequestTimeout     = 30 * time.Second
	// reviewShare of the request's timeout is when a review that is still
	// judging gives up and denies: the answer must arrive in time.
	reviewShare = 0.9
)

// requestTimeout is the timeout kube-apiserver sends as a query parameter
// (`?timeout=5s`).
func requestTimeout(r *http.Request) time.Duration {
	t, err := time.ParseDuration(r.URL.Query().Get("timeout"))
	if err != nil || t <= 0 {
		return defaultRequestTimeout
	}
	return min(t, maxRequestTimeout)
}

// resolveBudget is the resolution budget of a request: the configured
// budget, lowered to a share of the request's timeout.
func (h *Handler) resolveBudget(timeout time.Duration) time.Duration {
	return min(h.budget, time.Duration(float64(timeout)*budgetShare))
}

// unreadable denies a request whose object cannot be read or judged: fail
// closed.
func unreadable(req *wireRequest, err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{
		UID: req.UID,
		Result: &metav1.Status{
			Status:  metav1.StatusFailure,
			Code:    http.StatusBadRequest,
			Reason:  metav1.StatusReasonBadRequest,
			Message: oneLine("baseguard cannot judge this object: " + err.Error()),
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
