package rebase

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// Reason says why a base is outdated.
type Reason string

// The reasons, in the vocabulary of outdated's JSON contract.
const (
	ReasonTagMoved     Reason = "tag-moved"     // the tag names another image now
	ReasonNewerVersion Reason = "newer-version" // a newer allowed version with the same tag shape exists
	ReasonDenied       Reason = "denied"        // the policies deny the base
)

// Fix says what brings a base up to date.
type Fix string

// The fixes.
const (
	FixUpdate  Fix = "update"  // baseguard update rewrites the FROM line
	FixRebase  Fix = "rebase"  // baseguard rebase moves the image onto its base's current digest
	FixRebuild Fix = "rebuild" // another version or base: the image must be rebuilt
)

// Finding is one outdated base.
type Finding struct {
	File string
	Line int
	// Resource is the Kubernetes object, nil for a Dockerfile.
	Resource  *subject.Resource
	Container string
	// Image is the image as written: the container's, or the FROM's.
	Image string
	// Base is the base as it is used; Current what it should be, nil when
	// nothing allowed is known.
	Base    Base
	Current *Base
	Reason  Reason
	Fix     Fix
	Message string
}

// CheckImage reports the outdated base of an image, given its resolved
// lineage: a moved tag (fix: rebase), a newer allowed version (rebuild), a
// denied base (rebuild).
func (c *Checker) CheckImage(ctx context.Context, sub *subject.Subject, l lineage.Lineage) ([]Finding, error) {
	if l.Err != nil {
		return nil, fmt.Errorf("%s: resolving %s: %w", sub.Location(), sub.Image, l.Err)
	}
	bases := l.Bases()
	if len(bases) == 0 {
		return nil, nil
	}
	b := bases[0]
	tagged := withoutDigest(b.Ref)
	f := Finding{File: sub.Resource.File, Line: sub.Line, Resource: sub.Resource, Container: sub.Container, Image: sub.Image,
		Base: Base{Ref: tagged.Canonical(), Digest: b.Digest}}
	var out []Finding
	if b.Current != nil && !*b.Current {
		out = append(out, movedImage(f, b))
	}
	j := c.judgeLineage(sub, rootedAt(tagged, b.Source, bases[1:]))
	more, err := c.behind(ctx, f, sub, tagged, j, FixRebuild)
	if err != nil {
		return out, fmt.Errorf("%s: %w", sub.Location(), err)
	}
	return append(out, more...), nil
}

// movedImage is the finding for an image whose base tag has moved.
func movedImage(f Finding, b lineage.Entry) Finding {
	f.Reason = ReasonTagMoved
	if b.LatestDigest == "" {
		f.Fix = FixRebuild
		f.Message = fmt.Sprintf("built on %s, whose tag no longer exists: rebuild on a maintained base", f.Base.Ref)
		return f
	}
	f.Fix = FixRebase
	f.Current = &Base{Ref: f.Base.Ref, Digest: b.LatestDigest}
	f.Message = fmt.Sprintf("built on %s@%s; the tag now names %s: baseguard rebase moves the image onto it", f.Base.Ref, shortDigest(b.Digest), shortDigest(b.LatestDigest))
	return f
}

// behind reports a denied base and a newer allowed version.
func (c *Checker) behind(ctx context.Context, f Finding, sub *subject.Subject, tagged imageref.Ref, j judgement, fix Fix) ([]Finding, error) {
	var cand candidate
	ok := false
	if tagged.Tag != "" {
		var err error
		if cand, ok, err = c.newestAllowed(ctx, sub, tagged, f.Base.Digest, sub.Source); err != nil {
			return nil, err
		}
	}
	f.Fix = fix
	if ok {
		f.Current = &Base{Ref: cand.ref.Canonical(), Digest: cand.digest}
	}
	switch {
	case j.denied:
		f.Reason = ReasonDenied
		f.Message = fmt.Sprintf("%s is denied: %s", f.Base.Ref, strings.Join(j.reasons, "; "))
		if ok {
			f.Message += "; the newest allowed version is " + cand.ref.Canonical()
		} else {
			f.Message += fmt.Sprintf("; %s has no newer allowed version with the same tag shape: choose another base", tagged.Name())
		}
	case ok:
		f.Reason = ReasonNewerVersion
		f.Message = fmt.Sprintf("%s is behind %s, the newest version the policies allow", f.Base.Ref, cand.ref.Canonical())
	default:
		return nil, nil
	}
	return []Finding{f}, nil
}

// CheckDockerfile reports the outdated FROM lines of a Dockerfile: a
// pinned digest the tag no longer names, a newer allowed version, a denied
// image; the fix is always update. notices are FROM lines update cannot
// rewrite. A FROM that could not be checked is an error; the findings of
// the others (and what was found of it) are still returned.
func (c *Checker) CheckDockerfile(ctx context.Context, df *Dockerfile, labels map[string]string) ([]Finding, []string, error) {
	var out []Finding
	var notices []string
	var errs []error
	for _, from := range df.Froms {
		if from.Kind != FromImage {
			continue
		}
		fs, err := c.checkFrom(ctx, df, from, labels)
		if err != nil {
			errs = append(errs, err)
		}
		if len(fs) > 0 && from.parts == nil {
			notices = append(notices, fmt.Sprintf("%s:%d: update cannot rewrite FROM %s: %s", df.Name, from.Line, from.Word, from.why))
		}
		out = append(out, fs...)
	}
	return out, notices, errors.Join(errs...)
}

func (c *Checker) checkFrom(ctx context.Context, df *Dockerfile, from *From, labels map[string]string) ([]Finding, error) {
	ref, err := imageref.Parse(from.Image)
	if err != nil {
		return nil, &Error{File: df.Name, Line: from.Line, Msg: err.Error()}
	}
	sub := dockerfileSubject(df.Name, from, labels)
	f := Finding{File: df.Name, Line: from.Line, Container: from.Stage, Image: from.Image, Base: Base{Ref: ref.Canonical(), Digest: ref.Digest}}
	if ref.Tag == "" {
		j, err := c.judgeBase(ctx, sub, ref, lineage.SourceDockerfile)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", df.Name, from.Line, err)
		}
		return c.behind(ctx, f, sub, ref, j, FixUpdate)
	}
	tagged := withoutDigest(ref)
	f.Base.Ref = tagged.Canonical()
	now, err := c.tagDigest(ctx, tagged)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: %w", df.Name, from.Line, err)
	}
	var out []Finding
	if ref.Digest == "" {
		f.Base.Digest = now
	} else if same, err := c.sameImage(ctx, tagged, now, ref.Digest); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", df.Name, from.Line, err)
	} else if !same {
		moved := f
		moved.Reason, moved.Fix, moved.Current = ReasonTagMoved, FixUpdate, &Base{Ref: tagged.Canonical(), Digest: now}
		moved.Message = fmt.Sprintf("pinned to %s; the tag now names %s", shortDigest(ref.Digest), shortDigest(now))
		out = append(out, moved)
	}
	j, err := c.judgeBase(ctx, sub, tagged, lineage.SourceDockerfile)
	if err != nil {
		return out, fmt.Errorf("%s:%d: %w", df.Name, from.Line, err)
	}
	more, err := c.behind(ctx, f, sub, tagged, j, FixUpdate)
	if err != nil {
		return out, fmt.Errorf("%s:%d: %w", df.Name, from.Line, err)
	}
	return append(out, more...), nil
}

// shortDigest abbreviates a digest for people.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
