package rebase

import (
	"context"
	"errors"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fetched is what a base reference names now: an index or one image.
type fetched struct {
	desc  v1.Descriptor
	index v1.ImageIndex
	im    *v1.IndexManifest
	img   v1.Image
	byTag bool
}

// fetchTop fetches what ref names, fresh from its registry.
func (r *Rebaser) fetchTop(ctx context.Context, ref imageref.Ref) (*fetched, error) {
	nref, err := toName(ref)
	if err != nil {
		return nil, err
	}
	d, err := r.puller.Get(ctx, nref)
	if err != nil {
		return nil, err
	}
	_, byTag := nref.(name.Tag)
	f := &fetched{desc: d.Descriptor, byTag: byTag}
	if d.MediaType.IsIndex() {
		if f.index, err = d.ImageIndex(); err != nil {
			return nil, err
		}
		if f.im, err = f.index.IndexManifest(); err != nil {
			return nil, err
		}
		return f, nil
	}
	if f.img, err = d.Image(); err != nil {
		return nil, err
	}
	return f, nil
}

// platform picks the image for p: the index's entry for it, or the one
// image.
func (f *fetched) platform(p v1.Platform) (*baseImage, error) {
	img := f.img
	if f.index != nil {
		ds := registry.Platforms(f.im)
		d, ok := registry.FindPlatform(ds, p)
		if !ok {
			names := make([]string, len(ds))
			for i, d := range ds {
				names[i] = platformName(d.Platform)
			}
			return nil, &registry.PlatformError{Want: p.String(), Available: names}
		}
		var err error
		if img, err = f.index.Image(d.Digest); err != nil {
			return nil, err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	// A single image's platform is checked against the image's by the
	// caller, which says that OS or architecture differ.
	return &baseImage{digest: digestOf(img), img: img, cfg: cfg, top: f.desc, byTag: f.byTag}, nil
}

// fetchPlatform fetches ref's image for platform p.
func (r *Rebaser) fetchPlatform(ctx context.Context, ref imageref.Ref, p v1.Platform) (*baseImage, error) {
	f, err := r.fetchTop(ctx, ref)
	if err != nil {
		return nil, err
	}
	return f.platform(p)
}

// toName converts a reference for the registry client: by digest when it
// has one, else by tag.
func toName(r imageref.Ref) (name.Reference, error) {
	var ref name.Reference
	var err error
	if r.Digest != "" {
		ref, err = name.NewDigest(r.Name() + "@" + r.Digest)
	} else {
		ref, err = name.NewTag(r.Name() + ":" + r.Tag)
	}
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", imageref.ErrInvalid, r.Written, err)
	}
	return ref, nil
}

func asPlatformError(err error, pe **registry.PlatformError) bool { return errors.As(err, pe) }

func platformName(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}
