package admission

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func writePolicy(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuditAndWarnAllowWithWarnings(t *testing.T) {
	_, ts := newTestServer(t, Options{PolicyPaths: []string{filepath.Join("testdata", "policies", "audit-warn.yaml")}})
	rv, out := review(t, ts, readRequest(t, "pod-create-centos-denied"))
	if !rv.Response.Allowed {
		t.Fatalf("audit and warn policies denied: %s", out)
	}
	want := []string{
		`baseguard audit [audit-base-images/prefer-wolfi]: Prefer wolfi bases: container "test" (spec.containers[0].image) image centos:7: docker.io/library/centos:7 matches none of the allowed patterns [registry.example.com/base/wolfi*]`,
		`baseguard warn [warn-deprecated/no-centos]: CentOS is end of life: container "test" (spec.containers[0].image) image centos:7: docker.io/library/centos:7 matches denied pattern "*centos*"`,
	}
	if strings.Join(rv.Response.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(rv.Response.Warnings, "\n"), strings.Join(want, "\n"))
	}
	golden(t, filepath.Join("testdata", "responses", "audit-warn-centos.json"), out)

	rv, _ = review(t, ts, readRequest(t, "pod-create-approved-allowed"))
	if !rv.Response.Allowed || len(rv.Response.Warnings) != 1 || !strings.Contains(rv.Response.Warnings[0], "prefer-wolfi") {
		t.Errorf("alpine under the audit policy: allowed %v, warnings %q; want allowed with the prefer-wolfi warning", rv.Response.Allowed, rv.Response.Warnings)
	}
}

func TestWarningsAreSingleLines(t *testing.T) {
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: multi-line}
spec:
  action: warn
  rules:
    - name: no-debian
      message: "first line\nsecond line"
      deny: ["*debian*"]
`)
	_, ts := newTestServer(t, Options{PolicyPaths: []string{p}})
	rv, _ := review(t, ts, readRequest(t, "pod-create-debian-denied"))
	if len(rv.Response.Warnings) != 1 {
		t.Fatalf("warnings %q, want one", rv.Response.Warnings)
	}
	if strings.ContainsAny(rv.Response.Warnings[0], "\n\r\t") {
		t.Errorf("warning %q holds a control character: kube-apiserver would drop it", rv.Response.Warnings[0])
	}
}

// blockingResolver never answers before its context ends.
func blockingResolver(deadline *atomic.Value) Resolver {
	return ResolverFunc(func(ctx context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		if d, ok := ctx.Deadline(); ok && deadline != nil {
			deadline.Store(time.Until(d))
		}
		<-ctx.Done()
		return lineage.Lineage{Err: ctx.Err()}
	})
}

func TestResolveBudgetAndOnResolveError(t *testing.T) {
	policyFor := func(onErr string) string {
		return `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: approved}
spec:
  action: enforce
  onResolveError: ` + onErr + `
  rules:
    - name: approved-bases
      allow: ["registry.example.com/base/*"]
`
	}
	cases := []struct {
		onErr   string
		allowed bool
		says    string
	}{
		{"deny", false, "(onResolveError: deny)"},
		{"allow", true, "was not resolved"},
		{"warn", true, "(onResolveError: warn)"},
	}
	for _, tc := range cases {
		t.Run(tc.onErr, func(t *testing.T) {
			_, ts := newTestServer(t, Options{
				PolicyPaths:   []string{writePolicy(t, policyFor(tc.onErr))},
				Resolver:      blockingResolver(nil),
				ResolveBudget: 50 * time.Millisecond,
			})
			// debian:12 matches no allowed pattern as written; its base
			// might, had it been resolved in time.
			start := time.Now()
			rv, out := review(t, ts, readRequest(t, "pod-create-debian-denied"))
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("answered after %v: the budget is 50ms", took)
			}
			if rv.Response.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v: %s", rv.Response.Allowed, tc.allowed, out)
			}
			if !strings.Contains(string(out), tc.says) || !strings.Contains(string(out), ErrResolveTimeout.Error()) {
				t.Errorf("response does not say %q and why: %s", tc.says, out)
			}
		})
	}
}

func TestBudgetFollowsRequestTimeout(t *testing.T) {
	var seen atomic.Value
	_, ts := newTestServer(t, Options{Resolver: blockingResolver(&seen), ResolveBudget: 3 * time.Second})
	post(t, ts, readRequest(t, "pod-create-approved-allowed"), "?timeout=1s")
	got, _ := seen.Load().(time.Duration)
	if got <= 0 || got > 600*time.Millisecond {
		t.Errorf("resolver deadline %v away, want at most 60%% of the request's 1s timeout", got)
	}
}

func TestInvalidReferenceFailsClosed(t *testing.T) {
	var calls atomic.Int32
	r := ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		calls.Add(1)
		return lineage.Of(ref, lineage.SourceReference)
	})
	_, ts := newTestServer(t, Options{Resolver: r})
	rv, _ := review(t, ts, readRequest(t, "pod-invalid-image-denied"))
	if rv.Response.Allowed {
		t.Error("an invalid reference was admitted")
	}
	if calls.Load() != 0 {
		t.Errorf("resolver called %d times for an invalid reference", calls.Load())
	}
}

func TestResolverSeesCredentialsAndDistinctImages(t *testing.T) {
	var got []string
	var creds Credentials
	r := ResolverFunc(func(_ context.Context, ref imageref.Ref, c Credentials) lineage.Lineage {
		creds = c
		return lineage.Of(ref, lineage.SourceReference)
	})
	_, ts := newTestServer(t, Options{Resolver: r})
	body := strings.Replace(string(readRequest(t, "pod-create-approved-allowed")), `"serviceAccountName": "default"`, `"serviceAccountName": "builder", "imagePullSecrets": [{"name": "regcred"}]`, 1)
	review(t, ts, []byte(body))
	got = append(got, creds.Namespace, creds.ServiceAccount, strings.Join(creds.PullSecrets, ","))
	if strings.Join(got, " ") != "default builder regcred" {
		t.Errorf("credentials %q, want namespace default, service account builder, pull secret regcred", got)
	}
}

func TestResolverErrorKeepsImageRules(t *testing.T) {
	// A resolver failing without entries: the image as written still
	// meets the deny rules, and the failure is onResolveError's.
	r := ResolverFunc(func(context.Context, imageref.Ref, Credentials) lineage.Lineage {
		return lineage.Lineage{Err: errors.New("registry unreachable")}
	})
	_, ts := newTestServer(t, Options{Resolver: r})
	rv, out := review(t, ts, readRequest(t, "pod-create-centos-denied"))
	if rv.Response.Allowed || !strings.Contains(string(out), "block-deprecated-base-images") {
		t.Errorf("centos with an unreachable registry: want denied by block-deprecated-base-images: %s", out)
	}
}

func TestNamespaceSelector(t *testing.T) {
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: restricted}
spec:
  match:
    namespaceSelector: {matchLabels: {tier: restricted}}
  rules:
    - name: wolfi-only
      allow: ["registry.example.com/base/wolfi*"]
`)
	labels := map[string]map[string]string{"default": {"tier": "restricted"}}
	ns := NamespaceLabelerFunc(func(_ context.Context, name string) (map[string]string, error) {
		if l, ok := labels[name]; ok {
			return l, nil
		}
		return nil, errors.New("namespaces \"" + name + "\" is forbidden")
	})
	cases := []struct {
		name       string
		namespaces NamespaceLabeler
		allowed    bool
		warning    string
		denial     string
	}{
		{"labels known and selected", ns, false, "", "wolfi-only"},
		{"labels unknown, rules skipped: a warning", nil, true, "rule wolfi-only skipped: the rule selects namespaces by label and the labels of namespace", ""},
		{"labels not readable: fail closed", NamespaceLabelerFunc(func(context.Context, string) (map[string]string, error) {
			return nil, errors.New("forbidden")
		}), false, "", "could not be read: forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := newTestServer(t, Options{PolicyPaths: []string{p}, Namespaces: tc.namespaces, SkipNamespaceSelectors: tc.namespaces == nil})
			rv, out := review(t, ts, readRequest(t, "pod-create-approved-allowed"))
			if rv.Response.Allowed != tc.allowed {
				t.Errorf("allowed = %v, want %v: %s", rv.Response.Allowed, tc.allowed, out)
			}
			if tc.warning != "" && !strings.Contains(strings.Join(rv.Response.Warnings, "\n"), tc.warning) {
				t.Errorf("warnings %q do not mention %q", rv.Response.Warnings, tc.warning)
			}
			if tc.denial != "" && (rv.Response.Result == nil || !strings.Contains(rv.Response.Result.Message, tc.denial)) {
				t.Errorf("denial does not mention %q: %s", tc.denial, out)
			}
		})
	}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

func TestDryRunJudgedNotRecorded(t *testing.T) {
	reg := newRegistry()
	_, ts := newTestServer(t, Options{Registry: reg})
	rv, _ := review(t, ts, readRequest(t, "pod-dry-run-denied"))
	if rv.Response.Allowed {
		t.Error("a dry-run of a denied pod was admitted: dry runs must be judged")
	}
	if n := counterValue(t, reg, "baseguard_admission_reviews_total", nil); n != 0 {
		t.Errorf("dry run recorded: reviews_total = %v", n)
	}
	if n := counterValue(t, reg, "baseguard_admission_decisions_total", nil); n != 0 {
		t.Errorf("dry run recorded: decisions_total = %v", n)
	}
	review(t, ts, readRequest(t, "pod-create-centos-denied"))
	if n := counterValue(t, reg, "baseguard_admission_reviews_total", map[string]string{"kind": "Pod", "decision": "denied", "operation": "CREATE"}); n != 1 {
		t.Errorf("reviews_total{denied} = %v, want 1", n)
	}
	if n := counterValue(t, reg, "baseguard_admission_decisions_total", map[string]string{"policy": "enforce-base-images", "rule": "block-deprecated-base-images", "result": "fail"}); n != 1 {
		t.Errorf("decisions_total{block-deprecated-base-images, fail} = %v, want 1", n)
	}
}

// TestNoNamespaceLabelsRefusesSelectors: without namespace labels, and not
// told to skip the rules that need them, a server does not start with a
// policy that selects namespaces by label, and does not reload into one.
func TestNoNamespaceLabelsRefusesSelectors(t *testing.T) {
	selecting := `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: restricted}
spec:
  rules:
    - name: wolfi-only
      match: {namespaceSelector: {matchLabels: {tier: restricted}}}
      allow: ["registry.example.com/base/wolfi*"]
`
	_, err := NewServer(Options{PolicyPaths: []string{writePolicy(t, selecting)}})
	if !errors.Is(err, ErrNoNamespaceLabels) || !strings.Contains(err.Error(), `policy "restricted" selects namespaces by label`) {
		t.Errorf("NewServer: %v, want ErrNoNamespaceLabels naming the rule", err)
	}
	path := writePolicy(t, string(policy.BuiltinYAML()))
	reg := newRegistry()
	s := serve(t, Options{PolicyPaths: []string{path}, Registry: reg})
	if err := os.WriteFile(path, []byte(selecting), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for counterValue(t, reg, "baseguard_reloads_total", map[string]string{"what": "policy", "outcome": "error"}) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reload into a policy selecting namespaces was not refused within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, err := s.review(readRequest(t, "pod-create-centos-denied")); err != nil || resp.Allowed {
		t.Errorf("after the refused reload the built-in policy is not in force: %+v, %v", resp, err)
	}
}
