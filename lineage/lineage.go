package lineage

import (
	"time"

	"github.com/baseguard/baseguard/imageref"
)

// Source says where a lineage entry came from.
type Source string

// The sources of lineage facts, in the vocabulary of the output contract.
const (
	SourceReference  Source = "reference"  // the image itself
	SourceDockerfile Source = "dockerfile" // a FROM line
	SourceAnnotation Source = "annotation" // org.opencontainers.image.base.* on manifest, index or config
	SourceProvenance Source = "provenance" // SLSA materials / resolvedDependencies in BuildKit attestations
	SourceBuildinfo  Source = "buildinfo"  // legacy moby.buildkit.buildinfo.v1
	SourceBuildpacks Source = "buildpacks" // io.buildpacks.lifecycle.metadata runImage
	SourceLayers     Source = "layers"     // DiffID prefix match against a catalog of known bases
)

// Entry is one image in a lineage.
type Entry struct {
	Ref      imageref.Ref
	Digest   string
	Source   Source
	Verified bool
	// Created is the image's creation time, zero when unknown.
	Created time.Time
	// Current reports whether the reference's tag still resolves to Digest;
	// nil when not checked. LatestDigest is what the tag resolves to now.
	Current      *bool
	LatestDigest string
	// Problems are facts that make the entry doubtful: a declaration not
	// backed by layers, an ambiguous layer match.
	Problems []string
}

// Lineage is an image and what it is built on, image first.
type Lineage struct {
	Entries []Entry
	// Resolved reports that a resolver looked the image up; when false the
	// lineage is only what was written (the image itself, or a FROM line)
	// and rules about bases cannot be decided.
	Resolved bool
	// Err is why resolution failed, when it did.
	Err error
}

// Of is the offline lineage of a reference: the reference itself.
func Of(r imageref.Ref, source Source) Lineage {
	return Lineage{Entries: []Entry{{Ref: r, Digest: r.Digest, Source: source}}}
}

// Bases returns the entries after the first: what the image is built on.
func (l Lineage) Bases() []Entry {
	if len(l.Entries) < 2 {
		return nil
	}
	return l.Entries[1:]
}
