package policy

import (
	"strings"
)

// applyPreconditions puts translated preconditions on a rule: conditions
// on the operation into its match, conditions on images into when (the
// rule judges the images they name). keep is false when the
// preconditions never hold for what baseguard judges.
func (t *translator) applyPreconditions(cs conditionSet, rule *Rule) (keep bool) {
	switch {
	case cs.why != "":
		untranslated(rule, "preconditions: %s", cs.why)
		return true
	case cs.never:
		t.note("its preconditions never hold for a CREATE or UPDATE; baseguard does not apply it")
		return false
	}
	t.requireOperations(rule, cs.ops)
	t.requireFilters(rule, cs.filters)
	for _, p := range cs.preds {
		if p.negated || !p.exact || p.base {
			untranslated(rule, "preconditions: a condition on images that is not \"some image is among\" the values cannot be translated exactly")
			return true
		}
		rule.When = addPatterns(rule.When, p.pats)
	}
	if len(cs.preds) > 0 && rule.Untranslated == "" {
		t.note("the preconditions name images; baseguard applies the rule to those images only (Kyverno, once they hold, checks every container)")
	}
	return true
}

// requireOperations narrows the rule to admission operations.
func (t *translator) requireOperations(rule *Rule, ops []string) {
	if ops == nil {
		return
	}
	if rule.Match == nil {
		rule.Match = &Match{}
	}
	m := rule.Match
	if m.Operations == nil {
		m.Operations = ops
		m.Line = t.line
		return
	}
	m.Operations = intersect(m.Operations, ops)
	if len(m.Operations) == 0 {
		m.Operations = []string{"DELETE"} // holds for nothing baseguard judges
	}
}

// applyDeny puts translated deny conditions on a rule: an image that meets
// a positive condition fails (deny), one that meets a negated one fails
// unless it is among its values (allow). keep is false when the conditions
// never deny what baseguard judges.
func (t *translator) applyDeny(cs conditionSet, rule *Rule) (keep bool) {
	switch {
	case cs.why != "":
		untranslated(rule, "deny conditions: %s", cs.why)
		return true
	case cs.never:
		t.note("its deny conditions never hold for a CREATE or UPDATE; baseguard does not apply it")
		return false
	case len(cs.preds) == 0:
		untranslated(rule, "its deny conditions do not look at images: it denies whatever it matches")
		return true
	}
	t.requireOperations(rule, cs.ops)
	t.requireFilters(rule, cs.filters)
	negations, imageDenies, baseAllows := 0, 0, 0
	for _, p := range cs.preds {
		switch {
		case p.requireBase && len(p.pats) == 0:
			rule.RequireBase = true
		case p.negated && !p.exact:
			untranslated(rule, "deny conditions: an allow list on a part of the image (registry, tag, name) that baseguard cannot match exactly")
			return true
		case p.negated:
			negations++
			rule.Allow = addPatterns(rule.Allow, p.pats)
			rule.RequireBase = rule.RequireBase || p.requireBase
			if p.base {
				baseAllows++
				rule.Scope = ScopeBase // Kyverno compares the declared base alone, not the image
			}
		default:
			rule.Deny = addPatterns(rule.Deny, p.pats)
			if !p.base {
				imageDenies++
			}
		}
	}
	switch {
	case negations > 1:
		untranslated(rule, "deny conditions: several alternative allow lists cannot be joined into one")
	case baseAllows > 0 && imageDenies > 0:
		untranslated(rule, "deny conditions: an allow list on the declared base beside a deny list on the image cannot be joined into one rule")
	}
	return true
}

// foreach translates validate.foreach over container lists: each element
// is one image, so its conditions translate per image exactly.
func (t *translator) foreach(entries []any, rule *Rule) (bool, error) {
	var parts []Rule
	for _, e := range entries {
		part, keep, err := t.foreachEntry(asObj(e))
		if err != nil {
			return false, err
		}
		if keep {
			parts = append(parts, part)
		}
	}
	if len(parts) == 0 {
		t.note("no foreach entry ever denies a CREATE or UPDATE; baseguard does not apply it")
		return false, nil
	}
	return true, t.joinForeach(parts, rule)
}

func (t *translator) foreachEntry(f obj) (Rule, bool, error) {
	var part Rule
	lists, template, ok := foreachLists(str(f["list"]))
	switch {
	case !ok:
		untranslated(&part, "foreach over %s is not over container images", strings.TrimSpace(str(f["list"])))
		return part, true, nil
	case f["foreach"] != nil:
		untranslated(&part, "nested foreach is not translated")
		return part, true, nil
	}
	if len(lists) < 3 {
		t.note("foreach lists %s; baseguard checks every container list", strings.Join(lists, ", "))
	}
	if template {
		t.note("foreach reads a pod template, which Pods lack; baseguard reads the pod spec wherever the kind keeps it")
	}
	ctx := t.elementContext(f["context"])
	pre := ctx
	pre.pre = true
	if !t.applyPreconditions(t.conditionSet(f["preconditions"], &pre), &part) {
		return part, false, nil
	}
	var forms []string
	for _, k := range []string{"deny", "pattern", "anyPattern"} {
		if f[k] != nil {
			forms = append(forms, k)
		}
	}
	switch {
	case len(forms) != 1:
		untranslated(&part, "foreach uses %s; baseguard translates exactly one of deny, pattern and anyPattern", formsText(forms))
	case forms[0] == "deny":
		if !t.applyDeny(t.conditionSet(asObj(f["deny"])["conditions"], &ctx), &part) {
			return part, false, nil
		}
	default:
		t.elementPattern(f[forms[0]], forms[0] == "anyPattern", &part)
	}
	return part, true, nil
}

// elementContext finds the foreach context entries that hold the element
// image's registry data and its declared base.
func (t *translator) elementContext(v any) condContext {
	ctx := condContext{element: true, baseVars: map[string]bool{}, imageVars: map[string]bool{}}
	for _, c := range asList(v) {
		c := asObj(c)
		if ir, ok := c["imageRegistry"].(obj); ok && strings.ReplaceAll(str(ir["reference"]), " ", "") == "{{element.image}}" {
			ctx.imageVars[str(c["name"])] = true
		}
	}
	for _, c := range asList(v) {
		c := asObj(c)
		if v, ok := c["variable"].(obj); ok && isBaseExpr(strings.TrimSpace(str(v["jmesPath"])), &ctx) && str(v["default"]) == "" {
			ctx.baseVars[str(c["name"])] = true
		}
	}
	return ctx
}

// joinForeach joins foreach entries into one rule: they must judge the
// same images (when) at the same operations; their denials add up, and at
// most one allow list can be kept.
func (t *translator) joinForeach(parts []Rule, rule *Rule) error {
	first := parts[0]
	scoped := false // rule.Scope is that of a part with patterns
	for _, p := range parts {
		if p.Untranslated != "" {
			untranslated(rule, "%s", p.Untranslated)
			return nil
		}
		if p.Match != nil && len(p.Match.All) > 0 {
			untranslated(rule, "its foreach conditions on the resource are not translated")
			return nil
		}
		if !samePatterns(p.When, first.When) || !sameOps(p.Match, first.Match) {
			untranslated(rule, "its foreach entries judge different images or operations")
			return nil
		}
		if len(rule.Allow) > 0 && len(p.Allow) > 0 && !samePatterns(rule.Allow, p.Allow) {
			untranslated(rule, "its foreach entries hold different allow lists")
			return nil
		}
		if len(p.Allow) > 0 || len(p.Deny) > 0 {
			if scoped && p.Scope != rule.Scope {
				untranslated(rule, "its foreach entries judge the declared base and the image itself")
				return nil
			}
			scoped, rule.Scope = true, p.Scope
		}
		rule.Deny = addPatterns(rule.Deny, p.Deny)
		rule.Allow = addPatterns(rule.Allow, p.Allow)
		rule.RequireBase = rule.RequireBase || p.RequireBase
	}
	if len(first.When) > 0 && len(rule.When) > 0 && !samePatterns(first.When, rule.When) {
		untranslated(rule, "both the rule's and its foreach's preconditions name images")
		return nil
	}
	rule.When = addPatterns(rule.When, first.When)
	if first.Match != nil {
		t.requireOperations(rule, first.Match.Operations)
	}
	return nil
}

func sameOps(a, b *Match) bool {
	var oa, ob []string
	if a != nil {
		oa = a.Operations
	}
	if b != nil {
		ob = b.Operations
	}
	return strings.Join(oa, ",") == strings.Join(ob, ",")
}
