package admission

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/baseguard/baseguard/policy"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// blocks reports whether a result denies admission: a failure or an error
// (an invalid reference, an unresolvable lineage under onResolveError:
// deny) of an enforced rule. Errors fail closed.
func blocks(r *policy.Result) bool {
	return r.Action == policy.Enforce && (r.Status == policy.StatusFail || r.Status == policy.StatusError)
}

// warns reports whether a result is told to the requester as a warning:
// what audit and warn rules found, and rules that could not be checked.
func warns(r *policy.Result) bool {
	switch r.Status {
	case policy.StatusFail, policy.StatusError:
		return r.Action != policy.Enforce
	case policy.StatusWarn:
		return true
	case policy.StatusSkip:
		return r.Exception == "" // skipped because undecidable, not excepted
	}
	return false
}

// verdict is how a decision is reported.
type verdict string

const (
	allowed verdict = "allowed"
	warned  verdict = "warned"
	denied  verdict = "denied"
)

func (d *decision) verdict() verdict {
	v := allowed
	if len(d.notes) > 0 {
		v = warned
	}
	for i := range d.results {
		switch r := &d.results[i]; {
		case blocks(r):
			return denied
		case warns(r):
			v = warned
		}
	}
	return v
}

// response answers a review: denied with one message listing every
// blocking result, allowed otherwise; warnings in both cases.
func (d *decision) response(uid types.UID) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: uid, Allowed: true, Warnings: d.warnings()}
	if d.verdict() != denied {
		return resp
	}
	resp.Allowed = false
	resp.Result = &metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusForbidden,
		Reason:  metav1.StatusReasonForbidden,
		Message: d.denial(),
	}
	return resp
}

// denial is the message of a denied request: the resource, then a line per
// blocking result naming the rule, the container, its field, the image,
// why, and what to use instead.
func (d *decision) denial() string {
	var lines []string
	containers := map[string]bool{}
	for i := range d.results {
		r := &d.results[i]
		if !blocks(r) {
			continue
		}
		containers[r.Subject.Field] = true
		lines = append(lines, fmt.Sprintf("- [%s/%s] %s", r.Policy.Metadata.Name, r.Rule.Name, r.Message))
	}
	head := fmt.Sprintf("%s: enforced base-image rules fail for %d of %d container images judged:", d.res.ID(), len(containers), d.judged)
	return head + "\n" + strings.Join(lines, "\n")
}

// warnings are single lines: kube-apiserver drops a warning holding a
// control character.
func (d *decision) warnings() []string {
	var out []string
	for _, n := range d.notes {
		out = append(out, oneLine("baseguard: "+n))
	}
	for i := range d.results {
		r := &d.results[i]
		if warns(r) {
			out = append(out, oneLine(fmt.Sprintf("baseguard %s [%s/%s]: %s", r.Action, r.Policy.Metadata.Name, r.Rule.Name, r.Message)))
		}
	}
	return out
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
