package policy

import (
	"fmt"

	"github.com/baseguard/baseguard/subject"
)

// compiledActions decide a rule's action for a resource: the first
// override of the rule that holds, the rule's action, the first override
// of the policy that holds, the policy's action, enforce (the order in
// which Kyverno's engine decides).
type compiledActions struct {
	rule, policy             []compiledOverride
	ruleAction, policyAction Action
}

type compiledOverride struct {
	o     *ActionOverride
	nsSel *selector
}

func compileOverrides(os []ActionOverride) ([]compiledOverride, error) {
	var out []compiledOverride
	for i := range os {
		o := &os[i]
		switch {
		case o.Action == "" || !o.Action.valid():
			return nil, errAt(o.Line, "actionOverrides[%d]: action %q: want enforce, audit or warn", i, o.Action)
		case len(o.Namespaces) == 0 && o.NamespaceSelector == nil:
			return nil, errAt(o.Line, "actionOverrides[%d]: give namespaces or a namespaceSelector (for every namespace, set action)", i)
		}
		if err := checkGlobs(o.Namespaces); err != nil {
			return nil, errAt(o.Line, "actionOverrides[%d]: namespaces: %v", i, err)
		}
		sel, err := compileSelector(o.NamespaceSelector)
		if err != nil {
			return nil, errAt(o.Line, "actionOverrides[%d]: namespaceSelector: %v", i, err)
		}
		out = append(out, compiledOverride{o: o, nsSel: sel})
	}
	return out, nil
}

// holds decides whether the override applies to the resource's namespace:
// named by one of its globs (when given) and labelled as its selector says
// (when given).
func (c compiledOverride) holds(res *subject.Resource) truth {
	if len(c.o.Namespaces) > 0 && !globAny(c.o.Namespaces, res.Namespace) {
		return no
	}
	switch {
	case c.nsSel == nil:
		return yes
	case res.NamespaceLabels == nil:
		return unknownNamespace
	case c.nsSel.matches(res.NamespaceLabels):
		return yes
	}
	return no
}

// actionFor decides the action for a resource. Where an override depends
// on namespace labels that are unknown, the strictest action it could give
// is taken and why says so.
func (c *compiledActions) actionFor(res *subject.Resource) (action Action, why string) {
	var possible []Action
	action = DefaultAction
	found := false
	for _, level := range []struct {
		overrides []compiledOverride
		action    Action
	}{{c.rule, c.ruleAction}, {c.policy, c.policyAction}} {
		for _, o := range level.overrides {
			switch o.holds(res) {
			case yes:
				action, found = o.o.Action, true
			case unknownNamespace:
				possible = append(possible, o.o.Action)
			}
			if found {
				break
			}
		}
		if !found && level.action != "" {
			action, found = level.action, true
		}
		if found {
			break
		}
	}
	for _, a := range possible {
		if a == Enforce && action != Enforce {
			return Enforce, fmt.Sprintf("action enforce, not %s: the labels of namespace %q are not known and an action override that selects namespaces by label could make it enforce", action, res.Namespace)
		}
	}
	return action, ""
}
