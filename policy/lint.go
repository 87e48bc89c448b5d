package policy

import (
	"fmt"
	"sort"
	"strings"
)

// LintReport explains a policy in plain words and lists its findings.
type LintReport struct {
	Explanation []string
	Findings    []Finding
}

// Finding is a remark on a policy: a deviation from the engine it was
// written for ("note") or a pattern that admits more than it seems ("risk").
type Finding struct {
	Kind string // note or risk
	Rule string
	Line int
	Text string
}

// Lint explains p and finds its risks.
func Lint(p *Policy) LintReport {
	var r LintReport
	action := p.Spec.Action
	if action == "" {
		action = DefaultAction
	}
	r.Explanation = append(r.Explanation, fmt.Sprintf("action %s; applies to %s", describeActions(action, p.Spec.ActionOverrides), describeMatch(p.Spec.Match)))
	for i := range p.Spec.Rules {
		rule := &p.Spec.Rules[i]
		r.Explanation = append(r.Explanation, explainRule(rule, Action(describeActions(action, p.Spec.ActionOverrides))))
		for _, pat := range rule.Allow {
			for _, risk := range pat.Risks() {
				r.Findings = append(r.Findings, Finding{Kind: "risk", Rule: rule.Name, Line: pat.Line, Text: risk})
			}
		}
	}
	for _, ex := range p.Spec.Exceptions {
		for _, pat := range ex.Images {
			for _, risk := range pat.Risks() {
				r.Findings = append(r.Findings, Finding{Kind: "risk", Rule: "exception " + ex.Name, Line: pat.Line, Text: risk})
			}
		}
	}
	for _, n := range MergeNotes(p.Notes) {
		r.Findings = append(r.Findings, Finding{Kind: "note", Rule: n.Rule, Line: n.Line, Text: n.Text})
	}
	sort.SliceStable(r.Findings, func(i, j int) bool { return r.Findings[i].Line < r.Findings[j].Line })
	return r
}

func explainRule(r *Rule, policyAction Action) string {
	// policyAction is the policy's whole action text, overrides included.
	action := r.Action
	if action == "" {
		action = policyAction
	}
	action = Action(describeActions(action, r.ActionOverrides))
	if r.Action == "" && len(r.ActionOverrides) > 0 {
		action = Action(strings.TrimPrefix(describeActions("", r.ActionOverrides), ", ") + "; otherwise as the policy")
	}
	var parts []string
	if r.Untranslated != "" {
		where := "wherever it applies"
		if len(r.When) > 0 {
			where = "for images whose lineage matches " + patternList(r.When)
		}
		s := fmt.Sprintf("rule %s (%s): cannot be applied (%s); it reports an error %s", r.Name, action, r.Untranslated, where)
		if r.Match != nil {
			s += "; only for " + describeMatch(r.Match)
		}
		return s
	}
	scope := "image in the lineage (the image and what it is built on)"
	if len(r.When) > 0 {
		parts = append(parts, "looks only at lineage images matching "+patternList(r.When)+" and passes when there are none")
		scope = "such image"
	}
	if len(r.Deny) > 0 {
		parts = append(parts, "fails when any "+scope+" matches "+patternList(r.Deny))
	}
	if len(r.Allow) > 0 {
		parts = append(parts, "passes only when some "+scope+" matches "+patternList(r.Allow))
	}
	if r.RequireBase {
		parts = append(parts, "requires a known base image")
	}
	if r.RequireVerifiedBase {
		parts = append(parts, "requires the base to be verified by layers")
	}
	if r.RequireCurrentBase {
		parts = append(parts, "requires each base tag to still point at the digest built on")
	}
	if r.MaxBaseAge.Duration > 0 {
		parts = append(parts, "requires the base to be at most "+r.MaxBaseAge.text+" old")
	}
	s := fmt.Sprintf("rule %s (%s): %s", r.Name, action, strings.Join(parts, "; "))
	if r.Match != nil {
		s += "; only for " + describeMatch(r.Match)
	}
	return s
}

func describeMatch(m *Match) string {
	return describeMatchAs(m, allKinds)
}

// describeMatchAs describes a match; what names the resources a filter
// without kinds is about.
func describeMatchAs(m *Match, what string) string {
	if m == nil {
		return everything
	}
	var parts []string
	if !m.Filter.empty() {
		parts = append(parts, describeFilter(&m.Filter, what))
	}
	if len(m.Any) > 0 {
		parts = append(parts, "one of: "+describeFilters(m.Any, " or "))
	}
	if len(m.All) > 0 {
		parts = append(parts, "all of: "+describeFilters(m.All, " and "))
	}
	if len(parts) == 0 {
		parts = append(parts, everything)
	}
	s := strings.Join(parts, "; ")
	if m.Exclude != nil {
		s += "; except " + describeMatchAs(m.Exclude, "resources")
	}
	return s
}

// allKinds and everything are what an empty filter and match select.
const (
	allKinds   = "every pod-bearing kind and Dockerfiles"
	everything = allKinds + ", in every namespace"
)

func describeFilters(fs []Filter, sep string) string {
	out := make([]string, len(fs))
	for i := range fs {
		out[i] = "(" + describeFilter(&fs[i], "resources") + ")"
	}
	return strings.Join(out, sep)
}

func describeFilter(f *Filter, what string) string {
	parts := []string{what}
	if len(f.Kinds) > 0 {
		parts[0] = "kinds " + strings.Join(f.Kinds, ", ")
	}
	if len(f.Names) > 0 {
		parts = append(parts, "named "+strings.Join(f.Names, ", "))
	}
	if ns := f.Namespaces; ns != nil {
		if len(ns.Include) > 0 {
			parts = append(parts, "in namespaces "+strings.Join(ns.Include, ", "))
		}
		if len(ns.Exclude) > 0 {
			parts = append(parts, "except namespaces "+strings.Join(ns.Exclude, ", "))
		}
	}
	if f.Selector != nil {
		parts = append(parts, "labelled "+describeSelector(f.Selector))
	}
	if f.NamespaceSelector != nil {
		parts = append(parts, "in namespaces labelled "+describeSelector(f.NamespaceSelector))
	}
	if len(f.Operations) > 0 {
		parts = append(parts, "on "+strings.Join(f.Operations, ", ")+" (check and audit have no operation: taken so that the rule applies)")
	}
	if f.Requester != nil {
		parts = append(parts, describeRequester(f.Requester))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return parts[0] + " " + strings.Join(parts[1:], ", ")
}

func describeRequester(r *Requester) string {
	var who []string
	for _, l := range []struct {
		what  string
		names []string
	}{{"users", r.Users}, {"groups", r.Groups}, {"service accounts", r.ServiceAccounts}} {
		if len(l.names) > 0 {
			who = append(who, l.what+" "+strings.Join(l.names, ", "))
		}
	}
	s := "requested by "
	if len(who) == 0 {
		s = "requested by anyone"
	}
	s += strings.Join(who, " or ")
	if len(r.Roles) > 0 {
		s += " holding role " + strings.Join(r.Roles, " or ")
	}
	if len(r.ClusterRoles) > 0 {
		s += " holding cluster role " + strings.Join(r.ClusterRoles, " or ")
	}
	return s + " (known at admission; where the requester or its roles are unknown, taken so that the rule applies)"
}

// describeActions explains an action and its per-namespace overrides.
func describeActions(action Action, overrides []ActionOverride) string {
	s := string(action)
	for _, o := range overrides {
		var where []string
		if len(o.Namespaces) > 0 {
			where = append(where, "namespaces "+strings.Join(o.Namespaces, ", "))
		}
		if o.NamespaceSelector != nil {
			where = append(where, "namespaces labelled "+describeSelector(o.NamespaceSelector))
		}
		s += fmt.Sprintf(", %s in %s", o.Action, strings.Join(where, " and "))
	}
	return s
}

func describeSelector(s *LabelSelector) string {
	var parts []string
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, e := range s.MatchExpressions {
		parts = append(parts, fmt.Sprintf("%s %s %v", e.Key, e.Operator, e.Values))
	}
	return strings.Join(parts, ", ")
}

// MergeNotes merges notes that say the same of several rules into one
// naming them all ("rules a, b"), at the first one's line.
func MergeNotes(notes []Note) []Note {
	var out []Note
	index := map[string]int{}
	for _, n := range notes {
		if i, ok := index[n.Text]; ok {
			if n.Rule != "" && out[i].Rule != "" {
				out[i].Rule += ", " + n.Rule
			}
			continue
		}
		index[n.Text] = len(out)
		out = append(out, n)
	}
	return out
}
