package admission

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ephemeralContainers is the pods subresource `kubectl debug` writes.
const ephemeralContainers = "ephemeralcontainers"

// errNotInTime is wrapped by the error of a review that could not be
// judged before its deadline.
var errNotInTime = errors.New("not judged within the webhook's timeout")

// judged reports whether a request is one baseguard judges: CREATE and
// UPDATE of an object, or of the pods/ephemeralcontainers subresource.
func judged(req *wireRequest) bool {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return false
	}
	return req.SubResource == "" || (req.Resource.Resource == "pods" && req.SubResource == ephemeralContainers)
}

// decide judges the request's object, and on UPDATE its old object too:
// an UPDATE is denied only for failures the old object did not have. body
// is the size of the request's body, what r already holds; decide grows r
// by what reading the objects will take (errBusy when there is no room).
// Any other error means the object cannot be judged; the request is then
// denied.
func (h *Handler) decide(ctx context.Context, req *wireRequest, resolveBudget time.Duration, r *reservation, body int) (*decision, error) {
	if !judged(req) {
		return &decision{}, nil
	}
	if len(req.Object) == 0 {
		return nil, errors.New("the request has no object")
	}
	update := req.Operation == admissionv1.Update && len(req.OldObject) > 0
	var values [2]int
	values[0] = countValues(req.Object)
	if update {
		values[1] = countValues(req.OldObject)
	}
	if err := r.grow(reviewWeight(body, values) - int64(body)); err != nil {
		return nil, err
	}
	set := h.policies.Set()
	opt := readOptions(req, set)
	s := getSlab(min(max(values[0], values[1]), MaxObjectValues))
	defer putSlab(s)
	obj, err := readObject("object", req.Object, values[0], s, req.Kind, opt)
	if err != nil {
		return nil, err
	}
	if obj.res == nil {
		return &decision{notes: obj.notices}, nil
	}
	if obj.res.Name == "" {
		obj.res.Name = req.Name
	}
	d := newDecision(obj.res, len(obj.subs))
	d.notes = append(d.notes, obj.notices...)
	var old *object
	if update {
		if old, err = readObject("oldObject", req.OldObject, values[1], s, req.Kind, opt); err != nil || old.res == nil {
			d.notes = append(d.notes, fmt.Sprintf("the old object could not be read (%v): every failure of the object counts as new", describeErr(err)))
			old = nil
		}
	}
	if len(obj.subs) == 0 {
		return d, nil
	}
	lookups, cancel := context.WithTimeout(ctx, resolveBudget)
	defer cancel()
	h.namespaceLabels(lookups, obj, old)
	h.requester(lookups, req, set, obj, old)
	lineages := h.lineages(lookups, resolveBudget, obj, old)
	d.notes = append(d.notes, unresolvedNotes(obj.subs, lineages)...)
	now := h.now()
	var before failures
	if old != nil {
		if before, err = oldFailures(ctx, set, old, lineages, now); err != nil {
			return nil, err
		}
	}
	if err := d.judge(ctx, set, obj, before, lineages, now); err != nil {
		return nil, err
	}
	return d, nil
}

// readOptions are the options objects are read with: the request's
// namespace, and the workloads the policies declare.
func readOptions(req *wireRequest, set *policy.Set) subject.Options {
	return subject.Options{DefaultNamespace: req.Namespace, Workloads: set.Workloads()}
}

func describeErr(err error) string {
	if err == nil {
		return "not a kind baseguard judges"
	}
	return err.Error()
}

// namespaceLabels gives both objects the labels of the namespace: the old
// object is judged as if it were in the namespace as it is now, so that
// only the update's own changes count.
func (h *Handler) namespaceLabels(ctx context.Context, obj, old *object) {
	if h.namespaces == nil || obj.res.Namespace == "" {
		return
	}
	labels, err := h.namespaces.NamespaceLabels(ctx, obj.res.Namespace)
	for _, o := range []*object{obj, old} {
		if o == nil {
			continue
		}
		// Fail closed: rules selecting namespaces by label cannot be
		// checked, and say so as errors (denials under enforce).
		o.res.NamespaceLabels, o.res.NamespaceLabelsErr = labels, err
	}
}

// lineages resolves each distinct image of both objects once, with the
// new object's credentials. An invalid reference gets a lineage that is
// only its error, which rules report as an error result.
func (h *Handler) lineages(ctx context.Context, budget time.Duration, obj, old *object) map[string]lineage.Lineage {
	out := make(map[string]lineage.Lineage, len(obj.subs))
	var refs []imageref.Ref
	for _, o := range []*object{obj, old} {
		if o == nil {
			continue
		}
		for _, s := range o.subs {
			if _, ok := out[s.Image]; ok {
				continue
			}
			ref, err := imageref.Parse(s.Image)
			if err != nil {
				out[s.Image] = lineage.Lineage{Err: err}
				continue
			}
			out[s.Image] = lineage.Lineage{} // placeholder, filled below
			refs = append(refs, ref)
		}
	}
	for i, l := range resolveAll(ctx, h.resolver, budget, refs, obj.creds) {
		out[refs[i].Written] = l
	}
	return out
}

// unresolvedNotes tell, once per image, that its lineage could not be
// resolved, so that an admission under onResolveError: allow is never silent.
// (An invalid reference is an error result of its own.)
func unresolvedNotes(subs []subject.Subject, lineages map[string]lineage.Lineage) []string {
	var notes []string
	seen := map[string]bool{}
	for _, s := range subs {
		l := lineages[s.Image]
		if l.Err == nil || len(l.Entries) == 0 || seen[s.Image] {
			continue
		}
		seen[s.Image] = true
		notes = append(notes, fmt.Sprintf("the lineage of %s was not resolved (%v): rules were decided on what was known, and the policies' onResolveError on the rest", s.Image, l.Err))
	}
	return notes
}

// withKind gives an object that names no apiVersion or kind the request's:
// what kube-apiserver sends always names both.
func withKind(tree *yaml.Node, gvk metav1.GroupVersionKind) {
	gv := gvk.Version
	if gvk.Group != "" {
		gv = gvk.Group + "/" + gv
	}
	for _, f := range [][2]string{{"apiVersion", gv}, {"kind", gvk.Kind}} {
		if child(tree, f[0]) == nil && f[1] != "" {
			tree.Content = append(tree.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f[0]}, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f[1]})
		}
	}
}
