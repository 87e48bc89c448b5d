package rebase

import (
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// seeded is a reproducible image: the same seed gives the same digest.
func seeded(seed int64, platform string) v1.Image {
	img := must(random.Image(256, 2, random.WithSource(rand.NewSource(seed))))
	p := must(v1.ParsePlatform(platform))
	cf := must(img.ConfigFile()).DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Architecture
	return must(mutate.ConfigFile(img, cf))
}

// baseRepo is a registry of base tags: alpine 3.18 to 3.22 (3.21 a
// two-platform index), slim variants, latest, a distroless nonroot; the
// tag 3.19 has moved since OLD319 was pushed. names maps digests to what
// golden files call them.
type baseRepo struct {
	reg   *testRegistry
	names map[string]string
}

func newBaseRepo(t *testing.T) *baseRepo {
	t.Helper()
	b := &baseRepo{reg: newTestRegistry(t), names: map[string]string{}}
	old := b.reg.push(t, "base/alpine:3.19", seeded(1900, "linux/amd64"))
	b.names[old.String()] = "OLD319"
	for tag, seed := range map[string]int64{"3.18": 18, "3.19": 19, "3.19-slim": 191, "3.20": 20, "3.21-slim": 211, "3.22": 22, "latest": 99} {
		d := b.reg.push(t, "base/alpine:"+tag, seeded(seed, "linux/amd64"))
		b.names[d.String()] = "DIGEST(alpine:" + tag + ")"
	}
	imgs := map[string]v1.Image{"linux/amd64": seeded(21, "linux/amd64"), "linux/arm64": seeded(2100, "linux/arm64")}
	d := b.reg.pushIndex(t, "base/alpine:3.21", indexOf(t, imgs, []string{"linux/amd64", "linux/arm64"}, false))
	b.names[d.String()] = "CUR321"
	d = b.reg.push(t, "base/distroless:nonroot", seeded(7, "linux/amd64"))
	b.names[d.String()] = "DIGEST(distroless:nonroot)"
	return b
}

// in turns a golden text into a real one; out does the reverse.
func (b *baseRepo) in(s string) string {
	s = strings.ReplaceAll(s, "REGISTRY", b.reg.host)
	for d, n := range b.names {
		if !strings.HasPrefix(n, "DIGEST(") {
			s = strings.ReplaceAll(s, n, d)
		}
	}
	return s
}

func (b *baseRepo) out(s string) string {
	s = strings.ReplaceAll(s, b.reg.host, "REGISTRY")
	for d, n := range b.names {
		s = strings.ReplaceAll(s, d, n)
	}
	return s
}

const goldenPolicy = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  rules:
    - name: approved
      allow: ["REGISTRY/base/*"]
    - name: deprecated
      deny: ["*alpine:3.18*"]
    - name: alpine-versions
      when: ["*/base/alpine:*"]
      allow: ["*/base/alpine:3.19*", "*/base/alpine:3.20*", "*/base/alpine:3.21*", "*/base/alpine:latest*"]
`

func (b *baseRepo) checker(t *testing.T) *Checker {
	t.Helper()
	return must(NewChecker(Options{Lineage: must(registry.New()), Policies: loadPolicy(t, b.in(goldenPolicy))}))
}

// TestUpdateGolden rewrites a corpus of Dockerfiles and compares them with
// golden files; a second run changes nothing.
func TestUpdateGolden(t *testing.T) {
	b := newBaseRepo(t)
	c := b.checker(t)
	notices := map[string]string{
		"digest-only.Dockerfile": "pinned by digest alone",
	}
	files, _ := filepath.Glob("testdata/update/*.Dockerfile")
	sort.Strings(files)
	if len(files) < 10 {
		t.Fatalf("corpus has %d files", len(files))
	}
	for _, file := range files {
		for _, bump := range []bool{false, true} {
			name := filepath.Base(file)
			golden := strings.TrimSuffix(file, ".Dockerfile") + ".golden"
			if bump {
				golden = strings.TrimSuffix(file, ".Dockerfile") + ".bump.golden"
			}
			t.Run(filepath.Base(golden), func(t *testing.T) {
				src := b.in(string(must(os.ReadFile(file))))
				u := update(t, c, name, src, bump)
				got := b.out(string(u.New))
				if *updateGolden {
					os.WriteFile(golden, []byte(got), 0o644)
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test ./rebase -run UpdateGolden -update)", err)
				}
				if diff := cmp.Diff(string(want), got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
				if n := notices[name]; n != "" && !strings.Contains(strings.Join(u.Notices, "\n"), n) {
					t.Errorf("notices %q, want one saying %q", u.Notices, n)
				}
				again := update(t, c, name, string(u.New), bump)
				if again.Changed() || len(again.Changes) > 0 {
					t.Errorf("a second run changed %+v:\n%s", again.Changes, b.out(string(again.New)))
				}
			})
		}
	}
}

func update(t *testing.T, c *Checker, name, src string, bump bool) *Update {
	t.Helper()
	df, err := ParseDockerfile(name, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.Update(ctx(t), df, UpdateOptions{Bump: bump})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
