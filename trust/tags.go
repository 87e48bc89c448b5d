package trust

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// What cosign's tag layout writes.
const (
	// annotationSignature holds a layer's signature, base64.
	annotationSignature = "dev.cosignproject.cosign/signature"
	// mediaTypeSimpleSigning is a .sig layer's media type.
	mediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	// mediaTypeDSSE is a .att layer's media type.
	mediaTypeDSSE = "application/vnd.dsse.envelope.v1+json"
	// annotationPredicateType names a .att layer's predicate type.
	annotationPredicateType = "predicateType"
)

// mayMatter reports whether an attestation whose manifest or layer says it
// has predicate type t may be a signature or a scan. The annotation is not
// signed: trusting it can only hide a scan, which fails, never pass one.
// SBOMs and provenance, often megabytes, are not read.
func mayMatter(t string) bool {
	return t == "" || t == PredicateCosignSign || isVulnPredicate(t)
}

// tagLayers reads repo:sha256-<hex>.<suffix>, the manifest cosign's tag
// layout keeps beside d: what was found so far, where the manifest is, and
// its first layers; no layers when there is no such tag, or when it could
// not be read (a problem, said in the found). The error is one that ends
// the gathering.
func (g *gatherer) tagLayers(ctx context.Context, d name.Digest, suffix string) (found, string, []v1.Descriptor, error) {
	tag := tagFor(d, suffix)
	f := found{looked: "tag " + tag.TagStr()}
	m, md, err := g.attached(ctx, tag)
	switch {
	case err != nil && itemProblem(err):
		f.problems = append(f.problems, fmt.Sprintf("%s: %v", tag, err))
		return f, "", nil, nil
	case err != nil:
		return f, "", nil, err
	case m == nil:
		return f, "", nil, nil
	}
	where := d.Context().Digest(md.String()).String()
	layers := firstLayers(m, where, &f)
	return f, where, layers, nil
}

// tagSignatures reads repo:sha256-<hex>.sig: one simple-signing payload
// per layer, its signature in the layer's annotation.
func (g *gatherer) tagSignatures(ctx context.Context, d name.Digest) (found, error) {
	f, where, layers, err := g.tagLayers(ctx, d, "sig")
	if err != nil {
		return f, err
	}
	for _, l := range layers {
		s, err := g.simpleSignature(ctx, d.Context(), l, where)
		if err != nil && !itemProblem(err) {
			return f, err
		}
		if err != nil {
			s = lineage.Signed{Layout: lineage.LayoutTag, Where: where, Problem: err.Error()}
		}
		f.sigs = append(f.sigs, s)
	}
	return f, nil
}

func (g *gatherer) simpleSignature(ctx context.Context, repo name.Repository, l v1.Descriptor, where string) (lineage.Signed, error) {
	s := lineage.Signed{Layout: lineage.LayoutTag, Where: where}
	if l.MediaType != mediaTypeSimpleSigning {
		return s, fmt.Errorf("%w: layer %s has media type %q, not a simple-signing payload", ErrMalformed, l.Digest, l.MediaType)
	}
	sig, err := decodeBase64(l.Annotations[annotationSignature])
	if err != nil || len(sig) == 0 {
		return s, fmt.Errorf("%w: layer %s has no signature annotation (%s)", ErrMalformed, l.Digest, annotationSignature)
	}
	payload, err := g.blob(ctx, repo, l, maxPayloadBytes)
	if err != nil {
		return s, fmt.Errorf("reading signature payload %s: %w", l.Digest, err)
	}
	d, err := parseSimpleSigning(payload)
	if err != nil {
		return s, err
	}
	s.Digests = []string{d}
	s.Verifier = &simpleSignature{payload: payload, sig: sig}
	return s, nil
}

// tagAttestations reads repo:sha256-<hex>.att: one DSSE envelope per
// layer.
func (g *gatherer) tagAttestations(ctx context.Context, d name.Digest) (found, error) {
	f, where, layers, err := g.tagLayers(ctx, d, "att")
	if err != nil {
		return f, err
	}
	for _, l := range layers {
		if !mayMatter(l.Annotations[annotationPredicateType]) {
			continue
		}
		a, err := g.envelopeLayer(ctx, d.Context(), l, lineage.LayoutTag, where)
		if err != nil {
			return f, err
		}
		f.atts = append(f.atts, a)
	}
	return f, nil
}

// envelopeLayer reads a layer holding a DSSE envelope. A failure that is a
// fact about the layer is its Problem.
func (g *gatherer) envelopeLayer(ctx context.Context, repo name.Repository, l v1.Descriptor, layout, where string) (lineage.Signed, error) {
	a := lineage.Signed{Layout: layout, Where: where}
	b, err := g.blob(ctx, repo, l, maxAttestationBytes)
	if err != nil {
		if !itemProblem(err) {
			return a, err
		}
		a.Problem = fmt.Sprintf("reading attestation %s: %v", l.Digest, err)
		return a, nil
	}
	env, body, err := parseEnvelope(b)
	if err != nil {
		a.Problem = err.Error()
		return a, nil
	}
	if err := describeStatement(&a, body); err != nil {
		a.Problem = err.Error()
		return a, nil
	}
	a.Verifier = &envelopeSignature{env: env, body: body}
	return a, nil
}

// describeStatement fills what an attestation says from its statement:
// the digests, the predicate type, and a scan.
func describeStatement(a *lineage.Signed, body []byte) error {
	st, digests, err := parseStatement(body)
	if err != nil {
		return err
	}
	a.Digests, a.PredicateType = digests, st.PredicateType
	if isVulnPredicate(st.PredicateType) {
		scan, err := parseVulnPredicate(st.Predicate)
		if err != nil {
			a.ScanErr = err.Error()
		}
		a.Scan = scan
	}
	return nil
}
