// Command trustworld serves the registry of the admission benchmark with
// trust rules: go-containerregistry's in-memory registry on loopback with
// -apps apps, each on its own base; every base is signed by the platform
// key (half in cosign's tag layout, half as cosign 3 bundles attached as
// referrers) and carries a fresh Trivy scan attested by the scanner key. It
// writes, under -dir, the policy that requires both (policy.yaml, keys/)
// and one AdmissionReview of a Pod per app (requests/), and one of an app
// on an unsigned base (refused/unsigned.json: the rules apply, so it must
// be refused), prints "ready" and
// serves until interrupted. It counts the registry's requests and prints
// the count on SIGUSR1 and at exit, so that a run can show how many
// requests it made with warm caches.
//
//	go run ./bench/admission/trustworld -dir /tmp/trust -apps 20
//
// bench/admission/run.sh runs it when BENCH_TRUST=1.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/baseguard/baseguard/trust/trusttest"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func main() {
	dir := flag.String("dir", "", "directory to write the policy, keys and requests in (required)")
	apps := flag.Int("apps", 20, "apps, each on its own signed and scanned base")
	flag.Parse()
	if *dir == "" || *apps < 1 {
		log.Fatal("trustworld: -dir is required and -apps must be at least 1")
	}
	if err := run(*dir, *apps); err != nil {
		log.Fatalf("trustworld: %v", err)
	}
}

func run(dir string, apps int) error {
	var requests atomic.Int64
	h := ggcr.New(ggcr.WithReferrersSupport(true), ggcr.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	host := l.Addr().String()

	platform, err := trusttest.NewKey("ecdsa")
	if err != nil {
		return err
	}
	scanner, err := trusttest.NewKey("rsa")
	if err != nil {
		return err
	}
	if err := writeFiles(dir, host, platform, scanner); err != nil {
		return err
	}
	for i := range apps {
		app, err := pushApp(host, fmt.Sprintf("b%02d", i), i%2 == 0, &platform, scanner)
		if err != nil {
			return fmt.Errorf("pushing app %d: %w", i, err)
		}
		if err := writeRequest(filepath.Join(dir, "requests"), fmt.Sprintf("app-%02d", i), app); err != nil {
			return err
		}
	}
	unsigned, err := pushApp(host, "unsigned", false, nil, scanner)
	if err != nil {
		return fmt.Errorf("pushing the unsigned app: %w", err)
	}
	if err := writeRequest(filepath.Join(dir, "refused"), "unsigned", unsigned); err != nil {
		return err
	}
	fmt.Printf("ready %s: %d apps, %d registry requests to set up\n", host, apps, requests.Load())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)
	start := requests.Load()
	for s := range sig {
		fmt.Printf("registry requests since ready: %d\n", requests.Load()-start)
		if s != syscall.SIGUSR1 {
			return nil
		}
	}
	return nil
}

// writeFiles writes the keys and the policy: every base signed by the
// platform key, with a scan attested by the scanner key, at most a week
// old, with no finding of high severity or above.
func writeFiles(dir, host string, platform, scanner trusttest.Key) error {
	for _, sub := range []string{"requests", "refused"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	_, err := trusttest.WritePolicyDir(dir, trusttest.TrustedBasesPolicy(host, "maxScanAge: 7d"), platform, scanner)
	return err
}

// pushApp pushes base/<id>:1, signed (tag layout or bundle; unsigned
// without a platform key) and with a
// clean Trivy scan attested as a bundle, and apps/<id>:1 built on it,
// which it returns.
func pushApp(host, id string, tagLayout bool, platform *trusttest.Key, scanner trusttest.Key) (string, error) {
	base, err := random.Image(512, 1)
	if err != nil {
		return "", err
	}
	baseRef, err := name.NewTag(host + "/base/" + id + ":1")
	if err != nil {
		return "", err
	}
	if err := remote.Write(baseRef, base); err != nil {
		return "", err
	}
	d, err := base.Digest()
	if err != nil {
		return "", err
	}
	switch {
	case platform == nil:
	case tagLayout:
		err = trusttest.SignTagWith(baseRef.Context(), d, *platform)
	default:
		err = trusttest.SignBundle(baseRef.Context(), d, *platform, nil)
	}
	if err != nil {
		return "", err
	}
	if err := attestScan(baseRef.Context(), d, id, scanner); err != nil {
		return "", err
	}
	layer, err := random.Layer(256, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		return "", err
	}
	app, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return "", err
	}
	app = mutate.Annotations(app, map[string]string{
		"org.opencontainers.image.base.name":   baseRef.String(),
		"org.opencontainers.image.base.digest": d.String(),
	}).(v1.Image)
	appRef, err := name.NewTag(host + "/apps/" + id + ":1")
	if err != nil {
		return "", err
	}
	return appRef.String(), remote.Write(appRef, app)
}

// attestScan attaches a Trivy scan (one low finding) finished an hour ago.
func attestScan(repo name.Repository, d v1.Hash, target string, scanner trusttest.Key) error {
	pred := trusttest.TrivyScan(target, time.Now().Add(-time.Hour).UTC(), "CVE-2025-1000=LOW")
	b, err := trusttest.Bundle(scanner, trusttest.Statement(trusttest.PredicateVuln, pred, d))
	if err != nil {
		return err
	}
	return trusttest.AttachBundle(repo, d, b, trusttest.PredicateVuln)
}

// writeRequest writes the AdmissionReview of a Pod CREATE running image,
// as dir/<podName>.json.
func writeRequest(dir, podName, image string) error {
	uid := fmt.Sprintf("00000000-0000-4000-8000-%012x", crc32.ChecksumIEEE([]byte(podName)))
	pod := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": podName, "namespace": "default"},
		"spec": map[string]any{"containers": []any{
			map[string]any{"name": "app", "image": image},
		}},
	}
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
		"request": map[string]any{
			"uid":       uid,
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"name":      podName,
			"namespace": "default",
			"operation": "CREATE",
			"userInfo":  map[string]any{"username": "kubernetes-admin", "groups": []any{"system:authenticated"}},
			"object":    pod,
			"options":   map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
		},
	}
	b, err := json.MarshalIndent(review, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, podName+".json"), b, 0o644)
}
