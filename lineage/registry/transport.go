package registry

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// limitTransport bounds every response body it passes on: manifests and
// referrers lists by the manifest limit, everything else by the largest blob limit. A response
// that announces a larger body is refused before it is read; one that
// turns out larger fails when the limit is crossed. The precise limit of a
// config or an attestation is applied where it is read.
type limitTransport struct {
	inner    http.RoundTripper
	manifest int64
	blob     int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	limit := t.blob
	if strings.Contains(req.URL.Path, "/manifests/") || strings.Contains(req.URL.Path, "/referrers/") {
		limit = t.manifest
	}
	if resp.ContentLength > limit {
		resp.Body.Close()
		return nil, fmt.Errorf("reading %s: %w: %d bytes, more than the limit of %d", req.URL.Path, ErrTooLarge, resp.ContentLength, limit)
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: limit, path: req.URL.Path}
	return resp, nil
}

// boundedBody fails a read that goes past the limit.
type boundedBody struct {
	io.ReadCloser
	left int64
	path string
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Only an error when there is more to read.
		var one [1]byte
		if n, _ := b.ReadCloser.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("reading %s: %w: more than the limit", b.path, ErrTooLarge)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// readBounded reads all of r, failing with ErrTooLarge past limit bytes.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b, nil
}
