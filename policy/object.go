package policy

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is a policy read from a cluster object (a BaseImagePolicy, or a
// Kyverno ClusterPolicy) by the same loader as policy files. Where a file
// has lines, an object has field paths: errors and findings name the
// field (`spec.rules[1].allow[0]`).
type Object struct {
	Policy *Policy
	// where maps a line of the object as the loader read it to the path
	// of the field written there.
	where map[int]string
}

// ObjectError is an object that does not load, at a field.
type ObjectError struct {
	// Object is the object, as kubectl names it (`baseimagepolicy/web`).
	Object string
	// Field is the path of the field at fault; empty for the whole object.
	Field string
	Msg   string
	// NotApplied is set for a Kyverno policy that loads but does not only
	// check container images: baseguard does not apply it.
	NotApplied bool
}

func (e *ObjectError) Error() string { return e.Object + ": " + e.Reason() }

// Reason is the error without the object's name, for the object's status.
func (e *ObjectError) Reason() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// LoadObject loads a policy object as the API server returns it (decoded
// JSON: apiVersion, kind, metadata and spec are read; status and the
// server's fields are not), named name (`baseimagepolicy/web`) in errors.
// A native policy and a Kyverno ClusterPolicy load as their files do, and
// must compile on their own; a Kyverno policy must also check container
// images only, every rule translated (else an ObjectError with
// NotApplied): in a cluster without Kyverno nothing else would apply it.
func LoadObject(name string, obj map[string]any) (*Object, error) {
	meta, _ := obj["metadata"].(map[string]any)
	doc := map[string]any{
		"apiVersion": obj["apiVersion"],
		"kind":       obj["kind"],
		"metadata":   map[string]any{"name": meta["name"]},
		"spec":       obj["spec"],
	}
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, &ObjectError{Object: name, Msg: "reading: " + err.Error()}
	}
	o := &Object{where: fieldLines(data)}
	ps, err := Load(File{Name: name, Data: data})
	if err == nil && len(ps) != 1 {
		err = &LoadError{File: name, Msg: "not a policy"}
	}
	if err != nil {
		return nil, o.objectError(name, err)
	}
	o.Policy = ps[0]
	if err := ReadKeys(ps, noFiles); err != nil {
		return nil, o.objectError(name, err)
	}
	if _, err := NewSet(ps); err != nil {
		return nil, o.objectError(name, err)
	}
	if kind, _ := obj["kind"].(string); kind != Kind {
		if err := o.onlyImageRules(name, obj); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// noFiles refuses to read a key or trusted root by path: an object has no
// file for it to be relative to, and serve reads no file an object names.
func noFiles(string) ([]byte, error) {
	return nil, errors.New("a policy object cannot name a file: write the key or trusted root inline")
}

// objectError turns the loader's error at a line into one at a field.
func (o *Object) objectError(name string, err error) error {
	var le *LoadError
	if !errors.As(err, &le) {
		return &ObjectError{Object: name, Msg: err.Error()}
	}
	msg := le.Msg
	if _, rest, ok := strings.Cut(msg, "\": "); ok && strings.HasPrefix(msg, "policy \"") {
		msg = rest // the object names the policy already
	}
	field := o.Where(le.Line)
	// An unknown key is reported at its line, which it may share with the
	// mapping holding it (`- alow: [...]`).
	var key string
	if _, err := fmt.Sscanf(msg, "unknown field %q", &key); err == nil && !strings.HasSuffix(field, "."+key) {
		field = strings.TrimPrefix(field+"."+key, ".")
	}
	return &ObjectError{Object: name, Field: field, Msg: msg}
}

// Where is the path of the field at a line of the policy's source (empty
// when none is known).
func (o *Object) Where(line int) string { return o.where[line] }

// onlyImageRules refuses a Kyverno policy with a rule the import left out
// or could not translate.
func (o *Object) onlyImageRules(name string, obj map[string]any) error {
	spec, _ := obj["spec"].(map[string]any)
	rules, _ := spec["rules"].([]any)
	kept := map[string]*Rule{}
	for i := range o.Policy.Spec.Rules {
		kept[o.Policy.Spec.Rules[i].Name] = &o.Policy.Spec.Rules[i]
	}
	for i, r := range rules {
		rn, _ := r.(map[string]any)["name"].(string)
		field := fmt.Sprintf("spec.rules[%d]", i)
		switch rule := kept[rn]; {
		case rule == nil:
			return &ObjectError{Object: name, Field: field, NotApplied: true, Msg: fmt.Sprintf("rule %q does not check container images (%s); baseguard applies only ClusterPolicies whose rules all do", rn, o.ruleNote(rn))}
		case rule.Untranslated != "":
			return &ObjectError{Object: name, Field: field, NotApplied: true, Msg: fmt.Sprintf("rule %q cannot be translated: %s; baseguard applies only ClusterPolicies whose rules it can apply in full", rn, rule.Untranslated)}
		}
	}
	return nil
}

// ruleNote is what the import noted about a rule it left out.
func (o *Object) ruleNote(rule string) string {
	for _, n := range o.Policy.Notes {
		if n.Rule == rule {
			return n.Text
		}
	}
	return "left out by the import"
}

// Findings are the lint findings of the policy, as `baseguard policy
// lint` words them, each at its field: `risk at spec.rules[0].allow[1]
// (rule approved): ...`.
func (o *Object) Findings() []string {
	var out []string
	for _, f := range Lint(o.Policy).Findings {
		s := f.Kind
		if where := o.Where(f.Line); where != "" {
			s += " at " + where
		}
		switch {
		case f.Rule == "":
		case strings.HasPrefix(f.Rule, "exception "):
			s += " (" + f.Rule + ")"
		case strings.Contains(f.Rule, ","):
			s += " (rules " + f.Rule + ")"
		default:
			s += " (rule " + f.Rule + ")"
		}
		out = append(out, s+": "+f.Text)
	}
	return out
}

// fieldLines maps each line of a YAML document to the path of the field
// written there: the outermost node starting on the line, a list's first
// item rather than the list.
func fieldLines(data []byte) map[int]string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	m := map[int]string{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Kind != yaml.SequenceNode && path != "" {
			if _, ok := m[n.Line]; !ok {
				m[n.Line] = path
			}
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := strings.TrimPrefix(path+"."+n.Content[i].Value, ".")
				if _, ok := m[n.Content[i].Line]; !ok {
					m[n.Content[i].Line] = p
				}
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	m[doc.Content[0].Line] = "" // the policy's own line: the whole object
	walk(doc.Content[0], "")
	return m
}
