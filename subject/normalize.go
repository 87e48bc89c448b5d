package subject

import (
	"encoding/base64"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kubernetes reads a manifest by converting it to JSON (kubectl, Helm and
// Argo CD alike): a key written twice keeps its last value there, a merge
// key (`<<`) is expanded, a `!!binary` scalar becomes the bytes it encodes.
// normalize makes a document tree read the same way, or refuses it where
// tools disagree on what it means.

// mergeKey is the YAML 1.1 merge key.
const mergeKey = "<<"

// maxMergeDepth bounds merge keys followed through merged mappings (and
// cycles of them, which anchors allow).
const maxMergeDepth = 32

// normalize checks every mapping of a document once (aliases are not
// followed: what they point at is checked where it is written): keys are
// strings, none is written twice, merge keys merge mappings. !!binary
// scalars are decoded in place.
func normalize(file string, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := normalize(file, c); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		return normalizeMapping(file, n)
	case yaml.ScalarNode:
		return decodeBinary(file, n)
	}
	return nil
}

func normalizeMapping(file string, n *yaml.Node) error {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := normalize(file, k); err != nil {
			return err
		}
		key := deref(k)
		if key == nil || key.Kind != yaml.ScalarNode {
			return &Error{File: file, Line: k.Line, Msg: "a mapping key must be a string"}
		}
		if isMerge(key) {
			if err := checkMergeValue(file, v); err != nil {
				return err
			}
		}
		if prev, ok := seen[key.Value]; ok {
			return &Error{File: file, Line: k.Line, Msg: fmt.Sprintf("key %q is written twice (also on line %d): Kubernetes would keep the last, so the manifest is refused", key.Value, prev)}
		}
		seen[key.Value] = k.Line
		if err := normalize(file, v); err != nil {
			return err
		}
	}
	return nil
}

// isMerge reports a merge key: a plain `<<` or one tagged !!merge (a quoted
// or !!str-tagged "<<" is an ordinary key).
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == mergeKey && k.Tag == "!!merge"
}

// checkMergeValue accepts what a merge key may merge: a mapping, or a list
// of mappings (directly or through aliases).
func checkMergeValue(file string, v *yaml.Node) error {
	d := deref(v)
	if d != nil && d.Kind == yaml.SequenceNode {
		for _, c := range d.Content {
			if m := deref(c); m == nil || m.Kind != yaml.MappingNode {
				return &Error{File: file, Line: c.Line, Msg: "a merge key (<<) merges mappings only"}
			}
		}
		return nil
	}
	if d == nil || d.Kind != yaml.MappingNode {
		return &Error{File: file, Line: v.Line, Msg: "a merge key (<<) merges mappings only"}
	}
	return nil
}

// decodeBinary replaces a !!binary scalar's base64 text by what it encodes,
// as the YAML-to-JSON conversion of kubectl does.
func decodeBinary(file string, n *yaml.Node) error {
	if n.Tag != "!!binary" {
		return nil
	}
	text := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, n.Value)
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return &Error{File: file, Line: n.Line, Msg: "a !!binary scalar is not valid base64"}
	}
	n.Value, n.Tag, n.Style = string(b), "!!str", yaml.DoubleQuotedStyle
	return nil
}

// lookup returns the value of key in a mapping, merge keys included, or
// nil. Where the YAML specification and Kubernetes' converter disagree
// (a key written before a merge key that merges the same key: the
// specification keeps the written one, kubectl the merged one), lookup
// refuses to choose.
func lookup(file string, n *yaml.Node, key string) (*yaml.Node, error) {
	return lookupDepth(file, n, key, 0, nil)
}

// lookupDepth looks key up in n and, through merge keys, in the mappings
// it merges. Each merged mapping is searched once per lookup (visited):
// anchors let a small document merge one mapping exponentially often.
func lookupDepth(file string, n *yaml.Node, key string, depth int, visited map[*yaml.Node]bool) (*yaml.Node, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	if depth > 0 {
		if visited == nil {
			visited = map[*yaml.Node]bool{}
		}
		if visited[n] {
			return nil, nil // searched already, without finding key
		}
		visited[n] = true
	}
	if depth > maxMergeDepth {
		return nil, &Error{File: file, Line: n.Line, Msg: fmt.Sprintf("merge keys nested more than %d deep", maxMergeDepth)}
	}
	var explicit *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k == nil {
			continue
		}
		if !isMerge(k) {
			if k.Value == key {
				explicit = deref(n.Content[i+1])
			}
			continue
		}
		if visited == nil {
			visited = map[*yaml.Node]bool{}
		}
		merged, err := lookupMerged(file, n.Content[i+1], key, depth, visited)
		if err != nil {
			return nil, err
		}
		if merged != nil && explicit != nil {
			return nil, &Error{File: file, Line: k.Line, Msg: fmt.Sprintf("key %q is written before a merge key (<<) that merges it too: tools disagree on which wins, so the manifest is refused", key)}
		}
		if merged != nil && explicit == nil && !hasKeyAfter(n, i, key) {
			return merged, nil
		}
	}
	return explicit, nil
}

// hasKeyAfter reports whether key is written in n after pair i.
func hasKeyAfter(n *yaml.Node, i int, key string) bool {
	for j := i + 2; j+1 < len(n.Content); j += 2 {
		if k := deref(n.Content[j]); k != nil && !isMerge(k) && k.Value == key {
			return true
		}
	}
	return false
}

// lookupMerged finds key in a merge key's value: the first mapping of a
// list that has it wins.
func lookupMerged(file string, v *yaml.Node, key string, depth int, visited map[*yaml.Node]bool) (*yaml.Node, error) {
	v = deref(v)
	if v == nil {
		return nil, nil
	}
	if v.Kind != yaml.SequenceNode {
		return lookupDepth(file, v, key, depth+1, visited)
	}
	for _, m := range v.Content {
		got, err := lookupDepth(file, m, key, depth+1, visited)
		if got != nil || err != nil {
			return got, err
		}
	}
	return nil, nil
}

// pairs returns a mapping's key-value pairs, merged ones included, in the
// order Kubernetes would see the keys (written keys win over merged ones).
func pairs(file string, n *yaml.Node) ([][2]*yaml.Node, error) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	collected := map[*yaml.Node]bool{}
	var collect func(m *yaml.Node, depth int) error
	collect = func(m *yaml.Node, depth int) error {
		m = deref(m)
		if m == nil || m.Kind != yaml.MappingNode || collected[m] {
			return nil
		}
		collected[m] = true
		if depth > maxMergeDepth {
			return &Error{File: file, Line: m.Line, Msg: fmt.Sprintf("merge keys nested more than %d deep", maxMergeDepth)}
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k := deref(m.Content[i])
			if k == nil || isMerge(k) || seen[k.Value] {
				continue
			}
			seen[k.Value] = true
			v, err := lookupDepth(file, m, k.Value, depth, nil)
			if err != nil {
				return err
			}
			out = append(out, [2]*yaml.Node{k, v})
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			if k := deref(m.Content[i]); k != nil && isMerge(k) {
				srcs := []*yaml.Node{m.Content[i+1]}
				if s := deref(m.Content[i+1]); s != nil && s.Kind == yaml.SequenceNode {
					srcs = s.Content
				}
				for _, s := range srcs {
					if err := collect(s, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return out, collect(n, 0)
}
