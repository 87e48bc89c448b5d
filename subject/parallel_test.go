package subject

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// trace records every callback of a read, and its error. Workers 0 reads
// the whole input as one stream, not chunk by chunk.
func trace(src string, workers int) []string {
	var out []string
	opt := Options{
		DefaultNamespace: "default",
		Workers:          workers,
		OnNamespace:      func(n string, l map[string]string) { out = append(out, fmt.Sprintf("ns %s %v", n, l)) },
	}
	fn := func(r *Resource, subs []Subject) error {
		out = append(out, fmt.Sprintf("res %s/%s/%s line %d", r.Kind, r.Namespace, r.Name, r.Line))
		for _, s := range subs {
			out = append(out, fmt.Sprintf("  %s %s %s line %d col %d", s.Container, s.Field, s.Image, s.Line, s.Column))
		}
		return nil
	}
	var err error
	if workers == 0 {
		err = readChunk("m.yaml", chunk{line: 1, data: src}, opt, fn)
	} else {
		err = ReadManifests("m.yaml", strings.NewReader(src), opt, fn)
	}
	if err != nil {
		out = append(out, "error "+err.Error())
	}
	return out
}

// generated is a stream of many documents of every kind of content the
// splitter must respect: comments, directives, `---` with content, block
// scalars, Namespaces, Lists, a document end marker.
func generated(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	for i := 0; i < n; i++ {
		switch r.IntN(8) {
		case 0:
			fmt.Fprintf(&b, "--- # pod %d\napiVersion: v1\nkind: Pod\nmetadata: {name: p%d}\nspec:\n  containers:\n    - name: a\n      image: alpine:%d\n      args:\n        - |\n          line one\n          line two\n", i, i, i)
		case 1:
			fmt.Fprintf(&b, "---\nkind: Namespace\nmetadata:\n  name: ns%d\n  labels: {n: \"%d\"}\n", i, i)
		case 2:
			fmt.Fprintf(&b, "...\n%%YAML 1.1\n---\nkind: Deployment\nmetadata: {name: d%d, namespace: x}\nspec:\n  template:\n    spec:\n      initContainers: [{name: i, image: 'busybox:%d'}]\n      containers: [{name: c, image: \"centos:7\"}]\n", i, i)
		case 3:
			fmt.Fprintf(&b, "--- {\"kind\": \"Pod\", \"metadata\": {\"name\": \"j%d\"}, \"spec\": {\"containers\": [{\"name\": \"x\", \"image\": \"debian:%d\"}]}}\n", i, i)
		case 4:
			fmt.Fprintf(&b, "---\nkind: List\nitems:\n  - kind: CronJob\n    metadata: {name: cj%d}\n    spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: r, image: ubuntu:18.04}]}}}}}\n...\n", i)
		case 5:
			fmt.Fprintf(&b, "---\n# only a comment %d\n", i)
		case 6:
			fmt.Fprintf(&b, "---\nkind: ConfigMap\ndata:\n  script: |\n    ---not a marker\n    echo %d\n", i)
		default:
			fmt.Fprintf(&b, "---\nkind: Job\nmetadata:\n  name: job%d\nspec:\n  template:\n    spec:\n      containers:\n%s      - name: big\n        image: registry.example.com/base/wolfi:%d\n", i, strings.Repeat("      - {name: pad, image: pad}\n", r.IntN(4)), i)
		}
	}
	return b.String()
}

// TestParallelMatchesSequential: parsing documents chunk by chunk, on one
// worker or several, makes the same callbacks, in the same order, with the
// same line numbers and errors, as parsing the whole stream at once.
func TestParallelMatchesSequential(t *testing.T) {
	big := generated(3000, 1)
	inputs := map[string]string{
		"generated":          big,
		"error late":         big + "---\nkind: Pod\nspec: [\n",
		"bad container late": big + "---\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers: {}\n",
		"no separators":      "kind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c, image: a}]}\n",
		"empty":              "",
		"leading comment":    "# hi\n" + big,
	}
	for name, src := range inputs {
		t.Run(name, func(t *testing.T) {
			seq := trace(src, 0)
			for _, workers := range []int{1, 2, 3, 8} {
				if diff := cmp.Diff(seq, trace(src, workers)); diff != "" {
					t.Fatalf("%d workers differ from sequential (-seq +parallel):\n%s", workers, diff)
				}
			}
		})
	}
	if got := trace(big, 4); len(got) < 3000 {
		t.Fatalf("only %d callbacks for 3000 documents", len(got))
	}
}

func FuzzParallelMatchesSequential(f *testing.F) {
	f.Add(generated(3, 2))
	f.Add("%YAML 1.1\n---\nkind: Pod\n--- x\n---\t\n...\n")
	f.Fuzz(func(t *testing.T, src string) {
		seq := trace(src, 0)
		for _, workers := range []int{1, 3} {
			if diff := cmp.Diff(seq, trace(src, workers)); diff != "" {
				t.Fatalf("%d workers differ from the whole stream (-whole +chunked):\n%s", workers, diff)
			}
		}
	})
}
