package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// offlineFetcher stands in for the network when it may not be used: every
// fact it is asked for is a miss of the caches above it.
type offlineFetcher struct{}

var _ Fetcher = offlineFetcher{}

// Offline is a Fetcher that never uses the network; wrapped in caches, it
// answers only what they hold: images by digest, and by tag within
// DefaultTagTTL of the run that resolved the tag.
func Offline() Fetcher { return offlineFetcher{} }

func (offlineFetcher) Head(_ context.Context, ref name.Reference) (v1.Descriptor, error) {
	return v1.Descriptor{}, fmt.Errorf("looking up %s: %w%s", ref, ErrOffline, tagHint(ref))
}

func (offlineFetcher) Manifest(_ context.Context, ref name.Reference) (*Manifest, error) {
	return nil, fmt.Errorf("fetching manifest %s: %w%s", ref, ErrOffline, tagHint(ref))
}

func (offlineFetcher) Blob(_ context.Context, ref name.Digest, _ int64) ([]byte, error) {
	return nil, fmt.Errorf("fetching blob %s: %w", ref, ErrOffline)
}

func tagHint(ref name.Reference) string {
	if _, ok := ref.(name.Tag); ok {
		return " (tag resolutions are not cached on disk: give the image by digest)"
	}
	return ""
}
