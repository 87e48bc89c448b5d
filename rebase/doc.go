// Package rebase moves images onto newer bases and keeps Dockerfiles on
// current, approved ones: day-two operations on what lineage resolution
// finds.
//
// # Rebase
//
// Rebaser.Rebase replaces an image's base layers with a new base's, as
// go-containerregistry's mutate.Rebase does (and crane rebase, pack
// rebase), with checks around it. The old base comes from the image's
// lineage (annotations, provenance, Buildpacks run image, or a layer
// match), or Request.OldBase; it must be verified: its layers a prefix of
// the image's. The new base is Request.NewBase or, by default, what the old
// base's tag names now. Every platform of an index is rebased onto the
// same platform of the new base and the result is one index with every
// platform of the original; attestation manifests are dropped (they
// describe a build that no longer matches). A rebase is refused, with a
// *Refusal and nothing written, when the old base is not verified, the new
// base's OS or architecture differ or it lacks a platform, the policies
// do not allow the would-be lineage, or a Buildpacks image says it is not
// rebasable (the last two unless forced).
//
// The result keeps the image's own configuration (entrypoint, environment,
// user, labels, creation time), its manifest annotations and its history
// above the base, and declares the new base with the OCI annotations
// org.opencontainers.image.base.name and .digest on every platform
// manifest and on the index; a Buildpacks image's run image metadata
// follows the new base. Layers already in the destination are skipped and
// layers from the same registry are mounted: nothing is downloaded to be
// uploaded again unless the new base lives on another registry.
//
// # Outdated and update
//
// Checker finds bases that are behind: a tag that has moved since an image
// was built on it (or since a FROM line was pinned), a newer version in the
// same repository with the same tag shape that the policies allow (3.19 →
// 3.21, 3.19-slim → 3.21-slim), or a base the policies deny. Identical
// digests are never outdated. Update rewrites Dockerfile FROM lines, or the
// ARG defaults they come from, to repo:tag@digest of current approved
// bases, leaving every other byte of the file as it was.
//
// Tag lists are cached in memory and on disk for registry.DefaultTagTTL;
// everything else is fetched through the lineage client and its caches.
package rebase
