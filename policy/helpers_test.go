package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// mustSet loads and compiles policy documents.
func mustSet(t *testing.T, docs ...string) *policy.Set {
	t.Helper()
	set, err := loadDocs(docs...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func loadDocs(docs ...string) (*policy.Set, error) {
	ps, err := policy.Load(policy.File{Name: "p.yaml", Data: []byte(strings.Join(docs, "\n---\n"))})
	if err != nil {
		return nil, err
	}
	return policy.NewSet(ps)
}

// outcome is what happened to one rule for a resource: its worst status
// over the resource's images ("" when the rule did not apply), and the
// results' reasons.
type outcome struct {
	status  policy.Status
	action  policy.Action
	reasons []string
}

var severity = map[policy.Status]int{policy.StatusPass: 1, policy.StatusSkip: 2, policy.StatusWarn: 3, policy.StatusFail: 4, policy.StatusError: 5}

// judge evaluates a resource's images offline and returns each rule's
// outcome.
func judge(set *policy.Set, res *subject.Resource, images ...string) map[string]outcome {
	out := map[string]outcome{}
	for i, img := range images {
		sub := &subject.Subject{Resource: res, Container: "c" + string(rune('0'+i)), List: subject.Containers, Field: "spec.containers[0].image", Image: img, Source: lineage.SourceReference}
		l := lineage.Lineage{}
		if ref, err := imageref.Parse(img); err != nil {
			l.Err = err
		} else {
			l = lineage.Of(ref, sub.Source)
		}
		for _, r := range set.Evaluate(sub, l, now) {
			o := out[r.Rule.Name]
			if severity[r.Status] > severity[o.status] {
				o.status, o.action = r.Status, r.Action
			}
			o.reasons = append(o.reasons, r.Reason)
			out[r.Rule.Name] = o
		}
	}
	return out
}

// statuses keeps only the statuses of judge's outcomes.
func statuses(m map[string]outcome) map[string]policy.Status {
	out := map[string]policy.Status{}
	for k, o := range m {
		out[k] = o.status
	}
	return out
}

func native(spec string) string {
	return "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n" + spec
}

var errForbidden = errors.New("namespaces is forbidden")
