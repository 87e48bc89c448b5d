package rebase

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/subject"
)

// UpdateOptions say how Update rewrites FROM lines.
type UpdateOptions struct {
	// Bump moves every FROM to the newest allowed version with the same tag
	// shape, not only those the policies deny.
	Bump bool
	// Labels are the labels rules see on Dockerfiles.
	Labels map[string]string
}

// Update is a Dockerfile's new text and what changed.
type Update struct {
	File     string
	Old, New []byte
	Changes  []Change
	// Notices are FROM lines left as they are that the user should look at.
	Notices []string
}

// Change is one FROM whose reference changes.
type Change struct {
	Line     int
	Old, New string
	Why      string
}

// Changed reports whether the file's text changes.
func (u *Update) Changed() bool { return string(u.Old) != string(u.New) }

// planned is a FROM's change and the edits that make it.
type planned struct {
	from   *From
	change Change
	edits  []edit
}

// Update pins each FROM that names a registry image to repo:tag@digest of
// what its tag names now (moving it to the newest allowed version when the
// policies deny it, or with Bump), and returns the file's new text. Every
// byte but the references stays as it was.
func (c *Checker) Update(ctx context.Context, df *Dockerfile, opt UpdateOptions) (*Update, error) {
	u := &Update{File: df.Name, Old: df.Data, New: df.Data}
	var plans []planned
	for _, f := range df.Froms {
		if f.Kind != FromImage {
			continue
		}
		p, notice, err := c.planFrom(ctx, df, f, opt)
		if err != nil {
			return nil, err
		}
		if notice != "" {
			u.Notices = append(u.Notices, fmt.Sprintf("%s:%d: %s", df.Name, f.Line, notice))
		}
		if p != nil {
			plans = append(plans, *p)
		}
	}
	plans, conflicts := sharedArgs(df, plans)
	u.Notices = append(u.Notices, conflicts...)
	var edits []edit
	for _, p := range plans {
		edits = append(edits, p.edits...)
		u.Changes = append(u.Changes, p.change)
	}
	out, err := applyEdits(df.Data, dedupe(edits))
	if err != nil {
		return nil, fmt.Errorf("rewriting %s: %w", df.Name, err)
	}
	u.New = out
	return u, nil
}

// planFrom decides one FROM's new reference and the edits that write it.
func (c *Checker) planFrom(ctx context.Context, df *Dockerfile, f *From, opt UpdateOptions) (*planned, string, error) {
	ref, err := imageref.Parse(f.Image)
	if err != nil {
		return nil, "", &Error{File: df.Name, Line: f.Line, Msg: err.Error()}
	}
	if f.parts == nil {
		return nil, "FROM " + f.Word + " is not rewritten: " + f.why, nil
	}
	sub := dockerfileSubject(df.Name, f, opt.Labels)
	target, why, notice, err := c.target(ctx, sub, ref, opt.Bump)
	if err != nil {
		return nil, "", fmt.Errorf("%s:%d: %w", df.Name, f.Line, err)
	}
	if target == "" {
		return nil, notice, nil
	}
	edits, err := f.rewrite(target)
	if err != nil {
		return nil, joinNotice(notice, fmt.Sprintf("not rewritten to %s: %v", target, err)), nil
	}
	return &planned{from: f, edits: edits, change: Change{Line: f.Line, Old: f.Image, New: target, Why: why}}, notice, nil
}

// target is the reference a FROM should name, "" when it stays; why says
// why it changes, notice what the user should know.
func (c *Checker) target(ctx context.Context, sub *subject.Subject, ref imageref.Ref, bump bool) (target, why, notice string, err error) {
	if ref.Tag == "" {
		return "", "", "pinned by digest alone: there is no tag to follow", nil
	}
	tagged := withoutDigest(ref)
	now, err := c.tagDigest(ctx, tagged)
	if err != nil {
		return "", "", "", err
	}
	j, err := c.judgeBase(ctx, sub, tagged, lineage.SourceDockerfile)
	if err != nil {
		return "", "", "", err
	}
	repo := repoAsWritten(ref.Written)
	if j.denied || bump {
		known := ref.Digest
		if known == "" {
			known = now
		}
		cand, ok, err := c.newestAllowed(ctx, sub, tagged, known, lineage.SourceDockerfile)
		if err != nil {
			return "", "", "", err
		}
		switch {
		case ok && j.denied:
			return repo + ":" + cand.ref.Tag + "@" + cand.digest, "denied: " + strings.Join(j.reasons, "; ") + "; moved to the newest allowed version", "", nil
		case ok:
			return repo + ":" + cand.ref.Tag + "@" + cand.digest, "--bump: the newest allowed version", "", nil
		case j.denied:
			notice = fmt.Sprintf("%s is denied (%s) and %s has no newer allowed version with the same tag shape: choose another base", tagged, strings.Join(j.reasons, "; "), tagged.Name())
		}
	}
	if ref.Digest != "" {
		same, err := c.sameImage(ctx, tagged, now, ref.Digest)
		if err != nil || same {
			return "", "", notice, err
		}
		return repo + ":" + ref.Tag + "@" + now, "the tag has moved", notice, nil
	}
	return repo + ":" + ref.Tag + "@" + now, "pinned to what the tag names now", notice, nil
}

// sharedArgs drops the plans that rewrite an ARG default another FROM
// also takes its reference from, unless that FROM's plan makes the same
// edit: changing the ARG would change it too.
func sharedArgs(df *Dockerfile, plans []planned) ([]planned, []string) {
	users := map[string][]int{} // ARG → lines of the FROMs that use it
	for _, f := range df.Froms {
		for _, a := range f.args() {
			users[a] = append(users[a], f.Line)
		}
	}
	planOf := map[int]*planned{}
	for i := range plans {
		planOf[plans[i].from.Line] = &plans[i]
	}
	var notices []string
	var keep []planned
	for i := range plans {
		p := &plans[i]
		if a, line, ok := conflict(p, users, planOf); !ok {
			notices = append(notices, fmt.Sprintf("%s:%d: not rewritten to %s: ARG %s is also used by the FROM at line %d, which would change too: edit it by hand", df.Name, p.from.Line, p.change.New, a, line))
			continue
		}
		keep = append(keep, *p)
	}
	return keep, notices
}

// conflict finds an ARG p edits that another FROM uses without making the
// same edit.
func conflict(p *planned, users map[string][]int, planOf map[int]*planned) (string, int, bool) {
	for _, a := range argsEdited(*p) {
		for _, line := range users[a] {
			if q := planOf[line]; q == nil || !sameArgEdit(p, q, a) {
				return a, line, false
			}
		}
	}
	return "", 0, true
}

// argsEdited lists the ARGs whose defaults a plan edits.
func argsEdited(p planned) []string {
	var out []string
	for _, e := range p.edits {
		for _, part := range p.from.parts {
			if part.arg != "" && e.at.start >= part.at.start && e.at.end <= part.at.end && !slices.Contains(out, part.arg) {
				out = append(out, part.arg)
			}
		}
	}
	return out
}

// sameArgEdit reports whether q edits ARG a exactly as p does.
func sameArgEdit(p, q *planned, a string) bool {
	pick := func(x *planned) []edit {
		var out []edit
		for _, e := range x.edits {
			for _, part := range x.from.parts {
				if part.arg == a && e.at.start >= part.at.start && e.at.end <= part.at.end {
					out = append(out, e)
				}
			}
		}
		return out
	}
	return slices.Equal(pick(p), pick(q))
}

// dedupe drops repeated edits (two FROMs rewriting the ARG they share the
// same way).
func dedupe(es []edit) []edit {
	var out []edit
	for _, e := range es {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// dockerfileSubject is a FROM as policies see it: a Dockerfile resource,
// judged as a Pod with the given labels in a namespace with none.
func dockerfileSubject(file string, f *From, labels map[string]string) *subject.Subject {
	return &subject.Subject{
		Resource:  &subject.Resource{Kind: subject.KindDockerfile, Name: file, File: file, Labels: labels, NamespaceLabels: map[string]string{}},
		Container: f.Stage,
		Field:     "FROM",
		Image:     f.Image,
		Line:      f.Line,
		Source:    lineage.SourceDockerfile,
	}
}

func joinNotice(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
