package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	packageurl "github.com/package-url/packageurl-go"
)

var created = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// baseImage is a random image with n layers for a platform.
func baseImage(t testing.TB, n int64, platform string) v1.Image {
	t.Helper()
	img, err := random.Image(256, n)
	if err != nil {
		t.Fatal(err)
	}
	return withConfig(t, img, func(c *v1.ConfigFile) {
		p, _ := v1.ParsePlatform(platform)
		c.OS, c.Architecture, c.Variant = p.OS, p.Architecture, p.Variant
		c.Created = v1.Time{Time: created}
	})
}

// childOf appends n random layers to base.
func childOf(t testing.TB, base v1.Image, n int) v1.Image {
	t.Helper()
	img := base
	for range n {
		l, err := random.Layer(128, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	img = withConfig(t, img, func(c *v1.ConfigFile) { c.Created = v1.Time{Time: created.Add(24 * time.Hour)} })
	return stripAnnotations(t, img)
}

// stripAnnotations drops the manifest annotations mutate carries over from
// a base: builders write a child's annotations afresh.
func stripAnnotations(t testing.TB, img v1.Image) v1.Image {
	t.Helper()
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return rawConfigImage{Image: img, raw: raw, strip: true}
}

func withConfig(t testing.TB, img v1.Image, edit func(*v1.ConfigFile)) v1.Image {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	edit(cfg)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func withLabels(t testing.TB, img v1.Image, labels map[string]string) v1.Image {
	return withConfig(t, img, func(c *v1.ConfigFile) {
		if c.Config.Labels == nil {
			c.Config.Labels = map[string]string{}
		}
		for k, v := range labels {
			c.Config.Labels[k] = v
		}
	})
}

func annotate(img v1.Image, anns map[string]string) v1.Image {
	return mutate.Annotations(img, anns).(v1.Image)
}

func baseAnns(name string, digest v1.Hash) map[string]string {
	return map[string]string{annotationBaseName: name, annotationBaseDigest: digest.String()}
}

// platformEntry is an image with its platform for an index.
type platformEntry struct {
	img      v1.Image
	platform string
	anns     map[string]string
}

func indexOf(t testing.TB, anns map[string]string, entries ...platformEntry) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, e := range entries {
		p, err := v1.ParsePlatform(e.platform)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: e.img, Descriptor: v1.Descriptor{Platform: p, Annotations: e.anns}})
	}
	if anns != nil {
		idx = mutate.Annotations(idx, anns).(v1.ImageIndex)
	}
	return idx
}

func diffIDs(t testing.TB, img v1.Image) []v1.Hash {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cfg.RootFS.DiffIDs
}

// dockerPURL writes a reference as BuildKit writes image materials.
func dockerPURL(ref, platform string) string {
	repo, version, _ := strings.Cut(ref, ":")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, version = ref[:i], ref[i+1:]
	}
	ns, nm := "", repo
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		ns, nm = repo[:i], repo[i+1:]
	}
	var q packageurl.Qualifiers
	if platform != "" {
		q = packageurl.QualifiersFromMap(map[string]string{"platform": platform})
	}
	return packageurl.NewPackageURL("docker", ns, nm, version, q, "").ToString()
}

// provenanceStatement writes an in-toto statement of the predicate type
// listing materials as BuildKit does.
func provenanceStatement(t testing.TB, predicateType string, ms []material) []byte {
	t.Helper()
	pred := map[string]any{}
	switch predicateType {
	case predicateSLSA02:
		pred["materials"] = ms
		pred["builder"] = map[string]string{"id": ""}
		pred["buildType"] = "https://mobyproject.org/buildkit@v1"
	case predicateSLSA1:
		pred["buildDefinition"] = map[string]any{"buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md", "resolvedDependencies": ms}
		pred["runDetails"] = map[string]any{"builder": map[string]string{"id": ""}}
	}
	b, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": predicateType,
		"subject":       []any{},
		"predicate":     pred,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// attestationImage is BuildKit's attestation manifest for a statement.
func attestationImage(t testing.TB, predicateType string, statement []byte) v1.Image {
	t.Helper()
	l := static.NewLayer(statement, types.MediaType(mediaTypeInToto))
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       l,
		Annotations: map[string]string{annotationPredicateType: predicateType},
	})
	if err != nil {
		t.Fatal(err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// attestationEntry is the index entry of an attestation for subject.
func attestationEntry(img v1.Image, subject v1.Hash) platformEntry {
	return platformEntry{img: img, platform: "unknown/unknown", anns: map[string]string{
		annotationReferenceType:   referenceTypeAttestation,
		annotationReferenceDigest: subject.String(),
	}}
}

// rawConfigImage is an image whose config is given as raw bytes: keys
// ggcr's ConfigFile does not know, malformed JSON, oversized configs.
type rawConfigImage struct {
	v1.Image
	raw   []byte
	strip bool // drop the manifest's annotations
}

func (i rawConfigImage) RawConfigFile() ([]byte, error) { return i.raw, nil }

func (i rawConfigImage) ConfigName() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(i.raw))
	return h, err
}

func (i rawConfigImage) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(i.raw))
}

func (i rawConfigImage) Manifest() (*v1.Manifest, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	m.Config.Digest, _ = i.ConfigName()
	m.Config.Size = int64(len(i.raw))
	if i.strip {
		m.Annotations = nil
	}
	return m, nil
}

func (i rawConfigImage) RawManifest() ([]byte, error) {
	m, err := i.Manifest()
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

func (i rawConfigImage) Digest() (v1.Hash, error) {
	b, err := i.RawManifest()
	if err != nil {
		return v1.Hash{}, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

func (i rawConfigImage) Size() (int64, error) {
	b, err := i.RawManifest()
	return int64(len(b)), err
}

// withConfigKey adds a top-level key to an image's config.
func withConfigKey(t testing.TB, img v1.Image, key string, value any) v1.Image {
	t.Helper()
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[key] = value
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return rawConfigImage{Image: img, raw: b}
}
