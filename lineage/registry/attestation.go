package registry

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/lineage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// provenance reads the SLSA provenance BuildKit attached to the image's
// index: the attestation manifest that refers to the image, and its
// in-toto layers of a provenance predicate type.
func (r *resolver) provenance(ctx context.Context, child *image) (group, error) {
	att, ok := attestationFor(child)
	if !ok {
		return group{}, nil
	}
	m, err := r.f.Manifest(ctx, child.index.repo.Digest(att.Digest.String()))
	if err != nil {
		return r.attestationProblem(err)
	}
	var mf *v1.Manifest
	if mf, err = parseImageManifest(m); err != nil {
		return group{problems: []string{err.Error()}}, nil
	}
	var ms []imageMaterial
	for _, l := range mf.Layers {
		pt := l.Annotations[annotationPredicateType]
		if pt != predicateSLSA02 && pt != predicateSLSA1 {
			continue
		}
		got, err := r.statement(ctx, child, l)
		if err != nil {
			return r.attestationProblem(err)
		}
		ms = append(ms, got...)
	}
	return materials(ms), nil
}

// statement fetches and parses one provenance layer.
func (r *resolver) statement(ctx context.Context, child *image, l v1.Descriptor) ([]imageMaterial, error) {
	if l.Size > r.limits.Attestation {
		return nil, fmt.Errorf("fetching attestation %s: %w: %d bytes, more than the limit of %d", l.Digest, ErrTooLarge, l.Size, r.limits.Attestation)
	}
	raw, err := r.f.Blob(ctx, child.index.repo.Digest(l.Digest.String()), r.limits.Attestation)
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

// attestationFor finds the attestation manifest of the image in its index.
func attestationFor(child *image) (v1.Descriptor, bool) {
	if child.index == nil {
		return v1.Descriptor{}, false
	}
	for _, d := range child.index.manifest.Manifests {
		if d.Annotations[annotationReferenceType] == referenceTypeAttestation &&
			d.Annotations[annotationReferenceDigest] == child.digest.String() {
			return d, true
		}
	}
	return v1.Descriptor{}, false
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
