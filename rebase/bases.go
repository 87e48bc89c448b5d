package rebase

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// plan finds the old and new base of every selected platform and checks
// that the rebase may be done. Every reason to refuse is collected before
// returning, so one run tells all of them.
func (r *Rebaser) plan(ctx context.Context, src *source, req Request, dst name.Reference) error {
	var refuse refusals
	if err := r.oldBases(ctx, src, req, &refuse); err != nil {
		return err
	}
	if err := refuse.err(); err != nil {
		return err
	}
	if err := r.newBases(ctx, src, req, &refuse); err != nil {
		return err
	}
	if err := refuse.err(); err != nil {
		return err
	}
	for _, p := range src.platforms {
		if p.selected && !p.current {
			src.warnings = append(src.warnings, checkBuildpacks(p, req.Force, &refuse)...)
		}
	}
	if err := r.judge(ctx, src, req, dst, &refuse); err != nil {
		return err
	}
	return refuse.err()
}

// oldBases finds each selected platform's old base: --old-base, or the
// base the image's lineage names, which must be verified.
func (r *Rebaser) oldBases(ctx context.Context, src *source, req Request, refuse *refusals) error {
	if req.OldBase != "" {
		return r.givenOldBases(ctx, src, req.OldBase, refuse)
	}
	ref := src.ref
	ref.Digest = src.digest.String()
	res, err := r.o.Lineage.Resolve(ctx, ref)
	if err != nil {
		return fmt.Errorf("resolving the base of %s: %w", req.Image, err)
	}
	for _, p := range src.platforms {
		if !p.selected {
			continue
		}
		i := slices.IndexFunc(res.Platforms, func(pl registry.PlatformLineage) bool { return pl.Digest == p.desc.Digest.String() })
		if i < 0 {
			return fmt.Errorf("resolving the base of %s: no lineage for %s", req.Image, p.name())
		}
		l := res.Platforms[i].Lineage
		if l.Err != nil {
			return fmt.Errorf("resolving the base of %s (%s): %w", req.Image, p.name(), l.Err)
		}
		if err := r.lineageBase(ctx, p, l, refuse); err != nil {
			return err
		}
	}
	return nil
}

// lineageBase takes the platform's base from its lineage.
func (r *Rebaser) lineageBase(ctx context.Context, p *platformImage, l lineage.Lineage, refuse *refusals) error {
	bases := l.Bases()
	switch {
	case len(bases) == 0:
		refuse.add(false, fmt.Sprintf("%s: no base found (the image declares none in annotations, provenance, buildinfo or Buildpacks metadata, and no catalog base matches its layers): give --old-base", p.name()))
		return nil
	case !bases[0].Verified:
		refuse.add(false, unverifiedBase(p, bases[0]))
		return nil
	}
	b := bases[0]
	ref := b.Ref
	ref.Digest = b.Digest
	old, err := r.fetchPlatform(ctx, ref, p.platform)
	if err != nil {
		return fmt.Errorf("fetching the old base %s: %w", ref, err)
	}
	old.ref = withoutDigest(b.Ref)
	p.old = old
	checkPrefix(p, refuse)
	return nil
}

// unverifiedBase says why a declared base cannot be the old base: its
// layers are not the image's (a wrong or forged declaration), or it could
// not be checked (gone from its registry, private).
func unverifiedBase(p *platformImage, b lineage.Entry) string {
	problems := strings.Join(b.Problems, "; ")
	if strings.Contains(problems, "could not be checked") {
		return fmt.Sprintf("%s: the declared base %s (%s) could not be checked against the image's layers (%s): give --old-base", p.name(), b.Ref.Canonical(), b.Source, problems)
	}
	why := fmt.Sprintf("%s: the declared base %s (%s) is not verified: its layers are not a prefix of the image's, so the declaration is wrong or forged", p.name(), b.Ref.Canonical(), b.Source)
	if problems != "" {
		why += " (" + problems + ")"
	}
	return why
}

// givenOldBases loads --old-base for every selected platform.
func (r *Rebaser) givenOldBases(ctx context.Context, src *source, oldBase string, refuse *refusals) error {
	ref, err := imageref.Parse(oldBase)
	if err != nil {
		return fmt.Errorf("--old-base: %w", err)
	}
	for _, p := range src.platforms {
		if !p.selected {
			continue
		}
		old, err := r.fetchPlatform(ctx, ref, p.platform)
		if err != nil {
			var pe *registry.PlatformError
			if asPlatformError(err, &pe) {
				refuse.add(false, fmt.Sprintf("%s: the old base %s has no such platform (it has %v)", p.name(), oldBase, pe.Available))
				continue
			}
			return fmt.Errorf("fetching the old base %s: %w", oldBase, err)
		}
		old.ref = withoutDigest(ref)
		p.old = old
		checkPrefix(p, refuse)
	}
	return nil
}

// checkPrefix refuses a platform whose old base's layers are not a prefix
// of its own: the image is not built on it.
func checkPrefix(p *platformImage, refuse *refusals) {
	base, img := p.old.cfg.RootFS.DiffIDs, p.cfg.RootFS.DiffIDs
	switch {
	case len(base) == 0:
		refuse.add(false, fmt.Sprintf("%s: the old base %s has no layers: nothing to replace", p.name(), p.old.ref))
	case len(base) > len(img) || !slices.Equal(base, img[:len(base)]):
		refuse.add(false, fmt.Sprintf("%s: the image is not built on %s@%s: its layers are not a prefix of the image's (a forged or wrong declaration)", p.name(), p.old.ref, p.old.digest))
	}
}

// newBases fetches each selected platform's new base, fresh: --new-base or
// the old base's tag as it is now. A platform already on it is current.
func (r *Rebaser) newBases(ctx context.Context, src *source, req Request, refuse *refusals) error {
	cache := map[string]*fetched{}
	var names []string
	for _, p := range src.platforms {
		if !p.selected {
			continue
		}
		ref, err := newBaseRef(p, req.NewBase)
		if err != nil {
			refuse.add(false, err.Error())
			continue
		}
		f, ok := cache[ref.Canonical()]
		if !ok {
			if f, err = r.fetchTop(ctx, ref); err != nil {
				return fmt.Errorf("fetching the new base %s: %w", ref, err)
			}
			cache[ref.Canonical()] = f
			names = append(names, ref.Canonical())
		}
		nb, err := f.platform(p.platform)
		if err != nil {
			refuse.add(false, fmt.Sprintf("%s: the new base %s %v: give --platform to rebase only the platforms it has", p.name(), ref, err))
			continue
		}
		nb.ref = withoutDigest(ref)
		p.new = nb
		p.current = nb.digest == p.old.digest
		checkPlatform(p, refuse)
	}
	if len(names) == 1 && !slices.ContainsFunc(src.platforms, func(p *platformImage) bool { return !p.selected }) {
		// Every platform is on this one base: the index declares it too.
		src.newBase = cache[names[0]]
		for _, p := range src.platforms {
			if p.new != nil {
				src.newBaseName = p.new.ref.Canonical()
			}
		}
	}
	return nil
}

// newBaseRef is --new-base, or the old base's tag.
func newBaseRef(p *platformImage, given string) (imageref.Ref, error) {
	if given != "" {
		ref, err := imageref.Parse(given)
		if err != nil {
			return imageref.Ref{}, fmt.Errorf("--new-base: %w", err)
		}
		if ref.Tag == "" {
			return imageref.Ref{}, fmt.Errorf("--new-base %s: give the base by tag (repo:tag or repo:tag@digest): the result declares the tag it follows", given)
		}
		return ref, nil
	}
	if p.old.ref.Tag == "" {
		return imageref.Ref{}, fmt.Errorf("%s: the old base %s@%s names no tag to follow: give --new-base", p.name(), p.old.ref.Name(), p.old.digest)
	}
	return p.old.ref, nil
}

// checkPlatform refuses a new base whose OS or architecture differ from
// the image's.
func checkPlatform(p *platformImage, refuse *refusals) {
	have, want := p.new.cfg, p.cfg
	if have.OS != want.OS || have.Architecture != want.Architecture || (have.Variant != "" && want.Variant != "" && have.Variant != want.Variant) {
		refuse.add(false, fmt.Sprintf("%s: the new base %s is %s, the image is %s: OS or architecture differ", p.name(), p.new.ref, cfgPlatform(have), cfgPlatform(want)))
	}
}

func cfgPlatform(c *v1.ConfigFile) string {
	return (&v1.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}).String()
}

// withoutDigest is the reference by name and tag only.
func withoutDigest(r imageref.Ref) imageref.Ref {
	if r.Digest == "" || r.Tag == "" {
		return r
	}
	out, err := imageref.Parse(r.Name() + ":" + r.Tag)
	if err != nil {
		return r
	}
	return out
}
