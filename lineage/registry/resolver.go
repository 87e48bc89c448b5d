package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Resolver resolves what an image is built on.
type Resolver interface {
	// Resolve looks ref up and returns a lineage per platform. The error is
	// for the image itself (not found, unauthorized, deadline); a failure
	// further down a platform's chain is that lineage's Err.
	Resolve(ctx context.Context, ref imageref.Ref, opts ...ResolveOption) (Result, error)
}

// Result is what an image resolved to.
type Result struct {
	// Ref is the reference resolved.
	Ref imageref.Ref
	// Digest is what Ref resolved to: an index or an image manifest.
	Digest string
	// Platforms holds a lineage per platform, in the index's order; one
	// for a single-platform image.
	Platforms []PlatformLineage
}

// PlatformLineage is the lineage of one platform's image.
type PlatformLineage struct {
	// Platform is os/arch[/variant], empty when the image does not say.
	Platform string
	// Digest is the digest of the platform's image manifest.
	Digest  string
	Lineage lineage.Lineage
}

// Primary returns the lineage a single answer is given for: linux/amd64
// when the image has it, else its first platform.
func (r Result) Primary() (PlatformLineage, bool) {
	for _, p := range r.Platforms {
		if p.Platform == PrimaryPlatform.String() {
			return p, true
		}
	}
	if len(r.Platforms) == 0 {
		return PlatformLineage{}, false
	}
	return r.Platforms[0], true
}

// ResolveOption chooses what one Resolve call looks at.
type ResolveOption func(*resolveOptions)

type resolveOptions struct {
	platform string
	primary  bool
}

// ForPlatform resolves only the platform given as os/arch[/variant], e.g.
// linux/arm64. An image without it is a *PlatformError.
func ForPlatform(p string) ResolveOption { return func(o *resolveOptions) { o.platform = p } }

// OnlyPrimary resolves only the primary platform (see Result.Primary), for
// callers that need one lineage per image.
func OnlyPrimary() ResolveOption { return func(o *resolveOptions) { o.primary = true } }

// resolver resolves lineages over a Fetcher. All caching is the Fetcher's.
type resolver struct {
	f        Fetcher
	limits   Limits
	catalog  []imageref.Ref
	maxDepth int
	timeout  time.Duration
	parsed   *parsedCache
}

var _ Resolver = (*resolver)(nil)

// Resolve implements Resolver.
func (r *resolver) Resolve(ctx context.Context, ref imageref.Ref, opts ...ResolveOption) (Result, error) {
	var o resolveOptions
	for _, opt := range opts {
		opt(&o)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	start := time.Now()
	res, err := r.resolve(ctx, ref, o)
	if err != nil {
		return Result{}, fmt.Errorf("resolving %s: %w", ref, explainDeadline(ctx, start, err))
	}
	return res, nil
}

// explainDeadline says in words that the deadline passed, and after how
// long, for an error that is the deadline.
func explainDeadline(ctx context.Context, start time.Time, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "before the deadline") {
		return err
	}
	d, _ := ctx.Deadline()
	return fmt.Errorf("the registry did not answer before the deadline (%s): %w", d.Sub(start).Round(time.Millisecond), err)
}

func (r *resolver) resolve(ctx context.Context, ref imageref.Ref, o resolveOptions) (Result, error) {
	nref, err := toName(ref)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", imageref.ErrInvalid, err)
	}
	m, err := r.f.Manifest(ctx, nref)
	if err != nil {
		return Result{}, err
	}
	imgs, err := r.platformImages(ctx, nref.Context(), m, o)
	if err != nil {
		return Result{}, err
	}
	for _, img := range imgs {
		img.ref = ref
	}
	res := Result{Ref: ref, Digest: m.Digest.String(), Platforms: make([]PlatformLineage, len(imgs))}
	var wg sync.WaitGroup
	var tagOK bool
	var tagWhy string
	if writesTagAndDigest(ref) {
		wg.Go(func() { tagOK, tagWhy = r.confirmTag(ctx, ref) })
	}
	for i, img := range imgs {
		wg.Go(func() {
			res.Platforms[i] = PlatformLineage{
				Platform: platformName(img.platform),
				Digest:   img.digest.String(),
				Lineage:  r.chain(ctx, ref, img),
			}
		})
	}
	wg.Wait()
	if writesTagAndDigest(ref) {
		for i := range res.Platforms {
			e := &res.Platforms[i].Lineage.Entries[0]
			if tagOK {
				e.ConfirmTag()
			} else {
				e.DropUnconfirmedTag(tagWhy)
			}
		}
	}
	return res, nil
}

// platformImages loads the images of the platforms asked for.
func (r *resolver) platformImages(ctx context.Context, repo name.Repository, m *Manifest, o resolveOptions) ([]*image, error) {
	want, err := parsePlatform(o.platform)
	if err != nil {
		return nil, err
	}
	if !isIndex(m) {
		img, err := r.loadImage(ctx, repo, m, nil, nil)
		if err != nil {
			return nil, err
		}
		if want != nil && img.platform != nil && !samePlatform(*img.platform, *want, false) {
			return nil, &PlatformError{Want: want.String(), Available: []string{img.platform.String()}}
		}
		return []*image{img}, nil
	}
	idx, err := r.parseIndex(repo, m)
	if err != nil {
		return nil, err
	}
	ds := platformsOf(idx.manifest)
	if want != nil || o.primary {
		d, err := pickPlatform(ds, want)
		if err != nil {
			return nil, err
		}
		ds = []v1.Descriptor{d}
	}
	return r.loadChildren(ctx, idx, ds)
}

// loadChildren loads index entries concurrently, in order.
func (r *resolver) loadChildren(ctx context.Context, idx *index, ds []v1.Descriptor) ([]*image, error) {
	if len(ds) == 0 {
		return nil, &PlatformError{Want: "any", Available: nil}
	}
	imgs := make([]*image, len(ds))
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { imgs[i], errs[i] = r.loadChild(ctx, idx, d) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return imgs, nil
}

func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil {
		return nil, fmt.Errorf("parsing platform %q: %w", s, err)
	}
	return p, nil
}

func platformName(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	return p.String()
}
