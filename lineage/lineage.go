package lineage

import (
	"fmt"
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
	// TagVerified says, for a reference written with both a tag and a
	// digest, whether the registry confirmed that the tag names the digest
	// (or an index listing it); nil for references without both. What runs
	// is the digest: an unconfirmed tag is a claim.
	TagVerified *bool
	// AsWritten is the reference as written, tag included, when Ref had to
	// drop a tag the registry did not confirm (see DropUnconfirmedTag).
	AsWritten *imageref.Ref
	// Problems are facts that make the entry doubtful: a declaration not
	// backed by layers, an ambiguous layer match, a tag that does not name
	// the digest written beside it.
	Problems []string
	// Trust is what signs and attests the entry's image; nil when nobody
	// looked (offline, or no rule needs it).
	Trust *Trust
}

// Evidence reports whether the entry is evidence rather than a claim: the
// image itself, a Dockerfile's FROM, or a base whose layers were verified
// to be a prefix of its child's. Only evidence can satisfy an allow rule
// or an exception; a claim can still make a result worse.
func (e *Entry) Evidence() bool {
	return e.Verified || e.Source == SourceReference || e.Source == SourceDockerfile
}

// TagDisagrees begins the problem DropUnconfirmedTag records.
const TagDisagrees = "tag and digest disagree"

// DropUnconfirmedTag makes an entry whose reference was written as
// repo:tag@digest, and whose tag the registry did not confirm, the digest
// alone: rules that allow by tag no longer match it, while AsWritten keeps
// the tag for rules that deny. It does nothing to other entries.
func (e *Entry) DropUnconfirmedTag(why string) {
	if !hasTagAndDigest(e.Ref) {
		return
	}
	written := e.Ref
	e.Ref = written.DigestOnly()
	e.AsWritten = &written
	e.TagVerified = new(false)
	e.Problems = append(e.Problems, fmt.Sprintf("%s: %s; what runs is %s, judged without the tag", TagDisagrees, why, e.Ref.Familiar()))
}

// ConfirmTag records that the registry confirmed the entry's tag names its
// digest. It does nothing to references without both.
func (e *Entry) ConfirmTag() {
	if hasTagAndDigest(e.Ref) {
		e.TagVerified = new(true)
	}
}

func hasTagAndDigest(r imageref.Ref) bool {
	return r.Digest != "" && r.Tag != "" && !r.TagImplied
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
	// Digest is what the reference resolved to, an index or an image
	// manifest; empty when not resolved. It is what a tag is pinned to.
	Digest string
}

// Of is the offline lineage of a reference: the reference itself. Its tag
// is taken as written; for repo:tag@digest, TagVerified is false (nothing
// confirmed it).
func Of(r imageref.Ref, source Source) Lineage {
	e := Entry{Ref: r, Digest: r.Digest, Source: source}
	if hasTagAndDigest(r) {
		e.TagVerified = new(false)
	}
	return Lineage{Entries: []Entry{e}}
}

// Unconfirmed is the lineage of a reference whose resolution was tried and
// failed: the reference itself, without a tag written beside a digest
// (nothing confirmed it), and err.
func Unconfirmed(r imageref.Ref, source Source, err error) Lineage {
	l := Of(r, source)
	l.Err = err
	l.Entries[0].DropUnconfirmedTag("the registry could not be asked")
	return l
}

// Bases returns the entries after the first: what the image is built on.
func (l Lineage) Bases() []Entry {
	if len(l.Entries) < 2 {
		return nil
	}
	return l.Entries[1:]
}
