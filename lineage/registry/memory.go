package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MemoryConfig configures CacheInMemory.
type MemoryConfig struct {
	// Bytes bounds the cached manifests and blobs; DefaultMemoryBytes when 0.
	Bytes int64
	// Tags bounds the remembered tag resolutions and negative entries;
	// DefaultMaxTags when 0.
	Tags int
	// TagTTL is how long a tag resolution is trusted; DefaultTagTTL when 0.
	TagTTL time.Duration
	// NegativeTTL is how long a 401, 403 or 404 is remembered;
	// DefaultNegativeTTL when 0, none when negative.
	NegativeTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// memoryCache keeps manifests by repository and digest and blobs by digest
// in an LRU bounded by bytes, tag resolutions for a TTL, and refusals (401,
// 403, 404) briefly.
type memoryCache struct {
	inner Fetcher
	cfg   MemoryConfig

	mu        sync.Mutex
	manifests *lru[string, *Manifest]
	blobs     *lru[string, []byte]
	tags      *lru[string, expiring[v1.Descriptor]]
	refusals  *lru[string, expiring[error]]
}

type expiring[T any] struct {
	value   T
	expires time.Time
}

var _ Fetcher = (*memoryCache)(nil)

// CacheInMemory wraps f with an in-memory cache of facts: manifests and
// blobs by digest (immutable, kept until evicted), tag resolutions for a
// TTL, and 401/403/404 answers briefly. Nothing else is remembered: a
// timeout, a 5xx or a cancelled fetch is tried again by the next caller.
func CacheInMemory(f Fetcher, cfg MemoryConfig) Fetcher {
	if cfg.Bytes == 0 {
		cfg.Bytes = DefaultMemoryBytes
	}
	if cfg.Tags == 0 {
		cfg.Tags = DefaultMaxTags
	}
	if cfg.TagTTL == 0 {
		cfg.TagTTL = DefaultTagTTL
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	// Manifests and blobs share the byte budget: half each.
	return &memoryCache{
		inner:     f,
		cfg:       cfg,
		manifests: newLRU[string](cfg.Bytes/2, (*Manifest).size),
		blobs:     newLRU[string](cfg.Bytes/2, func(b []byte) int64 { return int64(len(b)) + 64 }),
		tags:      newLRU[string](int64(cfg.Tags), countOne[v1.Descriptor]),
		refusals:  newLRU[string](int64(cfg.Tags), countOne[error]),
	}
}

func countOne[T any](expiring[T]) int64 { return 1 }

func (c *memoryCache) Head(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	if d, ok := c.cachedHead(ref); ok {
		return d, nil
	}
	if err := c.refused(ref.Name()); err != nil {
		return v1.Descriptor{}, err
	}
	d, err := c.inner.Head(ctx, ref)
	if err != nil {
		c.refuse(ref.Name(), err)
		return v1.Descriptor{}, err
	}
	if _, byTag := ref.(name.Tag); byTag {
		c.rememberTag(ref, d)
	}
	return d, nil
}

func (c *memoryCache) cachedHead(ref name.Reference) (v1.Descriptor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, byTag := ref.(name.Tag); byTag {
		return c.tag(ref)
	}
	if m, ok := c.manifests.get(manifestKey(ref.Context(), ref.Identifier())); ok {
		return m.Descriptor(), true
	}
	return v1.Descriptor{}, false
}

// manifestKey keys a manifest by repository and digest. The content is the
// digest's, wherever it was read, but that a repository holds it is a fact
// about that repository: a digest read from one repository must never be
// taken as present in another (a base claimed to come from an approved
// repository would otherwise be confirmed by a fetch from anywhere).
func manifestKey(repo name.Repository, digest string) string {
	return repo.Name() + "@" + digest
}

// tag returns a fresh tag resolution; the caller holds mu.
func (c *memoryCache) tag(ref name.Reference) (v1.Descriptor, bool) {
	e, ok := c.tags.get(ref.Name())
	if !ok || !c.cfg.Now().Before(e.expires) {
		return v1.Descriptor{}, false
	}
	return e.value, true
}

func (c *memoryCache) Manifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	if m, ok := c.cachedManifest(ref); ok {
		return m, nil
	}
	if err := c.refused(ref.Name()); err != nil {
		return nil, err
	}
	m, err := c.inner.Manifest(ctx, ref)
	if err != nil {
		c.refuse(ref.Name(), err)
		return nil, err
	}
	c.mu.Lock()
	c.manifests.add(manifestKey(ref.Context(), m.Digest.String()), m)
	c.mu.Unlock()
	if _, byTag := ref.(name.Tag); byTag {
		c.rememberTag(ref, m.Descriptor())
	}
	return m, nil
}

func (c *memoryCache) cachedManifest(ref name.Reference) (*Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	digest := ref.Identifier()
	if _, byTag := ref.(name.Tag); byTag {
		d, ok := c.tag(ref)
		if !ok {
			return nil, false
		}
		digest = d.Digest.String()
	}
	return c.manifests.get(manifestKey(ref.Context(), digest))
}

func (c *memoryCache) Blob(ctx context.Context, ref name.Digest, limit int64) ([]byte, error) {
	c.mu.Lock()
	b, ok := c.blobs.get(ref.DigestStr())
	c.mu.Unlock()
	if ok {
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("reading blob %s: %w: %d bytes, more than the limit of %d", ref, ErrTooLarge, len(b), limit)
		}
		return b, nil
	}
	if err := c.refused(ref.Name()); err != nil {
		return nil, err
	}
	b, err := c.inner.Blob(ctx, ref, limit)
	if err != nil {
		c.refuse(ref.Name(), err)
		return nil, err
	}
	c.mu.Lock()
	c.blobs.add(ref.DigestStr(), b)
	c.mu.Unlock()
	return b, nil
}

func (c *memoryCache) rememberTag(ref name.Reference, d v1.Descriptor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tags.add(ref.Name(), expiring[v1.Descriptor]{value: d, expires: c.cfg.Now().Add(c.cfg.TagTTL)})
}

// refuse remembers a refusal (401, 403, 404) for NegativeTTL.
func (c *memoryCache) refuse(key string, err error) {
	if c.cfg.NegativeTTL < 0 || !negative(err) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refusals.add(key, expiring[error]{value: err, expires: c.cfg.Now().Add(c.cfg.NegativeTTL)})
}

// refused returns a remembered refusal that has not expired.
func (c *memoryCache) refused(key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.refusals.get(key)
	if !ok {
		return nil
	}
	if !c.cfg.Now().Before(e.expires) {
		c.refusals.remove(key)
		return nil
	}
	return e.value
}
