package admission

import (
	"container/list"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// connLimiter bounds the connections a listener keeps open. A connection
// is idle from its accept until its first request, and again whenever it
// has no request in flight (http.Server's ConnState says when). At the
// bound, the connection idle the longest is closed to make room for the
// new one; when none is idle, the new one is closed at once. Idle
// connections, however many are opened, cost the server at most the
// bound, and a new connection (kube-apiserver's, a probe's) is never kept
// waiting for an old idle one.
type connLimiter struct {
	net.Listener
	max int
	// closed counts connections closed to keep the bound (refused new
	// ones and evicted idle ones); opened and gone follow the open ones.
	closed       func()
	opened, gone func()

	mu   sync.Mutex
	open int
	idle *list.List // of *limitedConn, idle the longest first
}

func newConnLimiter(ln net.Listener, max int, m *metrics) *connLimiter {
	return &connLimiter{Listener: ln, max: max, idle: list.New(),
		closed: m.connectionsClosed.Inc, opened: m.connectionsOpen.Inc, gone: m.connectionsOpen.Dec}
}

// limitedConn is a connection the limiter counts.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
	// Guarded by l.mu.
	idle *list.Element // nil while a request is in flight
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

// admit counts c in, closing the longest idle connection when at the
// bound; nil when no connection is idle.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	l.mu.Lock()
	var victim *limitedConn
	if l.open >= l.max {
		e := l.idle.Front()
		if e == nil {
			l.mu.Unlock()
			return nil
		}
		victim = e.Value.(*limitedConn)
		l.idle.Remove(e)
		victim.idle = nil
	}
	lc := &limitedConn{Conn: c, l: l}
	lc.idle = l.idle.PushBack(lc)
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
		if c.idle != nil {
			l.idle.Remove(c.idle)
			c.idle = nil
		}
		c.gone = true
		l.open--
		l.mu.Unlock()
		l.gone()
	})
	return c.Conn.Close()
}

// connState is the http.Server's ConnState hook: it moves connections in
// and out of the idle list.
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
		if lc.idle != nil {
			l.idle.Remove(lc.idle)
			lc.idle = nil
		}
	case http.StateIdle:
		if lc.idle == nil {
			lc.idle = l.idle.PushBack(lc)
		}
	}
}
