package audit

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/baseguard/baseguard/report"
)

// TextOptions tune the text report.
type TextOptions struct {
	// Color marks good and bad numbers with ANSI colours (terminals only).
	Color bool
	// Verbose lists passing results too.
	Verbose bool
}

// expiringWithin is how far ahead exceptions are called out as expiring.
const expiringWithin = 30 * 24 * time.Hour

// maxWhere bounds the workloads listed after a base, then a count.
const maxWhere = 5

// WriteText writes the audit for people: the headline, compliance by
// namespace, the bases ranked with age and freshness, denied and stale
// bases with where they run and the fix, exceptions expired or expiring
// within 30 days, then the findings as `check` prints them.
func WriteText(w io.Writer, a *Audit, opt TextOptions) error {
	bw := bufio.NewWriter(w)
	t := &textReport{w: bw, a: a, inv: a.Inventory(), opt: opt}
	t.headline()
	t.namespaces()
	t.bases()
	t.denied()
	t.stale()
	t.exceptions()
	t.notes()
	fmt.Fprintf(t.w, "\n%s\n", t.color("\x1b[1m", "Findings, by workload"))
	if err := bw.Flush(); err != nil {
		return err
	}
	return t.findings(w)
}

type textReport struct {
	w   *bufio.Writer
	a   *Audit
	inv Inventory
	opt TextOptions
}

func (t *textReport) color(code, s string) string {
	if !t.opt.Color {
		return s
	}
	return code + s + "\x1b[0m"
}

// grade colours a compliance ratio: green at 95%, yellow at 80%, else red.
func (t *textReport) grade(r float64, s string) string {
	switch {
	case r >= 0.95:
		return t.color("\x1b[32m", s)
	case r >= 0.8:
		return t.color("\x1b[33m", s)
	}
	return t.color("\x1b[31m", s)
}

func percent(r float64) string { return fmt.Sprintf("%.1f%%", r*100) }

func (t *textReport) headline() {
	scope := "all namespaces"
	if t.a.Namespace != "" {
		scope = "namespace " + report.Printable(t.a.Namespace)
	}
	inv := t.inv
	fmt.Fprintf(t.w, "%s compliant: %d of %d containers, %d of %d workloads (%s, %s)\n",
		t.grade(inv.Compliance, percent(inv.Compliance)), inv.Compliant, inv.Containers,
		inv.CompliantWorkloads, inv.Workloads, scope, t.a.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(t.w, "%d containers on %d known bases, %d on an unknown base\n", inv.Containers-inv.UnknownBase, len(inv.Bases), inv.UnknownBase)
}

func (t *textReport) section(title string) *tabwriter.Writer {
	fmt.Fprintf(t.w, "\n%s\n", t.color("\x1b[1m", title))
	return tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
}

func (t *textReport) namespaces() {
	if len(t.inv.Namespaces) == 0 {
		return
	}
	ns := slices.Clone(t.inv.Namespaces)
	slices.SortStableFunc(ns, func(x, y NamespaceStat) int {
		if x.Compliance != y.Compliance {
			return map[bool]int{true: -1, false: 1}[x.Compliance < y.Compliance]
		}
		return strings.Compare(x.Name, y.Name)
	})
	tw := t.section("Namespaces, least compliant first")
	fmt.Fprintln(tw, "NAMESPACE\tCOMPLIANCE\tCONTAINERS\tCOMPLIANT\tWORKLOADS\tCOMPLIANT")
	for _, n := range ns {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", report.Printable(n.Name), percent(n.Compliance), n.Containers, n.Compliant, n.Workloads, n.CompliantWorkloads)
	}
	tw.Flush()
}

func (t *textReport) bases() {
	if len(t.inv.Bases) == 0 {
		return
	}
	tw := t.section("Bases, by containers")
	fmt.Fprintln(tw, "BASE\tDIGEST\tCONTAINERS\tWORKLOADS\tAGE\tCURRENT")
	for _, b := range t.inv.Bases {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", report.Printable(b.Ref), shortDigest(b.Digest), b.Containers, b.Workloads, age(b, t.a.Time), current(b))
	}
	tw.Flush()
}

func shortDigest(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return hex[:12]
	}
	if d == "" {
		return "-"
	}
	return report.Printable(d)
}

func age(b BaseStat, now time.Time) string {
	if b.Created == nil {
		return "unknown"
	}
	return Days(b.Age(now))
}

// Days writes a duration in whole days.
func Days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func current(b BaseStat) string {
	switch {
	case b.Current == nil:
		return "unknown"
	case *b.Current:
		return "yes"
	}
	return "no"
}

// where lists a base's workloads, the first few, then a count.
func where(b BaseStat) string {
	list := b.Where
	more := ""
	if len(list) > maxWhere {
		more = fmt.Sprintf(" and %d more", len(list)-maxWhere)
		list = list[:maxWhere]
	}
	return report.Printable(strings.Join(list, ", ")) + more
}

func (t *textReport) denied() {
	var denied []BaseStat
	for _, b := range t.inv.Bases {
		if len(b.DeniedBy) > 0 {
			denied = append(denied, b)
		}
	}
	if len(denied) == 0 {
		return
	}
	fmt.Fprintf(t.w, "\n%s\n", t.color("\x1b[1;31m", "Denied bases still running"))
	for _, b := range denied {
		fmt.Fprintf(t.w, "  %s  %s, denied by %s\n    in %s\n", report.Printable(b.Ref), plural(b.Containers, "container"), report.Printable(strings.Join(b.DeniedBy, ", ")), where(b))
	}
}

func (t *textReport) stale() {
	var stale []BaseStat
	for _, b := range t.inv.Bases {
		if b.Stale() {
			stale = append(stale, b)
		}
	}
	if len(stale) == 0 {
		return
	}
	fmt.Fprintf(t.w, "\n%s\n", t.color("\x1b[1;33m", "Stale bases: their tag has moved on"))
	for _, b := range stale {
		fmt.Fprintf(t.w, "  %s  built on %s, the tag now names %s; %s\n    in %s\n", report.Printable(b.Ref), shortDigest(b.Digest), shortDigest(b.Latest), plural(b.Containers, "container"), where(b))
		fmt.Fprintf(t.w, "    fix: rebuild, or move the image onto the current base: baseguard rebase %s --tag NEW-TAG\n", report.Printable(b.Images[0]))
	}
}

func (t *textReport) exceptions() {
	var due []ExceptionUse
	for _, e := range t.inv.Exceptions {
		if e.Expires != nil && e.ExpiresAt.Sub(t.a.Time) < expiringWithin {
			due = append(due, e)
		}
	}
	if len(due) == 0 {
		return
	}
	fmt.Fprintf(t.w, "\n%s\n", t.color("\x1b[1m", "Exceptions expired or expiring within 30 days"))
	for _, e := range due {
		state := "expires"
		if e.Expired {
			state = "expired"
		}
		fmt.Fprintf(t.w, "  %s/%s  %s %s, covers %d results\n", report.Printable(e.Policy), report.Printable(e.Name), state, report.Printable(*e.Expires), e.Uses)
	}
}

func (t *textReport) notes() {
	for _, n := range t.a.Notes {
		fmt.Fprintf(t.w, "\nnote: %s\n", report.Printable(n))
	}
	for _, p := range t.a.Problems {
		fmt.Fprintf(t.w, "\nerror: %s\n", report.Printable(p))
	}
}

// findings prints the results as check does: failures (and passes when
// verbose) under their workload and image.
func (t *textReport) findings(w io.Writer) error {
	tw := report.NewText(w, report.TextOptions{Color: t.opt.Color, Verbose: t.opt.Verbose})
	for _, wl := range t.a.Workloads {
		for _, it := range wl.Items {
			if err := tw.Write(it.Results); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
