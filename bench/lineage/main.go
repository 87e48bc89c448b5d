// Command lineage measures `baseguard check --resolve` end to end: it
// serves go-containerregistry's in-memory registry on loopback with 50
// apps, each on its own company base, all on one upstream (three-level
// chains declared by OCI base annotations), writes 1,000 Pods using them,
// and runs the given baseguard binary cold (empty cache) and warm,
// counting the registry requests each run makes.
//
//	go build -o /tmp/baseguard ./cmd/baseguard && go run ./bench/lineage /tmp/baseguard
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
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	apps = 50
	pods = 1000
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: lineage BASEGUARD-BINARY")
	}
	var requests atomic.Int64
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	upstream := must(random.Image(2048, 2))
	upD := push(host+"/upstream/os:1", upstream)
	for i := 0; i < apps; i++ {
		base := on(upstream, host+"/upstream/os:1", upD)
		baseD := push(fmt.Sprintf("%s/company/base%d:1", host, i), base)
		push(fmt.Sprintf("%s/apps/app%d:1", host, i), on(base, fmt.Sprintf("%s/company/base%d:1", host, i), baseD))
	}

	dir := must(os.MkdirTemp("", "baseguard-bench-"))
	defer os.RemoveAll(dir)
	var b strings.Builder
	for i := 0; i < pods; i++ {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers: [{name: app, image: %s/apps/app%d:1}]\n", i, host, i%apps)
	}
	manifests := filepath.Join(dir, "pods.yaml")
	check(os.WriteFile(manifests, []byte(b.String()), 0o644))
	policy := filepath.Join(dir, "policy.yaml")
	check(os.WriteFile(policy, []byte(fmt.Sprintf("apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  rules:\n    - {name: approved, allow: [\"%s/upstream/*\"]}\n    - {name: deprecated, deny: [\"*centos*\"]}\n    - {name: known, requireBase: true}\n", host)), 0o644))

	cache := filepath.Join(dir, "cache")
	fmt.Printf("%d pods using %d images (three-level chains), registry on %s\n", pods, apps, host)
	for _, run := range []string{"cold", "warm"} {
		requests.Store(0)
		start := time.Now()
		cmd := exec.Command(os.Args[1], "check", "--resolve", "-o", "json", "-p", policy, manifests)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
		out, err := cmd.Output()
		wall := time.Since(start)
		if err != nil {
			log.Fatalf("%s run: %v\n%s", run, err, out)
		}
		fmt.Printf("%-5s %4d requests  %7.1f ms wall  (%d bytes of results)\n", run, requests.Load(), float64(wall.Microseconds())/1000, len(out))
	}
}

// on makes an image of base's layers plus one, annotated with its base.
func on(base v1.Image, baseName string, baseDigest v1.Hash) v1.Image {
	img := must(mutate.AppendLayers(base, must(random.Layer(1024, "application/vnd.oci.image.layer.v1.tar+gzip"))))
	return mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.base.name":   baseName,
		"org.opencontainers.image.base.digest": baseDigest.String(),
	}).(v1.Image)
}

func push(ref string, img v1.Image) v1.Hash {
	check(remote.Write(must(name.NewTag(ref)), img))
	return must(img.Digest())
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
