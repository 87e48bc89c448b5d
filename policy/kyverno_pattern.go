package policy

import (
	"fmt"
	"sort"
	"strings"
)

// patternLists are the container lists a pattern may constrain.
var patternLists = []string{"containers", "initContainers", "ephemeralContainers"}

// imageConstraint is what a pattern says of every image: the pattern
// string its container elements give their image.
type imageConstraint struct {
	image    string
	lists    map[string]bool
	anchored bool
}

// pattern translates validate.pattern, or anyPattern whose alternatives
// all say the same of images.
func (t *translator) pattern(v any, anyPattern bool, rule *Rule) error {
	alts := []any{v}
	if anyPattern {
		alts = asList(v)
	}
	var first *imageConstraint
	for _, a := range alts {
		c, why := walkPattern(asObj(a))
		if why != "" {
			untranslated(rule, "its pattern %s", why)
			return nil
		}
		if first != nil && c.image != first.image {
			untranslated(rule, "its anyPattern alternatives constrain images differently (each must hold for every container), which baseguard cannot express per image")
			return nil
		}
		first = &c
	}
	if first == nil {
		untranslated(rule, "its anyPattern is empty")
		return nil
	}
	if first.anchored {
		t.note("(template)? is read as \"the pod spec, wherever the kind keeps it\"; in Kyverno it is a literal field name that never matches, so the rule fails every resource, approved images included")
	}
	if len(first.lists) < len(patternLists) {
		t.note("the pattern names only %s; baseguard checks every container list (containers, initContainers, ephemeralContainers) and CronJob templates", strings.Join(sortedSet(first.lists), ", "))
	}
	t.imagePattern(first.image, rule)
	return nil
}

// walkPattern finds what a pattern says of container images. Anything
// else it checks (another field, a conditional or negation anchor) makes
// it untranslatable: baseguard would judge less than Kyverno.
func walkPattern(m obj) (imageConstraint, string) {
	c := imageConstraint{lists: map[string]bool{}}
	why := c.walkMap(m, "")
	if why == "" && len(c.lists) == 0 {
		why = "constrains no container image"
	}
	return c, why
}

func (c *imageConstraint) walkMap(m obj, path string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		key, why := c.patternKey(k)
		if why != "" {
			return why
		}
		p := strings.TrimPrefix(path+"."+key, ".")
		if isPatternList(key) {
			if why := c.walkList(m[k], key, p); why != "" {
				return why
			}
			continue
		}
		sub, ok := m[k].(obj)
		if !ok {
			return fmt.Sprintf("also checks %s, which baseguard does not judge", p)
		}
		if why := c.walkMap(sub, p); why != "" {
			return why
		}
	}
	return ""
}

func isPatternList(key string) bool {
	for _, l := range patternLists {
		if key == l {
			return true
		}
	}
	return false
}

// patternKey reads a pattern key: plain, with an equality anchor `=(k)`
// (if present, it must match), or the seed's `(template)?`.
func (c *imageConstraint) patternKey(k string) (string, string) {
	switch {
	case k == "(template)?":
		c.anchored = true
		return "template", ""
	case strings.HasPrefix(k, "=(") && strings.HasSuffix(k, ")"):
		return k[2 : len(k)-1], ""
	case strings.ContainsAny(k, "()<^+"):
		return "", fmt.Sprintf("uses the anchor %s, which baseguard does not translate", k)
	case strings.HasPrefix(k, "X(") || strings.HasPrefix(k, "x("):
		return "", fmt.Sprintf("uses the negation anchor %s", k)
	}
	return k, ""
}

// walkList reads a container list's elements: each must give the same
// image pattern and nothing else (`name: "*"` aside).
func (c *imageConstraint) walkList(v any, list, path string) string {
	elems, ok := v.([]any)
	if !ok {
		return fmt.Sprintf("checks %s as a whole", path)
	}
	for _, e := range elems {
		img, why := elementImage(asObj(e), path)
		if why != "" {
			return why
		}
		if img == "" {
			continue
		}
		if c.image != "" && c.image != img {
			return "constrains container lists or containers differently, which baseguard cannot express as one rule"
		}
		c.image = img
		c.lists[list] = true
	}
	return ""
}

// elementImage reads a container element of a pattern: its image pattern.
func elementImage(e obj, path string) (string, string) {
	img := ""
	for k, v := range e {
		switch k {
		case "image", "=(image)":
			s, ok := v.(string)
			if !ok {
				return "", fmt.Sprintf("checks %s[].image against a non-string", path)
			}
			img = s
		case "name", "=(name)":
			if s := str(v); s != "*" && s != "?*" {
				return "", fmt.Sprintf("also checks %s[].name, which baseguard does not judge", path)
			}
		default:
			return "", fmt.Sprintf("also checks %s[].%s, which baseguard does not judge", path, k)
		}
	}
	return img, ""
}

// elementPattern translates a foreach entry's pattern over one container.
func (t *translator) elementPattern(v any, anyPattern bool, rule *Rule) {
	alts := []any{v}
	if anyPattern {
		alts = asList(v)
	}
	img := ""
	for i, a := range alts {
		s, why := elementImage(asObj(a), "element")
		switch {
		case why != "":
			untranslated(rule, "its foreach pattern %s", why)
			return
		case s == "":
			untranslated(rule, "its foreach pattern constrains no image")
			return
		case i > 0 && s != img:
			untranslated(rule, "its foreach anyPattern alternatives constrain images differently")
			return
		}
		img = s
	}
	t.imagePattern(img, rule)
}

// imagePattern translates a Kyverno image pattern string: `a* | b*`
// allows, `!a*` and `!a* & !b*` deny; anything else is untranslated.
func (t *translator) imagePattern(s string, rule *Rule) {
	var parts []string
	negated := false
	switch {
	case strings.Contains(s, "&"):
		for _, part := range strings.Split(s, "&") {
			part = strings.TrimSpace(part)
			if !strings.HasPrefix(part, "!") {
				untranslated(rule, "image pattern %q joins a positive pattern with &", s)
				return
			}
			parts = append(parts, strings.TrimPrefix(part, "!"))
		}
		negated = true
	default:
		for _, part := range strings.Split(s, "|") {
			part = strings.TrimSpace(part)
			neg := strings.HasPrefix(part, "!")
			if neg && strings.Contains(s, "|") {
				untranslated(rule, "image pattern %q joins negations with |", s)
				return
			}
			negated = neg
			parts = append(parts, strings.TrimPrefix(part, "!"))
		}
	}
	for _, part := range parts {
		if part == "" || strings.ContainsAny(part[:1], "<>=") || strings.Contains(part, "-") && rangeValue.MatchString(part) {
			untranslated(rule, "image pattern %q compares with an operator baseguard does not translate", s)
			return
		}
	}
	pats, _, _ := t.componentPatterns("written", parts, false)
	switch {
	case negated:
		rule.Deny = addPatterns(rule.Deny, pats)
	case len(pats) == 0:
		untranslated(rule, "image pattern %q can match no image", s)
	default:
		rule.Allow = addPatterns(rule.Allow, pats)
	}
}
