package registry

import (
	"strings"
	"testing"

	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-cmp/cmp"
)

// platformView is what a test compares of a platform's lineage.
type platformView struct {
	Platform string
	Digest   string
	Lineage  []view
}

func TestResolveLayouts(t *testing.T) {
	w := newWorld(t)
	alpine := func(digest string, src lineage.Source) view { return w.base("base/alpine:3.19", "alpine/"+digest, src) }
	tests := []struct {
		name    string
		image   string
		opts    []Option
		ropts   []ResolveOption
		want    []platformView
		problem string // a problem some entry must report
	}{{
		name:  "ko index and platform annotations",
		image: "apps/ko:1",
		want: []platformView{
			{"linux/amd64", w.d["ko/amd64"].String(), []view{w.image("apps/ko:1", "ko/amd64"), alpine("amd64", lineage.SourceAnnotation)}},
			{"linux/arm64", w.d["ko/arm64"].String(), []view{w.image("apps/ko:1", "ko/arm64"), alpine("arm64", lineage.SourceAnnotation)}},
		},
	}, {
		name:  "buildx provenance v0.2 skips the builder stage and the frontend",
		image: "apps/buildx02:1",
		want: []platformView{
			{"linux/amd64", w.d["buildx02/amd64"].String(), []view{w.image("apps/buildx02:1", "buildx02/amd64"), alpine("amd64", lineage.SourceProvenance)}},
		},
	}, {
		name:  "buildx provenance v1 picks the longest prefix, then follows the base's annotation",
		image: "apps/buildx1:1",
		want: []platformView{
			{"linux/amd64", w.d["buildx1/amd64"].String(), []view{
				w.image("apps/buildx1:1", "buildx1/amd64"),
				w.base("company/base:1", "company1", lineage.SourceProvenance),
				alpine("amd64", lineage.SourceAnnotation),
			}},
		},
	}, {
		name:  "legacy buildinfo",
		image: "apps/buildinfo:1",
		want: []platformView{
			{"linux/amd64", w.d["buildinfo"].String(), []view{w.image("apps/buildinfo:1", "buildinfo"), alpine("amd64", lineage.SourceBuildinfo)}},
		},
	}, {
		name:  "buildpacks run image",
		image: "apps/pack:1",
		want: []platformView{
			{"linux/amd64", w.d["pack"].String(), []view{w.image("apps/pack:1", "pack"), w.base("cnb/run:base", "run", lineage.SourceBuildpacks)}},
		},
	}, {
		name:  "base annotations as labels",
		image: "apps/label:1",
		want: []platformView{
			{"linux/amd64", w.d["label"].String(), []view{w.image("apps/label:1", "label"), alpine("amd64", lineage.SourceAnnotation)}},
		},
	}, {
		name:  "buildpacks daemon build on a run image tag that moved",
		image: "apps/pack-moved:1",
		want: []platformView{{"linux/amd64", w.d["pack-moved"].String(), []view{
			w.image("apps/pack-moved:1", "pack-moved"),
			{Ref: w.name("cnb/run:old"), Digest: w.d["run/new"].String(), Source: lineage.SourceBuildpacks},
		}}},
		problem: "the image was built on an earlier " + w.name("cnb/run:old") + ": the run image's top layer",
	}, {
		name:  "no metadata: layers against the catalog",
		image: "apps/plain:1",
		opts:  []Option{WithCatalog(w.ref("library/golang:1.22"), w.ref("base/alpine:3.19"))},
		want: []platformView{
			{"linux/amd64", w.d["plain"].String(), []view{w.image("apps/plain:1", "plain"), alpine("amd64", lineage.SourceLayers)}},
		},
	}, {
		name:    "no metadata and an equal match in the catalog: ambiguous, not guessed",
		image:   "apps/plain:1",
		opts:    []Option{WithCatalog(w.ref("base/alpine:3.19"), w.ref("mirror/alpine:3.19"))},
		want:    []platformView{{"linux/amd64", w.d["plain"].String(), []view{w.image("apps/plain:1", "plain")}}},
		problem: "ambiguous: its layers match " + w.name("base/alpine:3.19") + ", " + w.name("mirror/alpine:3.19") + " equally",
	}, {
		name:  "no metadata and no catalog: no base",
		image: "apps/plain:1",
		want:  []platformView{{"linux/amd64", w.d["plain"].String(), []view{w.image("apps/plain:1", "plain")}}},
	}, {
		name:  "forged annotation is not verified",
		image: "apps/forged:1",
		want: []platformView{{"linux/amd64", w.d["forged"].String(), []view{
			w.image("apps/forged:1", "forged"),
			{Ref: w.name("base/alpine:3.19"), Digest: w.d["alpine/amd64"].String(), Source: lineage.SourceAnnotation},
		}}},
		problem: "declared base " + w.name("base/alpine:3.19") + " (annotation) is not verified: its layers are not a prefix of the image's",
	}, {
		name:  "forged annotation loses to the layers",
		image: "apps/forged:1",
		opts:  []Option{WithCatalog(w.ref("library/golang:1.22"))},
		want: []platformView{{"linux/amd64", w.d["forged"].String(), []view{
			w.image("apps/forged:1", "forged"),
			w.base("library/golang:1.22", "golang", lineage.SourceLayers),
		}}},
		problem: "the image also declares base " + w.name("base/alpine:3.19"),
	}, {
		name:  "index without linux/amd64: every platform",
		image: "apps/arm:1",
		want: []platformView{
			{"linux/arm64", w.d["arm/arm64"].String(), []view{w.image("apps/arm:1", "arm/arm64"), alpine("arm64", lineage.SourceAnnotation)}},
			{"linux/s390x", w.d["arm/s390x"].String(), []view{w.image("apps/arm:1", "arm/s390x")}},
		},
	}, {
		name:  "index without linux/amd64: primary is the first platform",
		image: "apps/arm:1",
		ropts: []ResolveOption{OnlyPrimary()},
		want: []platformView{
			{"linux/arm64", w.d["arm/arm64"].String(), []view{w.image("apps/arm:1", "arm/arm64"), alpine("arm64", lineage.SourceAnnotation)}},
		},
	}, {
		name:  "one platform picked",
		image: "apps/ko:1",
		ropts: []ResolveOption{ForPlatform("linux/arm64")},
		want: []platformView{
			{"linux/arm64", w.d["ko/arm64"].String(), []view{w.image("apps/ko:1", "ko/arm64"), alpine("arm64", lineage.SourceAnnotation)}},
		},
	}, {
		name:  "three-level chain",
		image: "apps/chain:1",
		want: []platformView{{"linux/amd64", w.d["chain"].String(), []view{
			w.image("apps/chain:1", "chain"),
			w.base("company/base:2", "company2", lineage.SourceAnnotation),
			w.base("upstream/alpine:3", "upstream", lineage.SourceAnnotation),
		}}},
	}, {
		name:  "stale base",
		image: "apps/stale:1",
		want: []platformView{{"linux/amd64", w.d["stale"].String(), []view{
			w.image("apps/stale:1", "stale"),
			{Ref: w.name("base/stale:1"), Digest: w.d["stale/old"].String(), Source: lineage.SourceAnnotation, Verified: true, Current: "outdated " + w.d["stale/new"].String()},
		}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := w.client(tc.opts...)
			res, err := c.Resolve(ctxT(t), w.ref(tc.image), tc.ropts...)
			if err != nil {
				t.Fatal(err)
			}
			var got []platformView
			for _, p := range res.Platforms {
				if p.Lineage.Err != nil {
					t.Errorf("%s: %v", p.Platform, p.Lineage.Err)
				}
				got = append(got, platformView{p.Platform, p.Digest, views(p.Lineage)})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("lineages (-want +got):\n%s", diff)
			}
			if ps := problems(res); tc.problem != "" && !strings.Contains(ps, tc.problem) {
				t.Errorf("problems %q do not report %q", ps, tc.problem)
			} else if tc.problem == "" && ps != "" {
				t.Errorf("unexpected problems: %s", ps)
			}
		})
	}
}

func problems(res Result) string {
	var ps []string
	for _, p := range res.Platforms {
		for _, e := range p.Lineage.Entries {
			ps = append(ps, e.Problems...)
		}
	}
	return strings.Join(ps, "; ")
}

func TestResolveMissingPlatform(t *testing.T) {
	w := newWorld(t)
	_, err := w.client().Resolve(ctxT(t), w.ref("apps/arm:1"), ForPlatform("linux/amd64"))
	var pe *PlatformError
	if !errorsAs(err, &pe) {
		t.Fatalf("err = %v, want a *PlatformError", err)
	}
	if diff := cmp.Diff([]string{"linux/arm64", "linux/s390x"}, pe.Available); diff != "" {
		t.Errorf("available (-want +got):\n%s", diff)
	}
}

func TestLineageForCheck(t *testing.T) {
	w := newWorld(t)
	c := w.client()
	l := c.Lineage(ctxT(t), w.ref("apps/ko:1"))
	if !l.Resolved || l.Err != nil {
		t.Fatalf("Resolved=%v Err=%v", l.Resolved, l.Err)
	}
	want := []view{w.image("apps/ko:1", "ko/amd64"), w.base("base/alpine:3.19", "alpine/amd64", lineage.SourceAnnotation)}
	if diff := cmp.Diff(want, views(l)); diff != "" {
		t.Errorf("lineage (-want +got):\n%s", diff)
	}
	missing := c.Lineage(ctxT(t), w.ref("apps/missing:1"))
	if missing.Err == nil || len(missing.Entries) != 1 || missing.Entries[0].Ref.Canonical() != w.name("apps/missing:1") {
		t.Errorf("missing image: got %+v, want the reference alone with Err", missing)
	}
}

func TestCatalogRefs(t *testing.T) {
	refs, notes := CatalogRefs(policyPatterns("registry.example.com/base/alpine:3.19", "registry.example.com/base/*", "alpine:3.19", "docker.io/library/alpine:3.19"))
	var got []string
	for _, r := range refs {
		got = append(got, r.Canonical())
	}
	if diff := cmp.Diff([]string{"registry.example.com/base/alpine:3.19", "docker.io/library/alpine:3.19"}, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "registry.example.com/base/*") {
		t.Errorf("notes = %q, want one about the wildcard", notes)
	}
}
