package html

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/audit"
	"github.com/baseguard/baseguard/policy"
)

// page is what the template shows.
type page struct {
	Title, Scope, Time string
	Compliance         string
	Grade              string // good, fair, poor
	Containers         int
	Compliant          int
	Workloads          int
	CompliantWorkloads int
	UnknownBase        int
	DeniedBases        int
	StaleBases         int
	Failing            int
	Expiring           int
	Namespaces         barChart
	Ages               barChart
	Bases              []baseRow
	Trend              *trendChart
	Exceptions         []exceptionRow
	Findings           []finding
	Statuses           []string
	Notes              []string
}

type baseRow struct {
	Ref, Digest, Age, Current, Where string
	Containers, Workloads            int
	Width                            float64 // of the containers bar, in %
	Denied                           string
	Stale                            bool
}

type exceptionRow struct {
	Policy, Name, Expires, State string
	Uses                         int
}

// finding is one row of the findings table.
type finding struct {
	Status, Action, Namespace, Workload, Kind, Container, Image, Base, Rule, Why, Fix string
	Pods                                                                              int
	Order                                                                             int // severity, for sorting
}

var statusOrder = map[policy.Status]int{policy.StatusError: 0, policy.StatusFail: 1, policy.StatusWarn: 2, policy.StatusSkip: 3, policy.StatusPass: 4}

func newPage(a *audit.Audit, history []audit.HistoryEntry) page {
	inv := a.Inventory()
	p := page{
		Title:              "baseguard audit",
		Scope:              "all namespaces",
		Time:               a.Time.UTC().Format("2006-01-02 15:04 UTC"),
		Compliance:         fmt.Sprintf("%.1f%%", inv.Compliance*100),
		Grade:              grade(inv.Compliance),
		Containers:         inv.Containers,
		Compliant:          inv.Compliant,
		Workloads:          inv.Workloads,
		CompliantWorkloads: inv.CompliantWorkloads,
		UnknownBase:        inv.UnknownBase,
		Namespaces:         namespaceChart(inv),
		Ages:               ageChart(inv, a.Time),
		Trend:              newTrend(history),
		Notes:              append(slices.Clone(a.Notes), a.Problems...),
	}
	if a.Namespace != "" {
		p.Scope = "namespace " + a.Namespace
	}
	p.Bases, p.DeniedBases, p.StaleBases = baseRows(inv, a.Time)
	p.Exceptions, p.Expiring = exceptionRows(inv, a.Time)
	p.Findings = findings(a)
	for _, f := range p.Findings {
		if f.Status == "fail" || f.Status == "error" {
			p.Failing++
		}
	}
	for _, st := range policy.Statuses {
		p.Statuses = append(p.Statuses, string(st))
	}
	return p
}

func grade(r float64) string {
	switch {
	case r >= 0.95:
		return "good"
	case r >= 0.8:
		return "fair"
	}
	return "poor"
}

// maxBases bounds the bases listed; the rest are summed up.
const maxBases = 15

func baseRows(inv audit.Inventory, now time.Time) (rows []baseRow, denied, stale int) {
	top := 1
	if len(inv.Bases) > 0 {
		top = inv.Bases[0].Containers
	}
	for i, b := range inv.Bases {
		if len(b.DeniedBy) > 0 {
			denied++
		}
		if b.Stale() {
			stale++
		}
		if i >= maxBases {
			continue
		}
		r := baseRow{Ref: b.Ref, Digest: short(b.Digest), Containers: b.Containers, Workloads: b.Workloads,
			Width: 100 * float64(b.Containers) / float64(max(top, 1)), Denied: strings.Join(b.DeniedBy, ", "), Stale: b.Stale(),
			Where: strings.Join(b.Namespaces, ", ")}
		r.Age = "unknown"
		if b.Created != nil {
			r.Age = audit.Days(b.Age(now))
		}
		r.Current = map[bool]string{true: "current", false: "stale"}[b.Current != nil && *b.Current]
		if b.Current == nil {
			r.Current = "unknown"
		}
		rows = append(rows, r)
	}
	return rows, denied, stale
}

func short(d string) string {
	if _, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return hex[:12]
	}
	return d
}

// expiringWithin is how far ahead exceptions are called out.
const expiringWithin = 30 * 24 * time.Hour

func exceptionRows(inv audit.Inventory, now time.Time) (rows []exceptionRow, due int) {
	for _, e := range inv.Exceptions {
		r := exceptionRow{Policy: e.Policy, Name: e.Name, Uses: e.Uses, Expires: "never", State: "active"}
		if e.Expires != nil {
			r.Expires = *e.Expires
			switch {
			case e.Expired:
				r.State, due = "expired", due+1
			case e.ExpiresAt.Sub(now) < expiringWithin:
				r.State, due = "expiring", due+1
			}
		}
		rows = append(rows, r)
	}
	return rows, due
}

// findings are the results that are not passes, worst first.
func findings(a *audit.Audit) []finding {
	var out []finding
	for _, w := range a.Workloads {
		for _, it := range w.Items {
			for i := range it.Results {
				r := &it.Results[i]
				if r.Status == policy.StatusPass {
					continue
				}
				out = append(out, newFinding(w, it, r))
			}
		}
	}
	slices.SortStableFunc(out, func(x, y finding) int { return x.Order - y.Order })
	return out
}

func newFinding(w *audit.Workload, it *audit.Item, r *policy.Result) finding {
	f := finding{
		Status: string(r.Status), Action: string(r.Action), Namespace: w.Resource.Namespace,
		Workload: w.Resource.Kind + "/" + w.Resource.Name, Kind: w.Resource.Kind, Container: it.Subject.Container,
		Image: it.Subject.Image, Base: "unknown", Rule: r.Policy.Metadata.Name + "/" + r.Rule.Name,
		Why: r.Reason, Pods: w.Pods, Order: statusOrder[r.Status],
	}
	if f.Why == "" {
		f.Why = r.Message
	}
	if bases := r.Lineage.Bases(); len(bases) > 0 {
		f.Base = bases[0].Ref.Familiar()
	}
	f.Fix = fix(r, it)
	return f
}

// fix says what to do about a finding.
func fix(r *policy.Result, it *audit.Item) string {
	switch {
	case r.Status == policy.StatusSkip && r.Exception != "":
		return "excepted by " + r.Exception + ": move off before it expires"
	case r.Status == policy.StatusError && r.Lineage.Err != nil:
		return "make the image resolvable (registry reachable, pull secret readable) and audit again"
	case r.Status == policy.StatusSkip:
		return "audit with the registry reachable"
	case r.UseInstead != "":
		return "rebuild on " + r.UseInstead
	case len(r.Rule.Allow) > 0:
		return "rebuild on " + patterns(r.Rule.Allow)
	}
	if bases := it.Lineage.Bases(); len(bases) > 0 && bases[0].Current != nil && !*bases[0].Current {
		return "rebuild, or baseguard rebase " + it.Subject.Image
	}
	return "rebuild on an approved base"
}

func patterns(ps []policy.Pattern) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
