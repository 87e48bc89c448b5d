package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	admissionv1 "k8s.io/api/admission/v1"
)

// serving is a Server running Serve on loopback with certificate files.
type serving struct {
	srv     *Server
	url     string
	dir     string
	ca      *pki.CA
	client  *http.Client
	stop    context.CancelFunc
	stopped chan error
}

func serve(t *testing.T, opts Options) *serving {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA("test-ca", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteServing(dir, []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	opts.CertFile, opts.KeyFile = filepath.Join(dir, pki.CertFile), filepath.Join(dir, pki.KeyFile)
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = 20 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := pki.CertPool(ca.CertPEM)
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{
		srv: srv, url: "https://" + ln.Addr().String(), dir: dir, ca: ca, stop: cancel, stopped: make(chan error, 1),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	go func() { s.stopped <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-s.stopped
	})
	return s
}

func (s *serving) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := s.client.Get(s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *serving) review(body []byte) (*admissionv1.AdmissionResponse, error) {
	resp, err := s.client.Post(s.url+PathValidate, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var rv admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&rv); err != nil {
		return nil, err
	}
	if rv.Response == nil {
		return nil, errors.New("no response")
	}
	return rv.Response, nil
}

func (s *serving) servedSerial(t *testing.T) string {
	t.Helper()
	pool, _ := pki.CertPool(s.ca.CertPEM)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestServeHealthReadyMetrics(t *testing.T) {
	s := serve(t, Options{})
	for _, path := range []string{PathHealthz, PathReadyz} {
		if code, body := s.get(t, path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	if resp, err := s.review(readRequest(t, "pod-create-centos-denied")); err != nil || resp.Allowed {
		t.Fatalf("centos pod: %+v, %v; want denied", resp, err)
	}
	_, metrics := s.get(t, PathMetrics)
	for _, want := range []string{
		`baseguard_admission_decisions_total{policy="enforce-base-images",result="fail",rule="block-deprecated-base-images"} 1`,
		`baseguard_admission_reviews_total{decision="denied",kind="Pod",operation="CREATE"} 1`,
		`baseguard_admission_request_duration_seconds_count{code="200"} 1`,
		"baseguard_admission_requests_in_flight 0",
		"baseguard_admission_panics_total 0",
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestServeRefusesOldTLS(t *testing.T) {
	s := serve(t, Options{})
	pool, _ := pki.CertPool(s.ca.CertPEM)
	_, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11})
	if err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded; want TLS 1.2 at least")
	}
}

func TestCertificateRotationWhileServing(t *testing.T) {
	s := serve(t, Options{})
	before := s.servedSerial(t)
	body := readRequest(t, "pod-create-approved-allowed")

	// Requests run throughout the rotation; none may fail.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failures []error
	var mu sync.Mutex
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if resp, err := s.review(body); err != nil || !resp.Allowed {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		})
	}
	leaf, err := s.ca.Issue([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.WriteFiles(s.dir, s.ca.CertPEM, leaf); err != nil {
		t.Fatal(err)
	}
	want := serialOf(t, leaf.CertPEM)
	deadline := time.Now().Add(5 * time.Second)
	for s.servedSerial(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("still serving certificate %s (was %s), want the rotated %s", s.servedSerial(t), before, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	if len(failures) > 0 {
		t.Errorf("%d requests failed during rotation, first: %v", len(failures), failures[0])
	}
}

func TestBadCertificateKeepsServing(t *testing.T) {
	s := serve(t, Options{})
	before := s.servedSerial(t)
	if err := os.WriteFile(filepath.Join(s.dir, pki.CertFile), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several reload intervals
	if got := s.servedSerial(t); got != before {
		t.Errorf("serving %s after a broken certificate file, want the previous %s", got, before)
	}
}

func TestPolicyReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, policy.BuiltinYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := serve(t, Options{PolicyPaths: []string{dir}})
	debian := readRequest(t, "pod-create-debian-denied")
	if resp, err := s.review(debian); err != nil || resp.Allowed {
		t.Fatalf("debian under the built-in policy: %+v, %v; want denied", resp, err)
	}
	allowDebian := strings.Replace(string(policy.BuiltinYAML()), "- registry.example.com/base/wolfi*\n    - name: block", "- registry.example.com/base/wolfi*\n        - docker.io/library/debian:12\n    - name: block", 1)
	if allowDebian == string(policy.BuiltinYAML()) {
		t.Fatal("test policy edit did not apply")
	}
	waitFor := func(allowed bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			resp, err := s.review(debian)
			if err != nil {
				t.Fatalf("request failed during reload: %v", err)
			}
			if resp.Allowed == allowed {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("debian allowed = %v after 5s, want %v", resp.Allowed, allowed)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := os.WriteFile(path, []byte(allowDebian), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(true)

	// A policy that does not load leaves the last good one in force.
	if err := os.WriteFile(path, []byte("apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nspec: {rules: [{name: x}]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	waitFor(true)
	_, metrics := s.get(t, PathMetrics)
	if !strings.Contains(metrics, `baseguard_reloads_total{outcome="error",what="policy"} 1`) {
		t.Errorf("a failed reload is not counted once:\n%s", grep(metrics, "reloads"))
	}
	if err := os.WriteFile(path, policy.BuiltinYAML(), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(false)
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	started := make(chan struct{})
	slow := ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		close(started)
		time.Sleep(200 * time.Millisecond)
		return lineage.Of(ref, lineage.SourceReference)
	})
	s := serve(t, Options{Resolver: slow})
	done := make(chan error, 1)
	go func() {
		resp, err := s.review(readRequest(t, "pod-create-approved-allowed"))
		if err == nil && !resp.Allowed {
			err = errors.New("denied")
		}
		done <- err
	}()
	<-started
	s.stop()
	if err := <-done; err != nil {
		t.Errorf("in-flight request during shutdown: %v", err)
	}
	if err := <-s.stopped; err != nil {
		t.Errorf("Serve returned %v after a clean shutdown", err)
	}
	s.stopped <- nil // for the cleanup
	if _, err := s.client.Get(s.url + PathHealthz); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestServeWithoutCertificate(t *testing.T) {
	srv, err := NewServer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(context.Background(), ln); err == nil {
		t.Error("Serve without a certificate: want an error")
	}
}

func TestNewServerRejectsBadPolicy(t *testing.T) {
	p := writePolicy(t, "apiVersion: v1\nkind: ConfigMap\n---\nkind: Something\n")
	if _, err := NewServer(Options{PolicyPaths: []string{p}}); err == nil {
		t.Error("NewServer with a file that is no policy: want an error")
	}
}

func serialOf(t *testing.T, certPEM []byte) string {
	t.Helper()
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c.SerialNumber.String()
}

func grep(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestConnectionLimit: at the bound, the connection idle the longest is
// closed for a new one, so idle connections never keep a client out; when
// every connection has a request in flight, a new one is closed at once.
func TestConnectionLimit(t *testing.T) {
	hold := &holdingResolver{started: make(chan struct{}), release: make(chan struct{})}
	reg := newRegistry()
	s := serve(t, Options{MaxConnections: 2, Resolver: hold, Registry: reg})
	addr := strings.TrimPrefix(s.url, "https://")
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	waitOpen := func(n float64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for counterValue(t, reg, "baseguard_admission_connections_open", nil) != n {
			if time.Now().After(deadline) {
				t.Fatalf("connections_open did not reach %v", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitOpen(2) // the server accepted both
	if code, body := s.get(t, PathHealthz); code != http.StatusOK {
		t.Fatalf("/healthz with the bound full of idle connections: %d %s", code, body)
	}
	idle[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the longest idle connection was not closed: %v", err)
	}

	// Two requests in flight hold both places.
	busy := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: s.client.Transport.(*http.Transport).TLSClientConfig, MaxConnsPerHost: 2}}
	// A review's new connection is idle until its request starts: one
	// accepted while the other is still handshaking may close it for
	// itself, so a review whose connection was closed is sent again.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				resp, err := busy.Post(s.url+PathValidate, "application/json", bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
				if err == nil {
					resp.Body.Close()
					return
				}
			}
		})
	}
	for deadline := time.Now().Add(20 * time.Second); hold.inFlight() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			close(hold.release)
			t.Fatalf("%d reviews in flight after 20s, want 2", hold.inFlight())
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a new connection with every place busy was kept: %v", err)
	}
	close(hold.release)
	wg.Wait()
	if n := counterValue(t, reg, "baseguard_admission_connections_closed_total", nil); n < 2 {
		t.Errorf("connections_closed_total = %v, want at least 2", n)
	}
}
