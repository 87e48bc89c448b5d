package admission

import (
	"container/list"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// connLimiter bounds the connections a listener keeps open. A connection
// is idle from its accept until its first request, and again whenever it
// has no request in flight (http.Server's ConnState says when); one with a
// request in flight is never closed to keep the bound. At the bound, an
// idle connection is closed to make room for the new one: first the one
// idle the longest among those that never carried a review (a handshake
// flood, scanners, probes, connections opened and left), and only when
// there is none, the one idle the longest among those that did
// (kube-apiserver's long-lived HTTP/2 connection between reviews; HTTP/2
// says nothing of requests to ConnState before it goes idle, so a review's
// handler marks its connection, found in the request's context by
// withConn); when none is idle, the
// new one is closed at once. Idle connections, however many are opened,
// cost the server at most the bound, a new connection (kube-apiserver's, a
// probe's) is never kept waiting for an old idle one, and a flood of
// connections that send nothing cannot push out a connection that serves.
type connLimiter struct {
	net.Listener
	max int
	// closed counts connections closed to keep the bound (refused new
	// ones and evicted idle ones); opened and gone follow the open ones.
	closed       func()
	opened, gone func()

	mu   sync.Mutex
	open int
	idle *idleLists
}

// idleLists hold the idle connections, idle the longest first: fresh ones
// never carried a request, used ones did.
type idleLists struct{ fresh, used *list.List }

func newIdleLists() *idleLists { return &idleLists{fresh: list.New(), used: list.New()} }

// push adds c at the end of its list.
func (il *idleLists) push(c *limitedConn) {
	if c.used {
		c.idle = il.used.PushBack(c)
	} else {
		c.idle = il.fresh.PushBack(c)
	}
}

// remove takes c out of its list, if it is in one.
func (il *idleLists) remove(c *limitedConn) {
	if c.idle == nil {
		return
	}
	if c.used {
		il.used.Remove(c.idle)
	} else {
		il.fresh.Remove(c.idle)
	}
	c.idle = nil
}

// victim is the connection to close for a new one, taken out of its list;
// nil when none is idle.
func (il *idleLists) victim() *limitedConn {
	e := il.fresh.Front()
	if e == nil {
		e = il.used.Front()
	}
	if e == nil {
		return nil
	}
	c := e.Value.(*limitedConn)
	il.remove(c)
	return c
}

func newConnLimiter(ln net.Listener, max int, m *metrics) *connLimiter {
	return &connLimiter{Listener: ln, max: max, idle: newIdleLists(),
		closed: m.connectionsClosed.Inc, opened: m.connectionsOpen.Inc, gone: m.connectionsOpen.Dec}
}

// limitedConn is a connection the limiter counts.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
	// Guarded by l.mu.
	idle *list.Element // nil while a request is in flight
	used bool          // carried a review
	gone bool          // closed
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

// admit counts c in, closing an idle connection when at the bound; nil
// when no connection is idle.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	l.mu.Lock()
	var victim *limitedConn
	if l.open >= l.max {
		if victim = l.idle.victim(); victim == nil {
			l.mu.Unlock()
			return nil
		}
	}
	lc := &limitedConn{Conn: c, l: l}
	l.idle.push(lc)
	l.open++
	l.mu.Unlock()
	l.opened()
	if victim != nil {
		l.closed()
		victim.Close()
	}
	return lc
}

// Close counts the connection out, once.
func (c *limitedConn) Close() error {
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		l.idle.remove(c)
		c.gone = true
		l.open--
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
		l.idle.remove(lc)
	case http.StateIdle:
		if lc.idle == nil {
			l.idle.push(lc)
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
// a review: it is closed for a new connection only when no connection that
// never carried one is idle.
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
	l.idle.remove(lc)
	lc.used = true
	if idle {
		l.idle.push(lc)
	}
}
