package subject

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// images reads src and returns "field=image" for every subject.
func images(t *testing.T, src string, opt Options) ([]string, error) {
	t.Helper()
	var out []string
	err := ReadManifests("m.yaml", strings.NewReader(src), opt, func(r *Resource, subs []Subject) error {
		for _, s := range subs {
			out = append(out, fmt.Sprintf("%s %s %s=%s", r.Kind, r.Name, s.Field, s.Image))
		}
		return nil
	})
	return out, err
}

// TestManifestSemantics: documents are read as Kubernetes reads them (as
// kubectl converts YAML to JSON), or refused where that is ambiguous.
func TestManifestSemantics(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
		err  string // error containing, with file and line
	}{
		{name: "duplicate image key", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: alpine:3.19\n    image: centos:7\n", err: `m.yaml:7: key "image" is written twice (also on line 6)`},
		{name: "duplicate containers key", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: alpine}]\n  containers: [{name: a, image: centos}]\n", err: `m.yaml:5: key "containers" is written twice`},
		{name: "duplicate kind", src: "kind: ConfigMap\nkind: Pod\nspec: {containers: [{image: centos}]}\n", err: `m.yaml:2: key "kind" is written twice`},
		{name: "duplicate in JSON", src: `{"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "alpine", "image": "centos:7"}]}}`, err: `m.yaml:1: key "image" is written twice`},
		{name: "duplicate in a label map", src: "kind: Pod\nmetadata:\n  name: p\n  labels: {a: x, a: y}\n", err: `m.yaml:4: key "a" is written twice`},
		{name: "duplicate quoted and plain", src: "kind: Pod\nspec:\n  containers: [{image: a, \"image\": b}]\n", err: `key "image" is written twice`},
		{name: "duplicate through !!binary", src: "kind: Pod\nspec:\n  containers: [{image: a, !!binary aW1hZ2U=: b}]\n", err: `key "image" is written twice`},
		{name: "duplicate in an unknown kind", src: "kind: Whatever\nspec: {a: 1, a: 2}\n", err: `m.yaml:2: key "a" is written twice`},
		{name: "duplicate in a later document", src: "kind: Pod\n---\nkind: Pod\nmetadata: {name: x, name: y}\n", err: `m.yaml:4: key "name"`},
		{name: "non-string key", src: "kind: Pod\nspec:\n  ? [a, b]\n  : c\n", err: "m.yaml:3: a mapping key must be a string"},
		{name: "merge key gives the image", src: "x: &c {name: a, image: centos:7}\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - <<: *c\n    name: b\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "merge key gives the containers", src: "x: &s {containers: [{name: a, image: centos:7}]}\nkind: Pod\nmetadata: {name: p}\nspec:\n  <<: *s\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "merge key gives the kind", src: "base: &b {apiVersion: v1, kind: Pod}\n<<: *b\nmetadata: {name: p}\nspec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "merge of a list: first wins", src: "a: &a {image: centos:7}\nb: &b {image: alpine}\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - <<: [*a, *b]\n    name: c\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "written after the merge wins", src: "a: &a {image: centos:7}\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - <<: *a\n    image: alpine\n", want: []string{"Pod p spec.containers[0].image=alpine"}},
		{name: "written before the merge is ambiguous", src: "a: &a {image: centos:7}\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - image: alpine\n    <<: *a\n", err: `m.yaml:7: key "image" is written before a merge key`},
		{name: "nested merges", src: "a: &a {image: centos:7}\nb: &b {<<: *a, name: x}\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{<<: *b}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "quoted << is a key", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - \"<<\": {image: centos:7}\n    image: alpine\n", want: []string{"Pod p spec.containers[0].image=alpine"}},
		{name: "merge of a scalar", src: "kind: Pod\nspec:\n  <<: 3\n", err: "m.yaml:3: a merge key (<<) merges mappings only"},
		{name: "merge cycle adds nothing", src: "kind: Pod\nmetadata: {name: p}\nspec: &s\n  <<: *s\n  containers: [{name: c, image: centos:7}]\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "merge chain too deep", src: deepMerge(40), err: "merge keys nested more than 32 deep"},
		{name: "binary image", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: !!binary Y2VudG9zOjc=}]\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "binary that is not UTF-8", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: !!binary 0000}]\n", want: []string{"Pod p spec.containers[0].image=\ufffdM4"}},
		{name: "bad binary", src: "kind: Pod\nspec:\n  containers: [{image: !!binary '***'}]\n", err: "m.yaml:3: a !!binary scalar is not valid base64"},
		{name: "number image", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: 7}]\n", err: "m.yaml:4: Pod p: spec.containers[0].image must be a string"},
		{name: "escaped JSON key", src: `{"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "\u0069mage": "centos:7"}]}}`, want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "any object with items is a List", src: "kind: Whatever\nitems:\n- kind: Pod\n  metadata: {name: p}\n  spec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "typed List items take its kind", src: "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p}\n  spec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "DeploymentList items", src: "apiVersion: apps/v1\nkind: DeploymentList\nitems:\n- metadata: {name: d}\n  spec: {template: {spec: {containers: [{name: a, image: centos:7}]}}}\n", want: []string{"Deployment d spec.template.spec.containers[0].image=centos:7"}},
		{name: "a Pod with items is both", src: "kind: Pod\nmetadata: {name: p}\nitems: [{kind: Pod, metadata: {name: q}, spec: {containers: [{name: b, image: debian}]}}]\nspec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod q spec.containers[0].image=debian", "Pod p spec.containers[0].image=centos:7"}},
		{name: "null items", src: "kind: List\nitems: null\n", want: nil},
		{name: "items not a list", src: "kind: List\nitems: {a: b}\n", err: "m.yaml:2: items must be a list"},
		{name: "a list tagged null is still a list", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: !!null [{name: i, image: debian}]\n  containers: !!null\n  - {name: a, image: centos:7}\n", want: []string{"Pod p spec.initContainers[0].image=debian", "Pod p spec.containers[0].image=centos:7"}},
		{name: "a null list", src: "kind: Pod\nmetadata: {name: p}\nspec:\n  containers: !!null\n  initContainers: ~\n", want: nil},
		{name: "byte order mark at the start", src: "\ufeffkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
		{name: "byte order mark twice", src: "\ufeff\ufeffkind: Pod\nmetadata: {name: p}\nxspec: {containers: [{name: a, image: centos:7}]}\n", err: "m.yaml:1: reading YAML: a byte order mark (U+FEFF) after the start of the stream"},
		{name: "byte order mark in a line", src: "kind: Pod\nmetadata: {name: p}\n\ufeffspec: {containers: [{name: a, image: centos:7}]}\n", err: "m.yaml:3: reading YAML: a byte order mark"},
		{name: "byte order mark in a value", src: "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: \"centos\ufeff:7\"}]}\n", err: "m.yaml:3: reading YAML: a byte order mark"},
		{name: "Lists in Lists", src: "kind: List\nitems:\n- kind: List\n  items:\n  - kind: Pod\n    metadata: {name: p}\n    spec: {containers: [{name: a, image: centos:7}]}\n", want: []string{"Pod p spec.containers[0].image=centos:7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, workers := range []int{1, 3} {
				got, err := images(t, tt.src, Options{Workers: workers})
				if tt.err != "" {
					var e *Error
					if !errors.As(err, &e) || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("error = %v, want *Error containing %q", err, tt.err)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("subjects (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// layout writes a pod spec (given as indented YAML lines) at a path.
func layout(path []string, spec string) string {
	var b strings.Builder
	indent := ""
	for _, p := range path {
		fmt.Fprintf(&b, "%s%s:\n", indent, p)
		indent += "  "
	}
	for _, line := range strings.Split(strings.TrimRight(spec, "\n"), "\n") {
		b.WriteString(indent + line + "\n")
	}
	return b.String()
}

const everyList = `initContainers: [{name: i, image: "i:1"}]
containers: [{name: c, image: "c:1"}]
ephemeralContainers: [{name: e, image: "e:1"}]
volumes:
- {name: cfg, configMap: {name: x}}
- {name: data, image: {reference: "v:1", pullPolicy: IfNotPresent}}
- {name: empty, image: {pullPolicy: Always}}
`

// TestEveryWorkload: in every kind of the table, every container list and
// every image volume is a subject, with its field path.
func TestEveryWorkload(t *testing.T) {
	for _, w := range Workloads {
		apiVersion := "v1"
		if w.Group != "" {
			apiVersion = w.Group + "/v1"
		}
		t.Run(w.String(), func(t *testing.T) {
			src := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: x}\n", apiVersion, w.Kind) + layout(w.SpecPath(), everyList)
			got, err := images(t, src, Options{})
			if err != nil {
				t.Fatal(err)
			}
			p := joinPath(w.SpecPath())
			var want []string
			for _, f := range []string{"initContainers[0].image=i:1", "containers[0].image=c:1", "ephemeralContainers[0].image=e:1", "volumes[1].image.reference=v:1"} {
				want = append(want, w.Kind+" x "+p+"."+f)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("subjects (-want +got):\n%s\n%s", diff, src)
			}
		})
	}
}

func TestImageVolumeSubject(t *testing.T) {
	src := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: alpine}]\n  volumes:\n  - name: models\n    image:\n      reference: centos:7\n"
	var subs []Subject
	err := ReadManifests("v.yaml", strings.NewReader(src), Options{}, func(_ *Resource, s []Subject) error {
		subs = append(subs, s...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v := subs[1]
	if v.List != Volumes || v.Container != "models" || v.Field != "spec.volumes[0].image.reference" || v.Line != 9 || v.Image != "centos:7" {
		t.Errorf("volume subject %+v", v)
	}
	_, err = images(t, "kind: Pod\nspec:\n  volumes: [{name: v, image: centos}]\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "m.yaml:3: a volume's image must be a mapping") {
		t.Errorf("error = %v", err)
	}
}

// TestWorkloadGroups: kinds are matched with their API group; a kind of
// another group is not judged as the core kind of the same name, but is
// noticed; a policy can declare more.
func TestWorkloadGroups(t *testing.T) {
	pod := func(apiVersion, kind, path string) string {
		return fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata: {name: x}\n", apiVersion, kind) + layout(strings.Split(path, "."), "containers: [{name: c, image: centos:7}]")
	}
	declared, err := ParseWorkload("ci.example.com/v1", "Runner", "spec.runner.podTemplate")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		declared  []Workload
		want      []string
		notices   []string
	}{
		{name: "kruise StatefulSet", src: pod("apps.kruise.io/v1beta1", "StatefulSet", "spec.template.spec"), want: []string{"StatefulSet x spec.template.spec.containers[0].image=centos:7"}},
		{name: "Deployment of another group", src: pod("example.com/v1", "Deployment", "spec.template.spec"), notices: []string{"m.yaml:1: Deployment x (apiVersion \"example.com/v1\") holds a container list at spec.template.spec.containers"}},
		{name: "Deployment with no apiVersion", src: "kind: Deployment\nmetadata: {name: x}\n" + layout([]string{"spec", "template", "spec"}, "containers: [{name: c, image: centos:7}]"), want: []string{"Deployment x spec.template.spec.containers[0].image=centos:7"}},
		{name: "Deployment in extensions", src: pod("extensions/v1beta1", "Deployment", "spec.template.spec"), want: []string{"Deployment x spec.template.spec.containers[0].image=centos:7"}},
		{name: "unknown CRD", src: pod("ci.example.com/v1", "Runner", "spec.runner.podTemplate.spec"), notices: []string{"spec.runner.podTemplate.spec.containers"}},
		{name: "declared CRD", src: pod("ci.example.com/v1", "Runner", "spec.runner.podTemplate.spec"), declared: []Workload{declared}, want: []string{"Runner x spec.runner.podTemplate.spec.containers[0].image=centos:7"}},
		{name: "containers in a list of an unknown kind", src: "apiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec:\n  stages:\n  - steps: [{containers: [{image: centos}]}]\n", notices: []string{"Thing t (apiVersion \"x.io/v1\") holds a container list at spec.stages[0].steps[0].containers"}},
		{name: "containers through an alias", src: "a: &a [{image: centos}]\napiVersion: x.io/v1\nkind: Thing\nmetadata: {name: t}\nspec: {containers: *a}\n", notices: []string{"spec.containers"}},
		{name: "empty containers list", src: "apiVersion: x.io/v1\nkind: Thing\nspec: {containers: []}\n"},
		{name: "Kyverno policy patterns are not noticed", src: "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: k}\nspec: {rules: [{validate: {pattern: {spec: {containers: [{image: '!*:latest'}]}}}}]}\n"},
		{name: "ConfigMap", src: "apiVersion: v1\nkind: ConfigMap\ndata: {containers: x}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var notices []string
			opt := Options{Workloads: tt.declared, OnNotice: func(n Notice) { notices = append(notices, n.String()) }}
			got, err := images(t, tt.src, opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("subjects (-want +got):\n%s", diff)
			}
			if len(notices) != len(tt.notices) {
				t.Fatalf("notices %q, want %d", notices, len(tt.notices))
			}
			for i, want := range tt.notices {
				if !strings.Contains(notices[i], want) || !strings.Contains(notices[i], "spec.workloads") {
					t.Errorf("notice %q does not say %q", notices[i], want)
				}
			}
		})
	}
}

func TestParseWorkload(t *testing.T) {
	for _, bad := range [][3]string{{"", "K", "spec.template"}, {"a/b/c", "K", "spec"}, {"x/v1", "", "spec"}, {"x/v1", "K", ""}, {"x/v1", "K", "spec..template"}, {"x/v1", "K", "spec.containers[0]"}} {
		if _, err := ParseWorkload(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("ParseWorkload%q: no error", bad)
		}
	}
	w, err := ParseWorkload("ci.example.com/v1", "Runner", "spec.template")
	if err != nil || w.Group != "ci.example.com" || joinPath(w.SpecPath()) != "spec.template.spec" {
		t.Errorf("ParseWorkload = %+v, %v", w, err)
	}
}

// TestReadObjectAnyKind: ReadObject reads what the webhook hands it.
func TestReadObjectAnyKind(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec: {template: {spec: {containers: [{name: a, image: centos:7}], volumes: [{name: v, image: {reference: debian}}]}}}\n", "centos:7,debian"},
		{"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: x}]}}, {apiVersion: v1, kind: Pod, metadata: {name: q}, spec: {containers: [{name: a, image: y}]}}]\n", "x,y"},
	} {
		var doc yamlNode
		if err := doc.parse(tt.src); err != nil {
			t.Fatal(err)
		}
		_, subs, err := ReadObject("", doc.root(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range subs {
			got = append(got, s.Image)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("images %v, want %s", got, tt.want)
		}
	}
}

// TestMergeKeyBombs: merge keys and aliases that name one mapping 2^30
// times are read in linear time (a regression never finishes).
func TestMergeKeyBombs(t *testing.T) {
	var b strings.Builder
	b.WriteString("m0: &m0 {k: v}\n")
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "m%d: &m%d {<<: [*m%d, *m%d], k%d: v}\n", i, i, i-1, i-1, i)
	}
	b.WriteString("kind: Pod\nmetadata:\n  name: p\n  labels: *m30\nspec: {containers: [{name: c, image: centos:7, <<: *m30}]}\n")
	got, err := images(t, b.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"Pod p spec.containers[0].image=centos:7"}, got); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

// deepMerge writes a Pod whose container merges a chain of n mappings.
func deepMerge(n int) string {
	var b strings.Builder
	b.WriteString("m0: &m0 {image: centos:7}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "m%d: &m%d {<<: *m%d}\n", i, i, i-1)
	}
	fmt.Fprintf(&b, "kind: Pod\nspec: {containers: [{name: c, <<: *m%d}]}\n", n)
	return b.String()
}
