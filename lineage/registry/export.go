package registry

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Manifest fetches the manifest or index ref names through the client's
// caches: by digest it never changes; by tag it is what the tag named
// within DefaultTagTTL. Callers must not modify the returned bytes.
func (c *Client) Manifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	return c.f.Manifest(ctx, ref)
}

// Platforms returns the entries of an index that are images for a
// platform: not attestation manifests, not nested indexes.
func Platforms(im *v1.IndexManifest) []v1.Descriptor { return platformsOf(im) }

// IsAttestation reports whether an index entry is an attestation manifest
// (BuildKit's unknown/unknown entries) rather than an image for a platform.
func IsAttestation(d v1.Descriptor) bool { return isAttestation(d) }

// FindPlatform finds the entry for want among ds: same OS, architecture
// and variant, else the same OS and architecture with no variant on one
// side (arm64's v8 counts as none).
func FindPlatform(ds []v1.Descriptor, want v1.Platform) (v1.Descriptor, bool) {
	return findPlatform(ds, want)
}

// SamePlatform reports whether two platforms are the same for choosing an
// image: OS and architecture equal, and variants equal or one unset.
func SamePlatform(a, b v1.Platform) bool { return samePlatform(a, b, false) }
