package rebase

import (
	"slices"
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var fourPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/s390x"}

// indexWorld is an app index (four platforms and an attestation) built on
// a base index whose tag has moved; newBase has only some platforms when
// missing is given.
type indexWorld struct {
	reg               *testRegistry
	oldBases, newBase map[string]v1.Image
	apps              map[string]v1.Image
	newBaseIndex      v1.Hash
	app               v1.Hash
}

func newIndexWorld(t *testing.T, newPlatforms []string) *indexWorld {
	t.Helper()
	w := &indexWorld{reg: newTestRegistry(t), oldBases: map[string]v1.Image{}, newBase: map[string]v1.Image{}, apps: map[string]v1.Image{}}
	for _, p := range fourPlatforms {
		w.oldBases[p] = randomBase(t, p, 2)
	}
	w.reg.pushIndex(t, "base/alpine:3.19", indexOf(t, w.oldBases, fourPlatforms, false))
	for _, p := range fourPlatforms {
		w.apps[p] = appOn(t, w.oldBases[p], w.reg.ref("base/alpine:3.19"), 2)
	}
	w.app = w.reg.pushIndex(t, "apps/web:2", indexOf(t, w.apps, fourPlatforms, true))
	for _, p := range newPlatforms {
		w.newBase[p] = randomBase(t, p, 3)
	}
	w.newBaseIndex = w.reg.pushIndex(t, "base/alpine:3.19", indexOf(t, w.newBase, newPlatforms, false))
	return w
}

// TestRebaseIndex: every platform rebased onto the same platform of the
// new base, one index with every platform in the original order, the
// attestation left out, base annotations per platform and on the index,
// and each platform's lineage verified on the new base.
func TestRebaseIndex(t *testing.T) {
	w := newIndexWorld(t, fourPlatforms)
	mark := w.reg.mark()
	res, err := newRebaser(t, "").Rebase(ctx(t), Request{Image: w.reg.ref("apps/web:2"), To: w.reg.ref("apps/web-rebased:2")})
	if err != nil {
		t.Fatal(err)
	}
	layersNeverMoved(t, w, w.reg.since(mark))
	idx := remoteIndex(t, w.reg.ref("apps/web-rebased:2"))
	im := must(idx.IndexManifest())
	if d := must(idx.Digest()).String(); d != res.Digest {
		t.Errorf("pushed %s, reported %s", d, res.Digest)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.String())
	}
	if diff := cmp.Diff(fourPlatforms, platforms); diff != "" {
		t.Errorf("platforms of the result (-want +got):\n%s", diff)
	}
	if len(res.Dropped) != 1 || !strings.Contains(strings.Join(res.Notes, " "), "attestation") {
		t.Errorf("dropped %v, notes %v", res.Dropped, res.Notes)
	}
	wantIdxAnn := map[string]string{annotationBaseName: w.reg.ref("base/alpine:3.19"), annotationBaseDigest: w.newBaseIndex.String()}
	if diff := cmp.Diff(wantIdxAnn, im.Annotations); diff != "" {
		t.Errorf("index annotations (-want +got):\n%s", diff)
	}
	if im.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index media type %s", im.MediaType)
	}
	client := must(registry.New())
	lin := must(client.Resolve(ctx(t), must(imageref.Parse(w.reg.ref("apps/web-rebased:2")))))
	for i, m := range im.Manifests {
		p := fourPlatforms[i]
		img := must(idx.Image(m.Digest))
		want := append(layerDigests(t, w.newBase[p]), layerDigests(t, w.apps[p])[2:]...)
		if diff := cmp.Diff(want, layerDigests(t, img)); diff != "" {
			t.Errorf("%s layers (-want +got):\n%s", p, diff)
		}
		ann := must(img.Manifest()).Annotations
		if ann[annotationBaseDigest] != digest(t, w.newBase[p]).String() || ann[annotationBaseName] != w.reg.ref("base/alpine:3.19") {
			t.Errorf("%s annotations %v", p, ann)
		}
		if cf := must(img.ConfigFile()); cf.Architecture != must(v1.ParsePlatform(p)).Architecture || cf.Variant != must(v1.ParsePlatform(p)).Variant {
			t.Errorf("%s config is for %s/%s", p, cf.Architecture, cf.Variant)
		}
		pr := res.Platforms[i]
		if pr.Platform != p || pr.Status != StatusRebased || pr.Digest != m.Digest.String() || pr.LayersReplaced != 2 || pr.LayersKept != 2 {
			t.Errorf("%s report %+v", p, pr)
		}
		l := lin.Platforms[i].Lineage
		if len(l.Entries) < 2 || !l.Entries[1].Verified || l.Entries[1].Digest != digest(t, w.newBase[p]).String() {
			t.Errorf("%s lineage of the result: %+v", p, l.Entries)
		}
	}
}

// TestRebaseIndexPlatforms: a platform the new base lacks refuses the
// rebase; --platform limits it to the others, and the rest are kept as
// they were.
func TestRebaseIndexPlatforms(t *testing.T) {
	have := []string{"linux/amd64", "linux/arm64"}
	w := newIndexWorld(t, have)
	r := newRebaser(t, "")
	mark := w.reg.mark()
	_, err := r.Rebase(ctx(t), Request{Image: w.reg.ref("apps/web:2")})
	if !IsRefusal(err) || !strings.Contains(err.Error(), "linux/arm/v7") || !strings.Contains(err.Error(), "linux/s390x") {
		t.Fatalf("err = %v, want a refusal naming both missing platforms", err)
	}
	if writes := w.reg.writesSince(mark); len(writes) > 0 {
		t.Errorf("a refused rebase wrote %v", writes)
	}

	res, err := r.Rebase(ctx(t), Request{Image: w.reg.ref("apps/web:2"), Platforms: have})
	if err != nil {
		t.Fatal(err)
	}
	im := must(remoteIndex(t, w.reg.ref("apps/web:2")).IndexManifest())
	if len(im.Manifests) != 4 {
		t.Fatalf("the result has %d manifests, want 4 (no attestation)", len(im.Manifests))
	}
	if _, ok := im.Annotations[annotationBaseName]; ok {
		t.Errorf("index annotations %v: the kept platforms are not on the new base", im.Annotations)
	}
	for i, p := range fourPlatforms {
		kept := !slices.Contains(have, p)
		wantStatus := StatusRebased
		if kept {
			wantStatus = StatusKept
		}
		if res.Platforms[i].Status != wantStatus {
			t.Errorf("%s: %s, want %s", p, res.Platforms[i].Status, wantStatus)
		}
		if same := im.Manifests[i].Digest == digest(t, w.apps[p]); same != kept {
			t.Errorf("%s: unchanged %v, want %v", p, same, kept)
		}
	}
}

func remoteIndex(t *testing.T, ref string) v1.ImageIndex {
	t.Helper()
	return must(remoteIndexE(ref))
}

// layersNeverMoved checks that no layer of the app or of either base was
// downloaded or uploaded: only manifests and configs move.
func layersNeverMoved(t *testing.T, w *indexWorld, requests []string) {
	t.Helper()
	layers := map[string]bool{}
	for _, imgs := range []map[string]v1.Image{w.oldBases, w.newBase, w.apps} {
		for _, img := range imgs {
			for _, d := range layerDigests(t, img) {
				layers[d.String()] = true
			}
		}
	}
	blobs := 0
	for _, r := range requests {
		method, uri, _ := strings.Cut(r, " ")
		if strings.Contains(uri, "/blobs/") && method != "HEAD" {
			blobs++
		}
		for d := range layers {
			moved := (method == "GET" && strings.Contains(uri, "/blobs/"+d)) ||
				((method == "PUT" || method == "PATCH" || method == "POST") && strings.Contains(uri, strings.ReplaceAll(d, ":", "%3A")) && !strings.Contains(uri, "mount="))
			if moved {
				t.Errorf("layer %s moved: %s", d, r)
			}
		}
	}
	if blobs == 0 {
		t.Error("no blob was read or written at all: the request log is not what this check expects")
	}
}
