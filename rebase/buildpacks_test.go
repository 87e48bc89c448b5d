package rebase

import (
	"encoding/json"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// buildpacksApp is an app on run as the lifecycle exports one: the run
// image in io.buildpacks.lifecycle.metadata, a stack label, no base
// annotations, and no history.
func buildpacksApp(t *testing.T, run v1.Image, runName, runRepo string) v1.Image {
	t.Helper()
	img := appOn(t, run, "", 2)
	cf := must(img.ConfigFile()).DeepCopy()
	diffIDs := must(run.ConfigFile()).RootFS.DiffIDs
	md := map[string]any{
		"app":        []map[string]string{{"sha": "sha256:0123"}},
		"buildpacks": []map[string]string{{"key": "paketo-buildpacks/go", "version": "4.0.0"}},
		"runImage": map[string]any{
			"topLayer":  diffIDs[len(diffIDs)-1].String(),
			"reference": runRepo + "@" + digest(t, run).String(),
			"image":     runName,
			"mirrors":   []string{"mirror.example.com/run:jammy"},
		},
	}
	cf.Config.Labels = map[string]string{
		labelLifecycle: string(must(json.Marshal(md))),
		labelStackID:   "io.buildpacks.stacks.jammy",
	}
	cf.History = nil
	return must(mutate.ConfigFile(img, cf))
}

// TestRebaseBuildpacks: the run image found in the lifecycle metadata is
// replaced; runImage.topLayer, .reference and .image follow the new run
// image and the rest of the metadata is kept; an image without history
// keeps all its own layers.
func TestRebaseBuildpacks(t *testing.T) {
	reg := newTestRegistry(t)
	oldRun := randomBase(t, "linux/amd64", 2)
	reg.push(t, "base/run:jammy", oldRun)
	app := buildpacksApp(t, oldRun, reg.ref("base/run:jammy"), reg.ref("base/run"))
	reg.push(t, "apps/bp:1", app)
	newRun := withLabels(t, randomBase(t, "linux/amd64", 3), map[string]string{labelStackID: "io.buildpacks.stacks.jammy"})
	reg.push(t, "base/run:jammy", newRun)

	res, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/bp:1")})
	if err != nil {
		t.Fatal(err)
	}
	got := remoteImage(t, reg.ref("apps/bp:1"))
	if digest(t, got).String() != res.Digest {
		t.Fatalf("the tag was not moved to the result")
	}
	want := append(layerDigests(t, newRun), layerDigests(t, app)[2:]...)
	if diff := cmp.Diff(want, layerDigests(t, got)); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	var md struct {
		App        json.RawMessage
		Buildpacks json.RawMessage
		RunImage   struct {
			TopLayer, Reference, Image string
			Mirrors                    []string
		}
	}
	cf := must(got.ConfigFile())
	if err := json.Unmarshal([]byte(cf.Config.Labels[labelLifecycle]), &md); err != nil {
		t.Fatal(err)
	}
	newDiffIDs := must(newRun.ConfigFile()).RootFS.DiffIDs
	if md.RunImage.TopLayer != newDiffIDs[len(newDiffIDs)-1].String() ||
		md.RunImage.Reference != reg.ref("base/run")+"@"+digest(t, newRun).String() ||
		md.RunImage.Image != reg.ref("base/run:jammy") {
		t.Errorf("runImage %+v", md.RunImage)
	}
	if len(md.RunImage.Mirrors) != 1 || string(md.Buildpacks) == "" || string(md.App) == "" {
		t.Errorf("the rest of the metadata was lost: %s", cf.Config.Labels[labelLifecycle])
	}
	if cf.Config.Labels[labelStackID] != "io.buildpacks.stacks.jammy" {
		t.Errorf("labels %v", cf.Config.Labels)
	}
	if n := nonEmpty(cf.History); n != len(cf.RootFS.DiffIDs) {
		t.Errorf("history describes %d layers of %d", n, len(cf.RootFS.DiffIDs))
	}

	l := must(registry.New()).Lineage(ctx(t), must(imageref.Parse(reg.ref("apps/bp:1"))))
	if len(l.Entries) != 2 || !l.Entries[1].Verified || l.Entries[1].Digest != digest(t, newRun).String() {
		t.Errorf("lineage of the result %+v", l.Entries)
	}
	// With the annotations dropped, the Buildpacks metadata alone still
	// names the new run image, verified.
	bare := must(mutate.ConfigFile(must(mutate.AppendLayers(empty.Image, must(got.Layers())...)), cf))
	reg.push(t, "apps/bp:bare", bare)
	l = must(registry.New()).Lineage(ctx(t), must(imageref.Parse(reg.ref("apps/bp:bare"))))
	if len(l.Entries) != 2 || l.Entries[1].Source != lineage.SourceBuildpacks || !l.Entries[1].Verified {
		t.Errorf("lineage from the Buildpacks metadata alone: %+v", l.Entries)
	}
}

// TestRebaseStackMismatch: a run image for another stack is refused
// unless forced.
func TestRebaseStackMismatch(t *testing.T) {
	reg := newTestRegistry(t)
	oldRun := randomBase(t, "linux/amd64", 2)
	reg.push(t, "base/run:jammy", oldRun)
	reg.push(t, "apps/bp:1", buildpacksApp(t, oldRun, reg.ref("base/run:jammy"), reg.ref("base/run")))
	reg.push(t, "base/run:jammy", withLabels(t, randomBase(t, "linux/amd64", 2), map[string]string{labelStackID: "io.buildpacks.stacks.noble"}))
	_, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/bp:1")})
	if !IsRefusal(err) {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if _, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/bp:1"), Force: true}); err != nil {
		t.Errorf("--force: %v", err)
	}
}
