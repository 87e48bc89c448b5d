package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"golang.org/x/sync/semaphore"
)

func manyContainers(n int, image func(i int) string) spec {
	s := spec{kind: "Pod"}
	for i := range n {
		s.main = append(s.main, fmt.Sprintf("c%d=%s", i, image(i)))
	}
	return s
}

// TestAnswersAreBounded: however many containers fail, the denial names
// the first few and counts the rest, the warnings are at most
// shownWarnings, and the log line lists at most keptResults.
func TestAnswersAreBounded(t *testing.T) {
	var logs bytes.Buffer
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: deny-centos}
spec:
  rules:
    - name: no-centos
      deny: ["*centos*"]
---
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: prefer-wolfi}
spec:
  action: warn
  rules:
    - name: prefer-wolfi
      allow: ["*wolfi*"]
`)
	_, ts := newTestServer(t, Options{PolicyPaths: []string{p}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	for _, n := range []int{1, 11, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			logs.Reset()
			rv, out := review(t, ts, reviewOf(nil, manyContainers(n, func(i int) string { return fmt.Sprintf("centos:%d", i) })))
			resp := rv.Response
			if resp.Allowed || resp.Result == nil {
				t.Fatalf("want denied: %.2000s", out)
			}
			lines := strings.Split(resp.Result.Message, "\n")
			wantLines := 1 + min(n, shownResults)
			if n > shownResults {
				wantLines++
				if last := lines[len(lines)-1]; !strings.Contains(last, fmt.Sprintf("and %d more failing results", n-shownResults)) {
					t.Errorf("the last line does not count the rest: %q", last)
				}
			}
			if len(lines) != wantLines {
				t.Errorf("denial of %d lines, want %d", len(lines), wantLines)
			}
			if !strings.Contains(lines[0], fmt.Sprintf("fail for %d of %d container images", n, n)) {
				t.Errorf("the head does not count every failing container: %q", lines[0])
			}
			if len(resp.Warnings) != min(n, shownWarnings) {
				t.Errorf("%d warnings, want %d", len(resp.Warnings), min(n, shownWarnings))
			}
			if n > shownWarnings && resp.Warnings[shownWarnings-1] != fmt.Sprintf("baseguard: and %d more warnings", n-(shownWarnings-1)) {
				t.Errorf("the last warning does not count the rest: %q", resp.Warnings[shownWarnings-1])
			}
			var line struct {
				Failing int
				Results string
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log line: %v\n%.500s", err, logs.String())
			}
			listed := strings.Count(line.Results, "; ") + 1
			if line.Failing != 2*n || listed != min(2*n, 2*keptResults+1) {
				t.Errorf("log line counts %d failing and lists %d, want %d and %d", line.Failing, listed, 2*n, min(2*n, 2*keptResults+1))
			}
		})
	}
}

// TestNamesAndImagesAreEscaped: control and invisible characters in what
// an object names print as escapes, so no name or image can forge a line
// of a denial, and no warning holds one (kube-apiserver drops those).
func TestNamesAndImagesAreEscaped(t *testing.T) {
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: deny-centos}
spec:
  rules:
    - name: no-centos
      deny: ["*centos*"]
---
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: warn-centos}
spec:
  action: warn
  rules:
    - name: no-centos
      deny: ["*centos*"]
`)
	_, ts := newTestServer(t, Options{PolicyPaths: []string{p}})
	for _, tc := range []struct{ name, image, want string }{
		{"newline", "centos:7\n- [fake/rule] all good", `centos:7\n- [fake/rule] all good`},
		{"escape sequence", "centos:7\x1b[2K", `centos:7\x1b[2K`},
		{"bidi override", "centos:7\u202e", `centos:7\u202e`},
		{"line separator", "centos:7\u2028", `centos:7\u2028`},
		{"C1 control", "centos:7\u0085", `centos:7\u0085`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec{kind: "Pod", main: []string{"app\t" + tc.name + "=" + tc.image}}
			rv, out := review(t, ts, reviewOf(nil, s))
			resp := rv.Response
			if resp.Allowed || resp.Result == nil {
				t.Fatalf("want denied: %s", out)
			}
			lines := strings.Split(resp.Result.Message, "\n")
			for _, l := range lines {
				if i := strings.IndexFunc(l, func(r rune) bool { return unicode.IsControl(r) || isInvisible(r) }); i >= 0 {
					t.Errorf("denial line holds %q: %q", l[i:], l)
				}
			}
			// An image that fails is named wherever it is, escaped: it
			// fails an invalid-reference check or the centos rule.
			if len(lines) != 2 || !strings.Contains(lines[1], `"app\t`+tc.name+`"`) {
				t.Errorf("denial %q: want one line naming the container escaped", resp.Result.Message)
			}
			if !strings.Contains(resp.Result.Message, tc.want) {
				t.Errorf("denial does not name the image escaped, %s: %s", tc.want, resp.Result.Message)
			}
			if len(resp.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", resp.Warnings)
			}
			if strings.IndexFunc(resp.Warnings[0], func(r rune) bool { return unicode.IsControl(r) || isInvisible(r) }) >= 0 {
				t.Errorf("warning holds a control or invisible character: %q", resp.Warnings[0])
			}
		})
	}
}

// TestForgedKindsDoNotGrowMetrics: the kinds and operations requests name
// become metric labels only when baseguard knows them.
func TestForgedKindsDoNotGrowMetrics(t *testing.T) {
	reg := newRegistry()
	_, ts := newTestServer(t, Options{Registry: reg})
	body := string(readRequest(t, "configmap-create-allowed"))
	for i := range 50 {
		forged := strings.Replace(body, `"kind": "ConfigMap"`, fmt.Sprintf(`"kind": "Forged%d"`, i), 1)
		forged = strings.Replace(forged, `"operation": "CREATE"`, fmt.Sprintf(`"operation": "OP%d"`, i), 1)
		review(t, ts, []byte(forged))
	}
	review(t, ts, readRequest(t, "pod-create-centos-denied"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "baseguard_admission_reviews_total" {
			continue
		}
		var series []string
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetName()+"="+lp.GetValue())
			}
			series = append(series, strings.Join(labels, ","))
		}
		want := []string{"decision=allowed,kind=other,operation=other", "decision=denied,kind=Pod,operation=CREATE"}
		if strings.Join(series, " ") != strings.Join(want, " ") {
			t.Errorf("reviews_total series %q, want %q", series, want)
		}
	}
}

// TestObjectsBeyondTheLimitsAreDenied: an object too large to judge, or
// with a key twice, is denied with the reason, never judged in part.
func TestObjectsBeyondTheLimitsAreDenied(t *testing.T) {
	_, ts := newTestServer(t, Options{})
	manyValues := spec{kind: "Pod", main: []string{"app=" + alpine}, annotations: map[string]string{}}
	for i := range MaxObjectValues / 2 {
		manyValues.annotations[fmt.Sprint(i)] = ""
	}
	duplicate := strings.Replace(string(reviewOf(nil, spec{kind: "Pod", main: []string{"app=" + alpine}})),
		`"image":"`+alpine+`"`, `"image":"`+alpine+`","image":"centos:7"`, 1)
	for _, tc := range []struct {
		name string
		body []byte
		says string
	}{
		{"too many values", reviewOf(nil, manyValues), fmt.Sprintf("holds more than %d keys and values: too large to judge", MaxObjectValues)},
		{"too many images", reviewOf(nil, manyContainers(MaxObjectImages+1, func(int) string { return alpine })), fmt.Sprintf("holds %d images, more than %d: too large to judge", MaxObjectImages+1, MaxObjectImages)},
		{"a key twice", []byte(duplicate), `duplicate key "image"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, out := review(t, ts, tc.body)
			if rv.Response.Allowed || rv.Response.Result == nil || !strings.Contains(rv.Response.Result.Message, tc.says) {
				t.Errorf("want denied saying %q: %.1000s", tc.says, out)
			}
		})
	}
}

// TestOversizedObjectsAreDeniedNotRefused: an UPDATE whose objects hold
// more values than are judged is denied as too large to judge, whatever
// the memory budget: it is never read into a tree, so its values do not
// weigh on the budget (counted, they would never fit, and the request
// would be refused 429 with nothing said of the object).
func TestOversizedObjectsAreDeniedNotRefused(t *testing.T) {
	values := spec{kind: "Pod", main: []string{"app=" + alpine}, annotations: map[string]string{}}
	for i := range MaxObjectValues / 2 {
		values.annotations[fmt.Sprint(i)] = ""
	}
	body := reviewOf(&values, values.with(func(s *spec) { s.labels = map[string]string{"a": "b"} }))
	budget := int64(48 << 20)
	// Counted, its values would weigh at least as much as the most an
	// object read may hold, twice.
	counted := reviewWeight(len(body), [2]int{MaxObjectValues, MaxObjectValues})
	if float64(counted) < float64(budget)*largeReviewsShare {
		t.Fatalf("the review would weigh %d MiB counted in full: it fits the budget and shows nothing", counted>>20)
	}
	_, ts := newTestServer(t, Options{MemoryBudget: budget})
	rv, out := review(t, ts, body)
	if rv.Response.Allowed || rv.Response.Result == nil || !strings.Contains(rv.Response.Result.Message, "too large to judge") {
		t.Errorf("want denied as too large to judge: %.1000s", out)
	}
}

// holdingResolver blocks until released, holding its review's share of the
// memory budget.
type holdingResolver struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	held    atomic.Int32
}

func (h *holdingResolver) inFlight() int { return int(h.held.Load()) }

func (h *holdingResolver) Resolve(ctx context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
	h.held.Add(1)
	defer h.held.Add(-1)
	h.once.Do(func() { close(h.started) })
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	return lineage.Of(ref, lineage.SourceReference)
}

// TestMemoryBudget: a review that finds no room in the budget is answered
// 429 with Retry-After within the budget's wait, not queued; one that can
// never fit is answered at once; room given back serves the next.
func TestMemoryBudget(t *testing.T) {
	hold := &holdingResolver{started: make(chan struct{}), release: make(chan struct{})}
	body := readRequest(t, "pod-create-approved-allowed")
	one := reviewWeight(len(body)+512, [2]int{countValues(body), 0}) // about the review's weight
	_, ts := newTestServer(t, Options{Resolver: hold, MemoryBudget: 3 * one / 2})
	first := make(chan int, 1)
	go func() {
		code, _ := post(t, ts, body, "?timeout=10s")
		first <- code
	}()
	<-hold.started
	start := time.Now()
	code, msg := post(t, ts, body, "?timeout=10s")
	if code != http.StatusTooManyRequests || !strings.Contains(string(msg), "memory budget") {
		t.Errorf("a review while the budget is held: %d %s, want 429", code, msg)
	}
	if took := time.Since(start); took > 20*budgetWait {
		t.Errorf("refused after %v: it waited past the budget's wait", took)
	}
	large := reviewOf(nil, manyContainers(8000, func(int) string { return alpine }))
	if code, msg := post(t, ts, large, "?timeout=10s"); code != http.StatusTooManyRequests || !strings.Contains(string(msg), "never fits") {
		t.Errorf("a review larger than the budget: %d %s, want 429 saying it never fits", code, msg)
	}
	close(hold.release)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the review holding the budget: %d", code)
	}
	if code, msg := post(t, ts, body, "?timeout=10s"); code != http.StatusOK {
		t.Errorf("after the budget was given back: %d %s", code, msg)
	}
}

// TestLargeReviewsLeaveACPU: large reviews are judged at most as many at
// once as the budget has lanes; another large one waits for a lane and is
// refused when none frees in time, while small reviews never wait for one.
func TestLargeReviewsLeaveACPU(t *testing.T) {
	b := newMemoryBudget(160 << 20)
	b.lanes = semaphore.NewWeighted(1)
	b.wait = 50 * time.Millisecond
	ctx := context.Background()
	first, second, small := b.reserve(ctx), b.reserve(ctx), b.reserve(ctx)
	if err := first.grow(10 << 20); err != nil {
		t.Fatalf("the first large review: %v", err)
	}
	if err := second.grow(10 << 20); !errors.Is(err, errBusy) || !strings.Contains(err.Error(), "other large reviews") {
		t.Errorf("a second large review while the lane is held: %v, want refused", err)
	}
	if err := small.grow(100 << 10); err != nil {
		t.Errorf("a small review while the lane is held: %v", err)
	}
	first.release()
	if err := second.grow(10 << 20); err != nil {
		t.Errorf("a large review once the lane is free: %v", err)
	}
	second.release()
	small.release()
	if !b.lanes.TryAcquire(1) {
		t.Errorf("the lane was not given back")
	}
}
