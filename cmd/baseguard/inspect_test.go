package main

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestInspectJSON: a multi-platform image built on a base, as the JSON
// contract of DESIGN.md, one entry per platform, image first.
func TestInspectJSON(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	baseAmd, _ := random.Image(1024, 2)
	baseArm, _ := random.Image(1024, 2)
	baseAmdD := reg.push(t, "base/alpine:amd64", baseAmd)
	baseArmD := reg.push(t, "base/alpine:arm64", baseArm)
	appAmd := child(t, baseAmd, reg.host+"/base/alpine:amd64", baseAmdD)
	appArm := child(t, baseArm, reg.host+"/base/alpine:arm64", baseArmD)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: appAmd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: appArm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	tag, _ := name.NewTag(reg.host + "/apps/web:1")
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "", "inspect", "-o", "json", reg.host+"/apps/web:1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	type entry struct {
		Ref, Digest, Source string
		Verified            bool
	}
	var doc struct {
		Image     string
		Platforms []struct {
			Platform, Digest string
			Lineage          []entry
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Image != reg.host+"/apps/web:1" || len(doc.Platforms) != 2 {
		t.Fatalf("image %q with %d platforms:\n%s", doc.Image, len(doc.Platforms), out)
	}
	for _, p := range doc.Platforms {
		base, baseD := reg.host+"/base/alpine:amd64", baseAmdD
		if p.Platform == "linux/arm64" {
			base, baseD = reg.host+"/base/alpine:arm64", baseArmD
		}
		if len(p.Lineage) != 2 {
			t.Fatalf("%s: lineage %+v", p.Platform, p.Lineage)
		}
		got := p.Lineage[1]
		want := entry{Ref: base, Digest: baseD.String(), Source: "annotation", Verified: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s base (-want +got):\n%s", p.Platform, diff)
		}
		if p.Lineage[0].Source != "reference" || p.Lineage[0].Digest != p.Digest {
			t.Errorf("%s: first entry %+v is not the image %s", p.Platform, p.Lineage[0], p.Digest)
		}
	}
}
