package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/baseguard/baseguard/render"
	"github.com/baseguard/baseguard/subject"
	"go.yaml.in/yaml/v3"
)

// walker collects the inputs under directories. It follows symbolic links
// to directories, visiting each real directory once (so links cannot
// loop), enters hidden directories but not .git, renders a directory with
// a kustomization or a Chart.yaml instead of reading its files, and reads
// .yaml, .yml and .json files as manifests and Dockerfiles by their names.
type walker struct {
	out  []input
	seen map[string]bool
}

func (w *walker) walk(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if real, err = filepath.Abs(real); err != nil {
		return err
	}
	if w.seen[real] {
		return nil
	}
	w.seen[real] = true
	if _, ok := render.KustomizationFile(dir); ok {
		w.out = append(w.out, input{name: dir, kind: kustomizationInput})
		return nil
	}
	if render.IsChart(dir) {
		w.out = append(w.out, input{name: dir, kind: chartInput})
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follows symbolic links
		if err != nil {
			if e.Type()&os.ModeSymlink != 0 {
				continue // a dangling link holds nothing
			}
			return err
		}
		if info.IsDir() {
			if e.Name() == ".git" {
				continue
			}
			if err := w.walk(path); err != nil {
				return err
			}
			continue
		}
		if !info.Mode().IsRegular() {
			continue
		}
		switch ext := strings.ToLower(filepath.Ext(path)); {
		case subject.IsDockerfile(path):
			w.out = append(w.out, input{name: path, kind: dockerfileInput})
		case ext == ".yaml" || ext == ".yml" || ext == ".json":
			w.out = append(w.out, input{name: path})
		}
	}
	return nil
}

// withoutReferencedBases drops kustomizations that another kustomization
// among the inputs uses (resources, bases, components): they are judged as
// that one renders them, their images rewritten, not on their own.
func (w *walker) withoutReferencedBases() []input {
	used := map[string]bool{}
	for _, in := range w.out {
		if in.kind == kustomizationInput {
			for _, dir := range kustomizationDirs(in.name) {
				used[realPath(dir)] = true
			}
		}
	}
	out := w.out[:0:0]
	for _, in := range w.out {
		if in.kind == kustomizationInput && used[realPath(in.name)] {
			continue
		}
		out = append(out, in)
	}
	return out
}

// kustomizationDirs lists the local directories a kustomization uses; a
// kustomization that cannot be read uses none (building it says why).
func kustomizationDirs(dir string) []string {
	file, ok := render.KustomizationFile(dir)
	if !ok {
		return nil
	}
	data, err := readFile(file)
	if err != nil {
		return nil
	}
	var k struct {
		Resources  []string `yaml:"resources"`
		Bases      []string `yaml:"bases"`
		Components []string `yaml:"components"`
	}
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	var out []string
	for _, r := range append(append(k.Resources, k.Bases...), k.Components...) {
		p := filepath.Join(dir, r)
		if info, err := os.Stat(p); err == nil && info.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	if a, err := filepath.Abs(p); err == nil {
		p = a
	}
	return p
}
