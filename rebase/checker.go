package rebase

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Checker finds bases that are behind and what they should be: for
// outdated and update. Create one per process; it is safe for concurrent
// use.
type Checker struct {
	o    Options
	tags *tagLister
}

// NewChecker returns a Checker.
func NewChecker(o Options) (*Checker, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	p, err := remote.NewPuller(o.remoteOptions()...)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	return &Checker{o: o, tags: newTagLister(p, o.CacheDir)}, nil
}

// tagDigest is the digest ref's tag names now: the index digest for a
// multi-platform tag.
func (c *Checker) tagDigest(ctx context.Context, ref imageref.Ref) (string, error) {
	tag, err := name.NewTag(ref.Name() + ":" + ref.Tag)
	if err != nil {
		return "", fmt.Errorf("%w %q: %w", imageref.ErrInvalid, ref.Written, err)
	}
	m, err := c.o.Lineage.Manifest(ctx, tag)
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", tag, err)
	}
	return m.Digest.String(), nil
}

// sameImage reports whether the digest a tag names now is digest, or an
// index that holds it: identical digests are never outdated.
func (c *Checker) sameImage(ctx context.Context, ref imageref.Ref, now, digest string) (bool, error) {
	if now == digest {
		return true, nil
	}
	nref, err := name.NewDigest(ref.Name() + "@" + now)
	if err != nil {
		return false, fmt.Errorf("%w %q: %w", imageref.ErrInvalid, ref.Written, err)
	}
	m, err := c.o.Lineage.Manifest(ctx, nref)
	if err != nil {
		return false, fmt.Errorf("looking up %s: %w", nref, err)
	}
	if !m.MediaType.IsIndex() {
		return false, nil
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(m.Raw))
	if err != nil {
		return false, fmt.Errorf("parsing %s: %w", nref, err)
	}
	for _, d := range im.Manifests {
		if d.Digest.String() == digest {
			return true, nil
		}
	}
	return false, nil
}

// judgement is what the policies say of a base.
type judgement struct {
	denied  bool
	reasons []string
}

// judgeBase applies the policies to an image as a base: the lineage rooted
// at it, judged by allow, deny and when rules (rules about a base's own
// base facts do not apply to it).
func (c *Checker) judgeBase(ctx context.Context, sub *subject.Subject, ref imageref.Ref, src lineage.Source) (judgement, error) {
	if c.o.Policies == nil {
		return judgement{}, nil
	}
	l := c.o.Lineage.Lineage(ctx, ref)
	if l.Err != nil {
		return judgement{}, fmt.Errorf("resolving the lineage of %s: %w", ref, l.Err)
	}
	return c.judgeLineage(sub, rootedAt(ref, src, l.Bases())), nil
}

// rootedAt is the lineage of a base: itself (named as written, verified:
// it is the image named) and what it is built on. It is not marked
// resolved, so rules about bases of bases do not judge it.
func rootedAt(ref imageref.Ref, src lineage.Source, bases []lineage.Entry) lineage.Lineage {
	entries := append([]lineage.Entry{{Ref: ref, Digest: ref.Digest, Source: src, Verified: true}}, bases...)
	return lineage.Lineage{Entries: entries}
}

func (c *Checker) judgeLineage(sub *subject.Subject, l lineage.Lineage) judgement {
	var j judgement
	for _, r := range c.o.Policies.Evaluate(sub, l, c.o.Now()) {
		if r.Status == policy.StatusFail || r.Status == policy.StatusError {
			j.denied = true
			j.reasons = append(j.reasons, fmt.Sprintf("policy %s rule %s: %s", r.Policy.Metadata.Name, r.Rule.Name, r.Reason))
		}
	}
	return j
}

// candidate is a newer version of a base.
type candidate struct {
	ref    imageref.Ref // repo:tag
	digest string       // what the tag names now
}

// newestAllowed finds the newest version of ref's repository with the
// same tag shape that the policies allow; ok is false when there is none
// newer, or when the newest allowed names the image digest already names.
func (c *Checker) newestAllowed(ctx context.Context, sub *subject.Subject, ref imageref.Ref, digest string, src lineage.Source) (candidate, bool, error) {
	if _, ok := parseVersion(ref.Tag); !ok {
		return candidate{}, false, nil
	}
	repo, err := name.NewRepository(ref.Name())
	if err != nil {
		return candidate{}, false, fmt.Errorf("%w %q: %w", imageref.ErrInvalid, ref.Written, err)
	}
	tags, err := c.tags.list(ctx, repo)
	if err != nil {
		return candidate{}, false, err
	}
	for _, v := range newerVersions(ref.Tag, tags) {
		cand, err := imageref.Parse(ref.Name() + ":" + v.tag)
		if err != nil {
			continue
		}
		if c.o.Policies != nil && c.judgeLineage(sub, rootedAt(cand, src, nil)).denied {
			continue // denied by name: no need to look it up
		}
		j, err := c.judgeBase(ctx, sub, cand, src)
		if err != nil {
			return candidate{}, false, err
		}
		if j.denied {
			continue
		}
		d, err := c.tagDigest(ctx, cand)
		if err != nil {
			return candidate{}, false, err
		}
		if digest != "" {
			if same, err := c.sameImage(ctx, cand, d, digest); err != nil || same {
				return candidate{}, false, err
			}
		}
		return candidate{ref: cand, digest: d}, true, nil
	}
	return candidate{}, false, nil
}

// repoAsWritten is a reference as written without its tag and digest:
// what a rewritten FROM keeps.
func repoAsWritten(written string) string {
	s, _, _ := strings.Cut(written, "@")
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		s = s[:i]
	}
	return s
}
