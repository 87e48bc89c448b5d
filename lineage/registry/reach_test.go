package registry

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// bkWorld is a company base built by BuildKit (an index of two platforms,
// each with an attestation manifest naming the upstream it was built on),
// and apps declaring it by its platform digest, as ko and crane do.
//
//	up/alpine:3        index: linux/amd64, linux/arm64
//	library/golang:1.22  the same, a builder stage
//	bk/base:1          BuildKit on up/alpine:3; attestations in the index, with a subject
//	apps/tag:1         on bk/base:1, declared by tag and platform digest
//	apps/digest:1      on bk/base, declared by the index's digest and the platform digest
//
// moveTag then pushes a rebuilt bk/base:1 (another index).
type bkWorld struct {
	*testRegistry
	d       map[string]v1.Hash
	attSize int64 // of the last attestation manifest made
}

func newBKWorld(t *testing.T, withSubject bool, opts ...ggcr.Option) *bkWorld {
	t.Helper()
	w := &bkWorld{testRegistry: newTestRegistry(t, opts...), d: map[string]v1.Hash{}}
	upAmd, upArm := baseImage(t, 2, "linux/amd64"), baseImage(t, 2, "linux/arm64")
	w.d["up/amd64"], w.d["up/arm64"] = digestOf(t, upAmd), digestOf(t, upArm)
	w.d["up"] = w.push("up/alpine:3", indexOf(t, nil, platformEntry{img: upAmd, platform: "linux/amd64"}, platformEntry{img: upArm, platform: "linux/arm64"}))
	w.d["golang"] = w.push("library/golang:1.22", indexOf(t, nil, platformEntry{img: baseImage(t, 3, "linux/amd64"), platform: "linux/amd64"}, platformEntry{img: baseImage(t, 3, "linux/arm64"), platform: "linux/arm64"}))

	bkAmd, bkArm := childOf(t, upAmd, 1), childOf(t, upArm, 1)
	w.d["bk/amd64"], w.d["bk/arm64"] = digestOf(t, bkAmd), digestOf(t, bkArm)
	w.d["bk"] = w.push("bk/base:1", indexOf(t, nil,
		platformEntry{img: bkAmd, platform: "linux/amd64"},
		platformEntry{img: bkArm, platform: "linux/arm64"},
		w.attestation(bkAmd, "linux/amd64", withSubject),
		w.attestation(bkArm, "linux/arm64", withSubject)))

	w.d["tag"] = w.push("apps/tag:1", annotate(childOf(t, bkAmd, 1), baseAnns(w.name("bk/base:1"), w.d["bk/amd64"])))
	w.d["digest"] = w.push("apps/digest:1", annotate(childOf(t, bkArm, 1), baseAnns(w.name("bk/base")+"@"+w.d["bk"].String(), w.d["bk/arm64"])))
	return w
}

// attestation is BuildKit's attestation for img: SLSA v1 provenance naming
// the upstream (and a builder stage), with a subject when withSubject.
func (w *bkWorld) attestation(img v1.Image, platform string, withSubject bool) platformEntry {
	t := w.t
	up := material{URI: dockerPURL(w.name("up/alpine:3"), platform), Digest: map[string]string{"sha256": w.d["up"].Hex}}
	builder := material{URI: dockerPURL(w.name("library/golang:1.22"), platform), Digest: map[string]string{"sha256": w.d["golang"].Hex}}
	att := attestationImage(t, predicateSLSA1, provenanceStatement(t, predicateSLSA1, []material{builder, up}))
	att = mutate.ConfigMediaType(att, types.MediaType(mediaTypeEmptyJSON))
	if withSubject {
		d := must[v1.Descriptor](t)(partialDescriptor(img))
		att = mutate.Subject(att, d).(v1.Image)
	}
	w.d["att/"+platform] = digestOf(t, att)
	w.attSize = must[int64](t)(att.Size())
	return attestationEntry(att, digestOf(t, img))
}

func partialDescriptor(img v1.Image) (v1.Descriptor, error) {
	d, err := img.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := img.Size()
	return v1.Descriptor{Digest: d, MediaType: mt, Size: sz}, err
}

// moveTag pushes a rebuilt bk/base:1 whose attestations carry a subject
// or not.
func (w *bkWorld) moveTag(withSubject bool) {
	t := w.t
	amd := childOf(t, baseImage(t, 2, "linux/amd64"), 1)
	w.d["bk2"] = w.push("bk/base:1", indexOf(t, nil, platformEntry{img: amd, platform: "linux/amd64"}, w.attestation(amd, "linux/amd64", withSubject)))
}

func TestBaseReachedByPlatformDigest(t *testing.T) {
	tests := []struct {
		name      string
		referrers bool // the registry offers the referrers API
		subject   bool // BuildKit's attestations carry a subject (oci-artifact)
		move      bool // bk/base:1 moved after the apps were built
		image     string
		catalog   bool
		want      []string // "ref source verified" per entry after the image
		problem   string   // a problem the base entry must report, "" for none
	}{
		{name: "the declared tag's index still lists it", image: "apps/tag:1", subject: true,
			want: []string{"bk/base:1 annotation true", "up/alpine:3 provenance true"}},
		{name: "the declared name's index digest", image: "apps/digest:1", move: true,
			want: []string{"bk/base@ annotation true", "up/alpine:3 provenance true"}},
		{name: "tag moved: the referrers API finds the attestation", image: "apps/tag:1", referrers: true, subject: true, move: true,
			want: []string{"bk/base:1 annotation true", "up/alpine:3 provenance true"}},
		{name: "tag moved, no referrers API: the referrers tag its pusher kept", image: "apps/tag:1", subject: true, move: true,
			want: []string{"bk/base:1 annotation true", "up/alpine:3 provenance true"}},
		{name: "tag moved, attestation without subject: said, and nothing guessed", image: "apps/tag:1", move: true,
			want: []string{"bk/base:1 annotation true"}, problem: "provenance not found: %s/bk/base:1 now names index"},
		{name: "tag moved, attestation without subject: said, catalog by layers", image: "apps/tag:1", referrers: true, move: true, catalog: true,
			want: []string{"bk/base:1 annotation true", "up/alpine:3 layers true"}, problem: "no attestation refers to it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []ggcr.Option
			if tt.referrers {
				opts = append(opts, ggcr.WithReferrersSupport(true))
			}
			w := newBKWorld(t, tt.subject, opts...)
			if tt.move {
				w.moveTag(tt.subject)
			}
			var copts []Option
			if tt.catalog {
				copts = append(copts, WithCatalog(w.ref("up/alpine:3")))
			}
			l := w.client(copts...).Lineage(ctxT(t), w.ref(tt.image))
			if l.Err != nil {
				t.Fatal(l.Err)
			}
			var got []string
			for _, e := range l.Bases() {
				ref := strings.TrimPrefix(e.Ref.Canonical(), w.host+"/")
				if e.Ref.Digest != "" {
					ref = strings.TrimSuffix(ref, e.Ref.Digest)
				}
				got = append(got, strings.Join([]string{ref, string(e.Source), boolString(e.Verified)}, " "))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("bases (-want +got):\n%s\nproblems: %v", diff, l.Entries[1].Problems)
			}
			problems := strings.Join(l.Entries[1].Problems, "\n")
			want := strings.ReplaceAll(tt.problem, "%s", w.host)
			switch {
			case want == "" && strings.Contains(problems, "provenance"):
				t.Errorf("unexpected problem: %s", problems)
			case want != "" && !strings.Contains(problems, want):
				t.Errorf("problems %q do not say %q", problems, want)
			}
		})
	}
}

// A registry answering a referrers query with an attestation of another
// image is not believed: the attestation's own subject must be the image.
func TestReferrerOfAnotherImageIgnored(t *testing.T) {
	w := newBKWorld(t, true)
	armAtt := w.d["att/linux/arm64"]
	w.moveTag(false)
	list, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Digest: armAtt, Size: w.attSize, ArtifactType: artifactTypeAttestation,
	}}})
	w.faults["referrers"] = func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", string(types.OCIImageIndex))
		rw.Write(list)
	}
	l := w.client().Lineage(ctxT(t), w.ref("apps/tag:1"))
	if l.Err != nil {
		t.Fatal(l.Err)
	}
	if len(l.Entries) != 2 {
		t.Fatalf("lineage %v: the base's provenance came from another image's attestation", views(l))
	}
	if p := strings.Join(l.Entries[1].Problems, "\n"); !strings.Contains(p, "provenance not found") {
		t.Errorf("problems %q do not say the provenance was not found", p)
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestReachEconomy counts what finding provenance through the index costs
// on a cold three-level chain (app, BuildKit base, upstream), and that a
// warm run, in memory or from the disk cache, costs nothing, the referrers
// list included.
func TestReachEconomy(t *testing.T) {
	for _, move := range []bool{false, true} {
		t.Run(map[bool]string{false: "tag current", true: "tag moved, referrers API"}[move], func(t *testing.T) {
			w := newBKWorld(t, true, ggcr.WithReferrersSupport(true))
			if move {
				w.moveTag(true)
			}
			dir := t.TempDir()
			app := w.ref("apps/tag:1")
			run := func(c *Client) (int, []string) {
				w.count.reset()
				l := c.Lineage(ctxT(t), app)
				if l.Err != nil || len(l.Entries) != 3 {
					t.Fatalf("lineage %v, err %v", views(l), l.Err)
				}
				return w.count.reset()
			}
			c := w.client(WithDiskCache(dir))
			cold, log := run(c)
			t.Logf("cold: %d requests: %v", cold, log)
			// 11 for three single images declared by annotation (see
			// TestRequestEconomy), 1 for the base's index (shared with its
			// freshness check), 2 for the attestation manifest and its
			// statement, 4 for the builder stage the provenance lists, 1 for
			// the upstream's platform manifest below its index, and, when the
			// tag has moved, 1 for the referrers list.
			want := 19
			if move {
				want++
			}
			if cold > want {
				t.Errorf("cold: %d requests, want at most %d", cold, want)
			}
			if n, log := run(c); n != 0 {
				t.Errorf("warm, same client: %d requests, want 0: %v", n, log)
			}
			if n, log := run(w.client(WithDiskCache(dir))); n != 0 {
				t.Errorf("warm, new client on the disk cache: %d requests, want 0: %v", n, log)
			}
		})
	}
}
