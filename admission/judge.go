package admission

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
)

// What a decision keeps of its results: enough to write a bounded answer
// and log line; the rest is counted.
const (
	// keptResults bounds the denying (or warning, or pre-existing) results
	// kept in full: the log line names this many, the answer fewer.
	keptResults = 100
	// checkEvery is how many images are judged between two looks at the
	// review's deadline.
	checkEvery = 64
)

// subjectKey is an image in its place: the container list, the container
// (or volume) and the image. The same key in an UPDATE's old and new object
// is the same image in the same place.
type subjectKey struct {
	list      subject.List
	container string
	image     string
}

func keyOf(s *subject.Subject) subjectKey { return subjectKey{s.List, s.Container, s.Image} }

// failures are the (rule, place, image) triples an object fails.
type failures map[subjectKey][]*policy.Rule

func (f failures) add(k subjectKey, r *policy.Rule) {
	if !slices.Contains(f[k], r) {
		f[k] = append(f[k], r)
	}
}

func (f failures) has(k subjectKey, r *policy.Rule) bool { return slices.Contains(f[k], r) }

// failing reports whether a result is a failure, as an UPDATE compares
// them: it denies or warns. A rule that could not be decided (skipped) is
// no failure: it is told at every review.
func failing(r *policy.Result) bool {
	return blocks(r) || (warns(r) && r.Status != policy.StatusSkip)
}

// oldFailures judges the old object of an UPDATE and returns its failures.
func oldFailures(ctx context.Context, set *policy.Set, old *object, lineages map[string]lineage.Lineage, now time.Time) (failures, error) {
	f := failures{}
	for i := range old.subs {
		if err := inTime(ctx, i); err != nil {
			return nil, err
		}
		s := &old.subs[i]
		for _, r := range set.Evaluate(s, lineages[s.Image], now) {
			if failing(&r) {
				f.add(keyOf(s), r.Rule)
			}
		}
	}
	return f, nil
}

// inTime reports errNotInTime once ctx has ended, looking every checkEvery
// images.
func inTime(ctx context.Context, i int) error {
	if i%checkEvery == 0 && ctx.Err() != nil {
		return fmt.Errorf("%w (%d images judged)", errNotInTime, i)
	}
	return nil
}

// resultKey counts results for the decisions metric.
type resultKey struct {
	policy, rule string
	status       policy.Status
}

// kept is a bounded list of results: the first keptResults, and a count of
// all.
type kept struct {
	results []policy.Result
	n       int
	fields  map[string]bool // the image fields of all, counted
}

func (k *kept) add(r policy.Result) {
	k.n++
	if len(k.results) < keptResults {
		k.results = append(k.results, r)
	}
	if k.fields == nil {
		k.fields = map[string]bool{}
	}
	k.fields[r.Subject.Field] = true
}

// decision is what a review concluded.
type decision struct {
	// res is the resource judged; nil when the request is not one baseguard
	// judges (a DELETE, another subresource, a kind without a pod spec).
	res *subject.Resource
	// judged counts the images judged.
	judged int
	// blocking deny; warned are told as warnings; preexisting are the
	// failures an UPDATE's old object had already, which neither deny nor
	// warn but are told once.
	blocking, warned, preexisting kept
	// counts are every result, for the decisions metric.
	counts map[resultKey]int
	// notes are facts the requester should know that are no rule's result.
	notes []string
}

func newDecision(res *subject.Resource, judged int) *decision {
	return &decision{res: res, judged: judged, counts: map[resultKey]int{}}
}

// judge judges the object's images, keeping what denies or warns; before
// holds the old object's failures on UPDATE (nil on CREATE).
func (d *decision) judge(ctx context.Context, set *policy.Set, obj *object, before failures, lineages map[string]lineage.Lineage, now time.Time) error {
	for i := range obj.subs {
		if err := inTime(ctx, i); err != nil {
			return err
		}
		s := &obj.subs[i]
		for _, r := range set.Evaluate(s, lineages[s.Image], now) {
			d.counts[resultKey{r.Policy.Metadata.Name, r.Rule.Name, r.Status}]++
			switch {
			case before != nil && failing(&r) && before.has(keyOf(s), r.Rule):
				d.preexisting.add(r)
			case blocks(&r):
				d.blocking.add(r)
			case warns(&r):
				d.warned.add(r)
			}
		}
	}
	return nil
}
