package registry

import (
	"context"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Fetcher fetches the raw facts a lineage is made of. Manifests and blobs
// fetched by digest are immutable; what a tag names is not. Implementations
// are safe for concurrent use. Callers must not modify returned bytes: a
// cache shares them.
//
// The remote fetcher talks to registries; the caches and the in-flight
// sharing wrap a Fetcher as decorators.
type Fetcher interface {
	// Head resolves a reference to the descriptor of the manifest it names.
	Head(ctx context.Context, ref name.Reference) (v1.Descriptor, error)
	// Manifest fetches the manifest a reference names. A manifest fetched
	// by digest has been checked against it.
	Manifest(ctx context.Context, ref name.Reference) (*Manifest, error)
	// Blob fetches a blob of at most limit bytes, checked against its
	// digest. A larger blob is an ErrTooLarge.
	Blob(ctx context.Context, ref name.Digest, limit int64) ([]byte, error)
}

// Manifest is a manifest or an index as the registry served it.
type Manifest struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Raw       []byte
}

// Descriptor describes the manifest.
func (m *Manifest) Descriptor() v1.Descriptor {
	return v1.Descriptor{Digest: m.Digest, MediaType: m.MediaType, Size: int64(len(m.Raw))}
}

// size is what the manifest costs a cache.
func (m *Manifest) size() int64 { return int64(len(m.Raw)) + 128 }

// sniffMediaType guesses the media type of a manifest read from disk: its
// mediaType field, else an OCI index when it lists manifests, else an OCI
// image manifest.
func sniffMediaType(raw []byte) types.MediaType {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return types.OCIManifestSchema1
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType
	case probe.Manifests != nil:
		return types.OCIImageIndex
	}
	return types.OCIManifestSchema1
}
