package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// spec is a workload as a test writes it: containers as name=image.
type spec struct {
	kind           string // Deployment (default) or Pod
	labels         map[string]string
	replicas       int
	init, main     []string
	broken         bool // containers is not a list: the object cannot be read
	namespace      string
	annotations    map[string]string
	serviceAccount string
}

func containers(list []string) []any {
	var out []any
	for _, c := range list {
		name, image, _ := strings.Cut(c, "=")
		out = append(out, map[string]any{"name": name, "image": image, "imagePullPolicy": "IfNotPresent"})
	}
	return out
}

func (s spec) object() []byte {
	pod := map[string]any{"containers": containers(s.main)}
	if s.init != nil {
		pod["initContainers"] = containers(s.init)
	}
	if s.broken {
		pod["containers"] = "oops"
	}
	ns := s.namespace
	if ns == "" {
		ns = "default"
	}
	meta := map[string]any{"name": "web", "namespace": ns, "labels": s.labels, "annotations": s.annotations}
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": map[string]any{
		"replicas": s.replicas,
		"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
		"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}}, "spec": pod},
	}}
	if s.kind == "Pod" {
		obj = map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod}
	}
	b, _ := json.Marshal(obj)
	return b
}

// reviewOf is the AdmissionReview of an UPDATE from old to new (a CREATE of
// new when old is nil).
func reviewOf(old *spec, new spec) []byte {
	gvk := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	gvr := metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	if new.kind == "Pod" {
		gvk = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
		gvr = metav1.GroupVersionResource{Version: "v1", Resource: "pods"}
	}
	ns := new.namespace
	if ns == "" {
		ns = "default"
	}
	req := &admissionv1.AdmissionRequest{
		UID: types.UID("update-test"), Kind: gvk, Resource: gvr, Name: "web", Namespace: ns,
		Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: new.object()},
	}
	if old != nil {
		req.Operation, req.OldObject = admissionv1.Update, runtime.RawExtension{Raw: old.object()}
	}
	b, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request:  req,
	})
	return b
}

// with returns a copy of s changed by f.
func (s spec) with(f func(*spec)) spec {
	s.labels = maps.Clone(s.labels)
	f(&s)
	return s
}

const alpine = "registry.example.com/base/alpine:3.19"

// TestUpdateCannotEscape: an UPDATE is denied for every failure the old
// object did not have, whatever made it new; failures the old object had
// already do not block it, and are told.
func TestUpdateCannotEscape(t *testing.T) {
	failing := spec{labels: map[string]string{"app": "web"}, replicas: 1, main: []string{"app=centos:7"}}
	passing := spec{labels: map[string]string{"app": "web"}, replicas: 1, main: []string{"app=" + alpine}}
	two := spec{labels: map[string]string{"app": "web"}, replicas: 1, main: []string{"app=centos:7", "side=" + alpine}}
	cases := []struct {
		name     string
		old      *spec
		new      spec
		allowed  bool
		says     []string // in the denial or the warnings
		notSays  []string // not in the denial
		warnings int      // -1: any
	}{
		{"creating a failing deployment", nil, failing, false, []string{"centos:7", "block-deprecated-base-images"}, nil, 0},
		{"scaling a failing deployment", &failing, failing.with(func(s *spec) { s.replicas = 5 }), true,
			[]string{"2 failing results were in the object before this update and do not block it", "centos:7"}, nil, 1},
		{"annotating a failing deployment", &failing, failing.with(func(s *spec) { s.annotations = map[string]string{"team": "x"} }), true,
			[]string{"before this update"}, nil, 1},
		{"a label that brings a stricter rule into force", &passing, passing.with(func(s *spec) { s.labels["security.enforce"] = "high" }), false,
			[]string{"require-minimal-base-images", alpine}, []string{"approved-base-images]"}, 0},
		{"the same label on a pod", &spec{kind: "Pod", main: []string{"app=" + alpine}}, spec{kind: "Pod", labels: map[string]string{"security.enforce": "high"}, main: []string{"app=" + alpine}}, false,
			[]string{"Pod/default/web", "require-minimal-base-images"}, nil, 0},
		{"a label that brings a stricter rule to a failing deployment", &failing, failing.with(func(s *spec) { s.labels["security.enforce"] = "high" }), false,
			[]string{"require-minimal-base-images", "fail for 1 of 1 container images"}, []string{"[enforce-base-images/block-deprecated-base-images]"}, 1},
		{"removing that label", ptr(passing.with(func(s *spec) { s.labels["security.enforce"] = "high" })), passing, true, nil, nil, 0},
		{"a failing image in an already failing container", &failing, failing.with(func(s *spec) { s.main = []string{"app=ubuntu:18.04"} }), false,
			[]string{"ubuntu:18.04", "block-deprecated-base-images", "validate-base-image-version"}, []string{"centos:7"}, 0},
		{"an image failing the same rules in an already failing container", &failing, failing.with(func(s *spec) { s.main = []string{"app=centos:8"} }), false,
			[]string{"centos:8", "block-deprecated-base-images"}, nil, 0},
		{"fixing the image", &failing, passing, true, nil, nil, 0},
		{"reordering containers", &two, two.with(func(s *spec) { s.main = []string{"side=" + alpine, "app=centos:7"} }), true,
			[]string{"before this update"}, nil, 1},
		{"renaming a failing container", &failing, failing.with(func(s *spec) { s.main = []string{"app2=centos:7"} }), false,
			[]string{`container "app2"`}, nil, 0},
		{"moving a failing image to an init container", &failing, failing.with(func(s *spec) { s.main, s.init = []string{"app=" + alpine}, []string{"app=centos:7"} }), false,
			[]string{"spec.template.spec.initContainers[0].image"}, nil, 0},
		{"adding a failing container beside a failing one", &failing, failing.with(func(s *spec) { s.main = append(s.main, "side=debian:12") }), false,
			[]string{"debian:12", "fail for 1 of 2 container images"}, []string{"centos:7"}, 1},
		{"an old object that cannot be read", ptr(failing.with(func(s *spec) { s.broken = true })), failing.with(func(s *spec) { s.replicas = 3 }), false,
			[]string{"the old object could not be read", "every failure of the object counts as new", "centos:7"}, nil, 1},
	}
	_, ts := newTestServer(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv, out := review(t, ts, reviewOf(tc.old, tc.new))
			resp := rv.Response
			if resp.Allowed != tc.allowed {
				t.Fatalf("allowed = %v, want %v: %s", resp.Allowed, tc.allowed, out)
			}
			text := strings.Join(resp.Warnings, "\n")
			denial := ""
			if resp.Result != nil {
				denial = resp.Result.Message
			}
			for _, s := range tc.says {
				if !strings.Contains(denial+"\n"+text, s) {
					t.Errorf("the answer does not say %q:\n%s\n%s", s, denial, text)
				}
			}
			for _, s := range tc.notSays {
				if strings.Contains(denial, s) {
					t.Errorf("the denial names %q, which the update did not bring:\n%s", s, denial)
				}
			}
			if tc.warnings >= 0 && len(resp.Warnings) != tc.warnings {
				t.Errorf("%d warnings, want %d: %q", len(resp.Warnings), tc.warnings, resp.Warnings)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestUpdateJudgesOldObjectInTheSameNamespace: the old object is judged
// with the namespace's labels as they are now, so a namespace rule the
// object failed already does not block scaling; and when the labels cannot
// be read, both fail closed alike.
func TestUpdateJudgesOldObjectInTheSameNamespace(t *testing.T) {
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
	restricted := NamespaceLabelerFunc(func(context.Context, string) (map[string]string, error) {
		return map[string]string{"tier": "restricted"}, nil
	})
	unreadable := NamespaceLabelerFunc(func(context.Context, string) (map[string]string, error) {
		return nil, errors.New("forbidden")
	})
	old := spec{labels: map[string]string{"app": "web"}, replicas: 1, main: []string{"app=" + alpine}}
	scaled := old.with(func(s *spec) { s.replicas = 4 })
	newImage := old.with(func(s *spec) { s.main = []string{"app=registry.example.com/base/alpine:3.20"} })
	cases := []struct {
		name       string
		namespaces NamespaceLabeler
		new        spec
		allowed    bool
		says       string
	}{
		{"scaling, labels read", restricted, scaled, true, "before this update"},
		{"a new image, labels read", restricted, newImage, false, "wolfi-only"},
		{"scaling, labels unreadable", unreadable, scaled, true, "before this update"},
		{"a new image, labels unreadable", unreadable, newImage, false, "could not be read: forbidden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ts := newTestServer(t, Options{PolicyPaths: []string{p}, Namespaces: tc.namespaces})
			rv, out := review(t, ts, reviewOf(&old, tc.new))
			if rv.Response.Allowed != tc.allowed || !strings.Contains(string(out), tc.says) {
				t.Errorf("allowed = %v, want %v, saying %q: %s", rv.Response.Allowed, tc.allowed, tc.says, out)
			}
		})
	}
}

// TestUpdateWarnsOnlyForNewFailures: audit and warn rules warn for what
// an update brings; what the object failed already is counted in one line.
func TestUpdateWarnsOnlyForNewFailures(t *testing.T) {
	p := writePolicy(t, `
apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: prefer-wolfi}
spec:
  action: warn
  rules:
    - name: prefer-wolfi
      allow: ["registry.example.com/base/wolfi*"]
`)
	_, ts := newTestServer(t, Options{PolicyPaths: []string{p}})
	old := spec{replicas: 1, main: []string{"a=" + alpine}}
	for _, tc := range []struct {
		name string
		new  spec
		want []string
	}{
		{"scaling", old.with(func(s *spec) { s.replicas = 2 }), []string{"baseguard: 1 failing results were in the object before this update"}},
		{"a new container", old.with(func(s *spec) { s.main = append(s.main, "b=debian:12") }), []string{
			"baseguard: 1 failing results were in the object before this update",
			`baseguard warn [prefer-wolfi/prefer-wolfi]: container "b"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rv, out := review(t, ts, reviewOf(&old, tc.new))
			if !rv.Response.Allowed || len(rv.Response.Warnings) != len(tc.want) {
				t.Fatalf("want allowed with %d warnings: %s", len(tc.want), out)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(rv.Response.Warnings[i], w) {
					t.Errorf("warning %d = %q, want it to start %q", i, rv.Response.Warnings[i], w)
				}
			}
		})
	}
}

// TestUpdateResolvesEachImageOnce: the old object's images are the new
// one's, mostly; each distinct image is resolved once per review.
func TestUpdateResolvesEachImageOnce(t *testing.T) {
	counting := &countingResolver{}
	_, ts := newTestServer(t, Options{Resolver: counting})
	old := spec{replicas: 1, main: []string{"a=centos:7", "b=" + alpine, "c=centos:7"}}
	review(t, ts, reviewOf(&old, old.with(func(s *spec) { s.main = append(s.main, "d=debian:12") })))
	if got := counting.sorted(); fmt.Sprint(got) != "[centos:7 debian:12 "+alpine+"]" {
		t.Errorf("resolved %v, want each of the three distinct images once", got)
	}
}

// countingResolver records the images it resolves.
type countingResolver struct {
	mu     sync.Mutex
	images []string
}

func (c *countingResolver) Resolve(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.images = append(c.images, ref.Written)
	return lineage.Of(ref, lineage.SourceReference)
}

func (c *countingResolver) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.images))
}
