package registry

import (
	"context"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
)

// Lineage resolves ref and returns the lineage of its primary platform
// (linux/amd64 when present, else the first), or of the platform ForPlatform
// names, with Resolved set. When the image itself cannot be resolved, the
// lineage is the reference alone with Err set (without a tag written beside
// a digest: nothing confirmed it); a failure further down keeps what was
// found, with Err set. For repo:tag@digest, the image's entry says whether
// the registry confirmed the tag (Entry.TagVerified); when it did not, the
// entry is the digest alone (Entry.DropUnconfirmedTag).
func (c *Client) Lineage(ctx context.Context, ref imageref.Ref, opts ...ResolveOption) lineage.Lineage {
	return LineageOf(ctx, c, ref, opts...)
}

// LineageOf is Client.Lineage for any Resolver.
func LineageOf(ctx context.Context, r Resolver, ref imageref.Ref, opts ...ResolveOption) lineage.Lineage {
	if len(opts) == 0 {
		opts = []ResolveOption{OnlyPrimary()}
	}
	res, err := r.Resolve(ctx, ref, opts...)
	if err != nil {
		return lineage.Unconfirmed(ref, lineage.SourceReference, err)
	}
	p, ok := res.Primary()
	if !ok {
		return lineage.Unconfirmed(ref, lineage.SourceReference, fmt.Errorf("resolving %s: no platform image", ref))
	}
	return p.Lineage
}

// CatalogRefs turns policy catalog patterns into the references to
// resolve. A literal pattern is a reference; a wildcard pattern names no
// image that could be fetched and is returned as a note instead.
func CatalogRefs(ps []policy.Pattern) (refs []imageref.Ref, notes []string) {
	seen := map[string]bool{}
	for _, p := range ps {
		if !p.Literal() {
			notes = append(notes, fmt.Sprintf("catalog pattern %q has wildcards and is ignored: list base images by tag or digest", p.String()))
			continue
		}
		ref, err := imageref.Parse(p.String())
		if err != nil {
			notes = append(notes, fmt.Sprintf("catalog pattern %q is ignored: %v", p.String(), err))
			continue
		}
		if !seen[ref.Canonical()] {
			seen[ref.Canonical()] = true
			refs = append(refs, ref)
		}
	}
	return refs, notes
}
