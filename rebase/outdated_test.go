package rebase

import (
	"strings"
	"testing"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/subject"
	"github.com/google/go-cmp/cmp"
)

// row is a finding as a test compares it.
type row struct {
	Line            int
	Image           string
	Reason, Fix     string
	Current, Digest string
}

func rows(b *baseRepo, fs []Finding) []row {
	var out []row
	for _, f := range fs {
		r := row{Line: f.Line, Image: b.out(f.Image), Reason: string(f.Reason), Fix: string(f.Fix)}
		if f.Current != nil {
			r.Current, r.Digest = b.out(f.Current.Ref), b.out(f.Current.Digest)
		}
		out = append(out, r)
	}
	return out
}

// TestOutdatedDockerfiles: moved tags, newer allowed versions and denied
// bases in FROM lines; current ones and identical digests are not
// outdated.
func TestOutdatedDockerfiles(t *testing.T) {
	b := newBaseRepo(t)
	img := seeded(30, "linux/amd64")
	b.reg.push(t, "base/same:1.0", img)
	d := b.reg.push(t, "base/same:1.1", img)
	b.names[d.String()] = "DIGEST(same)"
	c := b.checker(t)
	tests := []struct {
		name, src string
		want      []row
	}{
		{"moved and newer", "FROM REGISTRY/base/alpine:3.19@OLD319\n", []row{
			{1, "REGISTRY/base/alpine:3.19@OLD319", "tag-moved", "update", "REGISTRY/base/alpine:3.19", "DIGEST(alpine:3.19)"},
			{1, "REGISTRY/base/alpine:3.19@OLD319", "newer-version", "update", "REGISTRY/base/alpine:3.21", "CUR321"},
		}},
		{"current", "FROM REGISTRY/base/alpine:3.21@CUR321\nFROM REGISTRY/base/alpine:3.21\n", nil},
		{"denied", "FROM REGISTRY/base/alpine:3.18 AS old\nFROM REGISTRY/base/alpine:3.19-slim\n", []row{
			{1, "REGISTRY/base/alpine:3.18", "denied", "update", "REGISTRY/base/alpine:3.21", "CUR321"},
			{2, "REGISTRY/base/alpine:3.19-slim", "newer-version", "update", "REGISTRY/base/alpine:3.21-slim", "DIGEST(alpine:3.21-slim)"},
		}},
		{"not a version", "FROM REGISTRY/base/distroless:nonroot\nFROM REGISTRY/base/alpine:latest\n", nil},
		{"identical digests", "FROM REGISTRY/base/same:1.0\n", nil},
		{"stages and scratch", "FROM REGISTRY/base/alpine:3.21 AS b\nFROM b\nFROM scratch\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			df, err := ParseDockerfile("Dockerfile", []byte(b.in(tt.src)))
			if err != nil {
				t.Fatal(err)
			}
			fs, _, err := c.CheckDockerfile(ctx(t), df, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rows(b, fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutdatedImages: images resolved to their bases: a moved base tag is
// fixed by rebase; a newer version or a denied base by a rebuild.
func TestOutdatedImages(t *testing.T) {
	b := newBaseRepo(t)
	old := seeded(1900, "linux/amd64") // what alpine:3.19 named before it moved
	b.reg.push(t, "apps/old:1", appOn(t, old, b.reg.ref("base/alpine:3.19"), 1))
	b.reg.push(t, "apps/current:1", appOn(t, seeded(21, "linux/amd64"), b.reg.ref("base/alpine:3.21"), 1))
	b.reg.push(t, "apps/deprecated:1", appOn(t, seeded(18, "linux/amd64"), b.reg.ref("base/alpine:3.18"), 1))
	c := b.checker(t)
	client := must(registry.New())
	tests := []struct {
		image string
		want  []row
	}{
		{"apps/old:1", []row{
			{7, "REGISTRY/apps/old:1", "tag-moved", "rebase", "REGISTRY/base/alpine:3.19", "DIGEST(alpine:3.19)"},
			{7, "REGISTRY/apps/old:1", "newer-version", "rebuild", "REGISTRY/base/alpine:3.21", "CUR321"},
		}},
		{"apps/current:1", nil},
		{"apps/deprecated:1", []row{
			{7, "REGISTRY/apps/deprecated:1", "denied", "rebuild", "REGISTRY/base/alpine:3.21", "CUR321"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			image := b.reg.ref(tt.image)
			sub := &subject.Subject{Resource: &subject.Resource{Kind: "Pod", Name: "p", Namespace: "default", File: "pods.yaml"},
				Container: "app", Image: image, Line: 7, Source: "reference"}
			l := client.Lineage(ctx(t), must(imageref.Parse(image)))
			fs, err := c.CheckImage(ctx(t), sub, l)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rows(b, fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for _, f := range fs {
				if f.Message == "" || f.Resource != sub.Resource || !strings.Contains(b.out(f.Base.Ref), "base/alpine") {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}

// TestOutdatedPartial: a FROM that cannot be checked is an error naming
// its line, and the other FROM lines are still reported.
func TestOutdatedPartial(t *testing.T) {
	b := newBaseRepo(t)
	c := b.checker(t)
	df, err := ParseDockerfile("Dockerfile", []byte(b.in("FROM REGISTRY/base/missing:1 AS gone\nFROM REGISTRY/base/alpine:3.18\n")))
	if err != nil {
		t.Fatal(err)
	}
	fs, _, err := c.CheckDockerfile(ctx(t), df, nil)
	if err == nil || !strings.Contains(err.Error(), "Dockerfile:1:") {
		t.Errorf("err = %v, want one for line 1", err)
	}
	if len(fs) != 1 || fs[0].Line != 2 || fs[0].Reason != ReasonDenied {
		t.Errorf("findings %+v, want the denied FROM at line 2", fs)
	}
}
