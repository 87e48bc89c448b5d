package registry

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/lineage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// world is a registry populated with images laid out as the tools that
// build them lay them out.
type world struct {
	*testRegistry
	d map[string]v1.Hash // digests by name
}

// newWorld pushes:
//
//	base/alpine:3.19        index: linux/amd64, linux/arm64
//	mirror/alpine:3.19      the same index under another name
//	library/golang:1.22     linux/amd64, a builder stage
//	apps/ko:1               ko: index and platform manifests annotated with the base
//	company/base:1          on alpine (annotation)
//	apps/buildx02:1         buildx, SLSA v0.2 provenance; golang and alpine materials
//	apps/buildx1:1          buildx, SLSA v1 provenance; alpine (builder stage, a shorter prefix), golang, company/base:1
//	apps/buildinfo:1        legacy buildinfo sources golang and alpine
//	cnb/run:base, apps/pack:1   buildpacks run image and app
//	cnb/run:old, apps/pack-moved:1   a daemon build on a run image whose tag moved
//	apps/plain:1            on alpine, no metadata at all
//	apps/label:1            on alpine, declared by Dockerfile LABELs (the index digest)
//	apps/forged:1           on golang, annotated as on alpine
//	apps/arm:1              index without linux/amd64: linux/arm64 (on alpine), linux/s390x
//	upstream/alpine:3, company/base:2, apps/chain:1   a three-level chain
//	base/stale:1, apps/stale:1   a base whose tag moved after the app was built
func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{testRegistry: newTestRegistry(t), d: map[string]v1.Hash{}}
	alpineAmd, alpineArm := baseImage(t, 2, "linux/amd64"), baseImage(t, 2, "linux/arm64")
	w.d["alpine/amd64"], w.d["alpine/arm64"] = digestOf(t, alpineAmd), digestOf(t, alpineArm)
	alpine := indexOf(t, nil, platformEntry{img: alpineAmd, platform: "linux/amd64"}, platformEntry{img: alpineArm, platform: "linux/arm64"})
	w.d["alpine"] = w.push("base/alpine:3.19", alpine)
	w.push("mirror/alpine:3.19", alpine)
	golang := baseImage(t, 3, "linux/amd64")
	w.d["golang"] = w.push("library/golang:1.22", golang)

	w.ko(alpineAmd, alpineArm)
	company := annotate(childOf(t, alpineAmd, 1), baseAnns(w.name("base/alpine:3.19"), w.d["alpine/amd64"]))
	w.d["company1"] = w.push("company/base:1", company)
	w.buildx(alpineAmd, company)
	w.buildinfo(alpineAmd)
	w.pack()
	w.d["plain"] = w.push("apps/plain:1", childOf(t, alpineAmd, 2))
	w.d["label"] = w.push("apps/label:1", withLabels(t, childOf(t, alpineAmd, 1), baseAnns(w.name("base/alpine:3.19"), w.d["alpine"])))
	w.d["forged"] = w.push("apps/forged:1", annotate(childOf(t, golang, 1), baseAnns(w.name("base/alpine:3.19"), w.d["alpine/amd64"])))
	w.arm(alpineArm)
	w.chain()
	w.stale()
	return w
}

func (w *world) ko(amd, arm v1.Image) {
	t := w.t
	base := w.name("base/alpine:3.19")
	appAmd := annotate(childOf(t, amd, 1), baseAnns(base, w.d["alpine/amd64"]))
	appArm := annotate(childOf(t, arm, 1), baseAnns(base, w.d["alpine/arm64"]))
	w.d["ko/amd64"], w.d["ko/arm64"] = digestOf(t, appAmd), digestOf(t, appArm)
	w.d["ko"] = w.push("apps/ko:1", indexOf(t, baseAnns(base, w.d["alpine"]),
		platformEntry{img: appAmd, platform: "linux/amd64"}, platformEntry{img: appArm, platform: "linux/arm64"}))
}

func (w *world) buildx(alpineAmd, company v1.Image) {
	t := w.t
	frontend := material{URI: dockerPURL(w.name("docker/dockerfile:1"), ""), Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}}
	golang := material{URI: dockerPURL(w.name("library/golang:1.22"), "linux/amd64"), Digest: map[string]string{"sha256": w.d["golang"].Hex}}
	alpine := material{URI: dockerPURL(w.name("base/alpine:3.19"), "linux/amd64"), Digest: map[string]string{"sha256": w.d["alpine"].Hex}}
	comp := material{URI: dockerPURL(w.name("company/base:1"), "linux/amd64"), Digest: map[string]string{"sha256": w.d["company1"].Hex}}

	app02 := childOf(t, alpineAmd, 1)
	w.d["buildx02/amd64"] = digestOf(t, app02)
	att02 := attestationImage(t, predicateSLSA02, provenanceStatement(t, predicateSLSA02, []material{frontend, golang, alpine}))
	w.d["buildx02"] = w.push("apps/buildx02:1", indexOf(t, nil, platformEntry{img: app02, platform: "linux/amd64"}, attestationEntry(att02, w.d["buildx02/amd64"])))

	app1 := childOf(t, company, 1)
	w.d["buildx1/amd64"] = digestOf(t, app1)
	att1 := attestationImage(t, predicateSLSA1, provenanceStatement(t, predicateSLSA1, []material{alpine, golang, comp}))
	w.d["buildx1"] = w.push("apps/buildx1:1", indexOf(t, nil, platformEntry{img: app1, platform: "linux/amd64"}, attestationEntry(att1, w.d["buildx1/amd64"])))
}

func (w *world) buildinfo(alpineAmd v1.Image) {
	t := w.t
	bi, _ := json.Marshal(map[string]any{
		"frontend": "dockerfile.v0",
		"sources": []map[string]string{
			{"type": "docker-image", "ref": w.name("library/golang:1.22"), "pin": w.d["golang"].String()},
			{"type": "docker-image", "ref": w.name("base/alpine:3.19"), "pin": w.d["alpine"].String()},
			{"type": "http", "ref": "https://example.com/file.tgz", "pin": "sha256:00"},
		},
	})
	img := withConfigKey(t, childOf(t, alpineAmd, 1), configKeyBuildinfo, base64.StdEncoding.EncodeToString(bi))
	w.d["buildinfo"] = w.push("apps/buildinfo:1", img)
}

func (w *world) pack() {
	t := w.t
	run := baseImage(t, 2, "linux/amd64")
	w.d["run"] = w.push("cnb/run:base", run)
	ids := diffIDs(t, run)
	md, _ := json.Marshal(map[string]any{
		"app":        []any{map[string]string{"sha": "sha256:" + strings.Repeat("cd", 32)}},
		"buildpacks": []any{},
		"runImage": map[string]any{
			"topLayer":  ids[len(ids)-1].String(),
			"reference": w.name("cnb/run") + "@" + w.d["run"].String(),
			"image":     w.name("cnb/run:base"),
		},
		"stack": map[string]any{"runImage": map[string]any{"image": w.name("cnb/run:base")}},
	})
	w.d["pack"] = w.push("apps/pack:1", withLabels(t, childOf(t, run, 2), map[string]string{labelBuildpacks: string(md)}))

	// A daemon build (the reference is an image ID) on a run image whose
	// tag has moved since.
	old := baseImage(t, 2, "linux/amd64")
	w.push("cnb/run:old", old)
	ids = diffIDs(t, old)
	md, _ = json.Marshal(map[string]any{"runImage": map[string]any{
		"topLayer": ids[len(ids)-1].String(), "reference": strings.Repeat("ef", 32), "image": w.name("cnb/run:old"),
	}})
	w.d["pack-moved"] = w.push("apps/pack-moved:1", withLabels(t, childOf(t, old, 1), map[string]string{labelBuildpacks: string(md)}))
	w.d["run/new"] = w.push("cnb/run:old", baseImage(t, 2, "linux/amd64"))
}

func (w *world) arm(alpineArm v1.Image) {
	t := w.t
	appArm := annotate(childOf(t, alpineArm, 1), baseAnns(w.name("base/alpine:3.19"), w.d["alpine/arm64"]))
	appS390 := childOf(t, baseImage(t, 1, "linux/s390x"), 1)
	w.d["arm/arm64"], w.d["arm/s390x"] = digestOf(t, appArm), digestOf(t, appS390)
	w.d["arm"] = w.push("apps/arm:1", indexOf(t, nil, platformEntry{img: appArm, platform: "linux/arm64"}, platformEntry{img: appS390, platform: "linux/s390x"}))
}

func (w *world) chain() {
	t := w.t
	up := baseImage(t, 2, "linux/amd64")
	w.d["upstream"] = w.push("upstream/alpine:3", up)
	comp := annotate(childOf(t, up, 1), baseAnns(w.name("upstream/alpine:3"), w.d["upstream"]))
	w.d["company2"] = w.push("company/base:2", comp)
	app := annotate(childOf(t, comp, 1), baseAnns(w.name("company/base:2"), w.d["company2"]))
	w.d["chain"] = w.push("apps/chain:1", app)
}

func (w *world) stale() {
	t := w.t
	old := baseImage(t, 2, "linux/amd64")
	w.d["stale/old"] = w.push("base/stale:1", old)
	w.d["stale"] = w.push("apps/stale:1", annotate(childOf(t, old, 1), baseAnns(w.name("base/stale:1"), w.d["stale/old"])))
	w.d["stale/new"] = w.push("base/stale:1", baseImage(t, 2, "linux/amd64"))
}

// view is what a test compares of a lineage entry.
type view struct {
	Ref      string
	Digest   string
	Source   lineage.Source
	Verified bool
	Current  string // "", "current" or "outdated <latest digest>"
}

func views(l lineage.Lineage) []view {
	var out []view
	for _, e := range l.Entries {
		v := view{Ref: e.Ref.Canonical(), Digest: e.Digest, Source: e.Source, Verified: e.Verified}
		switch {
		case e.Current == nil:
		case *e.Current:
			v.Current = "current"
		default:
			v.Current = "outdated " + e.LatestDigest
		}
		out = append(out, v)
	}
	return out
}

// image is the view of the image itself.
func (w *world) image(path, digest string) view {
	return view{Ref: w.name(path), Digest: w.d[digest].String(), Source: lineage.SourceReference, Verified: true}
}

// base is the view of a verified, current base.
func (w *world) base(path, digest string, src lineage.Source) view {
	return view{Ref: w.name(path), Digest: w.d[digest].String(), Source: src, Verified: true, Current: "current"}
}
