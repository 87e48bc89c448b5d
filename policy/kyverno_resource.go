package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// quantityLike is a value Kyverno's Equals may compare as a number, a
// quantity (`100m`, `1Ki`) or a duration rather than as text.
var quantityLike = regexp.MustCompile(`^[+-]?[0-9.]+([eE][+-]?[0-9]+)?[A-Za-z]*$`)

// resourceCondition translates a condition on the resource's label (with a
// default, so a missing label reads as "") or its namespace into a
// filter: a label selector or namespace globs.
func (t *translator) resourceCondition(k condKey, op string, value any) (*Filter, string) {
	negated := slices.Contains(negativeOps, op)
	if op == "contains" || (!negated && !slices.Contains(positiveOps, op)) {
		return nil, fmt.Sprintf("operator %s on %s is not translated", op, k.expr)
	}
	vals, literal, why := t.conditionValues(value, op, true)
	if why != "" {
		return nil, why
	}
	for _, v := range vals {
		if _, err := time.ParseDuration(v); err == nil || quantityLike.MatchString(v) || v == "" {
			return nil, fmt.Sprintf("the value %q of a condition on %s would be compared as a number, duration or absence by Kyverno", v, k.expr)
		}
	}
	if literal {
		vals = slices.DeleteFunc(vals, func(v string) bool { return strings.ContainsAny(v, "*?") })
	}
	f := &Filter{Line: t.line}
	if k.kind == keyNamespace {
		globs := kyvernoGlobs(vals)
		if literal {
			globs = literalGlobs(vals)
		}
		f.Namespaces = &NamespaceFilter{Include: globs}
		if negated {
			f.Namespaces = &NamespaceFilter{Exclude: globs}
		}
		return f, ""
	}
	return labelFilter(f, k.label, vals, negated)
}

// labelFilter: one value with wildcards is a wildcard matchLabels entry;
// values without are In or NotIn (which, as Kyverno's "" default, holds
// when the label is absent).
func labelFilter(f *Filter, label string, vals []string, negated bool) (*Filter, string) {
	wild := slices.ContainsFunc(vals, func(v string) bool { return strings.ContainsAny(v, "*?") })
	switch {
	case len(vals) == 0 && negated:
		return nil, "" // nothing is excluded: the condition always holds
	case len(vals) == 0:
		return nil, fmt.Sprintf("a condition on label %s no value can meet", label)
	case wild && (negated || len(vals) > 1):
		return nil, fmt.Sprintf("a condition on label %s with several or negated wildcard values", label)
	case wild:
		f.Selector = &LabelSelector{MatchLabels: map[string]string{label: vals[0]}}
	case negated:
		f.Selector = &LabelSelector{MatchExpressions: []LabelExpression{{Key: label, Operator: "NotIn", Values: vals}}}
	default:
		f.Selector = &LabelSelector{MatchExpressions: []LabelExpression{{Key: label, Operator: "In", Values: vals}}}
	}
	if _, err := compileSelector(f.Selector); err != nil {
		return nil, fmt.Sprintf("a condition on label %s: %v", label, err)
	}
	return f, ""
}

// literalGlobs writes names as globs that match only themselves.
func literalGlobs(ss []string) []string {
	var out []string
	for _, s := range ss {
		var b strings.Builder
		for _, r := range s {
			if strings.ContainsRune(`*?[]\`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		out = append(out, b.String())
	}
	return out
}

// requireFilters narrows the rule to resources every filter selects.
func (t *translator) requireFilters(rule *Rule, fs []Filter) {
	if len(fs) == 0 {
		return
	}
	if rule.Match == nil {
		rule.Match = &Match{}
	}
	rule.Match.All = append(rule.Match.All, fs...)
}
