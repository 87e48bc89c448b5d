package registry

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is ggcr's in-memory registry over TLS on loopback, with
// fault injection by repository name and a request counter in front of the
// client.
type testRegistry struct {
	t      testing.TB
	srv    *httptest.Server
	host   string
	count  *countingTransport
	faults map[string]http.HandlerFunc // by repository path fragment
}

func newTestRegistry(t testing.TB, opts ...ggcr.Option) *testRegistry {
	t.Helper()
	tr := &testRegistry{t: t, faults: map[string]http.HandlerFunc{}}
	reg := ggcr.New(append([]ggcr.Option{ggcr.Logger(log.New(io.Discard, "", 0))}, opts...)...)
	tr.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for frag, h := range tr.faults {
			if strings.Contains(r.URL.Path, "/"+frag+"/") {
				h(w, r)
				return
			}
		}
		reg.ServeHTTP(w, r)
	}))
	tr.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tr.srv.StartTLS()
	t.Cleanup(tr.srv.Close)
	tr.host = strings.TrimPrefix(tr.srv.URL, "https://")
	tr.count = &countingTransport{inner: tr.srv.Client().Transport}
	return tr
}

// client returns a resolver client over the counted transport, with fast
// retries.
func (tr *testRegistry) client(opts ...Option) *Client {
	tr.t.Helper()
	base := []Option{
		WithTransport(tr.count),
		WithKeychain(anonymous{}),
		WithRetryBackoff(remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 3}),
	}
	c, err := New(append(base, opts...)...)
	if err != nil {
		tr.t.Fatal(err)
	}
	return c
}

// ref parses host/path as an imageref.
func (tr *testRegistry) ref(path string) imageref.Ref {
	tr.t.Helper()
	r, err := imageref.Parse(tr.host + "/" + path)
	if err != nil {
		tr.t.Fatal(err)
	}
	return r
}

func (tr *testRegistry) name(path string) string { return tr.host + "/" + path }

func (tr *testRegistry) writeOpts() []remote.Option {
	return []remote.Option{remote.WithTransport(tr.srv.Client().Transport)}
}

// push writes an image or an index under host/path and returns its digest.
func (tr *testRegistry) push(path string, x any) v1.Hash {
	tr.t.Helper()
	ref, err := name.ParseReference(tr.name(path))
	if err != nil {
		tr.t.Fatal(err)
	}
	switch v := x.(type) {
	case v1.Image:
		err = remote.Write(ref, v, tr.writeOpts()...)
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, v, tr.writeOpts()...)
	default:
		tr.t.Fatalf("push %T", x)
	}
	if err != nil {
		tr.t.Fatalf("pushing %s: %v", path, err)
	}
	return digestOf(tr.t, x.(interface{ Digest() (v1.Hash, error) }))
}

// putRaw writes raw bytes as a manifest or a blob.
func (tr *testRegistry) putRaw(path, mediaType string, body []byte) {
	tr.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, tr.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", mediaType)
	resp, err := tr.srv.Client().Do(req)
	if err != nil {
		tr.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tr.t.Fatalf("PUT %s: %s", path, resp.Status)
	}
}

func digestOf(t testing.TB, x interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// countingTransport counts the requests the resolver makes.
type countingTransport struct {
	inner http.RoundTripper
	mu    sync.Mutex
	n     int
	log   []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.log = append(c.log, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

// reset returns the count so far and starts again.
func (c *countingTransport) reset() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, l := c.n, c.log
	c.n, c.log = 0, nil
	return n, l
}

type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }
