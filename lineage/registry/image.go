package registry

import (
	"bytes"
	"context"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// image is one platform's image: its manifest, its config, the index it
// was picked from, if any, and the reference it was reached by.
type image struct {
	ref       imageref.Ref // as named: the image's reference or the declared base's name
	declared  string       // the digest declared with ref, empty when none
	repo      name.Repository
	digest    v1.Hash
	manifest  *v1.Manifest
	config    *v1.ConfigFile
	rawConfig []byte
	platform  *v1.Platform // nil when neither index nor config says
	index     *index
}

// index is an image index with where it was fetched from.
type index struct {
	repo     name.Repository
	digest   v1.Hash
	manifest *v1.IndexManifest
}

func (i *image) diffIDs() []v1.Hash { return i.config.RootFS.DiffIDs }

// toName converts a canonical reference for the registry client: by digest
// when it has one, else by tag.
func toName(r imageref.Ref) (name.Reference, error) {
	if r.Digest != "" {
		return name.NewDigest(r.Name() + "@" + r.Digest)
	}
	return name.NewTag(r.Name() + ":" + r.Tag)
}

// isIndex reports whether a manifest is an image index.
func isIndex(m *Manifest) bool {
	if m.MediaType.IsIndex() {
		return true
	}
	return !m.MediaType.IsImage() && sniffMediaType(m.Raw).IsIndex()
}

func (r *resolver) parseIndex(repo name.Repository, m *Manifest) (*index, error) {
	if im, ok := r.parsed.index(m.Digest); ok {
		return &index{repo: repo, digest: m.Digest, manifest: im}, nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, fmt.Errorf("parsing index %s@%s: %w: %w", repo, m.Digest, ErrMalformed, err)
	}
	r.parsed.addIndex(m.Digest, im)
	return &index{repo: repo, digest: m.Digest, manifest: im}, nil
}

// loadImage parses an image manifest and fetches its config. desc is the
// manifest's descriptor in idx, both nil for an image outside an index.
func (r *resolver) loadImage(ctx context.Context, repo name.Repository, m *Manifest, desc *v1.Descriptor, idx *index) (*image, error) {
	p, ok := r.parsed.image(m.Digest)
	if !ok {
		var err error
		if p, err = r.parseImage(ctx, repo, m); err != nil {
			return nil, err
		}
		r.parsed.addImage(m.Digest, p)
	}
	img := &image{repo: repo, digest: m.Digest, manifest: p.manifest, config: p.config, rawConfig: p.rawConfig, index: idx}
	img.platform = platformOf(desc, p.config)
	return img, nil
}

// parseImage parses an image manifest and fetches and parses its config.
func (r *resolver) parseImage(ctx context.Context, repo name.Repository, m *Manifest) (*parsedImage, error) {
	mf, err := parseImageManifest(m)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", repo, err)
	}
	if mf.Config.Size > r.limits.Config {
		return nil, fmt.Errorf("fetching config of %s@%s: %w: %d bytes, more than the limit of %d", repo, m.Digest, ErrTooLarge, mf.Config.Size, r.limits.Config)
	}
	raw, err := r.f.Blob(ctx, repo.Digest(mf.Config.Digest.String()), r.limits.Config)
	if err != nil {
		return nil, fmt.Errorf("fetching config of %s@%s: %w", repo, m.Digest, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing config of %s@%s: %w: %w", repo, m.Digest, ErrMalformed, err)
	}
	return &parsedImage{manifest: mf, config: cfg, rawConfig: raw}, nil
}

// platformOf is the platform the index says, else the one the config says.
func platformOf(desc *v1.Descriptor, cfg *v1.ConfigFile) *v1.Platform {
	if desc != nil && desc.Platform != nil && desc.Platform.OS != "" {
		return desc.Platform
	}
	if cfg.OS != "" {
		return &v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant, OSVersion: cfg.OSVersion}
	}
	return nil
}

// load fetches what ref names and, for an index, the manifest for the
// platform wanted (the primary one when want is nil).
func (r *resolver) load(ctx context.Context, ref name.Reference, want *v1.Platform) (*image, error) {
	m, err := r.f.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	repo := ref.Context()
	if !isIndex(m) {
		return r.loadImage(ctx, repo, m, nil, nil)
	}
	idx, err := r.parseIndex(repo, m)
	if err != nil {
		return nil, err
	}
	desc, err := pickPlatform(platformsOf(idx.manifest), want)
	if err != nil {
		return nil, fmt.Errorf("picking a platform of %s: %w", ref, err)
	}
	return r.loadChild(ctx, idx, desc)
}

// loadChild fetches the image an index entry describes.
func (r *resolver) loadChild(ctx context.Context, idx *index, desc v1.Descriptor) (*image, error) {
	m, err := r.f.Manifest(ctx, idx.repo.Digest(desc.Digest.String()))
	if err != nil {
		return nil, err
	}
	if isIndex(m) {
		return nil, fmt.Errorf("fetching %s@%s: %w: an index nested in an index is not supported", idx.repo, desc.Digest, ErrMalformed)
	}
	return r.loadImage(ctx, idx.repo, m, &desc, idx)
}

// parseImageManifest parses an image manifest.
func parseImageManifest(m *Manifest) (*v1.Manifest, error) {
	mf, err := v1.ParseManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w: %w", m.Digest, ErrMalformed, err)
	}
	return mf, nil
}
