package registry

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// provenance reads the SLSA provenance BuildKit attached to the image:
// the attestation manifests that refer to it (see attestations), and
// their in-toto layers of a provenance predicate type.
func (r *resolver) provenance(ctx context.Context, child *image) (group, error) {
	atts, note, err := r.attestations(ctx, child)
	if err != nil {
		return r.attestationProblem(err)
	}
	var ms []imageMaterial
	found := false
	for _, a := range atts {
		got, ok, err := r.attestation(ctx, child, a)
		if err != nil {
			return r.attestationProblem(err)
		}
		ms, found = append(ms, got...), found || ok
	}
	g := materials(ms)
	if !found && note != "" {
		g.problems = append(g.problems, note)
	}
	return g, nil
}

// attestation fetches one attestation manifest and the provenance
// statements in it; ok is false when it is not about the image: a
// manifest found among referrers whose own subject is another image.
func (r *resolver) attestation(ctx context.Context, child *image, a attestationRef) (ms []imageMaterial, ok bool, err error) {
	m, err := r.f.Manifest(ctx, a.repo.Digest(a.digest.String()))
	if err != nil {
		return nil, false, err
	}
	mf, err := parseImageManifest(m)
	if err != nil {
		return nil, false, err
	}
	if a.bySubject && (mf.Subject == nil || mf.Subject.Digest != child.digest) {
		return nil, false, nil
	}
	for _, l := range mf.Layers {
		pt := l.Annotations[annotationPredicateType]
		if pt != predicateSLSA02 && pt != predicateSLSA1 {
			continue
		}
		got, err := r.statement(ctx, a.repo, l)
		if err != nil {
			return nil, false, err
		}
		ms = append(ms, got...)
	}
	return ms, true, nil
}

// statement fetches and parses one provenance layer.
func (r *resolver) statement(ctx context.Context, repo name.Repository, l v1.Descriptor) ([]imageMaterial, error) {
	if l.Size > r.limits.Attestation {
		return nil, fmt.Errorf("fetching attestation %s: %w: %d bytes, more than the limit of %d", l.Digest, ErrTooLarge, l.Size, r.limits.Attestation)
	}
	raw, err := r.f.Blob(ctx, repo.Digest(l.Digest.String()), r.limits.Attestation)
	if err != nil {
		return nil, fmt.Errorf("fetching attestation %s: %w", l.Digest, err)
	}
	return parseProvenance(raw)
}

// attestationProblem keeps a broken or missing attestation as a problem
// and fails on anything else.
func (r *resolver) attestationProblem(err error) (group, error) {
	if permanent(err) {
		return group{problems: []string{"provenance attestation unusable: " + err.Error()}}, nil
	}
	return group{}, err
}

// materials turns provenance materials into a group of candidates.
func materials(ms []imageMaterial) group {
	ds := make([]declaredBase, len(ms))
	ps := make([]*v1.Platform, len(ms))
	for i, m := range ms {
		ds[i] = declaredBase{Name: m.Ref, Digest: m.Digest}
		if m.Platform != "" {
			ps[i], _ = v1.ParsePlatform(m.Platform)
		}
	}
	return inputs(ds, ps, lineage.SourceProvenance)
}
