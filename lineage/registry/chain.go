package registry

import (
	"context"
	"fmt"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// chain follows an image's bases until one has none, is not verified, or
// the depth bound is reached. A failure other than a fact about a base
// (see permanent) ends the chain with Err set; what was found stays.
func (r *resolver) chain(ctx context.Context, ref imageref.Ref, img *image) lineage.Lineage {
	l := lineage.Lineage{Resolved: true, Entries: []lineage.Entry{{
		Ref: ref, Digest: img.digest.String(), Source: lineage.SourceReference,
		Verified: true, Created: img.config.Created.Time,
	}}}
	seen := map[v1.Hash]bool{img.digest: true}
	start := time.Now()
	for depth := 0; ; depth++ {
		last := &l.Entries[len(l.Entries)-1]
		if depth == r.maxDepth {
			last.Problems = append(last.Problems, fmt.Sprintf("lineage is deeper than %d images: not followed further", r.maxDepth))
			return l
		}
		f, err := r.base(ctx, img, seen)
		if err != nil {
			l.Err = fmt.Errorf("resolving base of %s: %w", last.Ref, explainDeadline(ctx, start, err))
			return l
		}
		last.Problems = append(last.Problems, f.problems...)
		if f.entry == nil {
			return l
		}
		l.Entries = append(l.Entries, *f.entry)
		if f.img == nil || !f.entry.Verified {
			return l
		}
		seen[f.img.digest] = true
		img = f.img
	}
}
