package policy

import (
	"fmt"
	"path"
	"slices"
)

// admissionOperations are the operations a filter may name: those
// baseguard judges (a DELETE or CONNECT carries no pod to judge).
var admissionOperations = []string{"CREATE", "UPDATE"}

// lineError is a validation error at a line of the policy file (0: the
// line of what holds it).
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

func errAt(line int, format string, args ...any) *lineError {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}

// compileMatch validates and compiles a match; known are the kinds it may
// name.
func compileMatch(m *Match, known knownKinds) (*compiledMatch, error) {
	if m == nil {
		return nil, nil
	}
	c := &compiledMatch{m: m}
	if !m.Filter.empty() {
		f, err := compileFilter(&m.Filter, known, "")
		if err != nil {
			return nil, err
		}
		c.own = f
	}
	var err error
	if c.any, err = compileFilters(m.Any, known, "any"); err != nil {
		return nil, err
	}
	if c.all, err = compileFilters(m.All, known, "all"); err != nil {
		return nil, err
	}
	if m.Exclude != nil {
		if c.exclude, err = compileExclude(m.Exclude, known); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func compileExclude(m *Match, known knownKinds) (*compiledMatch, error) {
	switch {
	case m.Exclude != nil:
		return nil, errAt(m.Exclude.Line, "exclude: an exclude holds no exclude of its own")
	case m.Filter.empty() && len(m.Any) == 0 && len(m.All) == 0:
		return nil, errAt(m.Line, "exclude gives no criterion: it would exclude everything")
	}
	c, err := compileMatch(m, known)
	if err != nil {
		return nil, prefixed("exclude: ", err)
	}
	return c, nil
}

func compileFilters(fs []Filter, known knownKinds, name string) ([]*compiledFilter, error) {
	var out []*compiledFilter
	for i := range fs {
		where := fmt.Sprintf("%s[%d]: ", name, i)
		if fs[i].empty() {
			return nil, errAt(fs[i].Line, "%sgives no criterion: it would select everything", where)
		}
		f, err := compileFilter(&fs[i], known, where)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// compileFilter validates a filter's criteria; where prefixes messages.
func compileFilter(f *Filter, known knownKinds, where string) (*compiledFilter, error) {
	c := &compiledFilter{f: f}
	for i, k := range f.Kinds {
		ks, err := parseKind(k, known)
		if err != nil {
			return nil, errAt(f.kindLine(i), "%s%v", where, err)
		}
		c.kinds = append(c.kinds, ks)
	}
	if err := checkGlobs(f.Names); err != nil {
		return nil, errAt(f.Line, "%snames: %v", where, err)
	}
	if ns := f.Namespaces; ns != nil {
		if err := checkGlobs(append(append([]string(nil), ns.Include...), ns.Exclude...)); err != nil {
			return nil, errAt(f.Line, "%snamespaces: %v", where, err)
		}
	}
	for _, op := range f.Operations {
		if !slices.Contains(admissionOperations, op) {
			return nil, errAt(f.Line, "%soperation %q: want CREATE or UPDATE (the operations baseguard judges)", where, op)
		}
	}
	var err error
	if c.sel, err = compileSelector(f.Selector); err != nil {
		return nil, errAt(f.Line, "%sselector: %v", where, err)
	}
	if c.nsSel, err = compileSelector(f.NamespaceSelector); err != nil {
		return nil, errAt(f.Line, "%snamespaceSelector: %v", where, err)
	}
	if c.requester, err = compileRequester(f.Requester); err != nil {
		return nil, errAt(f.Line, "%srequester: %v", where, err)
	}
	return c, nil
}

// checkGlobs refuses globs path.Match cannot read, which would never
// match anything.
func checkGlobs(globs []string) error {
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return fmt.Errorf("bad glob %q: %v", g, err)
		}
	}
	return nil
}

func (f *Filter) empty() bool {
	return len(f.Kinds) == 0 && len(f.Names) == 0 && f.Namespaces.empty() && f.Selector == nil &&
		f.NamespaceSelector == nil && len(f.Operations) == 0 && f.Requester == nil
}

func (n *NamespaceFilter) empty() bool { return n == nil || len(n.Include)+len(n.Exclude) == 0 }

// kindLine is the line the i-th kind was written on, or the filter's.
func (f *Filter) kindLine(i int) int {
	if i < len(f.kindLines) && f.kindLines[i] > 0 {
		return f.kindLines[i]
	}
	return f.Line
}

func prefixed(prefix string, err error) error {
	if le, ok := err.(*lineError); ok {
		return &lineError{line: le.line, msg: prefix + le.msg}
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// selectsNamespaces reports whether the match or anything in it selects
// namespaces by label.
func (m *Match) selectsNamespaces() bool {
	if m == nil {
		return false
	}
	if m.NamespaceSelector != nil || m.Exclude.selectsNamespaces() {
		return true
	}
	for _, fs := range [][]Filter{m.Any, m.All} {
		for i := range fs {
			if fs[i].NamespaceSelector != nil {
				return true
			}
		}
	}
	return false
}
