package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
)

// kyvernoDoc is a Kyverno ClusterPolicy or Policy waiting for translation
// (it may refer to ConfigMaps found later in the inputs).
type kyvernoDoc struct {
	file string
	node *yaml.Node
}

type obj = map[string]any

// importKyverno translates a Kyverno policy into a native one by its stated
// intent, recording every deviation from Kyverno's literal evaluation.
func importKyverno(d kyvernoDoc, configMaps map[string]map[string]string) (*Policy, error) {
	var kp obj
	if err := d.node.Decode(&kp); err != nil {
		return nil, &LoadError{File: d.file, Line: d.node.Line, Msg: cleanYAMLError(err)}
	}
	kind := str(kp["kind"])
	meta := asObj(kp["metadata"])
	p := &Policy{
		APIVersion: APIVersion, Kind: Kind,
		Metadata: Metadata{Name: str(meta["name"])},
		File:     d.file, Line: d.node.Line,
	}
	metaNode := childNode(d.node, "metadata")
	if ns := str(meta["namespace"]); ns != "" {
		line := childNode(metaNode, "namespace").Line
		if kind == "ClusterPolicy" {
			p.note("", line, fmt.Sprintf("metadata.namespace %q is ignored: a ClusterPolicy is cluster-scoped and applies in every namespace", ns))
		} else {
			p.Spec.Match = &Match{Namespaces: &NamespaceFilter{Include: []string{ns}}}
			p.note("", line, fmt.Sprintf("a namespaced Policy applies only in its namespace %q", ns))
		}
	}
	spec := asObj(kp["spec"])
	p.Spec.Action = kyvernoAction(str(spec["validationFailureAction"]))
	if p.Spec.Action == "" {
		p.Spec.Action = Audit
		p.note("", d.node.Line, "no validationFailureAction: Kyverno's default, audit, applies")
	}
	ruleNodes := childNode(childNode(d.node, "spec"), "rules")
	for i, r := range asList(spec["rules"]) {
		line := p.Line
		if ruleNodes != nil && i < len(ruleNodes.Content) {
			line = ruleNodes.Content[i].Line
		}
		t := &translator{p: p, file: d.file, line: line, configMaps: configMaps}
		rule, ok, err := t.rule(asObj(r))
		if err != nil {
			return nil, err
		}
		if ok {
			p.Spec.Rules = append(p.Spec.Rules, rule)
		}
	}
	if len(p.Spec.Rules) == 0 {
		return nil, &LoadError{File: d.file, Line: d.node.Line, Msg: fmt.Sprintf("Kyverno policy %q has no validate rule baseguard can apply", p.Metadata.Name)}
	}
	return p, nil
}

func (p *Policy) note(rule string, line int, text string) {
	n := Note{Rule: rule, Line: line, Text: text}
	for _, have := range p.Notes {
		if have == n {
			return
		}
	}
	p.Notes = append(p.Notes, n)
}

func kyvernoAction(s string) Action {
	switch strings.ToLower(s) {
	case "enforce":
		return Enforce
	case "audit":
		return Audit
	}
	return ""
}

type translator struct {
	p          *Policy
	file       string
	line       int
	name       string
	configMaps map[string]map[string]string
	// ruleContext maps rule-level context names to ConfigMap data.
	ruleContext map[string]map[string]string
}

func (t *translator) note(format string, args ...any) {
	t.p.note(t.name, t.line, fmt.Sprintf(format, args...))
}

func (t *translator) errorf(format string, args ...any) error {
	return &LoadError{File: t.file, Line: t.line, Msg: fmt.Sprintf("Kyverno policy %q rule %q: ", t.p.Metadata.Name, t.name) + fmt.Sprintf(format, args...)}
}

func (t *translator) rule(r obj) (Rule, bool, error) {
	t.name = str(r["name"])
	rule := Rule{Name: t.name, Line: t.line}
	validate, ok := r["validate"].(obj)
	if !ok {
		for _, k := range []string{"mutate", "generate", "verifyImages"} {
			if r[k] != nil {
				t.note("a %s rule is not a validation of base images; baseguard does not apply it", k)
				return rule, false, nil
			}
		}
		t.note("the rule has no validate section; baseguard does not apply it")
		return rule, false, nil
	}
	if err := t.loadContext(r["context"]); err != nil {
		return rule, false, err
	}
	rule.Message = strings.TrimSpace(str(validate["message"]))
	rule.Action = kyvernoAction(str(validate["failureAction"]))
	rule.Match = t.match(asObj(r["match"]), asObj(r["exclude"]))
	if err := t.preconditions(r["preconditions"], &rule); err != nil {
		return rule, false, err
	}
	handled := false
	for _, key := range []string{"pattern", "anyPattern"} {
		if validate[key] != nil {
			handled = true
			if err := t.pattern(validate[key], key == "anyPattern", &rule); err != nil {
				return rule, false, err
			}
		}
	}
	if deny, ok := validate["deny"].(obj); ok {
		handled = true
		if err := t.denyConditions(asObj(deny)["conditions"], "", "", &rule); err != nil {
			return rule, false, err
		}
	}
	if fe := asList(validate["foreach"]); len(fe) > 0 {
		handled = true
		for _, f := range fe {
			if err := t.foreach(asObj(f), &rule); err != nil {
				return rule, false, err
			}
		}
	}
	if !handled {
		rule.Untranslated = "its validate section uses a form baseguard does not translate (only pattern, anyPattern, deny and foreach over images are)"
	}
	if rule.Untranslated == "" && len(rule.Allow) == 0 && len(rule.Deny) == 0 && !rule.RequireBase {
		rule.Untranslated = "it constrains no container image"
	}
	if rule.Untranslated != "" {
		t.note("not translated: %s; it yields an error result wherever it applies", rule.Untranslated)
	}
	return rule, true, nil
}

// loadContext records the rule's ConfigMap context entries.
func (t *translator) loadContext(v any) error {
	t.ruleContext = map[string]map[string]string{}
	for _, c := range asList(v) {
		c := asObj(c)
		cm, ok := c["configMap"].(obj)
		if !ok {
			continue
		}
		key := str(cm["namespace"]) + "/" + str(cm["name"])
		data, ok := t.configMaps[key]
		if !ok {
			return t.errorf("it reads ConfigMap %s, which is not among the policy files: give it with --policy", key)
		}
		t.ruleContext[str(c["name"])] = data
	}
	return nil
}

// resourceBlocks returns the resource filters of a Kyverno match or
// exclude: `resources`, or those under `any` and `all`.
func resourceBlocks(m obj) []obj {
	var blocks []obj
	if res, ok := m["resources"].(obj); ok {
		blocks = append(blocks, res)
	}
	for _, k := range []string{"any", "all"} {
		for _, b := range asList(m[k]) {
			if res, ok := asObj(b)["resources"].(obj); ok {
				blocks = append(blocks, res)
			}
		}
	}
	return blocks
}

func (t *translator) match(m, exclude obj) *Match {
	out := &Match{}
	blocks := resourceBlocks(m)
	if len(m) > 0 && len(blocks) == 0 {
		t.note("match selects by something other than resources (e.g. subjects or roles), which baseguard does not translate: the rule applies to every pod-bearing kind")
	}
	kinds := map[string]bool{}
	for _, res := range blocks {
		for _, k := range asList(res["kinds"]) {
			s := str(k)
			kinds[s[strings.LastIndex(s, "/")+1:]] = true
		}
		if ns := strList(res["namespaces"]); len(ns) > 0 {
			out.Namespaces = &NamespaceFilter{Include: ns}
		}
		if sel := selector(res["selector"]); sel != nil {
			out.Selector = sel
		}
		if sel := selector(res["namespaceSelector"]); sel != nil {
			out.NamespaceSelector = sel
		}
	}
	if len(blocks) > 1 {
		t.note("match lists several resource blocks; baseguard applies the union of their kinds with the last block's filters")
	}
	out.Kinds = t.kinds(kinds)
	t.exclude(exclude, out)
	if out.Kinds == nil && out.Namespaces == nil && out.Selector == nil && out.NamespaceSelector == nil {
		return nil
	}
	return out
}

func (t *translator) kinds(kinds map[string]bool) []string {
	if kinds["Pod"] {
		var missing []string
		for k := range subject.PodKinds {
			if !kinds[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			t.note("match names Pod: baseguard applies the rule to every pod-bearing kind (also %s, as Kyverno's auto-generated rules and the Pods they create would) and to Dockerfiles", strings.Join(missing, ", "))
		}
		return nil
	}
	var out []string
	for k := range kinds {
		if _, ok := subject.PodKinds[k]; ok {
			out = append(out, k)
		} else {
			t.note("kind %s carries no pod spec; baseguard ignores it", k)
		}
	}
	sort.Strings(out)
	return out
}

func (t *translator) exclude(ex obj, out *Match) {
	if len(ex) == 0 {
		return
	}
	blocks := resourceBlocks(ex)
	if len(blocks) == 0 {
		t.note("exclude filters other than namespaces are not translated: the rule applies more widely than in Kyverno")
	}
	for _, res := range blocks {
		ns := strList(res["namespaces"])
		if len(ns) > 0 {
			if out.Namespaces == nil {
				out.Namespaces = &NamespaceFilter{}
			}
			out.Namespaces.Exclude = append(out.Namespaces.Exclude, ns...)
		}
		if len(res) > 1 || len(ns) == 0 {
			t.note("exclude filters other than namespaces are not translated: the rule applies more widely than in Kyverno")
		}
	}
}

func selector(v any) *LabelSelector {
	m := asObj(v)
	if len(m) == 0 {
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

func asObj(v any) obj {
	m, _ := v.(obj)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func strList(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, str(x))
	}
	return out
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
