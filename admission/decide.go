package admission

import (
	"context"
	"fmt"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	admissionv1 "k8s.io/api/admission/v1"
)

// decision is what a review concluded.
type decision struct {
	// res is the resource judged; nil when the request is not one baseguard
	// judges (a DELETE, another subresource, a kind without a pod spec).
	res *subject.Resource
	// results are the rule results of the subjects judged.
	results []policy.Result
	// judged counts the container images judged; unchanged those an UPDATE
	// left as they were, which pass through.
	judged, unchanged int
	// notes are facts the requester should know that are no rule's result.
	notes []string
}

// ephemeralContainers is the pods subresource `kubectl debug` writes.
const ephemeralContainers = "ephemeralcontainers"

// decide judges the request's object. An error means the object cannot be
// read; the request is then denied.
func (h *Handler) decide(ctx context.Context, req *wireRequest, budget time.Duration) (*decision, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return &decision{}, nil
	}
	if req.SubResource != "" && !(req.Resource.Resource == "pods" && req.SubResource == ephemeralContainers) {
		return &decision{}, nil
	}
	if req.objectErr != nil {
		return nil, fmt.Errorf("reading the object: %w", req.objectErr)
	}
	obj := req.Object
	if obj == nil {
		return nil, fmt.Errorf("the request has no object")
	}
	if obj.Kind == "" {
		obj.Kind = req.Kind.Kind
	}
	res, subs, err := obj.subjects(req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	if res == nil {
		return &decision{}, nil
	}
	if res.Name == "" {
		res.Name = req.Name
	}
	d := &decision{res: res}
	if req.Operation == admissionv1.Update {
		all := len(subs)
		if subs, err = changedSubjects(req, subs); err != nil {
			return nil, err
		}
		d.unchanged = all - len(subs)
	}
	d.judged = len(subs)
	if len(subs) == 0 {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	if h.namespaces != nil && res.Namespace != "" {
		labels, err := h.namespaces.NamespaceLabels(ctx, res.Namespace)
		if err != nil {
			// Fail closed: rules selecting namespaces by label cannot be
			// checked, and say so as errors (denials under enforce).
			res.NamespaceLabelsErr = err
		}
		res.NamespaceLabels = labels
	}
	lineages := h.lineages(ctx, budget, subs, obj.podSpec().credentials(res.Namespace))
	d.notes = append(d.notes, unresolvedNotes(subs, lineages)...)
	set, now := h.policies.Set(), h.now()
	for i := range subs {
		d.results = append(d.results, set.Evaluate(&subs[i], lineages[subs[i].Image], now)...)
	}
	return d, nil
}

// lineages resolves each distinct image once. An invalid reference gets a
// lineage that is only its error, which rules report as an error result.
func (h *Handler) lineages(ctx context.Context, budget time.Duration, subs []subject.Subject, creds Credentials) map[string]lineage.Lineage {
	out := make(map[string]lineage.Lineage, len(subs))
	var refs []imageref.Ref
	for _, s := range subs {
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
	for i, l := range resolveAll(ctx, h.resolver, budget, refs, creds) {
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

// changedSubjects keeps, of an UPDATE's subjects, those whose container is
// new or whose image changed: an update that changes no image is judged no
// more strictly than the object already was.
func changedSubjects(req *wireRequest, subs []subject.Subject) ([]subject.Subject, error) {
	old := req.OldObject
	if old == nil {
		return subs, nil
	}
	if old.Kind == "" {
		old.Kind = req.Kind.Kind
	}
	_, oldSubs, err := old.subjects(req.Namespace)
	if err != nil {
		return nil, fmt.Errorf("reading the old object: %w", err)
	}
	before := make(map[string]string, len(oldSubs))
	for _, s := range oldSubs {
		before[containerKey(s)] = s.Image
	}
	changed := subs[:0:0]
	for _, s := range subs {
		if img, ok := before[containerKey(s)]; !ok || img != s.Image {
			changed = append(changed, s)
		}
	}
	return changed, nil
}

func containerKey(s subject.Subject) string { return string(s.List) + "/" + s.Container }
