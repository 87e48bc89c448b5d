// Command soak drives the abusive patterns at a running `baseguard serve`
// over HTTPS on loopback, all at once: reviews of thousands of failing
// containers, reviews of the largest size the server accepts sent
// together, thousands of idle connections (some never handshaking, some
// idle after the handshake), and reviews of forged kinds and operations,
// from their own address (-abuser-addr), as a pod attacking the webhook
// has one.
// Meanwhile it sends ordinary reviews at a fixed rate over one HTTP/2
// connection (as kube-apiserver does, giving up after 5 s) and probes /healthz on a new
// connection each time (as the kubelet does), over HTTPS on the webhook's
// port and, with -probe-addr, over HTTP on the probe listener (where the
// chart's probes go), and samples the server's
// VmRSS. It prints the latencies of both, what the abusers were answered,
// the highest VmRSS, and how many series the reviews metric holds.
//
//	bench/soak/run.sh                       # builds, starts the server as the chart runs it, soaks
//	go run ./bench/soak -addr 127.0.0.1:18443 -ca certs/ca.crt -pid PID
//
// Only loopback addresses are accepted; every loop ends with -duration.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/baseguard/baseguard/bench/internal/proc"
)

// Timeouts as the cluster applies them: kube-apiserver gives up on a
// review after the chart's webhook.timeoutSeconds, the kubelet on a probe
// after the chart's probes' timeoutSeconds.
const (
	reviewTimeout = 5 * time.Second
	probeTimeout  = 3 * time.Second
)

type config struct {
	addr, caFile string
	probeAddr    string
	pid          int
	duration     time.Duration
	baseline     time.Duration
	rate         int
	failing      int
	huge         int
	hugeBytes    int
	idle         int
	forgers      int
	abuserAddr   string
	abuserNice   int
	// abuseOnly runs the abusers alone for duration and prints what they
	// were answered: the process measure starts for them.
	abuseOnly bool
}

func main() {
	c := &config{}
	flag.StringVar(&c.addr, "addr", "127.0.0.1:18443", "host:port of `baseguard serve` (loopback only)")
	flag.StringVar(&c.probeAddr, "probe-addr", "", "host:port of the server's probe listener (--probe-listen; loopback only), probed too")
	flag.StringVar(&c.caFile, "ca", "", "CA certificate of the server's certificate")
	flag.IntVar(&c.pid, "pid", 0, "server process id, for its VmRSS")
	flag.DurationVar(&c.duration, "duration", 30*time.Second, "length of the abusive phase")
	flag.DurationVar(&c.baseline, "baseline", 5*time.Second, "length of the quiet phase before it")
	flag.IntVar(&c.rate, "rate", 200, "ordinary reviews per second")
	flag.IntVar(&c.failing, "failing", 5000, "failing containers in each review of the first abuser")
	flag.IntVar(&c.huge, "huge", 16, "largest reviews sent at once")
	flag.IntVar(&c.hugeBytes, "huge-bytes", 7<<20-64<<10, "size of each largest review (an UPDATE: object and old object)")
	flag.IntVar(&c.idle, "idle", 3000, "idle connections held open")
	flag.IntVar(&c.forgers, "forgers", 2, "clients sending reviews of forged kinds")
	flag.StringVar(&c.abuserAddr, "abuser-addr", "127.0.0.2", "loopback IP address the abusers connect from, as a pod attacking the webhook has its own (ordinary reviews and probes come from the system's choice, 127.0.0.1); the same address as theirs puts the abusers behind kube-apiserver's")
	flag.IntVar(&c.abuserNice, "abuser-nice", 19, "niceness of the abusers' process: in a cluster they run on other machines, and only what they make the server do should take its CPU (0: compete with it)")
	flag.BoolVar(&c.abuseOnly, "abuse-only", false, "run only the abusers, for -duration (what the soak starts its abusers' process with)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(c *config) error {
	host, _, err := net.SplitHostPort(c.addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: only loopback IP addresses are allowed", c.addr)
	}
	if c.probeAddr != "" {
		host, _, err := net.SplitHostPort(c.probeAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("-probe-addr %s: only loopback IP addresses are allowed", c.probeAddr)
		}
	}
	abuser := net.ParseIP(c.abuserAddr)
	if abuser == nil || !abuser.IsLoopback() {
		return fmt.Errorf("-abuser-addr %s: only loopback IP addresses are allowed", c.abuserAddr)
	}
	pem, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no certificate", c.caFile)
	}
	s := &soak{c: c, tlsConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, base: "https://" + c.addr,
		abuserDialer: &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: abuser}}}
	if c.abuseOnly {
		return s.abuseAlone()
	}
	fmt.Printf("abusers connect from %s, in a process of their own at niceness %d\n", abuser, c.abuserNice)
	fmt.Printf("server VmRSS idle: %s\n", proc.MiB(proc.RSS(c.pid)))

	quiet := s.measure(c.baseline, false)
	loud := s.measure(c.duration, true)
	fmt.Println()
	fmt.Println("| phase | ordinary reviews: sent, errors (timed out) | p50 | p99 | max | /healthz, HTTPS, webhook's port: probes, errors (timed out) | p50 | p99 | max | /healthz, HTTP, probe listener: probes, errors (timed out) | p50 | p99 | max | server VmRSS max |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	quiet.row("quiet")
	loud.row("under abuse")
	fmt.Println()
	fmt.Printf("server CPU: %.2f of %d cores quiet, %.2f under abuse\n", quiet.serverCores, runtime.NumCPU(), loud.serverCores)
	fmt.Println()
	for _, l := range []struct {
		name string
		l    *latencies
	}{{"ordinary reviews", &loud.ordinary}, {"/healthz, HTTPS", &loud.healthz}, {"/healthz, probe listener", &loud.probes}} {
		if l.l.firstErr != nil {
			fmt.Printf("first error of %s under abuse: %v\n", l.name, l.l.firstErr)
		}
	}
	fmt.Println()
	fmt.Println("abusers, answers by HTTP status (\"conn\": the connection was closed or refused):")
	fmt.Print(loud.abusers)
	series, err := s.reviewSeries()
	fmt.Printf("\nbaseguard_admission_reviews_total series after the run: %d %v\n", series, errOrNil(err))
	return nil
}

func errOrNil(err error) string {
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return ""
}

type soak struct {
	c         *config
	tlsConfig *tls.Config
	// abuserDialer dials from -abuser-addr.
	abuserDialer *net.Dialer
	base         string
}

// phase is what one phase measured.
type phase struct {
	ordinary, healthz latencies
	probes            latencies // on the probe listener
	rssMax            int64
	// serverCores is the server's CPU time over the phase's length.
	serverCores float64
	// abusers is what the abusers' process printed.
	abusers string
}

type latencies struct {
	mu     sync.Mutex
	ok     []time.Duration
	sent   int
	errors int
	// timeouts are the errors that were the client giving up.
	timeouts int
	// firstErr is the first error, for the report.
	firstErr error
}

func (l *latencies) add(d time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if err != nil {
		l.errors++
		if l.firstErr == nil {
			l.firstErr = err
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			l.timeouts++
		}
		return
	}
	l.ok = append(l.ok, d)
}

func (l *latencies) cells() string {
	slices.Sort(l.ok)
	return fmt.Sprintf("%d, %d (%d timed out) | %s | %s | %s", l.sent, l.errors, l.timeouts, proc.Ms(proc.Pct(l.ok, .5)), proc.Ms(proc.Pct(l.ok, .99)), proc.Ms(proc.Pct(l.ok, 1)))
}

func (p *phase) row(name string) {
	fmt.Printf("| %s | %s | %s | %s | %s |\n", name, p.ordinary.cells(), p.healthz.cells(), p.probes.cells(), proc.MiB(p.rssMax))
}

// measure sends ordinary reviews and /healthz probes for d, with the
// abusers' process running beside them when abuse is set, and samples the
// server's VmRSS and CPU time.
func (s *soak) measure(d time.Duration, abuse bool) *phase {
	p := &phase{}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var stop func() (string, error)
	if abuse {
		var err error
		if stop, err = s.startAbusers(d); err != nil {
			p.abusers = fmt.Sprintf("- the abusers did not start: %v\n", err)
		}
	}
	cpu0, start := proc.CPUTime(s.c.pid), time.Now()
	wg.Go(func() { s.ordinary(ctx, &p.ordinary) })
	wg.Go(func() {
		s.probe(ctx, s.base, &http.Transport{TLSClientConfig: s.tlsConfig.Clone(), DisableKeepAlives: true}, &p.healthz)
	})
	if s.c.probeAddr != "" {
		wg.Go(func() { s.probe(ctx, "http://"+s.c.probeAddr, &http.Transport{DisableKeepAlives: true}, &p.probes) })
	}
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			p.rssMax = max(p.rssMax, proc.RSS(s.c.pid))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
	p.serverCores = (proc.CPUTime(s.c.pid) - cpu0).Seconds() / time.Since(start).Seconds()
	if stop != nil {
		out, err := stop()
		p.abusers = out
		if err != nil {
			p.abusers += fmt.Sprintf("- the abusers' process: %v\n", err)
		}
	}
	return p
}

// startAbusers starts this program again with -abuse-only for d, at
// -abuser-nice; the returned func waits for it and returns what it printed.
func (s *soak) startAbusers(d time.Duration) (func() (string, error), error) {
	args := []string{"-abuse-only", "-duration", d.String()}
	flag.Visit(func(f *flag.Flag) {
		if f.Name != "abuse-only" && f.Name != "duration" {
			args = append(args, "-"+f.Name+"="+f.Value.String())
		}
	})
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, s.c.abuserNice); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("setting its niceness: %w", err)
	}
	return func() (string, error) {
		err := cmd.Wait()
		return out.String(), err
	}, nil
}

// abuseAlone runs every abusive pattern for -duration and prints what each
// was answered.
func (s *soak) abuseAlone() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.c.duration)
	defer cancel()
	abusers, wait := s.abuse(ctx)
	wait()
	for _, a := range abusers {
		fmt.Printf("- %s: %s\n", a.name, a.summary())
	}
	return nil
}

// ordinary posts an ordinary review at the configured rate over one
// HTTP/2 connection, each timed from when it was due.
func (s *soak) ordinary(ctx context.Context, l *latencies) {
	client := &http.Client{Timeout: reviewTimeout, Transport: &http.Transport{TLSClientConfig: s.tlsConfig.Clone(), ForceAttemptHTTP2: true}}
	body := podReview("ordinary", "CREATE", "Pod", []string{"registry.example.com/base/alpine:3.19"}, 0)
	interval := time.Second / time.Duration(s.c.rate)
	var wg sync.WaitGroup
	for due := time.Now(); ctx.Err() == nil; due = due.Add(interval) {
		time.Sleep(time.Until(due))
		wg.Go(func() {
			code, err := post(client, s.base+"/validate?timeout=5s", body)
			if err == nil && code != http.StatusOK {
				err = fmt.Errorf("status %d", code)
			}
			l.add(time.Since(due), err)
		})
	}
	wg.Wait()
}

// probe gets base's /healthz on a new connection every 100ms, as the
// kubelet, within probeTimeout.
func (s *soak) probe(ctx context.Context, base string, tr *http.Transport, l *latencies) {
	client := &http.Client{Timeout: probeTimeout, Transport: tr}
	for ctx.Err() == nil {
		start := time.Now()
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		l.add(time.Since(start), err)
		time.Sleep(100 * time.Millisecond)
	}
}

func post(client *http.Client, url string, body []byte) (int, error) {
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// abuser counts what one abusive pattern was answered.
type abuser struct {
	name  string
	mu    sync.Mutex
	codes map[string]int
	extra string
}

func (a *abuser) count(code int, err error) {
	k := strconv.Itoa(code)
	if err != nil {
		k = "conn"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.codes == nil {
		a.codes = map[string]int{}
	}
	a.codes[k]++
}

func (a *abuser) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(a.codes)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, a.codes[k]))
	}
	return strings.Join(parts, ", ") + a.extra
}

// abuse starts every abusive pattern until ctx ends; the returned func
// waits for them and closes what they hold.
func (s *soak) abuse(ctx context.Context) ([]*abuser, func()) {
	var wg sync.WaitGroup
	var abusers []*abuser
	loop := func(name string, workers int, body func(i int) []byte, client *http.Client) {
		a := &abuser{name: name}
		abusers = append(abusers, a)
		for w := range workers {
			wg.Go(func() {
				for i := w; ctx.Err() == nil; i += workers {
					a.count(post(client, s.base+"/validate?timeout=5s", body(i)))
				}
			})
		}
	}
	h2 := func() *http.Client {
		return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: s.abuserDialer.DialContext, TLSClientConfig: s.tlsConfig.Clone(), ForceAttemptHTTP2: true}}
	}
	var images []string
	for i := range s.c.failing {
		images = append(images, fmt.Sprintf("centos:%d", i))
	}
	failing := podReview("failing", "CREATE", "Pod", images, 0)
	loop(fmt.Sprintf("reviews of %d failing containers, 2 clients", s.c.failing), 2, func(int) []byte { return failing }, h2())
	huge := hugeReview(s.c.hugeBytes)
	loop(fmt.Sprintf("UPDATE reviews of %.1f MiB of tiny values, %d at once (each on its own connection)", float64(len(huge))/(1<<20), s.c.huge), s.c.huge,
		func(int) []byte { return huge }, &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: s.abuserDialer.DialContext, TLSClientConfig: s.tlsConfig.Clone(), DisableKeepAlives: true}})
	loop(fmt.Sprintf("reviews of forged kinds and operations, %d clients", s.c.forgers), s.c.forgers, func(i int) []byte {
		return podReview(fmt.Sprintf("forged-%d", i), fmt.Sprintf("OP%d", i), fmt.Sprintf("Forged%d", i), []string{"centos:7"}, 0)
	}, h2())
	idle := &abuser{name: fmt.Sprintf("%d idle connections held open (half never handshake), reopened when closed", s.c.idle)}
	abusers = append(abusers, idle)
	var reopened atomic.Int64
	for i := range s.c.idle {
		wg.Go(func() { s.holdIdle(ctx, i%2 == 0, &reopened) })
	}
	return abusers, func() {
		wg.Wait()
		idle.extra = fmt.Sprintf("closed by the server and reopened ×%d", reopened.Load())
	}
}

// holdIdle keeps one idle connection open until ctx ends, reopening it
// when the server closes it.
func (s *soak) holdIdle(ctx context.Context, handshake bool, reopened *atomic.Int64) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			reopened.Add(1)
		}
		c, err := s.abuserDialer.DialContext(ctx, "tcp", s.c.addr)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if handshake {
			tc := tls.Client(c, s.tlsConfig.Clone())
			if tc.HandshakeContext(ctx) != nil {
				c.Close()
				time.Sleep(100 * time.Millisecond)
				continue
			}
			c = tc
		}
		go func() { <-ctx.Done(); c.Close() }()
		io.Copy(io.Discard, c) // returns when the server closes it
		c.Close()
	}
}

// podReview is an AdmissionReview of a Pod running images.
func podReview(uid, operation, kind string, images []string, _ int) []byte {
	var containers []map[string]any
	for i, img := range images {
		containers = append(containers, map[string]any{"name": fmt.Sprintf("c%d", i), "image": img, "imagePullPolicy": "IfNotPresent",
			"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "resources": map[string]any{}})
	}
	obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": uid, "namespace": "default"},
		"spec": map[string]any{"containers": containers}}
	return review(uid, operation, kind, obj, nil)
}

// hugeReview is an UPDATE whose object and old object hold as many tiny
// values as fit in size bytes.
func hugeReview(size int) []byte {
	per := size/2 - 4096
	var b strings.Builder
	b.WriteString(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"huge","namespace":"default","annotations":{`)
	for i := 0; b.Len() < per-16; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%x":""`, i)
	}
	b.WriteString(`}},"spec":{"containers":[{"name":"app","image":"registry.example.com/base/alpine:3.19"}]}}`)
	obj := json.RawMessage(b.String())
	return review("huge", "UPDATE", "Pod", obj, obj)
}

func review(uid, operation, kind string, obj, old any) []byte {
	req := map[string]any{
		"uid": uid, "kind": map[string]any{"group": "", "version": "v1", "kind": kind},
		"resource": map[string]any{"group": "", "version": "v1", "resource": "pods"},
		"name":     uid, "namespace": "default", "operation": operation,
		"userInfo": map[string]any{"username": "soak"},
		"object":   obj,
	}
	if old != nil {
		req["oldObject"] = old
	}
	b, _ := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	return b
}

// reviewSeries counts the series of baseguard_admission_reviews_total.
func (s *soak) reviewSeries() (int, error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.tlsConfig.Clone()}}
	resp, err := client.Get(s.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "baseguard_admission_reviews_total{") {
			n++
		}
	}
	if n == 0 {
		return 0, errors.New("no series")
	}
	return n, sc.Err()
}
