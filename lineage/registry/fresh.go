package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/name"
)

// freshness sets whether the base's tag still names the image found: the
// tag resolves to its digest, to the declared digest, or to an index that
// holds it. Identical digests are never outdated. A tag that is gone makes
// the base outdated; a failure to look the tag up leaves it unknown, with a
// problem, unless it is the deadline.
func (r *resolver) freshness(ctx context.Context, e *lineage.Entry, t *tried) error {
	if e.Ref.Tag == "" || t.img == nil {
		return nil
	}
	tag, err := name.NewTag(e.Ref.Name() + ":" + e.Ref.Tag)
	if err != nil {
		return nil
	}
	latest, err := r.latest(ctx, tag, t)
	switch {
	case errors.Is(err, ErrNotFound):
		e.Current = new(false)
		e.Problems = append(e.Problems, fmt.Sprintf("tag %s no longer exists", e.Ref.Tag))
		return nil
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return fmt.Errorf("checking whether %s is current: %w", e.Ref, err)
	case err != nil:
		e.Problems = append(e.Problems, fmt.Sprintf("could not check whether tag %s is current: %v", e.Ref.Tag, err))
		return nil
	}
	e.LatestDigest = latest
	e.Current = new(latest == e.Digest || latest == t.cand.digest)
	return nil
}

// latest is the digest the tag names now, for the base's platform when the
// tag names an index.
func (r *resolver) latest(ctx context.Context, tag name.Tag, t *tried) (string, error) {
	d, err := r.f.Head(ctx, tag)
	if err != nil {
		return "", err
	}
	now := d.Digest.String()
	if now == t.img.digest.String() || now == t.cand.digest || !d.MediaType.IsIndex() {
		return now, nil
	}
	m, err := r.f.Manifest(ctx, tag.Context().Digest(now))
	if err != nil {
		return "", err
	}
	idx, err := r.parseIndex(tag.Context(), m)
	if err != nil {
		return "", err
	}
	ds := platformsOf(idx.manifest)
	for _, c := range ds {
		if c.Digest == t.img.digest {
			return c.Digest.String(), nil
		}
	}
	if t.img.platform != nil {
		if c, ok := findPlatform(ds, *t.img.platform); ok {
			return c.Digest.String(), nil
		}
	}
	return now, nil
}
