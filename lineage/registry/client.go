package registry

import (
	"fmt"
	"net/http"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client is a Resolver over the full fetch stack: an in-memory cache,
// shared in-flight fetches, an optional disk cache, and one registry client
// (or none, offline). Create one per process and share it; it is safe for
// concurrent use.
type Client struct {
	resolver
}

var _ Resolver = (*Client)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	remote   RemoteConfig
	memory   MemoryConfig
	cacheDir string
	offline  bool
	catalog  []imageref.Ref
	timeout  time.Duration
	maxDepth int
	fetcher  Fetcher
}

// WithKeychain sets where credentials come from (authn.DefaultKeychain by
// default: Docker's config and credential helpers). The webhook passes a
// keychain of pull secrets.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.remote.Keychain = k } }

// WithTransport sets the HTTP transport under the registry client.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.remote.Transport = t } }

// WithRetryBackoff sets the backoff between tries on 429 and 5xx.
func WithRetryBackoff(b remote.Backoff) Option { return func(o *options) { o.remote.Backoff = b } }

// WithUserAgent sets the User-Agent sent to registries.
func WithUserAgent(ua string) Option { return func(o *options) { o.remote.UserAgent = ua } }

// WithLimits bounds what is read from registries (DefaultLimits).
func WithLimits(l Limits) Option {
	return func(o *options) { o.remote.Limits = l }
}

// WithMemory configures the in-memory cache.
func WithMemory(c MemoryConfig) Option { return func(o *options) { o.memory = c } }

// WithDiskCache keeps digest-keyed manifests and blobs under dir (see
// DefaultCacheDir), for CLI runs that follow one another.
func WithDiskCache(dir string) Option { return func(o *options) { o.cacheDir = dir } }

// WithOffline forbids the network: only cached facts are used, and a miss
// is an ErrOffline.
func WithOffline() Option { return func(o *options) { o.offline = true } }

// WithCatalog lists known base images, recognised by their layers when an
// image declares no base.
func WithCatalog(refs ...imageref.Ref) Option {
	return func(o *options) { o.catalog = append(o.catalog, refs...) }
}

// WithTimeout bounds a Resolve call whose context has no deadline
// (DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxDepth bounds how many bases are followed (DefaultMaxDepth).
func WithMaxDepth(n int) Option { return func(o *options) { o.maxDepth = n } }

// WithFetcher replaces the whole fetch stack, for callers composing their
// own decorators.
func WithFetcher(f Fetcher) Option { return func(o *options) { o.fetcher = f } }

// New returns a Client. By default it talks to registries with Docker's
// credentials, caches in memory, and keeps nothing on disk.
func New(opts ...Option) (*Client, error) {
	o := options{timeout: DefaultTimeout, maxDepth: DefaultMaxDepth}
	for _, opt := range opts {
		opt(&o)
	}
	if o.remote.Limits == (Limits{}) {
		o.remote.Limits = DefaultLimits
	}
	f := o.fetcher
	if f == nil {
		var err error
		if f, err = stack(o); err != nil {
			return nil, err
		}
	}
	return &Client{resolver{f: f, limits: o.remote.Limits, catalog: o.catalog, maxDepth: o.maxDepth, timeout: o.timeout, parsed: newParsedCache(DefaultParsed)}}, nil
}

// stack builds the fetch stack, outermost first: shared in-flight
// fetches, memory, disk, network. Sharing is outside the memory cache so
// that a caller arriving just after a fetch completes finds its result
// cached rather than starting another.
func stack(o options) (Fetcher, error) {
	var f Fetcher = Offline()
	if !o.offline {
		var err error
		if f, err = NewRemote(o.remote); err != nil {
			return nil, fmt.Errorf("creating resolver: %w", err)
		}
	}
	if o.cacheDir != "" {
		f = CacheOnDisk(f, o.cacheDir)
	}
	return ShareInFlight(CacheInMemory(f, o.memory)), nil
}

// Fetcher returns the client's fetch stack (caches, shared in-flight
// fetches, the registry client), for readers of other facts that must
// share its credentials and caches.
func (c *Client) Fetcher() Fetcher { return c.f }
