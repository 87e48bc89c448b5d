package rebase

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Buildpacks labels (Cloud Native Buildpacks platform spec).
const (
	labelLifecycle = "io.buildpacks.lifecycle.metadata"
	labelRebasable = "io.buildpacks.rebasable"
	labelStackID   = "io.buildpacks.stack.id"
)

// checkBuildpacks refuses, unless forced, a Buildpacks image that says it
// is not rebasable or whose stack differs from the new run image's; forced,
// it returns the reasons as warnings.
func checkBuildpacks(p *platformImage, force bool, refuse *refusals) []string {
	var reasons []string
	labels := p.cfg.Config.Labels
	if labels[labelRebasable] == "false" {
		reasons = append(reasons, fmt.Sprintf("%s: the image is labelled %s=false: its buildpacks wrote layers that depend on the run image", p.name(), labelRebasable))
	}
	have, want := p.new.cfg.Config.Labels[labelStackID], labels[labelStackID]
	if have != "" && want != "" && have != want {
		reasons = append(reasons, fmt.Sprintf("%s: the new run image is for stack %s, the image for stack %s", p.name(), have, want))
	}
	var warnings []string
	for _, r := range reasons {
		if force {
			warnings = append(warnings, r+" (overridden by --force)")
			continue
		}
		refuse.add(true, r)
	}
	return warnings
}

// updateBuildpacks points a Buildpacks image's lifecycle metadata at the
// new run image: runImage.topLayer is its last layer, runImage.reference
// its digest reference, runImage.image its name. Other fields are kept as
// they are.
func updateBuildpacks(cf *v1.ConfigFile, p *platformImage) error {
	raw, ok := cf.Config.Labels[labelLifecycle]
	if !ok {
		return nil
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return fmt.Errorf("reading label %s: %w", labelLifecycle, err)
	}
	run := map[string]json.RawMessage{}
	if r, ok := md["runImage"]; ok {
		if err := json.Unmarshal(r, &run); err != nil {
			return fmt.Errorf("reading label %s: runImage: %w", labelLifecycle, err)
		}
	}
	set := map[string]string{
		"reference": p.new.ref.Name() + "@" + p.new.digest.String(),
		"image":     p.new.ref.Canonical(),
	}
	if d := p.new.cfg.RootFS.DiffIDs; len(d) > 0 {
		set["topLayer"] = d[len(d)-1].String()
	}
	for k, v := range set {
		b, _ := json.Marshal(v)
		run[k] = b
	}
	var err error
	if md["runImage"], err = json.Marshal(run); err != nil {
		return err
	}
	out, err := json.Marshal(md)
	if err != nil {
		return err
	}
	labels := make(map[string]string, len(cf.Config.Labels))
	for k, v := range cf.Config.Labels {
		labels[k] = v
	}
	labels[labelLifecycle] = string(out)
	cf.Config.Labels = labels
	return nil
}
