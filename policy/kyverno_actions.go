package policy

// policyActions reads spec.validationFailureAction and
// spec.validationFailureActionOverrides.
func (t *translator) policyActions(spec obj) error {
	raw := str(spec["validationFailureAction"])
	if raw == "" {
		t.p.Spec.Action = Audit
		t.p.note("", t.line, "no validationFailureAction: Kyverno's default, audit, applies")
	} else {
		a, ok := kyvernoAction(raw)
		if !ok {
			return t.errorf("validationFailureAction %q: Kyverno accepts Enforce or Audit", raw)
		}
		t.p.Spec.Action = a
	}
	overrides, global, err := t.overrides(spec["validationFailureActionOverrides"], "validationFailureActionOverrides")
	if err != nil {
		return err
	}
	t.p.Spec.ActionOverrides = overrides
	if global != "" {
		t.p.Spec.Action = global
	}
	return nil
}

// ruleActions reads a validate rule's failureAction and
// failureActionOverrides.
func (t *translator) ruleActions(validate obj, rule *Rule) error {
	if raw := str(validate["failureAction"]); raw != "" {
		a, ok := kyvernoAction(raw)
		if !ok {
			return t.errorf("validate.failureAction %q: Kyverno accepts Enforce or Audit", raw)
		}
		rule.Action = a
	}
	overrides, global, err := t.overrides(validate["failureActionOverrides"], "validate.failureActionOverrides")
	if err != nil {
		return err
	}
	rule.ActionOverrides = overrides
	if global != "" {
		rule.Action = global
	}
	return nil
}

// overrides translates Kyverno's per-namespace action overrides. An
// override that names neither namespaces nor a selector holds everywhere:
// it ends the list and its action is returned as global. Overrides decide
// as Kyverno's engine does: the first that holds, with namespaces and
// selector both holding when both are given.
func (t *translator) overrides(v any, what string) (out []ActionOverride, global Action, err error) {
	for _, o := range asList(v) {
		o := asObj(o)
		a, ok := kyvernoAction(str(o["action"]))
		if !ok {
			return nil, "", t.errorf("%s action %q: Kyverno accepts Enforce or Audit", what, str(o["action"]))
		}
		nsList, hasNamespaces := o["namespaces"].([]any)
		sel := selectorOf(o["namespaceSelector"])
		switch {
		case hasNamespaces && len(nsList) == 0:
			t.note("%s: an override with an empty namespaces list never holds in Kyverno; baseguard leaves it out", what)
			continue
		case len(nsList) == 0 && sel == nil:
			return out, a, nil
		case len(nsList) > 0 && sel != nil:
			t.note("%s: an override naming namespaces and a namespaceSelector holds where both do (as Kyverno's engine decides)", what)
		}
		if sel != nil {
			if _, err := compileSelector(sel); err != nil {
				t.note("%s: an override's namespaceSelector is invalid (%v): in Kyverno, as here, it never holds", what, err)
				continue
			}
		}
		out = append(out, ActionOverride{Action: a, Namespaces: kyvernoGlobs(strList(nsList)), NamespaceSelector: sel, Line: t.line})
	}
	return out, "", nil
}
