package policy

import (
	"fmt"
	"sort"
	"strings"

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
// What cannot be translated exactly either widens the rule (never narrows
// it) with a note, or makes the rule an error wherever it applies.
func importKyverno(d kyvernoDoc, configMaps map[string]map[string]string) (*Policy, error) {
	var kp obj
	if err := d.node.Decode(&kp); err != nil {
		return nil, &LoadError{File: d.file, Line: d.node.Line, Msg: cleanYAMLError(err)}
	}
	meta := asObj(kp["metadata"])
	p := &Policy{
		APIVersion: APIVersion, Kind: Kind,
		Metadata: Metadata{Name: str(meta["name"])},
		File:     d.file, Line: d.node.Line,
	}
	t := &translator{p: p, file: d.file, line: d.node.Line, configMaps: configMaps, known: judgedKinds(nil)}
	t.policyScope(str(kp["kind"]), meta, childNode(d.node, "metadata"))
	spec := asObj(kp["spec"])
	if err := t.policyActions(spec); err != nil {
		return nil, err
	}
	t.policyNotes(spec)
	ruleNodes := childNode(childNode(d.node, "spec"), "rules")
	for i, r := range asList(spec["rules"]) {
		t.line = p.Line
		if ruleNodes != nil && i < len(ruleNodes.Content) {
			t.line = ruleNodes.Content[i].Line
		}
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

// policyScope reads where a policy applies: everywhere for a
// ClusterPolicy, its namespace for a Policy.
func (t *translator) policyScope(kind string, meta obj, metaNode *yaml.Node) {
	ns := str(meta["namespace"])
	line := t.line
	if n := childNode(metaNode, "namespace"); n != nil {
		line = n.Line
	}
	switch {
	case kind == "ClusterPolicy" && ns != "":
		t.p.note("", line, fmt.Sprintf("metadata.namespace %q is ignored: a ClusterPolicy is cluster-scoped and applies in every namespace", ns))
	case kind == "Policy" && ns != "":
		t.p.Spec.Match = &Match{Filter: Filter{Namespaces: &NamespaceFilter{Include: kyvernoGlobs([]string{ns})}, Line: line}}
		t.p.note("", line, fmt.Sprintf("a namespaced Policy applies only in its namespace %q", ns))
	case kind == "Policy":
		t.p.note("", line, "a namespaced Policy without metadata.namespace: baseguard cannot tell which namespace it was created in, and applies it in every namespace")
	}
}

// policyNotes records the policy-wide settings baseguard reads otherwise
// than Kyverno.
func (t *translator) policyNotes(spec obj) {
	if strings.EqualFold(str(spec["applyRules"]), "One") {
		t.p.note("", t.line, "applyRules: One stops Kyverno at the first rule that matches; baseguard applies every rule")
	}
	if b, ok := spec["admission"].(bool); ok && !b {
		t.p.note("", t.line, "admission: false keeps Kyverno from applying the policy at admission; baseguard applies it everywhere")
	}
	if len(asList(asObj(spec["webhookConfiguration"])["matchConditions"])) > 0 {
		t.p.note("", t.line, "webhookConfiguration.matchConditions (CEL) are not translated: the policy applies regardless of them")
	}
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

// kyvernoAction reads a Kyverno failure action; ok is false for a value
// Kyverno refuses.
func kyvernoAction(s string) (Action, bool) {
	switch s {
	case "Enforce", "enforce":
		return Enforce, true
	case "Audit", "audit":
		return Audit, true
	}
	return "", false
}

type translator struct {
	p          *Policy
	file       string
	line       int
	name       string
	configMaps map[string]map[string]string
	// ruleContext maps rule-level context names to ConfigMap data.
	ruleContext map[string]map[string]string
	// known are the kinds baseguard judges; matchKinds those the rule's
	// match names other than through Pod.
	known      knownKinds
	matchKinds map[string]bool
}

func (t *translator) note(format string, args ...any) {
	t.p.note(t.name, t.line, fmt.Sprintf(format, args...))
}

func (t *translator) errorf(format string, args ...any) error {
	prefix := fmt.Sprintf("Kyverno policy %q: ", t.p.Metadata.Name)
	if t.name != "" {
		prefix = fmt.Sprintf("Kyverno policy %q rule %q: ", t.p.Metadata.Name, t.name)
	}
	return &LoadError{File: t.file, Line: t.line, Msg: prefix + fmt.Sprintf(format, args...)}
}

// untranslated marks the rule as one baseguard cannot express; the first
// reason is kept.
func untranslated(rule *Rule, format string, args ...any) {
	if rule.Untranslated == "" {
		rule.Untranslated = fmt.Sprintf(format, args...)
	}
}

// rule translates one Kyverno rule; ok is false for a rule baseguard does
// not apply (it validates nothing, or never applies to what baseguard
// judges).
func (t *translator) rule(r obj) (rule Rule, ok bool, err error) {
	t.name = str(r["name"])
	rule = Rule{Name: t.name, Line: t.line}
	validate, isValidate := r["validate"].(obj)
	verify := asList(r["verifyImages"])
	if !isValidate && len(verify) == 0 {
		for _, k := range []string{"mutate", "generate"} {
			if r[k] != nil {
				t.note("a %s rule validates nothing; baseguard does not apply it", k)
				return rule, false, nil
			}
		}
		t.note("the rule has no validate section; baseguard does not apply it")
		return rule, false, nil
	}
	m, keep, err := t.kyvernoMatch(asObj(r["match"]), asObj(r["exclude"]))
	if err != nil {
		return rule, false, err
	}
	if !keep {
		t.note("the rule's match selects nothing baseguard judges (or its exclude takes out everything); baseguard does not apply it")
		return rule, false, nil
	}
	rule.Match = m
	if isValidate {
		keep, err = t.validate(r, validate, &rule)
	} else {
		keep, err = t.verifyImages(verify, &rule)
	}
	if err != nil || !keep {
		return rule, false, err
	}
	if rule.Untranslated == "" && len(rule.Allow) == 0 && len(rule.Deny) == 0 && !rule.RequireBase {
		untranslated(&rule, "it constrains no container image")
	}
	switch {
	case rule.Untranslated != "" && len(rule.When) > 0:
		t.note("not translated: %s; it yields an error result for the images it names", rule.Untranslated)
	case rule.Untranslated != "":
		t.note("not translated: %s; it yields an error result wherever it applies", rule.Untranslated)
	}
	return rule, true, nil
}

// verifyImages: baseguard verifies no signature or attestation, so the
// rule is an error for the images it names.
func (t *translator) verifyImages(entries []any, rule *Rule) (bool, error) {
	var refs []string
	for _, e := range entries {
		e := asObj(e)
		refs = append(refs, strList(e["imageReferences"])...)
		if e["image"] != nil {
			refs = append(refs, str(e["image"]))
		}
	}
	untranslated(rule, "a verifyImages rule checks signatures and attestations, which baseguard does not verify")
	if !contains(refs, "*") && len(refs) > 0 {
		ps, _, err := t.componentPatterns("written", refs, false)
		if err != nil {
			return false, err
		}
		rule.When = ps
	}
	return true, nil
}

// validate translates a validate rule.
func (t *translator) validate(r, validate obj, rule *Rule) (bool, error) {
	if err := t.loadContext(r["context"]); err != nil {
		return false, err
	}
	rule.Message = strings.TrimSpace(str(validate["message"]))
	if err := t.ruleActions(validate, rule); err != nil {
		return false, err
	}
	if r["celPreconditions"] != nil {
		untranslated(rule, "its celPreconditions are not translated")
	}
	pre := t.conditionSet(r["preconditions"], &condContext{pre: true})
	if !t.applyPreconditions(pre, rule) {
		return false, nil
	}
	var forms []string
	for _, k := range []string{"pattern", "anyPattern", "deny", "foreach", "podSecurity", "cel", "manifests", "assert"} {
		if validate[k] != nil {
			forms = append(forms, k)
		}
	}
	if len(forms) != 1 {
		untranslated(rule, "its validate section uses %s; baseguard translates exactly one of pattern, anyPattern, deny and foreach over container images", formsText(forms))
		return true, nil
	}
	switch forms[0] {
	case "pattern", "anyPattern":
		return true, t.pattern(validate[forms[0]], forms[0] == "anyPattern", rule)
	case "deny":
		cs := t.conditionSet(asObj(validate["deny"])["conditions"], &condContext{})
		return t.applyDeny(cs, rule), nil
	case "foreach":
		return t.foreach(asList(validate["foreach"]), rule)
	}
	untranslated(rule, "its validate.%s is not translated (only pattern, anyPattern, deny and foreach over container images are)", forms[0])
	return true, nil
}

func formsText(forms []string) string {
	if len(forms) == 0 {
		return "no validation form"
	}
	return strings.Join(forms, " and ")
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
