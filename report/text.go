package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// TextOptions tune the text report.
type TextOptions struct {
	// Color marks statuses with ANSI colours (for terminals only).
	Color bool
	// Verbose lists passing results too.
	Verbose bool
}

var statusColor = map[policy.Status]string{
	policy.StatusPass:  "\x1b[32m",
	policy.StatusFail:  "\x1b[31m",
	policy.StatusWarn:  "\x1b[33m",
	policy.StatusError: "\x1b[35m",
	policy.StatusSkip:  "\x1b[36m",
}

type textWriter struct {
	w       *bufio.Writer
	opt     TextOptions
	tally   Tally
	last    *subject.Resource
	lastSub *subject.Subject
}

// NewText returns a Writer for people: results grouped under their
// resource and image, each with the rule's message, why, and what to use
// instead on lines of their own; passes left out unless Verbose; and a
// one-line summary.
func NewText(w io.Writer, opt TextOptions) Writer {
	return &textWriter{w: buffered(w), opt: opt}
}

func (t *textWriter) Write(results []policy.Result) error {
	t.tally.Add(results)
	for i := range results {
		r := &results[i]
		if r.Status == policy.StatusPass && !t.opt.Verbose {
			continue
		}
		if res := r.Subject.Resource; res != t.last {
			t.last, t.lastSub = res, nil
			if res.Kind == subject.KindDockerfile {
				fmt.Fprintf(t.w, "%s\n", Printable(res.File))
			} else {
				fmt.Fprintf(t.w, "%s  %s\n", Printable(resourceLocation(res)), Printable(res.ID()))
			}
		}
		if r.Subject != t.lastSub {
			t.lastSub = r.Subject
			fmt.Fprintf(t.w, "  %s\n", subjectLine(r.Subject))
			if note := tagNote(r.Lineage); note != "" {
				fmt.Fprintf(t.w, "    %s\n", note)
			}
		}
		t.writeResult(r)
	}
	return nil
}

// indent lines up a result's details under its rule name.
const indent = "           "

func (t *textWriter) writeResult(r *policy.Result) {
	fmt.Fprintf(t.w, "    %s  %s/%s\n", label(r, t.opt.Color), Printable(r.Policy.Metadata.Name), Printable(r.Rule.Name))
	if r.Status == policy.StatusPass && r.Reason == "" {
		return
	}
	if r.Rule.Message != "" && (r.Status == policy.StatusFail || r.Status == policy.StatusWarn) {
		fmt.Fprintf(t.w, "%s%s\n", indent, Printable(r.Rule.Message))
	}
	if r.Reason != "" {
		fmt.Fprintf(t.w, "%s%s\n", indent, Printable(r.Reason))
	}
	if r.UseInstead != "" {
		fmt.Fprintf(t.w, "%suse instead: %s\n", indent, Printable(r.UseInstead))
	}
}

// subjectLine names an image in its resource: the container, its field and
// line, or a Dockerfile's FROM.
func subjectLine(s *subject.Subject) string {
	at := ""
	if s.Line > 0 {
		at = fmt.Sprintf("  (line %d)", s.Line)
	}
	if s.Resource.Kind == subject.KindDockerfile {
		stage := ""
		if s.Container != "" {
			stage = " (stage " + s.Container + ")"
		}
		if s.Platform != "" {
			stage += " (" + s.Platform + ")"
		}
		return Printable(fmt.Sprintf("%s %s%s%s", s.Field, s.Image, stage, at))
	}
	return Printable(fmt.Sprintf("container %q %s: %s%s", s.Container, s.Field, s.Image, at))
}

// tagNote says when the image was written as repo:tag@digest and the tag
// is not known to name the digest: the digest is what runs.
func tagNote(l lineage.Lineage) string {
	if len(l.Entries) == 0 || l.Entries[0].TagVerified == nil || *l.Entries[0].TagVerified {
		return ""
	}
	e := l.Entries[0]
	if e.AsWritten != nil {
		return Printable(fmt.Sprintf("note: tag not verified: judged as %s, the digest that runs (the registry does not confirm tag %s names it)", e.Ref.Familiar(), e.AsWritten.Tag))
	}
	return Printable(fmt.Sprintf("note: tag not verified: tag %s was taken as written; the digest is what runs (run with --resolve to confirm the tag)", e.Ref.Tag))
}

func (t *textWriter) Close() error {
	if t.tally.Summary == nil {
		t.tally.Add(nil)
	}
	s := t.tally.Summary
	fmt.Fprintf(t.w, "%d resources, %d images: %d pass, %d fail (%d enforced), %d warn, %d error, %d skip\n",
		t.tally.Resources, t.tally.Images, s[policy.StatusPass], s[policy.StatusFail], t.tally.Blocking, s[policy.StatusWarn], s[policy.StatusError], s[policy.StatusSkip])
	return t.w.Flush()
}

// Text writes results for people.
func Text(w io.Writer, results []policy.Result, opt TextOptions) error {
	tw := NewText(w, opt)
	if err := tw.Write(results); err != nil {
		return err
	}
	return tw.Close()
}

func label(r *policy.Result, color bool) string {
	s := strings.ToUpper(string(r.Status))
	if r.Status == policy.StatusFail && r.Action != policy.Enforce {
		s += "(" + string(r.Action) + ")"
	}
	s = fmt.Sprintf("%-5s", s)
	if color {
		return statusColor[r.Status] + s + "\x1b[0m"
	}
	return s
}

func resourceLocation(res *subject.Resource) string {
	if res.Line > 0 {
		return fmt.Sprintf("%s:%d", res.File, res.Line)
	}
	return res.File
}
