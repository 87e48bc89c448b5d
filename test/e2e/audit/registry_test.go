package audit

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registry is ggcr's in-memory registry on loopback, optionally behind
// basic auth, counting the requests it serves.
type registry struct {
	srv      *httptest.Server
	host     string
	auth     authn.Authenticator
	requests atomic.Int64
	mu       sync.Mutex
	manifest map[string]int // manifest requests by method and path
}

func newRegistry(user, password string) *registry {
	r := &registry{auth: authn.Anonymous, manifest: map[string]int{}}
	reg := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if strings.Contains(req.URL.Path, "/manifests/") {
			r.mu.Lock()
			r.manifest[req.Method+" "+req.URL.Path]++
			r.mu.Unlock()
		}
		if user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
		}
		reg.ServeHTTP(w, req)
	}))
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	if user != "" {
		r.auth = authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	}
	return r
}

// manifestRequests returns the manifest requests since the last call.
func (r *registry) manifestRequests() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.manifest
	r.manifest = map[string]int{}
	return m
}

// ref is the registry's reference of repo:tag.
func (r *registry) ref(repoTag string) string { return r.host + "/" + repoTag }

// push writes an image and returns its digest.
func (r *registry) push(repoTag string, img v1.Image) (v1.Hash, error) {
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img, remote.WithAuth(r.auth)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	return img.Digest()
}

// pushBase pushes a random base image created at created.
func (r *registry) pushBase(repoTag string, created time.Time) (v1.Image, v1.Hash, error) {
	img, err := random.Image(256, 1)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: created}); err != nil {
		return nil, v1.Hash{}, err
	}
	d, err := r.push(repoTag, img)
	return img, d, err
}

// pushApp pushes an image built on base (one more layer, the base declared
// by OCI annotations); with a nil base, an image that declares none.
func (r *registry) pushApp(repoTag string, base v1.Image, baseRef string) error {
	var img v1.Image
	var err error
	if base == nil {
		img, err = random.Image(256, 1)
		if err != nil {
			return err
		}
		_, err = r.push(repoTag, img)
		return err
	}
	layer, err := random.Layer(256, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		return err
	}
	if img, err = mutate.AppendLayers(base, layer); err != nil {
		return err
	}
	d, err := base.Digest()
	if err != nil {
		return err
	}
	img = mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.base.name":   baseRef,
		"org.opencontainers.image.base.digest": d.String(),
	}).(v1.Image)
	_, err = r.push(repoTag, img)
	return err
}
