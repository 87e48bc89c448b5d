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
	// SubjectsPerCall, when positive, is the most subjects fn is given
	// at once: a resource with more is handed out in several calls with
	// the same *Resource, so memory does not grow with its containers.
	// A resource in error is an error before any of its subjects is
	// handed out. 0 hands out each resource's subjects in one call.
	SubjectsPerCall int
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
	return readSequential(file, r, opt, fn)
}

// recoverAsError turns a panic while reading file into an error naming it:
// a reader bug must stop the check, not crash it or pass in silence.
func recoverAsError(file string, err *error) {
	if r := recover(); r != nil {
		*err = &Error{File: file, Msg: fmt.Sprintf("internal error while reading: %v", r)}
	}
}

// ReadObject extracts the subjects of one decoded object node, of any
// kind: a workload of the table or of opt.Workloads, a List (the subjects
// of all its items), or anything else (none, and a notice when it holds a
// container list). Keys written twice and merge keys are handled as
// ReadManifests does.
func ReadObject(file string, n *yaml.Node, opt Options) (res *Resource, subs []Subject, err error) {
	defer recoverAsError(file, &err)
	d := doc{file: file, t: newTree("")}
	root := d.t.fromNode(n, 0)
	if err := d.normalize(root); err != nil {
		return nil, nil, err
	}
	err = d.readObject(root, opt, 0, typeMeta{}, func(r *Resource, s []Subject) error {
		if res == nil {
			res = r
		}
		subs = append(subs, s...)
		return nil
	})
	return res, subs, err
}

// readDocument reads the subjects of one document's root.
func (d doc) readDocument(root nodeID, opt Options, fn func(*Resource, []Subject) error) error {
	if root == noNode {
		return nil
	}
	if err := d.normalize(root); err != nil {
		return err
	}
	return d.readObject(root, opt, 0, typeMeta{}, fn)
}

// maxListDepth bounds Lists nested in Lists (reachable through YAML aliases
// even in small files).
const maxListDepth = 8

// typeMeta is the apiVersion and kind a List gives items that name
// neither, as kubectl does.
type typeMeta struct{ apiVersion, kind string }

func (d doc) readObject(n nodeID, opt Options, depth int, inherit typeMeta, fn func(*Resource, []Subject) error) error {
	n = d.t.deref(n)
	if d.t.kind(n) != kindMapping {
		return nil
	}
	tm, err := d.readTypeMeta(n, inherit)
	if err != nil {
		return err
	}
	items, err := d.lookup(n, "items")
	if err != nil {
		return err
	}
	w, known := FindWorkload(tm.apiVersion, tm.kind, opt.Workloads)
	if items != noNode {
		// kubectl reads any object with items as a List. Another client
		// may apply it as the object it names: a known workload is
		// judged as both.
		if err := d.readItems(items, tm, opt, depth, fn); err != nil || !known {
			return err
		}
	}
	if tm.kind == "Namespace" && opt.OnNamespace != nil {
		return d.readNamespace(n, opt)
	}
	if !known {
		return d.noticeUnknown(n, tm, opt)
	}
	return d.readWorkload(n, tm, w, opt, fn)
}

func (d doc) readTypeMeta(n nodeID, inherit typeMeta) (typeMeta, error) {
	kind, err := d.lookupString(n, "kind")
	if err != nil {
		return typeMeta{}, err
	}
	apiVersion, err := d.lookupString(n, "apiVersion")
	if err != nil {
		return typeMeta{}, err
	}
	if kind == "" && apiVersion == "" {
		return inherit, nil
	}
	return typeMeta{apiVersion: strings.Clone(apiVersion), kind: strings.Clone(kind)}, nil
}

func (d doc) readItems(items nodeID, list typeMeta, opt Options, depth int, fn func(*Resource, []Subject) error) error {
	if d.t.isNull(items) {
		return nil
	}
	if d.t.kind(items) != kindSequence {
		return d.errorf(items, "items must be a list")
	}
	if depth >= maxListDepth {
		return d.errorf(items, "Lists nested more than %d deep", maxListDepth)
	}
	inherit := typeMeta{apiVersion: list.apiVersion, kind: strings.TrimSuffix(list.kind, "List")}
	for _, it := range d.t.content(items) {
		if err := d.readObject(it, opt, depth+1, inherit, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d doc) readNamespace(n nodeID, opt Options) error {
	meta, err := d.lookup(n, "metadata")
	if err != nil {
		return err
	}
	name, err := d.lookupString(meta, "name")
	if err != nil {
		return err
	}
	labels, err := d.stringMap(meta, "labels")
	if err != nil {
		return err
	}
	if labels == nil {
		labels = map[string]string{}
	}
	name = strings.Clone(name)
	labels["kubernetes.io/metadata.name"] = name // set by the API server on every namespace
	opt.OnNamespace(name, labels)
	return nil
}

func (d doc) readWorkload(n nodeID, tm typeMeta, w Workload, opt Options, fn func(*Resource, []Subject) error) error {
	res, err := d.newResource(n, tm, opt)
	if err != nil {
		return err
	}
	path := w.SpecPath()
	spec := n
	for _, key := range path {
		spec, err = d.lookup(spec, key)
		if err != nil {
			return err
		}
		if spec == noNode || d.t.isNull(spec) {
			return fn(res, nil) // no pod spec: nothing ships an image
		}
		if d.t.kind(spec) != kindMapping {
			return d.errorf(spec, "%s %s: %s must be a mapping", tm.kind, res.Name, key)
		}
	}
	return d.handOut(res, spec, joinPath(path), opt.SubjectsPerCall, fn)
}

// handOut calls fn with a pod spec's subjects: all at once, or at most
// per of them a call when per > 0. A pod spec in error is an error before
// any of its subjects is handed out.
func (d doc) handOut(res *Resource, spec nodeID, prefix string, per int, fn func(*Resource, []Subject) error) error {
	total, err := d.countSubjects(res, spec, prefix)
	if err != nil || per <= 0 || total <= per {
		if err == nil {
			total = min(total, maxPreallocatedSubjects)
		}
		subs := make([]Subject, 0, total)
		if err := d.podSubjects(res, spec, prefix, func(s Subject) error { subs = append(subs, s); return nil }); err != nil {
			return err
		}
		return fn(res, subs)
	}
	if err := d.podSubjects(res, spec, prefix, func(Subject) error { return nil }); err != nil {
		return err
	}
	var subs []Subject
	err = d.podSubjects(res, spec, prefix, func(s Subject) error {
		if subs == nil {
			subs = make([]Subject, 0, per)
		}
		subs = append(subs, s)
		if len(subs) < per {
			return nil
		}
		batch := subs
		subs = nil // fn may keep the batch
		return fn(res, batch)
	})
	if err != nil || len(subs) == 0 {
		return err
	}
	return fn(res, subs)
}

// maxPreallocatedSubjects bounds the room made for a pod spec's subjects
// before they are read: entries without an image count too.
const maxPreallocatedSubjects = 1 << 16

func (d doc) newResource(n nodeID, tm typeMeta, opt Options) (*Resource, error) {
	meta, err := d.lookup(n, "metadata")
	if err != nil {
		return nil, err
	}
	res := &Resource{APIVersion: tm.apiVersion, Kind: tm.kind, File: d.file, Line: d.t.line(n)}
	for _, f := range []struct {
		key string
		to  *string
	}{{"name", &res.Name}, {"namespace", &res.Namespace}} {
		if *f.to, err = d.lookupString(meta, f.key); err != nil {
			return nil, err
		}
	}
	if res.Labels, err = d.stringMap(meta, "labels"); err != nil {
		return nil, err
	}
	if res.Name == "" {
		if res.Name, err = d.lookupString(meta, "generateName"); err != nil {
			return nil, err
		}
	}
	res.Name, res.Namespace = strings.Clone(res.Name), strings.Clone(res.Namespace)
	if res.Namespace == "" {
		res.Namespace = opt.DefaultNamespace
	}
	return res, nil
}

// countSubjects is how many entries a pod spec's lists have (an upper
// bound on its subjects); the error of the first list that is not one.
func (d doc) countSubjects(res *Resource, spec nodeID, prefix string) (int, error) {
	total := 0
	for _, list := range podLists {
		seq, err := d.listNode(res, spec, prefix, list)
		if err != nil {
			return 0, err
		}
		total += len(d.t.content(seq))
	}
	return total, nil
}

// podLists are the lists of a pod spec whose entries are subjects, in
// the order they are read.
var podLists = append(Lists[:len(Lists):len(Lists)], Volumes)

// podSubjects hands a pod spec's container lists' and image volumes'
// subjects to emit, in that order, stopping at the first error.
func (d doc) podSubjects(res *Resource, spec nodeID, prefix string, emit func(Subject) error) error {
	for _, list := range podLists {
		seq, err := d.listNode(res, spec, prefix, list)
		if err != nil {
			return err
		}
		image := d.containerImage
		if list == Volumes {
			image = d.volumeImage
		}
		if err := d.listSubjects(res, seq, prefix, list, image, emit); err != nil {
			return err
		}
	}
	return nil
}

// imageField finds the image of one list entry: the node and its field
// path below the entry; noNode when the entry names none.
type imageField func(entry nodeID) (nodeID, string, error)

func (d doc) containerImage(c nodeID) (nodeID, string, error) {
	img, err := d.lookup(c, "image")
	return img, "image", err
}

// volumeImage is an image volume's reference (spec.volumes[].image.reference).
func (d doc) volumeImage(v nodeID) (nodeID, string, error) {
	src, err := d.lookup(v, "image")
	if err != nil || src == noNode || d.t.isNull(src) {
		return noNode, "", err
	}
	if d.t.kind(src) != kindMapping {
		return noNode, "", d.errorf(src, "a volume's image must be a mapping")
	}
	ref, err := d.lookup(src, "reference")
	return ref, "image.reference", err
}

// listNode finds a list of a pod spec: noNode when absent or null. A list
// whose node is tagged !!null is still a list: kubectl applies it.
func (d doc) listNode(res *Resource, spec nodeID, prefix string, list List) (nodeID, error) {
	seq, err := d.lookup(spec, string(list))
	if err != nil || seq == noNode || d.t.isNull(seq) {
		return noNode, err
	}
	if d.t.kind(seq) != kindSequence {
		return noNode, d.errorf(seq, "%s %s: %s.%s must be a list", res.Kind, res.Name, prefix, list)
	}
	return seq, nil
}

func (d doc) listSubjects(res *Resource, seq nodeID, prefix string, list List, image imageField, emit func(Subject) error) error {
	t := d.t
	for i, c := range t.content(seq) {
		c = t.deref(c)
		field := prefix + "." + string(list) + "[" + strconv.Itoa(i) + "]"
		if t.kind(c) != kindMapping {
			return d.errorf(c, "%s %s: %s must be a mapping", res.Kind, res.Name, field)
		}
		img, sub, err := image(c)
		if err != nil {
			return err
		}
		if img == noNode {
			continue // a partial object (a patch) that sets no image ships none
		}
		if !t.isStr(img) {
			return d.errorf(img, "%s %s: %s.%s must be a string", res.Kind, res.Name, field, sub)
		}
		name, err := d.lookupString(c, "name")
		if err != nil {
			return err
		}
		err = emit(Subject{
			Resource:  res,
			Container: strings.Clone(name),
			List:      list,
			Field:     field + "." + sub,
			Image:     strings.Clone(t.value(img)),
			Line:      t.line(img),
			Column:    t.column(img),
			Source:    lineage.SourceReference,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func joinPath(path []string) string {
	return strings.Join(path, ".")
}

// scalar is a scalar's value, "" for null and anything else.
func (d doc) scalar(n nodeID) string {
	if d.t.kind(n) != kindScalar || d.t.isNull(n) {
		return ""
	}
	return d.t.value(n)
}

// lookupString is the scalar value of key in a mapping, "" when absent.
func (d doc) lookupString(n nodeID, key string) (string, error) {
	v, err := d.lookup(n, key)
	return d.scalar(v), err
}

// stringMap reads a mapping of strings (labels) at key, merge keys
// included.
func (d doc) stringMap(parent nodeID, key string) (map[string]string, error) {
	n, err := d.lookup(parent, key)
	if err != nil || d.t.kind(n) != kindMapping || len(d.t.content(n)) == 0 {
		return nil, err
	}
	ps, err := d.pairs(n)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[strings.Clone(d.t.value(p[0]))] = strings.Clone(d.scalar(p[1]))
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
