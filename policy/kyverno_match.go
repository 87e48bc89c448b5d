package policy

import (
	"fmt"
	"sort"
	"strings"
)

// kyvernoFilter is a Kyverno resource filter (resources, subjects, roles,
// clusterRoles) in native form. never marks a filter that holds for
// nothing baseguard judges; an empty f holds for everything.
type kyvernoFilter struct {
	f     Filter
	never bool
}

// kyvernoMatch translates a rule's match and exclude. keep is false when
// the match selects nothing baseguard judges, or the exclude everything:
// the rule then never applies.
func (t *translator) kyvernoMatch(match, exclude obj) (m *Match, keep bool, err error) {
	t.matchKinds = t.explicitKinds(match)
	m, keep, err = t.matchBlocks(match, "match", false)
	if err != nil || !keep {
		return nil, keep, err
	}
	ex, always, err := t.excludeBlocks(exclude)
	if err != nil || always {
		return nil, false, err
	}
	if ex != nil {
		if m == nil {
			m = &Match{}
		}
		m.Exclude = ex
	}
	if m != nil && m.Filter.empty() && len(m.Any) == 0 && len(m.All) == 0 && m.Exclude == nil {
		m = nil
	}
	return m, true, nil
}

// matchBlocks translates a Kyverno match: `any` (alternatives), `all`
// (each must hold) or the legacy `resources` with the user criteria.
func (t *translator) matchBlocks(m obj, what string, exclude bool) (*Match, bool, error) {
	if len(m) == 0 {
		return nil, true, nil
	}
	anyB, allB := asList(m["any"]), asList(m["all"])
	legacy := m["resources"] != nil
	switch {
	case len(anyB) > 0 && len(allB) > 0:
		return nil, false, t.errorf("%s gives both any and all, which Kyverno refuses", what)
	case (len(anyB) > 0 || len(allB) > 0) && legacy:
		return nil, false, t.errorf("%s gives any or all together with resources, which Kyverno refuses", what)
	case len(anyB) > 0 || len(allB) > 0:
		for _, k := range []string{"subjects", "roles", "clusterRoles"} {
			if m[k] != nil {
				t.note("%s.%s beside any/all is ignored, as Kyverno ignores it", what, k)
			}
		}
	}
	switch {
	case len(anyB) > 0:
		return t.anyBlocks(anyB, what, exclude)
	case len(allB) > 0:
		return t.allBlocks(allB, what, exclude)
	}
	b, err := t.filter(m, what, exclude)
	if err != nil || b.never {
		return nil, false, err
	}
	return &Match{Filter: b.f}, true, nil
}

// anyBlocks: the blocks that can hold are alternatives; one that always
// holds makes the whole always hold.
func (t *translator) anyBlocks(blocks []any, what string, exclude bool) (*Match, bool, error) {
	out := &Match{}
	for i, b := range blocks {
		kb, err := t.filter(asObj(b), fmt.Sprintf("%s.any[%d]", what, i), exclude)
		if err != nil {
			return nil, false, err
		}
		switch {
		case kb.never:
		case kb.f.empty():
			return &Match{}, true, nil
		default:
			out.Any = append(out.Any, kb.f)
		}
	}
	if len(out.Any) == 0 {
		return nil, false, nil
	}
	if len(out.Any) == 1 {
		return &Match{Filter: out.Any[0]}, true, nil
	}
	return out, true, nil
}

// allBlocks: every block must hold; one that never holds makes the whole
// never hold, one that always holds adds nothing.
func (t *translator) allBlocks(blocks []any, what string, exclude bool) (*Match, bool, error) {
	out := &Match{}
	for i, b := range blocks {
		kb, err := t.filter(asObj(b), fmt.Sprintf("%s.all[%d]", what, i), exclude)
		if err != nil || kb.never {
			return nil, false, err
		}
		if !kb.f.empty() {
			out.All = append(out.All, kb.f)
		}
	}
	if len(out.All) == 1 {
		return &Match{Filter: out.All[0]}, true, nil
	}
	return out, true, nil
}

// excludeBlocks translates an exclude. An exclude filter that baseguard
// cannot decide as Kyverno does is dropped (it never excludes), so the
// rule applies more widely, never less. always reports an exclude that
// takes out everything.
func (t *translator) excludeBlocks(ex obj) (m *Match, always bool, err error) {
	if len(ex) == 0 {
		return nil, false, nil
	}
	m, holds, err := t.matchBlocks(ex, "exclude", true)
	switch {
	case err != nil:
		return nil, false, err
	case !holds:
		return nil, false, nil
	case m == nil || (m.Filter.empty() && len(m.Any) == 0 && len(m.All) == 0):
		return nil, true, nil
	}
	return m, false, nil
}

// kyvernoFilterKeys are the keys of a Kyverno resource filter, and of its
// resources.
var (
	kyvernoFilterKeys    = []string{"resources", "subjects", "roles", "clusterRoles"}
	kyvernoResourcesKeys = []string{"kinds", "name", "names", "namespaces", "annotations", "selector", "namespaceSelector", "operations"}
)

// filter translates one Kyverno resource filter. In a match, a criterion
// baseguard cannot decide is left out (the filter holds more widely); in
// an exclude, the filter is dropped (it never excludes).
func (t *translator) filter(b obj, what string, exclude bool) (kyvernoFilter, error) {
	var out kyvernoFilter
	out.f.Line = t.line
	if kyvernoFilterEmpty(b) {
		// Kyverno: "match cannot be empty"; an empty exclude excludes nothing.
		t.note("%s gives no criterion: in Kyverno, as here, it never holds", what)
		return kyvernoFilter{never: true}, nil
	}
	drop := func(format string, args ...any) {
		why := fmt.Sprintf(format, args...)
		if exclude {
			out.never = true
			t.note("%s %s, which baseguard does not judge: that filter never excludes here, so the rule applies more widely than in Kyverno", what, why)
			return
		}
		t.note("%s %s, which baseguard does not judge: the rule applies regardless of it", what, why)
	}
	for _, k := range unknownKeys(b, append(kyvernoFilterKeys, "any", "all")) {
		drop("has the unknown field %q", k)
	}
	res := asObj(b["resources"])
	for _, k := range unknownKeys(res, kyvernoResourcesKeys) {
		drop("has the unknown field resources.%s", k)
	}
	if err := t.resourceCriteria(res, what, exclude, &out, drop); err != nil || out.never {
		return out, err
	}
	return out, t.requesterCriteria(b, what, exclude, &out.f)
}

func (t *translator) resourceCriteria(res obj, what string, exclude bool, out *kyvernoFilter, drop func(string, ...any)) error {
	if kinds := strList(res["kinds"]); len(kinds) > 0 {
		out.f.Kinds, out.never = t.kindSelectors(kinds, what, exclude)
		if out.never {
			return nil
		}
	}
	name, names := str(res["name"]), strList(res["names"])
	if name != "" && len(names) > 0 {
		return t.errorf("%s gives both name and names, which Kyverno refuses", what)
	}
	if name != "" {
		names = []string{name}
	}
	out.f.Names = kyvernoGlobs(names)
	if ns := strList(res["namespaces"]); len(ns) > 0 {
		out.f.Namespaces = &NamespaceFilter{Include: kyvernoGlobs(ns)}
	}
	if len(asObj(res["annotations"])) > 0 {
		drop("selects by annotations")
		if out.never {
			return nil
		}
	}
	var ok bool
	if out.f.Selector, ok = t.kyvernoSelector(res["selector"], what+" selector"); !ok {
		out.never = true
		return nil
	}
	if out.f.NamespaceSelector, ok = t.kyvernoSelector(res["namespaceSelector"], what+" namespaceSelector"); !ok {
		out.never = true
		return nil
	}
	return t.operations(strList(res["operations"]), what, out)
}

// operations keeps the operations baseguard judges (CREATE, UPDATE); a
// filter on other operations only never holds for what it judges.
func (t *translator) operations(ops []string, what string, out *kyvernoFilter) error {
	if len(ops) == 0 {
		return nil
	}
	for _, op := range ops {
		switch op {
		case "CREATE", "UPDATE":
			out.f.Operations = append(out.f.Operations, op)
		case "DELETE", "CONNECT":
		default:
			return t.errorf("%s operation %q: Kyverno accepts CREATE, UPDATE, DELETE or CONNECT", what, op)
		}
	}
	if len(out.f.Operations) == 0 {
		t.note("%s selects only %s requests, which baseguard does not judge", what, strings.Join(ops, ", "))
		out.never = true
	}
	return nil
}

// requesterCriteria translates subjects, roles and clusterRoles.
func (t *translator) requesterCriteria(b obj, what string, exclude bool, f *Filter) error {
	subjects, roles, clusterRoles := asList(b["subjects"]), strList(b["roles"]), strList(b["clusterRoles"])
	if len(subjects)+len(roles)+len(clusterRoles) == 0 {
		return nil
	}
	r := &Requester{Roles: roles, ClusterRoles: clusterRoles}
	for _, role := range roles {
		if ns, name, ok := strings.Cut(role, ":"); !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			return t.errorf("%s role %q: Kyverno wants NAMESPACE:NAME", what, role)
		}
	}
	for _, s := range subjects {
		s := asObj(s)
		name, ns := str(s["name"]), str(s["namespace"])
		if name == "" {
			return t.errorf("%s subject without a name, which Kyverno refuses", what)
		}
		switch str(s["kind"]) {
		case "User":
			r.Users = append(r.Users, name)
		case "Group":
			r.Groups = append(r.Groups, name)
		case "ServiceAccount":
			if ns == "" {
				return t.errorf("%s ServiceAccount subject %q without a namespace, which Kyverno refuses", what, name)
			}
			r.ServiceAccounts = append(r.ServiceAccounts, ns+":"+name)
		default:
			return t.errorf("%s subject kind %q: Kyverno accepts User, Group or ServiceAccount", what, str(s["kind"]))
		}
	}
	f.Requester = r
	if exclude {
		t.note("%s selects requesters: honoured at admission from the request's user (roles where they were looked up); in check and audit, where the requester is unknown, it excludes nothing and the rule applies", what)
	} else {
		t.note("%s selects requesters: honoured at admission from the request's user (roles where they were looked up); in check and audit, where the requester is unknown, the rule applies", what)
	}
	return nil
}

// kyvernoSelector translates a label selector; ok is false when it is
// invalid, which in Kyverno makes its filter never hold.
func (t *translator) kyvernoSelector(v any, what string) (*LabelSelector, bool) {
	s := selectorOf(v)
	if s == nil {
		return nil, true
	}
	if _, err := compileSelector(s); err != nil {
		t.note("%s is invalid (%v): in Kyverno, as here, that filter never holds", what, err)
		return nil, false
	}
	return s, true
}

func selectorOf(v any) *LabelSelector {
	m, ok := v.(obj)
	if !ok {
		return nil
	}
	s := &LabelSelector{}
	for k, v := range asObj(m["matchLabels"]) {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[k] = str(v)
	}
	for _, e := range asList(m["matchExpressions"]) {
		e := asObj(e)
		s.MatchExpressions = append(s.MatchExpressions, LabelExpression{Key: str(e["key"]), Operator: str(e["operator"]), Values: strList(e["values"])})
	}
	return s
}

// kyvernoGlobs writes Kyverno wildcards (`*`, `?`) as the shell globs
// native policies use, escaping what path.Match would read differently.
func kyvernoGlobs(ss []string) []string {
	var out []string
	for _, s := range ss {
		var b strings.Builder
		for _, r := range s {
			if r == '[' || r == ']' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		out = append(out, b.String())
	}
	return out
}

func unknownKeys(m obj, known []string) []string {
	var out []string
	for k := range m {
		found := false
		for _, kk := range known {
			found = found || k == kk
		}
		if !found {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// kyvernoFilterEmpty reports a filter with no criterion at all, which
// Kyverno never takes to hold.
func kyvernoFilterEmpty(b obj) bool {
	if len(asList(b["subjects"]))+len(strList(b["roles"]))+len(strList(b["clusterRoles"])) > 0 {
		return false
	}
	for _, v := range asObj(b["resources"]) {
		switch v := v.(type) {
		case nil:
		case string:
			if v != "" {
				return false
			}
		case []any:
			if len(v) > 0 {
				return false
			}
		case obj:
			if len(v) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
