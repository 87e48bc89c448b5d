package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReviewConnectionsOutliveAFlood: at the bound, connections that never
// carried a review are closed first, so a flood of connections that send
// nothing never pushes out the one a client sends reviews on (as
// kube-apiserver's HTTP/2 connection), over HTTP/1.1 or HTTP/2.
func TestReviewConnectionsOutliveAFlood(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := "HTTP/1.1"
		if h2 {
			name = "HTTP/2"
		}
		t.Run(name, func(t *testing.T) {
			s := serve(t, Options{MaxConnections: 4})
			tr := s.client.Transport.(*http.Transport).Clone()
			tr.ForceAttemptHTTP2 = h2
			if !h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
			var local []string
			review := func() {
				t.Helper()
				trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { local = append(local, i.Conn.LocalAddr().String()) }}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodPost, s.url+PathValidate, bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("review: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if (resp.ProtoMajor == 2) != h2 {
					t.Fatalf("review over %s, want %s", resp.Proto, name)
				}
			}
			review()
			time.Sleep(20 * time.Millisecond) // idle the longest from here on
			var flood []net.Conn
			for range 20 {
				c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "https://"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				flood = append(flood, c)
			}
			// The first of the flood were closed for the later ones.
			flood[0].SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := flood[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the first connection of the flood was not closed: %v", err)
			}
			review()
			if local[0] != local[1] {
				t.Errorf("the connection that carried a review was closed for the flood: reviews came on %v", local)
			}
		})
	}
}
