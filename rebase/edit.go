package rebase

import (
	"fmt"
	"slices"
	"strings"
)

// edit replaces the bytes of a span of the file.
type edit struct {
	at   span
	text string
}

// rewrite returns the edits that make the FROM name newRef: the name and
// tag are changed where they are written (in the FROM word or in the ARG
// default they come from), and a digest is replaced where it is, or added
// after the reference: at the end of the ARG default when the FROM is
// just that ARG, else at the end of the FROM word.
func (f *From) rewrite(newRef string) ([]edit, error) {
	if f.parts == nil {
		return nil, fmt.Errorf("%s", f.why)
	}
	var s strings.Builder
	for _, p := range f.parts {
		s.WriteString(p.text)
	}
	old := s.String()
	if old != f.Image {
		return nil, fmt.Errorf("FROM %s expands in a way baseguard does not rewrite: edit it by hand", f.Word)
	}
	oldName, oldDigest, hasDigest := strings.Cut(old, "@")
	newName, newDigest, _ := strings.Cut(newRef, "@")
	var edits []edit
	if oldName != newName {
		p, q := commonPrefix(oldName, newName), commonSuffix(oldName, newName)
		q = min(q, len(oldName)-p, len(newName)-p)
		e, err := f.replace(p, len(oldName)-q, newName[p:len(newName)-q])
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	}
	switch {
	case hasDigest && oldDigest != newDigest:
		e, err := f.replace(len(oldName)+1, len(old), newDigest)
		if err != nil {
			return nil, err
		}
		edits = append(edits, e)
	case !hasDigest && newDigest != "":
		edits = append(edits, f.appendDigest("@"+newDigest))
	}
	return edits, nil
}

// replace makes the edit that replaces the expanded image's bytes [a, b)
// with text: within one part, literal or ARG default.
func (f *From) replace(a, b int, text string) (edit, error) {
	start := 0
	for _, p := range f.parts {
		end := start + len(p.text)
		inside := start <= a && b <= end && (a < end || a == b && a == end)
		if !inside {
			start = end
			continue
		}
		if p.arg != "" && p.at == (span{}) {
			return edit{}, fmt.Errorf("FROM %s takes its reference from ARG %s, whose default baseguard cannot rewrite: edit it by hand", f.Word, p.arg)
		}
		return edit{at: span{p.at.start + a - start, p.at.start + b - start}, text: text}, nil
	}
	return edit{}, fmt.Errorf("FROM %s would change across several variables and literals: edit it by hand", f.Word)
}

// appendDigest adds a digest after the reference.
func (f *From) appendDigest(d string) edit {
	if len(f.parts) == 1 && f.parts[0].arg != "" && f.parts[0].at != (span{}) {
		end := f.parts[0].at.end
		return edit{at: span{end, end}, text: d}
	}
	return edit{at: span{f.word.end, f.word.end}, text: d}
}

// args lists the ARGs the FROM takes its reference from.
func (f *From) args() []string {
	var out []string
	for _, p := range f.parts {
		if p.arg != "" {
			out = append(out, p.arg)
		}
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// applyEdits returns data with the edits made; they must not overlap.
func applyEdits(data []byte, edits []edit) ([]byte, error) {
	es := slices.Clone(edits)
	slices.SortFunc(es, func(a, b edit) int { return a.at.start - b.at.start })
	out := make([]byte, 0, len(data)+64*len(es))
	pos := 0
	for _, e := range es {
		if e.at.start < pos || e.at.end > len(data) || e.at.end < e.at.start {
			return nil, fmt.Errorf("overlapping edits at byte %d", e.at.start)
		}
		out = append(out, data[pos:e.at.start]...)
		out = append(out, e.text...)
		pos = e.at.end
	}
	return append(out, data[pos:]...), nil
}
