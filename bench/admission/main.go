package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/bench/internal/proc"
)

type config struct {
	addr        string
	caFile      string
	requests    string
	pid         int
	rates       []int
	duration    time.Duration
	maxRequests int
	concurrency int
	maxInFlight int
	http2       bool
	conns       int
	warmup      time.Duration
}

func main() {
	c, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "admission bench:", err)
		os.Exit(2)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "admission bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (*config, error) {
	c := &config{}
	var rates string
	flag.StringVar(&c.addr, "addr", "127.0.0.1:8443", "host:port of `baseguard serve` (loopback only)")
	flag.StringVar(&c.caFile, "ca", "", "CA certificate the server's certificate chains to (ca.crt from `baseguard certs`)")
	flag.StringVar(&c.requests, "requests", "admission/testdata/requests", "directory of AdmissionReview JSON files to post, round-robin")
	flag.IntVar(&c.pid, "pid", 0, "server process id, for its VmRSS (0: not reported)")
	flag.StringVar(&rates, "rates", "500,1000,2000", "fixed request rates per second, comma-separated")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "length of each run")
	flag.IntVar(&c.maxRequests, "max-requests", 100000, "upper bound on the requests of each run")
	flag.IntVar(&c.concurrency, "concurrency", 8, "clients in the saturation run (0: skip it)")
	flag.IntVar(&c.maxInFlight, "max-in-flight", 512, "bound on outstanding requests in fixed-rate runs")
	http1 := flag.Bool("http1", false, "use HTTP/1.1 keep-alive connections (at most -conns) instead of HTTP/2, which kube-apiserver uses")
	flag.IntVar(&c.conns, "conns", 64, "with -http1, the most connections open at once")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured warm-up before the runs")
	flag.Parse()
	c.http2 = !*http1
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return nil, fmt.Errorf("-addr: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-addr %s: only loopback IP addresses are allowed", c.addr)
	}
	for _, r := range strings.Split(rates, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		n, err := strconv.Atoi(r)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a positive number", r)
		}
		c.rates = append(c.rates, n)
	}
	if c.caFile == "" {
		return nil, errors.New("-ca is required")
	}
	return c, nil
}

// result is one run's measurements.
type result struct {
	name      string
	sent, ok  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
	rssMax    int64
	// serverCPU is the server's CPU time during the run; handler holds
	// the server's own request-duration histogram over the run.
	serverCPU time.Duration
	handler   histogram
}

func run(c *config) error {
	client, err := newClient(c)
	if err != nil {
		return err
	}
	bodies, err := loadBodies(c.requests)
	if err != nil {
		return err
	}
	url := "https://" + c.addr + "/validate?timeout=5s"
	b := &bench{client: client, url: url, metricsURL: "https://" + c.addr + "/metrics", bodies: bodies, pid: c.pid}
	idle := proc.RSS(c.pid)
	fmt.Printf("server VmRSS idle: %s\n", proc.MiB(idle))

	warm := b.fixedRate(100, c.warmup, c.maxRequests, c.maxInFlight)
	if warm.ok == 0 {
		return fmt.Errorf("warm-up: no request succeeded (%d errors)", warm.errors)
	}
	fmt.Printf("warm-up: %d requests, %d errors; %d request bodies, %s\n", warm.sent, warm.errors, len(bodies), protocol(c))
	var results []result
	for _, r := range c.rates {
		results = append(results, b.measured(func() result { return b.fixedRate(r, c.duration, c.maxRequests, c.maxInFlight) }))
	}
	if c.concurrency > 0 {
		results = append(results, b.measured(func() result { return b.saturate(c.concurrency, c.duration, c.maxRequests) }))
	}
	after := proc.RSS(c.pid)
	printTable(results)
	fmt.Printf("\nserver VmRSS: idle %s before, %s after the runs\n", proc.MiB(idle), proc.MiB(after))
	return nil
}

func protocol(c *config) string {
	if c.http2 {
		return "HTTP/2"
	}
	return fmt.Sprintf("HTTP/1.1 keep-alive, at most %d connections", c.conns)
}

func newClient(c *config) (*http.Client, error) {
	caPEM, err := os.ReadFile(c.caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s: no PEM certificate", c.caFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        c.maxInFlight,
		MaxIdleConnsPerHost: c.maxInFlight,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   c.http2,
	}
	if !c.http2 {
		tr.MaxConnsPerHost = c.conns
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, nil
}

func loadBodies(dir string) ([][]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.json AdmissionReviews in %s", dir)
	}
	return out, nil
}

type bench struct {
	client     *http.Client
	url        string
	metricsURL string
	bodies     [][]byte
	pid        int
	next       atomic.Uint64
}

// post sends one review and reports whether it was answered 200.
func (b *bench) post() bool {
	body := b.bodies[b.next.Add(1)%uint64(len(b.bodies))]
	resp, err := b.client.Post(b.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode == http.StatusOK
}

// fixedRate sends rate requests per second for d (at most max), each
// timed from when it was due.
func (b *bench) fixedRate(rate int, d time.Duration, max, maxInFlight int) result {
	n := min(int(float64(rate)*d.Seconds()), max)
	res := result{name: fmt.Sprintf("%d req/s", rate), latencies: make([]time.Duration, 0, n)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxInFlight)
	stopRSS := b.sampleRSS(&res)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	deadline := start.Add(d + 10*time.Second) // bound even a stalled server
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		slots <- struct{}{}
		res.sent++
		wg.Go(func() {
			ok := b.post()
			lat := time.Since(due)
			<-slots
			mu.Lock()
			defer mu.Unlock()
			if ok {
				res.ok++
				res.latencies = append(res.latencies, lat)
			} else {
				res.errors++
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	stopRSS()
	return res
}

// saturate runs workers that post back to back for d (at most max in all).
func (b *bench) saturate(workers int, d time.Duration, max int) result {
	res := result{name: fmt.Sprintf("saturation, %d clients", workers)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var budget atomic.Int64
	budget.Store(int64(max))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	stopRSS := b.sampleRSS(&res)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var lats []time.Duration
			sent, ok := 0, 0
			for ctx.Err() == nil && budget.Add(-1) >= 0 {
				t := time.Now()
				sent++
				if b.post() {
					ok++
					lats = append(lats, time.Since(t))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.sent += sent
			res.ok += ok
			res.errors += sent - ok
			res.latencies = append(res.latencies, lats...)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	stopRSS()
	return res
}

// measured runs a run and adds the server's CPU time and handler latency
// histogram over it.
func (b *bench) measured(run func() result) result {
	cpu0, h0 := proc.CPUTime(b.pid), b.scrape()
	r := run()
	r.serverCPU = proc.CPUTime(b.pid) - cpu0
	r.handler = b.scrape().minus(h0)
	return r
}

// sampleRSS records the server's highest VmRSS until the returned func is
// called.
func (b *bench) sampleRSS(res *result) func() {
	if b.pid == 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			res.rssMax = max(res.rssMax, proc.RSS(b.pid))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func printTable(results []result) {
	fmt.Println()
	fmt.Println("| run | sent | errors | throughput | client p50 | client p99 | client max | handler p50 | handler p99 | server CPU | server VmRSS max |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range results {
		slices.Sort(r.latencies)
		fmt.Printf("| %s | %d | %d | %.0f req/s | %s | %s | %s | %s | %s | %.0f%% | %s |\n",
			r.name, r.sent, r.errors, float64(r.ok)/r.elapsed.Seconds(),
			proc.Ms(proc.Pct(r.latencies, 0.50)), proc.Ms(proc.Pct(r.latencies, 0.99)), proc.Ms(proc.Pct(r.latencies, 1)),
			r.handler.quantile(0.50), r.handler.quantile(0.99),
			100*r.serverCPU.Seconds()/r.elapsed.Seconds(), proc.MiB(r.rssMax))
	}
	fmt.Println("\nclient latencies run from when a request was due (fixed rates) or sent (saturation) to its response;")
	fmt.Println("handler latencies are the server's baseguard_admission_request_duration_seconds histogram (bucket upper bounds);")
	fmt.Println("server CPU is its user+system time over the run's wall time (200% = both cores).")
}
