package subject

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type found struct {
	Kind, Namespace, Name, Container, Field, Image string
	Line                                           int
}

func read(t *testing.T, src string) ([]found, error) {
	t.Helper()
	var out []found
	err := ReadManifests("m.yaml", strings.NewReader(src), Options{DefaultNamespace: "default"}, func(r *Resource, subs []Subject) error {
		for _, s := range subs {
			out = append(out, found{r.Kind, r.Namespace, r.Name, s.Container, s.Field, s.Image, s.Line})
		}
		return nil
	})
	return out, err
}

func TestReadManifests(t *testing.T) {
	src := `# a comment
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: ns}
    spec:
      initContainers: [{name: i, image: "busybox:1"}]
      containers: [{name: c, image: "alpine:3.19"}]
      ephemeralContainers: [{name: e, image: "debug:1"}]
---
{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
 "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "r", "image": "ubuntu:18.04"}]}}}}}}
---
apiVersion: v1
kind: Service
metadata: {name: ignored}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: patch}
spec:
  template:
    spec:
      containers:
        - name: sidecar-without-image
`
	got, err := read(t, src)
	if err != nil {
		t.Fatal(err)
	}
	want := []found{
		{"Pod", "ns", "p", "i", "spec.initContainers[0].image", "busybox:1", 9},
		{"Pod", "ns", "p", "c", "spec.containers[0].image", "alpine:3.19", 10},
		{"Pod", "ns", "p", "e", "spec.ephemeralContainers[0].image", "debug:1", 11},
		{"CronJob", "default", "cj", "r", "spec.jobTemplate.spec.template.spec.containers[0].image", "ubuntu:18.04", 14},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

func TestReadManifestsErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"syntax", "kind: Pod\nspec: [\n", "m.yaml:3: reading YAML"},
		{"syntax, the problem's line and its context's", "apiVersion: v1\nkind: Pod\nmetadata: {name: x\nspec:\n  containers: [{name: a, image: nginx}]\n", "m.yaml:4: reading YAML: did not find expected ',' or '}' (while parsing a flow mapping begun on line 3)"},
		{"syntax in a later document", "kind: Pod\n---\nkind: Pod\nmetadata:\n  name: x\n   bad: indent\n", "m.yaml:6: reading YAML: mapping values are not allowed"},
		{"syntax in an unterminated string", "a: \"open\nb: 2\n", "m.yaml:3: reading YAML: found unexpected end of stream (while scanning a quoted scalar begun on line 1)"},
		{"containers not a list", "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: {}\n", "m.yaml:4: Pod p: spec.containers must be a list"},
		{"container not a mapping", "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [x]\n", "m.yaml:4: Pod p: spec.containers[0] must be a mapping"},
		{"image not a string", "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - image: [a]\n", "m.yaml:5: Pod p: spec.containers[0].image must be a string"},
		{"spec not a mapping", "kind: Deployment\nmetadata: {name: d}\nspec: 3\n", "m.yaml:3: Deployment d: spec must be a mapping"},
		{"items not a list", "kind: List\nitems: 3\n", "m.yaml:2: items must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(t, tt.src)
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want *Error containing %q", err, tt.want)
			}
		})
	}
}

func TestNamespaceLabels(t *testing.T) {
	got := map[string]map[string]string{}
	src := "kind: Namespace\nmetadata:\n  name: pay\n  labels: {tier: restricted}\n---\nkind: Namespace\nmetadata: {name: bare}\n"
	err := ReadManifests("n.yaml", strings.NewReader(src), Options{OnNamespace: func(n string, l map[string]string) { got[n] = l }}, func(*Resource, []Subject) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"pay":  {"tier": "restricted", "kubernetes.io/metadata.name": "pay"},
		"bare": {"kubernetes.io/metadata.name": "bare"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("namespace labels (-want +got):\n%s", diff)
	}
}

func FuzzReadManifests(f *testing.F) {
	for _, s := range []string{
		"kind: Pod\nspec:\n  containers: [{image: a}]\n",
		"kind: List\nitems: [{kind: CronJob, spec: {jobTemplate: {spec: {template: {spec: {initContainers: [{image: b}]}}}}}}]\n",
		"{\"kind\":\"Deployment\",\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"c\"}]}}}}",
		"kind: Pod\nspec: &a {containers: *a}\n",
		"---\n---\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		ReadManifests("f", strings.NewReader(src), Options{}, func(r *Resource, subs []Subject) error {
			for _, s := range subs {
				if s.Resource != r || s.Field == "" {
					t.Fatalf("subject without resource or field: %+v", s)
				}
			}
			return nil
		})
	})
}

func TestSelfReferentialList(t *testing.T) {
	_, err := read(t, "&a {kind: List, items: [*a]}\n")
	if err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("error = %v, want a nesting error", err)
	}
}
