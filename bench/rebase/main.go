// Command rebase measures baseguard's day-two commands end to end against
// go-containerregistry's in-memory registry on loopback:
//
//   - rebase of a 4-platform index with 10 app layers per platform (and an
//     attestation manifest) onto its base tag's new digest: requests by
//     kind and bytes moved, to show that layers are mounted or skipped,
//     never downloaded and uploaded again;
//
//   - outdated over 1,000 inputs (500 Dockerfiles, 500 Pod manifests on 50
//     images), cold and then with a warm cache.
//
//     go build -o /tmp/baseguard ./cmd/baseguard && go run ./bench/rebase /tmp/baseguard
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The shape of the rebase benchmark.
const (
	platforms  = 4
	appLayers  = 10
	baseLayers = 3
	layerBytes = 1 << 20 // each layer's uncompressed size: large enough that moving one shows
)

// The shape of the outdated benchmark.
const (
	dockerfiles = 500
	pods        = 500
	apps        = 50
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: rebase BASEGUARD-BINARY")
	}
	m := &meter{}
	m.reset()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(m.wrap(h))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := must(os.MkdirTemp("", "baseguard-bench-"))
	defer os.RemoveAll(dir)

	benchRebase(os.Args[1], host, dir, m)
	benchOutdated(os.Args[1], host, dir, m)
}

func benchRebase(bin, host, dir string, m *meter) {
	plats := []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"}
	oldBases, newBases, appImgs := map[string]v1.Image{}, map[string]v1.Image{}, map[string]v1.Image{}
	for _, p := range plats {
		oldBases[p] = base(p)
		newBases[p] = base(p)
	}
	pushIndex(host+"/base/os:1", index(oldBases, plats, nil))
	var stored int64
	for _, p := range plats {
		img := oldBases[p]
		for range appLayers {
			img = must(mutate.Append(img, mutate.Addendum{Layer: must(random.Layer(layerBytes, types.OCILayer)), History: v1.History{CreatedBy: "app"}}))
		}
		appImgs[p] = mutate.Annotations(img, map[string]string{
			"org.opencontainers.image.base.name":   host + "/base/os:1",
			"org.opencontainers.image.base.digest": must(oldBases[p].Digest()).String(),
		}).(v1.Image)
		for _, l := range must(appImgs[p].Layers())[baseLayers:] {
			stored += must(l.Size())
		}
	}
	att := must(random.Image(1024, 1))
	pushIndex(host+"/apps/web:1", index(appImgs, plats, att))
	pushIndex(host+"/base/os:1", index(newBases, plats, nil)) // the base tag moves

	fmt.Printf("rebase: %d platforms x %d app layers of %d MiB (%d MiB of app layers), %d base layers, an attestation\n",
		platforms, appLayers, layerBytes>>20, stored>>20, baseLayers)
	cache := filepath.Join(dir, "cache-rebase")
	for _, args := range [][]string{
		{"rebase", host + "/apps/web:1", "--tag", "1-rebased", "-o", "json"},
		{"rebase", host + "/apps/web:1", "--to", host + "/apps/other:1", "-o", "json"},
	} {
		m.reset()
		wall, cpu := runBinary(bin, cache, args...)
		fmt.Printf("  %s\n    %.0f ms wall, %.0f ms CPU; %s\n", strings.Join(args[:4], " "), ms(wall), ms(cpu), m.summary())
	}
}

func benchOutdated(bin, host, dir string, m *meter) {
	for _, tag := range []string{"3.18", "3.19", "3.20", "3.21"} {
		push(host+"/base/alpine:"+tag, must(random.Image(1024, 2)))
	}
	old := must(random.Image(1024, 2))
	oldD := push(host+"/base/alpine:3.19", old)
	push(host+"/base/alpine:3.19", must(random.Image(1024, 2))) // moves
	for i := range apps {
		img := mutate.Annotations(must(mutate.AppendLayers(old, must(random.Layer(1024, types.OCILayer)))), map[string]string{
			"org.opencontainers.image.base.name": host + "/base/alpine:3.19", "org.opencontainers.image.base.digest": oldD.String(),
		}).(v1.Image)
		push(fmt.Sprintf("%s/apps/app%d:1", host, i), img)
	}
	in := filepath.Join(dir, "inputs")
	tags := []string{"3.18", "3.19", "3.20", "3.21", "3.19@" + oldD.String()}
	for i := range dockerfiles {
		d := filepath.Join(in, fmt.Sprintf("svc%d", i))
		check(os.MkdirAll(d, 0o755))
		check(os.WriteFile(filepath.Join(d, "Dockerfile"), fmt.Appendf(nil, "FROM %s/base/alpine:%s AS build\nRUN make\nFROM %s/base/alpine:3.21\nCOPY --from=build /app /app\n", host, tags[i%len(tags)], host), 0o644))
	}
	for i := range pods {
		check(os.WriteFile(filepath.Join(in, fmt.Sprintf("pod%d.yaml", i)), fmt.Appendf(nil, "apiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers: [{name: app, image: %s/apps/app%d:1}]\n", i, host, i%apps), 0o644))
	}
	policy := filepath.Join(dir, "policy.yaml")
	check(os.WriteFile(policy, fmt.Appendf(nil, "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - {name: approved, allow: [\"%s/base/*\"]}\n    - {name: deprecated, deny: [\"*alpine:3.18*\"]}\n", host), 0o644))
	fmt.Printf("outdated: %d Dockerfiles (2 FROM each) and %d Pods on %d images\n", dockerfiles, pods, apps)
	cache := filepath.Join(dir, "cache-outdated")
	for _, run := range []string{"cold", "warm"} {
		m.reset()
		wall, cpu := runBinary(bin, cache, "outdated", "-o", "json", "-p", policy, in)
		fmt.Printf("  %-5s %.0f ms wall, %.0f ms CPU; %s\n", run, ms(wall), ms(cpu), m.summary())
	}
}

// runBinary runs baseguard with its cache in cache and returns its wall
// and CPU time; exit 1 (something is outdated) is expected.
func runBinary(bin, cache string, args ...string) (time.Duration, time.Duration) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ee, ok := err.(*exec.ExitError); err != nil && !(ok && ee.ExitCode() == 1) {
		log.Fatalf("baseguard %v: %v\n%s", args, err, stderr.String())
	}
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// meter counts requests by kind and the bytes of blobs moved.
type meter struct {
	mu       sync.Mutex
	kinds    map[string]int
	down, up int64
	requests int
}

func (m *meter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		cb := &countingBody{ReadCloser: r.Body}
		r.Body = cb
		h.ServeHTTP(cw, r)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.requests++
		m.kinds[kind(r)]++
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			m.down += cw.n
		}
		if strings.Contains(r.URL.Path, "/blobs/uploads/") {
			m.up += cb.n
		}
	})
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kinds, m.down, m.up, m.requests = map[string]int{}, 0, 0, 0
}

func (m *meter) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k, n := range m.kinds {
		ks = append(ks, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(ks)
	return fmt.Sprintf("%d requests (%s); blob bytes down %s, up %s", m.requests, strings.Join(ks, ", "), size(m.down), size(m.up))
}

// kind names a registry request for the summary.
func kind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case strings.Contains(p, "/blobs/uploads/"):
		if r.URL.Query().Get("mount") != "" {
			return r.Method + " mount"
		}
		return r.Method + " upload"
	case strings.Contains(p, "/blobs/"):
		return r.Method + " blob"
	case strings.Contains(p, "/manifests/"):
		return r.Method + " manifest"
	case strings.HasSuffix(p, "/tags/list"):
		return "GET tags"
	}
	return r.Method + " other"
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	return n, err
}

func base(platform string) v1.Image {
	img := must(random.Image(layerBytes, baseLayers))
	p := must(v1.ParsePlatform(platform))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	return must(mutate.ConfigFile(img, cf))
}

func index(imgs map[string]v1.Image, plats []string, att v1.Image) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for _, p := range plats {
		adds = append(adds, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{Platform: must(v1.ParsePlatform(p))}})
	}
	if att != nil {
		adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func push(ref string, img v1.Image) v1.Hash {
	check(remote.Write(must(name.NewTag(ref)), img))
	return must(img.Digest())
}

func pushIndex(ref string, idx v1.ImageIndex) {
	check(remote.WriteIndex(must(name.NewTag(ref)), idx))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func size(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/1024)
}

func must[T any](v T, err error) T {
	check(err)
	return v
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
