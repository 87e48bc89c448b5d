package rebase

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testRegistry is go-containerregistry's in-memory registry on loopback,
// recording every request it serves.
type testRegistry struct {
	host string
	mu   sync.Mutex
	log  []string // "METHOD path?query"
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	h := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.log = append(r.log, req.Method+" "+req.URL.RequestURI())
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// mark returns the number of requests so far, for writesSince.
func (r *testRegistry) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// writesSince lists the requests since mark that would change the
// registry.
func (r *testRegistry) writesSince(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.log[mark:] {
		if !strings.HasPrefix(l, "GET ") && !strings.HasPrefix(l, "HEAD ") {
			out = append(out, l)
		}
	}
	return out
}

func (r *testRegistry) ref(s string) string { return r.host + "/" + s }

func (r *testRegistry) push(t *testing.T, ref string, img v1.Image) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(r.ref(ref))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	return digest(t, img)
}

func (r *testRegistry) pushIndex(t *testing.T, ref string, idx v1.ImageIndex) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(r.ref(ref))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatalf("pushing %s: %v", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// must is for test fixtures that cannot fail unless the test is wrong.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// randomBase is a random image of n layers for a platform, with history.
func randomBase(t *testing.T, platform string, n int) v1.Image {
	t.Helper()
	img := must(random.Image(256, int64(n)))
	p := must(v1.ParsePlatform(platform))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Env = []string{"PATH=/usr/bin"}
	return must(mutate.ConfigFile(img, cf))
}

// appOn is an image of base's layers and n more, with its own config and
// history, declaring baseName@baseDigest as ko does (no declaration when
// baseName is empty).
func appOn(t *testing.T, base v1.Image, baseName string, n int) v1.Image {
	t.Helper()
	var adds []mutate.Addendum
	for i := range n {
		l := must(random.Layer(256, types.OCILayer))
		adds = append(adds, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "app step " + string(rune('a'+i))}})
	}
	adds = append(adds, mutate.Addendum{History: v1.History{CreatedBy: "ENTRYPOINT", EmptyLayer: true}})
	img := must(mutate.Append(base, adds...))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.Config.Entrypoint = []string{"/app"}
	cf.Config.Env = []string{"PATH=/usr/bin", "APP=payments"}
	cf.Config.User = "65532"
	cf.Config.Labels = map[string]string{"team": "payments"}
	cf.Created = v1.Time{Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cf.Author = "payments team"
	img = must(mutate.ConfigFile(img, cf))
	ann := map[string]string{"org.opencontainers.image.source": "https://example.com/payments"}
	if baseName != "" {
		ann[annotationBaseName] = baseName
		ann[annotationBaseDigest] = digest(t, base).String()
	}
	return mutate.Annotations(img, ann).(v1.Image)
}

// indexOf makes an index of images for platforms, with an attestation
// manifest for the first when attest is set.
func indexOf(t *testing.T, imgs map[string]v1.Image, order []string, attest bool) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range order {
		adds = append(adds, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{Platform: must(v1.ParsePlatform(p))}})
	}
	if attest {
		att := must(random.Image(64, 1))
		adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": digest(t, imgs[order[0]]).String()},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

// newRebaser is a Rebaser with a fresh lineage client (no disk cache) and
// the given policy.
func newRebaser(t *testing.T, policyYAML string) *Rebaser {
	t.Helper()
	c := must(registry.New())
	o := Options{Lineage: c}
	if policyYAML != "" {
		o.Policies = loadPolicy(t, policyYAML)
	}
	return must(NewRebaser(o))
}

func loadPolicy(t *testing.T, y string) *policy.Set {
	t.Helper()
	ps, err := policy.Load(policy.File{Name: "policy.yaml", Data: []byte(y)})
	if err != nil {
		t.Fatal(err)
	}
	return must(policy.NewSet(ps))
}

// remoteImage fetches an image the way a user would.
func remoteImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	return must(remote.Image(must(name.ParseReference(ref))))
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	var out []v1.Hash
	for _, l := range must(img.Layers()) {
		out = append(out, must(l.Digest()))
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// mutateConfig replaces an image's config, keeping its manifest
// annotations.
func mutateConfig(img v1.Image, cf *v1.ConfigFile) (v1.Image, error) {
	ann := must(img.Manifest()).Annotations
	out, err := mutate.ConfigFile(img, cf)
	if err != nil || len(ann) == 0 {
		return out, err
	}
	return mutate.Annotations(out, ann).(v1.Image), nil
}

func remoteIndexE(ref string) (v1.ImageIndex, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return remote.Index(r)
}

// since lists the requests after mark.
func (r *testRegistry) since(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log[mark:]...)
}
