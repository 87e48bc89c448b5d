package rebase

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-containerregistry/pkg/name"
)

// judge applies the policies to the lineage each rebased platform would
// have: the result, the new base, and what the new base is built on. The
// result and its new base are verified by construction. Without policies
// nothing is judged.
func (r *Rebaser) judge(ctx context.Context, src *source, req Request, dst name.Reference, refuse *refusals) error {
	if r.o.Policies == nil {
		return nil
	}
	result, err := imageref.Parse(dst.Context().String() + ":" + tagOf(dst, src))
	if err != nil {
		return fmt.Errorf("naming the result: %w", err)
	}
	sub := imageSubject(result.Canonical(), req.Labels)
	for _, p := range src.platforms {
		if !p.selected || p.current {
			continue
		}
		l, err := r.wouldBe(ctx, result, p)
		if err != nil {
			return err
		}
		for _, res := range r.o.Policies.Evaluate(sub, l, r.o.Now()) {
			src.warnings = append(src.warnings, judgeResult(p, res, req.Force, refuse)...)
		}
	}
	return nil
}

// judgeResult refuses on a failed or undecidable rule, and returns the
// warnings a rebase goes ahead despite: warn results, and failures
// overridden by force.
func judgeResult(p *platformImage, res policy.Result, force bool, refuse *refusals) []string {
	what := fmt.Sprintf("%s: policy %s rule %s: %s", p.name(), res.Policy.Metadata.Name, res.Rule.Name, res.Reason)
	switch {
	case res.Status == policy.StatusWarn:
		return []string{what}
	case res.Status != policy.StatusFail && res.Status != policy.StatusError:
		return nil
	case force:
		return []string{what + " (overridden by --force)"}
	}
	refuse.add(true, what)
	return nil
}

// wouldBe is the lineage the rebased platform image would have.
func (r *Rebaser) wouldBe(ctx context.Context, result imageref.Ref, p *platformImage) (lineage.Lineage, error) {
	base := p.new.ref
	pinned := base
	pinned.Digest = p.new.digest.String()
	l := r.o.Lineage.Lineage(ctx, pinned)
	if l.Err != nil {
		return lineage.Lineage{}, fmt.Errorf("resolving the lineage of the new base %s: %w", base, l.Err)
	}
	nb := lineage.Entry{Ref: base, Digest: p.new.digest.String(), Source: lineage.SourceAnnotation, Verified: true, Created: p.new.cfg.Created.Time}
	if p.new.byTag {
		// Fetched by its tag just now: current by definition.
		nb.Current, nb.LatestDigest = new(true), nb.Digest
	}
	entries := []lineage.Entry{
		{Ref: result, Source: lineage.SourceReference, Verified: true, Created: p.cfg.Created.Time},
		nb,
	}
	entries = append(entries, l.Bases()...)
	return lineage.Lineage{Entries: entries, Resolved: true}, nil
}

// imageSubject is an image judged on its own, outside any cluster: as a
// Pod with the given labels in a namespace with none, as Dockerfiles are.
func imageSubject(image string, labels map[string]string) *subject.Subject {
	return &subject.Subject{
		Resource: &subject.Resource{Kind: "Pod", Name: image, Labels: labels, NamespaceLabels: map[string]string{}},
		Field:    "image",
		Image:    image,
		Source:   lineage.SourceReference,
	}
}

// tagOf is the tag the result is named by: the destination's, else the
// image's (an image given by digest keeps its repository's name).
func tagOf(dst name.Reference, src *source) string {
	if t, ok := dst.(name.Tag); ok {
		return t.TagStr()
	}
	if src.ref.Tag != "" {
		return src.ref.Tag
	}
	return "latest"
}
