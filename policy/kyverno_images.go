package policy

import (
	"slices"
	"strings"

	"github.com/baseguard/baseguard/imageref"
	"go.yaml.in/yaml/v3"
)

// componentPatterns turns condition values on a part of an image (comp,
// as condKey.comp) into reference patterns. exact is false when the
// patterns match more images than the values name, which is fit for a
// deny, not for an allow or a precondition. A value that can equal no
// image (literal with a wildcard, not a reference, a tag with a slash) is
// left out, as it never holds in Kyverno either.
func (t *translator) componentPatterns(comp string, vals []string, literal bool) ([]Pattern, bool, error) {
	var texts []string
	exact := true
	for _, v := range vals {
		wild := strings.ContainsAny(v, "*?")
		if v == "" || (literal && wild) {
			continue
		}
		ps, ok := componentTexts(comp, v, wild)
		texts = append(texts, ps...)
		exact = exact && ok
	}
	out, err := t.compilePatterns(texts)
	return out, exact, err
}

// componentTexts writes the patterns for one value; ok reports whether
// they are exact.
func componentTexts(comp, v string, wild bool) ([]string, bool) {
	switch comp {
	case "written", "reference":
		return referenceTexts(comp, v, wild)
	case "registry":
		switch {
		case v == "*":
			return []string{"*"}, true
		case !wild && !hostLike(v):
			return nil, true // Kyverno's registry is always a host
		}
		return []string{v + "/*"}, hostLike(v)
	case "tag":
		if strings.ContainsAny(v, "/@:") {
			return nil, true
		}
		return []string{"*:" + v, "*:" + v + "@*"}, !wild
	case "digest":
		return []string{"*@" + v}, !wild
	case "name", "path":
		if comp == "name" && strings.Contains(v, "/") {
			return nil, true
		}
		ps := []string{"*/" + v + ":*", "*/" + v + "@*"}
		if wild && strings.HasPrefix(v, "*") && strings.HasSuffix(v, "*") {
			ps = []string{v} // the whole reference holds the name: the same or more
		} else if wild {
			ps = append([]string{v}, ps...)
		}
		return ps, comp == "name" && !wild
	}
	return nil, false
}

// referenceTexts: a whole reference as written (or Kyverno's normalized
// reference) is matched by canonical identity; without wildcards Kyverno
// compares strings, so a reference without tag or digest is the `latest`
// tag it stands for.
func referenceTexts(comp, v string, wild bool) ([]string, bool) {
	if wild {
		ps := []string{v}
		if rest, ok := strings.CutPrefix(v, "docker.io/"); ok && !strings.HasPrefix(rest, "library/") {
			// docker.io/nginx is written for Docker Hub's
			// docker.io/library/nginx, which a pattern naming the host
			// is matched against.
			ps = append(ps, "docker.io/library/"+rest)
		}
		return ps, true
	}
	r, err := imageref.Parse(v)
	switch {
	case err != nil:
		return nil, true
	case r.TagImplied && r.Digest == "":
		if comp == "reference" {
			return nil, true // Kyverno's reference always has a tag or digest
		}
		return []string{v + ":latest"}, true
	case comp == "reference" && r.Tag != "" && r.Digest != "":
		return nil, true // Kyverno's reference has a tag or a digest, not both
	}
	return []string{v}, true
}

// hostLike applies Docker's rule for a registry host (a dot or a port in
// it, or localhost) to what comes before a wildcard, as image patterns do
// to decide that a pattern names a host matched whole.
func hostLike(v string) bool {
	if v == "" || v[0] == '*' || v[0] == '?' {
		return false
	}
	if v == "localhost" || strings.HasPrefix(v, "localhost:") {
		return true
	}
	name, port, hasPort := strings.Cut(v, ":")
	if strings.Contains(name, ".") {
		return true
	}
	return hasPort && port != "" && strings.Trim(port, "0123456789") == ""
}

// compilePatterns compiles pattern texts, leaving out those no image can
// match (white space, separators).
func (t *translator) compilePatterns(texts []string) ([]Pattern, error) {
	var out []Pattern
	for _, v := range texts {
		var p Pattern
		n := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: t.line}
		if err := p.UnmarshalYAML(n); err != nil {
			continue
		}
		out = addPatterns(out, []Pattern{p})
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

// samePatterns reports whether two lists hold the same patterns.
func samePatterns(a, b []Pattern) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.ContainsFunc(b, func(q Pattern) bool { return q.String() == p.String() }) {
			return false
		}
	}
	return true
}
