package subject

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pod is a Pod with n init containers, n containers and an image volume.
func pod(name string, n int, bad string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind: Pod\nmetadata: {name: %s}\nspec:\n  initContainers:\n", name)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: i%d, image: busybox:%d}\n", i, i)
	}
	b.WriteString("  containers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {name: c%d, image: alpine:%d}\n", i, i)
	}
	b.WriteString(bad)
	b.WriteString("  volumes: [{name: v, image: {reference: debian:12}}]\n")
	return b.String()
}

// calls reads src and records each callback: the resource and the
// images it was given.
func calls(src string, opt Options) ([]string, error) {
	var out []string
	err := ReadManifests("m.yaml", strings.NewReader(src), opt, func(r *Resource, subs []Subject) error {
		var images []string
		for _, s := range subs {
			if s.Resource != r {
				return fmt.Errorf("subject of %s handed out with %s", s.Resource.Name, r.Name)
			}
			images = append(images, s.Image)
		}
		out = append(out, r.Name+" "+strings.Join(images, ","))
		return nil
	})
	return out, err
}

// TestSubjectsPerCall: with SubjectsPerCall, a resource's subjects are
// handed out in calls of at most that many, in the order and with the
// resource they have in one call; a resource in error hands out none.
func TestSubjectsPerCall(t *testing.T) {
	// big is handed out by a worker in parts (flushSubjects, flushEvents).
	src := pod("a", 3, "") + "---\n" + pod("b", 1, "") + "---\n" + pod("big", 3000, "") + "---\n" + pod("d", 1, "")
	whole, err := calls(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		for _, per := range []int{1, 2, 5, 7, 8, 1000} {
			t.Run(fmt.Sprintf("%d workers, %d a call", workers, per), func(t *testing.T) {
				got, err := calls(src, Options{Workers: workers, SubjectsPerCall: per})
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				var images [][]string
				for _, c := range got {
					name, list, _ := strings.Cut(c, " ")
					batch := strings.Split(list, ",")
					if len(batch) > per {
						t.Errorf("a call of %d subjects: %s", len(batch), c)
					}
					if n := len(names); n > 0 && names[n-1] == name {
						images[n-1] = append(images[n-1], batch...)
						continue
					}
					names, images = append(names, name), append(images, batch)
				}
				var joined []string
				for i, name := range names {
					joined = append(joined, name+" "+strings.Join(images[i], ","))
				}
				if diff := cmp.Diff(whole, joined); diff != "" {
					t.Errorf("batches differ from one call a resource (-one +batches):\n%s", diff)
				}
			})
		}
	}
	bad := pod("c", 3, "  - {name: x, image: [not, a, string]}\n")
	for _, per := range []int{1, 2, 100} {
		got, err := calls(bad, Options{SubjectsPerCall: per})
		want := "m.yaml:12: Pod c: spec.containers[3].image must be a string"
		if err == nil || err.Error() != want || len(got) != 0 {
			t.Errorf("%d a call: calls %q, error %v; want no call and %q", per, got, err, want)
		}
	}
}
