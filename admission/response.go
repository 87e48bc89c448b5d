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

// What an answer holds, whatever the object: kube-apiserver passes the
// denial to the client whole, and keeps at most 4,096 runes of warnings.
const (
	// shownResults is how many denying results a denial names, one line
	// each; the rest are counted (the log line names more).
	shownResults = 10
	// shownWarnings is how many warnings an answer holds, the last of them
	// counting the rest.
	shownWarnings = 10
	// maxLineRunes bounds one line of a denial or one warning: a rule's
	// message, an image, a field path and what to use instead, with room
	// to spare.
	maxLineRunes = 2048
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
	switch {
	case d.blocking.n > 0:
		return denied
	case d.warned.n > 0 || d.preexisting.n > 0 || len(d.notes) > 0:
		return warned
	}
	return allowed
}

// response answers a review: denied with one message naming the first
// blocking results, allowed otherwise; warnings in both cases.
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
// why, and what to use instead; after shownResults lines, a count of the
// rest.
func (d *decision) denial() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: enforced base-image rules fail for %d of %d container images judged:", oneLine(d.res.ID()), len(d.blocking.fields), d.judged)
	for i := range d.blocking.results[:min(shownResults, len(d.blocking.results))] {
		r := &d.blocking.results[i]
		b.WriteString("\n" + oneLine(fmt.Sprintf("- [%s/%s] %s", r.Policy.Metadata.Name, r.Rule.Name, r.Message)))
	}
	if rest := d.blocking.n - shownResults; rest > 0 {
		fmt.Fprintf(&b, "\n- and %d more failing results (the webhook's log names the first %d)", rest, keptResults)
	}
	return b.String()
}

// warnings are single lines, at most shownWarnings of them: notes first,
// then the pre-existing failures of an UPDATE in one line, then what audit
// and warn rules found.
func (d *decision) warnings() []string {
	var out []string
	for _, n := range d.notes {
		out = append(out, "baseguard: "+n)
	}
	if p := &d.preexisting; p.n > 0 {
		r := &p.results[0]
		out = append(out, fmt.Sprintf("baseguard: %d failing results were in the object before this update and do not block it, among them [%s/%s] %s", p.n, r.Policy.Metadata.Name, r.Rule.Name, r.Message))
	}
	for i := range d.warned.results {
		r := &d.warned.results[i]
		out = append(out, fmt.Sprintf("baseguard %s [%s/%s]: %s", r.Action, r.Policy.Metadata.Name, r.Rule.Name, r.Message))
	}
	total := len(d.notes) + min(d.preexisting.n, 1) + d.warned.n
	if total > shownWarnings {
		out = append(out[:shownWarnings-1], fmt.Sprintf("baseguard: and %d more warnings", total-(shownWarnings-1)))
	}
	for i := range out {
		out[i] = oneLine(out[i])
	}
	return out
}

// oneLine makes s safe to print on one line: control and format characters
// (newlines, escape sequences, bidirectional overrides; kube-apiserver drops
// a warning holding one) are escaped as \n, \x1b or \u202e, and s is cut
// at maxLineRunes.
func oneLine(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxLineRunes {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case isInvisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isInvisible reports characters that change how text reads without being
// seen: C1 controls, format characters (bidirectional overrides, zero-width
// joiners), line and paragraph separators.
func isInvisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}
