package admission

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// probeGet gets path from the probe listener over plain HTTP, on a new
// connection each time as the kubelet does.
func probeGet(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s on the probe listener: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitProbeAddr waits until the server listens for probes.
func waitProbeAddr(t *testing.T, srv *Server) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if a := srv.ProbeAddr(); a != "" {
			return a
		}
	}
	t.Fatal("the probe listener did not listen")
	return ""
}

// TestProbeListener: health, readiness and metrics answer over plain HTTP
// on the probe listener; nothing that judges is served there.
func TestProbeListener(t *testing.T) {
	s := serve(t, Options{ProbeAddr: "127.0.0.1:0"})
	addr := waitProbeAddr(t, s.srv)
	if resp, err := s.review(readRequest(t, "pod-create-centos-denied")); err != nil || resp.Allowed {
		t.Fatalf("centos pod over HTTPS: %+v, %v; want denied", resp, err)
	}
	for _, tc := range []struct {
		path, want string
		code       int
	}{
		{PathHealthz, "ok\n", http.StatusOK},
		{PathReadyz, "ok\n", http.StatusOK},
		{PathMetrics, `baseguard_admission_reviews_total{decision="denied",kind="Pod",operation="CREATE"} 1`, http.StatusOK},
		{PathValidate, "404 page not found", http.StatusNotFound},
		{PathMutate, "404 page not found", http.StatusNotFound},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			code, body := probeGet(t, addr, tc.path)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("GET %s: %d %.200q; want %d with %q", tc.path, code, body, tc.code, tc.want)
			}
		})
	}
	resp, err := http.Post("http://"+addr+PathValidate, "application/json", bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s on the probe listener: %d, want 404", PathValidate, resp.StatusCode)
	}
}

// TestProbesAnswerWhileTheWebhookPortIsFull: with every connection of the
// webhook's port busy (a new one is closed at once), the probes still
// answer on their own listener.
func TestProbesAnswerWhileTheWebhookPortIsFull(t *testing.T) {
	hold := &holdingResolver{started: make(chan struct{}), release: make(chan struct{})}
	s := serve(t, Options{MaxConnections: 1, Resolver: hold, ProbeAddr: "127.0.0.1:0"})
	addr := waitProbeAddr(t, s.srv)
	var wg sync.WaitGroup
	wg.Go(func() {
		resp, err := s.client.Post(s.url+PathValidate, "application/json", bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
		if err == nil {
			resp.Body.Close()
		}
	})
	defer wg.Wait()
	defer close(hold.release)
	<-hold.started
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the webhook's port kept a new connection with its only place busy: %v", err)
	}
	for _, path := range []string{PathHealthz, PathReadyz} {
		if code, body := probeGet(t, addr, path); code != http.StatusOK {
			t.Errorf("GET %s on the probe listener with the webhook's port full: %d %s", path, code, body)
		}
	}
}

// TestProbeListenerFollowsServe: the probe listener listens only while
// Serve serves (so not before the certificate is in place), readiness
// fails there once shutdown begins, and an address that cannot be
// listened on fails Serve.
func TestProbeListenerFollowsServe(t *testing.T) {
	t.Run("no certificate, no probes", func(t *testing.T) {
		srv, err := NewServer(Options{ProbeAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(context.Background(), ln); err == nil {
			t.Fatal("Serve without a certificate: want an error")
		}
		if a := srv.ProbeAddr(); a != "" {
			t.Errorf("probes listened on %s without a certificate", a)
		}
	})
	t.Run("address taken", func(t *testing.T) {
		taken, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer taken.Close()
		s := serve(t, Options{ProbeAddr: taken.Addr().String()})
		select {
		case err := <-s.stopped:
			if err == nil || !strings.Contains(err.Error(), "listening for probes") {
				t.Errorf("Serve with the probe address taken: %v; want an error naming the probes", err)
			}
			s.stopped <- nil // for the cleanup
		case <-time.After(10 * time.Second):
			t.Fatal("Serve kept serving with the probe address taken")
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		started := make(chan struct{})
		release := make(chan struct{})
		hold := &holdingResolver{started: started, release: release}
		s := serve(t, Options{ProbeAddr: "127.0.0.1:0", Resolver: hold})
		addr := waitProbeAddr(t, s.srv)
		go func() {
			resp, err := s.client.Post(s.url+PathValidate, "application/json", bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
			if err == nil {
				resp.Body.Close()
			}
		}()
		<-started
		s.stop()
		// While the review in flight finishes, liveness holds and
		// readiness fails.
		deadline := time.Now().Add(5 * time.Second)
		for code, _ := probeGet(t, addr, PathReadyz); code != http.StatusServiceUnavailable; code, _ = probeGet(t, addr, PathReadyz) {
			if time.Now().After(deadline) {
				t.Fatalf("/readyz on the probe listener during shutdown: %d, want 503", code)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if code, _ := probeGet(t, addr, PathHealthz); code != http.StatusOK {
			t.Errorf("/healthz on the probe listener during shutdown: %d, want 200", code)
		}
		close(release)
		if err := <-s.stopped; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.stopped <- nil
		if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + PathHealthz); err == nil {
			t.Error("the probe listener still answers after shutdown")
		}
	})
}
