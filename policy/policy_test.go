package policy_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func loadSet(t *testing.T, files ...string) *policy.Set {
	t.Helper()
	var fs []policy.File
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("..", "examples", "policies", f))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, policy.File{Name: f, Data: data})
	}
	ps, err := policy.Load(fs...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// check evaluates manifests offline and returns "container/rule" -> status
// for every result that is not a pass.
func check(t *testing.T, set *policy.Set, manifests string) map[string]policy.Status {
	t.Helper()
	got := map[string]policy.Status{}
	err := subject.ReadManifests("test.yaml", strings.NewReader(manifests), subject.Options{DefaultNamespace: "default"}, func(_ *subject.Resource, subs []subject.Subject) error {
		for i := range subs {
			s := &subs[i]
			l := lineage.Lineage{}
			if ref, err := imageref.Parse(s.Image); err != nil {
				l.Err = err
			} else {
				l = lineage.Of(ref, s.Source)
			}
			for _, r := range set.Evaluate(s, l, now) {
				if r.Status != policy.StatusPass {
					got[s.Resource.Kind+"/"+s.Container+"/"+r.Rule.Name] = r.Status
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func pod(labels string, containers ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n")
	if labels != "" {
		b.WriteString("  labels: {" + labels + "}\n")
	}
	b.WriteString("spec:\n  containers:\n")
	for i, c := range containers {
		b.WriteString("    - name: c" + string(rune('0'+i)) + "\n      image: " + c + "\n")
	}
	return b.String()
}

const (
	approved   = "approved-base-images"
	deprecated = "block-deprecated-base-images"
	minimal    = "require-minimal-base-images"
	version    = "validate-base-image-version"
	fail       = policy.StatusFail
)

// TestSeedPolicy checks the seed document's own claims and the intent
// semantics of each seed rule, with the seed policy loaded as it is and
// with the built-in policy.
func TestSeedPolicy(t *testing.T) {
	sets := map[string]*policy.Set{"seed": loadSet(t, "seed-policy.yaml")}
	builtin, err := policy.NewSet(policy.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	sets["builtin"] = builtin
	tests := []struct {
		name     string
		manifest string
		want     map[string]policy.Status
	}{
		{"debian:12 fails (seed claim)", pod("", "debian:12"), map[string]policy.Status{"Pod/c0/" + approved: fail}},
		{"approved alpine passes (seed claim)", pod("", "registry.example.com/base/alpine:3.19"), map[string]policy.Status{}},
		{"centos:7 fails (seed claim)", pod("", "centos:7"), map[string]policy.Status{"Pod/c0/" + approved: fail, "Pod/c0/" + deprecated: fail}},
		{"deny matches the tag", pod("", "registry.example.com/base/ubuntu:18.04"), map[string]policy.Status{"Pod/c0/" + deprecated: fail, "Pod/c0/" + version: fail}},
		{"deny sees Docker Hub long form", pod("", "docker.io/library/alpine:3.12"), map[string]policy.Status{"Pod/c0/" + approved: fail, "Pod/c0/" + deprecated: fail}},
		{"version rule applies to ubuntu only", pod("", "registry.example.com/base/ubuntu:22.04", "registry.example.com/base/alpine:3.19"), map[string]policy.Status{}},
		{"version rule applies to Pods", pod("", "registry.example.com/base/ubuntu:20.04"), map[string]policy.Status{"Pod/c0/" + version: fail}},
		{"high security needs minimal", pod("security.enforce: high", "registry.example.com/base/alpine:3.19", "registry.example.com/base/wolfi:1"), map[string]policy.Status{"Pod/c0/" + minimal: fail}},
		{"other labels do not select the minimal rule", pod("security.enforce: low", "registry.example.com/base/alpine:3.19"), map[string]policy.Status{}},
		{"lookalike host is not approved", pod("", "registry.example.com.evil.io/base/alpine:3.19"), map[string]policy.Status{"Pod/c0/" + approved: fail}},
		{"digest reference of an approved base", pod("", "registry.example.com/base/alpine@sha256:"+strings.Repeat("ab", 32)), map[string]policy.Status{}},
		{"invalid reference is an error", pod("", "Registry.Example.com/BASE/Alpine"), map[string]policy.Status{"Pod/c0/" + approved: policy.StatusError, "Pod/c0/" + deprecated: policy.StatusError, "Pod/c0/" + version: policy.StatusError}},
	}
	for name, set := range sets {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				if diff := cmp.Diff(tt.want, check(t, set, tt.manifest)); diff != "" {
					t.Errorf("non-pass results (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestEveryKindAndList puts a centos image in each container list of each
// pod-bearing kind: none may slip through.
func TestEveryKindAndList(t *testing.T) {
	set := loadSet(t, "seed-policy.yaml")
	specs := map[string]string{
		"Pod":                   "spec:\n%s",
		"PodTemplate":           "template:\n  spec:\n%s",
		"Deployment":            "spec:\n  template:\n    spec:\n%s",
		"ReplicaSet":            "spec:\n  template:\n    spec:\n%s",
		"StatefulSet":           "spec:\n  template:\n    spec:\n%s",
		"DaemonSet":             "spec:\n  template:\n    spec:\n%s",
		"Job":                   "spec:\n  template:\n    spec:\n%s",
		"ReplicationController": "spec:\n  template:\n    spec:\n%s",
		"CronJob":               "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n%s",
	}
	for kind, layout := range specs {
		for _, list := range subject.Lists {
			t.Run(kind+"/"+string(list), func(t *testing.T) {
				indent := strings.Repeat(" ", strings.Count(layout, "\n")*2)
				body := indent + string(list) + ":\n" + indent + "  - name: bad\n" + indent + "    image: centos:7\n"
				doc := "apiVersion: v1\nkind: " + kind + "\nmetadata:\n  name: x\n" + strings.Replace(layout, "%s", body, 1)
				got := check(t, set, doc)
				if got[kind+"/bad/"+deprecated] != fail {
					t.Errorf("centos:7 in %s.%s was not denied; results: %v\n%s", kind, list, got, doc)
				}
			})
		}
	}
}

func TestSeedNotes(t *testing.T) {
	set := loadSet(t, "seed-policy.yaml")
	var notes []string
	for _, n := range set.Policies()[0].Notes {
		notes = append(notes, n.Text)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"metadata.namespace \"kyverno\" is ignored", "(template)?", "Contains is not a Kyverno operator", "holds the image name without registry or tag", "which Pods lack", "every container list"} {
		if !strings.Contains(all, want) {
			t.Errorf("lint notes do not mention %q:\n%s", want, all)
		}
	}
}

// TestBuiltinIsSeedIntent: the built-in policy says what the converted
// seed policy says.
func TestBuiltinIsSeedIntent(t *testing.T) {
	seed := loadSet(t, "seed-policy.yaml").Policies()[0]
	builtin := policy.Builtin()[0]
	type rule struct {
		Name, Message     string
		Allow, Deny, When []string
		Selector          map[string]string
	}
	summarize := func(p *policy.Policy) []rule {
		var out []rule
		for _, r := range p.Spec.Rules {
			rr := rule{Name: r.Name, Message: r.Message}
			for _, x := range r.Allow {
				rr.Allow = append(rr.Allow, x.String())
			}
			for _, x := range r.Deny {
				rr.Deny = append(rr.Deny, x.String())
			}
			for _, x := range r.When {
				rr.When = append(rr.When, x.String())
			}
			if r.Match != nil && r.Match.Selector != nil {
				rr.Selector = r.Match.Selector.MatchLabels
			}
			out = append(out, rr)
		}
		return out
	}
	if diff := cmp.Diff(summarize(seed), summarize(builtin)); diff != "" {
		t.Errorf("built-in policy differs from the seed's intent (-seed +builtin):\n%s", diff)
	}
	if seed.Spec.Action != policy.Enforce || builtin.Spec.Action != policy.Enforce {
		t.Errorf("actions: seed %s, builtin %s; want enforce", seed.Spec.Action, builtin.Spec.Action)
	}
}

func TestNativePolicy(t *testing.T) {
	set := loadSet(t, "baseguard-policy.yaml")
	manifest := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: billing\nspec:\n  containers:\n    - name: app\n      image: centos:7\n"
	results := func(at time.Time) map[string]policy.Status {
		got := map[string]policy.Status{}
		subject.ReadManifests("t.yaml", strings.NewReader(manifest), subject.Options{}, func(_ *subject.Resource, subs []subject.Subject) error {
			s := &subs[0]
			s.Resource.NamespaceLabels = map[string]string{}
			ref, _ := imageref.Parse(s.Image)
			for _, r := range set.Evaluate(s, lineage.Of(ref, s.Source), at) {
				got[r.Rule.Name] = r.Status
				if r.Status == policy.StatusFail && r.Exception != "" && !strings.Contains(r.Message, "expired") {
					t.Errorf("expired exception not mentioned: %s", r.Message)
				}
			}
			return nil
		})
		return got
	}
	before := results(time.Date(2027, 1, 31, 23, 0, 0, 0, time.UTC))
	if before[approved] != policy.StatusSkip || before[deprecated] != policy.StatusSkip {
		t.Errorf("before expiry: %v, want approved and deprecated skipped by the exception", before)
	}
	after := results(time.Date(2027, 2, 1, 0, 0, 1, 0, time.UTC))
	if after[approved] != fail || after[deprecated] != fail {
		t.Errorf("after expiry: %v, want approved and deprecated failing", after)
	}
}

func TestLoadErrors(t *testing.T) {
	base := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata:\n  name: p\nspec:\n  rules:\n"
	tests := []struct {
		name, doc, want string
	}{
		{"unknown field", base + "    - name: a\n      alow: [\"x*\"]\n", "p.yaml:8: unknown field \"alow\""},
		{"bad pattern", base + "    - name: a\n      allow: [\"Bad Pattern\"]\n", "p.yaml:8:"},
		{"bad date", base + "    - name: a\n      deny: [\"*centos*\"]\n  exceptions:\n    - name: e\n      reason: r\n      expires: 31/01/2027\n", "p.yaml:12: bad date"},
		{"duplicate rule", base + "    - name: a\n      deny: [\"x*\"]\n    - name: a\n      deny: [\"y*\"]\n", "p.yaml:9: policy \"p\": duplicate rule name \"a\""},
		{"empty rule", base + "    - name: a\n", "checks nothing"},
		{"bad action", base + "    - name: a\n      action: block\n      deny: [\"x*\"]\n", "action \"block\""},
		{"not a policy", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n", "p.yaml:1: not a policy"},
		{"yaml syntax", base + "    - name: [\n", "p.yaml:"},
		{"exception names unknown rule", base + "    - name: a\n      deny: [\"x*\"]\n  exceptions:\n    - name: e\n      reason: r\n      rules: [b]\n", "names rule \"b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := policy.Load(policy.File{Name: "p.yaml", Data: []byte(tt.doc)})
			if err == nil {
				_, err = policy.NewSet(ps)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestKyvernoSamples loads the two Kyverno policies of the second seed
// document with the ConfigMap that holds the allow list.
func TestKyvernoSamples(t *testing.T) {
	set := loadSet(t, "require-base-image.yaml", "allowed-base-images.yaml", "baseimages-configmap.yaml")
	byName := map[string]*policy.Policy{}
	for _, p := range set.Policies() {
		byName[p.Metadata.Name] = p
	}
	req := byName["require-base-image"].Spec.Rules[0]
	if !req.RequireBase || req.Untranslated != "" {
		t.Errorf("require-base-image: %+v, want requireBase", req)
	}
	allowed := byName["allowed-base-images"].Spec.Rules[0]
	var allow []string
	for _, p := range allowed.Allow {
		allow = append(allow, p.String())
	}
	if diff := cmp.Diff([]string{"gcr.io/distroless/static:nonroot", "cgr.dev/chainguard/static:latest"}, allow); diff != "" {
		t.Errorf("allowed-base-images allow list from the ConfigMap (-want +got):\n%s", diff)
	}
	// Offline, base requirements cannot be decided: skipped, not passed.
	got := check(t, set, pod("", "busybox"))
	if got["Pod/c0/check-base-image"] != policy.StatusSkip {
		t.Errorf("require-base-image offline: %v, want skip", got)
	}
	if _, err := policy.Load(policy.File{Name: "a.yaml", Data: mustRead(t, "allowed-base-images.yaml")}); err == nil || !strings.Contains(err.Error(), "platform/baseimages") {
		t.Errorf("missing ConfigMap: error = %v, want one naming platform/baseimages", err)
	}
}

func TestUntranslatableRuleIsAnError(t *testing.T) {
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: k}
spec:
  validationFailureAction: Enforce
  rules:
    - name: run-as-non-root
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        cel:
          expressions: [{expression: "true"}]
`
	ps, err := policy.Load(policy.File{Name: "k.yaml", Data: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	if got := check(t, set, pod("", "alpine:3.19")); got["Pod/c0/run-as-non-root"] != policy.StatusError {
		t.Errorf("untranslatable rule: %v, want an error result", got)
	}
}

func mustRead(t testing.TB, name string) []byte {
	data, err := os.ReadFile(filepath.Join("..", "examples", "policies", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestOnResolveError: when a lineage cannot be resolved, the policy decides
// what happens, and the message says which.
func TestOnResolveError(t *testing.T) {
	ref, _ := imageref.Parse("registry.example.com/apps/payments:1.4")
	failed := lineage.Lineage{Entries: []lineage.Entry{{Ref: ref, Source: lineage.SourceReference}}, Resolved: true, Err: errors.New("registry timed out")}
	sub := &subject.Subject{Resource: &subject.Resource{Kind: "Pod", Name: "p", Namespace: "default"}, Container: "app", Image: ref.Written, Field: "spec.containers[0].image"}
	tests := []struct {
		choice string
		action string
		want   policy.Status
	}{
		{"", "enforce", policy.StatusError},
		{"deny", "audit", policy.StatusError},
		{"allow", "enforce", policy.StatusPass},
		{"warn", "enforce", policy.StatusWarn},
		{"", "audit", policy.StatusWarn},
	}
	for _, tt := range tests {
		t.Run(tt.choice+"/"+tt.action, func(t *testing.T) {
			doc := "apiVersion: baseguard.dev/v1alpha1\nkind: BaseImagePolicy\nmetadata: {name: p}\nspec:\n  action: " + tt.action + "\n"
			if tt.choice != "" {
				doc += "  onResolveError: " + tt.choice + "\n"
			}
			doc += "  rules:\n    - name: no-centos\n      deny: [\"*centos*\"]\n    - name: known-base\n      requireBase: true\n"
			ps, err := policy.Load(policy.File{Name: "p.yaml", Data: []byte(doc)})
			if err != nil {
				t.Fatal(err)
			}
			set, err := policy.NewSet(ps)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range set.Evaluate(sub, failed, now) {
				if r.Status != tt.want || !strings.Contains(r.Message, "registry timed out") {
					t.Errorf("rule %s: %s %q, want %s naming the resolution error", r.Rule.Name, r.Status, r.Message, tt.want)
				}
			}
		})
	}
}

// TestKyvernoRegistryPattern: a registry allow list repeated for every
// container list under anchors, and an exclusion of namespaces, translate
// into one allow list applied to every list outside the excluded namespace.
func TestKyvernoRegistryPattern(t *testing.T) {
	doc := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: restrict-image-registries}
spec:
  validationFailureAction: Enforce
  rules:
  - name: validate-registries
    match: {any: [{resources: {kinds: [Pod]}}]}
    exclude: {any: [{resources: {namespaces: [kube-system]}}]}
    validate:
      message: Unknown image registry.
      pattern:
        spec:
          =(ephemeralContainers): [{image: "eu.foo.io/* | bar.io/*"}]
          =(initContainers): [{image: "eu.foo.io/* | bar.io/*"}]
          containers: [{image: "eu.foo.io/* | bar.io/*"}]
`
	ps, err := policy.Load(policy.File{Name: "k.yaml", Data: []byte(doc)})
	if err != nil {
		t.Fatal(err)
	}
	var allow []string
	for _, p := range ps[0].Spec.Rules[0].Allow {
		allow = append(allow, p.String())
	}
	if diff := cmp.Diff([]string{"eu.foo.io/*", "bar.io/*"}, allow); diff != "" {
		t.Errorf("allow (-want +got):\n%s", diff)
	}
	set, err := policy.NewSet(ps)
	if err != nil {
		t.Fatal(err)
	}
	manifest := "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: %s}\nspec:\n  initContainers: [{name: i, image: evil.io/x:1}]\n  containers: [{name: c, image: bar.io/app:1}]\n"
	if got := check(t, set, fmt.Sprintf(manifest, "apps")); got["Pod/i/validate-registries"] != fail || len(got) != 1 {
		t.Errorf("apps namespace: %v, want only the init container failing", got)
	}
	if got := check(t, set, fmt.Sprintf(manifest, "kube-system")); len(got) != 0 {
		t.Errorf("excluded namespace: %v, want no result", got)
	}
}

// TestNamespaceLabelsUnreadable: labels nobody looked up skip a rule that
// selects namespaces; labels whose lookup failed make it an error.
func TestNamespaceLabelsUnreadable(t *testing.T) {
	set := loadSet(t, "baseguard-policy.yaml")
	ref, _ := imageref.Parse("registry.example.com/base/alpine:3.19")
	for _, tt := range []struct {
		err  error
		want policy.Status
	}{{nil, policy.StatusSkip}, {errors.New("forbidden"), policy.StatusError}} {
		res := &subject.Resource{Kind: "Pod", Name: "p", Namespace: "pay", NamespaceLabelsErr: tt.err}
		sub := &subject.Subject{Resource: res, Container: "c", Image: ref.Written, Field: "spec.containers[0].image"}
		for _, r := range set.Evaluate(sub, lineage.Of(ref, lineage.SourceReference), now) {
			if r.Rule.Name == "restricted-namespaces-minimal" && r.Status != tt.want {
				t.Errorf("lookup error %v: %s (%s), want %s", tt.err, r.Status, r.Message, tt.want)
			}
		}
	}
}
