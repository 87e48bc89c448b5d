package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/google/go-containerregistry/pkg/name"
)

// writesTagAndDigest reports whether ref was written as repo:tag@digest,
// whose tag is only a claim until the registry confirms it.
func writesTagAndDigest(ref imageref.Ref) bool {
	return ref.Digest != "" && ref.Tag != "" && !ref.TagImplied
}

// confirmTag asks whether the tag of a repo:tag@digest reference names its
// digest now: the tag resolves to the digest, or to an index listing it.
// When it does not (or cannot be asked), why says so in words.
func (r *resolver) confirmTag(ctx context.Context, ref imageref.Ref) (ok bool, why string) {
	tag, err := name.NewTag(ref.Name() + ":" + ref.Tag)
	if err != nil {
		return false, fmt.Sprintf("tag %s cannot be looked up: %v", ref.Tag, err)
	}
	d, err := r.f.Head(ctx, tag)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, fmt.Sprintf("tag %s does not exist in %s", ref.Tag, ref.Name())
	case err != nil:
		return false, fmt.Sprintf("looking up tag %s failed: %v", ref.Tag, err)
	case d.Digest.String() == ref.Digest:
		return true, ""
	case !d.MediaType.IsIndex():
		return false, fmt.Sprintf("tag %s names %s", ref.Tag, d.Digest)
	}
	m, err := r.f.Manifest(ctx, tag.Context().Digest(d.Digest.String()))
	if err != nil {
		return false, fmt.Sprintf("reading the index tag %s names failed: %v", ref.Tag, err)
	}
	idx, err := r.parseIndex(tag.Context(), m)
	if err != nil {
		return false, fmt.Sprintf("reading the index tag %s names failed: %v", ref.Tag, err)
	}
	for _, c := range idx.manifest.Manifests {
		if c.Digest.String() == ref.Digest {
			return true, ""
		}
	}
	return false, fmt.Sprintf("tag %s names %s, which does not list %s", ref.Tag, d.Digest, ref.Digest)
}
