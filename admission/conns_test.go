package admission

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
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

// fakeConn is a connection from a given remote address that only records
// its Close, for driving connLimiter without sockets.
type fakeConn struct {
	net.Conn
	remote net.Addr
	closed bool
}

func (c *fakeConn) RemoteAddr() net.Addr       { return c.remote }
func (c *fakeConn) Read(b []byte) (int, error) { return len(b), nil }
func (c *fakeConn) Close() error               { c.closed = true; return nil }

// TestConnectionBoundIsSharedBySource: at the bound, the connection closed
// for a new one is the oldest idle one of the address holding the most, so
// a flood from some addresses closes its own connections and never those
// of an address holding fewer (kube-apiserver's), whether they have
// carried a review or not; within an address, the newest connection wins
// and one that carried a review goes last.
func TestConnectionBoundIsSharedBySource(t *testing.T) {
	// Each step opens a connection named by its address and a number
	// ("A1": the first from address A), or marks one: "A1 used" carried a
	// review and is idle again, "A1 busy" has a request in flight, "A1
	// sends" sent a byte (its handshake, its first request). want:
	// what the last step closed ("" none), "new" when it refused the new
	// connection itself.
	cases := []struct {
		name  string
		max   int
		steps []string
		want  string
	}{
		{"one address: the newest wins", 3, []string{"A1", "A2", "A3", "A4"}, "A1"},
		{"one address: the one silent the longest goes first", 3, []string{"A1", "A2", "A3", "A1 sends", "A4"}, "A2"},
		{"a connection that speaks outlives those opened after it and silent", 3, []string{"A1", "A2", "A3", "A2 sends", "A4", "A5"}, "A3"},
		{"one address: one that carried a review goes last", 3, []string{"A1", "A1 used", "A2", "A3", "A4"}, "A2"},
		{"a flood closes its own, not a new connection of another address", 4, []string{"B1", "B2", "A1", "B3", "B4"}, "B1"},
		{"a flood closes its own, not one that carried a review", 4, []string{"A1", "A1 used", "B1", "B2", "B3", "B4"}, "B1"},
		{"a new address takes the place of the flood's oldest", 4, []string{"B1", "B2", "B3", "B4", "A1"}, "B1"},
		{"a flood from many addresses: one of theirs, not a review's connection", 4, []string{"A1", "A1 used", "B1", "C1", "D1", "E1"}, "B1"},
		{"every connection of the flood busy: refused, not another's idle one", 4, []string{"A1", "A1 used", "B1", "B1 busy", "B2", "B2 busy", "B3", "B3 busy", "B4"}, "new"},
		{"a larger address gives way to a smaller one", 4, []string{"A1", "A2", "A1 busy", "A2 busy", "B1", "B2", "C1"}, "B1"},
		{"nothing idle: refused", 2, []string{"A1", "A1 busy", "B1", "B1 busy", "C1"}, "new"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			none := func() {}
			l := &connLimiter{max: tc.max, sources: map[netip.Addr]*source{}, closed: none, opened: none, gone: none}
			conns := map[string]*limitedConn{}
			raw := map[string]*fakeConn{}
			for i, step := range tc.steps {
				name, mark, _ := strings.Cut(step, " ")
				if mark != "" {
					c := conns[name]
					switch mark {
					case "used":
						l.connState(c, http.StateActive)
						markUsed(context.WithValue(context.Background(), connKey{}, c))
						l.connState(c, http.StateIdle)
					case "busy":
						l.connState(c, http.StateActive)
					case "sends":
						c.Read(make([]byte, 1))
					}
					continue
				}
				before := map[string]bool{}
				for n, fc := range raw {
					before[n] = fc.closed
				}
				ip := netip.AddrFrom4([4]byte{10, 0, 0, name[0]})
				fc := &fakeConn{remote: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(40000+i)))}
				lc := l.admit(fc)
				if lc == nil {
					fc.closed = true
				} else {
					conns[name], raw[name] = lc, fc
				}
				if i < len(tc.steps)-1 {
					continue
				}
				var got []string
				if lc == nil {
					got = append(got, "new")
				}
				for n, fc := range raw {
					if fc.closed && !before[n] {
						got = append(got, n)
					}
				}
				if strings.Join(got, ",") != tc.want {
					t.Errorf("%s closed %v, want %s", step, got, tc.want)
				}
			}
			open := 0
			for _, s := range l.sources {
				open += s.open
			}
			if open != l.open || l.open > tc.max {
				t.Errorf("%d open, sources count %d, bound %d", l.open, open, tc.max)
			}
		})
	}
}

// TestAFloodLeavesAnotherAddressesNewConnection: a client's new connection,
// idle before its first request as an HTTP/2 client's is while its
// handshake is under way, outlives a flood of connections from another
// address that fills the bound many times over, and carries its review.
func TestAFloodLeavesAnotherAddressesNewConnection(t *testing.T) {
	s := serve(t, Options{MaxConnections: 4})
	addr := strings.TrimPrefix(s.url, "https://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	flooder := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	var flood []net.Conn
	for range 20 {
		f, err := flooder.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		flood = append(flood, f)
	}
	// The flood closed its own first connections for its later ones.
	flood[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := flood[0].Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the first connection of the flood was not closed: %v", err)
	}
	config := s.client.Transport.(*http.Transport).TLSClientConfig.Clone()
	config.ServerName = "127.0.0.1"
	tc := tls.Client(c, config)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	req, _ := http.NewRequest(http.MethodPost, s.url+PathValidate, bytes.NewReader(readRequest(t, "pod-create-approved-allowed")))
	req.Header.Set("Content-Type", "application/json")
	if err := req.Write(tc); err != nil {
		t.Fatalf("the new connection was closed for the flood: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(tc), req)
	if err != nil {
		t.Fatalf("the new connection was closed for the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("review on the new connection: %s", resp.Status)
	}
}
