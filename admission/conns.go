package admission

import (
	"container/list"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// connLimiter bounds the connections a listener keeps open, and shares the
// bound fairly between the addresses connections come from.
//
// A connection is idle from its accept until its first request, and again
// whenever it has no request in flight (http.Server's ConnState says when);
// one with a request in flight is never closed to keep the bound. Idle
// connections are ordered by how long they have been silent: one that sends
// a byte (a TLS handshake under way, its first request arriving) goes
// behind those that sent nothing since. At the bound, an idle connection is
// closed to make room for the new one, taken from the source (remote IP
// address) that holds the most open connections, the new one counted with
// its own. Within that source, the connection silent the longest among
// those that never carried a review goes first (a handshake flood,
// scanners, connections opened and left), and only when there is none, the
// one silent the longest among those that did (HTTP/2 says nothing of
// requests to ConnState before it goes idle, so a review's handler marks
// its connection, found in the request's context by withConn). When no
// connection is idle, the new one is closed at once.
//
// So idle connections, however many are opened, cost the server at most the
// bound; a new connection is never kept waiting for an old idle one; and a
// flood from one address, or from several, closes its own connections, not
// those of a client holding fewer (kube-apiserver's, which opens one or a
// few and may leave a new one idle for a moment before its first review).
// Only a flood that shares its address with kube-apiserver (a proxy in
// front of both) competes with it connection for connection, newest first.
type connLimiter struct {
	net.Listener
	max int
	// closed counts connections closed to keep the bound (refused new
	// ones and evicted idle ones); opened and gone follow the open ones.
	closed       func()
	opened, gone func()

	mu      sync.Mutex
	open    int
	sources map[netip.Addr]*source // those with an open connection
	idleSeq uint64                 // counts connections gone idle, for limitedConn.since
}

// source is the connections open from one remote address, with its idle
// ones, idle the longest first: fresh ones never carried a review, used
// ones did.
type source struct {
	addr        netip.Addr
	open        int
	fresh, used list.List
}

// push adds c at the end of its idle list.
func (s *source) push(c *limitedConn) {
	c.l.idleSeq++
	c.since = c.l.idleSeq
	c.listed.Store(true)
	if c.used {
		c.idle = s.used.PushBack(c)
	} else {
		c.idle = s.fresh.PushBack(c)
	}
}

// remove takes c out of its idle list, if it is in one.
func (s *source) remove(c *limitedConn) {
	if c.idle == nil {
		return
	}
	if c.used {
		s.used.Remove(c.idle)
	} else {
		s.fresh.Remove(c.idle)
	}
	c.idle = nil
	c.listed.Store(false)
}

// idle reports whether any of the source's connections is idle.
func (s *source) idle() bool { return s.fresh.Len()+s.used.Len() > 0 }

// front is the source's idle connection to close first: the one idle the
// longest among those that never carried a review, else among those that
// did. The source has one.
func (s *source) front() *limitedConn {
	e := s.fresh.Front()
	if e == nil {
		e = s.used.Front()
	}
	return e.Value.(*limitedConn)
}

func newConnLimiter(ln net.Listener, max int, m *metrics) *connLimiter {
	return &connLimiter{Listener: ln, max: max, sources: map[netip.Addr]*source{},
		closed: m.connectionsClosed.Inc, opened: m.connectionsOpen.Inc, gone: m.connectionsOpen.Dec}
}

// limitedConn is a connection the limiter counts.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	src  *source
	once sync.Once
	// Guarded by l.mu.
	idle  *list.Element // nil while a request is in flight
	since uint64        // when it went idle or last sent a byte, in l.idleSeq
	// listed says idle != nil, read without the lock.
	listed atomic.Bool
	used   bool // carried a review
	gone   bool // closed
}

// Accept accepts the next connection, making room for it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
		l.closed()
		c.Close()
	}
}

// sourceAddr is the address a connection's source is counted by: its
// remote IP address (IPv4 however written); the zero Addr for listeners
// without one, all counted as one source.
func sourceAddr(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admit counts c in, closing an idle connection when at the bound; nil
// when no connection is idle.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	addr := sourceAddr(c)
	l.mu.Lock()
	src := l.sources[addr]
	if src == nil {
		src = &source{addr: addr}
		l.sources[addr] = src
	}
	var victim *limitedConn
	if l.open >= l.max {
		if victim = l.victim(src); victim == nil {
			if src.open == 0 {
				delete(l.sources, addr)
			}
			l.mu.Unlock()
			return nil
		}
	}
	lc := &limitedConn{Conn: c, l: l, src: src}
	src.push(lc)
	src.open++
	l.open++
	l.mu.Unlock()
	l.opened()
	if victim != nil {
		l.closed()
		victim.Close()
	}
	return lc
}

// victim is the connection to close for a new one from src, taken out of
// its list: the idle one silent the longest (one that never carried a
// review first) of the source holding the most open connections, src's new
// one counted (at a tie, src's own, then one of a source with one that
// never carried a review, then the one silent the longest); nil when none
// is idle, or when only sources holding fewer than src would have one. It
// looks at every source, at most the bound of them.
func (l *connLimiter) victim(src *source) *limitedConn {
	need := src.open + 1
	held := func(s *source) int {
		if s == src {
			return need
		}
		return s.open
	}
	// first: s goes before top.
	first := func(s, top *source) bool {
		if top == nil {
			return true
		}
		if s.open != held(top) {
			return s.open > held(top)
		}
		if top == src {
			return false
		}
		if (s.fresh.Len() > 0) != (top.fresh.Len() > 0) {
			return s.fresh.Len() > 0
		}
		return s.front().since < top.front().since
	}
	var top *source
	if src.idle() {
		top = src
	}
	for _, s := range l.sources {
		if s != src && s.idle() && s.open >= need && first(s, top) {
			top = s
		}
	}
	if top == nil {
		return nil
	}
	c := top.front()
	top.remove(c)
	return c
}

// Read reads from the connection; an idle connection that sent something
// goes to the end of its idle list. Idle the longest is silent the longest:
// a client's new connection, handshaking and then sending its first
// request, stays behind connections opened before it and left silent.
func (c *limitedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.listed.Load() {
		l := c.l
		l.mu.Lock()
		if c.idle != nil {
			c.src.remove(c)
			c.src.push(c)
		}
		l.mu.Unlock()
	}
	return n, err
}

// Close counts the connection out, once.
func (c *limitedConn) Close() error {
	c.once.Do(func() {
		l, src := c.l, c.src
		l.mu.Lock()
		src.remove(c)
		c.gone = true
		l.open--
		if src.open--; src.open == 0 {
			delete(l.sources, src.addr)
		}
		l.mu.Unlock()
		l.gone()
	})
	return c.Conn.Close()
}

// connState is the http.Server's ConnState hook: it moves connections in
// and out of the idle lists.
func (l *connLimiter) connState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.gone {
		return
	}
	switch state {
	case http.StateActive:
		lc.src.remove(lc)
	case http.StateIdle:
		if lc.idle == nil {
			lc.src.push(lc)
		}
	}
}

// connKey is the request context's key of the limitedConn it came on.
type connKey struct{}

// withConn is the http.Server's ConnContext hook: it keeps the connection
// in its context, for markUsed.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

// markUsed marks the connection of a request's context as one that carried
// a review: within its source, it is closed for a new connection only when
// none that never carried one is idle.
func markUsed(ctx context.Context) {
	lc, ok := ctx.Value(connKey{}).(*limitedConn)
	if !ok {
		return
	}
	l := lc.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.used || lc.gone {
		return
	}
	idle := lc.idle != nil
	lc.src.remove(lc)
	lc.used = true
	if idle {
		lc.src.push(lc)
	}
}
