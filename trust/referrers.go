package trust

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// What cosign 3 attaches as OCI 1.1 referrers.
const (
	// mediaTypeBundlePrefix starts the media and artifact types of
	// Sigstore bundles (application/vnd.dev.sigstore.bundle.v0.3+json).
	mediaTypeBundlePrefix = "application/vnd.dev.sigstore.bundle"
	// artifactTypeInToto is the artifact type of referrers holding DSSE
	// envelopes (cosign attest without bundles, to a referrers registry).
	artifactTypeInToto = "application/vnd.in-toto+json"
	// mediaTypeEmpty is an artifact's empty config; a registry that
	// reports no artifact type may show it instead.
	mediaTypeEmpty = "application/vnd.oci.empty.v1+json"
	// annotationBundlePredicateType names a bundle referrer's predicate.
	annotationBundlePredicateType = "dev.sigstore.bundle.predicateType"
)

// referrers reads the Sigstore bundles and DSSE envelopes attached to d as
// OCI 1.1 referrers.
func (g *gatherer) referrers(ctx context.Context, d name.Digest) (found, error) {
	f := found{looked: "referrers of " + d.DigestStr()}
	list, err := g.listReferrers(ctx, d)
	switch {
	case err != nil && itemProblem(err):
		f.problems = append(f.problems, fmt.Sprintf("referrers of %s: %v", d, err))
		return f, nil
	case err != nil:
		return f, err
	}
	descs := signingReferrers(list)
	if len(descs) > maxReferrers {
		f.problems = append(f.problems, fmt.Sprintf("%s has %d referrers that may be signatures; only the first %d were read", d, len(descs), maxReferrers))
		descs = descs[:maxReferrers]
	}
	for _, desc := range descs {
		if err := g.referrer(ctx, d.Context().Digest(desc.Digest.String()), &f); err != nil {
			return f, err
		}
	}
	return f, nil
}

// listReferrers asks the fetch stack for the referrers of d or, when it
// cannot list them, reads the referrers tag schema's sha256-<hex> index.
func (g *gatherer) listReferrers(ctx context.Context, d name.Digest) (*v1.IndexManifest, error) {
	var m *registry.Manifest
	var err error
	if rl, ok := g.f.(ReferrerLister); ok {
		m, err = rl.Referrers(ctx, d)
	} else {
		m, err = g.f.Manifest(ctx, tagFor(d, ""))
	}
	switch {
	case err != nil && absent(err):
		return &v1.IndexManifest{}, nil
	case err != nil:
		return nil, err
	case m == nil:
		return &v1.IndexManifest{}, nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return nil, fmt.Errorf("%w: the referrers list: %w", ErrMalformed, err)
	}
	return im, nil
}

// signingReferrers keeps the referrers that may hold signatures or
// attestations, bundles first.
func signingReferrers(im *v1.IndexManifest) []v1.Descriptor {
	var first, then []v1.Descriptor
	for _, d := range im.Manifests {
		switch at := d.ArtifactType; {
		case strings.HasPrefix(at, mediaTypeBundlePrefix):
			first = append(first, d)
		case at == artifactTypeInToto || at == "" || at == mediaTypeEmpty:
			then = append(then, d)
		}
	}
	return append(first, then...)
}

// referrer reads one referrer manifest: its bundle or envelope layers.
func (g *gatherer) referrer(ctx context.Context, ref name.Digest, f *found) error {
	m, err := g.f.Manifest(ctx, ref)
	if err != nil {
		if itemProblem(err) {
			f.problems = append(f.problems, fmt.Sprintf("referrer %s: %v", ref, err))
			return nil
		}
		return err
	}
	im, err := v1.ParseManifest(bytes.NewReader(m.Raw))
	if err != nil {
		f.problems = append(f.problems, fmt.Sprintf("referrer %s: %v: %v", ref, ErrMalformed, err))
		return nil
	}
	if !mayMatter(im.Annotations[annotationBundlePredicateType]) {
		return nil
	}
	where := ref.String()
	for _, l := range firstLayers(im, where, f) {
		switch {
		case strings.HasPrefix(string(l.MediaType), mediaTypeBundlePrefix):
			s, isSig, err := g.bundleLayer(ctx, ref.Context(), l, where)
			if err != nil {
				return err
			}
			if isSig {
				f.sigs = append(f.sigs, s)
			} else {
				f.atts = append(f.atts, s)
			}
		case l.MediaType == mediaTypeDSSE:
			a, err := g.envelopeLayer(ctx, ref.Context(), l, lineage.LayoutReferrer, where)
			if err != nil {
				return err
			}
			f.atts = append(f.atts, a)
		}
	}
	return nil
}

// bundleLayer reads a Sigstore bundle. Its statement's predicate type
// says whether it is a signature (cosign 3's sign/v1) or an attestation.
func (g *gatherer) bundleLayer(ctx context.Context, repo name.Repository, l v1.Descriptor, where string) (lineage.Signed, bool, error) {
	s := lineage.Signed{Layout: lineage.LayoutReferrer, Where: where}
	b, err := g.blob(ctx, repo, l, maxAttestationBytes)
	if err != nil {
		if !itemProblem(err) {
			return s, false, err
		}
		s.Problem = fmt.Sprintf("reading bundle %s: %v", l.Digest, err)
		return s, false, nil
	}
	sb, body, err := parseBundle(b)
	if err != nil {
		s.Problem = err.Error()
		return s, false, nil
	}
	if err := describeStatement(&s, body); err != nil {
		s.Problem = err.Error()
		return s, false, nil
	}
	s.Verifier = &bundleSignature{b: sb}
	isSig := s.PredicateType == PredicateCosignSign
	if isSig {
		s.PredicateType = ""
	}
	return s, isSig, nil
}

// parseBundle reads a Sigstore bundle (sigstore-go validates its shape)
// holding a DSSE envelope, and returns the envelope's payload.
func parseBundle(b []byte) (*bundle.Bundle, []byte, error) {
	var sb bundle.Bundle
	if err := sb.UnmarshalJSON(b); err != nil {
		return nil, nil, fmt.Errorf("reading a Sigstore bundle: %w: %s", ErrMalformed, shorten(err.Error()))
	}
	env := sb.GetDsseEnvelope()
	if env == nil {
		return nil, nil, fmt.Errorf("reading a Sigstore bundle: %w: it holds a message signature (cosign sign-blob), not a DSSE envelope naming an image", ErrMalformed)
	}
	if env.GetPayloadType() != payloadTypeInToto {
		return nil, nil, fmt.Errorf("reading a Sigstore bundle: %w: payload type %q, want %s", ErrMalformed, env.GetPayloadType(), payloadTypeInToto)
	}
	return &sb, env.GetPayload(), nil
}
