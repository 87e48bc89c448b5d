package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

func main() {
	pods := flag.Int("pods", 5000, "pods to create")
	images := flag.Int("images", 200, "distinct images")
	bases := flag.Int("bases", 10, "distinct bases the images are built on")
	perWorkload := flag.Int("pods-per-workload", 5, "pods per Deployment")
	namespaces := flag.Int("namespaces", 20, "namespaces")
	binary := flag.String("binary", "", "baseguard binary to time cold (optional)")
	flag.Parse()
	if err := run(*pods, *images, *bases, *perWorkload, *namespaces, *binary); err != nil {
		log.Fatal(err)
	}
}

func run(pods, images, bases, perWorkload, namespaces int, binary string) error {
	env := &envtest.Environment{ControlPlaneStartTimeout: time.Minute}
	env.ControlPlane.GetAPIServer().Configure().
		Set("advertise-address", "127.0.0.1").
		Set("endpoint-reconciler-type", "none").
		Set("disable-admission-plugins", "ServiceAccount")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	defer env.Stop()

	reg := newCountingRegistry()
	defer reg.srv.Close()
	start := time.Now()
	refs, err := pushImages(reg, images, bases)
	if err != nil {
		return err
	}
	log.Printf("pushed %d images on %d bases in %s", images, bases, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	fast := rest.CopyConfig(cfg)
	fast.QPS, fast.Burst = 2000, 4000
	kube, err := kubernetes.NewForConfig(fast)
	if err != nil {
		return err
	}
	if err := populate(context.Background(), kube, refs, pods, perWorkload, namespaces); err != nil {
		return err
	}
	log.Printf("created %d pods in %d Deployments over %d namespaces in %s", pods, pods/perWorkload, namespaces, time.Since(start).Round(time.Millisecond))

	inproc, err := inProcess(cfg, reg)
	if err != nil {
		return err
	}
	fmt.Printf("\n| run | wall | API requests | registry requests | manifest requests | resolutions | peak RSS |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	fmt.Println(inproc)
	if binary != "" {
		cli, err := cold(binary, env, reg)
		if err != nil {
			return err
		}
		fmt.Println(cli)
	}
	fmt.Printf("\n%d pods, %d distinct images on %d bases (%d images and bases in all)\n", pods, images, bases, images+bases)
	return nil
}

// countingRegistry is the in-memory registry, counting requests and
// manifest requests.
type countingRegistry struct {
	srv                 *httptest.Server
	host                string
	requests, manifests atomic.Int64
}

func newCountingRegistry() *countingRegistry {
	r := &countingRegistry{}
	h := ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if strings.Contains(req.URL.Path, "/manifests/") {
			r.manifests.Add(1)
		}
		h.ServeHTTP(w, req)
	}))
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *countingRegistry) reset() { r.requests.Store(0); r.manifests.Store(0) }

// inProcess audits with audit.Run, counting API requests.
func inProcess(cfg *rest.Config, reg *countingRegistry) (string, error) {
	var api atomic.Int64
	counted := rest.CopyConfig(cfg)
	counted.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			api.Add(1)
			return rt.RoundTrip(req)
		})
	}
	set, err := policy.NewSet(policy.Builtin())
	if err != nil {
		return "", err
	}
	c, err := registry.New(registry.WithUserAgent("baseguard-bench"))
	if err != nil {
		return "", err
	}
	resolver := admission.ResolverFunc(func(ctx context.Context, ref imageref.Ref, _ admission.Credentials) lineage.Lineage {
		return c.Lineage(ctx, ref)
	})
	reg.reset()
	start := time.Now()
	a, err := audit.Run(context.Background(), audit.Options{Config: counted, Policies: set, Resolver: resolver})
	if err != nil {
		return "", err
	}
	took := time.Since(start)
	inv := a.Inventory()
	if inv.Containers == 0 {
		return "", fmt.Errorf("the audit found no container")
	}
	return fmt.Sprintf("| in-process `audit.Run` (%d containers, %d workloads) | %s | %d | %d | %d | %d | |",
		inv.Containers, inv.Workloads, took.Round(time.Millisecond), api.Load(), reg.requests.Load(), reg.manifests.Load(), a.Images), nil
}

// cold runs the binary with an empty cache directory and reports its wall
// time and peak RSS.
func cold(binary string, env *envtest.Environment, reg *countingRegistry) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "baseguard-bench-audit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		return "", err
	}
	reg.reset()
	cmd := exec.Command(binary, "audit", "--kubeconfig", kubeconfig, "-o", "json")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"), "HOME="+dir)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() > 2 || cmd.ProcessState.ExitCode() < 0 {
		return "", fmt.Errorf("running %s: %v\n%s", binary, err, stderr.String())
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
	return fmt.Sprintf("| `baseguard audit -o json`, cold cache | %s | | %d | %d | | %.1f MiB |",
		took.Round(time.Millisecond), reg.requests.Load(), reg.manifests.Load(), float64(rss)/1024), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// parallel runs fn for 0..n-1 on workers goroutines, returning the first
// error.
func parallel(n, workers int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
