package registry

import (
	"bytes"
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ReferrerLister is a Fetcher that can also list what refers to a
// manifest. Every Fetcher of this package is one; a Fetcher given to
// WithFetcher that is not one is taken to offer no referrers.
type ReferrerLister interface {
	// Referrers lists the manifests whose subject is d, as an image index:
	// the registry's referrers API, or the referrers tag its clients keep
	// where the registry has no such API; an empty index when neither has
	// any. The list grows as referrers are pushed, so caches keep it no
	// longer than a tag resolution.
	Referrers(ctx context.Context, d name.Digest) (*Manifest, error)
}

// referrersOf asks f for the referrers of d; nil when f lists none.
func referrersOf(ctx context.Context, f Fetcher, d name.Digest) (*Manifest, error) {
	rl, ok := f.(ReferrerLister)
	if !ok {
		return nil, nil
	}
	return rl.Referrers(ctx, d)
}

var _ ReferrerLister = (*remoteFetcher)(nil)

// Referrers implements ReferrerLister through the registry client's own
// transport and credentials.
func (r *remoteFetcher) Referrers(ctx context.Context, d name.Digest) (*Manifest, error) {
	idx, err := unlessOthersCancelled(ctx, func() (v1.ImageIndex, error) {
		return remote.Referrers(d, remote.Reuse(r.puller), remote.WithContext(ctx))
	})
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, classify(err))
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, classify(err))
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, err)
	}
	mt, err := idx.MediaType()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", d, classify(err))
	}
	return &Manifest{Digest: h, MediaType: mt, Raw: raw}, nil
}

var _ ReferrerLister = offlineFetcher{}

func (offlineFetcher) Referrers(_ context.Context, d name.Digest) (*Manifest, error) {
	return nil, fmt.Errorf("listing referrers of %s: %w", d, ErrOffline)
}

var _ ReferrerLister = (*sharedFetcher)(nil)

func (s *sharedFetcher) Referrers(ctx context.Context, d name.Digest) (*Manifest, error) {
	return share(ctx, s, "referrers "+d.Name(), func(ctx context.Context) (*Manifest, error) {
		return referrersOf(ctx, s.inner, d)
	})
}

// referrersKey is where a referrers list is remembered beside tag
// resolutions: both name what a registry says now, for a while.
func referrersKey(d name.Digest) string { return "referrers " + d.Name() }

var _ ReferrerLister = (*memoryCache)(nil)

// Referrers keeps a list for TagTTL, like a tag resolution.
func (c *memoryCache) Referrers(ctx context.Context, d name.Digest) (*Manifest, error) {
	key := referrersKey(d)
	if m, ok := c.cachedPointer(d.Context(), key); ok {
		return m, nil
	}
	if err := c.refused(key); err != nil {
		return nil, err
	}
	m, err := referrersOf(ctx, c.inner, d)
	if err != nil {
		c.refuse(key, err)
		return nil, err
	}
	if m == nil {
		return nil, nil
	}
	ttl := c.cfg.TagTTL
	if emptyList(m) {
		// Nothing refers to it yet: a signature may be pushed any minute.
		if c.cfg.NegativeTTL < 0 {
			return m, nil
		}
		ttl = c.cfg.NegativeTTL
	}
	c.mu.Lock()
	c.manifests.add(manifestKey(d.Context(), m.Digest.String()), m)
	c.tags.add(key, expiring[v1.Descriptor]{value: m.Descriptor(), expires: c.cfg.Now().Add(ttl)})
	c.mu.Unlock()
	return m, nil
}

// emptyList reports whether a referrers list lists nothing.
func emptyList(m *Manifest) bool {
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	return err == nil && len(im.Manifests) == 0
}

// cachedPointer follows a fresh pointer (a tag resolution or a referrers
// list) to the manifest of repo it names.
func (c *memoryCache) cachedPointer(repo name.Repository, key string) (*Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tags.get(key)
	if !ok || !c.cfg.Now().Before(e.expires) {
		return nil, false
	}
	return c.manifests.get(manifestKey(repo, e.value.Digest.String()))
}

var _ ReferrerLister = (*diskCache)(nil)

// Referrers keeps a list for the TTL, like a tag resolution: the list by
// its digest, and a pointer to it named by a hash of d.
func (c *diskCache) Referrers(ctx context.Context, d name.Digest) (*Manifest, error) {
	p := c.pointerPath("referrers", d.Name())
	if m, ok := c.followPointer(d.Context(), p); ok {
		return m, nil
	}
	m, err := referrersOf(ctx, c.inner, d)
	if err != nil || m == nil || emptyList(m) {
		return m, err // an empty list is asked again: a signature may come
	}
	c.write(c.manifestDir(d.Context()), m.Digest, m.Raw)
	c.writePointer(p, m.Digest)
	return m, nil
}
