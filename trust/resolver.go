package trust

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
)

// Resolver is the resolution pipeline check --resolve, serve --resolve and
// audit share: it resolves lineages with a registry client and, when the
// policies judge signatures or scans, attaches to every entry what signs
// and attests it (Entry.Trust), read through the same client's fetch stack
// and credentials. It is safe for concurrent use; create one per registry
// client.
type Resolver struct {
	client  *registry.Client
	g       gatherer
	cache   *factsCache
	need    *Need
	timeout time.Duration
}

// Need says whether resolvers gather trust facts: when a rule of the
// policies in force judges signatures or scans. One Need may be shared by
// the resolvers of a server (one per credential set) and follow its policy
// reloads.
type Need struct{ on atomic.Pointer[needs] }

// needs says what the policies judge: signatures, scans.
type needs struct{ signatures, scans bool }

// UsePolicies turns gathering on when a rule of set judges signatures or
// scans, off otherwise.
func (n *Need) UsePolicies(set *policy.Set) {
	var v needs
	if set != nil {
		v.signatures, v.scans = set.NeedsSignatures(), set.NeedsScans()
	}
	n.on.Store(&v)
}

// Set turns gathering of both on or off.
func (n *Need) Set(on bool) { n.on.Store(&needs{on, on}) }

func (n *Need) get() needs {
	if v := n.on.Load(); v != nil {
		return *v
	}
	return needs{}
}

func (v needs) any() bool { return v.signatures || v.scans }

// missing reports whether facts lack what is needed: they are then kept
// only for the short TTL (it may be pushed soon).
func (v needs) missing(t *lineage.Trust) bool {
	return (v.signatures && len(t.Signatures) == 0) || (v.scans && len(t.Attestations) == 0)
}

var _ registry.Resolver = (*Resolver)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	found, missing time.Duration
	maxEntries     int
	now            func() time.Time
	need           *Need
	timeout        time.Duration
}

// ForPolicies gathers trust facts when a rule of set needs them.
func ForPolicies(set *policy.Set) Option {
	return func(o *options) { o.need = &Need{}; o.need.UsePolicies(set) }
}

// Always gathers trust facts whatever the policies (inspect).
func Always() Option { return func(o *options) { o.need = &Need{}; o.need.Set(true) } }

// WithNeed gathers trust facts when n says so, as it changes.
func WithNeed(n *Need) Option { return func(o *options) { o.need = n } }

// WithTTLs sets how long found facts (DefaultFoundTTL) and missing
// signatures or scans (DefaultMissingTTL) are remembered.
func WithTTLs(found, missing time.Duration) Option {
	return func(o *options) { o.found, o.missing = found, missing }
}

// WithMaxEntries bounds the facts cache (DefaultMaxEntries; 0 keeps
// nothing).
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = n } }

// WithClock sets the cache's clock (time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithTimeout bounds a call whose context has no deadline
// (registry.DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// New returns a Resolver over c. Without ForPolicies or Always it gathers
// nothing and is c's lineage resolution alone.
func New(c *registry.Client, opts ...Option) *Resolver {
	o := options{found: DefaultFoundTTL, missing: DefaultMissingTTL, maxEntries: DefaultMaxEntries, now: time.Now, timeout: registry.DefaultTimeout, need: &Need{}}
	for _, opt := range opts {
		opt(&o)
	}
	return &Resolver{client: c, g: gatherer{f: c.Fetcher()}, cache: newFactsCache(o.maxEntries, o.found, o.missing, o.now), need: o.need, timeout: o.timeout}
}

// Client is the registry client the resolver reads through.
func (r *Resolver) Client() *registry.Client { return r.client }

// Lineage resolves ref as registry.LineageOf does (the primary platform,
// or the one opts name), records the digest ref resolved to, and attaches
// trust facts to each entry when the policies need them.
func (r *Resolver) Lineage(ctx context.Context, ref imageref.Ref, opts ...registry.ResolveOption) lineage.Lineage {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	c := &capture{r: r.client}
	l := registry.LineageOf(ctx, c, ref, opts...)
	l.Digest = c.digest
	if need := r.need.get(); need.any() {
		r.attach(ctx, &l, c.digest, need)
	}
	return l
}

// Resolve implements registry.Resolver: every platform's lineage, each
// with trust facts when gathering.
func (r *Resolver) Resolve(ctx context.Context, ref imageref.Ref, opts ...registry.ResolveOption) (registry.Result, error) {
	ctx, cancel := r.withTimeout(ctx)
	defer cancel()
	res, err := r.client.Resolve(ctx, ref, opts...)
	need := r.need.get()
	if err != nil || !need.any() {
		return res, err
	}
	var wg sync.WaitGroup
	for i := range res.Platforms {
		p := &res.Platforms[i]
		p.Lineage.Digest = res.Digest
		wg.Go(func() { r.attach(ctx, &p.Lineage, res.Digest, need) })
	}
	wg.Wait()
	return res, nil
}

func (r *Resolver) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, r.timeout)
}

// attach gathers the facts of every entry with a digest, concurrently.
// index is what the image's reference resolved to, when an index.
func (r *Resolver) attach(ctx context.Context, l *lineage.Lineage, index string, need needs) {
	var wg sync.WaitGroup
	for i := range l.Entries {
		e := &l.Entries[i]
		if e.Digest == "" {
			continue
		}
		hint := ""
		if i == 0 {
			hint = index
		}
		wg.Go(func() { e.Trust = r.facts(ctx, e, hint, need) })
	}
	wg.Wait()
}

// facts returns an entry's trust facts, from the cache when fresh.
func (r *Resolver) facts(ctx context.Context, e *lineage.Entry, index string, need needs) *lineage.Trust {
	key := e.Ref.Name() + "@" + e.Digest + "|" + e.Ref.Tag + "|" + e.Ref.Digest + "|" + index
	if t, ok := r.cache.get(key); ok {
		return t
	}
	t := r.g.gather(ctx, e, index)
	r.cache.put(key, t, need.missing(t))
	return t
}

// capture is a Resolver that remembers the digest a reference resolved
// to.
type capture struct {
	r      registry.Resolver
	digest string
}

func (c *capture) Resolve(ctx context.Context, ref imageref.Ref, opts ...registry.ResolveOption) (registry.Result, error) {
	res, err := c.r.Resolve(ctx, ref, opts...)
	if err == nil {
		c.digest = res.Digest
	}
	return res, err
}
