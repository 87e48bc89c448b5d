package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// candidate is an image that may be another's base: declared by it, listed
// among its build inputs, or known to the catalog.
type candidate struct {
	ref      imageref.Ref
	digest   string       // declared digest, empty when none
	platform *v1.Platform // declared platform, nil when none
	source   lineage.Source
	topLayer string // buildpacks: DiffID of the run image's top layer
}

// group is candidates from one source.
type group struct {
	cands []candidate
	// declared: the image names one base here; if it is not verified, that
	// is reported. Otherwise the group lists inputs (builder stages
	// included) or known bases, and those that are not a prefix are just
	// not the base.
	declared bool
	// strict: a base must have fewer layers than the image (the catalog,
	// where equal layers say nothing about which is built on which).
	strict bool
	// weak: a verified base from here may be an earlier ancestor (labels
	// are inherited from base images), so later sources are still tried
	// for a longer prefix.
	weak bool
	// problems found reading the source.
	problems []string
}

// found is what base found: an entry (nil when no base is known), the
// base's image when it could be loaded, and problems of the child.
type found struct {
	entry    *lineage.Entry
	img      *image
	problems []string
}

// tried is a candidate after loading.
type tried struct {
	cand     candidate
	img      *image
	err      error
	verified bool
	note     string // more about why it is not verified
}

// base finds the base of child. Sources are tried in order: the OCI
// annotations of the manifest and of the index, provenance attestations,
// legacy buildinfo, buildpacks metadata, the annotations as labels, then
// the catalog; the first verified base wins, except that a base named by
// a label (which may be inherited) gives way to a longer catalog match. A declared base that is not verified is reported on
// the verified one, or becomes the (unverified) base when none is found.
func (r *resolver) base(ctx context.Context, child *image, seen map[v1.Hash]bool) (found, error) {
	var out found
	var chosen, fallback *tried
	for _, src := range r.sources() {
		g, err := src(ctx, child)
		if err != nil {
			return found{}, err
		}
		out.problems = append(out.problems, g.problems...)
		ts, err := r.try(ctx, child, g, seen)
		if err != nil {
			return found{}, err
		}
		best, ambiguous := longest(ts)
		if len(ambiguous) > 1 && (chosen == nil || len(best.img.diffIDs()) > len(chosen.img.diffIDs())) {
			out.problems = append(out.problems, fmt.Sprintf("ambiguous: its layers match %s equally; declare the base (org.opencontainers.image.base.name) or narrow the catalog", strings.Join(ambiguous, ", ")))
			return out, nil
		}
		if best != nil && (chosen == nil || len(best.img.diffIDs()) > len(chosen.img.diffIDs())) {
			chosen = best
		}
		if chosen != nil && !g.weak {
			break
		}
		if g.declared && fallback == nil && len(ts) > 0 && !ts[0].verified {
			fallback = &ts[0]
		}
	}
	if chosen != nil {
		return r.accept(ctx, out, chosen, fallback)
	}
	if fallback == nil {
		return out, nil
	}
	e := r.entry(ctx, fallback)
	out.entry, out.img = &e, fallback.img
	return out, nil
}

// accept makes the verified candidate the base, noting an unverified
// declaration found before it.
func (r *resolver) accept(ctx context.Context, out found, best, fallback *tried) (found, error) {
	e := r.entry(ctx, best)
	if fallback != nil {
		e.Problems = append(e.Problems, fmt.Sprintf("the image also declares base %s (%s), which %s", fallback.cand.ref, fallback.cand.source, why(fallback)))
	}
	if err := r.freshness(ctx, &e, best); err != nil {
		return found{}, err
	}
	out.entry, out.img = &e, best.img
	return out, nil
}

// entry turns a tried candidate into a lineage entry.
func (r *resolver) entry(ctx context.Context, t *tried) lineage.Entry {
	e := lineage.Entry{Ref: t.cand.ref, Digest: t.cand.digest, Source: t.cand.source, Verified: t.verified}
	if t.img != nil {
		e.Digest = t.img.digest.String()
		e.Created = t.img.config.Created.Time
	}
	if !t.verified {
		e.Problems = append(e.Problems, unverified(t))
	}
	if t.note != "" {
		e.Problems = append(e.Problems, t.note)
	}
	return e
}

// topLayerNote explains a Buildpacks run image that is not a prefix when
// the image still holds the top layer recorded at build: the run image tag
// has moved since (a daemon build records no digest to fetch instead).
func topLayerNote(c candidate, child *image, verified bool) string {
	if verified || c.topLayer == "" {
		return ""
	}
	for i, d := range child.diffIDs() {
		if d.String() == c.topLayer {
			return fmt.Sprintf("the image was built on an earlier %s: the run image's top layer %s is the image's layer %d, and the tag now names another image; rebase the image", c.ref, c.topLayer, i+1)
		}
	}
	return ""
}

// unverified says why a declared base is not verified.
func unverified(t *tried) string {
	return fmt.Sprintf("declared base %s (%s) %s", t.cand.ref, t.cand.source, why(t))
}

func why(t *tried) string {
	if t.err != nil {
		return fmt.Sprintf("could not be checked: %v", t.err)
	}
	return "is not verified: its layers are not a prefix of the image's"
}

// try loads a group's candidates and checks which are verified. A failure
// that is a fact about a candidate is kept with it; any other fails.
func (r *resolver) try(ctx context.Context, child *image, g group, seen map[v1.Hash]bool) ([]tried, error) {
	var ts []tried
	var transient error
	done := map[string]bool{}
	for _, c := range g.cands {
		key := c.ref.Canonical() + "@" + c.digest
		if done[key] {
			continue
		}
		done[key] = true
		img, err := r.loadCandidate(ctx, c, child.platform)
		if err != nil && !permanent(err) && !isPlatformError(err) {
			if g.declared {
				return nil, err
			}
			transient = err // fatal only if no other input is the base
			continue
		}
		t := tried{cand: c, img: img, err: err}
		switch {
		case img == nil:
		case seen[img.digest]:
			t.err = errors.New("it is already in the lineage (a cycle)")
		default:
			t.verified = isPrefix(img.diffIDs(), child.diffIDs(), g.strict)
			t.note = topLayerNote(c, child, t.verified)
		}
		if g.declared || t.verified {
			ts = append(ts, t)
		}
	}
	if transient != nil && len(ts) == 0 {
		return nil, transient
	}
	return ts, nil
}

// loadCandidate loads the candidate's image for the child's platform.
func (r *resolver) loadCandidate(ctx context.Context, c candidate, childPlatform *v1.Platform) (*image, error) {
	ref := c.ref
	if c.digest != "" {
		ref.Digest = c.digest
	}
	nref, err := toName(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	want := c.platform
	if want == nil {
		want = childPlatform
	}
	img, err := r.load(ctx, nref, want)
	if err != nil {
		return nil, err
	}
	img.ref, img.declared = c.ref, c.digest
	return img, nil
}

// longest returns the verified candidate with the most layers, or, when
// several different images share that length, their names.
func longest(ts []tried) (*tried, []string) {
	var best *tried
	var names []string
	for i := range ts {
		t := &ts[i]
		switch {
		case !t.verified:
		case best == nil || len(t.img.diffIDs()) > len(best.img.diffIDs()):
			best, names = t, []string{t.cand.ref.Canonical()}
		case len(t.img.diffIDs()) == len(best.img.diffIDs()) && !slices.Contains(names, t.cand.ref.Canonical()):
			names = append(names, t.cand.ref.Canonical())
		}
	}
	return best, names
}

// isPrefix reports whether base's layers are a prefix of child's; strict
// asks for a proper prefix. A base without layers verifies nothing.
func isPrefix(base, child []v1.Hash, strict bool) bool {
	if len(base) == 0 || len(base) > len(child) || (strict && len(base) == len(child)) {
		return false
	}
	return slices.Equal(base, child[:len(base)])
}

func isPlatformError(err error) bool {
	var pe *PlatformError
	return errors.As(err, &pe)
}
