package subject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/internal/manifestgen"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The reference for what Kubernetes applies is kubectl's own decoder:
// apimachinery's YAMLOrJSONDecoder (YAML documents split as kubectl splits
// them, each converted to JSON by sigs.k8s.io/yaml), objects with items
// read as Lists whose items inherit the List's kind, as kubectl's
// unstructured decoding does. TestKubectlParity (test/parity) holds
// baseguard to the kubectl binary itself on the same documents.

// referenceImages decodes src as kubectl does and returns every image of
// every pod-bearing object as "Kind/name field=image", sorted.
func referenceImages(src []byte) ([]string, error) {
	dec := k8syaml.NewYAMLOrJSONDecoder(bytes.NewReader(src), 4096)
	var out []string
	for {
		var obj any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if obj == nil {
			continue
		}
		m, ok := obj.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("not an object: %T", obj)
		}
		got, err := referenceObject(m)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	sort.Strings(out)
	return out, nil
}

func referenceObject(m map[string]any) ([]string, error) {
	if items, ok := m["items"]; ok {
		list, ok := items.([]any)
		if items != nil && !ok {
			return nil, fmt.Errorf("items is not a list")
		}
		kind, _ := m["kind"].(string)
		apiVersion, _ := m["apiVersion"].(string)
		var out []string
		for _, it := range list {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("item is not an object")
			}
			if im["kind"] == nil && im["apiVersion"] == nil {
				im["kind"], im["apiVersion"] = strings.TrimSuffix(kind, "List"), apiVersion
			}
			// kubectl does not flatten Lists in Lists: it would try to
			// create the inner List and fail.
			if _, nested := im["items"]; nested {
				continue
			}
			got, err := workloadImages(im)
			if err != nil {
				return nil, err
			}
			out = append(out, got...)
		}
		return out, nil
	}
	return workloadImages(m)
}

func workloadImages(m map[string]any) ([]string, error) {
	kind, _ := m["kind"].(string)
	apiVersion, _ := m["apiVersion"].(string)
	w, ok := FindWorkload(apiVersion, kind, nil)
	if !ok {
		return nil, nil
	}
	meta, _ := m["metadata"].(map[string]any)
	for _, k := range []string{"name", "generateName", "namespace"} {
		if _, ok := meta[k].(string); meta[k] != nil && !ok {
			// The API server refuses the object: nothing of it runs.
			return nil, fmt.Errorf("metadata.%s is not a string", k)
		}
	}
	name, _ := meta["name"].(string)
	var spec any = m
	for _, k := range w.SpecPath() {
		sm, _ := spec.(map[string]any)
		spec = sm[k]
	}
	sm, _ := spec.(map[string]any)
	var out []string
	prefix := joinPath(w.SpecPath())
	for _, list := range append(append([]List(nil), Lists...), Volumes) {
		entries, _ := sm[string(list)].([]any)
		for i, e := range entries {
			em, _ := e.(map[string]any)
			field, img := "image", em["image"]
			if list == Volumes {
				src, _ := em["image"].(map[string]any)
				field, img = "image.reference", src["reference"]
			}
			if img == nil {
				continue
			}
			s, ok := img.(string)
			if !ok {
				return nil, fmt.Errorf("%s is not a string", field)
			}
			out = append(out, kind+"/"+name+" "+prefix+"."+string(list)+"["+strconv.Itoa(i)+"]."+field+"="+s)
		}
	}
	return out, nil
}

// readImages is what baseguard reads, in the same form.
func readImages(src []byte) ([]string, error) {
	var out []string
	err := ReadManifests("f", bytes.NewReader(src), Options{}, func(r *Resource, subs []Subject) error {
		for _, s := range subs {
			out = append(out, r.Kind+"/"+r.Name+" "+s.Field+"="+s.Image)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// missing returns what want has that got lacks.
func missing(want, got []string) []string {
	have := map[string]int{}
	for _, g := range got {
		have[g]++
	}
	var out []string
	for _, w := range want {
		if have[w] == 0 {
			out = append(out, w)
			continue
		}
		have[w]--
	}
	return out
}

// FuzzDecoderParity: whatever baseguard reads without refusing, it reads
// every image kubectl's decoder would apply, as kubectl reads it. (Where
// baseguard refuses a manifest, check stops with exit 2: nothing passes.)
func FuzzDecoderParity(f *testing.F) {
	for _, doc := range manifestgen.Documents(40, 7) {
		f.Add(doc.Src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		want, err := referenceImages([]byte(src))
		if err != nil {
			return // kubectl would apply nothing
		}
		got, err := readImages([]byte(src))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v, want *Error", err, err)
			}
			return
		}
		if m := missing(want, got); len(m) > 0 {
			t.Fatalf("kubectl would apply images baseguard did not read: %q\nbaseguard read %q\ninput:\n%s", m, got, src)
		}
	})
}

// TestGeneratedParity: on generated documents, baseguard reads exactly
// what kubectl's decoder reads, or refuses exactly the documents written to
// be ambiguous.
func TestGeneratedParity(t *testing.T) {
	for i, doc := range manifestgen.Documents(600, 1) {
		want, refErr := referenceImages([]byte(doc.Src))
		got, err := readImages([]byte(doc.Src))
		switch {
		case doc.Refused != "":
			if err == nil || !strings.Contains(err.Error(), doc.Refused) {
				t.Errorf("document %d: error = %v, want one saying %q\n%s", i, err, doc.Refused, doc.Src)
			}
		case refErr != nil:
			t.Errorf("document %d: kubectl's decoder refuses it: %v\n%s", i, refErr, doc.Src)
		case err != nil:
			t.Errorf("document %d: %v\n%s", i, err, doc.Src)
		default:
			if diff := strings.Join(missing(want, got), "\n") + strings.Join(missing(got, want), "\n"); diff != "" {
				t.Errorf("document %d: kubectl reads %q, baseguard %q\n%s", i, want, got, doc.Src)
			}
		}
	}
}
