package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// conditions returns the conditions of a Kyverno condition block: a list,
// or {any: [...], all: [...]}.
func conditions(v any) (anyOf, allOf []obj) {
	for _, c := range asList(v) {
		allOf = append(allOf, asObj(c))
	}
	m := asObj(v)
	for _, c := range asList(m["any"]) {
		anyOf = append(anyOf, asObj(c))
	}
	for _, c := range asList(m["all"]) {
		allOf = append(allOf, asObj(c))
	}
	return anyOf, allOf
}

func (t *translator) preconditions(v any, rule *Rule) error {
	anyOf, allOf := conditions(v)
	for _, c := range append(anyOf, allOf...) {
		key := str(c["key"])
		if strings.Contains(key, "request.operation") {
			continue // admission operations are baseguard's own business
		}
		comp, ok := imageKey(key)
		if !ok {
			t.note("precondition on %s is not translated: the rule applies regardless", key)
			continue
		}
		op := str(c["operator"])
		if strings.Contains(key, "spec.template") {
			t.note("the precondition reads %s, which Pods lack, so Kyverno never applies the rule to Pods; baseguard applies it to every pod-bearing kind", strings.Trim(key, "{} "))
		}
		if op == "Contains" {
			t.note("Contains is not a Kyverno operator; baseguard reads it as \"some image contains\" and applies the rule to the matching images only, not to every container of the resource")
		}
		vals, err := t.values(c["value"])
		if err != nil {
			return err
		}
		switch op {
		case "AnyIn", "AllIn", "In", "Equals", "Contains":
			ps, err := t.patterns(comp, vals, op == "Contains")
			if err != nil {
				return err
			}
			rule.When = addPatterns(rule.When, ps)
		default:
			t.note("precondition operator %s is not translated: the rule applies regardless", op)
		}
	}
	return nil
}

// pattern translates a validate.pattern (or anyPattern) over container
// images into allow and deny lists.
func (t *translator) pattern(v any, anyPattern bool, rule *Rule) error {
	pats := []any{v}
	if anyPattern {
		pats = asList(v)
	}
	found := false
	for _, p := range pats {
		var images []string
		lists := map[string]bool{}
		anchored := false
		walkPattern(asObj(p), "", func(path, list, image string) {
			images = append(images, image)
			lists[list] = true
			anchored = anchored || strings.Contains(path, "(template)")
		})
		if anchored {
			t.note("(template)? is read as \"the pod spec, wherever the kind keeps it\"; in Kyverno it is a literal field name that never matches, so the rule fails every resource, approved images included")
		}
		if len(lists) > 0 && len(lists) < 3 {
			t.note("the pattern names only %s; baseguard checks every container list (containers, initContainers, ephemeralContainers) and CronJob templates", strings.Join(sortedSet(lists), ", "))
		}
		for _, img := range images {
			found = true
			if err := t.imagePattern(img, rule); err != nil {
				return err
			}
		}
	}
	if !found {
		rule.Untranslated = "its pattern constrains no container image"
	}
	return nil
}

// walkPattern finds `image:` values under container lists in a Kyverno
// pattern, whatever anchors lead there.
func walkPattern(m obj, path string, fn func(path, list, image string)) {
	for k, v := range m {
		key := strings.Trim(k, "=()^X<+")
		key = strings.TrimSuffix(key, "?")
		key = strings.Trim(key, "()")
		p := path + "." + k
		switch key {
		case "containers", "initContainers", "ephemeralContainers":
			for _, c := range asList(v) {
				for ck, cv := range asObj(c) {
					if strings.Trim(ck, "=()^X<+") == "image" {
						fn(p, key, str(cv))
					}
				}
			}
		default:
			if sub, ok := v.(obj); ok {
				walkPattern(sub, p, fn)
			}
		}
	}
}

// imagePattern translates a Kyverno image pattern: `a* | b*` allows,
// `!a*` and `!a* & !b*` deny.
func (t *translator) imagePattern(s string, rule *Rule) error {
	if strings.Contains(s, "&") {
		var deny []string
		for _, part := range strings.Split(s, "&") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "!") {
				rule.Untranslated = fmt.Sprintf("image pattern %q mixes & with a positive pattern", s)
				return nil
			}
			deny = append(deny, strings.TrimPrefix(part, "!"))
		}
		ps, err := t.patterns("reference", deny, false)
		rule.Deny = addPatterns(rule.Deny, ps)
		return err
	}
	var allow, deny []string
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "!") {
			deny = append(deny, strings.TrimPrefix(part, "!"))
		} else {
			allow = append(allow, part)
		}
	}
	if len(allow) > 0 && len(deny) > 0 {
		rule.Untranslated = fmt.Sprintf("image pattern %q mixes | with negations", s)
		return nil
	}
	a, err := t.patterns("reference", allow, false)
	if err != nil {
		return err
	}
	d, err := t.patterns("reference", deny, false)
	rule.Allow, rule.Deny = addPatterns(rule.Allow, a), addPatterns(rule.Deny, d)
	return err
}

// denyConditions translates validate.deny.conditions over images. base is
// the name of a variable holding the image's declared base, imageVar the
// name of an imageRegistry context entry, inside a foreach.
func (t *translator) denyConditions(v any, base, imageVar string, rule *Rule) error {
	anyOf, allOf := conditions(v)
	if len(allOf) > 1 {
		rule.Untranslated = "deny.conditions.all joins several conditions"
		return nil
	}
	for _, c := range append(anyOf, allOf...) {
		key, op := str(c["key"]), str(c["operator"])
		if isBaseKey(key, base, imageVar) {
			if err := t.baseCondition(c, op, rule); err != nil {
				return err
			}
			continue
		}
		comp, ok := imageKey(key)
		if !ok {
			rule.Untranslated = fmt.Sprintf("deny condition on %s is not about images", key)
			return nil
		}
		if comp == "name" || comp == "path" {
			t.note("the deny key %s holds the image name without registry or tag in Kyverno, so tag patterns like *ubuntu:18.04* never matched there; baseguard matches the whole reference, tag included", strings.Trim(key, "{} "))
		}
		if strings.Contains(key, "images.containers") || strings.Contains(key, ".containers") {
			t.note("the deny key reads only containers; baseguard checks every container list")
		}
		vals, err := t.values(c["value"])
		if err != nil {
			return err
		}
		ps, err := t.patterns(comp, vals, op == "Contains" || op == "NotContains")
		if err != nil {
			return err
		}
		switch op {
		case "AnyIn", "AllIn", "In", "Equals", "Contains":
			rule.Deny = addPatterns(rule.Deny, ps)
		case "AnyNotIn", "AllNotIn", "NotIn", "NotEquals", "NotContains":
			rule.Allow = addPatterns(rule.Allow, ps)
		default:
			rule.Untranslated = fmt.Sprintf("deny operator %s is not translated", op)
			return nil
		}
	}
	return nil
}

// baseCondition translates a condition on an image's declared base
// (org.opencontainers.image.base.name).
func (t *translator) baseCondition(c obj, op string, rule *Rule) error {
	vals, err := t.values(c["value"])
	if err != nil {
		return err
	}
	switch {
	case (op == "Equals" && len(vals) == 1 && vals[0] == "") || (op == "NotEquals" && len(vals) == 0):
		rule.RequireBase = true
		t.note("the rule requires a known base; baseguard finds it in annotations, provenance, buildinfo, buildpacks metadata or layers, not only in the manifest annotation Kyverno reads")
	case op == "AnyNotIn" || op == "NotIn" || op == "AllNotIn" || op == "NotEquals":
		ps, err := t.patterns("reference", vals, false)
		if err != nil {
			return err
		}
		rule.Allow = addPatterns(rule.Allow, ps)
		rule.RequireBase = true
		t.note("the allow list applies to the image's lineage: its resolved bases (offline: the image itself)")
	case op == "AnyIn" || op == "In" || op == "Equals":
		ps, err := t.patterns("reference", vals, false)
		if err != nil {
			return err
		}
		rule.Deny = addPatterns(rule.Deny, ps)
	default:
		rule.Untranslated = fmt.Sprintf("base condition operator %s is not translated", op)
	}
	return nil
}

func (t *translator) foreach(f obj, rule *Rule) error {
	list := str(f["list"])
	if !strings.Contains(list, "ontainers") {
		rule.Untranslated = fmt.Sprintf("foreach over %s is not about containers", list)
		return nil
	}
	t.note("foreach lists %s; baseguard checks every container list", list)
	imageVar, base := "", ""
	for _, c := range asList(f["context"]) {
		c := asObj(c)
		if ir, ok := c["imageRegistry"].(obj); ok && strings.Contains(str(ir["reference"]), "element.image") {
			imageVar = str(c["name"])
		}
		if v, ok := c["variable"].(obj); ok && strings.Contains(str(v["jmesPath"]), "image.base.name") {
			base = str(c["name"])
		}
	}
	deny := asObj(f["deny"])
	return t.denyConditions(deny["conditions"], base, imageVar, rule)
}

func isBaseKey(key, base, imageVar string) bool {
	k := strings.Trim(key, "{} ")
	if strings.Contains(k, "image.base.name") {
		return true
	}
	return base != "" && (k == base || strings.HasPrefix(k, base+" "))
}

// imageKey reports whether a Kyverno variable reads container images, and
// which part of them.
func imageKey(key string) (string, bool) {
	k := strings.Trim(key, "{} ")
	k, _, _ = strings.Cut(k, "||")
	k = strings.TrimSpace(k)
	if strings.HasPrefix(k, "images.") {
		parts := strings.Split(k, ".")
		switch last := parts[len(parts)-1]; last {
		case "registry", "name", "path", "tag", "digest":
			return last, true
		}
		return "reference", true
	}
	if strings.HasSuffix(k, ".image") || strings.HasSuffix(k, "[].image") || k == "element.image" {
		return "reference", true
	}
	return "", false
}

// values resolves a condition's value: a list, a scalar, or a variable
// naming ConfigMap data (`{{ baseimages.data.allowedbaseimages }}`) that
// holds a JSON list or a comma-separated one.
func (t *translator) values(v any) ([]string, error) {
	if l, ok := v.([]any); ok {
		return strList(l), nil
	}
	s := str(v)
	if strings.HasPrefix(strings.TrimSpace(s), "{{") {
		ref := strings.Trim(s, "{} ")
		name, rest, _ := strings.Cut(ref, ".")
		data, ok := t.ruleContext[name]
		key := strings.TrimPrefix(rest, "data.")
		if !ok || !strings.HasPrefix(rest, "data.") {
			return nil, t.errorf("value %s names no ConfigMap context entry", s)
		}
		val, ok := data[strings.Trim(key, `"`)]
		if !ok {
			return nil, t.errorf("ConfigMap data has no key %q", key)
		}
		return splitList(val), nil
	}
	return []string{s}, nil
}

func splitList(s string) []string {
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err == nil {
		return l
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' || r == '\n' }) {
		if part = strings.TrimSpace(part); part != "" {
			l = append(l, part)
		}
	}
	return l
}

// patterns turns condition values on an image component into reference
// patterns.
func (t *translator) patterns(comp string, vals []string, contains bool) ([]Pattern, error) {
	var out []Pattern
	for _, v := range vals {
		if contains {
			v = "*" + v + "*"
		}
		switch comp {
		case "registry":
			v += "/*"
		case "tag":
			v = "*:" + v
		case "digest":
			v = "*@" + v
		}
		var p Pattern
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: t.line}
		if err := p.UnmarshalYAML(n); err != nil {
			return nil, t.errorf("%v", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// addPatterns appends the patterns dst does not hold yet: a Kyverno
// pattern repeats its image list for every container list.
func addPatterns(dst, ps []Pattern) []Pattern {
	for _, p := range ps {
		if !slices.ContainsFunc(dst, func(q Pattern) bool { return q.String() == p.String() }) {
			dst = append(dst, p)
		}
	}
	return dst
}
