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
func assume(positive bool, what []string) decision {
	if positive {
		return decision{t: yes, assumed: what}
	}
	return decision{t: no, assumed: what}
}

// and is the Kleene conjunction. A decision that does not hold for certain
// wins; otherwise an unknown namespace does; the assumptions kept are the
// ones the outcome rests on.
func and(a, b decision) decision {
	switch {
	case a.t == no && len(a.assumed) == 0, b.t == no && len(b.assumed) == 0:
		return decidedNo
	case a.t == no:
		return a
	case b.t == no:
		return b
	}
	t := yes
	if a.t == unknownNamespace || b.t == unknownNamespace {
		t = unknownNamespace
	}
	return decision{t: t, assumed: merge(a.assumed, b.assumed)}
}

// or is the Kleene disjunction, the mirror of and.
func or(a, b decision) decision {
	return not(and(not(a), not(b)))
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

// merge joins assumption lists, allocating only when both hold some.
func merge(a, b []string) []string {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// The things a decision may have to assume, as the lists decisions carry.
var (
	assumedRequester  = []string{"who made the request"}
	assumedRoles      = []string{"the requester's roles"}
	assumedOperation  = []string{"the admission operation"}
	assumedAPIVersion = []string{"the resource's apiVersion"}
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
	d := decidedYes
	if c.own != nil {
		if d = c.own.eval(res, positive); d.t == no && len(d.assumed) == 0 {
			return decidedNo
		}
	}
	if len(c.any) > 0 {
		alt := decidedNo
		for _, f := range c.any {
			if alt = or(alt, f.eval(res, positive)); alt.t == yes && len(alt.assumed) == 0 {
				break
			}
		}
		d = and(d, alt)
	}
	for _, f := range c.all {
		if d = and(d, f.eval(res, positive)); d.t == no && len(d.assumed) == 0 {
			return decidedNo
		}
	}
	if c.exclude != nil {
		d = and(d, not(c.exclude.eval(res, !positive)))
	}
	return d
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
	d := decidedYes
	if len(c.kinds) > 0 {
		d = c.kindDecision(res, positive)
	}
	if c.nsSel != nil {
		switch {
		case res.NamespaceLabels == nil:
			d = and(d, decision{t: unknownNamespace})
		case !c.nsSel.matches(res.NamespaceLabels):
			return decidedNo
		}
	}
	if len(f.Operations) > 0 {
		switch {
		case res.Operation == "":
			d = and(d, assume(positive, assumedOperation))
		case !slices.Contains(f.Operations, res.Operation):
			return decidedNo
		}
	}
	if c.requester != nil {
		d = and(d, c.requester.eval(res.User, positive))
	}
	return d
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
