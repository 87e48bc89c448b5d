package admission

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkReview measures the handler alone (no TLS, no network) on a
// denied Deployment and an admitted Pod.
func BenchmarkReview(b *testing.B) {
	for _, name := range []string{"deployment-create-denied", "pod-create-approved-allowed", "deployment-scale-unchanged-allowed"} {
		b.Run(name, func(b *testing.B) {
			body := readRequest(&testing.T{}, name)
			s, err := NewServer(Options{})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, PathValidate+"?timeout=5s", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
