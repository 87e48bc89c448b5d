// Package manifestgen writes Kubernetes manifests for parity tests: the
// constructs where readers of YAML disagree (keys written twice, merge
// keys, anchors and aliases, !!binary, quoted keys, Lists and typed Lists,
// JSON), each document saying whether baseguard must refuse it.
package manifestgen

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Doc is one generated manifest file.
type Doc struct {
	Src string
	// Refused, when set, is what baseguard's error must say: the document
	// is ambiguous by construction.
	Refused string
}

var images = []string{"alpine:3.19", "centos:7", "registry.example.com/base/wolfi:1", "quay.io/team/app@sha256:" + strings.Repeat("ab", 32), "debian:12", "ubuntu:18.04"}

// kinds are pod-bearing kinds every API server serves, with the YAML that
// leads to their pod spec (indented by two per level).
var kinds = []struct {
	apiVersion, kind string
	path             []string
}{
	{"v1", "Pod", []string{"spec"}},
	{"apps/v1", "Deployment", []string{"spec", "template", "spec"}},
	{"batch/v1", "Job", []string{"spec", "template", "spec"}},
	{"batch/v1", "CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec"}},
}

// Documents returns n documents, the same for the same seed.
func Documents(n int, seed uint64) []Doc {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]Doc, n)
	for i := range out {
		g := gen{r: r, id: i}
		out[i] = g.doc()
	}
	return out
}

type gen struct {
	r  *rand.Rand
	id int
}

func (g *gen) image() string { return images[g.r.IntN(len(images))] }

func (g *gen) doc() Doc {
	switch g.r.IntN(10) {
	case 0:
		return g.json()
	case 1:
		return g.list(false)
	case 2:
		return g.list(true)
	case 3:
		return g.stream()
	}
	return g.yaml(fmt.Sprintf("o%d", g.id))
}

// container writes one container (or image volume) entry at indent, with
// one of the tricks; refused is set when the entry is ambiguous.
func (g *gen) container(name, indent string, anchors *strings.Builder, anchorID *int) (string, string) {
	img := g.image()
	alt := g.image()
	switch g.r.IntN(9) {
	case 0: // the image key written twice
		return fmt.Sprintf("%s- name: %s\n%s  image: %q\n%s  image: %q\n", indent, name, indent, alt, indent, img), "is written twice"
	case 1: // merged, then a key written after the merge
		*anchorID++
		fmt.Fprintf(anchors, "  c%d: &c%d {name: base, image: %q}\n", *anchorID, *anchorID, img)
		return fmt.Sprintf("%s- <<: *c%d\n%s  name: %s\n", indent, *anchorID, indent, name), ""
	case 2: // merged, overriding the image after the merge
		*anchorID++
		fmt.Fprintf(anchors, "  c%d: &c%d {name: %s, image: %q}\n", *anchorID, *anchorID, name, alt)
		return fmt.Sprintf("%s- <<: *c%d\n%s  image: %q\n", indent, *anchorID, indent, img), ""
	case 3: // written before a merge key that merges it too
		*anchorID++
		fmt.Fprintf(anchors, "  c%d: &c%d {image: %q}\n", *anchorID, *anchorID, alt)
		return fmt.Sprintf("%s- name: %s\n%s  image: %q\n%s  <<: *c%d\n", indent, name, indent, img, indent, *anchorID), "tools disagree"
	case 4: // !!binary
		return fmt.Sprintf("%s- name: %s\n%s  image: !!binary %s\n", indent, name, indent, base64.StdEncoding.EncodeToString([]byte(img))), ""
	case 5: // quoted keys, flow style
		return fmt.Sprintf("%s- {\"name\": %s, 'image': %q}\n", indent, name, img), ""
	case 6: // a merge of a list of mappings: the first wins
		*anchorID++
		a := *anchorID
		*anchorID++
		fmt.Fprintf(anchors, "  c%d: &c%d {image: %q}\n  c%d: &c%d {image: %q, name: %s}\n", a, a, img, *anchorID, *anchorID, alt, name)
		return fmt.Sprintf("%s- <<: [*c%d, *c%d]\n", indent, a, *anchorID), ""
	}
	return fmt.Sprintf("%s- name: %s\n%s  image: %s\n", indent, name, indent, img), ""
}

// body writes a pod-bearing object's YAML (without a document marker).
func (g *gen) body(name string, withKind bool) (string, string) {
	k := kinds[g.r.IntN(len(kinds))]
	var b, anchors strings.Builder
	anchorID := 0
	refused := ""
	if withKind {
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\n", k.apiVersion, k.kind)
	}
	fmt.Fprintf(&b, "metadata:\n  name: %s\n", name)
	indent := ""
	for _, p := range k.path {
		fmt.Fprintf(&b, "%s%s:\n", indent, p)
		indent += "  "
	}
	lists := []string{"containers"}
	if g.r.IntN(3) == 0 {
		lists = append([]string{"initContainers"}, lists...)
	}
	for _, list := range lists {
		fmt.Fprintf(&b, "%s%s:\n", indent, list)
		for j := 0; j < 1+g.r.IntN(3); j++ {
			c, why := g.container(fmt.Sprintf("%s-%d", list[:1], j), indent, &anchors, &anchorID)
			b.WriteString(c)
			refused = worse(refused, why)
		}
	}
	if g.r.IntN(3) == 0 {
		fmt.Fprintf(&b, "%svolumes:\n%s- name: v\n%s  image: {reference: %q}\n", indent, indent, indent, g.image())
	}
	if anchors.Len() > 0 {
		return "x-anchors:\n" + anchors.String() + b.String(), refused
	}
	return b.String(), refused
}

func (g *gen) yaml(name string) Doc {
	src, refused := g.body(name, true)
	return Doc{Src: src, Refused: refused}
}

// list wraps objects in a List, or in a typed List (PodList) whose items
// name no kind.
func (g *gen) list(typed bool) Doc {
	var b strings.Builder
	refused := ""
	n := 1 + g.r.IntN(3)
	if typed {
		b.WriteString("apiVersion: v1\nkind: PodList\nitems:\n")
		for j := 0; j < n; j++ {
			img := g.image()
			fmt.Fprintf(&b, "- metadata: {name: o%d-%d}\n  spec:\n    containers:\n    - {name: c, image: %q}\n", g.id, j, img)
		}
		return Doc{Src: b.String()}
	}
	b.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	for j := 0; j < n; j++ {
		body, why := g.body(fmt.Sprintf("o%d-%d", g.id, j), true)
		refused = worse(refused, why)
		for k, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
			prefix := "  "
			if k == 0 {
				prefix = "- "
			}
			b.WriteString(prefix + line + "\n")
		}
	}
	return Doc{Src: b.String(), Refused: refused}
}

// stream is several documents in one file.
func (g *gen) stream() Doc {
	var b strings.Builder
	refused := ""
	for j := 0; j < 2+g.r.IntN(3); j++ {
		d := g.yaml(fmt.Sprintf("o%d-%d", g.id, j))
		fmt.Fprintf(&b, "---\n%s", d.Src)
		if refused == "" { // documents are read in order
			refused = d.Refused
		}
	}
	return Doc{Src: b.String(), Refused: refused}
}

// json writes a Pod as JSON, sometimes with a key written twice.
func (g *gen) json() Doc {
	img, alt := g.image(), g.image()
	if g.r.IntN(3) == 0 {
		return Doc{Src: fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "o%d"}, "spec": {"containers": [{"name": "c", "image": %q, "image": %q}]}}`+"\n", g.id, alt, img), Refused: "is written twice"}
	}
	return Doc{Src: fmt.Sprintf(`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "o%d"}, "spec": {"containers": [{"name": "c", "\u0069mage": %q}], "volumes": [{"name": "v", "image": {"reference": %q}}]}}`+"\n", g.id, img, alt)}
}

// worse is the refusal a document with both reasons gets: keys written
// twice are found before any merge key is followed.
func worse(a, b string) string {
	if a == "is written twice" || b == "" {
		return a
	}
	if b == "is written twice" || a == "" {
		return b
	}
	return a
}
