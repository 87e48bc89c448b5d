package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// source finds candidate bases of an image in one place.
type source func(ctx context.Context, child *image) (group, error)

// sources are the places a base is looked for, most explicit first.
func (r *resolver) sources() []source {
	return []source{
		manifestAnnotations,
		indexAnnotations,
		r.provenance,
		buildinfo,
		buildpacks,
		labelAnnotations,
		r.catalogMatch,
	}
}

func manifestAnnotations(_ context.Context, child *image) (group, error) {
	return declared(child.manifest.Annotations, lineage.SourceAnnotation, "manifest annotation"), nil
}

// indexAnnotations reads the annotations of the image's own index, whose
// base digest (ko, crane) is that of the base's index.
func indexAnnotations(_ context.Context, child *image) (group, error) {
	if child.index == nil {
		return group{}, nil
	}
	return declared(child.index.manifest.Annotations, lineage.SourceAnnotation, "index annotation"), nil
}

// labelAnnotations reads the base annotations as config labels. Labels are
// inherited: an image built on one that declares its base by label carries
// that label, naming its grandparent. Such a group is weak.
func labelAnnotations(_ context.Context, child *image) (group, error) {
	g := declared(child.config.Config.Labels, lineage.SourceAnnotation, "label")
	g.weak = true
	return g, nil
}

// declared is the group of the base named by OCI base annotations in kv.
func declared(kv map[string]string, src lineage.Source, where string) group {
	d, ok := baseAnnotations(kv)
	if !ok {
		return group{}
	}
	return single(d, src, where)
}

// single turns one declared base into a group, or a problem when its name
// is not a reference.
func single(d declaredBase, src lineage.Source, where string) group {
	ref, err := imageref.Parse(d.Name)
	if err != nil {
		return group{problems: []string{fmt.Sprintf("the %s names base %q, which is not a reference: %v", where, d.Name, err)}}
	}
	if d.Digest != "" && !isDigest(d.Digest) {
		return group{problems: []string{fmt.Sprintf("the %s gives base digest %q, which is not a digest", where, d.Digest)}}
	}
	return group{declared: true, cands: []candidate{{ref: ref, digest: d.Digest, source: src, topLayer: d.TopLayer}}}
}

// buildinfo reads the legacy BuildKit buildinfo config key.
func buildinfo(_ context.Context, child *image) (group, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(child.rawConfig, &probe); err != nil {
		return group{}, nil // the config parsed before; nothing more to find
	}
	var b64 string
	if raw, ok := probe[configKeyBuildinfo]; !ok || json.Unmarshal(raw, &b64) != nil || b64 == "" {
		return group{}, nil
	}
	ds, err := parseBuildinfo(b64)
	if err != nil {
		return group{problems: []string{err.Error()}}, nil
	}
	return inputs(ds, nil, lineage.SourceBuildinfo), nil
}

// inputs turns a build's image inputs into a group of candidates, noting
// those that are not references.
func inputs(ds []declaredBase, platforms []*v1.Platform, src lineage.Source) group {
	var g group
	for i, d := range ds {
		ref, err := imageref.Parse(d.Name)
		if err != nil || (d.Digest != "" && !isDigest(d.Digest)) {
			g.problems = append(g.problems, fmt.Sprintf("%s input %q is not a reference", src, d.Name))
			continue
		}
		c := candidate{ref: ref, digest: d.Digest, source: src}
		if platforms != nil {
			c.platform = platforms[i]
		}
		g.cands = append(g.cands, c)
	}
	return g
}

// buildpacks reads the run image from the Buildpacks lifecycle metadata.
func buildpacks(_ context.Context, child *image) (group, error) {
	label, ok := child.config.Config.Labels[labelBuildpacks]
	if !ok {
		return group{}, nil
	}
	d, ok, err := parseBuildpacks(label)
	if err != nil {
		return group{problems: []string{err.Error()}}, nil
	}
	if !ok {
		return group{}, nil
	}
	return single(d, lineage.SourceBuildpacks, "buildpacks metadata"), nil
}

// catalogMatch offers every catalog image as a candidate; only those whose
// layers are a proper prefix of the image's are kept.
func (r *resolver) catalogMatch(_ context.Context, _ *image) (group, error) {
	g := group{strict: true}
	for _, ref := range r.catalog {
		g.cands = append(g.cands, candidate{ref: ref, source: lineage.SourceLayers})
	}
	return g, nil
}
