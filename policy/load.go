package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is a policy file's name and contents.
type File struct {
	Name string
	Data []byte
}

// Load reads native BaseImagePolicies and Kyverno ClusterPolicies/Policies
// from files, many documents each. ConfigMaps among the files are the
// context Kyverno policies refer to (an allow list kept in a ConfigMap).
// Other documents are refused: a policy path should hold policies.
func Load(files ...File) ([]*Policy, error) {
	var policies []*Policy
	var kyverno []kyvernoDoc
	configMaps := map[string]map[string]string{}
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader(f.Data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, &LoadError{File: f.Name, Line: yamlLine(err), Msg: "reading YAML: " + err.Error()}
			}
			if len(doc.Content) == 0 {
				continue
			}
			n := doc.Content[0]
			apiVersion, kind := scalarAt(n, "apiVersion"), scalarAt(n, "kind")
			switch {
			case kind == Kind:
				p, err := decodeNative(f.Name, n)
				if err != nil {
					return nil, err
				}
				policies = append(policies, p)
			case strings.HasPrefix(apiVersion, "kyverno.io/") && (kind == "ClusterPolicy" || kind == "Policy"):
				kyverno = append(kyverno, kyvernoDoc{file: f.Name, node: n})
			case kind == "ConfigMap":
				meta := childNode(n, "metadata")
				key := scalarAt(meta, "namespace") + "/" + scalarAt(meta, "name")
				configMaps[key] = stringMapAt(n, "data")
			case n.Kind == yaml.MappingNode && len(n.Content) == 0:
			default:
				return nil, &LoadError{File: f.Name, Line: n.Line, Msg: fmt.Sprintf("not a policy (apiVersion %q, kind %q): want %s %s, a Kyverno ClusterPolicy or Policy, or a ConfigMap they use", apiVersion, kind, APIVersion, Kind)}
			}
		}
	}
	for _, d := range kyverno {
		p, err := importKyverno(d, configMaps)
		if err != nil {
			return nil, err
		}
		policies = append(policies, p)
	}
	return policies, nil
}

func decodeNative(file string, n *yaml.Node) (*Policy, error) {
	if v := scalarAt(n, "apiVersion"); v != APIVersion {
		return nil, &LoadError{File: file, Line: n.Line, Msg: fmt.Sprintf("apiVersion %q: want %s", v, APIVersion)}
	}
	if err := checkFields(n, reflect.TypeOf(Policy{})); err != nil {
		return nil, &LoadError{File: file, Line: err.line, Msg: err.msg}
	}
	p := &Policy{File: file, Line: n.Line}
	if err := n.Decode(p); err != nil {
		return nil, &LoadError{File: file, Line: yamlLine(err), Msg: withoutLine(cleanYAMLError(err))}
	}
	setLines(p, n)
	return p, nil
}

// setLines records where each rule, exception, match filter, kind and
// action override was written.
func setLines(p *Policy, n *yaml.Node) {
	spec := childNode(n, "spec")
	matchLines(p.Spec.Match, childNode(spec, "match"))
	overrideLines(p.Spec.ActionOverrides, childNode(spec, "actionOverrides"))
	if rules := childNode(spec, "rules"); rules != nil {
		for i, r := range rules.Content {
			if i < len(p.Spec.Rules) {
				rule := &p.Spec.Rules[i]
				rule.Line = r.Line
				matchLines(rule.Match, childNode(r, "match"))
				overrideLines(rule.ActionOverrides, childNode(r, "actionOverrides"))
			}
		}
	}
	if exs := childNode(spec, "exceptions"); exs != nil {
		for i, e := range exs.Content {
			if i < len(p.Spec.Exceptions) {
				p.Spec.Exceptions[i].Line = e.Line
			}
		}
	}
}

func matchLines(m *Match, n *yaml.Node) {
	if m == nil || n == nil {
		return
	}
	filterLines(&m.Filter, n)
	for key, fs := range map[string][]Filter{"any": m.Any, "all": m.All} {
		if list := childNode(n, key); list != nil {
			for i, c := range list.Content {
				if i < len(fs) {
					filterLines(&fs[i], c)
				}
			}
		}
	}
	matchLines(m.Exclude, childNode(n, "exclude"))
}

func filterLines(f *Filter, n *yaml.Node) {
	f.Line = n.Line
	if kinds := childNode(n, "kinds"); kinds != nil {
		f.kindLines = f.kindLines[:0]
		for _, k := range kinds.Content {
			f.kindLines = append(f.kindLines, k.Line)
		}
	}
}

func overrideLines(os []ActionOverride, n *yaml.Node) {
	if n == nil {
		return
	}
	for i, c := range n.Content {
		if i < len(os) {
			os[i].Line = c.Line
		}
	}
}

type fieldError struct {
	line int
	msg  string
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// checkFields refuses mapping keys that t has no field for, so a typo
// (`alow:`) is an error rather than a rule that silently checks nothing.
func checkFields(n *yaml.Node, t reflect.Type) *fieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return &fieldError{n.Line, fmt.Sprintf("want a mapping, got %s", nodeKind(n))}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return &fieldError{k.Line, fmt.Sprintf("unknown field %q (known: %s)", k.Value, strings.Join(sortedKeys(fields), ", "))}
			}
			if err := checkFields(n.Content[i+1], ft); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				if err := checkFields(c, t.Elem()); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 1; i < len(n.Content); i += 2 {
				if err := checkFields(n.Content[i], t.Elem()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if opts == "inline" {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys(m map[string]reflect.Type) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func childNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarAt(n *yaml.Node, key string) string {
	c := childNode(n, key)
	if c == nil || c.Kind != yaml.ScalarNode {
		return ""
	}
	return c.Value
}

func stringMapAt(n *yaml.Node, key string) map[string]string {
	c := childNode(n, key)
	m := map[string]string{}
	if c == nil || c.Kind != yaml.MappingNode {
		return m
	}
	for i := 0; i+1 < len(c.Content); i += 2 {
		m[c.Content[i].Value] = c.Content[i+1].Value
	}
	return m
}

// yamlLine digs the line out of a yaml.v3 error ("yaml: line 7: ...",
// or "line 7: ..." inside an unmarshal error).
func yamlLine(err error) int {
	msg := cleanYAMLError(err)
	var line int
	for _, format := range []string{"yaml: line %d:", "line %d:"} {
		if _, e := fmt.Sscanf(msg, format, &line); e == nil {
			return line
		}
	}
	return 0
}

// cleanYAMLError flattens yaml.v3's multi-line unmarshal errors.
func cleanYAMLError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return te.Errors[0]
	}
	return err.Error()
}

// withoutLine drops yaml.v3's "line N: " prefix, for messages that name
// the line already.
func withoutLine(msg string) string {
	var line int
	var rest string
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		if _, after, ok := strings.Cut(msg, ": "); ok {
			rest = after
			return rest
		}
	}
	return msg
}
