package rebase

import (
	"context"
	"fmt"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// built is the rebased image or index.
type built struct {
	img    v1.Image
	index  v1.ImageIndex
	digest v1.Hash
}

// assemble makes the result: the rebased image, or an index with every
// platform of the original in its order (rebased or as it was), its
// annotations, and the new base's annotations when every platform moved
// onto one base; attestation manifests are left out.
func (s *source) assemble() (built, error) {
	if s.index == nil {
		img := s.platforms[0].result
		return built{img: img, digest: digestOf(img)}, nil
	}
	var adds []mutate.IndexAddendum
	for _, p := range s.platforms {
		img, desc := p.img, p.desc
		if p.result != nil {
			img = p.result
			desc = v1.Descriptor{Platform: p.desc.Platform, Annotations: p.desc.Annotations, URLs: p.desc.URLs}
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: desc})
	}
	base := mutate.IndexMediaType(empty.Index, s.indexManifest.MediaType)
	idx := mutate.AppendManifests(base, adds...)
	ann := maps.Clone(s.indexManifest.Annotations)
	if s.newBase != nil {
		if ann == nil {
			ann = map[string]string{}
		}
		ann[annotationBaseName] = s.newBaseName
		ann[annotationBaseDigest] = s.newBase.desc.Digest.String()
	} else {
		// Platforms moved onto different bases: no one base to declare.
		delete(ann, annotationBaseName)
		delete(ann, annotationBaseDigest)
	}
	if len(ann) > 0 {
		idx = mutate.Annotations(idx, ann).(v1.ImageIndex)
	}
	d, err := idx.Digest()
	if err != nil {
		return built{}, fmt.Errorf("assembling the index: %w", err)
	}
	return built{index: idx, digest: d}, nil
}

// push writes the result: blobs already in the destination are skipped,
// blobs of the same registry mounted.
func (r *Rebaser) push(ctx context.Context, dst name.Reference, out built, res *Result) error {
	if _, byDigest := dst.(name.Digest); byDigest {
		dst = dst.Context().Digest(out.digest.String())
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.Reuse(r.pusher)}
	var err error
	if out.index != nil {
		err = remote.WriteIndex(dst, out.index, opts...)
	} else {
		err = remote.Write(dst, out.img, opts...)
	}
	if err != nil {
		return fmt.Errorf("pushing %s: %w", res.Result, err)
	}
	return nil
}
