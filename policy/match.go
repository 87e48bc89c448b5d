package policy

import (
	"path"
	"slices"

	"github.com/baseguard/baseguard/subject"
)

// truth is what a match says of a resource: it holds, it does not, or it
// cannot be told because the namespace's labels are unknown.
type truth int8

const (
	no truth = iota
	yes
	unknownNamespace
)

// decision is a truth and what it rests on that was not known: the
// requester, its roles, the admission operation, the resource's
// apiVersion. Each unknown is taken the way that makes the rule apply (a
// match holds, an exclude does not), so that not knowing never narrows a
// rule; assumed says which were taken.
type decision struct {
	t       truth
	assumed []string
}

var (
	decidedYes = decision{t: yes}
	decidedNo  = decision{t: no}
)

// assume decides an unknown criterion: it holds where that makes the rule
// apply (positive: in a match), not in an exclude.
func assume(positive bool, what string) decision {
	if positive {
		return decision{t: yes, assumed: []string{what}}
	}
	return decision{t: no, assumed: []string{what}}
}

// and is the Kleene conjunction. A decision that does not hold for certain
// wins; otherwise an unknown namespace does; the assumptions kept are the
// ones the outcome rests on.
func and(ds ...decision) decision {
	out := decidedYes
	var assumedNo []string
	sawNo := false
	for _, d := range ds {
		switch d.t {
		case no:
			if len(d.assumed) == 0 {
				return decidedNo
			}
			if !sawNo {
				sawNo, assumedNo = true, d.assumed
			}
		case unknownNamespace:
			out.t = unknownNamespace
			out.assumed = merge(out.assumed, d.assumed)
		default:
			out.assumed = merge(out.assumed, d.assumed)
		}
	}
	if sawNo {
		return decision{t: no, assumed: assumedNo}
	}
	return out
}

// or is the Kleene disjunction, the mirror of and.
func or(ds ...decision) decision {
	out := decidedNo
	var assumedYes []string
	sawYes := false
	for _, d := range ds {
		switch d.t {
		case yes:
			if len(d.assumed) == 0 {
				return decidedYes
			}
			if !sawYes {
				sawYes, assumedYes = true, d.assumed
			}
		case unknownNamespace:
			out.t = unknownNamespace
			out.assumed = merge(out.assumed, d.assumed)
		default:
			out.assumed = merge(out.assumed, d.assumed)
		}
	}
	if sawYes {
		return decision{t: yes, assumed: assumedYes}
	}
	return out
}

func not(d decision) decision {
	switch d.t {
	case yes:
		d.t = no
	case no:
		d.t = yes
	}
	return d
}

func merge(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(a, s)
		}
	}
	return a
}

// The things a decision may have to assume.
const (
	assumedRequester  = "who made the request"
	assumedRoles      = "the requester's roles"
	assumedOperation  = "the admission operation"
	assumedAPIVersion = "the resource's apiVersion"
)

// compiledMatch is a Match ready to evaluate.
type compiledMatch struct {
	m        *Match
	own      *compiledFilter // nil when the Match gives no criteria of its own
	any, all []*compiledFilter
	exclude  *compiledMatch
}

// eval decides whether the match selects the resource. positive is false
// inside an exclude, which decides unknowns the other way.
func (c *compiledMatch) eval(res *subject.Resource, positive bool) decision {
	if c == nil {
		return decidedYes
	}
	parts := make([]decision, 0, 4)
	if c.own != nil {
		if d := c.own.eval(res, positive); d.t == no && len(d.assumed) == 0 {
			return decidedNo
		} else {
			parts = append(parts, d)
		}
	}
	if len(c.any) > 0 {
		alts := make([]decision, len(c.any))
		for i, f := range c.any {
			alts[i] = f.eval(res, positive)
		}
		parts = append(parts, or(alts...))
	}
	for _, f := range c.all {
		parts = append(parts, f.eval(res, positive))
	}
	if c.exclude != nil {
		parts = append(parts, not(c.exclude.eval(res, !positive)))
	}
	return and(parts...)
}

// applies decides whether a resource is one the match selects, for a
// match at the top of a policy or rule.
func (c *compiledMatch) applies(res *subject.Resource) decision { return c.eval(res, true) }

// compiledFilter is a Filter with its kinds and selectors compiled.
type compiledFilter struct {
	f          *Filter
	kinds      []kindSelector
	sel, nsSel *selector
	requester  *compiledRequester
}

// eval decides the filter: every given criterion must hold.
func (c *compiledFilter) eval(res *subject.Resource, positive bool) decision {
	f := c.f
	if len(f.Names) > 0 && !globAny(f.Names, res.Name) {
		return decidedNo
	}
	if ns := f.Namespaces; ns != nil {
		if len(ns.Include) > 0 && !globAny(ns.Include, res.Namespace) {
			return decidedNo
		}
		if globAny(ns.Exclude, res.Namespace) {
			return decidedNo
		}
	}
	if c.sel != nil && !c.sel.matches(res.Labels) {
		return decidedNo
	}
	parts := make([]decision, 0, 4)
	if len(c.kinds) > 0 {
		parts = append(parts, c.kindDecision(res, positive))
	}
	if c.nsSel != nil {
		switch {
		case res.NamespaceLabels == nil:
			parts = append(parts, decision{t: unknownNamespace})
		case !c.nsSel.matches(res.NamespaceLabels):
			return decidedNo
		}
	}
	if len(f.Operations) > 0 {
		switch {
		case res.Operation == "":
			parts = append(parts, assume(positive, assumedOperation))
		case !slices.Contains(f.Operations, res.Operation):
			return decidedNo
		}
	}
	if c.requester != nil {
		parts = append(parts, c.requester.eval(res.User, positive))
	}
	return and(parts...)
}

func (c *compiledFilter) kindDecision(res *subject.Resource, positive bool) decision {
	unknown := false
	for _, k := range c.kinds {
		ok, known := k.matches(res.Kind, res.APIVersion)
		if ok {
			return decidedYes
		}
		unknown = unknown || !known
	}
	if unknown {
		return assume(positive, assumedAPIVersion)
	}
	return decidedNo
}

// globAny reports whether s matches one of the shell globs (path.Match
// syntax: `team-*`).
func globAny(globs []string, s string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, s); ok {
			return true
		}
	}
	return false
}
