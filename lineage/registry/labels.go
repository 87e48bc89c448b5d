package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Where images declare their base outside attestations.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
	labelBuildpacks      = "io.buildpacks.lifecycle.metadata"
	configKeyBuildinfo   = "moby.buildkit.buildinfo.v1"
)

// declaredBase is a base named by an annotation, a label, buildinfo or
// buildpacks metadata.
type declaredBase struct {
	Name     string // reference as written
	Digest   string // digest at build time, empty when not recorded
	TopLayer string // buildpacks: DiffID of the run image's top layer
}

// baseAnnotations reads the OCI base-image annotations (or the same keys as
// labels). ok is false when no base name is given.
func baseAnnotations(kv map[string]string) (declaredBase, bool) {
	n := strings.TrimSpace(kv[annotationBaseName])
	if n == "" {
		return declaredBase{}, false
	}
	return declaredBase{Name: n, Digest: strings.TrimSpace(kv[annotationBaseDigest])}, true
}

// parseBuildinfo decodes the legacy BuildKit buildinfo config key (base64
// JSON) and returns the docker-image sources it lists: every image the
// build used, builder stages included.
func parseBuildinfo(b64 string) ([]declaredBase, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w: %w", configKeyBuildinfo, ErrMalformed, err)
	}
	var bi struct {
		Sources []struct {
			Type string `json:"type"`
			Ref  string `json:"ref"`
			Pin  string `json:"pin"`
		} `json:"sources"`
	}
	if err := json.Unmarshal(raw, &bi); err != nil {
		return nil, fmt.Errorf("parsing %s: %w: %w", configKeyBuildinfo, ErrMalformed, err)
	}
	var out []declaredBase
	for _, s := range bi.Sources {
		if s.Type == "docker-image" && s.Ref != "" {
			out = append(out, declaredBase{Name: s.Ref, Digest: s.Pin})
		}
	}
	return out, nil
}

// parseBuildpacks reads the run image from the Buildpacks lifecycle
// metadata label: runImage.image (or, in older images,
// stack.runImage.image) names it, runImage.reference pins it when it is a
// digest reference (for daemon builds it is an image ID, which names
// nothing in a registry), runImage.topLayer is its last layer. ok is false
// when the label names no run image.
func parseBuildpacks(label string) (declaredBase, bool, error) {
	var md struct {
		RunImage struct {
			TopLayer  string `json:"topLayer"`
			Reference string `json:"reference"`
			Image     string `json:"image"`
		} `json:"runImage"`
		Stack struct {
			RunImage struct {
				Image string `json:"image"`
			} `json:"runImage"`
		} `json:"stack"`
	}
	if err := json.Unmarshal([]byte(label), &md); err != nil {
		return declaredBase{}, false, fmt.Errorf("parsing label %s: %w: %w", labelBuildpacks, ErrMalformed, err)
	}
	ri := md.RunImage
	d := declaredBase{Name: ri.Image, TopLayer: ri.TopLayer}
	if d.Name == "" {
		d.Name = md.Stack.RunImage.Image
	}
	if repo, dig, ok := strings.Cut(ri.Reference, "@"); ok && isDigest(dig) {
		d.Digest = dig
		if d.Name == "" {
			d.Name = repo
		}
	}
	return d, d.Name != "", nil
}
