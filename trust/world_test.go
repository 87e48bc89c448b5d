package trust_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/trust"
	"github.com/baseguard/baseguard/trust/trusttest"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// world is an in-memory registry (ggcr's, behind httptest) and the keys
// the tests sign with.
type world struct {
	t        testing.TB
	host     string
	requests atomic.Int64
	// fail, when set, answers matching requests with a 503.
	fail atomic.Pointer[func(*http.Request) bool]
}

func newWorld(t testing.TB, referrersAPI bool) *world {
	t.Helper()
	w := &world{t: t}
	h := ggcr.New(ggcr.WithReferrersSupport(referrersAPI), ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.requests.Add(1)
		if f := w.fail.Load(); f != nil && (*f)(r) {
			http.Error(rw, `{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}`, http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.host = strings.TrimPrefix(srv.URL, "http://")
	return w
}

// key is a trusttest key bound to a test.
type key struct {
	trusttest.Key
	t testing.TB
}

func newKey(t testing.TB, kind string) key {
	t.Helper()
	k, err := trusttest.NewKey(kind)
	if err != nil {
		t.Fatal(err)
	}
	return key{k, t}
}

func (k key) sign(t testing.TB, msg []byte) []byte {
	t.Helper()
	sig, err := k.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (w *world) ref(s string) name.Reference {
	w.t.Helper()
	r, err := name.ParseReference(w.host + "/" + s)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// pushImage pushes a random single-platform image and returns its digest.
func (w *world) pushImage(repoTag string) v1.Hash {
	w.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(w.ref(repoTag), img); err != nil {
		w.t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// pushIndex pushes a two-platform index and returns its digest and the
// linux/amd64 manifest's.
func (w *world) pushIndex(repoTag string) (index, amd64 v1.Hash) {
	w.t.Helper()
	var adds []mutate.IndexAddendum
	var first v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			w.t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"}})
		if err != nil {
			w.t.Fatal(err)
		}
		if arch == "amd64" {
			first, _ = img.Digest()
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(w.ref(repoTag), idx); err != nil {
		w.t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d, first
}

func simpleSigning(repo string, d v1.Hash) []byte { return trusttest.SimpleSigning(repo, d) }

func statement(predicateType string, predicate any, digests ...v1.Hash) []byte {
	return trusttest.Statement(predicateType, predicate, digests...)
}

func envelope(t testing.TB, k key, body []byte) []byte {
	t.Helper()
	b, err := trusttest.Envelope(k.Key, body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bundleOf(t testing.TB, k key, body []byte) []byte {
	t.Helper()
	b, err := trusttest.Bundle(k.Key, body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) repo(repo string) name.Repository { return w.ref(repo).Context() }

func (w *world) check(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) signTag(repo string, at v1.Hash, payload, sig []byte) {
	w.t.Helper()
	w.check(trusttest.SignTag(w.repo(repo), at, payload, sig))
}

func (w *world) appendTagLayer(repo string, at v1.Hash, suffix string, l v1.Layer, ann map[string]string) {
	w.t.Helper()
	w.check(trusttest.AppendTagLayer(w.repo(repo), at, suffix, l, ann))
}

func (w *world) attestTag(repo string, at v1.Hash, env []byte, predicateType string) {
	w.t.Helper()
	w.check(trusttest.AttestTag(w.repo(repo), at, env, predicateType))
}

func (w *world) attachBundle(repo string, at v1.Hash, bundle []byte, predicateType string) {
	w.t.Helper()
	w.check(trusttest.AttachBundle(w.repo(repo), at, bundle, predicateType))
}

func (w *world) signBundle(repo string, at v1.Hash, k key, names ...v1.Hash) {
	w.t.Helper()
	w.check(trusttest.SignBundle(w.repo(repo), at, k.Key, names))
}

// resolver makes the pipeline over a fresh registry client.
func (w *world) resolver(opts ...trust.Option) *trust.Resolver {
	w.t.Helper()
	return w.resolverWith(nil, opts...)
}

// resolverWith makes the pipeline with registry options too.
func (w *world) resolverWith(ropts []registry.Option, opts ...trust.Option) *trust.Resolver {
	w.t.Helper()
	c, err := registry.New(append([]registry.Option{registry.WithTimeout(10 * time.Second), registry.WithRetryBackoff(remote.Backoff{Steps: 1})}, ropts...)...)
	if err != nil {
		w.t.Fatal(err)
	}
	return trust.New(c, append([]trust.Option{trust.Always()}, opts...)...)
}

func (w *world) lineage(r *trust.Resolver, s string) lineage.Lineage {
	w.t.Helper()
	ref, err := imageref.Parse(w.host + "/" + s)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.Lineage(context.Background(), ref)
}
