package rebase

import (
	"errors"
	"fmt"
	"maps"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The OCI annotations that declare an image's base.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// build rebases every platform that is not current.
func (s *source) build() error {
	for _, p := range s.platforms {
		if !p.selected || p.current {
			continue
		}
		img, err := rebaseImage(p)
		if err != nil {
			return fmt.Errorf("rebasing %s: %w", p.name(), err)
		}
		p.result = img
	}
	return nil
}

// rebaseImage puts the image's own layers on the new base with
// mutate.Rebase, then gives back what it drops: the image's creation time,
// author and manifest annotations, the new base's platform variant and
// media types as the image had them; Buildpacks metadata follows the new
// run image; the base annotations name the new base.
func rebaseImage(p *platformImage) (v1.Image, error) {
	orig, old, err := historyViews(p)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Rebase(orig, old, p.new.img)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errLayers, err)
	}
	if img, err = restoreConfig(img, p); err != nil {
		return nil, err
	}
	m, err := p.img.Manifest()
	if err != nil {
		return nil, err
	}
	if img, err = keepMediaTypes(img, m); err != nil {
		return nil, err
	}
	ann := maps.Clone(m.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[annotationBaseName] = p.new.ref.Canonical()
	ann[annotationBaseDigest] = p.new.digest.String()
	img = mutate.Annotations(img, ann).(v1.Image)
	return img, checkHistory(img)
}

// errLayers wraps mutate.Rebase's refusal of an image whose base layers
// are not the old base's blobs.
var errLayers = errors.New("the image's base layers are not the old base's blobs (recompressed?)")

// restoreConfig gives the rebased config what mutate.Rebase leaves out.
func restoreConfig(img v1.Image, p *platformImage) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created, cf.Author = p.cfg.Created, p.cfg.Author
	cf.Container, cf.DockerVersion = p.cfg.Container, p.cfg.DockerVersion
	cf.Variant, cf.OSFeatures = p.new.cfg.Variant, p.new.cfg.OSFeatures
	if err := updateBuildpacks(cf, p); err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, cf)
}

// keepMediaTypes gives the result the image's manifest and config media
// types (mutate.Rebase starts from an empty Docker image).
func keepMediaTypes(img v1.Image, m *v1.Manifest) (v1.Image, error) {
	if m.MediaType != "" {
		img = mutate.MediaType(img, m.MediaType)
	}
	if m.Config.MediaType != "" {
		img = mutate.ConfigMediaType(img, m.Config.MediaType)
	}
	return img, nil
}

// historyViews returns the image and its old base as mutate.Rebase should
// see them. mutate.Rebase cuts the image's history after as many entries
// as the old base's history has, and keeps layers by counting history
// entries: an image without history for every layer, or an old base whose
// history differs from the image's own account of those layers, would lose
// or duplicate layers. So the image's history is completed (entries for
// layers it does not describe, at the front, where a base's missing
// history is) and the old base is given the image's own history of the
// base layers.
func historyViews(p *platformImage) (orig, old v1.Image, err error) {
	layers := len(p.cfg.RootFS.DiffIDs)
	hist, err := completeHistory(p.cfg.History, layers)
	if err != nil {
		return nil, nil, err
	}
	orig = p.img
	if len(hist) != len(p.cfg.History) {
		cf := p.cfg.DeepCopy()
		cf.History = hist
		if orig, err = mutate.ConfigFile(p.img, cf); err != nil {
			return nil, nil, err
		}
	}
	cut := baseHistoryLength(hist, p.old.cfg.History, len(p.old.cfg.RootFS.DiffIDs))
	ocf := p.old.cfg.DeepCopy()
	ocf.History = hist[:cut]
	old, err = mutate.ConfigFile(p.old.img, ocf)
	return orig, old, err
}

// completeHistory returns history with an entry for every layer: when it
// describes fewer layers than there are, entries are added at the front.
func completeHistory(h []v1.History, layers int) ([]v1.History, error) {
	n := nonEmpty(h)
	switch {
	case n == layers:
		return h, nil
	case n > layers:
		return nil, fmt.Errorf("malformed image: its history describes %d layers and it has %d", n, layers)
	}
	out := make([]v1.History, 0, len(h)+layers-n)
	for i := n; i < layers; i++ {
		out = append(out, v1.History{Comment: "layer without history"})
	}
	return append(out, h...), nil
}

// baseHistoryLength is how many of the image's history entries describe
// the base's n layers: as many as the base's own history when that holds
// exactly n layer entries of the image's, else up to the image's n-th
// layer entry.
func baseHistoryLength(img, base []v1.History, n int) int {
	if l := len(base); l <= len(img) && nonEmpty(img[:l]) == n {
		return l
	}
	seen := 0
	for i, h := range img {
		if !h.EmptyLayer {
			seen++
		}
		if seen == n {
			return i + 1
		}
	}
	return len(img)
}

func nonEmpty(h []v1.History) int {
	n := 0
	for _, e := range h {
		if !e.EmptyLayer {
			n++
		}
	}
	return n
}

// checkHistory makes sure the result's history describes each of its
// layers once.
func checkHistory(img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if n, l := nonEmpty(cf.History), len(cf.RootFS.DiffIDs); n != l {
		return fmt.Errorf("the rebased history describes %d layers and the image has %d", n, l)
	}
	return nil
}
