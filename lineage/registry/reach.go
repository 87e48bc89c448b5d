package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// An image reached by its platform digest (ko and crane declare bases so)
// is outside the index BuildKit attached its provenance to. These find
// that provenance anyway.

// maxReferrers bounds the referrers fetched for one image: BuildKit
// attaches one attestation manifest per image; more are other tools'.
const maxReferrers = 4

const (
	// artifactTypeAttestation is the artifact type of BuildKit's
	// attestation manifests when they carry a subject (oci-artifact=true,
	// the default since BuildKit 0.31's compatibility version).
	artifactTypeAttestation = "application/vnd.docker.attestation.manifest.v1+json"
	// mediaTypeEmptyJSON is the config of an artifact; registries that
	// report a referrer's config media type as its artifact type show it.
	mediaTypeEmptyJSON = "application/vnd.oci.empty.v1+json"
)

// attestationRef is an attestation manifest of an image.
type attestationRef struct {
	repo   name.Repository
	digest v1.Hash
	// bySubject: found among the image's referrers, so its manifest's
	// subject must be the image. An index entry is bound to the image by
	// its vnd.docker.reference.digest annotation instead.
	bySubject bool
}

// attestations finds the attestation manifests of an image: in its index
// (the one it was picked from or, for an image reached by its own digest,
// the index its reference names when that lists it), else, for an image
// reached by its own digest and not known to stand alone, among the
// registry's referrers of the image. note says that none could be reached
// when the reference now names an index without the image, for when no
// referrer turns out to be an attestation of the image.
func (r *resolver) attestations(ctx context.Context, child *image) (refs []attestationRef, note string, err error) {
	w, err := r.indexOf(ctx, child)
	if err != nil {
		return nil, "", err
	}
	if w.index != nil {
		if d, ok := attestationIn(w.index, child.digest); ok {
			return []attestationRef{{repo: w.index.repo, digest: d.Digest}}, "", nil
		}
		return nil, "", nil
	}
	if w.standalone || !reachedByDigest(child) {
		return nil, "", nil
	}
	refs, problem, err := r.referrerAttestations(ctx, child)
	if err != nil || w.moved == "" {
		return refs, "", err
	}
	if problem == "" {
		problem = "no attestation refers to it"
	}
	return refs, fmt.Sprintf("provenance not found: %s, and %s; only the catalog can tell its base, by layers", w.moved, problem), nil
}

// where is what the reference an image was reached by says about its
// index.
type where struct {
	index      *index // the index holding the image, nil when none was found
	standalone bool   // the reference names the image itself: it has no index
	moved      string // the reference now names an index without the image
}

// indexOf is the index child was picked from or, for an image reached by
// its own digest, the index its reference names (by another digest, else
// by tag) when that lists the image.
func (r *resolver) indexOf(ctx context.Context, child *image) (where, error) {
	if child.index != nil {
		return where{index: child.index}, nil
	}
	var tries []name.Reference
	if d := child.ref.Digest; d != "" && d != child.digest.String() {
		tries = append(tries, child.repo.Digest(d))
	}
	if t := child.ref.Tag; t != "" {
		tries = append(tries, child.repo.Tag(t))
	}
	var w where
	for _, ref := range tries {
		m, err := r.f.Manifest(ctx, ref)
		switch {
		case err != nil && !permanent(err) && !errors.Is(err, ErrOffline):
			return where{}, err
		case err != nil:
			continue // gone, private or offline: the referrers may still tell
		case m.Digest == child.digest:
			return where{standalone: true}, nil
		case !isIndex(m):
			continue
		}
		idx, err := r.parseIndex(child.repo, m)
		if err != nil {
			continue
		}
		if lists(idx, child.digest) {
			return where{index: idx}, nil
		}
		w.moved = fmt.Sprintf("%s now names index %s, which does not list this image", ref, m.Digest)
	}
	return w, nil
}

// reachedByDigest reports whether the image was reached by its own digest
// (a base declared by its platform digest), not through an index or a tag.
func reachedByDigest(child *image) bool {
	d := child.digest.String()
	return child.declared == d || child.ref.Digest == d
}

// lists reports whether an index lists the image manifest d for a platform.
func lists(idx *index, d v1.Hash) bool {
	for _, e := range platformsOf(idx.manifest) {
		if e.Digest == d {
			return true
		}
	}
	return false
}

// attestationIn finds the attestation manifest an index holds for image d:
// the entry whose vnd.docker.reference.digest names it.
func attestationIn(idx *index, d v1.Hash) (v1.Descriptor, bool) {
	for _, e := range idx.manifest.Manifests {
		if e.Annotations[annotationReferenceType] == referenceTypeAttestation &&
			e.Annotations[annotationReferenceDigest] == d.String() {
			return e, true
		}
	}
	return v1.Descriptor{}, false
}

// referrerAttestations lists the image's referrers and picks those that may
// be attestation manifests, BuildKit's artifact type first, at most
// maxReferrers. A registry that refuses the list, or sends one that does
// not parse, leaves a problem; a failing registry fails.
func (r *resolver) referrerAttestations(ctx context.Context, child *image) ([]attestationRef, string, error) {
	m, err := referrersOf(ctx, r.f, child.repo.Digest(child.digest.String()))
	switch {
	case err != nil && !permanent(err) && !errors.Is(err, ErrOffline):
		return nil, "", err
	case err != nil:
		return nil, fmt.Sprintf("its referrers could not be listed (%v)", err), nil
	case m == nil:
		return nil, "", nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, fmt.Sprintf("its referrers list is malformed (%v)", err), nil
	}
	var first, then []attestationRef
	for _, d := range im.Manifests {
		a := attestationRef{repo: child.repo, digest: d.Digest, bySubject: true}
		switch {
		case d.ArtifactType == artifactTypeAttestation || d.Annotations[annotationReferenceType] == referenceTypeAttestation:
			first = append(first, a)
		case d.ArtifactType == "" || d.ArtifactType == mediaTypeEmptyJSON:
			then = append(then, a)
		}
	}
	refs := append(first, then...)
	return refs[:min(len(refs), maxReferrers)], "", nil
}
