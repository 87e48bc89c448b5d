package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
)

// maxProbeConnections bounds the probe listener's open connections: the
// kubelet opens one per probe and a scraper one, each closed in
// milliseconds.
const maxProbeConnections = 64

// probeServer serves /healthz, /readyz and /metrics over plain HTTP on a
// listener of their own: a flood of connections or TLS handshakes on the
// webhook's port does not starve the kubelet's probes, and a probe needs
// no certificate. Nothing that judges is served there.
type probeServer struct {
	srv *http.Server
	ln  net.Listener
}

// listenProbes listens on Options.ProbeAddr; nil when it is empty.
func (s *Server) listenProbes(ctx context.Context) (*probeServer, error) {
	if s.opts.ProbeAddr == "" {
		return nil, nil
	}
	ln, err := listen(ctx, s.opts.ProbeAddr)
	if err != nil {
		return nil, fmt.Errorf("listening for probes: %w", err)
	}
	none := func() {}
	limited := &connLimiter{Listener: ln, max: maxProbeConnections, sources: map[netip.Addr]*source{}, closed: none, opened: none, gone: none}
	mux := http.NewServeMux()
	mux.HandleFunc(PathHealthz, healthz)
	mux.HandleFunc(PathReadyz, s.readyz)
	mux.Handle(PathMetrics, s.metricsHandler)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnState:         limited.connState,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	s.probeAddr.Store(ln.Addr().String())
	return &probeServer{srv: srv, ln: limited}, nil
}

// serve serves until shutdown, sending its error (nil once shut down) to
// errc.
func (p *probeServer) serve(errc chan<- error) {
	if p == nil {
		return
	}
	go func() {
		if err := p.srv.Serve(p.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serving probes: %w", err)
		}
	}()
}

// shutdown stops the probe server gracefully within ctx.
func (p *probeServer) shutdown(ctx context.Context) {
	if p != nil {
		p.srv.Shutdown(ctx)
	}
}

// close stops the probe server at once.
func (p *probeServer) close() {
	if p != nil {
		p.srv.Close()
	}
}

// ProbeAddr is the address the probe listener is bound to ("" until
// Serve listens there, or without Options.ProbeAddr).
func (s *Server) ProbeAddr() string {
	if a := s.probeAddr.Load(); a != nil {
		return a.(string)
	}
	return ""
}

func healthz(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }
