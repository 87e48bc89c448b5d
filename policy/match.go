package policy

import (
	"path"

	"github.com/baseguard/baseguard/subject"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// matchOutcome is whether a Match selects a resource.
type matchOutcome int

const (
	noMatch matchOutcome = iota
	matched
	// unknownNamespace: the match has a namespace selector and the
	// namespace's labels are not known.
	unknownNamespace
)

// compiledMatch is a Match with its selectors compiled.
type compiledMatch struct {
	m           *Match
	sel, nsSel  labels.Selector
	kinds       map[string]bool
	anyKind     bool
	podIncludes bool
}

func compileMatch(m *Match) (*compiledMatch, error) {
	c := &compiledMatch{m: m, kinds: map[string]bool{}}
	if m == nil {
		c.anyKind = true
		return c, nil
	}
	for _, k := range m.Kinds {
		c.kinds[k] = true
	}
	c.anyKind = len(m.Kinds) == 0
	var err error
	if c.sel, err = compileSelector(m.Selector); err != nil {
		return nil, err
	}
	if c.nsSel, err = compileSelector(m.NamespaceSelector); err != nil {
		return nil, err
	}
	return c, nil
}

func compileSelector(s *LabelSelector) (labels.Selector, error) {
	if s == nil {
		return nil, nil
	}
	sel := labels.NewSelector()
	for k, v := range s.MatchLabels {
		r, err := labels.NewRequirement(k, selection.Equals, []string{v})
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	ops := map[string]selection.Operator{
		"In": selection.In, "NotIn": selection.NotIn,
		"Exists": selection.Exists, "DoesNotExist": selection.DoesNotExist,
	}
	for _, e := range s.MatchExpressions {
		op, ok := ops[e.Operator]
		if !ok {
			return nil, errorf("selector operator %q: want In, NotIn, Exists or DoesNotExist", e.Operator)
		}
		r, err := labels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, err
		}
		sel = sel.Add(*r)
	}
	return sel, nil
}

func (c *compiledMatch) match(res *subject.Resource) matchOutcome {
	if c == nil || c.m == nil {
		return matched
	}
	if !c.anyKind && !c.kinds[res.Kind] && !(res.Kind == subject.KindDockerfile && c.kinds["Pod"]) {
		return noMatch
	}
	if ns := c.m.Namespaces; ns != nil {
		if len(ns.Include) > 0 && !globAny(ns.Include, res.Namespace) {
			return noMatch
		}
		if globAny(ns.Exclude, res.Namespace) {
			return noMatch
		}
	}
	if c.sel != nil && !c.sel.Matches(labels.Set(res.Labels)) {
		return noMatch
	}
	if c.nsSel != nil {
		if res.NamespaceLabels == nil {
			return unknownNamespace
		}
		if !c.nsSel.Matches(labels.Set(res.NamespaceLabels)) {
			return noMatch
		}
	}
	return matched
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
