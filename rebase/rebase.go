package rebase

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Rebaser rebases images. Create one per process and share it: it keeps one
// registry client for pulls and one for pushes.
type Rebaser struct {
	o      Options
	puller *remote.Puller
	pusher *remote.Pusher
}

// NewRebaser returns a Rebaser.
func NewRebaser(o Options) (*Rebaser, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(o.remoteOptions()...)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	w, err := remote.NewPusher(o.remoteOptions()...)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	return &Rebaser{o: o, puller: p, pusher: w}, nil
}

// Request is one rebase.
type Request struct {
	// Image is the image to rebase, by tag or digest.
	Image string
	// OldBase overrides the base found in the image's lineage.
	OldBase string
	// NewBase is the base to move onto; by default what the old base's tag
	// names now.
	NewBase string
	// Tag pushes the result as this tag of the image's repository.
	Tag string
	// To pushes the result to this reference. With neither Tag nor To the
	// image's own tag is moved (an image given by digest is pushed by
	// digest).
	To string
	// Platforms limits the rebase to these os/arch[/variant]; the other
	// platforms of an index are kept as they are.
	Platforms []string
	// Force rebases although the policies do not allow the result or a
	// Buildpacks image says it is not rebasable.
	Force bool
	// DryRun computes everything and writes nothing.
	DryRun bool
	// Labels are the labels policy rules see, as on a Pod.
	Labels map[string]string
}

// Status says what happened to one platform.
type Status string

// The statuses of a platform.
const (
	StatusRebased Status = "rebased" // moved onto the new base
	StatusCurrent Status = "current" // already on the new base; unchanged
	StatusKept    Status = "kept"    // not selected by Request.Platforms; unchanged
)

// Result is what a rebase did, or would do with DryRun.
type Result struct {
	// Image is the image as requested.
	Image string
	// Result is where the result is (or would be), repository:tag@digest.
	Result string
	// Digest is the result's digest.
	Digest string
	// Pushed reports that the result was written.
	Pushed bool
	// Current reports that every platform is already on the new base:
	// nothing was done.
	Current bool
	// Platforms are the platforms of the image, in its order.
	Platforms []PlatformResult
	// Dropped lists attestation manifests not carried over.
	Dropped []string
	// Notes are facts the user must know: signatures that no longer apply.
	Notes []string
	// Warnings are policy results that did not refuse the rebase (warn,
	// or overridden by Force).
	Warnings []string
}

// PlatformResult is one platform of a rebase.
type PlatformResult struct {
	Platform string
	Status   Status
	// Digest is the platform's image digest in the result.
	Digest  string
	OldBase Base
	NewBase Base
	// LayersReplaced are the old base's layers, taken out; LayersAdded the
	// new base's, put in; LayersKept the image's own, kept on top.
	LayersReplaced, LayersAdded, LayersKept int
}

// Base is a base image: its reference and the digest of the platform's
// image.
type Base struct {
	Ref    string
	Digest string
}

// Rebase rebases the image req names. A rebase that must not be done is a
// *Refusal, returned before anything is written.
func (r *Rebaser) Rebase(ctx context.Context, req Request) (*Result, error) {
	src, err := r.load(ctx, req.Image)
	if err != nil {
		return nil, err
	}
	if err := src.selectPlatforms(req.Platforms); err != nil {
		return nil, err
	}
	dst, err := destination(src, req)
	if err != nil {
		return nil, err
	}
	if err := r.plan(ctx, src, req, dst); err != nil {
		return nil, err
	}
	res := src.result(req)
	if res.Current {
		return res, nil
	}
	if err := src.build(); err != nil {
		return nil, err
	}
	out, err := src.assemble()
	if err != nil {
		return nil, err
	}
	res.fill(src, out, dst)
	if req.DryRun {
		return res, nil
	}
	if err := r.push(ctx, dst, out, res); err != nil {
		return nil, err
	}
	res.Pushed = true
	return res, nil
}

// destination is where the result goes: --to, --tag, or the image's own
// tag; by digest in its repository for an image given by digest.
func destination(src *source, req Request) (name.Reference, error) {
	switch {
	case req.To != "" && req.Tag != "":
		return nil, fmt.Errorf("give --tag or --to, not both")
	case req.To != "":
		ref, err := name.ParseReference(req.To)
		if err != nil {
			return nil, fmt.Errorf("--to %q: %w: %w", req.To, imageref.ErrInvalid, err)
		}
		if _, ok := ref.(name.Digest); ok {
			return nil, fmt.Errorf("--to %q: give a tag or a repository, not a digest: the result's digest is not known before it is built", req.To)
		}
		return ref, nil
	case req.Tag != "":
		t, err := name.NewTag(src.name.Context().String() + ":" + req.Tag)
		if err != nil {
			return nil, fmt.Errorf("--tag %q: %w: %w", req.Tag, imageref.ErrInvalid, err)
		}
		return t, nil
	}
	if t, ok := src.name.(name.Tag); ok {
		return t, nil
	}
	return src.name.Context().Digest(src.digest.String()), nil // replaced by the result's digest
}

// fill completes the result once the image is built.
func (res *Result) fill(src *source, out built, dst name.Reference) {
	res.Digest = out.digest.String()
	res.Result = dst.Context().String()
	if t, ok := dst.(name.Tag); ok {
		res.Result += ":" + t.TagStr()
	}
	res.Result += "@" + res.Digest
	for i, p := range src.platforms {
		if p.result != nil {
			d, _ := p.result.Digest()
			res.Platforms[i].Digest = d.String()
		}
	}
}

// digestOf is an image's digest, for images whose manifest is at hand.
func digestOf(img v1.Image) v1.Hash {
	d, _ := img.Digest()
	return d
}
