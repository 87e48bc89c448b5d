package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/subject"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PathMutate is where the mutating webhook is served: it pins each image
// to the digest its tag resolved to, so that what runs is what was judged.
const PathMutate = "/mutate"

// maxPinned bounds the images one review pins: the patch is bounded like
// the answer.
const maxPinned = 1024

// mutator answers the mutating webhook: it resolves each image not yet
// pinned, as the validating webhook will, and rewrites it to
// repo:tag@sha256:<digest>. The validating webhook, called after every
// mutating one, then judges that digest, and the kubelet pulls it: a tag
// moved in between changes nothing. Images already pinned, images the
// registry could not resolve, and images an UPDATE leaves as they were are
// left alone. It never denies: judging is /validate's.
type mutator struct{ h *Handler }

// jsonPatchOp is one RFC 6902 operation.
type jsonPatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value"`
}

func (m *mutator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timeout := requestTimeout(r)
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(float64(timeout)*reviewShare))
	defer cancel()
	res := m.h.memory.reserve(r.Context())
	defer res.release()
	body, review, err := readReview(w, r, res)
	if body != nil {
		defer putBody(body)
	}
	if err != nil {
		m.h.refuse(w, r, err)
		return
	}
	req := review.Request
	resp := m.pin(ctx, req, m.h.resolveBudget(timeout), res, body.Len())
	writeJSON(w, &admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: reviewGVK.GroupVersion().String(), Kind: reviewGVK.Kind},
		Response: resp,
	})
}

// pin answers one review: allowed, with a JSON patch of the image fields
// it pins and a warning for each image it could not.
func (m *mutator) pin(ctx context.Context, req *wireRequest, budget time.Duration, r *reservation, body int) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	subs, creds, err := m.subjects(req, r, body)
	if err != nil {
		resp.Warnings = []string{oneLine("baseguard: images not pinned to digests: " + err.Error())}
		return resp
	}
	if len(subs) == 0 {
		return resp
	}
	digests, notes := m.resolve(ctx, subs, creds, budget)
	var ops []jsonPatchOp
	for _, s := range subs {
		d, ok := digests[s.Image]
		if !ok {
			continue
		}
		path, err := pointer(s.Field)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s not pinned: %v", s.Field, err))
			continue
		}
		// test first: the patch applies only to the image judged.
		ops = append(ops, jsonPatchOp{"test", path, s.Image}, jsonPatchOp{"replace", path, pinned(s.Image, d)})
	}
	for _, n := range notes {
		resp.Warnings = append(resp.Warnings, oneLine("baseguard: "+n))
	}
	if len(ops) == 0 {
		return resp
	}
	patch, err := json.Marshal(ops)
	if err != nil {
		return resp
	}
	pt := admissionv1.PatchTypeJSONPatch
	resp.Patch, resp.PatchType = patch, &pt
	m.h.log.Debug("pinned images", "uid", string(req.UID), "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "images", len(ops)/2)
	return resp
}

// subjects are the request's images that may be pinned: of a CREATE or an
// UPDATE (only those it adds or changes) of a kind baseguard judges, not
// pinned already, at most maxPinned. An object that cannot be read is
// left to /validate, which refuses it.
func (m *mutator) subjects(req *wireRequest, r *reservation, body int) ([]subject.Subject, Credentials, error) {
	if !judged(req) || len(req.Object) == 0 {
		return nil, Credentials{}, nil
	}
	update := req.Operation == admissionv1.Update && len(req.OldObject) > 0
	var values [2]int
	values[0] = countValues(req.Object)
	if update {
		values[1] = countValues(req.OldObject)
	}
	if err := r.grow(reviewWeight(body, values) - int64(body)); err != nil {
		return nil, Credentials{}, err
	}
	opt := readOptions(req, m.h.policies.Set())
	s := getSlab(min(max(values[0], values[1]), MaxObjectValues))
	defer putSlab(s)
	obj, err := readObject("object", req.Object, values[0], s, req.Kind, opt)
	if err != nil || obj.res == nil {
		return nil, Credentials{}, nil
	}
	before := map[subjectKey]bool{}
	if update {
		if old, err := readObject("oldObject", req.OldObject, values[1], s, req.Kind, opt); err == nil && old.res != nil {
			for i := range old.subs {
				before[keyOf(&old.subs[i])] = true
			}
		}
	}
	var out []subject.Subject
	for i := range obj.subs {
		sub := obj.subs[i]
		ref, err := imageref.Parse(sub.Image)
		if err != nil || ref.Digest != "" || before[keyOf(&sub)] {
			continue
		}
		if len(out) == maxPinned {
			break
		}
		out = append(out, sub)
	}
	return out, obj.creds, nil
}

// resolve resolves each distinct image within the budget and returns the
// digest each names now; notes say which could not be.
func (m *mutator) resolve(ctx context.Context, subs []subject.Subject, creds Credentials, budget time.Duration) (map[string]string, []string) {
	var refs []imageref.Ref
	seen := map[string]bool{}
	for _, s := range subs {
		if !seen[s.Image] {
			seen[s.Image] = true
			ref, _ := imageref.Parse(s.Image)
			refs = append(refs, ref)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	digests := map[string]string{}
	var notes []string
	for i, l := range resolveAll(ctx, m.h.resolver, budget, refs, creds) {
		switch {
		case l.Err != nil:
			notes = append(notes, fmt.Sprintf("%s not pinned to a digest: %v", refs[i].Written, l.Err))
		case l.Digest != "":
			digests[refs[i].Written] = l.Digest
		}
	}
	return digests, notes
}

// pinned is the image as written, its tag made explicit, at digest d.
func pinned(image, d string) string {
	ref, err := imageref.Parse(image)
	if err == nil && ref.TagImplied {
		image += ":" + ref.Tag
	}
	return image + "@" + d
}

// pointer turns a subject's field path (spec.template.spec.containers[0].image)
// into a JSON pointer (/spec/template/spec/containers/0/image).
func pointer(field string) (string, error) {
	var b strings.Builder
	for _, part := range strings.Split(field, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key == "" {
			return "", fmt.Errorf("cannot patch field %q", field)
		}
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key))
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || n < 0 {
				return "", fmt.Errorf("cannot patch field %q", field)
			}
			b.WriteString("/" + idx)
			rest = strings.TrimPrefix(after, "[")
			if after != "" && !strings.HasPrefix(after, "[") {
				return "", fmt.Errorf("cannot patch field %q", field)
			}
		}
	}
	return b.String(), nil
}
