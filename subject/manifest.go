package subject

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/baseguard/baseguard/lineage"
	"go.yaml.in/yaml/v3"
)

// PodKinds maps every pod-bearing kind to the path of its pod spec.
var PodKinds = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// Error is a problem with an input, at a file and line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Options tune how manifests are read.
type Options struct {
	// DefaultNamespace is the namespace of namespaced objects that name
	// none, as kubectl would apply them. Empty leaves it empty.
	DefaultNamespace string
	// OnNamespace, when set, is called with the name and labels of every
	// Namespace object read, so namespace selectors can be decided.
	OnNamespace func(name string, labels map[string]string)
	// Workers is how many documents are parsed at once. Callbacks are
	// still made in document order, on the caller's goroutine. 0 or 1
	// parses one document after another.
	Workers int
}

// ReadManifests reads every document of a YAML or JSON stream and calls fn
// for each pod-bearing resource with its subjects. It stops at the first
// malformed document with an *Error naming file and line.
func ReadManifests(file string, r io.Reader, opt Options, fn func(*Resource, []Subject) error) error {
	if opt.Workers > 1 {
		return readParallel(file, r, opt, fn)
	}
	return readDocuments(file, r, 0, opt, fn)
}

// readDocuments parses documents one after another; line numbers are
// shifted by offset (the line the input starts on, less one).
func readDocuments(file string, r io.Reader, offset int, opt Options, fn func(*Resource, []Subject) error) error {
	dec := yaml.NewDecoder(r)
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			line := yamlErrorLine(err)
			msg := "reading YAML: " + strings.TrimPrefix(err.Error(), fmt.Sprintf("yaml: line %d: ", line))
			if line > 0 {
				line += offset
			}
			return &Error{File: file, Line: line, Msg: msg}
		}
		if len(doc.Content) == 0 {
			continue
		}
		if offset > 0 {
			shiftLines(&doc, offset)
		}
		if err := readObject(file, doc.Content[0], opt, 0, fn); err != nil {
			return err
		}
	}
}

// shiftLines moves a node tree's line numbers down by offset.
func shiftLines(n *yaml.Node, offset int) {
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}

// ReadObject extracts the subjects of one decoded object node.
func ReadObject(file string, n *yaml.Node, opt Options) (*Resource, []Subject, error) {
	var res *Resource
	var subs []Subject
	err := readObject(file, n, opt, 0, func(r *Resource, s []Subject) error {
		res, subs = r, s
		return nil
	})
	return res, subs, err
}

// maxListDepth bounds Lists nested in Lists (reachable through YAML aliases
// even in small files).
const maxListDepth = 8

func readObject(file string, n *yaml.Node, opt Options, depth int, fn func(*Resource, []Subject) error) error {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	kind := scalar(child(n, "kind"))
	if kind == "List" || (len(kind) > 4 && kind[len(kind)-4:] == "List" && child(n, "items") != nil) {
		items := child(n, "items")
		if items == nil {
			return nil
		}
		if items.Kind != yaml.SequenceNode {
			return &Error{File: file, Line: items.Line, Msg: "items must be a list"}
		}
		if depth >= maxListDepth {
			return &Error{File: file, Line: items.Line, Msg: fmt.Sprintf("Lists nested more than %d deep", maxListDepth)}
		}
		for _, it := range items.Content {
			if err := readObject(file, it, opt, depth+1, fn); err != nil {
				return err
			}
		}
		return nil
	}
	if kind == "Namespace" && opt.OnNamespace != nil {
		meta := child(n, "metadata")
		name, labels := scalar(child(meta, "name")), stringMap(child(meta, "labels"))
		if labels == nil {
			labels = map[string]string{}
		}
		labels["kubernetes.io/metadata.name"] = name // set by the API server on every namespace
		opt.OnNamespace(name, labels)
		return nil
	}
	path, ok := PodKinds[kind]
	if !ok {
		return nil
	}
	res := newResource(file, n, kind, opt)
	spec := n
	for _, key := range path {
		spec = child(spec, key)
		if spec == nil {
			return fn(res, nil) // no pod spec: nothing ships an image
		}
		if spec.Kind != yaml.MappingNode {
			return &Error{File: file, Line: spec.Line, Msg: fmt.Sprintf("%s %s: %s must be a mapping", kind, res.Name, key)}
		}
	}
	subs, err := podSubjects(res, spec, joinPath(path))
	if err != nil {
		return err
	}
	return fn(res, subs)
}

func newResource(file string, n *yaml.Node, kind string, opt Options) *Resource {
	meta := child(n, "metadata")
	res := &Resource{
		APIVersion: scalar(child(n, "apiVersion")),
		Kind:       kind,
		Name:       scalar(child(meta, "name")),
		Namespace:  scalar(child(meta, "namespace")),
		File:       file,
		Line:       n.Line,
		Labels:     stringMap(child(meta, "labels")),
	}
	if res.Name == "" {
		res.Name = scalar(child(meta, "generateName"))
	}
	if res.Namespace == "" {
		res.Namespace = opt.DefaultNamespace
	}
	return res
}

func podSubjects(res *Resource, spec *yaml.Node, prefix string) ([]Subject, error) {
	var subs []Subject
	for _, list := range Lists {
		seq := child(spec, string(list))
		if seq == nil || seq.Tag == "!!null" {
			continue
		}
		if seq.Kind != yaml.SequenceNode {
			return nil, &Error{File: res.File, Line: seq.Line, Msg: fmt.Sprintf("%s %s: %s.%s must be a list", res.Kind, res.Name, prefix, list)}
		}
		for i, c := range seq.Content {
			c = deref(c)
			field := prefix + "." + string(list) + "[" + strconv.Itoa(i) + "]"
			if c.Kind != yaml.MappingNode {
				return nil, &Error{File: res.File, Line: c.Line, Msg: fmt.Sprintf("%s %s: %s must be a mapping", res.Kind, res.Name, field)}
			}
			img := child(c, "image")
			if img == nil {
				continue // a partial object (a patch) that sets no image ships none
			}
			if img.Kind != yaml.ScalarNode || img.Tag == "!!null" {
				return nil, &Error{File: res.File, Line: img.Line, Msg: fmt.Sprintf("%s %s: %s.image must be a string", res.Kind, res.Name, field)}
			}
			subs = append(subs, Subject{
				Resource:  res,
				Container: scalar(child(c, "name")),
				List:      list,
				Field:     field + ".image",
				Image:     img.Value,
				Line:      img.Line,
				Column:    img.Column,
				Source:    lineage.SourceReference,
			})
		}
	}
	return subs, nil
}

func joinPath(path []string) string {
	s := path[0]
	for _, p := range path[1:] {
		s += "." + p
	}
	return s
}

// child returns the value of key in a mapping node, or nil. YAML aliases
// are followed (one level: an alias never points at another alias).
func child(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func stringMap(n *yaml.Node) map[string]string {
	if n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil
	}
	m := make(map[string]string, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = scalar(n.Content[i+1])
	}
	return m
}

// yamlErrorLine digs the line number out of a yaml.v3 error message
// ("yaml: line 7: ...").
func yamlErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	var line int
	for _, prefix := range []string{"yaml: line %d:", "line %d:"} {
		if _, err := fmt.Sscanf(msg, prefix, &line); err == nil {
			return line
		}
	}
	return 0
}
