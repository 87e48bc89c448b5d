package policy

import (
	"fmt"

	"github.com/baseguard/baseguard/subject"
)

// Set is a validated, compiled group of policies, ready to evaluate. It is
// immutable and safe for concurrent use.
type Set struct {
	policies []*compiledPolicy
}

type compiledPolicy struct {
	p         *Policy
	match     *compiledMatch
	rules     []compiledRule
	workloads []subject.Workload
}

type compiledRule struct {
	r       *Rule
	match   *compiledMatch
	actions compiledActions
}

// NewSet validates and compiles policies. Policy names must be unique.
func NewSet(ps []*Policy) (*Set, error) {
	s := &Set{}
	names := map[string]*Policy{}
	for _, p := range ps {
		if prev, ok := names[p.Metadata.Name]; ok {
			return nil, &LoadError{File: p.File, Line: p.Line, Msg: fmt.Sprintf("policy %q is defined twice (also at %s:%d)", p.Metadata.Name, prev.File, prev.Line)}
		}
		names[p.Metadata.Name] = p
		cp, err := compilePolicy(p)
		if err != nil {
			return nil, err
		}
		s.policies = append(s.policies, cp)
	}
	return s, nil
}

// Policies returns the policies of the set.
func (s *Set) Policies() []*Policy {
	ps := make([]*Policy, len(s.policies))
	for i, cp := range s.policies {
		ps[i] = cp.p
	}
	return ps
}

// Catalog returns every policy's catalog of known bases.
func (s *Set) Catalog() []Pattern {
	var out []Pattern
	for _, cp := range s.policies {
		out = append(out, cp.p.Spec.Catalog...)
	}
	return out
}

// loadFailure makes the LoadErrors of one policy, at a line (the policy's
// own when 0).
type loadFailure struct{ p *Policy }

func (f loadFailure) at(line int, format string, args ...any) error {
	if line == 0 {
		line = f.p.Line
	}
	return &LoadError{File: f.p.File, Line: line, Msg: fmt.Sprintf("policy %q: ", f.p.Metadata.Name) + fmt.Sprintf(format, args...)}
}

// lineErr makes a LoadError of a validation error, at its line when it
// has one (else the policy's).
func (f loadFailure) lineErr(line int, prefix string, err error) error {
	if le, ok := err.(*lineError); ok && le.line > 0 {
		line = le.line
	}
	return f.at(line, "%s%v", prefix, err)
}

func compilePolicy(p *Policy) (*compiledPolicy, error) {
	fail := loadFailure{p}
	if p.Metadata.Name == "" {
		return nil, fail.at(0, "metadata.name is required")
	}
	if !p.Spec.Action.valid() {
		return nil, fail.at(0, "spec.action %q: want enforce, audit or warn", p.Spec.Action)
	}
	switch p.Spec.OnResolveError {
	case "", "deny", "allow", "warn":
	default:
		return nil, fail.at(0, "spec.onResolveError %q: want deny, allow or warn", p.Spec.OnResolveError)
	}
	if len(p.Spec.Rules) == 0 {
		return nil, fail.at(0, "spec.rules: a policy needs at least one rule")
	}
	cp := &compiledPolicy{p: p}
	var err error
	if cp.workloads, err = compileWorkloads(p, fail); err != nil {
		return nil, err
	}
	known := judgedKinds(cp.workloads)
	if cp.match, err = compileMatch(p.Spec.Match, known); err != nil {
		return nil, fail.lineErr(0, "spec.match: ", err)
	}
	po, err := compileOverrides(p.Spec.ActionOverrides)
	if err != nil {
		return nil, fail.lineErr(0, "spec.", err)
	}
	seen := map[string]bool{}
	for i := range p.Spec.Rules {
		cr, err := compileRule(p, i, seen, fail, known)
		if err != nil {
			return nil, err
		}
		cr.actions.policy, cr.actions.policyAction = po, p.Spec.Action
		cp.rules = append(cp.rules, cr)
	}
	if err := checkExceptions(p, seen, fail, known); err != nil {
		return nil, err
	}
	return cp, nil
}

// compileRule validates the policy's i-th rule; seen holds the rule names
// before it, and gets its own.
func compileRule(p *Policy, i int, seen map[string]bool, fail loadFailure, known knownKinds) (compiledRule, error) {
	r := &p.Spec.Rules[i]
	switch {
	case r.Name == "":
		return compiledRule{}, fail.at(r.Line, "rule %d has no name", i+1)
	case seen[r.Name]:
		return compiledRule{}, fail.at(r.Line, "duplicate rule name %q", r.Name)
	case !r.Action.valid():
		return compiledRule{}, fail.at(r.Line, "rule %q: action %q: want enforce, audit or warn", r.Name, r.Action)
	case !r.Scope.valid():
		return compiledRule{}, fail.at(r.Line, "rule %q: scope %q: want lineage, image, base or bases", r.Name, r.Scope)
	case r.Untranslated == "" && len(r.Allow) == 0 && len(r.Deny) == 0 && !r.RequireBase && !r.RequireVerifiedBase && !r.RequireCurrentBase && r.MaxBaseAge.Duration == 0 && len(r.signers()) == 0:
		return compiledRule{}, fail.at(r.Line, "rule %q checks nothing: give allow, deny, requireBase, requireVerifiedBase, requireCurrentBase, maxBaseAge, signedBy or vulnerabilities", r.Name)
	}
	if err := checkTrust(r, fail); err != nil {
		return compiledRule{}, err
	}
	seen[r.Name] = true
	rm, err := compileMatch(r.Match, known)
	if err != nil {
		return compiledRule{}, fail.lineErr(r.Line, fmt.Sprintf("rule %q: match: ", r.Name), err)
	}
	ro, err := compileOverrides(r.ActionOverrides)
	if err != nil {
		return compiledRule{}, fail.lineErr(r.Line, fmt.Sprintf("rule %q: ", r.Name), err)
	}
	return compiledRule{r: r, match: rm, actions: compiledActions{rule: ro, ruleAction: r.Action}}, nil
}

// checkExceptions validates the policy's exceptions against its rules.
func checkExceptions(p *Policy, rules map[string]bool, fail loadFailure, known knownKinds) error {
	for i := range p.Spec.Exceptions {
		ex := &p.Spec.Exceptions[i]
		if ex.Name == "" {
			return fail.at(ex.Line, "exception %d has no name", i+1)
		}
		for _, rn := range ex.Rules {
			if !rules[rn] {
				return fail.at(ex.Line, "exception %q names rule %q, which the policy does not have", ex.Name, rn)
			}
		}
		for _, k := range ex.Kinds {
			if _, ok := known[k]; !ok {
				return fail.at(ex.Line, "exception %q: %v", ex.Name, unknownKind(k, known))
			}
		}
		if err := checkGlobs(append(append([]string(nil), ex.Namespaces...), ex.Resources...)); err != nil {
			return fail.at(ex.Line, "exception %q: %v", ex.Name, err)
		}
		if ex.Reason == "" {
			return fail.at(ex.Line, "exception %q needs a reason", ex.Name)
		}
	}
	return nil
}

// SelectsNamespaces reports whether a policy or rule selects namespaces by
// label (in a match, an exclude or an action override): deciding it needs
// the namespaces' labels.
func (s *Set) SelectsNamespaces() bool {
	for _, cp := range s.policies {
		if cp.p.Spec.Match.selectsNamespaces() || overridesSelect(cp.p.Spec.ActionOverrides) {
			return true
		}
		for _, r := range cp.p.Spec.Rules {
			if r.Match.selectsNamespaces() || overridesSelect(r.ActionOverrides) {
				return true
			}
		}
	}
	return false
}

func overridesSelect(os []ActionOverride) bool {
	for _, o := range os {
		if o.NamespaceSelector != nil {
			return true
		}
	}
	return false
}
