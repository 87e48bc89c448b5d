package trust

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ReferrerLister lists what refers to a manifest, as an image index: the
// registry's referrers API, or the sha256-<hex> tag its clients keep where
// the registry has none. The registry client's fetch stack is one.
type ReferrerLister interface {
	Referrers(ctx context.Context, d name.Digest) (*registry.Manifest, error)
}

// gatherer finds and parses what signs and attests an image.
type gatherer struct {
	f registry.Fetcher
}

// found is what one lookup found.
type found struct {
	sigs, atts []lineage.Signed
	problems   []string
	looked     string
}

// gather finds the trust facts of an entry. index is the digest the
// entry's reference resolved to when that was an index (the image itself
// has one; bases are looked up through their reference). A failure of the
// registry is the facts' Err; what cannot count is a problem.
func (g *gatherer) gather(ctx context.Context, e *lineage.Entry, index string) *lineage.Trust {
	t := &lineage.Trust{}
	repo, err := name.NewRepository(e.Ref.Name())
	if err != nil {
		t.Err = fmt.Errorf("reading repository of %s: %w", e.Ref, err)
		return t
	}
	if t.Indexes, err = g.indexes(ctx, repo, e, index); err != nil {
		t.Err = err
		return t
	}
	digests := append([]string{e.Digest}, t.Indexes...)
	lookups := []func(context.Context, name.Digest) (found, error){g.tagSignatures, g.tagAttestations, g.referrers}
	results := make([]found, len(digests)*len(lookups))
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i, d := range digests {
		for j, look := range lookups {
			wg.Go(func() { results[i*len(lookups)+j], errs[i*len(lookups)+j] = look(ctx, repo.Digest(d)) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Err = err
		return t
	}
	for _, r := range results {
		t.Signatures = append(t.Signatures, r.sigs...)
		t.Attestations = append(t.Attestations, r.atts...)
		t.Problems = append(t.Problems, r.problems...)
		t.Looked = append(t.Looked, r.looked)
	}
	return t
}

// indexes finds the indexes that list the entry's manifest: the one its
// reference resolved to, the digest written in its reference, and what its
// tag names now.
func (g *gatherer) indexes(ctx context.Context, repo name.Repository, e *lineage.Entry, index string) ([]string, error) {
	var tries []name.Reference
	for _, d := range []string{index, e.Ref.Digest} {
		if d != "" && d != e.Digest && isDigest(d) {
			tries = append(tries, repo.Digest(d))
		}
	}
	if e.Ref.Tag != "" {
		tries = append(tries, repo.Tag(e.Ref.Tag))
	}
	var out []string
	for _, ref := range tries {
		m, err := g.f.Manifest(ctx, ref)
		switch {
		case err != nil && absent(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("looking up the index of %s: %w", e.Ref, err)
		case slices.Contains(out, m.Digest.String()) || m.Digest.String() == e.Digest:
			continue
		}
		if lists(m, e.Digest) {
			out = append(out, m.Digest.String())
		}
	}
	return out, nil
}

// lists reports whether m is an index listing the manifest d.
func lists(m *registry.Manifest, d string) bool {
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	if err != nil || len(im.Manifests) == 0 {
		return false
	}
	for _, e := range im.Manifests {
		if e.Digest.String() == d && (e.MediaType.IsImage() || e.MediaType == "") {
			return true
		}
	}
	return false
}

// absent reports whether a failure means the thing is not there (404) or
// may not be read (401, 403): no signature, rather than a failed look.
func absent(err error) bool {
	return errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrUnauthorized)
}

// itemProblem reports whether a failure reading one signature is a fact
// about it (too large, malformed, gone) rather than a failing registry.
func itemProblem(err error) bool {
	return absent(err) || errors.Is(err, registry.ErrTooLarge) || errors.Is(err, registry.ErrMalformed) || errors.Is(err, ErrMalformed)
}

// tagFor is cosign's tag for what is attached to d: sha256-<hex>.<suffix>.
func tagFor(d name.Digest, suffix string) name.Tag {
	t := strings.Replace(d.DigestStr(), ":", "-", 1)
	if suffix != "" {
		t += "." + suffix
	}
	return d.Context().Tag(t)
}

// attached fetches the manifest of a tag-layout tag; nil when there is
// none.
func (g *gatherer) attached(ctx context.Context, tag name.Tag) (*v1.Manifest, v1.Hash, error) {
	m, err := g.f.Manifest(ctx, tag)
	if err != nil {
		if absent(err) {
			return nil, v1.Hash{}, nil
		}
		return nil, v1.Hash{}, fmt.Errorf("looking for %s: %w", tag, err)
	}
	im, err := v1.ParseManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, m.Digest, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return im, m.Digest, nil
}

// blob fetches a layer, bounded.
func (g *gatherer) blob(ctx context.Context, repo name.Repository, l v1.Descriptor, limit int64) ([]byte, error) {
	if l.Size > limit {
		return nil, fmt.Errorf("%w: layer %s is %d bytes, more than %d", registry.ErrTooLarge, l.Digest, l.Size, limit)
	}
	return g.f.Blob(ctx, repo.Digest(l.Digest.String()), limit)
}

// firstLayers bounds the layers read and says when some were left.
func firstLayers(m *v1.Manifest, where string, f *found) []v1.Descriptor {
	if len(m.Layers) > maxSignatureLayers {
		f.problems = append(f.problems, fmt.Sprintf("%s has %d layers; only the first %d were read", where, len(m.Layers), maxSignatureLayers))
		return m.Layers[:maxSignatureLayers]
	}
	return m.Layers
}
