package rebase

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// world is a registry with an app built on base/alpine:3.19, whose tag has
// since moved to a new image.
type world struct {
	reg              *testRegistry
	oldBase, newBase v1.Image
	app              v1.Image
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{reg: newTestRegistry(t)}
	w.oldBase = randomBase(t, "linux/amd64", 2)
	w.reg.push(t, "base/alpine:3.19", w.oldBase)
	w.app = appOn(t, w.oldBase, w.reg.ref("base/alpine:3.19"), 3)
	w.reg.push(t, "apps/payments:1.4", w.app)
	w.newBase = randomBase(t, "linux/amd64", 3)
	w.reg.push(t, "base/alpine:3.19", w.newBase) // the tag moves
	return w
}

// TestRebaseSinglePlatform checks the result layer by layer, annotation by
// annotation, and its config and history, then resolves its lineage as
// inspect does.
func TestRebaseSinglePlatform(t *testing.T) {
	w := newWorld(t)
	r := newRebaser(t, "")
	res, err := r.Rebase(ctx(t), Request{Image: w.reg.ref("apps/payments:1.4"), Tag: "1.4-rebased"})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || res.Current {
		t.Fatalf("pushed %v, current %v", res.Pushed, res.Current)
	}
	if !strings.HasPrefix(res.Result, w.reg.ref("apps/payments:1.4-rebased@sha256:")) {
		t.Errorf("result %s", res.Result)
	}
	got := remoteImage(t, w.reg.ref("apps/payments:1.4-rebased"))
	if d := digest(t, got).String(); d != res.Digest {
		t.Errorf("pushed digest %s, reported %s", d, res.Digest)
	}

	want := append(layerDigests(t, w.newBase), layerDigests(t, w.app)[2:]...)
	if diff := cmp.Diff(want, layerDigests(t, got)); diff != "" {
		t.Errorf("layers (-want +got):\n%s", diff)
	}
	m := must(got.Manifest())
	wantAnn := map[string]string{
		annotationBaseName:                w.reg.ref("base/alpine:3.19"),
		annotationBaseDigest:              digest(t, w.newBase).String(),
		"org.opencontainers.image.source": "https://example.com/payments",
	}
	if diff := cmp.Diff(wantAnn, m.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if om := must(w.app.Manifest()); m.MediaType != om.MediaType || m.Config.MediaType != om.Config.MediaType {
		t.Errorf("media types %s/%s, the image had %s/%s", m.MediaType, m.Config.MediaType, om.MediaType, om.Config.MediaType)
	}

	cf, ocf, ncf := must(got.ConfigFile()), must(w.app.ConfigFile()), must(w.newBase.ConfigFile())
	if diff := cmp.Diff(ocf.Config, cf.Config); diff != "" {
		t.Errorf("the image's own settings changed (-want +got):\n%s", diff)
	}
	if !cf.Created.Equal(ocf.Created.Time) || cf.Author != ocf.Author || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("created %v author %q platform %s/%s", cf.Created, cf.Author, cf.OS, cf.Architecture)
	}
	wantHist := append(slices.Clone(ncf.History), ocf.History[2:]...)
	if diff := cmp.Diff(wantHist, cf.History); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}

	wantP := PlatformResult{
		Platform: "linux/amd64", Status: StatusRebased, Digest: res.Digest,
		OldBase:        Base{Ref: w.reg.ref("base/alpine:3.19"), Digest: digest(t, w.oldBase).String()},
		NewBase:        Base{Ref: w.reg.ref("base/alpine:3.19"), Digest: digest(t, w.newBase).String()},
		LayersReplaced: 2, LayersAdded: 3, LayersKept: 3,
	}
	if diff := cmp.Diff([]PlatformResult{wantP}, res.Platforms); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "signatures") {
		t.Errorf("no word about signatures: %v", res.Notes)
	}
	if orig := remoteImage(t, w.reg.ref("apps/payments:1.4")); digest(t, orig) != digest(t, w.app) {
		t.Error("the original tag moved although --tag was given")
	}

	// What inspect shows: the result is built on the new base, verified.
	l := must(registry.New()).Lineage(ctx(t), must(imageref.Parse(w.reg.ref("apps/payments:1.4-rebased"))))
	if l.Err != nil || len(l.Entries) != 2 {
		t.Fatalf("lineage %+v", l)
	}
	b := l.Entries[1]
	if b.Ref.Canonical() != w.reg.ref("base/alpine:3.19") || b.Digest != digest(t, w.newBase).String() || !b.Verified || b.Source != lineage.SourceAnnotation {
		t.Errorf("base of the result: %+v", b)
	}
	if b.Current == nil || !*b.Current {
		t.Errorf("the new base is not current: %+v", b)
	}
}

// TestRebaseAlreadyCurrent: a second rebase has nothing to do and writes
// nothing; neither does a dry run.
func TestRebaseAlreadyCurrent(t *testing.T) {
	w := newWorld(t)
	r := newRebaser(t, "")
	image := w.reg.ref("apps/payments:1.4")

	mark := w.reg.mark()
	dry, err := r.Rebase(ctx(t), Request{Image: image, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if writes := w.reg.writesSince(mark); len(writes) > 0 || dry.Pushed || dry.Digest == "" {
		t.Errorf("dry run: pushed %v, digest %q, writes %v", dry.Pushed, dry.Digest, writes)
	}
	if remoteImage(t, image); digest(t, remoteImage(t, image)) != digest(t, w.app) {
		t.Error("dry run moved the tag")
	}

	first, err := r.Rebase(ctx(t), Request{Image: image})
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != dry.Digest {
		t.Errorf("dry run computed %s, the rebase pushed %s", dry.Digest, first.Digest)
	}
	if d := digest(t, remoteImage(t, image)).String(); d != first.Digest {
		t.Errorf("the original tag names %s, want the result %s", d, first.Digest)
	}
	mark = w.reg.mark()
	again, err := r.Rebase(ctx(t), Request{Image: image})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Current || again.Pushed || again.Platforms[0].Status != StatusCurrent {
		t.Errorf("second rebase: %+v", again)
	}
	if writes := w.reg.writesSince(mark); len(writes) > 0 {
		t.Errorf("second rebase wrote %v", writes)
	}
}

// TestRebaseRefusals: each refusal has a reason and writes nothing.
func TestRebaseRefusals(t *testing.T) {
	w := newWorld(t)
	// Forged: declares alpine:3.19 but is built on something else.
	other := randomBase(t, "linux/amd64", 2)
	forged := mutate.Annotations(appOn(t, other, "", 1), map[string]string{
		annotationBaseName: w.reg.ref("base/alpine:3.19"), annotationBaseDigest: digest(t, w.oldBase).String(),
	}).(v1.Image)
	w.reg.push(t, "apps/forged:1", forged)
	// No declaration at all.
	w.reg.push(t, "apps/bare:1", appOn(t, other, "", 1))
	// A new base for another architecture.
	w.reg.push(t, "base/arm:1", randomBase(t, "linux/arm64", 2))
	// Buildpacks images that say they are not rebasable.
	w.reg.push(t, "apps/bp:1", withLabels(t, w.app, map[string]string{labelRebasable: "false"}))

	deny := `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  rules:
    - name: approved
      allow: ["` + w.reg.ref("base/*") + `"]
    - name: no-3.19
      deny: ["*alpine:3.19*"]
`
	tests := []struct {
		name     string
		policy   string
		req      Request
		want     string
		forcible bool
	}{
		{"forged declaration", "", Request{Image: w.reg.ref("apps/forged:1")}, "is not verified", false},
		{"no base", "", Request{Image: w.reg.ref("apps/bare:1")}, "no base found", false},
		{"wrong --old-base", "", Request{Image: w.reg.ref("apps/payments:1.4"), OldBase: w.reg.ref("base/arm:1")}, "not a prefix", false},
		{"architecture", "", Request{Image: w.reg.ref("apps/payments:1.4"), NewBase: w.reg.ref("base/arm:1")}, "OS or architecture differ", false},
		{"missing platform", "", Request{Image: w.reg.ref("apps/payments:1.4"), Platforms: []string{"linux/arm64"}}, "has no platform linux/arm64", false},
		{"policy", deny, Request{Image: w.reg.ref("apps/payments:1.4")}, "rule no-3.19", true},
		{"not rebasable", "", Request{Image: w.reg.ref("apps/bp:1")}, labelRebasable + "=false", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRebaser(t, tt.policy)
			mark := w.reg.mark()
			_, err := r.Rebase(ctx(t), tt.req)
			ref, ok := err.(*Refusal)
			if !ok {
				t.Fatalf("err = %v, want a refusal", err)
			}
			if !strings.Contains(err.Error(), tt.want) || ref.Forcible != tt.forcible {
				t.Errorf("refusal %q (forcible %v), want one saying %q (forcible %v)", err, ref.Forcible, tt.want, tt.forcible)
			}
			if writes := w.reg.writesSince(mark); len(writes) > 0 {
				t.Errorf("a refused rebase wrote %v", writes)
			}
			if !tt.forcible {
				return
			}
			tt.req.Force, tt.req.Tag = true, "forced"
			res, err := r.Rebase(ctx(t), tt.req)
			if err != nil || !res.Pushed {
				t.Fatalf("--force: %v", err)
			}
			if len(res.Warnings) == 0 || !strings.Contains(res.Warnings[0], "overridden by --force") {
				t.Errorf("forced past the policy without a warning: %v", res.Warnings)
			}
		})
	}
}

// TestRebasePolicyAllows: an allowed new base passes the policy, judged on
// the would-be lineage (the allow rule needs a verified base entry).
func TestRebasePolicyAllows(t *testing.T) {
	w := newWorld(t)
	r := newRebaser(t, `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  rules:
    - {name: approved, allow: ["`+w.reg.ref("base/alpine:*")+`"]}
    - {name: verified, requireVerifiedBase: true}
    - {name: current, requireCurrentBase: true}
`)
	res, err := r.Rebase(ctx(t), Request{Image: w.reg.ref("apps/payments:1.4"), Tag: "ok"})
	if err != nil || !res.Pushed {
		t.Fatalf("rebase onto an allowed base: %v", err)
	}
}

func withLabels(t *testing.T, img v1.Image, labels map[string]string) v1.Image {
	t.Helper()
	cf := must(img.ConfigFile()).DeepCopy()
	for k, v := range labels {
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		cf.Config.Labels[k] = v
	}
	out := must(mutateConfig(img, cf))
	return out
}

func jsonString(t *testing.T, v any) string {
	t.Helper()
	return string(must(json.Marshal(v)))
}

// TestRebaseOldBaseGone: a declared base that is no longer in its registry
// cannot be checked: the refusal says so and asks for --old-base, which
// then works when it names the base's layers.
func TestRebaseOldBaseGone(t *testing.T) {
	reg := newTestRegistry(t)
	old := randomBase(t, "linux/amd64", 2)
	app := appOn(t, old, reg.ref("base/gone:1"), 1) // declared, never pushed
	reg.push(t, "apps/a:1", app)
	reg.push(t, "base/kept:1", old)
	reg.push(t, "base/gone:1", randomBase(t, "linux/amd64", 2))
	_, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/a:1")})
	if !IsRefusal(err) || !strings.Contains(err.Error(), "could not be checked") || !strings.Contains(err.Error(), "--old-base") {
		t.Fatalf("err = %v", err)
	}
	res, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: reg.ref("apps/a:1"), OldBase: reg.ref("base/kept:1"), NewBase: reg.ref("base/gone:1"), Tag: "ok"})
	if err != nil || res.Platforms[0].LayersReplaced != 2 {
		t.Fatalf("with --old-base: %v %+v", err, res)
	}
}
