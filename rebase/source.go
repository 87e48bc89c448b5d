package rebase

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// source is the image to rebase: one image, or an index and its entries.
type source struct {
	ref    imageref.Ref
	name   name.Reference
	digest v1.Hash
	// index is nil for a single image.
	index         v1.ImageIndex
	indexManifest *v1.IndexManifest
	// platforms are the index's images in its order (one for an image).
	platforms []*platformImage
	// dropped are the index's attestation manifests.
	dropped []v1.Descriptor
	// newBase is the new base named for the index annotations, when every
	// platform moves onto the same one.
	newBase     *fetched
	newBaseName string
	// warnings are policy results the rebase goes ahead despite.
	warnings []string
}

// platformImage is one platform's image and what the rebase does to it.
type platformImage struct {
	desc     v1.Descriptor
	platform v1.Platform
	img      v1.Image
	cfg      *v1.ConfigFile
	selected bool

	old, new *baseImage
	current  bool
	result   v1.Image
}

// baseImage is a base for one platform: how it is named and its image.
type baseImage struct {
	ref    imageref.Ref // with tag, without digest
	digest v1.Hash      // the platform image's digest
	img    v1.Image
	cfg    *v1.ConfigFile
	// top is the descriptor the reference resolved to (an index, or the
	// image itself).
	top v1.Descriptor
	// byTag reports that the reference was looked up by its tag.
	byTag bool
}

// load fetches the image to rebase, fresh from its registry.
func (r *Rebaser) load(ctx context.Context, image string) (*source, error) {
	ref, err := imageref.Parse(image)
	if err != nil {
		return nil, err
	}
	nref, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", imageref.ErrInvalid, image, err)
	}
	d, err := r.puller.Get(ctx, nref)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", image, err)
	}
	s := &source{ref: ref, name: nref, digest: d.Digest}
	if !d.MediaType.IsIndex() {
		img, err := d.Image()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", image, err)
		}
		p, err := newPlatformImage(d.Descriptor, img)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", image, err)
		}
		s.platforms = []*platformImage{p}
		return s, nil
	}
	if err := s.loadIndex(d); err != nil {
		return nil, fmt.Errorf("reading %s: %w", image, err)
	}
	return s, nil
}

func (s *source) loadIndex(d *remote.Descriptor) error {
	idx, err := d.ImageIndex()
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	s.index, s.indexManifest = idx, im
	for _, m := range im.Manifests {
		switch {
		case registry.IsAttestation(m):
			s.dropped = append(s.dropped, m)
		case m.MediaType.IsIndex():
			return fmt.Errorf("entry %s is an index nested in the index: not supported", m.Digest)
		default:
			img, err := idx.Image(m.Digest)
			if err != nil {
				return err
			}
			p, err := newPlatformImage(m, img)
			if err != nil {
				return err
			}
			s.platforms = append(s.platforms, p)
		}
	}
	if len(s.platforms) == 0 {
		return fmt.Errorf("the index has no image for any platform")
	}
	return nil
}

func newPlatformImage(desc v1.Descriptor, img v1.Image) (*platformImage, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of %s: %w", desc.Digest, err)
	}
	p := &platformImage{desc: desc, img: img, cfg: cfg, selected: true}
	if desc.Platform != nil && desc.Platform.OS != "" {
		p.platform = *desc.Platform
	} else {
		p.platform = v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
	}
	return p, nil
}

// selectPlatforms keeps only the platforms asked for, each of which the
// image must have.
func (s *source) selectPlatforms(want []string) error {
	if len(want) == 0 {
		return nil
	}
	for _, p := range s.platforms {
		p.selected = false
	}
	for _, w := range want {
		wp, err := v1.ParsePlatform(w)
		if err != nil {
			return fmt.Errorf("--platform %q: %w", w, err)
		}
		i := slices.IndexFunc(s.platforms, func(p *platformImage) bool { return registry.SamePlatform(p.platform, *wp) })
		if i < 0 {
			return &Refusal{Reasons: []string{fmt.Sprintf("the image has no platform %s (it has %s)", w, s.platformNames())}}
		}
		s.platforms[i].selected = true
	}
	return nil
}

func (s *source) platformNames() string {
	names := make([]string, len(s.platforms))
	for i, p := range s.platforms {
		names[i] = p.platform.String()
	}
	return strings.Join(names, ", ")
}

// result is the report before building: bases and layer counts, and
// whether there is anything to do.
func (s *source) result(req Request) *Result {
	res := &Result{Image: req.Image, Current: true, Warnings: s.warnings}
	for _, p := range s.platforms {
		pr := PlatformResult{Platform: p.platform.String(), Status: StatusKept, Digest: p.desc.Digest.String()}
		if p.selected {
			pr.Status = StatusCurrent
			pr.OldBase = Base{Ref: p.old.ref.Canonical(), Digest: p.old.digest.String()}
			pr.NewBase = Base{Ref: p.new.ref.Canonical(), Digest: p.new.digest.String()}
			layers := len(p.cfg.RootFS.DiffIDs)
			pr.LayersReplaced, pr.LayersAdded = len(p.old.cfg.RootFS.DiffIDs), len(p.new.cfg.RootFS.DiffIDs)
			pr.LayersKept = layers - pr.LayersReplaced
		}
		if p.selected && !p.current {
			pr.Status = StatusRebased
			res.Current = false
		}
		if p.current {
			pr.LayersReplaced, pr.LayersAdded, pr.LayersKept = 0, 0, len(p.cfg.RootFS.DiffIDs)
		}
		res.Platforms = append(res.Platforms, pr)
	}
	if res.Current {
		res.Digest = s.digest.String()
		res.Result = s.name.Context().String()
		if t, ok := s.name.(name.Tag); ok {
			res.Result += ":" + t.TagStr()
		}
		res.Result += "@" + res.Digest
		return res
	}
	for _, d := range s.dropped {
		res.Dropped = append(res.Dropped, d.Digest.String())
	}
	res.Notes = append(res.Notes, "signatures and attestations of the original image (cosign, notation, referrers) do not apply to the result: sign and attest it again")
	if len(s.dropped) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d attestation manifest(s) of the original index were not carried over: they describe a build that no longer matches", len(s.dropped)))
	}
	return res
}

// name is the platform for people: os/arch[/variant], or "image" for an
// image that does not say.
func (p *platformImage) name() string {
	if p.platform.OS == "" {
		return "image"
	}
	return p.platform.String()
}
