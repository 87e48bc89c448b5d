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

// PodKinds maps every pod-bearing kind of Kubernetes itself to the path of
// its pod spec. Workloads has these and workload CRDs, with their groups.
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
	// Workloads are kinds with pod templates besides the built-in
	// Workloads (a policy's spec.workloads); they are tried first.
	Workloads []Workload
	// OnNotice, when set, is told of every object that may ship images
	// baseguard cannot judge: a kind it does not know holding a container
	// list.
	OnNotice func(Notice)
}

// Notice is an object baseguard did not judge although it may ship images.
type Notice struct {
	File       string
	Line       int
	APIVersion string
	Kind       string
	Name       string
	// Field is where the container list is, `spec.runner.containers`.
	Field string
}

func (n Notice) String() string {
	at := n.File
	if n.Line > 0 {
		at = fmt.Sprintf("%s:%d", n.File, n.Line)
	}
	return fmt.Sprintf("%s: %s %s (apiVersion %q) holds a container list at %s, but baseguard does not know where this kind keeps its pod template, so its images are not judged; declare it in a policy's spec.workloads", at, n.Kind, n.Name, n.APIVersion, n.Field)
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
func readDocuments(file string, r io.Reader, offset int, opt Options, fn func(*Resource, []Subject) error) (err error) {
	defer recoverAsError(file, &err)
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
		if err := normalize(file, &doc); err != nil {
			return err
		}
		if err := readObject(file, doc.Content[0], opt, 0, typeMeta{}, fn); err != nil {
			return err
		}
	}
}

// recoverAsError turns a panic while reading file into an error naming it:
// a reader bug must stop the check, not crash it or pass in silence.
func recoverAsError(file string, err *error) {
	if r := recover(); r != nil {
		*err = &Error{File: file, Msg: fmt.Sprintf("internal error while reading: %v", r)}
	}
}

// shiftLines moves a node tree's line numbers down by offset.
func shiftLines(n *yaml.Node, offset int) {
	n.Line += offset
	for _, c := range n.Content {
		shiftLines(c, offset)
	}
}

// ReadObject extracts the subjects of one decoded object node, of any
// kind: a workload of the table or of opt.Workloads, a List (the subjects
// of all its items), or anything else (none, and a notice when it holds a
// container list). Keys written twice and merge keys are handled as
// ReadManifests does.
func ReadObject(file string, n *yaml.Node, opt Options) (res *Resource, subs []Subject, err error) {
	defer recoverAsError(file, &err)
	if err := normalize(file, n); err != nil {
		return nil, nil, err
	}
	err = readObject(file, n, opt, 0, typeMeta{}, func(r *Resource, s []Subject) error {
		if res == nil {
			res = r
		}
		subs = append(subs, s...)
		return nil
	})
	return res, subs, err
}

// maxListDepth bounds Lists nested in Lists (reachable through YAML aliases
// even in small files).
const maxListDepth = 8

// typeMeta is the apiVersion and kind a List gives items that name
// neither, as kubectl does.
type typeMeta struct{ apiVersion, kind string }

func readObject(file string, n *yaml.Node, opt Options, depth int, inherit typeMeta, fn func(*Resource, []Subject) error) error {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	tm, err := readTypeMeta(file, n, inherit)
	if err != nil {
		return err
	}
	items, err := lookup(file, n, "items")
	if err != nil {
		return err
	}
	w, known := FindWorkload(tm.apiVersion, tm.kind, opt.Workloads)
	if items != nil {
		// kubectl reads any object with items as a List. Another client
		// may apply it as the object it names: a known workload is
		// judged as both.
		if err := readItems(file, items, tm, opt, depth, fn); err != nil || !known {
			return err
		}
	}
	if tm.kind == "Namespace" && opt.OnNamespace != nil {
		return readNamespace(file, n, opt)
	}
	if !known {
		return noticeUnknown(file, n, tm, opt)
	}
	return readWorkload(file, n, tm, w, opt, fn)
}

func readTypeMeta(file string, n *yaml.Node, inherit typeMeta) (typeMeta, error) {
	kind, err := lookupString(file, n, "kind")
	if err != nil {
		return typeMeta{}, err
	}
	apiVersion, err := lookupString(file, n, "apiVersion")
	if err != nil {
		return typeMeta{}, err
	}
	if kind == "" && apiVersion == "" {
		return inherit, nil
	}
	return typeMeta{apiVersion: apiVersion, kind: kind}, nil
}

func readItems(file string, items *yaml.Node, list typeMeta, opt Options, depth int, fn func(*Resource, []Subject) error) error {
	if items.Kind == yaml.ScalarNode && items.Tag == "!!null" {
		return nil
	}
	if items.Kind != yaml.SequenceNode {
		return &Error{File: file, Line: items.Line, Msg: "items must be a list"}
	}
	if depth >= maxListDepth {
		return &Error{File: file, Line: items.Line, Msg: fmt.Sprintf("Lists nested more than %d deep", maxListDepth)}
	}
	inherit := typeMeta{apiVersion: list.apiVersion, kind: strings.TrimSuffix(list.kind, "List")}
	for _, it := range items.Content {
		if err := readObject(file, it, opt, depth+1, inherit, fn); err != nil {
			return err
		}
	}
	return nil
}

func readNamespace(file string, n *yaml.Node, opt Options) error {
	meta, err := lookup(file, n, "metadata")
	if err != nil {
		return err
	}
	name, err := lookupString(file, meta, "name")
	if err != nil {
		return err
	}
	labels, err := stringMap(file, meta, "labels")
	if err != nil {
		return err
	}
	if labels == nil {
		labels = map[string]string{}
	}
	labels["kubernetes.io/metadata.name"] = name // set by the API server on every namespace
	opt.OnNamespace(name, labels)
	return nil
}

func readWorkload(file string, n *yaml.Node, tm typeMeta, w Workload, opt Options, fn func(*Resource, []Subject) error) error {
	res, err := newResource(file, n, tm, opt)
	if err != nil {
		return err
	}
	path := w.SpecPath()
	spec := n
	for _, key := range path {
		spec, err = lookup(file, spec, key)
		if err != nil {
			return err
		}
		if spec == nil || spec.Kind == yaml.ScalarNode && spec.Tag == "!!null" {
			return fn(res, nil) // no pod spec: nothing ships an image
		}
		if spec.Kind != yaml.MappingNode {
			return &Error{File: file, Line: spec.Line, Msg: fmt.Sprintf("%s %s: %s must be a mapping", tm.kind, res.Name, key)}
		}
	}
	subs, err := podSubjects(res, spec, joinPath(path))
	if err != nil {
		return err
	}
	return fn(res, subs)
}

func newResource(file string, n *yaml.Node, tm typeMeta, opt Options) (*Resource, error) {
	meta, err := lookup(file, n, "metadata")
	if err != nil {
		return nil, err
	}
	res := &Resource{APIVersion: tm.apiVersion, Kind: tm.kind, File: file, Line: n.Line}
	for _, f := range []struct {
		key string
		to  *string
	}{{"name", &res.Name}, {"namespace", &res.Namespace}} {
		if *f.to, err = lookupString(file, meta, f.key); err != nil {
			return nil, err
		}
	}
	if res.Labels, err = stringMap(file, meta, "labels"); err != nil {
		return nil, err
	}
	if res.Name == "" {
		if res.Name, err = lookupString(file, meta, "generateName"); err != nil {
			return nil, err
		}
	}
	if res.Namespace == "" {
		res.Namespace = opt.DefaultNamespace
	}
	return res, nil
}

// podSubjects reads a pod spec's container lists and image volumes.
func podSubjects(res *Resource, spec *yaml.Node, prefix string) ([]Subject, error) {
	var subs []Subject
	for _, list := range Lists {
		got, err := listSubjects(res, spec, prefix, list, containerImage)
		if err != nil {
			return nil, err
		}
		subs = append(subs, got...)
	}
	vols, err := listSubjects(res, spec, prefix, Volumes, volumeImage)
	if err != nil {
		return nil, err
	}
	return append(subs, vols...), nil
}

// imageField finds the image of one list entry: the node and its field
// path below the entry; nil when the entry names none.
type imageField func(file string, entry *yaml.Node) (*yaml.Node, string, error)

func containerImage(file string, c *yaml.Node) (*yaml.Node, string, error) {
	img, err := lookup(file, c, "image")
	return img, "image", err
}

// volumeImage is an image volume's reference (spec.volumes[].image.reference).
func volumeImage(file string, v *yaml.Node) (*yaml.Node, string, error) {
	src, err := lookup(file, v, "image")
	if err != nil || src == nil || src.Kind == yaml.ScalarNode && src.Tag == "!!null" {
		return nil, "", err
	}
	if src.Kind != yaml.MappingNode {
		return nil, "", &Error{File: file, Line: src.Line, Msg: "a volume's image must be a mapping"}
	}
	ref, err := lookup(file, src, "reference")
	return ref, "image.reference", err
}

func listSubjects(res *Resource, spec *yaml.Node, prefix string, list List, image imageField) ([]Subject, error) {
	file := res.File
	seq, err := lookup(file, spec, string(list))
	if err != nil || seq == nil || seq.Tag == "!!null" {
		return nil, err
	}
	if seq.Kind != yaml.SequenceNode {
		return nil, &Error{File: file, Line: seq.Line, Msg: fmt.Sprintf("%s %s: %s.%s must be a list", res.Kind, res.Name, prefix, list)}
	}
	var subs []Subject
	for i, c := range seq.Content {
		c = deref(c)
		field := prefix + "." + string(list) + "[" + strconv.Itoa(i) + "]"
		if c.Kind != yaml.MappingNode {
			return nil, &Error{File: file, Line: c.Line, Msg: fmt.Sprintf("%s %s: %s must be a mapping", res.Kind, res.Name, field)}
		}
		img, sub, err := image(file, c)
		if err != nil {
			return nil, err
		}
		if img == nil {
			continue // a partial object (a patch) that sets no image ships none
		}
		if img.Kind != yaml.ScalarNode || img.Tag != "!!str" {
			return nil, &Error{File: file, Line: img.Line, Msg: fmt.Sprintf("%s %s: %s.%s must be a string", res.Kind, res.Name, field, sub)}
		}
		name, err := lookupString(file, c, "name")
		if err != nil {
			return nil, err
		}
		subs = append(subs, Subject{
			Resource:  res,
			Container: name,
			List:      list,
			Field:     field + "." + sub,
			Image:     img.Value,
			Line:      img.Line,
			Column:    img.Column,
			Source:    lineage.SourceReference,
		})
	}
	return subs, nil
}

func joinPath(path []string) string {
	return strings.Join(path, ".")
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

// lookupString is the scalar value of key in a mapping, "" when absent.
func lookupString(file string, n *yaml.Node, key string) (string, error) {
	v, err := lookup(file, n, key)
	return scalar(v), err
}

// stringMap reads a mapping of strings (labels) at key, merge keys
// included.
func stringMap(file string, parent *yaml.Node, key string) (map[string]string, error) {
	n, err := lookup(file, parent, key)
	if err != nil || n == nil || n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return nil, err
	}
	ps, err := pairs(file, n)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p[0].Value] = scalar(p[1])
	}
	return m, nil
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
