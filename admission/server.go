package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/policy"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Paths served.
const (
	PathValidate = "/validate"
	PathHealthz  = "/healthz"
	PathReadyz   = "/readyz"
	PathMetrics  = "/metrics"
)

// HTTP server limits: a review arrives in one request well within the
// webhook timeout, so slow or idle clients are cut off early, and what a
// connection may make the server hold is bounded.
const (
	// readHeaderTimeout also bounds the TLS handshake.
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	// idleTimeout closes a connection with no request in flight: kube-
	// apiserver reconnects in a millisecond when it has a review to send.
	idleTimeout = 30 * time.Second
	// maxHeaderBytes: a review's headers are a few hundred bytes (a bearer
	// token, when kube-apiserver authenticates, a few kilobytes).
	maxHeaderBytes = 16 << 10
	// maxStreams bounds a connection's concurrent HTTP/2 requests, and
	// with them the handlers a connection can start: kube-apiserver opens
	// another connection when it needs more.
	maxStreams = 32
	// h2Window is the HTTP/2 receive window of a connection (and of a
	// stream): what a connection's unread request bodies may hold, the
	// least HTTP/2 allows. Bodies are read as fast as the window refills.
	h2Window = 64 << 10
	// h2FrameSize is the largest HTTP/2 frame read: a connection keeps a
	// buffer of the largest it read.
	h2FrameSize = 16 << 10
	// maxInFlight bounds the requests being answered at once; beyond it a
	// request is answered 429 with Retry-After at once.
	maxInFlight = 1024
)

// Server is the admission webhook: /validate, health, readiness and
// metrics over HTTPS.
type Server struct {
	opts    Options
	handler *Handler
	metrics *metrics
	mux     *http.ServeMux
	cert    *certificate // nil until a certificate is configured
	ready   atomic.Bool
	// metricsHandler serves /metrics, on both listeners.
	metricsHandler http.Handler
	// probeAddr is the probe listener's address once it listens.
	probeAddr atomic.Value
	// inFlight counts the requests being answered, for maxInFlight.
	inFlight atomic.Int64
}

// NewServer loads the policies (and the certificate, when configured) and
// returns a server ready to Run. It fails when either does not load.
func NewServer(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	var accept func(*policy.Set) error
	if opts.Namespaces == nil && !opts.SkipNamespaceSelectors {
		accept = needNamespaceLabels
	}
	if opts.ClusterPolicies != nil {
		// Objects this server cannot apply as written are refused one by
		// one, in their status, before the set in force is composed.
		opts.ClusterPolicies.setAccept(accept)
	}
	policies, err := newPolicyStore(opts.PolicyPaths, accept, opts.ClusterPolicies)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, metrics: newMetrics(opts.Registry)}
	if opts.ClusterPolicies != nil {
		opts.ClusterPolicies.attach(policies, s.metrics)
	}
	if opts.CertFile != "" || opts.KeyFile != "" {
		if s.cert, err = loadCertificate(opts.CertFile, opts.KeyFile); err != nil {
			return nil, err
		}
	}
	s.handler = &Handler{
		policies:   policies,
		resolver:   opts.Resolver,
		namespaces: opts.Namespaces,
		roles:      opts.Roles,
		memory:     newMemoryBudget(opts.MemoryBudget),
		budget:     opts.ResolveBudget,
		now:        opts.Now,
		metrics:    s.metrics,
		log:        opts.Logger,
	}
	s.mux = http.NewServeMux()
	s.mux.Handle(PathValidate, s.instrument(s.handler))
	s.mux.Handle(PathMutate, s.instrument(&mutator{h: s.handler}))
	policies.onLoad = opts.OnPolicies
	if opts.OnPolicies != nil {
		opts.OnPolicies(policies.Set())
	}
	s.metricsHandler = promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{Registry: opts.Registry})
	s.mux.HandleFunc(PathHealthz, healthz)
	s.mux.HandleFunc(PathReadyz, s.readyz)
	s.mux.Handle(PathMetrics, s.metricsHandler)
	return s, nil
}

// Policies returns the policy set in force: the files' and the policy
// objects' (or the built-in policy), as the next review sees it.
func (s *Server) Policies() *policy.Set { return s.handler.policies.Set() }

// Handler returns the server's routes, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// Run listens on Options.Addr and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	ln, err := listen(ctx, s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	return s.Serve(ctx, ln)
}

// listen listens on addr for connections without TCP keep-alives: the
// server's timeouts close a connection whose peer has gone, and each
// accepted connection is spared the four setsockopt calls that turn them
// on (an eighth of the server's CPU under a flood of connections).
func listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(ctx, "tcp", addr)
}

// Serve serves HTTPS on ln (and, with Options.ProbeAddr, the probes over
// HTTP there) until ctx ends, then shuts down gracefully: readiness fails
// at once, in-flight requests finish (within Options.ShutdownTimeout). It
// reloads changed certificate and policy files while it serves. It returns
// nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cert == nil {
		ln.Close()
		return errors.New("serving: no certificate: set CertFile and KeyFile")
	}
	probes, err := s.listenProbes(ctx)
	if err != nil {
		ln.Close()
		return err
	}
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go s.cert.watch(watchCtx, s.opts.ReloadInterval, s.opts.Logger, s.metrics)
	go s.handler.policies.watch(watchCtx, s.opts.ReloadInterval, s.opts.Logger, s.metrics)

	limited := newConnLimiter(ln, s.opts.MaxConnections, s.metrics)
	srv := &http.Server{
		Handler:           s.mux,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.cert.GetCertificate},
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:          maxStreams,
			MaxReadFrameSize:              h2FrameSize,
			MaxReceiveBufferPerConnection: h2Window,
			MaxReceiveBufferPerStream:     h2Window,
		},
		ConnState:   limited.connState,
		ConnContext: withConn,
		// TLS handshake failures (probes, scanners) are noise at info level.
		ErrorLog: slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
	}
	ln = limited
	errc := make(chan error, 2)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	probes.serve(errc)
	s.ready.Store(true)
	s.opts.Logger.Info("serving admission reviews", "addr", ln.Addr().String(), "policies", policyNames(s.handler.policies.Set()))

	select {
	case err := <-errc:
		s.ready.Store(false)
		srv.Close()
		probes.close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.opts.Logger.Info("shutting down", "timeout", s.opts.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	// The probes answer until the webhook's requests are finished.
	defer probes.shutdown(shutdownCtx)
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not serving", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// instrument counts and times requests, refuses those beyond maxInFlight,
// and turns a panic into a 500 that is counted and logged: one request
// never takes the server down.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		markUsed(r.Context())
		if s.inFlight.Add(1) > maxInFlight {
			s.inFlight.Add(-1)
			s.handler.refuse(w, r, fmt.Errorf("%w: %d requests in flight", errBusy, maxInFlight))
			s.metrics.latency.WithLabelValues(strconv.Itoa(http.StatusTooManyRequests)).Observe(time.Since(start).Seconds())
			return
		}
		defer s.inFlight.Add(-1)
		s.metrics.inFlight.Inc()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			s.metrics.inFlight.Dec()
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.metrics.panics.Inc()
				s.opts.Logger.Error("panic answering an admission request", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if !rec.wrote {
					http.Error(rec, "internal error: the request could not be judged", http.StatusInternalServerError)
				}
			}
			s.metrics.latency.WithLabelValues(strconv.Itoa(rec.code)).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}
