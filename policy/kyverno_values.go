package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// rangeValue is Kyverno's numeric range syntax (`1-5`), which its In
// operators read as a range.
var rangeValue = regexp.MustCompile(`^[-|+]?\d+(?:\.\d+)?[A-Za-z]*!?-[-|+]?\d+(?:\.\d+)?[A-Za-z]*$`)

// conditionValues reads a condition's value as Kyverno does: a list (each
// a wildcard pattern), or a string (after ConfigMap variables): a JSON
// list, whose items a single-valued key compares whole (literal), or one
// wildcard pattern.
func (t *translator) conditionValues(v any, op string, scalarKey bool) (vals []string, literal bool, why string) {
	equals := strings.Contains(op, "equal")
	switch v := v.(type) {
	case []any:
		if equals {
			return nil, false, "Equals compares with a whole list, which never holds for an image"
		}
		for _, x := range v {
			if _, ok := x.(string); !ok {
				return nil, false, fmt.Sprintf("value %v is not a string", x)
			}
		}
		return strList(v), false, ""
	case string:
		s, why := t.substitute(v)
		if why != "" {
			return nil, false, why
		}
		if rangeValue.MatchString(s) {
			return nil, false, fmt.Sprintf("value %q is a numeric range", s)
		}
		if !equals && json.Valid([]byte(s)) {
			var l []string
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				return nil, false, fmt.Sprintf("value %q is JSON but not a list of strings", s)
			}
			return l, scalarKey, ""
		}
		return []string{s}, false, ""
	}
	return nil, false, fmt.Sprintf("value %v is not a string or a list of strings", v)
}

// substitute resolves a value that is a variable naming ConfigMap data
// (`{{ baseimages.data.allowedbaseimages }}`).
func (t *translator) substitute(s string) (string, string) {
	trimmed := strings.TrimSpace(s)
	if !strings.Contains(trimmed, "{{") {
		return s, ""
	}
	if !strings.HasPrefix(trimmed, "{{") || !strings.HasSuffix(trimmed, "}}") || strings.Count(trimmed, "{{") != 1 {
		return "", fmt.Sprintf("value %s mixes text and variables", s)
	}
	ref := strings.TrimSpace(trimmed[2 : len(trimmed)-2])
	name, rest, _ := strings.Cut(ref, ".")
	data, ok := t.ruleContext[name]
	if !ok || !strings.HasPrefix(rest, "data.") {
		return "", fmt.Sprintf("value %s reads a variable that is not ConfigMap data", s)
	}
	key := strings.Trim(strings.TrimPrefix(rest, "data."), `"`)
	val, ok := data[key]
	if !ok {
		return "", fmt.Sprintf("the ConfigMap of %s has no key %q (Kyverno fails the rule)", name, key)
	}
	return val, ""
}

// operationCondition evaluates a condition on request.operation for each
// operation baseguard judges and for background scans, as Kyverno would.
func (t *translator) operationCondition(k condKey, op string, value any) ([]string, string) {
	vals, literal, why := t.conditionValues(value, op, true)
	if why != "" {
		return nil, why
	}
	negated := slices.Contains(negativeOps, op)
	if op == "contains" || (!negated && !slices.Contains(positiveOps, op)) {
		return nil, fmt.Sprintf("operator %s on request.operation is not translated", op)
	}
	holds := []string{} // non-nil: an operation condition, even one holding for none
	for _, operation := range []string{"CREATE", "UPDATE", "BACKGROUND"} {
		key := operation
		if operation == "BACKGROUND" {
			key = k.outside
		}
		if among(key, vals, literal) != negated {
			holds = append(holds, operation)
		}
	}
	return holds, ""
}

// among reports whether key is one of vals: whole when literal, else as
// Kyverno's wildcards (either way round).
func among(key string, vals []string, literal bool) bool {
	for _, v := range vals {
		if v == key || (!literal && (wildcardMatch(v, key) || wildcardMatch(key, v))) {
			return true
		}
	}
	return false
}
