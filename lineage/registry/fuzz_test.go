package registry

import (
	"encoding/base64"
	"testing"
)

// The parsers read what anyone can push to a registry: they must return an
// error or a result for any input, never panic, and never name an image
// that is not a reference.

func FuzzParseProvenance(f *testing.F) {
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v0.2","predicate":{"materials":[{"uri":"pkg:docker/alpine@3.17?platform=linux%2Famd64","digest":{"sha256":"` + hexA + `"}}]}}`))
	f.Add([]byte(`{"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"resolvedDependencies":[{"uri":"pkg:docker/golang@1.22"}]}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ms, err := parseProvenance(raw)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Ref == "" {
				t.Errorf("material with no reference from %q", raw)
			}
		}
	})
}

func FuzzPurlToRef(f *testing.F) {
	f.Add("pkg:docker/alpine@3.17?platform=linux%2Famd64")
	f.Add("pkg:docker/127.0.0.1%3A5000/base/alpine@sha256:" + hexA)
	f.Fuzz(func(t *testing.T, s string) {
		ref, _, ok, err := purlToRef(s)
		if (err != nil || !ok) && ref != "" {
			t.Errorf("purlToRef(%q) = %q with ok=%v err=%v", s, ref, ok, err)
		}
	})
}

func FuzzParseBuildinfo(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"sources":[{"type":"docker-image","ref":"docker.io/library/alpine:latest","pin":"sha256:` + hexA + `"}]}`)))
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := parseBuildinfo(s)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.Name == "" {
				t.Errorf("source with no reference from %q", s)
			}
		}
	})
}

func FuzzParseBuildpacks(f *testing.F) {
	f.Add(`{"runImage":{"topLayer":"sha256:` + hexA + `","reference":"r.example.com/run@sha256:` + hexA + `","image":"r.example.com/run:base"}}`)
	f.Add(`{"stack":{"runImage":{"image":"cnbs/run:bionic"}}}`)
	f.Fuzz(func(t *testing.T, label string) {
		d, ok, err := parseBuildpacks(label)
		if err == nil && ok != (d.Name != "") {
			t.Errorf("parseBuildpacks(%q) = %+v, ok=%v", label, d, ok)
		}
		if d.Digest != "" && !isDigest(d.Digest) {
			t.Errorf("parseBuildpacks(%q): digest %q is not a digest", label, d.Digest)
		}
	})
}

func FuzzBaseAnnotations(f *testing.F) {
	f.Add("index.docker.io/library/alpine:latest", "sha256:"+hexA)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, n, d string) {
		decl, ok := baseAnnotations(map[string]string{annotationBaseName: n, annotationBaseDigest: d})
		if !ok {
			return
		}
		g := single(decl, "annotation", "manifest annotation")
		if len(g.cands)+len(g.problems) != 1 {
			t.Errorf("declared %q@%q: %d candidates and %d problems, want one of either", n, d, len(g.cands), len(g.problems))
		}
	})
}
