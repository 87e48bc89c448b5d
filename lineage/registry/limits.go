package registry

import "time"

// Defaults. Each can be changed with an Option.
const (
	// DefaultTimeout bounds one Resolve call whose context has no deadline:
	// long enough for a cold chain over a slow registry, short enough that
	// a CLI never looks hung.
	DefaultTimeout = 30 * time.Second
	// DefaultTagTTL is how long a tag→digest resolution is trusted: tags
	// move, but a few minutes of staleness saves a request per image.
	DefaultTagTTL = 5 * time.Minute
	// DefaultNegativeTTL is how long a 401, 403 or 404 is remembered: long
	// enough to absorb a burst of pods with the same bad image, short enough
	// that a push or a new pull secret is seen soon.
	DefaultNegativeTTL = 30 * time.Second
	// DefaultMemoryBytes bounds the in-memory cache of manifests and blobs:
	// a few thousand images' facts, well within the webhook's budget.
	DefaultMemoryBytes = 64 << 20
	// DefaultMaxTags bounds the number of remembered tag resolutions and
	// negative entries.
	DefaultMaxTags = 16384
	// DefaultMaxDepth bounds how far the resolver follows base of base:
	// real chains are 2 to 4 deep; more is a loop or an attack.
	DefaultMaxDepth = 8
)

// Limits bound what is read from a registry.
type Limits struct {
	// Manifest bounds manifests and indexes. The OCI distribution spec has
	// registries accept manifests of at least 4 MiB; nothing larger is a
	// base image's.
	Manifest int64
	// Config bounds image configs, which are a few KiB to a few hundred.
	Config int64
	// Attestation bounds in-toto attestation layers; SLSA provenance with
	// mode=max can reach megabytes.
	Attestation int64
}

// DefaultLimits are the limits used unless WithLimits says otherwise.
var DefaultLimits = Limits{Manifest: 4 << 20, Config: 4 << 20, Attestation: 16 << 20}

func (l Limits) blob() int64 { return max(l.Config, l.Attestation) }
