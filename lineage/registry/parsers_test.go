package registry

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestPurlToRef(t *testing.T) {
	tests := []struct {
		purl, ref, platform string
		ok                  bool
	}{
		{"pkg:docker/alpine@3.17?platform=linux%2Famd64", "alpine:3.17", "linux/amd64", true},
		{"pkg:docker/docker/dockerfile@1", "docker/dockerfile:1", "", true},
		{"pkg:docker/registry.example.com/base/alpine@3.19?platform=linux%2Farm64%2Fv8", "registry.example.com/base/alpine:3.19", "linux/arm64/v8", true},
		{"pkg:docker/127.0.0.1%3A5000/base/alpine@3.19", "127.0.0.1:5000/base/alpine:3.19", "", true},
		{"pkg:docker/alpine@sha256:" + hexA, "alpine@sha256:" + hexA, "", true},
		{"pkg:docker/alpine@3.19?digest=sha256:" + hexA, "alpine:3.19@sha256:" + hexA, "", true},
		{"pkg:docker/customer/app@1.0?repository_url=gcr.io", "gcr.io/customer/app:1.0", "", true},
		{"pkg:git/github.com/moby/buildkit@v0.12", "", "", false},
		{"https://example.com/file.tar.gz", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.purl, func(t *testing.T) {
			ref, pl, ok, err := purlToRef(tc.purl)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{ref, platformName(pl), ok}
			if diff := cmp.Diff([]any{tc.ref, tc.platform, tc.ok}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProvenance(t *testing.T) {
	ms := []material{
		{URI: "pkg:docker/docker/dockerfile@1.7", Digest: map[string]string{"sha256": hexA}},
		{URI: "pkg:docker/golang@1.22?platform=linux%2Famd64", Digest: map[string]string{"sha256": hexA}},
		{URI: "pkg:docker/alpine@3.19?platform=linux%2Famd64"},
		{URI: "https://github.com/moby/buildkit.git#refs/tags/v0.12.0", Digest: map[string]string{"sha1": "abc"}},
	}
	want := []imageMaterial{
		{Ref: "docker/dockerfile:1.7", Digest: "sha256:" + hexA},
		{Ref: "golang:1.22", Digest: "sha256:" + hexA, Platform: "linux/amd64"},
		{Ref: "alpine:3.19", Platform: "linux/amd64"},
	}
	for _, pt := range []string{predicateSLSA02, predicateSLSA1} {
		t.Run(pt, func(t *testing.T) {
			got, err := parseProvenance(provenanceStatement(t, pt, ms))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("other predicate", func(t *testing.T) {
		got, err := parseProvenance([]byte(`{"predicateType":"https://spdx.dev/Document","predicate":{"materials":[{"uri":"pkg:docker/alpine@1"}]}}`))
		if err != nil || got != nil {
			t.Errorf("got %v, %v; want nothing", got, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		if _, err := parseProvenance([]byte(`{"predicate": [`)); !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v, want ErrMalformed", err)
		}
	})
}

func TestParseBuildinfo(t *testing.T) {
	bi := base64.StdEncoding.EncodeToString([]byte(`{"frontend":"dockerfile.v0","sources":[
		{"type":"docker-image","ref":"docker.io/library/golang:1.22","pin":"sha256:` + hexA + `"},
		{"type":"docker-image","ref":"docker.io/library/alpine:latest","pin":"sha256:` + hexA + `"},
		{"type":"git","ref":"https://github.com/x/y.git","pin":"abc"}]}`))
	got, err := parseBuildinfo(bi)
	if err != nil {
		t.Fatal(err)
	}
	want := []declaredBase{
		{Name: "docker.io/library/golang:1.22", Digest: "sha256:" + hexA},
		{Name: "docker.io/library/alpine:latest", Digest: "sha256:" + hexA},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{"!!!", base64.StdEncoding.EncodeToString([]byte("{"))} {
		if _, err := parseBuildinfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("parseBuildinfo(%q): err = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestParseBuildpacks(t *testing.T) {
	tests := []struct {
		name, label string
		want        declaredBase
		ok          bool
	}{
		{"published", `{"runImage":{"topLayer":"sha256:` + hexA + `","reference":"index.docker.io/paketobuildpacks/run@sha256:` + hexA + `","image":"paketobuildpacks/run:base-cnb"}}`,
			declaredBase{Name: "paketobuildpacks/run:base-cnb", Digest: "sha256:" + hexA, TopLayer: "sha256:" + hexA}, true},
		{"daemon build: reference is an image ID", `{"runImage":{"topLayer":"sha256:` + hexA + `","reference":"` + hexA + `","image":"paketobuildpacks/run:base-cnb"}}`,
			declaredBase{Name: "paketobuildpacks/run:base-cnb", TopLayer: "sha256:" + hexA}, true},
		{"reference only", `{"runImage":{"reference":"registry.example.com/run@sha256:` + hexA + `"}}`,
			declaredBase{Name: "registry.example.com/run", Digest: "sha256:" + hexA}, true},
		{"older stack form", `{"stack":{"runImage":{"image":"cnbs/sample-stack-run:bionic","mirrors":["gcr.io/x/run"]}}}`,
			declaredBase{Name: "cnbs/sample-stack-run:bionic"}, true},
		{"no run image", `{"app":[]}`, declaredBase{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := parseBuildpacks(tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Errorf("ok = %v", ok)
			}
			if diff := cmp.Diff(tc.want, got); tc.ok && diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := parseBuildpacks("{"); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
}

func TestLRU(t *testing.T) {
	c := newLRU[string](10, func(b []byte) int64 { return int64(len(b)) })
	c.add("a", make([]byte, 4))
	c.add("b", make([]byte, 4))
	c.get("a") // a is now the most recent
	c.add("c", make([]byte, 4))
	if _, ok := c.get("b"); ok {
		t.Error("b should have been evicted")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	c.add("huge", make([]byte, 11))
	if _, ok := c.get("huge"); ok || c.len() != 2 || c.used != 8 {
		t.Errorf("a value larger than the cache: len %d used %d", c.len(), c.used)
	}
}
