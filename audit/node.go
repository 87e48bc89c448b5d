package audit

import (
	"slices"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// subject.ReadObject reads YAML nodes, and a live object arrives decoded
// (unstructured). objectNode builds the node tree of what subjects are
// made of: identity, the metadata rules select on, and every top-level
// field but status, whole, so that every place subject knows an image to
// be (container lists, image volumes, templates of workload CRDs) is
// there as in a manifest.

// objectNode is the node tree subject.ReadObject reads for obj.
func objectNode(obj map[string]any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range sortedKeys(obj) {
		switch k {
		case "status":
			continue
		case "metadata":
			meta, _ := obj[k].(map[string]any)
			n.Content = append(n.Content, strNode(k), metadataNode(meta))
		default:
			n.Content = append(n.Content, strNode(k), valueNode(obj[k]))
		}
	}
	return n
}

// metadataNode keeps what subjects and rules read of metadata.
func metadataNode(meta map[string]any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, k := range []string{"name", "generateName", "namespace", "labels"} {
		if v, ok := meta[k]; ok {
			n.Content = append(n.Content, strNode(k), valueNode(v))
		}
	}
	return n
}

// valueNode converts a decoded JSON value.
func valueNode(v any) *yaml.Node {
	switch v := v.(type) {
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range sortedKeys(v) {
			n.Content = append(n.Content, strNode(k), valueNode(v[k]))
		}
		return n
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range v {
			n.Content = append(n.Content, valueNode(e))
		}
		return n
	case string:
		return strNode(v)
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}
	case int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v, 10)}
	case float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: strconv.FormatFloat(v, 'g', -1, 64)}
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	// Unstructured decoding yields only the types above; anything else is
	// kept as a non-string scalar, which subject refuses where an image
	// must be a string.
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!unknown", Value: "?"}
}

func strNode(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
