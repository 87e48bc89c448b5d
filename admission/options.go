package admission

import (
	"log/slog"
	"time"

	"github.com/baseguard/baseguard/policy"

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
	// DefaultMaxConnections bounds open connections: kube-apiserver uses a
	// few (HTTP/2, one per API server), probes and scrapes one each; at the
	// bound an idle connection of the address holding the most makes room
	// for a new one.
	DefaultMaxConnections = 512
)

// MaxRequestBytes caps an AdmissionReview body. etcd stores values of at
// most 1.5 MiB (its default --max-request-bytes); kube-apiserver stores
// built-in kinds as protobuf, and their JSON in a review is up to 2.1 times
// larger (a pod of thousands of containers with the fields kube-apiserver
// fills in: 0.8 MB protobuf, 1.7 MB JSON); an UPDATE carries the object and
// its old version, and the envelope (user, groups, options) adds a few
// kilobytes: 2 × 1.5 MiB × 2.1 + 0.7 MiB = 7 MiB. An object that could
// never be stored may be larger; it is refused with 413, which
// failurePolicy: Fail turns into a refusal.
const MaxRequestBytes = 7 << 20

// budgetShare is the part of the request's own timeout (the `timeout`
// query parameter kube-apiserver sends) that resolution may use.
const budgetShare = 0.6

// Options configure a Server. The zero value serves the built-in policy
// with offline lineages, without namespace labels, on DefaultAddr.
type Options struct {
	// Addr is the host:port to listen on (DefaultAddr when empty).
	Addr string
	// ProbeAddr, when set, is a host:port where /healthz, /readyz and
	// /metrics are served over plain HTTP too, on a listener of their own:
	// probes answer whatever load the webhook's port is under. Nothing that
	// judges is served there. It listens when Serve does (after the
	// certificate is in place), and /readyz answers as on Addr.
	ProbeAddr string
	// CertFile and KeyFile are the serving certificate (with its chain)
	// and key, PEM; reloaded when they change. Required by Run and Serve.
	CertFile, KeyFile string
	// PolicyPaths are policy files or directories (their *.yaml, *.yml and
	// *.json files, not recursive, dot-files skipped as ConfigMap volumes
	// need); reloaded when they change. Empty means the built-in policy.
	PolicyPaths []string
	// ClusterPolicies, when given, are policy objects of a cluster
	// (WatchClusterPolicies) in force beside the files' policies; the
	// server keeps their status. The built-in policy is in force only
	// while neither gives a policy.
	ClusterPolicies *ClusterPolicies
	// Resolver resolves lineages (Offline when nil).
	Resolver Resolver
	// Namespaces gives namespaces' labels for namespace selectors. When
	// nil, policies that select namespaces by label do not load (NewServer
	// fails with ErrNoNamespaceLabels, a reload is refused), unless
	// SkipNamespaceSelectors is set.
	Namespaces NamespaceLabeler
	// Roles gives the roles bound to a requester, for rules that select
	// requesters by role (Kyverno's roles and clusterRoles); it is asked
	// only while such a rule is loaded. When nil, or when it fails, roles
	// are unknown and those rules apply.
	Roles RoleLookup
	// SkipNamespaceSelectors, without Namespaces, loads policies that
	// select namespaces by label anyway: the rules they select are skipped,
	// each with a warning in the response.
	SkipNamespaceSelectors bool
	// ResolveBudget bounds lineage resolution per request
	// (DefaultResolveBudget when zero); a request's own timeout lowers it.
	ResolveBudget time.Duration
	// ReloadInterval is how often files are checked for changes
	// (DefaultReloadInterval when zero).
	ReloadInterval time.Duration
	// ShutdownTimeout bounds graceful shutdown (DefaultShutdownTimeout when
	// zero).
	ShutdownTimeout time.Duration
	// MemoryBudget bounds the memory reviews in flight hold, in bytes
	// (DefaultMemoryBudget when zero): each reserves its share before it
	// reads its body, and one that finds no room within half a second is
	// answered 429 with Retry-After, which kube-apiserver retries.
	MemoryBudget int64
	// MaxConnections bounds open connections (DefaultMaxConnections when
	// zero); at the bound an idle connection of the address holding the
	// most is closed to make room for a new one, and a new one is closed
	// when none is idle (see connLimiter).
	MaxConnections int
	// Logger receives one line per decision worth logging and reload
	// events (discarded when nil).
	Logger *slog.Logger
	// Registry is where metrics are registered (a new registry with Go
	// and process collectors when nil); /metrics serves it. Resolvers and
	// caches register their own collectors here.
	Registry *prometheus.Registry
	// Now is the clock policies are evaluated at (time.Now when nil).
	Now func() time.Time
	// OnPolicies is called with each policy set that comes into force: at
	// start and after each reload (resolvers gather what they judge).
	OnPolicies func(*policy.Set)
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
	if o.MemoryBudget <= 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
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
