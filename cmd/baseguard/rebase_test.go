package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRebaseCLI: rebase as a user runs it: the JSON contract, then inspect
// of the result naming the new base, verified; a second run is already
// current; a forged declaration is refused with exit 2 and nothing pushed.
func TestRebaseCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	app := reg.pushChain(t, "base/alpine:3.19", "apps/payments:1.4")
	newBase, _ := random.Image(1024, 3)
	newD := reg.push(t, "base/alpine:3.19", newBase)
	oldRef, _ := name.ParseReference(reg.host + "/apps/payments:1.4")
	oldImg, _ := remote.Image(oldRef)
	oldD, _ := oldImg.Digest()
	oldBaseD := oldAnnotation(t, reg.host+"/apps/payments:1.4")

	out, errOut, code := run(t, "", "rebase", app, "--tag", "1.4-rebased", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Image, Result string
		Pushed        bool
		Platforms     []struct {
			Platform, Digest, Status   string
			OldBase, NewBase           struct{ Ref, Digest string }
			LayersReplaced, LayersKept int
		}
		Notes []string
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if doc.Image != app || !doc.Pushed || !strings.HasPrefix(doc.Result, reg.host+"/apps/payments:1.4-rebased@sha256:") || len(doc.Platforms) != 1 {
		t.Fatalf("%s", out)
	}
	p := doc.Platforms[0]
	if p.OldBase.Ref != reg.host+"/base/alpine:3.19" || p.OldBase.Digest != oldBaseD || p.NewBase.Digest != newD.String() || p.LayersReplaced != 2 || p.LayersKept != 1 || p.Status != "rebased" {
		t.Errorf("platform %+v", p)
	}
	if len(doc.Notes) == 0 {
		t.Error("no note about signatures")
	}

	out, errOut, code = run(t, "", "inspect", "-o", "json", doc.Result)
	if code != exitOK {
		t.Fatalf("inspect: exit %d: %s", code, errOut)
	}
	var ins struct {
		Platforms []struct {
			Lineage []struct {
				Ref, Digest, Source string
				Verified            bool
			}
		}
	}
	json.Unmarshal([]byte(out), &ins)
	type entry = struct {
		Ref, Digest, Source string
		Verified            bool
	}
	want := entry{Ref: reg.host + "/base/alpine:3.19", Digest: newD.String(), Source: "annotation", Verified: true}
	if len(ins.Platforms) != 1 || len(ins.Platforms[0].Lineage) != 2 {
		t.Fatalf("inspect of the result: %s", out)
	}
	if diff := cmp.Diff(want, ins.Platforms[0].Lineage[1]); diff != "" {
		t.Errorf("base of the result (-want +got):\n%s", diff)
	}

	out, _, code = run(t, "", "rebase", doc.Result, "--tag", "again")
	if code != exitOK || !strings.Contains(out, "already current") {
		t.Errorf("second rebase: exit %d\n%s", code, out)
	}
	if _, err := remote.Head(mustTag(t, reg.host+"/apps/payments:again")); err == nil {
		t.Error("an already current rebase pushed a tag")
	}

	// The original is untouched: --tag was given.
	if img, _ := remote.Image(oldRef); img == nil || must2(img.Digest()) != oldD {
		t.Error("the original tag moved")
	}
}

// TestRebaseCLIRefused: a forged declaration exits 2 with the reason, and
// nothing is pushed.
func TestRebaseCLIRefused(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	reg := newTestRegistry(t)
	alpine, _ := random.Image(1024, 2)
	alpineD := reg.push(t, "base/alpine:3.19", alpine)
	// Built on another base, declaring the approved one, digest and all.
	other, _ := random.Image(1024, 2)
	forged := mutate.Annotations(child(t, other, "", v1.Hash{}), map[string]string{
		"org.opencontainers.image.base.name":   reg.host + "/base/alpine:3.19",
		"org.opencontainers.image.base.digest": alpineD.String(),
	}).(v1.Image)
	reg.push(t, "apps/forged:1", forged)
	out, errOut, code := run(t, "", "rebase", reg.host+"/apps/forged:1", "--tag", "rebased")
	if code != exitUnchecked {
		t.Errorf("exit %d, want %d", code, exitUnchecked)
	}
	if out != "" || !strings.Contains(errOut, "rebase refused, nothing written") || !strings.Contains(errOut, "not verified") || !strings.Contains(errOut, "- image: ") {
		t.Errorf("stdout %q\nstderr %s", out, errOut)
	}
	if _, err := remote.Head(mustTag(t, reg.host+"/apps/forged:rebased")); err == nil {
		t.Error("a refused rebase pushed its result")
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// oldAnnotation is the base digest an image declares.
func oldAnnotation(t *testing.T, ref string) string {
	t.Helper()
	img, err := remote.Image(mustTag(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Annotations["org.opencontainers.image.base.digest"]
}
