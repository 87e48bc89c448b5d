package report

import (
	"fmt"
	"io"
	"strings"

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

// Text writes results for people, grouped by resource, and a one-line
// summary.
func Text(w io.Writer, results []policy.Result, opt TextOptions) error {
	var order []*subject.Resource
	groups := map[*subject.Resource][]*policy.Result{}
	for i := range results {
		r := &results[i]
		if r.Status == policy.StatusPass && !opt.Verbose {
			continue
		}
		res := r.Subject.Resource
		if _, ok := groups[res]; !ok {
			order = append(order, res)
		}
		groups[res] = append(groups[res], r)
	}
	var b strings.Builder
	for _, res := range order {
		fmt.Fprintf(&b, "%s  %s\n", resourceLocation(res), res.ID())
		for _, r := range groups[res] {
			fmt.Fprintf(&b, "  %s  %s/%s  %s\n", label(r, opt.Color), r.Policy.Metadata.Name, r.Rule.Name, r.Message)
		}
	}
	b.WriteString(summaryLine(results))
	_, err := io.WriteString(w, b.String())
	return err
}

func label(r *policy.Result, color bool) string {
	s := strings.ToUpper(string(r.Status))
	if r.Status == policy.StatusFail && r.Action != policy.Enforce {
		s += "(" + string(r.Action) + ")"
	}
	s = fmt.Sprintf("%-11s", s)
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

func summaryLine(results []policy.Result) string {
	s := policy.Summarize(results)
	resources, subjects := map[*subject.Resource]bool{}, map[*subject.Subject]bool{}
	blocking := 0
	for i := range results {
		resources[results[i].Subject.Resource] = true
		subjects[results[i].Subject] = true
		if results[i].Blocking() {
			blocking++
		}
	}
	return fmt.Sprintf("%d resources, %d images: %d pass, %d fail (%d enforced), %d warn, %d error, %d skip\n",
		len(resources), len(subjects), s[policy.StatusPass], s[policy.StatusFail], blocking, s[policy.StatusWarn], s[policy.StatusError], s[policy.StatusSkip])
}
