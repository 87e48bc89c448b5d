// Package registry resolves the lineage of container images from OCI
// registries: what an image is built on, what that is built on, and so on.
//
// # Resolving
//
// A Resolver looks a reference up and returns a lineage per platform
// (Result.Platforms); an index resolves every platform, ForPlatform picks
// one, OnlyPrimary the one a single answer is given for (linux/amd64 when
// present, else the first; Result.Primary). Attestation manifests are never
// platforms. Client.Lineage gives the primary platform's lineage.Lineage,
// as policy evaluation wants it.
//
// For each image the base is looked for, in order, in: the OCI annotations
// org.opencontainers.image.base.name/.digest of the manifest, then of the
// index; SLSA provenance (v0.2 materials, v1 resolvedDependencies) in
// BuildKit attestation manifests (for an image reached by its platform
// digest, as ko and crane declare bases: through the index its declared
// tag or digest names when that lists it, else the registry's referrers of
// the image, whose subject must be it; when its tag has moved and neither
// finds one, the lineage says so); the legacy moby.buildkit.buildinfo.v1
// config key; Buildpacks' io.buildpacks.lifecycle.metadata run image; the
// base annotations as config labels; and the catalog of known bases
// (WithCatalog), by layers. A base is verified when its DiffIDs are a
// prefix of the image's; provenance and buildinfo list builder stages too,
// so the input whose layers are the longest prefix is the base, and a tie
// between different images is reported as ambiguous, never guessed. A
// declared base that is not verified stays in the lineage, unverified and
// with a problem, unless a verified one is found. Each verified base is
// followed in turn, at most DefaultMaxDepth deep, never twice. Each base
// with a tag is checked for freshness: Current when its tag still names
// the digest found (or an index holding it).
//
// # Fetching and caching
//
// Facts are fetched through a Fetcher; caching and sharing are decorators
// around it, built by New, outermost first:
//
//   - ShareInFlight: concurrent requests for the same fact make one fetch.
//   - CacheInMemory: manifests and blobs by digest in an LRU bounded by
//     bytes (DefaultMemoryBytes), tag resolutions and referrers lists for
//     DefaultTagTTL, and
//     401/403/404 answers for DefaultNegativeTTL. Timeouts, 5xx answers and
//     cancelled fetches are never remembered. Lineages, decisions and
//     anything derived are never cached: only what registries said.
//   - CacheOnDisk (WithDiskCache, for the CLI; DefaultCacheDir is
//     baseguard under os.UserCacheDir): manifests and blobs by digest,
//     checked against their digest when read, and tag resolutions and
//     referrers lists for DefaultTagTTL, so a re-run within that time makes
//     no request.
//   - NewRemote: one remote.Puller per Client, credentials from
//     authn.DefaultKeychain (WithKeychain to change; the webhook makes a
//     Client per set of pull secrets, so caches never cross credentials), retries with backoff
//     on 408, 429 and 5xx, and reads bounded by DefaultLimits (manifests
//     4 MiB, configs 4 MiB, attestations 16 MiB), digests verified.
//     WithOffline replaces it by Offline, which fails every miss with
//     ErrOffline.
//
// Every Resolve call runs under its context's deadline, or DefaultTimeout.
// Errors wrap ErrNotFound, ErrUnauthorized, ErrUnavailable, ErrTooLarge,
// ErrMalformed, ErrOffline, *PlatformError, or context.DeadlineExceeded.
package registry
