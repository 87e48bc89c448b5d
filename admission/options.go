package admission

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults. Each is what an Options field means when left zero.
const (
	// DefaultAddr listens on loopback only: exposing the webhook is a
	// deliberate choice (the chart passes --listen :8443).
	DefaultAddr = "127.0.0.1:8443"
	// DefaultResolveBudget is how long lineage resolution may take: 3s of
	// the 5s timeoutSeconds the chart registers, leaving time to evaluate,
	// answer and cross the network.
	DefaultResolveBudget = 3 * time.Second
	// DefaultReloadInterval is how often certificate and policy files are
	// checked for changes: small next to kubelet's Secret and ConfigMap
	// propagation delay (about a minute), cheap (a few small reads).
	DefaultReloadInterval = 2 * time.Second
	// DefaultShutdownTimeout bounds graceful shutdown: in-flight reviews
	// finish within the 5s webhook timeout, so 10s is ample.
	DefaultShutdownTimeout = 10 * time.Second
)

// MaxRequestBytes caps an AdmissionReview body: kube-apiserver stores
// objects of at most 1.5 MiB, and a review carries an object and its old
// version, so 3 MiB admits every real request.
const MaxRequestBytes = 3 << 20

// budgetShare is the part of the request's own timeout (the `timeout`
// query parameter kube-apiserver sends) that resolution may use.
const budgetShare = 0.6

// Options configure a Server. The zero value serves the built-in policy
// with offline lineages, without namespace labels, on DefaultAddr.
type Options struct {
	// Addr is the host:port to listen on (DefaultAddr when empty).
	Addr string
	// CertFile and KeyFile are the serving certificate (with its chain)
	// and key, PEM; reloaded when they change. Required by Run and Serve.
	CertFile, KeyFile string
	// PolicyPaths are policy files or directories (their *.yaml, *.yml and
	// *.json files, not recursive, dot-files skipped as ConfigMap volumes
	// need); reloaded when they change. Empty means the built-in policy.
	PolicyPaths []string
	// Resolver resolves lineages (Offline when nil).
	Resolver Resolver
	// Namespaces gives namespaces' labels for namespace selectors; when
	// nil, they are unknown and rules that select by them are skipped.
	Namespaces NamespaceLabeler
	// ResolveBudget bounds lineage resolution per request
	// (DefaultResolveBudget when zero); a request's own timeout lowers it.
	ResolveBudget time.Duration
	// ReloadInterval is how often files are checked for changes
	// (DefaultReloadInterval when zero).
	ReloadInterval time.Duration
	// ShutdownTimeout bounds graceful shutdown (DefaultShutdownTimeout when
	// zero).
	ShutdownTimeout time.Duration
	// Logger receives one line per decision worth logging and reload
	// events (discarded when nil).
	Logger *slog.Logger
	// Registry is where metrics are registered (a new registry with Go
	// and process collectors when nil); /metrics serves it. Resolvers and
	// caches register their own collectors here.
	Registry *prometheus.Registry
	// Now is the clock policies are evaluated at (time.Now when nil).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Resolver == nil {
		o.Resolver = Offline()
	}
	if o.ResolveBudget <= 0 {
		o.ResolveBudget = DefaultResolveBudget
	}
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = newRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
