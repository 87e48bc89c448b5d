package admission

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
)

// viaYAML is the reference: subject.ReadObject on the full object, parsed
// as YAML, the way `check` reads manifests.
func viaYAML(t testing.TB, raw []byte) (*subject.Resource, []subject.Subject, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil, nil
	}
	return subject.ReadObject("object", doc.Content[0], subject.Options{DefaultNamespace: "default"})
}

// viaWire reads an object as a review does: checked by the decoder
// kube-apiserver uses, then as a node tree.
func viaWire(raw []byte) (*subject.Resource, []subject.Subject, error) {
	var probe any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &probe); err != nil {
		return nil, nil, err
	}
	o, err := readObject("object", raw, countValues(raw), getSlab(countValues(raw)), metav1.GroupVersionKind{}, subject.Options{DefaultNamespace: "default"})
	if err != nil {
		return nil, nil, err
	}
	return o.res, o.subs, nil
}

// comparable drops what only the YAML path knows (positions).
func comparable(res *subject.Resource, subs []subject.Subject) []string {
	var out []string
	if res != nil {
		out = append(out, res.ID(), res.APIVersion)
		for k, v := range res.Labels {
			out = append(out, "label "+k+"="+v)
		}
	}
	for _, s := range subs {
		out = append(out, string(s.List)+" "+s.Container+" "+s.Field+" "+s.Image)
	}
	return out
}

// podObject builds a kind's JSON with a pod spec at the kind's path, every
// container list filled.
func podObject(kind string) []byte {
	spec := map[string]any{
		"initContainers":      []any{map[string]any{"name": "init", "image": "busybox:1.36"}},
		"containers":          []any{map[string]any{"name": "app", "image": "registry.example.com/base/alpine:3.19"}, map[string]any{"name": "side", "image": "centos:7"}},
		"ephemeralContainers": []any{map[string]any{"name": "debug", "image": "ubuntu:18.04"}},
	}
	var n any = spec
	path := subject.PodKinds[kind]
	for i := len(path) - 1; i >= 0; i-- {
		n = map[string]any{path[i]: n}
	}
	obj := n.(map[string]any)
	obj["apiVersion"], obj["kind"] = "v1", kind
	obj["metadata"] = map[string]any{"name": "x", "namespace": "team", "labels": map[string]any{"security.enforce": "high"}}
	b, _ := json.Marshal(obj)
	return b
}

func TestWireCoversEveryPodKind(t *testing.T) {
	for kind := range subject.PodKinds {
		t.Run(kind, func(t *testing.T) {
			raw := podObject(kind)
			wres, wsubs, err := viaWire(raw)
			if err != nil {
				t.Fatal(err)
			}
			yres, ysubs, err := viaYAML(t, raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(wsubs) != 4 {
				t.Errorf("%d subjects, want 4 (init, two containers, ephemeral)", len(wsubs))
			}
			if diff := cmp.Diff(comparable(yres, ysubs), comparable(wres, wsubs)); diff != "" {
				t.Errorf("wire and YAML extraction differ (-yaml +wire):\n%s", diff)
			}
		})
	}
}

func FuzzWireMatchesYAML(f *testing.F) {
	for kind := range subject.PodKinds {
		f.Add(podObject(kind))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		var rv struct {
			Request struct {
				Object json.RawMessage `json:"object"`
			} `json:"request"`
		}
		if json.Unmarshal(b, &rv) == nil && len(rv.Request.Object) > 0 {
			f.Add([]byte(rv.Request.Object))
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var probe map[string]any
		if json.Unmarshal(raw, &probe) != nil {
			return // not a JSON object: never reaches the wire decoder
		}
		wres, wsubs, werr := viaWire(raw)
		yres, ysubs, yerr := viaYAML(t, raw)
		if werr != nil || yerr != nil {
			return // each refuses in its own words; both refusing is checked below
		}
		if diff := cmp.Diff(comparable(yres, ysubs), comparable(wres, wsubs)); diff != "" {
			t.Errorf("wire and YAML extraction differ on %s (-yaml +wire):\n%s", raw, diff)
		}
	})
}
